//! The authorization request and the code exchange: PKCE, resource indicators, scopes, redirect,
//! state, issuer identification, and what the client does when the user says no.

use std::collections::BTreeSet;

use mock_server::{Endpoint, Exchange};

use super::{Check, CheckInfo, Clause, Outcome, Severity, all_exchanges, code_redemptions, fail, line, pass};
use crate::observation::Observation;
use crate::revision::Revision;
use crate::scenario::{BrowserAction, Verb};
use crate::www_authenticate;

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            info: CheckInfo {
                id: "pkce-s256",
                rule: "Every authorization request carries an S256 code challenge and every code redemption the matching verifier.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Implementation Requirements, §Overview; OAuth-2.1 §4.1.1 (draft-12); RFC7636 §4.3, §4.5",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Authorization Code Protection; OAuth-2.1 §7.5.2, §4.1.1; RFC7636 §4.3, §4.5",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Authorization Code Protection; OAuth-2.1 §7.5.2, §4.1.1; RFC7636 §4.3, §4.5",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 (security-considerations) §Authorization Code Protection; OAuth-2.1 §7.5.2, §4.1.1; RFC7636 §4.3, §4.5",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: pkce_s256,
        },
        Check {
            info: CheckInfo {
                id: "pkce-support-verified",
                rule: "The client refuses to authorize when the authorization server's metadata does not advertise PKCE support.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Authorization Code Protection",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 (security-considerations) §Authorization Code Protection",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: pkce_support_verified,
        },
        Check {
            info: CheckInfo {
                id: "resource-parameter",
                rule: "Authorization and token requests name the MCP server's canonical URI in `resource`.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Resource Parameter Implementation; RFC8707 §2",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Resource Parameter Implementation; RFC8707 §2",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 §Resource Parameter Implementation; RFC8707 §2",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: resource_parameter,
        },
        Check {
            info: CheckInfo {
                id: "scope-selection",
                rule: "The first authorization request asks for the challenge's scope, else the resource metadata's scopes_supported, else no scope.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Scope Selection Strategy",
                        severity: Severity::Should,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 §Scope Selection Strategy",
                        severity: Severity::Should,
                    },
                ],
            },
            evaluate: scope_selection,
        },
        Check {
            info: CheckInfo {
                id: "step-up",
                rule: "After 403 insufficient_scope the client re-authorizes for the challenged scopes (from 2026-07-28, together with the scopes it asked for before), and retries no more than a few times.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Scope Challenge Handling, §Step-Up Authorization Flow; RFC6750 §3.1",
                        severity: Severity::Should,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 §Scope Challenge Handling, §Step-Up Authorization Flow, §Scope Selection Strategy; RFC6750 §3.1",
                        severity: Severity::Should,
                    },
                ],
            },
            evaluate: step_up,
        },
        Check {
            info: CheckInfo {
                id: "loopback-redirect",
                rule: "The redirect URIs the client registers and authorizes with are http loopback URIs.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Security Considerations; OAuth-2.1 §8.4.2 (draft-12); RFC8252 §7.3",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Communication Security, §Open Redirection; OAuth-2.1 §8.4.2; RFC8252 §7.3",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Communication Security, §Open Redirection; OAuth-2.1 §8.4.2; RFC8252 §7.3",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 (security-considerations) §Communication Security, §Open Redirection; (client-registration) §Application Type and Redirect URI Constraints; OAuth-2.1 §8.4.2; RFC8252 §7.3",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: loopback_redirect,
        },
        Check {
            info: CheckInfo {
                id: "state-round-trip",
                rule: "Authorization requests carry `state`, and a response whose state was tampered with is not redeemed.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Open Redirection; OAuth-2.1 §4.1.1, §7.9",
                        severity: Severity::Should,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Open Redirection; OAuth-2.1 §4.1.1, §7.9",
                        severity: Severity::Should,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 (security-considerations) §Open Redirection; OAuth-2.1 §4.1.1, §7.9",
                        severity: Severity::Should,
                    },
                ],
            },
            evaluate: state_round_trip,
        },
        Check {
            info: CheckInfo {
                id: "iss-validated",
                rule: "An authorization response whose `iss` differs from the issuer, compared exactly and whether or not the server advertises `iss`, or lacks the `iss` the server advertises, is not redeemed, and its error fields are not shown.",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "MCP-AUTH-2026-07-28 §Authorization Response Validation; RFC9207 §2.4",
                    severity: Severity::Must,
                }],
            },
            evaluate: iss_validated,
        },
        Check {
            info: CheckInfo {
                id: "denial-handled",
                rule: "When the user denies or abandons consent, login reports failure and no token is requested.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Overview; OAuth-2.1 §4.1.2.1 (draft-12)",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Roles; OAuth-2.1 §4.1.2.1",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Roles; OAuth-2.1 §4.1.2.1",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 §Roles, §Authorization Response Validation; OAuth-2.1 §4.1.2.1",
                        severity: Severity::Harness,
                    },
                ],
            },
            evaluate: denial_handled,
        },
    ]
}

