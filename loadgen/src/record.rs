//! Recording outcomes: counts per class, error samples and HDR histograms (microseconds), sharded
//! behind a few mutexes so many tasks record without contending; plus the per-second interval counts.
//! Memory is bounded: histograms have fixed precision, samples are capped.
//!
//! Every call is counted where each thing happens to it: [`Recorder::start`] counts it started (the
//! scheduler calls it before the call is spawned or sent) and hands back an [`InFlight`];
//! [`InFlight::finish`] records it ok or failed; an [`InFlight`] dropped unfinished (its task
//! aborted at the drain deadline, or spawned and never polled) records it cancelled. No count is
//! derived from the others, so `started == ok + failed + cancelled` is a check that can fail.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::target::Failure;

/// Significant figures of every histogram.
pub const SIGFIGS: u8 = 3;
const SHARDS: usize = 16;
/// Seconds of the open model's per-second `sent` counts kept before the series takes them.
const SECOND_SLOTS: usize = 4;

/// A new histogram of microseconds (auto-resizing, 3 significant figures).
pub fn histogram() -> Histogram<u64> {
    Histogram::new(SIGFIGS).expect("3 significant figures are valid")
}

/// Records `value` (auto-resizing histograms take any value a `Duration` in µs can have).
fn put(histogram: &mut Histogram<u64>, value: u64) {
    histogram.record(value).expect("auto-resizing histograms accept any value");
}

fn micros(duration: Duration) -> u64 {
    (duration.as_micros() as u64).max(1)
}

/// The four latency histograms (µs).
#[derive(Debug, Clone)]
pub struct Histograms {
    /// Completion − intended send time (coordinated-omission corrected).
    pub corrected: Histogram<u64>,
    /// Completion − actual send time.
    pub uncorrected: Histogram<u64>,
    /// First body byte − actual send time (successful responses).
    pub ttfb: Histogram<u64>,
    /// Actual − intended send time (open model only).
    pub schedule_lag: Histogram<u64>,
}

impl Default for Histograms {
    fn default() -> Self {
        Self { corrected: histogram(), uncorrected: histogram(), ttfb: histogram(), schedule_lag: histogram() }
    }
}

impl Histograms {
    /// Adds every histogram of `other` to the same one of `self`.
    pub fn add(&mut self, other: &Self) {
        for (mine, theirs) in [
            (&mut self.corrected, &other.corrected),
            (&mut self.uncorrected, &other.uncorrected),
            (&mut self.ttfb, &other.ttfb),
            (&mut self.schedule_lag, &other.schedule_lag),
        ] {
            mine.add(theirs).expect("auto-resizing histograms accept any value");
        }
    }
}

/// Count and first messages of one error class.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClassCount {
    /// Requests that failed with this class.
    pub count: u64,
    /// The first messages, capped at the run's `max_samples`.
    pub samples: Vec<String>,
}

/// Everything recorded, summed over the run.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Requests that succeeded.
    pub ok: u64,
    /// Failed requests by error class.
    pub failed: BTreeMap<String, ClassCount>,
    /// Latencies of every completed request.
    pub histograms: Histograms,
}

impl Totals {
    /// Failed requests over every class.
    pub fn failed_total(&self) -> u64 {
        self.failed.values().map(|c| c.count).sum()
    }

    /// Adds `other` (samples kept up to `max_samples` per class).
    pub fn add(&mut self, other: &Self, max_samples: usize) {
        self.ok += other.ok;
        for (class, theirs) in &other.failed {
            let mine = self.failed.entry(class.clone()).or_default();
            mine.count += theirs.count;
            for sample in &theirs.samples {
                if mine.samples.len() < max_samples {
                    mine.samples.push(sample.clone());
                }
            }
        }
        self.histograms.add(&other.histograms);
    }
}

/// What happened during one reporting interval.
#[derive(Debug, Clone, Copy, Default)]
pub struct Interval {
    /// Requests that succeeded.
    pub ok: u64,
    /// Requests that failed, of any class.
    pub failed: u64,
    /// Sum of corrected latencies (µs), for the interval's mean.
    pub latency_sum_us: u64,
    /// Largest corrected latency (µs).
    pub latency_max_us: u64,
}

