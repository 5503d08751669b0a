//! Checks against the real files of the shared data folder (`../shared/data`), which users
//! of amlfw do not have: each test says so and passes when the folder is absent.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use amlfw::catalog::{Catalog, Cloud};
use amlfw::plan::RuleKind;
use amlfw::planner::{AddressOptions, plan_with};
use amlfw::scenario;
use amlfw::service_tags::ServiceTagFile;

fn shared(path: &str) -> Option<PathBuf> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(path);
    if full.exists() {
        Some(full)
    } else {
        println!(
            "skipped: {} is not here (the shared data folder is only on development machines)",
            full.display()
        );
        None
    }
}

#[test]
fn the_real_service_tag_files_match_the_catalog_data() {
    let catalog = Catalog::embedded();
    for (file, cloud) in [
        (
            "service-tags/ServiceTags_Public_20251028.json",
            Cloud::Public,
        ),
        (
            "service-tags/ServiceTags_AzureGovernment_20260720.json",
            Cloud::Usgov,
        ),
        ("service-tags/ServiceTags_China_20260720.json", Cloud::China),
    ] {
        let Some(path) = shared(file) else { return };
        let bytes = std::fs::read(&path).unwrap();
        let tags = ServiceTagFile::parse(&bytes, file).unwrap();
        assert_eq!(tags.cloud, cloud);
        assert_eq!(
            tags.change_number, catalog.tag_sources[&cloud].change_number,
            "{file}"
        );
        // Every region with a tag suffix has its Storage tag in the file, in that casing.
        for region in catalog.regions[&cloud].values() {
            if let Some(suffix) = &region.tag_suffix {
                if region.flags.iter().any(|f| f.starts_with("absent_from")) {
                    continue;
                }
                let name = format!("Storage.{suffix}");
                assert!(
                    tags.names().any(|n| n == name)
                        || tags.contains(&format!("AzureMachineLearning.{suffix}")),
                    "{file}: {name}"
                );
            }
        }
    }
}

fn full_public_with_ip_routes(revision: &str) -> amlfw::plan::Plan {
    let catalog = Catalog::embedded();
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/full-public.yaml"),
    )
    .unwrap()
    .replace(
        "route_table: { firewall_private_ip: 10.0.0.4 }",
        "route_table: { firewall_private_ip: 10.0.0.4, mode: ip-addresses }",
    )
    .replace("catalog: latest", &format!("catalog: \"{revision}\""));
    let scenario = scenario::load(&text, "full-public.yaml", &catalog).unwrap();
    let path = shared("service-tags/ServiceTags_Public_20251028.json").unwrap();
    let bytes = std::fs::read(path).unwrap();
    let tags = ServiceTagFile::parse(&bytes, "ServiceTags_Public_20251028.json").unwrap();
    plan_with(
        &scenario,
        &catalog,
        AddressOptions {
            service_tags: Some(&tags),
            allow_global_tags: false,
        },
    )
    .unwrap()
}

#[test]
fn full_public_ip_routes_cover_the_primary_and_the_paired_region() {
    if shared("service-tags/ServiceTags_Public_20251028.json").is_none() {
        return;
    }
    for revision in ["2026-03", "2022-09"] {
        let plan = full_public_with_ip_routes(revision);
        let routes: Vec<_> = plan
            .rules
            .iter()
            .filter(|r| r.kind == RuleKind::Route && !r.expanded_from.is_empty())
            .collect();
        let from: std::collections::BTreeSet<&str> = routes
            .iter()
            .flat_map(|r| r.expanded_from.iter().map(String::as_str))
            .collect();
        assert!(
            from.contains("AzureMachineLearning.EastUS2")
                && from.contains("AzureMachineLearning.CentralUS"),
            "{revision}: {from:?}"
        );
        // The Batch route is in the 2022-09 article only.
        assert_eq!(
            from.contains("BatchNodeManagement.EastUS2"),
            revision == "2022-09",
            "{revision}: {from:?}"
        );
        assert!(
            routes.len() >= 15,
            "{revision}: only {} address routes",
            routes.len()
        );
        assert!(
            routes
                .iter()
                .all(|r| r.destinations[0].parse::<ipnet::IpNet>().is_ok())
        );
        assert_eq!(plan.address_source.as_ref().unwrap().change_number, 375);
    }
}

#[test]
fn the_real_dependencies_response_reads() {
    let Some(path) =
        shared("azureml-outbound/outboundNetworkDependenciesEndpoints.eastus2.2025-11-04.json")
    else {
        return;
    };
    let endpoints = amlfw::dependencies::parse_response(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(endpoints.len(), 24);
    assert!(endpoints.iter().any(|e| e.category == "Compute"
        && e.domain == "*.instances.azureml.ms"
        && e.port == 18881));
}

/// The real files are large enough to be parsed on two threads (`service_tags::split`):
/// every tag, in file order, and every prefix of it must be what a plain `serde_json`
/// parse of the whole file finds.
#[test]
fn the_real_service_tag_files_parse_as_serde_json_reads_them() {
    for file in [
        "service-tags/ServiceTags_Public_20251028.json",
        "service-tags/ServiceTags_AzureGovernment_20260720.json",
        "service-tags/ServiceTags_China_20260720.json",
    ] {
        let Some(path) = shared(file) else { return };
        let bytes = std::fs::read(&path).unwrap();
        let tags = ServiceTagFile::parse(&bytes, file).unwrap();
        let plain: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let values = plain["values"].as_array().unwrap();
        let names: Vec<&str> = values.iter().map(|v| v["name"].as_str().unwrap()).collect();
        assert_eq!(tags.names().collect::<Vec<_>>(), names, "{file}");
        for value in values {
            let name = value["name"].as_str().unwrap();
            let mut expected: Vec<ipnet::IpNet> = value["properties"]["addressPrefixes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().parse::<ipnet::IpNet>().unwrap().trunc())
                .collect();
            expected = ipnet::IpNet::aggregate(&expected);
            expected.sort_by_key(|net| matches!(net, ipnet::IpNet::V6(_)));
            let found: Vec<ipnet::IpNet> = tags.expand(name).unwrap().unwrap().all().collect();
            assert_eq!(found, expected, "{file}: {name}");
        }
    }
}
