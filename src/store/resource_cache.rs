//! SQLite, on a file the server keeps to itself (the default): the Users and Groups read
//! lately, kept in memory so that a GET by id, a lookup by `userName` / group `displayName`
//! (Entra's `filter=userName eq "…"`) or a PATCH's first read of a resource answers without
//! a statement.
//!
//! It holds only what the database holds now. Every write transaction of this process runs
//! in the writers' turn (`group_commit`), which tells the cache when a transaction begins
//! and when it has ended; inside it, each write forgets the resources it changes (and, when
//! memberships or the names they show change, the memberships of the tenant). A read that
//! misses takes a [`Ticket`] before its statement and keeps what it read only if no write
//! transaction was open or ended since: so nothing older than a committed write is ever
//! kept, and what a write forgot before its COMMIT is not read back as it was. No other
//! process writes the file (it is kept, `unix-excl`), so no change comes from outside; on a
//! shared file (`?exclusive=false`) and on PostgreSQL there is no cache. (Within the process
//! the writes must all go through this store: a second `Store` opened on the same kept file
//! would not tell this cache. The server opens one, and its control socket and background
//! jobs use it.)
//!
//! A lookup by name is a hint (name → id) checked against the entry it leads to: only an
//! entry kept by a lookup of that name carries it, and an entry is gone once its resource
//! changes. What is kept is bounded by bytes (oldest first out). A full cache that hits
//! less than one lookup in 20 is passed by: only one lookup in 16 goes to it, to measure it
//! again (a tenant far larger than the cache, read at random, reads faster without it).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::resources::{Member, ResourceRow};
use crate::schema::ResourceType;

/// What the cache keeps at most by default (`--resource-cache-mib`), in bytes of memory as
/// [`entry_size`] counts them: about 30 000 users of the benchmark's size.
pub const DEFAULT_BUDGET: usize = 32 << 20;

/// A resource's memberships are kept only up to this many (a larger group's `members` are
/// read each time; its row is still kept).
pub const MAX_KEPT_MEMBERSHIPS: usize = 1000;

/// Once the cache is full, one read in this many that missed takes the place of the oldest
/// entry; the others are not kept. A tenant larger than the cache, read at random, would
/// otherwise replace an entry on every read (memory churned for the same share of hits).
const ADMIT_WHEN_FULL: u64 = 16;

/// Lookups per measure of the hit rate ([`State::window`]).
const WINDOW: u32 = 1024;

/// A full cache whose lookups hit less than one time in this many is passed by: only one
/// lookup in [`ADMIT_WHEN_FULL`] goes to it (and may keep what it read), the others read
/// the database without taking its lock or touching its maps. A tenant far larger than the
/// cache, read at random (1M users: ~3 % hits), made its reads slower with the cache than
/// without (docs/performance.md, Finding 24); when the cache hits that rarely, what it
/// still gives is less than what each lookup costs.
const PASS_BY_BELOW: u32 = 20;

/// Bytes an entry takes besides its strings: its slots in the maps (at their load factor)
/// and the queue, the entry itself.
const ENTRY_OVERHEAD: usize = 360;

/// Bytes a membership takes besides its strings.
const MEMBER_OVERHEAD: usize = 112;

/// What one heap allocation of `len` bytes takes, as glibc's malloc rounds it (8 bytes of
/// header, 16-byte steps, 32 at least). The binary allocates with mimalloc since Finding 23
/// (no header, size classes up to an eighth apart): about the same for these sizes, and the
/// budget was checked against peak RSS with both (docs/performance.md).
fn heap(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        ((len + 8 + 15) & !15).max(32)
    }
}

/// Handed out before a read's statement: what it read is kept only if no write transaction
/// was open or ended meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    transactions: u64,
    memberships: u64,
    /// The lookup passed the cache by: what the read finds is not offered to it.
    passed_by: bool,
}

/// A kept resource.
struct Entry {
    resource_type: &'static str,
    /// Shared with the hits that handed it out.
    row: Arc<ResourceRow>,
    /// Its folded unique name, when a lookup by that name kept it.
    unique_name: Option<String>,
    /// Its memberships (a Group's members, a User's groups) and the tenant's memberships
    /// generation they were read at, when read.
    related: Option<(u64, Arc<Vec<Member>>)>,
    stamp: u64,
    size: usize,
}

