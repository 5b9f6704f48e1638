//! PATCH (RFC 7644 §3.5.2) with the dialects Microsoft Entra ID speaks (see
//! `reference/entra-scim.md` §3–§6): capitalised ops, `"True"`/`"False"` booleans,
//! path-less values whose keys are dotted sub-attribute paths or full extension URN paths,
//! filtered `add`/`replace` that creates the element when nothing matches, the enterprise
//! manager as a bare id, and member removal both by value array and by filter.
//!
//! [`parse_patch_request`] turns a PatchOp body into operations; [`apply_patch`] applies
//! them in order to a copy of a stored document (all or nothing) and re-validates the
//! result. Group membership never touches the document: operations on `members` become
//! [`MemberChange`]s for the store, in order.

use serde_json::{Map, Value};

use crate::error::{ScimError, ScimResult};
use crate::filter::eval::matches_element;
use crate::filter::{
    parse_patch_path, AttrPath, AttrTest, CompValue, CompareOp, Filter, PatchPath,
};
use crate::resource::{
    self, check_one_primary, get_ci_map, is_manager, is_members, is_primary, manager_id,
    normalize_attribute, normalize_manager, normalize_single, normalize_value, parse_members,
    MemberRef,
};
use crate::schema::{
    AttrType, Attribute, Mutability, ResolvedAttr, ResourceType, Schema, SCIMD_USER_SCHEMA,
};

/// The PatchOp message schema.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Most operations accepted in one request.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Remove,
    Replace,
}

/// One operation of a PatchOp request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    /// `None` when the operation had no `value` member; `Some(Value::Null)` for an explicit
    /// `null`.
    pub value: Option<Value>,
}

/// A change to a Group's membership, for the store to apply in order.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberChange {
    /// Add these members (already-present ones are the store's no-op).
    Add(Vec<MemberRef>),
    /// Remove the members with these ids (absent ones are a no-op).
    Remove(Vec<String>),
    /// Remove every member.
    RemoveAll,
    /// Replace the whole member list.
    ReplaceAll(Vec<MemberRef>),
    /// Remove the members matching a filter on the sub-attributes of `members`
    /// (`value`, `type`, `display`, `$ref`).
    RemoveMatching(Filter),
}

/// The result of [`apply_patch`].
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    /// The new document (normalized: canonical names, `schemas` recomputed).
    pub doc: Value,
    /// Membership changes, in request order (Groups only).
    pub member_changes: Vec<MemberChange>,
}

/// Parses a PatchOp body (RFC 7644 §3.5.2).
///
/// `schemas` must contain the PatchOp URN and `Operations` must be a non-empty array (both
/// keys, the URN and the `op` values are case-insensitive). Extra members of an operation
/// are ignored. An empty `path` counts as no path.
pub fn parse_patch_request(body: &Value) -> ScimResult<Vec<PatchOperation>> {
    resource::check_depth(body)?;
    let Value::Object(map) = body else {
        return Err(ScimError::invalid_syntax(
            "the PATCH body must be a JSON object (a PatchOp message)",
        ));
    };
    let has_schema = match get_ci_map(map, "schemas") {
        Some(Value::Array(a)) => a.iter().any(|s| {
            s.as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
        }),
        Some(Value::String(s)) => s.eq_ignore_ascii_case(PATCH_OP_SCHEMA),
        _ => false,
    };
    if !has_schema {
        return Err(ScimError::invalid_syntax(format!(
            "a PATCH body must have \"schemas\": [\"{PATCH_OP_SCHEMA}\"]"
        )));
    }
    let ops = match get_ci_map(map, "Operations") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => {
            return Err(ScimError::invalid_syntax(
                "a PATCH body must have a non-empty \"Operations\" array",
            ))
        }
    };
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::too_many(format!(
            "at most {MAX_OPERATIONS} operations are accepted in one PATCH request"
        )));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| parse_operation(op).map_err(|e| in_operation(i, e)))
        .collect()
}

fn parse_operation(op: &Value) -> ScimResult<PatchOperation> {
    let Value::Object(o) = op else {
        return Err(ScimError::invalid_syntax("an operation must be an object"));
    };
    let kind = match get_ci_map(o, "op") {
        Some(Value::String(s)) if s.eq_ignore_ascii_case("add") => PatchOpKind::Add,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("remove") => PatchOpKind::Remove,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("replace") => PatchOpKind::Replace,
        Some(other) => {
            return Err(ScimError::invalid_syntax(format!(
                "unknown op {other}: expected \"add\", \"remove\" or \"replace\""
            )))
        }
        None => {
            return Err(ScimError::invalid_syntax(
                "an operation needs \"op\": \"add\", \"remove\" or \"replace\"",
            ))
        }
    };
    let path = match get_ci_map(o, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(
            parse_patch_path(s)
                .map_err(|e| ScimError::invalid_path(format!("invalid path '{s}': {e}")))?,
        ),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };
    let value = get_ci_map(o, "value").cloned();
    match (kind, &path, &value) {
        (PatchOpKind::Remove, None, _) => {
            return Err(ScimError::no_target("a remove operation needs a \"path\""))
        }
        (PatchOpKind::Add | PatchOpKind::Replace, None, Some(Value::Object(_))) => {}
        (PatchOpKind::Add | PatchOpKind::Replace, None, _) => {
            return Err(ScimError::invalid_value(
                "an operation without \"path\" needs an object \"value\" of attributes",
            ))
        }
        _ => {}
    }
    Ok(PatchOperation {
        op: kind,
        path,
        value,
    })
}

/// The membership changes of a PATCH whose every operation names a Group's `members` by
/// its path (Entra's one-member add and remove), worked out without the stored document,
/// which such operations never change.
///
/// `None` when an operation names anything else or has no path, or when one fails: the
/// caller then takes [`apply_patch`]'s way, which reports errors in their usual order (an
/// unknown resource before a bad operation).
pub fn member_changes_only(ops: &[PatchOperation], rt: &ResourceType) -> Option<Vec<MemberChange>> {
    let names_members = |op: &PatchOperation| -> Option<bool> {
        let ap = match op.path.as_ref()? {
            PatchPath::Attr(ap) => ap,
            PatchPath::ValuePath { path, .. } => path,
        };
        let resolved = resolve(rt, ap)?;
        Some(is_members(rt, resolved.extension, resolved.attr))
    };
    if ops.is_empty() || !ops.iter().all(|op| names_members(op) == Some(true)) {
        return None;
    }
    let mut work = Map::new();
    let mut changes = Vec::new();
    for op in ops {
        apply_operation(&mut work, op, rt, &mut changes).ok()?;
    }
    work.is_empty().then_some(changes)
}

/// Applies operations in order, atomically (on a copy: any error → nothing applied), then
/// validates and normalizes the result like a POST body ([`resource::normalize`]).
pub fn apply_patch(
    doc: &Value,
    ops: &[PatchOperation],
    rt: &ResourceType,
) -> ScimResult<PatchOutcome> {
    let Value::Object(map) = doc else {
        return Err(ScimError::internal("stored document is not a JSON object"));
    };
    let mut work = map.clone();
    let mut changes = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        apply_operation(&mut work, op, rt, &mut changes).map_err(|e| in_operation(i, e))?;
    }
    let normalized = resource::normalize(Value::Object(work), rt)?;
    Ok(PatchOutcome {
        doc: normalized.doc,
        member_changes: changes,
    })
}

fn in_operation(i: usize, mut e: ScimError) -> ScimError {
    e.detail = format!("Operations[{i}]: {}", e.detail);
    e
}

fn apply_operation(
    work: &mut Map<String, Value>,
    op: &PatchOperation,
    rt: &ResourceType,
    changes: &mut Vec<MemberChange>,
) -> ScimResult<()> {
    let Some(path) = &op.path else {
        let Some(Value::Object(obj)) = &op.value else {
            return Err(ScimError::invalid_value(
                "an operation without \"path\" needs an object \"value\" of attributes",
            ));
        };
        for (key, value) in obj {
            apply_pathless_entry(work, op.op, key, value, rt, changes)?;
        }
        return Ok(());
    };
    if let PatchPath::Attr(ap) = path {
        if ap.sub_attr.is_none() {
            if let Some(ext) = rt.extension(&ap.to_string()) {
                return apply_extension_path(work, op, ext, rt, changes);
            }
        }
    }
    let ctx = Ctx {
        kind: op.op,
        pathless: false,
        rt,
    };
    match &op.value {
        // add/replace without a value: nothing to set (Microsoft's Postman collection sends
        // `{"op":"Replace","path":"userName"}` and expects success).
        None if op.op != PatchOpKind::Remove => Ok(()),
        value => apply_path(work, &ctx, path, value.as_ref(), changes),
    }
}

