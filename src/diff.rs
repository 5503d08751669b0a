//! Semantic differences, for reviewers: between two plans (`amlfw diff`) and between two
//! article revisions of the catalog (`amlfw catalog diff`). Pure: no I/O.
//!
//! Rules are matched by id (ids are derived from requirement ids, so a rule keeps its id
//! when its destinations or ports change); each change names the requirements and article
//! sections behind it, so a pull-request reviewer can see why a firewall rule moved.
//!
//! Before the rules, a plan diff shows what breaks callers or state: the generated modules'
//! interface (Terraform variables and outputs, Bicep parameters and outputs) and the
//! Terraform addresses of rules. Both are read from the modules as rendered
//! ([`crate::render::render`]), not re-derived, so they cannot disagree with what
//! `amlfw generate` writes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::catalog::{Catalog, Cloud, CloudEndpoints, Endpoint, PerCloud, Requirement};
use crate::plan::{Plan, PlannedRule, RuleKind};
use crate::render::filters::{hcl_string, markdown_cell};
use crate::render::{RenderedFiles, Target};

/// How two plans differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanDiff {
    /// A label for the old side (file or revision).
    pub old: String,
    /// A label for the new side.
    pub new: String,
    /// Variables, outputs and parameters of the generated modules added, removed or
    /// retyped: each one breaks the modules' callers.
    pub interface: Vec<InterfaceChange>,
    /// Rules (or an equal rule under another id) whose Terraform address changes:
    /// Terraform destroys the old resource and creates the new one, or moves a firewall
    /// rule to another collection of the rule collection group.
    pub addresses: Vec<AddressChange>,
    /// Why `interface` and `addresses` could not be computed (a rendering failure, which
    /// is an amlfw bug); absent when they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_error: Option<String>,
    /// Rules only in the new plan.
    pub added: Vec<PlannedRule>,
    /// Rules only in the old plan.
    pub removed: Vec<PlannedRule>,
    /// Rules in both whose traffic changed.
    pub changed: Vec<ChangedRule>,
    /// Workspaces behind the hub firewall in the old plan and with a managed virtual
    /// network in the new one: what moves where (`to_markdown` prints it as a checklist).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub migration: Vec<Migration>,
}

/// One workspace's move from the hub firewall to its managed virtual network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migration {
    /// The workspace.
    pub workspace: String,
    /// The new isolation mode.
    pub isolation: String,
    /// Firewall rule destinations that become user-defined outbound rules.
    pub moves: Vec<MigrationItem>,
    /// Firewall rule destinations Azure's own rules cover (`automatic`).
    pub automatic: Vec<MigrationItem>,
    /// NSG rules and routes: no subnet of the user's carries the workspace's compute.
    pub not_needed: Vec<MigrationItem>,
    /// Firewall rule destinations no managed-network rule carries.
    pub cannot_move: Vec<MigrationItem>,
    /// User-defined outbound rules no firewall rule had.
    pub new_rules: Vec<MigrationItem>,
    /// The new plan's managed-network warnings about the workspace.
    pub limits: Vec<String>,
}

/// A line of a migration: what it was (a firewall rule and destination), what it becomes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MigrationItem {
    /// The old side: rule id and destination, or empty for a new rule.
    pub from: String,
    /// The new side: outbound rule name, automatic rule id, or why nothing.
    pub to: String,
}

/// A rule present on both sides with different traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedRule {
    /// Rule id.
    pub id: String,
    /// Rule kind (`firewall-network`, ...).
    pub kind: String,
    /// What changed.
    pub changes: Vec<FieldChange>,
    /// The requirements behind the new rule.
    pub requirements: Vec<String>,
    /// Their article sections.
    pub sections: Vec<String>,
}

/// One changed field: the values that left and the values that came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// `destinations`, `ports`, `sources`, `protocols`, `next_hop`, `requirements`...
    pub field: String,
    /// Values only in the old rule.
    pub removed: Vec<String>,
    /// Values only in the new rule.
    pub added: Vec<String>,
}

/// One variable, output or parameter of a generated module that callers see change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct InterfaceChange {
    /// `terraform` or `bicep`.
    pub module: String,
    /// `variable`, `param` or `output`.
    pub item: String,
    /// Its name.
    pub name: String,
    /// `added`, `removed`, `retyped`, `now required` or `now optional`.
    pub change: String,
    /// Its type before (absent when added, or for a Terraform output, which has none).
    pub old_type: Option<String>,
    /// Its type after (absent when removed).
    pub new_type: Option<String>,
}

/// A rule (or an equal rule under another id) whose Terraform address differs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AddressChange {
    /// Rule kind (`nsg`, `route`, `firewall-application`, ...).
    pub kind: String,
    /// Rule id in the old plan.
    pub old_rule: String,
    /// Rule id in the new plan (the same id when only its place changed).
    pub new_rule: String,
    /// Where the old module declares it.
    pub old_address: String,
    /// Where the new module declares it.
    pub new_address: String,
    /// Whether the new module has a `moved` block from the old address to the new one, so
    /// Terraform moves the state instead of destroying the resource.
    pub moved: bool,
}

