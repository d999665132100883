//! How the client uses and renews tokens.

use mock_server::Endpoint;

use super::{Check, CheckInfo, Clause, Outcome, Severity, all_exchanges, each_exchange, fail, line, pass};
use crate::observation::Observation;
use crate::revision::Revision;
use mock_server::profile::RefreshPolicy;

use crate::scenario::{ExpireMode, ServerAction, ServerChange, Verb};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            info: CheckInfo {
                id: "token-in-header-only",
                rule: "Access tokens travel only in the Authorization header, never in a query string.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Token Requirements; OAuth-2.1 §5.1.1 (draft-12); RFC6750 §2.1",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Token Requirements; OAuth-2.1 §5.1.1; RFC6750 §2.1",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Token Requirements; OAuth-2.1 §5.1.1; RFC6750 §2.1",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 §Token Requirements; OAuth-2.1 §5.1.1; RFC6750 §2.1",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: token_in_header_only,
        },
        Check {
            info: CheckInfo {
                id: "token-audience",
                rule: "A bearer token is sent only to the MCP server it was issued for, never to the authorization server or another server.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Implementation Requirements; OAuth-2.1 §7.1.3.1 (draft-12)",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Token Handling, §Access Token Privilege Restriction, §Security Considerations; OAuth-2.1 §7.1.3.1; RFC8707 §2",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Token Handling, §Access Token Privilege Restriction, §Security Considerations; OAuth-2.1 §7.1.3.1; RFC8707 §2",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 §Token Handling; (security-considerations) §Access Token Privilege Restriction; (authorization-server-discovery) §Authorization Server Location; OAuth-2.1 §7.1.3.1; RFC8707 §2",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: token_audience,
        },
        Check {
            info: CheckInfo {
                id: "refresh-before-relogin",
                rule: "While it holds a refresh token that works, the client refreshes instead of registering or sending the user back to the browser (unless the user asked to log in, or the server asked for more scope).",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Local clients as Public OAuth 2.1 Clients; OAuth-2.1 §1.3.2, §4.3 (draft-12)",
                        severity: Severity::Should,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Roles; OAuth-2.1 §1.3.2, §4.3",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Roles; OAuth-2.1 §1.3.2, §4.3",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 §Refresh Tokens; OAuth-2.1 §1.3.2, §4.3",
                        severity: Severity::Harness,
                    },
                ],
            },
            evaluate: refresh_before_relogin,
        },
        Check {
            info: CheckInfo {
                id: "refresh-token-rotation",
                rule: "When a refresh returns a new refresh token, the client stores it and never presents the old one again.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Overview, §Implementation Requirements; OAuth-2.1 §4.3.2 (draft-12)",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Roles, §Token Theft; OAuth-2.1 §4.3.2, §4.3.1",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Roles, §Token Theft; OAuth-2.1 §4.3.2, §4.3.1",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 §Refresh Tokens; (security-considerations) §Token Theft; OAuth-2.1 §4.3.2",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: refresh_token_rotation,
        },
        Check {
            info: CheckInfo {
                id: "offline-access",
                rule: "The client asks for `offline_access` only when the authorization server lists it in `scopes_supported`.",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "MCP-AUTH-2026-07-28 §Refresh Tokens",
                    severity: Severity::Should,
                }],
            },
            evaluate: offline_access,
        },
    ]
}

/// The text's permission is conditional ("MAY add offline_access ... when the Authorization
/// Server metadata contains it"); read as exclusive, as the official suite's
/// auth/offline-access-not-supported does, asking for it otherwise is the failure.
fn offline_access(run: &Observation) -> Outcome {
    let asked = all_exchanges(run).filter(|(_, e)| {
        e.endpoint == Endpoint::Authorize
            || (e.endpoint == Endpoint::Token && e.body_param("grant_type") == Some("authorization_code"))
    });
    each_exchange(asked, |key, request| {
        let listed =
            run.servers[key].profile.authorization_server.scopes_supported.iter().any(|s| s == "offline_access");
        let scope = request.query_param("scope").or_else(|| request.body_param("scope")).unwrap_or_default();
        (!listed && scope.split_whitespace().any(|s| s == "offline_access"))
            .then(|| "asked for offline_access, which the authorization server does not list".to_owned())
    })
}

fn token_in_header_only(run: &Observation) -> Outcome {
    let mut used = false;
    for (key, exchange) in all_exchanges(run) {
        if exchange.query_param("access_token").is_some() {
            return fail(format!("{key}: access token in the query string"), vec![line(key, exchange)]);
        }
        used |= exchange.endpoint == Endpoint::Mcp && exchange.request_headers.contains_key("authorization");
    }
    if used { pass(Vec::new()) } else { Outcome::NotApplicable }
}

fn token_audience(run: &Observation) -> Outcome {
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
        // The mock labels tokens it issued; any other token came from somewhere else. One its
        // resource accepted was issued for it by an authorization server its metadata names
        // (another server's, after `resource_metadata.authorization_servers`): the resource
        // checks the audience.
        if auth.contains("[unknown_token") && exchange.status >= 400 {
            return fail(format!("{key}: a token this server never issued was presented"), vec![line(key, exchange)]);
        }
    }
    if used { pass(Vec::new()) } else { Outcome::NotApplicable }
}

