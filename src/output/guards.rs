//! Output directories amlfw refuses before writing anything, and the one path it uses.

use std::fs;
use std::path::{Component, Path, PathBuf};

use super::error;
use super::manifest::{MANIFEST_FILE, Manifest};
use super::scan::bytes_are_generated;
use crate::diagnostic::{Code, Diagnostic};

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
