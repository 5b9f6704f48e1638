//! The store: the only place that speaks SQL. One API over SQLite (the embedded default)
//! and PostgreSQL; backend differences sit in [`dialect::Dialect`].

mod checkpoint;
mod configuration_cache;
pub mod configurations;
pub mod console;
pub mod copy;
pub mod dialect;
pub mod directory;
pub mod filter_sql;
mod group_commit;
pub mod page_cursors;
pub mod resource_cache;
pub mod resources;
pub mod sql;
mod sqlite_log;
pub mod tenants;
mod write_queue;

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::query_builder::QueryFragment;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use dialect::Dialect;
pub use sql::{Bind, Sql, SqlRef};

use crate::error::{ScimError, ScimResult};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
/// Advisory lock key held while migrating PostgreSQL, so replicas starting together
/// migrate one after the other.
const MIGRATION_LOCK_KEY: i64 = 0x5c1d_0001;

impl From<DieselError> for ScimError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => ScimError::not_found("Resource not found"),
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                tracing::debug!(constraint = ?info.constraint_name(), "unique violation");
                ScimError::uniqueness("A resource with this unique attribute already exists")
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                ScimError::unavailable(CONNECTION_LOST)
            }
            other => ScimError::internal(format!("database error: {other}")),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ScimError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        ScimError::unavailable(format!("database unavailable: {e}"))
    }
}

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // WAL is set once, by `Store::open`, before the pool opens its connections (it is
        // stored in the file; switching it while other connections are opening fails).
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = 10000;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA case_sensitive_like = ON;
                 PRAGMA wal_autocheckpoint = {};",
            checkpoint::BACKSTOP_PAGES
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// How long a PostgreSQL connection may sit idle in the pool before it is checked with
/// `SELECT 1` on checkout. Connections in steady use are not checked (that round trip cost
/// about a fifth of a GET); an idle one may have been cut by a server restart.
const PG_IDLE_CHECK: Duration = Duration::from_secs(1);

/// A pooled PostgreSQL connection and when it was last returned to the pool. (A query that
/// finds the server gone leaves diesel's connection marked broken, and the pool drops it.)
pub struct PgPooled {
    conn: PgConnection,
    last_used: Instant,
}

/// The pool's PostgreSQL connection manager: diesel's, plus [`PgPooled`]'s idle time.
struct PgManager(ConnectionManager<PgConnection>);

impl diesel::r2d2::ManageConnection for PgManager {
    type Connection = PgPooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgPooled, Self::Error> {
        Ok(PgPooled {
            conn: self.0.connect()?,
            last_used: Instant::now(),
        })
    }

    fn is_valid(&self, c: &mut PgPooled) -> Result<(), Self::Error> {
        self.0.is_valid(&mut c.conn)
    }

    fn has_broken(&self, c: &mut PgPooled) -> bool {
        self.0.has_broken(&mut c.conn)
    }
}

/// The detail of the error for a connection whose server went away.
const CONNECTION_LOST: &str = "Database connection lost";

#[derive(Clone)]
enum DbPool {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    Postgres(Pool<PgManager>),
}

/// A handle on the database: cheap to clone, shared by all workers.
#[derive(Clone)]
pub struct Store {
    pool: DbPool,
    /// SQLite has one writer at a time: writers of this process queue here instead of
    /// sleeping in SQLite's busy handler (which made write p99 ~30× p50), and queued
    /// writers are committed together.
    sqlite_writer: std::sync::Arc<group_commit::GroupCommit>,
    /// SQLite: the thread that checkpoints the WAL, so that writers do not.
    checkpointer: Option<std::sync::Arc<checkpoint::Checkpointer>>,
    /// SQLite: the thread that runs prepared statement writes handed to it.
    write_queue: Option<std::sync::Arc<write_queue::WriteQueue>>,
    /// Where the pages that clients are paging through go on (seek pagination).
    page_cursors: std::sync::Arc<page_cursors::PageCursors>,
    /// Each tenant's user configurations, as new users are given them.
    configuration_cache: std::sync::Arc<configuration_cache::ConfigurationCache>,
    /// SQLite on a file kept to this process: the Users and Groups read lately
    /// ([`resource_cache`]).
    resource_cache: Option<std::sync::Arc<resource_cache::ResourceCache>>,
}

