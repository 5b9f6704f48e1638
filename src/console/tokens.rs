//! Secret tokens: generate (shown once), list with status, revoke. Generating and revoking
//! re-ask the password. Owners see every token of the tenant; admins only their own;
//! viewers cannot generate.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::{audit, current_session, html, redirect, Console, ConsoleError, Nav};
use crate::http::{blocking, AppState};
use crate::store::console::Role;
use crate::store::tenants::{NewTokenRecord, TokenRecord};
use crate::{password, token};

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

/// The tokens this account may see: owners all, others their own.
pub fn visible(console: &Console, t: &TokenRecord) -> bool {
    console.role() == Role::Owner || t.created_by.as_deref() == Some(console.session.email.as_str())
}

async fn render(
    state: &AppState,
    console: &Console,
    new_token: Option<String>,
    flash: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let store = state.store.clone();
    let tenant = console.tenant_id().to_string();
    let tokens = blocking(move || store.list_tokens(&tenant)).await?;
    let now = state.now();
    let rows = tokens
        .iter()
        .filter(|t| visible(console, t))
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

/// Re-asks the account's password before a sensitive operation.
async fn reauthenticate(state: &AppState, console: &Console, pw: &str) -> Result<(), ConsoleError> {
    let store = state.store.clone();
    let (tenant, email, pw) = (
        console.tenant_id().to_string(),
        console.session.email.clone(),
        pw.to_string(),
    );
    let ok = blocking(move || {
        Ok(store
            .find_account(&tenant, &email)?
            .is_some_and(|a| password::verify(&pw, &a.password_hash)))
    })
    .await?;
    if ok {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden(
            "The password is not correct".into(),
        ))
    }
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
    console.require_write()?;
    reauthenticate(&state, &console, &form.password).await?;
    let name = form.name.trim().to_string();
    if name.is_empty() {
        return Err(ConsoleError::BadRequest("Give the token a name".into()));
    }
    let expires_at = match form.expires_on.trim() {
        "" => None,
        d => {
            let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                ConsoleError::BadRequest("The expiry date must be YYYY-MM-DD".into())
            })?;
            let at = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default());
            if at <= state.now() {
                return Err(ConsoleError::BadRequest(
                    "The expiry date must be in the future".into(),
                ));
            }
            Some(at)
        }
    };
    let new = token::generate();
    let store = state.store.clone();
    let now = state.now();
    let (tenant, email, n, id, digest) = (
        console.tenant_id().to_string(),
        console.session.email.clone(),
        name.clone(),
        new.id.clone(),
        new.secret_sha256.clone(),
    );
    blocking(move || {
        store.insert_token(
            &NewTokenRecord {
                tenant: &tenant,
                id: &id,
                secret_sha256: &digest,
                name: &n,
                created_by: Some(&email),
                expires_at,
            },
            now,
        )
    })
    .await?;
    audit(
        &state,
        console.tenant_id(),
        Some(&console.session.email),
        "token generated",
        Some(format!("{name} ({})", new.id)),
    )
    .await;
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
    console.require_write()?;
    reauthenticate(&state, &console, &form.password).await?;
    let id = path.into_inner();
    let store = state.store.clone();
    let tenant = console.tenant_id().to_string();
    let (t, i) = (tenant.clone(), id.clone());
    let record = blocking(move || store.find_token(&i)).await?;
    // Another tenant's token, or an admin's attempt on someone else's: not found.
    let record = record
        .filter(|r| r.tenant_id == t && visible(&console, r))
        .ok_or(ConsoleError::NotFound)?;
    let store = state.store.clone();
    let now = state.now();
    let rid = record.id.clone();
    blocking(move || store.revoke_token(&tenant, &rid, now)).await?;
    audit(
        &state,
        console.tenant_id(),
        Some(&console.session.email),
        "token revoked",
        Some(format!("{} ({})", record.name, record.id)),
    )
    .await;
    Ok(redirect("/console/tokens?revoked=1"))
}
