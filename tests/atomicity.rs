//! `amlfw generate` killed at any point, and run concurrently: every file on disk is whole,
//! the next run cleans up after the killed one, and concurrent runs fail only with the
//! lock message (issue 11, items 2 and 11).

// Test helpers may panic on unexpected I/O failures: that is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::root;

/// A small deterministic generator (xorshift64*): the seed is printed, so a failure can be
/// replayed with `AMLFW_TEST_SEED=<seed>`.
struct Random(u64);

impl Random {
    fn from_env() -> Random {
        let seed = std::env::var("AMLFW_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("AMLFW_TEST_SEED={seed}");
        Random(seed)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("amlfw-atomicity-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn amlfw() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_amlfw"));
    command.current_dir(root()).env_remove("CI");
    command
}

fn generate(scenario: &str, out: &Path, extra: &[&str]) -> Output {
    amlfw()
        .args(["generate", scenario, "--out", out.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file under `dir` with its bytes, by relative path.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let relative = path.strip_prefix(base).unwrap().to_string_lossy();
                out.insert(relative.into_owned(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

/// amlfw's temporary names: `.<file name>.amlfw-<pid>.<kind>`.
fn is_leftover_name(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    name.starts_with('.')
        && name.contains(".amlfw-")
        && name != ".amlfw.lock"
        && name != amlfw::output::CACHE_FILE
}

/// The golden scenarios that plan without a service tag file.
fn scenarios() -> Vec<String> {
    support::golden_cases()
        .into_iter()
        .filter(|case| {
            !root()
                .join("golden")
                .join(case)
                .join("service-tags")
                .exists()
        })
        .map(|case| format!("golden/{case}/scenario.yaml"))
        .collect()
}

/// What `generate` writes for `scenario` into an empty directory (manifest included, lock
/// file left out).
fn reference(scenario: &str, name: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = temp_dir(name);
    let output = generate(scenario, &dir, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut files = snapshot(&dir);
    files.remove(".amlfw.lock");
    let _ = std::fs::remove_dir_all(&dir);
    files
}

/// Lays out `files` (a reference module) in a new directory `out`: what `generate` of that
/// scenario leaves, without running it.
fn install(out: &Path, files: &BTreeMap<String, Vec<u8>>) {
    let _ = std::fs::remove_dir_all(out);
    for (relative, bytes) in files {
        let path = out.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// The invariants after a run of `new` over a module of `old` was killed: each file is
/// whole (exactly one side's bytes), a file both sides produce is never missing, and
/// anything else is a recognisable leftover. Returns the number of leftovers.
fn assert_whole(
    out: &Path,
    old: &BTreeMap<String, Vec<u8>>,
    new: &BTreeMap<String, Vec<u8>>,
    what: &str,
) -> usize {
    let on_disk = snapshot(out);
    let mut leftovers = 0;
    for (path, bytes) in &on_disk {
        if path == ".amlfw.lock" {
            continue;
        }
        if is_leftover_name(path) {
            leftovers += 1;
            continue;
        }
        assert!(
            old.get(path) == Some(bytes) || new.get(path) == Some(bytes),
            "{what}: `{path}` is neither the old nor the new file"
        );
    }
    // The render record may be gone: a run removes it before its first change, so that a
    // directory left half-way is never taken for one the record describes.
    for path in old
        .keys()
        .filter(|p| new.contains_key(*p) && p.as_str() != amlfw::output::CACHE_FILE)
    {
        assert!(on_disk.contains_key(path), "{what}: `{path}` is missing");
    }
    leftovers
}

/// After a killed run: the same `generate` again succeeds, removes every leftover (naming
/// it), leaves exactly the new module, and `--check` is clean.
fn assert_recovers(
    scenario: &str,
    out: &Path,
    new: &BTreeMap<String, Vec<u8>>,
    leftovers: usize,
    what: &str,
) {
    let output = generate(scenario, out, &[]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{what}: rerun failed: {stderr}");
    assert_eq!(
        stderr.matches("removed leftover").count(),
        leftovers,
        "{what}: {stderr}"
    );
    let mut on_disk = snapshot(out);
    on_disk.remove(".amlfw.lock");
    assert!(
        on_disk == *new,
        "{what}: after the rerun the directory holds {:?}",
        on_disk.keys().collect::<Vec<_>>()
    );
    let output = generate(scenario, out, &["--check"]);
    assert!(
        output.status.success(),
        "{what}: --check after the rerun: {}",
        text(&output.stdout)
    );
}

#[test]
fn a_run_aborted_after_any_rename_leaves_whole_files_and_the_next_run_recovers() {
    let mut random = Random::from_env();
    let scenarios = scenarios();
    let started = Instant::now();
    // The aborted runs work in a directory of their own, so a core dump (where the system
    // writes them) lands there, not in the repository or the module.
    let cwd = temp_dir("abort-cwd");
    for pair in 0..2 {
        let a = &scenarios[random.below(scenarios.len())];
        let b = loop {
            let b = &scenarios[random.below(scenarios.len())];
            if b != a {
                break b;
            }
        };
        let old = reference(a, "reference-a");
        let new = reference(b, "reference-b");
        let mut aborted = 0;
        for renames in 0..=new.len() + 2 {
            let what = format!("{a} -> {b}, abort after {renames} renames");
            let out = std::env::temp_dir().join(format!(
                "amlfw-atomicity-abort-{pair}-{}",
                std::process::id()
            ));
            install(&out, &old);
            let output = amlfw()
                .current_dir(&cwd)
                .arg("generate")
                .arg(root().join(b))
                .args(["--out", out.to_str().unwrap()])
                .env("AMLFW_TEST_ABORT_AFTER_RENAMES", renames.to_string())
                .stderr(Stdio::null())
                .output()
                .unwrap();
            // Aborted (by a signal, so no exit code), or ran to the end when there were
            // fewer renames than that.
            if output.status.code().is_none() {
                aborted += 1;
            } else {
                assert!(output.status.success(), "{what}: {:?}", output.status);
            }
            assert!(
                renames > 1 || output.status.code().is_none(),
                "{what}: the test hook did not abort"
            );
            let leftovers = assert_whole(&out, &old, &new, &what);
            if output.status.code().is_none() {
                assert!(
                    !out.join(amlfw::output::CACHE_FILE).exists(),
                    "{what}: an aborted run left a render record"
                );
            }
            assert_recovers(b, &out, &new, leftovers, &what);
            let _ = std::fs::remove_dir_all(&out);
        }
        assert!(aborted >= 2, "{a} -> {b}: only {aborted} aborted runs");
    }
    let _ = std::fs::remove_dir_all(&cwd);
    assert!(
        started.elapsed() < Duration::from_secs(240),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_run_killed_at_a_random_moment_leaves_whole_files_and_the_next_run_recovers() {
    let mut random = Random::from_env();
    let scenarios = scenarios();
    let a = "golden/full-public/scenario.yaml";
    let b = "golden/minimal/scenario.yaml";
    let old = reference(a, "kill-reference-a");
    let new = reference(b, "kill-reference-b");
    // How long a whole run takes here, to spread the kills over it.
    let out = temp_dir("kill-timing");
    assert!(generate(a, &out, &[]).status.success());
    let timer = Instant::now();
    assert!(generate(b, &out, &[]).status.success());
    let run = timer.elapsed().as_micros().max(1000) as usize;
    let _ = std::fs::remove_dir_all(&out);
    let started = Instant::now();
    let mut killed_during_run = 0;
    let mut killed_while_writing = 0;
    for round in 0..20 {
        // Every third round uses other scenarios, for variety in what is renamed.
        let (a, b, old, new) = if round % 3 == 2 {
            let a = scenarios[random.below(scenarios.len())].clone();
            let b = scenarios[random.below(scenarios.len())].clone();
            let old = reference(&a, "kill-reference-a");
            let new = reference(&b, "kill-reference-b");
            (a, b, old, new)
        } else {
            (a.to_owned(), b.to_owned(), old.clone(), new.clone())
        };
        let what = format!("{a} -> {b}, round {round}");
        let out = temp_dir("kill");
        install(&out, &old);
        let mut child = amlfw()
            .args(["generate", &b, "--out", out.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Planning takes most of a run; the writes come at its end, so aim at the second half.
        std::thread::sleep(Duration::from_micros((run / 2 + random.below(run)) as u64));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.code().is_none() {
            killed_during_run += 1;
        }
        let leftovers = assert_whole(&out, &old, &new, &what);
        let mut on_disk = snapshot(&out);
        on_disk.remove(".amlfw.lock");
        if status.code().is_none() && leftovers + usize::from(on_disk != old && on_disk != new) > 0
        {
            killed_while_writing += 1;
        }
        assert_recovers(&b, &out, &new, leftovers, &what);
        let _ = std::fs::remove_dir_all(&out);
    }
    eprintln!(
        "{killed_during_run} of 20 runs were killed before they ended, {killed_while_writing} while writing"
    );
    assert!(
        started.elapsed() < Duration::from_secs(180),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_leftover_of_a_killed_run_is_ignored_by_check_and_removed_by_generate() {
    let scenario = "golden/minimal/scenario.yaml";
    let out = temp_dir("leftover");
    assert!(generate(scenario, &out, &[]).status.success());
    let main = std::fs::read(out.join("terraform/main.tf")).unwrap();
    let leftover = out.join("terraform/.main.tf.amlfw-4194305.tmp");
    std::fs::write(&leftover, &main[..main.len() / 2]).unwrap();
    // A hidden file of the user's that only looks similar is never touched.
    let users = out.join("terraform/.main.tf.amlfw-notes");
    std::fs::write(&users, "mine\n").unwrap();
    let output = generate(scenario, &out, &["--check"]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{}{stderr}", text(&output.stdout));
    assert!(
        stderr.contains("terraform/.main.tf.amlfw-4194305.tmp") && stderr.contains("leftover"),
        "{stderr}"
    );
    assert!(leftover.exists(), "--check removed something");
    let output = generate(scenario, &out, &[]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("amlfw: removed leftover terraform/.main.tf.amlfw-4194305.tmp"),
        "{stderr}"
    );
    assert!(!leftover.exists());
    assert_eq!(std::fs::read_to_string(&users).unwrap(), "mine\n");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_held_lock_refuses_generate_and_check_with_the_lock_message() {
    let out = temp_dir("locked");
    assert!(
        generate("golden/minimal/scenario.yaml", &out, &[])
            .status
            .success()
    );
    let lock = std::fs::File::open(out.join(".amlfw.lock")).unwrap();
    lock.try_lock().unwrap();
    for extra in [&[][..], &["--check"][..]] {
        let output = generate("golden/minimal/scenario.yaml", &out, extra);
        assert_eq!(output.status.code(), Some(2), "{extra:?}");
        let stderr = text(&output.stderr).replace(out.to_str().unwrap(), "OUT");
        if extra.is_empty() {
            let path = root().join("golden/_cli/generate-locked.txt");
            if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1")
                && std::env::var_os("CI").is_none()
            {
                std::fs::write(&path, &stderr).unwrap();
            }
            assert_eq!(
                std::fs::read_to_string(&path).unwrap_or_default(),
                stderr,
                "golden/_cli/generate-locked.txt differs; UPDATE_GOLDEN=1 cargo test --test atomicity"
            );
        }
        assert!(
            stderr.contains("error[output-locked]: another amlfw is writing `OUT`"),
            "{stderr}"
        );
    }
    lock.unlock().unwrap();
    assert!(
        generate("golden/minimal/scenario.yaml", &out, &[])
            .status
            .success()
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn concurrent_runs_leave_one_whole_module_and_fail_only_on_the_lock() {
    let a = "golden/full-public/scenario.yaml";
    let b = "golden/no-public-ip/scenario.yaml";
    let out = temp_dir("concurrent");
    let started = Instant::now();
    let mut locked = 0;
    for round in 0..20 {
        let spawn = |scenario: &str| {
            amlfw()
                .args(["generate", scenario, "--out", out.to_str().unwrap()])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let children = [spawn(a), spawn(b)];
        for child in children {
            let output = child.wait_with_output().unwrap();
            let stderr = text(&output.stderr);
            if output.status.code() == Some(2) {
                locked += 1;
                // After the plan's warnings, the one error.
                let first = stderr
                    .lines()
                    .find(|line| line.starts_with("error["))
                    .unwrap_or_default();
                assert_eq!(
                    first,
                    format!(
                        "error[output-locked]: another amlfw is writing `{}`",
                        out.display()
                    ),
                    "round {round}: {stderr}"
                );
                assert_eq!(
                    stderr.matches("error[").count(),
                    1,
                    "round {round}: {stderr}"
                );
            } else {
                assert!(output.status.success(), "round {round}: {stderr}");
            }
        }
        let clean = |scenario: &str| generate(scenario, &out, &["--check"]).status.success();
        assert!(
            clean(a) != clean(b),
            "round {round}: the directory is not exactly one module"
        );
    }
    eprintln!("{locked} of 40 runs found the directory locked");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&out);
}
