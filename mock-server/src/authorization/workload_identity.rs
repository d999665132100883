//! The workload issuer of workload identity federation (SEP-1933): the platform (a Kubernetes
//! cluster's service account issuer, a SPIFFE trust domain, a cloud's metadata service) that
//! signs the JWT a workload presents to the MCP authorization server with the JWT-bearer grant
//! ([`super::jwt_bearer::verify_workload`]).
//!
//! It serves nothing: the authorization server is configured with its key, as SEP-1933 leaves
//! trust configuration to the authorization server, and the harness hands the client the
//! workload JWT, as the platform would mount it into the workload.

use serde_json::json;

use super::client_assertion::now_secs;
use super::jwt_bearer::TrustedIssuer;
use crate::jose::{self, KeyPair};
use crate::profile::{JwtIssue, WorkloadIdentityKnobs};

/// The workload issuer's identifier (never fetched: its key is configured at the authorization
/// server).
pub const WORKLOAD_ISSUER: &str = "https://workload-issuer.harness.invalid";
/// The workload the JWT is about, as a SPIFFE ID.
pub const WORKLOAD_SUBJECT: &str = "spiffe://harness.invalid/ns/default/sa/mcp-client";

pub struct WorkloadIssuer {
    key: KeyPair,
    jwt: String,
}

impl WorkloadIssuer {
    /// A key pair for this run and the workload JWT signed with it for the authorization server
    /// `audience` (its issuer), spoiled as `knobs.workload_jwt` asks.
    pub fn new(knobs: &WorkloadIdentityKnobs, audience: &str) -> Self {
        let key = KeyPair::generate();
        let now = now_secs();
        let (aud, exp) = match knobs.workload_jwt {
            // An hour, as a projected service account token lives by default.
            JwtIssue::Correct => (audience, now + 3600),
            JwtIssue::WrongAudience => ("https://other-authorization-server.invalid", now + 3600),
            JwtIssue::Expired => (audience, now.saturating_sub(60)),
        };
        let claims = json!({
            "iss": WORKLOAD_ISSUER, "sub": WORKLOAD_SUBJECT, "aud": aud, "iat": exp.saturating_sub(3600), "exp": exp,
            "jti": jose::random_id(),
        });
        let jwt = key.sign(json!({"typ": "JWT"}), &claims);
        Self { key, jwt }
    }

    pub fn trusted(&self) -> TrustedIssuer {
        TrustedIssuer { issuer: WORKLOAD_ISSUER.to_owned(), public_jwk: self.key.public_jwk() }
    }

    /// The workload JWT the harness hands the client under test.
    pub fn jwt(&self) -> &str {
        &self.jwt
    }
}
