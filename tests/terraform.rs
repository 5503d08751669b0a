//! The Terraform module holds exactly the plan's rules, parses as HCL, and changes
//! locally when the scenario changes.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use support::{golden_cases, root};

use std::fs;

use amlfw::catalog::Catalog;
use amlfw::plan::Plan;
use amlfw::render::{RenderedFiles, Target, render};
use amlfw::{planner, scenario};

fn plan_and_module(text: &str, catalog: &Catalog) -> (Plan, RenderedFiles) {
    let scenario = scenario::load(text, "scenario.yaml", catalog).unwrap();
    let plan = planner::plan(&scenario, catalog).unwrap();
    let files = render(&plan, Target::Terraform, "scenario.yaml").unwrap();
    (plan, files)
}

#[test]
fn every_golden_module_holds_exactly_the_plan_rules() {
    let catalog = Catalog::embedded();
    let mut failures = String::new();
    for case in golden_cases() {
        let plan = support::golden_plan(&case, &catalog);
        let files = render(&plan, Target::Terraform, "scenario.yaml").unwrap();
        let difference =
            support::difference(&support::plan_facts(&plan), &support::module_facts(&files));
        if !difference.is_empty() {
            failures.push_str(&format!("{case}:\n{difference}"));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn every_golden_tf_file_on_disk_parses() {
    let mut count = 0;
    for case in golden_cases() {
        for dir in support::module_dirs(&case, "terraform") {
            for entry in fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "tf") {
                    let text = fs::read_to_string(&path).unwrap();
                    hcl::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    count += 1;
                }
            }
        }
    }
    assert!(count > 50, "only {count} .tf files found");
}

#[test]
fn the_comparison_notices_a_rule_the_module_lost() {
    let catalog = Catalog::embedded();
    let text = fs::read_to_string(root().join("examples/full-public.yaml")).unwrap();
    let (plan, mut files) = plan_and_module(&text, &catalog);
    let main = files.get_mut("terraform/main.tf").unwrap();
    // Drop the first rule block of the file, as a template bug would.
    let start = main.find("    rule {").unwrap();
    let end = start + main[start..].find("\n    }\n").unwrap() + "\n    }\n".len();
    main.replace_range(start..end, "");
    let difference =
        support::difference(&support::plan_facts(&plan), &support::module_facts(&files));
    assert!(
        difference.contains("in the plan, not in the module")
            && difference.contains("aad-service-tag"),
        "{difference}"
    );
}

#[test]
fn adding_one_feature_changes_only_that_features_collection() {
    let catalog = Catalog::embedded();
    let base = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw\n    region: eastus2\n    storage_account: stml\n    compute_subnets: [10.0.1.0/24]\n    compute: { instances: true, clusters: true }\n    features: [python, vscode]\noutputs:\n  nsg: true\n  route_table: { firewall_private_ip: 10.0.0.4 }\n";
    let (_, before) = plan_and_module(base, &catalog);
    let (_, after) = plan_and_module(
        &base.replace("[python, vscode]", "[python, vscode, r]"),
        &catalog,
    );
    for (path, text) in &after {
        if path != "terraform/main.tf" && path != "terraform/README.md" {
            assert_eq!(before.get(path), Some(text), "{path} changed");
        }
    }
    let old = &before["terraform/main.tf"];
    let new = &after["terraform/main.tf"];
    let diff = similar::TextDiff::from_lines(old, new);
    let mut changed_collections = std::collections::BTreeSet::new();
    let new_lines: Vec<&str> = new.lines().collect();
    for change in diff.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Equal => {}
            similar::ChangeTag::Delete => panic!("a line was removed: {change}"),
            similar::ChangeTag::Insert => {
                let index = change.new_index().unwrap();
                // The collection a changed line belongs to: the nearest `name` line under a
                // collection header above it.
                let collection = new_lines[..index]
                    .iter()
                    .rposition(|line| line.ends_with("_rule_collection {"))
                    .map(|header| new_lines[header + 1].trim().to_owned())
                    .unwrap();
                changed_collections.insert(collection);
            }
        }
    }
    assert_eq!(
        changed_collections.into_iter().collect::<Vec<_>>(),
        [r#"name     = "rcg-azureml-application-packages""#]
    );
}

/// A scenario of `count` workspaces in one region with the same features.
fn workspaces_scenario(count: usize) -> String {
    let mut text = String::from("version: 1\ncloud: public\nworkspaces:\n");
    for n in 1..=count {
        text.push_str(&format!(
            "  - name: mlw-{n:03}\n    region: eastus2\n    storage_account: stml{n:03}\n    compute_subnets: [10.{}.{}.0/24]\n    compute: {{ instances: true, clusters: true }}\n    features: [python, vscode]\n",
            n / 256,
            n % 256
        ));
    }
    text.push_str("outputs:\n  nsg: true\n  route_table: { firewall_private_ip: 10.0.0.4 }\n");
    text
}

