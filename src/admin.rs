//! Admin operations shared by the console pages and the admin JSON API: authorisation by
//! role and object (tenant, token owner), password re-checks, and the audit trail. Plain
//! blocking functions over the store; callers run them on the blocking pool.

use chrono::{DateTime, Utc};

use crate::error::{ScimError, ScimResult};
use crate::filter::{AttrPath, AttrTest, CompValue, CompareOp, Filter};
use crate::schema::Registry;
use crate::store::configurations::{Catalog, ConfigurationInput, ConfigurationRecord, NamedRecord};
use crate::store::console::{Account, Role, SessionRecord};
use crate::store::resources::{ListPage, ListQuery};
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

fn require_owner(actor: &Actor) -> ScimResult<()> {
    if actor.role() == Role::Owner {
        Ok(())
    } else {
        Err(ScimError::forbidden("Only owners can do this"))
    }
}

fn audit(
    store: &Store,
    actor: &Actor,
    action: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> ScimResult<()> {
    store.audit(
        &actor.tenant_id,
        Some(&actor.email),
        action,
        Some(detail),
        now,
    )
}

// ---------------------------------------------------------------- companies and roles

/// "company" / "role", for audit actions.
pub fn catalog_word(catalog: Catalog) -> &'static str {
    match catalog {
        Catalog::Companies => "company",
        Catalog::Roles => "role",
    }
}

/// Adds a company or role (writers only); audited as "company added" / "role added".
pub fn add_named(
    store: &Store,
    actor: &Actor,
    catalog: Catalog,
    name: &str,
    now: DateTime<Utc>,
) -> ScimResult<NamedRecord> {
    require_write(actor)?;
    let record = store.add_named(&actor.tenant_id, catalog, name)?;
    audit(
        store,
        actor,
        &format!("{} added", catalog_word(catalog)),
        &format!("{} ({})", record.name, record.id),
        now,
    )?;
    Ok(record)
}

/// Renames a company or role of the actor's tenant (another tenant's id: 404).
pub fn rename_named(
    store: &Store,
    actor: &Actor,
    catalog: Catalog,
    id: &str,
    name: &str,
    now: DateTime<Utc>,
) -> ScimResult<NamedRecord> {
    require_write(actor)?;
    let tenant = &actor.tenant_id;
    let old = store
        .list_named(tenant, catalog)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ScimError::not_found(format!("{} not found", catalog.noun())))?;
    store.rename_named(tenant, catalog, id, name)?;
    let name = name.trim();
    audit(
        store,
        actor,
        &format!("{} renamed", catalog_word(catalog)),
        &format!("{} → {name} ({id})", old.name),
        now,
    )?;
    Ok(NamedRecord {
        id: id.to_string(),
        name: name.to_string(),
    })
}

/// Deletes a company or role (refused while a configuration uses it).
pub fn delete_named(
    store: &Store,
    actor: &Actor,
    catalog: Catalog,
    id: &str,
    now: DateTime<Utc>,
) -> ScimResult<NamedRecord> {
    require_write(actor)?;
    let record = store.delete_named(&actor.tenant_id, catalog, id)?;
    audit(
        store,
        actor,
        &format!("{} deleted", catalog_word(catalog)),
        &format!("{} ({})", record.name, record.id),
        now,
    )?;
    Ok(record)
}

// ---------------------------------------------------------------- configurations

/// A configuration as the audit log describes it.
pub fn describe_configuration(c: &ConfigurationRecord) -> String {
    let roles: Vec<&str> = c.roles.iter().map(|r| r.name.as_str()).collect();
    format!(
        "{} ({}): company {}, roles [{}], filter {}{}",
        c.name,
        c.id,
        c.company,
        roles.join(", "),
        c.filter.as_deref().unwrap_or("none"),
        if c.is_default { ", default" } else { "" }
    )
}

pub fn add_configuration(
    store: &Store,
    actor: &Actor,
    input: &ConfigurationInput,
    now: DateTime<Utc>,
) -> ScimResult<ConfigurationRecord> {
    require_write(actor)?;
    let record = store.add_configuration(&actor.tenant_id, input, now)?;
    audit(
        store,
        actor,
        "configuration added",
        &describe_configuration(&record),
        now,
    )?;
    Ok(record)
}

pub fn update_configuration(
    store: &Store,
    actor: &Actor,
    id: &str,
    input: &ConfigurationInput,
    now: DateTime<Utc>,
) -> ScimResult<ConfigurationRecord> {
    require_write(actor)?;
    let record = store.update_configuration(&actor.tenant_id, id, input)?;
    audit(
        store,
        actor,
        "configuration changed",
        &describe_configuration(&record),
        now,
    )?;
    Ok(record)
}

