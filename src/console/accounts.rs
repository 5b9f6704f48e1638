//! Console pages: accounts. Owners list the tenant's console accounts, invite an admin or
//! a viewer (with an initial password they hand over), and remove accounts (not their
//! own; removal ends the account's sessions). Admins and viewers see the list read-only.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{current_session, html, redirect, Console, ConsoleError, Nav};
use crate::admin;
use crate::http::{blocking, AppState};
use crate::store::console::Role;

pub use crate::admin::MIN_PASSWORD_CHARS;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/accounts", web::get().to(accounts_page))
        .route("/accounts", web::post().to(invite))
        .route("/accounts/{id}/remove", web::post().to(remove));
}

pub struct AccountRow {
    pub id: String,
    pub email: String,
    pub role: &'static str,
    pub created_at: String,
    pub is_self: bool,
}

#[derive(Template)]
#[template(path = "console/accounts.html")]
struct AccountsPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    csrf: String,
    is_owner: bool,
    accounts: Vec<AccountRow>,
}

#[derive(Deserialize)]
struct FlashQuery {
    created: Option<String>,
    removed: Option<String>,
}

async fn accounts_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<FlashQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    let store = state.store.clone();
    let tenant = console.tenant_id().to_string();
    let accounts = blocking(move || store.list_accounts(&tenant)).await?;
    let rows = accounts
        .into_iter()
        .map(|a| AccountRow {
            is_self: a.id == console.session.account_id,
            role: a.role().as_str(),
            id: a.id,
            email: a.email,
            created_at: a.created_at,
        })
        .collect();
    let flash = if query.created.is_some() {
        Some("Account created. Give the person their email and initial password.".to_string())
    } else if query.removed.is_some() {
        Some("Account removed; its sessions have ended.".to_string())
    } else {
        None
    };
    html(&AccountsPage {
        nav: Some(console.nav("accounts")),
        flash,
        error: None,
        csrf: console.session.csrf_token.clone(),
        is_owner: console.role() == Role::Owner,
        accounts: rows,
    })
}

#[derive(Deserialize)]
struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

fn owner_console(console: &Console, csrf: &str) -> Result<(), ConsoleError> {
    console.check_csrf(csrf)?;
    console.require_owner()
}

async fn invite(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    owner_console(&console, &form.csrf)?;
    let form = form.into_inner();
    let store = state.store.clone();
    let now = state.now();
    let actor = console.session.clone();
    blocking(move || {
        admin::invite_account(&store, &actor, &form.email, &form.role, &form.password, now)
    })
    .await?;
    Ok(redirect("/console/accounts?created=1"))
}

#[derive(Deserialize)]
struct RemoveForm {
    #[serde(default)]
    csrf: String,
}

async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<RemoveForm>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    owner_console(&console, &form.csrf)?;
    let id = path.into_inner();
    let store = state.store.clone();
    let now = state.now();
    let actor = console.session.clone();
    blocking(move || admin::remove_account(&store, &actor, &id, now)).await?;
    Ok(redirect("/console/accounts?removed=1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::{invitable_role, valid_email};

    #[test]
    fn validates_invitations() {
        assert!(valid_email("ada@example.com"));
        assert!(!valid_email("ada"));
        assert!(!valid_email("@example.com"));
        assert!(!valid_email("a@b@c"));
        assert!(!valid_email("a b@example.com"));
        assert_eq!(invitable_role("admin"), Some(Role::Admin));
        assert_eq!(invitable_role("viewer"), Some(Role::Viewer));
        assert_eq!(invitable_role("owner"), None);
        assert_eq!(invitable_role(""), None);
    }
}
