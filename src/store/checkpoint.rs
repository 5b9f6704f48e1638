//! SQLite WAL checkpoints on a thread of their own, off the writers' path.
//!
//! A checkpoint copies the pages committed to the write-ahead log back into the database
//! file and syncs both files. Left to SQLite (`wal_autocheckpoint`), it runs inside the
//! COMMIT of whichever write pushed the log past 1 000 pages: that writer holds the
//! group commit's turn for the checkpoint's copying and its two `fsync`s, and every writer
//! queued behind it waits (~400 checkpoints in the writers' path per Entra sync of 10 000
//! users). Here a writer only signals that it committed, and this thread checkpoints at most
//! every [`INTERVAL`] while writes go on:
//!
//! - a `PASSIVE` checkpoint, which never waits for readers or writers, copies what was
//!   committed so far while writers go on;
//! - when the log has grown past [`RESTART_FRAMES`], a `RESTART` checkpoint runs between two
//!   batches of the group commit (writers wait for it; it copies only what was committed
//!   during the first, and waits up to [`RESTART_WAIT`] for readers of older snapshots to
//!   finish). It leaves every committed frame copied and no reader in the log, so the next
//!   writer starts the log over from its beginning. Under a steady load writers leave no
//!   moment between commits for a `PASSIVE` checkpoint to finish in, and readers would keep
//!   a finished one from restarting the log: without this the log file grew for as long as
//!   the load lasted (148 MiB in an Entra sync of 10 000 users), and readers look pages up
//!   in it.
//!
//! Once writes stop for [`IDLE`], a `TRUNCATE` checkpoint (between batches, like `RESTART`)
//! copies what is left and cuts the log file to zero bytes. SQLite never shrinks the file
//! otherwise: it starts the log over at its beginning and keeps the file at its largest size
//! (60-80 MiB after an Entra sync) for as long as the database is open.
//!
//! SQLite's own automatic checkpoint stays on as a backstop, at [`BACKSTOP_PAGES`], should
//! this thread fall behind.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diesel::sqlite::SqliteConnection;
use diesel::Connection;

use super::group_commit::GroupCommit;
use super::{Conn, Sql};
use crate::sync::{lock, wait, wait_timeout};

/// The least time between two checkpoints while writes go on.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// The log size (frames, 4 KiB pages each) past which a checkpoint is finished between two
/// batches of writes, so that the log starts over.
pub const RESTART_FRAMES: i32 = 4096;

/// How long a `RESTART` checkpoint waits for readers (its connection's busy timeout);
/// writers wait as long.
pub const RESTART_WAIT: Duration = Duration::from_millis(20);

/// How long writes must have stopped before the log file is cut to zero bytes.
pub const IDLE: Duration = Duration::from_secs(1);

/// SQLite's automatic checkpoint on every connection (`PRAGMA wal_autocheckpoint`, pages):
/// only reached when [`Checkpointer`] falls behind (SQLite's default is 1 000).
pub const BACKSTOP_PAGES: u32 = 20_000;

/// The row `PRAGMA wal_checkpoint` returns.
#[derive(diesel::QueryableByName)]
struct CheckpointRow {
    /// 1 when a writer or reader kept the checkpoint from finishing.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
    /// Frames in the log.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
    /// Frames copied back into the database so far.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    checkpointed: i32,
}

/// What the thread is told.
#[derive(Default)]
struct Signal {
    /// Set by a commit, cleared by the checkpoint that covers it.
    committed: bool,
    /// Set when the [`Checkpointer`] is dropped.
    stop: bool,
}

#[derive(Default)]
struct Shared {
    signal: Mutex<Signal>,
    wake: Condvar,
}

