//! The commented starter scenario `amlfw init` writes: every field of the format, the
//! required ones filled in, the optional ones commented out at their defaults, each with
//! its meaning and the article sections whose rules it selects.
//!
//! Pure: the text is a function of the catalog, the cloud and the region. The meanings
//! are the schema's descriptions and the defaults the decoder's constants, so the starter
//! cannot document a field differently from `amlfw schema`; the sections are looked up in
//! the catalog's latest revision, so they follow the article.

use super::schema::description;
use super::{
    BOOLEAN_FIELDS, DEFAULT_CATALOG, DEFAULT_PRIORITY, DEFAULT_RULE_COLLECTION_GROUP_NAME,
    DESTINATIONS, FEATURES, ISOLATION_MODES, KUBERNETES_CONNECTIONS, LAYOUTS, ROUTE_MODES, SKUS,
    UNMARKED_TAGS, example_region, resolve_region,
};
use crate::catalog::{Catalog, Cloud, CloudEndpoints, Direction, Endpoint, Mode, Requirement};
use crate::diagnostic::Diagnostic;

/// The file `amlfw init` writes when given none.
pub const DEFAULT_FILE: &str = "amlfw.yaml";

/// Which requirements a field selects, to name their article sections.
#[derive(Debug, Clone, Copy)]
enum Selects {
    /// Requirements whose condition mentions this fact.
    Fact(&'static str),
    /// Requirements with a destination holding this placeholder (`{storage}`).
    Placeholder(&'static str),
    /// Requirements with a URL destination (what Premium matches).
    Urls,
    /// Requirements only in the "Microsoft hosts" tables.
    HostsOnly,
    /// Inbound requirements (what an NSG carries).
    Inbound,
    /// Route requirements.
    Routes,
    /// An amlfw setting the article does not cover.
    Nothing,
}

/// The starter scenario for `cloud`, with `region` (any spelling the decoder takes) or
/// the cloud's example region. An unknown region gets the decoder's own diagnostic.
pub fn starter(
    catalog: &Catalog,
    cloud: Cloud,
    region: Option<&str>,
) -> Result<String, Box<Diagnostic>> {
    let region = resolve_region(catalog, cloud, region.unwrap_or(example_region(cloud)))?;
    let display = catalog
        .region(cloud, &region)
        .map_or_else(String::new, |r| format!(" ({})", r.display_name));
    let mut revisions = vec![DEFAULT_CATALOG.to_owned()];
    revisions.extend(catalog.revisions.iter().map(|r| format!("\"{}\"", r.id)));
    let starter = Starter { catalog, cloud };
    let mut out = format!(
        "# yaml-language-server: $schema=./scenario.schema.json\n\
         # An amlfw scenario (format version 1), written by `amlfw init`; `amlfw plan` on this\n\
         # file lists the rules it needs. Uncommented keys are yours to check; `# key: value` lines are\n\
         # optional settings at their defaults: remove the `# ` to change one. `Article:` names the\n\
         # sections of Microsoft's \"Configure inbound and outbound network traffic\" (catalog\n\
         # revision {}) whose rules a setting selects. For checks and completion in your editor,\n\
         # run `amlfw schema > scenario.schema.json` next to this file.\n\n",
        catalog.latest
    );
    let none = Selects::Nothing;
    let top = "";
    starter.field(&mut out, top, "scenario", "version", "version: 1", none);
    starter.field(
        &mut out,
        top,
        "scenario",
        "cloud",
        &format!("cloud: {cloud}"),
        none,
    );
    let values = format!(" ({})", revisions.join(", "));
    starter.field_with(
        &mut out,
        "# ",
        "scenario",
        "catalog",
        &format!("catalog: {DEFAULT_CATALOG}"),
        none,
        &values,
    );

    // Azure China's service tag file marks none of the tags the article names (Storage,
    // AzureKeyVault, BatchNodeManagement, MicrosoftContainerRegistry, AzureMonitor...) for
    // Azure Firewall, so its starter names hosts instead (the article's China host tables).
    let china = cloud == Cloud::China;
    if china {
        out.push_str("# Azure China's service tag file marks Storage, AzureKeyVault, BatchNodeManagement,\n# MicrosoftContainerRegistry and AzureMonitor as not usable in Azure Firewall, so this\n# starter names hosts (the article's Azure China host tables) instead of service tags.\n");
    }
    let (firewall_top, firewall) = if china { ("", "  ") } else { ("# ", "#   ") };
    starter.field(
        &mut out,
        firewall_top,
        "scenario",
        "firewall",
        "firewall:",
        none,
    );
    let commented = "#   ";
    starter.field_with(
        &mut out,
        commented,
        "firewall",
        "sku",
        &format!("sku: {}", SKUS[0]),
        Selects::Urls,
        "",
    );
    starter.field_with(
        &mut out,
        firewall,
        "firewall",
        "destinations",
        &format!(
            "destinations: {}",
            if china { "hosts" } else { DESTINATIONS[0] }
        ),
        Selects::HostsOnly,
        "",
    );
    starter.field_with(
        &mut out,
        commented,
        "firewall",
        "unmarked_tags",
        &format!("unmarked_tags: {}", UNMARKED_TAGS[0]),
        none,
        "",
    );
    starter.field(
        &mut out,
        commented,
        "firewall",
        "rule_collection_group",
        &format!(
            "rule_collection_group: {{ name: {DEFAULT_RULE_COLLECTION_GROUP_NAME}, priority: {DEFAULT_PRIORITY} }}"
        ),
        none,
    );

    starter.field(&mut out, top, "scenario", "workspaces", "workspaces:", none);
    starter.field(&mut out, "  ", "workspace", "name", "- name: mlw-dev", none);
    let workspace = "    ";
    let region_note = format!("; this is {region}{display}");
    starter.field_with(
        &mut out,
        workspace,
        "workspace",
        "region",
        &format!("region: {region}"),
        Selects::Placeholder("{region}"),
        &region_note,
    );
    starter.field_with(
        &mut out,
        workspace,
        "workspace",
        "compute_subnets",
        "compute_subnets: [10.0.1.0/24]",
        Selects::Fact("always"),
        "; replace the example with yours",
    );
    let optional = "    # ";
    starter.field(
        &mut out,
        optional,
        "workspace",
        "storage_account",
        "storage_account: stexample01",
        Selects::Placeholder("{storage}"),
    );
    starter.field(
        &mut out,
        optional,
        "workspace",
        "container_registry",
        "container_registry: crexample01",
        Selects::Placeholder("{acr}"),
    );
    starter.field(
        &mut out,
        optional,
        "workspace",
        "workspace_id",
        "workspace_id: 00000000-0000-4000-8000-000000000000",
        Selects::Placeholder("{workspace_id}"),
    );
    starter.boolean(
        &mut out,
        optional,
        "workspace",
        "private_endpoint",
        Selects::Fact("private-endpoint"),
    );
    starter.boolean(&mut out, optional, "workspace", "hbi", Selects::Fact("hbi"));
    starter.field(&mut out, optional, "workspace", "compute_subnet_ids", "compute_subnet_ids: [/subscriptions/00000000-0000-4000-8000-000000000000/resourceGroups/rg-ml/providers/Microsoft.Network/virtualNetworks/vnet-ml/subnets/snet-compute]", none);
    starter.field(&mut out, optional, "workspace", "compute", "compute:", none);
    let compute = "    #   ";
    starter.boolean(
        &mut out,
        compute,
        "compute",
        "instances",
        Selects::Fact("compute-instance"),
    );
    starter.boolean(
        &mut out,
        compute,
        "compute",
        "clusters",
        Selects::Fact("compute-cluster"),
    );
    starter.boolean(
        &mut out,
        compute,
        "compute",
        "public_ip",
        Selects::Fact("public-ip"),
    );
    starter.field(
        &mut out,
        compute,
        "compute",
        "kubernetes",
        "kubernetes:",
        Selects::Fact("kubernetes"),
    );
    let kubernetes = "    #     ";
    starter.boolean(
        &mut out,
        kubernetes,
        "kubernetes",
        "training",
        Selects::Fact("kubernetes-training"),
    );
    starter.boolean(
        &mut out,
        kubernetes,
        "kubernetes",
        "inference",
        Selects::Fact("kubernetes-inference"),
    );
    starter.field_with(
        &mut out,
        kubernetes,
        "kubernetes",
        "connection",
        &format!("connection: {}", KUBERNETES_CONNECTIONS[0]),
        Selects::Fact("kubernetes-aks"),
        "",
    );
    starter.boolean(
        &mut out,
        compute,
        "compute",
        "aks_v1_inference",
        Selects::Fact("aks-v1-inference"),
    );
    starter.field(
        &mut out,
        optional,
        "workspace",
        "features",
        "features:",
        none,
    );
    for (feature, meaning) in FEATURES {
        let meaning = format!("{}.", capitalize(meaning));
        starter.option(
            &mut out,
            compute,
            &meaning,
            Selects::Fact(feature),
            &format!("- {feature}"),
        );
    }
    starter.field(
        &mut out,
        optional,
        "workspace",
        "extra_fqdns",
        "extra_fqdns:",
        none,
    );
    out.push_str(&format!(
        "{compute}- {{ fqdn: github.com, ports: [443], reason: clone training code }}\n"
    ));
    starter.field(
        &mut out,
        optional,
        "workspace",
        "managed_network",
        &format!("managed_network: {{ isolation: {} }}", ISOLATION_MODES[0]),
        none,
    );

    starter.field(&mut out, "# ", "scenario", "outputs", "outputs:", none);
    let outputs = "#   ";
    starter.field_with(
        &mut out,
        outputs,
        "outputs",
        "layout",
        &format!("layout: {}", LAYOUTS[0]),
        none,
        "",
    );
    starter.boolean(&mut out, outputs, "outputs", "nsg", Selects::Inbound);
    starter.field(
        &mut out,
        outputs,
        "outputs",
        "route_table",
        "route_table:",
        Selects::Routes,
    );
    let route_table = "#     ";
    starter.field(
        &mut out,
        route_table,
        "route_table",
        "firewall_private_ip",
        "firewall_private_ip: 10.0.0.4",
        none,
    );
    starter.field_with(
        &mut out,
        route_table,
        "route_table",
        "mode",
        &format!("mode: {}", ROUTE_MODES[0]),
        none,
        "",
    );
    Ok(out)
}

struct Starter<'c> {
    catalog: &'c Catalog,
    cloud: Cloud,
}

impl Starter<'_> {
    /// Two lines: `# meaning. Article: sections.` and the key, both after `prefix` (its
    /// indentation, plus `# ` and the nesting when the key is commented out).
    fn field(
        &self,
        out: &mut String,
        prefix: &str,
        object: &str,
        field: &str,
        line: &str,
        selects: Selects,
    ) {
        self.field_with(out, prefix, object, field, line, selects, "");
    }

