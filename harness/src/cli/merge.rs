//! `merge`: the `results.json` of every shard of a run, joined into the whole run and reported
//! like `run` reports it (formats, `--output`, the baseline verdict).

use std::path::PathBuf;

use super::run::{Reporting, report_runs};
use crate::shard;

#[derive(clap::Args)]
pub struct Args {
    /// Each shard's `results.json` (from `run --shard K/N --output DIR`).
    #[arg(required = true)]
    results: Vec<PathBuf>,
    #[command(flatten)]
    report: Reporting,
}

pub fn exec(args: Args) -> super::Outcome {
    let baseline = args.report.baseline()?;
    let parts = args
        .results
        .iter()
        .map(|path| Ok((path.display().to_string(), shard::read_results(path)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let runs = shard::merge(parts)?;
    report_runs(&runs, &args.report, baseline.as_ref())
}
