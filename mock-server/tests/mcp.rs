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
