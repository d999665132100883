//! What a mock server looks like and how it behaves: one serde type made of composable knobs.
//!
//! A [`Profile`] deserializes from TOML with every field optional (a missing field keeps the
//! 2025-11-25 happy-path value) and unknown fields rejected, so a scenario file can embed it as a
//! table and a typo is an error, not a silently ignored knob. Named presets ([`Preset`]) are
//! nothing but knob sets; [`Profile::with_overrides`] layers a scenario's table over one.

mod preset;
mod reference;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use preset::Preset;
pub use reference::{Choice, Knob, KnobTable, Setting, knob_tables};

/// Everything that shapes one mock: the protected resource, its metadata, the authorization
/// server and the tokens it issues.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// The MCP endpoint and the bearer checks in front of it.
    pub resource: ResourceKnobs,
    /// Protected resource metadata (RFC 9728): where it lives and what it says.
    pub resource_metadata: ResourceMetadataKnobs,
    /// The authorization server: where it lives, what metadata it publishes, how it registers
    /// clients and asks for consent.
    pub authorization_server: AuthorizationServerKnobs,
    /// Lifetimes and rotation of what the token endpoint issues.
    pub tokens: TokenKnobs,
    /// An enterprise identity provider on an origin of its own (enterprise-managed
    /// authorization, SEP-990): it exchanges the user's ID token for an ID-JAG that the
    /// authorization server accepts with the JWT-bearer grant.
    pub enterprise_idp: EnterpriseIdpKnobs,
    /// Workload identity federation (SEP-1933): a workload issuer whose JWTs the authorization
    /// server accepts with the JWT-bearer grant, no client registration needed.
    pub workload_identity: WorkloadIdentityKnobs,
    /// DPoP (RFC 9449, the MCP DPoP extension SEP-1932): sender-constrained tokens, bound to a
    /// key the client proves it holds on every request.
    pub dpop: DpopKnobs,
}

/// DPoP at the token endpoint and the MCP endpoint (RFC 9449).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DpopKnobs {
    /// Advertise `dpop_signing_alg_values_supported: ["ES256"]` (authorization server and
    /// protected resource metadata); a token request with a valid `DPoP` proof gets a token
    /// bound to the proof's key (`token_type` `DPoP`; refresh tokens of public clients too), which
    /// the MCP endpoint accepts only as `Authorization: DPoP` with a proof carrying its `ath`. A
    /// token request without a proof still gets a bearer token.
    pub enabled: bool,
    /// The token endpoint wants its nonce in every proof: a proof without it gets 400
    /// `use_dpop_nonce` and a `DPoP-Nonce` header (RFC 9449 §8).
    pub token_nonce: bool,
    /// The MCP endpoint wants its nonce in every proof: a proof without it gets 401
    /// `WWW-Authenticate: DPoP error="use_dpop_nonce"` and a `DPoP-Nonce` header (RFC 9449 §9).
    pub resource_nonce: bool,
    /// How far a proof's `iat` may be from now, in seconds (SEP-1932: ±5 minutes).
    pub iat_window_secs: u64,
    /// The MCP endpoint refuses every proof as a replay (`invalid_dpop_proof`, "jti already
    /// used"), as it would if an attacker had sent the same proof first: a negative scenario.
    pub resource_refuses_as_replayed: bool,
}

impl Default for DpopKnobs {
    fn default() -> Self {
        Self {
            enabled: false,
            token_nonce: false,
            resource_nonce: false,
            iat_window_secs: 300,
            resource_refuses_as_replayed: false,
        }
    }
}

