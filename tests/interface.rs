//! A module's interface is fixed per layout: a catalog update (same scenario, another
//! revision) never adds, removes, renames or retypes a Terraform `variable` or `output`,
//! a Bicep `param` or `output`, nor changes the shape of a default. Only scenario toggles
//! (`outputs.nsg`, `outputs.route_table`, `firewall.destinations`, ...) may. Callers pass
//! arguments by name, so a variable that comes and goes with the catalog breaks their root
//! configuration on a routine regeneration.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use amlfw::catalog::{Catalog, Cloud, CloudEndpoints, Endpoint};
use amlfw::plan::Plan;
use amlfw::planner::{self, AddressOptions};
use amlfw::render::{RenderedFiles, Target, render};
use amlfw::scenario;
use amlfw::service_tags::ServiceTagFile;
use hcl::expr::Expression;

use support::{golden_cases, root};

/// The revisions every scenario is rendered under: the oldest and the newest.
const REVISIONS: [&str; 2] = ["2022-09", "latest"];

/// One scenario to render: a name for messages, its text, and the service tag file it
/// needs (golden cases name theirs; examples that ask for addresses take the public one).
struct Case {
    name: String,
    text: String,
    service_tags: Option<Vec<u8>>,
    allow_global_tags: bool,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for case in golden_cases() {
        let dir = root().join("golden").join(&case);
        cases.push(Case {
            name: format!("golden/{case}"),
            text: std::fs::read_to_string(dir.join("scenario.yaml")).unwrap(),
            service_tags: std::fs::read_to_string(dir.join("service-tags"))
                .ok()
                .map(|path| std::fs::read(root().join(path.trim())).unwrap()),
            allow_global_tags: dir.join("allow-global-tags").exists(),
        });
    }
    let mut examples: Vec<_> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    examples.sort();
    for path in examples {
        let text = std::fs::read_to_string(&path).unwrap();
        // The examples that ask for addresses say so in their header; they are public cloud.
        let service_tags = text.contains("ip-addresses").then(|| {
            std::fs::read(
                root().join("tests/fixtures/service-tags/ServiceTags_Public_20251028.fixture.json"),
            )
            .unwrap()
        });
        cases.push(Case {
            name: format!("examples/{}", path.file_name().unwrap().to_string_lossy()),
            text,
            service_tags,
            allow_global_tags: false,
        });
    }
    cases
}

/// Plans `case` under `revision`, overriding the scenario's own, as `amlfw diff
/// --catalog-from/--catalog-to` does. A scenario may be refused under another revision
/// (more routes than a route table holds): that is no interface change, the error says so.
fn plan_under(case: &Case, catalog: &Catalog, revision: &str) -> Result<Plan, String> {
    let mut scenario = scenario::load(&case.text, "scenario.yaml", catalog)
        .unwrap_or_else(|d| panic!("{}: {d:?}", case.name));
    scenario.catalog_requested = revision.to_owned();
    scenario.catalog_revision = catalog.resolve_revision(revision).unwrap().to_owned();
    let tag_file = case
        .service_tags
        .as_deref()
        .map(|bytes| ServiceTagFile::parse(bytes, "fixture.json").unwrap());
    let options = AddressOptions {
        service_tags: tag_file.as_ref(),
        allow_global_tags: case.allow_global_tags,
    };
    planner::plan_with(&scenario, catalog, options).map_err(|diagnostics| {
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.as_str()).collect();
        format!("{} under {revision}: {}", case.name, codes.join(", "))
    })
}

