//! Console pages: users and groups (search, pagination, tenant isolation), provisioning and
//! audit logs, accounts (invite, remove, roles, CSRF), sign-in redirects and headers.

use actix_web::http::{Method, StatusCode};
use chrono::Utc;
use serde_json::{json, Value};

use scimd::schema::Registry;
use scimd::store::console::{Account, Role};

use crate::both_backends;
use crate::support::{Resp, TestEnv};

/// A signed-in console session.
type Session = crate::support::ConsoleSession;

/// Creates an account in `tenant` and a session for it, directly in the store.
fn sign_in(env: &TestEnv, tenant: &str, email: &str, role: Role) -> Session {
    env.console_sign_in(tenant, email, role)
}

fn session_for(env: &TestEnv, account: Account) -> Session {
    env.console_session(&account)
}

async fn page(env: &TestEnv, s: &Session, uri: &str) -> Resp {
    env.send(Method::GET, uri, None, &[("cookie", s.cookie.clone())])
        .await
}

async fn post_form(env: &TestEnv, s: &Session, uri: &str, form: &[(&str, &str)]) -> Resp {
    env.send(
        Method::POST,
        uri,
        Some(serde_urlencoded::to_string(form).unwrap().into_bytes()),
        &[
            ("cookie", s.cookie.clone()),
            (
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            ),
        ],
    )
    .await
}

