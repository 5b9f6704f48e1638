//! SQLite group commit: writers of this process take turns on one open transaction, each
//! after the first in its own savepoint, and the last of a run of queued writers commits for
//! all of them.
//!
//! SQLite has one writer at a time. Committing every write on its own writes every page it
//! touched to the WAL once per write — the tenant's index pages, the provisioning log's
//! last page, the per-tenant count — and takes and frees the database's write lock each
//! time. When writers queue (an Entra sync sends 5 at a time; a load of PATCHes more), the
//! writer that finds others waiting leaves the transaction open and hands it on; the one
//! that finds nobody waiting (or the batch full) commits, and every writer of the batch
//! answers only after that COMMIT succeeded. A writer alone commits at once, as before.
//!
//! Each writer still runs its own work on its own thread (nothing is sent between
//! threads but the connection), so the work needs no `Send` or `'static` bound. The first
//! writer of a batch runs in the transaction itself (a writer alone costs what it did
//! without batching); each later one runs in a savepoint. A writer whose work fails ends
//! the batch: the writers before it are committed, nothing of its own is written.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

use super::resource_cache::ResourceCache;
use super::Conn;
use crate::error::{ScimError, ScimResult};
use crate::sync::{lock, wait};

/// The most writes committed together: bounds how long the first of them waits.
pub const MAX_BATCH: usize = 32;

type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;
type SqlitePooled = PooledConnection<ConnectionManager<SqliteConnection>>;

/// The outcome of one batch's COMMIT, which every writer in the batch waits for.
#[derive(Default)]
struct Batch {
    outcome: Mutex<Option<Result<(), ScimError>>>,
    done: Condvar,
}

impl Batch {
    fn finish(&self, outcome: Result<(), ScimError>) {
        *lock(&self.outcome) = Some(outcome);
        self.done.notify_all();
    }

    fn wait(&self) -> Result<(), ScimError> {
        let mut outcome = lock(&self.outcome);
        loop {
            if let Some(o) = outcome.as_ref() {
                return o.clone();
            }
            outcome = wait(&self.done, outcome);
        }
    }
}

/// The transaction being built: its connection and its batch.
struct Open {
    conn: SqlitePooled,
    batch: Arc<Batch>,
    writes: usize,
}

/// The writer's state between turns: the open batch, if any, and the connection kept for
/// the next batch.
#[derive(Default)]
struct Turn {
    open: Option<Open>,
    /// The connection of the last batch, kept out of the pool: only writers use it, so its
    /// page cache (the indexes a write descends) stays valid from one batch to the next.
    /// Back in the pool, the next reader's transaction would have found the database changed
    /// and emptied its cache, and the next writer would have read its pages again.
    kept: Option<SqlitePooled>,
}

impl Turn {
    /// The connection for a new transaction (the one kept from the last, else one from the
    /// pool), in `BEGIN IMMEDIATE`.
    fn begin(&mut self, pool: &SqlitePool) -> ScimResult<SqlitePooled> {
        let mut conn = match self.kept.take() {
            Some(conn) => conn,
            None => pool.get()?,
        };
        AnsiTransactionManager::begin_transaction_sql(&mut *conn, "BEGIN IMMEDIATE")?;
        Ok(conn)
    }

    /// After a transaction's end: its connection is kept for the next one only after a
    /// clean end, and only if the pool has other connections for readers (a connection in
    /// doubt goes back to the pool, which checks it).
    fn end(&mut self, conn: SqlitePooled, clean: bool, pool: &SqlitePool) {
        if clean && pool.max_size() > 1 {
            self.kept = Some(conn);
        }
    }
}

/// The SQLite writer's turn (held while one writer runs its work) and the open batch.
#[derive(Default)]
pub struct GroupCommit {
    turn: Mutex<Turn>,
    /// Writers waiting for the turn: while there are some, the transaction stays open.
    waiting: AtomicUsize,
    /// Told when each write transaction begins and ends (a read that overlapped one is
    /// not kept).
    cache: Option<Arc<ResourceCache>>,
}

impl GroupCommit {
    pub fn new(cache: Option<Arc<ResourceCache>>) -> GroupCommit {
        GroupCommit {
            cache,
            ..GroupCommit::default()
        }
    }

