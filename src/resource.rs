//! TEMPORARY stub (replaced by branch `patch`).
use serde_json::Value;
use crate::schema::ResourceType;
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRef { pub value: String, pub member_type: Option<String> }
pub fn search_document(doc: &Value, rt: &ResourceType) -> Value { let _ = rt; doc.clone() }
