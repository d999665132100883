//! The protected resource: an MCP endpoint behind a bearer check, and its metadata.

mod guard;
mod metadata;
mod protocol;
mod tools;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::SessionManager as _;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::authorization::{AccessToken, AuthorizationServer, TokenRejection};
use crate::live::LiveProfile;
use crate::placeholder::Surroundings;
use crate::profile::{ProtocolVersion, ResourceKnobs};
use crate::recording::tagged;
use crate::transcript::Endpoint;

pub use tools::ToolServer;

/// One MCP endpoint and what protects it.
pub struct ProtectedResource {
    /// Path of the MCP endpoint on its listener.
    path: String,
    /// Its canonical URI: what clients send as `resource` and what tokens are bound to.
    uri: String,
    /// The listener's origin, which metadata URLs are built on.
    origin: Url,
    /// Read per request, so knob changes on a running mock take effect at once.
    profile: Arc<LiveProfile>,
    /// Where the metadata document is served, if anywhere (fixed at start: it is a route).
    metadata_path: Option<String>,
    /// The MCP sessions rmcp keeps, held here so they can be ended from outside.
    sessions: Arc<LocalSessionManager>,
    /// The version each legacy session's `initialize` agreed to, by `Mcp-Session-Id`: a
    /// 2025-03-26 client names it on no later request.
    session_versions: Mutex<HashMap<String, ProtocolVersion>>,
    /// Its own authorization server, named by its metadata unless a knob names others.
    authorization_server: Arc<AuthorizationServer>,
    /// What placeholders stand for, and the peers' authorization servers.
    surroundings: Arc<Surroundings>,
    /// DPoP proofs at this endpoint: its nonce and the `jti`s seen (RFC 9449 §7, §9).
    dpop: crate::dpop::ProofChecker,
}

impl ProtectedResource {
    pub fn new(
        profile: Arc<LiveProfile>,
        origin: &Url,
        path: &str,
        authorization_server: Arc<AuthorizationServer>,
        surroundings: Arc<Surroundings>,
    ) -> Self {
        let uri = origin.join(path).expect("MCP paths are absolute paths").to_string();
        let metadata_path = profile.read(|p| metadata::path(&p.resource_metadata, path));
        Self {
            path: path.to_owned(),
            uri,
            origin: origin.clone(),
            profile,
            metadata_path,
            sessions: Arc::default(),
            session_versions: Mutex::default(),
            authorization_server,
            surroundings,
            dpop: Default::default(),
        }
    }

    /// The resource's knobs as they are now.
    fn knobs(&self) -> ResourceKnobs {
        self.profile.read(|p| p.resource.clone())
    }

    /// Identifiers a token's audience may carry: the URI (with a trailing slash too, when that
    /// spelling is served), and the metadata's `resource` if it differs.
    fn audiences(&self) -> Vec<String> {
        self.profile.read(|p| {
            let mut audiences = vec![self.uri.clone()];
            if p.resource.trailing_slash {
                audiences.push(format!("{}/", self.uri));
            }
            let named = p.resource_metadata.resource_override.as_deref().map(|r| self.surroundings.resolve(r));
            audiences.extend(named.filter(|r| *r != self.uri));
            audiences
        })
    }

    /// The issuers the metadata names now: the knob's, resolved, or the own server's.
    fn issuers(&self) -> Vec<String> {
        self.profile.read(|p| match p.resource_metadata.authorization_servers.as_slice() {
            [] => vec![self.authorization_server.issuer()],
            named => named.iter().map(|issuer| self.surroundings.resolve(issuer)).collect(),
        })
    }

