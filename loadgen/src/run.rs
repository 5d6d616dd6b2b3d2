//! Running a load: the closed model (`concurrency` workers in a loop) and the open model (requests
//! sent on a schedule paced by `governor`, each in its own task so a slow target never slows the
//! schedule), the per-second reporter, and the drain at the end or on [`Stop`] (SIGINT/SIGTERM in the
//! binary).
//!
//! Accounting: the scheduler (the open model's loop, or a closed-model worker before each call)
//! counts a call started before spawning or sending it ([`Recorder::start`]); the call records ok or
//! failed when it ends; a call still in flight when the run cancels it (drain deadline or
//! [`Stop::Abort`]), including one spawned and never polled, is recorded cancelled as it is dropped.
//! The run then checks `started == ok + failed + cancelled` and returns [`RunError::Unaccounted`]
//! (with the report) if it does not hold.
//!
//! A per-second series file that cannot be created or written does not end the run: writing it stops,
//! the series is still kept in the report, and [`Report::series_error`] names the file and the error.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use governor::{Quota, RateLimiter};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::record::{InFlight, Recorder, Timing};
use crate::report::{Report, RunFacts, Second, SeriesError, Stops};
use crate::schedule::{self, Stage};
use crate::sessions::{SessionIds, Sessions, Shard};
use crate::target::{Call, Failure, Target};

/// How load is offered.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    /// `concurrency` workers, each sending its next request when the last one is done.
    Closed {
        /// Workers over all shards (this shard runs its share).
        concurrency: u32,
        /// Stop sending after this long (`None`: only the request limit ends the run).
        duration: Option<Duration>,
    },
    /// Requests sent on a schedule whatever the target does; at most `max_in_flight` at once
    /// (the schedule's requests beyond that are dropped and counted).
    Open {
        /// The rate over time, in plateaus and ramps (over all shards).
        stages: Vec<Stage>,
        /// Requests allowed in flight at once.
        max_in_flight: usize,
    },
}

/// A whole run: model, limits, payloads, sessions and outputs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// How load is offered.
    pub model: Model,
    /// Stop after this many requests (over all shards; this shard sends its share).
    pub requests: Option<u64>,
    /// Request `n` sends `payloads[n % len]`.
    pub payloads: Vec<Bytes>,
    /// `None`: no session id (the target's default).
    pub sessions: Option<Sessions>,
    /// Stop each unique session once its request is done.
    pub stop_sessions: bool,
    /// Which part of the load this process sends.
    pub shard: Shard,
    /// Tags session ids of this run.
    pub run_tag: String,
    /// Per-request timeout (`None`: none).
    pub timeout: Option<Duration>,
    /// How long in-flight requests may finish after the end or a first [`Stop::Drain`] (SIGINT/SIGTERM).
    pub drain_timeout: Duration,
    /// Messages kept per error class.
    pub max_samples: usize,
    /// Append one JSON line per second here.
    pub series_path: Option<PathBuf>,
    /// Show the progress line on stderr.
    pub progress: bool,
    /// Names the target in the report.
    pub target_name: String,
}

impl Plan {
    /// A plan with defaults for everything but the model and target name.
    pub fn new(model: Model, target_name: &str) -> Self {
        Self {
            model,
            requests: None,
            payloads: vec![Bytes::from_static(br#"{"prompt":"loadgen"}"#)],
            sessions: None,
            stop_sessions: false,
            shard: Shard::default(),
            run_tag: crate::sessions::run_tag(),
            timeout: Some(Duration::from_secs(60)),
            drain_timeout: Duration::from_secs(10),
            max_samples: 5,
            series_path: None,
            progress: false,
            target_name: target_name.to_string(),
        }
    }

    /// Checks the plan; the errors are for users.
    pub fn validate(&self) -> Result<(), RunError> {
        let bad = |m: &str| Err(RunError::Plan(m.to_string()));
        if self.payloads.is_empty() {
            return bad("no payload");
        }
        match &self.model {
            Model::Closed { concurrency: 0, .. } => return bad("--concurrency must be at least 1"),
            Model::Closed { duration: None, .. } if self.requests.is_none() => {
                return bad("give --duration or --requests (or both) to bound the run");
            }
            Model::Open { max_in_flight: 0, .. } => return bad("--max-in-flight must be at least 1"),
            Model::Open { stages, .. } if stages.iter().all(|s| s.from == 0.0 && s.to == 0.0) => {
                return bad("the rate is zero: nothing would be sent");
            }
            Model::Open { .. } if self.sessions == Some(Sessions::PerWorker) => {
                return bad("--sessions per-worker needs the closed model (--concurrency); use pool:K with --rate");
            }
            _ => {}
        }
        if let Model::Closed { concurrency, .. } = self.model
            && concurrency < self.shard.count
        {
            return bad("--concurrency must be at least the number of shards (each shard runs its share)");
        }
        Ok(())
    }

    fn describe(&self) -> String {
        let requests = self.requests.map(|r| format!(", {r} requests")).unwrap_or_default();
        match &self.model {
            Model::Closed { concurrency, duration } => {
                let duration = duration.map(|d| format!(" for {}", schedule::format_duration(d))).unwrap_or_default();
                format!("closed, concurrency {concurrency}{duration}{requests}")
            }
            Model::Open { stages, max_in_flight } => {
                let stages: Vec<String> = stages.iter().map(ToString::to_string).collect();
                format!("open, stages {}{requests}, max in flight {max_in_flight}", stages.join(","))
            }
        }
    }
}

/// What the run is told from outside (the binary: the first SIGINT or SIGTERM drains, the second aborts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stop {
    /// Keep going.
    #[default]
    Run,
    /// Send nothing new; let in-flight requests finish until the drain deadline.
    Drain,
    /// Cancel in-flight requests now.
    Abort,
}

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The plan is invalid; the message says what to change.
    #[error("{0}")]
    Plan(String),
    /// Some started request has no recorded outcome, or one has two: `total != ok + failed +
    /// cancelled`. The report is kept, to be written and looked at.
    #[error("{message}")]
    Unaccounted {
        /// Which counts disagree.
        message: String,
        /// The report as recorded.
        report: Box<Report>,
    },
}

