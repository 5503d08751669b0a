//! The JSON Schema (draft 2020-12) of scenario format version 1, for editors and other
//! tools: `amlfw schema` prints it, and `schema/scenario-v1.schema.json` is a copy.
//!
//! It is built from what the decoder reads — the `*_FIELDS` lists, [`FEATURES`],
//! [`BOOLEAN_FIELDS`], the value lists and defaults in `scenario/mod.rs`, and the regions
//! and revisions of the catalog — so a field added to the decoder shows up here, and a
//! test fails until it has a description. Only the descriptions live here; they follow
//! README.md's scenario reference.
//!
//! The schema is a little stricter than the decoder, never looser: strings must be YAML
//! strings (the decoder also takes `name: 123`), an optional key must not be left empty
//! (`firewall:` with nothing under it), and regions must be a programmatic or display
//! name as the catalog spells them (the decoder also ignores case and spaces). What it
//! cannot express is left to `amlfw plan`: workspace names unique ignoring case, CIDRs
//! without host bits, the rules on wildcard hosts and the checks that need the plan.

use serde_json::{Map, Value, json};

use super::{
    ARC_FEATURES, AZURE_MONITOR_MODES, BOOLEAN_FIELDS, COMPUTE_FIELDS, CONTAINER_REGISTRY_FIELDS,
    CONTAINER_REGISTRY_LENGTH, DEFAULT_CATALOG, DEFAULT_NSG_PRIORITIES, DEFAULT_PRIORITY,
    DEFAULT_RULE_COLLECTION_GROUP_NAME, DESTINATIONS, EXTRA_FQDN_FIELDS, FEATURES, FIREWALL_FIELDS,
    ISOLATION_MODES, KUBERNETES_CONNECTIONS, KUBERNETES_FIELDS, LAYOUTS, MANAGED_NETWORK_FIELDS,
    NSG_FIELDS, OUTPUTS_FIELDS, PRIORITY_RANGE, REGISTRY_ACCESS, ROUTE_MODES, ROUTE_TABLE_FIELDS,
    RULE_COLLECTION_GROUP_FIELDS, RULE_COLLECTION_GROUP_NAME_LENGTH, SKUS, STORAGE_ACCOUNT_LENGTH,
    TOP_FIELDS, UNMARKED_TAGS, VERSION, WORKSPACE_FIELDS, WORKSPACE_NAME_LENGTH,
};
use crate::catalog::{Catalog, Cloud};

/// The dialect the schema is written in.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Where the committed copy lives in the repository (README points editors at it).
pub const COMMITTED_PATH: &str = "schema/scenario-v1.schema.json";

/// One mapping of the format: its name under `$defs` (`scenario` is the root), its fields
/// as the decoder knows them, the fields it requires and what it is.
#[derive(Debug, Clone, Copy)]
pub struct Object {
    /// Name under `$defs`; `scenario` is the document itself.
    pub name: &'static str,
    /// The decoder's field list for this mapping.
    pub fields: &'static [&'static str],
    /// Fields the decoder reports as `missing-field` when absent.
    pub required: &'static [&'static str],
    /// What the mapping is.
    pub description: &'static str,
}

