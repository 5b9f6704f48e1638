//! Attribute projection: RFC 7644 §3.4.2.5 `attributes` / `excludedAttributes` and the
//! RFC 7643 §7 `returned` characteristic.
//!
//! A [`Projection`] is parsed once per request from the two query parameters and then
//! applied to every resource document of the response. Names are matched
//! case-insensitively against the schemas; unknown attribute names are ignored (RFC 7644
//! §3.4.2.5 / §3.10). `id`, `schemas` and `meta` are always returned, `returned: never`
//! attributes (`password`) never are, and `returned: request` ones only when named in
//! `attributes`.
//!
//! Besides plain paths (`userName`, `name.givenName`, `urn:…:enterprise:2.0:User:department`,
//! a whole schema URN), a value path selects elements of a multi-valued attribute:
//! `emails[type eq "work"]` keeps (or, in `excludedAttributes`, removes) only the matching
//! elements, and `emails[type eq "work"].value` narrows them to one sub-attribute.

use serde_json::{Map, Value};

use crate::error::{ScimError, ScimResult};
use crate::filter::eval::matches_element;
use crate::filter::{parse_filter, AttrPath, Filter};
use crate::schema::{Attribute, ResourceType, Returned, Schema};

/// Maximum length of one `attributes` / `excludedAttributes` parameter.
pub const MAX_PARAM_LEN: usize = 8192;
/// Maximum number of comma-separated paths in one parameter.
pub const MAX_PATHS: usize = 256;

/// Top-level attributes that are returned whatever the parameters say.
const ALWAYS_CORE: &[&str] = &["id", "schemas", "meta"];

/// One resolved attribute selection.
#[derive(Debug, Clone)]
struct Sel {
    /// Canonical URN of the extension holding the attribute; `None` for core and common
    /// attributes.
    scope: Option<String>,
    /// Canonical attribute name.
    attr: String,
    /// Canonical sub-attribute name.
    sub: Option<String>,
    /// Value filter of a value path (`emails[type eq "work"]`).
    filter: Option<Filter>,
}

#[derive(Debug, Clone)]
enum Item {
    /// A whole schema: `None` is the core schema, `Some(urn)` an extension.
    Schema(Option<String>),
    Attr(Sel),
}

/// What the `attributes` list selects of one attribute.
struct Inclusion<'a> {
    /// All elements (no value filter restricts them); otherwise the union of `filters`.
    all_elements: bool,
    filters: Vec<&'a Filter>,
    /// All (default-returned) sub-attributes; otherwise only `subs` (and `always` ones).
    all_subs: bool,
    subs: Vec<&'a str>,
}

/// Parsed `attributes` / `excludedAttributes` query parameters.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    attributes: Option<Vec<Item>>,
    excluded: Vec<Item>,
}

