//! SCIM resource endpoints under `/scim/v2/{tenant_id}`: Users, Groups, `.search`.

use std::borrow::Borrow;

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::Value;

use super::auth::{authenticate, TenantContext};
use super::scim_router::{self, Collection, Endpoint, Matched, Route};
use super::{blocking, discovery, header_str, read, read_json, write, AppState, SCIM_CONTENT_TYPE};
use crate::configuration;
use crate::error::ScimError;
use crate::filter::{parse_filter, AttrPath, Filter};
use crate::patch::{apply_patch, member_changes_only, parse_patch_request, MemberChange};
use crate::projection::Projection;
use crate::representation::{list_response_text, location, to_scim, to_scim_text};
use crate::resource::normalize;
use crate::schema::ResourceType;
use crate::store::console::ProvisioningEntry;
use crate::store::resources::{
    ListQuery, Member, Related, RelatedMap, ResourceRow, StoredResource, Update, WriteLog,
    WriteOptions,
};
use crate::store::Store;

/// Default and maximum page sizes (ServiceProviderConfig `filter.maxResults`).
pub const DEFAULT_COUNT: i64 = 100;
pub const MAX_RESULTS: i64 = 1000;

fn users() -> &'static ResourceType {
    Collection::Users.resource_type()
}

fn groups() -> &'static ResourceType {
    Collection::Groups.resource_type()
}

/// Every SCIM endpoint: the paths under `/scim/v2`, routed by [`scim_router::route`].
pub fn scope() -> actix_web::Scope {
    web::scope("/scim/v2").default_service(web::to(dispatch))
}

/// Calls the handler of the endpoint and method a request names: 405 for a method an
/// endpoint does not have, 404 for a path it does not know (both after authenticating, so
/// that an unknown tenant still looks like any other 401), a plain 404 without a tenant.
async fn dispatch(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let Some(Route { tenant, endpoint }) = scim_router::route(req.match_info().unprocessed())
    else {
        return Err(ScimError::not_found("No such endpoint"));
    };
    req.extensions_mut().insert(Matched {
        pattern: endpoint.pattern(),
        tenant: tenant.clone(),
    });
    let method = req.method().clone();
    match endpoint {
        Endpoint::SearchRoot if method == Method::POST => {
            search_root(state, req, tenant, payload).await
        }
        Endpoint::Resources(c) if method == Method::GET => {
            list(state, req, tenant, c.resource_type()).await
        }
        Endpoint::Resources(c) if method == Method::POST => {
            create(state, req, tenant, payload, c.resource_type()).await
        }
        Endpoint::Search(c) if method == Method::POST => {
            search(state, req, tenant, payload, c.resource_type()).await
        }
        Endpoint::Resource(c, id) => {
            let rt = c.resource_type();
            match method {
                Method::GET => get(state, req, tenant, id, rt).await,
                Method::PUT => replace(state, req, tenant, id, payload, rt).await,
                Method::PATCH => patch(state, req, tenant, id, payload, rt).await,
                Method::DELETE => delete(state, req, tenant, id, rt).await,
                _ => discovery::method_not_allowed(&state, &req, &tenant).await,
            }
        }
        Endpoint::ServiceProviderConfig if method == Method::GET => {
            discovery::service_provider_config(&state, &req, &tenant).await
        }
        Endpoint::Schemas if method == Method::GET => {
            discovery::schemas(&state, &req, &tenant).await
        }
        Endpoint::Schema(id) if method == Method::GET => {
            discovery::schema(&state, &req, &tenant, &id).await
        }
        Endpoint::ResourceTypes if method == Method::GET => {
            discovery::resource_types(&state, &req, &tenant).await
        }
        Endpoint::ResourceType(id) if method == Method::GET => {
            discovery::resource_type(&state, &req, &tenant, &id).await
        }
        Endpoint::Me | Endpoint::Bulk => discovery::not_implemented(&state, &req, &tenant).await,
        Endpoint::Unknown => unknown_endpoint(&state, &req, &tenant).await,
        _ => discovery::method_not_allowed(&state, &req, &tenant).await,
    }
}

async fn unknown_endpoint(
    state: &AppState,
    req: &HttpRequest,
    tenant: &str,
) -> Result<HttpResponse, ScimError> {
    authenticate(state, req, tenant).await?;
    Err(ScimError::not_found(format!(
        "No SCIM endpoint at {}",
        req.path()
    )))
}