/// Every mapping of the format, root first. A test checks these field lists are exactly
/// [`super::ALL_FIELDS`], and that `required` matches what the decoder reports missing.
pub const OBJECTS: &[Object] = &[
    Object {
        name: "scenario",
        fields: TOP_FIELDS,
        required: &["version", "cloud", "workspaces"],
        description: "An amlfw scenario (format version 1): the Azure Machine Learning workspaces behind one hub Azure Firewall.",
    },
    Object {
        name: "firewall",
        fields: FIREWALL_FIELDS,
        required: &[],
        description: "The hub Azure Firewall the rules go to.",
    },
    Object {
        name: "rule_collection_group",
        fields: RULE_COLLECTION_GROUP_FIELDS,
        required: &[],
        description: "The rule collection group amlfw owns in your firewall policy.",
    },
    Object {
        name: "workspace",
        fields: WORKSPACE_FIELDS,
        required: &["name", "region"],
        description: "One Azure Machine Learning workspace.",
    },
    Object {
        name: "container_registry",
        fields: CONTAINER_REGISTRY_FIELDS,
        required: &["name"],
        description: "The workspace's container registry, and how compute reaches it.",
    },
    Object {
        name: "compute",
        fields: COMPUTE_FIELDS,
        required: &[],
        description: "What compute the workspace uses (all off by default).",
    },
    Object {
        name: "kubernetes",
        fields: KUBERNETES_FIELDS,
        required: &[],
        description: "Attached Kubernetes compute.",
    },
    Object {
        name: "extra_fqdn",
        fields: EXTRA_FQDN_FIELDS,
        required: &["fqdn", "ports", "reason"],
        description: "A host your team needs beyond the article. Ports 80/443 become application rules, other ports network rules with FQDNs.",
    },
    Object {
        name: "managed_network",
        fields: MANAGED_NETWORK_FIELDS,
        required: &[],
        description: "The workspace uses an Azure Machine Learning managed virtual network instead of the hub firewall: amlfw plans its user-defined outbound rules (`managed/terraform/`, `managed/bicep/`) and no firewall, NSG or route rule.",
    },
    Object {
        name: "outputs",
        fields: OUTPUTS_FIELDS,
        required: &[],
        description: "Which resources besides firewall rules to plan.",
    },
    Object {
        name: "nsg",
        fields: NSG_FIELDS,
        required: &[],
        description: "NSG rules, said in more words than `nsg: true`: into NSGs the spoke already has, in a priority band of your choosing.",
    },
    Object {
        name: "route_table",
        fields: ROUTE_TABLE_FIELDS,
        required: &["firewall_private_ip"],
        description: "Plan routes: 0.0.0.0/0 to the firewall, and for compute with public IPs the routes that let inbound management traffic skip it.",
    },
];

