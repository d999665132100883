//! Each preset publishes metadata exactly where it says, and nowhere else.

mod common;

use common::{get_json, http};
use mock_server::{MockServer, Preset};
use serde_json::Value;

/// Every discovery URL a client might probe, relative to the resource and AS origins.
fn candidates(server: &MockServer) -> Vec<String> {
    let rs = server.uri().trim_end_matches("/mcp").to_owned();
    let issuer = url::Url::parse(&server.issuer()).unwrap();
    let as_origin = issuer.origin().ascii_serialization();
    let mut urls = vec![
        format!("{rs}/.well-known/oauth-protected-resource/mcp"),
        format!("{rs}/.well-known/oauth-protected-resource"),
        format!("{rs}/custom/metadata/location.json"),
        format!("{rs}/.well-known/oauth-authorization-server"),
        format!("{rs}/.well-known/openid-configuration"),
    ];
    for path in ["", "/tenant1"] {
        urls.push(format!("{as_origin}/.well-known/oauth-authorization-server{path}"));
        urls.push(format!("{as_origin}/.well-known/openid-configuration{path}"));
        urls.push(format!("{as_origin}{path}/.well-known/openid-configuration"));
    }
    urls.sort();
    urls.dedup();
    urls
}

/// The URLs the preset's knobs say should answer 200.
fn expected(server: &MockServer, preset: Preset) -> Vec<String> {
    let rs = server.uri().trim_end_matches("/mcp").to_owned();
    let p = preset.profile();
    let mut urls = Vec::new();
    use mock_server::profile::{MetadataDocument, MetadataLocation};
    match p.resource_metadata.location {
        MetadataLocation::PathInserted => urls.push(format!("{rs}/.well-known/oauth-protected-resource/mcp")),
        MetadataLocation::Root => urls.push(format!("{rs}/.well-known/oauth-protected-resource")),
        MetadataLocation::Custom => urls.push(format!("{rs}/custom/metadata/location.json")),
        MetadataLocation::None => {}
    }
    let issuer = url::Url::parse(&server.issuer()).unwrap();
    let origin = issuer.origin().ascii_serialization();
    let path = p.authorization_server.issuer_path.as_str();
    for doc in p.authorization_server.metadata {
        urls.push(match doc {
            MetadataDocument::Oauth => format!("{origin}/.well-known/oauth-authorization-server{path}"),
            MetadataDocument::Openid => format!("{origin}/.well-known/openid-configuration{path}"),
            MetadataDocument::OpenidAppended => format!("{origin}{path}/.well-known/openid-configuration"),
        });
    }
    urls.sort();
    urls.dedup();
    urls
}

#[tokio::test]
async fn metadata_is_served_only_where_each_preset_puts_it() {
    for preset in Preset::ALL {
        let server = MockServer::builder().preset(preset).start().await;
        let expected = expected(&server, preset);
        for url in candidates(&server) {
            let status = http().get(&url).send().await.unwrap().status().as_u16();
            let want = if expected.contains(&url) { 200 } else { 404 };
            assert_eq!(status, want, "{preset}: GET {url}");
        }
    }
}

#[tokio::test]
async fn split_origin_puts_the_issuer_on_another_port() {
    let server = MockServer::builder().preset(Preset::SplitOriginPathIssuer).start().await;
    let rs = url::Url::parse(&server.uri()).unwrap();
    let issuer = url::Url::parse(&server.issuer()).unwrap();
    assert_ne!(rs.port(), issuer.port());
    assert_eq!(issuer.path(), "/tenant1");
    let prm: Value =
        get_json(format!("{}/.well-known/oauth-protected-resource/mcp", rs.origin().ascii_serialization())).await;
    assert_eq!(prm["authorization_servers"][0], server.issuer());
    assert_eq!(prm["resource"], server.uri());
}

#[tokio::test]
async fn metadata_issuer_matches_unless_a_mismatch_is_injected() {
    for (preset, matches) in [(Preset::HappyPath, true), (Preset::IssuerMismatch, false)] {
        let server = MockServer::builder().preset(preset).start().await;
        let doc: Value = get_json(format!("{}/.well-known/oauth-authorization-server", server.issuer())).await;
        assert_eq!(doc["issuer"] == server.issuer(), matches, "{preset}");
    }
}

#[tokio::test]
async fn pkce_support_is_advertised_unless_the_preset_omits_it() {
    for (preset, advertised) in [(Preset::HappyPath, true), (Preset::PkceNotAdvertised, false)] {
        let server = MockServer::builder().preset(preset).start().await;
        let doc: Value = get_json(format!("{}/.well-known/oauth-authorization-server", server.issuer())).await;
        assert_eq!(doc.get("code_challenge_methods_supported").is_some(), advertised, "{preset}");
    }
}

#[tokio::test]
async fn authorization_endpoint_can_live_on_an_origin_of_its_own() {
    let profile = mock_server::Profile::happy_path()
        .with_overrides(&toml::from_str("[authorization_server]\nauthorize_origin = \"separate\"").unwrap())
        .unwrap();
    let server = MockServer::builder().profile(profile).start().await;
    let doc: Value = get_json(format!("{}/.well-known/oauth-authorization-server", server.issuer())).await;
    let endpoint = url::Url::parse(doc["authorization_endpoint"].as_str().unwrap()).unwrap();
    let issuer = url::Url::parse(&server.issuer()).unwrap();
    assert_ne!(endpoint.origin(), issuer.origin());
    let on_issuer = http().get(format!("{}/authorize", server.issuer())).send().await.unwrap();
    assert_eq!(on_issuer.status(), 404, "the issuer's origin no longer serves /authorize");
    let elsewhere = http().get(endpoint).send().await.unwrap();
    assert_eq!(elsewhere.status(), 400, "served there (and this bare request lacks client_id)");
}
