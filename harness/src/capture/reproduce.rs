//! From a labelled capture to the mock profile that serves the same layout on loopback, what the
//! spec says a client must make of it (login succeeds, or fails and since which revision), and,
//! for what no knob reproduces, why.

use mock_server::Profile;
use mock_server::profile::{
    AsOrigin, ClientAuthMethod, EndpointOrigin, IssParameter, MetadataDocument, MetadataLocation, PreregisteredClient,
};

use super::document::{AuthorizationServerMetadata, ResourceMetadata};
use super::record::{Capture, Role, split_label};
use crate::revision::Revision;
use crate::www_authenticate;

/// A capture turned into knobs and expectations.
#[derive(Debug, Clone)]
pub struct Reproduction {
    pub profile: Profile,
    /// What a client must make of the login, by the spec.
    pub login: Login,
    /// A 2025-03-26 server (no protected resource metadata) is judged by that text only.
    pub revision: Option<Revision>,
    /// The clauses the layout is about.
    pub spec: Vec<String>,
    /// What the knobs cannot reproduce, and why.
    pub notes: Vec<String>,
}

/// What the spec requires of the login.
#[derive(Debug, Clone, PartialEq)]
pub enum Login {
    Succeeds,
    /// The client must refuse, for these reasons; not judged before `since`.
    Fails {
        reasons: Vec<String>,
        since: Option<Revision>,
    },
}

/// The loopback redirect URI `--register` asks for.
const REQUESTED_REDIRECT: &str = "http://127.0.0.1/callback";

