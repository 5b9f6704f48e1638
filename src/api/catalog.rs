//! Admin API: companies, roles and default user configurations of the session's tenant.
//! Writes go through the same shared operations as the console pages (role check,
//! store call, audit entry).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{session, session_with_csrf, ApiError, ApiResult};
use crate::admin;
use crate::error::ScimError;
use crate::http::{blocking, AppState};
use crate::store::configurations::{Catalog, ConfigurationInput, ConfigurationRecord, NamedRecord};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/companies", web::get().to(list_companies))
        .route("/companies", web::post().to(add_company))
        .route("/companies/{id}", web::put().to(rename_company))
        .route("/companies/{id}", web::delete().to(delete_company))
        .route("/roles", web::get().to(list_roles))
        .route("/roles", web::post().to(add_role))
        .route("/roles/{id}", web::put().to(rename_role))
        .route("/roles/{id}", web::delete().to(delete_role))
        .route("/configurations", web::get().to(list_configurations))
        .route("/configurations", web::post().to(add_configuration))
        .route("/configurations/{id}", web::put().to(update_configuration))
        .route(
            "/configurations/{id}",
            web::delete().to(delete_configuration),
        )
        .route("/configurations/{id}/default", web::post().to(make_default));
}

/// A company or a role.
#[derive(Debug, Serialize, ToSchema)]
pub struct NamedInfo {
    pub id: String,
    pub name: String,
}

impl From<NamedRecord> for NamedInfo {
    fn from(r: NamedRecord) -> Self {
        NamedInfo {
            id: r.id,
            name: r.name,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NameRequest {
    pub name: String,
}

// ---------------------------------------------------------------- companies and roles

async fn list(state: &AppState, req: &HttpRequest, catalog: Catalog) -> ApiResult<HttpResponse> {
    let c = session(state, req).await?;
    let store = state.store.clone();
    let rows = blocking(move || store.list_named(&c.session.tenant_id, catalog)).await?;
    let out: Vec<NamedInfo> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(out))
}

async fn add(
    state: &AppState,
    req: &HttpRequest,
    catalog: Catalog,
    body: NameRequest,
) -> ApiResult<HttpResponse> {
    let c = session_with_csrf(state, req).await?;
    let store = state.store.clone();
    let now = state.now();
    let record =
        blocking(move || admin::add_named(&store, &c.session, catalog, &body.name, now)).await?;
    Ok(HttpResponse::Created().json(NamedInfo::from(record)))
}

async fn rename(
    state: &AppState,
    req: &HttpRequest,
    catalog: Catalog,
    id: String,
    body: NameRequest,
) -> ApiResult<HttpResponse> {
    let c = session_with_csrf(state, req).await?;
    let store = state.store.clone();
    let now = state.now();
    let record =
        blocking(move || admin::rename_named(&store, &c.session, catalog, &id, &body.name, now))
            .await?;
    Ok(HttpResponse::Ok().json(NamedInfo::from(record)))
}

async fn delete(
    state: &AppState,
    req: &HttpRequest,
    catalog: Catalog,
    id: String,
) -> ApiResult<HttpResponse> {
    let c = session_with_csrf(state, req).await?;
    let store = state.store.clone();
    let now = state.now();
    blocking(move || admin::delete_named(&store, &c.session, catalog, &id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The tenant's companies, by name.
#[utoipa::path(get, path = "/api/v1/companies", responses((status = 200, body = [NamedInfo]), (status = 401, body = ApiError)))]
pub(super) async fn list_companies(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    list(&state, &req, Catalog::Companies).await
}

/// Adds a company (owners and admins); a name already used (ignoring case) is 409.
#[utoipa::path(post, path = "/api/v1/companies", request_body = NameRequest, responses((status = 201, body = NamedInfo), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError)))]
pub(super) async fn add_company(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<NameRequest>,
) -> ApiResult<HttpResponse> {
    add(&state, &req, Catalog::Companies, body.into_inner()).await
}

/// Renames a company (owners and admins).
#[utoipa::path(put, path = "/api/v1/companies/{id}", request_body = NameRequest, params(("id" = String, Path, description = "company id")), responses((status = 200, body = NamedInfo), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub(super) async fn rename_company(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<NameRequest>,
) -> ApiResult<HttpResponse> {
    rename(
        &state,
        &req,
        Catalog::Companies,
        path.into_inner(),
        body.into_inner(),
    )
    .await
}

/// Deletes a company (owners and admins); refused (400) while a configuration uses it.
#[utoipa::path(delete, path = "/api/v1/companies/{id}", params(("id" = String, Path, description = "company id")), responses((status = 204), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub(super) async fn delete_company(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    delete(&state, &req, Catalog::Companies, path.into_inner()).await
}

/// The tenant's roles, by name.
#[utoipa::path(get, path = "/api/v1/roles", responses((status = 200, body = [NamedInfo]), (status = 401, body = ApiError)))]
pub(super) async fn list_roles(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    list(&state, &req, Catalog::Roles).await
}

/// Adds a role (owners and admins); a name already used (ignoring case) is 409.
#[utoipa::path(post, path = "/api/v1/roles", request_body = NameRequest, responses((status = 201, body = NamedInfo), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError)))]
pub(super) async fn add_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<NameRequest>,
) -> ApiResult<HttpResponse> {
    add(&state, &req, Catalog::Roles, body.into_inner()).await
}

/// Renames a role (owners and admins).
#[utoipa::path(put, path = "/api/v1/roles/{id}", request_body = NameRequest, params(("id" = String, Path, description = "role id")), responses((status = 200, body = NamedInfo), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub(super) async fn rename_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<NameRequest>,
) -> ApiResult<HttpResponse> {
    rename(
        &state,
        &req,
        Catalog::Roles,
        path.into_inner(),
        body.into_inner(),
    )
    .await
}

/// Deletes a role (owners and admins); refused (400) while a configuration uses it.
#[utoipa::path(delete, path = "/api/v1/roles/{id}", params(("id" = String, Path, description = "role id")), responses((status = 204), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub(super) async fn delete_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    delete(&state, &req, Catalog::Roles, path.into_inner()).await
}