/// The description of each field, by (object, field): the meaning column of README's
/// scenario reference (generated from here by [`reference_markdown`]) and the hover text
/// of editors. Markdown: backticks mark values and keys.
const DESCRIPTIONS: &[(&str, &str, &str)] = &[
    ("scenario", "version", "Scenario format version; `1`."),
    (
        "scenario",
        "cloud",
        "`public`, `usgov` (Azure Government) or `china` (Azure operated by 21Vianet). Picks each requirement's variant for that cloud (the article's Government and China tabs).",
    ),
    (
        "scenario",
        "catalog",
        "Which article revision to follow; `latest` is the newest. `\"2022-09\"` is the 2022 article with its corrections, `\"2026-03\"` its March 2026 revision; quote the revision, it is a string.",
    ),
    ("scenario", "firewall", "The hub Azure Firewall (below)."),
    (
        "scenario",
        "workspaces",
        "One or more workspaces (below); a hub firewall often serves several.",
    ),
    (
        "scenario",
        "outputs",
        "Which resources besides firewall rules to plan (below).",
    ),
    (
        "firewall",
        "sku",
        "The firewall SKU, `standard` or `premium`. Premium matches URL paths (`destination_urls` with TLS inspection) where the article gives one; on Standard the host alone is allowed and amlfw warns that this is broader.",
    ),
    (
        "firewall",
        "destinations",
        "What the rules name: `service-tags`, `hosts` or `ip-addresses`. `service-tags` follows the article's firewall tables: network rules to service tags, application rules for third-party hosts. `hosts` follows its \"Microsoft hosts\" tables for firewalls without service tags: host names only, except where a wildcard host is on a port an application rule cannot carry (the covering service tag is used, since network rules take no wildcard FQDNs). `ip-addresses` is `service-tags` with each tag's IPv4 prefixes in an IP group (needs `--service-tags`).",
    ),
    (
        "firewall",
        "unmarked_tags",
        "What to write where the article's regional service tag is not marked for Azure Firewall (`FW`) in Microsoft's service tag file while its global tag is (today `BatchNodeManagement.<Region>` in every public and Government region): `regional` keeps the article's tag (Azure Firewall accepts it today), `global` writes the global tag instead (marked, but every region's addresses). Unset: `regional`, with a warning asking for the decision. Where the global tag is not marked either (Azure China), only `destinations: hosts` avoids such tags.",
    ),
    (
        "firewall",
        "rule_collection_group",
        "The rule collection group amlfw owns in your firewall policy (below).",
    ),
    (
        "rule_collection_group",
        "name",
        "1-80 letters, digits, `-`, `_` and `.`, starting with a letter or digit and ending with a letter, digit or `_`.",
    ),
    (
        "rule_collection_group",
        "priority",
        "100-65000; Azure Firewall evaluates rule collection groups from 100 (first) to 65000 (last).",
    ),
    (
        "workspace",
        "name",
        "Workspace name (3-33 letters, digits, `-` and `_`, starting with a letter or digit), unique ignoring case.",
    ),
    (
        "workspace",
        "region",
        "Azure region of the scenario's cloud: programmatic name (`eastus2`) or display name (`East US 2`). Regional service tags get Microsoft's exact casing (`Storage.EastUS2`).",
    ),
    (
        "workspace",
        "storage_account",
        "The workspace's default storage account (3-24 lowercase letters and digits); fills the article's `<storage>` hosts. Required when a selected requirement names such a host.",
    ),
    (
        "workspace",
        "container_registry",
        "The workspace's container registry: its name (5-50 letters and digits, not the login server), or a mapping (below) that also says how compute reaches it. Custom images and job submission need the registry: through the firewall (the default) amlfw plans `AzureContainerRegistry.<Region>` 443, or in hosts mode its login server and dedicated data endpoint; through a private endpoint, no rule. Also fills `<your ACR name>` hosts (Kubernetes compute).",
    ),
    (
        "container_registry",
        "name",
        "The registry's name (5-50 letters and digits, not the login server).",
    ),
    (
        "container_registry",
        "access",
        "`firewall`: compute reaches the registry through the hub firewall, and amlfw plans its rule. `private-endpoint`: through a private endpoint in the compute virtual network (a Premium registry; the article's Basic configuration assumes one), and no firewall rule is needed.",
    ),
    (
        "workspace",
        "workspace_id",
        "The workspace ID GUID; fills `<your workspace ID>` hosts (Kubernetes compute).",
    ),
    (
        "workspace",
        "private_endpoint",
        "The workspace has a private endpoint (the article's scope). Compute instance ports 8787 and 18881 and the `VirtualNetwork` 443 rule depend on it.",
    ),
    (
        "workspace",
        "hbi",
        "The workspace was created with the `hbi_workspace` flag (adds Key Vault).",
    ),
    (
        "workspace",
        "azure_monitor",
        "How the workspace reaches Azure Monitor and Application Insights: `public` plans the article's monitoring rules (`AzureMonitor` 443, or the monitoring hosts); `secured` (an Azure Monitor Private Link Scope) plans none, as the article says they are \"only needed if you aren't using a secured Azure Monitor\".",
    ),
    (
        "workspace",
        "compute_subnets",
        "Address prefixes of the subnets the compute runs in: the sources of every firewall rule. Required as soon as the workspace needs a firewall rule.",
    ),
    (
        "workspace",
        "compute_subnet_ids",
        "Resource IDs of the compute subnets (`/subscriptions/.../virtualNetworks/<vnet>/subnets/<subnet>`): the generated module associates its NSG and route table with them.",
    ),
    (
        "workspace",
        "compute",
        "What compute the workspace uses (below); all off when absent.",
    ),
    ("workspace", "features", "Features in use (below)."),
    (
        "workspace",
        "extra_fqdns",
        "Hosts your team needs beyond the article (below). Ports 80/443 become application rules, other ports network rules with FQDNs.",
    ),
    (
        "workspace",
        "managed_network",
        "The workspace's outbound traffic goes through its managed virtual network (below), not the hub firewall: its features become the managed-network article's outbound rules, and `compute_subnets` are not needed. Workspaces with and without it mix in one scenario.",
    ),
    (
        "managed_network",
        "isolation",
        "`allow-only-approved-outbound`: amlfw plans the FQDN and private endpoint outbound rules the workspace's features need, and lists the rules Azure creates itself. `allow-internet-outbound`: all internet outbound is allowed, so amlfw writes no rule for public hosts (only the private endpoint rules, such as batch endpoints' queue and table) and says so in the plan.",
    ),
    ("compute", "instances", "Compute instances."),
    ("compute", "clusters", "Compute clusters."),
    (
        "compute",
        "public_ip",
        "The compute has public IPs: inbound management traffic (NSG rules) and routes to skip the firewall are needed.",
    ),
    (
        "compute",
        "kubernetes",
        "Attached Kubernetes compute (below).",
    ),
    (
        "compute",
        "aks_v1_inference",
        "Models deployed to AKS with CLI/SDK v1.",
    ),
    (
        "kubernetes",
        "training",
        "The cluster is used for training.",
    ),
    (
        "kubernetes",
        "inference",
        "The cluster is used for inference.",
    ),
    (
        "kubernetes",
        "connection",
        "`arc` (Azure Arc-enabled Kubernetes) or `aks` (AKS with the extension but without Arc).",
    ),
    (
        "kubernetes",
        "region",
        "The cluster's region (the Arc-connected cluster's, or the AKS cluster's), written like a workspace's `region`; the workspace's when absent. It fills `<region>` in the Azure Arc and AKS cluster-extension endpoints; the Azure Machine Learning hosts keep the workspace's region.",
    ),
    (
        "kubernetes",
        "subnets",
        "Address prefixes of the subnets the cluster's nodes run in: the sources of every Kubernetes rule. When absent, the workspace's `compute_subnets` are used, with a warning (`kubernetes-subnets-defaulted`).",
    ),
    (
        "kubernetes",
        "arc_features",
        "Optional Azure Arc features in use (`connection: arc` only), each adding the endpoints the Arc network requirements list for it: `cluster-connect` (notification service, Azure Relay, `<region>.obo.arc.azure.com` on TCP 8084), `custom-locations` (notification service, Azure Relay), `azure-rbac` (Microsoft Graph), `portal` (managing the cluster in the Azure portal). The Azure Machine Learning extension needs none of them.",
    ),
    (
        "extra_fqdn",
        "fqdn",
        "A host name, or `*.` and a host name on ports 80/443 only. A bare `*` or `*x.com` is refused: it would match look-alike domains.",
    ),
    (
        "extra_fqdn",
        "ports",
        "Ports, each a number or a range such as `8000-8080` (1-65535).",
    ),
    (
        "extra_fqdn",
        "reason",
        "Why the host is needed; one line, shown with the rule.",
    ),
    (
        "outputs",
        "layout",
        "`combined` (one module per target) or `split` (a hub and a spoke module, for two pipelines). `combined` writes `terraform/` and `bicep/`; `split` writes a hub module with the firewall policy's resources (`hub/terraform/`, `hub/bicep/`) and a spoke module with the NSG rules, routes and subnet associations of every region (`spoke/terraform/`, `spoke/bicep/`); neither refers to the other, so the hub's and the spoke's pipelines apply them from their own states.",
    ),
    (
        "outputs",
        "nsg",
        "Plan NSG rules for the compute subnets: inbound management traffic (one service tag per rule) and outbound rules only an NSG can express (`VirtualNetwork` 443). `true` creates an NSG per region (and associates it with the `compute_subnet_ids`); a mapping (below) means `true` and says more.",
    ),
    (
        "nsg",
        "existing",
        "Add the rules to an NSG per region that already exists (the module takes each one's name and resource group) instead of creating one; amlfw then never creates, changes or associates an NSG.",
    ),
    (
        "nsg",
        "priorities",
        "The band of NSG priorities amlfw's rules take, `FIRST-LAST` within 100-4096, in each direction; keep your own rules outside it. Each catalog requirement has a fixed slot of 10 priorities in the band, so a rule's priority never moves; a band too small for the plan's rules is an error that says how many priorities it needs.",
    ),
    (
        "outputs",
        "route_table",
        "Plan routes (below): `0.0.0.0/0` to the firewall, and, for compute with public IPs, the routes with next hop `Internet` that let inbound management traffic skip the firewall.",
    ),
    (
        "route_table",
        "existing",
        "Add the routes to a route table per region that already exists (the module takes each one's name and resource group) instead of creating one; amlfw then never creates, changes or associates a route table. If it already sends `0.0.0.0/0` to the firewall, add `default_route: false` (Azure refuses a second route with the same prefix).",
    ),
    (
        "route_table",
        "default_route",
        "Plan the route `0.0.0.0/0` to the firewall. `false` when the route table already has it (an existing spoke route table usually does; Azure refuses a second route with one prefix): then `firewall_private_ip` is left out, and the other routes are still planned.",
    ),
    (
        "route_table",
        "firewall_private_ip",
        "The firewall's private IP, next hop of `0.0.0.0/0`; required unless `default_route: false`.",
    ),
    (
        "route_table",
        "mode",
        "`service-tags` routes the service tags; `ip-addresses` routes their address prefixes instead (needs `--service-tags`).",
    ),
];

