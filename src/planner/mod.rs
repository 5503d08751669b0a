//! Stage 3: the planner, pure: (scenario, catalog) -> plan. No I/O.
//!
//! For each workspace it evaluates every requirement of the chosen article revision,
//! fills placeholders, applies the region's exact service tag casing, picks the cloud's
//! variant, and realizes the requirement as something Azure can express:
//!
//! - outbound service tags -> a firewall network rule (destination only, as Azure
//!   Firewall requires); NSG-only tags (`VirtualNetwork`) -> an outbound NSG rule;
//! - hosts on HTTP(S) -> a firewall application rule (`Http:80`, `Https:443`);
//! - hosts on other ports -> a network rule with FQDNs (needs DNS proxy), or, for
//!   wildcard hosts, which network rules cannot take, the covering service tag;
//! - URL paths -> an application rule with TLS inspection on Premium, else the bare
//!   host and a warning;
//! - inbound requirements -> NSG rules; routes -> route table routes.
//!
//! Identical rules of several workspaces merge (sources united), and the result is
//! sorted by kind, direction and id, so the output does not depend on catalog order.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{
    Catalog, Cloud, CloudEndpoints, Concern, Direction, Endpoint, NextHop, PLACEHOLDERS, Protocol,
    Requirement, is_web_traffic,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::plan::{
    DestinationType, Plan, PlanFirewall, PlanOutputs, PlanWorkspace, PlannedRule, RuleKind,
    Skipped, Warning,
};
use crate::scenario::{Scenario, Sku, UnmarkedTags, Workspace};

mod addresses;
mod lint;
mod managed;

pub use addresses::{AddressOptions, IP_GROUP_LIMIT, IP_GROUPS_PER_FIREWALL, ROUTE_LIMIT};

/// The requirement id of the rules made from a scenario's `extra_fqdns`.
const EXTRA_FQDNS_REQUIREMENT: &str = "scenario-extra-fqdns";

/// Plans the rules of `scenario`. Errors are problems only visible once requirements are
/// selected, such as a missing storage account name.
pub fn plan(scenario: &Scenario, catalog: &Catalog) -> Result<Plan, Vec<Diagnostic>> {
    plan_with(scenario, catalog, AddressOptions::default())
}

/// Plans with a service tag file, for scenarios that ask for addresses instead of tags
/// (`route_table.mode: ip-addresses`, `firewall.destinations: ip-addresses`).
///
/// Planner errors, address errors and least-privilege findings of one run come together
/// (sorted, duplicates removed): what could be planned is still expanded and linted, so a
/// user fixes a missing value and a broad rule in one round.
pub fn plan_with(
    scenario: &Scenario,
    catalog: &Catalog,
    options: AddressOptions<'_>,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut planner = Planner {
        scenario,
        catalog,
        cloud: scenario.cloud,
        revision: scenario.catalog_revision.as_str(),
        drafts: Vec::new(),
        skipped: BTreeMap::new(),
        warnings: BTreeSet::new(),
        errors: Vec::new(),
        global_fallbacks: BTreeSet::new(),
    };
    // A workspace with a managed virtual network has no rule of the hub firewall's: its
    // outbound rules are its own (`managed.rs`).
    // Each workspace's drafts are merged as soon as they are made: held until the end,
    // 1,000 workspaces' drafts were a 13.6 MB vector, the peak of a whole `generate`.
    // Merging in the same order gives the same rules.
    let mut merger = Merger::default();
    for workspace in scenario
        .workspaces
        .iter()
        .filter(|w| w.managed_network.is_none())
    {
        planner.workspace(workspace);
        #[cfg(test)]
        held::note(planner.drafts.len());
        for draft in planner.drafts.drain(..) {
            merger.add(draft);
        }
    }
    let managed = managed::plan(scenario, catalog);
    planner.unused_subnet_ids();
    let mut errors = std::mem::take(&mut planner.errors);
    errors.extend(managed.errors.iter().cloned());
    let rules = merger.finish();
    let skipped = planner
        .skipped
        .into_iter()
        .map(|((requirement, reason), workspaces)| Skipped {
            requirement,
            reason,
            workspaces: workspaces.into_iter().collect(),
        })
        .collect();
    let mut plan = Plan {
        catalog: scenario.catalog_revision.clone(),
        catalog_requested: scenario.catalog_requested.clone(),
        cloud: scenario.cloud,
        scenario: scenario.file.clone(),
        firewall: PlanFirewall {
            sku: scenario.firewall.sku,
            destinations: if scenario.firewall.ip_groups {
                "ip-addresses".to_owned()
            } else {
                scenario.firewall.destinations.as_str().to_owned()
            },
            rule_collection_group: scenario.firewall.rule_collection_group.name.clone(),
            priority: scenario.firewall.rule_collection_group.priority,
        },
        service_tag_data: catalog.tag_sources.get(&scenario.cloud).cloned(),
        address_source: None,
        workspaces: scenario
            .workspaces
            .iter()
            .filter(|workspace| workspace.managed_network.is_none())
            .map(|workspace| PlanWorkspace {
                name: workspace.name.clone(),
                region: workspace.region.clone(),
                compute_subnets: workspace
                    .compute_subnets
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                compute_subnet_ids: workspace.compute_subnet_ids.clone(),
            })
            .collect(),
        outputs: PlanOutputs {
            layout: scenario.outputs.layout,
            nsg: scenario.outputs.nsg,
            nsg_existing: scenario.outputs.nsg_existing,
            nsg_priorities: scenario.outputs.nsg_priorities.into(),
            route_table: scenario.outputs.route_table.is_some(),
            route_table_existing: scenario
                .outputs
                .route_table
                .as_ref()
                .is_some_and(|r| r.existing),
            firewall_private_ip: scenario
                .outputs
                .route_table
                .as_ref()
                .and_then(|r| r.firewall_private_ip)
                .map(|ip| ip.to_string()),
        },
        rules,
        skipped,
        warnings: planner
            .warnings
            .into_iter()
            .chain(managed.warnings)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        ip_groups: Vec::new(),
        managed_catalog: if managed.workspaces.is_empty() {
            None
        } else {
            catalog.managed.source.as_ref().map(|s| s.id.clone())
        },
        managed_workspaces: managed.workspaces,
        managed_rules: managed.rules,
        nsg_slots: catalog.nsg_slots(scenario.cloud),
        tag_addresses: BTreeMap::new(),
    };
    errors.extend(nsg_band_errors(&plan, scenario));
    if let Err(address_errors) = addresses::apply(
        &mut plan,
        scenario,
        catalog,
        options,
        &planner.global_fallbacks,
    ) {
        errors.extend(address_errors);
    }
    errors.extend(lint::lint(&plan, scenario, catalog));
    if errors.is_empty() {
        return Ok(plan);
    }
    sort_diagnostics(&mut errors);
    Err(errors)
}

/// Refuses a plan whose NSG rules do not fit `outputs.nsg.priorities`: priorities are
/// fixed per requirement (slot and sub-slot), never packed, so a rule that does not fit is
/// an error that says how large the band must be, never a rule moved elsewhere.
fn nsg_band_errors(plan: &Plan, scenario: &Scenario) -> Vec<Diagnostic> {
    let band = plan.outputs.nsg_priorities.band();
    let width = (band.last + 1).saturating_sub(band.first);
    let mut outside: Vec<(u32, String)> = plan
        .rules
        .iter()
        .filter(|rule| rule.kind == RuleKind::Nsg)
        // A broken slot invariant is the renderer's to report (an amlfw bug).
        .filter_map(|rule| plan.nsg_position(rule).ok().map(|p| (p, rule)))
        .filter(|(position, _)| position.needs() > width)
        .map(|(position, rule)| (position.needs(), rule.id.clone()))
        .collect();
    if outside.is_empty() {
        return Vec::new();
    }
    outside.sort();
    let needs = outside.last().map_or(0, |(needs, _)| *needs);
    let mut names: Vec<String> = outside
        .iter()
        .take(5)
        .map(|(_, id)| format!("`{id}`"))
        .collect();
    if outside.len() > 5 {
        names.push(format!("{} more", outside.len() - 5));
    }
    let mut diagnostic = Diagnostic::error(
        Code::NsgPriorityBandFull,
        format!(
            "the NSG priority band {}-{} holds {width} priorities, and amlfw's NSG rules need {needs} from its start (each requirement has a fixed slot of 10): {} would fall outside it",
            band.first,
            band.last,
            names.join(", ")
        ),
    )
    .help(format!(
        "widen `outputs.nsg.priorities` to at least `{}-{}` (or more, for features you may add later: priorities never move, so a later rule outside the band is refused the same way)",
        band.first,
        band.first + needs - 1
    ));
    if let Some(location) = &scenario.outputs.nsg_priorities_location {
        diagnostic = diagnostic.at(location.clone());
    }
    vec![diagnostic]
}

