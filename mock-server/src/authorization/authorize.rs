//! The authorization endpoint and its consent page (OAuth 2.1 §4.1.1-4.1.2, RFC 9207, RFC 8707).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use url::Url;

use super::AuthorizationServer;
use super::error::OAuthError;
use super::form::Params;
use super::grants::{AuthorizationRequest, Client, ClientKind, Scopes, parse_scopes};
use super::registration;
use crate::profile::{AuthorizationServerKnobs, Consent, IssParameter, RedirectMatching};
use crate::recording::FetchedClientMetadata;
use crate::recording::tagged;
use crate::transcript::Endpoint;

/// An error that is sent back to the client through its redirect URI (RFC 6749 §4.1.2.1).
struct RedirectError {
    code: &'static str,
    description: String,
}

impl RedirectError {
    fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self { code, description: description.into() }
    }
}

pub async fn authorize(State(server): State<Arc<AuthorizationServer>>, RawQuery(query): RawQuery) -> Response {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(err) => return tagged(Endpoint::Authorize, err),
    };
    tagged(Endpoint::Authorize, server.authorize(&params).await)
}

pub async fn consent(State(server): State<Arc<AuthorizationServer>>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = Params::from_form(&headers, &body).and_then(|params| {
        let id = params.require("request_id")?.to_owned();
        let approve = match params.require("decision")? {
            "approve" => true,
            "deny" => false,
            other => return Err(OAuthError::invalid_request(format!("unknown decision `{other}`"))),
        };
        Ok((id, approve))
    });
    let response = match answer {
        Err(err) => err.into_response(),
        Ok((id, approve)) => match server.take_pending(&id) {
            None => OAuthError::invalid_request("unknown or already answered consent request").into_response(),
            Some(request) if approve => server.approve(request),
            Some(request) => {
                let description = server.knobs().denial_description;
                server.redirect_error(&request, RedirectError::new("access_denied", description))
            }
        },
    };
    tagged(Endpoint::Consent, response)
}

impl AuthorizationServer {
    /// Takes a parked request; a function of its own so the lock is released before approval.
    fn take_pending(&self, id: &str) -> Option<AuthorizationRequest> {
        self.grants().take_pending(id)
    }

    async fn authorize(&self, params: &Params) -> Response {
        // Until the client and its redirect URI are known good, errors go to the user agent,
        // never to the redirect URI (RFC 6749 §4.1.2.1).
        let client_id = match params.require("client_id") {
            Ok(id) => id,
            Err(err) => return err.into_response(),
        };
        let knobs = self.knobs();
        let known = self.grants().client(client_id).cloned();
        let (client, fetched) = match known {
            Some(client) => (client, None),
            None if knobs.client_id_metadata_documents && client_id.starts_with("http") => {
                match registration::fetch_metadata_document(self.http(), client_id, &knobs).await {
                    Ok((client, document)) => {
                        self.grants().register(client.clone());
                        (client, Some(document))
                    }
                    Err(err) => return err.into_response(),
                }
            }
            None => return OAuthError::invalid_request("unknown client_id").into_response(),
        };
        let mut response = self.authorize_client(params, &client, &knobs);
        // The transcript keeps the document beside the request it was fetched for, so a check
        // can hold the request's redirect URI against it.
        if let Some(document) = fetched {
            response.extensions_mut().insert(FetchedClientMetadata(document));
        }
        response
    }

    /// The rest of an authorization request, once its client is known.
    fn authorize_client(&self, params: &Params, client: &Client, knobs: &AuthorizationServerKnobs) -> Response {
        let redirect_uri = match params.require("redirect_uri") {
            Ok(uri) => uri,
            Err(err) => return err.into_response(),
        };
        // A client ID metadata document's redirect URIs are matched as the knob says; other
        // clients keep RFC 8252's free loopback port.
        let matching = match client.kind {
            ClientKind::MetadataDocument => knobs.metadata_document_redirects,
            _ => RedirectMatching::LoopbackPort,
        };
        if !client.accepts_redirect(redirect_uri, matching) {
            return OAuthError::invalid_request(format!(
                "redirect_uri `{redirect_uri}` is not registered for this client (registered: {})",
                client.redirect_uris.join(", ")
            ))
            .into_response();
        }
        let partial = AuthorizationRequest {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            state: params.get("state").map(str::to_owned),
            code_challenge: String::new(),
            resource: None,
            scopes: Scopes::new(),
        };
        match self.check_request(params, partial.clone()) {
            Ok(request) => match knobs.consent {
                Consent::Auto => self.approve(request),
                Consent::Page => {
                    let page = consent_page(&request, &knobs.issuer_path);
                    let id = self.grants().park(request);
                    Html(page.replace("{request_id}", &id)).into_response()
                }
            },
            Err(err) => self.redirect_error(&partial, err),
        }
    }