/// The values of `attr="…"` in the page, in order.
fn attr_values(html: &str, attr: &str) -> Vec<String> {
    let needle = format!("{attr}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// The rows (`<tr …>` elements) of the table with this id.
fn table<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table #{id} in {html}"));
    let end = start + html[start..].find("</table>").unwrap();
    &html[start..end]
}

fn create_user(env: &TestEnv, tenant: &str, doc: Value) -> String {
    env.store()
        .create_resource(tenant, &Registry::get().user, doc, &[], Utc::now(), None)
        .unwrap()
        .id
}

both_backends!(
    users_page_lists_scim_users_and_search_narrows_it,
    |env: TestEnv| async move {
        let ada = env.create_user("ada@example.com").await;
        env.create_user("bob@example.com").await;
        let r = env
            .post(
                "/Users",
                json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "u-carol",
                    "name": {"givenName": "Carol", "familyName": "Shaw"},
                    "emails": [{"value": "carol@corp.test", "type": "work", "primary": true}],
                    "active": false,
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        let group = env.create_group("Engineering").await;
        let r = env
            .patch(
                &format!("/Groups/{group}"),
                json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": ada}]}],
                }),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.raw);

        let s = sign_in(&env, &env.tenant_id, "owner@example.com", Role::Owner);
        let r = page(&env, &s, "/console/users").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert!(r
            .header("content-security-policy")
            .is_some_and(|v| v.contains("frame-ancestors 'none'")));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        let users = table(&r.raw, "users");
        assert_eq!(
            attr_values(users, "data-user-name"),
            ["ada@example.com", "bob@example.com", "u-carol"]
        );
        assert!(users.contains("Carol Shaw"), "{users}");
        assert!(users.contains("Engineering"), "{users}");
        assert!(r.raw.contains("data-total=\"3\""), "{}", r.raw);

        for (q, expected) in [
            ("ada", vec!["ada@example.com"]),
            ("EXAMPLE.COM", vec!["ada@example.com", "bob@example.com"]),
            ("corp.test", vec!["u-carol"]),
            ("nobody", vec![]),
        ] {
            let uri = format!(
                "/console/users?{}",
                serde_urlencoded::to_string([("q", q)]).unwrap()
            );
            let r = page(&env, &s, &uri).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
            assert_eq!(
                attr_values(table(&r.raw, "users"), "data-user-name"),
                expected,
                "q={q}"
            );
        }

        // Groups: listed with their member count, searchable.
        env.create_group("Sales").await;
        let r = page(&env, &s, "/console/groups").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let groups = table(&r.raw, "groups");
        assert_eq!(
            attr_values(groups, "data-group-name"),
            ["Engineering", "Sales"]
        );
        assert!(groups.contains("<td class=\"members\">1</td>"), "{groups}");
        assert!(groups.contains("<td class=\"members\">0</td>"), "{groups}");
        let r = page(&env, &s, "/console/groups?q=sal").await;
        assert_eq!(
            attr_values(table(&r.raw, "groups"), "data-group-name"),
            ["Sales"]
        );

        // Details.
        let r = page(&env, &s, &format!("/console/users/{ada}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert!(r.raw.contains("ada@example.com"));
        assert!(r.raw.contains("Engineering"));
        assert!(r.raw.contains("<pre id=\"document\""));
        let r = page(&env, &s, &format!("/console/groups/{group}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(attr_values(&r.raw, "data-member-id"), [ada]);
    }
);

both_backends!(users_page_is_paginated, |env: TestEnv| async move {
    for i in 0..55 {
        create_user(
            &env,
            &env.tenant_id,
            json!({"userName": format!("user{i:02}@example.com"), "active": true}),
        );
    }
    let s = sign_in(&env, &env.tenant_id, "viewer@example.com", Role::Viewer);
    let r = page(&env, &s, "/console/users").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let names = attr_values(table(&r.raw, "users"), "data-user-name");
    assert_eq!(names.len(), 50);
    assert_eq!(names[0], "user00@example.com");
    assert_eq!(names[49], "user49@example.com");
    assert!(r.raw.contains("data-total=\"55\""));
    assert!(
        r.raw.contains("href=\"/console/users?page=2\""),
        "{}",
        r.raw
    );
    assert!(!r.raw.contains("id=\"prev-page\""));

    let r = page(&env, &s, "/console/users?page=2").await;
    let names = attr_values(table(&r.raw, "users"), "data-user-name");
    assert_eq!(
        names,
        (50..55)
            .map(|i| format!("user{i}@example.com"))
            .collect::<Vec<_>>()
    );
    assert!(r.raw.contains("href=\"/console/users?page=1\""));
    assert!(!r.raw.contains("id=\"next-page\""));

    // The search is kept across pages.
    let r = page(&env, &s, "/console/users?q=user&page=1").await;
    assert!(
        r.raw.contains("href=\"/console/users?q=user&#38;page=2\""),
        "{}",
        r.raw
    );
    // Nonsense page numbers are page 1.
    let r = page(&env, &s, "/console/users?page=abc").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        attr_values(table(&r.raw, "users"), "data-user-name").len(),
        50
    );
});

both_backends!(
    another_tenants_user_or_group_is_not_found,
    |env: TestEnv| async move {
        let (other, _, _) = env.new_tenant("Other").await;
        let theirs = create_user(&env, &other, json!({"userName": "theirs@other.test"}));
        let their_group = env
            .store()
            .create_resource(
                &other,
                &Registry::get().group,
                json!({"displayName": "Theirs"}),
                &[],
                Utc::now(),
                None,
            )
            .unwrap()
            .id;
        let s = sign_in(&env, &env.tenant_id, "owner@example.com", Role::Owner);
        for uri in [
            format!("/console/users/{theirs}"),
            format!("/console/groups/{their_group}"),
            "/console/users/does-not-exist".to_string(),
        ] {
            let r = page(&env, &s, &uri).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
            assert!(!r.raw.contains("theirs@other.test"));
        }
        let r = page(&env, &s, "/console/users").await;
        assert!(!r.raw.contains("theirs@other.test"));
        let r = page(&env, &s, "/console/groups").await;
        assert!(!r.raw.contains("Theirs"));
    }
);

both_backends!(
    provisioning_log_lists_and_filters_rows,
    |env: TestEnv| async move {
        let entry = scimd::store::console::ProvisioningEntry::new;
        let store = env.store();
        let t0 = Utc::now() - chrono::Duration::minutes(5);
        let rows = [
            entry(
                "POST",
                Some("User"),
                Some("u-1"),
                Some("ada@example.com"),
                Some("Entra prod"),
                201,
                None,
                t0,
            ),
            entry(
                "PATCH",
                Some("Group"),
                Some("g-1"),
                Some("Engineering"),
                Some("Entra prod"),
                204,
                None,
                t0 + chrono::Duration::minutes(1),
            ),
            entry(
                "POST",
                Some("User"),
                None,
                Some("dup@example.com"),
                Some("Entra prod"),
                409,
                Some("userName already exists"),
                t0 + chrono::Duration::minutes(2),
            ),
        ];
        for e in &rows {
            store.log_provisioning(&env.tenant_id, e).unwrap();
        }
        let (other, _, _) = env.new_tenant("Other").await;
        store
            .log_provisioning(
                &other,
                &entry(
                    "DELETE",
                    Some("User"),
                    None,
                    Some("secret@other.test"),
                    None,
                    204,
                    None,
                    t0,
                ),
            )
            .unwrap();

        let s = sign_in(&env, &env.tenant_id, "viewer@example.com", Role::Viewer);
        let r = page(&env, &s, "/console/provisioning-log").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let log = table(&r.raw, "provisioning-log");
        // Newest first.
        assert_eq!(
            attr_values(log, "data-log-id"),
            [rows[2].id.clone(), rows[1].id.clone(), rows[0].id.clone()]
        );
        assert!(log.contains("userName already exists"));
        assert!(log.contains("Entra prod"));
        assert!(log.contains("409"));
        assert!(!r.raw.contains("secret@other.test"));

        let r = page(&env, &s, "/console/provisioning-log?outcome=failure").await;
        let log = table(&r.raw, "provisioning-log");
        assert_eq!(attr_values(log, "data-log-id"), [rows[2].id.clone()]);
        let r = page(&env, &s, "/console/provisioning-log?outcome=success").await;
        assert_eq!(
            attr_values(table(&r.raw, "provisioning-log"), "data-outcome"),
            ["success", "success"]
        );
        let r = page(
            &env,
            &s,
            "/console/provisioning-log?outcome=success&resource_type=Group",
        )
        .await;
        assert_eq!(
            attr_values(table(&r.raw, "provisioning-log"), "data-log-id"),
            [rows[1].id.clone()]
        );
        // An unknown filter value is no filter.
        let r = page(&env, &s, "/console/provisioning-log?outcome=maybe").await;
        assert_eq!(
            attr_values(table(&r.raw, "provisioning-log"), "data-log-id").len(),
            3
        );
    }
);

both_backends!(
    owner_invites_and_removes_accounts,
    |env: TestEnv| async move {
        let owner = sign_in(&env, &env.tenant_id, "owner@example.com", Role::Owner);
        let r = post_form(
            &env,
            &owner,
            "/console/accounts",
            &[
                ("csrf", owner.csrf.as_str()),
                ("email", "Vera@Example.com"),
                ("role", "viewer"),
                ("password", "a long password"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.raw);
        assert_eq!(r.header("location"), Some("/console/accounts?created=1"));
        let r = page(&env, &owner, "/console/accounts").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(
            attr_values(table(&r.raw, "accounts"), "data-email"),
            ["owner@example.com", "vera@example.com"]
        );
        let vera = env
            .store()
            .find_account(&env.tenant_id, "vera@example.com")
            .unwrap()
            .expect("invited");
        assert_eq!(vera.role(), Role::Viewer);
        assert!(scimd::password::verify(
            "a long password",
            &vera.password_hash
        ));

        // Bad invitations change nothing.
        for (email, role, pw, why) in [
            ("x@example.com", "viewer", "short", "short password"),
            ("x@example.com", "owner", "a long password", "owner role"),
            ("not-an-email", "admin", "a long password", "bad email"),
            ("vera@example.com", "admin", "a long password", "duplicate"),
        ] {
            let r = post_form(
                &env,
                &owner,
                "/console/accounts",
                &[
                    ("csrf", owner.csrf.as_str()),
                    ("email", email),
                    ("role", role),
                    ("password", pw),
                ],
            )
            .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}: {}", r.raw);
        }

        // The viewer signs in, sees the list read-only and cannot invite or remove.
        let viewer = session_for(&env, vera.clone());
        let r = page(&env, &viewer, "/console/accounts").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(!r.raw.contains("id=\"invite-form\""));
        assert!(!r.raw.contains("/remove\""));
        let r = post_form(
            &env,
            &viewer,
            "/console/accounts",
            &[
                ("csrf", viewer.csrf.as_str()),
                ("email", "sneaky@example.com"),
                ("role", "admin"),
                ("password", "a long password"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = post_form(
            &env,
            &viewer,
            &format!("/console/accounts/{}/remove", owner.account.id),
            &[("csrf", viewer.csrf.as_str())],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // An admin cannot either.
        let admin = sign_in(&env, &env.tenant_id, "admin@example.com", Role::Admin);
        let r = post_form(
            &env,
            &admin,
            &format!("/console/accounts/{}/remove", vera.id),
            &[("csrf", admin.csrf.as_str())],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(env.store().list_accounts(&env.tenant_id).unwrap().len(), 3);

        // Without the CSRF token: 403 and nothing changes.
        let r = post_form(
            &env,
            &owner,
            "/console/accounts",
            &[
                ("email", "nocsrf@example.com"),
                ("role", "admin"),
                ("password", "a long password"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = post_form(
            &env,
            &owner,
            &format!("/console/accounts/{}/remove", vera.id),
            &[("csrf", "wrong")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(env.store().list_accounts(&env.tenant_id).unwrap().len(), 3);
        assert_eq!(
            page(&env, &viewer, "/console/users").await.status,
            StatusCode::OK
        );

        // Not yourself; not another tenant's account.
        let r = post_form(
            &env,
            &owner,
            &format!("/console/accounts/{}/remove", owner.account.id),
            &[("csrf", owner.csrf.as_str())],
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        let (other, _, _) = env.new_tenant("Other").await;
        let stranger = sign_in(&env, &other, "stranger@other.test", Role::Owner);
        let r = post_form(
            &env,
            &owner,
            &format!("/console/accounts/{}/remove", stranger.account.id),
            &[("csrf", owner.csrf.as_str())],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(env
            .store()
            .find_account(&other, "stranger@other.test")
            .unwrap()
            .is_some());

        // Removing the viewer ends its session.
        let r = post_form(
            &env,
            &owner,
            &format!("/console/accounts/{}/remove", vera.id),
            &[("csrf", owner.csrf.as_str())],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.raw);
        assert_eq!(r.header("location"), Some("/console/accounts?removed=1"));
        let r = page(&env, &viewer, "/console/users").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.header("location"), Some("/console/login"));
        let r = page(&env, &owner, "/console/accounts").await;
        assert_eq!(
            attr_values(table(&r.raw, "accounts"), "data-email"),
            ["owner@example.com", "admin@example.com"]
        );

        // Both changes are in the audit log, newest first.
        let r = page(&env, &owner, "/console/audit-log").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let log = table(&r.raw, "audit-log");
        assert_eq!(
            attr_values(log, "data-action"),
            ["account removed", "account created"]
        );
        assert!(log.contains("vera@example.com (viewer)"));
        assert!(log.contains("owner@example.com"));
    }
);

both_backends!(console_pages_need_a_session, |env: TestEnv| async move {
    for uri in [
        "/console/users",
        "/console/users/x",
        "/console/groups",
        "/console/groups/x",
        "/console/provisioning-log",
        "/console/audit-log",
        "/console/accounts",
    ] {
        for cookie in [None, Some("__Host-scimd_session=bogus".to_string())] {
            let headers: Vec<(&str, String)> = cookie.into_iter().map(|c| ("cookie", c)).collect();
            let r = env.send(Method::GET, uri, None, &headers).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{uri}");
            assert_eq!(r.header("location"), Some("/console/login"), "{uri}");
        }
    }
    let r = env
        .send(
            Method::POST,
            "/console/accounts",
            Some(b"email=a%40b.c&role=admin&password=0123456789".to_vec()),
            &[(
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            )],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/console/login"));
    assert_eq!(env.store().list_accounts(&env.tenant_id).unwrap().len(), 0);
});