/// Query parameters of a list/search request.
#[derive(Debug, Default)]
struct ListParams {
    filter: Option<Filter>,
    sort_by: Option<AttrPath>,
    descending: bool,
    start_index: i64,
    count: i64,
    attributes: Option<String>,
    excluded: Option<String>,
}

/// `attributes` / `excludedAttributes` from the query string (unknown parameters ignored).
fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, ScimError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .map_err(|e| ScimError::invalid_syntax(format!("malformed query string: {e}")))
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn parse_int(name: &str, v: &str) -> Result<i64, ScimError> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| ScimError::invalid_value(format!("'{name}' must be an integer, got '{v}'")))
}

impl ListParams {
    fn build(
        filter: Option<&str>,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
        start_index: Option<i64>,
        count: Option<i64>,
        attributes: Option<String>,
        excluded: Option<String>,
    ) -> Result<ListParams, ScimError> {
        let filter = match filter.map(str::trim).filter(|f| !f.is_empty()) {
            Some(f) => Some(
                parse_filter(f)
                    .map_err(|e| ScimError::invalid_filter(format!("invalid filter: {e}")))?,
            ),
            None => None,
        };
        let sort_by = match sort_by.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => match crate::filter::parse_patch_path(s) {
                Ok(crate::filter::PatchPath::Attr(p)) => Some(p),
                _ => return Err(ScimError::invalid_value(format!("invalid sortBy '{s}'"))),
            },
            None => None,
        };
        let descending = match sort_order.map(str::trim) {
            None | Some("") => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(o) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder must be ascending or descending, got '{o}'"
                )))
            }
        };
        Ok(ListParams {
            filter,
            sort_by,
            descending,
            start_index: start_index.unwrap_or(1).max(1),
            count: count.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_RESULTS),
            attributes,
            excluded,
        })
    }

    fn from_query(pairs: &[(String, String)]) -> Result<ListParams, ScimError> {
        let start = param(pairs, "startIndex")
            .map(|v| parse_int("startIndex", v))
            .transpose()?;
        let count = param(pairs, "count")
            .map(|v| parse_int("count", v))
            .transpose()?;
        ListParams::build(
            param(pairs, "filter"),
            param(pairs, "sortBy"),
            param(pairs, "sortOrder"),
            start,
            count,
            param(pairs, "attributes").map(str::to_string),
            param(pairs, "excludedAttributes").map(str::to_string),
        )
    }

    /// A SearchRequest body (RFC 7644 §3.4.3).
    fn from_search_body(body: &Value) -> Result<ListParams, ScimError> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("a SearchRequest must be a JSON object"))?;
        let get = |name: &str| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let text = |name: &str| -> Result<Option<&str>, ScimError> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "'{name}' must be a string"
                ))),
            }
        };
        let int = |name: &str| -> Result<Option<i64>, ScimError> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
                    ScimError::invalid_value(format!("'{name}' must be an integer"))
                }),
                Some(Value::String(s)) => parse_int(name, s).map(Some),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "'{name}' must be an integer"
                ))),
            }
        };
        let list = |name: &str| -> Result<Option<String>, ScimError> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_string).ok_or_else(|| {
                            ScimError::invalid_value(format!("'{name}' must list strings"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|v| Some(v.join(","))),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "'{name}' must be an array"
                ))),
            }
        };
        ListParams::build(
            text("filter")?,
            text("sortBy")?,
            text("sortOrder")?,
            int("startIndex")?,
            int("count")?,
            list("attributes")?,
            list("excludedAttributes")?,
        )
    }
}

/// The memberships an answer shows: a Group's `members` or a User's `groups`, when the
/// projection returns them.
fn related_for(rt: &ResourceType, projection: &Projection) -> Related {
    if rt.name == "Group" {
        if projection.includes("members", rt) {
            return Related::Members;
        }
    } else if projection.includes("groups", rt) {
        return Related::Groups;
    }
    Related::Nothing
}

/// A resource just written and the memberships its answer shows, read in the same
/// blocking call.
fn with_related(
    store: &Store,
    tenant: &str,
    related: Related,
    row: ResourceRow,
) -> Result<(ResourceRow, RelatedMap), ScimError> {
    let map = store.related(tenant, related, std::slice::from_ref(&row.id))?;
    Ok((row, map))
}

