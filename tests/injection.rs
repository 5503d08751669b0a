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

/// Every character the outputs must never carry as itself: bidi embeddings, overrides and
/// isolates, marks, line and paragraph separators, zero-width characters, the BOM, C0 and
/// C1 controls (ESC, CSI) and a supplementary-plane format character (a tag letter).
const INVISIBLE: &[char] = &[
    '\u{202A}',
    '\u{202B}',
    '\u{202C}',
    '\u{202D}',
    '\u{202E}',
    '\u{2066}',
    '\u{2067}',
    '\u{2068}',
    '\u{2069}',
    '\u{200E}',
    '\u{200F}',
    '\u{061C}',
    '\u{2028}',
    '\u{2029}',
    '\u{200B}',
    '\u{200C}',
    '\u{200D}',
    '\u{2060}',
    '\u{FEFF}',
    '\u{00AD}',
    '\u{1B}',
    '\u{9B}',
    '\u{7F}',
    '\u{0}',
    '\t',
    '\r',
    '\u{E0041}',
];

/// A hostile free text: every invisible character, a newline, raw HTML, an HTML comment
/// end, Markdown emphasis, code, links and table syntax, and HCL/Bicep interpolations.
fn hostile_text() -> String {
    let invisible: String = INVISIBLE.iter().collect();
    format!("x{invisible}\n<img src=x onerror=alert(1)> --> *e* _u_ `c` [l](http://x) | & ${{v}}")
}

/// The offending character and its line when `text` holds an invisible character as
/// itself (a newline is the only control character a file may hold, as its line end).
fn raw_invisible(text: &str) -> Option<(char, &str)> {
    text.lines().find_map(|line| {
        line.chars()
            .find(|c| INVISIBLE.contains(c))
            .map(|c| (c, line))
    })
}

/// `line` without its Markdown code spans (a run of backticks up to the next run of the
/// same length; an unmatched run is text).
fn without_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut at = 0;
    while at < chars.len() {
        if chars[at] != '`' {
            out.push(chars[at]);
            at += 1;
            continue;
        }
        let run = chars[at..].iter().take_while(|&&c| c == '`').count();
        let mut end = at + run;
        let mut closed = None;
        while end < chars.len() {
            let length = chars[end..].iter().take_while(|&&c| c == '`').count();
            if length == run {
                closed = Some(end + length);
                break;
            }
            end += length.max(1);
        }
        match closed {
            Some(next) => at = next,
            None => {
                out.extend(&chars[at..at + run]);
                at += run;
            }
        }
    }
    out
}

/// Renders every target of `plan` under `name`.
fn render_everything(plan: &amlfw::plan::Plan, name: &str) -> amlfw::render::RenderedFiles {
    let mut files = render(plan, Target::All, name).unwrap();
    files.extend(render(plan, Target::Allowlist, name).unwrap());
    files
}

