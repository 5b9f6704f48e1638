//! The load benchmark's ceiling: a bare actix-web server with scimd's HTTP settings (same
//! runtime set-up, worker count, shutdown timeout) and no SCIM work at all. Every GET, on
//! any path, answers 200 with a fixed small JSON body of type `application/scim+json`; other
//! methods answer 405. What scimd reaches as a fraction of this is the cost of SCIM (auth,
//! store, JSON) on top of HTTP on this machine.
//!
//! Usage: `cargo run --release --example ceiling -- [LISTEN]` (default 127.0.0.1:8089);
//! `SCIMD_WORKERS` sets the worker threads as it does for scimd (default: scimd's,
//! [`scimd::server::default_workers`]).

use actix_web::http::header;
use actix_web::{web, App, HttpResponse, HttpServer};

const BODY: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}"#;

async fn fixed() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/scim+json"))
        .body(BODY)
}

fn main() -> std::io::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8089".to_string());
    let workers = std::env::var("SCIMD_WORKERS")
        .ok()
        .and_then(|w| w.parse::<usize>().ok());
    actix_web::rt::System::new().block_on(async move {
        // As scimd::server::serve: App per worker, 30 s shutdown timeout, its worker count.
        let server = HttpServer::new(|| {
            App::new().default_service(web::route().guard(actix_web::guard::Get()).to(fixed))
        })
        .shutdown_timeout(30)
        .workers(
            workers
                .unwrap_or_else(scimd::server::default_workers)
                .max(1),
        );
        server.bind(&listen)?.run().await
    })
}
