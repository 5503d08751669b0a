//! Module upgrades (issue 12, point 8): for each pair of scenarios of
//! `tests/fixtures/upgrade/pairs.txt`, every rule present in both generated Terraform modules
//! keeps its Terraform address, its name and its priority, so regenerating never moves,
//! renames or re-prioritises a rule that did not change. No Terraform needed: the modules
//! are read back with hcl-rs. `.ci/plan-upgrade` runs the same pairs through a real
//! `terraform plan`.
//!
//! A rule is "present in both" when both modules have a rule of that kind with that name,
//! or with the same traffic (kind, destinations, ports, protocols, direction, region) under
//! another name: the second case is a rename, which breaks the rule just as much.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::fs;

use amlfw::catalog::Catalog;
use amlfw::diff::PlanDiff;
use amlfw::plan::Plan;
use amlfw::render::{RenderedFiles, Target, render};
use amlfw::{planner, scenario};
use hcl::{Block, Body, Expression};
use support::root;

/// Where a rule lives in a module and what Azure keys it by.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    /// The Terraform address (for a firewall rule: its group's address, collection and name).
    address: String,
    /// The Azure name.
    name: String,
    /// The NSG rule's priority, or the firewall rule's collection priority; none for routes.
    priority: Option<String>,
}

/// One rule of a module: its kind, its traffic (what it is), and its slot (where it is).
#[derive(Debug, Clone)]
struct ModuleRule {
    kind: &'static str,
    traffic: String,
    slot: Slot,
}

fn pairs() -> Vec<(String, String, String)> {
    let text = fs::read_to_string(root().join("tests/fixtures/upgrade/pairs.txt")).unwrap();
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 3, "pairs.txt: `{line}` is not NAME OLD NEW");
            (fields[0].into(), fields[1].into(), fields[2].into())
        })
        .collect()
}

fn plan_of(file: &str, catalog: &Catalog) -> Plan {
    let path = root().join("tests/fixtures/upgrade").join(file);
    let text = fs::read_to_string(&path).unwrap();
    let scenario =
        scenario::load(&text, "scenario.yaml", catalog).unwrap_or_else(|d| panic!("{file}: {d:?}"));
    planner::plan(&scenario, catalog).unwrap_or_else(|d| panic!("{file}: {d:?}"))
}

fn module_of(file: &str, catalog: &Catalog) -> RenderedFiles {
    render(&plan_of(file, catalog), Target::Terraform, "scenario.yaml").unwrap()
}

fn expression(body: &Body, key: &str) -> String {
    body.attributes()
        .find(|a| a.key.as_str() == key)
        .map(|a| hcl::format::to_string(&a.expr).unwrap())
        .unwrap_or_default()
}

fn string(body: &Body, key: &str) -> String {
    match body.attributes().find(|a| a.key.as_str() == key) {
        Some(attribute) => match &attribute.expr {
            Expression::String(text) => text.clone(),
            other => hcl::format::to_string(other).unwrap(),
        },
        None => String::new(),
    }
}

/// The traffic of a rule body: the listed attributes' expressions, one `key=value` each.
fn traffic(body: &Body, keys: &[&str]) -> String {
    let mut parts: Vec<String> = keys
        .iter()
        .map(|key| format!("{key}={}", expression(body, key)))
        .collect();
    let mut protocols: Vec<String> = body
        .blocks()
        .filter(|b| b.identifier.as_str() == "protocols")
        .map(|p| {
            format!(
                "{}:{}",
                expression(&p.body, "type"),
                expression(&p.body, "port")
            )
        })
        .collect();
    protocols.sort();
    parts.push(format!("protocols={}", protocols.join(",")));
    parts.join(" ")
}

