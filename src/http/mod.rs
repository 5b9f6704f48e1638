//! HTTP: routes, SCIM error rendering, request-body rules. Handlers are thin: they parse
//! the request, call the domain and the store, and render the result.

pub mod auth;
pub mod discovery;
pub mod rate_limit;
pub mod scim;
pub mod scim_router;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::Value;

use crate::config::HttpSettings;
use crate::error::ScimError;
use crate::store::Store;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// The clock, injectable for tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Shared state of all workers.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<HttpSettings>,
    pub clock: Clock,
    /// When each token's last use was last written (to write it about once a minute).
    pub token_touches: Arc<Mutex<HashMap<String, Instant>>>,
    pub rate_limiter: Arc<rate_limit::RateLimiter>,
    pub auth_cache: Arc<auth::AuthCache>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl AppState {
    pub fn new(store: Store, settings: HttpSettings) -> AppState {
        AppState {
            store,
            rate_limiter: rate_limit::RateLimiter::new(settings.limits),
            auth_cache: Arc::new(auth::auth_cache()),
            metrics: Arc::new(crate::metrics::Metrics::default()),
            settings: Arc::new(settings),
            clock: Arc::new(Utc::now),
            token_touches: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if self.status >= 500 {
            tracing::error!(status = self.status, detail = %self.detail, "request failed");
        } else {
            tracing::debug!(status = self.status, detail = %self.detail, "request rejected");
        }
        let mut resp = HttpResponse::build(self.status_code());
        resp.insert_header((header::CONTENT_TYPE, SCIM_CONTENT_TYPE));
        if self.status == 401 {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"scimd\""));
        }
        if let Some(secs) = self.retry_after {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        resp.body(self.to_json().to_string())
    }
}

/// A SCIM JSON response.
pub fn scim_json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, SCIM_CONTENT_TYPE))
        .body(body.to_string())
}

/// Runs blocking store work on the blocking pool.
pub async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, ScimError> + Send + 'static,
) -> Result<R, ScimError> {
    web::block(f)
        .await
        .map_err(|e| ScimError::internal(format!("blocking task failed: {e}")))?
}

/// Runs a request's store reads: inline on SQLite, on the blocking pool on PostgreSQL.
///
/// An indexed read of a local SQLite file (WAL: readers never wait for the writer) takes
/// microseconds, less than the two thread switches of a hop to the blocking pool and back,
/// which were most of the cost of a GET. PostgreSQL reads wait on the network, so they
/// leave the worker free meanwhile. Writes never run on the worker ([`write`]): they may
/// wait for the writers' turn or a disk sync.
pub async fn read<R: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> Result<R, ScimError> + Send + 'static,
) -> Result<R, ScimError> {
    match state.store.dialect() {
        crate::store::Dialect::Sqlite => f(),
        crate::store::Dialect::Postgres => blocking(f).await,
    }
}

/// Runs a store write that owns what it needs: on SQLite's writer thread, awaited without
/// holding a thread (`store::write_queue`); on the blocking pool on PostgreSQL.
pub async fn write<R: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&mut crate::store::Conn<'_>) -> Result<R, ScimError> + Send + 'static,
) -> Result<R, ScimError> {
    if state.store.has_write_queue() {
        state.store.queued_write(work).await
    } else {
        let store = state.store.clone();
        blocking(move || store.write(work)).await
    }
}

/// Checks the media type: `application/scim+json` or `application/json`, any parameters;
/// a missing Content-Type is tolerated.
fn check_media_type(req: &HttpRequest) -> Result<(), ScimError> {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ct = ct.to_str().unwrap_or_default();
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/scim+json" || essence == "application/json" {
        Ok(())
    } else {
        Err(ScimError::unsupported_media_type(format!(
            "unsupported Content-Type '{ct}': send application/scim+json or application/json"
        )))
    }
}

/// Reads and parses a JSON request body, within the size limit.
pub async fn read_json(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Value, ScimError> {
    check_media_type(req)?;
    let too_large = || ScimError::payload_too_large(format!("request body exceeds {limit} bytes"));
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(too_large());
        }
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ScimError::invalid_syntax(format!("cannot read request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(ScimError::invalid_syntax("the request body is empty"));
    }
    serde_json::from_slice(&body)
        .map_err(|e| ScimError::invalid_syntax(format!("malformed JSON: {e}")))
}

/// The value of a request header, if it is valid text.
pub fn header_str(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    req.headers()
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    match web::block(move || store.ping()).await {
        Ok(true) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        _ => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unreachable"),
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(
            state
                .metrics
                .render(state.store.pool_state(), state.store.resource_cache_stats()),
        )
}

async fn not_found() -> Result<HttpResponse, ScimError> {
    Err(ScimError::not_found("No such endpoint"))
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .service(scim::scope())
        .service(crate::console::scope())
        .service(crate::api::scope())
        .default_service(web::to(not_found));
}