/// Every file still starts with one header line holding the marker, every module parses
/// and holds the plan's rules, and no file carries an invisible character as itself.
fn assert_outputs_intact(
    plan: &amlfw::plan::Plan,
    files: &amlfw::render::RenderedFiles,
    what: &str,
) {
    for (path, text) in files {
        let first = text.lines().next().unwrap();
        assert!(
            first.contains(amlfw::render::GENERATED_MARKER),
            "{what}: {path}: first line {first:?}"
        );
        if let Some((c, line)) = raw_invisible(text) {
            panic!(
                "{what}: {path} holds U+{:04X} as itself: {line:?}",
                u32::from(c)
            );
        }
    }
    for readme in ["terraform/README.md", "bicep/README.md"] {
        let text = &files[readme];
        let first = text.lines().next().unwrap();
        let inner = first
            .strip_prefix("<!-- ")
            .and_then(|rest| rest.strip_suffix(" -->"))
            .unwrap_or_else(|| panic!("{what}: {readme}: header {first:?}"));
        assert!(
            !inner.contains("--") || !inner.contains('>'),
            "{what}: {readme}: the header comment can end early: {first:?}"
        );
        assert!(!inner.contains("<!--"), "{what}: {readme}: {first:?}");
        let headings: Vec<&str> = text.lines().filter(|l| l.starts_with("# ")).collect();
        assert_eq!(headings.len(), 1, "{what}: {readme}: {headings:?}");
        // Raw HTML never reaches a README outside code spans (where it is text): the only
        // tags are amlfw's own.
        for line in text.lines() {
            let stripped = without_code_spans(line)
                .replace("<br/>", "")
                .replace("<!-- ", "")
                .replace(" -->", "");
            assert!(
                !stripped.contains("<img") && !stripped.contains("<script"),
                "{what}: {readme}: raw HTML: {line:?}"
            );
        }
    }
    let expected = support::plan_facts(plan);
    assert!(
        support::difference(&expected, &support::module_facts(files)).is_empty(),
        "{what}: terraform"
    );
    assert!(
        support::difference(&expected, &support::bicep::module_facts(files)).is_empty(),
        "{what}: bicep"
    );
    serde_json::from_str::<serde_json::Value>(&files["allowlist/allowlist.json"])
        .unwrap_or_else(|e| panic!("{what}: allowlist.json: {e}"));
    let csv = &files["allowlist/allowlist.csv"];
    assert_eq!(
        csv.lines().filter(|l| l.starts_with('#')).count(),
        1,
        "{what}: one CSV comment line"
    );
}

#[test]
fn scenario_file_names_cannot_break_headers_or_headings() {
    let catalog = Catalog::embedded();
    let plan = support::golden_plan("ip-addresses", &catalog);
    for name in [
        "a\nb.yaml",
        "x-->y.yaml",
        "x--!>y.yaml",
        "`rm -rf`.yaml",
        "<script>.yaml",
        "s\u{202E}lmay.yaml",
        "*/ # // ${x} %{y} '\".yaml",
        "a\r\u{2028}\u{1B}[2Jb.yaml",
    ] {
        let files = render_everything(&plan, name);
        assert_outputs_intact(&plan, &files, &format!("{name:?}"));
        // The README heading shows the name, literally and on its line.
        let heading = files["terraform/README.md"]
            .lines()
            .find(|l| l.starts_with("# "))
            .unwrap()
            .to_owned();
        assert!(heading.ends_with(')'), "{name:?}: {heading}");
    }
}

