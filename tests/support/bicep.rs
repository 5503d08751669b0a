//! A small reader for the Bicep amlfw emits: objects and arrays one item per line,
//! single-quoted strings, numbers, booleans and simple expressions. It reads the rules
//! back out of a generated Bicep module so tests can compare them with the plan.

use std::collections::{BTreeMap, BTreeSet};

use amlfw::render::RenderedFiles;

use super::{RuleFacts, sorted};

/// A Bicep value of the emitted subset.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Number(String),
    Bool(bool),
    Object(Vec<(String, Value)>),
    Array(Vec<Value>),
    /// A string with interpolations (`'*.blob.${environment().suffixes.storage}'`).
    Template(Vec<Part>),
    /// Anything else, as written (`computeSubnetAddressPrefixes['x']`, `union(a, b)`).
    Expression(String),
}

/// A piece of an interpolated string.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    /// The expression between `${` and `}`.
    Expression(String),
}

/// The `environment().suffixes` amlfw's modules may interpolate, by `environment().name`:
/// the values Azure Resource Manager returns in each cloud, written here independently of
/// the renderer so the read-back proves the module's hosts are the plan's hosts.
pub fn environment_suffixes(environment: &str) -> [(&'static str, &'static str); 4] {
    match environment {
        "AzureCloud" => [
            ("storage", "core.windows.net"),
            ("keyvaultDns", ".vault.azure.net"),
            ("acrLoginServer", ".azurecr.io"),
            ("sqlServerHostname", ".database.windows.net"),
        ],
        "AzureUSGovernment" => [
            ("storage", "core.usgovcloudapi.net"),
            ("keyvaultDns", ".vault.usgovcloudapi.net"),
            ("acrLoginServer", ".azurecr.us"),
            ("sqlServerHostname", ".database.usgovcloudapi.net"),
        ],
        "AzureChinaCloud" => [
            ("storage", "core.chinacloudapi.cn"),
            ("keyvaultDns", ".vault.azure.cn"),
            ("acrLoginServer", ".azurecr.cn"),
            ("sqlServerHostname", ".database.chinacloudapi.cn"),
        ],
        other => panic!("unknown environment {other}"),
    }
}

impl Value {
    /// A property of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

struct Reader<'t> {
    text: &'t [u8],
    at: usize,
}

