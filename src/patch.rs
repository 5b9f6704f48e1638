//! TEMPORARY stub (replaced by branch `patch`).
use crate::filter::Filter;
use crate::resource::MemberRef;
#[derive(Debug, Clone)]
pub enum MemberChange { Add(Vec<MemberRef>), Remove(Vec<String>), RemoveAll, ReplaceAll(Vec<MemberRef>), RemoveMatching(Filter) }
