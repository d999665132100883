//! Runs a scenario against a client: starts the mocks, performs each step in a fresh sandbox,
//! observes what the client ends up with, then evaluates expectations and checks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mock_server::{Exchange, MockServer};
use serde::{Deserialize, Serialize};

use crate::browser::Visit;
use crate::check::{self, CheckResult};
use crate::client::{
    AdapterError, ClientAdapter, ClientState, MachineCredentials, Reply, Sandbox, ServerEntry, StepContext, Support,
    ToolInfo,
};
use crate::revision::Revision;
use crate::scenario::{
    ExpireMode, Outcome, Scenario, ServerAction, ServerChange, Step, ToolsExpectation, ToolsKeyword, Verb,
};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Keep the sandbox after the run.
    pub keep: bool,
    /// How long a client may wait for the browser before giving up on a login.
    pub user_timeout: Duration,
    /// The revision to judge by, unless the scenario pins its own; none: the latest.
    pub revision: Option<Revision>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { keep: false, user_timeout: Duration::from_secs(2), revision: None }
    }
}

/// A scenario that could not be run at all (as opposed to one whose client failed).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("scenario {scenario}: server `{server}` did not start: {source}")]
    ServerStart { scenario: String, server: String, source: mock_server::StartError },
    #[error("scenario {scenario}: cannot create a sandbox: {source}")]
    Sandbox {
        scenario: String,
        #[source]
        source: std::io::Error,
    },
    #[error("scenario {scenario}, step {step} ({verb}): {source}")]
    Adapter { scenario: String, step: usize, verb: Verb, source: AdapterError },
}

/// One mock server as the run saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerRecord {
    pub preset: String,
    pub mcp_uri: String,
    pub issuer: String,
    pub served_tools: Vec<ToolInfo>,
    /// The knobs the server started with (`change` steps may have changed some later: see
    /// `events`), which the checks read the layout from.
    pub profile: mock_server::Profile,
    /// Every exchange on the server's listeners (secrets are labels: see `mock_server::Transcript`).
    pub exchanges: Vec<Exchange>,
    /// What the harness did to the server while it ran (`change` and `expire` steps), placed
    /// among the exchanges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<mock_server::Event>,
    /// Raw values of every token the server issued, kept only so tests can prove none leaks
    /// into a report; never written anywhere.
    #[serde(skip)]
    pub issued_secrets: Vec<String>,
}

/// Everything observed for one step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub verb: Verb,
    pub entry: String,
    pub server: String,
    /// Set when the client cannot perform the step; the step then neither passes nor fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<String>,
    pub reply: Reply,
    /// The client's registry and credentials after the step.
    pub state: ClientState,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub visits: Vec<Visit>,
    /// First sequence number of this step's exchanges, per server.
    pub first_seq: BTreeMap<String, u64>,
    /// One past the last sequence number of this step's exchanges, per server.
    pub end_seq: BTreeMap<String, u64>,
    pub expectations: Vec<ExpectationResult>,
    pub line: usize,
    /// The scenario's step as written.
    pub step: Step,
    /// Time client processes were alive during the step (measured, not recorded).
    #[serde(skip)]
    pub process_time: Duration,
}

impl StepRecord {
    /// Whether the client performed the step and reported success.
    pub fn succeeded(&self) -> bool {
        self.not_applicable.is_none() && self.reply.error.is_none()
    }

    /// This step's exchanges on `server`.
    pub fn exchanges<'a>(&self, run: &'a ScenarioRun, server: &str) -> Vec<&'a Exchange> {
        let (Some(first), Some(end)) = (self.first_seq.get(server), self.end_seq.get(server)) else {
            return Vec::new();
        };
        run.servers[server].exchanges.iter().filter(|e| e.seq >= *first && e.seq < *end).collect()
    }
}

/// A step expectation and whether it held.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpectationResult {
    pub field: String,
    pub expected: String,
    pub actual: String,
    pub passed: bool,
}

