//! scimd: a SCIM 2.0 provisioning target (RFC 7643/7644) with an admin console.

pub mod admin;
pub mod api;
pub mod config;
pub mod configuration;
pub mod console;
pub mod control;
pub mod error;
pub mod filter;
pub mod http;
pub mod log_format;
pub mod log_writer;
pub mod metrics;
pub mod password;
pub mod patch;
pub mod projection;
pub mod representation;
pub mod resource;
pub mod schema;
pub mod server;
pub mod store;
pub mod sync;
pub mod timestamp;
pub mod token;
pub mod ttl_cache;

pub use error::{ScimError, ScimResult, ScimType};
