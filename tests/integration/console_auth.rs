//! Console sign-in, sessions, CSRF, roles and secret tokens at the handler level (the
//! in-process app, both backends).

use std::sync::Arc;

use actix_web::http::{Method, StatusCode};
use chrono::Duration;

use scimd::console::session_cookie_name;
use scimd::store::console::{Account, Role};
use scimd::token;

use crate::both_backends;
use crate::support::{Resp, TestEnv};

const PASSWORD: &str = "correct horse battery staple";

/// A console account of the env's tenant (or `tenant`) with [`PASSWORD`].
async fn account(env: &TestEnv, tenant: &str, email: &str, role: Role) -> Account {
    let store = env.store().clone();
    let (tenant, email) = (tenant.to_string(), email.to_string());
    let now = env.state.now();
    actix_web::web::block(move || {
        let hash = scimd::password::hash(PASSWORD).expect("hash");
        store
            .create_account(&tenant, &email, &hash, role, now)
            .expect("account")
    })
    .await
    .expect("block")
}

/// A signed-in session: (cookie header value, csrf token).
fn session(env: &TestEnv, account: &Account) -> (String, String) {
    let s = env.console_session(account);
    (s.cookie, s.csrf)
}

/// POSTs a form (`application/x-www-form-urlencoded`) with these cookies.
async fn post_form(env: &TestEnv, uri: &str, fields: &[(&str, &str)], cookie: &str) -> Resp {
    let body = serde_urlencoded::to_string(fields).expect("form");
    let mut headers = vec![(
        "content-type",
        "application/x-www-form-urlencoded".to_string(),
    )];
    if !cookie.is_empty() {
        headers.push(("cookie", cookie.to_string()));
    }
    env.send(Method::POST, uri, Some(body.into_bytes()), &headers)
        .await
}

async fn get_page(env: &TestEnv, uri: &str, cookie: &str) -> Resp {
    let headers: Vec<(&str, String)> = if cookie.is_empty() {
        Vec::new()
    } else {
        vec![("cookie", cookie.to_string())]
    };
    env.send(Method::GET, uri, None, &headers).await
}

/// The `Set-Cookie` header that sets `name`.
fn set_cookie<'a>(r: &'a Resp, name: &str) -> Option<&'a str> {
    r.headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// The value a `Set-Cookie` header gives.
