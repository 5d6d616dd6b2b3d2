//! A tiny agent on the Amazon Bedrock AgentCore Runtime HTTP contract.
//!
//! It replaces the FastAPI echo agent of the seed experiment: `POST /invocations` answers
//! `{"echo": <the request object>}`, `GET /ping` answers the contract's health document and
//! `GET /.well-known/agent-card.json` an A2A agent card describing the echo. Test knobs
//! live in one reserved key of the payload, `{"_dummy": {"sleep_ms": 200, "stream": 5, "status": 503}}`
//! (each member optional; see [`Knobs`]); without it the agent is a pure echo.
//!
//! [`app`] builds the [`Router`] (for embedding, and for `tower::ServiceExt::oneshot` tests);
//! [`serve`] runs it with a bounded graceful shutdown. The `dummy-agent` binary wraps both.

mod card;
mod error;
mod health;
mod invocations;
mod state;

use std::future::{Future, IntoFuture};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderName;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;

pub use card::{A2A_PROTOCOL_VERSION, AGENT_CARD_PATH, card};
pub use health::{Clock, system_clock};
pub use invocations::{KNOBS_KEY, Knobs};

/// The session id header AgentCore forwards to the container; the agent echoes it in every response.
pub const SESSION_ID_HEADER: HeaderName = HeaderName::from_static("x-amzn-bedrock-agentcore-runtime-session-id");

/// AgentCore's payload limit for `InvokeAgentRuntime` (100 MB), the default request body limit.
pub const DEFAULT_BODY_LIMIT: usize = 100_000_000;

/// How the agent behaves; [`Config::default`] is the AgentCore contract.
#[derive(Clone)]
pub struct Config {
    /// Largest accepted `/invocations` body in bytes; larger bodies get 413.
    pub body_limit: usize,
    /// Unix seconds for `time_of_last_update` in `/ping` (replaceable in tests).
    pub clock: Clock,
}

impl Default for Config {
    fn default() -> Self {
        Self { body_limit: DEFAULT_BODY_LIMIT, clock: system_clock() }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config").field("body_limit", &self.body_limit).finish_non_exhaustive()
    }
}

/// The agent: `GET /ping`, `POST /invocations`, `GET /.well-known/agent-card.json`, JSON errors for
/// everything else. `POST /mcp` and `POST /` echo like `/invocations`: the paths AgentCore posts to
/// for the MCP and A2A protocols, so one agent answers a runtime of any protocol (it speaks neither
/// MCP nor A2A's JSON-RPC).
pub fn app(config: Config) -> Router {
    let health = std::sync::Arc::new(health::Health::new(config.clock));
    let state = state::AppState { health, body_limit: config.body_limit };
    let routes = Router::new()
        .route("/ping", get(health::ping))
        .route("/invocations", post(invocations::invoke))
        .route("/mcp", post(invocations::invoke))
        .route("/", post(invocations::invoke))
        .route(AGENT_CARD_PATH, get(card::agent_card))
        .with_state(state);
    with_contract_layers(routes)
}

/// Wraps `router` in what [`app`] puts around its routes: JSON 404 and 405 answers, panics turned into
/// JSON 500s, the session id header echoed, and one JSON access-log line per request.
pub fn with_contract_layers(router: Router) -> Router {
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(CatchPanicLayer::custom(error::panicked))
        .layer(middleware::from_fn(access_log))
}

/// Echoes the session id header and logs one line per request (target `dummy_agent::access`).
async fn access_log(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let session_id = request.headers().get(&SESSION_ID_HEADER).cloned();
    let mut response = next.run(request).await;
    if let Some(session_id) = &session_id {
        response.headers_mut().insert(SESSION_ID_HEADER, session_id.clone());
    }
    tracing::info!(
        target: "dummy_agent::access",
        method = %method,
        path = uri.path(),
        status = response.status().as_u16(),
        latency_ms = start.elapsed().as_micros() as f64 / 1e3,
        session_id = session_id.as_ref().and_then(|v| v.to_str().ok()),
        "request"
    );
    response
}

/// Environment variable naming the process that started this agent (agentcore-local sets it to its
/// own pid for every microVM). The agent exits once that process is gone, so a SIGKILLed emulator
/// (or the `cargo xtask verify` embedding it) leaves no agents listening behind. Any agent run by
/// agentcore-local can do the same: poll, and exit when `getppid()` changes or the pid is gone.
pub const PARENT_PID_ENV: &str = "AGENTCORE_LOCAL_PARENT_PID";

/// How often [`parent_gone`] looks.
pub const PARENT_POLL: Duration = Duration::from_secs(1);

/// Resolves once process `pid` is gone, looking every `interval`. When `pid` is this process's
/// parent, that is when the parent changes (the orphan is re-parented at once, even while the dead
/// parent is an unreaped zombie); otherwise (started through a shell, say) when signalling `pid`
/// says there is no such process.
pub async fn parent_gone(pid: u32, interval: Duration) {
    let direct = std::os::unix::process::parent_id() == pid;
    loop {
        let gone = if direct { std::os::unix::process::parent_id() != pid } else { !is_alive(pid) };
        if gone {
            return;
        }
        tokio::time::sleep(interval).await;
    }
}

fn is_alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else { return false };
    !matches!(nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None), Err(nix::errno::Errno::ESRCH))
}

/// How [`serve`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drain {
    /// Every in-flight request finished after the shutdown signal.
    Complete,
    /// The drain deadline passed with requests still in flight; they were abandoned.
    DeadlinePassed,
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting connections and lets
/// in-flight requests finish for at most `drain_timeout`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain_timeout: Duration,
) -> std::io::Result<Drain> {
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = signalled_tx.send(());
        })
        .into_future();
    let deadline = async move {
        match signalled_rx.await {
            Ok(()) => tokio::time::sleep(drain_timeout).await,
            // The server ended by itself; the other branch of the select wins.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        result = server => result.map(|()| Drain::Complete),
        () = deadline => Ok(Drain::DeadlinePassed),
    }
}
