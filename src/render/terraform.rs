//! The Terraform target: a module for azurerm 4.x, built from a plan.
//!
//! Layout (Azure Verified Modules conventions): `terraform.tf`, `variables.tf`,
//! `locals.tf` (the source lists rules share, and subnet association keys; only when there
//! are some), `main.tf` (the rule collection group),
//! `main.nsg.tf`, `main.route_table.tf` (when asked for), `outputs.tf` and a `README.md`
//! listing every rule. No provider block: the caller configures providers.
//!
//! Everything structural is decided here: collections grouped by concern with fixed
//! priority bands (a new rule changes one collection), rule names from requirement ids,
//! NSG priorities from catalog slots, resource addresses from rule ids (so Terraform state
//! keys never depend on positions). [`TerraformModel`]'s fields are read by the templates;
//! renaming one is a template change.

use serde::Serialize;

use crate::catalog::Direction;
use crate::plan::{DestinationType, Plan, PlannedRule, RuleKind};
use crate::render::filters::{align_hcl, hcl_string};
use crate::render::layout::{
    self, Documentation, ModuleIdentity, Part, SharedSourceView, SharedSources, description,
    rule_comment,
};
use crate::render::mermaid::plan_mermaid;
use crate::render::{RenderError, RenderedFiles, TemplateSet, engine, render_template};

/// The name of the variable holding each workspace's compute subnet prefixes.
const PREFIXES_VARIABLE: &str = "compute_subnet_address_prefixes";

/// Everything the Terraform templates print.
#[derive(Debug, Serialize)]
pub struct TerraformModel {
    /// Header, scenario, catalog, cloud and rule collection group.
    #[serde(flatten)]
    pub identity: ModuleIdentity,
    /// Which resources this module holds: `combined`, `hub` or `spoke`.
    pub part: Part,
    /// The module's directory from the output directory's parent, as a `source`
    /// (`./terraform`, `./hub/terraform`, `./spoke/terraform`).
    pub module_source: String,
    /// Whether the module holds the rule collection group (and the firewall policy input).
    pub firewall: bool,
    /// Whether the module declares `compute_subnet_address_prefixes`: the firewall rules'
    /// sources, and the outbound NSG rules'.
    pub declares_prefixes: bool,
    /// Whether the module has any output (a spoke adding to existing NSGs and route
    /// tables has none).
    pub has_outputs: bool,
    /// `outputs.nsg.priorities` as `FIRST-LAST`, for the README.
    pub nsg_priorities: String,
    /// The description of `compute_subnet_address_prefixes`: what the prefixes are the
    /// sources of in this module.
    pub prefixes_description: String,
    /// Network rule collections, in band order.
    pub network_collections: Vec<CollectionView>,
    /// Application rule collections, in band order.
    pub application_collections: Vec<CollectionView>,
    /// Workspaces and their compute subnet prefixes (the prefixes variable's default).
    pub workspaces: Vec<WorkspaceView>,
    /// Workspace names, for the prefixes variable's validation.
    pub workspace_names: Vec<String>,
    /// All regions of the scenario.
    pub regions: Vec<String>,
    /// The NSGs, when asked for.
    pub nsg: Option<NsgView>,
    /// The route tables, when asked for.
    pub route_table: Option<RouteTableView>,
    /// Whether the module associates NSGs or route tables with subnets.
    pub associate_subnets: bool,
    /// The source lists several rules share (`local.workspace_sources`), sorted by key.
    pub shared_sources: Vec<SharedSourceView>,
    /// The associations, one per compute subnet ID the scenario names: the `for_each`
    /// keys, static so that Terraform knows them at plan time whatever the IDs are.
    pub subnet_associations: Vec<SubnetAssociationView>,
    /// `{ "w" = 2, ... }`: how many subnet IDs each workspace that names some has, for the
    /// validation of `compute_subnet_ids` (an HCL object of literals).
    pub subnet_id_counts: String,
    /// The same in words, for the validation's error message.
    pub subnet_id_counts_text: String,
    /// Whether NSGs or route tables are created (so a resource group is needed).
    pub needs_resource_group: bool,
    /// Whether any resource can take the `tags` variable (NSGs, route tables, IP groups).
    pub has_tags_variable: bool,
    /// `firewall.destinations: ip-addresses`: the module declares the IP group inputs,
    /// whether or not this catalog revision gives the scenario a service tag to expand.
    /// The interface follows the toggle, never the rules (`tests/interface.rs`).
    pub ip_group_inputs: bool,
    /// IP groups, one per service tag, when the scenario asks for addresses.
    pub ip_groups: Vec<IpGroupView>,
    /// What the README says about the rules.
    pub docs: Documentation,
    /// The README's Mermaid flowchart of the plan, without the final newline.
    pub diagram: String,
    /// `moved` blocks for rules whose requirement was renamed (`moved.tf`, when any).
    pub moved: Vec<MovedView>,
}

