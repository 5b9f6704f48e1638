//! Where log lines go: appended to a buffer in memory, written out by one thread every
//! [`FLUSH_INTERVAL`] (sooner when the buffer fills), so that a request's log line costs a
//! short lock and a copy — not a write(2), and not a wake-up of a writer thread per line
//! (tracing-appender's channel woke its thread for nearly every line: ~20 % of a GET).
//!
//! Never lossy: a writer that finds the buffer at its hard cap (the output is not keeping
//! up) writes the buffer out itself. At exit, [`FlushGuard`] writes what is left; a crash
//! loses at most the last [`FLUSH_INTERVAL`] of lines.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::sync::{lock, wait_timeout};

/// How long a line may wait in memory.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);
/// The flushing thread is woken early above this many buffered bytes.
const EARLY_FLUSH: usize = 256 * 1024;
/// Above this, writers write the buffer out themselves.
const HARD_CAP: usize = 8 * 1024 * 1024;

type Output = Box<dyn Write + Send>;

struct Shared {
    buf: Mutex<Vec<u8>>,
    wake: Condvar,
    /// The output, locked while writing to it (keeps lines in order between flushers), and
    /// the buffer written last, emptied, that takes the next lines: the buffer keeps its
    /// capacity instead of growing again from nothing after every flush (each growth copied
    /// it: ~1 % of a GET).
    out: Mutex<(Output, Vec<u8>)>,
    closed: Mutex<bool>,
}

/// What the buffer and its spare start with.
const INITIAL_CAPACITY: usize = 64 * 1024;
/// A spare buffer larger than this is given back to the allocator (after a burst).
const SPARE_MAX: usize = 2 * EARLY_FLUSH;

impl Shared {
    /// Writes the buffered lines to the output (the output lock is taken before the buffer
    /// is swapped out, so batches reach it in the order they were taken).
    fn flush(&self) {
        let mut guard = lock(&self.out);
        let (out, spare) = &mut *guard;
        std::mem::swap(&mut *lock(&self.buf), spare);
        if !spare.is_empty() {
            let _ = out.write_all(spare);
            let _ = out.flush();
        }
        spare.clear();
        if spare.capacity() > SPARE_MAX {
            spare.shrink_to(SPARE_MAX);
        }
    }
}

/// The `MakeWriter` for tracing-subscriber: cheap to clone, shared by all threads.
#[derive(Clone)]
pub struct BatchedWriter {
    shared: Arc<Shared>,
}

/// Flushes and stops the flushing thread when dropped (keep it alive in `main`).
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl BatchedWriter {
    /// A writer to `out`, and the guard that flushes it at exit.
    pub fn new(out: impl Write + Send + 'static) -> (BatchedWriter, FlushGuard) {
        let shared = Arc::new(Shared {
            buf: Mutex::new(Vec::with_capacity(INITIAL_CAPACITY)),
            wake: Condvar::new(),
            out: Mutex::new((Box::new(out), Vec::with_capacity(INITIAL_CAPACITY))),
            closed: Mutex::new(false),
        });
        let flusher = shared.clone();
        let thread = std::thread::Builder::new()
            .name("scimd-log".into())
            .spawn(move || loop {
                let closed = {
                    let closed = lock(&flusher.closed);
                    if *closed {
                        true
                    } else {
                        *wait_timeout(&flusher.wake, closed, FLUSH_INTERVAL)
                    }
                };
                flusher.flush();
                if closed {
                    break;
                }
            })
            .ok();
        (
            BatchedWriter {
                shared: shared.clone(),
            },
            FlushGuard { shared, thread },
        )
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        *lock(&self.shared.closed) = true;
        self.shared.wake.notify_all();
        match self.thread.take() {
            Some(t) => {
                let _ = t.join();
            }
            None => self.shared.flush(),
        }
    }
}

impl Write for &BatchedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let len = {
            let mut buf = lock(&self.shared.buf);
            buf.extend_from_slice(data);
            buf.len()
        };
        if len >= HARD_CAP {
            self.shared.flush();
        } else if len >= EARLY_FLUSH && len - data.len() < EARLY_FLUSH {
            self.shared.wake.notify_one();
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchedWriter {
    type Writer = &'a BatchedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// An output tests can read back (what a writer or a tracing subscriber wrote).
#[cfg(test)]
pub(crate) mod captured {
    use std::io;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        pub(crate) fn bytes(&self) -> Vec<u8> {
            self.0.lock().unwrap().clone()
        }

        pub(crate) fn text(&self) -> String {
            String::from_utf8(self.bytes()).unwrap()
        }
    }

    impl io::Write for Captured {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use captured::Captured;
    use std::time::Instant;

    #[test]
    fn lines_reach_the_output_in_order_within_the_interval_and_at_exit() {
        let sink = Captured::default();
        let (writer, guard) = BatchedWriter::new(sink.clone());
        (&writer).write_all(b"one\n").unwrap();
        (&writer).write_all(b"two\n").unwrap();
        let start = Instant::now();
        while sink.bytes().len() < 8 {
            assert!(start.elapsed() < Duration::from_secs(5), "not flushed");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(&*sink.bytes(), b"one\ntwo\n");
        (&writer).write_all(b"three\n").unwrap();
        drop(guard);
        assert_eq!(&*sink.bytes(), b"one\ntwo\nthree\n");
    }

    #[test]
    fn concurrent_lines_are_neither_lost_nor_torn() {
        let sink = Captured::default();
        let (writer, guard) = BatchedWriter::new(sink.clone());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000 {
                        (&writer)
                            .write_all(format!("thread {t} line {i}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = sink.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 80_000);
        for t in 0..4 {
            let mine: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .collect();
            let expected: Vec<String> = (0..20_000)
                .map(|i| format!("thread {t} line {i}"))
                .collect();
            assert_eq!(mine, expected);
        }
    }
}
