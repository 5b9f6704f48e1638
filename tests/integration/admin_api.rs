//! The admin JSON API: session auth, CSRF header, roles, object-level checks, OpenAPI.

use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{Resp, TestEnv};
use scimd::store::console::Role;

use crate::support::CONSOLE_PASSWORD as PASSWORD;

/// Creates an account of `tenant` with `role` and a session; returns (cookie, csrf).
async fn sign_in(env: &TestEnv, tenant: &str, email: &str, role: Role) -> (String, String) {
    let s = env.console_sign_in(tenant, email, role);
    (s.cookie, s.csrf)
}

async fn call(
    env: &TestEnv,
    method: Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let mut headers = vec![
        ("cookie", cookie.to_string()),
        ("content-type", "application/json".to_string()),
    ];
    if let Some(c) = csrf {
        headers.push(("x-csrf-token", c.to_string()));
    }
    env.send(
        method,
        path,
        body.map(|b| b.to_string().into_bytes()),
        &headers,
    )
    .await
}

both_backends!(
    openapi_document_lists_the_operations,
    |env: TestEnv| async move {
        let r = env
            .send(Method::GET, "/api/v1/openapi.json", None, &[])
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
        for p in [
            "/api/v1/session",
            "/api/v1/tenant",
            "/api/v1/tokens",
            "/api/v1/tokens/{id}/revoke",
            "/api/v1/provisioning-log",
        ] {
            assert!(r.body["paths"].get(p).is_some(), "missing {p}");
        }
    }
);

