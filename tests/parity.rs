//! Terraform and Bicep carry the same rules: both modules are read back and compared with
//! the plan and with each other, for every golden case.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use support::{golden_cases, root};

use std::fs;

use amlfw::catalog::Catalog;
use amlfw::render::bicep::{BicepModel, render_model};
use amlfw::render::{Target, render};
use amlfw::{planner, scenario};

#[test]
fn terraform_and_bicep_hold_the_same_rules_as_the_plan() {
    let catalog = Catalog::embedded();
    let mut failures = String::new();
    for case in golden_cases() {
        let plan = support::golden_plan(&case, &catalog);
        let files = render(&plan, Target::All, "scenario.yaml").unwrap();
        let expected = support::plan_facts(&plan);
        let terraform = support::module_facts(&files);
        let bicep = support::bicep::module_facts(&files);
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
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn the_parity_check_notices_a_template_that_drops_a_rule() {
    let catalog = Catalog::embedded();
    let text = fs::read_to_string(root().join("examples/full-public.yaml")).unwrap();
    let scenario = scenario::load(&text, "scenario.yaml", &catalog).unwrap();
    let plan = planner::plan(&scenario, &catalog).unwrap();
    let mut model = BicepModel::new(&plan, "scenario.yaml").unwrap();
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
    let bicep_files = render_model(&model).unwrap();
    let terraform_files = render(&plan, Target::Terraform, "scenario.yaml").unwrap();
    let difference = support::difference(
        &support::module_facts(&terraform_files),
        &support::bicep::module_facts(&bicep_files),
    );
    assert!(
        difference.contains(&format!("name: \"{dropped}\"")),
        "{difference}"
    );
    assert!(
        difference.contains(&format!("name: \"{dropped_route}\"")),
        "{difference}"
    );
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
        let module = &files["bicep/modules/rule-collection-group.bicep"];
        interpolated += module.matches("${environment().suffixes.").count();
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
