//! `amlfw audit`: the golden reports of `golden/_audit/<case>/` (each case's `args.txt` holds
//! the command's arguments, one a line; `stdout.txt`, `stderr.txt` when not empty, and
//! `exit-code.txt` are what the binary printed and returned; `UPDATE_GOLDEN=1 cargo test
//! --test audit` rewrites them, never in CI), and the issue's done-when checks on the
//! fixtures of `tests/fixtures/audit/` (see its README for where each comes from).

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{amlfw, root};

use std::fs;
use std::path::PathBuf;

use amlfw::audit::{InputFormat, Options, ReportFormat};
use amlfw::catalog::Catalog;
use serde_json::Value;

#[test]
fn golden_reports() {
    let update =
        std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") && std::env::var_os("CI").is_none();
    let dir = root().join("golden").join("_audit");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("golden/_audit")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 8,
        "golden/_audit holds {} cases",
        cases.len()
    );
    let mut differ = Vec::new();
    for case in &cases {
        let args: Vec<String> = fs::read_to_string(case.join("args.txt"))
            .unwrap()
            .lines()
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect();
        let (code, stdout, stderr) = amlfw(&args);
        // Twice: the report is byte-identical across runs.
        assert_eq!(
            amlfw(&args),
            (code, stdout.clone(), stderr.clone()),
            "{}",
            case.display()
        );
        let files = [
            ("stdout.txt", stdout),
            ("stderr.txt", stderr),
            ("exit-code.txt", format!("{code}\n")),
        ];
        for (name, actual) in files {
            let path = case.join(name);
            if update {
                if actual.is_empty() {
                    let _ = fs::remove_file(&path);
                } else {
                    fs::write(&path, &actual).unwrap();
                }
                continue;
            }
            let expected = fs::read_to_string(&path).unwrap_or_default();
            if expected != actual {
                differ.push(format!("{}/{name}", case.display()));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "differ (UPDATE_GOLDEN=1 cargo test --test audit, then review): {differ:#?}"
    );
}

fn fixture(name: &str) -> Vec<u8> {
    fs::read(root().join("tests/fixtures/audit").join(name)).unwrap()
}

/// The library's audit of a fixture scenario and deployed fixtures, as JSON.
fn audit_json(scenario: &str, deployed: &[(&str, Vec<u8>)], fail_on_broader: bool) -> (u8, Value) {
    let catalog = Catalog::embedded();
    let deployed: Vec<(String, Vec<u8>)> = deployed
        .iter()
        .map(|(name, bytes)| ((*name).to_owned(), bytes.clone()))
        .collect();
    let outcome = amlfw::audit::run(
        &fixture(scenario),
        scenario,
        &catalog,
        &deployed,
        Options {
            input_format: None,
            format: ReportFormat::Json,
            fail_on_broader,
            service_tags: None,
        },
    );
    assert!(outcome.code < 2, "{}", outcome.stderr);
    (outcome.code, serde_json::from_str(&outcome.stdout).unwrap())
}

fn planned<'v>(report: &'v Value, id: &str) -> &'v Value {
    report["planned"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no planned rule {id}"))
}

fn deployed<'v>(report: &'v Value, name: &str) -> &'v Value {
    report["deployed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no deployed rule {name}"))
}

/// Done when: on the 301 quickstart the audit reports the missing 8787/18881, UDP 5831,
/// Batch outbound and AzureMonitor rules, AzureActiveDirectory on all ports and the
/// unregioned tags as broader, and exits 1.
#[test]
fn the_301_quickstart_misses_what_the_issue_says() {
    let (code, report) = audit_json(
        "301-hub-spoke.yaml",
        &[("301.json", fixture("301-hub-spoke.state.json"))],
        false,
    );
    assert_eq!(code, 1);
    for id in [
        "aml-service-tag-compute-instance-ports",
        "aml-service-tag-udp-5831",
        "batch-service-tag-eastus",
        "azure-monitor-service-tag",
    ] {
        assert_eq!(planned(&report, id)["status"], "missing", "{id}");
    }
    let missing = planned(&report, "aml-service-tag-compute-instance-ports")["missing"].to_string();
    assert!(
        missing.contains("TCP 8787") && missing.contains("TCP 18881"),
        "{missing}"
    );
    let aad = deployed(&report, "Azure-Active-Directory");
    assert_eq!(aad["status"], "broader than required");
    assert!(aad["details"].to_string().contains("all ports"), "{aad}");
    for (name, global, regional) in [
        ("Azure-Storage", "Storage", "Storage.EastUS"),
        (
            "Azure-Container-Registry",
            "AzureContainerRegistry",
            "AzureContainerRegistry.EastUS",
        ),
    ] {
        let rule = deployed(&report, name);
        assert_eq!(rule["status"], "broader than required", "{name}");
        let why = format!("the global tag `{global}` instead of `{regional}`");
        assert!(rule["details"].to_string().contains(&why), "{rule}");
    }
    // `*pytorch.org` also matches `evilpytorch.org`.
    assert!(
        deployed(&report, "pytorch.org")["details"]
            .to_string()
            .contains("matches more names")
    );
}

