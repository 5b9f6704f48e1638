//! A small SQL text builder with bound parameters, executed through diesel on either
//! backend. Values are always bound, never spliced into the text; diesel renders the
//! placeholders (`?` or `$n`) for the backend and caches the prepared statement by its text.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// A one-column `BIGINT` result named `n` (`SELECT COUNT(*) AS n …`).
#[derive(diesel::QueryableByName)]
pub(crate) struct Count {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// Pages of up to this many rows at offset 0 keep their statement cached (SCIM `count` is
/// at most 1000, the advertised `maxResults`).
const MAX_CACHED_LIMIT: i64 = 1000;

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    Float(f64),
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Bind(Bind),
}

/// SQL text with its parameters.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    parts: Vec<Part>,
    /// Not kept in the connection's prepared-statement cache (its text varies with data).
    uncached: bool,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        let mut s = Sql {
            parts: Vec::with_capacity(8),
            uncached: false,
        };
        s.push(text);
        s
    }

    /// Appends SQL text (a constant of the store, never client input).
    pub fn push(&mut self, text: &str) -> &mut Self {
        match self.parts.last_mut() {
            Some(Part::Text(t)) => t.push_str(text),
            _ => {
                // Room for the pieces that usually follow (fewer reallocations).
                let mut t = String::with_capacity(text.len().max(120));
                t.push_str(text);
                self.parts.push(Part::Text(t));
            }
        }
        self
    }

    /// Appends a bound parameter.
    pub fn bind(&mut self, value: Bind) -> &mut Self {
        self.parts.push(Part::Bind(value));
        self
    }

    pub fn text(&mut self, value: impl Into<String>) -> &mut Self {
        self.bind(Bind::Text(value.into()))
    }

    pub fn opt_text(&mut self, value: Option<impl Into<String>>) -> &mut Self {
        self.bind(Bind::OptText(value.map(Into::into)))
    }

    pub fn int(&mut self, value: i64) -> &mut Self {
        self.bind(Bind::Int(value))
    }

    /// Appends ` LIMIT n OFFSET m` with the numbers in the text, not bound.
    ///
    /// SQLite's planner reads bound LIMIT/OFFSET values, so a statement with them bound is
    /// re-parsed and re-planned on every run (most of the cost of a `filter` lookup). As
    /// literals, the first page (`OFFSET 0`, the common case) stays cached; any other offset
    /// is prepared once and not cached, so that the cache cannot grow with client input.
    /// Both numbers come from the server (validated integers), never from raw text.
    pub fn limit_offset(&mut self, limit: i64, offset: i64) -> &mut Self {
        self.push(&format!(" LIMIT {limit} OFFSET {offset}"));
        if offset != 0 || limit > MAX_CACHED_LIMIT {
            self.uncached = true;
        }
        self
    }

    /// Appends another fragment (text and binds).
    pub fn append(&mut self, other: Sql) -> &mut Self {
        self.uncached |= other.uncached;
        for p in other.parts {
            match p {
                Part::Text(t) => {
                    self.push(&t);
                }
                Part::Bind(b) => {
                    self.bind(b);
                }
            }
        }
        self
    }

    /// The text with `?` for each parameter (for logs and tests).
    pub fn debug_text(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.as_str(),
                Part::Bind(_) => "?",
            })
            .collect()
    }

    /// The bound values in order (for tests).
    pub fn binds(&self) -> Vec<&Bind> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Bind(b) => Some(b),
                Part::Text(_) => None,
            })
            .collect()
    }
}

impl QueryId for Sql {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Sql {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Sql {}

/// A borrowed [`Sql`] to run (diesel's run methods take the query by value; this saves
/// copying its text and values on every run).
#[derive(Clone, Copy)]
pub struct SqlRef<'a>(pub &'a Sql);

impl QueryId for SqlRef<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for SqlRef<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for SqlRef<'_> {}

impl<DB> QueryFragment<DB> for SqlRef<'_>
where
    DB: Backend,
    Sql: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

impl<DB> QueryFragment<DB> for Sql
where
    DB: Backend,
    String: ToSql<Text, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
    i64: ToSql<BigInt, DB>,
    f64: ToSql<Double, DB>,
    DB: diesel::sql_types::HasSqlType<Text>
        + diesel::sql_types::HasSqlType<BigInt>
        + diesel::sql_types::HasSqlType<Double>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.uncached {
            out.unsafe_to_cache_prepared();
        }
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_sql(t),
                Part::Bind(Bind::Text(s)) => out.push_bind_param::<Text, String>(s)?,
                Part::Bind(Bind::OptText(s)) => {
                    out.push_bind_param::<Nullable<Text>, Option<String>>(s)?
                }
                Part::Bind(Bind::Int(i)) => out.push_bind_param::<BigInt, i64>(i)?,
                Part::Bind(Bind::Float(f)) => out.push_bind_param::<Double, f64>(f)?,
            }
        }
        Ok(())
    }
}
