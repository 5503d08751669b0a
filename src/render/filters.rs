//! Quoting and layout helpers for generated code, each unit-tested.
//!
//! [`is_unsafe`] is the one definition of the characters no output may carry as
//! themselves (controls, bidi and other format characters, line separators); every filter
//! here asks it. Strings are escaped in the language's own syntax so they read back as
//! written ([`hcl_string`], [`bicep_string`], [`SafeJson`]); places without escapes
//! (comments, Markdown, Mermaid, CSV, the terminal) show such a character as the visible
//! text `\u{202E}` ([`visible`]). Every string that lands inside HCL quotes goes through
//! [`hcl_string`]; templates never write `"{{ x }}"`. [`align_hcl`] gives the output the
//! `=` alignment `terraform fmt` would, so the module is fmt-clean as written.

use std::collections::HashMap;
use std::fmt::Write;

use crate::diagnostic::is_hidden_character;

/// Whether `c` must never reach an output as itself: a hidden character of
/// [`is_hidden_character`] (controls: line breaks, tabs, ESC and the terminal sequences it
/// starts; format characters: bidi controls, zero-width characters, U+FEFF, ...; the
/// line and paragraph separators), or a Hangul filler (U+115F, U+1160, U+3164, U+FFA0:
/// letters that draw nothing, a known way to hide text). Such characters reorder or hide
/// what a reviewer reads, or end a line where a parser does not, so the reviewed text would
/// differ from the text that takes effect. The table of hidden characters is the one the
/// scenario decoder and the terminal output use.
#[must_use]
pub fn is_unsafe(c: char) -> bool {
    is_hidden_character(c) || matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}')
}

/// `\u{202E}`: how an unsafe character is shown where the output has no escape syntax.
pub(crate) fn visible_escape(c: char) -> String {
    format!("\\u{{{:04X}}}", u32::from(c))
}

/// `text` with every [`is_unsafe`] character shown as `\u{NNNN}`: one line, nothing
/// hidden or reordered. For comments, terminal output and the base of the other
/// text filters.
#[must_use]
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&visible_escape(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// Quotes `text` as an HCL string literal: escapes `\` and `"`, doubles the `$` of `${`
/// and the `%` of `%{` so no interpolation or directive can be injected, and writes every
/// [`is_unsafe`] character as HCL's `\uNNNN` (or `\UNNNNNNNN` beyond the BMP), so the
/// literal stays one line, shows no hidden text, and decodes to exactly `text`.
#[must_use]
pub fn hcl_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if is_unsafe(c) && u32::from(c) > 0xFFFF => {
                let _ = write!(out, "\\U{:08X}", u32::from(c));
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Quotes `text` as a Bicep string literal: escapes `\`, `'` and the `$` of `${`, so no
/// interpolation can be injected, and writes every [`is_unsafe`] character as Bicep's
/// `\u{NNNN}`, so the literal stays one line and decodes to exactly `text`.
#[must_use]
pub fn bicep_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c if is_unsafe(c) => out.push_str(&visible_escape(c)),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Whether `text` can be printed as an identifier (a Terraform resource name, a Bicep
/// symbol): an ASCII letter or `_`, then letters, digits, `_`, and `-` when `hyphens`.
/// Identifiers have no escapes, so renderers refuse any other text there.
#[must_use]
pub fn is_identifier(text: &str, hyphens: bool) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (hyphens && c == '-'))
}

/// A list of HCL strings on one line: `["a", "b"]`.
#[must_use]
pub fn hcl_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| hcl_string(item)).collect();
    format!("[{}]", quoted.join(", "))
}

/// One line of comment text (`#`, `//`, `%%`, a CSV `#` line): comments have no escapes,
/// so unsafe characters are shown as `\u{NNNN}` and text can never end the comment, start
/// code, or hide what follows.
#[must_use]
pub fn comment(text: &str) -> String {
    visible(text)
}

/// Text inside an HTML comment (`<!-- text -->`, the README header line): [`comment`],
/// and `<`, `>`, `&` as entities, so neither `-->` nor `--!>` can close the comment early
/// and no `<!--` can open another.
#[must_use]
pub fn html_comment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in visible(text).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// What a neighbour of an emphasis delimiter run is, in CommonMark's flanking rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flank {
    Whitespace,
    Punctuation,
    Other,
}

/// The classes a character next to a delimiter run may have once escaped. Non-ASCII
/// characters may be Unicode punctuation or not (std has no general category), so both.
fn flank_classes(c: Option<char>) -> &'static [Flank] {
    match c {
        None => &[Flank::Whitespace],
        // Escaped characters start with `\`, `&` or end with `;`, `}`: punctuation.
        Some(c) if is_unsafe(c) || c.is_ascii_punctuation() => &[Flank::Punctuation],
        Some(c) if c.is_whitespace() => &[Flank::Whitespace],
        Some(c) if c.is_ascii() => &[Flank::Other],
        Some(_) => &[Flank::Punctuation, Flank::Other],
    }
}

