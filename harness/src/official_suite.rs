//! Side by side with `@modelcontextprotocol/conformance` (each [`SuiteVersion`] pinned in the
//! harness's npm project, run on the pinned Node.js 22): its client auth scenarios against the
//! reference client (through the `conformance-client` binary, which speaks its contract), and this
//! catalog's overlapping scenarios against the same reference client, with each side's verdict and
//! wall time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::client::{CONTRACT_SCENARIO_NAMES, ClientAdapter, ReferenceClient, npm};
use crate::runner::{self, RunOptions, Verdict};
use crate::scenario::Scenario;

/// A release of the official suite, pinned in `harness/npm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SuiteVersion {
    /// npm's `latest`: the 2025-11-25 requirements.
    #[value(name = "0.1.16")]
    V0_1_16,
    /// The newest prerelease: adds the 2026-07-28 requirements (`requirements/2026-07-28.yaml`).
    #[value(name = "0.2.0-alpha.12")]
    V0_2_0Alpha12,
}

/// Scenarios of 0.2.0-alpha.12 (the 2026-07-28 requirements) and this catalog's counterparts,
/// beyond the pairs every release shares ([`CONTRACT_SCENARIO_NAMES`]).
const PAIRS_2026: &[(&str, &str)] = &[
    ("happy-path", "auth/iss-supported"),
    ("iss-omitted", "auth/iss-supported-missing"),
    ("iss-wrong", "auth/iss-wrong-issuer"),
    ("issuer-mismatch", "auth/metadata-issuer-mismatch"),
    ("as-migrated-after-login", "auth/authorization-server-migration"),
    ("iss-not-advertised", "auth/iss-not-advertised"),
    ("iss-not-advertised-wrong", "auth/iss-unexpected"),
    ("iss-trailing-slash", "auth/iss-normalized"),
    ("offline-access-supported", "auth/offline-access-scope"),
    ("offline-access-not-supported", "auth/offline-access-not-supported"),
    ("token-endpoint-auth-basic", "auth/token-endpoint-auth-basic"),
    ("token-endpoint-auth-post", "auth/token-endpoint-auth-post"),
    ("token-endpoint-auth-none", "auth/token-endpoint-auth-none"),
    ("scope-from-resource-metadata", "auth/scope-from-scopes-supported"),
];

/// Unscored authorization-extension scenarios of 0.2.0-alpha.12 and this catalog's exact
/// counterparts (the contract tells a client the official name of every extension scenario:
/// `contract::EXTENSION_SCENARIO_NAMES`).
const EXTENSION_PAIRS_2026: &[(&str, &str)] = &[
    ("client-credentials-basic", "auth/client-credentials-basic"),
    ("client-credentials-jwt", "auth/client-credentials-jwt"),
    ("enterprise-managed", "auth/enterprise-managed-authorization"),
    ("dpop-happy-path", "auth/dpop"),
    ("dpop-nonces", "auth/dpop-nonce"),
    ("wif-happy-path", "auth/wif-jwt-bearer"),
];

/// Client auth scenarios of 0.2.0-alpha.12 with no counterpart here, and why; every other one it
/// lists is paired (`tests/official_suite.rs` asks the suite itself, so a new one shows up).
const UNPAIRED_2026: &[(&str, &str)] = &[];

/// 0.1.16's client auth scenarios beyond the pairs every release shares: each is an earlier
/// version of one 0.2.0-alpha.12 has, paired there.
const UNPAIRED_0_1_16: &[(&str, &str)] = &[
    ("auth/scope-from-scopes-supported", "paired under 0.2.0-alpha.12"),
    ("auth/token-endpoint-auth-basic", "paired under 0.2.0-alpha.12"),
    ("auth/token-endpoint-auth-post", "paired under 0.2.0-alpha.12"),
    ("auth/token-endpoint-auth-none", "paired under 0.2.0-alpha.12"),
    ("auth/offline-access-scope", "a draft here, paired under 0.2.0-alpha.12"),
    ("auth/offline-access-not-supported", "a draft here, paired under 0.2.0-alpha.12"),
    ("auth/client-credentials-basic", "an extension, paired under 0.2.0-alpha.12"),
    ("auth/client-credentials-jwt", "an extension, paired under 0.2.0-alpha.12"),
    (
        "auth/cross-app-access-complete-flow",
        "the draft of enterprise-managed authorization; paired under 0.2.0-alpha.12 as auth/enterprise-managed-authorization",
    ),
];

