//! What people and snapshots see of a run: one line per scenario, failures explained, a summary
//! table, and a redacted snapshot that is stable across runs and machines.

mod markdown;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value, json};

use crate::check::Outcome;
use crate::runner::{ScenarioRun, Verdict};

pub use markdown::markdown;

/// Evidence lines shown per failing check.
const EVIDENCE_SHOWN: usize = 6;

/// `✓ name  client  120 ms`, and for a failure what broke, the clause and the exchanges.
pub fn scenario_block(run: &ScenarioRun) -> String {
    let mark = mark(run.verdict());
    let skipped = run.steps.iter().filter(|s| s.not_applicable.is_some()).count();
    let note =
        if skipped > 0 && run.verdict() == Verdict::Passed { format!("  ({skipped} step n/a)") } else { String::new() };
    let mut out = format!("{mark} {:<44} {:<12} {:>6} ms{note}\n", run.scenario, run.client, run.elapsed.as_millis());
    if let Some(why) = &run.not_judged {
        let _ = writeln!(out, "    – not judged: {why}");
    }
    for (index, step) in run.steps.iter().enumerate() {
        if let Some(why) = &step.not_applicable {
            let _ = writeln!(out, "    – step {} ({}) n/a: {why}", index + 1, step.verb);
        }
    }
    for (position, step, e) in run.failed_expectations() {
        let _ = writeln!(
            out,
            "    ✗ step {position} ({}, line {}): expected {} {}, got {}",
            step.verb, step.line, e.field, e.expected, e.actual
        );
    }
    for check in run.failures() {
        let Outcome::Fail { reason, evidence } = &check.outcome else { continue };
        let severity = check.clause().map_or_else(String::new, |c| format!(" [{:?}]", c.severity));
        let _ = writeln!(out, "    ✗ {}{severity} {}", check.info.id, check.info.rule);
        let _ = writeln!(out, "      spec: {}", check.spec());
        let _ = writeln!(out, "      why:  {reason}");
        for line in evidence.iter().rev().take(EVIDENCE_SHOWN).rev() {
            let _ = writeln!(out, "        {line}");
        }
    }
    if let Some(kept) = &run.kept {
        let _ = writeln!(out, "    sandbox kept at {}", kept.display());
    }
    out
}

/// The one-character verdict: ✓ passed, ✗ failed, – not applicable.
fn mark(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "✓",
        Verdict::Failed => "✗",
        Verdict::NotApplicable => "–",
    }
}

/// What each run is listed under: its client, and the revision that judged it when the same runs
/// were judged by several (`run --spec A --spec B`; a scenario pinned to its own revision alone
/// does not split a client's column).
pub fn columns(runs: &[ScenarioRun]) -> Vec<String> {
    let mut revisions: BTreeMap<(&str, &str), std::collections::BTreeSet<crate::revision::Revision>> = BTreeMap::new();
    for run in runs {
        revisions.entry((run.client.as_str(), run.scenario.as_str())).or_default().insert(run.revision);
    }
    let split: std::collections::BTreeSet<&str> =
        revisions.iter().filter(|(_, judged)| judged.len() > 1).map(|((client, _), _)| *client).collect();
    runs.iter()
        .map(|run| match split.contains(run.client.as_str()) {
            true => format!("{} @{}", run.client, run.revision),
            false => run.client.clone(),
        })
        .collect()
}

