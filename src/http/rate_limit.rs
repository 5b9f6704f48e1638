//! Per-tenant admission control: a token bucket (rate and burst) and a cap on concurrent
//! requests. Per tenant, not per IP: Entra calls from shared Microsoft address ranges.
//! Rejections are 429 with `Retry-After`, never a 5xx. State is in memory per process and
//! safe to lose (a restart only refills the buckets).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Limits for every tenant.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Sustained requests per second.
    pub rate: f64,
    /// Bucket size: requests allowed at once after idling.
    pub burst: f64,
    /// Requests of one tenant in flight at once.
    pub max_concurrent: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Well above Entra's 25 requests/s per tenant and its ~5 parallel requests.
        Limits {
            rate: 1000.0,
            burst: 2000.0,
            max_concurrent: 64,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    in_flight: usize,
}

/// Why a request was refused, and when to retry (seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refusal {
    RateExceeded { retry_after: u64 },
    TooManyConcurrent,
}

impl Refusal {
    pub fn retry_after(self) -> u64 {
        match self {
            Refusal::RateExceeded { retry_after } => retry_after,
            Refusal::TooManyConcurrent => 1,
        }
    }
}

#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Held while a request runs; releases its concurrency slot on drop.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<RateLimiter>,
    tenant: String,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut map = self.limiter.lock();
        if let Some(b) = map.get_mut(&self.tenant) {
            b.in_flight = b.in_flight.saturating_sub(1);
        }
    }
}

impl RateLimiter {
    pub fn new(limits: Limits) -> Arc<RateLimiter> {
        Arc::new(RateLimiter {
            limits,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        crate::sync::lock(&self.buckets)
    }

    /// Admits one request of `tenant` at `now`, or says why not.
    pub fn admit(self: &Arc<Self>, tenant: &str, now: Instant) -> Result<Permit, Refusal> {
        let limits = self.limits;
        let mut map = self.lock();
        let bucket = map.entry(tenant.to_string()).or_insert(Bucket {
            tokens: limits.burst,
            updated: now,
            in_flight: 0,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limits.rate).min(limits.burst);
        bucket.updated = now;
        if bucket.in_flight >= limits.max_concurrent {
            return Err(Refusal::TooManyConcurrent);
        }
        if bucket.tokens < 1.0 {
            let missing = 1.0 - bucket.tokens;
            let secs = (missing / limits.rate.max(f64::MIN_POSITIVE))
                .ceil()
                .max(1.0);
            return Err(Refusal::RateExceeded {
                retry_after: secs as u64,
            });
        }
        bucket.tokens -= 1.0;
        bucket.in_flight += 1;
        Ok(Permit {
            limiter: Arc::clone(self),
            tenant: tenant.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn burst_then_refill() {
        let rl = RateLimiter::new(Limits {
            rate: 10.0,
            burst: 3.0,
            max_concurrent: 100,
        });
        let t0 = Instant::now();
        let permits: Vec<_> = (0..3).map(|_| rl.admit("a", t0).unwrap()).collect();
        assert_eq!(
            rl.admit("a", t0).unwrap_err(),
            Refusal::RateExceeded { retry_after: 1 }
        );
        // Another tenant has its own bucket.
        assert!(rl.admit("b", t0).is_ok());
        // 100 ms refills one token at 10/s.
        assert!(rl.admit("a", t0 + Duration::from_millis(100)).is_ok());
        drop(permits);
    }

    #[test]
    fn concurrency_cap_releases_on_drop() {
        let rl = RateLimiter::new(Limits {
            rate: 1000.0,
            burst: 1000.0,
            max_concurrent: 2,
        });
        let t0 = Instant::now();
        let a = rl.admit("t", t0).unwrap();
        let _b = rl.admit("t", t0).unwrap();
        assert_eq!(rl.admit("t", t0).unwrap_err(), Refusal::TooManyConcurrent);
        drop(a);
        assert!(rl.admit("t", t0).is_ok());
    }
}
