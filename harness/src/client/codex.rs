//! Codex CLI (`@openai/codex` from npm: the pinned versions, or any published one) as a client
//! under test.
//!
//! `add` writes the config entry directly (Codex's own `mcp add` logs in inline when it detects
//! OAuth, which would merge two steps); `login`, `list`, `logout` and `remove` are the `codex mcp`
//! commands; `import` asks `codex app-server` over stdio JSON-RPC for `mcpServerStatus/list`, the
//! same call its UI uses to mount tools. Credentials are forced into the file store
//! (`$CODEX_HOME/.credentials.json`) so every surface reads what login wrote.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::process::{self, BrowserShim, Invocation, LineSession};
use super::{
    AdapterError, ClientAdapter, ClientState, CredentialSummary, EntryStatus, RegistryEntry, Reply, ServerEntry,
    StepContext, Support, ToolInfo, npm, registry,
};
use crate::scenario::{Status, Verb};

/// How long one Codex command may run (a login waits for the browser within this).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Harmless warnings Codex prints when its home is under a temporary directory.
const NOISE: &[&str] = &["could not create PATH aliases", "could not update PATH"];

/// Codex's package on the npm registry.
pub const PACKAGE: &str = "@openai/codex";

/// One Codex version.
#[derive(Debug, Clone)]
pub struct CodexClient {
    version: String,
    /// Where the native binary is, looked up once: every step asks.
    binary: Arc<OnceLock<Result<PathBuf, String>>>,
}

impl CodexClient {
    /// A client for `version`. A version the harness pins (`harness/npm/package.json`) is
    /// installed with the pinned clients on first use; any other published version is installed
    /// now, from the npm registry into a cache directory of its own.
    pub fn new(version: &str) -> Result<Self, String> {
        let client = Self::at(version.to_owned());
        if npm::pinned_versions("codex").iter().any(|v| v == version) {
            return Ok(client);
        }
        let modules = registry::install(PACKAGE, version).map_err(|e| e.to_string())?;
        let binary = native_binary(&modules, version)?;
        client.binary.get_or_init(|| Ok(binary));
        Ok(client)
    }

    /// Every pinned version.
    pub fn pinned() -> Vec<Self> {
        npm::pinned_versions("codex").into_iter().map(Self::at).collect()
    }

    fn at(version: String) -> Self {
        Self { version, binary: Arc::default() }
    }

    /// The native binary, installing the pinned clients first if needed.
    pub fn binary(&self) -> Result<PathBuf, String> {
        self.binary.get_or_init(|| native_binary(npm::node_modules()?, &self.version)).clone()
    }

    fn codex_home(home: &Path) -> PathBuf {
        home.join(".codex")
    }

    fn invocation(&self, ctx: &StepContext, args: &[&str]) -> Result<(Invocation, BrowserShim), AdapterError> {
        let binary = self.binary().map_err(AdapterError::NotApplicable)?;
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        // A per-step store lets a scenario have one surface read another store than login wrote.
        if let Some(store) = ctx.options.get("credentials_store") {
            args.extend(["-c".to_owned(), format!("mcp_oauth_credentials_store=\"{store}\"")]);
        }
        let root = ctx.home.parent().unwrap_or(&ctx.home);
        let shim = BrowserShim::install(root).map_err(|e| AdapterError::Failed(format!("browser shim: {e}")))?;
        let mut env = shim.client_env(&ctx.home);
        env.insert("CODEX_HOME".to_owned(), Self::codex_home(&ctx.home).display().to_string());
        // Codex hands the URL to $BROWSER (and prints it too): the shim is enough.
        let invocation = Invocation::new(binary, args, env, COMMAND_TIMEOUT);
        Ok((invocation, shim))
    }

    async fn command(&self, ctx: &StepContext, args: &[&str]) -> Result<process::Finished, AdapterError> {
        let (invocation, shim) = self.invocation(ctx, args)?;
        process::run(&invocation, ctx, &shim).await.map_err(|e| AdapterError::Failed(format!("cannot run codex: {e}")))
    }

    fn config_path(home: &Path) -> PathBuf {
        Self::codex_home(home).join("config.toml")
    }