/// A `moved` block: one NSG rule or route whose resource name changed with its
/// requirement's id, so Terraform moves its state instead of destroying it.
#[derive(Debug, Serialize)]
pub struct MovedView {
    /// The resource type (`azurerm_network_security_rule`, `azurerm_route`).
    pub resource_type: String,
    /// The resource name the old requirement id gave.
    pub from: String,
    /// The resource name now.
    pub to: String,
}

/// One IP group resource.
#[derive(Debug, Serialize)]
pub struct IpGroupView {
    /// Terraform resource name.
    pub resource: String,
    /// Group name.
    pub name: String,
    /// The service tag it stands for.
    pub service_tag: String,
    /// Its IPv4 prefixes.
    pub prefixes: Vec<String>,
}

/// A workspace's entry in the variables.
#[derive(Debug, Serialize)]
pub struct WorkspaceView {
    /// Workspace name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Compute subnet prefixes.
    pub prefixes: Vec<String>,
    /// Compute subnet resource IDs.
    pub subnet_ids: Vec<String>,
}

/// One subnet association of the NSG and the route table of a region.
#[derive(Debug, Serialize)]
pub struct SubnetAssociationView {
    /// The `for_each` key: `<workspace>/<index>`, from the scenario alone.
    pub key: String,
    /// Workspace name: the key in `var.compute_subnet_ids`.
    pub workspace: String,
    /// Position of the ID in the workspace's list.
    pub index: usize,
    /// Region of the workspace: which NSG and route table.
    pub region: String,
}

/// A firewall rule collection.
#[derive(Debug, Serialize)]
pub struct CollectionView {
    /// Collection name.
    pub name: String,
    /// Collection priority (fixed per kind and concern).
    pub priority: u32,
    /// Its rules, sorted by id.
    pub rules: Vec<FirewallRuleView>,
}

/// One firewall rule.
#[derive(Debug, Serialize)]
pub struct FirewallRuleView {
    /// Rule name (the plan's rule id).
    pub name: String,
    /// The comment line above the rule: requirements and article sections.
    pub comment: String,
    /// Description (purpose), at most 140 characters.
    pub description: String,
    /// Network rules: `TCP`, `UDP`, `Any`.
    pub protocols: Vec<String>,
    /// The HCL expression of the source addresses.
    pub source_expression: String,
    /// `destination_addresses`, `destination_fqdns`, `destination_urls` or
    /// `destination_ip_groups`.
    pub destination_field: String,
    /// The HCL expression of the destinations.
    pub destination_expression: String,
    /// Network rules: destination ports.
    pub ports: Vec<String>,
    /// Application rules: protocol blocks.
    pub application_protocols: Vec<ProtocolView>,
    /// Application rules with URLs: TLS inspection.
    pub terminate_tls: bool,
}

/// An application rule `protocols` block.
#[derive(Debug, Serialize)]
pub struct ProtocolView {
    /// `Http` or `Https`.
    pub kind: String,
    /// Port.
    pub port: u16,
}

/// The network security groups, one per region.
#[derive(Debug, Serialize)]
pub struct NsgView {
    /// Regions that get an NSG (or have the existing one the rules join).
    pub regions: Vec<String>,
    /// The regions in words, for messages.
    pub regions_text: String,
    /// Whether the module creates the NSGs (`false`: `outputs.nsg.existing`).
    pub create: bool,
    /// Whether the module associates its NSGs with the compute subnets.
    pub associate: bool,
    /// The rules, one resource each.
    pub rules: Vec<NsgRuleView>,
}

