//! Known failures per client (`--expected-failures FILE`), with the official conformance
//! suite's semantics: a failure not listed fails the run, and so does a listed one that now
//! passes (a stale baseline).
//!
//! ```toml
//! [clients."codex@0.169.0"]
//! failures = [
//!     "refresh-rejected",                            # the whole scenario
//!     "pkce-not-advertised:pkce-support-verified",   # one check of one scenario
//! ]
//! # Either verdict is accepted (a real client racing a timing-sensitive scenario).
//! unstable = ["short-ttl-rotation"]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::runner::{ScenarioRun, Verdict};

/// The parsed baseline file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    #[serde(default)]
    clients: BTreeMap<String, ClientBaseline>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientBaseline {
    #[serde(default)]
    failures: BTreeSet<String>,
    /// Scenarios whose verdict is not held against the run either way.
    #[serde(default)]
    unstable: BTreeSet<String>,
}

/// How a run's results compare with the baseline.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Failures the baseline lists.
    pub expected: Vec<String>,
    /// Failures it does not list: these fail the run.
    pub unexpected: Vec<String>,
    /// Listed failures that did not happen: these fail the run too.
    pub stale: Vec<String>,
}

impl Comparison {
    pub fn holds(&self) -> bool {
        self.unexpected.is_empty() && self.stale.is_empty()
    }
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.to_string().trim()))
    }

    /// Whether `client`'s verdict on `scenario` is not held against a run either way: it races.
    pub fn unstable(&self, client: &str, scenario: &str) -> bool {
        self.clients.get(client).is_some_and(|c| c.unstable.contains(scenario))
    }

    /// Compares runs with the baseline, entry by entry (`client: entry`).
    pub fn compare(&self, runs: &[ScenarioRun]) -> Comparison {
        let mut comparison = Comparison::default();
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        for run in runs {
            let listed = self.clients.get(&run.client).map(|c| &c.failures);
            let is_listed = |entry: &str| listed.is_some_and(|l| l.contains(entry));
            let unstable = self.unstable(&run.client, &run.scenario);
            if run.verdict() != Verdict::Failed || unstable {
                continue;
            }
            let failed_checks: Vec<String> =
                run.failures().map(|c| format!("{}:{}", run.scenario, c.info.id)).collect();
            let expectations_failed = run.failed_expectations().next().is_some();
            if is_listed(&run.scenario) {
                seen.insert((run.client.clone(), run.scenario.clone()));
                comparison.expected.push(format!("{}: {}", run.client, run.scenario));
                continue;
            }
            for check in &failed_checks {
                if is_listed(check) {
                    seen.insert((run.client.clone(), check.clone()));
                    comparison.expected.push(format!("{}: {check}", run.client));
                } else {
                    comparison.unexpected.push(format!("{}: {check}", run.client));
                }
            }
            if expectations_failed {
                comparison.unexpected.push(format!("{}: {} (step expectations)", run.client, run.scenario));
            }
        }
        let ran: BTreeSet<(&str, &str)> = runs.iter().map(|r| (r.client.as_str(), r.scenario.as_str())).collect();
        for (client, baseline) in &self.clients {
            for entry in &baseline.failures {
                let scenario = entry.split(':').next().unwrap_or_default();
                let was_run = ran.contains(&(client.as_str(), scenario));
                if was_run && !seen.contains(&(client.clone(), entry.clone())) {
                    comparison.stale.push(format!("{client}: {entry}"));
                }
            }
        }
        comparison
    }
}
