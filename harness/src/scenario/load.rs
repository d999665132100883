//! Reading scenario files: TOML with every error pointing at file, line, column and field.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use mock_server::{Preset, Profile, ProfileError, placeholder};
use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::toml_span::{self, Segment, line_column};

use super::{
    BrowserAction, EXPECT_FIELDS, Expect, ExpireMode, Scenario, ServerAction, ServerChange, ServerSpec, Step,
    TOGETHER_VERBS, Verb,
};

/// A scenario file that cannot be used, and exactly where and why.
pub type ScenarioError = toml_span::FileError;

/// A scenario file: the mock servers to start and the steps to drive a client through.
///
/// Everything that has a default is optional; unknown fields are errors.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "mcp-auth-harness scenario")]
pub(super) struct RawScenario {
    /// The scenario's name (default: the file name without `.toml`).
    name: Option<String>,
    /// One line on what the scenario proves (required).
    summary: String,
    /// Spec clauses the scenario is about (`"RFC9728 §3"`).
    #[serde(default)]
    spec: Vec<String>,
    /// A public bug report the scenario reproduces (a URL).
    bug: Option<String>,
    /// The exchange depends on wall-clock time (seconds-long token lifetimes), so real clients'
    /// snapshots of it cannot be stable and the catalog tests skip it for them.
    #[serde(default)]
    timing_sensitive: bool,
    /// How long a client that can be told one (the reference client) waits for the browser's
    /// answer to a login, from 0.01 to 600 seconds.
    #[schemars(with = "Option<f64>", range(min = 0.01, max = 600.0))]
    login_timeout_secs: Option<Spanned<f64>>,
    /// Judge the scenario by this revision whatever `run --spec` says: it is about an older text
    /// (a 2025-03-26 server).
    revision: Option<crate::revision::Revision>,
    /// The oldest revision whose text the expectations rest on: under an older one the scenario
    /// is not judged.
    since: Option<crate::revision::Revision>,
    /// The authorization extension the scenario is about (`oauth-client-credentials`): a client
    /// that does not implement it is not judged on the scenario (every step not applicable).
    extension: Option<crate::extension::Extension>,
    /// The scenario is about a client of its revision only (one that opens with `initialize`
    /// before a server of a newer text): a client that spoke a newer MCP protocol version to a
    /// server is not judged on it (every step not applicable, with the version it spoke).
    #[serde(default)]
    clients_of_revision_only: bool,
    /// The mock servers by key (at least one): each a preset with optional knob overrides.
    #[schemars(with = "BTreeMap<String, RawServer>", extend("minProperties" = 1))]
    servers: Spanned<BTreeMap<String, Spanned<RawServer>>>,
    /// What the client is driven through, in order.
    #[schemars(with = "Vec<RawStep>")]
    steps: Vec<Spanned<RawStep>>,
}

/// One mock server.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawServer {
    /// The named layout the server starts from.
    #[serde(default = "happy_path")]
    preset: Preset,
    /// Knob overrides over the preset (`mcp-auth-harness knobs` lists them); tables merge knob by
    /// knob, anything else replaces the preset's value.
    #[schemars(with = "Option<Profile>")]
    profile: Option<Spanned<toml::Table>>,
}

fn happy_path() -> Preset {
    Preset::HappyPath
}

