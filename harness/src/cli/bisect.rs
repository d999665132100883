//! `mcp-auth-harness bisect`: which published release of a client fixed (or broke) a scenario.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::bisect::{Plan, Tested};
use crate::catalog;
use crate::client::Published;
use crate::runner::Verdict;

/// The arguments of `bisect`.
#[derive(clap::Args)]
pub struct Args {
    /// A scenario name (from the catalog) or file.
    scenario: String,
    /// A client published on the npm registry: `codex`, or a built-in manifest client that names
    /// its package (`mcp-remote`, `gemini-cli`, `typescript-sdk`).
    #[arg(long)]
    client: String,
    /// A published version on one side of the change (where the scenario passes, say).
    #[arg(long)]
    good: String,
    /// A published version on the other side; it may be older or newer than `--good`.
    #[arg(long)]
    bad: String,
    #[arg(long, default_value_os_t = catalog::default_dir())]
    catalog: PathBuf,
}

/// Exit status of `bisect`.
pub const EXIT_STATUS: &str = "\
Exit status: 0 the verdict flips between the two versions (the first release it flips at is printed),
1 both ends have the same verdict, 2 usage error (unknown client or scenario, unpublished version) or a
version that cannot be installed or run.";

/// Lists the releases, tests them by binary search and prints where the verdict flips.
pub async fn exec(args: Args) -> Result<ExitCode, String> {
    let scenario = catalog::select(&args.catalog, &[args.scenario]).map_err(|e| e.to_string())?.remove(0);
    let releases = Published::named(&args.client)?;
    let plan = Plan::new(&releases, &args.good, &args.bad).map_err(|e| e.to_string())?;
    let (oldest, newest) = (&plan.versions[0], &plan.versions[plan.versions.len() - 1]);
    println!(
        "bisect {} on {} ({}): {} stable releases from {oldest} to {newest}, at most {} runs",
        scenario.name,
        releases.client,
        releases.package,
        plan.versions.len(),
        plan.most_runs()
    );
    let started = Instant::now();
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
    let mut print = |tested: &Tested| println!("{}", line(tested, &plan));
    // Ctrl-C drops the run in flight: its sandbox is removed and its client processes killed.
    let bisection = tokio::select! {
        bisection = plan.run(&scenario, &releases, &mut print) => bisection.map_err(|e| e.to_string())?,
        _ = interrupt.recv() => {
            eprintln!("interrupted: stopping the client and removing its sandbox");
            return Ok(ExitCode::from(130));
        }
    };
    let took = format!("{} runs in {:.0} s", bisection.tested.len(), started.elapsed().as_secs_f64());
    let Some((before, first)) = bisection.neighbours() else {
        println!("no flip: {oldest} and {newest} are both {} ({took})", verdict(bisection.tested[0].verdict()));
        return Ok(ExitCode::from(1));
    };
    println!(
        "first flip: {} is {}; {} before it is {} ({took})",
        first.version,
        verdict(first.verdict()),
        before.version,
        verdict(before.verdict())
    );
    for flipped in bisection.flipped() {
        let (was, is) = if flipped.fixed { ("FAIL", "pass") } else { ("pass", "FAIL") };
        println!("  {:<40} {was} → {is}", flipped.what);
    }
    Ok(ExitCode::SUCCESS)
}

/// `  0.141.0   failed   0.9 s  status-recognizes-oauth, …  (--bad)`
fn line(tested: &Tested, plan: &Plan) -> String {
    let failing = tested.failing();
    let mark = match &tested.version {
        v if *v == plan.good => "  (--good)",
        v if *v == plan.bad => "  (--bad)",
        _ => "",
    };
    format!(
        "  {:<12} {:<7} {:>6.1} s  {}{mark}",
        tested.version.to_string(),
        verdict(tested.verdict()),
        tested.elapsed.as_secs_f64(),
        if failing.is_empty() { "-".to_owned() } else { failing.join(", ") },
    )
}

fn verdict(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
        Verdict::NotApplicable => "n/a",
    }
}
