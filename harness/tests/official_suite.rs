//! Cross-validation with `@modelcontextprotocol/conformance` (both pinned releases): its client
//! auth scenarios that overlap this catalog, run against the reference client through its own
//! contract, agree with this harness's verdicts except where the README explains why.

use std::time::Duration;

use mcp_auth_harness::check::Outcome;
use mcp_auth_harness::official_suite::{self, SuiteVersion};
use mcp_auth_harness::runner::{self, RunOptions, Verdict};
use mcp_auth_harness::{catalog, client, scenario};

/// Where the two suites disagree, and the check the official suite flags (see the README).
const EXPLAINED_0_1_16: &[(&str, &str)] = &[
    // A SHOULD: a client with no hosted metadata document cannot use one; theirs expects a fixed URL.
    ("auth/basic-cimd", "cimd-client-id-used"),
    // Their metadata's issuer (…/oauth) is not the URL it is served for: RFC 8414 §3.3 says refuse.
    ("auth/2025-03-26-oauth-metadata-backcompat", "client-registration"),
];

/// 0.2.0-alpha.12 fixed its back-compat metadata; the CIMD reading stays. Its step-up scenario
/// (challenging `tools/list`) and its migration server (2026-07-28 only, refusing the old AS's
/// tokens mid-session) agree since the reference client speaks 2026-07-28, steps up on any
/// refused request, and its contract driver logs in again when its status says expired.
const EXPLAINED_0_2_0_ALPHA_12: &[(&str, &str)] = &[("auth/basic-cimd", "cimd-client-id-used")];

fn available() -> bool {
    match mcp_auth_harness::client::ManifestClient::built_in()[0].availability() {
        Ok(()) => true,
        Err(why) => {
            eprintln!("skipped: the pinned npm packages cannot be installed here: {why}");
            false
        }
    }
}

