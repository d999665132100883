//! Capture: from a live OAuth-protected MCP server to a scenario whose mock serves the same layout
//! on loopback, so a client vendor can replay a user's "client X fails on server Y" without access
//! to Y.
//!
//! [`probe`] does what a careful client does before login, without credentials, through a
//! [`fetch`] client that bounds time and size and never leaves an origin by redirect; [`record`]
//! keeps it with origins labelled by role; [`reproduce`] turns it into knobs and the spec's
//! expectations; the mock those knobs describe is captured in turn, and what it answers otherwise
//! is listed as not reproduced; [`write`] writes the scenario file; [`diff`] compares facts.
//!
//! ```no_run
//! # async fn example() -> Result<(), mcp_auth_harness::capture::CaptureError> {
//! let captured = mcp_auth_harness::capture::capture("https://mcp.example.com/mcp", &Default::default()).await?;
//! std::fs::write("my-server.toml", &captured.scenario).unwrap();
//! # Ok(())
//! # }
//! ```

pub mod diff;
pub mod document;
pub mod fetch;
pub mod probe;
pub mod record;
pub mod reproduce;
pub mod write;

use mock_server::MockServer;

pub use probe::{CaptureError, Options};
pub use record::Capture;
pub use reproduce::Reproduction;

/// A capture and the scenario written from it.
#[derive(Debug, Clone)]
pub struct Captured {
    /// What the server answered, labelled.
    pub capture: Capture,
    pub reproduction: Reproduction,
    /// What the mock of the scenario answered, labelled.
    pub replay: Capture,
    /// Facts the mock serves otherwise (`- ` the server, `+ ` the mock).
    pub unreproduced: Vec<String>,
    /// The scenario file's text.
    pub scenario: String,
}

/// Captures `url`, writes the scenario, and checks it by capturing its own mock.
pub async fn capture(url: &str, options: &Options) -> Result<Captured, CaptureError> {
    let capture = probe::probe(url, options).await?.labelled();
    let reproduction = reproduce::reproduce(&capture);
    let replay = replay(&reproduction.profile, options).await?;
    let unreproduced = diff::changes(&capture.facts(), &replay.facts());
    let scenario = write::scenario(&capture, &reproduction, &unreproduced);
    Ok(Captured { capture, reproduction, replay, unreproduced, scenario })
}

/// The capture of a mock started from `profile`.
pub async fn replay(profile: &mock_server::Profile, options: &Options) -> Result<Capture, CaptureError> {
    let mock = MockServer::builder()
        .profile(profile.clone())
        .try_start()
        .await
        .map_err(|e| CaptureError::Replay(e.to_string()))?;
    let url = mock.mcp_uris().into_iter().next().unwrap_or_else(|| mock.uri());
    Ok(probe::probe(&url, options).await?.labelled())
}