/// The memory an entry takes, as counted against the budget.
fn entry_size(row: &ResourceRow, unique_name: Option<&str>, related: Option<&[Member]>) -> usize {
    let members: usize = related.map_or(0, |list| {
        list.iter()
            .map(|m| {
                MEMBER_OVERHEAD
                    + heap(m.group_id.len())
                    + heap(m.member_id.len())
                    + heap(m.member_type.len())
                    + m.display.as_ref().map_or(0, |d| heap(d.len()))
            })
            .sum()
    });
    ENTRY_OVERHEAD
        // The key (shared by the queue and the name's map) and the row's own copy.
        + heap(row.id.len() + 16)
        + heap(row.id.len())
        + heap(row.created.len())
        + heap(row.last_modified.len())
        + heap(row.doc.len())
        // The name, and its key in the name's map.
        + unique_name.map_or(0, |n| 2 * heap(n.len()))
        + members
}

#[derive(Default)]
struct TenantEntries {
    entries: HashMap<Arc<str>, Entry>,
    /// (resource type, folded unique name) → id.
    names: HashMap<&'static str, HashMap<String, Arc<str>>>,
    /// Moved on by every write that changes memberships or the names they show.
    memberships: u64,
}

impl TenantEntries {
    fn remove(&mut self, id: &str) -> Option<Entry> {
        let entry = self.entries.remove(id)?;
        if let Some(name) = &entry.unique_name {
            if let Some(names) = self.names.get_mut(entry.resource_type) {
                if names.get(name).is_some_and(|kept| &**kept == id) {
                    names.remove(name);
                }
            }
        }
        Some(entry)
    }
}

/// What the cache did so far (`/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads answered from the cache.
    pub hits: u64,
    /// Reads that looked in the cache and went to the database (the reads that passed a
    /// rarely hitting cache by are not counted).
    pub misses: u64,
    /// Resources kept now, and their bytes as counted against the budget.
    pub entries: usize,
    pub bytes: usize,
}

#[derive(Default)]
struct State {
    tenants: HashMap<Arc<str>, TenantEntries>,
    /// (tenant, id, stamp) in the order kept: the oldest goes first.
    order: VecDeque<(Arc<str>, Arc<str>, u64)>,
    entries: usize,
    bytes: usize,
    stamps: u64,
    /// Reads not kept for want of room (see [`ADMIT_WHEN_FULL`]).
    turned_away: u64,
    hits: u64,
    misses: u64,
    /// Lookups and hits since the hit rate was last measured.
    window: (u32, u32),
}

impl State {
    /// Counts a lookup; every [`WINDOW`] lookups, whether the cache is now to be passed by
    /// (full, and hitting less than one time in [`PASS_BY_BELOW`]).
    fn count(&mut self, hit: bool, budget: usize) -> Option<bool> {
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        self.window.0 += 1;
        self.window.1 += u32::from(hit);
        if self.window.0 < WINDOW {
            return None;
        }
        let (lookups, hits) = std::mem::take(&mut self.window);
        let full = self.bytes + self.bytes / 16 >= budget;
        Some(full && hits * PASS_BY_BELOW < lookups)
    }

    fn remove(&mut self, tenant: &str, id: &str) -> Option<Entry> {
        let entry = self.tenants.get_mut(tenant)?.remove(id)?;
        self.bytes -= entry.size;
        self.entries -= 1;
        Some(entry)
    }

    fn evict_oldest(&mut self) -> Option<Entry> {
        let (tenant, id, stamp) = self.order.pop_front()?;
        let current = self
            .tenants
            .get(&tenant)
            .and_then(|t| t.entries.get(&id))
            .is_some_and(|e| e.stamp == stamp);
        if current {
            self.remove(&tenant, &id)
        } else {
            None
        }
    }

    /// Drops the queue's places of entries kept again or forgotten since (so that the
    /// queue stays within a few times the number of entries).
    fn compact_order(&mut self) {
        let tenants = &self.tenants;
        self.order.retain(|(tenant, id, stamp)| {
            tenants
                .get(tenant)
                .and_then(|t| t.entries.get(id))
                .is_some_and(|e| e.stamp == *stamp)
        });
    }

