//! What a careful client does before login, recorded: `initialize` without a token, every
//! protected resource metadata URL RFC 9728 and the challenge list, every authorization server
//! metadata URL the MCP authorization spec lists for the issuer found (RFC 8414 and OpenID
//! Connect, path-inserted and appended, and the root ones some servers also answer), and, only
//! when asked, one dynamic registration (RFC 7591).

use serde_json::{Map, Value, json};
use url::Url;

use super::document::{self, AuthorizationServerMetadata, ResourceMetadata};
use super::fetch::{FetchError, Fetched, Fetcher, Limits};
use super::record::{Answer, Capture, Issuer, Request, Role};
use crate::www_authenticate;

/// What a capture may do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub limits: Limits,
    /// Register one client dynamically, to record what the authorization server answers.
    pub register: bool,
}

/// Why nothing could be captured.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("`{url}` is not an http(s) URL: {detail}")]
    BadUrl { url: String, detail: String },
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(
        "{url} is not an MCP server: POST initialize without a token got {status}{content_type}; an OAuth-protected MCP server answers 401 with a Bearer challenge (MCP authorization §Authorization Server Discovery)"
    )]
    NotMcp { url: String, status: u16, content_type: String },
    #[error(
        "{url} answered initialize without a token ({status}) and publishes no protected resource metadata: it needs no authorization, so it has no OAuth layout to capture"
    )]
    NotProtected { url: String, status: u16 },
    #[error("{url} redirects to another origin ({to}); not followed: capture that URL if it is the server")]
    RedirectedAway { url: String, to: String },
    #[error("cannot start the mock the capture describes: {0}")]
    Replay(String),
}

/// The request a client sends first (MCP lifecycle §Initialization).
fn initialize() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": crate::revision::Revision::LATEST.to_string(),
            "capabilities": {},
            "clientInfo": { "name": "mcp-auth-harness-capture", "version": env!("CARGO_PKG_VERSION") },
        },
    })
}

