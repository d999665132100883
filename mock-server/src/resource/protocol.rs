//! Which MCP protocol version each request to the endpoint speaks, and the answer a server that
//! speaks only `resource.protocol_versions` gives when it is not one of them.
//!
//! rmcp serves every version it knows on one endpoint (a dual-era server: `initialize` opens a
//! legacy session, a request carrying per-request `_meta` is served statelessly). This layer sits
//! between the bearer check and rmcp and narrows that to the knob, answering as the text of the
//! revisions the server does speak defines:
//! - a server without 2026-07-28 answers a modern request (`server/discover`, or `_meta` /
//!   `MCP-Protocol-Version` naming 2026-07-28 or later) as a legacy server does: `400 Bad Request`
//!   with no modern JSON-RPC error in the body (2025-06-18 §Protocol Version Header: an
//!   unsupported `MCP-Protocol-Version` gets 400; 2025-03-26 §Session Management: a request
//!   without a session gets 400), so a dual-era client falls back to `initialize`
//!   (2026-07-28 streamable-http §Backward Compatibility);
//! - a modern request naming a version the server does not speak gets `400` and an
//!   `UnsupportedProtocolVersionError` (-32022) listing the supported ones (2026-07-28
//!   §Protocol Version Header, versioning §Protocol Version Negotiation);
//! - a server with no legacy version refuses `initialize` with that error too (versioning
//!   §Backward Compatibility: it "SHOULD name the protocol versions it supports in any error it
//!   returns to an initialize request"), answers other legacy requests with `400` and
//!   `HeaderMismatch` (-32020: the required `Mcp-Method` and `MCP-Protocol-Version` are missing),
//!   and GET and DELETE with `405 Method Not Allowed` (streamable-http §Earlier Streamable HTTP
//!   Revisions);
//! - a legacy request whose `MCP-Protocol-Version` names a version the server does not speak gets
//!   400 (2025-06-18 §Protocol Version Header).
//!
//! Every request it lets through is marked with the version it is served under (the one
//! `initialize` negotiated, for the whole session), which the transcript records.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::ProtectedResource;
use crate::profile::ProtocolVersion;
use crate::recording::BODY_LIMIT;

/// The `_meta` key a 2026-07-28 request names its version with.
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// JSON-RPC error codes of 2026-07-28 (schema: `UnsupportedProtocolVersionError`, `HeaderMismatchError`).
const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
const HEADER_MISMATCH: i64 = -32020;

/// What a POST body says about its protocol version.
enum Message {
    /// `initialize`, asking for this version.
    Initialize { id: Value, requested: String },
    /// A request with per-request metadata (or `server/discover`): 2026-07-28 or later.
    Modern { id: Value, requested: Option<String> },
    /// Anything else: a request, notification or response of a legacy session.
    Legacy { id: Option<Value> },
}

pub async fn speak(State(resource): State<Arc<ProtectedResource>>, request: Request, next: Next) -> Response {
    let versions = resource.profile.read(|p| p.resource.protocol_versions.clone());
    let legacy: Vec<_> = versions.iter().copied().filter(|v| v.has_initialize()).collect();
    let header = request.headers().get("mcp-protocol-version").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let session = session_id(request.headers());
    if request.method() != Method::POST {
        if legacy.is_empty() {
            return method_not_allowed();
        }
        let served = header
            .as_deref()
            .and_then(ProtocolVersion::parse)
            .or_else(|| resource.session_version(session.as_deref()?));
        return served_as(next.run(request).await, served);
    }
    let (parts, body) = request.into_parts();
    // The guard has already buffered the body; this is a copy of its bytes.
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let message = classify(&bytes, header.as_deref());
    let request = Request::from_parts(parts, Body::from(bytes));
    match message {
        Message::Initialize { id, requested } => {
            let Some(newest) = legacy.iter().max().copied() else {
                return unsupported(id, &requested, &versions);
            };
            let negotiated = ProtocolVersion::parse(&requested).filter(|v| legacy.contains(v)).unwrap_or(newest);
            let response = next.run(request).await;
            if let Some(id) = session_id(response.headers()) {
                resource.remember_session(id, negotiated);
            }
            served_as(response, Some(negotiated))
        }
        Message::Modern { id, requested } => {
            if !versions.iter().any(|v| !v.has_initialize()) {
                return legacy_bad_request(&legacy, requested.as_deref().or(header.as_deref()));
            }
            let requested = requested.or(header).unwrap_or_default();
            match ProtocolVersion::parse(&requested).filter(|v| versions.contains(v)) {
                // rmcp answers a malformed one (no version in `_meta`) with its own 400.
                None if !requested.is_empty() => unsupported(id, &requested, &versions),
                served => served_as(next.run(request).await, served),
            }
        }
        Message::Legacy { id } => {
            if legacy.is_empty() {
                return header_mismatch(id);
            }
            if let Some(named) = header.as_deref().and_then(ProtocolVersion::parse)
                && !legacy.contains(&named)
            {
                return legacy_bad_request(&legacy, Some(named.as_str()));
            }
            let served = header
                .as_deref()
                .and_then(ProtocolVersion::parse)
                .or_else(|| resource.session_version(session.as_deref()?));
            served_as(next.run(request).await, served)
        }
    }
}

