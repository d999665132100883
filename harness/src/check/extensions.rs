//! What every authorization extension asks of a client that uses it: to say so.

use std::collections::BTreeMap;

use mock_server::{Endpoint, Exchange, JWT_BEARER_GRANT_TYPE, WORKLOAD_ISSUER};

use super::{Check, CheckInfo, Clause, Outcome, Severity, fail, line, pass};
use crate::extension::Extension;
use crate::observation::Observation;
use crate::revision::Revision;

pub fn checks() -> Vec<Check> {
    vec![Check {
        info: CheckInfo {
            id: "extension-declared",
            rule: "A client using an authorization extension (client credentials, enterprise-managed authorization, DPoP, workload identity federation) declares it in the client capabilities of its MCP requests made with a token the extension's grant issued.",
            clauses: &[Clause {
                since: Revision::V2026_07_28,
                spec: "MCP-EXT-AUTH extension guides §For MCP clients, \"Declare support\" (oauth-client-credentials, enterprise-managed-authorization; the DPoP and workload identity federation drafts, SEP-1932 and SEP-1933, by the same framework); MCP-2026-07-28 §Extensions (SEP-1724)",
                severity: Severity::Should,
            }],
        },
        evaluate: extension_declared,
    }]
}

/// The extension whose grant a token request is, or that bound its token (DPoP). A JWT-bearer
/// grant is workload identity federation when its assertion is the workload issuer's JWT,
/// enterprise-managed authorization (an ID-JAG) otherwise.
fn extension_of(request: &Exchange) -> Option<Extension> {
    let workload = || request.jwt("assertion").is_some_and(|jwt| jwt["claims"]["iss"] == WORKLOAD_ISSUER);
    match request.body_param("grant_type")? {
        "client_credentials" => Some(Extension::OauthClientCredentials),
        JWT_BEARER_GRANT_TYPE if workload() => Some(Extension::Wif),
        JWT_BEARER_GRANT_TYPE => Some(Extension::EnterpriseManagedAuthorization),
        _ if request.response_body["token_type"] == "DPoP" => Some(Extension::Dpop),
        _ => None,
    }
}

/// Whether an MCP request names `extension` among its client capabilities: `initialize`'s
/// `capabilities.extensions`, or a request's `_meta` `io.modelcontextprotocol/clientCapabilities`
/// (MCP 2026-07-28, per request). `None`: the request states no capabilities.
fn declares(request: &Exchange, extension: Extension) -> Option<bool> {
    let params = &request.request_body["params"];
    let per_request = &params["_meta"]["io.modelcontextprotocol/clientCapabilities"];
    let capabilities = match (request.mcp_method(), per_request.is_object()) {
        (_, true) => per_request,
        (Some("initialize"), false) => &params["capabilities"],
        _ => return None,
    };
    Some(capabilities["extensions"].get(extension.id()).is_some())
}

fn extension_declared(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    for (key, server) in &run.servers {
        // The labels of the tokens each extension's grant issued on this server.
        let issued: BTreeMap<&str, Extension> = server
            .exchanges
            .iter()
            .filter(|e| e.endpoint == Endpoint::Token)
            .filter_map(|e| Some((e.response_body["access_token"].as_str()?, extension_of(e)?)))
            .collect();
        for request in server.exchanges.iter().filter(|e| e.endpoint == Endpoint::Mcp) {
            let token = request.request_headers.get("authorization").and_then(|a| a.split_once(' ')).map(|(_, t)| t);
            let Some(&extension) = token.and_then(|t| issued.get(t)) else { continue };
            let Some(declared) = declares(request, extension) else { continue };
            evidence.push(line(key, request));
            if !declared {
                return fail(format!("{key}: the request's client capabilities do not name {extension}"), evidence);
            }
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}
