//! No token the mock issued appears in any report, snapshot or client output, and the catalog
//! leaves no sandbox behind.

use std::sync::Arc;

use mcp_auth_harness::client::{ClientAdapter, ManifestClient, ReferenceClient, Sandbox};
use mcp_auth_harness::{catalog, report, scenario};

/// The tests here take turns: the sandbox count is machine-wide, and a run of the other test
/// would show up as a sandbox left behind.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn no_issued_token_reaches_any_report_and_no_sandbox_is_left() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let before = Sandbox::existing();
    let scenarios = scenario::load_dir(&catalog::default_dir()).unwrap();
    let client: Arc<dyn ClientAdapter> = Arc::new(ReferenceClient::new());
    let runs = catalog::run_all(&scenarios, &[client], &Default::default(), 16).await;
    let mut checked = 0;
    for run in runs {
        let run = run.unwrap();
        let outputs = [
            serde_json::to_string(&run).unwrap(),
            serde_json::to_string(&report::snapshot(&run)).unwrap(),
            report::scenario_block(&run),
            report::junit(std::slice::from_ref(&run)),
        ];
        for server in run.servers.values() {
            for secret in &server.issued_secrets {
                checked += 1;
                for output in &outputs {
                    assert!(
                        !output.contains(secret.as_str()),
                        "{}: an issued token leaked into a report",
                        run.scenario
                    );
                }
            }
        }
    }
    assert!(checked > 50, "the catalog issued tokens to look for ({checked})");
    let left: Vec<_> = Sandbox::existing().difference(&before).cloned().collect();
    assert!(left.is_empty(), "sandboxes left behind: {left:?}");
}

#[tokio::test]
async fn secrets_a_real_client_prints_are_redacted() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // The TypeScript SDK's example client prints the authorization code it receives.
    let Some(client) = ManifestClient::built_in().into_iter().find(|c| c.name().starts_with("typescript-sdk")) else {
        panic!("the typescript-sdk manifest is built in");
    };
    if let Err(why) = client.availability() {
        eprintln!("skipped: the pinned typescript-sdk client cannot run here: {why}");
        return;
    }
    let scenario = scenario::load_file(&catalog::default_dir().join("happy-path.toml")).unwrap();
    let client: Arc<dyn ClientAdapter> = Arc::new(client);
    let run = mcp_auth_harness::runner::run(&scenario, client, &Default::default()).await.unwrap();
    let json = serde_json::to_string(&run).unwrap();
    let secrets: Vec<&String> = run.servers.values().flat_map(|s| &s.issued_secrets).collect();
    assert!(!secrets.is_empty());
    for secret in secrets {
        assert!(!json.contains(secret.as_str()), "an issued secret leaked into the results");
    }
    assert!(json.contains("[secret]"), "the client printed its code, and it was redacted");
}