/// Makes a configuration the tenant's only default; returns its name.
pub fn set_default_configuration(
    store: &Store,
    actor: &Actor,
    id: &str,
    now: DateTime<Utc>,
) -> ScimResult<String> {
    require_write(actor)?;
    let name = store.set_default_configuration(&actor.tenant_id, id)?;
    audit(
        store,
        actor,
        "default configuration set",
        &format!("{name} ({id})"),
        now,
    )?;
    Ok(name)
}

/// Deletes a configuration; returns its name.
pub fn delete_configuration(
    store: &Store,
    actor: &Actor,
    id: &str,
    now: DateTime<Utc>,
) -> ScimResult<String> {
    require_write(actor)?;
    let name = store.delete_configuration(&actor.tenant_id, id)?;
    audit(
        store,
        actor,
        "configuration deleted",
        &format!("{name} ({id})"),
        now,
    )?;
    Ok(name)
}

// ---------------------------------------------------------------- accounts

/// Shortest initial password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// The roles an owner may give an invited account.
pub fn invitable_role(s: &str) -> Option<Role> {
    match Role::parse(s.trim()) {
        Some(r @ (Role::Admin | Role::Viewer)) => Some(r),
        _ => None,
    }
}

/// A plausible email address: one `@` with text on both sides, no spaces, ≤ 254 chars.
pub fn valid_email(email: &str) -> bool {
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Creates an admin or viewer account with an initial password (owners only).
pub fn invite_account(
    store: &Store,
    actor: &Actor,
    email: &str,
    role: &str,
    pw: &str,
    now: DateTime<Utc>,
) -> ScimResult<Account> {
    require_owner(actor)?;
    let email = email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(ScimError::invalid_value(
            "Enter the person's email address, e.g. ada@example.com",
        ));
    }
    let role = invitable_role(role)
        .ok_or_else(|| ScimError::invalid_value("The role must be admin or viewer"))?;
    if pw.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ScimError::invalid_value(format!(
            "The initial password must be at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if store.find_account(&actor.tenant_id, &email)?.is_some() {
        return Err(ScimError::uniqueness(
            "An account with this email already exists",
        ));
    }
    let hash = password::hash(pw)?;
    let account = store.create_account(&actor.tenant_id, &email, &hash, role, now)?;
    audit(
        store,
        actor,
        "account created",
        &format!("{email} ({})", role.as_str()),
        now,
    )?;
    Ok(account)
}

/// Removes an account of the tenant (owners only, not their own) and ends its sessions.
pub fn remove_account(
    store: &Store,
    actor: &Actor,
    id: &str,
    now: DateTime<Utc>,
) -> ScimResult<Account> {
    require_owner(actor)?;
    if id == actor.account_id {
        return Err(ScimError::invalid_value(
            "You cannot remove your own account",
        ));
    }
    let tenant = &actor.tenant_id;
    let account = store
        .list_accounts(tenant)?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ScimError::not_found("No such account"))?;
    if !store.delete_account(tenant, id)? {
        return Err(ScimError::not_found("No such account"));
    }
    audit(store, actor, "account removed", &account.email, now)?;
    Ok(account)
}

// ---------------------------------------------------------------- directory

/// Longest search text taken (longer input is cut).
pub const MAX_SEARCH_CHARS: usize = 200;

/// `a co "q" or b co "q" or …`.
pub fn contains_any(paths: &[AttrPath], q: &str) -> Option<Filter> {
    paths
        .iter()
        .map(|p| Filter::Attr {
            path: p.clone(),
            test: AttrTest::Compare(CompareOp::Co, CompValue::String(q.to_string())),
        })
        .reduce(|a, b| Filter::Or(Box::new(a), Box::new(b)))
}

/// Users (sorted by userName, searched in userName, displayName and emails) or groups
/// (sorted by displayName, searched in displayName and externalId) of the tenant: the
/// page from `start_index` (1-based), filtered in the database.
pub fn list_directory(
    store: &Store,
    tenant: &str,
    users: bool,
    q: &str,
    start_index: i64,
    count: i64,
) -> ScimResult<ListPage> {
    let q: String = q.trim().chars().take(MAX_SEARCH_CHARS).collect();
    let reg = Registry::get();
    let (rt, sort, paths) = if users {
        (
            &reg.user,
            AttrPath::simple("userName"),
            vec![
                AttrPath::simple("userName"),
                AttrPath::simple("displayName"),
                AttrPath::with_sub("emails", "value"),
            ],
        )
    } else {
        (
            &reg.group,
            AttrPath::simple("displayName"),
            vec![
                AttrPath::simple("displayName"),
                AttrPath::simple("externalId"),
            ],
        )
    };
    let filter = if q.is_empty() {
        None
    } else {
        contains_any(&paths, &q)
    };
    store.list_resources(
        tenant,
        rt,
        &ListQuery {
            filter: filter.as_ref(),
            sort_by: Some(&sort),
            descending: false,
            start_index,
            count,
        },
    )
}
