//! SCIM schemas (RFC 7643 §7) read from `schemas/*.json`: the one source of truth for what
//! the server accepts, validates, returns and filters on. `/Schemas` serves these documents
//! as they are, and every rule (type, multiValued, mutability, returned, uniqueness,
//! caseExact) is read from them here.

use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::filter::AttrPath;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const MEDIUS_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:medius:2.0:User";
pub const SCIMD_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:scimd:2.0:User";
/// The non-standard group schema URI Entra sends; accepted and ignored.
pub const MS_ADSCIM_GROUP_SCHEMA: &str =
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

/// The schema documents, compiled into the binary.
const SCHEMA_FILES: &[&str] = &[
    include_str!("../schemas/User.json"),
    include_str!("../schemas/EnterpriseUser.json"),
    include_str!("../schemas/MediusUser.json"),
    include_str!("../schemas/ScimdUser.json"),
    include_str!("../schemas/Group.json"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

/// One attribute definition (RFC 7643 §7).
#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub attr_type: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: Vec<String>,
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// The sub-attribute named `name` (case-insensitive).
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn from_json(v: &Value) -> Result<Attribute, String> {
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        let b = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        let name = s("name").ok_or("attribute without name")?.to_string();
        let attr_type = match s("type").unwrap_or("string") {
            "string" => AttrType::String,
            "boolean" => AttrType::Boolean,
            "decimal" => AttrType::Decimal,
            "integer" => AttrType::Integer,
            "dateTime" => AttrType::DateTime,
            "binary" => AttrType::Binary,
            "reference" => AttrType::Reference,
            "complex" => AttrType::Complex,
            other => return Err(format!("{name}: unknown type {other}")),
        };
        let mutability = match s("mutability").unwrap_or("readWrite") {
            "readOnly" => Mutability::ReadOnly,
            "readWrite" => Mutability::ReadWrite,
            "immutable" => Mutability::Immutable,
            "writeOnly" => Mutability::WriteOnly,
            other => return Err(format!("{name}: unknown mutability {other}")),
        };
        let returned = match s("returned").unwrap_or("default") {
            "always" => Returned::Always,
            "never" => Returned::Never,
            "default" => Returned::Default,
            "request" => Returned::Request,
            other => return Err(format!("{name}: unknown returned {other}")),
        };
        let uniqueness = match s("uniqueness").unwrap_or("none") {
            "none" => Uniqueness::None,
            "server" => Uniqueness::Server,
            "global" => Uniqueness::Global,
            other => return Err(format!("{name}: unknown uniqueness {other}")),
        };
        let sub_attributes = match v.get("subAttributes").and_then(Value::as_array) {
            Some(subs) => subs
                .iter()
                .map(Attribute::from_json)
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let canonical_values = v
            .get("canonicalValues")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Attribute {
            name,
            attr_type,
            multi_valued: b("multiValued"),
            required: b("required"),
            case_exact: b("caseExact"),
            mutability,
            returned,
            uniqueness,
            canonical_values,
            sub_attributes,
        })
    }

    fn simple(
        name: &str,
        attr_type: AttrType,
        case_exact: bool,
        mutability: Mutability,
        returned: Returned,
    ) -> Attribute {
        Attribute {
            name: name.to_string(),
            attr_type,
            multi_valued: false,
            required: false,
            case_exact,
            mutability,
            returned,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }
}

/// One schema document.
#[derive(Debug, Clone)]
pub struct Schema {
    pub id: String,
    pub name: String,
    pub attributes: Vec<Attribute>,
    /// The document as served by `/Schemas`.
    pub document: Value,
}

impl Schema {
    fn from_json(document: Value) -> Result<Schema, String> {
        let id = document
            .get("id")
            .and_then(Value::as_str)
            .ok_or("schema without id")?
            .to_string();
        let name = document
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let attributes = document
            .get("attributes")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{id}: no attributes"))?
            .iter()
            .map(Attribute::from_json)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{id}: {e}"))?;
        Ok(Schema {
            id,
            name,
            attributes,
            document,
        })
    }

    /// The top-level attribute named `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// An extension schema attached to a resource type.
#[derive(Debug, Clone)]
pub struct SchemaExtension {
    pub schema: Arc<Schema>,
    pub required: bool,
    /// Written only by the server (every attribute readOnly): served in `/Schemas` and on
    /// resources, but not offered to clients in `/ResourceTypes` `schemaExtensions`, so that
    /// generic clients do not try to write it.
    pub server_managed: bool,
}

/// A resource type (RFC 7643 §6): `User` or `Group`.
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub name: &'static str,
    pub endpoint: &'static str,
    pub description: &'static str,
    pub schema: Arc<Schema>,
    pub extensions: Vec<SchemaExtension>,
    /// The common attributes of RFC 7643 §3.1 (`id`, `externalId`, `meta`), which no
    /// schema document lists.
    pub common: Vec<Attribute>,
}

/// Where a resolved attribute lives in a resource document.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedAttr<'a> {
    /// `None` for core and common attributes; the extension's schema for extension ones
    /// (the attribute sits under the URN key in the document).
    pub extension: Option<&'a Schema>,
    pub attr: &'a Attribute,
    pub sub: Option<&'a Attribute>,
}

impl ResolvedAttr<'_> {
    /// The attribute that the path finally designates (the sub-attribute if any).
    pub fn target(&self) -> &Attribute {
        self.sub.unwrap_or(self.attr)
    }

    /// The canonical dotted name, e.g. `name.givenName` or
    /// `urn:…:enterprise:2.0:User:manager.value`.
    pub fn canonical(&self) -> String {
        let mut s = String::new();
        if let Some(ext) = self.extension {
            s.push_str(&ext.id);
            s.push(':');
        }
        s.push_str(&self.attr.name);
        if let Some(sub) = self.sub {
            s.push('.');
            s.push_str(&sub.name);
        }
        s
    }
}

