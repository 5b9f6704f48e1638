//! Console pages: companies and roles (one page), and default user configurations.
//! GET shows; every POST checks the CSRF token and refuses viewers, and every change is
//! audited. A refused change (name taken, company in use…) re-renders the page with the
//! reason.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{current_session, html, redirect, Console, ConsoleError, Nav};
use crate::admin::{self, Actor};
use crate::error::ScimError;
use crate::http::{blocking, AppState};
use crate::store::configurations::{Catalog, ConfigurationInput, ConfigurationRecord, NamedRecord};
use crate::store::Store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/companies", web::get().to(companies_page))
        .route("/companies", web::post().to(add_company))
        .route("/companies/{id}/rename", web::post().to(rename_company))
        .route("/companies/{id}/delete", web::post().to(delete_company))
        .route("/roles", web::post().to(add_role))
        .route("/roles/{id}/rename", web::post().to(rename_role))
        .route("/roles/{id}/delete", web::post().to(delete_role))
        .route("/configurations", web::get().to(configurations_page))
        .route("/configurations", web::post().to(add_configuration))
        .route(
            "/configurations/{id}/edit",
            web::get().to(edit_configuration_page),
        )
        .route("/configurations/{id}", web::post().to(edit_configuration))
        .route("/configurations/{id}/default", web::post().to(make_default))
        .route(
            "/configurations/{id}/delete",
            web::post().to(delete_configuration),
        );
}

/// `?done=…` after a successful POST: a fixed message, never reflected text.
#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

fn done_message(done: Option<&str>) -> Option<String> {
    let m = match done? {
        "company-added" => "Company added",
        "company-renamed" => "Company renamed",
        "company-deleted" => "Company deleted",
        "role-added" => "Role added",
        "role-renamed" => "Role renamed",
        "role-deleted" => "Role deleted",
        "configuration-added" => "Configuration added",
        "configuration-changed" => "Configuration changed",
        "configuration-deleted" => "Configuration deleted",
        "default-set" => "Default configuration changed",
        _ => return None,
    };
    Some(m.to_string())
}

/// A store refusal shown on the page (status kept), or a console error.
enum Refusal {
    Shown(StatusCode, String),
    Fatal(ConsoleError),
}

impl From<ScimError> for Refusal {
    fn from(e: ScimError) -> Self {
        match e.status {
            400 | 409 => Refusal::Shown(
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                e.detail,
            ),
            _ => Refusal::Fatal(e.into()),
        }
    }
}

fn with_status(
    resp: Result<HttpResponse, ConsoleError>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let mut resp = resp?;
    *resp.status_mut() = status;
    Ok(resp)
}

// ---------------------------------------------------------------- companies and roles

#[derive(Template)]
#[template(path = "console/companies.html")]
struct CompaniesPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    csrf: String,
    can_write: bool,
    companies: Vec<NamedRecord>,
    roles: Vec<NamedRecord>,
}

async fn render_companies(
    state: &AppState,
    console: &Console,
    flash: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let store = state.store.clone();
    let tenant = console.tenant_id().to_string();
    let (companies, roles) = blocking(move || {
        Ok((
            store.list_named(&tenant, Catalog::Companies)?,
            store.list_named(&tenant, Catalog::Roles)?,
        ))
    })
    .await?;
    html(&CompaniesPage {
        nav: Some(console.nav("companies")),
        flash,
        error,
        csrf: console.session.csrf_token.clone(),
        can_write: console.role().can_write(),
        companies,
        roles,
    })
}

async fn companies_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    render_companies(&state, &console, done_message(query.done.as_deref()), None).await
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The page a change comes from, returns to, and shows a refusal on.
#[derive(Clone, Copy)]
enum Page {
    Companies,
    Configurations,
}

impl Page {
    fn path(self) -> &'static str {
        match self {
            Page::Companies => "/console/companies",
            Page::Configurations => "/console/configurations",
        }
    }

    async fn render(
        self,
        state: &AppState,
        console: &Console,
        error: Option<String>,
    ) -> Result<HttpResponse, ConsoleError> {
        match self {
            Page::Companies => render_companies(state, console, None, error).await,
            Page::Configurations => render_configurations(state, console, None, error).await,
        }
    }
}

/// Runs a change: CSRF, write access, the shared admin operation (which audits it),
/// redirect back with a message; a refusal (400/409 from the store) re-renders the page
/// with its reason. The operation returns the `done` message key.
async fn change(
    state: &AppState,
    req: &HttpRequest,
    page: Page,
    csrf: &str,
    op: impl FnOnce(Store, Actor) -> Result<&'static str, ScimError> + Send + 'static,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(state, req).await?;
    console.check_csrf(csrf)?;
    console.require_write()?;
    let store = state.store.clone();
    let actor = console.session.clone();
    match blocking(move || op(store, actor)).await {
        Ok(done) => Ok(redirect(&format!("{}?done={}", page.path(), done))),
        Err(e) => match Refusal::from(e) {
            Refusal::Shown(status, reason) => {
                with_status(page.render(state, &console, Some(reason)).await, status)
            }
            Refusal::Fatal(e) => Err(e),
        },
    }
}

