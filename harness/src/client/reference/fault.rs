//! Faults: each makes the reference client commit one real-world mistake, so the checks can be
//! shown catching it (`mcp-auth-harness mutants`). Most act at the edges the adapter controls —
//! the authorization URL it hands to the browser, the callback it hands to rmcp, extra requests
//! a careless client makes, the HTTP rmcp's discovery goes through (`oauth_http`) — because rmcp
//! itself does these things right.

use std::collections::BTreeMap;
use std::str::FromStr;

use url::Url;

/// One deliberate mistake the reference client can be told to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Without stored credentials, the status check probes only RFC 8414 paths on the MCP
    /// origin and never reads protected resource metadata (openai/codex#20009's mechanism).
    StatusProbesOriginOnly,
    /// The status check says `oauth` whenever a credentials file exists, without using it.
    StatusTrustsFile,
    /// Authorizes even when the AS does not advertise PKCE support.
    ProceedWithoutPkce,
    /// Keeps credentials in memory only: a restart forgets the login.
    ForgetOnRestart,
    /// Sends the authorization request without RFC 8707 `resource`.
    OmitResource,
    /// Sends the authorization request without a PKCE challenge.
    NoPkce,
    /// Asks for the `plain` PKCE method.
    PlainPkce,
    /// Asks for the AS metadata's `scopes_supported` instead of the challenge's or PRM's
    /// (openai/codex#15643).
    ScopesFromAsMetadata,
    /// Does not compare the returned `state` with the one it sent.
    IgnoreState,
    /// Does not check the returned `iss` (passes on the issuer it expected instead).
    IgnoreIss,
    /// Also sends the access token in a query string.
    TokenInQuery,
    /// Also sends the access token to the authorization server.
    TokenToAuthorizationServer,
    /// The status check looks for credentials under another key than login stored them.
    StatusReadsOtherKey,
    /// Never uses its refresh token: when the access token stops working it sends the user back
    /// to the browser instead.
    NeverRefresh,
    /// Refreshes, but keeps the refresh token it had: a rotated one is never stored.
    KeepRotatedOutRefreshToken,
    /// Each verb keeps the credentials it read when it started in memory and refreshes with
    /// them, taking no lock: two verbs running at the same time refresh with the same refresh
    /// token, and the second presents one the first had rotated out.
    UncoordinatedRefresh,
    /// Re-authorizes after every insufficient_scope refusal, with no retry limit (in practice
    /// ten) — the loop the spec's retry limit is there to prevent.
    UnboundedStepUp,
    /// Ignores `resource_metadata` in a `WWW-Authenticate` challenge: only the well-known
    /// locations are tried for protected resource metadata.
    IgnoreResourceMetadata,
    /// Tries a path issuer's metadata URLs in the wrong order (OpenID Connect path-appended
    /// first, RFC 8414 path-inserted last).
    WrongAsMetadataOrder,
    /// Never tries OpenID Connect discovery: RFC 8414 locations only.
    SkipOidcFallback,
    /// Uses authorization server metadata whatever issuer it names.
    SkipIssuerValidation,
    /// Sends the user off with whatever redirect URI the registration response names, even one
    /// that is not its own loopback listener.
    AcceptNonLoopbackRedirect,
    /// Says the login is done once the browser comes back, even with `error=access_denied`.
    ClaimLoginOnDenial,
    /// Imports the first `tools/list` page and ignores `nextCursor`.
    FirstPageOfToolsOnly,
    /// Before discovery, tries a token endpoint it guessed at the MCP server's origin
    /// (`/token`), as clients that skip metadata do.
    GuessTokenEndpoint,
    /// Keeps its client ID and tokens when the protected resource metadata starts naming another
    /// authorization server: logs in there with the old client_id and refreshes there with the
    /// old refresh token (the binding SEP-2352 forbids).
    ReuseClientAcrossServers,
    /// Compares the returned `iss` only when the metadata advertises
    /// `authorization_response_iss_parameter_supported`, as RFC 9207 §2.4 leaves to local policy
    /// and MCP 2026-07-28 does not.
    CompareIssOnlyWhenAdvertised,
    /// Compares the returned `iss` after normalizing both sides (scheme case, trailing slash),
    /// which MCP 2026-07-28 forbids.
    NormalizeIss,
    /// Shows the error of an authorization response before validating its `iss`.
    ShowUnvalidatedError,
    /// Registers dynamically without `application_type` (SEP-837).
    OmitApplicationType,
    /// Registers dynamically with `grant_types` that leave out `refresh_token`.
    OmitRefreshGrantType,
    /// Asks for `offline_access` whether or not the authorization server lists it.
    AlwaysOfflineAccess,
    /// Re-authorizes after insufficient_scope for the challenged scopes alone, dropping the ones
    /// it asked for before (what 2025-11-25 asked, and 2026-07-28 no longer does: SEP-2350).
    ChallengedScopesOnly,
    /// Registers dynamically even when it was given pre-registered credentials.
    RegisterDespitePreregistered,
    /// A machine client picks its authentication method from the metadata's list (rmcp's
    /// choice: `client_secret_post` whenever listed) instead of the one it was registered with.
    AuthMethodFromMetadata,
    /// Addresses its client assertion (`aud`) to the MCP server instead of the authorization
    /// server.
    AssertionForMcpServer,
    /// Keeps its first client assertion and sends it again (same `jti`) for every token.
    ReuseClientAssertion,
    /// Does not declare the authorization extension it uses in its client capabilities.
    UndeclaredExtension,
    /// Asks the identity provider for an ID-JAG whose audience is the MCP server, not its
    /// authorization server.
    IdJagForMcpServer,
    /// Makes the JWT-bearer grant of a workload JWT without `resource`.
    WorkloadGrantWithoutResource,
    /// Makes a refused JWT-bearer grant of a workload JWT once more.
    RetryRefusedWorkloadGrant,
    /// After a refused JWT-bearer grant of a workload JWT, falls back to the authorization code
    /// flow (a browser no one is at).
    BrowserAfterRefusedWorkloadGrant,
    /// Signs one DPoP proof per method and URL and sends it again (same `jti`) on every later
    /// request there.
    ReuseDpopProof,
    /// Leaves `ath` (the access token's hash) out of its DPoP proofs to the MCP server.
    DpopProofWithoutAth,
    /// Never retries with the nonce a `use_dpop_nonce` answer hands it.
    IgnoreDpopNonce,
    /// Sends its DPoP-bound access token to the MCP server as a bearer token, with no proof.
    BoundTokenAsBearer,
    /// Hosts a client ID metadata document whose `redirect_uris` leave out the port of the
    /// loopback redirect it then uses, as if RFC 8252's free loopback port held for it.
    MetadataDocumentWithoutPort,
}

