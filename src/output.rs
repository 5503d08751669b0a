//! Writing generated files without ever losing a file amlfw did not write.
//!
//! The rules:
//! - A file whose first line carries the generated header ([`GENERATED_MARKER`]) may be
//!   overwritten; every other file is the user's and is never modified or deleted.
//! - A file is removed only when amlfw can prove it wrote it: `amlfw-manifest.json` at the
//!   root of `--out` lists every file of the last run with the SHA-256 of its bytes, and a
//!   generated file the new plan no longer produces is removed only when the manifest lists
//!   it with the hash of its current bytes. Every other such file is kept, with a warning.
//! - One run at a time: `write` holds an exclusive advisory lock on `<out>/.amlfw.lock`,
//!   `check` a shared one, so neither ever sees a half-written module of another run.
//! - A run is atomic file by file, and as a whole unless it is killed: every new file (and
//!   the manifest) goes to a temporary sibling first, then each is renamed over its target
//!   (one `rename`, so a file is always either the previous or the new version), stale
//!   files are first renamed aside (which proves they can be removed before anything
//!   changes) and unlinked at the end. A failure restores every replaced file from the
//!   bytes kept in memory. A killed run leaves only temporaries named
//!   `.<name>.amlfw-<pid>.<tmp|removed>`, which the next run removes (under the lock, so no
//!   live run owns them) and `check` ignores.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::diagnostic::{Code, Diagnostic, Location, Severity};
use crate::render::{GENERATED_MARKER, RenderedFiles};

/// The ownership record `generate` writes at the root of `--out`.
pub const MANIFEST_FILE: &str = "amlfw-manifest.json";
/// The advisory lock file at the root of `--out`. Never removed: removing a lock file
/// races with a run that has just opened it and would then lock a deleted file.
pub const LOCK_FILE: &str = ".amlfw.lock";
/// The version of the manifest's format.
pub const MANIFEST_FORMAT: u32 = 1;
const GENERATOR: &str = "amlfw";

/// `amlfw-manifest.json`: what the last `generate` wrote. Deterministic (no time stamps,
/// no absolute paths), so it can be committed with the modules.
///
/// The fields are declared in alphabetical order because serde writes them in declaration
/// order and the file promises sorted keys; keep that order when adding fields (amlfw
/// version, catalog revision, scenario hash). Unknown fields are ignored on reading, so a
/// newer amlfw's manifest still proves ownership to this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Every file, as a `/`-separated path under `--out`, with `sha256:<hex>` of its bytes.
    pub files: BTreeMap<String, String>,
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// Always `amlfw`: what makes the file amlfw's.
    pub generator: String,
}

impl Manifest {
    /// A manifest of `files` (path under `--out` to hash).
    #[must_use]
    pub fn new(files: BTreeMap<String, String>) -> Manifest {
        Manifest {
            files,
            format: MANIFEST_FORMAT,
            generator: GENERATOR.to_owned(),
        }
    }

    /// Pretty JSON with a trailing newline.
    #[must_use]
    pub fn to_json(&self) -> String {
        // A map of strings and two scalars always serializes.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The manifest in `bytes`, if they are one of amlfw's.
    #[must_use]
    pub fn parse(bytes: &[u8]) -> Option<Manifest> {
        serde_json::from_slice::<Manifest>(bytes)
            .ok()
            .filter(|manifest| manifest.generator == GENERATOR)
    }
}

/// `sha256:<hex>` of `bytes`, as the manifest records it.
#[must_use]
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = sha2::Sha256::digest(bytes);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in digest.iter() {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// `cwd.join(out)` with `.` and `..` removed lexically, made relative to `cwd` again when
/// it lies under it (so messages show the short path). The guards and the writes use this
/// one path: `X/nonexistent/..` does not resolve on disk, so checks of the path as given
/// would pass while the kernel writes into `X`.
#[must_use]
pub fn resolve_out(out: &Path, cwd: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in cwd.join(out).components() {
        match component {
            Component::ParentDir => {
                // `/..` is `/`, as for the kernel.
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other.as_os_str()),
        }
    }
    match normal.strip_prefix(cwd) {
        Ok(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
        Ok(relative) => relative.to_path_buf(),
        Err(_) => normal,
    }
}

/// What `write` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// Files created or changed.
    pub written: Vec<PathBuf>,
    /// Files already up to date (left untouched).
    pub unchanged: Vec<PathBuf>,
    /// Generated files no longer produced, which the manifest proved amlfw's: removed.
    pub removed: Vec<PathBuf>,
    /// Generated files no longer produced that amlfw cannot prove it wrote: kept (each
    /// has a warning in `warnings`).
    pub kept: Vec<PathBuf>,
    /// Temporaries of an interrupted run, removed before this one started.
    pub leftovers_removed: Vec<PathBuf>,
    /// Warnings to print: kept files, and temporaries that could not be removed.
    pub warnings: Vec<Diagnostic>,
}

/// Why `generate` keeps a generated file the plan no longer produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptReason {
    /// `--out` has no manifest: a module of an older amlfw.
    NoManifest,
    /// The manifest does not list the file: a copy, or written by hand.
    NotInManifest,
    /// Its bytes changed since amlfw wrote it.
    Edited,
}

impl KeptReason {
    fn decide(manifest: Option<&Manifest>, relative: &str, bytes: &[u8]) -> Option<KeptReason> {
        let Some(manifest) = manifest else {
            return Some(KeptReason::NoManifest);
        };
        match manifest.files.get(relative) {
            None => Some(KeptReason::NotInManifest),
            Some(hash) if *hash == content_hash(bytes) => None,
            Some(_) => Some(KeptReason::Edited),
        }
    }

