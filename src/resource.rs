//! Resource documents: normalization and validation of client-supplied User and Group
//! bodies against the schemas, the search copy of a document, and the immutability rule.
//!
//! A stored document uses the schemas' attribute names (canonical case): core attributes at
//! the top level, extension attributes under the extension URN key, and `schemas` listing the
//! core URN plus the URNs of the extensions present. It never holds `id`, `meta`, readOnly
//! attributes (`groups`, the scimd extension), writeOnly ones (`password`), nulls, empty
//! arrays or empty objects. A Group's `members` live in the membership table, not in the
//! document.
//!
//! Leniencies for Microsoft Entra ID and other real clients (see
//! `reference/entra-scim.md`): attribute names match case-insensitively, explicit `null`s are
//! dropped, booleans may be the strings `"True"`/`"False"`, a single value is accepted where
//! an array is expected, the Microsoft group schema URI is accepted, the enterprise
//! `manager` may be a bare id, an object or a one-element array, and a group member may be
//! a bare id.

use std::borrow::Cow;
use std::fmt;

use chrono::DateTime;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use crate::error::{ScimError, ScimResult};
use crate::schema::{
    AttrType, Attribute, Mutability, ResourceType, Schema, ENTERPRISE_USER_SCHEMA,
    MS_ADSCIM_GROUP_SCHEMA, SCIMD_USER_SCHEMA,
};

/// Maximum nesting depth of a JSON body (objects and arrays).
pub const MAX_DEPTH: usize = 32;

/// A member of a group, as named in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRef {
    /// The member's `id`.
    pub value: String,
    /// `"User"` or `"Group"` when the client said which.
    pub member_type: Option<String>,
}

/// A normalized POST/PUT body.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedResource {
    /// The document to store (without `id`, `meta` and `members`).
    pub doc: Value,
    /// Groups only: `Some` when the body had `members` (possibly empty).
    pub members: Option<Vec<MemberRef>>,
}

/// Normalizes a client-supplied User or Group body (POST or PUT) into a stored document.
pub fn normalize(input: Value, rt: &ResourceType) -> ScimResult<NormalizedResource> {
    check_depth(&input)?;
    let Value::Object(body) = input else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    // `schemas` first; its value is set once the extensions present are known.
    let mut doc = Map::with_capacity(body.len() + 1);
    doc.insert("schemas".into(), Value::Null);
    let mut members = None;
    // The body is consumed: its values move into the document.
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            check_schemas(&value, rt)?;
            continue;
        }
        if let Some(ext) = rt.extension(&key) {
            if ext.id.eq_ignore_ascii_case(SCIMD_USER_SCHEMA) {
                continue; // readOnly, filled in by the server
            }
            let obj = match value {
                Value::Null => continue,
                Value::Object(obj) => obj,
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "'{}' must be an object of that extension's attributes",
                        ext.id
                    )))
                }
            };
            let mut out = match doc.shift_remove(&ext.id) {
                Some(Value::Object(existing)) => existing,
                _ => Map::new(),
            };
            for (k, v) in obj {
                if k.eq_ignore_ascii_case("schemas") {
                    continue; // an extension object's own `schemas`, as SCIM libraries send it
                }
                let Some(attr) = ext.attribute(&k) else {
                    return Err(ScimError::invalid_syntax(format!(
                        "unknown attribute '{}:{k}'",
                        ext.id
                    )));
                };
                let path = Joined(&ext.id, ':', &attr.name);
                if let Some(v) = normalize_attribute(Some(ext), attr, v, &path)? {
                    out.insert(attr.name.clone(), v);
                }
            }
            if !out.is_empty() {
                doc.insert(ext.id.clone(), Value::Object(out));
            }
            continue;
        }
        if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
            return Err(ScimError::invalid_syntax(format!(
                "unknown schema extension '{key}' for resource type {}",
                rt.name
            )));
        }
        let Some(attr) = rt.core_attribute(&key) else {
            return Err(ScimError::invalid_syntax(format!(
                "unknown attribute '{key}'"
            )));
        };
        if is_members(rt, None, attr) {
            if !value.is_null() {
                members = Some(parse_members(&value, &attr.name)?);
            }
            continue;
        }
        match normalize_attribute(None, attr, value, &attr.name)? {
            Some(v) => {
                doc.insert(attr.name.clone(), v);
            }
            None => {
                doc.shift_remove(&attr.name);
            }
        }
    }
    check_required(&doc, rt)?;
    set_schemas(&mut doc, rt);
    Ok(NormalizedResource {
        doc: Value::Object(doc),
        members,
    })
}