fn authorizations(run: &Observation) -> Vec<(&str, &Exchange)> {
    all_exchanges(run).filter(|(_, e)| e.endpoint == Endpoint::Authorize).collect()
}

fn pkce_s256(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    let authorizations = authorizations(run);
    if authorizations.is_empty() {
        return Outcome::NotApplicable;
    }
    for (key, auth) in &authorizations {
        evidence.push(line(key, auth));
        if auth.query_param("code_challenge").is_none() || auth.query_param("code_challenge_method") != Some("S256") {
            return fail(format!("{key}: authorization request without an S256 code challenge"), evidence);
        }
    }
    for (key, server) in &run.servers {
        for redemption in code_redemptions(&server.exchanges) {
            evidence.push(line(key, redemption));
            if redemption.body_param("code_verifier").is_none() {
                return fail(format!("{key}: code redeemed without code_verifier"), evidence);
            }
            let wrong = redemption
                .response_body
                .get("error_description")
                .and_then(|d| d.as_str())
                .is_some_and(|d| d.contains("code_verifier"));
            if wrong {
                return fail(format!("{key}: the code_verifier did not match the challenge"), evidence);
            }
        }
    }
    pass(evidence)
}

fn pkce_support_verified(run: &Observation) -> Outcome {
    let mut judged = false;
    for (key, server) in &run.servers {
        if server.profile.authorization_server.advertise_pkce || server.profile.authorization_server.metadata.is_empty()
        {
            continue;
        }
        judged = true;
        if let Some(auth) = server.exchanges.iter().find(|e| e.endpoint == Endpoint::Authorize) {
            return fail(
                format!("{key}: authorized although the metadata does not advertise PKCE"),
                vec![line(key, auth)],
            );
        }
    }
    if judged { pass(Vec::new()) } else { Outcome::NotApplicable }
}

fn resource_parameter(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    let mut judged = false;
    for (key, server) in &run.servers {
        let resources = super::resources_of_authorization_server(run, key);
        let requests = server
            .exchanges
            .iter()
            .filter(|e| e.endpoint == Endpoint::Authorize || (e.endpoint == Endpoint::Token && e.status == 200));
        for request in requests {
            judged = true;
            evidence.push(line(key, request));
            let resource = request.query_param("resource").or_else(|| request.body_param("resource"));
            match resource {
                None => return fail(format!("{key}: {:?} request without `resource`", request.endpoint), evidence),
                Some(r) if !resources.iter().any(|c| c == r) => {
                    return fail(
                        format!("{key}: `resource` is {r}, not the server's canonical URI {}", resources.join(" or ")),
                        evidence,
                    );
                }
                Some(_) => {}
            }
        }
    }
    if judged { pass(evidence) } else { Outcome::NotApplicable }
}

fn scopes(value: Option<&str>) -> BTreeSet<String> {
    value.unwrap_or_default().split_whitespace().filter(|s| *s != "offline_access").map(str::to_owned).collect()
}

