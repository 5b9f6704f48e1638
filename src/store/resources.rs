//! Users and Groups: rows, side tables (emails), memberships. Every statement is scoped by
//! `tenant_id`; every write runs in one transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::row::{NamedRow, Row};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;
use serde_json::Value;

use super::filter_sql::{fold, format_timestamp, order_by, FilterCompiler};
use super::sql::{Count, Fixed, Sql, IN_LIST_MAX};
use super::{Conn, Dialect, Store};
use crate::error::{ScimError, ScimResult};
use crate::filter::{AttrPath, AttrTest, CompValue, CompareOp, Filter};
use crate::patch::MemberChange;
use crate::resource::{search_document_text, MemberRef};
use crate::schema::ResourceType;
use crate::store::console::{provisioning_insert, ProvisioningEntry};
use crate::store::page_cursors::{Cursor, CursorKey};

/// A User or Group as stored: the document (without `id`, `meta`, `members`, `groups`)
/// and the metadata the server keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    pub id: String,
    pub created: String,
    pub last_modified: String,
    pub version: i64,
    pub doc: Value,
}

impl StoredResource {
    /// The weak entity tag of this version, `W/"n"`.
    pub fn etag(&self) -> String {
        weak_etag(self.version)
    }
}

/// The weak entity tag of a resource version, `W/"n"`.
fn weak_etag(version: i64) -> String {
    weak_etag_parts(version, &mut itoa::Buffer::new()).concat()
}

/// [`weak_etag`] as its parts, for an answer's text to write escaped (`digits` holds the
/// number's text).
pub fn weak_etag_parts(version: i64, digits: &mut itoa::Buffer) -> [&str; 3] {
    ["W/\"", digits.format(version), "\""]
}

/// A User or Group row with its document still as the stored JSON text: what a read
/// returns before anything needs the document as a value (answers with the default
/// projection are written from the text, see `representation::to_scim_text`).
///
/// Read from the columns [`RESOURCE_COLUMNS`] names, by position ([`Columns`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRow {
    pub id: String,
    pub created: String,
    pub last_modified: String,
    pub version: i64,
    /// The stored document (compact JSON, as written by the store).
    pub doc: String,
}

impl ResourceRow {
    /// The weak entity tag of this version, `W/"n"`.
    pub fn etag(&self) -> String {
        weak_etag(self.version)
    }

    /// The row with its document parsed.
    pub fn into_resource(self) -> ScimResult<StoredResource> {
        let doc = self.parse_doc()?;
        Ok(StoredResource {
            id: self.id,
            created: self.created,
            last_modified: self.last_modified,
            version: self.version,
            doc,
        })
    }

    /// The resource, parsed from the borrowed row (its JSON text is not copied).
    pub fn to_resource(&self) -> ScimResult<StoredResource> {
        Ok(StoredResource {
            id: self.id.clone(),
            created: self.created.clone(),
            last_modified: self.last_modified.clone(),
            version: self.version,
            doc: self.parse_doc()?,
        })
    }

    fn parse_doc(&self) -> ScimResult<Value> {
        serde_json::from_str(&self.doc).map_err(|e| {
            ScimError::internal(format!("stored document {} unreadable: {e}", self.id))
        })
    }
}

/// A row of SQLite's `EXPLAIN QUERY PLAN`.
#[derive(QueryableByName)]
struct SqlitePlanRow {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// A row of PostgreSQL's `EXPLAIN`.
#[derive(QueryableByName)]
struct PgPlanRow {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    plan: String,
}

/// A member of a group, as rendered in `members`.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Member {
    #[diesel(sql_type = Text)]
    pub group_id: String,
    #[diesel(sql_type = Text)]
    pub member_id: String,
    #[diesel(sql_type = Text)]
    pub member_type: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub display: Option<String>,
}

/// The memberships a rendered resource shows: a Group's `members`, a User's `groups`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Related {
    /// Neither (not returned, or excluded).
    Nothing,
    Members,
    Groups,
}

/// Memberships by resource id: members of each group, or groups of each member.
pub type RelatedMap = HashMap<String, Vec<Member>>;

/// What a list request asks for.
#[derive(Debug, Clone, Default)]
pub struct ListQuery<'a> {
    pub filter: Option<&'a Filter>,
    pub sort_by: Option<&'a AttrPath>,
    pub descending: bool,
    /// 1-based.
    pub start_index: i64,
    pub count: i64,
}

/// One page of a list (of parsed resources, or of rows).
#[derive(Debug, Clone)]
pub struct ListPage<R = StoredResource> {
    pub total: i64,
    pub resources: Vec<R>,
}

/// Who is writing, for the provisioning-log row written in the same transaction as a
/// successful write.
#[derive(Debug, Clone)]
pub struct WriteLog {
    pub method: String,
    pub token_name: String,
    /// The status the client will see on success.
    pub status: u16,
}

impl WriteLog {
    /// The log row of a write of resource `id`, named by its `userName` / `displayName`.
    fn entry(
        &self,
        rt: &ResourceType,
        id: &str,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> ProvisioningEntry {
        ProvisioningEntry::new(
            &self.method,
            Some(rt.name),
            Some(id),
            name,
            Some(&self.token_name),
            self.status,
            None,
            now,
        )
    }
}

/// The attribute that names a resource and is unique in its tenant (case-insensitively):
/// a User's `userName`, a Group's `displayName`.
fn unique_attribute(rt: &ResourceType) -> &'static str {
    if rt.name == "User" {
        "userName"
    } else {
        "displayName"
    }
}

/// The folded name a list query looks up when it is a lookup by the type's unique name
/// (`filter=userName eq "…"` on Users, `displayName eq "…"` on Groups, the first page): it
/// matches at most one resource, the one whose `unique_name` column holds that name.
fn unique_lookup(rt: &ResourceType, q: &ListQuery<'_>) -> Option<String> {
    if q.sort_by.is_some() || q.start_index > 1 || q.count < 1 {
        return None;
    }
    let Some(Filter::Attr {
        path,
        test: AttrTest::Compare(CompareOp::Eq, CompValue::String(value)),
    }) = q.filter
    else {
        return None;
    };
    let attr = crate::filter::eval::resolve(path, rt)?;
    let unique =
        attr.extension.is_none() && attr.sub.is_none() && attr.attr.name == unique_attribute(rt);
    unique.then(|| fold(value))
}

/// A resource's unique name as its document spells it.
fn unique_name_of<'a>(rt: &ResourceType, doc: &'a Value) -> Option<&'a str> {
    doc.get(unique_attribute(rt)).and_then(Value::as_str)
}

/// The conditions and bookkeeping of an update or delete, owned (a write that owns what it
/// needs takes it along to the writer thread).
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// `If-Match` as the client sent it.
    pub if_match: Option<String>,
    pub now: DateTime<Utc>,
    pub log: Option<WriteLog>,
}

impl WriteOptions {
    /// `If-Match`, time and log entry, borrowed.
    fn parts(&self) -> (Option<&str>, DateTime<Utc>, Option<&WriteLog>) {
        (self.if_match.as_deref(), self.now, self.log.as_ref())
    }
}

/// What an update does: a new document (or none when only memberships change) and the
/// membership changes, in order.
#[derive(Debug, Default)]
pub struct Update {
    pub doc: Option<Value>,
    pub members: Vec<MemberChange>,
}

/// The columns of a [`ResourceRow`], in the order its [`Columns::at`] reads them.
const RESOURCE_COLUMNS: &str = "r.id, r.created, r.last_modified, r.version, r.doc";

/// How many columns [`RESOURCE_COLUMNS`] names.
const RESOURCE_COLUMN_COUNT: usize = 5;

/// A row that reads back what a read selected, by position: its columns from `at` on.
/// The rows a read returns most are decoded this way: diesel's derive finds each column by
/// name, comparing it with the statement's column names in turn (~2.5 k instructions per
/// row of five, under callgrind).
trait Columns<DB: Backend>: Sized {
    fn at<'a>(row: &impl Row<'a, DB>, at: usize) -> deserialize::Result<Self>;
}

