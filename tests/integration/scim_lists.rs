//! Lists: paging, sorting, filters, attribute projection, `.search`.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{enc, resource_ids, TestEnv};

fn names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_string())
        .collect()
}

both_backends!(paging_is_stable_and_complete, |env: TestEnv| async move {
    let created: HashSet<String> = env.create_users("page", 25).await.into_iter().collect();
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let b = env
            .get_ok(&format!("/Users?startIndex={start}&count=7"))
            .await;
        assert_eq!(b["totalResults"], 25);
        assert_eq!(b["startIndex"], start);
        let page = resource_ids(&b);
        assert_eq!(b["itemsPerPage"], page.len());
        if page.is_empty() {
            break;
        }
        assert!(
            page.len() == 7 || start == 22,
            "page at {start}: {}",
            page.len()
        );
        seen.extend(page);
        start += 7;
    }
    assert_eq!(seen.len(), 25, "each user exactly once");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), created);
    // The same pages again: same order.
    let again = env.get_ok("/Users?startIndex=1&count=7").await;
    assert_eq!(resource_ids(&again), seen[..7].to_vec());
    // startIndex < 1 is 1.
    for s in ["0", "-5"] {
        let b = env.get_ok(&format!("/Users?startIndex={s}&count=3")).await;
        assert_eq!(b["startIndex"], 1);
        assert_eq!(resource_ids(&b), seen[..3].to_vec());
    }
    // count=0: only totalResults.
    let b = env.get_ok("/Users?count=0").await;
    assert_eq!(b["totalResults"], 25);
    assert_eq!(b["itemsPerPage"], 0);
    assert_eq!(b["Resources"], json!([]));
    // Negative count is treated as 0.
    let b = env.get_ok("/Users?count=-1").await;
    assert_eq!(b["itemsPerPage"], 0);
    // Past the end: empty page, right total.
    let b = env.get_ok("/Users?startIndex=26").await;
    assert_eq!(b["totalResults"], 25);
    assert_eq!(b["itemsPerPage"], 0);
    // Default count (100) returns all 25.
    let b = env.get_ok("/Users").await;
    assert_eq!(b["itemsPerPage"], 25);
    assert_eq!(resource_ids(&b), seen);
    // Non-integer paging parameters → 400.
    env.get("/Users?count=abc")
        .await
        .assert_error(400, Some("invalidValue"));
});

both_backends!(count_default_and_cap, |env: TestEnv| async move {
    // 1,005 users straight through the store (the HTTP path is covered elsewhere).
    let store = env.store().clone();
    let tenant = env.tenant_id.clone();
    actix_web::web::block(move || {
        let rt = &scimd::schema::Registry::get().user;
        let now = Utc::now();
        for i in 0..1005 {
            let doc = scimd::resource::normalize(json!({"userName": format!("bulk{i:04}")}), rt)
                .unwrap()
                .doc;
            store
                .create_resource(&tenant, rt, doc, &[], now, None)
                .unwrap();
        }
    })
    .await
    .unwrap();
    let b = env.get_ok("/Users?attributes=userName").await;
    assert_eq!(b["totalResults"], 1005);
    assert_eq!(b["itemsPerPage"], 100, "default count");
    let b = env.get_ok("/Users?count=5000&attributes=userName").await;
    assert_eq!(b["totalResults"], 1005);
    assert_eq!(b["itemsPerPage"], 1000, "capped at maxResults");
    assert_eq!(b["Resources"].as_array().unwrap().len(), 1000);
    let b = env
        .get_ok("/Users?startIndex=1001&count=1000&attributes=userName")
        .await;
    assert_eq!(b["itemsPerPage"], 5);
});

both_backends!(sorting, |env: TestEnv| async move {
    for n in ["bob", "Alice", "carol", "Dave"] {
        env.create_user(n).await;
    }
    let b = env.get_ok("/Users?sortBy=userName").await;
    assert_eq!(names(&b), ["Alice", "bob", "carol", "Dave"]);
    let b = env
        .get_ok("/Users?sortBy=userName&sortOrder=ascending")
        .await;
    assert_eq!(names(&b), ["Alice", "bob", "carol", "Dave"]);
    let b = env
        .get_ok("/Users?sortBy=UserName&sortOrder=descending")
        .await;
    assert_eq!(names(&b), ["Dave", "carol", "bob", "Alice"]);
    let b = env
        .get_ok("/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2")
        .await;
    assert_eq!(names(&b), ["carol", "bob"]);
    env.get("/Users?sortBy=userName&sortOrder=sideways")
        .await
        .assert_error(400, Some("invalidValue"));
});