/// Done when: the module amlfw generated, planned through the simulated azurerm (the
/// committed `terraform show -json`), audits clean.
#[test]
fn the_generated_module_audits_clean_and_a_widened_rule_fails_only_with_fail_on_broader() {
    let plan = fixture("generated-full-public.plan.json");
    let scenario_bytes = fs::read(root().join("golden/full-public/scenario.yaml")).unwrap();
    let run = |bytes: Vec<u8>, fail_on_broader: bool| {
        let outcome = amlfw::audit::run(
            &scenario_bytes,
            "golden/full-public/scenario.yaml",
            &Catalog::embedded(),
            &[("plan.json".to_owned(), bytes)],
            Options {
                input_format: Some(InputFormat::Terraform),
                format: ReportFormat::Json,
                fail_on_broader,
                service_tags: None,
            },
        );
        let report: Value = serde_json::from_str(&outcome.stdout).unwrap();
        (outcome.code, report)
    };
    let (code, report) = run(plan.clone(), true);
    assert_eq!(code, 0);
    assert!(
        report["planned"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "covered")
    );
    assert!(
        report["deployed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "required" || d["status"] == "declared")
    );
    // AzureMonitor on every port instead of 443: broader, which fails only on request.
    let text = String::from_utf8(plan).unwrap();
    let widened = text.replacen(
        r#""destination_ports":["443"],"name":"azure-monitor-service-tag""#,
        r#""destination_ports":["*"],"name":"azure-monitor-service-tag""#,
        1,
    );
    assert_ne!(widened, text, "the fixture's azure-monitor rule moved");
    let (code, report) = run(widened.clone().into_bytes(), false);
    assert_eq!(code, 0);
    assert_eq!(
        deployed(&report, "azure-monitor-service-tag")["status"],
        "broader than required"
    );
    assert_eq!(run(widened.into_bytes(), true).0, 1);
}

/// A deny rule evaluated first hides the allow rule behind it; a protocol left out makes
/// a rule partly covered; an NSG-only tag in a firewall rule is invalid.
#[test]
fn deny_rules_protocols_and_invalid_tags() {
    let (code, report) = audit_json(
        "e2e-secure.yaml",
        &[("deny.json", fixture("deny-hides-allow.az.json"))],
        false,
    );
    assert_eq!(code, 1);
    let storage = planned(&report, "storage-service-tag-eastus");
    assert_eq!(storage["status"], "missing");
    assert!(
        storage["missing"]
            .to_string()
            .contains("denied first by `no-storage`"),
        "{storage}"
    );
    let batch = planned(&report, "batch-service-tag-eastus");
    assert_eq!(batch["status"], "partly covered");
    assert_eq!(
        batch["missing"],
        serde_json::json!(["UDP 443 to BatchNodeManagement.EastUS"])
    );
    assert_eq!(deployed(&report, "vnet-in-a-firewall")["status"], "invalid");
    let misspelled = deployed(&report, "misspelled-tags");
    assert_eq!(misspelled["status"], "invalid");
    for meant in ["`AzureKeyVault.EastUS`", "`AzureContainerRegistry.EastUS`"] {
        assert!(
            misspelled["details"].to_string().contains(meant),
            "{misspelled}"
        );
    }
    // `azuremachinelearning` in a firewall rule is not a tag there: the rule allows nothing.
    assert_eq!(deployed(&report, "azureml-udp")["status"], "invalid");
    assert_eq!(
        planned(&report, "aml-service-tag-udp-5831")["status"],
        "missing"
    );
    // Without the deny collection the storage rule is covered.
    let text = String::from_utf8(fixture("deny-hides-allow.az.json")).unwrap();
    let allowed = text.replace(r#""type": "Deny""#, r#""type": "Allow""#);
    let (_, report) = audit_json(
        "e2e-secure.yaml",
        &[("allow.json", allowed.into_bytes())],
        false,
    );
    assert_eq!(
        planned(&report, "storage-service-tag-eastus")["status"],
        "covered"
    );
}

/// The quickstart NSG: tags in Azure's accepted casing are matched, shown in Microsoft's
/// casing, and noted; the same rules in an ARM export give the same statuses.
#[test]
fn the_quickstart_nsg_in_cli_and_arm_form() {
    let (_, cli) = audit_json(
        "e2e-secure.yaml",
        &[("nsg.json", fixture("e2e-secure-nsg.az.json"))],
        false,
    );
    let (_, arm) = audit_json(
        "e2e-secure.yaml",
        &[("nsg.json", fixture("e2e-secure-nsg.arm.json"))],
        false,
    );
    let statuses = |report: &Value| -> Vec<(String, String)> {
        report["deployed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["name"].to_string(), d["status"].to_string()))
            .collect()
    };
    assert_eq!(statuses(&cli), statuses(&arm));
    let storage = deployed(&cli, "AzureStorageAccount");
    assert!(
        storage["traffic"]
            .as_str()
            .unwrap()
            .ends_with("to Storage.EastUS"),
        "{storage}"
    );
    assert!(
        storage["notes"].to_string().contains("`Storage.eastus`"),
        "{storage}"
    );
    assert_eq!(
        storage["requirements"],
        serde_json::json!(["storage-service-tag"])
    );
    assert_eq!(
        deployed(&cli, "AzureMachineLearning")["status"],
        "broader than required"
    );
}

/// Names from a deployed file reach the terminal, Markdown and JSON escaped: no escape
/// sequence or bidi override passes as itself.
#[test]
fn hostile_names_are_escaped_in_every_format() {
    let nsg = r#"{"name": "nsg\u001b[31m", "securityRules": [{"name": "evil\u202erule\u001b]0;x\u0007", "priority": 100,
        "direction": "Outbound", "access": "Allow", "protocol": "Tcp", "sourceAddressPrefix": "*",
        "destinationAddressPrefix": "Storage|<b>x</b>", "destinationPortRange": "443"}]}"#;
    let catalog = Catalog::embedded();
    for format in [
        ReportFormat::Text,
        ReportFormat::Markdown,
        ReportFormat::Json,
    ] {
        let outcome = amlfw::audit::run(
            &fixture("e2e-secure.yaml"),
            "e2e-secure.yaml",
            &catalog,
            &[("nsg\u{1b}.json".to_owned(), nsg.as_bytes().to_vec())],
            Options {
                input_format: None,
                format,
                fail_on_broader: false,
                service_tags: None,
            },
        );
        assert_eq!(outcome.code, 1, "{}", outcome.stderr);
        for hidden in ['\u{1b}', '\u{202e}', '\u{7}'] {
            assert!(
                !outcome.stdout.contains(hidden),
                "{format:?}: {hidden:?} in {}",
                outcome.stdout
            );
        }
        if format == ReportFormat::Markdown {
            assert!(!outcome.stdout.contains("<b>"), "{}", outcome.stdout);
        }
    }
}

