//! Bearer-token authentication of SCIM requests: token → tenant.
//!
//! A missing, malformed, unknown, revoked or expired token, and a token of another
//! tenant, all get the same 401, so nothing reveals whether a tenant exists.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::HttpRequest;

use super::rate_limit::Permit;
use super::{blocking, header_str, AppState};
use crate::error::ScimError;
use crate::store::tenants::{Tenant, TokenRecord};
use crate::token;

/// How often a token's last-used time is written at most.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// An authenticated SCIM request's tenant.
#[derive(Debug, Clone)]
pub struct TenantContext {
    pub tenant: Tenant,
    pub token_id: String,
    pub token_name: String,
    /// The tenant's SCIM base URL.
    pub base_url: String,
    /// The tenant's admission slot, released when the request is done.
    pub permit: Arc<Permit>,
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = header_str(req, header::AUTHORIZATION)?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates the request for `tenant_id` and admits it under the tenant's limits.
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    tenant_id: &str,
) -> Result<TenantContext, ScimError> {
    let result = authenticate_inner(state, req, tenant_id).await;
    if let Err(e) = &result {
        if e.status == 401 {
            state.metrics.record_auth_failure();
        }
    }
    result
}

async fn authenticate_inner(
    state: &AppState,
    req: &HttpRequest,
    tenant_id: &str,
) -> Result<TenantContext, ScimError> {
    let presented = bearer(req).ok_or_else(ScimError::unauthorized)?;
    let parsed = token::parse(presented).ok_or_else(ScimError::unauthorized)?;
    let token_id = parsed.id.to_string();
    let secret = parsed.secret.to_string();
    let tenant_id = tenant_id.to_string();
    let now = state.now();
    let (record, tenant) = match state.auth_cache.get(&token_id, Instant::now()) {
        Some(hit) => hit,
        None => {
            let store = state.store.clone();
            let id = token_id.clone();
            let found = blocking(move || {
                let Some(record) = store.find_token(&id)? else {
                    return Ok(None);
                };
                let tenant = store.get_tenant(&record.tenant_id)?;
                Ok(tenant.map(|t| (record, t)))
            })
            .await?
            .ok_or_else(ScimError::unauthorized)?;
            state
                .auth_cache
                .put(&token_id, found.clone(), Instant::now());
            found
        }
    };
    // Checked on every request, cached or not: the secret (constant time), the tenant of
    // the URL, expiry and revocation.
    if record.tenant_id != tenant_id
        || !record.usable(now)
        || !token::verify(&secret, &record.secret_sha256)
    {
        return Err(ScimError::unauthorized());
    }
    if tenant.provisioning_enabled == 0 {
        return Err(ScimError::forbidden(
            "Provisioning is turned off for this tenant in the scimd console",
        ));
    }
    let permit = state
        .rate_limiter
        .admit(&tenant.id, Instant::now())
        .map_err(|refusal| {
            state.metrics.record_rate_limited(&tenant.id);
            ScimError::too_many_requests(
                "Too many requests for this tenant: retry later",
                refusal.retry_after(),
            )
        })?;
    touch(state, &record.id, now).await;
    Ok(TenantContext {
        base_url: state.settings.scim_url(&tenant.id),
        tenant,
        token_id: record.id,
        token_name: record.name,
        permit: Arc::new(permit),
    })
}

/// Records the token's use, at most once per interval per process.
async fn touch(state: &AppState, token_id: &str, now: chrono::DateTime<chrono::Utc>) {
    let due = {
        let mut map = crate::sync::lock(&state.token_touches);
        let due = map
            .get(token_id)
            .is_none_or(|t| t.elapsed() >= TOUCH_INTERVAL);
        if due {
            map.insert(token_id.to_string(), Instant::now());
        }
        due
    };
    if due {
        let store = state.store.clone();
        let id = token_id.to_string();
        if let Err(e) = blocking(move || store.touch_token(&id, now)).await {
            tracing::warn!(error = %e, "could not record token use");
        }
    }
}

/// Verified token rows and their tenants, kept at most [`AUTH_CACHE_TTL`]: a revocation, an
/// expiry or a provisioning switch made through any replica is seen within that time.
/// Holds digests only, never a secret.
#[derive(Debug, Default)]
pub struct AuthCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (Instant, TokenRecord, Tenant)>>,
}

/// How long a token lookup is reused (DESIGN.md: revocation within one second).
pub const AUTH_CACHE_TTL: Duration = Duration::from_millis(900);
const AUTH_CACHE_MAX: usize = 10_000;

impl AuthCache {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (Instant, TokenRecord, Tenant)>>
    {
        crate::sync::lock(&self.entries)
    }

    pub fn get(&self, token_id: &str, now: Instant) -> Option<(TokenRecord, Tenant)> {
        let map = self.lock();
        let (at, record, tenant) = map.get(token_id)?;
        (now.saturating_duration_since(*at) < AUTH_CACHE_TTL)
            .then(|| (record.clone(), tenant.clone()))
    }

    pub fn put(&self, token_id: &str, value: (TokenRecord, Tenant), now: Instant) {
        let mut map = self.lock();
        if map.len() >= AUTH_CACHE_MAX {
            map.retain(|_, (at, _, _)| now.saturating_duration_since(*at) < AUTH_CACHE_TTL);
        }
        map.insert(token_id.to_string(), (now, value.0, value.1));
    }

    /// Forgets everything (the console calls it after a change made in this process, so
    /// that its own effects show at once).
    pub fn clear(&self) {
        self.lock().clear();
    }
}
