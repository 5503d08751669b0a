//! Least privilege: the last step of the planner refuses rules broader than any
//! requirement of the article can justify, whatever produced them (a custom catalog, a
//! scenario's subnets or extra hosts). Every finding is an error with a code, so `plan` and
//! `generate` stop and nothing broad is written.
//!
//! - `broad-destination`: a destination of everything (`*`, `0.0.0.0/0`, `::/0`,
//!   `Internet`), except the documented default route to the firewall;
//! - `any-port`: every port (`*`, `0-65535`, `1-65535`); the article's "ANY" is a
//!   protocol, never a port range;
//! - `any-source`: a source of everything (`*`, `0.0.0.0/0`, `::/0`, `Internet`).
//!
//! Host patterns need no check here: the scenario (`invalid-fqdn`) and the catalog loader
//! already refuse `*`, `*x.com` and wildcards over a top-level domain.

use crate::diagnostic::{Code, Diagnostic, Location};
use crate::plan::{Plan, PlannedRule, RuleKind};

const EVERYTHING: [&str; 5] = ["*", "0.0.0.0/0", "::/0", "Internet", "any"];

pub(super) fn lint(plan: &Plan) -> Vec<Diagnostic> {
    let mut findings = Vec::new();
    for rule in &plan.rules {
        let default_route =
            rule.kind == RuleKind::Route && rule.next_hop.as_deref() == Some("VirtualAppliance");
        for destination in &rule.destinations {
            if EVERYTHING
                .iter()
                .any(|e| e.eq_ignore_ascii_case(destination))
                && !default_route
            {
                findings.push(finding(
                    plan,
                    rule,
                    Code::BroadDestination,
                    format!("rule `{}` allows every destination (`{destination}`)", rule.id),
                    "no requirement of the article allows everything; check the catalog entries named above",
                ));
            }
        }
        for port in &rule.ports {
            if matches!(port.as_str(), "*" | "0-65535" | "1-65535") {
                findings.push(finding(
                    plan,
                    rule,
                    Code::AnyPort,
                    format!("rule `{}` allows every port (`{port}`)", rule.id),
                    "the article's ANY is a protocol, never a port range; give the ports the requirement names",
                ));
            }
        }
        for source in &rule.sources {
            if EVERYTHING.iter().any(|e| e.eq_ignore_ascii_case(source)) {
                findings.push(finding(
                    plan,
                    rule,
                    Code::AnySource,
                    format!("rule `{}` allows every source (`{source}`)", rule.id),
                    "compute_subnets are the address prefixes of the compute subnets, not the whole address space",
                ));
            }
        }
    }
    findings.sort_by(|a, b| (a.code, &a.message).cmp(&(b.code, &b.message)));
    findings.dedup();
    findings
}

fn finding(plan: &Plan, rule: &PlannedRule, code: Code, message: String, help: &str) -> Diagnostic {
    let requirements = rule.requirements.join(", ");
    Diagnostic::error(code, message)
        .at(Location {
            file: plan.scenario.clone(),
            path: format!(
                "rule from {requirements} (workspaces {})",
                rule.workspaces.join(", ")
            ),
            position: None,
        })
        .help(help)
}
