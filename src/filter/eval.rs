//! Evaluates a filter against a JSON resource, honouring the schema (caseExact, types,
//! multi-valued semantics).
//!
//! Semantics (RFC 7644 §3.4.2.2):
//! - paths are resolved case-insensitively with [`ResourceType::resolve`]; the value is
//!   looked up by the schema's canonical names (extension attributes under their URN key);
//!   an unprefixed name that no core attribute has falls back to the extensions (Entra's
//!   `manager eq "<id>"`);
//! - a test on a multi-valued attribute matches if it matches for ANY value (this includes
//!   `ne`: `emails.type ne "work"` matches a user with a work and a home email);
//! - a comparison on a complex attribute without a sub-attribute (`emails co "x"`,
//!   `manager eq "id"`) compares the `value` sub-attribute;
//! - strings compare case-insensitively unless the attribute is caseExact; booleans only
//!   support `eq`/`ne`; numbers compare numerically; dateTimes compare as instants (falling
//!   back to string comparison when either side is not RFC 3339);
//! - `pr` is true for a value that is not null, not `""`, not `[]` and not `{}`;
//! - on a missing (or null) attribute, `ne` is true and every other comparison false
//!   (`eq null` is true, `ne null` false);
//! - an unknown attribute never matches (the HTTP layer rejects those before evaluating).

use std::cmp::Ordering;
use std::sync::OnceLock;

use chrono::DateTime;
use serde_json::{Number, Value};

use super::ast::{AttrPath, AttrTest, CompValue, CompareOp, Filter};
use crate::schema::{
    AttrType, Attribute, Mutability, ResolvedAttr, ResourceType, Returned, Uniqueness,
};

/// True if `resource` (a whole User or Group document) matches `filter`.
pub fn matches(filter: &Filter, resource: &Value, rt: &ResourceType) -> bool {
    match filter {
        Filter::And(a, b) => matches(a, resource, rt) && matches(b, resource, rt),
        Filter::Or(a, b) => matches(a, resource, rt) || matches(b, resource, rt),
        Filter::Not(inner) => !matches(inner, resource, rt),
        Filter::Attr { path, test } => match locate(path, resource, rt) {
            Some(found) => eval_test(found.attr, found.sub, found.value, test),
            None => false,
        },
        Filter::ValuePath { path, filter, sub } => {
            let Some(found) = locate(path, resource, rt) else {
                return false;
            };
            // `name.x[...]` is odd but well-defined: the elements are those of the target.
            let (target, value) = match found.sub {
                Some(s) => (s, found.value.and_then(|v| field(v, &s.name))),
                None => (found.attr, found.value),
            };
            elements(value).any(|element| {
                matches_element(filter, element, target)
                    && match sub {
                        None => true,
                        Some((name, test)) => match target.sub_attribute(name) {
                            Some(sa) => eval_test(sa, None, field(element, &sa.name), test),
                            None => false,
                        },
                    }
            })
        }
    }
}

/// True if `element` (one value of the multi-valued complex attribute `attr`, e.g. one
/// email) matches `filter`, whose paths name sub-attributes of `attr` (`type eq "work"`).
///
/// For a multi-valued simple attribute (no sub-attributes), `value` names the element
/// itself. A path may also repeat the attribute's own name (`emails.type`).
pub fn matches_element(filter: &Filter, element: &Value, attr: &Attribute) -> bool {
    match filter {
        Filter::And(a, b) => matches_element(a, element, attr) && matches_element(b, element, attr),
        Filter::Or(a, b) => matches_element(a, element, attr) || matches_element(b, element, attr),
        Filter::Not(inner) => !matches_element(inner, element, attr),
        Filter::Attr { path, test } => {
            let name = match &path.sub_attr {
                None => &path.name,
                Some(sub) if path.name.eq_ignore_ascii_case(&attr.name) => sub,
                Some(_) => return false,
            };
            if attr.sub_attributes.is_empty() {
                // A multi-valued simple attribute: `value` is the element itself.
                if !name.eq_ignore_ascii_case("value") {
                    return false;
                }
                return eval_test(attr, None, Some(element), test);
            }
            match attr.sub_attribute(name) {
                Some(sa) => eval_test(sa, None, field(element, &sa.name), test),
                None => false,
            }
        }
        // Value paths do not nest (RFC 7644 valFilter has no valuePath).
        Filter::ValuePath { .. } => false,
    }
}

