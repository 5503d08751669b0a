//! Repository hygiene and coverage: checks that keep the catalog, the diagnostics and the
//! golden cases honest.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use amlfw::catalog::{Catalog, EMBEDDED_FILES};
use amlfw::diagnostic::Code;
use amlfw::render::TEMPLATES;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir)
        .expect("directory exists")
        .filter_map(Result::ok)
    {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, extension, out);
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
}

fn golden_text(name: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root().join("golden"))
        .expect("golden/")
        .filter_map(Result::ok)
    {
        let path = entry.path().join(name);
        if let Ok(text) = fs::read_to_string(&path) {
            out.push((entry.file_name().to_string_lossy().into_owned(), text));
        }
    }
    out
}

#[test]
fn every_catalog_file_is_embedded() {
    let mut on_disk = Vec::new();
    files_under(&root().join("catalog"), "yaml", &mut on_disk);
    let on_disk: BTreeSet<String> = on_disk
        .iter()
        .map(|p| {
            p.strip_prefix(root().join("catalog"))
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let embedded: BTreeSet<String> = EMBEDDED_FILES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    assert_eq!(
        on_disk, embedded,
        "catalog/ and catalog::EMBEDDED_FILES differ"
    );
}

/// Every requirement of every revision is selected by at least one golden case of that
/// revision: its id appears in the case's plan (a rule or a skipped line) or warnings.
#[test]
fn every_catalog_requirement_is_exercised_by_a_golden_case() {
    let catalog = Catalog::embedded();
    let plans = golden_text("plan.json");
    let mut uncovered = Vec::new();
    for requirement in &catalog.requirements {
        for revision in &requirement.revisions {
            let needle = format!("\"{}\"", requirement.id);
            let manual = format!("`{}`", requirement.id);
            let covered = plans.iter().any(|(case, json)| {
                let warnings =
                    fs::read_to_string(root().join("golden").join(case).join("warnings.txt"))
                        .unwrap_or_default();
                json.contains(&format!("\"catalog\": \"{revision}\""))
                    && (json.contains(&needle) || warnings.contains(&manual))
            });
            if !covered {
                uncovered.push(format!("{} ({revision})", requirement.id));
            }
        }
    }
    assert!(
        uncovered.is_empty(),
        "requirements no golden case selects: {uncovered:#?}"
    );
}

/// Every diagnostic code is produced somewhere a reviewer can see it: an error case's
/// stderr.txt, a case's warnings.txt, or a CLI golden file.
#[test]
fn every_diagnostic_code_has_a_golden_case() {
    let mut texts: Vec<String> = golden_text("stderr.txt")
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    texts.extend(golden_text("warnings.txt").into_iter().map(|(_, t)| t));
    let mut cli = Vec::new();
    files_under(&root().join("golden").join("_cli"), "txt", &mut cli);
    files_under(&root().join("golden").join("_audit"), "txt", &mut cli);
    texts.extend(cli.iter().map(|p| fs::read_to_string(p).unwrap()));
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|code| code.as_str())
        .filter(|code| !texts.iter().any(|text| text.contains(&format!("[{code}]"))))
        .collect();
    assert!(
        missing.is_empty(),
        "codes no golden file shows: {missing:?}"
    );
}

#[test]
fn no_debugging_leftovers_in_sources() {
    let mut files = Vec::new();
    files_under(&root().join("src"), "rs", &mut files);
    for path in files {
        let text = fs::read_to_string(&path).unwrap();
        for forbidden in ["dbg!(", "todo!(", "unimplemented!(", "XXX"] {
            assert!(
                !text.contains(forbidden),
                "{} contains {forbidden}",
                path.display()
            );
        }
    }
}

#[test]
fn golden_catalog_and_example_files_use_lf_and_end_with_a_newline() {
    let mut files = Vec::new();
    for (dir, extension) in [
        ("catalog", "yaml"),
        ("examples", "yaml"),
        ("golden", "txt"),
        ("golden", "json"),
        ("golden", "mmd"),
    ] {
        files_under(&root().join(dir), extension, &mut files);
    }
    for path in files {
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains('\r'),
            "{} has CR line endings",
            path.display()
        );
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{} lacks a final newline",
            path.display()
        );
    }
}

