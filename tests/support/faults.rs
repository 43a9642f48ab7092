//! A scriptable mock provider over raw TCP, for faults an HTTP mock library cannot produce:
//! connection resets mid-response, slow drips, silence, oversized bodies. Each accepted
//! connection takes the next scripted behaviour (the last one repeats) and is counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub enum Fault {
    /// A complete HTTP response.
    Respond { status: u16, headers: Vec<(&'static str, String)>, body: String },
    /// Send the head and part of the body, then reset the connection.
    ResetMidResponse,
    /// Accept and read, never answer.
    Silence,
    /// A valid head, then the body one byte per `interval`.
    Drip { interval: Duration },
    /// A 200 with a body of `bytes` bytes (streamed).
    Huge { bytes: usize },
}

impl Fault {
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::Respond { status, headers: vec![], body: body.to_string() }
    }
}

pub struct FaultServer {
    pub url: String,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultServer {
    pub async fn start(script: Vec<Fault>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let index = counter.fetch_add(1, Ordering::SeqCst);
                let fault = script.get(index).or_else(|| script.last()).cloned();
                if let Some(fault) = fault {
                    tokio::spawn(serve(stream, fault));
                }
            }
        });
        Self { url, connections, task }
    }

    /// Connections accepted so far (the gateway opens one per attempt here, since every
    /// scripted answer closes its connection).
    pub fn attempts(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(stream: &mut TcpStream) {
    let mut buffer = vec![0_u8; 64 * 1024];
    let mut seen = Vec::new();
    // Read the head and whatever body arrives with it; the gateway's bodies are small.
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buffer)).await {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buffer[..n]);
        if let Some(head_end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..head_end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if seen.len() >= head_end + 4 + length {
                break;
            }
        }
    }
}

fn head(status: u16, headers: &[(&str, String)], length: usize) -> String {
    let mut text = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n"
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text
}

async fn serve(mut stream: TcpStream, fault: Fault) {
    read_request(&mut stream).await;
    match fault {
        Fault::Respond { status, headers, body } => {
            let _ = stream.write_all(head(status, &headers, body.len()).as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
        }
        Fault::ResetMidResponse => {
            let _ = stream.write_all(head(200, &[], 1000).as_bytes()).await;
            let _ = stream.write_all(b"{\"id\": \"cs_").await;
            // SO_LINGER 0 turns the close into a reset.
            let _ = stream.set_zero_linger();
        }
        Fault::Silence => tokio::time::sleep(Duration::from_secs(60)).await,
        Fault::Drip { interval } => {
            let body = "{\"id\": \"cs_drip\", \"object\": \"checkout.session\", \"status\": \"open\"}";
            let _ = stream.write_all(head(200, &[], body.len()).as_bytes()).await;
            for byte in body.bytes() {
                if stream.write_all(&[byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(interval).await;
            }
        }
        Fault::Huge { bytes } => {
            let _ = stream.write_all(head(200, &[], bytes).as_bytes()).await;
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < bytes {
                let n = chunk.len().min(bytes - sent);
                if stream.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                sent += n;
            }
        }
    }
    let _ = stream.shutdown().await;
}
