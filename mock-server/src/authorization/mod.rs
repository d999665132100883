//! The authorization server: metadata, registration, authorization, token and revocation.

mod authorize;
mod client_assertion;
mod enterprise_idp;
mod error;
mod form;
mod grants;
mod jwt_bearer;
mod registration;
mod token;
mod workload_identity;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};
use url::Url;

use crate::dpop::{self, ProofChecker};
use crate::jose::KeyPair;
use crate::live::LiveProfile;
use crate::placeholder::Surroundings;
use crate::profile::{AuthorizationServerKnobs, ClientAuthMethod, MetadataDocument};
use crate::recording::tagged;
use crate::transcript::Endpoint;

pub use enterprise_idp::{EnterpriseIdp, EnterpriseSignOn};
pub use error::OAuthError;
pub use grants::{AccessToken, ClientKind, IssuedToken, TokenRejection};
use grants::{Client, Grants};
pub use jwt_bearer::{GRANT_TYPE as JWT_BEARER_GRANT_TYPE, TrustedIssuer};
pub use workload_identity::{WORKLOAD_ISSUER, WORKLOAD_SUBJECT, WorkloadIssuer};

/// The origins an authorization server's endpoints are served on (each endpoint lives below the
/// issuer's path on its origin).
#[derive(Debug, Clone)]
pub struct EndpointOrigins {
    pub authorize: Url,
    pub token: Url,
    pub registration: Url,
}

/// One authorization server, shared by its handlers and by the protected resources it serves.
pub struct AuthorizationServer {
    /// Read per request, so knob changes on a running mock take effect at once.
    profile: Arc<LiveProfile>,
    issuer: Url,
    /// Where each endpoint is served.
    origins: EndpointOrigins,
    /// What placeholders in knob values stand for.
    surroundings: Arc<Surroundings>,
    grants: Mutex<Grants>,
    /// Fetches client ID metadata documents; built on first use, since most servers never fetch
    /// one and building it can be costly (with TLS enabled in the workspace, reqwest reads the
    /// platform's whole certificate store).
    http: std::sync::OnceLock<reqwest::Client>,
    /// The key pairs of pre-registered `private_key_jwt` clients, by client id.
    client_keys: HashMap<String, KeyPair>,
    /// The enterprise identity provider whose ID-JAGs the JWT-bearer grant accepts (SEP-990).
    trusted_idp: Option<TrustedIssuer>,
    /// The workload issuer whose workload JWTs the JWT-bearer grant accepts (SEP-1933).
    trusted_workload_issuer: Option<TrustedIssuer>,
    /// `jti`s of ID-JAGs already redeemed: each grants once.
    redeemed_id_jags: Mutex<std::collections::HashSet<String>>,
    /// DPoP proofs at the token endpoint: the nonce and the `jti`s seen (RFC 9449).
    dpop: ProofChecker,
}

impl std::fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServer").field("issuer", &self.issuer()).finish_non_exhaustive()
    }
}

/// The issuer identifier of an authorization server listening at `origin` (`http://127.0.0.1:port`)
/// with the issuer path the profile names.
pub fn issuer_at(origin: &Url, issuer_path: &str) -> Url {
    origin.join(issuer_path).expect("issuer paths are relative paths")
}

impl AuthorizationServer {
    /// `issuer` comes from [`issuer_at`]; `origins` says where each endpoint listens;
    /// `trusted_idp` is the enterprise identity provider whose ID-JAGs it accepts, if any;
    /// `trusted_workload_issuer` the workload issuer whose workload JWTs it accepts, if any.
    pub fn new(
        profile: Arc<LiveProfile>,
        issuer: Url,
        origins: EndpointOrigins,
        surroundings: Arc<Surroundings>,
        trusted_idp: Option<TrustedIssuer>,
        trusted_workload_issuer: Option<TrustedIssuer>,
    ) -> Self {
        let (knobs, tokens) = profile.read(|p| (p.authorization_server.clone(), p.tokens.clone()));
        // A key pair per run for each client that signs its assertions: the public key is its
        // registered JWKS, the private key goes to the harness for the client under test.
        let client_keys: HashMap<String, KeyPair> = knobs
            .preregistered_clients
            .iter()
            .filter(|c| c.auth_method == ClientAuthMethod::PrivateKeyJwt)
            .map(|c| (c.client_id.clone(), KeyPair::generate()))
            .collect();
        let preregistered = knobs
            .preregistered_clients
            .iter()
            .map(|c| Client {
                client_id: c.client_id.clone(),
                secret: c.client_secret.clone(),
                auth_method: c.auth_method,
                redirect_uris: c.redirect_uris.clone(),
                kind: ClientKind::Preregistered,
                may_refresh: true,
                public_jwk: client_keys.get(&c.client_id).map(KeyPair::public_jwk),
                client_credentials: c.client_credentials,
                disabled: c.disabled,
            })
            .collect();
        Self {
            profile,
            issuer,
            origins,
            surroundings,
            grants: Mutex::new(Grants::new(tokens, preregistered)),
            http: std::sync::OnceLock::new(),
            client_keys,
            trusted_idp,
            trusted_workload_issuer,
            redeemed_id_jags: Mutex::default(),
            dpop: ProofChecker::default(),
        }
    }

