//! An OAuth 2.1-protected MCP server for conformance tests.
//!
//! `mock-server` runs, on loopback, what real MCP clients have to get through: a protected
//! resource speaking real MCP over streamable HTTP (via [rmcp]), its protected resource metadata
//! (RFC 9728), and an authorization server with metadata (RFC 8414 / OIDC discovery), dynamic
//! registration (RFC 7591), client ID metadata documents, PKCE (RFC 7636, S256 only), resource
//! indicators (RFC 8707), issuer identification (RFC 9207), refresh rotation and revocation
//! (RFC 7009). A [`Profile`] sets its layout and behaviour; [`Preset`]s name the layouts real
//! clients break on.
//!
//! # Getting started
//!
//! ```
//! use mock_server::{MockServer, Preset};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // The authorization server on another origin, as in openai/codex#20009.
//! let server = MockServer::builder().preset(Preset::SplitOrigin).start().await;
//!
//! // No token: 401 with a challenge that points at the protected resource metadata.
//! let response = reqwest::Client::new().post(server.uri()).send().await.unwrap();
//! assert_eq!(response.status(), 401);
//! let challenge = response.headers()["www-authenticate"].to_str().unwrap();
//! assert!(challenge.contains("resource_metadata="));
//!
//! // Every exchange is in the transcript, secrets redacted.
//! let first = &server.transcript().exchanges()[0];
//! assert_eq!((first.method.as_str(), first.status), ("POST", 401));
//! # }
//! ```
//!
//! # Profiles
//!
//! A [`Profile`] is plain data (serde, TOML): scenario files embed it as a table, and unknown
//! knobs are errors. Start from a preset and change knobs:
//!
//! ```
//! use mock_server::{Preset, Profile};
//!
//! let table: toml::Table = toml::from_str("[tokens]\naccess_token_ttl_secs = 1").unwrap();
//! let profile = Preset::SplitOriginPathIssuer.profile().with_overrides(&table).unwrap();
//! assert_eq!(profile.tokens.access_token_ttl_secs, 1);
//! assert_eq!(profile.authorization_server.issuer_path, "/tenant1");
//! ```
//!
//! # Protocol versions
//!
//! The endpoint speaks MCP 2025-03-26, 2025-06-18 and 2025-11-25 (an `initialize` handshake
//! opens a session) and 2026-07-28 (every request carries its version in `_meta`; no session) on
//! one URL. `resource.protocol_versions` narrows that, and a version the server does not speak
//! gets the answer the revisions it speaks define (a legacy 400, an
//! `UnsupportedProtocolVersionError`, 405 for GET). Each MCP exchange records the version it was
//! served under in [`Exchange::protocol_version`].
//!
//! ```
//! use mock_server::profile::ProtocolVersion;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut profile = mock_server::Profile::default();
//! profile.resource.protocol_versions = vec![ProtocolVersion::V2025_03_26];   // an old server
//! let server = mock_server::MockServer::builder().profile(profile).start().await;
//! assert_eq!(server.profile().resource.protocol_versions, [ProtocolVersion::V2025_03_26]);
//! # }
//! ```
//!
//! # Test isolation
//!
//! Every mock binds 127.0.0.1 on ephemeral ports and keeps its own state, so tests run in
//! parallel. Dropping the [`MockServer`] shuts its listeners down.
//!
//! # Controlling time
//!
//! [`MockServer::expire_access_tokens`] makes every token issued so far expire now, and
//! [`MockServer::revoke_all_tokens`] revokes them, so expiry and rejected-refresh scenarios need
//! no sleeping.
//!
//! # Changing a running server
//!
//! A test can change the server under a client, as real servers change:
//! [`MockServer::apply`] changes knobs (scopes, the challenge, metadata contents, `iss`, …) from
//! the next request on; [`MockServer::end_sessions`] ends every MCP session (404 for an old
//! `Mcp-Session-Id`); [`MockServer::forget_clients`] drops registered clients
//! (`invalid_client`); [`MockServer::revoke_refresh_tokens`] revokes refresh tokens only;
//! [`MockServer::stop`] refuses connections until [`MockServer::resume`] serves again on the
//! same ports with the same state, and [`MockServer::restart`] does both. Each is an
//! [`Event`] in the transcript.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = mock_server::MockServer::start().await;
//! let uri = server.uri();
//! server.stop().await;
//! assert!(reqwest::Client::new().post(&uri).send().await.is_err(), "connection refused");
//! server.resume().await.unwrap();
//! let answer = reqwest::Client::new().post(&uri).send().await.unwrap();
//! assert_eq!(answer.status(), 401);
//! # }
//! ```

mod authorization;
pub mod dpop;
pub mod jose;
mod live;
mod peers;
pub mod placeholder;
pub mod profile;
mod recording;
mod resource;
mod server;
pub mod transcript;

pub use authorization::{
    ClientKind, EnterpriseSignOn, IssuedToken, JWT_BEARER_GRANT_TYPE, WORKLOAD_ISSUER, WORKLOAD_SUBJECT,
};
pub use live::{describe_knobs, knob_settings};
pub use peers::Peers;
pub use profile::{Preset, Profile, ProfileError};
pub use resource::ToolServer;
pub use server::{MockServer, MockServerBuilder, StartError, is_plain_path};
pub use transcript::{Endpoint, Event, Exchange, Origin, Transcript};
