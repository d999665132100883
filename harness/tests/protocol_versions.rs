//! The reference client speaks the protocol version of the revision a run is judged by, and the
//! mock serves each one: what the mock recorded for every MCP request it served (the version
//! `initialize` negotiated, or the one a 2026-07-28 request named) is asserted per revision.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use mcp_auth_harness::check::Outcome;
use mcp_auth_harness::client::{
    AdapterError, ClientAdapter, ClientState, ReferenceClient, Reply, ServerEntry, StepContext, Support,
};
use mcp_auth_harness::revision::Revision;
use mcp_auth_harness::runner::{self, RunOptions, Verdict};
use mcp_auth_harness::scenario::Verb;
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

/// A client that speaks 2026-07-28 whatever revision judges it (as Claude Code does): the
/// reference client, told it is judged by 2026-07-28.
struct Modern(ReferenceClient);

impl Modern {
    fn ctx(ctx: &StepContext) -> StepContext {
        StepContext::new(ctx.home.clone(), ctx.action, ctx.user_timeout)
            .with_options(ctx.options.clone())
            .with_login_timeout(ctx.login_timeout)
            .for_scenario(&ctx.scenario)
            .under(Revision::V2026_07_28)
    }
}

#[async_trait]
impl ClientAdapter for Modern {
    fn name(&self) -> String {
        "modern".into()
    }
    fn support(&self, verb: Verb) -> Support {
        self.0.support(verb)
    }
    async fn add(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        self.0.add(&Self::ctx(ctx), entry).await
    }
    async fn login(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        self.0.login(&Self::ctx(ctx), entry).await
    }
    async fn list(&self, ctx: &StepContext) -> Result<Reply, AdapterError> {
        self.0.list(&Self::ctx(ctx)).await
    }
    async fn import(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        self.0.import(&Self::ctx(ctx), entry).await
    }
    async fn call(
        &self,
        ctx: &StepContext,
        entry: &ServerEntry,
        tool: &str,
        arguments: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Reply, AdapterError> {
        self.0.call(&Self::ctx(ctx), entry, tool, arguments).await
    }
    async fn restart(&self, ctx: &StepContext) -> Result<Reply, AdapterError> {
        self.0.restart(&Self::ctx(ctx)).await
    }
    async fn logout(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        self.0.logout(&Self::ctx(ctx), entry).await
    }
    async fn remove(&self, ctx: &StepContext, entry: &ServerEntry) -> Result<Reply, AdapterError> {
        self.0.remove(&Self::ctx(ctx), entry).await
    }
    async fn state(&self, home: &std::path::Path) -> ClientState {
        self.0.state(home).await
    }
}

/// `clients_of_revision_only`: a client that spoke 2026-07-28 is not judged on a scenario about a
/// client of 2025-11-25 (every step and check n/a, the version named); one that spoke only
/// `initialize` is judged, and without the field the modern client is judged (and fails).
#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_spoke_a_newer_version_is_not_judged_on_a_scenario_about_an_older_client() {
    let path = catalog::default_dir().join("protocol-modern-only-server-legacy-client.toml");
    let pinned = scenario::load_file(&path).unwrap();
    assert!(pinned.clients_of_revision_only);
    let options = RunOptions::default();

    let run = runner::run(&pinned, Arc::new(Modern(ReferenceClient::new())), &options).await.unwrap();
    assert_eq!(run.verdict(), Verdict::NotApplicable);
    let why = "modern spoke MCP 2026-07-28 to `main`, newer than the 2025-11-25 the scenario is about";
    for step in &run.steps {
        assert!(step.not_applicable.as_deref().is_some_and(|w| w.starts_with(why)), "{:?}", step.not_applicable);
    }
    assert!(run.checks.iter().all(|c| c.outcome == Outcome::NotApplicable));
    assert!(mcp_auth_harness::report::scenario_block(&run).contains(why));

    let run = runner::run(&pinned, Arc::new(ReferenceClient::new()), &options).await.unwrap();
    assert_eq!(run.verdict(), Verdict::Passed);
    assert!(run.steps.iter().all(|s| s.not_applicable.is_none()));

    let unmarked = scenario::Scenario { clients_of_revision_only: false, ..pinned };
    let run = runner::run(&unmarked, Arc::new(Modern(ReferenceClient::new())), &options).await.unwrap();
    assert_eq!(run.verdict(), Verdict::Failed, "the modern client's import succeeds: the expectation misses");
}
