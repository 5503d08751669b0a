//! The least-privilege lint judges what rules mean, whatever produced them: a custom
//! catalog, a tampered service tag file, or scenario values the decoder let through. Inputs
//! that the scenario decoder refuses (or may come to refuse) are built by loading a harmless
//! scenario and changing the decoded `Scenario`, so the lint is tested as the backstop it is.

// Test helpers may panic on unexpected input: that is a failed test.
#![allow(clippy::unwrap_used)]

use amlfw::catalog::{Catalog, PortRange};
use amlfw::diagnostic::{Diagnostic, render_all};
use amlfw::plan::Plan;
use amlfw::planner::{AddressOptions, plan_with};
use amlfw::scenario::Scenario;
use amlfw::service_tags::ServiceTagFile;

const FIXTURE: &str =
    include_str!("fixtures/service-tags/ServiceTags_Public_20251028.fixture.json");

fn scenario(yaml: &str, catalog: &Catalog) -> Scenario {
    amlfw::scenario::load(yaml, "s.yaml", catalog)
        .unwrap_or_else(|d| panic!("{}", render_all(&d, "the scenario")))
}

/// The built-in catalog plus one requirements file, as `--catalog DIR` would give it.
fn catalog_with(requirements: &str) -> Catalog {
    let mut files: Vec<(String, String)> = amlfw::catalog::EMBEDDED_FILES
        .iter()
        .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
        .collect();
    files.push((
        "requirements/zz-test.yaml".to_owned(),
        requirements.to_owned(),
    ));
    Catalog::load(&files, "catalog").unwrap_or_else(|d| panic!("{d:?}"))
}

/// A custom requirement in the embedded catalog's format.
fn requirement(id: &str, body: &str) -> String {
    format!(
        "- id: {id}\n  revisions: [\"2026-03\"]\n  concern: extra\n  purpose: A test requirement.\n  section: nowhere\n  quote: not in the article\n  when: always\n{body}"
    )
}

fn errors(
    scenario: &Scenario,
    catalog: &Catalog,
    tags: Option<&ServiceTagFile<'_>>,
) -> Vec<Diagnostic> {
    let options = AddressOptions {
        service_tags: tags,
        allow_global_tags: false,
    };
    match plan_with(scenario, catalog, options) {
        Ok(plan) => panic!("expected errors, got a plan:\n{plan}"),
        Err(errors) => errors,
    }
}

fn plan(scenario: &Scenario, catalog: &Catalog, tags: Option<&ServiceTagFile<'_>>) -> Plan {
    let options = AddressOptions {
        service_tags: tags,
        allow_global_tags: false,
    };
    plan_with(scenario, catalog, options)
        .unwrap_or_else(|d| panic!("{}", render_all(&d, "the scenario")))
}

fn with_code<'d>(errors: &'d [Diagnostic], code: &str) -> Vec<&'d Diagnostic> {
    errors.iter().filter(|d| d.code.as_str() == code).collect()
}

/// The fixture with some tags' prefixes replaced, as a tampered or damaged file would hold.
fn tampered(replacements: &[(&str, &[&str])]) -> Vec<u8> {
    let mut json: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    for (name, prefixes) in replacements {
        let tag = json["values"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|tag| tag["name"] == *name)
            .unwrap_or_else(|| panic!("the fixture has no {name}"));
        tag["properties"]["addressPrefixes"] = serde_json::json!(prefixes);
    }
    serde_json::to_vec(&json).unwrap()
}

const ONE_WORKSPACE: &str = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw\n    region: eastus2\n    compute_subnets: [10.0.1.0/24, 10.0.2.0/24]\n";

#[test]
fn compute_subnets_that_together_cover_ipv4_are_every_source_located_at_the_first() {
    let catalog = Catalog::embedded();
    let mut scenario = scenario(ONE_WORKSPACE, &catalog);
    scenario.workspaces[0].compute_subnets =
        vec!["128.0.0.0/1".parse().unwrap(), "0.0.0.0/1".parse().unwrap()];
    let errors = errors(&scenario, &catalog, None);
    let found = with_code(&errors, "any-source");
    assert_eq!(found.len(), 1, "one finding for one cause: {errors:#?}");
    let message = &found[0].message;
    assert!(
        message.contains("`aad-service-tag`") && message.contains("`storage-service-tag-eastus2`"),
        "{message}"
    );
    assert!(
        message.contains("`0.0.0.0/1` and `128.0.0.0/1` together cover all of IPv4"),
        "{message}"
    );
    // Located at the first of them in the file (the first list item, line 6).
    let rendered = found[0].to_string();
    assert!(
        rendered.contains("--> s.yaml:6:23 (at workspaces[0].compute_subnets[0])"),
        "{rendered}"
    );
}

