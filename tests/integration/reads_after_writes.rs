//! Every read after an acknowledged write shows it: on SQLite the server keeps resources it
//! has read (`store::resource_cache`), so each read here is made once before the write (to
//! be kept) and again after it. Both backends must answer alike.

use std::cell::Cell;
use std::rc::Rc;
use std::thread;

use futures::future::join;
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{enc, member_ids, patch_op, resource_ids, Backend, TestEnv};
use scimd::schema::Registry;
use scimd::store::resources::{ListQuery, Related, Update, WriteOptions};

/// `GET /Users?filter=userName eq "name"`: the ids found.
async fn ids_named(env: &TestEnv, name: &str) -> Vec<String> {
    let filter = enc(&format!("userName eq \"{name}\""));
    resource_ids(&env.get_ok(&format!("/Users?filter={filter}")).await)
}

/// The `display` of each `groups` entry of a user, by group id.
fn groups_shown(user: &Value) -> Vec<(String, String)> {
    let mut shown: Vec<(String, String)> = user["groups"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|g| {
                    (
                        g["value"].as_str().unwrap().to_string(),
                        g["display"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    shown.sort();
    shown
}

both_backends!(
    a_patch_is_seen_by_the_next_get_and_lookup,
    |env: TestEnv| async move {
        let id = env.create_user("kept.reader@example.com").await;
        let path = format!("/Users/{id}");
        for _ in 0..2 {
            assert_eq!(env.get_ok(&path).await["meta"]["version"], "W/\"1\"");
            assert_eq!(
                ids_named(&env, "Kept.Reader@example.com").await,
                [id.as_str()]
            );
        }
        // SQLite (a kept file) answered the second GET and lookup from its cache.
        let stats = env.store().resource_cache_stats();
        match env.backend {
            Backend::Sqlite => assert!(stats.unwrap().hits >= 2, "{stats:?}"),
            Backend::Postgres => assert!(stats.is_none()),
        }

        let r = env
            .patch(
                &path,
                patch_op(json!([{"op": "replace", "path": "title", "value": "Engineer"}])),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.raw);
        let user = env.get_ok(&path).await;
        assert_eq!(user["title"], "Engineer");
        assert_eq!(user["meta"]["version"], "W/\"2\"");
        let filter = enc("userName eq \"kept.reader@example.com\"");
        let found = env.get_ok(&format!("/Users?filter={filter}")).await;
        assert_eq!(found["totalResults"], 1);
        assert_eq!(found["Resources"][0]["title"], "Engineer");
        assert_eq!(found["Resources"][0]["meta"]["version"], "W/\"2\"");

        // PUT, then the reads again.
        let r = env
            .put(
                &path,
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": "kept.reader@example.com", "title": "Manager"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.raw);
        assert_eq!(env.get_ok(&path).await["title"], "Manager");
        let found = env.get_ok(&format!("/Users?filter={filter}")).await;
        assert_eq!(found["Resources"][0]["title"], "Manager");
    }
);

both_backends!(
    a_renamed_or_deleted_user_is_not_found_by_its_old_name,
    |env: TestEnv| async move {
        let id = env.create_user("alice@example.com").await;
        assert_eq!(ids_named(&env, "alice@example.com").await, [id.as_str()]);
        let r = env
            .patch(
                &format!("/Users/{id}"),
                patch_op(
                    json!([{"op": "replace", "path": "userName", "value": "bob@example.com"}]),
                ),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.raw);
        assert!(ids_named(&env, "alice@example.com").await.is_empty());
        assert_eq!(ids_named(&env, "bob@example.com").await, [id.as_str()]);
        // Kept again by a GET, the old name still does not lead to it.
        env.get_ok(&format!("/Users/{id}")).await;
        assert!(ids_named(&env, "alice@example.com").await.is_empty());

        // A new user takes the old name.
        let newer = env.create_user("alice@example.com").await;
        assert_eq!(ids_named(&env, "alice@example.com").await, [newer.as_str()]);
        assert_eq!(env.delete(&format!("/Users/{newer}")).await.status, 204);
        assert!(ids_named(&env, "alice@example.com").await.is_empty());
        assert_eq!(env.get(&format!("/Users/{newer}")).await.status, 404);
        // The rename again, back: found under its first name.
        let r = env
            .patch(
                &format!("/Users/{id}"),
                patch_op(
                    json!([{"op": "replace", "path": "userName", "value": "Alice@example.com"}]),
                ),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.raw);
        assert_eq!(ids_named(&env, "alice@example.com").await, [id]);
        assert!(ids_named(&env, "bob@example.com").await.is_empty());
    }
);

both_backends!(
    membership_changes_show_on_both_sides,
    |env: TestEnv| async move {
        let user = env.create_user("member@example.com").await;
        let other = env.create_user("other@example.com").await;
        let group = env.create_group("Readers").await;
        let user_path = format!("/Users/{user}");
        let group_path = format!("/Groups/{group}");
        // Read (and kept) before each change.
        assert!(groups_shown(&env.get_ok(&user_path).await).is_empty());
        assert!(member_ids(&env.get_ok(&group_path).await).is_empty());

        let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": user}]}]));
        assert_eq!(env.patch(&group_path, add).await.status, 204);
        assert_eq!(
            groups_shown(&env.get_ok(&user_path).await),
            [(group.clone(), "Readers".to_string())]
        );
        let found = env
            .get_ok(&format!(
                "/Users?filter={}",
                enc("userName eq \"member@example.com\"")
            ))
            .await;
        assert_eq!(found["Resources"][0]["groups"][0]["value"], group.as_str());
        let shown = env.get_ok(&group_path).await;
        assert_eq!(member_ids(&shown), [user.as_str()]);
        assert_eq!(shown["meta"]["version"], "W/\"2\"");

        // The group renamed: the user's `groups` show the new name.
        let rename =
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "Writers"}]));
        assert_eq!(env.patch(&group_path, rename).await.status, 204);
        assert_eq!(
            groups_shown(&env.get_ok(&user_path).await),
            [(group.clone(), "Writers".to_string())]
        );
        // The user renamed: the group's `members` show the new name.
        let r = env
            .patch(
                &user_path,
                patch_op(json!([{"op": "replace", "path": "displayName", "value": "Mem Ber"}])),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.raw);
        assert_eq!(
            env.get_ok(&group_path).await["members"][0]["display"],
            "Mem Ber"
        );

        // The member removed, then another added by PUT of the group.
        let remove =
            patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]));
        assert_eq!(env.patch(&group_path, remove).await.status, 204);
        assert!(groups_shown(&env.get_ok(&user_path).await).is_empty());
        env.get_ok(&format!("/Users/{other}")).await;
        let r = env
            .put(
                &group_path,
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                       "displayName": "Writers", "members": [{"value": other}]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.raw);
        assert_eq!(
            groups_shown(&env.get_ok(&format!("/Users/{other}")).await).len(),
            1
        );

        // A member deleted: gone from the group; the group deleted: gone from the user.
        env.get_ok(&group_path).await;
        assert_eq!(env.delete(&format!("/Users/{other}")).await.status, 204);
        assert!(member_ids(&env.get_ok(&group_path).await).is_empty());
        let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": user}]}]));
        assert_eq!(env.patch(&group_path, add).await.status, 204);
        assert_eq!(groups_shown(&env.get_ok(&user_path).await).len(), 1);
        assert_eq!(env.delete(&group_path).await.status, 204);
        assert!(groups_shown(&env.get_ok(&user_path).await).is_empty());
        assert_eq!(env.get(&group_path).await.status, 404);

        // A group created with the user as a member.
        let r = env
            .post(
                "/Groups",
                json!({"displayName": "Founders", "members": [{"value": user}]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.raw);
        assert_eq!(groups_shown(&env.get_ok(&user_path).await).len(), 1);
    }
);

