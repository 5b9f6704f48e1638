//! Console pages: the directory. Users and groups as provisioned through SCIM, searchable
//! and paginated in the database (a SCIM filter through `Store::list_resources`, never a
//! full load), and a detail view of each. Read-only for every role.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;

use super::{current_session, html, ConsoleError, Nav};
use crate::admin::MAX_SEARCH_CHARS;
use crate::http::{blocking, AppState};
use crate::schema::{Registry, SCIMD_USER_SCHEMA};
use crate::store::resources::{Member, StoredResource};

/// Rows per page.
pub const PAGE_SIZE: i64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(users_page))
        .route("/users/{id}", web::get().to(user_page))
        .route("/groups", web::get().to(groups_page))
        .route("/groups/{id}", web::get().to(group_page));
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
}

impl ListParams {
    fn search(&self) -> String {
        self.q.trim().chars().take(MAX_SEARCH_CHARS).collect()
    }

    /// The 1-based page; anything unreadable is page 1.
    fn page(&self) -> i64 {
        self.page
            .trim()
            .parse::<i64>()
            .unwrap_or(1)
            .clamp(1, 1_000_000)
    }
}

/// Where a list page is and the links around it.
pub struct Pager {
    pub page: i64,
    pub total: i64,
    pub first: i64,
    pub last: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    fn new(base: &str, q: &str, page: i64, total: i64, shown: usize) -> Pager {
        let link = |p: i64| {
            let mut params: Vec<(&str, String)> = Vec::new();
            if !q.is_empty() {
                params.push(("q", q.to_string()));
            }
            params.push(("page", p.to_string()));
            format!(
                "{base}?{}",
                serde_urlencoded::to_string(&params).unwrap_or_default()
            )
        };
        let first = (page - 1) * PAGE_SIZE + 1;
        let last = first + shown as i64 - 1;
        Pager {
            page,
            total,
            first: if shown == 0 { 0 } else { first },
            last: if shown == 0 { 0 } else { last },
            prev: (page > 1)
                .then(|| link((page - 1).min(((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1)))),
            next: (page * PAGE_SIZE < total).then(|| link(page + 1)),
        }
    }
}

fn str_at<'a>(doc: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = doc;
    for key in path {
        v = v.get(key)?;
    }
    v.as_str().filter(|s| !s.is_empty())
}

