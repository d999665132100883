//! How the client obtains a client id: the order of the registration approaches, and the
//! metadata it sends when it registers dynamically (RFC 7591).

use mock_server::{Endpoint, Exchange};

use super::{Check, CheckInfo, Clause, Outcome, Severity, all_exchanges, fail, line, pass};
use crate::observation::Observation;
use crate::revision::Revision;

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            info: CheckInfo {
                id: "registration-priority",
                rule: "A client given pre-registered credentials for an authorization server uses them instead of registering dynamically.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Client Registration Approaches",
                        severity: Severity::Should,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 §Overview, §Client Registration; (client-registration) §Dynamic Client Registration",
                        severity: Severity::Should,
                    },
                ],
            },
            evaluate: registration_priority,
        },
        Check {
            info: CheckInfo {
                id: "application-type",
                rule: "A dynamic registration names an `application_type`.",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "MCP-AUTH-2026-07-28 (client-registration) §Application Type and Redirect URI Constraints; RFC7591 §2",
                    severity: Severity::Must,
                }],
            },
            evaluate: application_type,
        },
        Check {
            info: CheckInfo {
                id: "refresh-grant-type",
                rule: "A dynamic registration lists `refresh_token` in `grant_types`.",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "MCP-AUTH-2026-07-28 §Refresh Tokens; RFC7591 §2",
                    severity: Severity::Should,
                }],
            },
            evaluate: refresh_grant_type,
        },
    ]
}

/// Every dynamic registration request of the run, with its server's key.
fn registrations(run: &Observation) -> Vec<(&str, &Exchange)> {
    all_exchanges(run).filter(|(_, e)| e.endpoint == Endpoint::Registration && e.method == "POST").collect()
}

fn registration_priority(run: &Observation) -> Outcome {
    let mut judged = false;
    for (key, server) in &run.servers {
        // The harness hands a server's first pre-registered client to the client under test;
        // registering while holding it is the mistake. Whether a client with a client ID metadata
        // document preferred DCR is not judged: nothing on the wire says it has one.
        if server.profile.authorization_server.preregistered_clients.is_empty() {
            continue;
        }
        // A client that never went near the authorization server chose nothing.
        let authorized = server
            .exchanges
            .iter()
            .any(|e| matches!(e.endpoint, Endpoint::Registration | Endpoint::Authorize | Endpoint::Token));
        if !authorized {
            continue;
        }
        judged = true;
        if let Some(registration) = server.exchanges.iter().find(|e| e.endpoint == Endpoint::Registration) {
            return fail(
                format!("{key}: registered dynamically although pre-registered credentials were configured"),
                vec![line(key, registration)],
            );
        }
    }
    if judged { pass(Vec::new()) } else { Outcome::NotApplicable }
}

/// Judges every dynamic registration by `missing`, which says what the request lacks.
fn each_registration(run: &Observation, missing: impl Fn(&Exchange) -> Option<String>) -> Outcome {
    let registrations = registrations(run);
    if registrations.is_empty() {
        return Outcome::NotApplicable;
    }
    for (key, registration) in &registrations {
        if let Some(why) = missing(registration) {
            return fail(format!("{key}: {why}"), vec![line(key, registration)]);
        }
    }
    pass(registrations.iter().map(|(key, e)| line(key, e)).collect())
}

fn application_type(run: &Observation) -> Outcome {
    each_registration(run, |registration| match registration.request_body.get("application_type") {
        Some(serde_json::Value::String(kind)) if !kind.is_empty() => None,
        Some(other) => Some(format!("registered with application_type {other}, not a name")),
        None => Some("registered without application_type".into()),
    })
}

fn refresh_grant_type(run: &Observation) -> Outcome {
    each_registration(run, |registration| {
        let grant_types = registration.request_body["grant_types"].as_array();
        let listed = grant_types.is_some_and(|g| g.iter().any(|t| t == "refresh_token"));
        (!listed).then(|| match grant_types {
            Some(_) => "registered grant_types without refresh_token".to_owned(),
            None => "registered without grant_types (RFC 7591 §2: authorization_code only)".to_owned(),
        })
    })
}
