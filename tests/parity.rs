//! Terraform and Bicep carry the same rules: both modules are read back and compared with
//! the plan and with each other, for every golden case in every layout (the union of the
//! hub and spoke modules for `outputs.layout: split`), NSG priorities included. Bicep's
//! existing mode only reads the NSGs, route tables and subnets it joins, and its create
//! mode associates each compute subnet ID once.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use support::bicep::{Declaration, Priorities, Value};
use support::{golden_cases, root};

use std::collections::BTreeSet;
use std::fs;

use amlfw::catalog::{Catalog, Direction};
use amlfw::plan::{Plan, RuleKind};
use amlfw::render::bicep::{BicepModel, NsgRuleView, render_model};
use amlfw::render::{RenderedFiles, Target, render};
use amlfw::{planner, scenario};
use hcl::expr::{Expression, TraversalOperator};

/// The NSG priority of every NSG rule of the plan.
fn plan_priorities(plan: &Plan) -> Priorities {
    plan.rules
        .iter()
        .filter(|rule| rule.kind == RuleKind::Nsg)
        .map(|rule| {
            let direction = match rule.direction {
                Direction::Inbound => "Inbound",
                Direction::Outbound => "Outbound",
            };
            (
                (rule.region.clone().unwrap_or_default(), rule.id.clone()),
                (direction.to_owned(), plan.nsg_priority(rule).unwrap()),
            )
        })
        .collect()
}

/// The priority of every `azurerm_network_security_rule` of the Terraform modules, its
/// region read from the NSG it names (`...["<region>"].name`).
fn terraform_priorities(files: &RenderedFiles) -> Priorities {
    let mut priorities = Priorities::new();
    for (_, body) in support::parse_module(files) {
        for block in body.blocks().filter(|b| {
            b.identifier.as_str() == "resource"
                && b.labels[0].as_str() == "azurerm_network_security_rule"
        }) {
            let attribute = |key: &str| {
                block
                    .body
                    .attributes()
                    .find(|a| a.key.as_str() == key)
                    .map(|a| a.expr.clone())
                    .unwrap_or_else(|| panic!("no {key}"))
            };
            let text = |key: &str| match attribute(key) {
                Expression::String(text) => text,
                Expression::Number(number) => number.to_string(),
                other => panic!("{key}: {other:?}"),
            };
            let Expression::Traversal(nsg) = attribute("network_security_group_name") else {
                panic!("network_security_group_name is no reference")
            };
            let region = nsg
                .operators
                .iter()
                .find_map(|op| match op {
                    TraversalOperator::Index(Expression::String(region)) => Some(region.clone()),
                    _ => None,
                })
                .unwrap();
            priorities.insert(
                (region, text("name")),
                (text("direction"), text("priority").parse().unwrap()),
            );
        }
    }
    priorities
}

/// A readable difference of two priority maps, empty when equal.
fn priority_difference(expected: &Priorities, module: &Priorities) -> String {
    let mut out = String::new();
    for (key, value) in expected {
        if module.get(key) != Some(value) {
            out.push_str(&format!(
                "  {key:?}: {value:?} in the plan, {:?} in the module\n",
                module.get(key)
            ));
        }
    }
    for key in module.keys().filter(|key| !expected.contains_key(*key)) {
        out.push_str(&format!("  {key:?}: only in the module\n"));
    }
    out
}

/// Every difference between the plan and the Bicep modules of `files` (rules and NSG
/// priorities), and between them and the Terraform modules.
fn parity_failures(case: &str, plan: &Plan, files: &RenderedFiles) -> String {
    let mut failures = String::new();
    let expected = support::plan_facts(plan);
    let terraform = support::module_facts(files);
    let bicep = support::bicep::module_facts(files);
    for (label, facts) in [("terraform", &terraform), ("bicep", &bicep)] {
        let difference = support::difference(&expected, facts);
        if !difference.is_empty() {
            failures.push_str(&format!("{case} ({label}):\n{difference}"));
        }
    }
    if terraform != bicep {
        failures.push_str(&format!(
            "{case}: terraform and bicep differ\n{}",
            support::difference(&terraform, &bicep)
        ));
    }
    let priorities = plan_priorities(plan);
    for (label, module) in [
        ("terraform", terraform_priorities(files)),
        ("bicep", support::bicep::nsg_priorities(files)),
    ] {
        let difference = priority_difference(&priorities, &module);
        if !difference.is_empty() {
            failures.push_str(&format!("{case} ({label} NSG priorities):\n{difference}"));
        }
    }
    failures
}

