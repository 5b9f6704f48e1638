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
