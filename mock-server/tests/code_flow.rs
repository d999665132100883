//! The OAuth 2.1 code flow over real HTTP, and each rule that can break it.

mod common;

use common::*;
use mock_server::{MockServer, Preset};

#[tokio::test]
async fn full_pkce_flow_through_the_consent_form_yields_a_working_token() {
    let server = MockServer::start().await;
    let (_, tokens) = log_in(&server, "mcp:read").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "mcp:read");
    assert!(tokens["refresh_token"].is_string());
    let response = mcp_initialize(&server, tokens["access_token"].as_str()).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn redirect_carries_state_and_iss() {
    let server = MockServer::start().await;
    let client_id = register(&server).await;
    let redirect = consent(&server, &authorize_query(&server, &client_id, "mcp:read"), "approve").await;
    assert_eq!(param(&redirect, "state").as_deref(), Some("st4te"));
    assert_eq!(param(&redirect, "iss"), Some(server.issuer()));
}

#[tokio::test]
async fn iss_variants_differ_from_the_issuer_as_named() {
    use mock_server::profile::IssParameter;
    // The knob, the `iss` it sends for an issuer, and whether the metadata advertises `iss`.
    type Case = (IssParameter, fn(&str) -> String, bool);
    let cases: [Case; 3] = [
        (IssParameter::TrailingSlash, |issuer| format!("{issuer}/"), true),
        (IssParameter::UpperCaseScheme, |issuer| issuer.replacen("http:", "HTTP:", 1), true),
        (IssParameter::WrongNotAdvertised, |_| "http://wrong-issuer.invalid".to_owned(), false),
    ];
    for (variant, expected, advertised) in cases {
        let mut profile = mock_server::Profile::default();
        profile.authorization_server.iss_parameter = variant;
        let server = MockServer::builder().profile(profile).start().await;
        let metadata = get_json(format!("{}/.well-known/oauth-authorization-server", server.issuer())).await;
        assert_eq!(metadata.get("authorization_response_iss_parameter_supported").is_some(), advertised, "{variant:?}");
        let client_id = register(&server).await;
        let redirect = consent(&server, &authorize_query(&server, &client_id, "mcp:read"), "approve").await;
        assert_eq!(param(&redirect, "iss"), Some(expected(&server.issuer())), "{variant:?}");
    }
}

#[tokio::test]
async fn deny_redirects_with_access_denied() {
    let server = MockServer::start().await;
    let client_id = register(&server).await;
    let redirect = consent(&server, &authorize_query(&server, &client_id, "mcp:read"), "deny").await;
    assert_eq!(param(&redirect, "error").as_deref(), Some("access_denied"));
    assert!(param(&redirect, "code").is_none());
    let mut profile = mock_server::Profile::default();
    profile.authorization_server.denial_description = "go to attacker.example".into();
    let server = MockServer::builder().profile(profile).start().await;
    let client_id = register(&server).await;
    let redirect = consent(&server, &authorize_query(&server, &client_id, "mcp:read"), "deny").await;
    assert_eq!(param(&redirect, "error_description").as_deref(), Some("go to attacker.example"));
}

