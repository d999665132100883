//! What the client keeps and reports: persisted logins, truthful status, imported tools.

use mock_server::Endpoint;

use super::{Check, CheckInfo, Clause, Outcome, Severity, fail, line, pass};
use crate::observation::{Observation, StepRecord};
use crate::revision::Revision;
use crate::scenario::{ExpireMode, ServerChange, Status, Verb};

pub fn checks() -> Vec<Check> {
    vec![
        Check {
            info: CheckInfo {
                id: "credentials-survive-restart",
                rule: "After a restart the client finds the login it stored: no new registration or authorization, and its status check sees the credentials.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Security Considerations, §Local clients as Public OAuth 2.1 Clients; openai/codex#20009",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Token Theft; OAuth-2.1 §7.1; openai/codex#20009",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Token Theft; OAuth-2.1 §7.1; openai/codex#20009",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 (security-considerations) §Token Theft; (client-registration) §Authorization Server Binding; openai/codex#20009",
                        severity: Severity::Harness,
                    },
                ],
            },
            evaluate: credentials_survive_restart,
        },
        Check {
            info: CheckInfo {
                id: "status-recognizes-oauth",
                rule: "Without a usable login, the status of a server that advertises OAuth never says `unsupported`.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Example: authorization code grant, §Server Metadata Discovery; openai/codex#20009",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Authorization Server Location; RFC9728 §5.1; openai/codex#20009",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Protected Resource Metadata Discovery Requirements; RFC9728 §5.1; openai/codex#20009",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 (authorization-server-discovery) §Protected Resource Metadata Discovery Requirements; RFC9728 §5.1; openai/codex#20009",
                        severity: Severity::Harness,
                    },
                ],
            },
            evaluate: status_recognizes_oauth,
        },
        Check {
            info: CheckInfo {
                id: "status-tells-truth",
                rule: "The status says logged in exactly when the server's tools are usable.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-AUTH-2025-03-26 §Error Handling, §Token Handling; openai/codex#20009",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-AUTH-2025-06-18 §Error Handling, §Token Handling; openai/codex#20009",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-AUTH-2025-11-25 §Error Handling, §Token Handling; openai/codex#20009",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-AUTH-2026-07-28 §Error Handling, §Token Handling; MCP-2026-07-28 §Server Features/Tools (tools/list); openai/codex#20009",
                        severity: Severity::Harness,
                    },
                ],
            },
            evaluate: status_tells_truth,
        },
        Check {
            info: CheckInfo {
                id: "tools-imported",
                rule: "A successful import holds exactly the server's tools, with their input schemas, in the client's registry.",
                clauses: &[
                    Clause {
                        since: Revision::V2025_03_26,
                        spec: "MCP-2025-03-26 §Server Features/Tools (tools/list) §Listing Tools; §Utilities/Pagination §Implementation Guidelines",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2025_06_18,
                        spec: "MCP-2025-06-18 §Server Features/Tools (tools/list) §Listing Tools; §Utilities/Pagination §Implementation Guidelines",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2025_11_25,
                        spec: "MCP-2025-11-25 §Server Features/Tools (tools/list) §Listing Tools; §Utilities/Pagination §Implementation Guidelines",
                        severity: Severity::Harness,
                    },
                    Clause {
                        since: Revision::V2026_07_28,
                        spec: "MCP-2026-07-28 §Server Features/Tools (tools/list) §Listing Tools, §x-mcp-header; §Utilities/Pagination §Implementation Guidelines",
                        severity: Severity::Harness,
                    },
                ],
            },
            evaluate: tools_imported,
        },
    ]
}

/// Whether a step ends a login's life (so later steps need a new one).
/// Whether a step ends the login a restart should keep: the user ends it, the harness revokes
/// every token, or the resource comes to name another authorization server — then the stored
/// login belongs to the old issuer and reusing it would be wrong (SEP-2352; the research's
/// restart-vs-binding reading).
fn ends_login(step: &StepRecord) -> bool {
    let moves_authorization_server = matches!(&step.step.change, Some(ServerChange::Profile(knobs))
        if mock_server::knob_settings(knobs).iter().any(|(path, _)| path == "resource_metadata.authorization_servers"));
    matches!(step.verb, Verb::Logout | Verb::Remove)
        || (step.verb == Verb::Expire && step.step.expire == ExpireMode::AllTokens)
        || moves_authorization_server
}