/// The knobs and expectations that reproduce `capture` (labelled).
pub fn reproduce(capture: &Capture) -> Reproduction {
    let mut p = Profile::default();
    let mut notes = Vec::new();
    let mut failures: Vec<(String, Option<Revision>)> = Vec::new();
    let mut spec = vec!["MCP-AUTH-2025-11-25 §Authorization Server Discovery".to_owned()];

    // The MCP endpoint and its challenge.
    let mcp = capture.mcp();
    let mcp_url = mcp.map(|r| r.url.clone()).unwrap_or_default();
    let mcp_path = split_label(&mcp_url).map(|(_, path)| path).filter(|p| p.starts_with('/')).unwrap_or("/");
    if mock_server::is_plain_path(mcp_path) {
        p.resource.paths = vec![mcp_path.to_owned()];
    } else {
        notes.push(format!(
            "the MCP endpoint is at `{mcp_path}`, where the mock cannot serve one (the root, a trailing `/`, or other characters): it serves `/mcp`"
        ));
    }
    let challenge = mcp.and_then(|r| r.answer.www_authenticate.clone()).unwrap_or_default();
    let named = www_authenticate::param(&challenge, "resource_metadata").map(str::to_owned);
    p.resource.challenge_scope = www_authenticate::param(&challenge, "scope").map(str::to_owned);
    match mcp.map(|r| r.answer.status) {
        Some(401) | None => {}
        Some(status @ 200..=299) => notes.push(format!(
            "initialize without a token got {status}: the server asks for authorization later (a tool call); the mock asks on every request"
        )),
        Some(status) => notes.push(format!("initialize without a token got {status}, not 401: the mock always answers 401")),
    }

    // Protected resource metadata: where it is, what it says.
    let trimmed = mcp_path.trim_end_matches('/');
    let path_inserted = format!("{{mcp}}/.well-known/oauth-protected-resource{trimmed}");
    let root = "{mcp}/.well-known/oauth-protected-resource".to_owned();
    let served: Vec<(String, ResourceMetadata)> =
        capture.documents(Role::ResourceMetadata).map(|(r, d)| (r.url.clone(), ResourceMetadata::read(d))).collect();
    let is_served = |url: &str| served.iter().any(|(u, _)| u == url);
    let chosen = match &named {
        Some(named) if is_served(named) => Some(named.clone()),
        _ => [&path_inserted, &root].into_iter().find(|u| is_served(u)).cloned(),
    };
    p.resource_metadata.in_challenge = named.is_some();
    match chosen.as_deref() {
        None => {
            p.resource_metadata.location = MetadataLocation::None;
            p.resource_metadata.in_challenge = false;
            if let Some(named) = &named {
                notes.push(format!(
                    "the challenge names {named}, which serves no document: the mock names only a document it serves"
                ));
            }
        }
        Some(url) if url == path_inserted => p.resource_metadata.location = MetadataLocation::PathInserted,
        Some(url) if url == root => p.resource_metadata.location = MetadataLocation::Root,
        Some(url) => {
            p.resource_metadata.location = MetadataLocation::Custom;
            let (label, path) = split_label(url).unwrap_or(("", url));
            if mock_server::is_plain_path(path) && !p.resource.paths.iter().any(|p| p == path) {
                p.resource_metadata.custom_path = path.to_owned();
            } else {
                notes.push(format!("the challenge names `{path}`, where the mock cannot serve the document: it serves it at its own custom path"));
            }
            if label != "mcp" {
                notes.push(format!(
                    "the challenge names a document on another origin ({url}): the mock serves it at the same path on the MCP origin"
                ));
            }
        }
    }
    if let Some(chosen) = &chosen {
        spec.push("RFC9728 §3".into());
        for (url, _) in served.iter().filter(|(u, _)| u != chosen) {
            notes.push(format!("protected resource metadata is also served at {url}: the mock serves one location"));
        }
        let (_, prm) = served.iter().find(|(u, _)| u == chosen).expect("chosen among the served");
        match prm.resource.as_deref() {
            Some(resource) if resource == mcp_url => {}
            // A resource is named by the MCP origin, not the issuer's, even when they are one.
            Some(resource) => match placeholders(resource, "") {
                Some(value) => {
                    p.resource_metadata.resource_override = Some(value);
                    failures.push((
                        format!("the protected resource metadata names another resource ({resource}): RFC 9728 §3.3"),
                        Some(Revision::V2025_06_18),
                    ));
                }
                None => notes.push(format!(
                    "`resource` is {resource}, not the MCP URL {mcp_url}: on an origin the mock does not have"
                )),
            },
            None => notes.push("the protected resource metadata has no `resource` (RFC 9728 §2 requires one): the mock always sends it".into()),
        }
        p.resource_metadata.scopes_supported = prm.scopes_supported.clone().unwrap_or_default();
        if prm.authorization_servers.len() > 1 {
            notes.push(format!(
                "{} authorization servers are listed: the mock lists one, the first",
                prm.authorization_servers.len()
            ));
        }
        notes.extend(prm.problems.iter().map(|problem| format!("protected resource metadata: {problem}")));
    }

    // The authorization server: origin, issuer path, metadata documents, what they say.
    let issuer = capture.issuer.as_ref().map(|i| i.url.clone());
    let (issuer_label, issuer_path) = match issuer.as_deref().and_then(split_label) {
        Some((label, path)) => (label.to_owned(), path.trim_end_matches('/').to_owned()),
        None => {
            if chosen.is_some() {
                notes.push("no usable authorization server is listed: the mock always lists its own".into());
            }
            ("mcp".to_owned(), String::new())
        }
    };
    p.authorization_server.origin = if issuer_label == "mcp" { AsOrigin::Same } else { AsOrigin::Separate };
    if issuer_path.is_empty() || mock_server::is_plain_path(&issuer_path) {
        p.authorization_server.issuer_path = issuer_path.clone();
    } else {
        notes.push(format!("the issuer's path `{issuer_path}` is one the mock cannot serve: its issuer has no path"));
    }
    let origin = format!("{{{issuer_label}}}");
    let urls = [
        (MetadataDocument::Oauth, format!("{origin}/.well-known/oauth-authorization-server{issuer_path}")),
        (MetadataDocument::Openid, format!("{origin}/.well-known/openid-configuration{issuer_path}")),
        (MetadataDocument::OpenidAppended, format!("{origin}{issuer_path}/.well-known/openid-configuration")),
    ];
    let as_served: Vec<(String, AuthorizationServerMetadata)> = capture
        .documents(Role::AuthorizationServerMetadata)
        .map(|(r, d)| (r.url.clone(), AuthorizationServerMetadata::read(d)))
        .collect();
    let mut metadata = Vec::new();
    for (document, url) in &urls {
        // Without an issuer path the two OpenID URLs are one.
        let repeat = *document == MetadataDocument::OpenidAppended && issuer_path.is_empty();
        if !repeat && as_served.iter().any(|(u, _)| u == url) {
            metadata.push(*document);
        }
    }
    p.authorization_server.metadata = metadata;
    // Documents at the origin root beside a path issuer (what the spec does not list).
    p.authorization_server.root_metadata = as_served.iter().any(|(url, _)| !urls.iter().any(|(_, u)| u == url));
    let first = urls.iter().find_map(|(_, url)| as_served.iter().find(|(u, _)| u == url)).map(|(_, m)| m);
    match first {
        Some(m) => {
            spec.push("RFC8414 §3".into());
            read_authorization_server(m, &mut p, &issuer.unwrap_or_default(), &origin, &mut notes, &mut failures);
        }
        None => {
            p.authorization_server.iss_parameter = IssParameter::NotAdvertised;
            if chosen.is_some() {
                // From 2025-06-18 on there is no fallback to default endpoints.
                failures.push((
                    "no authorization server metadata at any URL the spec lists: MCP-AUTH 2025-06-18 §Authorization Server Metadata Discovery".into(),
                    Some(Revision::V2025_06_18),
                ));
            }
        }
    }
    let revision = chosen.is_none().then_some(Revision::V2025_03_26);
    if revision.is_some() {
        spec = vec!["MCP-AUTH-2025-03-26 §Server Metadata Discovery".into()];
    }

    // What `--register` saw.
    if let Some(registration) = capture.requests.iter().find(|r| r.role == Role::Registration) {
        spec.push("RFC7591 §3.2".into());
        let document = registration.answer.document.clone().unwrap_or_default();
        if (200..300).contains(&registration.answer.status) {
            let registered: Vec<String> = document
                .get("redirect_uris")
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            // The probe asks for `none`; an answer naming another method replaced it.
            let method = document.get("token_endpoint_auth_method").and_then(|v| v.as_str()).unwrap_or("none");
            if method != "none" {
                p.authorization_server.registered_auth_method = serde_json::from_value(serde_json::json!(method)).ok();
            }
            if let Some(replaced) = registered.first().filter(|u| *u != REQUESTED_REDIRECT) {
                p.authorization_server.registered_redirect_uri = Some(replaced.clone());
                if !is_loopback(replaced) {
                    failures.push((
                        format!("registration answers with the redirect URI {replaced}, not the client's loopback one: RFC 8252 §7.3"),
                        None,
                    ));
                }
            }
        } else if document.get("error").and_then(|v| v.as_str()) == Some("invalid_redirect_uri") {
            // The request named one redirect URI, an http loopback one: that is what was refused.
            p.authorization_server.refused_redirect_schemes = vec!["http".into()];
            failures.push((
                "registration refuses the loopback http redirect URI (invalid_redirect_uri): RFC 8252 §7.3 clients have no other".into(),
                None,
            ));
        } else {
            let error = document.get("error").and_then(|v| v.as_str()).unwrap_or("no OAuth error");
            notes.push(format!(
                "the registration was refused ({}, {error}): the mock registers any loopback client",
                registration.answer.status
            ));
        }
    }

    // Without DCR a client needs credentials from elsewhere: stand-ins, as the `preregistered`
    // preset has them (the reference client does not speak client ID metadata documents).
    if !p.authorization_server.dynamic_registration {
        let methods = &p.authorization_server.token_endpoint_auth_methods;
        let auth_method =
            [ClientAuthMethod::ClientSecretBasic, ClientAuthMethod::ClientSecretPost, ClientAuthMethod::None]
                .into_iter()
                .find(|m| methods.contains(m))
                .unwrap_or(ClientAuthMethod::None);
        p.authorization_server.preregistered_clients = vec![PreregisteredClient {
            client_id: "harness-client".into(),
            client_secret: (auth_method != ClientAuthMethod::None).then(|| "harness-secret".into()),
            auth_method,
            redirect_uris: Vec::new(),
            client_credentials: false,
            disabled: false,
        }];
        notes.push(
            "no dynamic registration: a pre-registered client stands in for yours (the harness's own id and secret, not yours)".into(),
        );
    }

    let login = if failures.is_empty() {
        Login::Succeeds
    } else {
        // The oldest revision any reason holds in: from then on the login must fail.
        let since = if failures.iter().any(|(_, s)| s.is_none()) {
            None
        } else {
            failures.iter().filter_map(|(_, s)| *s).min()
        };
        Login::Fails { reasons: failures.into_iter().map(|(r, _)| r).collect(), since }
    };
    Reproduction { profile: p, login, revision, spec, notes }
}

