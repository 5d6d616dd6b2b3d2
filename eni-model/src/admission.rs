//! Session admission: which invocations the account's active-session quota (`maxVms`) lets through.
//!
//! Each `(runtime, runtimeSessionId)` pair is one microVM. A session starts with its first invocation,
//! stays alive while it is used, and ends when it has been idle for the idle timeout, when it reaches its
//! max lifetime, or when it is stopped. While the live sessions of the account equal the quota, an
//! invocation that would start a new session is refused with `ServiceQuotaExceededException`.
//! Invocations never change the ENI plan.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::quota::{QuotaModel, cell_of};

/// AgentCore's default idle session timeout (`idleRuntimeSessionTimeout`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(900);
/// AgentCore's default max session lifetime (`maxLifetime`).
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(28_800);
/// The active-session quota the report's account had (ap-northeast-1, 2025).
pub const DEFAULT_MAX_VMS: u32 = 500;

/// The quota and timers that decide admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPolicy {
    /// Live sessions allowed in the account at once.
    pub max_vms: u32,
    /// A session ends once it has been idle this long (`idleRuntimeSessionTimeout`).
    #[serde(with = "crate::secs")]
    pub idle_timeout: Duration,
    /// A session ends this long after it started, busy or not (`maxLifetime`).
    #[serde(with = "crate::secs")]
    pub max_lifetime: Duration,
    /// How the quota is enforced: [`QuotaModel::Exact`] as AWS documents it, or one of the
    /// hypotheses for what the report saw (see [`QuotaModel`]).
    #[serde(default)]
    pub quota: QuotaModel,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            max_vms: DEFAULT_MAX_VMS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_lifetime: DEFAULT_MAX_LIFETIME,
            quota: QuotaModel::Exact,
        }
    }
}

/// What a call does to its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum CallKind {
    /// `InvokeAgentRuntime`, keeping the session busy (not idle) for `busy_for` after `at`.
    Invoke {
        /// How long the invocation runs; the idle timeout counts from its end.
        #[serde(with = "crate::secs", default)]
        busy_for: Duration,
    },
    /// `StopRuntimeSession`.
    Stop,
}

/// One call of a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// When the call reaches the service, as an offset from the start of the schedule.
    #[serde(with = "crate::secs")]
    pub at: Duration,
    /// The runtime called (its name or ARN: any string that tells runtimes apart).
    pub runtime: String,
    /// The `runtimeSessionId`; with `runtime`, it names one microVM.
    pub session: String,
    /// Invoke or stop.
    #[serde(flatten)]
    pub kind: CallKind,
}

/// Session indices by session id, for one runtime.
type SessionIndex = FxHashMap<Box<str>, u32>;

/// A schedule of calls. Session keys are interned as they are pushed, so admission itself is
/// cheap for millions of calls.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "Vec<Call>", into = "Vec<Call>")]
pub struct Schedule {
    /// `(at, session index, kind)` in the order pushed.
    calls: Vec<(Duration, u32, CallKind)>,
    /// `(runtime index, session id)` of each session index.
    sessions: Vec<(u32, Box<str>)>,
    /// Runtime names, and for each the index of its sessions by id.
    runtimes: Vec<(Box<str>, SessionIndex)>,
    runtime_index: FxHashMap<Box<str>, u32>,
}

impl Schedule {
    /// An empty schedule.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty schedule with room for `calls` calls.
    pub fn with_capacity(calls: usize) -> Self {
        Self { calls: Vec::with_capacity(calls), ..Self::default() }
    }

    /// Adds an invocation that keeps its session busy for `busy_for`.
    pub fn invoke(&mut self, at: Duration, runtime: &str, session: &str, busy_for: Duration) {
        self.push(at, runtime, session, CallKind::Invoke { busy_for });
    }

    /// Adds a `StopRuntimeSession`.
    pub fn stop(&mut self, at: Duration, runtime: &str, session: &str) {
        self.push(at, runtime, session, CallKind::Stop);
    }

    /// Adds a call of any kind. Calls may be pushed out of time order; [`admit`] sorts them.
    pub fn push(&mut self, at: Duration, runtime: &str, session: &str, kind: CallKind) {
        let r = match self.runtime_index.get(runtime) {
            Some(&r) => r,
            None => {
                let r = self.runtimes.len() as u32;
                self.runtimes.push((runtime.into(), FxHashMap::default()));
                self.runtime_index.insert(runtime.into(), r);
                r
            }
        };
        let by_id = &mut self.runtimes[r as usize].1;
        let id = match by_id.get(session) {
            Some(&id) => id,
            None => {
                let id = self.sessions.len() as u32;
                self.sessions.push((r, session.into()));
                by_id.insert(session.into(), id);
                id
            }
        };
        self.calls.push((at, id, kind));
    }

