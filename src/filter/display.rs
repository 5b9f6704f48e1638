//! Canonical printing of filters and PATCH paths.
//!
//! Operators and keywords are lower case, strings are JSON-quoted, and parentheses are
//! printed exactly where precedence (`or` < `and` < `not`, left-associative) needs them,
//! so that `parse(print(ast)) == ast` for every AST the parser can produce.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::{AttrPath, AttrTest, CompValue, CompareOp, Filter, PatchPath};

impl Display for AttrPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            f.write_str(urn)?;
            f.write_char(':')?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            f.write_char('.')?;
            f.write_str(sub)?;
        }
        Ok(())
    }
}

impl CompareOp {
    /// The operator as written in a filter (lower case).
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

impl Display for CompareOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes `s` as a JSON string literal.
fn write_json_string(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            c if (c as u32) < 0x20 || c == '\u{7f}' => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

impl Display for CompValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => write_json_string(f, s),
        }
    }
}

impl Display for AttrTest {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            AttrTest::Present => f.write_str("pr"),
            AttrTest::Compare(op, v) => write!(f, "{op} {v}"),
        }
    }
}

/// Writes `filter`, in parentheses when `wrap` is true.
fn write_child(f: &mut Formatter<'_>, filter: &Filter, wrap: bool) -> fmt::Result {
    if wrap {
        write!(f, "({filter})")
    } else {
        write!(f, "{filter}")
    }
}

impl Display for Filter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Attr { path, test } => write!(f, "{path} {test}"),
            Filter::ValuePath { path, filter, sub } => {
                write!(f, "{path}[{filter}]")?;
                if let Some((name, test)) = sub {
                    write!(f, ".{name} {test}")?;
                }
                Ok(())
            }
            Filter::And(a, b) => {
                // `or` binds looser than `and`; the right child of a left-associative
                // operator needs parentheses when it is the same operator.
                write_child(f, a, matches!(**a, Filter::Or(..)))?;
                f.write_str(" and ")?;
                write_child(f, b, matches!(**b, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Or(a, b) => {
                write_child(f, a, false)?;
                f.write_str(" or ")?;
                write_child(f, b, matches!(**b, Filter::Or(..)))
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
        }
    }
}

impl Display for PatchPath {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Attr(path) => write!(f, "{path}"),
            PatchPath::ValuePath {
                path,
                filter,
                sub_attr,
            } => {
                write!(f, "{path}[{filter}]")?;
                if let Some(sub) = sub_attr {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
        }
    }
}