#[test]
fn hostile_data_strings_are_escaped_in_every_target() {
    let catalog = Catalog::embedded();
    let mut plan = support::golden_plan("ip-addresses", &catalog);
    let hostile = hostile_text();
    for rule in &mut plan.rules {
        rule.purpose = format!("{} {hostile}", rule.id);
        rule.sections = rule
            .sections
            .iter()
            .map(|s| format!("{s} {hostile}"))
            .collect();
    }
    for group in &mut plan.ip_groups {
        group.service_tag = format!("{} {hostile}", group.service_tag);
    }
    plan.catalog = format!("2026-03{hostile}");
    if let Some(source) = plan.address_source.as_mut() {
        source.file = format!("tags{hostile}.json");
    }
    plan.warnings.push(amlfw::plan::Warning {
        code: "manual-step".to_owned(),
        message: format!("`{hostile}`: {hostile}"),
    });
    plan.skipped.push(amlfw::plan::Skipped {
        requirement: "x-hosts".to_owned(),
        reason: hostile.clone(),
        workspaces: vec![hostile.clone()],
    });
    let files = render_everything(&plan, "s.yaml");
    assert_outputs_intact(&plan, &files, "hostile data");

    // HCL and Bicep strings escape the invisible characters; both read back as written.
    let rule = plan
        .rules
        .iter()
        .find(|r| r.kind == amlfw::plan::RuleKind::Nsg)
        .unwrap();
    let nsg = hcl::parse(&files["terraform/main.nsg.tf"]).unwrap();
    let description = nsg
        .blocks()
        .filter(|b| b.labels.len() == 2 && b.labels[1].as_str() == rule.id.replace('-', "_"))
        .find_map(|b| {
            b.body
                .attributes()
                .find(|a| a.key.as_str() == "description")
        })
        .map(|a| a.expr.clone())
        .unwrap();
    // Azure's 140-character limit counts the characters, not their escapes.
    let expected: String = if rule.purpose.chars().count() <= 140 {
        rule.purpose.clone()
    } else {
        rule.purpose
            .chars()
            .take(137)
            .chain("...".chars())
            .collect()
    };
    let read_back = match description {
        hcl::Expression::String(text) => text,
        hcl::Expression::TemplateExpr(template) => template.to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        read_back.replace("$${", "${"),
        expected,
        "terraform description"
    );
    let main = support::bicep::declarations(&files["bicep/main.bicep"]);
    assert!(
        format!("{main:?}").contains(&format!("{expected:?}")),
        "bicep description"
    );

    // The README rule table keeps its columns: hostile text never adds a cell.
    for readme in ["terraform/README.md", "bicep/README.md"] {
        for rule in &plan.rules {
            let start = format!("| `{}` |", rule.id);
            let line = files[readme]
                .lines()
                .find(|l| l.starts_with(&start))
                .unwrap_or_else(|| panic!("{readme}: no row {start}"));
            let pipes = line.replace("\\|", "").matches('|').count();
            assert_eq!(pipes, 8, "{readme}: {line}");
        }
    }
    // The Markdown plan too.
    let markdown = amlfw::render::plan_markdown(&plan);
    if let Some((c, line)) = raw_invisible(&markdown) {
        panic!("plan markdown holds U+{:04X}: {line:?}", u32::from(c));
    }
    assert!(
        markdown
            .lines()
            .all(|l| !without_code_spans(l).contains("<img")),
        "{markdown}"
    );
    let mermaid = amlfw::render::mermaid::plan_mermaid(&plan);
    if let Some((c, line)) = raw_invisible(&mermaid) {
        panic!("mermaid holds U+{:04X}: {line:?}", u32::from(c));
    }
    assert!(!mermaid.contains("```"), "{mermaid}");
}

#[test]
fn csv_cells_that_would_start_a_formula_are_neutralised() {
    let catalog = Catalog::embedded();
    for reason in ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-1", "@SUM(A1)"] {
        let scenario = scenario::load(&scenario_with_reason(reason), "s.yaml", &catalog)
            .unwrap_or_else(|d| panic!("{reason}: {d:?}"));
        let plan = planner::plan(&scenario, &catalog).unwrap();
        let allowlist = render(&plan, Target::Allowlist, "s.yaml").unwrap();
        let csv = &allowlist["allowlist/allowlist.csv"];
        let row = csv
            .lines()
            .find(|line| line.contains("extra-github-com"))
            .unwrap();
        let purpose = &csv_cells(row)[7];
        assert_eq!(purpose, &format!("'{reason}"), "{reason}: {row}");
        // JSON keeps the text as written: a JSON string is never evaluated.
        let json: serde_json::Value =
            serde_json::from_str(&allowlist["allowlist/allowlist.json"]).unwrap();
        assert!(
            json["rows"]
                .as_array()
                .unwrap()
                .iter()
                .any(|row| row["purpose"] == reason),
            "{reason}: json"
        );
    }
    // Cells beginning with a tab or a carriage return, from other code paths than a scenario.
    let mut plan = support::golden_plan("extra-fqdns", &catalog);
    for (rule, start) in plan.rules.iter_mut().zip(["\t", "\r", "=", "@"]) {
        rule.purpose = format!("{start}cmd|' /C calc'!A0");
    }
    let csv = &render(&plan, Target::Allowlist, "s.yaml").unwrap()["allowlist/allowlist.csv"];
    for line in csv.lines().skip(2) {
        let cells = csv_cells(line);
        assert!(
            cells
                .iter()
                .all(|cell| !cell.starts_with(['=', '+', '-', '@', '\t', '\r'])),
            "{line}"
        );
        assert!(line.matches('"').count() % 2 == 0, "{line}");
    }
    assert!(csv.contains("\"'\\u{0009}cmd|' /C calc'!A0\""), "{csv}");
}

