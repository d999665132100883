//! `install`: the pinned real clients, installed now rather than on first use.

use std::process::ExitCode;

use crate::client::{self, ClientAdapter as _};

pub fn exec() -> super::Outcome {
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
