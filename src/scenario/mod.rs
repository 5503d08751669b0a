//! Stage 1: the scenario, a user's description of their Azure Machine Learning setup.
//!
//! Input: the text of a YAML scenario file and its display name, plus the catalog (for
//! the regions and revisions it knows). Output: a validated [`Scenario`], or every
//! problem found, each with a code, a `file:line:col` location and a hint.
//!
//! The format is documented field by field in README.md ("Scenario reference"); the
//! field lists here ([`FEATURES`], [`FACTS`], the `*_FIELDS` constants) are the source
//! of truth, and a test checks README.md names every one of them.

pub mod schema;
pub mod starter;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::catalog::{Catalog, Cloud, Mode, NsgBand, PortRange, covers_every_port};
use crate::diagnostic::{
    Code, Diagnostic, Location, Position, describe_character, did_you_mean, is_hidden_character,
};
use crate::public_suffix::{SuffixKind, public_suffix_kind};
use tree::{Node, NodeKind, Span, TreeError};

/// The scenario format version this amlfw reads.
pub const VERSION: u64 = 1;

/// Features a workspace can list under `features:`, with what each one means.
pub const FEATURES: &[(&str, &str)] = &[
    (
        "studio",
        "people use Azure Machine Learning studio from the compute subnets (hosts mode: ml.azure.com)",
    ),
    (
        "notebooks",
        "the integrated notebooks of studio (notebook, file share and Graph hosts)",
    ),
    (
        "monitoring",
        "Azure Monitor and Application Insights are reached over their public endpoints; the default unless `azure_monitor: secured`, so listing it changes nothing (kept so older scenarios stay valid)",
    ),
    (
        "microsoft-images",
        "Docker images Microsoft provides (Microsoft Container Registry)",
    ),
    (
        "custom-images",
        "custom Docker images, including small changes to Microsoft's (Azure Container Registry)",
    ),
    (
        "python",
        "pip and conda packages from pypi.org and anaconda",
    ),
    (
        "python-custom-index",
        "the pip index is overridden by user settings, so *.pythonhosted.org is needed too",
    ),
    ("r", "R packages from CRAN"),
    ("rstudio", "RStudio installed on a compute instance"),
    ("pytorch", "PyTorch examples (pytorch.org)"),
    ("tensorflow", "TensorFlow examples (tensorflow.org)"),
    (
        "vscode",
        "Visual Studio Code desktop connected to a compute instance",
    ),
    ("vscode-web", "Visual Studio Code for the Web (vscode.dev)"),
    (
        "interactive-jobs",
        "connecting VS Code to interactive jobs (websocket server bits)",
    ),
    (
        "automl-nlp-vision",
        "AutoML for NLP and vision (public cloud only)",
    ),
    (
        "storage-behind-firewall",
        "the firewall sits between the compute and the storage private endpoints (SMB 445 through it)",
    ),
    (
        "huggingface",
        "Hugging Face models (managed network: FQDN rules to Docker Hub and the Hugging Face CDN; the firewall article lists no host for them)",
    ),
    (
        "batch-endpoints",
        "batch endpoints or ParallelRunStep (managed network: private endpoint rules to the default storage account's queue and table sub resources; the firewall article has no rule for them)",
    ),
];

/// Every fact a catalog condition can test: the features, plus facts derived from a
/// workspace's other fields.
pub const FACTS: &[(&str, &str)] = &[
    ("always", "every workspace"),
    ("compute-instance", "compute.instances is true"),
    ("compute-cluster", "compute.clusters is true"),
    (
        "public-ip",
        "compute.public_ip is true and the workspace has a compute instance or cluster",
    ),
    ("private-endpoint", "private_endpoint is true"),
    ("registry-named", "container_registry is given"),
    (
        "registry-private-endpoint",
        "container_registry.access is private-endpoint (the registry is reached through a private endpoint)",
    ),
    (
        "hbi",
        "hbi is true (the workspace was created with the hbi_workspace flag)",
    ),
    (
        "kubernetes",
        "compute.kubernetes runs training or inference",
    ),
    ("kubernetes-training", "compute.kubernetes.training is true"),
    (
        "kubernetes-inference",
        "compute.kubernetes.inference is true",
    ),
    (
        "kubernetes-arc",
        "Kubernetes compute connected through Azure Arc",
    ),
    (
        "kubernetes-aks",
        "Kubernetes compute on AKS without Azure Arc",
    ),
    (
        "kubernetes-arc-cluster-connect",
        "compute.kubernetes.arc_features lists cluster-connect (Arc-connected Kubernetes compute)",
    ),
    (
        "kubernetes-arc-custom-locations",
        "compute.kubernetes.arc_features lists custom-locations (Arc-connected Kubernetes compute)",
    ),
    (
        "kubernetes-arc-azure-rbac",
        "compute.kubernetes.arc_features lists azure-rbac (Arc-connected Kubernetes compute)",
    ),
    (
        "kubernetes-arc-portal",
        "compute.kubernetes.arc_features lists portal (Arc-connected Kubernetes compute)",
    ),
    (
        "aks-v1-inference",
        "compute.aks_v1_inference is true (CLI/SDK v1 models deployed to AKS)",
    ),
    ("studio", "feature"),
    ("notebooks", "feature"),
    ("monitoring", "feature"),
    ("microsoft-images", "feature"),
    ("custom-images", "feature"),
    ("python", "feature"),
    ("python-custom-index", "feature"),
    ("r", "feature"),
    ("rstudio", "feature"),
    ("pytorch", "feature"),
    ("tensorflow", "feature"),
    ("vscode", "feature"),
    ("vscode-web", "feature"),
    ("interactive-jobs", "feature"),
    ("automl-nlp-vision", "feature"),
    ("storage-behind-firewall", "feature"),
    ("huggingface", "feature"),
    ("batch-endpoints", "feature"),
    (
        "managed-network",
        "managed_network is given (the workspace's outbound goes through its managed virtual network)",
    ),
    (
        "approved-outbound",
        "managed_network.isolation is allow-only-approved-outbound",
    ),
];

const TOP_FIELDS: &[&str] = &[
    "version",
    "cloud",
    "catalog",
    "firewall",
    "workspaces",
    "outputs",
];
const FIREWALL_FIELDS: &[&str] = &[
    "sku",
    "destinations",
    "unmarked_tags",
    "rule_collection_group",
];
const RULE_COLLECTION_GROUP_FIELDS: &[&str] = &["name", "priority"];
const WORKSPACE_FIELDS: &[&str] = &[
    "name",
    "region",
    "storage_account",
    "container_registry",
    "workspace_id",
    "private_endpoint",
    "hbi",
    "azure_monitor",
    "compute_subnets",
    "compute_subnet_ids",
    "compute",
    "features",
    "extra_fqdns",
    "managed_network",
];
const CONTAINER_REGISTRY_FIELDS: &[&str] = &["name", "access"];
const COMPUTE_FIELDS: &[&str] = &[
    "instances",
    "clusters",
    "public_ip",
    "kubernetes",
    "aks_v1_inference",
];
const KUBERNETES_FIELDS: &[&str] = &[
    "training",
    "inference",
    "connection",
    "region",
    "subnets",
    "arc_features",
];
const EXTRA_FQDN_FIELDS: &[&str] = &["fqdn", "ports", "reason"];
const MANAGED_NETWORK_FIELDS: &[&str] = &["isolation"];
const OUTPUTS_FIELDS: &[&str] = &["layout", "nsg", "route_table"];
const NSG_FIELDS: &[&str] = &["existing", "priorities"];
const ROUTE_TABLE_FIELDS: &[&str] = &["existing", "default_route", "firewall_private_ip", "mode"];

/// Values of `firewall.sku`; the first is the default.
pub const SKUS: &[&str] = &["standard", "premium"];
/// Values of `firewall.destinations`; the first is the default.
pub const DESTINATIONS: &[&str] = &["service-tags", "hosts", "ip-addresses"];
/// Values of `firewall.unmarked_tags`; the first is what amlfw does when it is not set
/// (with a warning that asks for the decision).
pub const UNMARKED_TAGS: &[&str] = &["regional", "global"];
/// Values of `workspaces[].container_registry.access`; the first is the default.
pub const REGISTRY_ACCESS: &[&str] = &["firewall", "private-endpoint"];
/// Values of `workspaces[].azure_monitor`; the first is the default.
pub const AZURE_MONITOR_MODES: &[&str] = &["public", "secured"];
/// Values of `workspaces[].managed_network.isolation`; the first is the default. The
/// article's third mode, `disabled`, is a workspace without `managed_network`.
pub const ISOLATION_MODES: &[&str] = &["allow-only-approved-outbound", "allow-internet-outbound"];
/// Values of `outputs.layout`; the first is the default.
pub const LAYOUTS: &[&str] = &["combined", "split"];
/// `outputs.nsg.priorities` when the scenario does not say: every priority Azure allows
/// for a custom NSG rule.
pub const DEFAULT_NSG_PRIORITIES: &str = "100-4096";
/// Values of `outputs.route_table.mode`; the first is the default.
pub const ROUTE_MODES: &[&str] = &["service-tags", "ip-addresses"];
/// Values of `compute.kubernetes.connection`; the first is the default.
pub const KUBERNETES_CONNECTIONS: &[&str] = &["arc", "aks"];
/// Values of `compute.kubernetes.arc_features`: optional Azure Arc features whose endpoints
/// the Arc network requirements list apart from the required ones; each sets the fact
/// `kubernetes-arc-<value>`, and what it means.
pub const ARC_FEATURES: &[(&str, &str, &str)] = &[
    (
        "cluster-connect",
        "kubernetes-arc-cluster-connect",
        "Cluster Connect (`az connectedk8s proxy`): the notification service, Azure Relay and `<region>.obo.arc.azure.com` on TCP 8084",
    ),
    (
        "custom-locations",
        "kubernetes-arc-custom-locations",
        "Custom locations: the notification service and Azure Relay",
    ),
    (
        "azure-rbac",
        "kubernetes-arc-azure-rbac",
        "Azure RBAC on the cluster: Microsoft Graph",
    ),
    (
        "portal",
        "kubernetes-arc-portal",
        "Managing the connected cluster in the Azure portal",
    ),
];
/// `catalog` when the scenario does not say.
pub const DEFAULT_CATALOG: &str = "latest";
/// `firewall.rule_collection_group.name` when the scenario does not say.
pub const DEFAULT_RULE_COLLECTION_GROUP_NAME: &str = "rcg-azureml";
/// `firewall.rule_collection_group.priority` when the scenario does not say.
pub const DEFAULT_PRIORITY: u32 = 500;
/// The priorities Azure Firewall accepts for a rule collection group, first to last.
pub const PRIORITY_RANGE: (u32, u32) = (100, 65000);
/// Every true-or-false field and its default; a name is one field's, except `existing`
/// (of `outputs.nsg` and `outputs.route_table`, one meaning, one default). The
/// decoder takes defaults from here and the JSON schema declares them from here, so the
/// two cannot disagree.
pub const BOOLEAN_FIELDS: &[(&str, bool)] = &[
    ("private_endpoint", true),
    ("hbi", false),
    ("instances", false),
    ("clusters", false),
    ("public_ip", false),
    ("aks_v1_inference", false),
    ("training", false),
    ("inference", false),
    ("nsg", false),
    ("existing", false),
    ("default_route", true),
];
/// Length limits Azure puts on names, shared by the decoder's checks and the schema.
pub const WORKSPACE_NAME_LENGTH: (usize, usize) = (3, 33);
/// Storage account names: 3-24 lowercase letters and digits.
pub const STORAGE_ACCOUNT_LENGTH: (usize, usize) = (3, 24);
/// Container registry names: 5-50 letters and digits.
pub const CONTAINER_REGISTRY_LENGTH: (usize, usize) = (5, 50);
/// Rule collection group names: 1-80 characters.
pub const RULE_COLLECTION_GROUP_NAME_LENGTH: (usize, usize) = (1, 80);

/// Every field name of the format, for the README test.
pub const ALL_FIELDS: &[&[&str]] = &[
    TOP_FIELDS,
    FIREWALL_FIELDS,
    RULE_COLLECTION_GROUP_FIELDS,
    WORKSPACE_FIELDS,
    CONTAINER_REGISTRY_FIELDS,
    COMPUTE_FIELDS,
    KUBERNETES_FIELDS,
    EXTRA_FQDN_FIELDS,
    MANAGED_NETWORK_FIELDS,
    OUTPUTS_FIELDS,
    NSG_FIELDS,
    ROUTE_TABLE_FIELDS,
];

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file name as the user gave it (used in messages and generated headers).
    pub file: String,
    /// The cloud.
    pub cloud: Cloud,
    /// The catalog revision as written (`latest` or an id).
    pub catalog_requested: String,
    /// The catalog revision id it resolves to.
    pub catalog_revision: String,
    /// The hub firewall.
    pub firewall: Firewall,
    /// The workspaces the firewall serves, in file order.
    pub workspaces: Vec<Workspace>,
    /// Which resources to produce besides the firewall rules.
    pub outputs: Outputs,
}

