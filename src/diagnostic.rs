//! Diagnostics: what amlfw tells a user about their input, and how it is printed.
//!
//! Every problem has a stable kebab-case [`Code`], a lowercase message, a location
//! (`file:line:col` with the offending line underlined, or a YAML path when there is no
//! position) and, when amlfw can say what to do, a help line. Loaders collect every
//! problem they find into a `Vec<Diagnostic>` so the user sees them all in one run.

use std::fmt;

/// How bad a diagnostic is. Errors stop the run with exit code 2; warnings never change
/// the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The input cannot be used as it is.
    Error,
    /// The output is produced, but the user must know this.
    Warning,
}

macro_rules! codes {
    ($($variant:ident => $text:literal: $doc:literal,)*) => {
        /// The stable identifier of a kind of problem. The kebab-case text is a public
        /// contract: users search for it, and golden files contain it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $(#[doc = $doc] $variant,)*
        }

        impl Code {
            /// Every code, in declaration order (the tidy test checks each is exercised).
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The kebab-case text of the code.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    // Reading the file.
    ReadFailed => "read-failed": "A file cannot be read.",
    NotUtf8 => "not-utf8": "The scenario file is not UTF-8 text.",
    EmptyFile => "empty-file": "The scenario file holds no YAML document.",
    YamlSyntax => "yaml-syntax": "The YAML syntax is wrong.",
    YamlAlias => "yaml-alias": "The scenario uses a YAML alias, which amlfw refuses.",
    YamlMultipleDocuments => "yaml-multiple-documents": "The file holds more than one YAML document.",
    YamlTooDeep => "yaml-too-deep": "Mappings or lists are nested far deeper than a scenario needs.",
    FileTooLarge => "file-too-large": "A service tag file, Dependencies API response or catalog file is larger than amlfw reads.",
    // Shape of the scenario.
    UnknownField => "unknown-field": "A key the scenario format does not have.",
    DuplicateField => "duplicate-field": "The same key appears twice in one mapping.",
    MissingField => "missing-field": "A required key is absent.",
    InvalidType => "invalid-type": "A value has the wrong YAML type (for example a list where a string belongs).",
    InvalidValue => "invalid-value": "A value is of the right type but not one of the allowed values.",
    UnsupportedVersion => "unsupported-version": "The scenario `version` is not one amlfw reads.",
    // Meaning of the scenario.
    UnknownCloud => "unknown-cloud": "The cloud is not public, usgov or china.",
    UnknownCatalogRevision => "unknown-catalog-revision": "The catalog revision is not one the catalog has.",
    UnknownRegion => "unknown-region": "The region is not an Azure region amlfw knows.",
    RegionNotInCloud => "region-not-in-cloud": "The region exists, but in another cloud.",
    UnknownFeature => "unknown-feature": "A feature name amlfw does not know.",
    DuplicateFeature => "duplicate-feature": "A feature is listed twice for one workspace.",
    InvalidCidr => "invalid-cidr": "A compute subnet is not a valid CIDR network.",
    InvalidIpAddress => "invalid-ip-address": "An IP address is not valid.",
    InvalidStorageAccount => "invalid-storage-account": "A storage account name breaks Azure's naming rules.",
    InvalidContainerRegistry => "invalid-container-registry": "A container registry name breaks Azure's naming rules.",
    InvalidWorkspaceId => "invalid-workspace-id": "A workspace ID is not a GUID.",
    InvalidSubnetId => "invalid-subnet-id": "A compute subnet ID is not a subnet resource ID.",
    InvalidName => "invalid-name": "A name breaks the Azure naming rules for that resource.",
    InvalidFqdn => "invalid-fqdn": "An extra host name is not a valid FQDN (or uses a wildcard Azure Firewall cannot express).",
    InvalidPort => "invalid-port": "A port is outside 1-65535.",
    PriorityOutOfRange => "priority-out-of-range": "A rule collection group priority is outside 100-65000.",
    DuplicateWorkspace => "duplicate-workspace": "Two workspaces have the same name.",
    NoWorkspaces => "no-workspaces": "The scenario lists no workspace.",
    MissingComputeSubnets => "missing-compute-subnets": "Firewall rules are needed but the workspace names no compute subnet to use as their source.",
    MissingPlaceholderValue => "missing-placeholder-value": "A selected requirement needs a value (storage account, registry, workspace ID) the workspace does not give.",
    // Service tag files (addresses instead of tags).
    ServiceTagsRequired => "service-tags-required": "The scenario asks for IP addresses but no --service-tags file was given.",
    ServiceTagsCloudMismatch => "service-tags-cloud-mismatch": "The service tag file is of another cloud than the scenario.",
    InvalidServiceTags => "invalid-service-tags": "The service tag file is not Microsoft's JSON format.",
    MissingRegionalTag => "missing-regional-tag": "A regional tag the plan needs is not in the service tag file.",
    RouteLimitExceeded => "route-limit-exceeded": "A route table would hold more than 400 routes.",
    IpGroupLimitExceeded => "ip-group-limit-exceeded": "An IP group would hold more than 5,000 prefixes, or a firewall more than 200 IP groups.",
    InvalidDependencies => "invalid-dependencies": "The Dependencies API response is not the expected JSON.",
    // Least privilege (the planner's lint pass).
    BroadDestination => "broad-destination": "A rule would allow every destination.",
    AnyPort => "any-port": "A rule would allow every port.",
    AnySource => "any-source": "A rule would allow every source.",
    BroadWildcard => "broad-wildcard": "A wildcard host sits directly under a public suffix (or is not one leading `*.` label), so it matches domains of unrelated owners.",
    // Writing output.
    OutputNotADirectory => "output-not-a-directory": "The --out path exists and is not a directory.",
    ForeignFile => "foreign-file": "A file amlfw would write exists and was not written by amlfw.",
    WriteFailed => "write-failed": "A file cannot be written, renamed or removed.",
    UnsafeOutputDirectory => "unsafe-output-directory": "The --out directory is the filesystem root.",
    ForeignOutputDirectory => "foreign-output-directory": "The --out directory holds other files and nothing amlfw generated.",
    FileExists => "file-exists": "`amlfw init` was given a file that already exists.",
    ScenarioTooLarge => "scenario-too-large": "The scenario file is larger than any scenario needs.",
    OutputLocked => "output-locked": "Another amlfw is writing the --out directory (it holds the directory's lock).",
    // Command line.
    UnknownRequirement => "unknown-requirement": "`amlfw catalog show` was given an id the catalog does not have.",
    // Catalog problems (only with --catalog, or an amlfw bug).
    InvalidCatalog => "invalid-catalog": "The rule catalog is malformed.",
    // Warnings.
    NoRegionPair => "no-region-pair": "The region has no paired region.",
    NoRegionalTag => "no-regional-tag": "The region has no regional service tag, so the global tag is used.",
    UrlPathOnStandard => "url-path-on-standard": "A URL path rule needs Azure Firewall Premium; the host alone is allowed instead.",
    NotAvailableInCloud => "not-available-in-cloud": "A requirement has no equivalent in this cloud.",
    TagFeatureMissing => "tag-feature-missing": "Microsoft's service tag file does not list the tag as usable where amlfw puts it.",
    DnsProxyRequired => "dns-proxy-required": "A network rule uses FQDNs, which needs DNS proxy enabled on the firewall policy.",
    RestrictedRegion => "restricted-region": "The region is restricted, retired or a canary/stage region.",
    ManualStep => "manual-step": "The article asks for something amlfw cannot express as a rule; do it by hand.",
    Ipv6LeftOut => "ipv6-left-out": "IPv6 prefixes of service tags are left out of IP groups (Azure Firewall filters IPv4).",
    NotRealized => "not-realized": "A requirement applies but the scenario turned off the output that would carry it.",
    StaleFileKept => "stale-file-kept": "A generated file the plan no longer produces is left in place: amlfw cannot prove it wrote it.",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a problem is: a file, plus a line and column when the parser gave one, else the
/// YAML path of the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file as the user named it.
    pub file: String,
    /// The YAML path, such as `workspaces[1].region`.
    pub path: String,
    /// Line, column and underline width, when known.
    pub position: Option<Position>,
}

/// A position in a file, with the text of its line for the snippet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// How many characters to underline.
    pub width: usize,
    /// The text of the line, without its line break.
    pub line_text: String,
}

