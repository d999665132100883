//! `capture`: reads what an OAuth-protected MCP server publishes before login and writes a
//! scenario whose mock reproduces it; `capture --diff` says how a live server now differs from a
//! scenario captured earlier.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::capture::{self, Options, diff, fetch::Limits, write};
use crate::catalog;

pub const AFTER_HELP: &str = "\
Examples:
  mcp-auth-harness capture https://mcp.example.com/mcp --out example.toml
  mcp-auth-harness run example.toml --client codex       # replay the layout on loopback
  mcp-auth-harness capture --diff https://mcp.example.com/mcp example.toml

Only what a client sends before login: one POST initialize without a token, GETs of the metadata
URLs the spec lists, and with --register one dynamic registration. No token or secret is sent or
written; redirects are followed within an origin only. Exit status: 0 captured (or, with --diff,
no difference), 1 the server differs from the scenario, 2 an error.";

#[derive(clap::Args)]
pub struct Args {
    /// The MCP server's URL.
    url: String,
    /// With --diff: the scenario captured earlier (a file or a catalog name).
    scenario: Option<String>,
    /// Compare the live server with SCENARIO instead of writing one.
    #[arg(long, requires = "scenario")]
    diff: bool,
    /// Write the scenario here (default: standard output).
    #[arg(long, conflicts_with = "diff")]
    out: Option<PathBuf>,
    /// Also register one client dynamically (RFC 7591), to record what the server answers.
    #[arg(long)]
    register: bool,
    /// Seconds any one request may take.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// The largest answer read, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_body: usize,
    #[arg(long, default_value_os_t = catalog::default_dir())]
    catalog: PathBuf,
}

pub async fn exec(args: Args) -> super::Outcome {
    if !(args.timeout > 0.0 && args.timeout <= 600.0) {
        return Err(format!("--timeout {}: expected seconds between 0 and 600", args.timeout));
    }
    let options = Options {
        limits: Limits { timeout: Duration::from_secs_f64(args.timeout), max_body: args.max_body, ..Limits::default() },
        register: args.register,
    };
    match (args.diff, &args.scenario) {
        (true, Some(scenario)) => compare(&args.url, scenario, &args.catalog, &options).await,
        (_, Some(extra)) => Err(format!("unexpected argument `{extra}` (a scenario goes with --diff)")),
        _ => write_scenario(&args.url, args.out.as_deref(), &options).await,
    }
}

async fn write_scenario(url: &str, out: Option<&std::path::Path>, options: &Options) -> super::Outcome {
    let captured = capture::capture(url, options).await.map_err(|e| e.to_string())?;
    match out {
        Some(path) => {
            std::fs::write(path, &captured.scenario).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("wrote {} ({} requests seen)", path.display(), captured.capture.requests.len());
        }
        None => print!("{}", captured.scenario),
    }
    let unreproduced = captured.reproduction.notes.len() + usize::from(!captured.unreproduced.is_empty());
    if unreproduced > 0 {
        eprintln!("not reproduced: see the file's comment block");
    }
    Ok(ExitCode::SUCCESS)
}

async fn compare(url: &str, scenario: &str, catalog_dir: &std::path::Path, options: &Options) -> super::Outcome {
    let loaded = catalog::select(catalog_dir, &[scenario.to_owned()]).map_err(|e| e.to_string())?.remove(0);
    let text = std::fs::read_to_string(&loaded.source).map_err(|e| format!("{}: {e}", loaded.source))?;
    let (earlier, what) = match write::facts_in(&text) {
        Some(facts) => (facts, "as captured in the file"),
        // A scenario written by hand: compare with what its mock serves.
        None => {
            let server = loaded.servers.values().next().ok_or("the scenario has no server")?;
            let mock = capture::replay(&server.profile, options).await.map_err(|e| e.to_string())?;
            (mock.facts(), "as its mock serves it (the file keeps no capture)")
        }
    };
    // Registering is a fresh decision: without --register the earlier registration is left out.
    let earlier = if options.register { earlier } else { diff::without_registration(&earlier) };
    let now = capture::probe::probe(url, options).await.map_err(|e| e.to_string())?.labelled();
    let changes = diff::changes(&earlier, &now.facts());
    if changes.is_empty() {
        println!("{url} serves the layout of {} {what}: no difference", loaded.source);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{url} differs from {} {what} (- then, + now):", loaded.source);
    for line in changes {
        println!("  {line}");
    }
    Ok(ExitCode::from(1))
}
