//! What the authorization server remembers: clients, pending consents, codes and tokens.
//!
//! All of it sits behind one mutex in [`Grants`]; each method is one state transition, so the
//! OAuth rules (single-use codes, PKCE, rotation, family revocation) live here, not in handlers.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::OAuthError;
use crate::profile::{ClientAuthMethod, RedirectMatching, RefreshPolicy, TokenKnobs};

/// A set of scopes, kept sorted so tokens and transcripts compare and print stably.
pub type Scopes = BTreeSet<String>;

/// Parses a space-separated `scope` parameter.
pub fn parse_scopes(scope: Option<&str>) -> Scopes {
    scope.unwrap_or_default().split_ascii_whitespace().map(str::to_owned).collect()
}

/// Joins scopes the way `scope` parameters spell them.
pub fn join_scopes(scopes: &Scopes) -> String {
    scopes.iter().cloned().collect::<Vec<_>>().join(" ")
}

/// How a client came to be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    Preregistered,
    Dynamic,
    MetadataDocument,
}

/// A client the authorization server accepts.
#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub client_id: String,
    #[serde(skip)]
    pub secret: Option<String>,
    pub auth_method: ClientAuthMethod,
    /// Exact redirect URIs; empty accepts any loopback redirect.
    pub redirect_uris: Vec<String>,
    pub kind: ClientKind,
    /// Whether the token endpoint may issue it refresh tokens (`refresh_needs_grant_type`).
    pub may_refresh: bool,
    /// The public key its `private_key_jwt` assertions are checked with (its JWKS of one key).
    #[serde(skip)]
    pub public_jwk: Option<serde_json::Value>,
    /// A machine client: the `client_credentials` grant is its only way to tokens (SEP-1046).
    pub client_credentials: bool,
    /// Refused at the token endpoint, as a client an administrator disabled is.
    pub disabled: bool,
}

impl Client {
    /// Exact string match (OAuth 2.1 §2.3.1), except, when `matching` allows it, that the port
    /// of a loopback IP redirect may differ, since native apps pick their port at run time
    /// (RFC 8252 §7.3). A client registered with no redirect URIs may use any loopback one.
    pub fn accepts_redirect(&self, redirect_uri: &str, matching: RedirectMatching) -> bool {
        if self.redirect_uris.is_empty() {
            return is_loopback_redirect(redirect_uri);
        }
        let port_free = matching == RedirectMatching::LoopbackPort;
        self.redirect_uris.iter().any(|r| r == redirect_uri || (port_free && same_but_loopback_port(r, redirect_uri)))
    }
}

/// `http://127.0.0.1`, `http://[::1]` or `http://localhost`, any port.
pub fn is_loopback_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http"
            && matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
            && u.fragment().is_none()
    })
}

/// Whether two URIs are the same loopback IP redirect but for the port (RFC 8252 §7.3 names IP
/// literals only; `localhost` must match exactly).
fn same_but_loopback_port(registered: &str, requested: &str) -> bool {
    let (Ok(mut a), Ok(mut b)) = (url::Url::parse(registered), url::Url::parse(requested)) else {
        return false;
    };
    let loopback_ip = |u: &url::Url| u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "[::1]"));
    if !loopback_ip(&a) || !loopback_ip(&b) {
        return false;
    }
    let _ = a.set_port(None);
    let _ = b.set_port(None);
    a == b
}

/// An authorization request waiting for the user's answer, or approved and turned into a code.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub resource: Option<String>,
    pub scopes: Scopes,
}

struct CodeGrant {
    request: AuthorizationRequest,
    issued: Instant,
    redeemed: bool,
    /// Tokens issued for this code, revoked if the code is replayed (OAuth 2.1 §4.1.3).
    family: u64,
}

/// An access token as the resource sees it.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub client_id: String,
    pub resource: Option<String>,
    pub scopes: Scopes,
    /// The thumbprint of the DPoP key the token is bound to (RFC 9449 §6: `cnf.jkt`).
    pub jkt: Option<String>,
    expires: Instant,
    revoked: bool,
    family: u64,
}

