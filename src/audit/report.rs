//! The statuses and the report.
//!
//! Every planned rule is split into atoms (one protocol, one port span or application
//! protocol, one destination, with the rule's sources), and every atom is looked for in the
//! deployed allow rules of the same layer (firewall, NSG, route table) and direction, unless a
//! deny rule evaluated before that allow rule matches it too. A planned rule is `covered`
//! (every atom), `partly covered` (the report lists the atoms missing) or `missing`.
//!
//! Every deployed allow rule is `invalid` (a tag Azure does not have, a construct its layer
//! cannot carry, a service tag in a casing Azure Firewall does not recognise), `required` (every part traced to planned rules), `declared` (traced only
//! to the scenario's `extra_fqdns`), `broader than required` (it carries planned traffic
//! and more: the report says what), or `not required` (it carries no planned traffic).
//! NSG outbound rules are traced against the firewall's planned rules too: an NSG may repeat
//! what the firewall allows.
//!
//! # JSON contract (`amlfw audit --format json`, version 1)
//!
//! ```text
//! {
//!   "version": 1,
//!   "scenario": "scenario.yaml",                  // file name
//!   "inputs": [{"file": "...", "format": "terraform-plan" | "terraform-state" | "azure-cli" | "arm-template"}],
//!   "exit_code": 0 | 1,
//!   "summary": {
//!     "planned": {"covered": n, "partly covered": n, "missing": n},
//!     "deployed": {"required": n, "declared": n, "broader than required": n, "not required": n, "invalid": n},
//!     "deny_rules": n
//!   },
//!   "planned": [{"id", "kind", "direction", "traffic", "status", "missing": [..], "covered_by": [..],
//!                "requirements": [..], "sections": [..]}],
//!   "deployed": [{"file", "place", "name", "kind", "direction", "traffic", "status", "details": [..],
//!                 "requirements": [..], "notes": [..]}]
//! }
//! ```
//!
//! Lists keep the plan's rule order and the files' rule order; field names and status
//! strings only ever gain new values in a new `version`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::atoms::{
    Cover, TagInfo, Tags, address_covers, addresses_cover, addresses_overlap, every_port,
    is_any_source, merge_spans, parse_ports, ports_beyond, ports_cover, ports_overlap, spans_text,
    transport_covers,
};
use super::input::{Recognised, classify};
use super::{Action, Address, DeployedKind, DeployedRule, Transport, WebProtocol};
use crate::catalog::Direction;
use crate::plan::{DestinationType, Plan, PlannedRule, RuleKind};
use crate::render::filters::{json_pretty, markdown_cell, markdown_prose, visible};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Aligned text.
    Text,
    /// Markdown tables, for a pull request comment.
    Markdown,
    /// The JSON contract above.
    Json,
}

/// Which device carries a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Firewall,
    Nsg,
    Route,
}

fn layer_of(kind: DeployedKind) -> Layer {
    match kind {
        DeployedKind::FirewallNetwork | DeployedKind::FirewallApplication => Layer::Firewall,
        DeployedKind::Nsg => Layer::Nsg,
        DeployedKind::Route => Layer::Route,
    }
}

/// What an atom carries.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Traffic {
    /// One transport protocol and port span.
    Net(Transport, (u16, u16)),
    /// One application protocol and port.
    Web(WebProtocol, u16),
    /// A route's next hop.
    Route(String, Option<String>),
}

/// One planned atom.
#[derive(Debug, Clone)]
struct Atom {
    rule: usize,
    layer: Layer,
    direction: Direction,
    traffic: Traffic,
    destination: Address,
    sources: Vec<Address>,
}

impl Atom {
    fn text(&self, tags: &Tags<'_>) -> String {
        let destination = match &self.destination {
            Address::Tag(tag) => tags.canonical(tag),
            other => other.text(),
        };
        match &self.traffic {
            Traffic::Net(transport, span) => format!(
                "{} {} to {destination}",
                transport.as_str(),
                spans_text(&[*span])
            ),
            Traffic::Web(protocol, port) => {
                format!("{}:{port} to {destination}", protocol.as_str())
            }
            Traffic::Route(hop, ip) => match ip {
                Some(ip) => format!("{destination} -> {hop} {ip}"),
                None => format!("{destination} -> {hop}"),
            },
        }
    }
}

/// A planned rule's status.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStatus {
    /// The plan's rule id.
    pub id: String,
    /// The plan's rule kind.
    pub kind: String,
    /// Inbound or outbound.
    pub direction: String,
    /// What it allows, as the plan prints it.
    pub traffic: String,
    /// `covered`, `partly covered` or `missing`.
    pub status: &'static str,
    /// The atoms no deployed rule carries.
    pub missing: Vec<String>,
    /// The deployed rules that carry it (file and place).
    pub covered_by: Vec<String>,
    /// Its requirement ids.
    pub requirements: Vec<String>,
    /// Their article sections.
    pub sections: Vec<String>,
}

