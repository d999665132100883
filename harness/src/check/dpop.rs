//! DPoP (RFC 9449; the MCP extension SEP-1932, `io.modelcontextprotocol/auth/dpop`, a draft
//! that adopts RFC 9449 as it is): what a client sends with a DPoP-bound token. The extension
//! builds on MCP 2026-07-28, the first revision its clauses are cited under.
//!
//! Tokens are labels in the observation; a token is DPoP-bound when the token endpoint issued it
//! with `token_type` `DPoP`. Whether a proof's `ath` hashes the token it travelled with was noted
//! by the mock while the token was still readable (`ath_matches_token`).

use std::collections::{BTreeMap, BTreeSet};

use mock_server::{Endpoint, Exchange};
use serde_json::Value;

use super::{Check, CheckInfo, Clause, Outcome, Severity, fail, line, pass};
use crate::observation::Observation;
use crate::revision::Revision;

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            info: CheckInfo {
                id: "dpop-proof-fresh",
                rule: "Every request presenting a DPoP-bound token carries a DPoP proof, and every proof is new: no `jti` sent twice to a server.",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "MCP-EXT-AUTH dpop (SEP-1932) §Specification; RFC9449 §4.2 (jti), §7.1, §11.1",
                    severity: Severity::Must,
                }],
            },
            evaluate: proof_fresh,
        },
        Check {
            info: CheckInfo {
                id: "dpop-proof-fits-request",
                rule: "A DPoP proof is a `dpop+jwt` signed with the public key in its `jwk` header, names the request's method (`htm`) and URL without query or fragment (`htu`), and at the MCP server carries the hash of the access token it goes with (`ath`).",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "MCP-EXT-AUTH dpop (SEP-1932) §Specification; RFC9449 §4.2, §4.3 items 4-9 and 12, §7.1",
                    severity: Severity::Must,
                }],
            },
            evaluate: proof_fits_request,
        },
        Check {
            info: CheckInfo {
                id: "dpop-nonce-used",
                rule: "After a `use_dpop_nonce` answer with a `DPoP-Nonce`, the client's next request to that endpoint carries a proof with that nonce.",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "MCP-EXT-AUTH dpop (SEP-1932) §Stateless DPoP Proof Replay Protection; RFC9449 §8 (the client is expected to retry with the nonce), §9",
                    severity: Severity::Should,
                }],
            },
            evaluate: nonce_used,
        },
        Check {
            info: CheckInfo {
                id: "dpop-bound-token-not-bearer",
                rule: "A DPoP-bound access token is never sent as a bearer token.",
                clauses: &[Clause {
                    since: Revision::V2026_07_28,
                    spec: "MCP-EXT-AUTH dpop (SEP-1932) §Security Implications; RFC9449 §7.1 (the DPoP authorization scheme), §7.2",
                    severity: Severity::Must,
                }],
            },
            evaluate: bound_token_not_bearer,
        },
    ]
}

/// The labels of the tokens a server issued DPoP-bound.
fn bound_tokens(exchanges: &[Exchange]) -> BTreeSet<&str> {
    exchanges
        .iter()
        .filter(|e| e.endpoint == Endpoint::Token && e.response_body["token_type"] == "DPoP")
        .filter_map(|e| e.response_body["access_token"].as_str())
        .collect()
}

/// The scheme and token label of a request's `Authorization` header.
fn authorization(exchange: &Exchange) -> Option<(&str, &str)> {
    exchange.request_headers.get("authorization")?.split_once(' ')
}

fn proof(exchange: &Exchange) -> Option<&Value> {
    exchange.jwt("dpop")
}

