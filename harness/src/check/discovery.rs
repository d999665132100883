//! Discovery: protected resource metadata, authorization server metadata, and refusing metadata
//! that does not describe what it claims to.

use mock_server::profile::MetadataLocation;
use mock_server::{Endpoint, Exchange};

use super::{Check, CheckInfo, Clause, Outcome, Severity, fail, line, pass, proceeded};
use crate::observation::{Observation, ServerRecord};
use crate::revision::Revision;

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            info: CheckInfo {
                id: "prm-discovery",
                rule: "The client reads protected resource metadata before authorizing: from the challenge's resource_metadata when given, else path-inserted before root well-known URL.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Overview, §Authorization Server Location; RFC9728 §5.1",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Protected Resource Metadata Discovery Requirements; RFC9728 §5.1",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 (authorization-server-discovery) §Protected Resource Metadata Discovery Requirements; RFC9728 §5.1",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: prm_discovery,
        },
        Check {
            info: CheckInfo {
                id: "as-metadata-discovery",
                rule: "The client finds authorization server metadata at the issuer's well-known URLs, in the spec's order (RFC 8414 first, then OpenID Connect).",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Server Metadata Discovery, §Authorization Base URL; RFC8414 §3",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Overview, §Server Metadata Discovery; RFC8414 §3.1",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Authorization Server Metadata Discovery; RFC8414 §3.1",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 (authorization-server-discovery) §Authorization Server Metadata Discovery; RFC8414 §3.1",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: as_metadata_discovery,
        },
        Check {
            info: CheckInfo {
                id: "issuer-validated",
                rule: "The client does not use authorization server metadata whose issuer differs from the issuer it was looked up for.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Server Metadata Discovery; RFC8414 §3.3",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Server Metadata Discovery; RFC8414 §3.3",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Overview, §Authorization Server Metadata Discovery; RFC8414 §3.3; OIDC-Discovery §4.3",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 (authorization-server-discovery) §Authorization Server Metadata Discovery; RFC8414 §3.3",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: issuer_validated,
        },
        Check {
            info: CheckInfo {
                id: "resource-metadata-validated",
                rule: "The client does not authorize against protected resource metadata whose resource is another server.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Overview, §Authorization Server Location; RFC9728 §3.3",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Overview, §Authorization Server Discovery Sequence Diagram; RFC9728 §3.3",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 §Overview; (authorization-server-discovery) §Sequence Diagram; RFC9728 §3.3",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: resource_metadata_validated,
        },
        Check {
            info: CheckInfo {
                id: "no-guessed-endpoints",
                rule: "The client sends OAuth requests only to endpoints the authorization server's metadata names (or, without metadata, the 2025-03-26 defaults the server serves); it never invents one.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Server Metadata Discovery, §Fallbacks for Servers without Metadata Discovery; RFC8414 §3.2",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Overview, §Server Metadata Discovery; RFC8414 §3.2",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Overview, §Authorization Server Metadata Discovery, §Client Registration Approaches; RFC8414 §3.2",
                        severity: Severity::Must,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 §Overview; (authorization-server-discovery) §Authorization Server Metadata Discovery; (client-registration) §Client Registration; RFC8414 §3.2",
                        severity: Severity::Must,
                    },
                ],
            },
            evaluate: no_guessed_endpoints,
        },
    ]
}

/// The last path segments of OAuth endpoints a careless client guesses at.
const GUESSED: &[&str] = &["authorize", "token", "register", "revoke", "revocation"];

fn no_guessed_endpoints(run: &Observation) -> Outcome {
    let mut used = Vec::new();
    for (key, exchange) in super::all_exchanges(run) {
        // The mock serves every endpoint it advertises (and the 2025-03-26 defaults when it
        // publishes no metadata); anything else it answers 404 as `NotFound`.
        let last = exchange.path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
        // A fallback endpoint answers, but no metadata names it: calling it is a guess too.
        let unadvertised = exchange.endpoint == Endpoint::Fallback
            || (exchange.endpoint == Endpoint::NotFound && GUESSED.contains(&last));
        if unadvertised {
            return fail(
                format!("{key}: {} {} is no endpoint the server advertised", exchange.method, exchange.path),
                vec![line(key, exchange)],
            );
        }
        if matches!(exchange.endpoint, Endpoint::Authorize | Endpoint::Token | Endpoint::Registration) {
            used.push(line(key, exchange));
        }
    }
    if used.is_empty() { Outcome::NotApplicable } else { pass(Vec::new()) }
}

/// Where `exchange` asked for protected resource metadata, if it did.
fn is_prm_probe(exchange: &Exchange, server: &ServerRecord) -> bool {
    exchange.method == "GET"
        && (exchange.path.starts_with("/.well-known/oauth-protected-resource")
            || exchange.path == server.profile.resource_metadata.custom_path)
}