/// Shared by the sending tasks.
struct Context<T> {
    target: T,
    recorder: Arc<Recorder>,
    plan: Plan,
    ids: Option<SessionIds>,
}

impl<T: Target> Context<T> {
    fn call(&self, seq: u64, worker: Option<u32>) -> Call {
        let payload = self.plan.payloads[(seq % self.plan.payloads.len() as u64) as usize].clone();
        Call { seq, payload, session_id: self.ids.as_ref().map(|ids| ids.id(seq, worker)) }
    }

    /// Sends a call the scheduler has already counted (`in_flight`) and records its outcome.
    async fn send(&self, call: Call, in_flight: InFlight, intended: Instant, scheduled: bool, key: u64) {
        let sent = Instant::now();
        let result = match self.plan.timeout {
            Some(limit) => tokio::time::timeout(limit, self.target.invoke(&call))
                .await
                .unwrap_or_else(|_| Err(Failure::timeout(limit))),
            None => self.target.invoke(&call).await,
        };
        let done = Instant::now();
        in_flight.finish(key, Timing { intended, sent, done, scheduled }, result.map(|a| a.first_byte));
        if self.plan.stop_sessions && self.ids.as_ref().is_some_and(|ids| ids.sessions() == Sessions::Unique) {
            let stopped = self.target.stop_session(&call).await;
            self.recorder.session_stopped(&stopped);
        }
    }
}

/// Runs `plan` against `target` until it is done or `stop` says otherwise, and reports.
pub async fn run<T: Target>(target: T, plan: Plan, mut stop: watch::Receiver<Stop>) -> Result<Report, RunError> {
    plan.validate()?;
    let ids = plan.sessions.map(|sessions| SessionIds::new(sessions, &plan.run_tag, plan.shard));
    let context = Arc::new(Context { target, recorder: Arc::new(Recorder::new(plan.max_samples)), plan, ids });
    let started_unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let start = Instant::now();

    let (done_tx, done_rx) = watch::channel(false);
    let reporter = tokio::spawn(report_seconds(Arc::clone(&context), start, done_rx));

    let mut tasks = JoinSet::new();
    let (drain_from, aborted) = match context.plan.model.clone() {
        Model::Closed { concurrency, duration } => {
            closed(&context, &mut tasks, start, concurrency, duration, &mut stop).await
        }
        Model::Open { stages, max_in_flight } => {
            open(&context, &mut tasks, start, &stages, max_in_flight, &mut stop).await
        }
    };
    if !aborted {
        let deadline = tokio::time::Instant::from_std(drain_from + context.plan.drain_timeout);
        loop {
            tokio::select! {
                next = tasks.join_next() => if next.is_none() { break },
                () = tokio::time::sleep_until(deadline) => break,
                () = until(&mut stop, Stop::Abort) => break,
            }
        }
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    let duration = start.elapsed();
    let _ = done_tx.send(true);
    let (series, series_error) = reporter.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));

    let context = Arc::into_inner(context).expect("every task has ended");
    let (stop_ok, stop_failed) = context.recorder.stops();
    let facts = RunFacts {
        target: context.plan.target_name.clone(),
        model: context.plan.describe(),
        sessions: context.plan.sessions.map_or_else(|| "none".to_string(), |s| s.to_string()),
        shard: context.plan.shard,
        started_unix_ms,
        duration_s: duration.as_secs_f64(),
        started: context.recorder.started_count(),
        cancelled: context.recorder.cancelled_count(),
        dropped: context.recorder.dropped_count(),
        retries: context.target.retries(),
        stops: Stops { ok: stop_ok, failed: stop_failed },
        interrupted: *stop.borrow() != Stop::Run,
        series,
        series_error,
    };
    let report = Report::new(facts, &context.recorder.totals());
    match report.check_accounting() {
        Ok(()) => Ok(report),
        Err(message) => Err(RunError::Unaccounted { message, report: Box::new(report) }),
    }
}