    /// Checks a bearer token against every authorization server the metadata names now: a
    /// resource accepts the tokens of the servers it advertises, and only theirs.
    fn validate(&self, token: &str) -> Result<AccessToken, TokenRejection> {
        let audiences = self.audiences();
        let own = self.authorization_server.issuer();
        let mut rejection = TokenRejection::Unknown;
        for issuer in self.issuers() {
            let server = match issuer == own {
                true => Some(self.authorization_server.clone()),
                false => self.surroundings.authorization_server(&issuer),
            };
            match server.map(|s| s.validate(token, &audiences)) {
                Some(Ok(granted)) => return Ok(granted),
                // The server that knows the token says best why it is refused.
                Some(Err(why)) if why != TokenRejection::Unknown => rejection = why,
                _ => {}
            }
        }
        Err(rejection)
    }

    /// Where the 401 challenge points (`resource_metadata`), if anywhere.
    fn challenge_metadata_url(&self) -> Option<String> {
        let in_challenge = self.profile.read(|p| p.resource_metadata.in_challenge);
        let path = self.metadata_path.as_ref().filter(|_| in_challenge)?;
        Some(self.origin.join(path).expect("metadata paths are absolute paths").to_string())
    }

    /// The protected resource metadata document as it reads now.
    fn metadata(&self) -> serde_json::Value {
        let issuers = self.issuers();
        self.profile.read(|p| {
            let resource = p.resource_metadata.resource_override.as_deref().map(|r| self.surroundings.resolve(r));
            let mut document =
                metadata::document(&p.resource_metadata, resource.as_deref().unwrap_or(&self.uri), &issuers);
            if p.dpop.enabled {
                // RFC 9728 §2: the proof algorithms the resource accepts.
                document["dpop_signing_alg_values_supported"] = serde_json::json!([crate::dpop::ALGORITHM]);
            }
            document
        })
    }

    /// Ends every MCP session: the next request carrying one of their ids gets 404, and the
    /// client must initialize a new session (MCP 2025-11-25 §Session Management).
    pub async fn end_sessions(&self) {
        let ids: Vec<_> = self.sessions.sessions.read().await.keys().cloned().collect();
        for id in ids {
            // The only failure is a session whose worker already ended: gone either way.
            let _ = self.sessions.close_session(&id).await;
        }
        self.session_versions.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    fn remember_session(&self, id: String, version: ProtocolVersion) {
        self.session_versions.lock().unwrap_or_else(PoisonError::into_inner).insert(id, version);
    }

    fn session_version(&self, id: &str) -> Option<ProtocolVersion> {
        self.session_versions.lock().unwrap_or_else(PoisonError::into_inner).get(id).copied()
    }

    /// The MCP endpoint's URL.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The routes of this resource; `metadata_taken` lists metadata paths another resource on the
    /// same listener already serves (root and custom locations are shared).
    pub fn router(self: &Arc<Self>, shutdown: CancellationToken, metadata_taken: &mut Vec<String>) -> Router {
        let config = StreamableHttpServerConfig::default().with_cancellation_token(shutdown).with_sse_keep_alive(None);
        let profile = self.profile.clone();
        // Each new session (or sessionless request) serves what the knobs say when it starts.
        let mcp = StreamableHttpService::new(
            move || Ok(profile.read(|p| ToolServer::new(&p.resource))),
            self.sessions.clone(),
            config,
        );
        let mut router = Router::new().route_service(&self.path, mcp.clone());
        if self.knobs().trailing_slash {
            router = router.route_service(&format!("{}/", self.path), mcp);
        }
        // The bearer check first (a request without a token learns nothing of the protocol), then
        // the protocol versions the knobs allow, then rmcp.
        let mut router = router
            .route_layer(axum::middleware::from_fn_with_state(self.clone(), protocol::speak))
            .route_layer(axum::middleware::from_fn_with_state(self.clone(), guard::guard));
        if let Some(path) = &self.metadata_path
            && !metadata_taken.contains(path)
        {
            let resource = self.clone();
            router = router.route(
                path,
                get(move || async move { tagged(Endpoint::ResourceMetadata, axum::Json(resource.metadata())) }),
            );
            metadata_taken.push(path.clone());
        }
        router
    }
}