/// Whether a run of `delimiter` (`*`, `_`, `~`) between `before` and `after` could close
/// emphasis or strikethrough (CommonMark 0.31 section 6.2, GFM strikethrough).
fn can_close(delimiter: char, before: Option<char>, after: Option<char>) -> bool {
    flank_classes(before).iter().any(|&b| {
        flank_classes(after).iter().any(|&a| {
            let left = a != Flank::Whitespace && (a != Flank::Punctuation || b != Flank::Other);
            let right = b != Flank::Whitespace && (b != Flank::Punctuation || a != Flank::Other);
            if delimiter == '_' {
                right && (!left || a == Flank::Punctuation)
            } else {
                right
            }
        })
    })
}

/// Text that renders literally in Markdown and HTML, for a table cell, a heading or a
/// list item: `|`, `\`, `` ` ``, `[`, `]` backslash-escaped, `<` and `&` as entities (so
/// no tag, autolink or entity can form; a lone `>` means nothing inline), every run of
/// `*`, `_` or `~` that could close emphasis escaped (with no closer, no emphasis forms, and
/// `*.example.com` stays as written), unsafe characters as `\u{NNNN}`. The caller's own
/// text on the line must hold no `*`, `_` or `~`.
#[must_use]
pub fn markdown_cell(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        match c {
            '*' | '_' | '~' => {
                let end = chars[index..]
                    .iter()
                    .position(|&x| x != c)
                    .map_or(chars.len(), |length| index + length);
                let before = index.checked_sub(1).map(|i| chars[i]);
                let escape = can_close(c, before, chars.get(end).copied());
                for _ in index..end {
                    if escape {
                        out.push('\\');
                    }
                    out.push(c);
                }
                index = end;
                continue;
            }
            '|' | '\\' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            c if is_unsafe(c) => out.push_str(&visible_escape(c)),
            c => out.push(c),
        }
        index += 1;
    }
    out
}

