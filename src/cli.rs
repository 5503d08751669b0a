//! The command line: argument parsing, reading files, printing. The only module that
//! touches the filesystem, the environment or the terminal.
//!
//! Exit codes: 0 success; 1 `generate --check` found drift; 2 the user must fix
//! something (invalid scenario or catalog, unreadable file, usage error); 101 an amlfw
//! bug (panic).

use std::io::{IsTerminal, Read as _, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand, ValueEnum};

use crate::catalog::{Catalog, Cloud, CloudEndpoints, Endpoint, Requirement};
use crate::diagnostic::{Code, Diagnostic, Location, did_you_mean, render_all};
use crate::diff::{CatalogDiff, PlanDiff, requirement_traffic};
use crate::plan::Plan;
use crate::planner::AddressOptions;
use crate::render::{RenderedFiles, Target};
use crate::service_tags::{ServiceTagError, ServiceTagFile};
use crate::{dependencies, output, planner, render, scenario};

/// Exit code for input the user must fix.
pub const EXIT_INPUT: u8 = 2;
/// Exit code of `generate --check` when the modules on disk differ from the plan, and of
/// `verify-dependencies` when the plan misses an endpoint the API lists.
pub const EXIT_DRIFT: u8 = 1;
/// Exit code for an amlfw bug (as a panic's).
pub const EXIT_BUG: u8 = 101;

/// amlfw: the exact firewall, NSG and route rules an Azure Machine Learning workspace
/// needs, from a short scenario file.
///
/// Exit codes: 0 success (and `generate --check` found no drift), 1 `generate --check`
/// found drift (`audit`: something missing or invalid), 2 invalid input or usage (every problem is listed on stderr), 101 an amlfw
/// bug. Data goes to stdout; diagnostics, warnings and progress go to stderr.
#[derive(Debug, Parser)]
#[command(name = "amlfw", version, max_term_width = 100)]
pub struct Cli {
    /// Colour diffs: `auto` (when stdout is a terminal and NO_COLOR is unset), `always`
    /// or `never`.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// When stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the rules a scenario needs, each with the requirements and article sections
    /// behind it. Example: `amlfw plan examples/full-public.yaml --format json`.
    Plan(PlanArgs),
    /// Write the rules as a Terraform and a Bicep module into `--out`, or with `--check`
    /// show how the modules there differ from what would be written. A run that would
    /// change nothing is proved from `.amlfw-render-cache` without rendering
    /// (`AMLFW_NO_REUSE=1` renders anyway). Example:
    /// `amlfw generate examples/full-public.yaml --out infra/azureml-firewall --check`.
    Generate(GenerateArgs),
    /// Compare the plans of two scenarios, or of one scenario under two catalog revisions.
    /// Example: `amlfw diff old.yaml new.yaml --format markdown`, or
    /// `amlfw diff scenario.yaml --catalog-from 2022-09 --catalog-to latest`.
    Diff(DiffArgs),
    /// Browse the rule catalog: `list`, `show ID`, `diff REV_A REV_B`. Example:
    /// `amlfw catalog diff 2022-09 latest`.
    Catalog(CatalogArgs),
    /// Check a saved `outboundNetworkDependenciesEndpoints` API response against the
    /// scenario's host rules; exit 1 when the plan misses an endpoint the API lists.
    /// Example: `amlfw verify-dependencies response.json scenario.yaml`.
    VerifyDependencies(VerifyArgs),
    /// Compare deployed rules (`terraform show -json` of a plan or state, Azure CLI JSON, an
    /// ARM template export) with what the scenario requires, rule by rule; exit 1 when
    /// something is missing or invalid. Reads files only. Example:
    /// `amlfw audit scenario.yaml plan.json nsg.json --format markdown`.
    Audit(AuditArgs),
    /// Write a commented starter scenario: every option, its meaning and the article
    /// sections it selects. Example: `amlfw init --cloud usgov --region usgovtexas`.
    Init(InitArgs),
    /// Print the JSON Schema (draft 2020-12) of the scenario format, for editors. Example:
    /// `amlfw schema > scenario.schema.json`, or `amlfw schema --format markdown` for the
    /// reference tables of README.
    Schema(SchemaArgs),
    /// Print a shell completion script. Example:
    /// `amlfw completions bash > ~/.local/share/bash-completion/completions/amlfw`.
    Completions(CompletionsArgs),
    /// Print the man page (roff). Example: `amlfw man > ~/.local/share/man/man1/amlfw.1`.
    Man,
}

/// Arguments of `amlfw init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The cloud of the scenario.
    #[arg(long, default_value = "public", value_parser = clap::builder::PossibleValuesParser::new(Cloud::ALL.map(Cloud::as_str)))]
    pub cloud: String,
    /// The workspace's region, programmatic (`eastus2`) or display name (`"East US 2"`);
    /// defaults to an example region of the cloud.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Where to write it; `-` prints it. An existing file is never overwritten.
    #[arg(default_value = scenario::starter::DEFAULT_FILE)]
    pub file: PathBuf,
}

/// Arguments of `amlfw schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// `json` (the JSON Schema) or `markdown` (README's scenario reference, from the same
    /// tables).
    #[arg(long, value_enum, default_value_t = SchemaFormat::Json)]
    pub format: SchemaFormat,
}

/// Output formats of `amlfw schema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFormat {
    /// The JSON Schema (draft 2020-12).
    Json,
    /// Markdown tables: key, default, meaning.
    Markdown,
}

/// Arguments of `amlfw completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete in: `bash`, `zsh`, `fish`, `powershell` or `elvish`.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `amlfw verify-dependencies`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The saved API response (JSON), as `az rest` prints it.
    pub response: PathBuf,
    /// The scenario of that workspace.
    pub scenario: PathBuf,
    /// Output format (`text` or `json`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Use the catalog in this directory instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Fail (exit 1) also on endpoints the API lists that only an earlier article revision
    /// asked for (reported as retired).
    #[arg(long)]
    pub strict: bool,
}

