//! Bisect: the first published release of a client where a scenario's verdict flips, found by
//! binary search over the stable releases between two versions ("which release fixed this?",
//! "which one broke it?").
//!
//! The releases come from a [`Releases`] source — the npm registry for real clients
//! ([`client::Published`]), anything else in a test — which also builds the client at each
//! version. The search assumes the verdict flips once between the two ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use semver::Version;

use crate::client::{self, ClientAdapter, registry};
use crate::runner::{self, RunError, RunOptions, ScenarioRun, Verdict};
use crate::scenario::Scenario;

/// Where a bisect finds a client's versions, and the client at each.
pub trait Releases {
    /// Every published version, as the registry lists them (any order; prereleases included).
    fn published(&self) -> Result<Vec<String>, String>;

    /// The client at `version`, ready to run (installed, if it must be).
    fn client(&self, version: &Version) -> Result<Arc<dyn ClientAdapter>, String>;
}

impl Releases for client::Published {
    fn published(&self) -> Result<Vec<String>, String> {
        self.versions().map_err(|e| e.to_string())
    }

    fn client(&self, version: &Version) -> Result<Arc<dyn ClientAdapter>, String> {
        self.at(&version.to_string())
    }
}

/// A bisect that cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum BisectError {
    #[error("cannot list the published versions: {0}")]
    Registry(String),
    #[error("`{given}` is not a version (MAJOR.MINOR.PATCH): {reason}")]
    NotAVersion { given: String, reason: String },
    #[error(
        "{given} is not a published version; nearest published: {}",
        if .nearest.is_empty() { "none".to_owned() } else { .nearest.join(", ") }
    )]
    NotPublished { given: String, nearest: Vec<String> },
    #[error("--good and --bad are both {0}: give two versions")]
    SameVersion(Version),
    #[error("cannot run version {version}: {reason}")]
    Client { version: Version, reason: String },
    #[error("version {version}: {source}")]
    Run { version: Version, source: Box<RunError> },
}

/// The releases to search: both ends as given, and the stable releases between them, oldest first.
#[derive(Debug, Clone)]
pub struct Plan {
    pub good: Version,
    pub bad: Version,
    pub versions: Vec<Version>,
}

impl Plan {
    /// The stable releases from `good` to `bad` (either may be the newer), both of which must be
    /// published.
    pub fn new(releases: &dyn Releases, good: &str, bad: &str) -> Result<Self, BisectError> {
        let published = releases.published().map_err(BisectError::Registry)?;
        let end = |given: &str| {
            let version = Version::parse(given)
                .map_err(|e| BisectError::NotAVersion { given: given.to_owned(), reason: e.to_string() })?;
            if !published.iter().any(|p| Version::parse(p).is_ok_and(|p| p == version)) {
                let nearest = registry::nearest(&published, given);
                return Err(BisectError::NotPublished { given: given.to_owned(), nearest });
            }
            Ok(version)
        };
        let (good, bad) = (end(good)?, end(bad)?);
        if good == bad {
            return Err(BisectError::SameVersion(good));
        }
        let (oldest, newest) = if good < bad { (&good, &bad) } else { (&bad, &good) };
        let between = registry::stable(&published).into_iter().filter(|v| oldest < v && v < newest);
        let versions = std::iter::once(oldest.clone()).chain(between).chain([newest.clone()]).collect();
        Ok(Self { good, bad, versions })
    }

    /// How many runs the search needs at most: both ends, then halving what lies between.
    pub fn most_runs(&self) -> usize {
        let gaps = self.versions.len() - 1;
        2 + gaps.next_power_of_two().trailing_zeros() as usize
    }

    /// Runs `scenario` at both ends, then halves the range until two neighbouring releases
    /// differ; `tested` hears of each run as it ends.
    pub async fn run(
        &self,
        scenario: &Scenario,
        releases: &dyn Releases,
        tested: &mut dyn FnMut(&Tested),
    ) -> Result<Bisection, BisectError> {
        let mut runs: Vec<Tested> = Vec::new();
        let mut test = async |index: usize, runs: &mut Vec<Tested>| -> Result<Verdict, BisectError> {
            let version = self.versions[index].clone();
            let client =
                releases.client(&version).map_err(|reason| BisectError::Client { version: version.clone(), reason })?;
            let started = Instant::now();
            let run = runner::run(scenario, client, &RunOptions::default())
                .await
                .map_err(|source| BisectError::Run { version: version.clone(), source: Box::new(source) })?;
            let done = Tested { version, run, elapsed: started.elapsed() };
            tested(&done);
            let verdict = done.verdict();
            runs.push(done);
            Ok(verdict)
        };
        let (mut before, mut after) = (0, self.versions.len() - 1);
        let oldest = test(before, &mut runs).await?;
        if test(after, &mut runs).await? == oldest {
            return Ok(Bisection { tested: runs, flip: None });
        }
        while after - before > 1 {
            let middle = before + (after - before) / 2;
            if test(middle, &mut runs).await? == oldest {
                before = middle;
            } else {
                after = middle;
            }
        }
        let at = |index: usize| runs.iter().position(|t| t.version == self.versions[index]).expect("tested");
        let flip = Flip { last_before: at(before), first: at(after) };
        Ok(Bisection { tested: runs, flip: Some(flip) })
    }
}

/// One version's run.
#[derive(Debug)]
pub struct Tested {
    pub version: Version,
    pub run: ScenarioRun,
    /// The run's wall time, the client's install excluded.
    pub elapsed: Duration,
}

impl Tested {
    pub fn verdict(&self) -> Verdict {
        self.run.verdict()
    }

    /// What made the run fail: the ids of failed checks, then unmet step expectations.
    pub fn failing(&self) -> Vec<String> {
        let checks = self.run.failures().map(|c| c.info.id.to_owned());
        let expectations = self
            .run
            .failed_expectations()
            .map(|(step, record, expectation)| format!("step {step} ({}) expects {}", record.verb, expectation.field));
        checks.chain(expectations).collect()
    }
}

/// Where the verdict flips: indexes into [`Bisection::tested`].
#[derive(Debug, Clone, Copy)]
pub struct Flip {
    /// The newest release with the oldest end's verdict.
    pub last_before: usize,
    /// The release after it: the first with the other verdict.
    pub first: usize,
}

/// A finished bisect.
#[derive(Debug)]
pub struct Bisection {
    /// Every run, in the order they ran.
    pub tested: Vec<Tested>,
    /// `None` when both ends have the same verdict.
    pub flip: Option<Flip>,
}

impl Bisection {
    /// The last release before the flip and the first after it.
    pub fn neighbours(&self) -> Option<(&Tested, &Tested)> {
        self.flip.map(|flip| (&self.tested[flip.last_before], &self.tested[flip.first]))
    }

    /// What flipped between the neighbours: failures that went away (`fixed`), then new ones.
    pub fn flipped(&self) -> Vec<Flipped> {
        let Some((before, first)) = self.neighbours() else { return Vec::new() };
        let (was, is) = (before.failing(), first.failing());
        let fixed = was.iter().filter(|f| !is.contains(f)).map(|f| Flipped { what: f.clone(), fixed: true });
        let broke = is.iter().filter(|f| !was.contains(f)).map(|f| Flipped { what: f.clone(), fixed: false });
        fixed.chain(broke).collect()
    }
}

/// A check (or step expectation) that fails on one side of the flip only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flipped {
    pub what: String,
    /// Failing before the flip and passing from it on; else the other way round.
    pub fixed: bool,
}
