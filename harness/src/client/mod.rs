//! Clients under test: the adapter trait every client implements, and the built-in ones.

mod codex;
mod manifest;
pub(crate) mod npm;
mod port;
mod process;
mod pty;
mod python;
mod reference;
pub(crate) mod registry;
mod sandbox;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::browser::{Browser, Visit};
use crate::extension::Extension;
use crate::revision::Revision;
use crate::scenario::{BrowserAction, Status, Verb};

pub use codex::CodexClient;
pub use manifest::contract::{SCENARIO_NAMES as CONTRACT_SCENARIO_NAMES, official_name};
pub use manifest::{Manifest, ManifestClient, ManifestError, PLACEHOLDERS};
pub use npm::NpmError;
pub use reference::{Fault, ReferenceClient};
pub use sandbox::Sandbox;

/// A server entry as a step hands it to the client.
#[derive(Debug, Clone)]
pub struct ServerEntry {
    /// The client-side name.
    pub name: String,
    /// The MCP endpoint.
    pub url: String,
    /// Client credentials registered out of band, when the server has no DCR.
    pub preregistered: Option<(String, Option<String>)>,
    /// The machine client's credentials, for the client credentials extension (SEP-1046).
    pub machine: Option<MachineCredentials>,
    /// The enterprise identity provider and the signed-in user's ID token, for
    /// enterprise-managed authorization (SEP-990).
    pub enterprise: Option<mock_server::EnterpriseSignOn>,
    /// The workload JWT the platform issued the client, for workload identity federation
    /// (SEP-1933).
    pub workload_jwt: Option<String>,
}

/// What an administrator hands a machine client (SEP-1046): its id and either a secret or the
/// private key its JWT assertions are signed with, and how the authorization server expects it
/// to authenticate.
#[derive(Debug, Clone)]
pub struct MachineCredentials {
    pub client_id: String,
    /// `client_secret_basic`, `client_secret_post` or `private_key_jwt`.
    pub auth_method: mock_server::profile::ClientAuthMethod,
    pub secret: Option<String>,
    /// An ES256 private key as a JWK.
    pub private_key: Option<String>,
}

/// What a step may use while the client runs: its home, the browser, a time limit.
pub struct StepContext {
    pub home: PathBuf,
    /// The scenario's name (a client built for the official suite is told it).
    pub scenario: String,
    pub action: BrowserAction,
    /// The step's client-specific settings.
    pub options: std::collections::BTreeMap<String, String>,
    /// How long the harness waits for a real client after the browser visit ended without
    /// reaching it (a real client's own login timeout, shortened).
    pub user_timeout: Duration,
    /// The login timeout to give a client that can be told one: the scenario's, else
    /// `user_timeout`.
    pub login_timeout: Duration,
    /// The revision the run is judged by. A client that speaks several lets it choose what it
    /// speaks (the reference client's protocol version); a real client speaks what it speaks.
    pub revision: Revision,
    browser: Browser,
    visits: Arc<Mutex<Vec<Visit>>>,
    /// Time spent with a client process alive (for the harness-overhead benchmark).
    process_time: Mutex<Duration>,
}

impl StepContext {
    pub fn new(home: PathBuf, action: BrowserAction, user_timeout: Duration) -> Self {
        Self {
            home,
            scenario: String::new(),
            action,
            user_timeout,
            login_timeout: user_timeout,
            revision: Revision::LATEST,
            options: Default::default(),
            browser: Browser::new(),
            visits: Arc::default(),
            process_time: Mutex::default(),
        }
    }

    /// For the named scenario.
    pub fn for_scenario(mut self, name: &str) -> Self {
        self.scenario = name.to_owned();
        self
    }

    /// With the scenario's login timeout, for clients that can be told one.
    pub fn with_login_timeout(mut self, timeout: Duration) -> Self {
        self.login_timeout = timeout;
        self
    }

    /// Judged by `revision`.
    pub fn under(mut self, revision: Revision) -> Self {
        self.revision = revision;
        self
    }

