//! Splitting a scenario × client matrix across machines (`run --shard K/N`) and joining the
//! parts again (`merge`).
//!
//! Every run knows its [`Slot`] in the whole matrix, so a merge can tell a complete set of shards
//! from one with a part missing or given twice, and puts the runs back in the unsharded order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use crate::runner::{ScenarioRun, Slot};

/// The `index`-th (from 1) of `count` parts of a matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = || format!("`{text}`: a shard is K/N with 1 ≤ K ≤ N (e.g. 2/4)");
        let (k, n) = text.split_once('/').ok_or_else(usage)?;
        let (index, count) = (k.trim().parse().map_err(|_| usage())?, n.trim().parse().map_err(|_| usage())?);
        if index == 0 || index > count {
            return Err(usage());
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How long each scenario × client run took last time, read from a `results.json`.
#[derive(Debug, Clone, Default)]
pub struct Durations {
    recorded: BTreeMap<(String, String), Duration>,
    /// The median of the recorded ones: what a run never seen (a new scenario or client) weighs.
    typical: Duration,
}

impl Durations {
    /// The durations recorded in a `results.json` (of a whole run or of a merge).
    pub fn load(path: &Path) -> Result<Self, String> {
        let runs = read_results(path)?;
        Ok(Self::new(runs.into_iter().map(|r| ((r.observed.scenario, r.observed.client), r.elapsed)).collect()))
    }

    fn new(recorded: BTreeMap<(String, String), Duration>) -> Self {
        let mut all: Vec<Duration> = recorded.values().copied().collect();
        all.sort();
        let typical = all.get(all.len() / 2).copied().unwrap_or(Duration::from_millis(1));
        Self { recorded, typical }
    }

    /// The recorded duration of a run, or the typical one for a run never seen.
    fn of(&self, scenario: &str, client: &str) -> Duration {
        self.recorded.get(&(scenario.to_owned(), client.to_owned())).copied().unwrap_or(self.typical)
    }
}

impl Shard {
    /// The slots of `matrix` (scenario, client pairs in matrix order) this shard runs.
    ///
    /// Without durations, the runs client by client, dealt round: shards differ by one run at
    /// most and get a like share of each client (clients differ most in speed). With durations,
    /// longest first, each run to the shard with the least time so far (ties: the lower shard),
    /// which every machine computes alike from the same file. Either way the parts are disjoint
    /// and cover the matrix.
    pub fn slots(&self, matrix: &[(&str, &str)], durations: Option<&Durations>) -> Vec<usize> {
        let Some(durations) = durations else {
            let mut clients: Vec<&str> = Vec::new();
            for (_, client) in matrix {
                if !clients.contains(client) {
                    clients.push(client);
                }
            }
            let rank = |client: &str| clients.iter().position(|c| *c == client).unwrap_or_default();
            let mut order: Vec<usize> = (0..matrix.len()).collect();
            order.sort_by_key(|&slot| (rank(matrix[slot].1), slot));
            let mut mine: Vec<usize> = order
                .into_iter()
                .enumerate()
                .filter(|(dealt, _)| dealt % self.count == self.index - 1)
                .map(|(_, slot)| slot)
                .collect();
            mine.sort_unstable();
            return mine;
        };
        let mut order: Vec<(Duration, usize)> =
            matrix.iter().enumerate().map(|(slot, (s, c))| (durations.of(s, c), slot)).collect();
        // Longest first; equal durations in slot order, so the plan is the same everywhere.
        order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut load = vec![Duration::ZERO; self.count];
        let mut mine = Vec::new();
        for (duration, slot) in order {
            let lightest = (0..self.count).min_by_key(|&k| (load[k], k)).expect("a shard count of at least 1");
            load[lightest] += duration;
            if lightest == self.index - 1 {
                mine.push(slot);
            }
        }
        mine.sort_unstable();
        mine
    }
}

/// Runs read from a `results.json`.
pub fn read_results(path: &Path) -> Result<Vec<ScenarioRun>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))
}

