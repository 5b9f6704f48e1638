//! The typed AST of RFC 7644 filters (§3.4.2.2) and PATCH paths (§3.5.2).
//!
//! Names are kept as written (case-insensitive matching happens when a path is resolved
//! against a schema); `Display` (in `display.rs`) prints the canonical form, and
//! `parse(print(ast)) == ast`.

use serde_json::Number;

/// `[URN ":"] ATTRNAME ["." subAttr]`, e.g. `name.givenName` or
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// Schema URN prefix without the trailing `:`, as written.
    pub urn: Option<String>,
    /// Attribute name, as written.
    pub name: String,
    /// Sub-attribute name, as written.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A path with neither URN nor sub-attribute.
    pub fn simple(name: &str) -> Self {
        AttrPath {
            urn: None,
            name: name.to_string(),
            sub_attr: None,
        }
    }

    /// A path `name.sub` without URN.
    pub fn with_sub(name: &str, sub: &str) -> Self {
        AttrPath {
            urn: None,
            name: name.to_string(),
            sub_attr: Some(sub.to_string()),
        }
    }
}

/// The comparison operators of §3.4.2.2 (`pr` is [`AttrTest::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// `compValue = false / null / true / number / string` (plus Entra's bare words, which
/// parse as strings).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
}

/// What is tested on an attribute: a comparison or presence (`pr`).
#[derive(Debug, Clone, PartialEq)]
pub enum AttrTest {
    Compare(CompareOp, CompValue),
    Present,
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath SP compareOp SP compValue` or `attrPath SP "pr"`.
    Attr { path: AttrPath, test: AttrTest },
    /// `attrPath "[" valFilter "]"`, optionally followed by `.subAttr` and a test on it
    /// (`emails[type eq "work"].value eq "a@b.c"`, an extension Entra relies on): true when
    /// one element of the multi-valued `path` matches `filter` (and the test on `sub`).
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
        sub: Option<(String, AttrTest)>,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

/// A PATCH `path` (§3.5.2): `attrPath / valuePath [subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    /// `emails`, `name.givenName`, `urn:…:User:manager`.
    Attr(AttrPath),
    /// `members[value eq "…"]`, `emails[type eq "work"].value`.
    ValuePath {
        path: AttrPath,
        filter: Filter,
        sub_attr: Option<String>,
    },
}

/// Limits that keep a hostile filter cheap to reject.
pub const MAX_FILTER_LEN: usize = 4096;
/// Maximum nesting of parentheses, `not` and value paths.
pub const MAX_FILTER_DEPTH: usize = 32;
/// Maximum number of attribute tests in one filter.
pub const MAX_FILTER_TERMS: usize = 200;

/// A parse error: where it happened (byte offset into the input) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at offset {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for ParseError {}
