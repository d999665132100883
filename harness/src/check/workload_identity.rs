//! Workload identity federation (SEP-1933, `io.modelcontextprotocol/auth/wif`, a draft): what
//! a client sends with its workload JWT, and what it does once the authorization server has
//! refused it. The extension builds on MCP 2026-07-28, the first revision its clauses are cited
//! under.

use mock_server::{Endpoint, Exchange, JWT_BEARER_GRANT_TYPE as JWT_BEARER, WORKLOAD_ISSUER, WORKLOAD_SUBJECT};

use super::{Check, CheckInfo, Clause, Outcome, Severity, canonical_uris, each_exchange, fail, line, pass};
use crate::observation::Observation;
use crate::revision::Revision;

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            info: CheckInfo {
                id: "workload-grant-request",
                rule: "At an authorization server that trusts the workload's issuer, the client's token request is the JWT-bearer grant (`grant_type` urn:ietf:params:oauth:grant-type:jwt-bearer) with the workload JWT its platform issued as `assertion` and the MCP server's canonical URI as `resource`.",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "MCP-EXT-AUTH wif (SEP-1933) §Request Access Token; RFC7523 §2.1; MCP-2026-07-28 authorization §Resource Parameter Implementation (RFC8707)",
                    severity: Severity::Must,
                }],
            },
            evaluate: grant_request,
        },
        Check {
            info: CheckInfo {
                id: "workload-refusal-final",
                rule: "Once the authorization server has refused the workload JWT, the client makes no other token request, registration or authorization request in that step: it neither presents the JWT again nor falls back to another grant or a browser.",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "MCP-EXT-AUTH wif (SEP-1933), a non-interactive flow (as the official suite's wif-no-retry and wif-grant-fallback read it); RFC7523 §3.1; RFC6749 §5.2 (invalid_grant)",
                    severity: Severity::Should,
                }],
            },
            evaluate: refusal_final,
        },
    ]
}

/// The token requests of servers that trust a workload issuer, with the server's key.
fn workload_token_requests(run: &Observation) -> impl Iterator<Item = (&str, &Exchange)> {
    run.servers.iter().filter(|(_, s)| s.profile.workload_identity.enabled).flat_map(|(key, server)| {
        server.exchanges.iter().filter(|e| e.endpoint == Endpoint::Token).map(move |e| (key.as_str(), e))
    })
}

fn grant_request(run: &Observation) -> Outcome {
    each_exchange(workload_token_requests(run), |key, request| {
        match request.body_param("grant_type") {
            Some(JWT_BEARER) => {}
            given => return Some(format!("`grant_type` is {}, not {JWT_BEARER}", given.unwrap_or("missing"))),
        }
        let claims = request.jwt("assertion").map(|jwt| &jwt["claims"]);
        let handed_out = claims.is_some_and(|c| c["iss"] == WORKLOAD_ISSUER && c["sub"] == WORKLOAD_SUBJECT);
        if !handed_out {
            return Some("`assertion` is not the workload JWT the platform issued".into());
        }
        let resources = canonical_uris(&run.servers[key]);
        match request.body_param("resource") {
            Some(r) if resources.iter().any(|c| c == r) => None,
            given => Some(format!(
                "`resource` is {}, not the MCP server {}",
                given.unwrap_or("missing"),
                resources.join(" or ")
            )),
        }
    })
}

fn refusal_final(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    for step in &run.steps {
        for (key, _) in run.servers.iter().filter(|(_, s)| s.profile.workload_identity.enabled) {
            let mut refused = None;
            for exchange in step.exchanges(run, key) {
                let grant = matches!(exchange.endpoint, Endpoint::Token | Endpoint::Registration | Endpoint::Authorize);
                if !grant {
                    continue;
                }
                evidence.push(line(key, exchange));
                if let Some(refusal) = refused {
                    return fail(format!("{key}: {} after the refusal {refusal}", exchange.describe()), evidence);
                }
                let workload_grant =
                    exchange.endpoint == Endpoint::Token && exchange.body_param("grant_type") == Some(JWT_BEARER);
                if workload_grant && exchange.status >= 400 {
                    refused = Some(format!("#{}", exchange.seq));
                }
            }
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}