    /// The private key (a JWK) of a pre-registered `private_key_jwt` client, generated at start.
    pub fn client_private_key(&self, client_id: &str) -> Option<String> {
        self.client_keys.get(client_id).map(KeyPair::private_jwk)
    }

    /// The issuer identifier, exactly as metadata should state it (no trailing slash for a
    /// path-less issuer: `http://127.0.0.1:port`).
    pub fn issuer(&self) -> String {
        self.issuer.as_str().trim_end_matches('/').to_owned()
    }

    /// The authorization server's knobs as they are now.
    fn knobs(&self) -> AuthorizationServerKnobs {
        self.profile.read(|p| p.authorization_server.clone())
    }

    /// Every scope a client may ask for now: the metadata's and the protected resource's.
    fn known_scopes(&self) -> grants::Scopes {
        self.profile.read(|p| {
            let resource_scopes = &p.resource_metadata.scopes_supported;
            let scopes = p.authorization_server.scopes_supported.iter().chain(resource_scopes).cloned();
            scopes.chain(["offline_access".to_owned()]).collect()
        })
    }

    /// Takes up the token knobs of a changed profile (the grants keep their own copy, read
    /// under their lock).
    pub fn retune(&self) {
        let tokens = self.profile.read(|p| p.tokens.clone());
        self.grants().retune(tokens);
    }

    /// The issuer path as a route prefix (`""` or `/tenant1`).
    fn prefix(&self) -> String {
        self.knobs().issuer_path.trim_end_matches('/').to_owned()
    }

    /// The authorization endpoint and its consent form.
    pub fn authorize_router(self: &Arc<Self>) -> Router {
        let prefix = self.prefix();
        Router::new()
            .route(&format!("{prefix}/authorize"), get(authorize::authorize))
            .route(&format!("{prefix}/authorize/consent"), post(authorize::consent))
            .with_state(self.clone())
    }

    /// The token endpoint and revocation.
    pub fn token_router(self: &Arc<Self>) -> Router {
        let prefix = self.prefix();
        Router::new()
            .route(&format!("{prefix}/token"), post(token::token))
            .route(&format!("{prefix}/revoke"), post(token::revoke))
            .with_state(self.clone())
    }

    /// The registration endpoint, when dynamic registration is offered.
    pub fn registration_router(self: &Arc<Self>) -> Router {
        match self.knobs().dynamic_registration {
            true => Router::new()
                .route(&format!("{}/register", self.prefix()), post(registration::register))
                .with_state(self.clone()),
            false => Router::new(),
        }
    }

    /// The metadata documents (also at the origin root when `root_metadata` asks for it) and
    /// the key set OIDC discovery names: what the issuer's own origin serves.
    pub fn metadata_router(self: &Arc<Self>) -> Router {
        let knobs = self.knobs();
        let prefix = self.prefix();
        let mut router = Router::new();
        let mut served = Vec::new();
        let prefixes: &[&str] = if knobs.root_metadata { &[&prefix, ""] } else { &[&prefix] };
        for prefix in prefixes {
            for document in &knobs.metadata {
                let path = metadata_path(*document, prefix);
                if !served.contains(&path) {
                    router = router.route(&path, get(metadata).with_state((self.clone(), *document)));
                    served.push(path);
                }
            }
        }
        if knobs.metadata.iter().any(|d| *d != MetadataDocument::Oauth) {
            router = router.route(&format!("{prefix}/jwks"), get(jwks));
        }
        router
    }

    /// `name` below the issuer's path on `origin`.
    fn endpoint_on(&self, origin: &Url, name: &str) -> String {
        format!("{}{}/{name}", origin.as_str().trim_end_matches('/'), self.issuer.path().trim_end_matches('/'))
    }

    fn endpoint(&self, name: &str) -> String {
        format!("{}/{name}", self.issuer())
    }

