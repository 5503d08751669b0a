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
