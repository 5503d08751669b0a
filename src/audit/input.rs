//! The deployed files: each recognised by its content (or decoded as `--input-format`
//! says) and turned into [`DeployedRule`]s.
//!
//! - `terraform show -json` of a plan (`planned_values`) or a state (`values`), child modules
//!   included: `azurerm_firewall_policy_rule_collection_group`,
//!   `azurerm_firewall_network_rule_collection`, `azurerm_firewall_application_rule_collection`,
//!   `azurerm_network_security_group` (inline `security_rule`), `azurerm_network_security_rule`,
//!   `azurerm_route_table` (inline `route`), `azurerm_route`, and `azurerm_ip_group` (what
//!   `source_ip_groups` / `destination_ip_groups` resolve to). Values Terraform does not know
//!   before apply are absent from a plan and read as empty, except IP group IDs: a plan
//!   shows them as `null`, and the plan's `configuration` names the `azurerm_ip_group` each
//!   refers to, whose planned `cidrs` are known.
//! - Azure CLI JSON (camelCase): `az network firewall policy rule-collection-group show` (an
//!   object) or `list` (an array), `az network nsg show`, `az network route-table show`,
//!   `az network ip-group show`, and the classic rules of `az network firewall show`
//!   (`networkRuleCollections`, `applicationRuleCollections`); flattened or with
//!   `properties`, as the CLI versions print.
//! - An ARM template export: `resources[]` of those types (and `azureFirewalls`), literal
//!   values only.
//!
//! IP groups resolve across every file of the run, by ID (any casing) or, for an ARM
//! `resourceId(...)` reference, by name. An NSG's `defaultSecurityRules` are not read: the
//! plan asks for explicit rules, and the defaults are the same in every NSG.

use std::collections::BTreeMap;

use serde_json::Value;

use super::atoms::{parse_cidr, parse_ports};
use super::{Action, Address, DeployedKind, DeployedRule, Precedence, Transport, WebProtocol};
use crate::catalog::Direction;
use crate::diagnostic::{Code, Diagnostic, Location, Position};

/// The formats `--input-format` can force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// `terraform show -json` of a plan or a state.
    Terraform,
    /// The Azure CLI's JSON.
    AzureCli,
    /// An ARM template export.
    Arm,
}

/// What a file was read as, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Recognised {
    /// `terraform show -json` of a saved plan.
    TerraformPlan,
    /// `terraform show -json` of the state.
    TerraformState,
    /// Azure CLI JSON.
    AzureCli,
    /// An ARM template export.
    Arm,
}

impl Recognised {
    /// The name the report prints.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Recognised::TerraformPlan => "terraform-plan",
            Recognised::TerraformState => "terraform-state",
            Recognised::AzureCli => "azure-cli",
            Recognised::Arm => "arm-template",
        }
    }
}

/// One decoded file.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// What it was read as.
    pub format: Recognised,
    /// Its rules, IP groups unresolved.
    pub rules: Vec<DeployedRule>,
    /// Its IP groups: lookup key (lowercase ID, or `name:` and the lowercase name) and prefixes.
    pub ip_groups: Vec<(String, Vec<Address>)>,
}

const HELP: &str = "give the output of `terraform show -json`, of `az network firewall policy rule-collection-group show`/`list`, `az network nsg show`, `az network route-table show`, or an ARM template export (`az group export`); --input-format terraform|azure-cli|arm forces one";

/// Decodes one file; every problem of the file, located.
pub fn decode(
    file: &str,
    bytes: &[u8],
    forced: Option<InputFormat>,
) -> Result<Decoded, Vec<Diagnostic>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|error| {
        let line = error.line().max(1);
        let col = error.column().max(1);
        let line_text = String::from_utf8_lossy(bytes)
            .lines()
            .nth(line - 1)
            .unwrap_or("")
            .to_owned();
        let message = error.to_string();
        let reason = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(reason, _)| reason);
        vec![
            Diagnostic::error(
                Code::InvalidDeployed,
                format!("`{file}` is not JSON: {}", reason.to_lowercase()),
            )
            .at(Location {
                file: file.to_owned(),
                path: String::new(),
                position: Some(Position {
                    line,
                    col,
                    width: 1,
                    line_text,
                }),
            })
            .help(HELP),
        ]
    })?;
    let format = match forced {
        Some(InputFormat::Terraform) => Some(InputFormat::Terraform),
        Some(InputFormat::AzureCli) => Some(InputFormat::AzureCli),
        Some(InputFormat::Arm) => Some(InputFormat::Arm),
        None => recognise(&value),
    };
    let mut reader = Reader {
        file: file.to_owned(),
        configuration: value
            .get("configuration")
            .and_then(|c| c.get("root_module"))
            .cloned(),
        rules: Vec::new(),
        ip_groups: Vec::new(),
        problems: Vec::new(),
    };
    let recognised = match format {
        Some(InputFormat::Terraform) => reader.terraform(&value),
        Some(InputFormat::AzureCli) => {
            reader.azure_cli(&value, "");
            Recognised::AzureCli
        }
        Some(InputFormat::Arm) => {
            reader.arm(&value);
            Recognised::Arm
        }
        None => {
            return Err(vec![
                Diagnostic::error(
                    Code::InvalidDeployed,
                    format!("`{file}` is JSON, but not a format amlfw audit reads"),
                )
                .at(Location {
                    file: file.to_owned(),
                    path: String::new(),
                    position: None,
                })
                .help(HELP),
            ]);
        }
    };
    if reader.problems.is_empty() {
        Ok(Decoded {
            format: recognised,
            rules: reader.rules,
            ip_groups: reader.ip_groups,
        })
    } else {
        Err(reader.problems)
    }
}

