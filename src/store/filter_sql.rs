//! Compiles a filter AST to a SQL condition over the `resources` table (alias `r`).
//!
//! Lookups Entra depends on use indexed columns (`id`, `userName`/group `displayName` via the
//! folded `unique_name`, `externalId`, `meta.*`) or indexed side tables (`emails` in
//! `resource_values`, `members` in `members`); every other attribute is read from the folded
//! search document with the backend's JSON functions. Case-insensitive attributes are
//! compared folded: the store keeps folded copies, and the filter value is folded here, so
//! both backends give the same answer. Every value is bound, never spliced.

use chrono::{DateTime, Utc};

use super::dialect::{Dialect, JsonStep};
use super::sql::{Bind, Sql};
use crate::error::{ScimError, ScimResult};
use crate::filter::{AttrPath, AttrTest, CompValue, CompareOp, Filter};
use crate::schema::{AttrType, Attribute, ResolvedAttr, ResourceType};

/// Format of every timestamp the store writes: fixed width, so text order is time order.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Formats an instant as the store does ([`TIMESTAMP_FORMAT`]; digit by digit, see
/// [`crate::timestamp`]).
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    match crate::timestamp::digits(t) {
        Some(digits) => crate::timestamp::as_str(&digits).to_string(),
        None => t.format(TIMESTAMP_FORMAT).to_string(),
    }
}

/// Where a scalar value comes from, and how to compare it.
struct Operand {
    expr: Sql,
    kind: AttrType,
    case_exact: bool,
    /// Comes from JSON: needs the backend's text collation for ordering comparisons.
    json: bool,
}

/// The compiler for one resource type, tenant and backend.
pub struct FilterCompiler<'a> {
    pub rt: &'a ResourceType,
    pub dialect: Dialect,
    pub tenant_id: &'a str,
}

fn unknown(path: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!("unknown attribute '{}'", display_path(path)))
}

fn display_path(path: &AttrPath) -> String {
    let mut s = String::new();
    if let Some(u) = &path.urn {
        s.push_str(u);
        s.push(':');
    }
    s.push_str(&path.name);
    if let Some(sub) = &path.sub_attr {
        s.push('.');
        s.push_str(sub);
    }
    s
}

/// Lower-cases a value of a caseExact=false attribute, as the store folds its copies.
pub fn fold(s: &str) -> String {
    s.to_lowercase()
}

fn like_pattern(value: &str, op: CompareOp) -> String {
    let mut escaped = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    match op {
        CompareOp::Co => format!("%{escaped}%"),
        CompareOp::Sw => format!("{escaped}%"),
        _ => format!("%{escaped}"),
    }
}

impl<'a> FilterCompiler<'a> {
    pub fn new(rt: &'a ResourceType, dialect: Dialect, tenant_id: &'a str) -> Self {
        FilterCompiler {
            rt,
            dialect,
            tenant_id,
        }
    }

    /// The SQL condition of `filter` (its text is shaped by the client's filter).
    pub fn compile(&self, filter: &Filter) -> ScimResult<Sql> {
        let mut condition = self.condition(filter)?;
        condition.shaped_by_input();
        Ok(condition)
    }

