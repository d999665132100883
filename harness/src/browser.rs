//! The harness as the user's browser: loads the authorization URL, answers the consent page, and
//! follows the redirect back to the client's loopback callback, recording every hop.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::scenario::BrowserAction;

/// One request the browser made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hop {
    pub method: String,
    /// The URL with `code` and `state` values hidden (they are secrets or random).
    pub url: String,
    pub status: u16,
}

/// How a visit ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "ended")]
pub enum VisitEnd {
    /// The redirect reached the client's callback, which answered with this status.
    Delivered { status: u16 },
    /// The user closed the browser on the consent page.
    Abandoned,
    /// Something went wrong before the callback was reached.
    Failed { reason: String },
}

/// Everything the browser did for one authorization URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub action: BrowserAction,
    pub hops: Vec<Hop>,
    pub end: VisitEnd,
}

/// A user agent with a cookie store that follows redirects by hand, so each hop is seen.
#[derive(Debug, Clone)]
pub struct Browser {
    http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

/// Redirects followed before the browser gives up (real browsers stop near 20).
/// Tries (100 ms apart) at a callback whose listener is not up yet.
const CALLBACK_RETRIES: usize = 20;
const MAX_HOPS: usize = 20;

impl Browser {
    pub fn new() -> Self {
        let http = crate::loopback_http::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("a plain HTTP client always builds");
        Self { http }
    }

    /// Visits `url` and acts as `action` says.
    pub async fn visit(&self, url: &str, action: BrowserAction) -> Visit {
        let mut hops = Vec::new();
        let end = self.walk(url, action, &mut hops).await;
        Visit { action, hops, end }
    }

    async fn send(&self, request: &Request) -> reqwest::Result<reqwest::Response> {
        match request {
            Request::Get(url) => self.http.get(url.clone()).send().await,
            Request::Post(url, form) => self.http.post(url.clone()).form(form).send().await,
        }
    }

    async fn walk(&self, start: &str, action: BrowserAction, hops: &mut Vec<Hop>) -> VisitEnd {
        let mut next = match Url::parse(start) {
            Ok(url) => Request::Get(url),
            Err(e) => return VisitEnd::Failed { reason: format!("not a URL: {start}: {e}") },
        };
        for _ in 0..MAX_HOPS {
            let (method, url) = (next.method(), next.url().clone());
            // Every server of a run is on loopback; a hop elsewhere would carry a code (or a
            // consent) off this machine, so the user stops there.
            if !is_loopback(&url) {
                return VisitEnd::Failed { reason: format!("not following {}: it leaves this machine", hidden(&url)) };
            }
            let mut answer = self.send(&next).await;
            // A client may print its URL a moment before its callback listener is up (the TS SDK
            // example does); a person is never that fast, so the callback gets a few retries.
            for _ in 0..CALLBACK_RETRIES {
                match &answer {
                    Err(e) if e.is_connect() && is_authorization_response(&url) => {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        answer = self.send(&next).await;
                    }
                    _ => break,
                }
            }
            let response = match answer {
                Ok(response) => response,
                Err(e) => {
                    return VisitEnd::Failed { reason: format!("{method} {}: {}", hidden(&url), e.without_url()) };
                }
            };
            let status = response.status();
            hops.push(Hop { method: method.to_owned(), url: hidden(&url), status: status.as_u16() });
            let is_callback = is_authorization_response(&url);
            if status.is_redirection() {
                let Some(location) = response.headers().get("location").and_then(|l| l.to_str().ok()) else {
                    return VisitEnd::Failed { reason: format!("{status} without Location") };
                };
                let Ok(mut target) = url.join(location) else {
                    return VisitEnd::Failed { reason: format!("bad Location `{location}`") };
                };
                if action == BrowserAction::TamperState && is_authorization_response(&target) {
                    tamper_state(&mut target);
                }
                next = Request::Get(target);
                continue;
            }
            if is_callback {
                return VisitEnd::Delivered { status: status.as_u16() };
            }
            let page = response.text().await.unwrap_or_default();
            let Some(form) = ConsentForm::find(&page) else {
                return VisitEnd::Failed {
                    reason: format!("{} answered {status} with no consent form and no redirect", hidden(&url)),
                };
            };
            let decision = match action {
                BrowserAction::Abandon => return VisitEnd::Abandoned,
                BrowserAction::Deny => "deny",
                BrowserAction::Approve | BrowserAction::TamperState => "approve",
            };
            let Ok(target) = url.join(&form.action) else {
                return VisitEnd::Failed { reason: format!("bad form action `{}`", form.action) };
            };
            let mut fields = form.hidden;
            fields.push(("decision".into(), decision.into()));
            next = Request::Post(target, fields);
        }
        VisitEnd::Failed { reason: format!("more than {MAX_HOPS} hops") }
    }
}

enum Request {
    Get(Url),
    Post(Url, Vec<(String, String)>),
}

impl Request {
    fn method(&self) -> &'static str {
        match self {
            Self::Get(_) => "GET",
            Self::Post(..) => "POST",
        }
    }

