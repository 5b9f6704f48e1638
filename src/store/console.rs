//! Console data: accounts, sessions, first-run setup links, audit and provisioning logs.

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;

use super::filter_sql::format_timestamp;
use super::sql::{Count, Fixed, Sql};
use super::{Conn, Store};
use crate::error::{ScimError, ScimResult};

/// Console roles, most powerful first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Admin,
    Viewer,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    /// May change settings, tokens, companies, configurations.
    pub fn can_write(self) -> bool {
        self != Role::Viewer
    }
}

#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Account {
    #[diesel(sql_type = Text)]
    pub tenant_id: String,
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub password_hash: String,
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = Text)]
    pub created_at: String,
}

impl Account {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }
}

/// A live session joined with its account.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct SessionRecord {
    #[diesel(sql_type = Text)]
    pub id_sha256: String,
    #[diesel(sql_type = Text)]
    pub tenant_id: String,
    #[diesel(sql_type = Text)]
    pub account_id: String,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = Text)]
    pub csrf_token: String,
    #[diesel(sql_type = Text)]
    pub created_at: String,
    #[diesel(sql_type = Text)]
    pub last_seen_at: String,
    #[diesel(sql_type = Text)]
    pub authenticated_at: String,
}

impl SessionRecord {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Viewer)
    }
}

/// Session lifetimes.
pub const SESSION_IDLE: Duration = Duration::minutes(30);
pub const SESSION_ABSOLUTE: Duration = Duration::hours(12);

/// One audit-log row.
#[derive(Debug, Clone, PartialEq, QueryableByName, serde::Serialize, utoipa::ToSchema)]
pub struct LogEntry {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub at: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub actor: Option<String>,
    #[diesel(sql_type = Text)]
    pub action: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub detail: Option<String>,
}

/// One provisioning-log row.
#[derive(Debug, Clone, PartialEq, QueryableByName, serde::Serialize, utoipa::ToSchema)]
pub struct ProvisioningEntry {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub at: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub token_name: Option<String>,
    #[diesel(sql_type = Text)]
    pub method: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub resource_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub resource_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub resource_name: Option<String>,
    #[diesel(sql_type = Text)]
    pub outcome: String,
    #[diesel(sql_type = BigInt)]
    pub status: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub detail: Option<String>,
}

const ACCOUNT_COLUMNS: &str = "tenant_id, id, email, password_hash, role, created_at";

impl Store {
    /// Number of console accounts in all tenants (0 → first run).
    pub fn count_accounts(&self) -> ScimResult<i64> {
        self.read(|c| {
            Ok(
                c.first::<Count>(&Sql::new("SELECT COUNT(*) AS n FROM accounts"))?
                    .map(|r| r.n)
                    .unwrap_or(0),
            )
        })
    }

