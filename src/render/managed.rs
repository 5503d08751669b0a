//! The managed-network modules: `managed/terraform/` (azurerm workspace outbound rule
//! resources) and `managed/bicep/` (`Microsoft.MachineLearningServices/workspaces/
//! outboundRules`), from the plan's `managed_rules`. View models here, printing in
//! `templates/managed/`; Azure's own (`automatic`) rules only in the READMEs.

use serde::Serialize;

use super::{
    GENERATED_HEADER, RenderError, RenderedFiles, TemplateSet, engine, filters, render_template,
};
use crate::plan::{ManagedKind, ManagedRule, Plan};

/// The outbound rules API version the Bicep module uses (a stable version the type data
/// of `../shared/validate/schema/bicep-types-network.json` holds).
const API_VERSION: &str = "2025-06-01";

#[derive(Serialize)]
struct RuleView {
    key: String,
    workspace: String,
    name: String,
    kind: &'static str,
    destination: String,
    protocol: String,
    ports: String,
    why: String,
    symbol: String,
}

#[derive(Serialize)]
struct WorkspaceView {
    name: String,
    symbol: String,
    deployment: String,
    module_path: String,
    needs_storage: bool,
    rules: Vec<RuleView>,
}

#[derive(Serialize)]
struct Model {
    header: String,
    source: String,
    api_version: &'static str,
    workspace_description: String,
    workspace_missing: String,
    workspace_keys: Vec<String>,
    storage_description: String,
    storage_missing: String,
    storage_keys: Vec<String>,
    fqdn_rules: Vec<RuleView>,
    private_endpoint_rules: Vec<RuleView>,
    service_tag_rules: Vec<RuleView>,
    workspaces: Vec<WorkspaceView>,
    written: String,
    automatic: String,
}

/// A Bicep identifier from a name of letters, digits, `-` and `_`.
fn symbol(prefix: &str, name: &str) -> String {
    let body: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{prefix}{body}")
}

fn view(rule: &ManagedRule) -> RuleView {
    RuleView {
        key: format!("{}/{}", rule.workspace, rule.name),
        workspace: rule.workspace.clone(),
        name: rule.name.clone(),
        kind: rule.kind.as_str(),
        destination: rule.destinations.join(","),
        protocol: rule.protocol.clone().unwrap_or_default(),
        ports: rule.ports.join(","),
        why: format!("{}: {} ({})", rule.requirement, rule.purpose, rule.section),
        symbol: symbol("rule_", &rule.name),
    }
}

fn table(rules: &[&ManagedRule]) -> String {
    if rules.is_empty() {
        return "None.".to_owned();
    }
    let mut text = "| workspace | kind | name | destinations | requirement | article section | purpose |\n|---|---|---|---|---|---|---|\n".to_owned();
    for rule in rules {
        let mut destinations = rule.destinations.join(", ");
        if let Some(resource) = &rule.resource {
            destinations = format!("{resource} {destinations}");
        }
        if let Some(protocol) = &rule.protocol {
            destinations = format!("{destinations} {protocol} {}", rule.ports.join(","));
        }
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            filters::markdown_code_cell(&rule.workspace),
            rule.kind.as_str(),
            filters::markdown_code_cell(&rule.name),
            filters::markdown_cell(&destinations),
            filters::markdown_code_cell(&rule.requirement),
            filters::markdown_cell(&rule.section),
            filters::markdown_cell(&rule.purpose),
        ));
    }
    text.trim_end().to_owned()
}

fn model(plan: &Plan, header: String) -> Model {
    let user: Vec<&ManagedRule> = plan
        .managed_rules
        .iter()
        .filter(|r| r.kind != ManagedKind::Automatic)
        .collect();
    let automatic: Vec<&ManagedRule> = plan
        .managed_rules
        .iter()
        .filter(|r| r.kind == ManagedKind::Automatic)
        .collect();
    let of = |kind: ManagedKind| -> Vec<RuleView> {
        user.iter()
            .filter(|r| r.kind == kind)
            .map(|r| view(r))
            .collect()
    };
    let workspace_keys: Vec<String> = plan
        .managed_workspaces
        .iter()
        .map(|w| w.name.clone())
        .collect();
    let storage_keys: Vec<String> = plan
        .managed_workspaces
        .iter()
        .filter(|w| {
            user.iter()
                .any(|r| r.workspace == w.name && r.kind == ManagedKind::ManagedPrivateEndpoint)
        })
        .map(|w| w.name.clone())
        .collect();
    let workspaces = plan
        .managed_workspaces
        .iter()
        .map(|w| WorkspaceView {
            name: w.name.clone(),
            symbol: symbol("outbound_", &w.name),
            deployment: format!("amlfw-outbound-{}", w.name),
            module_path: format!("modules/outbound-rules-{}.bicep", w.name),
            needs_storage: storage_keys.contains(&w.name),
            rules: user
                .iter()
                .filter(|r| r.workspace == w.name)
                .map(|r| view(r))
                .collect(),
        })
        .collect();
    Model {
        header,
        source: plan.managed_catalog.clone().unwrap_or_default(),
        api_version: API_VERSION,
        workspace_description: format!(
            "Resource IDs of the workspaces with a managed virtual network, by workspace name: {}. The outbound rules are created on them.",
            workspace_keys.join(", ")
        ),
        workspace_missing: format!(
            "The workspace_ids map must name every managed-network workspace of the scenario: {}.",
            workspace_keys.join(", ")
        ),
        workspace_keys,
        storage_description: format!(
            "Resource IDs of the default storage accounts the private endpoint rules target, by workspace name: {}.",
            storage_keys.join(", ")
        ),
        storage_missing: format!(
            "The storage_account_ids map must name the storage account of: {}.",
            storage_keys.join(", ")
        ),
        storage_keys,
        fqdn_rules: of(ManagedKind::ManagedFqdn),
        private_endpoint_rules: of(ManagedKind::ManagedPrivateEndpoint),
        service_tag_rules: of(ManagedKind::ManagedServiceTag),
        workspaces,
        written: table(&user),
        automatic: table(&automatic),
    }
}

