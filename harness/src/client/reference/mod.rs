//! The built-in reference client: rmcp's client and its `auth` feature, persisting to files in
//! its home. It is the positive control: it does what the 2026-07-28 spec asks, so it passes
//! every scenario. Its [`Fault`]s each re-create one real-world client mistake, to show that the
//! checks catch it.
//!
//! Every verb builds its state from the files in its home and keeps nothing in memory between
//! verbs, so each verb is what a fresh process would do and `restart` has nothing to drop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::service::{ClientServiceExt as _, RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::{
    AuthClient, AuthError, AuthorizationManager, AuthorizationMetadata, AuthorizationMetadataSource,
    AuthorizationRequest, AuthorizationSession, CredentialRefreshGuard, CredentialStore, OAuthClientConfig, OAuthState,
    StoredCredentials,
};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::{
    AdapterError, ClientAdapter, ClientState, CredentialSummary, EntryStatus, RegistryEntry, Reply, ServerEntry,
    StepContext, Support, ToolInfo,
};
use crate::extension::Extension;
use crate::revision::Revision;
use crate::scenario::{Status, Verb};
use crate::www_authenticate;

mod client_credentials;
mod direct_grant;
mod dpop;
mod enterprise;
mod fault;
mod metadata_document;
mod oauth_http;
mod protocol;
mod workload;

pub use fault::Fault;
use metadata_document::HostedDocument;
use oauth_http::OAuthHttp;
use protocol::{Probe, probe};

/// The reference client, optionally with faults.
#[derive(Debug, Default, Clone)]
pub struct ReferenceClient {
    faults: Vec<Fault>,
}

impl ReferenceClient {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_faults(faults: Vec<Fault>) -> Self {
        Self { faults }
    }

    fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    /// An rmcp authorization manager for `url` whose OAuth requests go through [`OAuthHttp`].
    async fn manager(&self, url: &str) -> Result<(AuthorizationManager, Arc<OAuthHttp>), AuthError> {
        let http = OAuthHttp::new(&self.faults)?;
        Ok((AuthorizationManager::new_with_oauth_http_client(url, http.clone()).await?, http))
    }

    /// Discovery as for any login (the MCP server's challenge, its protected resource metadata,
    /// the authorization server's metadata), for the grants the adapter makes itself.
    async fn authorization_server_metadata(
        &self,
        ctx: &StepContext,
        entry: &ServerEntry,
    ) -> Result<AuthorizationMetadata, String> {
        let challenge = probe(&entry.url, ctx.revision).await?.challenge;
        let (manager, _http) = self.manager(&entry.url).await.map_err(describe)?;
        Ok(manager.resolve_metadata_from_challenge(challenge.as_deref()).await.map_err(describe)?.metadata)
    }
}

/// Step-up re-authorizations per operation before giving up (MCP authorization 2025-11-25
/// §"Scope Challenge Handling": "no more than a few times").
const STEP_UP_LIMIT: usize = 2;

#[async_trait]
impl ClientAdapter for ReferenceClient {
    fn name(&self) -> String {
        let mut name = "reference".to_owned();
        for fault in &self.faults {
            name.push('+');
            name.push_str(fault.name());
        }
        name
    }

    fn support(&self, _verb: Verb) -> Support {
        Support::Yes
    }

