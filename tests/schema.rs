//! The JSON Schema of the scenario format against the decoder: the committed copy is what
//! `amlfw schema` prints, its fields are the decoder's, every valid scenario in the
//! repository passes it, and structurally broken ones fail it.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::PathBuf;

use amlfw::catalog::{Catalog, Cloud};
use amlfw::scenario::schema::{
    COMMITTED_PATH, OBJECTS, REFERENCE_MARKERS, reference_markdown, schema, schema_text,
};
use amlfw::scenario::starter::starter;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A YAML scenario as the JSON value an editor's YAML language server validates.
fn yaml_to_json(text: &str) -> Value {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
    serde_json::to_value(yaml).unwrap()
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema(&Catalog::embedded())).expect("the schema compiles")
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn the_committed_schema_is_what_amlfw_schema_prints() {
    let path = root().join(COMMITTED_PATH);
    let actual = schema_text(&Catalog::embedded());
    let update =
        std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") && std::env::var_os("CI").is_none();
    if update {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{COMMITTED_PATH} differs from `amlfw schema`; run UPDATE_GOLDEN=1 cargo test --test schema and review"
    );
}

/// README's scenario reference is `amlfw schema --format markdown`, between its markers;
/// UPDATE_GOLDEN=1 rewrites that part of README (only that part).
#[test]
fn the_readme_reference_is_generated_from_the_schema_tables() {
    let path = root().join("README.md");
    let readme = fs::read_to_string(&path).unwrap();
    let (begin, end) = REFERENCE_MARKERS;
    let start = readme
        .find(begin)
        .expect("README has the reference's begin marker")
        + begin.len();
    let stop = start
        + readme[start..]
            .find(end)
            .expect("README has the reference's end marker");
    let actual = reference_markdown(&Catalog::embedded());
    let update =
        std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") && std::env::var_os("CI").is_none();
    if update {
        fs::write(
            &path,
            format!("{}{actual}{}", &readme[..start], &readme[stop..]),
        )
        .unwrap();
        return;
    }
    assert!(
        readme[start..stop] == actual,
        "README's scenario reference differs from `amlfw schema --format markdown`; run UPDATE_GOLDEN=1 cargo test --test schema and review"
    );
}

