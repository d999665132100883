//! The protocol versions the endpoint speaks (`resource.protocol_versions`): each one through
//! rmcp's own client, the 2026-07-28 sessionless form through raw HTTP as well, and the answers
//! each revision defines for a version the server does not speak.

mod common;

use common::{http, log_in};
use mock_server::profile::ProtocolVersion;
use mock_server::{Endpoint, MockServer, Profile};
use rmcp::model::{ClientConfig, ProtocolVersion as Wire};
use rmcp::service::{ClientLifecycleMode, RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientServiceExt as _, ServiceExt as _};
use serde_json::{Value, json};

async fn server_speaking(versions: &[ProtocolVersion]) -> (MockServer, String) {
    let mut profile = Profile::default();
    profile.resource.protocol_versions = versions.to_vec();
    let server = MockServer::builder().profile(profile).start().await;
    let (_, tokens) = log_in(&server, "mcp:read mcp:write").await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    (server, token)
}

fn transport(server: &MockServer, token: &str) -> StreamableHttpClientTransport<reqwest::Client> {
    StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(server.uri()).auth_header(token),
    )
}

fn wire(version: &str) -> Wire {
    serde_json::from_value(json!(version)).unwrap()
}

/// An rmcp client that opens with `initialize`, asking for `version`.
async fn initialize(
    server: &MockServer,
    token: &str,
    version: &str,
) -> Result<RunningService<RoleClient, ClientConfig>, String> {
    ClientConfig::default()
        .with_protocol_version(wire(version))
        .serve(transport(server, token))
        .await
        .map_err(|e| e.to_string())
}

/// The versions the transcript says the MCP requests that reached rmcp were served under.
fn served_versions(server: &MockServer) -> Vec<(String, Option<String>)> {
    server
        .transcript()
        .exchanges()
        .into_iter()
        .filter(|e| e.endpoint == Endpoint::Mcp && e.request_headers.contains_key("authorization"))
        .map(|e| (e.mcp_method().unwrap_or(&e.method).to_owned(), e.protocol_version))
        .collect()
}

#[tokio::test]
async fn each_legacy_version_is_negotiated_by_initialize_and_recorded_for_the_whole_session() {
    for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let (server, token) = server_speaking(&ProtocolVersion::ALL).await;
        let client = initialize(&server, &token, version).await.unwrap();
        assert_eq!(client.peer_info().unwrap().protocol_version, wire(version));
        assert_eq!(client.list_all_tools().await.unwrap().len(), 3);
        client.cancel().await.unwrap();
        let served = served_versions(&server);
        assert!(served.iter().any(|(m, _)| m == "tools/list"), "{served:?}");
        // 2025-03-26 has no MCP-Protocol-Version header: its session's version comes from initialize.
        for (method, served) in served.iter().filter(|(m, _)| m != "DELETE") {
            assert_eq!(served.as_deref(), Some(version), "{version}: {method}");
        }
    }
}

#[tokio::test]
async fn a_2026_client_speaks_sessionless_through_rmcp_and_the_transcript_says_so() {
    let (server, token) = server_speaking(&ProtocolVersion::ALL).await;
    let lifecycle = ClientLifecycleMode::Discover { preferred_versions: vec![Wire::V_2026_07_28] };
    let client = ClientConfig::default().serve_with_lifecycle(transport(&server, &token), lifecycle).await.unwrap();
    assert_eq!(client.list_all_tools().await.unwrap().len(), 3);
    client.cancel().await.unwrap();
    let exchanges: Vec<_> =
        server.transcript().exchanges().into_iter().filter(|e| e.endpoint == Endpoint::Mcp).collect();
    assert!(exchanges.iter().any(|e| e.mcp_method() == Some("server/discover")));
    assert!(exchanges.iter().all(|e| e.mcp_method() != Some("initialize")), "no handshake");
    assert!(exchanges.iter().all(|e| !e.response_headers.contains_key("mcp-session-id")), "no session is minted");
    for (method, served) in served_versions(&server) {
        assert_eq!(served.as_deref(), Some("2026-07-28"), "{method}");
    }
}

/// What an independent client (no rmcp) sends: one POST per request, the version in `_meta` and
/// in `MCP-Protocol-Version`, the method in `Mcp-Method`.
async fn post_2026(server: &MockServer, token: &str, method: &str, version: &str, params: Value) -> reqwest::Response {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    });
    http()
        .post(server.uri())
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", version)
        .header("mcp-method", method)
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}))
        .send()
        .await
        .unwrap()
}

