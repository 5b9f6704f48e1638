//! `scimd db copy`: copies every durable table from one store to another (SQLite to
//! PostgreSQL or back), value for value, in one transaction on the target.
//!
//! Rows are read as text (integers through `CAST(… AS TEXT)`) and written back with
//! `CAST(? AS BIGINT)` for integer columns, so ids, versions, timestamps and documents
//! arrive exactly as they were: a client (Entra) keeps its SCIM link, its token and the
//! resource ids it stored. Sessions and setup links are not copied (they are ephemeral).
//!
//! Tables are read in batches by key ranges (`WHERE (k…) > (last…)`), so a large table is
//! never held in memory at once, and written with multi-row `INSERT`s. The source is read
//! in one transaction (PostgreSQL: `REPEATABLE READ`, one snapshot), the target written in
//! one transaction: a failed copy leaves the target as it was.

use std::collections::BTreeSet;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, QueryableByName};
use diesel::row::{NamedRow, Row};
use diesel::sql_types::{Nullable, Text};

use super::sql::Sql;
use super::{Conn, Dialect, Store};
use crate::error::{ScimError, ScimResult};

/// Rows read per batch (and written per `INSERT`).
pub const BATCH_ROWS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// TEXT, nullable or not.
    Text,
    /// BIGINT NOT NULL.
    Int,
}

use Kind::{Int, Text as T};

/// A table to copy: its columns, and the key its batches are ranged on (the primary key,
/// or a leading part of an index when there is none; it need not be unique).
struct TableSpec {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    key: &'static [&'static str],
}

/// In insertion order (referenced tables first).
const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "tenants",
        columns: &[
            ("id", T),
            ("name", T),
            ("entra_tenant_id", T),
            ("provisioning_enabled", Int),
            ("created_at", T),
        ],
        key: &["id"],
    },
    TableSpec {
        name: "tokens",
        columns: &[
            ("id", T),
            ("tenant_id", T),
            ("name", T),
            ("secret_sha256", T),
            ("created_by", T),
            ("created_at", T),
            ("last_used_at", T),
            ("expires_at", T),
            ("revoked_at", T),
        ],
        key: &["id"],
    },
    TableSpec {
        name: "accounts",
        columns: &[
            ("tenant_id", T),
            ("id", T),
            ("email", T),
            ("password_hash", T),
            ("role", T),
            ("created_at", T),
        ],
        key: &["tenant_id", "id"],
    },
    TableSpec {
        name: "companies",
        columns: &[("tenant_id", T), ("id", T), ("name", T), ("name_folded", T)],
        key: &["tenant_id", "id"],
    },
    TableSpec {
        name: "roles",
        columns: &[("tenant_id", T), ("id", T), ("name", T), ("name_folded", T)],
        key: &["tenant_id", "id"],
    },
    TableSpec {
        name: "configurations",
        columns: &[
            ("tenant_id", T),
            ("id", T),
            ("name", T),
            ("company_id", T),
            ("locale", T),
            ("language", T),
            ("time_zone", T),
            ("filter", T),
            ("filter_folded", T),
            ("is_default", Int),
            ("created_at", T),
        ],
        key: &["tenant_id", "id"],
    },
    TableSpec {
        name: "configuration_roles",
        columns: &[("tenant_id", T), ("configuration_id", T), ("role_id", T)],
        key: &["tenant_id", "configuration_id", "role_id"],
    },
    TableSpec {
        name: "resources",
        columns: &[
            ("tenant_id", T),
            ("id", T),
            ("resource_type", T),
            ("unique_name", T),
            ("display_name", T),
            ("external_id", T),
            ("created", T),
            ("last_modified", T),
            ("version", Int),
            ("doc", T),
            ("search_doc", T),
        ],
        key: &["tenant_id", "id"],
    },
    TableSpec {
        name: "resource_values",
        columns: &[
            ("tenant_id", T),
            ("resource_id", T),
            ("attribute", T),
            ("value_type", T),
            ("value", T),
            ("is_primary", Int),
        ],
        // No primary key: ranged by resource (all values of a resource in one batch).
        key: &["tenant_id", "resource_id"],
    },
    TableSpec {
        name: "members",
        columns: &[
            ("tenant_id", T),
            ("group_id", T),
            ("member_id", T),
            ("member_type", T),
        ],
        key: &["tenant_id", "group_id", "member_id"],
    },
    TableSpec {
        name: "resource_counts",
        columns: &[("tenant_id", T), ("resource_type", T), ("n", Int)],
        key: &["tenant_id", "resource_type"],
    },
    TableSpec {
        name: "resource_count_shards",
        columns: &[
            ("tenant_id", T),
            ("resource_type", T),
            ("shard", Int),
            ("n", Int),
        ],
        key: &["tenant_id", "resource_type", "shard"],
    },
    TableSpec {
        name: "provisioning_log",
        columns: &[
            ("tenant_id", T),
            ("id", T),
            ("at", T),
            ("token_id", T),
            ("token_name", T),
            ("method", T),
            ("resource_type", T),
            ("resource_id", T),
            ("resource_name", T),
            ("outcome", T),
            ("status", Int),
            ("detail", T),
        ],
        // SQLite's primary key (clustered); PostgreSQL's (tenant_id, at) index leads it.
        key: &["tenant_id", "at", "id"],
    },
    TableSpec {
        name: "audit_log",
        columns: &[
            ("tenant_id", T),
            ("id", T),
            ("at", T),
            ("actor", T),
            ("action", T),
            ("detail", T),
        ],
        key: &["tenant_id", "id"],
    },
];