impl<DB: Backend> Columns<DB> for ResourceRow
where
    String: FromSql<Text, DB>,
    i64: FromSql<BigInt, DB>,
{
    /// The columns of [`RESOURCE_COLUMNS`].
    fn at<'a>(row: &impl Row<'a, DB>, at: usize) -> deserialize::Result<Self> {
        Ok(ResourceRow {
            id: row.get_value::<Text, _, _>(at)?,
            created: row.get_value::<Text, _, _>(at + 1)?,
            last_modified: row.get_value::<Text, _, _>(at + 2)?,
            version: row.get_value::<BigInt, _, _>(at + 3)?,
            doc: row.get_value::<Text, _, _>(at + 4)?,
        })
    }
}

impl<DB: Backend> Columns<DB> for RelatedRow
where
    String: FromSql<Text, DB>,
    i64: FromSql<BigInt, DB>,
{
    /// A [`ResourceRow`]'s columns, then [`related_json_column`].
    fn at<'a>(row: &impl Row<'a, DB>, at: usize) -> deserialize::Result<Self> {
        Ok(RelatedRow {
            resource: ResourceRow::at(row, at)?,
            related: row.get_value::<Nullable<Text>, _, _>(at + RESOURCE_COLUMN_COUNT)?,
        })
    }
}

impl<DB: Backend, T: Columns<DB>> Columns<DB> for Typed<T>
where
    String: FromSql<Text, DB>,
{
    /// `resource_type`, then `T`'s columns.
    fn at<'a>(row: &impl Row<'a, DB>, at: usize) -> deserialize::Result<Self> {
        Ok(Typed {
            resource_type: row.get_value::<Text, _, _>(at)?,
            row: T::at(row, at + 1)?,
        })
    }
}

/// The rows a statement returns, read by position from its first column on. (One impl per
/// type: diesel's trait is not ours to implement for every [`Columns`].)
macro_rules! queryable_by_position {
    ($($t:ty),*) => {$(
        impl<DB: Backend> QueryableByName<DB> for $t
        where
            $t: Columns<DB>,
        {
            fn build<'a>(row: &impl NamedRow<'a, DB>) -> deserialize::Result<Self> {
                <$t as Columns<DB>>::at(row, 0)
            }
        }
    )*};
}
queryable_by_position!(
    ResourceRow,
    RelatedRow,
    Typed<ResourceRow>,
    Typed<RelatedRow>
);

/// Parses an `If-Match` value (`W/"3"`, `"3"`, `*`, or a list) against a version.
pub fn if_match_allows(if_match: &str, version: i64) -> bool {
    if_match.split(',').map(str::trim).any(|tag| {
        tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == version.to_string()
    })
}

/// The write of [`Store::members_update`]: the group's version and name (locked on
/// PostgreSQL), `If-Match`, the memberships, then `meta` (when something changed) and the
/// log. Returns the new ETag.
fn write_members(
    c: &mut Conn<'_>,
    tenant: &str,
    rt: &ResourceType,
    id: &str,
    changes: &[MemberChange],
    opts: &WriteOptions,
) -> ScimResult<String> {
    let (if_match, now, log) = opts.parts();
    let head = select_head(c, tenant, rt, id, true)?.ok_or_else(|| not_found(rt, id))?;
    check_if_match(if_match, head.version)?;
    let name = head.display_name.as_deref();
    let log = log.map(|log| provisioning_insert(tenant, &log.entry(rt, id, name, now)));
    let ts = format_timestamp(now);
    if let Some(changed) = write_one_membership_change(c, tenant, id, changes, &ts, log.as_ref())? {
        return Ok(weak_etag(head.version + i64::from(changed)));
    }
    let changed = write_member_changes(c, tenant, rt, id, changes)?;
    let mut statements = Vec::with_capacity(2);
    if changed {
        statements.push(resource_update(tenant, id, None, &ts));
    }
    statements.extend(log);
    c.execute_all(statements)?;
    Ok(weak_etag(head.version + i64::from(changed)))
}

/// PostgreSQL, one add or remove of at most [`IN_LIST_MAX`] members (Entra's member PATCH):
/// the membership change, the group's `meta` moved on when it changed a row, and the
/// provisioning log, as one statement (data-modifying `WITH`). Written one after the other
/// they were three round trips, each made while holding the group's row lock, which every
/// other PATCH of that group waits for. Whether a membership changed, or `None` when the
/// change is not of that kind (or on SQLite, which writes them one by one in its turn).
fn write_one_membership_change(
    c: &mut Conn<'_>,
    tenant: &str,
    id: &str,
    changes: &[MemberChange],
    ts: &str,
    log: Option<&Sql>,
) -> ScimResult<Option<bool>> {
    if !matches!(c, Conn::Postgres(_)) {
        return Ok(None);
    }
    let (ids, adding) = match changes {
        [MemberChange::Add(members)] => (ids_to_add(id, members)?, true),
        [MemberChange::Remove(ids)] => (distinct(ids.iter().map(String::as_str)), false),
        _ => return Ok(None),
    };
    if ids.len() > IN_LIST_MAX {
        return Ok(None);
    }
    let membership = if adding {
        member_insert(tenant, id, &ids)
    } else {
        member_delete(tenant, id, Some(&ids))
    };
    let mut q = Sql::new("WITH m AS (");
    q.append(membership)
        .push(" RETURNING 1), u AS (")
        .append(resource_update(tenant, id, None, ts))
        .push(" AND EXISTS (SELECT 1 FROM m))");
    if let Some(log) = log {
        q.push(", l AS (").append(log.clone()).push(")");
    }
    q.push(" SELECT COUNT(*) AS n FROM m").shaped_by_input();
    let n = c.first::<Count>(&q)?.map_or(0, |r| r.n) as usize;
    if adding && n < ids.len() {
        // Some were members already, or are unknown (a 400 that rolls all of it back).
        check_members_known(c, tenant, &ids)?;
    }
    Ok(Some(n > 0))
}

/// A create worked out ([`Store::plan_create`]).
struct PlannedCreate {
    row: ResourceRow,
    /// The resource's row and its side rows.
    rows: Vec<Sql>,
    /// The count and the provisioning log (after the members, when there are some).
    tail: Vec<Sql>,
}

/// The indexed values a document carries.
struct Indexed {
    unique_name: String,
    display_name: Option<String>,
    external_id: Option<String>,
    emails: Vec<(Option<String>, Option<String>, bool)>,
}

/// A stored document's JSON text. `serde_json::to_string` writes into a byte buffer;
/// `Value`'s `Display` (`doc.to_string()`) goes through `fmt::Formatter` one token at a time,
/// about twice the work (callgrind). Serialising a `Value` cannot fail (its keys are strings).
fn json_text(doc: &Value) -> String {
    serde_json::to_string(doc).unwrap_or_else(|_| doc.to_string())
}

fn indexed(rt: &ResourceType, doc: &Value) -> ScimResult<Indexed> {
    let unique_attr = unique_attribute(rt);
    let unique_name = unique_name_of(rt, doc)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ScimError::invalid_value(format!("'{unique_attr}' is required")))?;
    let emails = doc
        .get("emails")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|e| {
                    (
                        e.get("type").and_then(Value::as_str).map(fold),
                        e.get("value").and_then(Value::as_str).map(fold),
                        e.get("primary").and_then(Value::as_bool).unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Indexed {
        unique_name: fold(unique_name),
        display_name: doc
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_string),
        external_id: doc
            .get("externalId")
            .and_then(Value::as_str)
            .map(str::to_string),
        emails,
    })
}

fn select_one(
    conn: &mut Conn<'_>,
    tenant: &str,
    rt: &ResourceType,
    id: &str,
    lock: bool,
) -> ScimResult<Option<StoredResource>> {
    select_row(conn, tenant, rt, id, lock)?
        .map(ResourceRow::into_resource)
        .transpose()
}

fn select_row(
    conn: &mut Conn<'_>,
    tenant: &str,
    rt: &ResourceType,
    id: &str,
    lock: bool,
) -> ScimResult<Option<ResourceRow>> {
    // By the whole primary key only (the type is checked here): a planner without
    // statistics would otherwise pick an index that leads with (tenant, type).
    let mut q = Sql::new("SELECT r.resource_type, ");
    q.push(RESOURCE_COLUMNS)
        .push(" FROM resources r WHERE r.tenant_id = ")
        .text(tenant)
        .push(" AND r.id = ")
        .text(id);
    if lock {
        q.push(conn.dialect().for_update())
            .fixed(Fixed::RowSelectLocked);
    } else {
        q.fixed(Fixed::RowSelect);
    }
    Ok(conn
        .first::<Typed<ResourceRow>>(&q)?
        .filter(|t| t.resource_type == rt.name)
        .map(|t| t.row))
}

