//! Every request and response on every listener, in order, with secrets replaced by stable labels.
//!
//! Secrets are redacted when an exchange is recorded, not when it is read: a transcript can be
//! logged, snapshotted or attached to a bug report as it is. Each distinct secret gets a label
//! such as `[access_token:2]`, so checks can still tell *which* token a request carried.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

/// Which listener an exchange arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The MCP server's listener (which also carries the authorization server when it shares the
    /// origin).
    Resource,
    /// The authorization server's own listener.
    AuthorizationServer,
    /// The authorization endpoint's own listener (when it is on another origin than the issuer).
    AuthorizationEndpoint,
    /// The token endpoint's own listener.
    TokenEndpoint,
    /// The registration endpoint's own listener.
    RegistrationEndpoint,
    /// The enterprise identity provider's listener (SEP-990).
    IdentityProvider,
}

/// What an exchange was addressed to, as the mock routed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Endpoint {
    /// The MCP endpoint (streamable HTTP).
    Mcp,
    /// Protected resource metadata (RFC 9728).
    ResourceMetadata,
    /// RFC 8414 authorization server metadata.
    OauthMetadata,
    /// OpenID Connect discovery.
    OpenidMetadata,
    /// Dynamic client registration (RFC 7591).
    Registration,
    /// The authorization endpoint.
    Authorize,
    /// The consent form's submission.
    Consent,
    /// The token endpoint.
    Token,
    /// The enterprise identity provider's token endpoint (RFC 8693 token exchange, SEP-990).
    IdpToken,
    /// Token revocation (RFC 7009).
    Revocation,
    /// JWKS published for OIDC discovery.
    Jwks,
    /// An endpoint no metadata names, answering with a chosen error
    /// (`authorization_server.fallback`).
    Fallback,
    /// Nothing is served there (404).
    NotFound,
}

/// One request and its response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// Position in the transcript, from 0, across all listeners.
    pub seq: u64,
    pub origin: Origin,
    pub endpoint: Endpoint,
    pub method: String,
    pub path: String,
    /// Query parameters in order, repeated ones repeated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<(String, String)>,
    /// The request headers a check may need.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_headers: BTreeMap<String, String>,
    /// A form or JSON body as JSON; `null` when there was none or it was neither.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub request_body: Value,
    pub status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_headers: BTreeMap<String, String>,
    /// A JSON response body; `null` otherwise (HTML pages and event streams are not kept).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub response_body: Value,
    /// The MCP protocol version an MCP request was served under: the one its `initialize`
    /// negotiated (for every request of that session), or the one a 2026-07-28 request names.
    /// None for other endpoints and for requests refused before MCP (no token, a version the
    /// server does not speak).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// The JWTs the request carried (client assertions, ID-JAGs, subject tokens, DPoP proofs),
    /// by parameter or header name, as `{"header": …, "claims": …}`: what checks judge. The
    /// signatures are left out and the values themselves labelled, so no usable credential is
    /// kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub jwts: BTreeMap<String, Value>,
    /// The client ID metadata document the authorization server fetched to answer this request
    /// (an authorization request whose `client_id` is a URL it had not met): what the request's
    /// `redirect_uri` is held against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata_document: Option<Value>,
}

impl Exchange {
    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A field of a form or JSON request body, as a string.
    pub fn body_param(&self, name: &str) -> Option<&str> {
        self.request_body.get(name).and_then(Value::as_str)
    }

    /// The header and claims of a JWT the request carried in `name` (see [`Exchange::jwts`]).
    pub fn jwt(&self, name: &str) -> Option<&Value> {
        self.jwts.get(name)
    }

    /// The JSON-RPC method of an MCP request.
    pub fn mcp_method(&self) -> Option<&str> {
        self.body_param("method")
    }

    /// One line for humans: `#12 Mcp POST /mcp (initialize) -> 401 Bearer …`.
    pub fn summary(&self) -> String {
        format!("#{} {}", self.seq, self.describe())
    }