/// The checkpoint thread of one SQLite database; stopped when dropped.
pub struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a connection of its own to the database at `path` and starts the thread,
    /// which finishes checkpoints between `writer`'s batches.
    pub fn start(path: &str, writer: Arc<GroupCommit>) -> Result<Checkpointer, String> {
        let mut conn = SqliteConnection::establish(path)
            .map_err(|e| format!("cannot open SQLite database for checkpoints: {e}"))?;
        let busy = Sql::new(&format!(
            "PRAGMA busy_timeout = {}",
            RESTART_WAIT.as_millis()
        ));
        Conn::Sqlite(&mut conn)
            .execute(&busy)
            .map_err(|e| format!("cannot open SQLite database for checkpoints: {}", e.detail))?;
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("scimd-checkpoint".into())
            .spawn(move || run(&theirs, &writer, &mut conn))
            .map_err(|e| format!("cannot start the checkpoint thread: {e}"))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
        })
    }

    /// A write was committed: a checkpoint is due within [`INTERVAL`]. Cheap (a writer
    /// calls it after every commit): the thread is woken only when it was idle.
    pub fn committed(&self) {
        let mut signal = lock(&self.shared.signal);
        if !signal.committed {
            signal.committed = true;
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        lock(&self.shared.signal).stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared, writer: &GroupCommit, conn: &mut SqliteConnection) {
    // Whether the log file may hold frames (or its size) since the last TRUNCATE.
    let mut truncate_due = false;
    loop {
        {
            let mut signal = lock(&shared.signal);
            let mut idle_since = Instant::now();
            while !signal.committed && !signal.stop {
                if !truncate_due {
                    signal = wait(&shared.wake, signal);
                    continue;
                }
                let left = IDLE.saturating_sub(idle_since.elapsed());
                if !left.is_zero() {
                    signal = wait_timeout(&shared.wake, signal, left);
                    continue;
                }
                // Writes stopped: cut the log file (not under the signal's lock, which
                // committing writers take). Not done when a batch is open or readers
                // outlast the wait: tried again after another IDLE without writes.
                drop(signal);
                truncate_due = writer
                    .between_batches(|| checkpoint(conn, Mode::Truncate))
                    .flatten()
                    .is_none_or(|log| log != 0);
                idle_since = Instant::now();
                signal = lock(&shared.signal);
            }
            if signal.stop {
                return;
            }
            signal.committed = false;
        }
        truncate_due = true;
        if checkpoint(conn, Mode::Passive).is_some_and(|log| log > RESTART_FRAMES) {
            // `None` when a batch is open: the next round tries again.
            writer.between_batches(|| checkpoint(conn, Mode::Restart));
        }
        // A pause of INTERVAL, cut short by a stop. Commits during it set the flag again:
        // the next checkpoint covers them.
        let until = Instant::now() + INTERVAL;
        let mut signal = lock(&shared.signal);
        while !signal.stop {
            let Some(left) = until
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero())
            else {
                break;
            };
            signal = wait_timeout(&shared.wake, signal, left);
        }
        if signal.stop {
            return;
        }
    }
}

/// `PRAGMA wal_checkpoint` modes.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Copies what it can; never waits.
    Passive,
    /// Copies everything, waiting (busy timeout) for writers and for readers of older
    /// snapshots, so that the next writer starts the log over.
    Restart,
    /// As `Restart`, and cuts the log file to zero bytes.
    Truncate,
}

