//! PATCH as Microsoft Entra ID sends it, in both dialects (default and `aadOptscim062020`):
//! every example of `reference/entra-scim.md`, checked in the response and read back.

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{enc, member_ids, patch_op, TestEnv, ENTERPRISE};

/// A user with a work and a home email, a name and an enterprise extension.
async fn rich_user(env: &TestEnv, user_name: &str) -> String {
    let r = env
        .post(
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                "userName": user_name,
                "externalId": format!("ext-{user_name}"),
                "displayName": "Babs Jensen",
                "name": {"givenName": "Barbara", "familyName": "Jensen"},
                "emails": [
                    {"type": "work", "value": "work@example.com", "primary": true},
                    {"type": "home", "value": "home@example.com"}
                ],
                ENTERPRISE: {"department": "Sales", "employeeNumber": "701984"}
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    r.body["id"].as_str().unwrap().to_string()
}

fn email<'a>(user: &'a Value, kind: &str) -> Vec<&'a Value> {
    user["emails"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["type"] == kind).collect())
        .unwrap_or_default()
}

both_backends!(
    update_user_multi_valued_example,
    |env: TestEnv| async move {
        let id = rich_user(&env, "multi@example.com").await;
        let r = env
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [
                     {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                     {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(r.body["id"], id.as_str());
        for u in [r.body.clone(), env.get_ok(&format!("/Users/{id}")).await] {
            let work = email(&u, "work");
            assert_eq!(work.len(), 1, "{u}");
            assert_eq!(work[0]["value"], "updatedEmail@microsoft.com");
            assert_eq!(work[0]["primary"], true, "other sub-attributes kept");
            let home = email(&u, "home");
            assert_eq!(home.len(), 1, "home email kept: {u}");
            assert_eq!(home[0]["value"], "home@example.com");
            assert_eq!(u["name"]["familyName"], "updatedFamilyName");
            assert_eq!(u["name"]["givenName"], "Barbara");
            assert_eq!(u["meta"]["version"], "W/\"2\"");
        }
        // Entra's uniqueness filter finds the new address, not the old one.
        let b = env
            .get_ok(&format!(
                "/Users?filter={}",
                enc("emails[type eq \"work\"].value eq \"updatedemail@microsoft.com\"")
            ))
            .await;
        assert_eq!(b["totalResults"], 1);
        let b = env
            .get_ok(&format!(
                "/Users?filter={}",
                enc("emails[type eq \"work\"].value eq \"work@example.com\"")
            ))
            .await;
        assert_eq!(b["totalResults"], 0);
    }
);

both_backends!(
    filtered_replace_and_add_create_the_missing_element,
    |env: TestEnv| async move {
        for (op, name) in [
            ("Replace", "noemail1@example.com"),
            ("Add", "noemail2@example.com"),
            ("replace", "noemail3@example.com"),
        ] {
            let id = env.create_user(name).await;
            let r = env
            .patch(
                &format!("/Users/{id}"),
                patch_op(json!([{"op": op, "path": "emails[type eq \"work\"].value", "value": format!("w-{name}")}])),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{op}: {}", r.raw);
            let u = env.get_ok(&format!("/Users/{id}")).await;
            assert_eq!(
                u["emails"],
                json!([{"type": "work", "value": format!("w-{name}")}]),
                "{op}"
            );
        }
        // With only a home email, the work one is added and the home one kept.
        let r = env
        .post(
            "/Users",
            json!({"userName": "homeonly@example.com", "emails": [{"type": "home", "value": "h@example.com"}]}),
        )
        .await;
        let id = r.body["id"].as_str().unwrap().to_string();
        let r = env
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "w@example.com"}])),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let u = env.get_ok(&format!("/Users/{id}")).await;
        assert_eq!(u["emails"].as_array().unwrap().len(), 2, "{u}");
        assert_eq!(email(&u, "home")[0]["value"], "h@example.com");
        assert_eq!(email(&u, "work")[0]["value"], "w@example.com");
        // The phone number mapping, stored as sent.
        let r = env
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "55555555555"},
                {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 555 0100"}
            ])),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let u = env.get_ok(&format!("/Users/{id}")).await;
        let phones = u["phoneNumbers"].as_array().unwrap();
        assert_eq!(phones.len(), 2);
        assert!(
            phones.contains(&json!({"type": "mobile", "value": "55555555555"})),
            "{u}"
        );
    }
);