/// Resolves once `stop` reaches `level` (or its sender is gone while below it: then never).
async fn until(stop: &mut watch::Receiver<Stop>, level: Stop) {
    let reached = |s: &Stop| match level {
        Stop::Run => true,
        Stop::Drain => *s != Stop::Run,
        Stop::Abort => *s == Stop::Abort,
    };
    if stop.wait_for(reached).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs the closed model; returns when sending ended (to start the drain) and whether to abort.
async fn closed<T: Target>(
    context: &Arc<Context<T>>,
    tasks: &mut JoinSet<()>,
    start: Instant,
    concurrency: u32,
    duration: Option<Duration>,
    stop: &mut watch::Receiver<Stop>,
) -> (Instant, bool) {
    let plan = &context.plan;
    let limit = plan.requests.map(|r| plan.shard.share_of(r));
    let workers = plan.shard.share_of(u64::from(concurrency)) as u32;
    let next = Arc::new(AtomicU64::new(0));
    let halt = Arc::new(AtomicBool::new(false));
    let deadline = duration.map(|d| start + d);
    for worker in 0..workers {
        let (context, next, halt) = (Arc::clone(context), Arc::clone(&next), Arc::clone(&halt));
        let worker = plan.shard.global(u64::from(worker)) as u32;
        tasks.spawn(async move {
            loop {
                if halt.load(Ordering::Relaxed) {
                    break;
                }
                let local = next.fetch_add(1, Ordering::Relaxed);
                if limit.is_some_and(|limit| local >= limit) {
                    break;
                }
                let now = Instant::now();
                if deadline.is_some_and(|deadline| now >= deadline) {
                    break;
                }
                let seq = context.plan.shard.global(local);
                let in_flight = context.recorder.start();
                let call = context.call(seq, Some(worker));
                context.send(call, in_flight, now, false, u64::from(worker)).await;
            }
        });
    }
    let end = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await,
            None => std::future::pending().await,
        }
    };
    // Sending ends when every worker is done (request limit), at the deadline, or on a stop (signal).
    let all_done = async {
        // Workers only leave on their own; wait without taking them out of the set.
        while !tasks.is_empty() {
            if tasks.join_next().await.is_none() {
                break;
            }
        }
    };
    tokio::select! {
        () = all_done => {}
        () = end => {}
        () = until(stop, Stop::Drain) => {}
    }
    halt.store(true, Ordering::Relaxed);
    (Instant::now(), *stop.borrow() == Stop::Abort)
}

/// Runs the open model; returns when the schedule ended (to start the drain) and whether to abort.
async fn open<T: Target>(
    context: &Arc<Context<T>>,
    tasks: &mut JoinSet<()>,
    start: Instant,
    stages: &[Stage],
    max_in_flight: usize,
    stop: &mut watch::Receiver<Stop>,
) -> (Instant, bool) {
    let plan = &context.plan;
    let share = 1.0 / f64::from(plan.shard.count);
    let stages: Vec<Stage> =
        stages.iter().map(|s| Stage { from: s.from * share, to: s.to * share, duration: s.duration }).collect();
    let limit = plan.requests.map(|r| plan.shard.share_of(r)).unwrap_or(u64::MAX);
    let in_flight = Arc::new(Semaphore::new(max_in_flight.min(Semaphore::MAX_PERMITS)));
    let mut local = 0u64;
    'schedule: for step in schedule::steps(&stages) {
        if step.count == 0 {
            continue;
        }
        let step_start = start + step.offset + step.lead;
        tokio::select! {
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(step_start)) => {}
            () = until(stop, Stop::Drain) => break 'schedule,
        }
        // Burst capacity of one second of requests lets a late dispatcher catch up with the schedule;
        // all but one cell are used up at once so the first release is now and the next every period.
        let burst = (step.rate.ceil() as u32).clamp(1, 1_000_000);
        let quota = Quota::with_period(step.period())
            .expect("the period is at least a nanosecond")
            .allow_burst(NonZeroU32::new(burst).expect("burst is at least 1"));
        let limiter = RateLimiter::direct(quota);
        if let Some(spent) = NonZeroU32::new(burst - 1) {
            let _ = limiter.check_n(spent);
        }
        for i in 0..step.count {
            if local >= limit {
                break 'schedule;
            }
            tokio::select! {
                () = limiter.until_ready() => {}
                () = until(stop, Stop::Drain) => break 'schedule,
            }
            let intended = start + step.due(i);
            let seq = plan.shard.global(local);
            local += 1;
            match Arc::clone(&in_flight).try_acquire_owned() {
                Ok(permit) => {
                    // Counted here, before the spawn: a task aborted before it ever ran is cancelled, not lost.
                    let in_flight = context.recorder.start();
                    let context = Arc::clone(context);
                    let call = context.call(seq, None);
                    tasks.spawn(async move {
                        context.send(call, in_flight, intended, true, seq).await;
                        drop(permit);
                    });
                }
                Err(_) => context.recorder.dropped(),
            }
            // Reap finished tasks so the set stays as small as what is in flight.
            while tasks.try_join_next().is_some() {}
        }
    }
    (Instant::now(), *stop.borrow() == Stop::Abort)
}