/// The JSON-RPC message of a JSON or single-event SSE answer.
async fn message(response: reqwest::Response) -> Value {
    let text = response.text().await.unwrap();
    let data = text.lines().find_map(|l| l.strip_prefix("data:")).filter(|d| !d.trim().is_empty());
    serde_json::from_str(data.unwrap_or(&text).trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test]
async fn a_raw_2026_request_is_answered_without_a_session() {
    let (server, token) = server_speaking(&ProtocolVersion::ALL).await;
    let discover = post_2026(&server, &token, "server/discover", "2026-07-28", json!({})).await;
    assert_eq!(discover.status(), 200);
    let discover = message(discover).await;
    let supported = &discover["result"]["supportedVersions"];
    assert_eq!(supported.as_array().map(Vec::len), Some(4), "{discover}");
    let tools = post_2026(&server, &token, "tools/list", "2026-07-28", json!({})).await;
    assert_eq!(tools.status(), 200);
    assert!(tools.headers().get("mcp-session-id").is_none());
    assert_eq!(message(tools).await["result"]["tools"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn a_version_the_server_does_not_speak_gets_unsupported_protocol_version_with_the_list() {
    let (server, token) = server_speaking(&ProtocolVersion::ALL).await;
    let response = post_2026(&server, &token, "tools/list", "2027-01-01", json!({})).await;
    assert_eq!(response.status(), 400);
    let error = message(response).await;
    assert_eq!(error["error"]["code"], -32022, "{error}");
    assert_eq!(error["error"]["data"]["requested"], "2027-01-01");
    assert_eq!(error["error"]["data"]["supported"], json!(["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"]));
}

#[tokio::test]
async fn a_server_pinned_to_2025_03_26_answers_initialize_with_its_version_and_2026_requests_like_a_legacy_server() {
    let (server, token) = server_speaking(&[ProtocolVersion::V2025_03_26]).await;
    // A newer client is answered with the one version the server speaks (2025-11-25 §Version Negotiation).
    let client = initialize(&server, &token, "2025-11-25").await.unwrap();
    assert_eq!(client.peer_info().unwrap().protocol_version, Wire::V_2025_03_26);
    client.cancel().await.unwrap();

    // A 2026-07-28 request gets a legacy 400 with no modern error in its body…
    let response = post_2026(&server, &token, "server/discover", "2026-07-28", json!({})).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(response.text().await.unwrap().contains("2025-03-26"));
    // …so a dual-era client (rmcp's Auto lifecycle) falls back to initialize.
    let lifecycle = ClientLifecycleMode::Auto { preferred_versions: vec![Wire::V_2026_07_28], legacy_version: None };
    let client = ClientConfig::default().serve_with_lifecycle(transport(&server, &token), lifecycle).await.unwrap();
    assert_eq!(client.peer_info().unwrap().protocol_version, Wire::V_2025_03_26);
    assert_eq!(client.list_all_tools().await.unwrap().len(), 3);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_session_header_naming_a_version_the_server_does_not_speak_gets_400() {
    let (server, token) = server_speaking(&[ProtocolVersion::V2025_06_18]).await;
    let response = http()
        .post(server.uri())
        .bearer_auth(&token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("Unsupported MCP-Protocol-Version: 2025-11-25"));
}

#[tokio::test]
async fn a_server_speaking_only_2026_refuses_the_handshake_naming_its_versions() {
    let (server, token) = server_speaking(&[ProtocolVersion::V2026_07_28]).await;
    assert!(initialize(&server, &token, "2025-11-25").await.is_err(), "a legacy client cannot talk to it");
    let response = common::mcp_initialize(&server, Some(&token)).await;
    assert_eq!(response.status(), 400);
    let error = message(response).await;
    assert_eq!(error["error"]["code"], -32022, "{error}");
    assert_eq!(error["error"]["data"]["supported"], json!(["2026-07-28"]));

    let legacy = http()
        .post(server.uri())
        .bearer_auth(&token)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), 400);
    assert_eq!(message(legacy).await["error"]["code"], -32020, "HeaderMismatch: the 2026 headers are missing");

    // No GET stream and no DELETE in 2026-07-28 (streamable-http §Earlier Streamable HTTP Revisions).
    let get = http().get(server.uri()).bearer_auth(&token).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");

    let lifecycle = ClientLifecycleMode::Discover { preferred_versions: vec![Wire::V_2026_07_28] };
    let client = ClientConfig::default().serve_with_lifecycle(transport(&server, &token), lifecycle).await.unwrap();
    assert_eq!(client.list_all_tools().await.unwrap().len(), 3);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn requests_real_clients_send_first_get_their_revision_s_answer() {
    let (server, token) = server_speaking(&ProtocolVersion::ALL).await;
    // Without a token, anything is a 401 with the discovery challenge (Claude Code's and FastMCP's
    // first `server/discover`, Codex's first GET).
    let anonymous = http().get(server.uri()).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    // A GET with a token and no session: a 2026-07-28 client is told 405 (there is no GET stream)…
    let modern = http()
        .get(server.uri())
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .send()
        .await
        .unwrap();
    assert_eq!(modern.status(), 405);
    // …a legacy one 400, as a session is required (2025-11-25 §Session Management).
    let legacy =
        http().get(server.uri()).bearer_auth(&token).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(legacy.status(), 400);
}

#[test]
fn an_empty_version_list_is_refused_naming_the_knob() {
    let patch: toml::Table = toml::from_str("[resource]\nprotocol_versions = []").unwrap();
    let err = Profile::default().with_overrides(&patch).unwrap_err().to_string();
    assert!(err.contains("resource.protocol_versions") && err.contains("at least one"), "{err}");
    let patch: toml::Table = toml::from_str("[resource]\nprotocol_versions = [\"2024-11-05\"]").unwrap();
    let err = Profile::default().with_overrides(&patch).unwrap_err().to_string();
    assert!(err.contains("resource.protocol_versions") && err.contains("2025-03-26"), "{err}");
}