/// One problem found in the user's input or in a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The stable code.
    pub code: Code,
    /// What is wrong: lowercase, no trailing period, user values in backticks.
    pub message: String,
    /// Where, when it is about a place in a file.
    pub location: Option<Location>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with a code and message.
    #[must_use]
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            location: None,
            help: None,
        }
    }

    /// Adds a location.
    #[must_use]
    pub fn at(mut self, location: Location) -> Diagnostic {
        self.location = Some(location);
        self
    }

    /// Adds a help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// True for errors.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// Renders like rustc: a header, an arrow to the place, the line with a caret
    /// underline, and the help.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{label}[{}]: {}", self.code, self.message)?;
        let gutter = match &self.location {
            Some(Location {
                position: Some(position),
                ..
            }) => position.line.to_string().len(),
            _ => 1,
        };
        let pad = " ".repeat(gutter);
        if let Some(location) = &self.location {
            match &location.position {
                Some(position) => {
                    let at = if location.path.is_empty() {
                        String::new()
                    } else {
                        format!(" (at {})", location.path)
                    };
                    writeln!(
                        f,
                        "{pad}--> {}:{}:{}{at}",
                        location.file, position.line, position.col
                    )?;
                    writeln!(f, "{pad} |")?;
                    writeln!(f, "{} | {}", position.line, position.line_text)?;
                    let lead: String = position
                        .line_text
                        .chars()
                        .take(position.col.saturating_sub(1))
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    writeln!(f, "{pad} | {lead}{}", "^".repeat(position.width.max(1)))?;
                }
                None if location.path.is_empty() => writeln!(f, "{pad}--> {}", location.file)?,
                None => writeln!(f, "{pad}--> {} (at {})", location.file, location.path)?,
            }
        }
        if let Some(help) = &self.help {
            writeln!(f, "{pad} = help: {help}")?;
        }
        Ok(())
    }
}

