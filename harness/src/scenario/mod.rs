//! Scenario files: which servers to start and which steps to drive a client through.
//!
//! ```toml
//! summary = "Login with the authorization server on another origin"
//! spec = ["MCP-AUTH-2025-11-25 §2.3", "RFC9728 §3"]
//! bug = "https://github.com/openai/codex/issues/20009"
//!
//! [servers.main]
//! preset = "split-origin"
//!
//! [[steps]]
//! do = "add"
//!
//! [[steps]]
//! do = "login"
//! browser = "approve"
//!
//! [[steps]]
//! do = "list"
//! expect = { status = "oauth" }
//! ```

mod load;
mod schema;

use std::collections::BTreeMap;
use std::fmt;

use mock_server::{Preset, Profile};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use load::{ScenarioError, load_dir, load_file, parse};
pub use schema::file_schema;

/// A scenario, checked and ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub summary: String,
    /// Spec clauses the scenario is about.
    pub spec: Vec<String>,
    /// A public bug report the scenario reproduces.
    pub bug: Option<String>,
    /// The exact exchange depends on wall-clock time (seconds-long token lifetimes), so a real
    /// client's snapshot of it cannot be stable; the catalog tests skip it for real clients.
    pub timing_sensitive: bool,
    /// The login timeout handed to a client that can be told one (the reference client): how
    /// long it waits for the browser's answer. Real clients keep their own; the harness stops
    /// waiting for them after `--user-timeout`.
    pub login_timeout: Option<std::time::Duration>,
    /// The revision the scenario is about, when it is about an older text (a 2025-03-26 server):
    /// it is judged by that revision whatever `--spec` says.
    pub revision: Option<crate::revision::Revision>,
    /// The oldest revision whose text the scenario's expectations rest on (a 2026-07-28 rule):
    /// under an older one the scenario is not judged at all.
    pub since: Option<crate::revision::Revision>,
    /// The authorization extension the scenario is about: a client that does not implement it
    /// is not judged on it.
    pub extension: Option<crate::extension::Extension>,
    /// The scenario is about a client of the revision judging it (its premise: the client knows
    /// no newer text): a client that turned out to speak a newer MCP protocol version is not
    /// judged on it.
    pub clients_of_revision_only: bool,
    /// Servers by key, each a resolved profile.
    pub servers: BTreeMap<String, ServerSpec>,
    pub steps: Vec<Step>,
    /// Where it was read from.
    pub source: String,
}

impl Scenario {
    /// The revision that judges a run of it when `asked` was asked for (`--spec`): its own pinned
    /// revision, else the one asked, else the latest.
    pub fn judged_by(&self, asked: Option<crate::revision::Revision>) -> crate::revision::Revision {
        self.revision.or(asked).unwrap_or(crate::revision::Revision::LATEST)
    }

    /// The steps in the order they run, as ranges of indices: a step alone, or a `together`
    /// group whose steps run at the same time.
    pub fn rounds(&self) -> Vec<std::ops::Range<usize>> {
        let mut rounds: Vec<std::ops::Range<usize>> = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            match rounds.last_mut() {
                Some(round) if step.together.is_some() && self.steps[round.start].together == step.together => {
                    round.end = index + 1;
                }
                _ => rounds.push(index..index + 1),
            }
        }
        rounds
    }
}

/// One mock server of a scenario.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub preset: Preset,
    /// The preset's knobs with the scenario's overrides applied.
    pub profile: Profile,
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verb {
    /// Put the server into the client's registry.
    Add,
    /// Log in, with the harness playing the browser.
    Login,
    /// Ask the client for its servers and their auth status.
    List,
    /// Have the client fetch the server's tools into its registry.
    Import,
    /// Have the client call a tool.
    Call,
    /// A new client process over the same home.
    Restart,
    /// Make the server's tokens stop working.
    Expire,
    /// Change the running server: its knobs, its sessions, its registrations, its listeners.
    Change,
    /// Log out.
    Logout,
    /// Take the server out of the registry.
    Remove,
}

impl Verb {
    /// Whether the verb acts on one server entry (and so needs it added first).
    pub fn names_entry(self) -> bool {
        !matches!(self, Self::List | Self::Restart) && !self.performed_by_harness()
    }

    /// Whether the harness performs the step on the server, without the client.
    pub fn performed_by_harness(self) -> bool {
        matches!(self, Self::Expire | Self::Change)
    }

