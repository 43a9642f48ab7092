//! A claim that is given back even when its request never finishes.

use std::sync::Arc;
use std::time::Duration;

use super::{ClaimToken, Fence, IdempotencyStore, StoreError, StoreKey, StoredResponse};

/// Holds an acquired claim until it is completed or released. Dropped while still holding it
/// (the handler was cancelled by a client disconnect, or unwound by a panic), it releases the
/// claim in the background, so the client's retry need not wait out the in-flight TTL
/// (deadline + 5 s) and then get 409.
pub struct ClaimGuard {
    store: Arc<dyn IdempotencyStore>,
    key: StoreKey,
    token: ClaimToken,
    holding: bool,
}

impl ClaimGuard {
    pub fn new(store: Arc<dyn IdempotencyStore>, key: StoreKey, token: ClaimToken) -> Self {
        Self { store, key, token, holding: true }
    }

    /// Store the finished response for `ttl` (fenced by the claim's token).
    pub async fn complete(mut self, response: StoredResponse, ttl: Duration) -> Result<Fence, StoreError> {
        let result = self.store.complete(&self.key, &self.token, response, ttl).await;
        // Whatever the store said, this guard is done: on an error the claim expires by itself.
        self.holding = false;
        result
    }

    /// Give the key up (fenced by the claim's token).
    pub async fn release(mut self) -> Result<Fence, StoreError> {
        let result = self.store.release(&self.key, &self.token).await;
        self.holding = false;
        result
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if !self.holding {
            return;
        }
        // No runtime means the process is shutting down; the claim then expires by its TTL.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (store, key, token) = (Arc::clone(&self.store), self.key.clone(), self.token.clone());
        runtime.spawn(async move {
            if let Err(error) = store.release(&key, &token).await {
                tracing::warn!(error = %error, "idempotency store could not release an abandoned claim");
            }
        });
    }
}
