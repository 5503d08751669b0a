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
    InvalidCharacter => "invalid-character": "The file holds a character YAML does not allow in a stream (a NUL byte, a control character, a byte order mark past the start).",
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
    InvalidPort => "invalid-port": "A port is outside 1-65535, or an extra host lists no port.",
    PriorityOutOfRange => "priority-out-of-range": "A rule collection group priority is outside 100-65000, or an NSG priority band outside 100-4096.",
    DuplicateWorkspace => "duplicate-workspace": "Two workspaces have the same name.",
    NoWorkspaces => "no-workspaces": "The scenario lists no workspace.",
    MissingComputeSubnets => "missing-compute-subnets": "Firewall rules are needed but the workspace names no compute subnet to use as their source.",
    MissingPlaceholderValue => "missing-placeholder-value": "A selected requirement needs a value (storage account, registry, workspace ID) the workspace does not give.",
    DuplicateSubnetId => "duplicate-subnet-id": "A compute subnet resource ID is listed twice (Azure compares IDs ignoring case), in one workspace or in two.",
    DuplicateSubnet => "duplicate-subnet": "A workspace lists the same compute subnet prefix twice.",
    // Service tag files (addresses instead of tags).
    ServiceTagsRequired => "service-tags-required": "The scenario asks for IP addresses but no --service-tags file was given.",
    ServiceTagsCloudMismatch => "service-tags-cloud-mismatch": "The service tag file is of another cloud than the scenario.",
    InvalidServiceTags => "invalid-service-tags": "The service tag file is not Microsoft's JSON format.",
    MissingRegionalTag => "missing-regional-tag": "A regional tag the plan needs is not in the service tag file.",
    RouteLimitExceeded => "route-limit-exceeded": "A route table would hold more than 400 routes.",
    IpGroupLimitExceeded => "ip-group-limit-exceeded": "An IP group would hold more than 5,000 prefixes, or a firewall more than 200 IP groups.",
    InvalidDependencies => "invalid-dependencies": "The Dependencies API response is not the expected JSON.",
    InvalidDeployed => "invalid-deployed": "A deployed-rule file given to `amlfw audit` is not JSON, or not a format amlfw reads (`terraform show -json`, Azure CLI JSON, an ARM template export), or holds a value amlfw cannot read.",
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
    NsgPriorityBandFull => "nsg-priority-band-full": "The NSG rules do not fit the NSG priority band (the catalog's slots, or the scenario's `outputs.nsg.priorities`).",
    // Warnings.
    NoRegionPair => "no-region-pair": "The region has no paired region.",
    NoRegionalTag => "no-regional-tag": "The region has no regional service tag, so the global tag is used.",
    UrlPathOnStandard => "url-path-on-standard": "A URL path rule needs Azure Firewall Premium; the host alone is allowed instead.",
    NotAvailableInCloud => "not-available-in-cloud": "A requirement has no equivalent in this cloud.",
    TagFeatureMissing => "tag-feature-missing": "Microsoft's service tag file does not list the tag as usable where amlfw puts it.",
    DnsProxyRequired => "dns-proxy-required": "A network rule uses FQDNs, which needs DNS proxy enabled on the firewall policy.",
    KubernetesSubnetsDefaulted => "kubernetes-subnets-defaulted": "Kubernetes rules take the workspace's compute subnets as sources because `compute.kubernetes.subnets` does not name the cluster nodes' subnets.",
    RestrictedRegion => "restricted-region": "The region is restricted, retired or a canary/stage region.",
    ManualStep => "manual-step": "The article asks for something amlfw cannot express as a rule; do it by hand.",
    Ipv6LeftOut => "ipv6-left-out": "IPv6 prefixes of service tags are left out of IP groups (Azure Firewall filters IPv4).",
    NotRealized => "not-realized": "A requirement applies but the scenario turned off the output that would carry it.",
    UnusedInput => "unused-input": "A value of the scenario that nothing in the plan uses (for example `compute_subnet_ids` when no NSG or route table is created).",
    StaleFileKept => "stale-file-kept": "A generated file the plan no longer produces is left in place: amlfw cannot prove it wrote it.",
    // Managed virtual network (the managed-network article).
    ManagedNetworkUnsupported => "managed-network-unsupported": "A workspace with a managed virtual network asks for something the managed network cannot carry (an error).",
    ManagedNetworkLimit => "managed-network-limit": "A managed virtual network carries a feature only in part or with a workaround (a port other than 80/443, a URL path, an Azure Storage host).",
    ManagedNetworkUndocumented => "managed-network-undocumented": "The managed-network article gives no outbound rule for a feature the workspace lists.",
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
    /// underline, and the help. Everything that can hold user text (message, help, file,
    /// path, source line) goes through `echo` or `snippet`: hidden characters are
    /// escaped and huge values cut, so an input can neither drive the terminal nor flood it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{label}[{}]: {}", self.code, echo(&self.message))?;
        let gutter = match &self.location {
            Some(Location {
                position: Some(position),
                ..
            }) => position.line.to_string().len(),
            _ => 1,
        };
        let pad = " ".repeat(gutter);
        if let Some(location) = &self.location {
            let file = echo(&location.file);
            let path = echo(&location.path);
            match &location.position {
                Some(position) => {
                    let at = if path.is_empty() {
                        String::new()
                    } else {
                        format!(" (at {path})")
                    };
                    writeln!(f, "{pad}--> {file}:{}:{}{at}", position.line, position.col)?;
                    writeln!(f, "{pad} |")?;
                    let (shown, underline) =
                        snippet(&position.line_text, position.col, position.width);
                    writeln!(f, "{} | {shown}", position.line)?;
                    writeln!(f, "{pad} | {underline}")?;
                }
                None if path.is_empty() => writeln!(f, "{pad}--> {file}")?,
                None => writeln!(f, "{pad}--> {file} (at {path})")?,
            }
        }
        if let Some(help) = &self.help {
            writeln!(f, "{pad} = help: {}", echo(help))?;
        }
        Ok(())
    }
}