impl Fault {
    const ALL: [(Fault, &'static str); 47] = [
        (Fault::StatusProbesOriginOnly, "status-probes-origin-only"),
        (Fault::StatusTrustsFile, "status-trusts-file"),
        (Fault::ProceedWithoutPkce, "proceed-without-pkce"),
        (Fault::ForgetOnRestart, "forget-on-restart"),
        (Fault::OmitResource, "omit-resource"),
        (Fault::NoPkce, "no-pkce"),
        (Fault::PlainPkce, "plain-pkce"),
        (Fault::ScopesFromAsMetadata, "scopes-from-as-metadata"),
        (Fault::IgnoreState, "ignore-state"),
        (Fault::IgnoreIss, "ignore-iss"),
        (Fault::TokenInQuery, "token-in-query"),
        (Fault::TokenToAuthorizationServer, "token-to-authorization-server"),
        (Fault::StatusReadsOtherKey, "status-reads-other-key"),
        (Fault::UnboundedStepUp, "unbounded-step-up"),
        (Fault::NeverRefresh, "never-refresh"),
        (Fault::KeepRotatedOutRefreshToken, "keep-rotated-out-refresh-token"),
        (Fault::UncoordinatedRefresh, "uncoordinated-refresh"),
        (Fault::IgnoreResourceMetadata, "ignore-resource-metadata"),
        (Fault::WrongAsMetadataOrder, "wrong-as-metadata-order"),
        (Fault::SkipOidcFallback, "skip-oidc-fallback"),
        (Fault::SkipIssuerValidation, "skip-issuer-validation"),
        (Fault::AcceptNonLoopbackRedirect, "accept-non-loopback-redirect"),
        (Fault::ClaimLoginOnDenial, "claim-login-on-denial"),
        (Fault::FirstPageOfToolsOnly, "first-page-of-tools-only"),
        (Fault::GuessTokenEndpoint, "guess-token-endpoint"),
        (Fault::ReuseClientAcrossServers, "reuse-client-across-servers"),
        (Fault::CompareIssOnlyWhenAdvertised, "compare-iss-only-when-advertised"),
        (Fault::NormalizeIss, "normalize-iss"),
        (Fault::ShowUnvalidatedError, "show-unvalidated-error"),
        (Fault::OmitApplicationType, "omit-application-type"),
        (Fault::OmitRefreshGrantType, "omit-refresh-grant-type"),
        (Fault::AlwaysOfflineAccess, "always-offline-access"),
        (Fault::ChallengedScopesOnly, "challenged-scopes-only"),
        (Fault::RegisterDespitePreregistered, "register-despite-preregistered"),
        (Fault::AuthMethodFromMetadata, "auth-method-from-metadata"),
        (Fault::AssertionForMcpServer, "assertion-for-mcp-server"),
        (Fault::ReuseClientAssertion, "reuse-client-assertion"),
        (Fault::UndeclaredExtension, "undeclared-extension"),
        (Fault::IdJagForMcpServer, "id-jag-for-mcp-server"),
        (Fault::ReuseDpopProof, "reuse-dpop-proof"),
        (Fault::DpopProofWithoutAth, "dpop-proof-without-ath"),
        (Fault::IgnoreDpopNonce, "ignore-dpop-nonce"),
        (Fault::BoundTokenAsBearer, "bound-token-as-bearer"),
        (Fault::MetadataDocumentWithoutPort, "metadata-document-without-port"),
        (Fault::WorkloadGrantWithoutResource, "workload-grant-without-resource"),
        (Fault::RetryRefusedWorkloadGrant, "retry-refused-workload-grant"),
        (Fault::BrowserAfterRefusedWorkloadGrant, "fallback-after-workload-refusal"),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(f, _)| *f == self).map(|(_, n)| *n).expect("every fault is named")
    }

