//! DPoP (RFC 9449; the MCP extension SEP-1932): the reference client's key, the proofs it
//! signs with it, and the MCP transport that presents a DPoP-bound token with one.
//!
//! One ES256 key per login, kept in the credentials file beside the tokens it is bound to. A
//! fresh proof (new `jti`) goes with every token request ([`OAuthHttp`](super::oauth_http)
//! signs those) and every MCP request carrying the token (`ath` its hash). A server's
//! `use_dpop_nonce` answer is retried once with the `DPoP-Nonce` it hands out, and that nonce is
//! used for its URL from then on (RFC 9449 §8, §9).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::StreamExt as _;
use http::{HeaderName, HeaderValue};
use mock_server::dpop::token_hash;
use mock_server::jose::{KeyPair, random_id};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, InsufficientScopeError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
};
use serde_json::json;
use url::Url;

use super::Fault;
use crate::www_authenticate;

/// A login's DPoP key and what it learnt from the servers: their nonces, by URL.
pub(super) struct DpopKey {
    key: KeyPair,
    faults: Vec<Fault>,
    nonces: Mutex<HashMap<String, String>>,
    /// Proofs already sent, by method and URL (the `reuse-dpop-proof` fault only).
    sent: Mutex<HashMap<(String, String), String>>,
}

impl DpopKey {
    pub fn generate(faults: &[Fault]) -> Arc<Self> {
        Self::with_key(KeyPair::generate(), faults)
    }

    /// The key a login stored (a private JWK), or `None` if it does not read as one.
    pub fn from_private_jwk(jwk: &str, faults: &[Fault]) -> Option<Arc<Self>> {
        KeyPair::from_private_jwk(jwk).ok().map(|key| Self::with_key(key, faults))
    }

    fn with_key(key: KeyPair, faults: &[Fault]) -> Arc<Self> {
        Arc::new(Self { key, faults: faults.to_vec(), nonces: Mutex::default(), sent: Mutex::default() })
    }

    /// The private key as a JWK, to keep with the credentials.
    pub fn private_jwk(&self) -> String {
        self.key.private_jwk()
    }

    fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    /// A proof for one request (RFC 9449 §4.2): `htu` without query and fragment, `ath` when an
    /// access token goes with it, the server's nonce for that URL once it named one.
    pub fn proof(&self, method: &str, url: &str, access_token: Option<&str>) -> String {
        let htu = without_query(url);
        let key = (method.to_owned(), htu.clone());
        if self.has(Fault::ReuseDpopProof)
            && let Some(sent) = self.sent.lock().unwrap_or_else(PoisonError::into_inner).get(&key)
        {
            return sent.clone();
        }
        let iat = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut claims = json!({"jti": random_id(), "htm": method, "htu": htu, "iat": iat});
        if let Some(token) = access_token.filter(|_| !self.has(Fault::DpopProofWithoutAth)) {
            claims["ath"] = json!(token_hash(token));
        }
        if let Some(nonce) = self.nonces.lock().unwrap_or_else(PoisonError::into_inner).get(&htu) {
            claims["nonce"] = json!(nonce);
        }
        let proof = self.key.sign(json!({"typ": "dpop+jwt", "jwk": self.key.public_jwk()}), &claims);
        if self.has(Fault::ReuseDpopProof) {
            self.sent.lock().unwrap_or_else(PoisonError::into_inner).insert(key, proof.clone());
        }
        proof
    }

    /// Keeps the nonce an answer asks for (`use_dpop_nonce` with a `DPoP-Nonce` header) and says
    /// whether the request should be retried with it: once, and never by a client that ignores
    /// nonces.
    pub fn learn_nonce(&self, url: &str, asked: bool, headers: &http::HeaderMap) -> bool {
        let nonce = headers.get("dpop-nonce").and_then(|v| v.to_str().ok());
        match nonce.filter(|_| asked && !self.has(Fault::IgnoreDpopNonce)) {
            Some(nonce) => {
                let mut nonces = self.nonces.lock().unwrap_or_else(PoisonError::into_inner);
                nonces.insert(without_query(url), nonce.to_owned()) != Some(nonce.to_owned())
            }
            None => false,
        }
    }
}