#[test]
fn the_schema_has_exactly_the_decoders_fields_at_each_object() {
    let schema = schema(&Catalog::embedded());
    let mut seen = Vec::new();
    for object in OBJECTS {
        let node = if object.name == "scenario" {
            &schema
        } else {
            &schema["$defs"][object.name]
        };
        let properties: Vec<&str> = node["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut fields = object.fields.to_vec();
        fields.sort_unstable();
        assert_eq!(properties, fields, "properties of {}", object.name);
        assert_eq!(node["additionalProperties"], false, "{}", object.name);
        seen.push(object.fields);
    }
    assert_eq!(seen, amlfw::scenario::ALL_FIELDS);
    // No object in $defs that the decoder does not have.
    assert_eq!(
        schema["$defs"].as_object().unwrap().len(),
        OBJECTS.len() - 1
    );
}

/// Dropping a field from a complete scenario gives `missing-field` exactly when the schema
/// says the field is required.
#[test]
fn required_fields_are_the_ones_the_decoder_misses() {
    let catalog = Catalog::embedded();
    let full = yaml_to_json(&fs::read_to_string(root().join("examples/full-public.yaml")).unwrap());
    let places: [(&str, &[&str]); 9] = [
        ("scenario", &[]),
        ("firewall", &["firewall"]),
        (
            "rule_collection_group",
            &["firewall", "rule_collection_group"],
        ),
        ("workspace", &["workspaces", "0"]),
        ("compute", &["workspaces", "0", "compute"]),
        ("kubernetes", &["workspaces", "0", "compute", "kubernetes"]),
        ("extra_fqdn", &["workspaces", "0", "extra_fqdns", "0"]),
        ("outputs", &["outputs"]),
        ("route_table", &["outputs", "route_table"]),
    ];
    for (name, place) in places {
        let object = OBJECTS.iter().find(|o| o.name == name).unwrap();
        for field in object.fields {
            let mut scenario = full.clone();
            let mut node = &mut scenario;
            for step in place {
                node = match step.parse::<usize>() {
                    Ok(index) => &mut node[index],
                    Err(_) => &mut node[*step],
                };
            }
            if node.as_object_mut().unwrap().remove(*field).is_none() {
                // full-public.yaml leaves it out (its default): nothing to drop.
                continue;
            }
            // JSON is YAML: the decoder reads the value as written.
            let text = serde_json::to_string(&scenario).unwrap();
            let missing = match amlfw::scenario::load(&text, "s.yaml", &catalog) {
                Ok(_) => false,
                Err(diagnostics) => diagnostics
                    .iter()
                    .any(|d| d.code.as_str() == "missing-field"),
            };
            assert_eq!(
                missing,
                object.required.contains(field),
                "{name}.{field}: the decoder and the schema disagree on whether it is required"
            );
        }
    }
}

#[test]
fn every_example_golden_scenario_and_starter_passes_the_schema() {
    let validator = validator();
    let mut files: Vec<PathBuf> = fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    for entry in fs::read_dir(root().join("golden")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("err-") && entry.path().join("scenario.yaml").is_file() {
            files.push(entry.path().join("scenario.yaml"));
        }
    }
    files.sort();
    assert!(files.len() > 20, "{files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let instance = yaml_to_json(&fs::read_to_string(file).unwrap());
        for error in errors(&validator, &instance) {
            failures.push(format!("{}: {error}", file.display()));
        }
    }
    let catalog = Catalog::embedded();
    for cloud in Cloud::ALL {
        let text = starter(&catalog, cloud, None).unwrap();
        for error in errors(&validator, &yaml_to_json(&text)) {
            failures.push(format!("amlfw init --cloud {cloud}: {error}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Golden error cases whose problem is the shape of the file fail the schema too, so the
/// test above can fail.
#[test]
fn structurally_broken_scenarios_fail_the_schema() {
    let validator = validator();
    for case in [
        "err-invalid-type",             // a mapping where the workspace list belongs
        "err-invalid-value",            // sku: basic, connection: openshift
        "err-missing-field",            // a workspace without a region
        "err-many-problems",            // unknown keys `firewal` and `regon`, instances: yes
        "err-unknown-feature",          // features: [jupyter]
        "err-unknown-cloud",            // cloud: azurechina
        "err-unsupported-version",      // version: 2
        "err-duplicate-feature",        // features: [python, python]
        "err-no-workspaces",            // workspaces: []
        "err-priority-out-of-range",    // priority: 70000
        "err-region-not-in-cloud",      // a usgov region in the public cloud
        "err-invalid-storage-account",  // st-ml-prod
        "err-unknown-catalog-revision", // catalog: "2023-04"
    ] {
        let text =
            fs::read_to_string(root().join("golden").join(case).join("scenario.yaml")).unwrap();
        assert!(
            !validator.is_valid(&yaml_to_json(&text)),
            "{case} passes the schema but the decoder refuses it"
        );
    }
    // And an unknown key anywhere, for each object.
    let minimal = yaml_to_json(&fs::read_to_string(root().join("examples/minimal.yaml")).unwrap());
    let mut unknown = minimal.clone();
    unknown["workspaces"][0]["regoin"] = Value::from("eastus2");
    assert!(!validator.is_valid(&unknown));
    let mut unknown = minimal;
    unknown["outputs"] = serde_json::json!({ "nsg": true, "route_tabel": {} });
    assert!(!validator.is_valid(&unknown));
}

/// For the fields whose rules the schema spells out as patterns and ranges, the schema
/// and the decoder accept exactly the same values.
#[test]
fn name_patterns_agree_with_the_decoder() {
    let catalog = Catalog::embedded();
    let validator = validator();
    let long = |n: usize| "a".repeat(n);
    let cases: Vec<(&str, Vec<Value>)> = vec![
        (
            "name",
            [
                "mlw",
                "ml",
                "Mlw_1-x",
                "-mlw",
                "mlw.prod",
                &long(33),
                &long(34),
            ]
            .map(Value::from)
            .to_vec(),
        ),
        (
            "storage_account",
            ["st1", "st", "stMl", "st-ml", &long(24), &long(25)]
                .map(Value::from)
                .to_vec(),
        ),
        (
            "container_registry",
            ["crml1", "crml", "CrMl01", "cr-ml1", &long(50), &long(51)]
                .map(Value::from)
                .to_vec(),
        ),
        (
            "workspace_id",
            [
                "5f1c2b7e-3d4a-4c5b-9e6f-7a8b9c0d1e2f",
                "5F1C2B7E-3D4A-4C5B-9E6F-7A8B9C0D1E2F",
                "5f1c2b7e3d4a4c5b9e6f7a8b9c0d1e2f",
                "5f1c2b7e-3d4a-4c5b-9e6f-7a8b9c0d1e2",
            ]
            .map(Value::from)
            .to_vec(),
        ),
    ];
    let base = yaml_to_json(&fs::read_to_string(root().join("examples/minimal.yaml")).unwrap());
    let mut disagreements = Vec::new();
    let mut check = |what: String, scenario: Value| {
        let decoder = amlfw::scenario::load(
            &serde_json::to_string(&scenario).unwrap(),
            "s.yaml",
            &catalog,
        )
        .is_ok();
        let schema = validator.is_valid(&scenario);
        if decoder != schema {
            disagreements.push(format!("{what}: decoder {decoder}, schema {schema}"));
        }
    };
    for (field, values) in cases {
        for value in values {
            let mut scenario = base.clone();
            scenario["workspaces"][0][field] = value.clone();
            check(format!("workspaces[0].{field} = {value}"), scenario);
        }
    }
    for name in [
        "rcg-azureml",
        "r",
        "rcg.",
        "rcg_",
        "-rcg",
        "rcg azure",
        &long(80),
        &long(81),
    ] {
        let mut scenario = base.clone();
        scenario["firewall"] = serde_json::json!({ "rule_collection_group": { "name": name } });
        check(format!("rule_collection_group.name = {name}"), scenario);
    }
    for priority in [99, 100, 65000, 65001, -1] {
        let mut scenario = base.clone();
        scenario["firewall"] =
            serde_json::json!({ "rule_collection_group": { "priority": priority } });
        check(
            format!("rule_collection_group.priority = {priority}"),
            scenario,
        );
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}
