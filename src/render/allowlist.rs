//! The allow-list target, for firewalls and proxies that are not Azure Firewall (the
//! article's "Other firewalls"): `allowlist/allowlist.csv` and `allowlist/allowlist.json`,
//! one row per destination of the plan, with protocol, ports, direction, purpose,
//! requirement ids and article sections. With a service tag file, service tags become
//! their address prefixes (one row each, naming the tag); without one, the tag itself.
//!
//! Rows are built in Rust and written by code, not templates: CSV and JSON quoting are
//! exact there, and there is no layout to print.
//!
//! Both are opened by people as well as programs. CSV cells follow OWASP's "CSV Injection"
//! guidance (`csv_cell`) so a spreadsheet never evaluates one; JSON needs no such
//! neutralising (a JSON string is never evaluated), and is written through
//! [`filters::SafeJson`], which escapes invisible characters as `\uNNNN` (same strings
//! decoded, nothing hidden on screen).

use serde::Serialize;

use crate::catalog::Direction;
use crate::plan::{DestinationType, Plan, PlannedRule, RuleKind};
use crate::render::{RenderError, RenderedFiles};
use crate::render::{filters, layout};

/// One allow-list row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// `outbound` or `inbound`.
    pub direction: String,
    /// A host (possibly `*.` wildcard), a URL, a CIDR, or a service tag / NSG tag.
    pub destination: String,
    /// `fqdn`, `url`, `cidr` or `service-tag`.
    pub destination_type: String,
    /// `TCP`, `UDP`, `Any`, `Http` or `Https`.
    pub protocol: String,
    /// Ports, comma-separated.
    pub ports: String,
    /// Sources, comma-separated (compute subnets, or service tags for inbound rules).
    pub sources: String,
    /// The service tag the address belongs to, when a tag was expanded.
    pub service_tag: String,
    /// What the traffic is for.
    pub purpose: String,
    /// The plan rule.
    pub rule: String,
    /// The catalog requirements, `;`-separated.
    pub requirements: String,
    /// Their article sections, `;`-separated.
    pub article_sections: String,
}

/// The columns, in order.
const COLUMNS: [&str; 11] = [
    "direction",
    "destination",
    "destination_type",
    "protocol",
    "ports",
    "sources",
    "service_tag",
    "purpose",
    "rule",
    "requirements",
    "article_sections",
];

pub(crate) fn render(plan: &Plan, _scenario_name: &str) -> Result<RenderedFiles, RenderError> {
    let rows = rows(plan);
    let header = layout::generated_header();
    let mut csv = format!(
        "# {header} Lines starting with # are comments.\n{}\n",
        COLUMNS.join(",")
    );
    for row in &rows {
        let cells = [
            &row.direction,
            &row.destination,
            &row.destination_type,
            &row.protocol,
            &row.ports,
            &row.sources,
            &row.service_tag,
            &row.purpose,
            &row.rule,
            &row.requirements,
            &row.article_sections,
        ];
        let line: Vec<String> = cells.iter().map(|cell| csv_cell(cell)).collect();
        csv.push_str(&line.join(","));
        csv.push('\n');
    }
    let json_row = |row: &Row| {
        filters::json_compact(row).map_err(|error| RenderError {
            template: "allowlist/allowlist.json".to_owned(),
            cause: error.to_string(),
        })
    };
    let header_json = filters::json_compact(&header).map_err(|error| RenderError {
        template: "allowlist/allowlist.json".to_owned(),
        cause: error.to_string(),
    })?;
    let mut json = format!("{{\"_generated\": {header_json},\n\"rows\": [\n");
    for (index, row) in rows.iter().enumerate() {
        json.push_str(&json_row(row)?);
        json.push_str(if index + 1 == rows.len() { "\n" } else { ",\n" });
    }
    json.push_str("]}\n");
    let mut files = RenderedFiles::new();
    files.insert("allowlist/allowlist.csv".to_owned(), csv);
    files.insert("allowlist/allowlist.json".to_owned(), json);
    Ok(files)
}