/// What `--register` asks for: a public native client on a loopback redirect (RFC 8252 §7.3),
/// as a 2026-07-28 client registers (`application_type`, SEP-837; `refresh_token`, SEP-2207).
fn registration_request() -> Value {
    json!({
        "client_name": "mcp-auth-harness capture",
        "application_type": "native",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

/// Captures the layout behind `url`. The result is not yet labelled: see [`Capture::labelled`].
pub async fn probe(url: &str, options: &Options) -> Result<Capture, CaptureError> {
    let parsed = Url::parse(url).map_err(|e| CaptureError::BadUrl { url: url.to_owned(), detail: e.to_string() })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(CaptureError::BadUrl { url: url.to_owned(), detail: format!("scheme `{}`", parsed.scheme()) });
    }
    let fetcher = Fetcher::new(options.limits.clone())?;
    let mut requests = Vec::new();

    let first = fetcher.post_json(url, initialize()).await?;
    if let Some(to) = first.off_origin.clone() {
        return Err(CaptureError::RedirectedAway { url: url.to_owned(), to });
    }
    // A server may let `initialize` through and ask for authorization later (on a tool call):
    // then only protected resource metadata tells it is protected at all.
    let open = (200..300).contains(&first.status)
        && (first.content_type.as_deref() == Some("text/event-stream") || is_json_rpc(&first.body));
    match first.status {
        401 | 403 => {}
        _ if open => {}
        status => {
            let content_type = first.content_type.map(|t| format!(" ({t})")).unwrap_or_default();
            return Err(CaptureError::NotMcp { url: url.to_owned(), status, content_type });
        }
    }
    // RFC 9728 §5.1 wants an absolute URL; a relative one is read as a lenient client would.
    let named = first
        .www_authenticate
        .as_deref()
        .and_then(|c| www_authenticate::param(c, "resource_metadata"))
        .and_then(|named| parsed.join(named).ok())
        .map(String::from);
    requests.push(request(Role::Mcp, "POST", url, "initialize without a token", first));

    // RFC 9728 §3.1 and §5.1: the URL the challenge names, then the well-known ones.
    let origin = parsed.origin().ascii_serialization();
    let path = parsed.path().trim_end_matches('/');
    let mut candidates: Vec<(String, &str)> = Vec::new();
    if let Some(named) = &named {
        candidates.push((named.clone(), "named by the challenge's resource_metadata, RFC 9728 §5.1"));
    }
    if !path.is_empty() {
        candidates.push((
            format!("{origin}/.well-known/oauth-protected-resource{path}"),
            "RFC 9728 §3.1 well-known URL, path inserted",
        ));
    }
    candidates
        .push((format!("{origin}/.well-known/oauth-protected-resource"), "RFC 9728 §3.1 well-known URL at the root"));
    for (candidate, why) in merge_reasons(candidates) {
        let fetched = fetcher.get(&candidate).await?;
        requests.push(request(Role::ResourceMetadata, "GET", &candidate, &why, fetched));
    }

    let protected = requests.iter().any(|r| {
        r.role == Role::ResourceMetadata && (200..300).contains(&r.answer.status) && r.answer.document.is_some()
    });
    if open && !protected {
        return Err(CaptureError::NotProtected { url: url.to_owned(), status: requests[0].answer.status });
    }
    let issuer = find_issuer(&requests, &origin);
    if let Some(issuer) = &issuer
        && let Ok(issuer_url) = Url::parse(&issuer.url)
    {
        let origin = issuer_url.origin().ascii_serialization();
        let path = issuer_url.path().trim_end_matches('/');
        let mut candidates = vec![
            (format!("{origin}/.well-known/oauth-authorization-server{path}"), "RFC 8414 §3.1".to_owned()),
            (
                format!("{origin}/.well-known/openid-configuration{path}"),
                "OpenID Connect discovery, path inserted (MCP 2025-11-25)".into(),
            ),
            (
                format!("{origin}{path}/.well-known/openid-configuration"),
                "OpenID Connect Discovery 1.0 §4, path appended".into(),
            ),
        ];
        if !path.is_empty() {
            let beside = "at the root, beside a path issuer (not in the spec's list)";
            candidates.push((format!("{origin}/.well-known/oauth-authorization-server"), format!("RFC 8414 {beside}")));
            candidates.push((format!("{origin}/.well-known/openid-configuration"), format!("OpenID Connect {beside}")));
        }
        let candidates = candidates.iter().map(|(url, why)| (url.clone(), why.as_str())).collect();
        for (candidate, why) in merge_reasons(candidates) {
            let fetched = fetcher.get(&candidate).await?;
            requests.push(request(Role::AuthorizationServerMetadata, "GET", &candidate, &why, fetched));
        }
    }

    let mut capture = Capture { source: printable_source(&parsed), requests, issuer };
    if options.register {
        let endpoint = capture
            .documents(Role::AuthorizationServerMetadata)
            .find_map(|(_, d)| AuthorizationServerMetadata::read(d).registration_endpoint);
        if let Some(endpoint) = endpoint {
            let fetched = fetcher.post_json(&endpoint, registration_request()).await?;
            capture.requests.push(request(Role::Registration, "POST", &endpoint, "--register: RFC 7591 §3.1", fetched));
        }
    }
    Ok(capture)
}

/// The issuer a client goes on with: the first protected resource metadata document's first
/// authorization server, or without any such document the MCP server's origin (2025-03-26).
fn find_issuer(requests: &[Request], mcp_origin: &str) -> Option<Issuer> {
    let documents: Vec<&Request> = requests
        .iter()
        .filter(|r| {
            r.role == Role::ResourceMetadata && (200..300).contains(&r.answer.status) && r.answer.document.is_some()
        })
        .collect();
    let Some(first) = documents.first() else {
        return Some(Issuer {
            url: mcp_origin.to_owned(),
            from: "no protected resource metadata: the MCP server's origin, MCP 2025-03-26 §Server Metadata Discovery"
                .into(),
        });
    };
    let read = ResourceMetadata::read(first.answer.document.as_ref()?);
    let url = read.authorization_servers.first()?.clone();
    Url::parse(&url).ok().filter(|u| matches!(u.scheme(), "http" | "https"))?;
    Some(Issuer { url, from: format!("authorization_servers[0] of {}", first.url) })
}

/// Candidates without repeats, each with every reason it was listed for.
fn merge_reasons(candidates: Vec<(String, &str)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (url, why) in candidates {
        match out.iter_mut().find(|(u, _)| *u == url) {
            Some((_, reasons)) => {
                reasons.push_str("; ");
                reasons.push_str(why);
            }
            None => out.push((url, why.to_owned())),
        }
    }
    out
}

fn request(role: Role, method: &str, url: &str, why: &str, fetched: Fetched) -> Request {
    let success = (200..300).contains(&fetched.status);
    // A client reads a document from a success, and from a failure only a registration's OAuth
    // error (RFC 7591 §3.2.2): a 404 page's body and type are the web server's, not the layout.
    let read = success || role == Role::Registration;
    let (document, not_a_document) = match document::json_object(&fetched.body) {
        // An MCP answer is the server's own business, not its OAuth layout.
        Ok(_) if role == Role::Mcp => (None, None),
        Ok(object) if read => (Some(object), None),
        Err(_) if fetched.content_type.as_deref() == Some("text/event-stream") => (None, None),
        Err(why) if success && fetched.off_origin.is_none() => (None, Some(why.to_string())),
        _ => (None, None),
    };
    let document = match (role, document) {
        (Role::Registration, Some(answer)) => Some(registration_members(answer)),
        (_, document) => document,
    };
    Request {
        role,
        method: method.to_owned(),
        url: url.to_owned(),
        why: why.to_owned(),
        answer: Answer {
            status: fetched.status,
            content_type: fetched.content_type.filter(|_| read),
            www_authenticate: fetched.www_authenticate,
            redirected_to: fetched.off_origin,
            redirects: fetched.redirects,
            document,
            not_a_document,
        },
    }
}

/// The members of a registration answer a client acts on (RFC 7591 §3.2), with a secret only
/// said to be there: the rest (ids, dates, registration access) is secret or changes every time.
fn registration_members(answer: Map<String, Value>) -> Map<String, Value> {
    const KEPT: [&str; 6] =
        ["redirect_uris", "grant_types", "response_types", "token_endpoint_auth_method", "error", "error_description"];
    let mut kept: Map<String, Value> =
        answer.iter().filter(|(k, _)| KEPT.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    if answer.get("client_secret").is_some_and(|s| s.as_str().is_some_and(|s| !s.is_empty())) {
        kept.insert("client_secret".into(), json!("[issued]"));
    }
    kept
}

fn is_json_rpc(body: &[u8]) -> bool {
    document::json_object(body).is_ok_and(|o| o.contains_key("jsonrpc"))
}

/// The URL as a file may print it: no credentials, query or fragment (they may hold secrets),
/// and no port on a loopback host (it changes every run).
fn printable_source(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let loopback =
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) || host == "[::1]";
    let port = match url.port() {
        Some(_) if loopback => ":<port>".to_owned(),
        Some(port) => format!(":{port}"),
        None => String::new(),
    };
    format!("{}://{host}{port}{}", url.scheme(), url.path())
}