/// One step.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawStep {
    /// What the step does.
    #[serde(rename = "do")]
    verb: Verb,
    /// Which `[servers.*]` the step is about (optional with one server).
    #[schemars(with = "Option<String>")]
    server: Option<Spanned<String>>,
    /// The client-side entry name (default: the server key); `add` under another name re-adds the
    /// same server.
    name: Option<String>,
    /// For `add`: which of the server's MCP paths the entry points at (default: the first).
    #[schemars(with = "Option<String>")]
    path: Option<Spanned<String>>,
    /// For `add`: the entry's URL ends with `/` (the same server spelled differently).
    #[schemars(with = "Option<bool>")]
    trailing_slash: Option<Spanned<bool>>,
    /// For `add`, `login`, `import` and `call`: how the user answers in the browser (default
    /// `approve`).
    #[schemars(with = "Option<BrowserAction>")]
    browser: Option<Spanned<BrowserAction>>,
    /// For `call` (required there): the tool to call.
    #[schemars(with = "Option<String>")]
    tool: Option<Spanned<String>>,
    /// For `call`: the tool's arguments.
    #[schemars(with = "Option<serde_json::Map<String, serde_json::Value>>")]
    arguments: Option<toml::Table>,
    /// For `expire`: what stops working (default `access-tokens`).
    #[schemars(with = "Option<ExpireMode>")]
    expire: Option<Spanned<ExpireMode>>,
    /// For `change`: what happens to the running server (one of `action` and `profile`).
    #[schemars(with = "Option<ServerAction>")]
    action: Option<Spanned<ServerAction>>,
    /// For `change`: knob changes applied to the running server from its next request.
    #[schemars(with = "Option<mock_server::Profile>")]
    profile: Option<Spanned<toml::Table>>,
    /// Run at the same time as the steps next to it with the same label (`list`, `import` and
    /// `call` only): each keeps its own expectations, and the checks see the requests interleaved
    /// as the servers received them.
    #[schemars(with = "Option<String>")]
    together: Option<Spanned<String>>,
    /// Client-specific settings (`credentials_store = "keyring"` for Codex); a client that does
    /// not know one reports the step not applicable.
    #[serde(default)]
    client_options: BTreeMap<String, String>,
    /// What the step must end with; unset fields are not checked.
    #[serde(default)]
    expect: Expect,
}

