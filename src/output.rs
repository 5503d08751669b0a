//! Writing generated files without ever losing a file amlfw did not write.
//!
//! The rule: a file whose first line carries the generated header ([`GENERATED_MARKER`]) is
//! amlfw's; every other file is the user's and is never modified or deleted. `write`
//! checks every target before touching anything, writes each new file to a temporary
//! sibling, and only renames them into place once all were written, so a failure leaves
//! the previous module as it was. Generated files the new plan no longer produces are
//! removed (a stale `main.nsg.tf` would otherwise keep deploying an NSG).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic, Location};
use crate::render::{GENERATED_MARKER, RenderedFiles};

/// What `write` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// Files created or changed.
    pub written: Vec<PathBuf>,
    /// Files already up to date (left untouched).
    pub unchanged: Vec<PathBuf>,
    /// Generated files no longer produced, removed.
    pub removed: Vec<PathBuf>,
}

/// How a file on disk differs from what would be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The file exists with other content.
    Changed {
        /// Path.
        path: PathBuf,
        /// What is on disk.
        on_disk: String,
        /// What would be written.
        generated: String,
    },
    /// The file would be created.
    Missing {
        /// Path.
        path: PathBuf,
        /// What would be written.
        generated: String,
    },
    /// A generated file the plan no longer produces; `generate` would remove it.
    Stale {
        /// Path.
        path: PathBuf,
        /// What is on disk.
        on_disk: String,
    },
}

impl Drift {
    /// The file concerned.
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            Drift::Changed { path, .. }
            | Drift::Missing { path, .. }
            | Drift::Stale { path, .. } => path,
        }
    }

    /// A unified diff from what is on disk to what would be generated.
    #[must_use]
    pub fn unified_diff(&self, color: bool) -> String {
        let path = self.path().display().to_string();
        let (old, new, label) = match self {
            Drift::Changed {
                on_disk, generated, ..
            } => (on_disk.as_str(), generated.as_str(), "changed"),
            Drift::Missing { generated, .. } => ("", generated.as_str(), "missing"),
            Drift::Stale { on_disk, .. } => (on_disk.as_str(), "", "stale, would be removed"),
        };
        let diff = similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Patience)
            .timeout(std::time::Duration::from_secs(2))
            .diff_lines(old, new);
        let text = format!(
            "--- {path} (on disk)\n+++ {path} (generated)\n{}",
            diff.unified_diff().context_radius(3)
        );
        let text = format!("# {path}: {label}\n{text}");
        if color { colorize(&text) } else { text }
    }
}

fn colorize(diff: &str) -> String {
    diff.lines()
        .map(|line| {
            let code =
                if line.starts_with("+++") || line.starts_with("---") || line.starts_with('#') {
                    "1"
                } else if line.starts_with('+') {
                    "32"
                } else if line.starts_with('-') {
                    "31"
                } else if line.starts_with("@@") {
                    "36"
                } else {
                    return format!("{line}\n");
                };
            format!("\x1b[{code}m{line}\x1b[0m\n")
        })
        .collect()
}

