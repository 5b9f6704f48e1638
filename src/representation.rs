//! The SCIM representation of stored resources: `id`, `meta`, `members`/`groups`, in the
//! order clients expect, before projection (`attributes`/`excludedAttributes`).

use serde_json::{Map, Value};

use crate::schema::ResourceType;
use crate::store::resources::{weak_etag_parts, Member, ResourceRow, StoredResource};

/// Builds the full SCIM document of a stored resource. `base_url` is the tenant's SCIM
/// URL; `members` (Groups) and `groups` (Users) are given when they are to be returned.
pub fn to_scim(
    rt: &ResourceType,
    stored: StoredResource,
    base_url: &str,
    members: Option<&[Member]>,
    groups: Option<&[Member]>,
) -> Value {
    let etag = stored.etag();
    let StoredResource {
        id,
        created,
        last_modified,
        doc,
        ..
    } = stored;
    let location = location(base_url, rt, &id).concat();
    let mut doc = match doc {
        Value::Object(doc) => doc,
        _ => Map::new(),
    };
    let mut out = Map::new();
    let schemas = doc
        .shift_remove("schemas")
        .unwrap_or_else(|| Value::Array(vec![Value::String(rt.schema.id.clone())]));
    out.insert("schemas".into(), schemas);
    out.insert("id".into(), Value::String(id));
    // Moved, not copied: the stored document is consumed.
    out.extend(doc);
    if let Some(members) = members {
        let list = members
            .iter()
            .map(|m| {
                let mut e = Map::new();
                e.insert("value".into(), Value::String(m.member_id.clone()));
                e.insert(
                    "$ref".into(),
                    Value::String(member_ref(base_url, m).concat()),
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
                        Value::String(group_ref(base_url, g).concat()),
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
            "created": created,
            "lastModified": last_modified,
            "location": location,
            "version": etag,
        }),
    );
    Value::Object(out)
}

/// The same text as `to_scim(…).to_string()`, written straight from the stored JSON text
/// (no parse, no copy, no re-serialisation): what a list page or a GET with the default
/// projection costs. `None` when the document needs the general path: it does not start
/// with its `schemas` (documents written by the store always do), or a User has an
/// enterprise `manager` (whose `$ref` is added).
pub fn to_scim_text(
    rt: &ResourceType,
    row: &ResourceRow,
    base_url: &str,
    members: Option<&[Member]>,
    groups: Option<&[Member]>,
) -> Option<String> {
    const PREFIX: &str = "{\"schemas\":[";
    let doc = row.doc.as_str();
    if !doc.starts_with(PREFIX) || (rt.name == "User" && doc.contains("\"manager\"")) {
        return None;
    }
    // `schemas` holds known schema URNs only (checked on every write): no `]` inside.
    let schemas_end = PREFIX.len() + doc[PREFIX.len()..].find(']')? + 1;
    let rest = doc[schemas_end..].strip_suffix('}')?;
    if !(rest.is_empty() || rest.starts_with(',')) {
        return None;
    }
    let mut out = String::with_capacity(doc.len() + 320);
    out.push_str(&doc[..schemas_end]);
    out.push_str(",\"id\":");
    push_json_str(&mut out, &row.id);
    out.push_str(rest);
    if let Some(members) = members {
        push_array(&mut out, "members", members, |out, m| {
            out.push_str("{\"value\":");
            push_json_str(out, &m.member_id);
            out.push_str(",\"$ref\":");
            push_json_concat(out, &member_ref(base_url, m));
            push_str_field(out, "type", &m.member_type);
            if let Some(d) = &m.display {
                push_str_field(out, "display", d);
            }
            out.push('}');
        });
    }
    if let Some(groups) = groups.filter(|g| !g.is_empty()) {
        push_array(&mut out, "groups", groups, |out, g| {
            out.push_str("{\"value\":");
            push_json_str(out, &g.group_id);
            out.push_str(",\"$ref\":");
            push_json_concat(out, &group_ref(base_url, g));
            if let Some(d) = &g.display {
                push_str_field(out, "display", d);
            }
            out.push_str(",\"type\":\"direct\"}");
        });
    }
    out.push_str(",\"meta\":{\"resourceType\":");
    push_json_str(&mut out, rt.name);
    push_str_field(&mut out, "created", &row.created);
    push_str_field(&mut out, "lastModified", &row.last_modified);
    out.push_str(",\"location\":");
    push_json_concat(&mut out, &location(base_url, rt, &row.id));
    out.push_str(",\"version\":");
    push_json_concat(
        &mut out,
        &weak_etag_parts(row.version, &mut itoa::Buffer::new()),
    );
    out.push_str("}}");
    Some(out)
}

// The URLs an answer shows, as their parts: joined for a document (`to_scim`), written
// part by part into the text (`to_scim_text`).

/// A resource's `meta.location` (also its `Location` after a create).
pub fn location<'a>(base_url: &'a str, rt: &'a ResourceType, id: &'a str) -> [&'a str; 4] {
    [base_url, rt.endpoint, "/", id]
}

