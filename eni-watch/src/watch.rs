//! The watcher: polls, diffs, checks, and runs as a loop or a task that callers start next to
//! a load and stop.

use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use aws_sdk_ec2::Client;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::describe::{PollError, Scope, describe};
use crate::diff::diff;
use crate::eni::Eni;
use crate::expect::Expectation;
use crate::sink::Sink;
use crate::timeline::{Event, Gap, Item, Sample, Start, StopReason, Summary, Tally};

/// How long to wait after failed polls: `initial`, doubling per failure in a row up to `max`,
/// with "equal jitter" (half fixed, half random) so that many watchers do not retry in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { initial: Duration::from_secs(1), max: Duration::from_secs(60) }
    }
}

impl Backoff {
    /// The wait after the `consecutive`-th failure in a row (1 for the first).
    pub fn delay(&self, consecutive: u32) -> Duration {
        let exp = consecutive.saturating_sub(1).min(20);
        let full = self.initial.saturating_mul(1 << exp).min(self.max);
        let half = full / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    time::OffsetDateTime::now_utc().format(&format).unwrap_or_default()
}

/// What one poll produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Polled {
    /// The sample and its events, or the gap, in timeline order.
    pub items: Vec<Item>,
    /// The ENI count, or why the poll failed.
    pub result: Result<usize, PollError>,
    /// After a failure: how long to back off.
    pub retry_in: Option<Duration>,
}

/// Polls one scope, keeping the last good sample to diff against and a running summary.
pub struct Watcher {
    client: Client,
    scope: Scope,
    expectation: Option<Expectation>,
    backoff: Backoff,
    started: Instant,
    started_at: String,
    seq: u64,
    last_good: Option<Vec<Eni>>,
    consecutive_failures: u32,
    tally: Tally,
}

impl Watcher {
    /// A watcher whose clock starts now. Use [`crate::polling_client`] for `client` so that
    /// failed calls show as gaps instead of being retried inside the SDK.
    pub fn new(client: Client, scope: Scope) -> Self {
        Self {
            client,
            scope,
            expectation: None,
            backoff: Backoff::default(),
            started: Instant::now(),
            started_at: now_rfc3339(),
            seq: 0,
            last_good: None,
            consecutive_failures: 0,
            tally: Tally::new(),
        }
    }

    /// Checks every sample against `expectation`.
    pub fn expect(mut self, expectation: Expectation) -> Self {
        self.expectation = Some(expectation);
        self
    }

    /// Waits after failed polls as `backoff` says.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// What is watched.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The ENIs of the last good sample.
    pub fn last_sample(&self) -> Option<&[Eni]> {
        self.last_good.as_deref()
    }

    /// The first line of the timeline.
    pub fn start_item(&mut self) -> Item {
        let item = Item::Start(Start {
            at: self.started_at.clone(),
            filters: self.scope.filter_labels(),
            interface_type: self.scope.interface_type.clone(),
            expectation: self.expectation.as_ref().map(Expectation::describe),
        });
        self.tally.add(&item);
        item
    }

    /// Polls once. A good sample is diffed against the last good one (the first sample is the
    /// baseline: no events); a failure is a gap with the backoff to wait before the next poll.
    pub async fn poll(&mut self) -> Polled {
        self.seq += 1;
        let result = describe(&self.client, &self.scope).await;
        let elapsed = self.started.elapsed();
        let (at, t) = (now_rfc3339(), elapsed.as_secs_f64());
        let polled = match result {
            Ok(snapshot) => {
                self.consecutive_failures = 0;
                let check = self.expectation.as_ref().map(|e| e.check(elapsed, &snapshot.enis));
                let changes = self.last_good.as_deref().map(|prev| diff(prev, &snapshot.enis)).unwrap_or_default();
                let count = snapshot.enis.len();
                let mut items = Vec::with_capacity(1 + changes.len());
                items.push(Item::Sample(Sample {
                    seq: self.seq,
                    at: at.clone(),
                    t,
                    count,
                    enis: snapshot.enis.clone(),
                    pages: snapshot.pages,
                    check,
                }));
                items.extend(
                    changes.into_iter().map(|change| Item::Event(Event { seq: self.seq, at: at.clone(), t, change })),
                );
                self.last_good = Some(snapshot.enis);
                Polled { items, result: Ok(count), retry_in: None }
            }
            Err(error) => {
                self.consecutive_failures += 1;
                let retry_in = self.backoff.delay(self.consecutive_failures);
                let gap = Item::Gap(Gap {
                    seq: self.seq,
                    at,
                    t,
                    code: error.code.clone(),
                    message: error.message.clone(),
                    consecutive: self.consecutive_failures,
                    retry_in_s: retry_in.as_secs_f64(),
                });
                Polled { items: vec![gap], result: Err(error), retry_in: Some(retry_in) }
            }
        };
        for item in &polled.items {
            self.tally.add(item);
        }
        polled
    }

