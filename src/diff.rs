//! Semantic differences, for reviewers: between two plans (`amlfw diff`) and between two
//! article revisions of the catalog (`amlfw catalog diff`). Pure: no I/O.
//!
//! Rules are matched by id (ids are derived from requirement ids, so a rule keeps its id
//! when its destinations or ports change); each change names the requirements and article
//! sections behind it, so a pull-request reviewer can see why a firewall rule moved.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::catalog::{Catalog, Cloud, CloudEndpoints, Endpoint, PerCloud, Requirement};
use crate::plan::{Plan, PlannedRule};
use crate::render::filters::markdown_cell;

/// How two plans differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanDiff {
    /// A label for the old side (file or revision).
    pub old: String,
    /// A label for the new side.
    pub new: String,
    /// Rules only in the new plan.
    pub added: Vec<PlannedRule>,
    /// Rules only in the old plan.
    pub removed: Vec<PlannedRule>,
    /// Rules in both whose traffic changed.
    pub changed: Vec<ChangedRule>,
}

/// A rule present on both sides with different traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedRule {
    /// Rule id.
    pub id: String,
    /// Rule kind (`firewall-network`, ...).
    pub kind: String,
    /// What changed.
    pub changes: Vec<FieldChange>,
    /// The requirements behind the new rule.
    pub requirements: Vec<String>,
    /// Their article sections.
    pub sections: Vec<String>,
}

/// One changed field: the values that left and the values that came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// `destinations`, `ports`, `sources`, `protocols`, `next_hop`, `requirements`...
    pub field: String,
    /// Values only in the old rule.
    pub removed: Vec<String>,
    /// Values only in the new rule.
    pub added: Vec<String>,
}

impl PlanDiff {
    /// Compares two plans rule by rule.
    #[must_use]
    pub fn new(old_label: &str, old: &Plan, new_label: &str, new: &Plan) -> PlanDiff {
        let key = |rule: &PlannedRule| (rule.kind, rule.id.clone());
        let old_rules: BTreeMap<_, &PlannedRule> = old.rules.iter().map(|r| (key(r), r)).collect();
        let new_rules: BTreeMap<_, &PlannedRule> = new.rules.iter().map(|r| (key(r), r)).collect();
        let mut diff = PlanDiff {
            old: old_label.to_owned(),
            new: new_label.to_owned(),
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
        };
        for (k, rule) in &new_rules {
            match old_rules.get(k) {
                None => diff.added.push((*rule).clone()),
                Some(before) => {
                    let changes = field_changes(before, rule);
                    if !changes.is_empty() {
                        diff.changed.push(ChangedRule {
                            id: rule.id.clone(),
                            kind: rule.kind.as_str().to_owned(),
                            changes,
                            requirements: rule.requirements.clone(),
                            sections: rule.sections.clone(),
                        });
                    }
                }
            }
        }
        diff.removed = old_rules
            .iter()
            .filter(|(k, _)| !new_rules.contains_key(*k))
            .map(|(_, rule)| (*rule).clone())
            .collect();
        diff
    }

    /// True when nothing differs.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// One line per change.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = format!("# amlfw diff: {} -> {}\n", self.old, self.new);
        let _ = writeln!(
            out,
            "# {} added, {} removed, {} changed",
            self.added.len(),
            self.removed.len(),
            self.changed.len()
        );
        for rule in &self.added {
            let _ = writeln!(
                out,
                "+ {} {} {}  [{}]",
                rule.kind.as_str(),
                rule.id,
                summary(rule),
                why(rule)
            );
        }
        for rule in &self.removed {
            let _ = writeln!(
                out,
                "- {} {} {}  [{}]",
                rule.kind.as_str(),
                rule.id,
                summary(rule),
                why(rule)
            );
        }
        for change in &self.changed {
            let what: Vec<String> = change.changes.iter().map(describe_change).collect();
            let _ = writeln!(
                out,
                "~ {} {}: {}  [{}]",
                change.kind,
                change.id,
                what.join("; "),
                why_of(&change.requirements, &change.sections)
            );
        }
        out
    }

    /// A Markdown table fit for a pull-request comment.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "**amlfw diff** `{}` → `{}`: {} added, {} removed, {} changed\n\n",
            markdown_cell(&self.old),
            markdown_cell(&self.new),
            self.added.len(),
            self.removed.len(),
            self.changed.len()
        );
        if self.is_empty() {
            out.push_str("No rule changes.\n");
            return out;
        }
        out.push_str("| change | rule | kind | what | requirements (article section) |\n|---|---|---|---|---|\n");
        let mut row = |change: &str, id: &str, kind: &str, what: &str, why: &str| {
            let _ = writeln!(
                out,
                "| {change} | `{}` | {kind} | {} | {} |",
                markdown_cell(id),
                markdown_cell(what),
                markdown_cell(why)
            );
        };
        for rule in &self.added {
            row(
                "added",
                &rule.id,
                rule.kind.as_str(),
                &summary(rule),
                &why(rule),
            );
        }
        for rule in &self.removed {
            row(
                "removed",
                &rule.id,
                rule.kind.as_str(),
                &summary(rule),
                &why(rule),
            );
        }
        for change in &self.changed {
            let what: Vec<String> = change.changes.iter().map(describe_change).collect();
            row(
                "changed",
                &change.id,
                &change.kind,
                &what.join("; "),
                &why_of(&change.requirements, &change.sections),
            );
        }
        out
    }

    /// The JSON form, pretty-printed, with a trailing newline.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a diff always serializes");
        text.push('\n');
        text
    }
}