    #[allow(clippy::too_many_arguments)] // Each call reads as one row of the starter.
    fn field_with(
        &self,
        out: &mut String,
        prefix: &str,
        object: &str,
        field: &str,
        line: &str,
        selects: Selects,
        extra: &str,
    ) {
        let meaning = first_sentence(description(object, field).unwrap_or_default());
        self.option(out, prefix, &format!("{meaning}{extra}."), selects, line);
    }

    /// `# meaning`, `# Article: section` when one applies, and the option line. A commented
    /// option's own comments are not commented twice; those of a commented block's
    /// children are, so removing the block's `# ` restores both.
    fn option(&self, out: &mut String, prefix: &str, meaning: &str, selects: Selects, line: &str) {
        let comment = prefix.strip_suffix("# ").unwrap_or(prefix);
        out.push_str(&format!("{comment}# {meaning}\n"));
        if let Some(section) = self.section(selects) {
            out.push_str(&format!("{comment}# Article: {section}\n"));
        }
        out.push_str(&format!("{prefix}{line}\n"));
    }

    /// A true-or-false field at its default.
    fn boolean(&self, out: &mut String, prefix: &str, object: &str, field: &str, selects: Selects) {
        let default = BOOLEAN_FIELDS
            .iter()
            .find(|(name, _)| *name == field)
            .is_some_and(|(_, default)| *default);
        self.field(
            out,
            prefix,
            object,
            field,
            &format!("{field}: {default}"),
            selects,
        );
    }

