//! Default user configurations, the domain side: which configuration a new user gets is
//! decided by the store ([`crate::store::Store::configuration_for_user`]); this module reads
//! the user's `configurationFilter` and writes what was applied into the SCIM document, as
//! the read-only scimd extension. No SQL and no HTTP here.

use serde_json::{Map, Value};

/// The schema URN of the scimd extension on User (read-only: set by the server).
pub const SCIMD_USER_EXTENSION: &str = crate::schema::SCIMD_USER_SCHEMA;

/// The schema URN of the MediusFlow extension that carries `configurationFilter`.
pub const MEDIUS_USER_EXTENSION: &str = crate::schema::MEDIUS_USER_SCHEMA;

/// A configuration as applied to one user: names, not ids, so that it still reads the
/// same after a company or role is renamed or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedConfiguration {
    pub name: String,
    pub company: String,
    pub roles: Vec<String>,
    pub locale: Option<String>,
    pub language: Option<String>,
    pub time_zone: Option<String>,
}

impl AppliedConfiguration {
    /// The extension object as it appears on the User resource.
    pub fn to_extension(&self) -> Value {
        let mut ext = Map::new();
        ext.insert("configuration".into(), Value::String(self.name.clone()));
        ext.insert("company".into(), Value::String(self.company.clone()));
        ext.insert(
            "roles".into(),
            Value::Array(self.roles.iter().cloned().map(Value::String).collect()),
        );
        for (key, value) in [
            ("locale", &self.locale),
            ("language", &self.language),
            ("timeZone", &self.time_zone),
        ] {
            if let Some(v) = value {
                ext.insert(key.into(), Value::String(v.clone()));
            }
        }
        Value::Object(ext)
    }
}

/// Writes the applied configuration into a User document: the scimd extension object
/// (replacing any value a client sent, since it is read-only) and its URN in `schemas`.
/// Does nothing if `doc` is not a JSON object.
pub fn apply(doc: &mut Value, applied: &AppliedConfiguration) {
    insert_extension(doc, applied.to_extension());
}

/// Keeps what was applied when a client replaces or patches a user: the stored scimd
/// extension of `previous` is copied onto `next` (whatever the client sent is dropped).
pub fn carry_over(previous: &Value, next: &mut Value) {
    strip(next);
    if let Some(ext) = previous.get(SCIMD_USER_EXTENSION) {
        insert_extension(next, ext.clone());
    }
}

fn insert_extension(doc: &mut Value, ext: Value) {
    let Some(obj) = doc.as_object_mut() else {
        return;
    };
    obj.insert(SCIMD_USER_EXTENSION.to_string(), ext);
    let schemas = obj
        .entry("schemas")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !schemas.is_array() {
        *schemas = Value::Array(Vec::new());
    }
    if let Value::Array(list) = schemas {
        if !list
            .iter()
            .any(|s| s.as_str() == Some(SCIMD_USER_EXTENSION))
        {
            list.push(Value::String(SCIMD_USER_EXTENSION.to_string()));
        }
    }
}

/// Removes the scimd extension and its schema URN from a document (for example from what
/// a client sent, before the server applies its own).
pub fn strip(doc: &mut Value) {
    let Some(obj) = doc.as_object_mut() else {
        return;
    };
    obj.remove(SCIMD_USER_EXTENSION);
    if let Some(Value::Array(list)) = obj.get_mut("schemas") {
        list.retain(|s| s.as_str() != Some(SCIMD_USER_EXTENSION));
    }
}

/// The user's MediusFlow `configurationFilter`, if it is a string.
pub fn configuration_filter(doc: &Value) -> Option<&str> {
    doc.get(MEDIUS_USER_EXTENSION)?
        .get("configurationFilter")?
        .as_str()
}

