//! Stage 4: the plan, every rule amlfw will write, and why.
//!
//! A [`Plan`] is what the planner produces and what renderers consume. Its `Display` is
//! the `amlfw plan` text (also the golden `plan.txt`); its `Serialize` is the JSON
//! contract of `amlfw plan --format json`. Rules are sorted by kind, direction and id,
//! so adding a rule inserts one line and moves nothing else.

use std::fmt;

use ipnet::Ipv4Net;
use serde::{Serialize, Serializer};

use crate::catalog::{Cloud, Concern, Direction, NSG_SLOT_WIDTH, NsgBand, TagSource};
use crate::diagnostic::Code;
use crate::scenario::{Layout, Sku};
use crate::service_tags::Prefixes;

/// The rules for one scenario.
#[derive(Debug, Clone, Serialize, Hash)]
pub struct Plan {
    /// The catalog revision used.
    pub catalog: String,
    /// The revision as the scenario wrote it (`latest` or an id).
    pub catalog_requested: String,
    /// The cloud.
    pub cloud: Cloud,
    /// The scenario file name.
    pub scenario: String,
    /// Firewall settings that shape the rules.
    pub firewall: PlanFirewall,
    /// The service tag file the tag checks used.
    pub service_tag_data: Option<TagSource>,
    /// The service tag file the user gave (`--service-tags`), when there was one: the
    /// source of every address the plan holds instead of a tag.
    pub address_source: Option<TagSource>,
    /// The workspaces, in scenario order: where the rules' sources come from.
    pub workspaces: Vec<PlanWorkspace>,
    /// Which resources besides the firewall rules the scenario asks for.
    pub outputs: PlanOutputs,
    /// The rules, sorted.
    pub rules: Vec<PlannedRule>,
    /// Requirements that apply but produce no rule, and why.
    pub skipped: Vec<Skipped>,
    /// What the user must know.
    pub warnings: Vec<Warning>,
    /// IP groups (`firewall.destinations: ip-addresses`): a service tag's IPv4 prefixes each.
    pub ip_groups: Vec<IpGroup>,
    /// With a service tag file: the aggregated prefixes (IPv4, then IPv6) of every service
    /// tag the rules name, for allow lists of firewalls without service tags.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tag_addresses: std::collections::BTreeMap<String, Prefixes>,
    /// Where the managed-network rules come from (the managed-network article's source
    /// id), when the scenario has a workspace with `managed_network`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_catalog: Option<String>,
    /// The workspaces with a managed virtual network, in scenario order; `workspaces`
    /// holds only the hub firewall's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_workspaces: Vec<ManagedWorkspace>,
    /// Their outbound rules: what Azure creates (`automatic`, never written) and the
    /// user-defined rules the managed modules write, sorted by workspace, kind and name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub managed_rules: Vec<ManagedRule>,
    /// The catalog's NSG slots in the plan's cloud, by requirement id: what the renderers
    /// derive every NSG rule's priority from. Not part of the JSON contract.
    #[serde(skip)]
    pub nsg_slots: std::collections::BTreeMap<String, crate::catalog::NsgSlot>,
}

/// An IP group holding one service tag's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Hash)]
pub struct IpGroup {
    /// Group name (`ipg-storage-eastus2`).
    pub name: String,
    /// The service tag whose addresses it holds.
    pub service_tag: String,
    /// Aggregated IPv4 prefixes (Azure Firewall filters IPv4 only), sorted; the JSON shows
    /// them as text.
    #[serde(serialize_with = "as_texts")]
    pub prefixes: Vec<Ipv4Net>,
}

/// Firewall settings recorded in the plan.
#[derive(Debug, Clone, Serialize, Hash)]
pub struct PlanFirewall {
    /// Standard or Premium.
    pub sku: Sku,
    /// `service-tags` or `hosts`.
    pub destinations: String,
    /// Rule collection group name.
    pub rule_collection_group: String,
    /// Rule collection group priority.
    pub priority: u32,
}

/// A workspace as the renderers need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Hash)]
pub struct PlanWorkspace {
    /// Workspace name.
    pub name: String,
    /// Region (programmatic name).
    pub region: String,
    /// Compute subnet address prefixes.
    pub compute_subnets: Vec<String>,
    /// Compute subnet resource IDs.
    pub compute_subnet_ids: Vec<String>,
}

