//! `checks`: every check with its rule and spec clause.

use std::process::ExitCode;

use crate::check;

pub fn exec() -> super::Outcome {
    for check in check::all() {
        println!(
            "{:<28} {:?}  {}\n{:<28} spec: {}",
            check.info.id, check.info.severity, check.info.rule, "", check.info.spec
        );
    }
    Ok(ExitCode::SUCCESS)
}
