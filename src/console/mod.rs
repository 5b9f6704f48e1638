//! The admin console: server-rendered HTML (askama) under `/console`, with sessions,
//! CSRF tokens on every state-changing form, and security headers. Assets are compiled
//! into the binary; the only script is progressive (confirm dialogs, copy buttons).

pub mod accounts;
pub mod auth;
pub mod configurations;
pub mod directory;
pub mod logs;
pub mod settings;
pub mod tokens;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use subtle::ConstantTimeEq;

use crate::error::ScimError;
use crate::http::{blocking, AppState};
use crate::store::console::{Role, SessionRecord};
use crate::token;

/// Session cookie name (`__Host-` prefixed when served over HTTPS).
pub fn session_cookie_name(state: &AppState) -> &'static str {
    if secure(state) {
        "__Host-scimd_session"
    } else {
        "scimd_session"
    }
}

/// Pre-session CSRF cookie (double submit) for the sign-in and setup forms.
const LOGIN_CSRF_COOKIE: &str = "scimd_login_csrf";

fn secure(state: &AppState) -> bool {
    state.settings.public_url.starts_with("https://")
}

/// Security headers of every console and admin-API response.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        ))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Cache-Control", "no-store"))
}

/// The console's routes.
pub fn scope() -> impl actix_web::dev::HttpServiceFactory {
    web::scope("/console")
        .wrap(security_headers())
        .route("", web::get().to(index))
        .route("/", web::get().to(index))
        .route("/static/app.css", web::get().to(app_css))
        .route("/static/app.js", web::get().to(app_js))
        .configure(auth::configure)
        .configure(settings::configure)
        .configure(tokens::configure)
        .configure(configurations::configure)
        .configure(directory::configure)
        .configure(logs::configure)
        .configure(accounts::configure)
        .default_service(web::to(|| async {
            ConsoleError::NotFound.error_response()
        }))
}

async fn app_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("static/app.css"))
}

async fn app_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(include_str!("static/app.js"))
}

async fn index(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match current_session(&state, &req).await {
        Ok(_) => redirect("/console/settings"),
        Err(_) => redirect("/console/login"),
    }
}

/// What the layout shows of the signed-in account.
#[derive(Debug, Clone)]
pub struct Nav {
    pub active: &'static str,
    pub csrf: String,
    pub email: String,
    pub role: &'static str,
    pub tenant_name: String,
}

/// A signed-in console request.
#[derive(Debug, Clone)]
pub struct Console {
    pub session: SessionRecord,
    pub tenant_name: String,
}

impl Console {
    pub fn tenant_id(&self) -> &str {
        &self.session.tenant_id
    }

    pub fn role(&self) -> Role {
        self.session.role()
    }

    pub fn nav(&self, active: &'static str) -> Nav {
        Nav {
            active,
            csrf: self.session.csrf_token.clone(),
            email: self.session.email.clone(),
            role: self.role().as_str(),
            tenant_name: self.tenant_name.clone(),
        }
    }

    /// Checks the form's CSRF token against the session's (constant time).
    pub fn check_csrf(&self, presented: &str) -> Result<(), ConsoleError> {
        if presented
            .as_bytes()
            .ct_eq(self.session.csrf_token.as_bytes())
            .into()
        {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(
                "The form expired or did not come from this console (CSRF check failed)".into(),
            ))
        }
    }

    /// Refuses viewers.
    pub fn require_write(&self) -> Result<(), ConsoleError> {
        if self.role().can_write() {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden(
                "Viewers cannot change anything".into(),
            ))
        }
    }

    pub fn require_owner(&self) -> Result<(), ConsoleError> {
        if self.role() == Role::Owner {
            Ok(())
        } else {
            Err(ConsoleError::Forbidden("Only owners can do this".into()))
        }
    }
}

/// Console failures, rendered as pages (or a redirect to sign in).
#[derive(Debug)]
pub enum ConsoleError {
    SignIn,
    Forbidden(String),
    NotFound,
    BadRequest(String),
    Internal(String),
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl From<ScimError> for ConsoleError {
    fn from(e: ScimError) -> Self {
        match e.status {
            404 => ConsoleError::NotFound,
            400 | 409 | 413 | 415 => ConsoleError::BadRequest(e.detail),
            401 => ConsoleError::SignIn,
            403 => ConsoleError::Forbidden(e.detail),
            _ => ConsoleError::Internal(e.detail),
        }
    }
}

impl From<askama::Error> for ConsoleError {
    fn from(e: askama::Error) -> Self {
        ConsoleError::Internal(format!("template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    heading: &'a str,
    message: &'a str,
    link: &'a str,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (heading, message) = match self {
            ConsoleError::SignIn => return redirect("/console/login"),
            ConsoleError::Forbidden(m) => ("Not allowed", m.as_str()),
            ConsoleError::NotFound => ("Not found", "There is nothing here."),
            ConsoleError::BadRequest(m) => ("Cannot do that", m.as_str()),
            ConsoleError::Internal(m) => {
                tracing::error!(detail = %m, "console error");
                ("Something went wrong", "The error was logged.")
            }
        };
        let page = MessagePage {
            nav: None,
            flash: None,
            error: None,
            heading,
            message,
            link: "/console",
        };
        HttpResponse::build(self.status_code())
            .content_type("text/html; charset=utf-8")
            .body(page.render().unwrap_or_else(|_| message.to_string()))
    }
}

/// An HTML response.
pub fn html(t: &impl Template) -> Result<HttpResponse, ConsoleError> {
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(t.render()?))
}

/// A 303 redirect (after a POST).
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// The signed-in session of the request, or `ConsoleError::SignIn`.
pub async fn current_session(state: &AppState, req: &HttpRequest) -> Result<Console, ConsoleError> {
    let cookie = req
        .cookie(session_cookie_name(state))
        .ok_or(ConsoleError::SignIn)?;
    let digest = token::digest(cookie.value());
    let store = state.store.clone();
    let now = state.now();
    let found = blocking(move || {
        let Some(session) = store.find_session(&digest, now)? else {
            return Ok(None);
        };
        let tenant = store.get_tenant(&session.tenant_id)?;
        Ok(tenant.map(|t| (session, t.name)))
    })
    .await?;
    let (session, tenant_name) = found.ok_or(ConsoleError::SignIn)?;
    Ok(Console {
        session,
        tenant_name,
    })
}

/// A fresh random value for session ids and CSRF tokens (256 bits, base62).
pub fn random_secret() -> String {
    token::generate().token[23..66].to_string()
}

/// The session cookie for a new session id.
pub fn session_cookie(state: &AppState, id: &str) -> Cookie<'static> {
    Cookie::build(session_cookie_name(state), id.to_string())
        .path("/")
        .http_only(true)
        .secure(secure(state))
        .same_site(SameSite::Strict)
        .finish()
}

/// A cookie that removes the session cookie.
pub fn clear_session_cookie(state: &AppState) -> Cookie<'static> {
    let mut c = session_cookie(state, "");
    c.make_removal();
    c
}

/// Records an audit event; failures to record are logged, not shown.
pub async fn audit(
    state: &AppState,
    tenant: &str,
    actor: Option<&str>,
    action: &str,
    detail: Option<String>,
) {
    let store = state.store.clone();
    let (tenant, actor, action) = (
        tenant.to_string(),
        actor.map(str::to_string),
        action.to_string(),
    );
    let now = state.now();
    if let Err(e) =
        blocking(move || store.audit(&tenant, actor.as_deref(), &action, detail.as_deref(), now))
            .await
    {
        tracing::warn!(error = %e, "audit log write failed");
    }
}
