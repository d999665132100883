//! How two lists of facts differ: a line diff (similar's Myers, the diff insta uses), each change
//! shown under the request it belongs to so a changed member says where it was served.

use similar::{ChangeTag, capture_diff_slices};

/// Facts without the ones a `--register` registration added (a comparison that registers no
/// client has nothing to compare them with).
pub fn without_registration(facts: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skipping = false;
    for fact in facts {
        if !fact.starts_with(' ') {
            skipping = fact.contains("(--register:");
        }
        if !skipping {
            out.push(fact.clone());
        }
    }
    out
}

/// The changed lines, `- old` and `+ new`, each group after the request line it belongs to
/// (`@ GET …`) when that line itself did not change.
pub fn changes(old: &[String], new: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut context: Option<String> = None;
    let mut shown: Option<String> = None;
    for op in capture_diff_slices(similar::Algorithm::Myers, old, new) {
        for change in op.iter_changes(old, new) {
            let line = change.value();
            let is_request = !line.starts_with(' ');
            match change.tag() {
                ChangeTag::Equal => {
                    if is_request {
                        context = Some(line.clone());
                    }
                }
                tag => {
                    if is_request {
                        // Members changed after it belong to it, and it is shown already.
                        context = Some(line.clone());
                        shown = context.clone();
                    } else if context.is_some() && shown != context {
                        out.push(format!("@ {}", context.clone().unwrap_or_default()));
                        shown = context.clone();
                    }
                    let sign = if tag == ChangeTag::Delete { '-' } else { '+' };
                    out.push(format!("{sign} {line}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn a_changed_member_is_shown_under_its_request() {
        let old = lines("GET {mcp}/a → 200\n  x: 1\n  y: 2\nGET {mcp}/b → 404");
        let new = lines("GET {mcp}/a → 200\n  x: 1\n  y: 3\nGET {mcp}/b → 200");
        assert_eq!(
            changes(&old, &new),
            ["@ GET {mcp}/a → 200", "-   y: 2", "+   y: 3", "- GET {mcp}/b → 404", "+ GET {mcp}/b → 200"]
        );
        assert!(changes(&old, &old).is_empty());
    }
}
