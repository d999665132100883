//! Clients described by a manifest: a TOML file saying, per verb, which command to run, how the
//! client gets its authorization URL to the browser, which prompts to answer, when it is done,
//! and where to read statuses, tools and stored state. Any process client is driven this way,
//! with no Rust; the harness ships manifests for the npm clients it pins (`harness/clients/`).

pub mod contract;
mod read;
mod spec;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::process::{self, Answer, BrowserShim, Input, Invocation};
use super::{
    AdapterError, ClientAdapter, ClientState, Reply, ServerEntry, StepContext, Support, npm, port, python, registry,
};
use crate::extension::Extension;
use crate::scenario::Verb;
pub use spec::{Manifest, ManifestError, PLACEHOLDERS};

/// The manifests that come with the harness, for the npm clients it pins; compiled in so the
/// binary finds them wherever it runs.
const BUILT_IN: &[(&str, &str)] = &[
    ("harness/clients/mcp-remote.toml", include_str!("../../../clients/mcp-remote.toml")),
    ("harness/clients/gemini-cli.toml", include_str!("../../../clients/gemini-cli.toml")),
    ("harness/clients/typescript-sdk.toml", include_str!("../../../clients/typescript-sdk.toml")),
    ("harness/clients/claude-code.toml", include_str!("../../../clients/claude-code.toml")),
    ("harness/clients/opencode.toml", include_str!("../../../clients/opencode.toml")),
    ("harness/clients/mcp-inspector.toml", include_str!("../../../clients/mcp-inspector.toml")),
    ("harness/clients/fastmcp.toml", include_str!("../../../clients/fastmcp.toml")),
];

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The placeholders of what a client is handed out of band, empty when it is handed nothing.
const HANDED_OUT: &[&str] = &[
    "client_id",
    "client_secret",
    "token_endpoint_auth_method",
    "private_key_jwk",
    "private_key_pem",
    "idp_token_endpoint",
    "idp_id_token",
    "idp_client_id",
    "idp_client_secret",
    "valid_jwt",
];

/// What an administrator hands the client for `entry` — a pre-registered or machine client
/// (SEP-1046), an enterprise sign-on (SEP-990), a workload JWT (SEP-1933) — named as the official suite's
/// `MCP_CONFORMANCE_CONTEXT` names them, so one list makes both the placeholders and the context.
fn handed_out(entry: &ServerEntry) -> Vec<(&'static str, String)> {
    let mut handed = Vec::new();
    if let Some(machine) = &entry.machine {
        handed.push(("client_id", machine.client_id.clone()));
        handed.extend(machine.secret.clone().map(|secret| ("client_secret", secret)));
        handed.push(("token_endpoint_auth_method", machine.auth_method.as_str().to_owned()));
        if let Some(jwk) = &machine.private_key {
            handed.push(("private_key_jwk", jwk.clone()));
            // The official suite hands the key as PKCS#8 PEM; a JWK the harness made always reads.
            if let Ok(key) = mock_server::jose::KeyPair::from_private_jwk(jwk) {
                handed.push(("private_key_pem", key.private_pkcs8_pem()));
            }
        }
    } else if let Some((id, secret)) = &entry.preregistered {
        handed.push(("client_id", id.clone()));
        handed.extend(secret.clone().map(|secret| ("client_secret", secret)));
    }
    if let Some(sign_on) = &entry.enterprise {
        handed.push(("idp_token_endpoint", sign_on.token_endpoint.clone()));
        handed.push(("idp_id_token", sign_on.id_token.clone()));
        handed.push(("idp_client_id", sign_on.client_id.clone()));
        handed.extend(sign_on.client_secret.clone().map(|secret| ("idp_client_secret", secret)));
    }
    // The official suite hands a valid workload JWT and two bad ones; the harness hands the one
    // the scenario gives the workload, under the name of the one a client presents.
    handed.extend(entry.workload_jwt.clone().map(|jwt| ("valid_jwt", jwt)));
    handed
}

/// One client driven by its manifest.
#[derive(Clone)]
pub struct ManifestClient {
    manifest: Arc<Manifest>,
    /// The `node_modules` of another version than the pinned one (`{npm}`), once installed.
    version_modules: Option<PathBuf>,
    /// The callback port of each home: a client registers its redirect URI once and keeps it.
    ports: Arc<Mutex<HashMap<PathBuf, u16>>>,
}