/// The Azure Firewall the rules go to.
#[derive(Debug, Clone)]
pub struct Firewall {
    /// Standard or Premium.
    pub sku: Sku,
    /// Service tags (default) or host names only.
    pub destinations: Mode,
    /// `destinations: ip-addresses`: the service tag rules, with each tag's addresses in
    /// an IP group instead of the tag (needs a service tag file).
    pub ip_groups: bool,
    /// The rule collection group amlfw owns in the firewall policy.
    pub rule_collection_group: RuleCollectionGroup,
    /// `firewall.unmarked_tags`: what to write where the article's regional service tag is
    /// not marked for Azure Firewall in Microsoft's file but its global tag is. `None`: the
    /// regional tag, with a warning asking for the decision.
    pub unmarked_tags: Option<UnmarkedTags>,
}

/// `firewall.unmarked_tags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnmarkedTags {
    /// The article's regional tag (Azure deploys it today although the file does not mark it).
    Regional,
    /// The global tag, which the file marks for Azure Firewall (broader: every region).
    Global,
}

/// Azure Firewall SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sku {
    /// Standard: FQDN filtering, no URL paths.
    Standard,
    /// Premium: URL paths with TLS inspection.
    Premium,
}

/// Name and priority of the rule collection group.
#[derive(Debug, Clone)]
pub struct RuleCollectionGroup {
    /// Name (1-80 characters).
    pub name: String,
    /// Priority, 100-65000.
    pub priority: u32,
}

/// One Azure Machine Learning workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Workspace name, unique in the scenario.
    pub name: String,
    /// Region, programmatic lowercase name.
    pub region: String,
    /// Default storage account name (fills `{storage}`).
    pub storage_account: Option<String>,
    /// Container registry name (fills `{acr}`).
    pub container_registry: Option<String>,
    /// `container_registry.access: private-endpoint`: the registry is reached through a
    /// private endpoint in the compute network, so no firewall rule is needed for it.
    pub registry_private_endpoint: bool,
    /// Workspace ID GUID (fills `{workspace_id}`).
    pub workspace_id: Option<String>,
    /// The workspace has a private endpoint.
    pub private_endpoint: bool,
    /// Created with the hbi_workspace flag.
    pub hbi: bool,
    /// `azure_monitor: secured`: Azure Monitor and Application Insights are reached through
    /// an Azure Monitor Private Link Scope, so the monitoring rules are not needed.
    pub azure_monitor_secured: bool,
    /// Compute subnets: sources of every firewall rule.
    pub compute_subnets: Vec<IpNet>,
    /// Where each of `compute_subnets` is in the file (same order and length), for
    /// messages about the rules they are the sources of.
    pub compute_subnet_locations: Vec<Location>,
    /// Resource IDs of the compute subnets, to associate the NSG and route table with.
    pub compute_subnet_ids: Vec<String>,
    /// What compute the workspace uses.
    pub compute: Compute,
    /// Features in use.
    pub features: BTreeSet<String>,
    /// Hosts the team adds.
    pub extra_fqdns: Vec<ExtraFqdn>,
    /// The workspace uses an Azure Machine Learning managed virtual network: its outbound
    /// rules are the workspace's own (`src/planner/managed.rs`), not the hub firewall's.
    pub managed_network: Option<ManagedNetwork>,
    /// Where the workspace is in the file, for planner messages.
    pub location: Location,
}

/// `workspaces[].managed_network`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedNetwork {
    /// The outbound isolation mode.
    pub isolation: Isolation,
    /// Where `managed_network` is in the file.
    pub location: Location,
}

/// The isolation mode of a managed virtual network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// Only the required rules and the user-defined outbound rules are allowed.
    AllowOnlyApprovedOutbound,
    /// All internet outbound is allowed: no user-defined rule is needed for public hosts.
    AllowInternetOutbound,
}

impl Isolation {
    /// The scenario's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::AllowOnlyApprovedOutbound => ISOLATION_MODES[0],
            Isolation::AllowInternetOutbound => ISOLATION_MODES[1],
        }
    }
}

/// Compute of a workspace.
#[derive(Debug, Clone, Default)]
pub struct Compute {
    /// Compute instances.
    pub instances: bool,
    /// Compute clusters.
    pub clusters: bool,
    /// Compute has public IP addresses (inbound management traffic needed).
    pub public_ip: bool,
    /// Attached Kubernetes compute.
    pub kubernetes: Option<Kubernetes>,
    /// Models deployed to AKS with CLI/SDK v1.
    pub aks_v1_inference: bool,
}

/// Attached Kubernetes compute.
#[derive(Debug, Clone)]
pub struct Kubernetes {
    /// Used for training.
    pub training: bool,
    /// Used for inference.
    pub inference: bool,
    /// How the cluster is connected.
    pub connection: KubernetesConnection,
    /// The connected cluster's region (programmatic name), which fills `{cluster_region}`
    /// in the Arc and cluster-extension hosts; the workspace's when not given.
    pub region: String,
    /// The cluster nodes' subnets: the sources of every Kubernetes rule. `None`: not
    /// given, the workspace's compute subnets are used (with a warning).
    pub subnets: Option<Vec<IpNet>>,
    /// Optional Azure Arc features ([`ARC_FEATURES`] values); empty for AKS without Arc.
    pub arc_features: BTreeSet<String>,
    /// Where `compute.kubernetes` is in the file, for messages about the cluster as a whole.
    pub location: Location,
}

/// How a Kubernetes cluster is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubernetesConnection {
    /// Azure Arc-enabled Kubernetes.
    Arc,
    /// AKS with the Azure Machine Learning extension, without Arc.
    Aks,
}

/// A host the team adds for its own needs.
#[derive(Debug, Clone)]
pub struct ExtraFqdn {
    /// Host name, optionally with a leading `*.`.
    pub fqdn: String,
    /// Ports.
    pub ports: Vec<PortRange>,
    /// Why it is needed (shown in the plan and generated comments).
    pub reason: String,
    /// Where the entry is in the file, for messages about the rule it becomes.
    pub location: Location,
}

/// What to produce besides the firewall rules, and how the generated files are laid out.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// One module, or a hub module (firewall policy) and a spoke module (NSGs, routes).
    pub layout: Layout,
    /// NSG rules for the compute subnets.
    pub nsg: bool,
    /// `outputs.nsg.existing`: the rules join an NSG per region that the spoke already
    /// has, instead of one amlfw creates and associates.
    pub nsg_existing: bool,
    /// `outputs.nsg.priorities`: the priorities amlfw's NSG rules may take.
    pub nsg_priorities: NsgBand,
    /// Where `outputs.nsg.priorities` is, for the planner's message when the rules do
    /// not fit (absent: the default band).
    pub nsg_priorities_location: Option<Location>,
    /// A route table for the compute subnets.
    pub route_table: Option<RouteTable>,
}

impl Default for Outputs {
    fn default() -> Outputs {
        Outputs {
            layout: Layout::Combined,
            nsg: false,
            nsg_existing: false,
            nsg_priorities: NsgBand::DEFAULT,
            nsg_priorities_location: None,
            route_table: None,
        }
    }
}

/// `outputs.layout`: how the generated modules divide the resources among pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// One module per target with everything (`terraform/`, `bicep/`).
    Combined,
    /// A hub module with the firewall policy's resources (`hub/terraform`, `hub/bicep`)
    /// and a spoke module with the NSG rules, routes and associations (`spoke/...`),
    /// neither referring to the other, for two pipelines with two states.
    Split,
}

impl Layout {
    /// The value as the scenario writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Combined => "combined",
            Layout::Split => "split",
        }
    }
}

/// Route table settings.
#[derive(Debug, Clone)]
pub struct RouteTable {
    /// `existing: true`: the routes join a route table per region that the spoke already
    /// has, instead of one amlfw creates and associates.
    pub existing: bool,
    /// `default_route: false`: the route table already sends `0.0.0.0/0` to the firewall
    /// (typical of an existing spoke route table), so amlfw plans no default route.
    pub default_route: bool,
    /// The firewall's private IP, next hop of `0.0.0.0/0` (none without the default route).
    pub firewall_private_ip: Option<IpAddr>,
    /// `mode: ip-addresses`: routes to the service tags' address prefixes instead of the
    /// tags (needs a service tag file).
    pub ip_addresses: bool,
}

impl Workspace {
    /// The facts that hold for this workspace, for catalog conditions.
    #[must_use]
    pub fn facts(&self) -> BTreeSet<&'static str> {
        let mut facts = BTreeSet::from(["always"]);
        let compute = &self.compute;
        let mut add = |name: &'static str, holds: bool| {
            if holds {
                facts.insert(name);
            }
        };
        add("compute-instance", compute.instances);
        add("compute-cluster", compute.clusters);
        add(
            "public-ip",
            compute.public_ip && (compute.instances || compute.clusters),
        );
        add("private-endpoint", self.private_endpoint);
        add("registry-private-endpoint", self.registry_private_endpoint);
        add("registry-named", self.container_registry.is_some());
        add("hbi", self.hbi);
        add("aks-v1-inference", compute.aks_v1_inference);
        add("managed-network", self.managed_network.is_some());
        add(
            "approved-outbound",
            self.managed_network
                .as_ref()
                .is_some_and(|m| m.isolation == Isolation::AllowOnlyApprovedOutbound),
        );
        if let Some(kubernetes) = &compute.kubernetes {
            let used = kubernetes.training || kubernetes.inference;
            add("kubernetes", used);
            add("kubernetes-training", kubernetes.training);
            add("kubernetes-inference", kubernetes.inference);
            add(
                "kubernetes-arc",
                used && kubernetes.connection == KubernetesConnection::Arc,
            );
            add(
                "kubernetes-aks",
                used && kubernetes.connection == KubernetesConnection::Aks,
            );
            for (value, fact, _) in ARC_FEATURES {
                add(
                    fact,
                    used && kubernetes.connection == KubernetesConnection::Arc
                        && kubernetes.arc_features.contains(*value),
                );
            }
        }
        for (name, _) in FEATURES {
            if self.features.contains(*name) {
                facts.insert(name);
            }
        }
        // The article's monitoring rules are "only needed if you aren't using a secured
        // Azure Monitor": on unless the workspace says it is secured.
        if !self.azure_monitor_secured {
            facts.insert("monitoring");
        }
        facts
    }

    /// The sources of Kubernetes rules: the node subnets, else the compute subnets.
    #[must_use]
    pub fn kubernetes_subnets(&self) -> &[IpNet] {
        match &self.compute.kubernetes {
            Some(Kubernetes {
                subnets: Some(subnets),
                ..
            }) => subnets,
            _ => &self.compute_subnets,
        }
    }
}

/// The largest scenario file amlfw reads: a thousand workspaces take about 400 KB.
pub const MAX_SCENARIO_BYTES: usize = 2 * 1024 * 1024;

/// Reads a scenario from raw bytes (so non-UTF-8 input gets a proper diagnostic).
pub fn load_bytes(
    bytes: &[u8],
    file: &str,
    catalog: &Catalog,
) -> Result<Scenario, Vec<Diagnostic>> {
    if bytes.len() > MAX_SCENARIO_BYTES {
        return Err(vec![
            Diagnostic::error(
                Code::ScenarioTooLarge,
                format!(
                    "the file has {} bytes; a scenario has at most {MAX_SCENARIO_BYTES}",
                    bytes.len()
                ),
            )
            .at(Location {
                file: file.to_owned(),
                path: String::new(),
                position: None,
            })
            .help("a thousand workspaces take about 400 KB; is this the right file?"),
        ]);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => load(text, file, catalog),
        Err(error) => {
            let line = bytes[..error.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            Err(vec![
                Diagnostic::error(
                    Code::NotUtf8,
                    format!("the file is not UTF-8 text (invalid byte on line {line})"),
                )
                .at(Location {
                    file: file.to_owned(),
                    path: String::new(),
                    position: None,
                })
                .help("save the scenario as UTF-8"),
            ])
        }
    }
}

/// Parses and validates a scenario. Every problem is reported, not only the first.
pub fn load(text: &str, file: &str, catalog: &Catalog) -> Result<Scenario, Vec<Diagnostic>> {
    // Editors on Windows may open the file with a byte order mark. It is not part of the
    // text the user sees, so it is skipped before anything counts lines and columns.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut decoder = Decoder {
        file,
        lines: text.lines().collect(),
        diagnostics: Vec::new(),
        subnet_ids: BTreeMap::new(),
    };
    // Before parsing: yaml-rust2 ends its stream at a NUL, so everything after one would
    // be dropped without a word (and `generate` would then delete the files the rest of
    // the scenario asked for).
    decoder.invalid_characters(text);
    if !decoder.diagnostics.is_empty() {
        return Err(decoder.diagnostics);
    }
    let root = match tree::parse(text) {
        Ok(root) => root,
        Err(error) => return Err(vec![decoder.tree_error(error)]),
    };
    let scenario = decoder.scenario(&root, catalog);
    match scenario {
        Some(scenario) if decoder.diagnostics.is_empty() => Ok(scenario),
        _ => Err(decoder.diagnostics),
    }
}

