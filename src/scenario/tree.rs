//! A YAML document as a tree of nodes that remember where they start in the source.
//!
//! serde_yaml reports a position only for its first error, so the scenario loader would
//! stop at one problem and lose the line of every semantic one. This module builds the
//! whole tree from yaml-rust2's event stream, with a line and column on every node, and
//! the decoder in `scenario/mod.rs` walks it and reports every problem at once.
//!
//! Aliases are refused: a scenario is short and hand-written, and refusing them closes
//! the "billion laughs" expansion attack at the door.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in the source: 1-based line and column (in characters), and how many
/// characters the token spans on that line (at least 1). `u32`, not `usize`: a scenario
/// has at most 2 MiB, and every node carries a span (see [`Node`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) line: u32,
    pub(crate) col: u32,
    pub(crate) width: u32,
}

impl Span {
    /// A span from positions counted in `usize`; a position past `u32::MAX` (which a
    /// 2 MiB scenario cannot have) stays at the maximum.
    pub(crate) fn new(line: usize, col: usize, width: usize) -> Span {
        let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span {
            line: narrow(line),
            col: narrow(col),
            width: narrow(width),
        }
    }

    /// The 1-based line, as an index type.
    pub(crate) fn line(self) -> usize {
        self.line as usize
    }
}

/// One YAML node: 48 bytes, short scalars included. A 2 MiB scenario holds up to about a
/// million nodes (`[a,a,a,...`), so the size of a node is the loader's peak memory: at 56
/// bytes plus a heap string per scalar, that input took 114 MB (issue 15 asks <= 64 MB).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    pub(crate) span: Span,
}

/// A scalar's text: up to [`ScalarText::INLINE`] bytes inside the node, longer ones in
/// one exact-size heap allocation. Nearly every scalar of a scenario (names, regions,
/// CIDRs, feature names) is short, and a heap string costs at least 32 bytes besides.
#[derive(Clone)]
pub(crate) enum ScalarText {
    /// Short text: its length and bytes (valid UTF-8 up to the length).
    Inline(u8, [u8; ScalarText::INLINE]),
    /// Longer text.
    Heap(Box<str>),
}

impl ScalarText {
    /// The longest text kept inline: what fits beside the tag in a `Box<str>`'s size
    /// plus the node's other bytes.
    pub(crate) const INLINE: usize = 22;

    fn new(text: String) -> ScalarText {
        if text.len() <= ScalarText::INLINE {
            let mut bytes = [0; ScalarText::INLINE];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            // At most INLINE (22), so the length fits a byte.
            ScalarText::Inline(text.len() as u8, bytes)
        } else {
            ScalarText::Heap(text.into_boxed_str())
        }
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Copied from a `String` whole, so the bytes are UTF-8 up to the length.
            ScalarText::Inline(len, bytes) => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            ScalarText::Heap(text) => text,
        }
    }
}

impl std::ops::Deref for ScalarText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for ScalarText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for ScalarText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ScalarText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ScalarText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What a node holds.
#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    /// A mapping, keys in document order (duplicates kept so the decoder can report them).
    Map(Vec<(Node, Node)>),
    /// A sequence.
    Seq(Vec<Node>),
    /// A scalar; `plain` is false for quoted and block scalars, which are always strings.
    Scalar { value: ScalarText, plain: bool },
}

impl Node {
    /// True for `~`, `null`, `Null`, `NULL` and the empty plain scalar.
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { value, plain: true }
            if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// A short noun for the node's type, used in "expected X, found Y" messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Map(_) => "a mapping",
            NodeKind::Seq(_) => "a list",
            NodeKind::Scalar { .. } if self.is_null() => "nothing (null)",
            NodeKind::Scalar { value, plain: true }
                if matches!(value.as_str(), "true" | "false" | "True" | "False") =>
            {
                "a boolean"
            }
            NodeKind::Scalar { value, plain: true } if value.parse::<f64>().is_ok() => "a number",
            NodeKind::Scalar { .. } => "a string",
        }
    }
}