struct RefreshToken {
    issued: Instant,
    client_id: String,
    resource: Option<String>,
    scopes: Scopes,
    family: u64,
    state: RefreshState,
    /// The DPoP key a public client's refresh token is bound to (RFC 9449 §5).
    jkt: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RefreshState {
    Active,
    Rotated,
    Revoked,
}

/// Why a bearer token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    Unknown,
    Expired,
    Revoked,
    WrongAudience,
}

impl TokenRejection {
    pub fn description(self) -> &'static str {
        match self {
            Self::Unknown => "the access token is not one this server issued",
            Self::Expired => "the access token expired",
            Self::Revoked => "the access token was revoked",
            Self::WrongAudience => "the access token was issued for another resource",
        }
    }
}

/// What the token endpoint answers with.
#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// A secret the mock issued (authorization code, access or refresh token), with its raw value,
/// for tests that need to use it directly and for scrubbing it from what clients print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedToken {
    pub kind: &'static str,
    pub value: String,
    pub client_id: String,
}

/// The state of one authorization server.
pub struct Grants {
    knobs: TokenKnobs,
    clients: HashMap<String, Client>,
    pending: HashMap<String, AuthorizationRequest>,
    codes: HashMap<String, CodeGrant>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    issued: Vec<IssuedToken>,
    next_family: u64,
    /// `jti`s of client assertions already used: each is accepted once (RFC 7523 §3 item 7).
    assertion_ids: std::collections::HashSet<String>,
}

impl Grants {
    pub fn new(knobs: TokenKnobs, preregistered: Vec<Client>) -> Self {
        Self {
            knobs,
            clients: preregistered.into_iter().map(|c| (c.client_id.clone(), c)).collect(),
            pending: HashMap::new(),
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            issued: Vec::new(),
            next_family: 0,
            assertion_ids: Default::default(),
        }
    }