/// The outputs the scenario asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Hash)]
pub struct PlanOutputs {
    /// `combined` (one module per target) or `split` (hub and spoke modules).
    pub layout: Layout,
    /// Network security groups for the compute subnets.
    pub nsg: bool,
    /// The NSG rules join existing NSGs (one per region) instead of NSGs amlfw creates.
    pub nsg_existing: bool,
    /// The NSG priorities amlfw's rules take, in each direction.
    pub nsg_priorities: NsgPriorities,
    /// Route tables for the compute subnets.
    pub route_table: bool,
    /// The routes join existing route tables (one per region).
    pub route_table_existing: bool,
    /// The firewall's private IP, when route tables are planned.
    pub firewall_private_ip: Option<String>,
}

/// A band of NSG priorities, as the plan's JSON shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Hash)]
pub struct NsgPriorities {
    /// Lowest priority.
    pub first: u32,
    /// Highest priority.
    pub last: u32,
}

impl From<NsgBand> for NsgPriorities {
    fn from(band: NsgBand) -> NsgPriorities {
        NsgPriorities {
            first: band.first,
            last: band.last,
        }
    }
}

impl NsgPriorities {
    /// The band.
    #[must_use]
    pub fn band(self) -> NsgBand {
        NsgBand {
            first: self.first,
            last: self.last,
        }
    }
}

/// Where an NSG rule's priority comes from, when it has one: its requirement's slot and
/// the position of its (source, destination) pair in that requirement's entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NsgPosition {
    /// The requirement whose slot the rule takes.
    pub requirement: String,
    /// The slot.
    pub slot: u32,
    /// The sub-slot.
    pub sub_slot: u32,
}

impl NsgPosition {
    /// How many priorities from the band's start the rule needs: its offset plus one.
    #[must_use]
    pub fn needs(&self) -> u32 {
        self.slot * NSG_SLOT_WIDTH + self.sub_slot + 1
    }
}

impl Plan {
    /// The slot and sub-slot of an NSG rule: the catalog's `nsg_slot` of the rule's
    /// requirement (of a merged rule, the smallest slot among its requirements) and the
    /// position, in that requirement's catalog entry, of the (source, destination) pair
    /// the rule carries. Neither depends on other rules, workspaces, regions (each region
    /// has its own NSG), revisions or the band. `Err` names a broken invariant (an amlfw
    /// bug: the catalog loader guarantees slots and pairs).
    pub fn nsg_position(&self, rule: &PlannedRule) -> Result<NsgPosition, String> {
        let (slot, id) = rule
            .requirements
            .iter()
            .filter_map(|id| self.nsg_slots.get(id).map(|slot| (slot, id)))
            .min_by_key(|(slot, id)| (slot.slot, *id))
            .ok_or_else(|| format!("NSG rule `{}` has no requirement with an NSG slot", rule.id))?;
        let source = match rule.direction {
            Direction::Inbound => rule.sources.first().map(String::as_str),
            Direction::Outbound => None,
        };
        let destination = rule.destinations.first().map_or("", String::as_str);
        let sub_slot = slot.sub_slot(source, destination).ok_or_else(|| {
            format!(
                "NSG rule `{}` carries a pair that requirement `{id}` does not list",
                rule.id
            )
        })?;
        Ok(NsgPosition {
            requirement: id.clone(),
            slot: slot.slot,
            sub_slot,
        })
    }

    /// The priority of an NSG rule in the plan's band: `first + 10 * slot + sub-slot`
    /// ([`Plan::nsg_position`]). `Err` when the band does not hold it (the planner
    /// refuses such plans) or an invariant is broken.
    pub fn nsg_priority(&self, rule: &PlannedRule) -> Result<u32, String> {
        let position = self.nsg_position(rule)?;
        let band = self.outputs.nsg_priorities.band();
        band.priority(position.slot, position.sub_slot)
            .ok_or_else(|| {
                format!(
                    "NSG rule `{}` (slot {}, sub-slot {}) is outside the band {}-{}",
                    rule.id, position.slot, position.sub_slot, band.first, band.last
                )
            })
    }

    /// The regions of the workspaces, sorted and unique.
    #[must_use]
    pub fn regions(&self) -> Vec<String> {
        let mut regions: Vec<String> = self.workspaces.iter().map(|w| w.region.clone()).collect();
        regions.sort();
        regions.dedup();
        regions
    }
}

/// What kind of Azure object a rule becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// An Azure Firewall network rule.
    FirewallNetwork,
    /// An Azure Firewall application rule.
    FirewallApplication,
    /// A network security group rule on the compute subnets.
    Nsg,
    /// A route in the compute subnets' route table.
    Route,
}

