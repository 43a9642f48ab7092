//! The one Redis connection the shared state uses (idempotency records, rate-limit buckets,
//! switch-report counts): one node through a `ConnectionManager`, or a Redis Cluster through the
//! `redis` crate's cluster client, which follows MOVED/ASK redirects and failovers by itself.
//! [`SharedRedis`] is a `ConnectionLike` either way, so the stores' scripts, pipelines and
//! commands do not fork. Both kinds get the same bounds: a dead node fails a request within
//! seconds (the caller answers `503 store_unavailable`), it does not hang it.
//!
//! In a cluster, every command of a script or pipeline must map to one hash slot. Keys are built
//! by [`key`] as `cg:<kind>:{<tag>}`: Redis hashes only the text between the braces, so any key
//! built later with the same tag lands in the same slot as its companions.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{
    MultipleNodeRoutingInfo, ResponsePolicy, Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr,
};
use redis::{Client, Cmd, IntoConnectionInfo, Pipeline, RedisError, RedisFuture, TlsCertificates, Value};

use crate::config::{RedisNodes, RedisSettings};

/// Connecting to a node (or to each node of a cluster).
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// Waiting for one answer; on a cluster also the whole request, redirects and retries included.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long `WAIT` waits for replicas: well under [`RESPONSE_TIMEOUT`], so the node answers how
/// many acknowledged before the client gives up on the answer.
pub const REPLICA_WAIT: Duration = Duration::from_millis(1_000);

/// A Redis connection to one node or to a cluster; cheap to clone (both are handles).
#[derive(Clone)]
pub enum SharedRedis {
    Node(ConnectionManager),
    Cluster(ClusterConnection),
}

/// `prefix:{tag}`: a key whose cluster hash slot is decided by `tag` alone.
pub fn key(prefix: &str, tag: &str) -> String {
    format!("{prefix}:{{{tag}}}")
}

impl SharedRedis {
    /// Connect as `settings` say. The first connection must succeed (a wrong address or
    /// password stops the start); afterwards both kinds reconnect by themselves.
    pub async fn connect(settings: &RedisSettings) -> Result<Self, RedisError> {
        match &settings.nodes {
            RedisNodes::Single(url) => Self::connect_node(url, settings).await,
            RedisNodes::Cluster(seeds) => Self::connect_cluster(seeds, settings).await,
        }
    }

    async fn connect_node(url: &str, settings: &RedisSettings) -> Result<Self, RedisError> {
        let mut info = url.into_connection_info()?;
        let mut credentials = info.redis_settings().clone();
        if let Some(username) = &settings.username {
            credentials = credentials.set_username(username.expose());
        }
        if let Some(password) = &settings.password {
            credentials = credentials.set_password(password.expose());
        }
        info = info.set_redis_settings(credentials);
        let client = match &settings.ca_pem {
            Some(ca) => Client::build_with_tls(info, certificates(ca))?,
            None => Client::open(info)?,
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        Ok(Self::Node(ConnectionManager::new_with_config(client, config).await?))
    }

    async fn connect_cluster(seeds: &[String], settings: &RedisSettings) -> Result<Self, RedisError> {
        // The overall timeout bounds a request with its redirects and retries, as the single
        // node's response timeout bounds one: a slot whose master is gone answers an error
        // within it until a replica takes over and the client learns the new map.
        let mut builder = ClusterClientBuilder::new(seeds.iter().map(String::as_str))
            .connection_timeout(CONNECTION_TIMEOUT)
            .response_timeout(RESPONSE_TIMEOUT)
            .overall_response_timeout(Some(RESPONSE_TIMEOUT));
        if let Some(username) = &settings.username {
            builder = builder.username(username.expose());
        }
        if let Some(password) = &settings.password {
            builder = builder.password(password.expose());
        }
        if let Some(ca) = &settings.ca_pem {
            builder = builder.certs(certificates(ca));
        }
        Ok(Self::Cluster(builder.build()?.get_async_connection().await?))
    }

    /// Whether the store answers (`/readyz`). A cluster is ready while any master answers: a
    /// lost master fails only its own slots' requests (503 `store_unavailable`), and taking
    /// every gateway replica out of service for it would turn a partial outage into a whole one.
    pub async fn ping(&self) -> Result<(), RedisError> {
        match self.clone() {
            Self::Node(mut connection) => redis::cmd("PING").query_async::<()>(&mut connection).await,
            Self::Cluster(mut connection) => {
                let any_master =
                    RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, Some(ResponsePolicy::OneSucceeded)));
                connection.route_command(redis::cmd("PING"), any_master).await.map(drop)
            }
        }
    }

    /// `WAIT replicas REPLICA_WAIT` on the node that holds `key` (on a cluster, its slot's
    /// master, over the same connection that wrote the key): how many replicas acknowledged
    /// every write this connection sent to that node so far, at most within [`REPLICA_WAIT`].
    ///
    /// Redis blocks the connection for the wait, so commands other requests send to that node
    /// queue behind it: a round trip to a replica when replicas are healthy, up to
    /// [`REPLICA_WAIT`] when one is not.
    pub async fn wait_for_replicas(&self, key: &str, replicas: u32) -> Result<u32, RedisError> {
        let mut wait = redis::cmd("WAIT");
        wait.arg(replicas).arg(u64::try_from(REPLICA_WAIT.as_millis()).unwrap_or(u64::MAX));
        match self.clone() {
            Self::Node(mut connection) => wait.query_async(&mut connection).await,
            Self::Cluster(mut connection) => {
                let master = Route::with_key(key, SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(master));
                let acknowledged = connection.route_command(wait, routing).await?;
                Ok(redis::from_redis_value(acknowledged)?)
            }
        }
    }
}

/// The platform's CA instead of the system's roots; no client certificate.
fn certificates(ca_pem: &[u8]) -> TlsCertificates {
    TlsCertificates { client_tls: None, root_cert: Some(ca_pem.to_vec()) }
}

impl ConnectionLike for SharedRedis {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Node(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Node(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_their_hash_tag() {
        assert_eq!(key("cg:rate", "acme"), "cg:rate:{acme}");
        // The slot is decided by the tag alone, so companions of one key share its slot.
        let slot = |key: &str| redis::cluster_routing::Slot::for_key(key);
        assert_eq!(slot(&key("cg:rate", "acme")), slot(&format!("{}:more", key("cg:usage", "acme"))));
        assert_eq!(slot(&key("cg:rate", "acme")), slot("acme"));
    }
}
