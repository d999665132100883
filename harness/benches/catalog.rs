//! `cargo bench -p mcp-auth-harness`: the whole catalog against the reference client, in
//! parallel, on this machine; per-scenario times; how wall time grows with `--jobs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_auth_harness::client::{ClientAdapter, CodexClient, ReferenceClient};
use mcp_auth_harness::runner::{RunOptions, Verdict};
use mcp_auth_harness::{catalog, scenario};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let scenarios = scenario::load_dir(&catalog::default_dir()).unwrap();
    let client: Arc<dyn ClientAdapter> = Arc::new(ReferenceClient::new());
    let options = RunOptions::default();
    println!("catalog: {} scenarios, reference client, 2 worker threads", scenarios.len());
    println!("{:<8} {:>12} {:>12}", "--jobs", "wall median", "of 5 runs");
    let mut per_scenario = Vec::new();
    for jobs in [1, 4, 8, 36] {
        let mut walls = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let runs = runtime.block_on(catalog::run_all(&scenarios, std::slice::from_ref(&client), &options, jobs));
            walls.push(t.elapsed());
            for run in runs {
                let run = run.unwrap();
                assert_eq!(run.verdict(), Verdict::Passed, "{}", run.scenario);
                if jobs == 1 {
                    per_scenario.push((run.scenario.clone(), run.elapsed));
                }
            }
        }
        println!("{jobs:<8} {:>9.0} ms", median(walls).as_secs_f64() * 1e3);
    }
    // Scenarios where the client waits out its login timeout on purpose are reported apart.
    let waits = |name: &str| per_scenario.iter().any(|(n, d)| n == name && *d > options.user_timeout);
    let (waiting, busy): (Vec<_>, Vec<_>) = per_scenario.iter().partition(|(n, _)| waits(n));
    let busy_times: Vec<Duration> = busy.iter().map(|(_, d)| *d).collect();
    let mut names: Vec<&str> = waiting.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    println!(
        "per scenario, sequential: median {:.1} ms, max {:.1} ms (excluding {} that wait out the {:.0} s login timeout: {})",
        median(busy_times.clone()).as_secs_f64() * 1e3,
        busy_times.iter().max().unwrap().as_secs_f64() * 1e3,
        names.len(),
        options.user_timeout.as_secs_f64(),
        names.join(", ")
    );
    catalog_size_scaling(&runtime, &scenarios, &client, &options);
    codex_overhead(&runtime, &scenarios, &options);
}

/// Wall time for generated catalogs of 10, 30 and 100 scenarios (the real catalog cycled, the
/// scenario that waits out its login timeout left out), at `--jobs 8`.
fn catalog_size_scaling(
    runtime: &tokio::runtime::Runtime,
    scenarios: &[scenario::Scenario],
    client: &Arc<dyn ClientAdapter>,
    options: &RunOptions,
) {
    let quick: Vec<&scenario::Scenario> = scenarios.iter().filter(|s| s.name != "login-abandoned").collect();
    for size in [10, 30, 100] {
        let generated: Vec<scenario::Scenario> = quick
            .iter()
            .cycle()
            .take(size)
            .enumerate()
            .map(|(i, s)| scenario::Scenario { name: format!("{}-{i}", s.name), ..(*s).clone() })
            .collect();
        let mut walls = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            runtime.block_on(catalog::run_all(&generated, std::slice::from_ref(client), options, 8));
            walls.push(t.elapsed());
        }
        println!(
            "generated catalog of {size:>3} scenarios, --jobs 8: {:.0} ms wall (median of 5)",
            median(walls).as_secs_f64() * 1e3
        );
    }
}

/// Harness overhead on Codex scenarios: wall time minus the time Codex processes were alive.
fn codex_overhead(runtime: &tokio::runtime::Runtime, scenarios: &[scenario::Scenario], options: &RunOptions) {
    for codex in CodexClient::pinned() {
        if let Err(why) = codex.binary() {
            println!("{}: skipped ({why})", codex.name());
            continue;
        }
        let client: Arc<dyn ClientAdapter> = Arc::new(codex.clone());
        let (mut wall, mut inside) = (Duration::ZERO, Duration::ZERO);
        for name in ["founding-split-origin", "restart-keeps-login", "expiry-refresh"] {
            let scenario = scenarios.iter().find(|s| s.name == name).expect("catalog scenario");
            for _ in 0..3 {
                let run = runtime.block_on(mcp_auth_harness::runner::run(scenario, client.clone(), options)).unwrap();
                wall += run.elapsed;
                inside += run.steps.iter().map(|s| s.process_time).sum::<Duration>();
            }
        }
        let overhead = wall.saturating_sub(inside);
        println!(
            "{}: 3 scenarios x 3 runs: wall {:.0} ms, inside codex {:.0} ms, harness overhead {:.0} ms ({:.1} %)",
            codex.name(),
            wall.as_secs_f64() * 1e3,
            inside.as_secs_f64() * 1e3,
            overhead.as_secs_f64() * 1e3,
            100.0 * overhead.as_secs_f64() / wall.as_secs_f64()
        );
    }
}
