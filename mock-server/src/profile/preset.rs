//! Named presets: each is only a set of knobs over the happy path.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::{
    AsOrigin, AuthorizationServerKnobs, ClientAuthMethod, IssParameter, MetadataDocument, MetadataLocation,
    PreregisteredClient, Profile, ProfileError, ProtocolVersion, RefreshPolicy,
};

/// The named layouts real clients break on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Preset {
    HappyPath,
    PrmWellKnownOnly,
    PrmHeaderOnly,
    PrmRootOnly,
    SplitOrigin,
    SplitOriginPathIssuer,
    OidcOnly,
    Rfc8414Only,
    PkceNotAdvertised,
    Preregistered,
    Cimd,
    Backcompat20250326,
    BackcompatNoMetadata,
    ScopeFromChallenge,
    StepUp,
    ShortTtl,
    NoRefresh,
    IssuerMismatch,
    IssWrong,
    IssOmitted,
    ResourceMismatch,
    ClientCredentialsBasic,
    ClientCredentialsPost,
    ClientCredentialsJwt,
    EnterpriseManaged,
    Dpop,
    WorkloadIdentity,
}

impl Preset {
    /// Every preset, in the order `mock-server profiles` lists them.
    pub const ALL: [Preset; 27] = [
        Self::HappyPath,
        Self::PrmWellKnownOnly,
        Self::PrmHeaderOnly,
        Self::PrmRootOnly,
        Self::SplitOrigin,
        Self::SplitOriginPathIssuer,
        Self::OidcOnly,
        Self::Rfc8414Only,
        Self::PkceNotAdvertised,
        Self::Preregistered,
        Self::Cimd,
        Self::Backcompat20250326,
        Self::BackcompatNoMetadata,
        Self::ScopeFromChallenge,
        Self::StepUp,
        Self::ShortTtl,
        Self::NoRefresh,
        Self::IssuerMismatch,
        Self::IssWrong,
        Self::IssOmitted,
        Self::ResourceMismatch,
        Self::ClientCredentialsBasic,
        Self::ClientCredentialsPost,
        Self::ClientCredentialsJwt,
        Self::EnterpriseManaged,
        Self::Dpop,
        Self::WorkloadIdentity,
    ];

