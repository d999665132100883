//! Protected resource metadata (RFC 9728).

use serde_json::{Value, json};

use crate::profile::{MetadataLocation, ResourceMetadataKnobs};

/// The path the document is served at for the MCP endpoint at `mcp_path`, if it is served.
pub fn path(knobs: &ResourceMetadataKnobs, mcp_path: &str) -> Option<String> {
    match knobs.location {
        MetadataLocation::PathInserted => {
            Some(format!("/.well-known/oauth-protected-resource{}", mcp_path.trim_end_matches('/')))
        }
        MetadataLocation::Root => Some("/.well-known/oauth-protected-resource".to_owned()),
        MetadataLocation::Custom => Some(knobs.custom_path.clone()),
        MetadataLocation::None => None,
    }
}

/// The document itself; `resource` and `issuers` are the resolved values it names.
pub fn document(knobs: &ResourceMetadataKnobs, resource: &str, issuers: &[String]) -> Value {
    let mut doc = json!({
        "resource": resource,
        "authorization_servers": issuers,
        "bearer_methods_supported": ["header"],
    });
    if !knobs.scopes_supported.is_empty() {
        doc["scopes_supported"] = json!(knobs.scopes_supported);
    }
    doc
}
