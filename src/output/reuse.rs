//! `generate` on an output directory that is already what it would write: a proof from the
//! last run's record, instead of rendering every file again to find nothing to change.
//!
//! Rendering is most of a run (Tera parses every template of the target at start-up), and
//! the commonest run is a regeneration that changes nothing (a pipeline's
//! `amlfw generate && git diff --exit-code`). Rendering is a pure function of the plan, the
//! target, the scenario's name and the renderer itself, so a run that wrote a module
//! records a key of those inputs in [`CACHE_FILE`]; the next run with the same key, whose
//! files are all still byte for byte what the manifest says, would write nothing, and says
//! so without rendering. Anything else, including a file edited by hand, a stale or
//! leftover file, or a missing or unreadable record, takes the full path, which is always
//! correct: the record is only ever a reason to skip work, never to trust a file.
//!
//! The record is deterministic (no times, no machine paths), so committing it or ignoring
//! it are both fine. `--check` never uses it: it always renders and compares.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use std::fmt::Write as _;
use std::hash::{Hash as _, Hasher};

use sha2::Digest as _;

use super::WriteReport;
use super::lock::{LockKind, lock_output};
use super::manifest::{MANIFEST_FILE, Manifest, Provenance, content_hash};
use super::scan::{scan, sibling};
use crate::plan::Plan;
use crate::render::{RENDERER_FINGERPRINT, RenderedFiles, Target};

/// The record of the last run that wrote the output directory, at its root.
pub const CACHE_FILE: &str = ".amlfw-render-cache";

/// The first line of [`CACHE_FILE`]: the format, so that another format is a miss.
const CACHE_FORMAT: &str = "amlfw render cache 1";

/// The key of one rendering: SHA-256 over the amlfw version, [`RENDERER_FINGERPRINT`]
/// (templates and renderer source), the target, the scenario's name, the provenance the
/// manifest records, and the whole plan but the scenario's path as given, which no
/// generated file shows: the same scenario run from another directory has one key.
///
/// The plan goes in through its derived `Hash`, which the compiler keeps complete (a new
/// field of any plan type must be hashable, or amlfw does not build) and which is
/// unambiguous: strings end with a byte UTF-8 never holds, sequences start with their
/// length, enums with their variant. Its `Debug` text would do too, but formats the
/// thousands of prefixes of an IP-mode plan, the most expensive part of an up-to-date
/// run after the service tag file's parse. The plan has no hash maps, so the bytes are
/// the same on every run; a platform of another pointer width only misses the record.
/// The plan is borrowed mutably only to leave that path out without copying the plan (at
/// 1,000 workspaces a copy was most of the key's memory); it is put back before return.
/// Parts of the header are separated by a character none of them holds unquoted, so
/// moving text between parts changes the key.
#[must_use]
pub fn render_key(
    plan: &mut Plan,
    target: Target,
    scenario_name: &str,
    provenance: &Provenance,
) -> String {
    let path = std::mem::take(&mut plan.scenario);
    let mut hasher = KeyHasher(sha2::Sha256::new());
    // Writing to a hash cannot fail.
    let _ = write!(
        hasher,
        "{CACHE_FORMAT}\u{1f}{}\u{1f}{RENDERER_FINGERPRINT:#018x}\u{1f}{target:?}\u{1f}{scenario_name:?}\u{1f}{provenance:?}\u{1f}",
        env!("CARGO_PKG_VERSION"),
    );
    plan.hash(&mut hasher);
    plan.scenario = path;
    hex(&hasher.0.finalize())
}

/// A SHA-256 that text (`fmt::Write`) and `Hash` values are written into: the key's
/// parts go straight into the hash, never held.
struct KeyHasher(sha2::Sha256);

