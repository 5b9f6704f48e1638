//! The backend-specific SQL fragments: JSON access, array iteration, row locks, collation.
//! Everything else the store writes is common SQL.

use super::sql::Sql;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A JSON path of object keys (schema attribute names) and array indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonStep {
    Key(String),
    Index(usize),
}

impl Dialect {
    /// The bound path parameter: SQLite `$."a"."b"[0]`, PostgreSQL text[] `{"a","b",0}`.
    fn path_param(self, path: &[JsonStep]) -> String {
        match self {
            Dialect::Sqlite => {
                let mut p = String::from("$");
                for step in path {
                    match step {
                        JsonStep::Key(k) => {
                            p.push_str(".\"");
                            p.push_str(k);
                            p.push('"');
                        }
                        JsonStep::Index(i) => p.push_str(&format!("[{i}]")),
                    }
                }
                p
            }
            Dialect::Postgres => {
                let items: Vec<String> = path
                    .iter()
                    .map(|s| match s {
                        JsonStep::Key(k) => format!("\"{}\"", k.replace('\\', "\\\\").replace('"', "\\\"")),
                        JsonStep::Index(i) => i.to_string(),
                    })
                    .collect();
                format!("{{{}}}", items.join(","))
            }
        }
    }

    /// The scalar at `path` of the JSON text column `base`: SQLite's native value (text,
    /// number, or 1/0 for booleans); PostgreSQL's text.
    pub fn json_scalar(self, base: &str, path: &[JsonStep]) -> Sql {
        let mut s = Sql::default();
        match self {
            Dialect::Sqlite => {
                s.push("json_extract(").push(base).push(", ");
                s.text(self.path_param(path)).push(")");
            }
            Dialect::Postgres => {
                s.push("(").push(&self.jsonb(base)).push(" #>> CAST(");
                s.text(self.path_param(path)).push(" AS text[]))");
            }
        }
        s
    }

    /// A numeric value at `path`.
    pub fn json_number(self, base: &str, path: &[JsonStep]) -> Sql {
        match self {
            Dialect::Sqlite => self.json_scalar(base, path),
            Dialect::Postgres => {
                let mut s = Sql::new("CAST(");
                s.append(self.json_scalar(base, path)).push(" AS double precision)");
                s
            }
        }
    }

    /// `expr` (from [`json_scalar`]) is the JSON boolean `value`.
    pub fn json_bool_is(self, expr: Sql, value: bool) -> Sql {
        let mut s = Sql::new("(");
        s.append(expr);
        match (self, value) {
            (Dialect::Sqlite, true) => s.push(" = 1)"),
            (Dialect::Sqlite, false) => s.push(" = 0)"),
            (Dialect::Postgres, true) => s.push(" = 'true')"),
            (Dialect::Postgres, false) => s.push(" = 'false')"),
        };
        s
    }

    /// True if something (not null) is at `path`.
    pub fn json_present(self, base: &str, path: &[JsonStep]) -> Sql {
        let mut s = Sql::default();
        match self {
            Dialect::Sqlite => {
                s.push("(json_type(").push(base).push(", ");
                s.text(self.path_param(path)).push(") NOT IN ('null') AND json_type(").push(base).push(", ");
                s.text(self.path_param(path)).push(") IS NOT NULL)");
            }
            Dialect::Postgres => {
                s.push("(jsonb_typeof(").push(&self.jsonb(base)).push(" #> CAST(");
                s.text(self.path_param(path)).push(" AS text[])) IS DISTINCT FROM 'null' AND (");
                s.push(&self.jsonb(base)).push(" #> CAST(");
                s.text(self.path_param(path)).push(" AS text[])) IS NOT NULL)");
            }
        }
        s
    }

    /// A FROM item iterating the array at `path` of `base`, as alias `e` whose column
    /// `e.value` is each element.
    pub fn json_elements(self, base: &str, path: &[JsonStep]) -> Sql {
        let mut s = Sql::default();
        match self {
            Dialect::Sqlite => {
                s.push("json_each(").push(base).push(", ");
                s.text(self.path_param(path)).push(") AS e");
            }
            Dialect::Postgres => {
                let j = self.jsonb(base);
                s.push("jsonb_array_elements(CASE WHEN jsonb_typeof(").push(&j).push(" #> CAST(");
                s.text(self.path_param(path)).push(" AS text[])) = 'array' THEN ").push(&j);
                s.push(" #> CAST(");
                s.text(self.path_param(path)).push(" AS text[]) ELSE '[]'::jsonb END) AS e");
            }
        }
        s
    }

    /// The element of [`json_elements`] itself, as a scalar.
    pub fn element_scalar(self) -> Sql {
        match self {
            Dialect::Sqlite => Sql::new("e.value"),
            Dialect::Postgres => Sql::new("(e.value #>> '{}')"),
        }
    }

    /// The element's JSON as the base for [`json_scalar`].
    pub fn element_base(self) -> &'static str {
        "e.value"
    }

    /// Text comparison collation suffix: byte order on both backends.
    pub fn collate(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " COLLATE \"C\"",
        }
    }

    /// Row lock for read-modify-write inside a transaction (SQLite's writer lock is
    /// taken by the IMMEDIATE transaction itself).
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    fn jsonb(self, base: &str) -> String {
        if base == "e.value" {
            base.to_string()
        } else {
            format!("CAST({base} AS jsonb)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_params_quote_keys() {
        let path = [
            JsonStep::Key("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
            JsonStep::Key("department".into()),
        ];
        assert_eq!(
            Dialect::Sqlite.path_param(&path),
            "$.\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\".\"department\""
        );
        assert_eq!(
            Dialect::Postgres.path_param(&path),
            "{\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\",\"department\"}"
        );
        assert_eq!(
            Dialect::Sqlite.path_param(&[JsonStep::Key("emails".into()), JsonStep::Index(0)]),
            "$.\"emails\"[0]"
        );
    }
}
