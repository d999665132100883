//! Runs a scenario against a client: starts the mocks, performs each step in a fresh sandbox,
//! records what it observes (an [`Observation`]), has each step's expectations and then every
//! check judge it, and assembles the [`ScenarioRun`] that reports and snapshots read.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mock_server::{Exchange, MockServer};
use serde::{Deserialize, Serialize};

use crate::check::{self, CheckResult};
use crate::client::{
    AdapterError, ClientAdapter, MachineCredentials, Reply, Sandbox, ServerEntry, StepContext, Support, ToolInfo,
};
use crate::expectation::{self, ExpectationResult};
use crate::observation::{Observation, ServerRecord, StepRecord};
use crate::revision::Revision;
use crate::scenario::{ExpireMode, Scenario, ServerAction, ServerChange, Step, Verb};

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

/// A finished scenario run: what it observed and the verdicts on it. Its JSON form
/// (`results.json`) reads back as the same run, so shards run on several machines merge into one
/// (`mcp-auth-harness merge`).
///
/// It reads as its observation (`run.steps`, `run.servers`): the verdicts are what it adds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioRun {
    #[serde(flatten)]
    pub observed: Observation,
    /// Each step's expectations, in step order.
    pub expectations: Vec<Vec<ExpectationResult>>,
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

impl std::ops::Deref for ScenarioRun {
    type Target = Observation;

    fn deref(&self) -> &Observation {
        &self.observed
    }
}

