//! Companies, roles and default user configurations of a tenant.
//!
//! Every query is filtered by `tenant_id`. Company and role names are unique per tenant
//! case-insensitively (unique index on `name_folded`). Writes that touch configurations
//! first lock the tenant row (PostgreSQL; SQLite write transactions are serialized
//! anyway), so "exactly one default" and "a used company cannot be deleted" hold even
//! under concurrent console requests.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;

use super::configuration_cache::TenantConfigurations;
use super::filter_sql::format_timestamp;
use super::sql::{Count, Sql};
use super::{Conn, Store};
use crate::configuration::{fold, AppliedConfiguration};
use crate::error::{ScimError, ScimResult};

#[derive(QueryableByName)]
struct NameRow {
    #[diesel(sql_type = Text)]
    name: String,
}

/// A company or a role: both are a named entry of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct NamedRecord {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
}

/// Which list of named entries: companies or roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalog {
    Companies,
    Roles,
}

impl Catalog {
    fn table(self) -> &'static str {
        match self {
            Catalog::Companies => "companies",
            Catalog::Roles => "roles",
        }
    }

    /// "Company" / "Role", for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Catalog::Companies => "Company",
            Catalog::Roles => "Role",
        }
    }
}

/// A stored configuration with its company and roles resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigurationRecord {
    pub id: String,
    pub name: String,
    pub company_id: String,
    pub company: String,
    /// Role ids and names, ordered by role name.
    pub roles: Vec<NamedRecord>,
    pub locale: Option<String>,
    pub language: Option<String>,
    pub time_zone: Option<String>,
    pub filter: Option<String>,
    pub is_default: bool,
    pub created_at: String,
}

impl ConfigurationRecord {
    /// What a user created with this configuration gets.
    pub fn applied(&self) -> AppliedConfiguration {
        AppliedConfiguration {
            name: self.name.clone(),
            company: self.company.clone(),
            roles: self.roles.iter().map(|r| r.name.clone()).collect(),
            locale: self.locale.clone(),
            language: self.language.clone(),
            time_zone: self.time_zone.clone(),
        }
    }
}

/// The fields of a configuration being added or updated.
#[derive(Debug, Clone, Default)]
pub struct ConfigurationInput {
    pub name: String,
    pub company_id: String,
    pub role_ids: Vec<String>,
    pub locale: Option<String>,
    pub language: Option<String>,
    pub time_zone: Option<String>,
    pub filter: Option<String>,
    pub is_default: bool,
}

#[derive(QueryableByName)]
struct ConfigurationRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    company_id: String,
    #[diesel(sql_type = Text)]
    company: String,
    #[diesel(sql_type = Nullable<Text>)]
    locale: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    language: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    time_zone: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    filter: Option<String>,
    #[diesel(sql_type = BigInt)]
    is_default: i64,
    #[diesel(sql_type = Text)]
    created_at: String,
}

#[derive(QueryableByName)]
struct ConfigurationRoleRow {
    #[diesel(sql_type = Text)]
    configuration_id: String,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    name: String,
}

const CONFIGURATION_SELECT: &str = "SELECT c.id, c.name, c.company_id, co.name AS company, c.locale, c.language, c.time_zone, c.filter, c.is_default, c.created_at \
     FROM configurations c JOIN companies co ON co.tenant_id = c.tenant_id AND co.id = c.company_id WHERE c.tenant_id = ";

/// Trims; an empty value is no value.
fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Serializes configuration writes of one tenant (PostgreSQL row lock on the tenant).
fn lock_tenant(c: &mut Conn<'_>, tenant: &str) -> ScimResult<()> {
    let mut q = Sql::new("SELECT COUNT(*) AS n FROM (SELECT id FROM tenants WHERE id = ");
    q.text(tenant).push(c.dialect().for_update()).push(") t");
    let n = c.first::<Count>(&q)?.map(|r| r.n).unwrap_or(0);
    if n == 0 {
        return Err(ScimError::not_found("tenant not found"));
    }
    Ok(())
}

fn find_named(
    c: &mut Conn<'_>,
    tenant: &str,
    catalog: Catalog,
    id: &str,
) -> ScimResult<Option<NamedRecord>> {
    let mut q = Sql::new("SELECT id, name FROM ");
    q.push(catalog.table())
        .push(" WHERE tenant_id = ")
        .text(tenant)
        .push(" AND id = ")
        .text(id);
    c.first::<NamedRecord>(&q)
}