/// The memberships of one resource to show, split into (`members`, `groups`).
fn memberships<'a>(
    wanted: Related,
    related: &'a RelatedMap,
    id: &str,
) -> (Option<&'a [Member]>, Option<&'a [Member]>) {
    let rel =
        (wanted != Related::Nothing).then(|| related.get(id).map(Vec::as_slice).unwrap_or(&[]));
    match wanted {
        Related::Members => (rel, None),
        _ => (None, rel),
    }
}

/// A resource's answer as a document: representation, then projection.
fn render_value(
    ctx: &TenantContext,
    rt: &'static ResourceType,
    projection: &Projection,
    stored: StoredResource,
    related: &RelatedMap,
) -> Value {
    let (members, groups) = memberships(related_for(rt, projection), related, &stored.id);
    let mut doc = to_scim(rt, stored, ctx.base_url(), members, groups);
    projection.apply(&mut doc, rt);
    doc
}

/// A resource's answer as JSON text: straight from the stored text when the default
/// projection applies, else through [`render_value`].
fn render_row(
    ctx: &TenantContext,
    rt: &'static ResourceType,
    projection: &Projection,
    row: &ResourceRow,
    related: &RelatedMap,
) -> Result<String, ScimError> {
    if projection.is_default() {
        let (members, groups) = memberships(related_for(rt, projection), related, &row.id);
        if let Some(text) = to_scim_text(rt, row, ctx.base_url(), members, groups) {
            return Ok(text);
        }
    }
    let stored = row.to_resource()?;
    Ok(render_value(ctx, rt, projection, stored, related).to_string())
}

/// A page of a list: the total and each resource's JSON text.
async fn run_list(
    state: &AppState,
    ctx: &TenantContext,
    rt: &'static ResourceType,
    params: ListParams,
) -> Result<(i64, Vec<String>), ScimError> {
    let projection =
        Projection::parse(params.attributes.as_deref(), params.excluded.as_deref(), rt)?;
    let store = state.store.clone();
    let tenant = ctx.tenant().id.clone();
    let ListParams {
        filter,
        sort_by,
        descending,
        start_index,
        count,
        ..
    } = params;
    let related = related_for(rt, &projection);
    let (page, related) = read(state, move || {
        store.list_resource_rows_related(
            &tenant,
            rt,
            &ListQuery {
                filter: filter.as_ref(),
                sort_by: sort_by.as_ref(),
                descending,
                start_index,
                count,
            },
            related,
        )
    })
    .await?;
    let resources = page
        .resources
        .into_iter()
        .map(|row| render_row(ctx, rt, &projection, &row, &related))
        .collect::<Result<_, _>>()?;
    Ok((page.total, resources))
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    tenant: String,
    rt: &'static ResourceType,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(&state, &req, &tenant).await?;
    let params = ListParams::from_query(&query_pairs(&req)?)?;
    let start = params.start_index;
    let (total, resources) = run_list(&state, &ctx, rt, params).await?;
    Ok(scim_text(
        StatusCode::OK,
        list_response_text(total, start, &resources),
    ))
}

async fn search(
    state: web::Data<AppState>,
    req: HttpRequest,
    tenant: String,
    payload: web::Payload,
    rt: &'static ResourceType,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(&state, &req, &tenant).await?;
    let body = read_json(&req, payload, state.settings.max_body_bytes).await?;
    let params = ListParams::from_search_body(&body)?;
    let start = params.start_index;
    let (total, resources) = run_list(&state, &ctx, rt, params).await?;
    Ok(scim_text(
        StatusCode::OK,
        list_response_text(total, start, &resources),
    ))
}

/// `POST /.search` at the root: Users, then Groups, paged as one list.
async fn search_root(
    state: web::Data<AppState>,
    req: HttpRequest,
    tenant: String,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(&state, &req, &tenant).await?;
    let body = read_json(&req, payload, state.settings.max_body_bytes).await?;
    let params = ListParams::from_search_body(&body)?;
    let start = params.start_index;
    let count = params.count;
    // Users first, then groups, paged as one list. A filter naming an attribute that only
    // one of the two types has matches nothing of the other type (it is an error only when
    // neither type knows it).
    let user_params = ListParams::from_search_body(&body)?;
    let users_result = run_list(&state, &ctx, users(), user_params).await;
    let users_known = users_result.is_ok();
    let (user_total, users_page) = match users_result {
        Err(e) if unknown_attribute(&e) => (0, Vec::new()),
        other => other?,
    };
    let group_start = (start - user_total).max(1);
    let group_count = (count - users_page.len() as i64).max(0);
    let mut group_params = params;
    group_params.start_index = group_start;
    group_params.count = group_count;
    let groups_result = run_list(&state, &ctx, groups(), group_params).await;
    let (group_total, groups_page) = match groups_result {
        Err(e) if unknown_attribute(&e) && users_known => (0, Vec::new()),
        other => other?,
    };
    let mut all = users_page;
    all.extend(groups_page);
    Ok(scim_text(
        StatusCode::OK,
        list_response_text(user_total + group_total, start, &all),
    ))
}