fn field_changes(old: &PlannedRule, new: &PlannedRule) -> Vec<FieldChange> {
    let fields: [(&str, Vec<String>, Vec<String>); 7] = [
        (
            "destinations",
            old.destinations.clone(),
            new.destinations.clone(),
        ),
        ("ports", old.ports.clone(), new.ports.clone()),
        (
            "protocols",
            old.application_protocols
                .iter()
                .chain(&old.protocols)
                .cloned()
                .collect(),
            new.application_protocols
                .iter()
                .chain(&new.protocols)
                .cloned()
                .collect(),
        ),
        ("sources", old.sources.clone(), new.sources.clone()),
        (
            "next_hop",
            old.next_hop
                .iter()
                .chain(&old.next_hop_ip)
                .cloned()
                .collect(),
            new.next_hop
                .iter()
                .chain(&new.next_hop_ip)
                .cloned()
                .collect(),
        ),
        (
            "terminate_tls",
            vec![old.terminate_tls.to_string()],
            vec![new.terminate_tls.to_string()],
        ),
        (
            "requirements",
            old.requirements.clone(),
            new.requirements.clone(),
        ),
    ];
    fields
        .into_iter()
        .filter_map(|(field, before, after)| {
            let before: BTreeSet<String> = before.into_iter().collect();
            let after: BTreeSet<String> = after.into_iter().collect();
            (before != after).then(|| FieldChange {
                field: field.to_owned(),
                removed: before.difference(&after).cloned().collect(),
                added: after.difference(&before).cloned().collect(),
            })
        })
        .collect()
}

fn describe_change(change: &FieldChange) -> String {
    let mut parts = Vec::new();
    if !change.removed.is_empty() {
        parts.push(format!("-{}", change.removed.join(",")));
    }
    if !change.added.is_empty() {
        parts.push(format!("+{}", change.added.join(",")));
    }
    format!("{} {}", change.field, parts.join(" "))
}

fn summary(rule: &PlannedRule) -> String {
    if let Some(hop) = &rule.next_hop {
        return format!("{} -> {hop}", rule.destinations.join(", "));
    }
    let traffic = if rule.application_protocols.is_empty() {
        format!("{} {}", rule.protocols.join(","), rule.ports.join(","))
    } else {
        rule.application_protocols.join(",")
    };
    format!("{} to {}", traffic.trim(), rule.destinations.join(", "))
}

fn why(rule: &PlannedRule) -> String {
    why_of(&rule.requirements, &rule.sections)
}

fn why_of(requirements: &[String], sections: &[String]) -> String {
    requirements
        .iter()
        .zip(sections)
        .map(|(id, section)| format!("{id} ({section})"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// How two revisions of the catalog differ, requirement by requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogDiff {
    /// The old revision.
    pub from: String,
    /// The new revision.
    pub to: String,
    /// Requirements only in the new revision.
    pub added: Vec<RequirementSummary>,
    /// Requirements only in the old revision.
    pub removed: Vec<RequirementSummary>,
    /// Requirements in both whose content changed.
    pub changed: Vec<RequirementChange>,
}

/// A requirement as a diff shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementSummary {
    /// Id.
    pub id: String,
    /// Purpose.
    pub purpose: String,
    /// Article section in its revision.
    pub section: String,
    /// One-line summary of the traffic.
    pub traffic: String,
}

/// A requirement whose content differs between the revisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementChange {
    /// Id.
    pub id: String,
    /// Article section in the new revision.
    pub section: String,
    /// What changed, one line per field.
    pub changes: Vec<String>,
}