struct Shard {
    totals: Totals,
    interval: Interval,
    /// Corrected latencies (µs) of the current interval (the `--hlog` interval log).
    interval_latency: Histogram<u64>,
}

impl Default for Shard {
    fn default() -> Self {
        Self { totals: Totals::default(), interval: Interval::default(), interval_latency: histogram() }
    }
}

/// The timestamps of one completed request.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// When the request should have been sent (the schedule's time, or the send in the closed model).
    pub intended: Instant,
    /// When it was handed to the target (the schedule lag ends here).
    pub sent: Instant,
    /// When it went out ([`crate::Answer::sent`]; `sent` otherwise): the uncorrected latency and the
    /// time to first byte start here.
    pub on_wire: Instant,
    /// When its response was complete (or it failed).
    pub done: Instant,
    /// Whether `intended` comes from a schedule (open model): then the schedule lag is recorded.
    pub scheduled: bool,
}

/// Shared by every sending task.
pub struct Recorder {
    shards: Vec<Mutex<Shard>>,
    started: AtomicU64,
    /// Open model: requests started, by the second they were due in (a ring of [`SECOND_SLOTS`]).
    due_in: [AtomicU64; SECOND_SLOTS],
    /// The second (0-based) the per-second series has not closed yet.
    open_second: AtomicU64,
    cancelled: AtomicU64,
    dropped: AtomicU64,
    stop_ok: AtomicU64,
    stop_failed: AtomicU64,
    max_samples: usize,
}