/// The enterprise identity provider (SEP-990).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EnterpriseIdpKnobs {
    /// Run the identity provider, and have the authorization server accept its ID-JAGs with the
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` grant from the first pre-registered client,
    /// which the identity provider knows by the same id and secret. The user has signed in at
    /// the identity provider already: the harness hands the client the ID token.
    pub enabled: bool,
    /// Lifetime of an ID-JAG in seconds (the extension asks for a short one).
    pub id_jag_ttl_secs: u64,
    /// What the identity provider gets wrong in the ID-JAGs it issues, for negative scenarios.
    pub id_jag: JwtIssue,
}

impl Default for EnterpriseIdpKnobs {
    fn default() -> Self {
        Self { enabled: false, id_jag_ttl_secs: 300, id_jag: JwtIssue::Correct }
    }
}

/// How a JWT the authorization server redeems with the JWT-bearer grant is issued: an ID-JAG
/// (`enterprise_idp.id_jag`) or a workload JWT (`workload_identity.workload_jwt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum JwtIssue {
    /// As it should be: `aud` the authorization server, a future `exp`.
    Correct,
    /// `aud` names another authorization server: the MCP authorization server must refuse it.
    WrongAudience,
    /// Already expired when issued: the MCP authorization server must refuse it.
    Expired,
}

/// Workload identity federation (SEP-1933, `io.modelcontextprotocol/auth/wif`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadIdentityKnobs {
    /// Generate a workload issuer key pair per run (as a Kubernetes cluster, a SPIFFE trust
    /// domain or a cloud platform would hold), have the authorization server trust it and
    /// accept a workload JWT from it with the `urn:ietf:params:oauth:grant-type:jwt-bearer`
    /// grant, with no client authentication and no registration: the token is bound to the
    /// request's `resource`. The harness hands the client the workload JWT, as the platform
    /// would mount it.
    pub enabled: bool,
    /// What is wrong with the workload JWT the harness hands out, for negative scenarios.
    pub workload_jwt: JwtIssue,
}

impl Default for WorkloadIdentityKnobs {
    fn default() -> Self {
        Self { enabled: false, workload_jwt: JwtIssue::Correct }
    }
}

/// The protected MCP endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ResourceKnobs {
    /// Paths that serve MCP; each one is its own protected resource (its own PRM, its own token
    /// audience) behind the same authorization server.
    pub paths: Vec<String>,
    /// Tools served on every path.
    pub tools: Vec<ToolKind>,
    /// Scopes every MCP request needs; a token without them gets 403 `insufficient_scope`.
    pub required_scopes: Vec<String>,
    /// The scope the `write_note` tool needs on top of `required_scopes`.
    pub write_scope: String,
    /// A scope `tools/list` needs on top of `required_scopes` (none by default): the session
    /// opens, and listing the tools is refused with 403 `insufficient_scope`, as the official
    /// suite's step-up server does (a client steps up on any refused request, not only a call).
    pub list_scope: Option<String>,
    /// `scope` carried by the 401 challenge (none: the challenge carries no `scope`).
    pub challenge_scope: Option<String>,
    /// The 403 `insufficient_scope` challenge names only the scopes the token lacks, not every
    /// scope the operation needs: a client that then asks for the challenged scopes alone loses
    /// the ones it had (why MCP 2026-07-28 asks for the union, SEP-2350).
    pub challenge_missing_only: bool,
    /// Also serve each path with a trailing slash, as the same resource (tokens for either
    /// spelling are accepted).
    pub trailing_slash: bool,
    /// Tools per `tools/list` page; `0` serves them all in one. Smaller pages make a client
    /// follow `nextCursor` (MCP 2025-11-25 §Pagination) to see every tool.
    pub tools_page_size: usize,
    /// The MCP protocol versions the endpoint speaks (at least one). Leave out 2026-07-28 for a
    /// server that predates it (a `server/discover` or other per-request-metadata request gets
    /// the plain 400 of a legacy server, so a dual-era client falls back to `initialize`); leave
    /// out every older one for a server that speaks only 2026-07-28 (`initialize` gets 400 with
    /// an `UnsupportedProtocolVersionError` naming the supported versions; GET and DELETE 405).
    #[serde(deserialize_with = "ProtocolVersion::at_least_one")]
    #[schemars(length(min = 1))]
    pub protocol_versions: Vec<ProtocolVersion>,
}

