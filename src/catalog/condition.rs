//! `when:` conditions of catalog requirements: a tiny boolean language over facts.
//!
//! Grammar (lowest precedence first):
//! `expr := and ("or" and)*`, `and := unary ("and" unary)*`,
//! `unary := "not" unary | "(" expr ")" | FACT`.
//! A FACT is a kebab-case name such as `compute-instance` or `python`; the set of valid
//! names is [`crate::scenario::FACTS`].

use std::collections::BTreeSet;
use std::fmt;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Condition {
    /// A fact that is true or false for a workspace.
    Fact(String),
    /// Negation.
    Not(Box<Condition>),
    /// Every operand holds.
    All(Vec<Condition>),
    /// At least one operand holds.
    Any(Vec<Condition>),
}

impl Condition {
    /// Parses a condition; the error says what was expected where.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let tokens = tokenize(text)?;
        let mut parser = ConditionParser {
            tokens: &tokens,
            position: 0,
        };
        let condition = parser.or()?;
        match parser.tokens.get(parser.position) {
            None => Ok(condition),
            Some(token) => Err(format!("unexpected `{token}` after a complete condition")),
        }
    }

    /// Evaluates against the set of facts that hold.
    #[must_use]
    pub fn holds(&self, facts: &BTreeSet<&str>) -> bool {
        match self {
            Condition::Fact(name) => facts.contains(name.as_str()),
            Condition::Not(inner) => !inner.holds(facts),
            Condition::All(operands) => operands.iter().all(|c| c.holds(facts)),
            Condition::Any(operands) => operands.iter().any(|c| c.holds(facts)),
        }
    }

    /// Every fact name the condition mentions.
    pub fn facts(&self) -> Vec<&str> {
        match self {
            Condition::Fact(name) => vec![name.as_str()],
            Condition::Not(inner) => inner.facts(),
            Condition::All(operands) | Condition::Any(operands) => {
                operands.iter().flat_map(Condition::facts).collect()
            }
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn operand(f: &mut fmt::Formatter<'_>, condition: &Condition) -> fmt::Result {
            match condition {
                Condition::All(_) | Condition::Any(_) => write!(f, "({condition})"),
                _ => write!(f, "{condition}"),
            }
        }
        match self {
            Condition::Fact(name) => f.write_str(name),
            Condition::Not(inner) => {
                f.write_str("not ")?;
                operand(f, inner)
            }
            Condition::All(operands) | Condition::Any(operands) => {
                let joiner = if matches!(self, Condition::All(_)) {
                    " and "
                } else {
                    " or "
                };
                for (index, condition) in operands.iter().enumerate() {
                    if index > 0 {
                        f.write_str(joiner)?;
                    }
                    operand(f, condition)?;
                }
                Ok(())
            }
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    for character in text.chars() {
        match character {
            '(' | ')' => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
                tokens.push(character.to_string());
            }
            c if c.is_whitespace() => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            c if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' => current.push(c),
            other => return Err(format!("unexpected character `{other}`")),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    if tokens.is_empty() {
        return Err("the condition is empty".to_owned());
    }
    Ok(tokens)
}

struct ConditionParser<'t> {
    tokens: &'t [String],
    position: usize,
}

impl ConditionParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.position).map(String::as_str)
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut operands = vec![self.and()?];
        while self.peek() == Some("or") {
            self.position += 1;
            operands.push(self.and()?);
        }
        Ok(if operands.len() == 1 {
            operands.remove(0)
        } else {
            Condition::Any(operands)
        })
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut operands = vec![self.unary()?];
        while self.peek() == Some("and") {
            self.position += 1;
            operands.push(self.unary()?);
        }
        Ok(if operands.len() == 1 {
            operands.remove(0)
        } else {
            Condition::All(operands)
        })
    }

    fn unary(&mut self) -> Result<Condition, String> {
        let token = self
            .peek()
            .ok_or_else(|| "the condition ends where a fact was expected".to_owned())?
            .to_owned();
        self.position += 1;
        match token.as_str() {
            "not" => Ok(Condition::Not(Box::new(self.unary()?))),
            "(" => {
                let inner = self.or()?;
                if self.peek() != Some(")") {
                    return Err("missing `)`".to_owned());
                }
                self.position += 1;
                Ok(inner)
            }
            ")" | "and" | "or" => Err(format!("unexpected `{token}` where a fact was expected")),
            _ => Ok(Condition::Fact(token)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(text: &str, facts: &[&str]) -> bool {
        let facts: BTreeSet<&str> = facts.iter().copied().collect();
        Condition::parse(text).unwrap().holds(&facts)
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        assert!(holds("a or b and c", &["a"]));
        assert!(!holds("(a or b) and c", &["a"]));
        assert!(holds("not a and b", &["b"]));
        assert!(!holds("not (a or b)", &["b"]));
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "a",
            "not a",
            "a and (b or c)",
            "(a and b) or c",
            "not (a or b)",
        ] {
            let condition = Condition::parse(text).unwrap();
            assert_eq!(Condition::parse(&condition.to_string()).unwrap(), condition);
        }
    }

    #[test]
    fn malformed_conditions_are_rejected() {
        for text in ["", "a and", "(a", "a b", "A", "a && b", "or a"] {
            assert!(Condition::parse(text).is_err(), "{text:?} parsed");
        }
    }
}
