//! Checks: each one rule from a spec, evaluated over a whole run, with the exchanges that prove
//! its verdict.
//!
//! A check decides for itself whether a run gives it anything to judge; when it does not, it is
//! "not applicable", which is neither a pass nor a failure.

mod authorization;
mod client_state;
mod discovery;
mod tokens;

use serde::{Deserialize, Deserializer, Serialize};

use mock_server::{Endpoint, Exchange};

use crate::runner::ScenarioRun;

/// How strongly the spec words the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Must,
    Should,
}

/// What a check is.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CheckInfo {
    /// Stable id, used in reports and baselines.
    pub id: &'static str,
    /// The rule, in one sentence.
    pub rule: &'static str,
    /// The clause it enforces.
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

/// A check with its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    #[serde(flatten)]
    pub info: CheckInfo,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// A recorded result names its check by id; the rule and clause come from this build's
/// checks, so a results file from a build with other checks is refused rather than misread.
impl<'de> Deserialize<'de> for CheckResult {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Recorded {
            id: String,
            #[serde(flatten)]
            outcome: Outcome,
        }
        let recorded = Recorded::deserialize(deserializer)?;
        let check = all()
            .into_iter()
            .find(|c| c.info.id == recorded.id)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown check `{}`", recorded.id)))?;
        Ok(Self { info: check.info, outcome: recorded.outcome })
    }
}

impl CheckResult {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Fail { .. })
    }
}

/// A rule over a run.
pub struct Check {
    pub info: CheckInfo,
    evaluate: fn(&ScenarioRun) -> Outcome,
}

/// Every check, in report order.
pub fn all() -> Vec<Check> {
    let mut checks = Vec::new();
    checks.extend(discovery::checks());
    checks.extend(authorization::checks());
    checks.extend(tokens::checks());
    checks.extend(client_state::checks());
    checks
}

/// Evaluates every check over a run.
pub fn evaluate_all(run: &ScenarioRun) -> Vec<CheckResult> {
    all().into_iter().map(|check| CheckResult { info: check.info, outcome: (check.evaluate)(run) }).collect()
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

/// Every server's exchanges, with the server's key.
fn all_exchanges(run: &ScenarioRun) -> impl Iterator<Item = (&str, &Exchange)> {
    run.servers.iter().flat_map(|(key, server)| server.exchanges.iter().map(move |e| (key.as_str(), e)))
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
        assert!(checks.iter().all(|c| !c.info.spec.is_empty() && c.info.rule.ends_with('.')));
    }
}
