//! DPoP (RFC 9449) over real HTTP: proofs at the token endpoint bind tokens to a key, the MCP
//! endpoint wants the DPoP scheme and a proof with `ath` for them, and each server's nonce.

mod common;

use common::*;
use mock_server::dpop::token_hash;
use mock_server::jose::{KeyPair, random_id, thumbprint};
use mock_server::{MockServer, Preset, Profile};
use serde_json::{Value, json};

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn proof(key: &KeyPair, method: &str, url: &str, token: Option<&str>, nonce: Option<&str>) -> String {
    let mut claims = json!({"jti": random_id(), "htm": method, "htu": url, "iat": now()});
    if let Some(token) = token {
        claims["ath"] = json!(token_hash(token));
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    key.sign(json!({"typ": "dpop+jwt", "jwk": key.public_jwk()}), &claims)
}

async fn token_with_proof(server: &MockServer, form: &[(&str, &str)], dpop: Option<String>) -> reqwest::Response {
    let mut request = http().post(format!("{}/token", server.issuer())).form(form);
    if let Some(dpop) = dpop {
        request = request.header("DPoP", dpop);
    }
    request.send().await.unwrap()
}

async fn exchange(server: &MockServer, key: &KeyPair, nonce: Option<&str>) -> reqwest::Response {
    let (client_id, code) = code_for(server).await;
    let form = code_grant(&client_id, &code);
    let url = format!("{}/token", server.issuer());
    token_with_proof(server, &form, Some(proof(key, "POST", &url, None, nonce))).await
}

async fn mcp(server: &MockServer, scheme: &str, token: &str, dpop: Option<String>) -> reqwest::Response {
    let mut request = http()
        .post(server.uri())
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("{scheme} {token}"))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}));
    if let Some(dpop) = dpop {
        request = request.header("DPoP", dpop);
    }
    request.send().await.unwrap()
}

fn challenge(response: &reqwest::Response) -> String {
    response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

fn dpop_profile(edit: impl FnOnce(&mut Profile)) -> Profile {
    let mut profile = Preset::Dpop.profile();
    edit(&mut profile);
    profile
}

#[tokio::test]
async fn metadata_advertises_es256_proofs() {
    let server = MockServer::builder().profile(Preset::Dpop.profile()).start().await;
    let metadata = get_json(format!("{}/.well-known/oauth-authorization-server", server.issuer())).await;
    assert_eq!(metadata["dpop_signing_alg_values_supported"], json!(["ES256"]));
    let prm = get_json(format!("{}/.well-known/oauth-protected-resource/mcp", server.issuer())).await;
    assert_eq!(prm["dpop_signing_alg_values_supported"], json!(["ES256"]));
    let plain = MockServer::start().await;
    let metadata = get_json(format!("{}/.well-known/oauth-authorization-server", plain.issuer())).await;
    assert!(metadata.get("dpop_signing_alg_values_supported").is_none());
}

#[tokio::test]
async fn a_proof_at_the_token_endpoint_binds_the_token_which_then_needs_dpop_and_ath() {
    let server = MockServer::builder().profile(Preset::Dpop.profile()).start().await;
    let key = KeyPair::generate();
    let response = exchange(&server, &key, None).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "DPoP");
    let token = tokens["access_token"].as_str().unwrap();
    let uri = server.uri();
    let ok = mcp(&server, "DPoP", token, Some(proof(&key, "POST", &uri, Some(token), None))).await;
    assert_eq!(ok.status(), 200, "{}", challenge(&ok));

    let bearer = mcp(&server, "Bearer", token, None).await;
    assert_eq!(bearer.status(), 401);
    let refused = challenge(&bearer);
    assert!(refused.starts_with("DPoP error=\"invalid_token\"") && refused.contains("algs=\"ES256\""), "{refused}");

    let no_ath = mcp(&server, "DPoP", token, Some(proof(&key, "POST", &uri, None, None))).await;
    assert!(challenge(&no_ath).contains("invalid_dpop_proof"), "{}", challenge(&no_ath));
    let other_key = KeyPair::generate();
    let stolen = mcp(&server, "DPoP", token, Some(proof(&other_key, "POST", &uri, Some(token), None))).await;
    assert!(challenge(&stolen).contains("not the one the token is bound to"), "{}", challenge(&stolen));
    let wrong_url = mcp(&server, "DPoP", token, Some(proof(&key, "POST", &server.issuer(), Some(token), None))).await;
    assert!(challenge(&wrong_url).contains("htu"), "{}", challenge(&wrong_url));
    let none = mcp(&server, "DPoP", token, None).await;
    assert!(challenge(&none).contains("invalid_dpop_proof"), "{}", challenge(&none));
}

#[tokio::test]
async fn a_replayed_proof_is_refused_at_the_resource() {
    let server = MockServer::builder().profile(Preset::Dpop.profile()).start().await;
    let key = KeyPair::generate();
    let tokens: Value = exchange(&server, &key, None).await.json().await.unwrap();
    let token = tokens["access_token"].as_str().unwrap();
    let once = proof(&key, "POST", &server.uri(), Some(token), None);
    assert_eq!(mcp(&server, "DPoP", token, Some(once.clone())).await.status(), 200);
    let again = mcp(&server, "DPoP", token, Some(once)).await;
    assert_eq!(again.status(), 401);
    assert!(challenge(&again).contains("already used"), "{}", challenge(&again));
}

