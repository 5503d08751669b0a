//! Property tests: random valid scenarios go through the whole pipeline without a panic,
//! render deterministically, parse as HCL, and the rules read back from Terraform and
//! Bicep equal the plan's; random YAML documents give a plan or diagnostics, never a
//! panic. Bounded (`PROPTEST_CASES`, default 48 and 256) so CI stays fast.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::OnceLock;

use amlfw::catalog::Catalog;
use amlfw::render::{Target, render};
use amlfw::{planner, scenario};
use proptest::prelude::*;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::embedded)
}

const PUBLIC_REGIONS: &[&str] = &[
    "eastus2",
    "westeurope",
    "austriaeast",
    "denmarkeast",
    "southeastasia",
    "eastus2euap",
    "westus3",
    "brazilsouth",
];
const USGOV_REGIONS: &[&str] = &["usgovvirginia", "usgovarizona", "usgovtexas", "usdodeast"];
const CHINA_REGIONS: &[&str] = &["chinaeast2", "chinanorth3", "chinaeast3"];
const FEATURES: &[&str] = &[
    "studio",
    "notebooks",
    "monitoring",
    "microsoft-images",
    "custom-images",
    "python",
    "python-custom-index",
    "r",
    "rstudio",
    "pytorch",
    "tensorflow",
    "vscode",
    "vscode-web",
    "interactive-jobs",
    "automl-nlp-vision",
    "storage-behind-firewall",
];

/// One random workspace, as YAML lines.
fn workspace(index: usize, regions: &'static [&'static str]) -> impl Strategy<Value = String> {
    (
        prop::sample::select(regions),
        prop::collection::vec(any::<bool>(), 9),
        prop::sample::subsequence(FEATURES, 0..=FEATURES.len()),
        prop::collection::vec((1u8..=250, 0u8..=255, prop::sample::select(&[16u8, 20, 24, 26][..])), 1..=3),
        prop::collection::vec(("[a-z]{1,8}", prop::sample::select(&["com", "org", "io", "example"][..]), prop::sample::select(&["443", "80", "5432", "8443"][..]), any::<bool>()), 0..=2),
    )
        .prop_map(move |(region, flags, features, subnets, extras)| {
            let subnets: Vec<String> = subnets
                .iter()
                .map(|(a, b, length)| {
                    let net: ipnet::Ipv4Net = format!("10.{a}.{b}.0/{length}").parse().unwrap();
                    net.trunc().to_string()
                })
                .collect();
            // A prefix listed twice in a workspace is refused (`duplicate-subnet`).
            let mut seen = std::collections::BTreeSet::new();
            let subnets: Vec<String> = subnets.into_iter().filter(|s| seen.insert(s.clone())).collect();
            let mut text = format!(
                "  - name: ws-{index}\n    region: {region}\n    storage_account: st{index}acct\n    container_registry: cr{index}registry\n    workspace_id: 00000000-0000-4000-8000-{index:012}\n    private_endpoint: {}\n    hbi: {}\n    compute_subnets: [{}]\n    compute: {{ instances: {}, clusters: {}, public_ip: {}, aks_v1_inference: {}, kubernetes: {{ training: {}, inference: {}, connection: {} }} }}\n    features: [{}]\n",
                flags[0],
                flags[1],
                subnets.join(", "),
                flags[2],
                flags[3],
                flags[4],
                flags[5],
                flags[6],
                flags[7],
                if flags[8] { "arc" } else { "aks" },
                features.join(", ")
            );
            if !extras.is_empty() {
                text.push_str("    extra_fqdns:\n");
                for (label, tld, port, wildcard) in extras {
                    // A wildcard directly under a public suffix (`*.us.com`) is refused (`invalid-fqdn`).
                    let wildcard = wildcard && amlfw::public_suffix::public_suffix_kind(&format!("{label}.{tld}")).is_none();
                    let port = if wildcard { "443" } else { port };
                    let host = if wildcard { format!("'*.{label}.{tld}'") } else { format!("{label}.{tld}") };
                    text.push_str(&format!("      - {{ fqdn: {host}, ports: [{port}], reason: \"reason with ' \\\" ${{x}} %{{y}} # */ and {label}\" }}\n"));
                }
            }
            text
        })
}