impl std::ops::DerefMut for ScenarioRun {
    fn deref_mut(&mut self) -> &mut Observation {
        &mut self.observed
    }
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
        self.steps.iter().zip(&self.expectations).enumerate().flat_map(|(index, (step, expectations))| {
            expectations.iter().filter(|e| !e.passed).map(move |e| (index + 1, step, e))
        })
    }

    /// The expectations of the step at `index` (from 0).
    pub fn expectations_of(&self, index: usize) -> &[ExpectationResult] {
        self.expectations.get(index).map_or(&[], Vec::as_slice)
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
    let revision = scenario.judged_by(options.revision);
    if let Some(since) = scenario.since.filter(|since| revision < *since) {
        return Ok(ScenarioRun {
            observed: Observation {
                scenario: scenario.name.clone(),
                client: client.name(),
                servers: BTreeMap::new(),
                steps: Vec::new(),
                revision,
            },
            expectations: Vec::new(),
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
    let mut verdicts = Vec::new();
    // Entry name → the URL its latest `add` step gave it.
    let mut entries = BTreeMap::new();
    // Entries whose `add` the client could not perform: their later steps cannot be either.
    let mut never_added = std::collections::BTreeMap::new();
    for indices in scenario.rounds() {
        let round: Vec<(usize, &Step)> = indices.map(|i| (i, &scenario.steps[i])).collect();
        for (_, step) in &round {
            if step.verb == Verb::Add
                && let Some(server) = mocks.get(&step.server)
            {
                entries.insert(step.entry.clone(), entry_url(server, step));
            }
        }
        let first_seq: BTreeMap<String, u64> =
            mocks.iter().map(|(k, m)| (k.clone(), m.transcript().next_seq())).collect();
        let contexts: Vec<StepContext> = round
            .iter()
            .map(|(_, step)| {
                StepContext::new(sandbox.home().to_owned(), step.browser, options.user_timeout)
                    .with_options(step.client_options.clone())
                    .with_login_timeout(scenario.login_timeout.unwrap_or(options.user_timeout))
                    .for_scenario(&scenario.name)
                    .under(revision)
            })
            .collect();
        // A group's steps run at the same time, each as its own client invocation over the
        // same home; a step alone is a group of one.
        let performed = futures::future::join_all(round.iter().zip(&contexts).map(|((_, step), ctx)| {
            let (never_added, unimplemented) = (&never_added, &unimplemented);
            let (client, mocks, entries) = (client.as_ref(), &mocks, &entries);
            async move {
                match (unimplemented, never_added.get(&step.entry)) {
                    (Some(why), _) => Err(AdapterError::NotApplicable(why.clone())),
                    (None, Some(why)) if step.verb != Verb::Add && step.verb.names_entry() => {
                        Err(AdapterError::NotApplicable(format!("`{}` was never added: {why}", step.entry)))
                    }
                    _ => perform(client, ctx, step, mocks, entries).await,
                }
            }
        }))
        .await;
        let end_seq: BTreeMap<String, u64> =
            mocks.iter().map(|(k, m)| (k.clone(), m.transcript().next_seq())).collect();
        let state = client.state(sandbox.home()).await;
        for (((index, step), ctx), performed) in round.iter().zip(contexts).zip(performed) {
            if step.verb == Verb::Add {
                match &performed {
                    Err(AdapterError::NotApplicable(why)) => never_added.insert(step.entry.clone(), why.clone()),
                    _ => never_added.remove(&step.entry),
                };
            }
            let (mut reply, not_applicable) = match performed {
                Ok(reply) => (reply, None),
                Err(AdapterError::NotApplicable(why)) => (Reply::default(), Some(why)),
                Err(source) => {
                    return Err(RunError::Adapter {
                        scenario: scenario.name.clone(),
                        step: *index,
                        verb: step.verb,
                        source,
                    });
                }
            };
            if reply.tools_seen_at_server && reply.tools.is_none() {
                reply.tools = mocks.get(&step.server).and_then(|mock| tools_listed(mock, first_seq[&step.server]));
            }
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
                    let served = || mocks.get(&step.server).map(served_tools).unwrap_or_default();
                    expectation::judge(step, &reply, &during, served)
                }
            };
            verdicts.push(expectations);
            steps.push(StepRecord {
                verb: step.verb,
                entry: step.entry.clone(),
                server: step.server.clone(),
                not_applicable,
                reply,
                state: state.clone(),
                visits: ctx.visits(),
                first_seq: first_seq.clone(),
                end_seq: end_seq.clone(),
                line: step.line,
                step: (*step).clone(),
                process_time: ctx.process_time(),
            });
        }
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
    let mut observed = Observation { scenario: scenario.name.clone(), client: client.name(), servers, steps, revision };
    let mut checks = check::evaluate_all(&observed, revision);
    // A scenario about a client of its revision whose client turned out to speak a newer one: its
    // premise does not hold, so nothing of it is judged — the same "not applicable" as a client
    // without the scenario's extension, only known after the run.
    if let Some(why) = scenario.clients_of_revision_only.then(|| outgrown(&observed, revision)).flatten() {
        for step in &mut observed.steps {
            step.not_applicable.get_or_insert_with(|| why.clone());
        }
        verdicts.iter_mut().for_each(Vec::clear);
        checks.iter_mut().for_each(|c| c.outcome = check::Outcome::NotApplicable);
    }
    Ok(ScenarioRun {
        observed,
        expectations: verdicts,
        checks,
        elapsed: started.elapsed(),
        not_judged: None,
        slot: None,
        kept,
    })
}

/// Why a client that spoke a newer MCP protocol version than `revision` to some server is not a
/// client of that revision: the newest version it spoke and where. Versions are ISO dates, so
/// their order as strings is their order in time, known versions or not.
fn outgrown(observed: &Observation, revision: Revision) -> Option<String> {
    let (server, newest) = observed
        .servers
        .iter()
        .filter_map(|(key, server)| server.protocol_versions().last().map(|v| (key, v.to_string())))
        .max_by(|a, b| a.1.cmp(&b.1))?;
    (newest.as_str() > revision.name()).then(|| {
        format!(
            "{} spoke MCP {newest} to `{server}`, newer than the {revision} the scenario is about: \
             it is not a client of {revision} only",
            observed.client
        )
    })
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
        workload_jwt: mock.workload_jwt().map(str::to_owned),
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