fn resource_rules(block: &Block, rules: &mut Vec<ModuleRule>) {
    let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
    let [kind, name] = labels.as_slice() else {
        return;
    };
    let address = format!("{kind}.{name}");
    let body = &block.body;
    match *kind {
        "azurerm_firewall_policy_rule_collection_group" => {
            for collection in body.blocks() {
                let collection_name = string(&collection.body, "name");
                let rule_kind = match collection.identifier.as_str() {
                    "network_rule_collection" => "firewall-network",
                    _ => "firewall-application",
                };
                for rule in collection
                    .body
                    .blocks()
                    .filter(|b| b.identifier.as_str() == "rule")
                {
                    let rule_name = string(&rule.body, "name");
                    rules.push(ModuleRule {
                        kind: rule_kind,
                        traffic: traffic(
                            &rule.body,
                            &[
                                "protocols",
                                "destination_ports",
                                "destination_addresses",
                                "destination_ip_groups",
                                "destination_fqdns",
                                "destination_urls",
                            ],
                        ),
                        slot: Slot {
                            address: format!(
                                "{address}.{}[{collection_name:?}].rule[{rule_name:?}]",
                                collection.identifier.as_str()
                            ),
                            name: rule_name,
                            priority: Some(expression(&collection.body, "priority")),
                        },
                    });
                }
            }
        }
        "azurerm_network_security_rule" => rules.push(ModuleRule {
            kind: "nsg",
            traffic: traffic(
                body,
                &[
                    "network_security_group_name",
                    "direction",
                    "protocol",
                    "source_address_prefix",
                    "destination_address_prefix",
                    "destination_port_range",
                    "destination_port_ranges",
                ],
            ),
            slot: Slot {
                address,
                name: string(body, "name"),
                priority: Some(expression(body, "priority")),
            },
        }),
        "azurerm_route" => rules.push(ModuleRule {
            kind: "route",
            traffic: traffic(
                body,
                &["route_table_name", "address_prefix", "next_hop_type"],
            ),
            slot: Slot {
                address,
                name: string(body, "name"),
                priority: None,
            },
        }),
        _ => {}
    }
}

fn module_rules(files: &RenderedFiles) -> Vec<ModuleRule> {
    let mut rules = Vec::new();
    for (_, body) in support::parse_module(files) {
        for block in body
            .blocks()
            .filter(|b| b.identifier.as_str() == "resource")
        {
            resource_rules(block, &mut rules);
        }
    }
    rules
}

/// Lines removed plus lines added over every file of the module, and the files touched.
fn changed_lines(old: &RenderedFiles, new: &RenderedFiles) -> (usize, usize) {
    let (mut lines, mut files) = (0, 0);
    let paths: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for path in paths {
        let before = old.get(path).map_or("", String::as_str);
        let after = new.get(path).map_or("", String::as_str);
        if before == after {
            continue;
        }
        files += 1;
        lines += similar::TextDiff::from_lines(before, after)
            .iter_all_changes()
            .filter(|change| change.tag() != similar::ChangeTag::Equal)
            .count();
    }
    (lines, files)
}

/// Every problem of one pair, one line each; empty when the upgrade is clean.
fn upgrade_problems(old: &RenderedFiles, new: &RenderedFiles) -> Vec<String> {
    let old_rules = module_rules(old);
    let new_rules = module_rules(new);
    let by_name: BTreeMap<(&str, &str), &ModuleRule> = new_rules
        .iter()
        .map(|r| ((r.kind, r.slot.name.as_str()), r))
        .collect();
    let mut problems = Vec::new();
    for before in &old_rules {
        let after = by_name
            .get(&(before.kind, before.slot.name.as_str()))
            .copied()
            .or_else(|| {
                new_rules
                    .iter()
                    .find(|r| r.kind == before.kind && r.traffic == before.traffic)
            });
        let Some(after) = after else { continue };
        if after.slot != before.slot {
            let mut what = Vec::new();
            if after.slot.address != before.slot.address {
                what.push(format!(
                    "address {} -> {}",
                    before.slot.address, after.slot.address
                ));
            }
            if after.slot.name != before.slot.name {
                what.push(format!("name {} -> {}", before.slot.name, after.slot.name));
            }
            if after.slot.priority != before.slot.priority {
                what.push(format!(
                    "priority {} -> {}",
                    before.slot.priority.as_deref().unwrap_or("-"),
                    after.slot.priority.as_deref().unwrap_or("-")
                ));
            }
            problems.push(format!(
                "{} {}: {}",
                before.kind,
                before.slot.name,
                what.join(", ")
            ));
        }
    }
    problems
}