    fn condition(&self, filter: &Filter) -> ScimResult<Sql> {
        match filter {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let op = if matches!(filter, Filter::And(..)) {
                    " AND "
                } else {
                    " OR "
                };
                let mut s = Sql::new("(");
                s.append(self.condition(a)?)
                    .push(op)
                    .append(self.condition(b)?)
                    .push(")");
                Ok(s)
            }
            Filter::Not(inner) => {
                // NOT over SQL NULL stays NULL; COALESCE makes "not (missing eq x)" true.
                let mut s = Sql::new("(NOT COALESCE(");
                s.append(self.condition(inner)?).push(", FALSE))");
                Ok(s)
            }
            Filter::Attr { path, test } => self.attr(path, test),
            Filter::ValuePath { path, filter, sub } => self.value_path(path, filter, sub.as_ref()),
        }
    }

    fn resolve(&self, path: &AttrPath) -> ScimResult<ResolvedAttr<'a>> {
        crate::filter::eval::resolve(path, self.rt).ok_or_else(|| unknown(path))
    }

    /// The JSON path of a resolved attribute inside the document.
    fn json_path(r: &ResolvedAttr<'_>, with_sub: bool) -> Vec<JsonStep> {
        let mut p = Vec::with_capacity(3);
        if let Some(ext) = r.extension {
            p.push(JsonStep::Key(ext.id.clone()));
        }
        p.push(JsonStep::Key(r.attr.name.clone()));
        if with_sub {
            if let Some(sub) = r.sub {
                p.push(JsonStep::Key(sub.name.clone()));
            }
        }
        p
    }

    fn attr(&self, path: &AttrPath, test: &AttrTest) -> ScimResult<Sql> {
        let mut r = self.resolve(path)?;
        if r.sub.is_none()
            && r.attr.attr_type == AttrType::Complex
            && !r.attr.multi_valued
            && matches!(test, AttrTest::Compare(..))
        {
            // Entra's `manager eq "<id>"`: a comparison on a single-valued complex
            // attribute compares its `value` sub-attribute (as the evaluator does).
            if let Some(value) = r.attr.sub_attribute("value") {
                r.sub = Some(value);
            }
        }
        if r.attr.multi_valued {
            // `emails.value eq x`, `emails co x` (= emails.value), `members eq id`.
            let sub = match r.sub {
                Some(sub) => Some((sub.name.clone(), test.clone())),
                None if r.attr.attr_type == AttrType::Complex => {
                    Some(("value".to_string(), test.clone()))
                }
                None => None,
            };
            // Some element matches: `EXISTS` — except where the evaluator looks at the
            // values of all elements together: `ne` is true when no element has a value
            // (like `ne` on a missing single-valued attribute), `eq null` when none has one.
            // `present_too`: the element must also have a value (the evaluator ignores
            // elements without one).
            let any = |t: AttrTest, present_too: bool| match &sub {
                Some((name, _)) => {
                    let one = |t| Filter::Attr {
                        path: AttrPath::simple(name),
                        test: t,
                    };
                    let f = if present_too {
                        Filter::And(Box::new(one(AttrTest::Present)), Box::new(one(t)))
                    } else {
                        one(t)
                    };
                    self.elements(&r, &f)
                }
                None => self.elements_simple(&r, &t),
            };
            let none = |s: Sql| {
                let mut n = Sql::new("(NOT COALESCE(");
                n.append(s).push(", FALSE))");
                n
            };
            return match test {
                AttrTest::Compare(CompareOp::Eq, CompValue::Null) => {
                    Ok(none(any(AttrTest::Present, false)?))
                }
                AttrTest::Compare(CompareOp::Ne, CompValue::Null) => any(AttrTest::Present, false),
                AttrTest::Compare(CompareOp::Ne, _) => {
                    let mut s = Sql::new("(");
                    s.append(none(any(AttrTest::Present, false)?))
                        .push(" OR ")
                        .append(any(test.clone(), true)?)
                        .push(")");
                    Ok(s)
                }
                _ => any(test.clone(), false),
            };
        }
        let target = r.target();
        if target.attr_type == AttrType::Complex {
            return match test {
                AttrTest::Present => Ok(self
                    .dialect
                    .json_present("r.search_doc", &Self::json_path(&r, true))),
                AttrTest::Compare(..) => Err(ScimError::invalid_filter(format!(
                    "'{}' is complex: compare one of its sub-attributes",
                    r.canonical()
                ))),
            };
        }
        let operand = self.column_or_json(&r)?;
        match test {
            AttrTest::Present => Ok(self.present(&r, operand)),
            AttrTest::Compare(op, value) => self.compare(operand, *op, value, &r.canonical()),
        }
    }

    /// The indexed column for the attribute, or its JSON value.
    fn column_or_json(&self, r: &ResolvedAttr<'_>) -> ScimResult<Operand> {
        let canonical = r.canonical();
        let column = match (self.rt.name, canonical.as_str()) {
            (_, "id") => Some(("r.id", AttrType::String, true)),
            (_, "externalId") => Some(("r.external_id", AttrType::String, true)),
            (_, "meta.created") => Some(("r.created", AttrType::DateTime, true)),
            (_, "meta.lastModified") => Some(("r.last_modified", AttrType::DateTime, true)),
            (_, "meta.resourceType") => Some(("r.resource_type", AttrType::String, true)),
            ("User", "userName") | ("Group", "displayName") => {
                Some(("r.unique_name", AttrType::String, false))
            }
            (_, "meta.location") | (_, "meta.version") => {
                return Err(ScimError::invalid_filter(format!(
                    "'{canonical}' is not filterable"
                )))
            }
            _ => None,
        };
        if let Some((col, kind, case_exact)) = column {
            return Ok(Operand {
                expr: Sql::new(col),
                kind,
                case_exact,
                json: false,
            });
        }
        let target = r.target();
        let path = Self::json_path(r, true);
        let expr = match target.attr_type {
            AttrType::Integer | AttrType::Decimal => {
                self.dialect.json_number("r.search_doc", &path)
            }
            _ => self.dialect.json_scalar("r.search_doc", &path),
        };
        Ok(Operand {
            expr,
            kind: target.attr_type,
            case_exact: target.case_exact,
            json: true,
        })
    }

    fn present(&self, r: &ResolvedAttr<'_>, operand: Operand) -> Sql {
        if !operand.json {
            let mut s = Sql::new("(");
            s.append(operand.expr).push(" IS NOT NULL)");
            return s;
        }
        let path = Self::json_path(r, true);
        let mut s = self.dialect.json_present("r.search_doc", &path);
        if matches!(
            operand.kind,
            AttrType::String | AttrType::Reference | AttrType::Binary
        ) {
            let mut t = Sql::new("(");
            t.append(s)
                .push(" AND ")
                .append(operand.expr)
                .push(" <> '')");
            s = t;
        }
        s
    }

    /// Compares an operand with a literal.
    fn compare(
        &self,
        operand: Operand,
        op: CompareOp,
        value: &CompValue,
        name: &str,
    ) -> ScimResult<Sql> {
        let Operand {
            expr,
            kind,
            case_exact,
            json,
        } = operand;
        if let CompValue::Null = value {
            // `x eq null` is "not present"; `x ne null` is "present".
            let mut s = Sql::new("(");
            s.append(expr);
            return match op {
                CompareOp::Eq => Ok(s.push(" IS NULL)").clone()),
                CompareOp::Ne => Ok(s.push(" IS NOT NULL)").clone()),
                _ => Err(ScimError::invalid_filter(format!(
                    "'{name}': null only compares with eq or ne"
                ))),
            };
        }
        match kind {
            AttrType::Boolean => {
                let b = match value {
                    CompValue::Bool(b) => *b,
                    CompValue::String(s) if s.eq_ignore_ascii_case("true") => true,
                    CompValue::String(s) if s.eq_ignore_ascii_case("false") => false,
                    _ => {
                        return Err(ScimError::invalid_filter(format!(
                            "'{name}' is boolean: compare it with true or false"
                        )))
                    }
                };
                match op {
                    CompareOp::Eq => Ok(self.dialect.json_bool_is(expr, b)),
                    CompareOp::Ne => {
                        let mut s = Sql::new("(NOT COALESCE(");
                        s.append(self.dialect.json_bool_is(expr, b))
                            .push(", FALSE))");
                        Ok(s)
                    }
                    _ => Err(ScimError::invalid_filter(format!(
                        "'{name}' is boolean: only eq and ne apply"
                    ))),
                }
            }
            AttrType::Integer | AttrType::Decimal => {
                let n = match value {
                    CompValue::Number(n) => n.as_f64(),
                    CompValue::String(s) => s.parse::<f64>().ok(),
                    _ => None,
                }
                .ok_or_else(|| {
                    ScimError::invalid_filter(format!(
                        "'{name}' is numeric: compare it with a number"
                    ))
                })?;
                let sql_op = match op {
                    CompareOp::Eq => "=",
                    CompareOp::Ne => "<>",
                    CompareOp::Gt => ">",
                    CompareOp::Ge => ">=",
                    CompareOp::Lt => "<",
                    CompareOp::Le => "<=",
                    _ => {
                        return Err(ScimError::invalid_filter(format!(
                            "'{name}' is numeric: co, sw and ew do not apply"
                        )))
                    }
                };
                let mut s = Sql::new("(");
                if op == CompareOp::Ne {
                    s.append(expr.clone()).push(" IS NULL OR ");
                }
                s.append(expr)
                    .push(" ")
                    .push(sql_op)
                    .push(" ")
                    .bind(Bind::Float(n))
                    .push(")");
                Ok(s)
            }
            AttrType::Complex => Err(ScimError::invalid_filter(format!(
                "'{name}' is complex: compare one of its sub-attributes"
            ))),
            AttrType::DateTime | AttrType::String | AttrType::Reference | AttrType::Binary => {
                let text = match value {
                    CompValue::String(s) => s.clone(),
                    CompValue::Number(n) => n.to_string(),
                    CompValue::Bool(b) => b.to_string(),
                    CompValue::Null => String::new(),
                };
                let text = if kind == AttrType::DateTime && !json {
                    // Columns hold fixed-width UTC timestamps; compare instants.
                    match DateTime::parse_from_rfc3339(&text) {
                        Ok(t) => format_timestamp(t.with_timezone(&Utc)),
                        Err(_) => {
                            return Err(ScimError::invalid_filter(format!(
                                "'{name}' is a dateTime: '{text}' is not RFC 3339"
                            )))
                        }
                    }
                } else if case_exact {
                    text
                } else {
                    fold(&text)
                };
                let collate = if json { self.dialect.collate() } else { "" };
                let mut s = Sql::new("(");
                match op {
                    CompareOp::Eq => {
                        s.append(expr).push(" = ").text(text);
                    }
                    CompareOp::Ne => {
                        s.append(expr.clone())
                            .push(" IS NULL OR ")
                            .append(expr)
                            .push(" <> ")
                            .text(text);
                    }
                    CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                        s.append(expr)
                            .push(collate)
                            .push(" LIKE ")
                            .text(like_pattern(&text, op))
                            .push(" ESCAPE '\\'");
                    }
                    CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
                        let sql_op = match op {
                            CompareOp::Gt => " > ",
                            CompareOp::Ge => " >= ",
                            CompareOp::Lt => " < ",
                            _ => " <= ",
                        };
                        s.append(expr).push(collate).push(sql_op).text(text);
                    }
                }
                s.push(")");
                Ok(s)
            }
        }
    }

    /// `path[filter]` / `path[filter].sub op value`.
    fn value_path(
        &self,
        path: &AttrPath,
        filter: &Filter,
        sub: Option<&(String, AttrTest)>,
    ) -> ScimResult<Sql> {
        let r = self.resolve(path)?;
        if r.sub.is_some() || !r.attr.multi_valued || r.attr.attr_type != AttrType::Complex {
            return Err(ScimError::invalid_filter(format!(
                "'{}' is not a multi-valued complex attribute",
                r.canonical()
            )));
        }
        let combined = match sub {
            None => filter.clone(),
            Some((name, test)) => Filter::And(
                Box::new(filter.clone()),
                Box::new(Filter::Attr {
                    path: AttrPath::simple(name),
                    test: test.clone(),
                }),
            ),
        };
        self.elements(&r, &combined)
    }

    /// Some element of the multi-valued complex attribute `r.attr` matches `filter`, whose
    /// paths are sub-attribute names.
    fn elements(&self, r: &ResolvedAttr<'_>, filter: &Filter) -> ScimResult<Sql> {
        let attr = r.attr;
        let side = match (self.rt.name, r.extension.is_none(), attr.name.as_str()) {
            (_, true, "emails") => Some(Side::Emails),
            ("Group", true, "members") => Some(Side::Members),
            ("User", true, "groups") => Some(Side::Groups),
            _ => None,
        };
        if let Some(side) = side {
            if let Some(cond) = self.side_condition(side, attr, filter)? {
                return Ok(cond);
            }
            if side != Side::Emails {
                return Err(ScimError::invalid_filter(format!(
                    "only the value and type of '{}' are filterable",
                    attr.name
                )));
            }
        }
        let mut s = Sql::new("EXISTS (SELECT 1 FROM ");
        s.append(
            self.dialect
                .json_elements("r.search_doc", &Self::json_path(r, false)),
        );
        s.push(" WHERE ")
            .append(self.element_condition(attr, filter)?)
            .push(")");
        Ok(s)
    }

    /// A multi-valued simple attribute (`x eq v` over its elements).
    fn elements_simple(&self, r: &ResolvedAttr<'_>, test: &AttrTest) -> ScimResult<Sql> {
        let mut s = Sql::new("EXISTS (SELECT 1 FROM ");
        s.append(
            self.dialect
                .json_elements("r.search_doc", &Self::json_path(r, false)),
        );
        s.push(" WHERE ");
        let operand = Operand {
            expr: self.dialect.element_scalar(),
            kind: r.attr.attr_type,
            case_exact: r.attr.case_exact,
            json: true,
        };
        let cond = match test {
            AttrTest::Present => {
                let mut c = Sql::new("(");
                c.append(self.dialect.element_scalar())
                    .push(" IS NOT NULL)");
                c
            }
            AttrTest::Compare(op, v) => self.compare(operand, *op, v, &r.canonical())?,
        };
        s.append(cond).push(")");
        Ok(s)
    }

    /// The condition on one JSON element (alias `e`) of the multi-valued complex `attr`.
    fn element_condition(&self, attr: &Attribute, filter: &Filter) -> ScimResult<Sql> {
        match filter {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let op = if matches!(filter, Filter::And(..)) {
                    " AND "
                } else {
                    " OR "
                };
                let mut s = Sql::new("(");
                s.append(self.element_condition(attr, a)?)
                    .push(op)
                    .append(self.element_condition(attr, b)?)
                    .push(")");
                Ok(s)
            }
            Filter::Not(inner) => {
                let mut s = Sql::new("(NOT COALESCE(");
                s.append(self.element_condition(attr, inner)?)
                    .push(", FALSE))");
                Ok(s)
            }
            Filter::ValuePath { .. } => {
                Err(ScimError::invalid_filter("value filters cannot be nested"))
            }
            Filter::Attr { path, test } => {
                if path.urn.is_some() || path.sub_attr.is_some() {
                    return Err(ScimError::invalid_filter(format!(
                        "'{}' is not a sub-attribute of '{}'",
                        display_path(path),
                        attr.name
                    )));
                }
                let sub = attr
                    .sub_attribute(&path.name)
                    .ok_or_else(|| unknown(path))?;
                let step = [JsonStep::Key(sub.name.clone())];
                let base = self.dialect.element_base();
                let expr = match sub.attr_type {
                    AttrType::Integer | AttrType::Decimal => self.dialect.json_number(base, &step),
                    _ => self.dialect.json_scalar(base, &step),
                };
                let operand = Operand {
                    expr,
                    kind: sub.attr_type,
                    case_exact: sub.case_exact,
                    json: true,
                };
                match test {
                    AttrTest::Present => {
                        let mut s = Sql::new("(");
                        s.append(operand.expr).push(" IS NOT NULL)");
                        Ok(s)
                    }
                    AttrTest::Compare(op, v) => {
                        self.compare(operand, *op, v, &format!("{}.{}", attr.name, sub.name))
                    }
                }
            }
        }
    }

    /// The condition through an indexed side table, or `None` when the filter names a
    /// sub-attribute the side table does not hold.
    fn side_condition(
        &self,
        side: Side,
        attr: &Attribute,
        filter: &Filter,
    ) -> ScimResult<Option<Sql>> {
        let Some(inner) = self.side_element(side, attr, filter)? else {
            return Ok(None);
        };
        let mut s = Sql::default();
        match side {
            Side::Emails => {
                s.push("r.id IN (SELECT v.resource_id FROM resource_values v WHERE v.tenant_id = ")
                    .text(self.tenant_id)
                    .push(" AND v.attribute = 'emails' AND ");
            }
            Side::Members => {
                s.push("r.id IN (SELECT m.group_id FROM members m WHERE m.tenant_id = ")
                    .text(self.tenant_id)
                    .push(" AND ");
            }
            Side::Groups => {
                s.push("r.id IN (SELECT m.member_id FROM members m WHERE m.tenant_id = ")
                    .text(self.tenant_id)
                    .push(" AND ");
            }
        }
        s.append(inner).push(")");
        Ok(Some(s))
    }

    fn side_element(
        &self,
        side: Side,
        attr: &Attribute,
        filter: &Filter,
    ) -> ScimResult<Option<Sql>> {
        Ok(Some(match filter {
            Filter::And(a, b) | Filter::Or(a, b) => {
                let op = if matches!(filter, Filter::And(..)) {
                    " AND "
                } else {
                    " OR "
                };
                let (Some(x), Some(y)) = (
                    self.side_element(side, attr, a)?,
                    self.side_element(side, attr, b)?,
                ) else {
                    return Ok(None);
                };
                let mut s = Sql::new("(");
                s.append(x).push(op).append(y).push(")");
                s
            }
            Filter::Not(inner) => {
                let Some(x) = self.side_element(side, attr, inner)? else {
                    return Ok(None);
                };
                let mut s = Sql::new("(NOT COALESCE(");
                s.append(x).push(", FALSE))");
                s
            }
            Filter::ValuePath { .. } => {
                return Err(ScimError::invalid_filter("value filters cannot be nested"))
            }
            Filter::Attr { path, test } => {
                if path.urn.is_some() || path.sub_attr.is_some() {
                    return Err(unknown(path));
                }
                let sub = attr
                    .sub_attribute(&path.name)
                    .ok_or_else(|| unknown(path))?;
                let column = match (side, sub.name.as_str()) {
                    (Side::Emails, "value") => "v.value",
                    (Side::Emails, "type") => "v.value_type",
                    (Side::Emails, "primary") => {
                        // `is_primary` is 0 both for `false` and for no `primary` at all,
                        // where `primary eq false` is false: only `eq true` is indexed.
                        return Ok(match test {
                            AttrTest::Compare(CompareOp::Eq, CompValue::Bool(true)) => {
                                Some(Sql::new("(v.is_primary = 1)"))
                            }
                            _ => None,
                        });
                    }
                    (Side::Members, "value") => "m.member_id",
                    (Side::Members, "type") => "LOWER(m.member_type)",
                    (Side::Groups, "value") => "m.group_id",
                    _ => return Ok(None),
                };
                let operand = Operand {
                    expr: Sql::new(column),
                    kind: AttrType::String,
                    case_exact: side != Side::Emails && sub.case_exact,
                    json: false,
                };
                match test {
                    AttrTest::Present => Sql::new(&format!("({column} IS NOT NULL)")),
                    AttrTest::Compare(op, v) => {
                        self.compare(operand, *op, v, &format!("{}.{}", attr.name, sub.name))?
                    }
                }
            }
        }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Emails,
    Members,
    Groups,
}

/// `ORDER BY` for `sortBy`/`sortOrder`, with the stable tie-break (creation time, then id).
pub fn order_by(
    rt: &ResourceType,
    dialect: Dialect,
    sort_by: Option<&AttrPath>,
    descending: bool,
) -> ScimResult<Sql> {
    let mut s = Sql::new(" ORDER BY ");
    if let Some(path) = sort_by {
        let r = rt.resolve(path).ok_or_else(|| {
            ScimError::invalid_value(format!(
                "cannot sort by unknown attribute '{}'",
                display_path(path)
            ))
        })?;
        let compiler = FilterCompiler::new(rt, dialect, "");
        let (expr, collate) = if r.attr.multi_valued {
            // Multi-valued: the first element's value (RFC 7644 §3.4.2.3 allows the primary or first).
            let mut p = FilterCompiler::json_path(&r, false);
            p.push(JsonStep::Index(0));
            p.push(JsonStep::Key(
                r.sub
                    .map(|s| s.name.clone())
                    .unwrap_or_else(|| "value".into()),
            ));
            (dialect.json_scalar("r.search_doc", &p), dialect.collate())
        } else if r.target().attr_type == AttrType::Complex {
            return Err(ScimError::invalid_value(
                "cannot sort by a complex attribute",
            ));
        } else {
            let operand = compiler.column_or_json(&r)?;
            let text = !matches!(
                operand.kind,
                AttrType::Integer | AttrType::Decimal | AttrType::Boolean
            );
            let collate = if operand.json && text {
                dialect.collate()
            } else {
                ""
            };
            (operand.expr, collate)
        };
        let dir = if descending { " DESC" } else { " ASC" };
        s.push("(")
            .append(expr.clone())
            .push(" IS NULL), ")
            .append(expr)
            .push(collate)
            .push(dir)
            .push(", ");
    }
    s.push("r.created ASC, r.id ASC");
    Ok(s)
}