/// A row after its resource's `resource_type` column.
struct Typed<T> {
    resource_type: String,
    row: T,
}

/// A resource's version and display name, without its document.
#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = Text)]
    resource_type: String,
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = Nullable<Text>)]
    display_name: Option<String>,
}

/// The [`Head`] of a resource of type `rt` (locked on PostgreSQL when `lock`).
fn select_head(
    conn: &mut Conn<'_>,
    tenant: &str,
    rt: &ResourceType,
    id: &str,
    lock: bool,
) -> ScimResult<Option<Head>> {
    let mut q = Sql::new(
        "SELECT r.resource_type, r.version, r.display_name FROM resources r WHERE r.tenant_id = ",
    );
    q.text(tenant).push(" AND r.id = ").text(id);
    if lock {
        q.push(conn.dialect().for_update())
            .fixed(Fixed::HeadSelectLocked);
    } else {
        q.fixed(Fixed::HeadSelect);
    }
    Ok(conn
        .first::<Head>(&q)?
        .filter(|h| h.resource_type == rt.name))
}

/// A write's 404.
fn not_found(rt: &ResourceType, id: &str) -> ScimError {
    ScimError::not_found(format!("{} {id} not found", rt.name))
}

/// A write's `If-Match` against the resource's current version: 412 when it does not match.
fn check_if_match(if_match: Option<&str>, version: i64) -> ScimResult<()> {
    match if_match {
        Some(tag) if !if_match_allows(tag, version) => {
            Err(ScimError::precondition_failed(format!(
                "version mismatch: the resource is at {}",
                weak_etag(version)
            )))
        }
        _ => Ok(()),
    }
}

/// An update worked out against one version of a resource (`current`): what the write
/// turn stores while the resource is still at that version.
struct PlannedUpdate {
    current: ResourceRow,
    /// The new document, when it differs from the current one.
    doc: Option<NewDocument>,
    /// The name the provisioning log shows (`userName` / `displayName` after the update).
    name: Option<String>,
    members: Vec<MemberChange>,
}

/// A changed document, serialised, with its indexed values.
struct NewDocument {
    text: String,
    search: String,
    idx: Indexed,
    emails_changed: bool,
    /// Whether the indexed names (`unique_name`, `external_id`) changed: SQLite rewrites
    /// the index entries of every column an UPDATE sets, even to the value it had.
    names_changed: bool,
    /// Whether `displayName` changed: the name other resources' memberships show.
    display_changed: bool,
}

fn plan_update(
    rt: &ResourceType,
    row: ResourceRow,
    change: &impl Fn(&StoredResource) -> ScimResult<Update>,
) -> ScimResult<PlannedUpdate> {
    let parsed = row.to_resource()?;
    let update = change(&parsed)?;
    let doc = match update.doc {
        Some(doc) if doc != parsed.doc => {
            let idx = indexed(rt, &doc)?;
            Some((doc, idx))
        }
        _ => None,
    };
    let shown = doc.as_ref().map_or(&parsed.doc, |(d, _)| d);
    let name = unique_name_of(rt, shown).map(str::to_string);
    let doc = match doc {
        Some((doc, idx)) => {
            let old = indexed(rt, &parsed.doc)?;
            Some(NewDocument {
                text: json_text(&doc),
                search: search_document_text(&doc, rt),
                emails_changed: old.emails != idx.emails,
                names_changed: old.unique_name != idx.unique_name
                    || old.external_id != idx.external_id,
                display_changed: old.display_name != idx.display_name,
                idx,
            })
        }
        None => None,
    };
    Ok(PlannedUpdate {
        current: row,
        doc,
        name,
        members: update.members,
    })
}

/// The write turn of an update: the early plan when the resource is still at the version
/// it was worked out against, else the update worked out again on the current version
/// (read under a row lock on PostgreSQL); then `If-Match`, then the store. Returns the
/// resource as stored and whether memberships, or the name they show, changed.
fn write_update(
    c: &mut Conn<'_>,
    tenant: &str,
    rt: &ResourceType,
    id: &str,
    early: Option<PlannedUpdate>,
    change: &impl Fn(&StoredResource) -> ScimResult<Update>,
    opts: &WriteOptions,
) -> ScimResult<(ResourceRow, bool)> {
    let (if_match, now, log) = opts.parts();
    let plan = match early {
        Some(plan)
            if select_head(c, tenant, rt, id, false)?.map(|h| h.version)
                == Some(plan.current.version) =>
        {
            plan
        }
        _ => {
            let row = select_row(c, tenant, rt, id, true)?.ok_or_else(|| not_found(rt, id))?;
            plan_update(rt, row, change)?
        }
    };
    check_if_match(if_match, plan.current.version)?;
    store_update(c, tenant, rt, plan, now, log)
}

/// A delete's write: the resource (locked on PostgreSQL) for `If-Match`, then its
/// memberships, side rows, count and row, and the provisioning log.
fn delete_resource(
    c: &mut Conn<'_>,
    tenant: &str,
    rt: &ResourceType,
    id: &str,
    opts: &WriteOptions,
) -> ScimResult<()> {
    let (if_match, now, log) = opts.parts();
    let current = select_one(c, tenant, rt, id, true)?.ok_or_else(|| not_found(rt, id))?;
    check_if_match(if_match, current.version)?;
    let mut members = Sql::new("DELETE FROM members WHERE tenant_id = ");
    members
        .text(tenant)
        .push(" AND (group_id = ")
        .text(id)
        .push(" OR member_id = ")
        .text(id)
        .push(")");
    let mut values = Sql::new("DELETE FROM resource_values WHERE tenant_id = ");
    values.text(tenant).push(" AND resource_id = ").text(id);
    let mut resource = Sql::new("DELETE FROM resources WHERE tenant_id = ");
    resource.text(tenant).push(" AND id = ").text(id);
    let mut statements = vec![
        members,
        values,
        count_statement(c.dialect(), tenant, rt, id, -1),
        resource,
    ];
    if let Some(log) = log {
        let entry = log.entry(rt, id, unique_name_of(rt, &current.doc), now);
        statements.push(provisioning_insert(tenant, &entry));
    }
    // One round trip on PostgreSQL (the row is locked above).
    c.execute_all(statements)
}

/// Writes a planned update (in the write transaction that checked its version): the
/// resource as stored, and whether memberships, or the name they show, changed.
fn store_update(
    c: &mut Conn<'_>,
    tenant: &str,
    rt: &ResourceType,
    plan: PlannedUpdate,
    now: DateTime<Utc>,
    log: Option<&WriteLog>,
) -> ScimResult<(ResourceRow, bool)> {
    let PlannedUpdate {
        current,
        doc,
        name,
        members,
    } = plan;
    let id = current.id.as_str();
    let memberships_changed = write_member_changes(c, tenant, rt, id, &members)?;
    let shown_elsewhere = memberships_changed || doc.as_ref().is_some_and(|d| d.display_changed);
    let changed = memberships_changed || doc.is_some();
    let log = log.map(|log| provisioning_insert(tenant, &log.entry(rt, id, name.as_deref(), now)));
    if !changed {
        c.execute_all(log.into_iter().collect())?;
        return Ok((current, false));
    }
    let ts = format_timestamp(now);
    let mut statements = vec![resource_update(tenant, id, doc.as_ref(), &ts)];
    // The side rows only when the emails changed (not on every displayName PATCH).
    if let Some(new) = doc.as_ref().filter(|d| d.emails_changed) {
        statements.extend(email_statements(tenant, id, &new.idx, true));
    }
    statements.extend(log);
    c.execute_all(statements)?;
    let row = ResourceRow {
        version: current.version + 1,
        last_modified: ts,
        doc: doc.map_or(current.doc, |d| d.text),
        id: current.id,
        created: current.created,
    };
    Ok((row, shown_elsewhere))
}

