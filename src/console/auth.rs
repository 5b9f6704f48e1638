//! First-run setup, sign-in and sign-out.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Duration;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{
    audit, clear_session_cookie, current_session, random_secret, redirect, session_cookie,
    ConsoleError, Nav, LOGIN_CSRF_COOKIE,
};
use crate::http::{blocking, AppState};
use crate::store::console::Role;
use crate::{password, token};

/// Failed sign-ins per account within [`THROTTLE_WINDOW`] before sign-in is refused.
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/setup", web::get().to(setup_page))
        .route("/setup", web::post().to(setup));
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    tenant_id: String,
    email: String,
    csrf: String,
}

#[derive(Template)]
#[template(path = "console/setup.html")]
struct SetupPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    token: String,
    csrf: String,
}

fn login_csrf_cookie(value: &str) -> Cookie<'static> {
    Cookie::build(LOGIN_CSRF_COOKIE, value.to_string())
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish()
}

/// Double-submit check for the forms that come before a session exists.
fn check_login_csrf(req: &HttpRequest, presented: &str) -> Result<(), ConsoleError> {
    let cookie = req.cookie(LOGIN_CSRF_COOKIE).ok_or_else(|| {
        ConsoleError::Forbidden("Reload the page and try again (CSRF check failed)".into())
    })?;
    if !presented.is_empty() && bool::from(cookie.value().as_bytes().ct_eq(presented.as_bytes())) {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden(
            "Reload the page and try again (CSRF check failed)".into(),
        ))
    }
}

fn login_response(
    page: LoginPage,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let csrf = page.csrf.clone();
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .cookie(login_csrf_cookie(&csrf))
        .body(page.render()?))
}

#[derive(Deserialize)]
struct LoginQuery {
    tenant: Option<String>,
}

async fn login_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, ConsoleError> {
    if current_session(&state, &req).await.is_ok() {
        return Ok(redirect("/console/settings"));
    }
    login_response(
        LoginPage {
            nav: None,
            flash: None,
            error: None,
            tenant_id: query.tenant.clone().unwrap_or_default(),
            email: String::new(),
            csrf: random_secret(),
        },
        actix_web::http::StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    tenant_id: String,
    email: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ConsoleError> {
    check_login_csrf(&req, &form.csrf)?;
    let LoginForm {
        tenant_id,
        email,
        password: pw,
        ..
    } = form.into_inner();
    let tenant_id = tenant_id.trim().to_string();
    let store = state.store.clone();
    let now = state.now();
    let (t, e) = (tenant_id.clone(), email.clone());
    // Throttle, look up and verify on the blocking pool (argon2 costs ~50 ms).
    let outcome = blocking(move || {
        let Some(_tenant) = store.get_tenant(&t)? else {
            password::verify_dummy(&pw);
            return Ok(Err(false));
        };
        if store.count_failed_logins(&t, &e, now - THROTTLE_WINDOW)? >= MAX_FAILED_LOGINS {
            return Ok(Err(true));
        }
        match store.find_account(&t, &e)? {
            Some(account) if password::verify(&pw, &account.password_hash) => Ok(Ok(account)),
            Some(_) => Ok(Err(false)),
            None => {
                password::verify_dummy(&pw);
                Ok(Err(false))
            }
        }
    })
    .await?;
    let account = match outcome {
        Ok(account) => account,
        Err(throttled) => {
            audit(
                &state,
                &tenant_id,
                Some(&email.trim().to_lowercase()),
                "sign-in failed",
                throttled.then(|| "throttled".to_string()),
            )
            .await;
            let message = if throttled {
                "Too many failed sign-ins: wait 15 minutes and try again"
            } else {
                "Invalid tenant id, email or password"
            };
            return login_response(
                LoginPage {
                    nav: None,
                    flash: None,
                    error: Some(message.to_string()),
                    tenant_id,
                    email,
                    csrf: random_secret(),
                },
                if throttled {
                    actix_web::http::StatusCode::TOO_MANY_REQUESTS
                } else {
                    actix_web::http::StatusCode::UNAUTHORIZED
                },
            );
        }
    };
    start_session(&state, &req, account).await
}

/// Creates a new session (new id on every sign-in) and redirects into the console.
async fn start_session(
    state: &AppState,
    req: &HttpRequest,
    account: crate::store::console::Account,
) -> Result<HttpResponse, ConsoleError> {
    // Any session the browser had is ended: a new id on every sign-in.
    if let Some(old) = req.cookie(super::session_cookie_name(state)) {
        let store = state.store.clone();
        let digest = token::digest(old.value());
        let _ = blocking(move || store.delete_session(&digest)).await;
    }
    let id = random_secret();
    let csrf = random_secret();
    let store = state.store.clone();
    let digest = token::digest(&id);
    let now = state.now();
    let acc = account.clone();
    blocking(move || store.create_session(&digest, &acc, &csrf, now)).await?;
    audit(
        state,
        &account.tenant_id,
        Some(&account.email),
        "sign-in",
        None,
    )
    .await;
    let mut clear_csrf = login_csrf_cookie("");
    clear_csrf.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/console/settings"))
        .cookie(session_cookie(state, &id))
        .cookie(clear_csrf)
        .finish())
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    console.check_csrf(&form.csrf)?;
    let store = state.store.clone();
    let digest = console.session.id_sha256.clone();
    blocking(move || store.delete_session(&digest)).await?;
    audit(
        &state,
        console.tenant_id(),
        Some(&console.session.email),
        "sign-out",
        None,
    )
    .await;
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/console/login"))
        .cookie(clear_session_cookie(&state))
        .finish())
}

#[derive(Deserialize)]
struct SetupQuery {
    token: Option<String>,
}

async fn setup_page(
    state: web::Data<AppState>,
    query: web::Query<SetupQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let token = query.token.clone().unwrap_or_default();
    let store = state.store.clone();
    let digest = token::digest(&token);
    if !blocking(move || store.setup_link_valid(&digest)).await? {
        return Err(ConsoleError::Forbidden(
            "This setup link is invalid or was already used. Sign in instead.".into(),
        ));
    }
    let csrf = random_secret();
    let page = SetupPage {
        nav: None,
        flash: None,
        error: None,
        token,
        csrf: csrf.clone(),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .cookie(login_csrf_cookie(&csrf))
        .body(page.render()?))
}

#[derive(Deserialize)]
struct SetupForm {
    token: String,
    tenant_name: String,
    email: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

async fn setup(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, ConsoleError> {
    check_login_csrf(&req, &form.csrf)?;
    let form = form.into_inner();
    if form.tenant_name.trim().is_empty() || !form.email.contains('@') {
        return Err(ConsoleError::BadRequest(
            "A tenant name and an email address are required".into(),
        ));
    }
    let hash = {
        let pw = form.password.clone();
        blocking(move || password::hash(&pw)).await?
    };
    let store = state.store.clone();
    let now = state.now();
    let digest = token::digest(&form.token);
    let account = blocking(move || {
        if !store.consume_setup_link(&digest, now)? {
            return Ok(None);
        }
        let tenant = store.create_tenant(form.tenant_name.trim(), now)?;
        let account = store.create_account(&tenant.id, &form.email, &hash, Role::Owner, now)?;
        Ok(Some(account))
    })
    .await?
    .ok_or_else(|| {
        ConsoleError::Forbidden("This setup link is invalid or was already used".into())
    })?;
    audit(
        &state,
        &account.tenant_id,
        Some(&account.email),
        "tenant created",
        None,
    )
    .await;
    start_session(&state, &req, account).await
}
