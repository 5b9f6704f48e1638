//! Server settings: every one is an environment variable and a `--flag`.

use clap::Args;

/// `scimd serve` settings.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "SCIMD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// External base URL used in SCIM links and `meta.location` (default `http://<listen>`).
    #[arg(long, env = "SCIMD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Maximum request body size in bytes (larger bodies get 413).
    #[arg(long, env = "SCIMD_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Database connections in the pool.
    #[arg(long, env = "SCIMD_DB_POOL_SIZE", default_value_t = 16)]
    pub pool_size: u32,
    /// Sustained SCIM requests per second per tenant (token bucket rate).
    #[arg(long, env = "SCIMD_RATE_LIMIT", default_value_t = 1000.0)]
    pub rate_limit: f64,
    /// Token bucket size per tenant (requests allowed at once after idling).
    #[arg(long, env = "SCIMD_RATE_BURST", default_value_t = 2000.0)]
    pub rate_burst: f64,
    /// SCIM requests of one tenant in flight at once.
    #[arg(long, env = "SCIMD_MAX_CONCURRENT_PER_TENANT", default_value_t = 64)]
    pub max_concurrent_per_tenant: usize,
    /// Days the provisioning and audit logs are kept.
    #[arg(long, env = "SCIMD_LOG_RETENTION_DAYS", default_value_t = 30)]
    pub log_retention_days: i64,
    /// HTTP worker threads (default: two per core).
    #[arg(long, env = "SCIMD_WORKERS")]
    pub workers: Option<usize>,
    /// Memory for the users and groups read lately, in MiB (SQLite on a file the server
    /// keeps to itself); 0 turns the cache off.
    #[arg(long, env = "SCIMD_RESOURCE_CACHE_MIB", default_value_t = 32)]
    pub resource_cache_mib: usize,
}

impl ServeConfig {
    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }
}

/// Settings the HTTP layer needs at run time.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub public_url: String,
    /// This process's own listener (`http://127.0.0.1:8080`), for the console's probe.
    pub self_url: String,
    pub max_body_bytes: usize,
    /// Per-tenant admission limits.
    pub limits: crate::http::rate_limit::Limits,
}

impl ServeConfig {
    /// The HTTP settings these options describe.
    pub fn http_settings(&self) -> HttpSettings {
        HttpSettings {
            public_url: self.public_url(),
            self_url: format!("http://{}", self.listen),
            max_body_bytes: self.max_body_bytes,
            limits: crate::http::rate_limit::Limits {
                rate: self.rate_limit,
                burst: self.rate_burst,
                max_concurrent: self.max_concurrent_per_tenant,
            },
        }
    }
}

impl HttpSettings {
    /// The SCIM base URL ("SCIM link", "Tenant URL") of a tenant.
    pub fn scim_url(&self, tenant_id: &str) -> String {
        format!("{}/scim/v2/{tenant_id}", self.public_url)
    }
}