/// Arguments of `amlfw audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The scenario file (YAML).
    pub scenario: PathBuf,
    /// The deployed files, each recognised by its content.
    #[arg(required = true, value_name = "DEPLOYED")]
    pub deployed: Vec<PathBuf>,
    /// Read every deployed file as this format instead of recognising it.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<InputFormatArg>,
    /// Output format: `text`, `markdown` (for a pull request comment) or `json` (the
    /// contract in README).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also exit 1 when a deployed rule is broader than required.
    #[arg(long, value_enum, value_name = "STATUS")]
    pub fail_on: Option<FailOnArg>,
    /// Microsoft's service tag file: checks that every deployed tag exists, and matches
    /// deployed prefixes against the tags the plan names.
    #[arg(long, value_name = "FILE")]
    pub service_tags: Option<PathBuf>,
    /// Use the catalog in this directory instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
}

/// Deployed file formats of `amlfw audit --input-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormatArg {
    /// `terraform show -json` of a saved plan or of the state.
    Terraform,
    /// The Azure CLI's JSON (`az network ... show` / `list`).
    AzureCli,
    /// An ARM template export.
    Arm,
}

/// Statuses `amlfw audit --fail-on` can make fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    /// Deployed rules broader than required.
    Broader,
}

/// Arguments of `amlfw plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The scenario file (YAML).
    pub scenario: PathBuf,
    /// Output format: `text` (a table), `json` (the machine-readable contract),
    /// `markdown` (the rule table of the generated READMEs, for pull requests) or `mermaid`
    /// (the flowchart of the generated READMEs).
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Use the catalog in this directory instead of the built-in one
    /// (revisions.yaml, regions.yaml, service-tags.yaml, requirements/*.yaml).
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Microsoft's service tag file (`ServiceTags_Public_<date>.json` and the Government and
    /// China ones), for `ip-addresses` modes; its change number is reported.
    #[command(flatten)]
    pub addresses: AddressArgs,
}

/// Where addresses of service tags come from.
#[derive(Debug, Clone, clap::Args)]
pub struct AddressArgs {
    /// Microsoft's service tag file (download 56519 public, 57063 Government, 57062 China):
    /// the addresses behind `route_table.mode: ip-addresses` and
    /// `firewall.destinations: ip-addresses`.
    #[arg(long, value_name = "FILE")]
    pub service_tags: Option<PathBuf>,
    /// Where a regional tag is missing from the service tag file, use the global tag's
    /// addresses (with a warning) instead of stopping.
    #[arg(long)]
    pub allow_global_tags: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Plain text, one item a line.
    Text,
    /// JSON (for `plan`, the contract in README).
    Json,
    /// A Markdown table, for pull-request comments.
    Markdown,
}

/// Output formats of `amlfw plan`: those of every command, plus the diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Plain text, one rule a line.
    Text,
    /// JSON, the contract in README.
    Json,
    /// A Markdown table, for pull-request comments.
    Markdown,
    /// A Mermaid flowchart of the traffic, as in the generated READMEs.
    Mermaid,
}

/// Arguments of `amlfw generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// The scenario file (YAML).
    pub scenario: PathBuf,
    /// The output directory; modules go to `<DIR>/terraform/` and `<DIR>/bicep/`, and the
    /// record of what amlfw wrote and from what (amlfw version, catalog revision, scenario
    /// and its SHA-256) to `<DIR>/amlfw-manifest.json`. Files amlfw did not write
    /// are never changed; generated files no longer produced are removed when the record
    /// shows amlfw wrote them as they are, and kept with a warning otherwise.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// What to generate.
    #[arg(long, value_enum, default_value_t = TargetArg::All)]
    pub target: TargetArg,
    /// Write nothing: print a unified diff of every changed, missing or stale file on
    /// stdout and exit 1 if there is any (0 when up to date). `amlfw-manifest.json` counts
    /// as a generated file: a stale provenance record (another catalog revision or amlfw
    /// version, an edited scenario) is drift; leftovers of an interrupted run are not.
    #[arg(long)]
    pub check: bool,
    /// Use the catalog in this directory instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Service tag file options.
    #[command(flatten)]
    pub addresses: AddressArgs,
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
    /// `<DIR>/allowlist/allowlist.csv` and `allowlist.json`: one row per destination, for
    /// firewalls and proxies that are not Azure Firewall.
    Allowlist,
}

impl From<TargetArg> for Target {
    fn from(target: TargetArg) -> Target {
        match target {
            TargetArg::Terraform => Target::Terraform,
            TargetArg::Bicep => Target::Bicep,
            TargetArg::All => Target::All,
            TargetArg::Allowlist => Target::Allowlist,
        }
    }
}

/// Arguments of `amlfw diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The old scenario (or the only one, with `--catalog-from`/`--catalog-to`).
    pub old: PathBuf,
    /// The new scenario; when absent, OLD is compared with itself under two revisions.
    pub new: Option<PathBuf>,
    /// Plan the old side with this catalog revision (`2022-09`, `2026-03`, `latest`)
    /// instead of its scenario's.
    #[arg(long, value_name = "REVISION")]
    pub catalog_from: Option<String>,
    /// Plan the new side with this catalog revision instead of its scenario's.
    #[arg(long, value_name = "REVISION")]
    pub catalog_to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Use the catalog in this directory instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
}

/// Arguments of `amlfw catalog`.
#[derive(Debug, clap::Args)]
pub struct CatalogArgs {
    /// What to show.
    #[command(subcommand)]
    pub command: CatalogCommand,
    /// Use the catalog in this directory instead of the built-in one.
    #[arg(long, value_name = "DIR", global = true)]
    pub catalog: Option<PathBuf>,
}

