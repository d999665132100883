//! What a manifest client said and kept: statuses, tools and content from its output, registry
//! and credentials from its files; and the file edits a verb makes.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::spec::{Capture, CredentialsSpec, RegistrySpec, StateSpec, StatusesSpec, Stream, ToolsSpec, VerbSpec};
use crate::client::process::{Finished, error_message};
use crate::client::{ClientState, CredentialSummary, EntryStatus, RegistryEntry, Reply, ToolInfo};
use crate::scenario::Status;

/// The step's reply: the process outcome, then what the verb's readers find in the output.
/// `required` is the file the verb must have written, with what it held before; `values` expand
/// the readers' placeholders; `registry` names the entries of statuses given by URL.
pub fn reply(
    spec: &VerbSpec,
    finished: &Finished,
    required: Option<(&Path, &str, Option<String>)>,
    values: &BTreeMap<&str, String>,
    registry: &[RegistryEntry],
) -> Reply {
    let mut reply = Reply {
        error: finished.error(),
        output: finished.stdout.clone(),
        stderr: finished.stderr.clone(),
        exit_code: finished.code,
        ..Reply::default()
    };
    if reply.error.is_none()
        && let Some((path, contains, before)) = required
    {
        let now = std::fs::read_to_string(path).ok();
        if now.is_none() || now == before || !now.as_deref().unwrap_or_default().contains(contains) {
            // What it printed before its work was over (after, a client may go on to other things).
            let output = both(finished);
            let stop = spec.stop_when_output.as_deref().map(|p| regex::Regex::new(p).expect("checked at load"));
            let until = stop.and_then(|p| p.find(&output)).map_or(output.len(), |m| m.start());
            let said = error_message(&output[..until]).map(|l| format!(" (it printed `{l}`)")).unwrap_or_default();
            let file = spec.require_file.as_ref().map_or(String::new(), |f| f.path.clone());
            reply.error = Some(format!("the client stored nothing for `{contains}` in {file}{said}"));
        }
    }
    if let Some(statuses) = &spec.statuses {
        reply.statuses = read_statuses(statuses, finished, registry);
    }
    if let Some(tools) = &spec.tools {
        if matches!(tools.from, Stream::Server) {
            reply.tools_seen_at_server = true;
        }
        let prefix = tools.prefix.as_deref().map(|p| super::spec::expand(p, values));
        reply.tools = read_tools(tools, finished, prefix.as_deref());
        if reply.error.is_none() && !reply.tools_seen_at_server && reply.tools.as_ref().is_none_or(Vec::is_empty) {
            reply.error = Some("the client printed no tools".into());
        }
    }
    if let Some(content) = &spec.content {
        reply.content = capture(content, finished);
    }
    reply
}

fn text(from: Stream, finished: &Finished) -> std::borrow::Cow<'_, str> {
    match from {
        Stream::Stdout => finished.stdout.as_str().into(),
        Stream::Stderr => finished.stderr.as_str().into(),
        Stream::Both => both(finished).into(),
        Stream::Server => "".into(),
    }
}

fn both(finished: &Finished) -> String {
    format!("{}\n{}", finished.stdout, finished.stderr)
}

fn read_statuses(spec: &StatusesSpec, finished: &Finished, registry: &[RegistryEntry]) -> Vec<EntryStatus> {
    let status = |name: &str, raw: &str| EntryStatus {
        name: name.trim().to_owned(),
        raw: raw.trim().to_owned(),
        normalized: spec.words.get(raw.trim()).copied().unwrap_or(Status::Error),
    };
    let text = text(spec.from, finished);
    let Some(listing) = &spec.urls else {
        let pattern = regex::Regex::new(spec.pattern.as_deref().expect("a pattern or urls (checked at load)"))
            .expect("checked at load");
        return pattern.captures_iter(&text).map(|found| status(&found["name"], &found["status"])).collect();
    };
    // No listing printed is no status at all, not "none logged in".
    let Some(urls) = first_json(&text).and_then(|v| v.pointer(&listing.pointer).and_then(Value::as_array).cloned())
    else {
        return Vec::new();
    };
    // Clients normalize URLs their own way (`http://h/mcp` and `http://H:80/mcp` are one).
    let normal = |url: &str| url::Url::parse(url).map_or_else(|_| url.to_owned(), String::from);
    let listed: Vec<String> = urls.iter().filter_map(Value::as_str).map(normal).collect();
    registry
        .iter()
        .map(|entry| {
            let word = if listed.contains(&normal(&entry.url)) { &listing.listed } else { &listing.unlisted };
            status(&entry.name, word)
        })
        .collect()
}

