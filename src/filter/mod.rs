//! The SCIM filter and PATCH-path language: a nom parser into a typed AST, a canonical
//! printer, and an evaluator over JSON resources. Compilation to SQL lives in the store
//! (`store::filter_sql`), because SQL belongs there.

pub mod ast;
pub mod display;
pub mod eval;
pub mod parser;

pub use ast::*;
pub use parser::{parse_filter, parse_patch_path};
