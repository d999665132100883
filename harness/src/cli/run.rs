//! `run`: scenarios against clients, reported per scenario with a summary table.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;

use crate::baseline::Baseline;
use crate::catalog;
use crate::client::{self, ClientAdapter};
use crate::report;
use crate::revision::Revision;
use crate::runner::{RunError, RunOptions, ScenarioRun, Verdict};
use crate::shard::{Durations, Shard};

#[derive(clap::Args)]
pub struct Args {
    /// Scenario names (from the catalog) or paths to scenario files; none runs the catalog.
    scenarios: Vec<String>,
    /// A client to test; repeat for a matrix: `reference`, `reference+FAULT` (a mutant),
    /// `codex@VERSION` (any published version), `codex` (every pinned version), `mcp-remote`,
    /// `gemini-cli`, `typescript-sdk`, `claude-code`, `opencode`, `mcp-inspector` (each also
    /// `@VERSION`), `fastmcp`, a manifest file (`*.toml`), or `all`.
    #[arg(long = "client", default_value = "reference")]
    clients: Vec<String>,
    /// The catalog directory.
    #[arg(long, default_value_os_t = catalog::default_dir())]
    catalog: PathBuf,
    /// Scenarios run at once.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// Keep each run's sandbox (the client's home) and print where it is.
    #[arg(long)]
    keep: bool,
    /// Seconds a client may wait for the browser during a login.
    #[arg(long, default_value_t = 2.0)]
    user_timeout: f64,
    /// The revision of the MCP specification to judge by (default: the latest, 2026-07-28);
    /// repeat to see the same runs judged by several side by side. A scenario that pins its
    /// revision is judged by that one.
    #[arg(long = "spec", value_name = "REVISION")]
    revisions: Vec<Revision>,
    #[command(flatten)]
    report: Reporting,
    /// Run only part K of N of the scenario × client matrix (e.g. `2/4`), one part per CI
    /// machine; `merge` joins the parts' `results.json` files.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// A previous run's `results.json`: shards are balanced by its recorded durations instead
    /// of by count.
    #[arg(long, value_name = "RESULTS", requires = "shard")]
    durations: Option<PathBuf>,
}

/// How runs are reported and judged: shared by `run` and `merge`.
#[derive(clap::Args)]
pub(super) struct Reporting {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// A baseline of known failures per client (TOML); unlisted failures fail the run, and so
    /// do listed ones that now pass.
    #[arg(long)]
    expected_failures: Option<PathBuf>,
    /// Write the runs' failed scenarios to this file as a baseline for `--expected-failures`
    /// (per client, and per revision where runs were judged by an older one), keeping the
    /// `unstable` lists of the file it replaces. Review it before committing it.
    #[arg(long, value_name = "FILE")]
    write_expected_failures: Option<PathBuf>,
    /// Also write `results.json`, `junit.xml`, `report.md` and, per run,
    /// `conformance/<scenario>@<client>/checks.json` into this directory.
    #[arg(long)]
    output: Option<PathBuf>,
}

