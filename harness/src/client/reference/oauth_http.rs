//! The reference client's OAuth HTTP. rmcp makes every discovery, registration and token request
//! through an [`OAuthHttpClient`]; the adapter gives it this one, which sends them with a
//! [loopback](crate::loopback_http) reqwest client (rmcp's default one would load the platform's
//! TLS roots twice per login), keeps what rmcp reads and then drops — the redirect URIs a registration response
//! says were registered, and whether the server answered `invalid_client` — and is where the
//! discovery and registration faults act: rmcp does those things right and has no switch to do
//! them wrong. It also signs the DPoP proof of every token request once the login uses DPoP
//! (RFC 9449 §5), since rmcp knows nothing of DPoP.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rmcp::transport::auth::{
    AuthError, OAuthHttpClient, OAuthHttpClientError, OAuthHttpClientFuture, OAuthHttpRedirectPolicy, OAuthHttpRequest,
};
use url::Url;

use super::Fault;
use super::dpop::DpopKey;
use crate::www_authenticate;

type Response = http::Response<Vec<u8>>;

const OAUTH_METADATA: &str = "/.well-known/oauth-authorization-server";
const OIDC_METADATA: &str = "/.well-known/openid-configuration";

pub(super) struct OAuthHttp {
    /// For the requests rmcp asks to follow redirects, and those a faulty client makes that rmcp
    /// would not.
    follow: reqwest::Client,
    /// For the requests rmcp asks not to follow redirects (the authorization request's answer).
    stop: reqwest::Client,
    faults: Vec<Fault>,
    registered_redirect_uris: Mutex<Option<Vec<String>>>,
    /// The secret the last dynamic registration issued (a confidential client), which rmcp does
    /// not keep past the login.
    registered_client_secret: Mutex<Option<String>>,
    /// Whether the authorization server answered `invalid_client`: it does not know this client.
    client_rejected: AtomicBool,
    /// The DPoP key token requests are proven with, once the login uses DPoP.
    dpop: Mutex<Option<Arc<DpopKey>>>,
}

impl OAuthHttp {
    pub fn new(faults: &[Fault]) -> Result<Arc<Self>, AuthError> {
        let build = |redirect| {
            crate::loopback_http::builder()
                .timeout(std::time::Duration::from_secs(30))
                .redirect(redirect)
                .build()
                .map_err(|e| AuthError::InternalError(e.to_string()))
        };
        Ok(Arc::new(Self {
            follow: build(reqwest::redirect::Policy::default())?,
            stop: build(reqwest::redirect::Policy::none())?,
            faults: faults.to_vec(),
            registered_redirect_uris: Mutex::default(),
            registered_client_secret: Mutex::default(),
            client_rejected: AtomicBool::new(false),
            dpop: Mutex::default(),
        }))
    }

    /// Proves every token request from now on with `key`.
    pub fn use_dpop(&self, key: Arc<DpopKey>) {
        *self.dpop.lock().expect("never poisoned") = Some(key);
    }

    /// The DPoP key token requests are proven with, if any.
    pub fn dpop_key(&self) -> Option<Arc<DpopKey>> {
        self.dpop.lock().expect("never poisoned").clone()
    }

    /// The redirect URIs the last dynamic registration answered with.
    pub fn registered_redirect_uris(&self) -> Option<Vec<String>> {
        self.registered_redirect_uris.lock().expect("never poisoned").clone()
    }

    pub fn registered_client_secret(&self) -> Option<String> {
        self.registered_client_secret.lock().expect("never poisoned").clone()
    }

    /// Whether a response said `invalid_client`, which rmcp reports as any other OAuth failure.
    pub fn client_rejected(&self) -> bool {
        self.client_rejected.load(Ordering::Relaxed)
    }

    fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    async fn get(&self, url: &Url) -> Result<Response, OAuthHttpClientError> {
        answer(self.follow.get(url.clone()).send().await?).await
    }

    async fn execute_plainly(&self, request: OAuthHttpRequest) -> Result<Response, OAuthHttpClientError> {
        let client = match request.redirect_policy {
            OAuthHttpRedirectPolicy::Stop => &self.stop,
            _ => &self.follow,
        };
        answer(client.execute(reqwest::Request::try_from(request.request)?).await?).await
    }

    /// A token request with a fresh DPoP proof, once more with the nonce a `use_dpop_nonce`
    /// answer names (RFC 9449 §8).
    async fn execute_proven(&self, request: OAuthHttpRequest, key: &DpopKey) -> Result<Response, OAuthHttpClientError> {
        let client = match request.redirect_policy {
            OAuthHttpRedirectPolicy::Stop => &self.stop,
            _ => &self.follow,
        };
        let url = request.request.uri().to_string();
        let method = request.request.method().as_str().to_owned();
        let base = reqwest::Request::try_from(request.request)?;
        let mut retried = false;
        loop {
            let mut attempt = base.try_clone().expect("a buffered body clones");
            attempt.headers_mut().insert("dpop", key.proof(&method, &url, None).parse()?);
            let response = answer(client.execute(attempt).await?).await?;
            let asked = response.status() == 400
                && serde_json::from_slice::<serde_json::Value>(response.body())
                    .is_ok_and(|body| body["error"] == "use_dpop_nonce");
            if !retried && key.learn_nonce(&url, asked, response.headers()) {
                retried = true;
                continue;
            }
            return Ok(response);
        }
    }

