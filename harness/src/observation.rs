//! What a run observed: the servers with their exchanges and events, and each step's reply,
//! the client's state after it and the browser's visits. It is the input of every check and
//! judges nothing; the runner writes it and the verdicts (step expectations, check results) are
//! kept apart from it, so this module imports neither the runner nor the checks.

use std::collections::BTreeMap;
use std::time::Duration;

use mock_server::Exchange;
use serde::{Deserialize, Serialize};

use crate::browser::Visit;
use crate::client::{ClientState, Reply, ToolInfo};
use crate::revision::Revision;
use crate::scenario::{Step, Verb};

/// Everything a run of one scenario against one client observed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Observation {
    pub scenario: String,
    pub client: String,
    pub servers: BTreeMap<String, ServerRecord>,
    pub steps: Vec<StepRecord>,
    /// The revision of the MCP specification the run is judged by.
    pub revision: Revision,
}

impl Observation {
    /// The steps (indices from 0) that ran at the same time as step `index`, it included, when it
    /// ran in a `together` group. They share one window of exchanges: which of them sent which
    /// request is not known, only the order the servers received them in.
    pub fn group_of(&self, index: usize) -> Option<std::ops::Range<usize>> {
        let label = self.steps.get(index)?.step.together.as_ref()?;
        let same = |i: &usize| self.steps[*i].step.together.as_ref() == Some(label);
        let start = (0..index).rev().take_while(same).last().unwrap_or(index);
        let end = (index + 1..self.steps.len()).take_while(same).last().map_or(index + 1, |last| last + 1);
        Some(start..end)
    }
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

impl ServerRecord {
    /// The MCP protocol versions the server served the client's requests under (what
    /// `initialize` negotiated, or what 2026-07-28 requests named), oldest first.
    pub fn protocol_versions(&self) -> Vec<&str> {
        let mut versions: Vec<&str> = self.exchanges.iter().filter_map(|e| e.protocol_version.as_deref()).collect();
        versions.sort_unstable();
        versions.dedup();
        versions
    }
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
    pub fn exchanges<'a>(&self, observed: &'a Observation, server: &str) -> Vec<&'a Exchange> {
        let (Some(first), Some(end)) = (self.first_seq.get(server), self.end_seq.get(server)) else {
            return Vec::new();
        };
        observed.servers[server].exchanges.iter().filter(|e| e.seq >= *first && e.seq < *end).collect()
    }
}
