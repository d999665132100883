//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3), as the client credentials
//! extension (SEP-1046) recommends it: a JWT the client signs with its registered key.

use std::collections::HashSet;

use super::error::OAuthError;
use super::grants::Client;
use crate::jose::Jwt;

/// `client_assertion_type` for a JWT assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Checks an assertion for `client`: its signature with the registered key, `iss` and `sub` the
/// client id, an `aud` among `audiences` (the issuer or the token endpoint), an `exp` not passed,
/// and a `jti` never seen before (RFC 7523 §3 items 1-4 and 7; this server does not accept
/// replays). Every failure is `invalid_client`, as RFC 7523 §3.2 asks.
pub fn verify(
    assertion: &str,
    client: &Client,
    audiences: &[String],
    seen: &mut HashSet<String>,
) -> Result<(), OAuthError> {
    let refuse = |why: String| OAuthError::invalid_client(format!("client assertion: {why}"), false);
    let key = client.public_jwk.as_ref().ok_or_else(|| refuse("the client has no registered key".into()))?;
    let jwt = Jwt::verify(assertion, key).map_err(|e| refuse(e.to_string()))?;
    for claim in ["iss", "sub"] {
        if jwt.claim(claim) != Some(client.client_id.as_str()) {
            return Err(refuse(format!("`{claim}` must be the client id `{}`", client.client_id)));
        }
    }
    if !jwt.audiences().iter().any(|aud| audiences.iter().any(|a| a == aud)) {
        return Err(refuse(format!("`aud` {} names neither {}", jwt.claims["aud"], audiences.join(" nor "))));
    }
    let exp = jwt.claims["exp"].as_u64().ok_or_else(|| refuse("`exp` is missing".into()))?;
    if exp <= now_secs() {
        return Err(refuse("the assertion expired (`exp`)".into()));
    }
    let jti = jwt.claim("jti").ok_or_else(|| refuse("`jti` is missing".into()))?;
    if !seen.insert(jti.to_owned()) {
        return Err(refuse(format!("`jti` {jti} was already used (a replayed assertion)")));
    }
    Ok(())
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::authorization::ClientKind;
    use crate::jose::KeyPair;
    use crate::profile::ClientAuthMethod;

    fn client(key: &KeyPair) -> Client {
        Client {
            client_id: "m".into(),
            secret: None,
            auth_method: ClientAuthMethod::PrivateKeyJwt,
            redirect_uris: Vec::new(),
            kind: ClientKind::Preregistered,
            public_jwk: Some(key.public_jwk()),
            client_credentials: true,
            disabled: false,
            may_refresh: true,
        }
    }

    fn assertion(key: &KeyPair, aud: &str, exp: u64, jti: &str) -> String {
        key.sign(json!({"typ": "JWT"}), &json!({"iss": "m", "sub": "m", "aud": aud, "exp": exp, "jti": jti}))
    }

    #[test]
    fn an_assertion_is_accepted_once_for_its_audience_until_it_expires() {
        let key = KeyPair::generate();
        let (c, aud, later) = (client(&key), vec!["http://as".to_owned()], now_secs() + 60);
        let mut seen = HashSet::new();
        assert!(verify(&assertion(&key, "http://as", later, "1"), &c, &aud, &mut seen).is_ok());
        let replay = verify(&assertion(&key, "http://as", later, "1"), &c, &aud, &mut seen).unwrap_err();
        assert!(replay.description.contains("already used"), "{replay}");
        let wrong = verify(&assertion(&key, "http://mcp", later, "2"), &c, &aud, &mut seen).unwrap_err();
        assert!(wrong.description.contains("aud"), "{wrong}");
        let expired = verify(&assertion(&key, "http://as", now_secs() - 1, "3"), &c, &aud, &mut seen).unwrap_err();
        assert!(expired.description.contains("expired"), "{expired}");
        let other_key = verify(&assertion(&KeyPair::generate(), "http://as", later, "4"), &c, &aud, &mut seen);
        assert_eq!(other_key.unwrap_err().code, "invalid_client");
    }
}
