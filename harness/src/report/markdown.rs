//! A Markdown report: a summary table, then per scenario its failing checks and a mermaid
//! sequence diagram of the exchange (client, browser, MCP server, authorization server) with
//! the exchanges that failing checks cite marked on it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use mock_server::{Endpoint, Exchange, Origin};
use regex::Regex;

use crate::check::Outcome;
use crate::runner::{ScenarioRun, Verdict};

/// Evidence lines name exchanges as `server: #seq …`.
static EVIDENCE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^([\w-]+): #(\d+) ").expect("valid regex"));

pub fn markdown(runs: &[ScenarioRun]) -> String {
    let mut out = String::from(
        "# mcp-auth-harness report\n\n| scenario | client | judged by | verdict | failed checks |\n|---|---|---|---|---|\n",
    );
    for run in runs {
        let failed: Vec<String> = run.failures().map(|c| format!("`{}`", c.info.id)).collect();
        let _ = writeln!(
            out,
            "| {} | {} | MCP {} | {} | {} |",
            run.scenario,
            run.client,
            run.revision,
            verdict(run),
            failed.join(", ")
        );
    }
    for run in runs {
        let _ = writeln!(
            out,
            "\n## {} {} — {} (MCP {})\n",
            super::mark(run.verdict()),
            run.scenario,
            run.client,
            run.revision
        );
        if let Some(spoken) = protocols_spoken(run) {
            let _ = writeln!(out, "MCP protocol spoken: {spoken}\n");
        }
        for check in run.failures() {
            if let Outcome::Fail { reason, .. } = &check.outcome {
                let _ = writeln!(
                    out,
                    "- **`{}`** ({}) {} — *{}* — {reason}",
                    check.info.id,
                    check.clause().map_or_else(String::new, |c| format!("{:?}", c.severity)),
                    check.info.rule,
                    check.spec()
                );
            }
        }
        for (position, step, e) in run.failed_expectations() {
            let _ = writeln!(
                out,
                "- step {position} (`{}`): expected {} {}, got {}",
                step.verb, e.field, e.expected, e.actual
            );
        }
        out.push_str("\n```mermaid\n");
        out.push_str(&diagram(run));
        out.push_str("```\n");
    }
    out
}

/// The protocol versions each server served the client's MCP requests under (what `initialize`
/// negotiated, or what 2026-07-28 requests named), e.g. `main 2025-11-25`.
fn protocols_spoken(run: &ScenarioRun) -> Option<String> {
    let spoken: Vec<String> = run
        .servers
        .iter()
        .filter_map(|(name, server)| {
            let versions = server.protocol_versions();
            (!versions.is_empty()).then(|| format!("`{name}` {}", versions.join(", ")))
        })
        .collect();
    (!spoken.is_empty()).then(|| spoken.join("; "))
}

fn verdict(run: &ScenarioRun) -> &'static str {
    match run.verdict() {
        Verdict::Passed => "pass",
        Verdict::Failed => "**FAIL**",
        Verdict::NotApplicable => "n/a",
    }
}

/// Who sent an exchange and who answered it, as diagram participants.
fn parties(server: &str, exchange: &Exchange) -> (&'static str, String) {
    let from = match exchange.endpoint {
        Endpoint::Authorize | Endpoint::Consent => "B",
        _ => "C",
    };
    let to_authorization_server = exchange.origin != Origin::Resource
        || !matches!(
            exchange.endpoint,
            Endpoint::Mcp | Endpoint::ResourceMetadata | Endpoint::NotFound | Endpoint::Fallback
        );
    let to = if to_authorization_server { format!("AS_{server}") } else { format!("RS_{server}") };
    (from, to)
}

/// Mermaid treats `#` and `;` specially in messages.
fn plain(text: &str) -> String {
    text.replace(['#', ';'], " ")
}

fn diagram(run: &ScenarioRun) -> String {
    let mut marks: BTreeMap<(String, u64), Vec<&str>> = BTreeMap::new();
    for check in run.failures() {
        if let Outcome::Fail { evidence, .. } = &check.outcome {
            for line in evidence {
                if let Some(found) = EVIDENCE.captures(line) {
                    let seq = found[2].parse().unwrap_or_default();
                    marks.entry((found[1].to_owned(), seq)).or_default().push(check.info.id);
                }
            }
        }
    }
    let mut out = String::from("sequenceDiagram\n    participant C as Client\n    participant B as Browser\n");
    for key in run.servers.keys() {
        let _ = writeln!(
            out,
            "    participant RS_{key} as MCP server {key}\n    participant AS_{key} as Authorization server {key}"
        );
    }
    // What each step ended with: after its exchanges, or, for a group, after the whole group's.
    let ends = |index: usize| run.group_of(index).map_or(index, |g| g.end - 1);
    let mut notes: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (index, step) in run.steps.iter().enumerate() {
        let who = match run.group_of(index) {
            Some(_) => format!("step {}: ", index + 1),
            None => String::new(),
        };
        if let Some(error) = &step.reply.error {
            let short: String = error.chars().take(80).collect();
            notes.entry(ends(index)).or_default().push(format!("    Note over C: {who}error: {}", plain(&short)));
        }
        for e in run.expectations_of(index).iter().filter(|e| !e.passed) {
            let note = format!("    Note over C: {who}FAILED expected {} {}", e.field, plain(&e.expected));
            notes.entry(ends(index)).or_default().push(note);
        }
    }
    for (index, step) in run.steps.iter().enumerate() {
        let group = run.group_of(index);
        match (&group, &step.step.together) {
            // A group's steps share their exchanges, in the order the servers received them:
            // one note names every step, the exchanges follow once.
            (Some(group), Some(label)) if index == group.start => {
                let steps: Vec<String> =
                    group.clone().map(|i| format!("{} {} {}", i + 1, run.steps[i].verb, run.steps[i].entry)).collect();
                let _ = writeln!(out, "    Note over C,B: together ({}): steps {}", plain(label), steps.join(", "));
            }
            (Some(_), _) => {}
            (None, _) => {
                let _ = writeln!(out, "    Note over C,B: step {} {} {}", index + 1, step.verb, step.entry);
            }
        }
        if let Some(change) = &step.step.change {
            let key = &step.server;
            let _ = writeln!(out, "    Note over RS_{key},AS_{key}: change {}", plain(&change.to_string()));
        }
        let shown_before = group.as_ref().is_some_and(|g| index != g.start);
        for key in run.servers.keys().filter(|_| !shown_before) {
            for exchange in step.exchanges(run, key) {
                let (from, to) = parties(key, exchange);
                let mut request = format!("{} {}", exchange.method, exchange.path);
                if let Some(method) = exchange.mcp_method() {
                    let _ = write!(request, " ({method})");
                }
                if exchange.request_headers.contains_key("authorization") {
                    request.push_str(" with token");
                }
                let mut answer = exchange.status.to_string();
                if let Some(error) = exchange.response_body.get("error").and_then(|e| e.as_str()) {
                    let _ = write!(answer, " {error}");
                }
                let _ = writeln!(out, "    {from}->>{to}: {}\n    {to}-->>{from}: {}", plain(&request), plain(&answer));
                if let Some(ids) = marks.get(&(key.clone(), exchange.seq)) {
                    let _ = writeln!(out, "    Note right of {to}: FAILED {}", ids.join(", "));
                }
            }
        }
        for note in notes.get(&index).into_iter().flatten() {
            let _ = writeln!(out, "{note}");
        }
    }
    out
}
