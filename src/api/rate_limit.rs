//! Per-tenant token buckets (DESIGN §5), in memory for one instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::{RateLimit, Tenant};

pub struct TenantLimiter {
    limits: HashMap<String, RateLimit>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

impl TenantLimiter {
    pub fn new(tenants: &[Tenant]) -> Self {
        let limits = tenants.iter().filter_map(|t| t.rate_limit.map(|limit| (t.name.clone(), limit))).collect();
        Self { limits, buckets: Mutex::new(HashMap::new()) }
    }

    /// Take one token for `tenant`, or say in how many seconds one will be available.
    pub fn check(&self, tenant: &str) -> Result<(), u64> {
        let Some(limit) = self.limits.get(tenant) else {
            return Ok(());
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let burst = f64::from(limit.burst);
        let bucket = buckets.entry(tenant.to_owned()).or_insert(Bucket { tokens: burst, refilled_at: now });
        let elapsed = now.duration_since(bucket.refilled_at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * limit.requests_per_second).min(burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / limit.requests_per_second;
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a small positive number of seconds")]
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}
