//! The enterprise identity provider of enterprise-managed authorization (SEP-990, ext-auth
//! `enterprise-managed-authorization.mdx` §4): on an origin of its own, it exchanges the user's
//! ID token (RFC 8693 token exchange) for an Identity Assertion JWT Authorization Grant (ID-JAG)
//! that the MCP authorization server redeems with the JWT-bearer grant ([`super::jwt_bearer`]).
//!
//! The user's sign-in at the identity provider (an OpenID Connect login) is not the MCP client's
//! business here: the identity provider issues the ID token at start and the harness hands it to
//! the client, as the enterprise's single sign-on would have.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use url::Url;

use super::client_assertion::now_secs;
use super::error::OAuthError;
use super::form::Params;
use super::jwt_bearer::TrustedIssuer;
use crate::jose::{self, Jwt, KeyPair};
use crate::profile::{EnterpriseIdpKnobs, JwtIssue};
use crate::recording::tagged;
use crate::transcript::Endpoint;

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
/// The JOSE `typ` of an ID-JAG (SEP-990 §4.3).
pub const ID_JAG_TYP: &str = "oauth-id-jag+jwt";
/// The user the ID token and the ID-JAGs are about.
const USER: &str = "harness-user";

/// What the harness hands the client under test: where to exchange, what to exchange, and the
/// client's credentials at the identity provider.
#[derive(Debug, Clone)]
pub struct EnterpriseSignOn {
    pub token_endpoint: String,
    /// The user's ID token, `aud` the client.
    pub id_token: String,
    pub client_id: String,
    pub client_secret: Option<String>,
}

pub struct EnterpriseIdp {
    issuer: String,
    key: KeyPair,
    client_id: String,
    client_secret: Option<String>,
    id_token: String,
    knobs: EnterpriseIdpKnobs,
}

impl EnterpriseIdp {
    /// An identity provider at `origin` that knows the client `client_id` (with its secret).
    pub fn new(origin: &Url, knobs: EnterpriseIdpKnobs, client_id: &str, client_secret: Option<String>) -> Self {
        let issuer = origin.as_str().trim_end_matches('/').to_owned();
        let key = KeyPair::generate();
        let now = now_secs();
        let id_token = key.sign(
            json!({"typ": "JWT"}),
            &json!({"iss": issuer, "sub": USER, "aud": client_id, "iat": now, "exp": now + 3600}),
        );
        Self { issuer, key, client_id: client_id.to_owned(), client_secret, id_token, knobs }
    }

    pub fn trusted(&self) -> TrustedIssuer {
        TrustedIssuer { issuer: self.issuer.clone(), public_jwk: self.key.public_jwk() }
    }

    pub fn sign_on(&self) -> EnterpriseSignOn {
        EnterpriseSignOn {
            token_endpoint: format!("{}/token", self.issuer),
            id_token: self.id_token.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
        }
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new().route("/token", post(token)).with_state(self.clone())
    }

    /// The token exchange (RFC 8693 §2.1) as SEP-990 §4 profiles it.
    fn exchange(&self, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
        let params = Params::from_form(headers, body)?;
        let presented = params.client(headers)?;
        if presented.client_id != self.client_id || presented.secret != self.client_secret {
            return Err(OAuthError::invalid_client("unknown client or wrong secret", presented.via_basic));
        }
        let require = |name: &str, value: &str| match params.require(name)? {
            given if given == value => Ok(()),
            given => Err(OAuthError::invalid_request(format!("`{name}` is {given}, not {value}"))),
        };
        require("grant_type", TOKEN_EXCHANGE)?;
        require("requested_token_type", ID_JAG)?;
        require("subject_token_type", ID_TOKEN)?;
        let audience = params.require("audience")?;
        let resource = params.require("resource")?;
        // SEP-990 §4: the subject token must be valid and issued to the requesting client.
        let subject = Jwt::verify(params.require("subject_token")?, &self.key.public_jwk())
            .map_err(|e| OAuthError::invalid_grant(format!("subject_token: {e}")))?;
        if subject.audiences() != [self.client_id.as_str()] {
            return Err(OAuthError::invalid_grant("subject_token was not issued to this client"));
        }
        let now = now_secs();
        let (aud, exp) = match self.knobs.id_jag {
            JwtIssue::Correct => (audience.to_owned(), now + self.knobs.id_jag_ttl_secs),
            JwtIssue::WrongAudience => ("http://other-authorization-server.invalid".to_owned(), now + 300),
            JwtIssue::Expired => (audience.to_owned(), now.saturating_sub(60)),
        };
        let claims = json!({
            "iss": self.issuer, "sub": USER, "aud": aud, "resource": resource, "client_id": self.client_id,
            "jti": jose::random_id(), "iat": now, "exp": exp,
        });
        let id_jag = self.key.sign(json!({"typ": ID_JAG_TYP}), &claims);
        Ok(json!({
            "issued_token_type": ID_JAG, "access_token": id_jag, "token_type": "N_A",
            "expires_in": exp.saturating_sub(now),
        }))
    }
}

async fn token(State(idp): State<Arc<EnterpriseIdp>>, headers: HeaderMap, body: Bytes) -> Response {
    let response = match idp.exchange(&headers, &body) {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(err) => err.into_response(),
    };
    tagged(Endpoint::IdpToken, response)
}
