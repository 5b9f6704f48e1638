//! Bad input: every error is a SCIM error body with the right status and scimType, never a
//! 500, and the stored data is unchanged (read back after each).

use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{enc, patch_op, TestEnv};

/// Sends raw bytes with a content type to `path` under the tenant.
async fn raw(
    env: &TestEnv,
    method: Method,
    path: &str,
    body: Vec<u8>,
    content_type: &str,
) -> crate::support::Resp {
    env.send(
        method,
        &format!("{}{}", env.base(), path),
        Some(body),
        &[
            ("authorization", format!("Bearer {}", env.token)),
            ("content-type", content_type.to_string()),
        ],
    )
    .await
}

/// The user as stored, for before/after comparisons.
async fn snapshot(env: &TestEnv, id: &str) -> Value {
    env.get_ok(&format!("/Users/{id}")).await
}

both_backends!(bad_bodies_on_post_put_patch, |env: TestEnv| async move {
    let r = env
        .post("/Users", json!({"userName": "victim@example.com", "displayName": "Victim", "emails": [{"type": "work", "value": "v@example.com"}]}))
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let before = snapshot(&env, &id).await;
    let user = format!("/Users/{id}");

    // Malformed JSON → 400 invalidSyntax, on every body-taking method.
    for (m, p) in [
        (Method::POST, "/Users"),
        (Method::PUT, user.as_str()),
        (Method::PATCH, user.as_str()),
        (Method::POST, "/Users/.search"),
    ] {
        let r = raw(
            &env,
            m.clone(),
            p,
            b"{\"userName\": ".to_vec(),
            "application/scim+json",
        )
        .await;
        r.assert_error(400, Some("invalidSyntax"));
    }
    // Empty body.
    raw(
        &env,
        Method::POST,
        "/Users",
        Vec::new(),
        "application/scim+json",
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    // Invalid UTF-8.
    let mut bytes = b"{\"userName\": \"".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    bytes.extend_from_slice(b"\"}");
    raw(
        &env,
        Method::POST,
        "/Users",
        bytes.clone(),
        "application/scim+json",
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    // A JSON array / string instead of an object.
    env.post("/Users", json!(["userName"]))
        .await
        .assert_error(400, Some("invalidSyntax"));
    // Deeply nested JSON: just over the limit, and far beyond serde's recursion limit.
    for depth in [40usize, 100_000] {
        let body = format!(
            "{{\"userName\":\"deep\",\"name\":{}1{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        raw(
            &env,
            Method::POST,
            "/Users",
            body.into_bytes(),
            "application/scim+json",
        )
        .await
        .assert_error(400, Some("invalidSyntax"));
        let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        raw(
            &env,
            Method::PATCH,
            &user,
            body.into_bytes(),
            "application/scim+json",
        )
        .await
        .assert_error(400, Some("invalidSyntax"));
    }
    // 2 MiB → 413 (with and without a matching Content-Length).
    let big = format!(
        "{{\"userName\":\"big\",\"displayName\":\"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let r = raw(
        &env,
        Method::POST,
        "/Users",
        big.clone().into_bytes(),
        "application/scim+json",
    )
    .await;
    r.assert_error(413, None);
    let r = raw(
        &env,
        Method::PATCH,
        &user,
        big.into_bytes(),
        "application/scim+json",
    )
    .await;
    r.assert_error(413, None);
    // Wrong types → 400 invalidValue.
    for body in [
        json!({"userName": 42}),
        json!({"userName": "t1", "active": "yes"}),
        json!({"userName": "t2", "emails": [{"value": 5}]}),
        json!({"userName": "t3", "name": "not an object"}),
        json!({"userName": "t4", "emails": [{"value": "a"}, {"value": "b"}], "x": 1})
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.remove("x");
                o["emails"] =
                    json!([{"value": "a", "primary": true}, {"value": "b", "primary": true}]);
                Value::Object(o)
            })
            .unwrap(),
        json!({"userName": ""}),
        json!({"displayName": "no user name"}),
    ] {
        env.post("/Users", body.clone())
            .await
            .assert_error(400, Some("invalidValue"));
    }
    // Unknown attribute → 400 invalidSyntax; unknown schema URN → 400.
    env.post(
        "/Users",
        json!({"userName": "u1", "favouriteColour": "blue"}),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    env.post(
        "/Users",
        json!({"userName": "u2", "name": {"middleInitial": "Q"}}),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    env.post(
        "/Users",
        json!({"schemas": ["urn:example:unknown:2.0:User"], "userName": "u3"}),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    env.post(
        "/Users",
        json!({"userName": "u4", "urn:example:unknown:2.0:User": {"x": 1}}),
    )
    .await
    .assert_error(400, Some("invalidSyntax"));
    // Wrong Content-Type → 415.
    let body = json!({"userName": "plain@example.com"})
        .to_string()
        .into_bytes();
    raw(&env, Method::POST, "/Users", body.clone(), "text/plain")
        .await
        .assert_error(415, None);
    let patch = patch_op(json!([{"op": "Replace", "path": "displayName", "value": "X"}]))
        .to_string()
        .into_bytes();
    raw(&env, Method::PATCH, &user, patch.clone(), "text/plain")
        .await
        .assert_error(415, None);
    raw(&env, Method::PUT, &user, body.clone(), "application/xml")
        .await
        .assert_error(415, None);
    // application/json is fine (read back, then drop it again).
    let r = raw(
        &env,
        Method::POST,
        "/Users",
        body,
        "application/json; charset=utf-8",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    let plain = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        env.delete(&format!("/Users/{plain}")).await.status,
        StatusCode::NO_CONTENT
    );

    // Nothing above changed the user or created another.
    assert_eq!(snapshot(&env, &id).await, before);
    let list = env.get_ok("/Users").await;
    assert_eq!(list["totalResults"], 1, "{list}");
});

both_backends!(bad_patch_requests, |env: TestEnv| async move {
    let r = env
        .post(
            "/Users",
            json!({"userName": "patchme@example.com", "displayName": "P"}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let before = snapshot(&env, &id).await;
    let user = format!("/Users/{id}");
    let cases: Vec<(Value, &str)> = vec![
        // Read-only attributes.
        (
            patch_op(json!([{"op": "Replace", "path": "id", "value": "x"}])),
            "mutability",
        ),
        (
            patch_op(
                json!([{"op": "Replace", "path": "meta.created", "value": "2000-01-01T00:00:00Z"}]),
            ),
            "mutability",
        ),
        (
            patch_op(json!([{"op": "Remove", "path": "meta"}])),
            "mutability",
        ),
        (
            patch_op(json!([{"op": "Add", "path": "groups", "value": [{"value": "g"}]}])),
            "mutability",
        ),
        // Bad ops and shapes.
        (
            patch_op(json!([{"op": "Frobnicate", "path": "displayName", "value": "x"}])),
            "invalidSyntax",
        ),
        (
            patch_op(json!([{"path": "displayName", "value": "x"}])),
            "invalidSyntax",
        ),
        (patch_op(json!([])), "invalidSyntax"),
        (
            json!({"Operations": [{"op": "replace", "path": "displayName", "value": "x"}]}),
            "invalidSyntax",
        ),
        (patch_op(json!({"op": "replace"})), "invalidSyntax"),
        // Paths and values.
        (
            patch_op(json!([{"op": "Replace", "path": "favouriteColour", "value": "x"}])),
            "invalidPath",
        ),
        (
            patch_op(json!([{"op": "Replace", "path": "emails[type eq", "value": "x"}])),
            "invalidPath",
        ),
        (
            patch_op(json!([{"op": "Replace", "path": "displayName", "value": 5}])),
            "invalidValue",
        ),
        (
            patch_op(json!([{"op": "Remove", "path": "userName"}])),
            "invalidValue",
        ),
        (
            patch_op(json!([{"op": "Replace", "value": "not an object"}])),
            "invalidValue",
        ),
        // Atomic: the first op is valid, the second is not → nothing is applied.
        (
            patch_op(json!([
            {"op": "Replace", "path": "displayName", "value": "Half"},
            {"op": "Replace", "path": "id", "value": "x"}])),
            "mutability",
        ),
    ];
    for (body, scim_type) in cases {
        let r = env.patch(&user, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.raw);
        r.assert_error(400, Some(scim_type));
    }
    assert_eq!(
        snapshot(&env, &id).await,
        before,
        "no PATCH above changed anything"
    );
});

both_backends!(bad_filters_and_queries, |env: TestEnv| async move {
    env.create_user("filter@example.com").await;
    for f in [
        "userName eq",
        "userName xx \"a\"",
        "(userName eq \"a\"",
        "userName eq \"a\" and",
        "emails[type eq \"work\"",
        "name eq \"complex\"",
        "favouriteColour eq \"blue\"",
        "meta.created gt \"yesterday\"",
        "active gt true",
    ] {
        let r = env.get(&format!("/Users?filter={}", enc(f))).await;
        r.assert_error(400, Some("invalidFilter"));
        let r = env.post("/Users/.search", json!({"filter": f})).await;
        r.assert_error(400, Some("invalidFilter"));
    }
    env.get("/Users?sortBy=favouriteColour")
        .await
        .assert_error(400, Some("invalidValue"));
    env.get("/Users?startIndex=x")
        .await
        .assert_error(400, Some("invalidValue"));
    env.post("/Users/.search", json!({"count": "many"}))
        .await
        .assert_error(400, Some("invalidValue"));
    env.post("/Users/.search", json!(["x"]))
        .await
        .assert_error(400, Some("invalidSyntax"));
});

both_backends!(
    unknown_and_unsupported_endpoints,
    |env: TestEnv| async move {
        for path in [
            "/Nope",
            "/Users/abc/def",
            "/Groups/x/y/z",
            "/users2",
            "/users",
            "/Users/",
            "/Me/x",
        ] {
            let r = env.get(path).await;
            r.assert_error(404, None);
            assert!(r.raw.contains("No SCIM endpoint at"), "{path}: {}", r.raw);
        }
        // An id is one segment, percent-decoded: an encoded slash stays in it.
        let r = env.get("/Users/abc%2Fdef").await;
        r.assert_error(404, None);
        assert!(r.raw.contains("User not found"), "{}", r.raw);
        for path in ["/Me", "/Bulk"] {
            env.get(path).await.assert_error(501, None);
            env.post(path, json!({})).await.assert_error(501, None);
        }
        for path in [
            "/ServiceProviderConfig",
            "/Schemas",
            "/ResourceTypes",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            "/ResourceTypes/User",
        ] {
            env.post(path, json!({})).await.assert_error(405, None);
            env.put(path, json!({})).await.assert_error(405, None);
            env.delete(path).await.assert_error(405, None);
        }
        // Methods a resource does not have: a SCIM 405.
        env.delete("/Users").await.assert_error(405, None);
        env.put("/Groups", json!({})).await.assert_error(405, None);
        env.get("/Users/.search").await.assert_error(405, None);
        env.get("/.search").await.assert_error(405, None);
        env.post("/Users/some-id", json!({}))
            .await
            .assert_error(405, None);
        // Outside the SCIM scope: still JSON, not an HTML page.
        let r = env.send(Method::GET, "/scim/v2", None, &[]).await;
        assert!(r.status.is_client_error());
        assert!(!r.raw.contains("<html"), "{}", r.raw);
        // Unknown tenant with a token: 401, as for any bad credential.
        let r = env
            .send(
                Method::GET,
                "/scim/v2/00000000-0000-0000-0000-000000000000/Nope",
                None,
                &[("authorization", format!("Bearer {}", env.token))],
            )
            .await;
        r.assert_error(401, None);
    }
);
