//! Stage 2: the rule catalog, every requirement of Microsoft's article as data.
//!
//! Input: the YAML files under `catalog/` (embedded in the binary, or read by `cli.rs`
//! from `--catalog DIR`). Output: a validated [`Catalog`]. Validation collects every
//! problem: unique ids per revision, known revisions, facts, clouds and placeholders,
//! valid port ranges, FQDNs, URLs and CIDRs, and service tags that exist in Microsoft's
//! service tag file of each cloud they are used in. This is the only module that calls
//! serde_yaml.

pub mod condition;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::diagnostic::{Code, Diagnostic, Location, Position};
pub use condition::Condition;

/// The files of the built-in catalog, as (path relative to `catalog/`, text).
/// `tests/tidy.rs` checks this list matches the directory.
pub const EMBEDDED_FILES: &[(&str, &str)] = &[
    (
        "revisions.yaml",
        include_str!("../../catalog/revisions.yaml"),
    ),
    ("regions.yaml", include_str!("../../catalog/regions.yaml")),
    (
        "service-tags.yaml",
        include_str!("../../catalog/service-tags.yaml"),
    ),
    (
        "requirements/inbound.yaml",
        include_str!("../../catalog/requirements/inbound.yaml"),
    ),
    (
        "requirements/core.yaml",
        include_str!("../../catalog/requirements/core.yaml"),
    ),
    (
        "requirements/compute.yaml",
        include_str!("../../catalog/requirements/compute.yaml"),
    ),
    (
        "requirements/storage.yaml",
        include_str!("../../catalog/requirements/storage.yaml"),
    ),
    (
        "requirements/containers.yaml",
        include_str!("../../catalog/requirements/containers.yaml"),
    ),
    (
        "requirements/monitoring.yaml",
        include_str!("../../catalog/requirements/monitoring.yaml"),
    ),
    (
        "requirements/packages.yaml",
        include_str!("../../catalog/requirements/packages.yaml"),
    ),
    (
        "requirements/vscode.yaml",
        include_str!("../../catalog/requirements/vscode.yaml"),
    ),
    (
        "requirements/kubernetes.yaml",
        include_str!("../../catalog/requirements/kubernetes.yaml"),
    ),
];

/// An Azure cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// Azure public cloud.
    Public,
    /// Azure Government.
    Usgov,
    /// Microsoft Azure operated by 21Vianet (Azure China).
    China,
}

impl Cloud {
    /// All clouds, in the order the catalog lists them.
    pub const ALL: [Cloud; 3] = [Cloud::Public, Cloud::Usgov, Cloud::China];

    /// The scenario spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::Usgov => "usgov",
            Cloud::China => "china",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way the traffic flows, seen from the compute subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From Azure services to the compute.
    Inbound,
    /// From the compute to a service.
    Outbound,
}

impl Direction {
    /// Lowercase name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// The protocol the article names for a requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// TCP ("Unless noted otherwise, all network traffic ... uses TCP").
    Tcp,
    /// UDP.
    Udp,
    /// Any IP protocol (the article's "ANY").
    Any,
    /// HTTP, for application rules.
    Http,
    /// HTTPS, for application rules.
    Https,
    /// "For Protocol:Port, select use http, https": Http:80 and Https:443.
    HttpHttps,
}

impl Protocol {
    /// The catalog spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Any => "any",
            Protocol::Http => "http",
            Protocol::Https => "https",
            Protocol::HttpHttps => "http-https",
        }
    }
}

/// How the firewall names destinations; the article has one table for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Network rules to service tags plus application rules for third-party hosts
    /// (the article's "Azure Firewall" / "Basic configuration" sections).
    ServiceTags,
    /// Host names only, for a firewall without service tags (the article's
    /// "Other firewalls" / "Microsoft hosts" tables).
    Hosts,
}

impl Mode {
    /// Kebab-case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ServiceTags => "service-tags",
            Mode::Hosts => "hosts",
        }
    }
}

/// Where a route sends its traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NextHop {
    /// Straight to the internet, skipping the firewall (inbound management traffic).
    Internet,
    /// To the firewall's private IP (`VirtualAppliance`).
    Firewall,
}

/// The area a requirement belongs to. Renderers group rule collections by it, so each
/// concern keeps a fixed place and adding a rule changes one collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Concern {
    /// Identity, Resource Manager, the Azure Machine Learning service and studio.
    Core,
    /// Compute instance and compute cluster (Azure Batch) traffic.
    Compute,
    /// Storage accounts, yours and Microsoft's.
    Storage,
    /// Container registries and Docker images.
    Containers,
    /// Key Vault for hbi workspaces.
    KeyVault,
    /// Azure Monitor and Application Insights.
    Monitoring,
    /// Python, R and other package hosts.
    Packages,
    /// Visual Studio Code.
    Vscode,
    /// Kubernetes compute and AKS.
    Kubernetes,
    /// Inbound management traffic to the compute.
    Inbound,
    /// Routes of the compute subnet.
    Routing,
    /// Hosts the scenario adds itself.
    Extra,
}

impl Concern {
    /// Every concern, in the order renderers lay them out (and give them priority bands).
    pub const ALL: [Concern; 12] = [
        Concern::Core,
        Concern::Compute,
        Concern::Storage,
        Concern::Containers,
        Concern::KeyVault,
        Concern::Monitoring,
        Concern::Packages,
        Concern::Vscode,
        Concern::Kubernetes,
        Concern::Inbound,
        Concern::Routing,
        Concern::Extra,
    ];

    /// The concern's position in [`Concern::ALL`], which fixes its priority band.
    #[must_use]
    pub fn index(self) -> u32 {
        Concern::ALL
            .iter()
            .position(|c| *c == self)
            .map_or(0, |i| u32::try_from(i).unwrap_or(0))
    }

    /// Kebab-case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Concern::Core => "core",
            Concern::Compute => "compute",
            Concern::Storage => "storage",
            Concern::Containers => "containers",
            Concern::KeyVault => "key-vault",
            Concern::Monitoring => "monitoring",
            Concern::Packages => "packages",
            Concern::Vscode => "vscode",
            Concern::Kubernetes => "kubernetes",
            Concern::Inbound => "inbound",
            Concern::Routing => "routing",
            Concern::Extra => "extra",
        }
    }
}

/// A port or an inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port (equal to `start` for a single port).
    pub end: u16,
}

/// Whether the inclusive port spans together leave no port of 1-65535 out (port 0 is not a
/// port). Shared by the scenario decoder (a user's extra hosts) and the planner's lint
/// (every rule).
#[must_use]
pub fn covers_every_port(spans: impl IntoIterator<Item = (u32, u32)>) -> bool {
    let mut spans: Vec<(u32, u32)> = spans.into_iter().collect();
    spans.sort_unstable();
    // Every port up to `reach` is covered; port 0 needs no cover.
    let mut reach = 0;
    for (start, end) in spans {
        if start > reach + 1 {
            return false;
        }
        reach = reach.max(end);
    }
    reach >= u32::from(u16::MAX)
}

