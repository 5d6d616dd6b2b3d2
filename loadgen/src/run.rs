//! Running a load: the closed model (`concurrency` workers in a loop) and the open model (requests
//! sent on a schedule by a dispatcher thread, each in its own task so a slow target never slows the
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
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::hdr::IntervalLog;
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
    /// Write the corrected latency of every second here, as an HdrHistogram interval log (`.hlog`).
    pub hlog_path: Option<PathBuf>,
    /// Print each second's line to stdout as it ends (`--output jsonl`), as `{"type":"second",…}`.
    pub stream_seconds: bool,
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
            hlog_path: None,
            stream_seconds: false,
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

    /// The model and limits in words (`closed, concurrency 50 for 2m`).
    pub fn describe(&self) -> String {
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
        let on_wire = result.as_ref().ok().and_then(|answer| answer.sent).unwrap_or(sent);
        in_flight.finish(key, Timing { intended, sent, on_wire, done, scheduled }, result.map(|a| a.first_byte));
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
    let started = UNIX_EPOCH + Duration::from_millis(started_unix_ms);
    let reporter = tokio::spawn(report_seconds(Arc::clone(&context), start, started, done_rx));

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
        sending_s: drain_from.saturating_duration_since(start).as_secs_f64(),
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
///
/// The schedule is dispatched from a thread of its own (the runtime's blocking pool): it sleeps with
/// the operating system's timer (tens of microseconds of precision, where the runtime's timer wheel
/// has a millisecond) until each request's intended time, spawns the request onto the runtime, and,
/// when it has fallen behind, sends every request already due at once.
async fn open<T: Target>(
    context: &Arc<Context<T>>,
    tasks: &mut JoinSet<()>,
    start: Instant,
    stages: &[Stage],
    max_in_flight: usize,
    stop: &mut watch::Receiver<Stop>,
) -> (Instant, bool) {
    let share = 1.0 / f64::from(context.plan.shard.count);
    let stages: Vec<Stage> =
        stages.iter().map(|s| Stage { from: s.from * share, to: s.to * share, duration: s.duration }).collect();
    let dispatcher = {
        let (context, stop, handle) = (Arc::clone(context), stop.clone(), tokio::runtime::Handle::current());
        let mut set = std::mem::take(tasks);
        tokio::task::spawn_blocking(move || {
            dispatch(&context, &mut set, &handle, start, &stages, max_in_flight, &stop);
            set
        })
    };
    *tasks = dispatcher.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    (Instant::now(), *stop.borrow() == Stop::Abort)
}

/// The open model's schedule, sent from the calling (blocking) thread until it ends or a stop comes.
fn dispatch<T: Target>(
    context: &Arc<Context<T>>,
    tasks: &mut JoinSet<()>,
    runtime: &tokio::runtime::Handle,
    start: Instant,
    stages: &[Stage],
    max_in_flight: usize,
    stop: &watch::Receiver<Stop>,
) {
    let plan = &context.plan;
    let limit = plan.requests.map(|r| plan.shard.share_of(r)).unwrap_or(u64::MAX);
    let in_flight = Arc::new(Semaphore::new(max_in_flight.min(Semaphore::MAX_PERMITS)));
    let mut local = 0u64;
    for step in schedule::steps(stages) {
        for i in 0..step.count {
            if local >= limit {
                return;
            }
            let intended = start + step.due(i);
            if !sleep_until(intended, stop) {
                return;
            }
            let seq = plan.shard.global(local);
            local += 1;
            match Arc::clone(&in_flight).try_acquire_owned() {
                Ok(permit) => {
                    // Counted here, before the spawn: a task aborted before it ever ran is cancelled, not lost.
                    let in_flight = context.recorder.start_due(step.due(i).as_secs());
                    let context = Arc::clone(context);
                    let call = context.call(seq, None);
                    tasks.spawn_on(
                        async move {
                            context.send(call, in_flight, intended, true, seq).await;
                            drop(permit);
                        },
                        runtime,
                    );
                }
                Err(_) => context.recorder.dropped(),
            }
            // Reap finished tasks so the set stays as small as what is in flight.
            while tasks.try_join_next().is_some() {}
        }
    }
}

/// Sleeps this thread until `when`, in slices of at most 50 ms so that a stop is seen; false when a
/// stop (SIGINT, SIGTERM) came first.
fn sleep_until(when: Instant, stop: &watch::Receiver<Stop>) -> bool {
    loop {
        if *stop.borrow() != Stop::Run {
            return false;
        }
        let now = Instant::now();
        if now >= when {
            return true;
        }
        std::thread::sleep((when - now).min(Duration::from_millis(50)));
    }
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

/// Each second's line is taken this long after the second ends, so that an open-model request due in
/// the second but sent late (a busy machine) still counts in it; its ok/failed counts and latencies are
/// those of the second that ends then.
const SECOND_GRACE: Duration = Duration::from_millis(200);

/// The progress bar: a bar with an ETA over the run's known length (its duration, else its request
/// count), or a spinner when neither bounds it.
fn progress_bar(plan: &Plan) -> (indicatif::ProgressBar, Length) {
    if !plan.progress {
        return (indicatif::ProgressBar::hidden(), Length::Unknown);
    }
    let duration = match &plan.model {
        Model::Closed { duration, .. } => *duration,
        Model::Open { stages, .. } => Some(schedule::total_duration(stages)).filter(|_| plan.requests.is_none()),
    };
    let style = |template: &str| indicatif::ProgressStyle::with_template(template).expect("the template is valid");
    let (bar, length) = match (duration, plan.requests) {
        (Some(duration), _) => (
            indicatif::ProgressBar::new(duration.as_secs().max(1))
                .with_style(style("{bar:30} {elapsed_precise} of {duration_precise}, ETA {eta}  {msg}")),
            Length::Seconds,
        ),
        (None, Some(requests)) => (
            indicatif::ProgressBar::new(plan.shard.share_of(requests))
                .with_style(style("{bar:30} {pos}/{len} requests, ETA {eta}  {msg}")),
            Length::Requests,
        ),
        (None, None) => (
            indicatif::ProgressBar::new_spinner().with_style(style("{spinner} {elapsed_precise}  {msg}")),
            Length::Unknown,
        ),
    };
    (bar, length)
}

/// What the progress bar counts.
#[derive(Clone, Copy)]
enum Length {
    Seconds,
    Requests,
    Unknown,
}

/// One stdout line of `--output jsonl`: `{"type":"second", …}` (and, at the end, `"results"`).
#[derive(serde::Serialize)]
pub struct Tagged<'a, T: serde::Serialize> {
    /// What the line holds.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The line's fields.
    #[serde(flatten)]
    pub value: &'a T,
}

/// Every second: one series line (to the JSON Lines file and stdout as it is produced), one interval
/// histogram (to the `.hlog`), and the progress bar. Returns the series and, if the series file could
/// not be written, why (an `.hlog` that cannot be written is reported the same way).
async fn report_seconds<T: Target>(
    context: Arc<Context<T>>,
    start: Instant,
    started: SystemTime,
    mut done: watch::Receiver<bool>,
) -> (Vec<Second>, Option<SeriesError>) {
    let plan = &context.plan;
    let mut file = SeriesFile::open(plan.series_path.as_ref());
    let mut hlog_error = None;
    let mut hlog = plan.hlog_path.as_ref().and_then(|path| match IntervalLog::create(path, started) {
        Ok(log) => Some((path, log)),
        Err(e) => {
            hlog_error = Some(SeriesError { path: path.display().to_string(), error: e.to_string() });
            None
        }
    });
    let (progress, length) = progress_bar(plan);
    let mut series = Vec::new();
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::from_std(start + Duration::from_secs(1) + SECOND_GRACE),
        Duration::from_secs(1),
    );
    let (mut sent_before, mut cancelled_before, mut dropped_before) = (0, 0, 0);
    let (mut ok_total, mut failed_total) = (0, 0);
    let mut second = 0;
    let mut interval_start = Duration::ZERO;
    loop {
        let finished = tokio::select! {
            _ = ticker.tick() => false,
            _ = done.wait_for(|d| *d) => true,
        };
        second += 1;
        let (interval, latency) = context.recorder.take_interval();
        let sent = context.recorder.started_count();
        let dropped = context.recorder.dropped_count();
        let cancelled = context.recorder.cancelled_count();
        let completed = interval.ok + interval.failed;
        let due = context.recorder.take_due(second, finished);
        let line = Second {
            second,
            // The open model counts a request in the second it was due (the schedule's, the same in
            // every shard started together); the closed model when it was started.
            sent: if matches!(plan.model, Model::Open { .. }) { due } else { sent - sent_before },
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
            if plan.stream_seconds {
                progress.suspend(|| print_line(&Tagged { kind: "second", value: &line }));
            }
            let now = start.elapsed();
            if let Some((path, log)) = &mut hlog
                && let Err(e) = log.append(interval_start, now.saturating_sub(interval_start), &latency)
            {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the interval log");
                hlog_error = Some(SeriesError { path: path.display().to_string(), error: e.to_string() });
                hlog = None;
            }
            interval_start = now;
            series.push(line);
        }
        match length {
            Length::Seconds => progress.set_position(start.elapsed().as_secs()),
            Length::Requests => progress.set_position(sent),
            Length::Unknown => progress.tick(),
        }
        progress.set_message(format!(
            "sent {sent}  ok {ok_total}  failed {failed_total}  {}/s{}",
            line.sent,
            if dropped > 0 { format!("  dropped {dropped}") } else { String::new() }
        ));
        if finished {
            progress.finish_and_clear();
            return (series, file.and_then(|f| f.error).or(hlog_error));
        }
    }
}

/// One JSON line on stdout, flushed (a collector reading the pipe sees each line as it ends).
pub fn print_line(value: &impl serde::Serialize) {
    let mut stdout = std::io::stdout().lock();
    if serde_json::to_writer(&mut stdout, value).is_ok() {
        let _ = stdout.write_all(b"\n");
        let _ = stdout.flush();
    }
}
