//! The JWT-bearer grant (RFC 7523 §2.1) at the MCP authorization server, for the two
//! extensions that use it: an ID-JAG of enterprise-managed authorization (SEP-990 §5) and a
//! workload JWT of workload identity federation (SEP-1933). Both are checked as RFC 7523 §3 asks
//! (signed by a trusted issuer, `iss` that issuer, `aud` this authorization server, not
//! expired), then each by its own extension's rules.

use std::collections::HashSet;

use serde_json::Value;

use super::client_assertion::now_secs;
use super::enterprise_idp::ID_JAG_TYP;
use super::error::OAuthError;
use crate::jose::Jwt;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// An issuer and its public key, which the authorization server trusts for JWT-bearer grants.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    pub issuer: String,
    pub public_jwk: Value,
}

/// What a valid ID-JAG grants: a token for its resource.
pub struct Grant {
    pub resource: String,
}

/// The RFC 7523 §3 checks every JWT-bearer assertion passes: signature, `iss`, `aud` one of
/// `audiences`, `exp`. Every failure is `invalid_grant` (RFC 7523 §3.1), its description
/// starting with `what` the assertion is.
fn verify_signed(assertion: &str, trusted: &TrustedIssuer, audiences: &[&str], what: &str) -> Result<Jwt, OAuthError> {
    let refuse = |why: String| OAuthError::invalid_grant(format!("{what}: {why}"));
    let jwt = Jwt::verify(assertion, &trusted.public_jwk).map_err(|e| refuse(e.to_string()))?;
    if jwt.claim("iss") != Some(trusted.issuer.as_str()) {
        return Err(refuse(format!("`iss` {} is not the trusted issuer", jwt.claims["iss"])));
    }
    if !jwt.audiences().iter().any(|aud| audiences.contains(aud)) {
        return Err(refuse(format!("`aud` {} is not this authorization server ({})", jwt.claims["aud"], audiences[0])));
    }
    if jwt.claims["exp"].as_u64().is_none_or(|exp| exp <= now_secs()) {
        return Err(refuse("expired (`exp`)".into()));
    }
    Ok(jwt)
}

/// Checks an ID-JAG presented by `client_id` to the authorization server `issuer` (SEP-990
/// §5): `typ` `oauth-id-jag+jwt`, `aud` the issuer, issued to the authenticated client, for a
/// resource, never seen before.
pub fn verify(
    assertion: &str,
    idp: &TrustedIssuer,
    issuer: &str,
    client_id: &str,
    seen: &mut HashSet<String>,
) -> Result<Grant, OAuthError> {
    let refuse = |why: String| OAuthError::invalid_grant(format!("ID-JAG: {why}"));
    let jwt = verify_signed(assertion, idp, &[issuer], "ID-JAG")?;
    if jwt.header["typ"].as_str() != Some(ID_JAG_TYP) {
        return Err(refuse(format!("`typ` is {}, not {ID_JAG_TYP}", jwt.header["typ"])));
    }
    if jwt.claim("client_id") != Some(client_id) {
        return Err(refuse(format!("`client_id` {} is not the authenticated client", jwt.claims["client_id"])));
    }
    let resource = jwt.claim("resource").ok_or_else(|| refuse("no `resource`".into()))?.to_owned();
    let jti = jwt.claim("jti").ok_or_else(|| refuse("no `jti`".into()))?;
    if !seen.insert(jti.to_owned()) {
        return Err(refuse(format!("`jti` {jti} was already redeemed")));
    }
    Ok(Grant { resource })
}

/// Checks a workload JWT (SEP-1933): `aud` the issuer or the token endpoint (RFC 7523 §3 item
/// 3), a `sub` naming the workload, which it returns. A workload JWT is presented again until it
/// expires (the platform rotates it), so its `jti`, if any, is not held to one use.
pub fn verify_workload(assertion: &str, trusted: &TrustedIssuer, audiences: &[&str]) -> Result<String, OAuthError> {
    let jwt = verify_signed(assertion, trusted, audiences, "workload JWT")?;
    jwt.claim("sub")
        .map(str::to_owned)
        .ok_or_else(|| OAuthError::invalid_grant("workload JWT: no `sub` naming the workload"))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::jose::KeyPair;

    fn id_jag(key: &KeyPair, typ: &str, claims: Value) -> String {
        let mut all = json!({"iss": "http://idp", "aud": "http://as", "client_id": "c", "resource": "http://rs/mcp",
            "jti": "j", "exp": now_secs() + 60});
        all.as_object_mut().unwrap().extend(claims.as_object().unwrap().clone());
        key.sign(json!({"typ": typ}), &all)
    }

    #[test]
    fn an_id_jag_is_checked_claim_by_claim_and_redeemed_once() {
        let key = KeyPair::generate();
        let idp = TrustedIssuer { issuer: "http://idp".into(), public_jwk: key.public_jwk() };
        let check = |token: &str, seen: &mut HashSet<String>| {
            verify(token, &idp, "http://as", "c", seen).map(|g| g.resource).map_err(|e| e.description)
        };
        let mut seen = HashSet::new();
        assert_eq!(check(&id_jag(&key, ID_JAG_TYP, json!({})), &mut seen), Ok("http://rs/mcp".into()));
        let refused = [
            (id_jag(&key, ID_JAG_TYP, json!({})), "already redeemed"),
            (id_jag(&key, "JWT", json!({"jti": "2"})), "typ"),
            (id_jag(&key, ID_JAG_TYP, json!({"jti": "3", "iss": "http://other"})), "iss"),
            (id_jag(&key, ID_JAG_TYP, json!({"jti": "4", "aud": "http://other"})), "aud"),
            (id_jag(&key, ID_JAG_TYP, json!({"jti": "5", "exp": now_secs() - 1})), "expired"),
            (id_jag(&key, ID_JAG_TYP, json!({"jti": "6", "client_id": "d"})), "client_id"),
            (id_jag(&KeyPair::generate(), ID_JAG_TYP, json!({"jti": "7"})), "signature"),
        ];
        for (token, why) in refused {
            let error = check(&token, &mut seen).unwrap_err();
            assert!(error.contains(why), "{why}: {error}");
        }
    }

    #[test]
    fn a_workload_jwt_is_checked_and_may_be_presented_again() {
        let key = KeyPair::generate();
        let trusted = TrustedIssuer { issuer: "http://idp".into(), public_jwk: key.public_jwk() };
        let audiences = ["http://as", "http://as/token"];
        let check = |token: &str| verify_workload(token, &trusted, &audiences).map_err(|e| e.description);
        let workload = id_jag(&key, "JWT", json!({"sub": "spiffe://t/w", "aud": "http://as/token"}));
        assert_eq!(check(&workload), Ok("spiffe://t/w".into()));
        assert_eq!(check(&workload), Ok("spiffe://t/w".into()), "no single use");
        let refused = [
            (id_jag(&key, "JWT", json!({})), "sub"),
            (id_jag(&key, "JWT", json!({"sub": "w", "aud": "http://other"})), "aud"),
            (id_jag(&key, "JWT", json!({"sub": "w", "exp": now_secs() - 1})), "expired"),
            (id_jag(&key, "JWT", json!({"sub": "w", "iss": "http://other"})), "iss"),
            (id_jag(&KeyPair::generate(), "JWT", json!({"sub": "w"})), "signature"),
        ];
        for (token, why) in refused {
            let error = check(&token).unwrap_err();
            assert!(error.contains(why), "{why}: {error}");
        }
    }
}