/// Why `name` is not a valid DNS host name (without wildcard), or `None` if it is.
#[must_use]
pub fn fqdn_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 253 {
        return Some("a host name has 1-253 characters".to_owned());
    }
    if !name.contains('.') {
        return Some("a host name needs at least one dot (for example `github.com`)".to_owned());
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Some("each dot-separated label has 1-63 characters".to_owned());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("label `{label}` starts or ends with `-`"));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Some(format!(
                "`{bad}` is not allowed; labels use letters, digits and `-`"
            ));
        }
    }
    if name
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Some(
            "the last label is a number, so this is an IP address, not a host name".to_owned(),
        );
    }
    None
}

/// The most `invalid-character` problems listed one by one; the rest are counted.
const MAX_INVALID_CHARACTERS: usize = 20;

/// YAML 1.2's `c-printable`, the characters a YAML stream may hold, without the byte
/// order mark (allowed only as the first character, which `load` skips).
fn is_yaml_printable(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..
    ) && c != '\u{feff}'
}

struct Decoder<'s> {
    file: &'s str,
    lines: Vec<&'s str>,
    diagnostics: Vec<Diagnostic>,
    /// Every compute subnet ID read so far, lowercase (Azure resource IDs ignore case),
    /// with the path and line where it first appears: a subnet belongs to one workspace.
    subnet_ids: BTreeMap<String, (String, usize)>,
}

/// The entries of a mapping node, looked up by key.
struct Fields<'n> {
    entries: BTreeMap<&'n str, &'n Node>,
    node: &'n Node,
    path: String,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .get(key)
            .copied()
            .filter(|node| !node.is_null())
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }
}