impl Reader<'_> {
    fn skip(&mut self) {
        loop {
            while self.at < self.text.len() && self.text[self.at].is_ascii_whitespace() {
                self.at += 1;
            }
            // `//` comments, and decorators of type properties (`@minLength(1)`).
            if self.text[self.at..].starts_with(b"//") || self.text[self.at..].starts_with(b"@") {
                while self.at < self.text.len() && self.text[self.at] != b'\n' {
                    self.at += 1;
                }
            } else {
                return;
            }
        }
    }

    fn value(&mut self) -> Value {
        self.skip();
        match self.text[self.at] {
            b'\'' => self.string_value(),
            b'{' => {
                self.at += 1;
                let mut entries = Vec::new();
                loop {
                    self.skip();
                    if self.text[self.at] == b'}' {
                        self.at += 1;
                        return Value::Object(entries);
                    }
                    let key = if self.text[self.at] == b'\'' {
                        self.string()
                    } else {
                        let start = self.at;
                        while self.text[self.at] != b':' {
                            self.at += 1;
                        }
                        String::from_utf8_lossy(&self.text[start..self.at])
                            .trim()
                            .to_owned()
                    };
                    self.skip();
                    assert_eq!(self.text[self.at], b':', "expected `:` after key {key}");
                    self.at += 1;
                    let value = self.value();
                    entries.push((key, value));
                }
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip();
                    if self.text[self.at] == b']' {
                        self.at += 1;
                        return Value::Array(items);
                    }
                    items.push(self.value());
                }
            }
            _ => {
                let start = self.at;
                while self.at < self.text.len() && self.text[self.at] != b'\n' {
                    self.at += 1;
                }
                let mut raw = String::from_utf8_lossy(&self.text[start..self.at])
                    .trim()
                    .to_owned();
                // A call with one argument a line (`union(\n  a,\n  b\n)`), read back as
                // the one-line form `union(a, b)`.
                if raw.ends_with('(') {
                    let mut arguments = Vec::new();
                    loop {
                        self.at += 1;
                        let line_start = self.at;
                        while self.text[self.at] != b'\n' {
                            self.at += 1;
                        }
                        let line = String::from_utf8_lossy(&self.text[line_start..self.at])
                            .trim()
                            .to_owned();
                        if line == ")" {
                            break;
                        }
                        arguments.push(line.trim_end_matches(',').to_owned());
                    }
                    raw = format!("{raw}{})", arguments.join(", "));
                }
                match raw.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    number if number.chars().all(|c| c.is_ascii_digit()) => Value::Number(raw),
                    _ => Value::Expression(raw),
                }
            }
        }
    }

    /// A string without interpolation (object keys).
    fn string(&mut self) -> String {
        match self.string_value() {
            Value::String(text) => text,
            other => panic!("interpolation where a plain string is expected: {other:?}"),
        }
    }

    fn string_value(&mut self) -> Value {
        self.at += 1;
        // Bytes, then UTF-8: a description may hold any printable character.
        let mut out = Vec::new();
        let mut parts = Vec::new();
        loop {
            let c = self.text[self.at];
            self.at += 1;
            match c {
                // Bicep's escapes: \\ \' \$ \n \r \t and \u{X} (1 to 6 hex digits).
                b'\\' => {
                    let escaped = self.text[self.at];
                    self.at += 1;
                    match escaped {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'\\' | b'\'' | b'$' => out.push(escaped),
                        b'u' => {
                            assert_eq!(self.text[self.at], b'{', "\\u needs {{");
                            let end = self.at
                                + self.text[self.at..]
                                    .iter()
                                    .position(|&b| b == b'}')
                                    .unwrap();
                            let hex = std::str::from_utf8(&self.text[self.at + 1..end]).unwrap();
                            assert!((1..=6).contains(&hex.len()), "\\u{{{hex}}}");
                            let c = char::from_u32(u32::from_str_radix(hex, 16).unwrap())
                                .unwrap_or_else(|| panic!("\\u{{{hex}}} is no character"));
                            out.extend_from_slice(c.to_string().as_bytes());
                            self.at = end + 1;
                        }
                        other => panic!("invalid Bicep escape \\{}", char::from(other)),
                    }
                }
                // An unescaped `${`: an interpolation, up to the first `}` (amlfw emits
                // no nested braces inside one).
                b'$' if self.text[self.at] == b'{' => {
                    let end = self.at
                        + self.text[self.at..]
                            .iter()
                            .position(|&b| b == b'}')
                            .unwrap();
                    let text = String::from_utf8(std::mem::take(&mut out)).unwrap();
                    parts.push(Part::Text(text));
                    let expression = std::str::from_utf8(&self.text[self.at + 1..end]).unwrap();
                    parts.push(Part::Expression(expression.to_owned()));
                    self.at = end + 1;
                }
                b'\'' => {
                    let text = String::from_utf8(out).expect("bicep strings are UTF-8");
                    if parts.is_empty() {
                        return Value::String(text);
                    }
                    parts.push(Part::Text(text));
                    return Value::Template(parts);
                }
                _ => out.push(c),
            }
        }
    }
}

/// The declarations of a Bicep file: (keyword, name, type or '', value after `=`).
pub fn declarations(text: &str) -> Vec<(String, String, String, Value)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        let keyword = [
            "metadata ",
            "type ",
            "param ",
            "resource ",
            "module ",
            "output ",
            "var ",
        ]
        .into_iter()
        .find(|k| trimmed.starts_with(k));
        if let (Some(keyword), Some(equals)) = (keyword, trimmed.find(" = ")) {
            let head: Vec<&str> = trimmed[..equals].split_whitespace().collect();
            let mut reader = Reader {
                text: text.as_bytes(),
                at: offset + equals + 3,
            };
            let value = reader.value();
            out.push((
                keyword.trim().to_owned(),
                head[1].to_owned(),
                head.get(2)
                    .copied()
                    .unwrap_or("")
                    .trim_matches('\'')
                    .to_owned(),
                value,
            ));
        }
        offset += line.len();
    }
    out
}