/// The `$ref` of a group member (a User or a Group).
fn member_ref<'a>(base_url: &'a str, m: &'a Member) -> [&'a str; 4] {
    let endpoint = if m.member_type == "Group" {
        "/Groups"
    } else {
        "/Users"
    };
    [base_url, endpoint, "/", &m.member_id]
}

/// The `$ref` of a group in a User's `groups`.
fn group_ref<'a>(base_url: &'a str, g: &'a Member) -> [&'a str; 3] {
    [base_url, "/Groups/", &g.group_id]
}

/// Appends `,"name":[…]` with each item written by `item`, comma-separated.
fn push_array<T>(out: &mut String, name: &str, items: &[T], mut item: impl FnMut(&mut String, &T)) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":[");
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, it);
    }
    out.push(']');
}

/// Appends `,"name":"value"` (`name` is a constant of this module, needing no escaping).
fn push_str_field(out: &mut String, name: &str, value: &str) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
    push_json_str(out, value);
}

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    push_json_concat(out, &[s]);
}

/// Appends the concatenation of `parts` as one JSON string literal (a URL from its parts,
/// without building it first).
fn push_json_concat(out: &mut String, parts: &[&str]) {
    out.push('"');
    for part in parts {
        push_json_escaped(out, part);
    }
    out.push('"');
}

/// Appends `s` escaped as the inside of a JSON string literal. Ids, timestamps and URLs
/// need no escaping: copied as they are.
fn push_json_escaped(out: &mut String, s: &str) {
    // Every byte tested, without an early exit: the loop vectorises.
    let plain = !s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.push_str(s);
        return;
    }
    // Serialising a string cannot fail; the quotes serde_json puts around it are dropped.
    if let Ok(quoted) = serde_json::to_string(s) {
        out.push_str(&quoted[1..quoted.len() - 1]);
    }
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