impl ResourceType {
    /// All schemas of this type: core first, then extensions.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        std::iter::once(self.schema.as_ref())
            .chain(self.extensions.iter().map(|e| e.schema.as_ref()))
    }

    /// The extension whose URN is `urn` (case-insensitive).
    pub fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extensions
            .iter()
            .map(|e| e.schema.as_ref())
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// True if `urn` is the core schema or one of the extensions of this type.
    pub fn knows_schema(&self, urn: &str) -> bool {
        self.schema.id.eq_ignore_ascii_case(urn) || self.extension(urn).is_some()
    }

    /// Resolves a top-level attribute name (no URN) in the core schema or the common
    /// attributes.
    pub fn core_attribute(&self, name: &str) -> Option<&Attribute> {
        self.schema.attribute(name).or_else(|| {
            self.common
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
        })
    }

    /// Resolves an attribute path against this type's schemas, case-insensitively.
    ///
    /// Accepts `name`, `name.sub`, `urn:…:name[.sub]`, and the dotted extension form Entra
    /// sometimes sends (`urn:…:2.0:User.manager`, parsed as URN `urn:…:2.0`, name `User`,
    /// sub `manager`).
    pub fn resolve(&self, path: &AttrPath) -> Option<ResolvedAttr<'_>> {
        let (extension, attr) = match &path.urn {
            None => (None, self.core_attribute(&path.name)?),
            Some(urn) if self.schema.id.eq_ignore_ascii_case(urn) => {
                (None, self.schema.attribute(&path.name)?)
            }
            Some(urn) => match self.extension(urn) {
                Some(ext) => (Some(ext), ext.attribute(&path.name)?),
                None => {
                    // `urn:…:2.0:User.manager`: the URN's last segment was read as the name.
                    let full = format!("{urn}:{}", path.name);
                    let ext = self.extension(&full)?;
                    let name = path.sub_attr.as_deref()?;
                    let attr = ext.attribute(name)?;
                    return Some(ResolvedAttr {
                        extension: Some(ext),
                        attr,
                        sub: None,
                    });
                }
            },
        };
        let sub = match &path.sub_attr {
            None => None,
            Some(sub) => Some(attr.sub_attribute(sub)?),
        };
        Some(ResolvedAttr {
            extension,
            attr,
            sub,
        })
    }
}

/// Every schema and resource type the server serves.
#[derive(Debug)]
pub struct Registry {
    pub schemas: Vec<Arc<Schema>>,
    pub user: ResourceType,
    pub group: ResourceType,
}

