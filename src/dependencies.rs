//! The Dependencies API cross-check: the hosts and ports a workspace's
//! `outboundNetworkDependenciesEndpoints` response lists, against the host rules of a plan.
//! Pure: the CLI reads the files.
//!
//! The API lists host names, so the plan compared is the scenario's hosts-mode plan (the
//! article's "Microsoft hosts" tables). An API endpoint is allowed when a rule's host
//! pattern covers its domain (equal, or a `*.` wildcard above it) on that port.
//!
//! The response file is not amlfw's: its strings may hold ESC sequences, line breaks or
//! bidi controls. The text report shows every such character as `\u{NNNN}`
//! ([`filters::visible`]), so it cannot drive the terminal or fake a line; the JSON report
//! escapes them as `\uNNNN` ([`filters::json_pretty`]) and keeps the strings as read.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, CloudEndpoints, Endpoint as CatalogEndpoint};
use crate::plan::{DestinationType, Plan, RuleKind};
use crate::render::filters::{self, visible};

/// One domain and port the API lists.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ApiEndpoint {
    /// The API's category, trimmed (the real response has `"Compute "`).
    pub category: String,
    /// The domain, possibly a `*.` wildcard.
    pub domain: String,
    /// The port.
    pub port: u16,
}

/// The result of the cross-check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// API endpoints the plan allows.
    pub allowed: Vec<ApiEndpoint>,
    /// API endpoints the plan does not allow: the plan misses something the API requires.
    pub missing: Vec<ApiEndpoint>,
    /// API endpoints the plan does not allow because the plan's article revision dropped
    /// them: an earlier revision's requirement listed them (the service still does). They
    /// fail the check only with `--strict`.
    pub retired: Vec<RetiredEndpoint>,
    /// Plan hosts (with ports and rule) the API does not list.
    pub not_in_api: Vec<PlanHost>,
}

/// An API endpoint that only an earlier article revision asks for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RetiredEndpoint {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: ApiEndpoint,
    /// The earlier requirement that listed it.
    pub requirement: String,
    /// The last revision whose requirement listed it.
    pub last_listed_in: String,
    /// The plan's revision, which does not.
    pub retired_in: String,
}

/// A host an earlier revision's requirement lists and the plan's revision does not.
struct RetiredHost {
    host: String,
    ports: Vec<String>,
    requirement: String,
    revision: String,
}

/// The hosts of requirements of revisions before the plan's that no requirement of the
/// plan's revision lists, in the plan's cloud, with `{region}` filled for each region of
/// the plan (hosts with other placeholders are left out: they name the user's resources,
/// which a retired row cannot).
fn retired_hosts(catalog: &Catalog, plan: &Plan) -> Vec<RetiredHost> {
    let position = |id: &str| catalog.revisions.iter().position(|r| r.id == id);
    let Some(current) = position(&plan.catalog) else {
        return Vec::new();
    };
    let hosts_of = |requirement: &crate::catalog::Requirement| -> Vec<String> {
        let Some(destinations) = &requirement.destinations else {
            return Vec::new();
        };
        let CloudEndpoints::Endpoints(endpoints) = destinations.get(plan.cloud) else {
            return Vec::new();
        };
        endpoints
            .iter()
            .filter_map(|endpoint| match endpoint {
                CatalogEndpoint::Host(host) => Some(host.to_lowercase()),
                _ => None,
            })
            .flat_map(|host| {
                if host.contains("{region}") {
                    plan.regions()
                        .iter()
                        .map(|region| host.replace("{region}", region))
                        .collect::<Vec<_>>()
                } else {
                    vec![host]
                }
            })
            .filter(|host| !host.contains('{'))
            .collect()
    };
    let current_hosts: BTreeSet<String> = catalog
        .requirements_of(&plan.catalog)
        .flat_map(hosts_of)
        .collect();
    let mut retired = Vec::new();
    for requirement in &catalog.requirements {
        let Some(last) = requirement
            .revisions
            .iter()
            .filter_map(|r| position(r).map(|p| (p, r)))
            .filter(|(p, _)| *p < current)
            .max()
            .map(|(_, r)| r.clone())
        else {
            continue;
        };
        if requirement.revisions.contains(&plan.catalog) {
            continue;
        }
        for host in hosts_of(requirement) {
            if current_hosts.contains(&host) {
                continue;
            }
            retired.push(RetiredHost {
                host,
                ports: requirement.ports.iter().map(ToString::to_string).collect(),
                requirement: requirement.id.clone(),
                revision: last.clone(),
            });
        }
    }
    retired
}