/// The description of `field` in `object`.
#[must_use]
pub fn description(object: &str, field: &str) -> Option<&'static str> {
    DESCRIPTIONS
        .iter()
        .find(|(o, f, _)| *o == object && *f == field)
        .map(|(_, _, text)| *text)
}

/// The schema as a JSON value, keys sorted.
#[must_use]
pub fn schema(catalog: &Catalog) -> Value {
    let mut defs = Map::new();
    let mut root = Map::new();
    for object in OBJECTS {
        let built = object_schema(object, catalog);
        if object.name == "scenario" {
            root = built;
        } else {
            defs.insert(object.name.to_owned(), Value::Object(built));
        }
    }
    root.insert("$schema".to_owned(), json!(DIALECT));
    root.insert(
        "title".to_owned(),
        json!("amlfw scenario, format version 1"),
    );
    root.insert("$defs".to_owned(), Value::Object(defs));
    root.insert("allOf".to_owned(), regions_per_cloud(catalog));
    let mut value = Value::Object(root);
    // Sorted keys whatever serde_json's features: another crate turning on
    // `preserve_order` must not change the bytes.
    value.sort_all_objects();
    value
}

/// The schema as `amlfw schema` prints it: pretty JSON, one trailing newline.
#[must_use]
pub fn schema_text(catalog: &Catalog) -> String {
    let mut text = serde_json::to_string_pretty(&schema(catalog)).unwrap_or_default();
    text.push('\n');
    text
}

