//! `schema`: the JSON Schema of scenario files, for editors that complete and validate TOML.

use std::process::ExitCode;

use crate::scenario;

pub fn exec() -> super::Outcome {
    let schema = serde_json::to_string_pretty(&scenario::file_schema()).map_err(|e| e.to_string())?;
    println!("{schema}");
    Ok(ExitCode::SUCCESS)
}
