//! `official`: the official conformance suite and this catalog, side by side on the reference
//! client.

use std::path::PathBuf;

use crate::official_suite::SuiteVersion;
use crate::runner::Verdict;
use crate::{catalog, official_suite, scenario};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_os_t = catalog::default_dir())]
    catalog: PathBuf,
    /// Which pinned release of the official suite runs: npm's `latest` (2025-11-25 requirements)
    /// or the newest prerelease (2026-07-28 requirements).
    #[arg(long, value_enum, default_value = "0.1.16")]
    suite_version: SuiteVersion,
}

pub async fn exec(args: Args) -> super::Outcome {
    let scenarios = scenario::load_dir(&args.catalog).map_err(|e| e.to_string())?;
    let version = args.suite_version;
    let comparisons = official_suite::compare(version, &scenarios).await?;
    print!("{}", official_suite::table(version, &comparisons));
    let ours = official_suite::run_our_catalog(&scenarios).await;
    let client = official_suite::contract_client()?;
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let theirs = tokio::task::spawn_blocking(move || official_suite::run_official_suite(version, &client, work.path()))
        .await
        .map_err(|e| e.to_string())??;
    print!("{}", official_suite::cost_table(version, &theirs, &ours));
    let agree = comparisons.iter().all(|c| c.theirs.ok() == (c.our_verdict == Verdict::Passed));
    Ok(super::status(agree))
}