fn scenario_text() -> impl Strategy<Value = String> {
    (0usize..3, 1usize..=20, prop::sample::select(&["latest", "\"2022-09\"", "\"2026-03\""][..]), 0usize..3, any::<bool>(), any::<bool>(), any::<bool>())
        .prop_flat_map(|(cloud, count, revision, destinations, premium, nsg, route_table)| {
            let (name, regions): (&str, &'static [&'static str]) = match cloud {
                0 => ("public", PUBLIC_REGIONS),
                1 => ("usgov", USGOV_REGIONS),
                _ => ("china", CHINA_REGIONS),
            };
            let destinations = ["service-tags", "hosts", "service-tags"][destinations];
            let workspaces: Vec<_> = (0..count).map(|index| workspace(index, regions)).collect();
            workspaces.prop_map(move |workspaces| {
                let mut text = format!(
                    "version: 1\ncloud: {name}\ncatalog: {revision}\nfirewall: {{ sku: {}, destinations: {destinations} }}\nworkspaces:\n{}",
                    if premium { "premium" } else { "standard" },
                    workspaces.concat()
                );
                text.push_str(&format!("outputs:\n  nsg: {nsg}\n"));
                if route_table {
                    text.push_str("  route_table: { firewall_private_ip: 10.0.0.4 }\n");
                }
                text
            })
        })
}

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn valid_scenarios_render_the_plan_exactly_and_deterministically(text in scenario_text()) {
        let catalog = catalog();
        let scenario = scenario::load(&text, "scenario.yaml", catalog).unwrap_or_else(|d| panic!("{d:?}\n{text}"));
        let Ok(plan) = planner::plan(&scenario, catalog) else {
            // Only a missing placeholder value may stop a valid scenario; this generator
            // always gives them, so no error is expected.
            panic!("planning failed:\n{text}");
        };
        let files = render(&plan, Target::All, "scenario.yaml").unwrap();
        let again = render(&planner::plan(&scenario, catalog).unwrap(), Target::All, "scenario.yaml").unwrap();
        prop_assert_eq!(&files, &again);
        let allowlist = render(&plan, Target::Allowlist, "scenario.yaml").unwrap();
        let opens_with_header = allowlist["allowlist/allowlist.json"].starts_with("{\"_generated\"");
        prop_assert!(opens_with_header, "allowlist.json lacks its header");
        serde_json::from_str::<serde_json::Value>(&allowlist["allowlist/allowlist.json"]).unwrap();
        let expected = support::plan_facts(&plan);
        let terraform = support::module_facts(&files);
        let bicep = support::bicep::module_facts(&files);
        prop_assert!(support::difference(&expected, &terraform).is_empty(), "terraform: {}", support::difference(&expected, &terraform));
        prop_assert!(support::difference(&expected, &bicep).is_empty(), "bicep: {}", support::difference(&expected, &bicep));
    }
}

/// Random YAML-ish documents: scenario keys, YAML punctuation, scalars of every type.
fn yamlish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(
        &[
            "version",
            "cloud",
            "catalog",
            "firewall",
            "sku",
            "destinations",
            "workspaces",
            "name",
            "region",
            "compute",
            "features",
            "compute_subnets",
            "extra_fqdns",
            "fqdn",
            "ports",
            "reason",
            "outputs",
            "nsg",
            "route_table",
            "firewall_private_ip",
            "mode",
            "instances",
            "kubernetes",
            "- name",
            "storage_account",
            "workspace_id",
            "x",
        ][..],
    );
    let value = prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9 ._/:*-]{0,20}",
        Just("[1, 2, [3]]".to_owned()),
        Just("{ a: b, c: [d] }".to_owned()),
        Just("&anchor 1".to_owned()),
        Just("*anchor".to_owned()),
        Just("!!binary aGk=".to_owned()),
        Just("\"\\u00e9\\x00\"".to_owned()),
        Just("|\n  multi\n  line".to_owned()),
        Just("10.0.0.0/33".to_owned()),
        Just("true".to_owned()),
        Just("-1".to_owned()),
        Just("1e308".to_owned()),
    ];
    prop::collection::vec((0usize..4, key, value), 0..30).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(indent, key, value)| format!("{}{key}: {value}\n", "  ".repeat(indent)))
            .collect()
    })
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn arbitrary_yaml_gives_a_plan_or_diagnostics(text in prop_oneof![yamlish(), ".{0,300}"]) {
        let catalog = catalog();
        match scenario::load(&text, "fuzz.yaml", catalog) {
            Err(diagnostics) => prop_assert!(!diagnostics.is_empty()),
            Ok(scenario) => {
                if let Ok(plan) = planner::plan(&scenario, catalog) {
                    render(&plan, Target::All, "fuzz.yaml").unwrap();
                }
            }
        }
    }
}
