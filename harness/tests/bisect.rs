//! Bisect over a fake registry: a list of versions whose clients are the reference client or its
//! `status-probes-origin-only` mutant (the openai/codex#20009 mechanism) on either side of one
//! release, so the search is tested fast and offline.

use std::sync::{Arc, Mutex};

use mcp_auth_harness::bisect::{BisectError, Plan, Releases};
use mcp_auth_harness::client::{ClientAdapter, Fault, ReferenceClient};
use mcp_auth_harness::runner::Verdict;
use mcp_auth_harness::{catalog, scenario::Scenario};
use semver::Version;

/// Versions on one side of `flips_at` carry the bug: those before it, or it and those after.
struct FakeRegistry {
    published: Vec<&'static str>,
    flips_at: Version,
    bug_before: bool,
    built: Mutex<Vec<Version>>,
}

impl FakeRegistry {
    fn fixed_in(version: &str) -> Self {
        Self::new(version, true)
    }

    fn broken_in(version: &str) -> Self {
        Self::new(version, false)
    }

    fn new(flips_at: &str, bug_before: bool) -> Self {
        let published = vec![
            "1.0.0",
            "1.1.0",
            "1.2.0",
            "1.2.1",
            "1.3.0-beta.1",
            "1.3.0-linux-x64",
            "1.3.0",
            "1.4.0",
            "1.5.0",
            "2.0.0",
            "2.1.0",
        ];
        Self { published, flips_at: Version::parse(flips_at).unwrap(), bug_before, built: Mutex::default() }
    }

    fn built(&self) -> Vec<String> {
        self.built.lock().unwrap().iter().map(Version::to_string).collect()
    }
}

impl Releases for FakeRegistry {
    fn published(&self) -> Result<Vec<String>, String> {
        Ok(self.published.iter().map(|v| (*v).to_owned()).collect())
    }

    fn client(&self, version: &Version) -> Result<Arc<dyn ClientAdapter>, String> {
        self.built.lock().unwrap().push(version.clone());
        let buggy = (*version < self.flips_at) == self.bug_before;
        let faults = if buggy { vec![Fault::StatusProbesOriginOnly] } else { vec![] };
        Ok(Arc::new(ReferenceClient::with_faults(faults)))
    }
}

fn founding() -> Scenario {
    catalog::select(&catalog::default_dir(), &["founding-split-origin".into()]).unwrap().remove(0)
}

#[tokio::test]
async fn bisect_finds_the_release_that_fixed_it_and_the_checks_that_flipped() {
    let registry = FakeRegistry::fixed_in("1.3.0");
    let plan = Plan::new(&registry, "2.1.0", "1.0.0").unwrap();
    let plan_versions: Vec<String> = plan.versions.iter().map(Version::to_string).collect();
    assert_eq!(plan_versions, ["1.0.0", "1.1.0", "1.2.0", "1.2.1", "1.3.0", "1.4.0", "1.5.0", "2.0.0", "2.1.0"]);
    let mut heard = Vec::new();
    let bisection = plan.run(&founding(), &registry, &mut |t| heard.push(t.version.to_string())).await.unwrap();

    let (before, first) = bisection.neighbours().expect("a flip");
    assert_eq!((before.version.to_string(), first.version.to_string()), ("1.2.1".into(), "1.3.0".into()));
    assert_eq!((before.verdict(), first.verdict()), (Verdict::Failed, Verdict::Passed));
    assert!(before.failing().contains(&"status-recognizes-oauth".to_owned()), "{:?}", before.failing());
    let flipped = bisection.flipped();
    assert!(flipped.iter().all(|f| f.fixed), "{flipped:?}");
    assert!(flipped.iter().any(|f| f.what == "status-recognizes-oauth"), "{flipped:?}");
    // Both ends, then halving 8 gaps: 3 more runs, each version once, every run reported.
    assert_eq!(registry.built(), ["1.0.0", "2.1.0", "1.3.0", "1.2.0", "1.2.1"]);
    assert_eq!(heard, registry.built());
    assert!(bisection.tested.len() <= plan.most_runs());
}

#[tokio::test]
async fn a_release_that_broke_it_is_found_with_good_older_than_bad() {
    let registry = FakeRegistry::broken_in("1.5.0");
    let plan = Plan::new(&registry, "1.1.0", "2.0.0").unwrap();
    let bisection = plan.run(&founding(), &registry, &mut |_| {}).await.unwrap();
    let (before, first) = bisection.neighbours().expect("a flip");
    assert_eq!((before.version.to_string(), first.version.to_string()), ("1.4.0".into(), "1.5.0".into()));
    assert_eq!((before.verdict(), first.verdict()), (Verdict::Passed, Verdict::Failed));
    assert!(bisection.flipped().iter().any(|f| !f.fixed && f.what == "status-recognizes-oauth"));
}

#[tokio::test]
async fn the_same_verdict_at_both_ends_is_no_flip_after_two_runs() {
    let registry = FakeRegistry::fixed_in("1.0.0");
    let plan = Plan::new(&registry, "1.0.0", "2.1.0").unwrap();
    let bisection = plan.run(&founding(), &registry, &mut |_| {}).await.unwrap();
    assert!(bisection.neighbours().is_none() && bisection.flipped().is_empty());
    assert_eq!(registry.built(), ["1.0.0", "2.1.0"]);
}

#[test]
fn an_unpublished_end_names_the_nearest_published_versions() {
    let registry = FakeRegistry::fixed_in("1.3.0");
    let error = Plan::new(&registry, "1.2.5", "2.1.0").unwrap_err();
    assert!(
        matches!(&error, BisectError::NotPublished { nearest, .. } if nearest == &["1.1.0", "1.2.0", "1.2.1", "1.3.0", "1.4.0", "1.5.0"]),
        "{error}"
    );
    assert!(error.to_string().contains("nearest published: 1.1.0, 1.2.0"), "{error}");
    assert!(matches!(Plan::new(&registry, "v1", "2.1.0"), Err(BisectError::NotAVersion { .. })));
    assert!(matches!(Plan::new(&registry, "2.1.0", "2.1.0"), Err(BisectError::SameVersion(_))));
    assert!(registry.built().is_empty(), "nothing runs for a bad plan");
}
