//! What a capture saw: every request it made and what answered, in order, with each origin it met
//! replaced by a label for its role (`{mcp}`, `{issuer}`, `{authorize}`…). Labels make two
//! captures of one layout on different hosts or ports equal, keep ports out of scenario files,
//! and let the facts a file keeps be compared with a live server later (`capture --diff`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::document::{AuthorizationServerMetadata, ResourceMetadata};
use crate::www_authenticate;

/// Everything one capture saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capture {
    /// The URL it was given, as a file may print it (no credentials, query or loopback port).
    pub source: String,
    /// Every request, in the order a careful client makes them.
    pub requests: Vec<Request>,
    /// The issuer a client would go on with, if any.
    pub issuer: Option<Issuer>,
}

/// Why a request was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The MCP `initialize` without a token.
    Mcp,
    ResourceMetadata,
    AuthorizationServerMetadata,
    /// The `--register` dynamic registration.
    Registration,
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub role: Role,
    pub method: String,
    pub url: String,
    /// Why a client makes it: the clause that lists the URL.
    pub why: String,
    pub answer: Answer,
}

/// What answered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub www_authenticate: Option<String>,
    /// A redirect to another origin, not followed.
    pub redirected_to: Option<String>,
    /// Same-origin redirects followed.
    pub redirects: Vec<String>,
    /// The JSON object served, if any (a document, or an OAuth error).
    pub document: Option<Map<String, Value>>,
    /// Why a successful answer is not a document.
    pub not_a_document: Option<String>,
}

/// The issuer a client goes on with, and where it read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issuer {
    pub url: String,
    pub from: String,
}

impl Capture {
    /// The documents served (2xx, a JSON object) for `role`, with the request each answered.
    pub fn documents(&self, role: Role) -> impl Iterator<Item = (&Request, &Map<String, Value>)> {
        self.requests
            .iter()
            .filter(move |r| r.role == role && (200..300).contains(&r.answer.status))
            .filter_map(|r| r.answer.document.as_ref().map(|d| (r, d)))
    }

    /// The MCP request's answer.
    pub fn mcp(&self) -> Option<&Request> {
        self.requests.iter().find(|r| r.role == Role::Mcp)
    }

    /// Replaces every origin met, wherever it appears, by its label; see [`label_origins`].
    pub fn labelled(self) -> Capture {
        let table = self.origin_table();
        let mut value = serde_json::to_value(&self).expect("a capture always serializes");
        let source = std::mem::take(&mut value["source"]);
        relabel(&mut value, &table);
        value["source"] = source;
        serde_json::from_value(value).expect("relabelling keeps the shape")
    }

    /// Origins by role, the first role an origin plays naming it.
    fn origin_table(&self) -> Vec<(String, String)> {
        let mut table: Vec<(String, String)> = Vec::new();
        let mut add = |url: &str, label: &str| {
            let Ok(parsed) = Url::parse(url) else { return };
            let origin = parsed.origin();
            if !origin.is_tuple() {
                return;
            }
            let origin = origin.ascii_serialization();
            if table.iter().any(|(o, _)| *o == origin) {
                return;
            }
            let taken = |l: &str| table.iter().any(|(_, t)| t == l);
            let mut name = label.to_owned();
            let mut n = 2;
            while taken(&name) {
                name = format!("{label}-{n}");
                n += 1;
            }
            table.push((origin, name));
        };
        if let Some(mcp) = self.mcp() {
            add(&mcp.url, "mcp");
            if let Some(named) =
                mcp.answer.www_authenticate.as_deref().and_then(|c| www_authenticate::param(c, "resource_metadata"))
            {
                add(named, "resource-metadata");
            }
        }
        for (_, document) in self.documents(Role::ResourceMetadata) {
            for issuer in ResourceMetadata::read(document).authorization_servers {
                add(&issuer, "issuer");
            }
        }
        if let Some(issuer) = &self.issuer {
            add(&issuer.url, "issuer");
        }
        for (_, document) in self.documents(Role::AuthorizationServerMetadata) {
            let read = AuthorizationServerMetadata::read(document);
            for (url, label) in [
                (read.authorization_endpoint, "authorize"),
                (read.token_endpoint, "token"),
                (read.registration_endpoint, "registration"),
            ] {
                if let Some(url) = url {
                    add(&url, label);
                }
            }
            for (member, value) in document {
                if (member.ends_with("_endpoint") || member.ends_with("_uri"))
                    && let Some(url) = value.as_str()
                {
                    add(url, "endpoint");
                }
            }
        }
        for request in &self.requests {
            add(&request.url, "other");
            if let Some(to) = &request.answer.redirected_to {
                add(to, "redirect");
            }
        }
        // The longest origin first, so `http://h:80` never eats into `http://h:8080`.
        table.sort_by_key(|(origin, _)| std::cmp::Reverse(origin.len()));
        table
    }