/// Where README's scenario reference begins and ends; [`reference_markdown`] is what lies
/// between (a test keeps README equal to it).
pub const REFERENCE_MARKERS: (&str, &str) = (
    "<!-- scenario-reference: generated by `amlfw schema --format markdown` from src/scenario/schema.rs; do not edit by hand -->\n",
    "<!-- end of scenario-reference -->\n",
);

/// The heading of each object's table in the reference, by `$defs` name.
const HEADINGS: &[(&str, &str)] = &[
    ("scenario", "### Top level"),
    ("firewall", "### `firewall`"),
    (
        "rule_collection_group",
        "#### `firewall.rule_collection_group`",
    ),
    ("workspace", "### `workspaces[]`"),
    ("container_registry", "#### `container_registry`"),
    ("compute", "#### `compute`"),
    ("kubernetes", "##### `compute.kubernetes`"),
    ("extra_fqdn", "#### `extra_fqdns[]`"),
    ("managed_network", "#### `managed_network`"),
    ("outputs", "### `outputs`"),
    ("nsg", "#### `outputs.nsg`"),
    ("route_table", "#### `outputs.route_table`"),
];

/// README's scenario reference: one table per mapping (key, default, meaning) and the
/// feature list, from the same tables as the schema, so the two cannot disagree.
#[must_use]
pub fn reference_markdown(catalog: &Catalog) -> String {
    let mut out = String::new();
    for object in OBJECTS {
        let heading = HEADINGS
            .iter()
            .find(|(name, _)| *name == object.name)
            .map_or(object.name, |(_, heading)| heading);
        let built = object_schema(object, catalog);
        out.push_str(&format!(
            "{heading}\n\n{}\n\n| key | default | meaning |\n|---|---|---|\n",
            object.description
        ));
        for field in object.fields {
            let default = if object.required.contains(field) {
                "required".to_owned()
            } else {
                built["properties"][field].get("default").map_or_else(
                    || "none".to_owned(),
                    |value| format!("`{}`", yaml_inline(value)),
                )
            };
            let meaning = description(object.name, field).unwrap_or_default();
            out.push_str(&format!(
                "| `{field}` | {default} | {} |\n",
                meaning.replace('|', "\\|")
            ));
        }
        out.push('\n');
        if object.name == "extra_fqdn" {
            out.push_str("#### `features`\n\n| feature | meaning |\n|---|---|\n");
            for (feature, meaning) in FEATURES {
                let mut chars = meaning.chars();
                let capitalized: String = chars
                    .next()
                    .map(|c| c.to_uppercase().chain(chars).collect())
                    .unwrap_or_default();
                out.push_str(&format!(
                    "| `{feature}` | {}. |\n",
                    capitalized.replace('|', "\\|")
                ));
            }
            out.push('\n');
        }
    }
    out
}