    fn check_request(
        &self,
        params: &Params,
        mut request: AuthorizationRequest,
    ) -> Result<AuthorizationRequest, RedirectError> {
        let missing = |name: &str| RedirectError::new("invalid_request", format!("missing `{name}`"));
        match params.get("response_type") {
            Some("code") => {}
            Some(other) => {
                return Err(RedirectError::new(
                    "unsupported_response_type",
                    format!("response_type `{other}` is not supported"),
                ));
            }
            None => return Err(missing("response_type")),
        }
        request.code_challenge = params
            .get("code_challenge")
            .ok_or_else(|| RedirectError::new("invalid_request", "PKCE code_challenge is required"))?
            .to_owned();
        match params.get("code_challenge_method") {
            Some("S256") => {}
            Some(other) => {
                return Err(RedirectError::new(
                    "invalid_request",
                    format!("code_challenge_method `{other}` is not supported; use S256"),
                ));
            }
            None => {
                return Err(RedirectError::new(
                    "invalid_request",
                    "code_challenge_method is required (plain is not accepted)",
                ));
            }
        }
        request.resource = match params.get("resource") {
            Some(resource) => {
                let valid = Url::parse(resource).is_ok_and(|u| u.fragment().is_none());
                if !valid {
                    return Err(RedirectError::new(
                        "invalid_target",
                        "resource must be an absolute URI without a fragment (RFC 8707 §2)",
                    ));
                }
                Some(resource.to_owned())
            }
            None if self.knobs().require_resource => {
                return Err(RedirectError::new("invalid_target", "resource is required"));
            }
            None => None,
        };
        request.scopes = parse_scopes(params.get("scope"));
        let known_scopes = self.known_scopes();
        if let Some(unknown) = request.scopes.iter().find(|s| !known_scopes.contains(*s)) {
            return Err(RedirectError::new("invalid_scope", format!("unknown scope `{unknown}`")));
        }
        Ok(request)
    }

    fn approve(&self, request: AuthorizationRequest) -> Response {
        let mut granted = request.clone();
        let withheld = self.knobs().withheld_scopes;
        granted.scopes.retain(|s| !withheld.contains(s));
        let code = self.grants().issue_code(granted);
        self.redirect(&request, &[("code", code.as_str())])
    }

    fn redirect_error(&self, request: &AuthorizationRequest, err: RedirectError) -> Response {
        self.redirect(request, &[("error", err.code), ("error_description", &err.description)])
    }

    fn redirect(&self, request: &AuthorizationRequest, params: &[(&str, &str)]) -> Response {
        let mut target =
            Url::parse(&request.redirect_uri).expect("redirect URIs are checked against registered absolute URIs");
        {
            let mut query = target.query_pairs_mut();
            query.extend_pairs(params);
            if let Some(state) = &request.state {
                query.append_pair("state", state);
            }
            match self.knobs().iss_parameter {
                IssParameter::Correct => {
                    query.append_pair("iss", &self.issuer());
                }
                IssParameter::Wrong | IssParameter::WrongNotAdvertised => {
                    query.append_pair("iss", "http://wrong-issuer.invalid");
                }
                IssParameter::TrailingSlash => {
                    query.append_pair("iss", &format!("{}/", self.issuer()));
                }
                IssParameter::UpperCaseScheme => {
                    let issuer = self.issuer();
                    let (scheme, rest) = issuer.split_once(':').unwrap_or(("", &issuer));
                    query.append_pair("iss", &format!("{}:{rest}", scheme.to_ascii_uppercase()));
                }
                IssParameter::Omitted | IssParameter::NotAdvertised => {}
            }
        }
        // 302 as in RFC 6749's examples; some native clients mishandle 303.
        (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
    }
}

/// A real consent page: a browser (or the harness's user agent) submits the form.
fn consent_page(request: &AuthorizationRequest, prefix: &str) -> String {
    let scopes = if request.scopes.is_empty() {
        "(none requested)".to_owned()
    } else {
        request.scopes.iter().cloned().collect::<Vec<_>>().join(" ")
    };
    let resource = request.resource.as_deref().unwrap_or("(not named)");
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize {client}</title></head>
<body>
<h1>Authorize access</h1>
<p>Client <code>{client}</code> asks for scopes <code>{scopes}</code> on <code>{resource}</code>.</p>
<form method="post" action="{prefix}/authorize/consent">
<input type="hidden" name="request_id" value="{{request_id}}">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>
"#,
        client = escape_html(&request.client_id),
        scopes = escape_html(&scopes),
        resource = escape_html(resource),
        prefix = escape_html(prefix.trim_end_matches('/')),
    )
}

/// The five characters HTML text and attribute values need escaped; a crate for this would be
/// a dependency for six lines.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
