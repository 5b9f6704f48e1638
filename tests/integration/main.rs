//! The one integration-test binary (each `tests/*.rs` file would be another slow link).
//! Every storage-touching test runs on SQLite and on PostgreSQL.

#[allow(dead_code)]
mod support;

mod admin_api;
mod console_auth;
mod console_configurations;
mod console_e2e;
mod console_pages;
mod crash;
mod db_copy;
mod filter_differential;
mod filter_explain;
mod filter_sql_agreement;
mod provisioning_log;
mod reads_after_writes;
mod reliability;
mod replicas;
mod scim_basics;
mod scim_discovery;
mod scim_errors;
mod scim_groups;
mod scim_lists;
mod scim_patch_entra;
mod scim_races;
mod scim_users;
mod user_configurations;
mod webdriver;