    /// `BEGIN IMMEDIATE` on the turn's connection, the cache told.
    fn begin(&self, turn: &mut Turn, pool: &SqlitePool) -> ScimResult<SqlitePooled> {
        let conn = turn.begin(pool)?;
        if let Some(cache) = &self.cache {
            cache.transaction_began();
        }
        Ok(conn)
    }

    /// After the transaction's COMMIT or ROLLBACK, the cache told.
    fn end(&self, turn: &mut Turn, conn: SqlitePooled, clean: bool, pool: &SqlitePool) {
        turn.end(conn, clean, pool);
        if let Some(cache) = &self.cache {
            cache.transaction_ended();
        }
    }

    /// Runs `f` in the writers' transaction and returns its result once it is committed.
    pub fn write<R>(
        &self,
        pool: &SqlitePool,
        f: impl FnOnce(&mut Conn<'_>) -> ScimResult<R>,
    ) -> ScimResult<R> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut turn = lock(&self.turn);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        if turn.open.is_none() {
            // The turn first, then a connection: queued writers hold none, so readers
            // always find one.
            let conn = self.begin(&mut turn, pool)?;
            turn.open = Some(Open {
                conn,
                batch: Arc::default(),
                writes: 0,
            });
        }
        let open = turn.open.as_mut().expect("a transaction was just opened");
        open.writes += 1;
        let first = open.writes == 1;
        let result = run_in_batch(&mut open.conn, first, |c| f(&mut Conn::Sqlite(c)));
        let succeeded = matches!(result, Ok(Ok(_)));
        let hand_on =
            succeeded && open.writes < MAX_BATCH && self.waiting.load(Ordering::SeqCst) > 0;
        let committed = if hand_on {
            let batch = open.batch.clone();
            drop(turn);
            batch.wait()
        } else {
            let mut open = turn.open.take().expect("the open transaction");
            let outcome = if first && !succeeded {
                // Alone in the batch and failed: nothing to keep.
                rollback(&mut open.conn)
            } else {
                commit(&mut open.conn)
            };
            open.batch.finish(outcome.clone());
            self.end(
                &mut turn,
                open.conn,
                outcome.is_ok() && result.is_ok(),
                pool,
            );
            drop(turn);
            outcome
        };
        match result {
            Err(panic) => resume_unwind(panic),
            Ok(Err(e)) => Err(e),
            Ok(Ok(value)) => committed.map(|()| value),
        }
    }

    /// Runs `f` in a transaction of its own, once no batch is open, and commits it before
    /// any other writer runs: for a caller that batches writes itself (the writer thread
    /// of `write_queue`, whose writes each take a savepoint of `f`'s transaction).
    ///
    /// It never joins another writer's batch, so that its writes' savepoints are never
    /// nested inside a savepoint of that batch: three levels of savepoints and a page cache
    /// spilling to the write-ahead log made SQLite fail inserts with SQLITE_FULL ("database
    /// or disk is full", no system call failing) and roll the whole transaction back
    /// (docs/performance.md, Finding 11); two levels never did.
    pub fn write_batch<R>(
        &self,
        pool: &SqlitePool,
        f: impl FnOnce(&mut SqliteConnection) -> ScimResult<R>,
    ) -> ScimResult<R> {
        let mut turn = lock(&self.turn);
        // A batch open and handed on between two of its writers: wait for its COMMIT.
        while let Some(open) = &turn.open {
            let batch = open.batch.clone();
            drop(turn);
            let _ = batch.wait();
            turn = lock(&self.turn);
        }
        let mut conn = self.begin(&mut turn, pool)?;
        let result = catch_unwind(AssertUnwindSafe(|| f(&mut conn)));
        let outcome = match &result {
            Ok(Ok(_)) => commit(&mut conn),
            _ => rollback(&mut conn),
        };
        self.end(&mut turn, conn, outcome.is_ok() && result.is_ok(), pool);
        drop(turn);
        match result {
            Err(panic) => resume_unwind(panic),
            Ok(Err(e)) => Err(e),
            Ok(Ok(value)) => outcome.map(|()| value),
        }
    }