/// The filter named an attribute the resource type does not have.
fn unknown_attribute(e: &ScimError) -> bool {
    e.scim_type == Some(crate::error::ScimType::InvalidFilter)
        && e.detail.contains("unknown attribute")
}

/// `attributes` / `excludedAttributes` of a single-resource request.
fn projection_of(req: &HttpRequest, rt: &ResourceType) -> Result<Projection, ScimError> {
    projection_from(&query_pairs(req)?, rt)
}

/// `attributes` / `excludedAttributes` of already parsed query parameters.
fn projection_from(pairs: &[(String, String)], rt: &ResourceType) -> Result<Projection, ScimError> {
    Projection::parse(
        param(pairs, "attributes"),
        param(pairs, "excludedAttributes"),
        rt,
    )
}

/// The answer about one resource: its representation, `ETag`, and `Location` for a 201.
/// The row is borrowed: a GET answered from the resource cache renders the cache's own.
fn respond_one(
    ctx: &TenantContext,
    rt: &'static ResourceType,
    projection: &Projection,
    (row, related): (impl Borrow<ResourceRow>, RelatedMap),
    status: StatusCode,
) -> Result<HttpResponse, ScimError> {
    let row = row.borrow();
    let etag = row.etag();
    let location =
        (status == StatusCode::CREATED).then(|| location(ctx.base_url(), rt, &row.id).concat());
    let mut resp = scim_text(status, render_row(ctx, rt, projection, row, &related)?);
    set_etag(&mut resp, &etag);
    if let Some(v) = location.and_then(|l| header::HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Sets the `ETag` header of an answer about one resource.
fn set_etag(resp: &mut HttpResponse, etag: &str) {
    if let Ok(v) = header::HeaderValue::from_str(etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
}

/// A 204 answer to a write, with the resource's entity tag after it.
fn no_content_with_etag(etag: &str) -> HttpResponse {
    let mut resp = HttpResponse::NoContent().finish();
    set_etag(&mut resp, etag);
    resp
}

/// A SCIM answer whose body is already JSON text.
fn scim_text(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, SCIM_CONTENT_TYPE))
        .body(body)
}

async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    tenant: String,
    id: String,
    rt: &'static ResourceType,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(&state, &req, &tenant).await?;
    let projection = projection_of(&req, rt)?;
    let store = state.store.clone();
    let tenant_id = ctx.tenant().id.clone();
    let related = related_for(rt, &projection);
    let (row, related) = read(&state, move || {
        store.get_resource_row_related(&tenant_id, rt, &id, related)
    })
    .await?
    .ok_or_else(|| ScimError::not_found(format!("{} not found", rt.name)))?;
    if let Some(tags) = header_str(&req, header::IF_NONE_MATCH) {
        if crate::store::resources::if_match_allows(tags, row.version) {
            let mut resp = HttpResponse::NotModified().finish();
            set_etag(&mut resp, &row.etag());
            return Ok(resp);
        }
    }
    respond_one(&ctx, rt, &projection, (row, related), StatusCode::OK)
}

/// Logs a SCIM write that failed (successful writes log in their own transaction).
async fn log_failure(
    state: &AppState,
    req: &HttpRequest,
    ctx: &TenantContext,
    rt: &'static ResourceType,
    id: Option<&str>,
    result: &Result<HttpResponse, ScimError>,
) {
    let Err(e) = result else { return };
    let entry = ProvisioningEntry::new(
        req.method().as_str(),
        Some(rt.name),
        id,
        None,
        Some(ctx.token_name()),
        e.status,
        Some(e.public_detail()),
        state.now(),
    );
    let store = state.store.clone();
    let tenant = ctx.tenant().id.clone();
    if let Err(err) = blocking(move || store.log_provisioning(&tenant, &entry)).await {
        tracing::warn!(error = %err, "provisioning log write failed");
    }
}

fn write_log(req: &HttpRequest, ctx: &TenantContext, status: StatusCode) -> WriteLog {
    WriteLog {
        method: req.method().to_string(),
        token_name: ctx.token_name().to_string(),
        status: status.as_u16(),
    }
}

