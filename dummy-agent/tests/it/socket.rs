//! Real sockets on loopback: the served router, and the `dummy-agent` binary under SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A response read off the wire (the agent's JSON answers carry a Content-Length).
#[derive(Debug)]
struct Wire {
    status: u16,
    head: String,
    body: Vec<u8>,
}

/// One HTTP/1.1 request on a fresh connection, `Connection: close`, read to the end (bounded).
fn http(address: SocketAddr, method: &str, path: &str, body: &str) -> std::io::Result<Wire> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no HTTP head in {raw:?}")))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok(Wire { status, head, body: raw[split + 4..].to_vec() })
}

fn ping_status(address: SocketAddr) -> String {
    let wire = http(address, "GET", "/ping", "").expect("ping");
    assert_eq!(wire.status, 200);
    let body: Value = serde_json::from_slice(&wire.body).unwrap();
    body["status"].as_str().unwrap().to_owned()
}

fn wait_for_busy(address: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while ping_status(address) != "HealthyBusy" {
        assert!(Instant::now() < deadline, "/ping never reported HealthyBusy");
        thread::sleep(Duration::from_millis(10));
    }
}

/// Sends a slow invocation from a thread; the answer arrives on the returned channel.
fn slow_invocation(address: SocketAddr, sleep_ms: u64) -> mpsc::Receiver<std::io::Result<Wire>> {
    let (tx, rx) = mpsc::channel();
    let body = format!(r#"{{"prompt":"slow","_dummy":{{"sleep_ms":{sleep_ms}}}}}"#);
    thread::spawn(move || tx.send(http(address, "POST", "/invocations", &body)));
    rx
}

#[test]
fn served_router_answers_ping_while_an_invocation_is_in_flight_and_drains_it() {
    let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let (address_tx, address_rx) = mpsc::channel();
    let server = thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            address_tx.send(listener.local_addr().unwrap()).unwrap();
            let app = dummy_agent::app(dummy_agent::Config::default());
            let shutdown = async move {
                let _ = shutdown_rx.await;
            };
            dummy_agent::serve(listener, app, shutdown, Duration::from_secs(10)).await
        })
    });
    let address = address_rx.recv_timeout(Duration::from_secs(5)).unwrap();

    assert_eq!(ping_status(address), "Healthy");
    let answer = slow_invocation(address, 1_000);
    wait_for_busy(address);
    let start = Instant::now();
    assert_eq!(ping_status(address), "HealthyBusy");
    assert!(start.elapsed() < Duration::from_millis(900), "/ping waited behind the invocation");

    shutdown_tx.send(()).unwrap();
    let wire = answer.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
    assert_eq!(wire.status, 200, "{wire:?}");
    let body: Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(body["echo"]["prompt"], "slow");
    let drain = server.join().unwrap().unwrap();
    assert_eq!(drain, dummy_agent::Drain::Complete);
}

/// The binary on a free loopback port, its stdout lines collected by a thread.
struct Agent {
    child: Child,
    address: SocketAddr,
    lines: mpsc::Receiver<String>,
}

impl Agent {
    fn start(extra_args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dummy-agent"))
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(extra_args)
            .env_remove("PORT")
            .env_remove("HOST")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dummy-agent");
        let (tx, lines) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(10)).expect("a first log line");
        let listening: Value = serde_json::from_str(&first).expect("stdout is JSON lines");
        assert_eq!(listening["message"], "listening", "{first}");
        let address = listening["address"].as_str().unwrap().parse().unwrap();
        Agent { child, address, lines }
    }

    fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("run kill");
        assert!(status.success());
    }

    /// Waits (bounded) for the process to exit, and returns how long that took.
    fn wait_exit(&mut self, within: Duration) -> (std::process::ExitStatus, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, start.elapsed());
            }
            if start.elapsed() > within {
                let _ = self.child.kill();
                panic!("dummy-agent did not exit within {within:?}");
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every stdout line so far, each parsed as JSON (the binary prints nothing else).
    fn log(&self) -> Vec<Value> {
        self.lines
            .try_iter()
            .map(|line| serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sigterm_stops_accepting_finishes_the_in_flight_request_and_exits_0() {
    let mut agent = Agent::start(&[]);
    let address = agent.address;
    let answer = slow_invocation(address, 1_500);
    wait_for_busy(address);

    agent.terminate();
    // New connections are refused once the listener is closed (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
        assert!(Instant::now() < deadline, "still accepting connections after SIGTERM");
        thread::sleep(Duration::from_millis(10));
    }

    let wire = answer.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
    assert_eq!(wire.status, 200, "{wire:?}");
    assert!(wire.head.to_ascii_lowercase().contains("content-type: application/json"));
    let body: Value = serde_json::from_slice(&wire.body).unwrap();
    assert_eq!(body["echo"]["prompt"], "slow");

    let (status, _) = agent.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    thread::sleep(Duration::from_millis(50)); // let the reader thread take the last lines
    let log = agent.log();
    let messages: Vec<&str> = log.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(messages.contains(&"draining"), "{messages:?}");
    assert!(messages.contains(&"drained, exiting"), "{messages:?}");
    let access = log.iter().find(|l| l["path"] == "/invocations").expect("an access line for the invocation");
    assert_eq!(access["method"], "POST");
    assert_eq!(access["status"], 200);
    assert!(access["latency_ms"].as_f64().unwrap() >= 1_500.0, "{access}");
}

#[test]
fn sigterm_with_a_request_outliving_the_drain_deadline_still_exits_0_at_the_deadline() {
    let mut agent = Agent::start(&["--drain-timeout", "300ms"]);
    let answer = slow_invocation(agent.address, 20_000);
    wait_for_busy(agent.address);
    agent.terminate();
    let (status, took) = agent.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(5), "exited after {took:?}");
    // The abandoned request gets no answer: the connection closes without a response.
    assert!(answer.recv_timeout(Duration::from_secs(10)).unwrap().is_err());
}

#[test]
fn port_and_host_come_from_the_environment_when_no_flags_are_given() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dummy-agent"))
        .env("PORT", port.to_string())
        .env("HOST", "127.0.0.1")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let wire = loop {
        match http(address, "GET", "/ping", "") {
            Ok(wire) => break wire,
            Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("no answer on {address}: {e}"),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(wire.status, 200);
}