fn check_pair(name: &str, old_file: &str, new_file: &str) {
    let catalog = Catalog::embedded();
    let old = module_of(old_file, &catalog);
    let new = module_of(new_file, &catalog);
    let (lines, files) = changed_lines(&old, &new);
    assert!(
        lines > 0,
        "{name}: {old_file} and {new_file} give the same module, so the pair tests nothing"
    );
    let problems = upgrade_problems(&old, &new);
    assert!(
        problems.is_empty(),
        "{name} ({old_file} -> {new_file}): {lines} changed lines in {files} files, and {} rules present in both moved:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
    eprintln!("{name}: {lines} changed lines in {files} files, every kept rule in place");
}

fn pair(name: &str) -> (String, String, String) {
    pairs()
        .into_iter()
        .find(|(n, _, _)| n == name)
        .unwrap_or_else(|| panic!("{name} is not in pairs.txt"))
}

#[test]
fn an_extra_fqdn_moves_no_rule() {
    let (name, old, new) = pair("extra-fqdn");
    check_pair(&name, &old, &new);
}

#[test]
fn an_extra_workspace_in_the_same_region_moves_no_rule() {
    let (name, old, new) = pair("extra-workspace");
    check_pair(&name, &old, &new);
}

#[test]
fn an_extra_region_moves_no_rule() {
    let (name, old, new) = pair("extra-region");
    check_pair(&name, &old, &new);
}

#[test]
fn a_catalog_update_moves_no_rule() {
    let (name, old, new) = pair("catalog-update");
    check_pair(&name, &old, &new);
}

#[test]
fn turning_a_feature_off_moves_no_rule() {
    let (name, old, new) = pair("feature-off");
    check_pair(&name, &old, &new);
}

/// The upgrade issue 12 saw: on 2022-09, a public-IP workspace shifted the inbound NSG rules.
#[test]
fn an_extra_public_ip_workspace_on_2022_09_moves_no_rule() {
    let (name, old, new) = pair("extra-public-ip-workspace-2022-09");
    check_pair(&name, &old, &new);
}

#[test]
fn every_pair_has_a_test() {
    let names: Vec<String> = pairs().into_iter().map(|(name, _, _)| name).collect();
    assert_eq!(
        names,
        [
            "extra-fqdn",
            "extra-workspace",
            "extra-region",
            "catalog-update",
            "feature-off",
            "extra-public-ip-workspace-2022-09"
        ]
    );
}

#[test]
fn the_base_scenario_is_golden_full_public() {
    let uncommented = |text: &str| {
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let golden = fs::read_to_string(root().join("golden/full-public/scenario.yaml")).unwrap();
    let base = fs::read_to_string(root().join("tests/fixtures/upgrade/base.yaml")).unwrap();
    assert_eq!(uncommented(&base), uncommented(&golden));
}

/// The checker itself: a renamed NSG rule and a shifted priority are both reported.
#[test]
fn the_checker_notices_a_rename_and_a_priority_shift() {
    let catalog = Catalog::embedded();
    let old = module_of("base.yaml", &catalog);
    let mut new = old.clone();
    let nsg = new.get_mut("terraform/main.nsg.tf").unwrap();
    *nsg = nsg
        .replacen(
            "priority                    = 100\n",
            "priority                    = 110\n",
            1,
        )
        .replace(
            "\"virtual_network_private_endpoints_eastus2\"",
            "\"virtual_network_private_endpoints_v2_eastus2\"",
        );
    let problems = upgrade_problems(&old, &new);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("priority 100 -> 110"), "{problems:?}");
    assert!(
        problems[1].contains(
            "address azurerm_network_security_rule.virtual_network_private_endpoints_eastus2 -> azurerm_network_security_rule.virtual_network_private_endpoints_v2_eastus2"
        ),
        "{problems:?}"
    );
    assert!(upgrade_problems(&old, &old).is_empty());
}

/// The embedded catalog's files with `edit` applied to `requirements/inbound.yaml`, loaded.
fn catalog_with_inbound(edit: impl Fn(&str) -> String) -> Catalog {
    let files: Vec<(String, String)> = amlfw::catalog::EMBEDDED_FILES
        .iter()
        .map(|(name, text)| {
            let text = if name.ends_with("requirements/inbound.yaml") {
                let edited = edit(text);
                assert_ne!(&edited, text, "the edit of {name} changed nothing");
                edited
            } else {
                (*text).to_owned()
            };
            ((*name).to_owned(), text)
        })
        .collect();
    Catalog::load(&files, "catalog").unwrap()
}

/// Issue 12, point 5: a requirement renamed in the catalog keeps its old id in
/// `previous_ids`, and the module moves the state of its rules. No requirement of today's
/// catalog is such a rename (2022-09 -> 2026-03 only adds, removes and changes ids), so
/// the mechanism is tested with a custom catalog.
#[test]
fn a_renamed_requirement_gets_moved_blocks() {
    let renamed = catalog_with_inbound(|text| {
        text.replace(
            "- id: inbound-azure-machine-learning\n",
            "- id: inbound-machine-learning-management\n  previous_ids: [inbound-azure-machine-learning]\n",
        )
        // A previous id that is still a rule of the module: no move (Terraform would refuse
        // to move an object that is still declared).
        .replace(
            "- id: inbound-no-public-ip-cluster-vnet\n",
            "- id: inbound-no-public-ip-cluster-vnet\n  previous_ids: [inbound-no-public-ip-cluster-load-balancer]\n",
        )
    });
    let embedded = Catalog::embedded();
    let old = module_of("base.yaml", &embedded);
    let new = module_of("base.yaml", &renamed);
    assert!(!old.contains_key("terraform/moved.tf"));
    let moved = new.get("terraform/moved.tf").expect("moved.tf is written");
    let body = hcl::parse(moved).unwrap();
    let blocks: Vec<(String, String)> = body
        .blocks()
        .filter(|b| b.identifier.as_str() == "moved")
        .map(|b| (expression(&b.body, "from"), expression(&b.body, "to")))
        .collect();
    assert_eq!(
        blocks,
        [(
            "azurerm_network_security_rule.inbound_azure_machine_learning_eastus2".to_owned(),
            "azurerm_network_security_rule.inbound_machine_learning_management_eastus2".to_owned()
        )]
    );
    assert!(moved.contains("required_version = \">= 1.1.0\""), "{moved}");
    // The move is the only address change the rename makes.
    let problems = upgrade_problems(&old, &new);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("address azurerm_network_security_rule.inbound_azure_machine_learning_eastus2 -> azurerm_network_security_rule.inbound_machine_learning_management_eastus2"),
        "{problems:?}"
    );

    // `amlfw diff` shows the address change and that the module moves it.
    let diff = PlanDiff::new(
        "old",
        &plan_of("base.yaml", &embedded),
        "new",
        &plan_of("base.yaml", &renamed),
    );
    assert_eq!(diff.addresses.len(), 1, "{}", diff.to_text());
    assert!(diff.addresses[0].moved, "{}", diff.to_text());
    assert!(
        diff.to_text().contains(
            "> nsg inbound-azure-machine-learning-eastus2 -> inbound-machine-learning-management-eastus2: azurerm_network_security_rule.inbound_azure_machine_learning_eastus2 -> azurerm_network_security_rule.inbound_machine_learning_management_eastus2 (moved block: Terraform moves the state)\n"
        ),
        "{}",
        diff.to_text()
    );

    // 2022-09 has both inbound rules: the load balancer one is still declared, so the vnet
    // rule's previous id gives no move.
    let npip = module_of("no-public-ip-2022-09.yaml", &renamed);
    assert!(
        !npip.contains_key("terraform/moved.tf"),
        "{:?}",
        npip.get("terraform/moved.tf")
    );
}

