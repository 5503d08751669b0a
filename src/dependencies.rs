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
    /// Plan hosts (with ports and rule) the API does not list.
    pub not_in_api: Vec<PlanHost>,
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

/// Compares the API's endpoints with the plan's host rules.
#[must_use]
pub fn verify(plan: &Plan, endpoints: &[ApiEndpoint]) -> Verification {
    let hosts = plan_hosts(plan);
    let mut verification = Verification {
        allowed: Vec::new(),
        missing: Vec::new(),
        not_in_api: Vec::new(),
    };
    for endpoint in endpoints {
        let allowed = hosts.iter().any(|host| {
            covers(&host.host, &endpoint.domain)
                && host.ports.iter().any(|p| port_matches(p, endpoint.port))
        });
        if allowed {
            verification.allowed.push(endpoint.clone());
        } else {
            verification.missing.push(endpoint.clone());
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
            "# the API lists {} endpoints (domain:port): {} allowed by the plan, {} not",
            self.allowed.len() + self.missing.len(),
            self.allowed.len(),
            self.missing.len()
        );
        if self.missing.is_empty() {
            out.push_str("\nevery endpoint the API lists is allowed\n");
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
