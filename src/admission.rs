//! Admission limits that outlive config reloads (they hold counts, not settings; the settings
//! come from the request's config snapshot, so a SIGHUP changes them in place): the global
//! in-flight limit, each tenant's in-flight cap, and failed authentications per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use moka::future::Cache;

/// Client addresses remembered at once; beyond it the least used are forgotten first.
const TRACKED_ADDRESSES: u64 = 100_000;

pub struct Admission {
    in_flight: Arc<AtomicUsize>,
    tenants: Mutex<HashMap<String, Arc<AtomicUsize>>>,
    auth_failures: Cache<IpAddr, Arc<FailureWindow>>,
}

/// One in-flight request (or open connection) counted against a limit; dropping it frees the
/// slot.
#[derive(Debug)]
pub struct Permit(Arc<AtomicUsize>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Where the authentication extractor leaves the tenant's permit, so the request middleware
/// (which holds the other handle) keeps it until the response is produced.
#[derive(Debug, Clone, Default)]
pub struct TenantSlot(pub Arc<OnceLock<Permit>>);

struct FailureWindow {
    started: Instant,
    failures: AtomicU32,
}

impl Default for Admission {
    fn default() -> Self {
        Self {
            in_flight: Arc::default(),
            tenants: Mutex::default(),
            // Entries outlive the longest allowed window (3600 s); the window itself is checked
            // against `started`, so a reload that shortens it applies at once.
            auth_failures: Cache::builder()
                .max_capacity(TRACKED_ADDRESSES)
                .time_to_live(Duration::from_secs(3600))
                .build(),
        }
    }
}

impl Admission {
    /// A slot under the global `max_concurrency`, or `None` to shed the request.
    pub fn enter(&self, max: usize) -> Option<Permit> {
        acquire(&self.in_flight, max)
    }

    /// A slot under `tenant`'s own cap, or `None` when it has `max` requests in flight.
    pub fn enter_tenant(&self, tenant: &str, max: usize) -> Option<Permit> {
        let counter = {
            let mut tenants = self.tenants.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(tenants.entry(tenant.to_owned()).or_default())
        };
        acquire(&counter, max)
    }

    /// `Err(seconds until the window ends)` when `client` already failed `limit` times within
    /// `window`: it is refused before its key is even compared.
    pub async fn auth_blocked(&self, client: IpAddr, limit: u32, window: Duration) -> Result<(), u64> {
        let Some(entry) = self.auth_failures.get(&address_key(client)).await else {
            return Ok(());
        };
        let elapsed = entry.started.elapsed();
        if limit == 0 || elapsed >= window || entry.failures.load(Ordering::Acquire) < limit {
            return Ok(());
        }
        Err((window - elapsed).as_secs().max(1))
    }

    /// Count one failed authentication from `client` (a fixed window from its first failure).
    pub async fn auth_failed(&self, client: IpAddr, window: Duration) {
        let key = address_key(client);
        let entry = self
            .auth_failures
            .get_with(key, async { Arc::new(FailureWindow { started: Instant::now(), failures: AtomicU32::new(0) }) })
            .await;
        if entry.started.elapsed() >= window {
            let fresh = Arc::new(FailureWindow { started: Instant::now(), failures: AtomicU32::new(1) });
            self.auth_failures.insert(key, fresh).await;
        } else {
            entry.failures.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// One of `max` slots counted by `counter`, or `None` when all are taken.
pub fn acquire(counter: &Arc<AtomicUsize>, max: usize) -> Option<Permit> {
    if counter.fetch_add(1, Ordering::AcqRel) >= max {
        counter.fetch_sub(1, Ordering::AcqRel);
        return None;
    }
    Some(Permit(Arc::clone(counter)))
}

/// One host holds a whole IPv6 /64, so that prefix is the unit; IPv4 (also IPv4-mapped IPv6)
/// is limited per address.
fn address_key(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::from(segments)
        }
        v4 @ IpAddr::V4(_) => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_freed_when_its_permit_drops_and_never_exceeds_the_limit() {
        let admission = Admission::default();
        let first = admission.enter(2);
        let second = admission.enter(2);
        assert!(first.is_some() && second.is_some());
        assert!(admission.enter(2).is_none());
        drop(first);
        assert!(admission.enter(2).is_some());
    }

    #[test]
    fn one_ipv6_host_is_one_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}
