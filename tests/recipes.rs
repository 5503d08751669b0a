//! The README's landing-zone recipes work as written: `amlfw generate` writes the hub and spoke
//! modules, and the two root configurations of `tests/fixtures/landing-zone/` (which README
//! prints verbatim, each after a `<!-- recipe: PATH -->` marker) call them with exactly the
//! inputs they declare, from where the recipe puts them. `.ci/plan-layouts` applies the same
//! roots with Terraform; this test needs neither Terraform nor ../shared.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use hcl::Expression;

/// The generated modules the recipe's roots call, and the files each root needs in them.
const PARTS: [(&str, &[&str]); 2] = [
    (
        "hub",
        &["main.tf", "outputs.tf", "terraform.tf", "variables.tf"],
    ),
    (
        "spoke",
        &[
            "main.nsg.tf",
            "main.route_table.tf",
            "terraform.tf",
            "variables.tf",
        ],
    ),
];

/// Arguments of a `module` block that are Terraform's, not the module's inputs.
const META_ARGUMENTS: [&str; 6] = [
    "source",
    "version",
    "providers",
    "depends_on",
    "count",
    "for_each",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(part: &str) -> String {
    fs::read_to_string(root().join(format!("tests/fixtures/landing-zone/{part}/main.tf"))).unwrap()
}

/// The recipe's repository layout in a fresh directory: the two roots in `hub/` and `spoke/`,
/// and `amlfw generate examples/landing-zone.yaml --out azureml-firewall` beside them, run as
/// README says (from the repository root, with the example's relative path).
fn recipe_work(name: &str) -> PathBuf {
    let work = std::env::temp_dir().join(format!("amlfw-recipes-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    for (part, _) in PARTS {
        fs::create_dir_all(work.join(part)).unwrap();
        fs::write(work.join(part).join("main.tf"), fixture(part)).unwrap();
    }
    let output = Command::new(env!("CARGO_BIN_EXE_amlfw"))
        .current_dir(root())
        .args(["generate", "examples/landing-zone.yaml", "--out"])
        .arg(work.join("azureml-firewall"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "amlfw generate exited {:?}:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    work
}

/// What a module declares: each variable with whether it is required (has no default), and
/// its outputs.
#[derive(Default)]
struct Interface {
    variables: BTreeMap<String, bool>,
    outputs: BTreeSet<String>,
}

fn interface(dir: &Path) -> Result<Interface, String> {
    let mut found = Interface::default();
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        if path.extension().is_none_or(|e| e != "tf") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let body = hcl::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for block in body.blocks() {
            let Some(label) = block.labels().first() else {
                continue;
            };
            match block.identifier() {
                "variable" => {
                    let required = !block.body().attributes().any(|a| a.key() == "default");
                    found.variables.insert(label.as_str().to_owned(), required);
                }
                "output" => {
                    found.outputs.insert(label.as_str().to_owned());
                }
                _ => {}
            }
        }
    }
    Ok(found)
}

/// One `module` block of a root: its name and the directory its `source` resolves to.
struct ModuleCall {
    name: String,
    dir: PathBuf,
}

/// The module calls of a root configuration in `root_dir` (where its `source` paths resolve
/// from), and every way they do not fit the modules there: an unresolved source, an argument
/// the module does not declare, a required variable not passed, an output it does not have.
fn module_calls(root_text: &str, root_dir: &Path) -> (Vec<ModuleCall>, Vec<String>) {
    let mut calls = Vec::new();
    let mut problems = Vec::new();
    let body = match hcl::parse(root_text) {
        Ok(body) => body,
        Err(e) => return (calls, vec![format!("not valid HCL: {e}")]),
    };
    for block in body.blocks().filter(|b| b.identifier() == "module") {
        let name = block.labels().first().map_or("", |l| l.as_str()).to_owned();
        let source = block.body().attributes().find(|a| a.key() == "source");
        let Some(Expression::String(source)) = source.map(|a| a.expr()) else {
            problems.push(format!("module {name}: no literal source"));
            continue;
        };
        let dir = root_dir.join(source);
        let module = match interface(&dir) {
            Ok(module) if !module.variables.is_empty() || !module.outputs.is_empty() => module,
            Ok(_) | Err(_) => {
                problems.push(format!(
                    "module {name}: source {source} does not resolve to a generated module ({})",
                    dir.display()
                ));
                continue;
            }
        };
        let passed: BTreeSet<&str> = block
            .body()
            .attributes()
            .map(|a| a.key())
            .filter(|key| !META_ARGUMENTS.contains(key))
            .collect();
        for argument in &passed {
            if !module.variables.contains_key(*argument) {
                problems.push(format!(
                    "module {name}: passes `{argument}`, which {source} does not declare"
                ));
            }
        }
        for (variable, required) in &module.variables {
            if *required && !passed.contains(variable.as_str()) {
                problems.push(format!(
                    "module {name}: does not pass `{variable}`, which {source} requires (no default)"
                ));
            }
        }
        let prefix = format!("module.{name}.");
        for (at, _) in root_text.match_indices(&prefix) {
            let output: String = root_text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !module.outputs.contains(&output) {
                problems.push(format!(
                    "module {name}: the root reads output `{output}`, which {source} does not have"
                ));
            }
        }
        calls.push(ModuleCall { name, dir });
    }
    if calls.is_empty() && problems.is_empty() {
        problems.push("calls no module".to_owned());
    }
    (calls, problems)
}

/// Every `<!-- recipe: PATH -->` marker of a README and the fenced code block that must follow
/// it: how many markers there are, and each block that is missing or differs from the file
/// (`read` gives a file's text by its repository path).
fn recipe_problems(readme: &str, read: &dyn Fn(&str) -> Option<String>) -> (usize, Vec<String>) {
    let lines: Vec<(usize, &str)> = readme
        .split_inclusive('\n')
        .scan(0, |offset, line| {
            let start = *offset;
            *offset += line.len();
            Some((start, line))
        })
        .collect();
    let mut markers = 0;
    let mut problems = Vec::new();
    for (index, (_, line)) in lines.iter().enumerate() {
        let Some(path) = line
            .trim()
            .strip_prefix("<!-- recipe:")
            .and_then(|rest| rest.strip_suffix("-->"))
            .map(str::trim)
        else {
            continue;
        };
        markers += 1;
        let at = format!("README line {}: recipe {path}", index + 1);
        let mut next = index + 1;
        while next < lines.len() && lines[next].1.trim().is_empty() {
            next += 1;
        }
        let Some(opening) = lines.get(next).map(|(_, l)| l.trim_end()) else {
            problems.push(format!("{at}: no code block follows the marker"));
            continue;
        };
        let fence_char = opening.chars().next().filter(|c| *c == '`' || *c == '~');
        let fence_len = opening
            .chars()
            .take_while(|c| Some(*c) == fence_char)
            .count();
        if fence_char.is_none() || fence_len < 3 {
            problems.push(format!("{at}: no code block follows the marker"));
            continue;
        }
        let fence_char = fence_char.unwrap();
        let closing = lines[next + 1..].iter().find(|(_, l)| {
            let l = l.trim();
            l.len() >= fence_len && l.chars().all(|c| c == fence_char)
        });
        let Some((end, _)) = closing else {
            problems.push(format!("{at}: the code block is never closed"));
            continue;
        };
        let start = lines.get(next + 1).map_or(readme.len(), |(s, _)| *s);
        let block = &readme[start..*end];
        match read(path) {
            None => problems.push(format!("{at}: no such file")),
            Some(file) if file != block => {
                let line = file
                    .lines()
                    .zip(block.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| file.lines().count().min(block.lines().count()));
                problems.push(format!(
                    "{at}: the block differs from the file (first at the file's line {})",
                    line + 1
                ));
            }
            Some(_) => {}
        }
    }
    (markers, problems)
}

fn read_repository_file(path: &str) -> Option<String> {
    fs::read_to_string(root().join(path)).ok()
}

#[test]
fn the_landing_zone_recipe_writes_both_modules_and_its_roots_fit_them() {
    let work = recipe_work("fit");
    let mut problems = Vec::new();
    for (part, files) in PARTS {
        let module_dir = work.join("azureml-firewall").join(part).join("terraform");
        for file in files {
            assert!(
                module_dir.join(file).is_file(),
                "amlfw generate wrote no {part}/terraform/{file}"
            );
        }
        let (calls, found) = module_calls(&fixture(part), &work.join(part));
        problems.extend(found.into_iter().map(|p| format!("{part}/main.tf: {p}")));
        // Each root applies its own part only: the hub never the spoke module, nor the reverse.
        let called: Vec<PathBuf> = calls
            .iter()
            .map(|c| c.dir.canonicalize().unwrap())
            .collect();
        assert_eq!(
            called,
            [module_dir.canonicalize().unwrap()],
            "{part}/main.tf must call exactly the generated {part} module ({:?})",
            calls.iter().map(|c| &c.name).collect::<Vec<_>>()
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    fs::remove_dir_all(&work).unwrap();
}

#[test]
fn a_root_that_no_longer_fits_its_module_is_refused() {
    let work = recipe_work("misfit");
    let hub = fixture("hub");
    let spoke = fixture("spoke");
    let source = "  source = \"../azureml-firewall/spoke/terraform\"\n";
    assert!(
        spoke.contains(source),
        "the spoke fixture's source line moved"
    );
    let cases = [
        (
            "spoke",
            spoke.replace(source, &format!("{source}  nsg_name_prefix = \"nsg\"\n")),
            "passes `nsg_name_prefix`, which ../azureml-firewall/spoke/terraform does not declare",
        ),
        (
            "hub",
            hub.replace(
                "  firewall_policy_id = azurerm_firewall_policy.hub.id\n",
                "",
            ),
            "does not pass `firewall_policy_id`",
        ),
        (
            "hub",
            hub.replace(
                "../azureml-firewall/hub/terraform",
                "../azureml-firewall/terraform",
            ),
            "source ../azureml-firewall/terraform does not resolve",
        ),
        (
            "hub",
            hub.replace(
                "module.azureml_firewall_rules.rule_collection_group_id",
                "module.azureml_firewall_rules.network_security_group_ids",
            ),
            "reads output `network_security_group_ids`",
        ),
        ("spoke", "module \"broken\" {".to_owned(), "not valid HCL"),
    ];
    for (part, text, expected) in cases {
        let (_, problems) = module_calls(&text, &work.join(part));
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected {expected:?} for {part}, got {problems:?}"
        );
    }
    fs::remove_dir_all(&work).unwrap();
}

#[test]
fn readme_recipe_blocks_equal_their_fixtures() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let (markers, problems) = recipe_problems(&readme, &read_repository_file);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The landing-zone section shows both roots: a marker dropped from README (and with it
    // the check of its block) fails here.
    assert!(
        markers >= 2,
        "README.md has {markers} recipe block(s), expected the hub and the spoke root"
    );
}

#[test]
fn a_recipe_block_that_differs_from_its_file_is_refused() {
    let path = "tests/fixtures/landing-zone/hub/main.tf";
    let file = read_repository_file(path).unwrap();
    let readme = |block: &str| {
        format!("# Recipes\n\n<!-- recipe: {path} -->\n```hcl\n{block}```\n\nMore.\n")
    };

    assert_eq!(
        recipe_problems(&readme(&file), &read_repository_file),
        (1, vec![])
    );
    let edited = file.replacen("fwp-hub", "fwp-hub-1", 1);
    let (_, problems) = recipe_problems(&readme(&edited), &read_repository_file);
    assert!(
        problems.len() == 1 && problems[0].contains("differs from the file"),
        "{problems:?}"
    );
    // One byte more (a blank line before the fence) is a difference too.
    let (_, problems) = recipe_problems(&readme(&format!("{file}\n")), &read_repository_file);
    assert!(
        problems.len() == 1 && problems[0].contains("differs"),
        "{problems:?}"
    );
    let no_block = format!("<!-- recipe: {path} -->\nSee the file.\n");
    let (_, problems) = recipe_problems(&no_block, &read_repository_file);
    assert!(
        problems.len() == 1 && problems[0].contains("no code block follows"),
        "{problems:?}"
    );
    let unclosed = format!("<!-- recipe: {path} -->\n```hcl\n{file}");
    let (_, problems) = recipe_problems(&unclosed, &read_repository_file);
    assert!(
        problems.len() == 1 && problems[0].contains("never closed"),
        "{problems:?}"
    );
    let missing = readme(&file).replace(path, "tests/fixtures/landing-zone/gone/main.tf");
    let (_, problems) = recipe_problems(&missing, &read_repository_file);
    assert!(
        problems.len() == 1 && problems[0].contains("no such file"),
        "{problems:?}"
    );
    assert_eq!(
        recipe_problems("# No recipes\n", &read_repository_file),
        (0, vec![])
    );
}
