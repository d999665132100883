//! How two lists of facts differ: requests matched by method and URL (similar's Myers, the diff
//! insta uses), then the lines of each request, so a changed member says where it was served.

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

/// One request line and the member lines under it.
struct Block<'a> {
    header: &'a String,
    members: &'a [String],
}

impl Block<'_> {
    /// What identifies the request whatever it answered: the text before ` → `.
    fn key(&self) -> &str {
        self.header.split(" → ").next().unwrap_or_default()
    }
}

fn blocks(facts: &[String]) -> Vec<Block<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < facts.len() {
        let end = facts[start + 1..].iter().position(|f| !f.starts_with(' ')).map_or(facts.len(), |n| start + 1 + n);
        out.push(Block { header: &facts[start], members: &facts[start + 1..end] });
        start = end;
    }
    out
}

/// The changed lines, `- old` and `+ new`: requests made on one side only whole, and for a
/// request made on both sides its changed lines, after `@ request` when its own line is the same.
pub fn changes(old: &[String], new: &[String]) -> Vec<String> {
    let (old, new) = (blocks(old), blocks(new));
    let old_keys: Vec<&str> = old.iter().map(Block::key).collect();
    let new_keys: Vec<&str> = new.iter().map(Block::key).collect();
    let mut out = Vec::new();
    let whole = |sign: char, block: &Block, out: &mut Vec<String>| {
        out.push(format!("{sign} {}", block.header));
        out.extend(block.members.iter().map(|m| format!("{sign} {m}")));
    };
    for op in capture_diff_slices(similar::Algorithm::Myers, &old_keys, &new_keys) {
        for change in op.iter_changes(&old_keys, &new_keys) {
            match (change.tag(), change.old_index(), change.new_index()) {
                (ChangeTag::Equal, Some(i), Some(j)) => {
                    let (before, after) = (&old[i], &new[j]);
                    let mut lines = Vec::new();
                    let members = capture_diff_slices(similar::Algorithm::Myers, before.members, after.members);
                    for op in members {
                        for member in op.iter_changes(before.members, after.members) {
                            match member.tag() {
                                ChangeTag::Equal => {}
                                ChangeTag::Delete => lines.push(format!("- {}", member.value())),
                                ChangeTag::Insert => lines.push(format!("+ {}", member.value())),
                            }
                        }
                    }
                    if before.header != after.header {
                        out.push(format!("- {}", before.header));
                        out.push(format!("+ {}", after.header));
                    } else if !lines.is_empty() {
                        out.push(format!("@ {}", before.header));
                    }
                    out.extend(lines);
                }
                (ChangeTag::Delete, Some(i), _) => whole('-', &old[i], &mut out),
                (ChangeTag::Insert, _, Some(j)) => whole('+', &new[j], &mut out),
                _ => {}
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