/// An update's or delete's `If-Match`, time and provisioning-log entry (answered `status`).
fn write_options(
    state: &AppState,
    req: &HttpRequest,
    ctx: &TenantContext,
    status: StatusCode,
) -> WriteOptions {
    WriteOptions {
        if_match: header_str(req, header::IF_MATCH).map(str::to_string),
        now: state.now(),
        log: Some(write_log(req, ctx, status)),
    }
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    tenant: String,
    payload: web::Payload,
    rt: &'static ResourceType,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(&state, &req, &tenant).await?;
    let result = create_resource(&state, &req, &ctx, payload, rt).await;
    log_failure(&state, &req, &ctx, rt, None, &result).await;
    result
}

async fn create_resource(
    state: &AppState,
    req: &HttpRequest,
    ctx: &TenantContext,
    payload: web::Payload,
    rt: &'static ResourceType,
) -> Result<HttpResponse, ScimError> {
    let projection = projection_of(req, rt)?;
    let related = related_for(rt, &projection);
    let body = read_json(req, payload, state.settings.max_body_bytes).await?;
    let normalized = normalize(body, rt)?;
    let store = state.store.clone();
    let tenant_id = ctx.tenant().id.clone();
    let now = state.now();
    let log = write_log(req, ctx, StatusCode::CREATED);
    let members = normalized.members.unwrap_or_default();
    if state.store.has_write_queue() {
        // SQLite: the configuration lookup is a local read, done here, and the write goes to
        // the writer thread.
        let doc = with_user_configuration(&store, &tenant_id, rt, normalized.doc)?;
        let (work, row) = store.create_work(&tenant_id, rt, doc, members, now, Some(&log))?;
        write(state, work).await?;
        let loaded = with_related(&store, &tenant_id, related_of_created(rt, related), row)?;
        return respond_one(ctx, rt, &projection, loaded, StatusCode::CREATED);
    }
    let loaded = blocking(move || {
        let doc = with_user_configuration(&store, &tenant_id, rt, normalized.doc)?;
        let row = store.create_resource(&tenant_id, rt, doc, &members, now, Some(&log))?;
        with_related(&store, &tenant_id, related_of_created(rt, related), row)
    })
    .await?;
    respond_one(ctx, rt, &projection, loaded, StatusCode::CREATED)
}

/// A new user's document with its default user configuration applied (the matching one,
/// else the tenant's default one) and the configuration selector stripped; other resources
/// as they are.
fn with_user_configuration(
    store: &Store,
    tenant_id: &str,
    rt: &ResourceType,
    mut doc: Value,
) -> Result<Value, ScimError> {
    if rt.name == "User" {
        let filter = configuration::configuration_filter(&doc).map(str::to_owned);
        configuration::strip(&mut doc);
        if let Some(applied) = store.configuration_for_user(tenant_id, filter.as_deref())? {
            configuration::apply(&mut doc, &applied);
        }
    }
    Ok(doc)
}

/// What a created resource's answer reads besides it: a user just created is in no group,
/// so only a new group's members are read.
fn related_of_created(rt: &ResourceType, related: Related) -> Related {
    if rt.name == "User" {
        Related::Nothing
    } else {
        related
    }
}

async fn replace(
    state: web::Data<AppState>,
    req: HttpRequest,
    tenant: String,
    id: String,
    payload: web::Payload,
    rt: &'static ResourceType,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(&state, &req, &tenant).await?;
    let result = replace_resource(&state, &req, &ctx, &id, payload, rt).await;
    log_failure(&state, &req, &ctx, rt, Some(&id), &result).await;
    result
}

async fn replace_resource(
    state: &AppState,
    req: &HttpRequest,
    ctx: &TenantContext,
    id: &str,
    payload: web::Payload,
    rt: &'static ResourceType,
) -> Result<HttpResponse, ScimError> {
    let projection = projection_of(req, rt)?;
    let related = related_for(rt, &projection);
    let body = read_json(req, payload, state.settings.max_body_bytes).await?;
    let normalized = normalize(body, rt)?;
    let update = UpdateRequest {
        tenant_id: ctx.tenant().id.clone(),
        id: id.to_string(),
        opts: write_options(state, req, ctx, StatusCode::OK),
        related,
    };
    let loaded = update_resource(state, rt, update, move |current| {
        crate::resource::check_immutable(&current.doc, &normalized.doc, rt)?;
        let mut doc = normalized.doc.clone();
        configuration::carry_over(&current.doc, &mut doc);
        let members = if rt.name == "Group" {
            vec![MemberChange::ReplaceAll(
                normalized.members.clone().unwrap_or_default(),
            )]
        } else {
            Vec::new()
        };
        Ok(Update {
            doc: Some(doc),
            members,
        })
    })
    .await?;
    respond_one(ctx, rt, &projection, loaded, StatusCode::OK)
}

