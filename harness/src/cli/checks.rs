//! `checks`: every check with its rule, and the clause that makes it a rule in each revision.

use std::process::ExitCode;

use crate::check;
use crate::revision::Revision;

#[derive(clap::Args)]
pub struct Args {
    /// Only this revision's clauses (default: every revision's).
    #[arg(long = "spec", value_name = "REVISION")]
    revision: Option<Revision>,
}

pub fn exec(args: Args) -> super::Outcome {
    let revisions: Vec<Revision> = match args.revision {
        Some(one) => vec![one],
        None => Revision::ALL.to_vec(),
    };
    for check in check::all() {
        println!("{:<28} {}", check.info.id, check.info.rule);
        for revision in &revisions {
            match check.info.clause(*revision) {
                Some(clause) => println!("  {revision}  {:<6} {}", format!("{:?}", clause.severity), clause.spec),
                None => println!("  {revision}  —      not in this revision"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