/// Applies membership changes to group `id`, in order; whether any membership changed.
fn write_member_changes(
    c: &mut Conn<'_>,
    tenant: &str,
    rt: &ResourceType,
    id: &str,
    changes: &[MemberChange],
) -> ScimResult<bool> {
    let mut changed = false;
    for mc in changes {
        let n = match mc {
            MemberChange::Add(list) => add_members(c, tenant, id, list)?,
            MemberChange::Remove(ids) => remove_members(c, tenant, id, Some(ids))?,
            MemberChange::RemoveAll => remove_members(c, tenant, id, None)?,
            MemberChange::ReplaceAll(list) => {
                remove_members(c, tenant, id, None)? + add_members(c, tenant, id, list)?
            }
            MemberChange::RemoveMatching(filter) => {
                let members = load_members(c, tenant, &[id.to_string()])?;
                let attr = rt
                    .core_attribute("members")
                    .ok_or_else(|| ScimError::invalid_path("no members attribute"))?;
                let ids: Vec<String> = members
                    .into_iter()
                    .filter(|m| {
                        let element = serde_json::json!({
                            "value": m.member_id,
                            "type": m.member_type,
                            "display": m.display,
                        });
                        crate::filter::eval::matches_element(filter, &element, attr)
                    })
                    .map(|m| m.member_id)
                    .collect();
                remove_members(c, tenant, id, Some(&ids))?
            }
        };
        changed |= n > 0;
    }
    Ok(changed)
}

/// The UPDATE of a changed resource: its new document (if any) and `meta` moved on. A
/// members-only change (a group member add/remove) moves only `meta`: the document and its
/// indexed values stay. The indexed names are set only when they changed: SQLite rewrites
/// an index's entry for every column in the SET list, changed or not, and on a large
/// tenant each is a page at a random place, read and written (docs/performance.md,
/// Finding 12).
fn resource_update(tenant: &str, id: &str, doc: Option<&NewDocument>, ts: &str) -> Sql {
    let mut q = Sql::new("UPDATE resources SET ");
    if let Some(new) = doc {
        if new.names_changed {
            q.push("unique_name = ")
                .text(new.idx.unique_name.as_str())
                .push(", external_id = ")
                .opt_text(new.idx.external_id.clone())
                .push(", ");
        }
        q.push("display_name = ")
            .opt_text(new.idx.display_name.clone())
            .push(", doc = ")
            .text(new.text.as_str())
            .push(", search_doc = ")
            .text(new.search.as_str())
            .push(", ");
    }
    q.push("last_modified = ")
        .text(ts)
        .push(", version = version + 1 WHERE tenant_id = ")
        .text(tenant)
        .push(" AND id = ")
        .text(id)
        .fixed(match doc {
            Some(new) if new.names_changed => Fixed::DocumentAndNamesUpdate,
            Some(_) => Fixed::DocumentUpdate,
            None => Fixed::MetaUpdate,
        });
    q
}

/// The statements that write a resource's email side rows; `replace` deletes the old ones
/// first (an update; a new resource has none).
fn email_statements(tenant: &str, id: &str, idx: &Indexed, replace: bool) -> Vec<Sql> {
    let mut statements = Vec::with_capacity(idx.emails.len() + 1);
    if replace {
        let mut del = Sql::new("DELETE FROM resource_values WHERE tenant_id = ");
        del.text(tenant).push(" AND resource_id = ").text(id);
        statements.push(del);
    }
    for (value_type, value, primary) in &idx.emails {
        let mut ins = Sql::new(
            "INSERT INTO resource_values (tenant_id, resource_id, attribute, value_type, value, is_primary) VALUES (",
        );
        ins.text(tenant)
            .push(", ")
            .text(id)
            .push(", 'emails', ")
            .opt_text(value_type.clone())
            .push(", ")
            .opt_text(value.clone())
            .push(", ")
            .int(i64::from(*primary))
            .push(")")
            .fixed(Fixed::ValueInsert);
        statements.push(ins);
    }
    statements
}

/// Whether a page at `offset` is read with a deferred join (the ids of the page first, from
/// the index, then their documents) rather than one plain query.
///
/// PostgreSQL reads the heap row of every row it skips, so past the first page the join
/// is cheaper. SQLite already skips offset rows on the index alone (it seeks the table row
/// only for a returned row), and the join's IN list costs it a temporary b-tree and a sort
/// (half of a `userName eq` lookup); measured on 200 000 rows (Python's sqlite3, 2026-11-29),
/// plain vs deferred: offset 0 278 vs 588 µs, 5 000 985 vs 1 044 µs, 50 000 5.4 vs 6.4 ms,
/// 150 000 15.9 vs 12.1 ms.
fn deferred_join(dialect: Dialect, offset: i64) -> bool {
    match dialect {
        Dialect::Postgres => offset > 0,
        Dialect::Sqlite => offset > 50_000,
    }
}

/// The total of a list when its page already shows it: a page that is not full and is not
/// past the end holds the last match (`userName eq` lookups are answered with one query).
fn known_total(q: &ListQuery<'_>, fetched: usize) -> Option<i64> {
    let fetched = fetched as i64;
    let start = q.start_index.max(1);
    (q.count > 0 && fetched < q.count && (fetched > 0 || start == 1)).then_some(start - 1 + fetched)
}

/// The query for a list's total: the count kept with every create and delete when the
/// list is unfiltered, else `COUNT(*)` over `cond` (the list's `FROM … WHERE …`).
fn count_query(tenant: &str, rt: &ResourceType, filtered: bool, cond: Sql) -> Sql {
    if filtered {
        let mut count = Sql::new("SELECT COUNT(*) AS n");
        count.append(cond);
        count
    } else {
        // The count of older versions (and of every resource before the shards) plus the
        // shards (see `count_statement`).
        let mut count = Sql::new(
            "SELECT CAST((SELECT COALESCE(SUM(n), 0) FROM resource_counts WHERE tenant_id = ",
        );
        count
            .text(tenant)
            .push(" AND resource_type = ")
            .text(rt.name)
            .push(") + (SELECT COALESCE(SUM(n), 0) FROM resource_count_shards WHERE tenant_id = ")
            .text(tenant)
            .push(" AND resource_type = ")
            .text(rt.name)
            .push(") AS BIGINT) AS n");
        count
    }
}

/// The statement that keeps a tenant's count in step with a create (+1) or delete (-1) of
/// resource `id`: one of its rows in `resource_count_shards` (migration 000005; versions
/// before it kept one row in `resource_counts`, which still counts).
fn count_statement(dialect: Dialect, tenant: &str, rt: &ResourceType, id: &str, delta: i64) -> Sql {
    let mut q =
        Sql::new("INSERT INTO resource_count_shards (tenant_id, resource_type, shard, n) VALUES (");
    q.text(tenant)
        .push(", ")
        .text(rt.name)
        .push(", ")
        .int(count_shard(dialect, id))
        .push(", ")
        .int(delta)
        .push(
            ") ON CONFLICT (tenant_id, resource_type, shard) DO UPDATE SET n = resource_count_shards.n + ",
        )
        .int(delta)
        .fixed(Fixed::CountShard);
    q
}

/// The `resource_count_shards` row a create or delete of `id` moves. PostgreSQL keeps 16 per
/// tenant and type, chosen by the last hex digit of the id (random in ids of version 4 and
/// 7; a version 7 id's first digits are its time), so that concurrent
/// creates do not queue on one row lock held until their commit. The count is the rows'
/// sum, so a delete need not move the row its create moved (ids created before the last
/// digit chose the row were counted under their first). SQLite runs one write transaction
/// at a time: one row.
fn count_shard(dialect: Dialect, id: &str) -> i64 {
    match dialect {
        Dialect::Sqlite => 0,
        Dialect::Postgres => id
            .chars()
            .next_back()
            .and_then(|c| c.to_digit(16))
            .map_or(0, i64::from),
    }
}

