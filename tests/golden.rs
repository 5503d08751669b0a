//! The data-driven golden test: every `golden/<case>/` directory is both a fixture and a
//! literal output directory.
//!
//! - A normal case holds `scenario.yaml` and what `amlfw plan` prints for it:
//!   `plan.txt` (text), `plan.json` (`--format json`), `plan.mmd` (`--format mermaid`,
//!   checked by `.ci/check-mermaid` with Mermaid's own parser) and `warnings.txt` (stderr, only
//!   when there are warnings), plus exactly what `amlfw generate --out golden/<case>`
//!   writes: `terraform/*` and `bicep/*` (and `allowlist/*` for the cases that have an
//!   `allowlist/` directory, with `--target allowlist`), and `amlfw-manifest.json`, the
//!   provenance record (amlfw version, catalog revision, scenario hash) of those files.
//! - An `err-*` case holds `scenario.yaml` and `stderr.txt`, the diagnostics exactly as
//!   printed; the command must exit with code 2.
//! - `golden/<example>/scenario.yaml` is a copy of `examples/<example>.yaml`, so every
//!   example is a case; the test fails if the copy drifts.
//!
//! Files are compared in both directions: changed, missing and stale (present but no
//! longer produced). All failures are collected and shown with unified diffs.
//! `UPDATE_GOLDEN=1 cargo test --test golden` rewrites them (refused when `CI` is set);
//! `GOLDEN_CASE=<substring>` runs matching cases only.

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use amlfw::catalog::Catalog;
use amlfw::cli::{PlanFormat, generate_files, plan_output};
use amlfw::output;
use amlfw::planner::AddressOptions;
use amlfw::render::Target;
use amlfw::service_tags::ServiceTagFile;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases() -> Vec<String> {
    let filter = std::env::var("GOLDEN_CASE").unwrap_or_default();
    let mut names: Vec<String> = fs::read_dir(root().join("golden"))
        .expect("golden/ exists")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('_') && name.contains(&filter))
        .collect();
    names.sort();
    names
}

/// The catalog of a case: the built-in one, plus `golden/<case>/extra-requirements.yaml`
/// when the case has one (how the lint cases add deliberately broad requirements).
fn case_catalog(case: &str, builtin: &Catalog) -> Result<Catalog, String> {
    let Ok(extra) = fs::read_to_string(
        root()
            .join("golden")
            .join(case)
            .join("extra-requirements.yaml"),
    ) else {
        return Ok(builtin.clone());
    };
    let mut files: Vec<(String, String)> = amlfw::catalog::EMBEDDED_FILES
        .iter()
        .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
        .collect();
    files.push(("requirements/zz-golden.yaml".to_owned(), extra));
    Catalog::load(&files, "catalog").map_err(|d| format!("{case}: extra-requirements.yaml: {d:?}"))
}

