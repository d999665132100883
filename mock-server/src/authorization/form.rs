//! Request parameters as OAuth reads them: form bodies and query strings where a repeated
//! parameter is an error (RFC 6749 §3.1), and client credentials from either place (§2.3.1).

use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use base64::Engine as _;

use super::client_assertion::ASSERTION_TYPE;
use super::error::OAuthError;
use super::grants::PresentedClient;
use crate::jose::Jwt;

/// Parameters by name, each present at most once.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text; an empty value counts as absent
    /// (RFC 6749 §3.1).
    pub fn parse(encoded: &[u8]) -> Result<Self, OAuthError> {
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(encoded) {
            if value.is_empty() {
                continue;
            }
            if params.insert(name.to_string(), value.into_owned()).is_some() {
                return Err(OAuthError::invalid_request(format!("parameter `{name}` repeated")));
            }
        }
        Ok(Self(params))
    }

    /// Parses a form body, insisting on its content type.
    pub fn from_form(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request("body must be application/x-www-form-urlencoded"));
        }
        Self::parse(body)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::invalid_request(format!("missing parameter `{name}`")))
    }

    /// The client a token or revocation request claims to be: HTTP Basic, or `client_id`
    /// (and `client_secret`) in the body. Using both is an error (RFC 6749 §2.3).
    pub fn client(&self, headers: &HeaderMap) -> Result<PresentedClient, OAuthError> {
        if let Some(kind) = self.get("client_assertion_type") {
            return self.asserted_client(kind, headers);
        }
        let basic = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")));
        match basic {
            Some(encoded) => {
                if self.get("client_secret").is_some() {
                    return Err(OAuthError::invalid_request("client authenticated with more than one method"));
                }
                let (id, secret) = decode_basic(encoded.trim())
                    .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials", true))?;
                if self.get("client_id").is_some_and(|body_id| body_id != id) {
                    return Err(OAuthError::invalid_request("client_id differs from Basic credentials"));
                }
                Ok(PresentedClient { client_id: id, secret: Some(secret), via_basic: true, assertion: None })
            }
            None => Ok(PresentedClient {
                client_id: self.require("client_id")?.to_owned(),
                secret: self.get("client_secret").map(str::to_owned),
                via_basic: false,
                assertion: None,
            }),
        }
    }

    /// A client authenticating with a JWT (RFC 7523 §2.2): `client_id` may be left out, the
    /// assertion's `sub` names the client (RFC 7523 §3 item 2).
    fn asserted_client(&self, kind: &str, headers: &HeaderMap) -> Result<PresentedClient, OAuthError> {
        if kind != ASSERTION_TYPE {
            return Err(OAuthError::invalid_request(format!("client_assertion_type `{kind}` is not supported")));
        }
        if headers.contains_key(header::AUTHORIZATION) || self.get("client_secret").is_some() {
            return Err(OAuthError::invalid_request("client authenticated with more than one method"));
        }
        let assertion = self.require("client_assertion")?;
        let sub = Jwt::decode_unverified(assertion)
            .ok()
            .and_then(|jwt| jwt.claim("sub").map(str::to_owned))
            .ok_or_else(|| OAuthError::invalid_client("client_assertion is not a JWT with a `sub`", false))?;
        if self.get("client_id").is_some_and(|id| id != sub) {
            return Err(OAuthError::invalid_request("client_id differs from the assertion's `sub`"));
        }
        Ok(PresentedClient { client_id: sub, secret: None, via_basic: false, assertion: Some(assertion.to_owned()) })
    }
}

/// RFC 6749 §2.3.1: the id and secret are form-urlencoded before being joined and base64ed.
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape =
        |s: &str| url::form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((unescape(id)?, unescape(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameter_is_invalid_request() {
        let err = Params::parse(b"a=1&a=2").unwrap_err();
        assert_eq!(err.code, "invalid_request");
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        // "my%20id:p%3Aw" → id "my id", secret "p:w"
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%20id:p%3Aw");
        assert_eq!(decode_basic(&encoded), Some(("my id".into(), "p:w".into())));
    }
}
