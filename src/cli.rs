//! The command line: argument parsing, reading files, printing. The only module that
//! touches the filesystem, the environment or the terminal.
//!
//! Exit codes: 0 success; 2 the user must fix something (invalid scenario or catalog,
//! unreadable file, usage error); 101 an amlfw bug (panic).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::catalog::Catalog;
use crate::diagnostic::{Code, Diagnostic, Location, render_all};
use crate::render::{RenderedFiles, Target};
use crate::{output, planner, render, scenario};

/// Exit code for input the user must fix.
pub const EXIT_INPUT: u8 = 2;
/// Exit code for an amlfw bug (as a panic's).
pub const EXIT_BUG: u8 = 101;

/// amlfw: the exact firewall, NSG and route rules an Azure Machine Learning workspace
/// needs, from a short scenario file.
///
/// Exit codes: 0 success, 2 invalid input (every problem is listed on stderr),
/// 101 an amlfw bug. Data goes to stdout, diagnostics and warnings to stderr.
#[derive(Debug, Parser)]
#[command(name = "amlfw", version, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the rules a scenario needs, each with the requirements and article sections
    /// behind it. Example: `amlfw plan examples/full-public.yaml --format json`.
    Plan(PlanArgs),
    /// Write the rules as a Terraform and a Bicep module into `--out`. Example:
    /// `amlfw generate examples/full-public.yaml --out infra/azureml-firewall`.
    Generate(GenerateArgs),
}

/// Arguments of `amlfw generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The scenario file (YAML).
    pub scenario: PathBuf,
    /// The output directory; modules go to `<DIR>/terraform/` and `<DIR>/bicep/`. Files
    /// amlfw did not write are never changed; generated files no longer produced are removed.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// What to generate.
    #[arg(long, value_enum, default_value_t = TargetArg::All)]
    pub target: TargetArg,
    /// Use the catalog in this directory instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
}

/// Targets of `amlfw generate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// A Terraform module for azurerm 4.x, in `<DIR>/terraform/`.
    Terraform,
    /// A Bicep module, in `<DIR>/bicep/`.
    Bicep,
    /// Both.
    All,
}

impl From<TargetArg> for Target {
    fn from(target: TargetArg) -> Target {
        match target {
            TargetArg::Terraform => Target::Terraform,
            TargetArg::Bicep => Target::Bicep,
            TargetArg::All => Target::All,
        }
    }
}

/// Arguments of `amlfw plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The scenario file (YAML).
    pub scenario: PathBuf,
    /// Output format: `text` (a table) or `json` (the machine-readable contract).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Use the catalog in this directory instead of the built-in one
    /// (revisions.yaml, regions.yaml, service-tags.yaml, requirements/*.yaml).
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
}

/// Output formats of `amlfw plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One rule a line, with the requirements behind it.
    Text,
    /// The JSON contract (see README).
    Json,
}

/// Parses the process arguments, runs the command, prints, and returns the exit code.
#[must_use]
pub fn run() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = error.print();
            return if error.use_stderr() { EXIT_INPUT } else { 0 };
        }
    };
    match cli.command {
        Command::Plan(args) => plan(&args),
        Command::Generate(args) => generate(&args),
    }
}

fn generate(args: &GenerateArgs) -> u8 {
    let catalog = match load_catalog(args.catalog.as_deref()) {
        Ok(catalog) => catalog,
        Err(diagnostics) => return fail(&diagnostics, "the catalog"),
    };
    let display = args.scenario.display().to_string();
    let bytes = match std::fs::read(&args.scenario) {
        Ok(bytes) => bytes,
        Err(error) => return fail(&[read_error(&display, &error)], "the scenario"),
    };
    let (files, warnings) = match generate_files(&bytes, &display, &catalog, args.target.into()) {
        Ok(generated) => generated,
        Err(outcome) => {
            eprint!("{}", outcome.stderr);
            return outcome.code;
        }
    };
    eprint!("{warnings}");
    match output::write(&args.out, &files) {
        Ok(report) => {
            eprintln!(
                "amlfw: {} file(s) written, {} unchanged, {} stale removed in {}",
                report.written.len(),
                report.unchanged.len(),
                report.removed.len(),
                args.out.display()
            );
            0
        }
        Err(diagnostics) => fail(&diagnostics, "the output directory"),
    }
}