    fn read_config(home: &Path) -> toml::Table {
        std::fs::read_to_string(Self::config_path(home)).ok().and_then(|t| t.parse().ok()).unwrap_or_default()
    }
}

/// The native binary of `version` under `modules`: npm installs it as the optional dependency
/// `@openai/codex-linux-x64` (an alias of `@openai/codex@<version>-linux-x64`); releases before
/// 0.99.0 carry every platform's binary in the package itself, under `vendor/<target triple>/`.
fn native_binary(modules: &Path, version: &str) -> Result<PathBuf, String> {
    find_native_binary(modules, &format!("{version}-linux-x64"))
        .or_else(|| bundled_binary(&modules.join(PACKAGE), version))
        .ok_or_else(|| format!("no native codex {version} binary for this platform under {}", modules.display()))
}

fn bundled_binary(package: &Path, version: &str) -> Option<PathBuf> {
    let manifest: Value = serde_json::from_slice(&std::fs::read(package.join("package.json")).ok()?).ok()?;
    let binary = package.join("vendor/x86_64-unknown-linux-musl/codex/codex");
    (manifest["version"] == version && binary.is_file()).then_some(binary)
}

/// Finds `<...>/codex-linux-x64/vendor/**/codex` whose package.json version is `version`.
fn find_native_binary(modules: &Path, version: &str) -> Option<PathBuf> {
    fn walk(dir: &Path, depth: usize, version: &str) -> Option<PathBuf> {
        if depth == 0 {
            return None;
        }
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "codex-linux-x64") {
                let manifest: Value =
                    std::fs::read(path.join("package.json")).ok().and_then(|b| serde_json::from_slice(&b).ok())?;
                if manifest["version"] == version {
                    return find_executable(&path.join("vendor"), 4);
                }
                continue;
            }
            if let Some(found) = walk(&path, depth - 1, version) {
                return Some(found);
            }
        }
        None
    }
    walk(modules, 5, version)
}

fn find_executable(dir: &Path, depth: usize) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if depth > 0
                && let Some(found) = find_executable(&path, depth - 1)
            {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == "codex")
            && path.metadata().is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
        {
            return Some(path);
        }
    }
    None
}

fn write_config(home: &Path, config: &toml::Table) -> Result<(), AdapterError> {
    let path = CodexClient::config_path(home);
    let failed = |e: &dyn std::fmt::Display| AdapterError::Failed(format!("{}: {e}", path.display()));
    std::fs::create_dir_all(path.parent().expect("config has a parent")).map_err(|e| failed(&e))?;
    std::fs::write(&path, toml::to_string(config).map_err(|e| failed(&e))?).map_err(|e| failed(&e))
}

fn without_noise(text: &str) -> String {
    text.lines().filter(|l| !NOISE.iter().any(|n| l.contains(n))).collect::<Vec<_>>().join("\n")
}

fn reply_from(finished: &process::Finished) -> Reply {
    let mut finished = finished.clone();
    finished.stderr = without_noise(&finished.stderr);
    let reply = match finished.error() {
        None => Reply::default(),
        Some(error) => Reply::failure(error),
    };
    Reply { output: finished.stdout.clone(), stderr: finished.stderr.clone(), exit_code: finished.code, ..reply }
}

/// Codex's status words (CLI snake_case, app-server camelCase) in the harness's vocabulary.
pub fn normalize_status(raw: &str) -> Status {
    match raw {
        "o_auth" | "oAuth" => Status::Oauth,
        "bearer_token" | "bearerToken" => Status::Bearer,
        "not_logged_in" | "notLoggedIn" => Status::NotLoggedIn,
        "unsupported" => Status::Unsupported,
        _ => Status::Error,
    }
}

#[async_trait]
impl ClientAdapter for CodexClient {
    fn name(&self) -> String {
        format!("codex@{}", self.version)
    }