    /// [`summary`](Self::summary) without the sequence number, which shifts whenever an
    /// unrelated request lands in between.
    pub fn describe(&self) -> String {
        let mut line = format!("{:?} {} {}", self.endpoint, self.method, self.path);
        if let Some(method) = self.mcp_method() {
            line.push_str(&format!(" ({method})"));
        }
        if let Some(auth) = self.request_headers.get("authorization") {
            line.push_str(&format!(" [{auth}]"));
        }
        line.push_str(&format!(" -> {}", self.status));
        if let Some(challenge) = self.response_headers.get("www-authenticate") {
            line.push_str(&format!(" {challenge}"));
        }
        if let Some(error) = self.response_body.get("error").and_then(Value::as_str) {
            line.push_str(&format!(" error={error}"));
        }
        line
    }
}

/// Something done to a running mock rather than asked of it (a knob change, a restart, its
/// listeners going down), placed among the exchanges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The sequence number the next exchange got: the event happened before that exchange.
    pub before_seq: u64,
    /// What happened, in a few words (`stop`, `apply resource.required_scopes`).
    pub what: String,
}

/// The ordered record of a mock's traffic. Cloning shares the record.
#[derive(Debug, Clone)]
pub struct Transcript {
    inner: Arc<Mutex<Recorded>>,
    live: broadcast::Sender<Exchange>,
}

impl Default for Transcript {
    fn default() -> Self {
        Self { inner: Arc::default(), live: broadcast::channel(1024).0 }
    }
}

#[derive(Debug, Default)]
struct Recorded {
    exchanges: Vec<Exchange>,
    events: Vec<Event>,
    next_seq: u64,
    labels: Secrets,
}

/// The label given to each secret, in order of first sight.
#[derive(Debug, Default)]
struct Secrets {
    by_value: HashMap<String, String>,
    counts: HashMap<&'static str, usize>,
}

impl Secrets {
    fn label(&mut self, kind: &'static str, value: &str) -> String {
        if let Some(label) = self.by_value.get(value) {
            return label.clone();
        }
        let n = self.counts.entry(kind).or_default();
        *n += 1;
        let label = format!("[{kind}:{n}]");
        self.by_value.insert(value.to_owned(), label.clone());
        label
    }

    fn known(&self, value: &str) -> Option<&str> {
        self.by_value.get(value).map(String::as_str)
    }
}

/// Parameter and member names whose values are secrets, and the label kind for each.
const SECRET_FIELDS: &[(&str, &str)] = &[
    ("access_token", "access_token"),
    ("refresh_token", "refresh_token"),
    ("code", "code"),
    ("code_verifier", "code_verifier"),
    ("client_secret", "client_secret"),
    ("token", "token"),
    ("client_assertion", "client_assertion"),
    ("assertion", "assertion"),
    ("subject_token", "subject_token"),
];

/// Parameters and headers whose values are JWTs, decoded into [`Exchange::jwts`] before they are
/// labelled.
const JWT_FIELDS: &[&str] = &["client_assertion", "assertion", "subject_token", "dpop"];

