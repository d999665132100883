//! Mutation analysis: the catalog against every mutant of the reference client (one [`Fault`]
//! each), and which checks caught each. `mcp-auth-harness mutants` prints it; the README keeps a
//! copy that a test holds equal to it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::catalog;
use crate::client::{ClientAdapter, Fault, ReferenceClient};
use crate::runner::{RunError, RunOptions};
use crate::scenario::Scenario;

/// What the catalog made of one mutant.
#[derive(Debug, Clone)]
pub struct Mutant {
    pub fault: Fault,
    /// The checks that failed, each with the number of scenarios it failed in.
    pub caught_by: BTreeMap<&'static str, usize>,
}

impl Mutant {
    pub fn caught(&self) -> bool {
        !self.caught_by.is_empty()
    }
}

/// Runs `scenarios` against every mutant, `jobs` runs at once.
pub async fn analyse(scenarios: &[Scenario], jobs: usize) -> Result<Vec<Mutant>, RunError> {
    let mut mutants = Vec::new();
    for fault in Fault::all() {
        mutants.push(analyse_one(scenarios, fault, jobs).await?);
    }
    Ok(mutants)
}

/// Runs `scenarios` against the mutant with `fault`, `jobs` runs at once.
pub async fn analyse_one(scenarios: &[Scenario], fault: Fault, jobs: usize) -> Result<Mutant, RunError> {
    let client: Arc<dyn ClientAdapter> = Arc::new(ReferenceClient::with_faults(vec![fault]));
    let mut caught_by = BTreeMap::new();
    for run in catalog::run_all(scenarios, &[client], &RunOptions::default(), jobs).await {
        for check in run?.failures() {
            *caught_by.entry(check.info.id).or_default() += 1;
        }
    }
    Ok(Mutant { fault, caught_by })
}

/// The table's line for `mutant`.
pub fn table_line(mutant: &Mutant) -> String {
    let shown: Vec<String> = mutant.caught_by.iter().map(|(id, n)| format!("{id}: {n}")).collect();
    let shown = if shown.is_empty() { "NOT CAUGHT".to_owned() } else { shown.join(", ") };
    format!("{:<32} {shown}", mutant.fault.name())
}

/// The table `mutants` prints: a mutant a line, with the checks that caught it.
pub fn table(mutants: &[Mutant]) -> String {
    let mut out = format!("{:<32} caught by (check: scenarios)\n", "mutant");
    for mutant in mutants {
        out.push_str(&table_line(mutant));
        out.push('\n');
    }
    out
}