    /// The summary of everything polled so far.
    pub fn summary(&self, stop: StopReason) -> Summary {
        self.tally.summary(stop, Some((now_rfc3339(), self.started.elapsed().as_secs_f64())))
    }
}

/// How long a watch runs and when it stops by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// Time between the starts of two polls.
    pub interval: Duration,
    /// Stop after this long (`None`: until stopped).
    pub duration: Option<Duration>,
    /// Stop as soon as a sample has no ENI.
    pub until_gone: bool,
    /// If the very first poll fails for a reason that waiting will not fix (endpoint unreachable,
    /// credentials or parameters refused), return the error instead of recording gaps forever.
    pub fail_fast: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { interval: Duration::from_secs(5), duration: None, until_gone: false, fail_fast: true }
    }
}

/// Why a watch could not go on.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The sink refused an item.
    #[error("cannot write the timeline: {0}")]
    Sink(#[from] io::Error),
    /// The first poll failed for a reason waiting will not fix ([`RunOptions::fail_fast`]).
    #[error("the first poll failed: {0}")]
    FirstPoll(PollError),
}

/// Runs `watcher` until `stop` resolves, the duration elapses, or (with `until_gone`) no ENI is
/// left. Writes the start line, then every item as it happens, then the summary, to `sink`.
pub async fn run(
    watcher: &mut Watcher,
    options: &RunOptions,
    sink: &mut (dyn Sink + Send),
    stop: impl Future<Output = ()>,
) -> Result<Summary, WatchError> {
    let start = watcher.start_item();
    sink.write(&start)?;
    let deadline = options.duration.map(|d| Instant::now() + d);
    let mut good_samples = 0u64;
    tokio::pin!(stop);
    let reason = loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break StopReason::Duration;
        }
        let poll_started = Instant::now();
        let polled = tokio::select! {
            polled = watcher.poll() => polled,
            () = &mut stop => break StopReason::Interrupted,
        };
        for item in &polled.items {
            sink.write(item)?;
        }
        let wait = match polled.result {
            Ok(count) => {
                good_samples += 1;
                if options.until_gone && count == 0 {
                    break StopReason::Gone;
                }
                options.interval.saturating_sub(poll_started.elapsed())
            }
            Err(error) => {
                if options.fail_fast && good_samples == 0 && !error.is_transient() {
                    return Err(WatchError::FirstPoll(error));
                }
                polled.retry_in.unwrap_or(options.interval)
            }
        };
        let wait = match deadline {
            Some(d) => wait.min(d.saturating_duration_since(Instant::now())),
            None => wait,
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut stop => break StopReason::Interrupted,
        }
    };
    let summary = watcher.summary(reason);
    sink.write(&Item::Summary(summary.clone()))?;
    Ok(summary)
}

/// A watch running as a tokio task.
pub struct WatchTask {
    stop: Option<oneshot::Sender<()>>,
    join: JoinHandle<Result<Summary, WatchError>>,
}

/// Starts `watcher` as a task writing to `sink`. Stop it with [`WatchTask::stop`]; dropping the
/// handle stops it too (the summary is still written).
pub fn spawn(mut watcher: Watcher, options: RunOptions, mut sink: Box<dyn Sink + Send>) -> WatchTask {
    let (stop, stopped) = oneshot::channel::<()>();
    let join = tokio::spawn(async move {
        run(&mut watcher, &options, sink.as_mut(), async move {
            let _ = stopped.await;
        })
        .await
    });
    WatchTask { stop: Some(stop), join }
}

impl WatchTask {
    /// Stops the watch and returns its summary.
    pub async fn stop(mut self) -> Result<Summary, WatchError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join.await.expect("the watch task does not panic")
    }

    /// Waits until the watch ends by itself (duration, or no ENI left with `until_gone`).
    pub async fn wait(self) -> Result<Summary, WatchError> {
        let WatchTask { stop, join } = self;
        let result = join.await.expect("the watch task does not panic");
        drop(stop);
        result
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let backoff = Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(8) };
        for (failures, full) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (60, 8)] {
            for _ in 0..50 {
                let d = backoff.delay(failures);
                let full = Duration::from_secs(full);
                assert!(d >= full / 2 && d <= full, "failure {failures}: {d:?}");
            }
        }
    }
}