    /// `add_via = "cli"` asks for the client's own add command, which this client's `add` is;
    /// `client_id = "metadata-document"` makes it host a client ID metadata document and use
    /// its URL as client id.
    fn known_options(&self) -> &'static [&'static str] {
        &["add_via", metadata_document::OPTION.0]
    }

    fn extensions(&self) -> &'static [Extension] {
        &[Extension::OauthClientCredentials, Extension::EnterpriseManagedAuthorization, Extension::Dpop, Extension::Wif]
    }

    async fn add(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        let mut registry = Registry::load(&ctx.home)?;
        registry.servers.insert(entry.name.clone(), StoredEntry { url: entry.url.clone(), tools: Vec::new() });
        registry.save(&ctx.home)?;
        Ok(Reply::success(format!("added {} at {}", entry.name, entry.url)))
    }

    async fn login(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        if let Some(got) = self.login_without_browser(ctx, entry).await {
            return Ok(match got {
                Ok(how) => Reply::success(format!("logged in to {} {how}", entry.name)),
                Err(error) => Reply::failure(error),
            });
        }
        fault::guess_endpoints(&self.faults, &entry.url).await;
        Ok(match self.authorize(ctx, entry, None).await {
            Ok(()) => Reply::success(format!("logged in to {}", entry.name)),
            Err(error) => Reply::failure(error),
        })
    }

    async fn list(&self, ctx: &StepContext) -> Result<Reply, AdapterError> {
        let registry = Registry::load(&ctx.home)?;
        let mut reply = Reply::default();
        for (name, stored) in &registry.servers {
            let entry = ServerEntry {
                name: name.clone(),
                url: stored.url.clone(),
                preregistered: None,
                machine: None,
                enterprise: None,
                workload_jwt: None,
            };
            let (raw, normalized) = self.status(ctx, &entry).await;
            reply.output.push_str(&format!("{name}\t{}\t{raw}\n", stored.url));
            reply.statuses.push(EntryStatus { name: name.clone(), raw, normalized });
        }
        Ok(reply)
    }

    async fn import(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        let mut output = String::new();
        let first_page_only = self.has(Fault::FirstPageOfToolsOnly);
        let listed = self
            .stepping_up(
                ctx,
                entry,
                &mut output,
                "tools/list",
                || self.connect_or_log_in_again(ctx, entry),
                |client| async move {
                    let listed = match first_page_only {
                        true => client.list_tools(None).await.map(|page| page.tools),
                        false => client.list_all_tools().await,
                    };
                    let _ = client.cancel().await;
                    listed
                },
            )
            .await;
        let tools: Vec<ToolInfo> = match listed {
            Ok(tools) => tools
                .into_iter()
                .map(|t| ToolInfo { name: t.name.to_string(), input_schema: Value::Object((*t.input_schema).clone()) })
                .collect(),
            Err(error) => return Ok(Reply { output, ..Reply::failure(error) }),
        };
        let mut registry = Registry::load(&ctx.home)?;
        if let Some(stored) = registry.servers.get_mut(&entry.name) {
            stored.tools = tools.clone();
        }
        registry.save(&ctx.home)?;
        output.push_str(&format!("imported tools of {}", entry.name));
        Ok(Reply { tools: Some(tools), ..Reply::success(output) })
    }

    async fn call(
        &self,
        ctx: &StepContext,
        entry: &ServerEntry,
        tool: &str,
        arguments: &serde_json::Map<String, Value>,
    ) -> Result<Reply, AdapterError> {
        let mut output = String::new();
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments.clone());
        let called = self
            .stepping_up(
                ctx,
                entry,
                &mut output,
                "tools/call",
                || self.connect(ctx, entry),
                |client| {
                    let params = params.clone();
                    async move {
                        let result = client.call_tool(params).await;
                        let _ = client.cancel().await;
                        result
                    }
                },
            )
            .await;
        Ok(match called {
            Ok(result) => {
                let text: Vec<String> =
                    result.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect();
                let text = text.join("\n");
                match result.is_error == Some(true) {
                    true => {
                        Reply { output, content: Some(text.clone()), ..Reply::failure(format!("tool error: {text}")) }
                    }
                    false => Reply { content: Some(text), ..Reply::success(output) },
                }
            }
            Err(error) => Reply { output, ..Reply::failure(error) },
        })
    }

    async fn restart(&self, ctx: &StepContext) -> Result<Reply, AdapterError> {
        if self.has(Fault::ForgetOnRestart) {
            let dir = credentials_dir(&ctx.home);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| AdapterError::Failed(e.to_string()))?;
            }
        }
        Ok(Reply::success("restarted"))
    }

    async fn logout(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        let path = credentials_path(&ctx.home, &entry.url);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(Reply::success(format!("logged out of {}", entry.name))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Reply::success(format!("{} was not logged in", entry.name)))
            }
            Err(e) => Err(AdapterError::Failed(e.to_string())),
        }
    }

    async fn remove(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        let mut registry = Registry::load(&ctx.home)?;
        if registry.servers.remove(&entry.name).is_none() {
            return Ok(Reply::failure(format!("no server named {}", entry.name)));
        }
        registry.save(&ctx.home)?;
        Ok(Reply::success(format!("removed {}", entry.name)))
    }

    async fn state(&self, home: &Path) -> ClientState {
        let registry = Registry::load(home).unwrap_or_default();
        let mut state = ClientState::default();
        for (name, stored) in &registry.servers {
            state.registry.push(RegistryEntry {
                name: name.clone(),
                transport: "streamable-http".into(),
                url: stored.url.clone(),
                tools: Some(stored.tools.iter().map(|t| t.name.clone()).collect()),
            });
        }
        let Ok(dir) = std::fs::read_dir(credentials_dir(home)) else {
            return state;
        };
        state.credentials = dir.filter_map(|e| CredentialFile::read(&e.ok()?.path())).map(|f| f.summary()).collect();
        state.credentials.sort_by(|a, b| a.key.cmp(&b.key));
        state
    }
}

impl ReferenceClient {
    /// Opens a session and runs `operation` on it; when the session or the operation is refused
    /// with 403 `insufficient_scope`, re-authorizes and tries again, a few times at most (MCP
    /// authorization 2025-11-25 §Scope Challenge Handling covers any request: the session's
    /// opening request, `tools/list` and `tools/call` alike). What it did goes to `output`.
    async fn stepping_up<T, C, O>(
        &self,
        ctx: &StepContext,
        entry: &ServerEntry,
        output: &mut String,
        what: &str,
        connect: impl Fn() -> C,
        operation: impl Fn(RunningService<RoleClient, ClientConfig>) -> O,
    ) -> Result<T, String>
    where
        C: Future<Output = Result<RunningService<RoleClient, ClientConfig>, ConnectError>>,
        O: Future<Output = Result<T, rmcp::ServiceError>>,
    {
        let limit = if self.has(Fault::UnboundedStepUp) { 10 } else { STEP_UP_LIMIT };
        for attempt in 0..=limit {
            let (failure, challenge) = match connect().await {
                Ok(client) => match operation(client).await {
                    Ok(value) => return Ok(value),
                    Err(error) => (format!("{what} failed: {error}"), error.auth_challenge().map(str::to_owned)),
                },
                Err(ConnectError::Rejected(challenge)) => {
                    (ConnectError::Rejected(challenge.clone()).to_string(), Some(challenge))
                }
                Err(error) => return Err(error.to_string()),
            };
            let needed = challenge.as_deref().and_then(|c| www_authenticate::param(c, "scope"));
            let insufficient =
                challenge.as_deref().and_then(|c| www_authenticate::param(c, "error")) == Some("insufficient_scope");
            let Some(needed) = needed.filter(|_| insufficient && attempt < limit) else {
                return Err(failure);
            };
            let scopes = step_up_scopes(self.union_on_step_up(ctx), &ctx.home, &entry.url, needed);
            output.push_str(&format!("step-up: re-authorizing for `{}`\n", scopes.join(" ")));
            self.authorize(ctx, entry, Some(scopes)).await.map_err(|error| format!("step-up failed: {error}"))?;
        }
        Err("insufficient scope after step-up retries".into())
    }

