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

/// The audit log's (action, detail) pairs, newest first.
async fn audit_entries(env: &TestEnv, cookie: &str) -> Vec<(String, String)> {
    let r = call(env, Method::GET, "/api/v1/audit-log", cookie, None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    r.body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn names(r: &Resp) -> Vec<String> {
    r.body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

both_backends!(
    openapi_document_lists_the_new_operations,
    |env: TestEnv| async move {
        let r = env
            .send(Method::GET, "/api/v1/openapi.json", None, &[])
            .await;
        assert_eq!(r.status, StatusCode::OK);
        for (p, methods) in [
            ("/api/v1/companies", &["get", "post"][..]),
            ("/api/v1/companies/{id}", &["put", "delete"]),
            ("/api/v1/roles", &["get", "post"]),
            ("/api/v1/roles/{id}", &["put", "delete"]),
            ("/api/v1/configurations", &["get", "post"]),
            ("/api/v1/configurations/{id}", &["put", "delete"]),
            ("/api/v1/configurations/{id}/default", &["post"]),
            ("/api/v1/users", &["get"]),
            ("/api/v1/users/{id}", &["get"]),
            ("/api/v1/groups", &["get"]),
            ("/api/v1/accounts", &["get", "post"]),
            ("/api/v1/accounts/{id}", &["delete"]),
            ("/api/v1/audit-log", &["get"]),
        ] {
            for m in methods {
                assert!(
                    r.body["paths"][p].get(*m).is_some(),
                    "missing {m} {p}: {}",
                    r.body["paths"]
                );
            }
        }
        for s in [
            "NamedInfo",
            "ConfigurationInfo",
            "ConfigurationRequest",
            "ResourcePage",
            "AccountInfo",
            "InviteRequest",
            "LogEntry",
        ] {
            assert!(
                r.body["components"]["schemas"].get(s).is_some(),
                "missing schema {s}"
            );
        }
    }
);

both_backends!(
    api_companies_roles_and_configurations,
    |env: TestEnv| async move {
        let tenant = env.tenant_id.clone();
        let (owner, csrf) = sign_in(&env, &tenant, "owner@acme.test", Role::Owner).await;
        let (viewer, viewer_csrf) = sign_in(&env, &tenant, "viewer@acme.test", Role::Viewer).await;
        let (other_tenant, _, _) = env.new_tenant("Other").await;
        let (other, other_csrf) =
            sign_in(&env, &other_tenant, "owner@other.test", Role::Owner).await;
        let get = |path: &'static str, cookie: String| {
            let env = &env;
            async move { call(env, Method::GET, path, &cookie, None, None).await }
        };

        // No CSRF header, or a viewer: refused, nothing stored.
        let body = json!({"name": "Acme Corp"});
        let r = call(
            &env,
            Method::POST,
            "/api/v1/companies",
            &owner,
            None,
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.raw);
        let r = call(
            &env,
            Method::POST,
            "/api/v1/companies",
            &viewer,
            Some(&viewer_csrf),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.raw);
        assert_eq!(r.body["status"], 403);
        let r = get("/api/v1/companies", owner.clone()).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(names(&r).is_empty(), "nothing stored: {}", r.raw);

        // Add, read back, duplicate (ignoring case) → 409.
        let r = call(
            &env,
            Method::POST,
            "/api/v1/companies",
            &owner,
            Some(&csrf),
            Some(body),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        assert_eq!(r.body["name"], "Acme Corp");
        let company = r.body["id"].as_str().unwrap().to_string();
        assert_eq!(
            names(&get("/api/v1/companies", viewer.clone()).await),
            ["Acme Corp"]
        );
        let r = call(
            &env,
            Method::POST,
            "/api/v1/companies",
            &owner,
            Some(&csrf),
            Some(json!({"name": "acme corp"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.raw);
        let r = call(
            &env,
            Method::POST,
            "/api/v1/companies",
            &owner,
            Some(&csrf),
            Some(json!({"name": "  "})),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.raw);

        // Rename: CSRF, viewer, other tenant refused; then done.
        let path = format!("/api/v1/companies/{company}");
        let rename = json!({"name": "Acme Group"});
        let r = call(&env, Method::PUT, &path, &owner, None, Some(rename.clone())).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = call(
            &env,
            Method::PUT,
            &path,
            &viewer,
            Some(&viewer_csrf),
            Some(rename.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = call(
            &env,
            Method::PUT,
            &path,
            &other,
            Some(&other_csrf),
            Some(rename.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.raw);
        let r = call(&env, Method::DELETE, &path, &other, Some(&other_csrf), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.raw);
        assert_eq!(
            names(&get("/api/v1/companies", owner.clone()).await),
            ["Acme Corp"]
        );
        assert!(names(&get("/api/v1/companies", other.clone()).await).is_empty());
        let r = call(&env, Method::PUT, &path, &owner, Some(&csrf), Some(rename)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(r.body, json!({"id": company, "name": "Acme Group"}));
        assert_eq!(
            names(&get("/api/v1/companies", owner.clone()).await),
            ["Acme Group"]
        );

        // Roles.
        let r = call(
            &env,
            Method::POST,
            "/api/v1/roles",
            &owner,
            Some(&csrf),
            Some(json!({"name": "Engineer"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        let role = r.body["id"].as_str().unwrap().to_string();
        let role_path = format!("/api/v1/roles/{role}");
        let r = call(
            &env,
            Method::PUT,
            &role_path,
            &owner,
            Some(&csrf),
            Some(json!({"name": "Engineers"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let r = call(
            &env,
            Method::DELETE,
            &role_path,
            &viewer,
            Some(&viewer_csrf),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = call(
            &env,
            Method::DELETE,
            &role_path,
            &other,
            Some(&other_csrf),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(
            names(&get("/api/v1/roles", owner.clone()).await),
            ["Engineers"]
        );

        // Configurations: the first is the default.
        let nordic = json!({
            "name": "Nordic",
            "company_id": company,
            "role_ids": [role],
            "locale": "sv-SE",
            "filter": "nordic",
        });
        let r = call(
            &env,
            Method::POST,
            "/api/v1/configurations",
            &owner,
            None,
            Some(nordic.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = call(
            &env,
            Method::POST,
            "/api/v1/configurations",
            &viewer,
            Some(&viewer_csrf),
            Some(nordic.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = get("/api/v1/configurations", owner.clone()).await;
        assert_eq!(r.body, json!([]));
        let r = call(
            &env,
            Method::POST,
            "/api/v1/configurations",
            &owner,
            Some(&csrf),
            Some(nordic),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        assert_eq!(r.body["is_default"], true);
        assert_eq!(r.body["company"], "Acme Group");
        assert_eq!(r.body["roles"], json!([{"id": role, "name": "Engineers"}]));
        let first = r.body["id"].as_str().unwrap().to_string();
        // Another tenant's company cannot be used.
        let r = call(
            &env,
            Method::POST,
            "/api/v1/configurations",
            &other,
            Some(&other_csrf),
            Some(json!({"name": "X", "company_id": company})),
        )
        .await;
        assert!(
            r.status.is_client_error() && r.status != StatusCode::CREATED,
            "{}",
            r.raw
        );
        assert_eq!(
            get("/api/v1/configurations", other.clone()).await.body,
            json!([])
        );

        let r = call(
            &env,
            Method::POST,
            "/api/v1/configurations",
            &owner,
            Some(&csrf),
            Some(json!({"name": "Global", "company_id": company})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        assert_eq!(r.body["is_default"], false);
        let second = r.body["id"].as_str().unwrap().to_string();

        // Update.
        let r = call(
            &env,
            Method::PUT,
            &format!("/api/v1/configurations/{second}"),
            &owner,
            Some(&csrf),
            Some(json!({"name": "Worldwide", "company_id": company, "time_zone": "UTC"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(r.body["name"], "Worldwide");
        assert_eq!(r.body["time_zone"], "UTC");
        let r = call(
            &env,
            Method::PUT,
            &format!("/api/v1/configurations/{second}"),
            &other,
            Some(&other_csrf),
            Some(json!({"name": "Stolen", "company_id": company})),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.raw);

        // Default: CSRF, viewer, other tenant refused; then moved.
        let default_path = format!("/api/v1/configurations/{second}/default");
        let r = call(&env, Method::POST, &default_path, &owner, None, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = call(
            &env,
            Method::POST,
            &default_path,
            &viewer,
            Some(&viewer_csrf),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = call(
            &env,
            Method::POST,
            &default_path,
            &other,
            Some(&other_csrf),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = get("/api/v1/configurations", owner.clone()).await;
        assert_eq!(r.body[0]["id"], first.as_str());
        assert_eq!(r.body[0]["is_default"], true);
        let r = call(&env, Method::POST, &default_path, &owner, Some(&csrf), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(r.body["is_default"], true);
        let r = get("/api/v1/configurations", owner.clone()).await;
        let defaults: Vec<&str> = r
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["is_default"] == true)
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(defaults, ["Worldwide"]);

        // A company in use cannot be deleted.
        let r = call(&env, Method::DELETE, &path, &owner, Some(&csrf), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.raw);

        // Delete a configuration.
        let first_path = format!("/api/v1/configurations/{first}");
        let r = call(&env, Method::DELETE, &first_path, &owner, None, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = call(
            &env,
            Method::DELETE,
            &first_path,
            &viewer,
            Some(&viewer_csrf),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = call(
            &env,
            Method::DELETE,
            &first_path,
            &other,
            Some(&other_csrf),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(
            names(&get("/api/v1/configurations", owner.clone()).await),
            ["Nordic", "Worldwide"]
        );
        let r = call(&env, Method::DELETE, &first_path, &owner, Some(&csrf), None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        assert_eq!(
            names(&get("/api/v1/configurations", owner.clone()).await),
            ["Worldwide"]
        );
        let r = call(&env, Method::DELETE, &first_path, &owner, Some(&csrf), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        // Every change audited as the console does it; the other tenant's log untouched.
        let log = audit_entries(&env, &owner).await;
        let has = |action: &str, detail: &str| log.iter().any(|(a, d)| a == action && d == detail);
        assert!(
            has("company added", &format!("Acme Corp ({company})")),
            "{log:?}"
        );
        assert!(
            has(
                "company renamed",
                &format!("Acme Corp → Acme Group ({company})")
            ),
            "{log:?}"
        );
        assert!(has("role added", &format!("Engineer ({role})")), "{log:?}");
        assert!(
            has("role renamed", &format!("Engineer → Engineers ({role})")),
            "{log:?}"
        );
        assert!(
            has(
                "default configuration set",
                &format!("Worldwide ({second})")
            ),
            "{log:?}"
        );
        assert!(
            has("configuration deleted", &format!("Nordic ({first})")),
            "{log:?}"
        );
        assert!(log.iter().any(|(a, d)| a == "configuration added" && d.starts_with(&format!("Nordic ({first}): company Acme Group, roles [Engineers], filter nordic, default"))), "{log:?}");
        assert!(
            log.iter().any(|(a, d)| a == "configuration changed"
                && d.starts_with(&format!("Worldwide ({second})"))),
            "{log:?}"
        );
        let n = |a: &str| log.iter().filter(|(x, _)| x == a).count();
        assert_eq!(n("company added"), 1, "refused attempts are not audited");
        assert_eq!(n("configuration added"), 2);
        assert!(audit_entries(&env, &other).await.is_empty());
    }
);

both_backends!(api_users_and_groups, |env: TestEnv| async move {
    let tenant = env.tenant_id.clone();
    let (viewer, _) = sign_in(&env, &tenant, "viewer@acme.test", Role::Viewer).await;
    let ada = env.create_user("ada@acme.test").await;
    let bob = env.create_user("bob@acme.test").await;
    env.create_user("carol@acme.test").await;
    let engineers = env.create_group("Engineers").await;
    env.create_group("Sales").await;
    let r = env
        .patch(
            &format!("/Groups/{engineers}"),
            crate::support::patch_op(
                json!([{"op": "add", "path": "members", "value": [{"value": ada}]}]),
            ),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    let (other_tenant, other_token, _) = env.new_tenant("Other").await;
    let (other, _) = sign_in(&env, &other_tenant, "owner@other.test", Role::Owner).await;
    let r = env
        .send(
            Method::POST,
            &format!("/scim/v2/{other_tenant}/Users"),
            Some(
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "ada@other.test",
                })
                .to_string()
                .into_bytes(),
            ),
            &[
                ("authorization", format!("Bearer {other_token}")),
                ("content-type", "application/scim+json".to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    let foreign = r.body["id"].as_str().unwrap().to_string();

    let user_names = |r: &Resp| -> Vec<String> {
        r.body["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userName"].as_str().unwrap().to_string())
            .collect()
    };
    let r = call(&env, Method::GET, "/api/v1/users", &viewer, None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.body["total_results"], 3);
    assert_eq!(r.body["start_index"], 1);
    assert_eq!(
        user_names(&r),
        ["ada@acme.test", "bob@acme.test", "carol@acme.test"]
    );
    let r = call(
        &env,
        Method::GET,
        "/api/v1/users?q=ADA",
        &viewer,
        None,
        None,
    )
    .await;
    assert_eq!(r.body["total_results"], 1);
    assert_eq!(user_names(&r), ["ada@acme.test"]);
    let r = call(
        &env,
        Method::GET,
        "/api/v1/users?start_index=2&count=1",
        &viewer,
        None,
        None,
    )
    .await;
    assert_eq!(r.body["total_results"], 3);
    assert_eq!(r.body["items_per_page"], 1);
    assert_eq!(user_names(&r), ["bob@acme.test"]);
    assert_eq!(r.body["resources"][0]["id"], bob.as_str());
    // The other tenant sees only its own.
    let r = call(&env, Method::GET, "/api/v1/users", &other, None, None).await;
    assert_eq!(user_names(&r), ["ada@other.test"]);

    let r = call(
        &env,
        Method::GET,
        &format!("/api/v1/users/{ada}"),
        &viewer,
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.body["userName"], "ada@acme.test");
    assert_eq!(r.body["id"], ada.as_str());
    assert_eq!(r.body["groups"][0]["value"], engineers.as_str());
    let r = call(
        &env,
        Method::GET,
        &format!("/api/v1/users/{foreign}"),
        &viewer,
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.raw);
    assert_eq!(r.body["status"], 404);

    let r = call(
        &env,
        Method::GET,
        "/api/v1/groups?q=eng",
        &viewer,
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.body["total_results"], 1);
    assert_eq!(r.body["resources"][0]["displayName"], "Engineers");
    let r = call(&env, Method::GET, "/api/v1/groups", &other, None, None).await;
    assert_eq!(r.body["total_results"], 0);
    // Without a valid session: 401.
    let r = call(
        &env,
        Method::GET,
        "/api/v1/users",
        "scimd_session=nope",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
});

both_backends!(api_accounts_and_audit_log, |env: TestEnv| async move {
    let tenant = env.tenant_id.clone();
    let (owner, csrf) = sign_in(&env, &tenant, "owner@acme.test", Role::Owner).await;
    let (admin, admin_csrf) = sign_in(&env, &tenant, "admin@acme.test", Role::Admin).await;
    let (viewer, viewer_csrf) = sign_in(&env, &tenant, "viewer@acme.test", Role::Viewer).await;
    let (other_tenant, _, _) = env.new_tenant("Other").await;
    let (other, other_csrf) = sign_in(&env, &other_tenant, "owner@other.test", Role::Owner).await;

    let emails = |r: &Resp| -> Vec<String> {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["email"].as_str().unwrap().to_string())
            .collect()
    };
    let list = call(&env, Method::GET, "/api/v1/accounts", &viewer, None, None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.raw);
    assert_eq!(
        emails(&list),
        ["owner@acme.test", "admin@acme.test", "viewer@acme.test"]
    );
    assert!(!list.raw.contains("password"), "no hashes: {}", list.raw);
    let account_id = |r: &Resp, email: &str| -> String {
        r.body
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["email"] == email)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let owner_id = account_id(&list, "owner@acme.test");
    let admin_id = account_id(&list, "admin@acme.test");

    // Invite: no CSRF, admins and viewers refused; nothing stored.
    let invite = json!({"email": "New@Acme.test", "role": "viewer", "password": "a long password"});
    let r = call(
        &env,
        Method::POST,
        "/api/v1/accounts",
        &owner,
        None,
        Some(invite.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        &env,
        Method::POST,
        "/api/v1/accounts",
        &admin,
        Some(&admin_csrf),
        Some(invite.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "owners only: {}", r.raw);
    let r = call(
        &env,
        Method::POST,
        "/api/v1/accounts",
        &viewer,
        Some(&viewer_csrf),
        Some(invite.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let list = call(&env, Method::GET, "/api/v1/accounts", &owner, None, None).await;
    assert_eq!(list.body.as_array().unwrap().len(), 3);
    for bad in [
        json!({"email": "nope", "role": "viewer", "password": "a long password"}),
        json!({"email": "x@acme.test", "role": "owner", "password": "a long password"}),
        json!({"email": "x@acme.test", "role": "admin", "password": "short"}),
    ] {
        let r = call(
            &env,
            Method::POST,
            "/api/v1/accounts",
            &owner,
            Some(&csrf),
            Some(bad),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.raw);
    }
    let r = call(
        &env,
        Method::POST,
        "/api/v1/accounts",
        &owner,
        Some(&csrf),
        Some(invite.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    assert_eq!(r.body["email"], "new@acme.test");
    assert_eq!(r.body["role"], "viewer");
    let r = call(
        &env,
        Method::POST,
        "/api/v1/accounts",
        &owner,
        Some(&csrf),
        Some(invite),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.raw);
    let stored = env
        .store()
        .find_account(&tenant, "new@acme.test")
        .unwrap()
        .expect("stored");
    assert!(scimd::password::verify(
        "a long password",
        &stored.password_hash
    ));
    assert_eq!(stored.role(), Role::Viewer);
    assert!(env
        .store()
        .find_account(&other_tenant, "new@acme.test")
        .unwrap()
        .is_none());

    // Remove: not yourself, owners only, CSRF, another tenant's account is not found.
    let path = format!("/api/v1/accounts/{admin_id}");
    let r = call(
        &env,
        Method::DELETE,
        &format!("/api/v1/accounts/{owner_id}"),
        &owner,
        Some(&csrf),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.raw);
    let r = call(&env, Method::DELETE, &path, &owner, None, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(&env, Method::DELETE, &path, &admin, Some(&admin_csrf), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        &env,
        Method::DELETE,
        &path,
        &viewer,
        Some(&viewer_csrf),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(&env, Method::DELETE, &path, &other, Some(&other_csrf), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.raw);
    let r = call(&env, Method::GET, "/api/v1/session", &admin, None, None).await;
    assert_eq!(r.status, StatusCode::OK, "admin still signed in");
    let r = call(&env, Method::DELETE, &path, &owner, Some(&csrf), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
    let r = call(&env, Method::GET, "/api/v1/session", &admin, None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "sessions ended");
    let list = call(&env, Method::GET, "/api/v1/accounts", &owner, None, None).await;
    assert_eq!(
        emails(&list),
        ["owner@acme.test", "viewer@acme.test", "new@acme.test"]
    );
    let r = call(&env, Method::DELETE, &path, &owner, Some(&csrf), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Audited as the console does it, newest first; the other tenant's log is its own.
    let log = audit_entries(&env, &viewer).await;
    assert_eq!(
        log,
        [
            ("account removed".to_string(), "admin@acme.test".to_string()),
            (
                "account created".to_string(),
                "new@acme.test (viewer)".to_string()
            ),
        ]
    );
    assert!(audit_entries(&env, &other).await.is_empty());
    let r = call(
        &env,
        Method::GET,
        "/api/v1/audit-log",
        "scimd_session=x",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
});