/// The shape of a default value: its kind, with the keys of objects (the scenario's
/// names), never the values themselves (a prefix or an IP may differ, a type may not).
fn shape(expression: &Expression) -> String {
    match expression {
        Expression::Null => "null".to_owned(),
        Expression::Bool(_) => "bool".to_owned(),
        Expression::Number(_) => "number".to_owned(),
        Expression::String(_) | Expression::TemplateExpr(_) => "string".to_owned(),
        Expression::Array(items) => {
            let mut kinds: Vec<String> = items.iter().map(shape).collect();
            kinds.sort();
            kinds.dedup();
            format!("list({})", kinds.join("|"))
        }
        Expression::Object(object) => {
            let fields: Vec<String> = object
                .iter()
                .map(|(key, value)| format!("{key}: {}", shape(value)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        other => format!("expression {other}"),
    }
}

/// Every `variable` and `output` block of a Terraform module: `variable NAME` -> its type
/// and default shape, `output NAME` -> `output`.
fn terraform_interface(files: &RenderedFiles) -> BTreeMap<String, String> {
    let mut interface = BTreeMap::new();
    for (path, text) in files.iter().filter(|(path, _)| path.ends_with(".tf")) {
        let body = hcl::parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
        for block in body.blocks() {
            let kind = block.identifier.as_str();
            if kind != "variable" && kind != "output" {
                continue;
            }
            let name = block.labels.first().map(|l| l.as_str()).unwrap_or("");
            let attribute = |key: &str| {
                block
                    .body
                    .attributes()
                    .find(|a| a.key.as_str() == key)
                    .map(|a| a.expr.clone())
            };
            let description = match kind {
                "variable" => format!(
                    "type {}, default {}",
                    attribute("type").map_or("none".to_owned(), |t| t.to_string()),
                    attribute("default").map_or("none (required)".to_owned(), |d| shape(&d)),
                ),
                _ => "output".to_owned(),
            };
            interface.insert(format!("{path}: {kind} {name}"), description);
        }
    }
    interface
}

/// Every `param` and `output` line of the Bicep files: `param NAME` -> its type and the
/// shape of its default (`object`, `string`, `bool`, an expression, or required).
fn bicep_interface(files: &RenderedFiles) -> BTreeMap<String, String> {
    let mut interface = BTreeMap::new();
    for (path, text) in files.iter().filter(|(path, _)| path.ends_with(".bicep")) {
        for line in text.lines() {
            let mut words = line.splitn(4, ' ');
            let (Some(kind @ ("param" | "output")), Some(name), Some(kind_type)) =
                (words.next(), words.next(), words.next())
            else {
                continue;
            };
            let rest = words.next().unwrap_or("");
            let default = match rest.strip_prefix("= ").map(str::trim) {
                None => "none (required)".to_owned(),
                Some(_) if kind == "output" => "value".to_owned(),
                Some(value) if value.starts_with('{') => "object".to_owned(),
                Some(value) if value.starts_with('[') => "array".to_owned(),
                Some(value) if value.starts_with('\'') => "string".to_owned(),
                Some("true" | "false") => "bool".to_owned(),
                Some(value) if value.parse::<i64>().is_ok() => "int".to_owned(),
                Some(value) => format!("expression {value}"),
            };
            interface.insert(
                format!("{path}: {kind} {name}"),
                format!("type {kind_type}, default {default}"),
            );
        }
    }
    interface
}

/// The lines of `a` and `b` that differ, each marked with the revision it is in.
fn difference(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (key, value) in a {
        if b.get(key) != Some(value) {
            let _ = writeln!(out, "    {}: {key} = {value}", REVISIONS[0]);
        }
    }
    for (key, value) in b {
        if a.get(key) != Some(value) {
            let _ = writeln!(out, "    {}: {key} = {value}", REVISIONS[1]);
        }
    }
    out
}

#[test]
fn the_module_interface_does_not_depend_on_the_catalog_revision() {
    let catalog = Catalog::embedded();
    let mut failures = String::new();
    let mut compared = 0;
    let mut refused = Vec::new();
    for case in cases() {
        let [old, new] = REVISIONS.map(|revision| plan_under(&case, &catalog, revision));
        let (old, new) = match (old, new) {
            (Ok(old), Ok(new)) => (old, new),
            (Err(error), _) | (_, Err(error)) => {
                refused.push(error);
                continue;
            }
        };
        for (target, interface) in [
            (
                Target::Terraform,
                terraform_interface as fn(&RenderedFiles) -> BTreeMap<String, String>,
            ),
            (Target::Bicep, bicep_interface),
        ] {
            let [old_files, new_files] =
                [&old, &new].map(|plan| render(plan, target, "scenario.yaml").unwrap());
            let (old_interface, new_interface) = (interface(&old_files), interface(&new_files));
            assert!(
                !old_interface.is_empty(),
                "{}: no interface found in {target:?}",
                case.name
            );
            let difference = difference(&old_interface, &new_interface);
            if !difference.is_empty() {
                let _ = write!(failures, "  {} ({target:?}):\n{difference}", case.name);
            }
            compared += 1;
        }
    }
    // Only scenarios built to hit a limit of one revision may be refused by the other.
    assert!(
        compared > 40 && refused.len() <= 2,
        "only {compared} modules compared; refused: {refused:?}"
    );
    assert!(
        failures.is_empty(),
        "the module interface changes with the catalog revision:\n{failures}"
    );
}

/// The comparison itself notices an interface change: a toggle that does change it.
#[test]
fn the_comparison_notices_a_variable_that_a_toggle_removes() {
    let catalog = Catalog::embedded();
    let with = std::fs::read_to_string(root().join("golden/full-public/scenario.yaml")).unwrap();
    let without = with.replace("  nsg: true\n", "  nsg: false\n");
    assert_ne!(with, without);
    let interfaces = [with, without].map(|text| {
        let case = Case {
            name: "full-public".to_owned(),
            text,
            service_tags: None,
            allow_global_tags: false,
        };
        let plan = plan_under(&case, &catalog, "latest").unwrap();
        let files = render(&plan, Target::Terraform, "scenario.yaml").unwrap();
        terraform_interface(&files)
    });
    let difference = difference(&interfaces[0], &interfaces[1]);
    assert!(
        difference.contains("variable nsg_name_prefix")
            && difference.contains("output network_security_group_ids"),
        "{difference}"
    );
}

/// A catalog update that leaves a scenario in `firewall.destinations: ip-addresses` mode
/// without any service tag rule (here: a catalog whose every firewall service tag rule is
/// moved to the newest revision) has no IP group to create, and the module keeps its IP
/// group variables all the same: they follow the toggle, not the rules.
#[test]
fn the_ip_group_inputs_follow_the_toggle_not_the_rules() {
    let mut catalog = Catalog::embedded();
    let latest = catalog.latest.clone();
    for requirement in &mut catalog.requirements {
        let Some(destinations) = &requirement.destinations else {
            continue;
        };
        let names_a_firewall_tag = Cloud::ALL.iter().any(|cloud| {
            matches!(destinations.get(*cloud), CloudEndpoints::Endpoints(list)
                if list.iter().any(|e| matches!(e, Endpoint::ServiceTag { .. })))
        });
        if names_a_firewall_tag && requirement.route.is_none() {
            requirement.revisions.retain(|r| *r == latest);
        }
    }
    let text = std::fs::read_to_string(root().join("examples/ip-addresses.yaml")).unwrap();
    let case = Case {
        name: "examples/ip-addresses.yaml with service tag rules only in the newest revision"
            .to_owned(),
        text,
        service_tags: Some(
            std::fs::read(
                root().join("tests/fixtures/service-tags/ServiceTags_Public_20251028.fixture.json"),
            )
            .unwrap(),
        ),
        allow_global_tags: false,
    };
    let [old, new] = REVISIONS.map(|revision| plan_under(&case, &catalog, revision).unwrap());
    assert!(
        old.ip_groups.is_empty() && !new.ip_groups.is_empty(),
        "the case must have IP groups under one revision only"
    );
    for (target, interface) in [
        (
            Target::Terraform,
            terraform_interface as fn(&RenderedFiles) -> BTreeMap<String, String>,
        ),
        (Target::Bicep, bicep_interface),
    ] {
        let [old_files, new_files] =
            [&old, &new].map(|plan| render(plan, target, "scenario.yaml").unwrap());
        let difference = difference(&interface(&old_files), &interface(&new_files));
        assert!(difference.is_empty(), "{target:?}:\n{difference}");
    }
}