both_backends!(
    a_resource_read_in_one_tenant_is_not_found_in_another,
    |env: TestEnv| async move {
        let id = env.create_user("tenant.a@example.com").await;
        env.get_ok(&format!("/Users/{id}")).await;
        assert_eq!(ids_named(&env, "tenant.a@example.com").await, [id.as_str()]);
        let (other, token, _) = env.new_tenant("Other").await;
        let r = env.get_as(&other, &token, &format!("/Users/{id}")).await;
        assert_eq!(r.status, 404, "{}", r.raw);
        let filter = enc("userName eq \"tenant.a@example.com\"");
        let r = env
            .get_as(&other, &token, &format!("/Users?filter={filter}"))
            .await;
        assert_eq!(r.body["totalResults"], 0, "{}", r.raw);
        // Nor as a Group in its own tenant.
        assert_eq!(env.get(&format!("/Groups/{id}")).await.status, 404);
    }
);

both_backends!(
    reads_between_patches_never_go_back,
    |env: TestEnv| async move {
        // One task PATCHes a user 40 times; another reads it by id and by name meanwhile.
        // A read started after a PATCH was acknowledged shows at least that version, and
        // versions read never decrease; after the last PATCH both reads show it.
        let id = env.create_user("busy@example.com").await;
        let path = format!("/Users/{id}");
        let acknowledged = Rc::new(Cell::new(1_i64));
        let done = Rc::new(Cell::new(false));
        let writes = {
            let (env, path, acknowledged, done) =
                (&env, path.clone(), acknowledged.clone(), done.clone());
            async move {
                for i in 1..=40 {
                    let op = json!([{"op": "replace", "path": "title", "value": format!("t{i}")}]);
                    let r = env.patch(&path, patch_op(op)).await;
                    assert_eq!(r.status, 200, "{}", r.raw);
                    acknowledged.set(i + 1);
                }
                done.set(true);
            }
        };
        let reads = {
            let (env, path, acknowledged, done) =
                (&env, path.clone(), acknowledged.clone(), done.clone());
            async move {
                let filter = format!("/Users?filter={}", enc("userName eq \"busy@example.com\""));
                let mut last = 0;
                let mut n = 0;
                while !done.get() || n < 2 {
                    let floor = acknowledged.get();
                    let by_id = env.get_ok(&path).await;
                    let by_name = env.get_ok(&filter).await["Resources"][0].clone();
                    for user in [by_id, by_name] {
                        let v: i64 = user["meta"]["version"]
                            .as_str()
                            .unwrap()
                            .trim_start_matches("W/\"")
                            .trim_end_matches('"')
                            .parse()
                            .unwrap();
                        assert!(v >= floor && v >= last, "read {v} after {floor} / {last}");
                        if v > 1 {
                            assert_eq!(user["title"], format!("t{}", v - 1));
                        }
                        last = v;
                    }
                    if done.get() {
                        n += 1;
                    }
                    actix_web::rt::task::yield_now().await;
                }
                assert_eq!(last, 41);
            }
        };
        join(writes, reads).await;
    }
);

