//! Every user string that reaches generated output is either refused by validation or
//! escaped so the output stays valid and means exactly what was written.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use amlfw::catalog::Catalog;
use amlfw::render::{Target, render};
use amlfw::{planner, scenario};

const NASTY: &[&str] = &[
    "\"",
    "\\",
    "${var.x}",
    "%{ if true }x%{ endif }",
    "'",
    "*/ /* # // <!-- -->",
    "| a | b |",
    "ɡіthub.com (look-alikes)",
    "$${x} \\${x} %%{x}",
    "end with a backslash \\",
];

fn scenario_with_reason(reason: &str) -> String {
    let escaped = reason.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "version: 1\ncloud: public\nworkspaces:\n  - name: mlw\n    region: eastus2\n    compute_subnets: [10.0.1.0/24]\n    extra_fqdns:\n      - {{ fqdn: github.com, ports: [443], reason: \"{escaped}\" }}\n      - {{ fqdn: db.example.com, ports: [5432], reason: \"{escaped}\" }}\n"
    )
}

/// A minimal CSV reader: quoted cells with doubled quotes.
fn csv_cells(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

#[test]
fn free_text_reaches_every_output_escaped_and_unchanged() {
    let catalog = Catalog::embedded();
    for nasty in NASTY {
        let reason = format!("clone code {nasty} here");
        let scenario = scenario::load(&scenario_with_reason(&reason), "s.yaml", &catalog)
            .unwrap_or_else(|d| panic!("{nasty}: {d:?}"));
        let plan = planner::plan(&scenario, &catalog).unwrap();
        let files = render(&plan, Target::All, "s.yaml").unwrap();
        // Terraform parses, and the description reads back as written.
        let main = hcl::parse(&files["terraform/main.tf"]).unwrap();
        let group = main.blocks().next().unwrap();
        let descriptions: Vec<String> = group
            .body
            .blocks()
            .flat_map(|collection| collection.body.blocks())
            .filter_map(|rule| {
                rule.body
                    .attributes()
                    .find(|a| a.key.as_str() == "description")
                    .map(|a| a.expr.clone())
            })
            .filter_map(|expr| match expr {
                hcl::Expression::String(text) => Some(text),
                hcl::Expression::TemplateExpr(template) => Some(template.to_string()),
                _ => None,
            })
            .collect();
        assert!(
            descriptions
                .iter()
                .any(|d| d == &reason || d == &reason.replace("${", "$${").replace("%{", "%%{")),
            "{nasty}: {descriptions:?}"
        );
        // The facts of both modules still equal the plan (nothing broke the syntax).
        let expected = support::plan_facts(&plan);
        assert!(
            support::difference(&expected, &support::module_facts(&files)).is_empty(),
            "{nasty}: terraform"
        );
        assert!(
            support::difference(&expected, &support::bicep::module_facts(&files)).is_empty(),
            "{nasty}: bicep"
        );
        // Bicep: the description reads back exactly.
        let module =
            support::bicep::declarations(&files["bicep/modules/rule-collection-group.bicep"]);
        let bicep_text = format!("{module:?}");
        assert!(
            bicep_text.contains(&format!("{:?}", reason)),
            "{nasty}: bicep description"
        );
        // The allow lists parse and carry the reason as written.
        let allowlist = render(&plan, Target::Allowlist, "s.yaml").unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&allowlist["allowlist/allowlist.json"]).unwrap();
        let rows = json["rows"].as_array().unwrap();
        let extra: Vec<_> = rows
            .iter()
            .filter(|row| {
                row["rule"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("extra-"))
            })
            .collect();
        assert_eq!(extra.len(), 2, "{nasty}: json rows {rows:?}");
        assert!(
            extra.iter().all(|row| row["purpose"] == reason.as_str()),
            "{nasty}: json {extra:?}"
        );
        let csv = &allowlist["allowlist/allowlist.csv"];
        let row = csv
            .lines()
            .find(|line| line.contains("extra-github-com"))
            .unwrap();
        assert!(csv_cells(row).contains(&reason), "{nasty}: csv {row}");
        // The README table keeps its columns.
        let readme = &files["terraform/README.md"];
        let line = readme
            .lines()
            .find(|l| l.starts_with("| `extra-github-com`"))
            .unwrap();
        let unescaped_pipes = line.replace("\\|", "").matches('|').count();
        assert_eq!(unescaped_pipes, 8, "{nasty}: {line}");
    }
}

#[test]
fn control_characters_and_line_breaks_are_refused() {
    let catalog = Catalog::embedded();
    // YAML double-quoted escapes: the scenario text is plain ASCII, the decoded reason is not.
    for escape in [
        "two\\nlines",
        "tab\\there",
        "nul\\0byte",
        "bell\\a",
        "del\\x7f",
    ] {
        let text = scenario_with_reason("placeholder").replace("placeholder", escape);
        let diagnostics = scenario::load(&text, "s.yaml", &catalog)
            .err()
            .unwrap_or_else(|| panic!("{escape} was accepted:\n{text}"));
        assert!(
            diagnostics
                .iter()
                .all(|d| d.code.as_str() == "invalid-value"),
            "{escape}: {diagnostics:?}"
        );
        assert_eq!(
            diagnostics.len(),
            2,
            "{escape}: one per extra_fqdns entry: {diagnostics:?}"
        );
    }
}

#[test]
fn names_hosts_and_ids_are_validated_not_escaped() {
    let catalog = Catalog::embedded();
    let base = "version: 1\ncloud: public\nfirewall: { rule_collection_group: { name: RCG } }\nworkspaces:\n  - name: NAME\n    region: eastus2\n    storage_account: STORAGE\n    workspace_id: WSID\n    container_registry: ACR\n    compute_subnets: [10.0.1.0/24]\n    extra_fqdns: [{ fqdn: FQDN, ports: [443], reason: r }]\n";
    let fields = [
        ("RCG", "invalid-name"),
        ("NAME", "invalid-name"),
        ("STORAGE", "invalid-storage-account"),
        ("WSID", "invalid-workspace-id"),
        ("ACR", "invalid-container-registry"),
        ("FQDN", "invalid-fqdn"),
    ];
    let valid = [
        ("RCG", "rcg-ok"),
        ("NAME", "mlw"),
        ("STORAGE", "stok"),
        ("WSID", "00000000-0000-4000-8000-000000000000"),
        ("ACR", "acrok1"),
        ("FQDN", "github.com"),
    ];
    for nasty in [
        "'\"${x}'",
        "\"a\\\\b\"",
        "'%{x}'",
        "'*/'",
        "'#x'",
        "'gіthub.com'",
        "'a b'",
    ] {
        for (field, code) in fields {
            let mut text = base.to_owned();
            for (name, good) in valid {
                text = text.replace(name, if name == field { nasty } else { good });
            }
            let diagnostics = scenario::load(&text, "s.yaml", &catalog)
                .err()
                .unwrap_or_else(|| panic!("{field} = {nasty} was accepted"));
            assert!(
                diagnostics.iter().any(|d| d.code.as_str() == code),
                "{field} = {nasty}: {diagnostics:?}"
            );
        }
    }
}
