//! Token requests the adapter makes itself, for grants rmcp has no flow for (a
//! `private_key_jwt` assertion without rmcp's aws-lc feature, the RFC 8693 token exchange, the
//! JWT-bearer grant of enterprise-managed authorization and of workload identity federation),
//! and storing their tokens as rmcp stores its own.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rmcp::transport::auth::{CredentialStore as _, StoredCredentials};
use serde_json::{Value, json};

use super::{FileCredentialStore, describe, http};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// POSTs a token request form, with HTTP Basic client authentication when `basic` is given
/// (RFC 6749 §2.3.1: id and secret form-urlencoded first); the JSON answer, or the error the
/// server gave.
pub(super) async fn token_request(
    endpoint: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Result<Value, String> {
    let mut request = http().post(endpoint).form(form);
    if let Some((id, secret)) = basic {
        let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", encode(id), encode(secret)));
        request = request.header("authorization", format!("Basic {credentials}"));
    }
    let response = request.send().await.map_err(|e| format!("request to {endpoint} failed: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let error = body["error"].as_str().unwrap_or("no error code");
        let description = body["error_description"].as_str().unwrap_or_default();
        return Err(format!("{endpoint} refused ({status}): {error}: {description}"));
    }
    Ok(body)
}

/// The JWT-bearer grant (RFC 7523 §2.1) with `assertion`, for the MCP server `resource` (MCP
/// authorization: RFC 8707 on every token request), the client authenticated by `basic` if it
/// has credentials.
pub(super) async fn jwt_bearer_grant(
    endpoint: &str,
    assertion: &str,
    resource: Option<&str>,
    basic: Option<(&str, &str)>,
) -> Result<Value, String> {
    let mut form = vec![("grant_type", JWT_BEARER), ("assertion", assertion)];
    form.extend(resource.map(|r| ("resource", r)));
    token_request(endpoint, &form, basic).await
}

/// Stores a token response the adapter fetched itself as rmcp stores its own.
pub(super) async fn store_token(
    store: &FileCredentialStore,
    client_id: &str,
    issuer: Option<String>,
    token: Value,
) -> Result<(), String> {
    let granted: Vec<&str> = token["scope"].as_str().unwrap_or_default().split_whitespace().collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    // rmcp's stored credentials are built only by rmcp; their serde form is the way in.
    let stored: StoredCredentials = serde_json::from_value(json!({
        "client_id": client_id, "token_response": token, "granted_scopes": granted,
        "token_received_at": now, "issuer": issuer,
    }))
    .map_err(|e| format!("the token response is not one rmcp can store: {e}"))?;
    store.save(stored).await.map_err(describe)
}
