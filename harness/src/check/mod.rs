//! Checks: each one rule from a spec, evaluated over a whole run, with the exchanges that prove
//! its verdict.
//!
//! A check decides for itself whether a run gives it anything to judge; when it does not, it is
//! "not applicable", which is neither a pass nor a failure.

mod authorization;
mod binding;
mod client_credentials;
mod client_state;
mod discovery;
mod dpop;
mod enterprise_managed;
mod extensions;
mod registration;
mod tokens;
mod workload_identity;

use serde::{Deserialize, Deserializer, Serialize};

use mock_server::{Endpoint, Exchange};

use crate::observation::Observation;
use crate::revision::Revision;

/// How strongly the spec words the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Must,
    Should,
    /// No sentence of the specification requires it; the harness does, on the text the clause
    /// names (openai/codex#20009: a status that says logged in when the tools are not usable).
    Harness,
}

/// What a check is.
#[derive(Debug, Clone, Copy)]
pub struct CheckInfo {
    /// Stable id, used in reports and baselines.
    pub id: &'static str,
    /// The rule, in one sentence.
    pub rule: &'static str,
    /// The clause that makes it a rule, revision by revision, oldest first: each holds from its
    /// revision until the next one; before the first, the rule is not in the specification.
    pub clauses: &'static [Clause],
}

impl CheckInfo {
    /// The clause in force in `revision`, if the rule is in that revision at all.
    pub fn clause(&self, revision: Revision) -> Option<&'static Clause> {
        self.clauses.iter().rev().find(|c| c.since <= revision)
    }

    /// The clause as reports cite it in `revision`, or that the rule is not in it.
    pub fn cite(&self, revision: Revision) -> String {
        self.clause(revision).map_or_else(|| format!("not in MCP {revision}"), |c| c.spec.to_owned())
    }
}

/// Where a rule is written, from which revision on, and how strongly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clause {
    pub since: Revision,
    /// The clause it enforces, as that revision words it.
    pub spec: &'static str,
    pub severity: Severity,
}

/// A check's verdict on one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "verdict")]
pub enum Outcome {
    Pass { evidence: Vec<String> },
    Fail { reason: String, evidence: Vec<String> },
    NotApplicable,
}

/// A check with its verdict, judged by one revision.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub info: CheckInfo,
    /// The revision that judged it.
    pub revision: Revision,
    pub outcome: Outcome,
}

impl CheckResult {
    /// The clause the verdict rests on; `None` when the rule is not in the revision (the verdict
    /// is then "not applicable").
    pub fn clause(&self) -> Option<&'static Clause> {
        self.info.clause(self.revision)
    }

    /// The clause as reports cite it.
    pub fn spec(&self) -> String {
        self.info.cite(self.revision)
    }

    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Fail { .. })
    }
}

/// How a result is written: id, rule, the revision and the clause it was judged by, the verdict.
#[derive(Serialize, Deserialize)]
struct Recorded {
    id: String,
    #[serde(default)]
    rule: String,
    revision: Revision,
    #[serde(default)]
    spec: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    severity: Option<Severity>,
    #[serde(flatten)]
    outcome: Outcome,
}

impl Serialize for CheckResult {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Recorded {
            id: self.info.id.to_owned(),
            rule: self.info.rule.to_owned(),
            revision: self.revision,
            spec: self.spec(),
            severity: self.clause().map(|c| c.severity),
            outcome: self.outcome.clone(),
        }
        .serialize(serializer)
    }
}

/// A recorded result names its check by id; the rule and clause come from this build's
/// checks, so a results file from a build with other checks is refused rather than misread.
impl<'de> Deserialize<'de> for CheckResult {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let recorded = Recorded::deserialize(deserializer)?;
        let check = all()
            .into_iter()
            .find(|c| c.info.id == recorded.id)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown check `{}`", recorded.id)))?;
        Ok(Self { info: check.info, revision: recorded.revision, outcome: recorded.outcome })
    }
}

/// A rule over a run.
pub struct Check {
    pub info: CheckInfo,
    evaluate: fn(&Observation) -> Outcome,
}

/// Every check, in report order.
pub fn all() -> Vec<Check> {
    let mut checks = Vec::new();
    checks.extend(discovery::checks());
    checks.extend(registration::checks());
    checks.extend(authorization::checks());
    checks.extend(tokens::checks());
    checks.extend(binding::checks());
    checks.extend(client_state::checks());
    checks.extend(client_credentials::checks());
    checks.extend(enterprise_managed::checks());
    checks.extend(dpop::checks());
    checks.extend(workload_identity::checks());
    checks.extend(extensions::checks());
    checks
}

