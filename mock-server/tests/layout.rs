//! Where endpoints live, fallbacks nobody advertises, root metadata for a path issuer, and a
//! resource that moves to a peer's authorization server.

mod common;

use common::{REDIRECT, VERIFIER, challenge, get_json, http, mcp_initialize, param, register_at};
use mock_server::{Endpoint, MockServer, Peers, Preset, Profile};
use serde_json::{Value, json};

fn profile(preset: Preset, knobs: &str) -> Profile {
    preset.profile().with_overrides(&toml::from_str(knobs).unwrap()).unwrap()
}

fn origin(url: &str) -> String {
    url::Url::parse(url).unwrap().origin().ascii_serialization()
}

/// Registration, consent and code exchange at the endpoints `metadata` names, for `resource`:
/// the token response.
async fn log_in_at(metadata: &Value, resource: &str) -> Value {
    let registered: Value =
        register_at(metadata["registration_endpoint"].as_str().unwrap(), json!({})).await.json().await.unwrap();
    let client_id = registered["client_id"].as_str().unwrap();
    let authorize = metadata["authorization_endpoint"].as_str().unwrap();
    let challenge = challenge(VERIFIER);
    let query = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("state", "s"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("resource", resource),
    ];
    let html = http().get(authorize).query(&query).send().await.unwrap().text().await.unwrap();
    let request_id = html.split("name=\"request_id\" value=\"").nth(1).unwrap().split('"').next().unwrap();
    let answer = http()
        .post(format!("{authorize}/consent"))
        .form(&[("request_id", request_id), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    let redirect = url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let code = param(&redirect, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("resource", resource),
    ];
    let response = http().post(metadata["token_endpoint"].as_str().unwrap()).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn as_metadata(server: &MockServer) -> Value {
    let issuer = url::Url::parse(&server.issuer()).unwrap();
    let path = issuer.path().trim_end_matches('/');
    get_json(format!("{}/.well-known/oauth-authorization-server{path}", origin(&server.issuer()))).await
}

#[tokio::test]
async fn each_endpoint_lives_on_the_origin_its_knob_names_and_works_there() {
    let knobs = "[authorization_server]\nauthorize_origin = \"separate\"\ntoken_origin = \"resource\"\nregistration_origin = \"separate\"";
    let server = MockServer::builder().profile(profile(Preset::SplitOriginPathIssuer, knobs)).start().await;
    let metadata = as_metadata(&server).await;
    let [authorize, token, register] = ["authorization_endpoint", "token_endpoint", "registration_endpoint"]
        .map(|m| metadata[m].as_str().unwrap().to_owned());
    assert_eq!(origin(&token), server.resource_origin());
    assert_eq!(token, format!("{}/tenant1/token", server.resource_origin()));
    let origins = [origin(&authorize), origin(&register), origin(&server.issuer()), server.resource_origin()];
    for (i, a) in origins.iter().enumerate() {
        assert!(origins[i + 1..].iter().all(|b| a != b), "four distinct origins: {origins:?}");
    }
    let tokens = log_in_at(&metadata, &server.uri()).await;
    assert_eq!(mcp_initialize(&server, tokens["access_token"].as_str()).await.status(), 200);
    // Nothing is left at the issuer's own origin but the metadata.
    let stale = http().post(format!("{}/token", server.issuer())).send().await.unwrap();
    assert_eq!(stale.status(), 404);
}

#[tokio::test]
async fn fallback_endpoints_answer_the_chosen_error_and_are_tagged_as_such() {
    let knobs = "[authorization_server.fallback]\nendpoints = [\"token\", \"register\"]\nstatus = 401\nerror = \"invalid_client\"";
    let server = MockServer::builder().profile(profile(Preset::SplitOrigin, knobs)).start().await;
    let answer = http().post(format!("{}/token", server.resource_origin())).send().await.unwrap();
    assert_eq!(answer.status(), 401);
    assert_eq!(answer.json::<Value>().await.unwrap()["error"], "invalid_client");
    let authorize = http().get(format!("{}/authorize", server.resource_origin())).send().await.unwrap();
    assert_eq!(authorize.status(), 404, "not asked for");
    let tags: Vec<Endpoint> = server.transcript().exchanges().iter().map(|e| e.endpoint).collect();
    assert_eq!(tags, [Endpoint::Fallback, Endpoint::NotFound]);
}

#[tokio::test]
async fn a_fallback_on_a_real_endpoint_is_refused_at_start() {
    let knobs = "[authorization_server.fallback]\nendpoints = [\"token\"]";
    let err = MockServer::builder().profile(profile(Preset::HappyPath, knobs)).try_start().await.unwrap_err();
    assert!(err.to_string().contains("already served at /token"), "{err}");
}

#[tokio::test]
async fn root_metadata_serves_a_path_issuers_document_unchanged_at_the_root() {
    let knobs = "[authorization_server]\nroot_metadata = true";
    let server = MockServer::builder().profile(profile(Preset::SplitOriginPathIssuer, knobs)).start().await;
    let root = get_json(format!("{}/.well-known/oauth-authorization-server", origin(&server.issuer()))).await;
    assert_eq!(root["issuer"], server.issuer());
    assert!(server.issuer().ends_with("/tenant1"));
}

#[tokio::test]
async fn a_resource_accepts_the_tokens_of_the_authorization_servers_its_metadata_names() {
    let peers = Peers::new();
    let main = MockServer::builder().preset(Preset::SplitOrigin).peer_of(&peers, "main").start().await;
    let new_as = MockServer::builder().preset(Preset::SplitOrigin).peer_of(&peers, "new_as").start().await;
    let own = log_in_at(&as_metadata(&main).await, &main.uri()).await;
    let theirs = log_in_at(&as_metadata(&new_as).await, &main.uri()).await;
    assert_eq!(mcp_initialize(&main, own["access_token"].as_str()).await.status(), 200);
    assert_eq!(mcp_initialize(&main, theirs["access_token"].as_str()).await.status(), 401, "not named yet");

    let moved = toml::from_str("[resource_metadata]\nauthorization_servers = [\"{servers.new_as.issuer}\"]").unwrap();
    main.apply(&moved).unwrap();
    let prm = get_json(format!("{}/.well-known/oauth-protected-resource/mcp", main.resource_origin())).await;
    assert_eq!(prm["authorization_servers"], json!([new_as.issuer()]));
    assert_eq!(mcp_initialize(&main, theirs["access_token"].as_str()).await.status(), 200);
    assert_eq!(mcp_initialize(&main, own["access_token"].as_str()).await.status(), 401, "no longer named");
}

#[tokio::test]
async fn own_placeholders_resolve_in_metadata() {
    let knobs = "[resource_metadata]\nresource_override = \"{mcp_url}/\"\n[authorization_server]\nissuer_override = \"{resource_origin}\"";
    let server = MockServer::builder().profile(profile(Preset::SplitOrigin, knobs)).start().await;
    let prm = get_json(format!("{}/.well-known/oauth-protected-resource/mcp", server.resource_origin())).await;
    assert_eq!(prm["resource"], format!("{}/", server.uri()));
    assert_eq!(as_metadata(&server).await["issuer"], server.resource_origin());
}
