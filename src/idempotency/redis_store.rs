//! Redis store shared by several instances. The claim is one `SET key value NX PX ttl`, so
//! exactly one instance wins a key; the others read what holds it.

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::{Claim, Entry, IdempotencyStore, StoreError, StoredResponse};

pub struct RedisStore {
    connection: ConnectionManager,
}

fn store_error(error: &redis::RedisError) -> StoreError {
    // Redis errors never contain the URL's password; keep only the kind and text.
    StoreError(error.to_string())
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    /// Connect (the connection manager reconnects by itself afterwards).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| store_error(&e))?;
        // Bounded timeouts: a dead Redis must fail a request fast (503), not hang it.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_with_config(client, config).await.map_err(|e| store_error(&e))?;
        Ok(Self { connection })
    }
}

impl IdempotencyStore for RedisStore {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a str,
        in_flight_ttl: Duration,
    ) -> BoxFuture<'a, Result<Claim, StoreError>> {
        async move {
            let mut connection = self.connection.clone();
            let entry = Entry::InFlight { fingerprint: fingerprint.to_owned() };
            let value = serde_json::to_string(&entry).map_err(|e| StoreError(e.to_string()))?;
            let options = redis::SetOptions::default()
                .conditional_set(redis::ExistenceCheck::NX)
                .with_expiration(redis::SetExpiry::PX(millis(in_flight_ttl)));
            let set: Option<String> = connection.set_options(key, value, options).await.map_err(|e| store_error(&e))?;
            if set.is_some() {
                return Ok(Claim::Acquired);
            }
            let held: Option<String> = connection.get(key).await.map_err(|e| store_error(&e))?;
            match held {
                // Expired between SET and GET: treat as held by someone else for this round.
                None => Ok(Claim::InFlight),
                Some(text) => {
                    let entry: Entry =
                        serde_json::from_str(&text).map_err(|e| StoreError(format!("corrupt entry: {e}")))?;
                    Ok(entry.claim_result(fingerprint))
                }
            }
        }
        .boxed()
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        fingerprint: &'a str,
        response: StoredResponse,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let mut connection = self.connection.clone();
            let entry = Entry::Done { fingerprint: fingerprint.to_owned(), response };
            let value = serde_json::to_string(&entry).map_err(|e| StoreError(e.to_string()))?;
            let () = connection.pset_ex(key, value, millis(ttl)).await.map_err(|e| store_error(&e))?;
            Ok(())
        }
        .boxed()
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        async move {
            let mut connection = self.connection.clone();
            let _: i64 = connection.del(key).await.map_err(|e| store_error(&e))?;
            Ok(())
        }
        .boxed()
    }

    fn shared_connection(&self) -> Option<ConnectionManager> {
        Some(self.connection.clone())
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        async move {
            let mut connection = self.connection.clone();
            let _: String = redis::cmd("PING").query_async(&mut connection).await.map_err(|e| store_error(&e))?;
            Ok(())
        }
        .boxed()
    }
}
