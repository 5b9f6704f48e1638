//! Each tenant's user configurations as a new user is given one, kept in memory for a short
//! time: every `POST /Users` applies one (the matching one, else the default), and reading
//! them took a read transaction and a statement per created user.
//!
//! An entry lives at most [`TTL`], as a verified token does (DESIGN.md: replicas may not
//! disagree for longer than a second), so a change made through another replica is seen
//! within that time. A change made through this process's store forgets every entry at
//! once, and a lookup that began before such a change does not keep what it read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::configuration::AppliedConfiguration;

/// How long a tenant's configurations are reused.
pub const TTL: Duration = Duration::from_millis(900);

/// At most this many tenants are kept.
const CAPACITY: usize = 10_000;

/// What a new user of one tenant may be given: the configuration whose filter (folded)
/// the user names, else the default one.
#[derive(Debug, Default)]
pub struct TenantConfigurations {
    by_filter: HashMap<String, AppliedConfiguration>,
    default: Option<AppliedConfiguration>,
}

impl TenantConfigurations {
    /// From the tenant's configurations in their list order (oldest first): where two
    /// share a filter or several are marked default, the first one counts, as in the
    /// store's `ORDER BY created_at, id`.
    pub fn new(
        configurations: impl IntoIterator<Item = (Option<String>, bool, AppliedConfiguration)>,
    ) -> Self {
        let mut out = TenantConfigurations::default();
        for (folded_filter, is_default, applied) in configurations {
            if is_default && out.default.is_none() {
                out.default = Some(applied.clone());
            }
            if let Some(f) = folded_filter.filter(|f| !f.is_empty()) {
                out.by_filter.entry(f).or_insert(applied);
            }
        }
        out
    }

    /// The configuration for a user who names `folded_filter` (folded, non-empty), else
    /// the default one.
    pub fn for_user(&self, folded_filter: Option<&str>) -> Option<&AppliedConfiguration> {
        folded_filter
            .and_then(|f| self.by_filter.get(f))
            .or(self.default.as_ref())
    }
}

#[derive(Default)]
struct Entries {
    /// Bumped by every change: a lookup that read the store under an older generation
    /// does not keep what it read.
    generation: u64,
    tenants: HashMap<String, (Instant, Arc<TenantConfigurations>)>,
}

#[derive(Default)]
pub struct ConfigurationCache {
    entries: Mutex<Entries>,
}

impl ConfigurationCache {
    /// The tenant's configurations if read less than [`TTL`] ago, and the generation to
    /// [`put`](Self::put) a fresh read under otherwise.
    pub fn get(&self, tenant: &str, now: Instant) -> Result<Arc<TenantConfigurations>, u64> {
        let entries = crate::sync::lock(&self.entries);
        match entries.tenants.get(tenant) {
            Some((at, found)) if now.saturating_duration_since(*at) < TTL => Ok(found.clone()),
            _ => Err(entries.generation),
        }
    }

    /// Keeps what was read under `generation`, unless a change came in since.
    pub fn put(
        &self,
        tenant: &str,
        generation: u64,
        found: Arc<TenantConfigurations>,
        now: Instant,
    ) {
        let mut entries = crate::sync::lock(&self.entries);
        if entries.generation != generation {
            return;
        }
        if entries.tenants.len() >= CAPACITY {
            entries
                .tenants
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < TTL);
        }
        entries.tenants.insert(tenant.to_string(), (now, found));
    }

    /// Forgets everything: a company, role or configuration changed.
    pub fn changed(&self) {
        let mut entries = crate::sync::lock(&self.entries);
        entries.generation += 1;
        entries.tenants.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(name: &str) -> AppliedConfiguration {
        AppliedConfiguration {
            name: name.to_string(),
            company: "Acme".to_string(),
            roles: vec![],
            locale: None,
            language: None,
            time_zone: None,
        }
    }

    #[test]
    fn a_user_gets_the_first_configuration_of_their_filter_else_the_first_default() {
        let t = TenantConfigurations::new([
            (Some("sales".to_string()), false, applied("Sales")),
            (None, true, applied("Default")),
            (Some("sales".to_string()), false, applied("Sales later")),
            (Some("".to_string()), true, applied("Second default")),
        ]);
        assert_eq!(t.for_user(Some("sales")).unwrap().name, "Sales");
        assert_eq!(t.for_user(Some("finance")).unwrap().name, "Default");
        assert_eq!(t.for_user(None).unwrap().name, "Default");
        let none = TenantConfigurations::new([(Some("x".to_string()), false, applied("X"))]);
        assert!(none.for_user(None).is_none());
        assert!(none.for_user(Some("y")).is_none());
    }

    #[test]
    fn an_entry_expires_and_a_change_forgets_it_and_refuses_older_reads() {
        let cache = ConfigurationCache::default();
        let t0 = Instant::now();
        let generation = cache.get("t", t0).unwrap_err();
        cache.put("t", generation, Arc::default(), t0);
        assert!(cache.get("t", t0 + TTL / 2).is_ok());
        assert!(cache.get("t", t0 + TTL).is_err());
        assert!(cache.get("other", t0).is_err());

        // A read that began before a change is not kept; one after it is.
        let before = cache.get("u", t0).unwrap_err();
        cache.changed();
        assert!(cache.get("t", t0).is_err(), "a change forgets every tenant");
        cache.put("u", before, Arc::default(), t0);
        assert!(cache.get("u", t0).is_err());
        let after = cache.get("u", t0).unwrap_err();
        cache.put("u", after, Arc::default(), t0);
        assert!(cache.get("u", t0).is_ok());
    }
}