impl Default for ResourceKnobs {
    fn default() -> Self {
        Self {
            paths: vec!["/mcp".into()],
            tools: vec![ToolKind::Echo, ToolKind::Add, ToolKind::WriteNote],
            required_scopes: Vec::new(),
            write_scope: "mcp:write".into(),
            list_scope: None,
            challenge_scope: None,
            challenge_missing_only: false,
            trailing_slash: false,
            tools_page_size: 0,
            protocol_versions: ProtocolVersion::ALL.to_vec(),
        }
    }
}

/// An MCP protocol version the Streamable HTTP endpoint can speak. (2024-11-05 used the older
/// HTTP+SSE transport, which the mock does not serve.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ProtocolVersion {
    /// `initialize` handshake and sessions; no `MCP-Protocol-Version` header yet.
    #[serde(rename = "2025-03-26")]
    V2025_03_26,
    /// `initialize` handshake and sessions; the `MCP-Protocol-Version` header after it.
    #[serde(rename = "2025-06-18")]
    V2025_06_18,
    /// As 2025-06-18 (the last revision with `initialize`).
    #[serde(rename = "2025-11-25")]
    V2025_11_25,
    /// Sessionless: every request carries its version in `_meta` and the `MCP-Protocol-Version`
    /// header; `server/discover` instead of `initialize`.
    #[serde(rename = "2026-07-28")]
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every version, oldest first.
    pub const ALL: [Self; 4] = [Self::V2025_03_26, Self::V2025_06_18, Self::V2025_11_25, Self::V2026_07_28];

    /// As the wire spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// Whether the version opens with an `initialize` handshake (every one before 2026-07-28).
    pub fn has_initialize(self) -> bool {
        self < Self::V2026_07_28
    }

    /// The version the wire names, if the mock knows it.
    pub fn parse(wire: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == wire)
    }

    /// A server that speaks no version is no server: an empty list is refused with its knob's path.
    fn at_least_one<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Self>, D::Error> {
        let versions = Vec::<Self>::deserialize(deserializer)?;
        if versions.is_empty() {
            return Err(serde::de::Error::custom("name at least one protocol version"));
        }
        Ok(versions)
    }
}

/// The tools the mock can serve. Each has a fixed schema so snapshots of imported tools are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolKind {
    /// `echo {text}` → the text.
    Echo,
    /// `add {a, b}` → their sum.
    Add,
    /// `write_note {note}` → stored; needs `resource.write_scope`.
    WriteNote,
}

/// Where protected resource metadata is published and what it claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ResourceMetadataKnobs {
    /// Where the document is served.
    pub location: MetadataLocation,
    /// The path used when `location = "custom"`.
    pub custom_path: String,
    /// Whether the 401 challenge carries `resource_metadata="…"`.
    pub in_challenge: bool,
    /// Overrides the `resource` member (a mismatch a careful client must refuse).
    pub resource_override: Option<String>,
    /// `scopes_supported` (omitted when empty).
    pub scopes_supported: Vec<String>,
    /// The issuers `authorization_servers` names, placeholders allowed (`"{servers.other.issuer}"`);
    /// empty: this server's own issuer. The resource accepts tokens only from the authorization
    /// servers its metadata names at the time (its own, or another server's of the scenario), so
    /// changing it live moves the resource to another authorization server (SEP-2352).
    pub authorization_servers: Vec<String>,
}

impl Default for ResourceMetadataKnobs {
    fn default() -> Self {
        Self {
            location: MetadataLocation::PathInserted,
            custom_path: "/custom/metadata/location.json".into(),
            in_challenge: true,
            resource_override: None,
            scopes_supported: vec!["mcp:read".into(), "mcp:write".into()],
            authorization_servers: Vec::new(),
        }
    }
}

/// RFC 9728 §3.1 locations for protected resource metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MetadataLocation {
    /// `/.well-known/oauth-protected-resource/<mcp path>`.
    PathInserted,
    /// `/.well-known/oauth-protected-resource`.
    Root,
    /// `resource_metadata.custom_path`, discoverable only through the challenge.
    Custom,
    /// Not published at all (2025-03-26 servers).
    None,
}

