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
//!
//! # Runs judged by another revision (`--spec 2025-11-25`, or a scenario pinned to one) are held
//! # to that revision's own lists when the client has them, else to the lists above.
//! [clients."codex@0.169.0".revisions."2025-11-25"]
//! failures = ["refresh-rejected"]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::revision::Revision;
use crate::runner::{ScenarioRun, Verdict};

/// The parsed baseline file.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    #[serde(default)]
    clients: BTreeMap<String, ClientBaseline>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(from = "ClientTable")]
struct ClientBaseline {
    #[serde(flatten)]
    lists: Lists,
    /// Lists for runs judged by one revision, replacing the ones above for those runs.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    revisions: BTreeMap<Revision, Lists>,
}

/// A client's table as written: read through this because serde ignores `deny_unknown_fields`
/// on a struct it reads through `flatten`, and a misspelt key must not pass unnoticed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientTable {
    #[serde(default)]
    failures: BTreeSet<String>,
    #[serde(default)]
    unstable: BTreeSet<String>,
    #[serde(default)]
    revisions: BTreeMap<Revision, Lists>,
}

impl From<ClientTable> for ClientBaseline {
    fn from(table: ClientTable) -> Self {
        Self { lists: Lists { failures: table.failures, unstable: table.unstable }, revisions: table.revisions }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Lists {
    #[serde(default)]
    failures: BTreeSet<String>,
    /// Scenarios whose verdict is not held against the run either way.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
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

/// The head of a baseline `--write-expected-failures` writes.
const WRITTEN_HEAD: &str = "\
# Known failures per client, written by `mcp-auth-harness run --write-expected-failures` from the
# runs' verdicts (whole scenarios; `unstable` lists kept from the file it replaced). Review it
# like a snapshot: every entry is a failure `--expected-failures` will accept from now on.
";

impl Baseline {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.to_string().trim()))
    }

    /// The lists `client`'s runs judged by `revision` are held to.
    fn lists(&self, client: &str, revision: Revision) -> Option<&Lists> {
        let client = self.clients.get(client)?;
        Some(client.revisions.get(&revision).unwrap_or(&client.lists))
    }

    /// Whether `client`'s verdict on `scenario`, judged by `revision`, is not held against a run
    /// either way: it races.
    pub fn unstable(&self, client: &str, revision: Revision, scenario: &str) -> bool {
        self.lists(client, revision).is_some_and(|l| l.unstable.contains(scenario))
    }

    /// Compares runs with the baseline, entry by entry (`client: entry`, with `@REVISION` after
    /// the client when the entry is a revision's own).
    pub fn compare(&self, runs: &[ScenarioRun]) -> Comparison {
        let mut comparison = Comparison::default();
        let mut seen: BTreeSet<(String, Revision, String)> = BTreeSet::new();
        for run in runs {
            let who = self.who(&run.client, run.revision);
            let listed = self.lists(&run.client, run.revision).map(|l| &l.failures);
            let is_listed = |entry: &str| listed.is_some_and(|l| l.contains(entry));
            if run.verdict() != Verdict::Failed || self.unstable(&run.client, run.revision, &run.scenario) {
                continue;
            }
            let failed_checks: Vec<String> =
                run.failures().map(|c| format!("{}:{}", run.scenario, c.info.id)).collect();
            let expectations_failed = run.failed_expectations().next().is_some();
            if is_listed(&run.scenario) {
                seen.insert((run.client.clone(), run.revision, run.scenario.clone()));
                comparison.expected.push(format!("{who}: {}", run.scenario));
                continue;
            }
            for check in &failed_checks {
                if is_listed(check) {
                    seen.insert((run.client.clone(), run.revision, check.clone()));
                    comparison.expected.push(format!("{who}: {check}"));
                } else {
                    comparison.unexpected.push(format!("{who}: {check}"));
                }
            }
            if expectations_failed {
                comparison.unexpected.push(format!("{who}: {} (step expectations)", run.scenario));
            }
        }
        // An entry is stale when a run it applies to happened and did not fail so.
        let mut stale = BTreeSet::new();
        for run in runs {
            let Some(lists) = self.lists(&run.client, run.revision) else { continue };
            for entry in &lists.failures {
                let of_this_run = entry.split(':').next() == Some(run.scenario.as_str());
                if of_this_run && !seen.contains(&(run.client.clone(), run.revision, entry.clone())) {
                    stale.insert(format!("{}: {entry}", self.who(&run.client, run.revision)));
                }
            }
        }
        comparison.stale = stale.into_iter().collect();
        comparison
    }

    /// `client`, with `@REVISION` when its runs judged by `revision` have lists of their own.
    fn who(&self, client: &str, revision: Revision) -> String {
        let own = self.clients.get(client).is_some_and(|c| c.revisions.contains_key(&revision));
        if own { format!("{client}@{revision}") } else { client.to_owned() }
    }

    /// The baseline that accepts exactly the runs' failed scenarios: per client, the lists of the
    /// newest revision that judged its runs, and a revision's own lists for runs judged by any
    /// other. `unstable` lists are kept from `previous` (one run cannot tell a race).
    pub fn of_runs(runs: &[ScenarioRun], previous: Option<&Baseline>) -> Baseline {
        // Per client and revision: the lists, and the scenarios run.
        let mut by_client: BTreeMap<&str, BTreeMap<Revision, (Lists, BTreeSet<&str>)>> = BTreeMap::new();
        for run in runs {
            let (lists, ran) = by_client.entry(&run.client).or_default().entry(run.revision).or_default();
            ran.insert(&run.scenario);
            if run.verdict() == Verdict::Failed {
                lists.failures.insert(run.scenario.clone());
            }
        }
        let mut clients = BTreeMap::new();
        for (client, mut by_revision) in by_client {
            for (revision, (lists, _)) in &mut by_revision {
                let kept = previous.and_then(|p| p.lists(client, *revision)).map(|l| l.unstable.clone());
                lists.unstable = kept.unwrap_or_default();
                lists.failures.retain(|scenario| !lists.unstable.contains(scenario));
            }
            let newest = *by_revision.keys().next_back().expect("a client with runs has a revision");
            let (lists, _) = by_revision.remove(&newest).unwrap_or_default();
            // A revision needs lists of its own only where the newest one's would judge its runs
            // otherwise.
            let revisions: BTreeMap<Revision, Lists> = by_revision
                .into_iter()
                .filter(|(_, (own, ran))| {
                    own.unstable != lists.unstable
                        || ran.iter().any(|s| own.failures.contains(*s) != lists.failures.contains(*s))
                })
                .map(|(revision, (own, _))| (revision, own))
                .collect();
            if lists.failures.is_empty() && lists.unstable.is_empty() && revisions.is_empty() {
                continue;
            }
            clients.insert(client.to_owned(), ClientBaseline { lists, revisions });
        }
        Baseline { clients }
    }

    /// The file `--expected-failures` reads.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).expect("a baseline serializes");
        format!("{WRITTEN_HEAD}\n{body}")
    }
}
