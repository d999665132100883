//! Step expectations (`expect = { … }`): each one judged against what the client said and sent
//! during its step. A verdict, kept apart from the observation it reads.

use mock_server::Exchange;
use serde::{Deserialize, Serialize};

use crate::client::{Reply, ToolInfo};
use crate::scenario::{Outcome, Step, ToolsExpectation, ToolsKeyword};

/// A step expectation and whether it held.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpectationResult {
    pub field: String,
    pub expected: String,
    pub actual: String,
    pub passed: bool,
}

/// The step's expectations against what the client said and, `during` the step, sent; `served`
/// gives what the step's server serves as tools at that moment (asked only by `tools = "served"`).
pub fn judge(
    step: &Step,
    reply: &Reply,
    during: &[Exchange],
    served: impl FnOnce() -> Vec<ToolInfo>,
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
                let served = served();
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
