//! The JWT-bearer grant (RFC 7523 §2.1) with an ID-JAG, as enterprise-managed authorization
//! (SEP-990 §5) has the MCP authorization server check it: signed by the trusted identity
//! provider, `typ` `oauth-id-jag+jwt`, `iss` that provider, `aud` this issuer, not expired,
//! issued to the authenticated client, for a resource, never seen before.

use std::collections::HashSet;

use super::client_assertion::now_secs;
use super::enterprise_idp::{ID_JAG_TYP, TrustedIdp};
use super::error::OAuthError;
use crate::jose::Jwt;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// What a valid ID-JAG grants: a token for its resource.
pub struct Grant {
    pub resource: String,
}

/// Checks an ID-JAG presented by `client_id` to the authorization server `issuer`. Every
/// failure is `invalid_grant` (RFC 7523 §3.1).
pub fn verify(
    assertion: &str,
    idp: &TrustedIdp,
    issuer: &str,
    client_id: &str,
    seen: &mut HashSet<String>,
) -> Result<Grant, OAuthError> {
    let refuse = |why: String| OAuthError::invalid_grant(format!("ID-JAG: {why}"));
    let jwt = Jwt::verify(assertion, &idp.public_jwk).map_err(|e| refuse(e.to_string()))?;
    if jwt.header["typ"].as_str() != Some(ID_JAG_TYP) {
        return Err(refuse(format!("`typ` is {}, not {ID_JAG_TYP}", jwt.header["typ"])));
    }
    if jwt.claim("iss") != Some(idp.issuer.as_str()) {
        return Err(refuse(format!("`iss` {} is not the trusted identity provider", jwt.claims["iss"])));
    }
    if !jwt.audiences().contains(&issuer) {
        return Err(refuse(format!("`aud` {} is not this authorization server ({issuer})", jwt.claims["aud"])));
    }
    if jwt.claims["exp"].as_u64().is_none_or(|exp| exp <= now_secs()) {
        return Err(refuse("expired (`exp`)".into()));
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
        let idp = TrustedIdp { issuer: "http://idp".into(), public_jwk: key.public_jwk() };
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
}
