//! Which unified fields each tenant actually sends, counted per (tenant, feature): in memory, or
//! in Redis when the idempotency store is Redis (so every instance adds to one count). Feeds the
//! switch report (`GET /v1/providers/compatibility`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use checkout_provider_interface::Feature;
use redis::AsyncCommands;

use crate::redis_conn::{self, SharedRedis};

/// Redis counts expire after this long without traffic, so "recent" stays recent.
const REDIS_TTL_SECONDS: i64 = 30 * 24 * 3600;

pub enum UsageTracker {
    Memory(Mutex<HashMap<String, BTreeMap<Feature, u64>>>),
    Redis(SharedRedis),
}

/// The shared store did not answer a read of the counts. Its text is the store's own (the switch
/// report shows it in its `503 store_unavailable` detail).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct UsageError(redis::RedisError);

/// One hash per tenant (`cg:usage:{<tenant>}`): a recording pipeline touches only it.
fn key(tenant: &str) -> String {
    redis_conn::key("cg:usage", tenant)
}

fn name(feature: Feature) -> String {
    serde_json::to_value(feature).ok().and_then(|v| v.as_str().map(ToOwned::to_owned)).unwrap_or_default()
}

impl UsageTracker {
    pub fn new(shared: Option<SharedRedis>) -> Self {
        shared.map_or_else(|| Self::Memory(Mutex::default()), Self::Redis)
    }

    /// Count one request that used `features` (each feature once per request).
    pub async fn record(&self, tenant: &str, features: &[Feature]) {
        let mut distinct = features.to_vec();
        distinct.sort();
        distinct.dedup();
        match self {
            Self::Memory(counts) => {
                let mut counts = counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let tenant_counts = counts.entry(tenant.to_owned()).or_default();
                for feature in distinct {
                    *tenant_counts.entry(feature).or_default() += 1;
                }
            }
            Self::Redis(connection) => {
                let mut connection = connection.clone();
                let mut pipe = redis::pipe();
                for feature in &distinct {
                    pipe.hincr(key(tenant), name(*feature), 1).ignore();
                }
                pipe.expire(key(tenant), REDIS_TTL_SECONDS).ignore();
                if let Err(error) = pipe.query_async::<()>(&mut connection).await {
                    tracing::warn!(error = %error, "usage counts not recorded");
                }
            }
        }
    }

    /// The tenant's counts so far.
    pub async fn counts(&self, tenant: &str) -> Result<BTreeMap<Feature, u64>, UsageError> {
        match self {
            Self::Memory(counts) => {
                let counts = counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                Ok(counts.get(tenant).cloned().unwrap_or_default())
            }
            Self::Redis(connection) => {
                let mut connection = connection.clone();
                let raw: HashMap<String, u64> = connection.hgetall(key(tenant)).await.map_err(UsageError)?;
                Ok(Feature::ALL.iter().filter_map(|f| raw.get(&name(*f)).map(|n| (*f, *n))).collect())
            }
        }
    }
}
