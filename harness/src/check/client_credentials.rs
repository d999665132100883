//! The client credentials extension (SEP-1046, `io.modelcontextprotocol/oauth-client-credentials`):
//! how a machine client authenticates and what its JWT assertions claim. The extension builds on
//! MCP 2026-07-28, the first revision its clauses are cited under.

use std::collections::BTreeSet;

use mock_server::profile::ClientAuthMethod;
use mock_server::{Endpoint, Exchange};
use serde_json::Value;

use super::{Check, CheckInfo, Clause, Outcome, Severity, each_exchange, fail, line, pass};
use crate::observation::{Observation, ServerRecord};
use crate::revision::Revision;

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            info: CheckInfo {
                id: "client-credentials-auth-method",
                rule: "A machine client authenticates its client_credentials token requests with the method it was registered with (client_secret_basic, client_secret_post or private_key_jwt), and with no other at once.",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "MCP-EXT-AUTH oauth-client-credentials §Client Authentication Methods; RFC6749 §2.3, §2.3.1; RFC7523 §2.2; RFC7591 §2 (token_endpoint_auth_method)",
                    severity: Severity::Must,
                }],
            },
            evaluate: auth_method,
        },
        Check {
            info: CheckInfo {
                id: "client-assertion-claims",
                rule: "A private_key_jwt client assertion has the client id as `iss` and `sub`, the authorization server (its issuer or token endpoint) as `aud`, and an `exp`.",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "MCP-EXT-AUTH oauth-client-credentials §Client Authentication Methods; RFC7523 §3 items 1-4",
                    severity: Severity::Must,
                }],
            },
            evaluate: assertion_claims,
        },
        Check {
            info: CheckInfo {
                id: "client-assertion-fresh",
                rule: "Each client assertion is new: a `jti` never sent before, so an authorization server that refuses replays accepts it.",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "RFC7523 §3 item 7 (an AS may refuse a replayed `jti`); RFC7521 §5.2",
                    severity: Severity::Harness,
                }],
            },
            evaluate: assertion_fresh,
        },
    ]
}

/// The method a machine client must use, for servers that registered one.
fn registered_method(server: &ServerRecord) -> Option<ClientAuthMethod> {
    server
        .profile
        .authorization_server
        .preregistered_clients
        .iter()
        .find(|c| c.client_credentials)
        .map(|c| c.auth_method)
}

pub(super) fn client_credentials_requests(server: &ServerRecord) -> impl Iterator<Item = &Exchange> {
    server
        .exchanges
        .iter()
        .filter(|e| e.endpoint == Endpoint::Token && e.body_param("grant_type") == Some("client_credentials"))
}

/// The methods a token request authenticated with, as it sent them.
fn methods_used(request: &Exchange) -> Vec<ClientAuthMethod> {
    let mut used = Vec::new();
    if request.request_headers.get("authorization").is_some_and(|a| a.to_ascii_lowercase().starts_with("basic ")) {
        used.push(ClientAuthMethod::ClientSecretBasic);
    }
    if request.body_param("client_secret").is_some() {
        used.push(ClientAuthMethod::ClientSecretPost);
    }
    if request.body_param("client_assertion").is_some() {
        used.push(ClientAuthMethod::PrivateKeyJwt);
    }
    used
}

fn auth_method(run: &Observation) -> Outcome {
    let requests = run
        .servers
        .iter()
        .filter(|(_, server)| registered_method(server).is_some())
        .flat_map(|(key, server)| client_credentials_requests(server).map(move |request| (key.as_str(), request)));
    each_exchange(requests, |key, request| {
        let registered = registered_method(&run.servers[key])?;
        let used = methods_used(request);
        (used != [registered]).then(|| {
            let names: Vec<&str> = used.iter().map(|m| m.as_str()).collect();
            let used = if names.is_empty() { "none".to_owned() } else { names.join(" and ") };
            format!("the token request authenticated with {used}, not {}", registered.as_str())
        })
    })
}

/// Every client assertion sent, with its server and the server's issuer.
fn assertions(run: &Observation) -> Vec<(&str, &ServerRecord, &Exchange, &Value)> {
    run.servers
        .iter()
        .flat_map(|(key, server)| {
            server
                .exchanges
                .iter()
                .filter(|e| e.endpoint == Endpoint::Token)
                .filter_map(move |e| e.jwt("client_assertion").map(|jwt| (key.as_str(), server, e, &jwt["claims"])))
        })
        .collect()
}

fn assertion_claims(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    for (key, server, request, claims) in assertions(run) {
        evidence.push(format!("{}: claims {claims}", line(key, request)));
        let Some(client_id) = claims["sub"].as_str() else {
            return fail(format!("{key}: the assertion has no `sub`"), evidence);
        };
        if claims["iss"].as_str() != Some(client_id) {
            return fail(format!("{key}: `iss` {} is not the client id `{client_id}`", claims["iss"]), evidence);
        }
        if let Some(registered) =
            server.profile.authorization_server.preregistered_clients.iter().find(|c| c.client_credentials)
            && registered.client_id != client_id
        {
            return fail(
                format!("{key}: `sub` is `{client_id}`, not the client id `{}`", registered.client_id),
                evidence,
            );
        }
        let token_endpoint = format!("{}/token", server.issuer);
        let audiences: Vec<&str> = match &claims["aud"] {
            Value::String(one) => vec![one],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences.iter().any(|aud| *aud == server.issuer || *aud == token_endpoint) {
            return fail(
                format!(
                    "{key}: `aud` {} names neither the issuer {} nor its token endpoint",
                    claims["aud"], server.issuer
                ),
                evidence,
            );
        }
        if !claims["exp"].is_u64() {
            return fail(format!("{key}: the assertion has no numeric `exp`"), evidence);
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}

fn assertion_fresh(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    let mut seen = BTreeSet::new();
    for (key, _, request, claims) in assertions(run) {
        evidence.push(format!("{}: jti {}", line(key, request), claims["jti"]));
        let Some(jti) = claims["jti"].as_str() else {
            return fail(format!("{key}: the assertion has no `jti`"), evidence);
        };
        if !seen.insert(jti) {
            return fail(format!("{key}: `jti` {jti} was sent before: the assertion is replayed"), evidence);
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}
