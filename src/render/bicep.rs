//! The Bicep target: the same rules as the Terraform module, as a Bicep module.
//!
//! Layout, per module (`bicep/`, or `hub/bicep/` and `spoke/bicep/` for `outputs.layout:
//! split`, see [`Part`]): `main.bicep` (deployed to the resource group of the compute
//! network: NSGs and route tables with inline rules and routes), `modules/rule-collection-group.bicep`
//! (the rule collection group, deployed by `main.bicep` into the firewall policy's own
//! resource group, which is usually in the hub subscription), `modules/nsg-rules-<region>.bicep`
//! and `modules/routes-<region>.bicep` (existing mode: child rules and routes of the NSG or
//! route table a region already has, deployed into that resource's resource group),
//! `modules/subnet-association.bicep` (create mode with subnet IDs: one PUT per compute
//! subnet that sets its NSG and route table), `main.bicepparam` (an example) and a
//! `README.md`. Collections, names and priorities come from the same layout as Terraform's,
//! so both targets carry identical rules (`tests/parity.rs` proves it).
//!
//! [`BicepModel`]'s fields are read by the templates; renaming one is a template change.

use serde::Serialize;

use crate::catalog::{Cloud, Direction};
use crate::plan::{DestinationType, Plan, PlannedRule, RuleKind};
use crate::render::filters::bicep_string;
use crate::render::layout::{
    self, Documentation, ModuleIdentity, Part, SharedSourceView, SharedSources, description,
    rule_comment,
};
use crate::render::mermaid::plan_mermaid;
use crate::render::terraform::nsg_protocol;
use crate::render::{RenderError, RenderedFiles, TemplateSet, engine, render_template};

/// Resource API version of every Microsoft.Network resource the module declares: a
/// current stable version, old enough to be available in Azure Government and China.
pub const API_VERSION: &str = "2025-05-01";
/// The parameter holding each workspace's compute subnet prefixes.
const PREFIXES_PARAMETER: &str = "computeSubnetAddressPrefixes";

/// The `environment().suffixes` a firewall destination may end with, and their values in
/// the public, US Government and China clouds (`Cloud::ALL`'s order), as Azure Resource
/// Manager returns them. A host ending with its cloud's value is written with the
/// interpolation, so Bicep's linter rule `no-hardcoded-env-urls` (which flags literal
/// `core.windows.net`, `vault.azure.net`, `database.windows.net`...) stays quiet.
const ENVIRONMENT_SUFFIXES: [(&str, [&str; 3]); 4] = [
    (
        "storage",
        [
            "core.windows.net",
            "core.usgovcloudapi.net",
            "core.chinacloudapi.cn",
        ],
    ),
    (
        "keyvaultDns",
        [
            ".vault.azure.net",
            ".vault.usgovcloudapi.net",
            ".vault.azure.cn",
        ],
    ),
    (
        "acrLoginServer",
        [".azurecr.io", ".azurecr.us", ".azurecr.cn"],
    ),
    (
        "sqlServerHostname",
        [
            ".database.windows.net",
            ".database.usgovcloudapi.net",
            ".database.chinacloudapi.cn",
        ],
    ),
];

/// `environment().name` in each cloud (`Cloud::ALL`'s order).
const ENVIRONMENT_NAMES: [&str; 3] = ["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"];