/// A default value as a scenario would write it: `true`, `[]`, `{ name: x, priority: 1 }`.
fn yaml_inline(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(yaml_inline).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{ {} }}",
            map.iter()
                .map(|(k, v)| format!("{k}: {}", yaml_inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn object_schema(object: &Object, catalog: &Catalog) -> Map<String, Value> {
    let mut properties = Map::new();
    for field in object.fields {
        let mut property = match field_schema(object.name, field, catalog) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        if let Some(text) = description(object.name, field) {
            property.insert("description".to_owned(), json!(text));
        }
        if let Some((_, default)) = BOOLEAN_FIELDS.iter().find(|(name, _)| name == field) {
            property.insert("type".to_owned(), json!("boolean"));
            property.insert("default".to_owned(), json!(default));
        }
        if (object.name, *field) == ("outputs", "nsg") {
            // `nsg: true`, or the mapping that says more.
            property.remove("type");
            property.insert(
                "anyOf".to_owned(),
                json!([{ "type": "boolean" }, reference("nsg")]),
            );
        }
        properties.insert((*field).to_owned(), Value::Object(property));
    }
    let mut map = Map::new();
    map.insert("type".to_owned(), json!("object"));
    map.insert("description".to_owned(), json!(object.description));
    map.insert("additionalProperties".to_owned(), json!(false));
    map.insert("properties".to_owned(), Value::Object(properties));
    if object.name == "route_table" {
        // `firewall_private_ip` is required unless `default_route: false`, and refused then.
        map.insert(
            "if".to_owned(),
            json!({ "properties": { "default_route": { "const": false } }, "required": ["default_route"] }),
        );
        map.insert(
            "then".to_owned(),
            json!({ "not": { "required": ["firewall_private_ip"] } }),
        );
        map.insert("else".to_owned(), json!({ "required": object.required }));
    } else if !object.required.is_empty() {
        map.insert("required".to_owned(), json!(object.required));
    }
    map
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{name}") })
}

/// A string of `chars` (a regex class body) with Azure's length limits.
fn name_string(first: &str, chars: &str, (min, max): (usize, usize)) -> Value {
    json!({
        "type": "string",
        "minLength": min,
        "maxLength": max,
        "pattern": format!("^[{first}][{chars}]*$"),
    })
}

/// A regex matching `word` in any ASCII casing, as Azure compares resource ID segments.
fn any_case(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else if c == '.' {
                "\\.".to_owned()
            } else {
                c.to_string()
            }
        })
        .collect()
}

const GUID: &str = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