/// A host pattern a plan allows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PlanHost {
    /// The host pattern.
    pub host: String,
    /// The ports, as written in the rule.
    pub ports: Vec<String>,
    /// The plan rule.
    pub rule: String,
}

#[derive(Deserialize)]
struct Response {
    value: Vec<Category>,
}

#[derive(Deserialize)]
struct Category {
    properties: CategoryProperties,
}

#[derive(Deserialize)]
struct CategoryProperties {
    category: String,
    endpoints: Vec<Endpoint>,
}

#[derive(Deserialize)]
struct Endpoint {
    #[serde(rename = "domainName")]
    domain_name: String,
    #[serde(rename = "endpointDetails", default)]
    endpoint_details: Vec<EndpointDetail>,
}

#[derive(Deserialize)]
struct EndpointDetail {
    port: Option<u16>,
}

/// Reads a saved response: the API's body, or the REST spec's example wrapper
/// (`{"responses": {"200": {"body": ...}}}`).
pub fn parse_response(bytes: &[u8]) -> Result<Vec<ApiEndpoint>, String> {
    // Parser messages may quote the file's text: shown visibly, like the report.
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| visible(&e.to_string()))?;
    let body = value
        .pointer("/responses/200/body")
        .cloned()
        .unwrap_or(value);
    let response: Response = serde_json::from_value(body).map_err(|e| {
        visible(&format!(
            "not an outboundNetworkDependenciesEndpoints response: {e}"
        ))
    })?;
    let mut endpoints = BTreeSet::new();
    for category in response.value {
        let name = category.properties.category.trim().to_owned();
        for endpoint in category.properties.endpoints {
            for detail in endpoint.endpoint_details {
                if let Some(port) = detail.port {
                    endpoints.insert(ApiEndpoint {
                        category: name.clone(),
                        domain: endpoint.domain_name.trim().to_lowercase(),
                        port,
                    });
                }
            }
        }
    }
    Ok(endpoints.into_iter().collect())
}

/// Compares the API's endpoints with the plan's host rules; an endpoint the plan misses
/// that only an earlier revision of `catalog` asked for is `retired`, not `missing`.
#[must_use]
pub fn verify(catalog: &Catalog, plan: &Plan, endpoints: &[ApiEndpoint]) -> Verification {
    let hosts = plan_hosts(plan);
    let retired_hosts = retired_hosts(catalog, plan);
    let mut verification = Verification {
        allowed: Vec::new(),
        missing: Vec::new(),
        retired: Vec::new(),
        not_in_api: Vec::new(),
    };
    for endpoint in endpoints {
        let allowed = hosts.iter().any(|host| {
            covers(&host.host, &endpoint.domain)
                && host.ports.iter().any(|p| port_matches(p, endpoint.port))
        });
        let retired = retired_hosts.iter().find(|host| {
            covers(&host.host, &endpoint.domain)
                && host.ports.iter().any(|p| port_matches(p, endpoint.port))
        });
        match (allowed, retired) {
            (true, _) => verification.allowed.push(endpoint.clone()),
            (false, Some(host)) => verification.retired.push(RetiredEndpoint {
                endpoint: endpoint.clone(),
                requirement: host.requirement.clone(),
                last_listed_in: host.revision.clone(),
                retired_in: plan.catalog.clone(),
            }),
            (false, None) => verification.missing.push(endpoint.clone()),
        }
    }
    let listed: BTreeSet<&str> = endpoints.iter().map(|e| e.domain.as_str()).collect();
    verification.not_in_api = hosts
        .into_iter()
        .filter(|host| {
            !listed
                .iter()
                .any(|domain| covers(&host.host, domain) || covers(domain, &host.host))
        })
        .collect();
    verification
}

/// Every host pattern the plan allows, with its ports.
fn plan_hosts(plan: &Plan) -> Vec<PlanHost> {
    let mut hosts = BTreeSet::new();
    for rule in &plan.rules {
        let ports: Vec<String> = if rule.application_protocols.is_empty() {
            rule.ports.clone()
        } else {
            rule.application_protocols
                .iter()
                .filter_map(|p| p.split(':').nth(1))
                .map(str::to_owned)
                .collect()
        };
        let patterns: Vec<String> = match (rule.kind, rule.destination_type) {
            (RuleKind::FirewallApplication | RuleKind::FirewallNetwork, DestinationType::Fqdns) => {
                rule.destinations.clone()
            }
            (RuleKind::FirewallApplication, DestinationType::Urls) => rule
                .destinations
                .iter()
                .map(|url| url.split('/').next().unwrap_or(url).to_owned())
                .collect(),
            _ => rule.covered_hosts.clone(),
        };
        for host in patterns {
            hosts.insert(PlanHost {
                host: host.to_lowercase(),
                ports: ports.clone(),
                rule: rule.id.clone(),
            });
        }
    }
    hosts.into_iter().collect()
}