/// Case folding used for configuration filters and company/role names.
pub fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn applied() -> AppliedConfiguration {
        AppliedConfiguration {
            name: "Nordic".into(),
            company: "Acme AB".into(),
            roles: vec!["Approver".into(), "Requester".into()],
            locale: Some("sv-SE".into()),
            language: None,
            time_zone: Some("Europe/Stockholm".into()),
        }
    }

    #[test]
    fn carry_over_keeps_the_applied_configuration() {
        let mut previous =
            json!({"userName": "a", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]});
        apply(
            &mut previous,
            &AppliedConfiguration {
                name: "Finance".into(),
                company: "Contoso".into(),
                roles: vec![],
                locale: None,
                language: None,
                time_zone: None,
            },
        );
        let mut next =
            json!({"userName": "b", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]});
        carry_over(&previous, &mut next);
        assert_eq!(next[SCIMD_USER_EXTENSION]["company"], "Contoso");
        assert_eq!(next["schemas"][1], SCIMD_USER_EXTENSION);
        let mut plain = json!({"userName": "c", SCIMD_USER_EXTENSION: {"company": "forged"}});
        carry_over(&json!({"userName": "c"}), &mut plain);
        assert!(plain.get(SCIMD_USER_EXTENSION).is_none());
    }

    #[test]
    fn apply_writes_extension_and_schema() {
        let mut doc = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "a@example.com"
        });
        apply(&mut doc, &applied());
        assert_eq!(
            doc[SCIMD_USER_EXTENSION],
            json!({
                "configuration": "Nordic",
                "company": "Acme AB",
                "roles": ["Approver", "Requester"],
                "locale": "sv-SE",
                "timeZone": "Europe/Stockholm"
            })
        );
        assert_eq!(
            doc["schemas"],
            json!([
                "urn:ietf:params:scim:schemas:core:2.0:User",
                SCIMD_USER_EXTENSION
            ])
        );
        assert!(doc[SCIMD_USER_EXTENSION].get("language").is_none());
    }

    #[test]
    fn apply_is_idempotent_and_replaces_client_values() {
        let mut doc = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", SCIMD_USER_EXTENSION],
            SCIMD_USER_EXTENSION: {"company": "Forged", "roles": ["Admin"]}
        });
        apply(&mut doc, &applied());
        apply(&mut doc, &applied());
        assert_eq!(doc["schemas"].as_array().map(Vec::len), Some(2));
        assert_eq!(doc[SCIMD_USER_EXTENSION]["company"], "Acme AB");
        assert_eq!(
            doc[SCIMD_USER_EXTENSION]["roles"],
            json!(["Approver", "Requester"])
        );
    }

    #[test]
    fn apply_adds_schemas_when_missing_and_ignores_non_objects() {
        let mut doc = json!({"userName": "x"});
        apply(&mut doc, &applied());
        assert_eq!(doc["schemas"], json!([SCIMD_USER_EXTENSION]));
        let mut not_object = json!([1, 2]);
        apply(&mut not_object, &applied());
        assert_eq!(not_object, json!([1, 2]));
    }

    #[test]
    fn apply_with_no_roles_writes_empty_list() {
        let mut doc = json!({"schemas": []});
        let mut a = applied();
        a.roles.clear();
        a.locale = None;
        a.time_zone = None;
        apply(&mut doc, &a);
        assert_eq!(
            doc[SCIMD_USER_EXTENSION],
            json!({"configuration": "Nordic", "company": "Acme AB", "roles": []})
        );
    }

    #[test]
    fn strip_removes_extension() {
        let mut doc = json!({"schemas": ["core", SCIMD_USER_EXTENSION], SCIMD_USER_EXTENSION: {}});
        strip(&mut doc);
        assert_eq!(doc, json!({"schemas": ["core"]}));
    }

    #[test]
    fn reads_configuration_filter() {
        let doc = json!({MEDIUS_USER_EXTENSION: {"configurationFilter": "nordic"}});
        assert_eq!(configuration_filter(&doc), Some("nordic"));
        assert_eq!(configuration_filter(&json!({})), None);
        assert_eq!(
            configuration_filter(&json!({MEDIUS_USER_EXTENSION: {"configurationFilter": 3}})),
            None
        );
        assert_eq!(
            configuration_filter(&json!({MEDIUS_USER_EXTENSION: "x"})),
            None
        );
    }

    #[test]
    fn folds() {
        assert_eq!(fold("  Nordic "), "nordic");
        assert_eq!(fold("ÅRE"), "åre");
    }
}
