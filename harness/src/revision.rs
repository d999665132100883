//! Revisions of the MCP specification a run can be judged by. Each check says which clause holds
//! in which revision ([`crate::check::Clause`]); a run names the revision that judged it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A released revision of the MCP specification, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Revision {
    /// The first revision with authorization (OAuth 2.1, default endpoints without metadata).
    V2025_03_26,
    /// Protected resource metadata (RFC 9728) and resource indicators (RFC 8707).
    V2025_06_18,
    /// Client ID metadata documents, scope selection and step-up, PKCE support verified.
    V2025_11_25,
    /// Authorization response validation (RFC 9207), per-AS registration state, DCR deprecated.
    V2026_07_28,
}

impl Revision {
    /// Every revision, oldest first.
    pub const ALL: [Revision; 4] = [Self::V2025_03_26, Self::V2025_06_18, Self::V2025_11_25, Self::V2026_07_28];

    /// The newest release: what a run is judged by unless told otherwise.
    pub const LATEST: Revision = Self::V2026_07_28;

    /// As the specification dates it: `2026-07-28`.
    pub fn name(self) -> &'static str {
        match self {
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Revision {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|r| r.name() == name).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|r| r.name()).collect();
            format!("unknown MCP revision `{name}` (revisions: {})", known.join(", "))
        })
    }
}

impl schemars::JsonSchema for Revision {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Revision".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Self::ALL.iter().map(|r| r.name()).collect();
        schemars::json_schema!({
            "description": "A revision of the MCP specification.",
            "type": "string",
            "enum": names,
        })
    }
}

impl Serialize for Revision {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Revision {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_order() {
        for revision in Revision::ALL {
            assert_eq!(revision.name().parse::<Revision>(), Ok(revision));
        }
        assert!(Revision::ALL.windows(2).all(|w| w[0] < w[1] && w[0].name() < w[1].name()));
        assert_eq!(Revision::LATEST, *Revision::ALL.last().unwrap());
        let error = "2025-13-01".parse::<Revision>().unwrap_err();
        assert!(error.contains("2026-07-28"), "{error}");
    }
}