/// Each id once, in the order given.
fn distinct<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    ids.into_iter().filter(|id| seen.insert(*id)).collect()
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Adds `members` to the group; returns how many were new. One statement per
/// [`IN_LIST_MAX`] ids, and a second one only when some of them were not added, to tell
/// members already there from unknown ids: an unknown id is a 400 (the caller's transaction
/// then writes nothing).
fn add_members(
    conn: &mut Conn<'_>,
    tenant: &str,
    group_id: &str,
    members: &[MemberRef],
) -> ScimResult<usize> {
    let ids = ids_to_add(group_id, members)?;
    let mut added = 0;
    for chunk in ids.chunks(IN_LIST_MAX) {
        let n = conn.execute(&member_insert(tenant, group_id, chunk))?;
        if n < chunk.len() {
            check_members_known(conn, tenant, chunk)?;
        }
        added += n;
    }
    Ok(added)
}

/// The distinct ids of `members`; a group naming itself is a 400.
fn ids_to_add<'a>(group_id: &str, members: &'a [MemberRef]) -> ScimResult<Vec<&'a str>> {
    if members.iter().any(|m| m.value == group_id) {
        return Err(ScimError::invalid_value(
            "a group cannot be a member of itself",
        ));
    }
    Ok(distinct(members.iter().map(|m| m.value.as_str())))
}

/// Inserts the resources `ids` of the tenant as members of the group; ids that are
/// already members, or name nothing, insert no row.
fn member_insert(tenant: &str, group_id: &str, ids: &[&str]) -> Sql {
    let mut q = Sql::new(
        "INSERT INTO members (tenant_id, group_id, member_id, member_type) SELECT r.tenant_id, ",
    );
    q.text(group_id)
        .push(", r.id, r.resource_type FROM resources r WHERE r.tenant_id = ")
        .text(tenant)
        .push(" AND r.id")
        .in_list(ids)
        .push(" ON CONFLICT DO NOTHING");
    q
}

/// A 400 naming the first of `ids` that is not a resource of the tenant.
fn check_members_known(conn: &mut Conn<'_>, tenant: &str, ids: &[&str]) -> ScimResult<()> {
    let mut known = Sql::new("SELECT r.id FROM resources r WHERE r.tenant_id = ");
    known.text(tenant).push(" AND r.id").in_list(ids);
    let found: HashSet<String> = conn
        .load::<IdRow>(&known)?
        .into_iter()
        .map(|r| r.id)
        .collect();
    match ids.iter().find(|id| !found.contains(**id)) {
        Some(unknown) => Err(ScimError::invalid_value(format!(
            "member '{unknown}' is not a User or Group of this tenant"
        ))),
        None => Ok(()),
    }
}

/// Removes the members `ids` (all members when `None`) from the group; returns how many.
fn remove_members(
    conn: &mut Conn<'_>,
    tenant: &str,
    group_id: &str,
    ids: Option<&[String]>,
) -> ScimResult<usize> {
    let Some(ids) = ids else {
        return conn.execute(&member_delete(tenant, group_id, None));
    };
    let mut removed = 0;
    for chunk in distinct(ids.iter().map(String::as_str)).chunks(IN_LIST_MAX) {
        removed += conn.execute(&member_delete(tenant, group_id, Some(chunk)))?;
    }
    Ok(removed)
}

/// Deletes the members `ids` (all members when `None`) of the group.
fn member_delete(tenant: &str, group_id: &str, ids: Option<&[&str]>) -> Sql {
    let mut q = Sql::new("DELETE FROM members WHERE tenant_id = ");
    q.text(tenant).push(" AND group_id = ").text(group_id);
    if let Some(ids) = ids {
        q.push(" AND member_id").in_list(ids);
    }
    q
}

fn load_members(
    conn: &mut Conn<'_>,
    tenant: &str,
    group_ids: &[String],
) -> ScimResult<Vec<Member>> {
    load_memberships(conn, tenant, group_ids, Direction::MembersOfGroups)
}

/// Which side of the membership table a lookup starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Members of the given groups, with each member's display name.
    MembersOfGroups,
    /// Groups of the given members, with each group's display name.
    GroupsOfMembers,
}

impl Direction {
    /// The lookup that shows `related`, if anything is shown.
    fn of(related: Related) -> Option<Direction> {
        match related {
            Related::Nothing => None,
            Related::Members => Some(Direction::MembersOfGroups),
            Related::Groups => Some(Direction::GroupsOfMembers),
        }
    }

    /// The columns of `members m`: (the side joined for its display name, the side the
    /// lookup starts from).
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Direction::MembersOfGroups => ("m.member_id", "m.group_id"),
            Direction::GroupsOfMembers => ("m.group_id", "m.member_id"),
        }
    }

    /// The id a membership is found under (the side the lookup starts from).
    fn key(self, m: &Member) -> &String {
        match self {
            Direction::MembersOfGroups => &m.group_id,
            Direction::GroupsOfMembers => &m.member_id,
        }
    }
}

fn load_memberships(
    conn: &mut Conn<'_>,
    tenant: &str,
    ids: &[String],
    direction: Direction,
) -> ScimResult<Vec<Member>> {
    let (joined, key) = direction.columns();
    let mut all = Vec::new();
    for chunk in ids.chunks(IN_LIST_MAX) {
        let mut q = Sql::new(
            "SELECT m.group_id, m.member_id, m.member_type, r.display_name AS display FROM members m \
             JOIN resources r ON r.tenant_id = m.tenant_id AND r.id = ",
        );
        q.push(joined)
            .push(" WHERE m.tenant_id = ")
            .text(tenant)
            .push(" AND ")
            .push(key)
            .in_list(chunk)
            .push(" ORDER BY ")
            .push(key)
            .push(", ")
            .push(joined);
        all.extend(conn.load::<Member>(&q)?);
    }
    Ok(all)
}

/// The memberships `related` names of the resources `ids`, by resource id.
fn load_related(
    conn: &mut Conn<'_>,
    tenant: &str,
    related: Related,
    ids: &[String],
) -> ScimResult<RelatedMap> {
    let mut map = RelatedMap::new();
    let Some(direction) = Direction::of(related).filter(|_| !ids.is_empty()) else {
        return Ok(map);
    };
    for m in load_memberships(conn, tenant, ids, direction)? {
        map.entry(direction.key(&m).clone()).or_default().push(m);
    }
    Ok(map)
}

/// A select-list column with the memberships of the outer query's resource `r` as JSON
/// text (`[[group_id, member_id, member_type, display], …]`, ordered as
/// [`load_memberships`] orders them), so that a resource and its memberships come in one
/// statement: one round trip on PostgreSQL, and on SQLite one statement's overhead instead
/// of two (a user's empty `groups` as a second statement was a tenth of a lookup's cost).
/// `None` when nothing is to be shown.
fn related_json_column(dialect: Dialect, related: Related) -> Option<String> {
    let (joined, key) = Direction::of(related)?.columns();
    let aggregate = match dialect {
        Dialect::Postgres => format!(
            "json_agg(json_build_array(m.group_id, m.member_id, m.member_type, o.display_name) \
             ORDER BY {joined})::text"
        ),
        // No ORDER BY in the aggregate: on SQLite it opens a sorter per row, which cost more
        // than the second statement saved; [`parse_related_json`] sorts instead.
        Dialect::Sqlite => {
            "json_group_array(json_array(m.group_id, m.member_id, m.member_type, o.display_name))"
                .to_string()
        }
    };
    Some(format!(
        ", (SELECT {aggregate} FROM members m JOIN resources o ON o.tenant_id = m.tenant_id \
         AND o.id = {joined} WHERE m.tenant_id = r.tenant_id AND {key} = r.id) AS related"
    ))
}

/// The column of [`related_json_column`] as memberships.
fn parse_related_json(text: Option<&str>) -> ScimResult<Vec<Member>> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let tuples: Vec<(String, String, String, Option<String>)> = serde_json::from_str(text)
        .map_err(|e| ScimError::internal(format!("unreadable memberships: {e}")))?;
    let mut members: Vec<Member> = tuples
        .into_iter()
        .map(|(group_id, member_id, member_type, display)| Member {
            group_id,
            member_id,
            member_type,
            display,
        })
        .collect();
    // One resource's memberships: one side is the same in all, so this is
    // `load_memberships`' order (PostgreSQL sends it sorted: one pass to see that).
    members.sort_unstable_by(|a, b| (&a.group_id, &a.member_id).cmp(&(&b.group_id, &b.member_id)));
    Ok(members)
}

