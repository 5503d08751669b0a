//! Least privilege: the last step of the planner refuses rules broader than any
//! requirement of the article can justify, whatever produced them (a custom catalog, a
//! service tag file, a scenario's subnets or extra hosts). It checks what the rules mean,
//! not how they are spelled, so splitting "everything" into pieces does not get past it.
//! Every finding is an error with a code, so `plan` and `generate` stop and nothing broad
//! is written.
//!
//! - `any-source`: the sources of one rule, as addresses, cover all of IPv4 or IPv6: the
//!   prefixes and addresses (and IP groups) are united and aggregated, so `0.0.0.0/1` +
//!   `128.0.0.0/1` is refused like `0.0.0.0/0`; `*`, `any` and `Internet` are everything too.
//! - `broad-destination`: the same over a rule's destinations, looking inside the IP groups
//!   it names and, for service tag destinations an allow list expands, the tag's recorded
//!   addresses. Routes are checked per route table (region), because Azure picks a route by
//!   longest prefix over the whole table: routes that do not go to the firewall and together
//!   cover everything send all traffic past it, whichever requirements they came from. Only
//!   routes to the firewall itself (the documented `0.0.0.0/0` default route) may cover
//!   everything. An IP group, or a service tag's addresses from the service tag file, that
//!   covers everything is refused wherever it is used: no Azure service tag does.
//! - `any-port`: the ports of one rule (`80`, `1-32767`, `*`) united cover 1-65535; the
//!   article's "ANY" is a protocol, never a port range.
//! - `broad-wildcard`: a host `*.X` where X is a public suffix, so the wildcard matches
//!   domains of unrelated owners. X in the ICANN section of the Public Suffix List (`co.uk`,
//!   or a single label) is refused whatever produced it; X in the private section
//!   (`github.io`, `blob.core.windows.net`) only for the scenario's extra hosts, because the
//!   article itself requires `*.blob.core.windows.net`. A `*` anywhere but as one leading
//!   label is refused too.
//!
//! A finding is located at the scenario value that caused it when there is one (the first
//! compute subnet, in file order, among those that together cover everything; the extra
//! host entry), else at the rule, naming its requirements and their catalog files. Rules
//! that are broad for the same reason at the same place make one finding.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::catalog::covers_every_port;
use crate::catalog::{Catalog, Direction};
use crate::diagnostic::{Code, Diagnostic, Location};
use crate::plan::{DestinationType, IpGroup, Plan, PlannedRule, RuleKind};
use crate::public_suffix::{SuffixKind, public_suffix_kind};
use crate::scenario::Scenario;

use super::EXTRA_FQDNS_REQUIREMENT;

/// Names that mean every address wherever they stand (compared case-insensitively).
const EVERYTHING_NAMES: [&str; 3] = ["*", "any", "Internet"];

/// How many items a message lists before it says "and N more".
const LISTED: usize = 6;

const SOURCE_HELP: &str =
    "compute_subnets are the address prefixes of the compute subnets, not the whole address space";
const DESTINATION_HELP: &str =
    "no requirement of the article allows everything; check the catalog entries named above";
const PORT_HELP: &str =
    "the article's ANY is a protocol, never a port range; give the ports the requirement names";
const TAG_FILE_HELP: &str = "no Azure service tag covers the whole address space: the service tag file is damaged or not Microsoft's; download it again (public 56519, Government 57063, China 57062)";

pub(super) fn lint(plan: &Plan, scenario: &Scenario, catalog: &Catalog) -> Vec<Diagnostic> {
    let mut linter = Linter {
        plan,
        scenario,
        requirement_files: catalog
            .requirements_of(&plan.catalog)
            .map(|r| (r.id.as_str(), r.file.as_str()))
            .collect(),
        groups: plan
            .ip_groups
            .iter()
            .map(|g| (g.name.as_str(), g))
            .collect(),
        findings: BTreeMap::new(),
        diagnostics: Vec::new(),
    };
    for rule in &plan.rules {
        linter.sources(rule);
        if rule.kind != RuleKind::Route {
            linter.destinations(rule);
        }
        linter.ports(rule);
        linter.wildcards(rule);
    }
    linter.route_tables();
    linter.address_data();
    let Linter {
        findings,
        mut diagnostics,
        ..
    } = linter;
    diagnostics.extend(findings.into_iter().map(|(key, rules)| {
        let rules: Vec<String> = rules.iter().map(|id| format!("`{id}`")).collect();
        let subject = match rules.len() {
            1 => format!("rule {} allows", listed(&rules, usize::MAX)),
            _ => format!("rules {} allow", listed(&rules, usize::MAX)),
        };
        Diagnostic::error(key.code, format!("{subject} {}", key.what))
            .at(key.location.into())
            .help(key.help)
    }));
    diagnostics
}