/// Names of the configurations that use this company or role.
fn configurations_using(
    c: &mut Conn<'_>,
    tenant: &str,
    catalog: Catalog,
    id: &str,
) -> ScimResult<Vec<String>> {
    let mut q = match catalog {
        Catalog::Companies => Sql::new("SELECT name FROM configurations WHERE tenant_id = "),
        Catalog::Roles => Sql::new(
            "SELECT c.name AS name FROM configurations c JOIN configuration_roles cr \
             ON cr.tenant_id = c.tenant_id AND cr.configuration_id = c.id WHERE c.tenant_id = ",
        ),
    };
    q.text(tenant);
    match catalog {
        Catalog::Companies => q.push(" AND company_id = ").text(id),
        Catalog::Roles => q.push(" AND cr.role_id = ").text(id),
    };
    q.push(" ORDER BY name");
    Ok(c.load::<NameRow>(&q)?.into_iter().map(|r| r.name).collect())
}

fn load_configurations(
    c: &mut Conn<'_>,
    tenant: &str,
    only: Option<&Sql>,
) -> ScimResult<Vec<ConfigurationRecord>> {
    let mut q = Sql::new(CONFIGURATION_SELECT);
    q.text(tenant);
    if let Some(cond) = only {
        q.push(" AND ").append(cond.clone());
    }
    q.push(" ORDER BY c.created_at, c.id");
    let rows = c.load::<ConfigurationRow>(&q)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Sql::new(
        "SELECT cr.configuration_id, r.id, r.name FROM configuration_roles cr \
         JOIN roles r ON r.tenant_id = cr.tenant_id AND r.id = cr.role_id WHERE cr.tenant_id = ",
    );
    q.text(tenant);
    if rows.len() == 1 {
        q.push(" AND cr.configuration_id = ")
            .text(rows[0].id.as_str());
    }
    q.push(" ORDER BY r.name_folded, r.id");
    let roles = c.load::<ConfigurationRoleRow>(&q)?;
    Ok(rows
        .into_iter()
        .map(|r| ConfigurationRecord {
            roles: roles
                .iter()
                .filter(|x| x.configuration_id == r.id)
                .map(|x| NamedRecord {
                    id: x.id.clone(),
                    name: x.name.clone(),
                })
                .collect(),
            id: r.id,
            name: r.name,
            company_id: r.company_id,
            company: r.company,
            locale: r.locale,
            language: r.language,
            time_zone: r.time_zone,
            filter: r.filter,
            is_default: r.is_default != 0,
            created_at: r.created_at,
        })
        .collect())
}

/// Checks a configuration's fields inside the write transaction: name and filter free,
/// company and roles existing in the tenant. Returns the cleaned input.
fn validate(
    c: &mut Conn<'_>,
    tenant: &str,
    input: &ConfigurationInput,
    except_id: Option<&str>,
) -> ScimResult<ConfigurationInput> {
    let name = input.name.trim().to_string();
    if name.is_empty() {
        return Err(ScimError::invalid_value("The configuration needs a name"));
    }
    let filter = non_empty(input.filter.as_deref());
    let existing = load_configurations(c, tenant, None)?;
    for other in existing.iter().filter(|o| Some(o.id.as_str()) != except_id) {
        if fold(&other.name) == fold(&name) {
            return Err(ScimError::uniqueness(format!(
                "A configuration named \"{}\" already exists",
                other.name
            )));
        }
        if let (Some(f), Some(g)) = (&filter, &other.filter) {
            if fold(f) == fold(g) {
                return Err(ScimError::uniqueness(format!(
                    "The filter \"{f}\" is already used by configuration \"{}\"",
                    other.name
                )));
            }
        }
    }
    if find_named(c, tenant, Catalog::Companies, input.company_id.trim())?.is_none() {
        return Err(ScimError::invalid_value(
            "The company does not exist; add it under Companies & roles first",
        ));
    }
    let mut role_ids: Vec<String> = Vec::new();
    for id in &input.role_ids {
        let id = id.trim();
        if role_ids.iter().any(|r| r == id) {
            continue;
        }
        if find_named(c, tenant, Catalog::Roles, id)?.is_none() {
            return Err(ScimError::invalid_value(
                "A role does not exist; add it under Companies & roles first",
            ));
        }
        role_ids.push(id.to_string());
    }
    Ok(ConfigurationInput {
        name,
        company_id: input.company_id.trim().to_string(),
        role_ids,
        locale: non_empty(input.locale.as_deref()),
        language: non_empty(input.language.as_deref()),
        time_zone: non_empty(input.time_zone.as_deref()),
        filter,
        is_default: input.is_default,
    })
}

