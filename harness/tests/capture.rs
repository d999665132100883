//! `capture`: a mock captured, written as a scenario, and that scenario's own mock captured again
//! give the same facts (ports aside), and the reference client's verdict on the scenario written
//! is its verdict on the original; hostile and malformed servers give clear errors; the parser of
//! what servers return takes arbitrary input without panicking.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any as any_method, get};
use mcp_auth_harness::capture::{self, Options, document, fetch::Limits, record, write};
use mcp_auth_harness::client::ReferenceClient;
use mcp_auth_harness::runner::{self, Verdict};
use mcp_auth_harness::{catalog, scenario};
use mock_server::{MockServer, Preset, Profile};
use proptest::prelude::*;

fn options() -> Options {
    Options { register: true, ..Options::default() }
}

/// Captures a mock of `profile`, writes the scenario, loads it as a user would, starts the mock
/// it describes and captures that: both captures must say the same.
async fn round_trip(what: &str, profile: &Profile) -> (capture::Captured, scenario::Scenario) {
    let original = MockServer::builder().profile(profile.clone()).start().await;
    let captured =
        capture::capture(&original.mcp_uris()[0], &options()).await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let loaded = scenario::parse(&format!("{what}.toml"), what, &captured.scenario)
        .unwrap_or_else(|e| panic!("{what}: the written scenario does not load: {e}\n{}", captured.scenario));
    let replayed = capture::replay(&loaded.servers["main"].profile, &options()).await.unwrap();
    assert_eq!(
        captured.capture.facts(),
        replayed.facts(),
        "{what}: the scenario's mock serves another layout:\n{}",
        captured.scenario
    );
    assert!(captured.unreproduced.is_empty(), "{what}: {:?}\n{}", captured.unreproduced, captured.scenario);
    assert!(!captured.scenario.contains(&original.uri()), "{what}: a port was written:\n{}", captured.scenario);
    (captured, loaded)
}

