//! `explain`: a scenario's server layout with live URLs, its steps and the checks it can trip.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use mock_server::MockServer;
use mock_server::profile::{AsOrigin, MetadataLocation};

use crate::revision::Revision;
use crate::scenario::{Scenario, Verb};
use crate::{catalog, check};

#[derive(clap::Args)]
pub struct Args {
    /// A scenario name or file.
    scenario: String,
    #[arg(long, default_value_os_t = catalog::default_dir())]
    catalog: PathBuf,
}

pub async fn exec(args: Args) -> super::Outcome {
    let scenario = catalog::select(&args.catalog, &[args.scenario]).map_err(|e| e.to_string())?.remove(0);
    print!("{}", explain(&scenario).await?);
    Ok(ExitCode::SUCCESS)
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
        if step.verb == Verb::Login {
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
    let revision = scenario.revision.unwrap_or(Revision::LATEST);
    let pinned = match (scenario.revision, scenario.since) {
        (Some(_), _) => "pinned by the scenario".to_owned(),
        (None, Some(since)) => format!("the latest; not judged by revisions before {since}"),
        (None, None) => "the latest; `run --spec` may choose another".to_owned(),
    };
    let _ = writeln!(
        out,
        "\nchecks, judged by MCP {revision} ({pinned}); each decides whether the run gives it something to judge:"
    );
    for check in check::all() {
        let spec = check.info.clause(revision).map_or_else(|| format!("not in MCP {revision}"), |c| c.spec.to_owned());
        let _ = writeln!(out, "  {:<28} {spec}", check.info.id);
    }
    Ok(out)
}
