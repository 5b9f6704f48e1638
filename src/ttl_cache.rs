//! What a process keeps in memory for a short time instead of reading it from the store on
//! every request (verified tokens, a tenant's user configurations): each value for at most
//! a fixed time, at most so many keys, and nothing a clear has made stale.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a value that must not make replicas disagree for more than a second
/// (DESIGN.md: a token revocation, a user configuration) is kept: 900 ms.
pub const WITHIN_A_SECOND: Duration = Duration::from_millis(900);

/// Handed out by a miss ([`TtlCache::get`]): a value read afterwards is kept only if the
/// cache was not cleared meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

struct Entries<V> {
    generation: u64,
    values: HashMap<String, (Instant, V)>,
}

pub struct TtlCache<V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<Entries<V>>,
}

impl<V: Clone> TtlCache<V> {
    /// Values kept `ttl` each, for at most `capacity` keys (when full, the expired go).
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        TtlCache {
            ttl,
            capacity,
            entries: Mutex::new(Entries {
                generation: 0,
                values: HashMap::new(),
            }),
        }
    }

    /// The value for `key` if put less than the time-to-live ago; else the generation to
    /// [`put`](Self::put) a fresh one under.
    pub fn get(&self, key: &str, now: Instant) -> Result<V, Generation> {
        let entries = crate::sync::lock(&self.entries);
        match entries.values.get(key) {
            Some((at, value)) if now.saturating_duration_since(*at) < self.ttl => Ok(value.clone()),
            _ => Err(Generation(entries.generation)),
        }
    }

    /// Keeps `value` for `key`, unless the cache was cleared since `generation`.
    pub fn put(&self, key: &str, generation: Generation, value: V, now: Instant) {
        let mut entries = crate::sync::lock(&self.entries);
        if entries.generation != generation.0 {
            return;
        }
        if entries.values.len() >= self.capacity {
            let ttl = self.ttl;
            entries
                .values
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
        }
        entries.values.insert(key.to_string(), (now, value));
    }

    /// Forgets everything, and what is being read meanwhile.
    pub fn clear(&self) {
        let mut entries = crate::sync::lock(&self.entries);
        entries.generation += 1;
        entries.values.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = WITHIN_A_SECOND;

    #[test]
    fn a_value_expires_and_a_clear_forgets_it_and_refuses_older_reads() {
        let cache = TtlCache::new(TTL, 10);
        let t0 = Instant::now();
        let generation = cache.get("t", t0).unwrap_err();
        cache.put("t", generation, 1, t0);
        assert_eq!(cache.get("t", t0 + TTL / 2), Ok(1));
        assert!(cache.get("t", t0 + TTL).is_err());
        assert!(cache.get("other", t0).is_err());

        // A read that began before a clear is not kept; one after it is.
        let before = cache.get("u", t0).unwrap_err();
        cache.clear();
        assert!(cache.get("t", t0).is_err(), "a clear forgets every key");
        cache.put("u", before, 2, t0);
        assert!(cache.get("u", t0).is_err());
        let after = cache.get("u", t0).unwrap_err();
        cache.put("u", after, 3, t0);
        assert_eq!(cache.get("u", t0), Ok(3));
    }

    #[test]
    fn a_full_cache_makes_room_by_dropping_expired_values() {
        let cache = TtlCache::new(TTL, 2);
        let t0 = Instant::now();
        let g = cache.get("a", t0).unwrap_err();
        cache.put("a", g, 1, t0);
        cache.put("b", g, 2, t0 + TTL / 2);
        cache.put("c", g, 3, t0 + TTL);
        assert!(cache.get("a", t0 + TTL).is_err(), "expired, dropped");
        assert_eq!(cache.get("b", t0 + TTL), Ok(2));
        assert_eq!(cache.get("c", t0 + TTL), Ok(3));
    }
}
