//! A small SQL text builder with bound parameters, executed through diesel on either
//! backend. Values are always bound, never spliced into the text; diesel renders the
//! placeholders (`?` or `$n`) for the backend and caches the prepared statement by its text.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{LazyLock, Mutex};

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

/// How many statement shapes built from client input stay prepared (see [`ShapeRegistry`]).
const MAX_INPUT_SHAPES: usize = 512;

/// Statement shapes (SQL texts) that vary with client input (filters, IN lists of any
/// length, a write's email rows) admitted to diesel's prepared-statement cache. diesel keeps
/// one prepared statement per distinct text on every pooled connection for the
/// connection's lifetime; the first `capacity` shapes are admitted and later ones are
/// prepared for one run only, so that clients cannot grow the caches without bound. The
/// store's fixed statements are always cached (their number is fixed by the code).
pub(crate) struct ShapeRegistry {
    capacity: usize,
    shapes: Mutex<HashSet<u64>>,
}

impl ShapeRegistry {
    pub(crate) fn new(capacity: usize) -> ShapeRegistry {
        ShapeRegistry {
            capacity,
            shapes: Mutex::new(HashSet::new()),
        }
    }

    /// Whether statements of this shape may be cached: known, or admitted now.
    pub(crate) fn admit(&self, shape: u64) -> bool {
        let mut shapes = crate::sync::lock(&self.shapes);
        shapes.contains(&shape) || (shapes.len() < self.capacity && shapes.insert(shape))
    }
}

static INPUT_SHAPES: LazyLock<ShapeRegistry> =
    LazyLock::new(|| ShapeRegistry::new(MAX_INPUT_SHAPES));

/// The most values one statement's `IN` list takes ([`Sql::in_list`]): well within both
/// backends' parameter limits.
pub const IN_LIST_MAX: usize = 500;

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
    /// Its text varies with client input: cached only when its shape is admitted.
    input_shaped: bool,
    /// A statement of the store whose text never varies ([`Sql::fixed`]).
    fixed: Option<Fixed>,
}

