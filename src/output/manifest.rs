//! `amlfw-manifest.json`: the record of what amlfw wrote, which proves a stale file is
//! amlfw's before it is removed.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::scan::directories_of;
use super::{NOTHING_WRITTEN, error, io_error, location};
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::render::RenderedFiles;

/// The ownership record `generate` writes at the root of `--out`.
pub const MANIFEST_FILE: &str = "amlfw-manifest.json";

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
    pub(super) fn decide(
        manifest: Option<&Manifest>,
        relative: &str,
        bytes: &[u8],
    ) -> Option<KeptReason> {
        let Some(manifest) = manifest else {
            return Some(KeptReason::NoManifest);
        };
        match manifest.files.get(relative) {
            None => Some(KeptReason::NotInManifest),
            Some(hash) if *hash == content_hash(bytes) => None,
            Some(_) => Some(KeptReason::Edited),
        }
    }

    pub(super) fn explain(self) -> &'static str {
        match self {
            KeptReason::NoManifest => {
                "the directory has no amlfw-manifest.json (a module of an older amlfw)"
            }
            KeptReason::NotInManifest => "amlfw-manifest.json does not list it",
            KeptReason::Edited => "it was edited after amlfw wrote it",
        }
    }

    pub(super) fn warning(self, out: &Path, relative: &str) -> Diagnostic {
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

/// The manifest at the root of `out` and its bytes; `None` when there is none. A file of
/// that name that is not amlfw's is refused rather than overwritten.
pub(super) fn read_manifest(out: &Path) -> Result<Option<(Manifest, Vec<u8>)>, Box<Diagnostic>> {
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
pub(super) fn next_manifest(
    out: &Path,
    files: &RenderedFiles,
    previous: Option<&Manifest>,
) -> Manifest {
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