/// A connection borrowed for one unit of work (inside a transaction for writes).
pub enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

impl Conn<'_> {
    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement; returns the number of rows affected.
    pub fn execute(&mut self, q: &Sql) -> ScimResult<usize> {
        let n = match self {
            Conn::Sqlite(c) => sql::on_query!(q, Dialect::Sqlite, r => r.execute(*c)?),
            Conn::Postgres(c) => sql::on_query!(q, Dialect::Postgres, r => r.execute(*c)?),
        };
        Ok(n)
    }

    /// Runs data-changing statements (`INSERT`, `UPDATE`, `DELETE`) that do not read one
    /// another's effects and whose row counts are not needed. PostgreSQL runs them as one
    /// statement (the first ones in a data-modifying `WITH`): one round trip instead of one
    /// each, so a write holds its row locks for less time. Foreign keys are checked at the
    /// end of that statement, so a row and the rows that reference it may go together.
    pub fn execute_all(&mut self, statements: Vec<Sql>) -> ScimResult<()> {
        if let Conn::Postgres(_) = self {
            let mut statements = statements.into_iter();
            let Some(last) = statements.next_back() else {
                return Ok(());
            };
            let mut q = Sql::new("");
            for (i, statement) in statements.enumerate() {
                q.push(if i == 0 { "WITH w" } else { ", w" })
                    .push(&i.to_string())
                    .push(" AS (")
                    .append(statement)
                    .push(")");
            }
            q.push(" ").append(last);
            // How many statements go together varies (a user's emails).
            q.shaped_by_input();
            self.execute(&q)?;
        } else {
            for statement in &statements {
                self.execute(statement)?;
            }
        }
        Ok(())
    }

    /// Runs a query and maps its rows.
    pub fn load<T>(&mut self, q: &Sql) -> ScimResult<Vec<T>>
    where
        T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    {
        let rows = match self {
            Conn::Sqlite(c) => sql::on_query!(q, Dialect::Sqlite, r => r.load::<T>(*c)?),
            Conn::Postgres(c) => sql::on_query!(q, Dialect::Postgres, r => r.load::<T>(*c)?),
        };
        Ok(rows)
    }

    /// Runs a query expected to return at most one row.
    pub fn first<T>(&mut self, q: &Sql) -> ScimResult<Option<T>>
    where
        T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    {
        Ok(self.load(q)?.into_iter().next())
    }
}

/// Where a `SCIMD_DATABASE_URL` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(SqliteFile),
    Postgres(String),
}

/// A SQLite database file and how this process opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteFile {
    pub path: String,
    /// Whether this process keeps the file to itself (SQLite's `unix-excl` VFS): the default;
    /// `?exclusive=false` shares it. Its connections still share it with each other, through
    /// locks and a write-ahead-log index held in memory, so a read takes no file lock: no
    /// `fcntl` system calls, and the HTTP workers no longer queue on the mutex SQLite holds
    /// around them (docs/performance.md, Finding 13). No other process can open the file
    /// meanwhile: the `scimd` CLI reaches the server through its control socket
    /// ([`crate::control`]), and `scimd db backup` copies the file while it is in use.
    pub exclusive: bool,
}

impl SqliteFile {
    /// What the connections open: the plain path, or a `file:` URI naming the VFS (the
    /// path percent-encoded where URI syntax would read it otherwise).
    fn target(&self) -> String {
        if !self.exclusive {
            return self.path.clone();
        }
        let mut uri = String::from("file:");
        for c in self.path.chars() {
            match c {
                '%' => uri.push_str("%25"),
                '?' => uri.push_str("%3F"),
                '#' => uri.push_str("%23"),
                c => uri.push(c),
            }
        }
        uri.push_str("?vfs=unix-excl");
        uri
    }
}

