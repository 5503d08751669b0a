//! `amlfw plan --format mermaid`: the plan as a Mermaid `flowchart LR`, the same diagram the
//! generated module READMEs embed. Pure: a plan in, text out.
//!
//! It lives in `render`, not `plan`, because it is a rendering of the plan that the module
//! READMEs share (like [`super::plan_markdown`]) and because it draws the firewall's own
//! rule collections from `render::layout`, so the diagram groups rules exactly as the
//! Terraform and Bicep modules do.
//!
//! The picture: per region a subgraph of its workspaces (each with its compute subnets),
//! an edge from each workspace to the firewall, and from the firewall one node per rule
//! collection listing its destinations with ports, one line per rule. NSG rules are solid
//! edges between the region (its NSG covers every compute subnet there) and the tag or
//! address on the other side; routes are dotted edges from the region to the firewall or
//! to their next hop, grouped per requirement so hundreds of address routes stay one edge.
//!
//! Stability: nodes of fixed things get fixed ids (`fw`, `net_core`, `app_packages`), so a
//! new rule changes only the label line of its collection. Things the scenario names
//! (regions, workspaces, NSG peers, next hops) get numbered ids (`r1`, `w1`, `e1`, `h1`) in
//! sorted order (workspaces by region, then name), because their names may hold characters
//! an id cannot and scenario order should not matter; labels carry the text, escaped by
//! [`label`]. Every list is capped (see the constants) so a plan with 20 workspaces or
//! hundreds of routes stays a readable picture.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::Direction;
use crate::plan::{DestinationType, Plan, PlanWorkspace, PlannedRule, RuleKind};
use crate::render::filters::{is_unsafe, visible_escape};
use crate::render::layout;
use crate::scenario::Sku;

/// Rule lines shown per collection node; the rest are counted.
const MAX_RULE_LINES: usize = 12;
/// Destinations shown per rule line, workspace names per "only" note, items per edge label.
const MAX_ITEMS: usize = 3;
/// Compute subnets shown per workspace node.
const MAX_SUBNETS: usize = 4;
/// Workspace nodes shown per region; the rest share one node.
const MAX_WORKSPACES_PER_REGION: usize = 10;
/// Mermaid's line break inside a label.
const BREAK: &str = "<br/>";