#[tokio::test]
async fn code_is_single_use() {
    let server = MockServer::start().await;
    let (client_id, code) = code_for(&server).await;
    let form = code_grant(&client_id, &code);
    assert_eq!(token(&server, &form).await.0, 200);
    let (status, body) = token(&server, &form).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn wrong_verifier_is_invalid_grant() {
    let server = MockServer::start().await;
    let (client_id, code) = code_for(&server).await;
    let wrong = "A".repeat(43);
    let (status, body) = token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &wrong),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn redirect_uri_mismatch_is_refused_without_redirecting() {
    let server = MockServer::start().await;
    let client_id = register(&server).await;
    let mut query = authorize_query(&server, &client_id, "mcp:read");
    query.iter_mut().find(|(k, _)| k == "redirect_uri").unwrap().1 = "http://127.0.0.1:9/other".into();
    let response = http().get(format!("{}/authorize", server.issuer())).query(&query).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn plain_and_missing_pkce_are_refused() {
    let server = MockServer::start().await;
    let client_id = register(&server).await;
    for method in [Some("plain"), None] {
        let mut query = authorize_query(&server, &client_id, "mcp:read");
        query.retain(|(k, _)| k != "code_challenge_method");
        if let Some(method) = method {
            query.push(("code_challenge_method".into(), method.into()));
        }
        let response = http().get(format!("{}/authorize", server.issuer())).query(&query).send().await.unwrap();
        assert_eq!(response.status(), 302);
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(param(&location, "error").as_deref(), Some("invalid_request"), "{method:?}");
    }
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let server = MockServer::start().await;
    let (client_id, first) = log_in(&server, "mcp:read").await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let refresh = |rt: String| {
        let (server, client_id) = (&server, client_id.clone());
        async move {
            token(server, &[("grant_type", "refresh_token"), ("refresh_token", &rt), ("client_id", &client_id)]).await
        }
    };
    let (status, second) = refresh(rt1.to_owned()).await;
    assert_eq!(status, 200);
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    let (status, reuse) = refresh(rt1.to_owned()).await;
    assert_eq!((status, reuse["error"].as_str()), (400, Some("invalid_grant")));
    let (status, _) = refresh(rt2).await;
    assert_eq!(status, 400, "the whole family is revoked after reuse");
    let response = mcp_initialize(&server, second["access_token"].as_str()).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn expired_token_gets_401_invalid_token() {
    let server = MockServer::start().await;
    let (_, tokens) = log_in(&server, "mcp:read").await;
    server.expire_access_tokens();
    let response = mcp_initialize(&server, tokens["access_token"].as_str()).await;
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn missing_token_gets_the_discovery_challenge() {
    let server = MockServer::builder().preset(Preset::ScopeFromChallenge).start().await;
    let response = mcp_initialize(&server, None).await;
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    let prm = format!("{}/.well-known/oauth-protected-resource/mcp", server.uri().trim_end_matches("/mcp"));
    assert_eq!(challenge, format!("Bearer scope=\"mcp:read\", resource_metadata=\"{prm}\""));
}

#[tokio::test]
async fn token_in_query_string_is_never_accepted() {
    let server = MockServer::start().await;
    let (_, tokens) = log_in(&server, "mcp:read").await;
    let at = tokens["access_token"].as_str().unwrap();
    let response = http().get(format!("{}?access_token={at}", server.uri())).send().await.unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn token_for_another_resource_is_refused() {
    let server = MockServer::builder()
        .profile(
            mock_server::Profile::happy_path()
                .with_overrides(&toml::from_str("[resource]\npaths = [\"/mcp\", \"/other\"]").unwrap())
                .unwrap(),
        )
        .start()
        .await;
    let client_id = register(&server).await;
    let mut query = authorize_query(&server, &client_id, "mcp:read");
    query.iter_mut().find(|(k, _)| k == "resource").unwrap().1 = server.mcp_uris()[1].clone();
    let redirect = consent(&server, &query, "approve").await;
    let code = param(&redirect, "code").unwrap();
    let (_, tokens) = token(&server, &code_grant(&client_id, &code)).await;
    let response = mcp_initialize(&server, tokens["access_token"].as_str()).await;
    assert_eq!(response.status(), 401, "a token for /other must not open /mcp");
}

#[tokio::test]
async fn step_up_tool_answers_403_insufficient_scope() {
    let server = MockServer::builder().preset(Preset::StepUp).start().await;
    let challenge = write_note_challenge(&server).await;
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    assert!(challenge.contains("scope=\"mcp:read mcp:write\""), "{challenge}");
    // A server that names only what the token lacks (SEP-2350's case).
    let mut profile = Preset::StepUp.profile();
    profile.resource.challenge_missing_only = true;
    let server = MockServer::builder().profile(profile).start().await;
    let challenge = write_note_challenge(&server).await;
    assert!(challenge.contains("scope=\"mcp:write\""), "{challenge}");
}

#[tokio::test]
async fn list_scope_opens_the_session_and_refuses_the_listing() {
    let mut profile = Preset::StepUp.profile();
    profile.resource.list_scope = Some("mcp:list".into());
    let server = MockServer::builder().profile(profile).start().await;
    let (_, tokens) = log_in(&server, "mcp:read").await;
    let at = tokens["access_token"].as_str();
    assert_eq!(mcp_initialize(&server, at).await.status(), 200, "the session opens");
    let response = http()
        .post(server.uri())
        .bearer_auth(at.unwrap())
        .header("accept", "application/json, text/event-stream")
        .json(&serde_json::json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"insufficient_scope\", scope=\"mcp:list mcp:read\""), "{challenge}");
}

/// The 403 challenge a `write_note` call gets with a token for `mcp:read`.
async fn write_note_challenge(server: &MockServer) -> String {
    let (_, tokens) = log_in(server, "mcp:read").await;
    let at = tokens["access_token"].as_str().unwrap();
    let response = http()
        .post(server.uri())
        .bearer_auth(at)
        .header("accept", "application/json, text/event-stream")
        .json(&serde_json::json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"write_note","arguments":{"note":"x"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    response.headers()["www-authenticate"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn preregistered_confidential_client_must_use_basic() {
    let server = MockServer::builder().preset(Preset::Preregistered).start().await;
    let (status, body) = token(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", "harness-client"),
            ("client_secret", "harness-secret"),
        ],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let response = http()
        .post(format!("{}/token", server.issuer()))
        .basic_auth("harness-client", Some("harness-secret"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "authenticated, then the unknown token is refused");
}

#[tokio::test]
async fn transcript_redacts_every_issued_secret() {
    let server = MockServer::start().await;
    log_in(&server, "mcp:read").await;
    let lines = server.transcript().to_json_lines();
    for issued in server.issued_tokens() {
        assert!(!lines.contains(&issued.value), "{} leaked into the transcript", issued.kind);
    }
    assert!(lines.contains("[access_token:1]"));
    assert!(!lines.contains(VERIFIER));
}

#[tokio::test]
async fn every_mcp_method_needs_a_token() {
    let server = MockServer::start().await;
    for method in ["POST", "GET", "DELETE", "HEAD"] {
        let response = http().request(method.parse().unwrap(), server.uri()).send().await.unwrap();
        assert_eq!(response.status(), 401, "{method}");
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"), "{method}");
    }
}

#[tokio::test]
async fn garbage_bearer_gets_401_invalid_token() {
    let server = MockServer::start().await;
    let response = mcp_initialize(&server, Some("not-a-token-we-issued")).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
}

/// FastMCP fetches the authorization URL once itself before the browser does: the browser's own
/// visit must still end in a redirect with its `state` and a code that redeems.
#[tokio::test]
async fn an_authorization_url_fetched_first_by_the_client_keeps_the_browser_s_state() {
    for consent_knob in ["page", "auto"] {
        let mut profile = mock_server::Profile::default();
        let patch: toml::Table =
            toml::from_str(&format!("[authorization_server]\nconsent = \"{consent_knob}\"")).unwrap();
        profile = profile.with_overrides(&patch).unwrap();
        let server = MockServer::builder().profile(profile).start().await;
        let client_id = register(&server).await;
        let query = authorize_query(&server, &client_id, "mcp:read");
        let early = http().get(format!("{}/authorize", server.issuer())).query(&query).send().await.unwrap();
        assert!(matches!(early.status().as_u16(), 200 | 302), "{consent_knob}: {}", early.status());
        let redirect = if consent_knob == "page" {
            consent(&server, &query, "approve").await
        } else {
            let answer = http().get(format!("{}/authorize", server.issuer())).query(&query).send().await.unwrap();
            url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap()
        };
        assert_eq!(param(&redirect, "state").as_deref(), Some("st4te"), "{consent_knob}");
        let code = param(&redirect, "code").unwrap();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id.as_str()),
            ("code_verifier", VERIFIER),
            ("resource", &server.uri()),
        ];
        let (status, body) = token(&server, &form).await;
        assert_eq!(status, 200, "{consent_knob}: {body}");
    }
}