impl std::fmt::Write for KeyHasher {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0.update(text.as_bytes());
        Ok(())
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Not what the key uses (it takes the whole digest), but a true hash of what was
    /// written, as `Hasher` promises.
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The record a run that wrote `files` with the manifest `manifest` leaves: the format,
/// the key, the manifest's hash, and the run's files, one a line.
pub(super) fn cache_text(key: &str, manifest: &[u8], files: &RenderedFiles) -> String {
    let mut text = format!(
        "{CACHE_FORMAT}\nkey {key}\nmanifest {}\n",
        content_hash(manifest)
    );
    for relative in files.keys() {
        text.push_str("file ");
        text.push_str(relative);
        text.push('\n');
    }
    text
}

/// Whether `bytes` start like a record [`cache_text`] writes (or are its first line cut
/// short by a kill): how a temporary of [`remember`] is known as a leftover.
pub(super) fn is_record_start(bytes: &[u8]) -> bool {
    let format = CACHE_FORMAT.as_bytes();
    bytes.starts_with(format) || format.starts_with(bytes)
}

/// What [`cache_text`] wrote, read back; `None` for anything else.
fn parse_cache(text: &str) -> Option<(&str, &str, Vec<&str>)> {
    let mut lines = text.lines();
    if lines.next()? != CACHE_FORMAT {
        return None;
    }
    let key = lines.next()?.strip_prefix("key ")?;
    let manifest = lines.next()?.strip_prefix("manifest ")?;
    let files = lines
        .map(|line| line.strip_prefix("file "))
        .collect::<Option<Vec<&str>>>()?;
    Some((key, manifest, files))
}

/// An output directory that holds exactly what its last run recorded: the record's
/// manifest is the one that run wrote, every file of the run still has the bytes the
/// manifest names, and the directories hold no stale or leftover file (which a full run
/// would remove or warn about). What [`Verified::reuse`] then needs is the key.
///
/// Apart from the key so that the directory can be read while the run does other work
/// (an IP-mode run reads its service tag file meanwhile): neither depends on the other.
#[derive(Debug)]
pub struct Verified {
    key: String,
    unchanged: Vec<PathBuf>,
}

/// The record of `out` and proof that the directory is still what it says; `None` when
/// there is no record or anything differs, which sends the caller down the full path.
#[must_use]
pub fn verify(out: &Path) -> Option<Verified> {
    // Shared, as `--check` reads: a writer holds the lock exclusively while it changes
    // the directory, and removes the record before its first change.
    let _lock = lock_output(out, LockKind::Shared).ok()??;
    let record = fs::read_to_string(out.join(CACHE_FILE)).ok()?;
    let (recorded_key, manifest_hash, relatives) = parse_cache(&record)?;
    if relatives.is_empty() {
        return None;
    }
    let manifest_bytes = fs::read(out.join(MANIFEST_FILE)).ok()?;
    if content_hash(&manifest_bytes) != manifest_hash {
        return None;
    }
    let manifest = Manifest::parse(&manifest_bytes)?;
    let mut unchanged = Vec::new();
    for relative in &relatives {
        let path = out.join(relative);
        let bytes = fs::read(&path).ok()?;
        if manifest.files.get(*relative) != Some(&content_hash(&bytes)) {
            return None;
        }
        unchanged.push(path);
    }
    // The scan of a full run, over the same directories: it reads only file names and
    // the files that are not the run's.
    let names: BTreeMap<String, ()> = relatives
        .iter()
        .map(|relative| ((*relative).to_owned(), ()))
        .collect();
    let mut problems = Vec::new();
    let found = scan(out, &names, &mut problems);
    if !problems.is_empty() || !found.stale.is_empty() || !found.leftovers.is_empty() {
        return None;
    }
    Some(Verified {
        key: recorded_key.to_owned(),
        unchanged,
    })
}

impl Verified {
    /// The report of a run that would write nothing, when the verified directory was
    /// written by rendering with `key`; `None` sends the caller down the full path.
    #[must_use]
    pub fn reuse(self, key: &str) -> Option<WriteReport> {
        (self.key == key).then(|| WriteReport {
            unchanged: self.unchanged,
            ..WriteReport::default()
        })
    }
}

/// The report of a run that would write nothing, when `out` provably holds what rendering
/// with `key` writes ([`verify`], then [`Verified::reuse`]).
#[must_use]
pub fn reuse(out: &Path, key: &str) -> Option<WriteReport> {
    verify(out)?.reuse(key)
}

/// Removes the record before a run changes anything: from then on the directory is not
/// what any record describes until the run records itself again. Returns the record, for
/// a run that fails and undoes every change to put back.
pub(super) fn forget(out: &Path) -> std::io::Result<Option<String>> {
    let path = out.join(CACHE_FILE);
    let previous = fs::read_to_string(&path).ok();
    match fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(previous),
    }
}

/// Records a finished run (temporary file, then one rename). A failure only costs the
/// next run its shortcut, so it is not reported.
pub(super) fn remember(out: &Path, text: &str) {
    // A sibling name, so a temporary a kill leaves is a leftover the next run removes.
    let temporary: PathBuf = sibling(&out.join(CACHE_FILE), "tmp");
    if fs::write(&temporary, text).is_err() || fs::rename(&temporary, out.join(CACHE_FILE)).is_err()
    {
        let _ = fs::remove_file(&temporary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(yaml: &str) -> Plan {
        let catalog = crate::catalog::Catalog::embedded();
        let scenario = crate::scenario::load_bytes(yaml.as_bytes(), "s.yaml", &catalog)
            .unwrap_or_else(|d| panic!("{d:?}"));
        crate::planner::plan(&scenario, &catalog).unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn comment_of(yaml: &str) -> String {
        format!("# a comment\n{yaml}")
    }

    #[test]
    fn the_key_changes_with_every_input_of_rendering() {
        let yaml = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw-one\n    region: eastus2\n    compute_subnets: [10.0.1.0/24]\n    compute: { clusters: true }\n";
        let mut plan = plan_of(yaml);
        let provenance = Provenance::new(&plan, "s.yaml", yaml.as_bytes());
        let key = render_key(&mut plan, Target::All, "s.yaml", &provenance);
        assert_eq!(
            key,
            render_key(&mut plan, Target::All, "s.yaml", &provenance)
        );
        assert_eq!(plan.scenario, "s.yaml", "the path is put back");
        let commented = Provenance::new(&plan, "s.yaml", comment_of(yaml).as_bytes());
        let mut other_plan = plan_of(&yaml.replace("10.0.1.0/24", "10.0.2.0/24"));
        let mut moved = plan.clone();
        moved.scenario = "elsewhere/s.yaml".to_owned();
        assert_eq!(
            key,
            render_key(&mut moved, Target::All, "s.yaml", &provenance),
            "the path the scenario was given by is in no file"
        );
        for (what, other) in [
            (
                "target",
                render_key(&mut plan, Target::Terraform, "s.yaml", &provenance),
            ),
            (
                "scenario name",
                render_key(&mut plan, Target::All, "t.yaml", &provenance),
            ),
            (
                "plan",
                render_key(&mut other_plan, Target::All, "s.yaml", &provenance),
            ),
            (
                "scenario bytes (the manifest records their hash)",
                render_key(&mut plan, Target::All, "s.yaml", &commented),
            ),
        ] {
            assert_ne!(key, other, "{what}");
        }
    }
}