/// Declares [`Fixed`], one key type per variant in [`fixed_key`], and `on_query!`, from one
/// list, so that every variant runs under its own type. (`$d` is a `$` passed in, for the
/// metavariables of the inner macro.)
macro_rules! fixed_statements {
    ($d:tt $($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// The store's statements whose text never varies (for one backend) and which run on
        /// every write or every read of one resource. diesel finds the prepared statement of any other statement by its SQL
        /// text, which it builds again and hashes on every run (~5 k instructions: a fifth of
        /// a member add's statement work); these it finds by a type ([`fixed_key`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Fixed {
            $($(#[doc = $doc])* $name,)*
        }

        /// One type per [`Fixed`] statement: the key of its prepared statement in diesel's
        /// cache.
        pub mod fixed_key {
            $(pub struct $name;)*
        }

        /// Runs `$body` with `$r` bound to the statement `$q` as diesel runs it: keyed by its
        /// [`Fixed`] type when it has one ([`KeyedRef`]), by its text otherwise ([`SqlRef`]).
        /// `$dialect` is the backend it runs on (debug builds check that a fixed statement's
        /// text never varies).
        macro_rules! on_query {
            ($d q:expr, $d dialect:expr, $d r:ident => $d body:expr) => {{
                let q: &$crate::store::sql::Sql = $d q;
                match q.fixed_statement() {
                    None => {
                        let $d r = $crate::store::sql::SqlRef::new(q);
                        $d body
                    }
                    $(Some($crate::store::sql::Fixed::$name) => {
                        let $d r = $crate::store::sql::KeyedRef::<
                            $crate::store::sql::fixed_key::$name,
                        >::new(q, $d dialect);
                        $d body
                    })*
                }
            }};
        }
        pub(crate) use on_query;
    };
}

fixed_statements! {$
    /// `INSERT INTO resources` (a create).
    ResourceInsert,
    /// `INSERT INTO resource_values` (one email).
    ValueInsert,
    /// The per-tenant resource count moved by a create or delete.
    CountShard,
    /// `INSERT INTO provisioning_log`.
    LogInsert,
    /// A resource's version and display name.
    HeadSelect,
    /// A resource's version and display name, locked for the write (PostgreSQL).
    HeadSelectLocked,
    /// `meta` moved on (a members-only change).
    MetaUpdate,
    /// A new document and `meta` moved on, the indexed names unchanged.
    DocumentUpdate,
    /// A new document, new indexed names and `meta` moved on.
    DocumentAndNamesUpdate,
    /// A resource by id (a GET that needs no memberships, a write's read).
    RowSelect,
    /// A resource by id, locked for the write (PostgreSQL).
    RowSelectLocked,
    /// A user by id with its groups (a GET).
    RowWithGroupsSelect,
    /// A group by id with its members (a GET).
    RowWithMembersSelect,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        let mut s = Sql {
            parts: Vec::with_capacity(8),
            uncached: false,
            input_shaped: false,
            fixed: None,
        };
        s.push(text);
        s
    }

    /// Appends SQL text (a constant of the store, never client input).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.fixed = None;
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
        self.fixed = None;
        self.parts.push(Part::Bind(value));
        self
    }

    pub fn text(&mut self, value: impl Into<String>) -> &mut Self {
        self.bind(Bind::Text(value.into()))
    }

    /// Appends ` IN (…)` with `values` as bound parameters, padded to the next power of two
    /// by repeating the last one (repeats do not change what `IN` matches). Lists of any
    /// length so make at most a few statement texts, which stay in the prepared-statement
    /// cache without growing it with client input: such statements need no
    /// [`Sql::shaped_by_input`]. An empty list matches nothing.
    /// Lists longer than [`IN_LIST_MAX`] are for the caller to split.
    pub fn in_list(&mut self, values: &[impl AsRef<str>]) -> &mut Self {
        let Some(last) = values.last() else {
            return self.push(" IN (NULL)");
        };
        self.push(" IN (");
        for i in 0..values.len().next_power_of_two() {
            if i > 0 {
                self.push(", ");
            }
            self.text(values.get(i).unwrap_or(last).as_ref());
        }
        self.push(")")
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

    /// Marks the finished statement as the store's fixed statement `which`: its text must be
    /// the same every time it is built (debug builds check it). Appending to it unmarks it.
    pub fn fixed(&mut self, which: Fixed) -> &mut Self {
        self.fixed = Some(which);
        self
    }

    /// The fixed statement this is, if marked ([`Sql::fixed`]).
    pub fn fixed_statement(&self) -> Option<Fixed> {
        self.fixed
    }

    /// Marks the text as shaped by client input (a filter, an IN list): it stays prepared
    /// only if its shape is admitted (see [`ShapeRegistry`]).
    pub fn shaped_by_input(&mut self) -> &mut Self {
        self.input_shaped = true;
        self
    }

    /// Whether this statement may be kept in the prepared-statement cache, as decided by
    /// `registry` for statements shaped by input.
    pub(crate) fn cacheable_in(&self, registry: &ShapeRegistry) -> bool {
        !self.uncached && (!self.input_shaped || registry.admit(self.shape()))
    }

    /// Whether this statement may be kept in the prepared-statement cache.
    pub(crate) fn cacheable(&self) -> bool {
        self.cacheable_in(&INPUT_SHAPES)
    }

    /// A hash of the text (parameters as placeholders).
    fn shape(&self) -> u64 {
        let mut h = DefaultHasher::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => t.hash(&mut h),
                Part::Bind(_) => 0u8.hash(&mut h),
            }
        }
        h.finish()
    }

    /// Appends another fragment (text and binds).
    pub fn append(&mut self, other: Sql) -> &mut Self {
        self.fixed = None;
        self.uncached |= other.uncached;
        self.input_shaped |= other.input_shaped;
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
/// copying its text and values on every run), and whether its prepared statement may be
/// cached ([`Sql::cacheable`], decided once per run).
#[derive(Clone, Copy)]
pub struct SqlRef<'a> {
    sql: &'a Sql,
    cache: bool,
}

impl<'a> SqlRef<'a> {
    pub fn new(sql: &'a Sql) -> SqlRef<'a> {
        SqlRef {
            sql,
            cache: sql.cacheable(),
        }
    }
}

/// A [`Fixed`] statement to run: diesel keys its prepared statement by the type `K`.
pub struct KeyedRef<'a, K> {
    sql: SqlRef<'a>,
    key: std::marker::PhantomData<K>,
}

impl<K> Clone for KeyedRef<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for KeyedRef<'_, K> {}

impl<'a, K: 'static> KeyedRef<'a, K> {
    pub fn new(sql: &'a Sql, dialect: crate::store::Dialect) -> KeyedRef<'a, K> {
        if cfg!(debug_assertions) {
            check_fixed_text::<K>(sql, dialect);
        }
        KeyedRef {
            sql: SqlRef::new(sql),
            key: std::marker::PhantomData,
        }
    }
}

/// Debug builds: the first text seen for each key and backend, which every later run of
/// that key must repeat (diesel would otherwise run the first statement prepared under it).
fn check_fixed_text<K: 'static>(sql: &Sql, dialect: crate::store::Dialect) {
    static SEEN: LazyLock<Mutex<std::collections::HashMap<(std::any::TypeId, bool), String>>> =
        LazyLock::new(Default::default);
    let key = (
        std::any::TypeId::of::<K>(),
        dialect == crate::store::Dialect::Sqlite,
    );
    let text = sql.debug_text();
    let mut seen = crate::sync::lock(&SEEN);
    let first = seen.entry(key).or_insert_with(|| text.clone());
    assert_eq!(
        *first,
        text,
        "fixed statement {} built with another text",
        std::any::type_name::<K>()
    );
}

impl<K: 'static> QueryId for KeyedRef<'_, K> {
    type QueryId = K;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<K> Query for KeyedRef<'_, K> {
    type SqlType = Untyped;
}

