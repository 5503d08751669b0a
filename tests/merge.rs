//! Merged rules keep their names across catalog revisions (issue 12, points 4 and 7): a
//! rule is named after the one requirement it realizes, so `amlfw diff` never reports it
//! removed because another requirement now allows the same traffic.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use amlfw::catalog::Catalog;
use amlfw::diff::PlanDiff;
use amlfw::plan::{Plan, RuleKind};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Golden scenarios that plan without a service tag file, under every revision.
const CASES: [&str; 7] = [
    "full-public",
    "hosts-public-all-features",
    "hub-two-regions",
    "merged-three-workspaces",
    "twenty-workspaces",
    "usgov-hosts",
    "extra-fqdns",
];

fn plan_under(case: &str, revision: &str, catalog: &Catalog) -> Plan {
    let file = format!("golden/{case}/scenario.yaml");
    let text = std::fs::read_to_string(root().join(&file)).unwrap();
    let mut scenario = amlfw::scenario::load(&text, &file, catalog).unwrap();
    scenario.catalog_requested = revision.to_owned();
    scenario.catalog_revision = catalog.resolve_revision(revision).unwrap().to_owned();
    amlfw::planner::plan(&scenario, catalog)
        .unwrap_or_else(|errors| panic!("{case} under {revision}: {errors:?}"))
}

/// How the ids of a requirement's rules begin.
fn id_stem(requirement: &str) -> &str {
    // The planner names the rules of a scenario's `extra_fqdns` `extra-<host>`.
    if requirement == "scenario-extra-fqdns" {
        "extra-"
    } else {
        requirement
    }
}

#[test]
fn every_rule_but_a_route_realizes_the_one_requirement_it_is_named_after() {
    let catalog = Catalog::embedded();
    let mut wrong = Vec::new();
    for case in CASES {
        for revision in ["2022-09", "latest"] {
            for rule in plan_under(case, revision, &catalog).rules {
                if rule.kind == RuleKind::Route {
                    continue;
                }
                let named_after = rule.requirements.len() == 1
                    && rule.id.starts_with(id_stem(&rule.requirements[0]));
                if !named_after {
                    wrong.push(format!(
                        "{case} ({revision}): `{}` realizes {:?}",
                        rule.id, rule.requirements
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_catalog_update_moves_no_requirement_under_another_name() {
    let catalog = Catalog::embedded();
    let mut wrong = Vec::new();
    for case in CASES {
        let old = plan_under(case, "2022-09", &catalog);
        let new = plan_under(case, "latest", &catalog);
        let diff = PlanDiff::new("2022-09", &old, "latest", &new);
        for removed in &diff.removed {
            for requirement in &removed.requirements {
                // The requirement's traffic now under another requirement's name: an
                // address change for nothing. (An id that only changes its suffix, as
                // when a revision makes a per-region rule per-workspace, is a real change
                // of what the rule is, and a `moved` block's business.)
                let elsewhere: Vec<&str> = new
                    .rules
                    .iter()
                    .filter(|r| {
                        r.requirements.contains(requirement)
                            && !r.id.starts_with(id_stem(requirement))
                    })
                    .map(|r| r.id.as_str())
                    .collect();
                if !elsewhere.is_empty() {
                    wrong.push(format!(
                        "{case}: `{}` reported removed, but its requirement `{requirement}` is realized by {elsewhere:?}",
                        removed.id
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn pypi_host_is_changed_not_removed_from_2022_09_to_latest() {
    let output = Command::new(env!("CARGO_BIN_EXE_amlfw"))
        .args([
            "diff",
            "golden/full-public/scenario.yaml",
            "--catalog-from",
            "2022-09",
            "--catalog-to",
            "latest",
        ])
        .current_dir(root())
        .env_remove("CI")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" pypi-host") || l.contains(" extra-github-com"))
        .collect();
    // 2022-09 allows pypi.org on Http:80 and Https:443, the latest revision on Https:443
    // only; the user's own github.com rule is unchanged.
    assert_eq!(
        lines,
        [
            "~ firewall-application pypi-host: ports -80; protocols -Http,Http:80  [pypi-host (Recommended configuration for training and deploying models (Python hosts include))]"
        ],
        "{text}"
    );
}
