//! The careful HTTP client a capture speaks through: a time limit on every request, a size limit
//! on every body, redirects followed only within the origin asked (a redirect elsewhere is
//! recorded, not followed), no cookies, no credentials, and only the requests a client makes
//! before login (GET, and a JSON POST for `initialize` and an optional registration).

use std::time::Duration;

use url::Url;

/// How patient and how trusting a capture is.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The longest any one request may take, connection included.
    pub timeout: Duration,
    /// The largest body read; a bigger one is an error, not a truncated document.
    pub max_body: usize,
    /// Redirects followed within one origin before giving up.
    pub max_redirects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // 1 MiB is what the mock itself accepts; metadata documents are a few KiB.
        Self { timeout: Duration::from_secs(10), max_body: 1 << 20, max_redirects: 5 }
    }
}

/// What came back, after any same-origin redirects.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    /// The media type, without parameters (`application/json`).
    pub content_type: Option<String>,
    pub www_authenticate: Option<String>,
    /// A redirect to another origin, not followed.
    pub off_origin: Option<String>,
    /// Same-origin redirects followed, in order.
    pub redirects: Vec<String>,
    /// The body; an event stream is never read (it may never end).
    pub body: Vec<u8>,
}

/// A request that gave nothing a capture can record.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{method} {url}: no answer within {secs} s (--timeout)")]
    Timeout { method: &'static str, url: String, secs: u64 },
    #[error("{method} {url}: TLS failed: {detail}")]
    Tls { method: &'static str, url: String, detail: String },
    #[error("{method} {url}: cannot connect: {detail}")]
    Connect { method: &'static str, url: String, detail: String },
    #[error("{method} {url}: the answer is larger than {limit} bytes: not a metadata document; stopped reading")]
    TooLarge { method: &'static str, url: String, limit: usize },
    #[error("{method}: redirect loop: {}", chain.join(" → "))]
    RedirectLoop { method: &'static str, chain: Vec<String> },
    #[error("{method}: more than {limit} redirects: {}", chain.join(" → "))]
    TooManyRedirects { method: &'static str, chain: Vec<String>, limit: usize },
    #[error("{method} {url}: {detail}")]
    Other { method: &'static str, url: String, detail: String },
}

/// The HTTP client of one capture.
pub struct Fetcher {
    http: reqwest::Client,
    limits: Limits,
}

enum Method {
    Get,
    PostJson(serde_json::Value),
}

impl Method {
    fn name(&self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::PostJson(_) => "POST",
        }
    }
}

impl Fetcher {
    pub fn new(limits: Limits) -> Result<Self, FetchError> {
        let http = reqwest::Client::builder()
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout)
            // Redirects are followed by hand, so one to another origin is seen, not taken.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mcp-auth-harness-capture/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Other { method: "GET", url: String::new(), detail: e.to_string() })?;
        Ok(Self { http, limits })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        self.fetch(Method::Get, url).await
    }

    /// A JSON POST without any credential (`initialize`, or a registration).
    pub async fn post_json(&self, url: &str, body: serde_json::Value) -> Result<Fetched, FetchError> {
        self.fetch(Method::PostJson(body), url).await
    }

    async fn fetch(&self, method: Method, url: &str) -> Result<Fetched, FetchError> {
        let name = method.name();
        let mut chain = vec![url.to_owned()];
        let mut current = url.to_owned();
        loop {
            let request = match &method {
                Method::Get => self.http.get(&current).header("accept", "application/json"),
                Method::PostJson(body) => self
                    .http
                    .post(&current)
                    .header("content-type", "application/json")
                    // What a streamable HTTP client sends (MCP 2025-03-26 §Transports).
                    .header("accept", "application/json, text/event-stream")
                    .body(body.to_string()),
            };
            let response = request.send().await.map_err(|e| self.classify(name, &current, &e))?;
            let status = response.status();
            let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let location = header("location");
            // A POST follows only the redirects that keep its method and body (RFC 9110 §15.4).
            let follows = match method {
                Method::Get => status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED,
                Method::PostJson(_) => status.as_u16() == 307 || status.as_u16() == 308,
            };
            if let (true, Some(location)) = (follows, location.as_deref()) {
                let next =
                    Url::parse(&current).and_then(|base| base.join(location)).map_err(|e| FetchError::Other {
                        method: name,
                        url: current.clone(),
                        detail: format!("redirect to `{location}`: {e}"),
                    })?;
                let same_origin = Url::parse(&current).is_ok_and(|base| base.origin() == next.origin());
                if same_origin {
                    let next = next.to_string();
                    if chain.contains(&next) {
                        chain.push(next);
                        return Err(FetchError::RedirectLoop { method: name, chain });
                    }
                    chain.push(next.clone());
                    if chain.len() > self.limits.max_redirects + 1 {
                        return Err(FetchError::TooManyRedirects {
                            method: name,
                            chain,
                            limit: self.limits.max_redirects,
                        });
                    }
                    current = next;
                    continue;
                }
                return Ok(Fetched {
                    status: status.as_u16(),
                    content_type: media_type(header("content-type")),
                    www_authenticate: header("www-authenticate"),
                    off_origin: Some(next.to_string()),
                    redirects: chain[1..].to_vec(),
                    body: Vec::new(),
                });
            }
            let content_type = media_type(header("content-type"));
            let www_authenticate = header("www-authenticate");
            let body = if content_type.as_deref() == Some("text/event-stream") {
                Vec::new()
            } else {
                self.read_body(name, &current, response).await?
            };
            return Ok(Fetched {
                status: status.as_u16(),
                content_type,
                www_authenticate,
                off_origin: None,
                redirects: chain[1..].to_vec(),
                body,
            });
        }
    }

    /// The body, refusing more than the limit whatever `Content-Length` claims.
    async fn read_body(
        &self,
        method: &'static str,
        url: &str,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, FetchError> {
        let limit = self.limits.max_body;
        let too_large = || FetchError::TooLarge { method, url: url.to_owned(), limit };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(method, url, &e))? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn classify(&self, method: &'static str, url: &str, error: &reqwest::Error) -> FetchError {
        let url = url.to_owned();
        if error.is_timeout() {
            return FetchError::Timeout { method, url, secs: self.limits.timeout.as_secs().max(1) };
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        let mut innermost = error.to_string();
        while let Some(cause) = source {
            // rustls reports through `std::io::Error`s (nested), whose `source()` skips the error
            // each wraps.
            let mut inner: &(dyn std::error::Error + 'static) = cause;
            while let Some(wrapped) = inner.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
                inner = wrapped;
            }
            if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                return FetchError::Tls { method, url, detail: tls.to_string() };
            }
            innermost = cause.to_string();
            source = cause.source();
        }
        if error.is_connect() {
            FetchError::Connect { method, url, detail: innermost }
        } else {
            FetchError::Other { method, url, detail: innermost }
        }
    }
}

/// `application/json; charset=utf-8` → `application/json`.
fn media_type(value: Option<String>) -> Option<String> {
    value.map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}