/// `htu`: the URL without query and fragment (RFC 9449 §4.2).
fn without_query(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut url) => {
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// The MCP transport's HTTP. Without a DPoP key it is rmcp's reqwest client, bearer tokens and
/// all. With one it sends each request itself: rmcp's reqwest client writes only
/// `Authorization: Bearer` and keeps no response header but `WWW-Authenticate`, so it can send
/// neither the DPoP scheme (RFC 9449 §7.1) nor the nonce a `use_dpop_nonce` answer carries in
/// `DPoP-Nonce` (§9). rmcp's `AuthClient` wraps this one and supplies (and refreshes) the token.
#[derive(Clone)]
pub(super) struct McpHttp {
    http: reqwest::Client,
    dpop: Option<Arc<DpopKey>>,
}

type Error = StreamableHttpError<reqwest::Error>;

impl McpHttp {
    pub fn new(dpop: Option<Arc<DpopKey>>) -> Self {
        Self { http: crate::loopback_http::client(), dpop }
    }

    /// The key to prove with, when the token is DPoP-bound and the client presents it as such.
    fn key_for(&self, token: &Option<String>) -> Option<(&DpopKey, String)> {
        let key = self.dpop.as_deref().filter(|k| !k.has(Fault::BoundTokenAsBearer))?;
        Some((key, token.clone()?))
    }

    /// Sends `build(request)` with `Authorization: DPoP` and a fresh proof; on `use_dpop_nonce`
    /// once more with the nonce.
    async fn send(
        &self,
        key: &DpopKey,
        token: &str,
        method: reqwest::Method,
        uri: &str,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Error> {
        let mut retried = false;
        loop {
            let proof = key.proof(method.as_str(), uri, Some(token));
            let request = self
                .http
                .request(method.clone(), uri)
                .header(http::header::AUTHORIZATION, format!("DPoP {token}"))
                .header("DPoP", proof);
            let response = build(request).send().await.map_err(StreamableHttpError::Client)?;
            let challenge = challenge(&response);
            let asked = response.status() == reqwest::StatusCode::UNAUTHORIZED
                && challenge.as_deref().and_then(|c| www_authenticate::param(c, "error")) == Some("use_dpop_nonce");
            if !retried && key.learn_nonce(uri, asked, response.headers()) {
                retried = true;
                continue;
            }
            return Ok(response);
        }
    }
}

fn challenge(response: &reqwest::Response) -> Option<String> {
    response.headers().get(http::header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The refusals rmcp's transport acts on (a 401 to refresh for, a 403 to step up for).
fn refusal(response: &reqwest::Response) -> Option<Error> {
    let challenge = challenge(response)?;
    match response.status() {
        reqwest::StatusCode::UNAUTHORIZED => Some(StreamableHttpError::AuthRequired(AuthRequiredError::new(challenge))),
        reqwest::StatusCode::FORBIDDEN => {
            let scope = www_authenticate::param(&challenge, "scope").map(str::to_owned);
            Some(StreamableHttpError::InsufficientScope(InsufficientScopeError::new(challenge, scope)))
        }
        _ => None,
    }
}

fn session_header(session_id: Option<Arc<str>>) -> impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    move |request| match &session_id {
        Some(id) => request.header("Mcp-Session-Id", id.as_ref()),
        None => request,
    }
}

fn with_headers(
    request: reqwest::RequestBuilder,
    headers: &HashMap<HeaderName, HeaderValue>,
) -> reqwest::RequestBuilder {
    headers.iter().fold(request, |request, (name, value)| request.header(name, value))
}

fn media_type(response: &reqwest::Response) -> String {
    response.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

impl StreamableHttpClient for McpHttp {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, Error> {
        let Some((key, token)) = self.key_for(&auth_token) else {
            return self.http.post_message(uri, message, session_id, auth_token, custom_headers).await;
        };
        let body = serde_json::to_vec(&message)?;
        let session = session_header(session_id.clone());
        let response = self
            .send(key, &token, reqwest::Method::POST, &uri, |request| {
                let request = request
                    .header(http::header::ACCEPT, "application/json, text/event-stream")
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
                session(with_headers(request, &custom_headers))
            })
            .await?;
        if let Some(refused) = refusal(&response) {
            return Err(refused);
        }
        let status = response.status();
        if matches!(status, reqwest::StatusCode::ACCEPTED | reqwest::StatusCode::NO_CONTENT) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == reqwest::StatusCode::NOT_FOUND && session_id.is_some() {
            return Err(StreamableHttpError::SessionExpired);
        }
        let new_session = response.headers().get("Mcp-Session-Id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let media_type = media_type(&response);
        if media_type.starts_with("text/event-stream") {
            let events = sse_stream::SseStream::from_bytes_stream(response.bytes_stream()).boxed();
            return Ok(StreamableHttpPostResponse::Sse(events, new_session));
        }
        if media_type.starts_with("application/json") {
            let bytes = response.bytes().await.map_err(StreamableHttpError::Client)?;
            if bytes.is_empty() && status.is_success() {
                return Ok(StreamableHttpPostResponse::Accepted);
            }
            let message: ServerJsonRpcMessage = serde_json::from_slice(&bytes)?;
            return Ok(StreamableHttpPostResponse::Json(message, new_session));
        }
        if status.is_success() {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        Err(StreamableHttpError::UnexpectedServerResponse(format!("HTTP {status}").into()))
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), Error> {
        let Some((key, token)) = self.key_for(&auth_token) else {
            return self.http.delete_session(uri, session_id, auth_token, custom_headers).await;
        };
        let session = session_header(Some(session_id));
        let response = self
            .send(key, &token, reqwest::Method::DELETE, &uri, |r| session(with_headers(r, &custom_headers)))
            .await?;
        match response.status() {
            reqwest::StatusCode::METHOD_NOT_ALLOWED => Err(StreamableHttpError::ServerDoesNotSupportDeleteSession),
            status if status.is_success() || status == reqwest::StatusCode::NOT_FOUND => Ok(()),
            status => Err(refusal(&response)
                .unwrap_or_else(|| StreamableHttpError::UnexpectedServerResponse(format!("HTTP {status}").into()))),
        }
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<futures::stream::BoxStream<'static, Result<sse_stream::Sse, sse_stream::Error>>, Error> {
        let Some((key, token)) = self.key_for(&auth_token) else {
            return self.http.get_stream(uri, session_id, last_event_id, auth_token, custom_headers).await;
        };
        let session = session_header(session_id.clone());
        let response = self
            .send(key, &token, reqwest::Method::GET, &uri, |request| {
                let mut request = request.header(http::header::ACCEPT, "text/event-stream, application/json");
                if let Some(id) = &last_event_id {
                    request = request.header("Last-Event-Id", id);
                }
                session(with_headers(request, &custom_headers))
            })
            .await?;
        if response.status() == reqwest::StatusCode::METHOD_NOT_ALLOWED {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        if let Some(refused) = refusal(&response) {
            return Err(refused);
        }
        if response.status() == reqwest::StatusCode::NOT_FOUND && session_id.is_some() {
            return Err(StreamableHttpError::SessionExpired);
        }
        if !response.status().is_success() || !media_type(&response).starts_with("text/event-stream") {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        Ok(sse_stream::SseStream::from_bytes_stream(response.bytes_stream()).boxed())
    }
}

#[cfg(test)]
mod tests {
    use mock_server::jose::Jwt;

    use super::*;

    fn claims(proof: &str) -> serde_json::Value {
        Jwt::decode_unverified(proof).unwrap().claims
    }

    #[test]
    fn every_proof_is_fresh_and_fits_its_request() {
        let key = DpopKey::generate(&[]);
        let (a, b) = (key.proof("POST", "http://h:1/mcp?x=1#f", Some("t")), key.proof("POST", "http://h:1/mcp", None));
        assert_ne!(claims(&a)["jti"], claims(&b)["jti"]);
        assert_eq!(claims(&a)["htu"], "http://h:1/mcp");
        assert_eq!(claims(&a)["ath"], token_hash("t"));
        assert!(claims(&b).get("ath").is_none());
        let header = Jwt::decode_unverified(&a).unwrap().header;
        assert_eq!((header["typ"].as_str(), header["alg"].as_str()), (Some("dpop+jwt"), Some("ES256")));
        assert!(header["jwk"].get("d").is_none(), "the proof carries the public key only");
    }

    #[test]
    fn a_nonce_asked_for_is_retried_once_and_kept_for_its_url() {
        let key = DpopKey::generate(&[]);
        let mut headers = http::HeaderMap::new();
        headers.insert("dpop-nonce", "n1".parse().unwrap());
        assert!(key.learn_nonce("http://h:1/token", true, &headers));
        assert!(!key.learn_nonce("http://h:1/token", true, &headers), "the same nonce again: no second retry");
        assert_eq!(claims(&key.proof("POST", "http://h:1/token", None))["nonce"], "n1");
        assert!(claims(&key.proof("POST", "http://h:1/mcp", None)).get("nonce").is_none());
        assert!(!DpopKey::generate(&[Fault::IgnoreDpopNonce]).learn_nonce("http://h:1/token", true, &headers));
    }

    #[test]
    fn the_stored_key_signs_as_before() {
        let key = DpopKey::generate(&[]);
        let again = DpopKey::from_private_jwk(&key.private_jwk(), &[]).unwrap();
        let jwk =
            |k: &DpopKey| Jwt::decode_unverified(&k.proof("GET", "http://h:1/", None)).unwrap().header["jwk"].clone();
        assert_eq!(jwk(&key), jwk(&again));
    }
}