/// Compares what `generate` would write under `out` with what is there: changed and
/// missing files, and stale generated files. Writes nothing.
pub fn check(out: &Path, files: &RenderedFiles) -> Result<Vec<Drift>, Vec<Diagnostic>> {
    if out.exists() && !out.is_dir() {
        return Err(vec![error(
            Code::OutputNotADirectory,
            out,
            format!("`{}` exists and is not a directory", out.display()),
            "give --out the directory the modules were generated into",
        )]);
    }
    let mut problems = Vec::new();
    let mut drifts = Vec::new();
    for (relative, text) in files {
        let path = out.join(relative);
        match fs::read(&path) {
            Ok(existing) if existing == text.as_bytes() => {}
            Ok(existing) => drifts.push(Drift::Changed {
                path,
                on_disk: String::from_utf8_lossy(&existing).replace("\r\n", "\n"),
                generated: text.clone(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => drifts.push(Drift::Missing {
                path,
                generated: text.clone(),
            }),
            Err(e) => problems.push(io_error(&path, "read", &e)),
        }
    }
    for path in stale_files(out, files, &mut problems) {
        let on_disk = fs::read_to_string(&path).unwrap_or_default();
        drifts.push(Drift::Stale { path, on_disk });
    }
    if problems.is_empty() {
        Ok(drifts)
    } else {
        Err(problems)
    }
}

/// True when `text` starts with amlfw's generated header.
#[must_use]
pub fn is_generated(text: &str) -> bool {
    let first = text.lines().next().unwrap_or("");
    (first.starts_with("# ") || first.starts_with("<!-- ") || first.starts_with("// "))
        && first.contains(GENERATED_MARKER)
}

/// Writes `files` under `out`. The subdirectories the files live in (`terraform/`) are
/// owned by amlfw only as far as generated files go.
pub fn write(out: &Path, files: &RenderedFiles) -> Result<WriteReport, Vec<Diagnostic>> {
    write_with(out, files, None)
}

/// Where a test makes `write` fail, to prove a failure leaves the previous files intact.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedFailure {
    /// While writing the temporary file of the n-th changed file.
    Temporary(usize),
    /// While moving the n-th changed file into place.
    Rename(usize),
}

/// `write`, with a failure injected for tests.
#[doc(hidden)]
pub fn write_with(
    out: &Path,
    files: &RenderedFiles,
    inject: Option<InjectedFailure>,
) -> Result<WriteReport, Vec<Diagnostic>> {
    if out.exists() && !out.is_dir() {
        return Err(vec![error(
            Code::OutputNotADirectory,
            out,
            format!("`{}` exists and is not a directory", out.display()),
            "give --out a directory (it is created if missing)",
        )]);
    }
    // 1. Check every target, and find stale generated files, before writing anything.
    let mut problems = Vec::new();
    let mut pending: Vec<(PathBuf, &str)> = Vec::new();
    let mut report = WriteReport::default();
    for (relative, text) in files {
        let path = out.join(relative);
        match fs::read(&path) {
            Ok(existing) if existing == text.as_bytes() => report.unchanged.push(path),
            Ok(existing) if is_generated(&String::from_utf8_lossy(&existing)) => pending.push((path, text)),
            Ok(_) => problems.push(error(
                Code::ForeignFile,
                &path,
                format!("`{}` was not written by amlfw; it would be overwritten", path.display()),
                "move it away, or choose another --out directory; amlfw never overwrites a file without its header",
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => pending.push((path, text)),
            Err(e) => problems.push(io_error(&path, "read", &e)),
        }
    }
    let stale = stale_files(out, files, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    // 2. Write every changed file to a temporary sibling; on failure remove them all.
    let mut temporaries: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (index, (path, text)) in pending.iter().enumerate() {
        let temporary = sibling(path, "tmp");
        let result = if inject == Some(InjectedFailure::Temporary(index)) {
            Err(std::io::Error::other("injected failure"))
        } else {
            path.parent()
                .map_or(Ok(()), fs::create_dir_all)
                .and_then(|()| fs::File::create(&temporary))
                .and_then(|mut file| {
                    file.write_all(text.as_bytes())
                        .and_then(|()| file.sync_all())
                })
        };
        if let Err(e) = result {
            for (written, _) in &temporaries {
                let _ = fs::remove_file(written);
            }
            let _ = fs::remove_file(&temporary);
            return Err(vec![io_error(path, "write", &e)]);
        }
        temporaries.push((temporary, path.clone()));
    }
    // 3. Move them into place, keeping each previous file as a backup until all are in
    //    place, so a failure half-way restores the previous module.
    let mut moved: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    for (index, (temporary, path)) in temporaries.iter().enumerate() {
        let backup = sibling(path, "old");
        let result = (|| -> std::io::Result<Option<PathBuf>> {
            let had_previous = path.exists();
            if had_previous {
                fs::rename(path, &backup)?;
            }
            if inject == Some(InjectedFailure::Rename(index)) {
                return Err(std::io::Error::other("injected failure"));
            }
            fs::rename(temporary, path)?;
            Ok(had_previous.then(|| backup.clone()))
        })();
        match result {
            Ok(previous) => moved.push((path.clone(), previous)),
            Err(e) => {
                // Put back what this file and every file before it replaced.
                if backup.exists() {
                    let _ = fs::rename(&backup, path);
                }
                for (done, previous) in moved.iter().rev() {
                    match previous {
                        Some(previous) => {
                            let _ = fs::rename(previous, done);
                        }
                        None => {
                            let _ = fs::remove_file(done);
                        }
                    }
                }
                for (temporary, _) in &temporaries {
                    let _ = fs::remove_file(temporary);
                }
                return Err(vec![io_error(path, "write", &e)]);
            }
        }
    }
    for (path, previous) in moved {
        if let Some(previous) = previous {
            let _ = fs::remove_file(previous);
        }
        report.written.push(path);
    }
    for path in stale {
        fs::remove_file(&path).map_err(|e| vec![io_error(&path, "remove", &e)])?;
        report.removed.push(path);
    }
    Ok(report)
}

/// Refuses output directories amlfw must not write into: the filesystem root, and a
/// non-empty directory that holds none of amlfw's output (other than `protect`, the
/// scenario file, which may sit beside the modules, and hidden files such as `.gitkeep`).
pub fn check_output_directory(out: &Path, protect: &Path) -> Result<(), Vec<Diagnostic>> {
    let resolved = out.canonicalize().unwrap_or_else(|_| out.to_path_buf());
    if resolved.parent().is_none() {
        return Err(vec![error(
            Code::UnsafeOutputDirectory,
            out,
            format!("`{}` is the filesystem root", out.display()),
            "give --out a directory of its own, for example infra/azureml-firewall",
        )]);
    }
    let protect = protect.canonicalize().ok();
    if out.exists() && !out.is_dir() {
        let what = if protect.as_deref() == Some(resolved.as_path()) {
            "the scenario file"
        } else {
            "a file, not a directory"
        };
        return Err(vec![error(
            Code::OutputNotADirectory,
            out,
            format!("`{}` is {what}", out.display()),
            "give --out a directory of its own, for example infra/azureml-firewall",
        )]);
    }
    let Ok(entries) = fs::read_dir(out) else {
        return Ok(());
    };
    let mut foreign = Vec::new();
    let mut ours = false;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if matches!(name.as_str(), "terraform" | "bicep" | "allowlist") && path.is_dir() {
            ours |= directory_has_generated_file(&path);
            continue;
        }
        if name.starts_with('.') || path.canonicalize().ok() == protect {
            continue;
        }
        foreign.push(name);
    }
    if !ours && !foreign.is_empty() {
        foreign.sort();
        return Err(vec![error(
            Code::ForeignOutputDirectory,
            out,
            format!(
                "`{}` holds files amlfw did not write ({}) and no module amlfw generated",
                out.display(),
                foreign
                    .iter()
                    .take(5)
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "give --out a new or empty directory, or one amlfw generated before",
        )]);
    }
    Ok(())
}

fn directory_has_generated_file(directory: &Path) -> bool {
    fs::read_dir(directory).is_ok_and(|entries| {
        entries.filter_map(Result::ok).any(|entry| {
            let path = entry.path();
            if path.is_dir() {
                directory_has_generated_file(&path)
            } else {
                fs::read(&path).is_ok_and(|bytes| is_generated(&String::from_utf8_lossy(&bytes)))
            }
        })
    })
}

/// Generated files in the target directories that `files` no longer contains.
fn stale_files(out: &Path, files: &RenderedFiles, problems: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut directories: Vec<PathBuf> = files
        .keys()
        .filter_map(|r| out.join(r).parent().map(Path::to_path_buf))
        .collect();
    directories.sort();
    directories.dedup();
    let mut stale = Vec::new();
    for directory in directories {
        let Ok(entries) = fs::read_dir(&directory) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let relative = path
                .strip_prefix(out)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if files.contains_key(&relative) {
                continue;
            }
            match fs::read(&path) {
                Ok(bytes) if is_generated(&String::from_utf8_lossy(&bytes)) => stale.push(path),
                Ok(_) => {}
                Err(e) => problems.push(io_error(&path, "read", &e)),
            }
        }
    }
    stale
}

/// Writes `text` to a new file at `path` (`amlfw init`), refusing to replace anything
/// there: the check and the creation are one system call, so no file can appear between.
pub fn write_new(path: &Path, text: &str) -> Result<(), Box<Diagnostic>> {
    let mut file = match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Box::new(error(
                Code::FileExists,
                path,
                format!(
                    "`{}` already exists; amlfw init never overwrites a file",
                    path.display()
                ),
                "give another file name, or `-` to print the scenario",
            )));
        }
        Err(e) => return Err(Box::new(new_file_error(path, &e))),
    };
    file.write_all(text.as_bytes()).map_err(|e| {
        // Leave no half-written scenario behind; the file is ours, created just now.
        let _ = fs::remove_file(path);
        Box::new(new_file_error(path, &e))
    })
}

fn new_file_error(path: &Path, e: &std::io::Error) -> Diagnostic {
    let reason = match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::NotFound => "no such directory".to_owned(),
        _ => e.to_string().to_lowercase(),
    };
    error(
        Code::WriteFailed,
        path,
        format!("cannot write `{}`: {reason}", path.display()),
        "check that the directory exists and is writable",
    )
}

