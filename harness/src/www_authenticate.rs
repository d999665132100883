//! Reading `WWW-Authenticate: Bearer` challenges (RFC 6750 §3), for the reference client and the
//! checks alike.

use std::sync::LazyLock;

use regex::Regex;

static PARAM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"([A-Za-z_]+)="([^"]*)""#).expect("valid regex"));

/// The value of the `name="value"` parameter of a challenge.
pub fn param<'a>(challenge: &'a str, name: &str) -> Option<&'a str> {
    PARAM.captures_iter(challenge).find(|c| &c[1] == name).map(|c| c.get(2).expect("group 2 always matches").as_str())
}

/// The challenge without its `name` parameter.
pub fn without_param(challenge: &str, name: &str) -> String {
    let kept: Vec<&str> = PARAM
        .captures_iter(challenge)
        .filter(|c| &c[1] != name)
        .map(|c| c.get(0).expect("the whole match").as_str())
        .collect();
    let scheme = challenge.split_whitespace().next().unwrap_or("Bearer");
    if kept.is_empty() { scheme.to_owned() } else { format!("{scheme} {}", kept.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_named_parameters_only() {
        let challenge =
            r#"Bearer error="insufficient_scope", scope="mcp:read mcp:write", resource_metadata="http://x/prm""#;
        assert_eq!(param(challenge, "scope"), Some("mcp:read mcp:write"));
        assert_eq!(param(challenge, "error"), Some("insufficient_scope"));
        assert_eq!(param(challenge, "realm"), None);
    }

    #[test]
    fn drops_one_parameter() {
        let challenge = r#"Bearer resource_metadata="http://x/prm", scope="mcp:read""#;
        assert_eq!(without_param(challenge, "resource_metadata"), r#"Bearer scope="mcp:read""#);
        assert_eq!(without_param(r#"Bearer resource_metadata="http://x/prm""#, "resource_metadata"), "Bearer");
    }
}