    /// The metadata document (RFC 8414 §2; OIDC discovery adds its required members).
    pub fn metadata(&self, document: MetadataDocument) -> Value {
        let k = &self.knobs();
        let issuer = k.issuer_override.as_deref().map_or_else(|| self.issuer(), |i| self.surroundings.resolve(i));
        let mut doc = json!({
            "issuer": issuer,
            "authorization_endpoint": self.endpoint_on(&self.origins.authorize, "authorize"),
            "token_endpoint": self.endpoint_on(&self.origins.token, "token"),
            "revocation_endpoint": self.endpoint_on(&self.origins.token, "revoke"),
            "response_types_supported": ["code"],
            "grant_types_supported": grant_types(k, self.trusted_idp.is_some() || self.trusted_workload_issuer.is_some()),
            "token_endpoint_auth_methods_supported":
                k.token_endpoint_auth_methods.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        });
        if k.token_endpoint_auth_methods.contains(&ClientAuthMethod::PrivateKeyJwt) {
            // SEP-1046: required when JWT authentication is supported.
            doc["token_endpoint_auth_signing_alg_values_supported"] = json!(["ES256"]);
        }
        if k.dynamic_registration {
            doc["registration_endpoint"] = json!(self.endpoint_on(&self.origins.registration, "register"));
        }
        if k.advertise_pkce {
            doc["code_challenge_methods_supported"] = json!(["S256"]);
        }
        if !k.scopes_supported.is_empty() {
            doc["scopes_supported"] = json!(k.scopes_supported);
        }
        if k.iss_parameter.advertised() {
            doc["authorization_response_iss_parameter_supported"] = json!(true);
        }
        if k.client_id_metadata_documents {
            doc["client_id_metadata_document_supported"] = json!(true);
        }
        if self.profile.read(|p| p.dpop.enabled) {
            doc["dpop_signing_alg_values_supported"] = json!([dpop::ALGORITHM]);
        }
        if document != MetadataDocument::Oauth {
            doc["jwks_uri"] = json!(self.endpoint("jwks"));
            doc["subject_types_supported"] = json!(["public"]);
            doc["id_token_signing_alg_values_supported"] = json!(["RS256"]);
        }
        doc
    }

    /// Checks a bearer token for a resource known by `audiences`.
    pub fn validate(&self, token: &str, audiences: &[String]) -> Result<AccessToken, TokenRejection> {
        self.grants().validate(token, audiences).cloned()
    }

    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        self.grants().issued().to_vec()
    }

    pub fn expire_access_tokens(&self) {
        self.grants().expire_access_tokens();
    }

    pub fn revoke_all(&self) {
        self.grants().revoke_all();
    }

    pub fn revoke_refresh_tokens(&self) {
        self.grants().revoke_refresh_tokens();
    }

    pub fn forget_clients(&self) {
        self.grants().forget_clients();
    }

    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain HTTP client always builds")
        })
    }

    fn grants(&self) -> MutexGuard<'_, Grants> {
        // Every transition completes under the lock before it can panic-free return, so a
        // poisoned lock holds consistent state.
        self.grants.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `grant_types_supported`: `client_credentials` too when a machine client is registered, the
/// JWT-bearer grant when an enterprise identity provider or a workload issuer is trusted.
fn grant_types(knobs: &AuthorizationServerKnobs, jwt_bearer: bool) -> Vec<&'static str> {
    let mut grants = vec!["authorization_code", "refresh_token"];
    if knobs.preregistered_clients.iter().any(|c| c.client_credentials) {
        grants.push("client_credentials");
    }
    if jwt_bearer {
        grants.push(jwt_bearer::GRANT_TYPE);
    }
    grants
}

/// Where a metadata document lives for an issuer whose path is `prefix` (MCP authorization
/// 2025-11-25 §"Authorization Server Metadata Discovery").
fn metadata_path(document: MetadataDocument, prefix: &str) -> String {
    match document {
        MetadataDocument::Oauth => format!("/.well-known/oauth-authorization-server{prefix}"),
        MetadataDocument::Openid => format!("/.well-known/openid-configuration{prefix}"),
        MetadataDocument::OpenidAppended => format!("{prefix}/.well-known/openid-configuration"),
    }
}

async fn metadata(State((server, document)): State<(Arc<AuthorizationServer>, MetadataDocument)>) -> Response {
    let endpoint = match document {
        MetadataDocument::Oauth => Endpoint::OauthMetadata,
        _ => Endpoint::OpenidMetadata,
    };
    tagged(endpoint, axum::Json(server.metadata(document)))
}

async fn jwks() -> Response {
    // Opaque access tokens and no ID tokens: the key set is empty but well-formed.
    tagged(Endpoint::Jwks, axum::Json(json!({ "keys": [] })))
}
