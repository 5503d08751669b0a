//! The managed-network article as catalog data: `catalog/requirements/managed-network.yaml`.
//!
//! A second article with its own source (not a revision of the firewall article, whose
//! requirements are rules of a hub firewall): the outbound rules of a workspace that uses
//! an Azure Machine Learning managed virtual network. Entries are the rules Azure creates
//! itself (`automatic`), the user-defined outbound rules a feature needs (`fqdn`,
//! `service-tag`, `private-endpoint`) and what the managed network cannot carry (`limit`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{Condition, Revision};
use crate::diagnostic::{Code, Diagnostic, Location};

/// The file, relative to the catalog directory.
pub const FILE: &str = "requirements/managed-network.yaml";

/// Azure's rule for outbound rule names (`Microsoft.MachineLearningServices/workspaces/
/// outboundRules`, `^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$`): at most this many characters.
pub const RULE_NAME_MAX: usize = 33;

/// The suffix that tells apart the rules of an entry with several destinations: the
/// destination itself when it is a short word (a storage sub-resource: `-queue`), else
/// `-` and six hex digits of its FNV-1a hash. From the destination, not its position, so
/// that adding or removing a host of an entry renames no other host's rule (a rule's name
/// is its identity in Azure and in the module's `for_each` keys).
#[must_use]
pub fn destination_suffix(destination: &str) -> String {
    if destination.len() < DESTINATION_SUFFIX_LEN
        && destination
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return format!("-{destination}");
    }
    let mut hash: u32 = 0x811c_9dc5;
    for byte in destination.bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    format!("-{:06x}", hash >> 8)
}

/// The longest [`destination_suffix`].
const DESTINATION_SUFFIX_LEN: usize = 7;

/// The sub resources of a storage account a private endpoint can target.
pub const STORAGE_SUB_RESOURCES: &[&str] = &["blob", "file", "queue", "table", "dfs", "web"];

/// The managed-network article's entries.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ManagedCatalog {
    /// Where the entries come from (the article and its commit).
    pub source: Option<Revision>,
    /// The entries, in file order.
    pub entries: Vec<ManagedEntry>,
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// Azure creates it; amlfw lists it and never writes it.
    Automatic,
    /// A user-defined FQDN outbound rule per host (ports 80 and 443 only).
    Fqdn,
    /// A user-defined service tag outbound rule.
    ServiceTag,
    /// A user-defined private endpoint outbound rule per sub resource.
    PrivateEndpoint,
    /// Something a managed network cannot carry: a diagnostic.
    Limit,
}

/// How a limit is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitSeverity {
    /// The feature cannot work: `managed-network-unsupported`, an error.
    Error,
    /// The feature works only in part or with a workaround: `managed-network-limit`.
    Warning,
    /// Something to do outside the managed network: `manual-step`.
    Manual,
    /// The article gives no rule for the feature: `managed-network-undocumented`.
    Undocumented,
}

impl LimitSeverity {
    /// The diagnostic code it is reported with.
    #[must_use]
    pub fn code(self) -> Code {
        match self {
            LimitSeverity::Error => Code::ManagedNetworkUnsupported,
            LimitSeverity::Warning => Code::ManagedNetworkLimit,
            LimitSeverity::Manual => Code::ManualStep,
            LimitSeverity::Undocumented => Code::ManagedNetworkUndocumented,
        }
    }
}

/// One entry of the managed-network article.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedEntry {
    /// Stable kebab-case id; the outbound rule's name (`<id>-<position>` for several destinations).
    pub id: String,
    /// What it is.
    pub kind: EntryKind,
    /// One line: what the traffic is for.
    pub purpose: String,
    /// The article section.
    pub section: String,
    /// The article's words.
    pub quote: String,
    /// How a contradiction or gap of the article was resolved.
    pub note: Option<String>,
    /// When it applies, over the workspace's facts.
    pub when: Condition,
    /// Hosts (`fqdn`), service tags (`service-tag`, `automatic`), sub resources
    /// (`private-endpoint`), in catalog order: a rule's name suffix is its position.
    pub destinations: Vec<String>,
    /// `private-endpoint`: the resource the endpoint targets (`storage-account`).
    pub resource: Option<String>,
    /// `service-tag`: `TCP`, `UDP`, `ICMP` or `*`.
    pub protocol: Option<String>,
    /// `service-tag`: port ranges.
    pub ports: Vec<String>,
    /// `limit`: how it is reported.
    pub severity: Option<LimitSeverity>,
    /// `limit`: why the managed network cannot carry it.
    pub reason: Option<String>,
    /// `limit`: what to do.
    pub help: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    source: Revision,
    entries: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: String,
    kind: EntryKind,
    purpose: String,
    section: String,
    quote: String,
    #[serde(default)]
    note: Option<String>,
    when: String,
    #[serde(default)]
    destinations: Vec<String>,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    ports: Vec<String>,
    #[serde(default)]
    severity: Option<LimitSeverity>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    help: Option<String>,
}

