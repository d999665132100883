//! Signed JWTs as the authorization extensions use them: client assertions (RFC 7523), ID-JAGs
//! and DPoP proofs (RFC 9449), all ES256 compact JWS (RFC 7515) with keys as JWKs (RFC 7517).
//!
//! Hand-written over `p256` on purpose: ES256 is the only algorithm the harness signs with, and
//! a JOSE crate would bring RSA and, in rmcp's choice of backend, a C library (aws-lc) with it.
//! The JWS part is three base64url segments and one ECDSA signature; `p256` (RustCrypto, pure
//! Rust) does the curve, the signature and the JWK encoding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::JwkEcKey;
use rand::RngCore as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Why a JWT is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("not a compact JWS (three base64url segments of JSON)")]
    Malformed,
    #[error("alg is {0}, not ES256")]
    Algorithm(String),
    #[error("the key is not a P-256 public JWK")]
    Key,
    #[error("the signature does not verify")]
    Signature,
}

/// A JWT's header and claims, as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Jwt {
    pub header: Value,
    pub claims: Value,
}

impl Jwt {
    /// Reads the header and claims without checking the signature (to find the key to check it
    /// with, or to show what a client sent).
    pub fn decode_unverified(token: &str) -> Result<Self, JwtError> {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let json = |segment: &str| -> Result<Value, JwtError> {
            let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| JwtError::Malformed)?;
            serde_json::from_slice(&bytes).ok().filter(Value::is_object).ok_or(JwtError::Malformed)
        };
        Ok(Self { header: json(header)?, claims: json(claims)? })
    }

    /// Checks an ES256 signature with a public JWK, then returns the header and claims.
    pub fn verify(token: &str, public_jwk: &Value) -> Result<Self, JwtError> {
        let jwt = Self::decode_unverified(token)?;
        match jwt.header["alg"].as_str() {
            Some("ES256") => {}
            other => return Err(JwtError::Algorithm(other.unwrap_or("missing").to_owned())),
        }
        let key = verifying_key(public_jwk)?;
        let (signed, signature) = token.rsplit_once('.').ok_or(JwtError::Malformed)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| JwtError::Malformed)?;
        let signature = Signature::from_slice(&signature).map_err(|_| JwtError::Signature)?;
        key.verify(signed.as_bytes(), &signature).map_err(|_| JwtError::Signature)?;
        Ok(jwt)
    }

    /// A claim as a string.
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// `aud`, a string or a list of strings (RFC 7519 §4.1.3).
    pub fn audiences(&self) -> Vec<&str> {
        match &self.claims["aud"] {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

fn verifying_key(jwk: &Value) -> Result<VerifyingKey, JwtError> {
    let jwk: JwkEcKey = serde_json::from_value(jwk.clone()).map_err(|_| JwtError::Key)?;
    let public = p256::PublicKey::from_jwk(&jwk).map_err(|_| JwtError::Key)?;
    Ok(VerifyingKey::from(public))
}

/// An ES256 key pair.
#[derive(Clone)]
pub struct KeyPair {
    secret: p256::SecretKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").field("public", &self.public_jwk()).finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A fresh key pair.
    pub fn generate() -> Self {
        loop {
            // `p256` wants a rand_core 0.6 RNG; 32 random bytes are a scalar unless (with
            // negligible odds) they are zero or above the curve order, then we draw again.
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                return Self { secret };
            }
        }
    }

    /// Reads a private JWK (as [`private_jwk`](Self::private_jwk) writes it).
    pub fn from_private_jwk(jwk: &str) -> Result<Self, JwtError> {
        p256::SecretKey::from_jwk_str(jwk).map(|secret| Self { secret }).map_err(|_| JwtError::Key)
    }

    /// Reads a PKCS#8 PEM private key (as the official conformance suite hands one out).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, JwtError> {
        use p256::pkcs8::DecodePrivateKey as _;
        p256::SecretKey::from_pkcs8_pem(pem).map(|secret| Self { secret }).map_err(|_| JwtError::Key)
    }

    /// The private key as a JWK, to hand to the client that signs with it.
    pub fn private_jwk(&self) -> String {
        self.secret.to_jwk_string().to_string()
    }

    /// The private key as PKCS#8 PEM (as the official conformance suite hands one out).
    pub fn private_pkcs8_pem(&self) -> String {
        use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
        self.secret.to_pkcs8_pem(LineEnding::LF).expect("a P-256 key encodes as PKCS#8").to_string()
    }

    /// The public key as a JWK: what a JWKS publishes and a DPoP proof's header carries.
    pub fn public_jwk(&self) -> Value {
        serde_json::from_str(&self.secret.public_key().to_jwk_string()).expect("a JWK is JSON")
    }

    /// A compact ES256 JWS of `claims`, with `alg` set in `header`.
    pub fn sign(&self, mut header: Value, claims: &Value) -> String {
        header["alg"] = json!("ES256");
        let segment = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("JSON always serializes"));
        let signed = format!("{}.{}", segment(&header), segment(claims));
        let signature: Signature = SigningKey::from(&self.secret).sign(signed.as_bytes());
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// The JWK SHA-256 thumbprint (RFC 7638) of an EC public key: what `cnf.jkt` binds a DPoP token
/// to (RFC 9449 §6.1).
pub fn thumbprint(jwk: &Value) -> Result<String, JwtError> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str).ok_or(JwtError::Key);
    // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
    let canonical = format!(
        r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
        member("crv")?,
        member("kty")?,
        member("x")?,
        member("y")?
    );
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// A random identifier for `jti` claims and nonces.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_token_verifies_with_its_public_key_only() {
        let key = KeyPair::generate();
        let token = key.sign(json!({"typ": "JWT"}), &json!({"sub": "c"}));
        let jwt = Jwt::verify(&token, &key.public_jwk()).unwrap();
        assert_eq!((jwt.header["alg"].as_str(), jwt.claim("sub")), (Some("ES256"), Some("c")));
        assert_eq!(Jwt::verify(&token, &KeyPair::generate().public_jwk()), Err(JwtError::Signature));
        let (head, _) = token.rsplit_once('.').unwrap();
        let other = key.sign(json!({}), &json!({"sub": "d"}));
        let spliced = format!("{head}.{}", other.rsplit_once('.').unwrap().1);
        assert_eq!(Jwt::verify(&spliced, &key.public_jwk()), Err(JwtError::Signature));
    }

    #[test]
    fn private_jwk_round_trips() {
        let key = KeyPair::generate();
        let again = KeyPair::from_private_jwk(&key.private_jwk()).unwrap();
        assert_eq!(again.public_jwk(), key.public_jwk());
        assert!(key.public_jwk().get("d").is_none(), "the public JWK has no private part");
        let from_pem = KeyPair::from_pkcs8_pem(&key.private_pkcs8_pem()).unwrap();
        assert_eq!(from_pem.public_jwk(), key.public_jwk(), "the PKCS#8 PEM is the same key");
    }

    #[test]
    fn thumbprint_matches_rfc7638_shape() {
        // RFC 9449 §6.1's example key and its thumbprint.
        let jwk = json!({"kty": "EC", "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
            "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA", "crv": "P-256"});
        assert_eq!(thumbprint(&jwk).unwrap(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    }

    #[test]
    fn malformed_tokens_are_errors_not_panics() {
        for token in ["", "a.b", "a.b.c.d", "!!.e30.x", "e30.W10.x"] {
            assert_eq!(Jwt::decode_unverified(token), Err(JwtError::Malformed), "{token}");
        }
    }
}
