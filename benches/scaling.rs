//! Scaling benchmarks (`cargo bench --bench scaling`): whole `amlfw` processes, each
//! figure the median of several runs, reported as a ratio against `plan` of one workspace
//! measured in the same run (so machine noise cancels). Not tests: they print numbers and
//! fail nothing; `scenario::tree`'s `loading_work_is_linear_in_the_size_of_every_shape`
//! is the test.
//!
//! Goals (issue 15): `plan` 1000 workspaces / `plan` 100 workspaces <= 12x; a 2 MiB
//! scenario of one-character list items under an unknown key < 1 s with exit 2; 10,000
//! `extra_fqdns` and the same host 4,000 times with different reasons < 0.5 s each; peak
//! memory of `generate` at 1000 workspaces <= 32 MB, of the 2 MiB inputs <= 64 MB.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const MAX_SCENARIO_BYTES: usize = 2 * 1024 * 1024;

fn amlfw(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_amlfw"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run amlfw")
}

/// The median wall-clock time of `runs` runs of `amlfw args` (after one warm-up run),
/// and the exit code, which every run must share.
fn time(runs: usize, args: &[&str]) -> (Duration, i32) {
    let code = amlfw(args).status.code().unwrap_or(-1);
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let output = amlfw(args);
            let elapsed = start.elapsed();
            assert_eq!(output.status.code().unwrap_or(-1), code, "{args:?}");
            elapsed
        })
        .collect();
    samples.sort();
    (samples[samples.len() / 2], code)
}

/// Peak resident memory in MB of `amlfw args`, measured by GNU time, if installed.
fn peak_mb(args: &[&str]) -> Option<f64> {
    if !Path::new("/usr/bin/time").exists() {
        return None;
    }
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg(env!("CARGO_BIN_EXE_amlfw"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let kilobytes: f64 = stderr.lines().last()?.trim().parse().ok()?;
    Some(kilobytes / 1024.0)
}

fn workspaces(count: usize) -> String {
    let regions = ["eastus2", "westeurope", "southeastasia", "westus2"];
    let mut text = String::from("version: 1\ncloud: public\nworkspaces:\n");
    for index in 0..count {
        text.push_str(&format!(
            "  - name: mlw-{index:04}\n    region: {}\n    storage_account: st{index:04}\n    compute_subnets: [10.{}.{}.0/24]\n    compute: {{ instances: true, clusters: true, public_ip: true }}\n    features: [python, notebooks]\n",
            regions[index % regions.len()],
            index / 250,
            index % 250
        ));
    }
    text.push_str("outputs:\n  nsg: true\n  route_table: { firewall_private_ip: 10.0.0.4 }\n");
    text
}

fn extra_fqdns(count: usize, host: impl Fn(usize) -> String) -> String {
    let mut text = String::from(
        "version: 1\ncloud: public\nworkspaces:\n  - name: mlw\n    region: eastus2\n    storage_account: stml\n    compute_subnets: [10.0.0.0/24]\n    extra_fqdns:\n",
    );
    for index in 0..count {
        text.push_str(&format!(
            "      - {{ fqdn: {}, ports: [443], reason: reason {index} }}\n",
            host(index)
        ));
    }
    text
}

/// Just under the size limit: `head` followed by as many `item`s as fit.
fn pathological(head: &str, item: &str) -> String {
    let count = (MAX_SCENARIO_BYTES - head.len() - 64) / item.len();
    format!("{head}{}", item.repeat(count))
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path.to_string_lossy().into_owned()
}

fn main() {
    let dir = std::env::temp_dir().join(format!("amlfw-scaling-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    println!(
        "amlfw scaling (whole processes, medians; {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let one = write(&dir, "one.yaml", &workspaces(1));
    let hundred = write(&dir, "hundred.yaml", &workspaces(100));
    let thousand = write(&dir, "thousand.yaml", &workspaces(1000));
    let many = write(
        &dir,
        "extra-fqdns.yaml",
        &extra_fqdns(10_000, |index| format!("host{index}.example.com")),
    );
    let same = write(
        &dir,
        "same-host.yaml",
        &extra_fqdns(4_000, |_| "github.com".to_owned()),
    );
    let unknown = write(
        &dir,
        "unknown-key.yaml",
        &pathological("version: 1\nbogus:\n", "- a\n"),
    );
    let one_line = write(
        &dir,
        "one-line.yaml",
        &pathological("version: 1\nbogus: [", "a,"),
    );

    let (base, code) = time(21, &["plan", &one]);
    assert_eq!(code, 0);
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    let ratio = |duration: Duration| duration.as_secs_f64() / base.as_secs_f64();
    println!(
        "plan, 1 workspace (baseline)                {:9.2} ms",
        ms(base)
    );
    let (plan_100, _) = time(11, &["plan", &hundred]);
    let (plan_1000, _) = time(7, &["plan", &thousand]);
    println!(
        "plan, 100 workspaces                        {:9.2} ms  {:7.1}x baseline",
        ms(plan_100),
        ratio(plan_100)
    );
    println!(
        "plan, 1000 workspaces                       {:9.2} ms  {:7.1}x baseline; {:.1}x 100 workspaces (goal <= 12x)",
        ms(plan_1000),
        ratio(plan_1000),
        plan_1000.as_secs_f64() / plan_100.as_secs_f64()
    );
    for (label, path, goal) in [
        (
            "2 MiB, one-character items, unknown key",
            &unknown,
            "< 1 s, exit 2",
        ),
        (
            "2 MiB, one-character items on one line",
            &one_line,
            "< 1 s, exit 2",
        ),
        ("10,000 extra_fqdns", &many, "< 0.5 s"),
        ("the same host 4,000 times", &same, "< 0.5 s"),
    ] {
        let (median, code) = time(5, &["plan", path]);
        println!(
            "{label:<44}{:9.2} ms  {:7.1}x baseline  exit {code} (goal {goal})",
            ms(median),
            ratio(median)
        );
    }
    let out = dir.join("out").to_string_lossy().into_owned();
    for (label, args, goal) in [
        (
            "generate, 1000 workspaces",
            vec!["generate", thousand.as_str(), "--out", out.as_str()],
            "<= 32 MB",
        ),
        (
            "plan, 2 MiB unknown key",
            vec!["plan", unknown.as_str()],
            "<= 64 MB",
        ),
        (
            "plan, 2 MiB on one line",
            vec!["plan", one_line.as_str()],
            "<= 64 MB",
        ),
        (
            "plan, 10,000 extra_fqdns",
            vec!["plan", many.as_str()],
            "<= 64 MB",
        ),
    ] {
        match peak_mb(&args) {
            Some(mb) => println!("peak memory, {label:<32}{mb:9.1} MB (goal {goal})"),
            None => println!("peak memory, {label}: skipped, no /usr/bin/time"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
