//! DPoP proofs (RFC 9449) as the token endpoint and the MCP endpoint check them: one `DPoP`
//! header holding an ES256 `dpop+jwt` signed by the key in its own `jwk` header (§4.2), for
//! this request's method and URL (§4.3 items 8-9), recent (`iat`, item 11; ±5 minutes by
//! default, as SEP-1932 §Stateless DPoP Proof Replay Protection says), never seen before
//! (`jti`, §11.1), with the server's nonce when it asks for one (§8, §9), and at a resource with
//! `ath`, the hash of the access token it travels with (§4.3 item 12, §7).

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::jose::{Jwt, JwtError, random_id, thumbprint};

/// The only algorithm the mock verifies and advertises (`dpop_signing_alg_values_supported`).
pub const ALGORITHM: &str = "ES256";

/// Why a proof is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofRefusal {
    /// RFC 9449 §5, §7.1: `invalid_dpop_proof`.
    #[error("{0}")]
    Invalid(String),
    /// The proof lacks the server's current nonce (§8, §9): `use_dpop_nonce`, with the nonce in a
    /// `DPoP-Nonce` header.
    #[error("the proof must carry the server's nonce")]
    UseNonce,
}

/// What one request must match.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    /// `htm`: the request's method.
    pub method: &'a str,
    /// `htu`: the request's URL without query and fragment.
    pub url: &'a str,
    /// The access token the request carries (at a resource): its hash must be `ath`.
    pub access_token: Option<&'a str>,
}

/// A proof that passed: the thumbprint of its key (RFC 7638), what `cnf.jkt` binds a token to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    pub jkt: String,
}

/// One server's proof checking: its nonce and the `jti`s it has seen.
#[derive(Debug)]
pub struct ProofChecker {
    nonce: String,
    seen: Mutex<HashSet<String>>,
}

impl Default for ProofChecker {
    fn default() -> Self {
        Self { nonce: random_id(), seen: Mutex::default() }
    }
}

impl ProofChecker {
    /// The nonce this server hands out in `DPoP-Nonce`.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Checks the request's `DPoP` header; `None` when there is none. `window_secs` bounds how
    /// far `iat` may be from now; `nonce_required` asks for this server's nonce.
    pub fn check(
        &self,
        headers: &HeaderMap,
        expected: &Expected,
        window_secs: u64,
        nonce_required: bool,
    ) -> Option<Result<Proven, ProofRefusal>> {
        let mut values = headers.get_all("dpop").iter();
        let first = values.next()?;
        if values.next().is_some() {
            return Some(Err(invalid("more than one DPoP header (RFC 9449 §4.3 item 1)")));
        }
        let Ok(proof) = first.to_str() else {
            return Some(Err(invalid("the DPoP header is not ASCII")));
        };
        Some(self.check_proof(proof, expected, window_secs, nonce_required))
    }