/// Every row of the plan: firewall rules and NSG rules (routes are not allow-list entries).
#[must_use]
pub fn rows(plan: &Plan) -> Vec<Row> {
    let mut rows = Vec::new();
    for rule in plan.rules.iter().filter(|r| r.kind != RuleKind::Route) {
        let protocol_ports: Vec<(String, String)> = if rule.application_protocols.is_empty() {
            vec![(rule.protocols.join(","), rule.ports.join(","))]
        } else {
            rule.application_protocols
                .iter()
                .filter_map(|pair| {
                    pair.split_once(':')
                        .map(|(p, port)| (p.to_owned(), port.to_owned()))
                })
                .collect()
        };
        // A rule that carries wildcard hosts through a service tag (Azure Firewall's network
        // rules take no wildcards) lists the hosts: other firewalls may take them.
        let covered: Vec<(String, &'static str, String)> = rule
            .covered_hosts
            .iter()
            .map(|host| (host.clone(), "fqdn", rule.destinations.join(",")))
            .collect();
        let destinations: Vec<(String, &'static str, String)> = if covered.is_empty() {
            rule.destinations
                .iter()
                .flat_map(|destination| expand(plan, rule, destination))
                .collect()
        } else {
            covered
        };
        {
            for (address, kind, tag) in destinations {
                for (protocol, ports) in &protocol_ports {
                    rows.push(Row {
                        direction: rule.direction.as_str().to_owned(),
                        destination: address.clone(),
                        destination_type: kind.to_owned(),
                        protocol: protocol.clone(),
                        ports: ports.clone(),
                        sources: rule.sources.join(","),
                        service_tag: tag.clone(),
                        purpose: rule.purpose.clone(),
                        rule: rule.id.clone(),
                        requirements: rule.requirements.join(";"),
                        article_sections: rule.sections.join(";"),
                    });
                }
            }
        }
    }
    rows
}

/// One destination as (address, type, service tag): tags become their prefixes when the
/// plan has them, IP groups become theirs.
fn expand(
    plan: &Plan,
    rule: &PlannedRule,
    destination: &str,
) -> Vec<(String, &'static str, String)> {
    match rule.destination_type {
        DestinationType::Fqdns => vec![(destination.to_owned(), "fqdn", String::new())],
        DestinationType::Urls => vec![(destination.to_owned(), "url", String::new())],
        DestinationType::Addresses => vec![(destination.to_owned(), "cidr", String::new())],
        DestinationType::IpGroups => {
            let group = plan.ip_groups.iter().find(|g| g.name == destination);
            group
                .map(|g| {
                    g.prefixes
                        .iter()
                        .map(|p| (p.to_string(), "cidr", g.service_tag.clone()))
                        .collect()
                })
                .unwrap_or_default()
        }
        DestinationType::ServiceTags => {
            // The NSG's own tags (VirtualNetwork) and inbound rules stay as written.
            if rule.direction == Direction::Inbound || rule.kind == RuleKind::Nsg {
                return vec![(
                    destination.to_owned(),
                    "service-tag",
                    destination.to_owned(),
                )];
            }
            match plan.tag_addresses.get(destination) {
                Some(prefixes) => prefixes
                    .all()
                    .map(|p| (p.to_string(), "cidr", destination.to_owned()))
                    .collect(),
                None => vec![(
                    destination.to_owned(),
                    "service-tag",
                    destination.to_owned(),
                )],
            }
        }
    }
}

/// A CSV cell, safe to open in a spreadsheet (OWASP "CSV Injection"): a cell beginning
/// with `=`, `+`, `-`, `@`, a tab or a carriage return (what spreadsheets read as the start
/// of a formula) gets a `'` in front and is quoted; a cell holding a comma, quote or line
/// break is quoted; quotes are doubled. CSV has no escapes, so unsafe characters
/// ([`filters::is_unsafe`], tabs and line breaks among them) are shown as `\u{NNNN}`: a
/// row is one line, and nothing in a cell is hidden or reordered.
fn csv_cell(text: &str) -> String {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let shown = filters::visible(text);
    if formula {
        format!("\"'{}\"", shown.replace('"', "\"\""))
    } else if shown.contains([',', '"']) {
        format!("\"{}\"", shown.replace('"', "\"\""))
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_when_needed() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(csv_cell("+1"), "\"'+1\"");
        assert_eq!(csv_cell("-1"), "\"'-1\"");
        assert_eq!(csv_cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_cell("\tx"), "\"'\\u{0009}x\"");
        assert_eq!(csv_cell("\r=x"), "\"'\\u{000D}=x\"");
        assert_eq!(csv_cell("a-b"), "a-b");
        assert_eq!(csv_cell("a\nb\u{202E}"), "a\\u{000A}b\\u{202E}");
    }
}