/// The first JSON value in `text`, wherever it starts.
fn first_json(text: &str) -> Option<Value> {
    let start = text.find(['{', '['])?;
    serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>().next()?.ok()
}

fn read_tools(spec: &ToolsSpec, finished: &Finished, prefix: Option<&str>) -> Option<Vec<ToolInfo>> {
    let text = text(spec.from, finished);
    let tools: Vec<ToolInfo> = if let Some(pattern) = &spec.pattern {
        let pattern = regex::Regex::new(pattern).expect("checked at load");
        pattern
            .captures_iter(&text)
            .filter_map(|c| c.name("name"))
            .map(|name| ToolInfo { name: name.as_str().to_owned(), input_schema: Value::Null })
            .collect()
    } else {
        let marker = spec.json_after.as_deref()?;
        let after = &text[text.find(marker)? + marker.len()..];
        let value = serde_json::Deserializer::from_str(after).into_iter::<Value>().next()?.ok()?;
        let tools = value.pointer(&spec.pointer)?.as_array()?;
        let tools = tools.iter().filter_map(|tool| match tool {
            Value::String(name) => Some(ToolInfo { name: name.clone(), input_schema: Value::Null }),
            _ => Some(ToolInfo {
                name: tool["name"].as_str()?.to_owned(),
                input_schema: tool.get("inputSchema").or_else(|| tool.get("input_schema")).cloned()?,
            }),
        });
        tools.collect()
    };
    let tools: Vec<ToolInfo> = match prefix {
        Some(prefix) => tools
            .into_iter()
            .filter_map(|tool| Some(ToolInfo { name: tool.name.strip_prefix(prefix)?.to_owned(), ..tool }))
            .collect(),
        None => tools,
    };
    (spec.json_after.is_some() || !tools.is_empty()).then_some(tools)
}

fn capture(spec: &Capture, finished: &Finished) -> Option<String> {
    let pattern = regex::Regex::new(&spec.pattern).expect("checked at load");
    let text = text(spec.from, finished);
    let found = pattern.captures(&text)?;
    Some(found.name("content").unwrap_or_else(|| found.get(0).expect("a match")).as_str().trim().to_owned())
}

/// Sets (or, without a value, removes) the JSON value at `pointer` in `file`, creating the file
/// and the objects on the way. String values are expanded like every manifest string.
pub fn edit_json(
    file: &str,
    pointer: &str,
    value: Option<&toml::Value>,
    values: &BTreeMap<&str, String>,
) -> Result<(), String> {
    let mut document: Value = match std::fs::read_to_string(file) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?,
        Err(_) => Value::Object(Default::default()),
    };
    let keys: Vec<String> = pointer.split('/').skip(1).map(|k| k.replace("~1", "/").replace("~0", "~")).collect();
    let (last, parents) = keys.split_last().ok_or("the pointer names no key")?;
    let mut node = &mut document;
    for key in parents {
        let object = node.as_object_mut().ok_or_else(|| format!("`{key}`'s parent is not an object"))?;
        node = object.entry(key.clone()).or_insert_with(|| Value::Object(Default::default()));
    }
    let object = node.as_object_mut().ok_or_else(|| format!("`{last}`'s parent is not an object"))?;
    match value {
        Some(value) => {
            let value = serde_json::to_value(value).map_err(|e| e.to_string())?;
            object.insert(last.clone(), expand_strings(value, values));
        }
        None => {
            object.remove(last);
        }
    }
    if let Some(parent) = Path::new(file).parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(file, serde_json::to_vec_pretty(&document).map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

fn expand_strings(value: Value, values: &BTreeMap<&str, String>) -> Value {
    match value {
        Value::String(s) => Value::String(super::spec::expand(&s, values)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| expand_strings(v, values)).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, expand_strings(v, values))).collect()),
        other => other,
    }
}