/// What the case directory should hold besides `scenario.yaml`.
fn expected_files(case: &str, builtin: &Catalog) -> Result<BTreeMap<String, String>, String> {
    let catalog = &case_catalog(case, builtin)?;
    let scenario = root().join("golden").join(case).join("scenario.yaml");
    let bytes =
        fs::read(&scenario).map_err(|e| format!("{case}: cannot read scenario.yaml: {e}"))?;
    let display = format!("golden/{case}/scenario.yaml");
    // A case may name a service tag file (a fixture path relative to the repository) in
    // `golden/<case>/service-tags`, as `--service-tags` does on the command line.
    let tag_path = fs::read_to_string(root().join("golden").join(case).join("service-tags")).ok();
    let tag_bytes = tag_path.as_ref().map(|path| {
        fs::read(root().join(path.trim())).expect("the fixture named in service-tags exists")
    });
    let tag_name = tag_path
        .as_ref()
        .and_then(|path| {
            Path::new(path.trim())
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let tag_file = tag_bytes
        .as_deref()
        .map(|bytes| ServiceTagFile::parse(bytes, &tag_name).expect("fixture parses"));
    let options = AddressOptions {
        service_tags: tag_file.as_ref(),
        allow_global_tags: root()
            .join("golden")
            .join(case)
            .join("allow-global-tags")
            .exists(),
    };
    let text = plan_output(&bytes, &display, catalog, options, PlanFormat::Text);
    let mut files = BTreeMap::new();
    if case.starts_with("err-") {
        if text.code != 2 {
            return Err(format!(
                "{case}: expected exit code 2 (an error case), got {}",
                text.code
            ));
        }
        files.insert("stderr.txt".to_owned(), text.stderr);
        return Ok(files);
    }
    if text.code != 0 {
        return Err(format!(
            "{case}: expected success, got exit code {}:\n{}",
            text.code, text.stderr
        ));
    }
    let json = plan_output(&bytes, &display, catalog, options, PlanFormat::Json);
    files.insert("plan.txt".to_owned(), text.stdout);
    files.insert("plan.json".to_owned(), json.stdout);
    let mermaid = plan_output(&bytes, &display, catalog, options, PlanFormat::Mermaid);
    files.insert("plan.mmd".to_owned(), mermaid.stdout);
    if !text.stderr.is_empty() {
        files.insert("warnings.txt".to_owned(), text.stderr);
    }
    let generated = generate_files(&bytes, &display, catalog, options, Target::All)
        .map_err(|outcome| format!("{case}: generate failed:\n{}", outcome.stderr))?;
    let mut module = generated.files;
    // Cases opt into the allow-list target by having an `allowlist/` directory.
    if root().join("golden").join(case).join("allowlist").is_dir() {
        let allowlist = generate_files(&bytes, &display, catalog, options, Target::Allowlist)
            .map_err(|outcome| format!("{case}: allowlist failed:\n{}", outcome.stderr))?;
        module.extend(allowlist.files);
    }
    // The provenance record, reviewed like the files: what `generate` writes into a new
    // directory for every file above.
    files.insert(
        output::MANIFEST_FILE.to_owned(),
        output::manifest_text(&module, &generated.provenance),
    );
    files.extend(module);
    Ok(files)
}

/// Every file under the case directory except `scenario.yaml`, by relative path.
fn actual_files(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if !matches!(
                entry.file_name().to_str(),
                Some(
                    "scenario.yaml"
                        | "service-tags"
                        | "allow-global-tags"
                        | "extra-requirements.yaml"
                )
            ) {
                let relative = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let text = fs::read_to_string(&path)
                    .unwrap_or_default()
                    .replace("\r\n", "\n");
                out.insert(relative, text);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn golden_cases_match() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    if update && std::env::var_os("CI").is_some() {
        panic!(
            "UPDATE_GOLDEN=1 is refused when CI is set: golden files are reviewed, never rewritten by CI"
        );
    }
    let catalog = Catalog::embedded();
    let mut failures: Vec<String> = Vec::new();

    // Every example is a golden case with an identical scenario.yaml.
    let mut examples: Vec<PathBuf> = fs::read_dir(root().join("examples"))
        .expect("examples/ exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    examples.sort();
    for example in &examples {
        let stem = example
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let copy = root().join("golden").join(&stem).join("scenario.yaml");
        let source = fs::read_to_string(example).expect("example readable");
        if fs::read_to_string(&copy).ok().as_deref() != Some(source.as_str()) {
            if update {
                fs::create_dir_all(copy.parent().expect("has parent")).expect("create case dir");
                fs::write(&copy, &source).expect("write example copy");
            } else {
                failures.push(format!(
                    "golden/{stem}/scenario.yaml is not a copy of examples/{stem}.yaml"
                ));
            }
        }
    }

    let names = cases();
    assert!(!names.is_empty(), "no golden cases found");
    for case in &names {
        let dir = root().join("golden").join(case);
        let expected = match expected_files(case, &catalog) {
            Ok(files) => files,
            Err(message) => {
                failures.push(message);
                continue;
            }
        };
        // The comparison is `amlfw generate --check`'s own (output::check), so what this
        // test accepts is exactly what the drift gate accepts.
        // The manifest is one of `expected`, so it is compared as a file (`None`: no
        // second comparison with a manifest the driver would have to compute again).
        let drifts = match output::check(&dir, &expected, None) {
            Ok(drifts) => drifts,
            Err(problems) => {
                failures.push(format!("{case}: {problems:?}"));
                continue;
            }
        };
        for drift in drifts {
            if !update {
                failures.push(drift.unified_diff(false));
                continue;
            }
            match drift {
                output::Drift::Changed {
                    path, generated, ..
                }
                | output::Drift::Missing { path, generated } => {
                    fs::create_dir_all(path.parent().unwrap()).unwrap();
                    fs::write(path, generated).expect("write golden file");
                }
                output::Drift::Stale { path, .. } => {
                    fs::remove_file(path).expect("remove stale golden file")
                }
            }
        }
        // Files without the generated header (plan.txt, warnings.txt) that are no longer produced.
        for name in actual_files(&dir)
            .keys()
            .filter(|name| !expected.contains_key(*name))
        {
            if update {
                fs::remove_file(dir.join(name)).expect("remove stale golden file");
            } else {
                failures.push(format!("stale: golden/{case}/{name} is no longer produced"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden problem(s):\n\n{}\n\nrun UPDATE_GOLDEN=1 cargo test --test golden, then review git diff golden/",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn output_is_deterministic() {
    let catalog = Catalog::embedded();
    for case in cases().iter().filter(|c| !c.starts_with("err-")) {
        let first = expected_files(case, &catalog);
        let second = expected_files(case, &catalog);
        assert_eq!(first, second, "{case} differs between two runs");
    }
}

/// `scenario` with its `catalog:` set to `revision` (added after `version:` when absent).
fn with_catalog(scenario: &str, revision: &str) -> String {
    let line = format!("catalog: {revision}");
    let mut found = false;
    let mut lines: Vec<String> = scenario
        .lines()
        .map(|l| {
            if l.starts_with("catalog:") {
                found = true;
                line.clone()
            } else {
                l.to_owned()
            }
        })
        .collect();
    if !found {
        let at = lines
            .iter()
            .position(|l| l.starts_with("version:"))
            .map_or(0, |i| i + 1);
        lines.insert(at, line);
    }
    lines.join("\n") + "\n"
}

/// A catalog update's pull request is quiet: for every golden scenario generated under
/// the oldest and the newest revision, a file that differs differs below its first line
/// (in what it says about rules), never only in the header. Cases the oldest revision
/// cannot plan are skipped; at least one must be compared.
#[test]
fn a_catalog_update_changes_no_file_only_in_its_header() {
    let catalog = Catalog::embedded();
    let oldest = catalog.revisions.first().unwrap().id.clone();
    let mut compared = Vec::new();
    let mut noisy = Vec::new();
    for case in cases().iter().filter(|c| !c.starts_with("err-")) {
        let dir = root().join("golden").join(case);
        if dir.join("service-tags").exists() || dir.join("extra-requirements.yaml").exists() {
            continue;
        }
        let scenario = fs::read_to_string(dir.join("scenario.yaml")).unwrap();
        let render = |revision: &str| {
            let text = with_catalog(&scenario, revision);
            generate_files(
                text.as_bytes(),
                "scenario.yaml",
                &catalog,
                AddressOptions::default(),
                Target::All,
            )
            .ok()
        };
        let (Some(old), Some(new)) = (render(&oldest), render("latest")) else {
            continue;
        };
        let body = |text: &str| text.split_once('\n').map(|(_, rest)| rest.to_owned());
        let mut changed = 0;
        for (path, text) in &new.files {
            let Some(before) = old.files.get(path) else {
                continue;
            };
            if before != text {
                changed += 1;
                if body(before) == body(text) {
                    noisy.push(format!("{case}: {path}"));
                }
            }
        }
        compared.push(format!(
            "{case} ({changed} of {} files changed)",
            new.files.len()
        ));
    }
    assert!(!compared.is_empty(), "no case plans under {oldest}");
    assert!(
        noisy.is_empty(),
        "files that differ only in their header line between {oldest} and latest: {noisy:?}; compared: {compared:?}"
    );
}
