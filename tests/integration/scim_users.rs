//! Users: Entra's create/get/query/delete conversation, soft delete, meta and ETags,
//! tenant isolation.

use actix_web::http::{Method, StatusCode};
use chrono::DateTime;
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{enc, patch_op, resource_ids, TestEnv};

fn entra_create_body() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": true,
        "emails": [{"primary": true, "type": "work",
                    "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    })
}

fn assert_rfc3339(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s} is not RFC 3339: {e}"));
}

both_backends!(entra_create_user_example, |env: TestEnv| async move {
    let r = env.post("/Users", entra_create_body()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let b = &r.body;
    let id = b["id"].as_str().expect("id").to_string();
    assert!(!id.is_empty());
    assert_eq!(b["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    assert_eq!(
        b["userName"],
        "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    );
    assert_eq!(b["active"], true);
    assert_eq!(b["name"]["familyName"], "familyName");
    assert_eq!(b["name"]["givenName"], "givenName");
    assert_eq!(b["emails"][0]["type"], "work");
    assert_eq!(b["emails"][0]["primary"], true);
    assert_eq!(
        b["emails"][0]["value"],
        "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
    );
    assert!(b.get("password").is_none());
    assert_eq!(b["meta"]["resourceType"], "User");
    assert_rfc3339(&b["meta"]["created"]);
    assert_rfc3339(&b["meta"]["lastModified"]);
    let location = format!("{}/Users/{id}", env.public_base());
    assert_eq!(b["meta"]["location"], location.as_str());
    assert_eq!(b["meta"]["version"], "W/\"1\"");
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.header("location"), Some(location.as_str()));

    // Read back: the same document.
    let got = env.get(&format!("/Users/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, r.body);
    assert_eq!(got.header("etag"), Some("W/\"1\""));
});

both_backends!(
    explicit_nulls_string_booleans_and_read_only_input_are_tolerated,
    |env: TestEnv| async move {
        let r = env
        .post(
            "/Users?aadOptscim062020",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "client-chosen-id",
                "userName": "nulls@example.com",
                "active": "True",
                "addresses": null,
                "phoneNumbers": null,
                "preferredLanguage": null,
                "title": null,
                "nickName": "Nick",
                "groups": [{"value": "whatever"}],
                "meta": {"resourceType": "User", "created": "2001-01-01T00:00:00Z", "version": "W/\"77\""},
            }),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        let id = r.body["id"].as_str().unwrap().to_string();
        assert_ne!(id, "client-chosen-id");
        assert_eq!(r.body["active"], true);
        assert_ne!(r.body["meta"]["created"], "2001-01-01T00:00:00Z");
        assert_eq!(r.body["meta"]["version"], "W/\"1\"");
        let got = env.get_ok(&format!("/Users/{id}")).await;
        assert_eq!(got["active"], true, "stored as a boolean");
        assert_eq!(got["nickName"], "Nick");
        for absent in [
            "addresses",
            "phoneNumbers",
            "preferredLanguage",
            "title",
            "groups",
        ] {
            assert!(got.get(absent).is_none(), "{absent} in {got}");
        }
        // lower-case "false" also works.
        let r = env
            .post(
                "/Users",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                   "userName": "lower@example.com", "active": "false"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        assert_eq!(r.body["active"], false);
    }
);

both_backends!(get_unknown_user_is_scim_404, |env: TestEnv| async move {
    let r = env.get("/Users/5d48a0a8e9f04aa38008").await;
    r.assert_error(404, None);
    let r = env.get("/Groups/5d48a0a8e9f04aa38008").await;
    r.assert_error(404, None);
});

both_backends!(
    query_by_user_name_and_external_id,
    |env: TestEnv| async move {
        let created = env.post("/Users", entra_create_body()).await;
        assert_eq!(created.status, StatusCode::CREATED);
        let id = created.body["id"].as_str().unwrap().to_string();
        env.create_user("someone.else@example.com").await;

        // Entra form-encodes: + for spaces, %22 for quotes; and userName is caseExact=false.
        for q in [
            "filter=userName+eq+%22Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee%22".to_string(),
            format!(
                "filter={}",
                enc("userName eq \"test_user_00AA00AA-bb11-cc22-dd33-44ee44ee44ee\"")
            ),
            format!(
                "filter={}",
                enc("externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"")
            ),
            format!(
                "filter={}",
                enc("externalId eq 0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
            ),
        ] {
            let b = env.get_ok(&format!("/Users?{q}")).await;
            assert_eq!(
                b["schemas"][0],
                "urn:ietf:params:scim:api:messages:2.0:ListResponse"
            );
            assert_eq!(b["totalResults"], 1, "{q}: {b}");
            assert_eq!(b["itemsPerPage"], 1);
            assert_eq!(b["startIndex"], 1);
            assert_eq!(b["Resources"][0]["id"], id.as_str(), "{q}");
            assert_eq!(
                b["Resources"][0]["meta"]["location"],
                format!("{}/Users/{id}", env.public_base())
            );
        }
        // externalId is caseExact: another case does not match.
        let b = env
            .get_ok(&format!(
                "/Users?filter={}",
                enc("externalId eq \"0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF\"")
            ))
            .await;
        assert_eq!(b["totalResults"], 0);
        // The unquoted form Entra's doc shows.
        let r = env
            .post(
                "/Users",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                   "userName": "jyoung@example.com", "externalId": "jyoung"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let b = env.get_ok("/Users?filter=externalId+eq+jyoung").await;
        assert_eq!(b["totalResults"], 1, "{b}");
        assert_eq!(b["Resources"][0]["userName"], "jyoung@example.com");
        // Zero results.
        let b = env
            .get_ok(&format!(
                "/Users?filter={}",
                enc("userName eq \"non-existent user\"")
            ))
            .await;
        assert_eq!(b["totalResults"], 0);
        assert_eq!(b["Resources"], json!([]));
    }
);

both_backends!(
    duplicate_user_name_in_any_case_is_409,
    |env: TestEnv| async move {
        let id = env.create_user("Dup.User@Example.com").await;
        for name in [
            "Dup.User@Example.com",
            "dup.user@example.com",
            "DUP.USER@EXAMPLE.COM",
        ] {
            let r = env
            .post(
                "/Users",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name}),
            )
            .await;
            r.assert_error(409, Some("uniqueness"));
            assert!(r.body["detail"].is_string());
        }
        // Entra re-queries by the matching attribute: the filter finds what the 409 refers to.
        let b = env
            .get_ok(&format!(
                "/Users?filter={}",
                enc("userName eq \"dup.user@example.com\"")
            ))
            .await;
        assert_eq!(b["totalResults"], 1);
        assert_eq!(b["Resources"][0]["id"], id.as_str());
        assert_eq!(
            b["Resources"][0]["userName"], "Dup.User@Example.com",
            "stored as sent"
        );
        // A rename onto another user's name (any case) is a 409 too, and changes nothing.
        let other = env.create_user("other@example.com").await;
        let r = env
            .patch(
                &format!("/Users/{other}"),
                patch_op(
                    json!([{"op": "Replace", "path": "userName", "value": "DUP.user@example.com"}]),
                ),
            )
            .await;
        r.assert_error(409, Some("uniqueness"));
        assert_eq!(
            env.get_ok(&format!("/Users/{other}")).await["userName"],
            "other@example.com"
        );
        let b = env.get_ok("/Users").await;
        assert_eq!(b["totalResults"], 2);
    }
);

both_backends!(
    patches_keep_lookups_by_user_name_and_external_id_in_step,
    |env: TestEnv| async move {
        let r = env
            .post(
                "/Users",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": "kim@example.com", "externalId": "ext-1"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let id = r.body["id"].as_str().unwrap().to_string();
        let path = format!("/Users/{id}");
        let found = |filter: &'static str| {
            let env = &env;
            async move { resource_ids(&env.get_ok(&format!("/Users?filter={}", enc(filter))).await) }
        };
        let replace = |attr: &str, value: &str| {
            patch_op(json!([{"op": "Replace", "path": attr, "value": value}]))
        };
        // A change that leaves both indexed names as they were (the store then leaves their
        // index entries alone): both lookups still find the user.
        let r = env.patch(&path, replace("displayName", "Kim")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let r = env
            .patch(&path, replace("userName", "KIM@example.com"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            found("userName eq \"kim@example.com\"").await,
            vec![id.clone()]
        );
        assert_eq!(found("externalId eq \"ext-1\"").await, vec![id.clone()]);
        // A new externalId, then a new userName: the old values find nothing, the new ones
        // the user, and the old name is free for another user.
        let r = env.patch(&path, replace("externalId", "ext-2")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(found("externalId eq \"ext-1\"").await.is_empty());
        assert_eq!(found("externalId eq \"ext-2\"").await, vec![id.clone()]);
        let r = env
            .patch(&path, replace("userName", "kim.lee@example.com"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(found("userName eq \"kim@example.com\"").await.is_empty());
        assert_eq!(
            found("userName eq \"kim.lee@example.com\"").await,
            vec![id.clone()]
        );
        let other = env.create_user("kim@example.com").await;
        assert_ne!(other, id);
        // Renaming back onto the name now taken is refused, and changes nothing.
        let r = env
            .patch(&path, replace("userName", "Kim@Example.com"))
            .await;
        r.assert_error(409, Some("uniqueness"));
        let b = env.get_ok(&path).await;
        assert_eq!(b["userName"], "kim.lee@example.com");
        assert_eq!(b["externalId"], "ext-2");
        assert_eq!(b["displayName"], "Kim");
    }
);

both_backends!(
    soft_delete_keeps_user_and_memberships,
    |env: TestEnv| async move {
        let uid = env.create_user("soft@example.com").await;
        let gid = env.create_group("Soft group").await;
        let r = env
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": uid}]}])),
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.raw);
        // Default dialect: "False" string; the response is 200 with the user.
        let r = env
            .patch(
                &format!("/Users/{uid}"),
                json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}],
                   "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(r.body["id"], uid.as_str());
        assert_eq!(r.body["active"], false);
        assert_eq!(r.body["meta"]["version"], "W/\"2\"");
        // The answer shows the user's groups (read in the PATCH's own transaction).
        assert_eq!(r.body["groups"][0]["value"], gid.as_str(), "{}", r.raw);
        let got = env.get_ok(&format!("/Users/{uid}")).await;
        assert_eq!(got["active"], false);
        assert_eq!(got["groups"][0]["value"], gid.as_str());
        let g = env.get_ok(&format!("/Groups/{gid}")).await;
        assert_eq!(g["members"].as_array().unwrap().len(), 1);
        assert_eq!(g["members"][0]["value"], uid.as_str());
        // Filterable as inactive, and restorable with "True".
        let b = env
            .get_ok(&format!("/Users?filter={}", enc("active eq false")))
            .await;
        assert_eq!(b["totalResults"], 1);
        let r = env
            .patch(
                &format!("/Users/{uid}"),
                patch_op(json!([{"op": "Replace", "path": "active", "value": "True"}])),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(env.get_ok(&format!("/Users/{uid}")).await["active"], true);
    }
);

both_backends!(
    hard_delete_removes_user_and_memberships,
    |env: TestEnv| async move {
        let uid = env.create_user("gone@example.com").await;
        let keep = env.create_user("kept@example.com").await;
        let gid = env.create_group("Delete group").await;
        let r = env
        .patch(
            &format!("/Groups/{gid}"),
            patch_op(json!([{"op": "Add", "path": "members", "value": [{"value": uid}, {"value": keep}]}])),
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let r = env.delete(&format!("/Users/{uid}")).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert!(r.raw.is_empty());
        env.get(&format!("/Users/{uid}"))
            .await
            .assert_error(404, None);
        env.patch(
            &format!("/Users/{uid}"),
            patch_op(json!([{"op": "Replace", "path": "active", "value": false}])),
        )
        .await
        .assert_error(404, None);
        env.delete(&format!("/Users/{uid}"))
            .await
            .assert_error(404, None);
        let g = env.get_ok(&format!("/Groups/{gid}")).await;
        let members: Vec<&str> = g["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        assert_eq!(members, vec![keep.as_str()]);
        let b = env
            .get_ok(&format!(
                "/Groups?filter={}",
                enc(&format!("members.value eq \"{uid}\""))
            ))
            .await;
        assert_eq!(b["totalResults"], 0);
        // The userName is free again.
        env.create_user("gone@example.com").await;
        // Deleting the group: 204, then 404; the user stays, without the group.
        assert_eq!(
            env.delete(&format!("/Groups/{gid}")).await.status,
            StatusCode::NO_CONTENT
        );
        env.get(&format!("/Groups/{gid}"))
            .await
            .assert_error(404, None);
        let u = env.get_ok(&format!("/Users/{keep}")).await;
        assert!(u.get("groups").is_none(), "{u}");
    }
);

both_backends!(etags_and_conditional_requests, |env: TestEnv| async move {
    let uid = env.create_user("etag@example.com").await;
    let path = format!("/Users/{uid}");
    let r = env.get(&path).await;
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");

    // If-None-Match with the current tag → 304; with a stale one → 200.
    let r = env
        .scim_with(
            Method::GET,
            &path,
            None,
            &[("if-none-match", "W/\"1\"".into())],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.raw.is_empty());
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    let r = env
        .scim_with(
            Method::GET,
            &path,
            None,
            &[("if-none-match", "W/\"0\"".into())],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    let op = patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Changed"}]));
    // Stale If-Match on PATCH, PUT and DELETE → 412, nothing changes.
    let r = env
        .scim_with(
            Method::PATCH,
            &path,
            Some(op.clone()),
            &[("if-match", "W/\"9\"".into())],
        )
        .await;
    r.assert_error(412, None);
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                     "userName": "etag@example.com", "displayName": "Put"});
    let r = env
        .scim_with(
            Method::PUT,
            &path,
            Some(put.clone()),
            &[("if-match", "W/\"9\"".into())],
        )
        .await;
    r.assert_error(412, None);
    let r = env
        .scim_with(
            Method::DELETE,
            &path,
            None,
            &[("if-match", "W/\"9\"".into())],
        )
        .await;
    r.assert_error(412, None);
    let got = env.get_ok(&path).await;
    assert_eq!(got["meta"]["version"], "W/\"1\"");
    assert!(got.get("displayName").is_none());

    // Matching If-Match → applied, version bumped.
    let r = env
        .scim_with(
            Method::PATCH,
            &path,
            Some(op),
            &[("if-match", "W/\"1\"".into())],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    assert_eq!(r.body["displayName"], "Changed");
    let r = env
        .scim_with(
            Method::PUT,
            &path,
            Some(put),
            &[("if-match", "W/\"2\"".into())],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.body["meta"]["version"], "W/\"3\"");
    assert_eq!(r.body["displayName"], "Put");
    let got = env.get_ok(&path).await;
    assert_eq!(got["displayName"], "Put");
    assert_eq!(got["meta"]["version"], "W/\"3\"");
    assert!(got["meta"]["lastModified"].as_str() >= got["meta"]["created"].as_str());
    // A PATCH that changes nothing keeps the version.
    let r = env
        .patch(
            &path,
            patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Put"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["meta"]["version"], "W/\"3\"");
    let r = env
        .scim_with(
            Method::DELETE,
            &path,
            None,
            &[("if-match", "W/\"3\"".into())],
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    env.get(&path).await.assert_error(404, None);
});

both_backends!(put_replaces_the_user, |env: TestEnv| async move {
    let r = env.post("/Users", entra_create_body()).await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = env
        .put(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                   "userName": "Replaced@example.com", "title": "Boss",
                   "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    let got = env.get_ok(&format!("/Users/{id}")).await;
    assert_eq!(got["userName"], "Replaced@example.com");
    assert_eq!(got["title"], "Boss");
    assert!(got.get("emails").is_none(), "PUT replaces: {got}");
    assert!(got.get("name").is_none());
    let b = env
        .get_ok(&format!(
            "/Users?filter={}",
            enc("userName eq \"replaced@example.com\"")
        ))
        .await;
    assert_eq!(b["totalResults"], 1);
    let b = env
        .get_ok(&format!(
            "/Users?filter={}",
            enc("userName eq \"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee\"")
        ))
        .await;
    assert_eq!(b["totalResults"], 0);
});

both_backends!(
    no_user_agent_and_unknown_query_parameters,
    |env: TestEnv| async move {
        // env.send sets no User-Agent; check that explicitly with only the two headers Entra sends.
        let r = env
            .send(
                Method::POST,
                &format!("{}/Users?aadOptscim062020", env.base()),
                Some(entra_create_body().to_string().into_bytes()),
                &[
                    ("authorization", format!("Bearer {}", env.token)),
                    (
                        "content-type",
                        "application/scim+json; charset=utf-8".into(),
                    ),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
        let id = r.body["id"].as_str().unwrap().to_string();
        let b = env
            .get_ok(&format!("/Users/{id}?aadOptscim062020&foo=bar"))
            .await;
        assert_eq!(b["id"], id.as_str());
        let b = env
        .get_ok("/Users?aadOptscim062020&filter=userName+eq+%22Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee%22")
        .await;
        assert_eq!(b["totalResults"], 1);
        let r = env
            .patch(
                &format!("/Users/{id}?aadOptscim062020"),
                patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(env.get_ok(&format!("/Users/{id}")).await["active"], false);
    }
);

both_backends!(tenant_isolation, |env: TestEnv| async move {
    let uid = env.create_user("isolated@example.com").await;
    let gid = env.create_group("Isolated group").await;
    let (other, other_token, _) = env.new_tenant("Other").await;
    let auth = [("authorization", format!("Bearer {other_token}"))];
    let b_base = format!("/scim/v2/{other}");
    for path in [
        format!("{b_base}/Users/{uid}"),
        format!("{b_base}/Groups/{gid}"),
    ] {
        env.send(Method::GET, &path, None, &auth)
            .await
            .assert_error(404, None);
        env.send(Method::DELETE, &path, None, &auth)
            .await
            .assert_error(404, None);
        let body = patch_op(json!([{"op": "replace", "path": "displayName", "value": "pwned"}]));
        let mut headers = auth.to_vec();
        headers.push(("content-type", "application/scim+json".into()));
        env.send(
            Method::PATCH,
            &path,
            Some(body.to_string().into_bytes()),
            &headers,
        )
        .await
        .assert_error(404, None);
    }
    for path in [
        format!("{b_base}/Users"),
        format!("{b_base}/Groups"),
        format!(
            "{b_base}/Users?filter={}",
            enc("userName eq \"isolated@example.com\"")
        ),
    ] {
        let r = env.send(Method::GET, &path, None, &auth).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["totalResults"], 0, "{path}: {}", r.raw);
    }
    // Tenant B may use the same userName; B cannot add A's user to its group.
    let mut headers = auth.to_vec();
    headers.push(("content-type", "application/scim+json".into()));
    let r = env
        .send(
            Method::POST,
            &format!("{b_base}/Users"),
            Some(
                json!({"userName": "isolated@example.com"})
                    .to_string()
                    .into_bytes(),
            ),
            &headers,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.raw);
    let r = env
        .send(
            Method::POST,
            &format!("{b_base}/Groups"),
            Some(
                json!({"displayName": "B group", "members": [{"value": uid}]})
                    .to_string()
                    .into_bytes(),
            ),
            &headers,
        )
        .await;
    r.assert_error(400, Some("invalidValue"));
    // A's data is untouched.
    let u = env.get_ok(&format!("/Users/{uid}")).await;
    assert_eq!(u["userName"], "isolated@example.com");
    assert!(u.get("groups").is_none());
    assert_eq!(env.get_ok("/Users").await["totalResults"], 1);
    assert_eq!(
        env.get_ok(&format!("/Groups/{gid}")).await["displayName"],
        "Isolated group"
    );
});