impl Decoder<'_> {
    fn location(&self, span: Span, path: &str) -> Location {
        Location {
            file: self.file.to_owned(),
            path: path.to_owned(),
            position: Some(Position {
                line: span.line(),
                col: span.col as usize,
                width: span.width as usize,
                line_text: self
                    .lines
                    .get(span.line() - 1)
                    .copied()
                    .unwrap_or("")
                    .to_owned(),
            }),
        }
    }

    fn report(
        &mut self,
        code: Code,
        node: &Node,
        path: &str,
        message: String,
        help: Option<String>,
    ) {
        let mut diagnostic = Diagnostic::error(code, message).at(self.location(node.span, path));
        diagnostic.help = help;
        self.diagnostics.push(diagnostic);
    }

    /// Reports every character of `text` YAML does not allow in a stream (the first
    /// [`MAX_INVALID_CHARACTERS`] one by one, then how many more).
    fn invalid_characters(&mut self, text: &str) {
        let mut found = 0;
        for (line_index, line) in text.split('\n').enumerate() {
            for (col_index, c) in line.chars().enumerate() {
                if is_yaml_printable(c) {
                    continue;
                }
                found += 1;
                if found > MAX_INVALID_CHARACTERS {
                    continue;
                }
                let span = Span::new(line_index + 1, col_index + 1, 1);
                let help = match c {
                    '\0' => {
                        "delete it: YAML reading stops at a NUL, so the rest of the file would be lost (a file full of NULs was saved as UTF-16: save it as UTF-8)"
                    }
                    '\u{feff}' => "a byte order mark may only open the file; delete this one",
                    _ => {
                        "delete it (most editors do not show it): YAML text holds tabs, line breaks and printable characters only"
                    }
                };
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::InvalidCharacter,
                        format!(
                            "the file holds the character {}, which YAML does not allow",
                            describe_character(c)
                        ),
                    )
                    .at(self.location(span, ""))
                    .help(help),
                );
            }
        }
        if found > MAX_INVALID_CHARACTERS {
            self.diagnostics.push(
                Diagnostic::error(
                    Code::InvalidCharacter,
                    format!(
                        "and {} more characters YAML does not allow",
                        found - MAX_INVALID_CHARACTERS
                    ),
                )
                .at(Location {
                    file: self.file.to_owned(),
                    path: String::new(),
                    position: None,
                })
                .help("delete the ones above and run amlfw again to see the rest"),
            );
        }
    }

    fn tree_error(&self, error: TreeError) -> Diagnostic {
        let file_location = Location {
            file: self.file.to_owned(),
            path: String::new(),
            position: None,
        };
        match error {
            TreeError::Empty => Diagnostic::error(Code::EmptyFile, "the scenario file is empty")
                .at(file_location)
                .help("start from examples/minimal.yaml"),
            TreeError::Syntax { message, span } => {
                Diagnostic::error(Code::YamlSyntax, format!("invalid YAML: {message}"))
                    .at(self.location(span, ""))
                    .help("check indentation and that every `[` and `{` is closed")
            }
            TreeError::Alias { span } => Diagnostic::error(
                Code::YamlAlias,
                "YAML aliases (`*name`) are not supported in scenarios",
            )
            .at(self.location(span, ""))
            .help("write the value out in full"),
            TreeError::MultipleDocuments { span } => Diagnostic::error(
                Code::YamlMultipleDocuments,
                "the file holds more than one YAML document",
            )
            .at(self.location(span, ""))
            .help("put one scenario in each file"),
            TreeError::TooDeep { span } => Diagnostic::error(
                Code::YamlTooDeep,
                "mappings and lists are nested too deeply",
            )
            .at(self.location(span, ""))
            .help("a scenario needs only a few levels of nesting"),
            TreeError::Unconsumed { span } => Diagnostic::error(
                Code::InvalidCharacter,
                "the YAML parser stopped here, before the end of the file",
            )
            .at(self.location(span, ""))
            .help("the character here ends YAML input; delete it so the rest of the file is read"),
        }
    }

    /// Checks `node` is a mapping with only `known` keys; reports unknown and duplicate keys.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        what: &str,
        known: &[&str],
    ) -> Option<Fields<'n>> {
        let NodeKind::Map(entries) = &node.kind else {
            self.report(
                Code::InvalidType,
                node,
                path,
                format!("expected {what} (a mapping), found {}", node.type_name()),
                Some(format!("{what} has the keys {}", quoted_list(known))),
            );
            return None;
        };
        let mut fields = Fields {
            entries: BTreeMap::new(),
            node,
            path: path.to_owned(),
        };
        for (key, value) in entries {
            let NodeKind::Scalar { value: name, .. } = &key.kind else {
                self.report(
                    Code::InvalidType,
                    key,
                    path,
                    "mapping keys must be plain names".to_owned(),
                    None,
                );
                continue;
            };
            let key_path = fields.child_path(name);
            if !known.contains(&name.as_str()) {
                let help = match did_you_mean(name, known.iter().copied()) {
                    Some(suggestion) => format!("did you mean `{suggestion}`?"),
                    None => format!("{what} has the keys {}", quoted_list(known)),
                };
                self.report(
                    Code::UnknownField,
                    key,
                    &key_path,
                    format!("unknown field `{name}` in {what}"),
                    Some(help),
                );
                continue;
            }
            if fields.entries.insert(name.as_str(), value).is_some() {
                self.report(
                    Code::DuplicateField,
                    key,
                    &key_path,
                    format!("`{name}` is given twice in {what}"),
                    Some("keep one".to_owned()),
                );
            }
        }
        Some(fields)
    }

    fn required<'n>(&mut self, fields: &Fields<'n>, key: &str, what: &str) -> Option<&'n Node> {
        let node = fields.get(key);
        if node.is_none() {
            self.report(
                Code::MissingField,
                fields.node,
                &fields.path,
                format!("{what} has no `{key}`"),
                Some(format!("add `{key}:`")),
            );
        }
        node
    }

    fn string<'n>(&mut self, node: &'n Node, path: &str, what: &str) -> Option<&'n str> {
        match &node.kind {
            NodeKind::Scalar { value, .. } if !node.is_null() => Some(value.as_str()),
            _ => {
                self.report(
                    Code::InvalidType,
                    node,
                    path,
                    format!("expected {what} (a string), found {}", node.type_name()),
                    None,
                );
                None
            }
        }
    }

    /// A true-or-false field, its default from [`BOOLEAN_FIELDS`].
    fn boolean(&mut self, fields: &Fields<'_>, key: &str) -> bool {
        let default = BOOLEAN_FIELDS
            .iter()
            .find(|(name, _)| *name == key)
            .is_some_and(|(_, default)| *default);
        let Some(node) = fields.get(key) else {
            return default;
        };
        match &node.kind {
            NodeKind::Scalar { value, plain: true }
                if matches!(value.as_str(), "true" | "True" | "TRUE") =>
            {
                true
            }
            NodeKind::Scalar { value, plain: true }
                if matches!(value.as_str(), "false" | "False" | "FALSE") =>
            {
                false
            }
            _ => {
                let found = match &node.kind {
                    NodeKind::Scalar { value, .. } => format!("`{value}`"),
                    _ => node.type_name().to_owned(),
                };
                self.report(
                    Code::InvalidType,
                    node,
                    &fields.child_path(key),
                    format!("`{key}` must be true or false, found {found}"),
                    Some(format!("write `{key}: true` or `{key}: false`")),
                );
                default
            }
        }
    }

    fn list<'n>(&mut self, node: &'n Node, path: &str, what: &str) -> &'n [Node] {
        match &node.kind {
            NodeKind::Seq(items) => items,
            _ => {
                self.report(
                    Code::InvalidType,
                    node,
                    path,
                    format!("expected a list of {what}, found {}", node.type_name()),
                    Some("write a list as `[a, b]` or as lines starting with `- `".to_owned()),
                );
                &[]
            }
        }
    }

    /// A string that must be one of `allowed`.
    fn choice(
        &mut self,
        node: &Node,
        path: &str,
        what: &str,
        allowed: &[&str],
        code: Code,
    ) -> Option<String> {
        let value = self.string(node, path, what)?;
        if allowed.contains(&value) {
            return Some(value.to_owned());
        }
        let help = match did_you_mean(value, allowed.iter().copied()) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => format!("use one of {}", quoted_list(allowed)),
        };
        self.report(
            code,
            node,
            path,
            format!("unknown {what} `{value}`"),
            Some(help),
        );
        None
    }

    fn scenario(&mut self, root: &Node, catalog: &Catalog) -> Option<Scenario> {
        let fields = self.fields(root, "", "the scenario", TOP_FIELDS)?;
        if let Some(node) = self.required(&fields, "version", "the scenario") {
            let version = match &node.kind {
                NodeKind::Scalar { value, plain: true } => value.parse::<u64>().ok(),
                _ => None,
            };
            if version != Some(VERSION) {
                self.report(
                    Code::UnsupportedVersion,
                    node,
                    "version",
                    "this amlfw reads scenario version 1".to_owned(),
                    Some("write `version: 1`".to_owned()),
                );
            }
        }
        let cloud = self
            .required(&fields, "cloud", "the scenario")
            .and_then(|node| {
                let names: Vec<&str> = Cloud::ALL.iter().map(|c| c.as_str()).collect();
                let name = self.choice(node, "cloud", "cloud", &names, Code::UnknownCloud)?;
                Cloud::ALL.into_iter().find(|c| c.as_str() == name)
            });
        let (catalog_requested, catalog_revision) = match fields.get("catalog") {
            None => (DEFAULT_CATALOG.to_owned(), Some(catalog.latest.clone())),
            Some(node) => {
                let mut names: Vec<&str> = vec![DEFAULT_CATALOG];
                names.extend(catalog.revisions.iter().map(|r| r.id.as_str()));
                // `catalog: 2022-09` is read as a string by YAML 1.2 (not a date).
                match self.choice(
                    node,
                    "catalog",
                    "catalog revision",
                    &names,
                    Code::UnknownCatalogRevision,
                ) {
                    Some(name) => {
                        let revision = catalog.resolve_revision(&name).map(str::to_owned);
                        (name, revision)
                    }
                    None => (String::new(), None),
                }
            }
        };
        let firewall = self.firewall(fields.get("firewall"));
        let outputs = self.outputs(fields.get("outputs"));
        let workspaces = match self.required(&fields, "workspaces", "the scenario") {
            Some(node) => self.workspaces(node, cloud, catalog),
            None => Vec::new(),
        };
        Some(Scenario {
            file: self.file.to_owned(),
            cloud: cloud?,
            catalog_requested,
            catalog_revision: catalog_revision?,
            firewall: firewall?,
            workspaces,
            outputs: outputs?,
        })
    }

    fn firewall(&mut self, node: Option<&Node>) -> Option<Firewall> {
        let mut firewall = Firewall {
            sku: Sku::Standard,
            destinations: Mode::ServiceTags,
            ip_groups: false,
            rule_collection_group: RuleCollectionGroup {
                name: DEFAULT_RULE_COLLECTION_GROUP_NAME.to_owned(),
                priority: DEFAULT_PRIORITY,
            },
            unmarked_tags: None,
        };
        let Some(node) = node else {
            return Some(firewall);
        };
        let fields = self.fields(node, "firewall", "`firewall`", FIREWALL_FIELDS)?;
        let errors_before = self.diagnostics.len();
        if let Some(node) = fields.get("sku")
            && self
                .choice(
                    node,
                    "firewall.sku",
                    "firewall SKU",
                    SKUS,
                    Code::InvalidValue,
                )
                .as_deref()
                == Some("premium")
        {
            firewall.sku = Sku::Premium;
        }
        if let Some(node) = fields.get("destinations") {
            let choice = self.choice(
                node,
                "firewall.destinations",
                "destination mode",
                DESTINATIONS,
                Code::InvalidValue,
            );
            match choice.as_deref() {
                Some("hosts") => firewall.destinations = Mode::Hosts,
                Some("ip-addresses") => firewall.ip_groups = true,
                _ => {}
            }
        }
        if let Some(node) = fields.get("unmarked_tags") {
            firewall.unmarked_tags = match self
                .choice(
                    node,
                    "firewall.unmarked_tags",
                    "choice for unmarked tags",
                    UNMARKED_TAGS,
                    Code::InvalidValue,
                )
                .as_deref()
            {
                Some("global") => Some(UnmarkedTags::Global),
                Some(_) => Some(UnmarkedTags::Regional),
                None => None,
            };
        }
        if let Some(node) = fields.get("rule_collection_group") {
            let path = "firewall.rule_collection_group";
            let group = self.fields(
                node,
                path,
                "`rule_collection_group`",
                RULE_COLLECTION_GROUP_FIELDS,
            )?;
            if let Some(node) = group.get("name") {
                let name = self.string(node, &format!("{path}.name"), "a name")?;
                if let Some(problem) = rule_collection_group_name_problem(name) {
                    self.report(
                        Code::InvalidName,
                        node,
                        &format!("{path}.name"),
                        format!("`{name}` is not a valid rule collection group name: {problem}"),
                        Some("use 1-80 letters, digits, `-`, `_` and `.`, starting with a letter or digit".to_owned()),
                    );
                } else {
                    firewall.rule_collection_group.name = name.to_owned();
                }
            }
            if let Some(node) = group.get("priority") {
                let value = match &node.kind {
                    NodeKind::Scalar { value, plain: true } => value.parse::<i64>().ok(),
                    _ => None,
                };
                let (first, last) = PRIORITY_RANGE;
                match value.map(|v| (v, u32::try_from(v))) {
                    Some((_, Ok(priority))) if (first..=last).contains(&priority) => firewall.rule_collection_group.priority = priority,
                    Some((priority, _)) => self.report(
                        Code::PriorityOutOfRange,
                        node,
                        &format!("{path}.priority"),
                        format!("priority {priority} is outside {first}-{last}"),
                        Some(format!("Azure Firewall evaluates rule collection groups from {first} (first) to {last} (last)")),
                    ),
                    None => self.report(
                        Code::InvalidType,
                        node,
                        &format!("{path}.priority"),
                        format!("expected a whole number, found {}", node.type_name()),
                        Some("for example `priority: 500`".to_owned()),
                    ),
                }
            }
        }
        (self.diagnostics.len() == errors_before).then_some(firewall)
    }

    fn outputs(&mut self, node: Option<&Node>) -> Option<Outputs> {
        let Some(node) = node else {
            return Some(Outputs::default());
        };
        let fields = self.fields(node, "outputs", "`outputs`", OUTPUTS_FIELDS)?;
        let mut outputs = Outputs::default();
        if let Some(layout) = fields.get("layout") {
            let choice = self.choice(
                layout,
                "outputs.layout",
                "layout",
                LAYOUTS,
                Code::InvalidValue,
            )?;
            if choice == "split" {
                outputs.layout = Layout::Split;
            }
        }
        // `nsg: true` creates the NSGs; a mapping says more (and means true).
        match fields.get("nsg").map(|n| (n, &n.kind)) {
            Some((nsg_node, NodeKind::Map(_))) => {
                let path = "outputs.nsg";
                let nsg = self.fields(nsg_node, path, "`nsg`", NSG_FIELDS)?;
                outputs.nsg = true;
                outputs.nsg_existing = self.boolean(&nsg, "existing");
                if let Some(band_node) = nsg.get("priorities") {
                    outputs.nsg_priorities = self.nsg_priorities(band_node)?;
                    outputs.nsg_priorities_location =
                        Some(self.location(band_node.span, "outputs.nsg.priorities"));
                }
            }
            _ => outputs.nsg = self.boolean(&fields, "nsg"),
        }
        if let Some(node) = fields.get("route_table") {
            outputs.route_table = Some(self.route_table(node)?);
        }
        if outputs.layout == Layout::Split && !outputs.nsg && outputs.route_table.is_none() {
            let node = fields.get("layout").unwrap_or(node);
            self.report(
                Code::InvalidValue,
                node,
                "outputs.layout",
                "the split layout's spoke module holds the NSG rules and routes, and this scenario plans neither".to_owned(),
                Some("set `outputs.nsg` or `outputs.route_table`, or use `layout: combined` (a module with the rule collection group alone)".to_owned()),
            );
            return None;
        }
        Some(outputs)
    }

    /// `outputs.nsg.priorities`: `FIRST-LAST`, inside the range Azure allows.
    fn nsg_priorities(&mut self, node: &Node) -> Option<NsgBand> {
        let path = "outputs.nsg.priorities";
        let text = self.string(node, path, "a priority range")?;
        let allowed = NsgBand::DEFAULT;
        let parsed = text.split_once('-').and_then(|(first, last)| {
            Some((
                first.trim().parse::<u32>().ok()?,
                last.trim().parse::<u32>().ok()?,
            ))
        });
        match parsed {
            Some((first, last))
                if first <= last && first >= allowed.first && last <= allowed.last =>
            {
                Some(NsgBand { first, last })
            }
            _ => {
                self.report(
                    Code::PriorityOutOfRange,
                    node,
                    path,
                    format!(
                        "`{text}` is not a range of NSG priorities within {}-{}",
                        allowed.first, allowed.last
                    ),
                    Some("give the band your NSG leaves to amlfw, lowest first, for example `3000-3499`".to_owned()),
                );
                None
            }
        }
    }

    fn route_table(&mut self, node: &Node) -> Option<RouteTable> {
        let path = "outputs.route_table";
        let table = self.fields(node, path, "`route_table`", ROUTE_TABLE_FIELDS)?;
        let existing = self.boolean(&table, "existing");
        let default_route = self.boolean(&table, "default_route");
        let ip_addresses = match table.get("mode") {
            None => false,
            Some(mode) => {
                let choice = self.choice(
                    mode,
                    &format!("{path}.mode"),
                    "route mode",
                    ROUTE_MODES,
                    Code::InvalidValue,
                )?;
                choice == "ip-addresses"
            }
        };
        let ip_path = format!("{path}.firewall_private_ip");
        let firewall_private_ip = if default_route {
            let ip_node = self.required(&table, "firewall_private_ip", "`route_table`")?;
            let text = self.string(ip_node, &ip_path, "an IP address")?;
            match text.parse::<IpAddr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    self.report(
                        Code::InvalidIpAddress,
                        ip_node,
                        &ip_path,
                        format!("`{text}` is not an IP address"),
                        Some("give the firewall's private IP, for example `10.0.0.4`".to_owned()),
                    );
                    return None;
                }
            }
        } else if let Some(ip_node) = table.get("firewall_private_ip") {
            // Nothing would use it: refused rather than silently dropped.
            self.report(
                Code::InvalidValue,
                ip_node,
                &ip_path,
                "`firewall_private_ip` is the next hop of the default route, and `default_route: false` leaves that route to your route table".to_owned(),
                Some("remove `firewall_private_ip`, or `default_route: false` to have amlfw write the default route".to_owned()),
            );
            return None;
        } else {
            None
        };
        Some(RouteTable {
            existing,
            default_route,
            firewall_private_ip,
            ip_addresses,
        })
    }

    fn workspaces(
        &mut self,
        node: &Node,
        cloud: Option<Cloud>,
        catalog: &Catalog,
    ) -> Vec<Workspace> {
        let items = self.list(node, "workspaces", "workspaces");
        if items.is_empty() && matches!(node.kind, NodeKind::Seq(_)) {
            self.report(
                Code::NoWorkspaces,
                node,
                "workspaces",
                "the scenario lists no workspace".to_owned(),
                Some("add at least one workspace with a `name` and a `region`".to_owned()),
            );
        }
        let mut workspaces: Vec<Workspace> = Vec::new();
        // The node of each decoded workspace, for messages about them together.
        let mut items_of_workspaces: Vec<&Node> = Vec::new();
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for (index, item) in items.iter().enumerate() {
            let path = format!("workspaces[{index}]");
            let Some(workspace) = self.workspace(item, &path, cloud, catalog) else {
                continue;
            };
            if let Some(first) = names.get(&workspace.name.to_lowercase()) {
                let name_node = map_value(item, "name").unwrap_or(item);
                self.report(
                    Code::DuplicateWorkspace,
                    name_node,
                    &format!("{path}.name"),
                    format!(
                        "workspace name `{}` is used twice (first at workspaces[{first}])",
                        workspace.name
                    ),
                    Some("workspace names are unique, ignoring case".to_owned()),
                );
                continue;
            }
            names.insert(workspace.name.to_lowercase(), index);
            workspaces.push(workspace);
            items_of_workspaces.push(item);
        }
        self.merged_sources_cover_everything(&workspaces, &items_of_workspaces);
        workspaces
    }

    /// Rules that several workspaces need merge their sources, so the compute subnets
    /// of all workspaces together must not be a whole address family either. Reported
    /// at the workspace that completes it, unless that one covers it alone (reported
    /// already).
    fn merged_sources_cover_everything(&mut self, workspaces: &[Workspace], items: &[&Node]) {
        // The union of the first k workspaces' subnets only grows with k, so each family
        // becomes whole at one workspace, if any: found by bisection. Aggregating every
        // prefix of the list made loading quadratic in the number of workspaces.
        let completing = |in_family: fn(&IpNet) -> bool| -> Option<(usize, IpNet)> {
            let whole_after = |count: usize| {
                let nets: Vec<IpNet> = workspaces[..count]
                    .iter()
                    .flat_map(|w| w.compute_subnets.iter().copied())
                    .filter(in_family)
                    .collect();
                whole_address_family(&nets)
            };
            let everything = whole_after(workspaces.len())?;
            let (mut low, mut high) = (1, workspaces.len());
            while low < high {
                let middle = low + (high - low) / 2;
                if whole_after(middle).is_some() {
                    high = middle;
                } else {
                    low = middle + 1;
                }
            }
            Some((high - 1, everything))
        };
        let ipv4 = completing(|net| matches!(net, IpNet::V4(_)));
        let ipv6 = completing(|net| matches!(net, IpNet::V6(_)));
        // Once IPv4 is whole, the merged sources are reported as `0.0.0.0/0` only: IPv6
        // becoming whole later (or at the same workspace) says nothing new.
        let mut completions = Vec::new();
        if let Some((index, everything)) = ipv6
            && ipv4.is_none_or(|(ipv4_index, _)| index < ipv4_index)
        {
            completions.push((index, everything));
        }
        completions.extend(ipv4);
        completions.sort_by_key(|(index, _)| *index);
        for (index, everything) in completions {
            let (workspace, item) = (&workspaces[index], items[index]);
            if whole_address_family(&workspace.compute_subnets) == Some(everything) {
                continue;
            }
            let names: Vec<String> = workspaces[..=index]
                .iter()
                .filter(|w| {
                    w.compute_subnets
                        .iter()
                        .any(|n| family(*n) == family(everything))
                })
                .map(|w| format!("`{}`", w.name))
                .collect();
            let node = map_value(item, "compute_subnets").unwrap_or(item);
            let path = format!("{}.compute_subnets", workspace.location.path);
            self.report(
                Code::AnySource,
                node,
                &path,
                format!(
                    "the compute subnets of workspaces {} together are every {} address (`{everything}`)",
                    names.join(", "),
                    family(everything)
                ),
                Some(format!("rules that several workspaces need merge their sources; {ANY_SOURCE_HELP}")),
            );
        }
    }

    #[allow(clippy::too_many_lines)] // One field after the other; splitting would hide the format.
    fn workspace(
        &mut self,
        node: &Node,
        path: &str,
        cloud: Option<Cloud>,
        catalog: &Catalog,
    ) -> Option<Workspace> {
        let fields = self.fields(node, path, "a workspace", WORKSPACE_FIELDS)?;
        let name = self.required(&fields, "name", "the workspace").and_then(|node| {
            let name = self.string(node, &format!("{path}.name"), "a workspace name")?;
            if let Some(problem) = workspace_name_problem(name) {
                self.report(
                    Code::InvalidName,
                    node,
                    &format!("{path}.name"),
                    format!("`{name}` is not a valid workspace name: {problem}"),
                    Some("use 3-33 letters, digits, `-` and `_`, starting with a letter or digit".to_owned()),
                );
                return None;
            }
            Some(name.to_owned())
        });
        let region = self
            .required(&fields, "region", "the workspace")
            .and_then(|node| self.region(node, &format!("{path}.region"), cloud, catalog));
        let storage_account = fields.get("storage_account").and_then(|node| {
            let value = self.string(node, &format!("{path}.storage_account"), "a storage account name")?;
            let (min, max) = STORAGE_ACCOUNT_LENGTH;
            let valid = (min..=max).contains(&value.len()) && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            if !valid {
                self.report(
                    Code::InvalidStorageAccount,
                    node,
                    &format!("{path}.storage_account"),
                    format!("`{value}` is not a valid storage account name"),
                    Some("storage account names have 3-24 lowercase letters and digits, nothing else".to_owned()),
                );
                return None;
            }
            Some(value.to_owned())
        });
        let (container_registry, registry_private_endpoint) = match fields.get("container_registry")
        {
            None => (None, false),
            Some(node) => self.container_registry(node, &format!("{path}.container_registry")),
        };
        let workspace_id = fields.get("workspace_id").and_then(|node| {
            let value = self.string(node, &format!("{path}.workspace_id"), "a workspace ID")?;
            if !is_guid(value) {
                self.report(
                    Code::InvalidWorkspaceId,
                    node,
                    &format!("{path}.workspace_id"),
                    format!("`{value}` is not a workspace ID"),
                    Some("the workspace ID is a GUID such as `5f1c2b7e-0000-4000-8000-123456789abc` (portal: workspace > Properties)".to_owned()),
                );
                return None;
            }
            Some(value.to_lowercase())
        });
        let private_endpoint = self.boolean(&fields, "private_endpoint");
        let hbi = self.boolean(&fields, "hbi");
        let (compute_subnets, compute_subnet_locations) = match fields.get("compute_subnets") {
            Some(node) => self.subnets(node, &format!("{path}.compute_subnets"), "compute subnet"),
            None => (Vec::new(), Vec::new()),
        };
        let mut compute_subnet_ids = Vec::new();
        if let Some(node) = fields.get("compute_subnet_ids") {
            let ids_path = format!("{path}.compute_subnet_ids");
            for (index, item) in self
                .list(node, &ids_path, "subnet resource IDs")
                .iter()
                .enumerate()
            {
                let item_path = format!("{ids_path}[{index}]");
                let Some(text) = self.string(item, &item_path, "a subnet resource ID") else {
                    continue;
                };
                if is_subnet_id(text) {
                    match self.subnet_ids.get(&text.to_ascii_lowercase()) {
                        Some((first_path, first_line)) => {
                            let message = format!(
                                "subnet `{text}` is listed twice (first at {first_path}, line {first_line})"
                            );
                            self.report(
                                Code::DuplicateSubnetId,
                                item,
                                &item_path,
                                message,
                                Some("a subnet has one network security group and one route table, so it is listed once, in one workspace; Azure compares resource IDs ignoring case".to_owned()),
                            );
                        }
                        None => {
                            self.subnet_ids.insert(
                                text.to_ascii_lowercase(),
                                (item_path.clone(), item.span.line()),
                            );
                            compute_subnet_ids.push(text.to_owned());
                        }
                    }
                } else {
                    self.report(
                        Code::InvalidSubnetId,
                        item,
                        &item_path,
                        format!("`{text}` is not a subnet resource ID"),
                        Some("write /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>".to_owned()),
                    );
                }
            }
        }
        let compute = match fields.get("compute") {
            None => Some(Compute::default()),
            Some(node) => self.compute(
                node,
                &format!("{path}.compute"),
                region.as_deref(),
                cloud,
                catalog,
            ),
        };
        let mut features = BTreeSet::new();
        if let Some(node) = fields.get("features") {
            let names: Vec<&str> = FEATURES.iter().map(|(name, _)| *name).collect();
            for (index, item) in self
                .list(node, &format!("{path}.features"), "feature names")
                .iter()
                .enumerate()
            {
                let item_path = format!("{path}.features[{index}]");
                if let Some(feature) =
                    self.choice(item, &item_path, "feature", &names, Code::UnknownFeature)
                    && !features.insert(feature.clone())
                {
                    self.report(
                        Code::DuplicateFeature,
                        item,
                        &item_path,
                        format!("feature `{feature}` is listed twice"),
                        Some("remove one".to_owned()),
                    );
                }
            }
        }
        let mut extra_fqdns = Vec::new();
        // The ports of the entries read so far, by host: each entry becomes its own rule, so
        // the same host listed again must not complete every port either (`1-32767` here,
        // `32768-65535` there).
        let mut ports_by_host: BTreeMap<String, Vec<PortRange>> = BTreeMap::new();
        if let Some(node) = fields.get("extra_fqdns") {
            for (index, item) in self
                .list(node, &format!("{path}.extra_fqdns"), "hosts")
                .iter()
                .enumerate()
            {
                let item_path = format!("{path}.extra_fqdns[{index}]");
                let Some(extra) = self.extra_fqdn(item, &item_path) else {
                    continue;
                };
                if let Some(earlier) = ports_by_host.get(&extra.fqdn)
                    && covers_every_port(earlier.iter().chain(&extra.ports).map(|p| p.span()))
                {
                    self.report(
                        Code::AnyPort,
                        map_value(item, "ports").unwrap_or(item),
                        &format!("{item_path}.ports"),
                        format!(
                            "with its other entries, `{}` would be allowed on every port",
                            extra.fqdn
                        ),
                        Some("the article's ANY is a protocol, never a port range; list the ports the host serves".to_owned()),
                    );
                    continue;
                }
                ports_by_host
                    .entry(extra.fqdn.clone())
                    .or_default()
                    .extend(extra.ports.iter().copied());
                extra_fqdns.push(extra);
            }
        }
        let azure_monitor_secured = match fields.get("azure_monitor") {
            None => false,
            Some(monitor) => {
                let monitor_path = format!("{path}.azure_monitor");
                let secured = self
                    .choice(
                        monitor,
                        &monitor_path,
                        "Azure Monitor access",
                        AZURE_MONITOR_MODES,
                        Code::InvalidValue,
                    )
                    .is_some_and(|choice| choice == "secured");
                if secured && features.contains("monitoring") {
                    self.report(
                        Code::InvalidValue,
                        monitor,
                        &monitor_path,
                        "`azure_monitor: secured` says the workspace needs no monitoring rules, and `features` lists `monitoring`, which asks for them".to_owned(),
                        Some("remove `monitoring` from `features` (monitoring rules are on unless `azure_monitor: secured`)".to_owned()),
                    );
                }
                secured
            }
        };
        let managed_network = fields
            .get("managed_network")
            .and_then(|node| self.managed_network(node, &format!("{path}.managed_network")));
        Some(Workspace {
            name: name?,
            region: region?,
            storage_account,
            container_registry,
            registry_private_endpoint,
            workspace_id,
            private_endpoint,
            hbi,
            azure_monitor_secured,
            compute_subnets,
            compute_subnet_locations,
            compute_subnet_ids,
            compute: compute?,
            features,
            extra_fqdns,
            managed_network,
            location: self.location(node.span, path),
        })
    }

    /// `managed_network: { isolation }`; `isolation` defaults to the mode that needs
    /// user-defined rules, the one amlfw exists for.
    fn managed_network(&mut self, node: &Node, path: &str) -> Option<ManagedNetwork> {
        let fields = self.fields(node, path, "`managed_network`", MANAGED_NETWORK_FIELDS)?;
        let isolation = match fields.get("isolation") {
            None => Isolation::AllowOnlyApprovedOutbound,
            Some(value) => {
                let choice = self.choice(
                    value,
                    &format!("{path}.isolation"),
                    "isolation mode",
                    ISOLATION_MODES,
                    Code::InvalidValue,
                )?;
                if choice == ISOLATION_MODES[1] {
                    Isolation::AllowInternetOutbound
                } else {
                    Isolation::AllowOnlyApprovedOutbound
                }
            }
        };
        Some(ManagedNetwork {
            isolation,
            location: self.location(node.span, path),
        })
    }

    /// `container_registry`: a name, or `{ name, access }`. Returns the name and whether
    /// the registry is reached through a private endpoint.
    fn container_registry(&mut self, node: &Node, path: &str) -> (Option<String>, bool) {
        let (name_node, name_path, private_endpoint) = if let NodeKind::Map(_) = &node.kind {
            let Some(fields) = self.fields(
                node,
                path,
                "`container_registry`",
                CONTAINER_REGISTRY_FIELDS,
            ) else {
                return (None, false);
            };
            let private_endpoint = match fields.get("access") {
                None => false,
                Some(access) => self
                    .choice(
                        access,
                        &format!("{path}.access"),
                        "registry access",
                        REGISTRY_ACCESS,
                        Code::InvalidValue,
                    )
                    .is_some_and(|choice| choice == "private-endpoint"),
            };
            let Some(name_node) = self.required(&fields, "name", "`container_registry`") else {
                return (None, private_endpoint);
            };
            (name_node, format!("{path}.name"), private_endpoint)
        } else {
            (node, path.to_owned(), false)
        };
        let Some(value) = self.string(name_node, &name_path, "a container registry name") else {
            return (None, private_endpoint);
        };
        let (min, max) = CONTAINER_REGISTRY_LENGTH;
        let valid =
            (min..=max).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric());
        if !valid {
            self.report(
                Code::InvalidContainerRegistry,
                name_node,
                &name_path,
                format!("`{value}` is not a valid container registry name"),
                Some("registry names have 5-50 letters and digits; give the name, not the login server".to_owned()),
            );
            return (None, private_endpoint);
        }
        (Some(value.to_lowercase()), private_endpoint)
    }

    /// A list of subnet prefixes (`compute_subnets`, `compute.kubernetes.subnets`): each a
    /// network without host bits, none twice, together not every address. `noun` names
    /// one item in messages ("compute subnet").
    fn subnets(&mut self, node: &Node, path: &str, noun: &str) -> (Vec<IpNet>, Vec<Location>) {
        let mut nets: Vec<IpNet> = Vec::new();
        let mut locations: Vec<Location> = Vec::new();
        for (index, item) in self.list(node, path, "CIDR networks").iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            let Some(text) = self.string(item, &item_path, "a CIDR network") else {
                continue;
            };
            match text.parse::<IpNet>() {
                Ok(net) if net.trunc() == net => {
                    // Given twice, a prefix reaches Bicep's NSG rules twice
                    // (`sourceAddressPrefixes` takes no duplicates); it is a typo anyway.
                    if let Some(first) = nets.iter().position(|n| *n == net) {
                        let message = format!(
                            "{noun} `{net}` is listed twice (first at {})",
                            describe_place(&locations[first])
                        );
                        self.report(
                            Code::DuplicateSubnet,
                            item,
                            &item_path,
                            message,
                            Some("remove one".to_owned()),
                        );
                        continue;
                    }
                    nets.push(net);
                    locations.push(self.location(item.span, &item_path));
                }
                Ok(net) => self.report(
                    Code::InvalidCidr,
                    item,
                    &item_path,
                    format!("`{text}` has host bits set"),
                    Some(format!("the network is `{}`", net.trunc())),
                ),
                Err(_) => self.report(
                    Code::InvalidCidr,
                    item,
                    &item_path,
                    format!("`{text}` is not a CIDR network"),
                    Some(
                        "write the subnet's address prefix, for example `10.10.1.0/24`".to_owned(),
                    ),
                ),
            }
        }
        if let Some(everything) = whole_address_family(&nets) {
            self.report(
                Code::AnySource,
                node,
                path,
                if nets.len() == 1 {
                    format!(
                        "{noun} `{everything}` is every {} address",
                        family(everything)
                    )
                } else {
                    format!(
                        "the {noun}s together are every {} address (`{everything}`)",
                        family(everything)
                    )
                },
                Some(ANY_SOURCE_HELP.to_owned()),
            );
        }
        (nets, locations)
    }

    fn region(
        &mut self,
        node: &Node,
        path: &str,
        cloud: Option<Cloud>,
        catalog: &Catalog,
    ) -> Option<String> {
        let text = self.string(node, path, "a region")?;
        match resolve_region(catalog, cloud?, text) {
            Ok(name) => Some(name),
            Err(diagnostic) => {
                let location = self.location(node.span, path);
                self.diagnostics.push(diagnostic.at(location));
                None
            }
        }
    }

    fn compute(
        &mut self,
        node: &Node,
        path: &str,
        workspace_region: Option<&str>,
        cloud: Option<Cloud>,
        catalog: &Catalog,
    ) -> Option<Compute> {
        let fields = self.fields(node, path, "`compute`", COMPUTE_FIELDS)?;
        // The booleans first, so that their problems are reported with the cluster's.
        let instances = self.boolean(&fields, "instances");
        let clusters = self.boolean(&fields, "clusters");
        let public_ip = self.boolean(&fields, "public_ip");
        let aks_v1_inference = self.boolean(&fields, "aks_v1_inference");
        let kubernetes = match fields.get("kubernetes") {
            None => None,
            Some(node) => Some(self.kubernetes(
                node,
                &format!("{path}.kubernetes"),
                workspace_region,
                cloud,
                catalog,
            )?),
        };
        Some(Compute {
            instances,
            clusters,
            public_ip,
            kubernetes,
            aks_v1_inference,
        })
    }

    fn kubernetes(
        &mut self,
        node: &Node,
        path: &str,
        workspace_region: Option<&str>,
        cloud: Option<Cloud>,
        catalog: &Catalog,
    ) -> Option<Kubernetes> {
        let fields = self.fields(node, path, "`kubernetes`", KUBERNETES_FIELDS)?;
        let connection = match fields.get("connection") {
            None => KubernetesConnection::Arc,
            Some(node) => {
                let choice = self.choice(
                    node,
                    &format!("{path}.connection"),
                    "Kubernetes connection",
                    KUBERNETES_CONNECTIONS,
                    Code::InvalidValue,
                )?;
                if choice == "aks" {
                    KubernetesConnection::Aks
                } else {
                    KubernetesConnection::Arc
                }
            }
        };
        let region = match fields.get("region") {
            Some(node) => self.region(node, &format!("{path}.region"), cloud, catalog),
            None => workspace_region.map(str::to_owned),
        };
        let subnets = fields.get("subnets").map(|node| {
            self.subnets(node, &format!("{path}.subnets"), "Kubernetes node subnet")
                .0
        });
        let mut arc_features = BTreeSet::new();
        if let Some(node) = fields.get("arc_features") {
            let features_path = format!("{path}.arc_features");
            let names: Vec<&str> = ARC_FEATURES.iter().map(|(name, _, _)| *name).collect();
            for (index, item) in self
                .list(node, &features_path, "Azure Arc features")
                .iter()
                .enumerate()
            {
                let item_path = format!("{features_path}[{index}]");
                if let Some(feature) = self.choice(
                    item,
                    &item_path,
                    "Azure Arc feature",
                    &names,
                    Code::InvalidValue,
                ) && !arc_features.insert(feature.clone())
                {
                    self.report(
                        Code::DuplicateFeature,
                        item,
                        &item_path,
                        format!("Azure Arc feature `{feature}` is listed twice"),
                        Some("remove one".to_owned()),
                    );
                }
            }
            // Asking for Arc endpoints on a cluster without Arc is a contradiction, not
            // something to ignore silently.
            if connection == KubernetesConnection::Aks && !arc_features.is_empty() {
                self.report(
                    Code::InvalidValue,
                    node,
                    &features_path,
                    "`arc_features` are features of Azure Arc-enabled Kubernetes, but `connection` is `aks`".to_owned(),
                    Some("remove `arc_features`, or set `connection: arc`".to_owned()),
                );
            }
        }
        Some(Kubernetes {
            training: self.boolean(&fields, "training"),
            inference: self.boolean(&fields, "inference"),
            connection,
            region: region?,
            subnets,
            arc_features,
            location: self.location(node.span, path),
        })
    }

    fn extra_fqdn(&mut self, node: &Node, path: &str) -> Option<ExtraFqdn> {
        let fields = self.fields(node, path, "an extra host", EXTRA_FQDN_FIELDS)?;
        let fqdn_node = self.required(&fields, "fqdn", "the extra host");
        let reason = self
            .required(&fields, "reason", "the extra host")
            .and_then(|node| {
                let reason = self.string(node, &format!("{path}.reason"), "a reason")?;
                if reason.trim().is_empty() || reason.contains(['\n', '\r']) {
                    self.report(
                        Code::InvalidValue,
                        node,
                        &format!("{path}.reason"),
                        "the reason must be one non-empty line of text".to_owned(),
                        Some(
                            "it becomes the rule's description and a comment in the generated code"
                                .to_owned(),
                        ),
                    );
                    return None;
                }
                if let Some((index, hidden)) = reason
                    .chars()
                    .enumerate()
                    .find(|(_, c)| is_hidden_character(*c))
                {
                    self.hidden_character(node, &format!("{path}.reason"), index, hidden);
                    return None;
                }
                Some(reason.to_owned())
            });
        let mut ports = Vec::new();
        let mut ports_problem = false;
        match self.required(&fields, "ports", "the extra host") {
            None => {}
            Some(ports_node) => {
                let items = self.list(ports_node, &format!("{path}.ports"), "ports");
                if items.is_empty() && matches!(ports_node.kind, NodeKind::Seq(_)) {
                    // Else the rule would be an application rule with no protocol.
                    self.report(
                        Code::InvalidPort,
                        ports_node,
                        &format!("{path}.ports"),
                        "the extra host lists no port".to_owned(),
                        Some(
                            "list the ports it is reached on, for example `ports: [443]`"
                                .to_owned(),
                        ),
                    );
                    ports_problem = true;
                }
                for (index, item) in items.iter().enumerate() {
                    let item_path = format!("{path}.ports[{index}]");
                    let NodeKind::Scalar { value, .. } = &item.kind else {
                        self.report(
                            Code::InvalidType,
                            item,
                            &item_path,
                            format!("expected a port, found {}", item.type_name()),
                            None,
                        );
                        continue;
                    };
                    match PortRange::parse(value) {
                        Ok(port) => ports.push(port),
                        Err(message) => self.report(
                            Code::InvalidPort,
                            item,
                            &item_path,
                            message,
                            Some("ports are 1-65535".to_owned()),
                        ),
                    }
                }
                if covers_every_port(ports.iter().map(|p| p.span())) {
                    let list: Vec<String> = ports.iter().map(|p| format!("`{p}`")).collect();
                    self.report(
                        Code::AnyPort,
                        ports_node,
                        &format!("{path}.ports"),
                        format!("the ports {} together allow every port", list.join(", ")),
                        Some("the article's ANY is a protocol, never a port range; list the ports the host serves".to_owned()),
                    );
                    ports_problem = true;
                }
            }
        }
        let fqdn_node = fqdn_node?;
        let fqdn = self
            .string(fqdn_node, &format!("{path}.fqdn"), "a host name")?
            .to_lowercase();
        let bare = fqdn.strip_prefix("*.").unwrap_or(&fqdn);
        let suffix_kind = fqdn
            .strip_prefix("*.")
            .and_then(|suffix| wildcard_public_suffix(suffix).map(|kind| (suffix, kind)));
        let problem = if bare.contains('*') {
            Some("the only wildcard Azure Firewall accepts is a leading `*.` (a bare `*` or `*x.com` would match look-alike domains)".to_owned())
        } else if let Some((suffix, kind)) = suffix_kind {
            Some(match kind {
                SuffixKind::Icann => format!(
                    "anyone can register a name under `{suffix}` (a public suffix, ICANN section of the Public Suffix List); list the hosts you need"
                ),
                SuffixKind::Private => format!(
                    "anyone can get a name under `{suffix}` (a public suffix, private section of the Public Suffix List: its owner gives names under it to its customers); list the hosts you need"
                ),
            })
        } else if fqdn.starts_with("*.")
            && ports
                .iter()
                .any(|p| !(p.start == p.end && matches!(p.start, 80 | 443)))
        {
            Some("a wildcard host works only on ports 80 and 443 (application rules); network rules take no wildcards".to_owned())
        } else {
            fqdn_problem(bare)
        };
        if let Some(problem) = problem {
            self.report(
                Code::InvalidFqdn,
                fqdn_node,
                &format!("{path}.fqdn"),
                format!("`{fqdn}` is not a host amlfw can allow"),
                Some(problem),
            );
            return None;
        }
        if ports_problem {
            return None;
        }
        Some(ExtraFqdn {
            fqdn,
            ports,
            reason: reason?,
            location: self.location(node.span, path),
        })
    }

    /// Reports the hidden character `hidden`, the `index`th character of the string at
    /// `node`, at its own column when it is written as it is on the node's line.
    fn hidden_character(&mut self, node: &Node, path: &str, index: usize, hidden: char) {
        let mut location = self.location(node.span, path);
        let column = location.position.as_mut().and_then(|position| {
            let offset = position
                .line_text
                .chars()
                .skip(position.col - 1)
                .position(|c| c == hidden)?;
            position.col += offset;
            position.width = 1;
            Some(position.col)
        });
        let place = match column {
            Some(column) => format!("at column {column}"),
            // Written as an escape (`\u202E`) or in a block scalar.
            None => format!("as its character {}", index + 1),
        };
        let what = if hidden.is_control() {
            "a control character"
        } else {
            "an invisible character that can hide or reorder the text around it"
        };
        self.diagnostics.push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("the reason holds {} {place}, {what}", describe_character(hidden)),
            )
            .at(location)
            .help("the reason becomes a rule description and a comment in the generated code, where a reviewer must read what it says: delete the character"),
        );
    }
}

