//! The `http` target: `POST <url>` straight to an agent on the AgentCore HTTP contract, over HTTP/1.1
//! keep-alive connections (plain TCP, or TLS with rustls for `https://`).
//!
//! Lean on purpose, because this is the path measured against wrk and oha. Profiling hyper's client
//! connections here showed a quarter of the user time in the channel and the second task between
//! `SendRequest` and its connection; so a request is written and its response read by the task that
//! sends it, on its own connection: the request in one `write` (its fixed head built once), the
//! response read into the connection's buffer and parsed in place ([`response`]: `httparse` for the
//! head, a bounded decoder for `Content-Length` and `chunked` bodies), nothing collected but a
//! failure's first bytes. Idle connections wait on a stack: a closed-model worker takes one and gives
//! it back, so each worker keeps its own connection.

mod response;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use http::Uri;
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use self::response::{BodyDecoder, MAX_HEAD, ResponseError, parse_head};
use crate::target::{Answer, CONNECT, Call, Failure, OTHER, Target};

/// The session header AgentCore forwards to the container.
pub const SESSION_HEADER: &str = "x-amzn-bedrock-agentcore-runtime-session-id";

/// How many bytes of a failed response's body are kept for its error sample.
const FAILURE_BODY: usize = 512;
/// A connection's read buffer to start with (grown up to [`MAX_HEAD`] for a long head).
const READ_BUFFER: usize = 16 * 1024;

/// `POST <url>` with a JSON payload, straight to an agent on the AgentCore HTTP contract.
pub struct Http {
    url: Uri,
    /// `host:port` to connect to.
    address: String,
    /// `POST <path> HTTP/1.1`, `Host` and `Content-Type`: every request's first bytes.
    head: Vec<u8>,
    tls: Option<Tls>,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    /// `--connections N`: at most N connections, a request waiting for a free one (as wrk2's `-c`).
    connections: Option<Arc<tokio::sync::Semaphore>>,
}

/// One keep-alive connection and its buffers.
struct Connection {
    stream: Stream,
    read: Vec<u8>,
    write: Vec<u8>,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Stream {
    async fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(stream) => stream.read(buffer).await,
            Self::Tls(stream) => stream.read(buffer).await,
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Plain(stream) => stream.write_all(bytes).await,
            Self::Tls(stream) => {
                stream.write_all(bytes).await?;
                stream.flush().await
            }
        }
    }
}

/// A response read to its end.
struct Response {
    status: u16,
    first_byte: Instant,
    bytes: u64,
    /// A failure's first bytes.
    kept: Vec<u8>,
    keep_alive: bool,
}

/// Why a request and its response did not complete.
enum Broken {
    /// Nothing of a response arrived before the connection failed or closed: on a reused
    /// connection the server may have closed it while idle, so the request is tried once more.
    BeforeResponse(String),
    /// Part of a response arrived, or it was not HTTP.
    During(String),
}

impl From<ResponseError> for Broken {
    fn from(error: ResponseError) -> Self {
        Self::During(error.to_string())
    }
}

struct Tls {
    connector: tokio_rustls::TlsConnector,
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("url", &self.url).field("tls", &self.tls.is_some()).finish_non_exhaustive()
    }
}

impl Http {
    /// `url` is the agent's base URL (`http://127.0.0.1:8080`, `/invocations` is appended) or the
    /// full invocation URL; `https://` URLs are verified against the system's root certificates.
    /// At most `pool` idle connections are kept for reuse.
    pub fn new(url: &str, pool: usize) -> Result<Self, String> {
        Self::build(url, pool, None)
    }

    /// As [`Http::new`], but an `https://` server's certificate is verified against the PEM
    /// certificates in `ca_pem` only (curl's `--cacert`), e.g. a private CA or a self-signed test server.
    pub fn with_ca(url: &str, pool: usize, ca_pem: &[u8]) -> Result<Self, String> {
        Self::build(url, pool, Some(ca_pem))
    }

