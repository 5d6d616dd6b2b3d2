//! `agentcore-local`: an offline Amazon Bedrock AgentCore control plane and EC2 slice that speaks
//! the real AWS wire protocols, so the unmodified AWS SDKs, the AWS CLI and boto3 work against it
//! through an endpoint URL. It reproduces AgentCore's VPC ENI mechanism (shared `agentic_ai` ENIs
//! that linger after their last runtime is gone) on a clock that can run faster than real time.
//!
//! ```no_run
//! # async fn demo() -> Result<(), agentcore_local::StartError> {
//! let handle = agentcore_local::start(agentcore_local::Config::default()).await?;
//! println!("{}", handle.endpoint_url()); // http://127.0.0.1:PORT
//! handle.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules, from the top down (each imports only modules below it):
//! * [`router`]: one listener; tells the services apart by the request, bounds and authenticates
//!   it, injects faults ([`faults`], `--fault`) and answers errors in the protocol's shape; the
//!   private `serve` module is the accept loop (header read timeout, graceful shutdown);
//! * the services, which never import the router: [`ec2`] (query protocol, one module per
//!   resource family), [`control`] (restJson1 control plane), [`data`] (data plane: sessions as
//!   agent processes, quota, reaping), [`cloudwatch`] (the `ActiveSessionCount` metric, read
//!   from the data plane's session history); each protocol renders its own error document
//!   ([`ec2::error_response`], [`rest_json`], [`cloudwatch::error_response`]);
//! * [`context`]: the [`context::RequestContext`] every handler gets and the route helper;
//!   [`auth`] (SigV4);
//! * [`app_state`]: the [`AppState`] handlers share: the world behind its lock and, beside it, the
//!   data plane's sessions ([`data::sessions`]) and the unverified-body budget ([`body_budget`]);
//! * the world: [`transitions`] (time-driven transitions), [`eni`] (the ENI mechanism), [`state`]
//!   (regions and their resources);
//! * below everything: [`error`] (the protocol-neutral AWS error), [`catalog`] (regions and
//!   zones), [`clock`], [`ids`].

pub mod app_state;
pub mod auth;
pub mod body_budget;
pub mod catalog;
pub mod clock;
pub mod cloudwatch;
pub mod config;
pub mod context;
pub mod control;
pub mod data;
pub mod ec2;
pub mod eni;
pub mod error;
pub mod faults;
pub mod ids;
pub mod rest_json;
pub mod router;
mod serve;
pub mod state;
pub mod transitions;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use app_state::AppState;
pub use clock::Clock;
pub use config::{
    Auth, Config, DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCOUNT_ID, DEFAULT_AGENT_START_TIMEOUT, DEFAULT_AGENT_STOP_GRACE,
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_ENI_LINGER, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_VMS, DEFAULT_SECRET_ACCESS_KEY, DEFAULT_STATUS_DELAY, DEFAULT_UNVERIFIED_BODY_BUDGET, EniPolicy,
    Isolation,
};
pub use data::AgentCommand;
pub use data::quota::QuotaModel;
pub use faults::Fault;
pub use router::{app, protect};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("account id must be 12 digits, got {0:?}")]
    AccountId(String),
    #[error("default region {0:?} is not one the emulator knows (see agentcore_local::catalog::REGIONS)")]
    UnknownRegion(String),
}

/// A running emulator. Dropping it (or [`Handle::shutdown`]) stops the server.
#[derive(Debug)]
pub struct Handle {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    reaper: JoinHandle<()>,
}

impl Handle {
    /// `http://127.0.0.1:PORT`, for `endpoint_url` / `--endpoint-url`.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service clock.
    pub fn clock(&self) -> &Clock {
        &self.state.config.clock
    }

    /// Moves a manual clock forward (transitions due by then apply on the next request).
    ///
    /// # Panics
    /// If the emulator was started with a scaled clock.
    pub fn advance(&self, by: Duration) {
        self.state.config.clock.advance(by).expect("Handle::advance needs Config { clock: Clock::manual(), .. }");
        self.state.sessions.wake();
    }