/// Everything the Bicep templates of one module ([`Part`]) print.
#[derive(Debug, Clone, Serialize)]
pub struct BicepModel {
    /// Header, scenario, catalog, cloud and rule collection group.
    #[serde(flatten)]
    pub identity: ModuleIdentity,
    /// Which resources this module holds: `combined`, `hub` or `spoke`.
    pub part: Part,
    /// The module's directory in the output directory (`bicep`, `hub/bicep`, `spoke/bicep`).
    pub directory: String,
    /// API version of the Microsoft.Network resources.
    pub api_version: String,
    /// `environment().name` of the scenario's cloud: the module's `environment()` hosts
    /// are the plan's only when it is deployed there.
    pub environment_name: String,
    /// Whether the module holds the rule collection group (and the firewall policy
    /// parameter).
    pub firewall: bool,
    /// Whether `main.bicep` declares `computeSubnetAddressPrefixes`: the firewall rules'
    /// sources, and the outbound NSG rules'.
    pub declares_prefixes: bool,
    /// Whether `main.bicep` declares `computeSubnetAddressPrefixesType` itself (a spoke has
    /// no rule collection group module to import it from).
    pub declares_prefixes_type: bool,
    /// The description of `computeSubnetAddressPrefixes`: what the prefixes are the sources
    /// of in this module.
    pub prefixes_description: String,
    /// Rule collections: network ones, then application ones, each in band order.
    pub collections: Vec<CollectionView>,
    /// The source lists the rule collection group's rules share (its `workspaceSources`).
    pub collection_sources: Vec<SharedSourceView>,
    /// The source lists the created NSGs' rules share (`main.bicep`'s `workspaceSources`).
    pub nsg_sources: Vec<SharedSourceView>,
    /// Workspaces and their compute subnet prefixes (the parameter's default).
    pub workspaces: Vec<WorkspaceView>,
    /// One NSG per region that the module creates.
    pub nsgs: Vec<NsgView>,
    /// One route table per region that the module creates.
    pub route_tables: Vec<RouteTableView>,
    /// Existing mode: the rules each region's existing NSG gets, one module per region.
    pub existing_nsgs: Vec<ExistingNsgView>,
    /// Existing mode: the routes each region's existing route table gets, one module per
    /// region.
    pub existing_route_tables: Vec<ExistingRouteTableView>,
    /// Whether `existingResourceType` is declared (either existing mode).
    pub has_existing: bool,
    /// The firewall's private IP, when the module holds routes.
    pub firewall_private_ip: Option<String>,
    /// Whether any NSG or route table is created (so the `tags` parameter exists).
    pub has_network_resources: bool,
    /// Create mode with subnet IDs: one association per compute subnet ID the scenario
    /// names, in the scenario's order.
    pub subnet_associations: Vec<SubnetAssociationView>,
    /// The workspaces that name compute subnet IDs: the keys of `computeSubnetResourceIds`.
    pub subnet_id_workspaces: Vec<SubnetIdsView>,
    /// Whether the associations set the subnets' NSG (created by this module).
    pub associate_nsg: bool,
    /// Whether the associations set the subnets' route table (created by this module).
    pub associate_route_table: bool,
    /// Whether `main.bicep` has any output (a spoke adding to existing NSGs and route
    /// tables has none).
    pub has_outputs: bool,
    /// `firewall.destinations: ip-addresses`: the rule collection group module declares
    /// its IP group parameter whether or not this catalog revision gives the scenario a
    /// service tag to expand (the interface follows the toggle, `tests/interface.rs`).
    pub ip_group_inputs: bool,
    /// IP groups, one per service tag, when the scenario asks for addresses.
    pub ip_groups: Vec<IpGroupView>,
    /// What the README says about the rules.
    pub docs: Documentation,
    /// The README's Mermaid flowchart of the plan, without the final newline.
    pub diagram: String,
}

/// The rules of one region's existing NSG: a module deployed into its resource group.
#[derive(Debug, Clone, Serialize)]
pub struct ExistingNsgView {
    /// Region.
    pub region: String,
    /// The module's symbol in `main.bicep`.
    pub symbol: String,
    /// The module file, relative to `main.bicep`.
    pub path: String,
    /// The module's deployment name.
    pub deployment_name: String,
    /// The region as a key of `existingNetworkSecurityGroupsType`.
    pub key: String,
    /// `existingNetworkSecurityGroups.<region>`: the caller's entry for the region.
    pub entry: String,
    /// The rules, each a child resource of the existing NSG, each after the one before.
    pub rules: Vec<NsgRuleView>,
    /// The source lists the rules share (the module's `workspaceSources`).
    pub sources: Vec<SharedSourceView>,
}

/// The routes of one region's existing route table: a module deployed into its resource
/// group.
#[derive(Debug, Clone, Serialize)]
pub struct ExistingRouteTableView {
    /// Region.
    pub region: String,
    /// The module's symbol in `main.bicep`.
    pub symbol: String,
    /// The module file, relative to `main.bicep`.
    pub path: String,
    /// The module's deployment name.
    pub deployment_name: String,
    /// The region as a key of `existingRouteTablesType`.
    pub key: String,
    /// `existingRouteTables.<region>`: the caller's entry for the region.
    pub entry: String,
    /// The routes, each a child resource of the existing route table, each after the one
    /// before.
    pub routes: Vec<RouteView>,
}

/// One compute subnet's association with its region's NSG and route table.
#[derive(Debug, Clone, Serialize)]
pub struct SubnetAssociationView {
    /// Position in the association list, from 1: the symbols' suffix. Workspace names are
    /// not symbols (`a-b` and `a_b` would both become `aB`).
    pub number: usize,
    /// Workspace name.
    pub workspace: String,
    /// Position of the ID in the workspace's list.
    pub index: usize,
    /// Region of the workspace: which NSG and route table.
    pub region: String,
    /// `computeSubnetResourceIds['<workspace>'][<index>]`.
    pub id_expression: String,
    /// The symbol of the region's NSG, when the association sets it.
    pub nsg_symbol: String,
    /// The symbol of the region's route table, when the association sets it.
    pub route_table_symbol: String,
}

/// A workspace's entry in `computeSubnetResourceIds`.
#[derive(Debug, Clone, Serialize)]
pub struct SubnetIdsView {
    /// The name as a key of the parameter's object and type.
    pub key: String,
    /// The IDs (the parameter's default).
    pub ids: Vec<String>,
}

/// One IP group resource.
#[derive(Debug, Clone, Serialize)]
pub struct IpGroupView {
    /// Bicep symbol.
    pub symbol: String,
    /// Group name.
    pub name: String,
    /// The service tag it stands for.
    pub service_tag: String,
    /// Its IPv4 prefixes.
    pub prefixes: Vec<String>,
}