    /// Runs `f` while no write runs and no batch is open (writers wait for it), or returns
    /// `None` at once when a batch is open. The checkpoint thread finishes a checkpoint
    /// here so that it covers every committed frame: the next writer then starts the
    /// write-ahead log over instead of appending to it (see `checkpoint`).
    pub fn between_batches<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        let turn = lock(&self.turn);
        // The turn is held while `f` runs: no writer begins meanwhile.
        turn.open.is_none().then(f)
    }
}

/// Runs one write of a batch on the batch's connection. The transaction's first write runs
/// in the transaction itself: a failure rolls the whole transaction back, which holds
/// nothing else yet, so it needs no savepoint (inside one, SQLite copies every page the
/// write changes to the statement journal: docs/performance.md, Findings 15 and 19). Each
/// later write runs in a savepoint of its own (`transaction` nests: released on Ok, rolled
/// back to on Err or on a panic), so that its failure leaves the writes before it whole.
/// A panic is returned, not raised, with the savepoint already undone.
pub(super) fn run_in_batch<R>(
    conn: &mut SqliteConnection,
    first: bool,
    f: impl FnOnce(&mut SqliteConnection) -> ScimResult<R>,
) -> std::thread::Result<ScimResult<R>> {
    if first {
        return catch_unwind(AssertUnwindSafe(|| f(conn)));
    }
    let result = catch_unwind(AssertUnwindSafe(|| conn.transaction(f)));
    if result.is_err() {
        let _ = AnsiTransactionManager::rollback_transaction(conn);
    }
    result
}

/// ROLLBACK of a batch whose only writer failed.
fn rollback(conn: &mut SqliteConnection) -> Result<(), ScimError> {
    AnsiTransactionManager::rollback_transaction(conn).map_err(ScimError::from)
}