impl<Conn, K> RunQueryDsl<Conn> for KeyedRef<'_, K> {}

impl<DB, K> QueryFragment<DB> for KeyedRef<'_, K>
where
    DB: Backend,
    Sql: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.sql.walk_ast(out)
    }
}

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
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if !self.cache {
            out.unsafe_to_cache_prepared();
        }
        self.sql.walk_ast(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse_filter;
    use crate::schema::Registry;
    use crate::store::dialect::Dialect;
    use crate::store::filter_sql::FilterCompiler;

    /// `SELECT … IN (?, …)` with `n` parameters, marked as shaped by input.
    fn in_list(n: i64) -> Sql {
        let mut q = Sql::new("SELECT 1 WHERE a IN (");
        for i in 0..n {
            if i > 0 {
                q.push(", ");
            }
            q.int(i);
        }
        q.push(")").shaped_by_input();
        q
    }

    #[test]
    fn a_fixed_mark_is_dropped_by_any_later_change_to_the_text() {
        let mut q = Sql::new("SELECT 1");
        q.fixed(Fixed::HeadSelect);
        assert_eq!(q.fixed_statement(), Some(Fixed::HeadSelect));
        q.push(" WHERE x = ");
        assert_eq!(q.fixed_statement(), None);
        q.fixed(Fixed::HeadSelect).int(1);
        assert_eq!(q.fixed_statement(), None);
        q.fixed(Fixed::HeadSelect).append(Sql::new(" AND 1"));
        assert_eq!(q.fixed_statement(), None);
    }

    #[test]
    #[cfg(debug_assertions)]
    fn a_fixed_key_used_with_two_texts_is_caught_in_debug_builds() {
        struct Probe;
        let dialect = crate::store::Dialect::Sqlite;
        let _ = KeyedRef::<Probe>::new(&Sql::new("SELECT 1"), dialect);
        let _ = KeyedRef::<Probe>::new(&Sql::new("SELECT 1"), dialect);
        let other = std::panic::catch_unwind(|| {
            let _ = KeyedRef::<Probe>::new(&Sql::new("SELECT 2"), dialect);
        });
        assert!(other.is_err(), "a second text for one key must not pass");
    }

    #[test]
    fn in_lists_are_padded_to_a_power_of_two_with_their_last_value() {
        let list = |values: &[&str]| {
            let mut q = Sql::new("SELECT 1 WHERE a");
            q.in_list(values);
            q
        };
        let three = list(&["x", "y", "z"]);
        assert_eq!(three.shape(), list(&["p", "q", "r", "s"]).shape());
        assert_ne!(three.shape(), list(&["p", "q", "r", "s", "t"]).shape());
        assert_eq!(three.debug_text(), "SELECT 1 WHERE a IN (?, ?, ?, ?)");
        let text = |v: &str| Bind::Text(v.to_string());
        assert_eq!(
            three.binds(),
            [&text("x"), &text("y"), &text("z"), &text("z")]
        );
        assert!(
            !three.input_shaped,
            "a bounded number of shapes: always cached"
        );
        assert_eq!(list(&[]).debug_text(), "SELECT 1 WHERE a IN (NULL)");
    }

    #[test]
    fn input_shaped_statements_are_cached_up_to_the_registry_capacity() {
        let registry = ShapeRegistry::new(2);
        assert!(in_list(1).cacheable_in(&registry));
        assert!(in_list(2).cacheable_in(&registry));
        assert!(
            !in_list(3).cacheable_in(&registry),
            "a third shape runs uncached"
        );
        assert!(
            in_list(1).cacheable_in(&registry),
            "known shapes stay cached"
        );
        let mut same_shape = Sql::new("SELECT 1 WHERE a IN (");
        same_shape.int(42).push(")").shaped_by_input();
        assert!(
            same_shape.cacheable_in(&registry),
            "other values, same shape"
        );
        // The store's fixed statements are cached whatever the registry holds.
        assert!(Sql::new("SELECT 2").cacheable_in(&registry));
        let mut page = Sql::new("SELECT 3");
        page.limit_offset(10, 20);
        assert!(
            !page.cacheable_in(&registry),
            "pages past the first never are"
        );
        // The mark carries into the statement a fragment is appended to.
        let mut outer = Sql::new("SELECT 4 WHERE ");
        outer.append(in_list(3));
        assert!(!outer.cacheable_in(&registry));
    }

    #[test]
    fn compiled_filters_are_shaped_by_input() {
        let rt = &Registry::get().user;
        let filter = parse_filter("userName eq \"a\" or (title pr and active eq true)").unwrap();
        let condition = FilterCompiler::new(rt, Dialect::Sqlite, "t")
            .compile(&filter)
            .unwrap();
        assert!(!condition.cacheable_in(&ShapeRegistry::new(0)));
        assert!(condition.cacheable_in(&ShapeRegistry::new(1)));
    }
}