    /// Token knobs changed on a running server: they apply to what is issued from now on.
    pub fn retune(&mut self, knobs: TokenKnobs) {
        self.knobs = knobs;
    }

    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.get(client_id)
    }

    pub fn register(&mut self, client: Client) {
        self.clients.insert(client.client_id.clone(), client);
    }

    /// Checks client authentication at the token or revocation endpoint (RFC 6749 §2.3);
    /// `audiences` are what a client assertion's `aud` may name (RFC 7523 §3).
    pub fn authenticate(&mut self, presented: &PresentedClient, audiences: &[String]) -> Result<&Client, OAuthError> {
        let basic = presented.via_basic;
        let client = self
            .clients
            .get(&presented.client_id)
            .ok_or_else(|| OAuthError::invalid_client("unknown client_id", basic))?;
        if client.disabled {
            return Err(OAuthError::invalid_client("the client was disabled by an administrator", basic));
        }
        let secret_ok = presented.assertion.is_none() && presented.secret == client.secret;
        let ok = match client.auth_method {
            ClientAuthMethod::None => presented.secret.is_none() && presented.assertion.is_none(),
            ClientAuthMethod::ClientSecretBasic => basic && secret_ok,
            ClientAuthMethod::ClientSecretPost => !basic && secret_ok,
            ClientAuthMethod::PrivateKeyJwt => {
                let assertion =
                    presented.assertion.as_deref().filter(|_| presented.secret.is_none()).ok_or_else(|| {
                        OAuthError::invalid_client("client must authenticate with private_key_jwt", basic)
                    })?;
                super::client_assertion::verify(assertion, client, audiences, &mut self.assertion_ids)?;
                true
            }
        };
        let client = &self.clients[&presented.client_id];
        if ok {
            Ok(client)
        } else {
            Err(OAuthError::invalid_client(
                format!("client must authenticate with {}", client.auth_method.as_str()),
                basic,
            ))
        }
    }

    /// Parks an authorization request until the consent form is answered.
    pub fn park(&mut self, request: AuthorizationRequest) -> String {
        let id = random_token("consent");
        self.pending.insert(id.clone(), request);
        id
    }

    pub fn take_pending(&mut self, id: &str) -> Option<AuthorizationRequest> {
        self.pending.remove(id)
    }

    /// Turns an approved request into a single-use code.
    pub fn issue_code(&mut self, request: AuthorizationRequest) -> String {
        let code = random_token("code");
        self.record_issued("code", &code, &request.client_id);
        let family = self.new_family();
        self.codes.insert(code.clone(), CodeGrant { request, issued: Instant::now(), redeemed: false, family });
        code
    }

    /// The `authorization_code` grant (OAuth 2.1 §4.1.3).
    pub fn redeem_code(
        &mut self,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        resource: Option<&str>,
        jkt: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let ttl = Duration::from_secs(self.knobs.code_ttl_secs);
        let grant = self.codes.get_mut(code).ok_or_else(|| OAuthError::invalid_grant("unknown authorization code"))?;
        if grant.redeemed {
            let family = grant.family;
            self.revoke_family(family);
            return Err(OAuthError::invalid_grant("authorization code already used"));
        }
        // A failed redemption still burns the code: a second try with a guessed verifier must
        // not be possible.
        grant.redeemed = true;
        let request = grant.request.clone();
        let family = grant.family;
        if grant.issued.elapsed() > ttl {
            return Err(OAuthError::invalid_grant("authorization code expired"));
        }
        if request.client_id != client_id {
            return Err(OAuthError::invalid_grant("code was issued to another client"));
        }
        if redirect_uri != Some(request.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant("redirect_uri differs from the authorization request's"));
        }
        let verifier = verifier.ok_or_else(|| OAuthError::invalid_grant("code_verifier is required (PKCE)"))?;
        if !verifier_is_wellformed(verifier) {
            return Err(OAuthError::invalid_grant(
                "code_verifier must be 43-128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)",
            ));
        }
        if s256(verifier) != request.code_challenge {
            return Err(OAuthError::invalid_grant("code_verifier does not match code_challenge"));
        }
        if let Some(resource) = resource
            && request.resource.as_deref() != Some(resource)
        {
            return Err(OAuthError::invalid_target("resource differs from the authorization request's"));
        }
        Ok(self.issue_tokens(client_id, request.resource, request.scopes, family, jkt))
    }

    /// An access token on a grant the caller has checked and that needs no code: the
    /// `client_credentials` grant (SEP-1046; no refresh token, RFC 6749 §4.4.3: the client can
    /// simply ask again) and the JWT-bearer grant of an ID-JAG (SEP-990 §5; the client asks its
    /// identity provider again).
    pub fn grant_access(
        &mut self,
        client_id: &str,
        scopes: Scopes,
        resource: Option<&str>,
        jkt: Option<&str>,
    ) -> TokenResponse {
        let family = self.new_family();
        self.issue_access_only(client_id, resource.map(str::to_owned), scopes, family, jkt)
    }

    /// The `refresh_token` grant, with rotation and reuse detection (OAuth 2.1 §4.3).
    pub fn refresh(
        &mut self,
        client_id: &str,
        refresh_token: &str,
        scope: Option<&str>,
        resource: Option<&str>,
        jkt: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        let rotate = self.knobs.refresh == RefreshPolicy::Rotate;
        let revoke_on_reuse = self.knobs.revoke_family_on_reuse;
        let lifetime = self.knobs.refresh_token_ttl_secs.map(Duration::from_secs);
        let token =
            self.refresh.get_mut(refresh_token).ok_or_else(|| OAuthError::invalid_grant("unknown refresh token"))?;
        if token.client_id != client_id {
            return Err(OAuthError::invalid_grant("refresh token was issued to another client"));
        }
        match token.state {
            RefreshState::Active if lifetime.is_some_and(|ttl| token.issued.elapsed() >= ttl) => {
                return Err(OAuthError::invalid_grant("refresh token expired"));
            }
            RefreshState::Active => {}
            RefreshState::Revoked => return Err(OAuthError::invalid_grant("refresh token revoked")),
            RefreshState::Rotated => {
                let family = token.family;
                if revoke_on_reuse {
                    self.revoke_family(family);
                }
                return Err(OAuthError::invalid_grant("refresh token was already rotated (reuse detected)"));
            }
        }
        if token.jkt.as_deref().is_some_and(|bound| jkt != Some(bound)) {
            return Err(OAuthError::invalid_grant(
                "the refresh token is bound to a DPoP key this request does not prove (RFC 9449 §5)",
            ));
        }
        let requested = parse_scopes(scope);
        if !requested.is_subset(&token.scopes) {
            return Err(OAuthError::invalid_scope("refresh may not widen the granted scopes"));
        }
        if let Some(resource) = resource
            && token.resource.as_deref().is_some_and(|bound| bound != resource)
        {
            return Err(OAuthError::invalid_target("resource differs from the grant's"));
        }
        let scopes = if requested.is_empty() { token.scopes.clone() } else { requested };
        let (family, bound) = (token.family, token.resource.clone());
        if rotate {
            token.state = RefreshState::Rotated;
            Ok(self.issue_tokens(client_id, bound, scopes, family, jkt))
        } else {
            let mut response = self.issue_access_only(client_id, bound, scopes, family, jkt);
            response.refresh_token = Some(refresh_token.to_owned());
            Ok(response)
        }
    }

    /// RFC 7009: revokes an access or refresh token of this client; unknown tokens are ignored.
    pub fn revoke(&mut self, client_id: &str, token: &str) {
        if let Some(at) = self.access.get_mut(token)
            && at.client_id == client_id
        {
            at.revoked = true;
        }
        if let Some(family) = self.refresh.get(token).filter(|rt| rt.client_id == client_id).map(|rt| rt.family) {
            self.revoke_family(family);
        }
    }

    /// Checks a bearer token for a resource whose identifiers are `audiences`.
    pub fn validate(&self, token: &str, audiences: &[String]) -> Result<&AccessToken, TokenRejection> {
        let at = self.access.get(token).ok_or(TokenRejection::Unknown)?;
        if at.revoked {
            return Err(TokenRejection::Revoked);
        }
        if Instant::now() >= at.expires {
            return Err(TokenRejection::Expired);
        }
        if at.resource.as_ref().is_some_and(|r| !audiences.contains(r)) {
            return Err(TokenRejection::WrongAudience);
        }
        Ok(at)
    }

    /// Makes every access token issued so far expire now.
    pub fn expire_access_tokens(&mut self) {
        let now = Instant::now();
        self.access.values_mut().for_each(|at| at.expires = now);
    }

    /// Revokes every token issued so far, as an administrator would.
    pub fn revoke_all(&mut self) {
        self.access.values_mut().for_each(|at| at.revoked = true);
        self.refresh.values_mut().for_each(|rt| rt.state = RefreshState::Revoked);
    }

    /// Revokes every refresh token issued so far; access tokens keep working until they expire.
    pub fn revoke_refresh_tokens(&mut self) {
        self.refresh.values_mut().for_each(|rt| rt.state = RefreshState::Revoked);
    }

    /// Forgets every client that registered (dynamically or by metadata document), as an
    /// authorization server that lost or purged its registrations would; clients configured
    /// out of band stay. Tokens already issued are left alone.
    pub fn forget_clients(&mut self) {
        self.clients.retain(|_, client| client.kind == ClientKind::Preregistered);
    }

    pub fn issued(&self) -> &[IssuedToken] {
        &self.issued
    }

    fn issue_tokens(
        &mut self,
        client_id: &str,
        resource: Option<String>,
        scopes: Scopes,
        family: u64,
        jkt: Option<&str>,
    ) -> TokenResponse {
        let mut response = self.issue_access_only(client_id, resource.clone(), scopes.clone(), family, jkt);
        let client = self.clients.get(client_id);
        let may_refresh = client.is_none_or(|c| c.may_refresh);
        // A confidential client's refresh token is sender-constrained by its authentication
        // already; only a public client's is bound to its DPoP key (RFC 9449 §5).
        let public = client.is_none_or(|c| c.auth_method == ClientAuthMethod::None);
        if self.knobs.refresh != RefreshPolicy::None && may_refresh {
            let value = random_token("rt");
            self.refresh.insert(
                value.clone(),
                RefreshToken {
                    issued: Instant::now(),
                    client_id: client_id.to_owned(),
                    resource,
                    scopes,
                    family,
                    state: RefreshState::Active,
                    jkt: jkt.filter(|_| public).map(str::to_owned),
                },
            );
            self.record_issued("refresh_token", &value, client_id);
            response.refresh_token = Some(value);
        }
        response
    }

    fn issue_access_only(
        &mut self,
        client_id: &str,
        resource: Option<String>,
        scopes: Scopes,
        family: u64,
        jkt: Option<&str>,
    ) -> TokenResponse {
        let value = random_token("at");
        let ttl = self.knobs.access_token_ttl_secs;
        let scope = join_scopes(&scopes);
        self.access.insert(
            value.clone(),
            AccessToken {
                client_id: client_id.to_owned(),
                resource,
                scopes,
                jkt: jkt.map(str::to_owned),
                expires: Instant::now() + Duration::from_secs(ttl),
                revoked: false,
                family,
            },
        );
        self.record_issued("access_token", &value, client_id);
        // RFC 9449 §5: a bound token's type is `DPoP`.
        let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
        TokenResponse { access_token: value, token_type, expires_in: ttl, refresh_token: None, scope }
    }

    fn record_issued(&mut self, kind: &'static str, value: &str, client_id: &str) {
        self.issued.push(IssuedToken { kind, value: value.to_owned(), client_id: client_id.to_owned() });
    }

    fn revoke_family(&mut self, family: u64) {
        self.access.values_mut().filter(|t| t.family == family).for_each(|t| t.revoked = true);
        self.refresh.values_mut().filter(|t| t.family == family).for_each(|t| t.state = RefreshState::Revoked);
    }

    fn new_family(&mut self) -> u64 {
        self.next_family += 1;
        self.next_family
    }
}