impl RuleKind {
    /// Kebab-case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::FirewallNetwork => "firewall-network",
            RuleKind::FirewallApplication => "firewall-application",
            RuleKind::Nsg => "nsg",
            RuleKind::Route => "route",
        }
    }
}

/// What a rule's destinations are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DestinationType {
    /// Service tags.
    ServiceTags,
    /// Host names (FQDNs).
    Fqdns,
    /// URLs with a path (Premium, TLS inspection).
    Urls,
    /// Address prefixes.
    Addresses,
    /// IP groups (their names).
    IpGroups,
}

/// One rule to write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Hash)]
pub struct PlannedRule {
    /// Unique, stable id, derived from the requirement id.
    pub id: String,
    /// Firewall network or application rule, NSG rule or route.
    pub kind: RuleKind,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The area it belongs to (renderers group by it).
    pub concern: Concern,
    /// `TCP`, `UDP`, `Any` for network and NSG rules; `Http`, `Https` for application rules.
    pub protocols: Vec<String>,
    /// Destination ports (`443`, `29876-29877`).
    pub ports: Vec<String>,
    /// Application rules: protocol and port pairs (`Https:443`).
    pub application_protocols: Vec<String>,
    /// Sources: compute subnet CIDRs, or service tags for inbound NSG rules.
    pub sources: Vec<String>,
    /// Destinations: service tags, FQDNs, URLs or prefixes.
    pub destinations: Vec<String>,
    /// What the destinations are.
    pub destination_type: DestinationType,
    /// Application rules with URLs: TLS inspection is needed.
    pub terminate_tls: bool,
    /// Routes: `Internet` or `VirtualAppliance`.
    pub next_hop: Option<String>,
    /// Routes to the firewall: its private IP.
    pub next_hop_ip: Option<String>,
    /// NSG rules and routes: the region of the subnets they attach to.
    pub region: Option<String>,
    /// NSG rules and routes: that region's pair (the article's "secondary region").
    pub paired_region: Option<String>,
    /// The catalog requirements behind the rule.
    pub requirements: Vec<String>,
    /// The article sections behind the rule, one per requirement.
    pub sections: Vec<String>,
    /// What the traffic is for.
    pub purpose: String,
    /// The workspaces that need it.
    pub workspaces: Vec<String>,
    /// The service tags whose address prefixes the rule carries instead of the tags.
    pub expanded_from: Vec<String>,
    /// Hosts the article names that this rule's service tag carries (wildcard hosts on
    /// ports an application rule cannot take).
    pub covered_hosts: Vec<String>,
    /// The ids its first requirement had before a rename (the catalog's `previous_ids`),
    /// for the Terraform module's `moved` blocks; absent from the JSON when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub previous_requirement_ids: Vec<String>,
}

/// A workspace with a managed virtual network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Hash)]
pub struct ManagedWorkspace {
    /// Workspace name (the modules' input keys).
    pub name: String,
    /// Region.
    pub region: String,
    /// The isolation mode.
    pub isolation: crate::scenario::Isolation,
}

/// What a managed-network rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManagedKind {
    /// Azure creates it: listed, never written.
    Automatic,
    /// A user-defined FQDN outbound rule.
    ManagedFqdn,
    /// A user-defined service tag outbound rule.
    ManagedServiceTag,
    /// A user-defined private endpoint outbound rule.
    ManagedPrivateEndpoint,
}

impl ManagedKind {
    /// Kebab-case name (the JSON `kind`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ManagedKind::Automatic => "automatic",
            ManagedKind::ManagedFqdn => "managed-fqdn",
            ManagedKind::ManagedServiceTag => "managed-service-tag",
            ManagedKind::ManagedPrivateEndpoint => "managed-private-endpoint",
        }
    }
}

/// One outbound rule of a workspace's managed virtual network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
pub struct ManagedRule {
    /// The workspace.
    pub workspace: String,
    /// `automatic`, `managed-fqdn`, `managed-service-tag` or `managed-private-endpoint`.
    pub kind: ManagedKind,
    /// The outbound rule's name in Azure (unique per workspace); for `automatic`, the
    /// catalog entry's id.
    pub name: String,
    /// Hosts (FQDN: one), the service tag, the sub resource (private endpoint), or what
    /// Azure's own rules reach (`automatic`).
    pub destinations: Vec<String>,
    /// Private endpoint rules: the resource (`storage-account`, the workspace's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Service tag rules: the protocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Service tag rules: the port ranges.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    /// The catalog entry behind it (`scenario-extra-fqdns` for the scenario's hosts).
    pub requirement: String,
    /// The managed-network article's section.
    pub section: String,
    /// What the traffic is for.
    pub purpose: String,
}