both_backends!(
    api_needs_a_session_and_csrf_header,
    |env: TestEnv| async move {
        let r = env.send(Method::GET, "/api/v1/tokens", None, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.body["status"], 401);
        assert_eq!(r.header("x-frame-options"), Some("DENY"));

        let tenant = env.tenant_id.clone();
        let (cookie, csrf) = sign_in(&env, &tenant, "owner@acme.test", Role::Owner).await;
        let s = call(&env, Method::GET, "/api/v1/session", &cookie, None, None).await;
        assert_eq!(s.body["csrf_token"], csrf);
        assert_eq!(s.body["role"], "owner");

        let body = json!({"name": "ci", "password": PASSWORD});
        let before = call(&env, Method::GET, "/api/v1/tokens", &cookie, None, None).await;
        let n = before.body.as_array().unwrap().len();
        let r = call(
            &env,
            Method::POST,
            "/api/v1/tokens",
            &cookie,
            None,
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.raw);
        let r = call(
            &env,
            Method::POST,
            "/api/v1/tokens",
            &cookie,
            Some("wrong"),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let after = call(&env, Method::GET, "/api/v1/tokens", &cookie, None, None).await;
        assert_eq!(
            after.body.as_array().unwrap().len(),
            n,
            "nothing created without CSRF"
        );

        // Wrong password: refused, nothing stored.
        let r = call(
            &env,
            Method::POST,
            "/api/v1/tokens",
            &cookie,
            Some(&csrf),
            Some(json!({"name": "x", "password": "wrong password"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        let r = call(
            &env,
            Method::POST,
            "/api/v1/tokens",
            &cookie,
            Some(&csrf),
            Some(body),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        let token = r.body["token"].as_str().unwrap().to_string();
        let token_id = r.body["token_id"].as_str().unwrap().to_string();
        // The new token works on the tenant's SCIM link...
        let probe = env
            .send(
                Method::GET,
                &format!("{}/Users", env.base()),
                None,
                &[("authorization", format!("Bearer {token}"))],
            )
            .await;
        assert_eq!(probe.status, StatusCode::OK);
        // ...is listed without its secret...
        let list = call(&env, Method::GET, "/api/v1/tokens", &cookie, None, None).await;
        assert!(!list.raw.contains(&token));
        let row = list
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == token_id.as_str())
            .unwrap()
            .clone();
        assert_eq!(row["status"], "active");
        // ...and stops working at once when revoked.
        let r = call(
            &env,
            Method::POST,
            &format!("/api/v1/tokens/{token_id}/revoke"),
            &cookie,
            Some(&csrf),
            Some(json!({"password": PASSWORD})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(r.body["status"], "revoked");
        let probe = env
            .send(
                Method::GET,
                &format!("{}/Users", env.base()),
                None,
                &[("authorization", format!("Bearer {token}"))],
            )
            .await;
        probe.assert_error(401, None);
    }
);

both_backends!(roles_and_tenants_are_enforced, |env: TestEnv| async move {
    let tenant = env.tenant_id.clone();
    let (owner, owner_csrf) = sign_in(&env, &tenant, "owner@acme.test", Role::Owner).await;
    let (admin, admin_csrf) = sign_in(&env, &tenant, "admin@acme.test", Role::Admin).await;
    let (viewer, viewer_csrf) = sign_in(&env, &tenant, "viewer@acme.test", Role::Viewer).await;
    let (other_tenant, _, other_token_id) = env.new_tenant("Other").await;
    let (other_owner, other_csrf) =
        sign_in(&env, &other_tenant, "owner@other.test", Role::Owner).await;

    let body = json!({"name": "t", "password": PASSWORD});
    let r = call(
        &env,
        Method::POST,
        "/api/v1/tokens",
        &viewer,
        Some(&viewer_csrf),
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "viewers cannot generate");
    let r = call(
        &env,
        Method::POST,
        "/api/v1/tokens",
        &owner,
        Some(&owner_csrf),
        Some(body.clone()),
    )
    .await;
    let owners_token = r.body["token_id"].as_str().unwrap().to_string();
    let r = call(
        &env,
        Method::POST,
        "/api/v1/tokens",
        &admin,
        Some(&admin_csrf),
        Some(body),
    )
    .await;
    let admins_token = r.body["token_id"].as_str().unwrap().to_string();

    let ids = |r: &Resp| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let owner_sees = ids(&call(&env, Method::GET, "/api/v1/tokens", &owner, None, None).await);
    assert!(
        owner_sees.contains(&owners_token)
            && owner_sees.contains(&admins_token)
            && owner_sees.contains(&env.token_id)
    );
    let admin_sees = ids(&call(&env, Method::GET, "/api/v1/tokens", &admin, None, None).await);
    assert_eq!(admin_sees, vec![admins_token.clone()]);
    // An admin cannot revoke the owner's token; nobody can revoke another tenant's.
    let r = call(
        &env,
        Method::POST,
        &format!("/api/v1/tokens/{owners_token}/revoke"),
        &admin,
        Some(&admin_csrf),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(
        &env,
        Method::POST,
        &format!("/api/v1/tokens/{other_token_id}/revoke"),
        &owner,
        Some(&owner_csrf),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let other = call(
        &env,
        Method::GET,
        "/api/v1/tokens",
        &other_owner,
        None,
        None,
    )
    .await;
    assert_eq!(
        other.body[0]["status"], "generated",
        "other tenant's token untouched"
    );
    // Settings: the other tenant's owner changes only its own tenant.
    let r = call(
        &env,
        Method::PUT,
        "/api/v1/tenant",
        &other_owner,
        Some(&other_csrf),
        Some(json!({"name": "Renamed", "provisioning_enabled": false})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.body["id"], other_tenant.as_str());
    let mine = call(&env, Method::GET, "/api/v1/tenant", &owner, None, None).await;
    assert_eq!(mine.body["name"], "Acme");
    assert_eq!(mine.body["provisioning_enabled"], true);
    assert_eq!(
        mine.body["scim_url"],
        format!("https://scimd.example/scim/v2/{tenant}")
    );
    // Bad Entra tenant id: 400, nothing changed.
    let r = call(
        &env,
        Method::PUT,
        "/api/v1/tenant",
        &owner,
        Some(&owner_csrf),
        Some(json!({"name": "X", "entra_tenant_id": "not-a-guid", "provisioning_enabled": true})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let mine = call(&env, Method::GET, "/api/v1/tenant", &owner, None, None).await;
    assert_eq!(mine.body["name"], "Acme");
});
