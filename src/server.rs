//! Starting the HTTP server: app factory, request ids and logging.

use std::time::Instant;

use actix_web::dev::Service;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, HttpMessage, HttpServer};

use crate::config::ServeConfig;
use crate::http::scim_router::Matched;
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

/// Gives every request an id (returned as `X-Request-Id`) and writes one access line with
/// it: request id, method, path, status and duration in microseconds (never headers, so
/// never a token). One event and no span per request: the span cost a third as much again
/// as the line (`docs/performance.md`).
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
    let start = Instant::now();
    let request_id = uuid::Uuid::new_v4();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let fut = srv.call(req);
    async move {
        let mut res = fut.await?;
        let status = res.status().as_u16();
        let elapsed = start.elapsed();
        let request = res.request();
        if let Some(state) = state {
            let method = request.method().as_str();
            let seconds = elapsed.as_secs_f64();
            // SCIM requests are routed by hand and say what they matched; the others (which
            // name no tenant) by actix.
            match request.extensions().get::<Matched>() {
                Some(m) => {
                    // Only known tenants get their own label (unknown ids would grow it
                    // without bound).
                    let tenant = if status != 401 { m.tenant.as_str() } else { "" };
                    let route = m.pattern.unwrap_or("unmatched");
                    state
                        .metrics
                        .record_request(method, route, status, tenant, seconds);
                }
                None => {
                    let route = request.match_pattern();
                    let route = route.as_deref().unwrap_or("unmatched");
                    state
                        .metrics
                        .record_request(method, route, status, "", seconds);
                }
            }
        }
        tracing::info!(
            request_id = %request_id.simple(),
            method = %request.method(),
            path = %request.path(),
            status,
            elapsed_us = elapsed.as_micros() as u64,
            "request"
        );
        let mut id = uuid::Uuid::encode_buffer();
        if let Ok(v) = HeaderValue::from_str(request_id.simple().encode_lower(&mut id)) {
            res.headers_mut()
                .insert(HeaderName::from_static("x-request-id"), v);
        }
        Ok(res)
    }
}

/// Runs the server until it is stopped.
pub async fn serve(config: ServeConfig, database_url: String) -> std::io::Result<()> {
    let pool_size = config.pool_size;
    let url = database_url.clone();
    let store = web::block(move || Store::open(&url, pool_size))
        .await
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)?;
    store.set_resource_cache_budget(config.resource_cache_mib.saturating_mul(1 << 20));
    let settings = config.http_settings();
    tracing::info!(
        listen = %config.listen,
        database = %redact_url(&database_url),
        public_url = %settings.public_url,
        "scimd serving"
    );
    announce_first_run(&store, &settings.public_url).await?;
    let control = start_control_socket(&store, &settings, &database_url);
    let retention = spawn_retention(store.clone(), config.log_retention_days);
    let state = AppState::new(store.clone(), settings);
    let mut server = HttpServer::new(move || scimd_app!(state.clone()))
        .shutdown_timeout(30)
        .disable_signals();
    server = server.workers(config.workers.unwrap_or_else(default_workers).max(1));
    let server = server.bind(&config.listen)?.run();
    let handle = server.handle();
    // SIGTERM and SIGINT alike: stop accepting, let in-flight requests finish (30 s at
    // most), then close the pools.
    actix_web::rt::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: draining in-flight requests");
        handle.stop(true).await;
    });
    let result = server.await;
    retention.abort();
    let _ = retention.await;
    // Joins its thread, which lets go of its store handle, and removes the socket file.
    let _ = web::block(move || drop(control)).await;
    close(store).await;
    result
}

/// On a SQLite file, the socket through which the CLI runs its commands in this server
/// ([`crate::control`]): with the file kept to this process, the CLI cannot open it. Without
/// the socket (a path too long for one, a directory not writable) the server still serves,
/// and says so.
fn start_control_socket(
    store: &Store,
    settings: &crate::config::HttpSettings,
    database_url: &str,
) -> Option<crate::control::ControlSocket> {
    let Ok(crate::store::DatabaseUrl::Sqlite(file)) =
        crate::store::DatabaseUrl::parse(database_url)
    else {
        return None;
    };
    let path = crate::control::socket_path(&file.path);
    match crate::control::ControlSocket::start(store.clone(), settings.clone(), path.clone()) {
        Ok(socket) => Some(socket),
        Err(e) => {
            tracing::warn!(
                socket = %path.display(),
                error = %e,
                "no control socket: the CLI cannot reach this server (use the console or the admin API)"
            );
            None
        }
    }
}

