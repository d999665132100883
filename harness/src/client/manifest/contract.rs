//! `@modelcontextprotocol/conformance`'s client contract as a manifest: a client written for the
//! official suite (server URL as its last argument, `MCP_CONFORMANCE_SCENARIO`,
//! `MCP_CONFORMANCE_CONTEXT`, `MCP_CONFORMANCE_PROTOCOL_VERSION`) runs under this harness's
//! scenarios unchanged. Such a client does everything in one run — log in, list tools, call one —
//! and prints nothing in a set form, so its tools are what the server listed to it.

use super::spec::{self, Manifest, ManifestError};
use crate::extension::Extension;

/// This catalog's scenarios and the official suite's (0.1.16, pinned) that test the same thing. A
/// scenario not listed tells the client `auth/metadata-default`: the plain authorization code
/// flow. (0.2.0-alpha.12's 2026-07-28 scenarios pair up in `official_suite::SuiteVersion::pairs`.)
pub const SCENARIO_NAMES: &[(&str, &str)] = &[
    ("happy-path", "auth/metadata-default"),
    ("oidc-only", "auth/metadata-var1"),
    ("founding-path-issuer", "auth/metadata-var2"),
    ("prm-header-only", "auth/metadata-var3"),
    ("cimd-advertised", "auth/basic-cimd"),
    ("scope-from-challenge", "auth/scope-from-www-authenticate"),
    ("scope-omitted-when-undefined", "auth/scope-omitted-when-undefined"),
    ("step-up", "auth/scope-step-up"),
    ("step-up-never-granted", "auth/scope-retry-limit"),
    ("preregistered", "auth/pre-registration"),
    ("backcompat-2025-03-26", "auth/2025-03-26-oauth-metadata-backcompat"),
    ("backcompat-no-metadata", "auth/2025-03-26-oauth-endpoint-fallback"),
    ("resource-mismatch", "auth/resource-mismatch"),
];

/// This catalog's authorization-extension scenarios and the official scenario (0.2.0-alpha.12,
/// unscored) whose flow each takes: the name tells a contract client which credentials its
/// context holds and which grant to use. A client is run on them only if it declares the
/// extension (`conformance+EXTENSION:COMMAND`, or `extensions` in a manifest).
pub const EXTENSION_SCENARIO_NAMES: &[(&str, &str)] = &[
    ("client-credentials-basic", "auth/client-credentials-basic"),
    ("client-credentials-post", "auth/client-credentials-basic"),
    ("client-credentials-disabled", "auth/client-credentials-basic"),
    ("client-credentials-jwt", "auth/client-credentials-jwt"),
    ("enterprise-managed", "auth/enterprise-managed-authorization"),
    ("enterprise-id-jag-wrong-audience", "auth/enterprise-managed-authorization"),
    ("enterprise-id-jag-expired", "auth/enterprise-managed-authorization"),
    ("dpop-happy-path", "auth/dpop"),
    ("dpop-bearer-refused", "auth/dpop"),
    ("dpop-replayed-proof", "auth/dpop"),
    ("dpop-as-nonce", "auth/dpop-nonce"),
    ("dpop-resource-nonce", "auth/dpop-nonce"),
    ("dpop-nonces", "auth/dpop-nonce"),
    ("wif-happy-path", "auth/wif-jwt-bearer"),
    ("wif-wrong-audience", "auth/wif-jwt-bearer"),
    ("wif-expired", "auth/wif-jwt-bearer"),
];

/// The official suite's name for one of this catalog's scenarios.
pub fn official_name(scenario: &str) -> &'static str {
    SCENARIO_NAMES
        .iter()
        .chain(EXTENSION_SCENARIO_NAMES)
        .find(|(ours, _)| *ours == scenario)
        .map_or("auth/metadata-default", |(_, theirs)| theirs)
}

/// A manifest that runs `command` (split by the shell, as the official runner does) with the
/// contract's environment, for a client that implements `extensions`.
pub fn manifest(command: &str, extensions: &[Extension]) -> Result<Manifest, ManifestError> {
    // The client runs in its temporary home: a program given relative to here is made absolute.
    let (program, rest) = command.split_once(' ').unwrap_or((command, ""));
    let program = match std::fs::canonicalize(program) {
        Ok(path) if program.contains('/') => path.display().to_string(),
        _ => program.to_owned(),
    };
    let command = format!("{program} {rest}");
    let command = command.trim_end();
    let quoted = |text: &str| toml::Value::String(text.to_owned()).to_string();
    // The URL goes in as `$0` of `sh -c`, so nothing in it is taken for shell syntax.
    let run = format!(r#"["/bin/sh", "-c", {}, "{{url}}"]"#, quoted(&format!("{command} \"$0\"")));
    let declared: String = extensions.iter().map(|e| format!("+{}", e.name())).collect();
    let extensions: Vec<_> = extensions.iter().map(|e| quoted(e.name())).collect();
    let text = format!(
        r#"name = {name}
summary = "a client following @modelcontextprotocol/conformance's contract"
extensions = [{extensions}]

[env]
MCP_CONFORMANCE_SCENARIO = "{{conformance_scenario}}"
MCP_CONFORMANCE_CONTEXT = "{{conformance_context}}"
MCP_CONFORMANCE_PROTOCOL_VERSION = "2025-11-25"

[verbs.add]
nothing = "a contract client keeps no registry: every run is given the URL"

[verbs.login]
run = {run}

[verbs.list]
unsupported = "the contract has no status command"

[verbs.import]
run = {run}
tools = {{ from = "server" }}

[verbs.call]
unsupported = "a contract client calls the tool of its own choosing"

[verbs.logout]
unsupported = "the contract has no logout"

[verbs.remove]
nothing = "a contract client keeps no registry"
"#,
        name = quoted(&format!("conformance{declared}:{command}")),
        extensions = extensions.join(", "),
    );
    spec::parse("(the conformance contract)", &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_command_makes_a_valid_manifest() {
        for command in ["node client.js", "my client --flag=\"x\"", "a'b"] {
            manifest(command, &Extension::ALL).unwrap_or_else(|e| panic!("{command}: {e}"));
        }
    }

    #[test]
    fn unmapped_scenarios_get_the_plain_flow() {
        assert_eq!(official_name("step-up"), "auth/scope-step-up");
        assert_eq!(official_name("restart-keeps-login"), "auth/metadata-default");
        assert_eq!(official_name("client-credentials-post"), "auth/client-credentials-basic");
    }
}
