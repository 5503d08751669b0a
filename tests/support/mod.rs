//! Shared test helpers: read the rules back out of a generated Terraform module, so tests
//! can prove the module holds exactly the plan's rules.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

pub mod bicep;

use std::collections::{BTreeMap, BTreeSet};

use amlfw::plan::{Plan, PlannedRule, RuleKind};
use amlfw::render::RenderedFiles;
use hcl::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::{Block, Body};

/// The repository root.
pub fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the built `amlfw` in the repository root, without `CI` (under which some checks
/// refuse to skip): its exit code, stdout and stderr.
pub fn amlfw<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_amlfw"))
        .args(args)
        .current_dir(root())
        .env_remove("CI")
        .output()
        .expect("run amlfw");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The golden cases that generate modules (not `_cli`, not `err-*`), sorted.
pub fn golden_cases() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(root().join("golden"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('_') && !name.starts_with("err-"))
        .collect();
    cases.sort();
    cases
}

/// The directories of a golden case's modules for `target` (`terraform`, `bicep`): the
/// combined module, or the hub and spoke modules of `outputs.layout: split`.
pub fn module_dirs(case: &str, target: &str) -> Vec<std::path::PathBuf> {
    let case_dir = root().join("golden").join(case);
    amlfw::render::LAYOUT_DIRECTORIES
        .iter()
        .map(|prefix| case_dir.join(format!("{prefix}{target}")))
        .filter(|dir| dir.is_dir())
        .collect()
}

/// Plans a golden case in-process, with the service tag fixture the case names in
/// `golden/<case>/service-tags` (and `--allow-global-tags` when the case has that marker).
pub fn golden_plan(case: &str, catalog: &amlfw::catalog::Catalog) -> Plan {
    let dir = root().join("golden").join(case);
    let text = std::fs::read_to_string(dir.join("scenario.yaml")).unwrap();
    let scenario = amlfw::scenario::load(&text, "scenario.yaml", catalog).unwrap();
    let tag_bytes = std::fs::read_to_string(dir.join("service-tags"))
        .ok()
        .map(|path| std::fs::read(root().join(path.trim())).unwrap());
    let tag_file = tag_bytes
        .as_deref()
        .map(|bytes| amlfw::service_tags::ServiceTagFile::parse(bytes, "fixture.json").unwrap());
    let options = amlfw::planner::AddressOptions {
        service_tags: tag_file.as_ref(),
        allow_global_tags: dir.join("allow-global-tags").exists(),
    };
    amlfw::planner::plan_with(&scenario, catalog, options).unwrap()
}

/// The facts of one rule that both the plan and the module must agree on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleFacts {
    pub kind: &'static str,
    pub name: String,
    pub protocols: Vec<String>,
    pub ports: Vec<String>,
    pub sources: Vec<String>,
    pub destinations: Vec<String>,
    pub terminate_tls: bool,
    pub next_hop: String,
    pub region: String,
}

pub(crate) fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}

/// The facts the plan says each rule has.
pub fn plan_facts(plan: &Plan) -> BTreeSet<RuleFacts> {
    let mut facts: BTreeSet<RuleFacts> = plan.rules.iter().map(rule_facts).collect();
    for group in &plan.ip_groups {
        facts.insert(ip_group_facts(
            &group.name,
            group.prefixes.iter().map(ToString::to_string).collect(),
        ));
    }
    facts
}

/// An IP group as facts: its name and prefixes.
pub fn ip_group_facts(name: &str, prefixes: Vec<String>) -> RuleFacts {
    RuleFacts {
        kind: "ip-group",
        name: name.to_owned(),
        protocols: Vec::new(),
        ports: Vec::new(),
        sources: Vec::new(),
        destinations: sorted(prefixes),
        terminate_tls: false,
        next_hop: String::new(),
        region: String::new(),
    }
}

fn rule_facts(rule: &PlannedRule) -> RuleFacts {
    let (kind, protocols, ports) = match rule.kind {
        RuleKind::FirewallNetwork => ("network", rule.protocols.clone(), rule.ports.clone()),
        RuleKind::FirewallApplication => (
            "application",
            rule.application_protocols.clone(),
            Vec::new(),
        ),
        RuleKind::Nsg => ("nsg", rule.protocols.clone(), rule.ports.clone()),
        RuleKind::Route => ("route", Vec::new(), Vec::new()),
    };
    RuleFacts {
        kind,
        name: rule.id.clone(),
        protocols: sorted(protocols),
        ports: sorted(ports),
        sources: sorted(rule.sources.clone()),
        destinations: sorted(rule.destinations.clone()),
        terminate_tls: rule.terminate_tls,
        next_hop: match (&rule.next_hop, &rule.next_hop_ip) {
            (Some(hop), Some(ip)) => format!("{hop} {ip}"),
            (Some(hop), None) => hop.clone(),
            _ => String::new(),
        },
        region: if matches!(rule.kind, RuleKind::Nsg | RuleKind::Route) {
            rule.region.clone().unwrap_or_default()
        } else {
            String::new()
        },
    }
}

