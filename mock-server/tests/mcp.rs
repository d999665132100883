//! Real MCP through rmcp's own client, behind the bearer check.

mod common;

use common::log_in;
use mock_server::MockServer;
use rmcp::ServiceExt as _;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

#[tokio::test]
async fn tools_list_through_rmcp_with_a_valid_token_returns_the_served_tools() {
    let server = MockServer::start().await;
    let (_, tokens) = log_in(&server, "mcp:read mcp:write").await;
    let config = StreamableHttpClientTransportConfig::with_uri(server.uri())
        .auth_header(tokens["access_token"].as_str().unwrap());
    let client = ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("initialize succeeds with the token");
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    let served: Vec<_> = server.served_tools().iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names, served);
    let args = serde_json::json!({"a": 2, "b": 3}).as_object().unwrap().clone();
    let sum = client.call_tool(CallToolRequestParams::new("add").with_arguments(args)).await.unwrap();
    assert_eq!(sum.content[0].as_text().unwrap().text, "5");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn rmcp_client_without_a_token_is_refused() {
    let server = MockServer::start().await;
    let transport = StreamableHttpClientTransport::from_uri(server.uri());
    assert!(ClientConfig::default().serve(transport).await.is_err());
}

#[tokio::test]
async fn tools_come_in_pages_when_the_profile_says() {
    let mut profile = mock_server::Profile::default();
    profile.resource.tools_page_size = 2;
    let server = MockServer::builder().profile(profile).start().await;
    let (_, tokens) = log_in(&server, "mcp:read mcp:write").await;
    let config = StreamableHttpClientTransportConfig::with_uri(server.uri())
        .auth_header(tokens["access_token"].as_str().unwrap());
    let client = ClientConfig::default().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap();
    let first = client.list_tools(None).await.unwrap();
    assert_eq!(first.tools.len(), 2);
    let cursor = first.next_cursor.expect("a second page");
    let second = client
        .list_tools(Some(rmcp::model::PaginatedRequestParams::default().with_cursor(Some(cursor))))
        .await
        .unwrap();
    assert_eq!(second.tools.len(), 1);
    assert_eq!(second.next_cursor, None);
    assert_eq!(client.list_all_tools().await.unwrap().len(), 3);
    let bad = client
        .list_tools(Some(rmcp::model::PaginatedRequestParams::default().with_cursor(Some("garbage".into()))))
        .await;
    assert!(bad.is_err(), "an invalid cursor is an invalid-params error");
    client.cancel().await.unwrap();
}