impl PortRange {
    /// The range as an inclusive span, for [`covers_every_port`].
    #[must_use]
    pub fn span(self) -> (u32, u32) {
        (u32::from(self.start), u32::from(self.end))
    }

    /// Parses `443` or `29876-29877`; ports are 1-65535 and a range goes upwards.
    pub fn parse(text: &str) -> Result<PortRange, String> {
        let parse_one = |part: &str| -> Result<u16, String> {
            match part.trim().parse::<u16>() {
                Ok(0) | Err(_) => Err(format!(
                    "`{text}` is not a port (1-65535) or a range of ports"
                )),
                Ok(port) => Ok(port),
            }
        };
        match text.split_once('-') {
            None => {
                let port = parse_one(text)?;
                Ok(PortRange {
                    start: port,
                    end: port,
                })
            }
            Some((start, end)) => {
                let (start, end) = (parse_one(start)?, parse_one(end)?);
                if start >= end {
                    return Err(format!(
                        "`{text}`: a range must go from a lower to a higher port"
                    ));
                }
                Ok(PortRange { start, end })
            }
        }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// The placeholders host names may contain, and the scenario value that fills each.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("{region}", "region"),
    ("{storage}", "storage_account"),
    ("{acr}", "container_registry"),
    ("{workspace_id}", "workspace_id"),
    // The Azure Arc and AKS cluster-extension endpoints name the connected cluster's
    // region, which need not be the workspace's.
    ("{cluster_region}", "compute.kubernetes.region"),
];

/// One thing a rule can point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A service tag; `regional` when written `Tag.{region}`.
    ServiceTag {
        /// The tag as Microsoft spells it, without the region (`Storage`, `AzureFrontDoor.Frontend`).
        base: String,
        /// Whether the workspace's region suffix is appended.
        regional: bool,
    },
    /// A host name, possibly with a leading `*.` wildcard and placeholders.
    Host(String),
    /// A host plus a URL path (needs Azure Firewall Premium).
    Url(String),
    /// An address prefix.
    Cidr(IpNet),
}

impl Endpoint {
    /// The text as written in the catalog.
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Endpoint::ServiceTag {
                base,
                regional: true,
            } => format!("{base}.{{region}}"),
            Endpoint::ServiceTag {
                base,
                regional: false,
            } => base.clone(),
            Endpoint::Host(text) | Endpoint::Url(text) => text.clone(),
            Endpoint::Cidr(net) => net.to_string(),
        }
    }
}

/// What a requirement asks for in one cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudEndpoints {
    /// These endpoints.
    Endpoints(Vec<Endpoint>),
    /// The article says this cloud does not need it; the reason is quoted.
    NotNeeded(String),
    /// The cloud has no equivalent (or the article documents none); the reason says which.
    NotAvailable(String),
}

/// A value for each cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerCloud {
    /// Azure public cloud.
    pub public: CloudEndpoints,
    /// Azure Government.
    pub usgov: CloudEndpoints,
    /// Azure China.
    pub china: CloudEndpoints,
}

impl PerCloud {
    /// The value for one cloud.
    #[must_use]
    pub fn get(&self, cloud: Cloud) -> &CloudEndpoints {
        match cloud {
            Cloud::Public => &self.public,
            Cloud::Usgov => &self.usgov,
            Cloud::China => &self.china,
        }
    }
}

/// One documented requirement of the article, in one or more article revisions.
#[derive(Debug, Clone)]
pub struct Requirement {
    /// Stable kebab-case id: a public contract (plan output, rule names).
    pub id: String,
    /// The article revisions this variant belongs to.
    pub revisions: Vec<String>,
    /// Grouping for rule collections.
    pub concern: Concern,
    /// One line: what the traffic is for.
    pub purpose: String,
    /// The article section it comes from, per revision.
    pub sections: BTreeMap<String, String>,
    /// The article's own words (the table row or sentence), per revision.
    pub quotes: BTreeMap<String, String>,
    /// How a contradiction or gap in the article was resolved, if one was.
    pub note: Option<String>,
    /// The condition, over scenario facts, under which it applies.
    pub when: Condition,
    /// The firewall destination modes it belongs to.
    pub modes: Vec<Mode>,
    /// Traffic direction.
    pub direction: Direction,
    /// Set for routes: where the route sends the traffic.
    pub route: Option<NextHop>,
    /// Protocol.
    pub protocol: Protocol,
    /// Destination ports (empty for routes).
    pub ports: Vec<PortRange>,
    /// For inbound requirements: who connects (service tags).
    pub sources: Option<PerCloud>,
    /// Destinations (for routes: the address prefixes).
    pub destinations: Option<PerCloud>,
    /// For wildcard hosts on ports an application rule cannot carry: the service tag
    /// that covers them (Azure Firewall network rules take no wildcard FQDNs).
    pub covering_tags: Option<PerCloud>,
    /// Set when the article asks for something amlfw cannot turn into a rule; the text
    /// tells the user what to do.
    pub manual: Option<String>,
    /// Requirements that can become NSG rules: their slot in the NSG priority band of
    /// their direction ([`NsgBand`]), the same in every revision, never another's.
    pub nsg_slot: Option<u32>,
    /// The ids this requirement had before a rename or split (in an earlier catalog
    /// revision or amlfw version): the Terraform module gets `moved` blocks from the rule
    /// addresses they gave, so state moves instead of a destroy and a create.
    pub previous_ids: Vec<String>,
    /// The catalog file it was read from.
    pub file: String,
}

/// How many NSG priorities one slot holds: the sub-slots of the rules one requirement
/// makes in one NSG (one per source and destination pair, [`NsgSlot::sub_slot`]).
pub const NSG_SLOT_WIDTH: u32 = 10;

/// The NSG priorities amlfw's rules take, per NSG and direction: slot `s`, sub-slot `k`
/// is priority `first + s * NSG_SLOT_WIDTH + k`. A rule's priority thus depends on its
/// own requirement alone, and two amlfw rules never share one (slots are unique per
/// direction). A parameter so that rules can join an existing NSG in a band of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsgBand {
    /// Lowest priority of the band.
    pub first: u32,
    /// Highest priority of the band.
    pub last: u32,
}

impl NsgBand {
    /// Every priority Azure allows for a custom NSG rule: amlfw owns its NSGs.
    pub const DEFAULT: NsgBand = NsgBand {
        first: 100,
        last: 4096,
    };

