//! Addresses instead of service tags: routes to prefixes (`route_table.mode:
//! ip-addresses`) and IP groups (`firewall.destinations: ip-addresses`), from a service tag
//! file. A step of the planner, pure like it: it rewrites the merged rules.
//!
//! The article: "For the Azure Machine Learning service, you must add the IP address of
//! both the primary and secondary regions", so an `AzureMachineLearning` route becomes the
//! prefixes of `AzureMachineLearning.<Region>` and of the paired region's tag; other tags
//! expand as they are. A regional tag missing from the file stops the plan, unless the
//! caller allows the global tag instead.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Catalog, Cloud};
use crate::diagnostic::{Code, Diagnostic, Location};
use crate::plan::{DestinationType, IpGroup, Plan, RuleKind, Warning};
use crate::scenario::Scenario;
use crate::service_tags::{Prefixes, ServiceTagError, ServiceTagFile};

/// The most routes a route table may hold.
pub const ROUTE_LIMIT: usize = 400;
/// The most addresses or prefixes one IP group may hold.
pub const IP_GROUP_LIMIT: usize = 5000;
/// The most IP groups one firewall may use (the conservative, older limit).
pub const IP_GROUPS_PER_FIREWALL: usize = 200;

/// How to resolve service tags to addresses.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddressOptions<'a> {
    /// Microsoft's service tag file, when the user gave one.
    pub service_tags: Option<&'a ServiceTagFile<'a>>,
    /// Use the global tag where a regional tag is missing (with a warning) instead of
    /// stopping.
    pub allow_global_tags: bool,
}

pub(super) fn apply(
    plan: &mut Plan,
    scenario: &Scenario,
    catalog: &Catalog,
    options: AddressOptions<'_>,
    fallbacks: &BTreeSet<String>,
) -> Result<(), Vec<Diagnostic>> {
    let by_routes = scenario
        .outputs
        .route_table
        .as_ref()
        .is_some_and(|table| table.ip_addresses);
    let by_groups = scenario.firewall.ip_groups;
    let location = |path: &str| Location {
        file: scenario.file.clone(),
        path: path.to_owned(),
        position: None,
    };
    if let Some(file) = options.service_tags {
        if file.cloud != scenario.cloud {
            return Err(vec![
                Diagnostic::error(
                    Code::ServiceTagsCloudMismatch,
                    format!("`{}` is the service tag file of the {} cloud, the scenario is {}", file.file, file.cloud, scenario.cloud),
                )
                .at(location("cloud"))
                .help("download the file of the scenario's cloud (public 56519, Government 57063, China 57062)"),
            ]);
        }
        plan.service_tag_data = Some(file.source());
        plan.address_source = Some(file.source());
    }
    let mut expander = options.service_tags.map(|file| Expander {
        file,
        allow_global: options.allow_global_tags,
        errors: Vec::new(),
        warnings: BTreeSet::new(),
        scenario_file: scenario.file.clone(),
        expanded: BTreeMap::new(),
    });
    if let Some(expander) = &mut expander {
        record_tag_addresses(plan, expander);
    }
    if !by_routes && !by_groups {
        return Ok(());
    }
    let Some(mut expander) = expander else {
        let path = if by_routes {
            "outputs.route_table.mode"
        } else {
            "firewall.destinations"
        };
        return Err(vec![
            Diagnostic::error(Code::ServiceTagsRequired, "`ip-addresses` needs the addresses of the service tags")
                .at(location(path))
                .help("pass Microsoft's service tag file: --service-tags ServiceTags_Public_<date>.json (download id 56519)"),
        ]);
    };
    if !options.allow_global_tags {
        for tag in fallbacks {
            expander.errors.push(expander.missing(tag));
        }
    }
    if by_routes {
        expand_routes(plan, catalog, scenario.cloud, &mut expander);
    }
    if by_groups {
        expand_groups(plan, &mut expander);
    }
    plan.warnings.extend(expander.warnings);
    plan.warnings.sort();
    plan.warnings.dedup();
    plan.rules
        .sort_by(|a, b| (a.kind, a.direction, &a.id).cmp(&(b.kind, b.direction, &b.id)));
    if expander.errors.is_empty() {
        Ok(())
    } else {
        Err(expander.errors)
    }
}

