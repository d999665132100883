//! The client credentials extension (SEP-1046): a machine client gets its token with the
//! `client_credentials` grant, no user and no browser.
//!
//! Secrets go through rmcp's own flow (its `auth` feature). `private_key_jwt` is built here:
//! rmcp's `auth-client-credentials-jwt` feature signs with jsonwebtoken's aws-lc backend, a C
//! library build the project avoids, and the assertion is a dozen lines over
//! [`mock_server::jose`] (pure-Rust ES256).

use std::time::{SystemTime, UNIX_EPOCH};

use mock_server::jose::{self, KeyPair};
use mock_server::profile::ClientAuthMethod;
use rmcp::transport::auth::ClientCredentialsConfig;
use serde_json::{Value, json};

use super::direct_grant::{store_token, token_request};
use super::{Fault, FileCredentialStore, ReferenceClient, describe, probe};
use crate::client::{MachineCredentials, ServerEntry, StepContext};

/// `client_assertion_type` for a JWT (RFC 7523 §2.2).
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion is valid: long enough for one request, short so a leaked one is soon
/// useless (RFC 7523 §3 item 4 asks for an `exp`; RFC 7521 §5.2 for short lifetimes).
const ASSERTION_LIFETIME_SECS: u64 = 60;

impl ReferenceClient {
    /// Discovery as for any login, then the `client_credentials` grant; the token is stored
    /// like any login's.
    pub(super) async fn client_credentials(
        &self,
        ctx: &StepContext,
        entry: &ServerEntry,
        machine: &MachineCredentials,
    ) -> Result<(), String> {
        let challenge = probe(&entry.url, ctx.revision).await?.challenge;
        let store = FileCredentialStore::new(&ctx.home, entry);
        let (mut manager, _http) = self.manager(&entry.url).await.map_err(describe)?;
        manager.set_credential_store(store.clone());
        let mut metadata =
            manager.resolve_metadata_from_challenge(challenge.as_deref()).await.map_err(describe)?.metadata;
        // The client knows how it was registered to authenticate; rmcp would pick
        // client_secret_post whenever the server also lists it. Narrowing the list it reads to
        // the registered method makes it use that one.
        if !self.has(Fault::AuthMethodFromMetadata) {
            metadata
                .additional_fields
                .insert("token_endpoint_auth_methods_supported".into(), json!([machine.auth_method.as_str()]));
        }
        // The resource is the MCP server's canonical URI (RFC 8707), as for an authorization code.
        let resource = Some(entry.url.clone());
        let config = match (&machine.secret, &machine.private_key) {
            (Some(secret), _) => ClientCredentialsConfig::ClientSecret {
                client_id: machine.client_id.clone(),
                client_secret: secret.clone(),
                scopes: Vec::new(),
                resource,
            },
            (None, Some(key)) => {
                let issuer = metadata.issuer.clone().ok_or("the authorization server metadata names no issuer")?;
                let assertion = self.assertion(ctx, &machine.client_id, &issuer, &entry.url, key)?;
                let token = jwt_token_request(&metadata.token_endpoint, &assertion, &entry.url).await?;
                return store_token(&store, &machine.client_id, metadata.issuer.clone(), token).await;
            }
            (None, None) => return Err("the machine client was handed neither a secret nor a key".into()),
        };
        manager.set_metadata(metadata);
        manager.configure_client_credentials(&config).map_err(describe)?;
        manager.exchange_client_credentials(&config).await.map_err(describe)?;
        Ok(())
    }

    /// A `private_key_jwt` client assertion (RFC 7523 §3): `iss` and `sub` the client id, `aud`
    /// the authorization server's issuer, a short `exp`, a fresh `jti`.
    fn assertion(
        &self,
        ctx: &StepContext,
        client_id: &str,
        issuer: &str,
        mcp_url: &str,
        private_jwk: &str,
    ) -> Result<String, String> {
        let reused = ctx.home.join(".mcp-reference").join("last-assertion.jwt");
        if self.has(Fault::ReuseClientAssertion)
            && let Ok(previous) = std::fs::read_to_string(&reused)
        {
            return Ok(previous);
        }
        let key = KeyPair::from_private_jwk(private_jwk).map_err(|e| format!("the machine client's key: {e}"))?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
        let audience = if self.has(Fault::AssertionForMcpServer) { mcp_url } else { issuer };
        let claims = json!({
            "iss": client_id, "sub": client_id, "aud": audience,
            "iat": now, "exp": now + ASSERTION_LIFETIME_SECS, "jti": jose::random_id(),
        });
        let assertion = key.sign(json!({"typ": "JWT"}), &claims);
        if self.has(Fault::ReuseClientAssertion) {
            let _ = std::fs::create_dir_all(reused.parent().expect("a file in a folder"));
            let _ = std::fs::write(&reused, &assertion);
        }
        Ok(assertion)
    }
}

/// The token request with a client assertion, `client_id` left out (RFC 7523 §3: `sub` names
/// the client), as SEP-1046's example sends it.
async fn jwt_token_request(token_endpoint: &str, assertion: &str, resource: &str) -> Result<Value, String> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
        ("resource", resource),
    ];
    token_request(token_endpoint, &form, None).await
}

/// Which method the machine client authenticates with, in words for its log.
pub(super) fn method_name(machine: &MachineCredentials) -> &'static str {
    match machine.auth_method {
        ClientAuthMethod::PrivateKeyJwt => "a private_key_jwt assertion",
        ClientAuthMethod::ClientSecretPost => "client_secret_post",
        ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
        ClientAuthMethod::None => "no client authentication",
    }
}
