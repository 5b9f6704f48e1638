//! scimd: a SCIM 2.0 provisioning target (RFC 7643/7644) with an admin console.

pub mod error;
pub mod filter;
pub mod patch;
pub mod projection;
pub mod resource;
pub mod schema;

pub use error::{ScimError, ScimResult, ScimType};
