//! Sessions: one microVM per `(region, runtime, runtimeSessionId)`, the `maxVms` quota, and the
//! reaper that ends idle and too-old sessions.
//!
//! A session is created (and counted against the quota) by the first call that names it; the
//! process starts once, shared by every concurrent first call (a [`OnceCell`]). It ends on
//! StopRuntimeSession, when its runtime is deleted, when its process exits by itself, after
//! `idleRuntimeSessionTimeout` without activity, or at `maxLifetime` after it started (both on
//! the service clock). Ending frees the slot at once; the process gets SIGTERM, then SIGKILL
//! after the grace period.
//!
//! **Idleness** follows AgentCore's `/ping` semantics. A session is active while an invocation is
//! in flight through the emulator (activity = its start and its end). When its idle deadline
//! comes, the emulator asks `GET /ping`: `HealthyBusy`, or a `time_of_last_update` that moved since
//! the previous poll without an invocation explaining it (background work), counts as activity
//! and pushes the deadline by one more idle timeout; otherwise the session is reaped.
//!
//! **Calls in flight are never cut by the reaper.** A call enters its session while holding the
//! session table's lock (it is counted in flight before the lock is released), and the reaper
//! ends a session only after re-checking, under the table lock and then the session's, that no
//! call is in flight (and, for idleness, that no activity moved the deadline meanwhile). A
//! session past its `maxLifetime` with calls in flight ends as soon as the last one finishes
//! (that call wakes the reaper). Lock order: the table, then one session's state.
//!
//! **When reaping happens.** A background task sleeps until the earliest deadline (converted to
//! wall time on a scaled clock) and reaps what is due. A manual clock never moves by itself, so
//! there the task wakes on [`crate::Handle::advance`]; in addition every data-plane request first
//! reaps whatever is due (cheap when nothing is), so quota decisions always see the clock's
//! "now", whatever the clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use tokio::sync::{Notify, OnceCell, watch};

use super::agent::{self, AgentCommand, Process, StartFailure};
use super::quota::Ledger;
use super::throttle::InvokeRate;
use crate::clock::Clock;
use crate::cloudwatch::series::ActiveSessionSeries;
use crate::config::Config;
use crate::config::Isolation;
use crate::error::AwsError;
use crate::ids;

/// AWS's answer when a microVM never becomes healthy.
pub const HEALTH_CHECK_FAILED: &str = "Runtime health check failed or timed out. Please make sure that health check is \
                                       implemented according to the requirements.";

/// The error code of a call the active-session quota refuses.
const QUOTA_EXCEEDED: &str = "ServiceQuotaExceededException";
/// Wall-clock timeout of one idle-check `/ping`.
const IDLE_PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Identifies a session.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionKey {
    pub region: String,
    pub runtime_id: String,
    pub session_id: String,
}

/// The runtime facts a new session needs.
#[derive(Clone, Debug)]
pub struct RuntimeInfo {
    pub arn: String,
    /// The port the contract has the agent listen on ([`crate::data::contract_port`]).
    pub agent_port: u16,
    /// The path InvokeAgentRuntime posts to ([`crate::data::contract_path`]).
    pub agent_path: String,
    /// Custom headers the runtime lets through (`requestHeaderAllowlist`), lower-cased.
    pub header_allowlist: Vec<String>,
    /// `serverProtocol: MCP`: calls find their session by `Mcp-Session-Id` too
    /// ([`Sessions::session_of_mcp_id`]).
    pub mcp: bool,
    /// Whether the protocol's contract has the agent answer `GET /ping` (HTTP and AG-UI; not MCP
    /// or A2A): see [`agent::ping`].
    pub ping_contract: bool,
    /// `environmentVariables`: every process of the session gets them.
    pub environment: Vec<(String, String)>,
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    Stopped,
    Idle,
    MaxLifetime,
    RuntimeDeleted,
    Exited,
    StartFailed,
    Reset,
}

/// Counters shown in `/_local/state`.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub sessions_started: u64,
    pub refused_by_quota: u64,
    pub reaped_idle: u64,
    pub reaped_max_lifetime: u64,
    pub stopped: u64,
    pub ended_by_runtime_deletion: u64,
    pub exited_by_themselves: u64,
    pub failed_to_start: u64,
    pub invocations: u64,
    pub agent_errors: u64,
    pub throttled: u64,
    /// New sessions refused by `--new-sessions-tps`.
    pub new_sessions_throttled: u64,
}

