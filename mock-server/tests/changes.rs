//! Changing a running mock: knobs, sessions, registrations, refresh tokens, listeners.

mod common;

use common::{REDIRECT, http, log_in, mcp_initialize, token};
use mock_server::{MockServer, Preset, ProfileError};
use serde_json::json;

fn knobs(text: &str) -> toml::Table {
    toml::from_str(text).unwrap()
}

/// The MCP session id an authenticated `initialize` opens.
async fn open_session(server: &MockServer, access_token: &str) -> String {
    let response = mcp_initialize(server, Some(access_token)).await;
    assert_eq!(response.status(), 200);
    response.headers()["mcp-session-id"].to_str().unwrap().to_owned()
}

/// A `tools/list` in session `session`: its status.
async fn list_in_session(server: &MockServer, access_token: &str, session: &str) -> u16 {
    http()
        .post(server.uri())
        .bearer_auth(access_token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-06-18")
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn ended_sessions_answer_404_and_a_new_initialize_works() {
    let server = MockServer::start().await;
    let (_, tokens) = log_in(&server, "mcp:read").await;
    let access = tokens["access_token"].as_str().unwrap();
    let session = open_session(&server, access).await;
    assert_ne!(list_in_session(&server, access, &session).await, 404);
    server.end_sessions().await;
    assert_eq!(list_in_session(&server, access, &session).await, 404);
    let fresh = open_session(&server, access).await;
    assert_ne!(fresh, session);
    assert_eq!(server.transcript().events().last().unwrap().what, "end sessions");
}

#[tokio::test]
async fn forgotten_clients_get_invalid_client_at_the_token_endpoint() {
    let server = MockServer::start().await;
    let (client_id, tokens) = log_in(&server, "mcp:read").await;
    server.forget_clients();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) =
        token(&server, &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", &client_id)]).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    // Tokens already issued are not the registration: the access token still works.
    assert_eq!(mcp_initialize(&server, tokens["access_token"].as_str()).await.status(), 200);
    // A new registration is welcome.
    log_in(&server, "mcp:read").await;
}

#[tokio::test]
async fn revoked_refresh_tokens_leave_access_tokens_working_until_they_expire() {
    let server = MockServer::start().await;
    let (client_id, tokens) = log_in(&server, "mcp:read").await;
    server.revoke_refresh_tokens();
    let access = tokens["access_token"].as_str();
    assert_eq!(mcp_initialize(&server, access).await.status(), 200);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, body) =
        token(&server, &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", &client_id)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    server.expire_access_tokens();
    assert_eq!(mcp_initialize(&server, access).await.status(), 401);
}

#[tokio::test]
async fn stopped_servers_refuse_connections_on_every_listener_and_resume_with_their_state() {
    let server = MockServer::builder().preset(Preset::SplitOrigin).start().await;
    let (_, tokens) = log_in(&server, "mcp:read").await;
    let access = tokens["access_token"].as_str();
    let metadata = format!("{}/.well-known/oauth-authorization-server", server.issuer());
    server.stop().await;
    for url in [server.uri(), metadata.clone()] {
        let err = http().get(&url).send().await.expect_err("the listener is down");
        assert!(err.is_connect(), "{url}: {err}");
    }
    // Meanwhile the ports stay the server's: nothing else on the machine can take them.
    let port = url::Url::parse(&server.uri()).unwrap().port().unwrap();
    let taken = std::net::TcpListener::bind(("127.0.0.1", port)).expect_err("the stopped server holds its port");
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse);
    server.resume().await.unwrap();
    assert_eq!(mcp_initialize(&server, access).await.status(), 200, "the same token works on the same port");
    assert_eq!(http().get(&metadata).send().await.unwrap().status(), 200);
    let events: Vec<String> = server.transcript().events().into_iter().map(|e| e.what).collect();
    assert_eq!(events, ["stop", "resume"]);
}

#[tokio::test]
async fn restart_keeps_ports_clients_tokens_and_sessions() {
    let server = MockServer::start().await;
    let (client_id, tokens) = log_in(&server, "mcp:read").await;
    let access = tokens["access_token"].as_str().unwrap();
    let session = open_session(&server, access).await;
    let uri = server.uri();
    server.restart().await.unwrap();
    assert_eq!(server.uri(), uri);
    assert_ne!(list_in_session(&server, access, &session).await, 404);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, _) =
        token(&server, &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", &client_id)]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn applied_scopes_change_metadata_challenge_and_access_at_once() {
    let server = MockServer::start().await;
    let (_, tokens) = log_in(&server, "mcp:read").await;
    let access = tokens["access_token"].as_str();
    server
        .apply(&knobs(
            "[resource]\nrequired_scopes = [\"mcp:admin\"]\nchallenge_scope = \"mcp:admin\"\n\
             [resource_metadata]\nscopes_supported = [\"mcp:read\", \"mcp:admin\"]\n\
             [authorization_server]\nscopes_supported = [\"mcp:read\", \"mcp:admin\"]\niss_parameter = \"omitted\"",
        ))
        .unwrap();
    let refused = mcp_initialize(&server, access).await;
    assert_eq!(refused.status(), 403);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("insufficient_scope") && challenge.contains("mcp:admin"), "{challenge}");
    let unauthenticated = mcp_initialize(&server, None).await;
    assert!(unauthenticated.headers()["www-authenticate"].to_str().unwrap().contains("scope=\"mcp:admin\""));
    let prm =
        common::get_json(format!("{}/.well-known/oauth-protected-resource/mcp", server.uri().trim_end_matches("/mcp")))
            .await;
    assert_eq!(prm["scopes_supported"], json!(["mcp:read", "mcp:admin"]));
    let asm = common::get_json(format!("{}/.well-known/oauth-authorization-server", server.issuer())).await;
    assert_eq!(asm["scopes_supported"], json!(["mcp:read", "mcp:admin"]));
    // The new scope can be asked for and granted, and the redirect leaves out `iss` now.
    let client_id = common::register(&server).await;
    let redirect =
        common::consent(&server, &common::authorize_query(&server, &client_id, "mcp:admin"), "approve").await;
    assert!(common::param(&redirect, "code").is_some() && common::param(&redirect, "iss").is_none(), "{redirect}");
    assert!(redirect.as_str().starts_with(REDIRECT));
    let event = &server.transcript().events()[0].what;
    assert!(event.starts_with("apply ") && event.contains("resource.required_scopes"), "{event}");
}

#[tokio::test]
async fn applied_token_lifetimes_apply_to_tokens_issued_after() {
    let server = MockServer::start().await;
    server.apply(&knobs("[tokens]\naccess_token_ttl_secs = 7\nrefresh = \"none\"")).unwrap();
    let (_, tokens) = log_in(&server, "mcp:read").await;
    assert_eq!(tokens["expires_in"], 7);
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
}

#[tokio::test]
async fn layout_knobs_cannot_change_live_and_nothing_changes() {
    let server = MockServer::start().await;
    let before = server.profile();
    let err =
        server.apply(&knobs("[tokens]\naccess_token_ttl_secs = 7\n[resource]\npaths = [\"/other\"]")).unwrap_err();
    assert!(matches!(&err, ProfileError::Knob { path, .. } if path == "resource.paths"), "{err}");
    assert_eq!(server.profile(), before);
    assert!(server.transcript().events().is_empty());
}