impl ManifestClient {
    pub fn new(manifest: Manifest) -> Self {
        Self { manifest: Arc::new(manifest), version_modules: None, ports: Arc::default() }
    }

    /// The client at another published version of its `package`, installed now from the npm
    /// registry into a cache directory of its own; the manifest's own version is the pinned one.
    pub fn at_version(&self, version: &str) -> Result<Self, String> {
        let Some(package) = &self.manifest.package else {
            return Err(format!(
                "{}'s manifest ({}) names no registry `package`, so only its own version can run",
                self.manifest.client,
                self.manifest.source.display()
            ));
        };
        if self.manifest.version.as_deref() == Some(version) {
            return Ok(self.clone());
        }
        let modules = registry::install(package, version).map_err(|e| e.to_string())?;
        Ok(Self { version_modules: Some(modules), ..Self::new(self.manifest.at_version(version)) })
    }

    /// A vendor's manifest file.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        Manifest::load(path).map(Self::new)
    }

    /// The harness's own manifests.
    pub fn built_in() -> Vec<Self> {
        BUILT_IN
            .iter()
            .map(|(file, text)| Self::new(spec::parse(file, text).expect("built-in manifests parse (tested)")))
            .collect()
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Whether the client can run here: a manifest using the pinned npm clients needs them
    /// installed (for any version of the client: they hold the pinned Node.js), one using the
    /// pinned Python clients their environment.
    pub fn availability(&self) -> Result<(), String> {
        if self.manifest.uses_npm() {
            npm::node_modules()?;
        }
        if self.manifest.uses_python() {
            python::environment()?;
        }
        Ok(())
    }

    /// `{npm}`: the version's own install, else the pinned clients.
    fn modules(&self) -> Result<&Path, String> {
        match &self.version_modules {
            Some(modules) => Ok(modules),
            None => npm::node_modules(),
        }
    }

    fn callback_port(&self, home: &Path) -> u16 {
        if let Some(fixed) = self.manifest.callback_port {
            return fixed;
        }
        let mut ports = self.ports.lock().unwrap_or_else(PoisonError::into_inner);
        *ports.entry(home.to_owned()).or_insert_with(port::free_port)
    }

    fn values(
        &self,
        ctx: &StepContext,
        entry: Option<&ServerEntry>,
        call: Option<(&str, &serde_json::Map<String, serde_json::Value>)>,
    ) -> BTreeMap<&'static str, String> {
        let mut values = BTreeMap::from([
            ("home", ctx.home.display().to_string()),
            ("callback_port", self.callback_port(&ctx.home).to_string()),
            ("scenario", ctx.scenario.clone()),
            ("conformance_scenario", contract::official_name(&ctx.scenario).to_owned()),
        ]);
        // Any client but a Python one gets the pinned Node.js on its PATH (a vendor's script may
        // call `node`); a Python client has no use for the npm clients' install.
        if self.manifest.uses_npm() || !self.manifest.uses_python() {
            if let Ok(modules) = self.modules() {
                values.insert("npm", modules.display().to_string());
            }
            if let Ok(node) = npm::node() {
                values.insert("node", node.display().to_string());
            }
        }
        if self.manifest.uses_python()
            && let Ok(env) = python::environment()
        {
            values.insert("python_env", env.display().to_string());
        }
        if let Some(entry) = entry {
            use md5::Digest as _;
            values.insert("name", entry.name.clone());
            values.insert("url", entry.url.clone());
            let digest = md5::Md5::digest(entry.url.as_bytes());
            values.insert("url_md5", digest.iter().map(|b| format!("{b:02x}")).collect());
            let handed = handed_out(entry);
            let mut context = serde_json::json!({ "name": contract::official_name(&ctx.scenario) });
            for (name, value) in handed.iter().filter(|(name, _)| *name != "private_key_jwk") {
                context[*name] = value.clone().into();
            }
            if context.get("private_key_pem").is_some() {
                context["signing_algorithm"] = "ES256".into();
            }
            values.insert("conformance_context", context.to_string());
            values.extend(HANDED_OUT.iter().map(|name| (*name, String::new())));
            values.extend(handed);
        }
        if let Some((tool, arguments)) = call {
            values.insert("tool", tool.to_owned());
            values.insert("arguments", serde_json::Value::Object(arguments.clone()).to_string());
        }
        values
    }

    async fn perform(
        &self,
        verb: Verb,
        ctx: &StepContext,
        entry: Option<&ServerEntry>,
        call: Option<(&str, &serde_json::Map<String, serde_json::Value>)>,
    ) -> Result<Reply, AdapterError> {
        let Some(spec) = self.manifest.verb(verb) else {
            // Every verb of a manifest client is a new process: nothing to restart.
            if verb == Verb::Restart {
                return Ok(Reply::success("every verb runs a new process; nothing stays in memory"));
            }
            return Err(AdapterError::NotApplicable(self.silent_on(verb)));
        };
        if let Some(why) = &spec.unsupported {
            return Err(AdapterError::NotApplicable(why.clone()));
        }
        if let Some(note) = &spec.nothing {
            return Ok(Reply::success(note.clone()));
        }
        let values = self.values(ctx, entry, call);
        let expand = |text: &str| spec::expand(text, &values);
        let Some(run) = &spec.run else {
            let edited = self.edit_files(spec, &values)?;
            return Ok(Reply::success(format!("edited {edited} file(s)")));
        };
        let root = ctx.home.parent().unwrap_or(&ctx.home);
        let shim = BrowserShim::install(root).map_err(|e| AdapterError::Failed(format!("browser shim: {e}")))?;
        let mut env = shim.client_env(&ctx.home);
        if spec.pty {
            // A terminal the client can draw its dialogs on (colours stay off: NO_COLOR).
            env.insert("TERM".to_owned(), "xterm-256color".to_owned());
        }
        // The client's own bins, then the pinned Node.js, come first, so npm clients'
        // `#!/usr/bin/env node` runs it whichever version of the client runs.
        if let Some(modules) = values.get("npm") {
            let path = env.get("PATH").cloned().unwrap_or_default();
            let (shim_dir, rest) = path.split_once(':').unwrap_or((&path, ""));
            let mut bins = format!("{modules}/.bin");
            let node_dir = values.get("node").and_then(|node| Path::new(node).parent());
            if let Some(node_dir) = node_dir.filter(|dir| *dir != Path::new(&bins)) {
                bins = format!("{bins}:{}", node_dir.display());
            }
            env.insert("PATH".into(), format!("{shim_dir}:{bins}:{rest}"));
        }
        env.extend(self.manifest.env.iter().chain(&spec.env).map(|(k, v)| (k.clone(), expand(v))));
        let mut args = run.iter().map(|a| expand(a));
        let program = PathBuf::from(args.next().expect("a run is never empty (checked at load)"));
        let timeout = spec.timeout_secs.map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        let mut invocation = Invocation::new(program, args.collect(), env, timeout);
        invocation.scrape_urls = spec.scrape_urls;
        invocation.pty = spec.pty;
        invocation.current_dir = Some(ctx.home.clone());
        invocation.input = Input {
            answers: spec
                .answers
                .iter()
                .map(|a| Answer {
                    after: a.after.as_deref().map(|p| regex::Regex::new(p).expect("checked at load")),
                    send: expand(&a.send) + &a.keys.iter().map(|k| k.bytes()).collect::<String>(),
                    repeat: a.repeat,
                })
                .collect(),
            hold: spec.hold_stdin,
        };
        invocation.stop_when = spec.stop_when_output.as_deref().map(|p| regex::Regex::new(p).expect("checked at load"));
        let required = spec.require_file.as_ref().map(|file| {
            let path = PathBuf::from(expand(&file.path));
            let before = std::fs::read_to_string(&path).ok();
            (path, expand(&file.contains), before)
        });
        invocation.fail_when =
            spec.failed_when_output.as_deref().map(|p| regex::Regex::new(p).expect("checked at load"));
        let _turn = match self.manifest.callback_port {
            Some(port) => Some(port::Turn::take(port).await),
            None => None,
        };
        let finished = process::run(&invocation, ctx, &shim)
            .await
            .map_err(|e| AdapterError::Failed(format!("cannot run {}: {e}", invocation.program.display())))?;
        let required =
            required.as_ref().map(|(path, contains, before)| (path.as_path(), contains.as_str(), before.clone()));
        // Statuses given by URL are named through the registry.
        let registry = match spec.statuses.as_ref().and_then(|s| s.urls.as_ref()) {
            Some(_) => read::state(&self.manifest.state, &ctx.home).registry,
            None => Vec::new(),
        };
        let reply = read::reply(spec, &finished, required, &values, &registry);
        if reply.error.is_none() {
            self.edit_files(spec, &values)?;
        }
        Ok(reply)
    }

    fn silent_on(&self, verb: Verb) -> String {
        format!("{}'s manifest says nothing of `{}`", self.manifest.name, verb.name())
    }

    /// The verb's file edits and deletions, after its command (a client's own `add` may rewrite
    /// the file an edit completes).
    fn edit_files(
        &self,
        spec: &spec::VerbSpec,
        values: &BTreeMap<&'static str, String>,
    ) -> Result<usize, AdapterError> {
        let expand = |text: &str| spec::expand(text, values);
        for edit in &spec.edit {
            read::edit_json(&expand(&edit.file), &expand(&edit.pointer), edit.value.as_ref(), values)
                .map_err(|e| AdapterError::Failed(format!("{}: editing {}: {e}", self.manifest.name, edit.file)))?;
        }
        for pattern in &spec.delete {
            read::delete_matching(&expand(pattern))
                .map_err(|e| AdapterError::Failed(format!("{}: deleting {pattern}: {e}", self.manifest.name)))?;
        }
        Ok(spec.edit.len() + spec.delete.len())
    }
}