/// A `ListResponse` (RFC 7644 §3.4.2) around already serialised resources: the same text
/// as `list_response(…).to_string()`.
pub fn list_response_text(total: i64, start_index: i64, resources: &[String]) -> String {
    let len: usize = resources.iter().map(|r| r.len() + 1).sum();
    let mut out = String::with_capacity(len + 160);
    out.push_str(&format!(
        "{{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],\"totalResults\":{total},\"startIndex\":{start_index},\"itemsPerPage\":{},\"Resources\":[",
        resources.len()
    ));
    for (i, r) in resources.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r);
    }
    out.push_str("]}");
    out
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resource::normalize;
    use crate::schema::Registry;

    const BASE: &str = "https://scim.example.com/scim/v2/t1";

    #[test]
    fn json_strings_are_written_as_serde_json_writes_them() {
        for s in [
            "2819c223-7f76-453a-919d-413861904646",
            "",
            "say \"hi\"",
            "back\\slash",
            "tab\there\n",
            "\u{1}",
            "Zoë 日本 \u{2028} \u{7f}",
        ] {
            let mut out = String::from("x");
            push_json_str(&mut out, s);
            assert_eq!(
                out,
                format!("x{}", serde_json::to_string(s).unwrap()),
                "{s:?}"
            );
        }
    }

    /// A row as the store writes it: the normalised document, compact.
    fn row(rt: &ResourceType, body: Value) -> (ResourceRow, StoredResource) {
        let doc = normalize(body, rt).unwrap().doc;
        let row = ResourceRow {
            id: "2819c223-7f76-453a-919d-413861904646".into(),
            created: "2026-11-22T07:00:00.000Z".into(),
            last_modified: "2026-11-22T07:30:00.000Z".into(),
            version: 3,
            doc: doc.to_string(),
        };
        let stored = row.clone().into_resource().unwrap();
        (row, stored)
    }

    fn member(group: &str, id: &str, kind: &str, display: Option<&str>) -> Member {
        Member {
            group_id: group.into(),
            member_id: id.into(),
            member_type: kind.into(),
            display: display.map(str::to_string),
        }
    }

    #[test]
    fn text_of_a_user_is_the_serialised_document() {
        let users = &Registry::get().user;
        let (row, stored) = row(
            users,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "userName": "Ann@contoso.com", "externalId": "ext \"1\"", "active": true,
                "displayName": "Ann \u{e9}\u{e8} \\ O'Neil",
                "name": {"givenName": "Ann", "familyName": "O'Neil"},
                "emails": [{"value": "ann@contoso.com", "type": "work", "primary": true}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
            }),
        );
        let groups = [
            member("g1", &row.id, "User", Some("Sales \"EU\"")),
            member("g2", &row.id, "User", None),
        ];
        for groups in [None, Some(&[][..]), Some(&groups[..])] {
            let text = to_scim_text(users, &row, BASE, None, groups).expect("fast path");
            let value = to_scim(users, stored.clone(), BASE, None, groups);
            assert_eq!(text, value.to_string());
            let odd = "https://scim.example.com/a\"b\\c";
            assert_eq!(
                to_scim_text(users, &row, odd, None, groups).expect("fast path"),
                to_scim(users, stored.clone(), odd, None, groups).to_string()
            );
            // Default projection changes nothing of a stored document.
            let mut projected = value.clone();
            crate::projection::Projection::default().apply(&mut projected, users);
            assert_eq!(projected, value);
        }
    }

    #[test]
    fn text_of_a_group_with_and_without_members() {
        let groups_rt = &Registry::get().group;
        let (row, stored) = row(
            groups_rt,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "Sales", "externalId": "s-1"}),
        );
        let members = [
            member(&row.id, "u1", "User", Some("Ann")),
            member(&row.id, "g9", "Group", Some("Nested")),
            member(&row.id, "u2", "User", None),
        ];
        for members in [None, Some(&[][..]), Some(&members[..])] {
            let text = to_scim_text(groups_rt, &row, BASE, members, None).expect("fast path");
            // URLs are written from their parts, each escaped: a base URL that needs it
            // still gives the serialised document's text.
            let odd = "https://scim.example.com/a\"b\\c";
            assert_eq!(
                to_scim_text(groups_rt, &row, odd, members, None).expect("fast path"),
                to_scim(groups_rt, stored.clone(), odd, members, None).to_string()
            );
            assert_eq!(
                text,
                to_scim(groups_rt, stored.clone(), BASE, members, None).to_string()
            );
        }
    }

    #[test]
    fn documents_needing_changes_take_the_general_path() {
        let users = &Registry::get().user;
        let (with_manager, _) = row(
            users,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                   "userName": "bob",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                       {"manager": {"value": "m1"}}}),
        );
        assert_eq!(to_scim_text(users, &with_manager, BASE, None, None), None);
        let mut reordered = with_manager.clone();
        reordered.doc =
            r#"{"userName":"bob","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}"#.into();
        assert_eq!(to_scim_text(users, &reordered, BASE, None, None), None);
    }

    #[test]
    fn list_text_is_the_serialised_list_response() {
        let items = vec![json!({"id": "a"}), json!({"id": "b", "x": [1, 2]})];
        let texts: Vec<String> = items.iter().map(Value::to_string).collect();
        assert_eq!(
            list_response_text(42, 3, &texts),
            list_response(42, 3, items).to_string()
        );
        assert_eq!(
            list_response_text(0, 1, &[]),
            list_response(0, 1, Vec::new()).to_string()
        );
    }
}
