//! Seek pagination for clients that page through a list in order (Okta's imports,
//! `startIndex=1, 101, 201, …`): where the page that was served last ended, so that the
//! next page starts from that row (`(created, id) > (…)`, one index seek) instead of
//! skipping `startIndex - 1` rows, which costs a walk over them (seconds at 1M users).
//!
//! A cursor is the sort key of the last row of a full page, kept for [`TTL`] under the
//! list it belongs to (tenant, resource type, filter) and the `startIndex` the next page
//! has. A request whose `startIndex` has no cursor (random access, another process, an
//! expired one) is answered with `OFFSET`. The difference between the two when rows before
//! the page were deleted meanwhile: the seek goes on after the last row the client saw
//! (every row once), `OFFSET` would skip as many rows as were deleted. Lists with
//! `sortBy` are always answered with `OFFSET`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::filter::Filter;
use crate::schema::ResourceType;

/// How long a cursor is kept after the page that made it.
pub const TTL: Duration = Duration::from_secs(60);

/// At most this many cursors are kept (each a few hundred bytes).
const CAPACITY: usize = 4096;

/// The list and the 0-based offset a page starts at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CursorKey {
    tenant: String,
    resource_type: &'static str,
    /// The filter's canonical text (`""` for none).
    filter: String,
    offset: i64,
}

impl CursorKey {
    pub fn new(tenant: &str, rt: &ResourceType, filter: Option<&Filter>, offset: i64) -> Self {
        CursorKey {
            tenant: tenant.to_string(),
            resource_type: rt.name,
            filter: filter.map(ToString::to_string).unwrap_or_default(),
            offset,
        }
    }
}

/// The sort key (`created`, `id`) of the row a page ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created: String,
    pub id: String,
}

#[derive(Default)]
pub struct PageCursors {
    cursors: Mutex<HashMap<CursorKey, (Cursor, Instant)>>,
}

impl PageCursors {
    /// The cursor for a page starting at `key`, when one was kept less than [`TTL`] ago.
    pub fn get(&self, key: &CursorKey, now: Instant) -> Option<Cursor> {
        let cursors = crate::sync::lock(&self.cursors);
        cursors
            .get(key)
            .filter(|(_, at)| now.duration_since(*at) < TTL)
            .map(|(c, _)| c.clone())
    }

    /// Keeps where the page starting at `key` starts from. When full, expired cursors go;
    /// if none has, all go (a burst of distinct lists; they are only a shortcut).
    pub fn put(&self, key: CursorKey, cursor: Cursor, now: Instant) {
        let mut cursors = crate::sync::lock(&self.cursors);
        if cursors.len() >= CAPACITY && !cursors.contains_key(&key) {
            cursors.retain(|_, (_, at)| now.duration_since(*at) < TTL);
            if cursors.len() >= CAPACITY {
                cursors.clear();
            }
        }
        cursors.insert(key, (cursor, now));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        crate::sync::lock(&self.cursors).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Registry;

    fn key(tenant: &str, offset: i64) -> CursorKey {
        CursorKey::new(tenant, &Registry::get().user, None, offset)
    }

    fn cursor(id: &str) -> Cursor {
        Cursor {
            created: "2026-11-29T00:00:00Z".into(),
            id: id.into(),
        }
    }

    #[test]
    fn cursors_are_kept_per_list_and_offset_until_they_expire() {
        let cursors = PageCursors::default();
        let t0 = Instant::now();
        cursors.put(key("a", 100), cursor("x"), t0);
        assert_eq!(cursors.get(&key("a", 100), t0), Some(cursor("x")));
        assert_eq!(cursors.get(&key("a", 200), t0), None, "another offset");
        assert_eq!(cursors.get(&key("b", 100), t0), None, "another tenant");
        let groups = CursorKey::new("a", &Registry::get().group, None, 100);
        assert_eq!(cursors.get(&groups, t0), None, "another resource type");
        let filter = crate::filter::parse_filter("title eq \"x\"").unwrap();
        let filtered = CursorKey::new("a", &Registry::get().user, Some(&filter), 100);
        assert_eq!(cursors.get(&filtered, t0), None, "another filter");
        assert_eq!(cursors.get(&key("a", 100), t0 + TTL), None, "expired");
    }

    #[test]
    fn a_full_set_drops_expired_cursors_then_all() {
        let cursors = PageCursors::default();
        let t0 = Instant::now();
        for i in 0..CAPACITY as i64 {
            cursors.put(key("a", i), cursor("x"), t0);
        }
        assert_eq!(cursors.len(), CAPACITY);
        // None expired: all go, the new one stays.
        cursors.put(key("b", 1), cursor("y"), t0);
        assert_eq!(cursors.len(), 1);
        for i in 0..CAPACITY as i64 - 1 {
            cursors.put(key("c", i), cursor("x"), t0 + TTL);
        }
        // The first one expired: only it goes.
        cursors.put(key("d", 1), cursor("z"), t0 + TTL + Duration::from_secs(1));
        assert_eq!(cursors.len(), CAPACITY);
        assert_eq!(cursors.get(&key("b", 1), t0 + TTL), None);
    }
}