/// A workspace's entry in the prefixes parameter.
#[derive(Debug, Clone, Serialize)]
pub struct WorkspaceView {
    /// Workspace name.
    pub name: String,
    /// The name as a key of the parameter's object and type.
    pub key: String,
    /// Compute subnet prefixes.
    pub prefixes: Vec<String>,
}

/// A firewall rule collection.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionView {
    /// Collection name.
    pub name: String,
    /// Collection priority.
    pub priority: u32,
    /// Rules, sorted by id.
    pub rules: Vec<RuleView>,
}

/// One firewall rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    /// `NetworkRule` or `ApplicationRule`.
    pub rule_type: String,
    /// Rule name (the plan's rule id).
    pub name: String,
    /// The comment line above the rule.
    pub comment: String,
    /// Description, at most 140 characters.
    pub description: String,
    /// Network rules: `TCP`, `UDP`, `Any`.
    pub ip_protocols: Vec<String>,
    /// Application rules: protocol and port pairs.
    pub protocols: Vec<ProtocolView>,
    /// The Bicep expression of the source addresses.
    pub source_expression: String,
    /// `destinationAddresses`, `destinationFqdns`, `targetFqdns`, `targetUrls` or
    /// `destinationIpGroups`.
    pub destination_field: String,
    /// The Bicep expression of each destination (quoted strings, or `ipGroupX.id`).
    pub destination_expressions: Vec<String>,
    /// Network rules: destination ports.
    pub ports: Vec<String>,
    /// Application rules with URLs: TLS inspection.
    pub terminate_tls: bool,
}

/// An application rule protocol.
#[derive(Debug, Clone, Serialize)]
pub struct ProtocolView {
    /// `Http` or `Https`.
    pub kind: String,
    /// Port.
    pub port: u16,
}

/// One network security group.
#[derive(Debug, Clone, Serialize)]
pub struct NsgView {
    /// Bicep symbol.
    pub symbol: String,
    /// Region (also the name suffix).
    pub region: String,
    /// The name: `'${nsgNamePrefix}-<region>'`, the region escaped inside the string.
    pub name_expression: String,
    /// The region as a key of the output object.
    pub key: String,
    /// Inline security rules.
    pub rules: Vec<NsgRuleView>,
}

/// One NSG security rule.
#[derive(Debug, Clone, Serialize)]
pub struct NsgRuleView {
    /// Bicep symbol, when the rule is a resource of its own (existing mode).
    pub symbol: String,
    /// The symbol of the rule it is deployed after (existing mode; empty for the first).
    pub after: String,
    /// Rule name (the plan's rule id).
    pub name: String,
    /// The comment line above the rule.
    pub comment: String,
    /// Description, at most 140 characters.
    pub description: String,
    /// Priority, unique per NSG and direction.
    pub priority: u32,
    /// `Inbound` or `Outbound`.
    pub direction: String,
    /// `Tcp`, `Udp` or `*`.
    pub protocol: String,
    /// `sourceAddressPrefix` (one tag) or `sourceAddressPrefixes` (CIDRs).
    pub source_field: String,
    /// The Bicep expression of the source.
    pub source_expression: String,
    /// The destination prefix (one tag).
    pub destination: String,
    /// `destinationPortRange` or `destinationPortRanges`.
    pub port_field: String,
    /// Ports.
    pub ports: Vec<String>,
}

/// One route table.
#[derive(Debug, Clone, Serialize)]
pub struct RouteTableView {
    /// Bicep symbol.
    pub symbol: String,
    /// Region.
    pub region: String,
    /// The name: `'${routeTableNamePrefix}-<region>'`, the region escaped inside the string.
    pub name_expression: String,
    /// The region as a key of the output object.
    pub key: String,
    /// Inline routes.
    pub routes: Vec<RouteView>,
}

/// One route.
#[derive(Debug, Clone, Serialize)]
pub struct RouteView {
    /// Bicep symbol, when the route is a resource of its own (existing mode).
    pub symbol: String,
    /// The symbol of the route it is deployed after (existing mode; empty for the first).
    pub after: String,
    /// Route name (the plan's rule id).
    pub name: String,
    /// The comment line above the route.
    pub comment: String,
    /// A CIDR or a service tag.
    pub address_prefix: String,
    /// `Internet` or `VirtualAppliance`.
    pub next_hop_type: String,
    /// Whether the next hop is the firewall's IP.
    pub via_firewall: bool,
}

/// Renders the Bicep modules of `plan`: one module, or a hub and a spoke module
/// (`outputs.layout: split`).
pub(crate) fn render(plan: &Plan, scenario_name: &str) -> Result<RenderedFiles, RenderError> {
    let mut files = RenderedFiles::new();
    for model in BicepModel::parts(plan, scenario_name)? {
        files.extend(render_model(&model)?);
    }
    Ok(files)
}

/// A per-region module's context: the module's model and the region's view.
#[derive(Serialize)]
struct RegionContext<'m, T: Serialize> {
    #[serde(flatten)]
    model: &'m BicepModel,
    region: &'m T,
}