    pub const ALL: [Verb; 10] = [
        Self::Add,
        Self::Login,
        Self::List,
        Self::Import,
        Self::Call,
        Self::Restart,
        Self::Expire,
        Self::Change,
        Self::Logout,
        Self::Remove,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Login => "login",
            Self::List => "list",
            Self::Import => "import",
            Self::Call => "call",
            Self::Restart => "restart",
            Self::Expire => "expire",
            Self::Change => "change",
            Self::Logout => "logout",
            Self::Remove => "remove",
        }
    }

    /// Whether the step is about one server entry of the client.
    pub fn targets_entry(self) -> bool {
        !matches!(self, Self::List | Self::Restart)
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One step of a scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub verb: Verb,
    /// The client-side name of the server entry (defaults to the server's key).
    pub entry: String,
    /// The scenario server the entry points at.
    pub server: String,
    /// For `add`: which of the server's MCP paths the entry points at (default: the first).
    pub path: Option<String>,
    /// For `add`: the entry's URL ends with `/` (the same server spelled differently).
    pub trailing_slash: bool,
    /// How the user answers in the browser (for `login`, and for `call`/`import` that need
    /// re-authorization).
    pub browser: BrowserAction,
    /// For `call`: the tool and its arguments.
    pub tool: Option<String>,
    pub arguments: serde_json::Map<String, serde_json::Value>,
    /// For `expire`: what stops working.
    pub expire: ExpireMode,
    /// For `change`: what happens to the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<ServerChange>,
    /// The label of the group of steps it runs at the same time as (`together`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub together: Option<String>,
    /// Client-specific settings for this step (e.g. `credentials_store = "keyring"` for Codex);
    /// a client that does not know one reports the step not applicable.
    pub client_options: BTreeMap<String, String>,
    pub expect: Expect,
    /// Line of the step in its file, for messages.
    pub line: usize,
}

/// What the harness, as the user, does with the authorization page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BrowserAction {
    /// Approve on the consent page.
    #[default]
    Approve,
    /// Deny on the consent page.
    Deny,
    /// Approve, then change `state` on the way back to the client (a CSRF attempt).
    TamperState,
    /// Close the browser without answering.
    Abandon,
}

/// What an `expire` step does to the server's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExpireMode {
    /// Access tokens expire; refresh tokens keep working.
    #[default]
    AccessTokens,
    /// Every token is revoked: a refresh is rejected and only a new login helps.
    AllTokens,
}

/// What a `change` step does to its running server: one thing per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerChange {
    /// `profile = { … }`: knob changes, in effect from the next request (only knobs that can
    /// change on a running server; see `mock_server::Profile::with_live_overrides`).
    Profile(toml::Table),
    /// `action = "…"`.
    Action(ServerAction),
}

impl fmt::Display for ServerChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Profile(knobs) => write!(f, "profile {}", mock_server::describe_knobs(knobs)),
            Self::Action(action) => f.write_str(action.name()),
        }
    }
}

/// What a `change` step's `action` does to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ServerAction {
    /// End every MCP session: an old `Mcp-Session-Id` gets 404.
    EndSessions,
    /// Forget every registered client: `invalid_client` for their ids.
    ForgetClients,
    /// Revoke refresh tokens only: access tokens work until they expire.
    RevokeRefreshTokens,
    /// Restart on the same ports, keeping clients, tokens and sessions.
    Restart,
    /// Take every listener down: connections are refused.
    Stop,
    /// Serve again after `stop`, on the same ports with the same state.
    Resume,
}

impl ServerAction {
    pub fn name(self) -> &'static str {
        match self {
            Self::EndSessions => "end-sessions",
            Self::ForgetClients => "forget-clients",
            Self::RevokeRefreshTokens => "revoke-refresh-tokens",
            Self::Restart => "restart",
            Self::Stop => "stop",
            Self::Resume => "resume",
        }
    }
}

/// What a step must end with. Unset fields are not checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Expect {
    /// Whether the client reports success: one outcome, or a list of acceptable ones.
    pub outcome: Option<OneOrAnyOf<Outcome>>,
    /// The normalized auth status of the step's entry (for `list`): one, or a list of
    /// acceptable ones.
    pub status: Option<OneOrAnyOf<Status>>,
    /// Text the client's own word for the entry's status must contain (for `list`; case
    /// ignored), e.g. `Needs authentication`.
    pub raw_status_contains: Option<String>,
    /// The tools the client ends up with (for `import`).
    pub tools: Option<ToolsExpectation>,
    /// Text the client's error must contain.
    pub error_contains: Option<String>,
    /// Text a `call`'s result must contain.
    pub content_contains: Option<String>,
    /// At most this many requests to each named endpoint during the step, on every server and
    /// the browser's included (`{ token = 1 }`: no retry loop).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub max_requests: BTreeMap<mock_server::Endpoint, usize>,
}