/// A resolved path and the JSON value of its (top-level) attribute in a resource.
struct Located<'a> {
    attr: &'a Attribute,
    sub: Option<&'a Attribute>,
    value: Option<&'a Value>,
}

fn locate<'a>(path: &AttrPath, resource: &'a Value, rt: &'a ResourceType) -> Option<Located<'a>> {
    let Some(resolved) = resolve(path, rt) else {
        // `schemas` is on every resource but in no schema document.
        if path.urn.is_none()
            && path.sub_attr.is_none()
            && path.name.eq_ignore_ascii_case("schemas")
        {
            return Some(Located {
                attr: schemas_attribute(),
                sub: None,
                value: field(resource, "schemas"),
            });
        }
        return None;
    };
    let container = match resolved.extension {
        Some(ext) => field(resource, &ext.id),
        None => Some(resource),
    };
    Some(Located {
        attr: resolved.attr,
        sub: resolved.sub,
        value: container.and_then(|c| field(c, &resolved.attr.name)),
    })
}

/// [`ResourceType::resolve`], plus a fallback for unprefixed extension attributes: Entra
/// sends `manager eq "<id>"` for the enterprise extension's `manager`. The SQL compiler
/// resolves paths the same way.
pub fn resolve<'a>(path: &AttrPath, rt: &'a ResourceType) -> Option<ResolvedAttr<'a>> {
    rt.resolve(path).or_else(|| {
        if path.urn.is_some() {
            return None;
        }
        rt.extensions.iter().find_map(|ext| {
            let attr = ext.schema.attribute(&path.name)?;
            let sub = match &path.sub_attr {
                None => None,
                Some(sub) => Some(attr.sub_attribute(sub)?),
            };
            Some(ResolvedAttr {
                extension: Some(ext.schema.as_ref()),
                attr,
                sub,
            })
        })
    })
}

fn schemas_attribute() -> &'static Attribute {
    static SCHEMAS: OnceLock<Attribute> = OnceLock::new();
    SCHEMAS.get_or_init(|| Attribute {
        name: "schemas".to_string(),
        attr_type: AttrType::Reference,
        multi_valued: true,
        required: true,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Always,
        uniqueness: Uniqueness::None,
        canonical_values: Vec::new(),
        sub_attributes: Vec::new(),
    })
}

/// The member `name` of an object: exact key first, then case-insensitively.
fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The elements of a multi-valued attribute (or the one value of a single-valued one).
fn elements(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    let (many, one) = match v {
        Some(Value::Array(a)) => (a.as_slice(), None),
        Some(Value::Null) | None => (&[][..], None),
        Some(other) => (&[][..], Some(other)),
    };
    many.iter().chain(one)
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        _ => true,
    }
}

/// Applies `test` to attribute `attr` (or its sub-attribute `sub`), whose JSON value in the
/// resource (or element) is `value`.
fn eval_test(
    attr: &Attribute,
    sub: Option<&Attribute>,
    value: Option<&Value>,
    test: &AttrTest,
) -> bool {
    // The values the test applies to, and the attribute that types them.
    let mut candidates: Vec<&Value> = Vec::new();
    let target = match sub {
        Some(s) => {
            for element in elements(value) {
                candidates.extend(elements(field(element, &s.name)));
            }
            s
        }
        None if attr.attr_type == AttrType::Complex => {
            if let AttrTest::Present = test {
                return value.is_some_and(is_present);
            }
            let Some(v) = attr.sub_attribute("value") else {
                // `name eq "x"`: a complex attribute without `value` compares to nothing.
                return false;
            };
            for element in elements(value) {
                candidates.extend(elements(field(element, &v.name)));
            }
            v
        }
        None => {
            candidates.extend(elements(value));
            attr
        }
    };
    candidates.retain(|v| !v.is_null());
    match test {
        AttrTest::Present => candidates.iter().any(|v| is_present(v)),
        AttrTest::Compare(op, CompValue::Null) => {
            let present = candidates.iter().any(|v| is_present(v));
            match op {
                CompareOp::Eq => !present,
                CompareOp::Ne => present,
                _ => false,
            }
        }
        AttrTest::Compare(op, expected) => {
            if candidates.is_empty() {
                return *op == CompareOp::Ne;
            }
            candidates
                .iter()
                .any(|actual| compare(target, actual, *op, expected))
        }
    }
}

