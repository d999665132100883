//! A minimal OAuth client for the mock's own tests: just enough to walk a code flow by hand, so
//! each test can break one step of it.

#![allow(dead_code)] // each test binary uses a different part

use base64::Engine as _;
use mock_server::MockServer;
use serde_json::{Value, json};
use sha2::Digest as _;

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// GET `url` and parse the JSON answer.
pub async fn get_json(url: impl reqwest::IntoUrl) -> Value {
    http().get(url).send().await.unwrap().json().await.unwrap()
}

pub fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Dynamic registration of a public client with [`REDIRECT`]: its client id.
pub async fn register(server: &MockServer) -> String {
    registration(server).await["client_id"].as_str().unwrap().to_owned()
}

/// Dynamic registration of a public client with [`REDIRECT`]: the whole response.
pub async fn registration(server: &MockServer) -> Value {
    let response = register_at(&format!("{}/register", server.issuer()), json!({})).await;
    assert_eq!(response.status(), 201);
    response.json::<Value>().await.unwrap()
}

/// A dynamic registration at `endpoint` of a public client with [`REDIRECT`], `extra` merged
/// into the request: the answer, whatever it is.
pub async fn register_at(endpoint: &str, extra: Value) -> reqwest::Response {
    let mut body = json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    http().post(endpoint).json(&body).send().await.unwrap()
}

/// The authorize request's query for `client_id` with PKCE S256, `resource` and `scope`.
pub fn authorize_query(server: &MockServer, client_id: &str, scope: &str) -> Vec<(String, String)> {
    [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("state", "st4te"),
        ("code_challenge", &challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
        ("resource", &server.uri()),
        ("scope", scope),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Loads the consent page for `query`, submits `decision`, and returns the redirect's URL.
pub async fn consent(server: &MockServer, query: &[(String, String)], decision: &str) -> url::Url {
    let page = http().get(format!("{}/authorize", server.issuer())).query(query).send().await.unwrap();
    assert_eq!(page.status(), 200, "consent page expected");
    let html = page.text().await.unwrap();
    let request_id = html.split("name=\"request_id\" value=\"").nth(1).unwrap().split('"').next().unwrap();
    let answer = http()
        .post(format!("{}/authorize/consent", server.issuer()))
        .form(&[("request_id", request_id), ("decision", decision)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 302);
    url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap()
}

pub fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// A POST to the token endpoint with `form`; returns status and JSON body.
pub async fn token(server: &MockServer, form: &[(&str, &str)]) -> (u16, Value) {
    let response = http().post(format!("{}/token", server.issuer())).form(form).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Registration, consent and code exchange: the token response.
pub async fn log_in(server: &MockServer, scope: &str) -> (String, Value) {
    let client_id = register(server).await;
    let query = authorize_query(server, &client_id, scope);
    let redirect = consent(server, &query, "approve").await;
    let code = param(&redirect, "code").unwrap();
    let (status, body) = token(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("resource", &server.uri()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (client_id, body)
}

/// A JSON-RPC `initialize` POST to the MCP endpoint with an optional bearer token.
pub async fn mcp_initialize(server: &MockServer, token: Option<&str>) -> reqwest::Response {
    let mut request = http().post(server.uri()).header("accept", "application/json, text/event-stream").json(
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
    );
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Registration and an approved consent: the client id and the code the redirect carries.
pub async fn code_for(server: &MockServer) -> (String, String) {
    let client_id = register(server).await;
    let redirect = consent(server, &authorize_query(server, &client_id, "mcp:read"), "approve").await;
    (client_id, param(&redirect, "code").unwrap())
}

/// The token request that redeems `code` with this module's redirect and verifier.
pub fn code_grant<'a>(client_id: &'a str, code: &'a str) -> [(&'static str, &'a str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]
}
