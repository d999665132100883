//! [`MockServer`]: the listeners, started from a profile, shut down on drop.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::response::IntoResponse;
use rmcp::model::Tool;
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::authorization::{
    AuthorizationServer, EndpointOrigins, EnterpriseIdp, EnterpriseSignOn, IssuedToken, WorkloadIssuer, issuer_at,
};
use crate::live::{LiveProfile, describe_knobs};
use crate::peers::Peers;
use crate::placeholder::{ServerUrls, Surroundings};
use crate::profile::{AsOrigin, EndpointOrigin, FallbackEndpoint, Preset, Profile, ProfileError};
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
    peer: Option<(Peers, String)>,
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

    /// Joins a set of mocks under `name`: its URLs become what `{servers.NAME.…}` placeholders
    /// of the others stand for, and its authorization server one their resources may name.
    pub fn peer_of(mut self, peers: &Peers, name: &str) -> Self {
        self.peer = Some((peers.clone(), name.to_owned()));
        self
    }

    /// Binds the listeners on 127.0.0.1 and starts serving.
    pub async fn try_start(self) -> Result<MockServer, StartError> {
        MockServer::launch(self.profile, self.port, self.peer).await
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
    profile: Arc<LiveProfile>,
    resources: Vec<Arc<ProtectedResource>>,
    authorization_server: Arc<AuthorizationServer>,
    resource_origin: String,
    /// The enterprise identity provider, when the profile runs one (SEP-990).
    enterprise_idp: Option<Arc<EnterpriseIdp>>,
    /// The workload JWT for the client under test, when the profile trusts a workload issuer
    /// (SEP-1933).
    workload_jwt: Option<String>,
    transcript: Transcript,
    /// Every listener's address and routes, so [`resume`](Self::resume) serves them again on
    /// the same ports.
    listeners: Vec<(SocketAddr, Router)>,
    /// The listeners while they serve; `None` while the server is [stopped](Self::stop).
    serving: Mutex<Option<Serving>>,
    /// While the server is stopped, a bound socket per port that holds it for
    /// [`resume`](Self::resume) and, not listening, refuses every connection.
    reserved: Mutex<Vec<TcpSocket>>,
    /// Ends rmcp's sessions and streams when the mock is dropped.
    shutdown: CancellationToken,
}

/// The tasks of one period of serving, and the token that ends it.
struct Serving {
    stop: CancellationToken,
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