impl Projection {
    /// Parses the comma-separated query parameters (either may be `None`; an empty value
    /// counts as absent). Unknown attribute names are ignored; a malformed path is
    /// `invalidValue`, a malformed value filter `invalidFilter`.
    pub fn parse(
        attributes: Option<&str>,
        excluded: Option<&str>,
        rt: &ResourceType,
    ) -> ScimResult<Projection> {
        let attributes = match attributes.filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(parse_list(s, rt)?),
            None => None,
        };
        let excluded = match excluded.filter(|s| !s.trim().is_empty()) {
            Some(s) => parse_list(s, rt)?,
            None => Vec::new(),
        };
        Ok(Projection {
            attributes,
            excluded,
        })
    }

    /// Neither parameter given: every attribute returned by default is returned.
    pub fn is_default(&self) -> bool {
        self.attributes.is_none() && self.excluded.is_empty()
    }

    /// Applies the projection and the `returned` rules to a full resource document: core
    /// and common attributes at top level, extension attributes under their URN key, names
    /// in the schemas' canonical case. `schemas` is left as it is.
    pub fn apply(&self, doc: &mut Value, rt: &ResourceType) {
        let Some(obj) = doc.as_object_mut() else {
            return;
        };
        let keys: Vec<String> = obj.keys().cloned().collect();
        for key in keys {
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            let keep = if let Some(ext) = rt.extension(&key) {
                match obj.get_mut(&key) {
                    Some(Value::Object(inner)) => {
                        self.apply_scope(inner, Some(ext), rt);
                        !inner.is_empty()
                    }
                    // A malformed extension value: only keep it if nothing narrows the output.
                    Some(_) => self.attributes.is_none() && !self.excludes_schema(Some(&ext.id)),
                    None => true,
                }
            } else {
                let def = rt.core_attribute(&key);
                match obj.get_mut(&key) {
                    Some(value) => self.project_attr(None, &key, def, value),
                    None => true,
                }
            };
            if !keep {
                obj.shift_remove(&key);
            }
        }
    }

    /// Whether the top-level attribute `attr_name` (e.g. `members` of Group, `groups` of
    /// User, or `urn:…:enterprise:2.0:User:manager`) will appear in the output, provided the
    /// resource has a value for it. Unknown attributes never appear.
    pub fn includes(&self, attr_name: &str, rt: &ResourceType) -> bool {
        // Without `attributes` / `excludedAttributes` (nearly every request), a core
        // attribute is found by its name without parsing a path: every GET asks.
        if self.is_default() && is_name(attr_name) {
            if let Some(def) = rt.core_attribute(attr_name) {
                return self.includes_attribute(None, def);
            }
        }
        self.includes_path(attr_name, rt)
    }

    /// [`Projection::includes`] for any attribute path and projection.
    fn includes_path(&self, attr_name: &str, rt: &ResourceType) -> bool {
        let Ok(Some(path)) = split_path(attr_name.trim()) else {
            return false;
        };
        let Some((scope, def, _)) = resolve(rt, &path) else {
            return false;
        };
        self.includes_attribute(scope.map(|s| s.id.as_str()), def)
    }

    /// Whether the attribute `def` of the schema `scope` (none: the core schema) appears:
    /// its `returned`, then `attributes`, then `excludedAttributes`.
    fn includes_attribute(&self, scope: Option<&str>, def: &Attribute) -> bool {
        if def.returned == Returned::Never {
            return false;
        }
        if is_always(scope, def) {
            return true;
        }
        let included = match &self.attributes {
            None => def.returned != Returned::Request,
            Some(items) => items.iter().any(|item| match item {
                Item::Schema(s) => same_scope(s.as_deref(), scope),
                Item::Attr(sel) => sel.matches(scope, &def.name),
            }),
        };
        included
            && !self.excluded.iter().any(|item| match item {
                Item::Schema(s) => same_scope(s.as_deref(), scope),
                Item::Attr(sel) => {
                    sel.matches(scope, &def.name) && sel.sub.is_none() && sel.filter.is_none()
                }
            })
    }

    fn excludes_schema(&self, scope: Option<&str>) -> bool {
        self.excluded
            .iter()
            .any(|item| matches!(item, Item::Schema(s) if same_scope(s.as_deref(), scope)))
    }

    /// Projects the attributes of one scope (the core document or one extension object).
    fn apply_scope(&self, obj: &mut Map<String, Value>, ext: Option<&Schema>, rt: &ResourceType) {
        let scope = ext.map(|s| s.id.as_str());
        let keys: Vec<String> = obj.keys().cloned().collect();
        for key in keys {
            let def = match ext {
                Some(schema) => schema.attribute(&key),
                None => rt.core_attribute(&key),
            };
            let keep = match obj.get_mut(&key) {
                Some(value) => self.project_attr(scope, &key, def, value),
                None => true,
            };
            if !keep {
                obj.shift_remove(&key);
            }
        }
    }

    /// Projects one attribute value in place; returns whether the attribute stays.
    fn project_attr(
        &self,
        scope: Option<&str>,
        key: &str,
        def: Option<&Attribute>,
        value: &mut Value,
    ) -> bool {
        let Some(def) = def else {
            // Not in any schema: treat it as `returned: default` that no path can name.
            if scope.is_none() && ALWAYS_CORE.iter().any(|a| a.eq_ignore_ascii_case(key)) {
                return true;
            }
            return self.attributes.is_none() && !self.excludes_schema(scope);
        };
        if def.returned == Returned::Never {
            return false;
        }
        if is_always(scope, def) {
            strip_subs(value, def, None);
            return true;
        }
        let was_empty = is_empty(value);

        // `attributes` and the default `returned` rules.
        let inclusion = match &self.attributes {
            None if def.returned == Returned::Request => return false,
            None => Inclusion {
                all_elements: true,
                filters: Vec::new(),
                all_subs: true,
                subs: Vec::new(),
            },
            Some(items) => match self.inclusion(items, scope, def) {
                Some(inc) => inc,
                None => return false,
            },
        };
        if !inclusion.all_elements {
            if let Value::Array(elements) = value {
                elements.retain(|el| {
                    inclusion
                        .filters
                        .iter()
                        .any(|f| matches_element(f, el, def))
                });
            }
        }
        strip_subs(
            value,
            def,
            (!inclusion.all_subs).then_some(inclusion.subs.as_slice()),
        );

        // `excludedAttributes`.
        for item in &self.excluded {
            match item {
                Item::Schema(s) if same_scope(s.as_deref(), scope) => return false,
                Item::Schema(_) => {}
                Item::Attr(sel) if sel.matches(scope, &def.name) => match (&sel.filter, &sel.sub) {
                    (None, None) => return false,
                    (None, Some(sub)) => remove_sub(value, def, sub, None),
                    (Some(f), None) => {
                        if let Value::Array(elements) = value {
                            elements.retain(|el| !matches_element(f, el, def));
                        }
                    }
                    (Some(f), Some(sub)) => remove_sub(value, def, sub, Some(f)),
                },
                Item::Attr(_) => {}
            }
        }
        if let Value::Array(elements) = value {
            elements.retain(|el| !matches!(el, Value::Object(o) if o.is_empty()));
        }
        was_empty || !is_empty(value)
    }

    /// What `attributes` selects of `def` in `scope`, or `None` if nothing.
    fn inclusion<'a>(
        &self,
        items: &'a [Item],
        scope: Option<&str>,
        def: &Attribute,
    ) -> Option<Inclusion<'a>> {
        let mut found = false;
        let mut inc = Inclusion {
            all_elements: false,
            filters: Vec::new(),
            all_subs: false,
            subs: Vec::new(),
        };
        for item in items {
            match item {
                Item::Schema(s) if same_scope(s.as_deref(), scope) => {
                    found = true;
                    inc.all_elements = true;
                    inc.all_subs = true;
                }
                Item::Attr(sel) if sel.matches(scope, &def.name) => {
                    found = true;
                    match &sel.filter {
                        Some(f) => inc.filters.push(f),
                        None => inc.all_elements = true,
                    }
                    match &sel.sub {
                        Some(sub) => inc.subs.push(sub),
                        None => inc.all_subs = true,
                    }
                }
                _ => {}
            }
        }
        found.then_some(inc)
    }
}