impl PlanDiff {
    /// Compares two plans: the generated modules' interface, the rules' Terraform
    /// addresses, then rule by rule.
    #[must_use]
    pub fn new(old_label: &str, old: &Plan, new_label: &str, new: &Plan) -> PlanDiff {
        let key = |rule: &PlannedRule| (rule.kind, rule.id.clone());
        let old_rules: BTreeMap<_, &PlannedRule> = old.rules.iter().map(|r| (key(r), r)).collect();
        let new_rules: BTreeMap<_, &PlannedRule> = new.rules.iter().map(|r| (key(r), r)).collect();
        let modules = crate::render::render(old, Target::All, "old")
            .and_then(|before| Ok((before, crate::render::render(new, Target::All, "new")?)));
        let (interface, addresses, module_error) = match modules {
            Ok((before, after)) => (
                interface_changes(&before, &after),
                address_changes(old, &before, new, &after),
                None,
            ),
            Err(error) => (Vec::new(), Vec::new(), Some(error.to_string())),
        };
        let mut diff = PlanDiff {
            old: old_label.to_owned(),
            new: new_label.to_owned(),
            interface,
            addresses,
            module_error,
            added: Vec::new(),
            removed: Vec::new(),
            changed: Vec::new(),
            migration: migrations(old, new),
        };
        for (k, rule) in &new_rules {
            match old_rules.get(k) {
                None => diff.added.push((*rule).clone()),
                Some(before) => {
                    let changes = field_changes(before, rule);
                    if !changes.is_empty() {
                        diff.changed.push(ChangedRule {
                            id: rule.id.clone(),
                            kind: rule.kind.as_str().to_owned(),
                            changes,
                            requirements: rule.requirements.clone(),
                            sections: rule.sections.clone(),
                        });
                    }
                }
            }
        }
        diff.removed = old_rules
            .iter()
            .filter(|(k, _)| !new_rules.contains_key(*k))
            .map(|(_, rule)| (*rule).clone())
            .collect();
        diff
    }

    /// True when no rule differs (see also [`PlanDiff::is_interface_unchanged`]).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// True when the modules' interface and every rule's address are as before.
    #[must_use]
    pub fn is_interface_unchanged(&self) -> bool {
        self.interface.is_empty() && self.addresses.is_empty() && self.module_error.is_none()
    }

    /// One line per change.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = format!("# amlfw diff: {} -> {}\n", self.old, self.new);
        if let Some(error) = &self.module_error {
            let _ = writeln!(
                out,
                "# module interface and addresses not compared: {error}"
            );
        } else {
            if self.interface.is_empty() {
                out.push_str("# module interface: unchanged\n");
            } else {
                let _ = writeln!(
                    out,
                    "# module interface: {} change(s), callers of the module must change too",
                    self.interface.len()
                );
            }
            for change in &self.interface {
                let _ = writeln!(out, "! {}", describe_interface(change));
            }
            if self.addresses.is_empty() {
                out.push_str("# addresses: unchanged\n");
            } else {
                let _ = writeln!(
                    out,
                    "# addresses: {} rule(s) at another Terraform address (a resource is destroyed and re-created; a firewall rule moves inside the group)",
                    self.addresses.len()
                );
            }
            for change in &self.addresses {
                let _ = writeln!(out, "> {}", describe_address(change));
            }
        }
        let _ = writeln!(
            out,
            "# {} added, {} removed, {} changed",
            self.added.len(),
            self.removed.len(),
            self.changed.len()
        );
        for rule in &self.added {
            let _ = writeln!(
                out,
                "+ {} {} {}  [{}]",
                rule.kind.as_str(),
                rule.id,
                summary(rule),
                why(rule)
            );
        }
        for rule in &self.removed {
            let _ = writeln!(
                out,
                "- {} {} {}  [{}]",
                rule.kind.as_str(),
                rule.id,
                summary(rule),
                why(rule)
            );
        }
        for change in &self.changed {
            let what: Vec<String> = change.changes.iter().map(describe_change).collect();
            let _ = writeln!(
                out,
                "~ {} {}: {}  [{}]",
                change.kind,
                change.id,
                what.join("; "),
                why_of(&change.requirements, &change.sections)
            );
        }
        out
    }

    /// A Markdown table fit for a pull-request comment.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "**amlfw diff** `{}` → `{}`: {} added, {} removed, {} changed\n\n",
            markdown_cell(&self.old),
            markdown_cell(&self.new),
            self.added.len(),
            self.removed.len(),
            self.changed.len()
        );
        if let Some(error) = &self.module_error {
            let _ = writeln!(
                out,
                "Module interface and addresses not compared: {}\n",
                markdown_cell(error)
            );
        } else {
            if self.interface.is_empty() {
                out.push_str("**Module interface**: unchanged.\n\n");
            } else {
                let _ = writeln!(
                    out,
                    "**Module interface: {} change(s); callers of the module must change too.**\n\n| module | item | name | change | type before | type after |\n|---|---|---|---|---|---|",
                    self.interface.len()
                );
                for change in &self.interface {
                    let _ = writeln!(
                        out,
                        "| {} | {} | `{}` | {} | {} | {} |",
                        change.module,
                        change.item,
                        markdown_cell(&change.name),
                        change.change,
                        markdown_cell(change.old_type.as_deref().unwrap_or("")),
                        markdown_cell(change.new_type.as_deref().unwrap_or(""))
                    );
                }
                out.push('\n');
            }
            if self.addresses.is_empty() {
                out.push_str("**Addresses**: unchanged.\n\n");
            } else {
                let _ = writeln!(
                    out,
                    "**Addresses: {} rule(s) at another Terraform address (a resource is destroyed and re-created; a firewall rule moves inside the group).**\n\n| kind | old rule | new rule | old address | new address | moved block |\n|---|---|---|---|---|---|",
                    self.addresses.len()
                );
                for change in &self.addresses {
                    let _ = writeln!(
                        out,
                        "| {} | `{}` | `{}` | `{}` | `{}` | {} |",
                        change.kind,
                        markdown_cell(&change.old_rule),
                        markdown_cell(&change.new_rule),
                        markdown_cell(&change.old_address),
                        markdown_cell(&change.new_address),
                        if change.moved { "yes" } else { "no" }
                    );
                }
                out.push('\n');
            }
        }
        for migration in &self.migration {
            migration_markdown(&mut out, migration);
        }
        if self.is_empty() {
            out.push_str("No rule changes.\n");
            return out;
        }
        out.push_str("| change | rule | kind | what | requirements (article section) |\n|---|---|---|---|---|\n");
        let mut row = |change: &str, id: &str, kind: &str, what: &str, why: &str| {
            let _ = writeln!(
                out,
                "| {change} | `{}` | {kind} | {} | {} |",
                markdown_cell(id),
                markdown_cell(what),
                markdown_cell(why)
            );
        };
        for rule in &self.added {
            row(
                "added",
                &rule.id,
                rule.kind.as_str(),
                &summary(rule),
                &why(rule),
            );
        }
        for rule in &self.removed {
            row(
                "removed",
                &rule.id,
                rule.kind.as_str(),
                &summary(rule),
                &why(rule),
            );
        }
        for change in &self.changed {
            let what: Vec<String> = change.changes.iter().map(describe_change).collect();
            row(
                "changed",
                &change.id,
                &change.kind,
                &what.join("; "),
                &why_of(&change.requirements, &change.sections),
            );
        }
        out
    }

    /// The JSON form, pretty-printed, with a trailing newline.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a diff always serializes");
        text.push('\n');
        text
    }
}

