//! Client registration: DCR validation and client ID metadata documents fetched from their URL.

mod common;

use common::*;
use mock_server::profile::{ClientAuthMethod, RedirectMatching};
use mock_server::{Endpoint, MockServer, Preset};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn dcr_rejects_missing_redirect_uris() {
    let server = MockServer::start().await;
    let response =
        http().post(format!("{}/register", server.issuer())).json(&json!({"client_name": "x"})).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_redirect_uri");
}

#[tokio::test]
async fn dcr_issues_a_secret_to_confidential_clients_only() {
    let server = MockServer::start().await;
    for (method, has_secret) in [("none", false), ("client_secret_post", true)] {
        let body: serde_json::Value = http()
            .post(format!("{}/register", server.issuer()))
            .json(&json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": method}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body.get("client_secret").is_some(), has_secret, "{method}");
    }
}

#[tokio::test]
async fn no_registration_endpoint_without_dcr() {
    let server = MockServer::builder().preset(Preset::Preregistered).start().await;
    let response = http()
        .post(format!("{}/register", server.issuer()))
        .json(&json!({"redirect_uris": [REDIRECT]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

async fn cimd_host(document: serde_json::Value) -> (wiremock::MockServer, String) {
    let host = wiremock::MockServer::start().await;
    let url = format!("{}/client.json", host.uri());
    let mut document = document;
    if document["client_id"] == "SELF" {
        document["client_id"] = json!(url);
    }
    Mock::given(method("GET"))
        .and(path("/client.json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(document))
        .mount(&host)
        .await;
    (host, url)
}

#[tokio::test]
async fn url_client_id_is_fetched_and_accepted() {
    let server = MockServer::builder().preset(Preset::Cimd).start().await;
    let (host, client_id) =
        cimd_host(json!({"client_id": "SELF", "client_name": "t", "redirect_uris": [REDIRECT]})).await;
    let redirect = consent(&server, &authorize_query(&server, &client_id, "mcp:read"), "approve").await;
    assert!(param(&redirect, "code").is_some());
    assert_eq!(host.received_requests().await.unwrap().len(), 1, "the AS fetched the document");
}

#[tokio::test]
async fn url_client_id_whose_document_names_another_client_is_refused() {
    let server = MockServer::builder().preset(Preset::Cimd).start().await;
    let (_host, client_id) =
        cimd_host(json!({"client_id": "https://else.example/c.json", "redirect_uris": [REDIRECT]})).await;
    let response = http()
        .get(format!("{}/authorize", server.issuer()))
        .query(&authorize_query(&server, &client_id, "mcp:read"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
}

/// A document listing the loopback redirect on another port than [`REDIRECT`]'s.
async fn other_port_document() -> (wiremock::MockServer, String) {
    cimd_host(json!({"client_id": "SELF", "redirect_uris": ["http://127.0.0.1:8/callback"]})).await
}

#[tokio::test]
async fn a_metadata_document_redirect_must_match_exactly_port_included() {
    let server = MockServer::builder().preset(Preset::Cimd).start().await;
    let (_host, client_id) = other_port_document().await;
    let query = authorize_query(&server, &client_id, "mcp:read");
    let response = http().get(format!("{}/authorize", server.issuer())).query(&query).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    // The transcript keeps the document beside the request it was fetched for.
    let authorize = server.transcript().exchanges().into_iter().find(|e| e.endpoint == Endpoint::Authorize).unwrap();
    let document = authorize.client_metadata_document.expect("the fetched document is recorded");
    assert_eq!(document["redirect_uris"], json!(["http://127.0.0.1:8/callback"]));
}

#[tokio::test]
async fn a_lenient_server_lets_a_metadata_document_redirect_change_its_loopback_port() {
    let mut profile = Preset::Cimd.profile();
    profile.authorization_server.metadata_document_redirects = RedirectMatching::LoopbackPort;
    let server = MockServer::builder().profile(profile).start().await;
    let (_host, client_id) = other_port_document().await;
    let redirect = consent(&server, &authorize_query(&server, &client_id, "mcp:read"), "approve").await;
    assert!(param(&redirect, "code").is_some());
}

#[tokio::test]
async fn a_replaced_redirect_uri_is_registered_and_said() {
    let mut profile = mock_server::Profile::default();
    profile.authorization_server.registered_redirect_uri = Some("http://client.example/callback".into());
    let server = MockServer::builder().profile(profile).start().await;
    let body = registration(&server).await;
    assert_eq!(body["redirect_uris"], json!(["http://client.example/callback"]));
    // The URI the client asked for is not registered: authorizing with it is refused in place.
    let query = authorize_query(&server, body["client_id"].as_str().unwrap(), "mcp:read");
    let response = http().get(format!("{}/authorize", server.issuer())).query(&query).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn a_replaced_auth_method_is_registered_said_and_required() {
    let mut profile = mock_server::Profile::default();
    profile.authorization_server.token_endpoint_auth_methods = vec![ClientAuthMethod::ClientSecretPost];
    profile.authorization_server.registered_auth_method = Some(ClientAuthMethod::ClientSecretPost);
    let server = MockServer::builder().profile(profile).start().await;
    // The common request asks for `none`: the answer registers client_secret_post, with a secret.
    let body = registration(&server).await;
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_post");
    assert!(body["client_secret"].is_string());
}

/// A registration with `extra` merged into the common public-client request.
async fn register_with(server: &MockServer, extra: serde_json::Value) -> reqwest::Response {
    register_at(&format!("{}/register", server.issuer()), extra).await
}

#[tokio::test]
async fn registration_policies_refuse_with_the_rfc_7591_error() {
    let mut profile = mock_server::Profile::default();
    profile.authorization_server.require_application_type = true;
    profile.authorization_server.refused_redirect_schemes = vec!["https".into()];
    let server = MockServer::builder().profile(profile).start().await;
    let without = register_with(&server, json!({})).await;
    assert_eq!(without.status(), 400);
    assert_eq!(without.json::<serde_json::Value>().await.unwrap()["error"], "invalid_client_metadata");
    assert_eq!(register_with(&server, json!({"application_type": "native"})).await.status(), 201);
    let https =
        register_with(&server, json!({"application_type": "web", "redirect_uris": ["https://client.example/cb"]}))
            .await;
    assert_eq!(https.status(), 400);
    assert_eq!(https.json::<serde_json::Value>().await.unwrap()["error"], "invalid_redirect_uri");
}

#[tokio::test]
async fn refresh_tokens_go_only_to_clients_registered_for_the_grant() {
    let mut profile = mock_server::Profile::default();
    profile.authorization_server.refresh_needs_grant_type = true;
    let server = MockServer::builder().profile(profile).start().await;
    // RFC 7591 §2: without grant_types a client is registered for authorization_code alone.
    let (_, tokens) = log_in(&server, "mcp:read").await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let registered: serde_json::Value =
        register_with(&server, json!({"grant_types": ["authorization_code", "refresh_token"]}))
            .await
            .json()
            .await
            .unwrap();
    let client_id = registered["client_id"].as_str().unwrap();
    let redirect = consent(&server, &authorize_query(&server, client_id, "mcp:read"), "approve").await;
    let code = param(&redirect, "code").unwrap();
    let (status, tokens) = token(&server, &code_grant(client_id, &code)).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
}

/// What the Python SDK (FastMCP) registers with before anything else: every optional RFC 7591
/// field present and `null`, plus ones the mock does not use. Accepted, and echoed back.
#[tokio::test]
async fn dcr_accepts_null_and_unknown_client_metadata() {
    let server = MockServer::start().await;
    let response = http()
        .post(format!("{}/register", server.issuer()))
        .json(&json!({
            "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "scope": null, "client_name": "FastMCP Client", "client_uri": null, "logo_uri": null,
            "contacts": null, "tos_uri": null, "policy_uri": null, "jwks_uri": null, "jwks": null,
            "software_id": null, "software_version": null, "x_vendor": {"nested": [1, 2]},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["client_id"].is_string() && body["client_secret"].is_string(), "{body}");
    assert_eq!(body["client_name"], "FastMCP Client");
    assert_eq!(body["x_vendor"], json!({"nested": [1, 2]}));
}