/// File order: by file, then line and column; diagnostics with a YAML path only after
/// those with a position, then by path, code and message. Exact duplicates are dropped.
fn sort_diagnostics(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| diagnostic_order(a).cmp(&diagnostic_order(b)));
    diagnostics.dedup();
}

type DiagnosticOrder<'d> = (
    bool,
    &'d str,
    bool,
    Option<(usize, usize)>,
    &'d str,
    Code,
    &'d str,
    Option<&'d str>,
);

fn diagnostic_order(diagnostic: &Diagnostic) -> DiagnosticOrder<'_> {
    let location = diagnostic.location.as_ref();
    let position = location.and_then(|l| l.position.as_ref());
    (
        location.is_none(),
        location.map_or("", |l| l.file.as_str()),
        position.is_none(),
        position.map(|p| (p.line, p.col)),
        location.map_or("", |l| l.path.as_str()),
        diagnostic.code,
        diagnostic.message.as_str(),
        diagnostic.help.as_deref(),
    )
}

/// A rule before merging: one requirement realized for one workspace.
struct Draft {
    rule: PlannedRule,
}

struct Planner<'a> {
    scenario: &'a Scenario,
    catalog: &'a Catalog,
    cloud: Cloud,
    revision: &'a str,
    drafts: Vec<Draft>,
    skipped: BTreeMap<(String, String), BTreeSet<String>>,
    warnings: BTreeSet<Warning>,
    errors: Vec<Diagnostic>,
    /// Regional tags the region lacks, replaced by the global tag.
    global_fallbacks: BTreeSet<String>,
}

/// What one requirement contributes for one workspace, before it becomes rules.
struct Context<'a> {
    workspace: &'a Workspace,
    requirement: &'a Requirement,
    section: String,
}

impl<'a> Planner<'a> {
    fn workspace(&mut self, workspace: &'a Workspace) {
        let facts = workspace.facts();
        let mode = self.scenario.firewall.destinations;
        if let Some(region) = self.catalog.region(self.cloud, &workspace.region) {
            let serious: Vec<&str> = region
                .flags
                .iter()
                .map(String::as_str)
                // Access-restricted regions are left out: whoever deploys there has been granted access.
                .filter(|flag| {
                    matches!(
                        *flag,
                        "retired"
                            | "non_customer_canary_or_stage"
                            | "not_in_arm_list_locations_snapshot"
                    )
                })
                .collect();
            if !serious.is_empty() {
                self.warn(
                    Code::RestrictedRegion,
                    format!(
                        "region `{}` is flagged {} in amlfw's region data; check the rules against that region's service tags",
                        region.name,
                        serious.join(", ")
                    ),
                );
            }
            if region.pair.is_none() && facts.contains("public-ip") {
                self.warn(
                    Code::NoRegionPair,
                    format!(
                        "region `{}` has no paired region: the article asks for the Azure Machine Learning addresses of the primary and the secondary region; the service tag route covers every region, an IP-address route list can hold the primary region only",
                        region.name
                    ),
                );
            }
        }
        let drafts_before = self.drafts.len();
        let mut missing: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
        for requirement in self.catalog.requirements_of(self.revision) {
            if !requirement.when.holds(&facts) || !requirement.modes.contains(&mode) {
                continue;
            }
            let context = Context {
                workspace,
                requirement,
                section: requirement
                    .sections
                    .get(self.revision)
                    .cloned()
                    .unwrap_or_default(),
            };
            self.requirement(&context, &mut missing);
        }
        self.extra_fqdns(workspace);
        if facts.contains("kubernetes")
            && workspace
                .compute
                .kubernetes
                .as_ref()
                .is_some_and(|k| k.subnets.is_none())
        {
            self.warn(
                Code::KubernetesSubnetsDefaulted,
                format!(
                    "workspace `{}`: the Kubernetes rules take the compute subnets as sources; if the cluster's nodes sit in other subnets, list them in `compute.kubernetes.subnets`",
                    workspace.name
                ),
            );
        }
        for (field, requirements) in missing {
            self.errors.push(
                Diagnostic::error(
                    Code::MissingPlaceholderValue,
                    format!(
                        "workspace `{}` needs `{field}`: the selected requirements {} name hosts with it",
                        workspace.name,
                        requirements.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
                    ),
                )
                .at(workspace.location.clone())
                .help(format!("add `{field}:` to the workspace ({})", field_hint(field))),
            );
        }
        let needs_subnets = self.drafts[drafts_before..].iter().any(|draft| {
            matches!(
                draft.rule.kind,
                RuleKind::FirewallNetwork | RuleKind::FirewallApplication
            )
        });
        if needs_subnets && workspace.compute_subnets.is_empty() {
            self.errors.push(
                Diagnostic::error(
                    Code::MissingComputeSubnets,
                    format!("workspace `{}` has no `compute_subnets`, but its firewall rules need them as sources", workspace.name),
                )
                .at(workspace.location.clone())
                .help("add `compute_subnets: [10.10.1.0/24]` with the address prefixes of the subnets its compute runs in"),
            );
        }
    }

    fn warn(&mut self, code: Code, message: String) {
        self.warnings.insert(Warning::new(code, message));
    }

    fn skip(&mut self, context: &Context<'_>, reason: String) {
        self.skipped
            .entry((context.requirement.id.clone(), reason))
            .or_default()
            .insert(context.workspace.name.clone());
    }

    fn requirement(
        &mut self,
        context: &Context<'_>,
        missing: &mut BTreeMap<&'static str, BTreeSet<String>>,
    ) {
        let requirement = context.requirement;
        if let Some(text) = &requirement.manual {
            self.warn(Code::ManualStep, format!("`{}`: {text}", requirement.id));
            return;
        }
        if let Some(next_hop) = requirement.route {
            self.route(context, next_hop);
            return;
        }
        let Some(destinations) = requirement.destinations.as_ref().map(|d| d.get(self.cloud))
        else {
            return;
        };
        let endpoints = match destinations {
            CloudEndpoints::Endpoints(endpoints) => endpoints,
            CloudEndpoints::NotNeeded(reason) => {
                self.skip(
                    context,
                    format!(
                        "not needed in {}: {}",
                        self.cloud,
                        reason.trim_end_matches('.')
                    ),
                );
                return;
            }
            CloudEndpoints::NotAvailable(reason) => {
                let reason = reason.trim_end_matches('.');
                self.warn(
                    Code::NotAvailableInCloud,
                    format!(
                        "`{}` has no {} equivalent: {reason}",
                        requirement.id, self.cloud
                    ),
                );
                self.skip(
                    context,
                    format!("not available in {}: {reason}", self.cloud),
                );
                return;
            }
        };
        if requirement.direction == Direction::Inbound {
            self.inbound(context, endpoints);
            return;
        }
        let mut firewall_tags = Vec::new();
        let mut prefixes = Vec::new();
        let mut nsg_only_tags = Vec::new();
        let mut hosts = Vec::new();
        let mut urls = Vec::new();
        for endpoint in endpoints {
            match endpoint {
                Endpoint::ServiceTag { base, .. }
                    if self
                        .catalog
                        .tag(self.cloud, base)
                        .is_some_and(|t| t.default) =>
                {
                    nsg_only_tags.push(self.tag_name(context.workspace, endpoint, "NSG"));
                }
                Endpoint::ServiceTag { .. } => {
                    firewall_tags.push(self.tag_name(context.workspace, endpoint, "FW"))
                }
                Endpoint::Host(template) => {
                    if let Some(host) = fill(template, context.workspace, &requirement.id, missing)
                    {
                        hosts.push(host);
                    }
                }
                Endpoint::Url(template) => {
                    if let Some(url) = fill(template, context.workspace, &requirement.id, missing) {
                        urls.push(url);
                    }
                }
                Endpoint::Cidr(net) => prefixes.push(net.to_string()),
            }
        }
        // Kubernetes traffic leaves from the cluster's nodes, which usually sit in their
        // own subnet.
        let sources = if requirement.concern == Concern::Kubernetes {
            context.workspace.kubernetes_subnets()
        } else {
            &context.workspace.compute_subnets
        };
        let subnets: Vec<String> = sources.iter().map(ToString::to_string).collect();
        let had_tags = !firewall_tags.is_empty();
        if !firewall_tags.is_empty() {
            let rule = self.network_rule(
                context,
                subnets.clone(),
                firewall_tags,
                DestinationType::ServiceTags,
                "",
            );
            self.push(rule);
        }
        if !prefixes.is_empty() {
            let suffix = if had_tags { "addresses" } else { "" };
            let rule = self.network_rule(
                context,
                subnets.clone(),
                prefixes,
                DestinationType::Addresses,
                suffix,
            );
            self.push(rule);
        }
        if !nsg_only_tags.is_empty() {
            if self.scenario.outputs.nsg {
                for tag in nsg_only_tags {
                    let mut rule = self.network_rule(
                        context,
                        subnets.clone(),
                        vec![tag.clone()],
                        DestinationType::ServiceTags,
                        "",
                    );
                    rule.kind = RuleKind::Nsg;
                    self.regional(&mut rule, context.workspace);
                    self.push(rule);
                }
            } else {
                self.skip(
                    context,
                    format!("{} can only be named in an NSG (Azure Firewall cannot), and outputs.nsg is off", nsg_only_tags.join(", ")),
                );
            }
        }
        if !hosts.is_empty() {
            self.hosts(context, subnets.clone(), hosts);
        }
        if !urls.is_empty() {
            self.urls(context, subnets, urls);
        }
    }

