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
use crate::ttl_cache::{TtlCache, WITHIN_A_SECOND};

/// How often a token's last-used time is written at most.
const TOUCH_INTERVAL: Duration = Duration::from_secs(60);

/// A token row verified against the store, its tenant and the tenant's SCIM base URL: what
/// [`AuthCache`] shares between the requests presenting that token.
#[derive(Debug)]
pub struct Credential {
    pub token: TokenRecord,
    pub tenant: Tenant,
    pub base_url: String,
}

/// An authenticated SCIM request's tenant.
#[derive(Debug, Clone)]
pub struct TenantContext {
    credential: Arc<Credential>,
    /// The tenant's admission slot, released when the request is done.
    pub permit: Arc<Permit>,
}

impl TenantContext {
    pub fn tenant(&self) -> &Tenant {
        &self.credential.tenant
    }

    pub fn token_name(&self) -> &str {
        &self.credential.token.name
    }

    /// The tenant's SCIM base URL.
    pub fn base_url(&self) -> &str {
        &self.credential.base_url
    }
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
    let now = state.now();
    let credential = match state.auth_cache.get(parsed.id, Instant::now()) {
        Ok(hit) => hit,
        Err(generation) => {
            let store = state.store.clone();
            let id = parsed.id.to_string();
            let settings = state.settings.clone();
            let found = blocking(move || {
                let Some(token) = store.find_token(&id)? else {
                    return Ok(None);
                };
                let tenant = store.get_tenant(&token.tenant_id)?;
                Ok(tenant.map(|tenant| Credential {
                    base_url: settings.scim_url(&tenant.id),
                    token,
                    tenant,
                }))
            })
            .await?
            .ok_or_else(ScimError::unauthorized)?;
            let found = Arc::new(found);
            state.auth_cache.put(
                parsed.id.to_string(),
                generation,
                found.clone(),
                Instant::now(),
            );
            found
        }
    };
    let (record, tenant) = (&credential.token, &credential.tenant);
    // Checked on every request, cached or not: the secret (constant time), the tenant of
    // the URL, expiry and revocation.
    if record.tenant_id != tenant_id
        || !record.usable(now)
        || !token::verify(parsed.secret, &record.secret_sha256)
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
        credential,
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

/// Verified token rows and their tenants, kept at most [`WITHIN_A_SECOND`]: a revocation,
/// an expiry or a provisioning switch made through any replica is seen within that time.
/// Holds digests only, never a secret. The console clears it after a change made in this
/// process, so that its own effects show at once.
pub type AuthCache = TtlCache<String, Arc<Credential>>;

/// An empty [`AuthCache`].
pub fn auth_cache() -> AuthCache {
    TtlCache::new(WITHIN_A_SECOND, 10_000)
}
