//! The admin JSON API under `/api/v1`: the console's operations for scripts, authorised by
//! the console session cookie, with the session's CSRF token in an `X-CSRF-Token` header on
//! every state-changing request. Documented by `/api/v1/openapi.json`, generated from these
//! handlers with utoipa.

mod accounts;
mod catalog;
mod directory;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::{OpenApi, ToSchema};

use crate::admin::{self, TenantSettings};
use crate::console::{current_session, security_headers, Console};
use crate::error::ScimError;
use crate::http::{blocking, AppState};
use crate::store::console::ProvisioningEntry;
use crate::store::tenants::TokenRecord;

/// An API error: `{"status": 403, "error": "…"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    pub status: u16,
    pub error: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.error)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(self)
    }
}

impl From<ScimError> for ApiError {
    fn from(e: ScimError) -> Self {
        if e.status >= 500 {
            tracing::error!(detail = %e.detail, "admin API error");
        }
        ApiError {
            status: e.status,
            error: e.public_detail().to_string(),
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn unauthorized() -> ApiError {
    ApiError {
        status: 401,
        error: "Sign in to the console first (session cookie required)".into(),
    }
}

async fn session(state: &AppState, req: &HttpRequest) -> ApiResult<Console> {
    current_session(state, req)
        .await
        .map_err(|_| unauthorized())
}

/// For state-changing requests: the session plus a matching `X-CSRF-Token` header.
async fn session_with_csrf(state: &AppState, req: &HttpRequest) -> ApiResult<Console> {
    let console = session(state, req).await?;
    let presented = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if presented.is_empty()
        || !bool::from(
            presented
                .as_bytes()
                .ct_eq(console.session.csrf_token.as_bytes()),
        )
    {
        return Err(ApiError {
            status: 403,
            error: "Missing or wrong X-CSRF-Token header".into(),
        });
    }
    Ok(console)
}

pub fn scope() -> impl actix_web::dev::HttpServiceFactory {
    web::scope("/api/v1")
        .wrap(security_headers())
        .route("/openapi.json", web::get().to(openapi))
        .route("/session", web::get().to(get_session))
        .route("/tenant", web::get().to(get_tenant))
        .route("/tenant", web::put().to(put_tenant))
        .route("/tokens", web::get().to(list_tokens))
        .route("/tokens", web::post().to(create_token))
        .route("/tokens/{id}/revoke", web::post().to(revoke_token))
        .route("/provisioning-log", web::get().to(provisioning_log))
        .configure(catalog::configure)
        .configure(directory::configure)
        .configure(accounts::configure)
        .default_service(web::to(|| async {
            ApiError {
                status: 404,
                error: "No such API endpoint".into(),
            }
            .error_response()
        }))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "scimd admin API",
        description = "The console's operations as JSON. Authenticate by signing in to the console (session cookie); send the session's csrf_token (GET /api/v1/session) as X-CSRF-Token on POST/PUT/DELETE."
    ),
    paths(
        get_session,
        get_tenant,
        put_tenant,
        list_tokens,
        create_token,
        revoke_token,
        provisioning_log,
        catalog::list_companies,
        catalog::add_company,
        catalog::rename_company,
        catalog::delete_company,
        catalog::list_roles,
        catalog::add_role,
        catalog::rename_role,
        catalog::delete_role,
        catalog::list_configurations,
        catalog::add_configuration,
        catalog::update_configuration,
        catalog::delete_configuration,
        catalog::make_default,
        directory::list_users,
        directory::get_user,
        directory::list_groups,
        accounts::list_accounts,
        accounts::invite_account,
        accounts::remove_account,
        accounts::audit_log
    ),
    components(schemas(
        ApiError,
        SessionInfo,
        TenantInfo,
        TenantSettings,
        TokenInfo,
        NewTokenRequest,
        NewTokenResponse,
        RevokeRequest,
        ProvisioningEntry,
        catalog::NamedInfo,
        catalog::NameRequest,
        catalog::ConfigurationInfo,
        catalog::ConfigurationRequest,
        directory::ResourcePage,
        accounts::AccountInfo,
        accounts::InviteRequest,
        crate::store::console::LogEntry
    ))
)]
pub struct ApiDoc;

async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    pub tenant_id: String,
    pub email: String,
    pub role: String,
    pub csrf_token: String,
}