    /// With client-specific settings.
    pub fn with_options(mut self, options: std::collections::BTreeMap<String, String>) -> Self {
        self.options = options;
        self
    }

    /// Refuses settings outside `known`, so a step meant for another client is "not applicable"
    /// rather than silently run without them.
    pub fn only_options(&self, client: &str, known: &[&'static str]) -> Result<(), AdapterError> {
        match self.options.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(AdapterError::NotApplicable(format!("{client} has no setting `{unknown}`"))),
            None => Ok(()),
        }
    }

    /// Hands an authorization URL to the browser, as a client's "open this URL" does; the
    /// visit is recorded for the step's observation.
    pub async fn open_browser(&self, url: &str) -> Visit {
        let visit = self.browser.visit(url, self.action).await;
        self.visits.lock().unwrap_or_else(PoisonError::into_inner).push(visit.clone());
        visit
    }

    /// Adds the lifetime of a client process.
    pub fn add_process_time(&self, spent: Duration) {
        *self.process_time.lock().unwrap_or_else(PoisonError::into_inner) += spent;
    }

    /// Time spent with client processes alive during the step.
    pub fn process_time(&self) -> Duration {
        *self.process_time.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The browser visits made during the step so far.
    pub fn visits(&self) -> Vec<Visit> {
        self.visits.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// What the client said about one step.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reply {
    /// `None` for success, or the error the client reported.
    pub error: Option<String>,
    /// What the client printed on stdout (its log lines for the built-in client).
    pub output: String,
    /// What a client process printed on stderr (known harmless noise filtered).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
    /// A client process's exit code (`None` in-process, or when the harness killed it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// For `list`: each entry's status, raw and normalized.
    pub statuses: Vec<EntryStatus>,
    /// For `import`: the tools the client fetched.
    pub tools: Option<Vec<ToolInfo>>,
    /// For `call`: the text the tool returned.
    pub content: Option<String>,
    /// For `import`: the client prints no tools, so they are what the server listed to it
    /// during the step (the runner fills `tools` from the transcript).
    #[serde(skip)]
    pub tools_seen_at_server: bool,
}

impl Reply {
    pub fn success(output: impl Into<String>) -> Self {
        Self { output: output.into(), ..Self::default() }
    }

    pub fn failure(error: impl Into<String>) -> Self {
        Self { error: Some(error.into()), ..Self::default() }
    }

    /// Replaces each of `secrets` in what the client printed with `[secret]`.
    pub fn redact(&mut self, secrets: &[&str]) {
        let texts =
            [&mut self.output, &mut self.stderr].into_iter().chain(self.error.as_mut()).chain(self.content.as_mut());
        for text in texts {
            for secret in secrets {
                if text.contains(secret) {
                    *text = text.replace(secret, "[secret]");
                }
            }
        }
    }
}

/// An entry's auth status as the client reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryStatus {
    pub name: String,
    /// The client's own word for it.
    pub raw: String,
    pub normalized: Status,
}

/// A tool as a client holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    /// `null` when the client does not report schemas (a manifest that reads names only).
    pub input_schema: serde_json::Value,
}

/// What the client keeps on disk, read back after each step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientState {
    pub registry: Vec<RegistryEntry>,
    pub credentials: Vec<CredentialSummary>,
}

/// One server in the client's registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryEntry {
    pub name: String,
    pub transport: String,
    pub url: String,
    /// Tools the client keeps for the entry; `None` when it keeps no tool registry of its own.
    pub tools: Option<Vec<String>>,
}

/// Stored credentials, without their secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialSummary {
    /// The server the credentials are for, as the client keys them.
    pub key: String,
    pub access_token: bool,
    pub refresh_token: bool,
    pub scopes: Vec<String>,
    /// Seconds until expiry, rounded down to a bucket (`>1h`, `<1h`, `expired`) for stable
    /// snapshots.
    pub expiry: String,
    /// `dynamic`, `preregistered`, `metadata-document`, `machine` (client credentials),
    /// `enterprise` (an ID-JAG from the enterprise identity provider) or `workload` (a workload
    /// JWT, workload identity federation).
    pub client_id_kind: String,
}