impl DatabaseUrl {
    /// `sqlite://scimd.db` (relative), `sqlite:///abs/path.db`, either with
    /// `?exclusive=false` (to share the file with other processes); `postgres://…`.
    pub fn parse(url: &str) -> Result<DatabaseUrl, String> {
        if let Some(rest) = url.strip_prefix("sqlite://") {
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            if path.is_empty() || path == ":memory:" {
                return Err("sqlite URL needs a file path, e.g. sqlite://scimd.db".into());
            }
            let mut exclusive = true;
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                exclusive = match pair {
                    "exclusive=true" => true,
                    "exclusive=false" => false,
                    _ => {
                        return Err(format!(
                        "unsupported sqlite URL parameter '{pair}' (known: exclusive=true|false)"
                    ))
                    }
                };
            }
            Ok(DatabaseUrl::Sqlite(SqliteFile {
                path: path.to_string(),
                exclusive,
            }))
        } else if let Some(path) = url.strip_prefix("sqlite:") {
            Ok(DatabaseUrl::Sqlite(SqliteFile {
                path: path.to_string(),
                exclusive: true,
            }))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_string()))
        } else {
            Err(format!(
                "unsupported database URL (expected sqlite://PATH or postgres://…): {}",
                redact_url(url)
            ))
        }
    }
}

/// Why a SQLite file could not be opened, naming the likely holder when it is locked.
fn sqlite_open_error(file: &SqliteFile, e: diesel::ConnectionError) -> String {
    let detail = e.to_string();
    if detail.contains("database is locked") {
        format!(
            "cannot open SQLite database {}: it is locked by another process (a scimd server \
             keeps its file to itself while it runs unless its URL says ?exclusive=false, \
             and a server cannot keep a file another process uses). The CLI's tenant, token, \
             admin and `db backup` commands reach a running server through its control \
             socket; for anything else (`db copy`, sqlite3) use a `scimd db backup` of the \
             file, or stop the other process first ({detail})",
            file.path
        )
    } else {
        format!("cannot open SQLite database: {detail}")
    }
}