/// The authorization server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AuthorizationServerKnobs {
    /// Same listener as the MCP endpoint, or a listener of its own (another origin).
    pub origin: AsOrigin,
    /// Path of the issuer identifier (`""` or e.g. `/tenant1`); endpoints live below it.
    pub issuer_path: String,
    /// Where the authorization endpoint (and its consent page) is served: on the issuer's
    /// origin, the MCP server's, or an origin of its own (RFC 8414 allows any;
    /// openai/codex#38944).
    pub authorize_origin: EndpointOrigin,
    /// Where the token endpoint (and revocation) is served: on the issuer's origin, the MCP
    /// server's, or an origin of its own.
    pub token_origin: EndpointOrigin,
    /// Where the registration endpoint is served: on the issuer's origin, the MCP server's, or an
    /// origin of its own.
    pub registration_origin: EndpointOrigin,
    /// Which metadata documents are published.
    pub metadata: Vec<MetadataDocument>,
    /// For a path issuer, also serve each metadata document at the origin root
    /// (`/.well-known/oauth-authorization-server`), unchanged: its `issuer` keeps the path, so
    /// RFC 8414 §3.3 makes a client that fetched it there refuse it.
    pub root_metadata: bool,
    /// Endpoints at the 2025-03-26 default paths on the MCP origin (`/authorize`, `/token`,
    /// `/register`) that no metadata names and that answer with a chosen error: a client that
    /// guesses them gets an answer, not a 404.
    pub fallback: FallbackKnobs,
    /// Replaces `issuer` in the metadata (a mismatch RFC 8414 §3.3 makes clients refuse).
    pub issuer_override: Option<String>,
    /// Whether metadata lists `code_challenge_methods_supported: ["S256"]`.
    pub advertise_pkce: bool,
    /// RFC 9207 `iss` on the authorization response.
    pub iss_parameter: IssParameter,
    /// Whether a `registration_endpoint` (RFC 7591) is offered.
    pub dynamic_registration: bool,
    /// Whether URL client ids (client ID metadata documents) are accepted and advertised.
    pub client_id_metadata_documents: bool,
    /// How the `redirect_uri` of an authorization request is matched against the `redirect_uris`
    /// of the client ID metadata document its `client_id` names.
    pub metadata_document_redirects: RedirectMatching,
    /// Clients known before any registration.
    pub preregistered_clients: Vec<PreregisteredClient>,
    /// `token_endpoint_auth_methods_supported`.
    pub token_endpoint_auth_methods: Vec<ClientAuthMethod>,
    /// `scopes_supported` in the metadata (omitted when empty).
    pub scopes_supported: Vec<String>,
    /// Show an HTML consent page (`page`) or approve at once (`auto`).
    pub consent: Consent,
    /// Reject authorization and token requests that carry no RFC 8707 `resource`.
    pub require_resource: bool,
    /// Scopes a client may ask for but is never granted: the grant is narrower than the request
    /// (OAuth 2.1 §3.2.3 lets the AS do that), so a step-up for them can never succeed.
    pub withheld_scopes: Vec<String>,
    /// Registers this redirect URI instead of the ones a dynamic registration asks for, and says
    /// so in the response (RFC 7591 §3.2.1 lets an AS replace requested values): a client must
    /// not send its user off with a redirect URI it does not listen on.
    pub registered_redirect_uri: Option<String>,
    /// Registers every dynamic client for this token endpoint auth method, whatever it asks for,
    /// and says so in the response (RFC 7591 §3.2.1 lets an AS replace requested values, as the
    /// official suite's `auth/token-endpoint-auth-*` servers do): the client must then
    /// authenticate as it was registered, not as it asked.
    pub registered_auth_method: Option<ClientAuthMethod>,
    /// Refuse a dynamic registration that names no `application_type` with RFC 7591
    /// `invalid_client_metadata` (MCP authorization 2026-07-28 makes clients send one, SEP-837).
    pub require_application_type: bool,
    /// Issue refresh tokens only to clients whose registered `grant_types` list `refresh_token`
    /// (RFC 7591 §2: without `grant_types` a client is registered for `authorization_code` only);
    /// pre-registered clients always get them.
    pub refresh_needs_grant_type: bool,
    /// Refuse dynamic registrations with a redirect URI of one of these schemes (`http`,
    /// `https`, a custom scheme) with RFC 7591 `invalid_redirect_uri`, as an AS whose policy
    /// forbids them does.
    pub refused_redirect_schemes: Vec<String>,
    /// `error_description` of the redirect that answers a denied consent.
    pub denial_description: String,
}