/// Validates a document after PATCH (same rules as [`normalize`], on an already-canonical
/// document).
pub fn validate(doc: &Value, rt: &ResourceType) -> ScimResult<()> {
    normalize(doc.clone(), rt).map(|_| ())
}

/// RFC 7643 immutable attributes: on PUT, an immutable attribute that has a value may not
/// change (nor be removed). Sub-attributes of single-valued complex attributes are checked
/// too. Strings of caseExact=false attributes compare case-insensitively.
pub fn check_immutable(old: &Value, new: &Value, rt: &ResourceType) -> ScimResult<()> {
    for (ext, attr) in attributes(rt) {
        let Some(old_v) = lookup(old, ext, attr) else {
            continue;
        };
        let new_v = lookup(new, ext, attr);
        let name = match ext {
            Some(ext) => format!("{}:{}", ext.id, attr.name),
            None => attr.name.clone(),
        };
        if attr.mutability == Mutability::Immutable {
            let same = new_v.is_some_and(|n| folded_eq(attr, n, old_v));
            if !same {
                return Err(ScimError::mutability(format!(
                    "attribute '{name}' is immutable and already has a value"
                )));
            }
        } else if attr.attr_type == AttrType::Complex && !attr.multi_valued {
            for sub in &attr.sub_attributes {
                if sub.mutability != Mutability::Immutable {
                    continue;
                }
                let Some(old_s) = get_ci(old_v, &sub.name).filter(|v| !v.is_null()) else {
                    continue;
                };
                let new_s = new_v.and_then(|n| get_ci(n, &sub.name));
                let same = new_s.is_some_and(|n| folded_eq(sub, n, old_s));
                if !same {
                    return Err(ScimError::mutability(format!(
                        "attribute '{name}.{}' is immutable and already has a value",
                        sub.name
                    )));
                }
            }
        }
    }
    Ok(())
}

/// The search copy of a stored document as JSON text: the document with the strings of
/// every caseExact=false attribute lowercased (`str::to_lowercase`), which filters compare
/// against; caseExact strings and unknown keys are unchanged. Written straight from the
/// document: no folded copy of it is built.
pub fn search_document_text(doc: &Value, rt: &ResourceType) -> String {
    // Serialising into a `Vec` cannot fail: every key is a string.
    serde_json::to_string(&SearchDocument { doc, rt }).unwrap_or_default()
}

/// A document serialised as its search copy (see [`search_document_text`]).
struct SearchDocument<'a> {
    doc: &'a Value,
    rt: &'a ResourceType,
}

impl Serialize for SearchDocument<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(map) = self.doc else {
            return self.doc.serialize(serializer);
        };
        let mut out = serializer.serialize_map(Some(map.len()))?;
        for (k, v) in map {
            if let Some(ext) = self.rt.extension(k) {
                match v {
                    Value::Object(obj) => out.serialize_entry(
                        k,
                        &FoldedObject {
                            obj,
                            sub_attribute: &|name| ext.attribute(name),
                        },
                    )?,
                    other => out.serialize_entry(k, other)?,
                }
            } else if let Some(attr) = self.rt.core_attribute(k) {
                out.serialize_entry(k, &Folded { attr, value: v })?;
            } else {
                out.serialize_entry(k, v)?;
            }
        }
        out.end()
    }
}

/// A value of `attr` with the strings of its caseExact=false parts lowercased.
struct Folded<'a> {
    attr: &'a Attribute,
    value: &'a Value,
}

impl Serialize for Folded<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::String(s) if !self.attr.case_exact => fold_str(s).serialize(serializer),
            Value::Array(a) => {
                let mut seq = serializer.serialize_seq(Some(a.len()))?;
                for value in a {
                    seq.serialize_element(&Folded {
                        attr: self.attr,
                        value,
                    })?;
                }
                seq.end()
            }
            Value::Object(obj) => FoldedObject {
                obj,
                sub_attribute: &|name| self.attr.sub_attribute(name),
            }
            .serialize(serializer),
            other => other.serialize(serializer),
        }
    }
}

/// An object whose members are folded by the attributes `sub_attribute` finds for their
/// names (members it finds none for are written as they are).
struct FoldedObject<'a> {
    obj: &'a Map<String, Value>,
    sub_attribute: &'a dyn Fn(&str) -> Option<&'a Attribute>,
}

impl Serialize for FoldedObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(Some(self.obj.len()))?;
        for (k, value) in self.obj {
            match (self.sub_attribute)(k) {
                Some(attr) => out.serialize_entry(k, &Folded { attr, value })?,
                None => out.serialize_entry(k, value)?,
            }
        }
        out.end()
    }
}

