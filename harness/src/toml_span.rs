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

/// Deserializes `text`; a failure comes back as its span, the dotted path of the field it is
/// about (`steps[2].expect.outcome`: the key itself for an unknown one) and the message.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, (Range<usize>, String, String)> {
    let syntax = |e: toml::de::Error| {
        let span = e.span().unwrap_or(0..0);
        let field = field_at(text, &span, e.message());
        (span, field, e.message().trim().to_owned())
    };
    let document = toml::de::Deserializer::parse(text).map_err(syntax)?;
    // serde_path_to_error follows the deserializer down to the failing key; toml only knows the
    // span of the value it was reading.
    serde_path_to_error::deserialize(document).map_err(|e| {
        let path: Vec<Segment> = e.path().iter().filter_map(Segment::from_path).collect();
        let error = e.into_inner();
        let message = error.message().trim().to_owned();
        let mut field = render(&path);
        if let Some(name) = named_in(&message, "missing field `") {
            field = if field.is_empty() { name } else { format!("{field}.{name}") };
        }
        let span = if message.starts_with("unknown field") { key_span(text, &path) } else { None };
        (span.or_else(|| error.span()).unwrap_or(0..0), field, message)
    })
}

/// One step of a path into a TOML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

impl Segment {
    /// A step of serde_path_to_error's path; toml's own span wrapper (`Spanned`) is not one.
    fn from_path(segment: &serde_path_to_error::Segment) -> Option<Self> {
        match segment {
            serde_path_to_error::Segment::Seq { index } => Some(Self::Index(*index)),
            serde_path_to_error::Segment::Map { key } if !key.starts_with("$__") => Some(Self::Key(key.clone())),
            _ => None,
        }
    }
}

/// The segments of a rendered path (`preregistered_clients[0].client_id`).
pub fn parse_path(path: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut pieces = part.split('[');
        if let Some(key) = pieces.next().filter(|k| !k.is_empty()) {
            segments.push(Segment::Key(key.to_owned()));
        }
        segments.extend(pieces.filter_map(|i| i.trim_end_matches(']').parse().ok()).map(Segment::Index));
    }
    segments
}

/// `servers.main.profile`, `steps[2].expect`.
pub fn render(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) if out.is_empty() => out.push_str(key),
            Segment::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// Where the key at the end of `path` is written in `text` (dotted keys, inline and `[[array]]`
/// tables alike), if the document holds it.
pub fn key_span(text: &str, path: &[Segment]) -> Option<Range<usize>> {
    let root = toml::de::DeTable::parse(text).ok()?.into_inner();
    let (last, within) = path.split_last()?;
    let mut value = toml::de::DeValue::Table(root);
    for segment in within {
        value = match (value, segment) {
            (toml::de::DeValue::Table(table), Segment::Key(key)) => {
                table.into_iter().find(|(k, _)| k.get_ref() == key)?.1.into_inner()
            }
            (toml::de::DeValue::Array(array), Segment::Index(index)) => array.into_iter().nth(*index)?.into_inner(),
            _ => return None,
        };
    }
    match (value, last) {
        (toml::de::DeValue::Table(table), Segment::Key(key)) => {
            table.keys().find(|k| k.get_ref() == key).map(toml::Spanned::span)
        }
        (toml::de::DeValue::Array(array), Segment::Index(index)) => array.into_iter().nth(*index).map(|v| v.span()),
        _ => None,
    }
}

fn named_in(message: &str, marker: &str) -> Option<String> {
    message.split(marker).nth(1).and_then(|rest| rest.split('`').next()).map(str::to_owned)
}

/// 1-based line and column of `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |nl| before.len() - nl - 1) + 1;
    (line, column)
}

/// The field a syntax error is about: the key the span points at.
fn field_at(text: &str, span: &Range<usize>, message: &str) -> String {
    if let Some(name) = named_in(message, "duplicate key `") {
        return name;
    }
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or_default();
    match line.split_once('=') {
        Some((key, _)) => key.trim().to_owned(),
        None => line.trim().trim_matches(['[', ']']).to_owned(),
    }
}