    fn check_proof(
        &self,
        proof: &str,
        expected: &Expected,
        window_secs: u64,
        nonce_required: bool,
    ) -> Result<Proven, ProofRefusal> {
        let unverified = Jwt::decode_unverified(proof).map_err(|e| invalid(e.to_string()))?;
        if unverified.header["typ"] != "dpop+jwt" {
            return Err(invalid(format!("typ is {}, not dpop+jwt (RFC 9449 §4.2)", unverified.header["typ"])));
        }
        let jwk = &unverified.header["jwk"];
        if !jwk.is_object() {
            return Err(invalid("no jwk header (RFC 9449 §4.2)"));
        }
        if jwk.get("d").is_some() {
            return Err(invalid("the jwk header holds a private key (RFC 9449 §4.3 item 7)"));
        }
        let jwt = Jwt::verify(proof, jwk).map_err(|e| match e {
            JwtError::Algorithm(alg) => invalid(format!("alg {alg} is not supported; use {ALGORITHM}")),
            other => invalid(other.to_string()),
        })?;
        if jwt.claim("htm") != Some(expected.method) {
            return Err(invalid(format!("htm {} is not the request's method {}", jwt.claims["htm"], expected.method)));
        }
        match jwt.claim("htu") {
            Some(htu) if htu.contains(['?', '#']) => {
                return Err(invalid("htu carries a query or fragment (RFC 9449 §4.2)"));
            }
            Some(htu) if same_url(htu, expected.url) => {}
            other => {
                return Err(invalid(format!(
                    "htu {} is not the request's URL {}",
                    other.unwrap_or("missing"),
                    expected.url
                )));
            }
        }
        let iat = jwt.claims["iat"].as_u64().ok_or_else(|| invalid("iat is missing"))?;
        if iat.abs_diff(now_secs()) > window_secs {
            return Err(invalid(format!("iat is more than {window_secs} s from now")));
        }
        if let Some(token) = expected.access_token
            && jwt.claim("ath") != Some(token_hash(token).as_str())
        {
            return Err(invalid("ath is not the hash of the access token (RFC 9449 §4.3 item 12)"));
        }
        let jti = jwt.claim("jti").filter(|j| !j.is_empty()).ok_or_else(|| invalid("jti is missing"))?;
        if nonce_required && jwt.claim("nonce") != Some(self.nonce.as_str()) {
            return Err(ProofRefusal::UseNonce);
        }
        // Last, so a proof refused for another reason does not burn its jti.
        if !self.seen.lock().unwrap_or_else(PoisonError::into_inner).insert(jti.to_owned()) {
            return Err(invalid(format!("jti {jti} was already used: a replayed proof (RFC 9449 §11.1)")));
        }
        Ok(Proven { jkt: thumbprint(jwk).map_err(|e| invalid(e.to_string()))? })
    }
}

fn invalid(why: impl Into<String>) -> ProofRefusal {
    ProofRefusal::Invalid(why.into())
}

