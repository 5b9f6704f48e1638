//! The one integration-test binary (each `tests/*.rs` file would be another slow link).
//! Every storage-touching test runs on SQLite and on PostgreSQL.

#[allow(dead_code)]
mod support;

mod console_configurations;
mod scim_basics;