/// Compares one (non-null) value of attribute `target` with `expected`.
fn compare(target: &Attribute, actual: &Value, op: CompareOp, expected: &CompValue) -> bool {
    match target.attr_type {
        AttrType::Boolean => compare_bool(actual, op, expected),
        AttrType::Integer | AttrType::Decimal => compare_number(actual, op, expected),
        AttrType::DateTime => compare_datetime(target, actual, op, expected),
        _ => compare_string(target, actual, op, expected),
    }
}

fn ordering_matches(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn compare_bool(actual: &Value, op: CompareOp, expected: &CompValue) -> bool {
    let actual = match actual {
        Value::Bool(b) => *b,
        Value::String(s) if s.eq_ignore_ascii_case("true") => true,
        Value::String(s) if s.eq_ignore_ascii_case("false") => false,
        _ => return false,
    };
    let expected = match expected {
        CompValue::Bool(b) => *b,
        CompValue::String(s) if s.eq_ignore_ascii_case("true") => true,
        CompValue::String(s) if s.eq_ignore_ascii_case("false") => false,
        _ => return false,
    };
    match op {
        CompareOp::Eq => actual == expected,
        CompareOp::Ne => actual != expected,
        _ => false,
    }
}

fn as_number(v: &Value) -> Option<Number> {
    match v {
        Value::Number(n) => Some(n.clone()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn compare_number(actual: &Value, op: CompareOp, expected: &CompValue) -> bool {
    let Some(actual) = as_number(actual) else {
        return false;
    };
    let expected = match expected {
        CompValue::Number(n) => n.clone(),
        CompValue::String(s) => match s.trim().parse() {
            Ok(n) => n,
            Err(_) => return false,
        },
        _ => return false,
    };
    cmp_numbers(&actual, &expected).is_some_and(|ord| ordering_matches(op, ord))
}

fn compare_datetime(
    target: &Attribute,
    actual: &Value,
    op: CompareOp,
    expected: &CompValue,
) -> bool {
    if let (Value::String(a), CompValue::String(e)) = (actual, expected) {
        if !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
            if let (Ok(a), Ok(e)) = (
                DateTime::parse_from_rfc3339(a.trim()),
                DateTime::parse_from_rfc3339(e.trim()),
            ) {
                return ordering_matches(op, a.cmp(&e));
            }
        }
    }
    compare_string(target, actual, op, expected)
}

fn compare_string(target: &Attribute, actual: &Value, op: CompareOp, expected: &CompValue) -> bool {
    let actual = match actual {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return false,
    };
    let expected = match expected {
        CompValue::String(s) => s.clone(),
        CompValue::Number(n) => n.to_string(),
        CompValue::Bool(b) => b.to_string(),
        CompValue::Null => return false,
    };
    let (actual, expected) = if target.case_exact {
        (actual, expected)
    } else {
        (actual.to_lowercase(), expected.to_lowercase())
    };
    match op {
        CompareOp::Co => actual.contains(&expected),
        CompareOp::Sw => actual.starts_with(&expected),
        CompareOp::Ew => actual.ends_with(&expected),
        _ => ordering_matches(op, actual.cmp(&expected)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse_filter;
    use crate::schema::Registry;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "jyoung",
            "userName": "BJensen@example.com",
            "name": {"familyName": "O'Malley", "givenName": "Barbara"},
            "displayName": "Babs Jensen",
            "title": "Tour Guide",
            "userType": "Employee",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "ims": [{"value": "babs@foo.com", "type": "xmpp"}],
            "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza"}],
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": "W/\"3694e05e9dff591\""
            },
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
            }
        })
    }

    fn check(resource: &Value, cases: &[(&str, bool)]) {
        let rt = &Registry::get().user;
        for (input, expected) in cases {
            let filter = parse_filter(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(matches(&filter, resource, rt), *expected, "{input}");
        }
    }

    #[test]
    fn rfc7644_examples() {
        check(
            &user(),
            &[
                (r#"userName Eq "bjensen@example.com""#, true),
                (r#"Username eq "BJENSEN@EXAMPLE.COM""#, true),
                (r#"userName eq "bjensen""#, false),
                (r#"name.familyName co "O'Malley""#, true),
                (r#"name.familyName co "o'mal""#, true),
                (r#"userName sw "J""#, false),
                (r#"userName sw "bj""#, true),
                (
                    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "B""#,
                    true,
                ),
                ("title pr", true),
                ("nickName pr", false),
                (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
                (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
                (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
                (r#"meta.lastModified le "2011-05-13T04:42:34Z""#, true),
                // Same instant, other offset: compared as instants.
                (r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, true),
                (r#"meta.lastModified gt "2011-05-13T04:42:33.5Z""#, true),
                (r#"title pr and userType eq "Employee""#, true),
                (r#"title pr or userType eq "Intern""#, true),
                (r#"nickName pr or userType eq "Intern""#, false),
                (
                    r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
                    true,
                ),
                (
                    r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
                    true,
                ),
                (
                    r#"userType eq "Employee" and (emails co "example.net" or emails.value co "example.org")"#,
                    false,
                ),
                (
                    r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
                    false,
                ),
                (
                    r#"userType eq "Employee" and (emails.type eq "work")"#,
                    true,
                ),
                (
                    r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
                    true,
                ),
                // The work email is not the jensen.org one: same element must match both.
                (
                    r#"emails[type eq "work" and value co "@jensen.org"]"#,
                    false,
                ),
                (
                    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
                    true,
                ),
                (
                    r#"emails[type eq "home" and value co "@example.com"] or ims[type eq "xmpp" and value co "@bar.com"]"#,
                    false,
                ),
            ],
        );
    }

    #[test]
    fn entra_filters() {
        check(
            &user(),
            &[
                (r#"userName eq "cf4d78e8-cc4f-4d5d-b8b9-183561c0104a""#, false),
                ("externalId eq jyoung", true),
                // externalId is caseExact.
                ("externalId eq JYoung", false),
                (
                    r#"id eq "2819c223-7f76-453a-919d-413861904646" and manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
                    true,
                ),
                (
                    r#"id eq "2819c223-7f76-453a-919d-413861904646" and manager eq "someone-else""#,
                    false,
                ),
                (r#"DisplayName eq "babs jensen""#, true),
                (r#"emails[type eq "work"].value eq "BJensen@Example.com""#, true),
                (r#"emails[type eq "home"].value eq "bjensen@example.com""#, false),
                (r#"emails[type eq "work"].value pr"#, true),
                (r#"emails[type eq "other"].value pr"#, false),
                (r#"emails[type eq "work"].Value eq "bjensen@example.com""#, true),
                (r#"addresses[type eq "work"].streetAddress sw "100""#, true),
                (
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"701984\"",
                    true,
                ),
                (
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"26118915-6090-4610-87e4-49d8ca9f808d\"",
                    true,
                ),
                (
                    "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:MANAGER.DISPLAYNAME eq \"john smith\"",
                    true,
                ),
                // The dotted extension form.
                (
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber eq \"701984\"",
                    true,
                ),
                (
                    r#"active eq true and (meta.lastModified ge "2011-01-01T00:00:00Z" and meta.lastModified le "2012-01-01T00:00:00Z")"#,
                    true,
                ),
            ],
        );
    }

    #[test]
    fn types_missing_values_and_presence() {
        let resource = user();
        check(
            &resource,
            &[
                // Booleans: only eq/ne.
                ("active eq true", true),
                ("active eq false", false),
                ("active ne false", true),
                ("active eq TRUE", true),
                ("active gt false", false),
                (r#"emails[primary eq true].type eq "work""#, true),
                // Missing attributes: ne true, everything else false.
                (r#"nickName eq "x""#, false),
                (r#"nickName ne "x""#, true),
                (r#"nickName co "x""#, false),
                (r#"nickName gt "a""#, false),
                ("nickName eq null", true),
                ("title eq null", false),
                ("title ne null", true),
                (r#"phoneNumbers.value ne "1""#, true),
                (r#"phoneNumbers[type eq "work"]"#, false),
                // Unknown attributes never match.
                (r#"noSuchAttr eq "x""#, false),
                (r#"noSuchAttr ne "x""#, false),
                (r#"name.noSuch ne "x""#, false),
                (r#"urn:x:y:userName eq "bjensen@example.com""#, false),
                // Multi-valued: any element.
                (r#"emails.type eq "home""#, true),
                (r#"emails.type ne "work""#, true),
                (r#"emails ew "JENSEN.ORG""#, true),
                ("emails pr", true),
                ("ims.display pr", false),
                ("name pr", true),
                // Strings: ordering, case-insensitive unless caseExact.
                (r#"userName gt "a""#, true),
                (r#"userName lt "C""#, true),
                (r#"id ew "413861904646""#, true),
                (r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false),
                // dateTime falls back to string compare when unparsable.
                (r#"meta.created sw "2010-01""#, true),
                (r#"meta.created gt "2010""#, true),
                (r#"meta.created eq "not a date""#, false),
            ],
        );
        let empty = json!({"userName": "", "emails": [], "name": {}, "title": null});
        check(
            &empty,
            &[
                ("userName pr", false),
                ("emails pr", false),
                ("name pr", false),
                ("title pr", false),
                (r#"userName eq """#, true),
                (r#"emails.value ne "x""#, true),
            ],
        );
    }

    #[test]
    fn numbers_and_extension_types() {
        // A synthetic attribute set to exercise integer/decimal comparison.
        let num = |name: &str, attr_type| Attribute {
            name: name.to_string(),
            attr_type,
            multi_valued: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            sub_attributes: Vec::new(),
        };
        let mut complex = num("things", AttrType::Complex);
        complex.multi_valued = true;
        complex.sub_attributes = vec![
            num("count", AttrType::Integer),
            num("ratio", AttrType::Decimal),
        ];
        let element = json!({"count": 42, "ratio": 0.5});
        let cases = [
            ("count eq 42", true),
            ("count ne 42", false),
            ("count gt 41", true),
            ("count ge 42.0", true),
            ("count lt -1", false),
            (r#"count eq "42""#, true),
            ("count co 4", false),
            ("ratio lt 1", true),
            ("ratio gt 5e-1", false),
            ("ratio eq 0.5", true),
            ("ratio eq true", false),
            ("count pr and ratio pr", true),
            ("missing pr", false),
            ("things.count eq 42", true),
        ];
        for (input, expected) in cases {
            let filter = parse_filter(input).unwrap();
            assert_eq!(
                matches_element(&filter, &element, &complex),
                expected,
                "{input}"
            );
        }
        // Large integers compare exactly.
        let big = json!({"count": u64::MAX});
        let f = parse_filter("count gt 18446744073709551614").unwrap();
        assert!(matches_element(&f, &big, &complex));
    }

    #[test]
    fn matches_element_on_schema_attributes() {
        let rt = &Registry::get().user;
        let emails = rt.core_attribute("emails").unwrap();
        let element = json!({"value": "A@B.c", "type": "work", "primary": true});
        let cases = [
            (r#"type eq "work""#, true),
            (r#"TYPE eq "WORK""#, true),
            (r#"type eq "work" and value eq "a@b.c""#, true),
            (r#"type eq "home" or primary eq true"#, true),
            (r#"not (type eq "work")"#, false),
            (r#"display ne "x""#, true),
            (r#"nosuch eq "x""#, false),
            (r#"emails.type eq "work""#, true),
            (r#"ims.type eq "work""#, false),
        ];
        for (input, expected) in cases {
            let filter = parse_filter(input).unwrap();
            assert_eq!(
                matches_element(&filter, &element, emails),
                expected,
                "{input}"
            );
        }
        // A multi-valued simple attribute: `value` is the element itself.
        let schemas = schemas_attribute();
        let f = parse_filter(r#"value eq "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER""#).unwrap();
        assert!(matches_element(
            &f,
            &json!("urn:ietf:params:scim:schemas:core:2.0:User"),
            schemas
        ));
        let f = parse_filter(r#"type eq "x""#).unwrap();
        assert!(!matches_element(&f, &json!("x"), schemas));
    }

    #[test]
    fn groups() {
        let rt = &Registry::get().group;
        let group = json!({
            "displayName": "Admins",
            "members": [{"value": "u1", "display": "Alice"}, {"value": "u2"}]
        });
        let cases = [
            (r#"displayName eq "admins""#, true),
            (r#"members[value eq "u2"]"#, true),
            (r#"members[value eq "u3"]"#, false),
            (r#"members eq "u1""#, true),
            (r#"members.display co "ali""#, true),
        ];
        for (input, expected) in cases {
            let filter = parse_filter(input).unwrap();
            assert_eq!(matches(&filter, &group, rt), expected, "{input}");
        }
    }
}