    pub fn names() -> String {
        Self::ALL.iter().map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
    }

    pub fn all() -> impl Iterator<Item = Fault> {
        Self::ALL.into_iter().map(|(f, _)| f)
    }
}

impl FromStr for Fault {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(f, _)| *f)
            .ok_or_else(|| format!("unknown fault `{name}` (faults: {})", Self::names()))
    }
}

/// The authorization URL as a faulty client would build it.
pub(super) fn rewrite_authorization_url(faults: &[Fault], url: &str) -> String {
    let url = match faults.contains(&Fault::AlwaysOfflineAccess) {
        true => with_offline_access(url),
        false => url.to_owned(),
    };
    rewrite_query(&url, |k, v| {
        if (faults.contains(&Fault::OmitResource) && k == "resource")
            || (faults.contains(&Fault::NoPkce) && k.starts_with("code_challenge"))
        {
            return None;
        }
        let plain = faults.contains(&Fault::PlainPkce) && k == "code_challenge_method";
        Some((k, if plain { "plain".to_owned() } else { v }))
    })
}

/// The authorization URL with `offline_access` in its scope.
fn with_offline_access(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else { return url.to_owned() };
    if parsed.query_pairs().any(|(k, _)| k == "scope") {
        return rewrite_query(url, |k, v| {
            let add = k == "scope" && !v.split_whitespace().any(|s| s == "offline_access");
            Some((k, if add { format!("{v} offline_access") } else { v }))
        });
    }
    parsed.query_pairs_mut().append_pair("scope", "offline_access");
    parsed.to_string()
}

/// The authorization URL with `redirect_uri` replaced.
pub(super) fn with_redirect_uri(url: &str, redirect_uri: &str) -> String {
    rewrite_query(url, |k, v| Some((k.clone(), if k == "redirect_uri" { redirect_uri.to_owned() } else { v })))
}

