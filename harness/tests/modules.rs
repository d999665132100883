//! The modules import downward: no module uses another that uses it back, directly or through
//! others (STYLE.md). In particular the checks read the observation and never the runner.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its files name through `crate::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let named = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut pending = vec![src.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let first = relative.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
            let module = first.trim_end_matches(".rs").to_owned();
            if ["lib", "main", "bin"].contains(&module.as_str()) {
                continue;
            }
            // Code only: a doc link to another module is not an import.
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
            let uses = graph.entry(module.clone()).or_default();
            for line in code {
                uses.extend(named.captures_iter(line).map(|c| c[1].to_owned()).filter(|m| *m != module));
            }
        }
    }
    graph
}

/// A path of modules from `from` back to `from`, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        for next in graph.get(path.last().unwrap()).into_iter().flatten() {
            let mut longer = path.clone();
            longer.push(next.clone());
            if next == from {
                return Some(longer);
            }
            if seen.insert(next.clone()) {
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = imports();
    for module in graph.keys() {
        assert_eq!(cycle(&graph, module), None, "modules import each other in a circle");
    }
}

#[test]
fn checks_read_the_observation_not_the_runner() {
    let graph = imports();
    assert!(graph["check"].contains("observation"));
    assert!(!graph["check"].contains("runner"));
    let observation = &graph["observation"];
    assert!(!observation.contains("check") && !observation.contains("runner"), "{observation:?}");
}