/// Parses scenario text; `file` names it in errors and `stem` is the default name.
pub fn parse(file: &str, stem: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let at = |span: Range<usize>, field: &str, message: String| ScenarioError::at(file, text, span, field, message);
    let raw: RawScenario = toml_span::from_str(text).map_err(|(span, field, message)| at(span, &field, message))?;

    let servers_span = raw.servers.span();
    let raw_servers = raw.servers.into_inner();
    if raw_servers.is_empty() {
        return Err(at(servers_span, "servers", "a scenario needs at least one server".into()));
    }
    let keys: Vec<String> = raw_servers.keys().cloned().collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut servers = BTreeMap::new();
    for (key, server) in raw_servers {
        let server = server.into_inner();
        let profile = match &server.profile {
            None => server.preset.profile(),
            Some(overrides) => server
                .preset
                .profile()
                .with_overrides(overrides.get_ref())
                .and_then(|profile| placeholder::check_knobs(overrides.get_ref(), &keys).map(|()| profile))
                .map_err(|e| {
                    let table =
                        vec![Segment::Key("servers".into()), Segment::Key(key.clone()), Segment::Key("profile".into())];
                    knob_error(text, table, overrides.span(), e, &at)
                })?,
        };
        servers.insert(key, ServerSpec { preset: server.preset, profile });
    }

    let only_server = (servers.len() == 1).then(|| servers.keys().next().cloned()).flatten();
    let mut steps = Vec::new();
    let mut groups = Groups::default();
    for (index, spanned) in raw.steps.into_iter().enumerate() {
        let span = spanned.span();
        let (line, _) = line_column(text, span.start);
        let step = spanned.into_inner();
        let field = |name: &str| format!("steps[{index}].{name}");
        let server = match (&step.server, &only_server) {
            (Some(key), _) if !servers.contains_key(key.get_ref()) => {
                let known = servers.keys().cloned().collect::<Vec<_>>().join(", ");
                return Err(at(
                    key.span(),
                    &field("server"),
                    format!("no server `{}` (servers: {known})", key.get_ref()),
                ));
            }
            (Some(key), _) => key.get_ref().clone(),
            (None, Some(only)) => only.clone(),
            (None, None) if step.verb.targets_entry() && step.name.is_none() => {
                return Err(at(span, &field("server"), "several servers: say which one this step is about".into()));
            }
            (None, None) => String::new(),
        };
        reject_misplaced(&step, index, &at)?;
        reject_inapplicable_expectations(&step, index, text, &at)?;
        if let Some(label) = &step.together {
            groups.join(label, index, step.verb, &at)?;
        }
        if step.verb == Verb::Call && step.tool.is_none() {
            return Err(at(span, &field("tool"), "a `call` step names the tool to call".into()));
        }
        let change = match (step.verb, &step.action, &step.profile) {
            (Verb::Change, None, None) => {
                let message = "a `change` step takes `action` (end-sessions, forget-clients, revoke-refresh-tokens, \
                               restart, stop, resume) or `profile` (knob changes)";
                return Err(at(span, &field("action"), message.into()));
            }
            (Verb::Change, Some(_), Some(profile)) => {
                let message = "a `change` step does one thing: `action` or `profile`, not both".into();
                return Err(at(profile.span(), &field("profile"), message));
            }
            (Verb::Change, Some(action), None) => Some(ServerChange::Action(*action.get_ref())),
            (Verb::Change, None, Some(knobs)) => {
                let current = servers.get(&server).map(|spec| spec.profile.clone()).unwrap_or_default();
                let checked = current
                    .with_live_overrides(knobs.get_ref())
                    .and_then(|_| placeholder::check_knobs(knobs.get_ref(), &keys));
                if let Err(e) = checked {
                    let table =
                        vec![Segment::Key("steps".into()), Segment::Index(index), Segment::Key("profile".into())];
                    return Err(knob_error(text, table, knobs.span(), e, &at));
                }
                Some(ServerChange::Profile(knobs.get_ref().clone()))
            }
            _ => None,
        };
        let entry = step.name.clone().unwrap_or_else(|| server.clone());
        if let Some(path) = &step.path
            && let Some(spec) = servers.get(&server)
            && !spec.profile.resource.paths.contains(path.get_ref())
        {
            let paths = spec.profile.resource.paths.join(", ");
            return Err(at(
                path.span(),
                &field("path"),
                format!("server `{server}` serves MCP at {paths}, not {}", path.get_ref()),
            ));
        }
        let arguments = match step.arguments {
            Some(table) => serde_json::to_value(table).ok().and_then(|v| v.as_object().cloned()).unwrap_or_default(),
            None => serde_json::Map::new(),
        };
        steps.push(Step {
            verb: step.verb,
            entry,
            server,
            path: step.path.map(Spanned::into_inner),
            trailing_slash: step.trailing_slash.as_ref().is_some_and(|t| *t.get_ref()),
            browser: step.browser.map(Spanned::into_inner).unwrap_or_default(),
            tool: step.tool.map(Spanned::into_inner),
            arguments,
            expire: step.expire.map(Spanned::into_inner).unwrap_or_default(),
            change,
            together: step.together.map(Spanned::into_inner),
            client_options: step.client_options,
            expect: step.expect,
            line,
        });
    }
    groups.finish(&at)?;
    // Steps on entries by name only are resolved to the server their `add` pointed at.
    let mut entries: BTreeMap<String, String> = BTreeMap::new();
    for step in &mut steps {
        if step.verb == Verb::Add {
            entries.insert(step.entry.clone(), step.server.clone());
        } else if step.server.is_empty() && step.verb.targets_entry() {
            match entries.get(&step.entry) {
                Some(server) => step.server = server.clone(),
                None => {
                    return Err(ScenarioError::Invalid {
                        file: file.to_owned(),
                        line: step.line,
                        column: 1,
                        field: "name".into(),
                        message: format!("no earlier `add` step created entry `{}`", step.entry),
                    });
                }
            }
        }
    }
    let login_timeout = match raw.login_timeout_secs {
        None => None,
        Some(secs) if (0.01..=600.0).contains(secs.get_ref()) => {
            Some(std::time::Duration::from_secs_f64(*secs.get_ref()))
        }
        Some(secs) => {
            let message = format!("{} is not a number of seconds from 0.01 to 600", secs.get_ref());
            return Err(at(secs.span(), "login_timeout_secs", message));
        }
    };
    Ok(Scenario {
        name: raw.name.unwrap_or_else(|| stem.to_owned()),
        summary: raw.summary,
        spec: raw.spec,
        bug: raw.bug,
        timing_sensitive: raw.timing_sensitive,
        login_timeout,
        revision: raw.revision,
        since: raw.since,
        extension: raw.extension,
        clients_of_revision_only: raw.clients_of_revision_only,
        servers,
        steps,
        source: file.to_owned(),
    })
}

