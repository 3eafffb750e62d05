//! A minimal Lambda Runtime API on loopback, enough to start a function binary, hand it one
//! event and read its response, and to time how long it takes to first ask for an event.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub enum Signal {
    /// The function asked for its first event.
    FirstNext(Instant),
    /// The function answered the event (body) or reported an error (body, with `false`).
    Done(String, bool),
}

pub struct RuntimeApi {
    pub address: String,
    pub signals: std::sync::mpsc::Receiver<Signal>,
}

struct Shared {
    event: Option<String>,
    asked: bool,
    tx: Sender<Signal>,
}

/// Starts a server that gives `event` (or nothing, when `None`: for timing start-up only) to
/// the first request for the next invocation, and holds every later one.
pub fn start(event: Option<String>) -> RuntimeApi {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind runtime api");
    let address = listener.local_addr().unwrap().to_string();
    let (tx, signals) = channel();
    let shared = Arc::new(Mutex::new(Shared {
        event,
        asked: false,
        tx,
    }));
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let shared = Arc::clone(&shared);
            thread::spawn(move || serve(stream, &shared));
        }
    });
    RuntimeApi { address, signals }
}

fn serve(stream: TcpStream, shared: &Mutex<Shared>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        if path.ends_with("/invocation/next") {
            let event = {
                let mut s = shared.lock().unwrap();
                if !s.asked {
                    s.asked = true;
                    let _ = s.tx.send(Signal::FirstNext(Instant::now()));
                }
                s.event.take()
            };
            let Some(event) = event else {
                // No (more) events: hold the request until the process is stopped.
                thread::sleep(Duration::from_secs(3600));
                return;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 900_000;
            let _ = write!(
                writer,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: bench-1\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\nContent-Length: {}\r\n\r\n{event}",
                event.len()
            );
        } else {
            let ok = path.ends_with("/response");
            let _ = shared.lock().unwrap().tx.send(Signal::Done(
                String::from_utf8_lossy(&body).into_owned(),
                ok,
            ));
            let _ = write!(
                writer,
                "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{{}}"
            );
        }
    }
}