/// A finished scenario run. Its JSON form (`results.json`) reads back as the same run, so
/// shards run on several machines merge into one (`mcp-auth-harness merge`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioRun {
    pub scenario: String,
    pub client: String,
    pub servers: BTreeMap<String, ServerRecord>,
    pub steps: Vec<StepRecord>,
    /// The revision of the MCP specification that judged the run.
    pub revision: Revision,
    pub checks: Vec<CheckResult>,
    #[serde(rename = "elapsed_ms", with = "millis")]
    pub elapsed: Duration,
    /// Why the scenario was not run: it rests on a newer revision than the one judging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<String>,
    /// Where the run stands in the whole scenario × client matrix it was planned in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<Slot>,
    /// Where the sandbox was kept (`--keep`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<PathBuf>,
}

/// A run's place in a matrix: `index` of `of` runs, in scenario-then-client order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Slot {
    pub index: usize,
    pub of: usize,
}

/// A [`Duration`] as whole milliseconds in JSON.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

/// The verdict of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Passed,
    Failed,
    /// No step could be performed by this client.
    NotApplicable,
}

impl ScenarioRun {
    pub fn verdict(&self) -> Verdict {
        if self.steps.iter().all(|s| s.not_applicable.is_some()) {
            return Verdict::NotApplicable;
        }
        let expectations_hold = self.failed_expectations().next().is_none();
        let checks_hold = self.checks.iter().all(|c| !c.failed());
        if expectations_hold && checks_hold { Verdict::Passed } else { Verdict::Failed }
    }

    /// Step expectations that did not hold, with the step's position (from 1) and record.
    pub fn failed_expectations(&self) -> impl Iterator<Item = (usize, &StepRecord, &ExpectationResult)> {
        self.steps
            .iter()
            .enumerate()
            .flat_map(|(index, step)| step.expectations.iter().filter(|e| !e.passed).map(move |e| (index + 1, step, e)))
    }

    /// Failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| c.failed())
    }
}