/// The authorization server metadata's members, as knobs.
fn read_authorization_server(
    m: &AuthorizationServerMetadata,
    p: &mut Profile,
    issuer: &str,
    origin: &str,
    notes: &mut Vec<String>,
    failures: &mut Vec<(String, Option<Revision>)>,
) {
    let asv = &mut p.authorization_server;
    match m.issuer.as_deref() {
        Some(i) if i == issuer => {}
        Some(i) => match placeholders(i, issuer) {
            Some(value) => {
                asv.issuer_override = Some(value);
                failures.push((format!("the metadata's issuer {i} is not the issuer {issuer}: RFC 8414 §3.3"), None));
            }
            None => notes.push(format!(
                "the metadata's issuer is {i}, the issuer looked up {issuer}: on an origin the mock does not have"
            )),
        },
        None => notes.push("the metadata has no `issuer` (RFC 8414 §2 requires one): the mock always sends it".into()),
    }
    // Each endpoint on the issuer's origin, the MCP server's, or one of its own.
    let endpoint_origin = |url: &Option<String>| match url.as_deref().and_then(split_label) {
        Some((label, _)) if format!("{{{label}}}") != origin && label == "mcp" => EndpointOrigin::Resource,
        Some((label, _)) if format!("{{{label}}}") != origin => EndpointOrigin::Separate,
        _ => EndpointOrigin::Issuer,
    };
    asv.authorize_origin = endpoint_origin(&m.authorization_endpoint);
    asv.token_origin = endpoint_origin(&m.token_endpoint);
    asv.registration_origin = endpoint_origin(&m.registration_endpoint);
    asv.dynamic_registration = m.registration_endpoint.is_some();
    asv.advertise_pkce = m.code_challenge_methods_supported.as_ref().is_some_and(|c| c.iter().any(|c| c == "S256"));
    if !asv.advertise_pkce {
        if m.code_challenge_methods_supported.is_some() {
            notes.push(
                "`code_challenge_methods_supported` lists no S256: the mock leaves the member out instead".into(),
            );
        }
        failures.push((
            "the metadata does not advertise PKCE S256: MCP-AUTH 2025-11-25 §Authorization Code Protection".into(),
            Some(Revision::V2025_11_25),
        ));
    }
    asv.iss_parameter = if m.iss_parameter_supported { IssParameter::Correct } else { IssParameter::NotAdvertised };
    asv.client_id_metadata_documents = m.client_id_metadata_document_supported;
    asv.scopes_supported = m.scopes_supported.clone().unwrap_or_default();
    // RFC 8414 §2: omitted means client_secret_basic.
    let methods = m.token_endpoint_auth_methods_supported.clone().unwrap_or_else(|| vec!["client_secret_basic".into()]);
    let known: Vec<ClientAuthMethod> = methods
        .iter()
        .filter_map(|name| serde_json::from_value(serde_json::Value::String(name.clone())).ok())
        .collect();
    let unknown: Vec<&String> =
        methods.iter().filter(|name| !known.iter().any(|k| k.as_str() == name.as_str())).collect();
    if !unknown.is_empty() {
        notes.push(format!(
            "token endpoint auth methods the mock does not implement: {}",
            unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    asv.token_endpoint_auth_methods = if known.is_empty() { vec![ClientAuthMethod::ClientSecretBasic] } else { known };
    // DPoP (RFC 9449): the mock verifies ES256 proofs only.
    if let Some(algs) = &m.dpop_signing_alg_values_supported {
        p.dpop.enabled = algs.iter().any(|a| a == mock_server::dpop::ALGORITHM);
        if !p.dpop.enabled || algs.len() > 1 {
            notes.push(format!(
                "DPoP proof algorithms {}: the mock accepts {} only",
                algs.join(", "),
                mock_server::dpop::ALGORITHM
            ));
        }
    }
    notes.extend(m.problems.iter().map(|problem| format!("authorization server metadata: {problem}")));
}

/// A labelled URL as a knob value the mock resolves on loopback: the MCP origin as
/// `{resource_origin}`, what starts with the issuer as `{issuer}`; a URL on no origin met stays
/// as it is. None: on an origin the mock does not have (an endpoint's own).
fn placeholders(url: &str, issuer: &str) -> Option<String> {
    if !issuer.is_empty()
        && let Some(rest) = url.strip_prefix(issuer)
        && (rest.is_empty() || rest.starts_with(['/', '?', '#']))
    {
        return Some(format!("{{issuer}}{rest}"));
    }
    match split_label(url) {
        None => Some(url.to_owned()),
        Some(("mcp", rest)) => Some(format!("{{resource_origin}}{rest}")),
        Some(_) => None,
    }
}

fn is_loopback(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::record::{Answer, Request};

    fn mcp_at(url: &str) -> Capture {
        let answer = Answer { status: 401, www_authenticate: Some("Bearer".into()), ..Answer::default() };
        let request = Request { role: Role::Mcp, method: "POST".into(), url: url.into(), why: String::new(), answer };
        Capture { source: String::new(), requests: vec![request], issuer: None }
    }

    #[test]
    fn an_endpoint_the_mock_cannot_serve_is_moved_and_said() {
        for url in ["{mcp}/", "{mcp}/mcp/", "{mcp}/a~b"] {
            let reproduction = reproduce(&mcp_at(url));
            assert_eq!(reproduction.profile.resource.paths, ["/mcp"], "{url}");
            assert!(
                reproduction.notes.iter().any(|n| n.contains("it serves `/mcp`")),
                "{url}: {:?}",
                reproduction.notes
            );
        }
        assert_eq!(reproduce(&mcp_at("{mcp}/v1/mcp")).profile.resource.paths, ["/v1/mcp"]);
    }
}