#[test]
fn subnets_of_two_workspaces_that_together_cover_ipv6_are_every_source() {
    let catalog = Catalog::embedded();
    let text = format!(
        "{ONE_WORKSPACE}  - name: mlw2\n    region: eastus2\n    compute_subnets: [10.0.3.0/24]\n"
    );
    let mut scenario = scenario(&text, &catalog);
    scenario.workspaces[0].compute_subnets[1] = "::/1".parse().unwrap();
    scenario.workspaces[1].compute_subnets[0] = "8000::/1".parse().unwrap();
    let errors = errors(&scenario, &catalog, None);
    let found = with_code(&errors, "any-source");
    assert_eq!(found.len(), 1, "{errors:#?}");
    assert!(
        found[0]
            .message
            .contains("`::/1` and `8000::/1` together cover all of IPv6"),
        "{}",
        found[0].message
    );
    assert!(
        found[0]
            .to_string()
            .contains("s.yaml:6:36 (at workspaces[0].compute_subnets[1])"),
        "{}",
        found[0]
    );
}

#[test]
fn half_of_the_address_space_or_of_the_ports_is_not_everything() {
    let catalog = catalog_with(&requirement(
        "most-ports",
        "  direction: outbound\n  protocol: tcp\n  ports: [\"1-32767\", \"32769-65535\"]\n  destinations: { all: [\"0.0.0.0/1\", \"192.0.0.0/2\"] }\n",
    ));
    let mut scenario = scenario(ONE_WORKSPACE, &catalog);
    scenario.workspaces[0].compute_subnets = vec!["0.0.0.0/1".parse().unwrap()];
    let plan = plan(&scenario, &catalog, None);
    assert!(plan.rules.iter().any(|r| r.id == "most-ports"));
}

#[test]
fn port_ranges_that_together_cover_every_port_are_any_port() {
    let catalog = catalog_with(&requirement(
        "split-ports",
        "  direction: outbound\n  protocol: tcp\n  ports: [\"32768-65535\", \"1-32767\"]\n  destinations: { all: [AzureMachineLearning] }\n",
    ));
    let errors = errors(&scenario(ONE_WORKSPACE, &catalog), &catalog, None);
    let found = with_code(&errors, "any-port");
    assert_eq!(found.len(), 1, "{errors:#?}");
    assert_eq!(
        found[0].message,
        "rule `split-ports` allows every port: `1-32767` and `32768-65535` together cover 1-65535"
    );
    let rendered = found[0].to_string();
    assert!(
        rendered.contains(
            "(at rule from split-ports in catalog file requirements/zz-test.yaml (workspaces mlw))"
        ),
        "{rendered}"
    );
}

#[test]
fn an_extra_host_on_every_port_is_located_at_its_entry() {
    let catalog = Catalog::embedded();
    let text = format!(
        "{ONE_WORKSPACE}    extra_fqdns:\n      - {{ fqdn: data.example.com, ports: [8443], reason: data }}\n"
    );
    let mut scenario = scenario(&text, &catalog);
    scenario.workspaces[0].extra_fqdns[0].ports = vec![
        PortRange {
            start: 1,
            end: 32767,
        },
        PortRange {
            start: 32768,
            end: 65535,
        },
    ];
    let errors = errors(&scenario, &catalog, None);
    let found = with_code(&errors, "any-port");
    assert_eq!(found.len(), 1, "{errors:#?}");
    assert!(
        found[0]
            .to_string()
            .contains("--> s.yaml:8:11 (at workspaces[0].extra_fqdns[0])"),
        "{}",
        found[0]
    );
}

#[test]
fn destination_prefixes_that_together_cover_everything_are_broad() {
    let catalog = catalog_with(&requirement(
        "split-internet",
        "  direction: outbound\n  protocol: tcp\n  ports: [\"443\"]\n  destinations: { all: [\"128.0.0.0/1\", \"0.0.0.0/2\", \"64.0.0.0/2\"] }\n",
    ));
    let errors = errors(&scenario(ONE_WORKSPACE, &catalog), &catalog, None);
    let found = with_code(&errors, "broad-destination");
    assert_eq!(found.len(), 1, "{errors:#?}");
    assert_eq!(
        found[0].message,
        "rule `split-internet` allows every destination: `0.0.0.0/2`, `64.0.0.0/2` and `128.0.0.0/1` together cover all of IPv4"
    );
}

// `azure_monitor: secured`: the fixture leaves out AzureMonitor (2,499 prefixes).
const IP_GROUPS: &str = "version: 1\ncloud: public\nfirewall: { destinations: ip-addresses }\nworkspaces:\n  - name: mlw\n    region: eastus2\n    azure_monitor: secured\n    compute_subnets: [10.0.1.0/24]\n";