/// Machine clients (client credentials), enterprise identity providers and trusted workload
/// issuers are set up out of band: what a server says about them before login (a grant type in
/// its metadata) tells no layout a capture could write, so the extension presets are not captured.
fn out_of_band(profile: &Profile) -> bool {
    profile.enterprise_idp.enabled
        || profile.workload_identity.enabled
        || profile.authorization_server.preregistered_clients.iter().any(|c| c.client_credentials)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_preset_survives_the_round_trip() {
    for preset in Preset::ALL.into_iter().filter(|p| !out_of_band(&p.profile())) {
        round_trip(preset.name(), &preset.profile()).await;
    }
}

/// Every catalog server is captured; the reference client's verdicts are compared once per
/// distinct layout captured (a representative set: the layouts repeat across the catalog, and
/// the runs are the slow part).
#[tokio::test(flavor = "multi_thread")]
async fn every_catalog_server_survives_the_round_trip_with_the_same_reference_verdict() {
    let scenarios = scenario::load_dir(&catalog::default_dir()).unwrap();
    let mut layouts: Vec<Profile> = Vec::new();
    for original in &scenarios {
        for (key, server) in original.servers.iter().filter(|(_, s)| !out_of_band(&s.profile)) {
            let what = format!("{}.{key}", original.name);
            let (_, captured) = round_trip(&what, &server.profile).await;
            let layout = captured.servers["main"].profile.clone();
            // A scenario about several servers, or a server that changes, is about more than
            // the one layout captured.
            let single = original.servers.len() == 1 && original.steps.iter().all(|s| s.change.is_none());
            if !single || layouts.contains(&layout) {
                continue;
            }
            layouts.push(layout);
            let options = runner::RunOptions::default();
            let theirs = runner::run(original, Arc::new(ReferenceClient::new()), &options).await.unwrap();
            let ours = runner::run(&captured, Arc::new(ReferenceClient::new()), &options).await.unwrap();
            assert_eq!(ours.verdict(), theirs.verdict(), "{what}: the captured scenario is judged otherwise");
            assert_eq!(ours.verdict(), Verdict::Passed, "{what}: the positive control fails the captured scenario");
        }
    }
    assert!(layouts.len() >= 15, "{} distinct layouts judged", layouts.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_layout_a_client_must_refuse_is_written_with_a_failing_login() {
    let (captured, loaded) = round_trip("pkce", &Preset::PkceNotAdvertised.profile()).await;
    assert!(captured.scenario.contains("since = \"2025-11-25\""), "{}", captured.scenario);
    let login = loaded.steps.iter().find(|s| s.verb == scenario::Verb::Login).unwrap();
    assert!(format!("{:?}", login.expect.outcome).contains("Failure"), "{:?}", login.expect);
    let (captured, _) = round_trip("backcompat", &Preset::BackcompatNoMetadata.profile()).await;
    assert!(captured.scenario.contains("revision = \"2025-03-26\""), "{}", captured.scenario);
    // `--register` sees the AS put its own redirect URI in place of the client's.
    let profile = Profile::default()
        .with_overrides(
            &toml::from_str("[authorization_server]\nregistered_redirect_uri = \"http://client.example/cb\"").unwrap(),
        )
        .unwrap();
    let (captured, _) = round_trip("redirect", &profile).await;
    assert!(
        captured.scenario.contains("registered_redirect_uri = \"http://client.example/cb\""),
        "{}",
        captured.scenario
    );
    assert!(captured.scenario.contains("outcome = \"failure\""), "{}", captured.scenario);
}

#[tokio::test(flavor = "multi_thread")]
async fn what_no_knob_reproduces_is_listed_with_the_mocks_answer() {
    // A real-world oddity: the protected resource metadata names the origin, not the MCP URL.
    let app = Router::new()
        .route("/mcp", any_method(|| async { challenge("/.well-known/oauth-protected-resource/mcp") }))
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            get(|axum::extract::State(origin): axum::extract::State<String>| async move {
                axum::Json(serde_json::json!({ "resource": origin, "authorization_servers": [origin], "resource_name": "odd" }))
            }),
        );
    let (url, _server) = serve(app).await;
    let captured = capture::capture(&url, &Options::default()).await.unwrap();
    let text = &captured.scenario;
    // The origin instead of the MCP URL is reproduced with a placeholder, and refused by the spec.
    assert!(text.contains("resource_override = \"{resource_origin}\""), "{text}");
    assert!(text.contains("outcome = \"failure\""), "{text}");
    assert!(text.contains("-   resource_name: \"odd\""), "the member the mock leaves out: {text}");
    assert!(text.contains("Not reproduced"), "{text}");
}

/// A 401 whose challenge names `path` (relative: RFC 9728 wants a URL, and lenient clients
/// resolve it against the MCP URL, as capture does).
fn challenge(path: &str) -> Response {
    let header = format!("Bearer resource_metadata=\"{path}\"");
    (axum::http::StatusCode::UNAUTHORIZED, [("www-authenticate", header)]).into_response()
}

/// Serves `app` on loopback with its own origin as state; the MCP URL and the task.
async fn serve(app: Router<String>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let app = app.with_state(origin.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("{origin}/mcp"), task)
}

async fn capture_error(url: &str, timeout: Duration) -> String {
    let options = Options { limits: Limits { timeout, ..Limits::default() }, register: false };
    match capture::capture(url, &options).await {
        Ok(captured) => panic!("{url}: captured instead of an error:\n{}", captured.scenario),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_and_malformed_servers_give_clear_errors() {
    let huge = "x".repeat(2 << 20);
    let app = Router::new()
        .route("/mcp", any_method(|| async { challenge("/huge") }))
        .route("/huge", get(move || async move { huge }));
    let (url, _a) = serve(app).await;
    let error = capture_error(&url, Duration::from_secs(10)).await;
    assert!(error.contains("/huge: the answer is larger than 1048576 bytes"), "{error}");

    let app = Router::new().route("/mcp", any_method(|| async { Redirect::temporary("http://127.0.0.2:9/mcp") }));
    let (url, _b) = serve(app).await;
    let error = capture_error(&url, Duration::from_secs(10)).await;
    assert!(error.contains("redirects to another origin (http://127.0.0.2:9/mcp); not followed"), "{error}");

    let app = Router::new()
        .route("/mcp", any_method(|| async { challenge("/a") }))
        .route("/a", get(|| async { Redirect::temporary("/b") }))
        .route("/b", get(|| async { Redirect::temporary("/a") }));
    let (url, _c) = serve(app).await;
    let error = capture_error(&url, Duration::from_secs(10)).await;
    assert!(error.contains("GET: redirect loop: ") && error.ends_with("/a"), "{error}");

    let app = Router::new().route(
        "/mcp",
        any_method(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            challenge("/x")
        }),
    );
    let (url, _d) = serve(app).await;
    let error = capture_error(&url, Duration::from_millis(300)).await;
    assert!(error.contains("POST") && error.contains("no answer within"), "{error}");

    let app = Router::new().route("/mcp", any_method(|| async { axum::response::Html("<html>blog</html>") }));
    let (url, _e) = serve(app).await;
    let error = capture_error(&url, Duration::from_secs(10)).await;
    assert!(error.contains("is not an MCP server: POST initialize without a token got 200 (text/html)"), "{error}");

    let app = Router::new().route(
        "/mcp",
        any_method(|| async { axum::Json(serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {}})) }),
    );
    let (url, _f) = serve(app).await;
    let error = capture_error(&url, Duration::from_secs(10)).await;
    assert!(error.contains("needs no authorization"), "{error}");

    // TLS spoken to a plain-HTTP listener.
    let tls_url = url.replacen("http://", "https://", 1);
    let error = capture_error(&tls_url, Duration::from_secs(10)).await;
    assert!(error.contains("TLS failed"), "{error}");

    let error = capture_error("http://127.0.0.1:9/mcp", Duration::from_secs(10)).await;
    assert!(error.contains("cannot connect"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_that_are_not_json_are_recorded_as_such() {
    let app = Router::new()
        .route("/mcp", any_method(|| async { challenge("/.well-known/oauth-protected-resource/mcp") }))
        .route("/.well-known/oauth-protected-resource/mcp", get(|| async { "{\"resource\": " }))
        .route(
            "/.well-known/oauth-protected-resource",
            get(|| async { Redirect::temporary("http://127.0.0.2:9/prm") }),
        );
    let (url, _server) = serve(app).await;
    let captured = capture::capture(&url, &Options::default()).await.unwrap();
    let facts = captured.capture.facts().join("\n");
    assert!(facts.contains("not a document: not JSON: EOF while parsing a value at line 1, column 13"), "{facts}");
    assert!(facts.contains("redirected to another origin, not followed: {redirect}/prm"), "{facts}");
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_says_how_a_live_server_changed_since_the_capture() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("captured.toml");
    let before = MockServer::builder().preset(Preset::SplitOrigin).start().await;
    let captured = capture::capture(&before.mcp_uris()[0], &Options::default()).await.unwrap();
    std::fs::write(&file, &captured.scenario).unwrap();
    assert_eq!(write::facts_in(&captured.scenario).unwrap(), captured.capture.facts());

    let same = MockServer::builder().preset(Preset::SplitOrigin).start().await;
    let changed = MockServer::builder()
        .profile(
            Preset::SplitOrigin
                .profile()
                .with_overrides(&toml::from_str("[authorization_server]\nadvertise_pkce = false").unwrap())
                .unwrap(),
        )
        .start()
        .await;
    for (mock, expected_code) in [(&same, 0), (&changed, 1)] {
        let url = mock.mcp_uris()[0].clone();
        let file = file.clone();
        let out = tokio::task::spawn_blocking(move || {
            assert_cmd::Command::cargo_bin("mcp-auth-harness")
                .unwrap()
                .args(["capture", "--diff", &url])
                .arg(&file)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(expected_code), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        if expected_code == 1 {
            assert!(stdout.contains("@ GET {issuer}/.well-known/oauth-authorization-server"), "{stdout}");
            assert!(stdout.contains("-   code_challenge_methods_supported: [\"S256\"]"), "{stdout}");
        } else {
            assert!(stdout.contains("no difference"), "{stdout}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_writes_a_file_and_exits_2_with_the_reason_on_errors() {
    let mock = MockServer::builder().preset(Preset::SplitOriginPathIssuer).start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.toml");
    let (url, out_file) = (mock.mcp_uris()[0].clone(), file.clone());
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = assert_cmd::Command::cargo_bin("mcp-auth-harness").unwrap();
        let written = cmd.args(["capture", &url, "--out"]).arg(&out_file).output().unwrap();
        let refused = assert_cmd::Command::cargo_bin("mcp-auth-harness")
            .unwrap()
            .args(["capture", "http://127.0.0.1:9/mcp", "--timeout", "1"])
            .output()
            .unwrap();
        (written, refused)
    })
    .await
    .unwrap();
    assert_eq!(out.0.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.0.stderr));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("issuer_path = \"/tenant1\"") && text.contains("origin = \"separate\""), "{text}");
    assert_eq!(out.1.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.1.stderr);
    assert!(stderr.starts_with("error: POST http://127.0.0.1:9/mcp: cannot connect"), "{stderr}");
}

/// The official suite's own scenario servers, captured through its client contract (the capture
/// command is its "client"), agree with the files kept in `tests/fixtures/captured/` (`BLESS=1`
/// rewrites them; the README quotes them).
#[test]
fn the_official_suites_servers_captured() {
    if let Err(why) = mcp_auth_harness::client::ManifestClient::built_in()[0].availability() {
        eprintln!("skipped: the pinned npm packages cannot be installed here: {why}");
        return;
    }
    let binary = assert_cmd::cargo::cargo_bin("mcp-auth-harness");
    let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/captured");
    let work = tempfile::tempdir().unwrap();
    let mut theirs: Vec<&str> = mcp_auth_harness::client::CONTRACT_SCENARIO_NAMES.iter().map(|(_, t)| *t).collect();
    theirs.push("auth/metadata-default");
    theirs.sort_unstable();
    theirs.dedup();
    for scenario in theirs {
        let name = scenario.replace('/', "-");
        let file = work.path().join(format!("{name}.toml"));
        let command = format!("{} capture --register --out {}", binary.display(), file.display());
        let output = mcp_auth_harness::official_suite::serve_official(&command, scenario, work.path()).unwrap();
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!("{scenario}: nothing captured ({e}): {}", String::from_utf8_lossy(&output.stderr))
        });
        scenario::parse(&name, &name, &text).unwrap_or_else(|e| panic!("{scenario}: {e}\n{text}"));
        let kept_file = kept.join(format!("{name}.toml"));
        if std::env::var_os("BLESS").is_some() {
            std::fs::create_dir_all(&kept).unwrap();
            std::fs::write(&kept_file, &text).unwrap();
        } else {
            let before = std::fs::read_to_string(&kept_file).unwrap_or_default();
            assert_eq!(text, before, "{scenario}: the capture changed (BLESS=1 to accept, then review the diff)");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    /// Any bytes: a JSON object or a typed error naming where the JSON broke, never a panic.
    #[test]
    fn any_body_is_read_or_refused_without_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        match document::json_object(&body) {
            Ok(object) => {
                document::ResourceMetadata::read(&object);
                document::AuthorizationServerMetadata::read(&object);
            }
            Err(document::NotADocument::Invalid { line, column, .. }) => prop_assert!(line >= 1 && column <= body.len() + 1),
            Err(_) => {}
        }
    }

    /// Any JSON object with the members a client reads, of any type.
    #[test]
    fn any_metadata_members_are_read_without_panic(value in json_value(), member in "(issuer|resource|authorization_servers|scopes_supported|code_challenge_methods_supported|token_endpoint_auth_methods_supported|authorization_response_iss_parameter_supported|registration_endpoint)") {
        let object = serde_json::Map::from_iter([(member, value)]);
        let text = serde_json::to_vec(&object).unwrap();
        let read = document::json_object(&text).unwrap();
        let prm = document::ResourceMetadata::read(&read);
        let asm = document::AuthorizationServerMetadata::read(&read);
        prop_assert!(prm.problems.len() + asm.problems.len() <= 2);
    }

    /// Any text: labelling origins never panics and leaves text without the origin unchanged.
    #[test]
    fn labelling_any_text_never_panics(text in ".{0,80}") {
        let table = vec![("http://127.0.0.1:8".to_owned(), "mcp".to_owned())];
        let labelled = record::label_origins(&text, &table);
        if !text.contains("http://127.0.0.1:8") {
            prop_assert_eq!(labelled, text);
        }
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        ".{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Any combination of the knobs a capture can see: captured, written, replayed, the same facts.
fn visible_knobs() -> impl Strategy<Value = Profile> {
    let resource = (
        prop::sample::select(vec!["path-inserted", "root", "custom", "none"]),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec!["mcp:read", "openid profile"])),
        prop::sample::select(vec!["/mcp", "/v1/mcp", "/x.y_z-1"]),
        prop::option::of(Just("https://elsewhere.example/mcp")),
    );
    let authorization_server = (
        prop::sample::select(vec!["same", "separate"]),
        prop::sample::select(vec!["", "/tenant1", "/a/b"]),
        prop::sample::select(vec!["issuer", "separate"]),
        prop::sample::subsequence(vec!["oauth", "openid", "openid-appended"], 0..=3),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        prop::sample::subsequence(vec!["none", "client_secret_basic", "client_secret_post"], 1..=3),
        prop::option::of(Just("https://issuer.example")),
    );
    (resource, authorization_server).prop_map(|((location, in_challenge, scope, path, resource), asv)| {
        let (origin, issuer_path, authorize, metadata, (pkce, iss, dcr, cimd), methods, issuer) = asv;
        let mut knobs = toml::Table::new();
        let mut r = toml::Table::new();
        r.insert("paths".into(), toml::Value::Array(vec![path.into()]));
        if let Some(scope) = scope {
            r.insert("challenge_scope".into(), scope.into());
        }
        let mut m = toml::Table::new();
        m.insert("location".into(), location.into());
        m.insert("in_challenge".into(), in_challenge.into());
        if let Some(resource) = resource {
            m.insert("resource_override".into(), resource.into());
        }
        let mut a = toml::Table::new();
        a.insert("origin".into(), origin.into());
        a.insert("issuer_path".into(), issuer_path.into());
        a.insert("authorize_origin".into(), authorize.into());
        a.insert("metadata".into(), toml::Value::Array(metadata.into_iter().map(Into::into).collect()));
        a.insert("advertise_pkce".into(), pkce.into());
        a.insert("iss_parameter".into(), if iss { "correct" } else { "not-advertised" }.into());
        a.insert("dynamic_registration".into(), dcr.into());
        a.insert("client_id_metadata_documents".into(), cimd.into());
        a.insert(
            "token_endpoint_auth_methods".into(),
            toml::Value::Array(methods.into_iter().map(Into::into).collect()),
        );
        if let Some(issuer) = issuer {
            a.insert("issuer_override".into(), issuer.into());
        }
        knobs.insert("resource".into(), toml::Value::Table(r));
        knobs.insert("resource_metadata".into(), toml::Value::Table(m));
        knobs.insert("authorization_server".into(), toml::Value::Table(a));
        Profile::default().with_overrides(&knobs).unwrap()
    })
}

proptest! {
    // Each case starts three mocks and captures them: a few dozen cover the combinations.
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_visible_layout_survives_the_round_trip(profile in visible_knobs()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        runtime.block_on(round_trip("generated", &profile));
    }
}