fn strings(value: &Value, params: &BTreeMap<String, Value>) -> Vec<String> {
    match value {
        Value::String(s) | Value::Number(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(|i| strings(i, params)).collect(),
        Value::Template(parts) => vec![
            parts
                .iter()
                .map(|part| match part {
                    Part::Text(text) => text.clone(),
                    Part::Expression(expression) => {
                        let value = strings(&Value::Expression(expression.clone()), params);
                        assert_eq!(value.len(), 1, "{expression} is not one string");
                        value[0].clone()
                    }
                })
                .collect(),
        ],
        Value::Expression(expr) => {
            if let Some(inner) = expr
                .strip_prefix("union(")
                .and_then(|e| e.strip_suffix(')'))
            {
                return inner
                    .split(", ")
                    .flat_map(|part| strings(&Value::Expression(part.to_owned()), params))
                    .collect();
            }
            if let Some((name, key)) = expr.split_once("['") {
                let key = key.trim_end_matches("']");
                let object = params
                    .get(name)
                    .unwrap_or_else(|| panic!("no parameter {name}"));
                return strings(
                    object
                        .get(key)
                        .unwrap_or_else(|| panic!("no key {key} in {name}")),
                    params,
                );
            }
            strings(
                params
                    .get(expr.as_str())
                    .unwrap_or_else(|| panic!("unknown expression {expr}")),
                params,
            )
        }
        Value::Bool(_) | Value::Object(_) => panic!("not a string: {value:?}"),
    }
}

fn field(object: &Value, keys: &[&str], params: &BTreeMap<String, Value>) -> Vec<String> {
    sorted(
        keys.iter()
            .filter_map(|k| object.get(k))
            .flat_map(|v| strings(v, params))
            .collect(),
    )
}

/// One resource or module declaration of a Bicep file.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// `resource` or `module`.
    pub keyword: String,
    /// Its symbol.
    pub symbol: String,
    /// The resource type with API version, or the module's path.
    pub kind: String,
    /// Whether it is an `existing` resource (only read, never deployed).
    pub existing: bool,
    /// Its body.
    pub value: Value,
}

impl Declaration {
    /// A property of the body.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.value.get(key)
    }
}

/// The `resource` and `module` declarations of a Bicep file.
pub fn resources(text: &str) -> Vec<Declaration> {
    let heads: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("resource ") || line.starts_with("module "))
        .collect();
    let bodies: Vec<_> = declarations(text)
        .into_iter()
        .filter(|(keyword, ..)| keyword == "resource" || keyword == "module")
        .collect();
    assert_eq!(
        heads.len(),
        bodies.len(),
        "a declaration the reader cannot read"
    );
    heads
        .iter()
        .zip(bodies)
        .map(|(head, (keyword, symbol, kind, value))| Declaration {
            existing: head.split_whitespace().nth(3) == Some("existing"),
            keyword,
            symbol,
            kind,
            value,
        })
        .collect()
}

impl Value {
    /// The entries of an object (empty for anything else).
    pub fn entries(&self) -> &[(String, Value)] {
        match self {
            Value::Object(entries) => entries,
            _ => &[],
        }
    }
}

/// The directories of the Bicep modules in `files`, each ending with `/`: `bicep/`, or
/// `hub/bicep/` and `spoke/bicep/`.
pub fn module_roots(files: &RenderedFiles) -> Vec<String> {
    files
        .keys()
        .filter_map(|path| path.strip_suffix("main.bicep"))
        .filter(|root| root.ends_with("bicep/"))
        .map(str::to_owned)
        .collect()
}