    fn explain(self) -> &'static str {
        match self {
            KeptReason::NoManifest => {
                "the directory has no amlfw-manifest.json (a module of an older amlfw)"
            }
            KeptReason::NotInManifest => "amlfw-manifest.json does not list it",
            KeptReason::Edited => "it was edited after amlfw wrote it",
        }
    }

    fn warning(self, out: &Path, relative: &str) -> Diagnostic {
        let (message, help) = match self {
            KeptReason::NoManifest => (
                format!(
                    "kept `{relative}`: the plan no longer produces it, but `{}` has no `{MANIFEST_FILE}` (a module of an older amlfw), so amlfw cannot prove it wrote the file",
                    out.display()
                ),
                "delete it yourself if the module no longer needs it; from this run on amlfw records the files it writes",
            ),
            KeptReason::NotInManifest => (
                format!(
                    "kept `{relative}`: it has amlfw's header, but `{MANIFEST_FILE}` does not list it, so amlfw did not write it (a copy of a generated file?)"
                ),
                "delete it yourself if the module no longer needs it; amlfw removes only files it wrote",
            ),
            KeptReason::Edited => (
                format!(
                    "kept `{relative}`: the plan no longer produces it, but it was edited after amlfw wrote it"
                ),
                "delete it yourself if the edits are not needed; amlfw removes only files it wrote, unchanged",
            ),
        };
        Diagnostic {
            severity: Severity::Warning,
            code: Code::StaleFileKept,
            message,
            location: Some(location(&out.join(relative))),
            help: Some(help.to_owned()),
        }
    }
}

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

/// The state of `amlfw-manifest.json` as `check` found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestState {
    /// Exactly what `generate` would write.
    Current,
    /// Absent: `generate` would write it.
    Missing,
    /// Present, but `generate` would rewrite it (the files changed, or by hand).
    Outdated,
}

/// What `check` found: drift, leftovers of an interrupted run, the manifest's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Changed and missing files (in `files` order), then stale ones.
    pub drifts: Vec<Drift>,
    /// Temporaries of an interrupted run: not drift, the next `generate` removes them.
    pub leftovers: Vec<PathBuf>,
    /// Whether the manifest is up to date. Never drift by itself: the files are the
    /// contract, and the manifest only follows them.
    pub manifest: ManifestState,
}

/// Compares what `generate` would write under `out` with what is there: changed and
/// missing files, and stale generated files. Writes nothing.
pub fn check(out: &Path, files: &RenderedFiles) -> Result<Vec<Drift>, Vec<Diagnostic>> {
    check_report(out, files).map(|report| report.drifts)
}

/// `check`, with the leftovers and the manifest's state. Holds a shared lock on `out`
/// while it reads, so it never compares against a module another run is writing; when
/// `out` has no lock file (nothing amlfw wrote since locking exists) there is nothing to
/// lock, and `check` creates none: it writes nothing.
pub fn check_report(out: &Path, files: &RenderedFiles) -> Result<CheckReport, Vec<Diagnostic>> {
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
    let expected = next_manifest(out, files, previous.as_ref().map(|(m, _)| m)).to_json();
    let manifest = match &previous {
        None => ManifestState::Missing,
        Some((_, bytes)) if *bytes == expected.as_bytes() => ManifestState::Current,
        Some(_) => ManifestState::Outdated,
    };
    Ok(CheckReport {
        drifts,
        leftovers: scan.leftovers,
        manifest,
    })
}

/// True when `text` starts with amlfw's generated header.
#[must_use]
pub fn is_generated(text: &str) -> bool {
    let first = text.lines().next().unwrap_or("");
    (first.starts_with("# ") || first.starts_with("<!-- ") || first.starts_with("// "))
        && first.contains(GENERATED_MARKER)
}

fn bytes_are_generated(bytes: &[u8]) -> bool {
    // The header is on the first line; no need to decode a whole large file.
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    is_generated(&String::from_utf8_lossy(first))
}

