//! mcp-auth-harness: drives an MCP client through OAuth-protected mock servers and checks, clause
//! by clause, that it ends up really usable — logged in, status reported truthfully, tools
//! imported.
//!
//! A [`Scenario`](scenario::Scenario) names mock servers (presets of [`mock_server`]) and the
//! steps to drive a [`ClientAdapter`](client::ClientAdapter) through; the [`runner`] performs
//! them with the harness playing the [`browser`], records what the client says and keeps, and
//! evaluates every [`check`]. The built-in [`ReferenceClient`](client::ReferenceClient) is the
//! positive control.
//!
//! ```no_run
//! use std::sync::Arc;
//! use mcp_auth_harness::{client::ReferenceClient, runner, scenario};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let scenario = scenario::load_file("scenarios/founding-split-origin.toml".as_ref())?;
//! let run = runner::run(&scenario, Arc::new(ReferenceClient::new()), &Default::default()).await?;
//! assert_eq!(run.verdict(), runner::Verdict::Passed);
//! # Ok(())
//! # }
//! ```

pub mod baseline;
pub mod bisect;
pub mod browser;
pub mod capture;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod client;
pub mod expectation;
pub mod extension;
pub mod layout;
pub mod loopback_http;
pub mod mutation;
pub mod observation;
pub mod official_suite;
pub mod report;
pub mod revision;
pub mod runner;
pub mod scenario;
pub mod shard;
pub mod toml_span;
pub mod www_authenticate;