/// Why the text is not a YAML document amlfw can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TreeError {
    /// The text holds no document, or only comments and blank lines.
    Empty,
    /// The YAML syntax is wrong; the message comes from the parser.
    Syntax { message: String, span: Span },
    /// An alias (`*name`) was used.
    Alias { span: Span },
    /// More than one document (`---`) in the file.
    MultipleDocuments { span: Span },
    /// Mappings and lists nested deeper than any scenario needs.
    TooDeep { span: Span },
    /// The parser reached the end of its stream before the end of the text: it takes a
    /// NUL for the end, so whatever follows would be silently dropped.
    Unconsumed { span: Span },
}

/// Test-only count of the work of the loading steps that once were quadratic: the bytes the
/// span code reads from the source, one unit per span lookup, and the subnets aggregated to
/// find merged sources covering a whole address family. Tests assert that it grows linearly
/// with the input, which does not depend on the machine's speed. Per thread, since tests
/// run in parallel.
#[cfg(test)]
pub(crate) mod work {
    use std::cell::Cell;

    thread_local! {
        static UNITS: Cell<usize> = const { Cell::new(0) };
    }

    pub(crate) fn add(units: usize) {
        UNITS.with(|count| count.set(count.get() + units));
    }

    /// Runs `job` and returns its result with the work the span code did meanwhile.
    pub(crate) fn measure<T>(job: impl FnOnce() -> T) -> (T, usize) {
        let before = UNITS.with(Cell::get);
        let result = job();
        (result, UNITS.with(Cell::get) - before)
    }
}

/// Deeper nesting than this is refused; a scenario needs five levels.
const MAX_DEPTH: usize = 64;

/// Parses `source` into a tree. Column numbers count characters, not bytes.
pub(crate) fn parse(source: &str) -> Result<Node, TreeError> {
    let mut builder = Builder {
        line_chars: line_char_counts(source),
        stack: Vec::new(),
        root: None,
        documents: 0,
        error: None,
    };
    // Drive the parser's iterative state machine event by event (rather than its
    // recursive `load`), so deeply nested input cannot overflow the stack: the builder
    // stops at MAX_DEPTH.
    let mut parser = Parser::new_from_str(source);
    loop {
        let (event, marker) = match parser.next_token() {
            Ok(next) => next,
            Err(scan_error) => {
                return Err(TreeError::Syntax {
                    message: scan_error.info().to_owned(),
                    span: builder.span_at(scan_error.marker(), 1),
                });
            }
        };
        if event == Event::StreamEnd {
            // The decoder refuses NUL and other non-YAML characters before parsing; this
            // second guard holds whatever else might make the parser stop early.
            if marker.index() < source.chars().count() {
                return Err(TreeError::Unconsumed {
                    span: span_of_index(source, marker.index()),
                });
            }
            break;
        }
        builder.on_event(event, marker);
        if let Some(error) = builder.error {
            return Err(error);
        }
    }
    match builder.root {
        Some(root) if !root.is_null() => Ok(root),
        _ => Err(TreeError::Empty),
    }
}

/// The line and column of the character at `index` (counted in characters). The stream
/// end's marker has the right index but a line already advanced past the stop.
fn span_of_index(source: &str, index: usize) -> Span {
    let before: Vec<char> = source.chars().take(index).collect();
    let line_start = before
        .iter()
        .rposition(|c| *c == '\n')
        .map_or(0, |newline| newline + 1);
    Span::new(
        before.iter().filter(|c| **c == '\n').count() + 1,
        index - line_start + 1,
        1,
    )
}