/// The addresses of every service tag the rules name (destinations and NSG sources), as the
/// file has them; tags the file lacks are left out (allow lists then show the tag).
fn record_tag_addresses(plan: &mut Plan, expander: &mut Expander<'_>) {
    let mut tags: BTreeSet<String> = BTreeSet::new();
    for rule in &plan.rules {
        if rule.destination_type == DestinationType::ServiceTags {
            tags.extend(rule.destinations.iter().cloned());
        }
        if rule.kind == RuleKind::Nsg && rule.direction == crate::catalog::Direction::Inbound {
            tags.extend(rule.sources.iter().cloned());
        }
    }
    for tag in tags {
        if let Some(Ok(prefixes)) = expander.expanded(&tag) {
            plan.tag_addresses.insert(tag, prefixes);
        }
    }
}

struct Expander<'f> {
    file: &'f ServiceTagFile<'f>,
    allow_global: bool,
    errors: Vec<Diagnostic>,
    warnings: BTreeSet<Warning>,
    scenario_file: String,
    /// Each tag's prefixes as the file has them, by name as asked: a tag is parsed and
    /// aggregated once, however many steps and rules use it.
    expanded: BTreeMap<String, Option<Result<Prefixes, ServiceTagError>>>,
}

impl Expander<'_> {
    /// `ServiceTagFile::expand`, once per tag.
    fn expanded(&mut self, tag: &str) -> Option<Result<Prefixes, ServiceTagError>> {
        if let Some(found) = self.expanded.get(tag) {
            return found.clone();
        }
        let found = self.file.expand(tag);
        self.expanded.insert(tag.to_owned(), found.clone());
        found
    }

    fn missing(&self, tag: &str) -> Diagnostic {
        Diagnostic::error(
            Code::MissingRegionalTag,
            format!("the service tag file `{}` has no `{tag}`, so its addresses are unknown", self.file.file),
        )
        .at(Location {
            file: self.scenario_file.clone(),
            path: "workspaces".to_owned(),
            position: None,
        })
        .help("use a newer service tag file, or pass --allow-global-tags to use the global tag's addresses (every region)")
    }

    /// The aggregated prefixes of `tag`; on a missing regional tag, the global tag's (when
    /// allowed) or an error.
    fn expand(&mut self, tag: &str) -> Option<Prefixes> {
        match self.expanded(tag) {
            Some(Ok(prefixes)) => Some(prefixes),
            Some(Err(error)) => {
                self.errors.push(Diagnostic::error(
                    Code::InvalidServiceTags,
                    format!(
                        "the service tag file `{}` is not usable: {error:?}",
                        self.file.file
                    ),
                ));
                None
            }
            None => match tag.rsplit_once('.') {
                Some((base, _)) if self.allow_global && self.file.contains(base) => {
                    self.warnings.insert(Warning::new(
                        Code::NoRegionalTag,
                        format!("`{tag}` is not in `{}`; the addresses of the global `{base}` tag are used, which cover every region", self.file.file),
                    ));
                    self.expand(base)
                }
                _ => {
                    let error = self.missing(tag);
                    self.errors.push(error);
                    None
                }
            },
        }
    }
}

fn expand_routes(plan: &mut Plan, catalog: &Catalog, cloud: Cloud, expander: &mut Expander<'_>) {
    let mut rules = Vec::with_capacity(plan.rules.len());
    for rule in std::mem::take(&mut plan.rules) {
        if rule.kind != RuleKind::Route || rule.destination_type != DestinationType::ServiceTags {
            rules.push(rule);
            continue;
        }
        let tag = rule.destinations.first().cloned().unwrap_or_default();
        let region = rule
            .region
            .as_deref()
            .and_then(|name| catalog.region(cloud, name));
        let tags: Vec<String> = if tag == "AzureMachineLearning" {
            // The primary and the paired (secondary) region, as the article's IP tab asks.
            let pair = region
                .and_then(|r| r.pair.as_deref())
                .and_then(|name| catalog.region(cloud, name));
            [region, pair]
                .into_iter()
                .flatten()
                .map(|r| match &r.tag_suffix {
                    Some(suffix) => format!("{tag}.{suffix}"),
                    None => format!("{tag}.{}", r.name),
                })
                .collect()
        } else {
            vec![tag]
        };
        let mut prefixes = Prefixes::default();
        for name in &tags {
            if let Some(found) = expander.expand(name) {
                prefixes.merge(&found);
            }
        }
        for prefix in prefixes.all() {
            let prefix = prefix.to_string();
            let mut route = rule.clone();
            route.id = route_id(&rule.id, &prefix);
            route.destinations = vec![prefix];
            route.destination_type = DestinationType::Addresses;
            route.expanded_from.clone_from(&tags);
            rules.push(route);
        }
    }
    plan.rules = rules;
    let mut per_region: BTreeMap<String, usize> = BTreeMap::new();
    for rule in plan.rules.iter().filter(|r| r.kind == RuleKind::Route) {
        *per_region
            .entry(rule.region.clone().unwrap_or_default())
            .or_default() += 1;
    }
    for (region, count) in per_region {
        if count > ROUTE_LIMIT {
            expander.errors.push(
                Diagnostic::error(
                    Code::RouteLimitExceeded,
                    format!("the route table of `{region}` would hold {count} routes; a route table holds at most {ROUTE_LIMIT}"),
                )
                .help("use `mode: service-tags` for the route table: a service tag route replaces all these prefixes"),
            );
        }
    }
}