fn proof_fresh(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    for (key, server) in &run.servers {
        let bound = bound_tokens(&server.exchanges);
        let mut seen: BTreeMap<&str, &Exchange> = BTreeMap::new();
        for exchange in &server.exchanges {
            let presents_bound = authorization(exchange).is_some_and(|(_, token)| bound.contains(token));
            let Some(proof) = proof(exchange) else {
                if presents_bound {
                    evidence.push(line(key, exchange));
                    return fail(format!("{key}: a DPoP-bound token went without a DPoP proof"), evidence);
                }
                continue;
            };
            evidence.push(line(key, exchange));
            let Some(jti) = proof["claims"]["jti"].as_str() else {
                return fail(format!("{key}: a DPoP proof has no `jti`"), evidence);
            };
            if let Some(first) = seen.insert(jti, exchange) {
                return fail(
                    format!("{key}: the proof of #{} was sent again (its `jti` was #{}'s)", exchange.seq, first.seq),
                    evidence,
                );
            }
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}

/// Why a proof does not fit its request, if it does not.
fn misfit(exchange: &Exchange, proof: &Value) -> Option<String> {
    let (header, claims) = (&proof["header"], &proof["claims"]);
    if header["typ"] != "dpop+jwt" {
        return Some(format!("`typ` is {}, not dpop+jwt", header["typ"]));
    }
    let jwk = &header["jwk"];
    if !jwk.is_object() || jwk.get("d").is_some() {
        return Some("the `jwk` header is missing or holds a private key".into());
    }
    if claims["htm"] != exchange.method.as_str() {
        return Some(format!("`htm` is {}, the request was {}", claims["htm"], exchange.method));
    }
    let htu = claims["htu"].as_str().unwrap_or_default();
    match url::Url::parse(htu) {
        Ok(url) if url.query().is_some() || url.fragment().is_some() || htu.contains(['?', '#']) => {
            return Some(format!("`htu` {htu} carries a query or fragment"));
        }
        Ok(url) if url.path() == exchange.path => {}
        _ => return Some(format!("`htu` {htu} is not the request's URL (path {})", exchange.path)),
    }
    let dpop_scheme = authorization(exchange).is_some_and(|(scheme, _)| scheme == "DPoP");
    if dpop_scheme && proof["ath_matches_token"] != true {
        return Some(match claims.get("ath") {
            None => "no `ath` beside the access token".into(),
            Some(_) => "`ath` is not the hash of the access token it goes with".into(),
        });
    }
    None
}

fn proof_fits_request(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    for (key, server) in &run.servers {
        for exchange in &server.exchanges {
            let Some(proof) = proof(exchange) else { continue };
            evidence.push(line(key, exchange));
            if let Some(why) = misfit(exchange, proof) {
                return fail(format!("{key}: #{}: {why}", exchange.seq), evidence);
            }
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}

/// The nonce an answer asks the client to use (RFC 9449 §8 at a token endpoint, §9 at a
/// resource).
fn nonce_asked(exchange: &Exchange) -> Option<&str> {
    let asked = exchange.response_body["error"] == "use_dpop_nonce"
        || exchange.response_headers.get("www-authenticate").is_some_and(|c| c.contains("use_dpop_nonce"));
    exchange.response_headers.get("dpop-nonce").map(String::as_str).filter(|_| asked)
}

fn nonce_used(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    for (key, server) in &run.servers {
        for (at, challenge) in server.exchanges.iter().enumerate() {
            let Some(nonce) = nonce_asked(challenge) else { continue };
            evidence.push(line(key, challenge));
            let next = server.exchanges[at + 1..]
                .iter()
                .find(|e| e.endpoint == challenge.endpoint && e.path == challenge.path);
            let Some(next) = next else {
                return fail(format!("{key}: no request followed #{}'s use_dpop_nonce", challenge.seq), evidence);
            };
            evidence.push(line(key, next));
            if next.jwt("dpop").map(|p| &p["claims"]["nonce"]) != Some(&Value::from(nonce)) {
                return fail(
                    format!(
                        "{key}: #{} after #{}'s use_dpop_nonce has no proof with its nonce",
                        next.seq, challenge.seq
                    ),
                    evidence,
                );
            }
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}

fn bound_token_not_bearer(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    for (key, server) in &run.servers {
        let bound = bound_tokens(&server.exchanges);
        for exchange in &server.exchanges {
            let Some((scheme, token)) = authorization(exchange).filter(|(_, token)| bound.contains(token)) else {
                continue;
            };
            evidence.push(line(key, exchange));
            if scheme != "DPoP" {
                return fail(format!("{key}: #{} sent the DPoP-bound {token} as {scheme}", exchange.seq), evidence);
            }
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}
