//! The token endpoint (OAuth 2.1 §3.2, §4.1.3, §4.3) and revocation (RFC 7009).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AuthorizationServer;
use super::error::OAuthError;
use super::form::Params;
use super::grants::parse_scopes;
use super::jwt_bearer;
use crate::dpop;
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
        let client_id = grants.authenticate(&presented, &server.assertion_audiences())?.client_id.clone();
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
    /// The token request's DPoP proof (RFC 9449 §5), when DPoP is on and the request carries one.
    fn check_dpop_proof(&self, headers: &HeaderMap) -> Result<Option<dpop::Proven>, OAuthError> {
        let knobs = self.profile.read(|p| p.dpop.clone());
        if !knobs.enabled {
            // RFC 9449 §5: a server that does not support DPoP ignores the header.
            return Ok(None);
        }
        let url = self.endpoint_on(&self.origins.token, "token");
        let expected = dpop::Expected { method: "POST", url: &url, access_token: None };
        match self.dpop.check(headers, &expected, knobs.iat_window_secs, knobs.token_nonce) {
            None => Ok(None),
            Some(Ok(proven)) => Ok(Some(proven)),
            Some(Err(dpop::ProofRefusal::Invalid(why))) => Err(OAuthError::invalid_dpop_proof(why)),
            Some(Err(dpop::ProofRefusal::UseNonce)) => Err(OAuthError::use_dpop_nonce(self.dpop.nonce())),
        }
    }

    /// What a client assertion's `aud` may name: the issuer, or the token endpoint (RFC 7523
    /// §3 item 3).
    fn assertion_audiences(&self) -> Vec<String> {
        vec![self.issuer(), self.endpoint("token")]
    }

    /// The request's `resource`, which the `require_resource` knob makes mandatory.
    fn resource<'p>(&self, params: &'p Params) -> Result<Option<&'p str>, OAuthError> {
        match params.get("resource") {
            None if self.knobs().require_resource => Err(OAuthError::invalid_target("resource is required")),
            resource => Ok(resource),
        }
    }

    fn token(&self, headers: &HeaderMap, body: &[u8]) -> Result<super::grants::TokenResponse, OAuthError> {
        let params = Params::from_form(headers, body)?;
        let grant_type = params.require("grant_type")?;
        // The proof is checked before the grant, so a proof refused (or a nonce asked for)
        // leaves the code or refresh token unspent for the retry (RFC 9449 §8).
        let proven = self.check_dpop_proof(headers)?;
        let jkt = proven.as_ref().map(|p| p.jkt.as_str());
        // SEP-1933: a workload presents its workload JWT with no client authentication (RFC
        // 7523 §3.1 leaves it optional) and no registration; a client that authenticates is an
        // enterprise client redeeming an ID-JAG.
        let authenticates = headers.contains_key(header::AUTHORIZATION)
            || params.get("client_secret").is_some()
            || params.get("client_assertion_type").is_some();
        if let Some(workload) = self.trusted_workload_issuer.as_ref()
            && !authenticates
            && grant_type == jwt_bearer::GRANT_TYPE
        {
            return self.workload_grant(&params, workload, jkt);
        }
        let presented = params.client(headers)?;
        let audiences = self.assertion_audiences();
        let known_scopes = self.known_scopes();
        let mut grants = self.grants();
        let client = grants.authenticate(&presented, &audiences)?;
        let (client_id, machine) = (client.client_id.clone(), client.client_credentials);
        if machine != (grant_type == "client_credentials") && grant_type != "refresh_token" {
            return Err(OAuthError::unauthorized_client(match machine {
                true => "a machine client gets tokens only with the client_credentials grant",
                false => "the client may not use the client_credentials grant",
            }));
        }
        let resource = self.resource(&params)?;
        match grant_type {
            "authorization_code" => grants.redeem_code(
                &client_id,
                params.require("code")?,
                params.get("redirect_uri"),
                params.get("code_verifier"),
                resource,
                jkt,
            ),
            "refresh_token" => {
                grants.refresh(&client_id, params.require("refresh_token")?, params.get("scope"), resource, jkt)
            }
            "client_credentials" => {
                let scopes = parse_scopes(params.get("scope"));
                if let Some(unknown) = scopes.iter().find(|s| !known_scopes.contains(*s)) {
                    return Err(OAuthError::invalid_scope(format!("scope `{unknown}` is not known")));
                }
                Ok(grants.grant_access(&client_id, scopes, resource, jkt))
            }
            jwt_bearer::GRANT_TYPE if self.trusted_idp.is_some() => {
                let idp = self.trusted_idp.as_ref().expect("matched on it");
                let assertion = params.require("assertion")?;
                let mut seen = self.redeemed_id_jags.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let grant = jwt_bearer::verify(assertion, idp, &self.issuer(), &client_id, &mut seen)?;
                if resource.is_some_and(|r| r != grant.resource) {
                    return Err(OAuthError::invalid_target("resource differs from the ID-JAG's"));
                }
                Ok(grants.grant_access(&client_id, parse_scopes(params.get("scope")), Some(&grant.resource), jkt))
            }
            other => Err(OAuthError::unsupported_grant_type(format!("grant_type `{other}` is not supported"))),
        }
    }

    /// The JWT-bearer grant of a workload JWT (SEP-1933): an access token for the requested
    /// `resource`, no refresh token (the workload presents its JWT again).
    fn workload_grant(
        &self,
        params: &Params,
        workload: &super::TrustedIssuer,
        jkt: Option<&str>,
    ) -> Result<super::grants::TokenResponse, OAuthError> {
        let assertion = params.require("assertion")?;
        let resource = self.resource(params)?;
        let audiences = self.assertion_audiences();
        let audiences: Vec<&str> = audiences.iter().map(String::as_str).collect();
        let workload_id = jwt_bearer::verify_workload(assertion, workload, &audiences)?;
        // Tokens are recorded by client; a workload has no registration, its `client_id` (if it
        // names one, RFC 6749 §3.2.1) or else its workload identity stands in.
        let client_id = params.get("client_id").unwrap_or(&workload_id);
        Ok(self.grants().grant_access(client_id, parse_scopes(params.get("scope")), resource, jkt))
    }
}
