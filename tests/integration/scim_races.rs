//! Concurrency on both backends: uniqueness under parallel creates, no lost membership
//! updates, If-Match as optimistic locking.

use actix_web::http::{Method, StatusCode};
use futures::future::join_all;
use serde_json::json;

use crate::both_backends;
use crate::support::{enc, member_ids, patch_op, Backend, TestEnv};

/// `name` with the letters' case varied by the bits of `i`.
fn case_variant(name: &str, i: usize) -> String {
    name.chars()
        .enumerate()
        .map(|(k, c)| {
            if (i >> (k % 12)) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

both_backends!(
    parallel_creates_of_one_user_name,
    |env: TestEnv| async move {
        let base = "race.condition.user@example.com";
        let results = join_all((0..50).map(|i| {
            let env = &env;
            async move {
                env.post(
                    "/Users",
                    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": case_variant(base, i), "active": true}),
                )
                .await
            }
        }))
        .await;
        let created: Vec<_> = results
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .collect();
        assert_eq!(
            created.len(),
            1,
            "{:?}",
            results
                .iter()
                .map(|r| (r.status, r.raw.clone()))
                .collect::<Vec<_>>()
        );
        for r in results.iter().filter(|r| r.status != StatusCode::CREATED) {
            r.assert_error(409, Some("uniqueness"));
        }
        let b = env.get_ok("/Users").await;
        assert_eq!(b["totalResults"], 1);
        assert_eq!(b["Resources"][0]["id"], created[0].body["id"]);
        let b = env
            .get_ok(&format!(
                "/Users?filter={}",
                enc(&format!("userName eq \"{base}\""))
            ))
            .await;
        assert_eq!(b["totalResults"], 1);
    }
);

both_backends!(
    parallel_group_creates_of_one_display_name,
    |env: TestEnv| async move {
        let results = join_all((0..20).map(|i| {
            let env = &env;
            async move {
                env.post(
                    "/Groups",
                    json!({"displayName": case_variant("Parallel Group", i)}),
                )
                .await
            }
        }))
        .await;
        let created = results
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1);
        for r in results.iter().filter(|r| r.status != StatusCode::CREATED) {
            r.assert_error(409, Some("uniqueness"));
        }
        assert_eq!(env.get_ok("/Groups").await["totalResults"], 1);
    }
);

both_backends!(
    parallel_member_adds_are_all_kept,
    |env: TestEnv| async move {
        let gid = env.create_group("Busy group").await;
        let mut users = env.create_users("busy", 20).await;
        let path = format!("/Groups/{gid}");
        let results = join_all(users.iter().map(|u| {
            let env = &env;
            let path = path.clone();
            async move {
                env.patch(
                    &path,
                    patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": u}]}])),
                )
                .await
            }
        }))
        .await;
        for r in &results {
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        }
        let g = env.get_ok(&path).await;
        users.sort();
        assert_eq!(member_ids(&g), users);
        assert_eq!(g["meta"]["version"], "W/\"21\"", "one version per change");
        // And 20 parallel removals of half of them, mixed with re-adds of the others.
        let results = join_all(users.iter().enumerate().map(|(i, u)| {
            let env = &env;
            let path = path.clone();
            async move {
                let op = if i % 2 == 0 {
                    json!({"op": "remove", "path": format!("members[value eq \"{u}\"]")})
                } else {
                    json!({"op": "Add", "path": "members", "value": [{"value": u}]})
                };
                env.patch(&path, patch_op(json!([op]))).await
            }
        }))
        .await;
        for r in &results {
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        }
        let g = env.get_ok(&path).await;
        assert_eq!(g["members"].as_array().unwrap().len(), 10, "{g}");
    }
);

both_backends!(
    parallel_patches_with_one_stale_if_match,
    |env: TestEnv| async move {
        let uid = env.create_user("optimistic@example.com").await;
        let path = format!("/Users/{uid}");
        let results = join_all((0..10).map(|i| {
        let env = &env;
        let path = path.clone();
        async move {
            env.scim_with(
                Method::PATCH,
                &path,
                Some(patch_op(json!([{"op": "Replace", "path": "displayName", "value": format!("writer {i}")}]))),
                &[("if-match", "W/\"1\"".to_string())],
            )
            .await
        }
    }))
    .await;
        let ok: Vec<_> = results
            .iter()
            .filter(|r| r.status == StatusCode::OK)
            .collect();
        assert_eq!(
            ok.len(),
            1,
            "{:?}",
            results
                .iter()
                .map(|r| (r.status, r.raw.clone()))
                .collect::<Vec<_>>()
        );
        for r in results.iter().filter(|r| r.status != StatusCode::OK) {
            r.assert_error(412, None);
        }
        // The winner's write is what is stored: no lost update.
        let u = env.get_ok(&path).await;
        assert_eq!(u["displayName"], ok[0].body["displayName"]);
        assert_eq!(u["meta"]["version"], "W/\"2\"");
        // Parallel unconditional PATCHes of different attributes all land.
        let attrs = [
            "title",
            "nickName",
            "profileUrl",
            "locale",
            "timezone",
            "preferredLanguage",
            "userType",
            "displayName",
        ];
        let results = join_all(attrs.iter().map(|a| {
            let env = &env;
            let path = path.clone();
            async move {
                let value = if *a == "profileUrl" {
                    "https://example.com/p".to_string()
                } else {
                    format!("v-{a}")
                };
                env.patch(
                    &path,
                    patch_op(json!([{"op": "Replace", "path": a, "value": value}])),
                )
                .await
            }
        }))
        .await;
        for r in &results {
            assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        }
        let u = env.get_ok(&path).await;
        for a in attrs {
            assert!(u[a].is_string(), "{a} lost: {u}");
        }
        assert_eq!(u["meta"]["version"], format!("W/\"{}\"", 2 + attrs.len()));
    }
);

both_backends!(
    list_total_follows_parallel_creates_and_deletes,
    |env: TestEnv| async move {
        // The unfiltered total is a kept count (several rows per tenant on PostgreSQL, so
        // that parallel creates do not queue on one): it must equal what a filter counts.
        let created = join_all((0..40).map(|i| {
            let env = &env;
            async move { env.create_user(&format!("counted{i:02}@example.com")).await }
        }))
        .await;
        let deletes = join_all(created.iter().take(15).map(|id| {
            let env = &env;
            async move { env.delete(&format!("/Users/{id}")).await }
        }))
        .await;
        assert!(deletes.iter().all(|r| r.status == StatusCode::NO_CONTENT));
        // A delete of an unknown id counts nothing.
        env.delete(&format!("/Users/{}", created[0]))
            .await
            .assert_error(404, None);
        let total = env.get_ok("/Users?count=0").await;
        assert_eq!(total["totalResults"], 25, "{total}");
        let counted = env
            .get_ok(&format!(
                "/Users?count=0&filter={}",
                enc("userName sw \"counted\"")
            ))
            .await;
        assert_eq!(counted["totalResults"], 25, "{counted}");
        // A replica still on the version before the shards counts in `resource_counts`
        // during a rolling upgrade (as every count before it did): that counts too.
        let tenant = env.tenant_id.clone();
        let store = env.store().clone();
        actix_web::web::block(move || {
            let mut q = scimd::store::sql::Sql::new(
                "INSERT INTO resource_counts (tenant_id, resource_type, n) VALUES (",
            );
            q.text(tenant).push(", 'User', 1) ON CONFLICT (tenant_id, resource_type) DO UPDATE SET n = resource_counts.n + 1");
            store.write(|c| c.execute(&q))
        })
        .await
        .unwrap()
        .unwrap();
        let total = env.get_ok("/Users?count=0").await;
        assert_eq!(total["totalResults"], 26, "{total}");
        // Another tenant's count is its own.
        let (other_tenant, other_token, _) = env.new_tenant("count-neighbour").await;
        let other = env
            .get_as(&other_tenant, &other_token, "/Users?count=0")
            .await;
        assert_eq!(other.body["totalResults"], 0, "{}", other.raw);
    }
);

/// SQLite works a PUT or PATCH out before the write turn, against the version it read; a
/// write that lands in between must not be lost: the update is worked out again (here on
/// the blocking pool's writers, `Store::write`; the next test on the writer thread).
#[actix_web::test]
async fn an_update_planned_on_an_older_version_is_worked_out_again() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use scimd::error::ScimError;
    use scimd::store::resources::{Related, StoredResource, Update, WriteOptions};

    /// The update that sets one attribute of the resource it is given.
    fn setting(current: &StoredResource, name: &str, value: &str) -> Result<Update, ScimError> {
        let mut doc = current.doc.clone();
        doc[name] = json!(value);
        Ok(Update {
            doc: Some(doc),
            members: Vec::new(),
        })
    }

    let env = TestEnv::new(Backend::Sqlite).await.expect("sqlite env");
    let id = env.create_user("planned@example.com").await;
    let store = env.store().clone();
    let tenant = env.tenant_id.clone();
    let user_id = id.clone();
    let (row, calls) = actix_web::web::block(move || {
        let rt = &scimd::schema::Registry::get().user;
        let opts = WriteOptions {
            if_match: None,
            now: chrono::Utc::now(),
            log: None,
        };
        let calls = Arc::new(AtomicUsize::new(0));
        let (counted, other_store, other_opts) = (calls.clone(), store.clone(), opts.clone());
        let (other_tenant, other_id) = (tenant.clone(), user_id.clone());
        let work = store
            .update_work(
                tenant,
                rt,
                user_id,
                opts,
                Related::Nothing,
                move |current| {
                    if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                        // Another writer, between this update's planning and its turn.
                        let other = other_store
                            .update_work(
                                other_tenant.clone(),
                                rt,
                                other_id.clone(),
                                other_opts.clone(),
                                Related::Nothing,
                                |other| setting(other, "displayName", "Changed In Between"),
                            )
                            .expect("the other write planned");
                        other_store.write(other).expect("the other write");
                    }
                    setting(current, "title", "Planned")
                },
            )
            .expect("planned");
        let (row, _) = store.write(work).expect("update");
        (row, calls.load(Ordering::SeqCst))
    })
    .await
    .expect("block");
    assert_eq!(calls, 2, "worked out again on the newer version");
    assert_eq!(row.version, 3);
    let user = env.get_ok(&format!("/Users/{id}")).await;
    assert_eq!(user["displayName"], "Changed In Between", "{user}");
    assert_eq!(user["title"], "Planned", "{user}");
    assert_eq!(user["meta"]["version"], "W/\"3\"", "{user}");
}

