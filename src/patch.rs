//! TEMPORARY stub (replaced by branch `patch`).
use crate::filter::Filter;
use crate::resource::MemberRef;
#[derive(Debug, Clone)]
pub enum MemberChange { Add(Vec<MemberRef>), Remove(Vec<String>), RemoveAll, ReplaceAll(Vec<MemberRef>), RemoveMatching(Filter) }
use crate::error::{ScimError, ScimResult};
use crate::schema::ResourceType;
use serde_json::Value;
pub struct PatchOperation;
pub struct PatchOutcome { pub doc: Value, pub member_changes: Vec<MemberChange> }
pub fn parse_patch_request(body: &Value) -> ScimResult<Vec<PatchOperation>> { let _ = body; Err(ScimError::not_implemented("stub")) }
pub fn apply_patch(doc: &Value, ops: &[PatchOperation], rt: &ResourceType) -> ScimResult<PatchOutcome> { let _ = (doc, ops, rt); Err(ScimError::not_implemented("stub")) }