/// A rule finding without its rules: rules broad for the same reason at the same place
/// share one diagnostic.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct FindingKey {
    code: Code,
    location: LocationKey,
    /// What the rules allow, after "rule `x` allows".
    what: String,
    help: String,
}

/// A [`Location`] with an order, so findings group and sort deterministically: by file,
/// position and path (the line text follows from the position).
struct LocationKey(Location);

impl PartialEq for LocationKey {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for LocationKey {}

impl LocationKey {
    fn key(&self) -> (&str, Option<(usize, usize)>, &str) {
        let location = &self.0;
        (
            location.file.as_str(),
            location.position.as_ref().map(|p| (p.line, p.col)),
            location.path.as_str(),
        )
    }
}

impl PartialOrd for LocationKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LocationKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl From<LocationKey> for Location {
    fn from(key: LocationKey) -> Location {
        key.0
    }
}

/// One address a rule names, and how the message shows where it came from.
struct Address<'a> {
    net: IpNet,
    /// The rule's value it came from (a prefix, an IP group name, a service tag).
    value: &'a str,
    /// What `value` is, for the message.
    via: Via,
}

/// Where an [`Address`] comes from. Its text is made only for a finding: a rule to an IP
/// group checks thousands of prefixes, and nearly always finds nothing.
#[derive(Clone, Copy)]
enum Via {
    /// `value` is the prefix, as the rule writes it.
    Value,
    /// A service tag's prefix, named by itself.
    Net,
    /// A prefix of the IP group `value`.
    IpGroup,
    /// A prefix of the service tag `value`.
    ServiceTag,
}

impl Address<'_> {
    /// `` `10.0.0.0/8` `` or `` `10.0.0.0/8` of IP group `ipg-x` ``.
    fn shown(&self) -> String {
        let (net, value) = (self.net, self.value);
        match self.via {
            Via::Value => format!("`{value}`"),
            Via::Net => format!("`{net}`"),
            Via::IpGroup => format!("`{net}` of IP group `{value}`"),
            Via::ServiceTag => format!("`{net}` of service tag `{value}`"),
        }
    }
}

/// An address of a finding, and its text.
struct Covered<'x, 'a> {
    address: &'x Address<'a>,
    shown: String,
}

/// A side of a rule whose addresses are checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Sources,
    Destinations,
}

