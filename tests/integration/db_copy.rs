//! `scimd db copy`: a tenant provisioned over SCIM on SQLite, copied to PostgreSQL (and
//! back), answers identically on the same SCIM link with the same token. Runs only when
//! PostgreSQL is configured.

use actix_web::http::StatusCode;
use chrono::Utc;
use serde_json::{json, Value};

use crate::support::{patch_op, Backend, TestDb, TestEnv, ENTERPRISE};
use scimd::http::rate_limit::{Limits, RateLimiter};
use scimd::http::AppState;
use scimd::store::copy::{copy, dump, DumpRow, BATCH_ROWS};
use scimd::store::{Sql, Store};

/// More users than a batch, so every table with a row per user crosses a batch boundary.
const USERS: usize = BATCH_ROWS + 37;

async fn open(url: &str) -> Store {
    let url = url.to_string();
    actix_web::web::block(move || Store::open(&url, 4))
        .await
        .expect("block")
        .expect("open store")
}

/// No rate limit: the test sends hundreds of requests at once.
fn unlimited(env: &mut TestEnv) {
    env.state.rate_limiter = RateLimiter::new(Limits {
        rate: 1e9,
        burst: 1e9,
        max_concurrent: 10_000,
    });
}

/// An env serving `db` with the tenant and token of `like`.
async fn env_on(db: TestDb, backend: Backend, like: &TestEnv) -> TestEnv {
    let store = open(db.url()).await;
    let mut env = TestEnv {
        backend,
        state: AppState::new(store, (*like.state.settings).clone()),
        tenant_id: like.tenant_id.clone(),
        token: like.token.clone(),
        token_id: like.token_id.clone(),
        db,
    };
    unlimited(&mut env);
    env
}

/// Every user and group, each fetched on its own, plus every list page.
async fn snapshot(env: &TestEnv) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for kind in ["Users", "Groups"] {
        let mut start = 1;
        loop {
            let page = env
                .get_ok(&format!("/{kind}?startIndex={start}&count=200"))
                .await;
            let n = page["itemsPerPage"].as_u64().unwrap() as usize;
            for r in page["Resources"].as_array().unwrap() {
                let id = r["id"].as_str().unwrap();
                let path = format!("/{kind}/{id}");
                out.push((path.clone(), env.get_ok(&path).await));
            }
            out.push((format!("/{kind}?startIndex={start}"), page.clone()));
            if n == 0 || start + n > page["totalResults"].as_u64().unwrap() as usize {
                break;
            }
            start += n;
        }
    }
    out
}

async fn dump_of(store: &Store) -> Vec<(&'static str, Vec<DumpRow>)> {
    let store = store.clone();
    actix_web::web::block(move || dump(&store))
        .await
        .expect("block")
        .expect("dump")
}

async fn copy_between(from: &Store, to: &Store) -> Result<Vec<(&'static str, u64)>, String> {
    let (from, to) = (from.clone(), to.clone());
    actix_web::web::block(move || copy(&from, &to))
        .await
        .expect("block")
        .map(|r| r.tables)
        .map_err(|e| e.detail)
}

