//! What is in the directories of a module: generated files, stale ones, and the
//! temporaries of an interrupted run.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::lock::LOCK_FILE;
use super::manifest::MANIFEST_FILE;
use super::reuse::CACHE_FILE;
use super::{NOTHING_WRITTEN, io_error};
use crate::diagnostic::Diagnostic;
use crate::render::{GENERATED_MARKER, LAYOUT_DIRECTORIES, MANAGED_DIRECTORY};

/// True when `text` starts with amlfw's generated header.
#[must_use]
pub fn is_generated(text: &str) -> bool {
    let first = text.lines().next().unwrap_or("");
    (first.starts_with("# ") || first.starts_with("<!-- ") || first.starts_with("// "))
        && first.contains(GENERATED_MARKER)
}

pub(super) fn bytes_are_generated(bytes: &[u8]) -> bool {
    // The header is on the first line; no need to decode a whole large file.
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    is_generated(&String::from_utf8_lossy(first))
}

/// The temporary sibling of `path` this process uses for `kind` (`tmp`, `removed`):
/// `.<name>.amlfw-<pid>.<kind>`, in the same directory so the rename is atomic, hidden,
/// and recognisable by [`is_leftover`] after a kill.
pub(super) fn sibling(path: &Path, kind: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.amlfw-{}.{kind}", std::process::id()))
}

/// True for a temporary of an amlfw run (see `sibling`; `.old` is the backup name of
/// amlfw before the manifest) holding what amlfw writes: a generated file (whole or cut
/// short), nothing (killed between creating and writing), for the manifest JSON, or for
/// the render record its first line (whole or cut short). Under
/// the exclusive lock no live run owns one, so it is a leftover of a killed run.
#[must_use]
pub fn is_leftover(name: &str, bytes: &[u8]) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some((rest, kind)) = rest.rsplit_once('.') else {
        return false;
    };
    let Some((target, pid)) = rest.rsplit_once(".amlfw-") else {
        return false;
    };
    let named = matches!(kind, "tmp" | "removed" | "old")
        && !target.is_empty()
        && !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit());
    named
        && (bytes.is_empty()
            || bytes_are_generated(bytes)
            || cut_within_header(bytes)
            || (target == MANIFEST_FILE && bytes.starts_with(b"{"))
            || (target == CACHE_FILE && super::reuse::is_record_start(bytes)))
}

/// True for the start of a header line, cut short by a kill during the write.
fn cut_within_header(bytes: &[u8]) -> bool {
    !bytes.contains(&b'\n')
        && ["# ", "<!-- ", "// "].iter().any(|comment| {
            let header = format!("{comment}{GENERATED_MARKER}");
            header.as_bytes().starts_with(bytes)
        })
}

/// What a scan of the directories `files` live in found.
pub(super) struct Scan {
    /// Generated files `files` does not contain, sorted.
    pub(super) stale: Vec<StaleFile>,
    /// amlfw's temporaries of an interrupted run (also at the root, for the manifest).
    pub(super) leftovers: Vec<PathBuf>,
}

pub(super) struct StaleFile {
    pub(super) path: PathBuf,
    pub(super) relative: String,
    pub(super) bytes: Vec<u8>,
}

/// The directories the files of this run live in, and the same directories of the other
/// layouts (`terraform/` with `hub/terraform/` and `spoke/terraform/`), sorted: a scenario
/// that switches `outputs.layout` leaves no module of the old layout behind, while a run
/// for one target still never touches another target's directories.
pub(super) fn directories_of<V>(out: &Path, files: &BTreeMap<String, V>) -> Vec<PathBuf> {
    let mut directories: Vec<PathBuf> = files
        .keys()
        .filter_map(|r| Path::new(r).parent())
        .flat_map(|parent| {
            let parent = parent.to_string_lossy().replace('\\', "/");
            // The managed-network modules (`managed/terraform/`) sit beside the hub's, so a
            // scenario that drops its last managed workspace leaves none behind either.
            let prefixes = [MANAGED_DIRECTORY].into_iter().chain(LAYOUT_DIRECTORIES);
            let base = prefixes
                .clone()
                .find_map(|prefix| parent.strip_prefix(prefix))
                .unwrap_or(&parent)
                .to_owned();
            prefixes.map(move |prefix| out.join(format!("{prefix}{base}")))
        })
        .collect();
    directories.sort();
    directories.dedup();
    directories
}

pub(super) fn relative_to(out: &Path, path: &Path) -> String {
    path.strip_prefix(out)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// `files` is the run's files by path under `out` (their contents are not read here).
pub(super) fn scan<V>(
    out: &Path,
    files: &BTreeMap<String, V>,
    problems: &mut Vec<Diagnostic>,
) -> Scan {
    let mut found = Scan {
        stale: Vec::new(),
        leftovers: Vec::new(),
    };
    let mut directories = directories_of(out, files);
    directories.insert(0, out.to_path_buf());
    for (index, directory) in directories.iter().enumerate() {
        let Ok(entries) = fs::read_dir(directory) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let relative = relative_to(out, &path);
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if files.contains_key(&relative) || name == LOCK_FILE || name == MANIFEST_FILE {
                continue;
            }
            match fs::read(&path) {
                Ok(bytes) if is_leftover(&name, &bytes) => found.leftovers.push(path),
                // The root holds no generated module file, only the manifest.
                Ok(bytes) if index > 0 && bytes_are_generated(&bytes) => {
                    found.stale.push(StaleFile {
                        path,
                        relative,
                        bytes,
                    });
                }
                Ok(_) => {}
                Err(e) => problems.push(io_error(&path, "read", &e, NOTHING_WRITTEN)),
            }
        }
    }
    found
}
