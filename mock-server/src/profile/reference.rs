//! The knob reference: every knob of a [`Profile`] with its dotted path, type, default, allowed
//! values and doc comment, read from the profile's JSON Schema, so the code stays the only
//! source (the derive turns doc comments into descriptions and serde defaults into defaults).

use std::fmt;

use schemars::generate::SchemaSettings;
use serde_json::Value;

use super::{Preset, Profile};

/// The knobs of one table of a profile (`[authorization_server]`), in the order of their names.
#[derive(Debug, Clone, PartialEq)]
pub struct KnobTable {
    /// Dotted path of the table (`authorization_server`); `[]` stands for each element of a list
    /// of tables (`authorization_server.preregistered_clients[]`).
    pub path: String,
    /// What the table is about.
    pub doc: String,
    pub knobs: Vec<Knob>,
}

/// One knob, as a scenario's `[servers.NAME.profile]` table spells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Knob {
    /// Dotted path (`authorization_server.consent`).
    pub path: String,
    /// What the value is: `boolean`, `integer ≥ 0`, `string`, `enum`, `table`, `list of …`.
    pub kind: String,
    /// The value when the knob is left out; `None` when it must be given (a key of a list
    /// element such as a pre-registered client's `client_id`).
    pub default: Option<Setting>,
    /// For an enum, or a list of one: each value with its doc.
    pub choices: Vec<Choice>,
    /// The doc comment, on one line.
    pub doc: String,
    /// The presets that set the knob to another value than the happy path's, with that value.
    pub presets: Vec<(Preset, Setting)>,
}

/// One value of an enum knob.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// As a scenario file writes it (`path-inserted`).
    pub value: String,
    pub doc: String,
}

/// A knob's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    /// Left out: TOML has no null.
    Unset,
    /// A value as TOML writes it.
    Value(toml::Value),
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unset => f.write_str("unset"),
            Self::Value(value) => value.fmt(f),
        }
    }
}

impl From<&Value> for Setting {
    fn from(value: &Value) -> Self {
        // Null means "left out", inside a table as at the top.
        fn without_nulls(value: &Value) -> Value {
            match value {
                Value::Object(map) => Value::Object(
                    map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
                ),
                Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
                other => other.clone(),
            }
        }
        match value {
            Value::Null => Self::Unset,
            value => toml::Value::try_from(without_nulls(value)).map_or(Self::Unset, Self::Value),
        }
    }
}

/// Every table of knobs of a profile, each knob with the presets that change it.
pub fn knob_tables() -> Vec<KnobTable> {
    // Inlined subschemas: each knob's schema is where the walk meets it, with no `$ref` to follow.
    let schema = SchemaSettings::draft07()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<Profile>();
    let as_value = |profile: Profile| serde_json::to_value(profile).expect("a profile always serializes");
    let happy_path = as_value(Profile::happy_path());
    let presets: Vec<(Preset, Value)> = Preset::ALL.iter().map(|p| (*p, as_value(p.profile()))).collect();
    let mut tables = Vec::new();
    walk_table("", schema.as_value(), &Presets { happy_path: &happy_path, presets: &presets }, &mut tables);
    tables.retain(|t| !t.knobs.is_empty());
    tables
}

/// Each preset's profile as JSON, to find the knobs it changes.
struct Presets<'a> {
    happy_path: &'a Value,
    presets: &'a [(Preset, Value)],
}

impl Presets<'_> {
    fn changing(&self, path: &str) -> Vec<(Preset, Setting)> {
        let pointer = format!("/{}", path.replace('.', "/"));
        let Some(happy_path) = self.happy_path.pointer(&pointer) else {
            // Inside a list element (`[]`): the list's own entry shows the presets.
            return Vec::new();
        };
        self.presets
            .iter()
            .filter_map(|(preset, profile)| {
                profile.pointer(&pointer).filter(|v| *v != happy_path).map(|v| (*preset, Setting::from(v)))
            })
            .collect()
    }
}

/// Adds the table at `path` (`schema` is an object schema), then the tables nested in it.
fn walk_table(path: &str, schema: &Value, presets: &Presets, tables: &mut Vec<KnobTable>) {
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut table = KnobTable { path: path.to_owned(), doc: doc(schema), knobs: Vec::new() };
    let mut nested = Vec::new();
    for (name, knob) in schema["properties"].as_object().into_iter().flatten() {
        let knob_path = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
        if is_table(knob) {
            nested.push((knob_path, knob));
            continue;
        }
        if is_table(&knob["items"]) {
            nested.push((format!("{knob_path}[]"), &knob["items"]));
        }
        table.knobs.push(Knob {
            kind: kind(knob),
            default: match knob.get("default") {
                Some(value) => Some(Setting::from(value)),
                None if required.contains(&name.as_str()) => None,
                None => Some(Setting::Unset),
            },
            choices: choices(knob),
            doc: doc(knob),
            presets: presets.changing(&knob_path),
            path: knob_path,
        });
    }
    tables.push(table);
    for (path, schema) in nested {
        walk_table(&path, schema, presets, tables);
    }
}