/// Renders one module's files. Public so tests can render a deliberately broken model.
pub fn render_model(model: &BicepModel) -> Result<RenderedFiles, RenderError> {
    let tera = engine(TemplateSet::Bicep);
    let mut files = RenderedFiles::new();
    let mut put = |path: &str, text: String| {
        files.insert(model.part.path(&format!("bicep/{path}")), text);
    };
    let mut templates = vec!["main.bicep", "main.bicepparam", "README.md"];
    if model.firewall {
        templates.push("modules/rule-collection-group.bicep");
    }
    if !model.subnet_associations.is_empty() {
        templates.push("modules/subnet-association.bicep");
    }
    for path in templates {
        let template = format!("bicep/{path}");
        put(path, render_template(tera, &template, model)?);
    }
    for nsg in &model.existing_nsgs {
        let template = "bicep/modules/nsg-rules.bicep";
        let context = RegionContext { model, region: nsg };
        put(&nsg.path, render_template(tera, template, &context)?);
    }
    for table in &model.existing_route_tables {
        let template = "bicep/modules/routes.bicep";
        let context = RegionContext {
            model,
            region: table,
        };
        put(&table.path, render_template(tera, template, &context)?);
    }
    Ok(files)
}

impl BicepModel {
    /// The models of the modules the plan's layout asks for: one, or the hub's and the
    /// spoke's.
    pub fn parts(plan: &Plan, scenario_name: &str) -> Result<Vec<BicepModel>, RenderError> {
        Part::of(plan)
            .iter()
            .map(|part| BicepModel::new(plan, scenario_name, *part))
            .collect()
    }

    /// Builds the model of one module; fails only if the plan breaks an invariant (an
    /// amlfw bug).
    pub fn new(plan: &Plan, scenario_name: &str, part: Part) -> Result<BicepModel, RenderError> {
        // Symbols are printed bare: IP groups' from their names, NSGs' and route tables'
        // from the regions, existing mode's rules and routes from their ids.
        let ip_groups = plan
            .ip_groups
            .iter()
            .map(|g| &g.name)
            .chain(
                plan.rules
                    .iter()
                    .filter(|r| r.destination_type == DestinationType::IpGroups)
                    .flat_map(|r| r.destinations.iter()),
            )
            .map(|name| (name.clone(), ip_group_symbol(name)));
        let regions = plan.regions().into_iter().map(|region| {
            (
                region.clone(),
                format!("routeTable{}", symbol_suffix(&region)),
            )
        });
        let rules = plan
            .rules
            .iter()
            .filter(|r| matches!(r.kind, RuleKind::Nsg | RuleKind::Route))
            .map(|r| (r.id.clone(), rule_symbol("rule", &r.id)));
        layout::check_identifiers("bicep", false, ip_groups.chain(regions).chain(rules))?;
        let firewall = part.firewall();
        let network = part.network();
        let collection_shared = SharedSources::new(
            plan,
            plan.rules.iter().filter(|rule| {
                firewall
                    && matches!(
                        rule.kind,
                        RuleKind::FirewallNetwork | RuleKind::FirewallApplication
                    )
                    && layout::sources_are_compute_subnets(plan, rule)
            }),
        );
        let mut collections = Vec::new();
        for kind in [RuleKind::FirewallNetwork, RuleKind::FirewallApplication] {
            for collection in layout::collections(plan, kind)
                .into_iter()
                .filter(|_| firewall)
            {
                collections.push(CollectionView {
                    name: collection.name,
                    priority: collection.priority,
                    rules: collection
                        .rules
                        .into_iter()
                        .map(|rule| rule_view(plan, rule, &collection_shared))
                        .collect(),
                });
            }
        }
        let nsg = network && plan.outputs.nsg;
        let route_table = network && plan.outputs.route_table;
        let nsg_shared = if nsg {
            outbound_shared(plan, layout::nsg_rules(plan)?.into_iter().map(|(r, _)| r))
        } else {
            SharedSources::default()
        };
        let (nsgs, existing_nsgs) = match (nsg, plan.outputs.nsg_existing) {
            (false, _) => (Vec::new(), Vec::new()),
            (true, false) => (nsg_views(plan, &nsg_shared)?, Vec::new()),
            (true, true) => (Vec::new(), existing_nsg_views(plan, &nsg_shared)?),
        };
        let (route_tables, existing_route_tables) =
            match (route_table, plan.outputs.route_table_existing) {
                (false, _) => (Vec::new(), Vec::new()),
                (true, false) => (route_table_views(plan), Vec::new()),
                (true, true) => (Vec::new(), existing_route_table_views(plan)?),
            };
        let associate_nsg = !nsgs.is_empty();
        let associate_route_table = !route_tables.is_empty();
        let subnet_associations = if associate_nsg || associate_route_table {
            subnet_associations(plan, associate_nsg, associate_route_table)
        } else {
            Vec::new()
        };
        let has_network_resources = !nsgs.is_empty() || !route_tables.is_empty();
        Ok(BicepModel {
            identity: ModuleIdentity::new(plan, scenario_name, "//"),
            part,
            directory: part.directory("bicep"),
            api_version: API_VERSION.to_owned(),
            environment_name: ENVIRONMENT_NAMES[cloud_index(plan.cloud)].to_owned(),
            firewall,
            declares_prefixes: firewall || nsg,
            declares_prefixes_type: !firewall && nsg,
            prefixes_description: if firewall {
                "the sources of the firewall rules"
            } else {
                "the sources of the outbound NSG rules"
            }
            .to_owned(),
            collections,
            collection_sources: source_views(&collection_shared),
            nsg_sources: if plan.outputs.nsg_existing {
                Vec::new()
            } else {
                source_views(&nsg_shared)
            },
            workspaces: plan
                .workspaces
                .iter()
                .map(|w| WorkspaceView {
                    name: w.name.clone(),
                    key: object_key(&w.name),
                    prefixes: w.compute_subnets.clone(),
                })
                .collect(),
            subnet_id_workspaces: if subnet_associations.is_empty() {
                Vec::new()
            } else {
                plan.workspaces
                    .iter()
                    .filter(|w| !w.compute_subnet_ids.is_empty())
                    .map(|w| SubnetIdsView {
                        key: object_key(&w.name),
                        ids: w.compute_subnet_ids.clone(),
                    })
                    .collect()
            },
            subnet_associations,
            associate_nsg,
            associate_route_table,
            has_outputs: firewall || has_network_resources,
            has_network_resources,
            has_existing: !existing_nsgs.is_empty() || !existing_route_tables.is_empty(),
            nsgs,
            route_tables,
            existing_nsgs,
            existing_route_tables,
            firewall_private_ip: plan
                .outputs
                .firewall_private_ip
                .clone()
                .filter(|_| route_table),
            ip_group_inputs: firewall && plan.firewall.destinations == "ip-addresses",
            ip_groups: plan
                .ip_groups
                .iter()
                .filter(|_| firewall)
                .map(|group| IpGroupView {
                    symbol: ip_group_symbol(&group.name),
                    name: group.name.clone(),
                    service_tag: group.service_tag.clone(),
                    prefixes: group.prefixes.iter().map(ToString::to_string).collect(),
                })
                .collect(),
            docs: layout::module_documentation(plan, part),
            diagram: plan_mermaid(plan).trim_end().to_owned(),
        })
    }
}