/// `name.formatted`, else given and family name.
fn person_name(doc: &Value) -> String {
    if let Some(f) = str_at(doc, &["name", "formatted"]) {
        return f.to_string();
    }
    [
        str_at(doc, &["name", "givenName"]),
        str_at(doc, &["name", "familyName"]),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

fn active(doc: &Value) -> &'static str {
    match doc.get("active").and_then(Value::as_bool) {
        Some(true) => "yes",
        Some(false) => "no",
        None => "",
    }
}

fn scimd_ext(doc: &Value, key: &str) -> String {
    str_at(doc, &[SCIMD_USER_SCHEMA, key])
        .unwrap_or_default()
        .to_string()
}

fn emails(doc: &Value) -> Vec<String> {
    doc.get("emails")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|e| e.get("value").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A link to a group.
pub struct GroupLink {
    pub id: String,
    pub name: String,
}

fn group_links(groups: Option<Vec<Member>>) -> Vec<GroupLink> {
    groups
        .unwrap_or_default()
        .into_iter()
        .map(|m| GroupLink {
            name: m.display.unwrap_or_else(|| m.group_id.clone()),
            id: m.group_id,
        })
        .collect()
}

pub struct UserRow {
    pub id: String,
    pub user_name: String,
    pub name: String,
    pub active: &'static str,
    pub configuration: String,
    pub company: String,
    pub groups: Vec<GroupLink>,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    q: String,
    pager: Pager,
    users: Vec<UserRow>,
}

/// One page of a resource type matching the search, sorted by `sort`.
async fn list_page(
    state: &AppState,
    tenant: &str,
    user: bool,
    q: &str,
    page: i64,
) -> Result<crate::store::resources::ListPage, ConsoleError> {
    let store = state.store.clone();
    let (tenant, q) = (tenant.to_string(), q.to_string());
    Ok(blocking(move || {
        crate::admin::list_directory(
            &store,
            &tenant,
            user,
            &q,
            (page - 1) * PAGE_SIZE + 1,
            PAGE_SIZE,
        )
    })
    .await?)
}

async fn users_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    let (q, page) = (params.search(), params.page());
    let list = list_page(&state, console.tenant_id(), true, &q, page).await?;
    let ids: Vec<String> = list.resources.iter().map(|r| r.id.clone()).collect();
    let store = state.store.clone();
    let tenant = console.tenant_id().to_string();
    let mut groups = blocking(move || store.groups_of(&tenant, &ids)).await?;
    let users: Vec<UserRow> = list
        .resources
        .into_iter()
        .map(|r| UserRow {
            user_name: str_at(&r.doc, &["userName"])
                .unwrap_or_default()
                .to_string(),
            name: person_name(&r.doc),
            active: active(&r.doc),
            configuration: scimd_ext(&r.doc, "configuration"),
            company: scimd_ext(&r.doc, "company"),
            groups: group_links(groups.remove(&r.id)),
            id: r.id,
        })
        .collect();
    html(&UsersPage {
        nav: Some(console.nav("users")),
        flash: None,
        error: None,
        pager: Pager::new("/console/users", &q, page, list.total, users.len()),
        q,
        users,
    })
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    id: String,
    user_name: String,
    name: String,
    display_name: String,
    external_id: String,
    active: &'static str,
    emails: Vec<String>,
    configuration: String,
    company: String,
    created: String,
    last_modified: String,
    version: i64,
    groups: Vec<GroupLink>,
    json: String,
}

/// One resource of this tenant, or 404 (another tenant's id is simply not found).
async fn load_one(
    state: &AppState,
    tenant: &str,
    user: bool,
    id: String,
) -> Result<(StoredResource, Vec<Member>), ConsoleError> {
    let store = state.store.clone();
    let tenant = tenant.to_string();
    let found = blocking(move || {
        let reg = Registry::get();
        let rt = if user { &reg.user } else { &reg.group };
        let Some(r) = store.get_resource(&tenant, rt, &id)? else {
            return Ok(None);
        };
        let ids = [r.id.clone()];
        let mut related = if user {
            store.groups_of(&tenant, &ids)?
        } else {
            store.members_of(&tenant, &ids)?
        };
        let related = related.remove(&r.id).unwrap_or_default();
        Ok(Some((r, related)))
    })
    .await?;
    found.ok_or(ConsoleError::NotFound)
}

fn pretty(doc: &Value) -> String {
    serde_json::to_string_pretty(doc).unwrap_or_else(|_| doc.to_string())
}

async fn user_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    let (r, groups) = load_one(&state, console.tenant_id(), true, path.into_inner()).await?;
    let doc = &r.doc;
    html(&UserPage {
        nav: Some(console.nav("users")),
        flash: None,
        error: None,
        user_name: str_at(doc, &["userName"]).unwrap_or_default().to_string(),
        name: person_name(doc),
        display_name: str_at(doc, &["displayName"])
            .unwrap_or_default()
            .to_string(),
        external_id: str_at(doc, &["externalId"]).unwrap_or_default().to_string(),
        active: active(doc),
        emails: emails(doc),
        configuration: scimd_ext(doc, "configuration"),
        company: scimd_ext(doc, "company"),
        groups: group_links(Some(groups)),
        json: pretty(doc),
        id: r.id.clone(),
        created: r.created.clone(),
        last_modified: r.last_modified.clone(),
        version: r.version,
    })
}

pub struct GroupRow {
    pub id: String,
    pub display_name: String,
    pub external_id: String,
    pub members: i64,
}