/// A resource row with its memberships as JSON text ([`related_json_column`]) after it.
struct RelatedRow {
    resource: ResourceRow,
    related: Option<String>,
}

impl RelatedRow {
    /// The row, and its memberships added to `map` (when it has any).
    fn split(self, map: &mut RelatedMap) -> ScimResult<ResourceRow> {
        let members = parse_related_json(self.related.as_deref())?;
        add_related(map, &self.resource.id, members);
        Ok(self.resource)
    }
}

/// Adds the memberships of resource `id` to `map` (a resource without any has no key).
fn add_related(map: &mut RelatedMap, id: &str, members: Vec<Member>) {
    if !members.is_empty() {
        map.insert(id.to_string(), members);
    }
}

impl Store {
    /// One resource by id.
    pub fn get_resource(
        &self,
        tenant: &str,
        rt: &ResourceType,
        id: &str,
    ) -> ScimResult<Option<StoredResource>> {
        self.read(|c| select_one(c, tenant, rt, id, false))
    }

    /// One resource by id, its document unparsed.
    pub fn get_resource_row(
        &self,
        tenant: &str,
        rt: &ResourceType,
        id: &str,
    ) -> ScimResult<Option<ResourceRow>> {
        self.read(|c| select_row(c, tenant, rt, id, false))
    }

    /// One resource by id, its document unparsed, with the memberships its answer shows:
    /// one statement (on PostgreSQL one round trip).
    pub fn get_resource_row_related(
        &self,
        tenant: &str,
        rt: &ResourceType,
        id: &str,
        related: Related,
    ) -> ScimResult<Option<(Arc<ResourceRow>, RelatedMap)>> {
        Ok(self
            .row_by_id(tenant, rt, id, related)?
            .map(|(row, members)| {
                let mut map = RelatedMap::new();
                add_related(&mut map, &row.id, members);
                (row, map)
            }))
    }

    /// [`Store::get_resource_row_related`] with the memberships as a list: from the
    /// resource cache when it has them (the row shared with it), else read (and kept).
    fn row_by_id(
        &self,
        tenant: &str,
        rt: &ResourceType,
        id: &str,
        related: Related,
    ) -> ScimResult<Option<(Arc<ResourceRow>, Vec<Member>)>> {
        let with_related = related != Related::Nothing;
        let Some(cache) = &self.resource_cache else {
            return Ok(self
                .read_row_by_id(tenant, rt, id, related)?
                .map(|(row, members)| (Arc::new(row), members)));
        };
        let ticket = match cache.get(tenant, rt, id, with_related) {
            Ok((row, members)) => {
                let members = members.map(Arc::unwrap_or_clone).unwrap_or_default();
                return Ok(Some((row, members)));
            }
            Err(ticket) => ticket,
        };
        let found = self
            .read_row_by_id(tenant, rt, id, related)?
            .map(|(row, members)| (Arc::new(row), members));
        if let Some((row, members)) = &found {
            let members = with_related.then_some(members.as_slice());
            cache.keep(ticket, tenant, rt, Arc::clone(row), None, members);
        }
        Ok(found)
    }

    /// One resource by id and the memberships `related` names, read: one statement.
    fn read_row_by_id(
        &self,
        tenant: &str,
        rt: &ResourceType,
        id: &str,
        related: Related,
    ) -> ScimResult<Option<(ResourceRow, Vec<Member>)>> {
        let Some(column) = related_json_column(self.dialect(), related) else {
            return Ok(self
                .get_resource_row(tenant, rt, id)?
                .map(|row| (row, Vec::new())));
        };
        let mut q = Sql::new("SELECT r.resource_type, ");
        q.push(RESOURCE_COLUMNS)
            .push(&column)
            .push(" FROM resources r WHERE r.tenant_id = ")
            .text(tenant)
            .push(" AND r.id = ")
            .text(id)
            .fixed(match related {
                Related::Members => Fixed::RowWithMembersSelect,
                _ => Fixed::RowWithGroupsSelect,
            });
        let Some(typed) = self.read(|c| c.first::<Typed<RelatedRow>>(&q))? else {
            return Ok(None);
        };
        if typed.resource_type != rt.name {
            return Ok(None);
        }
        let members = parse_related_json(typed.row.related.as_deref())?;
        Ok(Some((typed.row.resource, members)))
    }

    /// A filtered, sorted page and the total number of matches.
    pub fn list_resources(
        &self,
        tenant: &str,
        rt: &ResourceType,
        q: &ListQuery<'_>,
    ) -> ScimResult<ListPage> {
        let page = self.list_resource_rows(tenant, rt, q)?;
        Ok(ListPage {
            total: page.total,
            resources: page
                .resources
                .into_iter()
                .map(ResourceRow::into_resource)
                .collect::<ScimResult<_>>()?,
        })
    }

    /// [`Store::list_resources`] with the documents unparsed.
    pub fn list_resource_rows(
        &self,
        tenant: &str,
        rt: &ResourceType,
        q: &ListQuery<'_>,
    ) -> ScimResult<ListPage<ResourceRow>> {
        Ok(self
            .list_resource_rows_related(tenant, rt, q, Related::Nothing)?
            .0)
    }

    /// [`Store::list_resource_rows`] with the memberships the answers show, read on the
    /// same connection (PostgreSQL, filtered lists: in the page's own statement).
    pub fn list_resource_rows_related(
        &self,
        tenant: &str,
        rt: &ResourceType,
        q: &ListQuery<'_>,
        related: Related,
    ) -> ScimResult<(ListPage<ResourceRow>, RelatedMap)> {
        let lookup = self
            .resource_cache
            .as_ref()
            .and_then(|cache| Some((cache, unique_lookup(rt, q)?)));
        let Some((cache, name)) = lookup else {
            return self.read_list(tenant, rt, q, related);
        };
        // A lookup by the unique name (Entra's `userName eq "…"`): at most one match.
        let with_related = related != Related::Nothing;
        let ticket = match cache.find(tenant, rt, &name, with_related) {
            Ok((row, members)) => {
                let mut map = RelatedMap::new();
                let members = members.map(Arc::unwrap_or_clone).unwrap_or_default();
                add_related(&mut map, &row.id, members);
                let page = ListPage {
                    total: 1,
                    resources: vec![Arc::unwrap_or_clone(row)],
                };
                return Ok((page, map));
            }
            Err(ticket) => ticket,
        };
        let (mut page, map) = self.read_list(tenant, rt, q, related)?;
        if page.resources.len() == 1 {
            let row = Arc::new(page.resources.remove(0));
            let members = with_related.then(|| map.get(&row.id).map_or(&[][..], Vec::as_slice));
            cache.keep(ticket, tenant, rt, Arc::clone(&row), Some(&name), members);
            // Copied only if the cache kept it.
            page.resources.push(Arc::unwrap_or_clone(row));
        }
        Ok((page, map))
    }

