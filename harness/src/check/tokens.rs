//! How the client uses and renews tokens.

use mock_server::Endpoint;

use super::{Check, CheckInfo, Outcome, Severity, all_exchanges, fail, line, pass};
use crate::runner::ScenarioRun;
use crate::scenario::{ExpireMode, Verb};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            info: CheckInfo {
                id: "token-in-header-only",
                rule: "Access tokens travel only in the Authorization header, never in a query string.",
                spec: "RFC6750 §2.1; MCP-AUTH-2025-11-25 §Token Requirements",
                severity: Severity::Must,
            },
            evaluate: token_in_header_only,
        },
        Check {
            info: CheckInfo {
                id: "token-audience",
                rule: "A bearer token is sent only to the MCP server it was issued for, never to the authorization server or another server.",
                spec: "MCP-AUTH-2025-11-25 §Token Handling, §Access Token Privilege Restriction; RFC8707 §2",
                severity: Severity::Must,
            },
            evaluate: token_audience,
        },
        Check {
            info: CheckInfo {
                id: "refresh-before-relogin",
                rule: "When an access token stops working and a refresh token is held, the client refreshes instead of sending the user back to the browser.",
                spec: "OAuth-2.1 §4.3; MCP-AUTH-2025-11-25 §Token Handling",
                severity: Severity::Should,
            },
            evaluate: refresh_before_relogin,
        },
        Check {
            info: CheckInfo {
                id: "refresh-token-rotation",
                rule: "When a refresh returns a new refresh token, the client stores it and never presents the old one again.",
                spec: "OAuth-2.1 §4.3.1; OAuth-2.1 §7.1 (credential storage)",
                severity: Severity::Must,
            },
            evaluate: refresh_token_rotation,
        },
    ]
}

fn token_in_header_only(run: &ScenarioRun) -> Outcome {
    let mut used = false;
    for (key, exchange) in all_exchanges(run) {
        if exchange.query_param("access_token").is_some() {
            return fail(format!("{key}: access token in the query string"), vec![line(key, exchange)]);
        }
        used |= exchange.endpoint == Endpoint::Mcp && exchange.request_headers.contains_key("authorization");
    }
    if used { pass(Vec::new()) } else { Outcome::NotApplicable }
}

fn token_audience(run: &ScenarioRun) -> Outcome {
    let mut used = false;
    for (key, exchange) in all_exchanges(run) {
        let Some(auth) = exchange.request_headers.get("authorization") else { continue };
        if !auth.starts_with("Bearer") {
            continue;
        }
        used = true;
        if exchange.endpoint != Endpoint::Mcp {
            return fail(
                format!("{key}: bearer token sent to {:?} {}", exchange.endpoint, exchange.path),
                vec![line(key, exchange)],
            );
        }
        // The mock labels tokens it issued; any other token came from somewhere else.
        if auth.contains("[unknown_token") {
            return fail(format!("{key}: a token this server never issued was presented"), vec![line(key, exchange)]);
        }
    }
    if used { pass(Vec::new()) } else { Outcome::NotApplicable }
}

fn refresh_before_relogin(run: &ScenarioRun) -> Outcome {
    let mut judged = false;
    let mut evidence = Vec::new();
    for (index, step) in run.steps.iter().enumerate() {
        if step.verb != Verb::Expire || step.step.expire != ExpireMode::AccessTokens {
            continue;
        }
        let Some(server) = run.servers.get(&step.server) else { continue };
        if server.profile.tokens.refresh == mock_server::profile::RefreshPolicy::None {
            continue;
        }
        // Only the steps after the expiry, up to the next explicit login, are the client's choice.
        let later: Vec<_> = run.steps[index + 1..].iter().take_while(|s| s.verb != Verb::Login).collect();
        let exchanges: Vec<_> = later.iter().flat_map(|s| s.exchanges(run, &step.server)).collect();
        let renewal = exchanges.iter().find(|e| e.endpoint == Endpoint::Authorize || e.endpoint == Endpoint::Token);
        let Some(renewal) = renewal else { continue };
        judged = true;
        evidence.push(line(&step.server, renewal));
        if renewal.endpoint == Endpoint::Authorize || renewal.body_param("grant_type") != Some("refresh_token") {
            return fail(
                format!("{}: after expiry the client re-authorized instead of refreshing", step.server),
                evidence,
            );
        }
    }
    if judged { pass(evidence) } else { Outcome::NotApplicable }
}

fn refresh_token_rotation(run: &ScenarioRun) -> Outcome {
    let mut rotated_out: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut evidence = Vec::new();
    for (key, exchange) in all_exchanges(run) {
        if exchange.endpoint != Endpoint::Token || exchange.body_param("grant_type") != Some("refresh_token") {
            continue;
        }
        // Tokens are the mock's stable labels (`[refresh_token:2]`), never raw values.
        let Some(presented) = exchange.body_param("refresh_token") else { continue };
        if let Some(rotation) = rotated_out.get(presented) {
            return fail(
                format!("{key}: the client presented {presented} again after it was rotated out"),
                vec![rotation.clone(), line(key, exchange)],
            );
        }
        let renewed = exchange.response_body["refresh_token"].as_str().filter(|new| *new != presented);
        if exchange.status == 200 && renewed.is_some() {
            rotated_out.insert(presented.to_owned(), line(key, exchange));
            evidence.push(line(key, exchange));
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}
