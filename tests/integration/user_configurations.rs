//! Default user configurations applied to users created through SCIM: the configuration
//! whose filter equals the user's MediusFlow `configurationFilter` (any case), else the
//! default; shown read-only in the scimd extension and kept through PUT and PATCH.

use actix_web::http::StatusCode;
use chrono::Utc;
use serde_json::json;

use crate::both_backends;
use crate::support::TestEnv;
use scimd::store::configurations::{Catalog, ConfigurationInput};

const SCIMD: &str = "urn:ietf:params:scim:schemas:extension:scimd:2.0:User";
const MEDIUS: &str = "urn:ietf:params:scim:schemas:extension:medius:2.0:User";

async fn seed_configurations(env: &TestEnv) {
    let store = env.store().clone();
    let tenant = env.tenant_id.clone();
    actix_web::web::block(move || {
        let company = store
            .add_named(&tenant, Catalog::Companies, "Contoso Finance")
            .unwrap();
        let standard_co = store
            .add_named(&tenant, Catalog::Companies, "Contoso")
            .unwrap();
        let approver = store
            .add_named(&tenant, Catalog::Roles, "Approver")
            .unwrap();
        let viewer = store.add_named(&tenant, Catalog::Roles, "Viewer").unwrap();
        let input =
            |name: &str, company: &str, roles: Vec<String>, filter: Option<&str>, default: bool| {
                ConfigurationInput {
                    name: name.into(),
                    company_id: company.into(),
                    role_ids: roles,
                    locale: Some("sv-SE".into()),
                    language: Some("sv".into()),
                    time_zone: Some("Europe/Stockholm".into()),
                    filter: filter.map(str::to_string),
                    is_default: default,
                }
            };
        store
            .add_configuration(
                &tenant,
                &input(
                    "Standard",
                    &standard_co.id,
                    vec![viewer.id.clone()],
                    None,
                    true,
                ),
                Utc::now(),
            )
            .unwrap();
        store
            .add_configuration(
                &tenant,
                &input(
                    "Finance",
                    &company.id,
                    vec![approver.id, viewer.id],
                    Some("finance"),
                    false,
                ),
                Utc::now(),
            )
            .unwrap();
    })
    .await
    .unwrap();
}

both_backends!(
    users_get_the_matching_or_default_configuration,
    |env: TestEnv| async move {
        // Without any configuration, provisioning still works and nothing is applied.
        let bare = env
            .post("/Users", json!({"userName": "early@contoso.com"}))
            .await;
        assert_eq!(bare.status, StatusCode::CREATED);
        assert!(bare.body.get(SCIMD).is_none());

        seed_configurations(&env).await;
        let fin = env
            .post(
                "/Users",
                json!({"userName": "fin@contoso.com", MEDIUS: {"configurationFilter": "FINANCE"},
                   // A client cannot choose its own configuration: the extension is read-only.
                   SCIMD: {"company": "Forged"}}),
            )
            .await;
        assert_eq!(fin.status, StatusCode::CREATED, "{}", fin.raw);
        assert_eq!(fin.body[SCIMD]["configuration"], "Finance");
        assert_eq!(fin.body[SCIMD]["company"], "Contoso Finance");
        let mut roles: Vec<&str> = fin.body[SCIMD]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        roles.sort();
        assert_eq!(roles, ["Approver", "Viewer"]);
        assert_eq!(fin.body[SCIMD]["timeZone"], "Europe/Stockholm");
        assert!(fin.body["schemas"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == SCIMD));

        let other = env
            .post(
                "/Users",
                json!({"userName": "ops@contoso.com", MEDIUS: {"configurationFilter": "nomatch"}}),
            )
            .await;
        assert_eq!(other.body[SCIMD]["configuration"], "Standard");
        assert_eq!(other.body[SCIMD]["company"], "Contoso");

        // PATCH and PUT keep what was applied; a PATCH on it is refused.
        let id = fin.body["id"].as_str().unwrap();
        let r = env
            .patch(
                &format!("/Users/{id}"),
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "Replace", "path": "displayName", "value": "Fin"}]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body[SCIMD]["configuration"], "Finance");
        let r = env
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": "Replace", "path": format!("{SCIMD}:company"), "value": "X"}]}),
        )
        .await;
        r.assert_error(400, Some("mutability"));
        let r = env
            .put(
                &format!("/Users/{id}"),
                json!({"userName": "fin@contoso.com"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.raw);
        assert_eq!(r.body[SCIMD]["company"], "Contoso Finance");
        let stored = env.get(&format!("/Users/{id}")).await;
        assert_eq!(stored.body[SCIMD]["configuration"], "Finance");
    }
);