/// The format by content: Terraform's `format_version` with `planned_values` or `values`;
/// an ARM template's `$schema` or `resources` with `contentVersion`; the Azure CLI's
/// resource objects (or a list of them).
fn recognise(value: &Value) -> Option<InputFormat> {
    match value {
        Value::Object(map) => {
            if map.contains_key("format_version")
                && (map.contains_key("planned_values") || map.contains_key("values"))
            {
                Some(InputFormat::Terraform)
            } else if map
                .get("$schema")
                .and_then(Value::as_str)
                .is_some_and(|schema| schema.contains("deploymentTemplate"))
                || (map.contains_key("resources") && map.contains_key("contentVersion"))
            {
                Some(InputFormat::Arm)
            } else if cli_kind(value).is_some() {
                Some(InputFormat::AzureCli)
            } else {
                None
            }
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(|i| cli_kind(i).is_some()) => {
            Some(InputFormat::AzureCli)
        }
        _ => None,
    }
}

/// What an Azure CLI object is, by the keys it has (top level or under `properties`).
fn cli_kind(value: &Value) -> Option<&'static str> {
    let properties = props(value);
    [
        "ruleCollections",
        "networkRuleCollections",
        "applicationRuleCollections",
        "securityRules",
        "routes",
        "ipAddresses",
    ]
    .into_iter()
    .find(|key| properties.get(*key).is_some() || value.get(*key).is_some())
}

/// An Azure resource's `properties` when it has them (ARM, REST, older CLI), else itself
/// (the CLI flattens most).
fn props(value: &Value) -> &Value {
    match value.get("properties") {
        Some(properties @ Value::Object(_)) => properties,
        _ => value,
    }
}

/// A field of an Azure object: flattened or under `properties`.
fn field<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    props(value)
        .get(key)
        .or_else(|| value.get(key))
        .filter(|v| !v.is_null())
}

struct Reader {
    file: String,
    /// `configuration.root_module` of a `terraform show -json`: where a plan's unknown IP
    /// group IDs come from.
    configuration: Option<Value>,
    rules: Vec<DeployedRule>,
    ip_groups: Vec<(String, Vec<Address>)>,
    problems: Vec<Diagnostic>,
}

/// A rule's parts as the decoders read them, before the common model.
/// A rule of a rule collection, as [`Reader::each_collection_rule`] finds it.
struct CollectionRule<'v> {
    kind: DeployedKind,
    /// The collection's name, priority and action.
    collection: String,
    priority: u32,
    action: Action,
    /// The rule's name, the rule, and where it is in the input.
    name: String,
    rule: &'v Value,
    at: String,
    /// The collection's key and index, and the rule's index in it.
    position: (&'static str, usize, usize),
}

struct Parts {
    place: String,
    name: String,
    kind: DeployedKind,
    direction: Direction,
    action: Action,
    precedence: Precedence,
    transports: Vec<Transport>,
    ports: Vec<(u16, u16)>,
    web: Vec<(WebProtocol, u16)>,
    sources: Vec<Address>,
    destinations: Vec<Address>,
    next_hop: Option<String>,
    next_hop_ip: Option<String>,
}

impl Parts {
    fn new(kind: DeployedKind, place: String, name: String, precedence: Precedence) -> Parts {
        Parts {
            place,
            name,
            kind,
            direction: Direction::Outbound,
            action: Action::Allow,
            precedence,
            transports: Vec::new(),
            ports: Vec::new(),
            web: Vec::new(),
            sources: Vec::new(),
            destinations: Vec::new(),
            next_hop: None,
            next_hop_ip: None,
        }
    }
}

impl Reader {
    fn problem(&mut self, path: &str, message: String) {
        self.problems.push(
            Diagnostic::error(Code::InvalidDeployed, message)
                .at(Location {
                    file: self.file.clone(),
                    path: path.trim_start_matches('.').to_owned(),
                    position: None,
                })
                .help("export the resource again with the command README's \"Auditing an existing deployment\" gives; amlfw reads literal values only"),
        );
    }

    fn push(&mut self, parts: Parts) {
        self.rules.push(DeployedRule {
            file: self.file.clone(),
            place: parts.place,
            name: parts.name,
            kind: parts.kind,
            direction: parts.direction,
            action: parts.action,
            precedence: parts.precedence,
            transports: parts.transports,
            ports: parts.ports,
            web: parts.web,
            sources: parts.sources,
            destinations: parts.destinations,
            next_hop: parts.next_hop,
            next_hop_ip: parts.next_hop_ip,
        });
    }

    /// A string field; `None` when absent or null, a problem when of another type or an
    /// ARM expression.
    fn text(&mut self, value: &Value, key: &str, path: &str) -> Option<String> {
        match field(value, key) {
            None => None,
            Some(Value::String(text)) => {
                if text.starts_with('[') && !text.starts_with("[[") {
                    self.problem(
                        &format!("{path}.{key}"),
                        format!("`{key}` is an ARM expression (`{text}`), not a literal value"),
                    );
                    None
                } else {
                    Some(text.clone())
                }
            }
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(other) => {
                self.problem(
                    &format!("{path}.{key}"),
                    format!("`{key}` is {}, not a string", kind_of(other)),
                );
                None
            }
        }
    }

