//! `amlfw audit`: what a team already deployed, compared rule by rule with what the
//! scenario's plan requires. Pure: takes the bytes the CLI read, returns the report text and
//! the exit code, or every problem of the inputs at once.
//!
//! - [`input`] recognises each deployed file (`terraform show -json` of a plan or a state,
//!   Azure CLI JSON, an ARM template export) and decodes it into [`DeployedRule`]s, the one
//!   model the comparison reads;
//! - [`atoms`] knows how Azure evaluates a rule's parts (ports, protocols, service tags,
//!   host wildcards, prefixes) and answers "does this cover that" and "do these overlap";
//! - [`report`] gives every planned rule and every deployed allow rule its status and prints
//!   the report as text, Markdown or JSON (the contract is documented there).

pub mod atoms;
pub mod input;
pub mod report;

use std::path::Path;

use ipnet::IpNet;

use crate::catalog::{Catalog, Direction};
use crate::diagnostic::{Diagnostic, render_all};
use crate::planner::AddressOptions;
use crate::service_tags::ServiceTagFile;
use crate::{planner, scenario};

pub use input::InputFormat;
pub use report::ReportFormat;

/// Exit code when something planned is missing or partly covered, or a deployed rule is
/// invalid (or, with `--fail-on broader`, broader than required).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code for input the user must fix.
pub const EXIT_INPUT: u8 = 2;

/// Which kind of Azure object a deployed rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeployedKind {
    /// An Azure Firewall network rule (policy or classic).
    FirewallNetwork,
    /// An Azure Firewall application rule (policy or classic).
    FirewallApplication,
    /// A network security group rule.
    Nsg,
    /// A route of a route table.
    Route,
}

impl DeployedKind {
    /// The name the report prints, as the plan names its kinds.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DeployedKind::FirewallNetwork => "firewall-network",
            DeployedKind::FirewallApplication => "firewall-application",
            DeployedKind::Nsg => "nsg",
            DeployedKind::Route => "route",
        }
    }

    /// True for the two firewall kinds.
    #[must_use]
    pub fn is_firewall(self) -> bool {
        matches!(
            self,
            DeployedKind::FirewallNetwork | DeployedKind::FirewallApplication
        )
    }
}

/// A transport protocol of a network or NSG rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP.
    Icmp,
    /// Every protocol (`Any`, NSG `*`).
    Any,
}

impl Transport {
    /// Azure's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "TCP",
            Transport::Udp => "UDP",
            Transport::Icmp => "ICMP",
            Transport::Any => "Any",
        }
    }
}

/// An application rule protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WebProtocol {
    /// HTTP.
    Http,
    /// HTTPS.
    Https,
    /// MSSQL (application rules can name it; the plan never does).
    Mssql,
}

impl WebProtocol {
    /// Azure's spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            WebProtocol::Http => "Http",
            WebProtocol::Https => "Https",
            WebProtocol::Mssql => "Mssql",
        }
    }
}

/// One source or destination of a rule, classified the way Azure reads it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Address {
    /// Everything (`*`, `Any`).
    Any,
    /// An address prefix (a bare address is a host prefix).
    Cidr(IpNet),
    /// A service tag, as written (the comparison resolves its canonical casing).
    Tag(String),
    /// A host name, possibly a wildcard (`*.anaconda.com`, `*pytorch.org`, `*`).
    Fqdn(String),
    /// An application rule's FQDN tag (`AzureKubernetesService`).
    FqdnTag(String),
    /// A URL (Premium, TLS inspection).
    Url(String),
    /// An IP group whose prefixes the inputs do not hold (its id, as written).
    UnresolvedIpGroup(String),
}

impl Address {
    /// The text the report prints.
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Address::Any => "*".to_owned(),
            Address::Cidr(net) => net.to_string(),
            Address::Tag(text) | Address::Fqdn(text) | Address::Url(text) => text.clone(),
            Address::FqdnTag(text) => format!("FQDN tag {text}"),
            Address::UnresolvedIpGroup(id) => format!("IP group {id} (not in the inputs)"),
        }
    }
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Allow.
    Allow,
    /// Deny.
    Deny,
}

/// Where a rule stands in Azure's evaluation order: rules of one container (a firewall
/// policy, a classic firewall, an NSG and direction) are evaluated by these keys, lowest
/// first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Precedence {
    /// The firewall policy, classic firewall or NSG the rule belongs to.
    pub container: String,
    /// Rule collection group priority (0 for NSGs and classic firewalls).
    pub group: u32,
    /// Rule collection priority, or the NSG rule's priority.
    pub priority: u32,
}