    async fn launch(profile: Profile, port: u16, peer: Option<(Peers, String)>) -> Result<Self, StartError> {
        validate(&profile)?;
        let resource_listener = bind(port).await?;
        let resource_origin = origin_of(&resource_listener);
        let as_listener = match profile.authorization_server.origin {
            AsOrigin::Same => None,
            AsOrigin::Separate => Some(bind(0).await?),
        };
        let as_origin = as_listener.as_ref().map_or(resource_origin.clone(), origin_of);
        // Each endpoint set to `separate` gets a listener of its own.
        let knobs = &profile.authorization_server;
        let mut separate = Vec::new();
        for (endpoint, origin) in [
            (Origin::AuthorizationEndpoint, knobs.authorize_origin),
            (Origin::TokenEndpoint, knobs.token_origin),
            (Origin::RegistrationEndpoint, knobs.registration_origin),
        ] {
            if origin == EndpointOrigin::Separate {
                separate.push((endpoint, bind(0).await?));
            }
        }
        let origin_for = |endpoint: Origin, origin: EndpointOrigin| match origin {
            EndpointOrigin::Issuer => as_origin.clone(),
            EndpointOrigin::Resource => resource_origin.clone(),
            EndpointOrigin::Separate => separate
                .iter()
                .find(|(e, _)| *e == endpoint)
                .map(|(_, listener)| origin_of(listener))
                .expect("a separate endpoint was given a listener"),
        };
        let origins = EndpointOrigins {
            authorize: origin_for(Origin::AuthorizationEndpoint, knobs.authorize_origin),
            token: origin_for(Origin::TokenEndpoint, knobs.token_origin),
            registration: origin_for(Origin::RegistrationEndpoint, knobs.registration_origin),
        };
        let on_resource = [knobs.authorize_origin, knobs.token_origin, knobs.registration_origin]
            .map(|o| o == EndpointOrigin::Resource);
        let issuer = issuer_at(&as_origin, &knobs.issuer_path);
        let fallbacks = knobs.fallback.endpoints.clone();
        let idp_listener = match profile.enterprise_idp.enabled {
            true => Some(bind(0).await?),
            false => None,
        };
        let enterprise_idp = idp_listener.as_ref().map(|listener| {
            let client = profile.authorization_server.preregistered_clients.first();
            Arc::new(EnterpriseIdp::new(
                &origin_of(listener),
                profile.enterprise_idp.clone(),
                client.map_or("", |c| c.client_id.as_str()),
                client.and_then(|c| c.client_secret.clone()),
            ))
        });
        let paths = profile.resource.paths.clone();
        let (peers, name) = peer.map_or((Peers::new(), None), |(peers, name)| (peers, Some(name)));
        let urls = ServerUrls {
            issuer: issuer.as_str().trim_end_matches('/').to_owned(),
            mcp_url: resource_origin.join(&paths[0]).expect("MCP paths are absolute paths").to_string(),
            resource_origin: resource_origin.as_str().trim_end_matches('/').to_owned(),
        };
        let workload_issuer =
            profile.workload_identity.enabled.then(|| WorkloadIssuer::new(&profile.workload_identity, &urls.issuer));
        let surroundings = Arc::new(Surroundings::new(urls.clone(), peers.clone()));
        let profile = Arc::new(LiveProfile::new(profile));
        let authorization_server = Arc::new(AuthorizationServer::new(
            profile.clone(),
            issuer,
            origins,
            surroundings.clone(),
            enterprise_idp.as_ref().map(|idp| idp.trusted()),
            workload_issuer.as_ref().map(WorkloadIssuer::trusted),
        ));
        if let Some(name) = &name {
            peers.join(name, urls, &authorization_server);
        }
        let resources: Vec<_> = paths
            .iter()
            .map(|path| {
                Arc::new(ProtectedResource::new(
                    profile.clone(),
                    &resource_origin,
                    path,
                    authorization_server.clone(),
                    surroundings.clone(),
                ))
            })
            .collect();

        let transcript = Transcript::default();
        let shutdown = CancellationToken::new();
        let mut resource_router = Router::new();
        let mut metadata_taken = Vec::new();
        for resource in &resources {
            resource_router = resource_router.merge(resource.router(shutdown.clone(), &mut metadata_taken));
        }
        for fallback in fallbacks {
            let live = profile.clone();
            resource_router = resource_router.route(fallback.path(), axum::routing::any(move || answer_fallback(live)));
        }
        let mut as_router = authorization_server.metadata_router();
        let mut listeners = Vec::new();
        let endpoint_routers = [
            (Origin::AuthorizationEndpoint, authorization_server.authorize_router()),
            (Origin::TokenEndpoint, authorization_server.token_router()),
            (Origin::RegistrationEndpoint, authorization_server.registration_router()),
        ];
        for ((endpoint, router), on_resource) in endpoint_routers.into_iter().zip(on_resource) {
            match separate.iter().position(|(e, _)| *e == endpoint) {
                Some(at) => {
                    let (_, listener) = separate.remove(at);
                    listeners.push((listener, finish(router, &transcript, endpoint)));
                }
                None if on_resource => resource_router = resource_router.merge(router),
                None => as_router = as_router.merge(router),
            }
        }
        if let (Some(listener), Some(idp)) = (idp_listener, &enterprise_idp) {
            listeners.push((listener, finish(idp.router(), &transcript, Origin::IdentityProvider)));
        }
        match as_listener {
            None => resource_router = resource_router.merge(as_router),
            Some(listener) => listeners.push((listener, finish(as_router, &transcript, Origin::AuthorizationServer))),
        }
        listeners.push((resource_listener, finish(resource_router, &transcript, Origin::Resource)));
        let addresses: Vec<(SocketAddr, Router)> = listeners
            .iter()
            .map(|(listener, router)| (listener.local_addr().expect("a bound listener has an address"), router.clone()))
            .collect();
        let serving = Serving::start(listeners);
        Ok(Self {
            profile,
            resources,
            authorization_server,
            resource_origin: surroundings.own().resource_origin.clone(),
            enterprise_idp,
            workload_jwt: workload_issuer.map(|w| w.jwt().to_owned()),
            transcript,
            listeners: addresses,
            serving: Mutex::new(Some(serving)),
            reserved: Mutex::new(Vec::new()),
            shutdown,
        })
    }