enum Partial {
    Map {
        span: Span,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
    Seq {
        span: Span,
        items: Vec<Node>,
    },
}

struct Builder {
    /// The number of characters on each line, as `str::lines` splits them (so without
    /// the line break): built once, so a span costs O(1) instead of a rescan of the text
    /// up to its line, which made loading quadratic in the size of the file.
    line_chars: Vec<usize>,
    stack: Vec<Partial>,
    root: Option<Node>,
    documents: usize,
    error: Option<TreeError>,
}

/// The character count of every line of `source`, split exactly as `str::lines` splits
/// (`\n` or `\r\n` ends a line; no empty line after a final line break).
fn line_char_counts(source: &str) -> Vec<usize> {
    #[cfg(test)]
    work::add(source.len());
    source
        .split_inclusive('\n')
        .map(|line| {
            let text = match line.strip_suffix('\n') {
                Some(line) => line.strip_suffix('\r').unwrap_or(line),
                None => line,
            };
            text.chars().count()
        })
        .collect()
}

impl Builder {
    /// Converts a parser marker into a span, counting columns in characters.
    fn span_at(&self, marker: &Marker, width: usize) -> Span {
        let line = marker.line().max(1);
        // yaml-rust2 reports a 0-based column counted in characters; the line number
        // is 1-based. Clamp so a marker past the end of the text stays on its line.
        let col = marker.col() + 1;
        // A line past the last one (the stream end) has no characters.
        let line_chars = self.line_chars.get(line - 1).copied().unwrap_or(0);
        #[cfg(test)]
        work::add(1);
        let width = width.max(1).min(line_chars.saturating_sub(col - 1).max(1));
        Span::new(line, col, width)
    }

    fn push_node(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Partial::Seq { items, .. }) => items.push(node),
            Some(Partial::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(key_node) => entries.push((key_node, node)),
            },
        }
    }
}

