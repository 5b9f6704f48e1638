//! What a process keeps in memory for a short time instead of reading it from the store on
//! every request (verified tokens, a tenant's user configurations, where a paged list goes
//! on): each value for at most a fixed time, at most so many keys, and nothing a clear has
//! made stale.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a value that must not make replicas disagree for more than a second
/// (DESIGN.md: a token revocation, a user configuration) is kept: 900 ms.
pub const WITHIN_A_SECOND: Duration = Duration::from_millis(900);

/// Handed out by a miss ([`TtlCache::get`]): a value read afterwards is kept only if the
/// cache was not cleared meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

struct Entries<K, V> {
    generation: u64,
    values: HashMap<K, (Instant, V)>,
}

pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<Entries<K, V>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// Values kept `ttl` each, for at most `capacity` keys.
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
    pub fn get<Q>(&self, key: &Q, now: Instant) -> Result<V, Generation>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = crate::sync::lock(&self.entries);
        match entries.values.get(key) {
            Some((at, value)) if now.saturating_duration_since(*at) < self.ttl => Ok(value.clone()),
            _ => Err(Generation(entries.generation)),
        }
    }

    /// Keeps `value` for `key`, unless the cache was cleared since `generation`.
    pub fn put(&self, key: K, generation: Generation, value: V, now: Instant) {
        let mut entries = crate::sync::lock(&self.entries);
        if entries.generation == generation.0 {
            self.insert_into(&mut entries, key, value, now);
        }
    }

    /// Keeps `value` for `key`, for a value that no clear makes stale (it is a shortcut
    /// only, checked where it is used).
    pub fn insert(&self, key: K, value: V, now: Instant) {
        let mut entries = crate::sync::lock(&self.entries);
        self.insert_into(&mut entries, key, value, now);
    }

    /// When full, a new key first makes the expired values go; if none has expired, all go
    /// (a burst of distinct keys: each is only a shortcut), so that the cache never holds
    /// more than its capacity.
    fn insert_into(&self, entries: &mut Entries<K, V>, key: K, value: V, now: Instant) {
        if entries.values.len() >= self.capacity && !entries.values.contains_key(&key) {
            let ttl = self.ttl;
            entries
                .values
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            if entries.values.len() >= self.capacity {
                entries.values.clear();
            }
        }
        entries.values.insert(key, (now, value));
    }

    /// Forgets everything, and what is being read meanwhile.
    pub fn clear(&self) {
        let mut entries = crate::sync::lock(&self.entries);
        entries.generation += 1;
        entries.values.clear();
    }

    /// How many values are held (expired ones included, until they make room).
    #[cfg(test)]
    fn len(&self) -> usize {
        crate::sync::lock(&self.entries).values.len()
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
        cache.put("t".to_string(), generation, 1, t0);
        assert_eq!(cache.get("t", t0 + TTL / 2), Ok(1));
        assert!(cache.get("t", t0 + TTL).is_err());
        assert!(cache.get("other", t0).is_err());

        // A read that began before a clear is not kept; one after it is.
        let before = cache.get("u", t0).unwrap_err();
        cache.clear();
        assert!(cache.get("t", t0).is_err(), "a clear forgets every key");
        cache.put("u".to_string(), before, 2, t0);
        assert!(cache.get("u", t0).is_err());
        let after = cache.get("u", t0).unwrap_err();
        cache.put("u".to_string(), after, 3, t0);
        assert_eq!(cache.get("u", t0), Ok(3));

        // An insert needs no generation.
        cache.insert("v".to_string(), 4, t0);
        assert_eq!(cache.get("v", t0), Ok(4));
    }

    #[test]
    fn a_full_cache_makes_room_by_dropping_expired_values_then_all() {
        let cache = TtlCache::new(TTL, 2);
        let t0 = Instant::now();
        let g = cache.get("a", t0).unwrap_err();
        cache.put("a", g, 1, t0);
        cache.put("b", g, 2, t0 + TTL / 2);
        cache.put("c", g, 3, t0 + TTL);
        assert!(cache.get("a", t0 + TTL).is_err(), "expired, dropped");
        assert_eq!(cache.get("b", t0 + TTL), Ok(2));
        assert_eq!(cache.get("c", t0 + TTL), Ok(3));
        assert_eq!(cache.len(), 2);

        // A key already held is replaced in place.
        cache.insert("c", 4, t0 + TTL);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("b", t0 + TTL), Ok(2));

        // Full and none expired: all go, the new one stays. The bound holds.
        cache.insert("d", 5, t0 + TTL);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get("d", t0 + TTL), Ok(5));
        assert!(cache.get("b", t0 + TTL).is_err());
    }
}