    /// The MCP server's origin, `http://127.0.0.1:PORT`.
    pub fn resource_origin(&self) -> String {
        self.resource_origin.clone()
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

    /// The knobs the mock runs with now (changed by [`apply`](Self::apply)).
    pub fn profile(&self) -> Profile {
        self.profile.get()
    }

    /// The record of every exchange so far (a live handle: it keeps filling).
    pub fn transcript(&self) -> Transcript {
        self.transcript.clone()
    }

    /// The tools `tools/list` serves.
    pub fn served_tools(&self) -> Vec<Tool> {
        self.profile.read(|p| p.resource.tools.iter().map(|t| t.describe()).collect())
    }

    /// The private key (a JWK) the mock generated at start for a pre-registered
    /// `private_key_jwt` client: the harness hands it to the client under test, the mock keeps the
    /// public half as the client's registered JWKS.
    pub fn client_private_key(&self, client_id: &str) -> Option<String> {
        self.authorization_server.client_private_key(client_id)
    }

    /// What the client under test needs for enterprise-managed authorization (SEP-990): the
    /// identity provider's token endpoint, the signed-in user's ID token and the client's
    /// credentials there; `None` when the profile runs no identity provider.
    pub fn enterprise_sign_on(&self) -> Option<EnterpriseSignOn> {
        self.enterprise_idp.as_ref().map(|idp| idp.sign_on())
    }

    /// The workload JWT the client under test presents for workload identity federation
    /// (SEP-1933), as its platform would hand it over; `None` when the profile trusts no
    /// workload issuer.
    pub fn workload_jwt(&self) -> Option<&str> {
        self.workload_jwt.as_deref()
    }

    /// Every token issued so far with its raw value.
    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        self.authorization_server.issued_tokens()
    }

    /// Makes every access token issued so far expire now (refresh tokens stay valid): the
    /// deterministic way to reach "the token expired" without waiting.
    pub fn expire_access_tokens(&self) {
        self.transcript.note("expire access tokens");
        self.authorization_server.expire_access_tokens();
    }

    /// Revokes every access and refresh token issued so far.
    pub fn revoke_all_tokens(&self) {
        self.transcript.note("revoke all tokens");
        self.authorization_server.revoke_all();
    }

    /// Revokes every refresh token issued so far; access tokens keep working until they expire,
    /// after which only a new authorization helps.
    pub fn revoke_refresh_tokens(&self) {
        self.transcript.note("revoke refresh tokens");
        self.authorization_server.revoke_refresh_tokens();
    }

    /// Forgets every client registered so far (dynamically or by metadata document): the token
    /// endpoint answers `invalid_client` for their ids, and the authorization endpoint does not
    /// know them. Preregistered clients and issued tokens stay.
    pub fn forget_clients(&self) {
        self.transcript.note("forget clients");
        self.authorization_server.forget_clients();
    }

    /// Ends every MCP session: a request with an old `Mcp-Session-Id` gets 404, so the client
    /// must initialize again.
    pub async fn end_sessions(&self) {
        self.transcript.note("end sessions");
        for resource in &self.resources {
            resource.end_sessions().await;
        }
    }

    /// Changes knobs of the running server, like [`Profile::with_overrides`]: scopes, the
    /// challenge, metadata contents, `iss`, consent, token lifetimes… take effect from the next
    /// request. Knobs that set listeners and routes (`resource.paths`,
    /// `authorization_server.origin`, …) are refused, naming the knob, and nothing changes.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let server = mock_server::MockServer::start().await;
    /// let knobs: toml::Table = toml::from_str("[resource]\nrequired_scopes = [\"mcp:admin\"]").unwrap();
    /// server.apply(&knobs).unwrap();
    /// assert_eq!(server.profile().resource.required_scopes, ["mcp:admin"]);
    /// # }
    /// ```
    pub fn apply(&self, knobs: &toml::Table) -> Result<(), ProfileError> {
        let changed = self.profile.get().with_live_overrides(knobs)?;
        self.transcript.note(format!("apply {}", describe_knobs(knobs)));
        self.profile.replace(changed);
        self.authorization_server.retune();
        Ok(())
    }

    /// Takes every listener down: a new connection is refused until [`resume`](Self::resume).
    /// Registered clients, tokens and MCP sessions are kept.
    pub async fn stop(&self) {
        let serving = self.serving.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(serving) = serving {
            self.transcript.note("stop");
            // Hold the ports before the listeners close: a port left free for a moment goes to
            // the next outgoing connection that asks the kernel for one, and resume would fail.
            let held = self.listeners.iter().filter_map(|(addr, _)| reserve(*addr).ok()).collect();
            *self.reserved.lock().unwrap_or_else(PoisonError::into_inner) = held;
            serving.end().await;
        }
    }

