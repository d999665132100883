//! Knob values computed from the live layout: in the knobs that name URLs, `{issuer}` stands for
//! this server's issuer and `{servers.other.issuer}` for the issuer of the server `other` that
//! runs beside it (its [`Peers`]).
//!
//! A placeholder is resolved each time its knob is read, so a server may name one that started
//! after it, and a knob change on a running server may name any of them.
//!
//! ```
//! use mock_server::placeholder;
//!
//! assert!(placeholder::check("{servers.other.issuer}/extra", &["main", "other"]).is_ok());
//! let err = placeholder::check("{servers.gone.issuer}", &["main"]).unwrap_err();
//! assert!(err.contains("no server `gone`"), "{err}");
//! ```

use std::sync::Arc;

use crate::authorization::AuthorizationServer;
use crate::live::knob_settings;
use crate::peers::Peers;
use crate::profile::ProfileError;

/// The knobs whose values may hold placeholders: the ones that name URLs.
pub const KNOBS: &[&str] = &[
    "resource_metadata.authorization_servers",
    "resource_metadata.resource_override",
    "authorization_server.issuer_override",
    "authorization_server.registered_redirect_uri",
];

/// What a placeholder stands for, of one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Issuer,
    McpUrl,
    ResourceOrigin,
}

/// Each part by the name a placeholder gives it, with what it is.
const PARTS: &[(&str, Part, &str)] = &[
    ("issuer", Part::Issuer, "the authorization server's issuer identifier"),
    ("mcp_url", Part::McpUrl, "the (first) MCP endpoint's URL"),
    ("resource_origin", Part::ResourceOrigin, "the MCP server's origin (`http://127.0.0.1:PORT`)"),
];

/// The URLs of one server that placeholders stand for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrls {
    pub issuer: String,
    pub mcp_url: String,
    pub resource_origin: String,
}

impl ServerUrls {
    fn part(&self, part: Part) -> &str {
        match part {
            Part::Issuer => &self.issuer,
            Part::McpUrl => &self.mcp_url,
            Part::ResourceOrigin => &self.resource_origin,
        }
    }
}

/// One placeholder: a part of this server (`{issuer}`) or of a named one
/// (`{servers.other.issuer}`).
#[derive(Debug, PartialEq, Eq)]
struct Placeholder<'a> {
    server: Option<&'a str>,
    part: Part,
}

/// Every placeholder a scenario writer can use, one line each, for help texts and the README.
pub fn reference() -> Vec<(String, &'static str)> {
    let own = PARTS.iter().map(|(name, _, doc)| (format!("{{{name}}}"), *doc));
    let other = PARTS.iter().map(|(name, _, doc)| (format!("{{servers.NAME.{name}}}"), *doc));
    own.chain(other).collect()
}

/// The text between braces, each with the byte range of the whole placeholder.
fn spans(text: &str) -> Result<Vec<(std::ops::Range<usize>, &str)>, String> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find('{').map(|i| i + rest) {
        let close =
            text[open..].find('}').map(|i| i + open).ok_or_else(|| format!("`{}` is never closed", &text[open..]))?;
        found.push((open..close + 1, &text[open + 1..close]));
        rest = close + 1;
    }
    if text[rest..].contains('}') {
        return Err(format!("a `}}` without its `{{` in `{text}`"));
    }
    Ok(found)
}

fn parse(inner: &str) -> Result<Placeholder<'_>, String> {
    let (server, name) = match inner.strip_prefix("servers.") {
        Some(rest) => match rest.rsplit_once('.') {
            Some((server, name)) if !server.is_empty() => (Some(server), name),
            _ => return Err(unknown(inner)),
        },
        None => (None, inner),
    };
    let part = PARTS.iter().find(|(n, ..)| *n == name).map(|(_, part, _)| *part).ok_or_else(|| unknown(inner))?;
    Ok(Placeholder { server, part })
}

fn unknown(inner: &str) -> String {
    let known: Vec<String> = reference().into_iter().map(|(name, _)| name).collect();
    format!("unknown placeholder `{{{inner}}}` (placeholders: {})", known.join(", "))
}

/// Checks every placeholder of `text`: known parts, and servers among `servers`.
pub fn check(text: &str, servers: &[&str]) -> Result<(), String> {
    for (_, inner) in spans(text)? {
        let placeholder = parse(inner)?;
        if let Some(server) = placeholder.server
            && !servers.contains(&server)
        {
            return Err(format!("placeholder `{{{inner}}}`: no server `{server}` (servers: {})", servers.join(", ")));
        }
    }
    Ok(())
}