impl SuiteVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0_1_16 => "0.1.16",
            Self::V0_2_0Alpha12 => "0.2.0-alpha.12",
        }
    }

    /// Its directory under the pinned `node_modules` (the prerelease is pinned under an alias).
    fn package(self) -> &'static str {
        match self {
            Self::V0_1_16 => "@modelcontextprotocol/conformance",
            Self::V0_2_0Alpha12 => "conformance-0.2.0-alpha.12",
        }
    }

    /// (this catalog's scenario, the official one) for every pair this release can compare.
    pub fn pairs(self) -> Vec<(&'static str, &'static str)> {
        let newer: &[_] = match self {
            Self::V0_1_16 => &[],
            Self::V0_2_0Alpha12 => &[PAIRS_2026, EXTENSION_PAIRS_2026],
        };
        CONTRACT_SCENARIO_NAMES.iter().chain(newer.concat().iter()).copied().collect()
    }

    /// Its client auth scenarios not compared here, each with the reason.
    pub fn unpaired(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::V0_1_16 => UNPAIRED_0_1_16,
            Self::V0_2_0Alpha12 => UNPAIRED_2026,
        }
    }
}

impl std::fmt::Display for SuiteVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// The official suite's client runner on the pinned Node.js: `client_command` under `selection`
/// (`--scenario NAME` or `--suite NAME`), results into `out`.
fn conformance(
    version: SuiteVersion,
    client_command: &Path,
    selection: &[&str],
    out: &Path,
    work: &Path,
) -> Result<std::process::Output, String> {
    let modules = npm::node_modules()?;
    Command::new(modules.join(".bin/node"))
        .arg(modules.join(version.package()).join("dist/index.js"))
        .args(["client", "--command"])
        .arg(client_command)
        .args(selection)
        .arg("-o")
        .arg(out)
        .current_dir(work)
        .output()
        .map_err(|e| format!("cannot run the official suite: {e}"))
}

/// The client auth scenarios the release lists (`conformance list --client`).
pub fn list_auth_scenarios(version: SuiteVersion) -> Result<Vec<String>, String> {
    let modules = npm::node_modules()?;
    let output = Command::new(modules.join(".bin/node"))
        .arg(modules.join(version.package()).join("dist/index.js"))
        .args(["list", "--client"])
        .output()
        .map_err(|e| format!("cannot run the official suite: {e}"))?;
    if !output.status.success() {
        return Err(format!("conformance list --client: {}", String::from_utf8_lossy(&output.stderr)));
    }
    // Lines such as `  - auth/iss-supported [2026-07-28]`.
    let listed = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- ")?.split_whitespace().next())
        .filter(|name| name.starts_with("auth/"))
        .map(str::to_owned)
        .collect();
    Ok(listed)
}