/// Whether two values of `attr` are equal once the strings of its caseExact=false parts are
/// lowercased (objects compare regardless of key order, as `Value`s do).
fn folded_eq(attr: &Attribute, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if !attr.case_exact => fold_str(x) == fold_str(y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| folded_eq(attr, x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.get(k).is_some_and(|w| match attr.sub_attribute(k) {
                        Some(sub) => folded_eq(sub, v, w),
                        None => v == w,
                    })
                })
        }
        _ => a == b,
    }
}

/// `s` lowercased; borrowed when there is nothing to lowercase (ids, most addresses).
fn fold_str(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// An attribute path for error messages, joined only when a message is written: every
/// attribute of a body passes its path down, and almost none fail.
pub(crate) struct Joined<'a>(pub &'a dyn fmt::Display, pub char, pub &'a str);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.0, self.1, self.2)
    }
}

// ---------------------------------------------------------------------------------------
// Helpers shared with `patch`.

/// Normalizes the value of one attribute (top-level or extension): readOnly and writeOnly
/// attributes are dropped, the enterprise manager gets its own forms, everything else is
/// type-checked. `Ok(None)` means "no value" (null, empty array, empty object).
pub(crate) fn normalize_attribute(
    ext: Option<&Schema>,
    attr: &Attribute,
    value: Value,
    path: &dyn fmt::Display,
) -> ScimResult<Option<Value>> {
    if matches!(
        attr.mutability,
        Mutability::ReadOnly | Mutability::WriteOnly
    ) {
        // readOnly: ignored on input. writeOnly (password): scimd authenticates no end
        // users, so it is accepted and never stored.
        if attr.mutability == Mutability::WriteOnly {
            normalize_value(attr, value, path)?;
        }
        return Ok(None);
    }
    if is_manager(ext, attr) {
        return normalize_manager(attr, &value, path);
    }
    normalize_value(attr, value, path)
}