/// One NSG rule's priority as a module deploys it: (region, rule name) -> (direction,
/// priority).
pub type Priorities = BTreeMap<(String, String), (String, u32)>;

/// The facts of every rule the rendered Bicep modules declare: the union of every module
/// in `files` (combined, or hub and spoke), the firewall rules in the rule collection
/// group module, the NSG rules and routes inline in `main.bicep` (create mode) or as child
/// resources in the per-region modules (existing mode).
pub fn module_facts(files: &RenderedFiles) -> BTreeSet<RuleFacts> {
    module_facts_and_priorities(files).0
}

/// The priority of every NSG rule the rendered Bicep modules declare.
pub fn nsg_priorities(files: &RenderedFiles) -> Priorities {
    module_facts_and_priorities(files).1
}

fn module_facts_and_priorities(files: &RenderedFiles) -> (BTreeSet<RuleFacts>, Priorities) {
    let mut facts = BTreeSet::new();
    let mut priorities = Priorities::new();
    for root in module_roots(files) {
        root_facts(files, &root, &mut facts, &mut priorities);
    }
    (facts, priorities)
}

/// `existingNetworkSecurityGroups.westeurope.name` or `...['west-europe'].name` -> the key.
fn entry_key(expression: &str, object: &str) -> Option<String> {
    let rest = expression.strip_prefix(object)?;
    let rest = rest.strip_suffix(".name")?;
    if let Some(quoted) = rest.strip_prefix("['") {
        return Some(quoted.strip_suffix("']")?.replace("\\'", "'"));
    }
    Some(rest.strip_prefix('.')?.to_owned())
}

