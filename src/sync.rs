//! Locking shared in-process state.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, also when a thread panicked while holding it: the state guarded here (caches,
/// counters, queues) stays usable, and one panicked request must not fail all later ones.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}
