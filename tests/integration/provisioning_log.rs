//! The provisioning log: one row per SCIM write, written with the change itself on success,
//! and on its own for a refused write.

use serde_json::json;

use crate::both_backends;
use crate::support::TestEnv;

both_backends!(writes_are_logged_with_outcome, |env: TestEnv| async move {
    let id = env.create_user("ada@example.com").await;
    let g = env.create_group("Finance").await;
    let r = env
        .patch(
            &format!("/Groups/{g}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "Add", "path": "members", "value": [{"value": id}]}]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
    // A refused write: duplicate userName.
    let dup = env
        .post("/Users", json!({"userName": "ADA@example.com"}))
        .await;
    dup.assert_error(409, Some("uniqueness"));
    // Reads are not logged.
    env.get(&format!("/Users/{id}")).await;
    let store = env.store().clone();
    let tenant = env.tenant_id.clone();
    let rows = actix_web::web::block(move || store.list_provisioning(&tenant, None, None, 100))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rows.len(), 4, "{rows:#?}");
    let find = |method: &str, status: i64, rt: &str| {
        rows.iter()
            .find(|r| {
                r.method == method && r.status == status && r.resource_type.as_deref() == Some(rt)
            })
            .unwrap_or_else(|| panic!("no {method} {status} {rt} in {rows:#?}"))
    };
    let created = find("POST", 201, "User");
    assert_eq!(created.outcome, "success");
    assert_eq!(created.resource_type.as_deref(), Some("User"));
    assert_eq!(created.resource_id.as_deref(), Some(id.as_str()));
    assert_eq!(created.resource_name.as_deref(), Some("ada@example.com"));
    assert_eq!(created.token_name.as_deref(), Some("test"));
    let patched = find("PATCH", 204, "Group");
    assert_eq!(patched.resource_name.as_deref(), Some("Finance"));
    let refused = find("POST", 409, "User");
    assert_eq!(refused.outcome, "failure");
    assert!(refused
        .detail
        .as_deref()
        .unwrap_or("")
        .contains("already exists"));
    let store = env.store().clone();
    let tenant = env.tenant_id.clone();
    let failures = actix_web::web::block(move || {
        store.list_provisioning(&tenant, Some("failure"), Some("User"), 100)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(failures.len(), 1);
});