impl Registry {
    /// The registry built from the compiled-in schema files (built once).
    pub fn get() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(|| Registry::load().expect("schemas/*.json are valid"))
    }

    fn load() -> Result<Registry, String> {
        let schemas: Vec<Arc<Schema>> = SCHEMA_FILES
            .iter()
            .map(|text| {
                let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
                Schema::from_json(doc).map(Arc::new)
            })
            .collect::<Result<_, _>>()?;
        let find = |id: &str| {
            schemas
                .iter()
                .find(|s| s.id == id)
                .cloned()
                .ok_or_else(|| format!("schema {id} missing"))
        };
        let ext = |id: &str| -> Result<SchemaExtension, String> {
            let schema = find(id)?;
            let server_managed = schema
                .attributes
                .iter()
                .all(|a| a.mutability == Mutability::ReadOnly);
            Ok(SchemaExtension {
                schema,
                required: false,
                server_managed,
            })
        };
        let user = ResourceType {
            name: "User",
            endpoint: "/Users",
            description: "User Account",
            schema: find(USER_SCHEMA)?,
            extensions: vec![
                ext(ENTERPRISE_USER_SCHEMA)?,
                ext(MEDIUS_USER_SCHEMA)?,
                ext(SCIMD_USER_SCHEMA)?,
            ],
            common: common_attributes(),
        };
        let group = ResourceType {
            name: "Group",
            endpoint: "/Groups",
            description: "Group",
            schema: find(GROUP_SCHEMA)?,
            extensions: vec![],
            common: common_attributes(),
        };
        Ok(Registry {
            schemas,
            user,
            group,
        })
    }

    /// The schema with this id (case-insensitive).
    pub fn schema(&self, id: &str) -> Option<&Arc<Schema>> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(id))
    }
}

/// RFC 7643 §3.1 common attributes.
fn common_attributes() -> Vec<Attribute> {
    use AttrType::*;
    use Mutability::*;
    let mut meta = Attribute::simple("meta", Complex, false, ReadOnly, Returned::Default);
    meta.sub_attributes = vec![
        Attribute::simple("resourceType", String, true, ReadOnly, Returned::Default),
        Attribute::simple("created", DateTime, false, ReadOnly, Returned::Default),
        Attribute::simple("lastModified", DateTime, false, ReadOnly, Returned::Default),
        Attribute::simple("location", Reference, true, ReadOnly, Returned::Default),
        Attribute::simple("version", String, true, ReadOnly, Returned::Default),
    ];
    let mut id = Attribute::simple("id", String, true, ReadOnly, Returned::Always);
    id.uniqueness = Uniqueness::Server;
    vec![
        id,
        Attribute::simple("externalId", String, true, ReadWrite, Returned::Default),
        meta,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::AttrPath;

    fn path(urn: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            urn: urn.map(str::to_string),
            name: name.to_string(),
            sub_attr: sub.map(str::to_string),
        }
    }

    #[test]
    fn schemas_load_and_user_name_is_case_insensitive_and_unique() {
        let reg = Registry::get();
        let user_name = reg.user.schema.attribute("USERNAME").unwrap();
        assert_eq!(user_name.name, "userName");
        assert!(!user_name.case_exact);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        let password = reg.user.schema.attribute("password").unwrap();
        assert_eq!(password.returned, Returned::Never);
    }

    #[test]
    fn resolves_core_extension_and_common_paths() {
        let u = &Registry::get().user;
        let r = u.resolve(&path(None, "Name", Some("GIVENNAME"))).unwrap();
        assert_eq!(r.canonical(), "name.givenName");
        let r = u
            .resolve(&path(
                Some(ENTERPRISE_USER_SCHEMA),
                "manager",
                Some("value"),
            ))
            .unwrap();
        assert_eq!(
            r.canonical(),
            format!("{ENTERPRISE_USER_SCHEMA}:manager.value")
        );
        let r = u
            .resolve(&path(
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0"),
                "User",
                Some("manager"),
            ))
            .unwrap();
        assert_eq!(r.canonical(), format!("{ENTERPRISE_USER_SCHEMA}:manager"));
        let r = u
            .resolve(&path(None, "meta", Some("lastModified")))
            .unwrap();
        assert_eq!(r.target().attr_type, AttrType::DateTime);
        assert!(u.resolve(&path(None, "nosuch", None)).is_none());
        assert!(u
            .resolve(&path(Some(USER_SCHEMA), "userName", None))
            .is_some());
    }
}