    fn url(&self) -> &Url {
        match self {
            Self::Get(url) | Self::Post(url, _) => url,
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A redirect back to a client: it carries `code` or `error` (OAuth 2.1 §4.1.2).
fn is_authorization_response(url: &Url) -> bool {
    url.query_pairs().any(|(k, _)| k == "code" || k == "error")
}

fn tamper_state(url: &mut Url) {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" { format!("{v}-tampered") } else { v.into_owned() };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
}

/// The URL, its query decoded for reading, with values that differ on every run replaced so hops
/// can be snapshotted.
fn hidden(url: &Url) -> String {
    const VOLATILE: &[&str] = &["code", "state", "code_challenge", "client_id", "request_id"];
    let mut shown = url.clone();
    shown.set_query(None);
    let mut shown = shown.to_string();
    let pairs: Vec<String> = url
        .query_pairs()
        .map(|(k, v)| if VOLATILE.contains(&k.as_ref()) { format!("{k}=[{k}]") } else { format!("{k}={v}") })
        .collect();
    if !pairs.is_empty() {
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    shown
}

/// The one form on a consent page: its action and hidden fields.
///
/// Written by hand rather than with an HTML parser crate: the only pages the harness answers are
/// consent pages of the mock authorization server, whose markup this reads exactly.
struct ConsentForm {
    action: String,
    hidden: Vec<(String, String)>,
}

impl ConsentForm {
    fn find(page: &str) -> Option<Self> {
        let form_start = page.find("<form")?;
        let form = &page[form_start..page[form_start..].find("</form>").map_or(page.len(), |e| form_start + e)];
        let tag_end = form.find('>')?;
        let action = attribute(&form[..tag_end], "action").unwrap_or_default();
        let mut hidden = Vec::new();
        for input in form.split("<input").skip(1) {
            let tag = &input[..input.find('>').unwrap_or(input.len())];
            if attribute(tag, "type").as_deref() == Some("hidden")
                && let Some(name) = attribute(tag, "name")
            {
                hidden.push((name, attribute(tag, "value").unwrap_or_default()));
            }
        }
        Some(Self { action: unescape(&action), hidden })
    }
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn authorization_server(callback: &str) -> MockServer {
        let server = MockServer::start().await;
        let page = r#"<form method="post" action="/consent"><input type="hidden" name="request_id" value="r1">
            <button name="decision" value="approve">Approve</button></form>"#;
        Mock::given(method("GET"))
            .and(path("/authorize"))
            .respond_with(ResponseTemplate::new(200).set_body_string(page))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/consent"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", format!("{callback}?code=c1&state=s1")))
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn approve_submits_the_form_and_delivers_the_code() {
        let client = MockServer::start().await;
        Mock::given(method("GET")).and(path("/cb")).respond_with(ResponseTemplate::new(200)).mount(&client).await;
        let server = authorization_server(&format!("{}/cb", client.uri())).await;
        let visit = Browser::new().visit(&format!("{}/authorize", server.uri()), BrowserAction::Approve).await;
        assert_eq!(visit.end, VisitEnd::Delivered { status: 200 });
        assert_eq!(visit.hops.len(), 3);
        let received = client.received_requests().await.unwrap();
        assert_eq!(received[0].url.query(), Some("code=c1&state=s1"));
        let consent = &server.received_requests().await.unwrap()[1];
        assert_eq!(String::from_utf8_lossy(&consent.body), "request_id=r1&decision=approve");
    }

    #[tokio::test]
    async fn tamper_state_changes_state_on_the_way_back() {
        let client = MockServer::start().await;
        Mock::given(method("GET")).and(path("/cb")).respond_with(ResponseTemplate::new(400)).mount(&client).await;
        let server = authorization_server(&format!("{}/cb", client.uri())).await;
        Browser::new().visit(&format!("{}/authorize", server.uri()), BrowserAction::TamperState).await;
        let received = client.received_requests().await.unwrap();
        assert_eq!(received[0].url.query(), Some("code=c1&state=s1-tampered"));
    }

    #[tokio::test]
    async fn abandon_stops_on_the_consent_page() {
        let server = authorization_server("http://127.0.0.1:9/cb").await;
        let visit = Browser::new().visit(&format!("{}/authorize", server.uri()), BrowserAction::Abandon).await;
        assert_eq!(visit.end, VisitEnd::Abandoned);
        assert_eq!(visit.hops.len(), 1);
    }

    #[tokio::test]
    async fn a_redirect_off_this_machine_is_not_followed() {
        let server = authorization_server("http://client.example/cb").await;
        let visit = Browser::new().visit(&format!("{}/authorize", server.uri()), BrowserAction::Approve).await;
        assert_eq!(
            visit.end,
            VisitEnd::Failed {
                reason: "not following http://client.example/cb?code=[code]&state=[state]: it leaves this machine"
                    .into()
            }
        );
        assert_eq!(visit.hops.len(), 2, "the consent page and the form, nothing after");
    }
}
