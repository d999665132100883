//! Side by side with `@modelcontextprotocol/conformance` (pinned in the harness's npm project,
//! run on the pinned Node.js 22): its client auth scenarios against the reference client (through
//! the `conformance-client` binary, which speaks its contract), and this catalog's overlapping
//! scenarios against the same reference client, with each side's verdict and wall time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{CONTRACT_SCENARIO_NAMES, ClientAdapter, ReferenceClient, npm};
use crate::runner::{self, RunOptions, Verdict};
use crate::scenario::Scenario;

/// The official suite's verdict on one of its scenarios.
#[derive(Debug, Clone)]
pub struct OfficialResult {
    pub scenario: String,
    pub passed: usize,
    pub failed: usize,
    pub warnings: usize,
    /// The check ids that failed or warned.
    pub flagged: Vec<String>,
    pub wall: Duration,
}

impl OfficialResult {
    /// Their rule: a failure or a warning fails the scenario.
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.warnings == 0
    }
}

/// One overlapping scenario, judged by both suites.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub ours: String,
    pub our_verdict: Verdict,
    pub our_wall: Duration,
    pub theirs: OfficialResult,
}

/// The `conformance-client` binary built beside the running one.
pub fn contract_client() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("the harness binary has no directory")?;
    // Test binaries live one level down, in `deps/`.
    [dir.join("conformance-client"), dir.join("../conformance-client")]
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| format!("no conformance-client binary beside {} (cargo build --bins)", exe.display()))
}

/// Runs one official scenario against `client_command`, in `work`.
pub fn run_official(client_command: &Path, scenario: &str, work: &Path) -> Result<OfficialResult, String> {
    let modules = npm::node_modules()?;
    let out = work.join(scenario.replace('/', "_"));
    let started = Instant::now();
    let output = Command::new(modules.join(".bin/node"))
        .arg(modules.join("@modelcontextprotocol/conformance/dist/index.js"))
        .args(["client", "--command"])
        .arg(client_command)
        .args(["--scenario", scenario, "-o"])
        .arg(&out)
        .current_dir(work)
        .output()
        .map_err(|e| format!("cannot run the official suite: {e}"))?;
    let wall = started.elapsed();
    let checks = find_checks(&out).ok_or_else(|| {
        format!("the official suite wrote no checks.json for {scenario}: {}", String::from_utf8_lossy(&output.stderr))
    })?;
    let checks: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&checks).map_err(|e| format!("{}: {e}", checks.display()))?)
            .map_err(|e| format!("{}: {e}", checks.display()))?;
    let count = |status: &str| checks.iter().filter(|c| c["status"] == status).count();
    let flagged = checks
        .iter()
        .filter(|c| c["status"] == "FAILURE" || c["status"] == "WARNING")
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    Ok(OfficialResult {
        scenario: scenario.to_owned(),
        passed: count("SUCCESS"),
        failed: count("FAILURE"),
        warnings: count("WARNING"),
        flagged,
        wall,
    })
}

fn find_checks(dir: &Path) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "checks.json") {
            return Some(path);
        }
        if path.is_dir()
            && let Some(found) = find_checks(&path)
        {
            return Some(found);
        }
    }
    None
}

/// Every overlapping scenario of `catalog`, judged by both suites (one at a time, so the wall
/// times are comparable).
pub async fn compare(catalog: &[Scenario]) -> Result<Vec<Comparison>, String> {
    let client_command = contract_client()?;
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let reference: Arc<dyn ClientAdapter> = Arc::new(ReferenceClient::new());
    let mut comparisons = Vec::new();
    for (ours, theirs) in CONTRACT_SCENARIO_NAMES {
        let Some(scenario) = catalog.iter().find(|s| s.name == *ours) else { continue };
        // Their runner is a blocking child process; it has the machine to itself meanwhile.
        let (command, dir, name) = (client_command.clone(), work.path().to_owned(), (*theirs).to_owned());
        let theirs = tokio::task::spawn_blocking(move || run_official(&command, &name, &dir))
            .await
            .map_err(|e| e.to_string())??;
        let started = Instant::now();
        let run = runner::run(scenario, reference.clone(), &RunOptions::default()).await.map_err(|e| e.to_string())?;
        comparisons.push(Comparison {
            ours: scenario.name.clone(),
            our_verdict: run.verdict(),
            our_wall: started.elapsed(),
            theirs,
        });
    }
    Ok(comparisons)
}

/// The comparison as a table, with totals.
pub fn table(comparisons: &[Comparison]) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "{:<30} {:<42} {:>16} {:>9} {:>10} {:>9} {:>8}\n",
        "ours", "official", "official checks", "official", "ours", "ours", "speedup"
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for c in comparisons {
        let t = &c.theirs;
        let checks = format!("{}/{}/{}w", t.passed, t.failed, t.warnings);
        let flagged = if t.flagged.is_empty() { String::new() } else { format!("  ({})", t.flagged.join(", ")) };
        let _ = writeln!(
            out,
            "{:<30} {:<42} {:>16} {:>7.0}ms {:>10} {:>7.1}ms {:>7.0}x{flagged}",
            c.ours,
            format!("{} {}", if t.ok() { "✓" } else { "✗" }, t.scenario),
            checks,
            ms(t.wall),
            format!("{:?}", c.our_verdict).to_lowercase(),
            ms(c.our_wall),
            ms(t.wall) / ms(c.our_wall).max(0.001),
        );
    }
    let theirs: Duration = comparisons.iter().map(|c| c.theirs.wall).sum();
    let ours: Duration = comparisons.iter().map(|c| c.our_wall).sum();
    let passed = comparisons.iter().filter(|c| c.theirs.ok()).count();
    let checks: usize = comparisons.iter().map(|c| c.theirs.passed).sum();
    let _ = writeln!(
        out,
        "\n{} overlapping scenarios: official suite {passed}/{} scenarios, {checks} checks passed, {:.0} ms; ours {}/{} passed, {:.0} ms ({:.0}x faster)",
        comparisons.len(),
        comparisons.len(),
        ms(theirs),
        comparisons.iter().filter(|c| c.our_verdict == Verdict::Passed).count(),
        comparisons.len(),
        ms(ours),
        ms(theirs) / ms(ours).max(0.001),
    );
    out
}