    /// Serves again on the same ports after [`stop`](Self::stop), with the same state. Fails
    /// only if another process took one of the ports meanwhile.
    pub async fn resume(&self) -> Result<(), StartError> {
        if self.serving.lock().unwrap_or_else(PoisonError::into_inner).is_some() {
            return Ok(());
        }
        let mut bound = Vec::new();
        for (addr, _) in &self.listeners {
            bound.push(bind(addr.port()).await?);
        }
        let serving = Serving::start(bound.into_iter().zip(self.listeners.iter().map(|(_, router)| router.clone())));
        self.transcript.note("resume");
        *self.serving.lock().unwrap_or_else(PoisonError::into_inner) = Some(serving);
        self.reserved.lock().unwrap_or_else(PoisonError::into_inner).clear();
        Ok(())
    }

    /// [`stop`](Self::stop) then [`resume`](Self::resume): the server restarts on the same
    /// ports keeping its state, as one with persistent storage would.
    pub async fn restart(&self) -> Result<(), StartError> {
        self.stop().await;
        self.resume().await
    }
}

impl Serving {
    /// Serves each router on its listener.
    fn start(listeners: impl IntoIterator<Item = (TcpListener, Router)>) -> Self {
        let stop = CancellationToken::new();
        let tasks = listeners.into_iter().map(|(listener, router)| serve(listener, router, stop.clone())).collect();
        Self { stop, tasks }
    }

    /// Closes the listeners and waits until they are gone, so a connection attempt right after
    /// is refused.
    async fn end(self) {
        // The signal tells open connections to finish their request and close; aborting drops
        // the listener now rather than when axum gets round to it.
        self.stop.cancel();
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(serving) = self.serving.lock().unwrap_or_else(PoisonError::into_inner).take() {
            serving.stop.cancel();
            // Long-lived streams would hold a graceful shutdown open; nothing may outlive the handle.
            serving.tasks.iter().for_each(JoinHandle::abort);
        }
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

/// Listens on 127.0.0.1. SO_REUSEPORT lets [`reserve`] hold the port while this listener still
/// has it, so a stopped server keeps its ports; only sockets of this user can share them.
async fn bind(port: u16) -> Result<TcpListener, StartError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listen = || {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(true)?;
        socket.bind(addr)?;
        socket.listen(1024)
    };
    listen().map_err(|source| StartError::Bind { addr, source })
}

/// A socket bound to `addr` that never listens: it keeps the port from every other use, and a
/// connection to it is refused.
fn reserve(addr: SocketAddr) -> std::io::Result<TcpSocket> {
    let socket = TcpSocket::new_v4()?;
    // No SO_REUSEADDR: with it, any other socket asking for SO_REUSEADDR could bind the port too.
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    Ok(socket)
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

/// An unadvertised endpoint's answer: the chosen error, as JSON (RFC 6749 §5.2).
async fn answer_fallback(profile: Arc<LiveProfile>) -> axum::response::Response {
    let (status, error) =
        profile.read(|p| (p.authorization_server.fallback.status, p.authorization_server.fallback.error.clone()));
    let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    let body = serde_json::json!({
        "error": error,
        "error_description": "no metadata names this endpoint",
    });
    tagged(Endpoint::Fallback, (status, axum::Json(body)).into_response())
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
    let knobs = &profile.authorization_server;
    // A fallback may not take the path of a real endpoint on the MCP origin: the router could
    // not mount both, and the endpoint would no longer be unadvertised.
    let on_resource = |origin: EndpointOrigin| {
        origin == EndpointOrigin::Resource || (origin == EndpointOrigin::Issuer && knobs.origin == AsOrigin::Same)
    };
    let prefix = issuer_path.trim_end_matches('/');
    for fallback in &knobs.fallback.endpoints {
        let real = match fallback {
            FallbackEndpoint::Authorize => on_resource(knobs.authorize_origin),
            FallbackEndpoint::Token => on_resource(knobs.token_origin),
            FallbackEndpoint::Register => on_resource(knobs.registration_origin) && knobs.dynamic_registration,
        };
        if (real && prefix.is_empty()) || paths.iter().any(|p| p == fallback.path()) {
            return Err(StartError::InvalidProfile(format!(
                "authorization_server.fallback.endpoints: `{}` is already served at {} on the MCP origin",
                serde_json::to_value(fallback).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                fallback.path()
            )));
        }
    }
    if !(400..=599).contains(&knobs.fallback.status) {
        return Err(StartError::InvalidProfile(format!(
            "authorization_server.fallback.status {} is not an error status (400 to 599)",
            knobs.fallback.status
        )));
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

/// Whether the mock can serve `path` (an MCP path, an issuer path, a custom metadata path): it
/// starts with `/`, does not end with one, and uses only letters, digits, `-`, `_`, `.` and `/`.
pub fn is_plain_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.ends_with('/')
        && !path.contains("//")
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
}
