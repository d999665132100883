//! The command line as a user meets it: help, exit codes, and what a bad scenario file says.

use assert_cmd::Command;

fn harness() -> Command {
    let mut cmd = Command::cargo_bin("mcp-auth-harness").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).timeout(std::time::Duration::from_secs(60));
    cmd
}

fn stdout(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn help_teaches_with_examples() {
    let (code, out, _) = stdout(harness().arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("Examples:") && out.contains("mcp-auth-harness run"), "{out}");
    let (code, out, _) = stdout(harness().args(["run", "--help"]));
    assert_eq!(code, 0);
    assert!(out.contains("--client") && out.contains("Exit status"), "{out}");
}

#[test]
fn every_bad_scenario_file_names_file_line_and_field_and_exits_2() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let expected =
            text.lines().next().unwrap().strip_prefix("# expect: ").expect("fixtures start with `# expect: `");
        let (code, out, err) = stdout(harness().arg("run").arg(&path));
        assert_eq!(code, 2, "{}: {err}", path.display());
        assert!(err.contains(expected), "{}: expected `{expected}` in:\n{err}", path.display());
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.is_empty(), "nothing runs for a bad file: {out}");
        seen += 1;
    }
    assert!(seen >= 8);
}

#[test]
fn a_passing_scenario_exits_0_with_a_summary() {
    let (code, out, err) = stdout(harness().args(["run", "happy-path"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("✓ happy-path"), "{out}");
    assert!(out.contains("reference") && out.contains("passed"), "{out}");
}

#[test]
fn a_failing_check_exits_1_and_cites_its_clause() {
    let (code, out, _) =
        stdout(harness().args(["run", "pkce-not-advertised", "--client", "reference+proceed-without-pkce"]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("✗ pkce-support-verified"), "{out}");
    assert!(out.contains("MCP-AUTH-2026-07-28 (security-considerations) §Authorization Code Protection"), "{out}");
    assert!(out.contains("Authorize GET /authorize"), "the evidence shows the request: {out}");
    assert!(out.contains("judged by MCP 2026-07-28"), "the latest revision by default: {out}");
    // Judged by 2025-11-25, the same failure cites that revision's clause.
    let (code, out, _) = stdout(harness().args([
        "run",
        "pkce-not-advertised",
        "--client",
        "reference+proceed-without-pkce",
        "--spec",
        "2025-11-25",
    ]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("MCP-AUTH-2025-11-25 §Authorization Code Protection"), "{out}");
}

/// The same client and scenario pass under one revision and fail under another: scope selection
/// is a rule from 2025-11-25 on, and a scenario about it is not judged by older revisions.
#[test]
fn one_client_judged_by_two_revisions_side_by_side() {
    let (code, out, _) = stdout(harness().args([
        "run",
        "scope-from-challenge",
        "--client",
        "reference+scopes-from-as-metadata",
        "--spec",
        "2025-06-18",
        "--spec",
        "2025-11-25",
    ]));
    assert_eq!(code, 1, "{out}");
    let row = |label: &str| -> Vec<String> {
        let line = out.lines().find(|l| l.starts_with(label)).unwrap_or_default();
        line[label.len()..].split_whitespace().take(3).map(str::to_owned).collect()
    };
    assert_eq!(row("reference+scopes-from-as-metadata @2025-06-18"), ["1", "1", "0"], "{out}");
    assert_eq!(row("reference+scopes-from-as-metadata @2025-11-25"), ["1", "0", "1"], "{out}");
    assert!(out.contains("spec: MCP-AUTH-2025-11-25 §Scope Selection Strategy"), "{out}");
    // A scenario about a 2026-07-28 rule is not judged by 2025-11-25.
    let (code, out, _) = stdout(harness().args(["run", "iss-wrong", "--spec", "2025-11-25"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not judged: the scenario rests on MCP 2026-07-28 or later, not on 2025-11-25"), "{out}");
}

#[test]
fn a_matrix_of_clients_prints_one_column_each() {
    let (code, out, _) = stdout(harness().args([
        "run",
        "founding-split-origin",
        "--client",
        "reference",
        "--client",
        "reference+status-probes-origin-only",
    ]));
    assert_eq!(code, 1);
    let header = out.lines().find(|l| l.starts_with("scenario")).expect("a matrix header");
    assert!(header.contains("reference+status-probes-origin-only"), "{out}");
    let row = out.lines().find(|l| l.starts_with("founding-split-origin ")).expect("a matrix row");
    assert!(row.contains("pass") && row.contains("FAIL"), "{row}");
}

#[test]
fn unknown_scenario_or_client_is_a_usage_error() {
    let (code, _, err) = stdout(harness().args(["run", "no-such-scenario"]));
    assert_eq!(code, 2);
    assert!(err.contains("no-such-scenario.toml"), "{err}");
    let (code, _, err) = stdout(harness().args(["run", "happy-path", "--client", "nobody"]));
    assert_eq!(code, 2);
    assert!(err.contains("unknown client `nobody`"), "{err}");
}

#[test]
fn explain_shows_layout_steps_and_checks() {
    let (code, out, _) = stdout(harness().args(["explain", "founding-path-issuer"]));
    assert_eq!(code, 0);
    for needle in ["MCP endpoint:", "/tenant1 (its own origin)", "steps:", "4. list main", "prm-discovery"] {
        assert!(out.contains(needle), "`{needle}` missing from:\n{out}");
    }
}

#[test]
fn explain_shows_the_challenge_and_every_document_as_served() {
    let (code, out, _) = stdout(harness().args(["explain", "founding-path-issuer"]));
    assert_eq!(code, 0);
    for needle in [
        "401 challenge:      POST http://127.0.0.1:",
        "without a token → 401 Bearer resource_metadata=\"http://127.0.0.1:",
        "resource metadata:  http://127.0.0.1:",
        "AS metadata:        http://127.0.0.1:",
        "/.well-known/oauth-authorization-server/tenant1\n",
        "/.well-known/openid-configuration/tenant1\n",
        "\"authorization_servers\": [",
        "\"token_endpoint\": \"http://127.0.0.1:",
        "endpoints (as the AS metadata names them):",
        "jwks_uri",
        "scopes:             required none; write_note needs mcp:write",
        "consent: page; iss: correct",
    ] {
        assert!(out.contains(needle), "`{needle}` missing from:\n{out}");
    }
    assert!(!out.contains("not served"), "{out}");
}

#[test]
fn explain_shows_the_fallback_endpoints_of_a_server_without_metadata() {
    let (code, out, _) = stdout(harness().args(["explain", "backcompat-no-metadata"]));
    assert_eq!(code, 0);
    for needle in [
        "resource metadata:  not served",
        "AS metadata:        not served",
        "endpoints (no AS metadata: the 2025-03-26 defaults on the MCP origin):",
        "/register",
    ] {
        assert!(out.contains(needle), "`{needle}` missing from:\n{out}");
    }
}

#[test]
fn explain_shows_endpoint_origins_unadvertised_answers_and_changes_with_placeholders() {
    let (code, out, _) = stdout(harness().args(["explain", "endpoints-on-three-origins"]));
    assert_eq!(code, 0);
    assert!(out.contains("endpoint origins:   authorize on separate, token on resource, registration on separate; metadata also at the origin root"), "{out}");
    let (code, out, _) = stdout(harness().args(["explain", "unadvertised-endpoints-answer"]));
    assert_eq!(code, 0);
    assert!(out.contains("/token   (served, but no metadata names it)"), "{out}");
    let (code, out, _) = stdout(harness().args(["explain", "as-migrated-after-login"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("change main: profile resource_metadata.authorization_servers = [\"{servers.new_as.issuer}\"]"),
        "{out}"
    );
    assert!(out.contains("new_as: preset split-origin"), "{out}");
}

#[test]
fn explain_shows_the_knobs_a_scenario_sets() {
    let (code, out, _) = stdout(harness().args(["explain", "tools-paginated"]));
    assert_eq!(code, 0);
    assert!(out.contains("set by the scenario: resource.tools_page_size = 1"), "{out}");
}

/// The README's first command is `cargo run -p mcp-auth-harness -- run`; with two binaries in the
/// package, cargo refuses to pick one unless `default-run` names it.
#[test]
fn cargo_run_picks_the_harness_binary() {
    let manifest: toml::Table =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap().parse().unwrap();
    assert_eq!(manifest["package"]["default-run"].as_str(), Some("mcp-auth-harness"));
}

#[test]
fn list_names_every_catalog_scenario() {
    let (code, out, _) = stdout(harness().arg("list"));
    assert_eq!(code, 0);
    assert!(out.lines().count() >= 30, "{out}");
}

#[test]
fn json_output_is_machine_readable() {
    let (code, out, _) = stdout(harness().args(["run", "happy-path", "--format", "json"]));
    assert_eq!(code, 0);
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(runs[0]["scenario"], "happy-path");
    assert!(runs[0]["checks"].as_array().unwrap().iter().any(|c| c["id"] == "pkce-s256" && c["verdict"] == "pass"));
}

#[test]
fn junit_output_has_a_case_per_scenario_and_explains_failures() {
    let (code, out, _) = stdout(harness().args([
        "run",
        "happy-path",
        "pkce-not-advertised",
        "--client",
        "reference+proceed-without-pkce",
        "--format",
        "junit",
    ]));
    assert_eq!(code, 1);
    assert!(out.starts_with("<?xml"), "{out}");
    assert!(out.contains(r#"<testsuite name="reference+proceed-without-pkce" tests="2""#), "{out}");
    assert!(out.contains("failed checks: pkce-support-verified"), "{out}");
}

#[test]
fn expected_failures_pass_the_run_and_stale_entries_fail_it() {
    let mut cmd = harness();
    cmd.args(["run", "pkce-not-advertised", "--client", "reference+proceed-without-pkce"]);
    cmd.args(["--expected-failures", "tests/fixtures/baseline.toml"]);
    let (code, _, err) = stdout(&mut cmd);
    // The check is listed, but the failed step expectations are not.
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("expected failure   reference+proceed-without-pkce: pkce-not-advertised:pkce-support-verified"),
        "{err}"
    );
    assert!(
        err.contains("UNEXPECTED failure reference+proceed-without-pkce: pkce-not-advertised (step expectations)"),
        "{err}"
    );

    let mut cmd = harness();
    cmd.args(["run", "pkce-not-advertised", "--client", "reference"]);
    let baseline = "[clients.reference]\nfailures = [\"pkce-not-advertised\"]\n";
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), baseline).unwrap();
    cmd.arg("--expected-failures").arg(file.path());
    let (code, _, err) = stdout(&mut cmd);
    assert_eq!(code, 1, "a listed failure that passes is stale: {err}");
    assert!(err.contains("STALE baseline     reference: pkce-not-advertised"), "{err}");

    // An unstable scenario is held against the run neither failing nor passing.
    for client in ["reference", "reference+proceed-without-pkce"] {
        let mut cmd = harness();
        cmd.args(["run", "pkce-not-advertised", "--client", client]);
        let baseline = format!("[clients.\"{client}\"]\nunstable = [\"pkce-not-advertised\"]\n");
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), baseline).unwrap();
        cmd.arg("--expected-failures").arg(file.path());
        let (code, _, err) = stdout(&mut cmd);
        assert_eq!(code, 0, "{client}: {err}");
    }
}

/// `--write-expected-failures` writes the baseline the runs pass against, with a revision's own
/// lists where its runs differ: `pkce-not-advertised` fails the mutant under 2026-07-28 and is not
/// judged under 2025-06-18 (refusing such an AS is a rule from 2025-11-25 on), and the pinned
/// `backcompat-2025-03-26` fails `omit-resource` under 2025-03-26 only.
#[test]
fn a_written_baseline_holds_the_runs_that_wrote_it_revision_by_revision() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known.toml");
    let run = |extra: &[&std::ffi::OsStr]| {
        let mut cmd = harness();
        cmd.args(["run", "pkce-not-advertised", "backcompat-2025-03-26"]);
        cmd.args(["--client", "reference+proceed-without-pkce", "--client", "reference+omit-resource"]);
        cmd.args(["--spec", "2025-06-18", "--spec", "2026-07-28"]).args(extra);
        stdout(&mut cmd)
    };
    let (code, _, err) = run(&["--write-expected-failures".as_ref(), file.as_os_str()]);
    assert_eq!(code, 1, "the runs fail without a baseline: {err}");
    let written = std::fs::read_to_string(&file).unwrap();
    for table in [
        "[clients.\"reference+proceed-without-pkce\"]\nfailures = [\"pkce-not-advertised\"]\n",
        "[clients.\"reference+proceed-without-pkce\".revisions.2025-06-18]\nfailures = []\n",
        "[clients.\"reference+omit-resource\"]\nfailures = []\n",
        "[clients.\"reference+omit-resource\".revisions.2025-03-26]\nfailures = [\"backcompat-2025-03-26\"]\n",
    ] {
        assert!(written.contains(table), "{table} missing from:\n{written}");
    }
    let (code, _, err) = run(&["--expected-failures".as_ref(), file.as_os_str()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("expected failure   reference+omit-resource@2025-03-26: backcompat-2025-03-26"), "{err}");

    // Without the 2025-06-18 lists, the newest ones judge those runs too: the entry is stale there.
    let (top, _) = written.split_once("[clients.\"reference+proceed-without-pkce\".revisions").unwrap();
    std::fs::write(&file, top).unwrap();
    let (code, _, err) = run(&["--expected-failures".as_ref(), file.as_os_str()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("STALE baseline     reference+proceed-without-pkce: pkce-not-advertised"), "{err}");

    // A misspelt key is named where it stands.
    std::fs::write(&file, "[clients.x.revisions.2025-11-25]\nfailurez = []\n").unwrap();
    let (code, _, err) = run(&["--expected-failures".as_ref(), file.as_os_str()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 2, column 1") && err.contains("unknown field `failurez`"), "{err}");
}

#[test]
fn markdown_report_draws_the_exchange_and_marks_what_failed() {
    let (code, out, _) = stdout(harness().args([
        "run",
        "pkce-not-advertised",
        "--client",
        "reference+proceed-without-pkce",
        "--format",
        "markdown",
    ]));
    assert_eq!(code, 1);
    assert!(out.contains("```mermaid\nsequenceDiagram"), "{out}");
    assert!(out.contains("B->>AS_main: GET /authorize"), "{out}");
    assert!(out.contains("Note right of AS_main: FAILED pkce-support-verified"), "{out}");
}

#[test]
fn reports_name_the_protocol_version_each_server_spoke() {
    // A 2025-03-26 server answers the reference client's `initialize` with the one version it speaks.
    let (code, out, err) = stdout(harness().args(["run", "backcompat-2025-03-26", "--format", "markdown"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("MCP protocol spoken: `main` 2025-03-26\n"), "{out}");
    // The reference client speaks the protocol of the revision judging the run.
    let (code, out, err) = stdout(harness().args(["run", "happy-path", "--format", "json"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"protocol_version\": \"2026-07-28\""), "{out}");
    let (code, out, err) = stdout(harness().args(["run", "happy-path", "--spec", "2025-11-25", "--format", "json"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"protocol_version\": \"2025-11-25\""), "{out}");
}

#[test]
fn ctrl_c_stops_the_run_and_leaves_no_sandbox() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("mcp-auth-harness");
    let child = std::process::Command::new(bin)
        .args(["run", "login-abandoned", "--user-timeout", "20"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run has made its sandbox, then interrupt it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_dir(tmp.path()).unwrap().next().is_none() {
        assert!(std::time::Instant::now() < deadline, "no sandbox appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: sending SIGINT to a child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn the_real_home_is_never_written() {
    use std::os::unix::fs::PermissionsExt as _;
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permission bits, so the proof is that the directory stays empty.
    let (code, out, err) =
        stdout(harness().args(["run", "happy-path", "restart-keeps-login"]).env("HOME", home.path()));
    assert_eq!(code, 0, "{out}{err}");
    let written: Vec<_> = std::fs::read_dir(home.path()).unwrap().collect();
    assert!(written.is_empty(), "the harness wrote into HOME: {written:?}");
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_short_stress_run_has_no_flakes_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = stdout(harness().args(["stress", "--rounds", "3"]).env("TMPDIR", tmp.path()));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 flakes, 0 errors, 0 sandboxes left"), "{out}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn output_dir_gets_every_report_format() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = stdout(harness().args(["run", "happy-path", "--output"]).arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    for (file, needle) in [
        ("results.json", "happy-path"),
        ("junit.xml", "happy-path"),
        ("report.md", "happy-path"),
        ("conformance/happy-path@reference/checks.json", "\"pkce-s256\""),
    ] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(text.contains(needle), "{file}");
    }
}

#[test]
fn conformance_json_uses_the_official_check_shape() {
    let (code, out, _) = stdout(harness().args(["run", "happy-path", "--format", "conformance-json"]));
    assert_eq!(code, 0);
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    let checks = runs[0]["checks"].as_array().unwrap();
    let pkce = checks.iter().find(|c| c["id"] == "pkce-s256").unwrap();
    assert_eq!(pkce["status"], "SUCCESS");
    let references = pkce["specReferences"].as_array().unwrap();
    assert!(references.iter().any(|r| r["id"].as_str().unwrap().starts_with("RFC7636")), "{references:?}");
    assert!(checks.iter().any(|c| c["status"] == "SKIPPED"));
}

#[test]
fn bisect_usage_errors_exit_2_before_anything_runs() {
    let (code, out, err) = stdout(harness().args([
        "bisect",
        "founding-split-origin",
        "--client",
        "reference",
        "--good",
        "1.0.0",
        "--bad",
        "2.0.0",
    ]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("`reference` is not a client published on the npm registry (those are: codex, mcp-remote"),
        "{err}"
    );
    let (code, _, err) =
        stdout(harness().args(["bisect", "founding-split-origin", "--client", "codex", "--good", "0.169.0"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--bad"), "{err}");
    let (code, out, _) = stdout(harness().args(["bisect", "--help"]));
    assert_eq!(code, 0);
    assert!(out.contains("--good") && out.contains("Exit status: 0 the verdict flips"), "{out}");
}

/// Whether `npm view` answers here; the reason when it does not.
fn npm_registry_reachable() -> Result<(), String> {
    let out = Command::new("npm")
        .args(["view", "@openai/codex@0.169.0", "version"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if !out.status.success() {
        return Err(format!("`npm view` failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(())
}

/// Needs the npm registry (reachable in CI); without it the test says so on the terminal and
/// passes, as libtest cannot mark a test skipped at run time.
#[test]
fn an_unpublished_version_names_the_nearest_published_ones() {
    if let Err(why) = npm_registry_reachable() {
        use std::io::Write as _;
        // Written to the stream itself, past libtest's capture, so the skip shows.
        let _ = writeln!(std::io::stderr(), "SKIPPED an_unpublished_version_names_the_nearest_published_ones: {why}");
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = harness();
    cmd.env("MCP_AUTH_HARNESS_CACHE", cache.path()).args(["run", "happy-path", "--client", "codex@0.150.99"]);
    let (code, out, err) = stdout(&mut cmd);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("@openai/codex@0.150.99 is not published on the npm registry; nearest published: ")
            && err.contains("0.150.0, 0.150.1, 0.151.0"),
        "{err}"
    );
    assert!(!err.contains("linux-x64"), "platform packages are not versions of the CLI: {err}");
    let (code, _, err) = stdout(harness().env("MCP_AUTH_HARNESS_CACHE", cache.path()).args([
        "run",
        "happy-path",
        "--client",
        "mcp-remote@0.0.404",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("mcp-remote@0.0.404 is not published on the npm registry; nearest published: "), "{err}");
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0, "nothing is installed for a missing version");
}

#[test]
fn markdown_diagram_and_json_results_show_server_changes() {
    let (code, out, err) = stdout(harness().args(["run", "server-down-then-up", "--format", "markdown"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Note over RS_main,AS_main: change stop"), "{out}");
    assert!(out.contains("Note over RS_main,AS_main: change resume"), "{out}");
    let (code, out, err) = stdout(harness().args(["run", "server-down-then-up", "--format", "json"]));
    assert_eq!(code, 0, "{err}");
    let runs: serde_json::Value = serde_json::from_str(&out).unwrap();
    let events = &runs[0]["servers"]["main"]["events"];
    let what: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["what"].as_str().unwrap()).collect();
    assert_eq!(what, ["stop", "resume"]);
}

#[test]
fn a_reader_that_goes_away_ends_the_harness_quietly() {
    use std::process::Stdio;
    // `mcp-auth-harness checks | head -0`: the reader is gone before the first line is written.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-auth-harness"))
        .arg("checks")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(141), "the status of a command SIGPIPE ended: {err}");
}