/// The temporary sibling of `path` this process uses for `kind` (`tmp`, `removed`):
/// `.<name>.amlfw-<pid>.<kind>`, in the same directory so the rename is atomic, hidden,
/// and recognisable by [`is_leftover`] after a kill.
fn sibling(path: &Path, kind: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.amlfw-{}.{kind}", std::process::id()))
}

/// True for a temporary of an amlfw run (see `sibling`; `.old` is the backup name of
/// amlfw before the manifest) holding what amlfw writes: a generated file (whole or cut
/// short), nothing (killed between creating and writing), or for the manifest JSON. Under
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
            || (target == MANIFEST_FILE && bytes.starts_with(b"{")))
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
struct Scan {
    /// Generated files `files` does not contain, sorted.
    stale: Vec<StaleFile>,
    /// amlfw's temporaries of an interrupted run (also at the root, for the manifest).
    leftovers: Vec<PathBuf>,
}

struct StaleFile {
    path: PathBuf,
    relative: String,
    bytes: Vec<u8>,
}

/// The directories the files of this run live in, sorted.
fn directories_of(out: &Path, files: &RenderedFiles) -> Vec<PathBuf> {
    let mut directories: Vec<PathBuf> = files
        .keys()
        .filter_map(|r| out.join(r).parent().map(Path::to_path_buf))
        .collect();
    directories.sort();
    directories.dedup();
    directories
}