    fn hosts(&mut self, context: &Context<'_>, subnets: Vec<String>, hosts: Vec<String>) {
        let requirement = context.requirement;
        if let Some(application_protocols) = application_protocols(requirement) {
            let rule = self.application_rule(
                context,
                subnets,
                hosts,
                DestinationType::Fqdns,
                application_protocols,
                false,
            );
            self.push(rule);
            return;
        }
        let (wildcards, exact): (Vec<String>, Vec<String>) =
            hosts.into_iter().partition(|host| host.starts_with('*'));
        if !exact.is_empty() {
            self.warn(
                Code::DnsProxyRequired,
                "network rules with FQDNs need DNS proxy enabled on the firewall policy, and the compute subnets must use the firewall as their DNS server".to_owned(),
            );
            let suffix = if wildcards.is_empty() { "" } else { "fqdn" };
            let rule = self.network_rule(
                context,
                subnets.clone(),
                exact,
                DestinationType::Fqdns,
                suffix,
            );
            self.push(rule);
        }
        if !wildcards.is_empty() {
            // Network rules take no wildcard FQDNs: the covering service tag carries the
            // traffic (the catalog loader guarantees one exists for such requirements).
            let covering = match requirement
                .covering_tags
                .as_ref()
                .map(|c| c.get(self.cloud))
            {
                Some(CloudEndpoints::Endpoints(tags)) => tags.clone(),
                _ => Vec::new(),
            };
            let tags: Vec<String> = covering
                .iter()
                .map(|tag| self.tag_name(context.workspace, tag, "FW"))
                .collect();
            if !tags.is_empty() {
                let mut rule =
                    self.network_rule(context, subnets, tags, DestinationType::ServiceTags, "");
                rule.covered_hosts = wildcards;
                self.push(rule);
            }
        }
    }

    fn urls(&mut self, context: &Context<'_>, subnets: Vec<String>, urls: Vec<String>) {
        let protocols = application_protocols(context.requirement)
            .unwrap_or_else(|| vec!["Https:443".to_owned()]);
        if self.scenario.firewall.sku == Sku::Premium {
            let rule = self.application_rule(
                context,
                subnets,
                urls,
                DestinationType::Urls,
                protocols,
                true,
            );
            self.push(rule);
            return;
        }
        let mut hosts: Vec<String> = urls
            .iter()
            .map(|url| url.split('/').next().unwrap_or(url).to_owned())
            .collect();
        hosts.dedup();
        self.warn(
            Code::UrlPathOnStandard,
            format!(
                "`{}`: the article allows only the path {}; Azure Firewall Standard cannot match paths, so the whole host {} is allowed (set `firewall.sku: premium` for URL filtering with TLS inspection)",
                context.requirement.id,
                urls.join(", "),
                hosts.join(", ")
            ),
        );
        let rule = self.application_rule(
            context,
            subnets,
            hosts,
            DestinationType::Fqdns,
            protocols,
            false,
        );
        self.push(rule);
    }

    fn inbound(&mut self, context: &Context<'_>, destinations: &[Endpoint]) {
        if !self.scenario.outputs.nsg {
            self.skip(
                context,
                "inbound traffic is an NSG rule, and outputs.nsg is off".to_owned(),
            );
            return;
        }
        let sources = match context
            .requirement
            .sources
            .as_ref()
            .map(|s| s.get(self.cloud))
        {
            Some(CloudEndpoints::Endpoints(sources)) => sources.clone(),
            _ => Vec::new(),
        };
        let destination_names: Vec<String> = destinations
            .iter()
            .map(|d| self.tag_name(context.workspace, d, "NSG"))
            .collect();
        // An NSG rule takes one service tag per side.
        for source in &sources {
            let source_name = self.tag_name(context.workspace, source, "NSG");
            for destination in &destination_names {
                let suffix = if sources.len() > 1 {
                    source_name.to_lowercase()
                } else {
                    String::new()
                };
                let mut rule = self.network_rule(
                    context,
                    vec![source_name.clone()],
                    vec![destination.clone()],
                    DestinationType::ServiceTags,
                    &suffix,
                );
                rule.kind = RuleKind::Nsg;
                self.regional(&mut rule, context.workspace);
                self.push(rule);
            }
        }
    }

    fn route(&mut self, context: &Context<'_>, next_hop: NextHop) {
        let Some(route_table) = &self.scenario.outputs.route_table else {
            self.skip(
                context,
                "routes are route table entries, and outputs.route_table is not set".to_owned(),
            );
            if context.requirement.direction == Direction::Inbound {
                self.warn(
                    Code::NotRealized,
                    format!(
                        "`{}`: compute with a public IP needs this route so inbound management traffic skips the firewall; set `outputs.route_table` or add it to your route table",
                        context.requirement.id
                    ),
                );
            }
            return;
        };
        let firewall_ip = match (next_hop, route_table.firewall_private_ip) {
            (NextHop::Firewall, None) => {
                // `default_route: false`; the decoder requires the IP otherwise.
                self.skip(
                    context,
                    "outputs.route_table.default_route is false: the route table's own 0.0.0.0/0 route to the firewall stays in its place".to_owned(),
                );
                return;
            }
            (_, ip) => ip.map(|ip| ip.to_string()),
        };
        let Some(CloudEndpoints::Endpoints(prefixes)) = context
            .requirement
            .destinations
            .as_ref()
            .map(|d| d.get(self.cloud))
        else {
            return;
        };
        for prefix in prefixes {
            let destination = self.tag_name(context.workspace, prefix, "UDR");
            let (hop, ip) = match next_hop {
                NextHop::Internet => ("Internet", None),
                NextHop::Firewall => ("VirtualAppliance", firewall_ip.clone()),
            };
            let mut rule = self.base_rule(
                context,
                RuleKind::Route,
                Vec::new(),
                vec![destination],
                DestinationType::Addresses,
                "",
            );
            if matches!(prefix, Endpoint::ServiceTag { .. }) {
                rule.destination_type = DestinationType::ServiceTags;
            }
            rule.next_hop = Some(hop.to_owned());
            rule.next_hop_ip = ip;
            self.regional(&mut rule, context.workspace);
            self.push(rule);
        }
    }