    /// Whether a step-up asks for the scopes asked for and granted before as well as the
    /// challenged ones: from 2026-07-28 (SEP-2350: "the union of the client's previously
    /// requested scope set and the scopes from the current challenge"; §Scope Selection Strategy
    /// adds "previously granted"). Under 2025-11-25 step 2 of §Step-Up Authorization Flow goes by
    /// the Scope Selection Strategy, whose first source is the challenge: its scopes alone.
    fn union_on_step_up(&self, ctx: &StepContext) -> bool {
        ctx.revision >= Revision::V2026_07_28 && !self.has(Fault::ChallengedScopesOnly)
    }

    /// A session with the stored login; a login without a browser (client credentials, an
    /// ID-JAG) comes with no refresh token and needs none, so a refused one is renewed the same
    /// way. With the `never-refresh` fault, a login that stopped working is renewed in the
    /// browser.
    async fn connect_or_log_in_again(
        &self,
        ctx: &StepContext,
        entry: &ServerEntry,
    ) -> Result<RunningService<RoleClient, ClientConfig>, ConnectError> {
        match self.connect(ctx, entry).await {
            Err(ConnectError::Rejected(_) | ConnectError::Other(_)) if self.logs_in_without_browser(entry) => {
                match self.login_without_browser(ctx, entry).await {
                    Some(Err(error)) => Err(ConnectError::Other(error)),
                    _ => self.connect(ctx, entry).await,
                }
            }
            Err(ConnectError::Rejected(_)) if self.has(Fault::NeverRefresh) => {
                match self.authorize(ctx, entry, None).await {
                    Ok(()) => self.connect(ctx, entry).await,
                    Err(error) => Err(ConnectError::Other(error)),
                }
            }
            connected => connected,
        }
    }

    /// Whether the entry logs in by an authorization extension, with no user at a browser.
    fn logs_in_without_browser(&self, entry: &ServerEntry) -> bool {
        entry.machine.is_some() || entry.enterprise.is_some() || entry.workload_jwt.is_some()
    }

    /// A login by an authorization extension: client credentials for a machine client (SEP-1046),
    /// else a workload JWT (SEP-1933), else an ID-JAG from the enterprise identity provider
    /// (SEP-990); `None` for an entry that has none. On success, how it logged in.
    async fn login_without_browser(&self, ctx: &StepContext, entry: &ServerEntry) -> Option<Result<String, String>> {
        if let Some(machine) = &entry.machine {
            let how = format!("with client credentials ({})", client_credentials::method_name(machine));
            return Some(self.client_credentials(ctx, entry, machine).await.map(|()| how));
        }
        if let Some(workload_jwt) = &entry.workload_jwt {
            let how = "with its workload JWT".to_owned();
            return Some(self.workload_login(ctx, entry, workload_jwt).await.map(|()| how));
        }
        let sign_on = entry.enterprise.as_ref()?;
        Some(
            self.enterprise_login(ctx, entry, sign_on)
                .await
                .map(|()| "with an ID-JAG from the identity provider".into()),
        )
    }

