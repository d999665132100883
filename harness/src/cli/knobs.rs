//! `knobs`: every profile knob with its type, default, allowed values, doc and the presets that
//! change it, generated from the profile's types (the README's knob reference is this command's
//! Markdown output).

use std::fmt::Write as _;
use std::process::ExitCode;

use mock_server::placeholder;
use mock_server::profile::{Knob, KnobTable, Setting, knob_tables};

#[derive(clap::Args)]
pub struct Args {
    /// `text` for a terminal, `markdown` for the README's reference tables.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Markdown,
}

pub fn exec(args: Args) -> super::Outcome {
    let tables = knob_tables();
    print!(
        "{}",
        match args.format {
            Format::Text => text(&tables),
            Format::Markdown => markdown(&tables),
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn text(tables: &[KnobTable]) -> String {
    let mut out = String::new();
    for table in tables {
        let _ = writeln!(out, "{}  {}", header(table), table.doc);
        for knob in &table.knobs {
            let _ = writeln!(out, "  {}  ({}; {})", knob.path, knob.kind, default(knob));
            let _ = writeln!(out, "      {}", knob.doc);
            let width = knob.choices.iter().map(|c| c.value.len() + 2).max().unwrap_or(0);
            for choice in &knob.choices {
                let _ = writeln!(out, "      {:<width$}  {}", format!("\"{}\"", choice.value), choice.doc);
            }
            if !knob.presets.is_empty() {
                let _ = writeln!(out, "      presets: {}", presets(knob, |p, v| format!("{p} = {v}")));
            }
        }
        out.push('\n');
    }
    let _ = writeln!(out, "placeholders, in {}:", placeholder::KNOBS.join(", "));
    for (name, doc) in placeholder::reference() {
        let _ = writeln!(out, "  {name:<32}  {doc}");
    }
    out
}

fn markdown(tables: &[KnobTable]) -> String {
    let mut out = String::new();
    for table in tables {
        let _ = writeln!(out, "**`{}`** — {}\n", header(table), cell(&table.doc));
        out.push_str("| knob | type | default | what it sets |\n|---|---|---|---|\n");
        for knob in &table.knobs {
            let name = knob.path.rsplit('.').next().unwrap_or(&knob.path);
            let mut what = cell(&knob.doc);
            if !knob.choices.is_empty() {
                let choices: Vec<String> =
                    knob.choices.iter().map(|c| format!("`{}`: {}", c.value, cell(&c.doc))).collect();
                let _ = write!(what, "<br>{}", choices.join("<br>"));
            }
            if !knob.presets.is_empty() {
                let _ = write!(what, "<br>Presets: {}", presets(knob, |p, v| format!("`{p}` = `{}`", cell(&v))));
            }
            let default = match &knob.default {
                Some(Setting::Value(value)) => format!("`{}`", cell(&value.to_string())),
                Some(Setting::Unset) => "unset".into(),
                None => "required".into(),
            };
            let _ = writeln!(out, "| `{name}` | {} | {default} | {what} |", knob.kind);
        }
        out.push('\n');
    }
    let knobs: Vec<String> = placeholder::KNOBS.iter().map(|k| format!("`{k}`")).collect();
    let _ = writeln!(out, "**Placeholders**, in {}:\n", knobs.join(", "));
    out.push_str("| placeholder | stands for |\n|---|---|\n");
    for (name, doc) in placeholder::reference() {
        let _ = writeln!(out, "| `{name}` | {} |", cell(doc));
    }
    out
}

/// The table's TOML header: `[tokens]`, or `[[…]]` for the elements of a list of tables.
fn header(table: &KnobTable) -> String {
    match table.path.strip_suffix("[]") {
        Some(list) => format!("[[{list}]]"),
        None => format!("[{}]", table.path),
    }
}

fn default(knob: &Knob) -> String {
    match &knob.default {
        Some(value) => format!("default {value}"),
        None => "required".into(),
    }
}

fn presets(knob: &Knob, each: impl Fn(&str, String) -> String) -> String {
    knob.presets.iter().map(|(preset, value)| each(preset.name(), value.to_string())).collect::<Vec<_>>().join(", ")
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
