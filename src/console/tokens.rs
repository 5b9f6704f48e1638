//! Secret tokens: generate (shown once), list with status, revoke. Generating and revoking
//! re-ask the password. Owners see every token of the tenant; admins only their own;
//! viewers cannot generate. The rules live in `crate::admin`, shared with the admin API.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::{current_session, html, redirect, Console, ConsoleError, Nav};
use crate::admin;
use crate::http::{blocking, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tokens", web::get().to(tokens_page))
        .route("/tokens", web::post().to(generate))
        .route("/tokens/{id}/revoke", web::post().to(revoke));
}

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub created_by: String,
    pub created_at: String,
    pub last_used_at: String,
    pub expires_at: String,
    pub status: &'static str,
    pub can_revoke: bool,
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    csrf: String,
    can_write: bool,
    new_token: Option<String>,
    tokens: Vec<TokenRow>,
}

async fn render(
    state: &AppState,
    console: &Console,
    new_token: Option<String>,
    flash: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let store = state.store.clone();
    let actor = console.session.clone();
    let tokens = blocking(move || admin::list_tokens(&store, &actor)).await?;
    let now = state.now();
    let rows = tokens
        .iter()
        .map(|t| {
            let status = t.status(now);
            TokenRow {
                id: t.id.clone(),
                name: t.name.clone(),
                created_by: t.created_by.clone().unwrap_or_default(),
                created_at: t.created_at.clone(),
                last_used_at: t.last_used_at.clone().unwrap_or_else(|| "never".into()),
                expires_at: t.expires_at.clone().unwrap_or_else(|| "never".into()),
                status: status.as_str(),
                can_revoke: console.role().can_write()
                    && !matches!(status, crate::store::tenants::TokenStatus::Revoked),
            }
        })
        .collect();
    html(&TokensPage {
        nav: Some(console.nav("tokens")),
        flash,
        error: None,
        csrf: console.session.csrf_token.clone(),
        can_write: console.role().can_write(),
        new_token,
        tokens: rows,
    })
}

#[derive(Deserialize)]
struct RevokedQuery {
    revoked: Option<String>,
}

async fn tokens_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<RevokedQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    let flash = query.revoked.as_ref().map(|_| "Token revoked".to_string());
    render(&state, &console, None, flash).await
}

#[derive(Deserialize)]
struct GenerateForm {
    #[serde(default)]
    csrf: String,
    name: String,
    #[serde(default)]
    expires_on: String,
    #[serde(default)]
    password: String,
}

async fn generate(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<GenerateForm>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    console.check_csrf(&form.csrf)?;
    let expires_at = match form.expires_on.trim() {
        "" => None,
        d => {
            let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                ConsoleError::BadRequest("The expiry date must be YYYY-MM-DD".into())
            })?;
            Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default()))
        }
    };
    let store = state.store.clone();
    let actor = console.session.clone();
    let now = state.now();
    let form = form.into_inner();
    let (new, _) = blocking(move || {
        admin::generate_token(&store, &actor, &form.name, expires_at, &form.password, now)
    })
    .await?;
    render(
        &state,
        &console,
        Some(new.token),
        Some("Secret token generated".into()),
    )
    .await
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<RevokeForm>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    console.check_csrf(&form.csrf)?;
    let store = state.store.clone();
    let actor = console.session.clone();
    let now = state.now();
    let id = path.into_inner();
    let pw = form.into_inner().password;
    blocking(move || admin::revoke_token(&store, &actor, &id, &pw, now)).await?;
    Ok(redirect("/console/tokens?revoked=1"))
}
