//! `list`: the catalog's scenarios with their summaries.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::catalog;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_os_t = catalog::default_dir())]
    catalog: PathBuf,
}

pub fn exec(args: Args) -> super::Outcome {
    let scenarios = catalog::select(&args.catalog, &[]).map_err(|e| e.to_string())?;
    for scenario in scenarios {
        println!("{:<44} {}", scenario.name, scenario.summary);
    }
    Ok(ExitCode::SUCCESS)
}
