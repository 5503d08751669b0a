//! Benchmarks (`cargo bench`): wall-clock medians on this machine, with the ratios the
//! project targets. Not tests: they print numbers and fail nothing.
//!
//! Whole-process rows are same-run ratios: the job and its baseline run alternately, so
//! that machine noise (two shared cores) hits both, and each is the median of its runs:
//! (e) `generate examples/full-public.yaml --target all`, output up to date, against
//!     `/bin/true` (goal: <= 5 ms), and the same with `AMLFW_NO_REUSE=1` (every file
//!     rendered, as after any change);
//! (f) `generate examples/ip-addresses.yaml --service-tags` the 4 MB public file, against
//!     the parse floor: a process that reads that file and parses it with serde_json into
//!     `IgnoredAny` (goal: <= 1.5x). The floor process is this bench binary itself, run
//!     with `AMLFW_PARSE_FLOOR=FILE` (see `main`), so it is built with the same profile;
//!     also with `AMLFW_NO_REUSE=1`. A wall-clock ratio: amlfw reads the file on one
//!     thread while another loads the catalog, and parses it on two (the floor on one).
//!     The README gives its instructions and CPU time beside.
//!
//! In-process rows:
//! (a) parse the 4 MB public service tag file and expand 8 tags, against a bare
//!     `serde_json` parse of the same file into a `serde_json::Value` (target: <= 2.5x);
//! (b) the same, expanding every tag (target: <= 10x);
//! (c) `amlfw generate examples/full-public.yaml`, the whole process (target: < 10 ms);
//! (d) `amlfw generate` of a scenario with 100 workspaces, the whole process (< 200 ms);
//! peak memory (maximum resident set size) of the processes, where /usr/bin/time exists
//! (target: < 64 MB).
//!
//! The service tag file comes from the shared data folder; without it (a), (b) and (f) are
//! skipped with a message.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use amlfw::service_tags::ServiceTagFile;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut work: impl FnMut() -> T) -> Duration {
    // One warm-up run, then the median of `runs`.
    std::hint::black_box(work());
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(work());
                start.elapsed()
            })
            .collect(),
    )
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn amlfw(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_amlfw"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run amlfw")
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

fn hundred_workspaces(dir: &Path) -> PathBuf {
    let regions = [
        "eastus2",
        "westeurope",
        "northeurope",
        "southeastasia",
        "westus2",
        "centralus",
        "uksouth",
        "japaneast",
        "australiaeast",
        "canadacentral",
    ];
    let mut text = String::from("version: 1\ncloud: public\nworkspaces:\n");
    for index in 0..100 {
        text.push_str(&format!(
            "  - name: mlw-{index:03}\n    region: {}\n    storage_account: stml{index:03}\n    compute_subnets: [10.{}.{}.0/24]\n    compute: {{ instances: true, clusters: true, public_ip: true }}\n    features: [python, notebooks, monitoring, vscode, r]\n",
            regions[index % regions.len()],
            100 + index / 200,
            index % 200
        ));
    }
    text.push_str("outputs:\n  nsg: true\n  route_table: { firewall_private_ip: 10.0.0.4 }\n");
    let path = dir.join("hundred.yaml");
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// Runs `job` and `baseline` alternately `runs` times (after one warm-up each): the
/// medians of both, in ms.
fn paired(runs: usize, job: &mut Command, baseline: &mut Command) -> (f64, f64) {
    let run = |command: &mut Command| {
        let start = Instant::now();
        let status = command.status().expect("run");
        let elapsed = start.elapsed();
        assert!(status.success(), "{command:?} failed");
        elapsed
    };
    run(job);
    run(baseline);
    let (mut jobs, mut baselines) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        jobs.push(run(job));
        baselines.push(run(baseline));
    }
    (ms(median(jobs)), ms(median(baselines)))
}

fn quiet(mut command: Command) -> Command {
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}