#[test]
fn terraform_and_bicep_hold_the_same_rules_as_the_plan() {
    let catalog = Catalog::embedded();
    let mut failures = String::new();
    let mut layouts = BTreeSet::new();
    let mut priorities = 0;
    for case in golden_cases() {
        let plan = support::golden_plan(&case, &catalog);
        let files = render(&plan, Target::All, "scenario.yaml").unwrap();
        layouts.insert(support::bicep::module_roots(&files));
        priorities += plan_priorities(&plan).len();
        failures.push_str(&parity_failures(&case, &plan, &files));
    }
    assert!(failures.is_empty(), "{failures}");
    // The golden cases hold both layouts, and NSG rules whose priorities were compared.
    assert!(
        layouts.contains(&vec!["bicep/".to_owned()])
            && layouts.contains(&vec!["hub/bicep/".to_owned(), "spoke/bicep/".to_owned()]),
        "{layouts:?}"
    );
    assert!(priorities > 20, "{priorities}");
}

/// A golden case's plan and its Bicep models, one per module of its layout.
fn models(case: &str) -> (Plan, Vec<BicepModel>) {
    let plan = support::golden_plan(case, &Catalog::embedded());
    let models = BicepModel::parts(&plan, "scenario.yaml").unwrap();
    (plan, models)
}

/// The files of deliberately changed models, with the plan's Terraform modules.
fn files_of(plan: &Plan, models: &[BicepModel]) -> RenderedFiles {
    let mut files = render(plan, Target::Terraform, "scenario.yaml").unwrap();
    for model in models {
        files.extend(render_model(model).unwrap());
    }
    files
}

#[test]
fn the_parity_check_notices_a_template_that_drops_a_rule() {
    let catalog = Catalog::embedded();
    let text = fs::read_to_string(root().join("examples/full-public.yaml")).unwrap();
    let scenario = scenario::load(&text, "scenario.yaml", &catalog).unwrap();
    let plan = planner::plan(&scenario, &catalog).unwrap();
    let mut models = BicepModel::parts(&plan, "scenario.yaml").unwrap();
    let model = &mut models[0];
    // A deliberately broken view model: one application rule and one route are lost.
    let dropped = model
        .collections
        .last_mut()
        .unwrap()
        .rules
        .pop()
        .unwrap()
        .name;
    let dropped_route = model.route_tables[0].routes.pop().unwrap().name;
    let difference = parity_failures("full-public", &plan, &files_of(&plan, &models));
    assert!(
        difference.contains(&format!("name: \"{dropped}\"")),
        "{difference}"
    );
    assert!(
        difference.contains(&format!("name: \"{dropped_route}\"")),
        "{difference}"
    );
}

/// The rules of the model's first NSG, created or existing.
fn nsg_rules(model: &mut BicepModel) -> &mut Vec<NsgRuleView> {
    if model.nsgs.is_empty() {
        &mut model.existing_nsgs[0].rules
    } else {
        &mut model.nsgs[0].rules
    }
}

#[test]
fn the_parity_check_notices_a_lost_rule_or_priority_in_each_layout() {
    // Split and existing (child resources in per-region modules), split and create (inline
    // rules in the spoke), combined and existing.
    for case in ["landing-zone", "split-two-regions", "existing-network"] {
        let (plan, models) = models(case);
        assert!(parity_failures(case, &plan, &files_of(&plan, &models)).is_empty());
        let network = models.len() - 1;
        let mut lost = models.clone();
        let name = nsg_rules(&mut lost[network]).pop().unwrap().name;
        let failures = parity_failures(case, &plan, &files_of(&plan, &lost));
        assert!(
            failures.contains(&format!("name: \"{name}\"")),
            "{case}: {failures}"
        );
        assert!(failures.contains("NSG priorities"), "{case}: {failures}");
        let mut moved = models.clone();
        let rule = &mut nsg_rules(&mut moved[network])[0];
        rule.priority += 1;
        let name = rule.name.clone();
        let failures = parity_failures(case, &plan, &files_of(&plan, &moved));
        assert!(
            failures.contains("bicep NSG priorities") && failures.contains(&name),
            "{case}: {failures}"
        );
    }
}