    /// The article section of the requirements `selects` picks in the latest revision:
    /// the one most of them in the default destination mode come from (the most common
    /// among all for hosts-only fields), with how many other sections there are.
    fn section(&self, selects: Selects) -> Option<String> {
        let revision = self.catalog.latest.as_str();
        // (section, in the default mode, in any mode), in catalog order.
        let mut counts: Vec<(&str, usize, usize)> = Vec::new();
        for requirement in self.catalog.requirements_of(revision) {
            if !self.selects(requirement, selects) {
                continue;
            }
            let Some(section) = requirement.sections.get(revision) else {
                continue;
            };
            let default_mode = usize::from(requirement.modes.contains(&Mode::ServiceTags));
            match counts.iter_mut().find(|(s, _, _)| s == section) {
                Some(entry) => {
                    entry.1 += default_mode;
                    entry.2 += 1;
                }
                None => counts.push((section, default_mode, 1)),
            }
        }
        // Stable sort: ties keep catalog order.
        counts.sort_by_key(|(_, default_mode, any)| std::cmp::Reverse((*default_mode, *any)));
        let (best, _, _) = counts.first()?;
        Some(match counts.len() - 1 {
            0 => (*best).to_owned(),
            1 => format!("{best} (and 1 more section)"),
            more => format!("{best} (and {more} more sections)"),
        })
    }

