//! The bearer check in front of the MCP endpoint (RFC 6750 §3, MCP authorization 2025-11-25
//! §"Access Token Usage" and §"Scope Challenge Handling").

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::ProtectedResource;
use crate::authorization::AccessToken;
use crate::recording::{BODY_LIMIT, tagged};
use crate::transcript::Endpoint;

/// Why a request does not reach MCP.
enum Refusal {
    /// No usable credentials: 401 with the discovery challenge.
    NoToken,
    /// 400/401 with an RFC 6750 error code.
    Error { status: StatusCode, code: &'static str, description: String },
    /// 403: the token lacks these scopes.
    InsufficientScope { needed: String },
}

pub async fn guard(State(resource): State<Arc<ProtectedResource>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    // The recorder has already bounded and buffered the body; reading it again is a copy.
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return tagged(Endpoint::Mcp, StatusCode::PAYLOAD_TOO_LARGE);
    };
    let verdict = resource.admit(&parts, &bytes);
    let response = match verdict {
        Ok(()) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(refusal) => resource.refuse(refusal),
    };
    tagged(Endpoint::Mcp, response)
}

impl ProtectedResource {
    fn admit(&self, parts: &axum::http::request::Parts, body: &Bytes) -> Result<(), Refusal> {
        // RFC 6750 §2.3 is not offered: a token in the query string is never accepted.
        let query_token = parts
            .uri
            .query()
            .is_some_and(|q| url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "access_token"));
        if query_token {
            return Err(Refusal::Error {
                status: StatusCode::UNAUTHORIZED,
                code: "invalid_request",
                description: "access tokens are accepted only in the Authorization header".into(),
            });
        }
        let Some(authorization) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(Refusal::NoToken);
        };
        let token = authorization
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty());
        let Some(token) = token else {
            return Err(Refusal::NoToken);
        };
        let granted = self.validate(token).map_err(|why| Refusal::Error {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_token",
            description: why.description().into(),
        })?;
        self.check_scopes(&granted, body)
    }

    fn check_scopes(&self, granted: &AccessToken, body: &Bytes) -> Result<(), Refusal> {
        let knobs = self.knobs();
        let mut needed: Vec<&str> = knobs.required_scopes.iter().map(String::as_str).collect();
        if calls_tool(body, "write_note") {
            needed.push(&knobs.write_scope);
        }
        if let Some(scope) = knobs.list_scope.as_deref().filter(|_| lists_tools(body)) {
            needed.push(scope);
        }
        if needed.iter().all(|s| granted.scopes.contains(*s)) {
            Ok(())
        } else {
            // Unless told otherwise, the challenge names everything this operation needs, not
            // only what is missing, so a client that replaces its scopes (rather than adding to
            // them) still succeeds.
            if knobs.challenge_missing_only {
                needed.retain(|s| !granted.scopes.contains(*s));
            }
            needed.sort_unstable();
            needed.dedup();
            Err(Refusal::InsufficientScope { needed: needed.join(" ") })
        }
    }

    fn refuse(&self, refusal: Refusal) -> Response {
        let mut params: Vec<(&str, String)> = Vec::new();
        let status = match &refusal {
            Refusal::NoToken => {
                if let Some(scope) = self.knobs().challenge_scope {
                    params.push(("scope", scope));
                }
                StatusCode::UNAUTHORIZED
            }
            Refusal::Error { status, code, description } => {
                params.push(("error", (*code).to_owned()));
                params.push(("error_description", description.clone()));
                *status
            }
            Refusal::InsufficientScope { needed } => {
                params.push(("error", "insufficient_scope".to_owned()));
                params.push(("scope", needed.clone()));
                StatusCode::FORBIDDEN
            }
        };
        if let Some(url) = self.challenge_metadata_url() {
            params.push(("resource_metadata", url));
        }
        let challenge = if params.is_empty() {
            "Bearer".to_owned()
        } else {
            let list: Vec<String> = params.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
            format!("Bearer {}", list.join(", "))
        };
        let mut response = status.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(&challenge).expect("challenge parameters are printable ASCII"),
        );
        response
    }
}

/// Whether a JSON-RPC body (or batch) calls the named tool.
fn calls_tool(body: &Bytes, tool: &str) -> bool {
    any_message(body, |m| {
        m.get("method").and_then(Value::as_str) == Some("tools/call")
            && m.pointer("/params/name").and_then(Value::as_str) == Some(tool)
    })
}

/// Whether a JSON-RPC body (or batch) lists the tools.
fn lists_tools(body: &Bytes) -> bool {
    any_message(body, |m| m.get("method").and_then(Value::as_str) == Some("tools/list"))
}

fn any_message(body: &Bytes, matches: impl Fn(&Value) -> bool) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    match &value {
        Value::Array(batch) => batch.iter().any(matches),
        message => matches(message),
    }
}
