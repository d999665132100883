//! How the client obtains a client id: the order of the registration approaches, the metadata
//! it sends when it registers dynamically (RFC 7591), and the redirect URIs of the client ID
//! metadata document it hosts.

use std::collections::BTreeMap;

use mock_server::{Endpoint, Exchange};

use super::{Check, CheckInfo, Clause, Outcome, Severity, all_exchanges, each_exchange, fail, line, pass};
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
        Check {
            info: CheckInfo {
                id: "metadata-document-redirect",
                rule: "A client whose client id is a client ID metadata document URL sends a `redirect_uri` its document lists exactly, port included.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Client ID Metadata Documents; draft-ietf-oauth-client-id-metadata-document-00 §4.5",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 (client-registration) §Client ID Metadata Documents; draft-ietf-oauth-client-id-metadata-document-00 §4.5",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: metadata_document_redirect,
        },
    ]
}

/// Every dynamic registration request of the run, with its server's key.
fn registrations(run: &Observation) -> impl Iterator<Item = (&str, &Exchange)> {
    all_exchanges(run).filter(|(_, e)| e.endpoint == Endpoint::Registration && e.method == "POST")
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

fn application_type(run: &Observation) -> Outcome {
    each_exchange(registrations(run), |_, registration| match registration.request_body.get("application_type") {
        Some(serde_json::Value::String(kind)) if !kind.is_empty() => None,
        Some(other) => Some(format!("registered with application_type {other}, not a name")),
        None => Some("registered without application_type".into()),
    })
}

fn refresh_grant_type(run: &Observation) -> Outcome {
    each_exchange(registrations(run), |_, registration| {
        let grant_types = registration.request_body["grant_types"].as_array();
        let listed = grant_types.is_some_and(|g| g.iter().any(|t| t == "refresh_token"));
        (!listed).then(|| match grant_types {
            Some(_) => "registered grant_types without refresh_token".to_owned(),
            None => "registered without grant_types (RFC 7591 §2: authorization_code only)".to_owned(),
        })
    })
}

/// The draft makes the authorization server match exactly ("simple string comparison"), so a
/// document that lists another port, or none, names a redirect the client does not use: a
/// conforming server refuses the login, and only a lenient one (RFC 8252's free loopback port,
/// `metadata_document_redirects = "loopback-port"`) lets it through.
fn metadata_document_redirect(run: &Observation) -> Outcome {
    // The documents the authorization servers fetched, by the client id (URL) they describe.
    let documents: BTreeMap<(&str, &str), &serde_json::Value> = all_exchanges(run)
        .filter_map(|(key, e)| Some(((key, e.query_param("client_id")?), e.client_metadata_document.as_ref()?)))
        .collect();
    let requests = all_exchanges(run).filter(|(key, e)| {
        e.endpoint == Endpoint::Authorize
            && e.query_param("client_id").is_some_and(|id| documents.contains_key(&(*key, id)))
    });
    each_exchange(requests, |key, request| {
        let document = documents[&(key, request.query_param("client_id")?)];
        let listed: Vec<&str> =
            document["redirect_uris"].as_array().into_iter().flatten().filter_map(serde_json::Value::as_str).collect();
        let used = request.query_param("redirect_uri").unwrap_or("(none)");
        (!listed.contains(&used))
            .then(|| format!("redirect_uri {used} is not one of its metadata document's redirect_uris {listed:?}"))
    })
}