fn main() {
    // The parse floor of row (f): read the file and let serde_json check every byte of
    // it, building nothing. What any program reading the file must at least do.
    if let Some(file) = std::env::var_os("AMLFW_PARSE_FLOOR") {
        let bytes = std::fs::read(file).expect("read the service tag file");
        serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).expect("JSON");
        return;
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    println!(
        "amlfw benchmarks (medians; {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let tags_path = manifest.join("../shared/data/service-tags/ServiceTags_Public_20251028.json");
    if let Ok(bytes) = std::fs::read(&tags_path) {
        let baseline = time(20, || {
            serde_json::from_slice::<serde_json::Value>(&bytes).expect("json")
        });
        let eight = [
            "AzureMachineLearning.EastUS2",
            "AzureMachineLearning.CentralUS",
            "BatchNodeManagement.EastUS2",
            "Storage.EastUS2",
            "AzureActiveDirectory",
            "AzureFrontDoor.Frontend",
            "MicrosoftContainerRegistry.EastUS2",
            "AzureResourceManager",
            "AzureMonitor",
        ];
        let a = time(20, || {
            let file = ServiceTagFile::parse(&bytes, "public").expect("parse");
            eight
                .iter()
                .map(|tag| file.expand(tag).expect("tag").expect("prefixes").len())
                .sum::<usize>()
        });
        let b = time(10, || {
            let file = ServiceTagFile::parse(&bytes, "public").expect("parse");
            let names: Vec<String> = file.names().map(str::to_owned).collect();
            names
                .iter()
                .map(|tag| file.expand(tag).expect("tag").expect("prefixes").len())
                .sum::<usize>()
        });
        println!(
            "bare serde_json parse of the 4 MB file      {:8.2} ms",
            ms(baseline)
        );
        println!(
            "(a) parse + expand 8 tags (+ the pair)       {:8.2} ms  ratio {:.2}x (target <= 2.5x)",
            ms(a),
            ms(a) / ms(baseline)
        );
        println!(
            "(b) parse + expand all {} tags            {:8.2} ms  ratio {:.2}x (target <= 10x)",
            ServiceTagFile::parse(&bytes, "p")
                .expect("parse")
                .names()
                .count(),
            ms(b),
            ms(b) / ms(baseline)
        );
        let tags_arg = tags_path.to_string_lossy().into_owned();
        if let Some(mb) = peak_mb(&[
            "plan",
            "examples/ip-addresses.yaml",
            "--service-tags",
            &tags_arg,
        ]) {
            println!(
                "    peak memory, `plan --service-tags` (4 MB) {:8.1} MB (target < 64 MB)",
                mb
            );
        }
    } else {
        println!("(a), (b) skipped: {} is not here", tags_path.display());
    }
    let out = std::env::temp_dir().join(format!("amlfw-bench-{}", std::process::id()));
    let mut generate_all = quiet(Command::new(env!("CARGO_BIN_EXE_amlfw")));
    generate_all.args([
        "generate",
        "examples/full-public.yaml",
        "--target",
        "all",
        "--out",
    ]);
    generate_all.arg(out.join("all"));
    let (job, baseline) = paired(41, &mut generate_all, &mut quiet(Command::new("/bin/true")));
    println!(
        "(e) `generate full-public --target all`, up to date {job:8.2} ms vs /bin/true {baseline:6.2} ms  ratio {:.1}x (goal <= 5 ms)",
        job / baseline
    );
    // The same run forced down the full path (it renders every file, as the first run and
    // any run after a change do): what the render record of `output::reuse` saves.
    generate_all.env("AMLFW_NO_REUSE", "1");
    let (forced, baseline) = paired(21, &mut generate_all, &mut quiet(Command::new("/bin/true")));
    generate_all.env_remove("AMLFW_NO_REUSE");
    println!(
        "    the same, rendered (AMLFW_NO_REUSE=1)         {forced:8.2} ms vs /bin/true {baseline:6.2} ms  ratio {:.1}x",
        forced / baseline
    );
    if tags_path.exists() {
        let mut ip_mode = quiet(Command::new(env!("CARGO_BIN_EXE_amlfw")));
        ip_mode.args(["generate", "examples/ip-addresses.yaml", "--service-tags"]);
        ip_mode.arg(&tags_path).arg("--out").arg(out.join("ip"));
        let mut floor = quiet(Command::new(std::env::current_exe().expect("bench binary")));
        floor.env("AMLFW_PARSE_FLOOR", &tags_path);
        let (job, baseline) = paired(21, &mut ip_mode, &mut floor);
        println!(
            "(f) `generate ip-addresses --service-tags` (4 MB) {job:8.2} ms vs parse floor {baseline:6.2} ms  ratio {:.2}x (goal <= 1.5x)",
            job / baseline
        );
        ip_mode.env("AMLFW_NO_REUSE", "1");
        let (forced, baseline) = paired(21, &mut ip_mode, &mut floor);
        println!(
            "    the same, rendered (AMLFW_NO_REUSE=1)         {forced:8.2} ms vs parse floor {baseline:6.2} ms  ratio {:.2}x",
            forced / baseline
        );
    } else {
        println!("(f) skipped: {} is not here", tags_path.display());
    }
    // A module directory of its own: `out` holds the (e) and (f) modules, and amlfw
    // refuses a directory of other files without a manifest (this row once timed that
    // refusal).
    let out_default = out.join("default").to_string_lossy().into_owned();
    let c = time(30, || {
        let status = amlfw(&[
            "generate",
            "examples/full-public.yaml",
            "--out",
            &out_default,
        ])
        .status;
        assert!(status.success(), "(c) failed");
    });
    println!(
        "(c) `generate full-public.yaml`, whole process {:8.2} ms (target < 10 ms)",
        ms(c)
    );
    if let Some(mb) = peak_mb(&[
        "generate",
        "examples/full-public.yaml",
        "--out",
        &out_default,
    ]) {
        println!(
            "    peak memory                               {:8.1} MB (target < 64 MB)",
            mb
        );
    }
    std::fs::create_dir_all(&out).expect("temp dir");
    let hundred = hundred_workspaces(&out);
    let hundred_arg = hundred.to_string_lossy().into_owned();
    let out_hundred = out.join("hundred").to_string_lossy().into_owned();
    assert!(
        amlfw(&["generate", &hundred_arg, "--out", &out_hundred])
            .status
            .success(),
        "100 workspaces generate"
    );
    let d = time(10, || {
        amlfw(&["generate", &hundred_arg, "--out", &out_hundred])
            .status
            .success()
    });
    println!(
        "(d) `generate` with 100 workspaces           {:8.2} ms (target < 200 ms)",
        ms(d)
    );
    if let Some(mb) = peak_mb(&["generate", &hundred_arg, "--out", &out_hundred]) {
        println!(
            "    peak memory                               {:8.1} MB (target < 64 MB)",
            mb
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
