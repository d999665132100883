//! Workload identity federation (SEP-1933, `io.modelcontextprotocol/auth/wif`): no user, no
//! browser, no client secret, no registration. The workload JWT its platform issued it is the
//! assertion of the RFC 7523 JWT-bearer grant at the MCP authorization server; there is no
//! refresh token, so after expiry the grant is made again with the same JWT. A refused grant
//! is final: the workload JWT will not get better by asking again, and falling back to a
//! browser would need a user who is not there.

use super::direct_grant::{jwt_bearer_grant, store_token};
use super::{Fault, FileCredentialStore, ReferenceClient};
use crate::client::{ServerEntry, StepContext};

/// How the stored credentials name the client when no administrator gave it a `client_id`.
const WORKLOAD_CLIENT: &str = "workload";

impl ReferenceClient {
    pub(super) async fn workload_login(
        &self,
        ctx: &StepContext,
        entry: &ServerEntry,
        workload_jwt: &str,
    ) -> Result<(), String> {
        let metadata = self.authorization_server_metadata(ctx, entry).await?;
        // SEP-1933 §Request Access Token: `resource` is the MCP server's canonical URI.
        let resource = Some(entry.url.as_str()).filter(|_| !self.has(Fault::WorkloadGrantWithoutResource));
        let mut token = jwt_bearer_grant(&metadata.token_endpoint, workload_jwt, resource, None).await;
        if token.is_err() && self.has(Fault::RetryRefusedWorkloadGrant) {
            token = jwt_bearer_grant(&metadata.token_endpoint, workload_jwt, resource, None).await;
        }
        let token = match token {
            Err(refused) if self.has(Fault::BrowserAfterRefusedWorkloadGrant) => {
                return self.authorize(ctx, entry, None).await.map_err(|e| format!("{refused}; then {e}"));
            }
            token => token?,
        };
        let client_id = entry.preregistered.as_ref().map_or(WORKLOAD_CLIENT, |(id, _)| id.as_str());
        store_token(&FileCredentialStore::new(&ctx.home, entry), client_id, metadata.issuer.clone(), token).await
    }
}
