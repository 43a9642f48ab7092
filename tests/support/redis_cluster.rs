//! A real 6-node Redis Cluster for tests (3 masters, 3 replicas) on loopback: Debian's
//! `redis-server` in cluster mode, joined by `redis-cli --cluster create`, persistence off, every
//! node in its own temporary directory, all killed when dropped. Nodes can be SIGKILLed one at a
//! time to make a replica take over, or SIGSTOPped and continued to make one stall.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::redis::ensure_installed;

const NODES: usize = 6;
/// How long a node may be silent before the others call it failed (and its replica takes over).
const NODE_TIMEOUT_MS: &str = "2000";
/// Start-up and failover waits: generous for a loaded runner, still bounded.
const CLUSTER_WAIT: Duration = Duration::from_secs(30);

struct Node {
    port: u16,
    /// `None` once the test killed it.
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

pub struct RedisCluster {
    nodes: Vec<Node>,
}

/// One line of `CLUSTER NODES`, the parts the tests use.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub id: String,
    pub port: u16,
    pub is_master: bool,
    /// Owns slots (a node that was just added, or lost its slots to a failover, owns none).
    pub serves_slots: bool,
    /// The slot ranges it serves, inclusive.
    pub slots: Vec<(u16, u16)>,
    pub failed: bool,
    /// A replica's master id.
    pub master_id: Option<String>,
}

/// Ports the kernel has free right now: all bound at once so none is handed out twice.
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> =
        (0..count).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port")).collect();
    listeners.iter().map(|l| l.local_addr().expect("addr").port()).collect()
}

/// `redis-cli -p <port> <args>`; its standard output (raw replies: redis-cli writes no type
/// annotations when its output is not a terminal).
pub fn cli(port: u16, args: &[&str]) -> Result<String, String> {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("redis-cli: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() && !stdout.starts_with("ERR") && !stdout.contains("Could not connect") {
        Ok(stdout)
    } else {
        Err(format!("redis-cli -p {port} {args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr)))
    }
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "redis cluster: {what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn parse_nodes(text: &str) -> Vec<NodeInfo> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (id, address, flags, master) = (fields.first()?, fields.get(1)?, fields.get(2)?, fields.get(3)?);
            // `127.0.0.1:7000@17000[,hostname]`
            let port = address.split('@').next()?.rsplit(':').next()?.parse().ok()?;
            let flags: Vec<&str> = flags.split(',').collect();
            Some(NodeInfo {
                id: (*id).to_owned(),
                port,
                is_master: flags.contains(&"master"),
                // Fields 9 onwards are the node's slot ranges.
                serves_slots: fields.len() > 8,
                // `0-5460` or `5461`; migrating-slot markers (`[…]`) are not served yet.
                slots: fields.iter().skip(8).filter_map(|range| parse_range(range)).collect(),
                failed: flags.contains(&"fail") || flags.contains(&"fail?"),
                master_id: (*master != "-").then(|| (*master).to_owned()),
            })
        })
        .collect()
}

fn parse_range(range: &str) -> Option<(u16, u16)> {
    let (first, last) = range.split_once('-').unwrap_or((range, range));
    Some((first.parse().ok()?, last.parse().ok()?))
}

impl RedisCluster {
    /// Start six nodes and join them (3 masters with one replica each); returns once every node
    /// says `cluster_state:ok` and every replica is in sync with its master.
    pub fn start() -> Self {
        ensure_installed();
        // Each node needs a client port and a cluster bus port (set explicitly: the default,
        // port + 10000, may be taken or out of range).
        let ports = free_ports(NODES * 2);
        let nodes: Vec<Node> = ports
            .chunks(2)
            .map(|pair| {
                let (port, bus_port) = (pair[0], pair[1]);
                let dir = tempfile::tempdir().expect("node dir");
                let child = Command::new("redis-server")
                    .args(["--port", &port.to_string(), "--cluster-port", &bus_port.to_string()])
                    .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                    .args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
                    .args(["--cluster-node-timeout", NODE_TIMEOUT_MS])
                    .arg("--dir")
                    .arg(dir.path())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start redis-server");
                Node { port, child: Some(child), _dir: dir }
            })
            .collect();
        let cluster = Self { nodes };
        for node in &cluster.nodes {
            wait_until(&format!("node {} answers PING", node.port), CLUSTER_WAIT, || {
                cli(node.port, &["PING"]).is_ok_and(|reply| reply.trim() == "PONG")
            });
        }
        let addresses: Vec<String> = cluster.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli --cluster create");
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        cluster.wait_until_ok();
        cluster
    }