fn root_facts(
    files: &RenderedFiles,
    root: &str,
    facts: &mut BTreeSet<RuleFacts>,
    priorities: &mut Priorities,
) {
    let main_text = &files[&format!("{root}main.bicep")];
    let main = declarations(main_text);
    // Parameters with defaults come from main.bicep, which passes them to its modules.
    let mut params: BTreeMap<String, Value> = main
        .iter()
        .filter(|(keyword, ..)| keyword == "param")
        .map(|(_, name, _, value)| (name.clone(), value.clone()))
        .collect();
    let firewall_module = format!("{root}modules/rule-collection-group.bicep");
    let module = files
        .get(&firewall_module)
        .map(|text| declarations(text))
        .unwrap_or_default();
    // The module's `environment()` expressions, with the values of the cloud it names.
    if let Some(environment) = module
        .iter()
        .find(|(keyword, name, ..)| keyword == "metadata" && name == "cloud")
        .map(|(.., value)| strings(value, &params)[0].clone())
    {
        for (suffix, value) in environment_suffixes(&environment) {
            params.insert(
                format!("environment().suffixes.{suffix}"),
                Value::String(value.to_owned()),
            );
        }
    }
    if files.contains_key(&firewall_module) {
        assert!(
            params.contains_key("environment().suffixes.storage"),
            "the rule collection group module names its cloud"
        );
    }
    // IP groups: `symbol.id` reads back as the group's name.
    for (keyword, symbol, kind, value) in &module {
        if keyword == "resource" && kind.starts_with("Microsoft.Network/ipGroups@") {
            let name = value.get("name").cloned().unwrap();
            params.insert(format!("{symbol}.id"), name.clone());
            let addresses = value
                .get("properties")
                .and_then(|p| p.get("ipAddresses"))
                .cloned()
                .unwrap();
            facts.insert(super::ip_group_facts(
                &strings(&name, &params)[0],
                strings(&addresses, &params),
            ));
        }
    }
    // Each file's own variables (`workspaceSources`) on top of the parameters.
    let with_vars = |declarations: &[(String, String, String, Value)]| {
        let mut scope = params.clone();
        for (keyword, name, _, value) in declarations {
            if keyword == "var" {
                scope.insert(name.clone(), value.clone());
            }
        }
        scope
    };
    let module_scope = with_vars(&module);
    let main_scope = with_vars(&main);
    let scoped = module
        .iter()
        .map(|d| (d, &module_scope))
        .chain(main.iter().map(|d| (d, &main_scope)));
    for ((keyword, _, kind, value), params) in scoped {
        if keyword != "resource" {
            continue;
        }
        let properties = value.get("properties");
        if kind.starts_with("Microsoft.Network/firewallPolicies/ruleCollectionGroups@") {
            firewall_facts(properties, params, facts);
        } else if kind.starts_with("Microsoft.Network/networkSecurityGroups@") {
            let region = strings(value.get("location").unwrap(), params)[0].clone();
            let Some(Value::Array(rules)) = properties.and_then(|p| p.get("securityRules")) else {
                continue;
            };
            for rule in rules {
                nsg_rule_facts(rule, &region, params, facts, priorities);
            }
        } else if kind.starts_with("Microsoft.Network/routeTables@") {
            let region = strings(value.get("location").unwrap(), params)[0].clone();
            let Some(Value::Array(routes)) = properties.and_then(|p| p.get("routes")) else {
                continue;
            };
            for route in routes {
                facts.insert(route_facts(route, &region, params));
            }
        }
    }
    // Existing mode: each region's module of child rules or routes, its region read from
    // the caller's entry main.bicep passes it (`existingX.<region>.name`).
    for declaration in resources(main_text) {
        if declaration.keyword != "module" {
            continue;
        }
        let Some(Value::Object(arguments)) = declaration.get("params") else {
            continue;
        };
        let mut module_params = BTreeMap::new();
        let mut region = None;
        for (name, argument) in arguments {
            if let Value::Expression(expression) = argument {
                if let Some(value) = params.get(expression) {
                    module_params.insert(name.clone(), value.clone());
                }
                region = region
                    .or_else(|| entry_key(expression, "existingNetworkSecurityGroups"))
                    .or_else(|| entry_key(expression, "existingRouteTables"));
            }
        }
        let Some(region) = region else { continue };
        let text = &files[&format!("{root}{}", declaration.kind)];
        for (keyword, name, _, value) in declarations(text) {
            if keyword == "var" {
                module_params.insert(name, value);
            }
        }
        for child in resources(text) {
            if child.keyword != "resource" || child.existing {
                continue;
            }
            if child
                .kind
                .starts_with("Microsoft.Network/networkSecurityGroups/securityRules@")
            {
                nsg_rule_facts(&child.value, &region, &module_params, facts, priorities);
            } else if child
                .kind
                .starts_with("Microsoft.Network/routeTables/routes@")
            {
                facts.insert(route_facts(&child.value, &region, &module_params));
            }
        }
    }
}

fn firewall_facts(
    properties: Option<&Value>,
    params: &BTreeMap<String, Value>,
    facts: &mut BTreeSet<RuleFacts>,
) {
    let Some(Value::Array(collections)) = properties.and_then(|p| p.get("ruleCollections")) else {
        return;
    };
    for collection in collections {
        let Some(Value::Array(rules)) = collection.get("rules") else {
            continue;
        };
        for rule in rules {
            let network = rule.get("ruleType") == Some(&Value::String("NetworkRule".into()));
            let protocols = if network {
                field(rule, &["ipProtocols"], params)
            } else {
                let Some(Value::Array(protocols)) = rule.get("protocols") else {
                    panic!("no protocols")
                };
                sorted(
                    protocols
                        .iter()
                        .map(|p| {
                            format!(
                                "{}:{}",
                                strings(p.get("protocolType").unwrap(), params)[0],
                                strings(p.get("port").unwrap(), params)[0]
                            )
                        })
                        .collect(),
                )
            };
            facts.insert(RuleFacts {
                kind: if network { "network" } else { "application" },
                name: strings(rule.get("name").unwrap(), params)[0].clone(),
                protocols,
                ports: field(rule, &["destinationPorts"], params),
                sources: field(rule, &["sourceAddresses"], params),
                destinations: field(
                    rule,
                    &[
                        "destinationAddresses",
                        "destinationFqdns",
                        "targetFqdns",
                        "targetUrls",
                        "destinationIpGroups",
                    ],
                    params,
                ),
                terminate_tls: rule.get("terminateTLS") == Some(&Value::Bool(true)),
                next_hop: String::new(),
                region: String::new(),
            });
        }
    }
}

