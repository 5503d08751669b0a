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
    fn get(&self, key: &str) -> Option<&Value> {
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
                let raw = String::from_utf8_lossy(&self.text[start..self.at])
                    .trim()
                    .to_owned();
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

/// The facts of every rule a rendered Bicep module declares.
pub fn module_facts(files: &RenderedFiles) -> BTreeSet<RuleFacts> {
    let main = declarations(&files["bicep/main.bicep"]);
    let module = declarations(&files["bicep/modules/rule-collection-group.bicep"]);
    // Parameters with defaults come from main.bicep, which passes them to the module.
    let mut params: BTreeMap<String, Value> = main
        .iter()
        .filter(|(keyword, ..)| keyword == "param")
        .map(|(_, name, _, value)| (name.clone(), value.clone()))
        .collect();
    // The module's `environment()` expressions, with the values of the cloud it names.
    let environment = module
        .iter()
        .find(|(keyword, name, ..)| keyword == "metadata" && name == "cloud")
        .map(|(.., value)| strings(value, &params)[0].clone())
        .expect("the rule collection group module names its cloud");
    for (suffix, value) in environment_suffixes(&environment) {
        params.insert(
            format!("environment().suffixes.{suffix}"),
            Value::String(value.to_owned()),
        );
    }
    let mut facts = BTreeSet::new();
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
    for (keyword, _, kind, value) in module.iter().chain(main.iter()) {
        if keyword != "resource" {
            continue;
        }
        let properties = value.get("properties");
        if kind.starts_with("Microsoft.Network/firewallPolicies/ruleCollectionGroups@") {
            let Some(Value::Array(collections)) = properties.and_then(|p| p.get("ruleCollections"))
            else {
                continue;
            };
            for collection in collections {
                let Some(Value::Array(rules)) = collection.get("rules") else {
                    continue;
                };
                for rule in rules {
                    let network =
                        rule.get("ruleType") == Some(&Value::String("NetworkRule".into()));
                    let protocols = if network {
                        field(rule, &["ipProtocols"], &params)
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
                                        strings(p.get("protocolType").unwrap(), &params)[0],
                                        strings(p.get("port").unwrap(), &params)[0]
                                    )
                                })
                                .collect(),
                        )
                    };
                    facts.insert(RuleFacts {
                        kind: if network { "network" } else { "application" },
                        name: strings(rule.get("name").unwrap(), &params)[0].clone(),
                        protocols,
                        ports: field(rule, &["destinationPorts"], &params),
                        sources: field(rule, &["sourceAddresses"], &params),
                        destinations: field(
                            rule,
                            &[
                                "destinationAddresses",
                                "destinationFqdns",
                                "targetFqdns",
                                "targetUrls",
                                "destinationIpGroups",
                            ],
                            &params,
                        ),
                        terminate_tls: rule.get("terminateTLS") == Some(&Value::Bool(true)),
                        next_hop: String::new(),
                        region: String::new(),
                    });
                }
            }
        } else if kind.starts_with("Microsoft.Network/networkSecurityGroups@") {
            let region = strings(value.get("location").unwrap(), &params)[0].clone();
            let Some(Value::Array(rules)) = properties.and_then(|p| p.get("securityRules")) else {
                continue;
            };
            for rule in rules {
                let p = rule.get("properties").unwrap();
                let protocol = match strings(p.get("protocol").unwrap(), &params)[0].as_str() {
                    "Tcp" => "TCP",
                    "Udp" => "UDP",
                    _ => "Any",
                };
                facts.insert(RuleFacts {
                    kind: "nsg",
                    name: strings(rule.get("name").unwrap(), &params)[0].clone(),
                    protocols: vec![protocol.to_owned()],
                    ports: field(
                        p,
                        &["destinationPortRange", "destinationPortRanges"],
                        &params,
                    ),
                    sources: field(
                        p,
                        &["sourceAddressPrefix", "sourceAddressPrefixes"],
                        &params,
                    ),
                    destinations: field(
                        p,
                        &["destinationAddressPrefix", "destinationAddressPrefixes"],
                        &params,
                    ),
                    terminate_tls: false,
                    next_hop: String::new(),
                    region: region.clone(),
                });
            }
        } else if kind.starts_with("Microsoft.Network/routeTables@") {
            let region = strings(value.get("location").unwrap(), &params)[0].clone();
            let Some(Value::Array(routes)) = properties.and_then(|p| p.get("routes")) else {
                continue;
            };
            for route in routes {
                let p = route.get("properties").unwrap();
                let hop = strings(p.get("nextHopType").unwrap(), &params)[0].clone();
                let next_hop = match p.get("nextHopIpAddress") {
                    Some(ip) => format!("{hop} {}", strings(ip, &params)[0]),
                    None => hop,
                };
                facts.insert(RuleFacts {
                    kind: "route",
                    name: strings(route.get("name").unwrap(), &params)[0].clone(),
                    protocols: Vec::new(),
                    ports: Vec::new(),
                    sources: Vec::new(),
                    destinations: field(p, &["addressPrefix"], &params),
                    terminate_tls: false,
                    next_hop,
                    region: region.clone(),
                });
            }
        }
    }
    facts
}

/// The firewall rule destinations the module writes as plain string literals (no
/// interpolation), as written.
pub fn literal_destinations(files: &RenderedFiles) -> Vec<String> {
    let module = declarations(&files["bicep/modules/rule-collection-group.bicep"]);
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
