//! The real `checkout-gateway` binary as a child process: its log lines collected, its address
//! read from the start-up log, signals sent with `kill`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct GatewayProcess {
    pub base: String,
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl GatewayProcess {
    /// Start `checkout-gateway serve --config <path>` with `RUST_LOG=<log_level>`; the config
    /// must listen on `127.0.0.1:0` with `log_format = "json"`.
    pub fn start(config_path: &std::path::Path, log_level: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_checkout-gateway"))
            .args(["serve", "--config"])
            .arg(config_path)
            .env("RUST_LOG", log_level)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gateway");
        let logs = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = Arc::clone(&logs);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    sink.lock().expect("logs").push(line);
                }
            });
        }
        let mut process = Self { base: String::new(), child, logs };
        let line = process.wait_for_log("checkout-gateway listening", Duration::from_secs(20));
        let addr = line.split("\"addr\":\"").nth(1).and_then(|rest| rest.split('"').next()).expect("addr in log line");
        process.base = format!("http://{addr}");
        process
    }

    /// The first log line containing `needle`, waiting at most `limit`.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.logs.lock().expect("logs").iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            assert!(Instant::now() < deadline, "no log line with {needle:?}; logs:\n{}", self.logs().join("\n"));
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The child's process id (for `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().expect("logs").clone()
    }

    pub fn signal(&self, name: &str) {
        let status =
            Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().expect("kill");
        assert!(status.success());
    }

    /// Wait for the process to exit by itself, at most `limit`; its exit success.
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.success();
            }
            assert!(Instant::now() < deadline, "the gateway did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