    /// The whole authorization-code flow, from discovery to stored tokens.
    async fn authorize(
        &self,
        ctx: &StepContext,
        entry: &ServerEntry,
        scopes: Option<Vec<String>>,
    ) -> Result<(), String> {
        let mut challenge = probe(&entry.url, ctx.revision).await?.challenge;
        if self.has(Fault::IgnoreResourceMetadata) {
            challenge = challenge.map(|c| www_authenticate::without_param(&c, "resource_metadata"));
        }
        let store = FileCredentialStore::new(&ctx.home, entry);
        let previous = store.read().await;
        let (mut manager, http) = self.manager(&entry.url).await.map_err(describe)?;
        manager.set_credential_store(store);
        let resolution = manager.resolve_metadata_from_challenge(challenge.as_deref()).await.map_err(describe)?;
        // rmcp proceeds with S256 when metadata omits code_challenge_methods_supported; the
        // 2025-11-25 spec says a client MUST refuse, so the adapter refuses here.
        let discovered = resolution.source != AuthorizationMetadataSource::LegacyEndpointFallback;
        if discovered
            && resolution.metadata.code_challenge_methods_supported.is_none()
            && !self.has(Fault::ProceedWithoutPkce)
        {
            return Err("refusing to authorize: the authorization server does not advertise PKCE support \
                 (code_challenge_methods_supported is missing)"
                .into());
        }
        let issuer = resolution.metadata.issuer.clone();
        // A boolean member rmcp does not model, read as RFC 8414 reads an absent one: false.
        let advertised =
            |member: &str| resolution.metadata.additional_fields.get(member).and_then(Value::as_bool).unwrap_or(false);
        let iss_advertised = advertised("authorization_response_iss_parameter_supported");
        let as_scopes = resolution.metadata.scopes_supported.clone().unwrap_or_default();
        // DPoP whenever the authorization server offers ES256 proofs (RFC 9449 §5.1): a new key
        // for each login, kept with the tokens it binds.
        let dpop_offered = resolution
            .metadata
            .additional_fields
            .get("dpop_signing_alg_values_supported")
            .and_then(Value::as_array)
            .is_some_and(|algs| algs.iter().any(|a| a == "ES256"));
        if dpop_offered {
            http.use_dpop(dpop::DpopKey::generate(&self.faults));
        }
        let cimd_advertised = advertised("client_id_metadata_document_supported");
        manager.set_metadata(resolution.metadata);
        let callback = Callback::bind().await?;
        // Served until the login ends: the authorization server fetches it when the browser
        // brings it the authorization request. Used only where the metadata advertises support
        // (the client SHOULD check, and MAY fall back to registration).
        let hosted = match ctx.options.get(metadata_document::OPTION.0) {
            None => None,
            Some(kind) if kind == metadata_document::OPTION.1 => match cimd_advertised {
                true => Some(HostedDocument::serve(&callback.redirect_uri(), &self.faults).await?),
                false => None,
            },
            Some(other) => return Err(format!("unknown client_id option `{other}` (known: metadata-document)")),
        };
        let mut request = AuthorizationRequest::new(callback.redirect_uri())
            .with_client_name("mcp-auth-harness reference client")
            .with_initial_scope_selection();
        match scopes {
            Some(scopes) => request = request.with_scopes(scopes),
            None if self.has(Fault::ScopesFromAsMetadata) => request = request.with_scopes(as_scopes),
            None => {}
        }
        if let Some((client_id, secret)) =
            entry.preregistered.as_ref().filter(|_| !self.has(Fault::RegisterDespitePreregistered))
        {
            request = request.with_preregistered_client(client_id);
            if let Some(secret) = secret {
                request = request.with_client_secret(secret);
            }
        } else if let Some(hosted) = &hosted {
            // After pre-registered credentials, a metadata document comes before dynamic
            // registration (MCP 2026-07-28 (client-registration), the priority order).
            request = request.with_preregistered_client(hosted.client_id());
        } else if let Some(previous) =
            previous.filter(|p| p.issuer == issuer || self.has(Fault::ReuseClientAcrossServers))
        {
            // A client registered before is reused, not registered again — with the
            // authorization server that registered it only: SEP-2352 binds client credentials
            // to their issuer, so a new one named by the resource's metadata gets a new
            // registration (rmcp drops the stored login itself when it notices, in `connect`).
            request = request.with_preregistered_client(previous.client_id);
        }
        let session = AuthorizationSession::new(manager, request).await.map_err(|(_, e)| describe(e))?;
        let mut url = fault::rewrite_authorization_url(&self.faults, session.get_authorization_url());
        // rmcp authorizes with the redirect URI it asked to register whatever the registration
        // answered; RFC 7591 §3.2.1 lets the AS replace it, and then the code would go elsewhere.
        if let Some(registered) = http.registered_redirect_uris()
            && !registered.contains(&callback.redirect_uri())
        {
            match (self.has(Fault::AcceptNonLoopbackRedirect), registered.first()) {
                (true, Some(theirs)) => url = fault::with_redirect_uri(&url, theirs),
                _ => {
                    return Err(format!(
                        "refusing to authorize: the authorization server registered redirect URIs {registered:?} \
                         instead of this client's {}",
                        callback.redirect_uri()
                    ));
                }
            }
        }
        let mut state = OAuthState::Session(session);
        let (_visit, answer) = tokio::join!(ctx.open_browser(&url), callback.answer(ctx.login_timeout));
        let answer = fault::rewrite_callback(&self.faults, answer?, &url, issuer.as_deref(), iss_advertised);
        // rmcp validates `iss` only on its way to redeeming a code, so an error response never
        // meets the check; MCP 2026-07-28 applies it to those too, before anything of theirs is
        // acted on or shown (§Authorization Response Validation).
        if !self.has(Fault::ShowUnvalidatedError) {
            validate_response_issuer(issuer.as_deref(), iss_advertised, answer.get("iss").map(String::as_str))?;
        }
        if let Some(error) = answer.get("error") {
            if self.has(Fault::ClaimLoginOnDenial) {
                return Ok(());
            }
            return Err(format!("authorization failed: {error}"));
        }
        let code = answer.get("code").ok_or("the callback carried no code")?;
        let csrf = answer.get("state").ok_or("the callback carried no state")?;
        state.handle_callback_with_issuer(code, csrf, answer.get("iss").map(String::as_str)).await.map_err(describe)?;
        record_login(&ctx.home, &entry.url, &url, http.dpop_key().as_deref(), http.registered_client_secret())?;
        fault::misuse_token(&self.faults, &access_token(&ctx.home, &entry.url), &entry.url, issuer.as_deref()).await;
        Ok(())
    }

