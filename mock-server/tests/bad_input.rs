//! Arbitrary input to every endpoint gets an RFC-shaped 4xx (or a success), never a 5xx.

mod common;

use common::http;
use mock_server::{MockServer, Preset};
use proptest::prelude::*;

/// Endpoints and the content types a fuzzed request may claim.
const TARGETS: &[(&str, &str)] = &[
    ("POST", "/token"),
    ("POST", "/register"),
    ("POST", "/revoke"),
    ("POST", "/authorize/consent"),
    ("GET", "/authorize"),
    ("POST", "/mcp"),
    ("GET", "/mcp"),
    ("DELETE", "/mcp"),
    ("GET", "/.well-known/oauth-protected-resource/mcp"),
    ("GET", "/nowhere"),
];
const CONTENT_TYPES: &[&str] = &["application/x-www-form-urlencoded", "application/json", "text/plain", ""];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Form-ish text: `k=v&…` built from OAuth parameter names, repeats and garbage included.
fn formish() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("grant_type".to_owned()),
        Just("code".to_owned()),
        Just("client_id".to_owned()),
        Just("code_verifier".to_owned()),
        Just("redirect_uri".to_owned()),
        Just("refresh_token".to_owned()),
        Just("response_type".to_owned()),
        Just("code_challenge".to_owned()),
        Just("decision".to_owned()),
        Just("request_id".to_owned()),
        Just("resource".to_owned()),
        Just("scope".to_owned()),
        "[a-z_%]{0,8}",
    ];
    let value = prop_oneof![
        Just("authorization_code".to_owned()),
        Just("refresh_token".to_owned()),
        Just("S256".to_owned()),
        Just("approve".to_owned()),
        Just("http://127.0.0.1:9/cb".to_owned()),
        ".{0,20}",
    ];
    prop::collection::vec((name, value), 0..8)
        .prop_map(|pairs| pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        formish().prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..256),
        Just(br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_note"}}"#.to_vec()),
        Just(br#"{"redirect_uris":"not-a-list"}"#.to_vec()),
    ]
}

fn authorization() -> impl Strategy<Value = Option<String>> {
    prop_oneof![Just(None), "Bearer .{0,30}".prop_map(Some), "Basic .{0,30}".prop_map(Some), ".{0,30}".prop_map(Some)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn no_endpoint_answers_5xx(
        target in prop::sample::select(TARGETS),
        content_type in prop::sample::select(CONTENT_TYPES),
        query in formish(),
        body in body(),
        auth in authorization(),
        preset in prop::sample::select(&Preset::ALL[..]),
    ) {
        let rt = runtime();
        let status = rt.block_on(async {
            let server = MockServer::builder().preset(preset).start().await;
            let base = server.issuer();
            let url = if target.1.contains("mcp") || target.1.contains("well-known") || target.1 == "/nowhere" {
                format!("{}{}?{}", server.uri().trim_end_matches("/mcp"), target.1, query)
            } else {
                format!("{base}{}?{}", target.1, query)
            };
            let mut request = http().request(target.0.parse().unwrap(), url).body(body);
            if !content_type.is_empty() {
                request = request.header("content-type", content_type);
            }
            if let Some(auth) = auth.filter(|a| reqwest::header::HeaderValue::from_str(a).is_ok()) {
                request = request.header("authorization", auth);
            }
            request.send().await.unwrap().status()
        });
        prop_assert!(!status.is_server_error(), "{} {} answered {}", target.0, target.1, status);
    }
}

#[tokio::test]
async fn oversized_body_gets_413_with_an_oauth_error() {
    let server = MockServer::start().await;
    let response = http()
        .post(format!("{}/token", server.issuer()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; (1 << 20) + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn unknown_grant_type_is_unsupported_grant_type() {
    let server = MockServer::start().await;
    let client_id = common::register(&server).await;
    let (status, body) = common::token(&server, &[("grant_type", "password"), ("client_id", &client_id)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
}

#[tokio::test]
async fn wrong_content_type_at_the_token_endpoint_is_invalid_request() {
    let server = MockServer::start().await;
    let response = http()
        .post(format!("{}/token", server.issuer()))
        .json(&serde_json::json!({"grant_type": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}