impl Builder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        if self.error.is_some() {
            return;
        }
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.error = Some(TreeError::MultipleDocuments {
                        span: self.span_at(&marker, 3),
                    });
                }
            }
            Event::Alias(_) => {
                self.error = Some(TreeError::Alias {
                    span: self.span_at(&marker, 1),
                });
            }
            Event::Scalar(value, style, _, _) => {
                let plain = style == TScalarStyle::Plain;
                let quotes = usize::from(matches!(
                    style,
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted
                )) * 2;
                let width = value.lines().next().unwrap_or("").chars().count() + quotes;
                let span = self.span_at(&marker, width);
                self.push_node(Node {
                    kind: NodeKind::Scalar {
                        value: ScalarText::new(value),
                        plain,
                    },
                    span,
                });
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.error = Some(TreeError::TooDeep {
                    span: self.span_at(&marker, 1),
                });
            }
            Event::SequenceStart(..) => {
                let span = self.span_at(&marker, 1);
                self.stack.push(Partial::Seq {
                    span,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(..) => {
                let span = self.span_at(&marker, 1);
                self.stack.push(Partial::Map {
                    span,
                    entries: Vec::new(),
                    key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Partial::Seq { span, items }) => Node {
                        kind: NodeKind::Seq(items),
                        span,
                    },
                    // A block mapping's start marker points past its first key; the first
                    // key is where a reader looks for the mapping.
                    Some(Partial::Map { span, entries, .. }) => Node {
                        span: entries.first().map_or(span, |(key, _)| key.span),
                        kind: NodeKind::Map(entries),
                    },
                    // The parser balances start and end events; nothing to close otherwise.
                    None => return,
                };
                self.push_node(node);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_at(node: &Node, key: &str) -> (String, Span) {
        let NodeKind::Map(entries) = &node.kind else {
            panic!("not a map")
        };
        for (k, v) in entries {
            if let NodeKind::Scalar { value, .. } = &k.kind
                && value == key
                && let NodeKind::Scalar { value, .. } = &v.kind
            {
                return (value.to_string(), v.span);
            }
        }
        panic!("no key {key}")
    }

    #[test]
    fn spans_are_one_based_and_count_characters() {
        let root = parse("a: 1\nbé: \"xy\"\n").unwrap();
        let (value, span) = scalar_at(&root, "a");
        assert_eq!(value, "1");
        assert_eq!((span.line, span.col, span.width), (1, 4, 1));
        let (value, span) = scalar_at(&root, "bé");
        assert_eq!(value, "xy");
        assert_eq!((span.line, span.col, span.width), (2, 5, 4));
    }

    #[test]
    fn empty_and_comment_only_documents_are_empty() {
        assert_eq!(parse("").unwrap_err(), TreeError::Empty);
        assert_eq!(parse("# only a comment\n\n").unwrap_err(), TreeError::Empty);
    }

    #[test]
    fn aliases_are_refused() {
        let error = parse("a: &x [1, 2]\nb: *x\n").unwrap_err();
        assert!(matches!(error, TreeError::Alias { span } if span.line == 2));
    }

    #[test]
    fn a_node_stays_small_and_short_scalars_stay_inside_it() {
        // The loader's peak memory is about a million nodes for the densest 2 MiB input
        // (`[a,a,a,...`): 48 bytes each keeps it under 64 MB (issue 15).
        assert!(
            std::mem::size_of::<Node>() <= 48,
            "{}",
            std::mem::size_of::<Node>()
        );
        let inline = "é".repeat(ScalarText::INLINE / 2);
        let long = format!("{inline}x");
        for text in ["", "a", inline.as_str(), long.as_str()] {
            let scalar = ScalarText::new(text.to_owned());
            assert_eq!(scalar.as_str(), text);
            assert_eq!(
                matches!(scalar, ScalarText::Inline(..)),
                text.len() <= ScalarText::INLINE,
                "{text:?}"
            );
        }
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let error = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(matches!(error, TreeError::Syntax { .. }));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        // Block nesting reaches amlfw's own limit.
        let block: String = (0..100)
            .map(|depth| format!("{}k:\n", " ".repeat(depth)))
            .collect();
        let error = parse(&block).unwrap_err();
        assert!(matches!(error, TreeError::TooDeep { .. }), "{error:?}");
        // Flow nesting hits the parser's recursion limit first; either way, no overflow.
        let error = parse(&"[".repeat(100_000)).unwrap_err();
        assert!(matches!(error, TreeError::Syntax { .. }), "{error:?}");
    }

    #[test]
    fn text_the_parser_did_not_read_is_refused() {
        // yaml-rust2 ends its stream at a NUL; without the guard `b` would be lost.
        let error = parse("a: 1\n# \0\nb: 2\n").unwrap_err();
        assert_eq!(
            error,
            TreeError::Unconsumed {
                span: Span {
                    line: 2,
                    col: 3,
                    width: 1
                }
            }
        );
        // Whole documents, with or without a final line break, are read to the end.
        for text in [
            "a: 1\n",
            "a: 1",
            "a: 1   ",
            "a: 'x'\t",
            "a: 1\n# end",
            "a: 1\n...\n",
            "a: 1\n\n\n   ",
            "a: 1\r\nb: 2\r\n",
            "a: [1, 2]\n\n# end\n",
            "a: |\n  x\n\n",
            "a: >-\n  x\n  y",
            "{a: 1}",
        ] {
            assert!(parse(text).is_ok(), "{text:?}");
        }
    }

    #[test]
    fn a_second_document_is_refused() {
        let error = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(matches!(error, TreeError::MultipleDocuments { span } if span.line == 2));
    }

    #[test]
    fn line_character_counts_follow_str_lines() {
        for text in [
            "",
            "a",
            "a\n",
            "a\n\n",
            "é\r\nbé\r\n",
            "a\rb\n",
            "a\r",
            "a\n\r",
            "\n\n x",
            "x\r\n\r\ny",
        ] {
            let expected: Vec<usize> = text.lines().map(|line| line.chars().count()).collect();
            assert_eq!(line_char_counts(text), expected, "{text:?}");
        }
    }

    /// Spans at the edges the clamping handles: a marker on the line after the last one
    /// (the stream end), a token wider than the rest of its line, and `\r\n` line ends.
    #[test]
    fn spans_clamp_to_their_line() {
        let error = parse("a: [1,\n").unwrap_err();
        let TreeError::Syntax { span, .. } = error else {
            panic!("{error:?}")
        };
        assert_eq!(span.width, 1);
        let root = parse("a: 'x\r\n  y'\r\nb: é\r\n").unwrap();
        let (_, span) = scalar_at(&root, "a");
        assert_eq!((span.line, span.col, span.width), (1, 4, 2));
        let (_, span) = scalar_at(&root, "b");
        assert_eq!((span.line, span.col, span.width), (3, 4, 1));
    }

    /// Scenario texts of about `bytes` bytes, of each shape that once took time quadratic
    /// in its size (or, for the unknown key, "did not finish in 600 s" at 2 MiB).
    fn shapes(bytes: usize) -> Vec<(&'static str, String)> {
        fn repeat(head: &str, item: impl Fn(usize) -> String, tail: &str, bytes: usize) -> String {
            let mut text = head.to_owned();
            let mut index = 0;
            while text.len() + tail.len() < bytes {
                text.push_str(&item(index));
                index += 1;
            }
            text + tail
        }
        let workspace = "version: 1\ncloud: public\nworkspaces:\n  - name: mlw\n    region: eastus2\n    compute_subnets: [10.0.0.0/24]\n    extra_fqdns:\n";
        vec![
            (
                "one-character list items under an unknown key",
                repeat("version: 1\nbogus:\n", |_| "- a\n".to_owned(), "", bytes),
            ),
            (
                "deep lists",
                repeat(
                    "version: 1\nbogus:\n",
                    |_| format!("- {}{}\n", "[".repeat(60), "]".repeat(60)),
                    "",
                    bytes,
                ),
            ),
            (
                "many keys",
                repeat(
                    "version: 1\nbogus:\n",
                    |i| format!("  k{i}: v\n"),
                    "",
                    bytes,
                ),
            ),
            (
                "long strings on one line",
                repeat(
                    "version: 1\nbogus: [",
                    |_| format!("{}, ", "x".repeat(100)),
                    "y]\n",
                    bytes,
                ),
            ),
            (
                "many one-character items on one line",
                repeat("version: 1\nbogus: [", |_| "a,".to_owned(), "a]\n", bytes),
            ),
            (
                "many workspaces",
                repeat(
                    "version: 1\ncloud: public\nworkspaces:\n",
                    |i| {
                        format!(
                            "  - name: mlw-{i}\n    region: eastus2\n    compute_subnets: [10.{}.{}.0/24]\n    features: [python, notebooks]\n",
                            i / 256 % 256,
                            i % 256
                        )
                    },
                    "",
                    bytes,
                ),
            ),
            (
                "many extra_fqdns",
                repeat(
                    workspace,
                    |i| {
                        format!(
                            "      - {{ fqdn: host{i}.example.com, ports: [443], reason: r{i} }}\n"
                        )
                    },
                    "",
                    bytes,
                ),
            ),
            (
                "the same host with different reasons",
                repeat(
                    workspace,
                    |i| {
                        format!(
                            "      - {{ fqdn: github.com, ports: [443], reason: clone code {i} }}\n"
                        )
                    },
                    "",
                    bytes,
                ),
            ),
        ]
    }

    /// Loading each shape at twice the size does at most 2.5 times the work, up to the
    /// largest scenario amlfw reads: the work is linear, so the time is bounded on every
    /// input, whatever the machine.
    #[test]
    fn loading_work_is_linear_in_the_size_of_every_shape() {
        let catalog = crate::catalog::Catalog::embedded();
        let large = crate::scenario::MAX_SCENARIO_BYTES - 4096;
        for ((shape, half), (_, full)) in shapes(large / 2).into_iter().zip(shapes(large)) {
            let ((), work_half) = work::measure(|| {
                let _ = crate::scenario::load(&half, "s.yaml", &catalog);
            });
            let ((), work_full) = work::measure(|| {
                let _ = crate::scenario::load(&full, "s.yaml", &catalog);
            });
            assert!(
                work_half >= half.len(),
                "{shape}: the span code read {work_half} units"
            );
            #[allow(clippy::cast_precision_loss)] // Work counts are far below 2^52.
            let ratio = work_full as f64 / work_half as f64;
            assert!(
                ratio <= 2.5,
                "{shape}: {work_half} units of work at {} bytes, {work_full} at {} bytes ({ratio:.1}x)",
                half.len(),
                full.len()
            );
        }
    }
}