    /// [`Store::list_resource_rows_related`], read.
    fn read_list(
        &self,
        tenant: &str,
        rt: &ResourceType,
        q: &ListQuery<'_>,
        related: Related,
    ) -> ScimResult<(ListPage<ResourceRow>, RelatedMap)> {
        let dialect = self.dialect();
        // A filtered list is almost always a lookup (Entra's `userName eq`, `externalId eq`:
        // at most one row), answered with its memberships in one statement. A page of many
        // rows reads them with one IN-list query instead: a per-row subquery made an
        // unfiltered page of 100 0.84× as fast on PostgreSQL.
        let related_column = match q.filter {
            Some(_) => related_json_column(dialect, related),
            None => None,
        };
        let mut cond = Sql::new(" FROM resources r WHERE r.tenant_id = ");
        cond.text(tenant)
            .push(" AND r.resource_type = ")
            .text(rt.name);
        if let Some(filter) = q.filter {
            cond.push(" AND ")
                .append(FilterCompiler::new(rt, dialect, tenant).compile(filter)?);
        }
        let order = order_by(rt, dialect, q.sort_by, q.descending)?;
        let offset = q.start_index.max(1) - 1;
        // Seek pagination (`page_cursors`): lists in the default order only.
        let seekable = q.count > 0 && q.sort_by.is_none();
        let now = std::time::Instant::now();
        let cursor = (seekable && offset > 0)
            .then(|| {
                self.page_cursors
                    .get(&CursorKey::new(tenant, rt, q.filter, offset), now)
                    .ok()
            })
            .flatten();
        let (resources, map, total) = self.read(|c| {
            let mut resources = Vec::new();
            let mut map = RelatedMap::new();
            if q.count > 0 {
                let mut page = Sql::new("SELECT ");
                page.push(RESOURCE_COLUMNS)
                    .push(related_column.as_deref().unwrap_or_default());
                let deferred = cursor.is_none() && deferred_join(dialect, offset);
                if let Some(after) = &cursor {
                    // From the row after the last one of the previous page (an index seek).
                    page.append(cond.clone())
                        .push(" AND (r.created, r.id) > (")
                        .text(after.created.as_str())
                        .push(", ")
                        .text(after.id.as_str())
                        .push(")");
                } else if !deferred {
                    // One plain indexed query (every `filter` lookup is a first page).
                    page.append(cond.clone());
                } else {
                    // Deferred join: the offset is skipped over the (covering) index of ids,
                    // and only the page's documents are read.
                    page.push(" FROM resources r WHERE r.tenant_id = ")
                        .text(tenant)
                        .push(" AND r.id IN (SELECT r.id")
                        .append(cond.clone())
                        .append(order.clone())
                        .limit_offset(q.count, offset)
                        .push(")");
                }
                page.append(order.clone());
                if cursor.is_some() {
                    page.limit_offset(q.count, 0);
                } else if !deferred {
                    page.limit_offset(q.count, offset);
                }
                if related_column.is_some() {
                    resources = c
                        .load::<RelatedRow>(&page)?
                        .into_iter()
                        .map(|r| r.split(&mut map))
                        .collect::<ScimResult<_>>()?;
                } else {
                    resources = c.load::<ResourceRow>(&page)?;
                }
            }
            if related_column.is_none() {
                let ids: Vec<String> = resources.iter().map(|r| r.id.clone()).collect();
                map = load_related(c, tenant, related, &ids)?;
            }
            let total = match known_total(q, resources.len()) {
                Some(total) => total,
                None => {
                    let count = count_query(tenant, rt, q.filter.is_some(), cond);
                    c.first::<Count>(&count)?.map(|r| r.n).unwrap_or(0)
                }
            };
            Ok((resources, map, total))
        })?;
        // A full page: the next one may be asked for next.
        if let Some(last) = resources
            .last()
            .filter(|_| seekable && resources.len() as i64 == q.count)
        {
            let next = CursorKey::new(tenant, rt, q.filter, offset + q.count);
            let cursor = Cursor {
                created: last.created.clone(),
                id: last.id.clone(),
            };
            self.page_cursors.insert(next, cursor, now);
        }
        Ok((ListPage { total, resources }, map))
    }

    /// The query plan of the list query for `filter` (one line per plan node), so tests
    /// can check that the lookups clients rely on use an index. PostgreSQL runs it with
    /// `enable_seqscan = off` (in its own transaction), since tiny tables would otherwise
    /// be scanned whatever the indexes.
    pub fn explain_list(
        &self,
        tenant: &str,
        rt: &ResourceType,
        filter: &Filter,
    ) -> ScimResult<Vec<String>> {
        let dialect = self.dialect();
        let mut q = Sql::new("SELECT r.id FROM resources r WHERE r.tenant_id = ");
        q.text(tenant)
            .push(" AND r.resource_type = ")
            .text(rt.name)
            .push(" AND ")
            .append(FilterCompiler::new(rt, dialect, tenant).compile(filter)?);
        self.write(|c| match c.dialect() {
            super::Dialect::Sqlite => {
                let mut e = Sql::new("EXPLAIN QUERY PLAN ");
                e.append(q);
                Ok(c.load::<SqlitePlanRow>(&e)?
                    .into_iter()
                    .map(|r| r.detail)
                    .collect())
            }
            super::Dialect::Postgres => {
                c.execute(&Sql::new("SET LOCAL enable_seqscan = off"))?;
                let mut e = Sql::new("EXPLAIN ");
                e.append(q);
                Ok(c.load::<PgPlanRow>(&e)?
                    .into_iter()
                    .map(|r| r.plan)
                    .collect())
            }
        })
    }

    /// Creates a resource (and, for a Group, its initial members) in one transaction and
    /// returns it as stored. A duplicate `userName` / group `displayName` is a 409 from the
    /// unique index.
    pub fn create_resource(
        &self,
        tenant: &str,
        rt: &ResourceType,
        doc: Value,
        members: &[MemberRef],
        now: DateTime<Utc>,
        log: Option<&WriteLog>,
    ) -> ScimResult<ResourceRow> {
        if members.is_empty() {
            let PlannedCreate { row, rows, tail } = self.plan_create(tenant, rt, doc, now, log)?;
            self.write_all(rows.into_iter().chain(tail).collect())?;
            return Ok(row);
        }
        let (work, row) = self.create_work(tenant, rt, doc, members.to_vec(), now, log)?;
        self.write(work)?;
        Ok(row)
    }

    /// A create as a write that owns what it needs (for [`Store::queued_write`], or
    /// [`Store::write`]), and the resource as it stores it. Everything but the members'
    /// insert is worked out here.
    pub fn create_work(
        &self,
        tenant: &str,
        rt: &ResourceType,
        doc: Value,
        members: Vec<MemberRef>,
        now: DateTime<Utc>,
        log: Option<&WriteLog>,
    ) -> ScimResult<(
        impl FnOnce(&mut Conn<'_>) -> ScimResult<()> + Send + 'static,
        ResourceRow,
    )> {
        let PlannedCreate { row, rows, tail } = self.plan_create(tenant, rt, doc, now, log)?;
        let (tenant, id) = (tenant.to_string(), row.id.clone());
        let cache = self.resource_cache.clone();
        let work = move |c: &mut Conn<'_>| {
            if members.is_empty() {
                return c.execute_all(rows.into_iter().chain(tail).collect());
            }
            // The members' `groups` change (a new resource has nothing kept of its own).
            if let Some(cache) = &cache {
                cache.memberships_changed(&tenant);
            }
            // The members' insert counts its rows (unknown ids are a 400): on its own, after
            // the group's row.
            c.execute_all(rows)?;
            add_members(c, &tenant, &id, &members)?;
            c.execute_all(tail)
        };
        Ok((work, row))
    }

    /// A create worked out: the resource row and its side rows, then the count and the log.
    fn plan_create(
        &self,
        tenant: &str,
        rt: &ResourceType,
        doc: Value,
        now: DateTime<Utc>,
        log: Option<&WriteLog>,
    ) -> ScimResult<PlannedCreate> {
        let idx = indexed(rt, &doc)?;
        // Time-ordered (RFC 9562 version 7): a tenant's new ids sort after its older ones, so
        // a create adds to the right-hand end of the id indexes instead of a random page.
        let id = uuid::Uuid::now_v7().to_string();
        let ts = format_timestamp(now);
        let text = json_text(&doc);
        let search = search_document_text(&doc, rt);
        let mut q = Sql::new(
            "INSERT INTO resources (tenant_id, id, resource_type, unique_name, display_name, external_id, created, last_modified, version, doc, search_doc) VALUES (",
        );
        q.text(tenant)
            .push(", ")
            .text(id.as_str())
            .push(", ")
            .text(rt.name)
            .push(", ")
            .text(idx.unique_name.as_str())
            .push(", ")
            .opt_text(idx.display_name.clone())
            .push(", ")
            .opt_text(idx.external_id.clone())
            .push(", ")
            .text(ts.as_str())
            .push(", ")
            .text(ts.as_str())
            .push(", 1, ")
            .text(text.as_str())
            .push(", ")
            .text(search.as_str())
            .push(")")
            .fixed(Fixed::ResourceInsert);
        let mut rows = vec![q];
        rows.extend(email_statements(tenant, &id, &idx, false));
        let mut tail = vec![count_statement(self.dialect(), tenant, rt, &id, 1)];
        if let Some(log) = log {
            let entry = log.entry(rt, &id, unique_name_of(rt, &doc), now);
            tail.push(provisioning_insert(tenant, &entry));
        }
        Ok(PlannedCreate {
            row: ResourceRow {
                id,
                created: ts.clone(),
                last_modified: ts,
                version: 1,
                doc: text,
            },
            rows,
            tail,
        })
    }

