//! `stress`: the catalog again and again, all rounds at once: flakes, leftovers, time.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::catalog;
use crate::client;
use crate::runner::{RunOptions, Verdict};
use crate::scenario::Scenario;

#[derive(clap::Args)]
pub struct Args {
    /// Catalog runs, all in flight together.
    #[arg(long, default_value_t = 50)]
    rounds: usize,
    /// The client to run.
    #[arg(long, default_value = "reference")]
    client: String,
    #[arg(long, default_value_os_t = catalog::default_dir())]
    catalog: PathBuf,
    /// Runs in flight at once across all rounds.
    #[arg(long, default_value_t = 32)]
    jobs: usize,
}

pub async fn exec(args: Args) -> super::Outcome {
    let scenarios = catalog::select(&args.catalog, &[]).map_err(|e| e.to_string())?;
    let clients = client::by_name(&args.client)?;
    let sandboxes_before = client::Sandbox::existing();
    let rounds = args.rounds.max(1);
    let repeated: Vec<Scenario> = (0..rounds).flat_map(|_| scenarios.iter().cloned()).collect();
    let started = std::time::Instant::now();
    let results = catalog::run_all(&repeated, &clients, &RunOptions::default(), args.jobs).await;
    let elapsed = started.elapsed();
    let mut first: BTreeMap<(String, String), Verdict> = BTreeMap::new();
    let (mut flakes, mut errors) = (0, 0);
    for result in &results {
        match result {
            Ok(run) => {
                let key = (run.scenario.clone(), run.client.clone());
                let verdict = run.verdict();
                if *first.entry(key.clone()).or_insert(verdict) != verdict {
                    flakes += 1;
                    println!("FLAKE {} {}: {:?} after {:?}", key.0, key.1, verdict, first[&key]);
                }
            }
            Err(e) => {
                errors += 1;
                println!("ERROR {e}");
            }
        }
    }
    let leftover = client::Sandbox::existing().difference(&sandboxes_before).count();
    println!(
        "{} runs ({rounds} rounds × {} scenarios × {} client) in {:.1} s: {flakes} flakes, {errors} errors, {leftover} sandboxes left",
        results.len(),
        scenarios.len(),
        clients.len(),
        elapsed.as_secs_f64()
    );
    Ok(super::status(flakes + errors + leftover == 0))
}
