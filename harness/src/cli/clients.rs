//! `clients`: the clients the harness can drive and whether each can run here, or, given
//! manifest files, whether they load and what each verb does.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::client::{self, ClientAdapter as _};
use crate::scenario::Verb;

#[derive(clap::Args)]
pub struct Args {
    /// Client manifest files (TOML) to check.
    manifests: Vec<PathBuf>,
}

pub fn exec(args: Args) -> super::Outcome {
    if args.manifests.is_empty() {
        println!("{:<24} yes    in-process rmcp client, the positive control", "reference");
        for codex in client::CodexClient::pinned() {
            let ready = codex.binary().map_or_else(|why| format!("no: {why}"), |_| "yes".into());
            println!("{:<24} {ready:<5}  `codex mcp …` and `codex app-server`", codex.name());
        }
        for manifest in client::ManifestClient::built_in() {
            let ready = manifest.availability().map_or_else(|why| format!("no: {why}"), |()| "yes".into());
            println!("{:<24} {ready:<5}  {}", manifest.name(), manifest.manifest().summary);
        }
        return Ok(ExitCode::SUCCESS);
    }
    for path in args.manifests {
        let manifest = client::Manifest::load(&path).map_err(|e| e.to_string())?;
        println!("{} ({}): {}", manifest.name, path.display(), manifest.summary);
        for verb in Verb::ALL.into_iter().filter(|v| !v.performed_by_harness()) {
            println!("  {:<8} {}", verb.name(), manifest.describe(verb));
        }
    }
    Ok(ExitCode::SUCCESS)
}