async fn add_named(
    state: &AppState,
    req: &HttpRequest,
    form: NameForm,
    catalog: Catalog,
) -> Result<HttpResponse, ConsoleError> {
    let now = state.now();
    change(
        state,
        req,
        Page::Companies,
        &form.csrf,
        move |store, actor| {
            admin::add_named(&store, &actor, catalog, &form.name, now)?;
            Ok(match catalog {
                Catalog::Companies => "company-added",
                Catalog::Roles => "role-added",
            })
        },
    )
    .await
}

async fn rename_named(
    state: &AppState,
    req: &HttpRequest,
    id: String,
    form: NameForm,
    catalog: Catalog,
) -> Result<HttpResponse, ConsoleError> {
    let now = state.now();
    change(
        state,
        req,
        Page::Companies,
        &form.csrf,
        move |store, actor| {
            admin::rename_named(&store, &actor, catalog, &id, &form.name, now)?;
            Ok(match catalog {
                Catalog::Companies => "company-renamed",
                Catalog::Roles => "role-renamed",
            })
        },
    )
    .await
}

async fn delete_named(
    state: &AppState,
    req: &HttpRequest,
    id: String,
    form: CsrfForm,
    catalog: Catalog,
) -> Result<HttpResponse, ConsoleError> {
    let now = state.now();
    change(
        state,
        req,
        Page::Companies,
        &form.csrf,
        move |store, actor| {
            admin::delete_named(&store, &actor, catalog, &id, now)?;
            Ok(match catalog {
                Catalog::Companies => "company-deleted",
                Catalog::Roles => "role-deleted",
            })
        },
    )
    .await
}

async fn add_company(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, ConsoleError> {
    add_named(&state, &req, form.into_inner(), Catalog::Companies).await
}

async fn add_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, ConsoleError> {
    add_named(&state, &req, form.into_inner(), Catalog::Roles).await
}

async fn rename_company(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, ConsoleError> {
    rename_named(
        &state,
        &req,
        path.into_inner(),
        form.into_inner(),
        Catalog::Companies,
    )
    .await
}

async fn rename_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, ConsoleError> {
    rename_named(
        &state,
        &req,
        path.into_inner(),
        form.into_inner(),
        Catalog::Roles,
    )
    .await
}

async fn delete_company(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    delete_named(
        &state,
        &req,
        path.into_inner(),
        form.into_inner(),
        Catalog::Companies,
    )
    .await
}

async fn delete_role(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    delete_named(
        &state,
        &req,
        path.into_inner(),
        form.into_inner(),
        Catalog::Roles,
    )
    .await
}

// ---------------------------------------------------------------- configurations

/// One row of the configurations table.
pub struct ConfigurationRow {
    pub id: String,
    pub name: String,
    pub company: String,
    pub roles: String,
    pub locale: String,
    pub language: String,
    pub time_zone: String,
    pub filter: String,
    pub is_default: bool,
}

impl From<ConfigurationRecord> for ConfigurationRow {
    fn from(c: ConfigurationRecord) -> Self {
        ConfigurationRow {
            roles: c
                .roles
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            id: c.id,
            name: c.name,
            company: c.company,
            locale: c.locale.unwrap_or_default(),
            language: c.language.unwrap_or_default(),
            time_zone: c.time_zone.unwrap_or_default(),
            filter: c.filter.unwrap_or_default(),
            is_default: c.is_default,
        }
    }
}

/// The configuration form: empty to add one, filled in to edit one.
pub struct ConfigurationForm {
    /// The configuration edited (`None`: the "Add new configuration" form).
    pub editing: Option<String>,
    pub name: String,
    pub company_id: String,
    pub role_ids: Vec<String>,
    pub locale: String,
    pub language: String,
    pub time_zone: String,
    pub filter: String,
    pub is_default: bool,
}

impl ConfigurationForm {
    fn add() -> Self {
        ConfigurationForm {
            editing: None,
            name: String::new(),
            company_id: String::new(),
            role_ids: Vec::new(),
            locale: String::new(),
            language: String::new(),
            time_zone: String::new(),
            filter: String::new(),
            is_default: false,
        }
    }

    fn edit(c: &ConfigurationRecord) -> Self {
        ConfigurationForm {
            editing: Some(c.id.clone()),
            name: c.name.clone(),
            company_id: c.company_id.clone(),
            role_ids: c.roles.iter().map(|r| r.id.clone()).collect(),
            locale: c.locale.clone().unwrap_or_default(),
            language: c.language.clone().unwrap_or_default(),
            time_zone: c.time_zone.clone().unwrap_or_default(),
            filter: c.filter.clone().unwrap_or_default(),
            is_default: c.is_default,
        }
    }

    pub fn has_role(&self, id: &str) -> bool {
        self.role_ids.iter().any(|r| r == id)
    }
}

#[derive(Template)]
#[template(path = "console/configurations.html")]
struct ConfigurationsPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    csrf: String,
    can_write: bool,
    configurations: Vec<ConfigurationRow>,
    companies: Vec<NamedRecord>,
    roles: Vec<NamedRecord>,
    has_default: bool,
    form: ConfigurationForm,
}

async fn render_configurations(
    state: &AppState,
    console: &Console,
    flash: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    render_configurations_with(state, console, flash, error, None).await
}

/// The configurations page; `editing` puts that configuration in the form (404 when the
/// tenant has none of that id).
async fn render_configurations_with(
    state: &AppState,
    console: &Console,
    flash: Option<String>,
    error: Option<String>,
    editing: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let store = state.store.clone();
    let tenant = console.tenant_id().to_string();
    let (configurations, companies, roles) = blocking(move || {
        Ok((
            store.list_configurations(&tenant)?,
            store.list_named(&tenant, Catalog::Companies)?,
            store.list_named(&tenant, Catalog::Roles)?,
        ))
    })
    .await?;
    let form = match editing {
        None => ConfigurationForm::add(),
        Some(id) => configurations
            .iter()
            .find(|c| c.id == id)
            .map(ConfigurationForm::edit)
            .ok_or_else(|| ScimError::not_found("Configuration not found"))?,
    };
    let has_default = configurations.iter().any(|c| c.is_default);
    html(&ConfigurationsPage {
        nav: Some(console.nav("configurations")),
        flash,
        error,
        csrf: console.session.csrf_token.clone(),
        can_write: console.role().can_write(),
        configurations: configurations.into_iter().map(Into::into).collect(),
        companies,
        roles,
        has_default,
        form,
    })
}

async fn configurations_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    render_configurations(&state, &console, done_message(query.done.as_deref()), None).await
}

