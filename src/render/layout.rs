//! Decisions every target shares, so Terraform and Bicep lay out the same rules the same
//! way: rule collections per concern at fixed priority bands, NSG priority bands, the
//! comment and description of each rule, and the README's rule table.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::{Concern, Direction};
use crate::plan::{Plan, PlannedRule, RuleKind};
use crate::render::RenderError;
use crate::render::filters::{comment, markdown_cell};

/// Azure caps NSG rule descriptions at 140 characters; amlfw caps every description so.
const DESCRIPTION_LIMIT: usize = 140;

/// `from x.yaml (catalog 2026-03)`, plus the service tag file when addresses come from one:
/// the middle of every generated header.
pub(crate) fn origin(plan: &Plan, scenario_name: &str) -> String {
    match &plan.address_source {
        Some(source) => format!(
            "from {scenario_name} (catalog {}, {} change {})",
            plan.catalog, source.file, source.change_number
        ),
        None => format!("from {scenario_name} (catalog {})", plan.catalog),
    }
}

/// One firewall rule collection: its name, fixed priority and rules (sorted by id).
pub(crate) struct Collection<'p> {
    pub(crate) name: String,
    pub(crate) priority: u32,
    pub(crate) rules: Vec<&'p PlannedRule>,
}

/// Firewall rules of `kind` grouped by concern; band `base + 100 * (concern + 1)`, with
/// network collections from 1100 and application collections from 5100.
pub(crate) fn collections(plan: &Plan, kind: RuleKind) -> Vec<Collection<'_>> {
    let (label, base) = match kind {
        RuleKind::FirewallNetwork => ("network", 1000),
        _ => ("application", 5000),
    };
    let mut by_concern: BTreeMap<Concern, Vec<&PlannedRule>> = BTreeMap::new();
    for rule in plan.rules.iter().filter(|r| r.kind == kind) {
        by_concern.entry(rule.concern).or_default().push(rule);
    }
    by_concern
        .into_iter()
        .map(|(concern, rules)| Collection {
            name: format!(
                "{}-{label}-{}",
                plan.firewall.rule_collection_group,
                concern.as_str()
            ),
            priority: base + 100 * (concern.index() + 1),
            rules,
        })
        .collect()
}

/// NSG rules with their priorities: a band of 200 per concern, 10 apart inside it, counted
/// per region and direction, so a new rule moves only the later rules of its own concern.
pub(crate) fn nsg_rules(plan: &Plan) -> Result<Vec<(&PlannedRule, u32)>, RenderError> {
    let mut positions: BTreeMap<(Option<String>, Direction, Concern), u32> = BTreeMap::new();
    let mut rules = Vec::new();
    for rule in plan.rules.iter().filter(|r| r.kind == RuleKind::Nsg) {
        let position = positions
            .entry((rule.region.clone(), rule.direction, rule.concern))
            .or_insert(0);
        let priority = 100 + 200 * rule.concern.index() + 10 * *position;
        *position += 1;
        if *position > 20 || priority > 4096 {
            return Err(RenderError {
                template: "nsg".to_owned(),
                cause: format!(
                    "NSG priority band of concern `{}` overflows at rule `{}`",
                    rule.concern.as_str(),
                    rule.id
                ),
            });
        }
        rules.push((rule, priority));
    }
    Ok(rules)
}

/// The routes of the plan.
pub(crate) fn routes(plan: &Plan) -> Vec<&PlannedRule> {
    plan.rules
        .iter()
        .filter(|r| r.kind == RuleKind::Route)
        .collect()
}

/// `requirement: section; requirement: section`, the comment above a rule.
pub(crate) fn rule_comment(rule: &PlannedRule) -> String {
    let why: Vec<String> = rule
        .requirements
        .iter()
        .zip(&rule.sections)
        .map(|(id, section)| format!("{id}: {section}"))
        .collect();
    comment(&why.join("; "))
}

