//! The SCIM representation of stored resources: `id`, `meta`, `members`/`groups`, in the
//! order clients expect, before projection (`attributes`/`excludedAttributes`).

use serde_json::{Map, Value};

use crate::schema::ResourceType;
use crate::store::resources::{Member, StoredResource};

/// Builds the full SCIM document of a stored resource. `base_url` is the tenant's SCIM
/// URL; `members` (Groups) and `groups` (Users) are given when they are to be returned.
pub fn to_scim(
    rt: &ResourceType,
    stored: &StoredResource,
    base_url: &str,
    members: Option<&[Member]>,
    groups: Option<&[Member]>,
) -> Value {
    let mut out = Map::new();
    let schemas = stored
        .doc
        .get("schemas")
        .cloned()
        .unwrap_or_else(|| Value::Array(vec![Value::String(rt.schema.id.clone())]));
    out.insert("schemas".into(), schemas);
    out.insert("id".into(), Value::String(stored.id.clone()));
    if let Some(Value::Object(doc)) = Some(&stored.doc) {
        for (k, v) in doc {
            if k != "schemas" {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(members) = members {
        let list = members
            .iter()
            .map(|m| {
                let endpoint = if m.member_type == "Group" {
                    "Groups"
                } else {
                    "Users"
                };
                let mut e = Map::new();
                e.insert("value".into(), Value::String(m.member_id.clone()));
                e.insert(
                    "$ref".into(),
                    Value::String(format!("{base_url}/{endpoint}/{}", m.member_id)),
                );
                e.insert("type".into(), Value::String(m.member_type.clone()));
                if let Some(d) = &m.display {
                    e.insert("display".into(), Value::String(d.clone()));
                }
                Value::Object(e)
            })
            .collect();
        out.insert("members".into(), Value::Array(list));
    }
    if let Some(groups) = groups {
        if !groups.is_empty() {
            let list = groups
                .iter()
                .map(|g| {
                    let mut e = Map::new();
                    e.insert("value".into(), Value::String(g.group_id.clone()));
                    e.insert(
                        "$ref".into(),
                        Value::String(format!("{base_url}/Groups/{}", g.group_id)),
                    );
                    if let Some(d) = &g.display {
                        e.insert("display".into(), Value::String(d.clone()));
                    }
                    e.insert("type".into(), Value::String("direct".into()));
                    Value::Object(e)
                })
                .collect();
            out.insert("groups".into(), Value::Array(list));
        }
    }
    if rt.name == "User" {
        add_manager_ref(&mut out, base_url);
    }
    out.insert(
        "meta".into(),
        serde_json::json!({
            "resourceType": rt.name,
            "created": stored.created,
            "lastModified": stored.last_modified,
            "location": format!("{base_url}{}/{}", rt.endpoint, stored.id),
            "version": stored.etag(),
        }),
    );
    Value::Object(out)
}

/// The enterprise manager is returned as `{"value": id, "$ref": url}`.
fn add_manager_ref(out: &mut Map<String, Value>, base_url: &str) {
    let ext = crate::schema::ENTERPRISE_USER_SCHEMA;
    if let Some(Value::Object(m)) = out.get_mut(ext).and_then(|e| e.get_mut("manager")) {
        if let Some(id) = m.get("value").and_then(Value::as_str).map(str::to_string) {
            m.insert(
                "$ref".into(),
                Value::String(format!("{base_url}/Users/{id}")),
            );
        }
    }
}

/// A `ListResponse` (RFC 7644 §3.4.2).
pub fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    // Built by hand so that the page's documents are moved, not deep-copied.
    let mut out = Map::new();
    out.insert(
        "schemas".into(),
        Value::Array(vec![Value::String(
            "urn:ietf:params:scim:api:messages:2.0:ListResponse".into(),
        )]),
    );
    out.insert("totalResults".into(), Value::from(total));
    out.insert("startIndex".into(), Value::from(start_index));
    out.insert("itemsPerPage".into(), Value::from(resources.len()));
    out.insert("Resources".into(), Value::Array(resources));
    Value::Object(out)
}