/// Which field of `expect` applies to which verbs: a field that can never apply to a step's verb
/// is an error when the file loads.
pub const EXPECT_FIELDS: &[(&str, &[Verb])] = &[
    ("outcome", CLIENT_VERBS),
    ("error_contains", CLIENT_VERBS),
    ("max_requests", CLIENT_VERBS),
    ("status", &[Verb::List]),
    ("raw_status_contains", &[Verb::List]),
    ("tools", &[Verb::Import]),
    ("content_contains", &[Verb::Call]),
];

/// The verbs that can run `together`: they use what earlier steps set up and change nothing
/// another step of the group relies on.
pub const TOGETHER_VERBS: &[Verb] = &[Verb::List, Verb::Import, Verb::Call];

/// The verbs a client performs (the others the harness performs on the servers).
const CLIENT_VERBS: &[Verb] =
    &[Verb::Add, Verb::Login, Verb::List, Verb::Import, Verb::Call, Verb::Restart, Verb::Logout, Verb::Remove];

/// One acceptable value of a step's result (an outcome, a status), or several.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "{T}Expectation")]
pub enum OneOrAnyOf<T> {
    /// Exactly this one.
    One(T),
    /// Any of these.
    AnyOf(Vec<T>),
}

impl<T: PartialEq> OneOrAnyOf<T> {
    pub fn allows(&self, value: T) -> bool {
        match self {
            Self::One(one) => *one == value,
            Self::AnyOf(any) => any.contains(&value),
        }
    }
}

impl<T: fmt::Display> fmt::Display for OneOrAnyOf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::One(one) => one.fmt(f),
            Self::AnyOf(any) => f.write_str(&any.iter().map(T::to_string).collect::<Vec<_>>().join(" or ")),
        }
    }
}

/// A vocabulary a step expectation picks from, and how a bad pick is reported.
pub trait Vocabulary {
    /// What a scenario file may write instead.
    const EXPECTING: &'static str;
}

/// By hand rather than derived: an untagged enum's error names one fixed text, and each
/// vocabulary needs its own.
impl<'de, T: Deserialize<'de> + Vocabulary> Deserialize<'de> for OneOrAnyOf<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written<T> {
            One(T),
            AnyOf(Vec<T>),
        }
        match Written::deserialize(deserializer) {
            Ok(Written::One(one)) => Ok(Self::One(one)),
            Ok(Written::AnyOf(any)) => Ok(Self::AnyOf(any)),
            Err(_) => Err(serde::de::Error::custom(T::EXPECTING)),
        }
    }
}

/// Success or failure of a step, as the client reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The client reports the step done.
    Success,
    /// The client reports an error.
    Failure,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Success => "success",
            Self::Failure => "failure",
        })
    }
}

impl Vocabulary for Outcome {
    const EXPECTING: &'static str = "`success`, `failure`, or a list of them";
}

/// The fixed vocabulary every client's auth status is normalized to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Logged in with OAuth.
    Oauth,
    /// A static bearer token is configured.
    Bearer,
    /// OAuth is available but the client holds no usable login.
    NotLoggedIn,
    /// The client believes the server has no OAuth.
    Unsupported,
    /// The client held a login that no longer works.
    Expired,
    /// The client could not tell.
    Error,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Self::Oauth => "oauth",
            Self::Bearer => "bearer",
            Self::NotLoggedIn => "not_logged_in",
            Self::Unsupported => "unsupported",
            Self::Expired => "expired",
            Self::Error => "error",
        }
    }

    /// Whether the status claims the client can use the server now.
    pub fn claims_usable(self) -> bool {
        matches!(self, Self::Oauth | Self::Bearer)
    }
}

impl Vocabulary for Status {
    const EXPECTING: &'static str =
        "a status (`oauth`, `bearer`, `not_logged_in`, `unsupported`, `expired`, `error`) or a list of them";
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which tools the client must end up with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "`served`, `none`, or a list of tool names")]
pub enum ToolsExpectation {
    /// `"served"` (exactly the server's tools) or `"none"`.
    Keyword(ToolsKeyword),
    /// Exactly these names, in this order.
    Names(Vec<String>),
}

/// A tools expectation by keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ToolsKeyword {
    /// The server's tools, with their schemas, in any order.
    Served,
    /// No tools at all.
    None,
}
