//! `generate --check`: how the files on disk differ from what would be written.

use std::fs;
use std::path::{Path, PathBuf};

use super::lock::{LockKind, lock_output};
use super::manifest::{KeptReason, MANIFEST_FILE, Provenance, next_manifest, read_manifest};
use super::scan::scan;
use super::{NOTHING_WRITTEN, error, io_error};
use crate::diagnostic::{Code, Diagnostic};
use crate::render::RenderedFiles;

/// How a file on disk differs from what would be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The file exists with other content.
    Changed {
        /// Path.
        path: PathBuf,
        /// What is on disk (invalid UTF-8 replaced, line endings as they are).
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
    /// A generated file the plan no longer produces.
    Stale {
        /// Path.
        path: PathBuf,
        /// What is on disk.
        on_disk: String,
        /// Why `generate` would keep it, or `None` when it would remove it.
        kept: Option<KeptReason>,
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

    /// A unified diff from what is on disk to what would be generated. Carriage returns
    /// on disk are shown as `␍`, so a file that differs only in line endings never shows
    /// an empty diff.
    #[must_use]
    pub fn unified_diff(&self, color: bool) -> String {
        let path = self.path().display().to_string();
        let marked;
        let (old, new, label) = match self {
            Drift::Changed {
                on_disk, generated, ..
            } => {
                let label = if on_disk.contains("\r\n") && !generated.contains('\r') {
                    if on_disk.replace("\r\n", "\n") == *generated {
                        "changed (only line endings: CRLF on disk, LF generated; ␍ marks a carriage return)".to_owned()
                    } else {
                        "changed (and line endings: CRLF on disk, LF generated; ␍ marks a carriage return)".to_owned()
                    }
                } else {
                    "changed".to_owned()
                };
                marked = mark_carriage_returns(on_disk);
                (marked.as_str(), generated.as_str(), label)
            }
            Drift::Missing { generated, .. } => ("", generated.as_str(), "missing".to_owned()),
            Drift::Stale { on_disk, kept, .. } => {
                marked = mark_carriage_returns(on_disk);
                let label = match kept {
                    None => "stale, would be removed".to_owned(),
                    Some(reason) => format!(
                        "stale, generate keeps it ({}): delete it if it is not needed",
                        reason.explain()
                    ),
                };
                (marked.as_str(), "", label)
            }
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

/// `\r` before a line break becomes a visible `␍`, any other `\r` too.
fn mark_carriage_returns(text: &str) -> String {
    text.replace('\r', "␍")
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

/// What `check` found: drift, and leftovers of an interrupted run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Changed and missing files (in `files` order), then the manifest when it is missing
    /// or differs (only when `check` was given a provenance), then stale files.
    pub drifts: Vec<Drift>,
    /// Temporaries of an interrupted run: not drift, the next `generate` removes them.
    pub leftovers: Vec<PathBuf>,
}

/// Compares what `generate` would write under `out` with what is there: changed and
/// missing files, the manifest, and stale generated files. Writes nothing.
///
/// With a `provenance`, `amlfw-manifest.json` is compared with what `generate` would
/// write, like a generated file: it is the module's only record of the amlfw version,
/// catalog revision and scenario behind it, so a stale record is drift even when every
/// other file is identical (a catalog update that changes no rule, a scenario edit that
/// changes no output). `None` compares only `files` (a directory that holds no module).
pub fn check(
    out: &Path,
    files: &RenderedFiles,
    provenance: Option<&Provenance>,
) -> Result<Vec<Drift>, Vec<Diagnostic>> {
    check_report(out, files, provenance).map(|report| report.drifts)
}

/// `check`, with the leftovers. Holds a shared lock on `out`
/// while it reads, so it never compares against a module another run is writing; when
/// `out` has no lock file (nothing amlfw wrote since locking exists) there is nothing to
/// lock, and `check` creates none: it writes nothing.
pub fn check_report(
    out: &Path,
    files: &RenderedFiles,
    provenance: Option<&Provenance>,
) -> Result<CheckReport, Vec<Diagnostic>> {
    if out.exists() && !out.is_dir() {
        return Err(vec![error(
            Code::OutputNotADirectory,
            out,
            format!("`{}` exists and is not a directory", out.display()),
            "give --out the directory the modules were generated into",
        )]);
    }
    let _lock = lock_output(out, LockKind::Shared)?;
    let mut problems = Vec::new();
    let mut drifts = Vec::new();
    for (relative, text) in files {
        let path = out.join(relative);
        match fs::read(&path) {
            Ok(existing) if existing == text.as_bytes() => {}
            Ok(existing) => drifts.push(Drift::Changed {
                path,
                on_disk: String::from_utf8_lossy(&existing).into_owned(),
                generated: text.clone(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => drifts.push(Drift::Missing {
                path,
                generated: text.clone(),
            }),
            Err(e) => problems.push(io_error(&path, "read", &e, NOTHING_WRITTEN)),
        }
    }
    let previous = read_manifest(out).map_err(|d| vec![*d])?;
    if let Some(provenance) = provenance {
        let path = out.join(MANIFEST_FILE);
        let generated =
            next_manifest(out, files, previous.as_ref().map(|(m, _)| m), provenance).to_json();
        match &previous {
            None => drifts.push(Drift::Missing { path, generated }),
            Some((_, bytes)) if *bytes == generated.as_bytes() => {}
            Some((_, bytes)) => drifts.push(Drift::Changed {
                path,
                on_disk: String::from_utf8_lossy(bytes).into_owned(),
                generated,
            }),
        }
    }
    let scan = scan(out, files, &mut problems);
    for stale in scan.stale {
        let kept = KeptReason::decide(
            previous.as_ref().map(|(m, _)| m),
            &stale.relative,
            &stale.bytes,
        );
        drifts.push(Drift::Stale {
            on_disk: String::from_utf8_lossy(&stale.bytes).into_owned(),
            path: stale.path,
            kept,
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(CheckReport {
        drifts,
        leftovers: scan.leftovers,
    })
}
