//! SQLite writes run by one thread of their own. A request hands its write over (owned
//! work: its statements, or a closure that owns what it needs) and awaits the outcome
//! without holding a thread; the writer thread runs every write queued by then in one
//! transaction of its own, taken in turn with the group commit's writers
//! (`GroupCommit::write_batch`), the first in the transaction itself and each later one in
//! its own savepoint, and answers them all after the COMMIT.
//!
//! A write on a thread of the blocking pool (`Store::write`) goes from the HTTP worker to
//! that thread, waits there for the writers' turn (a mutex: a wake-up when handed on) and
//! for its batch's COMMIT (another), and goes back: with 5 writes in flight on 2 cores, the
//! hand-offs took longer than the write itself (Finding 11). Here the writer thread runs
//! one write after the other with no hand-off between them.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::Arc;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sqlite::SqliteConnection;

use super::group_commit::{run_in_batch, GroupCommit, MAX_BATCH};
use super::Conn;
use crate::error::{ScimError, ScimResult};

type Outcome = ScimResult<Box<dyn Any + Send>>;
type Work = Box<dyn FnOnce(&mut Conn<'_>) -> Outcome + Send>;

struct Job {
    work: Work,
    done: tokio::sync::oneshot::Sender<Outcome>,
}

/// The write queue of one SQLite database and its writer thread. Dropping the queue stops
/// the thread and waits for it, so that its pool (and the connections in it) is closed
/// before the process exits: SQLite checkpoints and removes the WAL when its last
/// connection closes, and a CLI command would otherwise leave its frames to be recovered
/// at the next start.
pub struct WriteQueue {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WriteQueue {
    pub fn start(
        pool: Pool<ConnectionManager<SqliteConnection>>,
        writer: Arc<GroupCommit>,
    ) -> Result<WriteQueue, String> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("scimd-writer".into())
            .spawn(move || run(&queue, &pool, &writer))
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        Ok(WriteQueue {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Runs `work` in the writer thread's transaction (in a savepoint of its own unless it
    /// is the transaction's first write); resolves once that is committed, or with the
    /// error that rolled its work back.
    pub async fn write<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Conn<'_>) -> ScimResult<R> + Send + 'static,
    ) -> ScimResult<R> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let work: Work = Box::new(move |c| work(c).map(|r| Box::new(r) as Box<dyn Any + Send>));
        self.jobs
            .as_ref()
            .ok_or_else(|| ScimError::unavailable("the SQLite writer thread has stopped"))?
            .send(Job { work, done })
            .map_err(|_| ScimError::unavailable("the SQLite writer thread has stopped"))?;
        let value = outcome
            .await
            .map_err(|_| ScimError::internal("the SQLite writer thread dropped a write"))??;
        value
            .downcast::<R>()
            .map(|r| *r)
            .map_err(|_| ScimError::internal("a write's result had another type"))
    }
}

impl Drop for WriteQueue {
    fn drop(&mut self) {
        // The thread ends once the queue is closed and the writes in it are run.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Whether `conn` is still inside the batch's transaction.
fn in_transaction(conn: &mut SqliteConnection) -> bool {
    matches!(
        AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(Some(_))
    )
}

fn run(
    queue: &mpsc::Receiver<Job>,
    pool: &Pool<ConnectionManager<SqliteConnection>>,
    writer: &GroupCommit,
) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (works, dones): (VecDeque<Work>, VecDeque<_>) =
            jobs.into_iter().map(|j| (j.work, j.done)).unzip();
        run_batch(works, dones, pool, writer);
    }
}

/// Runs one write's work on the writer thread's connection, as the transaction's first
/// write or in a savepoint (`run_in_batch`); a panic is its error.
fn run_work(work: Work, conn: &mut SqliteConnection, first: bool) -> Outcome {
    run_in_batch(conn, first, |c| work(&mut Conn::Sqlite(c)))
        .unwrap_or_else(|_| Err(ScimError::internal("a write panicked")))
}

/// Runs `works` in one transaction and answers each. The first runs in the transaction
/// itself, the others each in a savepoint (`run_in_batch`, which says why). Should the
/// first fail, the ROLLBACK undoes it, and the others go on in a new transaction.
fn run_batch(
    mut works: VecDeque<Work>,
    mut dones: VecDeque<tokio::sync::oneshot::Sender<Outcome>>,
    pool: &Pool<ConnectionManager<SqliteConnection>>,
    writer: &GroupCommit,
) {
    while let Some(first) = works.pop_front() {
        let mut first_failed = false;
        let committed = writer.write_batch(pool, |conn| {
            let outcome = run_work(first, conn, true);
            let mut outcomes = match outcome {
                Ok(value) => vec![Ok(value)],
                Err(e) => {
                    first_failed = true;
                    return Err(e);
                }
            };
            for work in works.drain(..) {
                // One that fails (or panics) is rolled back alone.
                let outcome = run_work(work, conn, false);
                if let Err(e) = &outcome {
                    if !in_transaction(conn) {
                        // SQLite ended the whole transaction on this error (it does on
                        // SQLITE_FULL, for one): the writes before it are gone too.
                        return Err(ScimError::unavailable(format!(
                            "the database rolled back a batch of writes ({}); retry",
                            e.detail
                        )));
                    }
                }
                outcomes.push(outcome);
            }
            Ok(outcomes)
        });
        match committed {
            Ok(outcomes) => {
                for (done, outcome) in dones.drain(..).zip(outcomes) {
                    let _ = done.send(outcome);
                }
            }
            Err(e) if first_failed => {
                // Rolled back with nothing but the first write in it; the rest have not run.
                if let Some(done) = dones.pop_front() {
                    let _ = done.send(Err(e));
                }
            }
            Err(e) => {
                for done in dones.drain(..) {
                    let _ = done.send(Err(e.clone()));
                }
                works.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use futures::future::join_all;

    use crate::error::ScimError;
    use crate::store::{Sql, Store};

    #[derive(diesel::QueryableByName)]
    struct X {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        x: i64,
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("scimd.db").display());
        let store = Store::open(&url, 2).unwrap();
        let q = Sql::new("CREATE TABLE t (x INTEGER PRIMARY KEY)");
        store.write(|c| c.execute(&q)).unwrap();
        (dir, store)
    }

    fn stored(store: &Store) -> Vec<i64> {
        let q = Sql::new("SELECT x FROM t ORDER BY x");
        let rows = store.read(|c| c.load::<X>(&q)).unwrap();
        rows.into_iter().map(|r| r.x).collect()
    }

    #[test]
    fn dropping_the_store_stops_the_writer_thread_and_closes_the_database() {
        let (dir, store) = store();
        let one =
            block_on(store.queued_write(|c| c.execute(&Sql::new("INSERT INTO t VALUES (1)"))));
        assert!(one.is_ok());
        let wal = dir.path().join("scimd.db-wal");
        assert!(
            wal.exists(),
            "a write in WAL mode leaves its frames in the WAL"
        );
        drop(store);
        // SQLite checkpoints and removes the WAL when the last connection closes, which the
        // writer thread's pool is among: a CLI command used to leave its frames behind.
        assert!(!wal.exists(), "the WAL outlived the store");
        let store = Store::open(
            &format!("sqlite://{}", dir.path().join("scimd.db").display()),
            2,
        );
        assert_eq!(stored(&store.unwrap()), [1]);
    }

    #[test]
    fn queued_writes_answer_each_its_own_outcome_and_a_failure_or_panic_undoes_only_itself() {
        let (_dir, store) = store();
        assert!(store.has_write_queue());
        // Handed over together (the writer thread takes what is queued as one batch).
        let writes = (1..=6).map(|x| {
            store.queued_write(move |c| {
                let mut q = Sql::new("INSERT INTO t (x) VALUES (");
                q.int(x).push(")");
                c.execute(&q)?;
                match x {
                    // Written, then failed: its row must go with it.
                    3 => Err(ScimError::invalid_value("three is refused")),
                    5 => panic!("five panics"),
                    _ => Ok(x * 10),
                }
            })
        });
        let outcomes = block_on(join_all(writes));
        let answers: Vec<_> = outcomes
            .iter()
            .map(|o| o.as_ref().map_err(|e| e.status))
            .collect();
        assert_eq!(
            answers,
            [Ok(&10), Ok(&20), Err(400), Ok(&40), Err(500), Ok(&60)]
        );
        assert_eq!(stored(&store), [1, 2, 4, 6]);
        // The thread goes on after a panic.
        let seven =
            block_on(store.queued_write(|c| c.execute(&Sql::new("INSERT INTO t (x) VALUES (7)"))));
        assert_eq!(seven.unwrap(), 1);
        assert_eq!(stored(&store), [1, 2, 4, 6, 7]);
    }

    /// The first write of a transaction runs without a savepoint: when it fails after
    /// writing (or panics), the ROLLBACK takes its rows and nothing else, and the writes
    /// queued behind it still run and are answered.
    #[test]
    fn a_failing_first_write_is_undone_alone_and_the_writes_behind_it_still_run() {
        let (_dir, store) = store();
        for failing in [1, 2] {
            let base = failing * 100;
            let writes = (base + 1..=base + 4).map(|x| {
                store.queued_write(move |c| {
                    let mut q = Sql::new("INSERT INTO t (x) VALUES (");
                    q.int(x).push(")");
                    c.execute(&q)?;
                    match (failing, x % 100) {
                        (1, 1) => Err(ScimError::invalid_value("refused after writing")),
                        (2, 1) => panic!("the first write panics"),
                        _ => Ok(x),
                    }
                })
            });
            let outcomes = block_on(join_all(writes));
            let answers: Vec<_> = outcomes
                .iter()
                .map(|o| o.as_ref().map(|x| *x).map_err(|e| e.status))
                .collect();
            let refused = if failing == 1 { 400 } else { 500 };
            assert_eq!(
                answers,
                [Err(refused), Ok(base + 2), Ok(base + 3), Ok(base + 4)]
            );
        }
        assert_eq!(stored(&store), [102, 103, 104, 202, 203, 204]);
    }

    #[test]
    fn a_queued_write_fails_on_a_duplicate_and_writes_nothing() {
        let (_dir, store) = store();
        let insert = |store: &Store| {
            block_on(store.queued_write(|c| {
                c.execute(&Sql::new("INSERT INTO t (x) VALUES (1)"))?;
                c.execute(&Sql::new("INSERT INTO t (x) VALUES (1)"))
            }))
        };
        assert_eq!(insert(&store).unwrap_err().status, 409);
        assert!(stored(&store).is_empty());
    }

    #[test]
    fn a_write_that_ends_the_transaction_fails_its_whole_batch_and_nothing_acknowledged_is_lost() {
        let (_dir, store) = store();
        // Write 3 ends the transaction under its savepoint, as SQLite does on SQLITE_FULL:
        // the writes of its batch before it are gone with it and must not be acknowledged.
        let writes = (1..=5).map(|x| {
            store.queued_write(move |c| {
                let mut q = Sql::new("INSERT INTO t (x) VALUES (");
                q.int(x).push(")");
                c.execute(&q)?;
                if x == 3 {
                    c.execute(&Sql::new("ROLLBACK"))?;
                    return Err(ScimError::internal("database or disk is full"));
                }
                Ok(x)
            })
        });
        let outcomes = block_on(join_all(writes));
        let kept = stored(&store);
        for (x, outcome) in (1..=5).zip(&outcomes) {
            match outcome {
                Ok(_) => assert!(kept.contains(&x), "write {x} acknowledged but lost"),
                Err(e) => {
                    assert!(!kept.contains(&x), "write {x} failed but kept");
                    // Write 3 gets its own error when it was first in its transaction
                    // (nothing else was in it); writes lost with it get 503.
                    if x != 3 || e.status != 500 {
                        assert_eq!(e.status, 503, "write {x}: {e:?}");
                    }
                }
            }
        }
        assert!(outcomes[2].is_err());
        // The writer thread goes on with a new transaction.
        let six =
            block_on(store.queued_write(|c| c.execute(&Sql::new("INSERT INTO t (x) VALUES (6)"))));
        assert_eq!(six.unwrap(), 1);
        assert!(stored(&store).contains(&6));
    }
}