/// Deletes every file matching a glob pattern.
pub fn delete_matching(pattern: &str) -> Result<(), String> {
    for path in glob::glob(pattern).map_err(|e| e.to_string())?.flatten() {
        std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// The registry and credentials the manifest says where to find.
pub fn state(spec: &StateSpec, home: &Path) -> ClientState {
    let values = BTreeMap::from([("home", home.display().to_string())]);
    let mut state = ClientState::default();
    if let Some(registry) = &spec.registry {
        state.registry = read_registry(registry, &values);
    }
    if let Some(credentials) = &spec.credentials {
        state.credentials = read_credentials(credentials, &values);
    }
    state
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn read_registry(spec: &RegistrySpec, values: &BTreeMap<&str, String>) -> Vec<RegistryEntry> {
    let Some(document) = read_json(Path::new(&super::spec::expand(&spec.file, values))) else {
        return Vec::new();
    };
    let entries = document.pointer(&spec.entries).and_then(Value::as_object).cloned().unwrap_or_default();
    entries
        .iter()
        .map(|(name, entry)| RegistryEntry {
            name: name.clone(),
            transport: match spec.transport.strip_prefix('/') {
                Some(_) => entry.pointer(&spec.transport).and_then(Value::as_str).unwrap_or("?").to_owned(),
                None => spec.transport.clone(),
            },
            url: entry.pointer(&spec.url).and_then(Value::as_str).unwrap_or_default().to_owned(),
            tools: None,
        })
        .collect()
}

fn read_credentials(spec: &CredentialsSpec, values: &BTreeMap<&str, String>) -> Vec<CredentialSummary> {
    let pattern = super::spec::expand(&spec.files, values);
    let keys = spec.record_keys.as_deref().map(|k| regex::Regex::new(k).expect("checked at load"));
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut credentials: Vec<CredentialSummary> = glob::glob(&pattern)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|path| read_json(&path))
        .flat_map(|document| match &spec.records {
            Some(pointer) => match document.pointer(pointer) {
                Some(Value::Array(records)) => records.iter().map(|r| (BTreeMap::new(), r.clone())).collect(),
                Some(Value::Object(records)) => records
                    .iter()
                    .filter_map(|(key, record)| Some((key_groups(keys.as_ref(), key)?, record.clone())))
                    .collect(),
                _ => Vec::new(),
            },
            None => vec![(BTreeMap::new(), document)],
        })
        .map(|(groups, record)| {
            // A secret store keeps each record as a string of JSON.
            let record = match &record {
                Value::String(text) => serde_json::from_str(text).unwrap_or(record),
                _ => record,
            };
            let present = |pointer: &Option<String>| {
                pointer.as_ref().and_then(|p| record.pointer(p)).and_then(Value::as_str).is_some_and(|s| !s.is_empty())
            };
            let at = |pointer: &Option<String>, unit: f64| {
                pointer.as_ref().and_then(|p| record.pointer(p)).and_then(Value::as_f64).map(|t| (t * unit) as i64)
            };
            let expiry = match at(&spec.expires_at_ms, 1.0).or_else(|| at(&spec.expires_at_s, 1000.0)) {
                Some(at) if at <= now_ms => "expired",
                Some(at) if at - now_ms > 3_600_000 => ">1h",
                Some(_) => "<1h",
                None => "unknown",
            };
            let client_id = spec.client_id.as_ref().and_then(|p| record.pointer(p)).and_then(Value::as_str);
            CredentialSummary {
                key: key_template(&spec.key, &record, &groups),
                access_token: present(&Some(spec.access_token.clone())),
                refresh_token: present(&spec.refresh_token),
                scopes: match spec.scope.as_ref().and_then(|p| record.pointer(p)) {
                    Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
                    Some(Value::Array(items)) => items.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect(),
                    _ => Vec::new(),
                },
                expiry: expiry.into(),
                client_id_kind: match client_id {
                    Some(id) if id.starts_with("http") => "metadata-document",
                    Some(_) => "dynamic",
                    None => "unknown",
                }
                .into(),
            }
        })
        .collect();
    credentials.sort_by(|a, b| a.key.cmp(&b.key));
    credentials
}

/// The named groups of `keys` in a record's key, percent-decoded (a store that names records by
/// an encoded URL); `None` when the key does not match. Without `keys`, every record counts.
fn key_groups(keys: Option<&regex::Regex>, key: &str) -> Option<BTreeMap<String, String>> {
    let Some(keys) = keys else { return Some(BTreeMap::new()) };
    let found = keys.captures(key)?;
    let decoded = |text: &str| percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned();
    Some(
        keys.capture_names().flatten().filter_map(|n| Some((n.to_owned(), decoded(found.name(n)?.as_str())))).collect(),
    )
}

/// `{/pointer}` replaced by the string (or JSON) at that pointer in `record`, `{group}` by that
/// group of the record's key.
fn key_template(template: &str, record: &Value, groups: &BTreeMap<String, String>) -> String {
    let pattern = regex::Regex::new(r"\{(/[^}]*|\w+)\}").expect("a valid regex");
    pattern
        .replace_all(template, |found: &regex::Captures| match found[1].strip_prefix('/') {
            None => groups.get(&found[1]).cloned().unwrap_or_else(|| "?".into()),
            Some(_) => match record.pointer(&found[1]) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => "?".into(),
            },
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(stdout: &str, stderr: &str) -> Finished {
        Finished {
            code: Some(0),
            stdout: stdout.into(),
            stderr: stderr.into(),
            killed: None,
            stopped: false,
            failed: None,
            terminal: false,
        }
    }

    #[test]
    fn tools_come_from_the_json_after_a_marker_even_over_several_lines() {
        let spec = ToolsSpec {
            from: Stream::Stderr,
            json_after: Some("Tools:".into()),
            pointer: "/tools".into(),
            pattern: None,
            prefix: None,
        };
        let stderr = "[1] connected\n[1] Tools: {\n  \"tools\": [{\"name\": \"echo\", \"inputSchema\": {\"type\": \"object\"}}]\n}\n[1] bye";
        let tools = read_tools(&spec, &finished("", stderr), None).unwrap();
        assert_eq!(tools[0].name, "echo");
        assert_eq!(tools[0].input_schema["type"], "object");
    }

    #[test]
    fn tool_names_keep_only_the_servers_under_a_prefix() {
        let spec = ToolsSpec {
            from: Stream::Stdout,
            json_after: Some(String::new()),
            pointer: "/tools".into(),
            pattern: None,
            prefix: Some("mcp__main__".into()),
        };
        let stdout = "{\"type\":\"system\",\"tools\":[\"Bash\",\"mcp__main__echo\",\"mcp__other__echo\"]}\n{}";
        let tools = read_tools(&spec, &finished(stdout, ""), spec.prefix.as_deref()).unwrap();
        assert_eq!(tools, vec![ToolInfo { name: "echo".into(), input_schema: Value::Null }]);
    }

    #[test]
    fn statuses_map_client_words_and_unknown_words_are_errors() {
        let spec = StatusesSpec {
            from: Stream::Stdout,
            pattern: Some(r"(?m)^. (?P<name>[^:]+): .* - (?P<status>\w+)$".into()),
            urls: None,
            words: BTreeMap::from([("Connected".to_owned(), Status::Oauth)]),
        };
        let out = "✓ a: http://x (http) - Connected\n✗ b: http://y (http) - Weird\n";
        let statuses = read_statuses(&spec, &finished(out, ""), &[]);
        assert_eq!(statuses[0].normalized, Status::Oauth);
        assert_eq!((statuses[1].name.as_str(), statuses[1].normalized), ("b", Status::Error));
    }

    #[test]
    fn json_edits_create_parents_and_expand_strings() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/settings.json");
        let values = BTreeMap::from([("url", "http://x/mcp".to_owned())]);
        let value: toml::Value =
            toml::from_str::<toml::Table>("v = { url = \"{url}\", oauth = true }").unwrap()["v"].clone();
        edit_json(file.to_str().unwrap(), "/mcpServers/main", Some(&value), &values).unwrap();
        let written = read_json(&file).unwrap();
        assert_eq!(written["mcpServers"]["main"]["url"], "http://x/mcp");
        edit_json(file.to_str().unwrap(), "/mcpServers/main", None, &values).unwrap();
        assert_eq!(read_json(&file).unwrap()["mcpServers"], serde_json::json!({}));
    }

    #[test]
    fn record_keys_come_from_pointers() {
        let record = serde_json::json!({"serverName": "a", "n": 3});
        assert_eq!(key_template("{/serverName} #{/n} {/missing}", &record, &BTreeMap::new()), "a #3 ?");
    }

    #[test]
    fn records_kept_as_json_text_are_read_under_their_decoded_keys_and_other_secrets_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = serde_json::json!({ "secrets": {
            "oauth+ns+http%3A%2F%2Fh%3A1%2Fmcp:tokens:http://h:1": "{\"access_token\":\"at\",\"scope\":\"a b\"}",
            "oauth+ns+http%3A%2F%2Fh%3A1%2Fmcp:client-secret:http://h:1": "s3cret",
        }});
        std::fs::write(dir.path().join("secrets.json"), secrets.to_string()).unwrap();
        let spec = CredentialsSpec {
            files: "{home}/secrets.json".into(),
            records: Some("/secrets".into()),
            record_keys: Some(r"^oauth\+[^+]+\+(?P<server>[^+:]+):tokens:(?P<issuer>.+)$".into()),
            key: "{server} ({issuer})".into(),
            access_token: "/access_token".into(),
            refresh_token: Some("/refresh_token".into()),
            scope: Some("/scope".into()),
            expires_at_ms: None,
            expires_at_s: None,
            client_id: None,
        };
        let values = BTreeMap::from([("home", dir.path().display().to_string())]);
        let found = read_credentials(&spec, &values);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "http://h:1/mcp (http://h:1)");
        assert!(found[0].access_token && !found[0].refresh_token);
        assert_eq!(found[0].scopes, ["a", "b"]);
    }

    #[test]
    fn statuses_by_url_name_every_registry_entry() {
        let spec = StatusesSpec {
            from: Stream::Stdout,
            pattern: None,
            urls: Some(super::super::spec::UrlListing {
                pointer: "/stored".into(),
                listed: "stored".into(),
                unlisted: "none".into(),
            }),
            words: BTreeMap::from([("stored".to_owned(), Status::Oauth), ("none".to_owned(), Status::NotLoggedIn)]),
        };
        let entry = |name: &str, url: &str| RegistryEntry {
            name: name.into(),
            transport: "http".into(),
            url: url.into(),
            tools: None,
        };
        let registry = [entry("a", "http://h:1/mcp"), entry("b", "http://h:2/mcp")];
        let out = "{\"path\":\"/x\",\"stored\":[\"http://h:1/mcp\"]}\n";
        let statuses = read_statuses(&spec, &finished(out, ""), &registry);
        let found: Vec<_> = statuses.iter().map(|s| (s.name.as_str(), s.normalized)).collect();
        assert_eq!(found, [("a", Status::Oauth), ("b", Status::NotLoggedIn)]);
        assert!(read_statuses(&spec, &finished("crashed", ""), &registry).is_empty());
    }
}