/// One NSG rule resource.
#[derive(Debug, Serialize)]
pub struct NsgRuleView {
    /// Terraform resource name (snake case of the rule id).
    pub resource: String,
    /// Rule name (the plan's rule id).
    pub name: String,
    /// The comment line above the resource.
    pub comment: String,
    /// Description, at most 140 characters.
    pub description: String,
    /// Region of the NSG.
    pub region: String,
    /// The HCL expression of the NSG's name (the created one's, or the existing one's input).
    pub nsg_name_expression: String,
    /// The HCL expression of the NSG's resource group.
    pub resource_group_expression: String,
    /// Priority, unique per NSG and direction.
    pub priority: u32,
    /// `Inbound` or `Outbound`.
    pub direction: String,
    /// `Tcp`, `Udp` or `*`.
    pub protocol: String,
    /// `source_address_prefix` (one tag) or `source_address_prefixes` (CIDRs).
    pub source_field: String,
    /// The HCL expression of the source.
    pub source_expression: String,
    /// `destination_address_prefix` or `destination_address_prefixes`.
    pub destination_field: String,
    /// The HCL expression of the destination.
    pub destination_expression: String,
    /// `destination_port_range` or `destination_port_ranges`.
    pub port_field: String,
    /// The HCL expression of the ports.
    pub port_expression: String,
}

/// The route tables, one per region.
#[derive(Debug, Serialize)]
pub struct RouteTableView {
    /// Regions that get a route table (or have the existing one the routes join).
    pub regions: Vec<String>,
    /// The regions in words, for messages.
    pub regions_text: String,
    /// Whether the module creates the route tables (`false`: `outputs.route_table.existing`).
    pub create: bool,
    /// Whether the module associates its route tables with the compute subnets.
    pub associate: bool,
    /// The routes, one resource each.
    pub routes: Vec<RouteView>,
    /// The firewall's private IP (the variable's default), when a route goes to it
    /// (none with `default_route: false`).
    pub firewall_private_ip: Option<String>,
}

/// One route resource.
#[derive(Debug, Serialize)]
pub struct RouteView {
    /// Terraform resource name.
    pub resource: String,
    /// Route name (the plan's rule id).
    pub name: String,
    /// The comment line above the resource.
    pub comment: String,
    /// Region of the route table.
    pub region: String,
    /// The HCL expression of the route table's name.
    pub route_table_name_expression: String,
    /// The HCL expression of the route table's resource group.
    pub resource_group_expression: String,
    /// Address prefix: a CIDR or a service tag.
    pub address_prefix: String,
    /// `Internet` or `VirtualAppliance`.
    pub next_hop_type: String,
    /// Whether the next hop is the firewall's IP.
    pub via_firewall: bool,
}

/// Renders the Terraform module files of `plan`: one module, or a hub and a spoke module
/// (`outputs.layout: split`).
pub(crate) fn render(plan: &Plan, scenario_name: &str) -> Result<RenderedFiles, RenderError> {
    let mut files = RenderedFiles::new();
    for part in Part::of(plan) {
        render_part(plan, scenario_name, *part, &mut files)?;
    }
    Ok(files)
}

fn render_part(
    plan: &Plan,
    scenario_name: &str,
    part: Part,
    files: &mut RenderedFiles,
) -> Result<(), RenderError> {
    let model = TerraformModel::new(plan, scenario_name, part)?;
    let tera = engine(TemplateSet::Terraform);
    let wanted = [
        ("terraform/terraform.tf", true),
        ("terraform/variables.tf", true),
        (
            "terraform/locals.tf",
            model.associate_subnets || !model.shared_sources.is_empty(),
        ),
        ("terraform/main.tf", model.firewall),
        ("terraform/main.nsg.tf", model.nsg.is_some()),
        ("terraform/main.route_table.tf", model.route_table.is_some()),
        ("terraform/main.ip_groups.tf", !model.ip_groups.is_empty()),
        ("terraform/moved.tf", !model.moved.is_empty()),
        ("terraform/outputs.tf", model.has_outputs),
        ("terraform/README.md", true),
    ];
    for (template, is_wanted) in wanted {
        if !is_wanted {
            continue;
        }
        let text = render_template(tera, template, &model)?;
        let text = if template.ends_with(".tf") {
            align_hcl(&text)
        } else {
            text
        };
        files.insert(part.path(template), text);
    }
    Ok(())
}

