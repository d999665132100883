//! `mock-server`: run a mock OAuth-protected MCP server from the command line.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use mock_server::{MockServer, Preset, Profile};
use tokio::sync::broadcast::error::RecvError;

/// An OAuth 2.1-protected MCP server on loopback, its layout set by a profile.
#[derive(Parser)]
#[command(
    version,
    after_help = "Examples:\n  mock-server serve --profile split-origin\n  mock-server serve --profile-file my-profile.toml --port 8080\n  mock-server profiles"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve until Ctrl-C. Prints the MCP URL first, then the issuer, then each exchange as a
    /// JSON line (secrets redacted).
    Serve {
        /// A preset name (see `mock-server profiles`).
        #[arg(long, default_value = "happy-path", conflicts_with = "profile_file")]
        profile: String,
        /// A TOML file of knobs over the happy path.
        #[arg(long)]
        profile_file: Option<PathBuf>,
        /// Port for the MCP listener (default: an ephemeral one).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// List the presets, one line each.
    Profiles,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Profiles => {
            for preset in Preset::ALL {
                println!("{:<26} {}", preset.name(), preset.summary());
            }
            Ok(())
        }
        Command::Serve { profile, profile_file, port } => {
            let profile = match profile_file {
                Some(path) => {
                    let text =
                        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
                    Profile::from_toml(&text).with_context(|| format!("in {}", path.display()))?
                }
                None => Profile::preset(&profile)?,
            };
            serve(profile, port).await
        }
    }
}

async fn serve(profile: Profile, port: u16) -> anyhow::Result<()> {
    let server = MockServer::builder().profile(profile).port(port).try_start().await?;
    let mut exchanges = server.transcript().subscribe();
    let mut out = std::io::stdout().lock();
    let mut lines: Vec<String> = server.mcp_uris();
    lines.push(server.issuer());
    loop {
        // Whoever reads our output may stop (`| head -1`): a closed stdout ends the server
        // quietly rather than with a panic.
        if lines.drain(..).try_for_each(|line| writeln!(out, "{line}").and_then(|()| out.flush())).is_err() {
            break;
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            next = exchanges.recv() => match next {
                Ok(exchange) => lines.push(serde_json::to_string(&exchange)?),
                Err(RecvError::Lagged(n)) => eprintln!("({n} exchanges not shown)"),
                Err(RecvError::Closed) => break,
            },
        }
    }
    drop(server);
    Ok(())
}