    /// A careful status: stored credentials count only if they work now; without them, the
    /// server is asked whether it wants OAuth.
    async fn status(&self, ctx: &StepContext, entry: &ServerEntry) -> (String, Status) {
        let home = &ctx.home;
        let key = match self.has(Fault::StatusReadsOtherKey) {
            true => format!("{}|{}", entry.name, entry.url),
            false => entry.url.clone(),
        };
        let path = credentials_path(home, &key);
        if CredentialFile::read(&path).is_some_and(|f| f.stored.token_response.is_some()) {
            if self.has(Fault::StatusTrustsFile) {
                return ("logged in".into(), Status::Oauth);
            }
            return match self.connect(ctx, entry).await {
                Ok(client) => {
                    let _ = client.cancel().await;
                    ("logged in".into(), Status::Oauth)
                }
                Err(ConnectError::Rejected(why)) => (format!("login expired ({why})"), Status::Expired),
                Err(error @ ConnectError::ClientUnknown) => (format!("login expired ({error})"), Status::Expired),
                // The stored login was there a moment ago: rmcp dropped it because the resource
                // now names another authorization server than the one that issued it.
                Err(ConnectError::NotLoggedIn) => {
                    ("login expired (the authorization server changed)".into(), Status::Expired)
                }
                Err(error) => (format!("error: {error}"), Status::Error),
            };
        }
        if self.has(Fault::StatusProbesOriginOnly) {
            return origin_only_status(&entry.url).await;
        }
        match probe(&entry.url, ctx.revision).await {
            Ok(Probe { status: 401, .. }) => ("not logged in".into(), Status::NotLoggedIn),
            Ok(Probe { status, .. }) if (200..300).contains(&status) => ("no auth needed".into(), Status::Unsupported),
            Ok(Probe { status, .. }) => (format!("error: server answered {status}"), Status::Error),
            Err(error) => (format!("error: {error}"), Status::Error),
        }
    }

    /// An MCP session with the stored credentials (refreshed by rmcp when needed).
    async fn connect(
        &self,
        ctx: &StepContext,
        entry: &ServerEntry,
    ) -> Result<RunningService<RoleClient, ClientConfig>, ConnectError> {
        let home = &ctx.home;
        let mut store = FileCredentialStore::new(home, entry);
        store.hide_refresh_token = self.has(Fault::NeverRefresh);
        store.keep_refresh_token = self.has(Fault::KeepRotatedOutRefreshToken);
        store.hide_issuer = self.has(Fault::ReuseClientAcrossServers);
        if self.has(Fault::UncoordinatedRefresh) {
            store.in_memory = Some(Arc::new(std::sync::Mutex::new(store.read().await)));
        }
        if store.read().await.is_none() {
            return Err(ConnectError::NotLoggedIn);
        }
        let (mut manager, oauth_http) = self.manager(&entry.url).await.map_err(|e| ConnectError::Other(describe(e)))?;
        manager.set_credential_store(store.clone());
        match manager.initialize_from_store().await {
            Ok(true) => {}
            Ok(false) => return Err(ConnectError::NotLoggedIn),
            Err(e) => return Err(ConnectError::Other(describe(e))),
        }
        // What rmcp does not restore: the client secret and the DPoP key.
        let file = CredentialFile::read(&store.path);
        // rmcp restores only the client id: a confidential client, pre-registered or registered
        // dynamically, must also authenticate its refresh requests (OAuth 2.1 §4.3.1, RFC 6749 §6).
        let registered = file
            .as_ref()
            .and_then(|f| Some((f.stored.client_id.clone(), Some(f.client_secret.clone()?))))
            .filter(|_| entry.preregistered.is_none());
        if let Some((client_id, Some(secret))) = entry.preregistered.clone().or(registered) {
            let config = OAuthClientConfig::new(&client_id, entry.url.as_str()).with_client_secret(&secret);
            manager.configure_client(config).map_err(|e| ConnectError::Other(describe(e)))?;
        }
        let dpop_key =
            file.and_then(|f| f.dpop_key).and_then(|jwk| dpop::DpopKey::from_private_jwk(&jwk, &self.faults));
        if let Some(key) = &dpop_key {
            // Refreshes go through rmcp's OAuth HTTP: proven with the same key (RFC 9449 §5).
            oauth_http.use_dpop(key.clone());
        }
        let http = AuthClient::new(dpop::McpHttp::new(dpop_key.clone()), manager);
        let transport = StreamableHttpClientTransport::with_client(
            http,
            StreamableHttpClientTransportConfig::with_uri(entry.url.as_str()),
        );
        let mut config = protocol::client_config(ctx.revision);
        // A login by client credentials is the extension in use: the client says so in its
        // capabilities (SEP-1724's `extensions`, which rmcp sends in `initialize`).
        let in_use = match CredentialFile::read(&store.path).map(|f| f.client_id_kind) {
            Some(kind) if kind == "machine" => Some(Extension::OauthClientCredentials),
            Some(kind) if kind == "enterprise" => Some(Extension::EnterpriseManagedAuthorization),
            Some(kind) if kind == "workload" => Some(Extension::Wif),
            _ if dpop_key.is_some() => Some(Extension::Dpop),
            _ => None,
        };
        if let Some(extension) = in_use.filter(|_| !self.has(Fault::UndeclaredExtension)) {
            config.capabilities.extensions = Some([(extension.id().to_owned(), Default::default())].into());
        }
        let failure = match config.serve_with_lifecycle(transport, protocol::lifecycle(ctx.revision)).await {
            Ok(client) => return Ok(client),
            Err(e) => e,
        };
        if oauth_http.client_rejected() {
            // rmcp reports a refresh answered `invalid_client` as any failed refresh and keeps
            // the client id, so the next login would authorize with a client the server no longer
            // knows. The registration is dead (RFC 6749 §5.2), and with it the login: both go,
            // and the next login registers again (RFC 7591).
            let _ = store.clear().await;
            return Err(ConnectError::ClientUnknown);
        }
        Err(match failure.auth_challenge() {
            Some(challenge) => ConnectError::Rejected(challenge.to_owned()),
            None => ConnectError::Other(failure.to_string()),
        })
    }
}