const ANY_SOURCE_HELP: &str = "compute_subnets are the address prefixes of the compute subnets, not the whole address space: every firewall rule would allow every source";

/// `0.0.0.0/0` or `::/0` when `nets` together are every address of that family (several
/// families at once: the first).
fn whole_address_family(nets: &[IpNet]) -> Option<IpNet> {
    #[cfg(test)]
    tree::work::add(nets.len());
    IpNet::aggregate(&nets.to_vec())
        .into_iter()
        .find(|net| net.prefix_len() == 0)
}

fn family(net: IpNet) -> &'static str {
    match net {
        IpNet::V4(_) => "IPv4",
        IpNet::V6(_) => "IPv6",
    }
}

/// `workspaces[0].compute_subnets[1], line 9`: where a value is, for messages naming an
/// earlier place.
fn describe_place(location: &Location) -> String {
    match &location.position {
        Some(position) => format!("{}, line {}", location.path, position.line),
        None => location.path.clone(),
    }
}

/// The kind of public suffix `suffix` is, for a wildcard `*.suffix`: such a wildcard
/// matches names anyone can register. `None` when `suffix` is a registrable domain or
/// below one, or is not made of host name labels at all (`fqdn_problem` says why then).
fn wildcard_public_suffix(suffix: &str) -> Option<SuffixKind> {
    // `x.` turns a single label (`uk`) into a host name, so this checks only the labels.
    if fqdn_problem(&format!("x.{suffix}")).is_some() {
        return None;
    }
    public_suffix_kind(suffix)
}