/// Reads and checks the file; every problem is an `invalid-catalog` diagnostic.
pub(super) fn load(text: &str, root: &str) -> Result<ManagedCatalog, Vec<Diagnostic>> {
    let at = |path: &str| Location {
        file: format!("{root}/{FILE}"),
        path: path.to_owned(),
        position: None,
    };
    let raw: RawFile = serde_yaml::from_str(text).map_err(|error| {
        vec![Diagnostic::error(Code::InvalidCatalog, error.to_string()).at(at(""))]
    })?;
    let mut problems = Vec::new();
    let mut ids = BTreeSet::new();
    let mut entries = Vec::new();
    for (index, raw) in raw.entries.into_iter().enumerate() {
        let path = format!("entries[{index}]");
        let mut problem = |message: String| {
            problems.push(Diagnostic::error(Code::InvalidCatalog, message).at(at(&path)));
        };
        if !ids.insert(raw.id.clone()) {
            problem(format!("id `{}` is used twice", raw.id));
        }
        // Only the kinds amlfw writes are split into one rule per destination; an automatic
        // rule or a limit is one row of the plan.
        let split = raw.destinations.len() > 1
            && matches!(
                raw.kind,
                EntryKind::Fqdn | EntryKind::ServiceTag | EntryKind::PrivateEndpoint
            );
        let suffix = if split { DESTINATION_SUFFIX_LEN } else { 0 };
        let mut suffixes = std::collections::BTreeSet::new();
        if split
            && !raw
                .destinations
                .iter()
                .all(|d| suffixes.insert(destination_suffix(d)))
        {
            problem(format!(
                "two destinations of `{}` have one rule name suffix: list them in entries of their own",
                raw.id
            ));
        }
        // `x-` names are the scenario's `extra_fqdns` (`planner::managed`).
        let name_ok = raw.id.len() >= 3
            && !raw.id.starts_with("x-")
            && raw.id.len() + suffix <= RULE_NAME_MAX
            && raw.id.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            problem(format!(
                "id `{}` is not a valid outbound rule name: kebab-case, 3-{RULE_NAME_MAX} characters with its `-<hash>` suffix",
                raw.id
            ));
        }
        let when = match Condition::parse(&raw.when) {
            Ok(condition) => {
                for fact in condition.facts() {
                    if !crate::scenario::FACTS.iter().any(|(name, _)| *name == fact) {
                        problem(format!("`when` names `{fact}`, which is not a fact"));
                    }
                }
                condition
            }
            Err(message) => {
                problem(format!("`when`: {message}"));
                Condition::Fact("always".to_owned())
            }
        };
        let is_limit = raw.kind == EntryKind::Limit;
        if is_limit != (raw.severity.is_some() && raw.reason.is_some() && raw.help.is_some()) {
            problem(
                "`severity`, `reason` and `help` belong to `limit` entries, all three".to_owned(),
            );
        }
        if !is_limit && raw.destinations.is_empty() {
            problem("the entry has no destinations".to_owned());
        }
        match raw.kind {
            EntryKind::Fqdn => {
                for host in &raw.destinations {
                    // FQDN rules take a leading `*.` wildcard, as the article's hosts show.
                    let bare = host.strip_prefix("*.").unwrap_or(host);
                    if let Some(why) = crate::scenario::fqdn_problem(bare) {
                        problem(format!("`{host}` is not a host name: {why}"));
                    }
                }
            }
            EntryKind::PrivateEndpoint => {
                if raw.resource.as_deref() != Some("storage-account") {
                    problem("a private-endpoint entry targets `resource: storage-account` (the one resource a scenario names)".to_owned());
                }
                for target in &raw.destinations {
                    if !STORAGE_SUB_RESOURCES.contains(&target.as_str()) {
                        problem(format!("`{target}` is not a storage sub resource"));
                    }
                }
            }
            EntryKind::ServiceTag => {
                if raw.protocol.is_none() || raw.ports.is_empty() {
                    problem("a service-tag entry has a `protocol` and `ports`".to_owned());
                }
            }
            EntryKind::Automatic | EntryKind::Limit => {}
        }
        entries.push(ManagedEntry {
            id: raw.id,
            kind: raw.kind,
            purpose: raw.purpose,
            section: raw.section,
            quote: raw.quote,
            note: raw.note,
            when,
            destinations: raw.destinations,
            resource: raw.resource,
            protocol: raw.protocol,
            ports: raw.ports,
            severity: raw.severity,
            reason: raw.reason,
            help: raw.help,
        });
    }
    if problems.is_empty() {
        Ok(ManagedCatalog {
            source: Some(raw.source),
            entries,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMBEDDED: &str = include_str!("../../catalog/requirements/managed-network.yaml");

    #[test]
    fn the_embedded_file_loads_and_cites_its_commit() {
        let catalog = load(EMBEDDED, "catalog").unwrap();
        let source = catalog.source.unwrap();
        assert!(
            source
                .source
                .contains("d675e2ffa1225f61fc3f8eb22b04c935b0dd21df")
        );
        assert!(catalog.entries.len() > 10);
    }

    /// The checks can fail: a name too long for Azure, an unknown fact, a URL as a host,
    /// a limit without its reason, each refused.
    #[test]
    fn broken_entries_are_refused() {
        let cases = [
            EMBEDDED.replacen(
                "id: managed-pypi",
                "id: managed-pypi-with-a-name-far-too-long",
                1,
            ),
            EMBEDDED.replacen("when: approved-outbound and python\n", "when: pythn\n", 1),
            EMBEDDED.replacen(
                "destinations: [pypi.org]",
                "destinations: [pypi.org/simple]",
                1,
            ),
            EMBEDDED.replacen("    reason: \"kubernetes", "    note: \"kubernetes", 1),
            EMBEDDED.replacen("destinations: [queue, table]", "destinations: [queues]", 1),
            EMBEDDED.replacen("id: managed-pypi", "id: x-pypi", 1),
        ];
        for case in cases {
            assert_ne!(case, EMBEDDED);
            let problems = load(&case, "catalog").unwrap_err();
            assert!(problems.iter().all(|d| d.code == Code::InvalidCatalog));
        }
    }
}