    /// The number of calls pushed.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call was pushed.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The `i`-th call as pushed.
    pub fn call(&self, i: usize) -> Call {
        let (at, id, kind) = self.calls[i];
        let (r, session) = &self.sessions[id as usize];
        Call { at, runtime: self.runtimes[*r as usize].0.to_string(), session: session.to_string(), kind }
    }
}

impl From<Vec<Call>> for Schedule {
    fn from(calls: Vec<Call>) -> Self {
        let mut schedule = Schedule::with_capacity(calls.len());
        for c in calls {
            schedule.push(c.at, &c.runtime, &c.session, c.kind);
        }
        schedule
    }
}

impl From<Schedule> for Vec<Call> {
    fn from(schedule: Schedule) -> Self {
        (0..schedule.len()).map(|i| schedule.call(i)).collect()
    }
}

/// What happened to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    /// Served: by a session already alive, or by a new one.
    Admitted {
        /// The call started a new session (a new microVM) rather than reusing a live one.
        new_session: bool,
    },
    /// `ServiceQuotaExceededException`: a new session was needed and the quota was full.
    Refused,
    /// A stop; `ended` says whether a live session ended by it.
    Stopped {
        /// The session was live and the stop ended it.
        ended: bool,
    },
}

/// The live-session count from `at` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivePoint {
    /// When the count changed, as an offset from the start of the schedule.
    #[serde(with = "crate::secs")]
    pub at: Duration,
    /// Live sessions from `at` until the next point.
    pub live: u32,
}

/// The outcome of a schedule under a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    /// One decision per call, in the order the calls were pushed.
    pub decisions: Vec<Decision>,
    /// Invocations admitted, by a live session or a new one.
    pub admitted: u64,
    /// Invocations refused with `ServiceQuotaExceededException`.
    pub refused: u64,
    /// New sessions (microVMs) started.
    pub sessions_started: u64,
    /// Sessions that ended by idle timeout or max lifetime (not by stop).
    pub sessions_expired: u64,
    /// The most sessions live at once (above the quota only under [`QuotaModel::Lagged`] or
    /// [`QuotaModel::PerCell`]).
    pub peak_live: u32,
    /// Live sessions over time: a point wherever the count changes.
    pub live: Vec<LivePoint>,
}

impl Admission {
    /// Live sessions at `at`.
    pub fn live_at(&self, at: Duration) -> u32 {
        match self.live.partition_point(|p| p.at <= at) {
            0 => 0,
            i => self.live[i - 1].live,
        }
    }
}

#[derive(Clone, Copy)]
struct Session {
    live: bool,
    started: Duration,
    /// When it ends unless used again.
    ends: Duration,
    /// Its placement cell ([`QuotaModel::PerCell`]; 0 otherwise).
    cell: u32,
}

/// Decides calls one at a time, in time order: [`admit`] for a schedule known in advance, and
/// [`crate::simulate`] for a closed-model load whose next call depends on the last answer.
pub(crate) struct Admitter<'p> {
    policy: &'p SessionPolicy,
    /// The idle timeout in force: the policy's, or [`QuotaModel::Reclaimed`]'s when shorter.
    idle: Duration,
    sessions: Vec<Session>,
    endings: BinaryHeap<Reverse<(Duration, u32)>>,
    live: u32,
    /// Live sessions per cell ([`QuotaModel::PerCell`]; one cell otherwise).
    live_in_cell: Vec<u32>,
    pub(crate) out: Admission,
}

impl<'p> Admitter<'p> {
    pub(crate) fn new(policy: &'p SessionPolicy) -> Self {
        let (idle, cells) = match policy.quota {
            QuotaModel::Reclaimed { after } => (policy.idle_timeout.min(after), 1),
            QuotaModel::PerCell { cells } => (policy.idle_timeout, cells.max(1)),
            QuotaModel::Exact | QuotaModel::Lagged { .. } => (policy.idle_timeout, 1),
        };
        Self {
            policy,
            idle,
            sessions: Vec::new(),
            endings: BinaryHeap::new(),
            live: 0,
            live_in_cell: vec![0; cells as usize],
            out: Admission {
                decisions: Vec::new(),
                admitted: 0,
                refused: 0,
                sessions_started: 0,
                sessions_expired: 0,
                peak_live: 0,
                live: Vec::new(),
            },
        }
    }