impl Reporting {
    /// The baseline, read before anything runs so a bad file fails at once.
    pub(super) fn baseline(&self) -> Result<Option<Baseline>, String> {
        self.expected_failures.as_deref().map(Baseline::load).transpose()
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum Format {
    /// A line per scenario, failures explained, a summary table.
    Human,
    /// Every run with its steps, observations and check verdicts.
    Json,
    /// JUnit XML: a suite per client, a test case per scenario.
    Junit,
    /// Markdown with a mermaid sequence diagram per scenario, failing checks marked on it.
    Markdown,
    /// The official conformance suite's `checks.json` shape, per scenario × client.
    ConformanceJson,
}

pub async fn exec(args: Args) -> super::Outcome {
    let baseline = args.report.baseline()?;
    let scenarios = catalog::select(&args.catalog, &args.scenarios).map_err(|e| e.to_string())?;
    let mut clients: Vec<Arc<dyn ClientAdapter>> = Vec::new();
    for name in &args.clients {
        clients.extend(client::by_name(name)?);
    }
    let user_timeout = Duration::from_secs_f64(args.user_timeout.max(0.1));
    let revisions: Vec<Option<Revision>> =
        if args.revisions.is_empty() { vec![None] } else { args.revisions.iter().copied().map(Some).collect() };
    let plans: Vec<RunOptions> =
        revisions.into_iter().map(|revision| RunOptions { keep: args.keep, user_timeout, revision }).collect();
    // Ctrl-C drops the runs: their sandboxes are removed and client process groups killed
    // as the futures are dropped, before the process exits. The handler is installed
    // before any run starts, so no sandbox exists without it.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
    let matrix = catalog::matrix(&scenarios, &clients, &plans);
    let slots: Vec<usize> = match args.shard {
        None => (0..matrix.len()).collect(),
        Some(shard) => {
            let durations = args.durations.as_deref().map(Durations::load).transpose()?;
            let pairs: Vec<(&str, &str)> = matrix.iter().map(|(s, c)| (*s, c.as_str())).collect();
            let slots = shard.slots(&pairs, durations.as_ref());
            eprintln!("shard {shard}: {} of {} runs", slots.len(), matrix.len());
            slots
        }
    };
    let progress = Progress::new(slots.len(), matches!(args.report.format, Format::Human));
    let tick = |r: &_| progress.tick(r);
    let results = tokio::select! {
        results = catalog::run_slots(&scenarios, &clients, &slots, &plans, args.jobs, &tick) => results,
        _ = interrupt.recv() => {
            eprintln!("interrupted: stopping clients and removing sandboxes");
            return Ok(ExitCode::from(130));
        }
    };
    progress.finish();
    let runs = results.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
    report_runs(&runs, &args.report, baseline.as_ref())
}

/// Prints `runs` in the chosen format, writes every format into `--output`, and judges them
/// (against `--expected-failures` when given): the exit status of `run` and `merge`.
pub(super) fn report_runs(runs: &[ScenarioRun], reporting: &Reporting, baseline: Option<&Baseline>) -> super::Outcome {
    let output = reporting.output.as_deref();
    match reporting.format {
        Format::Human => {
            for run in runs {
                print!("{}", report::scenario_block(run));
            }
            print!("{}", report::summary(runs));
        }
        Format::Json => println!("{}", serde_json::to_string_pretty(runs).map_err(|e| e.to_string())?),
        Format::Junit => println!("{}", report::junit(runs)),
        Format::Markdown => print!("{}", report::markdown(runs)),
        Format::ConformanceJson => {
            let all: Vec<serde_json::Value> = runs
                .iter()
                .map(|r| serde_json::json!({"scenario": r.scenario, "client": r.client, "checks": report::conformance_checks(r)}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?);
        }
    }
    if let Some(dir) = output {
        write_reports(dir, runs)?;
    }
    if let Some(path) = &reporting.write_expected_failures {
        // The file it replaces may be the one `--expected-failures` read: it was read already.
        let previous = path.exists().then(|| Baseline::load(path)).transpose()?;
        let written = Baseline::of_runs(runs, previous.as_ref()).to_toml();
        std::fs::write(path, written).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {} (review it: every entry is a failure accepted from now on)", path.display());
    }
    let failed = match baseline {
        None => runs.iter().any(|r| r.verdict() == Verdict::Failed),
        Some(baseline) => {
            let comparison = baseline.compare(runs);
            // On stderr, so machine-readable formats on stdout stay clean.
            for line in &comparison.expected {
                eprintln!("expected failure   {line}");
            }
            for line in &comparison.unexpected {
                eprintln!("UNEXPECTED failure {line}");
            }
            for line in &comparison.stale {
                eprintln!("STALE baseline     {line} (it passes now: remove it)");
            }
            !comparison.holds()
        }
    };
    Ok(super::status(!failed))
}

/// Every report format into `dir`, for CI artifacts.
fn write_reports(dir: &std::path::Path, runs: &[ScenarioRun]) -> Result<(), String> {
    let write = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{}: {e}", dir.join(name).display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    write("results.json", serde_json::to_string_pretty(runs).map_err(|e| e.to_string())?)?;
    write("junit.xml", report::junit(runs))?;
    write("report.md", report::markdown(runs))?;
    // The official suite's layout: one directory per scenario run with its checks.json.
    for run in runs {
        let sub = dir.join("conformance").join(format!("{}@{}", run.scenario, run.client));
        std::fs::create_dir_all(&sub).map_err(|e| format!("{}: {e}", sub.display()))?;
        let checks = serde_json::to_string_pretty(&report::conformance_checks(run)).map_err(|e| e.to_string())?;
        std::fs::write(sub.join("checks.json"), checks).map_err(|e| format!("{}: {e}", sub.display()))?;
    }
    Ok(())
}

/// Progress while runs finish: a bar on a terminal; plain lines on stderr elsewhere (CI logs).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    total: usize,
    done: std::sync::atomic::AtomicUsize,
}

impl Progress {
    fn new(total: usize, human: bool) -> Self {
        use std::io::IsTerminal as _;
        let terminal = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let bar = (human && terminal).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                    .expect("a valid progress template"),
            );
            bar
        });
        Self { bar, plain: human && !terminal, total, done: Default::default() }
    }

    fn tick(&self, result: &Result<ScenarioRun, RunError>) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let label = match result {
            Ok(run) => format!("{} {} {:?}", run.scenario, run.client, run.verdict()),
            Err(e) => e.to_string(),
        };
        match &self.bar {
            Some(bar) => {
                bar.set_message(label);
                bar.inc(1);
            }
            None if self.plain => eprintln!("[{done}/{}] {label}", self.total),
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