/// The purpose, cut to Azure's 140-character description limit.
pub(crate) fn description(purpose: &str) -> String {
    let purpose = comment(purpose);
    if purpose.chars().count() <= DESCRIPTION_LIMIT {
        return purpose;
    }
    let mut cut: String = purpose.chars().take(DESCRIPTION_LIMIT - 3).collect();
    cut.push_str("...");
    cut
}

/// What a generated README says about the rules, the same for every target.
#[derive(Debug, Clone, Serialize)]
pub struct Documentation {
    /// The rule table (Markdown), as `amlfw plan --format markdown` prints it.
    pub table: String,
    /// The plan's warnings.
    pub warnings: Vec<String>,
    /// Requirements that apply but produced no rule.
    pub skipped: Vec<String>,
}

/// One README table row.
struct ReadmeRow {
    /// Rule id.
    id: String,
    /// Where it lands: `network rule`, `application rule`, `NSG rule`, `route`.
    kind: String,
    /// Protocols and ports, or the next hop.
    traffic: String,
    /// Sources.
    sources: String,
    /// Destinations.
    destinations: String,
    /// Requirements with their article sections.
    why: String,
    /// Purpose.
    purpose: String,
}

/// The README content of `plan`.
pub(crate) fn documentation(plan: &Plan) -> Documentation {
    Documentation {
        table: rules_table(plan).trim_end().to_owned(),
        warnings: plan
            .warnings
            .iter()
            .map(|w| format!("`{}`: {}", w.code, w.message))
            .collect(),
        skipped: plan
            .skipped
            .iter()
            .map(|s| {
                format!(
                    "`{}` ({}): {}",
                    s.requirement,
                    s.workspaces.join(", "),
                    s.reason
                )
            })
            .collect(),
    }
}

/// The Markdown table of every rule: id, kind, traffic, sources, destinations, the
/// requirements with their article sections, and the purpose.
pub(crate) fn rules_table(plan: &Plan) -> String {
    let mut out = String::from(
        "| rule | kind | traffic | sources | destinations | requirements (article section) | purpose |\n|---|---|---|---|---|---|---|\n",
    );
    for row in plan.rules.iter().map(readme_row) {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            row.id,
            markdown_cell(&row.kind),
            markdown_cell(&row.traffic),
            markdown_cell(&row.sources),
            markdown_cell(&row.destinations),
            markdown_cell(&row.why),
            markdown_cell(&row.purpose)
        ));
    }
    out
}

fn readme_row(rule: &PlannedRule) -> ReadmeRow {
    let kind = match rule.kind {
        RuleKind::FirewallNetwork => "network rule",
        RuleKind::FirewallApplication => "application rule",
        RuleKind::Nsg => "NSG rule",
        RuleKind::Route => "route",
    };
    let traffic = match rule.kind {
        RuleKind::Route => format!("next hop {}", rule.next_hop.as_deref().unwrap_or("")),
        RuleKind::FirewallApplication => rule.application_protocols.join(", "),
        _ => format!("{} {}", rule.protocols.join(", "), rule.ports.join(", ")),
    };
    let tls = if rule.terminate_tls {
        " (TLS inspection)"
    } else {
        ""
    };
    ReadmeRow {
        id: rule.id.clone(),
        kind: format!("{kind}, {}", rule.direction.as_str()),
        traffic: format!("{traffic}{tls}"),
        sources: if rule.sources.is_empty() {
            "-".to_owned()
        } else {
            rule.sources.join(", ")
        },
        destinations: rule.destinations.join(", "),
        why: rule
            .requirements
            .iter()
            .zip(&rule.sections)
            .map(|(id, section)| format!("{id} ({section})"))
            .collect::<Vec<_>>()
            .join("; "),
        purpose: rule.purpose.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_fit_azure_limits() {
        let long = "x".repeat(200);
        assert_eq!(description(&long).chars().count(), 140);
        assert_eq!(description("short"), "short");
    }
}
