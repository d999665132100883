//! MCP authorization extensions (outside the core specification, opt-in on both sides): what a
//! scenario may be about and what a client adapter says it implements. A client that does not
//! implement a scenario's extension is not judged on it: every step is "not applicable", with
//! the reason, never failed and never passed.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An authorization extension, as scenario files name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Extension {
    /// `io.modelcontextprotocol/oauth-client-credentials` (SEP-1046): machine-to-machine tokens
    /// with the `client_credentials` grant and a pre-registered client (a secret or a
    /// `private_key_jwt` key).
    OauthClientCredentials,
    /// `io.modelcontextprotocol/enterprise-managed-authorization` (SEP-990): an RFC 8693 token
    /// exchange at the enterprise identity provider for an ID-JAG, then the RFC 7523 JWT-bearer
    /// grant at the MCP authorization server.
    EnterpriseManagedAuthorization,
    /// `io.modelcontextprotocol/auth/dpop` (SEP-1932, a draft; the identifier is the official
    /// conformance suite's): DPoP (RFC 9449) sender-constrained tokens, a proof of the client's
    /// key with every token request and every MCP request.
    Dpop,
    /// `io.modelcontextprotocol/auth/wif` (SEP-1933, a draft; the identifier is the official
    /// conformance suite's): workload identity federation, a platform-issued workload JWT
    /// presented with the RFC 7523 JWT-bearer grant, no client secret, no registration, no user.
    Wif,
}

impl Extension {
    pub const ALL: [Self; 4] =
        [Self::OauthClientCredentials, Self::EnterpriseManagedAuthorization, Self::Dpop, Self::Wif];

    /// Its name in scenario files and manifests (`extension = "dpop"`).
    pub fn name(self) -> &'static str {
        match self {
            Self::OauthClientCredentials => "oauth-client-credentials",
            Self::EnterpriseManagedAuthorization => "enterprise-managed-authorization",
            Self::Dpop => "dpop",
            Self::Wif => "wif",
        }
    }

    /// The identifier a client declares in `io.modelcontextprotocol/clientCapabilities`.
    pub fn id(self) -> &'static str {
        match self {
            Self::OauthClientCredentials => "io.modelcontextprotocol/oauth-client-credentials",
            Self::EnterpriseManagedAuthorization => "io.modelcontextprotocol/enterprise-managed-authorization",
            Self::Dpop => "io.modelcontextprotocol/auth/dpop",
            Self::Wif => "io.modelcontextprotocol/auth/wif",
        }
    }
}

impl std::str::FromStr for Extension {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|e| e.name() == name).ok_or_else(|| {
            let known: Vec<_> = Self::ALL.iter().map(|e| e.name()).collect();
            format!("unknown authorization extension `{name}` (known: {})", known.join(", "))
        })
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_ones_files_use() {
        for extension in Extension::ALL {
            let written: Extension = serde_json::from_value(serde_json::json!(extension.name())).unwrap();
            assert_eq!(written, extension);
            assert_eq!(extension.name().parse::<Extension>(), Ok(extension));
        }
        assert!("pkce".parse::<Extension>().unwrap_err().contains("known: oauth-client-credentials"));
    }
}
