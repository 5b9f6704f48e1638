//! Evaluates a filter against a JSON resource, honouring the schema (caseExact, types,
//! multi-valued semantics).
use serde_json::Value;

use super::ast::Filter;
use crate::schema::{Attribute, ResourceType};

/// True if `resource` (a whole User or Group document) matches `filter`.
pub fn matches(filter: &Filter, resource: &Value, rt: &ResourceType) -> bool {
    let _ = (filter, resource, rt);
    false
}

/// True if `element` (one value of the multi-valued complex attribute `attr`, e.g. one
/// email) matches `filter`, whose paths name sub-attributes of `attr` (`type eq "work"`).
pub fn matches_element(filter: &Filter, element: &Value, attr: &Attribute) -> bool {
    let _ = (filter, element, attr);
    false
}
