//! The middleware that writes every exchange on a listener into the [`Transcript`].

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::authorization::OAuthError;
use crate::profile::ProtocolVersion;
use crate::transcript::{Endpoint, Exchange, Origin, Transcript};

/// The largest request body any endpoint reads (and the largest JSON response recorded).
pub const BODY_LIMIT: usize = 1 << 20;

const REQUEST_HEADERS: &[&str] =
    &["authorization", "dpop", "content-type", "accept", "mcp-protocol-version", "mcp-session-id"];
const RESPONSE_HEADERS: &[&str] = &["www-authenticate", "location", "content-type", "mcp-session-id", "dpop-nonce"];

/// A client ID metadata document the authorization server fetched while answering a request,
/// carried on the response to the transcript.
#[derive(Debug, Clone)]
pub struct FetchedClientMetadata(pub Value);

/// Marks a response with the endpoint that produced it, for the transcript.
pub fn tagged(endpoint: Endpoint, response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    response.extensions_mut().insert(endpoint);
    response
}

pub async fn record(
    State((transcript, origin)): State<(Transcript, Origin)>,
    request: Request,
    next: Next,
) -> Response {
    let seq = transcript.reserve_seq();
    let (parts, body) = request.into_parts();
    let mut exchange = Exchange {
        seq,
        origin,
        endpoint: Endpoint::NotFound,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts
            .uri
            .query()
            .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default(),
        request_headers: chosen(&parts.headers, REQUEST_HEADERS),
        request_body: Value::Null,
        status: 0,
        response_headers: BTreeMap::new(),
        response_body: Value::Null,
        protocol_version: None,
        jwts: BTreeMap::new(),
        client_metadata_document: None,
    };
    let response = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Err(_) => tagged(exchange_endpoint_guess(&exchange.path), OAuthError::payload_too_large()),
        Ok(bytes) => {
            exchange.request_body = parse_body(&parts.headers, &bytes);
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        }
    };
    exchange.endpoint = response.extensions().get::<Endpoint>().copied().unwrap_or(Endpoint::NotFound);
    exchange.protocol_version = response.extensions().get::<ProtocolVersion>().map(|v| v.as_str().to_owned());
    exchange.client_metadata_document = response.extensions().get::<FetchedClientMetadata>().map(|d| d.0.clone());
    exchange.status = response.status().as_u16();
    exchange.response_headers = chosen(response.headers(), RESPONSE_HEADERS);
    let response = if is_json(response.headers()) {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.unwrap_or_default();
        exchange.response_body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response::from_parts(parts, Body::from(bytes))
    } else {
        response
    };
    transcript.record(exchange);
    response
}

/// An oversized body never reaches a handler, so the endpoint is guessed from the path.
fn exchange_endpoint_guess(path: &str) -> Endpoint {
    if path.ends_with("/token") {
        Endpoint::Token
    } else if path.ends_with("/register") {
        Endpoint::Registration
    } else {
        Endpoint::NotFound
    }
}

fn chosen(headers: &HeaderMap, names: &[&str]) -> BTreeMap<String, String> {
    names
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().unwrap_or("<non-ascii>");
            Some(((*name).to_owned(), value.to_owned()))
        })
        .collect()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"))
}

/// A form body becomes a JSON object (repeated fields become arrays); a JSON body stays JSON.
fn parse_body(headers: &HeaderMap, bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut object = serde_json::Map::new();
        for (k, v) in url::form_urlencoded::parse(bytes) {
            match object.get_mut(k.as_ref()) {
                Some(Value::Array(values)) => values.push(Value::String(v.into_owned())),
                Some(first) => *first = Value::Array(vec![first.take(), Value::String(v.into_owned())]),
                None => {
                    object.insert(k.into_owned(), Value::String(v.into_owned()));
                }
            }
        }
        Value::Object(object)
    } else {
        serde_json::from_slice(bytes).unwrap_or(Value::Null)
    }
}