    /// The preset's name as profiles and scenario files spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::HappyPath => "happy-path",
            Self::PrmWellKnownOnly => "prm-well-known-only",
            Self::PrmHeaderOnly => "prm-header-only",
            Self::PrmRootOnly => "prm-root-only",
            Self::SplitOrigin => "split-origin",
            Self::SplitOriginPathIssuer => "split-origin-path-issuer",
            Self::OidcOnly => "oidc-only",
            Self::Rfc8414Only => "rfc8414-only",
            Self::PkceNotAdvertised => "pkce-not-advertised",
            Self::Preregistered => "preregistered",
            Self::Cimd => "cimd",
            Self::Backcompat20250326 => "backcompat-2025-03-26",
            Self::BackcompatNoMetadata => "backcompat-no-metadata",
            Self::ScopeFromChallenge => "scope-from-challenge",
            Self::StepUp => "step-up",
            Self::ShortTtl => "short-ttl",
            Self::NoRefresh => "no-refresh",
            Self::IssuerMismatch => "issuer-mismatch",
            Self::IssWrong => "iss-wrong",
            Self::IssOmitted => "iss-omitted",
            Self::ResourceMismatch => "resource-mismatch",
            Self::ClientCredentialsBasic => "client-credentials-basic",
            Self::ClientCredentialsPost => "client-credentials-post",
            Self::ClientCredentialsJwt => "client-credentials-jwt",
            Self::EnterpriseManaged => "enterprise-managed",
            Self::Dpop => "dpop",
            Self::WorkloadIdentity => "workload-identity",
        }
    }

    /// One line on what the preset is for.
    pub fn summary(self) -> &'static str {
        match self {
            Self::HappyPath => {
                "2025-11-25 happy path: PRM path-inserted and in the challenge, same-origin AS, DCR, consent page"
            }
            Self::PrmWellKnownOnly => {
                "PRM only at its path-inserted well-known URL; the 401 challenge does not point to it"
            }
            Self::PrmHeaderOnly => "PRM only at a custom path that only the 401 challenge's resource_metadata names",
            Self::PrmRootOnly => "PRM only at the root well-known URL, not in the challenge",
            Self::SplitOrigin => "authorization server on another origin (its own listener)",
            Self::SplitOriginPathIssuer => "authorization server on another origin with issuer path /tenant1",
            Self::OidcOnly => "AS metadata only through OpenID Connect discovery (path-inserted and path-appended)",
            Self::Rfc8414Only => "AS metadata only through RFC 8414",
            Self::PkceNotAdvertised => {
                "AS metadata omits code_challenge_methods_supported: a 2025-11-25 client must refuse"
            }
            Self::Preregistered => {
                "no DCR; a pre-registered confidential client `harness-client` (client_secret_basic)"
            }
            Self::Cimd => "client ID metadata documents: a URL client_id the AS fetches and checks",
            Self::Backcompat20250326 => {
                "2025-03-26 server: speaks only protocol 2025-03-26; no PRM, AS metadata on the MCP origin"
            }
            Self::BackcompatNoMetadata => {
                "2025-03-26 server (protocol 2025-03-26 only) with no metadata at all: default /authorize, /token, /register"
            }
            Self::ScopeFromChallenge => "401 challenge carries scope=\"mcp:read\"; PRM lists no scopes",
            Self::StepUp => "challenge asks for mcp:read; write_note answers 403 insufficient_scope for mcp:write",
            Self::ShortTtl => "access tokens live 2 s; refresh tokens rotate and reuse revokes the family",
            Self::NoRefresh => "no refresh tokens are ever issued",
            Self::IssuerMismatch => "AS metadata issuer differs from the URL it was fetched for (RFC 8414 §3.3)",
            Self::IssWrong => "authorization response carries a wrong RFC 9207 iss",
            Self::IssOmitted => "iss advertised but left out of the authorization response",
            Self::ResourceMismatch => "PRM resource names another server (RFC 9728 §3.3): a client must refuse",
            Self::ClientCredentialsBasic => {
                "client credentials (SEP-1046): machine client `harness-machine` with a secret, client_secret_basic"
            }
            Self::ClientCredentialsPost => {
                "client credentials (SEP-1046): machine client `harness-machine` with a secret, client_secret_post"
            }
            Self::ClientCredentialsJwt => {
                "client credentials (SEP-1046): machine client `harness-machine`, private_key_jwt with a per-run key"
            }
            Self::EnterpriseManaged => {
                "enterprise-managed authorization (SEP-990): an identity provider on its own origin issues ID-JAGs for the pre-registered `harness-client`"
            }
            Self::Dpop => {
                "DPoP (RFC 9449, SEP-1932): ES256 proofs bind tokens to the client's key; the MCP endpoint wants DPoP, not Bearer, for them"
            }
            Self::WorkloadIdentity => {
                "workload identity federation (SEP-1933): the AS trusts a per-run workload issuer and redeems its workload JWT with the JWT-bearer grant, no client registration"
            }
        }
    }

    /// The knobs this preset sets.
    pub fn profile(self) -> Profile {
        let mut p = Profile::happy_path();
        let rm = &mut p.resource_metadata;
        let asv = &mut p.authorization_server;
        match self {
            Self::HappyPath => {}
            Self::PrmWellKnownOnly => rm.in_challenge = false,
            Self::PrmHeaderOnly => rm.location = MetadataLocation::Custom,
            Self::PrmRootOnly => {
                rm.location = MetadataLocation::Root;
                rm.in_challenge = false;
            }
            Self::SplitOrigin => asv.origin = AsOrigin::Separate,
            Self::SplitOriginPathIssuer => {
                asv.origin = AsOrigin::Separate;
                asv.issuer_path = "/tenant1".into();
            }
            Self::OidcOnly => asv.metadata = vec![MetadataDocument::Openid, MetadataDocument::OpenidAppended],
            Self::Rfc8414Only => asv.metadata = vec![MetadataDocument::Oauth],
            Self::PkceNotAdvertised => asv.advertise_pkce = false,
            Self::Preregistered => preregistered_client(asv),
            Self::Cimd => asv.client_id_metadata_documents = true,
            Self::Backcompat20250326 => {
                p.resource.protocol_versions = vec![ProtocolVersion::V2025_03_26];
                rm.location = MetadataLocation::None;
                rm.in_challenge = false;
                asv.metadata = vec![MetadataDocument::Oauth];
            }
            Self::BackcompatNoMetadata => {
                p.resource.protocol_versions = vec![ProtocolVersion::V2025_03_26];
                rm.location = MetadataLocation::None;
                rm.in_challenge = false;
                asv.metadata = Vec::new();
                asv.iss_parameter = IssParameter::NotAdvertised;
            }
            Self::ScopeFromChallenge => {
                p.resource.challenge_scope = Some("mcp:read".into());
                rm.scopes_supported = Vec::new();
            }
            Self::StepUp => {
                p.resource.challenge_scope = Some("mcp:read".into());
                p.resource.required_scopes = vec!["mcp:read".into()];
                rm.scopes_supported = vec!["mcp:read".into()];
            }
            Self::ShortTtl => {
                p.tokens.access_token_ttl_secs = 2;
                p.tokens.refresh = RefreshPolicy::Rotate;
                p.tokens.revoke_family_on_reuse = true;
            }
            Self::NoRefresh => p.tokens.refresh = RefreshPolicy::None,
            Self::IssuerMismatch => asv.issuer_override = Some("http://issuer.invalid".into()),
            Self::IssWrong => asv.iss_parameter = IssParameter::Wrong,
            Self::IssOmitted => asv.iss_parameter = IssParameter::Omitted,
            Self::ResourceMismatch => rm.resource_override = Some("http://evil.invalid/mcp".into()),
            Self::ClientCredentialsBasic => machine_client(asv, ClientAuthMethod::ClientSecretBasic),
            Self::ClientCredentialsPost => machine_client(asv, ClientAuthMethod::ClientSecretPost),
            Self::ClientCredentialsJwt => machine_client(asv, ClientAuthMethod::PrivateKeyJwt),
            Self::EnterpriseManaged => {
                preregistered_client(asv);
                p.enterprise_idp.enabled = true;
            }
            Self::Dpop => p.dpop.enabled = true,
            Self::WorkloadIdentity => p.workload_identity.enabled = true,
        }
        p
    }
}