    /// How many whole slots the band holds.
    #[must_use]
    pub fn slots(self) -> u32 {
        (self.last + 1).saturating_sub(self.first) / NSG_SLOT_WIDTH
    }

    /// The priority of sub-slot `sub` of `slot`, if the band holds it.
    #[must_use]
    pub fn priority(self, slot: u32, sub: u32) -> Option<u32> {
        (slot < self.slots() && sub < NSG_SLOT_WIDTH)
            .then(|| self.first + slot * NSG_SLOT_WIDTH + sub)
    }
}

/// A requirement's NSG slot in one cloud, and the (source, destination) service tag
/// pairs its NSG rules can have there, in catalog order: a rule's sub-slot is its pair's
/// position. Outbound rules have no tag source (`None`): their sources are the subnets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsgSlot {
    /// The slot.
    pub slot: u32,
    /// The pairs, in catalog order (sources, then destinations within each source).
    pub pairs: Vec<(Option<String>, String)>,
}

impl NsgSlot {
    /// The sub-slot of a rule from `source` to `destination` (tags as the plan names
    /// them, with a region suffix for regional tags): the position of the pair it
    /// comes from.
    #[must_use]
    pub fn sub_slot(&self, source: Option<&str>, destination: &str) -> Option<u32> {
        let names = |base: &str, name: &str| {
            name == base
                || name
                    .strip_prefix(base)
                    .is_some_and(|rest| rest.starts_with('.'))
        };
        // An exact pair first: `AzureFrontDoor.Frontend` is not `AzureFrontDoor` regional.
        let exact = self
            .pairs
            .iter()
            .position(|(s, d)| s.as_deref() == source && d == destination);
        let regional = || {
            self.pairs.iter().position(|(s, d)| {
                names(d, destination)
                    && match (s, source) {
                        (Some(s), Some(source)) => names(s, source),
                        (None, None) => true,
                        _ => false,
                    }
            })
        };
        exact
            .or_else(regional)
            .and_then(|index| u32::try_from(index).ok())
    }
}

/// An article revision the catalog reproduces.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revision {
    /// `2022-09`, `2026-03`.
    pub id: String,
    /// What that revision is.
    pub title: String,
    /// Where its text comes from.
    pub source: String,
}

/// An Azure region of one cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Programmatic name, lowercase (`eastus2`).
    pub name: String,
    /// Portal name (`East US 2`).
    pub display_name: String,
    /// The paired (secondary) region, if any; pairs are directional.
    pub pair: Option<String>,
    /// The exact suffix of regional service tags (`EastUS2`), if Microsoft publishes them.
    pub tag_suffix: Option<String>,
    /// Flags from the region data (`access_restricted_per_doc`, `retired`, ...).
    pub flags: Vec<String>,
}

/// A service tag as Microsoft's file for one cloud describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagInCloud {
    /// Where the global tag can be used: `API`, `NSG`, `UDR`, `FW`, `VSE`.
    pub features: Vec<String>,
    /// Regional variants, grouped by their feature lists.
    pub regional: Vec<RegionalGroup>,
    /// True for the NSG default tags (`VirtualNetwork`, `AzureLoadBalancer`, `Internet`).
    #[serde(default)]
    pub default: bool,
}

/// Regional tags sharing one feature list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionalGroup {
    /// Where these regional tags can be used.
    pub features: Vec<String>,
    /// Region suffixes, exactly as Microsoft spells them.
    pub regions: Vec<String>,
}

/// The service tag file a cloud's data comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagSource {
    /// File name.
    pub file: String,
    /// The file's `changeNumber`.
    pub change_number: u64,
}

/// The validated catalog: revisions, regions, service tags and requirements.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Known revisions, oldest first.
    pub revisions: Vec<Revision>,
    /// The revision `latest` stands for.
    pub latest: String,
    /// Requirements in file order (the planner sorts its output; this order never shows).
    pub requirements: Vec<Requirement>,
    /// Regions per cloud, by programmatic name.
    pub regions: BTreeMap<Cloud, BTreeMap<String, Region>>,
    /// Service tags: name -> cloud -> data.
    pub service_tags: BTreeMap<String, BTreeMap<Cloud, TagInCloud>>,
    /// The service tag files behind `service_tags`.
    pub tag_sources: BTreeMap<Cloud, TagSource>,
}