/// An NSG rule, inline (`{ name, properties }`) or a child resource (the same shape).
fn nsg_rule_facts(
    rule: &Value,
    region: &str,
    params: &BTreeMap<String, Value>,
    facts: &mut BTreeSet<RuleFacts>,
    priorities: &mut Priorities,
) {
    let p = rule.get("properties").unwrap();
    let protocol = match strings(p.get("protocol").unwrap(), params)[0].as_str() {
        "Tcp" => "TCP",
        "Udp" => "UDP",
        _ => "Any",
    };
    let name = strings(rule.get("name").unwrap(), params)[0].clone();
    let priority = strings(p.get("priority").unwrap(), params)[0]
        .parse()
        .unwrap();
    let direction = strings(p.get("direction").unwrap(), params)[0].clone();
    let previous = priorities.insert((region.to_owned(), name.clone()), (direction, priority));
    assert!(
        previous.is_none(),
        "NSG rule {name} declared twice in {region}"
    );
    facts.insert(RuleFacts {
        kind: "nsg",
        name,
        protocols: vec![protocol.to_owned()],
        ports: field(
            p,
            &["destinationPortRange", "destinationPortRanges"],
            params,
        ),
        sources: field(p, &["sourceAddressPrefix", "sourceAddressPrefixes"], params),
        destinations: field(
            p,
            &["destinationAddressPrefix", "destinationAddressPrefixes"],
            params,
        ),
        terminate_tls: false,
        next_hop: String::new(),
        region: region.to_owned(),
    });
}

/// A route, inline or a child resource.
fn route_facts(route: &Value, region: &str, params: &BTreeMap<String, Value>) -> RuleFacts {
    let p = route.get("properties").unwrap();
    let hop = strings(p.get("nextHopType").unwrap(), params)[0].clone();
    let next_hop = match p.get("nextHopIpAddress") {
        Some(ip) => format!("{hop} {}", strings(ip, params)[0]),
        None => hop,
    };
    RuleFacts {
        kind: "route",
        name: strings(route.get("name").unwrap(), params)[0].clone(),
        protocols: Vec::new(),
        ports: Vec::new(),
        sources: Vec::new(),
        destinations: field(p, &["addressPrefix"], params),
        terminate_tls: false,
        next_hop,
        region: region.to_owned(),
    }
}

/// The firewall rule destinations the module writes as plain string literals (no
/// interpolation), as written.
pub fn literal_destinations(files: &RenderedFiles) -> Vec<String> {
    let module: Vec<_> = files
        .iter()
        .filter(|(path, _)| path.ends_with("bicep/modules/rule-collection-group.bicep"))
        .flat_map(|(_, text)| declarations(text))
        .collect();
    let mut out = Vec::new();
    for (keyword, _, kind, value) in &module {
        if keyword != "resource"
            || !kind.starts_with("Microsoft.Network/firewallPolicies/ruleCollectionGroups@")
        {
            continue;
        }
        let Some(Value::Array(collections)) = value
            .get("properties")
            .and_then(|p| p.get("ruleCollections"))
        else {
            continue;
        };
        for rule in collections.iter().filter_map(|c| match c.get("rules") {
            Some(Value::Array(rules)) => Some(rules),
            _ => None,
        }) {
            for rule in rule {
                for field in ["destinationFqdns", "targetFqdns", "targetUrls"] {
                    if let Some(Value::Array(items)) = rule.get(field) {
                        out.extend(items.iter().filter_map(|item| match item {
                            Value::String(text) => Some(text.clone()),
                            _ => None,
                        }));
                    }
                }
            }
        }
    }
    out
}