#[tokio::test]
async fn the_replay_knob_refuses_every_proof() {
    let server =
        MockServer::builder().profile(dpop_profile(|p| p.dpop.resource_refuses_as_replayed = true)).start().await;
    let key = KeyPair::generate();
    let tokens: Value = exchange(&server, &key, None).await.json().await.unwrap();
    let token = tokens["access_token"].as_str().unwrap();
    let refused = mcp(&server, "DPoP", token, Some(proof(&key, "POST", &server.uri(), Some(token), None))).await;
    assert!(challenge(&refused).contains("invalid_dpop_proof"), "{}", challenge(&refused));
}

#[tokio::test]
async fn without_a_proof_the_token_is_a_bearer_token() {
    let server = MockServer::builder().profile(Preset::Dpop.profile()).start().await;
    let (_, tokens) = log_in(&server, "mcp:read").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(mcp_initialize(&server, tokens["access_token"].as_str()).await.status(), 200);
}

#[tokio::test]
async fn a_malformed_proof_at_the_token_endpoint_is_invalid_dpop_proof_and_spends_nothing() {
    let server = MockServer::builder().profile(Preset::Dpop.profile()).start().await;
    let (client_id, code) = code_for(&server).await;
    let form = code_grant(&client_id, &code);
    let refused = token_with_proof(&server, &form, Some("not-a-jwt".into())).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "invalid_dpop_proof");
    let key = KeyPair::generate();
    let get = proof(&key, "GET", &format!("{}/token", server.issuer()), None, None);
    let refused: Value = token_with_proof(&server, &form, Some(get)).await.json().await.unwrap();
    assert_eq!(refused["error"], "invalid_dpop_proof");
    let good = proof(&key, "POST", &format!("{}/token", server.issuer()), None, None);
    assert_eq!(token_with_proof(&server, &form, Some(good)).await.status(), 200, "the code was not spent");
}

#[tokio::test]
async fn the_token_endpoint_asks_for_its_nonce_then_accepts_it() {
    let server = MockServer::builder().profile(dpop_profile(|p| p.dpop.token_nonce = true)).start().await;
    let key = KeyPair::generate();
    let (client_id, code) = code_for(&server).await;
    let form = code_grant(&client_id, &code);
    let url = format!("{}/token", server.issuer());
    let asked = token_with_proof(&server, &form, Some(proof(&key, "POST", &url, None, None))).await;
    assert_eq!(asked.status(), 400);
    let nonce = asked.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(asked.json::<Value>().await.unwrap()["error"], "use_dpop_nonce");
    let answered = token_with_proof(&server, &form, Some(proof(&key, "POST", &url, None, Some(&nonce)))).await;
    assert_eq!(answered.status(), 200);
}

#[tokio::test]
async fn the_resource_asks_for_its_nonce_then_accepts_it() {
    let server = MockServer::builder().profile(dpop_profile(|p| p.dpop.resource_nonce = true)).start().await;
    let key = KeyPair::generate();
    let tokens: Value = exchange(&server, &key, None).await.json().await.unwrap();
    let token = tokens["access_token"].as_str().unwrap();
    let uri = server.uri();
    let asked = mcp(&server, "DPoP", token, Some(proof(&key, "POST", &uri, Some(token), None))).await;
    assert_eq!(asked.status(), 401);
    assert!(challenge(&asked).starts_with("DPoP error=\"use_dpop_nonce\""), "{}", challenge(&asked));
    let nonce = asked.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let answered = mcp(&server, "DPoP", token, Some(proof(&key, "POST", &uri, Some(token), Some(&nonce)))).await;
    assert_eq!(answered.status(), 200, "{}", challenge(&answered));
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_to_its_key() {
    let server = MockServer::builder().profile(Preset::Dpop.profile()).start().await;
    let key = KeyPair::generate();
    let (client_id, code) = code_for(&server).await;
    let url = format!("{}/token", server.issuer());
    let form = code_grant(&client_id, &code);
    let tokens: Value =
        token_with_proof(&server, &form, Some(proof(&key, "POST", &url, None, None))).await.json().await.unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", client_id.as_str())];
    let other = KeyPair::generate();
    let refused: Value =
        token_with_proof(&server, &form, Some(proof(&other, "POST", &url, None, None))).await.json().await.unwrap();
    assert_eq!(refused["error"], "invalid_grant");
    let refreshed: Value =
        token_with_proof(&server, &form, Some(proof(&key, "POST", &url, None, None))).await.json().await.unwrap();
    assert_eq!(refreshed["token_type"], "DPoP", "{refreshed}");
    assert!(thumbprint(&key.public_jwk()).is_ok());
}

#[tokio::test]
async fn the_transcript_labels_dpop_tokens_and_notes_whether_ath_matches() {
    let server = MockServer::builder().profile(Preset::Dpop.profile()).start().await;
    let key = KeyPair::generate();
    let tokens: Value = exchange(&server, &key, None).await.json().await.unwrap();
    let token = tokens["access_token"].as_str().unwrap();
    mcp(&server, "DPoP", token, Some(proof(&key, "POST", &server.uri(), Some(token), None))).await;
    let exchanges = server.transcript().exchanges();
    let request = exchanges.iter().rev().find(|e| e.endpoint == mock_server::Endpoint::Mcp).unwrap();
    assert!(request.request_headers["authorization"].starts_with("DPoP [access_token:"), "{request:?}");
    assert_eq!(request.jwt("dpop").unwrap()["ath_matches_token"], true);
    assert!(!format!("{request:?}").contains(token), "the token is labelled");
}