impl Default for AuthorizationServerKnobs {
    fn default() -> Self {
        Self {
            origin: AsOrigin::Same,
            issuer_path: String::new(),
            authorize_origin: EndpointOrigin::Issuer,
            token_origin: EndpointOrigin::Issuer,
            registration_origin: EndpointOrigin::Issuer,
            metadata: vec![MetadataDocument::Oauth, MetadataDocument::Openid],
            root_metadata: false,
            fallback: FallbackKnobs::default(),
            issuer_override: None,
            advertise_pkce: true,
            iss_parameter: IssParameter::Correct,
            dynamic_registration: true,
            client_id_metadata_documents: false,
            metadata_document_redirects: RedirectMatching::Exact,
            preregistered_clients: Vec::new(),
            token_endpoint_auth_methods: vec![
                ClientAuthMethod::None,
                ClientAuthMethod::ClientSecretBasic,
                ClientAuthMethod::ClientSecretPost,
            ],
            scopes_supported: vec!["mcp:read".into(), "mcp:write".into()],
            consent: Consent::Page,
            require_resource: false,
            withheld_scopes: Vec::new(),
            registered_redirect_uri: None,
            registered_auth_method: None,
            require_application_type: false,
            refresh_needs_grant_type: false,
            refused_redirect_schemes: Vec::new(),
            denial_description: "the user denied the request".into(),
        }
    }
}

/// Where the authorization server listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AsOrigin {
    /// On the MCP server's own listener.
    Same,
    /// On a listener of its own: another origin.
    Separate,
}

/// Where one authorization server endpoint listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointOrigin {
    /// With the rest of the authorization server, below the issuer's path.
    Issuer,
    /// On the MCP server's listener, below the issuer's path.
    Resource,
    /// On a listener of its own (each endpoint set so gets its own origin), below the issuer's
    /// path.
    Separate,
}

/// Unadvertised endpoints at the 2025-03-26 default paths on the MCP origin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FallbackKnobs {
    /// Which ones answer (none by default: the paths are 404).
    pub endpoints: Vec<FallbackEndpoint>,
    /// The HTTP status they answer with.
    #[schemars(range(min = 400, max = 599))]
    pub status: u16,
    /// The OAuth `error` code of their JSON body (RFC 6749 §5.2).
    pub error: String,
}

impl Default for FallbackKnobs {
    fn default() -> Self {
        Self { endpoints: Vec::new(), status: 400, error: "invalid_request".into() }
    }
}

/// A 2025-03-26 default endpoint path (MCP authorization 2025-03-26 §Fallbacks for Servers
/// without Metadata Discovery).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FallbackEndpoint {
    /// `GET /authorize`.
    Authorize,
    /// `POST /token`.
    Token,
    /// `POST /register`.
    Register,
}

impl FallbackEndpoint {
    /// The path it is served at.
    pub fn path(self) -> &'static str {
        match self {
            Self::Authorize => "/authorize",
            Self::Token => "/token",
            Self::Register => "/register",
        }
    }
}

/// An authorization server metadata document and the URL it is served at (MCP authorization
/// 2025-11-25 §"Authorization Server Metadata Discovery").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MetadataDocument {
    /// RFC 8414: `/.well-known/oauth-authorization-server` with the issuer path inserted.
    Oauth,
    /// OIDC discovery with the issuer path inserted: `/.well-known/openid-configuration/<path>`.
    Openid,
    /// OIDC discovery with the issuer path appended: `/<path>/.well-known/openid-configuration`.
    OpenidAppended,
}