#[test]
fn verify_dependencies_never_prints_terminal_controls_raw() {
    let catalog = Catalog::embedded();
    let plan = support::golden_plan("extra-fqdns", &catalog);
    let response = serde_json::json!({"value": [{"properties": {
    "category": "Compute\u{1b}[31m\u{9b}2J",
    "endpoints": [
        {"domainName": "evil\u{1b}[31m.example.com\nmissing: fake.example.com:443",
         "endpointDetails": [{"port": 443}]},
        {"domainName": "s\u{202E}moc.elpmaxe", "endpointDetails": [{"port": 443}]}
    ]}}]});
    let endpoints = amlfw::dependencies::parse_response(response.to_string().as_bytes()).unwrap();
    let verification = amlfw::dependencies::verify(&catalog, &plan, &endpoints);
    let text = verification.to_text("resp\u{1b}]0;x\u{7}.json", "s\n.yaml", &plan);
    if let Some((c, line)) = raw_invisible(&text) {
        panic!("text output holds U+{:04X}: {line:?}", u32::from(c));
    }
    assert!(
        text.contains("evil\\u{001B}[31m.example.com\\u{000A}missing"),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|line| line.trim_start().starts_with("missing: fake")),
        "{text}"
    );
    assert_eq!(
        text.lines().next().unwrap().matches("amlfw").count(),
        1,
        "{text}"
    );
    let json = verification.to_json();
    if let Some((c, line)) = raw_invisible(&json) {
        panic!("JSON output holds U+{:04X}: {line:?}", u32::from(c));
    }
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let domains: Vec<&str> = value["missing"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["domain"].as_str())
        .collect();
    assert!(
        domains.contains(&"evil\u{1b}[31m.example.com\nmissing: fake.example.com:443"),
        "{domains:?}"
    );
    assert!(domains.contains(&"s\u{202E}moc.elpmaxe"), "{domains:?}");
}

#[test]
fn names_printed_as_identifiers_are_refused_at_render_time_when_they_are_not() {
    // IP group names become Terraform resource names and Bicep symbols, regions Bicep
    // symbols: identifiers have no escapes, so a plan that breaks validation is refused
    // instead of rendering code that means something else.
    let catalog = Catalog::embedded();
    let plan = support::golden_plan("ip-addresses", &catalog);
    let mut bad_group = plan.clone();
    let old = bad_group.ip_groups[0].name.clone();
    let evil = "ipg-x.id]\n}\nresource \"null\" \"evil\" {\n#".to_owned();
    bad_group.ip_groups[0].name = evil.clone();
    for rule in &mut bad_group.rules {
        for destination in &mut rule.destinations {
            if *destination == old {
                destination.clone_from(&evil);
            }
        }
    }
    for target in [Target::Terraform, Target::Bicep] {
        let error = render(&bad_group, target, "s.yaml")
            .err()
            .unwrap_or_else(|| panic!("{target:?}: an ip group name is no identifier"));
        assert!(error.cause.contains("ipg-x.id"), "{target:?}: {error}");
    }
    let mut bad_region = plan.clone();
    for workspace in &mut bad_region.workspaces {
        workspace.region = "east us'2".to_owned();
    }
    for rule in &mut bad_region.rules {
        if rule.region.is_some() {
            rule.region = Some("east us'2".to_owned());
        }
    }
    let error = render(&bad_region, Target::Bicep, "s.yaml")
        .err()
        .unwrap_or_else(|| panic!("a region is no Bicep identifier"));
    assert!(error.cause.contains("east us'2"), "{error}");
    // The valid plan still renders.
    render(&plan, Target::All, "s.yaml").unwrap();
}