fn rule_view(plan: &Plan, rule: &PlannedRule, shared: &SharedSources) -> RuleView {
    let cloud = plan.cloud;
    let network = rule.kind == RuleKind::FirewallNetwork;
    let destination_field = match (rule.destination_type, network) {
        (DestinationType::Fqdns, true) => "destinationFqdns",
        (DestinationType::Fqdns, false) => "targetFqdns",
        (DestinationType::Urls, _) => "targetUrls",
        (DestinationType::IpGroups, _) => "destinationIpGroups",
        (DestinationType::ServiceTags | DestinationType::Addresses, _) => "destinationAddresses",
    };
    let destination_expressions = rule
        .destinations
        .iter()
        .map(|destination| {
            if rule.destination_type == DestinationType::IpGroups {
                format!("{}.id", ip_group_symbol(destination))
            } else {
                host_expression(destination, cloud)
            }
        })
        .collect();
    RuleView {
        rule_type: if network {
            "NetworkRule"
        } else {
            "ApplicationRule"
        }
        .to_owned(),
        name: rule.id.clone(),
        comment: rule_comment(rule),
        description: description(&rule.purpose),
        ip_protocols: if network {
            rule.protocols.clone()
        } else {
            Vec::new()
        },
        protocols: rule
            .application_protocols
            .iter()
            .filter_map(|pair| {
                let (kind, port) = pair.split_once(':')?;
                Some(ProtocolView {
                    kind: kind.to_owned(),
                    port: port.parse().ok()?,
                })
            })
            .collect(),
        source_expression: if layout::sources_are_compute_subnets(plan, rule) {
            sources_expression(&rule.workspaces, shared)
        } else {
            // One item a line, indented like the template's other rule arrays.
            let items: String = rule
                .sources
                .iter()
                .map(|source| format!("\n              {}", quote(source)))
                .collect();
            format!("[{items}\n            ]")
        },
        destination_field: destination_field.to_owned(),
        destination_expressions,
        ports: if network {
            rule.ports.clone()
        } else {
            Vec::new()
        },
        terminate_tls: rule.terminate_tls,
    }
}

/// Position of `cloud` in `Cloud::ALL`, the order of the environment tables.
fn cloud_index(cloud: Cloud) -> usize {
    Cloud::ALL.iter().position(|c| *c == cloud).unwrap_or(0)
}

/// A destination (host, `*.host`, or host and path) as a Bicep string: the part that is
/// one of the cloud's `environment().suffixes` becomes that interpolation
/// (`'*.blob.${environment().suffixes.storage}'`), the rest is escaped text.
fn host_expression(destination: &str, cloud: Cloud) -> String {
    let host_end = destination.find(['/', ':']).unwrap_or(destination.len());
    let host = destination[..host_end].to_ascii_lowercase();
    for (name, values) in ENVIRONMENT_SUFFIXES {
        let value = values[cloud_index(cloud)];
        // A whole label: `storage` has no leading dot, so the host needs one before it;
        // and something before it, as no destination is a bare suffix.
        let Some(start) = host.len().checked_sub(value.len()) else {
            continue;
        };
        let at_label = value.starts_with('.') || host[..start].ends_with('.');
        if start > 0 && host.ends_with(value) && at_label {
            return format!(
                "'{}${{environment().suffixes.{name}}}{}'",
                string_inner(&destination[..start]),
                string_inner(&destination[host_end..])
            );
        }
    }
    quote(destination)
}

