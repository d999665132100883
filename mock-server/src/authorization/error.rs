//! OAuth error responses (RFC 6749 §5.2, RFC 7591 §3.2.2, RFC 7009 §2.2.1).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error the authorization server answers with: a 4xx and a JSON body naming the error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    /// Set for `invalid_client` after an attempted HTTP Basic authentication (RFC 6749 §5.2).
    pub basic_challenge: bool,
    /// The `DPoP-Nonce` header of a `use_dpop_nonce` error (RFC 9449 §8).
    pub dpop_nonce: Option<String>,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self { status, code, description: description.into(), basic_challenge: false, dpop_nonce: None }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_client(description: impl Into<String>, basic_attempted: bool) -> Self {
        Self { basic_challenge: basic_attempted, ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description) }
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", description)
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    pub fn invalid_target(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_target", description)
    }

    pub fn invalid_redirect_uri(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_redirect_uri", description)
    }

    pub fn invalid_client_metadata(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_client_metadata", description)
    }

    /// A DPoP proof that fails RFC 9449 §4.3 (§5).
    pub fn invalid_dpop_proof(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_dpop_proof", description)
    }

    /// The proof must carry this nonce (RFC 9449 §8).
    pub fn use_dpop_nonce(nonce: &str) -> Self {
        Self {
            dpop_nonce: Some(nonce.to_owned()),
            ..Self::new(StatusCode::BAD_REQUEST, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof")
        }
    }

    pub fn payload_too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "request body over 1 MiB")
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.code, "error_description": self.description });
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.basic_challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"mock-server\""));
        }
        if let Some(nonce) = self.dpop_nonce.as_deref().and_then(|n| HeaderValue::from_str(n).ok()) {
            headers.insert("dpop-nonce", nonce);
        }
        response
    }
}
