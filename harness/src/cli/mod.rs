//! The `mcp-auth-harness` command line: one module per command, as cargo lays out its own.

mod bisect;
mod capture;
mod checks;
mod clients;
mod explain;
mod install;
mod knobs;
mod list;
mod merge;
mod mutants;
mod official;
mod run;
mod schema;
mod stress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  mcp-auth-harness run                                  # the whole catalog against the reference client
  mcp-auth-harness run founding-split-origin            # one scenario by name
  mcp-auth-harness run ./my-bug.toml --keep             # a scenario file; keep the client's sandbox
  mcp-auth-harness run --client reference --client reference+status-probes-origin-only
                                                        # a matrix: the reference client and a mutant
  mcp-auth-harness explain founding-split-origin        # servers, steps and checks of a scenario
  mcp-auth-harness list                                 # the catalog
  mcp-auth-harness checks                               # every check with its spec clause
  mcp-auth-harness knobs                                # every profile knob: type, default, values, presets
  mcp-auth-harness schema > scenario.schema.json        # JSON Schema of scenario files, for editors
  mcp-auth-harness run --client codex                   # every pinned Codex version (installed on first use)
  mcp-auth-harness run --client codex@0.150.0           # any published version, installed from npm on first use
  mcp-auth-harness bisect founding-split-origin --client codex --good 0.169.0 --bad 0.125.0
                                                        # the first release where the verdict flips
  mcp-auth-harness run --client codex --expected-failures known.toml   # CI: only new failures fail
  mcp-auth-harness run --client all                     # scenario × client matrix: reference, Codex, mcp-remote, Gemini CLI, TS SDK
  mcp-auth-harness run --client ./my-client.toml        # your client, described by a manifest (see README)
  mcp-auth-harness run --client all --shard 2/4 --output part2   # part 2 of 4 of the matrix, one per CI machine
  mcp-auth-harness merge part*/results.json --expected-failures known.toml   # the parts joined, judged as one run
  mcp-auth-harness clients ./my-client.toml             # check a manifest without running anything
  mcp-auth-harness official                             # the official conformance suite vs ours, side by side
  mcp-auth-harness install                              # install the pinned real clients now
  mcp-auth-harness mutants                              # which checks catch each mutant of the reference client
  mcp-auth-harness capture https://mcp.example.com/mcp --out my-server.toml
                                                        # a live server's layout as a scenario (no login)
  mcp-auth-harness capture --diff https://mcp.example.com/mcp my-server.toml
                                                        # how the live server differs from it now
  mcp-auth-harness stress --rounds 50                   # 50 catalog runs at once: flakes, leftovers, time

Exit status: 0 all scenarios passed, 1 a check or expectation failed, 2 usage or scenario error.";

/// Tells an MCP client vendor whether their client really handles OAuth-protected MCP servers,
/// end to end.
#[derive(Parser)]
#[command(name = "mcp-auth-harness", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios against clients and report per scenario, with a summary table.
    #[command(after_help = EXAMPLES)]
    Run(run::Args),
    /// Join the `results.json` of every shard (`run --shard K/N`) into one run, reported like
    /// `run` (formats, `--output`, `--expected-failures`).
    Merge(merge::Args),
    /// List the catalog's scenarios with their summaries.
    List(list::Args),
    /// Show a scenario's live server layout (every URL, the 401 challenge, the metadata documents
    /// as served, scopes, the knobs it sets), its steps and the checks it can trip.
    Explain(explain::Args),
    /// Read what a live OAuth-protected MCP server publishes before login (no credentials) and
    /// write a scenario whose mock reproduces it; with --diff, how the server differs from a
    /// scenario captured earlier.
    #[command(after_help = capture::AFTER_HELP)]
    Capture(capture::Args),
    /// List every profile knob a scenario can set under `[servers.NAME.profile]`: its path, type,
    /// default, allowed values and the presets that change it.
    Knobs(knobs::Args),
    /// Print the JSON Schema of scenario files, for editors that complete and validate TOML
    /// (Taplo, Even Better TOML).
    Schema,
    /// List every check with its rule and, revision by revision, the clause that makes it one.
    Checks(checks::Args),
    /// List the clients the harness can drive and whether each can run here; with manifest
    /// files, check them (file:line:column errors) and show what each verb does.
    Clients(clients::Args),
    /// Run the official suite (`@modelcontextprotocol/conformance`, pinned) on its overlapping
    /// client auth scenarios against the reference client, and this catalog's counterparts, side
    /// by side: verdicts, checks and wall time.
    Official(official::Args),
    /// Install the pinned real clients now (`npm ci` into the cache); `run` does it on first use.
    Install,
    /// Run the catalog again and again, all rounds at once, and report any verdict that differs
    /// from the first round's (a flake), any leftover sandbox, and the time taken.
    Stress(stress::Args),
    /// Find the first published release of a client where a scenario's verdict flips, by binary
    /// search over the stable releases between two versions (installed from npm, cached).
    #[command(after_help = bisect::EXIT_STATUS)]
    Bisect(bisect::Args),
    /// Run the catalog against every mutant of the reference client (one real-world mistake
    /// each) and show which checks caught it.
    Mutants(mutants::Args),
}

/// Parses the command line, runs it, and maps the outcome to the exit status.
pub fn main() -> ExitCode {
    end_quietly_when_stdout_closes();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(execute(cli.command)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// `mcp-auth-harness checks | head` closes stdout early, and `println!` panics on the broken pipe.
/// The usual cure, restoring SIGPIPE's default action, would also kill the harness whenever a
/// client under test exits while the harness still writes to its stdin, so instead a write to a
/// closed stdout ends the process at once, with the status a shell gives a command that SIGPIPE
/// killed (128 + 13). Every report is printed after the runs have cleaned up their sandboxes.
fn end_quietly_when_stdout_closes() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        report(info);
    }));
}

/// Each command's outcome: an exit status, or a usage or input error (exit status 2).
type Outcome = Result<ExitCode, String>;

async fn execute(command: Command) -> Outcome {
    match command {
        Command::Run(args) => run::exec(args).await,
        Command::Bisect(args) => bisect::exec(args).await,
        Command::Merge(args) => merge::exec(args),
        Command::List(args) => list::exec(args),
        Command::Explain(args) => explain::exec(args).await,
        Command::Capture(args) => capture::exec(args).await,
        Command::Knobs(args) => knobs::exec(args),
        Command::Schema => schema::exec(),
        Command::Checks(args) => checks::exec(args),
        Command::Clients(args) => clients::exec(args),
        Command::Official(args) => official::exec(args).await,
        Command::Install => install::exec(),
        Command::Stress(args) => stress::exec(args).await,
        Command::Mutants(args) => mutants::exec(args).await,
    }
}

/// 0 when `ok`, else 1.
fn status(ok: bool) -> ExitCode {
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
