//! The token endpoint (OAuth 2.1 §3.2, §4.1.3, §4.3) and revocation (RFC 7009).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AuthorizationServer;
use super::error::OAuthError;
use super::form::Params;
use crate::recording::tagged;
use crate::transcript::Endpoint;

pub async fn token(State(server): State<Arc<AuthorizationServer>>, headers: HeaderMap, body: Bytes) -> Response {
    let response = match server.token(&headers, &body) {
        Ok(issued) => {
            let mut response = axum::Json(issued).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => err.into_response(),
    };
    tagged(Endpoint::Token, response)
}

pub async fn revoke(State(server): State<Arc<AuthorizationServer>>, headers: HeaderMap, body: Bytes) -> Response {
    let outcome = Params::from_form(&headers, &body).and_then(|params| {
        let presented = params.client(&headers)?;
        let token = params.require("token")?;
        let mut grants = server.grants();
        let client_id = grants.authenticate(&presented)?.client_id.clone();
        grants.revoke(&client_id, token);
        Ok(())
    });
    let response = match outcome {
        // RFC 7009 §2.2: 200 whether or not the token was known.
        Ok(()) => StatusCode::OK.into_response(),
        Err(err) => err.into_response(),
    };
    tagged(Endpoint::Revocation, response)
}

impl AuthorizationServer {
    fn token(&self, headers: &HeaderMap, body: &[u8]) -> Result<super::grants::TokenResponse, OAuthError> {
        let params = Params::from_form(headers, body)?;
        let presented = params.client(headers)?;
        let grant_type = params.require("grant_type")?;
        let mut grants = self.grants();
        let client_id = grants.authenticate(&presented)?.client_id.clone();
        if self.knobs().require_resource && params.get("resource").is_none() {
            return Err(OAuthError::invalid_target("resource is required"));
        }
        match grant_type {
            "authorization_code" => grants.redeem_code(
                &client_id,
                params.require("code")?,
                params.get("redirect_uri"),
                params.get("code_verifier"),
                params.get("resource"),
            ),
            "refresh_token" => grants.refresh(
                &client_id,
                params.require("refresh_token")?,
                params.get("scope"),
                params.get("resource"),
            ),
            other => Err(OAuthError::unsupported_grant_type(format!("grant_type `{other}` is not supported"))),
        }
    }
}
