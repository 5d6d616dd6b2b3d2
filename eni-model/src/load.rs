//! The report's load as a closed model, simulated under each [`QuotaModel`], and each variant
//! fitted to the report's totals.
//!
//! The report ran 50 workers for 120 s, each calling `InvokeAgentRuntime` with a new session id,
//! waiting for the answer, and calling again ([`REPORT`]). Which calls are admitted then depends on
//! how long answers take: a success waits for a cold start, a refusal for the service to say no.
//! [`simulate`] plays such a [`ClosedLoad`] through the same admission as [`crate::admit`], call
//! by call, and counts successes and refusals per second (by the second a call was sent).
//! [`fit`] finds the parameter of a variant that brings its successes closest to a target.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::admission::{Admitter, CallKind, Decision, LivePoint, SessionPolicy};
use crate::quota::QuotaModel;

/// What the report measured in its load phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReportLoad {
    /// Closed-model workers.
    pub workers: u32,
    /// How long workers kept starting calls.
    #[serde(with = "crate::secs")]
    pub duration: Duration,
    /// From the first call to the last answer, as measured.
    #[serde(with = "crate::secs")]
    pub measured: Duration,
    /// Calls sent, each with a new session id.
    pub calls: u64,
    /// Calls that succeeded.
    pub ok: u64,
    /// Calls refused with `ServiceQuotaExceededException`.
    pub refused: u64,
    /// The account's active-session quota at the time.
    pub max_vms: u32,
    /// Runtimes the calls went to, round-robin.
    pub runtimes: u32,
}

/// The report's load phase: 50 workers, 120 s (130.8 s measured), 2,148 calls, 768 successes,
/// 1,380 `ServiceQuotaExceededException`, quota 500, 10 runtimes.
pub const REPORT: ReportLoad = ReportLoad {
    workers: 50,
    duration: Duration::from_secs(120),
    measured: Duration::from_millis(130_800),
    calls: 2148,
    ok: 768,
    refused: 1380,
    max_vms: 500,
    runtimes: 10,
};

impl ReportLoad {
    /// The mean time a call took, from the calls the workers started within the load's duration:
    /// `duration × workers / calls` (120 s × 50 / 2,148 = 2.79 s). The report does not split it
    /// between successes and refusals, so both get it.
    pub fn call_latency(&self) -> Duration {
        (self.duration * self.workers).div_f64(self.calls as f64)
    }

    /// The load as a [`ClosedLoad`], with [`Self::call_latency`] for every answer.
    pub fn closed_load(&self) -> ClosedLoad {
        ClosedLoad {
            workers: self.workers,
            duration: self.duration,
            runtimes: self.runtimes,
            new_session_latency: self.call_latency(),
            refusal_latency: self.call_latency(),
        }
    }
}

/// Workers that each send a call with a new session id, wait for its answer and send the next,
/// starting no call at or after `duration`. Worker `w` of `n` starts at `w / n` of a
/// new-session latency: real workers' phases spread out within a few calls (latencies vary), and
/// workers in lockstep would move the counts in steps of `n`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClosedLoad {
    /// Workers.
    pub workers: u32,
    /// How long workers start calls.
    #[serde(with = "crate::secs")]
    pub duration: Duration,
    /// Runtimes, called round-robin by call number.
    pub runtimes: u32,
    /// How long a call that starts a session takes to answer (the cold start).
    #[serde(with = "crate::secs")]
    pub new_session_latency: Duration,
    /// How long a refused call takes to answer.
    #[serde(with = "crate::secs")]
    pub refusal_latency: Duration,
}

/// Calls sent in one second, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Second {
    /// Calls sent in this second that succeeded.
    pub ok: u32,
    /// Calls sent in this second that were refused by the quota.
    pub refused: u32,
}

/// What [`simulate`] predicts for a load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulated {
    /// Calls sent.
    pub calls: u64,
    /// Calls admitted.
    pub ok: u64,
    /// Calls refused by the quota.
    pub refused: u64,
    /// When the last answer came.
    #[serde(with = "crate::secs")]
    pub ended_at: Duration,
    /// Per second of the load (index = second the call was sent).
    pub seconds: Vec<Second>,
    /// The most sessions live at once.
    pub peak_live: u32,
    /// Live sessions over time.
    pub live: Vec<LivePoint>,
}