both_backends!(
    several_filtered_adds_build_one_address,
    |env: TestEnv| async move {
        let id = env.create_user("address@example.com").await;
        let r = env
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
                {"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "12345"},
                {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Springfield"},
                {"op": "Add", "path": "addresses[type eq \"work\"].formatted", "value": "1 Main St, 12345 Springfield"}
            ])),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let u = env.get_ok(&format!("/Users/{id}")).await;
        assert_eq!(
            u["addresses"],
            json!([{"type": "work", "streetAddress": "1 Main St", "postalCode": "12345",
                "locality": "Springfield", "formatted": "1 Main St, 12345 Springfield"}]),
            "{u}"
        );
        // A later single-attribute update changes only that sub-attribute.
        let r = env
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "addresses[type eq \"work\"].postalCode", "value": "54321"}])),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let u = env.get_ok(&format!("/Users/{id}")).await;
        assert_eq!(u["addresses"].as_array().unwrap().len(), 1);
        assert_eq!(u["addresses"][0]["postalCode"], "54321");
        assert_eq!(u["addresses"][0]["streetAddress"], "1 Main St");
    }
);

both_backends!(
    single_valued_and_default_dialect_replace_ops,
    |env: TestEnv| async move {
        let id = rich_user(&env, "single@example.com").await;
        let r = env
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}])),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(
            r.body["userName"],
            "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
        );
        // The default (no flag) dialect: one capitalised Replace per attribute.
        let r = env
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([
                {"op": "Replace", "path": "displayName", "value": "Bjfe"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "bjfe@example.com"},
                {"op": "Replace", "path": "name.givenName", "value": "Kkom"},
                {"op": "Replace", "path": "name.familyName", "value": "Unua"},
                {"op": "Replace", "path": "externalId", "value": "new-ext"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "Aklq"},
                {"op": "Add", "path": "nickName", "value": "Babs"},
                {"op": "Add", "path": "title", "value": "Tour Guide"}
            ])),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let u = env.get_ok(&format!("/Users/{id}")).await;
        assert_eq!(
            u["userName"],
            "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
        );
        assert_eq!(u["displayName"], "Bjfe");
        assert_eq!(email(&u, "work")[0]["value"], "bjfe@example.com");
        assert_eq!(email(&u, "home")[0]["value"], "home@example.com");
        assert_eq!(
            u["name"],
            json!({"givenName": "Kkom", "familyName": "Unua"})
        );
        assert_eq!(u["externalId"], "new-ext");
        assert_eq!(u[ENTERPRISE]["employeeNumber"], "Aklq");
        assert_eq!(u[ENTERPRISE]["department"], "Sales");
        assert_eq!(u["nickName"], "Babs");
        assert_eq!(u["title"], "Tour Guide");
        let b = env
            .get_ok("/Users?filter=externalId+eq+%22new-ext%22")
            .await;
        assert_eq!(b["totalResults"], 1);
    }
);

both_backends!(
    compliant_dialect_pathless_replace_with_dotted_keys,
    |env: TestEnv| async move {
        let id = rich_user(&env, "pathless@example.com").await;
        let r = env
        .patch(
            &format!("/Users/{id}?aadOptscim062020"),
            patch_op(json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new.work@example.com"},
                {"op": "replace", "value": {
                    "displayName": "Bjfe",
                    "name.givenName": "Kkom",
                    "name.familyName": "Unua",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops",
                    "active": "False"
                }},
                {"op": "add", "path": "nickName", "value": "Babs"}
            ])),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let u = env.get_ok(&format!("/Users/{id}")).await;
        assert_eq!(u["displayName"], "Bjfe");
        assert_eq!(u["name"]["givenName"], "Kkom");
        assert_eq!(u["name"]["familyName"], "Unua");
        assert_eq!(u[ENTERPRISE]["employeeNumber"], "Aklq");
        assert_eq!(u[ENTERPRISE]["department"], "Ops");
        assert_eq!(u["active"], false);
        assert_eq!(u["nickName"], "Babs");
        assert_eq!(email(&u, "work")[0]["value"], "new.work@example.com");
        assert_eq!(email(&u, "home").len(), 1);
        // The filter on the extension attribute sees the change.
        let b = env
            .get_ok(&format!(
                "/Users?filter={}",
                enc(&format!("{ENTERPRISE}:employeeNumber eq \"Aklq\""))
            ))
            .await;
        assert_eq!(b["totalResults"], 1);
    }
);