/// What Bicep's existing mode must never do, in `files` rendered for `plan`: declare an
/// NSG, a route table or a subnet as a resource it deploys (only `existing` ones, with
/// child rules and routes whose parent is such an existing resource), or set a subnet's
/// NSG or route table that it did not create.
fn existing_mode_violations(plan: &Plan, files: &RenderedFiles) -> Vec<String> {
    let mut violations = Vec::new();
    let nsg = plan.outputs.nsg && plan.outputs.nsg_existing;
    let route_table = plan.outputs.route_table && plan.outputs.route_table_existing;
    for (path, text) in files.iter().filter(|(path, _)| path.ends_with(".bicep")) {
        let declarations = support::bicep::resources(text);
        let existing: BTreeSet<(&str, &str)> = declarations
            .iter()
            .filter(|d| d.existing)
            .map(|d| (d.symbol.as_str(), d.kind.split('@').next().unwrap()))
            .collect();
        for declaration in declarations.iter().filter(|d| !d.existing) {
            let kind = declaration.kind.split('@').next().unwrap();
            // The kind of the `existing` resource the declaration's parent is, if any.
            let parent = match declaration.get("parent") {
                Some(Value::Expression(symbol)) => existing
                    .iter()
                    .find(|(s, _)| s == symbol)
                    .map(|(_, kind)| *kind),
                _ => None,
            };
            let what = match kind {
                "Microsoft.Network/networkSecurityGroups" if nsg => "creates an NSG",
                "Microsoft.Network/routeTables" if route_table => "creates a route table",
                "Microsoft.Network/virtualNetworks/subnets" if nsg && route_table => {
                    "writes a subnet"
                }
                "Microsoft.Network/networkSecurityGroups/securityRules"
                    if parent != Some("Microsoft.Network/networkSecurityGroups") =>
                {
                    "is a rule of no existing NSG"
                }
                "Microsoft.Network/routeTables/routes"
                    if parent != Some("Microsoft.Network/routeTables") =>
                {
                    "is a route of no existing route table"
                }
                _ => continue,
            };
            violations.push(format!("{path}: {} {what}", declaration.symbol));
        }
        // The association module sets only what this module creates.
        for declaration in declarations.iter().filter(|d| d.keyword == "module") {
            let arguments = declaration.get("params").map(Value::entries).unwrap_or(&[]);
            for (argument, what) in [
                ("networkSecurityGroupResourceId", nsg),
                ("routeTableResourceId", route_table),
            ] {
                if what && arguments.iter().any(|(name, _)| name == argument) {
                    violations.push(format!(
                        "{path}: {} sets an existing-mode {argument}",
                        declaration.symbol
                    ));
                }
            }
        }
    }
    violations
}

#[test]
fn bicep_existing_mode_only_reads_the_nsgs_route_tables_and_subnets_it_joins() {
    let catalog = Catalog::embedded();
    let mut checked = Vec::new();
    let mut children = 0;
    for case in golden_cases() {
        let plan = support::golden_plan(&case, &catalog);
        let files = render(&plan, Target::Bicep, "scenario.yaml").unwrap();
        let violations = existing_mode_violations(&plan, &files);
        assert!(violations.is_empty(), "{case}: {violations:#?}");
        if plan.outputs.nsg_existing || plan.outputs.route_table_existing {
            checked.push(case);
            children += files
                .values()
                .flat_map(|text| support::bicep::resources(text))
                .filter(|d: &Declaration| d.get("parent").is_some() && !d.existing)
                .count();
        }
    }
    assert!(
        checked.len() >= 2 && children >= 6,
        "{checked:?}, {children}"
    );
}

#[test]
fn the_existing_mode_check_notices_a_created_nsg_or_route_table() {
    // The same scenario in create mode, checked as if it were in existing mode.
    let (plan, _) = models("existing-network");
    let mut created = plan.clone();
    created.outputs.nsg_existing = false;
    created.outputs.route_table_existing = false;
    let files = render(&created, Target::Bicep, "scenario.yaml").unwrap();
    let violations = existing_mode_violations(&plan, &files).join("\n");
    for what in ["creates an NSG", "creates a route table", "writes a subnet"] {
        assert!(violations.contains(what), "{what}: {violations}");
    }
}

/// Each association module's subnet ID: (workspace, position) from
/// `computeSubnetResourceIds['<workspace>'][<position>]`, and the ID its default gives.
fn associations(files: &RenderedFiles) -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    for root in support::bicep::module_roots(files) {
        let main = &files[&format!("{root}main.bicep")];
        let defaults = support::bicep::declarations(main)
            .into_iter()
            .find(|(keyword, name, ..)| keyword == "param" && name == "computeSubnetResourceIds")
            .map(|(.., value)| value);
        for declaration in support::bicep::resources(main) {
            if declaration.kind != "modules/subnet-association.bicep" {
                continue;
            }
            let Some(Value::Expression(id)) = declaration
                .get("params")
                .and_then(|params| params.get("subnetResourceId"))
            else {
                panic!("{}: no subnetResourceId", declaration.symbol)
            };
            let (workspace, index) = id
                .strip_prefix("computeSubnetResourceIds['")
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|rest| rest.split_once("']["))
                .unwrap_or_else(|| panic!("{id}"));
            let index: usize = index.parse().unwrap();
            let Some(Value::Array(ids)) = defaults.as_ref().and_then(|d| d.get(workspace)) else {
                panic!("no default for {workspace}")
            };
            let Value::String(default) = &ids[index] else {
                panic!("{workspace}[{index}]")
            };
            out.push((workspace.to_owned(), index, default.clone()));
        }
    }
    out
}

