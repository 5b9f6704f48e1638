//! Admin API: console accounts (owners invite and remove) and the audit log.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{session, session_with_csrf, ApiError, ApiResult};
use crate::admin;
use crate::console::logs::LOG_LIMIT;
use crate::http::{blocking, AppState};
use crate::store::console::{Account, LogEntry};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/accounts", web::get().to(list_accounts))
        .route("/accounts", web::post().to(invite_account))
        .route("/accounts/{id}", web::delete().to(remove_account))
        .route("/audit-log", web::get().to(audit_log));
}

/// A console account (never its password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountInfo {
    pub id: String,
    pub email: String,
    /// owner, admin or viewer.
    pub role: String,
    pub created_at: String,
}

impl From<Account> for AccountInfo {
    fn from(a: Account) -> Self {
        AccountInfo {
            role: a.role().as_str().into(),
            id: a.id,
            email: a.email,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteRequest {
    pub email: String,
    /// admin or viewer.
    pub role: String,
    /// The initial password (at least 10 characters), handed over to the person.
    pub password: String,
}

/// The tenant's console accounts (every role may list them).
#[utoipa::path(get, path = "/api/v1/accounts", responses((status = 200, body = [AccountInfo]), (status = 401, body = ApiError)))]
pub(super) async fn list_accounts(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let c = session(&state, &req).await?;
    let store = state.store.clone();
    let rows = blocking(move || store.list_accounts(&c.session.tenant_id)).await?;
    let out: Vec<AccountInfo> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(out))
}

/// Creates an admin or viewer account with an initial password (owners only).
#[utoipa::path(post, path = "/api/v1/accounts", request_body = InviteRequest, responses((status = 201, body = AccountInfo), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 409, body = ApiError)))]
pub(super) async fn invite_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<InviteRequest>,
) -> ApiResult<HttpResponse> {
    let c = session_with_csrf(&state, &req).await?;
    let store = state.store.clone();
    let now = state.now();
    let b = body.into_inner();
    let account = blocking(move || {
        admin::invite_account(&store, &c.session, &b.email, &b.role, &b.password, now)
    })
    .await?;
    Ok(HttpResponse::Created().json(AccountInfo::from(account)))
}

/// Removes an account and ends its sessions (owners only; not your own account).
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", params(("id" = String, Path, description = "account id")), responses((status = 204), (status = 400, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
pub(super) async fn remove_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let c = session_with_csrf(&state, &req).await?;
    let store = state.store.clone();
    let now = state.now();
    let id = path.into_inner();
    blocking(move || admin::remove_account(&store, &c.session, &id, now)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// What console accounts did, newest first (the latest 200 entries).
#[utoipa::path(get, path = "/api/v1/audit-log", responses((status = 200, body = [LogEntry]), (status = 401, body = ApiError)))]
pub(super) async fn audit_log(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let c = session(&state, &req).await?;
    let store = state.store.clone();
    let rows = blocking(move || store.list_audit(&c.session.tenant_id, LOG_LIMIT)).await?;
    Ok(HttpResponse::Ok().json(rows))
}