fn is_table(schema: &Value) -> bool {
    schema.get("properties").is_some()
}

/// The schema's description on one line.
fn doc(schema: &Value) -> String {
    schema["description"].as_str().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The schema without the `null` that an `Option` adds.
fn not_null(schema: &Value) -> &Value {
    schema["anyOf"]
        .as_array()
        .and_then(|any| {
            let mut others = any.iter().filter(|s| s["type"] != "null");
            others.next().filter(|_| others.next().is_none())
        })
        .unwrap_or(schema)
}

fn kind(schema: &Value) -> String {
    let schema = not_null(schema);
    if !choices_here(schema).is_empty() {
        return "enum".into();
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
        _ => Vec::new(),
    };
    match types.as_slice() {
        ["boolean"] => "boolean".into(),
        ["integer"] if schema["minimum"] == 0 => "integer ≥ 0".into(),
        ["integer"] => "integer".into(),
        ["number"] => "number".into(),
        ["string"] => "string".into(),
        ["object"] => "table".into(),
        ["array"] => format!("list of {}", kind(&schema["items"])),
        _ => "any".into(),
    }
}

/// The values of an enum knob, or of the elements of a list knob.
fn choices(schema: &Value) -> Vec<Choice> {
    let schema = not_null(schema);
    match schema.get("items") {
        Some(items) => choices_here(not_null(items)),
        None => choices_here(schema),
    }
}

/// An enum's values: `oneOf` constants when its variants have docs, else a bare `enum`.
fn choices_here(schema: &Value) -> Vec<Choice> {
    let constant =
        |s: &Value| s.get("const").or_else(|| s["enum"].as_array().filter(|e| e.len() == 1).map(|e| &e[0])).cloned();
    if let Some(variants) = schema["oneOf"].as_array() {
        return variants.iter().filter_map(|v| constant(v).map(|c| Choice { value: plain(&c), doc: doc(v) })).collect();
    }
    schema["enum"].as_array().into_iter().flatten().map(|v| Choice { value: plain(v), doc: String::new() }).collect()
}

/// A value without JSON quotes: enum values are names.
fn plain(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn knob(path: &str) -> Knob {
        knob_tables().into_iter().flat_map(|t| t.knobs).find(|k| k.path == path).unwrap_or_else(|| panic!("{path}"))
    }

    #[test]
    fn an_enum_knob_lists_its_values_with_their_docs() {
        let consent = knob("authorization_server.consent");
        assert_eq!(consent.kind, "enum");
        assert_eq!(consent.default.unwrap().to_string(), "\"page\"");
        let values: Vec<_> = consent.choices.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(values, ["page", "auto"]);
        assert_eq!(consent.choices[1].doc, "Redirect back at once, approved.");
        assert!(consent.doc.starts_with("Show an HTML consent page"), "{}", consent.doc);
    }

    #[test]
    fn a_knob_names_the_presets_that_change_it() {
        let origin = knob("authorization_server.origin");
        let presets: Vec<_> = origin.presets.iter().map(|(p, v)| format!("{p}={v}")).collect();
        assert_eq!(presets, ["split-origin=\"separate\"", "split-origin-path-issuer=\"separate\""]);
        assert!(knob("authorization_server.consent").presets.is_empty());
    }

    #[test]
    fn lists_optionals_and_list_elements_have_their_kind_and_default() {
        let metadata = knob("authorization_server.metadata");
        assert_eq!((metadata.kind.as_str(), metadata.choices.len()), ("list of enum", 3));
        assert_eq!(metadata.default.unwrap().to_string(), "[\"oauth\", \"openid\"]");
        assert_eq!(knob("resource.challenge_scope").default, Some(Setting::Unset));
        assert_eq!(knob("tokens.access_token_ttl_secs").kind, "integer ≥ 0");
        let client_id = knob("authorization_server.preregistered_clients[].client_id");
        assert_eq!((client_id.kind.as_str(), client_id.default), ("string", None));
    }

    /// Every field of every knob type is in the reference: the walk misses nothing the serde
    /// types accept.
    #[test]
    fn every_knob_of_the_profile_is_listed() {
        fn leaves(prefix: &str, value: &toml::Value, out: &mut Vec<String>) {
            match value {
                toml::Value::Table(table) => {
                    for (key, value) in table {
                        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                        leaves(&path, value, out);
                    }
                }
                _ => out.push(prefix.to_owned()),
            }
        }
        let mut expected = Vec::new();
        leaves("", &toml::Value::try_from(Profile::happy_path()).unwrap(), &mut expected);
        let listed: Vec<String> = knob_tables().into_iter().flat_map(|t| t.knobs).map(|k| k.path).collect();
        for path in &expected {
            assert!(listed.contains(path), "{path} is missing from the reference");
        }
        assert!(knob_tables().iter().flat_map(|t| &t.knobs).all(|k| !k.doc.is_empty()), "every knob has a doc");
    }
}
