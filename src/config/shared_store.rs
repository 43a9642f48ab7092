//! `[idempotency]`'s Redis keys, validated and resolved at start-up: one node (`redis_url`) or
//! a Redis Cluster's seed nodes (`redis_cluster_urls`), TLS with the platform's CA
//! (`redis_ca_file`), and an ACL username and password as secret references applied to every
//! node. No message quotes a URL (it may carry a password) or a secret.

use std::path::Path;

use checkout_provider_interface::{Secret, SecretResolver};
use redis::{ConnectionAddr, IntoConnectionInfo};

use super::ConfigError;
use super::raw::{RawIdempotency, StoreKind};
use super::secrets::StartupSecrets;

/// Where the shared store lives and how to reach it.
pub struct RedisSettings {
    pub nodes: RedisNodes,
    /// The CA certificates (PEM) to trust instead of the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    pub username: Option<Secret>,
    pub password: Option<Secret>,
    /// `redis_claim_replicas`: replicas an idempotency claim must reach (`WAIT`) before the
    /// provider is called; 0: none (Redis's asynchronous replication alone).
    pub claim_replicas: u32,
}

pub enum RedisNodes {
    /// `redis_url`: one node.
    Single(String),
    /// `redis_cluster_urls`: seed nodes; the client discovers the rest of the cluster.
    Cluster(Vec<String>),
}

impl RedisSettings {
    /// One node at `url`, without TLS settings or credentials beyond what the URL carries.
    pub fn single_node(url: impl Into<String>) -> Self {
        Self { nodes: RedisNodes::Single(url.into()), ca_pem: None, username: None, password: None, claim_replicas: 0 }
    }

    /// The config key the nodes came from, for errors met while connecting.
    pub fn nodes_key(&self) -> &'static str {
        match self.nodes {
            RedisNodes::Single(_) => "idempotency.redis_url",
            RedisNodes::Cluster(_) => "idempotency.redis_cluster_urls",
        }
    }
}

/// The Redis settings when `store = "redis"`, else `None` (the Redis keys are then unused).
pub fn settings(raw: &RawIdempotency, secrets: &StartupSecrets) -> Result<Option<RedisSettings>, ConfigError> {
    if raw.store != StoreKind::Redis {
        return Ok(None);
    }
    let (nodes, urls) = match (&raw.redis_url, raw.redis_cluster_urls.as_slice()) {
        (Some(_), [_, ..]) => {
            return Err(ConfigError::new(
                "idempotency.redis_cluster_urls",
                "set either `idempotency.redis_url` (one node) or `idempotency.redis_cluster_urls` (a cluster's seed nodes), not both",
            ));
        }
        (None, []) => {
            return Err(ConfigError::new(
                "idempotency.redis_url",
                "required when store = \"redis\" (or `idempotency.redis_cluster_urls` for a Redis Cluster)",
            ));
        }
        (Some(url), []) => (RedisNodes::Single(url.clone()), vec![("idempotency.redis_url".to_owned(), url)]),
        (None, seeds) => (
            RedisNodes::Cluster(seeds.to_vec()),
            seeds.iter().enumerate().map(|(i, url)| (format!("idempotency.redis_cluster_urls[{i}]"), url)).collect(),
        ),
    };
    let cluster = matches!(nodes, RedisNodes::Cluster(_));
    let mut tls = None;
    let mut credentials_in_url = false;
    for (key, url) in urls {
        let node = parse_node(&key, url, cluster)?;
        if *tls.get_or_insert(node.tls) != node.tls {
            return Err(ConfigError::new(key, "mixes redis:// and rediss:// seed nodes; use one scheme for all"));
        }
        credentials_in_url |= node.credentials;
    }
    let tls = tls.unwrap_or(false);
    let username = resolve(secrets, "idempotency.redis_username", raw.redis_username.as_ref())?;
    let password = resolve(secrets, "idempotency.redis_password", raw.redis_password.as_ref())?;
    if credentials_in_url && (username.is_some() || password.is_some()) {
        let key = if password.is_some() { "idempotency.redis_password" } else { "idempotency.redis_username" };
        return Err(ConfigError::new(
            key,
            "a Redis URL carries credentials (user:password@) too; keep them in one place, preferably here",
        ));
    }
    if username.is_some() && password.is_none() {
        return Err(ConfigError::new("idempotency.redis_username", "needs `idempotency.redis_password` too"));
    }
    let ca_pem = match &raw.redis_ca_file {
        Some(_) if !tls => {
            return Err(ConfigError::new(
                "idempotency.redis_ca_file",
                "needs rediss:// (TLS) URLs; these are redis://",
            ));
        }
        Some(path) => Some(read_ca(path)?),
        None => None,
    };
    Ok(Some(RedisSettings { nodes, ca_pem, username, password, claim_replicas: raw.redis_claim_replicas }))
}