    /// Ends, now, every session whose idle timeout or max lifetime has passed on the clock (the
    /// background reaper does this by itself; with a manual clock, call it after
    /// [`Handle::advance`] to be sure reaping is over before looking).
    pub async fn reap_due(&self) {
        self.state.sessions.reap_due().await;
    }

    /// The shared state (for in-process introspection, e.g. [`AppState::snapshot`]).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// The same JSON as `GET /_local/state`.
    pub fn snapshot(&self) -> serde_json::Value {
        self.state.snapshot()
    }

    /// Stops the server, terminates every microVM (SIGTERM, SIGKILL after the grace period) and
    /// waits until both are done.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.reaper.abort();
        self.state.sessions.shutdown().await;
        if let Some(task) = self.task.take() {
            // In-flight streams may hold the server open; the agents behind them are gone now.
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for Handle {
    /// Stops the server and SIGKILLs every microVM's process group at once.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.reaper.abort();
        self.state.sessions.kill_all_now();
    }
}

/// Binds `config.listen` and serves on the current tokio runtime until the handle is dropped
/// or shut down. The listener accepts connections as soon as this returns. Logs a warning when
/// the address is not loopback or authentication is disabled.
pub async fn start(config: Config) -> Result<Handle, StartError> {
    if config.account_id.len() != 12 || !config.account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StartError::AccountId(config.account_id));
    }
    if catalog::region(&config.default_region).is_none() {
        return Err(StartError::UnknownRegion(config.default_region));
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind { addr: config.listen, source })?;
    let state = Arc::new(AppState::new(config));
    match state.sessions.agent_command() {
        Ok(command) => tracing::info!(%command, "microVMs run this agent command"),
        Err(why) => tracing::warn!("no agent command: InvokeAgentRuntime will answer RuntimeClientError ({why})"),
    }
    warn_if_exposed(addr, &state.config.auth);
    if state.config.allow_commands {
        tracing::warn!(
            "InvokeAgentRuntimeCommand is enabled (--allow-commands): every caller that can sign requests runs shell \
             commands on this machine as this user"
        );
    }
    let reaper = tokio::spawn(data::sessions::reaper(Arc::downgrade(&state.sessions)));
    let router = app(state.clone());
    let limits = serve::Limits { header_read_timeout: state.config.header_read_timeout };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve::serve(listener, router, limits, async {
        let _ = stopped.await;
    }));
    tracing::info!(%addr, "agentcore-local listening");
    Ok(Handle { addr, state, stop: Some(stop), task: Some(task), reaper })
}

/// Warns when anyone but this machine can reach the emulator, or anyone can use it: its
/// `/_local/reset` ends every microVM and its agents run as this user.
fn warn_if_exposed(addr: SocketAddr, auth: &Auth) {
    if !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "listening on a non-loopback address: other machines can reach this emulator and the agent \
             processes it runs"
        );
    }
    if *auth == Auth::Disabled {
        tracing::warn!("authentication is disabled (--no-auth): any local process or web page can call every API");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let auth = Auth::SigV4 { access_key_id: "AKIALOCAL".into(), secret_access_key: "very-secret".into() };
        let shown = format!("{:?}", Config { auth, ..Config::default() });
        assert!(shown.contains("AKIALOCAL"));
        assert!(!shown.contains("very-secret"), "{shown}");
    }

    #[tokio::test]
    async fn start_refuses_a_bad_account_id_and_stops_on_shutdown() {
        let bad = Config { account_id: "12345".into(), ..Config::default() };
        assert!(matches!(start(bad).await, Err(StartError::AccountId(_))));
        let bad = Config { default_region: "zz-fake-9".into(), ..Config::default() };
        assert!(matches!(start(bad).await, Err(StartError::UnknownRegion(_))));
        let handle = start(Config::default()).await.unwrap();
        let addr = handle.local_addr();
        assert!(addr.ip().is_loopback());
        assert_eq!(handle.endpoint_url(), format!("http://{addr}"));
        handle.shutdown().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer listening");
    }
}
