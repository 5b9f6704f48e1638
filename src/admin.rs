//! Admin operations shared by the console pages and the admin JSON API: authorisation by
//! role and object (tenant, token owner), password re-checks, and the audit trail. Plain
//! blocking functions over the store; callers run them on the blocking pool.

use chrono::{DateTime, Utc};

use crate::error::{ScimError, ScimResult};
use crate::store::console::{Role, SessionRecord};
use crate::store::tenants::{NewTokenRecord, Tenant, TokenRecord};
use crate::store::Store;
use crate::{password, token};

/// Who is acting: a signed-in console session.
pub type Actor = SessionRecord;

fn require_write(actor: &Actor) -> ScimResult<()> {
    if actor.role().can_write() {
        Ok(())
    } else {
        Err(ScimError::forbidden("Viewers cannot change anything"))
    }
}

/// Re-checks the actor's password before a sensitive operation.
pub fn reauthenticate(store: &Store, actor: &Actor, pw: &str) -> ScimResult<()> {
    let ok = store
        .find_account(&actor.tenant_id, &actor.email)?
        .is_some_and(|a| password::verify(pw, &a.password_hash));
    if ok {
        Ok(())
    } else {
        Err(ScimError::forbidden("The password is not correct"))
    }
}

/// Tokens this actor may see: owners all of the tenant's, others their own.
pub fn token_visible(actor: &Actor, t: &TokenRecord) -> bool {
    t.tenant_id == actor.tenant_id
        && (actor.role() == Role::Owner || t.created_by.as_deref() == Some(actor.email.as_str()))
}

pub fn list_tokens(store: &Store, actor: &Actor) -> ScimResult<Vec<TokenRecord>> {
    Ok(store
        .list_tokens(&actor.tenant_id)?
        .into_iter()
        .filter(|t| token_visible(actor, t))
        .collect())
}

/// Generates a token after re-checking the password; the secret is returned once.
pub fn generate_token(
    store: &Store,
    actor: &Actor,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    pw: &str,
    now: DateTime<Utc>,
) -> ScimResult<(token::NewToken, TokenRecord)> {
    require_write(actor)?;
    reauthenticate(store, actor, pw)?;
    let name = name.trim();
    if name.is_empty() {
        return Err(ScimError::invalid_value("Give the token a name"));
    }
    if expires_at.is_some_and(|e| e <= now) {
        return Err(ScimError::invalid_value("The expiry must be in the future"));
    }
    let new = token::generate();
    let record = store.insert_token(
        &NewTokenRecord {
            tenant: &actor.tenant_id,
            id: &new.id,
            secret_sha256: &new.secret_sha256,
            name,
            created_by: Some(&actor.email),
            expires_at,
        },
        now,
    )?;
    store.audit(
        &actor.tenant_id,
        Some(&actor.email),
        "token generated",
        Some(&format!("{name} ({})", new.id)),
        now,
    )?;
    Ok((new, record))
}

/// Revokes a token the actor may see (another tenant's or another admin's: 404).
pub fn revoke_token(
    store: &Store,
    actor: &Actor,
    id: &str,
    pw: &str,
    now: DateTime<Utc>,
) -> ScimResult<TokenRecord> {
    require_write(actor)?;
    reauthenticate(store, actor, pw)?;
    let record = store
        .find_token(id)?
        .filter(|t| token_visible(actor, t))
        .ok_or_else(|| ScimError::not_found("No such token"))?;
    store.revoke_token(&actor.tenant_id, &record.id, now)?;
    store.audit(
        &actor.tenant_id,
        Some(&actor.email),
        "token revoked",
        Some(&format!("{} ({})", record.name, record.id)),
        now,
    )?;
    Ok(record)
}

/// Tenant settings as an admin changes them.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct TenantSettings {
    pub name: String,
    #[serde(default)]
    pub entra_tenant_id: Option<String>,
    pub provisioning_enabled: bool,
}

pub fn update_settings(
    store: &Store,
    actor: &Actor,
    s: &TenantSettings,
    now: DateTime<Utc>,
) -> ScimResult<Tenant> {
    require_write(actor)?;
    let name = s.name.trim();
    if name.is_empty() {
        return Err(ScimError::invalid_value("The tenant name cannot be empty"));
    }
    let entra = s
        .entra_tenant_id
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    if let Some(e) = entra {
        if uuid::Uuid::parse_str(e).is_err() {
            return Err(ScimError::invalid_value(
                "The Entra tenant id is a GUID, e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47",
            ));
        }
    }
    store.update_tenant_settings(&actor.tenant_id, name, entra, s.provisioning_enabled)?;
    store.audit(
        &actor.tenant_id,
        Some(&actor.email),
        "settings changed",
        Some(&format!(
            "name={name}; entra_tenant_id={}; provisioning={}",
            entra.unwrap_or(""),
            if s.provisioning_enabled { "on" } else { "off" }
        )),
        now,
    )?;
    store
        .get_tenant(&actor.tenant_id)?
        .ok_or_else(|| ScimError::not_found("tenant not found"))
}