/// The programmatic name of region `text` in `cloud`, or the diagnostic (without a location)
/// saying why it is not one: the check the decoder and `amlfw init --region` share.
pub fn resolve_region(
    catalog: &Catalog,
    cloud: Cloud,
    text: &str,
) -> Result<String, Box<Diagnostic>> {
    // Accept the portal's display name and any casing: `East US 2` -> `eastus2`.
    let name: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    if catalog.region(cloud, &name).is_some() {
        return Ok(name);
    }
    if let Some(other) = Cloud::ALL
        .into_iter()
        .find(|c| catalog.region(*c, &name).is_some())
    {
        return Err(Box::new(
            Diagnostic::error(
                Code::RegionNotInCloud,
                format!("region `{name}` is in the {other} cloud, not {cloud}"),
            )
            .help(format!("set `cloud: {other}`, or pick a region of {cloud}")),
        ));
    }
    let known = catalog
        .regions
        .get(&cloud)
        .map(|r| r.keys().map(String::as_str).collect::<Vec<_>>())
        .unwrap_or_default();
    let help = match did_you_mean(&name, known.iter().copied()) {
        Some(suggestion) => format!("did you mean `{suggestion}`?"),
        None => format!(
            "use the programmatic name of a {cloud} region, such as `{}`",
            example_region(cloud)
        ),
    };
    Err(Box::new(
        Diagnostic::error(
            Code::UnknownRegion,
            format!("unknown region `{text}` in the {cloud} cloud"),
        )
        .help(help),
    ))
}

/// The value of `key` in a mapping node.
fn map_value<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    let NodeKind::Map(entries) = &node.kind else {
        return None;
    };
    entries
        .iter()
        .find(|(k, _)| matches!(&k.kind, NodeKind::Scalar { value, .. } if value == key))
        .map(|(_, value)| value)
}

/// An example region name for help texts, and the default region of `amlfw init`.
#[must_use]
pub fn example_region(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Public => "eastus2",
        Cloud::Usgov => "usgovvirginia",
        Cloud::China => "chinaeast2",
    }
}

fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `/subscriptions/<guid>/resourceGroups/<name>/providers/Microsoft.Network/virtualNetworks/<name>/subnets/<name>`,
/// segment names compared case-insensitively as Azure does.
fn is_subnet_id(text: &str) -> bool {
    let parts: Vec<&str> = text.split('/').collect();
    let name_ok = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'))
    };
    parts.len() == 11
        && parts[0].is_empty()
        && parts[1].eq_ignore_ascii_case("subscriptions")
        && is_guid(parts[2])
        && parts[3].eq_ignore_ascii_case("resourceGroups")
        && name_ok(parts[4])
        && parts[5].eq_ignore_ascii_case("providers")
        && parts[6].eq_ignore_ascii_case("Microsoft.Network")
        && parts[7].eq_ignore_ascii_case("virtualNetworks")
        && name_ok(parts[8])
        && parts[9].eq_ignore_ascii_case("subnets")
        && name_ok(parts[10])
}

fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

fn workspace_name_problem(name: &str) -> Option<&'static str> {
    let (min, max) = WORKSPACE_NAME_LENGTH;
    if !(min..=max).contains(&name.len()) {
        return Some("it must have 3-33 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some("it must start with a letter or digit");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Some("it may only hold letters, digits, `-` and `_`");
    }
    None
}