/// What the gateway needs to know of one configured URL.
struct Node {
    tls: bool,
    credentials: bool,
}

fn parse_node(key: &str, url: &str, cluster: bool) -> Result<Node, ConfigError> {
    // The parser's own text may quote the URL: say what is wrong without it.
    let info = url.into_connection_info().map_err(|_| {
        ConfigError::new(
            key,
            "not a usable Redis URL (redis://host:port or rediss://host:port; the value is not shown)",
        )
    })?;
    // A cluster announces its nodes as host:port, never as sockets.
    if cluster && matches!(info.addr(), ConnectionAddr::Unix(_)) {
        return Err(ConfigError::new(key, "a cluster's seed nodes must be redis:// or rediss:// URLs"));
    }
    let tls = matches!(info.addr(), ConnectionAddr::TcpTls { .. });
    let settings = info.redis_settings();
    Ok(Node { tls, credentials: settings.username().is_some() || settings.password().is_some() })
}

fn resolve(
    secrets: &StartupSecrets,
    key: &str,
    reference: Option<&checkout_provider_interface::SecretRef>,
) -> Result<Option<Secret>, ConfigError> {
    reference.map(|reference| secrets.resolve(key, reference).map_err(|e| ConfigError::new(key, e.message))).transpose()
}

/// Read at start-up, so a missing or wrong file is a config error, not a failed connection.
fn read_ca(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let key = "idempotency.redis_ca_file";
    let pem =
        std::fs::read(path).map_err(|e| ConfigError::new(key, format!("cannot read `{}`: {e}", path.display())))?;
    if !pem.windows(PEM_CERTIFICATE.len()).any(|w| w == PEM_CERTIFICATE) {
        return Err(ConfigError::new(key, format!("`{}` holds no PEM certificate", path.display())));
    }
    Ok(pem)
}

const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";

#[cfg(test)]
mod tests {
    use std::io::Write;

    use figment::Figment;
    use figment::providers::{Format, Toml};

    use super::*;

    fn raw(toml: &str) -> RawIdempotency {
        Figment::new().merge(Toml::string(toml)).extract().expect("an [idempotency] table")
    }

    fn refusal(toml: &str) -> ConfigError {
        match settings(&raw(toml), &StartupSecrets::default()) {
            Ok(_) => panic!("accepted: {toml}"),
            Err(error) => error,
        }
    }

    #[test]
    fn memory_store_needs_no_redis_and_ignores_its_keys() {
        assert!(settings(&raw(""), &StartupSecrets::default()).expect("default").is_none());
        let unused = "redis_url = \"redis://127.0.0.1:6379\"";
        assert!(settings(&raw(unused), &StartupSecrets::default()).expect("memory").is_none());
    }

    #[test]
    fn one_node_or_a_cluster() {
        let single =
            settings(&raw("store = \"redis\"\nredis_url = \"redis://127.0.0.1:6379\""), &StartupSecrets::default())
                .expect("single")
                .expect("redis");
        assert!(matches!(&single.nodes, RedisNodes::Single(url) if url == "redis://127.0.0.1:6379"));
        assert_eq!(single.nodes_key(), "idempotency.redis_url");
        let toml = "store = \"redis\"\nredis_cluster_urls = [\"redis://127.0.0.1:7000\", \"redis://127.0.0.1:7001\"]";
        let cluster = settings(&raw(toml), &StartupSecrets::default()).expect("cluster").expect("redis");
        assert!(matches!(&cluster.nodes, RedisNodes::Cluster(seeds) if seeds.len() == 2));
        assert_eq!(cluster.nodes_key(), "idempotency.redis_cluster_urls");
        assert!(cluster.ca_pem.is_none() && cluster.username.is_none() && cluster.password.is_none());
    }

    #[test]
    fn claim_replicas_default_to_none_and_are_taken_as_set() {
        let seeds = "store = \"redis\"\nredis_cluster_urls = [\"redis://127.0.0.1:7000\"]";
        let default = settings(&raw(seeds), &StartupSecrets::default()).expect("valid").expect("redis");
        assert_eq!(default.claim_replicas, 0, "off unless set: today's behaviour");
        let toml = format!("{seeds}\nredis_claim_replicas = 1");
        let set = settings(&raw(&toml), &StartupSecrets::default()).expect("valid").expect("redis");
        assert_eq!(set.claim_replicas, 1);
        let negative = Figment::new().merge(Toml::string(&format!("{seeds}\nredis_claim_replicas = -1")));
        assert!(negative.extract::<RawIdempotency>().is_err(), "a count of replicas is not negative");
    }

    #[test]
    fn both_or_neither_is_refused_naming_the_keys() {
        let both = refusal(
            "store = \"redis\"\nredis_url = \"redis://127.0.0.1:6379\"\nredis_cluster_urls = [\"redis://127.0.0.1:7000\"]",
        );
        assert_eq!(both.key, "idempotency.redis_cluster_urls");
        assert!(both.message.contains("idempotency.redis_url") && both.message.contains("not both"), "{both}");
        for neither in ["store = \"redis\"", "store = \"redis\"\nredis_cluster_urls = []"] {
            let error = refusal(neither);
            assert_eq!(error.key, "idempotency.redis_url");
            assert!(error.message.contains("redis_cluster_urls"), "{error}");
        }
    }

