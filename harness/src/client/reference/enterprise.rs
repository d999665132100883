//! Enterprise-managed authorization (SEP-990, ext-auth `enterprise-managed-authorization.mdx`
//! §4-5): no browser; the user's ID token from the enterprise identity provider is exchanged
//! there for an ID-JAG (RFC 8693), which the MCP authorization server redeems (RFC 7523
//! JWT-bearer grant). rmcp 3.11's `auth-enterprise-managed` feature is built for a TLS-enabled
//! reqwest and consumes its own ID-JAG handle; two form posts are all the flow needs here.

use mock_server::EnterpriseSignOn;

use super::direct_grant::{jwt_bearer_grant, store_token, token_request};
use super::{Fault, FileCredentialStore, ReferenceClient};
use crate::client::{ServerEntry, StepContext};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";

impl ReferenceClient {
    pub(super) async fn enterprise_login(
        &self,
        ctx: &StepContext,
        entry: &ServerEntry,
        sign_on: &EnterpriseSignOn,
    ) -> Result<(), String> {
        let metadata = self.authorization_server_metadata(ctx, entry).await?;
        let issuer = metadata.issuer.clone().ok_or("the authorization server metadata names no issuer")?;
        // §4: the audience is the MCP authorization server's issuer, the resource the MCP server.
        let audience = if self.has(Fault::IdJagForMcpServer) { entry.url.as_str() } else { issuer.as_str() };
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("requested_token_type", ID_JAG),
            ("audience", audience),
            ("resource", entry.url.as_str()),
            ("subject_token", sign_on.id_token.as_str()),
            ("subject_token_type", ID_TOKEN),
        ];
        // A confidential client at the identity provider uses HTTP Basic, a public one names
        // itself (RFC 6749 §2.3.1, §3.2.1).
        let basic = match &sign_on.client_secret {
            Some(secret) => Some((sign_on.client_id.as_str(), secret.as_str())),
            None => {
                form.push(("client_id", sign_on.client_id.as_str()));
                None
            }
        };
        let exchanged = token_request(&sign_on.token_endpoint, &form, basic).await?;
        if exchanged["issued_token_type"].as_str() != Some(ID_JAG) {
            return Err(format!(
                "the identity provider issued {} instead of an ID-JAG",
                exchanged["issued_token_type"]
            ));
        }
        let id_jag = exchanged["access_token"].as_str().ok_or("the token exchange answered no ID-JAG")?;
        // §5: the client authenticates as registered at the MCP authorization server.
        let (client_id, secret) =
            entry.preregistered.clone().ok_or("no client registered at the authorization server")?;
        let basic = (client_id.as_str(), secret.as_deref().unwrap_or_default());
        let token = jwt_bearer_grant(&metadata.token_endpoint, id_jag, Some(&entry.url), Some(basic)).await?;
        store_token(&FileCredentialStore::new(&ctx.home, entry), &client_id, Some(issuer), token).await
    }
}
