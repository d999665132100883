//! The scenario file a capture writes: a comment block (where it came from, what could not be
//! reproduced and why, and every fact seen, between markers `capture --diff` reads back), one
//! server whose knobs reproduce the layout, and the standard steps with the spec's expectations.

use std::fmt::Write as _;

use mock_server::Profile;

use super::record::Capture;
use super::reproduce::{Login, Reproduction};

/// Opens the block of facts in a scenario file.
pub const FACTS_BEGIN: &str = "# capture:begin";
/// Closes it.
pub const FACTS_END: &str = "# capture:end";

/// The facts a scenario file keeps, if it has any.
pub fn facts_in(text: &str) -> Option<Vec<String>> {
    let start = text.lines().position(|l| l.trim_end() == FACTS_BEGIN)?;
    let lines: Vec<&str> = text.lines().skip(start + 1).take_while(|l| l.trim_end() != FACTS_END).collect();
    Some(lines.iter().map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')).to_owned()).collect())
}

/// The scenario text. `unreproduced` lists the facts the mock serves differently (`-` the server,
/// `+` the mock).
pub fn scenario(capture: &Capture, reproduction: &Reproduction, unreproduced: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Captured by `mcp-auth-harness capture` from {}", capture.source);
    let _ =
        writeln!(out, "# without credentials: no token was sent; ports, dates and registration secrets are left out.");
    let _ =
        writeln!(out, "# Origins are named by role: {{mcp}} is the URL above, {{issuer}} the authorization server…");
    if reproduction.notes.is_empty() && unreproduced.is_empty() {
        let _ = writeln!(out, "#\n# Reproduced: the mock below answers every request below as the server did.");
    } else {
        let _ = writeln!(out, "#\n# Not reproduced:");
        for note in &reproduction.notes {
            let _ = writeln!(out, "#   - {note}");
        }
        if !unreproduced.is_empty() {
            let _ = writeln!(out, "#   Where the mock answers otherwise (- the server, + the mock):");
            for line in unreproduced {
                let _ = writeln!(out, "#     {line}");
            }
        }
    }
    let _ = writeln!(out, "#\n# What the server answered (`mcp-auth-harness capture --diff URL FILE` compares again):");
    let _ = writeln!(out, "{FACTS_BEGIN}");
    for fact in capture.facts() {
        let _ = writeln!(out, "# {fact}");
    }
    let _ = writeln!(out, "{FACTS_END}\n");

    // The source may spell its port `<port>`, which is no URL.
    let host = capture.source.split("://").nth(1).unwrap_or_default().split(['/', ':']).next().unwrap_or_default();
    let verdict = match &reproduction.login {
        Login::Succeeds => "the reference flow must work".to_owned(),
        Login::Fails { .. } => "a client must refuse to log in".to_owned(),
    };
    let _ = writeln!(out, "summary = {}", quoted(&format!("Captured from {host}: {verdict}")));
    let spec: Vec<String> = reproduction.spec.iter().map(|s| quoted(s)).collect();
    let _ = writeln!(out, "spec = [{}]", spec.join(", "));
    if let Some(revision) = reproduction.revision {
        let _ = writeln!(
            out,
            "revision = \"{revision}\"                   # no protected resource metadata: a 2025-03-26 server"
        );
    }
    if let Login::Fails { since: Some(since), .. } = &reproduction.login {
        let _ = writeln!(
            out,
            "since = \"{since}\"                      # the oldest revision whose text requires the refusal"
        );
    }
    let _ = writeln!(out, "\n[servers.main]\npreset = \"happy-path\"");
    let knobs = overrides(&reproduction.profile);
    if !knobs.is_empty() {
        let mut table = toml::Table::new();
        table.insert(
            "servers".into(),
            toml::Value::Table(toml::Table::from_iter([(
                "main".to_owned(),
                toml::Value::Table(toml::Table::from_iter([("profile".to_owned(), toml::Value::Table(knobs))])),
            )])),
        );
        let text = toml::to_string(&table).expect("knobs always serialize");
        // `[servers.main]` was written above with its preset.
        let _ = write!(out, "\n{}", text.trim_start_matches("[servers.main]\n").trim_start());
    }
    match &reproduction.login {
        Login::Succeeds => out.push_str(SUCCESS_STEPS),
        Login::Fails { reasons, .. } => {
            let _ = writeln!(out, "\n# The login must fail:");
            for reason in reasons {
                let _ = writeln!(out, "#   - {reason}");
            }
            out.push_str(FAILURE_STEPS);
        }
    }
    out
}

/// The knobs of `profile` that differ from the happy path, as a table of tables.
pub fn overrides(profile: &Profile) -> toml::Table {
    let base = toml::Table::try_from(Profile::default()).expect("a profile always serializes");
    let mine = toml::Table::try_from(profile).expect("a profile always serializes");
    let mut out = toml::Table::new();
    for (section, values) in mine {
        let (toml::Value::Table(values), Some(toml::Value::Table(defaults))) = (values, base.get(&section)) else {
            continue;
        };
        let changed: toml::Table = values.into_iter().filter(|(k, v)| defaults.get(k) != Some(v)).collect();
        if !changed.is_empty() {
            out.insert(section, toml::Value::Table(changed));
        }
    }
    out
}

fn quoted(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// MCP-AUTH §Authorization Flow Steps, then what the harness adds: the login outlives a restart
/// (OAuth 2.1 §7.1) and an expired access token is refreshed (OAuth 2.1 §4.3).
const SUCCESS_STEPS: &str = r#"
[[steps]]
do = "add"

[[steps]]
do = "list"
expect = { status = "not_logged_in" }

[[steps]]
do = "login"
expect = { outcome = "success" }

[[steps]]
do = "list"
expect = { status = "oauth" }

[[steps]]
do = "import"
expect = { outcome = "success", tools = "served" }

[[steps]]
do = "restart"

[[steps]]
do = "list"
expect = { status = "oauth" }

[[steps]]
do = "expire"
expire = "access-tokens"

[[steps]]
do = "import"
expect = { outcome = "success", tools = "served" }
"#;

const FAILURE_STEPS: &str = r#"
[[steps]]
do = "add"

[[steps]]
do = "login"
expect = { outcome = "failure" }

[[steps]]
do = "list"
expect = { status = ["not_logged_in", "error"] }

[[steps]]
do = "import"
expect = { outcome = "failure" }
"#;
