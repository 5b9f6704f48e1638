//! Prometheus metrics, rendered in the text exposition format at `/metrics`: requests by
//! route, status and tenant, latency histograms by route, token authentication failures,
//! rate-limit rejections, database pool usage, and the resource cache's reads (SQLite).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use crate::store::resource_cache::CacheStats;

/// Latency buckets in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// One route's figures for one method.
#[derive(Debug, Default)]
struct RouteStats {
    latency: Histogram,
    /// Requests by status, then tenant.
    requests: BTreeMap<u16, BTreeMap<String, u64>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// By route, then method. Nested maps keyed by `String` are looked up with the `&str`
    /// at hand: a request that was seen before allocates nothing here.
    routes: BTreeMap<String, BTreeMap<String, RouteStats>>,
    auth_failures: u64,
    rate_limited: BTreeMap<String, u64>,
}

/// `map[key]`, inserted as the default first if missing; `key` is copied only then.
fn slot<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

/// Process-wide counters (each replica exports its own; Prometheus sums them).
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// The `# HELP` and `# TYPE` lines of a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        crate::sync::lock(&self.inner)
    }

    /// Records one finished request. `route` is the matched pattern (never the raw path,
    /// which would carry ids).
    pub fn record_request(
        &self,
        method: &str,
        route: &str,
        status: u16,
        tenant: &str,
        seconds: f64,
    ) {
        let mut inner = self.lock();
        let stats = slot(slot(&mut inner.routes, route), method);
        *slot(stats.requests.entry(status).or_default(), tenant) += 1;
        let h = &mut stats.latency;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    pub fn record_auth_failure(&self) {
        self.lock().auth_failures += 1;
    }

    pub fn record_rate_limited(&self, tenant: &str) {
        *self
            .lock()
            .rate_limited
            .entry(tenant.to_string())
            .or_default() += 1;
    }

    /// The text exposition; `pool` is (connections, idle connections, max size), `cache`
    /// the resource cache's figures when there is one.
    pub fn render(&self, pool: (u32, u32, u32), cache: Option<CacheStats>) -> String {
        let inner = self.lock();
        let mut out = String::new();
        family(
            &mut out,
            "scimd_http_requests_total",
            "counter",
            "HTTP requests by route, status and tenant.",
        );
        let by_method = || {
            inner.routes.iter().flat_map(|(route, methods)| {
                methods
                    .iter()
                    .map(move |(method, stats)| (method, route, stats))
            })
        };
        for (method, route, stats) in by_method() {
            for (status, tenants) in &stats.requests {
                for (tenant, n) in tenants {
                    let _ = writeln!(
                        out,
                        "scimd_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\",tenant=\"{}\"}} {n}",
                        escape(method),
                        escape(route),
                        escape(tenant)
                    );
                }
            }
        }
        family(
            &mut out,
            "scimd_http_request_duration_seconds",
            "histogram",
            "Request latency by route.",
        );
        for (method, route, stats) in by_method() {
            let h = &stats.latency;
            let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "scimd_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "scimd_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "scimd_http_request_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "scimd_http_request_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        family(
            &mut out,
            "scimd_token_auth_failures_total",
            "counter",
            "SCIM requests refused with 401.",
        );
        let _ = writeln!(
            out,
            "scimd_token_auth_failures_total {}",
            inner.auth_failures
        );
        family(
            &mut out,
            "scimd_rate_limited_total",
            "counter",
            "SCIM requests refused with 429, by tenant.",
        );
        for (tenant, n) in &inner.rate_limited {
            let _ = writeln!(
                out,
                "scimd_rate_limited_total{{tenant=\"{}\"}} {n}",
                escape(tenant)
            );
        }
        let (connections, idle, max) = pool;
        family(
            &mut out,
            "scimd_db_pool_connections",
            "gauge",
            "Database pool connections.",
        );
        let _ = writeln!(
            out,
            "scimd_db_pool_connections{{state=\"open\"}} {connections}"
        );
        let _ = writeln!(out, "scimd_db_pool_connections{{state=\"idle\"}} {idle}");
        let _ = writeln!(out, "scimd_db_pool_connections{{state=\"max\"}} {max}");
        if let Some(c) = cache {
            family(
                &mut out,
                "scimd_resource_cache_reads_total",
                "counter",
                "Resource reads by whether the cache answered (SQLite).",
            );
            let _ = writeln!(
                out,
                "scimd_resource_cache_reads_total{{outcome=\"hit\"}} {}",
                c.hits
            );
            let _ = writeln!(
                out,
                "scimd_resource_cache_reads_total{{outcome=\"miss\"}} {}",
                c.misses
            );
            family(
                &mut out,
                "scimd_resource_cache_entries",
                "gauge",
                "Resources kept in the cache.",
            );
            let _ = writeln!(out, "scimd_resource_cache_entries {}", c.entries);
            family(
                &mut out,
                "scimd_resource_cache_bytes",
                "gauge",
                "Bytes the cache counts against its budget.",
            );
            let _ = writeln!(out, "scimd_resource_cache_bytes {}", c.bytes);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.record_request("GET", "/scim/v2/{tenant}/Users", 200, "t1", 0.003);
        m.record_request("GET", "/scim/v2/{tenant}/Users", 200, "t1", 0.2);
        m.record_request("GET", "/scim/v2/{tenant}/Users", 200, "t2", 0.004);
        m.record_request("POST", "/scim/v2/{tenant}/Users", 409, "t1", 0.002);
        m.record_auth_failure();
        m.record_rate_limited("t1");
        assert!(!m.render((3, 1, 16), None).contains("scimd_resource_cache"));
        let cache = CacheStats {
            hits: 7,
            misses: 2,
            entries: 2,
            bytes: 4096,
        };
        let text = m.render((3, 1, 16), Some(cache));
        assert!(text.contains("scimd_resource_cache_reads_total{outcome=\"hit\"} 7"));
        assert!(text.contains("scimd_resource_cache_reads_total{outcome=\"miss\"} 2"));
        assert!(text.contains("scimd_resource_cache_bytes 4096"));
        assert!(text.contains(
            "scimd_http_requests_total{method=\"GET\",route=\"/scim/v2/{tenant}/Users\",status=\"200\",tenant=\"t1\"} 2"
        ));
        assert!(text.contains(
            "scimd_http_requests_total{method=\"GET\",route=\"/scim/v2/{tenant}/Users\",status=\"200\",tenant=\"t2\"} 1"
        ));
        assert!(text.contains(
            "scimd_http_requests_total{method=\"POST\",route=\"/scim/v2/{tenant}/Users\",status=\"409\",tenant=\"t1\"} 1"
        ));
        let get = "method=\"GET\",route=\"/scim/v2/{tenant}/Users\"";
        assert!(text.contains(&format!("_bucket{{{get},le=\"0.005\"}} 2")));
        assert!(text.contains(&format!("_bucket{{{get},le=\"0.25\"}} 3")));
        assert!(text.contains(&format!("_count{{{get}}} 3")));
        assert!(text.contains(
            "scimd_http_request_duration_seconds_count{method=\"POST\",route=\"/scim/v2/{tenant}/Users\"} 1"
        ));
        assert!(text.contains("scimd_token_auth_failures_total 1"));
        assert!(text.contains("scimd_rate_limited_total{tenant=\"t1\"} 1"));
        assert!(text.contains("scimd_db_pool_connections{state=\"max\"} 16"));
    }
}
