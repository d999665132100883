//! The `mcp-auth-harness` command line.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use mock_server::MockServer;
use mock_server::profile::{AsOrigin, MetadataLocation};

use crate::baseline::Baseline;
use crate::catalog;
use crate::check;
use crate::client::{self, ClientAdapter};
use crate::report;
use crate::runner::{RunOptions, Verdict};
use crate::scenario::Scenario;

const EXAMPLES: &str = "\
Examples:
  mcp-auth-harness run                                  # the whole catalog against the reference client
  mcp-auth-harness run founding-split-origin            # one scenario by name
  mcp-auth-harness run ./my-bug.toml --keep             # a scenario file; keep the client's sandbox
  mcp-auth-harness run --client reference --client reference+status-probes-origin-only
                                                        # a matrix: the reference client and a mutant
  mcp-auth-harness explain founding-split-origin        # servers, steps and checks of a scenario
  mcp-auth-harness list                                 # the catalog
  mcp-auth-harness checks                               # every check with its spec clause
  mcp-auth-harness run --client codex                   # every pinned Codex version (installed on first use)
  mcp-auth-harness run --client codex --expected-failures known.toml   # CI: only new failures fail
  mcp-auth-harness run --client all                     # scenario × client matrix: reference, Codex, mcp-remote, Gemini CLI, TS SDK
  mcp-auth-harness run --client ./my-client.toml        # your client, described by a manifest (see README)
  mcp-auth-harness clients ./my-client.toml             # check a manifest without running anything
  mcp-auth-harness official                             # the official conformance suite vs ours, side by side
  mcp-auth-harness install                              # install the pinned real clients now
  mcp-auth-harness mutants                              # which checks catch each mutant of the reference client
  mcp-auth-harness stress --rounds 50                   # 50 catalog runs at once: flakes, leftovers, time

Exit status: 0 all scenarios passed, 1 a check or expectation failed, 2 usage or scenario error.";

