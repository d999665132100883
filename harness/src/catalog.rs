//! The scenario catalog: where it lives, picking scenarios by name, running many at once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::client::ClientAdapter;
use crate::runner::{self, RunError, RunOptions, ScenarioRun, Slot};
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
    let every: Vec<usize> = (0..scenarios.len() * clients.len()).collect();
    run_slots(scenarios, clients, &every, std::slice::from_ref(options), jobs, &|_| {}).await
}

/// The plan × scenario × client matrix in slot order (plan, then scenario, then client): what a
/// [`Slot`] indexes. Each plan is one way to run (one `--spec` revision each); a run is named by
/// its scenario and its client, with the revision beside the client when there are several plans.
pub fn matrix<'a>(
    scenarios: &'a [Scenario],
    clients: &[Arc<dyn ClientAdapter>],
    plans: &[RunOptions],
) -> Vec<(&'a str, String)> {
    let label = |client: &Arc<dyn ClientAdapter>, plan: &RunOptions| match (plans.len(), plan.revision) {
        (2.., Some(revision)) => format!("{} @{revision}", client.name()),
        _ => client.name(),
    };
    plans
        .iter()
        .flat_map(|plan| {
            scenarios.iter().flat_map(move |s| clients.iter().map(move |c| (s.name.as_str(), label(c, plan))))
        })
        .collect()
}

/// The runs at `slots` of the plan × scenario × client matrix (see [`matrix`]), at most `jobs`
/// at a time, calling `finished` as each ends (in completion order, for progress display);
/// results come back in slot order, each knowing its slot.
pub async fn run_slots(
    scenarios: &[Scenario],
    clients: &[Arc<dyn ClientAdapter>],
    slots: &[usize],
    plans: &[RunOptions],
    jobs: usize,
    finished: &(dyn Fn(&Result<ScenarioRun, RunError>) + Sync),
) -> Vec<Result<ScenarioRun, RunError>> {
    let per_plan = scenarios.len() * clients.len();
    let size = per_plan * plans.len();
    let permits = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut set = JoinSet::new();
    for (at, &slot) in slots.iter().enumerate() {
        let (plan, within) = (slot / per_plan, slot % per_plan);
        let (scenario, client) = (scenarios[within / clients.len()].clone(), clients[within % clients.len()].clone());
        let (options, permits) = (plans[plan].clone(), permits.clone());
        set.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("the semaphore is never closed");
            let result = runner::run(&scenario, client, &options).await;
            (at, result.map(|run| ScenarioRun { slot: Some(Slot { index: slot, of: size }), ..run }))
        });
    }
    let mut results: Vec<Option<Result<ScenarioRun, RunError>>> = slots.iter().map(|_| None).collect();
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