/// The per-second series file, written line by line until the first error (then left alone).
struct SeriesFile {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    error: Option<SeriesError>,
}

impl SeriesFile {
    fn open(path: Option<&PathBuf>) -> Option<Self> {
        let path = path?.clone();
        let (file, error) = match File::create(&path) {
            Ok(file) => (Some(BufWriter::new(file)), None),
            Err(e) => (None, Some(SeriesError { path: path.display().to_string(), error: e.to_string() })),
        };
        if let Some(error) = &error {
            tracing::warn!(path = %error.path, error = %error.error, "cannot create the per-second series file");
        }
        Some(Self { path, file, error })
    }

    fn append(&mut self, line: &Second) {
        let Some(file) = &mut self.file else { return };
        let written = serde_json::to_writer(&mut *file, line)
            .map_err(std::io::Error::from)
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.flush());
        if let Err(e) = written {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot write the per-second series file");
            self.error = Some(SeriesError { path: self.path.display().to_string(), error: e.to_string() });
            self.file = None;
        }
    }
}

/// Every second: one series line (to the JSON Lines file as it is produced) and the progress line.
/// Returns the series and, if the file could not be written, why.
async fn report_seconds<T: Target>(
    context: Arc<Context<T>>,
    start: Instant,
    mut done: watch::Receiver<bool>,
) -> (Vec<Second>, Option<SeriesError>) {
    let plan = &context.plan;
    let mut file = SeriesFile::open(plan.series_path.as_ref());
    let progress = if plan.progress {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .expect("the template is valid"),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut series = Vec::new();
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::from_std(start + Duration::from_secs(1)),
        Duration::from_secs(1),
    );
    let (mut sent_before, mut cancelled_before, mut dropped_before) = (0, 0, 0);
    let (mut ok_total, mut failed_total) = (0, 0);
    let mut second = 0;
    loop {
        let finished = tokio::select! {
            _ = ticker.tick() => false,
            _ = done.wait_for(|d| *d) => true,
        };
        second += 1;
        let interval = context.recorder.take_interval();
        let sent = context.recorder.started_count();
        let dropped = context.recorder.dropped_count();
        let cancelled = context.recorder.cancelled_count();
        let completed = interval.ok + interval.failed;
        let line = Second {
            second,
            sent: sent - sent_before,
            ok: interval.ok,
            failed: interval.failed,
            cancelled: cancelled - cancelled_before,
            dropped: dropped - dropped_before,
            mean_ms: if completed == 0 { 0.0 } else { interval.latency_sum_us as f64 / completed as f64 / 1000.0 },
            max_ms: interval.latency_max_us as f64 / 1000.0,
        };
        (sent_before, cancelled_before, dropped_before) = (sent, cancelled, dropped);
        ok_total += interval.ok;
        failed_total += interval.failed;
        if !finished || line.sent + completed + line.cancelled + line.dropped > 0 {
            if let Some(file) = &mut file {
                file.append(&line);
            }
            series.push(line);
        }
        progress.set_message(format!(
            "sent {sent}  ok {ok_total}  failed {failed_total}  {}/s{}",
            line.sent,
            if dropped > 0 { format!("  dropped {dropped}") } else { String::new() }
        ));
        progress.tick();
        if finished {
            progress.finish_and_clear();
            return (series, file.and_then(|f| f.error));
        }
    }
}
