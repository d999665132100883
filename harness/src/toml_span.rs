//! Where in a TOML file an error is: line and column of a byte offset, and the field it is about.
//! Shared by scenario files and client manifests, whose errors name file, line, column and field.

use std::ops::Range;

/// A TOML file (a scenario, a client manifest) that cannot be used, and exactly where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("{file}: cannot read: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("{file}:{line}:{column}: field `{field}`: {message}")]
    Invalid { file: String, line: usize, column: usize, field: String, message: String },
}

impl FileError {
    /// An error about `field`, at `span` of `text` (the contents of `file`).
    pub fn at(file: &str, text: &str, span: Range<usize>, field: &str, message: String) -> Self {
        let (line, column) = line_column(text, span.start);
        Self::Invalid { file: file.to_owned(), line, column, field: field.to_owned(), message }
    }
}

/// Deserializes `text`; a failure comes back as its span, the field it is about and the message.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, (Range<usize>, String, String)> {
    toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let field = field_at(text, &span, e.message());
        (span, field, e.message().trim().to_owned())
    })
}

/// 1-based line and column of `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |nl| before.len() - nl - 1) + 1;
    (line, column)
}

/// The field an error is about: named in the message (`unknown field `x``, `missing field `x``)
/// or else the key the span points at.
fn field_at(text: &str, span: &Range<usize>, message: &str) -> String {
    for marker in ["unknown field `", "missing field `", "duplicate key `"] {
        if let Some(rest) = message.split(marker).nth(1)
            && let Some(name) = rest.split('`').next()
        {
            return name.to_owned();
        }
    }
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or_default();
    match line.split_once('=') {
        Some((key, _)) => key.trim().to_owned(),
        None => line.trim().trim_matches(['[', ']']).to_owned(),
    }
}