/// The `together` groups read so far: each label names one run of consecutive steps.
#[derive(Default)]
struct Groups {
    /// Label → the first and last step index, and where the label is written on the first.
    seen: BTreeMap<String, (usize, usize, Range<usize>)>,
    /// The last step with a label, and its index.
    previous: Option<(String, usize)>,
}

impl Groups {
    /// Step `index` carries `label`: it joins the group of the step before, or starts one.
    fn join(
        &mut self,
        label: &Spanned<String>,
        index: usize,
        verb: Verb,
        at: &impl Fn(Range<usize>, &str, String) -> ScenarioError,
    ) -> Result<(), ScenarioError> {
        let field = format!("steps[{index}].together");
        if !TOGETHER_VERBS.contains(&verb) {
            let message = format!(
                "`{verb}` cannot run together with other steps: only list, import and call do (a login needs the \
                 browser and the client's callback listener to itself; add, remove, logout and restart change the \
                 registry or the process the others use; expire and change happen between the client's steps)"
            );
            return Err(at(label.span(), &field, message));
        }
        let name = label.get_ref();
        if self.previous.as_ref().is_some_and(|(label, at)| label == name && at + 1 == index) {
            if let Some(group) = self.seen.get_mut(name) {
                group.1 = index;
            }
        } else if let Some((first, last, _)) = self.seen.get(name) {
            let message =
                format!("group `{name}` is steps[{first}]..steps[{last}] already: a group's steps follow one another");
            return Err(at(label.span(), &field, message));
        } else {
            self.seen.insert(name.clone(), (index, index, label.span()));
        }
        self.previous = Some((name.clone(), index));
        Ok(())
    }

    /// Every group has at least two steps.
    fn finish(self, at: &impl Fn(Range<usize>, &str, String) -> ScenarioError) -> Result<(), ScenarioError> {
        match self.seen.into_iter().find(|(_, (first, last, _))| first == last) {
            Some((name, (index, _, span))) => Err(at(
                span,
                &format!("steps[{index}].together"),
                format!("group `{name}` has one step: give the steps that run at the same time the same label"),
            )),
            None => Ok(()),
        }
    }
}

/// A knob error from the profile table at `table` (`servers.main.profile`, `steps[2].profile`),
/// at the knob's own key and named by its whole path.
fn knob_error(
    text: &str,
    table: Vec<Segment>,
    table_span: Range<usize>,
    error: ProfileError,
    at: &impl Fn(Range<usize>, &str, String) -> ScenarioError,
) -> ScenarioError {
    match error {
        ProfileError::Knob { path, message } => {
            let mut full = table;
            full.extend(toml_span::parse_path(&path));
            let span = toml_span::key_span(text, &full).unwrap_or(table_span);
            at(span, &toml_span::render(&full), message)
        }
        other => at(table_span, &toml_span::render(&table), other.to_string()),
    }
}