/// The signed-in account and the CSRF token for state-changing calls.
#[utoipa::path(get, path = "/api/v1/session", responses((status = 200, body = SessionInfo), (status = 401, body = ApiError)))]
async fn get_session(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let c = session(&state, &req).await?;
    Ok(HttpResponse::Ok().json(SessionInfo {
        tenant_id: c.session.tenant_id.clone(),
        email: c.session.email.clone(),
        role: c.role().as_str().into(),
        csrf_token: c.session.csrf_token.clone(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantInfo {
    pub id: String,
    pub name: String,
    pub entra_tenant_id: Option<String>,
    pub provisioning_enabled: bool,
    /// The SCIM link (Tenant URL) to paste into Entra.
    pub scim_url: String,
}

fn tenant_info(state: &AppState, t: crate::store::tenants::Tenant) -> TenantInfo {
    TenantInfo {
        scim_url: state.settings.scim_url(&t.id),
        id: t.id,
        name: t.name,
        entra_tenant_id: t.entra_tenant_id,
        provisioning_enabled: t.provisioning_enabled != 0,
    }
}

/// The tenant's settings and SCIM link.
#[utoipa::path(get, path = "/api/v1/tenant", responses((status = 200, body = TenantInfo), (status = 401, body = ApiError)))]
async fn get_tenant(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let c = session(&state, &req).await?;
    let store = state.store.clone();
    let id = c.session.tenant_id.clone();
    let t = blocking(move || store.get_tenant(&id))
        .await?
        .ok_or_else(|| ApiError::from(ScimError::not_found("tenant not found")))?;
    Ok(HttpResponse::Ok().json(tenant_info(&state, t)))
}

/// Changes the tenant's name, Entra tenant id and provisioning switch (owners and admins).
#[utoipa::path(put, path = "/api/v1/tenant", request_body = TenantSettings, responses((status = 200, body = TenantInfo), (status = 400, body = ApiError), (status = 403, body = ApiError)))]
async fn put_tenant(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<TenantSettings>,
) -> ApiResult<HttpResponse> {
    let c = session_with_csrf(&state, &req).await?;
    let store = state.store.clone();
    let now = state.now();
    let settings = body.into_inner();
    let t = blocking(move || admin::update_settings(&store, &c.session, &settings, now)).await?;
    state.auth_cache.clear();
    Ok(HttpResponse::Ok().json(tenant_info(&state, t)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    /// generated, active, inactive, expired or revoked.
    pub status: String,
}

fn token_info(t: TokenRecord, now: DateTime<Utc>) -> TokenInfo {
    TokenInfo {
        status: t.status(now).as_str().into(),
        id: t.id,
        name: t.name,
        created_by: t.created_by,
        created_at: t.created_at,
        last_used_at: t.last_used_at,
        expires_at: t.expires_at,
    }
}

/// Tokens the account may see (owners: all of the tenant's; others: their own).
#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, body = [TokenInfo]), (status = 401, body = ApiError)))]
async fn list_tokens(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let c = session(&state, &req).await?;
    let store = state.store.clone();
    let now = state.now();
    let tokens = blocking(move || admin::list_tokens(&store, &c.session)).await?;
    let out: Vec<TokenInfo> = tokens.into_iter().map(|t| token_info(t, now)).collect();
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTokenRequest {
    pub name: String,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The account's password (re-checked).
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewTokenResponse {
    /// The secret token: shown only in this response.
    pub token: String,
    pub token_id: String,
}

/// Generates a secret token (owners and admins; the password is re-checked).
#[utoipa::path(post, path = "/api/v1/tokens", request_body = NewTokenRequest, responses((status = 201, body = NewTokenResponse), (status = 403, body = ApiError)))]
async fn create_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<NewTokenRequest>,
) -> ApiResult<HttpResponse> {
    let c = session_with_csrf(&state, &req).await?;
    let store = state.store.clone();
    let now = state.now();
    let b = body.into_inner();
    let (new, _) = blocking(move || {
        admin::generate_token(&store, &c.session, &b.name, b.expires_at, &b.password, now)
    })
    .await?;
    Ok(HttpResponse::Created().json(NewTokenResponse {
        token: new.token,
        token_id: new.id,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// The account's password (re-checked).
    pub password: String,
}

/// Revokes a token at once (owners: any of the tenant's; admins: their own).
#[utoipa::path(post, path = "/api/v1/tokens/{id}/revoke", request_body = RevokeRequest, params(("id" = String, Path, description = "token id")), responses((status = 200, body = TokenInfo), (status = 404, body = ApiError)))]
async fn revoke_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<RevokeRequest>,
) -> ApiResult<HttpResponse> {
    let c = session_with_csrf(&state, &req).await?;
    let store = state.store.clone();
    let now = state.now();
    let id = path.into_inner();
    let pw = body.into_inner().password;
    let s2 = state.store.clone();
    let record = blocking(move || {
        let r = admin::revoke_token(&store, &c.session, &id, &pw, now)?;
        s2.find_token(&r.id)?
            .ok_or_else(|| ScimError::not_found("No such token"))
    })
    .await?;
    state.auth_cache.clear();
    Ok(HttpResponse::Ok().json(token_info(record, now)))
}

#[derive(Debug, Deserialize)]
struct LogQuery {
    outcome: Option<String>,
    resource_type: Option<String>,
    limit: Option<i64>,
}

/// The provisioning log, newest first, filterable by outcome and resource type.
#[utoipa::path(get, path = "/api/v1/provisioning-log", params(("outcome" = Option<String>, Query, description = "success or failure"), ("resource_type" = Option<String>, Query, description = "User or Group"), ("limit" = Option<i64>, Query, description = "at most 1000, default 200")), responses((status = 200, body = [ProvisioningEntry])))]
async fn provisioning_log(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LogQuery>,
) -> ApiResult<HttpResponse> {
    let c = session(&state, &req).await?;
    let store = state.store.clone();
    let q = query.into_inner();
    let rows = blocking(move || {
        store.list_provisioning(
            &c.session.tenant_id,
            q.outcome.as_deref(),
            q.resource_type.as_deref(),
            q.limit.unwrap_or(200).clamp(1, 1000),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}