    fn selects(&self, requirement: &Requirement, selects: Selects) -> bool {
        let endpoints = || match requirement.destinations.as_ref().map(|d| d.get(self.cloud)) {
            Some(CloudEndpoints::Endpoints(list)) => list.clone(),
            _ => Vec::new(),
        };
        match selects {
            Selects::Fact(fact) => requirement.when.facts().contains(&fact),
            Selects::Placeholder(placeholder) => {
                endpoints().iter().any(|e| e.text().contains(placeholder))
            }
            Selects::Urls => endpoints().iter().any(|e| matches!(e, Endpoint::Url(_))),
            Selects::HostsOnly => requirement.modes == [Mode::Hosts],
            Selects::Inbound => requirement.direction == Direction::Inbound,
            Selects::Routes => requirement.route.is_some(),
            Selects::Nothing => false,
        }
    }
}

/// The first sentence of a description: the one line a starter comment has room for.
/// The first sentence of a reference description, as a plain YAML comment: without the
/// Markdown backticks and the reference's "(below)" pointers to sub-tables.
fn first_sentence(text: &str) -> String {
    let first = text.split_once(". ").map_or(text, |(first, _)| first);
    first
        .strip_suffix('.')
        .unwrap_or(first)
        .replace(" (below)", "")
        .replace('`', "")
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().collect::<String>() + chars.as_str()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{planner, scenario};

    #[test]
    fn every_clouds_starter_loads_and_plans() {
        let catalog = Catalog::embedded();
        for cloud in Cloud::ALL {
            let text = starter(&catalog, cloud, None).unwrap();
            let scenario = scenario::load(&text, DEFAULT_FILE, &catalog)
                .unwrap_or_else(|d| panic!("{cloud}: {d:#?}\n{text}"));
            assert_eq!(scenario.cloud, cloud);
            assert_eq!(scenario.workspaces[0].region, example_region(cloud));
            planner::plan(&scenario, &catalog).unwrap_or_else(|d| panic!("{cloud}: {d:#?}"));
        }
    }

    #[test]
    fn uncommenting_every_option_still_loads() {
        // Removing the first `# ` of every option line turns each default on as written:
        // the commented-out blocks must be valid YAML at their nesting.
        let catalog = Catalog::embedded();
        let text = starter(&catalog, Cloud::Public, None).unwrap();
        let uncommented: String = text.lines().map(|line| uncomment(line) + "\n").collect();
        let result = scenario::load(&uncommented, DEFAULT_FILE, &catalog);
        assert!(result.is_ok(), "{result:#?}\n{uncommented}");
    }

    /// `line` with its first `# ` removed when what follows is a key or a list item.
    pub(crate) fn uncomment(line: &str) -> String {
        let indent = line.len() - line.trim_start().len();
        let Some(rest) = line.trim_start().strip_prefix("# ") else {
            return line.to_owned();
        };
        let body = rest.trim_start();
        let is_option = body.starts_with("- ")
            || body.split_once(':').is_some_and(|(key, _)| {
                !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            });
        if is_option {
            format!("{}{rest}", &line[..indent])
        } else {
            line.to_owned()
        }
    }

    #[test]
    fn the_region_is_checked_like_the_decoder_does() {
        let catalog = Catalog::embedded();
        let text = starter(&catalog, Cloud::Public, Some("West Europe")).unwrap();
        assert!(text.contains("    region: westeurope\n"), "{text}");
        let error = starter(&catalog, Cloud::Public, Some("eastus3")).unwrap_err();
        assert_eq!(error.code.as_str(), "unknown-region");
        assert_eq!(error.help.as_deref(), Some("did you mean `eastus`?"));
        let error = starter(&catalog, Cloud::China, Some("eastus2")).unwrap_err();
        assert_eq!(error.code.as_str(), "region-not-in-cloud");
    }
}
