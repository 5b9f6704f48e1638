//! Which SCIM endpoint a path under `/scim/v2` names, matched by hand.
//!
//! actix matches every route pattern with a dynamic segment by regular expression, with
//! captures: the tenant's scope and the resource's `{id}` were two of them per request,
//! ~10 % of the instructions of a GET answered from the resource cache
//! (`docs/performance.md`). Here they are fixed words and at most one id, so a split on `/`
//! does it. The rules are actix's: segments are matched case-sensitively, `{tenant}` and
//! `{id}` are one non-empty segment each, fully percent-decoded (as `web::Path` decodes
//! them), and an empty last segment (`/Users/`) names nothing.

use actix_router::Quoter;

use crate::schema::{Registry, ResourceType};

/// A collection of resources: `/Users` or `/Groups`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Users,
    Groups,
}

impl Collection {
    pub fn resource_type(self) -> &'static ResourceType {
        let registry = Registry::get();
        match self {
            Collection::Users => &registry.user,
            Collection::Groups => &registry.group,
        }
    }
}

/// What a path under `/scim/v2/{tenant}` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `/.search`: Users and Groups searched as one list.
    SearchRoot,
    /// `/Users`, `/Groups`: list, create.
    Resources(Collection),
    /// `/Users/.search`, `/Groups/.search`.
    Search(Collection),
    /// `/Users/{id}`, `/Groups/{id}`: get, replace, patch, delete.
    Resource(Collection, String),
    ServiceProviderConfig,
    Schemas,
    /// `/Schemas/{id}`.
    Schema(String),
    ResourceTypes,
    /// `/ResourceTypes/{id}`.
    ResourceType(String),
    /// `/Me`: not implemented by this server.
    Me,
    /// `/Bulk`: not implemented by this server.
    Bulk,
    /// Any other path of a tenant.
    Unknown,
}

/// A path of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub tenant: String,
    pub endpoint: Endpoint,
}

/// The route of `rest`, the path after `/scim/v2` as actix keeps it (percent-decoded but
/// for `%2F`, `%25` and `%2B`); `None` when it names no tenant (`""`, `"/"`, `"//Users"`).
pub fn route(rest: &str) -> Option<Route> {
    let rest = rest.strip_prefix('/')?;
    let (tenant, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if tenant.is_empty() {
        return None;
    }
    Some(Route {
        tenant: decode(tenant),
        endpoint: endpoint(tail),
    })
}

/// The endpoint of a tenant's path `tail` (`""` or starting with `/`).
fn endpoint(tail: &str) -> Endpoint {
    let mut segments = tail.strip_prefix('/').unwrap_or("").splitn(3, '/');
    let first = segments.next().unwrap_or("");
    let second = segments.next();
    if segments.next().is_some() || second == Some("") {
        return Endpoint::Unknown;
    }
    let collection = match first {
        "Users" => Some(Collection::Users),
        "Groups" => Some(Collection::Groups),
        _ => None,
    };
    match (first, second, collection) {
        (_, None, Some(c)) => Endpoint::Resources(c),
        (_, Some(".search"), Some(c)) => Endpoint::Search(c),
        (_, Some(id), Some(c)) => Endpoint::Resource(c, decode(id)),
        (".search", None, _) => Endpoint::SearchRoot,
        ("ServiceProviderConfig", None, _) => Endpoint::ServiceProviderConfig,
        ("Schemas", None, _) => Endpoint::Schemas,
        ("Schemas", Some(id), _) => Endpoint::Schema(decode(id)),
        ("ResourceTypes", None, _) => Endpoint::ResourceTypes,
        ("ResourceTypes", Some(id), _) => Endpoint::ResourceType(decode(id)),
        ("Me", None, _) => Endpoint::Me,
        ("Bulk", None, _) => Endpoint::Bulk,
        _ => Endpoint::Unknown,
    }
}

impl Endpoint {
    /// The endpoint's route pattern, as the request metrics label it; `None` for an
    /// unknown path ("unmatched").
    pub fn pattern(&self) -> Option<&'static str> {
        use Collection::{Groups, Users};
        Some(match self {
            Endpoint::SearchRoot => "/scim/v2/{tenant}/.search",
            Endpoint::Resources(Users) => "/scim/v2/{tenant}/Users",
            Endpoint::Resources(Groups) => "/scim/v2/{tenant}/Groups",
            Endpoint::Search(Users) => "/scim/v2/{tenant}/Users/.search",
            Endpoint::Search(Groups) => "/scim/v2/{tenant}/Groups/.search",
            Endpoint::Resource(Users, _) => "/scim/v2/{tenant}/Users/{id}",
            Endpoint::Resource(Groups, _) => "/scim/v2/{tenant}/Groups/{id}",
            Endpoint::ServiceProviderConfig => "/scim/v2/{tenant}/ServiceProviderConfig",
            Endpoint::Schemas => "/scim/v2/{tenant}/Schemas",
            Endpoint::Schema(_) => "/scim/v2/{tenant}/Schemas/{id}",
            Endpoint::ResourceTypes => "/scim/v2/{tenant}/ResourceTypes",
            Endpoint::ResourceType(_) => "/scim/v2/{tenant}/ResourceTypes/{id}",
            Endpoint::Me => "/scim/v2/{tenant}/Me",
            Endpoint::Bulk => "/scim/v2/{tenant}/Bulk",
            Endpoint::Unknown => return None,
        })
    }
}