    fn extra_fqdns(&mut self, workspace: &Workspace) {
        let subnets: Vec<String> = workspace
            .compute_subnets
            .iter()
            .map(ToString::to_string)
            .collect();
        for extra in &workspace.extra_fqdns {
            let web = is_web_traffic(Protocol::Tcp, &extra.ports);
            let id = format!("extra-{}", sanitize(&extra.fqdn.replace("*.", "wildcard.")));
            let mut rule = PlannedRule {
                id,
                kind: RuleKind::FirewallApplication,
                direction: Direction::Outbound,
                concern: Concern::Extra,
                protocols: Vec::new(),
                ports: extra.ports.iter().map(ToString::to_string).collect(),
                application_protocols: Vec::new(),
                sources: subnets.clone(),
                destinations: vec![extra.fqdn.clone()],
                destination_type: DestinationType::Fqdns,
                terminate_tls: false,
                next_hop: None,
                next_hop_ip: None,
                region: None,
                paired_region: None,
                requirements: vec![EXTRA_FQDNS_REQUIREMENT.to_owned()],
                sections: vec!["the scenario's extra_fqdns (the article: \"if you need access to a GitHub repository or other host, you must identify and add the required hosts\")".to_owned()],
                purpose: extra.reason.clone(),
                workspaces: vec![workspace.name.clone()],
                expanded_from: Vec::new(),
                covered_hosts: Vec::new(),
                previous_requirement_ids: Vec::new(),
            };
            if web {
                rule.application_protocols =
                    extra.ports.iter().map(|p| web_protocol(p.start)).collect();
                rule.protocols = protocols_of(&rule.application_protocols);
            } else {
                rule.kind = RuleKind::FirewallNetwork;
                rule.protocols = vec!["TCP".to_owned()];
                self.warn(
                    Code::DnsProxyRequired,
                    "network rules with FQDNs need DNS proxy enabled on the firewall policy, and the compute subnets must use the firewall as their DNS server".to_owned(),
                );
            }
            self.drafts.push(Draft { rule });
        }
    }

    /// `compute_subnet_ids` are what the module associates its created NSGs and route
    /// tables with; when it creates neither (off, or `existing`), nothing uses them, and
    /// the user is told rather than left to believe the subnets are associated.
    fn unused_subnet_ids(&mut self) {
        let outputs = &self.scenario.outputs;
        let creates_nsg = outputs.nsg && !outputs.nsg_existing;
        let creates_route_table = outputs.route_table.as_ref().is_some_and(|r| !r.existing);
        if creates_nsg || creates_route_table {
            return;
        }
        let named: Vec<&str> = self
            .scenario
            .workspaces
            .iter()
            // Managed workspaces get their own warning (`managed.rs`).
            .filter(|w| !w.compute_subnet_ids.is_empty() && w.managed_network.is_none())
            .map(|w| w.name.as_str())
            .collect();
        if named.is_empty() {
            return;
        }
        self.warn(
            Code::UnusedInput,
            format!(
                "`compute_subnet_ids` of {} are not used: the module creates no NSG or route table to associate with them (the subnets keep the ones they have); remove them",
                named.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
        );
    }

    /// The exact tag name for this workspace, falling back to the global tag (with a
    /// warning) where the region has no regional tag, and warning when Microsoft's file
    /// does not list the tag for `feature` (`FW`, `NSG`, `UDR`).
    fn tag_name(&mut self, workspace: &Workspace, endpoint: &Endpoint, feature: &str) -> String {
        let Endpoint::ServiceTag { base, regional } = endpoint else {
            return endpoint.text();
        };
        let Some(tag) = self.catalog.tag(self.cloud, base) else {
            return base.clone();
        };
        if tag.default {
            return base.clone();
        }
        let suffix = self
            .catalog
            .region(self.cloud, &workspace.region)
            .and_then(|r| r.tag_suffix.clone());
        let regional_features = suffix
            .as_deref()
            .and_then(|suffix| self.catalog.regional_tag_features(self.cloud, base, suffix));
        let choice = self.scenario.firewall.unmarked_tags;
        let (name, features) = match (regional, suffix, regional_features) {
            // `firewall.unmarked_tags: global`: the regional tag is not marked for the
            // firewall and the global one is, so the global one (the user's decision).
            (true, Some(_), Some(features))
                if feature == "FW"
                    && choice == Some(UnmarkedTags::Global)
                    && !features.iter().any(|f| f == feature)
                    && tag.features.iter().any(|f| f == feature) =>
            {
                (base.clone(), tag.features.clone())
            }
            (true, Some(suffix), Some(features)) => (format!("{base}.{suffix}"), features.to_vec()),
            (true, _, _) => {
                self.global_fallbacks
                    .insert(format!("{base}.<{}>", workspace.region));
                self.warn(
                    Code::NoRegionalTag,
                    format!(
                        "region `{}` has no `{base}` regional service tag; the global `{base}` tag is used, which allows every region",
                        workspace.region
                    ),
                );
                (base.clone(), tag.features.clone())
            }
            (false, _, _) => (base.clone(), tag.features.clone()),
        };
        // The user decided to keep the regional tag: no warning, unless nothing would be
        // marked anyway (then the warning says so whatever the choice).
        let decided = feature == "FW"
            && choice == Some(UnmarkedTags::Regional)
            && tag.features.iter().any(|f| f == feature);
        if !features.iter().any(|f| f == feature) && !decided {
            let file = self
                .catalog
                .tag_sources
                .get(&self.cloud)
                .map(|s| s.file.as_str())
                .unwrap_or("the service tag file");
            let listed = if features.is_empty() {
                "none".to_owned()
            } else {
                features.join(", ")
            };
            let place = match feature {
                "FW" => "Azure Firewall",
                "UDR" => "routes",
                _ => "network security groups",
            };
            let decision = if feature != "FW" {
                String::new()
            } else if tag.features.iter().any(|f| f == feature) && name != *base {
                format!(
                    "; set `firewall.unmarked_tags: regional` to keep it (and this warning quiet) or `global` to write the global `{base}` tag, which the file marks (every region)"
                )
            } else {
                format!(
                    "; the global `{base}` tag is not marked either: `firewall.destinations: hosts` names hosts instead of tags"
                )
            };
            self.warn(
                Code::TagFeatureMissing,
                format!(
                    "`{name}` is not marked for {place} ({feature}) in {file} (features: {listed}); the article asks for it, so amlfw writes it: check that it deploys{decision}"
                ),
            );
        }
        name
    }

    fn regional(&self, rule: &mut PlannedRule, workspace: &Workspace) {
        rule.region = Some(workspace.region.clone());
        rule.paired_region = self
            .catalog
            .region(self.cloud, &workspace.region)
            .and_then(|r| r.pair.clone());
        if !rule.id.ends_with(&format!("-{}", workspace.region)) {
            rule.id = format!("{}-{}", rule.id, workspace.region);
        }
    }

    fn base_rule(
        &self,
        context: &Context<'_>,
        kind: RuleKind,
        sources: Vec<String>,
        destinations: Vec<String>,
        destination_type: DestinationType,
        suffix: &str,
    ) -> PlannedRule {
        let requirement = context.requirement;
        let workspace = context.workspace;
        let texts: Vec<String> = requirement
            .destinations
            .iter()
            .chain(&requirement.covering_tags)
            .filter_map(|d| match d.get(self.cloud) {
                CloudEndpoints::Endpoints(list) => {
                    Some(list.iter().map(Endpoint::text).collect::<Vec<_>>())
                }
                _ => None,
            })
            .flatten()
            .collect();
        let has = |placeholder: &str| texts.iter().any(|t| t.contains(placeholder));
        let per_workspace = PLACEHOLDERS
            .iter()
            .filter(|(_, field)| WORKSPACE_VALUES.contains(field))
            .any(|(placeholder, _)| has(placeholder));
        let mut id = requirement.id.clone();
        if !suffix.is_empty() {
            id = format!("{id}-{}", sanitize(suffix));
        }
        if per_workspace {
            id = format!("{id}-{}", sanitize(&workspace.name));
        } else {
            // One rule per region named, so that workspaces (or clusters) of one region
            // share it and a second region adds a rule instead of changing one.
            if has("{region}") {
                id = format!("{id}-{}", workspace.region);
            }
            if has("{cluster_region}") {
                id = format!("{id}-{}", cluster_region(workspace));
            }
        }
        PlannedRule {
            id,
            kind,
            direction: requirement.direction,
            concern: requirement.concern,
            protocols: Vec::new(),
            ports: Vec::new(),
            application_protocols: Vec::new(),
            sources,
            destinations,
            destination_type,
            terminate_tls: false,
            next_hop: None,
            next_hop_ip: None,
            region: None,
            paired_region: None,
            requirements: vec![requirement.id.clone()],
            sections: vec![context.section.clone()],
            purpose: requirement.purpose.clone(),
            workspaces: vec![workspace.name.clone()],
            expanded_from: Vec::new(),
            covered_hosts: Vec::new(),
            previous_requirement_ids: requirement.previous_ids.clone(),
        }
    }

    fn network_rule(
        &self,
        context: &Context<'_>,
        sources: Vec<String>,
        destinations: Vec<String>,
        destination_type: DestinationType,
        suffix: &str,
    ) -> PlannedRule {
        let mut rule = self.base_rule(
            context,
            RuleKind::FirewallNetwork,
            sources,
            destinations,
            destination_type,
            suffix,
        );
        rule.protocols = vec![
            match context.requirement.protocol {
                Protocol::Udp => "UDP",
                Protocol::Any => "Any",
                _ => "TCP",
            }
            .to_owned(),
        ];
        rule.ports = context
            .requirement
            .ports
            .iter()
            .map(ToString::to_string)
            .collect();
        rule
    }

    fn application_rule(
        &self,
        context: &Context<'_>,
        sources: Vec<String>,
        destinations: Vec<String>,
        destination_type: DestinationType,
        application_protocols: Vec<String>,
        terminate_tls: bool,
    ) -> PlannedRule {
        let mut rule = self.base_rule(
            context,
            RuleKind::FirewallApplication,
            sources,
            destinations,
            destination_type,
            "",
        );
        rule.protocols = protocols_of(&application_protocols);
        rule.ports = application_protocols
            .iter()
            .filter_map(|p| p.split(':').nth(1))
            .map(str::to_owned)
            .collect();
        rule.application_protocols = application_protocols;
        rule.terminate_tls = terminate_tls;
        rule
    }

    fn push(&mut self, rule: PlannedRule) {
        self.drafts.push(Draft { rule });
    }
}

/// `Http:80`/`Https:443` pairs when the requirement is HTTP(S) traffic an application
/// rule can carry, else `None` (a network rule is needed).
fn application_protocols(requirement: &Requirement) -> Option<Vec<String>> {
    if !is_web_traffic(requirement.protocol, &requirement.ports) {
        return None;
    }
    let pairs = requirement
        .ports
        .iter()
        .map(|port| match requirement.protocol {
            Protocol::Http => format!("Http:{port}"),
            Protocol::Https => format!("Https:{port}"),
            // `http-https` is validated to be ports 80 and 443; plain TCP here is 80 or 443.
            _ => web_protocol(port.start),
        });
    Some(pairs.collect())
}

/// The application rule protocol of a web port: `Http:80`, else `Https:<port>`.
fn web_protocol(port: u16) -> String {
    if port == 80 {
        "Http:80".to_owned()
    } else {
        format!("Https:{port}")
    }
}

fn protocols_of(application_protocols: &[String]) -> Vec<String> {
    let mut protocols: Vec<String> = application_protocols
        .iter()
        .filter_map(|p| p.split(':').next())
        .map(str::to_owned)
        .collect();
    protocols.dedup();
    protocols
}

/// Fills `{region}`, `{storage}`, `{acr}` and `{workspace_id}`; records missing values.
fn fill(
    template: &str,
    workspace: &Workspace,
    requirement: &str,
    missing: &mut BTreeMap<&'static str, BTreeSet<String>>,
) -> Option<String> {
    let mut text = template.to_owned();
    let mut complete = true;
    for (placeholder, field) in PLACEHOLDERS {
        if !text.contains(placeholder) {
            continue;
        }
        let value = match *field {
            "region" => Some(workspace.region.as_str()),
            "compute.kubernetes.region" => Some(cluster_region(workspace)),
            "storage_account" => workspace.storage_account.as_deref(),
            "container_registry" => workspace.container_registry.as_deref(),
            _ => workspace.workspace_id.as_deref(),
        };
        match value {
            Some(value) => text = text.replace(placeholder, value),
            None => {
                missing
                    .entry(field)
                    .or_default()
                    .insert(requirement.to_owned());
                complete = false;
            }
        }
    }
    complete.then_some(text)
}

/// The placeholder values that are one workspace's own (its resources' names), so that a
/// rule naming one is that workspace's alone.
const WORKSPACE_VALUES: &[&str] = &["storage_account", "container_registry", "workspace_id"];

/// The region of the workspace's Kubernetes cluster: its own, else the workspace's.
fn cluster_region(workspace: &Workspace) -> &str {
    workspace
        .compute
        .kubernetes
        .as_ref()
        .map_or(workspace.region.as_str(), |k| k.region.as_str())
}

fn field_hint(field: &str) -> &'static str {
    match field {
        "storage_account" => "the name of the workspace's default storage account",
        "container_registry" => "the name of the workspace's container registry",
        _ => "the workspace ID GUID, shown in the portal under the workspace's Properties",
    }
}