fn clear_default(c: &mut Conn<'_>, tenant: &str) -> ScimResult<()> {
    let mut q = Sql::new("UPDATE configurations SET is_default = 0 WHERE tenant_id = ");
    q.text(tenant).push(" AND is_default <> 0");
    c.execute(&q).map(|_| ())
}

fn set_default(c: &mut Conn<'_>, tenant: &str, id: &str) -> ScimResult<bool> {
    clear_default(c, tenant)?;
    let mut q = Sql::new("UPDATE configurations SET is_default = 1 WHERE tenant_id = ");
    q.text(tenant).push(" AND id = ").text(id);
    Ok(c.execute(&q)? == 1)
}

fn insert_roles(c: &mut Conn<'_>, tenant: &str, id: &str, role_ids: &[String]) -> ScimResult<()> {
    for role in role_ids {
        let mut q = Sql::new(
            "INSERT INTO configuration_roles (tenant_id, configuration_id, role_id) VALUES (",
        );
        q.text(tenant)
            .push(", ")
            .text(id)
            .push(", ")
            .text(role.as_str())
            .push(")");
        c.execute(&q)?;
    }
    Ok(())
}

fn count_configurations(c: &mut Conn<'_>, tenant: &str) -> ScimResult<i64> {
    let mut q = Sql::new("SELECT COUNT(*) AS n FROM configurations WHERE tenant_id = ");
    q.text(tenant);
    Ok(c.first::<Count>(&q)?.map(|r| r.n).unwrap_or(0))
}

impl Store {
    /// True if the tenant has a default user configuration.
    pub fn has_default_configuration(&self, tenant: &str) -> ScimResult<bool> {
        self.read(|c| {
            let mut q = Sql::new(
                "SELECT COUNT(*) AS n FROM configurations WHERE is_default = 1 AND tenant_id = ",
            );
            q.text(tenant);
            Ok(c.first::<Count>(&q)?.map(|r| r.n).unwrap_or(0) > 0)
        })
    }

    /// The tenant's companies or roles, by name.
    pub fn list_named(&self, tenant: &str, catalog: Catalog) -> ScimResult<Vec<NamedRecord>> {
        self.read(|c| {
            let mut q = Sql::new("SELECT id, name FROM ");
            q.push(catalog.table())
                .push(" WHERE tenant_id = ")
                .text(tenant)
                .push(" ORDER BY name_folded, id");
            c.load::<NamedRecord>(&q)
        })
    }