/// A deployed rule's status.
#[derive(Debug, Clone, Serialize)]
pub struct DeployedStatus {
    /// The file.
    pub file: String,
    /// Where in the file.
    pub place: String,
    /// The rule's name.
    pub name: String,
    /// Its kind.
    pub kind: &'static str,
    /// Inbound or outbound.
    pub direction: &'static str,
    /// What it allows.
    pub traffic: String,
    /// `required`, `declared`, `broader than required`, `not required` or `invalid`.
    pub status: &'static str,
    /// Why: what is broader, what is invalid, what it is traced to.
    pub details: Vec<String>,
    /// The requirements it is traced to.
    pub requirements: Vec<String>,
    /// What does not change the status: service tags an NSG or route table names in another
    /// casing than Microsoft's (they accept any; Azure Firewall does not, which is invalid).
    pub notes: Vec<String>,
}

/// The audit of one run.
#[derive(Debug, Clone)]
pub struct Audit {
    /// Planned rules, in plan order.
    pub planned: Vec<PlannedStatus>,
    /// Deployed allow rules, in file order.
    pub deployed: Vec<DeployedStatus>,
    /// How many deny rules were taken into account.
    pub deny_rules: usize,
}

/// The planned atoms of every rule.
fn planned_atoms(plan: &Plan) -> Vec<Atom> {
    let groups: BTreeMap<&str, &Vec<ipnet::Ipv4Net>> = plan
        .ip_groups
        .iter()
        .map(|group| (group.name.as_str(), &group.prefixes))
        .collect();
    let mut atoms = Vec::new();
    for (index, rule) in plan.rules.iter().enumerate() {
        let layer = match rule.kind {
            RuleKind::FirewallNetwork | RuleKind::FirewallApplication => Layer::Firewall,
            RuleKind::Nsg => Layer::Nsg,
            RuleKind::Route => Layer::Route,
        };
        let destinations: Vec<Address> = rule
            .destinations
            .iter()
            .flat_map(|text| match rule.destination_type {
                DestinationType::ServiceTags => vec![Address::Tag(text.clone())],
                DestinationType::Fqdns => vec![Address::Fqdn(text.clone())],
                DestinationType::Urls => vec![Address::Url(text.clone())],
                DestinationType::Addresses => vec![classify(text)],
                DestinationType::IpGroups => groups
                    .get(text.as_str())
                    .map(|prefixes| {
                        prefixes
                            .iter()
                            .map(|p| Address::Cidr(ipnet::IpNet::V4(*p)))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        let sources: Vec<Address> = rule.sources.iter().map(|s| classify(s)).collect();
        let mut traffic = Vec::new();
        match rule.kind {
            RuleKind::FirewallApplication => {
                for pair in &rule.application_protocols {
                    let (protocol, port) = pair.split_once(':').unwrap_or((pair, ""));
                    let protocol = if protocol.eq_ignore_ascii_case("http") {
                        WebProtocol::Http
                    } else {
                        WebProtocol::Https
                    };
                    if let Ok(port) = port.parse() {
                        traffic.push(Traffic::Web(protocol, port));
                    }
                }
            }
            RuleKind::Route => traffic.push(Traffic::Route(
                rule.next_hop.clone().unwrap_or_default(),
                rule.next_hop_ip.clone(),
            )),
            RuleKind::FirewallNetwork | RuleKind::Nsg => {
                for protocol in &rule.protocols {
                    let transports: &[Transport] = match protocol.to_ascii_lowercase().as_str() {
                        "udp" => &[Transport::Udp],
                        "any" | "*" => &[Transport::Tcp, Transport::Udp],
                        _ => &[Transport::Tcp],
                    };
                    for transport in transports {
                        for port in &rule.ports {
                            if let Some(span) = parse_ports(port) {
                                traffic.push(Traffic::Net(*transport, span));
                            }
                        }
                    }
                }
            }
        }
        for traffic in &traffic {
            for destination in &destinations {
                atoms.push(Atom {
                    rule: index,
                    layer,
                    direction: rule.direction,
                    traffic: traffic.clone(),
                    destination: destination.clone(),
                    sources: sources.clone(),
                });
            }
        }
    }
    atoms
}

/// Whether the deployed rule's protocols and ports carry the atom's traffic.
fn carries(rule: &DeployedRule, traffic: &Traffic) -> bool {
    match traffic {
        Traffic::Net(transport, span) => {
            rule.kind != DeployedKind::FirewallApplication
                && rule
                    .transports
                    .iter()
                    .any(|t| transport_covers(*t, *transport))
                && ports_cover(&rule.ports, *span)
        }
        Traffic::Web(protocol, port) => match rule.kind {
            DeployedKind::FirewallApplication => rule.web.contains(&(*protocol, *port)),
            // A network rule to host names (DNS proxy) carries the TCP port.
            DeployedKind::FirewallNetwork => {
                rule.transports
                    .iter()
                    .any(|t| transport_covers(*t, Transport::Tcp))
                    && ports_cover(&rule.ports, (*port, *port))
            }
            _ => false,
        },
        Traffic::Route(..) => false,
    }
}

/// Whether the deployed rule's protocols and ports share traffic with the atom.
fn shares(rule: &DeployedRule, traffic: &Traffic) -> bool {
    match traffic {
        Traffic::Net(transport, span) => {
            rule.kind != DeployedKind::FirewallApplication
                && rule
                    .transports
                    .iter()
                    .any(|t| transport_covers(*t, *transport) || *t == Transport::Any)
                && ports_overlap(&rule.ports, *span)
        }
        Traffic::Web(protocol, port) => match rule.kind {
            DeployedKind::FirewallApplication => rule.web.contains(&(*protocol, *port)),
            DeployedKind::FirewallNetwork => {
                rule.transports
                    .iter()
                    .any(|t| transport_covers(*t, Transport::Tcp))
                    && ports_overlap(&rule.ports, (*port, *port))
                    && rule
                        .destinations
                        .iter()
                        .any(|d| matches!(d, Address::Fqdn(_) | Address::Any))
            }
            _ => false,
        },
        Traffic::Route(..) => false,
    }
}

fn route_matches(tags: &Tags<'_>, rule: &DeployedRule, atom: &Atom) -> bool {
    let Traffic::Route(hop, ip) = &atom.traffic else {
        return false;
    };
    let same_destination = rule
        .destinations
        .iter()
        .any(|d| match (d, &atom.destination) {
            (Address::Cidr(a), Address::Cidr(b)) => a == b,
            (Address::Tag(a), Address::Tag(b)) => tags.canonical(a) == tags.canonical(b),
            _ => false,
        });
    same_destination
        && rule
            .next_hop
            .as_deref()
            .is_some_and(|h| h.eq_ignore_ascii_case(hop))
        && (ip.is_none() || rule.next_hop_ip == *ip)
}

/// Whether `deny` is evaluated before `allow`: the same policy (or NSG and direction), and
/// an earlier rule collection group, collection or NSG priority; in a firewall, network
/// rules are evaluated before application rules.
fn evaluated_before(deny: &DeployedRule, allow: &DeployedRule) -> bool {
    if layer_of(deny.kind) != layer_of(allow.kind)
        || deny.precedence.container != allow.precedence.container
    {
        return false;
    }
    if deny.kind == DeployedKind::FirewallNetwork && allow.kind == DeployedKind::FirewallApplication
    {
        return true;
    }
    if deny.kind != allow.kind {
        return false;
    }
    (deny.precedence.group, deny.precedence.priority)
        < (allow.precedence.group, allow.precedence.priority)
}

/// Whether the deny rule matches some of the atom's traffic.
fn deny_hits(tags: &Tags<'_>, deny: &DeployedRule, atom: &Atom) -> bool {
    shares(deny, &atom.traffic)
        && deny
            .destinations
            .iter()
            .any(|d| addresses_overlap(tags, d, &atom.destination))
        && (atom.sources.is_empty()
            || deny
                .sources
                .iter()
                .any(|s| atom.sources.iter().any(|p| addresses_overlap(tags, s, p))))
}

/// Whether the allow rule carries the atom (before deny rules).
fn allow_covers(tags: &Tags<'_>, rule: &DeployedRule, atom: &Atom) -> bool {
    if layer_of(rule.kind) != atom.layer {
        return false;
    }
    if atom.layer == Layer::Route {
        return route_matches(tags, rule, atom);
    }
    rule.direction == atom.direction
        && carries(rule, &atom.traffic)
        && addresses_cover(tags, &rule.destinations, &atom.destination) != Cover::No
        && atom
            .sources
            .iter()
            .all(|source| addresses_cover(tags, &rule.sources, source) != Cover::No)
}

/// The invalid parts of a deployed rule.
fn invalid_parts(tags: &Tags<'_>, rule: &DeployedRule) -> Vec<String> {
    let mut reasons = Vec::new();
    for address in rule.sources.iter().chain(&rule.destinations) {
        let Address::Tag(tag) = address else { continue };
        let info = tags.info(tag);
        // Azure Firewall recognises a service tag only in Microsoft's casing: in another
        // it files the name under IP addresses, so the rule allows nothing
        // (Azure/azure-cli-extensions#2922, `AzureCloud.brazilsouth`). NSGs accept any
        // casing (the end-to-end-secure quickstart deploys `Storage.<location>` lowercase).
        if rule.kind.is_firewall()
            && let TagInfo::Known { canonical, .. } = &info
            && canonical != tag
        {
            reasons.push(format!(
                "`{tag}`: Azure Firewall takes service tags in Microsoft's casing only (`{canonical}`); in another it reads the name as an address, not a tag"
            ));
        }
        match info {
            TagInfo::Invalid(reason) => reasons.push(reason),
            TagInfo::Known {
                canonical,
                features: Some(features),
                nsg_only,
                ..
            } => {
                // Microsoft's file does not mark every tag Azure Firewall accepts
                // (`AzureCloud`, `BatchNodeManagement.<region>`): a firewall rule is only
                // refused the NSG default tags, which it cannot name at all.
                let (fits, layer) = match rule.kind {
                    DeployedKind::Nsg => (
                        features.iter().any(|f| f == "NSG"),
                        "a network security group",
                    ),
                    DeployedKind::Route => (features.iter().any(|f| f == "UDR"), "a route table"),
                    _ => (!nsg_only, "Azure Firewall"),
                };
                if !fits {
                    reasons.push(format!("`{canonical}` cannot be used in {layer}"));
                }
            }
            TagInfo::Known { .. } => {}
            TagInfo::Unknown if rule.kind == DeployedKind::Nsg && tag.contains('.') => {
                reasons.push(format!(
                    "`{tag}` is a host name: NSG rules take prefixes and service tags only (host names are a firewall construct)"
                ));
            }
            TagInfo::Unknown => {}
        }
    }

    // Azure Firewall takes service tags as destinations only.
    if rule.kind.is_firewall() {
        for source in &rule.sources {
            if let Address::Tag(tag) = source {
                reasons.push(format!(
                    "`{tag}` as a source: Azure Firewall takes service tags as destinations only"
                ));
            }
        }
    }
    if rule.kind == DeployedKind::Nsg
        && rule
            .destinations
            .iter()
            .any(|d| matches!(d, Address::Fqdn(_) | Address::FqdnTag(_) | Address::Url(_)))
    {
        reasons.push("NSG rules cannot name host names".to_owned());
    }
    reasons.sort();
    reasons.dedup();
    reasons
}

/// What a deployed rule allows, in one line.
fn deployed_traffic(tags: &Tags<'_>, rule: &DeployedRule) -> String {
    let address = |a: &Address| match a {
        Address::Tag(tag) => tags.canonical(tag),
        other => other.text(),
    };
    let destinations =
        shorten(&rule.destinations.iter().map(address).collect::<Vec<_>>()).join(", ");
    match rule.kind {
        DeployedKind::Route => format!(
            "{destinations} -> {}{}",
            rule.next_hop.as_deref().unwrap_or("?"),
            rule.next_hop_ip
                .as_deref()
                .map(|ip| format!(" {ip}"))
                .unwrap_or_default()
        ),
        _ => {
            let traffic = if rule.kind == DeployedKind::FirewallApplication {
                rule.web
                    .iter()
                    .map(|(p, port)| format!("{}:{port}", p.as_str()))
                    .collect::<Vec<_>>()
                    .join(",")
            } else {
                format!(
                    "{} {}",
                    rule.transports
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    spans_text(&merge_spans(&rule.ports))
                )
            };
            let sources = rule
                .sources
                .iter()
                .map(address)
                .collect::<Vec<_>>()
                .join(",");
            format!(
                "{traffic} from {} to {destinations}",
                if sources.is_empty() { "-" } else { &sources }
            )
        }
    }
}

/// Where a deployed rule is, for the report.
fn where_text(rule: &DeployedRule) -> String {
    format!("{}: {}", rule.file, rule.place)
}

/// Compares the plan with the deployed rules.
#[must_use]
pub fn audit(plan: &Plan, rules: &[DeployedRule], tags: &Tags<'_>) -> Audit {
    let atoms = planned_atoms(plan);
    let allows: Vec<&DeployedRule> = rules.iter().filter(|r| r.action == Action::Allow).collect();
    let denies: Vec<&DeployedRule> = rules.iter().filter(|r| r.action == Action::Deny).collect();
    let invalid: Vec<Vec<String>> = allows.iter().map(|r| invalid_parts(tags, r)).collect();

    let mut planned = Vec::new();
    for (index, rule) in plan.rules.iter().enumerate() {
        let mine: Vec<&Atom> = atoms.iter().filter(|a| a.rule == index).collect();
        let mut missing = Vec::new();
        let mut covered_by = BTreeSet::new();
        for atom in &mine {
            let mut hidden = None;
            let mut found = None;
            for (a, allow) in allows.iter().enumerate() {
                if !invalid[a].is_empty() || !allow_covers(tags, allow, atom) {
                    continue;
                }
                match denies
                    .iter()
                    .find(|deny| evaluated_before(deny, allow) && deny_hits(tags, deny, atom))
                {
                    Some(deny) => hidden = Some((allow, deny)),
                    None => {
                        found = Some(allow);
                        break;
                    }
                }
            }
            match (found, hidden) {
                (Some(allow), _) => {
                    covered_by.insert(where_text(allow));
                }
                (None, Some((allow, deny))) => missing.push(format!(
                    "{} (allowed by `{}` but denied first by `{}`)",
                    atom.text(tags),
                    allow.name,
                    deny.name
                )),
                (None, None) => missing.push(atom.text(tags)),
            }
        }
        let status = if missing.is_empty() {
            "covered"
        } else if missing.len() == mine.len() {
            "missing"
        } else {
            "partly covered"
        };
        planned.push(PlannedStatus {
            id: rule.id.clone(),
            kind: rule.kind.as_str().to_owned(),
            direction: rule.direction.as_str().to_owned(),
            traffic: planned_traffic(rule),
            status,
            missing,
            covered_by: covered_by.into_iter().collect(),
            requirements: rule.requirements.clone(),
            sections: rule.sections.clone(),
        });
    }

    let deployed = allows
        .iter()
        .zip(&invalid)
        .map(|(rule, invalid)| deployed_status(plan, &atoms, tags, rule, invalid))
        .collect();
    Audit {
        planned,
        deployed,
        deny_rules: denies.len(),
    }
}

fn planned_traffic(rule: &PlannedRule) -> String {
    let traffic = match rule.kind {
        RuleKind::Route => format!(
            "-> {}{}",
            rule.next_hop.as_deref().unwrap_or(""),
            rule.next_hop_ip
                .as_deref()
                .map(|ip| format!(" {ip}"))
                .unwrap_or_default()
        ),
        RuleKind::FirewallApplication => rule.application_protocols.join(","),
        _ => format!("{} {}", rule.protocols.join(","), rule.ports.join(",")),
    };
    format!("{traffic} to {}", rule.destinations.join(", "))
}

/// The status of one deployed allow rule.
fn deployed_status(
    plan: &Plan,
    atoms: &[Atom],
    tags: &Tags<'_>,
    rule: &DeployedRule,
    invalid: &[String],
) -> DeployedStatus {
    let mut notes: Vec<String> = rule
        .sources
        .iter()
        .chain(&rule.destinations)
        .filter_map(|address| match address {
            // Azure Firewall rules in another casing are invalid instead.
            Address::Tag(tag) if !rule.kind.is_firewall() => {
                let canonical = tags.canonical(tag);
                (canonical != *tag).then(|| {
                    format!(
                        "`{tag}` is spelled `{canonical}` by Microsoft (NSGs and route tables accept any casing)"
                    )
                })
            }
            _ => None,
        })
        .collect();
    notes.sort();
    notes.dedup();
    let status_of = |status: &'static str, details: Vec<String>, requirements: BTreeSet<String>| {
        DeployedStatus {
            notes: notes.clone(),
            file: rule.file.clone(),
            place: rule.place.clone(),
            name: rule.name.clone(),
            kind: rule.kind.as_str(),
            direction: rule.direction.as_str(),
            traffic: deployed_traffic(tags, rule),
            status,
            details,
            requirements: requirements.into_iter().collect(),
        }
    };
    if !invalid.is_empty() {
        return status_of("invalid", invalid.to_vec(), BTreeSet::new());
    }
    let layers: &[Layer] = match (rule.kind, rule.direction) {
        (DeployedKind::Route, _) => &[Layer::Route],
        (DeployedKind::Nsg, Direction::Outbound) => &[Layer::Nsg, Layer::Firewall],
        (DeployedKind::Nsg, Direction::Inbound) => &[Layer::Nsg],
        _ => &[Layer::Firewall],
    };
    let candidates: Vec<&Atom> = atoms.iter().filter(|a| layers.contains(&a.layer)).collect();
    let requirements_of = |atoms: &[&Atom]| -> BTreeSet<String> {
        atoms
            .iter()
            .flat_map(|a| plan.rules[a.rule].requirements.iter().cloned())
            .collect()
    };

    if rule.kind == DeployedKind::Route {
        let matched: Vec<&Atom> = candidates
            .iter()
            .copied()
            .filter(|a| route_matches(tags, rule, a))
            .collect();
        if !matched.is_empty() {
            return status_of("required", Vec::new(), requirements_of(&matched));
        }
        let same_prefix: Vec<String> = candidates
            .iter()
            .filter(|a| {
                rule.destinations.iter().any(|d| match (d, &a.destination) {
                    (Address::Cidr(x), Address::Cidr(y)) => x == y,
                    (Address::Tag(x), Address::Tag(y)) => tags.canonical(x) == tags.canonical(y),
                    _ => false,
                })
            })
            .map(|a| format!("the plan routes it: {}", a.text(tags)))
            .collect();
        let details = if same_prefix.is_empty() {
            vec!["routes a prefix the plan does not route".to_owned()]
        } else {
            same_prefix
        };
        return status_of("not required", details, BTreeSet::new());
    }

    let mut details: Vec<String> = Vec::new();
    let mut traced: Vec<&Atom> = Vec::new();
    let mut relevant_any = false;
    for destination in &rule.destinations {
        let relevant: Vec<&Atom> = candidates
            .iter()
            .copied()
            .filter(|a| {
                a.direction == rule.direction
                    && shares(rule, &a.traffic)
                    && addresses_overlap(tags, destination, &a.destination)
                    && (a.sources.is_empty()
                        || rule
                            .sources
                            .iter()
                            .any(|s| a.sources.iter().any(|p| addresses_overlap(tags, s, p))))
            })
            .collect();
        let shown = match destination {
            Address::Tag(tag) => tags.canonical(tag),
            other => other.text(),
        };
        if relevant.is_empty() {
            details.push(format!("also `{shown}`, which no planned rule needs"));
            continue;
        }
        relevant_any = true;
        // The destination: within a planned one, or holding one and more.
        let within = relevant
            .iter()
            .any(|a| address_covers(tags, &a.destination, destination) != Cover::No);
        if !within {
            if let Some(why) = relevant.iter().find_map(|a| {
                match address_covers(tags, destination, &a.destination) {
                    Cover::Broader(why) => Some(why),
                    _ => None,
                }
            }) {
                details.push(why);
            } else {
                details.push(format!("`{shown}` is wider than the planned destinations"));
            }
        }
        // Ports and protocols.
        let planned_spans: Vec<(u16, u16)> = relevant
            .iter()
            .filter_map(|a| match a.traffic {
                Traffic::Net(_, span) => Some(span),
                Traffic::Web(_, port) if rule.kind == DeployedKind::FirewallNetwork => {
                    Some((port, port))
                }
                _ => None,
            })
            .collect();
        if rule.kind != DeployedKind::FirewallApplication {
            let beyond = ports_beyond(&rule.ports, &planned_spans);
            if every_port(&rule.ports) && !every_port(&planned_spans) {
                details.push(format!(
                    "all ports to `{shown}` (the plan needs {})",
                    spans_text(&merge_spans(&planned_spans))
                ));
            } else if !beyond.is_empty() {
                details.push(format!("also port {} to `{shown}`", spans_text(&beyond)));
            }
            let planned_transports: BTreeSet<Transport> = relevant
                .iter()
                .filter_map(|a| match a.traffic {
                    Traffic::Net(t, _) => Some(t),
                    Traffic::Web(..) => Some(Transport::Tcp),
                    Traffic::Route(..) => None,
                })
                .collect();
            for transport in &rule.transports {
                if *transport == Transport::Any {
                    if !(planned_transports.contains(&Transport::Tcp)
                        && planned_transports.contains(&Transport::Udp))
                    {
                        details.push(format!(
                            "any protocol to `{shown}` (the plan needs {})",
                            planned_transports
                                .iter()
                                .map(|t| t.as_str())
                                .collect::<Vec<_>>()
                                .join(",")
                        ));
                    }
                } else if !planned_transports.contains(transport) {
                    details.push(format!("also {} to `{shown}`", transport.as_str()));
                }
            }
        } else {
            for (protocol, port) in &rule.web {
                let planned_web = relevant
                    .iter()
                    .any(|a| a.traffic == Traffic::Web(*protocol, *port));
                if !planned_web {
                    details.push(format!("also {}:{port} to `{shown}`", protocol.as_str()));
                }
            }
        }
        traced.extend(relevant);
    }
    if !relevant_any {
        return status_of(
            "not required",
            vec!["carries no traffic the plan asks for".to_owned()],
            BTreeSet::new(),
        );
    }
    // Sources: within the planned sources, or wider.
    let planned_sources: Vec<&Address> = traced.iter().flat_map(|a| &a.sources).collect();
    if !planned_sources.is_empty() {
        for source in &rule.sources {
            let within = planned_sources
                .iter()
                .any(|p| address_covers(tags, p, source) != Cover::No);
            if within {
                continue;
            }
            let shown = match source {
                Address::Tag(tag) => tags.canonical(tag),
                other => other.text(),
            };
            if is_any_source(source) {
                details.push("any source".to_owned());
            } else if planned_sources
                .iter()
                .any(|p| address_covers(tags, source, p) != Cover::No)
            {
                let mut planned: Vec<String> = planned_sources.iter().map(|p| p.text()).collect();
                planned.sort();
                planned.dedup();
                details.push(format!(
                    "source `{shown}` wider than `{}`",
                    planned.join("`, `")
                ));
            } else {
                details.push(format!("also source `{shown}`"));
            }
        }
    }
    details.sort();
    details.dedup();
    let requirements = requirements_of(&traced);
    if !details.is_empty() {
        status_of("broader than required", details, requirements)
    } else if requirements.iter().all(|r| r == "scenario-extra-fqdns") {
        status_of("declared", Vec::new(), requirements)
    } else {
        status_of("required", Vec::new(), requirements)
    }
}

const PLANNED_STATUSES: [&str; 3] = ["covered", "partly covered", "missing"];
const DEPLOYED_STATUSES: [&str; 5] = [
    "required",
    "declared",
    "broader than required",
    "not required",
    "invalid",
];

#[derive(Serialize)]
struct Summary {
    planned: BTreeMap<&'static str, usize>,
    deployed: BTreeMap<&'static str, usize>,
    deny_rules: usize,
}

#[derive(Serialize)]
struct InputEntry {
    file: String,
    format: &'static str,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    scenario: &'a str,
    inputs: Vec<InputEntry>,
    exit_code: u8,
    summary: Summary,
    planned: &'a [PlannedStatus],
    deployed: &'a [DeployedStatus],
}

impl Audit {
    /// 1 when something planned is missing or partly covered or a deployed rule is invalid
    /// (with `fail_on_broader`, also when one is broader than required); else 0.
    #[must_use]
    pub fn exit_code(&self, fail_on_broader: bool) -> u8 {
        let planned = self.planned.iter().any(|p| p.status != "covered");
        let deployed = self.deployed.iter().any(|d| {
            d.status == "invalid" || (fail_on_broader && d.status == "broader than required")
        });
        if planned || deployed {
            super::EXIT_FINDINGS
        } else {
            0
        }
    }

    fn summary(&self) -> Summary {
        let mut planned: BTreeMap<&'static str, usize> =
            PLANNED_STATUSES.iter().map(|s| (*s, 0)).collect();
        for p in &self.planned {
            *planned.entry(p.status).or_default() += 1;
        }
        let mut deployed: BTreeMap<&'static str, usize> =
            DEPLOYED_STATUSES.iter().map(|s| (*s, 0)).collect();
        for d in &self.deployed {
            *deployed.entry(d.status).or_default() += 1;
        }
        Summary {
            planned,
            deployed,
            deny_rules: self.deny_rules,
        }
    }

    fn header(&self, scenario: &str, inputs: &[(String, Recognised)]) -> Vec<String> {
        let summary = self.summary();
        let counts = |map: &BTreeMap<&'static str, usize>, order: &[&'static str]| {
            order
                .iter()
                .map(|s| format!("{} {s}", map.get(s).copied().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        vec![
            format!(
                "amlfw audit of {} against {scenario}",
                inputs
                    .iter()
                    .map(|(file, format)| format!("{} ({})", visible(file), format.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "{} planned rules: {}",
                self.planned.len(),
                counts(&summary.planned, &PLANNED_STATUSES)
            ),
            format!(
                "{} deployed allow rules: {}; {} deny rules taken into account",
                self.deployed.len(),
                counts(&summary.deployed, &DEPLOYED_STATUSES),
                summary.deny_rules
            ),
        ]
    }

    /// The text report.
    #[must_use]
    pub fn to_text(&self, scenario: &str, inputs: &[(String, Recognised)]) -> String {
        let mut out = String::new();
        for line in self.header(scenario, inputs) {
            out.push_str(&format!("# {line}\n"));
        }
        out.push_str("\n## planned rules\n");
        let rows: Vec<Vec<String>> = self
            .planned
            .iter()
            .map(|p| {
                vec![
                    p.status.to_owned(),
                    p.kind.clone(),
                    p.id.clone(),
                    if p.missing.is_empty() {
                        "-".to_owned()
                    } else {
                        format!("missing: {}", shorten(&p.missing).join("; "))
                    },
                    p.requirements
                        .iter()
                        .zip(&p.sections)
                        .map(|(id, section)| format!("{id} ({section})"))
                        .collect::<Vec<_>>()
                        .join("; "),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "STATUS",
                "KIND",
                "ID",
                "MISSING",
                "REQUIREMENTS (ARTICLE SECTION)",
            ],
            &rows,
        ));
        out.push_str("\n## deployed allow rules\n");
        let rows: Vec<Vec<String>> = self
            .deployed
            .iter()
            .map(|d| {
                vec![
                    d.status.to_owned(),
                    d.kind.to_owned(),
                    visible(&format!("{}: {}", d.file, d.place)),
                    visible(&d.traffic),
                    why(d, visible),
                    if d.requirements.is_empty() {
                        "-".to_owned()
                    } else {
                        d.requirements.join(", ")
                    },
                ]
            })
            .collect();
        out.push_str(&table(
            &["STATUS", "KIND", "RULE", "TRAFFIC", "WHY", "REQUIREMENTS"],
            &rows,
        ));
        out
    }

    /// The Markdown report.
    #[must_use]
    pub fn to_markdown(&self, scenario: &str, inputs: &[(String, Recognised)]) -> String {
        let mut out = String::new();
        let header = self.header(scenario, inputs);
        out.push_str(&format!("### {}\n\n", markdown_cell(&header[0])));
        for line in &header[1..] {
            out.push_str(&format!("- {}\n", markdown_cell(line)));
        }
        out.push_str("\n#### Planned rules\n\n| status | kind | id | missing | requirements (article section) |\n|---|---|---|---|---|\n");
        for p in &self.planned {
            out.push_str(&format!(
                "| {} | {} | `{}` | {} | {} |\n",
                p.status,
                p.kind,
                p.id,
                if p.missing.is_empty() {
                    "-".to_owned()
                } else {
                    markdown_prose(&shorten(&p.missing).join("; "))
                },
                markdown_cell(
                    &p.requirements
                        .iter()
                        .zip(&p.sections)
                        .map(|(id, section)| format!("{id} ({section})"))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            ));
        }
        out.push_str("\n#### Deployed allow rules\n\n| status | kind | rule | traffic | why | requirements |\n|---|---|---|---|---|---|\n");
        for d in &self.deployed {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                d.status,
                d.kind,
                markdown_cell(&format!("{}: {}", d.file, d.place)),
                markdown_cell(&d.traffic),
                why(d, markdown_prose),
                if d.requirements.is_empty() {
                    "-".to_owned()
                } else {
                    markdown_cell(&d.requirements.join(", "))
                },
            ));
        }
        out
    }

    /// The JSON report (the contract in this module's documentation).
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn to_json(
        &self,
        scenario: &str,
        inputs: &[(String, Recognised)],
        fail_on_broader: bool,
    ) -> String {
        let report = JsonReport {
            version: 1,
            scenario,
            inputs: inputs
                .iter()
                .map(|(file, format)| InputEntry {
                    file: file.clone(),
                    format: format.as_str(),
                })
                .collect(),
            exit_code: self.exit_code(fail_on_broader),
            summary: self.summary(),
            planned: &self.planned,
            deployed: &self.deployed,
        };
        // Plain structs of strings and numbers always serialize; hidden characters of the
        // inputs are escaped as the plan's JSON escapes them.
        let mut text = json_pretty(&report).expect("an audit always serializes");
        text.push('\n');
        text
    }
}

/// The details and notes of a deployed rule, escaped for the output.
fn why(status: &DeployedStatus, escape: fn(&str) -> String) -> String {
    let mut parts = status.details.clone();
    parts.extend(status.notes.iter().map(|note| format!("note: {note}")));
    if parts.is_empty() {
        "-".to_owned()
    } else {
        escape(&parts.join("; "))
    }
}

/// At most eight items, then how many more.
fn shorten(items: &[String]) -> Vec<String> {
    const SHOWN: usize = 8;
    if items.len() <= SHOWN {
        return items.to_vec();
    }
    let mut out = items[..SHOWN].to_vec();
    out.push(format!("and {} more", items.len() - SHOWN));
    out
}

/// An aligned table, the last column unpadded.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (index, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if index + 1 < cells.len() {
                text.push_str(&" ".repeat(widths[index] - cell.chars().count() + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&headers.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
    for row in rows {
        line(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Precedence;

    fn rule(kind: DeployedKind, container: &str, group: u32, priority: u32) -> DeployedRule {
        DeployedRule {
            file: "f".into(),
            place: "p".into(),
            name: "r".into(),
            kind,
            direction: Direction::Outbound,
            action: Action::Deny,
            precedence: Precedence {
                container: container.into(),
                group,
                priority,
            },
            transports: vec![Transport::Tcp],
            ports: vec![(443, 443)],
            web: vec![(WebProtocol::Https, 443)],
            sources: vec![Address::Any],
            destinations: vec![Address::Any],
            next_hop: None,
            next_hop_ip: None,
        }
    }

    #[test]
    fn a_deny_hides_only_allows_evaluated_after_it_in_the_same_container() {
        let net = DeployedKind::FirewallNetwork;
        let app = DeployedKind::FirewallApplication;
        // Rule collection group first, then collection priority.
        assert!(evaluated_before(
            &rule(net, "p", 100, 900),
            &rule(net, "p", 200, 100)
        ));
        assert!(evaluated_before(
            &rule(net, "p", 100, 100),
            &rule(net, "p", 100, 200)
        ));
        assert!(!evaluated_before(
            &rule(net, "p", 100, 200),
            &rule(net, "p", 100, 100)
        ));
        assert!(!evaluated_before(
            &rule(net, "p", 100, 100),
            &rule(net, "p", 100, 100)
        ));
        // Another policy or NSG never hides.
        assert!(!evaluated_before(
            &rule(net, "p", 100, 100),
            &rule(net, "q", 200, 200)
        ));
        // Network rules are evaluated before application rules, whatever the priorities.
        assert!(evaluated_before(
            &rule(net, "p", 900, 900),
            &rule(app, "p", 100, 100)
        ));
        assert!(!evaluated_before(
            &rule(app, "p", 100, 100),
            &rule(net, "p", 900, 900)
        ));
        // NSG rules by priority within one NSG and direction.
        let nsg = DeployedKind::Nsg;
        assert!(evaluated_before(
            &rule(nsg, "n (outbound)", 0, 100),
            &rule(nsg, "n (outbound)", 0, 200)
        ));
        assert!(!evaluated_before(
            &rule(nsg, "n (inbound)", 0, 100),
            &rule(nsg, "n (outbound)", 0, 200)
        ));
    }

    #[test]
    fn exit_code_fails_on_missing_or_invalid_and_on_broader_only_when_asked() {
        let status = |status: &'static str| DeployedStatus {
            file: String::new(),
            place: String::new(),
            name: String::new(),
            kind: "nsg",
            direction: "outbound",
            traffic: String::new(),
            status,
            details: Vec::new(),
            requirements: Vec::new(),
            notes: Vec::new(),
        };
        let audit = |deployed: Vec<DeployedStatus>| Audit {
            planned: Vec::new(),
            deployed,
            deny_rules: 0,
        };
        assert_eq!(
            audit(vec![status("required"), status("not required")]).exit_code(true),
            0
        );
        assert_eq!(
            audit(vec![status("broader than required")]).exit_code(false),
            0
        );
        assert_eq!(
            audit(vec![status("broader than required")]).exit_code(true),
            1
        );
        assert_eq!(audit(vec![status("invalid")]).exit_code(false), 1);
    }
}