/// A split: two requirements name one previous id; the first rule by id takes the move
/// (Terraform refuses two moves from one address), the other is created.
#[test]
fn a_split_requirement_moves_to_one_rule() {
    let split = catalog_with_inbound(|text| {
        let start = text.find("- id: inbound-azure-machine-learning\n").unwrap();
        let end = start + text[start..].find("\n\n").unwrap() + 2;
        let entry = &text[start..end];
        let first = entry.replace(
            "- id: inbound-azure-machine-learning\n",
            "- id: inbound-aml-a\n  previous_ids: [inbound-azure-machine-learning]\n",
        );
        let second = entry
            .replace(
                "- id: inbound-azure-machine-learning\n",
                "- id: inbound-aml-b\n  previous_ids: [inbound-azure-machine-learning]\n",
            )
            .replace("ports: [\"44224\"]", "ports: [\"44225\"]")
            // A new requirement takes a slot of its own; the first half keeps the old one.
            .replace("nsg_slot: 0", "nsg_slot: 4");
        format!("{}{first}{second}{}", &text[..start], &text[end..])
    });
    let new = module_of("base.yaml", &split);
    let moved = new.get("terraform/moved.tf").expect("moved.tf is written");
    assert_eq!(moved.matches("moved {").count(), 1, "{moved}");
    assert!(
        moved.contains("to   = azurerm_network_security_rule.inbound_aml_a_eastus2"),
        "{moved}"
    );
}
