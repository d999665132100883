//! The README's generated blocks (`<!-- NAME:start -->` … `<!-- NAME:end -->`), for the tests
//! that keep each equal to what generates it.

#![allow(dead_code)] // each test binary uses a different part

pub const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");

/// The lines between the line of `<!-- NAME:start -->` and that of `<!-- NAME:end -->` (a marker
/// may be indented, to stay inside a list item), with the offsets they span.
pub fn marked(readme: &str, name: &str) -> (usize, usize) {
    let start_marker = format!("<!-- {name}:start -->\n");
    let start =
        readme.find(&start_marker).unwrap_or_else(|| panic!("README has no {start_marker}")) + start_marker.len();
    let end_marker =
        start + readme[start..].find(&format!("<!-- {name}:end -->")).unwrap_or_else(|| panic!("no {name}:end"));
    let end = readme[start..end_marker].rfind('\n').map_or(start, |newline| start + newline + 1);
    (start, end)
}

/// Holds the README's block `name` equal to `generated`, the output of `source`; with `BLESS`
/// set, rewrites the block instead.
pub fn readme_block_is(name: &str, generated: &str, source: &str) {
    let readme = std::fs::read_to_string(README).unwrap();
    let (start, end) = marked(&readme, name);
    if readme[start..end] == *generated {
        return;
    }
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(README, format!("{}{generated}{}", &readme[..start], &readme[end..])).unwrap();
        return;
    }
    panic!("the README's {name} block differs from `{source}`; rerun with BLESS=1");
}