/// Runs `scenario` against `client`.
pub async fn run(
    scenario: &Scenario,
    client: Arc<dyn ClientAdapter>,
    options: &RunOptions,
) -> Result<ScenarioRun, RunError> {
    let revision = scenario.revision.or(options.revision).unwrap_or(Revision::LATEST);
    if let Some(since) = scenario.since.filter(|since| revision < *since) {
        return Ok(ScenarioRun {
            scenario: scenario.name.clone(),
            client: client.name(),
            servers: BTreeMap::new(),
            steps: Vec::new(),
            revision,
            checks: Vec::new(),
            elapsed: Duration::ZERO,
            not_judged: Some(format!("the scenario rests on MCP {since} or later, not on {revision}")),
            slot: None,
            kept: None,
        });
    }
    let started = Instant::now();
    let mocks = start_servers(scenario).await.map_err(|(server, source)| RunError::ServerStart {
        scenario: scenario.name.clone(),
        server,
        source,
    })?;
    let mut sandbox = Sandbox::new().map_err(|source| RunError::Sandbox { scenario: scenario.name.clone(), source })?;

    // A scenario about an extension the client does not implement: nothing of it is judged, the
    // harness's own steps included, so the run is "not applicable" as a whole.
    let unimplemented = scenario
        .extension
        .filter(|e| !client.extensions().contains(e))
        .map(|e| format!("{} does not implement the authorization extension {e} the scenario is about", client.name()));
    let mut steps = Vec::new();
    // Entry name → the URL its latest `add` step gave it.
    let mut entries = BTreeMap::new();
    // Entries whose `add` the client could not perform: their later steps cannot be either.
    let mut never_added = std::collections::BTreeMap::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        if step.verb == Verb::Add
            && let Some(server) = mocks.get(&step.server)
        {
            entries.insert(step.entry.clone(), entry_url(server, step));
        }
        let first_seq: BTreeMap<String, u64> =
            mocks.iter().map(|(k, m)| (k.clone(), m.transcript().next_seq())).collect();
        let ctx = StepContext::new(sandbox.home().to_owned(), step.browser, options.user_timeout)
            .with_options(step.client_options.clone())
            .with_login_timeout(scenario.login_timeout.unwrap_or(options.user_timeout))
            .for_scenario(&scenario.name);
        let performed = match (&unimplemented, never_added.get(&step.entry)) {
            (Some(why), _) => Err(AdapterError::NotApplicable(why.clone())),
            (None, Some(why)) if step.verb != Verb::Add && step.verb.names_entry() => {
                Err(AdapterError::NotApplicable(format!("`{}` was never added: {why}", step.entry)))
            }
            _ => perform(client.as_ref(), &ctx, step, &mocks, &entries).await,
        };
        if step.verb == Verb::Add {
            match &performed {
                Err(AdapterError::NotApplicable(why)) => never_added.insert(step.entry.clone(), why.clone()),
                _ => never_added.remove(&step.entry),
            };
        }
        let (reply, not_applicable) = match performed {
            Ok(reply) => (reply, None),
            Err(AdapterError::NotApplicable(why)) => (Reply::default(), Some(why)),
            Err(source) => {
                return Err(RunError::Adapter {
                    scenario: scenario.name.clone(),
                    step: index,
                    verb: step.verb,
                    source,
                });
            }
        };
        let end_seq: BTreeMap<String, u64> =
            mocks.iter().map(|(k, m)| (k.clone(), m.transcript().next_seq())).collect();
        let mut reply = reply;
        if reply.tools_seen_at_server && reply.tools.is_none() {
            reply.tools = mocks.get(&step.server).and_then(|mock| tools_listed(mock, first_seq[&step.server]));
        }
        let state = client.state(sandbox.home()).await;
        let expectations = match &not_applicable {
            Some(_) => Vec::new(),
            None => {
                // Only `max_requests` reads what was sent: no copy of the transcript otherwise.
                let during: Vec<Exchange> = match step.expect.max_requests.is_empty() {
                    true => Vec::new(),
                    false => mocks
                        .iter()
                        .flat_map(|(k, m)| {
                            m.transcript().since(first_seq[k]).into_iter().filter(|e| e.seq < end_seq[k])
                        })
                        .collect(),
                };
                expectations(step, &reply, &during, &mocks)
            }
        };
        steps.push(StepRecord {
            verb: step.verb,
            entry: step.entry.clone(),
            server: step.server.clone(),
            not_applicable,
            reply,
            state,
            visits: ctx.visits(),
            first_seq,
            end_seq,
            expectations,
            line: step.line,
            step: step.clone(),
            process_time: ctx.process_time(),
        });
    }

    let servers: BTreeMap<String, ServerRecord> = mocks
        .iter()
        .map(|(key, mock)| {
            let record = ServerRecord {
                preset: scenario.servers[key].preset.to_string(),
                mcp_uri: mock.uri(),
                issuer: mock.issuer(),
                served_tools: served_tools(mock),
                profile: scenario.servers[key].profile.clone(),
                exchanges: mock.transcript().exchanges(),
                events: mock.transcript().events(),
                issued_secrets: mock.issued_tokens().into_iter().map(|t| t.value).collect(),
            };
            (key.clone(), record)
        })
        .collect();
    // What a client prints is kept for the reports; a secret it printed is not.
    let secrets: Vec<&str> =
        servers.values().flat_map(|s: &ServerRecord| &s.issued_secrets).map(String::as_str).collect();
    for step in &mut steps {
        step.reply.redact(&secrets);
    }
    let kept = options.keep.then(|| sandbox.keep());
    let mut run = ScenarioRun {
        scenario: scenario.name.clone(),
        client: client.name(),
        servers,
        steps,
        revision,
        checks: Vec::new(),
        elapsed: Duration::ZERO,
        not_judged: None,
        slot: None,
        kept,
    };
    run.checks = check::evaluate_all(&run, run.revision);
    run.elapsed = started.elapsed();
    Ok(run)
}

/// Starts a scenario's servers as peers, so each one's placeholders can name the others.
pub async fn start_servers(
    scenario: &Scenario,
) -> Result<BTreeMap<String, MockServer>, (String, mock_server::StartError)> {
    let peers = mock_server::Peers::new();
    let mut mocks = BTreeMap::new();
    for (key, spec) in &scenario.servers {
        let started = MockServer::builder().profile(spec.profile.clone()).peer_of(&peers, key).try_start().await;
        mocks.insert(key.clone(), started.map_err(|e| (key.clone(), e))?);
    }
    Ok(mocks)
}