impl Catalog {
    /// The catalog compiled into amlfw. It is tested, so failing here is a build defect.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn embedded() -> Catalog {
        let files: Vec<(String, String)> = EMBEDDED_FILES
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        Catalog::load(&files, "catalog")
            .expect("the embedded catalog is valid (tested by catalog::tests)")
    }

    /// Loads a catalog from `(relative path, text)` pairs: `revisions.yaml`,
    /// `regions.yaml`, `service-tags.yaml` and `requirements/*.yaml`. `root` names the
    /// directory in messages.
    pub fn load(files: &[(String, String)], root: &str) -> Result<Catalog, Vec<Diagnostic>> {
        let mut loader = Loader {
            root,
            diagnostics: Vec::new(),
        };
        let find = |name: &str| {
            files
                .iter()
                .find(|(path, _)| path == name)
                .map(|(_, text)| text.as_str())
        };
        let mut missing = Vec::new();
        for name in ["revisions.yaml", "regions.yaml", "service-tags.yaml"] {
            if find(name).is_none() {
                missing.push(name);
            }
        }
        if !missing.is_empty() {
            return Err(missing
                .into_iter()
                .map(|name| {
                    Diagnostic::error(Code::InvalidCatalog, format!("the catalog has no `{name}`"))
                        .at(loader.location(name, ""))
                        .help("a catalog directory holds revisions.yaml, regions.yaml, service-tags.yaml and requirements/*.yaml")
                })
                .collect());
        }
        let revisions: Option<RawRevisions> =
            loader.parse("revisions.yaml", find("revisions.yaml").unwrap_or(""));
        let regions: Option<BTreeMap<Cloud, BTreeMap<String, RawRegion>>> =
            loader.parse("regions.yaml", find("regions.yaml").unwrap_or(""));
        let tags: Option<RawServiceTags> =
            loader.parse("service-tags.yaml", find("service-tags.yaml").unwrap_or(""));
        let mut requirement_files: Vec<(&str, &str)> = files
            .iter()
            .filter(|(path, _)| path.starts_with("requirements/") && path.ends_with(".yaml"))
            .map(|(path, text)| (path.as_str(), text.as_str()))
            .collect();
        requirement_files.sort_unstable();
        if requirement_files.is_empty() {
            loader.error(
                "requirements",
                "",
                "the catalog has no `requirements/*.yaml` file".to_owned(),
            );
        }
        let raw_requirements: Vec<(String, usize, RawRequirement)> = requirement_files
            .iter()
            .filter_map(|(path, text)| {
                loader
                    .parse::<Vec<RawRequirement>>(path, text)
                    .map(|list| (*path, list))
            })
            .flat_map(|(path, list)| {
                list.into_iter()
                    .enumerate()
                    .map(move |(index, raw)| (path.to_owned(), index, raw))
            })
            .collect();
        let (Some(revisions), Some(regions), Some(tags)) = (revisions, regions, tags) else {
            return Err(loader.diagnostics);
        };
        let catalog = loader.build(revisions, regions, tags, raw_requirements);
        if loader.diagnostics.is_empty() {
            Ok(catalog)
        } else {
            Err(loader.diagnostics)
        }
    }

    /// Resolves `latest` or a revision id to a known revision id.
    #[must_use]
    pub fn resolve_revision(&self, name: &str) -> Option<&str> {
        if name == "latest" {
            return Some(self.latest.as_str());
        }
        self.revisions
            .iter()
            .find(|r| r.id == name)
            .map(|r| r.id.as_str())
    }

    /// The region `name` in `cloud`.
    #[must_use]
    pub fn region(&self, cloud: Cloud, name: &str) -> Option<&Region> {
        self.regions
            .get(&cloud)
            .and_then(|regions| regions.get(name))
    }

    /// A tag's data in one cloud, if the tag exists there.
    #[must_use]
    pub fn tag(&self, cloud: Cloud, base: &str) -> Option<&TagInCloud> {
        self.service_tags
            .get(base)
            .and_then(|clouds| clouds.get(&cloud))
    }

    /// The features of the regional tag `base.suffix` in `cloud`, if it exists.
    #[must_use]
    pub fn regional_tag_features(
        &self,
        cloud: Cloud,
        base: &str,
        suffix: &str,
    ) -> Option<&[String]> {
        self.tag(cloud, base)?
            .regional
            .iter()
            .find(|group| group.regions.iter().any(|region| region == suffix))
            .map(|group| group.features.as_slice())
    }

    /// The (source, destination) service tag pairs of the NSG rules `requirement` can
    /// become in `cloud`, in catalog order: inbound rules (not routes) take one source
    /// and one destination tag each; outbound requirements only their NSG-only tags
    /// (`VirtualNetwork`), which Azure Firewall cannot name. The planner makes exactly
    /// these; the pair's position is the rule's NSG sub-slot.
    #[must_use]
    pub fn nsg_pairs(
        &self,
        requirement: &Requirement,
        cloud: Cloud,
    ) -> Vec<(Option<String>, String)> {
        if requirement.manual.is_some() || requirement.route.is_some() {
            return Vec::new();
        }
        let tags = |per_cloud: &Option<PerCloud>| -> Vec<String> {
            match per_cloud.as_ref().map(|p| p.get(cloud)) {
                Some(CloudEndpoints::Endpoints(list)) => list
                    .iter()
                    .filter_map(|e| match e {
                        Endpoint::ServiceTag { base, .. } => Some(base.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            }
        };
        let destinations = tags(&requirement.destinations);
        match requirement.direction {
            Direction::Inbound => tags(&requirement.sources)
                .into_iter()
                .flat_map(|source| {
                    destinations
                        .iter()
                        .map(move |d| (Some(source.clone()), d.clone()))
                })
                .collect(),
            Direction::Outbound => destinations
                .into_iter()
                .filter(|base| self.tag(cloud, base).is_some_and(|t| t.default))
                .map(|base| (None, base))
                .collect(),
        }
    }

    /// The NSG slot of every requirement that has one, by id, with its pairs in `cloud`:
    /// what the renderers need to give each NSG rule its priority.
    #[must_use]
    pub fn nsg_slots(&self, cloud: Cloud) -> BTreeMap<String, NsgSlot> {
        self.requirements
            .iter()
            .filter_map(|requirement| {
                let slot = requirement.nsg_slot?;
                let entry = NsgSlot {
                    slot,
                    pairs: self.nsg_pairs(requirement, cloud),
                };
                Some((requirement.id.clone(), entry))
            })
            .fold(BTreeMap::new(), |mut slots, (id, entry)| {
                // Revisions of one id share the slot; their pairs unite, first seen first.
                let merged: &mut NsgSlot = slots.entry(id).or_insert(NsgSlot {
                    slot: entry.slot,
                    pairs: Vec::new(),
                });
                for pair in entry.pairs {
                    if !merged.pairs.contains(&pair) {
                        merged.pairs.push(pair);
                    }
                }
                slots
            })
    }

    /// The requirements of one revision.
    pub fn requirements_of<'c>(
        &'c self,
        revision: &'c str,
    ) -> impl Iterator<Item = &'c Requirement> + 'c {
        self.requirements
            .iter()
            .filter(move |requirement| requirement.revisions.iter().any(|r| r == revision))
    }
}

// ---------------------------------------------------------------------------------------
// Raw serde shapes of the catalog files.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRevisions {
    latest: String,
    revisions: Vec<Revision>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegion {
    display_name: String,
    pair: Option<String>,
    tag_suffix: Option<String>,
    #[serde(default)]
    flags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServiceTags {
    sources: BTreeMap<Cloud, TagSource>,
    tags: BTreeMap<String, BTreeMap<Cloud, TagInCloud>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    id: String,
    revisions: Vec<String>,
    concern: Concern,
    purpose: String,
    section: RawPerRevision,
    quote: RawPerRevision,
    #[serde(default)]
    note: Option<String>,
    when: String,
    #[serde(default)]
    modes: Option<Vec<Mode>>,
    direction: Direction,
    #[serde(default)]
    route: Option<NextHop>,
    #[serde(default)]
    protocol: Option<Protocol>,
    #[serde(default)]
    ports: Vec<String>,
    #[serde(default)]
    sources: Option<RawPerCloud>,
    #[serde(default)]
    destinations: Option<RawPerCloud>,
    #[serde(default)]
    covering_tags: Option<RawPerCloud>,
    #[serde(default)]
    manual: Option<String>,
    #[serde(default)]
    nsg_slot: Option<u32>,
    #[serde(default)]
    previous_ids: Vec<String>,
}

/// One text for every revision, or one per revision.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawPerRevision {
    Same(String),
    PerRevision(BTreeMap<String, String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerCloud {
    #[serde(default)]
    all: Option<Vec<String>>,
    #[serde(default)]
    public: Option<RawCloudEndpoints>,
    #[serde(default)]
    usgov: Option<RawCloudEndpoints>,
    #[serde(default)]
    china: Option<RawCloudEndpoints>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawCloudEndpoints {
    List(Vec<String>),
    Absent(RawAbsent),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAbsent {
    #[serde(default)]
    not_needed: Option<String>,
    #[serde(default)]
    not_available: Option<String>,
}

struct Loader<'r> {
    root: &'r str,
    diagnostics: Vec<Diagnostic>,
}

impl Loader<'_> {
    fn location(&self, file: &str, path: &str) -> Location {
        Location {
            file: format!("{}/{file}", self.root),
            path: path.to_owned(),
            position: None,
        }
    }

    fn error(&mut self, file: &str, path: &str, message: String) {
        let location = self.location(file, path);
        self.diagnostics
            .push(Diagnostic::error(Code::InvalidCatalog, message).at(location));
    }

    fn parse<T: serde::de::DeserializeOwned>(&mut self, file: &str, text: &str) -> Option<T> {
        match serde_yaml::from_str::<T>(text) {
            Ok(value) => Some(value),
            Err(error) => {
                let mut location = self.location(file, "");
                if let Some(marker) = error.location() {
                    let line_text = text
                        .lines()
                        .nth(marker.line().saturating_sub(1))
                        .unwrap_or("")
                        .to_owned();
                    location.position = Some(Position {
                        line: marker.line(),
                        col: marker.column(),
                        width: 1,
                        line_text,
                    });
                }
                // serde_yaml appends " at line L column C"; the location already says it.
                let message = error.to_string();
                let message = message
                    .split(" at line ")
                    .next()
                    .unwrap_or(&message)
                    .to_owned();
                self.diagnostics
                    .push(Diagnostic::error(Code::InvalidCatalog, message).at(location));
                None
            }
        }
    }

    fn build(
        &mut self,
        raw_revisions: RawRevisions,
        raw_regions: BTreeMap<Cloud, BTreeMap<String, RawRegion>>,
        raw_tags: RawServiceTags,
        raw_requirements: Vec<(String, usize, RawRequirement)>,
    ) -> Catalog {
        let revision_ids: Vec<String> = raw_revisions
            .revisions
            .iter()
            .map(|r| r.id.clone())
            .collect();
        if !revision_ids.contains(&raw_revisions.latest) {
            self.error(
                "revisions.yaml",
                "latest",
                format!(
                    "`latest` names `{}`, which is not a listed revision",
                    raw_revisions.latest
                ),
            );
        }
        let mut regions: BTreeMap<Cloud, BTreeMap<String, Region>> = BTreeMap::new();
        for (cloud, cloud_regions) in raw_regions {
            for (name, raw) in &cloud_regions {
                if let Some(pair) = &raw.pair
                    && !cloud_regions.contains_key(pair)
                {
                    self.error(
                        "regions.yaml",
                        &format!("{cloud}.{name}.pair"),
                        format!("pair `{pair}` is not a region of {cloud}"),
                    );
                }
            }
            regions.insert(
                cloud,
                cloud_regions
                    .into_iter()
                    .map(|(name, raw)| {
                        let region = Region {
                            name: name.clone(),
                            display_name: raw.display_name,
                            pair: raw.pair,
                            tag_suffix: raw.tag_suffix,
                            flags: raw.flags,
                        };
                        (name, region)
                    })
                    .collect(),
            );
        }
        let mut catalog = Catalog {
            revisions: raw_revisions.revisions,
            latest: raw_revisions.latest,
            requirements: Vec::new(),
            regions,
            service_tags: raw_tags.tags,
            tag_sources: raw_tags.sources,
        };
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        // The position of each requirement in its file, for the locations of later checks.
        let mut indices = Vec::new();
        for (file, index, raw) in raw_requirements {
            let path = format!("[{index}]");
            for revision in &raw.revisions {
                if !revision_ids.contains(revision) {
                    self.error(
                        &file,
                        &format!("{path}.revisions"),
                        format!("`{}`: unknown revision `{revision}`", raw.id),
                    );
                }
                if !seen.insert((raw.id.clone(), revision.clone())) {
                    self.error(
                        &file,
                        &format!("{path}.id"),
                        format!("`{}` is defined twice for revision `{revision}`", raw.id),
                    );
                }
            }
            if let Some(requirement) = self.requirement(&catalog, &file, &path, raw) {
                catalog.requirements.push(requirement);
                indices.push(index);
            }
        }
        self.check_nsg_slots(&catalog, &indices);
        catalog
    }

    /// Every requirement that can become an NSG rule has a slot; one id keeps one slot
    /// in all its revisions; no two ids share a slot in one direction; every slot and
    /// its sub-slots fit [`NsgBand::DEFAULT`]. This is what makes NSG priorities a
    /// function of the rule alone and collision-free (`render/layout.rs`).
    fn check_nsg_slots(&mut self, catalog: &Catalog, indices: &[usize]) {
        let band = NsgBand::DEFAULT;
        let mut owners: BTreeMap<(Direction, u32), &str> = BTreeMap::new();
        let mut slots_of: BTreeMap<&str, u32> = BTreeMap::new();
        for (requirement, index) in catalog.requirements.iter().zip(indices) {
            let path = format!("[{index}].nsg_slot");
            let id = requirement.id.as_str();
            let most_pairs = Cloud::ALL
                .iter()
                .map(|cloud| catalog.nsg_pairs(requirement, *cloud).len())
                .max()
                .unwrap_or(0);
            let Some(slot) = requirement.nsg_slot else {
                if most_pairs > 0 {
                    let next = catalog
                        .requirements
                        .iter()
                        .filter(|r| r.direction == requirement.direction)
                        .filter_map(|r| r.nsg_slot)
                        .max()
                        .map_or(0, |s| s + 1);
                    let location = self.location(&requirement.file, &path);
                    self.diagnostics.push(
                        Diagnostic::error(
                            Code::InvalidCatalog,
                            format!("`{id}` can become an NSG rule and has no `nsg_slot`"),
                        )
                        .at(location)
                        .help(format!(
                            "give it a slot no other {} requirement has, such as `nsg_slot: {next}`, and keep it for good",
                            requirement.direction.as_str()
                        )),
                    );
                }
                continue;
            };
            if most_pairs == 0 {
                self.error(
                    &requirement.file,
                    &path,
                    format!("`{id}` has an `nsg_slot` but never becomes an NSG rule"),
                );
                continue;
            }
            match slots_of.insert(id, slot) {
                Some(other) if other != slot => self.error(
                    &requirement.file,
                    &path,
                    format!("`{id}` has slot {slot} here and {other} in another revision; a requirement keeps its slot"),
                ),
                Some(_) => {}
                None => {
                    if let Some(owner) = owners.insert((requirement.direction, slot), id) {
                        self.error(
                            &requirement.file,
                            &path,
                            format!(
                                "`{id}` takes {} NSG slot {slot}, which is `{owner}`'s",
                                requirement.direction.as_str()
                            ),
                        );
                    }
                }
            }
            let width = usize::try_from(NSG_SLOT_WIDTH).unwrap_or(usize::MAX);
            if slot >= band.slots() || most_pairs > width {
                let location = self.location(&requirement.file, &path);
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::NsgPriorityBandFull,
                        format!(
                            "`{id}` needs NSG slot {slot} for {most_pairs} {} per NSG, but the priority band {}-{} holds {} slots (0-{}) of {NSG_SLOT_WIDTH} priorities",
                            if most_pairs == 1 { "rule" } else { "rules" },
                            band.first,
                            band.last,
                            band.slots(),
                            band.slots().saturating_sub(1)
                        ),
                    )
                    .at(location)
                    .help(format!(
                        "use a free slot below {} and split a requirement that has more than {NSG_SLOT_WIDTH} source and destination pairs",
                        band.slots()
                    )),
                );
            }
        }
    }

    fn requirement(
        &mut self,
        catalog: &Catalog,
        file: &str,
        path: &str,
        raw: RawRequirement,
    ) -> Option<Requirement> {
        let id = raw.id.clone();
        let errors_before = self.diagnostics.len();
        let fail = |loader: &mut Self, field: &str, message: String| {
            loader.error(
                file,
                &format!("{path}.{field}"),
                format!("`{id}`: {message}"),
            );
        };
        if !is_kebab_case(&raw.id) {
            fail(
                self,
                "id",
                "ids are kebab-case: lowercase letters, digits and single dashes".to_owned(),
            );
        }
        if raw.revisions.is_empty() {
            fail(self, "revisions", "lists no revision".to_owned());
        }
        if raw.purpose.trim().is_empty() || raw.purpose.chars().any(char::is_control) {
            fail(self, "purpose", "must be one non-empty line".to_owned());
        }
        let per_revision = |raw_text: &RawPerRevision| -> Option<BTreeMap<String, String>> {
            let map: BTreeMap<String, String> = match raw_text {
                RawPerRevision::Same(text) => raw
                    .revisions
                    .iter()
                    .map(|r| (r.clone(), text.clone()))
                    .collect(),
                RawPerRevision::PerRevision(map) => map.clone(),
            };
            let listed: BTreeSet<&String> = raw.revisions.iter().collect();
            let valid = map.keys().collect::<BTreeSet<_>>() == listed
                && map
                    .values()
                    .all(|text| !text.trim().is_empty() && !text.chars().any(char::is_control));
            valid.then_some(map)
        };
        let sections = per_revision(&raw.section).unwrap_or_default();
        let quotes = per_revision(&raw.quote).unwrap_or_default();
        for (field, map) in [("section", &sections), ("quote", &quotes)] {
            if map.is_empty() {
                fail(
                    self,
                    field,
                    "give one line, or one non-empty line for each of its revisions".to_owned(),
                );
            }
        }
        let when = match Condition::parse(&raw.when) {
            Ok(condition) => {
                for fact in condition.facts() {
                    if !crate::scenario::FACTS.iter().any(|(name, _)| *name == fact) {
                        fail(self, "when", format!("unknown fact `{fact}`"));
                    }
                }
                Some(condition)
            }
            Err(message) => {
                fail(self, "when", message);
                None
            }
        };
        let mut ports = Vec::new();
        for text in &raw.ports {
            match PortRange::parse(text) {
                Ok(port) => ports.push(port),
                Err(message) => fail(self, "ports", message),
            }
        }
        let is_manual = raw.manual.is_some();
        let is_route = raw.route.is_some();
        let protocol = raw.protocol.unwrap_or(Protocol::Any);
        if !is_manual && !is_route {
            if raw.protocol.is_none() {
                fail(self, "protocol", "a rule needs a protocol".to_owned());
            }
            if raw.ports.is_empty() {
                fail(self, "ports", "a rule needs ports".to_owned());
            }
            if raw.destinations.is_none() {
                fail(self, "destinations", "a rule needs destinations".to_owned());
            }
        }
        if is_route && !ports.is_empty() {
            fail(self, "ports", "routes have no ports".to_owned());
        }
        if raw.direction == Direction::Inbound && !is_manual && !is_route && raw.sources.is_none() {
            fail(
                self,
                "sources",
                "inbound rules need sources (service tags)".to_owned(),
            );
        }
        match protocol {
            Protocol::HttpHttps
                if ports
                    != [
                        PortRange { start: 80, end: 80 },
                        PortRange {
                            start: 443,
                            end: 443,
                        },
                    ] =>
            {
                fail(
                    self,
                    "ports",
                    "`http-https` means Http:80 and Https:443; write ports [\"80\", \"443\"]"
                        .to_owned(),
                );
            }
            _ => {}
        }
        let sources = raw.sources.map(|per_cloud| {
            self.per_cloud(catalog, file, &format!("{path}.sources"), &id, per_cloud)
        });
        let destinations = raw.destinations.map(|per_cloud| {
            self.per_cloud(
                catalog,
                file,
                &format!("{path}.destinations"),
                &id,
                per_cloud,
            )
        });
        let covering_tags = raw.covering_tags.map(|per_cloud| {
            self.per_cloud(
                catalog,
                file,
                &format!("{path}.covering_tags"),
                &id,
                per_cloud,
            )
        });
        for per_cloud in [&sources, &covering_tags].into_iter().flatten() {
            for cloud in Cloud::ALL {
                if let CloudEndpoints::Endpoints(list) = per_cloud.get(cloud)
                    && list
                        .iter()
                        .any(|e| !matches!(e, Endpoint::ServiceTag { .. }))
                {
                    fail(
                        self,
                        "sources",
                        format!("sources and covering tags must be service tags ({cloud})"),
                    );
                }
            }
        }
        if let Some(destinations) = &destinations {
            let needs_cover = !is_web_traffic(protocol, &ports);
            for cloud in Cloud::ALL {
                if let CloudEndpoints::Endpoints(list) = destinations.get(cloud) {
                    let has_wildcard = list
                        .iter()
                        .any(|e| matches!(e, Endpoint::Host(h) if h.starts_with('*')));
                    let covered = covering_tags
                        .as_ref()
                        .is_some_and(|c| matches!(c.get(cloud), CloudEndpoints::Endpoints(_)));
                    if needs_cover && has_wildcard && !covered && !is_manual {
                        fail(
                            self,
                            "covering_tags",
                            format!(
                                "wildcard hosts on {protocol:?} ports need a covering service tag ({cloud})"
                            ),
                        );
                    }
                    if matches!(
                        protocol,
                        Protocol::Http | Protocol::Https | Protocol::HttpHttps
                    ) && list
                        .iter()
                        .any(|e| matches!(e, Endpoint::ServiceTag { .. } | Endpoint::Cidr(_)))
                    {
                        fail(
                            self,
                            "protocol",
                            "http/https rules take host names or URLs only".to_owned(),
                        );
                    }
                }
            }
        }
        if self.diagnostics.len() > errors_before {
            return None;
        }
        Some(Requirement {
            id: raw.id,
            revisions: raw.revisions,
            concern: raw.concern,
            purpose: raw.purpose,
            sections,
            quotes,
            note: raw.note,
            when: when?,
            modes: raw
                .modes
                .unwrap_or_else(|| vec![Mode::ServiceTags, Mode::Hosts]),
            direction: raw.direction,
            route: raw.route,
            protocol,
            ports,
            sources,
            destinations,
            covering_tags,
            manual: raw.manual,
            nsg_slot: raw.nsg_slot,
            previous_ids: raw.previous_ids,
            file: file.to_owned(),
        })
    }

    fn per_cloud(
        &mut self,
        catalog: &Catalog,
        file: &str,
        path: &str,
        id: &str,
        raw: RawPerCloud,
    ) -> PerCloud {
        let resolve = |loader: &mut Self,
                       cloud: Cloud,
                       value: Option<RawCloudEndpoints>,
                       all: &Option<Vec<String>>| {
            let value = match (value, all) {
                (Some(value), None) => value,
                (None, Some(all)) => RawCloudEndpoints::List(all.clone()),
                (Some(_), Some(_)) => {
                    loader.error(
                        file,
                        path,
                        format!("`{id}`: give either `all` or per-cloud values, not both"),
                    );
                    return CloudEndpoints::NotAvailable(String::new());
                }
                (None, None) => {
                    loader.error(file, path, format!("`{id}`: no value for {cloud}; say `not_needed` or `not_available` with the reason"));
                    return CloudEndpoints::NotAvailable(String::new());
                }
            };
            match value {
                RawCloudEndpoints::List(list) => {
                    if list.is_empty() {
                        loader.error(file, path, format!("`{id}`: empty list for {cloud}"));
                    }
                    let mut endpoints = Vec::new();
                    for text in list {
                        match parse_endpoint(catalog, cloud, &text) {
                            Ok(endpoint) => endpoints.push(endpoint),
                            Err(message) => loader.error(
                                file,
                                &format!("{path}.{cloud}"),
                                format!("`{id}`: {message}"),
                            ),
                        }
                    }
                    CloudEndpoints::Endpoints(endpoints)
                }
                RawCloudEndpoints::Absent(RawAbsent {
                    not_needed: Some(reason),
                    not_available: None,
                }) => CloudEndpoints::NotNeeded(reason),
                RawCloudEndpoints::Absent(RawAbsent {
                    not_needed: None,
                    not_available: Some(reason),
                }) => CloudEndpoints::NotAvailable(reason),
                RawCloudEndpoints::Absent(_) => {
                    loader.error(
                        file,
                        path,
                        format!(
                            "`{id}`: {cloud} needs exactly one of `not_needed` or `not_available`"
                        ),
                    );
                    CloudEndpoints::NotAvailable(String::new())
                }
            }
        };
        PerCloud {
            public: resolve(self, Cloud::Public, raw.public, &raw.all),
            usgov: resolve(self, Cloud::Usgov, raw.usgov, &raw.all),
            china: resolve(self, Cloud::China, raw.china, &raw.all),
        }
    }
}

/// Whether an application rule can carry this traffic: HTTP(S) by name, or TCP on ports
/// 80 and 443 only (the article's tip: "FQDNs that use HTTP/S ports (80 and 443) should be
/// configured as application rules").
#[must_use]
pub fn is_web_traffic(protocol: Protocol, ports: &[PortRange]) -> bool {
    match protocol {
        Protocol::Http | Protocol::Https | Protocol::HttpHttps => true,
        Protocol::Tcp => ports
            .iter()
            .all(|p| p.start == p.end && matches!(p.start, 80 | 443)),
        Protocol::Udp | Protocol::Any => false,
    }
}

fn is_kebab_case(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Classifies and validates one endpoint of the catalog for `cloud`.
fn parse_endpoint(catalog: &Catalog, cloud: Cloud, text: &str) -> Result<Endpoint, String> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(Endpoint::Cidr(net));
    }
    if text.starts_with(|c: char| c.is_ascii_uppercase()) {
        let (base, regional) = match text.strip_suffix(".{region}") {
            Some(base) => (base, true),
            None => (text, false),
        };
        let Some(tag) = catalog.tag(cloud, base) else {
            let known: Vec<&str> = catalog.service_tags.keys().map(String::as_str).collect();
            let hint = crate::diagnostic::did_you_mean(base, known)
                .map(|name| format!("; did you mean `{name}`?"))
                .unwrap_or_default();
            return Err(format!(
                "`{base}` is not a service tag of {cloud} in Microsoft's service tag file{hint}"
            ));
        };
        if regional && tag.regional.is_empty() {
            return Err(format!("`{base}` has no regional variants in {cloud}"));
        }
        return Ok(Endpoint::ServiceTag {
            base: base.to_owned(),
            regional,
        });
    }
    let (host, is_url) = match text.split_once('/') {
        Some((host, path)) if !path.is_empty() => (host, true),
        _ => (text, false),
    };
    validate_host_template(host)?;
    Ok(if is_url {
        Endpoint::Url(text.to_owned())
    } else {
        Endpoint::Host(text.to_owned())
    })
}

