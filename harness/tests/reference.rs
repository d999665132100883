//! The references a scenario writer reads are generated from the code and cannot drift: the
//! README's knob tables are `knobs --format markdown`, its field lists name exactly the fields the
//! scenario schema has, and that schema accepts every catalog scenario.

use std::path::Path;

mod common;

use assert_cmd::Command;
use common::{README, marked};
use serde_json::Value;

fn harness(args: &[&str]) -> String {
    let out = Command::cargo_bin("mcp-auth-harness").unwrap().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn scenario_schema() -> Value {
    serde_json::from_str(&harness(&["schema"])).unwrap()
}

fn toml_as_json(text: &str) -> Value {
    serde_json::to_value(toml::from_str::<toml::Table>(text).unwrap()).unwrap()
}

/// After a knob changes, `BLESS=1 cargo test -p mcp-auth-harness --test reference` rewrites the
/// README's block.
#[test]
fn readme_knob_reference_is_the_knobs_command_output() {
    let generated = harness(&["knobs", "--format", "markdown"]);
    common::readme_block_is("knobs", &generated, "mcp-auth-harness knobs --format markdown");
}

#[test]
fn knobs_shows_type_default_values_and_presets() {
    let out = harness(&["knobs"]);
    for needle in [
        "[authorization_server]",
        "authorization_server.consent  (enum; default \"page\")",
        "\"auto\"  Redirect back at once, approved.",
        "presets: split-origin = \"separate\"",
        "authorization_server.preregistered_clients[].client_id  (string; required)",
        "tokens.access_token_ttl_secs  (integer ≥ 0; default 3600)",
    ] {
        assert!(out.contains(needle), "`{needle}` missing from:\n{out}");
    }
}

#[test]
fn schema_accepts_every_catalog_scenario() {
    let validator = jsonschema::validator_for(&scenario_schema()).unwrap();
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut seen = 0;
    for entry in std::fs::read_dir(catalog).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let file = toml_as_json(&std::fs::read_to_string(&path).unwrap());
        let errors: Vec<String> = validator.iter_errors(&file).map(|e| format!("{}: {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        seen += 1;
    }
    assert!(seen >= 30, "only {seen} scenarios");
}

#[test]
fn schema_rejects_unknown_fields_knobs_and_values() {
    let validator = jsonschema::validator_for(&scenario_schema()).unwrap();
    let good = "summary = \"s\"\n[servers.main]\npreset = \"split-origin\"\nprofile = { tokens = { access_token_ttl_secs = 2 } }\n[[steps]]\ndo = \"expire\"\nexpect = { status = [\"oauth\", \"expired\"], tools = [\"echo\"] }\n";
    assert!(validator.is_valid(&toml_as_json(good)));
    for (bad, why) in [
        (good.replace("summary", "summry"), "an unknown top-level field"),
        (good.replace("do = \"expire\"", "do = \"expire\"\nbrowsr = \"deny\""), "an unknown step field"),
        (good.replace("access_token_ttl_secs", "ttl"), "an unknown knob"),
        (good.replace("split-origin", "split-orign"), "an unknown preset"),
        (good.replace("\"expired\"", "\"gone\""), "an unknown status"),
        (good.replace("expect = {", "expect = { outcom = \"success\","), "an unknown expectation"),
    ] {
        assert!(!validator.is_valid(&toml_as_json(&bad)), "{why} is accepted:\n{bad}");
    }
}

/// Each marked README list names exactly the fields of its part of the schema.
#[test]
fn readme_field_lists_match_the_fields_the_binary_accepts() {
    let schema = scenario_schema();
    let readme = std::fs::read_to_string(README).unwrap();
    for (list, properties) in [
        ("fields:scenario", &schema["properties"]),
        ("fields:step", &schema["definitions"]["RawStep"]["properties"]),
        ("fields:expect", &schema["definitions"]["Expect"]["properties"]),
    ] {
        let mut accepted: Vec<&str> = properties.as_object().unwrap().keys().map(String::as_str).collect();
        accepted.sort();
        let (start, end) = marked(&readme, list);
        let mut documented: Vec<&str> = readme[start..end]
            .lines()
            .filter_map(|line| line.strip_prefix("- `"))
            .filter_map(|rest| rest.split('`').next())
            .map(|field| field.split(" =").next().unwrap_or(field))
            .collect();
        documented.sort();
        assert_eq!(documented, accepted, "README list {list}");
    }
}
