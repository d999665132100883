//! Authorization server binding (SEP-2352): what one authorization server issued is presented to
//! that server only.
//!
//! Each scenario server has an authorization server of its own, and its transcript holds every
//! request to it; a scenario whose protected resource metadata names another server's
//! authorization server (or starts naming it on a running server) is where a client can break
//! the rule. Client IDs are compared as they were issued (they are not secrets); tokens are
//! labelled per transcript, so a refresh token this server never issued is one from elsewhere.

use std::collections::{BTreeMap, BTreeSet};

use mock_server::{Endpoint, Exchange};

use super::{Check, CheckInfo, Clause, Outcome, Severity, fail, line, pass};
use crate::observation::Observation;
use crate::revision::Revision;

pub fn checks() -> Vec<Check> {
    vec![Check {
        info: CheckInfo {
            id: "authorization-server-binding",
            rule: "Client credentials and tokens go only to the authorization server that issued them: when the protected resource metadata names another one, the client registers with and authorizes at that one, and never sends it the old client_id or tokens.",
            // Before 2026-07-28 no revision binds a client ID to its authorization server; a
            // token sent to another server is judged there by token-audience alone (OAuth 2.1
            // §7.1.3.1 by reference). The research (readings.restart-vs-binding) reads it so.
            clauses: &[Clause {
                since: Revision::V2026_07_28,
                spec: "MCP-AUTH-2026-07-28 (client-registration) §Authorization Server Binding; (authorization-server-discovery) §Authorization Server Location",
                severity: Severity::Must,
            }],
        },
        evaluate: authorization_server_binding,
    }]
}

/// What one authorization server issued.
#[derive(Default)]
struct Issued {
    client_ids: BTreeSet<String>,
    /// Refresh token labels, in this server's transcript.
    refresh_tokens: BTreeSet<String>,
}

/// Requests to the authorization server (its metadata aside).
fn at_authorization_server(exchange: &Exchange) -> bool {
    matches!(
        exchange.endpoint,
        Endpoint::Authorize | Endpoint::Consent | Endpoint::Token | Endpoint::Registration | Endpoint::Revocation
    )
}

/// The client ID a request presents: in the query, the form, or HTTP Basic (whose id the
/// transcript keeps in the clear).
fn presented_client_id(exchange: &Exchange) -> Option<&str> {
    exchange.query_param("client_id").or_else(|| exchange.body_param("client_id")).or_else(|| {
        let basic = exchange.request_headers.get("authorization")?.strip_prefix("Basic ")?;
        basic.split_once(':').map(|(id, _)| id)
    })
}

fn authorization_server_binding(run: &Observation) -> Outcome {
    let mut issued: BTreeMap<&str, Issued> = BTreeMap::new();
    for (key, server) in &run.servers {
        let own = issued.entry(key.as_str()).or_default();
        own.client_ids
            .extend(server.profile.authorization_server.preregistered_clients.iter().map(|c| c.client_id.clone()));
        for exchange in &server.exchanges {
            let answer = &exchange.response_body;
            match exchange.endpoint {
                Endpoint::Registration => own.client_ids.extend(answer["client_id"].as_str().map(str::to_owned)),
                Endpoint::Token => own.refresh_tokens.extend(answer["refresh_token"].as_str().map(str::to_owned)),
                _ => {}
            }
        }
    }
    let used = run.servers.values().filter(|server| server.exchanges.iter().any(at_authorization_server)).count();
    let moved = run.servers.values().any(names_another_issuer);
    if used < 2 && !moved {
        // One authorization server, and every resource names its own: nothing can go to the
        // wrong one.
        return Outcome::NotApplicable;
    }
    let mut evidence = Vec::new();
    for (key, server) in &run.servers {
        for exchange in server.exchanges.iter().filter(|e| at_authorization_server(e)) {
            // A client ID metadata document's URL is portable across authorization servers
            // (2026-07-28 §Authorization Server Binding exempts it).
            if let Some(id) = presented_client_id(exchange).filter(|id| !id.starts_with("http")) {
                let from = issued.iter().find(|(other, got)| *other != key && got.client_ids.contains(id));
                if let Some((other, _)) = from.filter(|_| !issued[key.as_str()].client_ids.contains(id)) {
                    return fail(
                        format!(
                            "{key}: the client presented client_id `{id}`, registered with {other}'s authorization server"
                        ),
                        vec![line(key, exchange)],
                    );
                }
                evidence.push(line(key, exchange));
            }
            let refresh = exchange.body_param("refresh_token").filter(|_| exchange.endpoint == Endpoint::Token);
            if let Some(token) = refresh.filter(|t| !issued[key.as_str()].refresh_tokens.contains(*t)) {
                return fail(
                    format!(
                        "{key}: the client presented a refresh token ({token}) this authorization server never issued"
                    ),
                    vec![line(key, exchange)],
                );
            }
        }
    }
    // The metadata a server served last before each authorization request for its own resource
    // (one transcript, so its order is the order of events): once it names only another
    // authorization server, this one is the old one, and authorizing here is not registering
    // with the new one.
    for (key, server) in &run.servers {
        let own = super::canonical_uris(server);
        for authorize in server.exchanges.iter().filter(|e| e.endpoint == Endpoint::Authorize) {
            let for_own = authorize.query_param("resource").is_none_or(|r| own.iter().any(|u| u == r));
            let last_metadata = server
                .exchanges
                .iter()
                .rfind(|e| e.seq < authorize.seq && e.endpoint == Endpoint::ResourceMetadata && e.status == 200);
            if let Some(metadata) = last_metadata.filter(|m| for_own && !names(m, &server.issuer)) {
                return fail(
                    format!(
                        "{key}: the client authorized at {key}'s authorization server although {key}'s metadata now names {}",
                        metadata.response_body["authorization_servers"]
                    ),
                    vec![line(key, metadata), line(key, authorize)],
                );
            }
        }
    }
    pass(evidence)
}

/// Whether a protected resource metadata response names `issuer`.
fn names(metadata: &Exchange, issuer: &str) -> bool {
    metadata.response_body["authorization_servers"].as_array().is_some_and(|named| named.iter().any(|n| n == issuer))
}

/// Whether the server's metadata, as served, ever named an issuer but its own.
fn names_another_issuer(server: &crate::observation::ServerRecord) -> bool {
    server.exchanges.iter().any(|e| {
        e.endpoint == Endpoint::ResourceMetadata
            && e.status == 200
            && e.response_body["authorization_servers"]
                .as_array()
                .is_some_and(|named| named.iter().any(|n| n != server.issuer.as_str()))
    })
}
