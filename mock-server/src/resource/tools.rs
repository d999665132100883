//! The MCP server behind the bearer check: real MCP via rmcp, serving the profile's tools.

use std::borrow::Cow;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};

use crate::profile::{ProtocolVersion, ResourceKnobs, ToolKind};

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

/// One MCP session's handler (or one sessionless request's); rmcp makes one from the knobs as
/// they are when it starts.
#[derive(Clone)]
pub struct ToolServer {
    tools: Arc<[ToolKind]>,
    /// Tools per `tools/list` page (`0`: one page).
    page_size: usize,
    /// What `initialize` may agree to and `server/discover` lists.
    versions: Vec<rmcp::model::ProtocolVersion>,
}

impl ToolServer {
    pub fn new(knobs: &ResourceKnobs) -> Self {
        let versions = knobs.protocol_versions.iter().map(|v| wire(*v)).collect();
        Self { tools: knobs.tools.clone().into(), page_size: knobs.tools_page_size, versions }
    }
}

fn wire(version: ProtocolVersion) -> rmcp::model::ProtocolVersion {
    serde_json::from_value(Value::String(version.as_str().to_owned())).expect("every version is a wire string")
}

impl ServerHandler for ToolServer {
    fn get_info(&self) -> ServerConfig {
        // rmcp answers an `initialize` naming a version the server does not speak with this one,
        // so it must be the newest the knobs allow (MCP 2025-11-25 §Version Negotiation: "another
        // protocol version it supports … SHOULD be the latest").
        let newest_legacy =
            self.versions.iter().filter(|v| v.has_initialize()).max_by(|a, b| a.as_str().cmp(b.as_str()));
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("mcp-auth-harness-mock", env!("CARGO_PKG_VERSION")))
            .with_protocol_version(
                newest_legacy.cloned().unwrap_or(rmcp::model::ProtocolVersion::LATEST_WITH_INITIALIZE),
            )
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [rmcp::model::ProtocolVersion]> {
        Cow::Owned(self.versions.clone())
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