/// Joins the runs of several shards into the unsharded run: every slot of the matrix exactly
/// once, in matrix order. A missing part, a part given twice or parts of different matrices
/// are errors that say which.
pub fn merge(parts: Vec<(String, Vec<ScenarioRun>)>) -> Result<Vec<ScenarioRun>, String> {
    let mut by_slot: BTreeMap<usize, (String, ScenarioRun)> = BTreeMap::new();
    let mut size = None;
    for (file, runs) in parts {
        for run in runs {
            let Some(Slot { index, of }) = run.slot else {
                return Err(format!(
                    "{file}: run {}@{} has no slot (written by an older harness?)",
                    run.scenario, run.client
                ));
            };
            match size {
                None => size = Some((of, file.clone())),
                Some((total, ref first)) if total != of => {
                    return Err(format!("{file} is a part of a {of}-run matrix, {first} of a {total}-run one"));
                }
                Some(_) => {}
            }
            if let Some((earlier, _)) = by_slot.get(&index) {
                return Err(format!(
                    "run {}@{} (slot {index}) is in both {earlier} and {file}: a shard given twice?",
                    run.scenario, run.client
                ));
            }
            by_slot.insert(index, (file.clone(), run));
        }
    }
    let Some((total, _)) = size else { return Ok(Vec::new()) };
    let missing: BTreeSet<usize> = (0..total).filter(|slot| !by_slot.contains_key(slot)).collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(10).map(ToString::to_string).collect();
        return Err(format!(
            "{} of {total} runs missing (slots {}{}): is a shard's results.json missing?",
            missing.len(),
            shown.join(", "),
            if missing.len() > 10 { ", …" } else { "" }
        ));
    }
    Ok(by_slot.into_values().map(|(_, run)| run).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(n: usize) -> Vec<(String, String)> {
        (0..n).map(|i| (format!("s{}", i / 3), format!("c{}", i % 3))).collect()
    }

    fn refs(m: &[(String, String)]) -> Vec<(&str, &str)> {
        m.iter().map(|(s, c)| (s.as_str(), c.as_str())).collect()
    }

    fn partition_holds(n: usize, count: usize, durations: Option<&Durations>) -> Vec<Vec<usize>> {
        let m = matrix(n);
        let parts: Vec<Vec<usize>> =
            (1..=count).map(|index| Shard { index, count }.slots(&refs(&m), durations)).collect();
        let mut all: Vec<usize> = parts.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>(), "{count} shards of {n}: disjoint and covering");
        parts
    }

    #[test]
    fn shards_are_disjoint_cover_everything_and_differ_by_one_run_at_most() {
        for n in [0, 1, 5, 46, 276, 277] {
            for count in 1..=7 {
                let parts = partition_holds(n, count, None);
                let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
                assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
                // Each client's runs are spread too, not one client to a shard.
                let m = matrix(n);
                for client in ["c0", "c1", "c2"] {
                    let share: Vec<usize> =
                        parts.iter().map(|p| p.iter().filter(|&&slot| m[slot].1 == client).count()).collect();
                    assert!(share.iter().max().unwrap() - share.iter().min().unwrap() <= 1, "{client}: {share:?}");
                }
            }
        }
    }

    #[test]
    fn recorded_durations_balance_the_time_of_each_shard() {
        let m = matrix(30);
        // Client c0 is a hundred times slower than the others: count-balanced shards would not be.
        let durations = Durations::new(
            m.iter()
                .map(|(s, c)| ((s.clone(), c.clone()), Duration::from_millis(if c == "c0" { 1000 } else { 10 })))
                .collect(),
        );
        for count in 1..=4 {
            let parts = partition_holds(30, count, Some(&durations));
            let times: Vec<Duration> =
                parts.iter().map(|p| p.iter().map(|&slot| durations.of(&m[slot].0, &m[slot].1)).sum()).collect();
            let (max, min) = (times.iter().max().unwrap(), times.iter().min().unwrap());
            assert!(*max - *min <= Duration::from_millis(1000), "{count} shards: {times:?}");
        }
        // The same plan on every machine.
        let again = Shard { index: 2, count: 3 }.slots(&refs(&m), Some(&durations));
        assert_eq!(again, Shard { index: 2, count: 3 }.slots(&refs(&m), Some(&durations)));
    }

    #[test]
    fn a_run_never_seen_weighs_like_a_typical_one() {
        let durations = Durations::new(BTreeMap::from([
            (("a".into(), "x".into()), Duration::from_millis(10)),
            (("b".into(), "x".into()), Duration::from_millis(20)),
            (("c".into(), "x".into()), Duration::from_millis(30)),
        ]));
        assert_eq!(durations.of("new", "x"), Duration::from_millis(20));
    }

    #[test]
    fn shard_syntax_is_k_of_n() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "2", "a/b", "2/0", ""] {
            let error = bad.parse::<Shard>().unwrap_err();
            assert!(error.contains("K/N"), "{bad}: {error}");
        }
    }
}