/// Type-checks and canonicalizes a value of `attr` (an array if multi-valued; a single
/// value is wrapped).
pub(crate) fn normalize_value(
    attr: &Attribute,
    value: Value,
    path: &dyn fmt::Display,
) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    if !attr.multi_valued {
        return normalize_single(attr, value, path);
    }
    let items = match value {
        Value::Array(a) => a,
        other => vec![other],
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if let Some(v) = normalize_single(attr, item, path)? {
            out.push(v);
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    check_one_primary(attr, &out, path)?;
    Ok(Some(Value::Array(out)))
}

/// At most one element of a multi-valued complex attribute may have `primary: true`.
pub(crate) fn check_one_primary(
    attr: &Attribute,
    items: &[Value],
    path: &dyn fmt::Display,
) -> ScimResult<()> {
    if attr.attr_type == AttrType::Complex && items.iter().filter(|e| is_primary(e)).count() > 1 {
        return Err(ScimError::invalid_value(format!(
            "'{path}': at most one value may have primary=true"
        )));
    }
    Ok(())
}

pub(crate) fn is_primary(element: &Value) -> bool {
    element.get("primary") == Some(&Value::Bool(true))
}

/// Type-checks one value (one element of a multi-valued attribute).
pub(crate) fn normalize_single(
    attr: &Attribute,
    value: Value,
    path: &dyn fmt::Display,
) -> ScimResult<Option<Value>> {
    if value.is_null() {
        return Ok(None);
    }
    let wrong = |expected: &str| {
        Err(ScimError::invalid_value(format!(
            "invalid value for '{path}': expected {expected}"
        )))
    };
    match attr.attr_type {
        AttrType::String | AttrType::Reference | AttrType::Binary => match value {
            Value::String(_) => Ok(Some(value)),
            _ => wrong("a string"),
        },
        AttrType::DateTime => match value {
            Value::String(ref s) if DateTime::parse_from_rfc3339(s).is_ok() => Ok(Some(value)),
            _ => wrong("an RFC 3339 dateTime string"),
        },
        AttrType::Boolean => match value {
            Value::Bool(_) => Ok(Some(value)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            _ => wrong("a boolean"),
        },
        AttrType::Integer => match value {
            Value::Number(ref n) if n.is_i64() || n.is_u64() => Ok(Some(value)),
            _ => wrong("an integer"),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => Ok(Some(value)),
            _ => wrong("a number"),
        },
        AttrType::Complex => {
            let Value::Object(obj) = value else {
                return wrong("an object");
            };
            let mut out = Map::with_capacity(obj.len());
            for (k, v) in obj {
                let Some(sub) = attr.sub_attribute(&k) else {
                    return Err(ScimError::invalid_syntax(format!(
                        "unknown attribute '{path}.{k}'"
                    )));
                };
                if matches!(sub.mutability, Mutability::ReadOnly | Mutability::WriteOnly) {
                    continue;
                }
                match normalize_value(sub, v, &Joined(path, '.', &sub.name))? {
                    Some(v) => {
                        out.insert(sub.name.clone(), v);
                    }
                    None => {
                        out.shift_remove(&sub.name);
                    }
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
    }
}

/// True for the enterprise extension's `manager`.
pub(crate) fn is_manager(ext: Option<&Schema>, attr: &Attribute) -> bool {
    ext.is_some_and(|e| e.id.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA))
        && attr.name.eq_ignore_ascii_case("manager")
}

/// True for a Group's `members`.
pub(crate) fn is_members(rt: &ResourceType, ext: Option<&Schema>, attr: &Attribute) -> bool {
    ext.is_none() && rt.name == "Group" && attr.name.eq_ignore_ascii_case("members")
}

/// The manager in any accepted form (bare id, `{value, $ref?, displayName?}`, a
/// one-element array of those) → `{"value": id}` (with `$ref` if given); `None` for no
/// manager (`""`, null, `[]`, `{"value": ""}`).
pub(crate) fn normalize_manager(
    attr: &Attribute,
    value: &Value,
    path: &dyn fmt::Display,
) -> ScimResult<Option<Value>> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(serde_json::json!({ "value": s }))),
        Value::Array(a) => match a.as_slice() {
            [] => Ok(None),
            [one] if !one.is_array() => normalize_manager(attr, one, path),
            _ => Err(ScimError::invalid_value(format!(
                "invalid value for '{path}': a user has at most one manager"
            ))),
        },
        Value::Object(obj) => {
            let mut out = Map::new();
            let mut has_ref = false;
            for (k, v) in obj {
                if k.eq_ignore_ascii_case("value") {
                    match v {
                        Value::Null => {}
                        Value::String(s) if s.trim().is_empty() => {}
                        Value::String(s) => {
                            out.insert("value".into(), Value::String(s.clone()));
                        }
                        _ => {
                            return Err(ScimError::invalid_value(format!(
                                "invalid value for '{path}.value': expected a string"
                            )))
                        }
                    }
                } else if k.eq_ignore_ascii_case("$ref") {
                    match v {
                        Value::Null => {}
                        Value::String(s) => {
                            has_ref = true;
                            out.insert("$ref".into(), Value::String(s.clone()));
                        }
                        _ => {
                            return Err(ScimError::invalid_value(format!(
                                "invalid value for '{path}.$ref': expected a string"
                            )))
                        }
                    }
                } else if attr.sub_attribute(k).is_none() && !k.eq_ignore_ascii_case("displayName")
                {
                    return Err(ScimError::invalid_syntax(format!(
                        "unknown attribute '{path}.{k}'"
                    )));
                }
            }
            if !out.contains_key("value") {
                if has_ref {
                    return Err(ScimError::invalid_value(format!(
                        "invalid value for '{path}': 'value' (the manager's id) is required"
                    )));
                }
                return Ok(None);
            }
            // `value` first.
            let mut ordered = Map::new();
            if let Some(v) = out.shift_remove("value") {
                ordered.insert("value".into(), v);
            }
            ordered.extend(out);
            Ok(Some(Value::Object(ordered)))
        }
        _ => Err(ScimError::invalid_value(format!(
            "invalid value for '{path}': expected the manager's id or {{\"value\": id}}"
        ))),
    }
}

/// The manager id named by a value in any accepted form (`None` for "no manager").
pub(crate) fn manager_id(
    attr: &Attribute,
    value: &Value,
    path: &dyn fmt::Display,
) -> ScimResult<Option<String>> {
    Ok(normalize_manager(attr, value, path)?
        .and_then(|m| m.get("value").and_then(Value::as_str).map(str::to_string)))
}

/// Group members in any accepted form: an array (or a single element) of `{value, $ref?,
/// type?, display?}` objects or bare id strings. Duplicates are dropped.
pub(crate) fn parse_members(value: &Value, path: &str) -> ScimResult<Vec<MemberRef>> {
    let items: Vec<&Value> = match value {
        Value::Null => Vec::new(),
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out: Vec<MemberRef> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for item in items {
        let member = match item {
            Value::Null => continue,
            Value::String(s) if !s.trim().is_empty() => MemberRef {
                value: s.clone(),
                member_type: None,
            },
            Value::Object(obj) => {
                let value = match get_ci_map(obj, "value") {
                    Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
                    _ => {
                        return Err(ScimError::invalid_value(format!(
                            "invalid value for '{path}': every member needs a non-empty 'value' (the member's id)"
                        )))
                    }
                };
                let member_type = match get_ci_map(obj, "type") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(t)) if t.eq_ignore_ascii_case("user") => Some("User".into()),
                    Some(Value::String(t)) if t.eq_ignore_ascii_case("group") => {
                        Some("Group".into())
                    }
                    Some(_) => {
                        return Err(ScimError::invalid_value(format!(
                            "invalid value for '{path}.type': expected \"User\" or \"Group\""
                        )))
                    }
                };
                MemberRef { value, member_type }
            }
            _ => {
                return Err(ScimError::invalid_value(format!(
                    "invalid value for '{path}': expected member objects {{\"value\": id}} or ids"
                )))
            }
        };
        if seen.insert(member.value.clone()) {
            out.push(member);
        }
    }
    Ok(out)
}

