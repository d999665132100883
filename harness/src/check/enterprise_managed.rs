//! Enterprise-managed authorization (SEP-990, `io.modelcontextprotocol/enterprise-managed-authorization`):
//! what the client asks the enterprise identity provider for.

use mock_server::Endpoint;

use super::{Check, CheckInfo, Clause, Outcome, Severity, all_exchanges, each_exchange};
use crate::observation::Observation;
use crate::revision::Revision;

pub fn checks() -> Vec<Check> {
    vec![Check {
        info: CheckInfo {
            id: "token-exchange-request",
            rule: "The token exchange at the identity provider asks for an ID-JAG (requested_token_type id-jag) for the MCP authorization server's issuer (audience) and the MCP server (resource), with the user's ID token as subject_token of type id_token.",
            clauses: &[Clause {
                since: Revision::V2026_07_28,
                spec: "MCP-EXT-AUTH enterprise-managed-authorization §4 (Token Exchange); RFC8693 §2.1",
                severity: Severity::Must,
            }],
        },
        evaluate: token_exchange_request,
    }]
}

fn token_exchange_request(run: &Observation) -> Outcome {
    let requests = all_exchanges(run).filter(|(_, e)| e.endpoint == Endpoint::IdpToken);
    each_exchange(requests, |key, request| {
        let server = &run.servers[key];
        let expected = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
            ("requested_token_type", "urn:ietf:params:oauth:token-type:id-jag"),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:id_token"),
            ("audience", server.issuer.as_str()),
        ];
        for (name, value) in expected {
            match request.body_param(name) {
                Some(given) if given == value => {}
                given => return Some(format!("`{name}` is {}, not {value}", given.unwrap_or("missing"))),
            }
        }
        let resources: Vec<String> = server
            .profile
            .resource
            .paths
            .iter()
            .filter_map(|p| url::Url::parse(&server.mcp_uri).and_then(|u| u.join(p)).ok().map(|u| u.to_string()))
            .collect();
        match request.body_param("resource") {
            Some(r) if resources.iter().any(|c| c == r) => {}
            given => {
                return Some(format!(
                    "`resource` is {}, not the MCP server {}",
                    given.unwrap_or("missing"),
                    resources.join(" or ")
                ));
            }
        }
        request.jwt("subject_token").is_none().then(|| "no ID token as `subject_token`".to_owned())
    })
}
