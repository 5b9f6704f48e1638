//! The provisioning log's domain side: one entry per SCIM request that changed or tried
//! to change something. The SCIM handlers build an entry with [`entry`] and store it with
//! `Store::log_provisioning`; the console lists the newest rows.

use chrono::{DateTime, Utc};

pub use crate::store::console::ProvisioningEntry;
use crate::store::filter_sql::format_timestamp;

/// How long provisioning-log rows are kept (until retention is configurable).
pub const DEFAULT_RETENTION_DAYS: i64 = 30;

/// `"success"` for a 2xx status, `"failure"` otherwise.
pub fn outcome(status: u16) -> &'static str {
    if (200..300).contains(&status) {
        "success"
    } else {
        "failure"
    }
}

/// A provisioning-log entry for one SCIM request: `method` as sent (`POST`, `PATCH`, …),
/// the resource type (`User` / `Group`) and id when known, the resource's name
/// (`userName` / `displayName`), the name of the token that made the request, the
/// response status and, for failures, the error detail.
#[allow(clippy::too_many_arguments)]
pub fn entry(
    method: &str,
    resource_type: Option<&str>,
    resource_id: Option<&str>,
    resource_name: Option<&str>,
    token_name: Option<&str>,
    status: u16,
    detail: Option<&str>,
    now: DateTime<Utc>,
) -> ProvisioningEntry {
    ProvisioningEntry {
        id: uuid::Uuid::new_v4().to_string(),
        at: format_timestamp(now),
        token_name: token_name.map(str::to_string),
        method: method.to_string(),
        resource_type: resource_type.map(str::to_string),
        resource_id: resource_id.map(str::to_string),
        resource_name: resource_name.map(str::to_string),
        outcome: outcome(status).to_string(),
        status: i64::from(status),
        detail: detail.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn builds_entries() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
        let e = entry(
            "POST",
            Some("User"),
            Some("abc"),
            Some("ada@example.com"),
            Some("Entra"),
            201,
            None,
            now,
        );
        assert_eq!(e.outcome, "success");
        assert_eq!(e.status, 201);
        assert_eq!(e.at, format_timestamp(now));
        assert_eq!(e.method, "POST");
        assert_eq!(e.resource_type.as_deref(), Some("User"));
        assert_eq!(e.resource_id.as_deref(), Some("abc"));
        assert_eq!(e.resource_name.as_deref(), Some("ada@example.com"));
        assert_eq!(e.token_name.as_deref(), Some("Entra"));
        assert!(uuid::Uuid::parse_str(&e.id).is_ok());

        let f = entry(
            "PATCH",
            Some("Group"),
            None,
            None,
            None,
            409,
            Some("duplicate"),
            now,
        );
        assert_eq!(f.outcome, "failure");
        assert_eq!(f.detail.as_deref(), Some("duplicate"));
        assert_ne!(e.id, f.id);
        assert_eq!(outcome(204), "success");
        assert_eq!(outcome(299), "success");
        assert_eq!(outcome(300), "failure");
        assert_eq!(outcome(500), "failure");
    }
}