struct Linter<'a> {
    plan: &'a Plan,
    scenario: &'a Scenario,
    requirement_files: BTreeMap<&'a str, &'a str>,
    groups: BTreeMap<&'a str, &'a IpGroup>,
    findings: BTreeMap<FindingKey, BTreeSet<String>>,
    /// Findings that are not about one rule (route tables, IP groups, service tags).
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Linter<'a> {
    fn report(
        &mut self,
        rule: &PlannedRule,
        code: Code,
        what: String,
        location: Location,
        help: &str,
    ) {
        self.findings
            .entry(FindingKey {
                code,
                location: LocationKey(location),
                what,
                help: help.to_owned(),
            })
            .or_default()
            .insert(rule.id.clone());
    }

    fn sources(&mut self, rule: &'a PlannedRule) {
        // An inbound NSG rule without a source is written with `*`.
        if rule.kind == RuleKind::Nsg
            && rule.direction == Direction::Inbound
            && rule.sources.is_empty()
        {
            let location = self.rule_location(rule);
            self.report(
                rule,
                Code::AnySource,
                "every source (it has none, which an NSG rule writes as `*`)".to_owned(),
                location,
                SOURCE_HELP,
            );
            return;
        }
        let (named, addresses) = self.addresses(rule, Side::Sources);
        for name in named {
            let location = self
                .subnet_location(rule, &[name])
                .unwrap_or_else(|| self.rule_location(rule));
            self.report(
                rule,
                Code::AnySource,
                format!("every source (`{name}`)"),
                location,
                SOURCE_HELP,
            );
        }
        if let Some((family, covering)) = covering(&addresses) {
            let values: Vec<&str> = covering.iter().map(|a| a.address.value).collect();
            let location = self
                .subnet_location(rule, &values)
                .unwrap_or_else(|| self.rule_location(rule));
            self.report(
                rule,
                Code::AnySource,
                everything("every source", family, &covering),
                location,
                SOURCE_HELP,
            );
        }
    }

    fn destinations(&mut self, rule: &'a PlannedRule) {
        // An NSG rule without a destination is written with `*`.
        if rule.kind == RuleKind::Nsg && rule.destinations.is_empty() {
            let location = self.rule_location(rule);
            self.report(
                rule,
                Code::BroadDestination,
                "every destination (it has none, which an NSG rule writes as `*`)".to_owned(),
                location,
                DESTINATION_HELP,
            );
            return;
        }
        let (named, addresses) = self.addresses(rule, Side::Destinations);
        for name in named {
            let location = self.host_location(rule, name);
            self.report(
                rule,
                Code::BroadDestination,
                format!("every destination (`{name}`)"),
                location,
                DESTINATION_HELP,
            );
        }
        if let Some((family, covering)) = covering(&addresses) {
            let location = self.rule_location(rule);
            self.report(
                rule,
                Code::BroadDestination,
                everything("every destination", family, &covering),
                location,
                DESTINATION_HELP,
            );
        }
    }

    fn ports(&mut self, rule: &'a PlannedRule) {
        let mut spans: Vec<(&str, (u32, u32))> = rule
            .ports
            .iter()
            .filter_map(|text| port_span(text).map(|span| (text.as_str(), span)))
            .collect();
        spans.sort_by_key(|(_, span)| *span);
        if !covers_every_port(spans.iter().map(|(_, span)| *span)) {
            return;
        }
        let texts: Vec<String> = spans.iter().map(|(text, _)| format!("`{text}`")).collect();
        let what = match texts.as_slice() {
            [one] => format!("every port ({one})"),
            _ => format!(
                "every port: {} together cover 1-65535",
                listed(&texts, LISTED)
            ),
        };
        let location = rule
            .destinations
            .iter()
            .find_map(|host| self.extra_host(rule, host))
            .unwrap_or_else(|| self.rule_location(rule));
        self.report(rule, Code::AnyPort, what, location, PORT_HELP);
    }

    fn wildcards(&mut self, rule: &'a PlannedRule) {
        if !matches!(
            rule.destination_type,
            DestinationType::Fqdns | DestinationType::Urls
        ) {
            return;
        }
        let from_scenario = rule
            .requirements
            .iter()
            .any(|r| r == EXTRA_FQDNS_REQUIREMENT);
        for destination in &rule.destinations {
            let host = destination.split('/').next().unwrap_or(destination);
            // A bare `*` is every destination, reported by `destinations`.
            if !host.contains('*') || host == "*" {
                continue;
            }
            let (what, help) = match host
                .strip_prefix("*.")
                .filter(|parent| !parent.contains('*'))
            {
                None => (
                    format!(
                        "`{host}`, a wildcard that is not one leading `*.` label, so it matches look-alike domains"
                    ),
                    "write the exact host, or a leading `*.` over a domain the requirement names"
                        .to_owned(),
                ),
                Some(parent) => {
                    let parent = parent.strip_suffix('.').unwrap_or(parent);
                    let section = match public_suffix_kind(parent) {
                        Some(SuffixKind::Icann) => "ICANN",
                        Some(SuffixKind::Private) if from_scenario => "private",
                        _ => continue,
                    };
                    (
                        format!("`{host}`, every domain under the public suffix `{parent}`"),
                        format!(
                            "`{parent}` is in the {section} section of the Public Suffix List: anyone can register a domain under it; name the exact hosts (`myname.{parent}`)"
                        ),
                    )
                }
            };
            let location = self.host_location(rule, destination);
            self.report(rule, Code::BroadWildcard, what, location, &help);
        }
    }

    /// Routes that do not go to the firewall, per route table (one per region), must not
    /// cover everything together: Azure matches the longest prefix over the whole table, so
    /// `0.0.0.0/1` and `128.0.0.0/1` to `Internet` beat the firewall's `0.0.0.0/0`.
    fn route_tables(&mut self) {
        let firewall_ip = self.plan.outputs.firewall_private_ip.as_deref();
        let mut tables: BTreeMap<&str, Vec<&PlannedRule>> = BTreeMap::new();
        for rule in self.plan.rules.iter().filter(|r| r.kind == RuleKind::Route) {
            let to_firewall = rule.next_hop.as_deref() == Some("VirtualAppliance")
                && rule.next_hop_ip.as_deref() == firewall_ip;
            if !to_firewall {
                tables
                    .entry(rule.region.as_deref().unwrap_or_default())
                    .or_default()
                    .push(rule);
            }
        }
        for (region, routes) in tables {
            let mut addresses = Vec::new();
            for route in &routes {
                let (named, found) = self.addresses(route, Side::Destinations);
                for name in named {
                    let diagnostic = self.route_finding(region, &[route], format!("`{name}`"));
                    self.diagnostics.push(diagnostic);
                }
                addresses.extend(found.into_iter().map(|a| (*route, a)));
            }
            if let Some((family, covering)) = covering(addresses.iter().map(|(_, a)| a)) {
                let nets: BTreeSet<IpNet> = covering.iter().map(|a| a.address.net).collect();
                let contributing: Vec<&PlannedRule> = addresses
                    .iter()
                    .filter(|(_, a)| nets.contains(&a.net))
                    .map(|(route, _)| *route)
                    .collect();
                let shown: Vec<String> = covering.iter().map(|a| a.shown.clone()).collect();
                let what = match shown.as_slice() {
                    [one] => one.clone(),
                    _ => format!("{} together cover all of {family}", listed(&shown, LISTED)),
                };
                let diagnostic = self.route_finding(region, &contributing, what);
                self.diagnostics.push(diagnostic);
            }
        }
    }

    fn route_finding(&self, region: &str, routes: &[&PlannedRule], what: String) -> Diagnostic {
        let ids: BTreeSet<&str> = routes.iter().map(|r| r.id.as_str()).collect();
        let ids: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
        let requirements: BTreeSet<&str> = routes
            .iter()
            .flat_map(|r| r.requirements.iter().map(String::as_str))
            .collect();
        let workspaces: BTreeSet<&str> = routes
            .iter()
            .flat_map(|r| r.workspaces.iter().map(String::as_str))
            .collect();
        let tags: BTreeSet<&str> = routes
            .iter()
            .flat_map(|r| r.expanded_from.iter().map(String::as_str))
            .collect();
        let (noun, verb) = if ids.len() == 1 {
            ("route", "sends")
        } else {
            ("routes", "send")
        };
        let help = match (&self.plan.address_source, tags.is_empty()) {
            (Some(source), false) => format!(
                "only the default route to the firewall may cover every address; these prefixes are the addresses of {} in `{}`, which no real service tag file makes cover everything: the file is damaged or not Microsoft's; download it again (public 56519, Government 57063, China 57062)",
                tags.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
                source.file
            ),
            _ => "only the default route to the firewall may cover every address; check the catalog entries named above".to_owned(),
        };
        Diagnostic::error(
            Code::BroadDestination,
            format!(
                "{noun} {} of the route table of `{region}` {verb} every destination past the firewall: {what}",
                listed(&ids, LISTED)
            ),
        )
        .at(self.path_location(format!(
            "route table of {region}: routes from {} (workspaces {})",
            self.requirements_text(requirements.into_iter()),
            workspaces.into_iter().collect::<Vec<_>>().join(", ")
        )))
        .help(help)
    }

    /// IP groups and recorded service tag addresses that cover everything, wherever used.
    fn address_data(&mut self) {
        let tag_file = self.plan.address_source.as_ref().map(|s| s.file.clone());
        let mut flagged = BTreeSet::new();
        for (tag, prefixes) in &self.plan.tag_addresses {
            let addresses: Vec<Address<'_>> = prefixes
                .all()
                .map(|net| Address {
                    net,
                    value: tag,
                    via: Via::Net,
                })
                .collect();
            if let Some((family, covering)) = covering(&addresses) {
                flagged.insert(tag.as_str());
                let file = tag_file
                    .clone()
                    .unwrap_or_else(|| "the service tag file".to_owned());
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::BroadDestination,
                        format!(
                            "service tag `{tag}` in `{file}` covers every {family} address: its prefixes aggregate to {}",
                            shown(&covering)
                        ),
                    )
                    .at(self.tag_location(tag))
                    .help(TAG_FILE_HELP),
                );
            }
        }
        for group in &self.plan.ip_groups {
            if flagged.contains(group.service_tag.as_str()) {
                continue;
            }
            let addresses: Vec<Address<'_>> = group
                .prefixes
                .iter()
                .map(|net| Address {
                    net: IpNet::V4(*net),
                    value: &group.name,
                    via: Via::Net,
                })
                .collect();
            if let Some((family, covering)) = covering(&addresses) {
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::BroadDestination,
                        format!(
                            "IP group `{}` (service tag `{}`) holds every {family} address: {}",
                            group.name,
                            group.service_tag,
                            shown(&covering)
                        ),
                    )
                    .at(self.tag_location(&group.service_tag))
                    .help(TAG_FILE_HELP),
                );
            }
        }
    }

    /// The addresses a side of a rule names, and the names on it that mean everything.
    fn addresses(&self, rule: &'a PlannedRule, side: Side) -> (Vec<&'a str>, Vec<Address<'a>>) {
        let values = match side {
            Side::Sources => &rule.sources,
            Side::Destinations => &rule.destinations,
        };
        // Only where an allow list writes a tag's recorded addresses instead of the tag.
        let tags_expand = side == Side::Destinations
            && rule.destination_type == DestinationType::ServiceTags
            && rule.direction == Direction::Outbound
            && rule.kind != RuleKind::Nsg;
        let mut named = Vec::new();
        let mut addresses = Vec::new();
        for value in values {
            if EVERYTHING_NAMES
                .iter()
                .any(|e| e.eq_ignore_ascii_case(value))
            {
                named.push(value.as_str());
            } else if let Some(group) = self.groups.get(value.as_str()) {
                addresses.extend(group.prefixes.iter().map(|net| Address {
                    net: IpNet::V4(*net),
                    value,
                    via: Via::IpGroup,
                }));
            } else if let Some(net) = parse_net(value) {
                addresses.push(Address {
                    net,
                    value,
                    via: Via::Value,
                });
            } else if let Some(prefixes) =
                self.plan.tag_addresses.get(value).filter(|_| tags_expand)
            {
                addresses.extend(prefixes.all().map(|net| Address {
                    net,
                    value,
                    via: Via::ServiceTag,
                }));
            }
        }
        (named, addresses)
    }

    /// The first compute subnet, in file order, among `values`, of the rule's workspaces.
    fn subnet_location(&self, rule: &PlannedRule, values: &[&str]) -> Option<Location> {
        self.scenario
            .workspaces
            .iter()
            .filter(|w| rule.workspaces.contains(&w.name))
            .flat_map(|w| w.compute_subnets.iter().zip(&w.compute_subnet_locations))
            .find(|(net, _)| values.contains(&net.to_string().as_str()))
            .map(|(_, location)| location.clone())
    }

    /// The extra host entry the rule's `host` comes from, when the rule is the scenario's.
    fn extra_host(&self, rule: &PlannedRule, host: &str) -> Option<Location> {
        if !rule
            .requirements
            .iter()
            .any(|r| r == EXTRA_FQDNS_REQUIREMENT)
        {
            return None;
        }
        self.scenario
            .workspaces
            .iter()
            .filter(|w| rule.workspaces.contains(&w.name))
            .flat_map(|w| &w.extra_fqdns)
            .find(|extra| extra.fqdn == host)
            .map(|extra| extra.location.clone())
    }

    fn host_location(&self, rule: &PlannedRule, host: &str) -> Location {
        self.extra_host(rule, host)
            .unwrap_or_else(|| self.rule_location(rule))
    }

    /// The rule, by its requirements and their catalog files, and its workspaces.
    fn rule_location(&self, rule: &PlannedRule) -> Location {
        self.path_location(format!(
            "rule from {} (workspaces {})",
            self.requirements_text(rule.requirements.iter().map(String::as_str)),
            rule.workspaces.join(", ")
        ))
    }

    /// `a, b in catalog file requirements/x.yaml; c in catalog file requirements/y.yaml`
    /// (files relative to the catalog, embedded or `--catalog DIR`).
    fn requirements_text<'r>(&self, requirements: impl Iterator<Item = &'r str>) -> String {
        let mut by_file: BTreeMap<Option<&str>, Vec<&str>> = BTreeMap::new();
        for id in requirements {
            by_file
                .entry(self.requirement_files.get(id).copied())
                .or_default()
                .push(id);
        }
        by_file
            .into_iter()
            .map(|(file, ids)| match file {
                Some(file) => format!("{} in catalog file {file}", ids.join(", ")),
                None => ids.join(", "),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn path_location(&self, path: String) -> Location {
        Location {
            file: self.plan.scenario.clone(),
            path,
            position: None,
        }
    }

    /// A tag's addresses in the service tag file, or the scenario when there is none.
    fn tag_location(&self, tag: &str) -> Location {
        match &self.plan.address_source {
            Some(source) => Location {
                file: source.file.clone(),
                path: format!("values[name={tag}].properties.addressPrefixes"),
                position: None,
            },
            None => self.path_location(format!("service tag {tag}")),
        }
    }
}

/// A prefix (host bits cleared, as Azure applies it) or a bare address as a host prefix.
fn parse_net(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .map(|net| net.trunc())
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Whether `nets` are large enough, counted with their overlaps, to cover all of IPv4
/// or all of IPv6: what must hold for [`covering`] to find anything. The sizes add up
/// in one pass, where aggregating sorts every prefix; a rule to an IP group of
/// thousands of small prefixes is then checked at the cost of reading them once.
fn may_cover_a_family(nets: impl Iterator<Item = IpNet>) -> bool {
    // Addresses counted: IPv4 has 2^32; IPv6 has 2^128, one more than a u128 holds, so
    // a sum that saturates (or `::/0`, whose size alone does not fit) may cover it.
    let (mut v4, mut v6) = (0_u64, 0_u128);
    for net in nets {
        match net {
            IpNet::V4(net) => {
                v4 = v4.saturating_add(1_u64 << (32 - u32::from(net.prefix_len())));
            }
            IpNet::V6(net) if net.prefix_len() == 0 => return true,
            IpNet::V6(net) => {
                v6 = v6.saturating_add(1_u128 << (128 - u32::from(net.prefix_len())));
            }
        }
    }
    v4 >= 1_u64 << 32 || v6 == u128::MAX
}

/// The family whose whole space `addresses` cover together, and the addresses of that
/// family (each needed: an aggregate of all space has no redundant part to leave out, so
/// all are named, in order).
fn covering<'x, 'a: 'x>(
    addresses: impl IntoIterator<Item = &'x Address<'a>>,
) -> Option<(&'static str, Vec<Covered<'x, 'a>>)> {
    let addresses: Vec<&Address<'_>> = addresses.into_iter().collect();
    if !may_cover_a_family(addresses.iter().map(|a| a.net)) {
        return None;
    }
    let v4: Vec<Ipv4Net> = addresses
        .iter()
        .filter_map(|a| match a.net {
            IpNet::V4(n) => Some(n),
            IpNet::V6(_) => None,
        })
        .collect();
    let v6: Vec<Ipv6Net> = addresses
        .iter()
        .filter_map(|a| match a.net {
            IpNet::V6(n) => Some(n),
            IpNet::V4(_) => None,
        })
        .collect();
    let (family, is_family): (&str, fn(&IpNet) -> bool) =
        if Ipv4Net::aggregate(&v4) == [Ipv4Net::default()] {
            ("IPv4", |n| matches!(n, IpNet::V4(_)))
        } else if Ipv6Net::aggregate(&v6) == [Ipv6Net::default()] {
            ("IPv6", |n| matches!(n, IpNet::V6(_)))
        } else {
            return None;
        };
    let mut seen = BTreeSet::new();
    let mut covering: Vec<Covered<'x, 'a>> = addresses
        .into_iter()
        .filter(|a| is_family(&a.net))
        .map(|address| Covered {
            address,
            shown: address.shown(),
        })
        .filter(|covered| seen.insert(covered.shown.clone()))
        .collect();
    covering.sort_by(|a, b| (a.address.net, &a.shown).cmp(&(b.address.net, &b.shown)));
    Some((family, covering))
}

/// `every source (`0.0.0.0/0`)` or `every source: `0.0.0.0/1`, `128.0.0.0/1` together
/// cover all of IPv4`.
fn everything(what: &str, family: &str, covering: &[Covered<'_, '_>]) -> String {
    match covering {
        [one] => format!("{what} ({})", one.shown),
        _ => format!("{what}: {}", together(family, covering)),
    }
}

fn together(family: &str, covering: &[Covered<'_, '_>]) -> String {
    let shown: Vec<String> = covering.iter().map(|a| a.shown.clone()).collect();
    format!("{} together cover all of {family}", listed(&shown, LISTED))
}

fn shown(covering: &[Covered<'_, '_>]) -> String {
    let shown: Vec<String> = covering.iter().map(|a| a.shown.clone()).collect();
    listed(&shown, LISTED)
}

/// `a`, `a and b`, `a, b and c`, or the first `limit` and "N more".
fn listed<'s>(items: impl IntoIterator<Item = &'s String>, limit: usize) -> String {
    let items: Vec<&String> = items.into_iter().collect();
    let (shown, more) = if items.len() > limit {
        (&items[..limit], items.len() - limit)
    } else {
        (&items[..], 0)
    };
    let names: Vec<&str> = shown.iter().map(|s| s.as_str()).collect();
    match (names.as_slice(), more) {
        ([], _) => String::new(),
        ([one], 0) => (*one).to_owned(),
        (names, 0) => format!(
            "{} and {}",
            names[..names.len() - 1].join(", "),
            names[names.len() - 1]
        ),
        (names, more) => format!("{} and {more} more", names.join(", ")),
    }
}

/// A port, a range or `*` (0-65535); `None` for text that is none of them.
fn port_span(text: &str) -> Option<(u32, u32)> {
    if text == "*" {
        return Some((0, 65535));
    }
    let (start, end) = text.split_once('-').unwrap_or((text, text));
    let (start, end) = (
        start.trim().parse::<u16>().ok()?,
        end.trim().parse::<u16>().ok()?,
    );
    (start <= end).then_some((u32::from(start), u32::from(end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NSG_AND_ROUTES: &str = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw\n    region: eastus2\n    compute_subnets: [10.0.1.0/24]\n    compute: { clusters: true, public_ip: true }\noutputs:\n  nsg: true\n  route_table: { firewall_private_ip: 10.0.0.4 }\n";

    /// A clean plan, its scenario and catalog, to change one rule and lint again.
    fn planned() -> (Plan, Scenario, Catalog) {
        let catalog = Catalog::embedded();
        let scenario = crate::scenario::load(NSG_AND_ROUTES, "s.yaml", &catalog).unwrap();
        let plan = super::super::plan(&scenario, &catalog).unwrap();
        assert!(lint(&plan, &scenario, &catalog).is_empty());
        (plan, scenario, catalog)
    }

    fn messages(plan: &Plan, scenario: &Scenario, catalog: &Catalog) -> Vec<String> {
        lint(plan, scenario, catalog)
            .into_iter()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect()
    }

    #[test]
    fn only_nets_that_add_up_to_a_family_are_aggregated() {
        let nets =
            |texts: &[&str]| -> Vec<IpNet> { texts.iter().map(|t| t.parse().unwrap()).collect() };
        for covering in [
            &["0.0.0.0/0"][..],
            &["0.0.0.0/1", "128.0.0.0/1"],
            &["0.0.0.0/1", "0.0.0.0/1"],
            &["::/0"],
            &["::/1", "8000::/1"],
            &["10.0.0.0/8", "::/1", "::/1"],
        ] {
            assert!(
                may_cover_a_family(nets(covering).into_iter()),
                "{covering:?}"
            );
        }
        for short in [
            &["0.0.0.0/1", "128.0.0.0/2"][..],
            &["10.0.0.0/8"; 255],
            &["::/1", "8000::/2", "0.0.0.0/1"],
            &[],
        ] {
            assert!(!may_cover_a_family(nets(short).into_iter()), "{short:?}");
        }
        // The check is only a filter: covering still decides (these add up, but overlap).
        let overlapping = nets(&["0.0.0.0/1", "0.0.0.0/1"]);
        let addresses: Vec<Address<'_>> = overlapping
            .iter()
            .map(|net| Address {
                net: *net,
                value: "x",
                via: Via::Net,
            })
            .collect();
        assert!(covering(&addresses).is_none());
    }

    #[test]
    fn nsg_rules_without_a_side_are_written_with_a_star_and_refused() {
        let (mut plan, scenario, catalog) = planned();
        let index = plan
            .rules
            .iter()
            .position(|r| r.kind == RuleKind::Nsg && r.direction == Direction::Inbound)
            .unwrap();
        plan.rules[index].destinations.clear();
        plan.rules[index].sources.clear();
        let id = plan.rules[index].id.clone();
        assert_eq!(
            messages(&plan, &scenario, &catalog),
            [
                format!(
                    "broad-destination: rule `{id}` allows every destination (it has none, which an NSG rule writes as `*`)"
                ),
                format!(
                    "any-source: rule `{id}` allows every source (it has none, which an NSG rule writes as `*`)"
                ),
            ]
        );
    }

    #[test]
    fn only_routes_to_the_firewall_may_cover_everything() {
        let (mut plan, scenario, catalog) = planned();
        let default = plan
            .rules
            .iter()
            .find(|r| {
                r.kind == RuleKind::Route && r.next_hop.as_deref() == Some("VirtualAppliance")
            })
            .unwrap()
            .clone();
        assert_eq!(default.destinations, ["0.0.0.0/0"]);
        // Another route to the firewall for half of IPv4 is harmless.
        let mut half = default.clone();
        half.id = "half-to-firewall".to_owned();
        half.destinations = vec!["0.0.0.0/1".to_owned()];
        plan.rules.push(half);
        assert!(messages(&plan, &scenario, &catalog).is_empty());
        // The same prefix to another appliance bypasses the firewall.
        let mut elsewhere = default;
        elsewhere.id = "to-another-appliance".to_owned();
        elsewhere.next_hop_ip = Some("10.0.0.5".to_owned());
        plan.rules.push(elsewhere);
        assert_eq!(
            messages(&plan, &scenario, &catalog),
            [
                "broad-destination: route `to-another-appliance` of the route table of `eastus2` sends every destination past the firewall: `0.0.0.0/0`"
            ]
        );
    }

    #[test]
    fn a_star_that_is_not_one_leading_label_is_a_broad_wildcard() {
        let (mut plan, scenario, catalog) = planned();
        let index = plan
            .rules
            .iter()
            .position(|r| {
                r.kind == RuleKind::FirewallApplication || r.kind == RuleKind::FirewallNetwork
            })
            .unwrap();
        plan.rules[index].destination_type = DestinationType::Fqdns;
        plan.rules[index].destinations =
            vec!["*contoso.com".to_owned(), "a.*.contoso.com".to_owned()];
        let found = messages(&plan, &scenario, &catalog);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found
                .iter()
                .all(|m| m.starts_with("broad-wildcard: ")
                    && m.contains("not one leading `*.` label")),
            "{found:?}"
        );
    }

    #[test]
    fn ports_cover_everything_only_without_a_gap() {
        let spans = |texts: &[&str]| {
            texts
                .iter()
                .map(|t| port_span(t).unwrap())
                .collect::<Vec<_>>()
        };
        for every in [
            &["*"][..],
            &["0-65535"],
            &["1-65535"],
            &["1-100", "50-65535"],
            &["2-65535", "1"],
        ] {
            assert!(covers_every_port(spans(every).into_iter()), "{every:?}");
        }
        for some in [
            &["2-65535"][..],
            &["1-65534"],
            &["1-100", "102-65535"],
            &["443"],
        ] {
            assert!(!covers_every_port(spans(some).into_iter()), "{some:?}");
        }
        assert_eq!(port_span("Https"), None);
        assert_eq!(port_span("443-80"), None);
    }

    #[test]
    fn lists_name_the_first_few_and_count_the_rest() {
        let items: Vec<String> = (1..=8).map(|i| format!("`{i}`")).collect();
        assert_eq!(listed(&items[..1], LISTED), "`1`");
        assert_eq!(listed(&items[..3], LISTED), "`1`, `2` and `3`");
        assert_eq!(
            listed(&items, LISTED),
            "`1`, `2`, `3`, `4`, `5`, `6` and 2 more"
        );
    }
}