/// COMMIT, or ROLLBACK when it fails (a connection left in a broken state is dropped by
/// the pool as it goes back).
fn commit(conn: &mut SqliteConnection) -> Result<(), ScimError> {
    AnsiTransactionManager::commit_transaction(conn).map_err(|e| {
        tracing::error!(error = %e, "SQLite commit failed");
        let _ = AnsiTransactionManager::rollback_transaction(conn);
        ScimError::from(e)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    use diesel::QueryableByName;

    use crate::error::{ScimError, ScimResult};
    use crate::store::{Conn, Sql, Store};

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        x: i64,
    }

    fn store() -> (tempfile::TempDir, Store) {
        store_with_pool(4)
    }

    fn store_with_pool(connections: u32) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("scimd.db").display());
        let store = Store::open(&url, connections).unwrap();
        store
            .write(|c| c.execute(&Sql::new("CREATE TABLE t (x INTEGER PRIMARY KEY)")))
            .unwrap();
        (dir, store)
    }

    fn insert(c: &mut Conn<'_>, x: i64) -> ScimResult<()> {
        c.execute(Sql::new("INSERT INTO t (x) VALUES (").int(x).push(")"))
            .map(|_| ())
    }

    fn rows(store: &Store) -> Vec<i64> {
        store
            .read(|c| c.load::<Row>(&Sql::new("SELECT x FROM t ORDER BY x")))
            .unwrap()
            .into_iter()
            .map(|r| r.x)
            .collect()
    }

    /// Waits (in a writer's work) until `n` other writers queue behind it.
    fn wait_for_queue(store: &Store, n: usize) {
        let start = Instant::now();
        while store.sqlite_writer.waiting.load(Ordering::SeqCst) < n {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no writer queued"
            );
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Starts a writer that inserts `rows`, waits (holding the turn) until another writer
    /// queues behind it, so that it hands its open transaction on, then inserts `after`.
    /// Returns once it holds the turn.
    fn first_writer(
        store: &Arc<Store>,
        rows: &'static [i64],
        after: &'static [i64],
    ) -> thread::JoinHandle<ScimResult<()>> {
        let handle = {
            let store = store.clone();
            thread::spawn(move || {
                store.write(|c| {
                    rows.iter().try_for_each(|&x| insert(c, x))?;
                    wait_for_queue(&store, 1);
                    after.iter().try_for_each(|&x| insert(c, x))
                })
            })
        };
        while store.sqlite_writer.turn.try_lock().is_ok() {
            thread::yield_now();
        }
        handle
    }

    #[test]
    fn a_failing_writer_in_a_batch_leaves_the_writers_before_it_committed() {
        let (_dir, store) = store();
        let store = Arc::new(store);
        let first = first_writer(&store, &[1], &[2]);
        // The second writer runs in the first one's transaction (it sees its rows) and
        // fails on a duplicate key after writing a row of its own.
        let second = store.write(|c| {
            insert(c, 3)?;
            insert(c, 2)
        });
        assert_eq!(first.join().unwrap(), Ok(()));
        let err = second.unwrap_err();
        assert_eq!(err.status, 409, "{err:?}");
        assert_eq!(rows(&store), vec![1, 2]);
    }

    #[test]
    fn a_failing_writer_alone_writes_nothing() {
        let (_dir, store) = store();
        let err = store
            .write(|c| {
                insert(c, 1)?;
                insert(c, 1)
            })
            .unwrap_err();
        assert_eq!(err.status, 409, "{err:?}");
        assert_eq!(rows(&store), Vec::<i64>::new());
        store.write(|c| insert(c, 2)).unwrap();
        assert_eq!(rows(&store), vec![2]);
    }

    #[test]
    fn a_panicking_writer_takes_only_its_own_work_with_it() {
        let (_dir, store) = store();
        let store = Arc::new(store);
        let first = first_writer(&store, &[1], &[]);
        let panicked = thread::scope(|s| {
            s.spawn(|| {
                store.write(|c| -> ScimResult<()> {
                    insert(c, 5)?;
                    panic!("bug in a writer");
                })
            })
            .join()
            .is_err()
        });
        assert!(panicked);
        assert_eq!(first.join().unwrap(), Ok(()));
        store.write(|c| insert(c, 2)).unwrap();
        assert_eq!(rows(&store), vec![1, 2]);
    }

    #[test]
    fn concurrent_writers_get_exactly_what_was_committed() {
        let (_dir, store) = store();
        let store = Arc::new(store);
        // 8 threads × 50 writes; every write of an odd key is also tried a second time
        // (a duplicate: 409). Each answer must match what is stored.
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let store = store.clone();
                thread::spawn(move || {
                    let mut ok = Vec::new();
                    for i in 0..50 {
                        let x = t * 1000 + i;
                        let dup = x % 2 == 1;
                        let r: Result<(), ScimError> = store.write(|c| {
                            insert(c, x)?;
                            if dup {
                                insert(c, x)?;
                            }
                            Ok(())
                        });
                        match r {
                            Ok(()) => ok.push(x),
                            Err(e) => assert_eq!(e.status, 409, "{e:?}"),
                        }
                    }
                    ok
                })
            })
            .collect();
        let mut ok: Vec<i64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        ok.sort_unstable();
        assert_eq!(ok.len(), 8 * 25);
        assert_eq!(rows(&store), ok);
    }

    #[test]
    fn the_writer_keeps_its_connection_only_when_readers_have_others() {
        let (_dir, store) = store();
        store.write(|c| insert(c, 1)).unwrap();
        // Pool of 4: one kept by the writer between batches, the others idle.
        let (open, idle, _) = store.pool_state();
        assert_eq!(idle + 1, open, "{open} open, {idle} idle");
        assert_eq!(rows(&store), vec![1]);

        let (_dir, single) = store_with_pool(1);
        single.write(|c| insert(c, 7)).unwrap();
        // Its only connection is back in the pool: a read does not wait for it.
        assert_eq!(single.pool_state().1, 1);
        assert_eq!(rows(&single), vec![7]);
    }

    #[test]
    fn the_kept_writer_connection_sees_writes_made_by_another_process() {
        let (dir, store) = store();
        store.write(|c| insert(c, 1)).unwrap();
        // Another process (the CLI, an older replica on the same file) writes meanwhile.
        let other = Store::open(
            &format!("sqlite://{}", dir.path().join("scimd.db").display()),
            2,
        )
        .unwrap();
        other.write(|c| insert(c, 2)).unwrap();
        drop(other);
        // The kept connection's next batch reads the current database, not its cache.
        let err = store.write(|c| insert(c, 2)).unwrap_err();
        assert_eq!(err.status, 409, "{err:?}");
        store
            .write(|c| {
                c.execute(&Sql::new("UPDATE t SET x = x + 10 WHERE x = 2"))
                    .map(|_| ())
            })
            .unwrap();
        assert_eq!(rows(&store), vec![1, 12]);
    }
}