/// One item of a module's interface as rendered: its type, and whether it has a default.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InterfaceItem {
    /// The declared type; none for a Terraform output.
    ty: Option<String>,
    /// Whether a caller must set it (a variable or parameter without a default).
    required: bool,
}

/// (module, item, name) -> what the rendered files declare.
/// (module directory: `terraform`, `hub/terraform`, `spoke/bicep`..., item, name).
type Interface = BTreeMap<(String, &'static str, String), InterfaceItem>;

fn interface_changes(old: &RenderedFiles, new: &RenderedFiles) -> Vec<InterfaceChange> {
    let (before, after) = (interface_of(old), interface_of(new));
    let keys: BTreeSet<_> = before.keys().chain(after.keys()).collect();
    let mut changes = Vec::new();
    for key in keys {
        let (module, item, name) = key;
        let (old_item, new_item) = (before.get(key), after.get(key));
        let change = match (old_item, new_item) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            (Some(a), Some(b)) if a.ty != b.ty => "retyped",
            (Some(a), Some(b)) if a.required != b.required => {
                if b.required {
                    "now required"
                } else {
                    "now optional"
                }
            }
            _ => continue,
        };
        changes.push(InterfaceChange {
            module: module.clone(),
            item: (*item).to_owned(),
            name: name.clone(),
            change: change.to_owned(),
            old_type: old_item.and_then(|i| i.ty.clone()),
            new_type: new_item.and_then(|i| i.ty.clone()),
        });
    }
    changes
}

/// Reads the interface from the rendered text: amlfw wrote it, formatted canonically
/// (`align_hcl`), so top-level `variable`/`output` blocks and `param`/`output` lines start
/// at column 0 and a block's attributes are indented by two.
fn interface_of(files: &RenderedFiles) -> Interface {
    let mut interface = Interface::new();
    for (path, text) in files {
        // The module is the file's directory: every layout's modules are compared apart.
        let module = path.rsplit_once('/').map_or("", |(dir, _)| dir).to_owned();
        let target = module.rsplit('/').next().unwrap_or("");
        if target == "terraform" && path.ends_with(".tf") {
            for block in top_level_blocks(text) {
                let Some((item, name)) = block.header.split_once(' ') else {
                    continue;
                };
                let item = match item {
                    "variable" => "variable",
                    "output" => "output",
                    _ => continue,
                };
                let name = name.trim_end_matches(" {").trim_matches('"').to_owned();
                let ty = block.attribute("type");
                let required = item == "variable" && block.attribute("default").is_none();
                interface.insert((module.clone(), item, name), InterfaceItem { ty, required });
            }
        } else if target == "bicep" && path.ends_with("/main.bicep") {
            for line in text.lines() {
                let mut words = line.split_whitespace();
                let item = match words.next() {
                    Some("param") => "param",
                    Some("output") => "output",
                    _ => continue,
                };
                let (Some(name), Some(ty)) = (words.next(), words.next()) else {
                    continue;
                };
                let required = item == "param" && words.next() != Some("=");
                interface.insert(
                    (module.clone(), item, name.to_owned()),
                    InterfaceItem {
                        ty: Some(ty.to_owned()),
                        required,
                    },
                );
            }
        }
    }
    interface
}

/// A top-level HCL block of rendered text: its header line and its body's lines.
struct TopBlock<'t> {
    header: &'t str,
    body: Vec<&'t str>,
}