both_backends!(active_in_every_form, |env: TestEnv| async move {
    let id = env.create_user("active@example.com").await;
    for (value, expected) in [
        (json!("False"), false),
        (json!("True"), true),
        (json!(false), false),
        (json!(true), true),
        (json!("false"), false),
        (json!("TRUE"), true),
    ] {
        for op in ["Replace", "replace", "Add"] {
            let r = env
                .patch(
                    &format!("/Users/{id}"),
                    patch_op(json!([{"op": op, "path": "active", "value": value}])),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{op} {value}: {}", r.raw);
            assert_eq!(r.body["active"], expected);
            assert_eq!(
                env.get_ok(&format!("/Users/{id}")).await["active"],
                expected,
                "{op} {value}"
            );
        }
    }
    // Not a boolean → 400, unchanged.
    let r = env
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "Replace", "path": "active", "value": "maybe"}])),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert_eq!(env.get_ok(&format!("/Users/{id}")).await["active"], true);
});

both_backends!(
    manager_in_every_form_is_returned_as_an_object,
    |env: TestEnv| async move {
        let boss = env.create_user("boss@example.com").await;
        let boss2 = env.create_user("boss2@example.com").await;
        let id = rich_user(&env, "report@example.com").await;
        let expected =
            |m: &str| json!({"value": m, "$ref": format!("{}/Users/{m}", env.public_base())});
        let forms = [
            json!({"op": "add", "path": format!("{ENTERPRISE}:manager"), "value": boss}),
            json!({"op": "Replace", "path": format!("{ENTERPRISE}:manager"), "value": {"value": boss2}}),
            json!({"op": "Add", "path": "manager", "value": [{"$ref": format!("http://x/scim/Users/{boss}"), "value": boss}]}),
            json!({"op": "replace", "path": format!("{ENTERPRISE}.manager"), "value": boss2}),
            json!({"op": "Replace", "path": "manager", "value": boss}),
        ];
        for (i, op) in forms.iter().enumerate() {
            let r = env
                .patch(&format!("/Users/{id}"), patch_op(json!([op])))
                .await;
            assert_eq!(r.status, StatusCode::OK, "form {i}: {}", r.raw);
            let want = if i % 2 == 0 { &boss } else { &boss2 };
            assert_eq!(
                r.body[ENTERPRISE]["manager"],
                expected(want),
                "form {i}: {}",
                r.raw
            );
            let u = env.get_ok(&format!("/Users/{id}")).await;
            assert_eq!(u[ENTERPRISE]["manager"], expected(want), "form {i}");
            assert_eq!(
                u[ENTERPRISE]["department"], "Sales",
                "rest of the extension kept"
            );
        }
        // Entra's check before writing the reference (Example 4).
        let q = |m: &str| {
            format!(
                "/Users?filter={}&attributes=id",
                enc(&format!("id eq \"{id}\" and manager eq \"{m}\""))
            )
        };
        let b = env.get_ok(&q(&boss)).await;
        assert_eq!(b["totalResults"], 1, "{b}");
        assert_eq!(b["Resources"][0]["id"], id.as_str());
        assert!(
            b["Resources"][0].get("userName").is_none(),
            "attributes=id: {b}"
        );
        assert_eq!(env.get_ok(&q(&boss2)).await["totalResults"], 0);
        let b = env
            .get_ok(&format!(
                "/Users?filter={}",
                enc(&format!("{ENTERPRISE}:manager.value eq \"{boss}\""))
            ))
            .await;
        assert_eq!(b["totalResults"], 1);
        // POST with the manager as a bare id inside the extension.
        let r = env
            .post(
                "/Users",
                json!({"userName": "posted@example.com", ENTERPRISE: {"manager": boss2}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        assert_eq!(r.body[ENTERPRISE]["manager"], expected(&boss2));
        // Remove: RFC form, then the filter form.
        let r = env
            .patch(
                &format!("/Users/{id}"),
                patch_op(json!([{"op": "Remove", "path": format!("{ENTERPRISE}:manager")}])),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let u = env.get_ok(&format!("/Users/{id}")).await;
        assert!(u[ENTERPRISE].get("manager").is_none(), "{u}");
        assert_eq!(u[ENTERPRISE]["department"], "Sales");
        assert_eq!(env.get_ok(&q(&boss)).await["totalResults"], 0);
        let posted = r.body["id"].as_str().unwrap().to_string();
        let _ = posted;
        let other = env
            .get_ok(&format!(
                "/Users?filter={}",
                enc("userName eq \"posted@example.com\"")
            ))
            .await;
        let pid = other["Resources"][0]["id"].as_str().unwrap().to_string();
        let r = env
            .patch(
                &format!("/Users/{pid}"),
                patch_op(
                    json!([{"op": "remove", "path": format!("manager[value eq \"{boss2}\"]")}]),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let u = env.get_ok(&format!("/Users/{pid}")).await;
        assert!(
            u.get(ENTERPRISE).and_then(|e| e.get("manager")).is_none(),
            "{u}"
        );
    }
);

both_backends!(group_membership_patches, |env: TestEnv| async move {
    let gid = env.create_group("Members group").await;
    let users: Vec<String> = futures::future::join_all((0..5).map(|i| {
        let env = &env;
        async move { env.create_user(&format!("member{i}@example.com")).await }
    }))
    .await;
    let path = format!("/Groups/{gid}");
    let sorted = |ids: &[&String]| -> Vec<String> {
        let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    // Add: Entra's example (one member, "$ref": null), then several members in one op and
    // several ops in one request.
    let r = env
        .patch(&path, patch_op(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": users[0]}]}])))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
    assert!(r.raw.is_empty());
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    let r = env
        .patch(
            &path,
            patch_op(json!([
                {"op": "Add", "path": "members", "value": [{"value": users[1]}, {"value": users[2]}]},
                {"op": "add", "path": "members", "value": [{"value": users[3]}], "name": "addMember"},
                {"op": "Add", "path": "members", "value": users[4]}
            ])),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
    let g = env.get_ok(&path).await;
    assert_eq!(member_ids(&g), sorted(&users.iter().collect::<Vec<_>>()));
    assert_eq!(g["members"][0]["type"], "User");
    assert!(g["members"][0]["$ref"]
        .as_str()
        .unwrap()
        .starts_with(&env.public_base()));
    // Re-adding is idempotent: 204, same members, and the version does not move.
    let version = g["meta"]["version"].clone();
    let r = env
        .patch(
            &path,
            patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": users[0]}]}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
    let g = env.get_ok(&path).await;
    assert_eq!(member_ids(&g).len(), 5);
    assert_eq!(g["meta"]["version"], version);
    // Remove by value array (default dialect): only the named ones.
    let r = env
        .patch(&path, patch_op(json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": users[0]}, {"value": users[1]}]}])))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
    assert_eq!(
        member_ids(&env.get_ok(&path).await),
        sorted(&[&users[2], &users[3], &users[4]])
    );
    // Remove by filter (aadOptscim062020): only that one.
    let r = env
        .patch(
            &format!("{path}?aadOptscim062020"),
            patch_op(
                json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", users[2])}]),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
    assert_eq!(
        member_ids(&env.get_ok(&path).await),
        sorted(&[&users[3], &users[4]])
    );
    // Removing again (both forms) is a no-op 204.
    for op in [
        json!({"op": "Remove", "path": "members", "value": [{"value": users[0]}]}),
        json!({"op": "remove", "path": format!("members[value eq \"{}\"]", users[2])}),
    ] {
        let r = env.patch(&path, patch_op(json!([op]))).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        assert_eq!(
            member_ids(&env.get_ok(&path).await),
            sorted(&[&users[3], &users[4]])
        );
    }
    // Membership filter (Entra's membership check).
    let b = env
        .get_ok(&format!(
            "/Groups?excludedAttributes=members&filter={}",
            enc(&format!(
                "id eq \"{gid}\" and members.value eq \"{}\"",
                users[3]
            ))
        ))
        .await;
    assert_eq!(b["totalResults"], 1);
    assert!(b["Resources"][0].get("members").is_none());
    let b = env
        .get_ok(&format!(
            "/Groups?filter={}",
            enc(&format!("members.value eq \"{}\"", users[0]))
        ))
        .await;
    assert_eq!(b["totalResults"], 0);
    // The users see their groups.
    let u = env.get_ok(&format!("/Users/{}", users[3])).await;
    assert_eq!(u["groups"][0]["value"], gid.as_str());
    assert_eq!(u["groups"][0]["display"], "Members group");
    assert!(env
        .get_ok(&format!("/Users/{}", users[0]))
        .await
        .get("groups")
        .is_none());
    // Replace displayName → 204; with attributes → 200 and the body.
    let r = env
        .patch(&path, patch_op(json!([{"op": "Replace", "path": "displayName", "value": "1879db59-updatedDisplayName"}])))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = env
        .patch(
            &format!("{path}?excludedAttributes=members"),
            patch_op(json!([{"op": "Replace", "path": "externalId", "value": "g-ext"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.body["externalId"], "g-ext");
    assert_eq!(r.body["displayName"], "1879db59-updatedDisplayName");
    assert!(r.body.get("members").is_none());
    let r = env
        .patch(
            &format!("{path}?attributes=members"),
            patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": users[0]}]}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.body["members"].as_array().unwrap().len(), 3);
    assert!(r.body.get("displayName").is_none());
    // An unknown member id → 400 and nothing written.
    let r = env
        .patch(
            &path,
            patch_op(json!([
                {"op": "Add", "path": "members", "value": [{"value": users[1]}]},
                {"op": "Add", "path": "members", "value": [{"value": "no-such-user"}]}
            ])),
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    assert_eq!(member_ids(&env.get_ok(&path).await).len(), 3);
    // Remove path "members" without value: all members.
    let r = env
        .patch(
            &path,
            patch_op(json!([{"op": "Remove", "path": "members"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let g = env.get_ok(&path).await;
    assert_eq!(g["members"], json!([]));
    assert_eq!(g["displayName"], "1879db59-updatedDisplayName");
});

both_backends!(
    patch_with_a_whole_extension_as_path,
    |env: TestEnv| async move {
        let id = rich_user(&env, "extpath@example.com").await;
        let path = format!("/Users/{id}");
        // add/replace set the attributes given and keep the others.
        let r = env
        .patch(&path, patch_op(json!([{"op": "add", "path": ENTERPRISE, "value": {"costCenter": "CC1", "department": "R&D"}}])))
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let u = env.get_ok(&path).await;
        assert_eq!(u[ENTERPRISE]["costCenter"], "CC1");
        assert_eq!(u[ENTERPRISE]["department"], "R&D");
        assert_eq!(u[ENTERPRISE]["employeeNumber"], "701984");
        let r = env
            .patch(
                &path,
                patch_op(
                    json!([{"op": "Replace", "path": ENTERPRISE, "value": {"schemas": [ENTERPRISE], "division": "North"}}]),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(env.get_ok(&path).await[ENTERPRISE]["division"], "North");
        // remove drops the whole extension, and its URN from schemas.
        let r = env
            .patch(
                &path,
                patch_op(json!([{"op": "remove", "path": ENTERPRISE}])),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let u = env.get_ok(&path).await;
        assert!(u.get(ENTERPRISE).is_none(), "{u}");
        assert!(
            !u["schemas"]
                .as_array()
                .unwrap()
                .contains(&json!(ENTERPRISE)),
            "{u}"
        );
        // Wrong types inside are still rejected; the server's own extension is readOnly.
        env.patch(
            &path,
            patch_op(json!([{"op": "add", "path": ENTERPRISE, "value": {"costCenter": 5}}])),
        )
        .await
        .assert_error(400, Some("invalidValue"));
        env.patch(
        &path,
        patch_op(json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:scimd:2.0:User", "value": {"company": "x"}}])),
    )
    .await
    .assert_error(400, Some("mutability"));
        assert!(env.get_ok(&path).await.get(ENTERPRISE).is_none());
        // ... but an object naming nothing to write is a no-op, not an error.
        let before = env.get_ok(&path).await;
        let scimd = "urn:ietf:params:scim:schemas:extension:scimd:2.0:User";
        let r = env
            .patch(
                &path,
                patch_op(json!([{"op": "replace", "path": scimd, "value": {"schemas": [scimd]}}])),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(env.get_ok(&path).await, before);
        env.patch(&path, patch_op(json!([{"op": "remove", "path": scimd}])))
            .await
            .assert_error(400, Some("mutability"));
    }
);
