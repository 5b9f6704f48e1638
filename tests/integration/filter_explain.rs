//! The lookups clients rely on (Entra's `userName eq`, `externalId eq`, email, id, delta
//! `meta.lastModified gt`, group membership and name) are answered through an index on
//! both backends: the plan of the list query names an index and scans no table.

use chrono::TimeZone;
use scimd::filter::parse_filter;
use scimd::schema::Registry;

use crate::both_backends;
use crate::support::{Backend, TestEnv};

/// (filter, what the SQLite index search constrains, what the PostgreSQL index
/// condition constrains): the index must be used for the filtered column, not merely for
/// the tenant.
const USER_FILTERS: &[(&str, &str, &str)] = &[
    (r#"userName eq "x""#, "unique_name=?", "(unique_name = "),
    (r#"externalId eq "x""#, "external_id=?", "(external_id = "),
    (
        r#"emails[type eq "work"].value eq "x""#,
        "value=?",
        "(value = ",
    ),
    (r#"emails.value eq "x""#, "value=?", "(value = "),
    (r#"id eq "x""#, "AND id=?", "(id = "),
    (
        r#"meta.lastModified gt "2026-01-01T00:00:00Z""#,
        "last_modified>?",
        "(last_modified > ",
    ),
];

const GROUP_FILTERS: &[(&str, &str, &str)] = &[
    (r#"members.value eq "x""#, "member_id=?", "(member_id = "),
    (r#"displayName eq "x""#, "unique_name=?", "(unique_name = "),
];

/// Refreshes the planner statistics, so plans are those of a populated table.
fn analyze(env: &TestEnv) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    match env.backend {
        Backend::Sqlite => {
            let path = env.db.url().trim_start_matches("sqlite://").to_string();
            let mut c = diesel::SqliteConnection::establish(&path).expect("sqlite");
            c.batch_execute("ANALYZE").expect("analyze");
        }
        Backend::Postgres => {
            let mut c = diesel::PgConnection::establish(env.db.url()).expect("postgres");
            c.batch_execute("ANALYZE").expect("analyze");
        }
    }
}

fn assert_indexed(env: &TestEnv, group: bool, (text, sqlite_cond, pg_cond): (&str, &str, &str)) {
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
                plan.iter().any(|l| (l.contains("USING INDEX")
                    || l.contains("USING COVERING INDEX")
                    || l.contains("USING PRIMARY KEY"))
                    && l.contains(sqlite_cond)),
                "{text}: no index on {sqlite_cond} in\n{joined}"
            );
            assert!(
                !plan.iter().any(|l| l.starts_with("SCAN ")),
                "{text}: full scan in\n{joined}"
            );
        }
        Backend::Postgres => {
            assert!(
                plan.iter()
                    .any(|l| l.contains("Index Cond") && l.contains(pg_cond)),
                "{text}: no index on {pg_cond} in\n{joined}"
            );
            assert!(
                !joined.contains("Seq Scan"),
                "{text}: sequential scan in\n{joined}"
            );
        }
    }
}

both_backends!(filter_explain_uses_indexes, |mut env: TestEnv| async move {
    // Everything was last modified before the delta instant of the filter below, so that
    // filter is selective (as a delta query is) and worth an index.
    env.fix_clock(chrono::Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap());
    // Some rows and fresh statistics, so the planner has something to look at.
    for i in 0..30 {
        let r = env
            .post(
                "/Users",
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("user{i}@example.com"),
                    "externalId": format!("ext{i}"),
                    "emails": [{"value": format!("user{i}@example.com"), "type": "work"}],
                }),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.raw);
    }
    for i in 0..30 {
        env.create_group(&format!("group{i}")).await;
    }
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
    analyze(&env);
    for case in USER_FILTERS {
        assert_indexed(&env, false, *case);
    }
    for case in GROUP_FILTERS {
        assert_indexed(&env, true, *case);
    }
});
