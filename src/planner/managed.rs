//! The outbound rules of workspaces with a managed virtual network, from the
//! managed-network article's entries (`catalog::managed`): pure, like the rest of the
//! planner. A managed workspace gets no firewall, NSG or route rule; its features become
//! the article's user-defined outbound rules, its limits diagnostics.

use std::collections::BTreeSet;

use crate::catalog::managed::{
    EntryKind, LimitSeverity, ManagedEntry, RULE_NAME_MAX, destination_suffix,
};
use crate::catalog::{Catalog, Cloud, PortRange};
use crate::diagnostic::{Code, Diagnostic};
use crate::plan::{ManagedKind, ManagedRule, ManagedWorkspace, Warning};
use crate::scenario::{ExtraFqdn, Isolation, Scenario, Workspace};

use super::EXTRA_FQDNS_REQUIREMENT;

/// Host suffixes of Azure Storage endpoints in every cloud: an FQDN outbound rule cannot
/// reach them ("you can't use an FQDN rule to access Azure Storage Accounts").
const STORAGE_SUFFIXES: &[&str] = &[
    ".core.windows.net",
    ".core.usgovcloudapi.net",
    ".core.chinacloudapi.cn",
];
const STORAGE_SERVICES: &[&str] = &["blob", "file", "queue", "table", "dfs", "web"];

/// What the managed network of a scenario comes to.
pub(super) struct Managed {
    pub workspaces: Vec<ManagedWorkspace>,
    pub rules: Vec<ManagedRule>,
    pub warnings: Vec<Warning>,
    pub errors: Vec<Diagnostic>,
}

