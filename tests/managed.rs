//! Workspaces with a managed virtual network (issue 17): the modules `generate` writes,
//! what they hold and never hold, traceability to the managed-network article, the
//! migration checklist of `amlfw diff`, and stale managed modules removed.

#![allow(clippy::unwrap_used)]

mod support;

use support::{amlfw, root};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use amlfw::catalog::Catalog;
use amlfw::catalog::managed::EntryKind;
use amlfw::plan::{ManagedKind, Plan};

fn plan_of(path: &str) -> Plan {
    let catalog = Catalog::embedded();
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    let scenario = amlfw::scenario::load(&text, path, &catalog).unwrap();
    amlfw::planner::plan(&scenario, &catalog).unwrap()
}

/// Every file under `dir`, relative to it, with its text.
fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((name, std::fs::read_to_string(&path).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

/// A fresh directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("amlfw-managed-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn managed_cases() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(root().join("golden"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("managed").is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    cases
}

/// The Done-when: the example writes both managed modules (and, all its
/// workspaces being managed, no hub module), the same as its golden case.
#[test]
fn generate_writes_both_managed_modules_for_the_example() {
    let out = TempDir::new("example");
    let dir = out.path().to_string_lossy().into_owned();
    let (code, _, stderr) = amlfw(&["generate", "examples/managed-network.yaml", "--out", &dir]);
    assert_eq!(code, 0, "{stderr}");
    let written = files_under(&out.path().join("managed"));
    let golden = files_under(&root().join("golden/managed-network/managed"));
    assert_eq!(written, golden, "the example and its golden case differ");
    for name in [
        "terraform/main.tf",
        "terraform/variables.tf",
        "bicep/main.bicep",
        "bicep/README.md",
    ] {
        assert!(written.iter().any(|(n, _)| n == name), "{name} missing");
    }
    assert!(
        !out.path().join("terraform").exists(),
        "a hub module was written"
    );
    assert!(
        !out.path().join("bicep").exists(),
        "a hub module was written"
    );
}

/// Each user-defined rule is in both modules under its Azure name, and each automatic rule
/// is in the READMEs and in neither module.
#[test]
fn modules_hold_the_user_defined_rules_and_never_the_automatic_ones() {
    let cases = managed_cases();
    assert!(cases.len() >= 2, "{cases:?}");
    for case in cases {
        let plan = plan_of(&format!("golden/{case}/scenario.yaml"));
        let dir = root().join("golden").join(&case).join("managed");
        let terraform = std::fs::read_to_string(dir.join("terraform/main.tf")).unwrap();
        let bicep: String = files_under(&dir.join("bicep"))
            .into_iter()
            .filter(|(n, _)| n.ends_with(".bicep"))
            .map(|(_, t)| t)
            .collect();
        let readmes = std::fs::read_to_string(dir.join("terraform/README.md")).unwrap()
            + &std::fs::read_to_string(dir.join("bicep/README.md")).unwrap();
        let terraform_names: Vec<&str> = terraform
            .lines()
            .filter_map(|l| l.split("name = \"").nth(1))
            .filter_map(|rest| rest.split('"').next())
            .collect();
        let user: Vec<&amlfw::plan::ManagedRule> = plan
            .managed_rules
            .iter()
            .filter(|r| r.kind != ManagedKind::Automatic)
            .collect();
        assert_eq!(
            terraform_names.len(),
            user.len(),
            "{case}: {terraform_names:?}"
        );
        for rule in &user {
            assert!(
                terraform_names.contains(&rule.name.as_str()),
                "{case}: {}",
                rule.name
            );
            assert!(
                bicep.contains(&format!("name: '{}'", rule.name)),
                "{case}: {}",
                rule.name
            );
            assert!(readmes.contains(&rule.name), "{case}: {}", rule.name);
        }
        for rule in plan
            .managed_rules
            .iter()
            .filter(|r| r.kind == ManagedKind::Automatic)
        {
            assert!(
                !terraform.contains(&rule.name),
                "{case}: {} written",
                rule.name
            );
            assert!(!bicep.contains(&rule.name), "{case}: {} written", rule.name);
            assert!(
                readmes.contains(&rule.name),
                "{case}: {} not in the READMEs",
                rule.name
            );
        }
    }
}

/// Every managed rule traces to an entry of the managed-network article (or the
/// scenario's own hosts), and every entry is selected by some golden case.
#[test]
fn every_rule_traces_to_the_article_and_every_entry_is_exercised() {
    let catalog = Catalog::embedded();
    let source = catalog
        .managed
        .source
        .as_ref()
        .expect("the managed-network source");
    assert!(source.source.contains("how-to-managed-network.md"));
    let ids: BTreeSet<&str> = catalog
        .managed
        .entries
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    let mut texts = String::new();
    for case in std::fs::read_dir(root().join("golden")).unwrap().flatten() {
        for file in ["plan.json", "warnings.txt", "stderr.txt"] {
            texts.push_str(&std::fs::read_to_string(case.path().join(file)).unwrap_or_default());
        }
    }
    for case in managed_cases() {
        let plan = plan_of(&format!("golden/{case}/scenario.yaml"));
        for rule in &plan.managed_rules {
            assert!(
                ids.contains(rule.requirement.as_str())
                    || rule.requirement == "scenario-extra-fqdns",
                "{case}: {} has no entry",
                rule.requirement
            );
            assert!(!rule.section.is_empty());
        }
    }
    let unexercised: Vec<&str> = catalog
        .managed
        .entries
        .iter()
        .map(|e| e.id.as_str())
        .filter(|id| !texts.contains(&format!("\"{id}\"")) && !texts.contains(&format!("`{id}`")))
        .collect();
    assert!(
        unexercised.is_empty(),
        "entries no golden case selects: {unexercised:?}"
    );
    assert!(
        catalog
            .managed
            .entries
            .iter()
            .any(|e| e.kind == EntryKind::Limit)
    );
}

/// A managed workspace gets no hub rule, and a hub workspace no managed rule.
#[test]
fn mixed_scenarios_keep_the_two_kinds_apart() {
    let plan = plan_of("golden/managed-mixed-hub/scenario.yaml");
    let hub: Vec<&str> = plan.workspaces.iter().map(|w| w.name.as_str()).collect();
    let managed: Vec<&str> = plan
        .managed_workspaces
        .iter()
        .map(|w| w.name.as_str())
        .collect();
    assert_eq!(hub, ["mlw-hub"]);
    assert_eq!(managed, ["mlw-approved", "mlw-internet"]);
    assert!(plan.rules.iter().all(|r| r.workspaces == ["mlw-hub"]));
    assert!(plan.managed_rules.iter().all(|r| r.workspace != "mlw-hub"));
    // Internet outbound: no FQDN rule, the private endpoint rules still.
    let internet: Vec<ManagedKind> = plan
        .managed_rules
        .iter()
        .filter(|r| r.workspace == "mlw-internet" && r.kind != ManagedKind::Automatic)
        .map(|r| r.kind)
        .collect();
    assert_eq!(internet, [ManagedKind::ManagedPrivateEndpoint; 2]);
}

/// `amlfw diff` from the hub workspace to the same workspace with `managed_network`: the
/// migration checklist (`UPDATE_GOLDEN=1` rewrites the golden file).
#[test]
fn diff_to_a_managed_network_is_a_migration_checklist() {
    let (code, stdout, stderr) = amlfw(&[
        "diff",
        "tests/fixtures/managed-migration/hub.yaml",
        "examples/managed-network.yaml",
        "--format",
        "markdown",
    ]);
    assert!(code == 0 || code == 1, "{stderr}");
    let golden = root().join("golden/_cli/diff-managed-migration.md");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &stdout).unwrap();
    }
    assert_eq!(stdout, std::fs::read_to_string(&golden).unwrap());
    for part in [
        "Migration checklist",
        "pypi-host: pypi.org → managed-fqdn managed-pypi",
        "BatchNodeManagement.EastUS2 → automatic auto-required-service-tags",
        "route route-default-to-firewall-eastus2",
        "managed-private-endpoint managed-batch-storage-queue",
    ] {
        assert!(stdout.contains(part), "missing {part:?}");
    }
}

/// A scenario that drops its managed workspaces leaves no managed module behind.
#[test]
fn dropping_the_managed_workspaces_removes_their_modules() {
    let out = TempDir::new("stale");
    let dir = out.path().to_string_lossy().into_owned();
    let (code, _, stderr) = amlfw(&[
        "generate",
        "golden/managed-mixed-hub/scenario.yaml",
        "--out",
        &dir,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(out.path().join("managed/terraform/main.tf").is_file());
    let (code, _, stderr) = amlfw(&["generate", "examples/minimal.yaml", "--out", &dir]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("removed managed/terraform/main.tf"),
        "{stderr}"
    );
    assert!(
        files_under(out.path())
            .iter()
            .all(|(n, _)| !n.starts_with("managed/"))
    );
}

/// Output is the same on every run.
#[test]
fn managed_modules_are_deterministic() {
    let plan = plan_of("golden/managed-mixed-hub/scenario.yaml");
    let first = amlfw::render::render(&plan, amlfw::render::Target::All, "s").unwrap();
    let second = amlfw::render::render(
        &plan_of("golden/managed-mixed-hub/scenario.yaml"),
        amlfw::render::Target::All,
        "s",
    )
    .unwrap();
    assert_eq!(first, second);
}
