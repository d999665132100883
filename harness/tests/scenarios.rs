//! Every catalog scenario against the reference client, each its own test
//! (`scenario::<name>`), its snapshot asserted against `snapshots/<name>@reference.snap`.

use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use mcp_auth_harness::client::ReferenceClient;
use mcp_auth_harness::runner::{RunOptions, Verdict};
use mcp_auth_harness::{catalog, report, runner, scenario};

fn main() {
    let args = Arguments::from_args();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let scenarios = match scenario::load_dir(&dir) {
        Ok(scenarios) => scenarios,
        Err(e) => {
            eprintln!("the catalog does not load: {e}");
            std::process::exit(101);
        }
    };
    let trials = scenarios
        .into_iter()
        .map(|scenario| Trial::test(format!("scenario::{}", scenario.name), move || check(&scenario)))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn check(scenario: &scenario::Scenario) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let client = Arc::new(ReferenceClient::new());
    let run = runtime.block_on(runner::run(scenario, client, &RunOptions::default()))?;
    let snapshot = report::snapshot(&run);
    let name = format!("{}@{}", run.scenario, run.client);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(catalog::default_dir().join("../snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_input_file(&scenario.source);
    settings.set_description(scenario.summary.clone());
    let asserted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_yaml_snapshot!(name.clone(), snapshot));
    }));
    if run.verdict() != Verdict::Passed {
        return Err(report::scenario_block(&run).into());
    }
    asserted.map_err(|_| Failed::from(format!("snapshot {name} differs (review with `cargo insta review`)")))
}