/// Checks the placeholders of a table of knob overrides: only [`KNOBS`] take them, and each
/// must name a part and, for another server, one of `servers`.
pub fn check_knobs(overrides: &toml::Table, servers: &[&str]) -> Result<(), ProfileError> {
    for (path, value) in knob_settings(overrides) {
        let texts: Vec<&str> = match &value {
            toml::Value::String(text) => vec![text],
            toml::Value::Array(items) => items.iter().filter_map(toml::Value::as_str).collect(),
            _ => Vec::new(),
        };
        for text in texts {
            let has_placeholder = text.contains(['{', '}']);
            if has_placeholder && !KNOBS.contains(&path.as_str()) {
                let message = format!("takes no placeholders (they are for {})", KNOBS.join(", "));
                return Err(ProfileError::Knob { path, message });
            }
            check(text, servers).map_err(|message| ProfileError::Knob { path: path.clone(), message })?;
        }
    }
    Ok(())
}

/// What placeholders stand for around one running server: its own URLs and its peers'.
#[derive(Debug)]
pub(crate) struct Surroundings {
    own: ServerUrls,
    peers: Peers,
}

impl Surroundings {
    pub fn new(own: ServerUrls, peers: Peers) -> Self {
        Self { own, peers }
    }

    pub fn own(&self) -> &ServerUrls {
        &self.own
    }

    /// `text` with each placeholder replaced by what it stands for now. One naming a server
    /// that is not (or no longer) running is left as written: the value then names nothing, as
    /// a stale URL would.
    pub fn resolve(&self, text: &str) -> String {
        let Ok(spans) = spans(text) else { return text.to_owned() };
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (range, inner) in spans {
            out.push_str(&text[at..range.start]);
            let value = parse(inner).ok().and_then(|p| match p.server {
                None => Some(self.own.part(p.part).to_owned()),
                Some(server) => self.peers.urls(server).map(|urls| urls.part(p.part).to_owned()),
            });
            out.push_str(value.as_deref().unwrap_or(&text[range.clone()]));
            at = range.end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// The authorization server whose issuer is `issuer`: among the peers (this server's own
    /// is a peer too when it joined under a name).
    pub fn authorization_server(&self, issuer: &str) -> Option<Arc<AuthorizationServer>> {
        self.peers.authorization_server(issuer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn here() -> Surroundings {
        let own = ServerUrls {
            issuer: "http://127.0.0.1:1/t".into(),
            mcp_url: "http://127.0.0.1:2/mcp".into(),
            resource_origin: "http://127.0.0.1:2".into(),
        };
        Surroundings::new(own, Peers::new())
    }

    #[test]
    fn own_parts_resolve_and_other_text_stays() {
        let s = here();
        assert_eq!(s.resolve("{mcp_url}/"), "http://127.0.0.1:2/mcp/");
        assert_eq!(s.resolve("{resource_origin} and {issuer}"), "http://127.0.0.1:2 and http://127.0.0.1:1/t");
        assert_eq!(s.resolve("http://plain"), "http://plain");
        assert_eq!(s.resolve("{servers.gone.issuer}"), "{servers.gone.issuer}");
    }

    #[test]
    fn unknown_parts_and_servers_are_errors_that_list_what_is_known() {
        let err = check("{isuer}", &["main"]).unwrap_err();
        assert!(err.contains("unknown placeholder `{isuer}`") && err.contains("{servers.NAME.issuer}"), "{err}");
        assert!(check("{servers..issuer}", &["main"]).is_err());
        assert!(check("{issuer", &["main"]).unwrap_err().contains("never closed"));
        assert!(check("issuer}", &["main"]).is_err());
        assert!(check("{servers.main.mcp_url}", &["main"]).is_ok());
    }

    #[test]
    fn only_url_knobs_take_placeholders() {
        let table: toml::Table = toml::from_str("[resource]\nwrite_scope = \"{issuer}\"").unwrap();
        let err = check_knobs(&table, &["main"]).unwrap_err();
        assert!(matches!(&err, ProfileError::Knob { path, .. } if path == "resource.write_scope"), "{err}");
        let table: toml::Table =
            toml::from_str("[resource_metadata]\nauthorization_servers = [\"{servers.x.issuer}\"]").unwrap();
        let err = check_knobs(&table, &["main"]).unwrap_err();
        assert!(err.to_string().contains("no server `x`"), "{err}");
    }
}