    /// Evicts the oldest entries until `budget` is kept; they are returned, to be dropped
    /// after the lock is released.
    fn evict_to(&mut self, budget: usize) -> Vec<Entry> {
        let mut evicted = Vec::new();
        while self.bytes > budget && !self.order.is_empty() {
            evicted.extend(self.evict_oldest());
        }
        evicted
    }
}

/// A resource as kept: its row and, when asked for and kept, its memberships. Shared with
/// the cache, not copied: the cache allocates nothing for a hit (a GET renders from the
/// shared row).
pub type Kept = (Arc<ResourceRow>, Option<Arc<Vec<Member>>>);

pub struct ResourceCache {
    budget: AtomicUsize,
    state: Mutex<State>,
    /// A write transaction is open, and how many have ended so far. Changed only under
    /// the lock (so that a read checked under it sees them as of that moment), and read
    /// without it as well: a read that overlapped a write is turned away before it copies
    /// anything.
    writing: AtomicBool,
    transactions: AtomicU64,
    /// The cache hits too rarely to be worth its lookups ([`PASS_BY_BELOW`]); measured
    /// again by the lookups that still go to it.
    passing_by: AtomicBool,
}

thread_local! {
    /// Lookups of this thread while the cache is passed by: one in [`ADMIT_WHEN_FULL`]
    /// goes to it.
    static PASSED_BY: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl ResourceCache {
    pub fn new(budget: usize) -> ResourceCache {
        ResourceCache {
            budget: AtomicUsize::new(budget),
            state: Mutex::new(State::default()),
            writing: AtomicBool::new(false),
            transactions: AtomicU64::new(0),
            passing_by: AtomicBool::new(false),
        }
    }

    fn budget(&self) -> usize {
        self.budget.load(Ordering::Relaxed)
    }

    /// Sets what the cache keeps at most (0: nothing, the cache is off).
    pub fn set_budget(&self, budget: usize) {
        self.budget.store(budget, Ordering::Relaxed);
        let evicted = {
            let mut state = crate::sync::lock(&self.state);
            state.window = (0, 0);
            self.passing_by.store(false, Ordering::Relaxed);
            state.evict_to(budget)
        };
        drop(evicted);
    }

    /// A read's ticket, as a lookup that missed hands it out ([`ResourceCache::get`]).
    #[cfg(test)]
    pub fn ticket(&self, tenant: &str) -> Ticket {
        let state = crate::sync::lock(&self.state);
        self.ticket_at(state.tenants.get(tenant).map_or(0, |t| t.memberships))
    }

    /// The ticket of a read that starts now, in a tenant at memberships generation
    /// `memberships` (taken under the lock, but for a cache that keeps nothing).
    fn ticket_at(&self, memberships: u64) -> Ticket {
        Ticket {
            transactions: self.transactions.load(Ordering::SeqCst),
            memberships,
            passed_by: false,
        }
    }

    /// Whether this lookup passes the cache by (it is passed by, and this is not the one
    /// lookup in [`ADMIT_WHEN_FULL`] of this thread that still goes to it).
    fn passes_by(&self) -> bool {
        if !self.passing_by.load(Ordering::Relaxed) {
            return false;
        }
        PASSED_BY.with(|n| {
            n.set(n.get().wrapping_add(1));
            !n.get().is_multiple_of(ADMIT_WHEN_FULL)
        })
    }

    /// The resource `id` of type `rt`, with its memberships when `with_related` (a miss
    /// when they are not kept, or changed since). A miss hands out the read's [`Ticket`],
    /// taken under the same lock.
    pub fn get(
        &self,
        tenant: &str,
        rt: &ResourceType,
        id: &str,
        with_related: bool,
    ) -> Result<Kept, Ticket> {
        self.look_up(tenant, |t| Self::kept(t, rt, id, with_related))
    }

    /// The resource of type `rt` whose folded unique name is `name`, if a lookup of that
    /// name kept it; else the read's [`Ticket`].
    pub fn find(
        &self,
        tenant: &str,
        rt: &ResourceType,
        name: &str,
        with_related: bool,
    ) -> Result<Kept, Ticket> {
        self.look_up(tenant, |t| {
            let id = t.names.get(rt.name)?.get(name)?;
            let entry = t.entries.get(id)?;
            if entry.unique_name.as_deref() != Some(name) {
                return None;
            }
            Self::kept(t, rt, id, with_related)
        })
    }

    /// A hit or a miss in `tenant`'s entries, counted; a miss with its [`Ticket`] (as
    /// [`ResourceCache::ticket`] gives it, without locking again).
    fn look_up(
        &self,
        tenant: &str,
        found_in: impl FnOnce(&TenantEntries) -> Option<Kept>,
    ) -> Result<Kept, Ticket> {
        let budget = self.budget();
        if budget == 0 || self.passes_by() {
            // Nothing is kept (`keep` keeps nothing either), or the cache is passed by.
            return Err(Ticket {
                passed_by: true,
                ..self.ticket_at(0)
            });
        }
        let mut state = crate::sync::lock(&self.state);
        let entries = state.tenants.get(tenant);
        let memberships = entries.map_or(0, |t| t.memberships);
        let found = entries.and_then(found_in);
        if let Some(pass_by) = state.count(found.is_some(), budget) {
            self.passing_by.store(pass_by, Ordering::Relaxed);
        }
        found.ok_or_else(|| self.ticket_at(memberships))
    }

    fn kept(t: &TenantEntries, rt: &ResourceType, id: &str, with_related: bool) -> Option<Kept> {
        let entry = t.entries.get(id)?;
        if entry.resource_type != rt.name {
            return None;
        }
        let related = if with_related {
            match &entry.related {
                Some((generation, members)) if *generation == t.memberships => {
                    Some(Arc::clone(members))
                }
                _ => return None,
            }
        } else {
            None
        };
        Some((Arc::clone(&entry.row), related))
    }

    /// Keeps what a read found, unless a write transaction was open or ended since
    /// `ticket` (then it may be older than what is committed). `unique_name` (folded) when
    /// a lookup by it found the row; `related` when the read included the memberships.
    /// The row is shared with the reader, not copied: a read the cache turns away (15 in 16
    /// once it is full) costs no copy.
    pub fn keep(
        &self,
        ticket: Ticket,
        tenant: &str,
        rt: &ResourceType,
        row: Arc<ResourceRow>,
        unique_name: Option<&str>,
        related: Option<&[Member]>,
    ) {
        let budget = self.budget();
        let related = related.filter(|list| list.len() <= MAX_KEPT_MEMBERSHIPS);
        if ticket.passed_by
            || entry_size(&row, unique_name, related) > budget / 16
            || self.overlapped(ticket)
        {
            return;
        }
        // Copied before the lock is taken (checked again under it).
        let related = related.map(|l| Arc::new(l.to_vec()));
        let id: Arc<str> = Arc::from(row.id.as_str());
        let mut dropped = Vec::new();
        {
            let mut guard = crate::sync::lock(&self.state);
            let state = &mut *guard;
            if self.overlapped(ticket) {
                return;
            }
            let memberships = state.tenants.get(tenant).map_or(0, |t| t.memberships);
            if memberships != ticket.memberships {
                return;
            }
            // What an entry of the same row already knows (it is current: a write forgets
            // it).
            let previous = state.remove(tenant, &row.id);
            let kept_before = previous.is_some();
            let previous = previous.filter(|p| p.row.version == row.version);
            let unique_name = unique_name
                .map(str::to_string)
                .or_else(|| previous.as_ref().and_then(|p| p.unique_name.clone()));
            let related = related
                .map(|l| (memberships, l))
                .or_else(|| previous.as_ref().and_then(|p| p.related.clone()));
            dropped.extend(previous);
            let size = entry_size(
                &row,
                unique_name.as_deref(),
                related.as_ref().map(|(_, l)| l.as_slice()),
            );
            if state.bytes + size > budget {
                if !kept_before {
                    state.turned_away += 1;
                    if !state.turned_away.is_multiple_of(ADMIT_WHEN_FULL) {
                        return;
                    }
                }
                dropped.extend(state.evict_to(budget - size));
            }
            state.stamps += 1;
            let stamp = state.stamps;
            let tenant: Arc<str> = match state.tenants.get_key_value(tenant) {
                Some((name, _)) => name.clone(),
                None => Arc::from(tenant),
            };
            let t = state.tenants.entry(tenant.clone()).or_default();
            if let Some(name) = &unique_name {
                t.names
                    .entry(rt.name)
                    .or_default()
                    .insert(name.clone(), id.clone());
            }
            let entry = Entry {
                resource_type: rt.name,
                row,
                unique_name,
                related,
                stamp,
                size,
            };
            t.entries.insert(id.clone(), entry);
            state.entries += 1;
            state.bytes += size;
            state.order.push_back((tenant, id, stamp));
            if state.order.len() > 2 * state.entries + 1024 {
                state.compact_order();
            }
        }
        // Freed after the lock is released.
        drop(dropped);
    }

    /// A write transaction began (in the writers' turn): nothing read from now on is kept
    /// until it has ended.
    pub fn transaction_began(&self) {
        let _state = crate::sync::lock(&self.state);
        self.writing.store(true, Ordering::SeqCst);
    }

    /// The write transaction ended (committed or rolled back).
    pub fn transaction_ended(&self) {
        let _state = crate::sync::lock(&self.state);
        self.transactions.fetch_add(1, Ordering::SeqCst);
        self.writing.store(false, Ordering::SeqCst);
    }

    /// Whether a write transaction is open, or one ended, since `ticket`.
    fn overlapped(&self, ticket: Ticket) -> bool {
        self.writing.load(Ordering::SeqCst)
            || self.transactions.load(Ordering::SeqCst) != ticket.transactions
    }

    /// A write (in an open transaction) changes resource `id`.
    pub fn forget(&self, tenant: &str, id: &str) {
        let forgotten = crate::sync::lock(&self.state).remove(tenant, id);
        // (The guard, a temporary of the statement above, is gone: freed outside the lock.)
        drop(forgotten);
    }

    /// A write (in an open transaction) changes memberships of the tenant, or the names
    /// they show: every kept membership list of the tenant is stale.
    pub fn memberships_changed(&self, tenant: &str) {
        let mut state = crate::sync::lock(&self.state);
        match state.tenants.get_mut(tenant) {
            Some(t) => t.memberships += 1,
            None => {
                let t = TenantEntries {
                    memberships: 1,
                    ..TenantEntries::default()
                };
                state.tenants.insert(Arc::from(tenant), t);
            }
        }
    }

    /// Bytes kept (rows, memberships and bookkeeping, as counted against the budget).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        crate::sync::lock(&self.state).bytes
    }

    pub fn stats(&self) -> CacheStats {
        let state = crate::sync::lock(&self.state);
        CacheStats {
            hits: state.hits,
            misses: state.misses,
            entries: state.entries,
            bytes: state.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row as a read hands it to the cache.
    fn row(id: &str, version: i64) -> Arc<ResourceRow> {
        Arc::new(ResourceRow {
            id: id.to_string(),
            created: "2026-01-01T00:00:00.000Z".to_string(),
            last_modified: "2026-01-01T00:00:00.000Z".to_string(),
            version,
            doc: format!("{{\"userName\":\"{id}\"}}"),
        })
    }

    fn member(group: &str, user: &str) -> Member {
        Member {
            group_id: group.to_string(),
            member_id: user.to_string(),
            member_type: "User".to_string(),
            display: None,
        }
    }

    fn user() -> &'static ResourceType {
        &crate::schema::Registry::get().user
    }

    #[test]
    fn a_read_is_kept_only_when_no_write_transaction_overlapped_it() {
        let cache = ResourceCache::new(DEFAULT_BUDGET);
        let rt = user();
        let ticket = cache.ticket("t");
        cache.keep(ticket, "t", rt, row("a", 1), None, None);
        assert_eq!(cache.get("t", rt, "a", false).unwrap().0, row("a", 1));

        // Read during a write transaction: not kept.
        let ticket = cache.ticket("t");
        cache.transaction_began();
        cache.keep(ticket, "t", rt, row("b", 1), None, None);
        assert!(cache.get("t", rt, "b", false).is_err());
        cache.transaction_ended();
        // Read before a transaction that has ended since: not kept either.
        cache.keep(ticket, "t", rt, row("b", 1), None, None);
        assert!(cache.get("t", rt, "b", false).is_err());
        // A fresh ticket: kept.
        cache.keep(cache.ticket("t"), "t", rt, row("b", 1), None, None);
        assert!(cache.get("t", rt, "b", false).is_ok());
        // Another tenant, another type: misses.
        assert!(cache.get("u", rt, "b", false).is_err());
        assert!(cache
            .get("t", &crate::schema::Registry::get().group, "b", false)
            .is_err());
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (2, 4, 2));
        assert_eq!(stats.bytes, cache.bytes());
    }

    #[test]
    fn a_miss_hands_out_the_ticket_of_that_moment() {
        let cache = ResourceCache::new(DEFAULT_BUDGET);
        let rt = user();
        let missed = cache.get("t", rt, "a", false).unwrap_err();
        assert_eq!(missed, cache.ticket("t"));
        cache.keep(missed, "t", rt, row("a", 1), None, None);
        assert!(cache.get("t", rt, "a", false).is_ok());
        // A write transaction after the miss: what the read found is not kept.
        let missed = cache.find("t", rt, "bob", false).unwrap_err();
        cache.transaction_began();
        cache.transaction_ended();
        cache.keep(missed, "t", rt, row("b", 1), Some("bob"), None);
        assert!(cache.find("t", rt, "bob", false).is_err());
        // Memberships changed after the miss: not kept either.
        let missed = cache.get("t", rt, "c", true).unwrap_err();
        cache.memberships_changed("t");
        cache.keep(missed, "t", rt, row("c", 1), None, Some(&[]));
        assert!(cache.get("t", rt, "c", false).is_err());
        // The cache off: a miss, and nothing kept.
        cache.set_budget(0);
        let missed = cache.get("t", rt, "d", false).unwrap_err();
        cache.keep(missed, "t", rt, row("d", 1), None, None);
        cache.set_budget(DEFAULT_BUDGET);
        assert!(cache.get("t", rt, "d", false).is_err());
    }

    #[test]
    fn a_full_cache_that_rarely_hits_is_passed_by_until_it_hits_again() {
        let rt = user();
        let size = entry_size(&row("k00", 1), None, None);
        let cache = ResourceCache::new(20 * size);
        for i in 0..20 {
            let t = cache.ticket("t");
            cache.keep(t, "t", rt, row(&format!("k{i:02}"), 1), None, None);
        }
        assert_eq!(cache.stats().entries, 20, "full");
        // A window of lookups that miss: the cache is passed by from then on.
        for i in 0..WINDOW {
            assert!(cache.get("t", rt, &format!("x{i}"), false).is_err());
        }
        assert!(cache.passing_by.load(Ordering::Relaxed));
        // One lookup in ADMIT_WHEN_FULL still goes to it (and finds what it keeps).
        let found = (0..ADMIT_WHEN_FULL)
            .filter(|_| cache.get("t", rt, "k19", false).is_ok())
            .count();
        assert_eq!(found, 1);
        // What a read that passed it by finds is not kept.
        let passed = loop {
            match cache.get("t", rt, "y", false) {
                Err(ticket) if ticket.passed_by => break ticket,
                _ => {}
            }
        };
        cache.keep(passed, "t", rt, row("y", 1), None, None);
        assert_eq!(cache.stats().entries, 20);
        // Writes still forget what it keeps.
        cache.forget("t", "k19");
        assert_eq!(cache.stats().entries, 19);
        // Lookups that hit again: measured by the ones that go to it, it is used again.
        for _ in 0..u64::from(WINDOW) * ADMIT_WHEN_FULL {
            let _ = cache.get("t", rt, "k18", false);
        }
        assert!(!cache.passing_by.load(Ordering::Relaxed));
        assert!((0..4).all(|_| cache.get("t", rt, "k18", false).is_ok()));
    }

    #[test]
    fn a_cache_with_room_is_not_passed_by_while_it_fills() {
        let cache = ResourceCache::new(DEFAULT_BUDGET);
        let rt = user();
        // Every read misses at first (a tenant read for the first time).
        for i in 0..4 * WINDOW {
            let ticket = cache.get("t", rt, &format!("a{i}"), false).unwrap_err();
            assert!(!ticket.passed_by);
            cache.keep(ticket, "t", rt, row(&format!("a{i}"), 1), None, None);
        }
        assert!(!cache.passing_by.load(Ordering::Relaxed));
        assert_eq!(cache.stats().entries, 4 * WINDOW as usize);
    }

    #[test]
    fn a_write_forgets_the_resource_and_its_name() {
        let cache = ResourceCache::new(DEFAULT_BUDGET);
        let rt = user();
        cache.keep(cache.ticket("t"), "t", rt, row("a", 1), Some("alice"), None);
        assert_eq!(cache.find("t", rt, "alice", false).unwrap().0.id, "a");
        assert!(cache.find("t", rt, "bob", false).is_err());
        cache.transaction_began();
        cache.forget("t", "a");
        cache.transaction_ended();
        assert!(cache.get("t", rt, "a", false).is_err());
        assert!(cache.find("t", rt, "alice", false).is_err());
        // Kept again by a GET (its name unknown): the name no longer leads to it.
        cache.keep(cache.ticket("t"), "t", rt, row("a", 2), None, None);
        assert!(cache.find("t", rt, "alice", false).is_err());
        assert_eq!(cache.get("t", rt, "a", false).unwrap().0.version, 2);
        assert_eq!(cache.bytes(), entry_size(&row("a", 2), None, None));
    }

    #[test]
    fn memberships_are_kept_until_the_tenants_memberships_change() {
        let cache = ResourceCache::new(DEFAULT_BUDGET);
        let rt = user();
        let groups = vec![member("g", "a")];
        cache.keep(cache.ticket("t"), "t", rt, row("a", 1), None, Some(&groups));
        assert_eq!(
            cache.get("t", rt, "a", true).unwrap().1.as_deref(),
            Some(&groups)
        );
        // Kept again without them (a read that excluded them): they stay.
        cache.keep(cache.ticket("t"), "t", rt, row("a", 1), None, None);
        assert_eq!(
            cache.get("t", rt, "a", true).unwrap().1.as_deref(),
            Some(&groups)
        );
        cache.transaction_began();
        cache.memberships_changed("t");
        cache.transaction_ended();
        // The row is still current; its memberships are not known any more.
        assert!(cache.get("t", rt, "a", false).is_ok());
        assert!(cache.get("t", rt, "a", true).is_err());
        // A read whose ticket predates the change does not keep them.
        let old = Ticket {
            memberships: 0,
            ..cache.ticket("t")
        };
        cache.keep(old, "t", rt, row("a", 1), None, Some(&[]));
        assert!(cache.get("t", rt, "a", true).is_err());
        cache.keep(cache.ticket("t"), "t", rt, row("a", 1), None, Some(&[]));
        assert_eq!(
            cache.get("t", rt, "a", true).unwrap().1.as_deref(),
            Some(&vec![])
        );
        // Too many to keep: the row is kept, its memberships are not.
        let many: Vec<Member> = (0..=MAX_KEPT_MEMBERSHIPS)
            .map(|i| member(&format!("g{i}"), "b"))
            .collect();
        cache.keep(cache.ticket("t"), "t", rt, row("b", 1), None, Some(&many));
        assert!(cache.get("t", rt, "b", false).is_ok());
        assert!(cache.get("t", rt, "b", true).is_err());
    }

    #[test]
    fn the_budget_bounds_what_is_kept_and_a_full_cache_admits_few() {
        let one = entry_size(&row("u00000", 1), None, None);
        let cache = ResourceCache::new(one * 100);
        let rt = user();
        let keep = |i: usize| {
            let id = format!("u{i:05}");
            cache.keep(cache.ticket("t"), "t", rt, row(&id, 1), None, None);
        };
        for i in 0..100 {
            keep(i);
            // Kept again: no room needed, and its old place in the queue evicts nothing.
            keep(i);
        }
        assert_eq!(cache.stats().entries, 100);
        assert_eq!(cache.bytes(), one * 100);
        // Full: one new read in 16 takes the oldest one's place.
        for i in 100..260 {
            keep(i);
        }
        let kept = |i: usize| cache.get("t", rt, &format!("u{i:05}"), false).is_ok();
        assert_eq!(cache.stats().entries, 100);
        assert!(cache.bytes() <= one * 100);
        assert!((0..10).all(|i| !kept(i)));
        assert!((10..100).all(kept));
        let admitted: Vec<usize> = (100..260).filter(|i| kept(*i)).collect();
        assert_eq!(admitted, (0..10).map(|k| 115 + 16 * k).collect::<Vec<_>>());
        assert!(crate::sync::lock(&cache.state).order.len() <= 2 * 100 + 1024);

        // A smaller budget evicts the oldest; none turns the cache off.
        cache.set_budget(one * 50);
        assert_eq!(cache.stats().entries, 50);
        assert!(!kept(59) && kept(60));
        cache.set_budget(0);
        assert_eq!(cache.stats().entries, 0);
        keep(1);
        assert!(!kept(1));
    }
}