/// The type, values and default of one field; booleans come from [`BOOLEAN_FIELDS`] and
/// nested mappings are references into `$defs`.
fn field_schema(object: &str, field: &str, catalog: &Catalog) -> Value {
    match (object, field) {
        ("scenario", "version") => json!({ "type": "integer", "const": VERSION }),
        ("scenario", "cloud") => {
            json!({ "type": "string", "enum": Cloud::ALL.map(Cloud::as_str) })
        }
        ("scenario", "catalog") => {
            let mut names = vec![DEFAULT_CATALOG.to_owned()];
            names.extend(catalog.revisions.iter().map(|r| r.id.clone()));
            json!({ "type": "string", "enum": names, "default": DEFAULT_CATALOG })
        }
        ("scenario", "workspaces") => {
            json!({ "type": "array", "minItems": 1, "items": reference("workspace") })
        }
        ("scenario", "firewall" | "outputs")
        | ("firewall", "rule_collection_group")
        | ("workspace", "compute" | "managed_network")
        | ("compute", "kubernetes")
        | ("outputs", "route_table") => {
            let mut value = reference(field);
            if field == "rule_collection_group" {
                value["default"] = json!({
                    "name": DEFAULT_RULE_COLLECTION_GROUP_NAME,
                    "priority": DEFAULT_PRIORITY,
                });
            }
            value
        }
        ("firewall", "sku") => choice(SKUS),
        ("firewall", "destinations") => choice(DESTINATIONS),
        ("kubernetes", "connection") => choice(KUBERNETES_CONNECTIONS),
        ("kubernetes", "region") => {
            json!({ "type": "string", "enum": region_names(catalog, &Cloud::ALL) })
        }
        ("kubernetes", "arc_features") => json!({
            "type": "array",
            "uniqueItems": true,
            "default": [],
            "items": {
                "anyOf": ARC_FEATURES
                    .iter()
                    .map(|(name, _, meaning)| json!({ "const": name, "description": meaning }))
                    .collect::<Vec<_>>(),
            },
        }),
        ("route_table", "mode") => choice(ROUTE_MODES),
        ("workspace", "azure_monitor") => choice(AZURE_MONITOR_MODES),
        ("managed_network", "isolation") => choice(ISOLATION_MODES),
        ("outputs", "layout") => choice(LAYOUTS),
        ("firewall", "unmarked_tags") => choice(UNMARKED_TAGS),
        ("nsg", "priorities") => json!({
            "type": "string",
            "pattern": "^ *[0-9]{3,4} *- *[0-9]{3,4} *$",
            "default": DEFAULT_NSG_PRIORITIES,
        }),
        ("rule_collection_group", "name") => {
            let mut value = name_string(
                "A-Za-z0-9",
                "A-Za-z0-9._-",
                RULE_COLLECTION_GROUP_NAME_LENGTH,
            );
            value["pattern"] = json!("^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9_])?$");
            value["default"] = json!(DEFAULT_RULE_COLLECTION_GROUP_NAME);
            value
        }
        ("rule_collection_group", "priority") => json!({
            "type": "integer",
            "minimum": PRIORITY_RANGE.0,
            "maximum": PRIORITY_RANGE.1,
            "default": DEFAULT_PRIORITY,
        }),
        ("workspace", "name") => name_string("A-Za-z0-9", "A-Za-z0-9_-", WORKSPACE_NAME_LENGTH),
        ("workspace", "region") => {
            json!({ "type": "string", "enum": region_names(catalog, &Cloud::ALL) })
        }
        ("workspace", "storage_account") => name_string("a-z0-9", "a-z0-9", STORAGE_ACCOUNT_LENGTH),
        ("workspace", "container_registry") => json!({
            "anyOf": [
                name_string("A-Za-z0-9", "A-Za-z0-9", CONTAINER_REGISTRY_LENGTH),
                reference("container_registry"),
            ],
        }),
        ("container_registry", "name") => {
            name_string("A-Za-z0-9", "A-Za-z0-9", CONTAINER_REGISTRY_LENGTH)
        }
        ("container_registry", "access") => choice(REGISTRY_ACCESS),
        ("workspace", "workspace_id") => {
            json!({ "type": "string", "pattern": format!("^{GUID}$") })
        }
        ("workspace", "compute_subnets") | ("kubernetes", "subnets") => json!({
            "type": "array",
            // Loosely a CIDR; the decoder checks the address and the host bits.
            "items": { "type": "string", "pattern": "^[0-9A-Fa-f:.]+/[0-9]{1,3}$" },
        }),
        ("workspace", "compute_subnet_ids") => {
            let name = "[A-Za-z0-9_.()-]+";
            let pattern = format!(
                "^/{}/{GUID}/{}/{name}/{}/{}/{}/{name}/{}/{name}$",
                any_case("subscriptions"),
                any_case("resourceGroups"),
                any_case("providers"),
                any_case("Microsoft.Network"),
                any_case("virtualNetworks"),
                any_case("subnets"),
            );
            json!({
                "type": "array",
                "default": [],
                "items": { "type": "string", "pattern": pattern },
            })
        }
        ("workspace", "features") => json!({
            "type": "array",
            "uniqueItems": true,
            "default": [],
            "items": {
                "anyOf": FEATURES
                    .iter()
                    .map(|(name, meaning)| json!({ "const": name, "description": meaning }))
                    .collect::<Vec<_>>(),
            },
        }),
        ("workspace", "extra_fqdns") => {
            json!({ "type": "array", "default": [], "items": reference("extra_fqdn") })
        }
        ("extra_fqdn", "fqdn") => json!({
            "type": "string",
            // Loosely a host name; the decoder checks labels and where wildcards may go.
            "pattern": "^(\\*\\.)?[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$",
        }),
        ("extra_fqdn", "ports") => json!({
            "type": "array",
            "items": {
                "anyOf": [
                    { "type": "integer", "minimum": 1, "maximum": 65535 },
                    { "type": "string", "pattern": "^ *[0-9]{1,5} *(- *[0-9]{1,5} *)?$" },
                ],
            },
        }),
        ("extra_fqdn", "reason") => json!({
            "type": "string",
            // One line of text: something besides spaces, no control characters.
            "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$",
        }),
        ("route_table", "firewall_private_ip") => json!({
            "type": "string",
            // Loosely an IPv4 or IPv6 address; the decoder parses it.
            "pattern": "^[0-9A-Fa-f:.]+$",
        }),
        // Booleans: the type and default come from BOOLEAN_FIELDS.
        _ => json!({}),
    }
}