/// One session (one microVM).
#[derive(Debug)]
pub struct Session {
    pub key: SessionKey,
    pub runtime: RuntimeInfo,
    pub started_at: SystemTime,
    /// When the call that started it arrived (wall time): the cold start runs from then.
    requested: Instant,
    generation: u64,
    /// The start, shared by concurrent first calls.
    started: OnceCell<Result<Process, AwsError>>,
    state: Mutex<SessionState>,
    /// `true` once the session has ended: what runs beside its agent (commands) stops then.
    ended: watch::Sender<bool>,
    /// The `Mcp-Session-Id` its MCP server gave (a stateful server's own), which routes to it.
    mcp_session_id: std::sync::OnceLock<String>,
}

#[derive(Debug)]
struct SessionState {
    ended: bool,
    /// The process, once started (and until it is terminated).
    process: Option<Process>,
    last_activity: SystemTime,
    in_flight: u32,
    completed: u64,
    /// The last `/ping` seen: its `time_of_last_update` and the `completed` count then.
    baseline: Option<(Option<String>, u64)>,
}

impl Session {
    fn lock(&self) -> MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The process once started, if still running.
    pub fn process(&self) -> Option<Process> {
        self.lock().process.clone()
    }

    fn idle_deadline(&self, state: &SessionState, now: SystemTime) -> SystemTime {
        if state.in_flight > 0 {
            now + self.runtime.idle_timeout
        } else {
            state.last_activity + self.runtime.idle_timeout
        }
    }

    fn lifetime_deadline(&self) -> SystemTime {
        self.started_at + self.runtime.max_lifetime
    }

    /// Marks the session ended (with its state locked) and tells whoever waits in [`Self::ended`].
    fn mark_ended(&self, state: &mut SessionState) {
        state.ended = true;
        self.ended.send_replace(true);
    }

    /// Resolves once the session has ended (at once if it already has).
    pub async fn ended(&self) {
        let mut ended = self.ended.subscribe();
        // The sender lives as long as `self`, so this only returns once the flag is set.
        let _ = ended.wait_for(|ended| *ended).await;
    }
}

/// Marks one invocation in flight on a session until dropped.
#[derive(Debug)]
pub struct InFlight {
    session: Arc<Session>,
    clock: Clock,
    sessions: Weak<Sessions>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let now = self.clock.now();
        let lifetime_over = {
            let mut state = self.session.lock();
            state.in_flight -= 1;
            state.completed += 1;
            state.last_activity = state.last_activity.max(now);
            state.in_flight == 0 && !state.ended && self.session.lifetime_deadline() <= now
        };
        // The reaper deferred this session's end for the call that just finished.
        if lifetime_over && let Some(sessions) = self.sessions.upgrade() {
            sessions.wake();
        }
    }
}

#[derive(Debug, Default)]
struct Table {
    live: HashMap<SessionKey, Arc<Session>>,
    /// Sessions still being torn down (`Config::session_teardown`), until when (service time).
    tearing_down: HashMap<SessionKey, SystemTime>,
    /// A stateful MCP server's `Mcp-Session-Id` (as `session_id`) → its session's key.
    by_mcp_session_id: HashMap<SessionKey, SessionKey>,
    /// Live sessions per region, and what `--quota-model` counts of them.
    quota: Ledger,
    counters: Counters,
    /// A lower bound of every live session's next deadline.
    next_due: Option<SystemTime>,
}

impl Table {
    fn remove(&mut self, session: &Arc<Session>, now: SystemTime) -> bool {
        match self.live.get(&session.key) {
            Some(current) if Arc::ptr_eq(current, session) => {
                self.live.remove(&session.key);
                if let Some(mcp_id) = session.mcp_session_id.get() {
                    self.by_mcp_session_id.remove(&SessionKey { session_id: mcp_id.clone(), ..session.key.clone() });
                }
                let key = &session.key;
                self.quota.ended(&key.region, &key.runtime_id, &key.session_id, now);
                true
            }
            _ => false,
        }
    }
}