/// Plans every managed workspace of `scenario`.
pub(super) fn plan(scenario: &Scenario, catalog: &Catalog) -> Managed {
    let mut managed = Managed {
        workspaces: Vec::new(),
        rules: Vec::new(),
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    for workspace in &scenario.workspaces {
        let Some(network) = &workspace.managed_network else {
            continue;
        };
        managed.workspaces.push(ManagedWorkspace {
            name: workspace.name.clone(),
            region: workspace.region.clone(),
            isolation: network.isolation,
        });
        let facts = workspace.facts();
        for entry in &catalog.managed.entries {
            if entry.when.holds(&facts) {
                entry_rules(
                    &mut managed,
                    catalog,
                    scenario.cloud,
                    workspace,
                    entry,
                    &facts,
                );
            }
        }
        if network.isolation == Isolation::AllowOnlyApprovedOutbound {
            for extra in &workspace.extra_fqdns {
                extra_rule(&mut managed, workspace, extra);
            }
        }
        if !workspace.compute_subnets.is_empty() || !workspace.compute_subnet_ids.is_empty() {
            managed.warnings.push(Warning::new(
                Code::UnusedInput,
                format!(
                    "workspace `{}`: `compute_subnets` and `compute_subnet_ids` are not used with `managed_network`: its compute runs in the managed virtual network (the article: \"you can't deploy compute resources inside your custom virtual network\"); remove them",
                    workspace.name
                ),
            ));
        }
    }
    managed.rules.sort();
    managed.warnings.sort();
    managed.warnings.dedup();
    managed
}

fn entry_rules(
    managed: &mut Managed,
    catalog: &Catalog,
    cloud: Cloud,
    workspace: &Workspace,
    entry: &ManagedEntry,
    facts: &BTreeSet<&str>,
) {
    let rule = |kind: ManagedKind, name: String, destinations: Vec<String>| ManagedRule {
        workspace: workspace.name.clone(),
        kind,
        name,
        destinations,
        resource: entry.resource.clone(),
        protocol: entry.protocol.clone(),
        ports: entry.ports.clone(),
        requirement: entry.id.clone(),
        section: entry.section.clone(),
        purpose: entry.purpose.clone(),
    };
    // One rule per destination, named by its destination, so that a catalog update that
    // adds or removes a host of the entry renames no other host's rule.
    let named = |index: usize| {
        if entry.destinations.len() == 1 {
            entry.id.clone()
        } else {
            let destination = entry.destinations.get(index).map_or("", String::as_str);
            format!("{}{}", entry.id, destination_suffix(destination))
        }
    };
    match entry.kind {
        EntryKind::Automatic => {
            // `BatchNodeManagement.{region}` with the region's exact tag casing.
            let suffix = catalog
                .region(cloud, &workspace.region)
                .and_then(|r| r.tag_suffix.clone())
                .unwrap_or_else(|| workspace.region.clone());
            let destinations = entry
                .destinations
                .iter()
                .map(|d| d.replace("{region}", &suffix))
                .collect();
            managed
                .rules
                .push(rule(ManagedKind::Automatic, entry.id.clone(), destinations));
        }
        EntryKind::Fqdn => {
            for (index, host) in entry.destinations.iter().enumerate() {
                if is_storage_host(host) {
                    managed.warnings.push(Warning::new(
                        Code::ManagedNetworkLimit,
                        format!(
                            "workspace `{}`: `{}` ({}) asks for an FQDN rule to `{host}`, an Azure Storage host, which the article's limitations say an FQDN rule cannot reach; the rule is written as the article's scenario section lists it (Microsoft's account, no private endpoint can replace it)",
                            workspace.name, entry.id, entry.section
                        ),
                    ));
                }
                managed.rules.push(rule(
                    ManagedKind::ManagedFqdn,
                    named(index),
                    vec![host.clone()],
                ));
            }
        }
        EntryKind::ServiceTag => {
            for (index, tag) in entry.destinations.iter().enumerate() {
                managed.rules.push(rule(
                    ManagedKind::ManagedServiceTag,
                    named(index),
                    vec![tag.clone()],
                ));
            }
        }
        EntryKind::PrivateEndpoint => {
            if workspace.storage_account.is_none() {
                managed.errors.push(
                    Diagnostic::error(
                        Code::MissingPlaceholderValue,
                        format!(
                            "workspace `{}`: `{}` needs private endpoint rules to the default storage account, and the workspace names none",
                            workspace.name, entry.id
                        ),
                    )
                    .at(workspace.location.clone())
                    .help("add `storage_account: <name>` to the workspace (the module takes its resource ID as an input)"),
                );
                return;
            }
            for (index, target) in entry.destinations.iter().enumerate() {
                managed.rules.push(rule(
                    ManagedKind::ManagedPrivateEndpoint,
                    named(index),
                    vec![target.clone()],
                ));
            }
        }
        EntryKind::Limit => limit(managed, workspace, entry, facts),
    }
}

/// A limit entry: the facts of its condition that hold, minus the isolation mode's,
/// are the features it is about.
fn limit(
    managed: &mut Managed,
    workspace: &Workspace,
    entry: &ManagedEntry,
    facts: &BTreeSet<&str>,
) {
    let features: BTreeSet<&str> = entry
        .when
        .facts()
        .into_iter()
        .filter(|fact| {
            facts.contains(fact) && !matches!(*fact, "managed-network" | "approved-outbound")
        })
        .collect();
    let named = features
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let reason = entry.reason.as_deref().unwrap_or_default();
    let help = entry.help.as_deref().unwrap_or_default();
    let severity = entry.severity.unwrap_or(LimitSeverity::Warning);
    let message = format!(
        "workspace `{}`: {named}: {reason} (`{}`, the managed-network article's \"{}\")",
        workspace.name, entry.id, entry.section
    );
    if severity == LimitSeverity::Error {
        // At the part of the workspace the managed network cannot carry, where the file
        // has one (attached Kubernetes compute), else at `managed_network`.
        let location = match &workspace.compute.kubernetes {
            Some(kubernetes) if features.contains("kubernetes") => kubernetes.location.clone(),
            _ => workspace
                .managed_network
                .as_ref()
                .map_or_else(|| workspace.location.clone(), |m| m.location.clone()),
        };
        managed.errors.push(
            Diagnostic::error(severity.code(), message)
                .at(location)
                .help(help),
        );
    } else {
        managed
            .warnings
            .push(Warning::new(severity.code(), format!("{message}; {help}")));
    }
}

/// A host of `extra_fqdns` in a workspace that allows only approved outbound: an FQDN
/// rule on 80/443, an error on other ports, a warning (and no rule) for storage hosts.
fn extra_rule(managed: &mut Managed, workspace: &Workspace, extra: &ExtraFqdn) {
    let web = |port: &PortRange| (port.start == 80 || port.start == 443) && port.end == port.start;
    let place = format!(
        "{}, line {}",
        extra.location.path,
        extra.location.position.as_ref().map_or(0, |p| p.line)
    );
    if !extra.ports.iter().all(web) {
        let other: Vec<String> = extra
            .ports
            .iter()
            .filter(|p| !web(p))
            .map(ToString::to_string)
            .collect();
        managed.errors.push(
            Diagnostic::error(
                Code::ManagedNetworkUnsupported,
                format!(
                    "workspace `{}`: `{}` on port {} cannot be a managed-network rule: FQDN outbound rules only support ports 80 and 443 (the managed-network article's \"Limitations\")",
                    workspace.name,
                    extra.fqdn,
                    other.join(", ")
                ),
            )
            .at(extra.location.clone())
            .help("keep the host on 80/443, or keep this workspace behind the hub firewall (remove `managed_network`)"),
        );
        return;
    }
    if is_storage_host(&extra.fqdn) {
        managed.warnings.push(Warning::new(
            Code::ManagedNetworkLimit,
            format!(
                "workspace `{}`: `{}` ({place}) is an Azure Storage host, which an FQDN outbound rule cannot reach (the managed-network article's \"Limitations\"); no rule is written: add a private endpoint outbound rule to the storage account instead",
                workspace.name, extra.fqdn
            ),
        ));
        return;
    }
    // An FQDN rule has no port: the same host listed for 80 and for 443 is one rule.
    let name = extra_name(&extra.fqdn);
    if managed
        .rules
        .iter()
        .any(|r| r.workspace == workspace.name && r.name == name)
    {
        return;
    }
    managed.rules.push(ManagedRule {
        workspace: workspace.name.clone(),
        kind: ManagedKind::ManagedFqdn,
        name,
        destinations: vec![extra.fqdn.clone()],
        resource: None,
        protocol: None,
        ports: Vec::new(),
        requirement: EXTRA_FQDNS_REQUIREMENT.to_owned(),
        section: "the scenario's extra_fqdns (the article: \"You must add rules for each outbound connection you need to allow.\")".to_owned(),
        purpose: extra.reason.clone(),
    });
}

/// `x-<host, cut>-<hash>`: stable per host, within Azure's 33 characters, and distinct
/// for hosts that share the cut prefix.
fn extra_name(fqdn: &str) -> String {
    let cleaned: String = fqdn
        .trim_start_matches("*.")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut hash: u32 = 0x811c_9dc5;
    for byte in fqdn.bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    let budget = RULE_NAME_MAX - "x--".len() - 8;
    let cut: String = cleaned.chars().take(budget).collect();
    format!("x-{}-{hash:08x}", cut.trim_end_matches('-'))
}

fn is_storage_host(host: &str) -> bool {
    let host = host.trim_start_matches("*.").to_ascii_lowercase();
    STORAGE_SUFFIXES.iter().any(|suffix| {
        host.strip_suffix(suffix).is_some_and(|rest| {
            rest.rsplit('.')
                .next()
                .is_some_and(|service| STORAGE_SERVICES.contains(&service))
                || STORAGE_SERVICES.contains(&rest)
        })
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The same host on 80 and on 443 is one FQDN rule (it has no port), not two rules
    /// with one name, which Azure and Terraform would refuse.
    #[test]
    fn a_host_listed_for_two_ports_is_one_rule() {
        let catalog = Catalog::embedded();
        let text = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw-a\n    region: eastus2\n    managed_network: {}\n    extra_fqdns:\n      - { fqdn: a.contoso.com, ports: [80], reason: r }\n      - { fqdn: a.contoso.com, ports: [443], reason: r }\n";
        let scenario = crate::scenario::load(text, "s.yaml", &catalog).unwrap();
        let planned = plan(&scenario, &catalog);
        let names: Vec<&str> = planned
            .rules
            .iter()
            .filter(|r| r.requirement == EXTRA_FQDNS_REQUIREMENT)
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(planned.errors.is_empty());
    }

    /// A catalog update that removes a host of an entry renames none of the entry's other
    /// rules: names come from destinations, not positions (a position name would move
    /// every later host's rule, and Terraform would replace them).
    #[test]
    fn removing_a_host_of_an_entry_renames_no_other_rule() {
        let text = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw-a\n    region: eastus2\n    managed_network: {}\n    compute: { instances: true }\n    features: [vscode, huggingface]\n";
        let rules = |catalog: &Catalog| {
            let scenario = crate::scenario::load(text, "s.yaml", catalog).unwrap();
            plan(&scenario, catalog).rules
        };
        let names = |catalog: &Catalog| -> BTreeMap<String, String> {
            rules(catalog)
                .into_iter()
                .filter(|r| r.kind != ManagedKind::Automatic)
                .map(|r| (r.destinations.join(","), r.name))
                .collect()
        };
        let full = Catalog::embedded();
        let before = names(&full);
        let planned: Vec<String> = rules(&full).into_iter().map(|r| r.requirement).collect();
        let mut smaller = full.clone();
        let entry = smaller
            .managed
            .entries
            .iter_mut()
            .find(|e| {
                e.kind == EntryKind::Fqdn && e.destinations.len() > 2 && planned.contains(&e.id)
            })
            .expect("a planned FQDN entry of three or more hosts");
        let removed = entry.destinations.remove(0);
        let after = names(&smaller);
        assert!(!after.contains_key(&removed));
        for (destination, name) in &after {
            assert_eq!(before.get(destination), Some(name), "{destination}");
        }
        assert_eq!(after.len() + 1, before.len());
    }

    #[test]
    fn storage_hosts_are_recognized_and_others_are_not() {
        assert!(is_storage_host("stml.blob.core.windows.net"));
        assert!(is_storage_host("*.table.core.chinacloudapi.cn"));
        assert!(!is_storage_host("management.core.windows.net"));
        assert!(!is_storage_host("pypi.org"));
    }

    #[test]
    fn extra_names_fit_azure_and_differ_per_host() {
        let long = extra_name("a-very-long-host-name.example.internal.contoso.com");
        assert!(long.len() <= RULE_NAME_MAX, "{long}");
        assert_ne!(extra_name("github.com"), extra_name("*.github.com"));
        assert_eq!(extra_name("github.com"), extra_name("github.com"));
        let pattern = |name: &str| {
            name.len() >= 3
                && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        assert!(pattern(&long) && pattern(&extra_name("*.x.io")));
    }
}