/// No DCR; one pre-registered confidential client `harness-client` (client_secret_basic).
fn preregistered_client(asv: &mut AuthorizationServerKnobs) {
    asv.dynamic_registration = false;
    asv.token_endpoint_auth_methods = vec![ClientAuthMethod::ClientSecretBasic];
    asv.preregistered_clients = vec![PreregisteredClient {
        client_id: "harness-client".into(),
        client_secret: Some("harness-secret".into()),
        auth_method: ClientAuthMethod::ClientSecretBasic,
        redirect_uris: Vec::new(),
        client_credentials: false,
        disabled: false,
    }];
}

/// One pre-registered machine client authenticating with `method`, no DCR. The metadata lists
/// both secret methods whichever the client uses (SEP-1046 makes `private_key_jwt` or
/// `client_secret_basic` a MUST there), so a client has to use the one it was registered with,
/// not guess from the list.
fn machine_client(asv: &mut AuthorizationServerKnobs, method: ClientAuthMethod) {
    asv.dynamic_registration = false;
    asv.token_endpoint_auth_methods = match method {
        ClientAuthMethod::PrivateKeyJwt => vec![ClientAuthMethod::PrivateKeyJwt],
        _ => vec![ClientAuthMethod::ClientSecretBasic, ClientAuthMethod::ClientSecretPost],
    };
    asv.preregistered_clients = vec![PreregisteredClient {
        client_id: "harness-machine".into(),
        client_secret: (method != ClientAuthMethod::PrivateKeyJwt).then(|| "harness-machine-secret".into()),
        auth_method: method,
        redirect_uris: Vec::new(),
        client_credentials: true,
        disabled: false,
    }];
}

/// Serde reads a preset through its name, so the schema lists the names, each with its summary.
impl JsonSchema for Preset {
    fn schema_name() -> Cow<'static, str> {
        "Preset".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<_> =
            Self::ALL.iter().map(|p| serde_json::json!({ "const": p.name(), "description": p.summary() })).collect();
        json_schema!({
            "description": "A named layout: a set of knobs over the happy path.",
            "type": "string",
            "oneOf": names,
        })
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Preset> for String {
    fn from(preset: Preset) -> Self {
        preset.name().to_owned()
    }
}

impl TryFrom<String> for Preset {
    type Error = ProfileError;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse()
    }
}

impl FromStr for Preset {
    type Err = ProfileError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.name() == name).ok_or_else(|| ProfileError::UnknownPreset(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_round_trips_its_name() {
        for preset in Preset::ALL {
            assert_eq!(preset.name().parse::<Preset>().unwrap(), preset);
        }
    }

    #[test]
    fn presets_differ_from_each_other() {
        for (i, a) in Preset::ALL.iter().enumerate() {
            for b in &Preset::ALL[i + 1..] {
                assert_ne!(a.profile(), b.profile(), "{a} and {b} set the same knobs");
            }
        }
    }
}