impl TopBlock<'_> {
    /// The value of a direct attribute (indent two), continuation lines joined, spaces
    /// collapsed: `map(list(string))`, `object({ a = string })`.
    fn attribute(&self, key: &str) -> Option<String> {
        let start = self.body.iter().position(|line| {
            line.strip_prefix("  ")
                .filter(|rest| !rest.starts_with(' '))
                .and_then(|rest| rest.strip_prefix(key))
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })?;
        let mut value = String::new();
        let mut depth = 0i32;
        for line in &self.body[start..] {
            let part = if value.is_empty() {
                line.split_once('=').map_or("", |(_, v)| v)
            } else {
                line
            };
            for c in part.chars() {
                match c {
                    '(' | '{' | '[' => depth += 1,
                    ')' | '}' | ']' => depth -= 1,
                    _ => {}
                }
            }
            value.push(' ');
            value.push_str(part.trim());
            if depth <= 0 {
                break;
            }
        }
        Some(value.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

fn top_level_blocks(text: &str) -> Vec<TopBlock<'_>> {
    let mut blocks = Vec::new();
    let mut current: Option<TopBlock<'_>> = None;
    for line in text.lines() {
        if current.is_none() {
            if !line.starts_with([' ', '#', '}']) && line.ends_with('{') {
                current = Some(TopBlock {
                    header: line,
                    body: Vec::new(),
                });
            }
        } else if line == "}" {
            blocks.extend(current.take());
        } else if let Some(block) = current.as_mut() {
            block.body.push(line);
        }
    }
    blocks
}

/// (rule kind, the rule's name as an HCL literal) -> the Terraform address declaring it.
type Addresses = BTreeMap<(RuleKind, String), String>;

/// Where the rendered Terraform module declares each named rule: `azurerm_x.y` for a rule
/// that is its own resource, `azurerm_..._rule_collection_group.g: collection / rule` for
/// a firewall rule (which lives inside the group). Read from the rendered text, whose
/// nesting is canonical: every block opens with a line ending in `{` and closes with a line
/// starting with `}`.
fn addresses_of(files: &RenderedFiles) -> Addresses {
    struct Frame<'t> {
        header: &'t str,
        name: Option<&'t str>,
    }
    let mut addresses = Addresses::new();
    for (path, text) in files {
        if !(path.starts_with("terraform/") && path.ends_with(".tf")) {
            continue;
        }
        let mut stack: Vec<Frame<'_>> = Vec::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('#') {
                continue;
            }
            if trimmed.starts_with('}') {
                let Some(frame) = stack.pop() else { continue };
                let Some(name) = frame.name else { continue };
                let resource = stack.first().map_or(frame.header, |f| f.header);
                let Some(address) = resource_address(resource) else {
                    continue;
                };
                // The azurerm resource types (and nested blocks) that are one rule each.
                let kind = match (stack.len(), frame.header) {
                    (0, h) if h.starts_with("resource \"azurerm_network_security_rule\"") => {
                        Some(RuleKind::Nsg)
                    }
                    (0, h) if h.starts_with("resource \"azurerm_route\"") => Some(RuleKind::Route),
                    (2, "rule {") => match stack[1].header {
                        "network_rule_collection {" => Some(RuleKind::FirewallNetwork),
                        "application_rule_collection {" => Some(RuleKind::FirewallApplication),
                        _ => None,
                    },
                    _ => None,
                };
                let Some(kind) = kind else { continue };
                let address = match stack.get(1).and_then(|c| c.name) {
                    Some(collection) if stack.len() == 2 => format!(
                        "{address}: {} / {}",
                        collection.trim_matches('"'),
                        name.trim_matches('"')
                    ),
                    _ => address,
                };
                addresses.insert((kind, name.to_owned()), address);
            } else if trimmed.ends_with('{') {
                // An attribute's map or object value (`default = {`) is a frame too, so its
                // closing brace pops it, but it names nothing.
                stack.push(Frame {
                    header: trimmed,
                    name: None,
                });
            } else if let Some(value) = trimmed
                .strip_prefix("name")
                .and_then(|rest| rest.trim_start().strip_prefix('='))
                && let Some(frame) = stack.last_mut()
            {
                frame.name = Some(value.trim());
            }
        }
    }
    addresses
}

/// The (from, to) addresses of the rendered module's `moved` blocks (`from = a.b` and
/// `to = a.c` lines inside a `moved {` block, as the template prints them).
fn moves_of(files: &RenderedFiles) -> BTreeSet<(String, String)> {
    let mut moves = BTreeSet::new();
    for text in files.values() {
        for block in top_level_blocks(text) {
            if block.header != "moved {" {
                continue;
            }
            if let (Some(from), Some(to)) = (block.attribute("from"), block.attribute("to")) {
                moves.insert((from, to));
            }
        }
    }
    moves
}

/// `resource "azurerm_route" "x" {` -> `azurerm_route.x`.
fn resource_address(header: &str) -> Option<String> {
    let rest = header.strip_prefix("resource ")?.trim_end_matches('{');
    let labels: Vec<&str> = rest
        .split_whitespace()
        .map(|l| l.trim_matches('"'))
        .collect();
    match labels.as_slice() {
        [kind, name] => Some(format!("{kind}.{name}")),
        _ => None,
    }
}

/// What makes two rules the same traffic, whatever their ids: what a reviewer would call
/// "an equal rule".
fn traffic_key(rule: &PlannedRule) -> impl Ord + use<> {
    let set = |list: &[String]| list.iter().cloned().collect::<BTreeSet<String>>();
    (
        rule.kind,
        rule.direction.as_str(),
        set(&rule.protocols),
        set(&rule.application_protocols),
        set(&rule.ports),
        set(&rule.destinations),
        rule.next_hop.clone(),
        rule.region.clone(),
    )
}

fn address_changes(
    old: &Plan,
    old_files: &RenderedFiles,
    new: &Plan,
    new_files: &RenderedFiles,
) -> Vec<AddressChange> {
    let (before, after) = (addresses_of(old_files), addresses_of(new_files));
    let moves = moves_of(new_files);
    let address = |addresses: &Addresses, rule: &PlannedRule| {
        addresses.get(&(rule.kind, hcl_string(&rule.id))).cloned()
    };
    let ids = |plan: &Plan| -> BTreeSet<(RuleKind, String)> {
        plan.rules.iter().map(|r| (r.kind, r.id.clone())).collect()
    };
    let (old_ids, new_ids) = (ids(old), ids(new));
    let mut changes = Vec::new();
    let mut change = |before_rule: &PlannedRule, after_rule: &PlannedRule| {
        if let (Some(from), Some(to)) = (address(&before, before_rule), address(&after, after_rule))
            && from != to
        {
            changes.push(AddressChange {
                kind: after_rule.kind.as_str().to_owned(),
                old_rule: before_rule.id.clone(),
                new_rule: after_rule.id.clone(),
                moved: moves.contains(&(from.clone(), to.clone())),
                old_address: from,
                new_address: to,
            });
        }
    };
    // Only-new rules by traffic, to find the equal rule a removed one became.
    let mut arrived: BTreeMap<_, &PlannedRule> = BTreeMap::new();
    for rule in &new.rules {
        if !old_ids.contains(&(rule.kind, rule.id.clone())) {
            arrived.entry(traffic_key(rule)).or_insert(rule);
        }
    }
    for rule in &old.rules {
        if new_ids.contains(&(rule.kind, rule.id.clone())) {
            if let Some(kept) = new
                .rules
                .iter()
                .find(|r| r.kind == rule.kind && r.id == rule.id)
            {
                change(rule, kept);
            }
        } else if let Some(successor) = arrived.remove(&traffic_key(rule)) {
            change(rule, successor);
        }
    }
    changes.sort();
    changes
}

fn describe_interface(change: &InterfaceChange) -> String {
    let types = match (&change.old_type, &change.new_type) {
        (Some(a), Some(b)) if a != b => format!(" ({a} -> {b})"),
        (Some(ty), _) | (None, Some(ty)) => format!(" ({ty})"),
        (None, None) => String::new(),
    };
    format!(
        "{} {} {} {}{types}",
        change.module, change.item, change.name, change.change
    )
}

