//! Writing generated files without ever losing a file amlfw did not write.
//!
//! The rules:
//! - A file whose first line carries the generated header ([`GENERATED_MARKER`](crate::render::GENERATED_MARKER)) may be
//!   overwritten; every other file is the user's and is never modified or deleted.
//! - A file is removed only when amlfw can prove it wrote it: `amlfw-manifest.json` at the
//!   root of `--out` lists every file of the last run with the SHA-256 of its bytes, and a
//!   generated file the new plan no longer produces is removed only when the manifest lists
//!   it with the hash of its current bytes. Every other such file is kept, with a warning.
//! - The manifest is also the module's one provenance record (amlfw version, catalog
//!   revision, scenario file name and hash, service tag file): the generated files carry a
//!   constant header, so a catalog update changes only the files whose rules change and
//!   this record, which `check` compares like a generated file.
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
//!
//! The submodules follow those rules: `manifest.rs` (the ownership and provenance record,
//! why a stale file is kept), `lock.rs` (one run at a time), `scan.rs` (what is generated,
//! stale or a leftover), `drift.rs` (`--check`), `transaction.rs` (the write), `guards.rs`
//! (directories amlfw refuses), `reuse.rs` (the proof that a run would write nothing,
//! so `generate` can skip rendering). The public API is re-exported here: `amlfw::output::write`,
//! ...

mod drift;
mod guards;
mod lock;
mod manifest;
mod reuse;
mod scan;
#[cfg(test)]
mod tests;
mod transaction;

use std::fs;
use std::io::Write as _;
use std::path::Path;

use crate::diagnostic::{Code, Diagnostic, Location};

pub use drift::{CheckReport, Drift, check, check_report};
pub use guards::{check_output_directory, resolve_out};
pub use lock::{LOCK_FILE, OutputLock};
pub use manifest::{
    KeptReason, MANIFEST_FILE, MANIFEST_FORMAT, Manifest, Provenance, ServiceTagsProvenance,
    content_hash, manifest_text,
};
pub use reuse::{CACHE_FILE, Verified, render_key, reuse, verify};
pub use scan::{is_generated, is_leftover};
pub use transaction::{InjectedFailure, WriteReport, write, write_recorded, write_with};

/// Help of a failure before anything was changed.
const NOTHING_WRITTEN: &str =
    "check that the --out directory is writable; nothing was changed, no file was written";
/// Help of a failure after changes that were all undone.
const ROLLED_BACK: &str = "nothing was changed: amlfw put back every file it had replaced or set aside; fix the cause and run it again";

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