/// One checkpoint; returns the log's size in frames. A failure is logged and the next
/// commit tries again: "database is locked" (another connection was checkpointing, as the
/// last one to close does, or readers outlasted the wait) quietly.
fn checkpoint(conn: &mut SqliteConnection, mode: Mode) -> Option<i32> {
    let q = Sql::new(match mode {
        Mode::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
        Mode::Restart => "PRAGMA wal_checkpoint(RESTART)",
        Mode::Truncate => "PRAGMA wal_checkpoint(TRUNCATE)",
    });
    match Conn::Sqlite(conn).first::<CheckpointRow>(&q) {
        Ok(row) => {
            let row = row?;
            tracing::trace!(
                ?mode,
                busy = row.busy,
                log = row.log,
                checkpointed = row.checkpointed,
                "WAL checkpoint"
            );
            Some(row.log)
        }
        Err(e) if e.detail.contains("database is locked") => {
            tracing::debug!(error = %e.detail, "WAL checkpoint skipped");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e.detail, "WAL checkpoint failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[derive(diesel::QueryableByName)]
    struct Pages {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        wal_autocheckpoint: i32,
    }

    /// A store on a new file with a table `t (x TEXT)`, and the file's path.
    fn store_with_table() -> (tempfile::TempDir, std::path::PathBuf, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scimd.db");
        let store = Store::open(&format!("sqlite://{}", path.display()), 2).unwrap();
        let q = Sql::new("CREATE TABLE t (x TEXT)");
        store.write(|c| c.execute(&q)).unwrap();
        (dir, path, store)
    }

    fn insert_row(x: String) -> Sql {
        let mut q = Sql::new("INSERT INTO t (x) VALUES (");
        q.text(x).push(")");
        q
    }

    fn insert(store: &Store, x: String) {
        let q = insert_row(x);
        store.write(|c| c.execute(&q)).unwrap();
    }

    #[test]
    fn commits_are_checkpointed_by_the_thread_and_writers_do_not_checkpoint() {
        let (_dir, path, store) = store_with_table();
        // Writers' connections leave checkpoints to the thread up to the backstop.
        let pages = store
            .read(|c| c.first::<Pages>(&Sql::new("PRAGMA wal_autocheckpoint")))
            .unwrap()
            .unwrap();
        assert_eq!(pages.wal_autocheckpoint, BACKSTOP_PAGES as i32);
        // 50 writes of ~40 KiB: ~500 pages in the log, fewer than SQLite's own automatic
        // checkpoint (1 000) would wait for. Until a checkpoint copies them, the database
        // file holds only the table's first pages.
        for i in 0..50 {
            insert(&store, format!("{i}{}", "x".repeat(40_000)));
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let size = std::fs::metadata(&path).unwrap().len();
            if size > 1_500_000 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the database file is still {size} bytes: no checkpoint ran"
            );
            std::thread::sleep(INTERVAL);
        }
    }

    #[test]
    fn a_checkpoint_finished_between_batches_makes_the_next_write_start_the_log_over() {
        let (_dir, path, store) = store_with_table();
        // ~1 000 frames in one transaction: in separate writes, the store's checkpoint
        // thread could copy them all and the next write start the log over before the test
        // does, leaving a shorter log.
        store
            .write(|c| {
                for i in 0..100 {
                    c.execute(&insert_row(format!("{i}{}", "x".repeat(40_000))))?;
                }
                Ok(())
            })
            .unwrap();
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        let log = unless_checkpointing(|| {
            store
                .sqlite_writer
                .between_batches(|| checkpoint(&mut conn, Mode::Restart))
                .expect("no batch is open between two writes")
        });
        // 0 only if the store's thread found the writes stopped for IDLE first and cut the
        // log (a stalled test machine): then the next write starts it over all the same.
        let wal = wal_path(&path);
        assert!(
            log > 1000 || (log == 0 && wal_len(&wal) == 0),
            "{log} frames"
        );
        insert(&store, "one more".into());
        // The write went to the start of the log: it holds that write's frames only.
        let log = unless_checkpointing(|| checkpoint(&mut conn, Mode::Passive));
        assert!((0..10).contains(&log), "{log} frames");
    }

    #[test]
    fn once_writes_stop_the_log_file_is_cut_to_zero_bytes_and_writes_go_on() {
        let (_dir, path, store) = store_with_table();
        for i in 0..50 {
            insert(&store, format!("{i}{}", "x".repeat(40_000)));
        }
        let wal = wal_path(&path);
        assert!(wal_len(&wal) > 1_500_000, "{} bytes", wal_len(&wal));
        let deadline = Instant::now() + Duration::from_secs(10);
        while wal_len(&wal) > 0 {
            assert!(
                Instant::now() < deadline,
                "the log file is still {} bytes",
                wal_len(&wal)
            );
            std::thread::sleep(INTERVAL);
        }
        // Everything was copied into the database first, and the log takes new writes.
        insert(&store, "after".into());
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let n = store
            .read(|c| c.first::<N>(&Sql::new("SELECT count(*) AS n FROM t")))
            .unwrap()
            .unwrap();
        assert_eq!(n.n, 51);
        assert!(wal_len(&wal) > 0);
        drop(store);
        let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        let n = Conn::Sqlite(&mut conn)
            .first::<N>(&Sql::new("SELECT count(*) AS n FROM t"))
            .unwrap()
            .unwrap();
        assert_eq!(n.n, 51, "after the store closed");
    }

    fn wal_path(db: &std::path::Path) -> std::path::PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push("-wal");
        name.into()
    }

    /// The log file's size; 0 when there is none.
    fn wal_len(wal: &std::path::Path) -> u64 {
        std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
    }

    /// The log's size from `checkpoint`, tried again while the store's own checkpoint
    /// thread holds the checkpoint lock: SQLite then answers at once, busy, with a log of
    /// -1 frames (it does not wait for that lock).
    fn unless_checkpointing(mut checkpoint: impl FnMut() -> Option<i32>) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match checkpoint() {
                Some(log) if log >= 0 => return log,
                _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                other => panic!("the checkpoint did not run: {other:?}"),
            }
        }
    }
}