    pub fn create_account(
        &self,
        tenant: &str,
        email: &str,
        password_hash: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> ScimResult<Account> {
        let account = Account {
            tenant_id: tenant.to_string(),
            id: uuid::Uuid::new_v4().to_string(),
            email: email.trim().to_lowercase(),
            password_hash: password_hash.to_string(),
            role: role.as_str().to_string(),
            created_at: format_timestamp(now),
        };
        self.write(|c| {
            let mut q = Sql::new("INSERT INTO accounts (");
            q.push(ACCOUNT_COLUMNS)
                .push(") VALUES (")
                .text(account.tenant_id.as_str())
                .push(", ")
                .text(account.id.as_str())
                .push(", ")
                .text(account.email.as_str())
                .push(", ")
                .text(password_hash)
                .push(", ")
                .text(account.role.as_str())
                .push(", ")
                .text(account.created_at.as_str())
                .push(")");
            c.execute(&q)
        })?;
        Ok(account)
    }

    pub fn find_account(&self, tenant: &str, email: &str) -> ScimResult<Option<Account>> {
        self.read(|c| {
            let mut q = Sql::new("SELECT ");
            q.push(ACCOUNT_COLUMNS)
                .push(" FROM accounts WHERE tenant_id = ")
                .text(tenant)
                .push(" AND email = ")
                .text(email.trim().to_lowercase());
            c.first::<Account>(&q)
        })
    }

    pub fn list_accounts(&self, tenant: &str) -> ScimResult<Vec<Account>> {
        self.read(|c| {
            let mut q = Sql::new("SELECT ");
            q.push(ACCOUNT_COLUMNS)
                .push(" FROM accounts WHERE tenant_id = ")
                .text(tenant)
                .push(" ORDER BY created_at, id");
            c.load::<Account>(&q)
        })
    }

    /// Removes an account and ends its sessions; false if the tenant has no such account.
    pub fn delete_account(&self, tenant: &str, id: &str) -> ScimResult<bool> {
        self.write(|c| {
            let mut q = Sql::new("DELETE FROM sessions WHERE tenant_id = ");
            q.text(tenant).push(" AND account_id = ").text(id);
            c.execute(&q)?;
            let mut q = Sql::new("DELETE FROM accounts WHERE tenant_id = ");
            q.text(tenant).push(" AND id = ").text(id);
            Ok(c.execute(&q)? > 0)
        })
    }

    /// Stores a session (by the digest of its id).
    pub fn create_session(
        &self,
        id_sha256: &str,
        account: &Account,
        csrf_token: &str,
        now: DateTime<Utc>,
    ) -> ScimResult<()> {
        let ts = format_timestamp(now);
        self.write(|c| {
            let mut q = Sql::new(
                "INSERT INTO sessions (id_sha256, tenant_id, account_id, csrf_token, created_at, last_seen_at, authenticated_at) VALUES (",
            );
            q.text(id_sha256)
                .push(", ")
                .text(account.tenant_id.as_str())
                .push(", ")
                .text(account.id.as_str())
                .push(", ")
                .text(csrf_token)
                .push(", ")
                .text(ts.as_str())
                .push(", ")
                .text(ts.as_str())
                .push(", ")
                .text(ts.as_str())
                .push(")");
            c.execute(&q).map(|_| ())
        })
    }

    /// The live session with this digest (idle and absolute timeouts applied); refreshes
    /// its last-seen time about once a minute.
    pub fn find_session(
        &self,
        id_sha256: &str,
        now: DateTime<Utc>,
    ) -> ScimResult<Option<SessionRecord>> {
        let found = self.read(|c| {
            let mut q = Sql::new(
                "SELECT s.id_sha256, s.tenant_id, s.account_id, a.email, a.role, s.csrf_token, s.created_at, s.last_seen_at, s.authenticated_at \
                 FROM sessions s JOIN accounts a ON a.tenant_id = s.tenant_id AND a.id = s.account_id WHERE s.id_sha256 = ",
            );
            q.text(id_sha256);
            c.first::<SessionRecord>(&q)
        })?;
        let Some(s) = found else { return Ok(None) };
        let idle_limit = format_timestamp(now - SESSION_IDLE);
        let absolute_limit = format_timestamp(now - SESSION_ABSOLUTE);
        if s.last_seen_at < idle_limit || s.created_at < absolute_limit {
            self.delete_session(id_sha256)?;
            return Ok(None);
        }
        if s.last_seen_at < format_timestamp(now - Duration::minutes(1)) {
            self.write(|c| {
                let mut q = Sql::new("UPDATE sessions SET last_seen_at = ");
                q.text(format_timestamp(now))
                    .push(" WHERE id_sha256 = ")
                    .text(id_sha256);
                c.execute(&q).map(|_| ())
            })?;
        }
        Ok(Some(s))
    }

    /// Marks the session as freshly re-authenticated (password re-entered).
    pub fn reauthenticate_session(&self, id_sha256: &str, now: DateTime<Utc>) -> ScimResult<()> {
        self.write(|c| {
            let mut q = Sql::new("UPDATE sessions SET authenticated_at = ");
            q.text(format_timestamp(now))
                .push(" WHERE id_sha256 = ")
                .text(id_sha256);
            c.execute(&q).map(|_| ())
        })
    }

    pub fn delete_session(&self, id_sha256: &str) -> ScimResult<()> {
        self.write(|c| {
            let mut q = Sql::new("DELETE FROM sessions WHERE id_sha256 = ");
            q.text(id_sha256);
            c.execute(&q).map(|_| ())
        })
    }

    pub fn create_setup_link(&self, id_sha256: &str, now: DateTime<Utc>) -> ScimResult<()> {
        self.write(|c| {
            let mut q = Sql::new("INSERT INTO setup_links (id_sha256, created_at) VALUES (");
            q.text(id_sha256)
                .push(", ")
                .text(format_timestamp(now))
                .push(")");
            c.execute(&q).map(|_| ())
        })
    }

    /// Consumes a setup link: true once, for an unused link, while no account exists.
    pub fn consume_setup_link(&self, id_sha256: &str, now: DateTime<Utc>) -> ScimResult<bool> {
        self.write(|c| {
            let accounts = c
                .first::<Count>(&Sql::new("SELECT COUNT(*) AS n FROM accounts"))?
                .map(|r| r.n)
                .unwrap_or(0);
            if accounts > 0 {
                return Ok(false);
            }
            let mut q = Sql::new("UPDATE setup_links SET used_at = ");
            q.text(format_timestamp(now))
                .push(" WHERE id_sha256 = ")
                .text(id_sha256)
                .push(" AND used_at IS NULL");
            Ok(c.execute(&q)? == 1)
        })
    }

    /// True if the setup link exists, is unused, and no account exists yet.
    pub fn setup_link_valid(&self, id_sha256: &str) -> ScimResult<bool> {
        self.read(|c| {
            let mut q = Sql::new(
                "SELECT COUNT(*) AS n FROM setup_links WHERE used_at IS NULL AND NOT EXISTS (SELECT 1 FROM accounts) AND id_sha256 = ",
            );
            q.text(id_sha256);
            Ok(c.first::<Count>(&q)?.map(|r| r.n).unwrap_or(0) == 1)
        })
    }

    /// Appends to the audit log.
    pub fn audit(
        &self,
        tenant: &str,
        actor: Option<&str>,
        action: &str,
        detail: Option<&str>,
        now: DateTime<Utc>,
    ) -> ScimResult<()> {
        self.write(|c| {
            let mut q = Sql::new(
                "INSERT INTO audit_log (tenant_id, id, at, actor, action, detail) VALUES (",
            );
            q.text(tenant)
                .push(", ")
                .text(uuid::Uuid::new_v4().to_string())
                .push(", ")
                .text(format_timestamp(now))
                .push(", ")
                .opt_text(actor)
                .push(", ")
                .text(action)
                .push(", ")
                .opt_text(detail)
                .push(")");
            c.execute(&q).map(|_| ())
        })
    }

    pub fn list_audit(&self, tenant: &str, limit: i64) -> ScimResult<Vec<LogEntry>> {
        self.read(|c| {
            let mut q =
                Sql::new("SELECT id, at, actor, action, detail FROM audit_log WHERE tenant_id = ");
            q.text(tenant)
                .push(" ORDER BY at DESC, id DESC LIMIT ")
                .int(limit);
            c.load::<LogEntry>(&q)
        })
    }

    /// Failed sign-ins for this tenant and email since `since` (login throttling).
    pub fn count_failed_logins(
        &self,
        tenant: &str,
        email: &str,
        since: DateTime<Utc>,
    ) -> ScimResult<i64> {
        self.read(|c| {
            let mut q = Sql::new("SELECT COUNT(*) AS n FROM audit_log WHERE tenant_id = ");
            q.text(tenant)
                .push(" AND action = 'sign-in failed' AND actor = ")
                .text(email.trim().to_lowercase())
                .push(" AND at >= ")
                .text(format_timestamp(since));
            Ok(c.first::<Count>(&q)?.map(|r| r.n).unwrap_or(0))
        })
    }

    /// Appends to the provisioning log (on its own; successful writes log inside their
    /// own transaction, see `store::resources`).
    pub fn log_provisioning(&self, tenant: &str, entry: &ProvisioningEntry) -> ScimResult<()> {
        self.write(|c| insert_provisioning(c, tenant, entry))
    }

    /// The newest provisioning-log rows, optionally filtered by outcome and resource type.
    pub fn list_provisioning(
        &self,
        tenant: &str,
        outcome: Option<&str>,
        resource_type: Option<&str>,
        limit: i64,
    ) -> ScimResult<Vec<ProvisioningEntry>> {
        self.read(|c| {
            let mut q = Sql::new(
                "SELECT id, at, token_name, method, resource_type, resource_id, resource_name, outcome, status, detail FROM provisioning_log WHERE tenant_id = ",
            );
            q.text(tenant);
            if let Some(o) = outcome {
                q.push(" AND outcome = ").text(o);
            }
            if let Some(r) = resource_type {
                q.push(" AND resource_type = ").text(r);
            }
            q.push(" ORDER BY at DESC, id DESC LIMIT ").int(limit);
            c.load::<ProvisioningEntry>(&q)
        })
    }

    /// Deletes log rows older than `before` (retention).
    pub fn prune_logs(&self, before: DateTime<Utc>) -> ScimResult<usize> {
        self.write(|c| {
            let cutoff = format_timestamp(before);
            let mut q = Sql::new("DELETE FROM provisioning_log WHERE at < ");
            q.text(cutoff.as_str());
            let mut n = c.execute(&q)?;
            let mut q = Sql::new("DELETE FROM audit_log WHERE at < ");
            q.text(cutoff.as_str());
            n += c.execute(&q)?;
            Ok(n)
        })
    }

    /// Updates a tenant's console settings.
    pub fn update_tenant_settings(
        &self,
        tenant: &str,
        name: &str,
        entra_tenant_id: Option<&str>,
        provisioning_enabled: bool,
    ) -> ScimResult<()> {
        let n = self.write(|c| {
            let mut q = Sql::new("UPDATE tenants SET name = ");
            q.text(name)
                .push(", entra_tenant_id = ")
                .opt_text(entra_tenant_id)
                .push(", provisioning_enabled = ")
                .int(i64::from(provisioning_enabled))
                .push(" WHERE id = ")
                .text(tenant);
            c.execute(&q)
        })?;
        if n == 0 {
            return Err(ScimError::not_found("tenant not found"));
        }
        Ok(())
    }
}

/// Inserts a provisioning-log row on `c` (inside the caller's transaction).
pub(crate) fn insert_provisioning(
    c: &mut Conn<'_>,
    tenant: &str,
    entry: &ProvisioningEntry,
) -> ScimResult<()> {
    c.execute(&provisioning_insert(tenant, entry)).map(|_| ())
}

/// The `INSERT` of a provisioning-log row (run with a write's other statements).
pub(crate) fn provisioning_insert(tenant: &str, entry: &ProvisioningEntry) -> Sql {
    let mut q = Sql::new(
        "INSERT INTO provisioning_log (tenant_id, id, at, token_id, token_name, method, resource_type, resource_id, resource_name, outcome, status, detail) VALUES (",
    );
    q.text(tenant)
        .push(", ")
        .text(entry.id.as_str())
        .push(", ")
        .text(entry.at.as_str())
        .push(", NULL, ")
        .opt_text(entry.token_name.clone())
        .push(", ")
        .text(entry.method.as_str())
        .push(", ")
        .opt_text(entry.resource_type.clone())
        .push(", ")
        .opt_text(entry.resource_id.clone())
        .push(", ")
        .opt_text(entry.resource_name.clone())
        .push(", ")
        .text(entry.outcome.as_str())
        .push(", ")
        .int(entry.status)
        .push(", ")
        .opt_text(entry.detail.clone())
        .push(")")
        .fixed(Fixed::LogInsert);
    q
}

impl ProvisioningEntry {
    /// A row for a SCIM write: outcome `success` for 2xx, else `failure`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
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
            // Time-ordered like `at`: rows of the same microsecond keep their order in
            // the log's key, (tenant_id, at, id) on SQLite (clustered).
            id: uuid::Uuid::now_v7().to_string(),
            at: format_timestamp(now),
            token_name: token_name.map(str::to_string),
            method: method.to_string(),
            resource_type: resource_type.map(str::to_string),
            resource_id: resource_id.map(str::to_string),
            resource_name: resource_name.map(str::to_string),
            outcome: if (200..300).contains(&status) {
                "success"
            } else {
                "failure"
            }
            .to_string(),
            status: i64::from(status),
            detail: detail.map(str::to_string),
        }
    }
}
