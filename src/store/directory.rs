//! Directory queries for the console: member counts of a page of groups.

use std::collections::HashMap;

use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;

use super::sql::{Sql, IN_LIST_MAX};
use super::Store;
use crate::error::ScimResult;

#[derive(QueryableByName)]
struct GroupCount {
    #[diesel(sql_type = Text)]
    group_id: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

impl Store {
    /// The number of direct members of each group (groups without members are absent).
    /// One `COUNT … GROUP BY` per 500 ids; the members table is keyed by
    /// (tenant_id, group_id, member_id), so this reads only the index.
    pub fn member_counts(
        &self,
        tenant: &str,
        group_ids: &[String],
    ) -> ScimResult<HashMap<String, i64>> {
        self.read(|c| {
            let mut counts = HashMap::new();
            for chunk in group_ids.chunks(IN_LIST_MAX) {
                let mut q =
                    Sql::new("SELECT group_id, COUNT(*) AS n FROM members WHERE tenant_id = ");
                q.text(tenant)
                    .push(" AND group_id")
                    .in_list(chunk)
                    .push(" GROUP BY group_id");
                for row in c.load::<GroupCount>(&q)? {
                    counts.insert(row.group_id, row.n);
                }
            }
            Ok(counts)
        })
    }
}