impl TerraformModel {
    /// Builds the model; fails only if the plan breaks an invariant (an amlfw bug).
    pub fn new(
        plan: &Plan,
        scenario_name: &str,
        part: Part,
    ) -> Result<TerraformModel, RenderError> {
        // Resource names are printed bare in references (`azurerm_ip_group.x.id`).
        let ip_group_destinations = plan
            .rules
            .iter()
            .filter(|r| r.destination_type == DestinationType::IpGroups)
            .flat_map(|r| r.destinations.iter());
        let resources = plan
            .rules
            .iter()
            .filter(|r| matches!(r.kind, RuleKind::Nsg | RuleKind::Route))
            .map(|r| &r.id)
            .chain(plan.ip_groups.iter().map(|g| &g.name))
            .chain(ip_group_destinations);
        layout::check_identifiers(
            "terraform",
            true,
            resources.map(|name| (name.clone(), resource_name(name))),
        )?;
        let workspaces: Vec<WorkspaceView> = plan
            .workspaces
            .iter()
            .map(|workspace| WorkspaceView {
                name: workspace.name.clone(),
                region: workspace.region.clone(),
                prefixes: workspace.compute_subnets.clone(),
                subnet_ids: workspace.compute_subnet_ids.clone(),
            })
            .collect();
        let has_subnet_ids = workspaces.iter().any(|w| !w.subnet_ids.is_empty());
        let network = part.network();
        let firewall = part.firewall();
        let shared = shared_sources(plan, firewall, network)?;
        let nsg = (network && plan.outputs.nsg)
            .then(|| nsg_view(plan, has_subnet_ids, &shared))
            .transpose()?;
        let ip_group_inputs = firewall && plan.firewall.destinations == "ip-addresses";
        let route_table = (network && plan.outputs.route_table).then(|| {
            route_table_view(
                plan,
                plan.outputs.firewall_private_ip.as_deref(),
                has_subnet_ids,
            )
        });
        let creates_nsg = nsg.as_ref().is_some_and(|n| n.create);
        let creates_route_table = route_table.as_ref().is_some_and(|r| r.create);
        let associate_subnets = nsg.as_ref().is_some_and(|n| n.associate)
            || route_table.as_ref().is_some_and(|r| r.associate);
        // Keyed by workspace name and position, never by the IDs: a caller may pass IDs of
        // subnets created in the same apply, unknown until then, and `for_each` keys must be
        // known at plan time.
        let subnet_associations: Vec<SubnetAssociationView> = workspaces
            .iter()
            .flat_map(|workspace| {
                (0..workspace.subnet_ids.len()).map(|index| SubnetAssociationView {
                    key: format!("{}/{index}", workspace.name),
                    workspace: workspace.name.clone(),
                    index,
                    region: workspace.region.clone(),
                })
            })
            .collect();
        let counts: Vec<(&str, usize)> = workspaces
            .iter()
            .filter(|w| !w.subnet_ids.is_empty())
            .map(|w| (w.name.as_str(), w.subnet_ids.len()))
            .collect();
        let subnet_id_counts = format!(
            "{{ {} }}",
            counts
                .iter()
                .map(|(name, count)| format!("{} = {count}", quote(name)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let subnet_id_counts_text = counts
            .iter()
            .map(|(name, count)| format!("{name}: {count}"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(TerraformModel {
            identity: ModuleIdentity::new(plan, scenario_name, "#"),
            part,
            module_source: format!("./{}", part.directory("terraform")),
            firewall,
            declares_prefixes: firewall || nsg.is_some(),
            has_outputs: firewall || creates_nsg || creates_route_table,
            nsg_priorities: format!(
                "{}-{}",
                plan.outputs.nsg_priorities.first, plan.outputs.nsg_priorities.last
            ),
            prefixes_description: format!(
                "Address prefixes of each workspace's compute subnets, by workspace name: the sources of the {}. Defaults come from the scenario.",
                if firewall {
                    "firewall rules"
                } else {
                    "outbound NSG rules"
                }
            ),
            subnet_associations,
            subnet_id_counts,
            subnet_id_counts_text,
            network_collections: if firewall {
                collections(plan, RuleKind::FirewallNetwork, &shared)
            } else {
                Vec::new()
            },
            application_collections: if firewall {
                collections(plan, RuleKind::FirewallApplication, &shared)
            } else {
                Vec::new()
            },
            shared_sources: shared.views(|_| true, quote, prefixes_reference),
            workspace_names: workspaces.iter().map(|w| w.name.clone()).collect(),
            workspaces,
            regions: plan.regions(),
            associate_subnets,
            needs_resource_group: creates_nsg || creates_route_table,
            has_tags_variable: creates_nsg || creates_route_table || ip_group_inputs,
            ip_group_inputs,
            nsg,
            route_table,
            ip_groups: plan
                .ip_groups
                .iter()
                .filter(|_| firewall)
                .map(|group| IpGroupView {
                    resource: resource_name(&group.name),
                    name: group.name.clone(),
                    service_tag: group.service_tag.clone(),
                    prefixes: group.prefixes.iter().map(ToString::to_string).collect(),
                })
                .collect(),
            docs: layout::module_documentation(plan, part),
            diagram: plan_mermaid(plan).trim_end().to_owned(),
            moved: if network {
                moved_blocks(plan)
            } else {
                Vec::new()
            },
        })
    }
}

/// One `moved` block per NSG rule or route whose id starts with its requirement's id and
/// whose requirement lists previous ids: the old address is the rule id with the previous
/// id in front. A previous id that still names a resource of this module is skipped
/// (Terraform refuses to move an object that is still declared), and when a split gives
/// two rules the same old address, the first rule (by id) takes it: Terraform refuses two
/// moves from one address, and the other rule is created.
fn moved_blocks(plan: &Plan) -> Vec<MovedView> {
    let resource_type = |kind: RuleKind| match kind {
        RuleKind::Nsg => Some("azurerm_network_security_rule"),
        RuleKind::Route => Some("azurerm_route"),
        RuleKind::FirewallNetwork | RuleKind::FirewallApplication => None,
    };
    let declared: std::collections::BTreeSet<(&str, String)> = plan
        .rules
        .iter()
        .filter_map(|r| Some((resource_type(r.kind)?, resource_name(&r.id))))
        .collect();
    let mut rules: Vec<&PlannedRule> = plan.rules.iter().collect();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    let mut taken = std::collections::BTreeSet::new();
    let mut moved = Vec::new();
    for rule in rules {
        let (Some(kind), Some(requirement)) = (resource_type(rule.kind), rule.requirements.first())
        else {
            continue;
        };
        let Some(suffix) = rule.id.strip_prefix(requirement.as_str()) else {
            continue;
        };
        for previous in &rule.previous_requirement_ids {
            let from = resource_name(&format!("{previous}{suffix}"));
            if declared.contains(&(kind, from.clone())) || !taken.insert((kind, from.clone())) {
                continue;
            }
            moved.push(MovedView {
                resource_type: kind.to_owned(),
                from,
                to: resource_name(&rule.id),
            });
        }
    }
    moved
}

/// The source lists of the module's rules that several of them share: the firewall rules
/// whose sources are their workspaces' compute subnets, and the outbound NSG rules.
fn shared_sources(
    plan: &Plan,
    firewall: bool,
    network: bool,
) -> Result<SharedSources, RenderError> {
    let firewall_rules = plan.rules.iter().filter(|rule| {
        firewall
            && matches!(
                rule.kind,
                RuleKind::FirewallNetwork | RuleKind::FirewallApplication
            )
            && layout::sources_are_compute_subnets(plan, rule)
    });
    let nsg_rules = if network && plan.outputs.nsg {
        layout::nsg_rules(plan)?
    } else {
        Vec::new()
    };
    let outbound = nsg_rules
        .into_iter()
        .map(|(rule, _)| rule)
        .filter(|rule| rule.direction == Direction::Outbound);
    Ok(SharedSources::new(plan, firewall_rules.chain(outbound)))
}

fn collections(plan: &Plan, kind: RuleKind, shared: &SharedSources) -> Vec<CollectionView> {
    layout::collections(plan, kind)
        .into_iter()
        .map(|collection| CollectionView {
            name: collection.name,
            priority: collection.priority,
            rules: collection
                .rules
                .into_iter()
                .map(|rule| firewall_rule(plan, rule, shared))
                .collect(),
        })
        .collect()
}

fn firewall_rule(plan: &Plan, rule: &PlannedRule, shared: &SharedSources) -> FirewallRuleView {
    let destination_field = match rule.destination_type {
        DestinationType::Fqdns => "destination_fqdns",
        DestinationType::Urls => "destination_urls",
        DestinationType::IpGroups => "destination_ip_groups",
        DestinationType::ServiceTags | DestinationType::Addresses => "destination_addresses",
    };
    let destination_expression = if rule.destination_type == DestinationType::IpGroups {
        let references: Vec<String> = rule
            .destinations
            .iter()
            .map(|name| format!("azurerm_ip_group.{}.id", resource_name(name)))
            .collect();
        format!("[{}]", references.join(", "))
    } else {
        list(&rule.destinations)
    };
    let application_protocols = rule
        .application_protocols
        .iter()
        .filter_map(|pair| {
            let (kind, port) = pair.split_once(':')?;
            Some(ProtocolView {
                kind: kind.to_owned(),
                port: port.parse().ok()?,
            })
        })
        .collect();
    FirewallRuleView {
        name: rule.id.clone(),
        comment: rule_comment(rule),
        description: description(&rule.purpose),
        protocols: rule.protocols.clone(),
        source_expression: if layout::sources_are_compute_subnets(plan, rule) {
            sources_expression(&rule.workspaces, shared)
        } else {
            list(&rule.sources)
        },
        destination_field: destination_field.to_owned(),
        destination_expression,
        ports: rule.ports.clone(),
        application_protocols,
        terminate_tls: rule.terminate_tls,
    }
}

/// `var.compute_subnet_address_prefixes["w"]` for one workspace, the shared list
/// (`local.workspace_sources["key"]`) for several, and the distinct union only for a set
/// no shared list has (which [`shared_sources`] prevents; kept so a missed rule still
/// renders correctly).
fn sources_expression(workspaces: &[String], shared: &SharedSources) -> String {
    if let Some(key) = shared.key_of(workspaces) {
        return format!("local.workspace_sources[{}]", quote(key));
    }
    let references: Vec<String> = workspaces.iter().map(|w| prefixes_reference(w)).collect();
    match references.as_slice() {
        [single] => single.clone(),
        _ => format!("distinct(concat({}))", references.join(", ")),
    }
}

/// `var.compute_subnet_address_prefixes["w"]`.
fn prefixes_reference(workspace: &str) -> String {
    format!("var.{PREFIXES_VARIABLE}[{}]", quote(workspace))
}

fn nsg_view(
    plan: &Plan,
    has_subnet_ids: bool,
    shared: &SharedSources,
) -> Result<NsgView, RenderError> {
    let create = !plan.outputs.nsg_existing;
    let mut rules = Vec::new();
    for (rule, priority) in layout::nsg_rules(plan)? {
        let (source_field, source_expression) = match rule.direction {
            Direction::Inbound => (
                "source_address_prefix",
                quote(rule.sources.first().map_or("*", String::as_str)),
            ),
            Direction::Outbound => (
                "source_address_prefixes",
                sources_expression(&rule.workspaces, shared),
            ),
        };
        let destination = rule.destinations.first().map_or("*", String::as_str);
        let (port_field, port_expression) = match rule.ports.as_slice() {
            [single] => ("destination_port_range", quote(single)),
            ports => ("destination_port_ranges", list(ports)),
        };
        let region = rule.region.clone().unwrap_or_default();
        let (nsg_name_expression, resource_group_expression) =
            parent_expressions(create, "network_security_group", &region);
        rules.push(NsgRuleView {
            resource: resource_name(&rule.id),
            name: rule.id.clone(),
            comment: rule_comment(rule),
            description: description(&rule.purpose),
            region,
            nsg_name_expression,
            resource_group_expression,
            priority,
            direction: match rule.direction {
                Direction::Inbound => "Inbound",
                Direction::Outbound => "Outbound",
            }
            .to_owned(),
            protocol: nsg_protocol(rule).to_owned(),
            source_field: source_field.to_owned(),
            source_expression,
            destination_field: "destination_address_prefix".to_owned(),
            destination_expression: quote(destination),
            port_field: port_field.to_owned(),
            port_expression,
        });
    }
    let regions = plan.regions();
    Ok(NsgView {
        regions_text: regions.join(", "),
        regions,
        create,
        associate: create && has_subnet_ids,
        rules,
    })
}

/// The name and resource group of a rule's NSG or a route's route table (`kind`:
/// `network_security_group`, `route_table`): the one the module creates in `region`, or
/// the existing one the caller names in `var.existing_<kind>s`.
fn parent_expressions(create: bool, kind: &str, region: &str) -> (String, String) {
    let key = quote(region);
    if create {
        (
            format!("azurerm_{kind}.compute[{key}].name"),
            "var.resource_group_name".to_owned(),
        )
    } else {
        (
            format!("var.existing_{kind}s[{key}].name"),
            format!("var.existing_{kind}s[{key}].resource_group_name"),
        )
    }
}

fn route_table_view(
    plan: &Plan,
    firewall_private_ip: Option<&str>,
    has_subnet_ids: bool,
) -> RouteTableView {
    let create = !plan.outputs.route_table_existing;
    let routes = layout::routes(plan)
        .into_iter()
        .map(|rule| {
            let region = rule.region.clone().unwrap_or_default();
            let (route_table_name_expression, resource_group_expression) =
                parent_expressions(create, "route_table", &region);
            RouteView {
                resource: resource_name(&rule.id),
                name: rule.id.clone(),
                comment: rule_comment(rule),
                region,
                route_table_name_expression,
                resource_group_expression,
                address_prefix: rule.destinations.first().cloned().unwrap_or_default(),
                next_hop_type: rule.next_hop.clone().unwrap_or_default(),
                via_firewall: rule.next_hop_ip.is_some(),
            }
        })
        .collect();
    let regions = plan.regions();
    RouteTableView {
        regions_text: regions.join(", "),
        regions,
        create,
        associate: create && has_subnet_ids,
        routes,
        firewall_private_ip: firewall_private_ip.map(str::to_owned),
    }
}

/// The NSG protocol of a rule: `Tcp`, `Udp` or `*`.
pub(crate) fn nsg_protocol(rule: &PlannedRule) -> &'static str {
    match rule.protocols.first().map(String::as_str) {
        Some("UDP") => "Udp",
        Some("Any") => "*",
        _ => "Tcp",
    }
}

/// A Terraform resource name from a rule id: `inbound-x-eastus2` -> `inbound_x_eastus2`.
fn resource_name(id: &str) -> String {
    id.replace('-', "_")
}

/// An HCL string literal (names, ids, tags, prefixes).
fn quote(text: &str) -> String {
    hcl_string(text)
}

fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|item| quote(item))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_of_merged_rules_are_the_distinct_union() {
        assert_eq!(
            sources_expression(&["a".into()], &SharedSources::default()),
            r#"var.compute_subnet_address_prefixes["a"]"#
        );
        assert_eq!(
            sources_expression(&["a".into(), "b".into()], &SharedSources::default()),
            r#"distinct(concat(var.compute_subnet_address_prefixes["a"], var.compute_subnet_address_prefixes["b"]))"#
        );
    }
}