fn prm_discovery(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    let mut judged = false;
    for (key, server) in &run.servers {
        let exchanges = &server.exchanges;
        let Some(first_step) = proceeded(exchanges) else { continue };
        let rm = &server.profile.resource_metadata;
        // A server whose MCP endpoint the client never called, while it called another's, lent
        // its authorization server to that resource: the metadata was read there. A client that
        // calls no MCP endpoint at all before authorizing is judged: it skipped discovery.
        let called = |s: &ServerRecord| s.exchanges.iter().any(|e| e.endpoint == Endpoint::Mcp);
        let lent = !called(server) && run.servers.iter().any(|(other, s)| other != key && called(s));
        if rm.location == MetadataLocation::None || lent {
            continue;
        }
        judged = true;
        let before: Vec<&Exchange> = exchanges.iter().filter(|e| e.seq < first_step.seq).collect();
        let probes: Vec<&&Exchange> = before.iter().filter(|e| is_prm_probe(e, server)).collect();
        evidence.extend(probes.iter().map(|e| line(key, e)));
        let Some(found) = probes.iter().find(|e| e.status == 200) else {
            return fail(
                format!(
                    "{key}: the client went on to {:?} without reading protected resource metadata",
                    first_step.endpoint
                ),
                vec![line(key, first_step)],
            );
        };
        let mcp_path = url::Url::parse(&server.mcp_uri).map(|u| u.path().to_owned()).unwrap_or_default();
        let inserted = format!("/.well-known/oauth-protected-resource{mcp_path}");
        let root = "/.well-known/oauth-protected-resource";
        if rm.in_challenge {
            // The challenge named the document: that URL comes first.
            if probes[0].path != found.path {
                return fail(
                    format!("{key}: the challenge named {} but the client first probed {}", found.path, probes[0].path),
                    evidence,
                );
            }
        } else {
            let first_inserted = probes.iter().position(|e| e.path == inserted);
            let first_root = probes.iter().position(|e| e.path == root);
            if let (Some(i), Some(r)) = (first_inserted, first_root)
                && r < i
            {
                return fail(
                    format!("{key}: the root well-known URL was probed before the path-inserted one"),
                    evidence,
                );
            }
            if first_root.is_some() && first_inserted.is_none() && mcp_path != "/" {
                return fail(
                    format!("{key}: the client probed the root well-known URL without trying {inserted} first"),
                    evidence,
                );
            }
        }
    }
    if judged { pass(evidence) } else { Outcome::NotApplicable }
}

/// The metadata URLs for an issuer path, in the order the spec says to try them.
fn metadata_order(issuer_path: &str) -> Vec<String> {
    if issuer_path.is_empty() {
        vec!["/.well-known/oauth-authorization-server".into(), "/.well-known/openid-configuration".into()]
    } else {
        vec![
            format!("/.well-known/oauth-authorization-server{issuer_path}"),
            format!("/.well-known/openid-configuration{issuer_path}"),
            format!("{issuer_path}/.well-known/openid-configuration"),
        ]
    }
}

fn is_as_metadata_probe(exchange: &Exchange) -> bool {
    exchange.method == "GET"
        && (exchange.path.contains("/.well-known/oauth-authorization-server")
            || exchange.path.contains("/.well-known/openid-configuration"))
}

fn as_metadata_discovery(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    let mut judged = false;
    for (key, server) in &run.servers {
        // Judged only once the client knows the issuer from protected resource metadata; before
        // that (2025-03-26 servers) it can only guess from the MCP URL.
        let Some(prm) = server.exchanges.iter().find(|e| e.endpoint == Endpoint::ResourceMetadata && e.status == 200)
        else {
            continue;
        };
        let issuer_origin = url::Url::parse(&server.issuer).map(|u| u.origin()).ok();
        let on_as = |e: &Exchange| {
            let as_separate = server.profile.authorization_server.origin == mock_server::profile::AsOrigin::Separate;
            as_separate == (e.origin == mock_server::Origin::AuthorizationServer)
        };
        let probes: Vec<&Exchange> =
            server.exchanges.iter().filter(|e| e.seq > prm.seq && is_as_metadata_probe(e) && on_as(e)).collect();
        if probes.is_empty() || issuer_origin.is_none() {
            continue;
        }
        judged = true;
        let order = metadata_order(server.profile.authorization_server.issuer_path.trim_end_matches('/'));
        evidence.extend(probes.iter().map(|e| line(key, e)));
        let mut last = None;
        for probe in &probes {
            let Some(rank) = order.iter().position(|p| *p == probe.path) else {
                if probe.status == 200 {
                    return fail(
                        format!(
                            "{key}: metadata used from {}, which is not a discovery URL for issuer {}",
                            probe.path, server.issuer
                        ),
                        evidence,
                    );
                }
                // A stray probe after the spec's list is tolerated; one before it is out of order.
                if last.is_none() {
                    return fail(
                        format!(
                            "{key}: probed {} before the spec's discovery URLs for issuer {}",
                            probe.path, server.issuer
                        ),
                        evidence,
                    );
                }
                continue;
            };
            if last.is_some_and(|l| rank < l) {
                return fail(
                    format!("{key}: {} was probed after a URL that comes later in the spec's order", probe.path),
                    evidence,
                );
            }
            last = Some(rank);
            if probe.status == 200 {
                break;
            }
        }
        if !probes.iter().any(|p| p.status == 200)
            && let Some(untried) = order.iter().find(|path| !probes.iter().any(|p| p.path == **path))
        {
            return fail(format!("{key}: gave up on issuer {} without trying {untried}", server.issuer), evidence);
        }
    }
    if judged { pass(evidence) } else { Outcome::NotApplicable }
}

fn refused_after(run: &Observation, applies: fn(&ServerRecord) -> bool, what: &str) -> Outcome {
    let mut judged = false;
    for (key, server) in &run.servers {
        if !applies(server) {
            continue;
        }
        judged = true;
        if let Some(step) = proceeded(&server.exchanges) {
            return fail(
                format!("{key}: the client went on to {:?} despite {what}", step.endpoint),
                vec![line(key, step)],
            );
        }
    }
    if judged { pass(Vec::new()) } else { Outcome::NotApplicable }
}

fn issuer_validated(run: &Observation) -> Outcome {
    refused_after(run, |s| s.profile.authorization_server.issuer_override.is_some(), "metadata naming another issuer")
}

fn resource_metadata_validated(run: &Observation) -> Outcome {
    refused_after(run, |s| s.profile.resource_metadata.resource_override.is_some(), "metadata naming another resource")
}