/// `text` as a Markdown code span, shown literally (HTML inside a code span is text):
/// fenced by more backticks than the longest run inside, padded when it starts or ends
/// with a backtick or a space, unsafe characters as `\u{NNNN}`. Outside tables; in a table
/// cell use [`markdown_code_cell`].
#[must_use]
pub fn markdown_code(text: &str) -> String {
    let text = visible(text);
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // CommonMark strips one space from each end when both ends are spaces; padding both
    // keeps the content exact and keeps a backtick inside from joining the fence.
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// [`markdown_code`] for a table cell: GFM splits cells at `|` even inside code spans, and
/// removes the backslash of `\|` there.
#[must_use]
pub fn markdown_code_cell(text: &str) -> String {
    markdown_code(text).replace('|', "\\|")
}

/// Prose written by amlfw that quotes names in backticks (warnings, skip reasons), as
/// Markdown: each backtick pair becomes a [`markdown_code`] span and the text between is
/// [`markdown_cell`], so amlfw's formatting survives and nothing the quoted names hold
/// can act as Markdown or HTML.
#[must_use]
pub fn markdown_prose(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    // An odd count of backticks: the last one quotes nothing and is text.
    let paired = if parts.len() % 2 == 1 {
        parts.len()
    } else {
        parts.len() - 1
    };
    let mut out = String::with_capacity(text.len());
    for (index, part) in parts[..paired].iter().enumerate() {
        if index % 2 == 1 {
            out.push_str(&markdown_code(part));
        } else {
            out.push_str(&markdown_cell(part));
        }
    }
    if paired < parts.len() {
        out.push_str(&markdown_cell(&format!("`{}", parts[paired])));
    }
    out
}

/// A serde_json formatter that also writes every [`is_unsafe`] character as a `\uNNNN`
/// escape (serde_json itself escapes only C0 controls), so JSON output shows no hidden or
/// reordered text on a terminal or in a review and still decodes to the same strings.
/// Wraps the pretty or the compact formatter.
pub struct SafeJson<F>(pub F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for SafeJson<F> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if is_unsafe(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `value` as one-line JSON through [`SafeJson`].
pub fn json_compact<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    json_with(value, serde_json::ser::CompactFormatter)
}

/// `value` as pretty JSON (two-space indent, as `serde_json::to_string_pretty`) through
/// [`SafeJson`].
pub fn json_pretty<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    json_with(value, serde_json::ser::PrettyFormatter::new())
}

fn json_with<T: serde::Serialize + ?Sized, F: serde_json::ser::Formatter>(
    value: &T,
    formatter: F,
) -> serde_json::Result<String> {
    let mut bytes = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, SafeJson(formatter));
    value.serialize(&mut serializer)?;
    // The formatters write only UTF-8: strings as given, escapes in ASCII.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Aligns the `=` of consecutive one-line attributes at the same indentation, as
/// `terraform fmt` does. A blank line, a comment, a nested block, a multi-line value or a
/// change of indentation ends a group.
#[must_use]
pub fn align_hcl(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut widths: HashMap<usize, usize> = HashMap::new();
    let mut group: Vec<usize> = Vec::new();
    let mut group_indent = usize::MAX;
    let flush = |group: &mut Vec<usize>, widths: &mut HashMap<usize, usize>| {
        let width = group
            .iter()
            .filter_map(|i| attribute(lines[*i]).map(|(_, key, _)| key.len()))
            .max()
            .unwrap_or(0);
        for index in group.drain(..) {
            widths.insert(index, width);
        }
    };
    for (index, line) in lines.iter().enumerate() {
        match attribute(line) {
            Some((indent, _, value)) if is_balanced(value) => {
                if indent != group_indent {
                    flush(&mut group, &mut widths);
                    group_indent = indent;
                }
                group.push(index);
            }
            _ => {
                flush(&mut group, &mut widths);
                group_indent = usize::MAX;
            }
        }
    }
    flush(&mut group, &mut widths);
    let mut out = String::with_capacity(text.len() + 256);
    for (index, line) in lines.iter().enumerate() {
        match (attribute(line), widths.get(&index)) {
            (Some((indent, key, value)), Some(width)) => {
                let _ = writeln!(out, "{}{key:<width$} = {value}", " ".repeat(indent));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Splits `  key = value` into (indent, key, value); keys are identifiers or quoted strings.
fn attribute(line: &str) -> Option<(usize, &str, &str)> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let key_end = if let Some(rest) = trimmed.strip_prefix('"') {
        rest.find('"')? + 2
    } else {
        trimmed.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))?
    };
    if key_end == 0 {
        return None;
    }
    let (key, rest) = trimmed.split_at(key_end);
    let value = rest.trim_start().strip_prefix('=')?;
    if value.starts_with('=') {
        return None;
    }
    Some((indent, key, value.trim()))
}

/// True when every bracket the value opens it also closes (outside string literals).
fn is_balanced(value: &str) -> bool {
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    for c in value.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth -= 1,
            _ => {}
        }
    }
    depth == 0 && !in_string
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_against_injection() {
        assert_eq!(hcl_string("plain"), r#""plain""#);
        assert_eq!(
            hcl_string(r#"a "quoted" \ path"#),
            r#""a \"quoted\" \\ path""#
        );
        assert_eq!(
            hcl_string("${var.x} and %{ if } and $5 and 50%"),
            r#""$${var.x} and %%{ if } and $5 and 50%""#
        );
        assert_eq!(
            hcl_string("*/ # // 'x' ｢unicode｣"),
            "\"*/ # // 'x' ｢unicode｣\""
        );
        assert_eq!(hcl_string("two\nlines"), r#""two\u000Alines""#);
        assert_eq!(hcl_string("tab\there"), r#""tab\u0009here""#);
        assert_eq!(
            hcl_string("a\u{202E}b\u{FEFF}\u{1B}[31m\u{E0041}"),
            r#""a\u202Eb\uFEFF\u001B[31m\U000E0041""#
        );
    }

    #[test]
    fn bicep_strings_are_escaped_against_injection() {
        assert_eq!(bicep_string("plain"), "'plain'");
        assert_eq!(bicep_string(r"it's a \ path"), r"'it\'s a \\ path'");
        assert_eq!(bicep_string("${param} and $5"), r"'\${param} and $5'");
        assert_eq!(bicep_string("\"quoted\" */ # //"), "'\"quoted\" */ # //'");
        assert_eq!(bicep_string("two\nlines"), r"'two\u{000A}lines'");
        assert_eq!(
            bicep_string("a\u{202E}b\u{2028}\u{E0041}"),
            r"'a\u{202E}b\u{2028}\u{E0041}'"
        );
    }

    #[test]
    fn unsafe_characters_are_controls_formats_and_separators() {
        for c in [
            '\u{0}',
            '\n',
            '\r',
            '\t',
            '\u{1B}',
            '\u{7F}',
            '\u{85}',
            '\u{9B}',
            '\u{AD}',
            '\u{61C}',
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202E}',
            '\u{2028}',
            '\u{2029}',
            '\u{2060}',
            '\u{2066}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{3164}',
            '\u{E0001}',
            '\u{E007F}',
        ] {
            assert!(is_unsafe(c), "U+{:04X}", u32::from(c));
        }
        for c in [
            ' ', 'a', 'é', 'ɡ', 'і', '｢', '\u{A0}', '\u{2027}', '\u{202F}', '\u{FE0F}',
        ] {
            assert!(!is_unsafe(c), "U+{:04X}", u32::from(c));
        }
        assert_eq!(visible("a\u{202E}b\nc"), r"a\u{202E}b\u{000A}c");
    }

    #[test]
    fn identifiers_are_plain_ascii_names() {
        assert!(is_identifier("ipg_storage_eastus2", false));
        assert!(is_identifier("route-x", true) && !is_identifier("route-x", false));
        for bad in ["", "1a", "a.b", "a b", "a\n", "a]", "ａ"] {
            assert!(!is_identifier(bad, true), "{bad:?}");
        }
    }

    #[test]
    fn lists_quote_each_item() {
        assert_eq!(hcl_list(&["a".into(), "b\"".into()]), r#"["a", "b\""]"#);
        assert_eq!(hcl_list(&[]), "[]");
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(markdown_cell("a | b\nc"), r"a \| b\u{000A}c");
    }

    #[test]
    fn markdown_renders_html_and_markup_literally() {
        assert_eq!(
            markdown_cell("<img src=x onerror=alert(1)> &amp; `c` [l](u) \\"),
            r"&lt;img src=x onerror=alert(1)> &amp;amp; \`c\` \[l\](u) \\"
        );
        // Runs that could close emphasis are escaped; openers alone are inert.
        assert_eq!(markdown_cell("*e* _u_ ~~s~~"), r"*e\* _u\_ ~~s\~\~");
        assert_eq!(markdown_cell("**b**"), r"**b\*\*");
        assert_eq!(
            markdown_cell("*.anaconda.com, *.anaconda.org"),
            "*.anaconda.com, *.anaconda.org"
        );
        assert_eq!(markdown_cell("snake_case_name"), "snake_case_name");
        assert_eq!(markdown_cell("a*b*c"), r"a\*b\*c");
        assert_eq!(markdown_cell("x.*\u{202E}"), r"x.\*\u{202E}");
        assert_eq!(
            markdown_cell("Basic configuration > Outbound traffic"),
            "Basic configuration > Outbound traffic"
        );
    }

    #[test]
    fn code_spans_hold_any_text() {
        assert_eq!(markdown_code("s.yaml"), "`s.yaml`");
        assert_eq!(markdown_code("`rm -rf`.yaml"), "`` `rm -rf`.yaml ``");
        assert_eq!(markdown_code("a``b"), "```a``b```");
        assert_eq!(markdown_code(" x "), "`  x  `");
        assert_eq!(markdown_code("a\nb<i>"), r"`a\u{000A}b<i>`");
        assert_eq!(markdown_code_cell("a|b"), r"`a\|b`");
    }

    #[test]
    fn prose_keeps_amlfw_code_spans() {
        assert_eq!(
            markdown_prose("`x`: allow <registry>.azurecr.io on *.y"),
            "`x`: allow &lt;registry>.azurecr.io on *.y"
        );
        assert_eq!(markdown_prose("odd ` tick"), r"odd \` tick");
        assert_eq!(markdown_prose("`a|b` <b>"), "`a|b` &lt;b>");
    }

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(
            comment("a\nresource \"x\" {}"),
            r#"a\u{000A}resource "x" {}"#
        );
        assert_eq!(
            html_comment("x-->y --!> <!-- & \u{2028}"),
            r"x--&gt;y --!&gt; &lt;!-- &amp; \u{2028}"
        );
    }

    #[test]
    fn json_escapes_unsafe_characters_and_decodes_back() {
        let text = "a\u{1B}[31m\u{9B}\u{202E}\u{2028}\u{E0041}\"\n";
        let json = json_compact(&serde_json::json!({ "k": text })).unwrap();
        assert_eq!(
            json,
            r#"{"k":"a\u001b[31m\u009b\u202e\u2028\udb40\udc41\"\n"}"#
        );
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["k"], text);
        let value = serde_json::json!({ "a": [1, { "b": "c" }], "d": {} });
        assert_eq!(
            json_pretty(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }

    #[test]
    fn alignment_follows_terraform_fmt_groups() {
        let input = "x {\n  a = 1\n  # c\n  bbbbbb = 2\n  cc = [\n    1,\n  ]\n  ddd = 3\n\n  e = \"{\"\n  ffff = { a = 1 }\n  obj = {\n    \"k\" = 1\n    \"kkkk\" = 2\n  }\n  z {\n    q = 1\n  }\n  zz = 1\n}\n";
        let expected = "x {\n  a = 1\n  # c\n  bbbbbb = 2\n  cc = [\n    1,\n  ]\n  ddd = 3\n\n  e    = \"{\"\n  ffff = { a = 1 }\n  obj = {\n    \"k\"    = 1\n    \"kkkk\" = 2\n  }\n  z {\n    q = 1\n  }\n  zz = 1\n}\n";
        assert_eq!(align_hcl(input), expected);
    }
}