/// The associations the plan asks for: each compute subnet ID, when the module creates
/// the NSGs or the route tables it would set.
fn planned_associations(plan: &Plan) -> Vec<(String, usize, String)> {
    let creates = (plan.outputs.nsg && !plan.outputs.nsg_existing)
        || (plan.outputs.route_table && !plan.outputs.route_table_existing);
    plan.workspaces
        .iter()
        .filter(|_| creates)
        .flat_map(|w| {
            w.compute_subnet_ids
                .iter()
                .enumerate()
                .map(|(index, id)| (w.name.clone(), index, id.clone()))
        })
        .collect()
}

#[test]
fn bicep_create_mode_associates_each_compute_subnet_id_once() {
    let catalog = Catalog::embedded();
    let mut associated = 0;
    for case in golden_cases() {
        let plan = support::golden_plan(&case, &catalog);
        let files = render(&plan, Target::Bicep, "scenario.yaml").unwrap();
        let found = associations(&files);
        assert_eq!(found, planned_associations(&plan), "{case}");
        associated += found.len();
    }
    // Combined and split cases name subnet IDs.
    assert!(associated >= 5, "{associated}");
}

#[test]
fn the_association_check_notices_a_lost_association() {
    let (plan, mut models) = models("split-two-regions");
    let spoke = models.last_mut().unwrap();
    let lost = spoke.subnet_associations.pop().unwrap();
    let files = files_of(&plan, &models);
    let found = associations(&files);
    assert_ne!(found, planned_associations(&plan));
    assert!(
        !found
            .iter()
            .any(|(w, i, _)| *w == lost.workspace && *i == lost.index)
    );
}

#[test]
fn split_modules_do_not_refer_to_each_other() {
    let catalog = Catalog::embedded();
    for case in golden_cases() {
        let plan = support::golden_plan(&case, &catalog);
        let files = render(&plan, Target::Bicep, "scenario.yaml").unwrap();
        for (path, text) in &files {
            let hub = path.starts_with("hub/");
            let spoke = path.starts_with("spoke/");
            // A module path out of its own tree, or a part's resources in the other part.
            assert!(
                !text.contains("'../"),
                "{case}: {path} refers outside its module"
            );
            let declarations = support::bicep::resources(text);
            if spoke && path.ends_with(".bicep") {
                assert!(!text.contains("firewallPolicyResourceId"), "{case}: {path}");
                assert!(
                    !text.contains("rule-collection-group.bicep"),
                    "{case}: {path}"
                );
            }
            if hub {
                for d in &declarations {
                    assert!(
                        !d.kind
                            .starts_with("Microsoft.Network/networkSecurityGroups")
                            && !d.kind.starts_with("Microsoft.Network/routeTables")
                            && !d.kind.starts_with("Microsoft.Network/virtualNetworks"),
                        "{case}: {path} declares {}",
                        d.kind
                    );
                }
            }
        }
    }
}

/// `environment().name` of each scenario cloud.
fn environment_name(cloud: amlfw::catalog::Cloud) -> &'static str {
    match cloud {
        amlfw::catalog::Cloud::Public => "AzureCloud",
        amlfw::catalog::Cloud::Usgov => "AzureUSGovernment",
        amlfw::catalog::Cloud::China => "AzureChinaCloud",
    }
}

#[test]
fn bicep_hosts_spell_cloud_suffixes_with_environment() {
    // Bicep's linter rule no-hardcoded-env-urls flags literal `core.windows.net`-style
    // hosts; every one that `environment().suffixes` can express must be interpolated.
    let catalog = Catalog::embedded();
    let mut literal = Vec::new();
    let mut interpolated = 0;
    for case in golden_cases() {
        let plan = support::golden_plan(&case, &catalog);
        let files = render(&plan, Target::Bicep, "scenario.yaml").unwrap();
        interpolated += files
            .iter()
            .filter(|(path, _)| path.ends_with("modules/rule-collection-group.bicep"))
            .map(|(_, module)| module.matches("${environment().suffixes.").count())
            .sum::<usize>();
        let suffixes = support::bicep::environment_suffixes(environment_name(plan.cloud));
        for destination in support::bicep::literal_destinations(&files) {
            let host = destination.split(['/', ':']).next().unwrap().to_lowercase();
            if let Some((suffix, _)) = suffixes
                .iter()
                .find(|(_, value)| host.ends_with(&format!(".{}", value.trim_start_matches('.'))))
            {
                literal.push(format!("{case}: {destination} (suffixes.{suffix})"));
            }
        }
    }
    assert!(literal.is_empty(), "literal hosts:\n{}", literal.join("\n"));
    // The golden cases hold storage, key vault and registry hosts: the check saw some.
    assert!(interpolated > 10, "{interpolated}");
}

