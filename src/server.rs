//! Starting the HTTP server: app factory, request ids and logging.

use std::time::Instant;

use actix_web::dev::Service;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, HttpServer};
use tracing::Instrument;

use crate::config::{HttpSettings, ServeConfig};
use crate::http::AppState;
use crate::store::{redact_url, Store};

/// Builds the actix `App` for a state (used by `serve` and by tests).
#[macro_export]
macro_rules! scimd_app {
    ($state:expr) => {
        actix_web::App::new()
            .app_data(actix_web::web::Data::new($state))
            .wrap_fn($crate::server::trace_request)
            .configure($crate::http::configure)
    };
}

/// Per-request span with a request id; logs method, path, status and duration (never
/// headers, so never a token).
pub fn trace_request<S, B>(
    req: actix_web::dev::ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>>
where
    S: Service<
        actix_web::dev::ServiceRequest,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
{
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.path()
    );
    let start = Instant::now();
    let fut = {
        let _enter = span.enter();
        srv.call(req)
    };
    async move {
        let mut res = fut.await?;
        tracing::info!(
            status = res.status().as_u16(),
            elapsed_ms = start.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            res.headers_mut()
                .insert(HeaderName::from_static("x-request-id"), v);
        }
        Ok(res)
    }
    .instrument(span)
}

/// Runs the server until it is stopped.
pub async fn serve(config: ServeConfig, database_url: String) -> std::io::Result<()> {
    let pool_size = config.pool_size;
    let url = database_url.clone();
    let store = web::block(move || Store::open(&url, pool_size))
        .await
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)?;
    let settings = HttpSettings {
        public_url: config.public_url(),
        max_body_bytes: config.max_body_bytes,
    };
    tracing::info!(
        listen = %config.listen,
        database = %redact_url(&database_url),
        public_url = %settings.public_url,
        "scimd serving"
    );
    let state = AppState::new(store, settings);
    let mut server = HttpServer::new(move || {
        scimd_app!(state.clone())
    })
    .shutdown_timeout(30);
    if let Some(w) = config.workers {
        server = server.workers(w.max(1));
    }
    server.bind(&config.listen)?.run().await
}