/// Users with emails and a manager, groups with members, console data, logs.
async fn provision(env: &TestEnv) {
    let mut ids = Vec::new();
    for i in 0..USERS {
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": format!("User{i:04}@Example.com"),
            "externalId": format!("ext-{i}"),
            "active": i % 7 != 0,
            "name": {"givenName": format!("Given{i}"), "familyName": "Family"},
            "emails": [
                {"value": format!("user{i}@example.com"), "type": "work", "primary": true},
                {"value": format!("u{i}@home.example"), "type": "home"}
            ],
        });
        if let Some(manager) = ids.first() {
            body[ENTERPRISE] = json!({"department": "Sales", "manager": {"value": manager}});
        }
        let r = env.post("/Users", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    // A PATCH, so that versions and lastModified differ from creation.
    let r = env
        .patch(
            &format!("/Users/{}", ids[1]),
            patch_op(json!([{"op": "replace", "path": "title", "value": "Boss"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    for (g, chunk) in ids.chunks(200).enumerate() {
        let gid = env.create_group(&format!("Group {g}")).await;
        let members: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
        let r = env
            .patch(
                &format!("/Groups/{gid}"),
                patch_op(json!([{"op": "add", "path": "members", "value": members}])),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.raw);
    }
    let empty = env.create_group("Empty").await;
    assert!(!empty.is_empty());

    let store = env.store().clone();
    let tenant = env.tenant_id.clone();
    actix_web::web::block(move || {
        let now = Utc::now();
        store.create_account(
            &tenant,
            "owner@example.com",
            "$argon2id$not-a-real-hash",
            scimd::store::console::Role::Owner,
            now,
        )?;
        store.audit(
            &tenant,
            Some("owner@example.com"),
            "token.generate",
            None,
            now,
        )?;
        store.write(|c| {
            for q in [
                "INSERT INTO companies (tenant_id, id, name, name_folded) VALUES (",
                "INSERT INTO roles (tenant_id, id, name, name_folded) VALUES (",
            ] {
                let mut s = Sql::new(q);
                s.text(tenant.as_str())
                    .push(", 'x1', 'Acme AB', 'acme ab')");
                c.execute(&s)?;
            }
            let mut s = Sql::new(
                "INSERT INTO configurations (tenant_id, id, name, company_id, locale, \
                 language, time_zone, filter, filter_folded, is_default, created_at) VALUES (",
            );
            s.text(tenant.as_str()).push(
                ", 'c1', 'Default', 'x1', 'sv-SE', NULL, 'Europe/Stockholm', 'SE', 'se', 1, \
                 '2026-01-02T03:04:05.000000Z')",
            );
            c.execute(&s)?;
            let mut s = Sql::new(
                "INSERT INTO configuration_roles (tenant_id, configuration_id, role_id) VALUES (",
            );
            s.text(tenant.as_str()).push(", 'c1', 'x1')");
            c.execute(&s)?;
            let mut s = Sql::new(
                "INSERT INTO provisioning_log (tenant_id, id, at, token_id, token_name, method, \
                 resource_type, resource_id, resource_name, outcome, status, detail) VALUES (",
            );
            s.text(tenant.as_str()).push(
                ", 'l1', '2026-01-02T03:04:05.000000Z', NULL, 'test', 'POST', 'User', NULL, \
                 'x', 'failure', 409, 'duplicate')",
            );
            c.execute(&s)?;
            Ok(())
        })
    })
    .await
    .expect("block")
    .expect("console data");
}

#[actix_web::test]
async fn sqlite_to_postgres_and_back_keeps_everything() {
    if crate::support::postgres_url().is_none() {
        return;
    }
    let mut src = TestEnv::new(Backend::Sqlite).await.expect("sqlite env");
    unlimited(&mut src);
    provision(&src).await;
    let before = snapshot(&src).await;
    assert!(before.len() > USERS, "{}", before.len());
    let src_rows = dump_of(src.store()).await;

    // SQLite → PostgreSQL.
    let pg = env_on(
        TestDb::new(Backend::Postgres).unwrap(),
        Backend::Postgres,
        &src,
    )
    .await;
    let counts = copy_between(src.store(), pg.store()).await.expect("copy");
    let count = |t: &str| counts.iter().find(|(n, _)| *n == t).unwrap().1;
    assert_eq!(count("tenants"), 1);
    assert_eq!(count("tokens"), 1);
    assert_eq!(count("accounts"), 1);
    assert_eq!(count("configuration_roles"), 1);
    assert_eq!(count("resources"), (USERS + USERS.div_ceil(200) + 1) as u64);
    assert_eq!(count("members"), USERS as u64);
    assert!(count("resource_values") >= USERS as u64);
    assert!(count("provisioning_log") >= 1);
    assert_eq!(count("audit_log"), 1);
    assert_eq!(
        dump_of(pg.store()).await,
        src_rows,
        "every row, value for value"
    );

    // Same SCIM link, same token: every resource identical (ids, versions, timestamps,
    // members, manager, emails).
    let after = snapshot(&pg).await;
    assert_eq!(after.len(), before.len());
    for ((p1, b1), (p2, b2)) in before.iter().zip(&after) {
        assert_eq!(p1, p2);
        assert_eq!(b1, b2, "{p1} differs after the copy");
    }
    let group = before
        .iter()
        .find(|(p, b)| p.starts_with("/Groups/") && b["displayName"] == "Group 0")
        .unwrap();
    assert_eq!(group.1["members"].as_array().unwrap().len(), 200);
    let user = &before
        .iter()
        .find(|(p, _)| p.starts_with("/Users/"))
        .unwrap()
        .1;
    assert!(user["meta"]["version"].is_string());

    // The copy is a working store: filters on folded columns and emails, and writes.
    let r = pg
        .get_ok("/Users?filter=userName%20eq%20%22user0003@example.com%22")
        .await;
    assert_eq!(r["totalResults"], 1, "{r}");
    let r = pg
        .get_ok(
            "/Users?filter=emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22USER5@example.com%22",
        )
        .await;
    assert_eq!(r["totalResults"], 1, "{r}");
    pg.create_user("after-copy").await;
    // A duplicate in another case is still refused by the copied unique index.
    let r = pg
        .post(
            "/Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "USER0001@example.com"}),
        )
        .await;
    r.assert_error(409, Some("uniqueness"));

    // A token of another tenant on this SCIM link is still refused.
    let r = pg
        .send(
            actix_web::http::Method::GET,
            &format!("{}/Users", pg.base()),
            None,
            &[("authorization", "Bearer scimd_nope".to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Into a non-empty target: refused, and nothing written.
    let pg_rows = dump_of(pg.store()).await;
    let err = copy_between(src.store(), pg.store()).await.unwrap_err();
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(dump_of(pg.store()).await, pg_rows);

    // PostgreSQL → a new SQLite database: the same again.
    let back = env_on(TestDb::new(Backend::Sqlite).unwrap(), Backend::Sqlite, &src).await;
    copy_between(pg.store(), back.store())
        .await
        .expect("copy back");
    assert_eq!(dump_of(back.store()).await, pg_rows);
    let r = back
        .get_ok("/Users?filter=userName%20eq%20%22after-copy%22")
        .await;
    assert_eq!(r["totalResults"], 1, "{r}");
    let err = copy_between(pg.store(), back.store()).await.unwrap_err();
    assert!(err.contains("not empty"), "{err}");
}
