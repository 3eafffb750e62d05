//! The emulator's own endpoints: its URL, faults, and a proxy that can go away.

use std::io::{Read, Write};
use std::net::TcpStream;

const DEFAULT_URL: &str = "http://127.0.0.1:4566";

/// The emulator's base URL: `PLGOV_EMULATOR_URL`, else `AWS_ENDPOINT_URL`, else the default.
pub fn emulator_url() -> String {
    std::env::var("PLGOV_EMULATOR_URL")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Arms a fault in the emulator (see dev/emulator/plgov_emulator/control.py).
pub fn arm_fault(fault: serde_json::Value) {
    let (status, body) = http("POST", "/_plgov/faults", &fault.to_string());
    assert_eq!(status, 200, "arming fault failed: {body}");
}

/// A minimal HTTP/1.1 exchange with the emulator's control endpoints: (status, body).
pub fn http(method: &str, path: &str, body: &str) -> (u16, String) {
    let url = emulator_url();
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).expect("connect to the emulator");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Disarms the faults armed for `account` (and only those: other tests keep theirs).
pub fn disarm_faults(account: &str) {
    let (status, body) = http("DELETE", &format!("/_plgov/faults?account={account}"), "");
    assert_eq!(status, 200, "disarming faults failed: {body}");
}

/// A TCP proxy in front of the emulator that can go away and come back, as an AWS endpoint
/// seen through a restart: while down, open connections are cut and new ones are closed at once.
/// The emulator keeps its state, as AWS does across such a restart.
pub struct FlakyProxy {
    pub url: String,
    up: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl FlakyProxy {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = emulator_url()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let (tx, rx) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let mut state = rx.clone();
                if !*state.borrow() {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = state.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self {
            url,
            up: std::sync::Arc::new(tx),
        }
    }

    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}
