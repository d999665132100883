//! Every check can fail. Each is shown failing in one of two ways: a real run of a faulted
//! reference client (a mutant making one real-world mistake), or a real passing run whose
//! recorded exchange is altered the way a broken client would have sent it. In both cases the
//! same run without the fault must pass the check, so the failure is the fault's doing.

mod common;

use std::sync::Arc;

use mcp_auth_harness::check::{self, Outcome};
use mcp_auth_harness::client::{Fault, ReferenceClient};
use mcp_auth_harness::revision::Revision;
use mcp_auth_harness::runner::{self, ScenarioRun};
use mcp_auth_harness::{catalog, mutation, scenario};
use mock_server::{Endpoint, Exchange};

async fn run(name: &str, faults: Vec<Fault>) -> ScenarioRun {
    let scenario = scenario::load_file(&catalog::default_dir().join(format!("{name}.toml"))).unwrap();
    runner::run(&scenario, Arc::new(ReferenceClient::with_faults(faults)), &Default::default()).await.unwrap()
}

fn outcome(run: &ScenarioRun, id: &str) -> Outcome {
    check::evaluate_all(run, run.revision)
        .into_iter()
        .find(|c| c.info.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
        .outcome
}

fn assert_fails(run: &ScenarioRun, id: &str) {
    match outcome(run, id) {
        Outcome::Fail { .. } => {}
        other => panic!("{id} should fail, got {other:?}"),
    }
}

fn assert_passes(run: &ScenarioRun, id: &str) {
    match outcome(run, id) {
        Outcome::Pass { .. } => {}
        other => panic!("{id} should pass on the unaltered run, got {other:?}"),
    }
}

/// The exchanges of the (only) server.
fn exchanges(run: &mut ScenarioRun) -> &mut Vec<Exchange> {
    &mut run.servers.values_mut().next().unwrap().exchanges
}

fn first(run: &mut ScenarioRun, endpoint: Endpoint) -> &mut Exchange {
    exchanges(run).iter_mut().find(|e| e.endpoint == endpoint).unwrap()
}

/// A passing run of `scenario`, then the same run altered by `alter`: `id` passes, then fails.
async fn altered(scenario: &str, id: &str, alter: impl FnOnce(&mut ScenarioRun)) {
    let mut run = run(scenario, Vec::new()).await;
    assert_passes(&run, id);
    alter(&mut run);
    assert_fails(&run, id);
}

/// The scenario passes `id` with the plain reference client and fails it with `fault`.
async fn mutant(scenario: &str, id: &str, fault: Fault) {
    assert_passes(&run(scenario, Vec::new()).await, id);
    assert_fails(&run(scenario, vec![fault]).await, id);
}

#[tokio::test]
async fn prm_discovery_fails_when_metadata_is_never_read() {
    altered("happy-path", "prm-discovery", |run| exchanges(run).retain(|e| e.endpoint != Endpoint::ResourceMetadata))
        .await;
}

#[tokio::test]
async fn as_metadata_discovery_fails_on_the_wrong_order() {
    altered("founding-path-issuer", "as-metadata-discovery", |run| {
        let found = first(run, Endpoint::OauthMetadata).clone();
        let mut stray = found.clone();
        stray.path = "/.well-known/oauth-authorization-server".into();
        stray.status = 404;
        stray.endpoint = Endpoint::NotFound;
        let at = exchanges(run).iter().position(|e| e.seq == found.seq).unwrap();
        exchanges(run).insert(at, stray);
    })
    .await;
}

#[tokio::test]
async fn issuer_validated_fails_when_a_mismatched_issuer_is_used() {
    let mut run = run("happy-path", Vec::new()).await;
    run.servers.values_mut().next().unwrap().profile.authorization_server.issuer_override = Some("http://other".into());
    assert_fails(&run, "issuer-validated");
    assert_passes(&self::run("issuer-mismatch", Vec::new()).await, "issuer-validated");
}

#[tokio::test]
async fn resource_metadata_validated_fails_when_a_foreign_resource_is_used() {
    let mut run = run("happy-path", Vec::new()).await;
    run.servers.values_mut().next().unwrap().profile.resource_metadata.resource_override =
        Some("http://evil/mcp".into());
    assert_fails(&run, "resource-metadata-validated");
    assert_passes(&self::run("resource-mismatch", Vec::new()).await, "resource-metadata-validated");
}

#[tokio::test]
async fn pkce_s256_fails_without_a_challenge() {
    altered("happy-path", "pkce-s256", |run| {
        first(run, Endpoint::Authorize).query.retain(|(k, _)| k != "code_challenge")
    })
    .await;
}

#[tokio::test]
async fn pkce_support_verified_fails_for_a_client_that_proceeds() {
    mutant("pkce-not-advertised", "pkce-support-verified", Fault::ProceedWithoutPkce).await;
}

#[tokio::test]
async fn resource_parameter_fails_without_resource_at_the_token_endpoint() {
    altered("happy-path", "resource-parameter", |run| {
        first(run, Endpoint::Token).request_body.as_object_mut().unwrap().remove("resource");
    })
    .await;
}

#[tokio::test]
async fn scope_selection_fails_for_scopes_from_elsewhere() {
    altered("scope-from-challenge", "scope-selection", |run| {
        let auth = first(run, Endpoint::Authorize);
        auth.query.retain(|(k, _)| k != "scope");
        auth.query.push(("scope".into(), "mcp:read mcp:write".into()));
    })
    .await;
}

#[tokio::test]
async fn step_up_fails_without_reauthorization() {
    altered("step-up", "step-up", |run| {
        let refused = exchanges(run).iter().find(|e| e.status == 403).unwrap().seq;
        exchanges(run).retain(|e| !(e.seq > refused && e.endpoint == Endpoint::Authorize));
    })
    .await;
}

#[tokio::test]
async fn loopback_redirect_fails_for_a_remote_redirect() {
    altered("happy-path", "loopback-redirect", |run| {
        let auth = first(run, Endpoint::Authorize);
        auth.query.retain(|(k, _)| k != "redirect_uri");
        auth.query.push(("redirect_uri".into(), "https://attacker.example/cb".into()));
    })
    .await;
}

#[tokio::test]
async fn state_round_trip_fails_without_state() {
    altered("happy-path", "state-round-trip", |run| {
        first(run, Endpoint::Authorize).query.retain(|(k, _)| k != "state")
    })
    .await;
}

#[tokio::test]
async fn state_round_trip_fails_when_a_tampered_response_is_redeemed() {
    let mut run = run("state-tampered", Vec::new()).await;
    assert_passes(&run, "state-round-trip");
    let redemption = run.servers["main"].exchanges.iter().find(|e| e.endpoint == Endpoint::Token).cloned();
    assert!(redemption.is_none(), "the reference client never redeems a tampered response");
    let login = run.steps.iter().position(|s| s.verb == scenario::Verb::Login).unwrap();
    let end = run.steps[login].end_seq["main"];
    let mut fake = run.servers["main"].exchanges[0].clone();
    fake.seq = end - 1;
    fake.endpoint = Endpoint::Token;
    fake.request_body = serde_json::json!({"grant_type": "authorization_code"});
    exchanges(&mut run).push(fake);
    assert_fails(&run, "state-round-trip");
}

#[tokio::test]
async fn iss_validated_fails_when_a_bad_iss_is_redeemed() {
    let mut run = run("happy-path", Vec::new()).await;
    run.servers.values_mut().next().unwrap().profile.authorization_server.iss_parameter =
        mock_server::profile::IssParameter::Wrong;
    assert_fails(&run, "iss-validated");
    assert_passes(&self::run("iss-wrong", Vec::new()).await, "iss-validated");
}

#[tokio::test]
async fn denial_handled_fails_when_login_claims_success() {
    altered("consent-denied", "denial-handled", |run| {
        run.steps.iter_mut().find(|s| s.verb == scenario::Verb::Login).unwrap().reply.error = None;
    })
    .await;
}

#[tokio::test]
async fn token_in_header_only_fails_for_a_query_token() {
    altered("happy-path", "token-in-header-only", |run| {
        let mcp = exchanges(run)
            .iter_mut()
            .find(|e| e.endpoint == Endpoint::Mcp && e.request_headers.contains_key("authorization"))
            .unwrap();
        mcp.query.push(("access_token".into(), "[access_token:1]".into()));
    })
    .await;
}

#[tokio::test]
async fn token_audience_fails_when_a_token_goes_to_the_authorization_server() {
    altered("happy-path", "token-audience", |run| {
        first(run, Endpoint::Token).request_headers.insert("authorization".into(), "Bearer [access_token:1]".into());
    })
    .await;
}

#[tokio::test]
async fn refresh_before_relogin_fails_when_the_client_reauthorizes() {
    altered("expiry-refresh", "refresh-before-relogin", |run| {
        for e in exchanges(run).iter_mut().filter(|e| e.body_param("grant_type") == Some("refresh_token")) {
            e.request_body["grant_type"] = "authorization_code".into();
        }
    })
    .await;
}

#[tokio::test]
async fn credentials_survive_restart_fails_for_a_client_that_forgets() {
    mutant("restart-keeps-login", "credentials-survive-restart", Fault::ForgetOnRestart).await;
}

#[tokio::test]
async fn status_recognizes_oauth_fails_for_the_founding_bug() {
    mutant("founding-split-origin", "status-recognizes-oauth", Fault::StatusProbesOriginOnly).await;
}

#[tokio::test]
async fn status_tells_truth_fails_for_a_status_that_trusts_a_file() {
    mutant("refresh-rejected", "status-tells-truth", Fault::StatusTrustsFile).await;
}

#[tokio::test]
async fn status_tells_truth_fails_when_the_import_needed_a_new_login() {
    // A client whose import logs in when it must: a status saying "logged in" before an import
    // that had to go back to the browser spoke of a login that did not work.
    altered("happy-path", "status-tells-truth", |run| {
        let login = run.steps.iter().find(|s| !s.visits.is_empty()).unwrap().visits.clone();
        run.steps.iter_mut().rev().find(|s| s.verb == scenario::Verb::Import).unwrap().visits = login;
    })
    .await;
}

#[tokio::test]
async fn tools_imported_fails_when_a_tool_goes_missing() {
    altered("happy-path", "tools-imported", |run| {
        let import = run.steps.iter_mut().find(|s| s.verb == scenario::Verb::Import).unwrap();
        import.reply.tools.as_mut().unwrap().pop();
    })
    .await;
}

#[tokio::test]
async fn authorization_server_binding_fails_when_the_old_client_id_reaches_the_new_server() {
    mutant("as-migrated-after-restart", "authorization-server-binding", Fault::ReuseClientAcrossServers).await;
}

/// Guards the list above: a new check needs a test here.
#[test]
fn every_check_has_a_failing_test_above() {
    let source = include_str!("checks_can_fail.rs");
    for check in check::all() {
        assert!(source.contains(&format!("\"{}\"", check.info.id)), "no test shows {} failing", check.info.id);
    }
}

/// Each fault, in the scenario that exposes it, trips the check written for that mistake (and
/// the same scenario passes that check without the fault).
#[tokio::test]
async fn each_fault_trips_its_own_check() {
    let table = [
        (Fault::OmitResource, "happy-path", "resource-parameter"),
        (Fault::NoPkce, "happy-path", "pkce-s256"),
        (Fault::PlainPkce, "happy-path", "pkce-s256"),
        (Fault::ScopesFromAsMetadata, "scope-from-challenge", "scope-selection"),
        (Fault::IgnoreState, "state-tampered", "state-round-trip"),
        (Fault::IgnoreIss, "iss-wrong", "iss-validated"),
        (Fault::TokenInQuery, "happy-path", "token-in-header-only"),
        (Fault::TokenToAuthorizationServer, "happy-path", "token-audience"),
        (Fault::StatusReadsOtherKey, "happy-path", "status-tells-truth"),
        (Fault::UnboundedStepUp, "step-up-never-granted", "step-up"),
        (Fault::NeverRefresh, "expiry-refresh", "refresh-before-relogin"),
        (Fault::KeepRotatedOutRefreshToken, "refresh-rotation", "refresh-token-rotation"),
        (Fault::UncoordinatedRefresh, "together-calls-across-expiry", "refresh-token-rotation"),
        (Fault::UncoordinatedRefresh, "together-status-import-call", "refresh-token-rotation"),
        (Fault::UncoordinatedRefresh, "together-imports-two-servers", "refresh-token-rotation"),
        (Fault::IgnoreResourceMetadata, "prm-header-only", "prm-discovery"),
        (Fault::WrongAsMetadataOrder, "founding-path-issuer", "as-metadata-discovery"),
        (Fault::SkipOidcFallback, "oidc-only", "as-metadata-discovery"),
        (Fault::SkipIssuerValidation, "issuer-mismatch", "issuer-validated"),
        (Fault::AcceptNonLoopbackRedirect, "redirect-not-loopback", "loopback-redirect"),
        (Fault::ClaimLoginOnDenial, "consent-denied", "denial-handled"),
        (Fault::FirstPageOfToolsOnly, "tools-paginated", "tools-imported"),
        (Fault::GuessTokenEndpoint, "founding-split-origin", "no-guessed-endpoints"),
        (Fault::GuessTokenEndpoint, "unadvertised-endpoints-answer", "no-guessed-endpoints"),
        (Fault::ReuseClientAcrossServers, "as-migrated-after-login", "authorization-server-binding"),
        (Fault::ReuseClientAcrossServers, "as-migrated-token-expired", "authorization-server-binding"),
        (Fault::CompareIssOnlyWhenAdvertised, "iss-not-advertised-wrong", "iss-validated"),
        (Fault::NormalizeIss, "iss-trailing-slash", "iss-validated"),
        (Fault::NormalizeIss, "iss-scheme-case", "iss-validated"),
        (Fault::ShowUnvalidatedError, "iss-wrong-on-denial", "iss-validated"),
        (Fault::OmitApplicationType, "application-type-required", "application-type"),
        (Fault::OmitRefreshGrantType, "refresh-needs-grant-type", "refresh-grant-type"),
        (Fault::AlwaysOfflineAccess, "offline-access-not-supported", "offline-access"),
        (Fault::ChallengedScopesOnly, "step-up-scope-union", "step-up"),
        (Fault::RegisterDespitePreregistered, "preregistered-dcr-available", "registration-priority"),
        (Fault::AuthMethodFromMetadata, "client-credentials-basic", "client-credentials-auth-method"),
        (Fault::AssertionForMcpServer, "client-credentials-jwt", "client-assertion-claims"),
        (Fault::ReuseClientAssertion, "client-credentials-jwt", "client-assertion-fresh"),
        (Fault::UndeclaredExtension, "client-credentials-basic", "extension-declared"),
        (Fault::UndeclaredExtension, "enterprise-managed", "extension-declared"),
        (Fault::IdJagForMcpServer, "enterprise-managed", "token-exchange-request"),
        (Fault::UndeclaredExtension, "dpop-happy-path", "extension-declared"),
        (Fault::UndeclaredExtension, "wif-happy-path", "extension-declared"),
        (Fault::WorkloadGrantWithoutResource, "wif-happy-path", "workload-grant-request"),
        (Fault::RetryRefusedWorkloadGrant, "wif-wrong-audience", "workload-refusal-final"),
        (Fault::BrowserAfterRefusedWorkloadGrant, "wif-expired", "workload-refusal-final"),
        (Fault::ReuseDpopProof, "dpop-happy-path", "dpop-proof-fresh"),
        (Fault::DpopProofWithoutAth, "dpop-happy-path", "dpop-proof-fits-request"),
        (Fault::IgnoreDpopNonce, "dpop-as-nonce", "dpop-nonce-used"),
        (Fault::IgnoreDpopNonce, "dpop-resource-nonce", "dpop-nonce-used"),
        (Fault::BoundTokenAsBearer, "dpop-bearer-refused", "dpop-bound-token-not-bearer"),
        (Fault::MetadataDocumentWithoutPort, "metadata-document-loopback-port", "metadata-document-redirect"),
        (Fault::MetadataDocumentWithoutPort, "metadata-document-exact-port", "metadata-document-redirect"),
    ];
    for (fault, scenario, id) in table {
        mutant(scenario, id, fault).await;
    }
}

/// The same run of the same client is judged differently by two revisions: asking for the
/// challenged scopes alone is what 2025-11-25 asks of a step-up, and falls short of the union
/// 2026-07-28 asks for (SEP-2350).
#[tokio::test]
async fn step_up_for_the_challenged_scopes_alone_passes_2025_11_25_and_fails_2026_07_28() {
    let run = run("step-up-scope-union", vec![Fault::ChallengedScopesOnly]).await;
    let judged =
        |revision| check::evaluate_all(&run, revision).into_iter().find(|c| c.info.id == "step-up").unwrap().outcome;
    assert!(matches!(judged(Revision::V2025_11_25), Outcome::Pass { .. }), "{:?}", judged(Revision::V2025_11_25));
    assert!(matches!(judged(Revision::V2026_07_28), Outcome::Fail { .. }), "{:?}", judged(Revision::V2026_07_28));
}

/// Mutation score: the catalog catches every fault the reference client can be given, with a
/// named check (not only a step expectation); and every check catches at least one fault. The
/// README shows the same table, as `mcp-auth-harness mutants` prints it (after a change,
/// `BLESS=1 cargo test -p mcp-auth-harness --test checks_can_fail` rewrites it).
#[tokio::test]
async fn every_fault_is_caught_by_a_named_check_and_every_check_catches_one() {
    let scenarios = scenario::load_dir(&catalog::default_dir()).unwrap();
    let mut mutants = mutation::analyse(&scenarios, 16).await.unwrap();
    for mutant in &mutants {
        assert!(mutant.caught(), "fault {} went unnoticed by every check", mutant.fault.name());
    }
    let tripped: std::collections::BTreeSet<&str> = mutants.iter().flat_map(|m| m.caught_by.keys().copied()).collect();
    let never: Vec<&str> = check::all().iter().map(|c| c.info.id).filter(|id| !tripped.contains(id)).collect();
    assert!(never.is_empty(), "no mutant trips {never:?}");
    // A mutant whose line differs from the README's is run once more, two scenarios at a time:
    // sixteen runs at once on a loaded machine can push a short-lived token past its expiry and
    // trip a check the mutant has nothing to do with. Only a difference that holds counts.
    let readme = std::fs::read_to_string(common::README).unwrap();
    for mutant in &mut mutants {
        let line = format!("  {}", mutation::table_line(mutant));
        if !readme.lines().any(|l| l == line) {
            *mutant = mutation::analyse_one(&scenarios, mutant.fault, 2).await.unwrap();
        }
    }
    let indented: String = mutation::table(&mutants).lines().map(|line| format!("  {line}\n")).collect();
    let block = format!("  ```console\n  $ mcp-auth-harness mutants\n{indented}  ```\n");
    common::readme_block_is("mutants", &block, "mcp-auth-harness mutants");
}
