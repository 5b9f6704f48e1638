//! Smoke tests of the SCIM surface: probe, create, read, 401.

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use crate::both_backends;
use crate::support::TestEnv;

both_backends!(
    test_connection_probe_is_an_empty_list,
    |env: TestEnv| async move {
        let r = env
            .get("/Users?filter=userName+eq+%22cf4d78e8-cc4f-4d5d-b8b9-183561c0104a%22")
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.body,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []
            })
        );
        assert_eq!(r.header("content-type"), Some("application/scim+json"));
    }
);

both_backends!(bad_tokens_get_identical_401s, |env: TestEnv| async move {
    let (other_tenant, other_token, _) = env.new_tenant("Other").await;
    let path = format!("{}/Users", env.base());
    let cases = [
        None,
        Some("Bearer nonsense".to_string()),
        Some(format!("Bearer {other_token}")),
        Some(format!("Basic {}", env.token)),
    ];
    let mut bodies = Vec::new();
    for auth in cases {
        let headers: Vec<(&str, String)> = auth.into_iter().map(|a| ("authorization", a)).collect();
        let r = env.send(Method::GET, &path, None, &headers).await;
        r.assert_error(401, None);
        assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"scimd\""));
        bodies.push(r.raw);
    }
    // The other tenant's own URL with this tenant's token: same 401.
    let r = env
        .send(
            Method::GET,
            &format!("/scim/v2/{other_tenant}/Users"),
            None,
            &[("authorization", format!("Bearer {}", env.token))],
        )
        .await;
    bodies.push(r.raw);
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
});

/// Captures what a tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn every_request_is_logged_once_with_its_id_and_never_its_token() {
    let Some(env) = TestEnv::new(crate::support::Backend::Sqlite).await else {
        return;
    };
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let found = env.get("/Users?filter=userName%20eq%20%22nobody%22").await;
    let refused = env
        .send(
            Method::GET,
            &format!("{}/Users", env.base()),
            None,
            &[("authorization", "Bearer wrong".to_string())],
        )
        .await;
    drop(guard);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(!log.contains(&env.token), "the token is in the log:\n{log}");
    for (r, status) in [(&found, 200), (&refused, 401)] {
        let id = r.header("x-request-id").expect("X-Request-Id");
        assert_eq!(id.len(), 32, "{id}");
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(id)).collect();
        assert_eq!(lines.len(), 1, "one access line per request:\n{log}");
        let line = lines[0];
        for part in [
            " INFO ".to_string(),
            format!("request_id={id}"),
            "method=GET".to_string(),
            format!("path=/scim/v2/{}/Users", env.tenant_id),
            format!("status={status}"),
            "elapsed_us=".to_string(),
        ] {
            assert!(line.contains(&part), "{part} not in {line}");
        }
    }
    assert_ne!(found.header("x-request-id"), refused.header("x-request-id"));
}