/// Tables deliberately left behind: console sessions and one-time setup links.
const SKIPPED: &[&str] = &["sessions", "setup_links"];

/// Rows copied per table, in copy order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

impl CopyReport {
    /// `{"tenants": 1, "tokens": 2, …}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (t, n) in &self.tables {
            map.insert((*t).to_string(), (*n).into());
        }
        serde_json::Value::Object(map)
    }
}

/// A row read as text: columns aliased `c0`, `c1`, … in the table's column order.
struct TextRow(Vec<Option<String>>);

impl<DB> QueryableByName<DB> for TextRow
where
    DB: Backend,
    Option<String>: FromSql<Nullable<Text>, DB>,
{
    fn build<'a>(row: &impl NamedRow<'a, DB>) -> deserialize::Result<Self> {
        let n = Row::field_count(row);
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            values.push(NamedRow::get::<Nullable<Text>, Option<String>>(
                row,
                &format!("c{i}"),
            )?);
        }
        Ok(TextRow(values))
    }
}

fn fail(msg: impl Into<String>) -> ScimError {
    ScimError::internal(msg.into())
}

/// Opens both databases (migrating them to this binary's schema), then copies `from`
/// into `to`. Refuses a target that already holds a tenant.
pub fn copy_database(from_url: &str, to_url: &str) -> Result<CopyReport, String> {
    let from = Store::open(from_url, 1).map_err(|e| format!("source: {e}"))?;
    let to = Store::open(to_url, 1).map_err(|e| format!("target: {e}"))?;
    copy(&from, &to).map_err(|e| e.detail)
}

/// Copies every durable table of `from` into `to` (which must hold no tenant), in one
/// transaction on `to`.
pub fn copy(from: &Store, to: &Store) -> ScimResult<CopyReport> {
    from.write(|src| {
        if src.dialect() == Dialect::Postgres {
            src.execute(&Sql::new(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            ))?;
        }
        check_tables(src, "source")?;
        to.write(|dst| {
            check_tables(dst, "target")?;
            let existing: Vec<TextRow> =
                dst.load(&Sql::new("SELECT id AS c0 FROM tenants LIMIT 1"))?;
            if !existing.is_empty() {
                return Err(fail(
                    "the target database is not empty (it has tenants); copy only into a new database",
                ));
            }
            let mut report = CopyReport::default();
            for table in TABLES {
                let n = copy_table(src, dst, table)?;
                report.tables.push((table.name, n));
            }
            Ok(report)
        })
    })
}

