//! The protected resource: an MCP endpoint behind a bearer check, and its metadata.

mod guard;
mod metadata;
mod tools;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::authorization::AuthorizationServer;
use crate::profile::{Profile, ResourceKnobs, ToolKind};
use crate::recording::tagged;
use crate::transcript::Endpoint;

pub use tools::ToolServer;

/// One MCP endpoint and what protects it.
pub struct ProtectedResource {
    /// Path of the MCP endpoint on its listener.
    path: String,
    /// Its canonical URI: what clients send as `resource` and what tokens are bound to.
    uri: String,
    knobs: ResourceKnobs,
    /// Identifiers a token's audience may carry: the URI, and the PRM's `resource` if it differs.
    audiences: Vec<String>,
    /// Where the 401 challenge points (`resource_metadata`), if anywhere.
    challenge_metadata_url: Option<String>,
    metadata_path: Option<String>,
    metadata: serde_json::Value,
    authorization_server: Arc<AuthorizationServer>,
}

impl ProtectedResource {
    pub fn new(profile: &Profile, origin: &Url, path: &str, authorization_server: Arc<AuthorizationServer>) -> Self {
        let uri = origin.join(path).expect("MCP paths are absolute paths").to_string();
        let rm = &profile.resource_metadata;
        let metadata_path = metadata::path(rm, path);
        let challenge_metadata_url = metadata_path
            .as_ref()
            .filter(|_| rm.in_challenge)
            .map(|p| origin.join(p).expect("metadata paths are absolute paths").to_string());
        let metadata = metadata::document(rm, &uri, &authorization_server.issuer());
        let mut audiences = vec![uri.clone()];
        if profile.resource.trailing_slash {
            audiences.push(format!("{uri}/"));
        }
        if let Some(other) = metadata["resource"].as_str().filter(|r| *r != uri) {
            audiences.push(other.to_owned());
        }
        Self {
            path: path.to_owned(),
            uri,
            knobs: profile.resource.clone(),
            audiences,
            challenge_metadata_url,
            metadata_path,
            metadata,
            authorization_server,
        }
    }

    /// The MCP endpoint's URL.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The routes of this resource; `metadata_taken` lists metadata paths another resource on the
    /// same listener already serves (root and custom locations are shared).
    pub fn router(self: &Arc<Self>, shutdown: CancellationToken, metadata_taken: &mut Vec<String>) -> Router {
        let tools: Arc<[ToolKind]> = self.knobs.tools.clone().into();
        let page_size = self.knobs.tools_page_size;
        let config = StreamableHttpServerConfig::default().with_cancellation_token(shutdown).with_sse_keep_alive(None);
        let mcp = StreamableHttpService::new(
            move || Ok(ToolServer::new(tools.clone(), page_size)),
            Arc::new(LocalSessionManager::default()),
            config,
        );
        let mut router = Router::new().route_service(&self.path, mcp.clone());
        if self.knobs.trailing_slash {
            router = router.route_service(&format!("{}/", self.path), mcp);
        }
        let mut router = router.route_layer(axum::middleware::from_fn_with_state(self.clone(), guard::guard));
        if let Some(path) = &self.metadata_path
            && !metadata_taken.contains(path)
        {
            let doc = self.metadata.clone();
            router =
                router.route(path, get(move || async move { tagged(Endpoint::ResourceMetadata, axum::Json(doc)) }));
            metadata_taken.push(path.clone());
        }
        router
    }
}