/// Whether `pattern` (a host or `*.suffix`) covers `domain` (a host or `*.suffix`).
fn covers(pattern: &str, domain: &str) -> bool {
    if pattern == domain {
        return true;
    }
    match pattern.strip_prefix('*') {
        Some(suffix) if suffix.starts_with('.') => {
            domain.ends_with(suffix) && domain.len() > suffix.len()
        }
        _ => false,
    }
}

fn port_matches(range: &str, port: u16) -> bool {
    match range.split_once('-') {
        Some((start, end)) => {
            matches!((start.parse::<u16>(), end.parse::<u16>()), (Ok(s), Ok(e)) if (s..=e).contains(&port))
        }
        None => range.parse::<u16>() == Ok(port),
    }
}

impl Verification {
    /// The report as text, for a terminal: every string from the files (and their names)
    /// is shown through [`visible`], so each entry is one line and no escape sequence
    /// reaches the terminal.
    #[must_use]
    pub fn to_text(&self, response: &str, scenario: &str, plan: &Plan) -> String {
        let mut out = format!(
            "# amlfw verify-dependencies: {} against the host rules of {} (catalog {}, cloud {})\n",
            visible(response),
            visible(scenario),
            visible(&plan.catalog),
            plan.cloud
        );
        let _ = writeln!(
            out,
            "# the API lists {} endpoints (domain:port): {} allowed by the plan, {} retired by the article, {} missing",
            self.allowed.len() + self.missing.len() + self.retired.len(),
            self.allowed.len(),
            self.retired.len(),
            self.missing.len()
        );
        if self.missing.is_empty() && self.retired.is_empty() {
            out.push_str("\nevery endpoint the API lists is allowed\n");
        } else if self.missing.is_empty() {
            out.push_str("\nevery endpoint the API lists is allowed, except those the article retired (below)\n");
        } else {
            out.push_str("\nmissing: the API lists these, the plan does not allow them\n");
            for endpoint in &self.missing {
                let _ = writeln!(
                    out,
                    "  {}:{}  (category \"{}\")",
                    visible(&endpoint.domain),
                    endpoint.port,
                    visible(&endpoint.category)
                );
            }
        }
        if !self.retired.is_empty() {
            out.push_str("\nretired by the article: the API lists these, an earlier article revision asked for them, the plan's does not (they fail the check only with --strict)\n");
            for retired in &self.retired {
                let _ = writeln!(
                    out,
                    "  {}:{}  (category \"{}\"; {} of {}, not in {})",
                    visible(&retired.endpoint.domain),
                    retired.endpoint.port,
                    visible(&retired.endpoint.category),
                    visible(&retired.requirement),
                    visible(&retired.last_listed_in),
                    visible(&retired.retired_in)
                );
            }
        }
        if !self.not_in_api.is_empty() {
            out.push_str("\nnot in the API: the plan allows these (the article asks for them), the API does not list them\n");
            for host in &self.not_in_api {
                let _ = writeln!(
                    out,
                    "  {}:{}  ({})",
                    visible(&host.host),
                    visible(&host.ports.join(",")),
                    visible(&host.rule)
                );
            }
        }
        out
    }

    /// The report as JSON: the strings as read, invisible characters as `\uNNNN`.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn to_json(&self) -> String {
        let mut text = filters::json_pretty(self).expect("a verification always serializes");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_deeper_names_only() {
        assert!(covers("*.azureml.ms", "*.instances.azureml.ms"));
        assert!(covers("*.azureml.ms", "westus.api.azureml.ms"));
        assert!(!covers("*.azureml.ms", "azureml.ms"));
        assert!(!covers("*.instances.azureml.ms", "*.azureml.ms"));
        assert!(covers("pypi.org", "pypi.org"));
        assert!(port_matches("8704-8710", 8705) && !port_matches("443", 80));
    }

    #[test]
    fn categories_are_trimmed_and_the_spec_wrapper_is_read() {
        let wrapped = br#"{"parameters": {}, "responses": {"200": {"body": {"value": [
            {"properties": {"category": "Compute ", "endpoints": [{"domainName": "X.example.com", "endpointDetails": [{"port": 443}]}]}}]}}}}"#;
        let endpoints = parse_response(wrapped).unwrap();
        assert_eq!(
            endpoints,
            [ApiEndpoint {
                category: "Compute".into(),
                domain: "x.example.com".into(),
                port: 443
            }]
        );
        assert!(parse_response(b"{\"value\": 3}").is_err());
    }
}