/// Fields that mean nothing for a step's verb are errors, not silently ignored.
fn reject_misplaced(
    step: &RawStep,
    index: usize,
    at: &impl Fn(Range<usize>, &str, String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    let misplaced = |span: Range<usize>, name: &str, allowed: &str| {
        Err(at(
            span,
            &format!("steps[{index}].{name}"),
            format!("only {allowed} steps take `{name}`, not `{}`", step.verb),
        ))
    };
    if let Some(browser) = &step.browser
        && !matches!(step.verb, Verb::Login | Verb::Call | Verb::Import | Verb::Add)
    {
        return misplaced(browser.span(), "browser", "add, login, import and call");
    }
    if let Some(path) = &step.path
        && step.verb != Verb::Add
    {
        return misplaced(path.span(), "path", "add");
    }
    if let Some(slash) = &step.trailing_slash
        && step.verb != Verb::Add
    {
        return misplaced(slash.span(), "trailing_slash", "add");
    }
    if let Some(tool) = &step.tool
        && step.verb != Verb::Call
    {
        return misplaced(tool.span(), "tool", "call");
    }
    if let Some(expire) = &step.expire
        && step.verb != Verb::Expire
    {
        return misplaced(expire.span(), "expire", "expire");
    }
    if let Some(action) = &step.action
        && step.verb != Verb::Change
    {
        return misplaced(action.span(), "action", "change");
    }
    if let Some(profile) = &step.profile
        && step.verb != Verb::Change
    {
        return misplaced(profile.span(), "profile", "change");
    }
    Ok(())
}

/// Expectations that can never apply to a step's verb (a `status` on a `login`) are errors at
/// the expectation's own key, not silently never judged.
fn reject_inapplicable_expectations(
    step: &RawStep,
    index: usize,
    text: &str,
    at: &impl Fn(Range<usize>, &str, String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    let written = serde_json::to_value(&step.expect).unwrap_or_default();
    for (field, verbs) in EXPECT_FIELDS {
        if written.get(field).is_none_or(serde_json::Value::is_null) || verbs.contains(&step.verb) {
            continue;
        }
        let path = [
            Segment::Key("steps".into()),
            Segment::Index(index),
            Segment::Key("expect".into()),
            Segment::Key((*field).into()),
        ];
        let span = toml_span::key_span(text, &path).unwrap_or(0..0);
        let allowed: Vec<&str> = verbs.iter().map(|v| v.name()).collect();
        let message = format!("`{field}` is judged on {} steps, never on `{}`", allowed.join(", "), step.verb);
        return Err(at(span, &toml_span::render(&path), message));
    }
    Ok(())
}

/// Reads one scenario file.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScenarioError::Unreadable { file: file.clone(), reason: e.to_string() })?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("scenario");
    parse(&file, stem, &text)
}

/// Reads every `*.toml` file of a directory, sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    let unreadable =
        |e: std::io::Error| ScenarioError::Unreadable { file: dir.display().to_string(), reason: e.to_string() };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| load_file(p)).collect()
}