/// Walks the steps holding, per server entry, the refresh token the client was last given; at
/// any step the user did not ask for a login (`login`), registering or authorizing again for
/// that entry while the token still works is blamed on that step. A holding ends when the token
/// stops working: a refresh is refused, the user logs out or removes the entry, the harness
/// revokes the server's tokens (`expire = "all-tokens"`) or changes the server in a way that can
/// stop them working (a `change` step, but for one that keeps the server's state). A 403
/// `insufficient_scope`
/// earlier in the step makes re-authorization the right answer.
fn refresh_before_relogin(run: &Observation) -> Outcome {
    // (server, entry) → the refresh token label.
    let mut held: std::collections::BTreeMap<(&str, &str), String> = std::collections::BTreeMap::new();
    let mut evidence = Vec::new();
    let mut judged = false;
    for (index, step) in run.steps.iter().enumerate() {
        let (server_key, entry) = (step.server.as_str(), step.entry.as_str());
        match step.verb {
            Verb::Logout | Verb::Remove => {
                held.remove(&(server_key, entry));
            }
            Verb::Expire if step.step.expire == ExpireMode::AccessTokens => {}
            Verb::Expire => held.retain(|(server, _), _| *server != server_key),
            // A server that keeps its state (restarted, stopped and resumed, sessions ended)
            // keeps its refresh tokens working; anything else may not.
            Verb::Change => match step.step.change {
                Some(ServerChange::Action(
                    ServerAction::EndSessions | ServerAction::Restart | ServerAction::Stop | ServerAction::Resume,
                )) => {}
                _ => held.retain(|(server, _), _| *server != server_key),
            },
            Verb::Add | Verb::Login | Verb::List | Verb::Import | Verb::Call | Verb::Restart => {}
        }
        for (key, server) in &run.servers {
            // The token held for this step's entry (any entry's, for a step about none).
            let holding = |held: &std::collections::BTreeMap<(&str, &str), String>| {
                held.iter()
                    .find(|((s, e), _)| *s == key.as_str() && (!step.verb.targets_entry() || *e == entry))
                    .map(|(_, token)| token.clone())
            };
            let mut challenged = false;
            for exchange in step.exchanges(run, key) {
                let refresh = exchange.body_param("grant_type") == Some("refresh_token");
                challenged |= exchange.status == 403;
                let renewal = matches!(exchange.endpoint, Endpoint::Registration | Endpoint::Authorize)
                    || (exchange.endpoint == Endpoint::Token && !refresh);
                // Only a step about one entry is blamed: what a `list` sends may be for an entry
                // that never logged in (a second name for the same server).
                if renewal
                    && !challenged
                    && step.verb != Verb::Login
                    && step.verb.targets_entry()
                    && let Some(token) = holding(&held)
                {
                    return fail(
                        format!(
                            "step {} ({}, line {}): {key}: the client went back to {:?} while holding {token}, which still works",
                            index + 1,
                            step.verb,
                            step.line,
                            exchange.endpoint
                        ),
                        vec![line(key, exchange)],
                    );
                }
                if exchange.endpoint != Endpoint::Token {
                    continue;
                }
                if refresh && holding(&held).is_some() {
                    judged = true;
                    evidence.push(line(key, exchange));
                }
                let issued = exchange.response_body["refresh_token"].as_str();
                match issued {
                    Some(token) if exchange.status == 200 && server.profile.tokens.refresh != RefreshPolicy::None => {
                        held.insert((key.as_str(), entry), token.to_owned());
                    }
                    _ if refresh && exchange.status != 200 => held.retain(|(s, _), _| *s != key.as_str()),
                    _ => {}
                }
            }
        }
    }
    if judged { pass(evidence) } else { Outcome::NotApplicable }
}

fn refresh_token_rotation(run: &Observation) -> Outcome {
    // Keyed by server too: each server labels its own tokens from 1.
    let mut rotated_out: std::collections::BTreeMap<(&str, String), String> = std::collections::BTreeMap::new();
    let mut evidence = Vec::new();
    for (key, exchange) in all_exchanges(run) {
        if exchange.endpoint != Endpoint::Token || exchange.body_param("grant_type") != Some("refresh_token") {
            continue;
        }
        // Tokens are the mock's stable labels (`[refresh_token:2]`), never raw values.
        let Some(presented) = exchange.body_param("refresh_token") else { continue };
        if let Some(rotation) = rotated_out.get(&(key, presented.to_owned())) {
            return fail(
                format!("{key}: the client presented {presented} again after it was rotated out"),
                vec![rotation.clone(), line(key, exchange)],
            );
        }
        let renewed = exchange.response_body["refresh_token"].as_str().filter(|new| *new != presented);
        if exchange.status == 200 && renewed.is_some() {
            rotated_out.insert((key, presented.to_owned()), line(key, exchange));
            evidence.push(line(key, exchange));
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}