fn relative_to(out: &Path, path: &Path) -> String {
    path.strip_prefix(out)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn scan(out: &Path, files: &RenderedFiles, problems: &mut Vec<Diagnostic>) -> Scan {
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

/// The manifest at the root of `out` and its bytes; `None` when there is none. A file of
/// that name that is not amlfw's is refused rather than overwritten.
fn read_manifest(out: &Path) -> Result<Option<(Manifest, Vec<u8>)>, Box<Diagnostic>> {
    let path = out.join(MANIFEST_FILE);
    match fs::read(&path) {
        Ok(bytes) => match Manifest::parse(&bytes) {
            Some(manifest) => Ok(Some((manifest, bytes))),
            None => Err(Box::new(error(
                Code::ForeignFile,
                &path,
                format!(
                    "`{}` is not amlfw's manifest; it would be overwritten",
                    path.display()
                ),
                "move it away, or choose another --out directory; amlfw keeps its record of the files it wrote under this name",
            ))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Box::new(io_error(&path, "read", &e, NOTHING_WRITTEN))),
    }
}

/// The manifest after writing `files`: every one of them, plus the entries of the previous
/// manifest outside the directories this run manages (`--target terraform` leaves the
/// Bicep module, and amlfw's claim on it, as they were).
fn next_manifest(out: &Path, files: &RenderedFiles, previous: Option<&Manifest>) -> Manifest {
    let directories = directories_of(out, files);
    let mut entries: BTreeMap<String, String> = previous
        .map(|m| {
            m.files
                .iter()
                .filter(|(relative, _)| {
                    out.join(relative)
                        .parent()
                        .is_none_or(|parent| !directories.iter().any(|d| d == parent))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    for (relative, text) in files {
        entries.insert(relative.clone(), content_hash(text.as_bytes()));
    }
    Manifest::new(entries)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LockKind {
    Exclusive,
    Shared,
}

/// Holds the advisory lock on an output directory until dropped (the OS also releases it
/// when the process dies, so a killed run never leaves the directory locked).
#[derive(Debug)]
pub struct OutputLock {
    _file: fs::File,
}

/// Takes the lock on `out`: exclusive (creating the lock file) to write, shared to read.
/// `std::fs::File::try_lock` (flock on Unix, LockFileEx on Windows) is stable std since
/// Rust 1.89, so no crate is needed.
fn lock_output(out: &Path, kind: LockKind) -> Result<Option<OutputLock>, Vec<Diagnostic>> {
    let path = out.join(LOCK_FILE);
    let file = match kind {
        LockKind::Exclusive => fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path),
        LockKind::Shared => fs::File::open(&path),
    };
    let file = match file {
        Ok(file) => file,
        Err(e) if kind == LockKind::Shared && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(e) => return Err(vec![io_error(&path, "create", &e, NOTHING_WRITTEN)]),
    };
    let locked = match kind {
        LockKind::Exclusive => file.try_lock(),
        LockKind::Shared => file.try_lock_shared(),
    };
    match locked {
        Ok(()) => Ok(Some(OutputLock { _file: file })),
        Err(fs::TryLockError::WouldBlock) => Err(vec![error(
            Code::OutputLocked,
            out,
            format!("another amlfw is writing `{}`", out.display()),
            "run amlfw again when the other run has finished (the lock goes with its process)",
        )]),
        Err(fs::TryLockError::Error(e)) => Err(vec![io_error(&path, "lock", &e, NOTHING_WRITTEN)]),
    }
}

/// Writes `files` under `out`, after the directory guards of [`check_output_directory`]
/// (`protect` is the scenario file). The subdirectories the files live in (`terraform/`)
/// are owned by amlfw only as far as generated files go.
pub fn write(
    out: &Path,
    protect: &Path,
    files: &RenderedFiles,
) -> Result<WriteReport, Vec<Diagnostic>> {
    write_with(out, protect, files, None)
}

/// Where a test makes `write` fail, to prove a failure leaves the previous files intact.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedFailure {
    /// While writing the temporary file of the n-th changed file.
    Temporary(usize),
    /// While moving the n-th changed file into place (the manifest comes last).
    Rename(usize),
    /// While setting aside the n-th stale file for removal.
    Remove(usize),
    /// While moving the n-th changed file into place, and every restore fails too.
    RenameAndRestore(usize),
    /// `std::process::abort()` after this many renames: what a kill at that moment leaves.
    AbortAfterRenames(usize),
}

/// Help of a failure before anything was changed.
const NOTHING_WRITTEN: &str =
    "check that the --out directory is writable; nothing was changed, no file was written";
/// Help of a failure after changes that were all undone.
const ROLLED_BACK: &str = "nothing was changed: amlfw put back every file it had replaced or set aside; fix the cause and run it again";

/// `write`, with a failure injected for tests.
#[doc(hidden)]
pub fn write_with(
    out: &Path,
    protect: &Path,
    files: &RenderedFiles,
    inject: Option<InjectedFailure>,
) -> Result<WriteReport, Vec<Diagnostic>> {
    // The guards read the directory before it is locked only to never create a lock file
    // in a directory amlfw refuses; they run again under the lock, which is what counts.
    // (A concurrent amlfw cannot make them fail: none of its names count as foreign.)
    check_output_directory(out, protect)?;
    fs::create_dir_all(out).map_err(|e| vec![io_error(out, "create", &e, NOTHING_WRITTEN)])?;
    let _lock = lock_output(out, LockKind::Exclusive)?;
    check_output_directory(out, protect)?;

    // 1. Check every target, and sort the stale files into those amlfw provably wrote and
    //    the others, before any change.
    let mut problems = Vec::new();
    let mut report = WriteReport::default();
    let scan = scan(out, files, &mut problems);
    let previous = read_manifest(out).map_err(|d| vec![*d])?;
    let mut changes: Vec<Change<'_>> = Vec::new();
    for (relative, text) in files {
        let path = out.join(relative);
        match fs::read(&path) {
            Ok(existing) if existing == text.as_bytes() => report.unchanged.push(path),
            Ok(existing) if bytes_are_generated(&existing) => changes.push(Change::new(path, text.as_bytes(), Some(existing))),
            Ok(_) => problems.push(error(
                Code::ForeignFile,
                &path,
                format!("`{}` was not written by amlfw; it would be overwritten", path.display()),
                "move it away, or choose another --out directory; amlfw never overwrites a file without its header",
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => changes.push(Change::new(path, text.as_bytes(), None)),
            Err(e) => problems.push(io_error(&path, "read", &e, NOTHING_WRITTEN)),
        }
    }
    let mut removals = Vec::new();
    for stale in scan.stale {
        match KeptReason::decide(
            previous.as_ref().map(|(m, _)| m),
            &stale.relative,
            &stale.bytes,
        ) {
            None => removals.push(stale.path),
            Some(reason) => {
                report.warnings.push(reason.warning(out, &stale.relative));
                report.kept.push(stale.path);
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    // 2. Remove the leftovers of an interrupted run: under the lock no live run owns them.
    for leftover in scan.leftovers {
        fs::remove_file(&leftover)
            .map_err(|e| vec![io_error(&leftover, "remove", &e, NOTHING_WRITTEN)])?;
        report.leftovers_removed.push(leftover);
    }
    let manifest = next_manifest(out, files, previous.as_ref().map(|(m, _)| m)).to_json();
    let previous_manifest = previous.map(|(_, bytes)| bytes);
    if previous_manifest.as_deref() != Some(manifest.as_bytes()) {
        changes.push(Change::new(
            out.join(MANIFEST_FILE),
            manifest.as_bytes(),
            previous_manifest,
        ));
    }
    if changes.is_empty() && removals.is_empty() {
        return Ok(report);
    }
    let mut transaction = Transaction {
        out,
        changes,
        renamed: 0,
        set_aside: Vec::new(),
        renames: 0,
        inject,
    };
    transaction.run(&removals)?;
    for (path, aside) in &transaction.set_aside {
        // Under the lock a failure here only leaves a hidden leftover the next run removes.
        if let Err(e) = fs::remove_file(aside) {
            report.warnings.push(Diagnostic {
                severity: Severity::Warning,
                code: Code::WriteFailed,
                message: format!(
                    "removed `{}` from the module, but cannot delete its temporary `{}`: {}",
                    path.display(),
                    aside.display(),
                    reason(&e)
                ),
                location: Some(location(aside)),
                help: Some("the next `amlfw generate` removes it".to_owned()),
            });
        }
    }
    let manifest_path = out.join(MANIFEST_FILE);
    report.written = transaction
        .changes
        .into_iter()
        .map(|change| change.path)
        .filter(|path| *path != manifest_path)
        .collect();
    report.removed = removals;
    Ok(report)
}

/// One file a run replaces or creates, with what it replaces.
struct Change<'a> {
    path: PathBuf,
    temporary: PathBuf,
    text: &'a [u8],
    /// The bytes replaced, kept for a rollback; `None` when the file is new.
    previous: Option<Vec<u8>>,
}

impl<'a> Change<'a> {
    fn new(path: PathBuf, text: &'a [u8], previous: Option<Vec<u8>>) -> Change<'a> {
        Change {
            temporary: sibling(&path, "tmp"),
            path,
            text,
            previous,
        }
    }
}

/// The writing part of a run: temporaries, then renames, undone on failure.
struct Transaction<'a> {
    out: &'a Path,
    changes: Vec<Change<'a>>,
    /// How many of `changes` are in place.
    renamed: usize,
    /// Stale files renamed aside: (path, aside).
    set_aside: Vec<(PathBuf, PathBuf)>,
    /// Renames so far, for the abort hook.
    renames: usize,
    inject: Option<InjectedFailure>,
}

fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

impl Transaction<'_> {
    /// Abort here if the test hook says so (before rename number `renames`).
    fn abort_point(&self) {
        if self.inject == Some(InjectedFailure::AbortAfterRenames(self.renames)) {
            std::process::abort();
        }
    }

    fn rename(&mut self, from: &Path, to: &Path) -> std::io::Result<()> {
        self.abort_point();
        fs::rename(from, to)?;
        self.renames += 1;
        Ok(())
    }

    fn run(&mut self, removals: &[PathBuf]) -> Result<(), Vec<Diagnostic>> {
        // 1. Every temporary, written and synced, before any visible change.
        for index in 0..self.changes.len() {
            let change = &self.changes[index];
            let result = if self.inject == Some(InjectedFailure::Temporary(index)) {
                Err(std::io::Error::other("injected failure"))
            } else {
                change
                    .path
                    .parent()
                    .map_or(Ok(()), fs::create_dir_all)
                    .and_then(|()| write_file(&change.temporary, change.text))
            };
            if let Err(e) = result {
                for change in &self.changes[..=index] {
                    let _ = fs::remove_file(&change.temporary);
                }
                return Err(vec![io_error(&change.path, "write", &e, NOTHING_WRITTEN)]);
            }
        }
        // 2. Set every stale file aside: proves it can be removed (an immutable file or a
        //    directory without write permission fails here), while everything can still
        //    be put back.
        for (index, path) in removals.iter().enumerate() {
            let aside = sibling(path, "removed");
            let result = if self.inject == Some(InjectedFailure::Remove(index)) {
                Err(std::io::Error::other("injected failure"))
            } else {
                self.rename(path, &aside)
            };
            if let Err(e) = result {
                return Err(self.roll_back(path, "remove", &e));
            }
            self.set_aside.push((path.clone(), aside));
        }
        // 3. Each new file over its target, the manifest last.
        for index in 0..self.changes.len() {
            let (temporary, path) = (
                self.changes[index].temporary.clone(),
                self.changes[index].path.clone(),
            );
            let result = match self.inject {
                Some(InjectedFailure::Rename(n) | InjectedFailure::RenameAndRestore(n))
                    if n == index =>
                {
                    Err(std::io::Error::other("injected failure"))
                }
                _ => self.rename(&temporary, &path),
            };
            if let Err(e) = result {
                return Err(self.roll_back(&path, "write", &e));
            }
            self.renamed += 1;
        }
        self.abort_point();
        // 4. Make the renames durable (best effort: a failure to sync a directory is no
        //    reason to undo a complete module).
        let mut directories: Vec<&Path> = self
            .changes
            .iter()
            .map(|c| c.path.as_path())
            .chain(self.set_aside.iter().map(|(p, _)| p.as_path()))
            .filter_map(Path::parent)
            .collect();
        directories.sort();
        directories.dedup();
        for directory in directories {
            let _ = fs::File::open(directory).and_then(|d| d.sync_all());
        }
        Ok(())
    }

    /// Undoes every change so far after `action` on `failed` failed with `cause`, and says
    /// exactly what is on disk when the undoing fails too.
    fn roll_back(
        &mut self,
        failed: &Path,
        action: &str,
        cause: &std::io::Error,
    ) -> Vec<Diagnostic> {
        let restore_fails = matches!(self.inject, Some(InjectedFailure::RenameAndRestore(_)));
        let mut still_new = Vec::new();
        for change in self.changes[..self.renamed].iter().rev() {
            let restored = if restore_fails {
                Err(std::io::Error::other("injected failure"))
            } else {
                match &change.previous {
                    Some(bytes) => write_file(&change.temporary, bytes)
                        .and_then(|()| fs::rename(&change.temporary, &change.path)),
                    None => fs::remove_file(&change.path),
                }
            };
            if restored.is_err() {
                let _ = fs::remove_file(&change.temporary);
                still_new.push(change.path.clone());
            }
        }
        for change in &self.changes[self.renamed..] {
            let _ = fs::remove_file(&change.temporary);
        }
        let mut still_removed = Vec::new();
        for (path, aside) in self.set_aside.iter().rev() {
            if restore_fails || fs::rename(aside, path).is_err() {
                still_removed.push(path.clone());
            }
        }
        if still_new.is_empty() && still_removed.is_empty() {
            return vec![io_error(failed, action, cause, ROLLED_BACK)];
        }
        let list = |paths: &[PathBuf]| {
            paths
                .iter()
                .map(|p| format!("`{}`", relative_to(self.out, p)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (previous, absent): (Vec<&Change<'_>>, Vec<&Change<'_>>) = self
            .changes
            .iter()
            .filter(|c| !still_new.contains(&c.path))
            .partition(|c| c.previous.is_some());
        let paths = |changes: Vec<&Change<'_>>| -> Vec<PathBuf> {
            changes.into_iter().map(|c| c.path.clone()).collect()
        };
        let (previous, absent) = (paths(previous), paths(absent));
        let mut parts = Vec::new();
        if !still_new.is_empty() {
            parts.push(format!("new version: {}", list(&still_new)));
        }
        if !previous.is_empty() {
            parts.push(format!("previous version: {}", list(&previous)));
        }
        if !absent.is_empty() {
            parts.push(format!("not created: {}", list(&absent)));
        }
        if !still_removed.is_empty() {
            parts.push(format!(
                "removed (kept beside as hidden `.<name>.amlfw-{}.removed`): {}",
                std::process::id(),
                list(&still_removed)
            ));
        }
        vec![
            io_error(
                failed,
                action,
                cause,
                "amlfw could not undo its changes; see the next error for what is on disk",
            ),
            error(
                Code::WriteFailed,
                self.out,
                format!(
                    "`{}` is half-updated, each file whole: {}",
                    self.out.display(),
                    parts.join("; ")
                ),
                "fix the cause above and run `amlfw generate` again: it completes the update",
            ),
        ]
    }
}

/// Refuses output directories amlfw must not write into: the filesystem root, and a
/// non-empty directory that holds none of amlfw's output (other than `protect`, the
/// scenario file, which may sit beside the modules, and hidden files such as `.gitkeep`).
pub fn check_output_directory(out: &Path, protect: &Path) -> Result<(), Vec<Diagnostic>> {
    let resolved = out.canonicalize().unwrap_or_else(|_| out.to_path_buf());
    if resolved.parent().is_none() || out.parent().is_none() {
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
        if name == MANIFEST_FILE && fs::read(&path).is_ok_and(|b| Manifest::parse(&b).is_some()) {
            ours = true;
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
                fs::read(&path).is_ok_and(|bytes| bytes_are_generated(&bytes))
            }
        })
    })
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

fn location(path: &Path) -> Location {
    Location {
        file: path.display().to_string(),
        path: String::new(),
        position: None,
    }
}

fn error(code: Code, path: &Path, message: String, help: &str) -> Diagnostic {
    Diagnostic::error(code, message)
        .at(location(path))
        .help(help)
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string().to_lowercase(),
    }
}

fn io_error(path: &Path, action: &str, e: &std::io::Error, help: &str) -> Diagnostic {
    error(
        Code::WriteFailed,
        path,
        format!("cannot {action} `{}`: {}", path.display(), reason(e)),
        help,
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
    const NO_SCENARIO: &str = "/nonexistent/s.yaml";

    #[test]
    fn writes_skips_unchanged_and_removes_stale_generated_files() {
        let out = temp_dir("write");
        let first = files(&[("terraform/a.tf", GENERATED), ("terraform/b.tf", GENERATED)]);
        let report = write(&out, NO_SCENARIO.as_ref(), &first).unwrap();
        assert_eq!(report.written.len(), 2);
        fs::write(out.join("terraform/notes.txt"), "mine").unwrap();
        let second = files(&[("terraform/a.tf", GENERATED)]);
        let report = write(&out, NO_SCENARIO.as_ref(), &second).unwrap();
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
        let problems = write(&out, NO_SCENARIO.as_ref(), &new).unwrap_err();
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
            write(
                &path,
                NO_SCENARIO.as_ref(),
                &files(&[("terraform/a.tf", GENERATED)])
            )
            .unwrap_err()[0]
                .code,
            Code::OutputNotADirectory
        );
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn check_reports_changed_missing_and_stale_files_and_writes_nothing() {
        let out = temp_dir("check");
        write(
            &out,
            NO_SCENARIO.as_ref(),
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
            write(&out, NO_SCENARIO.as_ref(), &first).unwrap();
            let second = files(&[
                ("terraform/a.tf", GENERATED),
                ("terraform/b.tf", GENERATED),
                ("terraform/c.tf", GENERATED),
            ]);
            assert!(
                write_with(&out, NO_SCENARIO.as_ref(), &second, Some(inject)).is_err(),
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
        // `write` runs the same guards.
        assert_eq!(
            write(
                &out,
                &out.join("s.yaml"),
                &files(&[("terraform/a.tf", GENERATED)])
            )
            .unwrap_err()[0]
                .code,
            Code::ForeignOutputDirectory
        );
        fs::remove_file(out.join("main.go")).unwrap();
        write(
            &out,
            &out.join("s.yaml"),
            &files(&[("terraform/a.tf", GENERATED)]),
        )
        .unwrap();
        fs::write(out.join("main.go"), "package main").unwrap();
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

    #[test]
    fn a_stale_file_is_removed_only_when_the_manifest_proves_it_is_amlfws() {
        let out = temp_dir("ownership");
        let old = files(&[("terraform/a.tf", GENERATED), ("terraform/b.tf", GENERATED)]);
        write(&out, NO_SCENARIO.as_ref(), &old).unwrap();
        let manifest = Manifest::parse(&fs::read(out.join(MANIFEST_FILE)).unwrap()).unwrap();
        assert_eq!(
            manifest.files.keys().collect::<Vec<_>>(),
            ["terraform/a.tf", "terraform/b.tf"]
        );
        assert_eq!(
            manifest.files["terraform/a.tf"],
            content_hash(GENERATED.as_bytes())
        );
        // A copy (not listed) and an edit (hash differs) are kept, with a warning each.
        fs::write(out.join("terraform/copy.tf"), GENERATED).unwrap();
        fs::write(out.join("terraform/b.tf"), format!("{GENERATED}# mine\n")).unwrap();
        let new = files(&[("terraform/a.tf", GENERATED)]);
        let report = write(&out, NO_SCENARIO.as_ref(), &new).unwrap();
        assert_eq!(report.removed, Vec::<PathBuf>::new());
        assert_eq!(
            report.kept,
            [out.join("terraform/b.tf"), out.join("terraform/copy.tf")]
        );
        let codes: Vec<Code> = report.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, [Code::StaleFileKept, Code::StaleFileKept]);
        assert!(
            report.warnings[0].message.contains("edited"),
            "{:?}",
            report.warnings
        );
        assert!(out.join("terraform/b.tf").exists() && out.join("terraform/copy.tf").exists());
        // The kept files are not amlfw's any more: the new manifest does not list them.
        let manifest = Manifest::parse(&fs::read(out.join(MANIFEST_FILE)).unwrap()).unwrap();
        assert_eq!(
            manifest.files.keys().collect::<Vec<_>>(),
            ["terraform/a.tf"]
        );
        let drifts = check(&out, &new).unwrap();
        assert!(
            matches!(
                drifts.as_slice(),
                [
                    Drift::Stale {
                        kept: Some(KeptReason::NotInManifest),
                        ..
                    },
                    Drift::Stale {
                        kept: Some(KeptReason::NotInManifest),
                        ..
                    }
                ]
            ),
            "{drifts:?}"
        );
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn the_manifest_keeps_entries_of_directories_this_run_does_not_manage() {
        let out = temp_dir("carry");
        let all = files(&[
            ("terraform/a.tf", GENERATED),
            ("bicep/main.bicep", GENERATED),
        ]);
        write(&out, NO_SCENARIO.as_ref(), &all).unwrap();
        write(
            &out,
            NO_SCENARIO.as_ref(),
            &files(&[("terraform/a.tf", GENERATED)]),
        )
        .unwrap();
        let manifest = Manifest::parse(&fs::read(out.join(MANIFEST_FILE)).unwrap()).unwrap();
        assert_eq!(
            manifest.files.keys().collect::<Vec<_>>(),
            ["bicep/main.bicep", "terraform/a.tf"]
        );
        let report = check_report(&out, &all).unwrap();
        assert_eq!(
            (report.drifts.len(), report.manifest),
            (0, ManifestState::Current)
        );
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn leftovers_are_recognised_by_name_and_content() {
        assert!(is_leftover(".main.tf.amlfw-123.tmp", GENERATED.as_bytes()));
        // Cut short within the header line, by a kill during the write.
        assert!(is_leftover(
            ".main.tf.amlfw-123.tmp",
            &GENERATED.as_bytes()[..10]
        ));
        assert!(!is_leftover(
            ".main.tf.amlfw-123.tmp",
            b"# Code"[..].repeat(2).as_slice()
        ));
        assert!(is_leftover(".main.tf.amlfw-123.tmp", b""));
        assert!(is_leftover(
            ".main.tf.amlfw-1.removed",
            GENERATED.as_bytes()
        ));
        assert!(is_leftover(".main.tf.amlfw-1.old", GENERATED.as_bytes()));
        assert!(is_leftover(
            ".amlfw-manifest.json.amlfw-9.tmp",
            b"{\n  \"files\""
        ));
        assert!(!is_leftover(".main.tf.amlfw-12a.tmp", GENERATED.as_bytes()));
        assert!(!is_leftover(".main.tf.amlfw-12.bak", GENERATED.as_bytes()));
        assert!(!is_leftover("main.tf.amlfw-12.tmp", GENERATED.as_bytes()));
        assert!(!is_leftover(".main.tf.amlfw-12.tmp", b"my notes\n"));
        assert!(!is_leftover(".x.json.amlfw-9.tmp", b"{}"));
    }

    #[test]
    fn a_failure_that_cannot_be_undone_says_exactly_what_is_on_disk() {
        let old = "# Code generated by amlfw from s.yaml (catalog old); DO NOT EDIT.\n";
        let out = temp_dir("restore");
        write(
            &out,
            NO_SCENARIO.as_ref(),
            &files(&[("terraform/a.tf", old), ("terraform/b.tf", old)]),
        )
        .unwrap();
        let second = files(&[("terraform/a.tf", GENERATED), ("terraform/c.tf", GENERATED)]);
        let problems = write_with(
            &out,
            NO_SCENARIO.as_ref(),
            &second,
            Some(InjectedFailure::RenameAndRestore(1)),
        )
        .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(
            problems[1].message,
            format!(
                "`{}` is half-updated, each file whole: new version: `terraform/a.tf`; previous version: `{MANIFEST_FILE}`; not created: `terraform/c.tf`; removed (kept beside as hidden `.<name>.amlfw-{}.removed`): `terraform/b.tf`",
                out.display(),
                std::process::id()
            )
        );
        assert_eq!(
            fs::read_to_string(out.join("terraform/a.tf")).unwrap(),
            GENERATED
        );
        // The next run completes the update and removes the leftovers.
        let report = write(&out, NO_SCENARIO.as_ref(), &second).unwrap();
        assert_eq!(report.leftovers_removed.len(), 1, "{report:?}");
        assert!(check(&out, &second).unwrap().is_empty());
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn an_out_path_is_made_absolute_and_normal_before_use() {
        let cwd = Path::new("/work/repo");
        assert_eq!(
            resolve_out(Path::new("x/nonexistent/.."), cwd),
            Path::new("x")
        );
        assert_eq!(resolve_out(Path::new("./x/./y"), cwd), Path::new("x/y"));
        assert_eq!(resolve_out(Path::new("."), cwd), Path::new("."));
        assert_eq!(
            resolve_out(Path::new("../other"), cwd),
            Path::new("/work/other")
        );
        assert_eq!(
            resolve_out(Path::new("/nonexistent/.."), cwd),
            Path::new("/")
        );
        assert_eq!(resolve_out(Path::new("/../../x"), cwd), Path::new("/x"));
    }

    #[test]
    fn a_line_ending_only_change_shows_every_line_with_its_carriage_return() {
        let drift = Drift::Changed {
            path: PathBuf::from("t/main.tf"),
            on_disk: "a\r\nb\r\n".to_owned(),
            generated: "a\nb\n".to_owned(),
        };
        let diff = drift.unified_diff(false);
        assert!(
            diff.starts_with("# t/main.tf: changed (only line endings: CRLF on disk, LF generated; ␍ marks a carriage return)\n"),
            "{diff}"
        );
        assert!(diff.contains("-a␍\n-b␍\n+a\n+b\n"), "{diff}");
    }

    #[test]
    fn a_stale_file_that_cannot_be_set_aside_changes_nothing() {
        let old = "# Code generated by amlfw from s.yaml (catalog old); DO NOT EDIT.\n";
        let out = temp_dir("remove");
        let first = files(&[("terraform/a.tf", old), ("terraform/b.tf", old)]);
        write(&out, NO_SCENARIO.as_ref(), &first).unwrap();
        let manifest = fs::read(out.join(MANIFEST_FILE)).unwrap();
        let second = files(&[("terraform/a.tf", GENERATED), ("terraform/c.tf", GENERATED)]);
        let problems = write_with(
            &out,
            NO_SCENARIO.as_ref(),
            &second,
            Some(InjectedFailure::Remove(0)),
        )
        .unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.starts_with("cannot remove `"),
            "{problems:?}"
        );
        assert_eq!(problems[0].help.as_deref(), Some(ROLLED_BACK));
        let mut names: Vec<String> = fs::read_dir(out.join("terraform"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.tf", "b.tf"], "leftovers or a new file");
        assert_eq!(fs::read_to_string(out.join("terraform/a.tf")).unwrap(), old);
        assert_eq!(fs::read(out.join(MANIFEST_FILE)).unwrap(), manifest);
        let _ = fs::remove_dir_all(&out);
    }
}