/// A requirement that applies but yields no rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
pub struct Skipped {
    /// The requirement id.
    pub requirement: String,
    /// Why no rule was written.
    pub reason: String,
    /// The workspaces it applies to.
    pub workspaces: Vec<String>,
}

/// Something the user must know about the plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
pub struct Warning {
    /// Stable code.
    pub code: String,
    /// Lowercase message.
    pub message: String,
}

impl Warning {
    /// A warning with a code.
    #[must_use]
    pub fn new(code: Code, message: String) -> Warning {
        Warning {
            code: code.as_str().to_owned(),
            message,
        }
    }
}

impl Plan {
    /// The JSON contract, pretty-printed, with a trailing newline.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn to_json(&self) -> String {
        // Serializing plain structs of strings, numbers and lists cannot fail.
        let mut text = serde_json::to_string_pretty(self).expect("a plan always serializes");
        text.push('\n');
        text
    }

    /// The warnings as the CLI prints them on stderr.
    #[must_use]
    pub fn warnings_text(&self) -> String {
        self.warnings
            .iter()
            .map(|warning| format!("warning[{}]: {}\n", warning.code, warning.message))
            .collect()
    }
}

impl fmt::Display for Plan {
    /// A header, one aligned line per rule, then the requirements that produced no rule.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# amlfw plan for {}", self.scenario)?;
        let requested = if self.catalog_requested == self.catalog {
            String::new()
        } else {
            format!(" ({})", self.catalog_requested)
        };
        // Every workspace has a managed network: no hub firewall, no hub rule table.
        if self.workspaces.is_empty() && !self.managed_workspaces.is_empty() {
            writeln!(
                f,
                "# catalog {}{requested}, cloud {}, no hub firewall",
                self.catalog, self.cloud
            )?;
            self.fmt_managed(f)?;
            return self.fmt_skipped(f);
        }
        writeln!(
            f,
            "# catalog {}{requested}, cloud {}, Azure Firewall {} with {} destinations, rule collection group `{}` (priority {})",
            self.catalog,
            self.cloud,
            match self.firewall.sku {
                Sku::Standard => "Standard",
                Sku::Premium => "Premium",
            },
            self.firewall.destinations,
            self.firewall.rule_collection_group,
            self.firewall.priority
        )?;
        if let Some(source) = &self.service_tag_data {
            writeln!(
                f,
                "# service tags checked against {} (change number {})",
                source.file, source.change_number
            )?;
        }
        let outputs = &self.outputs;
        let mut layout = Vec::new();
        if outputs.layout == Layout::Split {
            layout.push("split layout (hub and spoke modules)".to_owned());
        }
        if outputs.nsg
            && (outputs.nsg_existing || outputs.nsg_priorities.band() != NsgBand::DEFAULT)
        {
            layout.push(format!(
                "NSG rules {}, priorities {}-{}",
                if outputs.nsg_existing {
                    "into existing NSGs"
                } else {
                    "in new NSGs"
                },
                outputs.nsg_priorities.first,
                outputs.nsg_priorities.last
            ));
        }
        if outputs.route_table_existing {
            layout.push("routes into existing route tables".to_owned());
        }
        if !layout.is_empty() {
            writeln!(f, "# {}", layout.join("; "))?;
        }
        let count = |kind: RuleKind| self.rules.iter().filter(|r| r.kind == kind).count();
        writeln!(
            f,
            "# {} rules: {} firewall network, {} firewall application, {} nsg, {} route",
            self.rules.len(),
            count(RuleKind::FirewallNetwork),
            count(RuleKind::FirewallApplication),
            count(RuleKind::Nsg),
            count(RuleKind::Route)
        )?;
        writeln!(f)?;
        let rows: Vec<[String; 7]> = self
            .rules
            .iter()
            .map(|rule| {
                let traffic = match rule.kind {
                    RuleKind::Route => match &rule.next_hop_ip {
                        Some(ip) => format!("-> {} {ip}", rule.next_hop.as_deref().unwrap_or("")),
                        None => format!("-> {}", rule.next_hop.as_deref().unwrap_or("")),
                    },
                    RuleKind::FirewallApplication => rule.application_protocols.join(","),
                    _ => format!("{} {}", rule.protocols.join(","), rule.ports.join(",")),
                };
                let why = rule
                    .requirements
                    .iter()
                    .zip(&rule.sections)
                    .map(|(id, section)| format!("{id} ({section})"))
                    .collect::<Vec<_>>()
                    .join("; ");
                let sources = if rule.sources.is_empty() {
                    "-".to_owned()
                } else {
                    rule.sources.join(",")
                };
                let tls = if rule.terminate_tls { " (tls)" } else { "" };
                [
                    rule.kind.as_str().to_owned(),
                    rule.direction.as_str().to_owned(),
                    rule.id.clone(),
                    format!("{traffic}{tls}"),
                    sources,
                    rule.destinations.join(", "),
                    why,
                ]
            })
            .collect();
        let headers = [
            "KIND",
            "DIRECTION",
            "ID",
            "TRAFFIC",
            "SOURCES",
            "DESTINATIONS",
            "REQUIREMENTS (ARTICLE SECTION)",
        ];
        let mut widths = headers.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut line = |cells: &[String]| -> fmt::Result {
            let mut text = String::new();
            for (index, cell) in cells.iter().enumerate() {
                if index + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    text.push_str(cell);
                    text.push_str(&" ".repeat(widths[index] - cell.chars().count() + 2));
                }
            }
            writeln!(f, "{}", text.trim_end())
        };
        line(&headers.map(str::to_owned))?;
        for row in &rows {
            line(row)?;
        }
        self.fmt_managed(f)?;
        if !self.ip_groups.is_empty() {
            writeln!(f)?;
            writeln!(f, "# IP groups:")?;
            for group in &self.ip_groups {
                writeln!(
                    f,
                    "# - {}: {} ({} prefixes)",
                    group.name,
                    group.service_tag,
                    group.prefixes.len()
                )?;
            }
        }
        self.fmt_skipped(f)
    }
}

