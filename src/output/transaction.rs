//! The write: every file to a temporary sibling, then renames, undone on failure.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::guards::check_output_directory;
use super::lock::{LockKind, lock_output};
use super::manifest::{KeptReason, MANIFEST_FILE, Provenance, next_manifest, read_manifest};
use super::reuse;
use super::scan::{bytes_are_generated, relative_to, scan, sibling};
use super::{NOTHING_WRITTEN, ROLLED_BACK, error, io_error, location, reason};
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::render::RenderedFiles;

/// What `write` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// Files created or changed.
    pub written: Vec<PathBuf>,
    /// Files already up to date (left untouched).
    pub unchanged: Vec<PathBuf>,
    /// Whether `amlfw-manifest.json` was created or changed (not in `written`): alone when
    /// only the provenance changed (a catalog update that changes no rule).
    pub manifest_written: bool,
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

/// Writes `files` under `out`, after the directory guards of [`check_output_directory`]
/// (`protect` is the scenario file), recording `provenance` in the manifest. The subdirectories the files live in (`terraform/`)
/// are owned by amlfw only as far as generated files go.
pub fn write(
    out: &Path,
    protect: &Path,
    files: &RenderedFiles,
    provenance: &Provenance,
) -> Result<WriteReport, Vec<Diagnostic>> {
    write_with(out, protect, files, provenance, None)
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

/// `write`, with a failure injected for tests.
#[doc(hidden)]
pub fn write_with(
    out: &Path,
    protect: &Path,
    files: &RenderedFiles,
    provenance: &Provenance,
    inject: Option<InjectedFailure>,
) -> Result<WriteReport, Vec<Diagnostic>> {
    write_recorded(out, protect, files, provenance, None, inject)
}

/// `write`, recording the run under `render_key` (see [`reuse`](super::reuse)) when it
/// succeeds, so that the next run with the same key can skip rendering.
#[doc(hidden)]
pub fn write_recorded(
    out: &Path,
    protect: &Path,
    files: &RenderedFiles,
    provenance: &Provenance,
    render_key: Option<&str>,
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
    let manifest =
        next_manifest(out, files, previous.as_ref().map(|(m, _)| m), provenance).to_json();
    let previous_manifest = previous.map(|(_, bytes)| bytes);
    if previous_manifest.as_deref() != Some(manifest.as_bytes()) {
        changes.push(Change::new(
            out.join(MANIFEST_FILE),
            manifest.as_bytes(),
            previous_manifest,
        ));
    }
    let record = render_key.map(|key| reuse::cache_text(key, manifest.as_bytes(), files));
    if changes.is_empty() && removals.is_empty() {
        if let Some(record) = &record {
            reuse::remember(out, record);
        }
        return Ok(report);
    }
    let mut transaction = Transaction {
        out,
        changes,
        renamed: 0,
        set_aside: Vec::new(),
        renames: 0,
        inject,
        undone: false,
    };
    // Before the first change: a run that fails or is killed half-way must leave no record
    // that describes the directory as it was. Put back when the run undid all it did.
    let previous_record = reuse::forget(out).map_err(|e| {
        vec![io_error(
            &out.join(reuse::CACHE_FILE),
            "remove",
            &e,
            NOTHING_WRITTEN,
        )]
    })?;
    if let Err(diagnostics) = transaction.run(&removals) {
        if let Some(previous) = previous_record.filter(|_| transaction.undone) {
            reuse::remember(out, &previous);
        }
        return Err(diagnostics);
    }
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
    report.manifest_written = transaction
        .changes
        .iter()
        .any(|change| change.path == manifest_path);
    report.written = transaction
        .changes
        .into_iter()
        .map(|change| change.path)
        .filter(|path| *path != manifest_path)
        .collect();
    report.removed = removals;
    if let Some(record) = &record {
        reuse::remember(out, record);
    }
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
    /// After a failure: whether every change was undone (or none made), so the directory
    /// is exactly what it was.
    undone: bool,
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
                self.undone = true;
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
            self.undone = true;
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
