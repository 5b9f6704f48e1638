//! Companies, roles and default user configurations: the store's rules on both backends,
//! and the console pages (CSRF, viewers, add and list).

use actix_web::http::{Method, StatusCode};
use chrono::Utc;

use scimd::configuration::AppliedConfiguration;
use scimd::store::configurations::{Catalog, ConfigurationInput};
use scimd::store::console::Role;
use scimd::store::Store;

use crate::both_backends;
use crate::support::{Resp, TestEnv};

fn company(store: &Store, tenant: &str, name: &str) -> String {
    store
        .add_named(tenant, Catalog::Companies, name)
        .expect("add company")
        .id
}

fn role(store: &Store, tenant: &str, name: &str) -> String {
    store
        .add_named(tenant, Catalog::Roles, name)
        .expect("add role")
        .id
}

fn input(name: &str, company_id: &str, role_ids: &[&str]) -> ConfigurationInput {
    ConfigurationInput {
        name: name.into(),
        company_id: company_id.into(),
        role_ids: role_ids.iter().map(|r| r.to_string()).collect(),
        ..ConfigurationInput::default()
    }
}

fn defaults(store: &Store, tenant: &str) -> Vec<String> {
    store
        .list_configurations(tenant)
        .expect("list")
        .into_iter()
        .filter(|c| c.is_default)
        .map(|c| c.name)
        .collect()
}

both_backends!(
    names_are_unique_per_tenant_ignoring_case,
    |env: TestEnv| async move {
        let store = env.store();
        let t = env.tenant_id.as_str();
        for catalog in [Catalog::Companies, Catalog::Roles] {
            let first = store.add_named(t, catalog, "Acme AB").expect("add");
            let dup = store.add_named(t, catalog, "  acme ab ").unwrap_err();
            assert_eq!(dup.status, 409, "{}", dup.detail);
            assert!(dup.detail.contains("already exists"), "{}", dup.detail);
            assert_eq!(store.add_named(t, catalog, "  ").unwrap_err().status, 400);
            let second = store.add_named(t, catalog, "Beta").expect("add");
            // Renaming onto another name is refused; changing the case of one's own is fine.
            let e = store
                .rename_named(t, catalog, &second.id, "ACME ab")
                .unwrap_err();
            assert_eq!(e.status, 409);
            store
                .rename_named(t, catalog, &first.id, "ACME AB")
                .expect("rename own case");
            let e = store
                .rename_named(t, catalog, "no-such-id", "Gamma")
                .unwrap_err();
            assert_eq!(e.status, 404);
            let names: Vec<String> = store
                .list_named(t, catalog)
                .expect("list")
                .into_iter()
                .map(|r| r.name)
                .collect();
            assert_eq!(names, vec!["ACME AB", "Beta"]);
        }
        // Another tenant has its own namespace.
        let (other, _, _) = env.new_tenant("Other").await;
        store
            .add_named(&other, Catalog::Companies, "Acme AB")
            .expect("same name in another tenant");
        assert_eq!(
            store.list_named(&other, Catalog::Roles).expect("list"),
            vec![]
        );
    }
);

both_backends!(
    delete_is_refused_while_a_configuration_uses_it,
    |env: TestEnv| async move {
        let store = env.store();
        let t = env.tenant_id.as_str();
        let acme = company(store, t, "Acme");
        let spare = company(store, t, "Spare");
        let approver = role(store, t, "Approver");
        let unused = role(store, t, "Unused");
        let cfg = store
            .add_configuration(t, &input("Nordic", &acme, &[&approver]), Utc::now())
            .expect("add configuration");

        let e = store
            .delete_named(t, Catalog::Companies, &acme)
            .unwrap_err();
        assert_eq!(e.status, 400);
        assert!(
            e.detail.contains("is used by configuration \"Nordic\""),
            "{}",
            e.detail
        );
        let e = store
            .delete_named(t, Catalog::Roles, &approver)
            .unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.detail.contains("Approver"), "{}", e.detail);
        assert_eq!(store.list_named(t, Catalog::Companies).unwrap().len(), 2);

        // Unused ones go; unknown ids are not found.
        store
            .delete_named(t, Catalog::Companies, &spare)
            .expect("delete unused company");
        store
            .delete_named(t, Catalog::Roles, &unused)
            .expect("delete unused role");
        assert_eq!(
            store
                .delete_named(t, Catalog::Roles, "nope")
                .unwrap_err()
                .status,
            404
        );

        // Once the configuration is gone, so can they be.
        store.delete_configuration(t, &cfg.id).expect("delete cfg");
        store
            .delete_named(t, Catalog::Companies, &acme)
            .expect("delete company");
        store
            .delete_named(t, Catalog::Roles, &approver)
            .expect("delete role");
    }
);