impl Sel {
    fn matches(&self, scope: Option<&str>, attr: &str) -> bool {
        same_scope(self.scope.as_deref(), scope) && self.attr.eq_ignore_ascii_case(attr)
    }
}

fn same_scope(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

fn is_always(scope: Option<&str>, def: &Attribute) -> bool {
    def.returned == Returned::Always
        || (scope.is_none()
            && ALWAYS_CORE
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&def.name)))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// Applies the sub-attribute `returned` rules to a complex value (or each element of a
/// multi-valued one): `never` sub-attributes go; `request` ones stay only if named in
/// `only`; with `only` given, only the named and the `always` sub-attributes stay.
fn strip_subs(value: &mut Value, def: &Attribute, only: Option<&[&str]>) {
    if def.sub_attributes.is_empty() {
        return;
    }
    let keep = |key: &str| {
        let named = only.is_some_and(|subs| subs.iter().any(|s| s.eq_ignore_ascii_case(key)));
        match def.sub_attribute(key).map(|s| s.returned) {
            Some(Returned::Never) => false,
            Some(Returned::Always) => true,
            Some(Returned::Request) => named,
            Some(Returned::Default) | None => only.is_none() || named,
        }
    };
    let strip = |obj: &mut Map<String, Value>| obj.retain(|k, _| keep(k));
    match value {
        Value::Object(obj) => strip(obj),
        Value::Array(elements) => elements.iter_mut().for_each(|el| {
            if let Value::Object(obj) = el {
                strip(obj);
            }
        }),
        _ => {}
    }
}

/// Removes sub-attribute `sub` (unless `returned: always`) from a complex value or from
/// the elements of a multi-valued one (only those matching `filter` if given).
fn remove_sub(value: &mut Value, def: &Attribute, sub: &str, filter: Option<&Filter>) {
    if def
        .sub_attribute(sub)
        .is_some_and(|s| s.returned == Returned::Always)
    {
        return;
    }
    let remove = |obj: &mut Map<String, Value>| obj.retain(|k, _| !k.eq_ignore_ascii_case(sub));
    match value {
        Value::Object(obj) if filter.is_none() => remove(obj),
        Value::Array(elements) => {
            for el in elements.iter_mut() {
                if filter.is_some_and(|f| !matches_element(f, el, def)) {
                    continue;
                }
                if let Value::Object(obj) = el {
                    remove(obj);
                }
            }
        }
        _ => {}
    }
}

