//! The MCP protocol version the reference client speaks, chosen by the revision the run is judged
//! by, and how it opens: its sessions and its unauthenticated probe.
//!
//! Under 2026-07-28 it is a dual-era client (versioning §Backward Compatibility with
//! Initialization-Based Versions: a client that "needs to interoperate with both kinds of
//! servers" detects the era): it opens with `server/discover` naming 2026-07-28 and, when a
//! server answers that with a 400 carrying no modern JSON-RPC error (streamable-http §Backward
//! Compatibility), falls back to `initialize` asking for 2025-11-25, the last version with the
//! handshake; the server may negotiate an older one. Under an earlier revision it is a client of
//! that revision: `initialize` asking for that revision's version and nothing newer, so in front
//! of a server that speaks only 2026-07-28 it fails, as the compatibility matrix's "Legacy client
//! → Modern server" row says it must ("legacy clients have no fall-forward mechanism"), and
//! reports the server's error.

use rmcp::model::{ClientConfig, ProtocolVersion};
use rmcp::service::ClientLifecycleMode;
use serde_json::{Value, json};

use super::http;
use crate::revision::Revision;

/// The `initialize` version a client of `revision` asks for: the revision's own, and 2025-11-25
/// (the last with `initialize`) as the legacy fallback of a 2026-07-28 client.
fn legacy_version(revision: Revision) -> ProtocolVersion {
    match revision {
        Revision::V2025_03_26 => ProtocolVersion::V_2025_03_26,
        Revision::V2025_06_18 => ProtocolVersion::V_2025_06_18,
        Revision::V2025_11_25 | Revision::V2026_07_28 => ProtocolVersion::V_2025_11_25,
    }
}

/// Whether a client of `revision` opens with `server/discover` (and per-request metadata).
fn modern(revision: Revision) -> bool {
    revision >= Revision::V2026_07_28
}

/// How an rmcp session opens under `revision`.
pub(super) fn lifecycle(revision: Revision) -> ClientLifecycleMode {
    match modern(revision) {
        true => ClientLifecycleMode::Auto {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            legacy_version: Some(legacy_version(revision)),
        },
        false => ClientLifecycleMode::Initialize,
    }
}

/// The client's `initialize` parameters under `revision` (rmcp's default asks for its newest
/// version, which no client of an older revision knows).
pub(super) fn client_config(revision: Revision) -> ClientConfig {
    let mut info = ClientConfig::default();
    info.protocol_version = legacy_version(revision);
    info
}

/// What an unauthenticated request to the MCP endpoint answers.
pub(super) struct Probe {
    pub status: u16,
    pub challenge: Option<String>,
}

/// The request a client of `revision` opens with, sent without credentials to learn whether and
/// how the server wants them. A 2026-07-28 client whose `server/discover` gets a 400 from a
/// server that needs no authorization asks again as a legacy client, as its session would.
pub(super) async fn probe(url: &str, revision: Revision) -> Result<Probe, String> {
    if modern(revision) {
        let probe =
            send(url, &discover(), &[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "server/discover")])
                .await?;
        if probe.status != 400 {
            return Ok(probe);
        }
    }
    send(url, &initialize(revision), &[]).await
}

fn client_identity() -> Value {
    json!({"name": "mcp-auth-harness-reference", "version": env!("CARGO_PKG_VERSION")})
}

fn initialize(revision: Revision) -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": legacy_version(revision).as_str(), "capabilities": {}, "clientInfo": client_identity()}})
}

/// `server/discover` with the per-request metadata every 2026-07-28 request carries.
fn discover() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "server/discover", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": client_identity(),
        "io.modelcontextprotocol/clientCapabilities": {}}}})
}

async fn send(url: &str, body: &Value, headers: &[(&str, &str)]) -> Result<Probe, String> {
    let mut request = http().post(url).header("accept", "application/json, text/event-stream").json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.map_err(|e| format!("cannot reach {url}: {e}"))?;
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.to_ascii_lowercase().starts_with("bearer"))
        .map(str::to_owned);
    Ok(Probe { status: response.status().as_u16(), challenge })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_revision_asks_for_its_own_version_and_only_2026_discovers() {
        for (revision, asked) in [
            (Revision::V2025_03_26, "2025-03-26"),
            (Revision::V2025_06_18, "2025-06-18"),
            (Revision::V2025_11_25, "2025-11-25"),
            (Revision::V2026_07_28, "2025-11-25"),
        ] {
            assert_eq!(client_config(revision).protocol_version.as_str(), asked, "{revision}");
            assert_eq!(matches!(lifecycle(revision), ClientLifecycleMode::Auto { .. }), modern(revision));
        }
    }
}