both_backends!(
    company_and_roles_must_exist_in_the_tenant,
    |env: TestEnv| async move {
        let store = env.store();
        let t = env.tenant_id.as_str();
        let acme = company(store, t, "Acme");
        let approver = role(store, t, "Approver");
        let (other, _, _) = env.new_tenant("Other").await;
        let their_company = company(store, &other, "Theirs");
        let their_role = role(store, &other, "TheirRole");

        for bad in [
            input("A", "no-such-company", &[]),
            input("B", &their_company, &[]),
            input("C", &acme, &["no-such-role"]),
            input("D", &acme, &[&approver, &their_role]),
        ] {
            let e = store
                .add_configuration(t, &bad, Utc::now())
                .expect_err("refused");
            assert_eq!(e.status, 400, "{}: {}", bad.name, e.detail);
            assert!(e.detail.contains("does not exist"), "{}", e.detail);
        }
        let e = store
            .add_configuration(t, &input("  ", &acme, &[]), Utc::now())
            .unwrap_err();
        assert_eq!(e.status, 400);
        // Nothing half-written.
        assert!(store.list_configurations(t).unwrap().is_empty());
        assert!(!store.has_default_configuration(t).unwrap());

        // The other tenant's configurations cannot be touched from this one.
        let theirs = store
            .add_configuration(&other, &input("Theirs", &their_company, &[]), Utc::now())
            .expect("other tenant's configuration");
        assert_eq!(
            store
                .delete_configuration(t, &theirs.id)
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            store
                .set_default_configuration(t, &theirs.id)
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            store
                .delete_named(t, Catalog::Companies, &their_company)
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(store.list_configurations(&other).unwrap().len(), 1);

        // Valid: stored with its roles, duplicates collapsed.
        let ok = store
            .add_configuration(t, &input("Ok", &acme, &[&approver, &approver]), Utc::now())
            .expect("valid");
        assert_eq!(ok.company, "Acme");
        assert_eq!(ok.roles.len(), 1);
        assert_eq!(ok.roles[0].name, "Approver");
    }
);

both_backends!(exactly_one_default_per_tenant, |env: TestEnv| async move {
    let store = env.store();
    let t = env.tenant_id.as_str();
    let acme = company(store, t, "Acme");
    let now = Utc::now();
    let a = store
        .add_configuration(t, &input("A", &acme, &[]), now)
        .expect("a");
    assert!(a.is_default, "the first configuration becomes the default");
    let b = store
        .add_configuration(
            t,
            &input("B", &acme, &[]),
            now + chrono::Duration::seconds(1),
        )
        .expect("b");
    assert!(!b.is_default);
    assert_eq!(defaults(store, t), vec!["A"]);

    let mut c_input = input("C", &acme, &[]);
    c_input.is_default = true;
    store
        .add_configuration(t, &c_input, now + chrono::Duration::seconds(2))
        .expect("c");
    assert_eq!(defaults(store, t), vec!["C"]);

    store.set_default_configuration(t, &b.id).expect("set b");
    assert_eq!(defaults(store, t), vec!["B"]);

    // The only default cannot be un-defaulted by an update.
    let e = store
        .update_configuration(t, &b.id, &input("B", &acme, &[]))
        .unwrap_err();
    assert_eq!(e.status, 400);
    let mut a_input = input("A2", &acme, &[]);
    a_input.is_default = true;
    store
        .update_configuration(t, &a.id, &a_input)
        .expect("update a");
    assert_eq!(defaults(store, t), vec!["A2"]);

    // Deleting the default promotes the oldest remaining one.
    store.delete_configuration(t, &a.id).expect("delete a");
    assert_eq!(defaults(store, t), vec!["B"]);

    // Configuration names and filters are unique (ignoring case).
    let e = store
        .add_configuration(t, &input("b", &acme, &[]), now)
        .unwrap_err();
    assert_eq!(e.status, 409);
    let mut f1 = input("F1", &acme, &[]);
    f1.filter = Some("Nordic".into());
    store.add_configuration(t, &f1, now).expect("f1");
    let mut f2 = input("F2", &acme, &[]);
    f2.filter = Some(" NORDIC ".into());
    let e = store.add_configuration(t, &f2, now).unwrap_err();
    assert_eq!(e.status, 409);
    assert!(e.detail.contains("F1"), "{}", e.detail);
    assert_eq!(defaults(store, t), vec!["B"]);
});

both_backends!(
    configuration_for_user_matches_then_defaults,
    |env: TestEnv| async move {
        let store = env.store();
        let t = env.tenant_id.as_str();
        assert_eq!(
            store.configuration_for_user(t, Some("nordic")).unwrap(),
            None
        );
        assert_eq!(store.configuration_for_user(t, None).unwrap(), None);

        let acme = company(store, t, "Acme");
        let nordic_co = company(store, t, "Acme Nordic AB");
        let requester = role(store, t, "Requester");
        let approver = role(store, t, "Approver");
        let mut std = input("Standard", &acme, &[&requester]);
        std.is_default = true;
        store.add_configuration(t, &std, Utc::now()).expect("std");
        let mut nordic = input("Nordic", &nordic_co, &[&requester, &approver]);
        nordic.filter = Some("Nordic".into());
        nordic.locale = Some("sv-SE".into());
        nordic.language = Some(" ".into());
        nordic.time_zone = Some("Europe/Stockholm".into());
        store
            .add_configuration(t, &nordic, Utc::now())
            .expect("nordic");

        let expected_nordic = AppliedConfiguration {
            name: "Nordic".into(),
            company: "Acme Nordic AB".into(),
            roles: vec!["Approver".into(), "Requester".into()],
            locale: Some("sv-SE".into()),
            language: None,
            time_zone: Some("Europe/Stockholm".into()),
        };
        assert_eq!(
            store.configuration_for_user(t, Some("NORDIC")).unwrap(),
            Some(expected_nordic.clone())
        );
        assert_eq!(
            store.configuration_for_user(t, Some("nordic")).unwrap(),
            Some(expected_nordic)
        );
        let standard = store
            .configuration_for_user(t, Some("elsewhere"))
            .unwrap()
            .expect("default");
        assert_eq!(standard.name, "Standard");
        assert_eq!(standard.company, "Acme");
        assert_eq!(standard.roles, vec!["Requester"]);
        assert_eq!(
            store
                .configuration_for_user(t, None)
                .unwrap()
                .map(|c| c.name),
            Some("Standard".into())
        );
        assert_eq!(
            store
                .configuration_for_user(t, Some(""))
                .unwrap()
                .map(|c| c.name),
            Some("Standard".into())
        );

        // Renames show through; other tenants see nothing of this.
        store
            .rename_named(t, Catalog::Roles, &approver, "Approver L2")
            .unwrap();
        assert_eq!(
            store
                .configuration_for_user(t, Some("Nordic"))
                .unwrap()
                .unwrap()
                .roles,
            vec!["Approver L2", "Requester"]
        );
        let (other, _, _) = env.new_tenant("Other").await;
        assert_eq!(
            store
                .configuration_for_user(&other, Some("nordic"))
                .unwrap(),
            None
        );
    }
);

both_backends!(
    another_replica_sees_a_configuration_change_within_a_second,
    |env: TestEnv| async move {
        // Two stores on one database, as two replicas: each keeps a tenant's configurations
        // for up to 900 ms; its own changes show at once, the other's within that time.
        let store = env.store();
        let replica = Store::open(env.db.url(), 2).expect("second store");
        let t = env.tenant_id.as_str();
        let acme = company(store, t, "Acme");
        let mut first = input("First", &acme, &[]);
        first.is_default = true;
        store.add_configuration(t, &first, Utc::now()).unwrap();
        let name = |s: &Store| s.configuration_for_user(t, None).unwrap().map(|c| c.name);
        assert_eq!(name(&replica).as_deref(), Some("First"));
        assert_eq!(name(store).as_deref(), Some("First"));

        let mut second = input("Second", &acme, &[]);
        second.is_default = true;
        store.add_configuration(t, &second, Utc::now()).unwrap();
        assert_eq!(
            name(store).as_deref(),
            Some("Second"),
            "the writer's own store"
        );
        std::thread::sleep(std::time::Duration::from_millis(950));
        assert_eq!(
            name(&replica).as_deref(),
            Some("Second"),
            "the other replica"
        );
    }
);

both_backends!(
    update_configuration_replaces_roles,
    |env: TestEnv| async move {
        let store = env.store();
        let t = env.tenant_id.as_str();
        let acme = company(store, t, "Acme");
        let beta = company(store, t, "Beta");
        let r1 = role(store, t, "R1");
        let r2 = role(store, t, "R2");
        let cfg = store
            .add_configuration(t, &input("C", &acme, &[&r1]), Utc::now())
            .unwrap();
        let mut change = input("C renamed", &beta, &[&r2]);
        change.is_default = true;
        change.filter = Some("x".into());
        let updated = store.update_configuration(t, &cfg.id, &change).unwrap();
        assert_eq!(updated.name, "C renamed");
        assert_eq!(updated.company, "Beta");
        assert_eq!(
            updated
                .roles
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            vec!["R2"]
        );
        assert_eq!(updated.filter.as_deref(), Some("x"));
        // r1 is free again.
        store.delete_named(t, Catalog::Roles, &r1).unwrap();
        assert_eq!(
            store
                .update_configuration(t, "missing", &change)
                .unwrap_err()
                .status,
            404
        );
    }
);

// ---------------------------------------------------------------- console pages

/// A signed-in console session: (cookie header value, csrf token).
async fn sign_in(env: &TestEnv, email: &str, role: Role) -> (String, String) {
    let s = env.console_sign_in(&env.tenant_id, email, role);
    (s.cookie, s.csrf)
}

async fn page(env: &TestEnv, cookie: &str, path: &str) -> Resp {
    env.send(Method::GET, path, None, &[("cookie", cookie.to_string())])
        .await
}

async fn form(env: &TestEnv, cookie: &str, path: &str, fields: &[(&str, &str)]) -> Resp {
    let body = serde_urlencoded::to_string(fields).expect("encode");
    env.send(
        Method::POST,
        path,
        Some(body.into_bytes()),
        &[
            ("cookie", cookie.to_string()),
            (
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            ),
        ],
    )
    .await
}

both_backends!(pages_need_a_session, |env: TestEnv| async move {
    for path in ["/console/companies", "/console/configurations"] {
        let r = env.send(Method::GET, path, None, &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.header("location"), Some("/console/login"));
    }
});

both_backends!(
    post_without_the_right_csrf_is_refused,
    |env: TestEnv| async move {
        let (cookie, csrf) = sign_in(&env, "owner@example.com", Role::Owner).await;
        let r = form(&env, &cookie, "/console/companies", &[("name", "Acme")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.raw);
        let r = form(
            &env,
            &cookie,
            "/console/companies",
            &[("csrf", "wrong"), ("name", "Acme")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.raw);
        assert!(r.raw.contains("CSRF"), "{}", r.raw);
        let r = form(
            &env,
            &cookie,
            "/console/roles",
            &[("csrf", &csrf[..csrf.len() - 1]), ("name", "Approver")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = form(
            &env,
            &cookie,
            "/console/configurations",
            &[("csrf", "wrong"), ("name", "X")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let store = env.store();
        assert!(store
            .list_named(&env.tenant_id, Catalog::Companies)
            .unwrap()
            .is_empty());
        assert!(store
            .list_named(&env.tenant_id, Catalog::Roles)
            .unwrap()
            .is_empty());
        assert!(store
            .list_configurations(&env.tenant_id)
            .unwrap()
            .is_empty());
    }
);

both_backends!(viewers_see_read_only_pages, |env: TestEnv| async move {
    let store = env.store();
    let acme = company(store, &env.tenant_id, "Acme");
    let (cookie, csrf) = sign_in(&env, "viewer@example.com", Role::Viewer).await;
    let r = page(&env, &cookie, "/console/companies").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.raw.contains("Acme"));
    assert!(!r.raw.contains("id=\"add-company\""));
    assert!(!r.raw.contains("/delete"));
    let r = page(&env, &cookie, "/console/configurations").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.raw.contains("id=\"add-configuration\""));

    for (path, fields) in [
        (
            "/console/companies",
            vec![("csrf", csrf.as_str()), ("name", "Beta")],
        ),
        (
            "/console/roles",
            vec![("csrf", csrf.as_str()), ("name", "R")],
        ),
        (
            "/console/configurations",
            vec![
                ("csrf", csrf.as_str()),
                ("name", "C"),
                ("company_id", acme.as_str()),
            ],
        ),
    ] {
        let r = form(&env, &cookie, path, &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.raw);
    }
    let delete = format!("/console/companies/{acme}/delete");
    let r = form(&env, &cookie, &delete, &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        store
            .list_named(&env.tenant_id, Catalog::Companies)
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .list_configurations(&env.tenant_id)
        .unwrap()
        .is_empty());
});

both_backends!(
    owner_manages_companies_and_roles,
    |env: TestEnv| async move {
        let (cookie, csrf) = sign_in(&env, "owner@example.com", Role::Owner).await;
        let r = form(
            &env,
            &cookie,
            "/console/companies",
            &[("csrf", &csrf), ("name", "Acme & Sons")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.raw);
        assert_eq!(
            r.header("location"),
            Some("/console/companies?done=company-added")
        );
        let r = form(
            &env,
            &cookie,
            "/console/roles",
            &[("csrf", &csrf), ("name", "Approver")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);

        let r = page(&env, &cookie, "/console/companies?done=company-added").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.raw.contains("id=\"companies\""));
        assert!(r.raw.contains("Acme &#38; Sons"), "{}", r.raw);
        assert!(r.raw.contains("Approver"));
        assert!(r.raw.contains("Company added"));

        // A duplicate is shown as an error on the page.
        let r = form(
            &env,
            &cookie,
            "/console/companies",
            &[("csrf", &csrf), ("name", "ACME & SONS")],
        )
        .await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.raw.contains("id=\"error\""), "{}", r.raw);
        assert!(r.raw.contains("already exists"));

        // Rename, then delete.
        let store = env.store();
        let acme = store
            .list_named(&env.tenant_id, Catalog::Companies)
            .unwrap()[0]
            .id
            .clone();
        let r = form(
            &env,
            &cookie,
            &format!("/console/companies/{acme}/rename"),
            &[("csrf", &csrf), ("name", "Acme Ltd")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(
            store
                .list_named(&env.tenant_id, Catalog::Companies)
                .unwrap()[0]
                .name,
            "Acme Ltd"
        );
        let r = form(
            &env,
            &cookie,
            &format!("/console/companies/{acme}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(store
            .list_named(&env.tenant_id, Catalog::Companies)
            .unwrap()
            .is_empty());

        let actions: Vec<String> = store
            .list_audit(&env.tenant_id, 50)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        for a in [
            "company added",
            "role added",
            "company renamed",
            "company deleted",
        ] {
            assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
        }
    }
);

both_backends!(owner_manages_configurations, |env: TestEnv| async move {
    let store = env.store();
    let t = env.tenant_id.clone();
    let acme = company(store, &t, "Acme");
    let r1 = role(store, &t, "Requester");
    let r2 = role(store, &t, "Approver");
    let (cookie, csrf) = sign_in(&env, "admin@example.com", Role::Admin).await;

    let r = page(&env, &cookie, "/console/configurations").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.raw.contains(
            "No default user configuration: users are provisioned without company and roles"
        ),
        "{}",
        r.raw
    );
    assert!(r
        .raw
        .contains(&format!("value=\"{r1}\" class=\"config-role\"")));
    assert!(r.raw.contains("id=\"config-company\""));

    let r = form(
        &env,
        &cookie,
        "/console/configurations",
        &[
            ("csrf", &csrf),
            ("name", "Nordic"),
            ("company_id", &acme),
            ("role_ids", &r1),
            ("role_ids", &r2),
            ("locale", "sv-SE"),
            ("language", "sv"),
            ("time_zone", "Europe/Stockholm"),
            ("filter", "nordic"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.raw);
    let listed = store.list_configurations(&t).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].roles.len(), 2);
    assert!(listed[0].is_default);

    let r = page(
        &env,
        &cookie,
        "/console/configurations?done=configuration-added",
    )
    .await;
    assert!(!r.raw.contains("id=\"defaults-missing\""));
    assert!(r.raw.contains("Approver, Requester"), "{}", r.raw);
    assert!(r.raw.contains("Europe/Stockholm"));

    // A second, made default through the page; the refusal for a used company shows.
    let r = form(
        &env,
        &cookie,
        "/console/configurations",
        &[
            ("csrf", &csrf),
            ("name", "Standard"),
            ("company_id", &acme),
            ("is_default", "on"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.raw);
    assert_eq!(defaults(store, &t), vec!["Standard"]);
    let nordic = listed[0].id.clone();
    let r = form(
        &env,
        &cookie,
        &format!("/console/configurations/{nordic}/default"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(defaults(store, &t), vec!["Nordic"]);

    let r = form(
        &env,
        &cookie,
        &format!("/console/companies/{acme}/delete"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.raw.contains("is used by configuration"), "{}", r.raw);

    // A company of another tenant is refused on the page.
    let (other, _, _) = env.new_tenant("Other").await;
    let theirs = company(store, &other, "Theirs");
    let r = form(
        &env,
        &cookie,
        "/console/configurations",
        &[("csrf", &csrf), ("name", "Sneaky"), ("company_id", &theirs)],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.raw.contains("does not exist"));

    let r = form(
        &env,
        &cookie,
        &format!("/console/configurations/{nordic}/delete"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(defaults(store, &t), vec!["Standard"]);
    let actions: Vec<String> = store
        .list_audit(&t, 50)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "configuration added",
        "default configuration set",
        "configuration deleted",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
});

both_backends!(
    concurrent_defaults_leave_exactly_one,
    |env: TestEnv| async move {
        let store = env.store().clone();
        let t = env.tenant_id.clone();
        let acme = company(&store, &t, "Acme");
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let (store, t, acme) = (store.clone(), t.clone(), acme.clone());
                std::thread::spawn(move || {
                    let mut cfg = input(&format!("C{i}"), &acme, &[]);
                    cfg.is_default = i % 2 == 0;
                    store.add_configuration(&t, &cfg, Utc::now())
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread").expect("add");
        }
        assert_eq!(store.list_configurations(&t).unwrap().len(), 6);
        assert_eq!(defaults(&store, &t).len(), 1);
    }
);

/// Posts the edit form of configuration `id`.
async fn save(env: &TestEnv, cookie: &str, id: &str, fields: &[(&str, &str)]) -> Resp {
    form(
        env,
        cookie,
        &format!("/console/configurations/{id}"),
        fields,
    )
    .await
}

/// The stored name of configuration `id`.
fn name_of(store: &Store, tenant: &str, id: &str) -> String {
    store.get_configuration(tenant, id).unwrap().unwrap().name
}

both_backends!(owner_edits_a_configuration, |env: TestEnv| async move {
    let store = env.store();
    let t = env.tenant_id.clone();
    let acme = company(store, &t, "Acme");
    let globex = company(store, &t, "Globex");
    let r1 = role(store, &t, "Requester");
    let r2 = role(store, &t, "Approver");
    let nordic = store
        .add_configuration(&t, &input("Nordic", &acme, &[&r1]), chrono::Utc::now())
        .unwrap();
    let (cookie, csrf) = sign_in(&env, "admin@example.com", Role::Admin).await;

    let r = page(&env, &cookie, "/console/configurations").await;
    let edit = format!("/console/configurations/{}/edit", nordic.id);
    assert!(r.raw.contains(&format!("href=\"{edit}\"")), "{}", r.raw);

    // The edit form shows what the configuration holds.
    let r = page(&env, &cookie, &edit).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert!(
        r.raw.contains("id=\"edit-configuration-form\""),
        "{}",
        r.raw
    );
    assert!(r
        .raw
        .contains(&format!("action=\"/console/configurations/{}\"", nordic.id)));
    assert!(r.raw.contains("value=\"Nordic\""));
    assert!(r
        .raw
        .contains(&format!("<option value=\"{acme}\" selected>Acme</option>")));
    assert!(r
        .raw
        .contains(&format!("value=\"{r1}\" class=\"config-role\" checked>")));
    assert!(r
        .raw
        .contains(&format!("value=\"{r2}\" class=\"config-role\">")));
    assert!(
        r.raw.contains("id=\"config-default\" checked>"),
        "the only default"
    );

    // Saved: other company, other roles, a filter; still the default.
    let r = save(
        &env,
        &cookie,
        &nordic.id,
        &[
            ("csrf", &csrf),
            ("name", "Nordics"),
            ("company_id", &globex),
            ("role_ids", &r2),
            ("locale", "fi-FI"),
            ("filter", "nordics"),
            ("is_default", "on"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.raw);
    assert_eq!(
        r.header("location"),
        Some("/console/configurations?done=configuration-changed")
    );
    let saved = store.get_configuration(&t, &nordic.id).unwrap().unwrap();
    assert_eq!(saved.name, "Nordics");
    assert_eq!(saved.company_id, globex);
    assert_eq!(
        saved.roles.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        vec![r2.clone()]
    );
    assert_eq!(saved.locale.as_deref(), Some("fi-FI"));
    assert_eq!(saved.filter.as_deref(), Some("nordics"));
    assert!(saved.is_default);
    let r = page(
        &env,
        &cookie,
        "/console/configurations?done=configuration-changed",
    )
    .await;
    assert!(r.raw.contains("Configuration changed"), "{}", r.raw);
    assert!(
        store
            .list_audit(&t, 10)
            .unwrap()
            .iter()
            .any(|e| e.action == "configuration changed"),
        "audited"
    );

    // The only default cannot be unmarked: the refusal shows, nothing changes.
    let r = save(
        &env,
        &cookie,
        &nordic.id,
        &[
            ("csrf", &csrf),
            ("name", "Renamed"),
            ("company_id", &globex),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.raw);
    assert!(
        r.raw.contains("make another configuration the default"),
        "{}",
        r.raw
    );
    assert_eq!(name_of(store, &t, &nordic.id), "Nordics");

    // Without the CSRF token: refused, nothing changes.
    let r = save(
        &env,
        &cookie,
        &nordic.id,
        &[
            ("name", "Forged"),
            ("company_id", &globex),
            ("is_default", "on"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.raw);
    assert_eq!(name_of(store, &t, &nordic.id), "Nordics");

    // Another tenant's configuration: not found, on the form and on save.
    let (other, _, _) = env.new_tenant("Other").await;
    let theirs_company = company(store, &other, "Theirs");
    let theirs = store
        .add_configuration(
            &other,
            &input("Theirs", &theirs_company, &[]),
            chrono::Utc::now(),
        )
        .unwrap();
    let r = page(
        &env,
        &cookie,
        &format!("/console/configurations/{}/edit", theirs.id),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.raw);
    let r = save(
        &env,
        &cookie,
        &theirs.id,
        &[("csrf", &csrf), ("name", "Mine"), ("company_id", &globex)],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.raw);
    assert_eq!(name_of(store, &other, &theirs.id), "Theirs");

    // Viewers get no edit link and no form.
    let (viewer, _) = sign_in(&env, "viewer@example.com", Role::Viewer).await;
    let r = page(&env, &viewer, "/console/configurations").await;
    assert!(!r.raw.contains(&edit), "{}", r.raw);
    let r = page(&env, &viewer, &edit).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.raw);
});