    fn known_options(&self) -> &'static [&'static str] {
        &["credentials_store", "add_via"]
    }

    fn support(&self, verb: Verb) -> Support {
        if let Err(why) = self.binary() {
            return Support::No(why);
        }
        match verb {
            Verb::Call => Support::No("codex has no command that calls one tool without a model".into()),
            _ => Support::Yes,
        }
    }

    async fn add(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        // `add_via = "cli"`: Codex's own command, which logs in inline when it detects OAuth.
        if ctx.options.get("add_via").is_some_and(|via| via == "cli") {
            let mut config = Self::read_config(&ctx.home);
            config.insert("mcp_oauth_credentials_store".into(), "file".into());
            write_config(&ctx.home, &config)?;
            return Ok(reply_from(&self.command(ctx, &["mcp", "add", &entry.name, "--url", &entry.url]).await?));
        }
        let mut config = Self::read_config(&ctx.home);
        config.insert("mcp_oauth_credentials_store".into(), "file".into());
        let servers = config.entry("mcp_servers").or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(servers) = servers {
            let mut server = toml::Table::new();
            server.insert("url".into(), entry.url.clone().into());
            // What `codex mcp add --oauth-client-id --oauth-client-secret` writes.
            if let Some((client_id, secret)) = &entry.preregistered {
                let mut oauth = toml::Table::new();
                oauth.insert("client_id".into(), client_id.clone().into());
                if let Some(secret) = secret {
                    oauth.insert("client_secret".into(), secret.clone().into());
                }
                server.insert("oauth".into(), toml::Value::Table(oauth));
            }
            servers.insert(entry.name.clone(), toml::Value::Table(server));
        }
        write_config(&ctx.home, &config)?;
        Ok(Reply::success(format!("wrote [mcp_servers.{}] to config.toml", entry.name)))
    }

    async fn login(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        Ok(reply_from(&self.command(ctx, &["mcp", "login", &entry.name]).await?))
    }

    async fn list(&self, ctx: &StepContext) -> Result<Reply, AdapterError> {
        let finished = self.command(ctx, &["mcp", "list", "--json"]).await?;
        let mut reply = reply_from(&finished);
        if reply.error.is_some() {
            return Ok(reply);
        }
        let listed: Value = serde_json::from_str(finished.stdout.trim())
            .map_err(|e| AdapterError::Failed(format!("`codex mcp list --json` printed no JSON: {e}")))?;
        for server in listed.as_array().into_iter().flatten() {
            let raw = server["auth_status"].as_str().unwrap_or("(missing)").to_owned();
            let name = server["name"].as_str().unwrap_or_default().to_owned();
            reply.statuses.push(EntryStatus { name, normalized: normalize_status(&raw), raw });
        }
        Ok(reply)
    }

    async fn import(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        let (invocation, _shim) = self.invocation(ctx, &["app-server"])?;
        let mut session = LineSession::start(&invocation)
            .map_err(|e| AdapterError::Failed(format!("cannot start codex app-server: {e}")))?;
        let exchange = async {
            session.send(&json!({"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "mcp-auth-harness", "version": env!("CARGO_PKG_VERSION")}}})).await.map_err(|e| e.to_string())?;
            session.response(1, COMMAND_TIMEOUT).await?;
            session.send(&json!({"method": "initialized"})).await.map_err(|e| e.to_string())?;
            session
                .send(&json!({"id": 2, "method": "mcpServerStatus/list", "params": {}}))
                .await
                .map_err(|e| e.to_string())?;
            session.response(2, COMMAND_TIMEOUT).await
        };
        let answer = exchange.await;
        let stderr = without_noise(&session.stop(ctx).await);
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => return Ok(Reply { stderr, ..Reply::failure(format!("app-server: {error}")) }),
        };
        let server =
            answer["result"]["data"].as_array().into_iter().flatten().find(|s| s["name"] == entry.name.as_str());
        let Some(server) = server else {
            return Ok(Reply::failure(format!("app-server does not list `{}`", entry.name)));
        };
        let auth = server["authStatus"].as_str().unwrap_or("(missing)");
        let tools: Vec<ToolInfo> = server["tools"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, tool)| ToolInfo { name: name.clone(), input_schema: tool["inputSchema"].clone() })
            .collect();
        let output = format!("authStatus {auth}; {} tools", tools.len());
        Ok(match (server["toolsError"].as_str(), tools.is_empty()) {
            (Some(error), _) => {
                Reply { output, stderr, ..Reply::failure(format!("toolsError: {error} (authStatus {auth})")) }
            }
            (None, true) => {
                Reply { output, stderr, tools: Some(tools), ..Reply::failure(format!("no tools (authStatus {auth})")) }
            }
            (None, false) => Reply { tools: Some(tools), stderr, ..Reply::success(output) },
        })
    }

    async fn call(
        &self,
        _: &StepContext,
        _: &ServerEntry,
        _: &str,
        _: &serde_json::Map<String, Value>,
    ) -> Result<Reply, AdapterError> {
        Err(AdapterError::NotApplicable("codex has no command that calls one tool without a model".into()))
    }

    async fn restart(&self, _ctx: &StepContext) -> Result<Reply, AdapterError> {
        Ok(Reply::success("every codex command is a new process; nothing stays in memory"))
    }

    async fn logout(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        Ok(reply_from(&self.command(ctx, &["mcp", "logout", &entry.name]).await?))
    }

    async fn remove(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        Ok(reply_from(&self.command(ctx, &["mcp", "remove", &entry.name]).await?))
    }

    async fn state(&self, home: &Path) -> ClientState {
        let config = Self::read_config(home);
        let mut state = ClientState::default();
        for (name, server) in config.get("mcp_servers").and_then(toml::Value::as_table).into_iter().flatten() {
            state.registry.push(RegistryEntry {
                name: name.clone(),
                transport: "streamable_http".into(),
                url: server.get("url").and_then(toml::Value::as_str).unwrap_or_default().to_owned(),
                tools: None,
            });
        }
        let credentials: Value = std::fs::read(Self::codex_home(home).join(".credentials.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null);
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        for (_, stored) in credentials.as_object().into_iter().flatten() {
            let expiry = match stored["expires_at"].as_u64() {
                Some(at) if at <= now_ms => "expired",
                Some(at) if at - now_ms > 3_600_000 => ">1h",
                Some(_) => "<1h",
                None => "unknown",
            };
            let client_id = stored["client_id"].as_str().unwrap_or_default();
            state.credentials.push(CredentialSummary {
                key: format!(
                    "{} {}",
                    stored["server_name"].as_str().unwrap_or("?"),
                    stored["server_url"].as_str().unwrap_or("?")
                ),
                access_token: stored["access_token"].as_str().is_some_and(|t| !t.is_empty()),
                refresh_token: stored["refresh_token"].as_str().is_some_and(|t| !t.is_empty()),
                scopes: stored["scopes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect(),
                expiry: expiry.into(),
                client_id_kind: if client_id.starts_with("http") { "metadata-document" } else { "dynamic" }.into(),
            });
        }
        state.credentials.sort_by(|a, b| a.key.cmp(&b.key));
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `node_modules/@openai/codex` at `version`, with `files` (executable) in it.
    fn modules_with(version: &str, files: &[&str]) -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt as _;
        let modules = tempfile::tempdir().unwrap();
        let package = modules.path().join(PACKAGE);
        std::fs::create_dir_all(&package).unwrap();
        std::fs::write(package.join("package.json"), json!({ "version": version }).to_string()).unwrap();
        for file in files {
            let path = modules.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        modules
    }

    #[test]
    fn the_binary_comes_from_the_platform_package_of_that_version() {
        let modules =
            modules_with("0.150.0", &["@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/codex/codex"]);
        let platform = modules.path().join("@openai/codex-linux-x64");
        std::fs::write(platform.join("package.json"), json!({ "version": "0.150.0-linux-x64" }).to_string()).unwrap();
        assert!(native_binary(modules.path(), "0.150.0").unwrap().starts_with(&platform));
        assert!(native_binary(modules.path(), "0.151.0").is_err(), "another version's binary is not taken");
    }

    #[test]
    fn releases_before_platform_packages_carry_the_binary_themselves() {
        let modules = modules_with("0.98.0", &["@openai/codex/vendor/x86_64-unknown-linux-musl/codex/codex"]);
        let binary = native_binary(modules.path(), "0.98.0").unwrap();
        assert!(binary.ends_with("@openai/codex/vendor/x86_64-unknown-linux-musl/codex/codex"));
        let error = native_binary(modules.path(), "0.97.0").unwrap_err();
        assert!(error.contains("no native codex 0.97.0 binary"), "{error}");
    }
}