/// Counts per client, and a scenario × client matrix when more than one client ran; then the
/// revisions that judged them.
pub fn summary(runs: &[ScenarioRun]) -> String {
    let columns = columns(runs);
    let mut clients: Vec<&str> = columns.iter().map(String::as_str).collect();
    clients.sort_unstable();
    clients.dedup();
    let mut out = String::new();
    if clients.len() > 1 {
        let mut matrix: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
        for (run, column) in runs.iter().zip(&columns) {
            let partial = run.steps.iter().any(|s| s.not_applicable.is_some());
            let mark = match (run.verdict(), partial) {
                (Verdict::Passed, false) => "pass",
                (Verdict::Passed, true) => "pass*",
                (Verdict::Failed, _) => "FAIL",
                (Verdict::NotApplicable, _) => "n/a",
            };
            matrix.entry(run.scenario.as_str()).or_default().insert(column.as_str(), mark);
        }
        let _ = write!(out, "\n{:<44}", "scenario");
        for client in &clients {
            let _ = write!(out, " {client:>12}");
        }
        out.push('\n');
        for (scenario, row) in &matrix {
            let _ = write!(out, "{scenario:<44}");
            for client in &clients {
                let _ = write!(out, " {:>12}", row.get(client).copied().unwrap_or(""));
            }
            out.push('\n');
        }
        if runs.iter().any(|r| r.steps.iter().any(|s| s.not_applicable.is_some())) {
            out.push_str("* some steps were not applicable to the client (see its lines above)\n");
        }
    }
    let width = clients.iter().map(|c| c.len()).max().unwrap_or(0).max(24);
    let _ = writeln!(
        out,
        "\n{:<width$} {:>6} {:>6} {:>6} {:>6} {:>9}",
        "client", "total", "passed", "failed", "n/a", "checks✗"
    );
    for client in &clients {
        let mine: Vec<&ScenarioRun> = runs.iter().zip(&columns).filter(|(_, c)| c == client).map(|(r, _)| r).collect();
        let count = |v: Verdict| mine.iter().filter(|r| r.verdict() == v).count();
        let failed_checks: usize = mine.iter().map(|r| r.failures().count()).sum();
        let _ = writeln!(
            out,
            "{client:<width$} {:>6} {:>6} {:>6} {:>6} {:>9}",
            mine.len(),
            count(Verdict::Passed),
            count(Verdict::Failed),
            count(Verdict::NotApplicable),
            failed_checks
        );
    }
    let mut revisions: BTreeMap<crate::revision::Revision, usize> = BTreeMap::new();
    for run in runs {
        *revisions.entry(run.revision).or_default() += 1;
    }
    let judged: Vec<String> = revisions.iter().map(|(r, n)| format!("MCP {r} ({n} runs)")).collect();
    if !judged.is_empty() {
        let _ = writeln!(out, "judged by {}", judged.join(", "));
    }
    out
}

/// JUnit XML: one suite per client, one test case per scenario; a failure's message names the
/// failed checks and its text is the human block (clauses and evidence included), so CI systems
/// show why.
pub fn junit(runs: &[ScenarioRun]) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("mcp-auth-harness");
    let mut suites: BTreeMap<String, TestSuite> = BTreeMap::new();
    for (run, suite) in runs.iter().zip(columns(runs)) {
        let status = match run.verdict() {
            Verdict::Passed => TestCaseStatus::success(),
            Verdict::NotApplicable => {
                let mut skipped = TestCaseStatus::skipped();
                skipped.set_message("no step was applicable to this client");
                skipped
            }
            Verdict::Failed => {
                let mut failure = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let checks: Vec<&str> = run.failures().map(|c| c.info.id).collect();
                let message = if checks.is_empty() {
                    "step expectations failed".to_owned()
                } else {
                    format!("failed checks: {}", checks.join(", "))
                };
                failure.set_message(message).set_description(scenario_block(run));
                failure
            }
        };
        let mut case = TestCase::new(run.scenario.as_str(), status);
        case.set_classname(suite.as_str()).set_time(run.elapsed);
        case.properties.push(quick_junit::Property::new("mcp-revision", run.revision.name()));
        suites.entry(suite.clone()).or_insert_with(|| TestSuite::new(suite.as_str())).add_test_case(case);
    }
    report.add_test_suites(suites.into_values());
    report.to_string().expect("JUnit reports of plain strings serialize")
}