/// A PUT's or PATCH's write: the resource, the version it must be at, the provisioning-log
/// entry and what its answer reads besides it.
struct UpdateRequest {
    tenant_id: String,
    id: String,
    opts: WriteOptions,
    related: Related,
}

/// Runs an update ([`Store::update_work`]) and reads what its answer shows. SQLite: the
/// early read and planning, and the related read after, are local reads done here; the
/// write goes to the writer thread. PostgreSQL: all of it in one blocking call.
async fn update_resource(
    state: &AppState,
    rt: &'static ResourceType,
    update: UpdateRequest,
    change: impl Fn(&StoredResource) -> Result<Update, ScimError> + Send + 'static,
) -> Result<(ResourceRow, RelatedMap), ScimError> {
    let UpdateRequest {
        tenant_id,
        id,
        opts,
        related,
    } = update;
    let store = state.store.clone();
    if store.has_write_queue() {
        let work = store.update_work(tenant_id, rt, id, opts, related, change)?;
        return write(state, work).await;
    }
    blocking(move || {
        let work = store.update_work(tenant_id, rt, id, opts, related, change)?;
        store.write(work)
    })
    .await
}

async fn patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    tenant: String,
    id: String,
    payload: web::Payload,
    rt: &'static ResourceType,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(&state, &req, &tenant).await?;
    let result = patch_resource(&state, &req, &ctx, &id, payload, rt).await;
    log_failure(&state, &req, &ctx, rt, Some(&id), &result).await;
    result
}

async fn patch_resource(
    state: &AppState,
    req: &HttpRequest,
    ctx: &TenantContext,
    id: &str,
    payload: web::Payload,
    rt: &'static ResourceType,
) -> Result<HttpResponse, ScimError> {
    let body = read_json(req, payload, state.settings.max_body_bytes).await?;
    let ops = parse_patch_request(&body)?;
    let pairs = query_pairs(req)?;
    let wants_body =
        param(&pairs, "attributes").is_some() || param(&pairs, "excludedAttributes").is_some();
    let projection = projection_from(&pairs, rt)?;
    // Entra: a group PATCH answers 204 so that a large group is never serialised.
    let no_content = rt.name == "Group" && !wants_body;
    let status = if no_content {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::OK
    };
    let tenant_id = ctx.tenant().id.clone();
    let opts = write_options(state, req, ctx, status);
    let id = id.to_string();
    if no_content {
        if let Some(changes) = member_changes_only(&ops, rt) {
            // Entra's member add/remove: no document to read, patch or rewrite.
            let work = state.store.members_update(tenant_id, rt, id, changes, opts);
            let etag = write(state, work).await?;
            return Ok(no_content_with_etag(&etag));
        }
    }
    let related = if no_content {
        Related::Nothing
    } else {
        related_for(rt, &projection)
    };
    let update = UpdateRequest {
        tenant_id,
        id,
        opts,
        related,
    };
    let (row, related) = update_resource(state, rt, update, move |current| {
        let mut outcome = apply_patch(&current.doc, &ops, rt)?;
        configuration::carry_over(&current.doc, &mut outcome.doc);
        Ok(Update {
            doc: Some(outcome.doc),
            members: outcome.member_changes,
        })
    })
    .await?;
    if no_content {
        return Ok(no_content_with_etag(&row.etag()));
    }
    respond_one(ctx, rt, &projection, (row, related), StatusCode::OK)
}

async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    tenant: String,
    id: String,
    rt: &'static ResourceType,
) -> Result<HttpResponse, ScimError> {
    let ctx = authenticate(&state, &req, &tenant).await?;
    let opts = write_options(&state, &req, &ctx, StatusCode::NO_CONTENT);
    let work = state
        .store
        .resource_delete(ctx.tenant().id.clone(), rt, id.clone(), opts);
    let result = write(&state, work)
        .await
        .map(|()| HttpResponse::NoContent().finish());
    log_failure(&state, &req, &ctx, rt, Some(&id), &result).await;
    result
}
