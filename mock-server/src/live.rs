//! The knobs a running mock reads on every request, so a test can change them while it runs
//! ([`MockServer::apply`](crate::MockServer::apply)).
//!
//! Knobs that decide which listeners exist and which routes they mount are read once, when the
//! mock starts; changing one of those live is refused, naming the knob.

use std::sync::{PoisonError, RwLock};

use crate::profile::{Profile, ProfileError};

/// Knobs fixed when the listeners start: they choose origins, ports and mounted routes.
const FIXED_KNOBS: &[&str] = &[
    "resource.paths",
    "resource.trailing_slash",
    "resource_metadata.location",
    "resource_metadata.custom_path",
    "authorization_server.origin",
    "authorization_server.issuer_path",
    "authorization_server.authorize_origin",
    "authorization_server.token_origin",
    "authorization_server.registration_origin",
    "authorization_server.metadata",
    "authorization_server.root_metadata",
    "authorization_server.fallback.endpoints",
    "authorization_server.dynamic_registration",
    "authorization_server.preregistered_clients",
];

/// The profile a running mock serves from, shared by its handlers.
#[derive(Debug)]
pub struct LiveProfile(RwLock<Profile>);

impl LiveProfile {
    pub fn new(profile: Profile) -> Self {
        Self(RwLock::new(profile))
    }

    /// Reads the knobs as they are now. `read` must not block: the lock is held while it runs.
    pub fn read<R>(&self, read: impl FnOnce(&Profile) -> R) -> R {
        // Replacing the profile is one assignment, so a poisoned lock still holds a whole one.
        read(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn get(&self) -> Profile {
        self.read(Profile::clone)
    }

    pub fn replace(&self, profile: Profile) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = profile;
    }
}

impl Profile {
    /// Layers knob changes over the profile of a running mock, like
    /// [`with_overrides`](Self::with_overrides), refusing the knobs that set its listeners and
    /// routes (`resource.paths`, `authorization_server.origin`, …): those need a new mock.
    pub fn with_live_overrides(&self, overrides: &toml::Table) -> Result<Self, ProfileError> {
        let changed = self.with_overrides(overrides)?;
        match knob_settings(overrides)
            .into_iter()
            .map(|(path, _)| path)
            .find(|path| FIXED_KNOBS.contains(&path.as_str()))
        {
            Some(path) => Err(ProfileError::Knob {
                path,
                message: "cannot change on a running server: it sets the listeners and their routes".into(),
            }),
            None => Ok(changed),
        }
    }
}

/// Each knob a table of overrides sets, by dotted path, with its value
/// (`resource.required_scopes`, `["mcp:admin"]`).
pub fn knob_settings(overrides: &toml::Table) -> Vec<(String, toml::Value)> {
    fn walk(table: &toml::Table, prefix: &str, out: &mut Vec<(String, toml::Value)>) {
        for (key, value) in table {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            match value {
                toml::Value::Table(inner) => walk(inner, &path, out),
                _ => out.push((path, value.clone())),
            }
        }
    }
    let mut out = Vec::new();
    walk(overrides, "", &mut out);
    out
}

/// Knob settings on one line: `resource.required_scopes = ["mcp:admin"], tokens.refresh = "none"`.
pub fn describe_knobs(overrides: &toml::Table) -> String {
    knob_settings(overrides).iter().map(|(path, value)| format!("{path} = {value}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn scopes_change_live() {
        let changed =
            Profile::happy_path().with_live_overrides(&table("[resource]\nrequired_scopes = [\"mcp:admin\"]")).unwrap();
        assert_eq!(changed.resource.required_scopes, ["mcp:admin"]);
    }

    #[test]
    fn layout_knobs_are_refused_by_path() {
        let err = Profile::happy_path()
            .with_live_overrides(&table("[authorization_server]\nconsent = \"auto\"\norigin = \"separate\""))
            .unwrap_err();
        assert!(matches!(&err, ProfileError::Knob { path, .. } if path == "authorization_server.origin"), "{err}");
        assert!(err.to_string().contains("running server"), "{err}");
    }

    #[test]
    fn unknown_knobs_are_still_unknown() {
        let err = Profile::happy_path().with_live_overrides(&table("[resource]\npathz = []")).unwrap_err();
        assert!(matches!(&err, ProfileError::Knob { path, .. } if path == "resource.pathz"), "{err}");
    }
}
