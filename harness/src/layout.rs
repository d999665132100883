//! A running server's layout as a client meets it: the 401 challenge of each MCP URL, every
//! metadata document at every discovery URL that serves one, and the endpoints those documents
//! name. Everything is fetched, not predicted from the knobs, so `explain` shows what is served
//! whatever knobs made it.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::www_authenticate;

/// What answered where.
#[derive(Debug, Clone)]
pub struct Layout {
    /// One per MCP URL: what a request without a token gets.
    pub challenges: Vec<Challenge>,
    /// Every metadata document found, at each URL it is served at.
    pub documents: Vec<Document>,
    /// The endpoints the authorization server metadata names or, when there is none, the
    /// 2025-03-26 fallbacks on the MCP origin.
    pub endpoints: Vec<Endpoint>,
}

/// The answer to an unauthenticated MCP request.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub url: String,
    pub status: u16,
    /// The `WWW-Authenticate` header, if any.
    pub www_authenticate: Option<String>,
}

/// Which discovery document a URL served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// Protected resource metadata (RFC 9728).
    ResourceMetadata,
    /// Authorization server metadata (RFC 8414 or OpenID Connect discovery).
    AuthorizationServerMetadata,
}

/// A metadata document as served.
#[derive(Debug, Clone)]
pub struct Document {
    pub kind: DocumentKind,
    pub url: String,
    pub body: Value,
}

/// An endpoint and whether anything answers there.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The metadata member naming it (`token_endpoint`, `jwks_uri`).
    pub member: String,
    pub url: String,
    /// Whether the mock routes it (any answer but 404 or no connection).
    pub served: bool,
    /// Named by metadata, or a 2025-03-26 default for a server without metadata.
    pub advertised: bool,
}

/// The layout could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{url} is not a URL: {source}")]
    BadUrl { url: String, source: url::ParseError },
    #[error("POST {url} without a token failed: {source}")]
    Unreachable { url: String, source: reqwest::Error },
}

/// Discovers the layout behind `mcp_urls`, the way a client would, also trying `issuer` (the
/// server's real issuer, in case no protected resource metadata names it).
pub async fn discover(mcp_urls: &[String], issuer: &str) -> Result<Layout, LayoutError> {
    let http = crate::loopback_http::builder()
        .timeout(Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a plain HTTP client always builds");
    let parse = |url: &str| Url::parse(url).map_err(|source| LayoutError::BadUrl { url: url.to_owned(), source });

    let mut challenges = Vec::new();
    let mut resource_metadata_urls = Vec::new();
    for url in mcp_urls {
        let response = http
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body("{}")
            .send()
            .await
            .map_err(|source| LayoutError::Unreachable { url: url.clone(), source })?;
        let www_authenticate =
            response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned);
        if let Some(named) = www_authenticate.as_deref().and_then(|c| www_authenticate::param(c, "resource_metadata")) {
            resource_metadata_urls.push(named.to_owned());
        }
        // RFC 9728 §3.1: the path-inserted well-known URL, then the root one.
        let mcp = parse(url)?;
        let origin = mcp.origin().ascii_serialization();
        resource_metadata_urls
            .push(format!("{origin}/.well-known/oauth-protected-resource{}", mcp.path().trim_end_matches('/')));
        resource_metadata_urls.push(format!("{origin}/.well-known/oauth-protected-resource"));
        challenges.push(Challenge { url: url.clone(), status: response.status().as_u16(), www_authenticate });
    }

    let mut documents = Vec::new();
    for url in unique(resource_metadata_urls) {
        if let Some(body) = fetch_json(&http, &url).await {
            documents.push(Document { kind: DocumentKind::ResourceMetadata, url, body });
        }
    }
    let mut issuers: Vec<String> = documents
        .iter()
        .flat_map(|d| d.body["authorization_servers"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    issuers.push(issuer.to_owned());
    let mut metadata_urls = Vec::new();
    for issuer in unique(issuers) {
        let Ok(issuer) = Url::parse(&issuer) else { continue };
        let origin = issuer.origin().ascii_serialization();
        let path = issuer.path().trim_end_matches('/');
        // MCP authorization 2025-11-25 §Authorization Server Metadata Discovery, then the origin
        // root, where some servers also answer for a path issuer.
        metadata_urls.extend([
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]);
    }
    for url in unique(metadata_urls) {
        if let Some(body) = fetch_json(&http, &url).await {
            documents.push(Document { kind: DocumentKind::AuthorizationServerMetadata, url, body });
        }
    }

    let advertised: Vec<(String, String)> = documents
        .iter()
        .filter(|d| d.kind == DocumentKind::AuthorizationServerMetadata)
        .flat_map(|d| d.body.as_object().into_iter().flatten())
        .filter(|(member, _)| member.ends_with("_endpoint") || member.as_str() == "jwks_uri")
        .filter_map(|(member, url)| url.as_str().map(|url| (member.clone(), url.to_owned())))
        .collect();
    // MCP authorization 2025-03-26 §2.3.3: without metadata, clients use these paths on the
    // MCP server's origin. With metadata, the ones served anyway are listed too: answers where no
    // metadata points are what a guessing client meets.
    let origin = match mcp_urls.first() {
        Some(url) => parse(url)?.origin().ascii_serialization(),
        None => String::new(),
    };
    let defaults: Vec<(String, String)> = [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("registration_endpoint", "/register"),
    ]
    .iter()
    .map(|(member, path)| ((*member).to_owned(), format!("{origin}{path}")))
    .filter(|(_, url)| !advertised.iter().any(|(_, named)| named == url))
    .collect();
    let without_metadata = advertised.is_empty();
    let mut endpoints = Vec::new();
    for (member, url) in unique(advertised) {
        let served = http.get(&url).send().await.is_ok_and(|r| r.status() != reqwest::StatusCode::NOT_FOUND);
        endpoints.push(Endpoint { member, url, served, advertised: true });
    }
    for (member, url) in defaults {
        let served = http.get(&url).send().await.is_ok_and(|r| r.status() != reqwest::StatusCode::NOT_FOUND);
        if served || without_metadata {
            endpoints.push(Endpoint { member, url, served, advertised: false });
        }
    }
    Ok(Layout { challenges, documents, endpoints })
}

/// A JSON document served with 200 at `url`, if any.
async fn fetch_json(http: &reqwest::Client, url: &str) -> Option<Value> {
    let response = http.get(url).send().await.ok().filter(|r| r.status().is_success())?;
    response.json().await.ok()
}

/// The items in their first order, without repeats.
fn unique<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
