//! `mutants`: the catalog against every mutant of the reference client, and which checks caught
//! each.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::catalog;
use crate::client::{self, ClientAdapter};
use crate::runner::RunOptions;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_os_t = catalog::default_dir())]
    catalog: PathBuf,
}

pub async fn exec(args: Args) -> super::Outcome {
    let scenarios = catalog::select(&args.catalog, &[]).map_err(|e| e.to_string())?;
    let mut uncaught = 0;
    println!("{:<32} caught by (check: scenarios)", "mutant");
    for fault in client::Fault::all() {
        let mutant: Arc<dyn ClientAdapter> = Arc::new(client::ReferenceClient::with_faults(vec![fault]));
        let runs = catalog::run_all(&scenarios, &[mutant], &RunOptions::default(), 16).await;
        let mut caught: BTreeMap<&str, usize> = BTreeMap::new();
        for run in runs.iter().flatten() {
            for check in run.failures() {
                *caught.entry(check.info.id).or_default() += 1;
            }
        }
        let shown: Vec<String> = caught.iter().map(|(id, n)| format!("{id}: {n}")).collect();
        if shown.is_empty() {
            uncaught += 1;
        }
        println!("{:<32} {}", fault.name(), if shown.is_empty() { "NOT CAUGHT".into() } else { shown.join(", ") });
    }
    Ok(super::status(uncaught == 0))
}
