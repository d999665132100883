//! The JSON Schema of scenario files, generated from the types the loader reads, for editors that
//! complete and validate TOML against one (Taplo, Even Better TOML).

use schemars::generate::SchemaSettings;

use super::load::RawScenario;

/// The schema of a scenario file, knobs and step fields included: draft 7 (`definitions`, not
/// `$defs`), the dialect editors' validators support most widely.
pub fn file_schema() -> schemars::Schema {
    SchemaSettings::draft07().into_generator().into_root_schema_for::<RawScenario>()
}