/// Parses every `.tf` file of a rendered module (panics on invalid HCL).
pub fn parse_module(files: &RenderedFiles) -> Vec<(String, Body)> {
    files
        .iter()
        .filter(|(path, _)| path.ends_with(".tf"))
        .map(|(path, text)| {
            (
                path.clone(),
                hcl::parse(text).unwrap_or_else(|e| panic!("{path} is not valid HCL: {e}")),
            )
        })
        .collect()
}

/// The facts of every rule the module declares.
pub fn module_facts(files: &RenderedFiles) -> BTreeSet<RuleFacts> {
    let bodies = parse_module(files);
    let defaults = variable_defaults(&bodies);
    let mut facts = BTreeSet::new();
    for (_, body) in &bodies {
        for block in body.blocks() {
            let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
            if block.identifier.as_str() != "resource" {
                continue;
            }
            match labels.first().copied() {
                Some("azurerm_firewall_policy_rule_collection_group") => {
                    firewall_rules(block, &defaults, &mut facts)
                }
                Some("azurerm_network_security_rule") => {
                    facts.insert(nsg_rule(block, &defaults));
                }
                Some("azurerm_route") => {
                    facts.insert(route(block, &defaults));
                }
                Some("azurerm_ip_group") => {
                    facts.insert(ip_group_facts(
                        &string(&block.body, "name", &defaults),
                        list(&block.body, &["cidrs"], &defaults),
                    ));
                }
                _ => {}
            }
        }
    }
    facts
}

/// Variable defaults by name, plus `azurerm_ip_group.<name>` -> the group's name, so
/// references to IP groups read back as their names.
fn variable_defaults(bodies: &[(String, Body)]) -> BTreeMap<String, Expression> {
    let mut defaults = BTreeMap::new();
    for (_, body) in bodies {
        for block in body.blocks().filter(|b| {
            b.identifier.as_str() == "resource" && b.labels[0].as_str() == "azurerm_ip_group"
        }) {
            if let Some(name) = attribute(&block.body, "name") {
                defaults.insert(
                    format!("azurerm_ip_group.{}", block.labels[1].as_str()),
                    name.clone(),
                );
            }
        }
    }
    // `local.x` as if it were a variable named `local.x`.
    for (_, body) in bodies {
        for block in body.blocks().filter(|b| b.identifier.as_str() == "locals") {
            for local in block.body.attributes() {
                defaults.insert(format!("local.{}", local.key.as_str()), local.expr.clone());
            }
        }
    }
    for (_, body) in bodies {
        for block in body
            .blocks()
            .filter(|b| b.identifier.as_str() == "variable")
        {
            if let Some(default) = attribute(&block.body, "default") {
                defaults.insert(block.labels[0].as_str().to_owned(), default.clone());
            }
        }
    }
    defaults
}

fn attribute<'b>(body: &'b Body, key: &str) -> Option<&'b Expression> {
    body.attributes()
        .find(|a| a.key.as_str() == key)
        .map(|a| &a.expr)
}

/// Evaluates the few expression forms the module uses for values: literals, lists,
/// `var.x`, `var.x["key"]`, `local.x["key"]`, `concat(...)`, `distinct(...)`.
fn strings(expr: &Expression, defaults: &BTreeMap<String, Expression>) -> Vec<String> {
    match expr {
        Expression::String(text) => vec![text.clone()],
        Expression::Number(number) => vec![number.to_string()],
        Expression::Array(items) => items
            .iter()
            .flat_map(|item| strings(item, defaults))
            .collect(),
        Expression::FuncCall(call) if matches!(call.name.name.as_str(), "concat" | "distinct") => {
            call.args
                .iter()
                .flat_map(|arg| strings(arg, defaults))
                .collect()
        }
        Expression::Traversal(traversal) => {
            let Expression::Variable(root) = &traversal.expr else {
                panic!("unexpected traversal {traversal:?}")
            };
            if root.as_str() == "azurerm_ip_group" {
                let Some(TraversalOperator::GetAttr(resource)) = traversal.operators.first() else {
                    panic!("bad ip group reference")
                };
                let name = defaults
                    .get(&format!("azurerm_ip_group.{resource}"))
                    .unwrap_or_else(|| panic!("no ip group {resource}"));
                return strings(name, defaults);
            }
            assert!(
                matches!(root.as_str(), "var" | "local"),
                "only variables, locals and IP groups are read"
            );
            let mut operators = traversal.operators.iter();
            let Some(TraversalOperator::GetAttr(name)) = operators.next() else {
                panic!("{} without name", root.as_str())
            };
            let key = if root.as_str() == "local" {
                format!("local.{name}")
            } else {
                name.to_string()
            };
            let mut value = defaults
                .get(&key)
                .unwrap_or_else(|| panic!("variable {name} has no default"))
                .clone();
            for operator in operators {
                let TraversalOperator::Index(Expression::String(key)) = operator else {
                    panic!("unexpected operator {operator:?}")
                };
                let Expression::Object(object) = &value else {
                    panic!("index into a non-object")
                };
                value = object
                    .iter()
                    .find(|(k, _)| match k {
                        ObjectKey::Expression(Expression::String(s)) => s == key,
                        ObjectKey::Identifier(i) => i.as_str() == key,
                        _ => false,
                    })
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("no key {key}"));
            }
            strings(&value, defaults)
        }
        other => panic!("unexpected expression {other:?}"),
    }
}