/// The official conformance suite's `checks.json` shape (`ConformanceCheck`), one list per run,
/// so results can be read by the same tooling: SUCCESS, FAILURE, or SKIPPED for checks a run gave
/// nothing to judge.
pub fn conformance_checks(run: &ScenarioRun) -> Value {
    let timestamp = chrono::Utc::now().to_rfc3339();
    let checks: Vec<Value> = run
        .checks
        .iter()
        .map(|check| {
            let references: Vec<Value> = check.spec().split(';').map(|r| json!({ "id": r.trim() })).collect();
            let mut entry = json!({
                "id": check.info.id,
                "name": check.info.id,
                "description": check.info.rule,
                "timestamp": timestamp,
                "specReferences": references,
            });
            match &check.outcome {
                Outcome::Pass { evidence } => {
                    entry["status"] = json!("SUCCESS");
                    entry["details"] = json!({ "evidence": evidence });
                }
                Outcome::Fail { reason, evidence } => {
                    entry["status"] = json!("FAILURE");
                    entry["errorMessage"] = json!(reason);
                    entry["details"] = json!({ "evidence": evidence });
                }
                Outcome::NotApplicable => entry["status"] = json!("SKIPPED"),
            }
            entry
        })
        .collect();
    json!(checks)
}

/// The run as a snapshot: what the client ended up with and the exchange it performed, with
/// everything that differs between runs (ports, client ids, request ids) replaced.
pub fn snapshot(run: &ScenarioRun) -> Value {
    let first_group = run.steps.iter().position(|s| s.step.together.is_some());
    let steps: Vec<Value> = run
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            // Sorted, because real clients probe several servers and send MCP requests
            // concurrently; the order lives in the transcript, and the checks that care about
            // order judge it there. Authenticated MCP traffic is a set, and session teardown
            // (which happens at varying moments, or not at all when a client is stopped) is left out.
            let mut exchanges = Vec::new();
            let mut mcp_calls = std::collections::BTreeSet::new();
            for key in run.servers.keys() {
                for e in step.exchanges(run, key) {
                    let line = format!("{key}: {}", e.describe());
                    if is_session_traffic(e) {
                        if e.method != "DELETE" && e.method != "GET" {
                            mcp_calls.insert(line);
                        }
                    } else {
                        exchanges.push(line);
                    }
                }
            }
            exchanges.sort();
            let mut value = json!({
                "do": step.verb,
                "entry": step.entry,
                "not_applicable": step.not_applicable,
                "error": step.reply.error,
                "statuses": step.reply.statuses,
                "tools": step.reply.tools.as_ref().map(|t| t.iter().map(|t| t.name.clone()).collect::<Vec<_>>()),
                "content": step.reply.content,
                "state": step.state,
                "browser": step.visits.iter().map(|v| json!({"action": v.action, "hops": v.hops, "end": v.end})).collect::<Vec<_>>(),
                "exchanges": exchanges,
                "mcp_calls": mcp_calls,
                "expectations": run.expectations_of(index).iter().map(|e| json!({e.field.as_str(): if e.passed { "held" } else { "FAILED" }})).collect::<Vec<_>>(),
            });
            // Only change steps carry the key, so snapshots of scenarios without one keep their shape.
            if let Some(change) = &step.step.change {
                value["change"] = json!(format!("{}: {change}", step.server));
            }
            // How many tokens a group's steps had issued depends on how they happened to
            // interleave, and so do the labels of every token from then on: from the first group
            // on, a label is shown without its number (the checks judge the numbered transcript).
            if first_group.is_some_and(|first| index >= first) {
                for field in ["exchanges", "mcp_calls"] {
                    let lines = value[field].as_array().into_iter().flatten().filter_map(Value::as_str);
                    let lines: Vec<String> = lines.map(|l| LABEL_NUMBER.replace_all(l, "[$1]").into_owned()).collect();
                    value[field] = json!(lines);
                }
            }
            // A group's steps share one window of exchanges: shown once, on its first step, as
            // the set of what was sent (how many of each is the interleaving's doing too).
            if let (Some(group), Some(label)) = (run.group_of(index), &step.step.together) {
                if index == group.start {
                    value["together"] = json!(format!("{label}: steps {} to {}", group.start + 1, group.end));
                    for field in ["exchanges", "mcp_calls"] {
                        let lines = value[field].as_array().into_iter().flatten().filter_map(Value::as_str);
                        value[field] = json!(lines.collect::<std::collections::BTreeSet<_>>());
                    }
                } else {
                    value["together"] = json!(format!("{label}: with step {}", group.start + 1));
                    let fields = value.as_object_mut().expect("a step is an object");
                    fields.remove("exchanges");
                    fields.remove("mcp_calls");
                }
            }
            value
        })
        .collect();
    let checks: BTreeMap<&str, &str> = run
        .checks
        .iter()
        .map(|c| {
            let verdict = match c.outcome {
                Outcome::Pass { .. } => "pass",
                Outcome::Fail { .. } => "FAIL",
                Outcome::NotApplicable => "n/a",
            };
            (c.info.id, verdict)
        })
        .collect();
    let value = json!({
        "scenario": run.scenario,
        "client": run.client,
        "verdict": run.verdict(),
        "revision": run.revision,
        "servers": run.servers.iter().map(|(k, s)| (k.clone(), json!({"preset": s.preset, "mcp": s.mcp_uri, "issuer": s.issuer}))).collect::<BTreeMap<_, _>>(),
        "steps": steps,
        "checks": checks,
    });
    let mut value = redact(run, value);
    // Clients sort credentials by their key, which holds a random port: two servers' keys are in
    // a stable order only once the ports are redacted.
    for step in value["steps"].as_array_mut().into_iter().flatten() {
        if let Some(credentials) = step["state"]["credentials"].as_array_mut() {
            credentials.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
        }
    }
    value
}