async fn agrees_but_where_explained(version: SuiteVersion, explained: &[(&str, &str)]) {
    let scenarios = scenario::load_dir(&catalog::default_dir()).unwrap();
    let comparisons = official_suite::compare(version, &scenarios).await.unwrap();
    eprintln!("{}", official_suite::table(version, &comparisons));
    assert_eq!(comparisons.len(), version.pairs().len(), "every pair's scenario is in the catalog");
    for comparison in &comparisons {
        assert_eq!(comparison.our_verdict, Verdict::Passed, "{}: the positive control fails ours", comparison.ours);
        let theirs = &comparison.theirs;
        match explained.iter().find(|(name, _)| *name == theirs.scenario) {
            Some((_, check)) => assert!(
                !theirs.ok() && theirs.flagged.iter().any(|f| f == check),
                "{version} {}: the explained disagreement ({check}) is gone: {theirs:?}",
                theirs.scenario
            ),
            None => assert!(theirs.ok(), "{version} {}: a new disagreement: {theirs:?}", theirs.scenario),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_suite_agrees_with_ours_on_the_reference_client_but_where_explained() {
    if available() {
        agrees_but_where_explained(SuiteVersion::V0_1_16, EXPLAINED_0_1_16).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn its_2026_release_agrees_with_ours_on_the_reference_client_but_where_explained() {
    if available() {
        agrees_but_where_explained(SuiteVersion::V0_2_0Alpha12, EXPLAINED_0_2_0_ALPHA_12).await;
    }
}

/// Every client auth scenario each release lists is compared here or named unpaired with its
/// reason, and nothing named is gone from it: a scenario a new release adds shows up here.
#[test]
fn every_official_client_auth_scenario_is_paired_or_said_why_not() {
    if !available() {
        return;
    }
    for version in [SuiteVersion::V0_1_16, SuiteVersion::V0_2_0Alpha12] {
        let listed = official_suite::list_auth_scenarios(version).unwrap();
        assert!(listed.len() > 10, "{version}: {listed:?}");
        let pairs = version.pairs();
        let unpaired = version.unpaired();
        for scenario in &listed {
            let paired = pairs.iter().any(|(_, theirs)| theirs == scenario);
            let named = unpaired.iter().any(|(theirs, _)| theirs == scenario);
            assert!(paired != named, "{version} {scenario}: paired {paired}, named unpaired {named}");
        }
        for theirs in pairs.iter().map(|(_, t)| *t).chain(unpaired.iter().map(|(t, _)| *t)) {
            assert!(listed.iter().any(|l| l == theirs), "{version} does not list {theirs}");
        }
    }
}

/// `official` also runs both suites whole, side by side: their `--suite auth` in one process and
/// this whole catalog in-process, with wall time, CPU and memory (the README's figures).
#[tokio::test(flavor = "multi_thread")]
async fn both_whole_suites_run_side_by_side_with_their_costs() {
    if !available() {
        return;
    }
    let scenarios = scenario::load_dir(&catalog::default_dir()).unwrap();
    let ours = official_suite::run_our_catalog(&scenarios).await;
    assert_eq!((ours.runs, ours.passed), (scenarios.len(), scenarios.len()), "the positive control passes ours");
    let client = official_suite::contract_client().unwrap();
    let work = tempfile::tempdir().unwrap();
    // Both releases' `--suite auth` have 14 scenarios; `auth/basic-cimd` is explained in both.
    for (version, passed) in [(SuiteVersion::V0_1_16, 13), (SuiteVersion::V0_2_0Alpha12, 13)] {
        let theirs = official_suite::run_official_suite(version, &client, work.path()).unwrap();
        eprintln!("{}", official_suite::cost_table(version, &theirs, &ours));
        assert_eq!((theirs.runs, theirs.passed), (14, passed), "{version}");
        assert!(theirs.cpu > Duration::ZERO && theirs.max_rss_kib > 0, "{version}");
    }
    assert!(ours.cpu > Duration::ZERO && ours.max_rss_kib > 0);
}

/// A contract client is handed what the extension scenarios give a client out of band — the
/// machine client's secret or key, the enterprise sign-on, the workload JWT — in
/// `MCP_CONFORMANCE_CONTEXT`, as the official suite hands them, and is run on them only when it
/// declares the extension: `conformance-client` (the reference client behind the contract)
/// passes the machine, enterprise and workload scenarios through it. Its DPoP runs pass every DPoP check; what fails there is the
/// contract's limits: each run starts from an empty home (so it registers again), and its login
/// lists the tools too (so `dpop-replayed-proof`'s login fails where the listing does).
#[tokio::test(flavor = "multi_thread")]
async fn a_contract_client_that_declares_the_extensions_is_handed_their_credentials() {
    let command = official_suite::contract_client().unwrap().display().to_string();
    let scenarios = scenario::load_dir(&catalog::default_dir()).unwrap();
    let declared = client::by_name(&format!(
        "conformance+oauth-client-credentials+enterprise-managed-authorization+dpop+wif:{command}"
    ))
    .unwrap()
    .remove(0);
    let undeclared = client::by_name(&format!("conformance:{command}")).unwrap().remove(0);
    let about_extensions = scenarios.iter().filter(|s| s.extension.is_some());
    for scenario in about_extensions {
        let not_declared = runner::run(scenario, undeclared.clone(), &RunOptions::default()).await.unwrap();
        assert_eq!(not_declared.verdict(), Verdict::NotApplicable, "{}", scenario.name);
        let run = runner::run(scenario, declared.clone(), &RunOptions::default()).await.unwrap();
        if scenario.name.starts_with("dpop-") {
            let failed: Vec<_> =
                run.checks.iter().filter(|c| matches!(c.outcome, Outcome::Fail { .. })).map(|c| c.info.id).collect();
            assert!(failed.iter().all(|id| *id == "refresh-before-relogin"), "{}: {failed:?}", scenario.name);
        } else {
            assert_eq!(run.verdict(), Verdict::Passed, "{}: {run:#?}", scenario.name);
        }
    }
}