#[async_trait]
impl ClientAdapter for ManifestClient {
    fn name(&self) -> String {
        self.manifest.name.clone()
    }

    fn extensions(&self) -> &[Extension] {
        &self.manifest.extensions
    }

    fn support(&self, verb: Verb) -> Support {
        if let Err(why) = self.availability() {
            return Support::No(why);
        }
        match self.manifest.verb(verb) {
            Some(spec) => match &spec.unsupported {
                Some(why) => Support::No(why.clone()),
                None => Support::Yes,
            },
            // The harness expires tokens and changes servers itself; every verb is a new process.
            None if verb.performed_by_harness() || verb == Verb::Restart => Support::Yes,
            None => Support::No(self.silent_on(verb)),
        }
    }

    async fn add(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        self.perform(Verb::Add, ctx, Some(entry), None).await
    }

    async fn login(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        self.perform(Verb::Login, ctx, Some(entry), None).await
    }

    async fn list(&self, ctx: &StepContext) -> Result<Reply, AdapterError> {
        self.perform(Verb::List, ctx, None, None).await
    }

    async fn import(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        self.perform(Verb::Import, ctx, Some(entry), None).await
    }

    async fn call(
        &self,
        ctx: &StepContext,
        entry: &ServerEntry,
        tool: &str,
        arguments: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Reply, AdapterError> {
        self.perform(Verb::Call, ctx, Some(entry), Some((tool, arguments))).await
    }

    async fn restart(&self, ctx: &StepContext) -> Result<Reply, AdapterError> {
        self.perform(Verb::Restart, ctx, None, None).await
    }

    async fn logout(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        self.perform(Verb::Logout, ctx, Some(entry), None).await
    }

    async fn remove(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        self.perform(Verb::Remove, ctx, Some(entry), None).await
    }

    async fn state(&self, home: &Path) -> ClientState {
        read::state(&self.manifest.state, home)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_is_the_install_of_the_version_asked_for() {
        let pinned = ManifestClient::built_in().remove(0);
        let modules = PathBuf::from("/cache/npm-versions/mcp-remote@0.14.0/node_modules");
        let other = ManifestClient {
            version_modules: Some(modules.clone()),
            ..ManifestClient::new(pinned.manifest().at_version("0.14.0"))
        };
        let ctx = StepContext::new("/home".into(), crate::scenario::BrowserAction::default(), DEFAULT_TIMEOUT);
        assert_eq!(other.values(&ctx, None, None)["npm"], modules.display().to_string());
        assert_eq!(other.name(), "mcp-remote@0.14.0");
    }

    #[test]
    fn only_a_manifest_naming_its_package_runs_other_versions() {
        let conformance = ManifestClient::new(contract::manifest("my-client", &[]).unwrap());
        let Err(error) = conformance.at_version("1.0.0") else { panic!("a version of a manifest without a package") };
        assert!(error.contains("names no registry `package`"), "{error}");
    }

    #[test]
    fn the_built_in_manifests_parse() {
        for (file, text) in BUILT_IN {
            spec::parse(file, text).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