/// The base tables of a connection's database (or schema).
fn table_names(conn: &mut Conn<'_>) -> ScimResult<BTreeSet<String>> {
    let q = match conn.dialect() {
        Dialect::Sqlite => Sql::new(
            "SELECT name AS c0 FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%'",
        ),
        Dialect::Postgres => Sql::new(
            "SELECT table_name::text AS c0 FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        ),
    };
    let rows: Vec<TextRow> = conn.load(&q)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.0.into_iter().next().flatten())
        .filter(|n| n != "__diesel_schema_migrations")
        .collect())
}

fn column_names(conn: &mut Conn<'_>, table: &str) -> ScimResult<BTreeSet<String>> {
    let mut q = match conn.dialect() {
        Dialect::Sqlite => Sql::new("SELECT name AS c0 FROM pragma_table_info("),
        Dialect::Postgres => Sql::new(
            "SELECT column_name::text AS c0 FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = (",
        ),
    };
    q.text(table).push(")");
    let rows: Vec<TextRow> = conn.load(&q)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.0.into_iter().next().flatten())
        .collect())
}

/// Fails unless the database has exactly the tables and columns this copy knows, so that a
/// table or column added by a later migration cannot be left behind silently.
fn check_tables(conn: &mut Conn<'_>, which: &str) -> ScimResult<()> {
    let known: BTreeSet<String> = TABLES
        .iter()
        .map(|t| t.name)
        .chain(SKIPPED.iter().copied())
        .map(String::from)
        .collect();
    let found = table_names(conn)?;
    if found != known {
        return Err(fail(format!(
            "{which}: db copy does not know this schema (unknown tables: {:?}; missing: {:?})",
            found.difference(&known).collect::<Vec<_>>(),
            known.difference(&found).collect::<Vec<_>>(),
        )));
    }
    for table in TABLES {
        let cols = column_names(conn, table.name)?;
        let expected: BTreeSet<String> = table.columns.iter().map(|c| c.0.to_string()).collect();
        if cols != expected {
            return Err(fail(format!(
                "{which}: db copy does not know the columns of {} (unknown: {:?}; missing: {:?})",
                table.name,
                cols.difference(&expected).collect::<Vec<_>>(),
                expected.difference(&cols).collect::<Vec<_>>(),
            )));
        }
    }
    Ok(())
}

/// `(k1, k2) > (?, ?)` (or `<=`) for a key and its values.
fn key_condition(q: &mut Sql, key: &[&str], op: &str, values: &[Option<String>]) {
    q.push("(")
        .push(&key.join(", "))
        .push(") ")
        .push(op)
        .push(" (");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.opt_text(v.clone());
    }
    q.push(")");
}

