//! Per-tenant token buckets (DESIGN §5): in memory for one instance, or in Redis (one atomic
//! script per request, on the server's clock) when the idempotency store is Redis, so every
//! instance draws from the same bucket. Buckets outlive config reloads: a SIGHUP must not hand
//! every tenant a fresh burst.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::config::{RateLimit, StoreErrorPolicy, Tenant};
use crate::redis_conn::{self, SharedRedis};

pub struct TenantLimiter {
    limits: HashMap<String, RateLimit>,
    backend: Arc<Backend>,
    on_store_error: StoreErrorPolicy,
}

enum Backend {
    Memory(Mutex<HashMap<String, Bucket>>),
    Redis(SharedRedis, redis::Script),
}

/// Why a request gets no token.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The bucket is empty; a token in this many seconds.
    Exhausted { retry_after_secs: u64 },
    /// The shared store did not answer and `rate_limit_on_store_error = "fail_closed"`.
    StoreUnavailable(String),
}

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// KEYS[1] bucket (`cg:rate:{<tenant>}`); ARGV rate per second, burst. Returns 0 when a token
/// was taken, else the milliseconds until one will be available.
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
    pub fn new(tenants: &[Tenant], shared: Option<SharedRedis>, on_store_error: StoreErrorPolicy) -> Self {
        let backend = match shared {
            Some(connection) => Backend::Redis(connection, redis::Script::new(TOKEN_BUCKET)),
            None => Backend::Memory(Mutex::new(HashMap::new())),
        };
        Self { limits: limits(tenants), backend: Arc::new(backend), on_store_error }
    }

    /// The limiter for a reloaded config: new limits, the same buckets.
    pub fn reconfigured(&self, tenants: &[Tenant], on_store_error: StoreErrorPolicy) -> Self {
        Self { limits: limits(tenants), backend: Arc::clone(&self.backend), on_store_error }
    }

    /// Take one token for `tenant`, or say why not. On a Redis failure `rate_limit_on_store_error`
    /// decides: `fail_open` lets the request through (logged), `fail_closed` refuses it.
    pub async fn check(&self, tenant: &str) -> Result<(), Refusal> {
        let Some(limit) = self.limits.get(tenant) else {
            return Ok(());
        };
        match self.backend.as_ref() {
            Backend::Memory(buckets) => take_local(buckets, tenant, limit),
            Backend::Redis(connection, script) => {
                let mut connection = connection.clone();
                let waited: Result<u64, _> = script
                    .key(redis_conn::key("cg:rate", tenant))
                    .arg(limit.requests_per_second)
                    .arg(limit.burst)
                    .invoke_async(&mut connection)
                    .await;
                match waited {
                    Ok(0) => Ok(()),
                    Ok(millis) => Err(Refusal::Exhausted { retry_after_secs: millis.div_ceil(1000).max(1) }),
                    Err(error) => match self.on_store_error {
                        StoreErrorPolicy::FailOpen => {
                            tracing::warn!(error = %error, "shared rate limiter unavailable; request allowed (fail_open)");
                            Ok(())
                        }
                        StoreErrorPolicy::FailClosed => {
                            tracing::warn!(error = %error, "shared rate limiter unavailable; request refused (fail_closed)");
                            Err(Refusal::StoreUnavailable("the shared rate limiter does not answer".to_owned()))
                        }
                    },
                }
            }
        }
    }
}

fn limits(tenants: &[Tenant]) -> HashMap<String, RateLimit> {
    tenants.iter().filter_map(|t| t.rate_limit.map(|limit| (t.name.clone(), limit))).collect()
}

fn take_local(buckets: &Mutex<HashMap<String, Bucket>>, tenant: &str, limit: &RateLimit) -> Result<(), Refusal> {
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
        Err(Refusal::Exhausted { retry_after_secs: wait.ceil().max(1.0) as u64 })
    }
}