/// HTTP worker threads unless configured: two per core (actix's own default is one).
/// A SQLite read runs on the worker that took the request, and can block it (a page read
/// from the disk, the WAL index's mutex, a preemption while holding it): with two per core
/// the other worker of a core serves its connections meanwhile. On 2 cores, 4 workers
/// against 2: filter 1.18x, GET 1.23x, PATCH and page of 100 within the noise; the bare
/// actix ceiling gains nothing (docs/performance.md, Finding 17).
pub fn default_workers() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How long a stopped server waits for its workers to let go of the database.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Closes the database once `store` is its last handle. The HTTP workers drop theirs on
/// their own threads after the server has stopped; the process would otherwise exit with
/// the database still open, and SQLite would leave its write-ahead log to be recovered at
/// the next start instead of checkpointing and removing it.
async fn close(store: Store) {
    let deadline = Instant::now() + CLOSE_WAIT;
    while store.is_shared() && Instant::now() < deadline {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    if store.is_shared() {
        tracing::warn!("the database is still in use after the server stopped; exiting anyway");
    }
    // Joins the SQLite writer and checkpoint threads and closes the pool.
    let _ = web::block(move || drop(store)).await;
}

async fn shutdown_signal() {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM");
            let _ = actix_web::rt::signal::ctrl_c().await;
            return;
        }
    };
    first_of(term.recv(), actix_web::rt::signal::ctrl_c()).await;
}

/// Resolves when either future does.
async fn first_of<A: std::future::Future, B: std::future::Future>(a: A, b: B) {
    let a = std::pin::pin!(a);
    let b = std::pin::pin!(b);
    futures_util::future::select(a, b).await;
}

/// On a database without any console account, prints a one-time setup link (stdout only,
/// never the log: it is a secret).
async fn announce_first_run(store: &Store, public_url: &str) -> std::io::Result<()> {
    let store = store.clone();
    let link = web::block(move || -> Result<Option<String>, crate::ScimError> {
        if store.count_accounts()? > 0 {
            return Ok(None);
        }
        let secret = crate::console::random_secret();
        store.create_setup_link(&crate::token::digest(&secret), chrono::Utc::now())?;
        Ok(Some(secret))
    })
    .await
    .map_err(std::io::Error::other)?
    .map_err(std::io::Error::other)?;
    if let Some(secret) = link {
        println!(
            "First run: open {public_url}/console/setup?token={secret} to create the first tenant and its owner (the link works once)."
        );
    }
    Ok(())
}

/// Hourly (first at start): prunes provisioning and audit log rows older than the retention
/// and refreshes planner statistics, on the blocking pool (requests are never blocked by it).
fn spawn_retention(store: Store, days: i64) -> actix_web::rt::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut interval = actix_web::rt::time::interval(std::time::Duration::from_secs(3600));
        loop {
            interval.tick().await;
            let store = store.clone();
            let cutoff = chrono::Utc::now() - chrono::Duration::days(days.max(1));
            match web::block(move || {
                let pruned = store.prune_logs(cutoff)?;
                store.analyze()?;
                Ok::<_, crate::ScimError>(pruned)
            })
            .await
            {
                Ok(Ok(n)) if n > 0 => tracing::info!(rows = n, "pruned old log rows"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "log retention failed"),
                Err(e) => tracing::warn!(error = %e, "log retention failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use actix_web::{test, web, App};

    use crate::log_writer::captured::Captured;

    // In the unit tests (not the integration tests, whose parallel requests would race
    // this test's subscriber for tracing's global per-callsite interest cache).
    #[actix_web::test]
    async fn every_request_is_logged_once_with_its_id_and_never_its_headers() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(
            App::new()
                .wrap_fn(super::trace_request)
                .route("/scim/v2/{tenant}/Users", web::get().to(|| async { "[]" })),
        )
        .await;
        let mut ids = Vec::new();
        for (uri, status) in [("/scim/v2/t1/Users?count=0", 200), ("/elsewhere", 404)] {
            let req = test::TestRequest::get()
                .uri(uri)
                .insert_header(("authorization", "Bearer secret-token-value"))
                .to_request();
            let resp = test::call_service(&app, req).await;
            assert_eq!(resp.status().as_u16(), status);
            let id = resp
                .headers()
                .get("x-request-id")
                .expect("X-Request-Id")
                .to_str()
                .unwrap()
                .to_string();
            assert_eq!(id.len(), 32, "{id}");
            let log = captured.text();
            let lines: Vec<&str> = log.lines().filter(|l| l.contains(&id)).collect();
            assert_eq!(lines.len(), 1, "one access line per request:\n{log}");
            let path = uri.split('?').next().unwrap();
            for part in [
                " INFO ".to_string(),
                format!("request_id={id}"),
                "method=GET".to_string(),
                format!("path={path}"),
                format!("status={status}"),
                "elapsed_us=".to_string(),
            ] {
                assert!(lines[0].contains(&part), "{part} not in {}", lines[0]);
            }
            assert!(!log.contains("secret-token-value"), "{log}");
            ids.push(id);
        }
        assert_ne!(ids[0], ids[1]);
    }
}