#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error("not logged in: run login first")]
    NotLoggedIn,
    #[error("the server rejected the stored login: {0}")]
    Rejected(String),
    #[error("the authorization server no longer knows this client (invalid_client): log in again to register anew")]
    ClientUnknown,
    #[error("{0}")]
    Other(String),
}

fn describe(error: AuthError) -> String {
    error.to_string()
}

/// [`Fault::StatusProbesOriginOnly`]: RFC 8414 probes on the MCP origin only, as Codex 0.125.0's
/// status check did.
async fn origin_only_status(url: &str) -> (String, Status) {
    let Ok(parsed) = url::Url::parse(url) else {
        return ("error: bad url".into(), Status::Error);
    };
    let origin = parsed.origin().ascii_serialization();
    let path = parsed.path().trim_end_matches('/');
    for candidate in [
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}{path}/.well-known/oauth-authorization-server"),
        format!("{origin}/.well-known/oauth-authorization-server"),
    ] {
        if http().get(&candidate).send().await.is_ok_and(|r| r.status().is_success()) {
            return ("not logged in".into(), Status::NotLoggedIn);
        }
    }
    ("unsupported".into(), Status::Unsupported)
}

fn http() -> reqwest::Client {
    crate::loopback_http::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a plain HTTP client always builds")
}

fn client_id_kind(entry: &ServerEntry) -> &'static str {
    match (&entry.machine, &entry.enterprise, &entry.workload_jwt, &entry.preregistered) {
        (Some(_), _, _, _) => "machine",
        (None, Some(_), _, _) => "enterprise",
        (None, None, Some(_), _) => "workload",
        (None, None, None, Some(_)) => "preregistered",
        (None, None, None, None) => "dynamic",
    }
}

/// The stored access token, for the faults that misuse it.
fn access_token(home: &Path, url: &str) -> Option<String> {
    let file = CredentialFile::read(&credentials_path(home, url))?;
    let token = serde_json::to_value(&file.stored.token_response).ok()?;
    token.get("access_token")?.as_str().map(str::to_owned)
}

/// The scopes a step-up asks for: the challenged ones, after those of the last login when
/// `union` (a challenge may name only what the token lacks).
fn step_up_scopes(union: bool, home: &Path, url: &str, challenged: &str) -> Vec<String> {
    let mut scopes = if union { previous_scopes(home, url) } else { Vec::new() };
    scopes.extend(challenged.split_whitespace().map(str::to_owned));
    scopes.sort();
    scopes.dedup();
    scopes
}

/// The scopes of the last login: those asked for and those granted.
fn previous_scopes(home: &Path, url: &str) -> Vec<String> {
    CredentialFile::read(&credentials_path(home, url))
        .map(|f| f.requested_scopes.into_iter().chain(f.stored.granted_scopes).collect())
        .unwrap_or_default()
}

/// Keeps beside the tokens rmcp stored what it does not keep of a login, in one write:
/// - the scopes the authorization request asked for (rmcp keeps only the granted ones), for a
///   later step-up to ask for them again; `offline_access` is left to rmcp, which adds it only
///   when the authorization server lists it;
/// - the DPoP key the tokens are bound to (none: the login did not use DPoP);
/// - the secret a dynamic registration issued with the client id, for refreshes.
fn record_login(
    home: &Path,
    url: &str,
    authorization_url: &str,
    dpop_key: Option<&dpop::DpopKey>,
    client_secret: Option<String>,
) -> Result<(), String> {
    let path = credentials_path(home, url);
    let Some(mut file) = CredentialFile::read(&path) else { return Ok(()) };
    let scope = url::Url::parse(authorization_url)
        .ok()
        .and_then(|u| u.query_pairs().find(|(k, _)| k == "scope").map(|(_, v)| v.into_owned()))
        .unwrap_or_default();
    file.requested_scopes = scope.split_whitespace().filter(|s| *s != "offline_access").map(str::to_owned).collect();
    file.dpop_key = dpop_key.map(dpop::DpopKey::private_jwk);
    if client_secret.is_some() {
        file.client_secret = client_secret;
    }
    write_json(&path, &file)
}

