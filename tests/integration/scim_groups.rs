//! Groups: Entra's group conversation, displayName uniqueness, members on POST/PUT.

use actix_web::http::{Method, StatusCode};
use chrono::Utc;
use scimd::schema::Registry;
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{enc, member_ids, patch_op, TestEnv};

both_backends!(
    entra_create_group_with_adscim_schema,
    |env: TestEnv| async move {
        let r = env
        .post(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                               "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                   "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                   "displayName": "displayName",
                   "meta": {"resourceType": "Group"}}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        let id = r.body["id"].as_str().unwrap().to_string();
        assert_eq!(
            r.body["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:Group"])
        );
        assert_eq!(r.body["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
        assert_eq!(r.body["displayName"], "displayName");
        assert_eq!(r.body["members"], json!([]));
        assert_eq!(r.body["meta"]["resourceType"], "Group");
        assert_eq!(r.body["meta"]["version"], "W/\"1\"");
        assert_eq!(
            r.body["meta"]["location"],
            format!("{}/Groups/{id}", env.public_base())
        );
        assert_eq!(r.header("etag"), Some("W/\"1\""));

        // Get Group without members.
        let g = env
            .get_ok(&format!("/Groups/{id}?excludedAttributes=members"))
            .await;
        assert_eq!(g["id"], id.as_str());
        assert_eq!(g["displayName"], "displayName");
        assert!(g.get("members").is_none(), "{g}");
        // Get Group by displayName, Entra's exact form, and case-insensitively.
        for q in [
            "/Groups?excludedAttributes=members&filter=displayName+eq+%22displayName%22"
                .to_string(),
            format!(
                "/Groups?excludedAttributes=members&filter={}",
                enc("displayName eq \"DISPLAYNAME\"")
            ),
            format!(
                "/Groups?filter={}&excludedAttributes=members",
                enc("externalId eq \"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159\"")
            ),
        ] {
            let b = env.get_ok(&q).await;
            assert_eq!(b["totalResults"], 1, "{q}: {b}");
            assert_eq!(b["Resources"][0]["id"], id.as_str());
            assert!(b["Resources"][0].get("members").is_none());
        }
        // Group probe with a random GUID: empty list.
        let b = env
        .get_ok("/Groups?excludedAttributes=members&filter=displayName+eq+%22cf4d78e8-cc4f-4d5d-b8b9-183561c0104a%22")
        .await;
        assert_eq!(b["totalResults"], 0);
        assert_eq!(b["Resources"], json!([]));
        // Delete → 204, then 404.
        assert_eq!(
            env.delete(&format!("/Groups/{id}")).await.status,
            StatusCode::NO_CONTENT
        );
        env.get(&format!("/Groups/{id}"))
            .await
            .assert_error(404, None);
        env.delete(&format!("/Groups/{id}"))
            .await
            .assert_error(404, None);
    }
);

both_backends!(group_display_name_is_unique, |env: TestEnv| async move {
    let id = env.create_group("Engineering").await;
    for name in ["Engineering", "engineering", "ENGINEERING"] {
        let r = env.post("/Groups", json!({"displayName": name})).await;
        r.assert_error(409, Some("uniqueness"));
    }
    // A rename onto another group's name is a 409 too (PATCH and PUT), nothing changes.
    let other = env.create_group("Marketing").await;
    env.patch(
        &format!("/Groups/{other}"),
        patch_op(json!([{"op": "Replace", "path": "displayName", "value": "engineering"}])),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    env.put(
        &format!("/Groups/{other}"),
        json!({"displayName": "Engineering"}),
    )
    .await
    .assert_error(409, Some("uniqueness"));
    assert_eq!(
        env.get_ok(&format!("/Groups/{other}")).await["displayName"],
        "Marketing"
    );
    let b = env.get_ok("/Groups").await;
    assert_eq!(b["totalResults"], 2);
    // A user and a group may share a name.
    env.create_user("Engineering").await;
    let _ = id;
    // No displayName → 400.
    env.post("/Groups", json!({"externalId": "x"}))
        .await
        .assert_error(400, Some("invalidValue"));
});

both_backends!(group_members_on_post_and_put, |env: TestEnv| async move {
    let a = env.create_user("a@example.com").await;
    let b = env.create_user("b@example.com").await;
    let c = env.create_user("c@example.com").await;
    let sub = env.create_group("Sub group").await;
    let r = env
        .post(
            "/Groups",
            json!({"displayName": "With members",
                   "members": [{"value": a, "display": "ignored"}, {"value": b}, {"value": sub, "type": "Group"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    let gid = r.body["id"].as_str().unwrap().to_string();
    let g = env.get_ok(&format!("/Groups/{gid}")).await;
    let members = g["members"].as_array().unwrap();
    assert_eq!(members.len(), 3);
    let sub_member = members.iter().find(|m| m["value"] == sub.as_str()).unwrap();
    assert_eq!(sub_member["type"], "Group");
    assert_eq!(sub_member["display"], "Sub group");
    assert_eq!(
        sub_member["$ref"],
        format!("{}/Groups/{sub}", env.public_base())
    );
    let a_member = members.iter().find(|m| m["value"] == a.as_str()).unwrap();
    assert_eq!(a_member["type"], "User");
    // PUT replaces the member list.
    let r = env
        .put(
            &format!("/Groups/{gid}"),
            json!({"displayName": "With members", "members": [{"value": c}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let g = env.get_ok(&format!("/Groups/{gid}")).await;
    assert_eq!(g["members"].as_array().unwrap().len(), 1);
    assert_eq!(g["members"][0]["value"], c.as_str());
    // A POST naming an unknown member → 400, no group created.
    env.post(
        "/Groups",
        json!({"displayName": "Broken", "members": [{"value": "nope"}]}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    let q = env
        .get_ok(&format!(
            "/Groups?filter={}",
            enc("displayName eq \"Broken\"")
        ))
        .await;
    assert_eq!(q["totalResults"], 0);
    // A group cannot contain itself.
    env.patch(
        &format!("/Groups/{gid}"),
        patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": gid}]}])),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    assert_eq!(
        env.get_ok(&format!("/Groups/{gid}")).await["members"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
});

both_backends!(
    memberships_in_lookups_lists_and_gets_agree,
    |env: TestEnv| async move {
        // The same memberships through every read that shows them: GET by id, a filtered
        // lookup (one statement on PostgreSQL) and an unfiltered page (one IN-list query).
        let a = env.create_user("m1@example.com").await;
        let b = env.create_user("m2@example.com").await;
        let g1 = env.create_group("Lookup group 1").await;
        let g2 = env.create_group("Lookup group 2").await;
        // Memberships written in the opposite of the order shown (ids sorted), so that a read
        // returning them as stored fails.
        let mut descending = [g1.clone(), g2.clone()];
        descending.sort();
        descending.reverse();
        let (first, second) = if a > b { (&a, &b) } else { (&b, &a) };
        for g in &descending {
            let r = env
                .patch(
                    &format!("/Groups/{g}"),
                    patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": first}, {"value": second}]}])),
                )
                .await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        }
        let by_id = env.get_ok(&format!("/Users/{a}")).await;
        let lookup = env
            .get_ok(&format!(
                "/Users?filter={}",
                enc("userName eq \"m1@example.com\"")
            ))
            .await;
        let page = env.get_ok("/Users?count=10").await;
        let in_page = page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == a.as_str())
            .unwrap()
            .clone();
        assert_eq!(lookup["totalResults"], 1);
        let mut expected = [
            (g1.clone(), "Lookup group 1"),
            (g2.clone(), "Lookup group 2"),
        ];
        expected.sort();
        for user in [&by_id, &lookup["Resources"][0], &in_page] {
            let groups: Vec<(String, String)> = user["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| {
                    assert_eq!(g["type"], "direct");
                    (
                        g["value"].as_str().unwrap().to_string(),
                        g["display"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            let want: Vec<(String, String)> = expected
                .iter()
                .map(|(id, d)| (id.clone(), d.to_string()))
                .collect();
            assert_eq!(groups, want, "{user}");
        }
        // And a group's members, by id and through a lookup.
        let by_id = env.get_ok(&format!("/Groups/{g1}")).await;
        let lookup = env
            .get_ok(&format!(
                "/Groups?filter={}",
                enc("displayName eq \"Lookup group 1\"")
            ))
            .await;
        let mut want = vec![a.clone(), b.clone()];
        want.sort();
        for group in [&by_id, &lookup["Resources"][0]] {
            let members: Vec<String> = group["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(members, want, "{group}");
            assert_eq!(group["members"][0]["type"], "User");
        }
    }
);

both_backends!(
    bulk_member_changes_span_several_statements,
    |env: TestEnv| async move {
        // More members than one statement's IN list (500): the adds and removes are split.
        let ids = env.create_users("bulk", 510).await;
        let gid = env.create_group("Bulk members").await;
        let group = format!("/Groups/{gid}");
        let values = |ids: &[String]| -> Vec<serde_json::Value> {
            ids.iter().map(|id| json!({"value": id})).collect()
        };

        // An unknown id in the second chunk: 400 naming it, and nothing added.
        let mut with_unknown = values(&ids);
        with_unknown.push(json!({"value": "no-such-user"}));
        let r = env
            .patch(
                &group,
                patch_op(json!([{"op": "add", "path": "members", "value": with_unknown}])),
            )
            .await;
        r.assert_error(400, Some("invalidValue"));
        assert!(
            r.body["detail"].as_str().unwrap().contains("no-such-user"),
            "{}",
            r.raw
        );
        let before = env.get_ok(&group).await;
        assert!(member_ids(&before).is_empty());

        // All of them, some twice: each is a member once.
        let mut twice = values(&ids);
        twice.extend(values(&ids[..5]));
        let r = env
            .patch(
                &group,
                patch_op(json!([{"op": "add", "path": "members", "value": twice}])),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        let g = env.get_ok(&group).await;
        let mut all = ids.clone();
        all.sort();
        assert_eq!(member_ids(&g), all);

        // Adding them again changes nothing, not even the version.
        let r = env
            .patch(
                &group,
                patch_op(json!([{"op": "add", "path": "members", "value": values(&ids)}])),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        assert_eq!(
            env.get_ok(&group).await["meta"]["version"],
            g["meta"]["version"]
        );

        // Removing 505 of them by value leaves the other 5.
        let r = env
            .patch(
                &group,
                patch_op(
                    json!([{"op": "remove", "path": "members", "value": values(&ids[..505])}]),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        let mut rest = ids[505..].to_vec();
        rest.sort();
        assert_eq!(member_ids(&env.get_ok(&group).await), rest);
    }
);

both_backends!(
    member_patches_move_the_version_and_honour_if_match,
    |env: TestEnv| async move {
        // Member-only PATCHes (Entra's) skip the document; they keep every rule of a PATCH.
        let g = env.create_group("Versions").await;
        let u = env.create_user("versions@example.com").await;
        let path = format!("/Groups/{g}");
        let add = patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": u}]}]));
        let version = |g: &Value| g["meta"]["version"].as_str().unwrap().to_string();
        // A stale If-Match: 412, nothing changes.
        env.scim_with(
            Method::PATCH,
            &path,
            Some(add.clone()),
            &[("if-match", "W/\"9\"".to_string())],
        )
        .await
        .assert_error(412, None);
        let before = env.get_ok(&path).await;
        assert_eq!(version(&before), "W/\"1\"");
        assert!(member_ids(&before).is_empty(), "{before}");
        // The matching one: applied, the answer's ETag is the stored version.
        let r = env
            .scim_with(
                Method::PATCH,
                &path,
                Some(add.clone()),
                &[("if-match", "W/\"1\"".to_string())],
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        assert_eq!(r.header("etag"), Some("W/\"2\""));
        let after = env.get_ok(&path).await;
        assert_eq!(version(&after), "W/\"2\"");
        assert_eq!(member_ids(&after), vec![u.clone()]);
        assert!(after["meta"]["lastModified"].as_str() >= before["meta"]["lastModified"].as_str());
        assert_eq!(after["displayName"], "Versions");
        // Adding a member already there changes nothing, so the version stays.
        let r = env.patch(&path, add.clone()).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        assert_eq!(r.header("etag"), Some("W/\"2\""));
        assert_eq!(version(&env.get_ok(&path).await), "W/\"2\"");
        // An unknown member: 400, the version stays.
        env.patch(
            &path,
            patch_op(
                json!([{"op": "Add", "path": "members", "value": [{"value": "no-such-user"}]}]),
            ),
        )
        .await
        .assert_error(400, Some("invalidValue"));
        assert_eq!(version(&env.get_ok(&path).await), "W/\"2\"");
        // A new member and an unknown one in one operation: 400, and the new one is not
        // added either (the insert of the known one is rolled back with the rest).
        let other = env.create_user("versions-other@example.com").await;
        env.patch(
            &path,
            patch_op(json!([{"op": "Add", "path": "members",
                              "value": [{"value": other}, {"value": "no-such-user"}]}])),
        )
        .await
        .assert_error(400, Some("invalidValue"));
        let unchanged = env.get_ok(&path).await;
        assert_eq!(version(&unchanged), "W/\"2\"");
        assert_eq!(member_ids(&unchanged), vec![u.clone()]);
        // Removing a user who is not a member changes nothing either.
        let r = env
            .patch(
                &path,
                patch_op(json!([{"op": "Remove", "path": "members", "value": [{"value": other}]}])),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        assert_eq!(r.header("etag"), Some("W/\"2\""));
        assert_eq!(version(&env.get_ok(&path).await), "W/\"2\"");
        // Removal by filter: applied.
        let r = env
            .patch(
                &path,
                patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{u}\"]")}])),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        assert_eq!(r.header("etag"), Some("W/\"3\""));
        let last = env.get_ok(&path).await;
        assert!(member_ids(&last).is_empty(), "{last}");
        assert_eq!(version(&last), "W/\"3\"");
        // Not a group, or no such resource: 404.
        env.patch(&format!("/Groups/{u}"), add.clone())
            .await
            .assert_error(404, None);
        env.patch("/Groups/no-such-group", add.clone())
            .await
            .assert_error(404, None);
        // The user's own document was not touched by any of it.
        assert_eq!(
            env.get_ok(&format!("/Users/{u}")).await["meta"]["version"],
            "W/\"1\""
        );
    }
);

// PATCHes that add 1 000 members each to a group that already has 1 000: each one's
// statement journal outgrows memory and is written to a temporary file. With the bundled
// SQLite built with `SQLITE_STMTJRNL_SPILL=262144` (the fifth to eighth sessions' setting) every
// such PATCH after the first failed with SQLITE_FULL, "database or disk is full", with the
// disk nearly empty (docs/performance.md, Finding 11).
both_backends!(
    member_patches_of_a_thousand_fill_a_large_group,
    |env: TestEnv| async move {
        let store = env.store().clone();
        let tenant = env.tenant_id.clone();
        let ids = actix_web::web::block(move || {
            (0..2000)
                .map(|i| {
                    let doc = json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": format!("member{i:04}@example.com"),
                    });
                    let rt = &Registry::get().user;
                    store
                        .create_resource(&tenant, rt, doc, &[], Utc::now(), None)
                        .map(|row| row.id)
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .expect("block")
        .expect("users");
        let gid = env.create_group("A thousand at a time").await;
        // Every other user, then the rest: the second PATCH's rows fall between the first's,
        // so it rewrites every page of the group's memberships (ids are time-ordered).
        for half in [0, 1] {
            let value: Vec<Value> = ids
                .iter()
                .skip(half)
                .step_by(2)
                .map(|id| json!({"value": id}))
                .collect();
            let r = env
                .patch(
                    &format!("/Groups/{gid}"),
                    patch_op(json!([{"op": "add", "path": "members", "value": value}])),
                )
                .await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        }
        let group = env.get_ok(&format!("/Groups/{gid}")).await;
        let mut expected = ids.clone();
        expected.sort();
        assert_eq!(member_ids(&group), expected);
        assert_eq!(
            group["meta"]["version"], "W/\"3\"",
            "two PATCHes, two versions"
        );
    }
);
