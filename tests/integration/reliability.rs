//! Overload and operations: per-tenant rate limits answer 429 with Retry-After (never a
//! 5xx) and service resumes; /metrics exposes what operators need.

use std::time::Duration;

use actix_web::http::StatusCode;

use crate::both_backends;
use crate::support::TestEnv;
use scimd::http::rate_limit::{Limits, RateLimiter};

both_backends!(
    burst_above_the_rate_gets_429_then_resumes,
    |env: TestEnv| async move {
        let mut env = env;
        env.state.rate_limiter = RateLimiter::new(Limits {
            rate: 2.0,
            burst: 5.0,
            max_concurrent: 100,
        });
        let mut ok = 0;
        let mut limited = 0;
        let started = std::time::Instant::now();
        for _ in 0..20 {
            let r = env.get("/Users?count=1").await;
            match r.status.as_u16() {
                200 => ok += 1,
                429 => {
                    limited += 1;
                    r.assert_error(429, None);
                    let retry: u64 = r
                        .header("retry-after")
                        .expect("Retry-After")
                        .parse()
                        .unwrap();
                    assert!(retry >= 1, "{retry}");
                }
                s => panic!("unexpected status {s}: {}", r.raw),
            }
        }
        // The burst, plus what the bucket refilled (2 a second) while the loop ran: a
        // slow machine gets more through, never fewer.
        let refilled = (started.elapsed().as_secs_f64() * 2.0).ceil() as usize;
        assert!(
            (5..=5 + refilled).contains(&ok),
            "ok={ok}, refilled={refilled}"
        );
        assert!(limited > 0);
        assert_eq!(ok + limited, 20);
        // Another tenant is not affected by this tenant's burst.
        let (other_tenant, other_token, _) = env.new_tenant("Other").await;
        let other = env
            .get_as(&other_tenant, &other_token, "/Users?count=1")
            .await;
        assert_eq!(other.status, StatusCode::OK, "{}", other.raw);
        // This tenant resumes once its bucket has refilled.
        actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
        let r = env.get("/Users?count=1").await;
        assert_eq!(r.status, StatusCode::OK, "service resumes: {}", r.raw);
        let metrics = env
            .send(actix_web::http::Method::GET, "/metrics", None, &[])
            .await;
        assert!(metrics.raw.contains(&format!(
            "scimd_rate_limited_total{{tenant=\"{}\"}}",
            env.tenant_id
        )));
    }
);

both_backends!(
    metrics_count_requests_and_auth_failures,
    |env: TestEnv| async move {
        env.get("/Users").await;
        env.get("/Groups/no-such-id").await;
        env.get("/Nope").await;
        let bad = env
            .send(
                actix_web::http::Method::GET,
                &format!("{}/Users", env.base()),
                None,
                &[("authorization", "Bearer nope".to_string())],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
        let m = env
            .send(actix_web::http::Method::GET, "/metrics", None, &[])
            .await;
        assert_eq!(m.status, StatusCode::OK);
        assert!(
            m.raw.contains("scimd_token_auth_failures_total 1"),
            "{}",
            m.raw
        );
        assert!(
        m.raw.contains(&format!(
            "scimd_http_requests_total{{method=\"GET\",route=\"/scim/v2/{{tenant}}/Users\",status=\"200\",tenant=\"{}\"}} 1",
            env.tenant_id
        )),
        "{}",
        m.raw
    );
        for (route, status) in [("/scim/v2/{tenant}/Groups/{id}", 404), ("unmatched", 404)] {
            let line = format!(
                "scimd_http_requests_total{{method=\"GET\",route=\"{route}\",status=\"{status}\",tenant=\"{}\"}} 1",
                env.tenant_id
            );
            assert!(m.raw.contains(&line), "{line}\n{}", m.raw);
        }
        // A failed authentication names no tenant.
        assert!(
            m.raw
                .contains("route=\"/scim/v2/{tenant}/Users\",status=\"401\",tenant=\"\"} 1"),
            "{}",
            m.raw
        );
        assert!(
            m.raw.contains("scimd_db_pool_connections{state=\"max\"} 8"),
            "{}",
            m.raw
        );
        // A token never appears in metrics.
        assert!(!m.raw.contains(&env.token));
    }
);

/// PostgreSQL connections are not checked on every checkout; one whose server session was
/// cut is dropped after the request that found it dead, and one idle for over a second is
/// checked (and replaced) before use, so a server restart during a quiet time fails nothing
/// (without that check, the last `ping` fails).
#[actix_web::test]
async fn postgres_connections_cut_by_the_server_are_replaced() {
    use diesel::{Connection, RunQueryDsl};
    let Some(db) = crate::support::TestDb::new(crate::support::Backend::Postgres) else {
        return;
    };
    let crate::support::TestDb::Postgres { admin_url, url, .. } = &db else {
        unreachable!()
    };
    let app = format!("scimd_{}", uuid::Uuid::new_v4().simple());
    let url = format!("{url}&application_name={app}");
    // One connection, so that the pool cannot hand out a different, live one.
    let store = actix_web::web::block(move || scimd::store::Store::open(&url, 1))
        .await
        .unwrap()
        .expect("open store");
    let cut = || {
        let mut admin = diesel::pg::PgConnection::establish(admin_url).expect("connect");
        let n = diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{app}'"
        ))
        .execute(&mut admin)
        .expect("terminate");
        assert_eq!(n, 1, "exactly the store's one connection is cut");
    };
    assert!(store.ping());

    // Cut while in use: the next request may fail (503), the one after gets a new connection.
    cut();
    let _ = store.ping();
    assert!(store.ping(), "the dead connection was reused");

    // Cut while idle: checked on checkout, nothing fails.
    actix_web::rt::time::sleep(Duration::from_millis(1200)).await;
    cut();
    assert!(
        store.ping(),
        "an idle dead connection was handed out unchecked"
    );
}

/// The binary allocates with mimalloc, set (before `main`) not to commit its arenas whole
/// and to give freed memory back at once: otherwise freed pages stay in RSS (peak 146-166 MiB
/// on 100 000 users against 92-97 MiB). mimalloc prints its options by name when
/// `MIMALLOC_VERBOSE` is set, so this also catches an upgrade that renumbers them (the binary
/// sets them by number).
#[test]
fn the_allocator_is_configured() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimd"))
        .arg("--version")
        .env("MIMALLOC_VERBOSE", "1")
        .output()
        .expect("runs the scimd binary");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let option = |name: &str| {
        stderr
            .lines()
            .find(|l| l.contains(&format!("option '{name}':")))
            .map(|l| l.rsplit(':').next().unwrap_or_default().trim().to_string())
    };
    assert_eq!(
        option("arena_eager_commit").as_deref(),
        Some("0"),
        "{stderr}"
    );
    assert_eq!(option("purge_delay").as_deref(), Some("0"), "{stderr}");
    // Only those two changed: their neighbours keep mimalloc's defaults.
    assert_eq!(option("purge_decommits").as_deref(), Some("1"), "{stderr}");
    assert_eq!(option("use_numa_nodes").as_deref(), Some("0"), "{stderr}");
}
