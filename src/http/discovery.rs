//! Discovery endpoints (RFC 7644 §4): ServiceProviderConfig, Schemas, ResourceTypes, built
//! from the schema registry and the server's real limits. Other methods get 405; `/Me` and
//! `/Bulk` 501.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::auth::{authenticate, TenantContext};
use super::scim::MAX_RESULTS;
use super::{scim_json, AppState};
use crate::error::ScimError;
use crate::representation::list_response;
use crate::schema::{Registry, ResourceType};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/ServiceProviderConfig")
            .route(web::get().to(service_provider_config))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/Schemas")
            .route(web::get().to(schemas))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/Schemas/{id}")
            .route(web::get().to(schema))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/ResourceTypes")
            .route(web::get().to(resource_types))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/ResourceTypes/{id}")
            .route(web::get().to(resource_type))
            .default_service(web::to(method_not_allowed)),
    )
    .service(web::resource("/Me").to(not_implemented))
    .service(web::resource("/Bulk").to(not_implemented));
}

async fn tenant_ctx(state: &AppState, req: &HttpRequest) -> Result<TenantContext, ScimError> {
    let tenant = req
        .match_info()
        .get("tenant")
        .unwrap_or_default()
        .to_string();
    authenticate(state, req, &tenant).await
}

/// A SCIM 405 for a method the resource does not have (after authenticating, so that an
/// unknown tenant still looks like any other 401).
pub(super) async fn method_not_allowed(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    tenant_ctx(&state, &req).await?;
    Err(ScimError::method_not_allowed(format!(
        "{} is not allowed on {}",
        req.method(),
        req.path()
    )))
}

async fn not_implemented(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    tenant_ctx(&state, &req).await?;
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

async fn service_provider_config(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    let ctx = tenant_ctx(&state, &req).await?;
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

async fn schemas(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ScimError> {
    let ctx = tenant_ctx(&state, &req).await?;
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

async fn schema(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ScimError> {
    let ctx = tenant_ctx(&state, &req).await?;
    let (_, id) = path.into_inner();
    let s = Registry::get()
        .schema(&id)
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

async fn resource_types(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    let ctx = tenant_ctx(&state, &req).await?;
    let reg = Registry::get();
    let docs = vec![
        resource_type_document(&reg.user, ctx.base_url()),
        resource_type_document(&reg.group, ctx.base_url()),
    ];
    Ok(scim_json(StatusCode::OK, &list_response(2, 1, docs)))
}

async fn resource_type(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ScimError> {
    let ctx = tenant_ctx(&state, &req).await?;
    let (_, id) = path.into_inner();
    let reg = Registry::get();
    let rt = [&reg.user, &reg.group]
        .into_iter()
        .find(|rt| rt.name.eq_ignore_ascii_case(&id))
        .ok_or_else(|| ScimError::not_found(format!("no resource type '{id}'")))?;
    Ok(scim_json(
        StatusCode::OK,
        &resource_type_document(rt, ctx.base_url()),
    ))
}
