//! The reference client speaks the protocol version of the revision a run is judged by, and the
//! mock serves each one: what the mock recorded for every MCP request it served (the version
//! `initialize` negotiated, or the one a 2026-07-28 request named) is asserted per revision.

use std::collections::BTreeSet;
use std::sync::Arc;

use mcp_auth_harness::client::ReferenceClient;
use mcp_auth_harness::revision::Revision;
use mcp_auth_harness::runner::{self, RunOptions, Verdict};
use mcp_auth_harness::{catalog, scenario};

/// The versions the `main` server served the client under, and the MCP methods it was sent.
async fn spoken(name: &str, revision: Revision) -> (BTreeSet<String>, BTreeSet<String>) {
    let scenario = scenario::load_file(&catalog::default_dir().join(format!("{name}.toml"))).unwrap();
    let options = RunOptions { revision: Some(revision), ..Default::default() };
    let run = runner::run(&scenario, Arc::new(ReferenceClient::new()), &options).await.unwrap();
    assert_eq!(run.verdict(), Verdict::Passed, "{name} under {revision}: the positive control fails");
    let exchanges = &run.observed.servers["main"].exchanges;
    let versions = exchanges.iter().filter_map(|e| e.protocol_version.clone()).collect();
    let methods = exchanges.iter().filter_map(|e| e.request_body.get("method")?.as_str().map(str::to_owned)).collect();
    (versions, methods)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_revision_speaks_its_own_version_to_a_server_that_speaks_them_all() {
    let (versions, methods) = spoken("happy-path", Revision::V2026_07_28).await;
    assert_eq!(versions, set(&["2026-07-28"]));
    assert!(methods.contains("server/discover") && !methods.contains("initialize"), "{methods:?}");
    for (revision, version) in [
        (Revision::V2025_11_25, "2025-11-25"),
        (Revision::V2025_06_18, "2025-06-18"),
        (Revision::V2025_03_26, "2025-03-26"),
    ] {
        let (versions, methods) = spoken("happy-path", revision).await;
        assert_eq!(versions, set(&[version]), "{revision}");
        assert!(methods.contains("initialize") && !methods.contains("server/discover"), "{revision}: {methods:?}");
    }
}

/// Dual-era → legacy: the 2026-07-28 client's `server/discover` gets a legacy 400, and it
/// falls back to `initialize` asking for 2025-11-25.
#[tokio::test(flavor = "multi_thread")]
async fn a_2026_client_falls_back_to_initialize_before_a_server_that_predates_it() {
    let (versions, methods) = spoken("protocol-legacy-server", Revision::V2026_07_28).await;
    assert_eq!(versions, set(&["2025-11-25"]));
    assert!(methods.contains("server/discover") && methods.contains("initialize"), "{methods:?}");
    let (versions, _) = spoken("protocol-legacy-server", Revision::V2025_03_26).await;
    assert_eq!(versions, set(&["2025-03-26"]));
}

/// Legacy → modern: a client of 2025-11-25 gets no session from a server that speaks only
/// 2026-07-28 (the run passes because the scenario expects the failure and the error shown).
#[tokio::test(flavor = "multi_thread")]
async fn a_2025_client_gets_no_session_from_a_server_that_speaks_only_2026() {
    let (versions, methods) = spoken("protocol-modern-only-server-legacy-client", Revision::V2025_11_25).await;
    assert_eq!(versions, set(&[]));
    assert!(methods.contains("initialize") && !methods.contains("server/discover"), "{methods:?}");
    let (versions, _) = spoken("protocol-modern-only-server", Revision::V2026_07_28).await;
    assert_eq!(versions, set(&["2026-07-28"]));
}