/// Aligns rows of cells in columns two spaces apart, the last column unpadded.
fn aligned(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if widths.len() <= index {
                widths.push(0);
            }
            widths[index] = widths[index].max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in rows {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if index + 1 < row.len() {
                line.push_str(&" ".repeat(widths[index] - cell.chars().count() + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

impl Plan {
    /// The requirements that apply but produced no rule, if any.
    fn fmt_skipped(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.skipped.is_empty() {
            writeln!(f)?;
            writeln!(f, "# applies, but no rule written:")?;
            for skipped in &self.skipped {
                writeln!(
                    f,
                    "# - {} ({}): {}",
                    skipped.requirement,
                    skipped.workspaces.join(", "),
                    skipped.reason
                )?;
            }
        }
        Ok(())
    }

    /// The managed-network section of the text plan: one line per outbound rule, Azure's
    /// own (`automatic`) included, since the user relies on them.
    fn fmt_managed(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.managed_workspaces.is_empty() {
            return Ok(());
        }
        writeln!(f)?;
        let automatic = self
            .managed_rules
            .iter()
            .filter(|r| r.kind == ManagedKind::Automatic)
            .count();
        writeln!(
            f,
            "# managed virtual network ({}): {} workspace(s), {} user-defined outbound rules, {} automatic (Azure's own, never written)",
            self.managed_catalog
                .as_deref()
                .unwrap_or("no managed-network catalog"),
            self.managed_workspaces.len(),
            self.managed_rules.len() - automatic,
            automatic
        )?;
        for workspace in &self.managed_workspaces {
            writeln!(
                f,
                "# - {} ({}): {}",
                workspace.name,
                workspace.region,
                workspace.isolation.as_str()
            )?;
        }
        let mut rows = vec![
            [
                "KIND",
                "WORKSPACE",
                "NAME",
                "DESTINATIONS",
                "REQUIREMENT (ARTICLE SECTION)",
            ]
            .map(str::to_owned)
            .to_vec(),
        ];
        for rule in &self.managed_rules {
            let mut destinations = rule.destinations.join(", ");
            if let Some(resource) = &rule.resource {
                destinations = format!("{resource} {destinations}");
            }
            if let Some(protocol) = &rule.protocol {
                destinations = format!("{destinations} {protocol} {}", rule.ports.join(","));
            }
            rows.push(vec![
                rule.kind.as_str().to_owned(),
                rule.workspace.clone(),
                rule.name.clone(),
                destinations,
                format!("{} ({})", rule.requirement, rule.section),
            ]);
        }
        f.write_str(&aligned(&rows))
    }
}

/// Prefixes as their text (`20.36.0.0/16`), as the plan's JSON has always shown them.
fn as_texts<S: Serializer, T: fmt::Display>(
    prefixes: &[T],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(prefixes.iter().map(ToString::to_string))
}