#[test]
fn the_prefixes_parameter_is_typed_with_one_key_per_workspace() {
    let catalog = Catalog::embedded();
    for case in ["merged-three-workspaces", "minimal"] {
        let plan = support::golden_plan(case, &catalog);
        let files = render(&plan, Target::Bicep, "scenario.yaml").unwrap();
        let module =
            support::bicep::declarations(&files["bicep/modules/rule-collection-group.bicep"]);
        let main = support::bicep::declarations(&files["bicep/main.bicep"]);
        let (.., shape) = module
            .iter()
            .find(|(keyword, name, ..)| {
                keyword == "type" && name == "computeSubnetAddressPrefixesType"
            })
            .unwrap_or_else(|| panic!("{case}: no computeSubnetAddressPrefixesType"));
        let support::bicep::Value::Object(keys) = shape else {
            panic!("{case}: {shape:?}")
        };
        let keys: Vec<&str> = keys.iter().map(|(key, _)| key.as_str()).collect();
        let workspaces: Vec<&str> = plan.workspaces.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(keys, workspaces, "{case}");
        // The module's parameter has no default, so no declaration `declarations` reads.
        for file in [
            "bicep/modules/rule-collection-group.bicep",
            "bicep/main.bicep",
        ] {
            let typed = files[file].lines().any(|line| {
                line.starts_with(
                    "param computeSubnetAddressPrefixes computeSubnetAddressPrefixesType",
                )
            });
            assert!(typed, "{case} {file}: the parameter is not typed");
        }
        assert!(
            main.iter()
                .any(|(keyword, name, kind, _)| keyword == "param"
                    && name == "computeSubnetAddressPrefixes"
                    && kind == "computeSubnetAddressPrefixesType"),
            "{case}: main.bicep's parameter"
        );
    }
}

/// The type of `name` declared in `text`, as its keys.
fn type_keys(text: &str, name: &str) -> Option<Vec<String>> {
    support::bicep::declarations(text)
        .into_iter()
        .find(|(keyword, declared, ..)| keyword == "type" && declared == name)
        .map(|(.., shape)| shape.entries().iter().map(|(k, _)| k.clone()).collect())
}

#[test]
fn split_and_existing_parameters_are_typed_by_workspace_and_region() {
    let catalog = Catalog::embedded();
    for case in ["landing-zone", "split-two-regions", "existing-network"] {
        let plan = support::golden_plan(case, &catalog);
        let files = render(&plan, Target::Bicep, "scenario.yaml").unwrap();
        let root = support::bicep::module_roots(&files).pop().unwrap();
        let main = &files[&format!("{root}main.bicep")];
        let workspaces: Vec<String> = plan.workspaces.iter().map(|w| w.name.clone()).collect();
        // The spoke declares the prefixes type itself; the combined module imports it.
        if root.starts_with("spoke/") {
            assert_eq!(
                type_keys(main, "computeSubnetAddressPrefixesType"),
                Some(workspaces),
                "{case}"
            );
            assert!(
                !main.contains("import "),
                "{case}: the spoke imports a type"
            );
        }
        for (toggle, parameter, kind) in [
            (
                plan.outputs.nsg_existing,
                "existingNetworkSecurityGroups",
                "existingNetworkSecurityGroupsType",
            ),
            (
                plan.outputs.route_table_existing,
                "existingRouteTables",
                "existingRouteTablesType",
            ),
        ] {
            let declared = main
                .lines()
                .any(|line| line == format!("param {parameter} {kind}"));
            assert_eq!(declared, toggle, "{case}: {parameter}");
            if toggle {
                assert_eq!(
                    type_keys(main, kind),
                    Some(plan.regions()),
                    "{case}: {kind}"
                );
                assert_eq!(
                    type_keys(main, "existingResourceType"),
                    Some(vec!["name".to_owned(), "resourceGroupName".to_owned()]),
                    "{case}"
                );
            }
        }
    }
}