/// Runs of non-blank characters longer than this are cut in the middle when printed: no
/// word of a message is this long, a pasted value can be (a subnet ID has about 150).
const MAX_ECHOED_WORD: usize = 200;
/// A printed message, help line, path or file name longer than this (after cutting long
/// words) is cut in the middle; the longest message amlfw writes has about 850.
const MAX_ECHOED_TEXT: usize = 1000;
/// How many characters of the source line the snippet shows, around the column.
const MAX_SNIPPET: usize = 200;
/// Of those, how many come before the column when the line has to be cut.
const SNIPPET_LEAD: usize = 60;

/// True for characters that must not reach a terminal or a generated file as they are:
/// control characters (C0, DEL, C1) and the Unicode characters that hide or reorder
/// text (general category Cf: bidi embeddings, overrides, isolates and marks, zero-width
/// characters, the byte order mark, ...; and the line and paragraph separators U+2028 and
/// U+2029, which some editors and terminals break lines at). The one table of them:
/// `render::filters::is_unsafe` builds on it for generated files.
#[must_use]
pub fn is_hidden_character(c: char) -> bool {
    c.is_control() || is_format_character(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Unicode general category Cf (Format), complete as of Unicode 16.0. A table rather than
/// a Unicode crate: it is short, changes about once a decade, and only grows by code
/// points no scenario holds.
fn is_format_character(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// `U+202E (right-to-left override)`: the code point, and a name for the characters a
/// user is likely to meet, for messages about characters that cannot be shown.
#[must_use]
pub fn describe_character(c: char) -> String {
    let name = match c {
        '\0' => Some("NUL"),
        '\t' => Some("tab"),
        '\u{1b}' => Some("escape"),
        '\u{7f}' => Some("delete"),
        '\u{ad}' => Some("soft hyphen"),
        '\u{200b}' => Some("zero-width space"),
        '\u{200c}' => Some("zero-width non-joiner"),
        '\u{200d}' => Some("zero-width joiner"),
        '\u{200e}' => Some("left-to-right mark"),
        '\u{200f}' => Some("right-to-left mark"),
        '\u{061c}' => Some("Arabic letter mark"),
        '\u{202a}' => Some("left-to-right embedding"),
        '\u{202b}' => Some("right-to-left embedding"),
        '\u{202c}' => Some("pop directional formatting"),
        '\u{202d}' => Some("left-to-right override"),
        '\u{202e}' => Some("right-to-left override"),
        '\u{2066}' => Some("left-to-right isolate"),
        '\u{2067}' => Some("right-to-left isolate"),
        '\u{2068}' => Some("first strong isolate"),
        '\u{2069}' => Some("pop directional isolate"),
        '\u{2028}' => Some("line separator"),
        '\u{2029}' => Some("paragraph separator"),
        '\u{2060}' => Some("word joiner"),
        '\u{feff}' => Some("byte order mark"),
        _ => None,
    };
    let code = format!("U+{:04X}", u32::from(c));
    match name {
        Some(name) => format!("{code} ({name})"),
        None => code,
    }
}

/// How a character is printed: itself, or `\u{1b}` when it is hidden.
fn visible(c: char, out: &mut String) {
    if is_hidden_character(c) {
        out.extend(c.escape_unicode());
    } else {
        out.push(c);
    }
}

/// How many characters `c` takes once printed by [`visible`].
fn visible_width(c: char) -> usize {
    if is_hidden_character(c) {
        c.escape_unicode().count()
    } else {
        1
    }
}

/// `text` as it may be printed: hidden characters escaped, over-long words and an
/// over-long whole cut in the middle with a count of what was left out.
fn echo(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len().min(4 * MAX_ECHOED_TEXT));
    let mut word: Vec<char> = Vec::new();
    let flush = |word: &mut Vec<char>, out: &mut String| {
        out.push_str(&cut_middle(word, MAX_ECHOED_WORD));
        word.clear();
    };
    for c in text.chars() {
        if c == ' ' {
            flush(&mut word, &mut escaped);
            escaped.push(c);
        } else {
            let mut shown = String::new();
            visible(c, &mut shown);
            word.extend(shown.chars());
        }
    }
    flush(&mut word, &mut escaped);
    let chars: Vec<char> = escaped.chars().collect();
    cut_middle(&chars, MAX_ECHOED_TEXT)
}

/// `chars` whole when at most `limit` long, else its start and end around a note saying
/// how many characters were left out (the note is not counted in `limit`).
fn cut_middle(chars: &[char], limit: usize) -> String {
    if chars.len() <= limit {
        return chars.iter().collect();
    }
    let tail = limit / 5;
    let head = limit - tail;
    let left_out = chars.len() - head - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&format!("… ({left_out} more characters) …"));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// The source line as printed (hidden characters escaped, at most [`MAX_SNIPPET`]
/// characters around the column) and the caret underline that goes under it, so the
/// carets stay under the right characters whatever was escaped or cut.
fn snippet(line_text: &str, col: usize, width: usize) -> (String, String) {
    let chars: Vec<char> = line_text.chars().collect();
    let len = chars.len();
    let first = col.saturating_sub(1).min(len);
    let last = first.saturating_add(width.max(1)).min(len);
    let start = first
        .saturating_sub(SNIPPET_LEAD)
        .min(len.saturating_sub(MAX_SNIPPET));
    let stop = len.min(start + MAX_SNIPPET);
    let mut shown = String::new();
    let mut lead = String::new();
    if start > 0 {
        shown.push('…');
        lead.push(' ');
    }
    for (index, &c) in chars.iter().enumerate().take(stop).skip(start) {
        // A tab stays a tab on both lines, so the terminal's tab stops align them.
        if c == '\t' {
            shown.push('\t');
        } else {
            visible(c, &mut shown);
        }
        if index < first {
            if c == '\t' {
                lead.push('\t');
            } else {
                lead.extend(std::iter::repeat_n(' ', visible_width(c)));
            }
        }
    }
    if stop < len {
        shown.push('…');
    }
    if start > 0 || stop < len {
        shown.push_str(&format!(" ({} more characters)", len - (stop - start)));
    }
    let carets: usize = chars[first..last.min(stop)]
        .iter()
        .map(|&c| if c == '\t' { 1 } else { visible_width(c) })
        .sum();
    lead.push_str(&"^".repeat(carets.max(1)));
    (shown, lead)
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
    let input_chars = input.chars().count();
    let limit = (input_chars / 3).max(1);
    candidates
        .into_iter()
        // The distance is at least the difference in length, so a candidate that far off
        // needs no Levenshtein table: a pasted megabyte would take minutes otherwise.
        .filter(|candidate| input_chars.abs_diff(candidate.chars().count()) <= limit)
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
    fn suggestions_for_a_huge_input_are_instant() {
        let huge = "a".repeat(1_000_000);
        let regions: Vec<String> = (0..150).map(|n| format!("region{n:03}east")).collect();
        let started = std::time::Instant::now();
        assert_eq!(
            did_you_mean(&huge, regions.iter().map(String::as_str)),
            None
        );
        // Comparing against every candidate took 84 s for a 1,000,000-character region.
        let elapsed = started.elapsed();
        assert!(elapsed.as_secs() < 5, "{elapsed:?}");
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

    fn at_line(
        message: String,
        file: &str,
        col: usize,
        width: usize,
        line_text: String,
    ) -> Diagnostic {
        Diagnostic::error(Code::InvalidValue, message).at(Location {
            file: file.into(),
            path: "workspaces[0].region".into(),
            position: Some(Position {
                line: 7,
                col,
                width,
                line_text,
            }),
        })
    }

    /// The character of `shown` the first caret of `underline` points at (both lines
    /// start with the same gutter).
    fn pointed_at(shown: &str, underline: &str) -> char {
        let caret = underline.chars().position(|c| c == '^').expect("carets");
        shown.chars().nth(caret).expect("caret within the line")
    }

    #[test]
    fn a_million_character_value_prints_a_short_diagnostic_with_the_carets_in_place() {
        let value = "a".repeat(1_000_000);
        let text = at_line(
            format!("`{value}` is not a valid storage account name"),
            "s.yaml",
            22,
            value.len(),
            format!("    storage_account: B{value}"),
        )
        .help(format!("names have 3-24 characters, not {value}"))
        .to_string();
        assert!(text.len() < 2048, "{} bytes:\n{text}", text.len());
        assert!(
            text.contains("is not a valid storage account name"),
            "{text}"
        );
        assert!(text.contains("more characters"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(pointed_at(lines[3], lines[4]), 'B', "{text}");
        // Far into the line, the snippet is cut on both sides and still points right.
        let line_text = format!("{value}B{value}");
        let text = at_line("x".into(), "s.yaml", 1_000_001, 1, line_text).to_string();
        assert!(text.len() < 2048, "{} bytes", text.len());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(pointed_at(lines[3], lines[4]), 'B', "{text}");
    }

    #[test]
    fn control_and_bidi_characters_are_printed_escaped_under_the_right_carets() {
        let text = at_line(
            "unknown region `\u{1b}[31mred`".into(),
            "s\u{1b}]0;title\u{7}.yaml",
            14,
            8,
            "    r\u{202e}egion: \u{1b}[31mred # \u{2066}".into(),
        )
        .help("did you mean `\u{9b}31m`?")
        .to_string();
        for hidden in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{2066}'] {
            assert!(!text.contains(hidden), "{hidden:?} printed raw:\n{text}");
        }
        assert!(text.contains("unknown region `\\u{1b}[31mred`"), "{text}");
        assert!(text.contains("s\\u{1b}]0;title\\u{7}.yaml"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(pointed_at(lines[3], lines[4]), '\\', "{text}");
        // The underline covers the escape and the rest of the value: `\u{1b}[31mred`.
        assert_eq!(
            lines[4].matches('^').count(),
            "\\u{1b}[31mred".len(),
            "{text}"
        );
    }

    #[test]
    fn messages_of_ordinary_length_are_printed_whole() {
        let long_help = "word ".repeat(150);
        let text = Diagnostic::error(Code::ManualStep, "m")
            .help(long_help.trim())
            .to_string();
        assert!(text.contains(long_help.trim()), "{text}");
    }
}
