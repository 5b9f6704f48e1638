//! Companies, roles and default user configurations of a tenant.

use diesel::sql_types::BigInt;
use diesel::QueryableByName;

use super::sql::Sql;
use super::Store;
use crate::error::ScimResult;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

impl Store {
    /// True if the tenant has a default user configuration.
    pub fn has_default_configuration(&self, tenant: &str) -> ScimResult<bool> {
        self.read(|c| {
            let mut q = Sql::new(
                "SELECT COUNT(*) AS n FROM configurations WHERE is_default = 1 AND tenant_id = ",
            );
            q.text(tenant);
            Ok(c.first::<Count>(&q)?.map(|r| r.n).unwrap_or(0) > 0)
        })
    }
}