fn credentials_survive_restart(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    let mut judged = false;
    let mut logged_in = false;
    for (index, step) in run.steps.iter().enumerate() {
        match step.verb {
            Verb::Login => logged_in = step.succeeded(),
            _ if ends_login(step) => logged_in = false,
            Verb::Restart if logged_in => {
                let after: Vec<&StepRecord> =
                    run.steps[index + 1..].iter().take_while(|s| s.verb != Verb::Login && !ends_login(s)).collect();
                for later in &after {
                    judged = true;
                    for key in run.servers.keys() {
                        if let Some(again) = later
                            .exchanges(run, key)
                            .into_iter()
                            .find(|e| matches!(e.endpoint, Endpoint::Registration | Endpoint::Authorize))
                        {
                            return fail(
                                format!("{key}: after the restart the client registered or authorized again"),
                                vec![line(key, again)],
                            );
                        }
                    }
                    for status in
                        later.reply.statuses.iter().filter(|s| s.name == later.entry || later.verb == Verb::List)
                    {
                        evidence.push(format!(
                            "after restart: {} is {} (raw: {})",
                            status.name, status.normalized, status.raw
                        ));
                        if status.normalized == Status::NotLoggedIn || status.normalized == Status::Unsupported {
                            return fail(
                                format!(
                                    "after the restart the status check says {} for {}",
                                    status.normalized, status.name
                                ),
                                evidence,
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if judged { pass(evidence) } else { Outcome::NotApplicable }
}

fn status_recognizes_oauth(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    for step in run.steps.iter().filter(|s| s.verb == Verb::List) {
        // A server whose metadata a careful client must refuse gives no right answer to judge.
        let broken = run.servers.get(&step.server).is_some_and(|s| {
            s.profile.authorization_server.issuer_override.is_some()
                || s.profile.resource_metadata.resource_override.is_some()
        });
        if broken {
            continue;
        }
        for status in &step.reply.statuses {
            if status.normalized.claims_usable() {
                continue;
            }
            evidence.push(format!("{}: {} (raw: {})", status.name, status.normalized, status.raw));
            // `error` ("could not tell") is an honest answer; `unsupported` is the false one.
            if status.normalized == Status::Unsupported {
                return fail(
                    format!("status of {} is {} although the server advertises OAuth", status.name, status.normalized),
                    evidence,
                );
            }
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}

fn status_tells_truth(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    for (index, step) in run.steps.iter().enumerate() {
        if step.verb != Verb::List {
            continue;
        }
        // The truth is the next import of the same entry, with nothing in between that could
        // change it (other lists and restarts change nothing).
        let group = run.group_of(index).unwrap_or(index..index + 1);
        for status in &step.reply.statuses {
            // A status taken while an import or call of the same entry ran (`together`) speaks of
            // a login those steps were changing (a refresh, a revoked family): whether it came
            // before or after the change is not known, so it has no truth to be held to.
            let concurrent = run.steps[group.clone()]
                .iter()
                .any(|s| matches!(s.verb, Verb::Import | Verb::Call) && s.entry == status.name);
            if concurrent {
                continue;
            }
            let next = run.steps[index + 1..]
                .iter()
                .take_while(|s| matches!(s.verb, Verb::List | Verb::Restart | Verb::Import))
                .find(|s| s.verb == Verb::Import && s.entry == status.name && s.not_applicable.is_none());
            let Some(import) = next else { continue };
            // A client whose import logs in when it must (the MCP Inspector, mcp-remote) makes
            // the tools usable through a new login: the login the status spoke of was not.
            let relogged = !import.visits.is_empty();
            let usable = import.succeeded() && !relogged;
            evidence.push(format!(
                "{}: status {} (raw: {}); import {}",
                status.name,
                status.normalized,
                status.raw,
                match (import.succeeded(), relogged) {
                    (true, false) => "worked",
                    (true, true) => "worked after a new login in the browser",
                    (false, _) => "failed",
                }
            ));
            if status.normalized.claims_usable() != usable {
                let lie = if usable {
                    "says not logged in, yet tools are usable"
                } else {
                    "says logged in, yet tools are not usable"
                };
                return fail(format!("{}: the status {lie}", status.name), evidence);
            }
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}

fn tools_imported(run: &Observation) -> Outcome {
    let mut evidence = Vec::new();
    for step in run.steps.iter().filter(|s| s.verb == Verb::Import && s.succeeded()) {
        let Some(server) = run.servers.get(&step.server) else { continue };
        let got = step.reply.tools.clone().unwrap_or_default();
        let names =
            |tools: &[crate::client::ToolInfo]| tools.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", ");
        evidence.push(format!("{}: imported {}", step.entry, names(&got)));
        if !crate::client::same_tools(&got, &server.served_tools) {
            return fail(
                format!(
                    "{}: imported [{}], the server serves [{}]",
                    step.entry,
                    names(&got),
                    names(&server.served_tools)
                ),
                evidence,
            );
        }
        // Only a client that keeps a tool registry of its own is held to it.
        let registry = step.state.registry.iter().find(|e| e.name == step.entry);
        if let Some(held) = registry.and_then(|e| e.tools.as_ref()) {
            let mut held = held.clone();
            let mut names: Vec<String> = got.iter().map(|t| t.name.clone()).collect();
            held.sort();
            names.sort();
            if held != names {
                return fail(
                    format!("{}: the registry holds [{}] after import", step.entry, held.join(", ")),
                    evidence,
                );
            }
        }
    }
    if evidence.is_empty() { Outcome::NotApplicable } else { pass(evidence) }
}