/// Rejects JSON nested deeper than [`MAX_DEPTH`].
pub(crate) fn check_depth(value: &Value) -> ScimResult<()> {
    fn depth_ok(v: &Value, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match v {
            Value::Array(a) => a.iter().all(|x| depth_ok(x, depth + 1)),
            Value::Object(o) => o.values().all(|x| depth_ok(x, depth + 1)),
            _ => true,
        }
    }
    if depth_ok(value, 0) {
        Ok(())
    } else {
        Err(ScimError::invalid_syntax(format!(
            "the JSON body is nested deeper than {MAX_DEPTH} levels"
        )))
    }
}

/// The value under `key` of an object, key matched case-insensitively (exact match first).
pub(crate) fn get_ci<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_object().and_then(|m| get_ci_map(m, key))
}

pub(crate) fn get_ci_map<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn check_schemas(value: &Value, rt: &ResourceType) -> ScimResult<()> {
    let items = match value {
        Value::Null => return Ok(()),
        Value::Array(a) => a,
        _ => {
            return Err(ScimError::invalid_syntax(
                "'schemas' must be an array of schema URNs",
            ))
        }
    };
    for item in items {
        let Some(urn) = item.as_str() else {
            return Err(ScimError::invalid_syntax(
                "'schemas' must be an array of schema URNs",
            ));
        };
        if rt.knows_schema(urn) || urn.eq_ignore_ascii_case(MS_ADSCIM_GROUP_SCHEMA) {
            continue;
        }
        return Err(ScimError::invalid_syntax(format!(
            "unknown schema '{urn}' for resource type {}",
            rt.name
        )));
    }
    Ok(())
}

/// Required attributes: every required, writable core attribute (`userName`), and a Group's
/// `displayName`; a string must not be blank.
fn check_required(doc: &Map<String, Value>, rt: &ResourceType) -> ScimResult<()> {
    let required = rt.schema.attributes.iter().filter(|a| {
        (a.required && a.mutability != Mutability::ReadOnly)
            || (rt.name == "Group" && a.name == "displayName")
    });
    for attr in required {
        let ok = match doc.get(&attr.name) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(_) => true,
        };
        if !ok {
            return Err(ScimError::invalid_value(format!(
                "attribute '{}' is required",
                attr.name
            )));
        }
    }
    Ok(())
}

/// Sets `schemas` (the document's first key): the core URN and the URNs of the extensions
/// present.
fn set_schemas(doc: &mut Map<String, Value>, rt: &ResourceType) {
    let mut schemas = vec![Value::String(rt.schema.id.clone())];
    for ext in &rt.extensions {
        if doc.contains_key(&ext.schema.id) {
            schemas.push(Value::String(ext.schema.id.clone()));
        }
    }
    doc.insert("schemas".into(), Value::Array(schemas));
}

/// Every top-level attribute of a type with the extension it belongs to.
fn attributes(rt: &ResourceType) -> impl Iterator<Item = (Option<&Schema>, &Attribute)> {
    rt.schema
        .attributes
        .iter()
        .chain(rt.common.iter())
        .map(|a| (None, a))
        .chain(rt.extensions.iter().flat_map(|e| {
            let schema = e.schema.as_ref();
            schema.attributes.iter().map(move |a| (Some(schema), a))
        }))
}