/// The data plane's sessions and everything they share.
#[derive(Debug)]
pub struct Sessions {
    agent: Result<AgentCommand, String>,
    /// How microVMs are kept apart ([`crate::config::Isolation`]).
    isolation: Isolation,
    pub(crate) client: reqwest::Client,
    clock: Clock,
    account_id: String,
    max_vms: u32,
    invoke_tps: Option<u32>,
    start_timeout: Duration,
    stop_grace: Duration,
    /// `Config::cold_start` and `Config::quota_refusal_delay` (service time).
    cold_start: Duration,
    quota_refusal_delay: Duration,
    /// `Config::session_teardown` (service time).
    session_teardown: Duration,
    table: Mutex<Table>,
    /// Processes being terminated (SIGTERM sent, SIGKILL pending), by pid.
    dying: Mutex<HashMap<u32, Process>>,
    reaping: tokio::sync::Mutex<()>,
    wake: Notify,
    /// `--invoke-tps`; `None`: unlimited.
    invoke_rate: Option<InvokeRate>,
    /// `--new-sessions-tps`; `None`: unlimited.
    new_session_rate: Option<InvokeRate>,
    generation: AtomicU64,
    /// The live-session count over time, CloudWatch's `ActiveSessionCount` (changed under the
    /// table's lock).
    active_sessions: ActiveSessionSeries,
    me: Weak<Sessions>,
}

impl Sessions {
    pub fn new(config: &Config) -> Arc<Self> {
        let agent = match &config.agent_command {
            Some(command) => Ok(command.clone()),
            None => AgentCommand::resolve_default(),
        };
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()
            .expect("the HTTP client builds");
        Arc::new_cyclic(|me| Self {
            agent,
            isolation: config.isolation.clone(),
            client,
            clock: config.clock.clone(),
            account_id: config.account_id.clone(),
            max_vms: config.max_vms,
            invoke_tps: config.invoke_tps,
            start_timeout: config.agent_start_timeout,
            stop_grace: config.agent_stop_grace,
            cold_start: config.cold_start,
            quota_refusal_delay: config.quota_refusal_delay,
            session_teardown: config.session_teardown,
            table: Mutex::new(Table { quota: Ledger::new(config.quota_model), ..Table::default() }),
            dying: Mutex::new(HashMap::new()),
            reaping: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            invoke_rate: config.invoke_tps.map(InvokeRate::per_second),
            new_session_rate: config.new_sessions_tps.map(InvokeRate::per_second),
            generation: AtomicU64::new(0),
            active_sessions: ActiveSessionSeries::new(config.clock.now()),
            me: me.clone(),
        })
    }