/// A closed set of strings whose first value is the default.
fn choice(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values, "default": values.first() })
}

/// The programmatic and display names of the regions of `clouds`, sorted.
fn region_names(catalog: &Catalog, clouds: &[Cloud]) -> Vec<String> {
    let mut names: Vec<String> = clouds
        .iter()
        .filter_map(|cloud| catalog.regions.get(cloud))
        .flat_map(|regions| {
            regions
                .values()
                .flat_map(|region| [region.name.clone(), region.display_name.clone()])
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A workspace's region must be of the scenario's cloud (`region-not-in-cloud`).
fn regions_per_cloud(catalog: &Catalog) -> Value {
    Value::Array(
        Cloud::ALL
            .iter()
            .map(|cloud| {
                json!({
                    "if": {
                        "properties": { "cloud": { "const": cloud.as_str() } },
                        "required": ["cloud"],
                    },
                    "then": {
                        "properties": {
                            "workspaces": {
                                "items": {
                                    "properties": {
                                        "region": { "enum": region_names(catalog, &[*cloud]) },
                                    },
                                },
                            },
                        },
                    },
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ALL_FIELDS;

    #[test]
    fn the_objects_are_the_decoders_field_lists() {
        let ours: Vec<&[&str]> = OBJECTS.iter().map(|o| o.fields).collect();
        assert_eq!(ours, ALL_FIELDS);
        for object in OBJECTS {
            for required in object.required {
                assert!(object.fields.contains(required), "{required}");
            }
        }
    }

    #[test]
    fn every_field_has_a_description_and_a_type() {
        let schema = schema(&Catalog::embedded());
        for object in OBJECTS {
            let node = if object.name == "scenario" {
                &schema
            } else {
                &schema["$defs"][object.name]
            };
            for field in object.fields {
                let property = &node["properties"][field];
                assert!(
                    property["description"].is_string(),
                    "{}.{field}",
                    object.name
                );
                assert!(
                    property.get("type").is_some()
                        || property.get("$ref").is_some()
                        || property.get("anyOf").is_some(),
                    "{}.{field} has no type",
                    object.name
                );
            }
        }
        assert_eq!(
            DESCRIPTIONS.len(),
            ALL_FIELDS.iter().map(|f| f.len()).sum::<usize>()
        );
    }

    #[test]
    fn boolean_fields_are_fields() {
        for (name, _) in BOOLEAN_FIELDS {
            // `existing` is a field of `nsg` and of `route_table`, with one meaning and one
            // default; any other name is one field's.
            let owners = OBJECTS.iter().filter(|o| o.fields.contains(name)).count();
            let expected = if *name == "existing" { 2 } else { 1 };
            assert_eq!(
                owners, expected,
                "{name} must name exactly {expected} field(s)"
            );
        }
    }

    #[test]
    fn any_case_matches_both_casings() {
        assert_eq!(any_case("Ab.c"), "[aA][bB]\\.[cC]");
    }
}