/// `url` with each query pair mapped by `map` (`None` drops it).
fn rewrite_query(url: &str, mut map: impl FnMut(String, String) -> Option<(String, String)>) -> String {
    let Ok(mut parsed) = Url::parse(url) else { return url.to_owned() };
    let pairs: Vec<(String, String)> =
        parsed.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).filter_map(|(k, v)| map(k, v)).collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

/// The callback parameters as a faulty client would pass them on.
pub(super) fn rewrite_callback(
    faults: &[Fault],
    mut answer: BTreeMap<String, String>,
    sent: &str,
    expected_issuer: Option<&str>,
    iss_advertised: bool,
) -> BTreeMap<String, String> {
    if faults.contains(&Fault::IgnoreState)
        && let Some(state) =
            Url::parse(sent).ok().and_then(|u| u.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()))
    {
        answer.insert("state".into(), state);
    }
    if faults.contains(&Fault::IgnoreIss)
        && let Some(issuer) = expected_issuer
    {
        answer.insert("iss".into(), issuer.to_owned());
    }
    if faults.contains(&Fault::CompareIssOnlyWhenAdvertised) && !iss_advertised {
        answer.remove("iss");
    }
    if faults.contains(&Fault::NormalizeIss)
        && let (Some(issuer), Some(iss)) = (expected_issuer, answer.get("iss"))
        && normalized(iss) == normalized(issuer)
    {
        answer.insert("iss".into(), issuer.to_owned());
    }
    answer
}

/// An issuer as a normalizing client compares it: lower case, no trailing slash.
fn normalized(issuer: &str) -> String {
    issuer.trim_end_matches('/').to_ascii_lowercase()
}

/// A dynamic registration's metadata as a faulty client would send it.
pub(super) fn rewrite_registration(faults: &[Fault], metadata: &mut serde_json::Value) {
    let Some(metadata) = metadata.as_object_mut() else { return };
    if faults.contains(&Fault::OmitApplicationType) {
        metadata.remove("application_type");
    }
    if faults.contains(&Fault::OmitRefreshGrantType)
        && let Some(grant_types) = metadata.get_mut("grant_types").and_then(|g| g.as_array_mut())
    {
        grant_types.retain(|g| g != "refresh_token");
    }
}

/// The redirect URI a client's metadata document lists for `redirect_uri`, the one it uses.
pub(super) fn rewrite_listed_redirect_uri(faults: &[Fault], redirect_uri: &str) -> String {
    let Ok(mut url) = Url::parse(redirect_uri) else { return redirect_uri.to_owned() };
    if !faults.contains(&Fault::MetadataDocumentWithoutPort) || url.set_port(None).is_err() {
        return redirect_uri.to_owned();
    }
    url.to_string()
}

/// The request a client that skips metadata makes before logging in: a token endpoint guessed
/// at the MCP server's origin.
pub(super) async fn guess_endpoints(faults: &[Fault], mcp_url: &str) {
    if !faults.contains(&Fault::GuessTokenEndpoint) {
        return;
    }
    let Ok(url) = Url::parse(mcp_url) else { return };
    let guessed = format!("{}/token", url.origin().ascii_serialization());
    let _ = crate::loopback_http::client().post(guessed).form(&[("grant_type", "client_credentials")]).send().await;
}

/// The extra requests a careless client makes with its token after logging in.
pub(super) async fn misuse_token(faults: &[Fault], token: &Option<String>, mcp_url: &str, issuer: Option<&str>) {
    let Some(token) = token else { return };
    let http = crate::loopback_http::client();
    if faults.contains(&Fault::TokenInQuery) {
        let _ = http.get(format!("{mcp_url}?access_token={token}")).send().await;
    }
    if faults.contains(&Fault::TokenToAuthorizationServer)
        && let Some(issuer) = issuer
    {
        let metadata = format!("{}/.well-known/oauth-authorization-server", issuer.trim_end_matches('/'));
        let _ = http.get(metadata).bearer_auth(token).send().await;
    }
}