    fn build(text: &str, pool: usize, ca_pem: Option<&[u8]>) -> Result<Self, String> {
        let invalid = |why: &dyn std::fmt::Display| format!("invalid --url {text:?}: {why}");
        let url: Uri = text.parse().map_err(|e| invalid(&e))?;
        let https = match url.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(invalid(&"the scheme must be http or https")),
        };
        let authority = url.authority().ok_or_else(|| invalid(&"no host"))?.clone();
        if authority.as_str().contains('@') {
            return Err(invalid(&"user information in the URL is not supported"));
        }
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_string();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path: Uri = match url.path_and_query().map(|p| p.as_str()) {
            None | Some("/") | Some("") => Uri::from_static("/invocations"),
            Some(path) => path.parse().map_err(|e| invalid(&e))?,
        };
        let tls = if https {
            let server_name = ServerName::try_from(host.clone()).map_err(|e| invalid(&e))?;
            Some(Tls { connector: tls_connector(ca_pem)?, server_name })
        } else if ca_pem.is_some() {
            return Err("--cacert needs an https:// --url".into());
        } else {
            None
        };
        let address = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        let head =
            format!("POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n").into_bytes();
        Ok(Self {
            url,
            address,
            head,
            tls,
            idle: Mutex::new(Vec::with_capacity(pool)),
            max_idle: pool,
            connections: None,
        })
    }

    /// At most `limit` connections at once: a request waits for a free one (wrk2's `-c` with `-R`).
    /// The wait counts in the corrected latency, not in the uncorrected one (see [`Answer::sent`]):
    /// a target that stalls shows how much coordinated omission would have hidden.
    pub fn with_connection_limit(mut self, limit: usize) -> Self {
        self.max_idle = self.max_idle.max(limit);
        self.connections =
            Some(Arc::new(tokio::sync::Semaphore::new(limit.clamp(1, tokio::sync::Semaphore::MAX_PERMITS))));
        self
    }

    /// The URL requests are posted to, as given.
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// `host:port` of the agent.
    pub fn address(&self) -> &str {
        &self.address
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    fn give_back(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.max_idle {
            idle.push(connection);
        }
    }

    async fn connect(&self) -> Result<Connection, Failure> {
        let stream = TcpStream::connect(&self.address)
            .await
            .map_err(|e| Failure::new(CONNECT, format!("cannot connect to {}: {e}", self.address)))?;
        let _ = stream.set_nodelay(true);
        let stream = match &self.tls {
            None => Stream::Plain(stream),
            Some(tls) => Stream::Tls(Box::new(
                tls.connector
                    .connect(tls.server_name.clone(), stream)
                    .await
                    .map_err(|e| Failure::new(CONNECT, format!("TLS handshake with {}: {e}", self.address)))?,
            )),
        };
        Ok(Connection { stream, read: vec![0; READ_BUFFER], write: Vec::with_capacity(1024) })
    }

    /// The request's bytes, in the connection's write buffer.
    fn encode(&self, call: &Call, into: &mut Vec<u8>) {
        into.clear();
        into.extend_from_slice(&self.head);
        if let Some(session) = &call.session_id
            && !session.bytes().any(|b| b == b'\r' || b == b'\n')
        {
            into.extend_from_slice(SESSION_HEADER.as_bytes());
            into.extend_from_slice(b": ");
            into.extend_from_slice(session.as_bytes());
            into.extend_from_slice(b"\r\n");
        }
        let mut length = String::with_capacity(32);
        let _ = write!(length, "Content-Length: {}\r\n\r\n", call.payload.len());
        into.extend_from_slice(length.as_bytes());
        into.extend_from_slice(&call.payload);
    }
}

/// Writes the request in the connection's write buffer and reads the whole response.
async fn round_trip(connection: &mut Connection, keep_failure: bool) -> Result<Response, Broken> {
    let Connection { stream, read: buffer, write } = connection;
    stream.write_all(write).await.map_err(|e| Broken::BeforeResponse(format!("sending the request: {e}")))?;
    let mut filled = 0;
    let (head, mut start) = loop {
        // What is already read may hold a whole head (after an informational answer) before any read.
        if filled > 0 {
            match parse_head(&buffer[..filled])? {
                // An informational answer (`100 Continue`, `103 Early Hints`): skip it, the real one follows.
                Some((head, length)) if (100..200).contains(&head.status) => {
                    buffer.copy_within(length..filled, 0);
                    filled -= length;
                    continue;
                }
                Some((head, length)) => break (head, length),
                None => {}
            }
        }
        if filled == buffer.len() {
            if buffer.len() > MAX_HEAD {
                return Err(ResponseError(format!("head longer than {MAX_HEAD} bytes")).into());
            }
            buffer.resize(buffer.len() * 2, 0);
        }
        let n = match stream.read(&mut buffer[filled..]).await {
            Ok(n) => n,
            Err(e) if filled == 0 => return Err(Broken::BeforeResponse(format!("reading the response: {e}"))),
            Err(e) => return Err(Broken::During(format!("reading the response: {e}"))),
        };
        if n == 0 {
            return Err(match filled {
                0 => Broken::BeforeResponse("the connection closed before a response".into()),
                _ => Broken::During("the connection closed in the response head".into()),
            });
        }
        filled += n;
    };
    let head_done = Instant::now();
    let failed = !(200..300).contains(&head.status);
    let mut decoder = BodyDecoder::new(head.body);
    let (mut first_byte, mut bytes, mut kept) = (None, 0u64, Vec::new());
    loop {
        let used = decoder.decode(&buffer[start..filled], &mut |data: &[u8]| {
            if data.is_empty() {
                return;
            }
            first_byte.get_or_insert_with(Instant::now);
            bytes += data.len() as u64;
            if failed && keep_failure && kept.len() < FAILURE_BODY {
                kept.extend_from_slice(&data[..data.len().min(FAILURE_BODY - kept.len())]);
            }
        })?;
        start += used;
        if decoder.is_done() {
            break;
        }
        // Keep an incomplete line (the decoder wants it whole), then read more after it.
        buffer.copy_within(start..filled, 0);
        filled -= start;
        start = 0;
        let n =
            stream.read(&mut buffer[filled..]).await.map_err(|e| Broken::During(format!("reading the body: {e}")))?;
        if n == 0 {
            decoder.end_of_input()?;
            break;
        }
        filled += n;
    }
    Ok(Response {
        status: head.status,
        first_byte: first_byte.unwrap_or(head_done),
        bytes,
        kept,
        // Bytes past the response (nothing was asked for them): the connection is not trusted again.
        keep_alive: head.keep_alive && start == filled,
    })
}

