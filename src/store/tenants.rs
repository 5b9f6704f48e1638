//! Tenants and their secret tokens.

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;

use super::filter_sql::format_timestamp;
use super::sql::Sql;
use super::Store;
use crate::error::{ScimError, ScimResult};

#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Tenant {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub entra_tenant_id: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub provisioning_enabled: i64,
    #[diesel(sql_type = Text)]
    pub created_at: String,
}

/// A token row (never the secret itself).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct TokenRecord {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub tenant_id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub secret_sha256: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub created_by: Option<String>,
    #[diesel(sql_type = Text)]
    pub created_at: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_used_at: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub expires_at: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub revoked_at: Option<String>,
}

/// DESIGN.md's derived token status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Generated,
    Active,
    Inactive,
    Expired,
    Revoked,
}

impl TokenStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Generated => "generated",
            TokenStatus::Active => "active",
            TokenStatus::Inactive => "inactive",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
        }
    }
}

impl TokenRecord {
    /// The status at `now` (timestamps are the store's fixed-width UTC text, so they
    /// compare as text).
    pub fn status(&self, now: DateTime<Utc>) -> TokenStatus {
        let now_s = format_timestamp(now);
        if self.revoked_at.is_some() {
            TokenStatus::Revoked
        } else if self
            .expires_at
            .as_deref()
            .is_some_and(|e| e <= now_s.as_str())
        {
            TokenStatus::Expired
        } else {
            match &self.last_used_at {
                None => TokenStatus::Generated,
                Some(used)
                    if used.as_str() >= format_timestamp(now - Duration::days(7)).as_str() =>
                {
                    TokenStatus::Active
                }
                Some(_) => TokenStatus::Inactive,
            }
        }
    }

    /// True if the token may authenticate at `now`.
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        // Not revoked, not expired: `status` without its last-use arithmetic (this runs on
        // every SCIM request).
        self.revoked_at.is_none()
            && self
                .expires_at
                .as_deref()
                .is_none_or(|e| e > format_timestamp(now).as_str())
    }
}

/// What a new token row holds.
#[derive(Debug, Clone, Copy)]
pub struct NewTokenRecord<'a> {
    pub tenant: &'a str,
    pub id: &'a str,
    pub secret_sha256: &'a str,
    pub name: &'a str,
    pub created_by: Option<&'a str>,
    pub expires_at: Option<DateTime<Utc>>,
}

const TOKEN_COLUMNS: &str =
    "id, tenant_id, name, secret_sha256, created_by, created_at, last_used_at, expires_at, revoked_at";

impl Store {
    pub fn create_tenant(&self, name: &str, now: DateTime<Utc>) -> ScimResult<Tenant> {
        let tenant = Tenant {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_string(),
            entra_tenant_id: None,
            provisioning_enabled: 1,
            created_at: format_timestamp(now),
        };
        self.write(|c| {
            let mut q = Sql::new(
                "INSERT INTO tenants (id, name, provisioning_enabled, created_at) VALUES (",
            );
            q.text(tenant.id.as_str())
                .push(", ")
                .text(name)
                .push(", 1, ")
                .text(tenant.created_at.as_str())
                .push(")");
            c.execute(&q)
        })?;
        Ok(tenant)
    }

    pub fn get_tenant(&self, id: &str) -> ScimResult<Option<Tenant>> {
        self.read(|c| {
            let mut q = Sql::new(
                "SELECT id, name, entra_tenant_id, provisioning_enabled, created_at FROM tenants WHERE id = ",
            );
            q.text(id);
            c.first::<Tenant>(&q)
        })
    }

    pub fn list_tenants(&self) -> ScimResult<Vec<Tenant>> {
        self.read(|c| {
            c.load::<Tenant>(&Sql::new(
                "SELECT id, name, entra_tenant_id, provisioning_enabled, created_at FROM tenants ORDER BY created_at, id",
            ))
        })
    }