impl Transcript {
    /// Every exchange so far, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.lock().exchanges.clone()
    }

    /// Exchanges from `seq` on: the slice one step of a scenario produced.
    pub fn since(&self, seq: u64) -> Vec<Exchange> {
        self.lock().exchanges.iter().filter(|e| e.seq >= seq).cloned().collect()
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// Records an event at the current position.
    pub(crate) fn note(&self, what: impl Into<String>) {
        let mut rec = self.lock();
        let before_seq = rec.next_seq;
        rec.events.push(Event { before_seq, what: what.into() });
    }

    /// The sequence number the next exchange will get.
    pub fn next_seq(&self) -> u64 {
        self.lock().next_seq
    }

    /// The transcript as JSON lines.
    pub fn to_json_lines(&self) -> String {
        self.lock().exchanges.iter().map(|e| serde_json::to_string(e).expect("exchanges serialize") + "\n").collect()
    }

    /// Exchanges as they are recorded (in completion order; `seq` gives arrival order). A
    /// receiver that falls more than 1024 exchanges behind skips ahead.
    pub fn subscribe(&self) -> broadcast::Receiver<Exchange> {
        self.live.subscribe()
    }

    /// The label a secret value has been given, if it has been seen.
    pub fn label_of(&self, secret: &str) -> Option<String> {
        self.lock().labels.known(secret).map(str::to_owned)
    }

    /// Takes a sequence number for a request as it arrives, so the record keeps arrival order
    /// even when responses finish out of order.
    pub(crate) fn reserve_seq(&self) -> u64 {
        let mut rec = self.lock();
        rec.next_seq += 1;
        rec.next_seq - 1
    }

    /// Redacts and stores an exchange.
    pub(crate) fn record(&self, mut exchange: Exchange) {
        decode_jwts(&mut exchange);
        let mut rec = self.lock();
        let labels = &mut rec.labels;
        for (name, value) in &mut exchange.query {
            redact_field(labels, name, value);
        }
        for (name, value) in &mut exchange.request_headers {
            if name == "authorization" {
                *value = redact_authorization(labels, value);
            } else if name == "dpop" {
                *value = labels.label("dpop_proof", value);
            }
        }
        redact_json(labels, &mut exchange.request_body);
        redact_json(labels, &mut exchange.response_body);
        if let Some(location) = exchange.response_headers.get_mut("location") {
            *location = redact_location(labels, location);
        }
        let at = rec.exchanges.partition_point(|e| e.seq < exchange.seq);
        rec.exchanges.insert(at, exchange.clone());
        // Nobody listening is fine: the record above is the source of truth.
        let _ = self.live.send(exchange);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        // A panic while holding the lock cannot leave the record half-written in a way that
        // matters to readers, so a poisoned lock is still used.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn decode_jwts(exchange: &mut Exchange) {
    for name in JWT_FIELDS {
        let value = exchange.body_param(name).or_else(|| exchange.request_headers.get(*name).map(String::as_str));
        let Some(jwt) = value.and_then(|v| crate::jose::Jwt::decode_unverified(v).ok()) else { continue };
        let mut decoded = serde_json::json!({"header": jwt.header, "claims": jwt.claims});
        // The token is labelled before anyone reads the transcript, so whether a DPoP proof's
        // `ath` is its hash (RFC 9449 §4.2) is noted now, while it can be computed.
        let token =
            exchange.request_headers.get("authorization").and_then(|a| a.split_once(' ')).map(|(_, t)| t.trim());
        if *name == "dpop"
            && let (Some(ath), Some(token)) = (jwt.claim("ath"), token)
        {
            decoded["ath_matches_token"] = (ath == crate::dpop::token_hash(token)).into();
        }
        exchange.jwts.insert((*name).to_owned(), decoded);
    }
}

fn redact_field(labels: &mut Secrets, name: &str, value: &mut String) {
    if let Some((_, kind)) = SECRET_FIELDS.iter().find(|(field, _)| *field == name) {
        *value = labels.label(kind, value);
    }
}

fn redact_json(labels: &mut Secrets, value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, member) in map.iter_mut() {
                match member {
                    Value::String(s) => redact_field(labels, name, s),
                    other => redact_json(labels, other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| redact_json(labels, item)),
        _ => {}
    }
}

fn redact_authorization(labels: &mut Secrets, value: &str) -> String {
    let Some((scheme, credentials)) = value.split_once(' ') else {
        return labels.label("credentials", value);
    };
    let credentials = credentials.trim();
    // A DPoP-bound token (RFC 9449 §7.1) is labelled as a bearer one is: checks follow it.
    let bearer = scheme.eq_ignore_ascii_case("bearer");
    if bearer || scheme.eq_ignore_ascii_case("dpop") {
        let label = match labels.known(credentials) {
            Some(known) => known.to_owned(),
            None => labels.label("unknown_token", credentials),
        };
        format!("{} {label}", if bearer { "Bearer" } else { "DPoP" })
    } else if scheme.eq_ignore_ascii_case("basic") {
        format!("Basic {}", redact_basic(labels, credentials))
    } else {
        format!("{scheme} {}", labels.label("credentials", credentials))
    }
}

/// Shows the client id of Basic credentials (it is not a secret) and labels the password.
fn redact_basic(labels: &mut Secrets, encoded: &str) -> String {
    use base64::Engine as _;
    let decoded =
        base64::engine::general_purpose::STANDARD.decode(encoded).ok().and_then(|bytes| String::from_utf8(bytes).ok());
    match decoded.as_deref().and_then(|d| d.split_once(':')) {
        Some((id, secret)) => format!("{id}:{}", labels.label("client_secret", secret)),
        None => labels.label("credentials", encoded),
    }
}

fn redact_location(labels: &mut Secrets, location: &str) -> String {
    let Ok(mut url) = url::Url::parse(location) else {
        return location.to_owned();
    };
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let mut v = v.into_owned();
            redact_field(labels, &k, &mut v);
            (k.into_owned(), v)
        })
        .collect();
    if pairs.is_empty() {
        return location.to_owned();
    }
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(seq: u64) -> Exchange {
        Exchange {
            seq,
            origin: Origin::Resource,
            endpoint: Endpoint::Token,
            method: "POST".into(),
            path: "/token".into(),
            query: Vec::new(),
            request_headers: BTreeMap::new(),
            request_body: Value::Null,
            status: 200,
            response_headers: BTreeMap::new(),
            response_body: Value::Null,
            protocol_version: None,
            jwts: BTreeMap::new(),
            client_metadata_document: None,
        }
    }

    #[test]
    fn the_same_secret_gets_the_same_label_everywhere() {
        let t = Transcript::default();
        let mut issued = exchange(0);
        issued.response_body = serde_json::json!({"access_token": "s3cret", "token_type": "Bearer"});
        t.record(issued);
        let mut used = exchange(1);
        used.request_headers.insert("authorization".into(), "Bearer s3cret".into());
        t.record(used);
        let all = t.exchanges();
        assert_eq!(all[0].response_body["access_token"], "[access_token:1]");
        assert_eq!(all[1].request_headers["authorization"], "Bearer [access_token:1]");
        assert!(!t.to_json_lines().contains("s3cret"));
    }

    #[test]
    fn records_keep_arrival_order() {
        let t = Transcript::default();
        t.record(exchange(1));
        t.record(exchange(0));
        let seqs: Vec<u64> = t.exchanges().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [0, 1]);
    }

    #[test]
    fn jwts_are_kept_as_header_and_claims_and_their_values_labelled() {
        let t = Transcript::default();
        let key = crate::jose::KeyPair::generate();
        let assertion = key.sign(serde_json::json!({"typ": "JWT"}), &serde_json::json!({"sub": "m", "jti": "1"}));
        let mut sent = exchange(0);
        sent.request_body = serde_json::json!({"grant_type": "client_credentials", "client_assertion": assertion});
        t.record(sent);
        let recorded = &t.exchanges()[0];
        assert_eq!(recorded.body_param("client_assertion"), Some("[client_assertion:1]"));
        let jwt = recorded.jwt("client_assertion").unwrap();
        assert_eq!((jwt["header"]["alg"].as_str(), jwt["claims"]["sub"].as_str()), (Some("ES256"), Some("m")));
        assert!(!t.to_json_lines().contains(&assertion), "the signed value itself is not kept");
    }

    #[test]
    fn basic_credentials_keep_the_client_id() {
        let mut labels = Secrets::default();
        // "cid:pw"
        assert_eq!(redact_authorization(&mut labels, "Basic Y2lkOnB3"), "Basic cid:[client_secret:1]");
    }
}
