//! `mutants`: the catalog against every mutant of the reference client, and which checks caught
//! each.

use std::path::PathBuf;

use crate::{catalog, mutation};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_os_t = catalog::default_dir())]
    catalog: PathBuf,
}

pub async fn exec(args: Args) -> super::Outcome {
    let scenarios = catalog::select(&args.catalog, &[]).map_err(|e| e.to_string())?;
    let mutants = mutation::analyse(&scenarios, 16).await.map_err(|e| e.to_string())?;
    print!("{}", mutation::table(&mutants));
    Ok(super::status(mutants.iter().all(mutation::Mutant::caught)))
}