/// Splits a parameter at the commas outside value filters (`[…]`) and their strings.
fn split_list(s: &str) -> ScimResult<Vec<&str>> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' if depth > 0 => in_string = true,
            '[' => depth += 1,
            ']' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| ScimError::invalid_filter(format!("unbalanced ']' in {s:?}")))?
            }
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth > 0 || in_string {
        return Err(ScimError::invalid_filter(format!(
            "unterminated value filter in {s:?}"
        )));
    }
    parts.push(&s[start..]);
    Ok(parts)
}

fn parse_list(s: &str, rt: &ResourceType) -> ScimResult<Vec<Item>> {
    if s.len() > MAX_PARAM_LEN {
        return Err(ScimError::invalid_value(format!(
            "attribute list longer than {MAX_PARAM_LEN} characters"
        )));
    }
    let parts = split_list(s)?;
    if parts.len() > MAX_PATHS {
        return Err(ScimError::invalid_value(format!(
            "more than {MAX_PATHS} attribute paths"
        )));
    }
    let mut items = Vec::new();
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        if let Some(item) = parse_item(part, rt)? {
            items.push(item);
        }
    }
    Ok(items)
}

/// Parses one path; `Ok(None)` for a well-formed path naming nothing this type knows.
fn parse_item(part: &str, rt: &ResourceType) -> ScimResult<Option<Item>> {
    let Some(open) = part.find('[') else {
        if rt.schema.id.eq_ignore_ascii_case(part) {
            return Ok(Some(Item::Schema(None)));
        }
        if let Some(ext) = rt.extension(part) {
            return Ok(Some(Item::Schema(Some(ext.id.clone()))));
        }
        let Some(path) = split_path(part)? else {
            return Ok(None);
        };
        return Ok(resolve(rt, &path).map(|(ext, attr, sub)| {
            Item::Attr(Sel {
                scope: ext.map(|e| e.id.clone()),
                attr: attr.name.clone(),
                sub: sub.map(|s| s.name.clone()),
                filter: None,
            })
        }));
    };
    // Value path: attrPath "[" valFilter "]" ["." subAttr]. split_list checked the brackets.
    let close = part
        .rfind(']')
        .filter(|&c| c > open)
        .ok_or_else(|| ScimError::invalid_filter(format!("malformed value path {part:?}")))?;
    let head = &part[..open];
    let inner = &part[open + 1..close];
    let tail = &part[close + 1..];
    let sub = match tail {
        "" => None,
        t => match t.strip_prefix('.') {
            Some(s) if is_name(s) => Some(s),
            _ => {
                return Err(ScimError::invalid_filter(format!(
                    "unexpected {t:?} after value filter in {part:?}"
                )))
            }
        },
    };
    let path = match split_path(head)? {
        Some(p) if p.sub_attr.is_none() => p,
        _ => {
            return Err(ScimError::invalid_filter(format!(
                "malformed value path {part:?}"
            )))
        }
    };
    if inner.trim().is_empty() {
        return Err(ScimError::invalid_filter(format!(
            "empty value filter in {part:?}"
        )));
    }
    let filter =
        parse_filter(inner).map_err(|e| ScimError::invalid_filter(format!("{part:?}: {e}")))?;
    let Some((ext, attr, None)) = resolve(rt, &path) else {
        return Ok(None);
    };
    if !attr.multi_valued {
        return Err(ScimError::invalid_filter(format!(
            "value filter on single-valued attribute {}",
            attr.name
        )));
    }
    let sub = match sub {
        None => None,
        Some(s) => match attr.sub_attribute(s) {
            Some(def) => Some(def.name.clone()),
            None => return Ok(None),
        },
    };
    Ok(Some(Item::Attr(Sel {
        scope: ext.map(|e| e.id.clone()),
        attr: attr.name.clone(),
        sub,
        filter: Some(filter),
    })))
}