#[derive(Template)]
#[template(path = "console/groups.html")]
struct GroupsPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    q: String,
    pager: Pager,
    groups: Vec<GroupRow>,
}

async fn groups_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    let (q, page) = (params.search(), params.page());
    let list = list_page(&state, console.tenant_id(), false, &q, page).await?;
    let ids: Vec<String> = list.resources.iter().map(|r| r.id.clone()).collect();
    let store = state.store.clone();
    let tenant = console.tenant_id().to_string();
    let counts = blocking(move || store.member_counts(&tenant, &ids)).await?;
    let groups: Vec<GroupRow> = list
        .resources
        .into_iter()
        .map(|r| GroupRow {
            display_name: str_at(&r.doc, &["displayName"])
                .unwrap_or_default()
                .to_string(),
            external_id: str_at(&r.doc, &["externalId"])
                .unwrap_or_default()
                .to_string(),
            members: counts.get(&r.id).copied().unwrap_or(0),
            id: r.id,
        })
        .collect();
    html(&GroupsPage {
        nav: Some(console.nav("groups")),
        flash: None,
        error: None,
        pager: Pager::new("/console/groups", &q, page, list.total, groups.len()),
        q,
        groups,
    })
}

pub struct MemberRow {
    pub id: String,
    pub member_type: String,
    pub display: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "console/group.html")]
struct GroupPage {
    nav: Option<Nav>,
    flash: Option<String>,
    error: Option<String>,
    id: String,
    display_name: String,
    external_id: String,
    created: String,
    last_modified: String,
    version: i64,
    members: Vec<MemberRow>,
    json: String,
}

async fn group_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let console = current_session(&state, &req).await?;
    let (r, members) = load_one(&state, console.tenant_id(), false, path.into_inner()).await?;
    let members = members
        .into_iter()
        .map(|m| MemberRow {
            href: if m.member_type == "Group" {
                format!("/console/groups/{}", m.member_id)
            } else {
                format!("/console/users/{}", m.member_id)
            },
            display: m.display.unwrap_or_default(),
            member_type: m.member_type,
            id: m.member_id,
        })
        .collect();
    let doc = &r.doc;
    html(&GroupPage {
        nav: Some(console.nav("groups")),
        flash: None,
        error: None,
        display_name: str_at(doc, &["displayName"])
            .unwrap_or_default()
            .to_string(),
        external_id: str_at(doc, &["externalId"]).unwrap_or_default().to_string(),
        members,
        json: pretty(doc),
        id: r.id.clone(),
        created: r.created.clone(),
        last_modified: r.last_modified.clone(),
        version: r.version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::contains_any;
    use crate::filter::AttrPath;
    use serde_json::json;

    #[test]
    fn search_filter_ors_contains() {
        let f = contains_any(
            &[
                AttrPath::simple("userName"),
                AttrPath::simple("displayName"),
            ],
            "ada",
        )
        .unwrap();
        assert_eq!(
            f.to_string(),
            "userName co \"ada\" or displayName co \"ada\""
        );
        assert!(contains_any(&[], "x").is_none());
    }

    #[test]
    fn names_and_pager() {
        assert_eq!(
            person_name(&json!({"name": {"formatted": "Ada L"}})),
            "Ada L"
        );
        assert_eq!(
            person_name(&json!({"name": {"givenName": "Ada", "familyName": "Lovelace"}})),
            "Ada Lovelace"
        );
        assert_eq!(person_name(&json!({})), "");
        let p = Pager::new("/console/users", "a b", 2, 120, 50);
        assert_eq!((p.first, p.last), (51, 100));
        assert_eq!(p.prev.as_deref(), Some("/console/users?q=a+b&page=1"));
        assert_eq!(p.next.as_deref(), Some("/console/users?q=a+b&page=3"));
        let p = Pager::new("/console/users", "", 3, 120, 20);
        assert!(p.next.is_none());
        assert_eq!(p.last, 120);
    }
}
