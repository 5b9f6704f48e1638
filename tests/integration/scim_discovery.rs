//! Discovery: ServiceProviderConfig, Schemas, ResourceTypes.

use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::TestEnv;

both_backends!(service_provider_config, |env: TestEnv| async move {
    let r = env.get("/ServiceProviderConfig").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let c = r.body;
    assert_eq!(
        c["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(c["patch"]["supported"], true);
    assert_eq!(c["filter"]["supported"], true);
    assert_eq!(c["filter"]["maxResults"], 1000);
    assert_eq!(c["sort"]["supported"], true);
    assert_eq!(c["etag"]["supported"], true);
    assert_eq!(c["bulk"]["supported"], false);
    assert_eq!(c["changePassword"]["supported"], false);
    let schemes = c["authenticationSchemes"].as_array().unwrap();
    assert_eq!(schemes.len(), 1);
    assert_eq!(schemes[0]["type"], "oauthbearertoken");
    assert_eq!(schemes[0]["primary"], true);
    assert!(schemes[0]["name"].is_string() && schemes[0]["description"].is_string());
    assert_eq!(
        c["meta"]["location"],
        format!("{}/ServiceProviderConfig", env.public_base())
    );
    // Discovery needs the token too.
    let r = env
        .send(
            Method::GET,
            &format!("{}/ServiceProviderConfig", env.base()),
            None,
            &[],
        )
        .await;
    r.assert_error(401, None);
});

fn find<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing from {list}"))
}

both_backends!(schemas, |env: TestEnv| async move {
    let b = env.get_ok("/Schemas").await;
    assert_eq!(
        b["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    assert_eq!(b["totalResults"], 5);
    assert_eq!(b["Resources"].as_array().unwrap().len(), 5);
    let ids = [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:medius:2.0:User",
        "urn:ietf:params:scim:schemas:extension:scimd:2.0:User",
    ];
    for id in ids {
        let s = find(&b, id);
        assert_eq!(s["meta"]["resourceType"], "Schema");
        assert_eq!(
            s["meta"]["location"],
            format!("{}/Schemas/{id}", env.public_base())
        );
        assert!(!s["attributes"].as_array().unwrap().is_empty());
        // No nulls anywhere (Entra's requirement for /Schemas).
        assert!(!s.to_string().contains("null"), "{id} has nulls");
        let one = env.get_ok(&format!("/Schemas/{id}")).await;
        assert_eq!(&one, s);
    }
    let user = find(&b, ids[0]);
    let user_name = user["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["mutability"], "readWrite");
    let manager = find(&b, ids[2])["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "manager")
        .cloned();
    assert_eq!(manager.unwrap()["type"], "complex");
    env.get("/Schemas/urn:example:nope")
        .await
        .assert_error(404, None);
});

both_backends!(resource_types, |env: TestEnv| async move {
    let b = env.get_ok("/ResourceTypes").await;
    assert_eq!(b["totalResults"], 2);
    let user = find(&b, "User");
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], "urn:ietf:params:scim:schemas:core:2.0:User");
    let mut exts: Vec<&str> = user["schemaExtensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["required"], false);
            e["schema"].as_str().unwrap()
        })
        .collect();
    exts.sort();
    assert_eq!(
        exts,
        [
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:medius:2.0:User",
        ]
    );
    // The server-managed scimd extension is described in /Schemas, not offered for writing.
    let scimd = env
        .get_ok("/Schemas/urn:ietf:params:scim:schemas:extension:scimd:2.0:User")
        .await;
    assert_eq!(scimd["attributes"][0]["mutability"], "readOnly");
    assert_eq!(
        user["meta"]["location"],
        format!("{}/ResourceTypes/User", env.public_base())
    );
    let group = find(&b, "Group");
    assert_eq!(group["endpoint"], "/Groups");
    assert_eq!(
        group["schema"],
        "urn:ietf:params:scim:schemas:core:2.0:Group"
    );
    assert_eq!(group["schemaExtensions"], json!([]));
    assert_eq!(&env.get_ok("/ResourceTypes/User").await, user);
    assert_eq!(&env.get_ok("/ResourceTypes/Group").await, group);
    env.get("/ResourceTypes/Printer")
        .await
        .assert_error(404, None);
});