/// The URL an `add` step gives its entry: the path it chose (else the server's first MCP path),
/// with a trailing slash if it asked for one.
fn entry_url(mock: &MockServer, step: &Step) -> String {
    let url = step
        .path
        .as_deref()
        .and_then(|path| mock.mcp_uris().into_iter().find(|u| u.ends_with(path)))
        .unwrap_or_else(|| mock.uri());
    if step.trailing_slash { format!("{url}/") } else { url }
}

async fn perform(
    client: &dyn ClientAdapter,
    ctx: &StepContext,
    step: &Step,
    mocks: &BTreeMap<String, MockServer>,
    entries: &BTreeMap<String, String>,
) -> Result<Reply, AdapterError> {
    if let Support::No(why) = client.support(step.verb) {
        return Err(AdapterError::NotApplicable(why));
    }
    if !step.verb.performed_by_harness() {
        ctx.only_options(&client.name(), client.known_options())?;
    }
    let mock = mocks.get(&step.server);
    let entry = mock.map(|mock| ServerEntry {
        name: step.entry.clone(),
        url: entries.get(&step.entry).cloned().unwrap_or_else(|| entry_url(mock, step)),
        preregistered: mock
            .profile()
            .authorization_server
            .preregistered_clients
            .iter()
            .find(|c| !c.client_credentials)
            .map(|c| (c.client_id.clone(), c.client_secret.clone())),
        machine: mock.profile().authorization_server.preregistered_clients.iter().find(|c| c.client_credentials).map(
            |c| MachineCredentials {
                client_id: c.client_id.clone(),
                auth_method: c.auth_method,
                secret: c.client_secret.clone(),
                private_key: mock.client_private_key(&c.client_id),
            },
        ),
        enterprise: mock.enterprise_sign_on(),
    });
    let no_server = || AdapterError::Failed(format!("step has no server `{}`", step.server));
    let entry = || entry.clone().ok_or_else(no_server);
    match step.verb {
        Verb::Add => client.add(ctx, &entry()?).await,
        Verb::Login => client.login(ctx, &entry()?).await,
        Verb::List => client.list(ctx).await,
        Verb::Import => client.import(ctx, &entry()?).await,
        Verb::Call => {
            let tool = step.tool.as_deref().unwrap_or_default();
            client.call(ctx, &entry()?, tool, &step.arguments).await
        }
        Verb::Restart => client.restart(ctx).await,
        Verb::Logout => client.logout(ctx, &entry()?).await,
        Verb::Remove => client.remove(ctx, &entry()?).await,
        Verb::Change => {
            let change =
                step.change.as_ref().ok_or_else(|| AdapterError::Failed("a change step without a change".into()))?;
            change_server(mock.ok_or_else(no_server)?, change).await?;
            Ok(Reply::success(format!("{change} on {}", step.server)))
        }
        Verb::Expire => {
            let mock = mock.ok_or_else(no_server)?;
            match step.expire {
                ExpireMode::AccessTokens => mock.expire_access_tokens(),
                ExpireMode::AllTokens => mock.revoke_all_tokens(),
            }
            Ok(Reply::success(format!("{:?} of {} no longer valid", step.expire, step.server)))
        }
    }
}

/// Performs a `change` step on its server; what it can refuse was refused when the scenario loaded.
async fn change_server(mock: &MockServer, change: &ServerChange) -> Result<(), AdapterError> {
    let failed = |e: &dyn std::fmt::Display| AdapterError::Failed(format!("cannot {change}: {e}"));
    match change {
        ServerChange::Profile(knobs) => mock.apply(knobs).map_err(|e| failed(&e))?,
        ServerChange::Action(ServerAction::EndSessions) => mock.end_sessions().await,
        ServerChange::Action(ServerAction::ForgetClients) => mock.forget_clients(),
        ServerChange::Action(ServerAction::RevokeRefreshTokens) => mock.revoke_refresh_tokens(),
        ServerChange::Action(ServerAction::Restart) => mock.restart().await.map_err(|e| failed(&e))?,
        ServerChange::Action(ServerAction::Stop) => mock.stop().await,
        ServerChange::Action(ServerAction::Resume) => mock.resume().await.map_err(|e| failed(&e))?,
    }
    Ok(())
}