/// The Mermaid flowchart of `plan`, ending with a newline.
#[must_use]
pub fn plan_mermaid(plan: &Plan) -> String {
    let mut out = vec![
        "flowchart LR".to_owned(),
        // No rule count and no catalog revision here: the diagram is embedded in the
        // generated READMEs, and either would make a diff where no rule changed.
        format!(
            "  %% amlfw plan: cloud {}; solid edges allow traffic, dotted ones are routes",
            plan.cloud
        ),
    ];

    // Regions: those of the workspaces, plus any an NSG rule or route names (none today,
    // but a rule must never point at a node that does not exist).
    let mut regions: BTreeSet<String> = plan.workspaces.iter().map(|w| w.region.clone()).collect();
    regions.extend(
        plan.rules
            .iter()
            .filter(|r| matches!(r.kind, RuleKind::Nsg | RuleKind::Route))
            .filter_map(|r| r.region.clone()),
    );
    let region_ids: BTreeMap<&str, String> = regions
        .iter()
        .enumerate()
        .map(|(index, region)| (region.as_str(), format!("r{}", index + 1)))
        .collect();
    let mut workspaces: Vec<&PlanWorkspace> = plan.workspaces.iter().collect();
    workspaces.sort_by(|a, b| a.name.cmp(&b.name));

    // Workspaces by region; every node here gets an edge to the firewall.
    let mut sources: Vec<String> = Vec::new();
    let mut numbered = 0;
    for (region, region_id) in &region_ids {
        out.push(format!("  subgraph {region_id}[\"{}\"]", label(region)));
        let members: Vec<&&PlanWorkspace> =
            workspaces.iter().filter(|w| w.region == *region).collect();
        for workspace in members.iter().take(MAX_WORKSPACES_PER_REGION) {
            numbered += 1;
            let id = format!("w{numbered}");
            let mut lines = vec![label(&workspace.name)];
            lines.extend(
                capped(&workspace.compute_subnets, MAX_SUBNETS)
                    .iter()
                    .map(|s| label(s)),
            );
            out.push(format!("    {id}[\"{}\"]", lines.join(BREAK)));
            sources.push(id);
        }
        if members.len() > MAX_WORKSPACES_PER_REGION {
            let rest: Vec<String> = members
                .iter()
                .skip(MAX_WORKSPACES_PER_REGION)
                .map(|w| w.name.clone())
                .collect();
            let id = format!("{region_id}_more");
            out.push(format!(
                "    {id}[\"{}\"]",
                label(&format!(
                    "{} more workspaces: {}",
                    rest.len(),
                    capped(&rest, MAX_ITEMS).join(", ")
                ))
            ));
            sources.push(id);
        }
        out.push("  end".to_owned());
    }

    // The firewall and its rule collections.
    let sku = match plan.firewall.sku {
        Sku::Standard => "Standard",
        Sku::Premium => "Premium",
    };
    let hub = !plan.workspaces.is_empty() || plan.managed_workspaces.is_empty();
    if hub {
        out.push(format!(
            "  fw{{{{\"{}{BREAK}{}\"}}}}",
            label(&format!("Azure Firewall {sku}")),
            label(&format!(
                "rule collection group {} (priority {})",
                plan.firewall.rule_collection_group, plan.firewall.priority
            ))
        ));
    }
    let mut collection_ids = Vec::new();
    for (kind, prefix) in [
        (RuleKind::FirewallNetwork, "net"),
        (RuleKind::FirewallApplication, "app"),
    ] {
        for collection in layout::collections(plan, kind) {
            let Some(concern) = collection.rules.first().map(|r| r.concern) else {
                continue;
            };
            let id = format!("{prefix}_{}", concern.as_str().replace('-', "_"));
            let mut lines = vec![label(&collection.name)];
            lines.extend(
                collection
                    .rules
                    .iter()
                    .take(MAX_RULE_LINES)
                    .map(|rule| label(&rule_line(rule, plan))),
            );
            if collection.rules.len() > MAX_RULE_LINES {
                lines.push(label(&format!(
                    "+{} more rules",
                    collection.rules.len() - MAX_RULE_LINES
                )));
            }
            out.push(format!("  {id}[\"{}\"]", lines.join(BREAK)));
            collection_ids.push(id);
        }
    }

    // NSG peers (the tag or prefix on the other side of an NSG rule) and next hops other
    // than the firewall, numbered in sorted order.
    let nsg_rules: Vec<&PlannedRule> = plan
        .rules
        .iter()
        .filter(|r| r.kind == RuleKind::Nsg)
        .collect();
    let peers: BTreeSet<String> = nsg_rules.iter().map(|r| nsg_peer(r)).collect();
    let peer_ids: BTreeMap<&str, String> = peers
        .iter()
        .enumerate()
        .map(|(index, peer)| (peer.as_str(), format!("e{}", index + 1)))
        .collect();
    for (peer, id) in &peer_ids {
        out.push(format!("  {id}[\"{}\"]", label(peer)));
    }
    let routes: Vec<&PlannedRule> = plan
        .rules
        .iter()
        .filter(|r| r.kind == RuleKind::Route)
        .collect();
    let hops: BTreeSet<String> = routes
        .iter()
        .filter(|r| r.next_hop_ip.is_none())
        .map(|r| r.next_hop.clone().unwrap_or_else(|| "next hop".to_owned()))
        .collect();
    let hop_ids: BTreeMap<&str, String> = hops
        .iter()
        .enumerate()
        .map(|(index, hop)| (hop.as_str(), format!("h{}", index + 1)))
        .collect();
    for (hop, id) in &hop_ids {
        out.push(format!("  {id}((\"{}\"))", label(hop)));
    }

    // Edges: outbound through the firewall, NSG rules, routes.
    for id in &sources {
        out.push(format!("  {id} --> fw"));
    }
    for id in &collection_ids {
        out.push(format!("  fw --> {id}"));
    }
    for rule in &nsg_rules {
        let (Some(region), Some(peer)) = (
            rule.region.as_deref().and_then(|r| region_ids.get(r)),
            peer_ids.get(nsg_peer(rule).as_str()),
        ) else {
            continue;
        };
        let text = label(&format!("NSG {}", network_traffic(rule)));
        out.push(match rule.direction {
            Direction::Inbound => format!("  {peer} -->|\"{text}\"| {region}"),
            Direction::Outbound => format!("  {region} -->|\"{text}\"| {peer}"),
        });
    }
    // Routes grouped by region, next hop and requirements: the address routes of one
    // service tag are one edge, however many prefixes the tag has.
    let mut groups: BTreeMap<(usize, String, String), Vec<&PlannedRule>> = BTreeMap::new();
    for rule in &routes {
        let Some(region) = rule
            .region
            .as_deref()
            .and_then(|r| regions.iter().position(|x| x == r))
        else {
            continue;
        };
        let target = if rule.next_hop_ip.is_some() {
            "fw".to_owned()
        } else {
            let hop = rule
                .next_hop
                .clone()
                .unwrap_or_else(|| "next hop".to_owned());
            hop_ids.get(hop.as_str()).cloned().unwrap_or_default()
        };
        if target.is_empty() {
            continue;
        }
        groups
            .entry((region + 1, target, rule.requirements.join(",")))
            .or_default()
            .push(rule);
    }
    for ((region, target, _), rules) in &groups {
        out.push(format!(
            "  r{region} -.->|\"{}\"| {target}",
            label(&route_text(rules))
        ));
    }
    managed_network(plan, &mut out);
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Workspaces with a managed virtual network: a node each (`m1`, numbered by name), an
/// edge to one node of the user-defined outbound rules amlfw writes and one to Azure's own
/// (`automatic`) rules. No firewall edge: their outbound never crosses the hub.
fn managed_network(plan: &Plan, out: &mut Vec<String>) {
    let mut workspaces: Vec<&crate::plan::ManagedWorkspace> =
        plan.managed_workspaces.iter().collect();
    workspaces.sort_by(|a, b| a.name.cmp(&b.name));
    for (index, workspace) in workspaces.iter().enumerate() {
        let id = format!("m{}", index + 1);
        out.push(format!(
            "  {id}[\"{}{BREAK}{}\"]",
            label(&workspace.name),
            label(&format!(
                "managed virtual network, {}",
                workspace.isolation.as_str()
            ))
        ));
        for (suffix, automatic, title) in [
            ("rules", false, "user-defined outbound rules"),
            ("auto", true, "automatic (Azure's own)"),
        ] {
            let lines: Vec<String> = plan
                .managed_rules
                .iter()
                .filter(|r| r.workspace == workspace.name)
                .filter(|r| (r.kind == crate::plan::ManagedKind::Automatic) == automatic)
                .map(|r| {
                    let mut destinations = capped(&r.destinations, MAX_ITEMS).join(", ");
                    if let Some(resource) = &r.resource {
                        destinations = format!("{resource} {destinations}");
                    }
                    format!("{}: {destinations}", r.kind.as_str())
                })
                .collect();
            if lines.is_empty() {
                continue;
            }
            let mut shown = vec![label(title)];
            shown.extend(lines.iter().take(MAX_RULE_LINES).map(|l| label(l)));
            if lines.len() > MAX_RULE_LINES {
                shown.push(label(&format!(
                    "+{} more rules",
                    lines.len() - MAX_RULE_LINES
                )));
            }
            out.push(format!("  {id}_{suffix}[\"{}\"]", shown.join(BREAK)));
            out.push(format!("  {id} --> {id}_{suffix}"));
        }
    }
}

/// One line of a collection node: destinations, traffic, and the workspaces when the rule
/// is not for all of them.
fn rule_line(rule: &PlannedRule, plan: &Plan) -> String {
    let destinations =
        if rule.destination_type == DestinationType::Addresses && !rule.expanded_from.is_empty() {
            format!(
                "{} ({} prefixes)",
                capped(&rule.expanded_from, MAX_ITEMS).join(", "),
                rule.destinations.len()
            )
        } else {
            capped(&rule.destinations, MAX_ITEMS).join(", ")
        };
    let traffic = match rule.kind {
        RuleKind::FirewallApplication => {
            let tls = if rule.terminate_tls {
                " TLS inspection"
            } else {
                ""
            };
            format!("{}{tls}", rule.application_protocols.join(","))
        }
        _ => network_traffic(rule),
    };
    let mut line = format!("{destinations}: {traffic}");
    if rule.workspaces.len() < plan.workspaces.len() {
        line.push_str(&format!(" (only {})", which_workspaces(rule, plan)));
    }
    line
}

/// The workspaces of a rule that is not for all of them: their names, or, when there are
/// many and they are exactly the workspaces of some regions (a regional tag), those regions.
fn which_workspaces(rule: &PlannedRule, plan: &Plan) -> String {
    if rule.workspaces.len() > MAX_ITEMS {
        let regions: BTreeSet<&str> = plan
            .workspaces
            .iter()
            .filter(|w| rule.workspaces.contains(&w.name))
            .map(|w| w.region.as_str())
            .collect();
        let exact = plan
            .workspaces
            .iter()
            .all(|w| rule.workspaces.contains(&w.name) == regions.contains(w.region.as_str()));
        if exact {
            let regions: Vec<String> = regions.into_iter().map(str::to_owned).collect();
            return format!(
                "the {} workspaces in {}",
                rule.workspaces.len(),
                capped(&regions, MAX_ITEMS).join(", ")
            );
        }
    }
    capped(&rule.workspaces, MAX_ITEMS).join(", ")
}

/// `TCP 80,443`.
fn network_traffic(rule: &PlannedRule) -> String {
    format!("{} {}", rule.protocols.join(","), rule.ports.join(","))
}

/// The other side of an NSG rule: its sources when inbound, its destinations when outbound.
fn nsg_peer(rule: &PlannedRule) -> String {
    let side = match rule.direction {
        Direction::Inbound => &rule.sources,
        Direction::Outbound => &rule.destinations,
    };
    if side.is_empty() {
        "*".to_owned()
    } else {
        capped(side, MAX_ITEMS).join(", ")
    }
}

/// The label of a group of routes: `route 0.0.0.0/0 via 10.0.0.4`,
/// `route AzureMachineLearning (12 prefixes)`.
fn route_text(rules: &[&PlannedRule]) -> String {
    let destinations: Vec<String> = rules
        .iter()
        .flat_map(|r| r.destinations.iter().cloned())
        .collect();
    let tags: BTreeSet<String> = rules
        .iter()
        .flat_map(|r| r.expanded_from.iter().cloned())
        .collect();
    let what = if tags.is_empty() {
        capped(&destinations, MAX_ITEMS).join(", ")
    } else {
        let tags: Vec<String> = tags.into_iter().collect();
        format!(
            "{} ({} prefixes)",
            capped(&tags, MAX_ITEMS).join(", "),
            destinations.len()
        )
    };
    let ips: BTreeSet<&str> = rules
        .iter()
        .filter_map(|r| r.next_hop_ip.as_deref())
        .collect();
    let via = if ips.is_empty() {
        String::new()
    } else {
        format!(" via {}", ips.into_iter().collect::<Vec<_>>().join(", "))
    };
    format!("route {what}{via}")
}

/// The first `max` items, then `+N more` when there are more.
fn capped(items: &[String], max: usize) -> Vec<String> {
    let mut shown: Vec<String> = items.iter().take(max).cloned().collect();
    if items.len() > max {
        shown.push(format!("+{} more", items.len() - max));
    }
    shown
}

/// Text for inside a quoted Mermaid label: `"` and the characters Mermaid or its HTML
/// labels would read as syntax become entity codes (`#quot;`, `#35;` for `#` itself, which
/// starts an entity), and unsafe characters ([`is_unsafe`]: line breaks, bidi controls,
/// zero-width characters) are shown as `\u{NNNN}` (an entity code would put them back).
/// No backtick survives, so a label can never close the README's Mermaid code fence.
#[must_use]
pub fn label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '&' => out.push_str("#amp;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            // A label starting with a backtick is a Markdown string; `|` ends edge labels.
            '`' => out.push_str("#96;"),
            '|' => out.push_str("#124;"),
            c if is_unsafe(c) => out.push_str(&visible_escape(c)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cannot_break_out_of_their_quotes() {
        assert_eq!(
            label("a \"b\" #1 <x> & `y` | z\nw\u{202E}"),
            "a #quot;b#quot; #35;1 #lt;x#gt; #amp; #96;y#96; #124; z\\u{000A}w\\u{202E}"
        );
        assert_eq!(label("*.anaconda.com"), "*.anaconda.com");
    }

    /// A plan of `count` workspaces in eastus2 with NSGs and route tables.
    fn plan_of(count: usize) -> Plan {
        let mut yaml = String::from("version: 1\ncloud: public\nworkspaces:\n");
        for n in 1..=count {
            yaml.push_str(&format!(
                "  - name: mlw-{n:02}\n    region: eastus2\n    compute_subnets: [10.{n}.1.0/24]\n    compute: {{ clusters: true }}\n"
            ));
        }
        yaml.push_str("outputs:\n  nsg: true\n  route_table: { firewall_private_ip: 10.0.0.4 }\n");
        let catalog = crate::catalog::Catalog::embedded();
        let scenario = crate::scenario::load_bytes(yaml.as_bytes(), "many.yaml", &catalog)
            .unwrap_or_else(|d| panic!("{d:?}"));
        crate::planner::plan(&scenario, &catalog).unwrap_or_else(|d| panic!("{d:?}"))
    }

    #[test]
    fn many_workspaces_stay_a_readable_diagram_with_every_edge_declared() {
        let plan = plan_of(25);
        let text = plan_mermaid(&plan);
        assert_eq!(text, plan_mermaid(&plan), "deterministic");
        assert!(text.contains("r1_more[\"15 more workspaces: mlw-11, mlw-12, mlw-13, +12 more\"]"));
        // Past ten workspaces a region's box stops growing: 50 workspaces draw as many lines
        // as 25, and both stay a screenful.
        assert_eq!(
            text.lines().count(),
            plan_mermaid(&plan_of(50)).lines().count()
        );
        assert!(text.lines().count() <= 45, "{text}");
        let mut declared = BTreeSet::new();
        for line in text.lines().skip(1) {
            let line = line.trim();
            let first = line
                .split_whitespace()
                .nth(usize::from(line.starts_with("subgraph ")));
            let id: String = first
                .unwrap_or_default()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if line.contains("--") {
                let target = line.rsplit(' ').next().unwrap_or_default();
                assert!(
                    declared.contains(&id) && declared.contains(target),
                    "{line}"
                );
            } else if !id.is_empty() && id != "end" {
                declared.insert(id);
            }
        }
    }

    #[test]
    fn long_lists_are_capped() {
        let items: Vec<String> = (1..=5).map(|i| i.to_string()).collect();
        assert_eq!(capped(&items, 3), ["1", "2", "3", "+2 more"]);
        assert_eq!(capped(&items[..2], 3), ["1", "2"]);
    }
}