    /// `redis://127.0.0.1:<port>` of every node (the gateway's seed nodes).
    pub fn seed_urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| format!("redis://127.0.0.1:{}", n.port)).collect()
    }

    fn live_ports(&self) -> Vec<u16> {
        self.nodes.iter().filter(|n| n.child.is_some()).map(|n| n.port).collect()
    }

    /// The cluster as a live node sees it (`CLUSTER NODES`).
    pub fn topology(&self) -> Vec<NodeInfo> {
        self.live_ports()
            .into_iter()
            .find_map(|port| cli(port, &["CLUSTER", "NODES"]).ok())
            .map(|text| parse_nodes(&text))
            .expect("a live node answers CLUSTER NODES")
    }

    /// Ports of the masters that serve slots and are not failed.
    pub fn masters(&self) -> Vec<u16> {
        self.topology().into_iter().filter(|n| n.is_master && n.serves_slots && !n.failed).map(|n| n.port).collect()
    }

    /// Every key stored on each live master, by port (`--scan`: a test cluster holds few keys).
    pub fn keys_by_master(&self) -> BTreeMap<u16, BTreeSet<String>> {
        let live = self.live_ports();
        self.masters()
            .into_iter()
            .filter(|port| live.contains(port))
            .map(|port| {
                let keys = cli(port, &["--scan"]).unwrap_or_else(|e| panic!("{e}"));
                (port, keys.lines().filter(|k| !k.is_empty()).map(ToOwned::to_owned).collect())
            })
            .collect()
    }

    /// SIGKILL the node on `port`, as a crash would.
    pub fn kill(&mut self, port: u16) {
        let node = self.nodes.iter_mut().find(|n| n.port == port).expect("a node of this cluster");
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP (`pause`) or SIGCONT the node on `port`: a stalled node, not a dead one.
    fn signal(&self, port: u16, signal: &str) {
        let node = self.nodes.iter().find(|n| n.port == port).expect("a node of this cluster");
        let pid = node.child.as_ref().expect("a live node").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().expect("run kill");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Stop the node on `port` (SIGSTOP): it keeps its connections but answers nothing.
    pub fn pause(&self, port: u16) {
        self.signal(port, "-STOP");
    }

    /// Continue a [paused](Self::pause) node.
    pub fn resume(&self, port: u16) {
        self.signal(port, "-CONT");
    }

    /// The port of the live master serving `key`'s hash slot.
    pub fn master_of(&self, key: &str) -> u16 {
        let asked = self.masters()[0];
        let slot: u16 = cli(asked, &["CLUSTER", "KEYSLOT", key])
            .unwrap_or_else(|e| panic!("{e}"))
            .trim()
            .parse()
            .expect("CLUSTER KEYSLOT answers a slot");
        self.topology()
            .into_iter()
            .find(|n| n.is_master && !n.failed && n.slots.iter().any(|(first, last)| (*first..=*last).contains(&slot)))
            .map(|n| n.port)
            .expect("a master serves the slot")
    }

    /// The replica of the master on `port`.
    pub fn replica_of(&self, port: u16) -> u16 {
        let topology = self.topology();
        let master = topology.iter().find(|n| n.port == port).expect("master in CLUSTER NODES");
        topology
            .iter()
            .find(|n| n.master_id.as_deref() == Some(master.id.as_str()))
            .map(|n| n.port)
            .expect("the master has a replica")
    }

    /// Whether every live node says `cluster_state:ok` and three live masters serve the slots
    /// (after a kill: the replica has taken over).
    pub fn is_ok(&self) -> bool {
        let live = self.live_ports();
        let state_ok = live.iter().all(|port| {
            cli(*port, &["CLUSTER", "INFO"]).is_ok_and(|info| info.lines().any(|l| l.trim() == "cluster_state:ok"))
        });
        state_ok && self.masters().iter().filter(|port| live.contains(port)).count() == 3
    }

    /// Wait (bounded) until the cluster [is ok](Self::is_ok) and every live replica is in sync
    /// with its master (a replica that never synced would not be elected when its master dies).
    pub fn wait_until_ok(&self) {
        wait_until("every node reports cluster_state:ok with three live masters", CLUSTER_WAIT, || self.is_ok());
        // Every live node but the three masters replicates one, in sync.
        wait_until("every replica is in sync", CLUSTER_WAIT, || {
            let live = self.live_ports();
            let in_sync = live
                .iter()
                .filter(|port| {
                    cli(**port, &["INFO", "replication"])
                        .is_ok_and(|info| info.lines().any(|l| l.trim() == "master_link_status:up"))
                })
                .count();
            in_sync == live.len() - 3
        });
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