/// Text escaped as the inside of a Bicep string (without the quotes).
fn string_inner(text: &str) -> String {
    let quoted = bicep_string(text);
    quoted[1..quoted.len() - 1].to_owned()
}

/// `computeSubnetAddressPrefixes['w']` for one workspace, the file's shared list
/// (`workspaceSources['key']`) for several, and the `union` (which drops duplicates) only
/// for a set no shared list has (kept so a missed rule still renders correctly).
fn sources_expression(workspaces: &[String], shared: &SharedSources) -> String {
    if let Some(key) = shared.key_of(workspaces) {
        return format!("workspaceSources[{}]", quote(key));
    }
    let references: Vec<String> = workspaces.iter().map(|w| prefixes_reference(w)).collect();
    match references.as_slice() {
        [single] => single.clone(),
        _ => format!("union({})", references.join(", ")),
    }
}

/// `computeSubnetAddressPrefixes['w']`.
fn prefixes_reference(workspace: &str) -> String {
    format!("{PREFIXES_PARAMETER}[{}]", quote(workspace))
}

/// The shared source lists of the outbound ones of `rules` (NSG rules).
fn outbound_shared<'r>(
    plan: &Plan,
    rules: impl IntoIterator<Item = &'r PlannedRule>,
) -> SharedSources {
    SharedSources::new(
        plan,
        rules
            .into_iter()
            .filter(|rule| rule.direction == Direction::Outbound),
    )
}

/// The lists of `shared`, as the templates print them.
fn source_views(shared: &SharedSources) -> Vec<SharedSourceView> {
    shared.views(|_| true, quote, prefixes_reference)
}

/// The lists of `shared` that some of `sets` (rules' workspaces) refer to, sorted by key.
fn source_views_used<'w>(
    shared: &SharedSources,
    sets: impl IntoIterator<Item = &'w [String]>,
) -> Vec<SharedSourceView> {
    let used: std::collections::BTreeSet<&str> = sets
        .into_iter()
        .filter_map(|set| shared.key_of(set))
        .collect();
    shared.views(|key| used.contains(key), quote, prefixes_reference)
}

fn nsg_views(plan: &Plan, shared: &SharedSources) -> Result<Vec<NsgView>, RenderError> {
    let rules = layout::nsg_rules(plan)?;
    Ok(plan
        .regions()
        .into_iter()
        .map(|region| NsgView {
            symbol: format!("networkSecurityGroup{}", symbol_suffix(&region)),
            name_expression: prefixed_name("nsgNamePrefix", &region),
            key: object_key(&region),
            rules: rules
                .iter()
                .filter(|(rule, _)| rule.region.as_deref() == Some(region.as_str()))
                .map(|(rule, priority)| nsg_rule_view(rule, *priority, shared))
                .collect(),
            region,
        })
        .collect())
}

fn nsg_rule_view(rule: &PlannedRule, priority: u32, shared: &SharedSources) -> NsgRuleView {
    let (source_field, source_expression) = match rule.direction {
        Direction::Inbound => (
            "sourceAddressPrefix",
            quote(rule.sources.first().map_or("*", String::as_str)),
        ),
        Direction::Outbound => (
            "sourceAddressPrefixes",
            sources_expression(&rule.workspaces, shared),
        ),
    };
    NsgRuleView {
        symbol: rule_symbol("rule", &rule.id),
        after: String::new(),
        name: rule.id.clone(),
        comment: rule_comment(rule),
        description: description(&rule.purpose),
        priority,
        direction: match rule.direction {
            Direction::Inbound => "Inbound",
            Direction::Outbound => "Outbound",
        }
        .to_owned(),
        protocol: nsg_protocol(rule).to_owned(),
        source_field: source_field.to_owned(),
        source_expression,
        destination: rule
            .destinations
            .first()
            .cloned()
            .unwrap_or_else(|| "*".to_owned()),
        port_field: if rule.ports.len() == 1 {
            "destinationPortRange"
        } else {
            "destinationPortRanges"
        }
        .to_owned(),
        ports: rule.ports.clone(),
    }
}

fn route_table_views(plan: &Plan) -> Vec<RouteTableView> {
    let routes = layout::routes(plan);
    plan.regions()
        .into_iter()
        .map(|region| RouteTableView {
            symbol: format!("routeTable{}", symbol_suffix(&region)),
            name_expression: prefixed_name("routeTableNamePrefix", &region),
            key: object_key(&region),
            routes: routes
                .iter()
                .filter(|rule| rule.region.as_deref() == Some(region.as_str()))
                .map(|rule| RouteView {
                    symbol: rule_symbol("route", &rule.id),
                    after: String::new(),
                    name: rule.id.clone(),
                    comment: rule_comment(rule),
                    address_prefix: rule.destinations.first().cloned().unwrap_or_default(),
                    next_hop_type: rule.next_hop.clone().unwrap_or_default(),
                    via_firewall: rule.next_hop_ip.is_some(),
                })
                .collect(),
            region,
        })
        .collect()
}