/// `htu` matches the request URL: RFC 9449 §4.3 item 9 compares them after RFC 3986 §6
/// normalization (scheme and host case, default port), which the URL parser does.
fn same_url(htu: &str, url: &str) -> bool {
    match (url::Url::parse(htu), url::Url::parse(url)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `ath`: base64url of the SHA-256 of the access token's ASCII (RFC 9449 §4.2).
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::jose::KeyPair;

    const URL: &str = "http://127.0.0.1:1/token";

    fn proof(key: &KeyPair, claims: serde_json::Value) -> String {
        key.sign(json!({"typ": "dpop+jwt", "jwk": key.public_jwk()}), &claims)
    }

    fn claims(jti: &str) -> serde_json::Value {
        json!({"jti": jti, "htm": "POST", "htu": URL, "iat": now_secs()})
    }

    fn headers(proof: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("dpop", proof.parse().unwrap());
        headers
    }

    fn check(checker: &ProofChecker, proof: &str, nonce: bool) -> Result<Proven, ProofRefusal> {
        let expected = Expected { method: "POST", url: URL, access_token: None };
        checker.check(&headers(proof), &expected, 300, nonce).expect("a DPoP header")
    }

    fn refusal(result: Result<Proven, ProofRefusal>) -> String {
        match result {
            Err(ProofRefusal::Invalid(why)) => why,
            other => panic!("expected invalid_dpop_proof, got {other:?}"),
        }
    }

    #[test]
    fn a_good_proof_binds_to_its_key_thumbprint() {
        let key = KeyPair::generate();
        let proven = check(&ProofChecker::default(), &proof(&key, claims("1")), false).unwrap();
        assert_eq!(proven.jkt, thumbprint(&key.public_jwk()).unwrap());
    }

    #[test]
    fn no_header_is_no_proof() {
        let expected = Expected { method: "POST", url: URL, access_token: None };
        assert!(ProofChecker::default().check(&HeaderMap::new(), &expected, 300, false).is_none());
    }

    #[test]
    fn a_replayed_jti_is_refused() {
        let (checker, key) = (ProofChecker::default(), KeyPair::generate());
        check(&checker, &proof(&key, claims("same")), false).unwrap();
        assert!(refusal(check(&checker, &proof(&key, claims("same")), false)).contains("already used"));
    }

    #[test]
    fn typ_jwk_and_signature_are_required() {
        let (checker, key) = (ProofChecker::default(), KeyPair::generate());
        let plain = key.sign(json!({"typ": "JWT", "jwk": key.public_jwk()}), &claims("a"));
        assert!(refusal(check(&checker, &plain, false)).contains("typ"));
        let keyless = key.sign(json!({"typ": "dpop+jwt"}), &claims("b"));
        assert!(refusal(check(&checker, &keyless, false)).contains("jwk"));
        let other = KeyPair::generate();
        let wrong_key = key.sign(json!({"typ": "dpop+jwt", "jwk": other.public_jwk()}), &claims("c"));
        assert!(refusal(check(&checker, &wrong_key, false)).contains("signature"));
        assert!(refusal(check(&checker, "not.a.jwt", false)).contains("compact JWS"));
    }

    #[test]
    fn htm_htu_and_iat_must_fit_the_request() {
        let (checker, key) = (ProofChecker::default(), KeyPair::generate());
        let mut get = claims("1");
        get["htm"] = json!("GET");
        assert!(refusal(check(&checker, &proof(&key, get), false)).contains("htm"));
        let mut query = claims("2");
        query["htu"] = json!(format!("{URL}?x=1"));
        assert!(refusal(check(&checker, &proof(&key, query), false)).contains("query"));
        let mut elsewhere = claims("3");
        elsewhere["htu"] = json!("http://127.0.0.1:1/mcp");
        assert!(refusal(check(&checker, &proof(&key, elsewhere), false)).contains("htu"));
        let mut old = claims("4");
        old["iat"] = json!(now_secs() - 301);
        assert!(refusal(check(&checker, &proof(&key, old), false)).contains("iat"));
        let mut cased = claims("5");
        cased["htu"] = json!("HTTP://127.0.0.1:1/token");
        check(&checker, &proof(&key, cased), false).expect("htu is compared after normalization");
    }

    #[test]
    fn ath_must_hash_the_access_token() {
        let (checker, key) = (ProofChecker::default(), KeyPair::generate());
        let expected = Expected { method: "POST", url: URL, access_token: Some("at-1") };
        let mut with_ath = claims("1");
        with_ath["ath"] = json!(token_hash("at-1"));
        checker.check(&headers(&proof(&key, with_ath)), &expected, 300, false).unwrap().unwrap();
        let mut other_ath = claims("2");
        other_ath["ath"] = json!(token_hash("at-2"));
        let refused = checker.check(&headers(&proof(&key, other_ath)), &expected, 300, false).unwrap();
        assert!(refusal(refused).contains("ath"));
    }

    #[test]
    fn a_required_nonce_is_asked_for_then_accepted() {
        let (checker, key) = (ProofChecker::default(), KeyPair::generate());
        assert_eq!(check(&checker, &proof(&key, claims("1")), true), Err(ProofRefusal::UseNonce));
        let mut with_nonce = claims("1");
        with_nonce["nonce"] = json!(checker.nonce());
        check(&checker, &proof(&key, with_nonce), true).expect("the jti of a nonce challenge is not burnt");
    }

    #[test]
    fn two_dpop_headers_are_refused() {
        let key = KeyPair::generate();
        let mut headers = headers(&proof(&key, claims("1")));
        headers.append("dpop", proof(&key, claims("2")).parse().unwrap());
        let expected = Expected { method: "POST", url: URL, access_token: None };
        let refused = ProofChecker::default().check(&headers, &expected, 300, false).unwrap();
        assert!(refusal(refused).contains("more than one"));
    }
}