/// Tells an MCP client vendor whether their client really handles OAuth-protected MCP servers,
/// end to end.
#[derive(Parser)]
#[command(name = "mcp-auth-harness", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios against clients and report per scenario, with a summary table.
    #[command(after_help = EXAMPLES)]
    Run {
        /// Scenario names (from the catalog) or paths to scenario files; none runs the catalog.
        scenarios: Vec<String>,
        /// A client to test; repeat for a matrix: `reference`, `reference+FAULT` (a mutant),
        /// `codex@VERSION`, `codex` (every pinned version), `mcp-remote`, `gemini-cli`,
        /// `typescript-sdk`, `claude-code`, `opencode`, a manifest file (`*.toml`), or `all`.
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
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// A baseline of known failures per client (TOML); unlisted failures fail the run, and so
        /// do listed ones that now pass.
        #[arg(long)]
        expected_failures: Option<PathBuf>,
        /// Also write `results.json`, `junit.xml`, `report.md` and, per run,
        /// `conformance/<scenario>@<client>/checks.json` into this directory.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// List the catalog's scenarios with their summaries.
    List {
        #[arg(long, default_value_os_t = catalog::default_dir())]
        catalog: PathBuf,
    },
    /// Show a scenario's server layout (with live URLs), its steps and the checks it can trip.
    Explain {
        /// A scenario name or file.
        scenario: String,
        #[arg(long, default_value_os_t = catalog::default_dir())]
        catalog: PathBuf,
    },
    /// List every check with its rule and spec clause.
    Checks,
    /// List the clients the harness can drive and whether each can run here; with manifest
    /// files, check them (file:line:column errors) and show what each verb does.
    Clients {
        /// Client manifest files (TOML) to check.
        manifests: Vec<PathBuf>,
    },
    /// Run the official suite (`@modelcontextprotocol/conformance`, pinned) on its overlapping
    /// client auth scenarios against the reference client, and this catalog's counterparts, side
    /// by side: verdicts, checks and wall time.
    Official {
        #[arg(long, default_value_os_t = catalog::default_dir())]
        catalog: PathBuf,
    },
    /// Install the pinned real clients now (`npm ci` into the cache); `run` does it on first use.
    Install,
    /// Run the catalog again and again, all rounds at once, and report any verdict that differs
    /// from the first round's (a flake), any leftover sandbox, and the time taken.
    Stress {
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
    },
    /// Run the catalog against every mutant of the reference client (one real-world mistake
    /// each) and show which checks caught it.
    Mutants {
        #[arg(long, default_value_os_t = catalog::default_dir())]
        catalog: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
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

/// Parses the command line, runs it, and maps the outcome to the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(execute(cli.command)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

async fn execute(command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Run { scenarios, clients, catalog, jobs, keep, user_timeout, format, expected_failures, output } => {
            let baseline = expected_failures.as_deref().map(Baseline::load).transpose()?;
            let scenarios = catalog::select(&catalog, &scenarios).map_err(|e| e.to_string())?;
            let mut adapters: Vec<Arc<dyn ClientAdapter>> = Vec::new();
            for name in &clients {
                adapters.extend(client::by_name(name)?);
            }
            let clients = adapters;
            let options = RunOptions { keep, user_timeout: Duration::from_secs_f64(user_timeout.max(0.1)) };
            // Ctrl-C drops the runs: their sandboxes are removed and client process groups killed
            // as the futures are dropped, before the process exits. The handler is installed
            // before any run starts, so no sandbox exists without it.
            let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
            let progress = Progress::new(scenarios.len() * clients.len(), matches!(format, Format::Human));
            let tick = |r: &_| progress.tick(r);
            let results = tokio::select! {
                results = catalog::run_all_reporting(&scenarios, &clients, &options, jobs, &tick) => results,
                _ = interrupt.recv() => {
                    eprintln!("interrupted: stopping clients and removing sandboxes");
                    return Ok(ExitCode::from(130));
                }
            };
            progress.finish();
            let mut runs = Vec::new();
            for result in results {
                runs.push(result.map_err(|e| e.to_string())?);
            }
            match format {
                Format::Human => {
                    for run in &runs {
                        print!("{}", report::scenario_block(run));
                    }
                    print!("{}", report::summary(&runs));
                }
                Format::Json => {
                    let json = serde_json::to_string_pretty(&runs).map_err(|e| e.to_string())?;
                    println!("{json}");
                }
                Format::Junit => println!("{}", report::junit(&runs)),
                Format::Markdown => print!("{}", report::markdown(&runs)),
                Format::ConformanceJson => {
                    let all: Vec<serde_json::Value> = runs
                        .iter()
                        .map(|r| serde_json::json!({"scenario": r.scenario, "client": r.client, "checks": report::conformance_checks(r)}))
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?);
                }
            }
            if let Some(dir) = &output {
                write_reports(dir, &runs)?;
            }
            let failed = match baseline {
                None => runs.iter().any(|r| r.verdict() == Verdict::Failed),
                Some(baseline) => {
                    let comparison = baseline.compare(&runs);
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
            Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::List { catalog } => {
            let scenarios = catalog::select(&catalog, &[]).map_err(|e| e.to_string())?;
            for scenario in scenarios {
                println!("{:<44} {}", scenario.name, scenario.summary);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { scenario, catalog } => {
            let scenario = catalog::select(&catalog, &[scenario]).map_err(|e| e.to_string())?.remove(0);
            print!("{}", explain(&scenario).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Stress { rounds, client, catalog, jobs } => {
            let scenarios = catalog::select(&catalog, &[]).map_err(|e| e.to_string())?;
            let clients = client::by_name(&client)?;
            let sandboxes_before = client::Sandbox::existing();
            let repeated: Vec<Scenario> = (0..rounds.max(1)).flat_map(|_| scenarios.iter().cloned()).collect();
            let started = std::time::Instant::now();
            let results = catalog::run_all(&repeated, &clients, &RunOptions::default(), jobs).await;
            let elapsed = started.elapsed();
            let mut first: std::collections::BTreeMap<(String, String), Verdict> = Default::default();
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
            Ok(if flakes + errors + leftover == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Mutants { catalog } => {
            let scenarios = catalog::select(&catalog, &[]).map_err(|e| e.to_string())?;
            let mut uncaught = 0;
            println!("{:<32} caught by (check: scenarios)", "mutant");
            for fault in client::Fault::all() {
                let mutant: Arc<dyn ClientAdapter> = Arc::new(client::ReferenceClient::with_faults(vec![fault]));
                let runs = catalog::run_all(&scenarios, &[mutant], &RunOptions::default(), 16).await;
                let mut caught: std::collections::BTreeMap<&str, usize> = Default::default();
                for run in runs.iter().flatten() {
                    for check in run.failures() {
                        *caught.entry(check.info.id).or_default() += 1;
                    }
                }
                let shown: Vec<String> = caught.iter().map(|(id, n)| format!("{id}: {n}")).collect();
                if shown.is_empty() {
                    uncaught += 1;
                }
                println!(
                    "{:<32} {}",
                    fault.name(),
                    if shown.is_empty() { "NOT CAUGHT".into() } else { shown.join(", ") }
                );
            }
            Ok(if uncaught == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Install => {
            for codex in client::CodexClient::pinned() {
                let binary = codex.binary()?;
                println!("{:<24} {}", codex.name(), binary.display());
            }
            for manifest in client::ManifestClient::built_in() {
                manifest.availability()?;
                println!("{:<24} {}", manifest.name(), manifest.manifest().source.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Clients { manifests } if manifests.is_empty() => {
            println!("{:<24} yes    in-process rmcp client, the positive control", "reference");
            for codex in client::CodexClient::pinned() {
                let ready = codex.binary().map_or_else(|why| format!("no: {why}"), |_| "yes".into());
                println!("{:<24} {ready:<5}  `codex mcp …` and `codex app-server`", codex.name());
            }
            for manifest in client::ManifestClient::built_in() {
                let ready = manifest.availability().map_or_else(|why| format!("no: {why}"), |()| "yes".into());
                println!("{:<24} {ready:<5}  {}", manifest.name(), manifest.manifest().summary);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Clients { manifests } => {
            for path in manifests {
                let manifest = client::Manifest::load(&path).map_err(|e| e.to_string())?;
                println!("{} ({}): {}", manifest.name, path.display(), manifest.summary);
                for verb in crate::scenario::Verb::ALL.into_iter().filter(|v| *v != crate::scenario::Verb::Expire) {
                    println!("  {:<8} {}", verb.name(), manifest.describe(verb));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Official { catalog } => {
            let scenarios = crate::scenario::load_dir(&catalog).map_err(|e| e.to_string())?;
            let comparisons = crate::official_suite::compare(&scenarios).await?;
            print!("{}", crate::official_suite::table(&comparisons));
            let agree = comparisons.iter().all(|c| c.theirs.ok() == (c.our_verdict == Verdict::Passed));
            Ok(if agree { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Checks => {
            for check in check::all() {
                println!(
                    "{:<28} {:?}  {}\n{:<28} spec: {}",
                    check.info.id, check.info.severity, check.info.rule, "", check.info.spec
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Every report format into `dir`, for CI artifacts.
fn write_reports(dir: &std::path::Path, runs: &[crate::runner::ScenarioRun]) -> Result<(), String> {
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

    fn tick(&self, result: &Result<crate::runner::ScenarioRun, crate::runner::RunError>) {
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

/// The knobs whose values in `profile` differ from `preset`, as dotted paths and TOML-ish values.
fn overridden_knobs(preset: &mock_server::Profile, profile: &mock_server::Profile) -> Vec<(String, String)> {
    fn walk(path: &str, preset: &serde_json::Value, profile: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match (preset, profile) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (key, value) in b {
                    let path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    walk(&path, a.get(key).unwrap_or(&serde_json::Value::Null), value, out);
                }
            }
            (a, b) if a != b => out.push((path.to_owned(), b.to_string())),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let as_json = |p: &mock_server::Profile| serde_json::to_value(p).unwrap_or_default();
    walk("", &as_json(preset), &as_json(profile), &mut out);
    out
}

async fn explain(scenario: &Scenario) -> Result<String, String> {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}\n  file: {}", scenario.name, scenario.summary, scenario.source);
    if let Some(bug) = &scenario.bug {
        let _ = writeln!(out, "  reproduces: {bug}");
    }
    if !scenario.spec.is_empty() {
        let _ = writeln!(out, "  spec: {}", scenario.spec.join("; "));
    }
    let _ = writeln!(out, "\nservers (started now to show real URLs; ports change every run):");
    for (key, spec) in &scenario.servers {
        let mock = MockServer::builder().profile(spec.profile.clone()).try_start().await.map_err(|e| e.to_string())?;
        let p = &spec.profile;
        let origin = url::Url::parse(&mock.uri()).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
        let _ = writeln!(out, "  {key}: preset {} — {}", spec.preset, spec.preset.summary());
        let _ = writeln!(out, "    MCP endpoint:       {}", mock.mcp_uris().join(", "));
        let prm = match p.resource_metadata.location {
            MetadataLocation::PathInserted => {
                format!("{origin}/.well-known/oauth-protected-resource{}", p.resource.paths[0])
            }
            MetadataLocation::Root => format!("{origin}/.well-known/oauth-protected-resource"),
            MetadataLocation::Custom => format!("{origin}{}", p.resource_metadata.custom_path),
            MetadataLocation::None => "not published".into(),
        };
        let in_challenge =
            if p.resource_metadata.in_challenge { "named in the 401 challenge" } else { "not in the challenge" };
        let _ = writeln!(out, "    resource metadata:  {prm} ({in_challenge})");
        let where_as = match p.authorization_server.origin {
            AsOrigin::Same => "same origin",
            AsOrigin::Separate => "its own origin",
        };
        let _ = writeln!(out, "    issuer:             {} ({where_as})", mock.issuer());
        let docs: Vec<String> = p.authorization_server.metadata.iter().map(|d| format!("{d:?}")).collect();
        let _ =
            writeln!(out, "    AS metadata:        {}", if docs.is_empty() { "none".into() } else { docs.join(", ") });
        let _ = writeln!(
            out,
            "    registration:       {}; PKCE advertised: {}; iss: {:?}; consent: {:?}",
            if p.authorization_server.dynamic_registration { "dynamic (RFC 7591)" } else { "pre-registered only" },
            p.authorization_server.advertise_pkce,
            p.authorization_server.iss_parameter,
            p.authorization_server.consent,
        );
        let _ = writeln!(
            out,
            "    tokens:             access {} s, refresh {:?}; tools: {}",
            p.tokens.access_token_ttl_secs,
            p.tokens.refresh,
            mock.served_tools().iter().map(|t| t.name.to_string()).collect::<Vec<_>>().join(", ")
        );
        for (knob, value) in overridden_knobs(&spec.preset.profile(), p) {
            let _ = writeln!(out, "    set by the scenario: {knob} = {value}");
        }
    }
    let _ = writeln!(out, "\nsteps:");
    for (index, step) in scenario.steps.iter().enumerate() {
        let mut line = format!("  {}. {} {}", index + 1, step.verb, step.entry);
        if step.verb == crate::scenario::Verb::Login {
            let _ = write!(line, " (browser: {:?})", step.browser);
        }
        if let Some(tool) = &step.tool {
            let _ = write!(line, " tool {tool} {}", serde_json::Value::Object(step.arguments.clone()));
        }
        let expect = serde_json::to_value(&step.expect).unwrap_or_default();
        let set: Vec<String> = expect
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !set.is_empty() {
            let _ = write!(line, "  → expect {}", set.join(", "));
        }
        let _ = writeln!(out, "{line}   (line {})", step.line);
    }
    let _ = writeln!(out, "\nchecks (each decides whether the run gives it something to judge):");
    for check in check::all() {
        let _ = writeln!(out, "  {:<28} {}", check.info.id, check.info.spec);
    }
    Ok(out)
}