/// Existing mode: each region's NSG rules, as child resources in a module of their own.
fn existing_nsg_views(
    plan: &Plan,
    shared: &SharedSources,
) -> Result<Vec<ExistingNsgView>, RenderError> {
    let nsgs = nsg_views(plan, shared)?;
    let rules = layout::nsg_rules(plan)?;
    for nsg in &nsgs {
        check_unique_symbols(nsg.rules.iter().map(|rule| &rule.symbol))?;
    }
    Ok(nsgs
        .into_iter()
        .map(|nsg| ExistingNsgView {
            symbol: format!("networkSecurityRules{}", symbol_suffix(&nsg.region)),
            path: format!("modules/nsg-rules-{}.bicep", nsg.region),
            deployment_name: quote(&format!("amlfw-nsg-rules-{}", nsg.region)),
            key: nsg.key,
            entry: member("existingNetworkSecurityGroups", &nsg.region),
            // The lists of all regions that this region's rules use, under the same keys.
            sources: source_views_used(
                shared,
                rules
                    .iter()
                    .filter(|(rule, _)| rule.region.as_deref() == Some(nsg.region.as_str()))
                    .filter(|(rule, _)| rule.direction == Direction::Outbound)
                    .map(|(rule, _)| rule.workspaces.as_slice()),
            ),
            rules: serialized(
                nsg.rules,
                |rule| &rule.symbol,
                |rule, after| {
                    rule.after = after;
                },
            ),
            region: nsg.region,
        })
        .collect())
}

/// Existing mode: each region's routes, as child resources in a module of their own.
fn existing_route_table_views(plan: &Plan) -> Result<Vec<ExistingRouteTableView>, RenderError> {
    let tables = route_table_views(plan);
    for table in &tables {
        check_unique_symbols(table.routes.iter().map(|route| &route.symbol))?;
    }
    Ok(tables
        .into_iter()
        .map(|table| ExistingRouteTableView {
            symbol: format!("routes{}", symbol_suffix(&table.region)),
            path: format!("modules/routes-{}.bicep", table.region),
            deployment_name: quote(&format!("amlfw-routes-{}", table.region)),
            key: table.key,
            entry: member("existingRouteTables", &table.region),
            routes: serialized(
                table.routes,
                |route| &route.symbol,
                |route, after| {
                    route.after = after;
                },
            ),
            region: table.region,
        })
        .collect())
}

/// Sets each item's `after` to the symbol of the item before it.
fn serialized<T>(
    mut items: Vec<T>,
    symbol: impl Fn(&T) -> &String,
    mut set_after: impl FnMut(&mut T, String),
) -> Vec<T> {
    for position in 1..items.len() {
        let before = symbol(&items[position - 1]).clone();
        set_after(&mut items[position], before);
    }
    items
}

/// One association per compute subnet ID, keyed by workspace and position like
/// Terraform's `<workspace>/<index>`: static, whatever the IDs are.
fn subnet_associations(plan: &Plan, nsg: bool, route_table: bool) -> Vec<SubnetAssociationView> {
    plan.workspaces
        .iter()
        .flat_map(|workspace| {
            (0..workspace.compute_subnet_ids.len()).map(move |index| (workspace, index))
        })
        .enumerate()
        .map(|(position, (workspace, index))| SubnetAssociationView {
            number: position + 1,
            workspace: workspace.name.clone(),
            index,
            region: workspace.region.clone(),
            id_expression: format!(
                "{}[{index}]",
                member("computeSubnetResourceIds", &workspace.name)
            ),
            nsg_symbol: if nsg {
                format!("networkSecurityGroup{}", symbol_suffix(&workspace.region))
            } else {
                String::new()
            },
            route_table_symbol: if route_table {
                format!("routeTable{}", symbol_suffix(&workspace.region))
            } else {
                String::new()
            },
        })
        .collect()
}

/// `inbound-x-eastus2` -> `ruleInboundXEastus2`, `route-x-eastus2` -> `routeXEastus2`: a
/// symbol from a rule id, without the prefix twice.
fn rule_symbol(prefix: &str, id: &str) -> String {
    let rest = id
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .unwrap_or(id);
    let words: String = rest.split(['-', '_', '.']).map(symbol_suffix).collect();
    format!("{prefix}{words}")
}

/// Refuses two rules of one module with the same symbol (`a-b` and `a_b`): Bicep would
/// refuse the module. Rule ids come from the catalog, so this is an amlfw bug.
fn check_unique_symbols<'a>(
    symbols: impl IntoIterator<Item = &'a String>,
) -> Result<(), RenderError> {
    let mut seen = std::collections::BTreeSet::new();
    for symbol in symbols {
        if !seen.insert(symbol) {
            return Err(RenderError {
                template: "bicep".to_owned(),
                cause: format!("two rules would be printed as the symbol `{symbol}`"),
            });
        }
    }
    Ok(())
}