/// Evaluates every check over a run, judged by `revision`: a rule that is not in that revision
/// is not applicable, never passed. A check whose expectation itself changes between revisions
/// (`step-up`) reads the revision from the observation, so a run judged by another revision than
/// its own is judged as a copy that names it.
pub fn evaluate_all(run: &Observation, revision: Revision) -> Vec<CheckResult> {
    let run = match run.revision == revision {
        true => std::borrow::Cow::Borrowed(run),
        false => std::borrow::Cow::Owned(Observation { revision, ..run.clone() }),
    };
    let run = run.as_ref();
    all()
        .into_iter()
        .map(|check| {
            let outcome = match check.info.clause(revision) {
                Some(_) => (check.evaluate)(run),
                None => Outcome::NotApplicable,
            };
            CheckResult { info: check.info, revision, outcome }
        })
        .collect()
}

// --- helpers shared by the check modules -----------------------------------------------------

/// An exchange of a named server, for evidence lines.
fn line(server: &str, exchange: &Exchange) -> String {
    format!("{server}: {}", exchange.summary())
}

fn pass(evidence: Vec<String>) -> Outcome {
    Outcome::Pass { evidence }
}

fn fail(reason: impl Into<String>, evidence: Vec<String>) -> Outcome {
    Outcome::Fail { reason: reason.into(), evidence }
}

/// Judges each of `judged` (an exchange with its server's key) by `wrong`, which says what is
/// wrong with it: the first wrong one fails the check, with the exchanges judged so far as
/// evidence. With nothing to judge the check is not applicable; else it passes on all of them.
fn each_exchange<'a>(
    judged: impl IntoIterator<Item = (&'a str, &'a Exchange)>,
    mut wrong: impl FnMut(&'a str, &'a Exchange) -> Option<String>,
) -> Outcome {
    let mut evidence = Vec::new();
    for (key, exchange) in judged {
        evidence.push(line(key, exchange));
        if let Some(why) = wrong(key, exchange) {
            return fail(format!("{key}: {why}"), evidence);
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}

/// Every server's exchanges, with the server's key.
fn all_exchanges(run: &Observation) -> impl Iterator<Item = (&str, &Exchange)> {
    run.servers.iter().flat_map(|(key, server)| server.exchanges.iter().map(move |e| (key.as_str(), e)))
}

/// The canonical URIs of a server's MCP endpoints, one per path.
fn canonical_uris(server: &crate::observation::ServerRecord) -> Vec<String> {
    let base = url::Url::parse(&server.mcp_uri);
    server
        .profile
        .resource
        .paths
        .iter()
        .map(|p| base.clone().and_then(|u| u.join(p)).map(|u| u.to_string()).unwrap_or_default())
        .collect()
}

/// The resources `key`'s authorization server rightly issues tokens for: its own server's, and
/// those of every server whose protected resource metadata, as served, named its issuer (a
/// resource moved to it, `resource_metadata.authorization_servers`).
fn resources_of_authorization_server(run: &Observation, key: &str) -> Vec<String> {
    let issuer = run.servers[key].issuer.as_str();
    run.servers
        .iter()
        .filter(|(other, server)| {
            other.as_str() == key
                || server.exchanges.iter().any(|e| {
                    e.endpoint == Endpoint::ResourceMetadata
                        && e.status == 200
                        && e.response_body["authorization_servers"]
                            .as_array()
                            .is_some_and(|named| named.iter().any(|n| n == issuer))
                })
        })
        .flat_map(|(_, server)| canonical_uris(server))
        .collect()
}

/// Whether the client went on to ask for authorization (registration, authorize or token).
fn proceeded(exchanges: &[Exchange]) -> Option<&Exchange> {
    exchanges.iter().find(|e| matches!(e.endpoint, Endpoint::Registration | Endpoint::Authorize | Endpoint::Token))
}

/// Authorization-code token requests.
fn code_redemptions(exchanges: &[Exchange]) -> impl Iterator<Item = &Exchange> {
    exchanges
        .iter()
        .filter(|e| e.endpoint == Endpoint::Token && e.body_param("grant_type") == Some("authorization_code"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_are_unique_and_cite_a_spec() {
        let checks = all();
        let mut ids: Vec<_> = checks.iter().map(|c| c.info.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), checks.len());
        assert!(checks.iter().all(|c| c.info.rule.ends_with('.')));
    }

    #[test]
    fn every_check_cites_a_clause_in_the_latest_revision_and_clauses_go_oldest_first() {
        for check in all() {
            let clauses = check.info.clauses;
            assert!(!clauses.is_empty() && clauses.iter().all(|c| !c.spec.is_empty()), "{}", check.info.id);
            assert!(clauses.windows(2).all(|w| w[0].since < w[1].since), "{}: oldest first", check.info.id);
            assert!(check.info.clause(Revision::LATEST).is_some(), "{} is not in the latest revision", check.info.id);
        }
    }
}