    #[test]
    fn a_bad_url_is_named_by_its_index_and_never_quoted() {
        let error =
            refusal("store = \"redis\"\nredis_cluster_urls = [\"redis://127.0.0.1:7000\", \"http://u:hunter2@x\"]");
        assert_eq!(error.key, "idempotency.redis_cluster_urls[1]");
        assert!(!error.to_string().contains("hunter2"), "{error}");
        let mixed = refusal("store = \"redis\"\nredis_cluster_urls = [\"redis://a:7000\", \"rediss://b:7001\"]");
        assert_eq!(mixed.key, "idempotency.redis_cluster_urls[1]");
        let socket = refusal("store = \"redis\"\nredis_cluster_urls = [\"redis+unix:///run/redis.sock\"]");
        assert!(socket.message.contains("seed nodes"), "{socket}");
    }

    #[test]
    fn credentials_are_secret_references_resolved_at_start() {
        let toml = "store = \"redis\"\nredis_cluster_urls = [\"rediss://redis.internal:6379\"]\n\
                    redis_username = { value = \"gateway\" }\nredis_password = { value = \"hunter2\" }";
        let secrets = StartupSecrets::default();
        let resolved = settings(&raw(toml), &secrets).expect("valid").expect("redis");
        assert_eq!(resolved.username.as_ref().map(Secret::expose), Some("gateway"));
        assert_eq!(resolved.password.as_ref().map(Secret::expose), Some("hunter2"));
        let (warnings, values) = secrets.finish();
        assert!(warnings.iter().any(|w| w.starts_with("idempotency.redis_password: inline")), "{warnings:?}");
        assert!(values.iter().any(|s| s.expose() == "hunter2"), "the password is scrubbed from provider texts");
        // A raw string where the reference belongs is refused without being quoted.
        let written = Figment::new()
            .merge(Toml::string("store = \"redis\"\nredis_url = \"redis://h:1\"\nredis_password = \"hunter2\""))
            .extract::<RawIdempotency>()
            .expect_err("not a reference");
        assert!(!written.to_string().contains("hunter2"), "{written}");
    }

    #[test]
    fn credential_refusals_name_the_key_and_no_value() {
        let missing = refusal(
            "store = \"redis\"\nredis_url = \"redis://h:1\"\nredis_password = { env = \"CG_TEST_UNSET_REDIS_PASSWORD\" }",
        );
        assert_eq!(missing.key, "idempotency.redis_password");
        assert!(missing.message.contains("CG_TEST_UNSET_REDIS_PASSWORD"), "{missing}");
        let twice = refusal(
            "store = \"redis\"\nredis_url = \"redis://:hunter2@h:1\"\nredis_password = { value = \"hunter3\" }",
        );
        assert_eq!(twice.key, "idempotency.redis_password");
        assert!(!twice.to_string().contains("hunter"), "{twice}");
        let alone = refusal("store = \"redis\"\nredis_url = \"redis://h:1\"\nredis_username = { value = \"gateway\" }");
        assert_eq!(alone.key, "idempotency.redis_username");
    }

    #[test]
    fn the_ca_file_needs_tls_and_a_certificate() {
        let mut ca = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(ca, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----").expect("write");
        let path = ca.path().display().to_string();
        let plain = refusal(&format!("store = \"redis\"\nredis_url = \"redis://h:1\"\nredis_ca_file = \"{path}\""));
        assert_eq!(plain.key, "idempotency.redis_ca_file");
        assert!(plain.message.contains("rediss://"), "{plain}");
        let toml = format!("store = \"redis\"\nredis_cluster_urls = [\"rediss://h:1\"]\nredis_ca_file = \"{path}\"");
        let resolved = settings(&raw(&toml), &StartupSecrets::default()).expect("valid").expect("redis");
        assert!(resolved.ca_pem.is_some_and(|pem| pem.starts_with(PEM_CERTIFICATE)));
        let missing =
            refusal("store = \"redis\"\nredis_url = \"rediss://h:1\"\nredis_ca_file = \"/nonexistent/ca.pem\"");
        assert_eq!(missing.key, "idempotency.redis_ca_file");
        assert!(missing.message.contains("/nonexistent/ca.pem"), "{missing}");
        let mut not_pem = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(not_pem, "not a certificate").expect("write");
        let toml = format!(
            "store = \"redis\"\nredis_url = \"rediss://h:1\"\nredis_ca_file = \"{}\"",
            not_pem.path().display()
        );
        assert!(refusal(&toml).message.contains("no PEM certificate"));
    }
}