/// The catalog subcommands.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// One line per requirement: id, revisions, concern, purpose. Example:
    /// `amlfw catalog list --revision latest --format json`.
    List {
        /// Only the requirements of this revision (`2022-09`, `2026-03`, `latest`).
        #[arg(long, value_name = "REVISION")]
        revision: Option<String>,
        /// Output format (`text` or `json`).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Everything the catalog says about one requirement, in every revision. Example:
    /// `amlfw catalog show storage-service-tag`.
    Show {
        /// The requirement id, for example `storage-service-tag`.
        id: String,
    },
    /// Requirements added, removed and changed between two revisions. Example:
    /// `amlfw catalog diff 2022-09 latest --format markdown`.
    Diff {
        /// The old revision.
        from: String,
        /// The new revision.
        to: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// Set when a write to stderr failed: the run then cannot end with success, since the user
/// did not see all it had to say.
static STDERR_FAILED: AtomicBool = AtomicBool::new(false);

/// Writes to stderr without ever panicking (`eprint!` panics when stderr is full or closed);
/// a failure is remembered, and `run` turns a success into exit code 2.
fn print_stderr(text: &str) {
    let mut stderr = std::io::stderr().lock();
    if stderr
        .write_all(text.as_bytes())
        .and_then(|()| stderr.flush())
        .is_err()
    {
        STDERR_FAILED.store(true, Ordering::Relaxed);
    }
}

/// Parses the process arguments, runs the command, prints, and returns the exit code.
#[must_use]
pub fn run() -> u8 {
    let code = run_command();
    if code == 0 && STDERR_FAILED.load(Ordering::Relaxed) {
        EXIT_INPUT
    } else {
        code
    }
}

fn run_command() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr (exit 2).
            let printed = error.print();
            if error.use_stderr() {
                return EXIT_INPUT;
            }
            return match printed {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => EXIT_INPUT,
                _ => 0,
            };
        }
    };
    let color = match cli.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    match cli.command {
        Command::Plan(args) => plan(&args),
        Command::Generate(args) => generate(&args, color),
        Command::Diff(args) => diff(&args),
        Command::Catalog(args) => catalog(&args),
        Command::VerifyDependencies(args) => verify_dependencies(&args),
        Command::Audit(args) => audit(&args),
        Command::Completions(args) => completions(args.shell),
        Command::Man => man_page(),
        Command::Init(args) => init(&args),
        Command::Schema(args) => print_stdout(&match args.format {
            SchemaFormat::Json => scenario::schema::schema_text(&Catalog::embedded()),
            SchemaFormat::Markdown => scenario::schema::reference_markdown(&Catalog::embedded()),
        }),
    }
}

fn init(args: &InitArgs) -> u8 {
    let catalog = Catalog::embedded();
    // clap only lets through the names of Cloud::ALL.
    let cloud = Cloud::ALL
        .into_iter()
        .find(|c| c.as_str() == args.cloud)
        .unwrap_or(Cloud::Public);
    let text = match scenario::starter::starter(&catalog, cloud, args.region.as_deref()) {
        Ok(text) => text,
        Err(diagnostic) => return fail(&[*diagnostic], "the command line"),
    };
    if args.file.as_os_str() == "-" {
        return print_stdout(&text);
    }
    match output::write_new(&args.file, &text) {
        Ok(()) => {
            print_stderr(&format!(
                "amlfw: wrote {}; `amlfw schema > scenario.schema.json` beside it enables checks in editors\n",
                args.file.display()
            ));
            0
        }
        Err(diagnostic) => fail(&[*diagnostic], "the output file"),
    }
}

/// `amlfw completions`: the script clap_complete derives from this very parser.
fn completions(shell: clap_complete::Shell) -> u8 {
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut <Cli as clap::CommandFactory>::command(),
        "amlfw",
        &mut script,
    );
    print_stdout(&String::from_utf8_lossy(&script))
}

/// `amlfw man`: one page for amlfw with a section per subcommand.
fn man_page() -> u8 {
    let mut page = Vec::new();
    let command = <Cli as clap::CommandFactory>::command();
    // Writing into a Vec cannot fail.
    if let Err(error) = clap_mangen::Man::new(command).render(&mut page) {
        print_stderr(&format!("amlfw: bug: man page: {error}\n"));
        return EXIT_BUG;
    }
    print_stdout(&String::from_utf8_lossy(&page))
}

fn audit(args: &AuditArgs) -> u8 {
    let addresses = AddressArgs {
        service_tags: args.service_tags.clone(),
        allow_global_tags: false,
    };
    let mut deployed = Vec::new();
    let mut problems = Vec::new();
    for path in &args.deployed {
        match read_input(path, &DEPLOYED_INPUT) {
            Ok(bytes) => deployed.push((path.display().to_string(), bytes)),
            Err(diagnostic) => problems.push(*diagnostic),
        }
    }
    if !problems.is_empty() {
        return fail(&problems, "the deployed input");
    }
    with_scenario_inputs(
        &args.scenario,
        args.catalog.as_deref(),
        &addresses,
        || (),
        |catalog, display, bytes, options, ()| {
            let outcome = crate::audit::run(
                bytes,
                display,
                catalog,
                &deployed,
                crate::audit::Options {
                    input_format: args.input_format.map(|format| match format {
                        InputFormatArg::Terraform => crate::audit::InputFormat::Terraform,
                        InputFormatArg::AzureCli => crate::audit::InputFormat::AzureCli,
                        InputFormatArg::Arm => crate::audit::InputFormat::Arm,
                    }),
                    format: match args.format {
                        Format::Text => crate::audit::ReportFormat::Text,
                        Format::Markdown => crate::audit::ReportFormat::Markdown,
                        Format::Json => crate::audit::ReportFormat::Json,
                    },
                    fail_on_broader: args.fail_on == Some(FailOnArg::Broader),
                    service_tags: options.service_tags,
                },
            );
            print_stderr(&outcome.stderr);
            let printed = print_stdout(&outcome.stdout);
            if printed == 0 { outcome.code } else { printed }
        },
    )
}

