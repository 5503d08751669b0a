//! One run at a time: the advisory lock on `<out>/.amlfw.lock`.

use std::fs;
use std::path::Path;

use super::{NOTHING_WRITTEN, error, io_error};
use crate::diagnostic::{Code, Diagnostic};

/// The advisory lock file at the root of `--out`. Never removed: removing a lock file
/// races with a run that has just opened it and would then lock a deleted file.
pub const LOCK_FILE: &str = ".amlfw.lock";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LockKind {
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
pub(super) fn lock_output(
    out: &Path,
    kind: LockKind,
) -> Result<Option<OutputLock>, Vec<Diagnostic>> {
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