/// `route-x-eastus2` + `20.36.0.0/16` -> `route-x-eastus2-20-36-0-0-16`, at most 80
/// characters (Azure's limit), so a prefix keeps its route name across regenerations.
fn route_id(base: &str, prefix: &str) -> String {
    let suffix: String = prefix
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let id = format!("{base}-{suffix}");
    if id.len() <= 80 {
        return id;
    }
    // Long IPv6 prefixes: a stable hash of the prefix instead of its text.
    let hash = prefix.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let keep = 80 - 17;
    format!("{}-{hash:016x}", &base[..base.len().min(keep)])
}

fn expand_groups(plan: &mut Plan, expander: &mut Expander<'_>) {
    let mut groups: BTreeMap<String, IpGroup> = BTreeMap::new();
    for rule in plan.rules.iter_mut() {
        if rule.kind != RuleKind::FirewallNetwork
            || rule.destination_type != DestinationType::ServiceTags
        {
            continue;
        }
        let mut names = Vec::new();
        for tag in &rule.destinations {
            if !groups.contains_key(tag) {
                let Some(prefixes) = expander.expand(tag) else {
                    continue;
                };
                if !prefixes.v6.is_empty() {
                    expander.warnings.insert(Warning::new(
                        Code::Ipv6LeftOut,
                        "IP groups hold the IPv4 prefixes of the service tags only: Azure Firewall filters IPv4 traffic".to_owned(),
                    ));
                }
                if prefixes.v4.len() > IP_GROUP_LIMIT {
                    expander.errors.push(
                        Diagnostic::error(
                            Code::IpGroupLimitExceeded,
                            format!("`{tag}` has {} IPv4 prefixes; an IP group holds at most {IP_GROUP_LIMIT}", prefixes.v4.len()),
                        )
                        .help("use `firewall.destinations: service-tags` for this scenario"),
                    );
                    continue;
                }
                groups.insert(
                    tag.clone(),
                    IpGroup {
                        name: group_name(tag),
                        service_tag: tag.clone(),
                        prefixes: prefixes.v4,
                    },
                );
            }
            names.push(groups[tag].name.clone());
        }
        rule.expanded_from = rule.destinations.clone();
        rule.destinations = names;
        rule.destination_type = DestinationType::IpGroups;
    }
    if groups.len() > IP_GROUPS_PER_FIREWALL {
        expander.errors.push(Diagnostic::error(
            Code::IpGroupLimitExceeded,
            format!(
                "the plan needs {} IP groups; a firewall uses at most {IP_GROUPS_PER_FIREWALL}",
                groups.len()
            ),
        ));
    }
    let mut groups: Vec<IpGroup> = groups.into_values().collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    plan.ip_groups = groups;
}

/// `Storage.EastUS2` -> `ipg-storage-eastus2`.
fn group_name(tag: &str) -> String {
    let name: String = tag
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("ipg-{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_ids_keep_the_prefix_and_fit_azure() {
        assert_eq!(
            route_id("route-aml-eastus2", "20.36.0.0/16"),
            "route-aml-eastus2-20-36-0-0-16"
        );
        let long = route_id(
            "route-batch-node-management-southafricanorth",
            "2603:1000:4:0:1:2:3:4/128",
        );
        assert!(long.len() <= 80, "{long}");
        assert_eq!(
            long,
            route_id(
                "route-batch-node-management-southafricanorth",
                "2603:1000:4:0:1:2:3:4/128"
            )
        );
        assert_eq!(
            group_name("AzureFrontDoor.Frontend"),
            "ipg-azurefrontdoor-frontend"
        );
    }
}