    /// A list of strings (numbers are taken as their text); absent or null is empty.
    fn texts(&mut self, value: &Value, key: &str, path: &str) -> Vec<String> {
        match field(value, key) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    match item {
                        Value::String(text) => out.push(text.clone()),
                        Value::Number(number) => out.push(number.to_string()),
                        other => self.problem(
                            &format!("{path}.{key}[{index}]"),
                            format!("`{key}` holds {}, not a string", kind_of(other)),
                        ),
                    }
                }
                out
            }
            Some(other) => {
                self.problem(
                    &format!("{path}.{key}"),
                    format!("`{key}` is {}, not a list of strings", kind_of(other)),
                );
                Vec::new()
            }
        }
    }

    /// A list of objects; absent or null is empty.
    fn objects<'v>(&mut self, value: &'v Value, key: &str, path: &str) -> Vec<&'v Value> {
        match field(value, key) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    if item.is_object() {
                        out.push(item);
                    } else {
                        self.problem(
                            &format!("{path}.{key}[{index}]"),
                            format!("`{key}` holds {}, not an object", kind_of(item)),
                        );
                    }
                }
                out
            }
            Some(other) => {
                self.problem(
                    &format!("{path}.{key}"),
                    format!("`{key}` is {}, not a list", kind_of(other)),
                );
                Vec::new()
            }
        }
    }

    /// A priority; a problem when absent or not a number.
    fn priority(&mut self, value: &Value, key: &str, path: &str) -> u32 {
        match field(value, key) {
            Some(Value::Number(number)) => number
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            Some(Value::String(text)) if text.parse::<u32>().is_ok() => text.parse().unwrap_or(0),
            Some(other) => {
                self.problem(
                    &format!("{path}.{key}"),
                    format!("`{key}` is {}, not a priority", kind_of(other)),
                );
                0
            }
            None => {
                self.problem(
                    &format!("{path}.{key}"),
                    format!(
                        "`{key}` is missing (a priority Terraform knows before apply, or Azure's)"
                    ),
                );
                0
            }
        }
    }

    fn ports(&mut self, texts: &[String], path: &str) -> Vec<(u16, u16)> {
        let mut out = Vec::new();
        for text in texts {
            for part in text.split(',') {
                match parse_ports(part) {
                    Some(span) => out.push(span),
                    None => self.problem(path, format!("`{part}` is not a port or port range")),
                }
            }
        }
        out
    }

    fn transports(&mut self, texts: &[String], path: &str) -> Vec<Transport> {
        let mut out = Vec::new();
        for text in texts {
            match text.to_ascii_lowercase().as_str() {
                "tcp" => out.push(Transport::Tcp),
                "udp" => out.push(Transport::Udp),
                "icmp" | "icmpv6" => out.push(Transport::Icmp),
                "any" | "*" => out.push(Transport::Any),
                // IPsec protocols: no planned rule uses them, so they cover nothing.
                "esp" | "ah" => {}
                _ => self.problem(path, format!("`{text}` is not a protocol")),
            }
        }
        out
    }

    fn web_protocol(
        &mut self,
        kind: &str,
        port: Option<String>,
        path: &str,
    ) -> Option<(WebProtocol, u16)> {
        let protocol = match kind.to_ascii_lowercase().as_str() {
            "http" => WebProtocol::Http,
            "https" => WebProtocol::Https,
            "mssql" => WebProtocol::Mssql,
            _ => {
                self.problem(
                    path,
                    format!("`{kind}` is not an application rule protocol"),
                );
                return None;
            }
        };
        let default = match protocol {
            WebProtocol::Http => 80,
            WebProtocol::Https => 443,
            WebProtocol::Mssql => 1433,
        };
        match port {
            None => Some((protocol, default)),
            Some(text) => match text.parse::<u16>() {
                Ok(port) if port > 0 => Some((protocol, port)),
                _ => {
                    self.problem(path, format!("`{text}` is not a port"));
                    None
                }
            },
        }
    }

    // ---- Terraform -------------------------------------------------------------------

    fn terraform(&mut self, value: &Value) -> Recognised {
        let (root, recognised, path) = match (value.get("planned_values"), value.get("values")) {
            (Some(planned), _) => (planned, Recognised::TerraformPlan, "planned_values"),
            (None, Some(values)) => (values, Recognised::TerraformState, "values"),
            (None, None) => {
                self.problem(
                    "",
                    "neither `planned_values` nor `values`: not the output of `terraform show -json`".to_owned(),
                );
                return Recognised::TerraformState;
            }
        };
        let mut resources = Vec::new();
        match root.get("root_module") {
            Some(module) => collect(module, &format!("{path}.root_module"), &mut resources),
            // An empty state prints no root_module.
            None if root.is_object() => {}
            None => self.problem(path, format!("`{path}` is not an object")),
        }
        for (at, resource) in &resources {
            if resource.get("type").and_then(Value::as_str) == Some("azurerm_ip_group") {
                let values = resource.get("values").unwrap_or(&Value::Null);
                let cidrs = self.texts(values, "cidrs", &format!("{at}.values"));
                let prefixes = self.addresses(&cidrs, &format!("{at}.values.cidrs"));
                if let Some(id) = values.get("id").and_then(Value::as_str) {
                    self.ip_groups
                        .push((id.to_ascii_lowercase(), prefixes.clone()));
                }
                if let Some(address) = resource.get("address").and_then(Value::as_str) {
                    self.ip_groups.push((
                        format!("address:{}", address.to_ascii_lowercase()),
                        prefixes.clone(),
                    ));
                }
                if let Some(name) = values.get("name").and_then(Value::as_str) {
                    self.ip_groups
                        .push((format!("name:{}", name.to_ascii_lowercase()), prefixes));
                }
            }
        }
        for (at, resource) in &resources {
            let address = resource
                .get("address")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            let values = resource.get("values").unwrap_or(&Value::Null);
            let at = format!("{at}.values");
            match resource.get("type").and_then(Value::as_str).unwrap_or("") {
                "azurerm_firewall_policy_rule_collection_group" => {
                    self.terraform_rcg(values, &address, &at);
                }
                "azurerm_firewall_network_rule_collection" => {
                    self.terraform_classic(values, &address, &at, DeployedKind::FirewallNetwork);
                }
                "azurerm_firewall_application_rule_collection" => {
                    self.terraform_classic(
                        values,
                        &address,
                        &at,
                        DeployedKind::FirewallApplication,
                    );
                }
                "azurerm_network_security_group" => {
                    let nsg = self
                        .text(values, "name", &at)
                        .unwrap_or_else(|| address.clone());
                    for (index, rule) in self
                        .objects(values, "security_rule", &at)
                        .into_iter()
                        .enumerate()
                    {
                        self.nsg_rule(
                            rule,
                            &nsg,
                            &address,
                            &format!("{at}.security_rule[{index}]"),
                            true,
                        );
                    }
                }
                "azurerm_network_security_rule" => {
                    let nsg = self
                        .text(values, "network_security_group_name", &at)
                        .unwrap_or_else(|| "(NSG not known before apply)".to_owned());
                    self.nsg_rule(values, &nsg, &address, &at, true);
                }
                "azurerm_route_table" => {
                    let table = self
                        .text(values, "name", &at)
                        .unwrap_or_else(|| address.clone());
                    for (index, route) in self.objects(values, "route", &at).into_iter().enumerate()
                    {
                        self.route(
                            route,
                            &table,
                            &address,
                            &format!("{at}.route[{index}]"),
                            true,
                        );
                    }
                }
                "azurerm_route" => {
                    let table = self
                        .text(values, "route_table_name", &at)
                        .unwrap_or_else(|| "(route table not known before apply)".to_owned());
                    self.route(values, &table, &address, &at, true);
                }
                _ => {}
            }
        }
        recognised
    }

    fn terraform_rcg(&mut self, values: &Value, address: &str, at: &str) {
        let (config, prefix) = self.config_of(address);
        let policy = self
            .text(values, "firewall_policy_id", at)
            .unwrap_or_else(|| "(firewall policy)".to_owned());
        let group = self.priority(values, "priority", at);
        let keys = ["network_rule_collection", "application_rule_collection"];
        self.each_collection_rule(values, keys, "rule", at, |this, found| {
            let mut parts = Parts::new(
                found.kind,
                format!("{address} > {} > {}", found.collection, found.name),
                found.name,
                Precedence {
                    container: policy.clone(),
                    group,
                    priority: found.priority,
                },
            );
            parts.action = found.action;
            let (key, c, r) = found.position;
            let rule_config = config
                .as_ref()
                .and_then(|e| e.get(key)?.get(c)?.get("rule")?.get(r))
                .cloned();
            this.terraform_rule_body(
                found.rule,
                &found.at,
                &mut parts,
                false,
                rule_config.as_ref(),
                &prefix,
            );
            this.push(parts);
        });
    }

    /// `per_rule` on every rule of the network and application rule collections `value`
    /// lists under `keys` (network first), each collection's rules under `rules_key`, in
    /// input order (so problems are found in that order): the walk that Terraform's rule
    /// collection groups and a classic firewall in Azure's API share.
    fn each_collection_rule<'v>(
        &mut self,
        value: &'v Value,
        keys: [&'static str; 2],
        rules_key: &str,
        at: &str,
        mut per_rule: impl FnMut(&mut Self, CollectionRule<'v>),
    ) {
        let kinds = [
            DeployedKind::FirewallNetwork,
            DeployedKind::FirewallApplication,
        ];
        for (key, kind) in keys.into_iter().zip(kinds) {
            for (c, collection) in self.objects(value, key, at).into_iter().enumerate() {
                let cat = format!("{at}.{key}[{c}]");
                let name = self.text(collection, "name", &cat).unwrap_or_default();
                let priority = self.priority(collection, "priority", &cat);
                let action = self.action(collection, "action", &cat);
                for (r, rule) in self
                    .objects(collection, rules_key, &cat)
                    .into_iter()
                    .enumerate()
                {
                    let rat = format!("{cat}.{rules_key}[{r}]");
                    let found = CollectionRule {
                        kind,
                        collection: name.clone(),
                        priority,
                        action,
                        name: self.text(rule, "name", &rat).unwrap_or_default(),
                        rule,
                        at: rat,
                        position: (key, c, r),
                    };
                    per_rule(self, found);
                }
            }
        }
    }

    fn terraform_classic(&mut self, values: &Value, address: &str, at: &str, kind: DeployedKind) {
        let (config, prefix) = self.config_of(address);
        let firewall = self
            .text(values, "azure_firewall_name", at)
            .unwrap_or_else(|| "(classic firewall)".to_owned());
        let name = self.text(values, "name", at).unwrap_or_default();
        let priority = self.priority(values, "priority", at);
        let action = self.action(values, "action", at);
        for (r, rule) in self.objects(values, "rule", at).into_iter().enumerate() {
            let rat = format!("{at}.rule[{r}]");
            let rule_name = self.text(rule, "name", &rat).unwrap_or_default();
            let mut parts = Parts::new(
                kind,
                format!("{address} > {name} > {rule_name}"),
                rule_name,
                Precedence {
                    container: format!("classic:{firewall}"),
                    group: 0,
                    priority,
                },
            );
            parts.action = action;
            let rule_config = config.as_ref().and_then(|e| e.get("rule")?.get(r)).cloned();
            self.terraform_rule_body(rule, &rat, &mut parts, true, rule_config.as_ref(), &prefix);
            self.push(parts);
        }
    }

    /// The configuration `expressions` of the resource at `address` and the module prefix of
    /// that address (`module.a["x"].`), for references to resolve against.
    fn config_of(&self, address: &str) -> (Option<Value>, String) {
        let mut rest = address;
        let mut prefix = String::new();
        let mut module = self.configuration.as_ref();
        while let Some(after) = rest.strip_prefix("module.") {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            let mut consumed = "module.".len() + end;
            if after[end..].starts_with('[') {
                consumed += after[end..].find(']').map_or(0, |i| i + 1);
            }
            consumed += 1; // the dot
            prefix.push_str(&rest[..consumed.min(rest.len())]);
            rest = &rest[consumed.min(rest.len())..];
            module = module
                .and_then(|m| m.get("module_calls"))
                .and_then(|calls| calls.get(name))
                .and_then(|call| call.get("module"));
        }
        let own = rest.split('[').next().unwrap_or(rest);
        let expressions = module
            .and_then(|m| m.get("resources"))
            .and_then(Value::as_array)
            .and_then(|resources| {
                resources
                    .iter()
                    .find(|r| r.get("address").and_then(Value::as_str) == Some(own))
            })
            .and_then(|r| r.get("expressions"))
            .cloned();
        (expressions, prefix)
    }

    /// A rule's IP group list: IDs as written, or, for the IDs a plan does not know yet
    /// (null, or the whole list absent), the IP groups the configuration refers to, by
    /// their address (`address:module.m.azurerm_ip_group.x`).
    fn ip_group_list(
        &mut self,
        rule: &Value,
        key: &str,
        at: &str,
        config: Option<&Value>,
        prefix: &str,
    ) -> Vec<Address> {
        let mut references: Vec<String> = config
            .and_then(|c| c.get(key))
            .and_then(|e| e.get("references"))
            .and_then(Value::as_array)
            .map(|refs| {
                refs.iter()
                    .filter_map(Value::as_str)
                    .filter_map(|r| r.strip_suffix(".id"))
                    .map(|r| format!("address:{prefix}{r}"))
                    .collect()
            })
            .unwrap_or_default();
        references.reverse();
        let unknown = |references: &mut Vec<String>| {
            Address::UnresolvedIpGroup(
                references
                    .pop()
                    .unwrap_or_else(|| "(an ID not known before apply)".to_owned()),
            )
        };
        match rule.get(key) {
            None | Some(Value::Null) => {
                let mut out = Vec::new();
                while !references.is_empty() {
                    out.push(unknown(&mut references));
                }
                out
            }
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    match item {
                        Value::String(id) => out.push(Address::UnresolvedIpGroup(id.clone())),
                        Value::Null => out.push(unknown(&mut references)),
                        other => self.problem(
                            &format!("{at}.{key}[{index}]"),
                            format!("`{key}` holds {}, not an IP group ID", kind_of(other)),
                        ),
                    }
                }
                out
            }
            Some(other) => {
                self.problem(
                    &format!("{at}.{key}"),
                    format!("`{key}` is {}, not a list of IP group IDs", kind_of(other)),
                );
                Vec::new()
            }
        }
    }

    /// The fields of a firewall rule, policy (`classic` false) or classic spelling.
    fn terraform_rule_body(
        &mut self,
        rule: &Value,
        at: &str,
        parts: &mut Parts,
        classic: bool,
        config: Option<&Value>,
        prefix: &str,
    ) {
        let sources = self.texts(rule, "source_addresses", at);
        parts.sources = self.addresses(&sources, at);
        let groups = self.ip_group_list(rule, "source_ip_groups", at, config, prefix);
        parts.sources.extend(groups);
        if parts.kind == DeployedKind::FirewallNetwork {
            let protocols = self.texts(rule, "protocols", at);
            parts.transports = self.transports(&protocols, &format!("{at}.protocols"));
            let ports = self.texts(rule, "destination_ports", at);
            parts.ports = self.ports(&ports, &format!("{at}.destination_ports"));
            let destinations = self.texts(rule, "destination_addresses", at);
            parts.destinations = self.addresses(&destinations, at);
            let groups = self.ip_group_list(rule, "destination_ip_groups", at, config, prefix);
            parts.destinations.extend(groups);
            parts.destinations.extend(
                self.texts(rule, "destination_fqdns", at)
                    .into_iter()
                    .map(Address::Fqdn),
            );
        } else {
            let (protocol_key, fqdn_key, tag_key) = if classic {
                ("protocol", "target_fqdns", "fqdn_tags")
            } else {
                ("protocols", "destination_fqdns", "destination_fqdn_tags")
            };
            for (p, protocol) in self.objects(rule, protocol_key, at).into_iter().enumerate() {
                let pat = format!("{at}.{protocol_key}[{p}]");
                let kind = self.text(protocol, "type", &pat).unwrap_or_default();
                let port = self.text(protocol, "port", &pat);
                if let Some(web) = self.web_protocol(&kind, port, &pat) {
                    parts.web.push(web);
                }
            }
            parts.destinations = self
                .texts(rule, fqdn_key, at)
                .into_iter()
                .map(Address::Fqdn)
                .collect();
            parts.destinations.extend(
                self.texts(rule, tag_key, at)
                    .into_iter()
                    .map(Address::FqdnTag),
            );
            parts.destinations.extend(
                self.texts(rule, "destination_urls", at)
                    .into_iter()
                    .map(Address::Url),
            );
            let addresses = self.texts(rule, "destination_addresses", at);
            let addresses = self.addresses(&addresses, at);
            parts.destinations.extend(addresses);
        }
    }

    fn action(&mut self, value: &Value, key: &str, at: &str) -> Action {
        // The CLI writes `{"type": "Allow"}`, Terraform and ARM a string.
        let text = match field(value, key) {
            Some(Value::Object(_)) => field(value, key)
                .and_then(|a| a.get("type"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => self.text(value, key, at),
        };
        match text.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("deny") => Action::Deny,
            Some("allow") | None => Action::Allow,
            Some(other) => {
                self.problem(
                    &format!("{at}.{key}"),
                    format!("`{other}` is not allow or deny"),
                );
                Action::Allow
            }
        }
    }

    fn addresses(&mut self, texts: &[String], _at: &str) -> Vec<Address> {
        texts.iter().map(|text| classify(text)).collect()
    }

    /// An NSG rule: Terraform's snake_case (`snake`) or Azure's camelCase.
    fn nsg_rule(&mut self, rule: &Value, nsg: &str, address: &str, at: &str, snake: bool) {
        let key =
            |snake_key: &'static str, camel: &'static str| if snake { snake_key } else { camel };
        let name = self.text(rule, "name", at).unwrap_or_default();
        let written = self.text(rule, "direction", at);
        let direction = match written.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("inbound") => Direction::Inbound,
            Some("outbound") => Direction::Outbound,
            _ => {
                self.problem(
                    &format!("{at}.direction"),
                    format!(
                        "`{}` is not inbound or outbound",
                        written.as_deref().unwrap_or("")
                    ),
                );
                Direction::Inbound
            }
        };
        let priority = self.priority(rule, "priority", at);
        let mut parts = Parts::new(
            DeployedKind::Nsg,
            format!("{address} > {name}"),
            name,
            Precedence {
                container: format!("{nsg} ({})", direction.as_str()),
                group: 0,
                priority,
            },
        );
        parts.direction = direction;
        parts.action = self.action(rule, key("access", "access"), at);
        let protocol = self.text(rule, "protocol", at).unwrap_or_default();
        parts.transports = self.transports(&[protocol], &format!("{at}.protocol"));
        let mut ports: Vec<String> = self
            .text(
                rule,
                key("destination_port_range", "destinationPortRange"),
                at,
            )
            .into_iter()
            .collect();
        ports.extend(self.texts(
            rule,
            key("destination_port_ranges", "destinationPortRanges"),
            at,
        ));
        let port_key = key("destination_port_range", "destinationPortRange");
        parts.ports = self.ports(&ports, &format!("{at}.{port_key}"));
        let mut sources: Vec<String> = self
            .text(
                rule,
                key("source_address_prefix", "sourceAddressPrefix"),
                at,
            )
            .into_iter()
            .collect();
        sources.extend(self.texts(
            rule,
            key("source_address_prefixes", "sourceAddressPrefixes"),
            at,
        ));
        parts.sources = self.addresses(&sources, at);
        let mut destinations: Vec<String> = self
            .text(
                rule,
                key("destination_address_prefix", "destinationAddressPrefix"),
                at,
            )
            .into_iter()
            .collect();
        destinations.extend(self.texts(
            rule,
            key("destination_address_prefixes", "destinationAddressPrefixes"),
            at,
        ));
        parts.destinations = self.addresses(&destinations, at);
        self.push(parts);
    }

    fn route(&mut self, route: &Value, table: &str, address: &str, at: &str, snake: bool) {
        let key =
            |snake_key: &'static str, camel: &'static str| if snake { snake_key } else { camel };
        let name = self.text(route, "name", at).unwrap_or_default();
        let mut parts = Parts::new(
            DeployedKind::Route,
            format!("{address} > {name}"),
            name,
            Precedence {
                container: table.to_owned(),
                group: 0,
                priority: 0,
            },
        );
        match self.text(route, key("address_prefix", "addressPrefix"), at) {
            Some(prefix) => parts.destinations = vec![classify(&prefix)],
            None => self.problem(
                &format!("{at}.{}", key("address_prefix", "addressPrefix")),
                "a route without an address prefix".to_owned(),
            ),
        }
        parts.next_hop = self.text(route, key("next_hop_type", "nextHopType"), at);
        parts.next_hop_ip = self.text(route, key("next_hop_in_ip_address", "nextHopIpAddress"), at);
        self.push(parts);
    }

    // ---- Azure CLI and ARM -----------------------------------------------------------

    fn azure_cli(&mut self, value: &Value, at: &str) {
        if let Value::Array(items) = value {
            for (index, item) in items.iter().enumerate() {
                self.azure_cli(item, &format!("{at}[{index}]"));
            }
            return;
        }
        let kind = cli_kind(value);
        let name = self.text(value, "name", at).unwrap_or_default();
        let id = value
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match kind {
            Some("networkRuleCollections" | "applicationRuleCollections") => {
                self.azure_classic(value, &name, at);
            }
            Some("ruleCollections") => {
                let policy = id
                    .to_ascii_lowercase()
                    .split_once("/rulecollectiongroups/")
                    .map_or_else(|| "(firewall policy)".to_owned(), |(policy, _)| policy.to_owned());
                self.azure_rcg(value, &policy, &name, at);
            }
            Some("securityRules") => {
                for (index, rule) in self.objects(value, "securityRules", at).into_iter().enumerate() {
                    self.nsg_rule(rule, &name, &format!("nsg {name}"), &format!("{at}.securityRules[{index}]"), false);
                }
            }
            Some("routes") => {
                for (index, route) in self.objects(value, "routes", at).into_iter().enumerate() {
                    self.route(route, &name, &format!("route table {name}"), &format!("{at}.routes[{index}]"), false);
                }
            }
            Some(_) => {
                let prefixes = self.texts(value, "ipAddresses", at);
                let prefixes = self.addresses(&prefixes, at);
                if !id.is_empty() {
                    self.ip_groups.push((id.to_ascii_lowercase(), prefixes.clone()));
                }
                self.ip_groups
                    .push((format!("name:{}", name.to_ascii_lowercase()), prefixes));
            }
            None => self.problem(
                at,
                "not a rule collection group, network security group, route table or IP group of the Azure CLI".to_owned(),
            ),
        }
    }

    /// The classic rules of a firewall without a policy (`az network firewall show`, or an
    /// ARM `Microsoft.Network/azureFirewalls`): its network and application rule collections.
    fn azure_classic(&mut self, value: &Value, firewall: &str, at: &str) {
        let keys = ["networkRuleCollections", "applicationRuleCollections"];
        self.each_collection_rule(value, keys, "rules", at, |this, found| {
            let mut parts = Parts::new(
                found.kind,
                format!(
                    "firewall {firewall} > {} > {}",
                    found.collection, found.name
                ),
                found.name,
                Precedence {
                    container: format!("classic:{firewall}"),
                    group: 0,
                    priority: found.priority,
                },
            );
            parts.action = found.action;
            this.azure_rule_body(found.rule, &found.at, &mut parts, "protocols");
            this.push(parts);
        });
    }

    fn azure_rcg(&mut self, value: &Value, policy: &str, name: &str, at: &str) {
        let group = self.priority(value, "priority", at);
        for (c, collection) in self
            .objects(value, "ruleCollections", at)
            .into_iter()
            .enumerate()
        {
            let cat = format!("{at}.ruleCollections[{c}]");
            let kind = self
                .text(collection, "ruleCollectionType", &cat)
                .unwrap_or_default();
            if kind == "FirewallPolicyNatRuleCollection" {
                continue;
            }
            let collection_name = self.text(collection, "name", &cat).unwrap_or_default();
            let priority = self.priority(collection, "priority", &cat);
            let action = self.action(collection, "action", &cat);
            for (r, rule) in self
                .objects(collection, "rules", &cat)
                .into_iter()
                .enumerate()
            {
                let rat = format!("{cat}.rules[{r}]");
                let rule_name = self.text(rule, "name", &rat).unwrap_or_default();
                let rule_type = self.text(rule, "ruleType", &rat).unwrap_or_default();
                let kind = match rule_type.as_str() {
                    "NetworkRule" => DeployedKind::FirewallNetwork,
                    "ApplicationRule" => DeployedKind::FirewallApplication,
                    other => {
                        self.problem(
                            &format!("{rat}.ruleType"),
                            format!("`{other}` is not NetworkRule or ApplicationRule"),
                        );
                        continue;
                    }
                };
                let mut parts = Parts::new(
                    kind,
                    format!("rule collection group {name} > {collection_name} > {rule_name}"),
                    rule_name,
                    Precedence {
                        container: policy.to_owned(),
                        group,
                        priority,
                    },
                );
                parts.action = action;
                self.azure_rule_body(rule, &rat, &mut parts, "ipProtocols");
                self.push(parts);
            }
        }
    }

    /// The sources, destinations, ports and protocols of a firewall rule as Azure's API
    /// writes it, in a policy's rule collection group and in a classic firewall alike:
    /// the same fields, but a network rule's protocols, which a policy calls `ipProtocols`
    /// and a classic firewall `protocols`. A field the rule's kind or format lacks is
    /// absent, so reading it adds nothing.
    fn azure_rule_body(
        &mut self,
        rule: &Value,
        rat: &str,
        parts: &mut Parts,
        network_protocols: &str,
    ) {
        let sources = self.texts(rule, "sourceAddresses", rat);
        parts.sources = self.addresses(&sources, rat);
        parts.sources.extend(
            self.texts(rule, "sourceIpGroups", rat)
                .into_iter()
                .map(Address::UnresolvedIpGroup),
        );
        let addresses = self.texts(rule, "destinationAddresses", rat);
        parts.destinations = self.addresses(&addresses, rat);
        if parts.kind == DeployedKind::FirewallNetwork {
            let protocols = self.texts(rule, network_protocols, rat);
            parts.transports = self.transports(&protocols, &format!("{rat}.{network_protocols}"));
            let ports = self.texts(rule, "destinationPorts", rat);
            parts.ports = self.ports(&ports, &format!("{rat}.destinationPorts"));
            parts.destinations.extend(
                self.texts(rule, "destinationIpGroups", rat)
                    .into_iter()
                    .map(Address::UnresolvedIpGroup),
            );
            parts.destinations.extend(
                self.texts(rule, "destinationFqdns", rat)
                    .into_iter()
                    .map(Address::Fqdn),
            );
        } else {
            for (p, protocol) in self.objects(rule, "protocols", rat).into_iter().enumerate() {
                let pat = format!("{rat}.protocols[{p}]");
                let kind = self
                    .text(protocol, "protocolType", &pat)
                    .unwrap_or_default();
                let port = self.text(protocol, "port", &pat);
                if let Some(web) = self.web_protocol(&kind, port, &pat) {
                    parts.web.push(web);
                }
            }
            for (key, address) in [
                ("targetFqdns", Address::Fqdn as fn(String) -> Address),
                ("fqdnTags", Address::FqdnTag),
                ("targetUrls", Address::Url),
            ] {
                let texts = self.texts(rule, key, rat);
                parts.destinations.extend(texts.into_iter().map(address));
            }
        }
    }

    fn arm(&mut self, value: &Value) {
        let resources = self.objects(value, "resources", "");
        if value.get("resources").is_none() {
            self.problem("", "no `resources`: not an ARM template".to_owned());
        }
        for (index, resource) in resources.into_iter().enumerate() {
            let at = format!("resources[{index}]");
            let kind = resource
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let name = resource.get("name").and_then(Value::as_str).unwrap_or("");
            if name.starts_with('[') {
                self.problem(
                    &format!("{at}.name"),
                    format!("`name` is an ARM expression (`{name}`), not a literal value"),
                );
                continue;
            }
            let (parent, own) = name.rsplit_once('/').unwrap_or(("", name));
            match kind.as_str() {
                "microsoft.network/firewallpolicies/rulecollectiongroups" => {
                    self.azure_rcg(resource, &format!("policy {parent}"), own, &at);
                }
                "microsoft.network/networksecuritygroups" => {
                    for (r, rule) in self
                        .objects(resource, "securityRules", &at)
                        .into_iter()
                        .enumerate()
                    {
                        self.nsg_rule(
                            rule,
                            own,
                            &format!("nsg {own}"),
                            &format!("{at}.properties.securityRules[{r}]"),
                            false,
                        );
                    }
                }
                "microsoft.network/networksecuritygroups/securityrules" => {
                    self.nsg_rule(resource, parent, &format!("nsg {parent}"), &at, false);
                }
                "microsoft.network/routetables" => {
                    for (r, route) in self
                        .objects(resource, "routes", &at)
                        .into_iter()
                        .enumerate()
                    {
                        self.route(
                            route,
                            own,
                            &format!("route table {own}"),
                            &format!("{at}.properties.routes[{r}]"),
                            false,
                        );
                    }
                }
                "microsoft.network/routetables/routes" => {
                    self.route(
                        resource,
                        parent,
                        &format!("route table {parent}"),
                        &at,
                        false,
                    );
                }
                "microsoft.network/azurefirewalls" => {
                    self.azure_classic(resource, own, &at);
                }
                "microsoft.network/ipgroups" => {
                    let prefixes = self.texts(resource, "ipAddresses", &at);
                    let prefixes = self.addresses(&prefixes, &at);
                    self.ip_groups
                        .push((format!("name:{}", own.to_ascii_lowercase()), prefixes));
                }
                _ => {}
            }
        }
    }
}