/// Plays `load` through admission under `policy` (its `quota` model included).
pub fn simulate(policy: &SessionPolicy, load: &ClosedLoad) -> Simulated {
    let mut admitter = Admitter::new(policy);
    let mut next: BinaryHeap<Reverse<(Duration, u32)>> =
        (0..load.workers).map(|w| Reverse((load.new_session_latency * w / load.workers.max(1), w))).collect();
    let runtimes: Vec<String> = (0..load.runtimes.max(1)).map(|r| format!("runtime-{r}")).collect();
    let mut seconds: Vec<Second> = Vec::new();
    let (mut calls, mut ended_at) = (0u64, Duration::ZERO);
    while let Some(Reverse((at, worker))) = next.pop() {
        if at >= load.duration {
            continue;
        }
        let runtime = &runtimes[(calls % runtimes.len() as u64) as usize];
        let session = admitter.add_session(runtime, &format!("call-{calls:08}"));
        calls += 1;
        let second = at.as_secs() as usize;
        if seconds.len() <= second {
            seconds.resize(second + 1, Second::default());
        }
        let busy_for = load.new_session_latency;
        let answered = match admitter.decide(at, session, CallKind::Invoke { busy_for }) {
            Decision::Refused => {
                seconds[second].refused += 1;
                at + load.refusal_latency
            }
            _ => {
                seconds[second].ok += 1;
                at + load.new_session_latency
            }
        };
        ended_at = ended_at.max(answered);
        next.push(Reverse((answered, worker)));
    }
    let out = admitter.out;
    Simulated {
        calls,
        ok: out.admitted,
        refused: out.refused,
        ended_at,
        seconds,
        peak_live: out.peak_live,
        live: out.live,
    }
}

/// A variant with its parameter fitted to a target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    /// The variant, with the fitted parameter.
    pub model: QuotaModel,
    /// Its prediction for the load.
    pub simulated: Simulated,
    /// `|ok − target ok| + |refused − target refused|`: calls the fit gets wrong.
    pub distance: u64,
}

/// Fits `variant`'s parameter (its value in `variant` is ignored) so that `load` under `policy`
/// with that variant comes closest to `ok` successes and `refused` refusals (smallest
/// [`Fit::distance`], then the smallest change from AWS's rule). `lagged` searches the lag over
/// `0..=duration`, `reclaimed` the idle time before reclaim over `1 s..=idle timeout`, `per-cell` the
/// cells over `1..=16`; `exact` has nothing to fit.
pub fn fit(variant: QuotaModel, policy: &SessionPolicy, load: &ClosedLoad, ok: u64, refused: u64) -> Fit {
    let run = |model: QuotaModel| {
        let simulated = simulate(&SessionPolicy { quota: model, ..*policy }, load);
        let distance = simulated.ok.abs_diff(ok) + simulated.refused.abs_diff(refused);
        Fit { model, simulated, distance }
    };
    let better = |best: Fit, candidate: Fit| if candidate.distance < best.distance { candidate } else { best };
    match variant {
        QuotaModel::Exact => run(QuotaModel::Exact),
        QuotaModel::PerCell { .. } => {
            (2..=16).map(|cells| run(QuotaModel::PerCell { cells })).fold(run(QuotaModel::PerCell { cells: 1 }), better)
        }
        QuotaModel::Lagged { .. } => {
            // More lag admits more: bisect on the lag for the successes.
            let model = |secs: f64| QuotaModel::Lagged { lag: Duration::from_secs_f64(secs) };
            bisect(0.0, load.duration.as_secs_f64(), true, ok, &run, model, better)
        }
        QuotaModel::Reclaimed { .. } => {
            // Reclaiming later admits less.
            let model = |secs: f64| QuotaModel::Reclaimed { after: Duration::from_secs_f64(secs) };
            bisect(1.0, policy.idle_timeout.as_secs_f64().max(1.0), false, ok, &run, model, better)
        }
    }
}

/// Bisects a parameter in `lo..=hi` (seconds, to the millisecond) whose successes grow with it
/// (`increasing`) or shrink, keeping the best fit seen.
fn bisect(
    mut lo: f64,
    mut hi: f64,
    increasing: bool,
    ok: u64,
    run: &impl Fn(QuotaModel) -> Fit,
    model: impl Fn(f64) -> QuotaModel,
    better: impl Fn(Fit, Fit) -> Fit,
) -> Fit {
    let mut best = better(run(model(lo)), run(model(hi)));
    while hi - lo > 0.001 {
        let mid = ((lo + hi) / 2.0 * 1000.0).round() / 1000.0;
        if mid <= lo || mid >= hi {
            break;
        }
        let candidate = run(model(mid));
        let too_few = candidate.simulated.ok < ok;
        best = better(best, candidate);
        if too_few == increasing {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    best
}

/// How far an observed per-second profile is from a predicted one: the calls that would have to
/// change second or outcome, `Σ |Δok| + |Δrefused|` over the seconds, as a share of all calls of
/// both (0 = identical; 1 = nothing in common). Seconds missing on one side count as empty.
pub fn profile_distance(observed: &[Second], predicted: &[Second]) -> f64 {
    let total: u64 = observed.iter().chain(predicted).map(|s| u64::from(s.ok) + u64::from(s.refused)).sum();
    if total == 0 {
        return 0.0;
    }
    let empty = Second::default();
    let moved: u64 = (0..observed.len().max(predicted.len()))
        .map(|i| {
            let (o, p) = (observed.get(i).unwrap_or(&empty), predicted.get(i).unwrap_or(&empty));
            u64::from(o.ok.abs_diff(p.ok)) + u64::from(o.refused.abs_diff(p.refused))
        })
        .sum();
    moved as f64 / total as f64
}
