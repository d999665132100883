//! The scenario catalog: where it lives, picking scenarios by name, running many at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::client::ClientAdapter;
use crate::runner::{self, RunError, RunOptions, ScenarioRun};
use crate::scenario::{self, Scenario, ScenarioError};

/// The catalog shipped with the harness: `./scenarios` when run from a checkout's root, else the
/// directory next to this crate.
pub fn default_dir() -> PathBuf {
    let local = PathBuf::from("scenarios");
    if local.is_dir() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Scenarios by name or path; none given means the whole catalog in `dir`.
pub fn select(dir: &Path, wanted: &[String]) -> Result<Vec<Scenario>, ScenarioError> {
    if wanted.is_empty() {
        return scenario::load_dir(dir);
    }
    wanted
        .iter()
        .map(|w| {
            let as_path = Path::new(w);
            if as_path.extension().is_some_and(|e| e == "toml") || as_path.components().count() > 1 {
                scenario::load_file(as_path)
            } else {
                scenario::load_file(&dir.join(format!("{w}.toml")))
            }
        })
        .collect()
}

/// Runs every scenario against every client, at most `jobs` at a time; results come back in
/// scenario order, then client order.
pub async fn run_all(
    scenarios: &[Scenario],
    clients: &[Arc<dyn ClientAdapter>],
    options: &RunOptions,
    jobs: usize,
) -> Vec<Result<ScenarioRun, RunError>> {
    run_all_reporting(scenarios, clients, options, jobs, &|_| {}).await
}

/// [`run_all`], calling `finished` as each run ends (in completion order), for progress display.
pub async fn run_all_reporting(
    scenarios: &[Scenario],
    clients: &[Arc<dyn ClientAdapter>],
    options: &RunOptions,
    jobs: usize,
    finished: &(dyn Fn(&Result<ScenarioRun, RunError>) + Sync),
) -> Vec<Result<ScenarioRun, RunError>> {
    let permits = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut set = JoinSet::new();
    let mut index = 0;
    for scenario in scenarios {
        for client in clients {
            let (scenario, client, options, permits) =
                (scenario.clone(), client.clone(), options.clone(), permits.clone());
            let at = index;
            set.spawn(async move {
                let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
                (at, runner::run(&scenario, client, &options).await)
            });
            index += 1;
        }
    }
    let mut results: Vec<Option<Result<ScenarioRun, RunError>>> = (0..index).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((at, result)) => {
                finished(&result);
                results[at] = Some(result);
            }
            // A panicking run is a harness bug; re-raise it rather than hide it.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    results.into_iter().map(|r| r.expect("every run reports")).collect()
}