/// An operation whose path is a whole extension URN (RFC 7644 §3.5.2: the extension is a
/// complex attribute of the resource): `add`/`replace` set the attributes given in the
/// object value and leave the others, `remove` removes the whole extension. The read-only
/// scimd extension cannot be written.
fn apply_extension_path(
    work: &mut Map<String, Value>,
    op: &PatchOperation,
    ext: &Schema,
    rt: &ResourceType,
    changes: &mut Vec<MemberChange>,
) -> ScimResult<()> {
    if ext.id.eq_ignore_ascii_case(SCIMD_USER_SCHEMA) {
        // Nothing to write (no value, or an object with only its `schemas`): a no-op, since
        // it modifies no readOnly attribute.
        let writes = match &op.value {
            None | Some(Value::Null) => false,
            Some(Value::Object(obj)) => obj.keys().any(|k| !k.eq_ignore_ascii_case("schemas")),
            Some(_) => true,
        };
        if op.op != PatchOpKind::Remove && !writes {
            return Ok(());
        }
        return Err(ScimError::mutability(format!(
            "'{}' is maintained by the server and readOnly",
            ext.id
        )));
    }
    match (op.op, &op.value) {
        (PatchOpKind::Remove, _) => {
            remove_ci(work, &ext.id);
            Ok(())
        }
        (_, None) => Ok(()),
        (kind, Some(value)) => apply_pathless_entry(work, kind, &ext.id, value, rt, changes),
    }
}

/// One key of a path-less add/replace value: an attribute name, a dotted
/// `name.subAttr`, a full `urn:…:attr` path, or an extension URN holding an object of that
/// extension's attributes.
fn apply_pathless_entry(
    work: &mut Map<String, Value>,
    kind: PatchOpKind,
    key: &str,
    value: &Value,
    rt: &ResourceType,
    changes: &mut Vec<MemberChange>,
) -> ScimResult<()> {
    let ctx = Ctx {
        kind,
        pathless: true,
        rt,
    };
    if ["schemas", "id", "meta"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(key))
    {
        return Ok(());
    }
    if let Some(ext) = rt.extension(key) {
        if ext.id.eq_ignore_ascii_case(SCIMD_USER_SCHEMA) {
            return Ok(());
        }
        return match value {
            Value::Object(obj) => {
                for (k, v) in obj {
                    if k.eq_ignore_ascii_case("schemas") {
                        // SCIM libraries serialise an extension object with its own
                        // `schemas` member; it names nothing to change.
                        continue;
                    }
                    let (name, sub) = match k.split_once('.') {
                        Some((n, s)) => (n, Some(s.to_string())),
                        None => (k.as_str(), None),
                    };
                    let path = PatchPath::Attr(AttrPath {
                        urn: Some(ext.id.clone()),
                        name: name.to_string(),
                        sub_attr: sub,
                    });
                    apply_path(work, &ctx, &path, Some(v), changes)?;
                }
                Ok(())
            }
            Value::Null => {
                remove_ci(work, &ext.id);
                Ok(())
            }
            _ => Err(ScimError::invalid_value(format!(
                "'{}' must be an object of that extension's attributes",
                ext.id
            ))),
        };
    }
    let path = parse_patch_path(key)
        .map_err(|e| ScimError::invalid_path(format!("invalid attribute path '{key}': {e}")))?;
    apply_path(work, &ctx, &path, Some(value), changes)
}

struct Ctx<'a> {
    kind: PatchOpKind,
    /// Path-less operation: readOnly attributes are ignored instead of rejected.
    pathless: bool,
    rt: &'a ResourceType,
}

/// Resolves a path like [`ResourceType::resolve`], and a URN-less name that is not a core
/// attribute against the extensions (Entra sends `manager` for the enterprise manager).
fn resolve<'a>(rt: &'a ResourceType, ap: &AttrPath) -> Option<ResolvedAttr<'a>> {
    rt.resolve(ap).or_else(|| {
        if ap.urn.is_some() {
            return None;
        }
        rt.extensions.iter().find_map(|e| {
            let ext = e.schema.as_ref();
            let attr = ext.attribute(&ap.name)?;
            let sub = match &ap.sub_attr {
                None => None,
                Some(s) => Some(attr.sub_attribute(s)?),
            };
            Some(ResolvedAttr {
                extension: Some(ext),
                attr,
                sub,
            })
        })
    })
}

fn apply_path(
    work: &mut Map<String, Value>,
    ctx: &Ctx<'_>,
    path: &PatchPath,
    value: Option<&Value>,
    changes: &mut Vec<MemberChange>,
) -> ScimResult<()> {
    let (ap, filter, value_sub) = match path {
        PatchPath::Attr(ap) => (ap, None, None),
        PatchPath::ValuePath {
            path,
            filter,
            sub_attr,
        } => (path, Some(filter), sub_attr.as_deref()),
    };
    let resolved = resolve(ctx.rt, ap)
        .ok_or_else(|| ScimError::invalid_path(format!("unknown attribute '{ap}'")))?;
    let ext = resolved.extension;
    let attr = resolved.attr;
    let sub = match (filter, value_sub) {
        (None, _) => resolved.sub,
        (Some(_), _) if resolved.sub.is_some() => {
            return Err(ScimError::invalid_path(format!(
                "a value filter must follow the attribute name, not '{ap}'"
            )))
        }
        (Some(_), None) => None,
        (Some(_), Some(name)) => Some(attr.sub_attribute(name).ok_or_else(|| {
            ScimError::invalid_path(format!("unknown attribute '{}.{name}'", attr.name))
        })?),
    };
    let display = match sub {
        Some(s) => format!("{}.{}", qualified(ext, attr), s.name),
        None => qualified(ext, attr),
    };

    if is_members(ctx.rt, ext, attr) {
        return apply_members(ctx, filter, sub, value, &display, changes);
    }

    let read_only = attr.mutability == Mutability::ReadOnly
        || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
        || ext.is_some_and(|e| e.id.eq_ignore_ascii_case(SCIMD_USER_SCHEMA));
    if read_only {
        if ctx.pathless {
            return Ok(());
        }
        return Err(ScimError::mutability(format!(
            "attribute '{display}' is readOnly"
        )));
    }

    // The object holding the attribute: the document, or the extension's object (taken
    // out and put back; on error the whole working copy is discarded anyway).
    let mut ext_obj = ext.map(|e| as_object(take_ci(work, &e.id)));
    let container = match &mut ext_obj {
        Some(o) => o,
        None => &mut *work,
    };
    let current = take_ci(container, &attr.name);
    if let Some(cur) = &current {
        let immutable = attr.mutability == Mutability::Immutable
            || sub.is_some_and(|s| {
                s.mutability == Mutability::Immutable && sub_present(cur, &s.name)
            });
        if immutable {
            return Err(ScimError::mutability(format!(
                "attribute '{display}' is immutable and already has a value"
            )));
        }
    }
    if let Some(v) = apply_to_attribute(ctx, ext, attr, filter, sub, current, value, &display)? {
        container.insert(attr.name.clone(), v);
    }
    if let (Some(e), Some(o)) = (ext, ext_obj) {
        if !o.is_empty() {
            work.insert(e.id.clone(), Value::Object(o));
        }
    }
    Ok(())
}

