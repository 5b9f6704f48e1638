//! Discovery endpoints (RFC 7644 §4): ServiceProviderConfig, Schemas, ResourceTypes, built
//! from the schema registry and the server's real limits. Other methods get 405; `/Me` and
//! `/Bulk` 501.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::auth::authenticate;
use super::scim::MAX_RESULTS;
use super::{scim_json, AppState};
use crate::error::ScimError;
use crate::representation::list_response;
use crate::schema::{Registry, ResourceType};

/// A SCIM 405 for a method the resource does not have (after authenticating, so that an
/// unknown tenant still looks like any other 401).
pub(super) async fn method_not_allowed(
    state: &AppState,
    req: &HttpRequest,
    tenant: &str,
) -> Result<HttpResponse, ScimError> {
    authenticate(state, req, tenant).await?;
    Err(ScimError::method_not_allowed(format!(
        "{} is not allowed on {}",
        req.method(),
        req.path()
    )))
}

pub(super) async fn not_implemented(
    state: &AppState,
    req: &HttpRequest,
    tenant: &str,
) -> Result<HttpResponse, ScimError> {
    authenticate(state, req, tenant).await?;
    Err(ScimError::not_implemented(format!(
        "{} is not supported by this server",
        req.path()
    )))
}

/// The ServiceProviderConfig document for a tenant's base URL.
pub fn service_provider_config_document(base_url: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/scimd/scimd",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a scimd secret token sent as 'Authorization: Bearer <token>'",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig")
        }
    })
}

pub(super) async fn service_provider_config(
    state: &AppState,
    req: &HttpRequest,
    tenant: &str,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(state, req, tenant).await?;
    Ok(scim_json(
        StatusCode::OK,
        &service_provider_config_document(ctx.base_url()),
    ))
}

fn schema_document(doc: &Value, base_url: &str) -> Value {
    let mut doc = doc.clone();
    if let Some(id) = doc.get("id").and_then(Value::as_str).map(str::to_string) {
        doc["meta"] = json!({
            "resourceType": "Schema",
            "location": format!("{base_url}/Schemas/{id}")
        });
    }
    doc
}

pub(super) async fn schemas(
    state: &AppState,
    req: &HttpRequest,
    tenant: &str,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(state, req, tenant).await?;
    let docs: Vec<Value> = Registry::get()
        .schemas
        .iter()
        .map(|s| schema_document(&s.document, ctx.base_url()))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &list_response(docs.len() as i64, 1, docs),
    ))
}

pub(super) async fn schema(
    state: &AppState,
    req: &HttpRequest,
    tenant: &str,
    id: &str,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(state, req, tenant).await?;
    let s = Registry::get()
        .schema(id)
        .ok_or_else(|| ScimError::not_found(format!("no schema '{id}'")))?;
    Ok(scim_json(
        StatusCode::OK,
        &schema_document(&s.document, ctx.base_url()),
    ))
}

fn resource_type_document(rt: &ResourceType, base_url: &str) -> Value {
    let extensions: Vec<Value> = rt
        .extensions
        .iter()
        .filter(|e| !e.server_managed)
        .map(|e| json!({"schema": e.schema.id, "required": e.required}))
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": rt.name,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": rt.description,
        "schema": rt.schema.id,
        "schemaExtensions": extensions,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base_url}/ResourceTypes/{}", rt.name)
        }
    })
}

pub(super) async fn resource_types(
    state: &AppState,
    req: &HttpRequest,
    tenant: &str,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(state, req, tenant).await?;
    let reg = Registry::get();
    let docs = vec![
        resource_type_document(&reg.user, ctx.base_url()),
        resource_type_document(&reg.group, ctx.base_url()),
    ];
    Ok(scim_json(StatusCode::OK, &list_response(2, 1, docs)))
}

pub(super) async fn resource_type(
    state: &AppState,
    req: &HttpRequest,
    tenant: &str,
    id: &str,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(state, req, tenant).await?;
    let reg = Registry::get();
    let rt = [&reg.user, &reg.group]
        .into_iter()
        .find(|rt| rt.name.eq_ignore_ascii_case(id))
        .ok_or_else(|| ScimError::not_found(format!("no resource type '{id}'")))?;
    Ok(scim_json(
        StatusCode::OK,
        &resource_type_document(rt, ctx.base_url()),
    ))
}