/// Authenticated MCP traffic that went through, and the stream a client opens or closes with a
/// working token (a GET or DELETE racing the session's end may find it gone: 404).
fn is_session_traffic(exchange: &mock_server::Exchange) -> bool {
    let teardown = matches!(exchange.method.as_str(), "GET" | "DELETE") && !matches!(exchange.status, 401 | 403);
    exchange.endpoint == mock_server::Endpoint::Mcp
        && exchange.request_headers.contains_key("authorization")
        && (exchange.status < 400 || teardown)
}

/// The number in a secret's label (`[access_token:3]`).
static LABEL_NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[(\w+):\d+\]").expect("valid regex"));
static CLIENT_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(client|consent)-[A-Za-z0-9_-]{32}").expect("valid regex"));
static CALLBACK_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"/callback/[A-Za-z0-9_-]{12}").expect("valid regex"));
static LOOPBACK_PORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(127\.0\.0\.1|localhost):\d+").expect("valid regex"));
/// A random value a client quotes in an error (a `state`, a verifier): 32 or more base64url
/// characters mixing digits and both cases, which no word or metadata name does.
static RANDOM_VALUE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9_-]{32,}").expect("valid regex"));
/// A process id some clients put before each log line (`[12345] Connecting…`).
static PROCESS_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(^|\s)\[\d+\] ").expect("valid regex"));

/// Replaces volatile values in every string of `value`.
fn redact(run: &ScenarioRun, value: Value) -> Value {
    let mut origins: Vec<(String, String)> = Vec::new();
    for (key, server) in &run.servers {
        let origin = |u: &str| url::Url::parse(u).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        let rs = origin(&server.mcp_uri);
        let asv = origin(&server.issuer);
        if asv != rs {
            origins.push((asv, format!("http://[{key}-as]")));
        }
        origins.push((rs, format!("http://[{key}]")));
    }
    map_strings(value, &|s: &str| {
        let mut s = s.to_owned();
        for (origin, name) in &origins {
            s = s.replace(origin.as_str(), name);
        }
        let s = CLIENT_ID.replace_all(&s, "[$1-id]");
        let s = CALLBACK_ID.replace_all(&s, "/callback/[id]");
        let s = PROCESS_ID.replace_all(&s, "$1[pid] ");
        let s = RANDOM_VALUE.replace_all(&s, |found: &regex::Captures| {
            let value = &found[0];
            let mixed = [char::is_ascii_digit, char::is_ascii_uppercase, char::is_ascii_lowercase]
                .iter()
                .all(|class| value.chars().any(|c| class(&c)));
            if mixed { "[random]".to_owned() } else { value.to_owned() }
        });
        LOOPBACK_PORT.replace_all(&s, "$1:[port]").into_owned()
    })
}

fn map_strings(value: Value, f: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(f(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| map_strings(v, f)).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (f(&k), map_strings(v, f))).collect()),
        other => other,
    }
}