impl Recorder {
    /// An empty recorder keeping up to `max_samples` messages per error class.
    pub fn new(max_samples: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            started: AtomicU64::new(0),
            due_in: Default::default(),
            open_second: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            stop_ok: AtomicU64::new(0),
            stop_failed: AtomicU64::new(0),
            max_samples,
        }
    }

    fn shard(&self, key: u64) -> MutexGuard<'_, Shard> {
        self.shards[(key % SHARDS as u64) as usize].lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a call started, before it is spawned or sent; the [`InFlight`] records how it ends
    /// (ok or failed with [`InFlight::finish`], cancelled when dropped unfinished).
    pub fn start(self: &Arc<Self>) -> InFlight {
        self.started.fetch_add(1, Ordering::Relaxed);
        InFlight { recorder: Arc::clone(self), finished: false }
    }

    /// As [`Recorder::start`], for a request of the open model due in `second` (0-based, from the
    /// start): the per-second series counts it in that second, so that shards started together add up
    /// to one run second by second, whatever each process's timer did. A request sent after its
    /// second was closed counts in the open one.
    pub fn start_due(self: &Arc<Self>, second: u64) -> InFlight {
        let second = second.max(self.open_second.load(Ordering::Acquire));
        self.due_in[(second % SECOND_SLOTS as u64) as usize].fetch_add(1, Ordering::Relaxed);
        self.start()
    }

    /// Closes second `second` (1-based: the interval `second - 1 .. second`) and returns the open
    /// model's requests due in it; `last`: also every later one (the run has ended).
    pub fn take_due(&self, second: u64, last: bool) -> u64 {
        self.open_second.store(second, Ordering::Release);
        let slot = |s: u64| &self.due_in[(s % SECOND_SLOTS as u64) as usize];
        let mut due = slot(second.saturating_sub(1)).swap(0, Ordering::Relaxed);
        if last {
            due += self.due_in.iter().map(|slot| slot.swap(0, Ordering::Relaxed)).sum::<u64>();
        }
        due
    }

    /// The open model had to skip a request: `--max-in-flight` were already in flight.
    pub fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Records the outcome of a `StopRuntimeSession`.
    pub fn session_stopped(&self, result: &Result<(), Failure>) {
        let counter = if result.is_ok() { &self.stop_ok } else { &self.stop_failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a finished request; `key` picks the shard (request number or worker).
    fn finished(&self, key: u64, timing: Timing, result: Result<Instant, Failure>) {
        let corrected = micros(timing.done.saturating_duration_since(timing.intended));
        let uncorrected = micros(timing.done.saturating_duration_since(timing.on_wire));
        let mut shard = self.shard(key);
        let shard = &mut *shard;
        let histograms = &mut shard.totals.histograms;
        put(&mut histograms.corrected, corrected);
        put(&mut histograms.uncorrected, uncorrected);
        if timing.scheduled {
            put(&mut histograms.schedule_lag, micros(timing.sent.saturating_duration_since(timing.intended)));
        }
        put(&mut shard.interval_latency, corrected);
        shard.interval.latency_sum_us += corrected;
        shard.interval.latency_max_us = shard.interval.latency_max_us.max(corrected);
        match result {
            Ok(first_byte) => {
                put(&mut histograms.ttfb, micros(first_byte.saturating_duration_since(timing.on_wire)));
                shard.totals.ok += 1;
                shard.interval.ok += 1;
            }
            Err(failure) => {
                shard.interval.failed += 1;
                let class = match shard.totals.failed.get_mut(&failure.class) {
                    Some(class) => class,
                    None => shard.totals.failed.entry(failure.class).or_default(),
                };
                class.count += 1;
                if class.samples.len() < self.max_samples {
                    class.samples.push(failure.message);
                }
            }
        }
    }

    /// Takes the interval counts and corrected latencies of every shard (resetting them) and their sum.
    pub fn take_interval(&self) -> (Interval, Histogram<u64>) {
        let mut sum = Interval::default();
        let mut latency = histogram();
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            let interval = std::mem::take(&mut shard.interval);
            latency.add(&shard.interval_latency).expect("auto-resizing histograms accept any value");
            shard.interval_latency.reset();
            sum.ok += interval.ok;
            sum.failed += interval.failed;
            sum.latency_sum_us += interval.latency_sum_us;
            sum.latency_max_us = sum.latency_max_us.max(interval.latency_max_us);
        }
        (sum, latency)
    }

    /// Requests started so far.
    pub fn started_count(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Requests cancelled so far (still in flight at the drain deadline or on a second signal).
    pub fn cancelled_count(&self) -> u64 {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Requests the open model dropped so far.
    pub fn dropped_count(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// (ok, failed) stopped sessions.
    pub fn stops(&self) -> (u64, u64) {
        (self.stop_ok.load(Ordering::Relaxed), self.stop_failed.load(Ordering::Relaxed))
    }

    /// The sum over every shard.
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            totals.add(&shard.totals, self.max_samples);
        }
        totals
    }
}

/// A started call on its way to its one outcome. [`finish`](Self::finish) records it ok or failed;
/// dropped without that (its task aborted, or spawned and never run), it is recorded cancelled.
#[must_use = "dropping an InFlight records its call as cancelled"]
pub struct InFlight {
    recorder: Arc<Recorder>,
    finished: bool,
}

impl InFlight {
    /// Records the call's outcome; `key` spreads recording over the recorder's shards.
    pub fn finish(mut self, key: u64, timing: Timing, result: Result<Instant, Failure>) {
        self.finished = true;
        self.recorder.finished(key, timing, result);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.finished {
            self.recorder.cancelled.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> Timing {
        let now = Instant::now();
        Timing { intended: now, sent: now, on_wire: now, done: now, scheduled: false }
    }

    #[test]
    fn each_started_call_ends_in_exactly_one_outcome() {
        let recorder = Arc::new(Recorder::new(2));
        recorder.start().finish(0, timing(), Ok(Instant::now()));
        recorder.start().finish(1, timing(), Err(Failure::new("HTTP 503", "busy")));
        drop(recorder.start());
        let never_finished = recorder.start();
        assert_eq!((recorder.started_count(), recorder.cancelled_count()), (4, 1));
        drop(never_finished);
        let totals = recorder.totals();
        assert_eq!((totals.ok, totals.failed_total(), recorder.cancelled_count()), (1, 1, 2));
    }
}
