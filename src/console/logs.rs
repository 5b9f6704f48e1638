//! Console pages: the provisioning log (what the identity provider did, filterable by
//! outcome and resource type) and the audit log (what console accounts did). Newest first,
//! read-only for every role.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{current_session, html, ConsoleError, Nav};
use crate::http::{blocking, AppState};
use crate::store::console::{LogEntry, ProvisioningEntry};

/// Rows shown per log page.
pub const LOG_LIMIT: i64 = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/provisioning-log", web::get().to(provisioning_log_page))
        .route("/audit-log", web::get().to(audit_log_page));
}

#[derive(Deserialize)]
struct ProvisioningParams {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    resource_type: String,
}

/// The outcome filter: `success` / `failure`, anything else is no filter.
fn outcome_filter(s: &str) -> Option<&'static str> {
    match s.trim().to_ascii_lowercase().as_str() {
        "success" => Some("success"),
        "failure" => Some("failure"),
        _ => None,
    }
}

/// The resource-type filter: `User` / `Group`, anything else is no filter.
fn resource_type_filter(s: &str) -> Option<&'static str> {
    match s.trim().to_ascii_lowercase().as_str() {
        "user" => Some("User"),
        "group" => Some("Group"),
        _ => None,
    }
}

#[derive(Template)]
#[template(path = "console/provisioning_log.html")]
struct ProvisioningLogPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    outcome: &'static str,
    resource_type: &'static str,
    limit: i64,
    rows: Vec<ProvisioningEntry>,
}

async fn provisioning_log_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<ProvisioningParams>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    let outcome = outcome_filter(&params.outcome);
    let resource_type = resource_type_filter(&params.resource_type);
    let store = state.store.clone();
    let tenant = console.tenant_id().to_string();
    let rows =
        blocking(move || store.list_provisioning(&tenant, outcome, resource_type, LOG_LIMIT))
            .await?;
    html(&ProvisioningLogPage {
        nav: Some(console.nav("provisioning-log")),
        flash: None,
        error: None,
        outcome: outcome.unwrap_or(""),
        resource_type: resource_type.unwrap_or(""),
        limit: LOG_LIMIT,
        rows,
    })
}

#[derive(Template)]
#[template(path = "console/audit_log.html")]
struct AuditLogPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    limit: i64,
    rows: Vec<LogEntry>,
}

async fn audit_log_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    let store = state.store.clone();
    let tenant = console.tenant_id().to_string();
    let rows = blocking(move || store.list_audit(&tenant, LOG_LIMIT)).await?;
    html(&AuditLogPage {
        nav: Some(console.nav("audit-log")),
        flash: None,
        error: None,
        limit: LOG_LIMIT,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_accept_known_values_only() {
        assert_eq!(outcome_filter("failure"), Some("failure"));
        assert_eq!(outcome_filter("Success"), Some("success"));
        assert_eq!(outcome_filter(""), None);
        assert_eq!(outcome_filter("x' OR 1=1"), None);
        assert_eq!(resource_type_filter("group"), Some("Group"));
        assert_eq!(resource_type_filter("User"), Some("User"));
        assert_eq!(resource_type_filter("Tenant"), None);
    }
}