    /// One line per thing seen, labelled, in order: what a scenario file keeps and `--diff`
    /// compares.
    pub fn facts(&self) -> Vec<String> {
        let mut out = Vec::new();
        for request in &self.requests {
            let a = &request.answer;
            let kind = a.content_type.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
            out.push(format!("{} {} ({}) → {}{kind}", request.method, request.url, request.why, a.status));
            for hop in &a.redirects {
                out.push(format!("  redirected (same origin) to {hop}"));
            }
            if let Some(to) = &a.redirected_to {
                out.push(format!("  redirected to another origin, not followed: {to}"));
            }
            if let Some(challenge) = &a.www_authenticate {
                out.push(format!("  WWW-Authenticate: {challenge}"));
            }
            if let Some(why) = &a.not_a_document {
                out.push(format!("  not a document: {why}"));
            }
            if let Some(document) = &a.document {
                let mut members: Vec<_> = document.iter().collect();
                members.sort_by_key(|(k, _)| k.as_str());
                for (member, value) in members {
                    out.push(format!("  {member}: {value}"));
                }
            }
        }
        if let Some(issuer) = &self.issuer {
            out.push(format!("issuer: {} ({})", issuer.url, issuer.from));
        } else {
            out.push("issuer: none found".into());
        }
        out
    }
}

/// Replaces origins inside every string of `value`.
fn relabel(value: &mut Value, table: &[(String, String)]) {
    match value {
        Value::String(s) => *s = label_origins(s, table),
        Value::Array(items) => items.iter_mut().for_each(|v| relabel(v, table)),
        Value::Object(map) => map.values_mut().for_each(|v| relabel(v, table)),
        _ => {}
    }
}

/// `text` with each origin of `table` replaced by `{label}` where it stands whole (followed by
/// the end, a path, a query, a fragment or a quote — not by more port digits or host).
pub fn label_origins(text: &str, table: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    for (origin, label) in table {
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find(origin.as_str()) {
            let after = &rest[at + origin.len()..];
            let whole = after.chars().next().is_none_or(|c| matches!(c, '/' | '?' | '#' | '"' | '\'' | ',' | ' '));
            result.push_str(&rest[..at]);
            if whole {
                result.push('{');
                result.push_str(label);
                result.push('}');
            } else {
                result.push_str(origin);
            }
            rest = after;
        }
        result.push_str(rest);
        out = result;
    }
    out
}

/// A labelled URL's label and the rest (`{issuer}/token` → `("issuer", "/token")`).
pub fn split_label(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix('{')?;
    let end = rest.find('}')?;
    Some((&rest[..end], &rest[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_replaced_only_where_they_stand_whole() {
        let table = vec![("http://127.0.0.1:80".to_owned(), "mcp".to_owned())];
        assert_eq!(label_origins("http://127.0.0.1:80/mcp", &table), "{mcp}/mcp");
        assert_eq!(label_origins("http://127.0.0.1:8080/mcp", &table), "http://127.0.0.1:8080/mcp");
        assert_eq!(
            label_origins(r#"Bearer resource_metadata="http://127.0.0.1:80""#, &table),
            r#"Bearer resource_metadata="{mcp}""#
        );
        assert_eq!(split_label("{issuer}/token"), Some(("issuer", "/token")));
        assert_eq!(split_label("http://x/token"), None);
    }
}