fn classify(bytes: &[u8], header: Option<&str>) -> Message {
    let value: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let id = value.get("id").cloned();
    let method = value.get("method").and_then(Value::as_str);
    let meta_version = value.pointer("/params/_meta").and_then(|m| m.get(META_VERSION)).and_then(Value::as_str);
    // Dates compare as strings: anything from 2026-07-28 on is per-request metadata.
    let modern = |v: &str| v >= ProtocolVersion::V2026_07_28.as_str();
    match (method, id) {
        (Some("initialize"), Some(id)) => Message::Initialize {
            id,
            requested: value.pointer("/params/protocolVersion").and_then(Value::as_str).unwrap_or_default().to_owned(),
        },
        (Some(method), Some(id))
            if method == "server/discover" || meta_version.is_some_and(modern) || header.is_some_and(modern) =>
        {
            Message::Modern { id, requested: meta_version.map(str::to_owned) }
        }
        (_, id) => Message::Legacy { id },
    }
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers.get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Marks a response with the version its request was served under, for the transcript.
fn served_as(mut response: Response, version: Option<ProtocolVersion>) -> Response {
    if let Some(version) = version {
        response.extensions_mut().insert(version);
    }
    response
}

fn json_rpc_error(status: StatusCode, id: Option<Value>, code: i64, message: &str, data: Option<Value>) -> Response {
    let mut error = json!({"code": code, "message": message});
    if let Some(data) = data {
        error["data"] = data;
    }
    (status, axum::Json(json!({"jsonrpc": "2.0", "id": id, "error": error}))).into_response()
}

/// 400 and `UnsupportedProtocolVersionError`, listing what the server speaks, newest first.
fn unsupported(id: Value, requested: &str, versions: &[ProtocolVersion]) -> Response {
    let mut supported: Vec<_> = versions.iter().map(|v| v.as_str()).collect();
    supported.sort_unstable_by(|a, b| b.cmp(a));
    json_rpc_error(
        StatusCode::BAD_REQUEST,
        Some(id),
        UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
        Some(json!({"supported": supported, "requested": requested})),
    )
}

/// A legacy request to a server that speaks only 2026-07-28: the headers every request of that
/// revision carries are missing.
fn header_mismatch(id: Option<Value>) -> Response {
    let message = "Header mismatch: the MCP-Protocol-Version and Mcp-Method headers are required \
                   (this server speaks only protocol version 2026-07-28)";
    json_rpc_error(StatusCode::BAD_REQUEST, id, HEADER_MISMATCH, message, None)
}

/// What a server of the legacy revisions answers a request it cannot serve: 400, plain text, no
/// JSON-RPC error a 2026-07-28 client would take for a modern server's.
fn legacy_bad_request(legacy: &[ProtocolVersion], named: Option<&str>) -> Response {
    let speaks: Vec<_> = legacy.iter().map(|v| v.as_str()).collect();
    let reason = match named {
        Some(version) => format!("Unsupported MCP-Protocol-Version: {version}"),
        None => "no session; send initialize first".to_owned(),
    };
    let body = format!("Bad Request: {reason} (this server speaks protocol versions {})", speaks.join(", "));
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn method_not_allowed() -> Response {
    let mut response = (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").into_response();
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}