/// One deployed rule, whatever file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedRule {
    /// The file, as the user named it.
    pub file: String,
    /// Where in the file: the Terraform address or resource, collection and rule.
    pub place: String,
    /// The rule's name.
    pub name: String,
    /// Firewall network or application rule, NSG rule or route.
    pub kind: DeployedKind,
    /// Inbound or outbound (firewall rules and routes: outbound).
    pub direction: Direction,
    /// Allow or deny.
    pub action: Action,
    /// Evaluation order.
    pub precedence: Precedence,
    /// Network and NSG rules: the protocols.
    pub transports: Vec<Transport>,
    /// Network and NSG rules: destination ports, inclusive spans (`*` is 1-65535).
    pub ports: Vec<(u16, u16)>,
    /// Application rules: protocol and port pairs.
    pub web: Vec<(WebProtocol, u16)>,
    /// Sources (routes: none).
    pub sources: Vec<Address>,
    /// Destinations (routes: the address prefix).
    pub destinations: Vec<Address>,
    /// Routes: the next hop type as written.
    pub next_hop: Option<String>,
    /// Routes: the next hop address.
    pub next_hop_ip: Option<String>,
}

/// How to audit.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// Decode every input as this format instead of recognising it.
    pub input_format: Option<InputFormat>,
    /// The report format.
    pub format: ReportFormat,
    /// Broader-than-required rules fail the run too.
    pub fail_on_broader: bool,
    /// Microsoft's service tag file: tag existence, and deployed prefixes matched to tags.
    pub service_tags: Option<&'a ServiceTagFile<'a>>,
}

/// What `amlfw audit` prints and returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The report.
    pub stdout: String,
    /// Diagnostics and the plan's warnings.
    pub stderr: String,
    /// 0, [`EXIT_FINDINGS`] or [`EXIT_INPUT`].
    pub code: u8,
}

/// `amlfw audit` on the bytes of the scenario (named `display`) and of each deployed file
/// (named as the user gave it): plans the scenario, decodes every input (every problem of
/// every file at once), compares and reports.
#[must_use]
pub fn run(
    scenario_bytes: &[u8],
    display: &str,
    catalog: &Catalog,
    deployed: &[(String, Vec<u8>)],
    options: Options<'_>,
) -> Outcome {
    let failure = |diagnostics: &[Diagnostic], what: &str| Outcome {
        stdout: String::new(),
        stderr: render_all(diagnostics, what),
        code: EXIT_INPUT,
    };
    let scenario = match scenario::load_bytes(scenario_bytes, display, catalog) {
        Ok(scenario) => scenario,
        Err(diagnostics) => return failure(&diagnostics, "the scenario"),
    };
    let address_options = AddressOptions {
        service_tags: options.service_tags,
        allow_global_tags: false,
    };
    let plan = match planner::plan_with(&scenario, catalog, address_options) {
        Ok(plan) => plan,
        Err(diagnostics) => return failure(&diagnostics, "the scenario"),
    };
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    let mut formats = Vec::new();
    let mut ip_groups = std::collections::BTreeMap::new();
    for (file, bytes) in deployed {
        match input::decode(file, bytes, options.input_format) {
            Ok(decoded) => {
                formats.push((file.clone(), decoded.format));
                rules.extend(decoded.rules);
                ip_groups.extend(decoded.ip_groups);
            }
            Err(diagnostics) => problems.extend(diagnostics),
        }
    }
    if !problems.is_empty() {
        return failure(&problems, "the deployed input");
    }
    input::resolve_ip_groups(&mut rules, &ip_groups);
    let scenario_name = Path::new(display)
        .file_name()
        .map_or_else(|| display.to_owned(), |n| n.to_string_lossy().into_owned());
    let tags = atoms::Tags::new(catalog, plan.cloud, options.service_tags);
    let audit = report::audit(&plan, &rules, &tags);
    let stdout = match options.format {
        ReportFormat::Text => audit.to_text(&scenario_name, &formats),
        ReportFormat::Markdown => audit.to_markdown(&scenario_name, &formats),
        ReportFormat::Json => audit.to_json(&scenario_name, &formats, options.fail_on_broader),
    };
    Outcome {
        stdout,
        stderr: plan.warnings_text(),
        code: audit.exit_code(options.fail_on_broader),
    }
}