both_backends!(
    reader_threads_see_every_acknowledged_write,
    |env: TestEnv| async move {
        // The store itself, from threads: one writer PATCHes 200 times, three readers read
        // by id and by name meanwhile. A read that starts after a write returned shows that
        // write or a later one.
        let id = env.create_user("threads@example.com").await;
        let store = env.store().clone();
        let tenant = env.tenant_id.clone();
        let acknowledged = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(1));
        let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let rt = &Registry::get().user;
        let filter = scimd::filter::parse_filter("userName eq \"THREADS@example.com\"").unwrap();
        thread::scope(|s| {
            for _ in 0..3 {
                let (store, tenant, id) = (&store, &tenant, &id);
                let (acknowledged, finished, filter) = (&acknowledged, &finished, &filter);
                s.spawn(move || {
                    let mut last = 0;
                    loop {
                        // The last round starts after the last write was acknowledged.
                        let last_round = finished.load(std::sync::atomic::Ordering::SeqCst);
                        let floor = acknowledged.load(std::sync::atomic::Ordering::SeqCst);
                        let (row, _) = store
                            .get_resource_row_related(tenant, rt, id, Related::Groups)
                            .unwrap()
                            .unwrap();
                        let query = ListQuery {
                            filter: Some(filter),
                            start_index: 1,
                            count: 10,
                            ..Default::default()
                        };
                        let (page, _) = store
                            .list_resource_rows_related(tenant, rt, &query, Related::Groups)
                            .unwrap();
                        assert_eq!(page.total, 1);
                        for v in [row.version, page.resources[0].version] {
                            assert!(v >= floor && v >= last, "read {v} after {floor} / {last}");
                            last = v;
                        }
                        if last_round {
                            break;
                        }
                    }
                    assert_eq!(last, 201);
                });
            }
            for i in 1..=200 {
                let opts = WriteOptions {
                    if_match: None,
                    now: chrono::Utc::now(),
                    log: None,
                };
                let title = format!("t{i}");
                let work = store
                    .update_work(
                        tenant.clone(),
                        rt,
                        id.clone(),
                        opts,
                        Related::Nothing,
                        move |r| {
                            let mut doc = r.doc.clone();
                            doc["title"] = json!(title);
                            Ok(Update {
                                doc: Some(doc),
                                members: Vec::new(),
                            })
                        },
                    )
                    .unwrap();
                let (row, _) = store.write(work).unwrap();
                assert_eq!(row.version, i + 1);
                acknowledged.store(i + 1, std::sync::atomic::Ordering::SeqCst);
            }
            finished.store(true, std::sync::atomic::Ordering::SeqCst);
        });
    }
);