fn describe_address(change: &AddressChange) -> String {
    let rule = if change.old_rule == change.new_rule {
        change.new_rule.clone()
    } else {
        format!("{} -> {}", change.old_rule, change.new_rule)
    };
    let moved = if change.moved {
        " (moved block: Terraform moves the state)"
    } else {
        ""
    };
    format!(
        "{} {rule}: {} -> {}{moved}",
        change.kind, change.old_address, change.new_address
    )
}

fn field_changes(old: &PlannedRule, new: &PlannedRule) -> Vec<FieldChange> {
    let fields: [(&str, Vec<String>, Vec<String>); 7] = [
        (
            "destinations",
            old.destinations.clone(),
            new.destinations.clone(),
        ),
        ("ports", old.ports.clone(), new.ports.clone()),
        (
            "protocols",
            old.application_protocols
                .iter()
                .chain(&old.protocols)
                .cloned()
                .collect(),
            new.application_protocols
                .iter()
                .chain(&new.protocols)
                .cloned()
                .collect(),
        ),
        ("sources", old.sources.clone(), new.sources.clone()),
        (
            "next_hop",
            old.next_hop
                .iter()
                .chain(&old.next_hop_ip)
                .cloned()
                .collect(),
            new.next_hop
                .iter()
                .chain(&new.next_hop_ip)
                .cloned()
                .collect(),
        ),
        (
            "terminate_tls",
            vec![old.terminate_tls.to_string()],
            vec![new.terminate_tls.to_string()],
        ),
        (
            "requirements",
            old.requirements.clone(),
            new.requirements.clone(),
        ),
    ];
    fields
        .into_iter()
        .filter_map(|(field, before, after)| {
            let before: BTreeSet<String> = before.into_iter().collect();
            let after: BTreeSet<String> = after.into_iter().collect();
            (before != after).then(|| FieldChange {
                field: field.to_owned(),
                removed: before.difference(&after).cloned().collect(),
                added: after.difference(&before).cloned().collect(),
            })
        })
        .collect()
}

fn describe_change(change: &FieldChange) -> String {
    let mut parts = Vec::new();
    if !change.removed.is_empty() {
        parts.push(format!("-{}", change.removed.join(",")));
    }
    if !change.added.is_empty() {
        parts.push(format!("+{}", change.added.join(",")));
    }
    format!("{} {}", change.field, parts.join(" "))
}

fn summary(rule: &PlannedRule) -> String {
    if let Some(hop) = &rule.next_hop {
        return format!("{} -> {hop}", rule.destinations.join(", "));
    }
    let traffic = if rule.application_protocols.is_empty() {
        format!("{} {}", rule.protocols.join(","), rule.ports.join(","))
    } else {
        rule.application_protocols.join(",")
    };
    format!("{} to {}", traffic.trim(), rule.destinations.join(", "))
}

fn why(rule: &PlannedRule) -> String {
    why_of(&rule.requirements, &rule.sections)
}

fn why_of(requirements: &[String], sections: &[String]) -> String {
    requirements
        .iter()
        .zip(sections)
        .map(|(id, section)| format!("{id} ({section})"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// How two revisions of the catalog differ, requirement by requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogDiff {
    /// The old revision.
    pub from: String,
    /// The new revision.
    pub to: String,
    /// Requirements only in the new revision.
    pub added: Vec<RequirementSummary>,
    /// Requirements only in the old revision.
    pub removed: Vec<RequirementSummary>,
    /// Requirements in both whose content changed.
    pub changed: Vec<RequirementChange>,
}

/// A requirement as a diff shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementSummary {
    /// Id.
    pub id: String,
    /// Purpose.
    pub purpose: String,
    /// Article section in its revision.
    pub section: String,
    /// One-line summary of the traffic.
    pub traffic: String,
}

/// A requirement whose content differs between the revisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementChange {
    /// Id.
    pub id: String,
    /// Article section in the new revision.
    pub section: String,
    /// What changed, one line per field.
    pub changes: Vec<String>,
}

impl CatalogDiff {
    /// Compares revision `from` with revision `to` (both already resolved ids).
    #[must_use]
    pub fn new(catalog: &Catalog, from: &str, to: &str) -> CatalogDiff {
        let (old, new) = (by_id(catalog, from), by_id(catalog, to));
        let summary = |requirement: &Requirement, revision: &str| RequirementSummary {
            id: requirement.id.clone(),
            purpose: requirement.purpose.clone(),
            section: requirement
                .sections
                .get(revision)
                .cloned()
                .unwrap_or_default(),
            traffic: requirement_traffic(requirement),
        };
        CatalogDiff {
            from: from.to_owned(),
            to: to.to_owned(),
            added: new
                .iter()
                .filter(|(id, _)| !old.contains_key(*id))
                .map(|(_, r)| summary(r, to))
                .collect(),
            removed: old
                .iter()
                .filter(|(id, _)| !new.contains_key(*id))
                .map(|(_, r)| summary(r, from))
                .collect(),
            changed: new
                .iter()
                .filter_map(|(id, after)| {
                    let before = old.get(id)?;
                    let changes = requirement_changes(before, after);
                    (!changes.is_empty()).then(|| RequirementChange {
                        id: id.clone(),
                        section: after.sections.get(to).cloned().unwrap_or_default(),
                        changes,
                    })
                })
                .collect(),
        }
    }

