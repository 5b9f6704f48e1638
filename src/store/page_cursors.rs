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

use std::time::Duration;

use crate::filter::Filter;
use crate::schema::ResourceType;
use crate::ttl_cache::TtlCache;

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

/// The cursors kept: at most [`CAPACITY`], each for [`TTL`]. When full, expired cursors
/// go; if none has, all go (a burst of distinct lists; they are only a shortcut).
pub type PageCursors = TtlCache<CursorKey, Cursor>;

/// No cursor yet.
pub fn page_cursors() -> PageCursors {
    TtlCache::new(TTL, CAPACITY)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

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
        let cursors = page_cursors();
        let t0 = Instant::now();
        cursors.insert(key("a", 100), cursor("x"), t0);
        assert_eq!(cursors.get(&key("a", 100), t0), Ok(cursor("x")));
        assert!(cursors.get(&key("a", 200), t0).is_err(), "another offset");
        assert!(cursors.get(&key("b", 100), t0).is_err(), "another tenant");
        let groups = CursorKey::new("a", &Registry::get().group, None, 100);
        assert!(cursors.get(&groups, t0).is_err(), "another resource type");
        let filter = crate::filter::parse_filter("title eq \"x\"").unwrap();
        let filtered = CursorKey::new("a", &Registry::get().user, Some(&filter), 100);
        assert!(cursors.get(&filtered, t0).is_err(), "another filter");
        assert!(cursors.get(&key("a", 100), t0 + TTL).is_err(), "expired");
    }
}