    /// Adds a company or role; a name already used (ignoring case) is a uniqueness error.
    pub fn add_named(&self, tenant: &str, catalog: Catalog, name: &str) -> ScimResult<NamedRecord> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ScimError::invalid_value(format!(
                "The {} needs a name",
                catalog.noun().to_lowercase()
            )));
        }
        let record = NamedRecord {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_string(),
        };
        self.write_catalog(|c| {
            let mut q = Sql::new("INSERT INTO ");
            q.push(catalog.table())
                .push(" (tenant_id, id, name, name_folded) VALUES (")
                .text(tenant)
                .push(", ")
                .text(record.id.as_str())
                .push(", ")
                .text(record.name.as_str())
                .push(", ")
                .text(fold(name))
                .push(")");
            c.execute(&q)
        })
        .map_err(|e| duplicate_name(e, catalog, name))?;
        Ok(record)
    }

    /// Renames a company or role (not found if the tenant has no such entry).
    pub fn rename_named(
        &self,
        tenant: &str,
        catalog: Catalog,
        id: &str,
        name: &str,
    ) -> ScimResult<()> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ScimError::invalid_value(format!(
                "The {} needs a name",
                catalog.noun().to_lowercase()
            )));
        }
        let n = self
            .write_catalog(|c| {
                let mut q = Sql::new("UPDATE ");
                q.push(catalog.table())
                    .push(" SET name = ")
                    .text(name)
                    .push(", name_folded = ")
                    .text(fold(name))
                    .push(" WHERE tenant_id = ")
                    .text(tenant)
                    .push(" AND id = ")
                    .text(id);
                c.execute(&q)
            })
            .map_err(|e| duplicate_name(e, catalog, name))?;
        if n == 0 {
            return Err(ScimError::not_found(format!(
                "{} not found",
                catalog.noun()
            )));
        }
        Ok(())
    }

    /// Deletes a company or role; refused while a configuration uses it. Returns the
    /// deleted entry.
    pub fn delete_named(
        &self,
        tenant: &str,
        catalog: Catalog,
        id: &str,
    ) -> ScimResult<NamedRecord> {
        self.write_catalog(|c| {
            lock_tenant(c, tenant)?;
            let record = find_named(c, tenant, catalog, id)?
                .ok_or_else(|| ScimError::not_found(format!("{} not found", catalog.noun())))?;
            let users = configurations_using(c, tenant, catalog, id)?;
            if let Some(first) = users.first() {
                let more = match users.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                };
                return Err(ScimError::invalid_value(format!(
                    "{} \"{}\" is used by configuration \"{first}\"{more}; change or delete the configuration first",
                    catalog.noun(),
                    record.name
                )));
            }
            let mut q = Sql::new("DELETE FROM ");
            q.push(catalog.table())
                .push(" WHERE tenant_id = ")
                .text(tenant)
                .push(" AND id = ")
                .text(id);
            c.execute(&q)?;
            Ok(record)
        })
    }

    /// The tenant's configurations, oldest first, with company and role names.
    pub fn list_configurations(&self, tenant: &str) -> ScimResult<Vec<ConfigurationRecord>> {
        self.read(|c| load_configurations(c, tenant, None))
    }

    pub fn get_configuration(
        &self,
        tenant: &str,
        id: &str,
    ) -> ScimResult<Option<ConfigurationRecord>> {
        self.read(|c| {
            let mut cond = Sql::new("c.id = ");
            cond.text(id);
            Ok(load_configurations(c, tenant, Some(&cond))?
                .into_iter()
                .next())
        })
    }

    /// Adds a configuration with its roles, in one transaction. The company and every role
    /// must exist in the tenant. The tenant's first configuration becomes the default;
    /// adding one marked default makes it the only default.
    pub fn add_configuration(
        &self,
        tenant: &str,
        input: &ConfigurationInput,
        now: DateTime<Utc>,
    ) -> ScimResult<ConfigurationRecord> {
        let id = uuid::Uuid::new_v4().to_string();
        self.write_catalog(|c| {
            lock_tenant(c, tenant)?;
            let input = validate(c, tenant, input, None)?;
            let is_default = input.is_default || count_configurations(c, tenant)? == 0;
            if is_default {
                clear_default(c, tenant)?;
            }
            let mut q = Sql::new(
                "INSERT INTO configurations (tenant_id, id, name, company_id, locale, language, time_zone, filter, filter_folded, is_default, created_at) VALUES (",
            );
            q.text(tenant)
                .push(", ")
                .text(id.as_str())
                .push(", ")
                .text(input.name.as_str())
                .push(", ")
                .text(input.company_id.as_str())
                .push(", ")
                .opt_text(input.locale.clone())
                .push(", ")
                .opt_text(input.language.clone())
                .push(", ")
                .opt_text(input.time_zone.clone())
                .push(", ")
                .opt_text(input.filter.clone())
                .push(", ")
                .opt_text(input.filter.as_deref().map(fold))
                .push(", ")
                .int(i64::from(is_default))
                .push(", ")
                .text(format_timestamp(now))
                .push(")");
            c.execute(&q)?;
            insert_roles(c, tenant, &id, &input.role_ids)?;
            let mut cond = Sql::new("c.id = ");
            cond.text(id.as_str());
            load_configurations(c, tenant, Some(&cond))?
                .into_iter()
                .next()
                .ok_or_else(|| ScimError::internal("configuration vanished"))
        })
    }

    /// Replaces a configuration's fields and roles. The default flag can be set here but
    /// not cleared from the only default: make another configuration the default instead.
    pub fn update_configuration(
        &self,
        tenant: &str,
        id: &str,
        input: &ConfigurationInput,
    ) -> ScimResult<ConfigurationRecord> {
        self.write_catalog(|c| {
            lock_tenant(c, tenant)?;
            let mut cond = Sql::new("c.id = ");
            cond.text(id);
            let current = load_configurations(c, tenant, Some(&cond))?
                .into_iter()
                .next()
                .ok_or_else(|| ScimError::not_found("Configuration not found"))?;
            let input = validate(c, tenant, input, Some(id))?;
            if current.is_default && !input.is_default {
                return Err(ScimError::invalid_value(format!(
                    "\"{}\" is the default configuration; make another configuration the default instead",
                    current.name
                )));
            }
            if input.is_default && !current.is_default {
                clear_default(c, tenant)?;
            }
            let mut q = Sql::new("UPDATE configurations SET name = ");
            q.text(input.name.as_str())
                .push(", company_id = ")
                .text(input.company_id.as_str())
                .push(", locale = ")
                .opt_text(input.locale.clone())
                .push(", language = ")
                .opt_text(input.language.clone())
                .push(", time_zone = ")
                .opt_text(input.time_zone.clone())
                .push(", filter = ")
                .opt_text(input.filter.clone())
                .push(", filter_folded = ")
                .opt_text(input.filter.as_deref().map(fold))
                .push(", is_default = ")
                .int(i64::from(input.is_default))
                .push(" WHERE tenant_id = ")
                .text(tenant)
                .push(" AND id = ")
                .text(id);
            c.execute(&q)?;
            let mut q = Sql::new("DELETE FROM configuration_roles WHERE tenant_id = ");
            q.text(tenant).push(" AND configuration_id = ").text(id);
            c.execute(&q)?;
            insert_roles(c, tenant, id, &input.role_ids)?;
            load_configurations(c, tenant, Some(&cond))?
                .into_iter()
                .next()
                .ok_or_else(|| ScimError::internal("configuration vanished"))
        })
    }

    /// Makes this configuration the tenant's only default.
    pub fn set_default_configuration(&self, tenant: &str, id: &str) -> ScimResult<String> {
        self.write_catalog(|c| {
            lock_tenant(c, tenant)?;
            let mut q = Sql::new("SELECT name FROM configurations WHERE tenant_id = ");
            q.text(tenant).push(" AND id = ").text(id);
            let name = c
                .first::<NameRow>(&q)?
                .ok_or_else(|| ScimError::not_found("Configuration not found"))?
                .name;
            set_default(c, tenant, id)?;
            Ok(name)
        })
    }

    /// Deletes a configuration (its roles go with it). If it was the default, the oldest
    /// remaining configuration becomes the default. Returns the deleted configuration's name.
    /// Users keep what was applied to them.
    pub fn delete_configuration(&self, tenant: &str, id: &str) -> ScimResult<String> {
        self.write_catalog(|c| {
            lock_tenant(c, tenant)?;
            let mut cond = Sql::new("c.id = ");
            cond.text(id);
            let current = load_configurations(c, tenant, Some(&cond))?
                .into_iter()
                .next()
                .ok_or_else(|| ScimError::not_found("Configuration not found"))?;
            let mut q = Sql::new("DELETE FROM configuration_roles WHERE tenant_id = ");
            q.text(tenant).push(" AND configuration_id = ").text(id);
            c.execute(&q)?;
            let mut q = Sql::new("DELETE FROM configurations WHERE tenant_id = ");
            q.text(tenant).push(" AND id = ").text(id);
            c.execute(&q)?;
            if current.is_default {
                if let Some(next) = load_configurations(c, tenant, None)?.into_iter().next() {
                    set_default(c, tenant, &next.id)?;
                }
            }
            Ok(current.name)
        })
    }

    /// The configuration a new user gets: the one whose filter equals the user's
    /// `configurationFilter` (ignoring case), else the tenant's default, else none.
    pub fn configuration_for_user(
        &self,
        tenant: &str,
        configuration_filter: Option<&str>,
    ) -> ScimResult<Option<AppliedConfiguration>> {
        let folded = configuration_filter.map(fold).filter(|f| !f.is_empty());
        let found = match self.configuration_cache.get(tenant, Instant::now()) {
            Ok(found) => found,
            Err(generation) => {
                let records = self.read(|c| load_configurations(c, tenant, None))?;
                let found = Arc::new(TenantConfigurations::new(records.into_iter().map(|r| {
                    let applied = r.applied();
                    (r.filter.as_deref().map(fold), r.is_default, applied)
                })));
                self.configuration_cache.put(
                    tenant.to_string(),
                    generation,
                    found.clone(),
                    Instant::now(),
                );
                found
            }
        };
        Ok(found.for_user(folded.as_deref()).cloned())
    }

    /// A write to the tenant's companies, roles or configurations: what a new user is
    /// given may change, so the configuration cache forgets what it holds once it is done.
    fn write_catalog<R>(&self, f: impl FnOnce(&mut Conn<'_>) -> ScimResult<R>) -> ScimResult<R> {
        let result = self.write(f);
        self.configuration_cache.clear();
        result
    }
}

/// A unique-index violation on a name, said in words.
fn duplicate_name(e: ScimError, catalog: Catalog, name: &str) -> ScimError {
    if e.status == 409 {
        ScimError::uniqueness(format!("{} \"{name}\" already exists", catalog.noun()))
    } else {
        e
    }
}
