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
use crate::dpop::{Expected, ProofRefusal};
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
    /// 401 with a `DPoP` challenge (RFC 9449 §7.1), and the nonce to use when the error is
    /// `use_dpop_nonce` (§9).
    Dpop { code: &'static str, description: String, nonce: Option<String> },
}

impl Refusal {
    fn dpop(code: &'static str, description: impl Into<String>) -> Self {
        Self::Dpop { code, description: description.into(), nonce: None }
    }
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
        let dpop = self.profile.read(|p| p.dpop.clone());
        let credentials = authorization
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .map(|(scheme, token)| (scheme.eq_ignore_ascii_case("dpop"), scheme, token.trim()))
            .filter(|(dpop_scheme, scheme, token)| {
                !token.is_empty() && (scheme.eq_ignore_ascii_case("bearer") || (*dpop_scheme && dpop.enabled))
            })
            .map(|(dpop_scheme, _, token)| (dpop_scheme, token));
        let Some((dpop_scheme, token)) = credentials else {
            return Err(Refusal::NoToken);
        };
        let granted = self.validate(token).map_err(|why| match dpop_scheme {
            true => Refusal::dpop("invalid_token", why.description()),
            false => Refusal::Error {
                status: StatusCode::UNAUTHORIZED,
                code: "invalid_token",
                description: why.description().into(),
            },
        })?;
        match (&granted.jkt, dpop_scheme) {
            (None, false) => {}
            (Some(_), false) => {
                return Err(Refusal::dpop(
                    "invalid_token",
                    "the access token is DPoP-bound: send it as Authorization: DPoP with a proof (RFC 9449 §7.1)",
                ));
            }
            (None, true) => return Err(Refusal::dpop("invalid_token", "the access token is not DPoP-bound")),
            (Some(jkt), true) => self.check_proof(parts, token, jkt, &dpop)?,
        }
        self.check_scopes(&granted, body)
    }

    /// The proof beside a DPoP-bound token (RFC 9449 §7.1, §4.3 with `ath`).
    fn check_proof(
        &self,
        parts: &axum::http::request::Parts,
        token: &str,
        jkt: &str,
        knobs: &crate::profile::DpopKnobs,
    ) -> Result<(), Refusal> {
        let url = self.origin.join(parts.uri.path()).map(|u| u.to_string()).unwrap_or_default();
        let expected = Expected { method: parts.method.as_str(), url: &url, access_token: Some(token) };
        match self.dpop.check(&parts.headers, &expected, knobs.iat_window_secs, knobs.resource_nonce) {
            None => Err(Refusal::dpop("invalid_dpop_proof", "a DPoP-bound token needs a DPoP proof")),
            Some(Err(ProofRefusal::Invalid(why))) => Err(Refusal::dpop("invalid_dpop_proof", why)),
            Some(Err(ProofRefusal::UseNonce)) => Err(Refusal::Dpop {
                code: "use_dpop_nonce",
                description: "Resource server requires nonce in DPoP proof".into(),
                nonce: Some(self.dpop.nonce().to_owned()),
            }),
            Some(Ok(_)) if knobs.resource_refuses_as_replayed => {
                Err(Refusal::dpop("invalid_dpop_proof", "the proof's jti was already used: a replayed proof"))
            }
            Some(Ok(proven)) if proven.jkt != jkt => {
                Err(Refusal::dpop("invalid_dpop_proof", "the proof's key is not the one the token is bound to"))
            }
            Some(Ok(_)) => Ok(()),
        }
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
        if let Refusal::Dpop { code, description, nonce } = refusal {
            return self.refuse_dpop(code, &description, nonce);
        }
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
            Refusal::Dpop { .. } => unreachable!("answered above"),
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
        if matches!(refusal, Refusal::NoToken) && self.profile.read(|p| p.dpop.enabled) {
            // RFC 9449 §7.1: the DPoP scheme is offered beside Bearer, with its algorithms.
            let dpop = format!("DPoP algs=\"{}\"", crate::dpop::ALGORITHM);
            response.headers_mut().append(header::WWW_AUTHENTICATE, HeaderValue::from_str(&dpop).expect("ASCII"));
        }
        response
    }

    /// 401 with `WWW-Authenticate: DPoP error=…, algs=…` (RFC 9449 §7.1), and `DPoP-Nonce` for
    /// `use_dpop_nonce` (§9).
    fn refuse_dpop(&self, code: &str, description: &str, nonce: Option<String>) -> Response {
        // A header is ASCII, and a description quotes claim values: no `"` may end the quoted
        // string early.
        let description: String =
            description.replace('§', "section ").replace(['"', '\\'], "'").chars().filter(char::is_ascii).collect();
        let mut challenge =
            format!("DPoP error=\"{code}\", error_description=\"{description}\", algs=\"{}\"", crate::dpop::ALGORITHM);
        if let Some(url) = self.challenge_metadata_url() {
            challenge.push_str(&format!(", resource_metadata=\"{url}\""));
        }
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(&challenge)
                .unwrap_or_else(|_| HeaderValue::from_static("DPoP error=\"invalid_dpop_proof\"")),
        );
        if let Some(nonce) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            headers.insert("dpop-nonce", nonce);
        }
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
