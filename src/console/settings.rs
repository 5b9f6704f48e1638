//! Tenant settings, Verify connection, the SCIM link page and Test connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{current_session, html, redirect, ConsoleError, Nav};
use crate::admin;
use crate::http::{blocking, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings", web::get().to(settings_page))
        .route("/settings", web::post().to(save_settings))
        .route("/scim-link", web::get().to(scim_link_page))
        .route("/test-connection", web::post().to(test_connection));
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    csrf: String,
    tenant_id: String,
    name: String,
    entra_tenant_id: String,
    provisioning_enabled: bool,
    can_write: bool,
    endpoint_status: String,
    last_request: String,
    has_configuration: bool,
}

#[derive(Deserialize)]
struct FlashQuery {
    saved: Option<String>,
}

async fn settings_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<FlashQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    let store = state.store.clone();
    let tenant_id = console.tenant_id().to_string();
    let (tenant, ready, last_request, has_configuration) = blocking(move || {
        let tenant = store.get_tenant(&tenant_id)?;
        let ready = store.ping();
        let last = store
            .list_tokens(&tenant_id)?
            .into_iter()
            .filter_map(|t| t.last_used_at)
            .max();
        let has_configuration = store.has_default_configuration(&tenant_id)?;
        Ok((tenant, ready, last, has_configuration))
    })
    .await?;
    let tenant = tenant.ok_or(ConsoleError::NotFound)?;
    html(&SettingsPage {
        nav: Some(console.nav("settings")),
        flash: query.saved.as_ref().map(|_| "Settings saved".to_string()),
        error: None,
        csrf: console.session.csrf_token.clone(),
        tenant_id: tenant.id,
        name: tenant.name,
        entra_tenant_id: tenant.entra_tenant_id.unwrap_or_default(),
        provisioning_enabled: tenant.provisioning_enabled != 0,
        can_write: console.role().can_write(),
        endpoint_status: if !ready {
            "database unreachable".into()
        } else if tenant.provisioning_enabled == 0 {
            "ready, but provisioning is off (SCIM requests get 403)".into()
        } else {
            "ready".into()
        },
        last_request: last_request.unwrap_or_else(|| "none yet".into()),
        has_configuration,
    })
}

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf: String,
    name: String,
    #[serde(default)]
    entra_tenant_id: String,
    provisioning_enabled: Option<String>,
}

async fn save_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    console.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    let settings = admin::TenantSettings {
        name: form.name,
        entra_tenant_id: Some(form.entra_tenant_id),
        provisioning_enabled: form.provisioning_enabled.is_some(),
    };
    let store = state.store.clone();
    let actor = console.session.clone();
    let now = state.now();
    blocking(move || admin::update_settings(&store, &actor, &settings, now)).await?;
    Ok(redirect("/console/settings?saved=1"))
}

#[derive(Template)]
#[template(path = "console/scim_link.html")]
struct ScimLinkPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    csrf: String,
    scim_url: String,
    test_result: Option<String>,
    test_passed: bool,
}

async fn scim_link_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    html(&ScimLinkPage {
        nav: Some(console.nav("scim-link")),
        flash: None,
        error: None,
        csrf: console.session.csrf_token.clone(),
        scim_url: state.settings.scim_url(console.tenant_id()),
        test_result: None,
        test_passed: false,
    })
}

#[derive(Deserialize)]
struct TestForm {
    #[serde(default)]
    csrf: String,
    token: String,
}

/// Runs Entra's Test Connection probe against this server's own listener.
async fn test_connection(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<TestForm>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    console.check_csrf(&form.csrf)?;
    let self_url = state.settings.self_url.clone();
    let tenant = console.tenant_id().to_string();
    let token = form.token.trim().to_string();
    let (passed, message) = blocking(move || Ok(probe(&self_url, &tenant, &token))).await?;
    html(&ScimLinkPage {
        nav: Some(console.nav("scim-link")),
        flash: None,
        error: None,
        csrf: console.session.csrf_token.clone(),
        scim_url: state.settings.scim_url(console.tenant_id()),
        test_result: Some(message),
        test_passed: passed,
    })
}

/// `GET /scim/v2/{tenant}/Users?filter=userName eq "<random guid>"` over HTTP/1.1.
pub fn probe(self_url: &str, tenant: &str, token: &str) -> (bool, String) {
    let Some(addr) = self_url.strip_prefix("http://") else {
        return (
            false,
            format!("cannot probe {self_url}: only http listeners are probed"),
        );
    };
    let guid = uuid::Uuid::new_v4();
    let path = format!("/scim/v2/{tenant}/Users?filter=userName+eq+%22{guid}%22");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: application/scim+json\r\nConnection: close\r\n\r\n"
    );
    let result = (|| -> std::io::Result<String> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(request.as_bytes())?;
        let mut response = String::new();
        stream.take(1 << 20).read_to_string(&mut response)?;
        Ok(response)
    })();
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            return (
                false,
                format!("Endpoint error: cannot reach the SCIM endpoint ({e})"),
            )
        }
    };
    let status: u16 = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    match status {
        200 if body.contains("\"totalResults\":0") => (
            true,
            "Connection test passed: the SCIM endpoint answered 200 with an empty ListResponse".into(),
        ),
        200 => (false, "Endpoint error: 200 but not an empty ListResponse".into()),
        401 => (false, "Bad token: the SCIM endpoint answered 401 (invalid, revoked or expired token, or a token of another tenant)".into()),
        403 => (false, "Provisioning is off: the SCIM endpoint answered 403. Turn it on in Tenant settings".into()),
        s => (false, format!("Endpoint error: the SCIM endpoint answered {s}")),
    }
}