/// The README documents every scenario field and feature, so the reference cannot drift.
#[test]
fn readme_documents_every_scenario_field_and_feature() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    let mut missing = Vec::new();
    for field in amlfw::scenario::ALL_FIELDS
        .iter()
        .flat_map(|fields| fields.iter())
    {
        if !readme.contains(&format!("`{field}`")) {
            missing.push(*field);
        }
    }
    for (feature, _) in amlfw::scenario::FEATURES {
        if !readme.contains(&format!("`{feature}`")) {
            missing.push(feature);
        }
    }
    assert!(
        missing.is_empty(),
        "README.md does not mention: {missing:?}"
    );
}

/// Whether `case` holds the file of template `name`, or one of the files a per-region
/// template writes (`bicep/modules/nsg-rules.bicep` -> `nsg-rules-<region>.bicep`).
fn produces(case: &Path, name: &str) -> bool {
    let path = case.join(name);
    let (Some(dir), Some(stem), Some(extension)) =
        (path.parent(), path.file_stem(), path.extension())
    else {
        return false;
    };
    let (prefix, suffix) = (
        format!("{}-", stem.to_string_lossy()),
        format!(".{}", extension.to_string_lossy()),
    );
    path.is_file()
        || fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .any(|file| {
                let file = file.file_name().to_string_lossy().into_owned();
                file.starts_with(&prefix) && file.ends_with(&suffix)
            })
}

/// The renderer's fingerprint (part of the key `generate` records a run under) covers
/// every source file of `src/render/`: a file it missed could change the output without
/// changing the key, and `generate` would keep an older build's files.
#[test]
fn the_renderer_fingerprint_covers_every_renderer_source_file() {
    let covered: BTreeSet<String> = amlfw::render::renderer_sources()
        .map(str::to_owned)
        .collect();
    let on_disk: BTreeSet<String> = fs::read_dir(root().join("src/render"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| format!("render/{}", entry.file_name().to_string_lossy()))
        .collect();
    let missing: Vec<&String> = on_disk.difference(&covered).collect();
    assert!(missing.is_empty(), "not in RENDERER_SOURCES: {missing:?}");
    for path in &covered {
        assert!(
            root().join("src").join(path).is_file(),
            "{path} does not exist"
        );
    }
    assert!(
        covered.contains("../Cargo.lock"),
        "the dependencies' versions"
    );
}

/// Every file under `templates/` is registered, and every registered template produces a
/// file in at least one golden case.
#[test]
fn every_template_is_registered_and_used() {
    let mut on_disk = Vec::new();
    files_under(&root().join("templates"), "tera", &mut on_disk);
    let on_disk: BTreeSet<String> = on_disk
        .iter()
        .map(|p| {
            p.strip_prefix(root().join("templates"))
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
                .trim_end_matches(".tera")
                .to_owned()
        })
        .collect();
    let registered: BTreeSet<String> = TEMPLATES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    assert_eq!(
        on_disk, registered,
        "templates/ and render::TEMPLATES differ"
    );
    // Templates no golden case can produce with the embedded catalog, and the test that
    // renders them instead.
    let not_in_golden = [(
        "terraform/moved.tf",
        "only a requirement the catalog renamed gives one, and none is: tests/upgrade.rs renders it with a custom catalog",
    )];
    for name in &registered {
        if not_in_golden.iter().any(|(template, _)| template == name) {
            continue;
        }
        // A partial is no file of its own: it is used when a template that includes it is.
        if let Some((target, partial)) = name.split_once("/partials/") {
            let included = format!("{{%- include \"{target}/partials/{partial}\" %}}");
            let includers: Vec<&str> = TEMPLATES
                .iter()
                .filter(|(_, text)| text.contains(&included))
                .map(|(includer, _)| *includer)
                .collect();
            assert!(!includers.is_empty(), "no template includes {name}");
            continue;
        }
        let used = fs::read_dir(root().join("golden"))
            .unwrap()
            .filter_map(Result::ok)
            .any(|case| produces(&case.path(), name));
        assert!(used, "no golden case produces {name}");
    }
}
