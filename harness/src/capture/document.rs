//! Reading what a server returns before login: a body that should be a JSON object (metadata, a
//! registration answer, an OAuth error), and the members of protected resource metadata (RFC
//! 9728 §2) and authorization server metadata (RFC 8414 §2) a reproduction reads. Any input gives
//! a value or a typed error, never a panic (a proptest in `tests/capture.rs` feeds it arbitrary
//! bytes and JSON).

use serde_json::{Map, Value};

/// A body that is not a JSON object, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotADocument {
    #[error("an empty body")]
    Empty,
    #[error("not JSON: {message} at line {line}, column {column}")]
    Invalid { message: String, line: usize, column: usize },
    #[error("JSON, but {0}, not an object")]
    NotObject(&'static str),
}

/// The JSON object in `body`.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>, NotADocument> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(NotADocument::Empty);
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| NotADocument::Invalid {
        message: e.to_string().split(" at line ").next().unwrap_or_default().to_owned(),
        line: e.line(),
        column: e.column(),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Array(_) => Err(NotADocument::NotObject("an array")),
        Value::String(_) => Err(NotADocument::NotObject("a string")),
        Value::Number(_) => Err(NotADocument::NotObject("a number")),
        Value::Bool(_) => Err(NotADocument::NotObject("a boolean")),
        Value::Null => Err(NotADocument::NotObject("null")),
    }
}

/// Members read with their expected types; a member of another type counts as absent and is
/// named in `problems`.
struct Reader<'a> {
    object: &'a Map<String, Value>,
    problems: Vec<String>,
}

impl<'a> Reader<'a> {
    fn new(object: &'a Map<String, Value>) -> Self {
        Self { object, problems: Vec::new() }
    }

    fn string(&mut self, member: &str) -> Option<String> {
        match self.object.get(member)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.problems.push(format!("`{member}` is not a string"));
                None
            }
        }
    }

    fn strings(&mut self, member: &str) -> Option<Vec<String>> {
        let items = self.object.get(member)?;
        let read = items.as_array().and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect());
        if read.is_none() {
            self.problems.push(format!("`{member}` is not an array of strings"));
        }
        read
    }

    fn flag(&mut self, member: &str) -> bool {
        match self.object.get(member) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                self.problems.push(format!("`{member}` is not a boolean"));
                false
            }
        }
    }
}

/// Protected resource metadata, as far as a client reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceMetadata {
    pub resource: Option<String>,
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Option<Vec<String>>,
    pub bearer_methods_supported: Option<Vec<String>>,
    /// Members of the wrong type.
    pub problems: Vec<String>,
}

impl ResourceMetadata {
    pub fn read(object: &Map<String, Value>) -> Self {
        let mut r = Reader::new(object);
        Self {
            resource: r.string("resource"),
            authorization_servers: r.strings("authorization_servers").unwrap_or_default(),
            scopes_supported: r.strings("scopes_supported"),
            bearer_methods_supported: r.strings("bearer_methods_supported"),
            problems: r.problems,
        }
    }
}

/// Authorization server metadata, as far as a client reads it before login.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthorizationServerMetadata {
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub registration_endpoint: Option<String>,
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// RFC 9207 `authorization_response_iss_parameter_supported`.
    pub iss_parameter_supported: bool,
    pub client_id_metadata_document_supported: bool,
    pub scopes_supported: Option<Vec<String>>,
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// RFC 9449 §5.1: the DPoP proof algorithms the server accepts.
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// Members of the wrong type.
    pub problems: Vec<String>,
}

impl AuthorizationServerMetadata {
    pub fn read(object: &Map<String, Value>) -> Self {
        let mut r = Reader::new(object);
        Self {
            issuer: r.string("issuer"),
            authorization_endpoint: r.string("authorization_endpoint"),
            token_endpoint: r.string("token_endpoint"),
            registration_endpoint: r.string("registration_endpoint"),
            code_challenge_methods_supported: r.strings("code_challenge_methods_supported"),
            iss_parameter_supported: r.flag("authorization_response_iss_parameter_supported"),
            client_id_metadata_document_supported: r.flag("client_id_metadata_document_supported"),
            scopes_supported: r.strings("scopes_supported"),
            token_endpoint_auth_methods_supported: r.strings("token_endpoint_auth_methods_supported"),
            dpop_signing_alg_values_supported: r.strings("dpop_signing_alg_values_supported"),
            problems: r.problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_json_names_line_and_column() {
        let err = json_object(b"{\n  \"issuer\": }").unwrap_err();
        assert!(matches!(err, NotADocument::Invalid { line: 2, column: 13, .. }), "{err:?}");
        assert_eq!(json_object(b"  \n").unwrap_err(), NotADocument::Empty);
        assert_eq!(json_object(b"[1]").unwrap_err(), NotADocument::NotObject("an array"));
    }

    #[test]
    fn members_of_the_wrong_type_are_named_and_ignored() {
        let doc = json_object(
            br#"{"issuer": 3, "scopes_supported": ["a", 1], "authorization_response_iss_parameter_supported": "yes"}"#,
        )
        .unwrap();
        let read = AuthorizationServerMetadata::read(&doc);
        assert_eq!((read.issuer, read.scopes_supported, read.iss_parameter_supported), (None, None, false));
        assert_eq!(read.problems.len(), 3, "{:?}", read.problems);
    }
}