/// A scope set as a `scope` parameter spells it.
fn shown(scopes: &BTreeSet<String>) -> String {
    if scopes.is_empty() { "(none)".to_owned() } else { scopes.iter().cloned().collect::<Vec<_>>().join(" ") }
}

fn scope_selection(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    let mut judged = false;
    for (key, server) in &run.servers {
        let Some(first) = server.exchanges.iter().find(|e| e.endpoint == Endpoint::Authorize) else { continue };
        // The rule is about a client that discovered the server itself; pre-registered scopes or
        // a server without metadata leave nothing to choose from.
        let prm_read = server.exchanges.iter().any(|e| e.endpoint == Endpoint::ResourceMetadata && e.status == 200);
        let knobs = &server.profile;
        let expected = match &knobs.resource.challenge_scope {
            Some(scope) => scopes(Some(scope)),
            None if prm_read => knobs.resource_metadata.scopes_supported.iter().cloned().collect(),
            None => continue,
        };
        judged = true;
        evidence.push(line(key, first));
        let requested = scopes(first.query_param("scope"));
        if requested != expected {
            return fail(
                format!("{key}: asked for `{}`, the spec's choice is `{}`", shown(&requested), shown(&expected)),
                evidence,
            );
        }
    }
    if judged { pass(evidence) } else { Outcome::NotApplicable }
}

/// Retries of one operation after insufficient_scope before a client must stop.
const STEP_UP_RETRY_LIMIT: usize = 3;

fn step_up(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    let mut judged = false;
    for (key, server) in &run.servers {
        let refusals: Vec<&Exchange> = server.exchanges.iter().filter(|e| e.status == 403).collect();
        let Some(first) = refusals.first() else { continue };
        judged = true;
        evidence.push(line(key, first));
        let challenged =
            scopes(first.response_headers.get("www-authenticate").and_then(|c| www_authenticate::param(c, "scope")));
        let reauthorized = server.exchanges.iter().find(|e| e.seq > first.seq && e.endpoint == Endpoint::Authorize);
        let Some(reauthorized) = reauthorized else {
            return fail(format!("{key}: no re-authorization after 403 insufficient_scope"), evidence);
        };
        evidence.push(line(key, reauthorized));
        let asked = scopes(reauthorized.query_param("scope"));
        // 2025-11-25 asks for the challenged scopes (step 2 goes by the Scope Selection
        // Strategy); 2026-07-28 for their union with the scopes asked for before (SEP-2350), which
        // matters when a challenge names only what the token lacks.
        let (expected, what) = if run.revision >= Revision::V2026_07_28 {
            let before = server
                .exchanges
                .iter()
                .rfind(|e| e.seq < first.seq && e.endpoint == Endpoint::Authorize)
                .map(|e| scopes(e.query_param("scope")))
                .unwrap_or_default();
            (&challenged | &before, "the scopes asked for before and the challenged ones")
        } else {
            (challenged, "the challenged scopes")
        };
        if !expected.is_subset(&asked) {
            return fail(
                format!("{key}: re-authorization asked for `{}`, not {what} (`{}`)", shown(&asked), shown(&expected)),
                evidence,
            );
        }
        if refusals.len() > STEP_UP_RETRY_LIMIT {
            evidence.extend(refusals.iter().skip(1).map(|e| line(key, e)));
            return fail(
                format!("{key}: {} insufficient_scope refusals: the client kept retrying", refusals.len()),
                evidence,
            );
        }
    }
    if judged { pass(evidence) } else { Outcome::NotApplicable }
}

