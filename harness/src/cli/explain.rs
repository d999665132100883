//! `explain`: a scenario's live server layout (every URL, the 401 challenge, the metadata documents
//! as served, scopes, the knobs the scenario sets), its steps and the checks it can trip.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use mock_server::profile::AsOrigin;

use crate::layout::{self, DocumentKind, Layout};
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

/// The challenges, the documents as served (pretty-printed) and the endpoints they name.
fn write_layout(out: &mut String, layout: &Layout) {
    for challenge in &layout.challenges {
        let header = challenge.www_authenticate.as_deref().unwrap_or("no WWW-Authenticate");
        let _ = writeln!(
            out,
            "    401 challenge:      POST {} without a token → {} {header}",
            challenge.url, challenge.status
        );
    }
    if !layout.documents.iter().any(|d| d.kind == DocumentKind::ResourceMetadata) {
        let _ = writeln!(out, "    resource metadata:  not served at any well-known URL or named in the challenge");
    }
    if !layout.documents.iter().any(|d| d.kind == DocumentKind::AuthorizationServerMetadata) {
        let _ = writeln!(out, "    AS metadata:        not served at any discovery URL");
    }
    for document in &layout.documents {
        let label = match document.kind {
            DocumentKind::ResourceMetadata => "resource metadata: ",
            DocumentKind::AuthorizationServerMetadata => "AS metadata:       ",
        };
        let _ = writeln!(out, "    {label} {}", document.url);
        let pretty = serde_json::to_string_pretty(&document.body).unwrap_or_default();
        for line in pretty.lines() {
            let _ = writeln!(out, "        {line}");
        }
    }
    let advertised = layout.endpoints.iter().any(|e| e.advertised);
    let source = if advertised {
        "as the AS metadata names them"
    } else {
        "no AS metadata: the 2025-03-26 defaults on the MCP origin"
    };
    let _ = writeln!(out, "    endpoints ({source}):");
    for endpoint in &layout.endpoints {
        let served = match (endpoint.served, endpoint.advertised) {
            (false, _) => "   (not served)",
            (true, true) => "",
            (true, false) if advertised => "   (served, but no metadata names it)",
            (true, false) => "",
        };
        let _ = writeln!(out, "      {:<28} {}{served}", endpoint.member, endpoint.url);
    }
}

/// A knob or field value as a scenario file spells it (`not-advertised`).
fn spelled(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(e) => e.to_string(),
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() { "none".into() } else { items.join(" ") }
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
    let _ = writeln!(out, "\nservers (started now to show real URLs and documents as served; ports change every run):");
    // Started together, as a run starts them, so placeholders naming another server resolve.
    let mocks = crate::runner::start_servers(scenario).await.map_err(|(key, e)| format!("server `{key}`: {e}"))?;
    for (key, spec) in &scenario.servers {
        let mock = &mocks[key];
        let p = &spec.profile;
        let _ = writeln!(out, "  {key}: preset {} — {}", spec.preset, spec.preset.summary());
        for (knob, value) in overridden_knobs(&spec.preset.profile(), p) {
            let _ = writeln!(out, "    set by the scenario: {knob} = {value}");
        }
        let _ = writeln!(out, "    MCP endpoint:       {}", mock.mcp_uris().join(", "));
        let where_as = match p.authorization_server.origin {
            AsOrigin::Same => "same origin",
            AsOrigin::Separate => "its own origin",
        };
        let _ = writeln!(out, "    issuer:             {} ({where_as})", mock.issuer());
        let asv = &p.authorization_server;
        let _ = writeln!(
            out,
            "    endpoint origins:   authorize on {}, token on {}, registration on {}{}",
            spelled(&asv.authorize_origin),
            spelled(&asv.token_origin),
            spelled(&asv.registration_origin),
            if asv.root_metadata { "; metadata also at the origin root" } else { "" },
        );
        if let Some(idp) = mock.enterprise_sign_on() {
            let _ = writeln!(
                out,
                "    identity provider:  token exchange at {} (its own origin; SEP-990)",
                idp.token_endpoint
            );
        }
        let layout = layout::discover(&mock.mcp_uris(), &mock.issuer()).await.map_err(|e| e.to_string())?;
        write_layout(&mut out, &layout);
        let r = &p.resource;
        let _ = writeln!(
            out,
            "    scopes:             required {}; write_note needs {}; challenge scope: {}; withheld from grants: {}",
            list(&r.required_scopes),
            r.write_scope,
            r.challenge_scope.as_deref().unwrap_or("none"),
            list(&p.authorization_server.withheld_scopes),
        );
        let _ = writeln!(
            out,
            "    registration:       {}; consent: {}; iss: {}",
            if p.authorization_server.dynamic_registration { "dynamic (RFC 7591)" } else { "pre-registered only" },
            spelled(&p.authorization_server.consent),
            spelled(&p.authorization_server.iss_parameter),
        );
        let _ = writeln!(
            out,
            "    tokens:             access {} s, refresh {} (lifetime {}); tools: {}",
            p.tokens.access_token_ttl_secs,
            spelled(&p.tokens.refresh),
            p.tokens.refresh_token_ttl_secs.map_or("unlimited".to_owned(), |s| format!("{s} s")),
            mock.served_tools().iter().map(|t| t.name.to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let _ = writeln!(out, "\nsteps:");
    for (index, step) in scenario.steps.iter().enumerate() {
        let mut line = format!("  {}. {} {}", index + 1, step.verb, step.entry);
        if step.verb == Verb::Login {
            let _ = write!(line, " (browser: {})", spelled(&step.browser));
        }
        if let Some(change) = &step.change {
            let _ = write!(line, ": {change}");
        }
        if let Some(tool) = &step.tool {
            let _ = write!(line, " tool {tool} {}", serde_json::Value::Object(step.arguments.clone()));
        }
        if let Some(label) = &step.together {
            let _ = write!(line, " [at the same time as the other `{label}` steps]");
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
        let _ = writeln!(out, "  {:<28} {}", check.info.id, check.info.cite(revision));
    }
    Ok(out)
}