/// Whether an adapter can perform a verb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    Yes,
    /// The step is reported "not applicable" with this reason, never "passed".
    No(String),
}

/// A failure of the adapter itself (not of the client under test).
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("not applicable: {0}")]
    NotApplicable(String),
    #[error("adapter failed: {0}")]
    Failed(String),
}

/// One client under test. Each method performs one verb and returns what the client said; an
/// adapter that cannot perform a verb says so through [`support`](Self::support).
#[async_trait]
pub trait ClientAdapter: Send + Sync {
    /// The name reports and snapshots use (`reference`, `codex@0.169.0`, …).
    fn name(&self) -> String;

    /// Whether the adapter can perform `verb`.
    fn support(&self, verb: Verb) -> Support;

    /// The step `client_options` the adapter understands; a step with any other is reported
    /// not applicable.
    fn known_options(&self) -> &'static [&'static str] {
        &[]
    }

    /// The authorization extensions the client implements; a scenario about another one is not
    /// applicable to it. None by default: real clients mostly implement none yet.
    fn extensions(&self) -> &[Extension] {
        &[]
    }

    async fn add(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError>;
    async fn login(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError>;
    async fn list(&self, ctx: &StepContext) -> Result<Reply, AdapterError>;
    async fn import(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError>;
    async fn call(
        &self,
        ctx: &StepContext,
        entry: &ServerEntry,
        tool: &str,
        arguments: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Reply, AdapterError>;
    /// Stops the client and starts a new process over the same home.
    async fn restart(&self, ctx: &StepContext) -> Result<Reply, AdapterError>;
    async fn logout(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError>;
    async fn remove(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError>;

    /// The client's registry and stored credentials, read from its home.
    async fn state(&self, home: &std::path::Path) -> ClientState;
}

/// A client by the name the CLI takes: `reference`, `reference+FAULT` (a mutant), `codex@VERSION`
/// (any published version: one not pinned is installed on first use) or `codex` (every pinned
/// version), a built-in manifest client by name (`mcp-remote`, `gemini-cli`, `typescript-sdk`,
/// `claude-code`, `opencode`, `mcp-inspector`, optionally `@VERSION`, likewise; `fastmcp`), a
/// manifest file (`*.toml`), `conformance:COMMAND` (a client following the official suite's
/// contract; `conformance+dpop+oauth-client-credentials:COMMAND` one that also implements those
/// authorization extensions), or `all`.
pub fn by_name(name: &str) -> Result<Vec<Arc<dyn ClientAdapter>>, String> {
    let manifests = || ManifestClient::built_in().into_iter().map(|c| Arc::new(c) as Arc<dyn ClientAdapter>);
    let codex = || CodexClient::pinned().into_iter().map(|c| Arc::new(c) as Arc<dyn ClientAdapter>);
    if name == "all" {
        return Ok(std::iter::once(Arc::new(ReferenceClient::new()) as Arc<dyn ClientAdapter>)
            .chain(codex())
            .chain(manifests())
            .collect());
    }
    if name == "codex" {
        return Ok(codex().collect());
    }
    if let Some(version) = name.strip_prefix("codex@") {
        return Ok(vec![Arc::new(CodexClient::new(version)?)]);
    }
    if let Some((declared, command)) = name.strip_prefix("conformance").and_then(|rest| rest.split_once(':'))
        && (declared.is_empty() || declared.starts_with('+'))
    {
        let extensions = declared.split('+').skip(1).map(str::parse).collect::<Result<Vec<Extension>, _>>()?;
        return Ok(vec![Arc::new(ManifestClient::new(
            manifest::contract::manifest(command, &extensions).map_err(|e| e.to_string())?,
        ))]);
    }
    if name.ends_with(".toml") {
        return Ok(vec![Arc::new(ManifestClient::load(std::path::Path::new(name)).map_err(|e| e.to_string())?)]);
    }
    let (client, version) = name.split_once('@').map_or((name, None), |(client, version)| (client, Some(version)));
    if let Some(manifest) = ManifestClient::built_in().into_iter().find(|c| c.manifest().client == client) {
        return Ok(vec![Arc::new(match version {
            Some(version) => manifest.at_version(version)?,
            None => manifest,
        })]);
    }
    let mut parts = name.split('+');
    match parts.next() {
        Some("reference") => {
            let faults = parts.map(str::parse).collect::<Result<Vec<Fault>, _>>()?;
            Ok(vec![Arc::new(ReferenceClient::with_faults(faults))])
        }
        _ => {
            let built_in: Vec<String> = manifests().map(|c| c.name()).collect();
            Err(format!(
                "unknown client `{name}` (known: reference, reference+FAULT, codex, codex@VERSION, {} (each also @VERSION), a manifest file *.toml, conformance[+EXTENSION…]:COMMAND, all; faults: {})",
                built_in.join(", "),
                Fault::names()
            ))
        }
    }
}

/// A client the harness can run at any version published on the npm registry: Codex, or a
/// built-in manifest client that names its `package`.
#[derive(Debug, Clone)]
pub struct Published {
    /// The client's name as `--client` takes it, without a version.
    pub client: String,
    /// Its package on the npm registry.
    pub package: String,
}

impl Published {
    /// The client named `client` (`codex`, `mcp-remote`, …).
    pub fn named(client: &str) -> Result<Self, String> {
        let all = Self::all();
        all.iter().find(|p| p.client == client).cloned().ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|p| p.client.as_str()).collect();
            format!("`{client}` is not a client published on the npm registry (those are: {})", names.join(", "))
        })
    }

    fn all() -> Vec<Self> {
        let codex = Self { client: "codex".into(), package: codex::PACKAGE.into() };
        let manifests = ManifestClient::built_in().into_iter().filter_map(|c| {
            let manifest = c.manifest();
            manifest.package.clone().map(|package| Self { client: manifest.client.clone(), package })
        });
        std::iter::once(codex).chain(manifests).collect()
    }

    /// Every version the registry lists, as npm prints them.
    pub fn versions(&self) -> Result<Vec<String>, NpmError> {
        registry::published(&self.package)
    }

    /// The client at `version`, installed if it is not pinned.
    pub fn at(&self, version: &str) -> Result<Arc<dyn ClientAdapter>, String> {
        let mut clients = by_name(&format!("{}@{version}", self.client))?;
        Ok(clients.remove(0))
    }
}

/// Whether two tool lists hold the same tools, in any order (clients keep them in maps). A
/// schema a client did not report (`null`: a manifest that reads names only) is not compared.
pub fn same_tools(a: &[ToolInfo], b: &[ToolInfo]) -> bool {
    let sorted = |tools: &[ToolInfo]| {
        let mut tools = tools.to_vec();
        tools.sort_by(|x, y| x.name.cmp(&y.name));
        tools
    };
    let (a, b) = (sorted(a), sorted(b));
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x.name == y.name
                && (x.input_schema.is_null() || y.input_schema.is_null() || x.input_schema == y.input_schema)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_version_by_name_is_the_pinned_client_and_installs_nothing() {
        let clients = by_name("mcp-remote@0.15.1").unwrap();
        assert_eq!(clients.iter().map(|c| c.name()).collect::<Vec<_>>(), ["mcp-remote@0.15.1"]);
    }

    #[test]
    fn published_clients_are_codex_and_the_manifests_naming_a_package() {
        assert_eq!(Published::named("codex").unwrap().package, "@openai/codex");
        assert_eq!(Published::named("gemini-cli").unwrap().package, "@google/gemini-cli");
        let error = Published::named("reference").unwrap_err();
        assert!(error.contains("codex, mcp-remote, gemini-cli, typescript-sdk"), "{error}");
    }
}
