//! nom 8 parser for RFC 7644 filters (§3.4.2.2) and PATCH paths (§3.5.2).
use super::ast::{Filter, ParseError, PatchPath};

/// Parses a filter expression.
pub fn parse_filter(input: &str) -> Result<Filter, ParseError> {
    Err(ParseError {
        offset: 0,
        message: format!("not implemented: {input}"),
    })
}

/// Parses a PATCH `path`.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, ParseError> {
    Err(ParseError {
        offset: 0,
        message: format!("not implemented: {input}"),
    })
}