/// Every resource of a module and its child modules, with its JSON path.
fn collect<'v>(module: &'v Value, at: &str, out: &mut Vec<(String, &'v Value)>) {
    if let Some(Value::Array(resources)) = module.get("resources") {
        for (index, resource) in resources.iter().enumerate() {
            out.push((format!("{at}.resources[{index}]"), resource));
        }
    }
    if let Some(Value::Array(children)) = module.get("child_modules") {
        for (index, child) in children.iter().enumerate() {
            collect(child, &format!("{at}.child_modules[{index}]"), out);
        }
    }
}

/// A source or destination string as Azure reads it: `*` or `Any` is everything, a prefix
/// or address is a prefix, anything else a service tag (the comparison checks it).
#[must_use]
pub fn classify(text: &str) -> Address {
    let trimmed = text.trim();
    if trimmed == "*" || trimmed.eq_ignore_ascii_case("any") {
        Address::Any
    } else if let Some(net) = parse_cidr(trimmed) {
        Address::Cidr(net)
    } else {
        Address::Tag(trimmed.to_owned())
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Replaces every IP group reference by the group's prefixes, from the IP groups of all
/// files; a reference no file holds stays unresolved (and covers nothing).
pub fn resolve_ip_groups(rules: &mut [DeployedRule], groups: &BTreeMap<String, Vec<Address>>) {
    let lookup = |id: &str| -> Option<&Vec<Address>> {
        let lower = id.to_ascii_lowercase();
        if let Some(found) = groups.get(&lower) {
            return Some(found);
        }
        // `[resourceId('Microsoft.Network/ipGroups', 'name')]` in an ARM export, or an ID
        // from another subscription: the group's name.
        let name = if lower.starts_with("[resourceid(") {
            lower.rsplit('\'').nth(1).map(str::to_owned)
        } else {
            lower.rsplit('/').next().map(str::to_owned)
        }?;
        groups.get(&format!("name:{name}"))
    };
    for rule in rules {
        for list in [&mut rule.sources, &mut rule.destinations] {
            let mut resolved = Vec::new();
            for address in list.drain(..) {
                match &address {
                    Address::UnresolvedIpGroup(id) => match lookup(id) {
                        Some(prefixes) => resolved.extend(prefixes.iter().cloned()),
                        None => resolved.push(address),
                    },
                    _ => resolved.push(address),
                }
            }
            *list = resolved;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_content() {
        let tf = r#"{"format_version": "1.2", "values": {"root_module": {}}}"#;
        assert_eq!(
            decode("s.json", tf.as_bytes(), None).unwrap().format,
            Recognised::TerraformState
        );
        let plan = r#"{"format_version": "1.2", "planned_values": {"root_module": {}}}"#;
        assert_eq!(
            decode("p.json", plan.as_bytes(), None).unwrap().format,
            Recognised::TerraformPlan
        );
        let nsg = r#"{"name": "n", "securityRules": []}"#;
        assert_eq!(
            decode("n.json", nsg.as_bytes(), None).unwrap().format,
            Recognised::AzureCli
        );
        let arm = r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "resources": []}"#;
        assert_eq!(
            decode("a.json", arm.as_bytes(), None).unwrap().format,
            Recognised::Arm
        );
        let other = r#"{"hello": 1}"#;
        let errors = decode("o.json", other.as_bytes(), None).unwrap_err();
        assert!(errors[0].message.contains("not a format"), "{errors:?}");
        // Forced: the Terraform decoder says what it misses.
        let errors = decode("o.json", other.as_bytes(), Some(InputFormat::Terraform)).unwrap_err();
        assert!(errors[0].message.contains("planned_values"), "{errors:?}");
    }

    #[test]
    fn syntax_errors_are_located() {
        let errors = decode("x.json", b"{\n  \"a\": [1,\n}\n", None).unwrap_err();
        let position = errors[0]
            .location
            .as_ref()
            .unwrap()
            .position
            .as_ref()
            .unwrap();
        assert_eq!(position.line, 3);
        assert!(
            errors[0].message.starts_with("`x.json` is not JSON"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn every_problem_of_a_file_is_reported() {
        let nsg = r#"{"name": "n", "securityRules": [
            {"name": "a", "priority": "x", "direction": "Sideways", "access": "Allow", "protocol": "Tcp", "destinationPortRange": "70000"},
            {"name": "b", "priority": 100, "direction": "Inbound", "access": "Allow", "protocol": "Gre", "destinationPortRange": "443"}]}"#;
        let errors = decode("n.json", nsg.as_bytes(), None).unwrap_err();
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(errors.len(), 4, "{messages:?}");
    }

    #[test]
    fn ip_groups_resolve_by_id_or_arm_name() {
        let mut rules = vec![DeployedRule {
            file: "f".into(),
            place: "p".into(),
            name: "r".into(),
            kind: DeployedKind::FirewallNetwork,
            direction: Direction::Outbound,
            action: Action::Allow,
            precedence: Precedence {
                container: "c".into(),
                group: 0,
                priority: 0,
            },
            transports: vec![],
            ports: vec![],
            web: vec![],
            sources: vec![
                Address::UnresolvedIpGroup(
                    "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/ipGroups/IPG"
                        .into(),
                ),
                Address::UnresolvedIpGroup(
                    "[resourceId('Microsoft.Network/ipGroups', 'other')]".into(),
                ),
                Address::UnresolvedIpGroup("nowhere".into()),
            ],
            destinations: vec![],
            next_hop: None,
            next_hop_ip: None,
        }];
        let mut groups = BTreeMap::new();
        groups.insert(
            "/subscriptions/x/resourcegroups/rg/providers/microsoft.network/ipgroups/ipg"
                .to_owned(),
            vec![classify("10.0.0.0/16")],
        );
        groups.insert("name:other".to_owned(), vec![classify("10.1.0.0/16")]);
        resolve_ip_groups(&mut rules, &groups);
        assert_eq!(
            rules[0].sources,
            [
                classify("10.0.0.0/16"),
                classify("10.1.0.0/16"),
                Address::UnresolvedIpGroup("nowhere".into())
            ]
        );
    }

    #[test]
    fn a_plans_unknown_ip_group_ids_resolve_through_the_configuration() {
        let plan = r#"{"format_version": "1.0", "planned_values": {"root_module": {"child_modules": [{
            "address": "module.m",
            "resources": [
              {"address": "module.m.azurerm_ip_group.storage", "type": "azurerm_ip_group",
               "values": {"name": "ipg-storage", "cidrs": ["20.0.0.0/24"]}},
              {"address": "module.m.azurerm_firewall_policy_rule_collection_group.g",
               "type": "azurerm_firewall_policy_rule_collection_group",
               "values": {"priority": 500, "network_rule_collection": [{"name": "c", "priority": 100, "action": "Allow",
                 "rule": [{"name": "r", "protocols": ["TCP"], "destination_ports": ["443"],
                           "source_addresses": ["10.0.0.0/24"], "destination_ip_groups": [null]}]}]}}]}]}},
          "configuration": {"root_module": {"module_calls": {"m": {"module": {"resources": [
            {"address": "azurerm_firewall_policy_rule_collection_group.g",
             "expressions": {"network_rule_collection": [{"rule": [{"destination_ip_groups":
               {"references": ["azurerm_ip_group.storage.id", "azurerm_ip_group.storage"]}}]}]}}]}}}}}}"#;
        let decoded = decode("p.json", plan.as_bytes(), None).unwrap();
        let mut rules = decoded.rules;
        assert_eq!(
            rules[0].destinations,
            [Address::UnresolvedIpGroup(
                "address:module.m.azurerm_ip_group.storage".into()
            )]
        );
        let groups: BTreeMap<String, Vec<Address>> = decoded.ip_groups.into_iter().collect();
        resolve_ip_groups(&mut rules, &groups);
        assert_eq!(rules[0].destinations, [classify("20.0.0.0/24")]);
    }

    #[test]
    fn classic_firewall_rules_of_the_cli_are_read() {
        let firewall = r#"{"name": "afw", "networkRuleCollections": [{"name": "net", "priority": 100,
            "action": {"type": "Allow"}, "rules": [{"name": "aml", "protocols": ["TCP"], "sourceAddresses": ["10.0.1.0/24"],
            "destinationAddresses": ["AzureMachineLearning"], "destinationPorts": ["443"]}]}],
            "applicationRuleCollections": [{"name": "app", "priority": 200, "action": {"type": "Deny"},
            "rules": [{"name": "pypi", "protocols": [{"protocolType": "Https", "port": 443}], "sourceAddresses": ["*"],
            "targetFqdns": ["pypi.org"]}]}]}"#;
        let decoded = decode("afw.json", firewall.as_bytes(), None).unwrap();
        assert_eq!(decoded.format, Recognised::AzureCli);
        let rules = decoded.rules;
        assert_eq!(rules.len(), 2);
        assert_eq!(
            (rules[0].kind, rules[0].action),
            (DeployedKind::FirewallNetwork, Action::Allow)
        );
        assert_eq!(
            rules[0].destinations,
            [Address::Tag("AzureMachineLearning".into())]
        );
        assert_eq!(
            (rules[1].kind, rules[1].action),
            (DeployedKind::FirewallApplication, Action::Deny)
        );
        assert_eq!(rules[1].web, [(WebProtocol::Https, 443)]);
        assert_eq!(rules[1].precedence.container, "classic:afw");
    }
}