impl CatalogDiff {
    /// Compares revision `from` with revision `to` (both already resolved ids).
    #[must_use]
    pub fn new(catalog: &Catalog, from: &str, to: &str) -> CatalogDiff {
        let (old, new) = (by_id(catalog, from), by_id(catalog, to));
        let summary = |requirement: &Requirement, revision: &str| RequirementSummary {
            id: requirement.id.clone(),
            purpose: requirement.purpose.clone(),
            section: requirement
                .sections
                .get(revision)
                .cloned()
                .unwrap_or_default(),
            traffic: requirement_traffic(requirement),
        };
        CatalogDiff {
            from: from.to_owned(),
            to: to.to_owned(),
            added: new
                .iter()
                .filter(|(id, _)| !old.contains_key(*id))
                .map(|(_, r)| summary(r, to))
                .collect(),
            removed: old
                .iter()
                .filter(|(id, _)| !new.contains_key(*id))
                .map(|(_, r)| summary(r, from))
                .collect(),
            changed: new
                .iter()
                .filter_map(|(id, after)| {
                    let before = old.get(id)?;
                    let changes = requirement_changes(before, after);
                    (!changes.is_empty()).then(|| RequirementChange {
                        id: id.clone(),
                        section: after.sections.get(to).cloned().unwrap_or_default(),
                        changes,
                    })
                })
                .collect(),
        }
    }

    /// One line per change.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = format!("# amlfw catalog diff {} -> {}\n", self.from, self.to);
        let _ = writeln!(
            out,
            "# {} added, {} removed, {} changed",
            self.added.len(),
            self.removed.len(),
            self.changed.len()
        );
        for r in &self.added {
            let _ = writeln!(
                out,
                "+ {}: {} ({}) [{}]",
                r.id, r.traffic, r.purpose, r.section
            );
        }
        for r in &self.removed {
            let _ = writeln!(
                out,
                "- {}: {} ({}) [{}]",
                r.id, r.traffic, r.purpose, r.section
            );
        }
        for c in &self.changed {
            let _ = writeln!(out, "~ {}: {} [{}]", c.id, c.changes.join("; "), c.section);
        }
        out
    }

    /// A Markdown table.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "**amlfw catalog diff** `{}` → `{}`: {} added, {} removed, {} changed\n\n| change | requirement | what | article section |\n|---|---|---|---|\n",
            self.from,
            self.to,
            self.added.len(),
            self.removed.len(),
            self.changed.len()
        );
        for (change, list) in [("added", &self.added), ("removed", &self.removed)] {
            for r in list {
                let _ = writeln!(
                    out,
                    "| {change} | `{}` | {} ({}) | {} |",
                    r.id,
                    markdown_cell(&r.traffic),
                    markdown_cell(&r.purpose),
                    markdown_cell(&r.section)
                );
            }
        }
        for c in &self.changed {
            let _ = writeln!(
                out,
                "| changed | `{}` | {} | {} |",
                c.id,
                markdown_cell(&c.changes.join("; ")),
                markdown_cell(&c.section)
            );
        }
        out
    }

    /// The JSON form.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a diff always serializes");
        text.push('\n');
        text
    }
}

fn by_id<'c>(catalog: &'c Catalog, revision: &'c str) -> BTreeMap<String, &'c Requirement> {
    catalog
        .requirements_of(revision)
        .map(|r| (r.id.clone(), r))
        .collect()
}

/// `TCP 443 to Storage.{region}` (public cloud's variant), or the route / manual step.
#[must_use]
pub fn requirement_traffic(requirement: &Requirement) -> String {
    if requirement.manual.is_some() {
        return "advice only (no rule)".to_owned();
    }
    let destinations = requirement
        .destinations
        .as_ref()
        .map(|d| cloud_text(d, Cloud::Public))
        .unwrap_or_default();
    if let Some(hop) = requirement.route {
        let hop = match hop {
            crate::catalog::NextHop::Internet => "Internet",
            crate::catalog::NextHop::Firewall => "the firewall",
        };
        return format!("route {destinations} -> {hop}");
    }
    let ports: Vec<String> = requirement.ports.iter().map(ToString::to_string).collect();
    let sources = requirement
        .sources
        .as_ref()
        .map(|s| format!(" from {}", cloud_text(s, Cloud::Public)))
        .unwrap_or_default();
    format!(
        "{} {} {}{sources} to {destinations}",
        requirement.direction.as_str(),
        requirement.protocol.as_str(),
        ports.join(",")
    )
}