#[test]
fn a_tampered_service_tag_that_aggregates_to_everything_is_refused_in_ip_groups() {
    let catalog = Catalog::embedded();
    let bytes = tampered(&[("Storage.EastUS2", &["0.0.0.0/1", "128.0.0.0/1"])]);
    let file = ServiceTagFile::parse(&bytes, "tampered.json").unwrap();
    let errors = errors(&scenario(IP_GROUPS, &catalog), &catalog, Some(&file));
    let found = with_code(&errors, "broad-destination");
    let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    assert!(
        messages.contains(&"rule `storage-service-tag-eastus2` allows every destination (`0.0.0.0/0` of IP group `ipg-storage-eastus2`)"),
        "{messages:#?}"
    );
    assert!(
        messages.contains(&"service tag `Storage.EastUS2` in `tampered.json` covers every IPv4 address: its prefixes aggregate to `0.0.0.0/0`"),
        "{messages:#?}"
    );
    assert!(found.iter().any(|d| d.to_string().contains(
        "--> tampered.json (at values[name=Storage.EastUS2].properties.addressPrefixes)"
    )));
    // The untampered file plans.
    let file = ServiceTagFile::parse(FIXTURE.as_bytes(), "fixture.json").unwrap();
    plan(&scenario(IP_GROUPS, &catalog), &catalog, Some(&file));
}

#[test]
fn a_tampered_service_tag_is_refused_for_allow_lists_when_rules_keep_the_tag() {
    let catalog = Catalog::embedded();
    let bytes = tampered(&[("AzureResourceManager", &["::/0", "10.0.0.0/8"])]);
    let file = ServiceTagFile::parse(&bytes, "tampered.json").unwrap();
    let text = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw\n    region: eastus2\n    compute_subnets: [10.0.1.0/24]\n";
    let errors = errors(&scenario(text, &catalog), &catalog, Some(&file));
    let messages: Vec<&str> = with_code(&errors, "broad-destination")
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        messages.contains(&"service tag `AzureResourceManager` in `tampered.json` covers every IPv6 address: its prefixes aggregate to `::/0`"),
        "{messages:#?}"
    );
    assert!(
        messages.contains(&"rule `arm-service-tag` allows every destination (`::/0` of service tag `AzureResourceManager`)"),
        "{messages:#?}"
    );
}

const IP_ROUTES: &str = "version: 1\ncloud: public\ncatalog: \"2022-09\"\nworkspaces:\n  - name: mlw\n    region: eastus2\n    compute_subnets: [10.0.1.0/24]\n    compute: { clusters: true, public_ip: true }\noutputs:\n  route_table: { firewall_private_ip: 10.0.0.4, mode: ip-addresses }\n";

#[test]
fn internet_routes_of_one_table_that_together_cover_everything_bypass_the_firewall() {
    let catalog = Catalog::embedded();
    // Two requirements' routes, each half of IPv4: only the route table as a whole covers it.
    let bytes = tampered(&[
        ("AzureMachineLearning.EastUS2", &["0.0.0.0/1"]),
        ("AzureMachineLearning.CentralUS", &["20.0.0.0/8"]),
        ("BatchNodeManagement.EastUS2", &["128.0.0.0/1"]),
    ]);
    let file = ServiceTagFile::parse(&bytes, "tampered.json").unwrap();
    let errors = errors(&scenario(IP_ROUTES, &catalog), &catalog, Some(&file));
    let found = with_code(&errors, "broad-destination");
    assert_eq!(found.len(), 1, "{errors:#?}");
    assert_eq!(
        found[0].message,
        "routes `route-azure-machine-learning-eastus2-0-0-0-0-1` and `route-batch-node-management-eastus2-128-0-0-0-1` of the route table of `eastus2` send every destination past the firewall: `0.0.0.0/1` and `128.0.0.0/1` together cover all of IPv4"
    );
    let help = found[0].help.as_deref().unwrap();
    assert!(
        help.contains("`AzureMachineLearning.EastUS2`") && help.contains("`tampered.json`"),
        "{help}"
    );
    // The real file plans, with the default route to the firewall for 0.0.0.0/0.
    let file = ServiceTagFile::parse(FIXTURE.as_bytes(), "fixture.json").unwrap();
    let plan = plan(&scenario(IP_ROUTES, &catalog), &catalog, Some(&file));
    assert!(
        plan.rules.iter().any(|r| r.destinations == ["0.0.0.0/0"]
            && r.next_hop.as_deref() == Some("VirtualAppliance"))
    );
}