fn verify_dependencies(args: &VerifyArgs) -> u8 {
    let catalog = match load_catalog(args.catalog.as_deref()) {
        Ok(catalog) => catalog,
        Err(diagnostics) => return fail(&diagnostics, "the catalog"),
    };
    let response_display = args.response.display().to_string();
    let endpoints = match read_input(&args.response, &DEPENDENCIES_INPUT) {
        Err(diagnostic) => return fail(&[*diagnostic], "the API response"),
        Ok(bytes) => match dependencies::parse_response(&bytes) {
            Ok(endpoints) => endpoints,
            Err(reason) => {
                let diagnostic = Diagnostic::error(Code::InvalidDependencies, format!("`{response_display}`: {reason}"))
                    .help("save the response of `az rest --method GET --url .../outboundNetworkDependenciesEndpoints?api-version=2024-04-01`");
                return fail(&[diagnostic], "the API response");
            }
        },
    };
    let display = args.scenario.display().to_string();
    let bytes = match read_scenario(&args.scenario, &display) {
        Ok(bytes) => bytes,
        Err(diagnostic) => return fail(&[*diagnostic], "the scenario"),
    };
    let mut scenario = match scenario::load_bytes(&bytes, &display, &catalog) {
        Ok(scenario) => scenario,
        Err(diagnostics) => return fail(&diagnostics, "the scenario"),
    };
    // The API lists host names: compare them with the article's host tables.
    scenario.firewall.destinations = crate::catalog::Mode::Hosts;
    scenario.firewall.ip_groups = false;
    let plan = match planner::plan(&scenario, &catalog) {
        Ok(plan) => plan,
        Err(diagnostics) => return fail(&diagnostics, "the scenario"),
    };
    let verification = dependencies::verify(&catalog, &plan, &endpoints);
    let text = match args.format {
        Format::Json => verification.to_json(),
        Format::Text | Format::Markdown => verification.to_text(&response_display, &display, &plan),
    };
    let code = print_stdout(&text);
    if code == 0
        && (!verification.missing.is_empty() || (args.strict && !verification.retired.is_empty()))
    {
        EXIT_DRIFT
    } else {
        code
    }
}