/// The checks of one `checks.json` the official suite wrote.
fn read_checks(path: &Path) -> Result<Vec<serde_json::Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs one official scenario against `client_command`, in `work`.
pub fn run_official(
    version: SuiteVersion,
    client_command: &Path,
    scenario: &str,
    work: &Path,
) -> Result<OfficialResult, String> {
    let out = work.join(version.as_str()).join(scenario.replace('/', "_"));
    let started = Instant::now();
    let output = conformance(version, client_command, &["--scenario", scenario], &out, work)?;
    let wall = started.elapsed();
    let mut found = Vec::new();
    collect_checks(&out, &mut found);
    let checks = found.pop().ok_or_else(|| {
        format!("the official suite wrote no checks.json for {scenario}: {}", String::from_utf8_lossy(&output.stderr))
    })?;
    let checks = read_checks(&checks)?;
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

/// Starts one official scenario's server (0.1.16) with `command` as its client, which gets the server's
/// URL as its last argument (`mcp-auth-harness capture --out FILE` captures the server); the
/// suite's verdict on such a client is beside the point.
pub fn serve_official(command: &str, scenario: &str, work: &Path) -> Result<std::process::Output, String> {
    // The suite splits the command at spaces itself.
    // The stable release, whose servers `tests/fixtures/captured/` keeps.
    let out = work.join(scenario.replace('/', "_"));
    conformance(SuiteVersion::V0_1_16, Path::new(command), &["--scenario", scenario], &out, work)
}

/// One whole suite's cost: wall time, CPU time and the peak memory of its largest process.
#[derive(Debug, Clone, Copy)]
pub struct SuiteCost {
    pub runs: usize,
    pub passed: usize,
    pub wall: Duration,
    pub cpu: Duration,
    /// Peak resident set of the largest process, in KiB (`ru_maxrss`).
    pub max_rss_kib: u64,
}

/// CPU time and peak RSS from `getrusage` (the crate `libc` is already a dependency; no
/// well-kept crate reports children's usage).
fn usage(who: libc::c_int) -> (Duration, u64) {
    // SAFETY: getrusage only writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut usage) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    (time(usage.ru_utime) + time(usage.ru_stime), usage.ru_maxrss as u64)
}

/// The official suite's whole `--suite auth` in one process (its scenarios run at once) against
/// the reference client through `conformance-client`. Its CPU and memory are its own and its
/// children's: it must be the only child this process waits for meanwhile.
pub fn run_official_suite(version: SuiteVersion, client_command: &Path, work: &Path) -> Result<SuiteCost, String> {
    let out = work.join(version.as_str()).join("suite-auth");
    let (cpu_before, _) = usage(libc::RUSAGE_CHILDREN);
    let started = Instant::now();
    let output = conformance(version, client_command, &["--suite", "auth"], &out, work)?;
    let wall = started.elapsed();
    let (cpu_after, max_rss_kib) = usage(libc::RUSAGE_CHILDREN);
    let mut checks = Vec::new();
    collect_checks(&out, &mut checks);
    if checks.is_empty() {
        return Err(format!("the official suite wrote no checks.json: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let passed = checks
        .iter()
        .filter(|file| {
            let checks = read_checks(file).unwrap_or_default();
            !checks.is_empty() && checks.iter().all(|c| c["status"] != "FAILURE" && c["status"] != "WARNING")
        })
        .count();
    Ok(SuiteCost { runs: checks.len(), passed, wall, cpu: cpu_after.saturating_sub(cpu_before), max_rss_kib })
}

/// This whole catalog against the reference client, in this process (`--jobs 8`, as `run`).
pub async fn run_our_catalog(catalog: &[Scenario]) -> SuiteCost {
    let (cpu_before, _) = usage(libc::RUSAGE_SELF);
    let started = Instant::now();
    let reference: Arc<dyn ClientAdapter> = Arc::new(ReferenceClient::new());
    let runs = crate::catalog::run_all(catalog, &[reference], &RunOptions::default(), 8).await;
    let wall = started.elapsed();
    let (cpu_after, max_rss_kib) = usage(libc::RUSAGE_SELF);
    let passed = runs.iter().flatten().filter(|r| r.verdict() == Verdict::Passed).count();
    SuiteCost { runs: runs.len(), passed, wall, cpu: cpu_after.saturating_sub(cpu_before), max_rss_kib }
}

/// The two whole suites' costs, one line each.
pub fn cost_table(version: SuiteVersion, theirs: &SuiteCost, ours: &SuiteCost) -> String {
    let line = |who: &str, what: &str, c: &SuiteCost| {
        format!(
            "{who:<16} {what:<44} {:>3}/{:<3} passed {:>7.2} s wall {:>6.2} s CPU {:>6.0} MiB\n",
            c.passed,
            c.runs,
            c.wall.as_secs_f64(),
            c.cpu.as_secs_f64(),
            c.max_rss_kib as f64 / 1024.0
        )
    };
    let mut out =
        String::from("\nwhole suites, one run each (CPU: user + system; memory: the largest process's peak)\n");
    out += &line(&format!("official {version}"), "--suite auth, its scenarios at once", theirs);
    out += &line("this harness", "the whole catalog, --jobs 8, in-process", ours);
    out
}

/// Every `checks.json` under `dir` (one per scenario the suite ran).
fn collect_checks(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_checks(&path, found);
        } else if path.file_name().is_some_and(|n| n == "checks.json") {
            found.push(path);
        }
    }
}

/// Every overlapping scenario of `catalog`, judged by both suites (one at a time, so the wall
/// times are comparable).
pub async fn compare(version: SuiteVersion, catalog: &[Scenario]) -> Result<Vec<Comparison>, String> {
    let client_command = contract_client()?;
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let reference: Arc<dyn ClientAdapter> = Arc::new(ReferenceClient::new());
    let mut comparisons = Vec::new();
    for (ours, theirs) in version.pairs() {
        let Some(scenario) = catalog.iter().find(|s| s.name == ours) else { continue };
        // Their runner is a blocking child process; it has the machine to itself meanwhile.
        let (command, dir, name) = (client_command.clone(), work.path().to_owned(), theirs.to_owned());
        let theirs = tokio::task::spawn_blocking(move || run_official(version, &command, &name, &dir))
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
pub fn table(version: SuiteVersion, comparisons: &[Comparison]) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "{:<30} {:<42} {:>16} {:>9} {:>10} {:>9} {:>8}\n",
        "ours",
        format!("official {version}"),
        "official checks",
        "official",
        "ours",
        "ours",
        "speedup"
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
    for (scenario, why) in version.unpaired() {
        let _ = writeln!(out, "not compared: {scenario} ({why})");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::official_name;

    #[test]
    fn an_extension_pair_is_what_the_contract_tells_the_client() {
        for (ours, theirs) in EXTENSION_PAIRS_2026 {
            assert_eq!(official_name(ours), *theirs, "{ours}");
        }
    }
}
