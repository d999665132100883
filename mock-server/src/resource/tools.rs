//! The MCP server behind the bearer check: real MCP via rmcp, serving the profile's tools.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};

use crate::profile::ToolKind;

impl ToolKind {
    /// The tool's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::Echo => "echo",
            Self::Add => "add",
            Self::WriteNote => "write_note",
        }
    }

    /// The tool as `tools/list` describes it.
    pub fn describe(self) -> Tool {
        let (description, schema) = match self {
            Self::Echo => (
                "Returns the text it is given.",
                json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
            ),
            Self::Add => (
                "Adds two numbers.",
                json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}),
            ),
            Self::WriteNote => (
                "Stores a note; needs the write scope.",
                json!({"type": "object", "properties": {"note": {"type": "string"}}, "required": ["note"]}),
            ),
        };
        let Value::Object(schema) = schema else { unreachable!("schemas are objects") };
        Tool::new(self.name(), description, Arc::new(schema))
    }

    fn call(self, args: &serde_json::Map<String, Value>) -> Result<String, String> {
        let text =
            |name: &str| args.get(name).and_then(Value::as_str).ok_or_else(|| format!("`{name}` must be a string"));
        let number =
            |name: &str| args.get(name).and_then(Value::as_f64).ok_or_else(|| format!("`{name}` must be a number"));
        match self {
            Self::Echo => text("text").map(str::to_owned),
            Self::Add => Ok((number("a")? + number("b")?).to_string()),
            Self::WriteNote => text("note").map(|n| format!("saved: {n}")),
        }
    }
}

/// One MCP session's handler; rmcp makes one per session from the profile's tool list.
#[derive(Clone)]
pub struct ToolServer {
    tools: Arc<[ToolKind]>,
    /// Tools per `tools/list` page (`0`: one page).
    page_size: usize,
}

impl ToolServer {
    pub fn new(tools: Arc<[ToolKind]>, page_size: usize) -> Self {
        Self { tools, page_size }
    }
}

impl ServerHandler for ToolServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("mcp-auth-harness-mock", env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let all = || self.tools.iter().map(|t| t.describe());
        if self.page_size == 0 {
            return Ok(ListToolsResult::with_all_items(all().collect()));
        }
        // The cursor is the index of the page's first tool: opaque to the client, as it must be.
        let start = match request.and_then(|r| r.cursor) {
            None => 0,
            Some(cursor) => cursor
                .parse::<usize>()
                .ok()
                .filter(|i| *i < self.tools.len())
                .ok_or_else(|| ErrorData::invalid_params(format!("invalid cursor `{cursor}`"), None))?,
        };
        let end = (start + self.page_size).min(self.tools.len());
        let mut page = ListToolsResult::with_all_items(all().skip(start).take(end - start).collect());
        if end < self.tools.len() {
            page.next_cursor = Some(end.to_string());
        }
        Ok(page)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tool = self
            .tools
            .iter()
            .find(|t| t.name() == request.name)
            .ok_or_else(|| ErrorData::invalid_params(format!("unknown tool `{}`", request.name), None))?;
        let args = request.arguments.unwrap_or_default();
        let result = match tool.call(&args) {
            Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
            Err(problem) => CallToolResult::error(vec![ContentBlock::text(problem)]),
        };
        Ok(result.into())
    }
}