    /// The live-session count over time (CloudWatch's `ActiveSessionCount`, [`crate::cloudwatch`]).
    pub fn active_sessions(&self) -> &ActiveSessionSeries {
        &self.active_sessions
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The agent command, or why there is none.
    pub fn agent_command(&self) -> Result<&AgentCommand, &str> {
        self.agent.as_ref().map_err(String::as_str)
    }

    /// Counts a data-plane call against `--invoke-tps` (per wall-clock second; see [`InvokeRate`]).
    pub fn throttle(&self) -> Result<(), AwsError> {
        match &self.invoke_rate {
            Some(rate) if !rate.admit() => {
                self.table().counters.throttled += 1;
                Err(AwsError::new(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException", "Rate exceeded"))
            }
            _ => Ok(()),
        }
    }

    /// Enters the live session `key`, or a new one if the quota allows (reaping what is due
    /// first): the call is in flight on it until the returned guard drops. It is counted in flight
    /// before the table's lock is released, so the reaper cannot end the session under it.
    ///
    /// `received` is when the call arrived: a refusal is answered `--quota-refusal-delay` after it,
    /// and a new session's microVM is ready `--cold-start` after it (or when its agent is, if
    /// later), so the emulator's own work for the call counts within those times instead of adding
    /// to them.
    pub async fn enter(
        &self,
        key: SessionKey,
        runtime: &RuntimeInfo,
        received: Instant,
    ) -> Result<(Arc<Session>, InFlight), AwsError> {
        self.reap_if_due().await;
        let entered = self.enter_now(key, runtime, received);
        if let Err(refusal) = &entered
            && refusal.code == QUOTA_EXCEEDED
        {
            // Refusals are not instant on AWS (`Config::quota_refusal_delay`); no lock is held here.
            self.wait_service_time_since(received, self.quota_refusal_delay).await;
        }
        entered
    }

    /// [`Self::enter`] without its waits: the table's decision, under its lock.
    fn enter_now(
        &self,
        key: SessionKey,
        runtime: &RuntimeInfo,
        received: Instant,
    ) -> Result<(Arc<Session>, InFlight), AwsError> {
        let mut table = self.table();
        table.counters.invocations += 1;
        if let Some(session) = table.live.get(&key).cloned() {
            let in_flight = self.begin(&session);
            return Ok((session, in_flight));
        }
        if let Some(until) = table.tearing_down.get(&key).copied() {
            if self.clock.now() < until {
                return Err(AwsError::new(
                    StatusCode::CONFLICT,
                    "RetryableConflictException",
                    "Session operation in progress, please retry",
                ));
            }
            table.tearing_down.remove(&key);
        }
        if self.new_session_rate.as_ref().is_some_and(|rate| !rate.admit()) {
            table.counters.new_sessions_throttled += 1;
            return Err(AwsError::new(StatusCode::TOO_MANY_REQUESTS, "ThrottlingException", "Rate exceeded"));
        }
        let now = self.clock.now();
        if table.quota.counted(&key.region, &key.runtime_id, &key.session_id, now) >= self.max_vms {
            table.counters.refused_by_quota += 1;
            return Err(AwsError::new(
                StatusCode::PAYMENT_REQUIRED,
                QUOTA_EXCEEDED,
                format!("maxVms limit exceeded for account {}", self.account_id),
            ));
        }
        let mut runtime = runtime.clone();
        runtime.idle_timeout = table.quota.idle_timeout(runtime.idle_timeout);
        let session = Arc::new(Session {
            key: key.clone(),
            runtime: runtime.clone(),
            started_at: now,
            requested: received,
            generation: self.generation.fetch_add(1, Ordering::Relaxed),
            started: OnceCell::new(),
            ended: watch::Sender::new(false),
            mcp_session_id: std::sync::OnceLock::new(),
            state: Mutex::new(SessionState {
                ended: false,
                process: None,
                last_activity: now,
                in_flight: 0,
                completed: 0,
                baseline: None,
            }),
        });
        let due = (now + runtime.idle_timeout).min(now + runtime.max_lifetime);
        table.next_due = Some(table.next_due.map_or(due, |d| d.min(due)));
        table.quota.started(&key.region, &key.runtime_id, &key.session_id, now);
        self.active_sessions.started(&key.region, now);
        table.live.insert(key, session.clone());
        table.counters.sessions_started += 1;
        // In flight from now on: a session is not idle while its first call waits for the start.
        let in_flight = self.begin(&session);
        drop(table);
        self.wake.notify_one();
        Ok((session, in_flight))
    }

    /// The session's process, starting it on the first call (concurrent callers share the start).
    pub async fn process(&self, session: &Arc<Session>) -> Result<Process, AwsError> {
        let result = session.started.get_or_init(|| self.start(session)).await.clone();
        if result.is_err() {
            self.end(session, EndReason::StartFailed);
        }
        result
    }

    /// Counts an ended session, and keeps its key refused for `session_teardown` (a reset forgets
    /// at once; a start that failed never ran). Keys whose teardown is over are forgotten here too,
    /// so the set holds at most the sessions ended within one teardown time.
    fn count_end(&self, table: &mut Table, session: &Session, reason: EndReason) {
        self.active_sessions.ended(&session.key.region, self.clock.now());
        count_end(&mut table.counters, reason);
        if self.session_teardown.is_zero() || matches!(reason, EndReason::Reset | EndReason::StartFailed) {
            return;
        }
        let now = self.clock.now();
        table.tearing_down.retain(|_, until| *until > now);
        table.tearing_down.insert(session.key.clone(), now + self.session_teardown);
    }

    /// Waits until `service` time on the service clock has passed since `since` (nothing on a
    /// manual clock, where service time passes only when a test advances it).
    async fn wait_service_time_since(&self, since: Instant, service: Duration) {
        if let Some(wall) = self.clock.to_wall(service).filter(|wall| !wall.is_zero()) {
            tokio::time::sleep_until((since + wall).into()).await;
        }
    }

    /// Starts the session's microVM (its agent); concurrent first calls share the start. The
    /// cold start is not waited here but where a call is answered ([`Self::cold_start_over`]).
    async fn start(&self, session: &Arc<Session>) -> Result<Process, AwsError> {
        self.start_agent(session).await
    }

    /// Waits until `--cold-start` of service time has passed since the call that started
    /// `session` arrived: no call on a session is answered before its microVM has booted. The
    /// agent's start and its answer run within that time and add to it only when they take longer,
    /// as the default's source (the report's mean time per call, measured by its client, each call a
    /// new session) includes them. Calls on a session started long ago do not wait.
    pub async fn cold_start_over(&self, session: &Session) {
        self.wait_service_time_since(session.requested, self.cold_start).await;
    }

    async fn start_agent(&self, session: &Arc<Session>) -> Result<Process, AwsError> {
        let command = self.agent.as_ref().map_err(|why| runtime_client_error(why.clone()))?;
        let label = format!("{}/{}", session.key.runtime_id, session.key.session_id);
        let mut attempt = 0;
        let (process, ping) = loop {
            attempt += 1;
            let process = agent::spawn(
                command,
                &label,
                &self.isolation,
                session.runtime.agent_port,
                &session.runtime.environment,
            )
            .await
            .map_err(|e| runtime_client_error(format!("cannot start the agent command `{command}`: {e}")))?;
            let ended = {
                let mut state = session.lock();
                if !state.ended {
                    state.process = Some(process.clone());
                }
                state.ended
            };
            if ended {
                self.terminate(process);
                return Err(runtime_client_error("the session ended while it was starting".into()));
            }
            match agent::wait_healthy(&self.client, &process, self.start_timeout, session.runtime.ping_contract).await {
                Ok(ping) => break (process, ping),
                Err(failure) => {
                    self.terminate(process.clone());
                    session.lock().process = None;
                    match failure {
                        // A port taken between picking it and the agent binding it: try again.
                        StartFailure::Exited(status) if attempt < 3 => {
                            tracing::debug!(session = %label, %status, "agent exited while starting; retrying");
                        }
                        StartFailure::Exited(status) => {
                            tracing::warn!(session = %label, %status, command = %command, "agent exited before answering GET /ping");
                            return Err(runtime_client_error(HEALTH_CHECK_FAILED.into()));
                        }
                        StartFailure::TimedOut(last) => {
                            tracing::warn!(session = %label, last_error = %last, timeout = ?self.start_timeout, command = %command, "agent never answered GET /ping with 200");
                            return Err(runtime_client_error(HEALTH_CHECK_FAILED.into()));
                        }
                    }
                }
            }
        };
        {
            let mut state = session.lock();
            state.baseline = Some((ping.time_of_last_update, state.completed));
        }
        tracing::debug!(session = %label, pid = process.pid, port = process.port, "microVM started");
        self.watch_exit(session.clone(), process.clone());
        Ok(process)
    }

    /// Ends the session when its process exits by itself.
    fn watch_exit(&self, session: Arc<Session>, process: Process) {
        let me = self.me.clone();
        let mut exit = process.exit;
        tokio::spawn(async move {
            let _ = exit.wait_for(Option::is_some).await;
            if let Some(me) = me.upgrade() {
                let still_ours = session.lock().process.as_ref().is_some_and(|p| p.pid == process.pid);
                if still_ours && me.end(&session, EndReason::Exited) {
                    let status = exit.borrow().clone().unwrap_or_default();
                    tracing::warn!(session = %session.key.session_id, pid = process.pid, %status, "microVM exited by itself; session ended");
                }
                me.dying().remove(&process.pid);
            }
        });
    }

    fn dying(&self) -> MutexGuard<'_, HashMap<u32, Process>> {
        self.dying.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks one invocation in flight (activity now) until the guard drops (activity then).
    /// Called with the table locked (see [`Self::enter`]).
    fn begin(&self, session: &Arc<Session>) -> InFlight {
        let mut state = session.lock();
        state.in_flight += 1;
        state.last_activity = state.last_activity.max(self.clock.now());
        drop(state);
        InFlight { session: session.clone(), clock: self.clock.clone(), sessions: self.me.clone() }
    }

    pub fn count_agent_error(&self) {
        self.table().counters.agent_errors += 1;
    }

    /// Ends `session` if it is still live; `true` if this call ended it.
    pub fn end(&self, session: &Arc<Session>, reason: EndReason) -> bool {
        let removed = {
            let mut table = self.table();
            let removed = table.remove(session, self.clock.now());
            if removed {
                self.count_end(&mut table, session, reason);
            }
            removed
        };
        let process = {
            let mut state = session.lock();
            session.mark_ended(&mut state);
            state.process.take()
        };
        self.finish_ending(session, process, reason, removed);
        removed
    }

    /// The reaper's end: ends `session` only if, checked under the table's lock and then the
    /// session's, no call is in flight and (for [`EndReason::Idle`]) its idle deadline is still
    /// due at `now`. `true` if this call ended it.
    fn end_if_unused(&self, session: &Arc<Session>, reason: EndReason, now: SystemTime) -> bool {
        let process = {
            let mut table = self.table();
            let mut state = session.lock();
            let still_due = match reason {
                EndReason::Idle => session.idle_deadline(&state, now) <= now,
                _ => true,
            };
            // It ended at its deadline, which the reaper may see a little later (on a manual
            // clock, at the next call): `--quota-model lagged` counts it from its deadline.
            let ended_at = match reason {
                EndReason::Idle => session.idle_deadline(&state, now),
                EndReason::MaxLifetime => session.lifetime_deadline(),
                _ => now,
            }
            .min(now);
            if state.in_flight > 0 || !still_due || !table.remove(session, ended_at) {
                return false;
            }
            self.count_end(&mut table, session, reason);
            session.mark_ended(&mut state);
            state.process.take()
        };
        self.finish_ending(session, process, reason, true);
        true
    }

    fn finish_ending(&self, session: &Session, process: Option<Process>, reason: EndReason, removed: bool) {
        if let Some(process) = process {
            self.terminate(process);
        }
        if removed {
            tracing::debug!(session = %session.key.session_id, runtime = %session.key.runtime_id, ?reason, "session ended");
        }
    }

    /// SIGTERM now, SIGKILL after the grace period (in the background).
    fn terminate(&self, process: Process) {
        self.dying().insert(process.pid, process.clone());
        let grace = self.stop_grace;
        let me = self.me.clone();
        tokio::spawn(async move {
            agent::terminate(&process, grace).await;
            if let Some(me) = me.upgrade() {
                me.dying().remove(&process.pid);
            }
        });
    }

    /// The session id of the live session whose MCP server gave `key.session_id` as its
    /// `Mcp-Session-Id` ([`Self::remember_mcp_session_id`]), if any.
    pub fn session_of_mcp_id(&self, key: &SessionKey) -> Option<String> {
        self.table().by_mcp_session_id.get(key).map(|target| target.session_id.clone())
    }

    /// Routes later calls carrying `mcp_id` (the `Mcp-Session-Id` the session's MCP server
    /// answered with) to `session`, while it lives: AgentCore's microVM affinity for stateful MCP
    /// servers. One id per session (a server gives one per `initialize`); later ones are ignored.
    pub fn remember_mcp_session_id(&self, session: &Arc<Session>, mcp_id: &str) {
        let mut table = self.table();
        let live = table.live.get(&session.key).is_some_and(|current| Arc::ptr_eq(current, session));
        if live && session.mcp_session_id.set(mcp_id.to_string()).is_ok() {
            let alias = SessionKey { session_id: mcp_id.to_string(), ..session.key.clone() };
            table.by_mcp_session_id.insert(alias, session.key.clone());
        }
    }

    /// The live session `key`, if any.
    pub fn find(&self, key: &SessionKey) -> Option<Arc<Session>> {
        self.table().live.get(key).cloned()
    }

    /// Ends every session of a runtime (DeleteAgentRuntime).
    pub fn end_runtime(&self, region: &str, runtime_id: &str) {
        let doomed: Vec<Arc<Session>> = self
            .table()
            .live
            .values()
            .filter(|s| s.key.region == region && s.key.runtime_id == runtime_id)
            .cloned()
            .collect();
        for session in doomed {
            self.end(&session, EndReason::RuntimeDeleted);
        }
    }

    /// Ends every session (`/_local/reset`), keeping the counters' history out of it.
    pub fn end_all(&self, reason: EndReason) {
        let all: Vec<Arc<Session>> = self.table().live.values().cloned().collect();
        for session in all {
            self.end(&session, reason);
        }
        if reason == EndReason::Reset {
            let mut table = self.table();
            table.counters = Counters::default();
            table.next_due = None;
            table.tearing_down.clear();
            table.quota.clear();
        }
    }

    /// Kills every microVM at once (SIGKILL to each process group), without waiting: for
    /// dropping the emulator.
    pub fn kill_all_now(&self) {
        let all: Vec<Arc<Session>> = self.table().live.drain().map(|(_, s)| s).collect();
        for session in all {
            let mut state = session.lock();
            session.mark_ended(&mut state);
            if let Some(process) = state.process.take() {
                process.signal_group(Signal::SIGKILL);
            }
        }
        for (_, process) in self.dying().drain() {
            process.signal_group(Signal::SIGKILL);
        }
    }

    /// Ends every session gracefully and waits (up to the grace period and a little more) for
    /// their processes to exit.
    pub async fn shutdown(&self) {
        let processes: Vec<Process> = self.table().live.values().filter_map(|s| s.process()).collect();
        self.end_all(EndReason::Reset);
        let deadline = Instant::now() + self.stop_grace + Duration::from_millis(500);
        for mut process in processes {
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = tokio::time::timeout(left, process.exit.wait_for(Option::is_some)).await;
        }
        self.kill_all_now();
    }

    /// Wakes the reaper (after the clock moved).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    async fn reap_if_due(&self) {
        let now = self.clock.now();
        if self.table().next_due.is_some_and(|due| due <= now) {
            self.reap_due().await;
        }
    }

    /// Ends every session whose idle timeout (confirmed by `/ping`) or max lifetime has passed.
    pub async fn reap_due(&self) {
        let _one_at_a_time = self.reaping.lock().await;
        let now = self.clock.now();
        let sessions: Vec<Arc<Session>> = self.table().live.values().cloned().collect();
        let mut idle = Vec::new();
        for session in sessions {
            if session.lifetime_deadline() <= now {
                // With calls in flight, the last one to finish wakes the reaper again.
                self.end_if_unused(&session, EndReason::MaxLifetime, now);
                continue;
            }
            // A session still starting is not idle (its first invocation is waiting for it).
            if !session.started.initialized() {
                continue;
            }
            let state = session.lock();
            if state.in_flight == 0
                && session.idle_deadline(&state, now) <= now
                && let Some(process) = state.process.clone()
            {
                idle.push((session.clone(), process));
            }
        }
        let checks = idle.into_iter().map(|(session, process)| async move {
            let ping = agent::ping(&self.client, process.port, IDLE_PING_TIMEOUT, session.runtime.ping_contract).await;
            (session, ping)
        });
        for (session, ping) in futures_util::future::join_all(checks).await {
            let active = {
                let mut state = session.lock();
                match &ping {
                    Ok(ping) => {
                        let unexplained_move = matches!(&state.baseline, Some((before, completed))
                            if *before != ping.time_of_last_update && *completed == state.completed);
                        state.baseline = Some((ping.time_of_last_update.clone(), state.completed));
                        let active = ping.busy || unexplained_move || state.in_flight > 0;
                        if active {
                            state.last_activity = state.last_activity.max(now);
                        }
                        active
                    }
                    Err(_) => state.in_flight > 0,
                }
            };
            if !active {
                self.end_if_unused(&session, EndReason::Idle, now);
            }
        }
        let mut table = self.table();
        let now = self.clock.now();
        table.next_due = table
            .live
            .values()
            .map(|s| {
                let state = s.lock();
                let idle = s.idle_deadline(&state, now);
                // A session with calls in flight is not ended before they finish (the last one
                // wakes the reaper), so its lifetime deadline is no reason to wake up.
                if state.in_flight > 0 { idle } else { idle.min(s.lifetime_deadline()) }
            })
            .min();
    }

    /// How long the reaper may sleep before something can be due (`None`: until woken).
    fn reaper_sleep(&self) -> Option<Duration> {
        let due = self.table().next_due;
        let wait = match due {
            None => Duration::from_secs(3600),
            Some(due) => due.duration_since(self.clock.now()).unwrap_or_default(),
        };
        self.clock.to_wall(wait).map(|w| w.clamp(Duration::from_millis(1), Duration::from_secs(1)))
    }

    /// `/_local/state`: the live sessions and the counters.
    pub fn snapshot(&self) -> Value {
        let table = self.table();
        let mut sessions: Vec<&Arc<Session>> = table.live.values().collect();
        sessions.sort_by_key(|s| s.generation);
        let sessions: Vec<Value> = sessions
            .into_iter()
            .map(|s| {
                let state = s.lock();
                json!({
                    "region": s.key.region,
                    "agentRuntimeId": s.key.runtime_id,
                    "agentRuntimeArn": s.runtime.arn,
                    "runtimeSessionId": s.key.session_id,
                    "status": if state.process.is_some() && s.started.initialized() { "READY" } else { "STARTING" },
                    "pid": state.process.as_ref().map(|p| p.pid),
                    "port": state.process.as_ref().map(|p| p.port),
                    "startedAt": ids::iso8601(s.started_at),
                    "lastActivity": ids::iso8601(state.last_activity),
                    "invocationsInFlight": state.in_flight,
                    "idleTimeoutSeconds": s.runtime.idle_timeout.as_secs_f64(),
                    "maxLifetimeSeconds": s.runtime.max_lifetime.as_secs_f64(),
                })
            })
            .collect();
        json!({
            "maxVms": self.max_vms,
            "invokeTps": self.invoke_tps,
            "agentCommand": self.agent.as_ref().map(ToString::to_string).map_err(Clone::clone).unwrap_or_else(|e| format!("<none: {e}>")),
            "liveSessions": table.live.len(),
            "sessions": sessions,
            "counters": table.counters,
        })
    }
}

/// Counts one ended session under its reason.
fn count_end(counters: &mut Counters, reason: EndReason) {
    match reason {
        EndReason::Stopped => counters.stopped += 1,
        EndReason::Idle => counters.reaped_idle += 1,
        EndReason::MaxLifetime => counters.reaped_max_lifetime += 1,
        EndReason::RuntimeDeleted => counters.ended_by_runtime_deletion += 1,
        EndReason::Exited => counters.exited_by_themselves += 1,
        EndReason::StartFailed => counters.failed_to_start += 1,
        EndReason::Reset => {}
    }
}

/// Runs the reaper until the sessions are dropped (see the module docs).
pub async fn reaper(sessions: Weak<Sessions>) {
    loop {
        let Some(me) = sessions.upgrade() else { return };
        let sleep = me.reaper_sleep();
        let woken = me.wake.notified();
        match sleep {
            Some(wall) => {
                let _ = tokio::time::timeout(wall, woken).await;
            }
            None => woken.await,
        }
        me.reap_due().await;
    }
}

/// 424 `RuntimeClientError`.
pub fn runtime_client_error(message: String) -> AwsError {
    AwsError::new(StatusCode::FAILED_DEPENDENCY, "RuntimeClientError", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey { region: "us-east-1".into(), runtime_id: "rt-0123456789".into(), session_id: "s".repeat(40) }
    }

    fn one_minute_runtime() -> RuntimeInfo {
        RuntimeInfo {
            arn: "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/rt-0123456789".into(),
            agent_port: 8080,
            agent_path: "/invocations".into(),
            header_allowlist: Vec::new(),
            mcp: false,
            ping_contract: true,
            environment: Vec::new(),
            idle_timeout: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(60),
        }
    }

    /// A call that entered before the idle timeout and the max lifetime passed keeps its session
    /// until it finishes; then the session ends (for its lifetime).
    #[tokio::test]
    async fn the_reaper_ends_no_session_with_a_call_in_flight() {
        let config = Config { clock: Clock::manual(), ..Config::default() };
        let sessions = Sessions::new(&config);
        config.clock.advance(Duration::from_secs(59)).unwrap();
        let (session, in_flight) = sessions.enter(key(), &one_minute_runtime(), Instant::now()).await.unwrap();
        config.clock.advance(Duration::from_secs(120)).unwrap();

        sessions.reap_due().await;
        assert!(sessions.find(&key()).is_some(), "ended under a call in flight");
        assert!(!sessions.end_if_unused(&session, EndReason::Idle, config.clock.now()));
        assert!(!sessions.end_if_unused(&session, EndReason::MaxLifetime, config.clock.now()));
        // A second call enters the same session meanwhile, and the first one finishes.
        let (again, second) = sessions.enter(key(), &one_minute_runtime(), Instant::now()).await.unwrap();
        assert!(Arc::ptr_eq(&session, &again));
        drop(in_flight);
        sessions.reap_due().await;
        assert!(sessions.find(&key()).is_some(), "one call is still in flight");

        drop(second);
        sessions.reap_due().await;
        assert!(sessions.find(&key()).is_none(), "ended once no call is in flight");
        let counters = sessions.table().counters.clone();
        assert_eq!((counters.reaped_max_lifetime, counters.reaped_idle), (1, 0));
    }

    /// The idle path re-checks activity: a call that came and went after the reaper decided
    /// the session was idle keeps it.
    #[tokio::test]
    async fn an_idle_end_is_rechecked_against_recent_activity() {
        let config = Config { clock: Clock::manual(), ..Config::default() };
        let sessions = Sessions::new(&config);
        let runtime = RuntimeInfo { max_lifetime: Duration::from_secs(3600), ..one_minute_runtime() };
        let (session, in_flight) = sessions.enter(key(), &runtime, Instant::now()).await.unwrap();
        drop(in_flight);
        config.clock.advance(Duration::from_secs(61)).unwrap();
        let decided_at = config.clock.now();
        // A call enters and finishes before the reaper acts on its decision.
        drop(sessions.enter(key(), &runtime, Instant::now()).await.unwrap().1);
        assert!(!sessions.end_if_unused(&session, EndReason::Idle, decided_at));
        assert!(sessions.find(&key()).is_some());
        config.clock.advance(Duration::from_secs(61)).unwrap();
        assert!(sessions.end_if_unused(&session, EndReason::Idle, config.clock.now()));
        assert!(sessions.find(&key()).is_none());
    }
}
