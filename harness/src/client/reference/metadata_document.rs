//! The client ID metadata document the reference client hosts for itself when a step says
//! `client_options = { client_id = "metadata-document" }`: its URL is the `client_id`, and the
//! authorization server fetches it to learn the client (MCP authorization 2026-07-28
//! (client-registration) §Client ID Metadata Documents). It lists the one redirect URI the login
//! uses, port included, since the authorization server matches it exactly
//! (draft-ietf-oauth-client-id-metadata-document §"Redirect URL Registration").
//!
//! MCP asks for an https URL; the document is served on a loopback http one, which the mock
//! accepts, so that no certificate is needed on this machine.

use serde_json::json;

use super::fault::{self, Fault};

/// The step option that makes the reference client host its own document.
pub(super) const OPTION: (&str, &str) = ("client_id", "metadata-document");

/// A served document; it is served until dropped.
pub(super) struct HostedDocument {
    client_id: String,
    server: tokio::task::JoinHandle<()>,
}

impl HostedDocument {
    /// Serves the document of a client whose redirect URI is `redirect_uri`.
    pub(super) async fn serve(redirect_uri: &str, faults: &[Fault]) -> Result<Self, String> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("cannot listen to serve the client ID metadata document: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let client_id = format!("http://127.0.0.1:{port}/client-metadata.json");
        let document = json!({
            "client_id": client_id,
            "client_name": "mcp-auth-harness reference client",
            "redirect_uris": [fault::rewrite_listed_redirect_uri(faults, redirect_uri)],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
            "application_type": "native",
        });
        let router = axum::Router::new()
            .route("/client-metadata.json", axum::routing::get(move || std::future::ready(axum::Json(document))));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { client_id, server })
    }

    /// The document's URL: the client's `client_id`.
    pub(super) fn client_id(&self) -> &str {
        &self.client_id
    }
}

impl Drop for HostedDocument {
    /// The listener closes with the login, so no port outlives it.
    fn drop(&mut self) {
        self.server.abort();
    }
}