/// RFC 9207 §2.4 as MCP 2026-07-28 §Authorization Response Validation words it: a present `iss`
/// is compared whether or not the metadata advertises it, byte for byte (no case folding, no
/// trailing-slash or other normalization); an absent one is refused when it is advertised.
fn validate_response_issuer(expected: Option<&str>, advertised: bool, received: Option<&str>) -> Result<(), String> {
    match (expected, received) {
        (Some(expected), Some(received)) if received != expected => Err(format!(
            "authorization response discarded: its iss `{received}` is not the issuer `{expected}` (RFC 9207 §2.4)"
        )),
        (None, Some(_)) => Err("authorization response discarded: it carries an iss, and no issuer was recorded \
             to compare it with (RFC 9207 §2.4)"
            .into()),
        (_, None) if advertised => Err("authorization response discarded: it carries no iss, although the \
             authorization server advertises issuer identification (RFC 9207 §2.4)"
            .into()),
        _ => Ok(()),
    }
}

// --- files ---------------------------------------------------------------------------------

fn client_dir(home: &Path) -> PathBuf {
    home.join(".mcp-reference")
}

fn credentials_dir(home: &Path) -> PathBuf {
    client_dir(home).join("credentials")
}

/// Credentials belong to the server (its URL), not to the name it is registered under, so
/// re-adding a server under another name keeps its login.
fn credentials_path(home: &Path, url: &str) -> PathBuf {
    let digest = Sha256::digest(url.as_bytes());
    let key: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    credentials_dir(home).join(format!("{key}.json"))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Registry {
    servers: BTreeMap<String, StoredEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredEntry {
    url: String,
    #[serde(default)]
    tools: Vec<ToolInfo>,
}

impl Registry {
    fn path(home: &Path) -> PathBuf {
        client_dir(home).join("servers.json")
    }

    fn load(home: &Path) -> Result<Self, AdapterError> {
        match std::fs::read(Self::path(home)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| AdapterError::Failed(format!("servers.json: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(AdapterError::Failed(format!("servers.json: {e}"))),
        }
    }

    fn save(&self, home: &Path) -> Result<(), AdapterError> {
        write_json(&Self::path(home), self).map_err(AdapterError::Failed)
    }
}

/// The credentials file: rmcp's stored credentials plus how the client id was obtained.
#[derive(Serialize, Deserialize)]
struct CredentialFile {
    server_url: String,
    client_id_kind: String,
    /// The scopes the last authorization request asked for.
    #[serde(default)]
    requested_scopes: Vec<String>,
    /// The private key (a JWK) the tokens are DPoP-bound to (RFC 9449), if they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop_key: Option<String>,
    /// The secret a dynamic registration issued with the client id (a confidential client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    stored: StoredCredentials,
}

impl CredentialFile {
    fn read(path: &Path) -> Option<Self> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    fn summary(&self) -> CredentialSummary {
        // Read through JSON so the summary does not depend on the oauth2 crate's accessors.
        let token = serde_json::to_value(&self.stored.token_response).unwrap_or(Value::Null);
        let expires_in = token.get("expires_in").and_then(Value::as_u64);
        let received = self.stored.token_received_at;
        let expiry = match (expires_in, received) {
            (Some(ttl), Some(at)) => {
                let left = (at + ttl).saturating_sub(now_secs());
                if left == 0 {
                    "expired"
                } else if left > 3600 {
                    ">1h"
                } else {
                    "<1h"
                }
                .to_owned()
            }
            _ => "unknown".to_owned(),
        };
        CredentialSummary {
            key: self.server_url.clone(),
            access_token: token.get("access_token").is_some(),
            refresh_token: token.get("refresh_token").is_some(),
            scopes: self.stored.granted_scopes.clone(),
            expiry,
            // A URL client id is a metadata document's, whatever the entry would have used.
            client_id_kind: match self.stored.client_id.starts_with("http") {
                true => "metadata-document".to_owned(),
                false => self.client_id_kind.clone(),
            },
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), String> {
    let describe = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| describe(&e))?;
    }
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| describe(&e))?;
    // Write then rename, so a reader never sees half a file.
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, bytes).map_err(|e| describe(&e))?;
    std::fs::rename(&partial, path).map_err(|e| describe(&e))
}

/// rmcp's credential store, backed by one file per server.
#[derive(Clone)]
struct FileCredentialStore {
    path: PathBuf,
    server_url: String,
    kind: &'static str,
    lock: Arc<Mutex<()>>,
    /// Hand rmcp the credentials without their refresh token (the `never-refresh` fault).
    hide_refresh_token: bool,
    /// On saving refreshed credentials, keep the refresh token stored before (a fault).
    keep_refresh_token: bool,
    /// Hand rmcp the credentials without the issuer they are bound to, so it cannot tell that
    /// the authorization server changed (the `reuse-client-across-servers` fault).
    hide_issuer: bool,
    /// The credentials as the verb read them when it started, used instead of the file and
    /// refreshed with no lock (the `uncoordinated-refresh` fault).
    in_memory: Option<Arc<std::sync::Mutex<Option<StoredCredentials>>>>,
}

impl FileCredentialStore {
    fn new(home: &Path, entry: &ServerEntry) -> Self {
        Self {
            path: credentials_path(home, &entry.url),
            server_url: entry.url.clone(),
            kind: client_id_kind(entry),
            lock: Arc::default(),
            hide_refresh_token: false,
            keep_refresh_token: false,
            hide_issuer: false,
            in_memory: None,
        }
    }

    async fn read(&self) -> Option<StoredCredentials> {
        let _guard = self.lock.lock().await;
        CredentialFile::read(&self.path).map(|f| f.stored)
    }
}

#[async_trait]
impl CredentialStore for FileCredentialStore {
    async fn load(&self) -> Result<Option<StoredCredentials>, AuthError> {
        let mut stored = match &self.in_memory {
            Some(memory) => memory.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone(),
            None => self.read().await,
        };
        if self.hide_refresh_token
            && let Some(tokens) = stored.as_mut().and_then(|s| s.token_response.as_mut())
        {
            tokens.set_refresh_token(None);
        }
        if self.hide_issuer
            && let Some(stored) = stored.as_mut()
        {
            stored.issuer = None;
        }
        Ok(stored)
    }

    async fn save(&self, mut stored: StoredCredentials) -> Result<(), AuthError> {
        let _guard = self.lock.lock().await;
        if let Some(memory) = &self.in_memory {
            *memory.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(stored.clone());
        }
        if self.keep_refresh_token
            && let Some(old) = std::fs::read(&self.path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                .map(|file| file["stored"]["token_response"]["refresh_token"].clone())
                .filter(Value::is_string)
        {
            // Through JSON, as the credential summary reads it: no dependence on oauth2's types.
            let mut value = serde_json::to_value(&stored).map_err(|e| AuthError::InternalError(e.to_string()))?;
            value["token_response"]["refresh_token"] = old;
            stored = serde_json::from_value(value).map_err(|e| AuthError::InternalError(e.to_string()))?;
        }
        // A refresh keeps the kind, the requested scopes, the DPoP key and (for the same client)
        // the client secret recorded at login.
        let (client_id_kind, requested_scopes, dpop_key, client_secret) =
            CredentialFile::read(&self.path).map_or((self.kind.to_owned(), Vec::new(), None, None), |f| {
                let secret = f.client_secret.filter(|_| f.stored.client_id == stored.client_id);
                (f.client_id_kind, f.requested_scopes, f.dpop_key, secret)
            });
        let file = CredentialFile {
            server_url: self.server_url.clone(),
            client_id_kind,
            requested_scopes,
            dpop_key,
            client_secret,
            stored,
        };
        write_json(&self.path, &file).map_err(AuthError::InternalError)
    }

    /// Verbs running at the same time (a real client's separate processes) share the file: one
    /// refreshes at a time, each with the refresh token stored when its turn comes, so none
    /// presents a token another has rotated out (OAuth 2.1 §4.3.1). An exclusive `flock` on a
    /// file beside the credentials coordinates processes as well as tasks, and the kernel
    /// releases it however the holder ends.
    async fn acquire_refresh_guard(&self) -> Result<Option<CredentialRefreshGuard>, AuthError> {
        if self.in_memory.is_some() {
            return Ok(None);
        }
        let path = self.path.with_extension("lock");
        let locked = tokio::task::spawn_blocking(move || {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
            rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
            Ok::<_, std::io::Error>(file)
        })
        .await
        .map_err(|e| AuthError::CredentialStoreError(e.to_string()))?
        .map_err(|e| AuthError::CredentialStoreError(format!("cannot lock the credentials: {e}")))?;
        Ok(Some(CredentialRefreshGuard::new(locked)))
    }

    async fn clear(&self) -> Result<(), AuthError> {
        let _guard = self.lock.lock().await;
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(AuthError::InternalError(e.to_string())),
            _ => Ok(()),
        }
    }
}

// --- loopback callback ---------------------------------------------------------------------

/// The loopback redirect listener (RFC 8252 §7.3): one answer, then it closes.
struct Callback {
    port: u16,
    answer: tokio::sync::oneshot::Receiver<BTreeMap<String, String>>,
    server: tokio::task::JoinHandle<()>,
}

impl Callback {
    async fn bind() -> Result<Self, String> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("cannot listen for the OAuth callback: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let (tx, answer) = tokio::sync::oneshot::channel();
        let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
        let router = axum::Router::new().route(
            "/callback",
            axum::routing::get(move |axum::extract::Query(query): axum::extract::Query<BTreeMap<String, String>>| {
                let tx = tx.clone();
                async move {
                    if let Some(tx) = tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
                        let _ = tx.send(query);
                    }
                    "Authorization received. You may close this window."
                }
            }),
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { port, answer, server })
    }

    fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    async fn answer(mut self, timeout: Duration) -> Result<BTreeMap<String, String>, String> {
        match tokio::time::timeout(timeout, &mut self.answer).await {
            Ok(Ok(query)) => Ok(query),
            Ok(Err(_)) => Err("the callback listener stopped".into()),
            Err(_) => Err(format!("login timed out: no answer from the browser within {}s", timeout.as_secs_f32())),
        }
    }
}

impl Drop for Callback {
    /// The listener closes whatever happens to the login, so no port outlives it.
    fn drop(&mut self) {
        self.server.abort();
    }
}