#[test]
fn wildcards_under_an_icann_suffix_are_refused_whatever_produced_them() {
    let catalog = catalog_with(&requirement(
        "uk-everything",
        "  direction: outbound\n  protocol: https\n  ports: [\"443\"]\n  destinations: { all: [\"*.co.uk\"] }\n",
    ));
    let errors = errors(&scenario(ONE_WORKSPACE, &catalog), &catalog, None);
    let found = with_code(&errors, "broad-wildcard");
    assert_eq!(found.len(), 1, "{errors:#?}");
    assert_eq!(
        found[0].message,
        "rule `uk-everything` allows `*.co.uk`, every domain under the public suffix `co.uk`"
    );
    assert!(
        found[0]
            .help
            .as_deref()
            .unwrap()
            .contains("ICANN section of the Public Suffix List")
    );
}

#[test]
fn extra_hosts_under_any_public_suffix_are_refused_at_their_entry() {
    let catalog = Catalog::embedded();
    let text = format!(
        "{ONE_WORKSPACE}    extra_fqdns:\n      - {{ fqdn: \"*.example.com\", ports: [443], reason: one }}\n      - {{ fqdn: \"*.example.org\", ports: [443], reason: two }}\n      - {{ fqdn: \"*.example.net\", ports: [443], reason: three }}\n"
    );
    let mut scenario = scenario(&text, &catalog);
    scenario.workspaces[0].extra_fqdns[0].fqdn = "*.github.io".to_owned();
    scenario.workspaces[0].extra_fqdns[1].fqdn = "*.com".to_owned();
    let errors = errors(&scenario, &catalog, None);
    let found = with_code(&errors, "broad-wildcard");
    assert_eq!(found.len(), 2, "{errors:#?}");
    let github = found[0].to_string();
    assert!(
        github.contains("--> s.yaml:8:11 (at workspaces[0].extra_fqdns[0])"),
        "{github}"
    );
    assert!(
        github.contains("`github.io` is in the private section of the Public Suffix List"),
        "{github}"
    );
    assert!(
        found[1]
            .to_string()
            .contains("--> s.yaml:9:11 (at workspaces[0].extra_fqdns[1])"),
        "{}",
        found[1]
    );
    // `*.example.net` is one owner's domain; the catalog's `*.blob.core.windows.net`
    // (private section) is the article's requirement: neither is refused.
    assert!(errors.iter().all(|d| !d.message.contains("example.net")));
}

#[test]
fn planner_errors_and_lint_findings_come_in_one_run() {
    let catalog = Catalog::embedded();
    let text = "version: 1\ncloud: public\nfirewall: { destinations: hosts }\nworkspaces:\n  - name: mlw\n    region: eastus2\n    compute_subnets: [10.0.1.0/24, 10.0.2.0/24]\n    compute: { clusters: true }\n";
    let mut scenario = scenario(text, &catalog);
    scenario.workspaces[0].compute_subnets =
        vec!["0.0.0.0/1".parse().unwrap(), "128.0.0.0/1".parse().unwrap()];
    let errors = errors(&scenario, &catalog, None);
    let codes: Vec<&str> = errors.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(
        codes,
        ["missing-placeholder-value", "any-source"],
        "in file order: {errors:#?}"
    );
    assert_eq!(
        errors,
        plan_with(&scenario, &catalog, AddressOptions::default()).unwrap_err(),
        "deterministic"
    );
}

#[test]
fn address_errors_and_lint_findings_come_in_one_run() {
    let catalog = catalog_with(&requirement(
        "every-port",
        "  direction: outbound\n  protocol: tcp\n  ports: [\"1-65535\"]\n  destinations: { all: [AzureMachineLearning] }\n",
    ));
    // No service tag file for ip-addresses: the addresses stop, the lint still runs.
    let errors = errors(&scenario(IP_GROUPS, &catalog), &catalog, None);
    let codes: Vec<&str> = errors.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["service-tags-required", "any-port"], "{errors:#?}");
}

#[test]
fn custom_catalog_routes_past_the_firewall_that_cover_everything_are_refused() {
    let catalog = catalog_with(&requirement(
        "split-bypass",
        "  direction: outbound\n  route: internet\n  destinations: { all: [\"0.0.0.0/1\", \"128.0.0.0/1\"] }\n",
    ));
    let text = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw\n    region: eastus2\n    compute_subnets: [10.0.1.0/24]\noutputs:\n  route_table: { firewall_private_ip: 10.0.0.4 }\n";
    let errors = errors(&scenario(text, &catalog), &catalog, None);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let rendered = errors[0].to_string();
    assert!(
        rendered.contains("error[broad-destination]: routes `split-bypass-eastus2` and `split-bypass-eastus2-2` of the route table of `eastus2` send every destination past the firewall: `0.0.0.0/1` and `128.0.0.0/1` together cover all of IPv4"),
        "{rendered}"
    );
    assert!(
        rendered.contains("(at route table of eastus2: routes from split-bypass in catalog file requirements/zz-test.yaml (workspaces mlw))"),
        "{rendered}"
    );
}