fn string(body: &Body, key: &str, defaults: &BTreeMap<String, Expression>) -> String {
    attribute(body, key)
        .map(|e| strings(e, defaults).join(","))
        .unwrap_or_default()
}

fn list(body: &Body, keys: &[&str], defaults: &BTreeMap<String, Expression>) -> Vec<String> {
    sorted(
        keys.iter()
            .filter_map(|key| attribute(body, key))
            .flat_map(|e| strings(e, defaults))
            .collect(),
    )
}

/// The region key of `azurerm_x.compute["region"].name`.
fn region_of(body: &Body, key: &str) -> String {
    let Some(Expression::Traversal(traversal)) = attribute(body, key) else {
        return String::new();
    };
    traversal
        .operators
        .iter()
        .find_map(|op| match op {
            TraversalOperator::Index(Expression::String(region)) => Some(region.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn firewall_rules(
    group: &Block,
    defaults: &BTreeMap<String, Expression>,
    facts: &mut BTreeSet<RuleFacts>,
) {
    for collection in group.body.blocks() {
        let kind = match collection.identifier.as_str() {
            "network_rule_collection" => "network",
            "application_rule_collection" => "application",
            other => panic!("unexpected collection {other}"),
        };
        for rule in collection
            .body
            .blocks()
            .filter(|b| b.identifier.as_str() == "rule")
        {
            let body = &rule.body;
            let protocols = if kind == "network" {
                list(body, &["protocols"], defaults)
            } else {
                sorted(
                    body.blocks()
                        .filter(|b| b.identifier.as_str() == "protocols")
                        .map(|p| {
                            format!(
                                "{}:{}",
                                string(&p.body, "type", defaults),
                                string(&p.body, "port", defaults)
                            )
                        })
                        .collect(),
                )
            };
            facts.insert(RuleFacts {
                kind,
                name: string(body, "name", defaults),
                protocols,
                ports: list(body, &["destination_ports"], defaults),
                sources: list(body, &["source_addresses"], defaults),
                destinations: list(
                    body,
                    &[
                        "destination_addresses",
                        "destination_ip_groups",
                        "destination_fqdns",
                        "destination_urls",
                    ],
                    defaults,
                ),
                terminate_tls: matches!(
                    attribute(body, "terminate_tls"),
                    Some(Expression::Bool(true))
                ),
                next_hop: String::new(),
                region: String::new(),
            });
        }
    }
}

fn nsg_rule(block: &Block, defaults: &BTreeMap<String, Expression>) -> RuleFacts {
    let body = &block.body;
    let protocol = match string(body, "protocol", defaults).as_str() {
        "Tcp" => "TCP",
        "Udp" => "UDP",
        "*" => "Any",
        other => panic!("unexpected NSG protocol {other}"),
    };
    RuleFacts {
        kind: "nsg",
        name: string(body, "name", defaults),
        protocols: vec![protocol.to_owned()],
        ports: list(
            body,
            &["destination_port_range", "destination_port_ranges"],
            defaults,
        ),
        sources: list(
            body,
            &["source_address_prefix", "source_address_prefixes"],
            defaults,
        ),
        destinations: list(
            body,
            &["destination_address_prefix", "destination_address_prefixes"],
            defaults,
        ),
        terminate_tls: false,
        next_hop: String::new(),
        region: region_of(body, "network_security_group_name"),
    }
}

fn route(block: &Block, defaults: &BTreeMap<String, Expression>) -> RuleFacts {
    let body = &block.body;
    let hop = string(body, "next_hop_type", defaults);
    let ip = string(body, "next_hop_in_ip_address", defaults);
    RuleFacts {
        kind: "route",
        name: string(body, "name", defaults),
        protocols: Vec::new(),
        ports: Vec::new(),
        sources: Vec::new(),
        destinations: vec![string(body, "address_prefix", defaults)],
        terminate_tls: false,
        next_hop: if ip.is_empty() {
            hop
        } else {
            format!("{hop} {ip}")
        },
        region: region_of(body, "route_table_name"),
    }
}

/// A readable difference of two fact sets, empty when equal.
pub fn difference(plan: &BTreeSet<RuleFacts>, module: &BTreeSet<RuleFacts>) -> String {
    let mut out = String::new();
    for missing in plan.difference(module) {
        out.push_str(&format!("in the plan, not in the module: {missing:?}\n"));
    }
    for extra in module.difference(plan) {
        out.push_str(&format!("in the module, not in the plan: {extra:?}\n"));
    }
    out
}