// ---------------------------------------------------------------- configurations

/// A default user configuration with its company and roles.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfigurationInfo {
    pub id: String,
    pub name: String,
    pub company_id: String,
    pub company: String,
    pub roles: Vec<NamedInfo>,
    pub locale: Option<String>,
    pub language: Option<String>,
    pub time_zone: Option<String>,
    /// Users whose configurationFilter equals this (ignoring case) get this configuration.
    pub filter: Option<String>,
    pub is_default: bool,
    pub created_at: String,
}

impl From<ConfigurationRecord> for ConfigurationInfo {
    fn from(c: ConfigurationRecord) -> Self {
        ConfigurationInfo {
            id: c.id,
            name: c.name,
            company_id: c.company_id,
            company: c.company,
            roles: c.roles.into_iter().map(Into::into).collect(),
            locale: c.locale,
            language: c.language,
            time_zone: c.time_zone,
            filter: c.filter,
            is_default: c.is_default,
            created_at: c.created_at,
        }
    }
}

/// A configuration being added or replaced.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ConfigurationRequest {
    pub name: String,
    pub company_id: String,
    #[serde(default)]
    pub role_ids: Vec<String>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub is_default: bool,
}

impl From<ConfigurationRequest> for ConfigurationInput {
    fn from(r: ConfigurationRequest) -> Self {
        ConfigurationInput {
            name: r.name,
            company_id: r.company_id,
            role_ids: r.role_ids,
            locale: r.locale,
            language: r.language,
            time_zone: r.time_zone,
            filter: r.filter,
            is_default: r.is_default,
        }
    }
}

/// The tenant's configurations, oldest first.
#[utoipa::path(get, path = "/api/v1/configurations", responses((status = 200, body = [ConfigurationInfo]), (status = 401, body = ApiError)))]
pub(super) async fn list_configurations(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let c = session(&state, &req).await?;
    let store = state.store.clone();
    let rows = blocking(move || store.list_configurations(&c.session.tenant_id)).await?;
    let out: Vec<ConfigurationInfo> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Adds a configuration (owners and admins). The tenant's first one becomes the default.
#[utoipa::path(post, path = "/api/v1/configurations", request_body = ConfigurationRequest, responses((status = 201, body = ConfigurationInfo), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError)))]
pub(super) async fn add_configuration(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ConfigurationRequest>,
) -> ApiResult<HttpResponse> {
    let c = session_with_csrf(&state, &req).await?;
    let store = state.store.clone();
    let now = state.now();
    let input = ConfigurationInput::from(body.into_inner());
    let record =
        blocking(move || admin::add_configuration(&store, &c.session, &input, now)).await?;
    Ok(HttpResponse::Created().json(ConfigurationInfo::from(record)))
}

/// Replaces a configuration's fields and roles (owners and admins). The default flag
/// cannot be cleared from the default: make another configuration the default instead.
#[utoipa::path(put, path = "/api/v1/configurations/{id}", request_body = ConfigurationRequest, params(("id" = String, Path, description = "configuration id")), responses((status = 200, body = ConfigurationInfo), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
pub(super) async fn update_configuration(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<ConfigurationRequest>,
) -> ApiResult<HttpResponse> {
    let c = session_with_csrf(&state, &req).await?;
    let store = state.store.clone();
    let now = state.now();
    let id = path.into_inner();
    let input = ConfigurationInput::from(body.into_inner());
    let record =
        blocking(move || admin::update_configuration(&store, &c.session, &id, &input, now)).await?;
    Ok(HttpResponse::Ok().json(ConfigurationInfo::from(record)))
}

/// Deletes a configuration (owners and admins); if it was the default, the oldest
/// remaining one becomes the default.
#[utoipa::path(delete, path = "/api/v1/configurations/{id}", params(("id" = String, Path, description = "configuration id")), responses((status = 204), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub(super) async fn delete_configuration(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let c = session_with_csrf(&state, &req).await?;
    let store = state.store.clone();
    let now = state.now();
    let id = path.into_inner();
    blocking(move || admin::delete_configuration(&store, &c.session, &id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Makes a configuration the tenant's only default (owners and admins).
#[utoipa::path(post, path = "/api/v1/configurations/{id}/default", params(("id" = String, Path, description = "configuration id")), responses((status = 200, body = ConfigurationInfo), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub(super) async fn make_default(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let c = session_with_csrf(&state, &req).await?;
    let store = state.store.clone();
    let now = state.now();
    let id = path.into_inner();
    let record = blocking(move || {
        admin::set_default_configuration(&store, &c.session, &id, now)?;
        store
            .get_configuration(&c.session.tenant_id, &id)?
            .ok_or_else(|| ScimError::not_found("Configuration not found"))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ConfigurationInfo::from(record)))
}