/// `amlfw generate` without the writing: the files for `target` and the warnings text, or
/// the outcome to report. The golden tests compare exactly these files.
pub fn generate_files(
    bytes: &[u8],
    display: &str,
    catalog: &Catalog,
    target: Target,
) -> Result<(RenderedFiles, String), Outcome> {
    let failure = |diagnostics: &[Diagnostic]| Outcome {
        stdout: String::new(),
        stderr: render_all(diagnostics, "the scenario"),
        code: EXIT_INPUT,
    };
    let scenario = scenario::load_bytes(bytes, display, catalog).map_err(|d| failure(&d))?;
    let plan = planner::plan(&scenario, catalog).map_err(|d| failure(&d))?;
    let scenario_name = Path::new(display)
        .file_name()
        .map_or_else(|| display.to_owned(), |n| n.to_string_lossy().into_owned());
    let files = render::render(&plan, target, &scenario_name).map_err(|error| Outcome {
        stdout: String::new(),
        stderr: format!("error: {error}\n"),
        code: EXIT_BUG,
    })?;
    Ok((files, plan.warnings_text()))
}

fn plan(args: &PlanArgs) -> u8 {
    let catalog = match load_catalog(args.catalog.as_deref()) {
        Ok(catalog) => catalog,
        Err(diagnostics) => return fail(&diagnostics, "the catalog"),
    };
    let display = args.scenario.display().to_string();
    let bytes = match std::fs::read(&args.scenario) {
        Ok(bytes) => bytes,
        Err(error) => return fail(&[read_error(&display, &error)], "the scenario"),
    };
    let outcome = plan_output(&bytes, &display, &catalog, args.format);
    eprint!("{}", outcome.stderr);
    if outcome.code != 0 {
        return outcome.code;
    }
    print_stdout(&outcome.stdout)
}

/// What a command prints and returns, without printing it: the CLI prints it, and the
/// golden tests compare it, so both run exactly this code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What goes to stdout.
    pub stdout: String,
    /// What goes to stderr (diagnostics, warnings).
    pub stderr: String,
    /// The exit code.
    pub code: u8,
}

/// `amlfw plan` on the bytes of a scenario file named `display`.
#[must_use]
pub fn plan_output(bytes: &[u8], display: &str, catalog: &Catalog, format: Format) -> Outcome {
    let failure = |diagnostics: &[Diagnostic]| Outcome {
        stdout: String::new(),
        stderr: render_all(diagnostics, "the scenario"),
        code: EXIT_INPUT,
    };
    let scenario = match scenario::load_bytes(bytes, display, catalog) {
        Ok(scenario) => scenario,
        Err(diagnostics) => return failure(&diagnostics),
    };
    let plan = match planner::plan(&scenario, catalog) {
        Ok(plan) => plan,
        Err(diagnostics) => return failure(&diagnostics),
    };
    Outcome {
        stdout: match format {
            Format::Text => plan.to_string(),
            Format::Json => plan.to_json(),
        },
        stderr: plan.warnings_text(),
        code: 0,
    }
}

/// Writes to stdout; a closed pipe (`amlfw plan x | head`) ends quietly with success.
fn print_stdout(text: &str) -> u8 {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => 0,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(error) => {
            eprintln!("error[write-failed]: cannot write to stdout: {error}");
            EXIT_INPUT
        }
    }
}

fn fail(diagnostics: &[Diagnostic], what: &str) -> u8 {
    eprint!("{}", render_all(diagnostics, what));
    EXIT_INPUT
}

fn read_error(display: &str, error: &std::io::Error) -> Diagnostic {
    let reason = match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
        _ => error.to_string().to_lowercase(),
    };
    Diagnostic::error(
        Code::ReadFailed,
        format!("cannot read `{display}`: {reason}"),
    )
    .at(Location {
        file: display.to_owned(),
        path: String::new(),
        position: None,
    })
    .help("give the path of a scenario file, for example `examples/minimal.yaml`")
}

/// The built-in catalog, or the one in `dir`.
fn load_catalog(dir: Option<&Path>) -> Result<Catalog, Vec<Diagnostic>> {
    let Some(dir) = dir else {
        return Ok(Catalog::embedded());
    };
    let display = dir.display().to_string();
    let mut files = Vec::new();
    let mut paths: Vec<PathBuf> = ["revisions.yaml", "regions.yaml", "service-tags.yaml"]
        .iter()
        .map(|name| dir.join(name))
        .collect();
    let requirements_dir = dir.join("requirements");
    match std::fs::read_dir(&requirements_dir) {
        Ok(entries) => paths.extend(
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "yaml")),
        ),
        Err(error) => {
            return Err(vec![read_error(
                &requirements_dir.display().to_string(),
                &error,
            )]);
        }
    }
    let mut diagnostics = Vec::new();
    for path in paths {
        let relative = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push((relative, text)),
            Err(error) => diagnostics.push(read_error(&path.display().to_string(), &error)),
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    Catalog::load(&files, &display)
}
