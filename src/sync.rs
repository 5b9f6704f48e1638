//! Locking shared in-process state, and waiting on it.
//!
//! A thread that panicked while holding a lock poisons it; the state guarded here (caches,
//! counters, queues, a batch's outcome) stays usable, and one panicked request must not fail
//! all later ones. So these helpers take the guard back from a poisoned lock.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Locks `m`.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `cv` with `guard` until woken (spurious wake-ups included: callers loop).
pub fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(guard).unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `cv` with `guard` until woken or `timeout` has passed.
pub fn wait_timeout<'a, T>(
    cv: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Duration,
) -> MutexGuard<'a, T> {
    match cv.wait_timeout(guard, timeout) {
        Ok((guard, _)) => guard,
        Err(poisoned) => poisoned.into_inner().0,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    use super::*;

    fn poisoned() -> Arc<Mutex<u32>> {
        let m = Arc::new(Mutex::new(1));
        let held = m.clone();
        let _ = std::thread::spawn(move || {
            let _guard = held.lock().unwrap();
            panic!("a request panicked holding the lock");
        })
        .join();
        assert!(m.is_poisoned());
        m
    }

    #[test]
    fn a_poisoned_lock_still_locks_and_waits() {
        let m = poisoned();
        *lock(&m) += 1;
        let cv = Condvar::new();
        let guard = wait_timeout(&cv, lock(&m), Duration::from_millis(1));
        assert_eq!(*guard, 2);
        drop(guard);

        let m2 = m.clone();
        let cv = Arc::new(cv);
        let cv2 = cv.clone();
        let waker = std::thread::spawn(move || {
            *lock(&m2) = 3;
            cv2.notify_all();
        });
        let mut guard = lock(&m);
        while *guard != 3 {
            guard = wait(&cv, guard);
        }
        drop(guard);
        waker.join().unwrap();
    }
}