/// Computes the new value of one attribute (`None`: the attribute is removed).
#[allow(clippy::too_many_arguments)]
fn apply_to_attribute(
    ctx: &Ctx<'_>,
    ext: Option<&Schema>,
    attr: &Attribute,
    filter: Option<&Filter>,
    sub: Option<&Attribute>,
    current: Option<Value>,
    value: Option<&Value>,
    display: &str,
) -> ScimResult<Option<Value>> {
    let current = current.filter(|v| !v.is_null());
    let remove = ctx.kind == PatchOpKind::Remove;
    let null = Value::Null;
    let raw = value.unwrap_or(&null);

    if let Some(filter) = filter {
        if attr.attr_type != AttrType::Complex {
            return Err(ScimError::invalid_path(format!(
                "a value filter applies only to complex attributes, not '{display}'"
            )));
        }
        return if attr.multi_valued {
            apply_filtered_multi(ctx, attr, filter, sub, current, raw, display).map(Some)
        } else {
            apply_filtered_single(ctx, attr, filter, sub, current, raw, display)
        };
    }

    if is_manager(ext, attr) {
        match (ctx.kind, sub) {
            (PatchOpKind::Remove, None) => {
                // Remove without value, or with a value naming the current manager.
                let Some(cur) = current else { return Ok(None) };
                return match manager_id(attr, raw, &display)? {
                    Some(id) if cur.get("value").and_then(Value::as_str) != Some(id.as_str()) => {
                        Ok(Some(cur))
                    }
                    _ => Ok(None),
                };
            }
            (_, None) => return normalize_manager(attr, raw, &display),
            (PatchOpKind::Remove, Some(s)) if s.name == "value" => return Ok(None),
            (_, Some(s)) if s.name == "value" => {
                return normalize_manager(
                    attr,
                    &normalize_single(s, raw.clone(), &display)?.unwrap_or(Value::Null),
                    &display,
                )
            }
            _ => {}
        }
    }

    match (attr.multi_valued, sub) {
        (false, None) => {
            if remove {
                return Ok(None);
            }
            if attr.attr_type == AttrType::Complex && !raw.is_null() {
                // RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes not given are left unchanged.
                let mut obj = as_object(current);
                merge_complex(&mut obj, attr, raw, display)?;
                return Ok(non_empty(obj));
            }
            normalize_attribute(ext, attr, raw.clone(), &display)
        }
        (false, Some(sub)) => {
            let mut obj = as_object(current);
            set_sub(&mut obj, sub, if remove { &null } else { raw }, display)?;
            Ok(non_empty(obj))
        }
        (true, None) => match ctx.kind {
            PatchOpKind::Replace => normalize_value(attr, raw.clone(), &display),
            PatchOpKind::Add => {
                let mut items = as_array(current);
                let Some(Value::Array(new)) = normalize_value(attr, raw.clone(), &display)? else {
                    return Ok(non_empty_array(items));
                };
                let primary_added = new.iter().any(is_primary);
                if primary_added {
                    clear_primary(&mut items);
                }
                for item in new {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
                check_one_primary(attr, &items, &display)?;
                Ok(non_empty_array(items))
            }
            PatchOpKind::Remove => {
                if raw.is_null() {
                    return Ok(None);
                }
                // Remove only the given values (the members-style value array, generalized).
                let mut items = as_array(current);
                let given: Vec<Value> = match normalize_value(attr, raw.clone(), &display)? {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                };
                items.retain(|item| !given.iter().any(|g| value_matches(attr, g, item)));
                Ok(non_empty_array(items))
            }
        },
        (true, Some(sub)) => {
            // `emails.value` without a filter: every element.
            let mut items = as_array(current);
            if remove {
                for item in items.iter_mut() {
                    if let Value::Object(o) = item {
                        o.shift_remove(&sub.name);
                    }
                }
                items.retain(|i| !is_empty_object(i));
                return Ok(non_empty_array(items));
            }
            if items.is_empty() {
                let mut obj = Map::new();
                set_sub(&mut obj, sub, raw, display)?;
                return Ok(non_empty(obj).map(|o| Value::Array(vec![o])));
            }
            for item in items.iter_mut() {
                let mut obj = as_object(Some(std::mem::take(item)));
                set_sub(&mut obj, sub, raw, display)?;
                *item = Value::Object(obj);
            }
            items.retain(|i| !is_empty_object(i));
            check_one_primary(attr, &items, &display)?;
            Ok(non_empty_array(items))
        }
    }
}

/// `emails[type eq "work"]`, `emails[type eq "work"].value`, `addresses[...].locality`.
fn apply_filtered_multi(
    ctx: &Ctx<'_>,
    attr: &Attribute,
    filter: &Filter,
    sub: Option<&Attribute>,
    current: Option<Value>,
    raw: &Value,
    display: &str,
) -> ScimResult<Value> {
    let mut items = as_array(current);
    let matched: Vec<bool> = items
        .iter()
        .map(|item| matches_element(filter, item, attr))
        .collect();
    if ctx.kind == PatchOpKind::Remove {
        // Removing what does not exist is a no-op.
        let mut out = Vec::with_capacity(items.len());
        for (item, hit) in items.into_iter().zip(&matched) {
            match (hit, sub) {
                (false, _) => out.push(item),
                (true, None) => {}
                (true, Some(sub)) => {
                    let mut obj = as_object(Some(item));
                    obj.shift_remove(&sub.name);
                    if !obj.is_empty() {
                        out.push(Value::Object(obj));
                    }
                }
            }
        }
        return Ok(Value::Array(out));
    }
    let update = element_update(attr, sub, raw, display)?;
    let sets_primary = get_ci_map(&update, "primary").is_some_and(|p| {
        *p == Value::Bool(true) || p.as_str().is_some_and(|s| s.eq_ignore_ascii_case("true"))
    });
    if matched.iter().any(|m| *m) {
        for (item, hit) in items.iter_mut().zip(&matched) {
            if *hit {
                let mut obj = as_object(Some(std::mem::take(item)));
                merge_complex_map(&mut obj, attr, &update, display)?;
                *item = Value::Object(obj);
            } else if sets_primary {
                clear_primary(std::slice::from_mut(item));
            }
        }
    } else {
        // Entra expects add semantics when nothing matches (entra-scim.md §6): create the
        // element from the filter's `eq` terms plus the value.
        if update.values().all(Value::is_null) {
            return Ok(Value::Array(items));
        }
        let mut element = element_from_filter(filter, attr).ok_or_else(|| {
            ScimError::no_target(format!(
                "no value of '{display}' matches the filter, and no value can be created from it \
                 (only `eq` terms joined by `and` can)"
            ))
        })?;
        merge_complex_map(&mut element, attr, &update, display)?;
        if sets_primary {
            clear_primary(&mut items);
        }
        if !element.is_empty() {
            items.push(Value::Object(element));
        }
    }
    items.retain(|i| !is_empty_object(i));
    check_one_primary(attr, &items, &display)?;
    Ok(Value::Array(items))
}

/// A value filter on a single-valued complex attribute (`manager[value eq "id"]`): applies
/// when the current value matches.
fn apply_filtered_single(
    ctx: &Ctx<'_>,
    attr: &Attribute,
    filter: &Filter,
    sub: Option<&Attribute>,
    current: Option<Value>,
    raw: &Value,
    display: &str,
) -> ScimResult<Option<Value>> {
    let hit = current
        .as_ref()
        .is_some_and(|c| matches_element(filter, c, attr));
    if ctx.kind == PatchOpKind::Remove {
        return Ok(match (hit, sub) {
            (false, _) => current,
            (true, None) => None,
            (true, Some(sub)) => {
                let mut obj = as_object(current);
                obj.shift_remove(&sub.name);
                non_empty(obj)
            }
        });
    }
    if !hit {
        return Err(ScimError::no_target(format!(
            "the value of '{display}' does not match the filter"
        )));
    }
    let update = element_update(attr, sub, raw, display)?;
    let mut obj = as_object(current);
    merge_complex_map(&mut obj, attr, &update, display)?;
    Ok(non_empty(obj))
}

/// The sub-attribute updates an add/replace on a filtered path makes to each element: the
/// sub-attribute's value, or the value object's members.
fn element_update(
    attr: &Attribute,
    sub: Option<&Attribute>,
    raw: &Value,
    display: &str,
) -> ScimResult<Map<String, Value>> {
    if let Some(sub) = sub {
        let mut m = Map::new();
        m.insert(sub.name.clone(), raw.clone());
        return Ok(m);
    }
    let one = match raw {
        Value::Array(a) => match a.as_slice() {
            [one] => one,
            _ => raw,
        },
        _ => raw,
    };
    match one {
        Value::Object(o) => Ok(o.clone()),
        Value::Null => Ok(Map::new()),
        _ => Err(ScimError::invalid_value(format!(
            "invalid value for '{display}': expected an object of {} sub-attributes",
            attr.name
        ))),
    }
}

/// The element described by a filter of `eq` terms joined by `and`
/// (`type eq "work" and primary eq true` → `{"type": "work", "primary": true}`).
fn element_from_filter(filter: &Filter, attr: &Attribute) -> Option<Map<String, Value>> {
    fn collect(f: &Filter, attr: &Attribute, out: &mut Map<String, Value>) -> bool {
        match f {
            Filter::And(a, b) => collect(a, attr, out) && collect(b, attr, out),
            Filter::Attr {
                path,
                test: AttrTest::Compare(CompareOp::Eq, v),
            } => {
                // `type` or `emails.type` (the parent's name repeated).
                let name = match (&path.urn, &path.sub_attr) {
                    (None, None) => path.name.as_str(),
                    (None, Some(s)) if path.name.eq_ignore_ascii_case(&attr.name) => s.as_str(),
                    _ => return false,
                };
                let Some(sub) = attr.sub_attribute(name) else {
                    return false;
                };
                let json = match v {
                    CompValue::Null => return false,
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Number(n) => Value::Number(n.clone()),
                    CompValue::String(s) => Value::String(s.clone()),
                };
                match normalize_single(sub, json, &sub.name) {
                    Ok(Some(v)) => {
                        out.insert(sub.name.clone(), v);
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }
    let mut out = Map::new();
    collect(filter, attr, &mut out).then_some(out)
}

/// Group membership: never in the document, translated to [`MemberChange`]s.
fn apply_members(
    ctx: &Ctx<'_>,
    filter: Option<&Filter>,
    sub: Option<&Attribute>,
    value: Option<&Value>,
    display: &str,
    changes: &mut Vec<MemberChange>,
) -> ScimResult<()> {
    if let Some(sub) = sub {
        if sub.mutability == Mutability::ReadOnly {
            if ctx.pathless {
                return Ok(());
            }
            return Err(ScimError::mutability(format!(
                "attribute '{display}' is readOnly"
            )));
        }
        return Err(ScimError::invalid_path(format!(
            "'{display}' cannot be patched; use 'members' or 'members[value eq \"id\"]'"
        )));
    }
    let value = value.filter(|v| !v.is_null());
    match (ctx.kind, filter) {
        (PatchOpKind::Add, None) => {
            let members = match value {
                Some(v) => parse_members(v, display)?,
                None => Vec::new(),
            };
            if !members.is_empty() {
                changes.push(MemberChange::Add(members));
            }
        }
        (PatchOpKind::Replace, None) => {
            let members = match value {
                Some(v) => parse_members(v, display)?,
                None => Vec::new(),
            };
            changes.push(MemberChange::ReplaceAll(members));
        }
        (PatchOpKind::Remove, None) => match value {
            None => changes.push(MemberChange::RemoveAll),
            // Entra's legacy form: remove only the listed members.
            Some(v) => {
                let ids: Vec<String> = parse_members(v, display)?
                    .into_iter()
                    .map(|m| m.value)
                    .collect();
                if !ids.is_empty() {
                    changes.push(MemberChange::Remove(ids));
                }
            }
        },
        (PatchOpKind::Remove, Some(f)) => {
            let mut ids = Vec::new();
            if member_ids(f, &mut ids) {
                changes.push(MemberChange::Remove(ids));
            } else {
                changes.push(MemberChange::RemoveMatching(f.clone()));
            }
        }
        (PatchOpKind::Add | PatchOpKind::Replace, Some(_)) => {
            return Err(ScimError::invalid_path(
                "add/replace on 'members' takes no value filter; use path 'members' with a value",
            ))
        }
    }
    Ok(())
}

/// `value eq "a"` or `value eq "a" or value eq "b"` → the ids.
fn member_ids(f: &Filter, out: &mut Vec<String>) -> bool {
    match f {
        Filter::Or(a, b) => member_ids(a, out) && member_ids(b, out),
        Filter::Attr {
            path,
            test: AttrTest::Compare(CompareOp::Eq, CompValue::String(id)),
        } if path.urn.is_none()
            && path.sub_attr.is_none()
            && path.name.eq_ignore_ascii_case("value") =>
        {
            if !out.contains(id) {
                out.push(id.clone());
            }
            true
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// Document helpers.

fn qualified(ext: Option<&Schema>, attr: &Attribute) -> String {
    match ext {
        Some(e) => format!("{}:{}", e.id, attr.name),
        None => attr.name.clone(),
    }
}

/// Removes and returns the value under `key` (case-insensitive; every variant is removed).
fn take_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let keys: Vec<String> = map
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .collect();
    let mut found = None;
    for k in keys {
        let v = map.shift_remove(&k);
        if k == key || found.is_none() {
            found = v;
        }
    }
    found
}

fn remove_ci(map: &mut Map<String, Value>, key: &str) {
    take_ci(map, key);
}

fn sub_present(value: &Value, sub: &str) -> bool {
    match value {
        Value::Object(o) => get_ci_map(o, sub).is_some_and(|v| !v.is_null()),
        Value::Array(a) => a.iter().any(|x| sub_present(x, sub)),
        _ => false,
    }
}

fn as_object(v: Option<Value>) -> Map<String, Value> {
    match v {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    }
}

fn as_array(v: Option<Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

fn non_empty(o: Map<String, Value>) -> Option<Value> {
    (!o.is_empty()).then_some(Value::Object(o))
}

fn non_empty_array(a: Vec<Value>) -> Option<Value> {
    (!a.is_empty()).then_some(Value::Array(a))
}

fn is_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(Map::is_empty)
}

/// RFC 7644 §3.5.2: setting `primary` to true on one value sets it to false on the others.
fn clear_primary(items: &mut [Value]) {
    for item in items {
        if let Value::Object(o) = item {
            if o.get("primary") == Some(&Value::Bool(true)) {
                o.insert("primary".into(), Value::Bool(false));
            }
        }
    }
}

/// Sets (or, for null, removes) one sub-attribute of a complex value.
fn set_sub(
    obj: &mut Map<String, Value>,
    sub: &Attribute,
    raw: &Value,
    display: &str,
) -> ScimResult<()> {
    take_ci(obj, &sub.name);
    if let Some(v) = normalize_value(sub, raw.clone(), &display)? {
        obj.insert(sub.name.clone(), v);
    }
    Ok(())
}

/// Merges an object of sub-attributes into a complex value (null removes).
fn merge_complex(
    obj: &mut Map<String, Value>,
    attr: &Attribute,
    raw: &Value,
    display: &str,
) -> ScimResult<()> {
    match raw {
        Value::Object(update) => merge_complex_map(obj, attr, update, display),
        _ => Err(ScimError::invalid_value(format!(
            "invalid value for '{display}': expected an object"
        ))),
    }
}

fn merge_complex_map(
    obj: &mut Map<String, Value>,
    attr: &Attribute,
    update: &Map<String, Value>,
    display: &str,
) -> ScimResult<()> {
    for (k, v) in update {
        let Some(sub) = attr.sub_attribute(k) else {
            return Err(ScimError::invalid_path(format!(
                "unknown attribute '{display}.{k}'"
            )));
        };
        if matches!(sub.mutability, Mutability::ReadOnly | Mutability::WriteOnly) {
            continue;
        }
        set_sub(obj, sub, v, &format!("{display}.{}", sub.name))?;
    }
    Ok(())
}

/// Whether `given` (from a remove's value) designates `item`: equal, or, for complex
/// values, every given sub-attribute equal (caseExact=false strings compare
/// case-insensitively).
fn value_matches(attr: &Attribute, given: &Value, item: &Value) -> bool {
    match (given, item) {
        (Value::Object(g), Value::Object(i)) => {
            !g.is_empty()
                && g.iter().all(|(k, gv)| {
                    let sub = attr.sub_attribute(k);
                    i.get(k).is_some_and(|iv| match (sub, gv, iv) {
                        (Some(s), Value::String(a), Value::String(b)) if !s.case_exact => {
                            a.to_lowercase() == b.to_lowercase()
                        }
                        _ => gv == iv,
                    })
                })
        }
        (Value::String(a), Value::String(b)) if !attr.case_exact => {
            a.to_lowercase() == b.to_lowercase()
        }
        _ => given == item,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{Registry, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
    use serde_json::json;

    const ENT: &str = ENTERPRISE_USER_SCHEMA;

    fn body(ops: Value) -> Value {
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
    }

    fn patch_user(doc: &Value, ops: Value) -> ScimResult<Value> {
        let ops = parse_patch_request(&body(ops))?;
        apply_patch(doc, &ops, &Registry::get().user).map(|o| {
            assert!(o.member_changes.is_empty());
            o.doc
        })
    }

    fn patch_group(doc: &Value, ops: Value) -> ScimResult<PatchOutcome> {
        let ops = parse_patch_request(&body(ops))?;
        apply_patch(doc, &ops, &Registry::get().group)
    }

    fn err(r: ScimResult<impl std::fmt::Debug>) -> (ScimType, String) {
        let e = r.expect_err("expected an error");
        (e.scim_type.expect("scimType"), e.detail)
    }

    fn bob() -> Value {
        json!({
            "schemas": [USER_SCHEMA],
            "userName": "bob@contoso.com",
            "name": {"givenName": "Bob", "familyName": "Smith"},
            "active": true,
            "emails": [
                {"value": "bob@home.example", "type": "home"},
                {"value": "bob@contoso.com", "type": "work", "primary": true}
            ]
        })
    }

    fn plain() -> Value {
        json!({"schemas": [USER_SCHEMA], "userName": "u1", "active": true})
    }

    fn group() -> Value {
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Sales", "externalId": "e1"})
    }

    fn members(ids: &[&str]) -> Vec<MemberRef> {
        ids.iter()
            .map(|id| MemberRef {
                value: id.to_string(),
                member_type: None,
            })
            .collect()
    }

    // --- parse_patch_request -----------------------------------------------------------

    #[test]
    fn parses_capitalised_and_lower_case_ops_and_keys() {
        let ops = parse_patch_request(&json!({
            "schemas": ["URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP"],
            "operations": [
                {"op": "Add", "path": "nickName", "value": "Babs", "name": "addMember"},
                {"Op": "REPLACE", "Path": "active", "Value": "False"},
                {"op": "remove", "path": "emails[type eq \"work\"]"}
            ]
        }))
        .unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[0].op, PatchOpKind::Add);
        assert_eq!(
            ops[0].path,
            Some(PatchPath::Attr(AttrPath::simple("nickName")))
        );
        assert_eq!(ops[0].value, Some(json!("Babs")));
        assert_eq!(ops[1].op, PatchOpKind::Replace);
        assert_eq!(ops[1].value, Some(json!("False")));
        assert_eq!(ops[2].op, PatchOpKind::Remove);
        assert!(matches!(ops[2].path, Some(PatchPath::ValuePath { .. })));
        assert_eq!(ops[2].value, None);
    }

    #[test]
    fn parse_errors() {
        let one = |op: Value| parse_patch_request(&body(json!([op])));
        // schemas
        assert_eq!(
            err(parse_patch_request(
                &json!({"Operations": [{"op": "add", "path": "nickName", "value": "x"}]})
            ))
            .0,
            ScimType::InvalidSyntax
        );
        assert_eq!(
            err(parse_patch_request(&json!({"schemas": [USER_SCHEMA], "Operations": [{"op": "add", "path": "nickName", "value": "x"}]}))).0,
            ScimType::InvalidSyntax
        );
        // Operations
        assert_eq!(
            err(parse_patch_request(&json!({"schemas": [PATCH_OP_SCHEMA]}))).0,
            ScimType::InvalidSyntax
        );
        assert_eq!(
            err(parse_patch_request(&body(json!([])))).0,
            ScimType::InvalidSyntax
        );
        assert_eq!(
            err(parse_patch_request(&body(json!({"op": "add"})))).0,
            ScimType::InvalidSyntax
        );
        assert_eq!(
            err(parse_patch_request(&json!([1]))).0,
            ScimType::InvalidSyntax
        );
        // op
        assert_eq!(
            err(one(json!({"op": "move", "path": "nickName", "value": "x"}))).0,
            ScimType::InvalidSyntax
        );
        assert_eq!(
            err(one(json!({"path": "nickName", "value": "x"}))).0,
            ScimType::InvalidSyntax
        );
        assert_eq!(
            err(one(json!({"op": 1, "path": "nickName", "value": "x"}))).0,
            ScimType::InvalidSyntax
        );
        assert_eq!(err(one(json!("add"))).0, ScimType::InvalidSyntax);
        // path
        assert_eq!(
            err(one(
                json!({"op": "add", "path": "emails[type eq", "value": "x"})
            ))
            .0,
            ScimType::InvalidPath
        );
        assert_eq!(
            err(one(json!({"op": "add", "path": 5, "value": "x"}))).0,
            ScimType::InvalidPath
        );
        assert_eq!(err(one(json!({"op": "remove"}))).0, ScimType::NoTarget);
        assert_eq!(
            err(one(json!({"op": "remove", "path": ""}))).0,
            ScimType::NoTarget
        );
        // path-less values
        assert_eq!(
            err(one(json!({"op": "add", "value": "x"}))).0,
            ScimType::InvalidValue
        );
        assert_eq!(err(one(json!({"op": "replace"}))).0, ScimType::InvalidValue);
        // too many
        let many: Vec<Value> = (0..1001)
            .map(|_| json!({"op": "add", "path": "nickName", "value": "x"}))
            .collect();
        assert_eq!(
            err(parse_patch_request(&body(Value::Array(many)))).0,
            ScimType::TooMany
        );
        let ok: Vec<Value> = (0..1000)
            .map(|_| json!({"op": "add", "path": "nickName", "value": "x"}))
            .collect();
        assert_eq!(
            parse_patch_request(&body(Value::Array(ok))).unwrap().len(),
            1000
        );
    }

    // --- entra-scim.md §3: users ---------------------------------------------------------

    #[test]
    fn entra_update_user_multi_valued_keeps_home_email() {
        let doc = patch_user(&bob(), json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
        ]))
        .unwrap();
        assert_eq!(
            doc["emails"],
            json!([
                {"value": "bob@home.example", "type": "home"},
                {"value": "updatedEmail@microsoft.com", "type": "work", "primary": true}
            ])
        );
        assert_eq!(
            doc["name"],
            json!({"givenName": "Bob", "familyName": "updatedFamilyName"})
        );
    }

    #[test]
    fn replace_work_email_creates_it_when_absent_and_keeps_home() {
        let mut start = bob();
        start["emails"] = json!([{"value": "bob@home.example", "type": "home"}]);
        for op in ["Replace", "Add", "replace", "add"] {
            let doc = patch_user(
                &start,
                json!([
                    {"op": op, "path": "emails[type eq \"work\"].value", "value": "bob@contoso.com"}
                ]),
            )
            .unwrap();
            assert_eq!(
                doc["emails"],
                json!([
                    {"value": "bob@home.example", "type": "home"},
                    {"type": "work", "value": "bob@contoso.com"}
                ]),
                "{op}"
            );
        }
        // No emails at all; proxyAddresses mapping with a capital V.
        let doc = patch_user(
            &plain(),
            json!([
                {"op": "Add", "path": "emails[type eq \"other\"].Value", "value": "smtp:x@y"}
            ]),
        )
        .unwrap();
        assert_eq!(
            doc["emails"],
            json!([{"type": "other", "value": "smtp:x@y"}])
        );
        // Mobile and work phone.
        let doc = patch_user(
            &plain(),
            json!([
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "555"},
                {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "556"},
                {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "557"}
            ]),
        )
        .unwrap();
        assert_eq!(
            doc["phoneNumbers"],
            json!([{"type": "mobile", "value": "557"}, {"type": "work", "value": "556"}])
        );
    }

    #[test]
    fn filtered_ops_on_the_same_filter_build_one_element() {
        let doc = patch_user(&plain(), json!([
            {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
            {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "12345"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Springfield"},
            {"op": "Add", "path": "addresses[type eq \"work\"].formatted", "value": "1 Main St, Springfield"}
        ]))
        .unwrap();
        assert_eq!(
            doc["addresses"],
            json!([{"type": "work", "streetAddress": "1 Main St", "postalCode": "12345",
                    "locality": "Springfield", "formatted": "1 Main St, Springfield"}])
        );
        // Element derived from `and`-joined eq terms, with coercion.
        let doc = patch_user(&plain(), json!([
            {"op": "add", "path": "emails[type eq \"work\" and primary eq true].value", "value": "a@b.c"}
        ]))
        .unwrap();
        assert_eq!(
            doc["emails"],
            json!([{"type": "work", "primary": true, "value": "a@b.c"}])
        );
        // A filter that cannot describe an element: RFC noTarget.
        let (t, _) = err(patch_user(
            &plain(),
            json!([
                {"op": "replace", "path": "emails[type eq \"work\" or type eq \"home\"].value", "value": "a@b.c"}
            ]),
        ));
        assert_eq!(t, ScimType::NoTarget);
        let (t, _) = err(patch_user(
            &plain(),
            json!([
                {"op": "replace", "path": "emails[value co \"x\"].value", "value": "a@b.c"}
            ]),
        ));
        assert_eq!(t, ScimType::NoTarget);
    }

    #[test]
    fn entra_update_user_name_and_disable() {
        let doc = patch_user(&plain(), json!([
            {"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}
        ]))
        .unwrap();
        assert_eq!(
            doc["userName"],
            "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
        );
        for (v, expected) in [
            (json!(false), false),
            (json!("False"), false),
            (json!("false"), false),
            (json!("FALSE"), false),
            (json!("True"), true),
            (json!(true), true),
        ] {
            let mut start = plain();
            start["active"] = json!(!expected);
            for op in ["Replace", "replace", "Add"] {
                let doc =
                    patch_user(&start, json!([{"op": op, "path": "active", "value": v}])).unwrap();
                assert_eq!(doc["active"], json!(expected), "{op} {v}");
            }
        }
        let (t, d) = err(patch_user(
            &plain(),
            json!([{"op": "Replace", "path": "active", "value": "no"}]),
        ));
        assert_eq!(t, ScimType::InvalidValue);
        assert!(d.contains("active"), "{d}");
    }

    #[test]
    fn entra_add_single_valued_both_dialects() {
        for op in ["Add", "add"] {
            let doc = patch_user(
                &plain(),
                json!([{"op": op, "path": "nickName", "value": "Babs"}]),
            )
            .unwrap();
            assert_eq!(doc["nickName"], "Babs");
            // add on an attribute that already has a value replaces it
            let doc = patch_user(
                &doc,
                json!([{"op": op, "path": "nickname", "value": "Barbara"}]),
            )
            .unwrap();
            assert_eq!(doc["nickName"], "Barbara");
        }
        let doc = patch_user(
            &plain(),
            json!([{"op": "Add", "path": "name.givenName", "value": "Kkom"}]),
        )
        .unwrap();
        assert_eq!(doc["name"], json!({"givenName": "Kkom"}));
    }

    #[test]
    fn entra_legacy_replace_several_attributes() {
        let doc = patch_user(&bob(), json!([
            {"op": "Replace", "path": "displayName", "value": "Bjfe"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bjfe@contoso.com"},
            {"op": "Replace", "path": "name.givenName", "value": "Kkom"},
            {"op": "Replace", "path": "name.familyName", "value": "Unua"},
            {"op": "Replace", "path": "externalId", "value": "ext-1"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "Aklq"}
        ]))
        .unwrap();
        assert_eq!(doc["displayName"], "Bjfe");
        assert_eq!(
            doc["emails"][1],
            json!({"value": "bjfe@contoso.com", "type": "work", "primary": true})
        );
        assert_eq!(
            doc["name"],
            json!({"givenName": "Kkom", "familyName": "Unua"})
        );
        assert_eq!(doc["externalId"], "ext-1");
        assert_eq!(doc[ENT], json!({"employeeNumber": "Aklq"}));
        assert_eq!(doc["schemas"], json!([USER_SCHEMA, ENT]));
    }

    #[test]
    fn entra_flagged_pathless_replace_with_dotted_and_urn_keys() {
        let doc = patch_user(&bob(), json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "kkom@contoso.com"},
            {"op": "replace", "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
            }}
        ]))
        .unwrap();
        assert_eq!(doc["displayName"], "Bjfe");
        assert_eq!(
            doc["name"],
            json!({"givenName": "Kkom", "familyName": "Unua"})
        );
        assert_eq!(doc[ENT]["employeeNumber"], "Aklq");
        assert_eq!(doc["emails"][0]["value"], "bob@home.example");
        assert_eq!(doc["emails"][1]["value"], "kkom@contoso.com");
        assert_eq!(doc["schemas"], json!([USER_SCHEMA, ENT]));
    }

    #[test]
    fn pathless_extension_object_key_and_case_insensitive_names() {
        let doc = patch_user(&plain(), json!([
            {"op": "Add", "value": {
                "NickName": "Babs",
                "Name": {"GivenName": "Barbara"},
                "active": "False",
                ENT: {"Department": "Sales", "manager": "m1", "manager.value": "m2"},
                "urn:ietf:params:scim:schemas:extension:medius:2.0:User:configurationFilter": "nordic",
                "id": "ignored", "meta": {"x": 1}, "groups": [{"value": "g"}],
                "urn:ietf:params:scim:schemas:extension:scimd:2.0:User": {"company": "x"}
            }}
        ]))
        .unwrap();
        assert_eq!(
            doc,
            json!({
                "schemas": [USER_SCHEMA, ENT, "urn:ietf:params:scim:schemas:extension:medius:2.0:User"],
                "userName": "u1", "active": false, "nickName": "Babs", "name": {"givenName": "Barbara"},
                ENT: {"department": "Sales", "manager": {"value": "m2"}},
                "urn:ietf:params:scim:schemas:extension:medius:2.0:User": {"configurationFilter": "nordic"}
            })
        );
    }

    #[test]
    fn complex_values_merge_and_null_removes() {
        // Path-less replace merges sub-attributes of a complex attribute.
        let doc = patch_user(
            &bob(),
            json!([{"op": "replace", "value": {"name": {"givenName": "Robert"}}}]),
        )
        .unwrap();
        assert_eq!(
            doc["name"],
            json!({"givenName": "Robert", "familyName": "Smith"})
        );
        // So does add, and (RFC 7644 §3.5.2.3) replace with path "name".
        let doc = patch_user(
            &bob(),
            json!([{"op": "add", "path": "name", "value": {"middleName": "J"}}]),
        )
        .unwrap();
        assert_eq!(
            doc["name"],
            json!({"givenName": "Bob", "familyName": "Smith", "middleName": "J"})
        );
        let doc = patch_user(&bob(), json!([{"op": "replace", "path": "name", "value": {"givenName": "Rob", "familyName": null}}])).unwrap();
        assert_eq!(doc["name"], json!({"givenName": "Rob"}));
        // Replace with null clears.
        let doc = patch_user(
            &bob(),
            json!([{"op": "replace", "path": "name", "value": null}]),
        )
        .unwrap();
        assert!(doc.get("name").is_none());
        let doc = patch_user(
            &bob(),
            json!([{"op": "replace", "path": "emails", "value": null}]),
        )
        .unwrap();
        assert!(doc.get("emails").is_none());
    }

    #[test]
    fn multi_valued_add_appends_and_replace_replaces() {
        let doc = patch_user(&bob(), json!([
            {"op": "add", "path": "emails", "value": [{"value": "bob@home.example", "type": "home"}, {"value": "b@other", "type": "other"}]},
            {"op": "add", "path": "emails", "value": {"value": "b@single", "type": "other"}}
        ]))
        .unwrap();
        assert_eq!(doc["emails"].as_array().unwrap().len(), 4);
        assert_eq!(
            doc["emails"][3],
            json!({"value": "b@single", "type": "other"})
        );
        // A new primary email demotes the old one.
        let doc = patch_user(&bob(), json!([
            {"op": "add", "path": "emails", "value": [{"value": "new@x", "type": "work", "Primary": "True"}]}
        ]))
        .unwrap();
        assert_eq!(doc["emails"][1]["primary"], json!(false));
        assert_eq!(
            doc["emails"][2],
            json!({"value": "new@x", "type": "work", "primary": true})
        );
        let doc = patch_user(
            &bob(),
            json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x"}]}]),
        )
        .unwrap();
        assert_eq!(doc["emails"], json!([{"value": "only@x"}]));
        let (t, _) = err(patch_user(
            &bob(),
            json!([{"op": "replace", "path": "emails",
            "value": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}]),
        ));
        assert_eq!(t, ScimType::InvalidValue);
        // emails[...].primary = true demotes the others
        let doc = patch_user(
            &bob(),
            json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
        )
        .unwrap();
        assert_eq!(doc["emails"][0]["primary"], json!(true));
        assert_eq!(doc["emails"][1]["primary"], json!(false));
    }

    #[test]
    fn removes() {
        let doc = patch_user(&bob(), json!([{"op": "remove", "path": "name.givenName"}])).unwrap();
        assert_eq!(doc["name"], json!({"familyName": "Smith"}));
        let doc = patch_user(&doc, json!([{"op": "remove", "path": "name.familyName"}])).unwrap();
        assert!(doc.get("name").is_none());
        let doc = patch_user(
            &bob(),
            json!([{"op": "Remove", "path": "emails[type eq \"work\"]"}]),
        )
        .unwrap();
        assert_eq!(
            doc["emails"],
            json!([{"value": "bob@home.example", "type": "home"}])
        );
        let doc = patch_user(
            &bob(),
            json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
        )
        .unwrap();
        assert_eq!(
            doc["emails"][1],
            json!({"value": "bob@contoso.com", "type": "work"})
        );
        // Idempotent: absent things.
        for path in [
            "emails[type eq \"fax\"]",
            "nickName",
            "phoneNumbers",
            "name.middleName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "addresses[type eq \"work\"].locality",
        ] {
            let doc = patch_user(&bob(), json!([{"op": "remove", "path": path}])).unwrap();
            assert_eq!(doc, bob(), "{path}");
        }
        let doc = patch_user(&bob(), json!([{"op": "remove", "path": "emails"}])).unwrap();
        assert!(doc.get("emails").is_none());
        // Remove only the listed values.
        let doc = patch_user(
            &bob(),
            json!([{"op": "remove", "path": "emails", "value": [{"value": "BOB@HOME.EXAMPLE"}]}]),
        )
        .unwrap();
        assert_eq!(doc["emails"].as_array().unwrap().len(), 1);
        // Removing a required attribute fails validation.
        let (t, d) = err(patch_user(
            &bob(),
            json!([{"op": "remove", "path": "userName"}]),
        ));
        assert_eq!(t, ScimType::InvalidValue);
        assert!(d.contains("userName"), "{d}");
        let (t, _) = err(patch_user(
            &bob(),
            json!([{"op": "replace", "path": "userName", "value": null}]),
        ));
        assert_eq!(t, ScimType::InvalidValue);
    }

    #[test]
    fn replace_filtered_element_with_object_merges() {
        let doc = patch_user(&bob(), json!([
            {"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "w@x", "display": "W"}}
        ]))
        .unwrap();
        assert_eq!(
            doc["emails"][1],
            json!({"value": "w@x", "type": "work", "primary": true, "display": "W"})
        );
        // nothing matches: created
        let doc = patch_user(&plain(), json!([
            {"op": "replace", "path": "addresses[type eq \"work\"]", "value": {"streetAddress": "1 Main", "country": "SE"}}
        ]))
        .unwrap();
        assert_eq!(
            doc["addresses"],
            json!([{"type": "work", "streetAddress": "1 Main", "country": "SE"}])
        );
    }

    #[test]
    fn filters_match_case_insensitively() {
        let mut start = bob();
        start["emails"][1]["type"] = json!("Work");
        let doc = patch_user(
            &start,
            json!([{"op": "Replace", "path": "EMAILS[TYPE EQ \"work\"].VALUE", "value": "n@x"}]),
        )
        .unwrap();
        assert_eq!(doc["emails"].as_array().map(Vec::len), Some(2));
        assert_eq!(doc["emails"][1]["value"], "n@x");
    }

    #[test]
    fn postman_replace_without_value_is_a_no_op() {
        let doc = patch_user(&plain(), json!([{"op": "Replace", "path": "userName"}])).unwrap();
        assert_eq!(doc, plain());
    }

    // --- manager -------------------------------------------------------------------------

    fn with_manager(id: &str) -> Value {
        let mut d = plain();
        d["schemas"] = json!([USER_SCHEMA, ENT]);
        d[ENT] = json!({"department": "Sales", "manager": {"value": id}});
        d
    }

    #[test]
    fn manager_add_and_replace_in_every_form() {
        let cases = [
            json!({"op": "Add", "path": "manager", "value": [{"$ref": "http://host/scim/Users/00aa", "value": "00aa"}]}),
            json!({"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "00aa"}),
            json!({"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "00aa"}}),
            json!({"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager", "value": "00aa"}),
            json!({"op": "Replace", "path": "manager", "value": "00aa"}),
            json!({"op": "replace", "path": "manager.value", "value": "00aa"}),
            json!({"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "00aa"}),
            json!({"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "00aa"}}),
            json!({"op": "replace", "value": {ENT: {"manager": {"Value": "00aa", "displayName": "Boss"}}}}),
        ];
        for (i, op) in cases.iter().enumerate() {
            for start in [plain(), with_manager("old")] {
                let doc = patch_user(&start, json!([op])).unwrap();
                let m = &doc[ENT]["manager"];
                assert_eq!(m["value"], "00aa", "case {i}: {doc}");
                if i == 0 {
                    assert_eq!(m["$ref"], "http://host/scim/Users/00aa");
                } else {
                    assert_eq!(m, &json!({"value": "00aa"}), "case {i}");
                }
                assert_eq!(doc["schemas"], json!([USER_SCHEMA, ENT]));
            }
        }
    }

    #[test]
    fn manager_removal_forms() {
        let gone = |ops: Value| {
            let doc = patch_user(&with_manager("m1"), ops).unwrap();
            assert_eq!(doc[ENT], json!({"department": "Sales"}), "{doc}");
        };
        gone(
            json!([{"op": "Remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]),
        );
        gone(json!([{"op": "remove", "path": "manager"}]));
        gone(json!([{"op": "remove", "path": "manager", "value": "m1"}]));
        gone(json!([{"op": "remove", "path": "manager", "value": [{"value": "m1"}]}]));
        gone(json!([{"op": "remove", "path": "manager[value eq \"m1\"]"}]));
        gone(json!([{"op": "remove", "path": "manager.value"}]));
        gone(json!([{"op": "Replace", "path": "manager", "value": ""}]));
        gone(json!([{"op": "Replace", "path": "manager", "value": null}]));
        gone(json!([{"op": "Add", "path": "manager", "value": []}]));
        // A value naming another manager: nothing removed.
        for ops in [
            json!([{"op": "remove", "path": "manager", "value": "m2"}]),
            json!([{"op": "remove", "path": "manager[value eq \"m2\"]"}]),
        ] {
            let doc = patch_user(&with_manager("m1"), ops).unwrap();
            assert_eq!(doc[ENT]["manager"], json!({"value": "m1"}));
        }
        // Removing the last extension attribute drops the extension.
        let doc = patch_user(&with_manager("m1"), json!([
            {"op": "remove", "path": "manager"},
            {"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}
        ]))
        .unwrap();
        assert_eq!(doc, plain());
        // Manager wrong type.
        let (t, _) = err(patch_user(
            &plain(),
            json!([{"op": "add", "path": "manager", "value": 42}]),
        ));
        assert_eq!(t, ScimType::InvalidValue);
        let (t, _) = err(patch_user(
            &plain(),
            json!([{"op": "add", "path": "manager.displayName", "value": "x"}]),
        ));
        assert_eq!(t, ScimType::Mutability);
    }

    // --- groups --------------------------------------------------------------------------

    #[test]
    fn entra_group_display_name_and_members() {
        let out = patch_group(&group(), json!([
            {"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}
        ]))
        .unwrap();
        assert_eq!(
            out.doc["displayName"],
            "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
        );
        assert!(out.member_changes.is_empty());

        let out = patch_group(&group(), json!([
            {"op": "Add", "path": "members", "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}
        ]))
        .unwrap();
        assert_eq!(out.doc, group());
        assert_eq!(
            out.member_changes,
            vec![MemberChange::Add(members(&["f648f8d5ea4e4cd38e9c"]))]
        );

        // Legacy removal: value array — only those.
        let out = patch_group(&group(), json!([
            {"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "f648f8d5ea4e4cd38e9c"}]}
        ]))
        .unwrap();
        assert_eq!(
            out.member_changes,
            vec![MemberChange::Remove(vec!["f648f8d5ea4e4cd38e9c".into()])]
        );
        let out = patch_group(
            &group(),
            json!([{"op": "Remove", "path": "members", "value": [{"value": "u1091"}]}]),
        )
        .unwrap();
        assert_eq!(
            out.member_changes,
            vec![MemberChange::Remove(vec!["u1091".into()])]
        );

        // Flagged removal: filter path.
        let out = patch_group(&group(), json!([
            {"op": "remove", "path": "members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}
        ]))
        .unwrap();
        assert_eq!(
            out.member_changes,
            vec![MemberChange::Remove(vec![
                "7f4bc1a3-285e-48ae-8202-5accb43efb0e".into()
            ])]
        );
    }

    #[test]
    fn member_only_patches_are_worked_out_without_the_document() {
        let group_rt = &Registry::get().group;
        let only = |ops: Value| {
            let ops = parse_patch_request(&body(ops)).unwrap();
            member_changes_only(&ops, group_rt)
        };
        // Entra's forms, and several member operations: the same changes as apply_patch.
        for ops in [
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}]}]),
            json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}]),
            json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]),
            json!([
                {"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members", "value": [{"value": "u1"}, {"value": "u2"}]},
                {"op": "remove", "path": "members[type eq \"Group\"]"},
                {"op": "replace", "path": "Members", "value": [{"value": "u9"}]},
                {"op": "remove", "path": "members"}
            ]),
        ] {
            let full = patch_group(&group(), ops.clone()).unwrap();
            assert_eq!(full.doc, group(), "{ops}");
            assert_eq!(only(ops.clone()), Some(full.member_changes), "{ops}");
        }
        // Anything else, or an operation that fails: the general way.
        for ops in [
            json!([{"op": "replace", "path": "displayName", "value": "New"}]),
            json!([
                {"op": "add", "path": "members", "value": [{"value": "u1"}]},
                {"op": "replace", "path": "displayName", "value": "New"}
            ]),
            json!([{"op": "add", "value": {"members": [{"value": "u5"}]}}]),
            json!([{"op": "add", "path": "members", "value": [{"type": "User"}]}]),
            json!([{"op": "add", "path": "members[value eq \"u1\"]", "value": [{"value": "u1"}]}]),
            json!([{"op": "add", "path": "members.display", "value": "x"}]),
        ] {
            assert_eq!(only(ops.clone()), None, "{ops}");
        }
        // Users have no members.
        let ops = parse_patch_request(&body(
            json!([{"op": "add", "path": "members", "value": [{"value": "u1"}]}]),
        ))
        .unwrap();
        assert_eq!(member_changes_only(&ops, &Registry::get().user), None);
    }

    #[test]
    fn group_member_forms() {
        // Several members in one op, several ops in one request, in order.
        let out = patch_group(&group(), json!([
            {"op": "Add", "path": "members", "value": [{"value": "u1", "type": "User"}, {"value": "u2"}], "name": "addMember"},
            {"op": "add", "path": "members", "value": "string id 1"},
            {"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"},
            {"op": "remove", "path": "members[type eq \"Group\"]"},
            {"op": "replace", "path": "members", "value": [{"value": "u9"}]},
            {"op": "replace", "path": "members", "value": []},
            {"op": "remove", "path": "members"},
            {"op": "add", "value": {"members": [{"value": "u5"}], "displayName": "New"}}
        ]))
        .unwrap();
        let filter = crate::filter::parse_filter("type eq \"Group\"").unwrap();
        assert_eq!(
            out.member_changes,
            vec![
                MemberChange::Add(vec![
                    MemberRef {
                        value: "u1".into(),
                        member_type: Some("User".into())
                    },
                    MemberRef {
                        value: "u2".into(),
                        member_type: None
                    },
                ]),
                MemberChange::Add(members(&["string id 1"])),
                MemberChange::Remove(vec!["a".into(), "b".into()]),
                MemberChange::RemoveMatching(filter),
                MemberChange::ReplaceAll(members(&["u9"])),
                MemberChange::ReplaceAll(vec![]),
                MemberChange::RemoveAll,
                MemberChange::Add(members(&["u5"])),
            ]
        );
        assert_eq!(out.doc["displayName"], "New");
        assert!(out.doc.get("members").is_none());
        // Errors.
        let (t, _) = err(patch_group(
            &group(),
            json!([{"op": "add", "path": "members", "value": [{"type": "User"}]}]),
        ));
        assert_eq!(t, ScimType::InvalidValue);
        let (t, _) = err(patch_group(
            &group(),
            json!([{"op": "add", "path": "members", "value": 5}]),
        ));
        assert_eq!(t, ScimType::InvalidValue);
        let (t, _) = err(patch_group(
            &group(),
            json!([{"op": "replace", "path": "members[value eq \"a\"].display", "value": "x"}]),
        ));
        assert_eq!(t, ScimType::Mutability);
        let (t, _) = err(patch_group(
            &group(),
            json!([{"op": "replace", "path": "members[value eq \"a\"].value", "value": "x"}]),
        ));
        assert_eq!(t, ScimType::InvalidPath);
        let (t, _) = err(patch_group(
            &group(),
            json!([{"op": "add", "path": "members[value eq \"a\"]", "value": {"value": "a"}}]),
        ));
        assert_eq!(t, ScimType::InvalidPath);
        let (t, _) = err(patch_group(
            &group(),
            json!([{"op": "replace", "path": "members.display", "value": "x"}]),
        ));
        assert_eq!(t, ScimType::Mutability);
        let (t, _) = err(patch_group(
            &group(),
            json!([{"op": "replace", "path": "displayName", "value": ""}]),
        ));
        assert_eq!(t, ScimType::InvalidValue);
        let (t, _) = err(patch_group(
            &group(),
            json!([{"op": "add", "path": "userName", "value": "x"}]),
        ));
        assert_eq!(t, ScimType::InvalidPath);
    }

    // --- RFC 7644 §3.5.2 examples --------------------------------------------------------

    #[test]
    fn rfc_7644_examples() {
        // §3.5.2.1: add without path.
        let doc = patch_user(
            &bob(),
            json!([{"op": "add", "value": {
            "emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"}}]),
        )
        .unwrap();
        assert_eq!(doc["nickName"], "Babs");
        assert_eq!(doc["emails"].as_array().unwrap().len(), 3);
        // §3.5.2.2: remove with a complex filter.
        let doc = patch_user(
            &bob(),
            json!([
                {"op": "remove", "path": "emails[type eq \"work\" and value ew \"contoso.com\"]"}
            ]),
        )
        .unwrap();
        assert_eq!(
            doc["emails"],
            json!([{"value": "bob@home.example", "type": "home"}])
        );
        // §3.5.2.2: remove all values of x509Certificates.
        let mut start = bob();
        start["x509Certificates"] = json!([{"value": "MIIC"}]);
        let doc = patch_user(
            &start,
            json!([{"op": "remove", "path": "x509Certificates"}]),
        )
        .unwrap();
        assert_eq!(doc, bob());
        // §3.5.2.3: replace addresses[type eq "work"] and a sub-attribute of it.
        let mut start = bob();
        start["addresses"] = json!([{"type": "work", "streetAddress": "old", "locality": "A"},
                                    {"type": "home", "streetAddress": "home"}]);
        let doc = patch_user(&start, json!([
            {"op": "replace", "path": "addresses[type eq \"work\"]", "value": {
                "type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood",
                "region": "CA", "postalCode": "91608", "country": "US",
                "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true}},
            {"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}
        ]))
        .unwrap();
        assert_eq!(doc["addresses"][0]["streetAddress"], "1010 Broadway Ave");
        assert_eq!(doc["addresses"][0]["locality"], "Hollywood");
        assert_eq!(doc["addresses"][0]["primary"], true);
        assert_eq!(
            doc["addresses"][1],
            json!({"type": "home", "streetAddress": "home"})
        );
        // §3.5.2.3: replace without path.
        let doc = patch_user(
            &bob(),
            json!([{"op": "replace", "value": {
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
            "nickname": "Babs"}}]),
        )
        .unwrap();
        assert_eq!(
            doc["emails"],
            json!([{"value": "bjensen@example.com", "type": "work", "primary": true}])
        );
    }

    // --- errors and atomicity ------------------------------------------------------------

    #[test]
    fn path_errors_and_mutability() {
        let one = |op: Value| err(patch_user(&bob(), json!([op])));
        let (t, d) = one(json!({"op": "add", "path": "shoeSize", "value": "9"}));
        assert_eq!(t, ScimType::InvalidPath);
        assert!(d.contains("shoeSize"), "{d}");
        assert_eq!(
            one(json!({"op": "add", "path": "name.nick", "value": "x"})).0,
            ScimType::InvalidPath
        );
        assert_eq!(
            one(json!({"op": "add", "path": "urn:example:x:foo", "value": "x"})).0,
            ScimType::InvalidPath
        );
        assert_eq!(
            one(json!({"op": "add", "path": "emails[type eq \"work\"].nope", "value": "x"})).0,
            ScimType::InvalidPath
        );
        assert_eq!(
            one(json!({"op": "add", "path": "active[value eq true]", "value": "x"})).0,
            ScimType::InvalidPath
        );
        assert_eq!(
            one(json!({"op": "replace", "value": {"shoeSize": 9}})).0,
            ScimType::InvalidPath
        );
        for path in [
            "id",
            "meta",
            "meta.created",
            "groups",
            "urn:ietf:params:scim:schemas:extension:scimd:2.0:User:company",
            "company",
        ] {
            let (t, _) = one(json!({"op": "replace", "path": path, "value": "x"}));
            assert_eq!(t, ScimType::Mutability, "{path}");
            let (t, _) = one(json!({"op": "remove", "path": path}));
            assert_eq!(t, ScimType::Mutability, "{path}");
        }
        // Wrong types name the path.
        for (path, value) in [
            ("userName", json!(5)),
            ("name", json!("Bob")),
            ("name.givenName", json!(["x"])),
            ("emails", json!([5])),
            ("emails[type eq \"work\"].value", json!(true)),
            ("emails[type eq \"work\"]", json!("x")),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                json!({"a": 1}),
            ),
        ] {
            let (t, d) = one(json!({"op": "replace", "path": path, "value": value}));
            assert_eq!(t, ScimType::InvalidValue, "{path}: {d}");
        }
        // Unknown sub-attribute inside a value.
        assert!(patch_user(
            &bob(),
            json!([{"op": "add", "path": "name", "value": {"nick": "x"}}])
        )
        .is_err());
    }

    #[test]
    fn failing_later_operation_applies_nothing() {
        let start = bob();
        let e = patch_user(
            &start,
            json!([
                {"op": "replace", "path": "userName", "value": "changed"},
                {"op": "replace", "path": "nosuch", "value": "x"}
            ]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
        assert!(e.detail.starts_with("Operations[1]"), "{}", e.detail);
        assert_eq!(start, bob());
        let e = patch_group(
            &group(),
            json!([
                {"op": "add", "path": "members", "value": ["u1"]},
                {"op": "replace", "path": "displayName", "value": 7}
            ]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn immutable_attribute_with_a_value_cannot_change() {
        let mut rt = Registry::get().user.clone();
        let mut schema = (*rt.schema).clone();
        if let Some(a) = schema.attributes.iter_mut().find(|a| a.name == "nickName") {
            a.mutability = Mutability::Immutable;
        }
        rt.schema = std::sync::Arc::new(schema);
        let ops = |v: Value| parse_patch_request(&body(v)).unwrap();
        let set = ops(json!([{"op": "add", "path": "nickName", "value": "Babs"}]));
        let doc = apply_patch(&plain(), &set, &rt).unwrap().doc;
        assert_eq!(doc["nickName"], "Babs");
        let e = apply_patch(&doc, &set, &rt).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
        let e = apply_patch(
            &doc,
            &ops(json!([{"op": "remove", "path": "nickName"}])),
            &rt,
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
    }

    #[test]
    fn password_is_accepted_and_not_stored() {
        let doc = patch_user(
            &plain(),
            json!([{"op": "replace", "path": "password", "value": "s3cret"}]),
        )
        .unwrap();
        assert_eq!(doc, plain());
        let doc = patch_user(
            &plain(),
            json!([{"op": "replace", "value": {"password": "s3cret"}}]),
        )
        .unwrap();
        assert_eq!(doc, plain());
    }
}