/// `managed/terraform/`: nothing when the plan has no managed workspace.
pub fn render_terraform(plan: &Plan) -> Result<RenderedFiles, RenderError> {
    let mut files = RenderedFiles::new();
    if plan.managed_workspaces.is_empty() {
        return Ok(files);
    }
    let tera = engine(TemplateSet::Managed);
    let hcl = model(plan, format!("# {GENERATED_HEADER}"));
    for name in ["terraform.tf", "variables.tf", "main.tf"] {
        let path = format!("managed/terraform/{name}");
        let text = render_template(tera, &path, &hcl)?;
        files.insert(path, filters::align_hcl(&text));
    }
    let markdown = model(plan, GENERATED_HEADER.to_owned());
    let path = "managed/terraform/README.md";
    files.insert(path.to_owned(), render_template(tera, path, &markdown)?);
    Ok(files)
}

/// `managed/bicep/`: `main.bicep`, a module per workspace and the README.
pub fn render_bicep(plan: &Plan) -> Result<RenderedFiles, RenderError> {
    let mut files = RenderedFiles::new();
    if plan.managed_workspaces.is_empty() {
        return Ok(files);
    }
    let tera = engine(TemplateSet::Managed);
    let bicep = model(plan, format!("// {GENERATED_HEADER}"));
    let path = "managed/bicep/main.bicep";
    files.insert(path.to_owned(), render_template(tera, path, &bicep)?);
    #[derive(Serialize)]
    struct One<'m> {
        header: &'m str,
        api_version: &'static str,
        workspace: &'m WorkspaceView,
    }
    for workspace in &bicep.workspaces {
        let text = render_template(
            tera,
            "managed/bicep/modules/outbound-rules.bicep",
            &One {
                header: &bicep.header,
                api_version: API_VERSION,
                workspace,
            },
        )?;
        files.insert(format!("managed/bicep/{}", workspace.module_path), text);
    }
    let markdown = model(plan, GENERATED_HEADER.to_owned());
    let path = "managed/bicep/README.md";
    files.insert(path.to_owned(), render_template(tera, path, &markdown)?);
    Ok(files)
}

/// The managed-network section of `amlfw plan --format markdown`: empty without managed
/// workspaces, so hub-only plans print as before.
#[must_use]
pub fn plan_markdown(plan: &Plan) -> String {
    if plan.managed_workspaces.is_empty() {
        return String::new();
    }
    let rules: Vec<&ManagedRule> = plan.managed_rules.iter().collect();
    let workspaces: Vec<String> = plan
        .managed_workspaces
        .iter()
        .map(|w| {
            format!(
                "{} ({})",
                filters::markdown_code(&w.name),
                w.isolation.as_str()
            )
        })
        .collect();
    format!(
        "\n**Managed virtual network** ({}): {}; `automatic` rules are Azure's own, never written.\n\n{}\n",
        filters::markdown_code(plan.managed_catalog.as_deref().unwrap_or_default()),
        workspaces.join(", "),
        table(&rules)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    const SCENARIO: &str = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw-a\n    region: eastus2\n    storage_account: sta01\n    managed_network: {}\n    features: [python, batch-endpoints]\n";

    fn plan() -> Plan {
        let catalog = Catalog::embedded();
        let scenario = crate::scenario::load(SCENARIO, "s.yaml", &catalog).unwrap();
        crate::planner::plan(&scenario, &catalog).unwrap()
    }

    /// No catalog entry asks for a service tag rule today; a plan that has one renders
    /// it in both modules with its protocol and ports.
    #[test]
    fn service_tag_rules_render_in_both_modules() {
        let mut plan = plan();
        plan.managed_rules.push(ManagedRule {
            workspace: "mlw-a".to_owned(),
            kind: ManagedKind::ManagedServiceTag,
            name: "datafactory".to_owned(),
            destinations: vec!["DataFactory".to_owned()],
            resource: None,
            protocol: Some("TCP".to_owned()),
            ports: vec!["80".to_owned(), "8080-8089".to_owned()],
            requirement: "test".to_owned(),
            section: "test".to_owned(),
            purpose: "test".to_owned(),
        });
        let terraform = render_terraform(&plan).unwrap();
        let main = &terraform["managed/terraform/main.tf"];
        assert!(
            main.contains("azurerm_machine_learning_workspace_network_outbound_rule_service_tag")
        );
        assert!(main.contains("port_ranges = \"80,8080-8089\""), "{main}");
        let bicep = render_bicep(&plan).unwrap();
        let module = &bicep["managed/bicep/modules/outbound-rules-mlw-a.bicep"];
        assert!(
            module.contains("type: 'ServiceTag'") && module.contains("serviceTag: 'DataFactory'")
        );
    }

    /// Without managed workspaces, nothing; the default isolation is approved outbound.
    #[test]
    fn only_managed_workspaces_get_modules() {
        let plan = plan();
        assert_eq!(
            plan.managed_workspaces[0].isolation,
            crate::scenario::Isolation::AllowOnlyApprovedOutbound
        );
        let mut hub_only = plan.clone();
        hub_only.managed_workspaces.clear();
        hub_only.managed_rules.clear();
        assert!(render_terraform(&hub_only).unwrap().is_empty());
        assert!(render_bicep(&hub_only).unwrap().is_empty());
        assert!(
            render_terraform(&plan)
                .unwrap()
                .contains_key("managed/terraform/main.tf")
        );
    }
}