    /// One line per change.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = format!("# amlfw catalog diff {} -> {}\n", self.from, self.to);
        let _ = writeln!(
            out,
            "# {} added, {} removed, {} changed",
            self.added.len(),
            self.removed.len(),
            self.changed.len()
        );
        for r in &self.added {
            let _ = writeln!(
                out,
                "+ {}: {} ({}) [{}]",
                r.id, r.traffic, r.purpose, r.section
            );
        }
        for r in &self.removed {
            let _ = writeln!(
                out,
                "- {}: {} ({}) [{}]",
                r.id, r.traffic, r.purpose, r.section
            );
        }
        for c in &self.changed {
            let _ = writeln!(out, "~ {}: {} [{}]", c.id, c.changes.join("; "), c.section);
        }
        out
    }

    /// A Markdown table.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "**amlfw catalog diff** `{}` → `{}`: {} added, {} removed, {} changed\n\n| change | requirement | what | article section |\n|---|---|---|---|\n",
            self.from,
            self.to,
            self.added.len(),
            self.removed.len(),
            self.changed.len()
        );
        for (change, list) in [("added", &self.added), ("removed", &self.removed)] {
            for r in list {
                let _ = writeln!(
                    out,
                    "| {change} | `{}` | {} ({}) | {} |",
                    r.id,
                    markdown_cell(&r.traffic),
                    markdown_cell(&r.purpose),
                    markdown_cell(&r.section)
                );
            }
        }
        for c in &self.changed {
            let _ = writeln!(
                out,
                "| changed | `{}` | {} | {} |",
                c.id,
                markdown_cell(&c.changes.join("; ")),
                markdown_cell(&c.section)
            );
        }
        out
    }

    /// The JSON form.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a diff always serializes");
        text.push('\n');
        text
    }
}

fn by_id<'c>(catalog: &'c Catalog, revision: &'c str) -> BTreeMap<String, &'c Requirement> {
    catalog
        .requirements_of(revision)
        .map(|r| (r.id.clone(), r))
        .collect()
}

/// `TCP 443 to Storage.{region}` (public cloud's variant), or the route / manual step.
#[must_use]
pub fn requirement_traffic(requirement: &Requirement) -> String {
    if requirement.manual.is_some() {
        return "advice only (no rule)".to_owned();
    }
    let destinations = requirement
        .destinations
        .as_ref()
        .map(|d| cloud_text(d, Cloud::Public))
        .unwrap_or_default();
    if let Some(hop) = requirement.route {
        let hop = match hop {
            crate::catalog::NextHop::Internet => "Internet",
            crate::catalog::NextHop::Firewall => "the firewall",
        };
        return format!("route {destinations} -> {hop}");
    }
    let ports: Vec<String> = requirement.ports.iter().map(ToString::to_string).collect();
    let sources = requirement
        .sources
        .as_ref()
        .map(|s| format!(" from {}", cloud_text(s, Cloud::Public)))
        .unwrap_or_default();
    format!(
        "{} {} {}{sources} to {destinations}",
        requirement.direction.as_str(),
        requirement.protocol.as_str(),
        ports.join(",")
    )
}

fn cloud_text(per_cloud: &PerCloud, cloud: Cloud) -> String {
    match per_cloud.get(cloud) {
        CloudEndpoints::Endpoints(list) => list
            .iter()
            .map(Endpoint::text)
            .collect::<Vec<_>>()
            .join(", "),
        CloudEndpoints::NotNeeded(_) => "(not needed)".to_owned(),
        CloudEndpoints::NotAvailable(_) => "(not available)".to_owned(),
    }
}