/// Checks a host name that may hold placeholders and a leading `*.`.
fn validate_host_template(host: &str) -> Result<(), String> {
    let mut filled = host.to_owned();
    for (placeholder, _) in PLACEHOLDERS {
        filled = filled.replace(placeholder, "x1");
    }
    if filled.contains(['{', '}']) {
        let known: Vec<&str> = PLACEHOLDERS.iter().map(|(p, _)| *p).collect();
        return Err(format!(
            "`{host}` has an unknown placeholder; known: {}",
            known.join(", ")
        ));
    }
    // A wildcard over a single label (`*.com`) fails the host check below. A wildcard
    // directly under a longer public suffix (`*.co.uk`) is the planner's lint's to refuse
    // (`broad-wildcard`), for every rule whatever produced it: one place decides which
    // Public Suffix List sections a catalog may use (the article itself lists
    // `*.blob.core.windows.net`, a private-section suffix).
    let bare = filled.strip_prefix("*.").unwrap_or(&filled);
    if crate::scenario::fqdn_problem(bare).is_some() || host != host.to_lowercase() {
        return Err(format!(
            "`{host}` is not a lowercase host name (a leading `*.` is the only wildcard)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_loads() {
        let files: Vec<(String, String)> = EMBEDDED_FILES
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        if let Err(diagnostics) = Catalog::load(&files, "catalog") {
            panic!("{}", crate::diagnostic::render_all(&diagnostics, "catalog"));
        }
    }

    /// The embedded catalog with `edit` applied to the text of `requirements/inbound.yaml`.
    fn load_with_inbound(edit: impl Fn(&str) -> String) -> Result<Catalog, Vec<Diagnostic>> {
        let files: Vec<(String, String)> = EMBEDDED_FILES
            .iter()
            .map(|(name, text)| {
                let text = if *name == "requirements/inbound.yaml" {
                    edit(text)
                } else {
                    (*text).to_owned()
                };
                ((*name).to_owned(), text)
            })
            .collect();
        Catalog::load(&files, "catalog")
    }

    fn messages(result: Result<Catalog, Vec<Diagnostic>>) -> Vec<(Code, String)> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|d| (d.code, d.message))
            .collect()
    }

    #[test]
    fn nsg_slots_are_required_unique_per_direction_and_inside_the_band() {
        let missing = messages(load_with_inbound(|text| {
            text.replacen("  nsg_slot: 1\n", "", 1)
        }));
        assert_eq!(
            missing,
            [(
                Code::InvalidCatalog,
                "`inbound-batch-node-management` can become an NSG rule and has no `nsg_slot`"
                    .to_owned()
            )]
        );
        let taken = messages(load_with_inbound(|text| {
            text.replacen("  nsg_slot: 1\n", "  nsg_slot: 0\n", 1)
        }));
        assert_eq!(taken.len(), 1, "{taken:?}");
        assert!(
            taken[0].1.contains("takes inbound NSG slot 0, which is `"),
            "{taken:?}"
        );
        // Inbound and outbound are separate: outbound slot 0 is taken, inbound 0 is free.
        let full = messages(load_with_inbound(|text| {
            text.replacen("  nsg_slot: 1\n", "  nsg_slot: 399\n", 1)
        }));
        assert_eq!(full.len(), 1, "{full:?}");
        assert_eq!(full[0].0, Code::NsgPriorityBandFull);
        assert!(full[0].1.contains("holds 399 slots"), "{full:?}");
        assert!(
            load_with_inbound(|text| { text.replacen("  nsg_slot: 1\n", "  nsg_slot: 398\n", 1) })
                .is_ok()
        );
    }

    #[test]
    fn an_nsg_rule_priority_is_its_slot_and_pair() {
        let catalog = Catalog::embedded();
        let slots = catalog.nsg_slots(Cloud::Public);
        let slot = &slots["inbound-azure-machine-learning"];
        assert_eq!(
            slot.pairs,
            [(
                Some("AzureMachineLearning".to_owned()),
                "VirtualNetwork".to_owned()
            )]
        );
        assert_eq!(
            slot.sub_slot(Some("AzureMachineLearning"), "VirtualNetwork"),
            Some(0)
        );
        assert_eq!(
            slot.sub_slot(Some("AzureLoadBalancer"), "VirtualNetwork"),
            None
        );
        let two = NsgSlot {
            slot: 5,
            pairs: vec![
                (None, "AzureFrontDoor".to_owned()),
                (None, "AzureFrontDoor.Frontend".to_owned()),
            ],
        };
        // Regional names find their tag; a dotted tag name is not a regional one.
        assert_eq!(two.sub_slot(None, "AzureFrontDoor.EastUS2"), Some(0));
        assert_eq!(two.sub_slot(None, "AzureFrontDoor.Frontend"), Some(1));
        let band = NsgBand::DEFAULT;
        assert_eq!(band.priority(5, 1), Some(151));
        assert_eq!(band.priority(398, 9), Some(4089));
        assert_eq!(band.priority(399, 0), None);
        assert_eq!(band.priority(0, NSG_SLOT_WIDTH), None);
        let user = NsgBand {
            first: 3000,
            last: 3499,
        };
        assert_eq!((user.slots(), user.priority(2, 3)), (50, Some(3023)));
    }

    #[test]
    fn ports_parse_and_reject() {
        assert_eq!(PortRange::parse("443").unwrap().to_string(), "443");
        assert_eq!(
            PortRange::parse("29876-29877").unwrap().to_string(),
            "29876-29877"
        );
        for bad in ["0", "65536", "80-80", "90-80", "x", "", "1-"] {
            assert!(PortRange::parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn endpoints_are_classified_and_checked() {
        let catalog = Catalog::embedded();
        assert_eq!(
            parse_endpoint(&catalog, Cloud::Public, "Storage.{region}").unwrap(),
            Endpoint::ServiceTag {
                base: "Storage".into(),
                regional: true
            }
        );
        assert!(matches!(
            parse_endpoint(&catalog, Cloud::Public, "*.azureml.ms"),
            Ok(Endpoint::Host(_))
        ));
        assert!(matches!(
            parse_endpoint(&catalog, Cloud::Public, "{storage}.blob.core.windows.net"),
            Ok(Endpoint::Host(_))
        ));
        assert!(matches!(
            parse_endpoint(&catalog, Cloud::Public, "github.com/a/b/*"),
            Ok(Endpoint::Url(_))
        ));
        assert!(matches!(
            parse_endpoint(&catalog, Cloud::Public, "0.0.0.0/0"),
            Ok(Endpoint::Cidr(_))
        ));
        // The 2022 article's misspellings are not tags.
        let error =
            parse_endpoint(&catalog, Cloud::Public, "ContainerRegistry.{region}").unwrap_err();
        assert!(
            error.contains("did you mean `AzureContainerRegistry`"),
            "{error}"
        );
        assert!(parse_endpoint(&catalog, Cloud::Public, "Keyvault.{region}").is_err());
        assert!(parse_endpoint(&catalog, Cloud::Usgov, "AzureFrontDoor.FirstParty").is_err());
        assert!(parse_endpoint(&catalog, Cloud::Public, "*pytorch.org").is_err());
        assert!(parse_endpoint(&catalog, Cloud::Public, "{bucket}.example.com").is_err());
        assert!(parse_endpoint(&catalog, Cloud::Public, "Pypi.org").is_err());
    }

    #[test]
    fn catalog_wildcards_over_a_single_label_are_refused_and_longer_suffixes_left_to_the_lint() {
        let catalog = Catalog::embedded();
        for host in ["*.com", "*.{region}"] {
            assert!(
                parse_endpoint(&catalog, Cloud::Public, host).is_err(),
                "{host}"
            );
        }
        // `*.co.uk` reaches the planner's lint (golden/err-broad-wildcard); the article
        // itself lists wildcards under private-section suffixes.
        for host in ["*.co.uk", "*.blob.core.windows.net", "*.example.co.uk"] {
            assert!(
                parse_endpoint(&catalog, Cloud::Public, host).is_ok(),
                "{host}"
            );
        }
    }
}
