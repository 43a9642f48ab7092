//! Redis store shared by several instances. A record is one hash with a TTL: `fp` (the
//! fingerprint), `token` while a request holds it, and once finished `status`, `headers` (a
//! small JSON array) and `body` (the raw bytes, so a record costs about its body: finding 7).
//! Claim, complete and release are each one Lua script, so every check and its write are atomic:
//! exactly one instance wins a key, and only the claim's holder can finish it (finding 14).
//! Each script touches only its record's key, so on a Redis Cluster it runs on that key's slot.
//!
//! Redis replicates asynchronously: a claim its master acknowledged and lost in a crash before
//! replicating would let a retry claim the key again after the failover. With
//! `redis_claim_replicas` set, a claim counts only once that many replicas hold it (`WAIT` on the
//! key's master); otherwise it is released and the request fails before any provider call.

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use redis::Script;

use super::{Claim, ClaimToken, Fence, IdempotencyStore, StoreError, StoreKey, StoredResponse};
use crate::config::RedisSettings;
use crate::redis_conn::{REPLICA_WAIT, SharedRedis};

/// KEYS[1] the record; ARGV fingerprint, token, in-flight TTL (ms). Answers `{"acquired"}`,
/// `{"mismatch"}`, `{"in_flight"}` or `{"done", status, headers, body}`; the body is sent only
/// to a request with the same fingerprint.
const CLAIM: &str = r"
local held = redis.call('HMGET', KEYS[1], 'fp', 'status')
if not held[1] then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'token', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'acquired'}
end
if held[1] ~= ARGV[1] then return {'mismatch'} end
if not held[2] then return {'in_flight'} end
local done = redis.call('HMGET', KEYS[1], 'status', 'headers', 'body')
return {'done', done[1], done[2], done[3]}
";

/// KEYS[1] the record; ARGV token, status, headers, body, TTL (ms). 1 if the token held it.
const COMPLETE: &str = r"
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'token')
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'headers', ARGV[3], 'body', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
";

/// KEYS[1] the record; ARGV token. 1 if the token held it (and the record is gone).
const RELEASE: &str = r"
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
";

pub struct RedisStore {
    connection: SharedRedis,
    claim: Script,
    complete: Script,
    release: Script,
    /// Replicas a claim must reach before it counts; 0: no wait.
    claim_replicas: u32,
}

fn store_error(error: &redis::RedisError) -> StoreError {
    // Redis errors never contain the URL's password; keep only the kind and text.
    StoreError(error.to_string())
}

fn corrupt(what: &str) -> StoreError {
    StoreError(format!("corrupt record: {what}"))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn fence(held: i64) -> Fence {
    if held == 1 { Fence::Held } else { Fence::Lost }
}

impl RedisStore {
    /// Connect to one node or a cluster (either reconnects by itself afterwards).
    pub async fn connect(settings: &RedisSettings) -> Result<Self, StoreError> {
        let connection = SharedRedis::connect(settings).await.map_err(|e| store_error(&e))?;
        Ok(Self {
            connection,
            claim: Script::new(CLAIM),
            complete: Script::new(COMPLETE),
            release: Script::new(RELEASE),
            claim_replicas: settings.claim_replicas,
        })
    }

    /// Keep `token`'s fresh claim only once `claim_replicas` replicas acknowledged it. Else
    /// release it (fenced by its token; if that fails too, the claim's in-flight TTL ends it) and
    /// fail: no provider call was made, so the client's retry is safe.
    async fn ensure_replicated(&self, key: &StoreKey, token: &ClaimToken) -> Result<(), StoreError> {
        let waited = self.connection.wait_for_replicas(key.as_str(), self.claim_replicas).await;
        let failure = match waited {
            Ok(acknowledged) if acknowledged >= self.claim_replicas => return Ok(()),
            Ok(acknowledged) => StoreError(format!(
                "the claim reached {acknowledged} of {} replicas within {} ms",
                self.claim_replicas,
                REPLICA_WAIT.as_millis()
            )),
            Err(error) => store_error(&error),
        };
        if let Err(release) = self.release(key, token).await {
            tracing::warn!(error = %release.0, "releasing an unreplicated claim failed; its in-flight TTL ends it");
        }
        Err(failure)
    }
}

/// The claim script's answer as a [`Claim`].
fn parse_claim(reply: &[Vec<u8>], token: ClaimToken) -> Result<Claim, StoreError> {
    match reply {
        [state] if state == b"acquired" => Ok(Claim::Acquired(token)),
        [state] if state == b"mismatch" => Ok(Claim::Mismatch),
        [state] if state == b"in_flight" => Ok(Claim::InFlight),
        [state, status, headers, body] if state == b"done" => {
            let status =
                std::str::from_utf8(status).ok().and_then(|s| s.parse().ok()).ok_or_else(|| corrupt("status"))?;
            let headers = serde_json::from_slice(headers).map_err(|_| corrupt("headers"))?;
            // The script sends a body only when the fingerprints match.
            Ok(Claim::Replay(StoredResponse { status, headers, body: body.clone() }))
        }
        _ => Err(corrupt("unexpected claim answer")),
    }
}

impl IdempotencyStore for RedisStore {
    fn claim<'a>(
        &'a self,
        key: &'a StoreKey,
        fingerprint: &'a str,
        in_flight_ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        async move {
            let mut connection = self.connection.clone();
            let token = ClaimToken::new();
            let reply: Vec<Vec<u8>> = self
                .claim
                .key(key.as_str())
                .arg(fingerprint)
                .arg(token.as_str())
                .arg(millis(in_flight_ttl))
                .invoke_async(&mut connection)
                .await
                .map_err(|e| store_error(&e))?;
            let claim = parse_claim(&reply, token)?;
            if let Claim::Acquired(token) = &claim
                && self.claim_replicas > 0
            {
                self.ensure_replicated(key, token).await?;
            }
            Ok(claim)
        }
        .boxed()
    }

    fn complete<'a>(
        &'a self,
        key: &'a StoreKey,
        token: &'a ClaimToken,
        response: StoredResponse,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Fence, StoreError>> {
        async move {
            let mut connection = self.connection.clone();
            let headers = serde_json::to_vec(&response.headers).map_err(|e| StoreError(e.to_string()))?;
            let held: i64 = self
                .complete
                .key(key.as_str())
                .arg(token.as_str())
                .arg(response.status)
                .arg(headers)
                .arg(response.body)
                .arg(millis(ttl))
                .invoke_async(&mut connection)
                .await
                .map_err(|e| store_error(&e))?;
            Ok(fence(held))
        }
        .boxed()
    }

    fn release<'a>(&'a self, key: &'a StoreKey, token: &'a ClaimToken) -> BoxFuture<'a, Result<Fence, StoreError>> {
        async move {
            let mut connection = self.connection.clone();
            let held: i64 = self
                .release
                .key(key.as_str())
                .arg(token.as_str())
                .invoke_async(&mut connection)
                .await
                .map_err(|e| store_error(&e))?;
            Ok(fence(held))
        }
        .boxed()
    }

    fn shared_connection(&self) -> Option<SharedRedis> {
        Some(self.connection.clone())
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        async move { self.connection.ping().await.map_err(|e| store_error(&e)) }.boxed()
    }
}