/// A segment fully percent-decoded (invalid UTF-8 replaced), as `web::Path` decodes it.
fn decode(segment: &str) -> String {
    thread_local! {
        static FULL: Quoter = Quoter::new(b"", b"");
    }
    match FULL.with(|q| q.requote(segment.as_bytes())) {
        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        None => segment.to_string(),
    }
}

/// What the request metrics label a SCIM request with: kept in the request's extensions by
/// the SCIM dispatch, since actix's own `match_pattern` and `match_info` know nothing of
/// routes matched by hand.
#[derive(Debug, Clone)]
pub struct Matched {
    pub pattern: Option<&'static str>,
    pub tenant: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: &str) -> Option<(String, Endpoint)> {
        route(path).map(|r| (r.tenant, r.endpoint))
    }

    fn of(tenant: &str, endpoint: Endpoint) -> Option<(String, Endpoint)> {
        Some((tenant.to_string(), endpoint))
    }

    #[test]
    fn resource_paths_name_their_collection_and_id() {
        use Collection::{Groups, Users};
        assert_eq!(at("/t1/Users"), of("t1", Endpoint::Resources(Users)));
        assert_eq!(at("/t1/Groups"), of("t1", Endpoint::Resources(Groups)));
        assert_eq!(at("/t1/Users/.search"), of("t1", Endpoint::Search(Users)));
        assert_eq!(at("/t1/Groups/.search"), of("t1", Endpoint::Search(Groups)));
        assert_eq!(
            at("/t1/Users/2819c223"),
            of("t1", Endpoint::Resource(Users, "2819c223".into()))
        );
        assert_eq!(
            at("/t1/Groups/e9e3"),
            of("t1", Endpoint::Resource(Groups, "e9e3".into()))
        );
        assert_eq!(at("/t1/.search"), of("t1", Endpoint::SearchRoot));
    }

    #[test]
    fn discovery_paths_are_matched() {
        assert_eq!(
            at("/t1/ServiceProviderConfig"),
            of("t1", Endpoint::ServiceProviderConfig)
        );
        assert_eq!(at("/t1/Schemas"), of("t1", Endpoint::Schemas));
        assert_eq!(
            at("/t1/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"),
            of(
                "t1",
                Endpoint::Schema("urn:ietf:params:scim:schemas:core:2.0:User".into())
            )
        );
        assert_eq!(at("/t1/ResourceTypes"), of("t1", Endpoint::ResourceTypes));
        assert_eq!(
            at("/t1/ResourceTypes/User"),
            of("t1", Endpoint::ResourceType("User".into()))
        );
        assert_eq!(at("/t1/Me"), of("t1", Endpoint::Me));
        assert_eq!(at("/t1/Bulk"), of("t1", Endpoint::Bulk));
    }

    #[test]
    fn other_paths_of_a_tenant_are_unknown() {
        for tail in [
            "",
            "/",
            "/users",
            "/Users/",
            "/Users/a/b",
            "/Users//",
            "/Me/x",
            "/Bulk/x",
            "/.search/x",
            "/Schemas/",
            "/ServiceProviderConfig/x",
            "/Nope",
        ] {
            assert_eq!(
                at(&format!("/t1{tail}")),
                of("t1", Endpoint::Unknown),
                "{tail}"
            );
        }
    }

    #[test]
    fn paths_without_a_tenant_name_none() {
        for path in ["", "/", "//Users", "x/Users"] {
            assert_eq!(at(path), None, "{path}");
        }
    }

    #[test]
    fn tenant_and_id_are_percent_decoded_whole() {
        use Collection::Users;
        // actix leaves %2F, %25 and %2B encoded in the path it matches; the segment is then
        // decoded, so an encoded slash stays inside its segment.
        assert_eq!(
            at("/t%2B1/Users/a%2Fb%25c"),
            of("t+1", Endpoint::Resource(Users, "a/b%c".into()))
        );
        assert_eq!(
            at("/t1/Users/%ZZ"),
            of("t1", Endpoint::Resource(Users, "%ZZ".into()))
        );
    }

    #[test]
    fn metrics_label_known_endpoints_by_their_pattern() {
        let pattern = |path: &str| route(path).unwrap().endpoint.pattern();
        assert_eq!(pattern("/t1/Users/x"), Some("/scim/v2/{tenant}/Users/{id}"));
        assert_eq!(pattern("/t1/Groups"), Some("/scim/v2/{tenant}/Groups"));
        assert_eq!(
            pattern("/t1/Schemas/x"),
            Some("/scim/v2/{tenant}/Schemas/{id}")
        );
        assert_eq!(pattern("/t1/Nope"), None);
    }
}