/// The URL with any password replaced, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Whether another handle (a clone) on this database is still alive. The database is
    /// closed when the last one is dropped: on SQLite, that is when its connections close
    /// and SQLite checkpoints and removes the write-ahead log.
    pub fn is_shared(&self) -> bool {
        std::sync::Arc::strong_count(&self.page_cursors) > 1
    }

    /// Opens the database and applies pending migrations.
    pub fn open(url: &str, max_connections: u32) -> Result<Store, String> {
        Store::open_database(DatabaseUrl::parse(url)?, max_connections)
    }

    /// [`Store::open`] on a parsed URL.
    pub fn open_database(url: DatabaseUrl, max_connections: u32) -> Result<Store, String> {
        let store = match url {
            DatabaseUrl::Sqlite(file) => {
                sqlite_log::install();
                let path = file.target();
                SqliteConnection::establish(&path)
                    .and_then(|mut c| {
                        c.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")
                            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
                    })
                    .map_err(|e| sqlite_open_error(&file, e))?;
                // Only this process writes a kept file: what it read stays true until one of
                // its own writes changes it.
                let resource_cache = file.exclusive.then(|| {
                    std::sync::Arc::new(resource_cache::ResourceCache::new(
                        resource_cache::DEFAULT_BUDGET,
                    ))
                });
                let writer =
                    std::sync::Arc::new(group_commit::GroupCommit::new(resource_cache.clone()));
                let checkpointer = checkpoint::Checkpointer::start(&path, writer.clone())?;
                let manager = ConnectionManager::<SqliteConnection>::new(path);
                let pool = Pool::builder()
                    .max_size(max_connections.max(1))
                    .connection_timeout(Duration::from_secs(10))
                    // No `SELECT 1` before every use: a local file does not go stale.
                    .test_on_check_out(false)
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(manager)
                    .map_err(|e| format!("cannot open SQLite database: {e}"))?;
                let queue = write_queue::WriteQueue::start(pool.clone(), writer.clone())?;
                Store {
                    pool: DbPool::Sqlite(pool),
                    sqlite_writer: writer,
                    checkpointer: Some(std::sync::Arc::new(checkpointer)),
                    write_queue: Some(std::sync::Arc::new(queue)),
                    page_cursors: std::sync::Arc::new(page_cursors::page_cursors()),
                    configuration_cache: std::sync::Arc::new(
                        configuration_cache::configuration_cache(),
                    ),
                    resource_cache,
                }
            }
            DatabaseUrl::Postgres(url) => {
                let manager = PgManager(ConnectionManager::<PgConnection>::new(url));
                let pool = Pool::builder()
                    .max_size(max_connections.max(1))
                    .connection_timeout(Duration::from_secs(10))
                    // Checked by `Store::pg_connection` when idle, not on every checkout.
                    .test_on_check_out(false)
                    .build(manager)
                    .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
                Store {
                    pool: DbPool::Postgres(pool),
                    sqlite_writer: Default::default(),
                    checkpointer: None,
                    write_queue: None,
                    page_cursors: std::sync::Arc::new(page_cursors::page_cursors()),
                    configuration_cache: std::sync::Arc::new(
                        configuration_cache::configuration_cache(),
                    ),
                    resource_cache: None,
                }
            }
        };
        store.migrate()?;
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        match self.pool {
            DbPool::Sqlite(_) => Dialect::Sqlite,
            DbPool::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Applies pending migrations (PostgreSQL: under an advisory lock).
    pub fn migrate(&self) -> Result<(), String> {
        match &self.pool {
            DbPool::Sqlite(pool) => {
                let mut conn = pool.get().map_err(|e| e.to_string())?;
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map_err(|e| format!("migration failed: {e}"))?;
            }
            DbPool::Postgres(pool) => {
                let mut pooled = pool.get().map_err(|e| e.to_string())?;
                let conn = &mut pooled.conn;
                let lock = Sql::new("SELECT pg_advisory_lock(")
                    .int(MIGRATION_LOCK_KEY)
                    .push(")")
                    .clone();
                run_raw(conn, &lock)?;
                let result = conn
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|_| ())
                    .map_err(|e| format!("migration failed: {e}"));
                let unlock = Sql::new("SELECT pg_advisory_unlock(")
                    .int(MIGRATION_LOCK_KEY)
                    .push(")")
                    .clone();
                run_raw(conn, &unlock)?;
                result?;
            }
        }
        Ok(())
    }

    /// Runs `f` on a pooled connection, outside a transaction (reads).
    pub fn read<R>(&self, f: impl FnOnce(&mut Conn<'_>) -> ScimResult<R>) -> ScimResult<R> {
        match &self.pool {
            DbPool::Sqlite(pool) => {
                let mut c: PooledConnection<_> = pool.get()?;
                f(&mut Conn::Sqlite(&mut c))
            }
            DbPool::Postgres(pool) => on_pg_connection(pool, |c| f(&mut Conn::Postgres(c))),
        }
    }

    /// Runs `f` in one transaction: all of it is committed, or none of it, and it returns
    /// once committed. SQLite: writers queued in this process share one `BEGIN IMMEDIATE`
    /// transaction, each after the first in its own savepoint ([`group_commit`]);
    /// PostgreSQL transactions rely on row locks taken by `f`.
    pub fn write<R>(&self, f: impl FnOnce(&mut Conn<'_>) -> ScimResult<R>) -> ScimResult<R> {
        match &self.pool {
            DbPool::Sqlite(pool) => {
                let result = self.sqlite_writer.write(pool, f);
                if let (Ok(_), Some(checkpointer)) = (&result, &self.checkpointer) {
                    checkpointer.committed();
                }
                result
            }
            DbPool::Postgres(pool) => {
                on_pg_connection(pool, |c| c.transaction(|c| f(&mut Conn::Postgres(c))))
            }
        }
    }

    /// Runs statements that together make one write, atomically, with nothing to read or
    /// decide between them. On PostgreSQL they go as one statement ([`Conn::execute_all`]),
    /// atomic on its own: no `BEGIN` and `COMMIT` round trips around it. On SQLite they run
    /// in the writers' group commit, as [`Store::write`].
    pub fn write_all(&self, statements: Vec<Sql>) -> ScimResult<()> {
        match &self.pool {
            DbPool::Sqlite(_) => self.write(|c| c.execute_all(statements)),
            DbPool::Postgres(pool) => {
                on_pg_connection(pool, |c| Conn::Postgres(c).execute_all(statements))
            }
        }
    }

    /// Whether writes can be handed to a writer thread ([`Store::queued_write`]): SQLite.
    pub fn has_write_queue(&self) -> bool {
        self.write_queue.is_some()
    }

    /// Runs a write on SQLite's writer thread (`store::write_queue`) and awaits it without
    /// holding a thread meanwhile; `work` owns what it needs. Without a write queue
    /// (PostgreSQL, see [`Store::has_write_queue`]) it fails: run it with [`Store::write`].
    pub async fn queued_write<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Conn<'_>) -> ScimResult<R> + Send + 'static,
    ) -> ScimResult<R> {
        let Some(queue) = &self.write_queue else {
            return Err(ScimError::internal("no write queue on this database"));
        };
        let result = queue.write(work).await;
        if let (Ok(_), Some(checkpointer)) = (&result, &self.checkpointer) {
            checkpointer.committed();
        }
        result
    }

    /// Sets the memory the resource cache may take (SQLite on a kept file; 0 turns it
    /// off). [`resource_cache::DEFAULT_BUDGET`] until set.
    pub fn set_resource_cache_budget(&self, bytes: usize) {
        if let Some(cache) = &self.resource_cache {
            cache.set_budget(bytes);
        }
    }

    /// What the resource cache did (SQLite on a kept file; `None` without a cache).
    pub fn resource_cache_stats(&self) -> Option<resource_cache::CacheStats> {
        self.resource_cache.as_ref().map(|c| c.stats())
    }

    /// Pool usage: (open connections, idle connections, maximum size).
    pub fn pool_state(&self) -> (u32, u32, u32) {
        match &self.pool {
            DbPool::Sqlite(p) => (
                p.state().connections,
                p.state().idle_connections,
                p.max_size(),
            ),
            DbPool::Postgres(p) => (
                p.state().connections,
                p.state().idle_connections,
                p.max_size(),
            ),
        }
    }

    /// Refreshes the planner's statistics (PostgreSQL `ANALYZE`, SQLite `PRAGMA optimize`),
    /// after migrations and hourly, so that lookups keep using the right indexes.
    pub fn analyze(&self) -> ScimResult<()> {
        let q = match self.dialect() {
            Dialect::Sqlite => Sql::new("PRAGMA optimize"),
            Dialect::Postgres => Sql::new("ANALYZE"),
        };
        self.read(|c| c.execute(&q).map(|_| ()))
    }

    /// Copies the SQLite database, as of one moment, into the new file `path` (`VACUUM
    /// INTO`: a read transaction, so requests go on meanwhile). PostgreSQL has `pg_dump`.
    pub fn backup_into(&self, path: &str) -> ScimResult<()> {
        if self.dialect() != Dialect::Sqlite {
            return Err(ScimError::invalid_value(
                "a backup through scimd is for SQLite; back PostgreSQL up with pg_dump",
            ));
        }
        if std::path::Path::new(path).exists() {
            return Err(ScimError::invalid_value(format!("{path} already exists")));
        }
        let mut q = Sql::new("VACUUM INTO ");
        q.text(path);
        self.read(|c| c.execute(&q).map(|_| ())).map_err(|e| {
            ScimError::invalid_value(format!("the backup to {path} failed: {}", e.detail))
        })
    }

    /// True if a connection can be taken and answers a trivial query.
    pub fn ping(&self) -> bool {
        self.read(|c| c.execute(&Sql::new("SELECT 1")).map(|_| ()))
            .is_ok()
    }
}

/// Runs `f` on a PostgreSQL connection from the pool ([`pg_connection`]) and stamps its use.
fn on_pg_connection<R>(
    pool: &Pool<PgManager>,
    f: impl FnOnce(&mut PgConnection) -> ScimResult<R>,
) -> ScimResult<R> {
    let mut c = pg_connection(pool)?;
    let result = f(&mut c.conn);
    c.last_used = Instant::now();
    result
}

/// A PostgreSQL connection from the pool; one idle for longer than [`PG_IDLE_CHECK`] is
/// checked first, and replaced if its server went away.
fn pg_connection(pool: &Pool<PgManager>) -> ScimResult<PooledConnection<PgManager>> {
    // At most one try per pooled connection, plus a new one.
    for _ in 0..=pool.max_size() {
        let mut c = pool.get()?;
        if c.last_used.elapsed() < PG_IDLE_CHECK
            || run_raw(&mut c.conn, &Sql::new("SELECT 1")).is_ok()
        {
            return Ok(c);
        }
        // Dead: diesel marked it broken, so the pool drops it as it goes back.
    }
    Err(ScimError::unavailable(CONNECTION_LOST))
}

fn run_raw<C>(conn: &mut C, q: &Sql) -> Result<(), String>
where
    C: Connection,
    Sql: QueryFragment<C::Backend>,
{
    SqlRef::new(q)
        .execute(conn)
        .map(|_| ())
        .map_err(|e| format!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_file(path: &str, exclusive: bool) -> SqliteFile {
        SqliteFile {
            path: path.into(),
            exclusive,
        }
    }

    /// Every one of `n` reads (each on a connection of the pool) finds WAL mode.
    fn assert_wal_on_connections(store: &Store, n: usize) {
        for _ in 0..n {
            let mode = store
                .read(|c| c.first::<JournalMode>(&Sql::new("PRAGMA journal_mode")))
                .unwrap()
                .unwrap();
            assert_eq!(mode.journal_mode, "wal");
        }
    }

    #[test]
    fn parses_database_urls() {
        for (url, path, exclusive) in [
            ("sqlite://scimd.db", "scimd.db", true),
            ("sqlite:///var/lib/scimd.db", "/var/lib/scimd.db", true),
            ("sqlite:scimd.db", "scimd.db", true),
            (
                "sqlite:///var/lib/scimd.db?exclusive=true",
                "/var/lib/scimd.db",
                true,
            ),
            ("sqlite://scimd.db?exclusive=false", "scimd.db", false),
        ] {
            assert_eq!(
                DatabaseUrl::parse(url),
                Ok(DatabaseUrl::Sqlite(sqlite_file(path, exclusive))),
                "{url}"
            );
        }
        let unknown = DatabaseUrl::parse("sqlite://scimd.db?mode=ro").unwrap_err();
        assert!(unknown.contains("'mode=ro'"), "{unknown}");
        assert!(DatabaseUrl::parse("sqlite://scimd.db?exclusive=yes").is_err());
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
    }

    #[derive(QueryableByName)]
    struct JournalMode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }

    /// A store on a new SQLite file in a temporary directory.
    fn sqlite_store(connections: u32) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("scimd.db").display());
        let store = Store::open(&url, connections).unwrap();
        (dir, store)
    }

    /// A database made by the fifth-session schema (migrations 1–5) keeps its memberships
    /// and log rows when migration 6 rebuilds both tables clustered (WITHOUT ROWID; the log
    /// on (tenant_id, at, id), so without its `at` index), and the rebuilt `members` still
    /// cascades with its resources.
    #[test]
    fn sqlite_members_and_log_rebuilt_clustered_keep_their_rows() {
        use diesel::{Connection, RunQueryDsl, SqliteConnection};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        for _ in 0..5 {
            conn.run_next_migration(SQLITE_MIGRATIONS).unwrap();
        }
        for statement in [
            "INSERT INTO tenants (id, name, created_at) VALUES ('t', 'T', 'x')",
            "INSERT INTO resources (tenant_id, id, resource_type, unique_name, created, last_modified, version, doc, search_doc) VALUES ('t', 'g', 'Group', 'g', 'x', 'x', 1, '{}', '{}'), ('t', 'u', 'User', 'u', 'x', 'x', 1, '{}', '{}'), ('t', 'v', 'User', 'v', 'x', 'x', 1, '{}', '{}')",
            "INSERT INTO members (tenant_id, group_id, member_id, member_type) VALUES ('t', 'g', 'u', 'User'), ('t', 'g', 'v', 'User')",
            "INSERT INTO provisioning_log (tenant_id, id, at, method, outcome, status, resource_name) VALUES ('t', 'l1', '2026-11-29T00:00:00.000000Z', 'PATCH', 'success', 204, 'g')",
        ] {
            diesel::sql_query(statement).execute(&mut conn).unwrap();
        }
        drop(conn);

        let store = Store::open(&format!("sqlite://{}", path.display()), 2).unwrap();
        #[derive(QueryableByName)]
        struct Named {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let names = |q: &str| -> Vec<String> {
            let q = Sql::new(q);
            let mut v: Vec<String> = store
                .read(|c| c.load::<Named>(&q))
                .unwrap()
                .into_iter()
                .map(|n| n.name)
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            names("SELECT member_id AS name FROM members WHERE tenant_id = 't' AND group_id = 'g'"),
            ["u", "v"]
        );
        assert_eq!(
            names("SELECT id || ' ' || resource_name AS name FROM provisioning_log"),
            ["l1 g"]
        );
        assert_eq!(
            names("SELECT name FROM sqlite_master WHERE sql LIKE '%WITHOUT ROWID%'"),
            ["members", "provisioning_log"]
        );
        assert_eq!(
            names("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('members', 'provisioning_log') AND sql IS NOT NULL"),
            ["members_by_member_group"]
        );
        // Deleting a user still removes its memberships (the foreign keys came along).
        let delete = Sql::new("DELETE FROM resources WHERE tenant_id = 't' AND id = 'u'");
        store.write(|c| c.execute(&delete)).unwrap();
        assert_eq!(
            names("SELECT member_id AS name FROM members WHERE tenant_id = 't'"),
            ["v"]
        );
    }

    /// Kept to the process (the default): every connection of the store (readers, the
    /// writers' queue, the checkpoint thread) shares the file, with the write-ahead-log
    /// index in memory (no `-shm` file); the file keeps a name URI syntax would misread;
    /// once the store is closed, a shared open sees what it wrote.
    #[test]
    fn an_exclusive_sqlite_file_is_shared_by_the_stores_connections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd#name 50%.db");
        let url = format!("sqlite://{}", path.display());
        let store = Store::open(&url, 4).unwrap();
        let now = chrono::Utc::now();
        let tenants: Vec<_> = (0..20)
            .map(|i| store.create_tenant(&format!("T{i}"), now).unwrap())
            .collect();
        for tenant in &tenants {
            let found = store.get_tenant(&tenant.id).unwrap().expect("tenant");
            assert_eq!(found.name, tenant.name);
        }
        assert_wal_on_connections(&store, 4);
        assert!(path.exists(), "the file keeps its name: {}", path.display());
        let shm = format!("{}-shm", path.display());
        assert!(!std::path::Path::new(&shm).exists(), "{shm} exists");
        drop(store);

        let plain =
            Store::open(&format!("sqlite://{}?exclusive=false", path.display()), 1).unwrap();
        let last = tenants.last().unwrap();
        assert_eq!(plain.get_tenant(&last.id).unwrap().unwrap().name, "T19");
    }

    #[test]
    fn an_exclusive_sqlite_target_is_a_file_uri_naming_the_vfs() {
        assert_eq!(
            sqlite_file("/var/lib/a.db", false).target(),
            "/var/lib/a.db"
        );
        assert_eq!(
            sqlite_file("/var/lib/a.db", true).target(),
            "file:/var/lib/a.db?vfs=unix-excl"
        );
        assert_eq!(
            sqlite_file("data/a?b#c%d.db", true).target(),
            "file:data/a%3Fb%23c%25d.db?vfs=unix-excl"
        );
    }

    #[test]
    fn a_new_sqlite_file_is_in_wal_mode_on_every_connection() {
        let (_dir, store) = sqlite_store(4);
        assert_wal_on_connections(&store, 4);
    }

    #[derive(QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }

    /// The bundled SQLite is built with `.cargo/config.toml`'s flags (a build that lost them
    /// would still work, only slower: nothing else would notice).
    #[test]
    fn the_bundled_sqlite_is_built_with_the_projects_flags() {
        let (_dir, store) = sqlite_store(2);
        let options: Vec<String> = store
            .read(|c| c.load::<CompileOption>(&Sql::new("PRAGMA compile_options")))
            .unwrap()
            .into_iter()
            .map(|o| o.compile_options)
            .collect();
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "DEFAULT_MEMSTATUS=0 not in {options:?}"
        );
        assert!(
            options.iter().any(|o| o == "THREADSAFE=2"),
            "THREADSAFE=2 not in {options:?}"
        );
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "ENABLE_MEMORY_MANAGEMENT in {options:?}"
        );
        // Statement journals stay in memory: spilled to a temporary file they cost a
        // pwrite per page (most of a seed's system calls), and thresholds above SQLite's
        // default of 64 KiB failed with SQLITE_FULL (`.cargo/config.toml`).
        assert!(
            options.iter().any(|o| o == "STMTJRNL_SPILL=-1"),
            "STMTJRNL_SPILL=-1 not in {options:?}"
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://user:secret@host/db"),
            "postgres://user:***@host/db"
        );
        assert_eq!(redact_url("sqlite://scimd.db"), "sqlite://scimd.db");
    }
}
