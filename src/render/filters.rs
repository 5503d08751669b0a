//! Quoting and layout helpers for generated code, each unit-tested.
//!
//! Every string that lands inside HCL quotes goes through [`hcl_string`]; templates never
//! write `"{{ x }}"`. Comments go through [`comment`]. [`align_hcl`] gives the output the
//! `=` alignment `terraform fmt` would, so the module is fmt-clean as written.

use std::collections::HashMap;
use std::fmt::Write;

/// Quotes `text` as an HCL string literal: escapes `\` and `"`, and doubles the `$` of
/// `${` and the `%` of `%{` so no interpolation or directive can be injected. Control
/// characters are refused: scenario and catalog validation keep them out, so meeting one
/// here is a bug.
pub fn hcl_string(text: &str) -> Result<String, String> {
    if let Some(bad) = text.chars().find(|c| c.is_control()) {
        return Err(format!(
            "control character U+{:04X} in a generated string",
            u32::from(bad)
        ));
    }
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
            _ => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// Quotes `text` as a Bicep string literal: escapes `\`, `'` and the `$` of `${`, so no
/// interpolation can be injected. Control characters are refused, as for HCL.
pub fn bicep_string(text: &str) -> Result<String, String> {
    if let Some(bad) = text.chars().find(|c| c.is_control()) {
        return Err(format!(
            "control character U+{:04X} in a generated string",
            u32::from(bad)
        ));
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

/// A list of HCL strings on one line: `["a", "b"]`.
pub fn hcl_list(items: &[String]) -> Result<String, String> {
    let quoted: Result<Vec<String>, String> = items.iter().map(|item| hcl_string(item)).collect();
    Ok(format!("[{}]", quoted?.join(", ")))
}

/// One line of comment text: line breaks and other control characters become spaces, so
/// text can never end the comment and start code.
#[must_use]
pub fn comment(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Text for one Markdown table cell: `|` escaped, line breaks and control characters
/// turned into spaces.
#[must_use]
pub fn markdown_cell(text: &str) -> String {
    comment(text).replace('|', "\\|")
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
        assert_eq!(hcl_string("plain").unwrap(), r#""plain""#);
        assert_eq!(
            hcl_string(r#"a "quoted" \ path"#).unwrap(),
            r#""a \"quoted\" \\ path""#
        );
        assert_eq!(
            hcl_string("${var.x} and %{ if } and $5 and 50%").unwrap(),
            r#""$${var.x} and %%{ if } and $5 and 50%""#
        );
        assert_eq!(
            hcl_string("*/ # // 'x' ｢unicode｣").unwrap(),
            "\"*/ # // 'x' ｢unicode｣\""
        );
        assert!(hcl_string("two\nlines").is_err());
        assert!(hcl_string("tab\there").is_err());
    }

    #[test]
    fn bicep_strings_are_escaped_against_injection() {
        assert_eq!(bicep_string("plain").unwrap(), "'plain'");
        assert_eq!(
            bicep_string(r"it's a \ path").unwrap(),
            r"'it\'s a \\ path'"
        );
        assert_eq!(
            bicep_string("${param} and $5").unwrap(),
            r"'\${param} and $5'"
        );
        assert_eq!(
            bicep_string("\"quoted\" */ # //").unwrap(),
            "'\"quoted\" */ # //'"
        );
        assert!(bicep_string("two\nlines").is_err());
    }

    #[test]
    fn lists_quote_each_item() {
        assert_eq!(
            hcl_list(&["a".into(), "b\"".into()]).unwrap(),
            r#"["a", "b\""]"#
        );
        assert_eq!(hcl_list(&[]).unwrap(), "[]");
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(markdown_cell("a | b\nc"), "a \\| b c");
    }

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(comment("a\nresource \"x\" {}"), "a resource \"x\" {}");
    }

    #[test]
    fn alignment_follows_terraform_fmt_groups() {
        let input = "x {\n  a = 1\n  # c\n  bbbbbb = 2\n  cc = [\n    1,\n  ]\n  ddd = 3\n\n  e = \"{\"\n  ffff = { a = 1 }\n  obj = {\n    \"k\" = 1\n    \"kkkk\" = 2\n  }\n  z {\n    q = 1\n  }\n  zz = 1\n}\n";
        let expected = "x {\n  a = 1\n  # c\n  bbbbbb = 2\n  cc = [\n    1,\n  ]\n  ddd = 3\n\n  e    = \"{\"\n  ffff = { a = 1 }\n  obj = {\n    \"k\"    = 1\n    \"kkkk\" = 2\n  }\n  z {\n    q = 1\n  }\n  zz = 1\n}\n";
        assert_eq!(align_hcl(input), expected);
    }
}
