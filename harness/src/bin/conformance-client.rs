//! The reference client behind `@modelcontextprotocol/conformance`'s client contract: the server
//! URL is the last argument, the scenario is in `MCP_CONFORMANCE_SCENARIO`, pre-registered
//! credentials in `MCP_CONFORMANCE_CONTEXT`. It logs in (playing its own browser: it follows the
//! authorization server's redirects and approves a consent page), lists the tools and calls the
//! first one, then exits 0, or 1 with the reason on stderr.
//!
//! It lets the official suite judge the harness's positive control
//! (`conformance client --command "conformance-client" --suite auth`), and the harness run its
//! own scenarios through the contract (`--client conformance:conformance-client`).

use std::process::ExitCode;
use std::time::Duration;

use mcp_auth_harness::client::{ClientAdapter, MachineCredentials, ReferenceClient, ServerEntry, StepContext};
use mcp_auth_harness::scenario::{BrowserAction, Status};
use mock_server::EnterpriseSignOn;
use mock_server::jose::KeyPair;
use mock_server::profile::ClientAuthMethod;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(said) => {
            println!("{said}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("conformance-client: {why}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<String, String> {
    let url = std::env::args().skip(1).last().ok_or("usage: conformance-client [ARGS…] SERVER_URL")?;
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let context: serde_json::Value = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .map(|text| serde_json::from_str(&text).map_err(|e| format!("MCP_CONFORMANCE_CONTEXT is not JSON: {e}")))
        .transpose()?
        .unwrap_or_default();
    let machine = machine_credentials(&scenario, &context)?;
    let preregistered = context["client_id"]
        .as_str()
        .filter(|_| machine.is_none())
        .map(|id| (id.to_owned(), context["client_secret"].as_str().map(str::to_owned)));
    let home = tempfile::tempdir().map_err(|e| format!("no temporary home: {e}"))?;
    let ctx = StepContext::new(home.path().to_owned(), BrowserAction::Approve, Duration::from_secs(10));
    let client = ReferenceClient::new();
    let enterprise = enterprise_sign_on(&scenario, &context);
    let workload_jwt = workload_jwt(&scenario, &context);
    let entry = ServerEntry { name: "server".into(), url, preregistered, machine, enterprise, workload_jwt };
    let fail = |verb: &str, error: Option<String>| error.map(|e| format!("{verb}: {e}"));

    let added = client.add(&ctx, &entry).await.map_err(|e| e.to_string())?;
    fail("add", added.error).map_or(Ok(()), Err)?;
    // Only the auth scenarios protect the server; the others are plain MCP.
    let protected = scenario.starts_with("auth/") || scenario.is_empty();
    if protected {
        let login = client.login(&ctx, &entry).await.map_err(|e| e.to_string())?;
        fail("login", login.error).map_or(Ok(()), Err)?;
    }
    let mut imported = client.import(&ctx, &entry).await.map_err(|e| e.to_string())?;
    // The contract's client authorizes whenever the server refuses it, with no user to ask. The
    // reference client is a CLI: a login the server stopped accepting (its resource moved to
    // another authorization server, SEP-2352) shows as expired, and its user logs in again — so
    // does this driver, once, where the status says so.
    if protected && imported.error.is_some() && login_expired(&client, &ctx).await? {
        let login = client.login(&ctx, &entry).await.map_err(|e| e.to_string())?;
        fail("login again", login.error).map_or(Ok(()), Err)?;
        imported = client.import(&ctx, &entry).await.map_err(|e| e.to_string())?;
    }
    fail("tools/list", imported.error).map_or(Ok(()), Err)?;
    let tools = imported.tools.unwrap_or_default();
    let Some(first) = tools.first() else { return Ok("connected; the server has no tools".into()) };
    let arguments = arguments_for(&first.input_schema);
    let called = client.call(&ctx, &entry, &first.name, &arguments).await.map_err(|e| e.to_string())?;
    fail(&format!("tools/call {}", first.name), called.error).map_or(Ok(()), Err)?;
    Ok(format!("listed {} tool(s), called {}: {}", tools.len(), first.name, called.content.unwrap_or_default()))
}

/// Whether the client's own status check says its stored login no longer works.
async fn login_expired(client: &ReferenceClient, ctx: &StepContext) -> Result<bool, String> {
    let listed = client.list(ctx).await.map_err(|e| e.to_string())?;
    Ok(listed.statuses.iter().any(|s| matches!(s.normalized, Status::Expired | Status::NotLoggedIn)))
}

/// The suite's client credentials scenarios (`auth/client-credentials-*`, extension SEP-1046)
/// hand a machine client its id and a secret (`client_secret_basic`) or a PKCS#8 PEM key
/// (`private_key_jwt`, ES256).
fn machine_credentials(scenario: &str, context: &serde_json::Value) -> Result<Option<MachineCredentials>, String> {
    let (true, Some(client_id)) = (scenario.starts_with("auth/client-credentials-"), context["client_id"].as_str())
    else {
        return Ok(None);
    };
    let private_key = context["private_key_pem"]
        .as_str()
        .map(|pem| KeyPair::from_pkcs8_pem(pem).map(|key| key.private_jwk()))
        .transpose()
        .map_err(|e| format!("MCP_CONFORMANCE_CONTEXT private_key_pem: {e}"))?;
    // The official context never names the method (a key means private_key_jwt, a secret
    // client_secret_basic); this harness's contract adds `token_endpoint_auth_method`, as an
    // administrator would say how the client was registered.
    let auth_method = match (context["token_endpoint_auth_method"].as_str(), &private_key) {
        (Some(named), _) => serde_json::from_value(named.into())
            .map_err(|e| format!("MCP_CONFORMANCE_CONTEXT token_endpoint_auth_method: {e}"))?,
        (None, Some(_)) => ClientAuthMethod::PrivateKeyJwt,
        (None, None) => ClientAuthMethod::ClientSecretBasic,
    };
    Ok(Some(MachineCredentials {
        client_id: client_id.to_owned(),
        auth_method,
        secret: context["client_secret"].as_str().map(str::to_owned),
        private_key,
    }))
}

/// The suite's `auth/enterprise-managed-authorization` (extension SEP-990) hands the client the
/// identity provider's token endpoint, the user's ID token and the client's id there (a public
/// client at the provider).
fn enterprise_sign_on(scenario: &str, context: &serde_json::Value) -> Option<EnterpriseSignOn> {
    if scenario != "auth/enterprise-managed-authorization" {
        return None;
    }
    Some(EnterpriseSignOn {
        token_endpoint: context["idp_token_endpoint"].as_str()?.to_owned(),
        id_token: context["idp_id_token"].as_str()?.to_owned(),
        client_id: context["idp_client_id"].as_str()?.to_owned(),
        client_secret: context["idp_client_secret"].as_str().map(str::to_owned),
    })
}

/// The suite's `auth/wif-jwt-bearer` (extension SEP-1933) hands the workload a valid JWT (and
/// two bad ones a client has no use for) and a `client_id`.
fn workload_jwt(scenario: &str, context: &serde_json::Value) -> Option<String> {
    (scenario == "auth/wif-jwt-bearer").then(|| context["valid_jwt"].as_str().map(str::to_owned))?
}

/// Plain values for a tool's required arguments, by their schema types.
fn arguments_for(schema: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let required = schema["required"].as_array().into_iter().flatten().filter_map(|n| n.as_str());
    required
        .map(|name| {
            let value = match schema["properties"][name]["type"].as_str() {
                Some("number" | "integer") => serde_json::json!(1),
                Some("boolean") => serde_json::json!(true),
                _ => serde_json::json!("conformance"),
            };
            (name.to_owned(), value)
        })
        .collect()
}