both_backends!(filters, |mut env: TestEnv| async move {
    let clock = env.fix_clock(Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap());
    let mk = |user_name: &str, work: &str, home: &str, title: Option<&str>| {
        let mut body = json!({
            "userName": user_name,
            "externalId": format!("ext-{user_name}"),
            "active": user_name != "Bob",
            "emails": [{"type": "work", "value": work}, {"type": "home", "value": home}],
        });
        if let Some(t) = title {
            body["title"] = json!(t);
        }
        body
    };
    let r = env
        .post(
            "/Users",
            mk("Alice", "alice@contoso.com", "alice@home.org", Some("CEO")),
        )
        .await;
    let alice = r.body["id"].as_str().unwrap().to_string();
    *clock.lock().unwrap() += Duration::hours(1);
    let r = env
        .post("/Users", mk("Bob", "bob@contoso.com", "bob@home.org", None))
        .await;
    let bob = r.body["id"].as_str().unwrap().to_string();
    *clock.lock().unwrap() += Duration::hours(1);
    let r = env
        .post(
            "/Users",
            mk(
                "Carol",
                "carol@fabrikam.com",
                "alice.fan@home.org",
                Some("CTO"),
            ),
        )
        .await;
    let carol = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["meta"]["created"], "2024-01-01T14:00:00.000000Z");

    let check = |filter: &str, mut want: Vec<&String>| {
        let env = &env;
        let filter = filter.to_string();
        want.sort();
        let want: Vec<String> = want.into_iter().cloned().collect();
        async move {
            let b = env.get_ok(&format!("/Users?filter={}", enc(&filter))).await;
            let mut got = resource_ids(&b);
            got.sort();
            assert_eq!(got, want, "filter {filter}: {b}");
            assert_eq!(b["totalResults"], want.len());
        }
    };
    check("userName eq \"alice\"", vec![&alice]).await;
    check("USERNAME EQ \"ALICE\"", vec![&alice]).await;
    check("userName sw \"a\"", vec![&alice]).await;
    check("userName ne \"alice\"", vec![&bob, &carol]).await;
    check("externalId eq \"ext-Bob\"", vec![&bob]).await;
    check(
        "emails[type eq \"work\"].value eq \"Alice@Contoso.com\"",
        vec![&alice],
    )
    .await;
    check(
        "emails[type eq \"work\"].value eq \"alice.fan@home.org\"",
        vec![],
    )
    .await;
    check("emails.value co \"alice\"", vec![&alice, &carol]).await;
    check("emails co \"fabrikam\"", vec![&carol]).await;
    check("emails.value ew \"contoso.com\"", vec![&alice, &bob]).await;
    check(
        "meta.lastModified gt \"2024-01-01T12:30:00Z\"",
        vec![&bob, &carol],
    )
    .await;
    check(
        "meta.created ge \"2024-01-01T13:00:00Z\"",
        vec![&bob, &carol],
    )
    .await;
    check(
        "meta.created lt \"2024-01-01T13:00:00+00:00\"",
        vec![&alice],
    )
    .await;
    check("title pr", vec![&alice, &carol]).await;
    check("not (title pr)", vec![&bob]).await;
    check("title eq \"ceo\" or title eq \"CTO\"", vec![&alice, &carol]).await;
    check(
        "userName eq \"bob\" and externalId eq \"ext-Bob\"",
        vec![&bob],
    )
    .await;
    check(
        "userName eq \"bob\" and externalId eq \"ext-Alice\"",
        vec![],
    )
    .await;
    check(
        "not (userName eq \"bob\") and (emails.value co \"home\")",
        vec![&alice, &carol],
    )
    .await;
    check(&format!("id eq \"{carol}\""), vec![&carol]).await;
    check("active eq true", vec![&alice, &carol]).await;
    check("active eq false", vec![&bob]).await;
    check("active ne true", vec![&bob]).await;
    // POST /Users/.search with the same filter.
    let r = env
        .post(
            "/Users/.search",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                   "filter": "emails[type eq \"work\"].value eq \"bob@contoso.com\"",
                   "attributes": ["userName"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], bob.as_str());
    assert_eq!(r.body["Resources"][0]["userName"], "Bob");
    assert!(r.body["Resources"][0].get("emails").is_none());
});

