//! [`MockServer`]: the listeners, started from a profile, shut down on drop.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::response::IntoResponse;
use rmcp::model::Tool;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::authorization::{AuthorizationServer, IssuedToken};
use crate::profile::{AsOrigin, AuthorizeOrigin, Preset, Profile};
use crate::recording::{record, tagged};
use crate::resource::ProtectedResource;
use crate::transcript::{Endpoint, Origin, Transcript};

/// Why a mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("invalid profile: {0}")]
    InvalidProfile(String),
}

/// Configures a [`MockServer`] before it starts.
#[derive(Debug, Clone, Default)]
pub struct MockServerBuilder {
    profile: Profile,
    port: u16,
}

impl MockServerBuilder {
    /// Uses these knobs (default: the happy path).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// Uses a named preset's knobs.
    pub fn preset(self, preset: Preset) -> Self {
        self.profile(preset.profile())
    }

    /// Listens for MCP on this port instead of an ephemeral one (a separate authorization server
    /// always takes an ephemeral port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Binds the listeners on 127.0.0.1 and starts serving.
    pub async fn try_start(self) -> Result<MockServer, StartError> {
        MockServer::launch(self.profile, self.port).await
    }

    /// Like [`try_start`](Self::try_start), panicking if the mock cannot start, as a test wants.
    pub async fn start(self) -> MockServer {
        self.try_start().await.expect("the mock server failed to start")
    }
}

/// A running OAuth-protected MCP server. Dropping it shuts every listener down.
///
/// See the [crate documentation](crate) for an example.
pub struct MockServer {
    profile: Profile,
    resources: Vec<Arc<ProtectedResource>>,
    authorization_server: Arc<AuthorizationServer>,
    transcript: Transcript,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl MockServer {
    /// Starts a happy-path mock.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    async fn launch(profile: Profile, port: u16) -> Result<Self, StartError> {
        validate(&profile)?;
        let resource_listener = bind(port).await?;
        let resource_origin = origin_of(&resource_listener);
        let as_listener = match profile.authorization_server.origin {
            AsOrigin::Same => None,
            AsOrigin::Separate => Some(bind(0).await?),
        };
        let as_origin = as_listener.as_ref().map_or(resource_origin.clone(), origin_of);
        let authorize_listener = match profile.authorization_server.authorize_origin {
            AuthorizeOrigin::Issuer => None,
            AuthorizeOrigin::Separate => Some(bind(0).await?),
        };
        let authorization_server = Arc::new(AuthorizationServer::new(
            profile.authorization_server.clone(),
            profile.tokens.clone(),
            &as_origin,
            authorize_listener.as_ref().map(origin_of),
            &profile.resource_metadata.scopes_supported,
        ));
        let resources: Vec<_> = profile
            .resource
            .paths
            .iter()
            .map(|path| {
                Arc::new(ProtectedResource::new(&profile, &resource_origin, path, authorization_server.clone()))
            })
            .collect();

        let transcript = Transcript::default();
        let shutdown = CancellationToken::new();
        let mut resource_router = Router::new();
        let mut metadata_taken = Vec::new();
        for resource in &resources {
            resource_router = resource_router.merge(resource.router(shutdown.clone(), &mut metadata_taken));
        }
        let mut tasks = Vec::new();
        if let Some(listener) = authorize_listener {
            let router = finish(authorization_server.authorize_router(), &transcript, Origin::AuthorizationEndpoint);
            tasks.push(serve(listener, router, shutdown.clone()));
        }
        match as_listener {
            None => resource_router = resource_router.merge(authorization_server.router()),
            Some(listener) => {
                let router = finish(authorization_server.router(), &transcript, Origin::AuthorizationServer);
                tasks.push(serve(listener, router, shutdown.clone()));
            }
        }
        let router = finish(resource_router, &transcript, Origin::Resource);
        tasks.push(serve(resource_listener, router, shutdown.clone()));
        Ok(Self { profile, resources, authorization_server, transcript, shutdown, tasks })
    }

    /// The (first) MCP endpoint's URL, e.g. `http://127.0.0.1:41234/mcp`.
    pub fn uri(&self) -> String {
        self.resources[0].uri().to_owned()
    }

    /// Every MCP endpoint's URL, one per configured path.
    pub fn mcp_uris(&self) -> Vec<String> {
        self.resources.iter().map(|r| r.uri().to_owned()).collect()
    }

    /// The authorization server's issuer identifier.
    pub fn issuer(&self) -> String {
        self.authorization_server.issuer()
    }

    /// The profile the mock runs with.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The record of every exchange so far (a live handle: it keeps filling).
    pub fn transcript(&self) -> Transcript {
        self.transcript.clone()
    }

    /// The tools `tools/list` serves.
    pub fn served_tools(&self) -> Vec<Tool> {
        self.profile.resource.tools.iter().map(|t| t.describe()).collect()
    }

    /// Every token issued so far with its raw value.
    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        self.authorization_server.issued_tokens()
    }

    /// Makes every access token issued so far expire now (refresh tokens stay valid): the
    /// deterministic way to reach "the token expired" without waiting.
    pub fn expire_access_tokens(&self) {
        self.authorization_server.expire_access_tokens();
    }

    /// Revokes every access and refresh token issued so far.
    pub fn revoke_all_tokens(&self) {
        self.authorization_server.revoke_all();
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // Long-lived streams would hold a graceful shutdown open; nothing may outlive the handle.
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("mcp", &self.mcp_uris())
            .field("issuer", &self.issuer())
            .finish_non_exhaustive()
    }
}

async fn bind(port: u16) -> Result<TcpListener, StartError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })
}

fn origin_of(listener: &TcpListener) -> Url {
    let addr = listener.local_addr().expect("a bound listener has an address");
    Url::parse(&format!("http://{addr}")).expect("socket addresses make valid URLs")
}

fn finish(router: Router, transcript: &Transcript, origin: Origin) -> Router {
    router
        .fallback(|| async {
            tagged(
                Endpoint::NotFound,
                (axum::http::StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"error": "not_found"})))
                    .into_response(),
            )
        })
        .layer(axum::middleware::from_fn_with_state((transcript.clone(), origin), record))
}

fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).with_graceful_shutdown(shutdown.cancelled_owned()).await;
    })
}

/// Rejects knob values the router could not mount, so a bad profile is an error, not a panic.
fn validate(profile: &Profile) -> Result<(), StartError> {
    let bad = |what: &str, value: &str| StartError::InvalidProfile(format!("{what} `{value}`: {}", PATH_RULE));
    let paths = &profile.resource.paths;
    if paths.is_empty() {
        return Err(StartError::InvalidProfile("resource.paths must name at least one path".into()));
    }
    for path in paths {
        if !is_plain_path(path) || path == "/" {
            return Err(bad("resource.paths entry", path));
        }
    }
    let issuer_path = &profile.authorization_server.issuer_path;
    if !issuer_path.is_empty() && !is_plain_path(issuer_path) {
        return Err(bad("authorization_server.issuer_path", issuer_path));
    }
    let custom = &profile.resource_metadata.custom_path;
    if !is_plain_path(custom) || paths.contains(custom) {
        return Err(bad("resource_metadata.custom_path", custom));
    }
    let mut unique = paths.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != paths.len() {
        return Err(StartError::InvalidProfile("resource.paths repeats a path".into()));
    }
    Ok(())
}

const PATH_RULE: &str = "must start with `/`, not end with `/`, and use only letters, digits, `-`, `_`, `.` and `/`";

fn is_plain_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.ends_with('/')
        && !path.contains("//")
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
}