/// Lowercase letters, digits and single dashes.
fn sanitize(text: &str) -> String {
    let mut out = String::new();
    for character in text.to_lowercase().chars() {
        let character = if character.is_ascii_alphanumeric() {
            character
        } else {
            '-'
        };
        if !(character == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(character);
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Between the purposes of a merged rule (of several requirements, or user reasons).
const PURPOSE_SEPARATOR: &str = " | ";

/// A rule being merged: what its drafts said, kept as sets so that uniting N drafts
/// costs N set inserts and the joined description is built once, at the end (joined
/// text is never split again: catalog purposes contain "; " themselves).
struct Merging {
    rule: PlannedRule,
    /// (requirement id, article section) pairs, sorted by requirement id.
    why: BTreeSet<(String, String)>,
    /// Distinct purposes, sorted, so the description does not depend on workspace order.
    purposes: BTreeSet<String>,
}

/// What makes two drafts one rule.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct MergeKey {
    /// The draft's id and concern; `None` for routes, which merge across requirements.
    identity: Option<(String, Concern)>,
    kind: RuleKind,
    direction: Direction,
    protocols: Vec<String>,
    ports: Vec<String>,
    application_protocols: Vec<String>,
    /// Sorted and unique.
    destinations: Vec<String>,
    destination_type: DestinationType,
    terminate_tls: bool,
    next_hop: Option<String>,
    next_hop_ip: Option<String>,
    region: Option<String>,
    /// Inbound NSG rules only: their one source service tag.
    single_source: Vec<String>,
}

/// Merges identical rules of several workspaces (same requirement, kind, traffic and
/// destinations), unites their sources, makes ids unique and sorts.
///
/// A rule's id (its Terraform address and Azure name) and its concern (its rule
/// collection) are those of the one requirement it realizes, so they never depend on
/// which other requirements a scenario or catalog revision selects. Two requirements
/// that allow the same traffic therefore stay two rules: merging them would name the
/// rule after one of them, and a revision that changes either one's ports would split it
/// again under another address (`pypi-host` disappearing into `kubernetes-pypi-host`),
/// or move a user's `extra_fqdns` rule into a catalog collection. Azure allows duplicate
/// firewall and NSG rules under distinct names; it refuses two routes with one prefix in
/// a route table (`RouteConflict`), so routes alone merge across requirements, keyed by
/// what they are (region, prefix, next hop) and named by their first requirement.
/// Test-only: the most drafts the planner held at once, per thread, so a test can show
/// that planning holds one workspace's drafts, not every workspace's.
#[cfg(test)]
mod held {
    use std::cell::Cell;

    thread_local! {
        static MOST: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn note(drafts: usize) {
        MOST.with(|most| most.set(most.get().max(drafts)));
    }

    /// Runs `job` and returns the most drafts held at once meanwhile.
    pub(super) fn most<T>(job: impl FnOnce() -> T) -> usize {
        MOST.with(|most| most.set(0));
        let _ = job();
        MOST.with(Cell::get)
    }
}

/// The rules merged so far, drafts added in order (the first draft of a merged rule gives
/// the fields that are not united).
#[derive(Default)]
struct Merger {
    merged: BTreeMap<MergeKey, Merging>,
}

impl Merger {
    fn add(&mut self, Draft { rule }: Draft) {
        let merged = &mut self.merged;
        let mut destinations = rule.destinations.clone();
        destinations.sort();
        destinations.dedup();
        let key = MergeKey {
            identity: (rule.kind != RuleKind::Route).then(|| (rule.id.clone(), rule.concern)),
            kind: rule.kind,
            direction: rule.direction,
            protocols: rule.protocols.clone(),
            ports: rule.ports.clone(),
            application_protocols: rule.application_protocols.clone(),
            destinations: destinations.clone(),
            destination_type: rule.destination_type,
            terminate_tls: rule.terminate_tls,
            next_hop: rule.next_hop.clone(),
            next_hop_ip: rule.next_hop_ip.clone(),
            region: rule.region.clone(),
            // Inbound NSG rules name one service tag as their source; two such rules with
            // different sources must stay two rules. Other sources (subnets) unite.
            single_source: if rule.kind == RuleKind::Nsg && rule.direction == Direction::Inbound {
                rule.sources.clone()
            } else {
                Vec::new()
            },
        };
        let mut rule = rule;
        let why = std::mem::take(&mut rule.requirements)
            .into_iter()
            .zip(std::mem::take(&mut rule.sections));
        let purpose = std::mem::take(&mut rule.purpose);
        match merged.get_mut(&key) {
            None => {
                rule.destinations = destinations;
                merged.insert(
                    key,
                    Merging {
                        rule,
                        why: why.collect(),
                        purposes: BTreeSet::from([purpose]),
                    },
                );
            }
            Some(existing) => {
                existing.rule.sources.extend(rule.sources);
                existing.rule.workspaces.extend(rule.workspaces);
                existing.why.extend(why);
                existing.purposes.insert(purpose);
                // Only routes reach here with another id: they take the first requirement's.
                if rule.id < existing.rule.id {
                    existing.rule.id = rule.id;
                }
                existing.rule.concern = existing.rule.concern.min(rule.concern);
            }
        }
    }

    /// The merged rules, sorted, with unique ids.
    fn finish(self) -> Vec<PlannedRule> {
        let mut rules: Vec<PlannedRule> = self
            .merged
            .into_values()
            .map(|merging| {
                let mut rule = merging.rule;
                rule.sources.sort();
                rule.sources.dedup();
                rule.workspaces.sort();
                rule.workspaces.dedup();
                (rule.requirements, rule.sections) = merging.why.into_iter().unzip();
                // Not "; ", which purposes contain: a reader must see where one ends.
                rule.purpose = merging
                    .purposes
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(PURPOSE_SEPARATOR);
                rule
            })
            .collect();
        rules.sort_by(|a, b| {
            (a.kind, a.direction, &a.id, &a.destinations).cmp(&(
                b.kind,
                b.direction,
                &b.id,
                &b.destinations,
            ))
        });
        // Ids must be unique; equal ids (rare: one requirement realized twice the same way)
        // get a numeric suffix in sorted order, which is deterministic.
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for rule in &mut rules {
            let count = seen.entry(rule.id.clone()).or_insert(0);
            *count += 1;
            if *count > 1 {
                rule.id = format!("{}-{count}", rule.id);
            }
        }
        rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(yaml: &str) -> Plan {
        let catalog = Catalog::embedded();
        let scenario = crate::scenario::load(yaml, "s.yaml", &catalog).unwrap();
        plan(&scenario, &catalog).unwrap()
    }

    #[test]
    fn planning_holds_one_workspaces_drafts_at_a_time() {
        // Issue 15: every workspace's drafts, held until one merge at the end, were the
        // peak memory of `generate` at 1,000 workspaces (13.6 MB of 32).
        let scenario_of = |count: usize| {
            let mut yaml = String::from("version: 1\ncloud: public\nworkspaces:\n");
            for n in 0..count {
                yaml.push_str(&format!(
                    "  - name: mlw-{n:03}\n    region: eastus2\n    compute_subnets: [10.{}.{}.0/24]\n    compute: {{ instances: true, clusters: true }}\n    features: [python]\n",
                    n / 250,
                    n % 250
                ));
            }
            yaml
        };
        let held = |count: usize| {
            let yaml = scenario_of(count);
            held::most(|| plan_of(&yaml))
        };
        let one = held(1);
        assert!(one > 0);
        assert_eq!(held(50), one, "50 workspaces held more drafts than one");
    }

    fn rule<'p>(plan: &'p Plan, id: &str) -> &'p PlannedRule {
        plan.rules
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no rule {id} in\n{plan}"))
    }

    const HEAD: &str = "version: 1\ncloud: public\n";

    fn workspace(extra: &str) -> String {
        format!(
            "  - name: mlw\n    region: eastus2\n    storage_account: stml\n    compute_subnets: [10.0.1.0/24]\n{extra}"
        )
    }

    #[test]
    fn regional_tags_get_the_exact_casing() {
        let plan = plan_of(&format!("{HEAD}workspaces:\n{}", workspace("")));
        assert_eq!(
            rule(&plan, "storage-service-tag-eastus2").destinations,
            ["Storage.EastUS2"]
        );
        assert_eq!(rule(&plan, "aad-service-tag").ports, ["80", "443"]);
    }

    #[test]
    fn identical_rules_of_two_workspaces_merge_their_sources() {
        let second = "  - name: mlw2\n    region: eastus2\n    compute_subnets: [10.0.2.0/24]\n";
        let plan = plan_of(&format!("{HEAD}workspaces:\n{}{second}", workspace("")));
        let aad = rule(&plan, "aad-service-tag");
        assert_eq!(aad.sources, ["10.0.1.0/24", "10.0.2.0/24"]);
        assert_eq!(aad.workspaces, ["mlw", "mlw2"]);
    }

    const ARC_CLUSTER: &str = "    container_registry: crmltest01\n    workspace_id: 5f1c2b7e-3d4a-4c5b-9e6f-7a8b9c0d1e2f\n    compute:\n      kubernetes: { training: true, region: westeurope, subnets: [10.9.0.0/22], arc_features: [cluster-connect] }\n";

    #[test]
    fn kubernetes_rules_leave_from_the_node_subnets_and_name_the_cluster_region() {
        let plan = plan_of(&format!("{HEAD}workspaces:\n{}", workspace(ARC_CLUSTER)));
        let config = rule(&plan, "kubernetes-arc-config-host-westeurope");
        assert_eq!(config.sources, ["10.9.0.0/22"]);
        assert_eq!(
            config.destinations,
            ["westeurope.dp.kubernetesconfiguration.azure.com"]
        );
        assert_eq!(
            rule(&plan, "kubernetes-arc-management-host").sources,
            ["10.9.0.0/22"]
        );
        // The Azure Machine Learning hosts of the Kubernetes table stay the workspace's.
        let api = rule(&plan, "kubernetes-aml-api-hosts-mlw");
        assert_eq!(api.sources, ["10.9.0.0/22"]);
        assert!(
            api.destinations
                .contains(&"eastus2.api.azureml.ms".to_owned())
        );
        // Rules of other concerns keep the compute subnets.
        assert_eq!(rule(&plan, "aad-service-tag").sources, ["10.0.1.0/24"]);
        // TCP 8084 is no application rule port: a network rule with the FQDN.
        let obo = rule(&plan, "kubernetes-arc-obo-host-westeurope");
        assert_eq!(obo.kind, RuleKind::FirewallNetwork);
        assert_eq!(
            (obo.protocols.as_slice(), obo.ports.as_slice()),
            (&["TCP".to_owned()][..], &["8084".to_owned()][..])
        );
        assert_eq!(obo.destinations, ["westeurope.obo.arc.azure.com"]);
        assert!(
            !plan
                .warnings
                .iter()
                .any(|w| w.code == Code::KubernetesSubnetsDefaulted.as_str())
        );
        assert!(
            !plan.warnings.iter().any(
                |w| w.code == Code::ManualStep.as_str() && w.message.contains("kubernetes-arc")
            )
        );
    }

    #[test]
    fn kubernetes_without_node_subnets_uses_the_compute_subnets_and_says_so() {
        let plan = plan_of(&format!("{HEAD}workspaces:\n{}", workspace(KUBERNETES)));
        assert_eq!(
            rule(&plan, "kubernetes-arc-config-host-eastus2").sources,
            ["10.0.1.0/24"]
        );
        let warning = plan
            .warnings
            .iter()
            .find(|w| w.code == Code::KubernetesSubnetsDefaulted.as_str())
            .expect("a kubernetes-subnets-defaulted warning");
        assert!(warning.message.contains("`mlw`"), "{}", warning.message);
    }

    #[test]
    fn clusters_of_one_region_share_the_arc_rules_and_another_region_adds_its_own() {
        let cluster = |name: &str, region: &str, subnet: &str| {
            format!(
                "  - name: {name}\n    region: eastus2\n    storage_account: stml\n    container_registry: crmltest01\n    workspace_id: 5f1c2b7e-3d4a-4c5b-9e6f-7a8b9c0d1e2f\n    compute_subnets: [10.0.1.0/24]\n    compute: {{ kubernetes: {{ training: true, region: {region}, subnets: [{subnet}] }} }}\n"
            )
        };
        let plan = plan_of(&format!(
            "{HEAD}workspaces:\n{}{}{}",
            cluster("mlw1", "westeurope", "10.9.0.0/24"),
            cluster("mlw2", "westeurope", "10.9.1.0/24"),
            cluster("mlw3", "northeurope", "10.9.2.0/24"),
        ));
        assert_eq!(
            rule(&plan, "kubernetes-arc-config-host-westeurope").sources,
            ["10.9.0.0/24", "10.9.1.0/24"]
        );
        assert_eq!(
            rule(&plan, "kubernetes-arc-config-host-northeurope").sources,
            ["10.9.2.0/24"]
        );
        assert_eq!(
            rule(&plan, "kubernetes-arc-management-host").sources,
            ["10.9.0.0/24", "10.9.1.0/24", "10.9.2.0/24"]
        );
    }

    #[test]
    fn aks_clusters_get_the_cluster_extension_rules_and_no_arc_rule() {
        let aks = "    compute: { kubernetes: { training: true, connection: aks, region: westus3, subnets: [10.9.0.0/22] } }\n    container_registry: crmltest01\n    workspace_id: 5f1c2b7e-3d4a-4c5b-9e6f-7a8b9c0d1e2f\n";
        let plan = plan_of(&format!("{HEAD}workspaces:\n{}", workspace(aks)));
        let config = rule(&plan, "kubernetes-aks-extension-config-host-westus3");
        assert_eq!(
            config.destinations,
            ["westus3.dp.kubernetesconfiguration.azure.com"]
        );
        assert_eq!(config.sources, ["10.9.0.0/22"]);
        assert!(
            !plan
                .rules
                .iter()
                .any(|r| r.id.starts_with("kubernetes-arc-"))
        );
        assert!(
            !plan
                .warnings
                .iter()
                .any(|w| w.code == Code::ManualStep.as_str()
                    && w.message.contains("kubernetes-aks-extension"))
        );
    }

    #[test]
    fn url_paths_need_premium() {
        let features = "    features: [interactive-jobs]\n";
        let standard = plan_of(&format!("{HEAD}workspaces:\n{}", workspace(features)));
        assert_eq!(
            rule(&standard, "vscode-websocket-server").destinations,
            ["github.com"]
        );
        assert!(
            standard
                .warnings
                .iter()
                .any(|w| w.code == "url-path-on-standard")
        );
        let premium = plan_of(&format!(
            "{HEAD}firewall: {{ sku: premium }}\nworkspaces:\n{}",
            workspace(features)
        ));
        let websocket = rule(&premium, "vscode-websocket-server");
        assert!(websocket.terminate_tls);
        assert_eq!(websocket.destination_type, DestinationType::Urls);
    }

    #[test]
    fn wildcard_hosts_on_other_ports_use_the_covering_tag() {
        let text = format!(
            "{HEAD}firewall: {{ destinations: hosts }}\nworkspaces:\n{}",
            workspace("    container_registry: crmltest01\n    compute: { instances: true }\n")
        );
        let plan = plan_of(&text);
        let ports = rule(&plan, "compute-instance-ports-hosts");
        assert_eq!(
            (ports.kind, ports.destinations.as_slice()),
            (
                RuleKind::FirewallNetwork,
                ["AzureMachineLearning".to_owned()].as_slice()
            )
        );
        let tundra = rule(&plan, "tundra-host-eastus2");
        assert_eq!(tundra.destinations, ["eastus2.tundra.azureml.ms"]);
        assert_eq!(tundra.destination_type, DestinationType::Fqdns);
        assert!(plan.warnings.iter().any(|w| w.code == "dns-proxy-required"));
    }

    #[test]
    fn missing_storage_account_is_an_error_at_the_workspace() {
        let catalog = Catalog::embedded();
        let text = format!(
            "{HEAD}firewall: {{ destinations: hosts }}\nworkspaces:\n  - name: mlw\n    region: eastus2\n    container_registry: {{ name: crmltest01, access: private-endpoint }}\n    compute_subnets: [10.0.1.0/24]\n    compute: {{ clusters: true }}\n"
        );
        let scenario = crate::scenario::load(&text, "s.yaml", &catalog).unwrap();
        let errors = plan(&scenario, &catalog).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].code, Code::MissingPlaceholderValue);
        assert!(
            errors[0].message.contains("storage-blob-host"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn china_skips_front_door_and_warns_about_first_party() {
        let text = "version: 1\ncloud: china\nworkspaces:\n  - name: mlw\n    region: chinaeast2\n    compute_subnets: [10.0.1.0/24]\n";
        let plan = plan_of(text);
        assert!(plan.rules.iter().all(|r| {
            !r.destinations
                .iter()
                .any(|d| d.starts_with("AzureFrontDoor"))
        }));
        assert!(
            plan.skipped
                .iter()
                .any(|s| s.requirement == "front-door-frontend-service-tag")
        );
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.code == "not-available-in-cloud"
                    && w.message.contains("front-door-first-party"))
        );
    }

    #[test]
    fn azure_monitor_is_planned_unless_the_workspace_says_it_is_secured() {
        let public = plan_of(&format!("{HEAD}workspaces:\n{}", workspace("")));
        assert_eq!(
            rule(&public, "azure-monitor-service-tag").destinations,
            ["AzureMonitor"]
        );
        let secured = plan_of(&format!(
            "{HEAD}workspaces:\n{}",
            workspace("    azure_monitor: secured\n")
        ));
        assert!(
            secured
                .rules
                .iter()
                .all(|r| r.concern != Concern::Monitoring),
            "{secured}"
        );
        let hosts = plan_of(&format!(
            "{HEAD}firewall: {{ destinations: hosts }}\nworkspaces:\n{}",
            workspace("")
        ));
        assert!(
            hosts.rules.iter().any(|r| r.concern == Concern::Monitoring
                && r.destinations
                    .contains(&"dc.applicationinsights.azure.com".to_owned())),
            "{hosts}"
        );
    }

    #[test]
    fn the_default_pip_index_gets_its_file_host_and_a_custom_index_the_wildcard() {
        let default_index = plan_of(&format!(
            "{HEAD}workspaces:\n{}",
            workspace("    features: [python]\n")
        ));
        assert_eq!(
            rule(&default_index, "pythonhosted-files-host").destinations,
            ["files.pythonhosted.org"]
        );
        let custom = plan_of(&format!(
            "{HEAD}workspaces:\n{}",
            workspace("    features: [python, python-custom-index]\n")
        ));
        assert!(
            custom
                .rules
                .iter()
                .all(|r| r.id != "pythonhosted-files-host")
        );
        assert_eq!(
            rule(&custom, "pythonhosted-hosts").destinations,
            ["*.pythonhosted.org"]
        );
    }

    #[test]
    fn the_registry_gets_a_rule_through_the_firewall_and_none_through_a_private_endpoint() {
        let through_firewall = plan_of(&format!(
            "{HEAD}workspaces:\n{}",
            workspace("    compute: { clusters: true }\n")
        ));
        assert_eq!(
            rule(&through_firewall, "acr-service-tag-eastus2").destinations,
            ["AzureContainerRegistry.EastUS2"]
        );
        let hosts = plan_of(&format!(
            "{HEAD}firewall: {{ destinations: hosts }}\nworkspaces:\n{}",
            workspace("    container_registry: crmltest01\n    compute: { clusters: true }\n")
        ));
        assert_eq!(
            rule(&hosts, "acr-hosts-mlw").destinations,
            [
                "crmltest01.azurecr.io",
                "crmltest01.eastus2.data.azurecr.io"
            ]
        );
        let private = plan_of(&format!(
            "{HEAD}workspaces:\n{}",
            workspace(
                "    container_registry: { name: crmltest01, access: private-endpoint }\n    compute: { clusters: true }\n"
            )
        ));
        assert!(
            private.rules.iter().all(|r| !r.id.starts_with("acr-")),
            "{private}"
        );
        assert!(
            private
                .warnings
                .iter()
                .all(|w| !w.message.contains("container-registry-access")),
            "{:?}",
            private.warnings
        );
    }

    #[test]
    fn adding_a_feature_adds_rules_and_changes_no_other() {
        let base = plan_of(&format!("{HEAD}workspaces:\n{}", workspace("")));
        let more = plan_of(&format!(
            "{HEAD}workspaces:\n{}",
            workspace("    features: [python]\n")
        ));
        let added: Vec<&PlannedRule> = more
            .rules
            .iter()
            .filter(|r| !base.rules.contains(r))
            .collect();
        assert!(base.rules.iter().all(|r| more.rules.contains(r)));
        assert!(
            added.iter().all(|r| r.concern == Concern::Packages),
            "{added:?}"
        );
        assert_eq!(
            added.len(),
            4,
            "pypi, files.pythonhosted.org, two anaconda rules"
        );
    }

    /// A workspace's Kubernetes training compute, with the values its hosts need.
    const KUBERNETES: &str = "    container_registry: crmltest01\n    workspace_id: 5f1c2b7e-3d4a-4c5b-9e6f-7a8b9c0d1e2f\n    compute: { kubernetes: { training: true } }\n";

    /// The catalog purpose of `id` in the latest revision.
    fn purpose_of(id: &str) -> String {
        let catalog = Catalog::embedded();
        let revision = catalog.resolve_revision("latest").unwrap().to_owned();
        catalog
            .requirements_of(&revision)
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no requirement {id}"))
            .purpose
            .clone()
    }

    fn three_workspaces(extra: [&str; 3]) -> String {
        let mut text = format!("{HEAD}workspaces:\n");
        for (index, extra) in extra.iter().enumerate() {
            text.push_str(&format!(
                "  - name: mlw{index}\n    region: eastus2\n    compute_subnets: [10.0.{index}.0/24]\n{extra}"
            ));
        }
        text
    }

    #[test]
    fn a_rule_merged_from_three_workspaces_states_its_purpose_once() {
        let plan = plan_of(&three_workspaces(["", "", ""]));
        // Both purposes contain "; " themselves, which once made every merge append them again.
        for id in ["mcr-service-tag", "front-door-frontend-service-tag"] {
            let merged = rule(&plan, id);
            assert_eq!(merged.workspaces, ["mlw0", "mlw1", "mlw2"]);
            assert_eq!(merged.purpose, purpose_of(id), "{id}");
            assert_eq!(merged.requirements, [id]);
        }
    }

    #[test]
    fn merged_user_reasons_are_listed_once_each_in_sorted_order() {
        let extra = |reason: &str| {
            format!(
                "    extra_fqdns:\n      - {{ fqdn: git.example.com, ports: [443], reason: \"{reason}\" }}\n"
            )
        };
        let plan = plan_of(&three_workspaces([
            &extra("mirror; pinned"),
            &extra("clone code"),
            &extra("mirror; pinned"),
        ]));
        let merged = rule(&plan, "extra-git-example-com");
        assert_eq!(merged.workspaces, ["mlw0", "mlw1", "mlw2"]);
        assert_eq!(merged.purpose, "clone code | mirror; pinned");
    }

    #[test]
    fn a_requirement_keeps_its_rule_when_another_allows_the_same_traffic() {
        // Under the latest revision pypi-host and kubernetes-pypi-host both allow
        // Https:443 to pypi.org; each stays its own rule, named and grouped by itself.
        let plan = plan_of(&format!(
            "{HEAD}workspaces:\n{}",
            workspace(&format!("    features: [python]\n{KUBERNETES}"))
        ));
        let pypi = rule(&plan, "pypi-host");
        assert_eq!(
            (pypi.concern, pypi.requirements.as_slice()),
            (Concern::Packages, ["pypi-host".to_owned()].as_slice())
        );
        let kubernetes = rule(&plan, "kubernetes-pypi-host");
        assert_eq!(
            (kubernetes.concern, kubernetes.requirements.as_slice()),
            (
                Concern::Kubernetes,
                ["kubernetes-pypi-host".to_owned()].as_slice()
            )
        );
        assert_eq!(kubernetes.purpose, purpose_of("kubernetes-pypi-host"));
    }

    #[test]
    fn a_user_rule_stays_in_the_extra_collection() {
        let plan = plan_of(&format!(
            "{HEAD}workspaces:\n{}",
            workspace(
                "    features: [interactive-jobs]\n    extra_fqdns:\n      - { fqdn: github.com, ports: [443], reason: clone training code }\n"
            )
        ));
        let user = rule(&plan, "extra-github-com");
        assert_eq!(user.concern, Concern::Extra);
        assert_eq!(user.requirements, [EXTRA_FQDNS_REQUIREMENT]);
        assert_eq!(user.purpose, "clone training code");
        let vscode = rule(&plan, "vscode-websocket-server");
        assert_eq!(vscode.concern, Concern::Vscode);
        assert_eq!(vscode.destinations, ["github.com"]);
    }

    #[test]
    fn turning_a_feature_on_renames_and_regroups_no_rule() {
        let both = format!("    features: [python]\n{KUBERNETES}");
        let pairs = [
            ("    features: [python]\n", both.as_str()),
            (KUBERNETES, both.as_str()),
            (
                "    extra_fqdns:\n      - { fqdn: github.com, ports: [443], reason: code }\n",
                "    features: [interactive-jobs]\n    extra_fqdns:\n      - { fqdn: github.com, ports: [443], reason: code }\n",
            ),
            (
                "    features: [interactive-jobs]\n",
                "    features: [interactive-jobs]\n    extra_fqdns:\n      - { fqdn: github.com, ports: [443], reason: code }\n",
            ),
        ];
        for (before, after) in pairs {
            let base = plan_of(&format!("{HEAD}workspaces:\n{}", workspace(before)));
            let more = plan_of(&format!("{HEAD}workspaces:\n{}", workspace(after)));
            let lost: Vec<&str> = base
                .rules
                .iter()
                .filter(|r| !more.rules.contains(r))
                .map(|r| r.id.as_str())
                .collect();
            assert!(lost.is_empty(), "{before:?} -> {after:?} changed {lost:?}");
        }
    }

    #[test]
    fn two_requirements_routing_one_prefix_share_one_route() {
        // Azure refuses two routes with one prefix in a route table (RouteConflict), so
        // routes still merge across requirements.
        let extra = r#"
- id: zz-route-a
  revisions: ["2026-03"]
  concern: routing
  purpose: First reason.
  section: "Test"
  quote: "test"
  when: always
  direction: outbound
  route: firewall
  destinations: { all: ["10.99.0.0/16"] }
- id: zz-route-b
  revisions: ["2026-03"]
  concern: routing
  purpose: Second reason.
  section: "Test"
  quote: "test"
  when: always
  direction: outbound
  route: firewall
  destinations: { all: ["10.99.0.0/16"] }
"#;
        let mut files: Vec<(String, String)> = crate::catalog::EMBEDDED_FILES
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        files.push(("requirements/zz-test.yaml".to_owned(), extra.to_owned()));
        let catalog = Catalog::load(&files, "catalog").unwrap();
        let text = format!(
            "{HEAD}workspaces:\n{}outputs:\n  route_table: {{ firewall_private_ip: 10.0.0.4 }}\n",
            workspace("")
        );
        let scenario = crate::scenario::load(&text, "s.yaml", &catalog).unwrap();
        let plan = plan(&scenario, &catalog).unwrap();
        let routes: Vec<&PlannedRule> = plan
            .rules
            .iter()
            .filter(|r| r.destinations == ["10.99.0.0/16"])
            .collect();
        assert_eq!(routes.len(), 1, "{routes:?}");
        assert_eq!(routes[0].requirements, ["zz-route-a", "zz-route-b"]);
        assert_eq!(routes[0].purpose, "First reason. | Second reason.");
    }

    #[test]
    fn sanitize_makes_kebab_case() {
        assert_eq!(sanitize("My_Workspace.01"), "my-workspace-01");
        assert_eq!(sanitize("*.github.com"), "github-com");
    }
}