/// Reads what `plan` and `generate` share (the catalog, the scenario, the service tag file)
/// and runs `command` on it; a problem reading any of them is reported and ends the run.
/// A closure, because the parsed tag file borrows the bytes read here. `meanwhile` is
/// work of the command's that needs none of these inputs (`generate` verifies its output
/// directory), done while the tag file is read; `command` gets what it gave.
fn with_scenario_inputs<T>(
    scenario: &Path,
    catalog_dir: Option<&Path>,
    addresses: &AddressArgs,
    meanwhile: impl FnOnce() -> T,
    command: impl FnOnce(&Catalog, &str, &[u8], AddressOptions<'_>, T) -> u8,
) -> u8 {
    let display = scenario.display().to_string();
    // Reading a 4 MB service tag file is mostly the kernel filling new memory, and
    // neither the catalog nor the scenario depends on it: another thread reads it while
    // this one loads those. Only the read: the catalog's thousands of small allocations
    // are cheapest on this thread's heap (a second thread's heap grows a page at a time).
    // Without a file there is nothing to overlap.
    let reading = addresses
        .service_tags
        .clone()
        .map(|path| std::thread::spawn(move || read_input(&path, &SERVICE_TAG_INPUT)));
    let catalog = load_catalog(catalog_dir);
    let bytes = read_scenario(scenario, &display);
    // The command's own work that needs none of the inputs, while the file is read.
    let prepared = meanwhile();
    let tag_bytes = match reading {
        // The reading thread does not panic; if it did, this thread panics with its
        // payload, as the read would have here.
        Some(thread) => thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            .map(Some),
        None => Ok(None),
    };
    // Problems in the order the inputs are named: the catalog, the scenario, the file.
    let catalog = match catalog {
        Ok(catalog) => catalog,
        Err(diagnostics) => return fail(&diagnostics, "the catalog"),
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(diagnostic) => return fail(&[*diagnostic], "the scenario"),
    };
    let tag_bytes = match tag_bytes {
        Ok(bytes) => bytes,
        Err(diagnostic) => return fail(&[*diagnostic], "the service tag file"),
    };
    let tag_file = match parse_service_tags(addresses, tag_bytes.as_deref()) {
        Ok(file) => file,
        Err(diagnostic) => return fail(&[*diagnostic], "the service tag file"),
    };
    let options = AddressOptions {
        service_tags: tag_file.as_ref(),
        allow_global_tags: addresses.allow_global_tags,
    };
    command(&catalog, &display, &bytes, options, prepared)
}

fn plan(args: &PlanArgs) -> u8 {
    with_scenario_inputs(
        &args.scenario,
        args.catalog.as_deref(),
        &args.addresses,
        || (),
        |catalog, display, bytes, options, ()| {
            let outcome = plan_output(bytes, display, catalog, options, args.format);
            print_stderr(&outcome.stderr);
            if outcome.code != 0 {
                return outcome.code;
            }
            print_stdout(&outcome.stdout)
        },
    )
}

fn generate(args: &GenerateArgs, color: bool) -> u8 {
    with_scenario_inputs(
        &args.scenario,
        args.catalog.as_deref(),
        &args.addresses,
        || verified_output(args),
        |catalog, display, bytes, options, verified| {
            generate_with(args, color, catalog, display, bytes, options, verified)
        },
    )
}

/// The output directory's last run, verified to be still what it wrote
/// (`output::verify`), when this run may reuse it: not under `--check`, which always
/// renders (it is the verification), nor with `AMLFW_NO_REUSE=1`, which forces the full
/// path (benchmarks measure both). Problems are the full path's to report.
fn verified_output(args: &GenerateArgs) -> Option<output::Verified> {
    if args.check || std::env::var_os("AMLFW_NO_REUSE").is_some() {
        return None;
    }
    let out = output::resolve_out(&args.out, &std::env::current_dir().ok()?);
    output::check_output_directory(&out, &args.scenario).ok()?;
    output::verify(&out)
}

fn generate_with(
    args: &GenerateArgs,
    color: bool,
    catalog: &Catalog,
    display: &str,
    bytes: &[u8],
    options: AddressOptions<'_>,
    verified: Option<output::Verified>,
) -> u8 {
    let target: Target = args.target.into();
    let mut planned = match planned_generation(bytes, display, catalog, options) {
        Ok(planned) => planned,
        Err(outcome) => {
            print_stderr(&outcome.stderr);
            return outcome.code;
        }
    };
    print_stderr(&planned.plan.warnings_text());
    // The guards and the writes use one path, normalised lexically: `X/nonexistent/..`
    // would pass checks of the path as given (it does not resolve) and write into `X`.
    let Ok(cwd) = std::env::current_dir() else {
        let diagnostic = Diagnostic::error(
            Code::WriteFailed,
            "cannot resolve --out: the current directory no longer exists",
        )
        .help("run amlfw from an existing directory");
        return fail(&[diagnostic], "the command line");
    };
    let out = output::resolve_out(&args.out, &cwd);
    let render_key = planned.render_key(target);
    // An output directory that provably holds what this run would write: say so without
    // rendering (most of a run).
    let reused = verified.and_then(|verified| verified.reuse(&render_key));
    let written = match reused {
        Some(report) => Ok(report),
        None => {
            let Generated {
                files, provenance, ..
            } = match planned.render(target) {
                Ok(generated) => generated,
                Err(outcome) => {
                    print_stderr(&outcome.stderr);
                    return outcome.code;
                }
            };
            if args.check {
                return check_output(&out, &files, &provenance, color);
            }
            // Test-only: makes the process abort after this many renames, so tests can
            // prove what a kill at each moment leaves on disk. Not documented for users.
            let inject = std::env::var("AMLFW_TEST_ABORT_AFTER_RENAMES")
                .ok()
                .and_then(|n| n.parse().ok())
                .map(output::InjectedFailure::AbortAfterRenames);
            output::write_recorded(
                &out,
                &args.scenario,
                &files,
                &provenance,
                Some(&render_key),
                inject,
            )
        }
    };
    match written {
        Ok(report) => {
            let relative = |path: &Path| output_relative(&out, path);
            let mut text = String::new();
            for leftover in &report.leftovers_removed {
                text.push_str(&format!(
                    "amlfw: removed leftover {} of an interrupted run\n",
                    relative(leftover)
                ));
            }
            for removed in &report.removed {
                text.push_str(&format!("amlfw: removed {}\n", relative(removed)));
            }
            text.push_str(&render_all(&report.warnings, "the output directory"));
            if report.manifest_written && report.written.is_empty() && report.removed.is_empty() {
                // Otherwise "0 file(s) written" would hide the one file that changed.
                text.push_str(&format!(
                    "amlfw: updated {} only: no rule changed, its provenance record did\n",
                    output::MANIFEST_FILE
                ));
            }
            let kept = if report.kept.is_empty() {
                String::new()
            } else {
                format!(", {} stale kept", report.kept.len())
            };
            text.push_str(&format!(
                "amlfw: {} file(s) written, {} unchanged, {} stale removed{kept} in {}\n",
                report.written.len(),
                report.unchanged.len(),
                report.removed.len(),
                out.display()
            ));
            print_stderr(&text);
            0
        }
        Err(diagnostics) => fail(&diagnostics, "the output directory"),
    }
}

/// `path` under `out`, as the manifest names it (`terraform/main.tf`).
fn output_relative(out: &Path, path: &Path) -> String {
    path.strip_prefix(out)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// `generate --check`: the diff on stdout, the counts on stderr; exit 1 on drift.
fn check_output(
    out: &Path,
    files: &RenderedFiles,
    provenance: &output::Provenance,
    color: bool,
) -> u8 {
    let report = match output::check_report(out, files, Some(provenance)) {
        Ok(report) => report,
        Err(diagnostics) => return fail(&diagnostics, "the output directory"),
    };
    let mut notes = String::new();
    for leftover in &report.leftovers {
        notes.push_str(&format!(
            "amlfw: ignored {}: a leftover of an interrupted amlfw run, not drift; the next `amlfw generate` removes it\n",
            output_relative(out, leftover)
        ));
    }
    if report.drifts.is_empty() {
        notes.push_str(&format!(
            "amlfw: {} is up to date ({} files and {})\n",
            out.display(),
            files.len(),
            output::MANIFEST_FILE
        ));
        print_stderr(&notes);
        return 0;
    }
    let text: String = report
        .drifts
        .iter()
        .map(|drift| drift.unified_diff(color))
        .collect();
    let code = print_stdout(&text);
    let count =
        |wanted: fn(&output::Drift) -> bool| report.drifts.iter().filter(|d| wanted(d)).count();
    let changed = count(|d| matches!(d, output::Drift::Changed { .. }));
    let missing = count(|d| matches!(d, output::Drift::Missing { .. }));
    let removable = count(|d| matches!(d, output::Drift::Stale { kept: None, .. }));
    let kept = count(|d| matches!(d, output::Drift::Stale { kept: Some(_), .. }));
    // The manifest counts as a generated file: it is drift when it would change.
    let mut summary = format!(
        "amlfw: {} of {} generated file(s) in {} differ ({changed} changed, {missing} missing)",
        changed + missing,
        files.len() + 1,
        out.display()
    );
    if removable > 0 {
        summary.push_str(&format!(", {removable} stale file(s) would be removed"));
    }
    if kept > 0 {
        summary.push_str(&format!(
            ", {kept} stale file(s) generate keeps (it cannot prove it wrote them: delete them yourself if they are not needed)"
        ));
    }
    if changed + missing + removable > 0 {
        summary.push_str("; run `amlfw generate` without --check to update them");
    }
    notes.push_str(&summary);
    notes.push('\n');
    print_stderr(&notes);
    if code == 0 { EXIT_DRIFT } else { code }
}

fn diff(args: &DiffArgs) -> u8 {
    let catalog = match load_catalog(args.catalog.as_deref()) {
        Ok(catalog) => catalog,
        Err(diagnostics) => return fail(&diagnostics, "the catalog"),
    };
    if args.new.is_none() && (args.catalog_from.is_none() || args.catalog_to.is_none()) {
        print_stderr(
            "error: `amlfw diff` needs two scenarios, or one scenario with --catalog-from and --catalog-to\n  = help: amlfw diff old.yaml new.yaml, or amlfw diff scenario.yaml --catalog-from 2022-09 --catalog-to latest\n",
        );
        return EXIT_INPUT;
    }
    let new_path = args.new.as_deref().unwrap_or(&args.old);
    let (old_plan, old_label) = match load_plan(
        &args.old,
        &catalog,
        args.catalog_from.as_deref(),
        "--catalog-from",
    ) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let (new_plan, new_label) = match load_plan(
        new_path,
        &catalog,
        args.catalog_to.as_deref(),
        "--catalog-to",
    ) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let plan_diff = PlanDiff::new(&old_label, &old_plan, &new_label, &new_plan);
    print_stdout(&match args.format {
        Format::Text => plan_diff.to_text(),
        Format::Json => plan_diff.to_json(),
        Format::Markdown => plan_diff.to_markdown(),
    })
}

/// Loads and plans a scenario file, optionally under another catalog revision; prints any
/// diagnostics and returns the exit code on failure.
fn load_plan(
    path: &Path,
    catalog: &Catalog,
    revision: Option<&str>,
    flag: &str,
) -> Result<(Plan, String), u8> {
    let display = path.display().to_string();
    let bytes = read_scenario(path, &display).map_err(|d| fail(&[*d], "the scenario"))?;
    let mut scenario =
        scenario::load_bytes(&bytes, &display, catalog).map_err(|d| fail(&d, "the scenario"))?;
    if let Some(revision) = revision {
        let Some(resolved) = catalog.resolve_revision(revision) else {
            return Err(fail(
                &[unknown_revision(catalog, revision, flag)],
                "the command line",
            ));
        };
        scenario.catalog_requested = revision.to_owned();
        scenario.catalog_revision = resolved.to_owned();
    }
    let plan = planner::plan(&scenario, catalog).map_err(|d| fail(&d, "the scenario"))?;
    Ok((
        plan,
        format!("{display} (catalog {})", scenario.catalog_revision),
    ))
}

fn unknown_revision(catalog: &Catalog, revision: &str, flag: &str) -> Diagnostic {
    let mut names = vec!["latest"];
    names.extend(catalog.revisions.iter().map(|r| r.id.as_str()));
    Diagnostic::error(
        Code::UnknownCatalogRevision,
        format!("unknown catalog revision `{revision}` in {flag}"),
    )
    .help(format!(
        "use one of {}",
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn catalog(args: &CatalogArgs) -> u8 {
    let catalog = match load_catalog(args.catalog.as_deref()) {
        Ok(catalog) => catalog,
        Err(diagnostics) => return fail(&diagnostics, "the catalog"),
    };
    let resolve = |revision: &str, flag: &str| -> Result<String, u8> {
        catalog
            .resolve_revision(revision)
            .map(str::to_owned)
            .ok_or_else(|| {
                fail(
                    &[unknown_revision(&catalog, revision, flag)],
                    "the command line",
                )
            })
    };
    match &args.command {
        CatalogCommand::List { revision, format } => {
            let revision = match revision
                .as_deref()
                .map(|r| resolve(r, "--revision"))
                .transpose()
            {
                Ok(revision) => revision,
                Err(code) => return code,
            };
            print_stdout(&catalog_list(&catalog, revision.as_deref(), *format))
        }
        CatalogCommand::Show { id } => match catalog_show(&catalog, id) {
            Ok(text) => print_stdout(&text),
            Err(diagnostic) => fail(&[*diagnostic], "the command line"),
        },
        CatalogCommand::Diff { from, to, format } => {
            let (from, to) = match (
                resolve(from, "the old revision"),
                resolve(to, "the new revision"),
            ) {
                (Ok(from), Ok(to)) => (from, to),
                (Err(code), _) | (_, Err(code)) => return code,
            };
            let catalog_diff = CatalogDiff::new(&catalog, &from, &to);
            print_stdout(&match format {
                Format::Text => catalog_diff.to_text(),
                Format::Json => catalog_diff.to_json(),
                Format::Markdown => catalog_diff.to_markdown(),
            })
        }
    }
}

/// `amlfw catalog list`.
#[must_use]
pub fn catalog_list(catalog: &Catalog, revision: Option<&str>, format: Format) -> String {
    let mut rows: Vec<(String, Vec<String>, String, String)> = Vec::new();
    for requirement in &catalog.requirements {
        if revision.is_some_and(|r| !requirement.revisions.iter().any(|x| x == r)) {
            continue;
        }
        match rows.iter_mut().find(|row| row.0 == requirement.id) {
            Some(row) => row.1.extend(requirement.revisions.iter().cloned()),
            None => rows.push((
                requirement.id.clone(),
                requirement.revisions.clone(),
                requirement.concern.as_str().to_owned(),
                requirement.purpose.clone(),
            )),
        }
    }
    rows.sort();
    match format {
        Format::Json => {
            let items: Vec<serde_json::Value> = rows
                .iter()
                .map(|(id, revisions, concern, purpose)| serde_json::json!({ "id": id, "revisions": revisions, "concern": concern, "purpose": purpose }))
                .collect();
            let mut text = serde_json::to_string_pretty(&items).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Text | Format::Markdown => {
            let width = rows.iter().map(|row| row.0.len()).max().unwrap_or(0);
            rows.iter()
                .map(|(id, revisions, concern, purpose)| {
                    format!(
                        "{id:<width$}  {:<17}  {concern:<10}  {purpose}\n",
                        revisions.join(",")
                    )
                })
                .collect()
        }
    }
}

/// `amlfw catalog show ID`.
pub fn catalog_show(catalog: &Catalog, id: &str) -> Result<String, Box<Diagnostic>> {
    let variants: Vec<&Requirement> = catalog.requirements.iter().filter(|r| r.id == id).collect();
    if variants.is_empty() {
        let ids: Vec<&str> = catalog.requirements.iter().map(|r| r.id.as_str()).collect();
        let help = did_you_mean(id, ids.iter().copied()).map_or_else(
            || "`amlfw catalog list` shows every id".to_owned(),
            |s| format!("did you mean `{s}`?"),
        );
        return Err(Box::new(
            Diagnostic::error(
                Code::UnknownRequirement,
                format!("the catalog has no requirement `{id}`"),
            )
            .help(help),
        ));
    }
    let mut out = String::new();
    for requirement in variants {
        out.push_str(&format!(
            "{} ({})\n",
            requirement.id,
            requirement.revisions.join(", ")
        ));
        out.push_str(&format!(
            "  purpose: {}\n  concern: {}\n  when: {}\n",
            requirement.purpose,
            requirement.concern.as_str(),
            requirement.when
        ));
        out.push_str(&format!(
            "  modes: {}\n",
            requirement
                .modes
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out.push_str(&format!(
            "  traffic: {}\n",
            requirement_traffic(requirement)
        ));
        for cloud in Cloud::ALL {
            if let Some(destinations) = &requirement.destinations {
                let text = match destinations.get(cloud) {
                    CloudEndpoints::Endpoints(list) => list
                        .iter()
                        .map(Endpoint::text)
                        .collect::<Vec<_>>()
                        .join(", "),
                    CloudEndpoints::NotNeeded(reason) => format!("not needed: {reason}"),
                    CloudEndpoints::NotAvailable(reason) => format!("not available: {reason}"),
                };
                out.push_str(&format!("  {cloud}: {text}\n"));
            }
        }
        for (revision, section) in &requirement.sections {
            out.push_str(&format!("  section ({revision}): {section}\n"));
        }
        for (revision, quote) in &requirement.quotes {
            out.push_str(&format!("  quote ({revision}): {quote}\n"));
        }
        if let Some(note) = &requirement.note {
            out.push_str(&format!("  note: {note}\n"));
        }
        if let Some(manual) = &requirement.manual {
            out.push_str(&format!("  advice: {manual}\n"));
        }
        out.push_str(&format!("  file: catalog/{}\n", requirement.file));
    }
    Ok(out)
}

/// What `amlfw generate` would write, before writing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The files for the target, by path under `--out`.
    pub files: RenderedFiles,
    /// Where they come from, for `amlfw-manifest.json`.
    pub provenance: output::Provenance,
    /// The warnings, as printed on stderr.
    pub warnings: String,
}

/// `amlfw generate` without the writing: the files for `target`, their provenance and the
/// warnings text, or the outcome to report. The golden tests compare exactly these files
/// (and the manifest made of them and the provenance).
pub fn generate_files(
    bytes: &[u8],
    display: &str,
    catalog: &Catalog,
    options: AddressOptions<'_>,
    target: Target,
) -> Result<Generated, Outcome> {
    planned_generation(bytes, display, catalog, options)?.render(target)
}

/// A planned `generate`, before rendering: what decides the files, and where they come from.
struct PlannedGeneration {
    plan: crate::plan::Plan,
    scenario_name: String,
    provenance: output::Provenance,
}

fn planned_generation(
    bytes: &[u8],
    display: &str,
    catalog: &Catalog,
    options: AddressOptions<'_>,
) -> Result<PlannedGeneration, Outcome> {
    let failure = |diagnostics: &[Diagnostic]| Outcome {
        stdout: String::new(),
        stderr: render_all(diagnostics, "the scenario"),
        code: EXIT_INPUT,
    };
    let scenario = scenario::load_bytes(bytes, display, catalog).map_err(|d| failure(&d))?;
    let plan = planner::plan_with(&scenario, catalog, options).map_err(|d| failure(&d))?;
    let scenario_name = Path::new(display)
        .file_name()
        .map_or_else(|| display.to_owned(), |n| n.to_string_lossy().into_owned());
    Ok(PlannedGeneration {
        provenance: output::Provenance::new(&plan, &scenario_name, bytes),
        plan,
        scenario_name,
    })
}

impl PlannedGeneration {
    fn render(self, target: Target) -> Result<Generated, Outcome> {
        let files =
            render::render(&self.plan, target, &self.scenario_name).map_err(|error| Outcome {
                stdout: String::new(),
                stderr: format!("error: {error}\n"),
                code: EXIT_BUG,
            })?;
        Ok(Generated {
            files,
            warnings: self.plan.warnings_text(),
            provenance: self.provenance,
        })
    }

    /// The key this generation's files are recorded under (`output::render_key`).
    fn render_key(&mut self, target: Target) -> String {
        output::render_key(
            &mut self.plan,
            target,
            &self.scenario_name,
            &self.provenance,
        )
    }
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
pub fn plan_output(
    bytes: &[u8],
    display: &str,
    catalog: &Catalog,
    options: AddressOptions<'_>,
    format: PlanFormat,
) -> Outcome {
    let failure = |diagnostics: &[Diagnostic]| Outcome {
        stdout: String::new(),
        stderr: render_all(diagnostics, "the scenario"),
        code: EXIT_INPUT,
    };
    let scenario = match scenario::load_bytes(bytes, display, catalog) {
        Ok(scenario) => scenario,
        Err(diagnostics) => return failure(&diagnostics),
    };
    let plan = match planner::plan_with(&scenario, catalog, options) {
        Ok(plan) => plan,
        Err(diagnostics) => return failure(&diagnostics),
    };
    Outcome {
        stdout: match format {
            PlanFormat::Text => plan.to_string(),
            PlanFormat::Json => plan.to_json(),
            PlanFormat::Markdown => render::plan_markdown(&plan),
            PlanFormat::Mermaid => render::mermaid::plan_mermaid(&plan),
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
            print_stderr(&format!(
                "error[write-failed]: cannot write to stdout: {error}\n"
            ));
            EXIT_INPUT
        }
    }
}

fn fail(diagnostics: &[Diagnostic], what: &str) -> u8 {
    print_stderr(&render_all(diagnostics, what));
    EXIT_INPUT
}

/// Parses the `--service-tags` file; its name (not path) labels plans and headers.
fn parse_service_tags<'b>(
    args: &AddressArgs,
    bytes: Option<&'b [u8]>,
) -> Result<Option<ServiceTagFile<'b>>, Box<Diagnostic>> {
    let (Some(path), Some(bytes)) = (&args.service_tags, bytes) else {
        return Ok(None);
    };
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    ServiceTagFile::parse(bytes, &name)
        .map(Some)
        .map_err(|error| {
            let message = match error {
                ServiceTagError::Invalid(reason) => {
                    format!("`{}` is not a service tag file: {reason}", path.display())
                }
                ServiceTagError::UnknownCloud(cloud) => {
                    format!("`{}` names an unknown cloud `{cloud}`", path.display())
                }
                ServiceTagError::BadPrefix { tag, prefix } => format!(
                    "`{}`: tag `{tag}` has an invalid prefix `{prefix}`",
                    path.display()
                ),
            };
            Box::new(
                Diagnostic::error(Code::InvalidServiceTags, message)
                    .at(Location {
                        file: path.display().to_string(),
                        path: String::new(),
                        position: None,
                    })
                    .help(
                        "give Microsoft's \"Azure IP Ranges and Service Tags\" JSON file as downloaded",
                    ),
            )
        })
}

/// An input file other than the scenario, and the most amlfw reads of it: far above any
/// real file, so only a wrong file (`/dev/zero`, a disk image) is refused, and before it
/// is parsed or held whole in memory.
struct Input {
    /// What the file is, for the message: `a service tag file`.
    what: &'static str,
    /// The cap in bytes.
    cap: u64,
    /// How large the real files are, for the hint.
    help: &'static str,
}

/// Microsoft's public service tag file is about 4 MB.
const SERVICE_TAG_INPUT: Input = Input {
    what: "a service tag file",
    cap: 64 * 1024 * 1024,
    help: "Microsoft's public service tag file is about 4 MB; is this the right file?",
};
/// A real `outboundNetworkDependenciesEndpoints` response is a few KB (the fixture: 5 KB).
const DEPENDENCIES_INPUT: Input = Input {
    what: "a Dependencies API response",
    cap: 16 * 1024 * 1024,
    help: "a real outboundNetworkDependenciesEndpoints response is a few KB; is this the right file?",
};
/// `terraform show -json` of a large hub's plan is a few MB; a state with many modules
/// more, so the cap is generous.
const DEPLOYED_INPUT: Input = Input {
    what: "a deployed-rule file",
    cap: 256 * 1024 * 1024,
    help: "`terraform show -json` of a whole landing zone is a few MB; is this the right file?",
};
/// The largest built-in catalog file is under 100 KB.
const CATALOG_INPUT: Input = Input {
    what: "a catalog file",
    cap: 16 * 1024 * 1024,
    help: "the catalog files amlfw ships are under 100 KB each; is this the right directory?",
};

/// The file's bytes, or `Err(size)` when it holds more than `cap` (`size` when it is a
/// regular file, whose length is known without reading it). Reads at most `cap + 1` bytes,
/// so `/dev/zero` or a sparse 1 GiB file cost no more than the cap.
fn read_capped(path: &Path, cap: u64) -> std::io::Result<Result<Vec<u8>, Option<u64>>> {
    let file = std::fs::File::open(path)?;
    // Sized from the file's length (up to the cap) when it has one: growing the buffer
    // from empty copied a 4 MB service tag file several times over and faulted in every
    // new buffer, about a tenth of an IP-mode run. A device or pipe (no length) grows.
    let expected = file
        .metadata()
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map_or(0, |m| m.len().min(cap));
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).saturating_add(1));
    (&file)
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        let size = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        return Ok(Err(size));
    }
    Ok(Ok(bytes))
}

/// `has 1073741824 bytes` or, when the size is unknown (a device), `has more than N bytes`.
fn size_text(size: Option<u64>, cap: u64) -> String {
    match size {
        Some(size) => format!("has {size} bytes"),
        None => format!("has more than {cap} bytes"),
    }
}

/// Reads a scenario file of at most [`scenario::MAX_SCENARIO_BYTES`].
fn read_scenario(path: &Path, display: &str) -> Result<Vec<u8>, Box<Diagnostic>> {
    let cap = scenario::MAX_SCENARIO_BYTES as u64;
    match read_capped(path, cap) {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(size)) => Err(Box::new(
            Diagnostic::error(
                Code::ScenarioTooLarge,
                format!(
                    "the file {}; a scenario has at most {cap}",
                    size_text(size, cap)
                ),
            )
            .at(Location {
                file: display.to_owned(),
                path: String::new(),
                position: None,
            })
            .help("a thousand workspaces take about 400 KB; is this the right file?"),
        )),
        Err(error) => Err(Box::new(read_error(display, &error))),
    }
}

/// Reads an input file of at most `input.cap` bytes.
fn read_input(path: &Path, input: &Input) -> Result<Vec<u8>, Box<Diagnostic>> {
    let display = path.display().to_string();
    match read_capped(path, input.cap) {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(size)) => Err(Box::new(
            Diagnostic::error(
                Code::FileTooLarge,
                format!(
                    "`{display}` {}; {} has at most {} ({} MiB)",
                    size_text(size, input.cap),
                    input.what,
                    input.cap,
                    input.cap / (1024 * 1024)
                ),
            )
            .at(Location {
                file: display.clone(),
                path: String::new(),
                position: None,
            })
            .help(input.help),
        )),
        Err(error) => Err(Box::new(read_error(&display, &error))),
    }
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
        match read_input(&path, &CATALOG_INPUT).and_then(|bytes| {
            String::from_utf8(bytes).map_err(|_| {
                let error = std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "stream did not contain valid UTF-8",
                );
                Box::new(read_error(&path.display().to_string(), &error))
            })
        }) {
            Ok(text) => files.push((relative, text)),
            Err(diagnostic) => diagnostics.push(*diagnostic),
        }
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    Catalog::load(&files, &display)
}