    /// Stores a new token (its id and secret digest come from `token::generate`).
    pub fn insert_token(
        &self,
        new: &NewTokenRecord<'_>,
        now: DateTime<Utc>,
    ) -> ScimResult<TokenRecord> {
        let NewTokenRecord {
            tenant,
            id,
            secret_sha256,
            name,
            created_by,
            expires_at,
        } = *new;
        if self.get_tenant(tenant)?.is_none() {
            return Err(ScimError::not_found(format!("tenant {tenant} not found")));
        }
        let record = TokenRecord {
            id: id.to_string(),
            tenant_id: tenant.to_string(),
            name: name.to_string(),
            secret_sha256: secret_sha256.to_string(),
            created_by: created_by.map(str::to_string),
            created_at: format_timestamp(now),
            last_used_at: None,
            expires_at: expires_at.map(format_timestamp),
            revoked_at: None,
        };
        self.write(|c| {
            let mut q = Sql::new("INSERT INTO tokens (");
            q.push(TOKEN_COLUMNS)
                .push(") VALUES (")
                .text(record.id.as_str())
                .push(", ")
                .text(tenant)
                .push(", ")
                .text(name)
                .push(", ")
                .text(secret_sha256)
                .push(", ")
                .opt_text(record.created_by.clone())
                .push(", ")
                .text(record.created_at.as_str())
                .push(", NULL, ")
                .opt_text(record.expires_at.clone())
                .push(", NULL)");
            c.execute(&q)
        })?;
        Ok(record)
    }

    /// The token with this id, whatever its tenant or status.
    pub fn find_token(&self, id: &str) -> ScimResult<Option<TokenRecord>> {
        self.read(|c| {
            let mut q = Sql::new("SELECT ");
            q.push(TOKEN_COLUMNS)
                .push(" FROM tokens WHERE id = ")
                .text(id);
            c.first::<TokenRecord>(&q)
        })
    }

    pub fn list_tokens(&self, tenant: &str) -> ScimResult<Vec<TokenRecord>> {
        self.read(|c| {
            let mut q = Sql::new("SELECT ");
            q.push(TOKEN_COLUMNS)
                .push(" FROM tokens WHERE tenant_id = ")
                .text(tenant)
                .push(" ORDER BY created_at, id");
            c.load::<TokenRecord>(&q)
        })
    }

    /// Revokes a token of `tenant`; false if the tenant has no such token.
    pub fn revoke_token(&self, tenant: &str, id: &str, now: DateTime<Utc>) -> ScimResult<bool> {
        self.write(|c| {
            let mut q = Sql::new("UPDATE tokens SET revoked_at = COALESCE(revoked_at, ");
            q.text(format_timestamp(now))
                .push(") WHERE tenant_id = ")
                .text(tenant)
                .push(" AND id = ")
                .text(id);
            Ok(c.execute(&q)? > 0)
        })
    }

    /// Records a use of the token (callers rate-limit this to about once a minute).
    pub fn touch_token(&self, id: &str, now: DateTime<Utc>) -> ScimResult<()> {
        self.write(|c| {
            let mut q = Sql::new("UPDATE tokens SET last_used_at = ");
            q.text(format_timestamp(now)).push(" WHERE id = ").text(id);
            c.execute(&q).map(|_| ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(last_used: Option<DateTime<Utc>>) -> TokenRecord {
        TokenRecord {
            id: "i".into(),
            tenant_id: "t".into(),
            name: "n".into(),
            secret_sha256: "d".into(),
            created_by: None,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            last_used_at: last_used.map(format_timestamp),
            expires_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn status_follows_use_expiry_and_revocation() {
        let now = Utc::now();
        assert_eq!(record(None).status(now), TokenStatus::Generated);
        assert_eq!(
            record(Some(now - Duration::days(1))).status(now),
            TokenStatus::Active
        );
        assert_eq!(
            record(Some(now - Duration::days(8))).status(now),
            TokenStatus::Inactive
        );
        let mut expired = record(None);
        expired.expires_at = Some(format_timestamp(now - Duration::seconds(1)));
        assert_eq!(expired.status(now), TokenStatus::Expired);
        assert!(!expired.usable(now));
        let mut revoked = expired.clone();
        revoked.revoked_at = Some(format_timestamp(now));
        assert_eq!(revoked.status(now), TokenStatus::Revoked);
    }
}