fn cloud_text(per_cloud: &PerCloud, cloud: Cloud) -> String {
    match per_cloud.get(cloud) {
        CloudEndpoints::Endpoints(list) => list
            .iter()
            .map(Endpoint::text)
            .collect::<Vec<_>>()
            .join(", "),
        CloudEndpoints::NotNeeded(_) => "(not needed)".to_owned(),
        CloudEndpoints::NotAvailable(_) => "(not available)".to_owned(),
    }
}

fn requirement_changes(old: &Requirement, new: &Requirement) -> Vec<String> {
    let mut changes = Vec::new();
    let mut compare = |field: &str, before: String, after: String| {
        if before != after {
            changes.push(format!("{field}: {before} -> {after}"));
        }
    };
    compare("when", old.when.to_string(), new.when.to_string());
    compare(
        "protocol",
        old.protocol.as_str().to_owned(),
        new.protocol.as_str().to_owned(),
    );
    let ports = |r: &Requirement| {
        r.ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    compare("ports", ports(old), ports(new));
    let modes = |r: &Requirement| {
        r.modes
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    compare("modes", modes(old), modes(new));
    for cloud in Cloud::ALL {
        let text = |r: &Requirement| {
            r.destinations
                .as_ref()
                .map(|d| cloud_text(d, cloud))
                .unwrap_or_default()
        };
        compare(&format!("destinations ({cloud})"), text(old), text(new));
    }
    compare(
        "advice",
        old.manual.clone().unwrap_or_default(),
        new.manual.clone().unwrap_or_default(),
    );
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(yaml: &str) -> Plan {
        let catalog = Catalog::embedded();
        let scenario = crate::scenario::load(yaml, "s.yaml", &catalog).unwrap();
        crate::planner::plan(&scenario, &catalog).unwrap()
    }

    const BASE: &str = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw\n    region: eastus2\n    compute_subnets: [10.0.1.0/24]\n    compute: { instances: true }\n";

    #[test]
    fn plan_diff_finds_added_removed_and_changed_rules() {
        let old = plan_of(BASE);
        let new = plan_of(
            &BASE
                .replace("[10.0.1.0/24]", "[10.0.1.0/24, 10.0.9.0/24]")
                .replace(
                    "compute: { instances: true }",
                    "compute: { instances: true }\n    features: [r]",
                ),
        );
        let diff = PlanDiff::new("old", &old, "new", &new);
        assert_eq!(
            diff.added.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["cran-host"]
        );
        assert!(diff.removed.is_empty());
        let aad = diff
            .changed
            .iter()
            .find(|c| c.id == "aad-service-tag")
            .unwrap();
        assert_eq!(aad.changes[0].field, "sources");
        assert_eq!(aad.changes[0].added, ["10.0.9.0/24"]);
        assert!(PlanDiff::new("a", &old, "b", &old).is_empty());
    }

    #[test]
    fn catalog_diff_finds_the_documented_changes() {
        let diff = CatalogDiff::new(&Catalog::embedded(), "2022-09", "2026-03");
        let ids = |list: &[RequirementSummary]| {
            list.iter().map(|r| r.id.clone()).collect::<BTreeSet<_>>()
        };
        let added = ids(&diff.added);
        let removed = ids(&diff.removed);
        for id in [
            "aml-service-tag-udp-5831",
            "batch-service-tag",
            "virtual-network-private-endpoints",
            "tundra-host",
            "batch-hosts",
            "rstudio-install-hosts",
            "automl-nlp-vision-hosts",
            "vscode-web-hosts",
        ] {
            assert!(added.contains(id), "{id} not added");
        }
        for id in [
            "inbound-batch-node-management",
            "route-batch-node-management",
            "prebuilt-images-host",
            "acr-service-tag",
        ] {
            assert!(removed.contains(id), "{id} not removed");
        }
        let changed: BTreeSet<&str> = diff.changed.iter().map(|c| c.id.as_str()).collect();
        for id in [
            "mcr-service-tag",
            "kubernetes-registry-hosts",
            "vscode-websocket-server",
        ] {
            assert!(changed.contains(id), "{id} not changed");
        }
    }
}