fn copy_table(src: &mut Conn<'_>, dst: &mut Conn<'_>, table: &TableSpec) -> ScimResult<u64> {
    let select_list = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, (c, k))| match k {
            Kind::Text => format!("{c} AS c{i}"),
            Kind::Int => format!("CAST({c} AS TEXT) AS c{i}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let key_list = table.key.join(", ");
    let key_aliases = table
        .key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} AS c{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    // Position of each key column in the row, to carry the last key to the next batch.
    let key_pos: Vec<usize> = table
        .key
        .iter()
        .map(|k| {
            table
                .columns
                .iter()
                .position(|(c, _)| c == k)
                .expect("key column")
        })
        .collect();

    let mut last: Option<Vec<Option<String>>> = None;
    let mut copied = 0u64;
    loop {
        // The key of the BATCH_ROWS-th next row bounds this batch, so that rows sharing a
        // (non-unique) key always land in the same batch.
        let mut bound_q = Sql::new(&format!("SELECT {key_aliases} FROM {} ", table.name));
        if let Some(l) = &last {
            bound_q.push("WHERE ");
            key_condition(&mut bound_q, table.key, ">", l);
        }
        bound_q.push(&format!(
            " ORDER BY {key_list} LIMIT 1 OFFSET {}",
            BATCH_ROWS - 1
        ));
        let bound: Option<TextRow> = src.first(&bound_q)?;

        let mut q = Sql::new(&format!("SELECT {select_list} FROM {}", table.name));
        let mut conds = Vec::new();
        if let Some(l) = &last {
            conds.push((">", l.clone()));
        }
        if let Some(b) = &bound {
            conds.push(("<=", b.0.clone()));
        }
        for (i, (op, values)) in conds.iter().enumerate() {
            q.push(if i == 0 { " WHERE " } else { " AND " });
            key_condition(&mut q, table.key, op, values);
        }
        q.push(&format!(" ORDER BY {key_list}"));
        let rows: Vec<TextRow> = src.load(&q)?;
        if rows.is_empty() {
            break;
        }
        for chunk in rows.chunks(BATCH_ROWS) {
            insert_rows(dst, table, chunk)?;
        }
        copied += rows.len() as u64;
        let last_row = rows.last().expect("non-empty");
        last = Some(key_pos.iter().map(|&p| last_row.0[p].clone()).collect());
        if bound.is_none() {
            break;
        }
    }
    Ok(copied)
}

fn insert_rows(dst: &mut Conn<'_>, table: &TableSpec, rows: &[TextRow]) -> ScimResult<()> {
    let cols = table
        .columns
        .iter()
        .map(|c| c.0)
        .collect::<Vec<_>>()
        .join(", ");
    let mut q = Sql::new(&format!("INSERT INTO {} ({cols}) VALUES ", table.name));
    for (r, row) in rows.iter().enumerate() {
        if row.0.len() != table.columns.len() {
            return Err(fail(format!("{}: unexpected row width", table.name)));
        }
        q.push(if r == 0 { "(" } else { ", (" });
        for (i, ((_, kind), value)) in table.columns.iter().zip(&row.0).enumerate() {
            if i > 0 {
                q.push(", ");
            }
            match kind {
                Kind::Text => {
                    q.opt_text(value.clone());
                }
                Kind::Int => {
                    q.push("CAST(").opt_text(value.clone()).push(" AS BIGINT)");
                }
            }
        }
        q.push(")");
    }
    let n = dst.execute(&q)?;
    if n != rows.len() {
        return Err(fail(format!(
            "{}: inserted {n} rows of {}",
            table.name,
            rows.len()
        )));
    }
    Ok(())
}

/// A row as text, in the table's column order (integers as their decimal text).
pub type DumpRow = Vec<Option<String>>;

/// Every row of every copied table, as text, in a stable order: `(table, rows)` in copy
/// order. For checking a copy (tests, or an operator comparing two small databases).
pub fn dump(store: &Store) -> ScimResult<Vec<(&'static str, Vec<DumpRow>)>> {
    store.read(|c| {
        let mut out = Vec::new();
        for table in TABLES {
            let select_list = table
                .columns
                .iter()
                .enumerate()
                .map(|(i, (col, k))| match k {
                    Kind::Text => format!("{col} AS c{i}"),
                    Kind::Int => format!("CAST({col} AS TEXT) AS c{i}"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let rows: Vec<TextRow> = c.load(&Sql::new(&format!(
                "SELECT {select_list} FROM {}",
                table.name
            )))?;
            // Sorted here, not in SQL: the backends order NULLs differently.
            let mut rows: Vec<Vec<Option<String>>> = rows.into_iter().map(|r| r.0).collect();
            rows.sort();
            out.push((table.name, rows));
        }
        Ok(out)
    })
}