fn rule_collection_group_name_problem(name: &str) -> Option<&'static str> {
    let (min, max) = RULE_COLLECTION_GROUP_NAME_LENGTH;
    if !(min..=max).contains(&name.len()) {
        return Some("it must have 1-80 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some("it must start with a letter or digit");
    }
    if !name.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return Some("it must end with a letter, digit or `_`");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Some("it may only hold letters, digits, `-`, `_` and `.`");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Scenario, Vec<Diagnostic>> {
        load(text, "s.yaml", &Catalog::embedded())
    }

    fn codes(text: &str) -> Vec<&'static str> {
        load_str(text)
            .unwrap_err()
            .iter()
            .map(|d| d.code.as_str())
            .collect()
    }

    const MINIMAL: &str = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw\n    region: eastus2\n    compute_subnets: [10.0.1.0/24]\n";

    #[test]
    fn a_minimal_scenario_gets_the_documented_defaults() {
        let scenario = load_str(MINIMAL).unwrap();
        assert_eq!(scenario.catalog_requested, "latest");
        assert_eq!(scenario.firewall.sku, Sku::Standard);
        assert_eq!(scenario.firewall.destinations, Mode::ServiceTags);
        assert_eq!(scenario.firewall.rule_collection_group.priority, 500);
        let workspace = &scenario.workspaces[0];
        assert!(workspace.private_endpoint);
        assert!(!workspace.hbi && !workspace.compute.public_ip && !scenario.outputs.nsg);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw\n    regon: eastus2\n    storage_account: Bad_Name\n    compute_subnets: [10.0.1.5/24, nope]\n    features: [pyton]\n";
        assert_eq!(
            codes(text),
            [
                "unknown-field",
                "missing-field",
                "invalid-storage-account",
                "invalid-cidr",
                "invalid-cidr",
                "unknown-feature"
            ]
        );
    }

    #[test]
    fn regions_accept_display_names_and_know_other_clouds() {
        let text = MINIMAL.replace("eastus2", "East US 2");
        assert_eq!(load_str(&text).unwrap().workspaces[0].region, "eastus2");
        assert_eq!(
            codes(&MINIMAL.replace("eastus2", "usgovvirginia")),
            ["region-not-in-cloud"]
        );
        let diagnostics = load_str(&MINIMAL.replace("eastus2", "eastus3")).unwrap_err();
        assert_eq!(
            diagnostics[0].help.as_deref(),
            Some("did you mean `eastus`?")
        );
    }

    #[test]
    fn booleans_must_be_booleans() {
        let text = format!("{MINIMAL}    hbi: yes\n");
        assert_eq!(codes(&text), ["invalid-type"]);
    }

    #[test]
    fn extra_hosts_refuse_broad_wildcards() {
        for fqdn in ["'*'", "'*github.com'", "'*.github.com'"] {
            let ports = if fqdn == "'*.github.com'" {
                "[22]"
            } else {
                "[443]"
            };
            let text = format!(
                "{MINIMAL}    extra_fqdns: [{{ fqdn: {fqdn}, ports: {ports}, reason: r }}]\n"
            );
            assert_eq!(codes(&text), ["invalid-fqdn"], "{fqdn}");
        }
    }

    #[test]
    fn fqdn_checks() {
        assert_eq!(fqdn_problem("github.com"), None);
        assert_eq!(fqdn_problem("a-b.c1.io"), None);
        for bad in [
            "github", "-a.com", "a..com", "a_b.com", "10.0.0.1", "a.com/x",
        ] {
            assert!(fqdn_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn kubernetes_region_subnets_and_arc_features_decode_with_defaults() {
        let given = format!(
            "{MINIMAL}    compute:\n      kubernetes:\n        training: true\n        region: West Europe\n        subnets: [10.9.0.0/22]\n        arc_features: [portal, cluster-connect]\n"
        );
        let scenario = load_str(&given).unwrap();
        let workspace = &scenario.workspaces[0];
        let kubernetes = workspace.compute.kubernetes.as_ref().unwrap();
        assert_eq!(kubernetes.region, "westeurope");
        assert_eq!(
            workspace.kubernetes_subnets(),
            ["10.9.0.0/22".parse::<IpNet>().unwrap()]
        );
        let facts = workspace.facts();
        assert!(
            facts.contains("kubernetes-arc-portal")
                && facts.contains("kubernetes-arc-cluster-connect")
        );
        assert!(
            !facts.contains("kubernetes-arc-azure-rbac")
                && !facts.contains("kubernetes-arc-custom-locations")
        );

        let defaults = load_str(&format!(
            "{MINIMAL}    compute: {{ kubernetes: {{ training: true }} }}\n"
        ))
        .unwrap();
        let workspace = &defaults.workspaces[0];
        let kubernetes = workspace.compute.kubernetes.as_ref().unwrap();
        assert_eq!(kubernetes.region, "eastus2");
        assert!(kubernetes.subnets.is_none() && kubernetes.arc_features.is_empty());
        assert_eq!(
            workspace.kubernetes_subnets(),
            workspace.compute_subnets.as_slice()
        );
    }

    #[test]
    fn kubernetes_fields_are_validated_like_their_workspace_counterparts() {
        let with = |fields: &str| {
            codes(&format!(
                "{MINIMAL}    compute: {{ kubernetes: {{ training: true, {fields} }} }}\n"
            ))
        };
        assert_eq!(with("region: moon"), ["unknown-region"]);
        assert_eq!(with("region: usgovvirginia"), ["region-not-in-cloud"]);
        assert_eq!(with("subnets: [10.9.0.1/22]"), ["invalid-cidr"]);
        assert_eq!(
            with("subnets: [10.9.0.0/22, 10.9.0.0/22]"),
            ["duplicate-subnet"]
        );
        assert_eq!(with("subnets: [0.0.0.0/1, 128.0.0.0/1]"), ["any-source"]);
        assert_eq!(with("arc_features: [gateway]"), ["invalid-value"]);
        assert_eq!(
            with("arc_features: [portal, portal]"),
            ["duplicate-feature"]
        );
        // Arc endpoints for a cluster without Arc are a contradiction.
        assert_eq!(
            with("connection: aks, arc_features: [portal]"),
            ["invalid-value"]
        );
        assert!(
            load_str(&format!(
                "{MINIMAL}    compute: {{ kubernetes: {{ training: true, connection: aks, region: westus3, subnets: [10.9.0.0/22] }} }}\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn arc_features_hold_only_for_used_arc_clusters() {
        let unused = load_str(&format!(
            "{MINIMAL}    compute: {{ kubernetes: {{ arc_features: [portal] }} }}\n"
        ))
        .unwrap();
        assert!(
            !unused.workspaces[0]
                .facts()
                .contains("kubernetes-arc-portal")
        );
    }

    #[test]
    fn facts_follow_the_fields() {
        let text = format!(
            "{MINIMAL}    compute: {{ instances: true, public_ip: true, kubernetes: {{ training: true, connection: aks }} }}\n    features: [python]\n"
        );
        let scenario = load_str(&text).unwrap();
        let facts = scenario.workspaces[0].facts();
        for fact in [
            "always",
            "compute-instance",
            "public-ip",
            "private-endpoint",
            "kubernetes",
            "kubernetes-training",
            "kubernetes-aks",
            "python",
        ] {
            assert!(facts.contains(fact), "{fact}");
        }
        assert!(!facts.contains("kubernetes-arc") && !facts.contains("compute-cluster"));
    }

    #[test]
    fn every_feature_is_a_fact() {
        for (feature, _) in FEATURES {
            assert!(FACTS.iter().any(|(fact, _)| fact == feature), "{feature}");
        }
    }

    /// The line, column and YAML path of each diagnostic.
    fn places(text: &str) -> Vec<(&'static str, usize, usize, String)> {
        load_str(text)
            .unwrap_err()
            .iter()
            .map(|d| {
                let location = d.location.as_ref().expect("located");
                let position = location
                    .position
                    .as_ref()
                    .map_or((0, 0), |p| (p.line, p.col));
                (
                    d.code.as_str(),
                    position.0,
                    position.1,
                    location.path.clone(),
                )
            })
            .collect()
    }

    const ROUTE: &str = "outputs:\n  route_table: { firewall_private_ip: 10.0.0.4 }\n";

    #[test]
    fn outputs_say_the_layout_and_existing_nsgs_and_route_tables() {
        let defaults = load_str(MINIMAL).unwrap().outputs;
        assert_eq!(defaults.layout, Layout::Combined);
        assert!(!defaults.nsg && !defaults.nsg_existing);
        assert_eq!(defaults.nsg_priorities, NsgBand::DEFAULT);
        let text = format!(
            "{MINIMAL}outputs:\n  layout: split\n  nsg: {{ existing: true, priorities: 3000-3499 }}\n  route_table: {{ existing: true, default_route: false }}\n"
        );
        let outputs = load_str(&text).unwrap().outputs;
        assert_eq!(outputs.layout, Layout::Split);
        assert!(outputs.nsg && outputs.nsg_existing);
        assert_eq!(
            outputs.nsg_priorities,
            NsgBand {
                first: 3000,
                last: 3499
            }
        );
        assert!(outputs.nsg_priorities_location.is_some());
        let table = outputs.route_table.unwrap();
        assert!(table.existing && !table.default_route);
        assert_eq!(table.firewall_private_ip, None);
        // `nsg: { priorities }` alone creates the NSGs, in that band.
        let created = format!("{MINIMAL}outputs:\n  nsg: {{ priorities: 200-999 }}\n");
        let outputs = load_str(&created).unwrap().outputs;
        assert!(outputs.nsg && !outputs.nsg_existing);
    }

    #[test]
    fn a_container_registry_is_a_name_or_a_mapping_with_its_access() {
        let with = |value: &str| {
            MINIMAL.replace(
                "    compute_subnets",
                &format!("    container_registry: {value}\n    compute_subnets"),
            )
        };
        let plain = &load_str(&with("CrMlProd01")).unwrap().workspaces[0];
        assert_eq!(plain.container_registry.as_deref(), Some("crmlprod01"));
        assert!(!plain.registry_private_endpoint);
        let private = &load_str(&with("{ name: crmlprod01, access: private-endpoint }"))
            .unwrap()
            .workspaces[0];
        assert!(
            private.registry_private_endpoint
                && private.facts().contains("registry-private-endpoint")
        );
        for (value, code) in [
            ("{ access: private-endpoint }", "missing-field"),
            ("{ name: crmlprod01, acces: firewall }", "unknown-field"),
            ("{ name: crmlprod01, access: vpn }", "invalid-value"),
            ("{ name: cr.azurecr.io }", "invalid-container-registry"),
        ] {
            assert_eq!(codes(&with(value)), [code], "{value}");
        }
    }

    #[test]
    fn a_secured_azure_monitor_and_the_monitoring_feature_contradict_each_other() {
        let text = MINIMAL.replace(
            "    compute_subnets",
            "    azure_monitor: secured\n    features: [monitoring]\n    compute_subnets",
        );
        assert_eq!(
            places(&text),
            [(
                "invalid-value",
                6,
                20,
                "workspaces[0].azure_monitor".to_owned()
            )]
        );
        let secured = MINIMAL.replace(
            "    compute_subnets",
            "    azure_monitor: secured\n    compute_subnets",
        );
        let workspace = &load_str(&secured).unwrap().workspaces[0];
        assert!(!workspace.facts().contains("monitoring"));
        let workspace = &load_str(MINIMAL).unwrap().workspaces[0];
        assert!(workspace.facts().contains("monitoring"));
    }

    #[test]
    fn bad_layouts_bands_and_default_routes_are_refused_where_they_are() {
        let cases = [
            ("  layout: hub-and-spoke\n  nsg: true\n", "invalid-value", 8),
            ("  layout: split\n", "invalid-value", 8),
            (
                "  nsg: { priorities: 3499-3000 }\n",
                "priority-out-of-range",
                8,
            ),
            ("  nsg: { priorities: 50-99 }\n", "priority-out-of-range", 8),
            ("  nsg: { priorities: 3000 }\n", "priority-out-of-range", 8),
            ("  nsg: { existing: yes }\n", "invalid-type", 8),
            ("  nsg: { exists: true }\n", "unknown-field", 8),
            (
                "  route_table: { default_route: false, firewall_private_ip: 10.0.0.4 }\n",
                "invalid-value",
                8,
            ),
            ("  route_table: { existing: true }\n", "missing-field", 8),
        ];
        for (outputs, code, line) in cases {
            let text = format!("{MINIMAL}outputs:\n{outputs}");
            let found = places(&text);
            assert!(
                found.iter().any(|(c, l, _, _)| *c == code && *l == line),
                "{outputs}: {found:?}"
            );
        }
    }

    #[test]
    fn a_nul_byte_anywhere_is_an_invalid_character_with_its_line_and_column() {
        // In a comment, at a line start, after a value: each would end the parse there.
        let in_comment = format!("{MINIMAL}# \0\n{ROUTE}");
        assert_eq!(
            places(&in_comment),
            [("invalid-character", 7, 3, String::new())]
        );
        let line_start = format!("{MINIMAL}\0{ROUTE}");
        assert_eq!(
            places(&line_start),
            [("invalid-character", 7, 1, String::new())]
        );
        let after_value = MINIMAL.replace("cloud: public\n", "cloud: public\0\n");
        assert_eq!(
            places(&after_value),
            [("invalid-character", 2, 14, String::new())]
        );
        let diagnostic = &load_str(&in_comment).unwrap_err()[0];
        assert!(diagnostic.message.contains("U+0000"), "{diagnostic}");
        assert!(diagnostic.help.is_some());
    }

    #[test]
    fn every_character_yaml_forbids_is_reported_up_to_a_limit() {
        for bad in [
            '\u{1}', '\u{7}', '\u{1b}', '\u{7f}', '\u{80}', '\u{9f}', '\u{fffe}', '\u{ffff}',
        ] {
            let text = format!("{MINIMAL}# é {bad}\n");
            assert_eq!(
                places(&text),
                [("invalid-character", 7, 5, String::new())],
                "{bad:?}"
            );
        }
        // What YAML allows in a stream stays allowed.
        load_str(&format!("{MINIMAL}# tab\t, next line \u{85}, CR\r\n")).unwrap();
        let many = format!("{MINIMAL}# {}\n", "\0".repeat(25));
        let diagnostics = load_str(&many).unwrap_err();
        assert_eq!(diagnostics.len(), 21, "{diagnostics:?}");
        assert!(diagnostics.iter().all(|d| d.code == Code::InvalidCharacter));
        assert!(
            diagnostics[20].message.contains("5 more"),
            "{}",
            diagnostics[20]
        );
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped_and_columns_stay_right() {
        let scenario = load_str(&format!("\u{feff}{MINIMAL}")).unwrap();
        assert_eq!(scenario.workspaces[0].name, "mlw");
        let text = format!("\u{feff}{}", MINIMAL.replace("version: 1", "version: 2"));
        assert_eq!(
            places(&text),
            [("unsupported-version", 1, 10, "version".to_owned())]
        );
        let inside = MINIMAL.replace("cloud: public", "cloud: pub\u{feff}lic");
        assert_eq!(
            places(&inside),
            [("invalid-character", 2, 11, String::new())]
        );
    }

    #[test]
    fn a_million_character_value_gives_a_short_error() {
        let text = MINIMAL.replace("10.0.1.0/24", &"a".repeat(1_000_000));
        let stderr = crate::diagnostic::render_all(&load_str(&text).unwrap_err(), "the scenario");
        assert!(stderr.len() < 2048, "{} bytes", stderr.len());
    }

    #[test]
    fn reasons_refuse_characters_that_hide_or_reorder_text() {
        for hidden in [
            '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}',
            '\u{2028}', '\u{2029}', '\u{200b}', '\u{200d}', '\u{2060}', '\u{ad}',
        ] {
            let code = format!("U+{:04X}", u32::from(hidden));
            let text = format!(
                "{MINIMAL}    extra_fqdns: [{{ fqdn: github.com, ports: [443], reason: ab{hidden}c }}]\n"
            );
            let diagnostics = load_str(&text).unwrap_err();
            assert_eq!(diagnostics.len(), 1, "{code}: {diagnostics:?}");
            let diagnostic = &diagnostics[0];
            assert_eq!(diagnostic.code, Code::InvalidValue, "{code}");
            assert!(diagnostic.message.contains(&code), "{code}: {diagnostic}");
            // The column is the character's own: `reason: ab` ends at column 62.
            let position = diagnostic
                .location
                .as_ref()
                .and_then(|l| l.position.as_ref());
            assert_eq!(position.map(|p| p.col), Some(63), "{code}: {diagnostic}");
        }
        // Written as an escape, the byte order mark reaches the reason and is refused there.
        let text = format!(
            "{MINIMAL}    extra_fqdns: [{{ fqdn: github.com, ports: [443], reason: \"a\\uFEFF\" }}]\n"
        );
        let diagnostics = load_str(&text).unwrap_err();
        assert!(diagnostics[0].message.contains("U+FEFF"), "{diagnostics:?}");
    }

    #[test]
    fn an_extra_host_needs_at_least_one_port() {
        let text =
            format!("{MINIMAL}    extra_fqdns: [{{ fqdn: github.com, ports: [], reason: r }}]\n");
        assert_eq!(
            places(&text),
            [(
                "invalid-port",
                7,
                46,
                "workspaces[0].extra_fqdns[0].ports".to_owned()
            )]
        );
    }

    const SUBNET_A: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/a";

    #[test]
    fn a_subnet_id_given_twice_is_refused_naming_the_first() {
        let upper = SUBNET_A
            .to_uppercase()
            .replace("SUBSCRIPTIONS", "subscriptions");
        for (first, second) in [(SUBNET_A, SUBNET_A.to_owned()), (SUBNET_A, upper)] {
            let text =
                format!("{MINIMAL}    compute_subnet_ids:\n      - {first}\n      - {second}\n");
            assert_eq!(
                places(&text),
                [(
                    "duplicate-subnet-id",
                    9,
                    9,
                    "workspaces[0].compute_subnet_ids[1]".to_owned()
                )]
            );
            let diagnostic = &load_str(&text).unwrap_err()[0];
            let named = format!(
                "{}{}",
                diagnostic.message,
                diagnostic.help.as_deref().unwrap_or("")
            );
            assert!(
                named.contains("workspaces[0].compute_subnet_ids[0]") && named.contains("line 8"),
                "{diagnostic}"
            );
        }
        // In two workspaces: the second association would replace the first.
        let text = format!(
            "{MINIMAL}    compute_subnet_ids: [{SUBNET_A}]\n  - name: mlw2\n    region: westus\n    compute_subnets: [10.0.2.0/24]\n    compute_subnet_ids: [{SUBNET_A}]\n"
        );
        assert_eq!(
            places(&text),
            [(
                "duplicate-subnet-id",
                11,
                26,
                "workspaces[1].compute_subnet_ids[0]".to_owned()
            )]
        );
        assert!(
            load_str(&text).unwrap_err()[0]
                .to_string()
                .contains("workspaces[0].compute_subnet_ids[0]")
        );
    }

    #[test]
    fn a_compute_subnet_given_twice_in_a_workspace_is_refused() {
        let text = MINIMAL.replace("[10.0.1.0/24]", "[10.0.1.0/24, 10.0.2.0/24, 10.0.1.0/24]");
        assert_eq!(
            places(&text),
            [(
                "duplicate-subnet",
                6,
                49,
                "workspaces[0].compute_subnets[2]".to_owned()
            )]
        );
        // Two workspaces sharing a subnet merge harmlessly (`distinct`/`union` of sources).
        load_str(&format!(
            "{MINIMAL}  - name: mlw2\n    region: westus\n    compute_subnets: [10.0.1.0/24]\n"
        ))
        .unwrap();
    }

    /// The merged-sources finding, found by bisection, is the one the direct scan (aggregate
    /// the subnets of every prefix of the workspace list) gives, for every way of spreading
    /// halves of both families over three workspaces.
    #[test]
    fn merged_sources_covering_a_family_are_found_where_the_prefix_scan_finds_them() {
        let catalog = Catalog::embedded();
        let pool = [
            "0.0.0.0/1",
            "128.0.0.0/1",
            "::/1",
            "8000::/1",
            "10.0.0.0/24",
        ];
        let options: Vec<Vec<&str>> = (1..1_usize << pool.len())
            .map(|set| {
                let picked = pool
                    .iter()
                    .enumerate()
                    .filter(|(bit, _)| set >> bit & 1 == 1);
                picked.map(|(_, net)| *net).collect()
            })
            .collect();
        let count = options.len();
        for (a, b, c) in (0..count)
            .flat_map(|a| (0..count).flat_map(move |b| (0..count).map(move |c| (a, b, c))))
        {
            if (a * 31 + b * 7 + c) % 29 != 0 {
                continue; // every 29th of the 29,791 spreads keeps the test short
            }
            let spread = [&options[a], &options[b], &options[c]];
            let mut text = String::from("version: 1\ncloud: public\nworkspaces:\n");
            for (index, nets) in spread.iter().enumerate() {
                let quoted: Vec<String> = nets.iter().map(|net| format!("'{net}'")).collect();
                text.push_str(&format!(
                    "  - name: mlw{index}\n    region: eastus2\n    compute_subnets: [{}]\n",
                    quoted.join(", ")
                ));
            }
            let mut expected = Vec::new();
            let mut merged: Vec<IpNet> = Vec::new();
            let mut reported: Vec<IpNet> = Vec::new();
            for (index, nets) in spread.iter().enumerate() {
                let own: Vec<IpNet> = nets.iter().map(|net| net.parse().unwrap()).collect();
                merged.extend(&own);
                let Some(everything) = whole_address_family(&merged) else {
                    continue;
                };
                if reported.contains(&everything) {
                    continue;
                }
                reported.push(everything);
                if whole_address_family(&own) != Some(everything) {
                    expected.push(format!("workspaces[{index}].compute_subnets {everything}"));
                }
            }
            let found: Vec<String> = load(&text, "s.yaml", &catalog)
                .err()
                .unwrap_or_default()
                .iter()
                .filter(|d| d.message.contains("compute subnets of workspaces"))
                .map(|d| {
                    let everything = d.message.rsplit('`').nth(1).unwrap_or_default();
                    let path = &d.location.as_ref().expect("located").path;
                    format!("{path} {everything}")
                })
                .collect();
            assert_eq!(found, expected, "{text}");
        }
    }

    #[test]
    fn compute_subnets_covering_an_address_family_are_any_source() {
        for subnets in [
            "[0.0.0.0/0]",
            "[0.0.0.0/1, 128.0.0.0/1]",
            "['::/1', '8000::/1']",
            "[10.0.0.0/8, 0.0.0.0/1, 128.0.0.0/2, 192.0.0.0/2]",
        ] {
            let text = MINIMAL.replace("[10.0.1.0/24]", subnets);
            assert_eq!(
                places(&text),
                [(
                    "any-source",
                    6,
                    22,
                    "workspaces[0].compute_subnets".to_owned()
                )],
                "{subnets}"
            );
        }
        // Rules merge the sources of workspaces, so two halves in two workspaces are too.
        let text = format!(
            "{}  - name: mlw2\n    region: westus\n    compute_subnets: [128.0.0.0/1]\n",
            MINIMAL.replace("[10.0.1.0/24]", "[0.0.0.0/1]")
        );
        assert_eq!(
            places(&text),
            [(
                "any-source",
                9,
                22,
                "workspaces[1].compute_subnets".to_owned()
            )]
        );
        load_str(&MINIMAL.replace("[10.0.1.0/24]", "[0.0.0.0/1, 128.0.0.0/2]")).unwrap();
    }

    #[test]
    fn ports_covering_every_port_are_any_port() {
        for ports in [
            "['1-65535']",
            "['1-32767', '32768-65535']",
            "['1-40000', '30000-65534', 65535]",
        ] {
            let text = format!(
                "{MINIMAL}    extra_fqdns: [{{ fqdn: db.example.com, ports: {ports}, reason: r }}]\n"
            );
            assert_eq!(
                places(&text),
                [(
                    "any-port",
                    7,
                    50,
                    "workspaces[0].extra_fqdns[0].ports".to_owned()
                )],
                "{ports}"
            );
        }
        let text = format!(
            "{MINIMAL}    extra_fqdns: [{{ fqdn: db.example.com, ports: ['1-32767', '32769-65535'], reason: r }}]\n"
        );
        load_str(&text).unwrap();
    }

    #[test]
    fn the_same_host_listed_again_must_not_complete_every_port() {
        let text = format!(
            "{MINIMAL}    extra_fqdns:\n      - {{ fqdn: db.example.com, ports: ['1-32767'], reason: a }}\n      - {{ fqdn: DB.example.com, ports: ['32768-65535'], reason: b }}\n"
        );
        assert_eq!(
            places(&text),
            [(
                "any-port",
                9,
                40,
                "workspaces[0].extra_fqdns[1].ports".to_owned()
            )]
        );
        // Other hosts, and the same host in another workspace (other sources), are apart.
        let text = format!(
            "{MINIMAL}    extra_fqdns:\n      - {{ fqdn: db.example.com, ports: ['1-32767'], reason: a }}\n      - {{ fqdn: db2.example.com, ports: ['32768-65535'], reason: b }}\n  - name: mlw2\n    region: westus\n    compute_subnets: [10.0.2.0/24]\n    extra_fqdns: [{{ fqdn: db.example.com, ports: ['32768-65535'], reason: c }}]\n"
        );
        load_str(&text).unwrap();
    }

    #[test]
    fn wildcards_directly_under_a_public_suffix_are_refused() {
        for (fqdn, suffix, section) in [
            ("*.co.uk", "co.uk", "ICANN"),
            ("*.uk", "uk", "ICANN"),
            ("*.com", "com", "ICANN"),
            ("*.github.io", "github.io", "private"),
            ("*.azurewebsites.net", "azurewebsites.net", "private"),
            (
                "*.blob.core.windows.net",
                "blob.core.windows.net",
                "private",
            ),
            (
                "*.githubusercontent.com",
                "githubusercontent.com",
                "private",
            ),
        ] {
            let text = format!(
                "{MINIMAL}    extra_fqdns: [{{ fqdn: '{fqdn}', ports: [443], reason: r }}]\n"
            );
            let diagnostics = load_str(&text).unwrap_err();
            assert_eq!(diagnostics.len(), 1, "{fqdn}: {diagnostics:?}");
            assert_eq!(diagnostics[0].code, Code::InvalidFqdn, "{fqdn}");
            let help = diagnostics[0].help.as_deref().unwrap_or("");
            assert!(
                help.contains(&format!("`{suffix}`")) && help.contains(section),
                "{fqdn}: {help}"
            );
        }
        for fqdn in [
            "*.example.co.uk",
            "*.mlw.github.io",
            "*.stml.blob.core.windows.net",
            "*.actions.githubusercontent.com",
        ] {
            let text = format!(
                "{MINIMAL}    extra_fqdns: [{{ fqdn: '{fqdn}', ports: [443], reason: r }}]\n"
            );
            load_str(&text).unwrap_or_else(|d| panic!("{fqdn}: {d:?}"));
        }
    }
}