/// Azure Firewall takes service tags as destinations only: a tag as a source is invalid.
#[test]
fn a_service_tag_as_a_firewall_source_is_invalid() {
    let group = r#"{"name": "g", "priority": 100, "ruleCollections": [{"name": "c", "priority": 100,
        "action": {"type": "Allow"}, "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
        "rules": [{"name": "from-a-tag", "ruleType": "NetworkRule", "ipProtocols": ["TCP"],
          "sourceAddresses": ["VirtualNetwork"], "destinationAddresses": ["AzureMonitor"], "destinationPorts": ["443"]},
          {"name": "from-the-subnet", "ruleType": "NetworkRule", "ipProtocols": ["TCP"],
          "sourceAddresses": ["10.0.1.0/24"], "destinationAddresses": ["AzureMonitor"], "destinationPorts": ["443"]}]}]}"#;
    let (_, report) = audit_json(
        "e2e-secure.yaml",
        &[("g.json", group.as_bytes().to_vec())],
        false,
    );
    let from_tag = deployed(&report, "from-a-tag");
    assert_eq!(from_tag["status"], "invalid");
    assert!(
        from_tag["details"].to_string().contains("as a source"),
        "{from_tag}"
    );
    assert_eq!(deployed(&report, "from-the-subnet")["status"], "required");
    assert_eq!(
        planned(&report, "azure-monitor-service-tag")["status"],
        "covered"
    );
}