/// 1-based line and column of a byte offset.
#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> (usize, usize, String, String) {
        match parse("f.toml", "f", text).unwrap_err() {
            ScenarioError::Invalid { line, column, field, message, .. } => (line, column, field, message),
            other => panic!("{other}"),
        }
    }

    const HEAD: &str = "summary = \"s\"\n[servers.main]\n";

    #[test]
    fn unknown_step_field_names_line_and_field() {
        let (line, _, field, message) = error(&format!("{HEAD}[[steps]]\ndo = \"add\"\nbrowsr = \"deny\"\n"));
        assert_eq!((line, field.as_str()), (5, "steps[0].browsr"));
        assert!(message.contains("unknown field"), "{message}");
    }

    #[test]
    fn unknown_verb_is_reported_at_its_value() {
        let (line, _, field, message) = error(&format!("{HEAD}[[steps]]\ndo = \"fly\"\n"));
        assert_eq!((line, field.as_str()), (4, "steps[0].do"));
        assert!(message.contains("unknown variant `fly`"), "{message}");
    }

    #[test]
    fn unknown_preset_is_an_error() {
        let (line, _, field, message) =
            error("summary = \"s\"\n[servers.main]\npreset = \"nope\"\n[[steps]]\ndo = \"add\"\n");
        assert_eq!((line, field.as_str()), (3, "servers.main.preset"));
        assert!(message.contains("unknown preset"), "{message}");
    }

    #[test]
    fn bad_profile_override_points_at_the_knob_itself() {
        let (line, column, field, message) =
            error("summary = \"s\"\n[servers.main]\nprofile = { tokens = { ttl = 1 } }\n[[steps]]\ndo = \"add\"\n");
        assert_eq!((line, column, field.as_str()), (3, 24, "servers.main.profile.tokens.ttl"));
        assert!(message.contains("ttl"), "{message}");
    }

    #[test]
    fn every_expect_field_says_which_verbs_it_applies_to() {
        let mut every = Expect { max_requests: [(mock_server::Endpoint::Token, 1)].into(), ..Expect::default() };
        every.outcome = Some(super::super::OneOrAnyOf::AnyOf(Vec::new()));
        let written = serde_json::to_value(&every).unwrap();
        let mut fields: Vec<&str> = written.as_object().unwrap().keys().map(String::as_str).collect();
        let mut listed: Vec<&str> = EXPECT_FIELDS.iter().map(|(f, _)| *f).collect();
        fields.sort_unstable();
        listed.sort_unstable();
        assert_eq!(fields, listed);
    }

    #[test]
    fn together_groups_consecutive_steps_and_refuses_misuse() {
        let step = |verb: &str, label: &str| format!("[[steps]]\ndo = \"{verb}\"\ntogether = \"{label}\"\n");
        let add = "[[steps]]\ndo = \"add\"\n";
        let text = format!("{HEAD}{add}{}{}{}", step("list", "a"), step("import", "a"), step("list", "b"));
        let text = format!("{text}{}{add}", step("list", "b"));
        let scenario = parse("f.toml", "f", &text).unwrap();
        assert_eq!(scenario.rounds(), [0..1, 1..3, 3..5, 5..6]);

        let (line, column, field, message) = error(&format!("{HEAD}{add}{}{}", step("login", "a"), step("list", "a")));
        assert_eq!((line, column, field.as_str()), (7, 12, "steps[1].together"));
        assert!(message.contains("`login` cannot run together"), "{message}");

        let (line, _, field, message) =
            error(&format!("{HEAD}{add}{}{}{add}{}", step("list", "a"), step("import", "a"), step("list", "a")));
        assert_eq!((line, field.as_str()), (15, "steps[4].together"));
        assert!(message.contains("group `a` is steps[1]..steps[2] already"), "{message}");

        let (line, _, field, message) = error(&format!("{HEAD}{add}{}{add}", step("import", "alone")));
        assert_eq!((line, field.as_str()), (7, "steps[1].together"));
        assert!(message.contains("group `alone` has one step"), "{message}");
    }

    #[test]
    fn new_expectations_parse_and_apply() {
        let text = format!(
            "{HEAD}[[steps]]\ndo = \"add\"\n[[steps]]\ndo = \"login\"\nexpect = {{ outcome = [\"success\", \"failure\"], max_requests = {{ token = 1, registration = 0 }} }}\n[[steps]]\ndo = \"list\"\nexpect = {{ raw_status_contains = \"logged in\" }}\n"
        );
        let scenario = parse("f.toml", "f", &text).unwrap();
        assert_eq!(scenario.steps[1].expect.max_requests.len(), 2);
        assert!(scenario.steps[1].expect.outcome.as_ref().unwrap().allows(super::super::Outcome::Failure));
        let (line, _, field, message) = error(&format!(
            "{HEAD}[[steps]]\ndo = \"add\"\n[[steps]]\ndo = \"login\"\nexpect = {{ max_requests = {{ tokn = 1 }} }}\n"
        ));
        assert_eq!((line, field.as_str()), (7, "steps[1].expect.max_requests"));
        assert!(message.contains("unknown variant `tokn`") && message.contains("`token`"), "{message}");
    }

    #[test]
    fn misplaced_field_is_an_error() {
        let (_, _, field, _) = error(&format!("{HEAD}[[steps]]\ndo = \"list\"\ntool = \"echo\"\n"));
        assert_eq!(field, "steps[0].tool");
    }

    #[test]
    fn change_steps_take_an_action_or_knobs() {
        let s = parse("f.toml", "f", &format!("{HEAD}[[steps]]\ndo = \"change\"\naction = \"stop\"\n")).unwrap();
        assert_eq!(s.steps[0].change, Some(ServerChange::Action(ServerAction::Stop)));
        assert_eq!(s.steps[0].server, "main");
        let knobs = "[[steps]]\ndo = \"change\"\nprofile = { resource = { required_scopes = [\"a\"] } }\n";
        let s = parse("f.toml", "f", &format!("{HEAD}{knobs}")).unwrap();
        assert!(matches!(&s.steps[0].change, Some(ServerChange::Profile(t)) if t.contains_key("resource")));
        let (line, _, field, _) = error(&format!("{HEAD}[[steps]]\ndo = \"change\"\n"));
        assert_eq!((line, field.as_str()), (3, "steps[0].action"));
    }

    #[test]
    fn layout_knobs_in_a_change_step_are_errors_at_the_knob() {
        let (line, column, field, message) = error(&format!(
            "{HEAD}[[steps]]\ndo = \"change\"\nprofile = {{ authorization_server = {{ origin = \"separate\" }} }}\n"
        ));
        assert_eq!((line, column, field.as_str()), (5, 38, "steps[0].profile.authorization_server.origin"));
        assert!(message.contains("running server"), "{message}");
    }

    #[test]
    fn unknown_placeholders_are_errors_at_the_knob() {
        let text = "summary = \"s\"\n[servers.main]\n[servers.main.profile.resource_metadata]\nauthorization_servers = [\"{servers.nope.issuer}\"]\n[[steps]]\ndo = \"add\"\n";
        let (line, column, field, message) = error(text);
        assert_eq!(
            (line, column, field.as_str()),
            (4, 1, "servers.main.profile.resource_metadata.authorization_servers")
        );
        assert!(message.contains("no server `nope`") && message.contains("main"), "{message}");
        let (line, _, field, message) = error(&format!(
            "{HEAD}[[steps]]\ndo = \"change\"\nprofile = {{ authorization_server = {{ issuer_override = \"{{isuer}}\" }} }}\n"
        ));
        assert_eq!((line, field.as_str()), (5, "steps[0].profile.authorization_server.issuer_override"));
        assert!(message.contains("unknown placeholder `{isuer}`"), "{message}");
        let ok = "[servers.main.profile.resource_metadata]\nauthorization_servers = [\"{servers.other.issuer}\"]\n[servers.other]\n[[steps]]\ndo = \"add\"\nserver = \"main\"\n";
        assert!(parse("f.toml", "f", &format!("summary = \"s\"\n{ok}")).is_ok());
    }

    #[test]
    fn change_fields_on_other_verbs_are_misplaced() {
        let (_, _, field, message) = error(&format!("{HEAD}[[steps]]\ndo = \"login\"\naction = \"stop\"\n"));
        assert_eq!(field, "steps[0].action");
        assert!(message.contains("only change steps"), "{message}");
    }

    #[test]
    fn unknown_server_is_an_error() {
        let (_, _, field, message) = error(&format!("{HEAD}[[steps]]\ndo = \"add\"\nserver = \"other\"\n"));
        assert_eq!(field, "steps[0].server");
        assert!(message.contains("main"), "{message}");
    }

    #[test]
    fn a_good_file_resolves_defaults() {
        let s = parse(
            "f.toml",
            "f",
            &format!("{HEAD}preset = \"split-origin\"\n[[steps]]\ndo = \"add\"\n[[steps]]\ndo = \"login\"\n"),
        )
        .unwrap();
        assert_eq!(s.name, "f");
        assert_eq!(s.steps[1].entry, "main");
        assert_eq!(s.steps[1].browser, BrowserAction::Approve);
        assert_eq!(s.servers["main"].preset, Preset::SplitOrigin);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 10_000, ..Default::default() })]

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,400}") {
            let _ = parse("f.toml", "f", &text);
        }

        #[test]
        fn arbitrary_steps_never_panic(verb in "[a-z]{0,8}", key in "[a-z_]{1,10}", value in "[ -~]{0,12}") {
            let text = format!("{HEAD}[[steps]]\ndo = \"{verb}\"\n{key} = \"{}\"\n", value.replace(['"', '\\'], ""));
            if let Err(ScenarioError::Invalid { line, .. }) = parse("f.toml", "f", &text) {
                proptest::prop_assert!(line >= 1 && line <= text.lines().count() + 1);
            }
        }
    }
}