/// `object.key` when the key is an identifier, else `object['key']`.
fn member(object: &str, key: &str) -> String {
    let accessor = object_key(key);
    if accessor.starts_with('\'') {
        format!("{object}[{accessor}]")
    } else {
        format!("{object}.{accessor}")
    }
}

/// `ipg-storage-eastus2` -> `ipGroupStorageEastus2`.
fn ip_group_symbol(name: &str) -> String {
    let words: String = name
        .trim_start_matches("ipg-")
        .split('-')
        .map(symbol_suffix)
        .collect();
    format!("ipGroup{words}")
}

/// `eastus2` -> `Eastus2`, for lowerCamelCase symbols such as `routeTableEastus2`.
fn symbol_suffix(region: &str) -> String {
    let mut chars = region.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// A Bicep string literal of text amlfw has validated (names, ids, tags, prefixes).
fn quote(text: &str) -> String {
    bicep_string(text)
}

/// `'${parameter}-suffix'`: the suffix escaped as the rest of a Bicep string.
fn prefixed_name(parameter: &str, suffix: &str) -> String {
    format!("'${{{parameter}}}-{}'", string_inner(suffix))
}

/// An object key: bare when it is an identifier (as Bicep writes them), else a string.
fn object_key(text: &str) -> String {
    let mut chars = text.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if identifier {
        text.to_owned()
    } else {
        bicep_string(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_of_merged_rules_are_the_union() {
        assert_eq!(
            sources_expression(&["a".into()], &SharedSources::default()),
            "computeSubnetAddressPrefixes['a']"
        );
        assert_eq!(
            sources_expression(&["a".into(), "b".into()], &SharedSources::default()),
            "union(computeSubnetAddressPrefixes['a'], computeSubnetAddressPrefixes['b'])"
        );
        assert_eq!(symbol_suffix("eastus2"), "Eastus2");
    }

    #[test]
    fn hosts_take_their_clouds_environment_suffix() {
        let host = |destination| host_expression(destination, Cloud::Public);
        assert_eq!(
            host("*.blob.core.windows.net"),
            "'*.blob.${environment().suffixes.storage}'"
        );
        assert_eq!(
            host("*.vault.azure.net"),
            "'*${environment().suffixes.keyvaultDns}'"
        );
        assert_eq!(
            host("cr.eastus2.data.azurecr.io"),
            "'cr.eastus2.data${environment().suffixes.acrLoginServer}'"
        );
        assert_eq!(
            host("st.blob.core.windows.net/a/${b}"),
            r"'st.blob.${environment().suffixes.storage}/a/\${b}'"
        );
        assert_eq!(
            host_expression("*.blob.core.usgovcloudapi.net", Cloud::Usgov),
            "'*.blob.${environment().suffixes.storage}'"
        );
        // Another cloud's suffix, a label that only ends like one, a bare suffix: literal.
        assert_eq!(
            host("*.blob.core.usgovcloudapi.net"),
            "'*.blob.core.usgovcloudapi.net'"
        );
        assert_eq!(host("xcore.windows.net"), "'xcore.windows.net'");
        assert_eq!(host("core.windows.net"), "'core.windows.net'");
        assert_eq!(host("graph.windows.net"), "'graph.windows.net'");
    }

    #[test]
    fn region_names_and_keys_stay_inside_their_syntax() {
        assert_eq!(
            prefixed_name("nsgNamePrefix", "eastus2"),
            "'${nsgNamePrefix}-eastus2'"
        );
        assert_eq!(
            prefixed_name("nsgNamePrefix", "x'${y}\n\u{202E}"),
            r"'${nsgNamePrefix}-x\'\${y}\u{000A}\u{202E}'"
        );
        assert_eq!(object_key("eastus2"), "eastus2");
        assert_eq!(object_key("a-b: c"), "'a-b: c'");
        assert_eq!(
            member("existingRouteTables", "eastus2"),
            "existingRouteTables.eastus2"
        );
        assert_eq!(
            member("computeSubnetResourceIds", "mlw-a"),
            "computeSubnetResourceIds['mlw-a']"
        );
    }

    #[test]
    fn child_symbols_come_from_rule_ids_and_each_follows_the_one_before() {
        assert_eq!(
            rule_symbol("route", "route-default-to-firewall-eastus2"),
            "routeDefaultToFirewallEastus2"
        );
        assert_eq!(
            rule_symbol("rule", "inbound-batch-eastus2"),
            "ruleInboundBatchEastus2"
        );
        let chained = serialized(
            vec![
                ("a".to_owned(), String::new()),
                ("b".to_owned(), String::new()),
            ],
            |item| &item.0,
            |item, after| item.1 = after,
        );
        assert_eq!(chained[0].1, "");
        assert_eq!(chained[1].1, "a");
        let twice = ["ruleAB".to_owned(), "ruleAB".to_owned()];
        assert!(check_unique_symbols(&twice).is_err());
        assert!(check_unique_symbols(&twice[..1]).is_ok());
    }
}
