//! Each tenant's user configurations as a new user is given one, kept in memory for a short
//! time: every `POST /Users` applies one (the matching one, else the default), and reading
//! them took a read transaction and a statement per created user.
//!
//! An entry lives at most [`WITHIN_A_SECOND`], as a verified token does (DESIGN.md:
//! replicas may not disagree for longer than a second), so a change made through another
//! replica is seen within that time. A change made through this process's store clears the
//! cache at once, and a lookup that began before it does not keep what it read.

use std::collections::HashMap;
use std::sync::Arc;

use crate::configuration::AppliedConfiguration;
use crate::ttl_cache::{TtlCache, WITHIN_A_SECOND};

/// The tenants' configurations, by tenant id.
pub type ConfigurationCache = TtlCache<String, Arc<TenantConfigurations>>;

/// An empty [`ConfigurationCache`] (at most 10 000 tenants).
pub fn configuration_cache() -> ConfigurationCache {
    TtlCache::new(WITHIN_A_SECOND, 10_000)
}

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
}