/// The server's tools, if it listed them (a `tools/list` answered 200) since `from`.
fn tools_listed(mock: &MockServer, from: u64) -> Option<Vec<ToolInfo>> {
    let listed = mock.transcript().since(from).iter().any(|e| {
        e.endpoint == mock_server::transcript::Endpoint::Mcp
            && e.status == 200
            && e.request_body["method"] == "tools/list"
    });
    listed.then(|| served_tools(mock))
}

fn served_tools(mock: &MockServer) -> Vec<ToolInfo> {
    mock.served_tools()
        .into_iter()
        .map(|t| ToolInfo {
            name: t.name.to_string(),
            input_schema: serde_json::Value::Object((*t.input_schema).clone()),
        })
        .collect()
}

/// The step's expectations against what the client said and, `during` the step, sent.
fn expectations(
    step: &Step,
    reply: &Reply,
    during: &[Exchange],
    mocks: &BTreeMap<String, MockServer>,
) -> Vec<ExpectationResult> {
    let expect = &step.expect;
    let mut results = Vec::new();
    let mut push = |field, expected: String, actual: String, passed| {
        results.push(ExpectationResult { field: String::from(field), expected, actual, passed });
    };
    if let Some(outcome) = &expect.outcome {
        let (actual, got) = match &reply.error {
            None => ("success".to_owned(), Outcome::Success),
            Some(error) => (format!("failure: {error}"), Outcome::Failure),
        };
        push("outcome", outcome.to_string(), actual, outcome.allows(got));
    }
    if let Some(text) = &expect.raw_status_contains {
        let actual = reply.statuses.iter().find(|s| s.name == step.entry);
        let passed = actual.is_some_and(|s| s.raw.to_lowercase().contains(&text.to_lowercase()));
        push(
            "raw_status_contains",
            text.clone(),
            actual.map_or("(entry not listed)".to_owned(), |s| s.raw.clone()),
            passed,
        );
    }
    for (endpoint, most) in &expect.max_requests {
        let sent = during.iter().filter(|e| e.endpoint == *endpoint).count();
        let shown = serde_json::to_value(endpoint).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        push("max_requests", format!("at most {most} to {shown}"), format!("{sent}"), sent <= *most);
    }
    if let Some(status) = &expect.status {
        let actual = reply.statuses.iter().find(|s| s.name == step.entry);
        let shown = actual.map_or("(entry not listed)".to_owned(), |s| format!("{} (raw: {})", s.normalized, s.raw));
        push("status", status.to_string(), shown, actual.is_some_and(|s| status.allows(s.normalized)));
    }
    if let Some(tools) = &expect.tools {
        let got: Vec<&str> = reply.tools.iter().flatten().map(|t| t.name.as_str()).collect();
        let (expected, passed) = match tools {
            ToolsExpectation::Keyword(ToolsKeyword::None) => ("none".to_owned(), got.is_empty()),
            ToolsExpectation::Keyword(ToolsKeyword::Served) => {
                let served = mocks.get(&step.server).map(served_tools).unwrap_or_default();
                let names: Vec<&str> = served.iter().map(|t| t.name.as_str()).collect();
                let same = reply.tools.as_deref().is_some_and(|got| crate::client::same_tools(got, &served));
                (format!("served: {}", names.join(", ")), same)
            }
            ToolsExpectation::Names(names) => {
                (names.join(", "), got == names.iter().map(String::as_str).collect::<Vec<_>>())
            }
        };
        push("tools", expected, if got.is_empty() { "none".into() } else { got.join(", ") }, passed);
    }
    if let Some(text) = &expect.error_contains {
        let actual = reply.error.clone().unwrap_or_else(|| "(no error)".into());
        let passed = actual.to_lowercase().contains(&text.to_lowercase()) && reply.error.is_some();
        push("error_contains", text.clone(), actual, passed);
    }
    if let Some(text) = &expect.content_contains {
        let actual = reply.content.clone().unwrap_or_else(|| "(no content)".into());
        push("content_contains", text.clone(), actual.clone(), actual.contains(text.as_str()));
    }
    results
}
