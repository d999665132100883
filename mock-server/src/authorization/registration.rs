//! Client registration: dynamic (RFC 7591) and client ID metadata documents (the URL client ids
//! of MCP authorization 2025-11-25 §"Client ID Metadata Documents").

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::AuthorizationServer;
use super::error::OAuthError;
use super::grants::{Client, ClientKind, random_token};
use crate::profile::{AuthorizationServerKnobs, ClientAuthMethod};
use crate::recording::tagged;
use crate::transcript::Endpoint;

/// The members of a registration request (or metadata document) the mock acts on; the rest are
/// accepted and echoed back as RFC 7591 §3.2.1 allows.
#[derive(Debug, Deserialize)]
struct ClientMetadata {
    #[serde(default)]
    client_id: Option<String>,
    redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

impl ClientMetadata {
    /// Whether `grant_types` lists `refresh_token` (RFC 7591 §2: left out, it means
    /// `authorization_code` alone).
    fn lists_refresh_grant(&self) -> bool {
        self.rest.get("grant_types").and_then(|g| g.as_array()).is_some_and(|g| g.iter().any(|t| t == "refresh_token"))
    }

    /// Whether refresh tokens may be issued to the client this metadata registers.
    fn may_refresh(&self, knobs: &AuthorizationServerKnobs) -> bool {
        !knobs.refresh_needs_grant_type || self.lists_refresh_grant()
    }
}

pub async fn register(State(server): State<Arc<AuthorizationServer>>, body: Bytes) -> Response {
    let response = match server.register(&body) {
        Ok(registered) => (StatusCode::CREATED, axum::Json(registered)).into_response(),
        Err(err) => err.into_response(),
    };
    tagged(Endpoint::Registration, response)
}

impl AuthorizationServer {
    fn register(&self, body: &[u8]) -> Result<serde_json::Value, OAuthError> {
        let metadata: ClientMetadata = serde_json::from_slice(body)
            .map_err(|e| OAuthError::invalid_client_metadata(format!("body is not client metadata JSON: {e}")))?;
        let knobs = self.knobs();
        if knobs.require_application_type && !metadata.rest.contains_key("application_type") {
            return Err(OAuthError::invalid_client_metadata(
                "application_type is required: MCP clients must name one at registration (SEP-837)",
            ));
        }
        let may_refresh = metadata.may_refresh(&knobs);
        let mut redirect_uris = checked_redirect_uris(metadata.redirect_uris)?;
        if let Some(uri) = redirect_uris.iter().find(|uri| {
            url::Url::parse(uri).is_ok_and(|u| knobs.refused_redirect_schemes.iter().any(|s| s == u.scheme()))
        }) {
            return Err(OAuthError::invalid_redirect_uri(format!(
                "redirect URI `{uri}`: this authorization server does not accept its scheme"
            )));
        }
        if let Some(replacement) = &knobs.registered_redirect_uri {
            redirect_uris = vec![self.surroundings.resolve(replacement)];
        }
        // RFC 7591 §2: the default is client_secret_basic.
        let method_name = metadata.token_endpoint_auth_method.as_deref().unwrap_or("client_secret_basic");
        let auth_method = match knobs.registered_auth_method {
            Some(replacement) => replacement,
            None => knobs.token_endpoint_auth_methods.iter().copied().find(|m| m.as_str() == method_name).ok_or_else(
                || {
                    OAuthError::invalid_client_metadata(format!(
                        "token_endpoint_auth_method `{method_name}` is not supported"
                    ))
                },
            )?,
        };
        if auth_method == ClientAuthMethod::PrivateKeyJwt {
            // Keys come only with pre-registered machine clients (SEP-1046); DCR takes no `jwks`.
            return Err(OAuthError::invalid_client_metadata("private_key_jwt is for pre-registered clients only"));
        }
        let client_id = random_token("client");
        let secret = (auth_method != ClientAuthMethod::None).then(|| random_token("secret"));
        let mut answer = serde_json::Value::Object(metadata.rest);
        answer["client_id"] = json!(client_id);
        answer["redirect_uris"] = json!(redirect_uris);
        answer["token_endpoint_auth_method"] = json!(auth_method.as_str());
        answer["client_id_issued_at"] = json!(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
        );
        if let Some(secret) = &secret {
            answer["client_secret"] = json!(secret);
            answer["client_secret_expires_at"] = json!(0);
        }
        self.grants().register(Client {
            client_id,
            secret,
            auth_method,
            redirect_uris,
            kind: ClientKind::Dynamic,
            may_refresh,
            public_jwk: None,
            client_credentials: false,
            disabled: false,
        });
        Ok(answer)
    }
}

/// Redirect URIs must be present, absolute and fragment-free (RFC 7591 §2, OAuth 2.1 §2.3.1).
fn checked_redirect_uris(uris: Option<Vec<String>>) -> Result<Vec<String>, OAuthError> {
    let uris = uris
        .filter(|u| !u.is_empty())
        .ok_or_else(|| OAuthError::invalid_redirect_uri("redirect_uris must list at least one URI"))?;
    for uri in &uris {
        let ok = url::Url::parse(uri).is_ok_and(|u| u.fragment().is_none());
        if !ok {
            return Err(OAuthError::invalid_redirect_uri(format!("`{uri}` is not an absolute URI without a fragment")));
        }
    }
    Ok(uris)
}

/// Fetches and checks the document a URL `client_id` names: it must be JSON whose `client_id`
/// is that very URL and which lists redirect URIs. The client it describes, and the document.
pub async fn fetch_metadata_document(
    http: &reqwest::Client,
    client_id: &str,
    knobs: &AuthorizationServerKnobs,
) -> Result<(Client, serde_json::Value), OAuthError> {
    let url = url::Url::parse(client_id).map_err(|_| OAuthError::invalid_request("client_id is not a valid URL"))?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.scheme() != "https" && !loopback {
        return Err(OAuthError::invalid_request("client ID metadata documents must be https"));
    }
    let fetch_error =
        |e: reqwest::Error| OAuthError::invalid_request(format!("could not fetch client metadata document: {e}"));
    let response = http.get(url).send().await.map_err(fetch_error)?;
    if !response.status().is_success() {
        return Err(OAuthError::invalid_request(format!("client metadata document answered {}", response.status())));
    }
    let bytes = response.bytes().await.map_err(fetch_error)?;
    let document: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| OAuthError::invalid_client_metadata(format!("client metadata document is not JSON: {e}")))?;
    let metadata = ClientMetadata::deserialize(&document).map_err(|e| {
        OAuthError::invalid_client_metadata(format!("client metadata document is not client metadata: {e}"))
    })?;
    if metadata.client_id.as_deref() != Some(client_id) {
        return Err(OAuthError::invalid_client_metadata("client metadata document's client_id differs from its URL"));
    }
    let may_refresh = metadata.may_refresh(knobs);
    let client = Client {
        client_id: client_id.to_owned(),
        secret: None,
        auth_method: ClientAuthMethod::None,
        redirect_uris: checked_redirect_uris(metadata.redirect_uris)?,
        kind: ClientKind::MetadataDocument,
        may_refresh,
        public_jwk: None,
        client_credentials: false,
        disabled: false,
    };
    Ok((client, document))
}