fn tls_connector(ca_pem: Option<&[u8]>) -> Result<tokio_rustls::TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("--cacert: not a PEM certificate: {e}"))?;
                roots.add(cert).map_err(|e| format!("--cacert: {e}"))?;
            }
            if roots.is_empty() {
                return Err("--cacert: no certificate in the file".into());
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                let errors: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
                return Err(format!(
                    "no root certificates found on this system for https ({}); give --cacert",
                    errors.join("; ")
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

impl Target for Http {
    async fn invoke(&self, call: &Call) -> Result<Answer, Failure> {
        let (_permit, sent) = match &self.connections {
            Some(limit) => {
                let permit = limit.acquire().await.map_err(|e| Failure::new(OTHER, e.to_string()))?;
                (Some(permit), Some(Instant::now()))
            }
            None => (None, None),
        };
        let (mut connection, reused) = match self.take_idle() {
            Some(connection) => (connection, true),
            None => (self.connect().await?, false),
        };
        self.encode(call, &mut connection.write);
        let response = match round_trip(&mut connection, true).await {
            Ok(response) => response,
            // A kept connection the server closed meanwhile: nothing came back, so one new connection
            // is tried (as every HTTP client does for an idle connection it reuses).
            Err(Broken::BeforeResponse(_)) if reused => {
                let fresh = self.connect().await?;
                connection = Connection { write: std::mem::take(&mut connection.write), ..fresh };
                round_trip(&mut connection, true).await.map_err(|broken| match broken {
                    Broken::BeforeResponse(why) | Broken::During(why) => Failure::new(OTHER, why),
                })?
            }
            Err(Broken::BeforeResponse(why) | Broken::During(why)) => return Err(Failure::new(OTHER, why)),
        };
        if response.keep_alive {
            self.give_back(connection);
        }
        if !(200..300).contains(&response.status) {
            let text = String::from_utf8_lossy(&response.kept);
            return Err(Failure::new(format!("HTTP {}", response.status), text.chars().take(300).collect::<String>()));
        }
        Ok(Answer { first_byte: response.first_byte, bytes: response.bytes, sent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_an_address_a_host_header_and_a_path() {
        let http = Http::new("http://127.0.0.1:8080", 1).unwrap();
        assert_eq!(http.address(), "127.0.0.1:8080");
        let head = "POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\n";
        assert_eq!(String::from_utf8_lossy(&http.head), head);
        let call = Call { seq: 0, payload: bytes::Bytes::from_static(b"{}"), session_id: Some("s-1".into()) };
        let mut wire = Vec::new();
        http.encode(&call, &mut wire);
        let expected = format!("{head}{SESSION_HEADER}: s-1\r\nContent-Length: 2\r\n\r\n{{}}");
        assert_eq!(String::from_utf8_lossy(&wire), expected);
        let http = Http::new("http://[::1]/agent/invoke?x=1", 1).unwrap();
        assert_eq!(http.address(), "[::1]:80");
        assert!(String::from_utf8_lossy(&http.head).starts_with("POST /agent/invoke?x=1 HTTP/1.1\r\nHost: [::1]\r\n"));
        for bad in ["ftp://host/", "127.0.0.1:8080", "http://user:pw@host/", "http:///x"] {
            assert!(Http::new(bad, 1).is_err(), "{bad}");
        }
        assert!(Http::with_ca("http://127.0.0.1:1", 1, b"").unwrap_err().contains("https"));
        assert!(Http::with_ca("https://127.0.0.1:1", 1, b"not pem").unwrap_err().contains("--cacert"));
    }
}