/// The configuration form, to add or edit (role_ids repeats, so it is read as pairs).
fn parse_configuration_form(pairs: Vec<(String, String)>) -> (String, ConfigurationInput) {
    let mut csrf = String::new();
    let mut input = ConfigurationInput::default();
    for (key, value) in pairs {
        match key.as_str() {
            "csrf" => csrf = value,
            "name" => input.name = value,
            "company_id" => input.company_id = value,
            "role_ids" => input.role_ids.push(value),
            "locale" => input.locale = Some(value),
            "language" => input.language = Some(value),
            "time_zone" => input.time_zone = Some(value),
            "filter" => input.filter = Some(value),
            "is_default" => input.is_default = true,
            _ => {}
        }
    }
    (csrf, input)
}

/// Adds (`id` None) or changes a configuration from the form.
async fn save_configuration(
    state: &AppState,
    req: &HttpRequest,
    form: Vec<(String, String)>,
    id: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let (csrf, input) = parse_configuration_form(form);
    let now = state.now();
    change(
        state,
        req,
        Page::Configurations,
        &csrf,
        move |store, actor| match id {
            None => {
                admin::add_configuration(&store, &actor, &input, now).map(|_| "configuration-added")
            }
            Some(id) => admin::update_configuration(&store, &actor, &id, &input, now)
                .map(|_| "configuration-changed"),
        },
    )
    .await
}

async fn add_configuration(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    save_configuration(&state, &req, form.into_inner(), None).await
}

async fn edit_configuration_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    console.require_write()?;
    render_configurations_with(&state, &console, None, None, Some(path.into_inner())).await
}

async fn edit_configuration(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, ConsoleError> {
    save_configuration(&state, &req, form.into_inner(), Some(path.into_inner())).await
}

async fn make_default(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    let id = path.into_inner();
    let now = state.now();
    change(
        &state,
        &req,
        Page::Configurations,
        &form.csrf,
        move |store, actor| {
            admin::set_default_configuration(&store, &actor, &id, now)?;
            Ok("default-set")
        },
    )
    .await
}

async fn delete_configuration(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    let id = path.into_inner();
    let now = state.now();
    change(
        &state,
        &req,
        Page::Configurations,
        &form.csrf,
        move |store, actor| {
            admin::delete_configuration(&store, &actor, &id, now)?;
            Ok("configuration-deleted")
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_repeated_role_ids() {
        let (csrf, input) = parse_configuration_form(vec![
            ("csrf".into(), "tok".into()),
            ("name".into(), "Nordic".into()),
            ("company_id".into(), "c1".into()),
            ("role_ids".into(), "r1".into()),
            ("role_ids".into(), "r2".into()),
            ("filter".into(), "nordic".into()),
            ("is_default".into(), "on".into()),
        ]);
        assert_eq!(csrf, "tok");
        assert_eq!(input.role_ids, vec!["r1", "r2"]);
        assert_eq!(input.company_id, "c1");
        assert_eq!(input.filter.as_deref(), Some("nordic"));
        assert!(input.is_default);
    }

    #[test]
    fn done_messages_are_fixed() {
        assert_eq!(
            done_message(Some("company-added")).as_deref(),
            Some("Company added")
        );
        assert_eq!(done_message(Some("<script>")), None);
        assert_eq!(done_message(None), None);
    }
}
