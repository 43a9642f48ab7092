//! Per-tenant token buckets (DESIGN §5): in memory for one instance, or in Redis (one atomic
//! script per request, on the server's clock) when the idempotency store is Redis, so every
//! instance draws from the same bucket.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use redis::aio::ConnectionManager;

use crate::config::{RateLimit, Tenant};

pub struct TenantLimiter {
    limits: HashMap<String, RateLimit>,
    backend: Backend,
}

enum Backend {
    Memory(Mutex<HashMap<String, Bucket>>),
    Redis(ConnectionManager, redis::Script),
}

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// KEYS[1] bucket; ARGV rate per second, burst. Returns 0 when a token was taken, else the
/// milliseconds until one will be available.
const TOKEN_BUCKET: &str = r"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) / 1000 * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
";

impl TenantLimiter {
    pub fn new(tenants: &[Tenant], shared: Option<ConnectionManager>) -> Self {
        let limits = tenants.iter().filter_map(|t| t.rate_limit.map(|limit| (t.name.clone(), limit))).collect();
        let backend = match shared {
            Some(connection) => Backend::Redis(connection, redis::Script::new(TOKEN_BUCKET)),
            None => Backend::Memory(Mutex::new(HashMap::new())),
        };
        Self { limits, backend }
    }

    /// Take one token for `tenant`, or say in how many seconds one will be available. A Redis
    /// failure lets the request through (logged): the limiter protects providers, it must not
    /// take the gateway down with the store.
    pub async fn check(&self, tenant: &str) -> Result<(), u64> {
        let Some(limit) = self.limits.get(tenant) else {
            return Ok(());
        };
        match &self.backend {
            Backend::Memory(buckets) => take_local(buckets, tenant, limit),
            Backend::Redis(connection, script) => {
                let mut connection = connection.clone();
                let waited: Result<u64, _> = script
                    .key(format!("cg:rate:{tenant}"))
                    .arg(limit.requests_per_second)
                    .arg(limit.burst)
                    .invoke_async(&mut connection)
                    .await;
                match waited {
                    Ok(0) => Ok(()),
                    Ok(millis) => Err(millis.div_ceil(1000).max(1)),
                    Err(error) => {
                        tracing::warn!(error = %error, "shared rate limiter unavailable; request allowed");
                        Ok(())
                    }
                }
            }
        }
    }
}

fn take_local(buckets: &Mutex<HashMap<String, Bucket>>, tenant: &str, limit: &RateLimit) -> Result<(), u64> {
    let mut buckets = buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
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
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a small positive number of seconds"
        )]
        Err(wait.ceil().max(1.0) as u64)
    }
}