/// `ALPHA *(nameChar)`, plus `$ref`.
fn is_name(s: &str) -> bool {
    s == "$ref"
        || (s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

/// Splits `[URN ":"] name ["." sub]`. `Ok(None)` for something that is no attribute name
/// at all (ignored like an unknown one); `invalidValue` for an empty component.
fn split_path(s: &str) -> ScimResult<Option<AttrPath>> {
    let (urn, rest) = match s.rfind(':') {
        Some(i) => (Some(&s[..i]), &s[i + 1..]),
        None => (None, s),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((n, sub)) => (n, Some(sub)),
        None => (rest, None),
    };
    if name.is_empty() || sub.is_some_and(str::is_empty) || urn.is_some_and(str::is_empty) {
        return Err(ScimError::invalid_value(format!(
            "malformed attribute path {s:?}"
        )));
    }
    if !is_name(name) {
        return Ok(None);
    }
    Ok(Some(AttrPath {
        urn: urn.map(str::to_string),
        name: name.to_string(),
        sub_attr: sub.map(str::to_string),
    }))
}

/// Resolves a path to (extension, attribute, sub-attribute), also accepting the common
/// attributes under the core URN and Entra's dotted extension form with a sub-attribute
/// (`urn:…:2.0:User.manager.value`).
fn resolve<'a>(
    rt: &'a ResourceType,
    path: &AttrPath,
) -> Option<(Option<&'a Schema>, &'a Attribute, Option<&'a Attribute>)> {
    if let Some(r) = rt.resolve(path) {
        return Some((r.extension, r.attr, r.sub));
    }
    let urn = path.urn.as_deref()?;
    if rt.schema.id.eq_ignore_ascii_case(urn) {
        let r = rt.resolve(&AttrPath {
            urn: None,
            ..path.clone()
        })?;
        return Some((r.extension, r.attr, r.sub));
    }
    // `urn:…:2.0` + `User` + `manager.value`.
    let ext = rt.extension(&format!("{urn}:{}", path.name))?;
    let (name, sub) = path.sub_attr.as_deref()?.split_once('.')?;
    let attr = ext.attribute(name)?;
    let sub = attr.sub_attribute(sub)?;
    Some((Some(ext), attr, Some(sub)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{Registry, ENTERPRISE_USER_SCHEMA};
    use serde_json::json;

    fn user_doc() -> Value {
        json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                ENTERPRISE_USER_SCHEMA
            ],
            "id": "2819c223",
            "externalId": "bjensen",
            "meta": {
                "resourceType": "User",
                "created": "2011-08-01T18:29:49.793Z",
                "lastModified": "2011-08-01T18:29:49.793Z",
                "location": "https://example.com/v2/Users/2819c223",
                "version": "W/\"f250dd84f0671c3\""
            },
            "userName": "bjensen",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "displayName": "Babs Jensen",
            "active": true,
            "password": "t1meMa$heen",
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "groups": [{"value": "e9e30dba", "display": "Tour Guides", "type": "direct"}],
            ENTERPRISE_USER_SCHEMA: {
                "employeeNumber": "701984",
                "department": "Tour Operations",
                "manager": {"value": "26118915", "displayName": "John Smith"}
            }
        })
    }

    fn group_doc() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "e9e30dba",
            "meta": {"resourceType": "Group", "location": "https://example.com/v2/Groups/e9e30dba"},
            "displayName": "Tour Guides",
            "members": [{"value": "2819c223", "display": "Babs Jensen", "type": "User"}]
        })
    }

    fn project(attrs: Option<&str>, excl: Option<&str>, rt: &ResourceType, doc: Value) -> Value {
        let p = Projection::parse(attrs, excl, rt).unwrap();
        let mut doc = doc;
        p.apply(&mut doc, rt);
        doc
    }

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn password_is_never_returned() {
        let u = &Registry::get().user;
        for (a, e) in [
            (None, None),
            (Some("password"), None),
            (Some("userName,password"), None),
            (None, Some("userName")),
            (Some(ENTERPRISE_USER_SCHEMA), None),
            (Some("urn:ietf:params:scim:schemas:core:2.0:User"), None),
        ] {
            let doc = project(a, e, u, user_doc());
            assert!(doc.get("password").is_none(), "{a:?} {e:?}: {doc}");
        }
        let p = Projection::parse(Some("password"), None, u).unwrap();
        assert!(!p.includes("password", u));
    }

    #[test]
    fn no_parameters_keep_all_default_attributes() {
        let u = &Registry::get().user;
        let mut expected = user_doc();
        expected.as_object_mut().unwrap().remove("password");
        assert_eq!(project(None, None, u, user_doc()), expected);
        assert_eq!(project(Some(" "), Some(""), u, user_doc()), expected);
    }

    #[test]
    fn attributes_user_name_keeps_always_attributes_only() {
        let u = &Registry::get().user;
        let doc = project(Some("userName"), None, u, user_doc());
        assert_eq!(keys(&doc), ["id", "meta", "schemas", "userName"]);
        assert_eq!(doc["meta"], user_doc()["meta"]);
        assert_eq!(doc["schemas"], user_doc()["schemas"]);
    }

    #[test]
    fn names_are_case_insensitive() {
        let u = &Registry::get().user;
        let doc = project(Some("USERNAME,Name.GIVENNAME"), None, u, user_doc());
        assert_eq!(keys(&doc), ["id", "meta", "name", "schemas", "userName"]);
        assert_eq!(doc["name"], json!({"givenName": "Barbara"}));
        let doc = project(None, Some("DISPLAYNAME,Emails"), u, user_doc());
        assert!(doc.get("displayName").is_none());
        assert!(doc.get("emails").is_none());
        assert!(doc.get("userName").is_some());
        let ext = ENTERPRISE_USER_SCHEMA.to_ascii_uppercase();
        let doc = project(Some(&format!("{ext}:DEPARTMENT")), None, u, user_doc());
        assert_eq!(
            doc[ENTERPRISE_USER_SCHEMA],
            json!({"department": "Tour Operations"})
        );
    }

    #[test]
    fn sub_attribute_selection() {
        let u = &Registry::get().user;
        let doc = project(Some("name.givenName"), None, u, user_doc());
        assert_eq!(keys(&doc), ["id", "meta", "name", "schemas"]);
        assert_eq!(doc["name"], json!({"givenName": "Barbara"}));
        // A sub-attribute the resource lacks leaves nothing of the attribute.
        let doc = project(Some("name.middleName"), None, u, user_doc());
        assert_eq!(keys(&doc), ["id", "meta", "schemas"]);
        // Multi-valued: the sub-attribute of every element.
        let doc = project(Some("emails.value"), None, u, user_doc());
        assert_eq!(
            doc["emails"],
            json!([{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}])
        );
        // Whole attribute and sub-attribute: the whole wins.
        let doc = project(Some("name.givenName,name"), None, u, user_doc());
        assert_eq!(doc["name"], user_doc()["name"]);
        // Excluding a sub-attribute.
        let doc = project(None, Some("name.givenName,emails.primary"), u, user_doc());
        assert_eq!(doc["name"], json!({"familyName": "Jensen"}));
        assert!(doc["emails"][0].get("primary").is_none());
        assert_eq!(doc["emails"][0]["value"], "bjensen@example.com");
    }

    #[test]
    fn enterprise_extension_attributes() {
        let u = &Registry::get().user;
        let ext = ENTERPRISE_USER_SCHEMA;
        let doc = project(Some(&format!("{ext}:department")), None, u, user_doc());
        assert_eq!(keys(&doc), ["id", "meta", "schemas", ext]);
        assert_eq!(doc[ext], json!({"department": "Tour Operations"}));

        let doc = project(
            Some(&format!("userName,{ext}:manager.value")),
            None,
            u,
            user_doc(),
        );
        assert_eq!(doc[ext], json!({"manager": {"value": "26118915"}}));
        // Entra's dotted form.
        let doc = project(Some(&format!("{ext}.manager")), None, u, user_doc());
        let doc2 = project(Some(&format!("{ext}:manager")), None, u, user_doc());
        assert_eq!(doc, doc2);
        assert_eq!(doc[ext], json!({"manager": user_doc()[ext]["manager"]}));

        // The whole extension.
        let doc = project(Some(ext), None, u, user_doc());
        assert_eq!(keys(&doc), ["id", "meta", "schemas", ext]);
        assert_eq!(doc[ext], user_doc()[ext]);
        let doc = project(None, Some(ext), u, user_doc());
        assert!(doc.get(ext).is_none());
        assert!(doc.get("userName").is_some());
        // Removing every attribute of the extension removes its key.
        let doc = project(
            None,
            Some(&format!(
                "{ext}:employeeNumber,{ext}:department,{ext}:manager"
            )),
            u,
            user_doc(),
        );
        assert!(doc.get(ext).is_none());
        assert_eq!(doc["schemas"], user_doc()["schemas"]);
        // Asking only for a core attribute drops the extension.
        let doc = project(Some("displayName"), None, u, user_doc());
        assert!(doc.get(ext).is_none());
    }

    #[test]
    fn always_attributes_cannot_be_excluded() {
        let u = &Registry::get().user;
        let doc = project(None, Some("id,meta,schemas,userName"), u, user_doc());
        assert!(doc.get("id").is_some());
        assert!(doc.get("meta").is_some());
        assert!(doc.get("schemas").is_some());
        assert!(doc.get("userName").is_none());
        let doc = project(
            None,
            Some("urn:ietf:params:scim:schemas:core:2.0:User"),
            u,
            user_doc(),
        );
        assert_eq!(
            keys(&doc),
            ["id", "meta", "schemas", ENTERPRISE_USER_SCHEMA]
        );
        let p = Projection::parse(Some("userName"), Some("id"), u).unwrap();
        assert!(p.includes("id", u));
        assert!(p.includes("meta", u));
    }

    #[test]
    fn the_default_projection_includes_what_the_general_rule_says() {
        let reg = Registry::get();
        let p = Projection::default();
        for rt in [&reg.user, &reg.group] {
            let names = rt.schema.attributes.iter().chain(rt.common.iter());
            for name in names.map(|a| a.name.clone()).chain([
                "members".into(),
                "groups".into(),
                "nosuch".into(),
            ]) {
                for name in [name.clone(), name.to_ascii_uppercase()] {
                    assert_eq!(
                        p.includes(&name, rt),
                        p.includes_path(&name, rt),
                        "{} {name}",
                        rt.name
                    );
                }
            }
        }
    }

    #[test]
    fn excluded_members_on_a_group() {
        let g = &Registry::get().group;
        let doc = project(None, Some("members"), g, group_doc());
        assert_eq!(keys(&doc), ["displayName", "id", "meta", "schemas"]);
        let p = Projection::parse(None, Some("members"), g).unwrap();
        assert!(!p.includes("members", g));
        assert!(p.includes("displayName", g));
        let p = Projection::parse(Some("displayName"), None, g).unwrap();
        assert!(!p.includes("members", g));
        assert!(p.includes("displayName", g));
        let doc = project(Some("displayName"), None, g, group_doc());
        assert_eq!(keys(&doc), ["displayName", "id", "meta", "schemas"]);
        let p = Projection::parse(None, None, g).unwrap();
        assert!(p.includes("members", g));
        assert!(p.includes("MEMBERS", g));
        // Excluding a sub-attribute keeps the attribute.
        let p = Projection::parse(None, Some("members.display"), g).unwrap();
        assert!(p.includes("members", g));
        let p = Projection::parse(Some("members.value"), None, g).unwrap();
        assert!(p.includes("members", g));
        // Unknown and foreign attributes never appear.
        assert!(!p.includes("groups", g));
        assert!(!p.includes("nosuch", g));
        let u = &Registry::get().user;
        let p = Projection::parse(None, None, u).unwrap();
        assert!(p.includes("groups", u));
        assert!(!p.includes("members", u));
        assert!(!p.includes("password", u));
    }

    #[test]
    fn unknown_attributes_are_ignored() {
        let u = &Registry::get().user;
        let doc = project(
            Some("nosuch,userName,name.nosuch,urn:x:y:z"),
            None,
            u,
            user_doc(),
        );
        assert_eq!(keys(&doc), ["id", "meta", "schemas", "userName"]);
        let doc = project(Some("nosuch"), None, u, user_doc());
        assert_eq!(keys(&doc), ["id", "meta", "schemas"]);
        let doc = project(None, Some("nosuch,members"), u, user_doc());
        assert_eq!(keys(&doc).len(), keys(&user_doc()).len() - 1);
        // Common attributes under the core URN.
        let doc = project(
            Some("urn:ietf:params:scim:schemas:core:2.0:User:externalId"),
            None,
            u,
            user_doc(),
        );
        assert_eq!(keys(&doc), ["externalId", "id", "meta", "schemas"]);
    }

    #[test]
    fn malformed_parameters_are_errors_not_panics() {
        let u = &Registry::get().user;
        for bad in [
            "name.",
            ".x",
            ":userName",
            "emails[type eq \"work\"",
            "emails]",
            "emails[]",
            "emails[type eq \"work\"]x",
        ] {
            let err = Projection::parse(Some(bad), None, u).unwrap_err();
            assert_eq!(err.status, 400, "{bad}");
            let err = Projection::parse(None, Some(bad), u).unwrap_err();
            assert_eq!(err.status, 400, "{bad}");
        }
        let long = "userName,".repeat(1000);
        assert!(Projection::parse(Some(&long), None, u).is_err());
        // Odd but harmless input.
        for odd in [",,userName,", "é", "user name", "\"", "a.b.c", "ü:ß.ñ"] {
            let p = Projection::parse(Some(odd), Some(odd), u).unwrap();
            let mut doc = user_doc();
            p.apply(&mut doc, u);
            assert!(doc.get("id").is_some());
        }
        // Documents of unexpected shape.
        let p = Projection::parse(Some("name.givenName,emails.value"), Some("name"), u).unwrap();
        for mut doc in [
            json!(null),
            json!([1, 2]),
            json!({"name": "x", "emails": {"value": 1}, ENTERPRISE_USER_SCHEMA: 3}),
        ] {
            p.apply(&mut doc, u);
        }
    }

    /// Value-path parsing needs the filter parser, element selection the evaluator
    /// (`filter::eval::matches_element`); each part runs once its half is implemented.
    #[test]
    fn value_path_selects_elements() {
        let u = &Registry::get().user;
        let invalid_filter = |a: &str| {
            let err = Projection::parse(Some(a), None, u).unwrap_err();
            assert_eq!(err.scim_type, Some(ScimType::InvalidFilter), "{a}");
        };
        if parse_filter("type eq \"work\"").is_err() {
            invalid_filter("emails[type eq \"work\"]");
            return;
        }
        // Unknown attribute: ignored; bad filter or single-valued attribute: invalidFilter.
        assert!(Projection::parse(Some("nosuch[type eq \"x\"]"), None, u).is_ok());
        assert!(Projection::parse(Some("emails[type eq \"x\"].nosuch"), None, u).is_ok());
        invalid_filter("emails[type eq]");
        invalid_filter("userName[value eq \"x\"]");
        invalid_filter("emails[type eq \"work\"].value.x");
        let p = Projection::parse(
            Some("emails[value eq \"a,b]\"],userName"),
            Some("emails[type eq \"home\"].display"),
            u,
        )
        .unwrap();
        assert!(p.includes("emails", u));
        assert!(p.includes("userName", u));

        let work = json!({"value": "bjensen@example.com", "type": "work"});
        let emails = u.schema.attribute("emails").unwrap();
        let evaluator_ready =
            parse_filter("type eq \"work\"").is_ok_and(|f| matches_element(&f, &work, emails));
        if !evaluator_ready {
            return;
        }
        let doc = project(Some("emails[type eq \"work\"]"), None, u, user_doc());
        assert_eq!(keys(&doc), ["emails", "id", "meta", "schemas"]);
        assert_eq!(doc["emails"], json!([user_doc()["emails"][0]]));
        let doc = project(Some("EMAILS[TYPE eq \"work\"].Value"), None, u, user_doc());
        assert_eq!(doc["emails"], json!([{"value": "bjensen@example.com"}]));
        let doc = project(None, Some("emails[type eq \"work\"]"), u, user_doc());
        assert_eq!(doc["emails"], json!([user_doc()["emails"][1]]));
        let doc = project(None, Some("emails[type eq \"home\"].value"), u, user_doc());
        assert_eq!(doc["emails"][1], json!({"type": "home"}));
        assert_eq!(doc["emails"][0], user_doc()["emails"][0]);
        let doc = project(
            None,
            Some("emails[type eq \"home\" or type eq \"work\"]"),
            u,
            user_doc(),
        );
        assert!(doc.get("emails").is_none());
        let doc = project(Some("emails[type eq \"other\"]"), None, u, user_doc());
        assert!(doc.get("emails").is_none());
    }

    #[test]
    fn commas_inside_value_filters_do_not_split() {
        assert_eq!(
            split_list("emails[value eq \"a,b]\"],userName").unwrap(),
            ["emails[value eq \"a,b]\"]", "userName"]
        );
        assert_eq!(
            split_list("a,b[c eq \"\\\"\"],d").unwrap(),
            ["a", "b[c eq \"\\\"\"]", "d"]
        );
    }
}