fn cookie_value(header: &str) -> &str {
    header
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// A sign-in attempt with a valid login-CSRF double submit.
async fn sign_in(env: &TestEnv, tenant: &str, email: &str, password: &str) -> Resp {
    post_form(
        env,
        "/console/login",
        &[
            ("tenant_id", tenant),
            ("email", email),
            ("password", password),
            ("csrf", "login-csrf-1"),
        ],
        "scimd_login_csrf=login-csrf-1",
    )
    .await
}

fn location(r: &Resp) -> &str {
    r.header("location").unwrap_or_default()
}

both_backends!(
    wrong_password_is_401_and_audited,
    |env: TestEnv| async move {
        account(&env, &env.tenant_id, "owner@acme.example", Role::Owner).await;
        let r = sign_in(
            &env,
            &env.tenant_id,
            "owner@acme.example",
            "not the password",
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.raw);
        assert!(
            r.raw.contains("Invalid tenant id, email or password"),
            "{}",
            r.raw
        );
        assert!(set_cookie(&r, session_cookie_name(&env.state)).is_none());
        let audit = env.store().list_audit(&env.tenant_id, 10).expect("audit");
        assert!(
            audit.iter().any(|e| e.action == "sign-in failed"
                && e.actor.as_deref() == Some("owner@acme.example")),
            "{audit:?}"
        );
        // An unknown email is the same 401.
        let r = sign_in(&env, &env.tenant_id, "nobody@acme.example", PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
);

both_backends!(
    five_failures_refuse_the_right_password,
    |env: TestEnv| async move {
        account(&env, &env.tenant_id, "owner@acme.example", Role::Owner).await;
        for _ in 0..5 {
            let r = sign_in(&env, &env.tenant_id, "owner@acme.example", "wrong").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        let r = sign_in(&env, &env.tenant_id, "owner@acme.example", PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.raw);
        assert!(r.raw.contains("Too many failed sign-ins"), "{}", r.raw);
        assert!(set_cookie(&r, session_cookie_name(&env.state)).is_none());
        // After the window it works again.
        let mut env = env;
        let later = env.state.now() + Duration::minutes(16);
        env.state.clock = Arc::new(move || later);
        let r = sign_in(&env, &env.tenant_id, "owner@acme.example", PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.raw);
    }
);

both_backends!(
    login_csrf_double_submit_is_required,
    |env: TestEnv| async move {
        account(&env, &env.tenant_id, "owner@acme.example", Role::Owner).await;
        let fields = |csrf: &'static str| {
            [
                ("tenant_id", env.tenant_id.clone()),
                ("email", "owner@acme.example".to_string()),
                ("password", PASSWORD.to_string()),
                ("csrf", csrf.to_string()),
            ]
        };
        for (csrf, cookie) in [
            ("abc", ""),                       // no cookie
            ("", "scimd_login_csrf=abc"),      // no form field
            ("abc", "scimd_login_csrf=other"), // mismatch
        ] {
            let f = fields(csrf);
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = post_form(&env, "/console/login", &f, cookie).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "csrf {csrf:?} cookie {cookie:?}"
            );
            assert!(set_cookie(&r, session_cookie_name(&env.state)).is_none());
        }
        // The sign-in page sets the cookie its form submits.
        let page = get_page(&env, "/console/login", "").await;
        assert_eq!(page.status, StatusCode::OK);
        let c = set_cookie(&page, "scimd_login_csrf").expect("login csrf cookie");
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict"),
            "{c}"
        );
        assert!(
            page.raw.contains(cookie_value(c)),
            "the form carries the cookie's value"
        );
    }
);

both_backends!(
    sign_in_sets_a_new_strict_http_only_session_cookie,
    |env: TestEnv| async move {
        let owner = account(&env, &env.tenant_id, "owner@acme.example", Role::Owner).await;
        let (old_cookie, _) = session(&env, &owner);
        let old_sid = old_cookie.split_once('=').expect("cookie").1.to_string();
        let name = session_cookie_name(&env.state);
        let r = post_form(
            &env,
            "/console/login",
            &[
                ("tenant_id", env.tenant_id.as_str()),
                ("email", "OWNER@acme.example"),
                ("password", PASSWORD),
                ("csrf", "x1"),
            ],
            &format!("scimd_login_csrf=x1; {old_cookie}"),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.raw);
        assert_eq!(location(&r), "/console/settings");
        let c = set_cookie(&r, name).expect("session cookie");
        for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(c.contains(attr), "{attr} in {c}");
        }
        let sid = cookie_value(c);
        assert!(sid.len() >= 32, "{sid}");
        assert_ne!(sid, old_sid, "a new session id on sign-in");
        let now = env.state.now();
        assert!(env
            .store()
            .find_session(&token::digest(sid), now)
            .expect("find")
            .is_some());
        assert!(
            env.store()
                .find_session(&token::digest(&old_sid), now)
                .expect("find")
                .is_none(),
            "the old session is ended"
        );
        let page = get_page(&env, "/console/settings", &format!("{name}={sid}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.raw.contains("owner@acme.example"));
        let audit = env.store().list_audit(&env.tenant_id, 10).expect("audit");
        assert!(audit.iter().any(|e| e.action == "sign-in"), "{audit:?}");
    }
);

both_backends!(logout_requires_csrf, |env: TestEnv| async move {
    let owner = account(&env, &env.tenant_id, "owner@acme.example", Role::Owner).await;
    let (cookie, csrf) = session(&env, &owner);
    let r = post_form(&env, "/console/logout", &[], &cookie).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post_form(&env, "/console/logout", &[("csrf", "wrong")], &cookie).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get_page(&env, "/console/settings", &cookie).await.status,
        StatusCode::OK,
        "still signed in"
    );
    let r = post_form(&env, "/console/logout", &[("csrf", &csrf)], &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/console/login");
    let r = get_page(&env, "/console/settings", &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/console/login");
});

both_backends!(viewers_cannot_generate_tokens, |env: TestEnv| async move {
    let viewer = account(&env, &env.tenant_id, "viewer@acme.example", Role::Viewer).await;
    let (cookie, csrf) = session(&env, &viewer);
    let r = post_form(
        &env,
        "/console/tokens",
        &[("csrf", &csrf), ("name", "mine"), ("password", PASSWORD)],
        &cookie,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.raw);
    assert_eq!(
        env.store().list_tokens(&env.tenant_id).expect("list").len(),
        1
    );
    // Viewers get no generate form.
    let page = get_page(&env, "/console/tokens", &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.raw.contains("id=\"generate-token\""));
});

both_backends!(
    generating_a_token_re_asks_the_password,
    |env: TestEnv| async move {
        let owner = account(&env, &env.tenant_id, "owner@acme.example", Role::Owner).await;
        let (cookie, csrf) = session(&env, &owner);
        let r = post_form(
            &env,
            "/console/tokens",
            &[("csrf", &csrf), ("name", "Entra"), ("password", "wrong")],
            &cookie,
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.raw);
        assert_eq!(
            env.store().list_tokens(&env.tenant_id).expect("list").len(),
            1
        );
        // Without the CSRF token: refused too.
        let r = post_form(
            &env,
            "/console/tokens",
            &[("name", "Entra"), ("password", PASSWORD)],
            &cookie,
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            env.store().list_tokens(&env.tenant_id).expect("list").len(),
            1
        );
        // The right password: the token is shown once and works.
        let r = post_form(
            &env,
            "/console/tokens",
            &[("csrf", &csrf), ("name", "Entra"), ("password", PASSWORD)],
            &cookie,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let tokens = env.store().list_tokens(&env.tenant_id).expect("list");
        assert_eq!(tokens.len(), 2);
        let secret = r
            .raw
            .split("id=\"new-token\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("new token on the page")
            .to_string();
        let probe = env
            .send(
                Method::GET,
                &format!("{}/Users", env.base()),
                None,
                &[("authorization", format!("Bearer {secret}"))],
            )
            .await;
        assert_eq!(probe.status, StatusCode::OK, "{}", probe.raw);
        let page = get_page(&env, "/console/tokens", &cookie).await;
        assert!(!page.raw.contains(&secret), "shown only once");
    }
);

both_backends!(
    owners_see_every_token_admins_their_own,
    |env: TestEnv| async move {
        let owner = account(&env, &env.tenant_id, "owner@acme.example", Role::Owner).await;
        let admin = account(&env, &env.tenant_id, "admin@acme.example", Role::Admin).await;
        let (owner_cookie, owner_csrf) = session(&env, &owner);
        let (admin_cookie, admin_csrf) = session(&env, &admin);
        for (cookie, csrf, name) in [
            (&owner_cookie, &owner_csrf, "owner-token"),
            (&admin_cookie, &admin_csrf, "admin-token"),
        ] {
            let r = post_form(
                &env,
                "/console/tokens",
                &[("csrf", csrf), ("name", name), ("password", PASSWORD)],
                cookie,
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        }
        let tokens = env.store().list_tokens(&env.tenant_id).expect("list");
        let id_of = |name: &str| {
            tokens
                .iter()
                .find(|t| t.name == name)
                .map(|t| format!("data-token-id=\"{}\"", t.id))
                .expect("token")
        };
        let (cli, owners, admins) = (
            format!("data-token-id=\"{}\"", env.token_id),
            id_of("owner-token"),
            id_of("admin-token"),
        );
        let page = get_page(&env, "/console/tokens", &owner_cookie).await;
        for row in [&cli, &owners, &admins] {
            assert!(page.raw.contains(row.as_str()), "owner sees {row}");
        }
        let page = get_page(&env, "/console/tokens", &admin_cookie).await;
        assert!(page.raw.contains(admins.as_str()));
        assert!(
            !page.raw.contains(owners.as_str()),
            "admin sees only their own"
        );
        assert!(
            !page.raw.contains(cli.as_str()),
            "admin sees only their own"
        );
        // An admin cannot revoke the owner's token either.
        let owner_token_id = tokens
            .iter()
            .find(|t| t.name == "owner-token")
            .map(|t| t.id.clone())
            .expect("id");
        let r = post_form(
            &env,
            &format!("/console/tokens/{owner_token_id}/revoke"),
            &[("csrf", &admin_csrf), ("password", PASSWORD)],
            &admin_cookie,
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
);

both_backends!(
    revoking_another_tenants_token_is_404,
    |env: TestEnv| async move {
        let (other_tenant, other_token, other_token_id) = env.new_tenant("Other").await;
        let owner = account(&env, &env.tenant_id, "owner@acme.example", Role::Owner).await;
        let (cookie, csrf) = session(&env, &owner);
        let r = post_form(
            &env,
            &format!("/console/tokens/{other_token_id}/revoke"),
            &[("csrf", &csrf), ("password", PASSWORD)],
            &cookie,
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.raw);
        let r = env.get_as(&other_tenant, &other_token, "/Users").await;
        assert_eq!(r.status, StatusCode::OK, "still usable: {}", r.raw);
        // Its own token: revoked at once.
        let r = post_form(
            &env,
            &format!("/console/tokens/{}/revoke", env.token_id),
            &[("csrf", &csrf), ("password", PASSWORD)],
            &cookie,
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.raw);
        env.get("/Users").await.assert_error(401, None);
        let page = get_page(&env, "/console/tokens", &cookie).await;
        assert!(page.raw.contains("status-revoked"), "{}", page.raw);
    }
);

both_backends!(
    provisioning_off_makes_scim_answer_403,
    |env: TestEnv| async move {
        let owner = account(&env, &env.tenant_id, "owner@acme.example", Role::Owner).await;
        let (cookie, csrf) = session(&env, &owner);
        assert_eq!(env.get("/Users").await.status, StatusCode::OK);
        let r = post_form(
            &env,
            "/console/settings",
            &[("csrf", &csrf), ("name", "Acme"), ("entra_tenant_id", "")],
            &cookie,
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.raw);
        assert_eq!(location(&r), "/console/settings?saved=1");
        env.get("/Users").await.assert_error(403, None);
        env.post(
            "/Users",
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "blocked@acme.example",
            }),
        )
        .await
        .assert_error(403, None);
        let page = get_page(&env, "/console/settings", &cookie).await;
        assert!(page.raw.contains("provisioning is off"), "{}", page.raw);
        // On again.
        let r = post_form(
            &env,
            "/console/settings",
            &[
                ("csrf", &csrf),
                ("name", "Acme"),
                ("entra_tenant_id", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
                ("provisioning_enabled", "on"),
            ],
            &cookie,
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.raw);
        assert_eq!(env.get("/Users").await.status, StatusCode::OK);
        let tenant = env
            .store()
            .get_tenant(&env.tenant_id)
            .expect("get")
            .expect("tenant");
        assert_eq!(
            tenant.entra_tenant_id.as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        // A malformed Entra tenant id is refused.
        let r = post_form(
            &env,
            "/console/settings",
            &[
                ("csrf", &csrf),
                ("name", "Acme"),
                ("entra_tenant_id", "not-a-guid"),
            ],
            &cookie,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }
);

both_backends!(idle_sessions_time_out, |env: TestEnv| async move {
    let mut env = env;
    let owner = account(&env, &env.tenant_id, "owner@acme.example", Role::Owner).await;
    let now = env.state.now();
    env.state.clock = Arc::new(move || now);
    let (cookie, _) = session(&env, &owner);
    assert_eq!(
        get_page(&env, "/console/settings", &cookie).await.status,
        StatusCode::OK
    );
    env.state.clock = Arc::new(move || now + Duration::minutes(31));
    let r = get_page(&env, "/console/settings", &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/console/login");
    // Gone for good, even if the clock went back.
    env.state.clock = Arc::new(move || now);
    let r = get_page(&env, "/console/settings", &cookie).await;
    assert_eq!(location(&r), "/console/login");
});

both_backends!(setup_link_works_once, |env: TestEnv| async move {
    let secret = "setup-secret-0123456789abcdefghijklmnop";
    env.store()
        .create_setup_link(&token::digest(secret), env.state.now())
        .expect("setup link");
    let uri = format!("/console/setup?token={secret}");
    let page = get_page(&env, &uri, "").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.raw);
    let csrf =
        cookie_value(set_cookie(&page, "scimd_login_csrf").expect("csrf cookie")).to_string();
    let bad = get_page(&env, "/console/setup?token=wrong", "").await;
    assert_eq!(bad.status, StatusCode::FORBIDDEN);
    let fields = [
        ("token", secret),
        ("tenant_name", "Fabrikam"),
        ("email", "owner@fabrikam.example"),
        ("password", PASSWORD),
        ("csrf", csrf.as_str()),
    ];
    let cookie = format!("scimd_login_csrf={csrf}");
    let r = post_form(&env, "/console/setup", &fields, &cookie).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.raw);
    assert_eq!(location(&r), "/console/settings");
    assert!(set_cookie(&r, session_cookie_name(&env.state)).is_some());
    let tenant = env
        .store()
        .list_tenants()
        .expect("tenants")
        .into_iter()
        .find(|t| t.name == "Fabrikam")
        .expect("tenant created");
    let owner = env
        .store()
        .find_account(&tenant.id, "owner@fabrikam.example")
        .expect("find")
        .expect("owner created");
    assert_eq!(owner.role(), Role::Owner);
    // Second use: refused, and nothing more is created.
    assert_eq!(get_page(&env, &uri, "").await.status, StatusCode::FORBIDDEN);
    let r = post_form(&env, "/console/setup", &fields, &cookie).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let fabrikams = env
        .store()
        .list_tenants()
        .expect("tenants")
        .into_iter()
        .filter(|t| t.name == "Fabrikam")
        .count();
    assert_eq!(fabrikams, 1);
});