/// The same on SQLite's writer thread, the path of every PUT and PATCH over HTTP: the work
/// handed over was planned on an older version, so the thread works it out again.
#[actix_web::test]
async fn a_queued_update_planned_on_an_older_version_is_worked_out_again() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use scimd::store::resources::{Related, StoredResource, Update, WriteOptions};

    let env = TestEnv::new(Backend::Sqlite).await.expect("sqlite env");
    let id = env.create_user("queued@example.com").await;
    let store = env.store().clone();
    assert!(store.has_write_queue());
    let rt = &scimd::schema::Registry::get().user;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let work = store
        .update_work(
            env.tenant_id.clone(),
            rt,
            id.clone(),
            WriteOptions {
                if_match: None,
                now: chrono::Utc::now(),
                log: None,
            },
            Related::Nothing,
            move |current: &StoredResource| {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut doc = current.doc.clone();
                doc["title"] = json!("Planned");
                Ok(Update {
                    doc: Some(doc),
                    members: Vec::new(),
                })
            },
        )
        .expect("planned");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "planned before the turn");
    // Another write lands between the planning and the turn.
    let other = env
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "In Between"}])),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.raw);
    let (row, _) = store.queued_write(work).await.expect("queued update");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "worked out again");
    assert_eq!(row.version, 3);
    let user = env.get_ok(&format!("/Users/{id}")).await;
    assert_eq!(user["displayName"], "In Between", "{user}");
    assert_eq!(user["title"], "Planned", "{user}");
    assert_eq!(user["meta"]["version"], "W/\"3\"", "{user}");
}