/// `.main.tf.amlfw-<pid>.<kind>` beside `path`: same directory, so renames are atomic.
fn sibling(path: &Path, kind: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.amlfw-{}.{kind}", std::process::id()))
}

fn error(code: Code, path: &Path, message: String, help: &str) -> Diagnostic {
    Diagnostic::error(code, message)
        .at(Location {
            file: path.display().to_string(),
            path: String::new(),
            position: None,
        })
        .help(help)
}

fn io_error(path: &Path, action: &str, e: &std::io::Error) -> Diagnostic {
    let reason = match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string().to_lowercase(),
    };
    error(
        Code::WriteFailed,
        path,
        format!("cannot {action} `{}`: {reason}", path.display()),
        "check that the --out directory is writable; files already there are unchanged",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("amlfw-output-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn files(entries: &[(&str, &str)]) -> RenderedFiles {
        entries
            .iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect()
    }

    const GENERATED: &str = "# Code generated by amlfw from s.yaml (catalog x); DO NOT EDIT.\n";

    #[test]
    fn writes_skips_unchanged_and_removes_stale_generated_files() {
        let out = temp_dir("write");
        let first = files(&[("terraform/a.tf", GENERATED), ("terraform/b.tf", GENERATED)]);
        let report = write(&out, &first).unwrap();
        assert_eq!(report.written.len(), 2);
        fs::write(out.join("terraform/notes.txt"), "mine").unwrap();
        let second = files(&[("terraform/a.tf", GENERATED)]);
        let report = write(&out, &second).unwrap();
        assert_eq!(
            (
                report.written.len(),
                report.unchanged.len(),
                report.removed.len()
            ),
            (0, 1, 1)
        );
        assert!(!out.join("terraform/b.tf").exists());
        assert_eq!(
            fs::read_to_string(out.join("terraform/notes.txt")).unwrap(),
            "mine"
        );
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn never_overwrites_a_file_without_the_header_and_writes_nothing_then() {
        let out = temp_dir("foreign");
        fs::create_dir_all(out.join("terraform")).unwrap();
        fs::write(out.join("terraform/main.tf"), "# my own\n").unwrap();
        let new = files(&[
            ("terraform/a.tf", GENERATED),
            ("terraform/main.tf", GENERATED),
        ]);
        let problems = write(&out, &new).unwrap_err();
        assert_eq!(problems[0].code, Code::ForeignFile);
        assert_eq!(
            fs::read_to_string(out.join("terraform/main.tf")).unwrap(),
            "# my own\n"
        );
        assert!(!out.join("terraform/a.tf").exists());
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn an_output_path_that_is_a_file_is_refused() {
        let out = temp_dir("file");
        let path = out.join("x");
        fs::write(&path, "x").unwrap();
        assert_eq!(
            write(&path, &files(&[("terraform/a.tf", GENERATED)])).unwrap_err()[0].code,
            Code::OutputNotADirectory
        );
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn check_reports_changed_missing_and_stale_files_and_writes_nothing() {
        let out = temp_dir("check");
        write(
            &out,
            &files(&[("terraform/a.tf", GENERATED), ("terraform/b.tf", GENERATED)]),
        )
        .unwrap();
        fs::write(out.join("terraform/a.tf"), format!("{GENERATED}# edited\n")).unwrap();
        let wanted = files(&[("terraform/a.tf", GENERATED), ("terraform/c.tf", GENERATED)]);
        let drifts = check(&out, &wanted).unwrap();
        let kinds: Vec<&str> = drifts
            .iter()
            .map(|d| match d {
                Drift::Changed { .. } => "changed",
                Drift::Missing { .. } => "missing",
                Drift::Stale { .. } => "stale",
            })
            .collect();
        assert_eq!(kinds, ["changed", "missing", "stale"]);
        assert!(drifts[0].unified_diff(false).contains("-# edited"));
        assert!(!out.join("terraform/c.tf").exists());
        assert!(out.join("terraform/b.tf").exists());
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn a_failure_between_files_leaves_the_previous_module_intact() {
        let old = "# Code generated by amlfw from s.yaml (catalog old); DO NOT EDIT.\n";
        for inject in [
            InjectedFailure::Temporary(1),
            InjectedFailure::Rename(0),
            InjectedFailure::Rename(1),
            InjectedFailure::Rename(2),
        ] {
            let out = temp_dir("inject");
            let first = files(&[("terraform/a.tf", old), ("terraform/b.tf", old)]);
            write(&out, &first).unwrap();
            let second = files(&[
                ("terraform/a.tf", GENERATED),
                ("terraform/b.tf", GENERATED),
                ("terraform/c.tf", GENERATED),
            ]);
            assert!(
                write_with(&out, &second, Some(inject)).is_err(),
                "{inject:?}"
            );
            let mut names: Vec<String> = fs::read_dir(out.join("terraform"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            assert_eq!(
                names,
                ["a.tf", "b.tf"],
                "{inject:?}: leftovers or a new file"
            );
            for name in ["a.tf", "b.tf"] {
                assert_eq!(
                    fs::read_to_string(out.join("terraform").join(name)).unwrap(),
                    old,
                    "{inject:?}: {name} changed"
                );
            }
            let _ = fs::remove_dir_all(&out);
        }
    }

    #[test]
    fn unsafe_output_directories_are_refused() {
        let scenario = Path::new("/nonexistent/s.yaml");
        assert_eq!(
            check_output_directory(Path::new("/"), scenario).unwrap_err()[0].code,
            Code::UnsafeOutputDirectory
        );
        let out = temp_dir("foreign-dir");
        assert!(
            check_output_directory(&out, scenario).is_ok(),
            "an empty directory is fine"
        );
        fs::write(out.join(".gitkeep"), "").unwrap();
        fs::write(out.join("s.yaml"), "version: 1").unwrap();
        assert!(
            check_output_directory(&out, &out.join("s.yaml")).is_ok(),
            "the scenario and hidden files are fine"
        );
        fs::write(out.join("main.go"), "package main").unwrap();
        assert_eq!(
            check_output_directory(&out, &out.join("s.yaml")).unwrap_err()[0].code,
            Code::ForeignOutputDirectory
        );
        write(&out, &files(&[("terraform/a.tf", GENERATED)])).unwrap();
        assert!(
            check_output_directory(&out, &out.join("s.yaml")).is_ok(),
            "a directory amlfw generated into"
        );
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn the_header_is_recognized_in_every_comment_style() {
        assert!(is_generated(GENERATED));
        assert!(is_generated(
            "<!-- Code generated by amlfw from s.yaml; DO NOT EDIT. -->\n"
        ));
        assert!(!is_generated(
            "resource \"x\" \"y\" {} # Code generated by amlfw\n"
        ));
        assert!(!is_generated(""));
    }
}
