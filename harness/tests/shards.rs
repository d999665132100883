//! A matrix split into shards and merged again is the unsharded run: the same runs, in the same
//! order, with the same observations and verdicts (ports, ids and timings aside); and a merge
//! with a part missing or given twice says so.

use std::sync::Arc;

use assert_cmd::Command;
use mcp_auth_harness::client::{ClientAdapter, ReferenceClient};
use mcp_auth_harness::runner::{RunOptions, ScenarioRun};
use mcp_auth_harness::shard::{self, Shard};
use mcp_auth_harness::{catalog, report};

/// A matrix with passing and failing runs: the reference client and one of its mutants.
fn clients() -> Vec<Arc<dyn ClientAdapter>> {
    let faults = vec!["status-probes-origin-only".parse().unwrap()];
    vec![Arc::new(ReferenceClient::new()), Arc::new(ReferenceClient::with_faults(faults))]
}

/// What must be equal between two executions of the same run: the snapshot (everything the
/// client said and kept, and the exchange, with volatile values redacted) and the verdict.
fn stable(runs: &[ScenarioRun]) -> Vec<(String, String, String)> {
    runs.iter()
        .map(|r| (r.scenario.clone(), r.client.clone(), serde_json::to_string(&report::snapshot(r)).unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_written_read_back_and_merged_equal_the_unsharded_run() {
    let scenarios: Vec<_> = catalog::select(&catalog::default_dir(), &[])
        .unwrap()
        .into_iter()
        .filter(|s| !s.timing_sensitive && s.name != "login-abandoned")
        .collect();
    let clients = clients();
    let plans = [RunOptions::default()];
    let matrix = catalog::matrix(&scenarios, &clients, &plans);
    let pairs: Vec<(&str, &str)> = matrix.iter().map(|(s, c)| (*s, c.as_str())).collect();
    let whole: Vec<ScenarioRun> =
        catalog::run_all(&scenarios, &clients, &Default::default(), 8).await.into_iter().map(Result::unwrap).collect();
    let count = 3;
    let mut parts = Vec::new();
    for index in 1..=count {
        let slots = Shard { index, count }.slots(&pairs, None);
        let runs = catalog::run_slots(&scenarios, &clients, &slots, &plans, 8, &|_| {}).await;
        let runs: Vec<ScenarioRun> = runs.into_iter().map(Result::unwrap).collect();
        // Through results.json, as a shard on another machine hands it over.
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), serde_json::to_string(&runs).unwrap()).unwrap();
        parts.push((format!("part {index}"), shard::read_results(file.path()).unwrap()));
    }
    let merged = shard::merge(parts).unwrap();
    assert_eq!(merged.len(), whole.len());
    assert_eq!(
        merged.iter().map(|r| r.slot).collect::<Vec<_>>(),
        whole.iter().map(|r| r.slot).collect::<Vec<_>>(),
        "the unsharded order"
    );
    assert_eq!(stable(&merged), stable(&whole));
    assert_eq!(
        merged.iter().map(ScenarioRun::verdict).collect::<Vec<_>>(),
        whole.iter().map(ScenarioRun::verdict).collect::<Vec<_>>()
    );
    assert!(merged.iter().any(|r| r.failures().next().is_some()), "the matrix has failing checks to carry over");
}

fn harness(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("mcp-auth-harness").unwrap();
    cmd.current_dir(dir).timeout(std::time::Duration::from_secs(60));
    cmd
}

#[test]
fn merge_joins_the_cli_shards_and_refuses_a_missing_or_repeated_part() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog::default_dir().canonicalize().unwrap();
    let scenarios = ["happy-path", "founding-split-origin", "expiry-refresh", "logout", "step-up"];
    for k in 1..=2 {
        let out = harness(dir.path())
            .arg("run")
            .args(scenarios)
            .arg("--catalog")
            .arg(&catalog)
            .args(["--client", "reference", "--client", "reference+status-probes-origin-only"])
            .args(["--shard", &format!("{k}/2"), "--output", &format!("part{k}"), "--format", "json"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("shard {k}/2: 5 of 10 runs")), "{err}");
    }
    let merge = |files: &[&str]| {
        let out = harness(dir.path()).arg("merge").args(files).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = merge(&["part1/results.json", "part2/results.json"]);
    // The mutant fails `founding-split-origin`: the merged run fails as the whole run would.
    assert_eq!(code, Some(1), "{out}{err}");
    let row = |client: &str| -> Vec<String> {
        let line = out.lines().find(|l| l.split_whitespace().next() == Some(client)).unwrap_or_default();
        line.split_whitespace().skip(1).take(3).map(str::to_owned).collect()
    };
    assert_eq!(row("reference"), ["5", "5", "0"], "total, passed, failed:\n{out}");
    assert_eq!(row("reference+status-probes-origin-only"), ["5", "4", "1"], "{out}");
    assert!(out.contains("✗ founding-split-origin") && out.contains("status-recognizes-oauth"), "{out}");

    // A baseline that lists the mutant's failure: the merged run holds, as the whole run would.
    std::fs::write(
        dir.path().join("known.toml"),
        "[clients.\"reference+status-probes-origin-only\"]\nfailures = [\"founding-split-origin\"]\n",
    )
    .unwrap();
    let (code, out, err) =
        merge(&["part1/results.json", "part2/results.json", "--expected-failures", "known.toml", "--output", "all"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(err.contains("expected failure"), "{err}");
    assert!(dir.path().join("all/junit.xml").exists() && dir.path().join("all/report.md").exists());

    let (code, _, err) = merge(&["part1/results.json"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("5 of 10 runs missing") && err.contains("is a shard's results.json missing?"), "{err}");

    let (code, _, err) = merge(&["part1/results.json", "part2/results.json", "part2/results.json"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("is in both part2/results.json and part2/results.json"), "{err}");

    std::fs::write(dir.path().join("broken.json"), "[{\"scenario\": 1}]").unwrap();
    let (code, _, err) = merge(&["broken.json"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("broken.json:1:") && !err.contains("panicked"), "{err}");
}

/// The catalog's libtest-mimic target behaves as `cargo nextest run --partition count:K/N`
/// needs: it lists every trial in nextest's terse form (ignored ones on their own with
/// `--ignored`) and runs exactly one by its full name.
#[test]
fn the_catalog_test_target_lists_and_filters_as_nextest_expects() {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_owned();
    let newest = std::fs::read_dir(&deps)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("scenarios-") && p.extension().is_none()
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok());
    let Some(binary) = newest else {
        eprintln!(
            "skipped: the `scenarios` test binary is not built beside this one (cargo test --workspace builds it)"
        );
        return;
    };
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&binary).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let listed = run(&["--list", "--format", "terse"]);
    let names: Vec<&str> = listed.lines().map(|l| l.strip_suffix(": test").expect("`NAME: test` lines")).collect();
    let catalog = catalog::select(&catalog::default_dir(), &[]).unwrap();
    assert_eq!(names.iter().filter(|n| n.starts_with("scenario::")).count(), catalog.len());
    let ignored = run(&["--list", "--format", "terse", "--ignored"]);
    assert!(ignored.lines().all(|l| listed.contains(l)), "ignored trials are listed too");
    let one = run(&["--exact", "scenario::happy-path"]);
    assert!(one.contains("1 passed") && one.contains("filtered out"), "{one}");
}