fn requirement_changes(old: &Requirement, new: &Requirement) -> Vec<String> {
    let mut changes = Vec::new();
    let mut compare = |field: &str, before: String, after: String| {
        if before != after {
            changes.push(format!("{field}: {before} -> {after}"));
        }
    };
    compare("when", old.when.to_string(), new.when.to_string());
    compare(
        "protocol",
        old.protocol.as_str().to_owned(),
        new.protocol.as_str().to_owned(),
    );
    let ports = |r: &Requirement| {
        r.ports
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    compare("ports", ports(old), ports(new));
    let modes = |r: &Requirement| {
        r.modes
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    compare("modes", modes(old), modes(new));
    for cloud in Cloud::ALL {
        let text = |r: &Requirement| {
            r.destinations
                .as_ref()
                .map(|d| cloud_text(d, cloud))
                .unwrap_or_default()
        };
        compare(&format!("destinations ({cloud})"), text(old), text(new));
    }
    compare(
        "advice",
        old.manual.clone().unwrap_or_default(),
        new.manual.clone().unwrap_or_default(),
    );
    changes
}

/// The service tags whose traffic the automatic private endpoints of a managed network
/// carry (the workspace's storage, key vault and registry).
const PRIVATE_ENDPOINT_TAGS: &[&str] = &["Storage", "AzureKeyVault", "AzureContainerRegistry"];

fn migrations(old: &Plan, new: &Plan) -> Vec<Migration> {
    use crate::plan::ManagedKind;
    let mut out = Vec::new();
    for workspace in &new.managed_workspaces {
        if !old.workspaces.iter().any(|w| w.name == workspace.name) {
            continue;
        }
        let managed: Vec<&crate::plan::ManagedRule> = new
            .managed_rules
            .iter()
            .filter(|r| r.workspace == workspace.name)
            .collect();
        let automatic_with = |id: &str| {
            managed
                .iter()
                .find(|r| r.kind == ManagedKind::Automatic && r.requirement == id)
        };
        let mut migration = Migration {
            workspace: workspace.name.clone(),
            isolation: workspace.isolation.as_str().to_owned(),
            moves: Vec::new(),
            automatic: Vec::new(),
            not_needed: Vec::new(),
            cannot_move: Vec::new(),
            new_rules: Vec::new(),
            limits: Vec::new(),
        };
        let mut matched: BTreeSet<&str> = BTreeSet::new();
        for rule in old
            .rules
            .iter()
            .filter(|r| r.workspaces.contains(&workspace.name))
        {
            if matches!(rule.kind, RuleKind::Nsg | RuleKind::Route) {
                migration.not_needed.push(MigrationItem {
                    from: format!("{} {} ({})", rule.kind.as_str(), rule.id, summary(rule)),
                    to: "no subnet of yours carries the managed compute".to_owned(),
                });
                continue;
            }
            for destination in &rule.destinations {
                let from = format!("{} {}: {destination}", rule.kind.as_str(), rule.id);
                let same = managed.iter().find(|m| {
                    m.kind != ManagedKind::Automatic
                        && m.destinations
                            .iter()
                            .any(|d| d.eq_ignore_ascii_case(destination))
                });
                if let Some(target) = same {
                    matched.insert(target.name.as_str());
                    migration.moves.push(MigrationItem {
                        from,
                        to: format!("{} {}", target.kind.as_str(), target.name),
                    });
                    continue;
                }
                let tag = rule.destination_type == crate::plan::DestinationType::ServiceTags;
                let base = destination.split('.').next().unwrap_or(destination);
                let covering = if tag && PRIVATE_ENDPOINT_TAGS.contains(&base) {
                    automatic_with("auto-private-endpoints")
                        .or_else(|| automatic_with("auto-private-endpoints-private"))
                } else if tag {
                    managed.iter().find(|m| {
                        m.kind == ManagedKind::Automatic
                            && m.destinations.iter().any(|d| d == destination || d == base)
                    })
                } else {
                    automatic_with("auto-internet-outbound")
                };
                match covering {
                    Some(auto) => migration.automatic.push(MigrationItem {
                        from,
                        to: format!("automatic {}", auto.name),
                    }),
                    None => migration.cannot_move.push(MigrationItem {
                        from,
                        to: "no rule of the managed-network article carries it".to_owned(),
                    }),
                }
            }
        }
        for rule in &managed {
            if rule.kind != ManagedKind::Automatic && !matched.contains(rule.name.as_str()) {
                migration.new_rules.push(MigrationItem {
                    from: String::new(),
                    to: format!(
                        "{} {}: {} ({})",
                        rule.kind.as_str(),
                        rule.name,
                        rule.destinations.join(", "),
                        rule.requirement
                    ),
                });
            }
        }
        let named = format!("workspace `{}`", workspace.name);
        migration.limits = new
            .warnings
            .iter()
            .filter(|w| w.message.contains(&named))
            .map(|w| format!("{}: {}", w.code, w.message))
            .collect();
        out.push(migration);
    }
    out
}

fn migration_markdown(out: &mut String, migration: &Migration) {
    let _ = writeln!(
        out,
        "**Migration checklist: `{}` from the hub firewall to its managed virtual network ({})**\n",
        markdown_cell(&migration.workspace),
        migration.isolation
    );
    let sections: [(&str, &[MigrationItem]); 5] = [
        (
            "Moves to a user-defined outbound rule (the managed module writes it)",
            &migration.moves,
        ),
        (
            "Becomes automatic (Azure's own rule; nothing to write)",
            &migration.automatic,
        ),
        (
            "Not needed any more (remove from the spoke)",
            &migration.not_needed,
        ),
        (
            "No managed-network rule (add the host under `extra_fqdns`, ports 80/443, if the workspace still needs it)",
            &migration.cannot_move,
        ),
        ("New: no firewall rule had it", &migration.new_rules),
    ];
    for (title, items) in sections {
        let _ = writeln!(
            out,
            "*{title}*: {}\n",
            if items.is_empty() { "none." } else { "" }
        );
        for item in items {
            if item.from.is_empty() {
                let _ = writeln!(out, "- [ ] {}", markdown_cell(&item.to));
            } else {
                let _ = writeln!(
                    out,
                    "- [ ] {} → {}",
                    markdown_cell(&item.from),
                    markdown_cell(&item.to)
                );
            }
        }
        if !items.is_empty() {
            out.push('\n');
        }
    }
    if !migration.limits.is_empty() {
        out.push_str("*What the managed network cannot carry as it is*:\n\n");
        for limit in &migration.limits {
            let _ = writeln!(out, "- [ ] {}", markdown_cell(limit));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "- [ ] Last: remove `{}` from the hub firewall scenario (its firewall rules above are removed with it) and recreate its compute clusters, instances and managed online endpoints (the article: \"there's currently no supported migration path for existing managed compute resources\").\n",
        markdown_cell(&migration.workspace)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(yaml: &str) -> Plan {
        let catalog = Catalog::embedded();
        let scenario = crate::scenario::load(yaml, "s.yaml", &catalog).unwrap();
        crate::planner::plan(&scenario, &catalog).unwrap()
    }

    const BASE: &str = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw\n    region: eastus2\n    compute_subnets: [10.0.1.0/24]\n    compute: { instances: true }\n";

    #[test]
    fn each_module_of_a_layout_has_its_own_interface() {
        let variable = |name: &str| format!("variable \"{name}\" {{\n  type = string\n}}\n");
        let combined: RenderedFiles = [(
            "terraform/variables.tf".to_owned(),
            variable("firewall_policy_id") + &variable("resource_group_name"),
        )]
        .into();
        let split: RenderedFiles = [
            (
                "hub/terraform/variables.tf".to_owned(),
                variable("firewall_policy_id"),
            ),
            (
                "spoke/terraform/variables.tf".to_owned(),
                variable("resource_group_name"),
            ),
        ]
        .into();
        let changes: Vec<(String, String, String)> = interface_changes(&combined, &split)
            .into_iter()
            .map(|c| (c.module, c.name, c.change))
            .collect();
        let expected = [
            ("hub/terraform", "firewall_policy_id", "added"),
            ("spoke/terraform", "resource_group_name", "added"),
            ("terraform", "firewall_policy_id", "removed"),
            ("terraform", "resource_group_name", "removed"),
        ]
        .map(|(m, n, c)| (m.to_owned(), n.to_owned(), c.to_owned()));
        assert_eq!(changes, expected);
    }

    #[test]
    fn plan_diff_finds_added_removed_and_changed_rules() {
        let old = plan_of(BASE);
        let new = plan_of(
            &BASE
                .replace("[10.0.1.0/24]", "[10.0.1.0/24, 10.0.9.0/24]")
                .replace(
                    "compute: { instances: true }",
                    "compute: { instances: true }\n    features: [r]",
                ),
        );
        let diff = PlanDiff::new("old", &old, "new", &new);
        assert_eq!(
            diff.added.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["cran-host"]
        );
        assert!(diff.removed.is_empty());
        let aad = diff
            .changed
            .iter()
            .find(|c| c.id == "aad-service-tag")
            .unwrap();
        assert_eq!(aad.changes[0].field, "sources");
        assert_eq!(aad.changes[0].added, ["10.0.9.0/24"]);
        assert!(PlanDiff::new("a", &old, "b", &old).is_empty());
    }

    const FULL_PUBLIC: &str = include_str!("../golden/full-public/scenario.yaml");

    #[test]
    fn turning_nsgs_off_is_an_interface_change() {
        let old = plan_of(FULL_PUBLIC);
        let new = plan_of(&FULL_PUBLIC.replace("  nsg: true", "  nsg: false"));
        let diff = PlanDiff::new("old", &old, "new", &new);
        let changes: Vec<String> = diff.interface.iter().map(describe_interface).collect();
        assert_eq!(
            changes,
            [
                "bicep output networkSecurityGroupResourceIds removed (object)",
                "bicep param nsgNamePrefix removed (string)",
                "terraform output network_security_group_ids removed",
                "terraform variable nsg_name_prefix removed (string)",
            ]
        );
        let text = diff.to_text();
        let interface = text.find("# module interface: 4 change(s)").unwrap();
        let rules = text.find("# 0 added, 2 removed").unwrap();
        assert!(interface < rules, "the interface comes first:\n{text}");
        assert!(text.contains("! terraform variable nsg_name_prefix removed (string)\n"));
        let markdown = diff.to_markdown();
        assert!(
            markdown.contains("| terraform | variable | `nsg_name_prefix` | removed | string |  |"),
            "{markdown}"
        );
        let json: serde_json::Value = serde_json::from_str(&diff.to_json()).unwrap();
        assert_eq!(json["interface"].as_array().unwrap().len(), 4);
        assert_eq!(json["interface"][3]["name"], "nsg_name_prefix");
        assert_eq!(json["interface"][3]["old_type"], "string");
    }

    #[test]
    fn a_catalog_update_changes_no_module_interface() {
        let old = plan_of(&FULL_PUBLIC.replace("catalog: latest", "catalog: 2022-09"));
        let new = plan_of(FULL_PUBLIC);
        assert_eq!(
            (old.catalog.as_str(), new.catalog.as_str()),
            ("2022-09", "2026-03")
        );
        let diff = PlanDiff::new("old", &old, "new", &new);
        assert_eq!(diff.interface, [], "{}", diff.to_text());
        assert!(diff.to_text().contains("# module interface: unchanged\n"));
    }

    #[test]
    fn the_interface_reader_sees_types_and_defaults() {
        let files = |text: &str| {
            RenderedFiles::from([("terraform/variables.tf".to_owned(), text.to_owned())])
        };
        let old = files(
            "variable \"a\" {\n  type = string\n}\n\nvariable \"b\" {\n  type = object({\n    x = string\n  })\n  default = {\n    x = \"y\"\n  }\n}\n",
        );
        let new = files(
            "variable \"a\" {\n  type    = string\n  default = \"z\"\n}\n\nvariable \"b\" {\n  type = object({\n    x = number\n  })\n}\n",
        );
        let changes: Vec<String> = interface_changes(&old, &new)
            .iter()
            .map(describe_interface)
            .collect();
        assert_eq!(
            changes,
            [
                "terraform variable a now optional (string)",
                "terraform variable b retyped (object({ x = string }) -> object({ x = number }))",
            ]
        );
    }

    #[test]
    fn a_renamed_nsg_rule_and_a_moved_firewall_rule_are_address_changes() {
        let old = plan_of(FULL_PUBLIC);
        let mut new = old.clone();
        let nsg = new
            .rules
            .iter_mut()
            .find(|r| r.id == "virtual-network-private-endpoints-eastus2")
            .unwrap();
        nsg.id = "private-endpoints-eastus2".to_owned();
        let fqdn = new
            .rules
            .iter_mut()
            .find(|r| r.id == "extra-github-com")
            .unwrap();
        fqdn.concern = crate::catalog::Concern::Packages;
        let diff = PlanDiff::new("old", &old, "new", &new);
        let changes: Vec<String> = diff.addresses.iter().map(describe_address).collect();
        assert_eq!(
            changes,
            [
                "firewall-application extra-github-com: azurerm_firewall_policy_rule_collection_group.azureml: rcg-azureml-application-extra / extra-github-com -> azurerm_firewall_policy_rule_collection_group.azureml: rcg-azureml-application-packages / extra-github-com",
                "nsg virtual-network-private-endpoints-eastus2 -> private-endpoints-eastus2: azurerm_network_security_rule.virtual_network_private_endpoints_eastus2 -> azurerm_network_security_rule.private_endpoints_eastus2",
            ]
        );
        assert!(
            diff.to_text()
                .contains("# addresses: 2 rule(s) at another Terraform address")
        );
        assert!(PlanDiff::new("a", &old, "b", &old).is_interface_unchanged());
    }

    #[test]
    fn catalog_diff_finds_the_documented_changes() {
        let diff = CatalogDiff::new(&Catalog::embedded(), "2022-09", "2026-03");
        let ids = |list: &[RequirementSummary]| {
            list.iter().map(|r| r.id.clone()).collect::<BTreeSet<_>>()
        };
        let added = ids(&diff.added);
        let removed = ids(&diff.removed);
        for id in [
            "aml-service-tag-udp-5831",
            "batch-service-tag",
            "virtual-network-private-endpoints",
            "tundra-host",
            "batch-hosts",
            "rstudio-install-hosts",
            "automl-nlp-vision-hosts",
            "vscode-web-hosts",
        ] {
            assert!(added.contains(id), "{id} not added");
        }
        for id in [
            "inbound-batch-node-management",
            "route-batch-node-management",
            "prebuilt-images-host",
        ] {
            assert!(removed.contains(id), "{id} not removed");
        }
        let changed: BTreeSet<&str> = diff.changed.iter().map(|c| c.id.as_str()).collect();
        for id in [
            "mcr-service-tag",
            "kubernetes-registry-hosts",
            "vscode-websocket-server",
        ] {
            assert!(changed.contains(id), "{id} not changed");
        }
    }
}