/// What the authorization response says about its issuer (RFC 9207).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IssParameter {
    /// Advertised, and `iss` is the issuer.
    Correct,
    /// Advertised, but `iss` names another issuer.
    Wrong,
    /// Advertised, but `iss` is left out.
    Omitted,
    /// Neither advertised nor sent.
    NotAdvertised,
    /// Not advertised, yet sent naming another issuer: MCP 2026-07-28 compares a present `iss`
    /// whether or not metadata advertises it.
    WrongNotAdvertised,
    /// Advertised, and `iss` is the issuer with a trailing `/` added: equal only after the
    /// normalization MCP 2026-07-28 forbids.
    TrailingSlash,
    /// Advertised, and `iss` is the issuer with its scheme in upper case (`HTTP://…`): equal only
    /// after case folding, which MCP 2026-07-28 forbids.
    UpperCaseScheme,
}

impl IssParameter {
    /// Whether metadata says `authorization_response_iss_parameter_supported: true`.
    pub fn advertised(self) -> bool {
        !matches!(self, Self::NotAdvertised | Self::WrongNotAdvertised)
    }

    /// Whether the `iss` sent (or its absence) must make a 2026-07-28 client reject the response.
    pub fn rejectable(self) -> bool {
        !matches!(self, Self::Correct | Self::NotAdvertised)
    }
}

/// Client authentication at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// A public client: `client_id` only.
    None,
    /// HTTP Basic with the client secret.
    ClientSecretBasic,
    /// The client secret in the form body.
    ClientSecretPost,
    /// A JWT signed with the client's private key (RFC 7523 §2.2), recommended by the client
    /// credentials extension (SEP-1046).
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    /// The registered name, as metadata and DCR spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// A client registered out of band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreregisteredClient {
    /// The client's identifier.
    pub client_id: String,
    /// Its secret (none: a public client).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// How it authenticates at the token endpoint.
    #[serde(default = "default_auth_method")]
    pub auth_method: ClientAuthMethod,
    /// Exact redirect URIs; empty accepts any loopback redirect (RFC 8252 §7.3 lets the port vary).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// A machine client (the client credentials extension, SEP-1046): it gets tokens with the
    /// `client_credentials` grant, with no user and no browser, and only that way. With
    /// `auth_method = "private_key_jwt"` the mock generates its ES256 key pair at start and
    /// registers the public key as the client's JWKS; the harness hands the private key to the
    /// client under test.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client_credentials: bool,
    /// Refused at the token endpoint with `invalid_client`, as a client an administrator
    /// disabled is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
}

fn default_auth_method() -> ClientAuthMethod {
    ClientAuthMethod::None
}

/// How a requested redirect URI is compared with the registered ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RedirectMatching {
    /// Simple string comparison, port included (draft-ietf-oauth-client-id-metadata-document
    /// §"Redirect URL Registration").
    Exact,
    /// Exact, except that the port of a loopback IP redirect may differ (RFC 8252 §7.3), as the
    /// mock treats registered clients.
    LoopbackPort,
}

/// How the user answers the authorization request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Consent {
    /// A real HTML page whose form posts Approve or Deny.
    Page,
    /// Redirect back at once, approved.
    Auto,
}

/// Token lifetimes and refresh behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TokenKnobs {
    /// Access token lifetime in seconds.
    pub access_token_ttl_secs: u64,
    /// Authorization code lifetime in seconds.
    pub code_ttl_secs: u64,
    /// Refresh token lifetime in seconds, from when each was issued (unset: they never expire);
    /// an expired one is refused with `invalid_grant`. `0` expires them as soon as they are
    /// issued, so a scenario reaches "the refresh token expired" without waiting.
    pub refresh_token_ttl_secs: Option<u64>,
    /// Issue refresh tokens and rotate them.
    pub refresh: RefreshPolicy,
    /// Reusing a rotated refresh token revokes its whole family (OAuth 2.1 §4.3.1).
    pub revoke_family_on_reuse: bool,
}