fn loopback_redirect(run: &Observation) -> Outcome {
    // The URIs a client registers (RFC 7591) and the one it authorizes with.
    let used: Vec<(&str, &Exchange, &str)> = all_exchanges(run)
        .flat_map(|(key, e)| {
            let uris: Vec<&str> = match e.endpoint {
                Endpoint::Authorize => e.query_param("redirect_uri").into_iter().collect(),
                Endpoint::Registration => e.request_body["redirect_uris"]
                    .as_array()
                    .map(|uris| uris.iter().filter_map(|u| u.as_str()).collect())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            uris.into_iter().map(move |uri| (key, e, uri))
        })
        .collect();
    if used.is_empty() {
        return Outcome::NotApplicable;
    }
    for (key, exchange, redirect) in &used {
        let loopback = url::Url::parse(redirect)
            .is_ok_and(|u| u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost")));
        if !loopback {
            return fail(
                format!("{key}: redirect_uri `{redirect}` is not an http loopback URI"),
                vec![line(key, exchange)],
            );
        }
    }
    pass(used.iter().map(|(k, e, _)| line(k, e)).collect())
}

/// Steps whose browser acted as `action`, with the run's token exchanges after them.
fn redeemed_after(run: &Observation, action: BrowserAction) -> Option<Outcome> {
    let mut judged = false;
    for step in run.steps.iter().filter(|s| s.visits.iter().any(|v| v.action == action)) {
        judged = true;
        for key in run.servers.keys() {
            if let Some(redeemed) = step
                .exchanges(run, key)
                .into_iter()
                .find(|e| e.endpoint == Endpoint::Token && e.body_param("grant_type") == Some("authorization_code"))
            {
                return Some(fail(format!("{key}: the code was redeemed anyway"), vec![line(key, redeemed)]));
            }
        }
    }
    judged.then(|| pass(Vec::new()))
}

fn state_round_trip(run: &Observation) -> Outcome {
    let authorizations = authorizations(run);
    if authorizations.is_empty() {
        return Outcome::NotApplicable;
    }
    if let Some((key, auth)) = authorizations.iter().find(|(_, e)| e.query_param("state").is_none()) {
        return fail(format!("{key}: authorization request without `state`"), vec![line(key, auth)]);
    }
    redeemed_after(run, BrowserAction::TamperState).unwrap_or_else(|| pass(Vec::new()))
}

fn iss_validated(run: &Observation) -> Outcome {
    let mut judged = false;
    for (key, server) in &run.servers {
        let knobs = &server.profile.authorization_server;
        if !knobs.iss_parameter.rejectable() {
            continue;
        }
        judged = true;
        if let Some(redeemed) = code_redemptions(&server.exchanges).next() {
            return fail(
                format!("{key}: redeemed a code whose `iss` fails RFC 9207 §2.4 ({:?})", knobs.iss_parameter),
                vec![line(key, redeemed)],
            );
        }
        // "on mismatch the client MUST NOT act on or display error, error_description, or
        // error_uri": a denial answered with a bad `iss` must leave no trace of its fields.
        let denied =
            run.steps.iter().filter(|s| s.server == *key && s.visits.iter().any(|v| v.action == BrowserAction::Deny));
        for step in denied {
            let printed = format!(
                "{}\n{}\n{}",
                step.reply.output,
                step.reply.error.as_deref().unwrap_or_default(),
                step.reply.stderr
            )
            .to_lowercase();
            let fields = [knobs.denial_description.as_str(), "access_denied"];
            if let Some(field) = fields.into_iter().find(|f| printed.contains(&f.to_lowercase())) {
                return fail(
                    format!(
                        "{key}: showed `{field}` from an error response whose `iss` does not match (step at line {})",
                        step.line
                    ),
                    Vec::new(),
                );
            }
        }
    }
    if judged { pass(Vec::new()) } else { Outcome::NotApplicable }
}

fn denial_handled(run: &Observation) -> Outcome {
    let mut judged = false;
    for action in [BrowserAction::Deny, BrowserAction::Abandon] {
        if let Some(outcome) = redeemed_after(run, action) {
            judged = true;
            if matches!(outcome, Outcome::Fail { .. }) {
                return outcome;
            }
        }
        let claimed_success = run
            .steps
            .iter()
            .find(|s| s.verb == Verb::Login && s.visits.iter().any(|v| v.action == action) && s.succeeded());
        if let Some(step) = claimed_success {
            return fail(
                format!("login reported success after the user chose {action:?} (step at line {})", step.line),
                Vec::new(),
            );
        }
    }
    if judged { pass(Vec::new()) } else { Outcome::NotApplicable }
}
