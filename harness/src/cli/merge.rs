//! `merge`: the `results.json` of every shard of a run, joined into the whole run and reported
//! like `run` reports it (formats, `--output`, the baseline verdict).

use std::path::PathBuf;

use super::run::{Format, report_runs};
use crate::baseline::Baseline;
use crate::shard;

#[derive(clap::Args)]
pub struct Args {
    /// Each shard's `results.json` (from `run --shard K/N --output DIR`).
    #[arg(required = true)]
    results: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// A baseline of known failures per client, judged over the merged run.
    #[arg(long)]
    expected_failures: Option<PathBuf>,
    /// Also write every report format of the merged run into this directory.
    #[arg(long)]
    output: Option<PathBuf>,
}

pub fn exec(args: Args) -> super::Outcome {
    let baseline = args.expected_failures.as_deref().map(Baseline::load).transpose()?;
    let parts = args
        .results
        .iter()
        .map(|path| Ok((path.display().to_string(), shard::read_results(path)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let runs = shard::merge(parts)?;
    report_runs(&runs, args.format, args.output.as_deref(), baseline.as_ref())
}
