//! Admin API: the directory (users and groups as provisioned through SCIM), read-only,
//! searched and paginated in the database like the console's pages.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{session, ApiError, ApiResult};
use crate::admin;
use crate::error::ScimError;
use crate::http::{blocking, AppState};
use crate::representation::to_scim;
use crate::schema::Registry;

/// Most resources per page.
pub const MAX_COUNT: i64 = 200;
/// Resources per page when `count` is not given (as the console).
pub const DEFAULT_COUNT: i64 = crate::console::directory::PAGE_SIZE;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list_users))
        .route("/users/{id}", web::get().to(get_user))
        .route("/groups", web::get().to(list_groups));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Search text: contained in userName, displayName or an email (users), in
    /// displayName or externalId (groups); ignoring case.
    pub q: Option<String>,
    /// 1-based index of the first result (default 1).
    pub start_index: Option<i64>,
    /// Results per page (default 50, at most 200).
    pub count: Option<i64>,
}

/// One page of SCIM resources.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourcePage {
    pub total_results: i64,
    pub start_index: i64,
    pub items_per_page: i64,
    /// The SCIM documents (without members or groups).
    #[schema(value_type = Vec<Object>)]
    pub resources: Vec<Value>,
}

async fn list(
    state: &AppState,
    req: &HttpRequest,
    users: bool,
    params: ListParams,
) -> ApiResult<HttpResponse> {
    let c = session(state, req).await?;
    let base_url = state.settings.scim_url(&c.session.tenant_id);
    let store = state.store.clone();
    let q = params.q.unwrap_or_default();
    let start_index = params.start_index.unwrap_or(1).clamp(1, 1_000_000_000);
    let count = params.count.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_COUNT);
    let page = blocking(move || {
        admin::list_directory(&store, &c.session.tenant_id, users, &q, start_index, count)
    })
    .await?;
    let reg = Registry::get();
    let rt = if users { &reg.user } else { &reg.group };
    let resources: Vec<Value> = page
        .resources
        .into_iter()
        .map(|r| to_scim(rt, r, &base_url, None, None))
        .collect();
    Ok(HttpResponse::Ok().json(ResourcePage {
        total_results: page.total,
        start_index,
        items_per_page: resources.len() as i64,
        resources,
    }))
}

/// The tenant's users, sorted by userName.
#[utoipa::path(get, path = "/api/v1/users", params(ListParams), responses((status = 200, body = ResourcePage), (status = 401, body = ApiError)))]
pub(super) async fn list_users(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<ListParams>,
) -> ApiResult<HttpResponse> {
    list(&state, &req, true, params.into_inner()).await
}

/// The tenant's groups, sorted by displayName.
#[utoipa::path(get, path = "/api/v1/groups", params(ListParams), responses((status = 200, body = ResourcePage), (status = 401, body = ApiError)))]
pub(super) async fn list_groups(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<ListParams>,
) -> ApiResult<HttpResponse> {
    list(&state, &req, false, params.into_inner()).await
}

/// One user's SCIM document with its groups (another tenant's id: 404).
#[utoipa::path(get, path = "/api/v1/users/{id}", params(("id" = String, Path, description = "user id")), responses((status = 200, body = Object, description = "the SCIM User document"), (status = 404, body = ApiError)))]
pub(super) async fn get_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let c = session(&state, &req).await?;
    let base_url = state.settings.scim_url(&c.session.tenant_id);
    let store = state.store.clone();
    let id = path.into_inner();
    let doc = blocking(move || {
        let tenant = &c.session.tenant_id;
        let rt = &Registry::get().user;
        let r = store
            .get_resource(tenant, rt, &id)?
            .ok_or_else(|| ScimError::not_found("No such user"))?;
        let groups = store
            .groups_of(tenant, std::slice::from_ref(&r.id))?
            .remove(&r.id)
            .unwrap_or_default();
        Ok(to_scim(rt, r, &base_url, None, Some(&groups)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(doc))
}
