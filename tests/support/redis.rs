//! A real `redis-server` for tests: installed from Debian's packages if missing, started on a
//! free loopback port with persistence off, stopped when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

/// `redis-server`, and `redis-cli` (Debian's `redis-tools`, which the cluster tests drive).
pub fn ensure_installed() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let runs = |program: &str| {
            Command::new(program).arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success())
        };
        if runs("redis-server") && runs("redis-cli") {
            return;
        }
        let run = |args: &[&str]| {
            let status = Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null())
                .status()
                .expect("apt-get runs (tests install redis-server as root)");
            assert!(status.success(), "apt-get {args:?} failed");
        };
        run(&["update", "-qq"]);
        run(&["install", "-y", "-qq", "redis-server", "redis-tools"]);
    });
}

impl RedisServer {
    pub fn start() -> Self {
        ensure_installed();
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let dir = tempfile::tempdir().expect("dir");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let server = Self { url: format!("redis://127.0.0.1:{port}"), child, _dir: dir };
        server.wait_ready(port);
        server
    }

    fn wait_ready(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let mut reply = [0_u8; 7];
                if stream.write_all(b"PING\r\n").is_ok()
                    && stream.read_exact(&mut reply).is_ok()
                    && &reply == b"+PONG\r\n"
                {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not answer on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