impl Default for TokenKnobs {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3600,
            code_ttl_secs: 60,
            refresh_token_ttl_secs: None,
            refresh: RefreshPolicy::Rotate,
            revoke_family_on_reuse: true,
        }
    }
}

/// What the token endpoint does about refresh tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RefreshPolicy {
    /// Issue one; each use returns a new one and retires the old.
    Rotate,
    /// Issue one and keep accepting it.
    Reuse,
    /// Never issue one.
    None,
}

/// A profile that could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown preset `{0}` (run `mock-server profiles` for the list)")]
    UnknownPreset(String),
    #[error("invalid profile: {0}")]
    Invalid(#[from] toml::de::Error),
    /// One knob is unknown or has a value it cannot take.
    #[error("knob `{path}`: {message}")]
    Knob {
        /// Dotted path of the knob (`authorization_server.consent`); for an unknown knob, the
        /// path of the unknown key itself.
        path: String,
        message: String,
    },
}

impl Profile {
    /// The 2025-11-25 happy path: every knob at its default.
    pub fn happy_path() -> Self {
        Self::default()
    }

    /// The named preset's knobs.
    pub fn preset(name: &str) -> Result<Self, ProfileError> {
        name.parse::<Preset>().map(Preset::profile)
    }

    /// Parses a whole profile from TOML (missing fields keep their defaults).
    pub fn from_toml(text: &str) -> Result<Self, ProfileError> {
        Ok(toml::from_str(text)?)
    }

    /// Layers a table of knobs over this profile: tables merge field by field, anything else
    /// replaces. Unknown knobs are errors.
    pub fn with_overrides(&self, overrides: &toml::Table) -> Result<Self, ProfileError> {
        let mut base = toml::Table::try_from(self).expect("a profile always serializes to a table");
        merge(&mut base, overrides);
        // serde_path_to_error: which knob failed, down to an unknown key's own name.
        serde_path_to_error::deserialize(toml::Value::Table(base)).map_err(|e| ProfileError::Knob {
            path: e.path().to_string(),
            message: e.into_inner().message().trim().to_owned(),
        })
    }
}

fn merge(base: &mut toml::Table, overrides: &toml::Table) {
    for (key, value) in overrides {
        match (base.get_mut(key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(patch)) => merge(inner, patch),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_toml_is_the_happy_path() {
        assert_eq!(Profile::from_toml("").unwrap(), Profile::happy_path());
    }

    #[test]
    fn unknown_knob_is_an_error() {
        let err = Profile::from_toml("[resource]\npathz = []").unwrap_err().to_string();
        assert!(err.contains("unknown field `pathz`"), "{err}");
    }

    #[test]
    fn overrides_merge_field_by_field() {
        let base = Profile::preset("split-origin").unwrap();
        let patch: toml::Table = toml::from_str("[authorization_server]\nissuer_path = \"/t\"").unwrap();
        let merged = base.with_overrides(&patch).unwrap();
        assert_eq!(merged.authorization_server.issuer_path, "/t");
        assert_eq!(merged.authorization_server.origin, AsOrigin::Separate);
    }

    #[test]
    fn overrides_reject_unknown_knobs_naming_their_path() {
        let patch: toml::Table = toml::from_str("[tokens]\nttl = 3").unwrap();
        let err = Profile::happy_path().with_overrides(&patch).unwrap_err();
        assert!(matches!(&err, ProfileError::Knob { path, .. } if path == "tokens.ttl"), "{err}");
        let patch: toml::Table = toml::from_str("[authorization_server]\nconsent = \"maybe\"").unwrap();
        let err = Profile::happy_path().with_overrides(&patch).unwrap_err();
        assert!(matches!(&err, ProfileError::Knob { path, .. } if path == "authorization_server.consent"), "{err}");
        assert!(err.to_string().contains("expected `page` or `auto`"), "the allowed values: {err}");
    }
}