both_backends!(
    projection_on_get_list_and_search,
    |env: TestEnv| async move {
        let r = env
        .post(
            "/Users",
            json!({"userName": "proj@example.com", "displayName": "Proj", "title": "T",
                   "name": {"givenName": "G", "familyName": "F"},
                   "emails": [{"type": "work", "value": "w@example.com"}, {"type": "home", "value": "h@example.com"}]}),
        )
        .await;
        let id = r.body["id"].as_str().unwrap().to_string();
        let gid = env.create_group("Proj group").await;
        let keys = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        // attributes: only those, plus id/schemas/meta.
        let u = env
            .get_ok(&format!("/Users/{id}?attributes=userName,name.givenName"))
            .await;
        assert_eq!(keys(&u), ["id", "meta", "name", "schemas", "userName"]);
        assert_eq!(u["name"], json!({"givenName": "G"}));
        // excludedAttributes: everything else.
        let u = env
            .get_ok(&format!("/Users/{id}?excludedAttributes=emails,name"))
            .await;
        assert!(u.get("emails").is_none() && u.get("name").is_none());
        assert_eq!(u["title"], "T");
        assert_eq!(u["userName"], "proj@example.com");
        // excluding id/meta has no effect.
        let u = env
            .get_ok(&format!("/Users/{id}?excludedAttributes=id,meta"))
            .await;
        assert_eq!(u["id"], id.as_str());
        assert!(u["meta"].is_object());
        // A value path: only the work email.
        let u = env
            .get_ok(&format!(
                "/Users/{id}?attributes={}",
                enc("emails[type eq \"work\"]")
            ))
            .await;
        assert_eq!(
            u["emails"],
            json!([{"type": "work", "value": "w@example.com"}])
        );
        assert!(u.get("userName").is_none());
        // On a list.
        let b = env
            .get_ok(&format!(
                "/Users?attributes={}",
                enc("emails[type eq \"work\"]")
            ))
            .await;
        assert_eq!(
            b["Resources"][0]["emails"],
            json!([{"type": "work", "value": "w@example.com"}])
        );
        let b = env.get_ok("/Users?attributes=userName").await;
        assert_eq!(
            keys(&b["Resources"][0]),
            ["id", "meta", "schemas", "userName"]
        );
        let b = env.get_ok("/Users?excludedAttributes=emails").await;
        assert!(b["Resources"][0].get("emails").is_none());
        assert_eq!(b["Resources"][0]["title"], "T");
        // Search, per type and at the root.
        let r = env
        .post("/Users/.search", json!({"excludedAttributes": ["emails", "name"], "filter": "userName eq \"proj@example.com\""}))
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(r.body["totalResults"], 1);
        assert!(r.body["Resources"][0].get("emails").is_none());
        assert_eq!(r.body["Resources"][0]["title"], "T");
        let r = env
            .post("/.search", json!({"attributes": ["displayName"]}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(r.body["totalResults"], 2);
        let res = r.body["Resources"].as_array().unwrap();
        assert_eq!(res.len(), 2);
        let got: HashSet<String> = res
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, HashSet::from([id.clone(), gid.clone()]));
        for x in res {
            assert!(
                x.get("emails").is_none()
                    && x.get("members").is_none()
                    && x.get("userName").is_none(),
                "{x}"
            );
            assert!(x["displayName"].is_string());
        }
        let r = env
            .post(
                "/.search",
                json!({"filter": "displayName eq \"Proj group\""}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        let got: Vec<String> = resource_ids(&r.body);
        assert_eq!(r.body["totalResults"], 1, "{}", r.raw);
        assert_eq!(got, vec![gid.clone()]);
        // Root search paging across both types.
        let r = env
            .post("/.search", json!({"startIndex": 2, "count": 1}))
            .await;
        assert_eq!(r.body["totalResults"], 2);
        assert_eq!(resource_ids(&r.body), vec![gid.clone()]);
        // Groups: excludedAttributes=members with a filter (Entra).
        let b = env
            .get_ok(&format!(
                "/Groups?excludedAttributes=members&filter={}",
                enc("displayName eq \"proj group\"")
            ))
            .await;
        assert_eq!(b["totalResults"], 1);
        assert!(b["Resources"][0].get("members").is_none());
        let b = env.get_ok("/Groups").await;
        assert_eq!(b["Resources"][0]["members"], json!([]));
    }
);

both_backends!(
    root_search_filters_each_type_by_what_it_has,
    |env: TestEnv| async move {
        env.create_user("root.search@example.com").await;
        env.create_group("Root Search").await;
        // userName exists only on User: groups simply do not match.
        let r = env
            .post(
                "/.search",
                json!({"filter": "userName eq \"ROOT.SEARCH@example.com\""}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.raw);
        assert_eq!(r.body["totalResults"], 1);
        assert_eq!(
            r.body["Resources"][0]["userName"],
            "root.search@example.com"
        );
        // members exists only on Group.
        let r = env
            .post(
                "/.search",
                json!({"filter": "members pr or displayName eq \"Root Search\""}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.raw);
        assert_eq!(r.body["totalResults"], 1);
        assert_eq!(r.body["Resources"][0]["displayName"], "Root Search");
        // An attribute neither type has is still an error.
        let r = env.post("/.search", json!({"filter": "nosuch eq 1"})).await;
        r.assert_error(400, Some("invalidFilter"));
    }
);

both_backends!(groups_filter_on_member_type, |env: TestEnv| async move {
    let u = env.create_user("typed@example.com").await;
    let with_user = env.create_group("Has a user").await;
    env.create_group("Empty").await;
    let r = env
        .patch(
            &format!("/Groups/{with_user}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "add", "path": "members", "value": [{"value": u}]}]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
    for filter in [
        "members[type eq \"User\"]",
        "members[type eq \"user\"]",
        "members.type eq \"USER\"",
    ] {
        let r = env
            .get(&format!(
                "/Groups?excludedAttributes=members&filter={}",
                crate::support::enc(filter)
            ))
            .await;
        assert_eq!(r.status.as_u16(), 200, "{filter}: {}", r.raw);
        assert_eq!(r.body["totalResults"], 1, "{filter}");
        assert_eq!(r.body["Resources"][0]["displayName"], "Has a user");
    }
});

both_backends!(
    paging_in_order_goes_on_after_the_last_row_seen,
    |env: TestEnv| async move {
        let created = env.create_users("walk", 12).await;
        let first = env.get_ok("/Users?startIndex=1&count=4").await;
        assert_eq!(resource_ids(&first), created[..4].to_vec());
        // Two users the client has already seen are deleted before it asks for page 2.
        for id in &created[..2] {
            assert_eq!(
                env.delete(&format!("/Users/{id}")).await.status,
                StatusCode::NO_CONTENT
            );
        }
        // Page 2 goes on after the last user of page 1 (skipping 4 rows of what is left
        // would have skipped two users the client never saw).
        let second = env.get_ok("/Users?startIndex=5&count=4").await;
        assert_eq!(second["startIndex"], 5);
        assert_eq!(second["totalResults"], 10);
        assert_eq!(resource_ids(&second), created[4..8].to_vec());
        let third = env.get_ok("/Users?startIndex=9&count=4").await;
        assert_eq!(resource_ids(&third), created[8..12].to_vec());
        // Asked for out of order, a page skips startIndex - 1 rows of what is there now.
        let random = env.get_ok("/Users?startIndex=3&count=4").await;
        assert_eq!(resource_ids(&random), created[4..8].to_vec());
        // The same in a filtered list, and with sortBy (always by position).
        let f = enc("userName sw \"walk\"");
        let first = env
            .get_ok(&format!("/Users?filter={f}&startIndex=1&count=3"))
            .await;
        assert_eq!(resource_ids(&first), created[2..5].to_vec());
        env.delete(&format!("/Users/{}", created[2])).await;
        let second = env
            .get_ok(&format!("/Users?filter={f}&startIndex=4&count=3"))
            .await;
        assert_eq!(resource_ids(&second), created[5..8].to_vec());
        let sorted = env
            .get_ok(&format!(
                "/Users?filter={f}&sortBy=userName&startIndex=4&count=3"
            ))
            .await;
        assert_eq!(resource_ids(&sorted), created[6..9].to_vec());
    }
);