    /// Adds a session (not yet live) of `runtime` named `session`; returns its index.
    pub(crate) fn add_session(&mut self, runtime: &str, session: &str) -> u32 {
        let cell = match self.policy.quota {
            QuotaModel::PerCell { cells } => cell_of(runtime, session, cells),
            _ => 0,
        };
        self.sessions.push(Session { live: false, started: Duration::ZERO, ends: Duration::ZERO, cell });
        (self.sessions.len() - 1) as u32
    }

    fn record(&mut self, at: Duration) {
        let live = self.live;
        match self.out.live.last_mut() {
            Some(last) if last.at == at => last.live = live,
            _ => self.out.live.push(LivePoint { at, live }),
        }
    }

    fn end(&mut self, s: u32, at: Duration) {
        let session = &mut self.sessions[s as usize];
        session.live = false;
        self.live -= 1;
        self.live_in_cell[session.cell as usize] -= 1;
        self.record(at);
    }

    /// The count the quota is checked against for a new session of `cell` at `at`.
    fn counted(&self, at: Duration, cell: u32) -> u32 {
        match self.policy.quota {
            QuotaModel::Lagged { lag } => match at.checked_sub(lag) {
                // Sessions that started after `seen` are not counted yet, and ones that ended after
                // it still are: the counter is the live count `lag` ago.
                Some(seen) => match self.out.live.partition_point(|p| p.at <= seen) {
                    0 => 0,
                    i => self.out.live[i - 1].live,
                },
                None => 0,
            },
            QuotaModel::PerCell { .. } => self.live_in_cell[cell as usize],
            QuotaModel::Exact | QuotaModel::Reclaimed { .. } => self.live,
        }
    }

    /// Decides one call; calls must come in time order.
    pub(crate) fn decide(&mut self, at: Duration, id: u32, kind: CallKind) -> Decision {
        // End every session whose time is up, at the time it ended.
        while let Some(&Reverse((ends, s))) = self.endings.peek() {
            if ends > at {
                break;
            }
            self.endings.pop();
            let session = self.sessions[s as usize];
            if session.live && session.ends == ends {
                self.out.sessions_expired += 1;
                self.end(s, ends);
            }
        }
        let session = self.sessions[id as usize];
        match kind {
            CallKind::Stop => {
                let ended = session.live;
                if ended {
                    self.end(id, at);
                }
                Decision::Stopped { ended }
            }
            CallKind::Invoke { busy_for } => {
                let new_session = !session.live;
                if new_session {
                    if self.counted(at, session.cell) >= self.policy.max_vms {
                        self.out.refused += 1;
                        return Decision::Refused;
                    }
                    self.sessions[id as usize] = Session { live: true, started: at, ends: at, cell: session.cell };
                    self.live += 1;
                    self.live_in_cell[session.cell as usize] += 1;
                    self.out.sessions_started += 1;
                    self.out.peak_live = self.out.peak_live.max(self.live);
                    self.record(at);
                }
                let session = &mut self.sessions[id as usize];
                let idle_end = (at + busy_for + self.idle).max(session.ends);
                let ends = idle_end.min(session.started + self.policy.max_lifetime);
                if ends != session.ends || new_session {
                    session.ends = ends;
                    self.endings.push(Reverse((ends, id)));
                }
                self.out.admitted += 1;
                Decision::Admitted { new_session }
            }
        }
    }
}

/// Predicts which calls of `schedule` are admitted under `policy`. Calls are taken in time order
/// (pushed order among equal times); a session whose end time equals a call's time has ended.
pub fn admit(policy: &SessionPolicy, schedule: &Schedule) -> Admission {
    let calls = &schedule.calls;
    let mut order: Vec<u32> = (0..calls.len() as u32).collect();
    if !calls.is_sorted_by_key(|c| c.0) {
        order.sort_by_key(|&i| calls[i as usize].0);
    }
    let mut admitter = Admitter::new(policy);
    admitter.sessions.reserve(schedule.sessions.len());
    for (runtime, session) in &schedule.sessions {
        admitter.add_session(&schedule.runtimes[*runtime as usize].0, session);
    }
    let mut decisions = vec![Decision::Refused; calls.len()];
    for i in order {
        let (at, id, kind) = calls[i as usize];
        decisions[i as usize] = admitter.decide(at, id, kind);
    }
    let mut out = admitter.out;
    out.decisions = decisions;
    out
}