    /// Read-modify-write of one resource, as a write that owns what it needs (for
    /// [`Store::queued_write`], or [`Store::write`]): `change` sees the current version and
    /// returns the update; the work returns the resource as stored and the memberships
    /// `related` names, read in the write's transaction (as of its commit, and without a
    /// read transaction of their own afterwards). `If-Match` mismatch → 412. Nothing changes
    /// (and the version stays) when the update changes nothing.
    ///
    /// PostgreSQL reads the resource under a row lock and works out the update in its
    /// transaction. SQLite runs one write transaction at a time, so everything that needs no
    /// lock (parsing the stored document, `change`, serialising the result) is done here, on
    /// the calling thread (a local read, as [`Store::read`]), against the version read now;
    /// in the write turn only that version is checked, and the update is worked out again
    /// when another write came in between.
    pub fn update_work(
        &self,
        tenant: String,
        rt: &'static ResourceType,
        id: String,
        opts: WriteOptions,
        related: Related,
        change: impl Fn(&StoredResource) -> ScimResult<Update> + Send + 'static,
    ) -> ScimResult<
        impl FnOnce(&mut Conn<'_>) -> ScimResult<(ResourceRow, RelatedMap)> + Send + 'static,
    > {
        let early = self.plan_update_early(&tenant, rt, &id, &change)?;
        let cache = self.resource_cache.clone();
        Ok(move |c: &mut Conn<'_>| {
            if let Some(cache) = &cache {
                cache.forget(&tenant, &id);
            }
            let (row, shown_elsewhere) = write_update(c, &tenant, rt, &id, early, &change, &opts)?;
            if let Some(cache) = cache.as_ref().filter(|_| shown_elsewhere) {
                cache.memberships_changed(&tenant);
            }
            let map = load_related(c, &tenant, related, std::slice::from_ref(&row.id))?;
            Ok((row, map))
        })
    }

    /// SQLite: the update worked out against the version read now, outside the write turn
    /// (none when the resource is missing or `change` refuses it: the turn says so).
    /// PostgreSQL: none, the update is worked out under the row lock.
    fn plan_update_early(
        &self,
        tenant: &str,
        rt: &ResourceType,
        id: &str,
        change: &impl Fn(&StoredResource) -> ScimResult<Update>,
    ) -> ScimResult<Option<PlannedUpdate>> {
        Ok(match self.dialect() {
            Dialect::Sqlite => self
                .row_by_id(tenant, rt, id, Related::Nothing)?
                .and_then(|(row, _)| plan_update(rt, Arc::unwrap_or_clone(row), change).ok()),
            Dialect::Postgres => None,
        })
    }

    /// Applies membership changes to a group without reading or rewriting its document
    /// (the PATCHes of [`crate::patch::member_changes_only`]), as a write that owns what it
    /// needs (for [`Store::queued_write`], or [`Store::write`]): in the write turn, the
    /// group's version (locked on PostgreSQL) for `If-Match`, the memberships, then `meta`
    /// and the provisioning log as [`Store::update_work`] writes them. Returns the
    /// entity tag after the change.
    pub fn members_update(
        &self,
        tenant: String,
        rt: &'static ResourceType,
        id: String,
        changes: Vec<MemberChange>,
        opts: WriteOptions,
    ) -> impl FnOnce(&mut Conn<'_>) -> ScimResult<String> + Send + 'static {
        let cache = self.resource_cache.clone();
        move |c| {
            if let Some(cache) = &cache {
                cache.forget(&tenant, &id);
                cache.memberships_changed(&tenant);
            }
            write_members(c, &tenant, rt, &id, &changes, &opts)
        }
    }

    /// Deletes a resource, its side rows and every membership that names it, as a write
    /// that owns what it needs (for [`Store::queued_write`], or [`Store::write`]).
    pub fn resource_delete(
        &self,
        tenant: String,
        rt: &'static ResourceType,
        id: String,
        opts: WriteOptions,
    ) -> impl FnOnce(&mut Conn<'_>) -> ScimResult<()> + Send + 'static {
        let cache = self.resource_cache.clone();
        move |c| {
            if let Some(cache) = &cache {
                cache.forget(&tenant, &id);
                cache.memberships_changed(&tenant);
            }
            delete_resource(c, &tenant, rt, &id, &opts)
        }
    }

    /// The memberships `related` names of the resources `ids`.
    pub fn related(
        &self,
        tenant: &str,
        related: Related,
        ids: &[String],
    ) -> ScimResult<RelatedMap> {
        match related {
            _ if ids.is_empty() => Ok(RelatedMap::new()),
            Related::Nothing => Ok(RelatedMap::new()),
            _ => self.read(|c| load_related(c, tenant, related, ids)),
        }
    }

    /// Members of each group, by group id.
    pub fn members_of(&self, tenant: &str, group_ids: &[String]) -> ScimResult<RelatedMap> {
        self.related(tenant, Related::Members, group_ids)
    }

    /// Groups each user (or group) is a direct member of, by member id; each entry is a
    /// `Member` whose `group_id` is the group and `display` the group's displayName.
    pub fn groups_of(&self, tenant: &str, member_ids: &[String]) -> ScimResult<RelatedMap> {
        self.related(tenant, Related::Groups, member_ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_is_known_from_a_short_page() {
        let q = |start_index, count| ListQuery {
            start_index,
            count,
            ..ListQuery::default()
        };
        // One match of an exact lookup; no match at all.
        assert_eq!(known_total(&q(1, 100), 1), Some(1));
        assert_eq!(known_total(&q(1, 100), 0), Some(0));
        // The last, partial page.
        assert_eq!(known_total(&q(201, 100), 37), Some(237));
        // A full page, a page past the end, and count=0 need the count query.
        assert_eq!(known_total(&q(1, 100), 100), None);
        assert_eq!(known_total(&q(500, 100), 0), None);
        assert_eq!(known_total(&q(1, 0), 0), None);
    }

    /// The UPDATE a PATCH of `change` makes to a stored user.
    fn update_of(change: Value) -> String {
        let rt = &crate::schema::Registry::get().user;
        let stored = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "bjensen@example.com", "externalId": "e1", "displayName": "Babs",
        });
        let row = ResourceRow {
            id: "u1".into(),
            created: "2026-12-06T00:00:00Z".into(),
            last_modified: "2026-12-06T00:00:00Z".into(),
            version: 1,
            doc: stored.to_string(),
        };
        let plan = plan_update(rt, row, &|current: &StoredResource| {
            let mut doc = current.doc.clone();
            for (k, v) in change.as_object().unwrap() {
                doc[k] = v.clone();
            }
            Ok(Update {
                doc: Some(doc),
                members: Vec::new(),
            })
        })
        .unwrap();
        resource_update("t", "u1", plan.doc.as_ref(), "2026-12-06T00:00:01Z").debug_text()
    }

    #[test]
    fn an_update_sets_the_indexed_names_only_when_they_change() {
        // displayName alone, or userName in another case (its index holds it folded):
        // the unique-name and externalId index entries are left alone.
        for change in [
            serde_json::json!({"displayName": "Barbara"}),
            serde_json::json!({"userName": "BJensen@Example.com"}),
        ] {
            let sql = update_of(change.clone());
            assert!(sql.contains("display_name = "), "{change}: {sql}");
            assert!(!sql.contains("unique_name"), "{change}: {sql}");
            assert!(!sql.contains("external_id"), "{change}: {sql}");
        }
        for change in [
            serde_json::json!({"userName": "barbara@example.com"}),
            serde_json::json!({"externalId": "e2"}),
        ] {
            let sql = update_of(change.clone());
            assert!(sql.contains("unique_name = "), "{change}: {sql}");
            assert!(sql.contains("external_id = "), "{change}: {sql}");
        }
    }

    #[test]
    fn if_match_forms() {
        assert!(if_match_allows("W/\"3\"", 3));
        assert!(if_match_allows("\"3\"", 3));
        assert!(if_match_allows("*", 9));
        assert!(if_match_allows("W/\"1\", W/\"3\"", 3));
        assert!(!if_match_allows("W/\"2\"", 3));
    }
}