/// The client credentials a token or revocation request presented.
#[derive(Debug, Clone)]
pub struct PresentedClient {
    pub client_id: String,
    pub secret: Option<String>,
    pub via_basic: bool,
    /// A `private_key_jwt` client assertion (RFC 7523 §2.2).
    pub assertion: Option<String>,
}

/// The PKCE S256 transform (RFC 7636 §4.2).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn verifier_is_wellformed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len()) && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// An opaque, unguessable value with a readable prefix.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}-{}", URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn grants(refresh: RefreshPolicy) -> Grants {
        let knobs = TokenKnobs { refresh, ..TokenKnobs::default() };
        let client = Client {
            client_id: "c".into(),
            secret: None,
            auth_method: ClientAuthMethod::None,
            redirect_uris: vec!["http://127.0.0.1:1/cb".into()],
            kind: ClientKind::Dynamic,
            may_refresh: true,
            public_jwk: None,
            client_credentials: false,
            disabled: false,
        };
        Grants::new(knobs, vec![client])
    }

    fn code(g: &mut Grants) -> String {
        g.issue_code(AuthorizationRequest {
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1:1/cb".into(),
            state: None,
            code_challenge: s256(VERIFIER),
            resource: Some("http://r/mcp".into()),
            scopes: parse_scopes(Some("mcp:read")),
        })
    }

    #[test]
    fn s256_matches_rfc7636_appendix_b() {
        assert_eq!(s256(VERIFIER), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn code_is_single_use_and_replay_revokes_its_tokens() {
        let mut g = grants(RefreshPolicy::Rotate);
        let c = code(&mut g);
        let ok = g.redeem_code("c", &c, Some("http://127.0.0.1:1/cb"), Some(VERIFIER), None, None).unwrap();
        let again = g.redeem_code("c", &c, Some("http://127.0.0.1:1/cb"), Some(VERIFIER), None, None);
        assert_eq!(again.unwrap_err().code, "invalid_grant");
        let aud = ["http://r/mcp".to_owned()];
        assert_eq!(g.validate(&ok.access_token, &aud).unwrap_err(), TokenRejection::Revoked);
    }

    #[test]
    fn wrong_verifier_is_invalid_grant() {
        let mut g = grants(RefreshPolicy::Rotate);
        let c = code(&mut g);
        let wrong = "x".repeat(43);
        let err = g.redeem_code("c", &c, Some("http://127.0.0.1:1/cb"), Some(&wrong), None, None).unwrap_err();
        assert_eq!(err.code, "invalid_grant");
    }

    #[test]
    fn rotated_refresh_token_reuse_revokes_the_family() {
        let mut g = grants(RefreshPolicy::Rotate);
        let c = code(&mut g);
        let first = g.redeem_code("c", &c, Some("http://127.0.0.1:1/cb"), Some(VERIFIER), None, None).unwrap();
        let rt1 = first.refresh_token.unwrap();
        let second = g.refresh("c", &rt1, None, None, None).unwrap();
        assert_ne!(second.refresh_token.as_deref(), Some(rt1.as_str()));
        assert_eq!(g.refresh("c", &rt1, None, None, None).unwrap_err().code, "invalid_grant");
        let rt2 = second.refresh_token.unwrap();
        assert_eq!(g.refresh("c", &rt2, None, None, None).unwrap_err().code, "invalid_grant");
    }

    #[test]
    fn an_expired_refresh_token_is_invalid_grant() {
        let mut g = grants(RefreshPolicy::Rotate);
        let c = code(&mut g);
        let first = g.redeem_code("c", &c, Some("http://127.0.0.1:1/cb"), Some(VERIFIER), None, None).unwrap();
        g.retune(TokenKnobs { refresh_token_ttl_secs: Some(0), ..TokenKnobs::default() });
        let refused = g.refresh("c", &first.refresh_token.unwrap(), None, None, None).unwrap_err();
        assert_eq!((refused.code, refused.description.as_str()), ("invalid_grant", "refresh token expired"));
    }

    #[test]
    fn revoking_refresh_tokens_leaves_access_tokens_working() {
        let mut g = grants(RefreshPolicy::Rotate);
        let c = code(&mut g);
        let t = g.redeem_code("c", &c, Some("http://127.0.0.1:1/cb"), Some(VERIFIER), None, None).unwrap();
        g.revoke_refresh_tokens();
        assert!(g.validate(&t.access_token, &["http://r/mcp".to_owned()]).is_ok());
        assert_eq!(g.refresh("c", &t.refresh_token.unwrap(), None, None, None).unwrap_err().code, "invalid_grant");
    }

    #[test]
    fn forgotten_clients_fail_authentication() {
        let mut g = grants(RefreshPolicy::Rotate);
        g.forget_clients();
        let presented = PresentedClient { client_id: "c".into(), secret: None, via_basic: false, assertion: None };
        assert_eq!(g.authenticate(&presented, &[]).unwrap_err().code, "invalid_client");
    }

    #[test]
    fn loopback_ip_redirects_may_change_port_but_nothing_else() {
        let g = grants(RefreshPolicy::None);
        let c = g.client("c").unwrap();
        let loose = RedirectMatching::LoopbackPort;
        assert!(c.accepts_redirect("http://127.0.0.1:1/cb", loose));
        assert!(c.accepts_redirect("http://127.0.0.1:4567/cb", loose));
        assert!(!c.accepts_redirect("http://127.0.0.1:4567/other", loose));
        assert!(!c.accepts_redirect("http://localhost:1/cb", loose));
        assert!(!c.accepts_redirect("https://127.0.0.1:1/cb", loose));
    }

    #[test]
    fn exact_matching_holds_the_loopback_port_too() {
        let g = grants(RefreshPolicy::None);
        let c = g.client("c").unwrap();
        assert!(c.accepts_redirect("http://127.0.0.1:1/cb", RedirectMatching::Exact));
        assert!(!c.accepts_redirect("http://127.0.0.1:4567/cb", RedirectMatching::Exact));
    }

    #[test]
    fn tokens_are_bound_to_their_resource() {
        let mut g = grants(RefreshPolicy::None);
        let c = code(&mut g);
        let t = g.redeem_code("c", &c, Some("http://127.0.0.1:1/cb"), Some(VERIFIER), None, None).unwrap();
        assert!(t.refresh_token.is_none());
        let other = ["http://other/mcp".to_owned()];
        assert_eq!(g.validate(&t.access_token, &other).unwrap_err(), TokenRejection::WrongAudience);
    }
}