/// The non-null value of an attribute in a document.
fn lookup<'a>(doc: &'a Value, ext: Option<&Schema>, attr: &Attribute) -> Option<&'a Value> {
    let container = match ext {
        None => doc,
        Some(ext) => get_ci(doc, &ext.id)?,
    };
    get_ci(container, &attr.name).filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{Registry, GROUP_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    fn user(v: Value) -> ScimResult<NormalizedResource> {
        normalize(v, &Registry::get().user)
    }
    fn group(v: Value) -> ScimResult<NormalizedResource> {
        normalize(v, &Registry::get().group)
    }
    fn err_type(r: ScimResult<NormalizedResource>) -> ScimType {
        r.expect_err("expected an error")
            .scim_type
            .expect("scimType")
    }

    #[test]
    fn entra_create_user() {
        let r = user(json!({
          "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
          "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
          "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
          "active": true,
          "emails": [{"primary": true, "type": "work",
                      "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}],
          "meta": {"resourceType": "User"},
          "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
          "roles": []
        }))
        .unwrap();
        assert_eq!(r.members, None);
        assert_eq!(
            r.doc,
            json!({
              "schemas": [USER_SCHEMA],
              "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
              "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
              "active": true,
              "emails": [{"primary": true, "type": "work",
                          "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}],
              "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"}
            })
        );
    }

    #[test]
    fn entra_create_user_example_2_nulls_and_enterprise() {
        let r = user(json!({
          "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
          "externalId": "jyoung", "userName": "Test_User_1@contoso.com", "active": true,
          "addresses": null, "displayName": "Joy Young", "emails": null, "phoneNumbers": null,
          "preferredLanguage": null, "title": null, "locale": null, "nickName": null,
          "name": {"familyName": null, "givenName": "Joy"},
          "id": "ignored", "groups": [{"value": "g1"}],
          ENTERPRISE_USER_SCHEMA: {"department": "Sales", "employeeNumber": null, "manager": "123456"},
          SCIMD_USER_SCHEMA: {"company": "evil"}
        }))
        .unwrap();
        assert_eq!(
            r.doc,
            json!({
              "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
              "externalId": "jyoung", "userName": "Test_User_1@contoso.com", "active": true,
              "displayName": "Joy Young", "name": {"givenName": "Joy"},
              ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "123456"}}
            })
        );
    }

    #[test]
    fn postman_capitalised_names_and_string_booleans() {
        let r = user(json!({
          "UserName": "u1", "Active": "True",
          "Emails": [{"Primary": "true", "Type": "work", "Value": "a@b.c"}],
          "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {
              "Department": "Finance", "Manager": {"Value": "m1", "displayName": "Boss"}}
        }))
        .unwrap();
        assert_eq!(
            r.doc,
            json!({
              "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
              "userName": "u1", "active": true,
              "emails": [{"primary": true, "type": "work", "value": "a@b.c"}],
              ENTERPRISE_USER_SCHEMA: {"department": "Finance", "manager": {"value": "m1"}}
            })
        );
        let r = user(json!({"userName": "u", "active": "FALSE"})).unwrap();
        assert_eq!(r.doc["active"], json!(false));
    }

    #[test]
    fn manager_forms() {
        let m = |v: Value| {
            user(json!({"userName": "u", ENTERPRISE_USER_SCHEMA: {"manager": v}})).map(|r| {
                r.doc
                    .get(ENTERPRISE_USER_SCHEMA)
                    .and_then(|e| e.get("manager"))
                    .cloned()
            })
        };
        assert_eq!(m(json!("id1")).unwrap(), Some(json!({"value": "id1"})));
        assert_eq!(
            m(json!({"value": "id1"})).unwrap(),
            Some(json!({"value": "id1"}))
        );
        assert_eq!(
            m(json!([{"$ref": "http://x/Users/id1", "value": "id1"}])).unwrap(),
            Some(json!({"value": "id1", "$ref": "http://x/Users/id1"}))
        );
        assert_eq!(m(json!("")).unwrap(), None);
        assert_eq!(m(json!([])).unwrap(), None);
        assert_eq!(m(json!({"value": ""})).unwrap(), None);
        assert_eq!(
            m(json!(12)).unwrap_err().scim_type,
            Some(ScimType::InvalidValue)
        );
        assert_eq!(
            m(json!([{"value": "a"}, {"value": "b"}]))
                .unwrap_err()
                .scim_type,
            Some(ScimType::InvalidValue)
        );
        assert_eq!(
            m(json!({"$ref": "x"})).unwrap_err().scim_type,
            Some(ScimType::InvalidValue)
        );
    }

    #[test]
    fn entra_create_group_with_microsoft_schema() {
        let r = group(json!({
          "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                      "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
          "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName",
          "meta": {"resourceType": "Group"}
        }))
        .unwrap();
        assert_eq!(
            r.doc,
            json!({"schemas": [GROUP_SCHEMA],
                   "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName"})
        );
        assert_eq!(r.members, None);
    }

    #[test]
    fn group_members_objects_and_bare_ids() {
        let r = group(json!({
          "displayName": "g",
          "members": [{"value": "u1", "$ref": null, "type": "user", "display": "U1"},
                      "u2", {"Value": "g3", "Type": "Group"}, "u2"]
        }))
        .unwrap();
        assert_eq!(
            r.doc,
            json!({"schemas": [GROUP_SCHEMA], "displayName": "g"})
        );
        assert_eq!(
            r.members.unwrap(),
            vec![
                MemberRef {
                    value: "u1".into(),
                    member_type: Some("User".into())
                },
                MemberRef {
                    value: "u2".into(),
                    member_type: None
                },
                MemberRef {
                    value: "g3".into(),
                    member_type: Some("Group".into())
                },
            ]
        );
        assert_eq!(
            group(json!({"displayName": "g", "members": []}))
                .unwrap()
                .members,
            Some(vec![])
        );
        assert_eq!(
            err_type(group(
                json!({"displayName": "g", "members": [{"type": "User"}]})
            )),
            ScimType::InvalidValue
        );
        assert_eq!(
            err_type(group(
                json!({"displayName": "g", "members": [{"value": "x", "type": "Robot"}]})
            )),
            ScimType::InvalidValue
        );
    }

    #[test]
    fn schemas_are_checked() {
        assert_eq!(
            err_type(user(json!({"schemas": ["urn:nope"], "userName": "u"}))),
            ScimType::InvalidSyntax
        );
        assert_eq!(
            err_type(user(json!({"schemas": GROUP_SCHEMA, "userName": "u"}))),
            ScimType::InvalidSyntax
        );
        assert_eq!(
            err_type(user(json!({"schemas": [GROUP_SCHEMA], "userName": "u"}))),
            ScimType::InvalidSyntax
        );
        assert_eq!(
            err_type(group(
                json!({"schemas": [ENTERPRISE_USER_SCHEMA], "displayName": "g"})
            )),
            ScimType::InvalidSyntax
        );
        assert!(user(
            json!({"schemas": ["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"], "userName": "u"})
        )
        .is_ok());
        assert!(user(json!({"userName": "u"})).is_ok());
    }

    #[test]
    fn unknown_attributes_and_extensions() {
        let e = user(json!({"userName": "u", "favouriteColour": "blue"})).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
        assert!(e.detail.contains("favouriteColour"), "{}", e.detail);
        let e = user(json!({"userName": "u", "name": {"nick": "x"}})).unwrap_err();
        assert!(e.detail.contains("name.nick"), "{}", e.detail);
        assert_eq!(
            err_type(user(
                json!({"userName": "u", "urn:example:ext:1.0:User": {}})
            )),
            ScimType::InvalidSyntax
        );
        assert_eq!(
            err_type(user(
                json!({"userName": "u", ENTERPRISE_USER_SCHEMA: {"shoeSize": 4}})
            )),
            ScimType::InvalidSyntax
        );
        assert_eq!(
            err_type(group(
                json!({"displayName": "g", ENTERPRISE_USER_SCHEMA: {}})
            )),
            ScimType::InvalidSyntax
        );
    }

    #[test]
    fn type_checks() {
        let bad = [
            json!({"userName": 5}),
            json!({"userName": "u", "active": "yes"}),
            json!({"userName": "u", "active": 1}),
            json!({"userName": "u", "name": "Bob"}),
            json!({"userName": "u", "emails": [{"value": 5}]}),
            json!({"userName": "u", "emails": ["a@b.c"]}),
            json!({"userName": "u", ENTERPRISE_USER_SCHEMA: "x"}),
            json!({"userName": "u", ENTERPRISE_USER_SCHEMA: {"department": ["a"]}}),
        ];
        for b in bad {
            let e = user(b.clone()).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{b}: {e}");
        }
        let e = user(json!({"userName": "u", "emails": [{"value": 5}]})).unwrap_err();
        assert!(e.detail.contains("emails.value"), "{}", e.detail);
        // A single value where an array is expected is wrapped.
        let r = user(json!({"userName": "u", "emails": {"value": "a@b.c"}})).unwrap();
        assert_eq!(r.doc["emails"], json!([{"value": "a@b.c"}]));
    }

    #[test]
    fn at_most_one_primary_and_empty_values_dropped() {
        let e = user(json!({"userName": "u", "emails": [
            {"value": "a", "primary": true}, {"value": "b", "primary": "True"}]}))
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
        let r =
            user(json!({"userName": "u", "emails": [{}, null], "name": {}, "phoneNumbers": []}))
                .unwrap();
        assert_eq!(r.doc, json!({"schemas": [USER_SCHEMA], "userName": "u"}));
    }

    #[test]
    fn required_attributes() {
        assert_eq!(
            err_type(user(json!({"displayName": "x"}))),
            ScimType::InvalidValue
        );
        assert_eq!(
            err_type(user(json!({"userName": "  "}))),
            ScimType::InvalidValue
        );
        assert_eq!(
            err_type(user(json!({"userName": null}))),
            ScimType::InvalidValue
        );
        assert_eq!(
            err_type(group(json!({"externalId": "x"}))),
            ScimType::InvalidValue
        );
        assert_eq!(
            err_type(group(json!({"displayName": ""}))),
            ScimType::InvalidValue
        );
    }

    #[test]
    fn read_only_and_write_only_are_dropped() {
        let r = user(json!({"userName": "u", "password": "s3cret", "id": "x",
                            "meta": {"created": "bogus"}, "groups": "anything"}))
        .unwrap();
        assert_eq!(r.doc, json!({"schemas": [USER_SCHEMA], "userName": "u"}));
        assert_eq!(
            err_type(user(json!({"userName": "u", "password": 5}))),
            ScimType::InvalidValue
        );
    }

    #[test]
    fn non_object_and_deep_bodies() {
        assert_eq!(err_type(user(json!([1]))), ScimType::InvalidSyntax);
        assert_eq!(err_type(user(json!("x"))), ScimType::InvalidSyntax);
        let mut deep = json!("x");
        for _ in 0..40 {
            deep = json!({ "a": deep });
        }
        assert_eq!(
            err_type(user(json!({"userName": "u", "name": deep}))),
            ScimType::InvalidSyntax
        );
    }

    #[test]
    fn validate_accepts_normalized_and_rejects_bad() {
        let u = &Registry::get().user;
        let doc = user(json!({"userName": "u", "emails": [{"value": "a"}]}))
            .unwrap()
            .doc;
        validate(&doc, u).unwrap();
        assert!(validate(&json!({"schemas": [USER_SCHEMA]}), u).is_err());
        assert!(validate(&json!({"userName": "u", "active": 3}), u).is_err());
    }

    #[test]
    fn immutable_check() {
        // No immutable top-level attribute in the User schema: anything may change.
        let u = &Registry::get().user;
        check_immutable(&json!({"userName": "a"}), &json!({"userName": "b"}), u).unwrap();
        // A synthetic type with an immutable attribute.
        let mut rt = Registry::get().user.clone();
        let mut schema = (*rt.schema).clone();
        schema
            .attributes
            .iter_mut()
            .find(|a| a.name == "userName")
            .unwrap()
            .mutability = Mutability::Immutable;
        rt.schema = std::sync::Arc::new(schema);
        check_immutable(&json!({}), &json!({"userName": "b"}), &rt).unwrap();
        check_immutable(
            &json!({"userName": "Bob"}),
            &json!({"userName": "bob"}),
            &rt,
        )
        .unwrap();
        let e =
            check_immutable(&json!({"userName": "a"}), &json!({"userName": "b"}), &rt).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
        assert!(check_immutable(&json!({"userName": "a"}), &json!({}), &rt).is_err());
    }

    #[test]
    fn search_document_folds_case_insensitive_strings() {
        let u = &Registry::get().user;
        let doc = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "Bob@Example.COM", "externalId": "AbC", "active": true,
            "emails": [{"value": "Bob@Example.COM", "type": "Work", "primary": true}],
            "displayName": "ÅSA Öberg",
            "name": {"givenName": "Åsa", "familyName": "already lower"},
            ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "M1"}}
        });
        let s: Value = serde_json::from_str(&search_document_text(&doc, u)).unwrap();
        assert_eq!(s["userName"], "bob@example.com");
        assert_eq!(s["externalId"], "AbC"); // caseExact
        assert_eq!(
            s["emails"][0],
            json!({"value": "bob@example.com", "type": "work", "primary": true})
        );
        assert_eq!(s[ENTERPRISE_USER_SCHEMA]["department"], "sales");
        assert_eq!(s["schemas"], doc["schemas"]);
        assert_eq!(s["displayName"], "åsa öberg");
        assert_eq!(
            s["name"],
            json!({"givenName": "åsa", "familyName": "already lower"})
        );
        assert_eq!(s[ENTERPRISE_USER_SCHEMA]["manager"], json!({"value": "m1"}));
        // Same keys in the same order as the document.
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&s), keys(&doc));
    }
}

#[cfg(test)]
mod fuzz_regressions {
    use super::*;
    use crate::schema::Registry;

    /// Found by `cargo fuzz run body`: a key whose 4th byte is inside a multi-byte
    /// character panicked when checked for a `urn:` prefix.
    #[test]
    fn multibyte_keys_are_unknown_attributes_not_panics() {
        let body = serde_json::json!({"memК4se:Nbers": "К4se:Name2", "mes": {"foat": "g2"}});
        let err = normalize(body, &Registry::get().user).unwrap_err();
        assert_eq!(err.status, 400);
        let body = serde_json::json!({"urК": 1});
        assert_eq!(
            normalize(body, &Registry::get().group).unwrap_err().status,
            400
        );
    }
}