#[test]
fn a_new_workspace_adds_one_line_to_each_shared_source_list_and_changes_no_rule() {
    // Issue 15, item 5: merged rules refer to shared source lists, so a workspace that
    // joins every list changes no rule; before, every merged rule's inline list grew.
    let catalog = Catalog::embedded();
    let (_, before) = plan_and_module(&workspaces_scenario(40), &catalog);
    let (_, after) = plan_and_module(&workspaces_scenario(41), &catalog);
    for rules in ["terraform/main.tf", "terraform/main.nsg.tf"] {
        assert_eq!(before[rules], after[rules], "{rules} changed");
    }
    let old = &before["terraform/locals.tf"];
    let new = &after["terraform/locals.tf"];
    let lists = new.matches("= distinct(concat(").count();
    assert!(lists >= 1, "no shared list in\n{new}");
    let mut inserted = Vec::new();
    for change in similar::TextDiff::from_lines(old, new).iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Equal => {}
            // The list's last line gains its comma: the one removed line per list.
            similar::ChangeTag::Delete => assert!(
                change.value().trim_end().ends_with(r#"["mlw-040"]"#),
                "removed: {change}"
            ),
            similar::ChangeTag::Insert => inserted.push(change.value().trim().to_owned()),
        }
    }
    let added = inserted
        .iter()
        .filter(|line| line.contains(r#"["mlw-041"]"#))
        .count();
    assert_eq!(added, lists, "one new line per list: {inserted:?}");
    assert_eq!(inserted.len(), 2 * lists, "{inserted:?}");
    // The module stays linear in the workspaces: each rule is one reference line.
    let main = &after["terraform/main.tf"];
    assert_eq!(
        main.matches("compute_subnet_address_prefixes").count(),
        0,
        "{main}"
    );
}

/// The `var.` and `local.` names an expression refers to.
fn references(expression: &hcl::Expression) -> Vec<(String, String)> {
    // The printed expression is the simplest complete walk: every traversal prints as
    // `root.name...`, and string literals cannot hold `var.` in these modules' for_each.
    let text = expression.to_string();
    let mut found = Vec::new();
    for root in ["var", "local"] {
        let needle = format!("{root}.");
        let mut rest = text.as_str();
        while let Some(at) = rest.find(&needle) {
            let before = rest[..at].chars().next_back();
            let name: String = rest[at + needle.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                found.push((root.to_owned(), name));
            }
            rest = &rest[at + needle.len()..];
        }
    }
    found
}

/// Every `for_each` and `count` of every golden module is known at plan time: it reads no
/// variable, directly or through locals. A caller passing `azurerm_subnet.x.id` of a
/// subnet created in the same apply would otherwise get "Invalid for_each argument".
#[test]
fn every_for_each_key_is_known_at_plan_time() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (case, dir) in golden_cases().into_iter().flat_map(|case| {
        support::module_dirs(&case, "terraform")
            .into_iter()
            .map(move |dir| (case.clone(), dir))
    }) {
        let mut files = RenderedFiles::new();
        for entry in fs::read_dir(&dir).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "tf") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                files.insert(name, fs::read_to_string(&path).unwrap());
            }
        }
        let bodies = support::parse_module(&files);
        let mut locals = std::collections::BTreeMap::new();
        for (_, body) in &bodies {
            for block in body.blocks().filter(|b| b.identifier.as_str() == "locals") {
                for attribute in block.body.attributes() {
                    locals.insert(attribute.key.to_string(), attribute.expr.clone());
                }
            }
        }
        for (path, body) in &bodies {
            for block in body.blocks() {
                for attribute in block.body.attributes() {
                    if !matches!(attribute.key.as_str(), "for_each" | "count") {
                        continue;
                    }
                    checked += 1;
                    // Follow locals to the variables they read.
                    let mut pending = references(&attribute.expr);
                    let mut seen = std::collections::BTreeSet::new();
                    while let Some((root, name)) = pending.pop() {
                        if !seen.insert((root.clone(), name.clone())) {
                            continue;
                        }
                        match root.as_str() {
                            "var" => failures.push(format!(
                                "{case}/{path}: {} {:?}: for_each reads var.{name}",
                                block.identifier, block.labels
                            )),
                            _ => pending
                                .extend(locals.get(&name).map(references).unwrap_or_default()),
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} for_each found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The NSG rules of a module: (NSG region, direction, rule name) -> priority.
fn nsg_priorities(
    files: &RenderedFiles,
) -> std::collections::BTreeMap<(String, String, String), i64> {
    let mut priorities = std::collections::BTreeMap::new();
    let Some(text) = files.get("terraform/main.nsg.tf") else {
        return priorities;
    };
    let body = hcl::parse(text).unwrap();
    for block in body.blocks() {
        let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
        if labels.first() != Some(&"azurerm_network_security_rule") {
            continue;
        }
        let attribute = |key: &str| {
            block
                .body
                .attributes()
                .find(|a| a.key.as_str() == key)
                .map(|a| a.expr.to_string())
                .unwrap()
        };
        let nsg = attribute("network_security_group_name");
        let priority: i64 = attribute("priority").parse().unwrap();
        priorities.insert((nsg, attribute("direction"), attribute("name")), priority);
    }
    priorities
}

/// A rule's NSG priority depends on that rule alone: adding a public-IP workspace beside
/// a no-public-IP cluster in one region (2022-09: two new inbound rules) moves no existing
/// rule, and no two rules of one NSG and direction share a priority. Terraform updates a
/// moved rule in parallel with the new ones, and Azure refuses two rules on one priority.
#[test]
fn adding_rules_moves_no_nsg_priority() {
    let catalog = Catalog::embedded();
    let before = "version: 1\ncloud: public\ncatalog: \"2022-09\"\nworkspaces:\n  - name: mlw-npip\n    region: centralus\n    compute_subnets: [10.72.1.0/24]\n    compute: { clusters: true, public_ip: false }\noutputs:\n  nsg: true\n";
    let after = format!(
        "{}{}",
        before.replace("outputs:\n  nsg: true\n", ""),
        "  - name: mlw-pip\n    region: centralus\n    compute_subnets: [10.72.2.0/24]\n    compute: { clusters: true, public_ip: true }\noutputs:\n  nsg: true\n"
    );
    let (_, old) = plan_and_module(before, &catalog);
    let (_, new) = plan_and_module(&after, &catalog);
    let (old, new) = (nsg_priorities(&old), nsg_priorities(&new));
    assert!(old.len() >= 2 && new.len() > old.len(), "{old:?}\n{new:?}");
    for (rule, priority) in &old {
        assert_eq!(
            new.get(rule),
            Some(priority),
            "{rule:?} moved: {old:?} -> {new:?}"
        );
    }
    let mut taken = std::collections::BTreeSet::new();
    for ((nsg, direction, _), priority) in &new {
        assert!(
            taken.insert((nsg, direction, priority)),
            "two rules on {priority} in {nsg} {direction}: {new:?}"
        );
    }
}

/// The resource types of a Terraform module, with the number of each.
fn resource_types(files: &RenderedFiles) -> std::collections::BTreeMap<String, usize> {
    let mut types = std::collections::BTreeMap::new();
    for (_, body) in support::parse_module(files) {
        for block in body
            .blocks()
            .filter(|b| b.identifier.as_str() == "resource")
        {
            if let Some(label) = block.labels.first() {
                *types.entry(label.as_str().to_owned()).or_insert(0) += 1;
            }
        }
    }
    types
}

/// What an existing-mode module must never declare: the NSG or route table it joins, or an
/// association (a subnet has one of each; replacing the spoke's would drop its rules).
fn forbidden_in_existing_mode(
    plan: &Plan,
    types: &std::collections::BTreeMap<String, usize>,
) -> Vec<String> {
    let mut forbidden = Vec::new();
    if plan.outputs.nsg_existing {
        forbidden.extend([
            "azurerm_network_security_group",
            "azurerm_subnet_network_security_group_association",
        ]);
    }
    if plan.outputs.route_table_existing {
        forbidden.extend([
            "azurerm_route_table",
            "azurerm_subnet_route_table_association",
        ]);
    }
    forbidden
        .into_iter()
        .filter(|t| types.contains_key(*t))
        .map(str::to_owned)
        .collect()
}

#[test]
fn existing_mode_never_declares_the_nsg_route_table_or_an_association() {
    let catalog = Catalog::embedded();
    let mut checked = 0;
    for case in golden_cases() {
        let plan = support::golden_plan(&case, &catalog);
        if !plan.outputs.nsg_existing && !plan.outputs.route_table_existing {
            continue;
        }
        checked += 1;
        let files = render(&plan, Target::Terraform, "scenario.yaml").unwrap();
        let types = resource_types(&files);
        assert_eq!(
            forbidden_in_existing_mode(&plan, &types),
            Vec::<String>::new(),
            "{case}"
        );
        // The rules and routes are there, into the existing resources.
        if plan.outputs.nsg_existing {
            assert!(
                types.contains_key("azurerm_network_security_rule"),
                "{case}"
            );
        }
        if plan.outputs.route_table_existing {
            assert!(types.contains_key("azurerm_route"), "{case}");
        }
    }
    assert!(checked >= 2, "only {checked} golden cases in existing mode");
    // The check can fail: the same scenario in create mode declares them.
    let text = std::fs::read_to_string(root().join("golden/landing-zone/scenario.yaml"))
        .unwrap()
        .replace("existing: true, ", "");
    let (created, files) = plan_and_module(&text, &catalog);
    let mut as_if_existing = created.clone();
    as_if_existing.outputs.nsg_existing = true;
    as_if_existing.outputs.route_table_existing = true;
    assert_eq!(
        forbidden_in_existing_mode(&as_if_existing, &resource_types(&files)),
        ["azurerm_network_security_group", "azurerm_route_table"]
    );
}