/// Renders a list of diagnostics followed by a summary line, exactly as the CLI prints
/// them on stderr (golden `stderr.txt` files hold this text).
#[must_use]
pub fn render_all(diagnostics: &[Diagnostic], what: &str) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str(&diagnostic.to_string());
        out.push('\n');
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        let noun = if errors == 1 { "problem" } else { "problems" };
        out.push_str(&format!("error: {what} has {errors} {noun}\n"));
    }
    out
}

/// The closest candidate to `input` when it is close enough to be a likely typo, compared
/// case-insensitively with the Levenshtein distance (at most a third of the length).
#[must_use]
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let input_lower = input.to_lowercase();
    let limit = (input.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| {
            (
                levenshtein(&input_lower, &candidate.to_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b_chars: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b_chars.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1; b_chars.len() + 1];
        for (j, b_char) in b_chars.iter().enumerate() {
            let substitution = previous[j] + usize::from(a_char != *b_char);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b_chars.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "duplicate code {text}");
            assert!(
                text.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()),
                "{text} is not kebab-case"
            );
        }
    }

    #[test]
    fn suggestions_find_close_names_only() {
        let names = ["region", "name", "storage_account"];
        assert_eq!(did_you_mean("regon", names), Some("region"));
        assert_eq!(did_you_mean("Region", names), Some("region"));
        assert_eq!(
            did_you_mean("storage_acount", names),
            Some("storage_account")
        );
        assert_eq!(did_you_mean("banana", names), None);
    }

    #[test]
    fn renders_position_snippet_and_help() {
        let diagnostic = Diagnostic::error(Code::UnknownRegion, "unknown region `eastus9`")
            .at(Location {
                file: "s.yaml".into(),
                path: "workspaces[0].region".into(),
                position: Some(Position {
                    line: 7,
                    col: 13,
                    width: 7,
                    line_text: "    region: eastus9".into(),
                }),
            })
            .help("did you mean `eastus2`?");
        assert_eq!(
            diagnostic.to_string(),
            "error[unknown-region]: unknown region `eastus9`\n \
             --> s.yaml:7:13 (at workspaces[0].region)\n  |\n7 |     region: eastus9\n  \
             |             ^^^^^^^\n  = help: did you mean `eastus2`?\n"
        );
    }
}