    async fn send(&self, mut request: OAuthHttpRequest) -> Result<Response, OAuthHttpClientError> {
        let url = Url::parse(&request.request.uri().to_string())?;
        if self.has(Fault::SkipOidcFallback) && url.path().contains(OIDC_METADATA) {
            return Ok(http::Response::builder().status(404).body(Vec::new())?);
        }
        if self.has(Fault::WrongAsMetadataOrder)
            && let Some(issuer_path) = url.path().strip_prefix(&format!("{OAUTH_METADATA}/"))
        {
            // The spec's later URLs first: path-appended OpenID Connect, then path-inserted.
            for path in [format!("/{issuer_path}{OIDC_METADATA}"), format!("{OIDC_METADATA}/{issuer_path}")] {
                let mut earlier = url.clone();
                earlier.set_path(&path);
                let response = self.get(&earlier).await?;
                if response.status() == 200 {
                    return Ok(response);
                }
            }
        }
        let registration = registration_request(&request);
        if registration && let Ok(mut metadata) = serde_json::from_slice(request.request.body()) {
            super::fault::rewrite_registration(&self.faults, &mut metadata);
            *request.request.body_mut() = serde_json::to_vec(&metadata)?;
        }
        let mut response = match self.dpop_key().filter(|_| token_request(&request)) {
            Some(key) => self.execute_proven(request, &key).await?,
            None => self.execute_plainly(request).await?,
        };
        if response.status() == 401
            && serde_json::from_slice::<serde_json::Value>(response.body())
                .is_ok_and(|body| body["error"] == "invalid_client")
        {
            self.client_rejected.store(true, Ordering::Relaxed);
        }
        if registration && response.status().is_success() {
            let body = serde_json::from_slice::<serde_json::Value>(response.body()).ok();
            let uris = body.as_ref().and_then(|body| serde_json::from_value(body["redirect_uris"].clone()).ok());
            *self.registered_redirect_uris.lock().expect("never poisoned") = uris;
            let secret = body.as_ref().and_then(|body| body["client_secret"].as_str().map(str::to_owned));
            *self.registered_client_secret.lock().expect("never poisoned") = secret;
        }
        if self.has(Fault::IgnoreResourceMetadata) {
            let headers = response.headers_mut();
            let challenges: Vec<String> = headers
                .get_all(http::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| Some(www_authenticate::without_param(v.to_str().ok()?, "resource_metadata")))
                .collect();
            headers.remove(http::header::WWW_AUTHENTICATE);
            for challenge in challenges {
                headers.append(http::header::WWW_AUTHENTICATE, challenge.parse()?);
            }
        }
        if self.has(Fault::SkipIssuerValidation)
            && response.status() == 200
            && let Some(issuer) = issuer_looked_up(&url)
            && let Ok(mut metadata) = serde_json::from_slice::<serde_json::Value>(response.body())
        {
            // rmcp compares `issuer` with the issuer it looked up; a client that never compares
            // behaves as if they always matched.
            metadata["issuer"] = issuer.into();
            *response.body_mut() = serde_json::to_vec(&metadata)?;
        }
        Ok(response)
    }
}

impl OAuthHttpClient for OAuthHttp {
    fn execute(&self, request: OAuthHttpRequest) -> OAuthHttpClientFuture<'_> {
        Box::pin(self.send(request))
    }
}

/// `response` as the `http` response rmcp reads.
async fn answer(response: reqwest::Response) -> Result<Response, OAuthHttpClientError> {
    let mut answer = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    Ok(answer.body(response.bytes().await?.to_vec())?)
}

/// A token request (OAuth 2.1 §3.2): a form POST naming a `grant_type`.
fn token_request(request: &OAuthHttpRequest) -> bool {
    request.request.method() == http::Method::POST
        && url::form_urlencoded::parse(request.request.body()).any(|(name, _)| name == "grant_type")
}

/// A dynamic registration (RFC 7591 §3.1): a JSON POST listing redirect URIs.
fn registration_request(request: &OAuthHttpRequest) -> bool {
    request.request.method() == http::Method::POST
        && serde_json::from_slice::<serde_json::Value>(request.request.body())
            .is_ok_and(|body| body.get("redirect_uris").is_some())
}

/// The issuer whose authorization server metadata `url` asks for (RFC 8414 §3.1, and the OpenID
/// Connect forms the MCP spec adds), or `None` if it is no metadata URL.
fn issuer_looked_up(url: &Url) -> Option<String> {
    let path = url.path();
    let issuer_path = [OAUTH_METADATA, OIDC_METADATA]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix).filter(|rest| rest.is_empty() || rest.starts_with('/')))
        .or_else(|| path.strip_suffix(OIDC_METADATA))?;
    Some(format!("{}{issuer_path}", url.origin().ascii_serialization()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_of_each_metadata_url() {
        let issuer = |u: &str| issuer_looked_up(&Url::parse(u).unwrap());
        assert_eq!(issuer("http://a:1/.well-known/oauth-authorization-server").as_deref(), Some("http://a:1"));
        assert_eq!(issuer("http://a:1/.well-known/oauth-authorization-server/t1").as_deref(), Some("http://a:1/t1"));
        assert_eq!(issuer("http://a:1/.well-known/openid-configuration/t1").as_deref(), Some("http://a:1/t1"));
        assert_eq!(issuer("http://a:1/t1/.well-known/openid-configuration").as_deref(), Some("http://a:1/t1"));
        assert_eq!(issuer("http://a:1/.well-known/oauth-protected-resource"), None);
    }
}
