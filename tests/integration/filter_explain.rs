//! The lookups clients rely on (Entra's `userName eq`, `externalId eq`, email, id, delta
//! `meta.lastModified gt`, group membership and name) are answered through an index on
//! both backends: the plan of the list query names an index and scans no table.

use scimd::filter::parse_filter;
use scimd::schema::Registry;

use crate::both_backends;
use crate::support::{Backend, TestEnv};

const USER_FILTERS: &[&str] = &[
    r#"userName eq "x""#,
    r#"externalId eq "x""#,
    r#"emails[type eq "work"].value eq "x""#,
    r#"emails.value eq "x""#,
    r#"id eq "x""#,
    r#"meta.lastModified gt "2026-01-01T00:00:00Z""#,
];

const GROUP_FILTERS: &[&str] = &[r#"members.value eq "x""#, r#"displayName eq "x""#];

fn assert_indexed(env: &TestEnv, group: bool, text: &str) {
    let registry = Registry::get();
    let rt = if group {
        &registry.group
    } else {
        &registry.user
    };
    let filter = parse_filter(text).unwrap();
    let plan = env
        .store()
        .explain_list(&env.tenant_id, rt, &filter)
        .unwrap_or_else(|e| panic!("{text}: {e:?}"));
    let joined = plan.join("\n");
    eprintln!("{text}:\n{joined}");
    match env.backend {
        Backend::Sqlite => {
            assert!(
                plan.iter().any(|l| l.contains("USING INDEX")
                    || l.contains("USING COVERING INDEX")
                    || l.contains("USING PRIMARY KEY")),
                "{text}: no index in\n{joined}"
            );
            assert!(
                !plan.iter().any(|l| l.starts_with("SCAN ")),
                "{text}: full scan in\n{joined}"
            );
        }
        Backend::Postgres => {
            assert!(joined.contains("Index"), "{text}: no index in\n{joined}");
            assert!(
                !joined.contains("Seq Scan"),
                "{text}: sequential scan in\n{joined}"
            );
        }
    }
}

both_backends!(filter_explain_uses_indexes, |env: TestEnv| async move {
    // A few rows, so the planner has something to look at.
    let u = env.create_user("someone@example.com").await;
    let g = env.create_group("Admins").await;
    let r = env
        .patch(
            &format!("/Groups/{g}"),
            crate::support::patch_op(serde_json::json!([
                {"op": "add", "path": "members", "value": [{"value": u}]}
            ])),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.raw);
    for text in USER_FILTERS {
        assert_indexed(&env, false, text);
    }
    for text in GROUP_FILTERS {
        assert_indexed(&env, true, text);
    }
});
