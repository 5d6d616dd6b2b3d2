//! The results document (`--out results.json`), the per-second series line (JSON Lines), the summary
//! table, and the exact merge of shard results.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2Serializer};
use serde::{Deserialize, Serialize};

use crate::record::{ClassCount, Histograms, Totals};
use crate::sessions::Shard;

/// One line of the per-second series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Second {
    /// Seconds since the start: the interval `second - 1 .. second` for `sent` and `dropped` in the
    /// open model (by the schedule), and `second - 0.8 .. second + 0.2` for the rest (a line is taken
    /// 200 ms after its second ends, so that a request sent late still counts in its second).
    pub second: u64,
    /// Requests started in the interval (the open model: those due in it, by the schedule).
    pub sent: u64,
    /// Requests that succeeded in the interval.
    pub ok: u64,
    /// Requests that failed in the interval, of any class.
    pub failed: u64,
    /// Requests cancelled in the interval (in flight at the drain deadline or on a second signal).
    #[serde(default)]
    pub cancelled: u64,
    /// Requests the open model skipped (`--max-in-flight` reached).
    pub dropped: u64,
    /// Mean corrected latency of the requests that finished in the interval.
    pub mean_ms: f64,
    /// Largest corrected latency of the requests that finished in the interval.
    pub max_ms: f64,
}

/// Percentiles of one histogram, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Values recorded.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 90th percentile.
    pub p90: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The 99.9th percentile.
    #[serde(rename = "p99.9")]
    pub p99_9: f64,
    /// The largest value.
    pub max: f64,
}

impl Percentiles {
    /// The percentiles of a histogram of microseconds (all zero when it is empty).
    pub fn of(histogram: &Histogram<u64>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: histogram.len(),
            mean: histogram.mean() / 1000.0,
            p50: ms(histogram.value_at_quantile(0.50)),
            p90: ms(histogram.value_at_quantile(0.90)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p99_9: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
        }
    }
}

/// The report's latency figures, one set of percentiles per histogram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// From the intended send time (coordinated omission corrected).
    pub corrected: Percentiles,
    /// From the actual send time.
    pub uncorrected: Percentiles,
    /// Time to first byte of successful responses, from the actual send.
    pub ttfb: Percentiles,
    /// How late requests were sent compared with the schedule (open model).
    pub schedule_lag: Percentiles,
}

/// HDR histograms (µs), V2-serialized and base64-encoded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedHistograms {
    /// The unit of the recorded values (`microseconds`).
    pub unit: String,
    /// See [`Histograms::corrected`].
    pub corrected: String,
    /// See [`Histograms::uncorrected`].
    pub uncorrected: String,
    /// See [`Histograms::ttfb`].
    pub ttfb: String,
    /// See [`Histograms::schedule_lag`].
    pub schedule_lag: String,
}

/// Stopped sessions (`--stop-sessions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stops {
    /// `StopRuntimeSession` calls that succeeded.
    pub ok: u64,
    /// `StopRuntimeSession` calls that failed.
    pub failed: u64,
}

/// The per-second series file could not be written: the run went on and kept the series in the
/// report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesError {
    /// The series file (`--series`, or next to `--out`).
    pub path: String,
    /// The first I/O error; nothing more was written to the file after it.
    pub error: String,
}

/// The whole results document. Each count is taken where it happens, so
/// `total == ok + failed_total + cancelled` is checked ([`Report::check_accounting`]), not assumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The version of loadgen that wrote the report.
    pub loadgen_version: String,
    /// What the load was sent to (`agentcore`, `http`, `noop`, or a library target's name).
    pub target: String,
    /// The load model, as given (`rate 200/s for 2m`, `concurrency 50 for 120s`, …).
    pub model: String,
    /// How session ids were picked (`unique`, `pool:K`, `per-worker`, `none`).
    pub sessions: String,
    /// Shards merged into this report (`[0/1]` for a single run).
    pub shards: Vec<Shard>,
    /// When the run started, in milliseconds since the Unix epoch (the earliest shard's, merged).
    pub started_unix_ms: u64,
    /// How long the run took, drain included, in seconds (merged: from the earliest shard's start to
    /// the latest shard's end).
    pub duration_s: f64,
    /// How long requests were being sent, in seconds: from the start to the end of the schedule, the
    /// request limit, the duration or a stop (merged: as `duration_s`, on the sending phases).
    #[serde(default)]
    pub sending_s: f64,
    /// Requests started per second of sending (`total / sending_s`): the offered rate, which the open
    /// model's `--rate` should equal.
    #[serde(default)]
    pub offered_rps: f64,
    /// Requests started, counted by the scheduler before each was spawned or sent.
    pub total: u64,
    /// Requests that succeeded.
    pub ok: u64,
    /// Error class → count.
    pub failed: BTreeMap<String, u64>,
    /// Failed requests over every class.
    pub failed_total: u64,
    /// Started but not finished before the drain deadline (end of run, SIGINT or SIGTERM) or a second
    /// signal, counted as each was dropped unfinished.
    pub cancelled: u64,
    /// Never sent: the open model's `--max-in-flight` was reached.
    pub dropped: u64,
    /// SDK retries (with `--retries N`).
    pub retries: u64,
    /// Sessions stopped after their request (`--stop-sessions`).
    pub stopped_sessions: Stops,
    /// Whether the run was interrupted (SIGINT or SIGTERM).
    pub interrupted: bool,
    /// Requests completed (ok or failed) per second of the run.
    pub achieved_rps: f64,
    /// Latency percentiles, in milliseconds.
    pub latency_ms: Latency,
    /// First messages of each error class.
    pub error_samples: BTreeMap<String, Vec<String>>,
    /// The per-second series.
    pub series: Vec<Second>,
    /// The full histograms, so that shards merge exactly.
    pub histograms: EncodedHistograms,
    /// Set when the per-second series file could not be written (the `series` above is complete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_error: Option<SeriesError>,
}

/// Everything but the totals that goes into a report.
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    /// See [`Report::target`].
    pub target: String,
    /// See [`Report::model`].
    pub model: String,
    /// See [`Report::sessions`].
    pub sessions: String,
    /// The shard that ran.
    pub shard: Shard,
    /// See [`Report::started_unix_ms`].
    pub started_unix_ms: u64,
    /// See [`Report::duration_s`].
    pub duration_s: f64,
    /// See [`Report::sending_s`].
    pub sending_s: f64,
    /// See [`Report::total`].
    pub started: u64,
    /// See [`Report::cancelled`].
    pub cancelled: u64,
    /// See [`Report::dropped`].
    pub dropped: u64,
    /// See [`Report::retries`].
    pub retries: u64,
    /// See [`Report::stopped_sessions`].
    pub stops: Stops,
    /// See [`Report::interrupted`].
    pub interrupted: bool,
    /// See [`Report::series`].
    pub series: Vec<Second>,
    /// See [`Report::series_error`].
    pub series_error: Option<SeriesError>,
}

impl Report {
    /// The report of one run from its facts and what the recorder summed.
    pub fn new(facts: RunFacts, totals: &Totals) -> Self {
        let failed_total = totals.failed_total();
        let finished = totals.ok + failed_total;
        Self {
            loadgen_version: env!("CARGO_PKG_VERSION").to_string(),
            target: facts.target,
            model: facts.model,
            sessions: facts.sessions,
            shards: vec![facts.shard],
            started_unix_ms: facts.started_unix_ms,
            duration_s: facts.duration_s,
            sending_s: facts.sending_s,
            offered_rps: rate(facts.started, facts.sending_s),
            total: facts.started,
            ok: totals.ok,
            failed: totals.failed.iter().map(|(class, c)| (class.clone(), c.count)).collect(),
            failed_total,
            cancelled: facts.cancelled,
            dropped: facts.dropped,
            retries: facts.retries,
            stopped_sessions: facts.stops,
            interrupted: facts.interrupted,
            achieved_rps: rate(finished, facts.duration_s),
            latency_ms: latency(&totals.histograms),
            error_samples: totals.failed.iter().map(|(class, c)| (class.clone(), c.samples.clone())).collect(),
            series: facts.series,
            histograms: encode(&totals.histograms),
            series_error: facts.series_error,
        }
    }

    /// Checks that every started request has exactly one recorded outcome
    /// (`total == ok + failed_total + cancelled`) and that the classes sum to `failed_total`; the
    /// error says which counts disagree.
    pub fn check_accounting(&self) -> Result<(), String> {
        let classes: u64 = self.failed.values().sum();
        if classes != self.failed_total {
            return Err(format!(
                "accounting mismatch: the error classes sum to {classes} but failed_total is {}",
                self.failed_total
            ));
        }
        let outcomes = self.ok + self.failed_total + self.cancelled;
        if outcomes != self.total {
            return Err(format!(
                "accounting mismatch: {} requests started but {outcomes} outcomes recorded (ok {} + failed {} + \
                 cancelled {})",
                self.total, self.ok, self.failed_total, self.cancelled
            ));
        }
        Ok(())
    }

    /// The decoded histograms.
    pub fn decode_histograms(&self) -> Result<Histograms, String> {
        let h = &self.histograms;
        Ok(Histograms {
            corrected: decode(&h.corrected).map_err(|e| format!("histograms.corrected: {e}"))?,
            uncorrected: decode(&h.uncorrected).map_err(|e| format!("histograms.uncorrected: {e}"))?,
            ttfb: decode(&h.ttfb).map_err(|e| format!("histograms.ttfb: {e}"))?,
            schedule_lag: decode(&h.schedule_lag).map_err(|e| format!("histograms.schedule_lag: {e}"))?,
        })
    }
}

fn latency(h: &Histograms) -> Latency {
    Latency {
        corrected: Percentiles::of(&h.corrected),
        uncorrected: Percentiles::of(&h.uncorrected),
        ttfb: Percentiles::of(&h.ttfb),
        schedule_lag: Percentiles::of(&h.schedule_lag),
    }
}

fn encode(h: &Histograms) -> EncodedHistograms {
    let one = |histogram: &Histogram<u64>| {
        let mut bytes = Vec::new();
        V2Serializer::new().serialize(histogram, &mut bytes).expect("serializing to memory cannot fail");
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    EncodedHistograms {
        unit: "microseconds".into(),
        corrected: one(&h.corrected),
        uncorrected: one(&h.uncorrected),
        ttfb: one(&h.ttfb),
        schedule_lag: one(&h.schedule_lag),
    }
}

/// A base64 V2 HDR histogram.
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| format!("not base64: {e}"))?;
    let histogram: Histogram<u64> =
        Deserializer::new().deserialize(&mut bytes.as_slice()).map_err(|e| format!("not an HDR histogram: {e:?}"))?;
    let mut resizable = crate::record::histogram();
    resizable.add(&histogram).map_err(|e| format!("{e:?}"))?;
    Ok(resizable)
}

fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 { count as f64 / seconds } else { 0.0 }
}

/// Shard results started further apart than this are not one run (`--start-at` starts shards within
/// a second of each other; an earlier run's file left beside them is minutes or hours off).
pub const SAME_RUN_WINDOW_MS: u64 = 60_000;

/// Checks that `reports` are exactly the shards `0..count` of one run: each index once, all of
/// `count`, started within [`SAME_RUN_WINDOW_MS`] of each other.
pub fn check_shards(reports: &[Report], count: u32) -> Result<(), String> {
    let mut seen = vec![false; count as usize];
    for report in reports {
        for shard in &report.shards {
            // A results file is read from disk: an index past its count is refused, not indexed.
            let slot = seen.get_mut(shard.index as usize).filter(|_| shard.count == count);
            let Some(slot) = slot else {
                return Err(format!("shard {shard} is not one of {count} shards"));
            };
            if std::mem::replace(slot, true) {
                return Err(format!("shard {shard} appears twice"));
            }
        }
    }
    let missing: Vec<String> = (0..count).filter(|&i| !seen[i as usize]).map(|i| format!("{i}/{count}")).collect();
    if !missing.is_empty() {
        return Err(format!("missing shards: {}", missing.join(", ")));
    }
    let earliest = reports.iter().map(|r| r.started_unix_ms).min().unwrap_or_default();
    let latest = reports.iter().map(|r| r.started_unix_ms).max().unwrap_or_default();
    if latest - earliest > SAME_RUN_WINDOW_MS {
        return Err(format!(
            "the shards started {:.1} s apart (more than {} s): results of different runs? Start each run \
             with an empty results directory, and the shards together with --start-at",
            (latest - earliest) as f64 / 1000.0,
            SAME_RUN_WINDOW_MS / 1000
        ));
    }
    Ok(())
}

/// Merges shard reports exactly: counts are summed, histograms added, and the per-second series
/// aligned on absolute time (each shard's seconds shifted by its start's distance from the earliest
/// start, to the nearest second) and summed second by second. The merged run lasts from the earliest
/// start to the latest end; the achieved and offered rates are over that span (shards run side by side).
pub fn merge(reports: &[Report], max_samples: usize) -> Result<Report, String> {
    for (n, report) in reports.iter().enumerate() {
        report.check_accounting().map_err(|e| format!("report {}: {e}", n + 1))?;
    }
    let (first, rest) = reports.split_first().ok_or("nothing to merge")?;
    let start = reports.iter().map(|r| r.started_unix_ms).min().unwrap_or_default();
    let offset_s = |report: &Report| (report.started_unix_ms - start) as f64 / 1000.0;
    let shift = |report: &Report| (offset_s(report)).round() as u64;
    let mut totals = Totals { ok: first.ok, failed: classes(first), histograms: first.decode_histograms()? };
    let mut merged = first.clone();
    merged.started_unix_ms = start;
    merged.duration_s = offset_s(first) + first.duration_s;
    merged.sending_s = offset_s(first) + first.sending_s;
    merged.series = Vec::new();
    merge_series(&mut merged.series, &first.series, shift(first));
    for (n, report) in rest.iter().enumerate() {
        let histograms = report.decode_histograms().map_err(|e| format!("report {}: {e}", n + 2))?;
        totals.add(&Totals { ok: report.ok, failed: classes(report), histograms }, max_samples);
        merged.shards.extend(report.shards.iter().copied());
        merged.duration_s = merged.duration_s.max(offset_s(report) + report.duration_s);
        merged.sending_s = merged.sending_s.max(offset_s(report) + report.sending_s);
        merged.total += report.total;
        merged.cancelled += report.cancelled;
        merged.dropped += report.dropped;
        merged.retries += report.retries;
        merged.stopped_sessions.ok += report.stopped_sessions.ok;
        merged.stopped_sessions.failed += report.stopped_sessions.failed;
        merged.interrupted |= report.interrupted;
        if merged.series_error.is_none() {
            merged.series_error.clone_from(&report.series_error);
        }
        if merged.target != report.target {
            merged.target = format!("{}, {}", merged.target, report.target);
        }
        merge_series(&mut merged.series, &report.series, shift(report));
    }
    merged.shards.sort_by_key(|s| (s.count, s.index));
    merged.ok = totals.ok;
    merged.failed = totals.failed.iter().map(|(class, c)| (class.clone(), c.count)).collect();
    merged.failed_total = totals.failed_total();
    merged.error_samples = totals.failed.iter().map(|(class, c)| (class.clone(), c.samples.clone())).collect();
    merged.latency_ms = latency(&totals.histograms);
    merged.histograms = encode(&totals.histograms);
    let finished = merged.ok + merged.failed_total;
    merged.achieved_rps = rate(finished, merged.duration_s);
    merged.offered_rps = rate(merged.total, merged.sending_s);
    merged.check_accounting()?;
    Ok(merged)
}

fn classes(report: &Report) -> BTreeMap<String, ClassCount> {
    report
        .failed
        .iter()
        .map(|(class, &count)| {
            let samples = report.error_samples.get(class).cloned().unwrap_or_default();
            (class.clone(), ClassCount { count, samples })
        })
        .collect()
}

/// Adds `other`'s seconds, each `shift` seconds later, into `into`.
fn merge_series(into: &mut Vec<Second>, other: &[Second], shift: u64) {
    for second in other {
        let second = &Second { second: second.second + shift, ..*second };
        match into.iter_mut().find(|s| s.second == second.second) {
            Some(mine) => {
                let finished = (mine.ok + mine.failed + second.ok + second.failed).max(1) as f64;
                mine.mean_ms = (mine.mean_ms * (mine.ok + mine.failed) as f64
                    + second.mean_ms * (second.ok + second.failed) as f64)
                    / finished;
                mine.max_ms = mine.max_ms.max(second.max_ms);
                mine.sent += second.sent;
                mine.ok += second.ok;
                mine.failed += second.failed;
                mine.cancelled += second.cancelled;
                mine.dropped += second.dropped;
            }
            None => into.push(*second),
        }
    }
    into.sort_by_key(|s| s.second);
}

/// The human summary printed at the end of a run.
pub fn summary(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nloadgen {}: {} ({}), sessions {}",
        report.target,
        report.model,
        shards(report),
        report.sessions
    );
    let _ = writeln!(
        out,
        "{:.1} s{}",
        report.duration_s,
        if report.interrupted {
            ", interrupted (SIGINT/SIGTERM): sending stopped, in-flight requests drained"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "\n  total      {:>10}", report.total);
    let _ = writeln!(out, "  ok         {:>10}", report.ok);
    let _ = writeln!(out, "  failed     {:>10}", report.failed_total);
    for (class, count) in &report.failed {
        let _ = writeln!(out, "    {class:<36} {count:>10}");
    }
    let _ = writeln!(out, "  cancelled  {:>10}", report.cancelled);
    if report.dropped > 0 {
        let _ = writeln!(out, "  dropped    {:>10}  (not sent: --max-in-flight reached)", report.dropped);
    }
    if report.retries > 0 {
        let _ = writeln!(out, "  retries    {:>10}", report.retries);
    }
    let stops = report.stopped_sessions;
    if stops.ok + stops.failed > 0 {
        let _ = writeln!(out, "  sessions stopped {} ok, {} failed", stops.ok, stops.failed);
    }
    let _ = writeln!(
        out,
        "  offered    {:>10.1} req/s  (sent over {:.3} s of sending)",
        report.offered_rps, report.sending_s
    );
    let _ = writeln!(out, "  achieved   {:>10.1} req/s  (completed over the whole run)", report.achieved_rps);
    match report.check_accounting() {
        Ok(()) => {
            let _ = writeln!(out, "  accounting total = ok + failed + cancelled");
        }
        Err(mismatch) => {
            let _ = writeln!(out, "  ACCOUNTING {mismatch}");
        }
    }
    if let Some(series) = &report.series_error {
        let _ = writeln!(
            out,
            "  WARNING    the per-second series could not be written to {}: {}",
            series.path, series.error
        );
    }
    let _ = writeln!(
        out,
        "\n  latency ms   {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "p50", "p90", "p99", "p99.9", "max", "mean"
    );
    let l = &report.latency_ms;
    for (name, p) in [
        ("corrected", &l.corrected),
        ("uncorrected", &l.uncorrected),
        ("ttfb", &l.ttfb),
        ("sched. lag", &l.schedule_lag),
    ] {
        if p.count == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "  {name:<12} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
            p.p50, p.p90, p.p99, p.p99_9, p.max, p.mean
        );
    }
    if !report.error_samples.is_empty() {
        let _ = writeln!(out, "\n  error samples");
        for (class, samples) in &report.error_samples {
            for sample in samples {
                let _ = writeln!(out, "    {class}: {sample}");
            }
        }
    }
    out
}

fn shards(report: &Report) -> String {
    match report.shards.as_slice() {
        [one] if one.count == 1 => "one shard".into(),
        [one] => format!("shard {one}"),
        many => format!("{} shards merged", many.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(started: u64, ok: u64, failed: u64, cancelled: u64) -> Report {
        let mut totals = Totals { ok, ..Totals::default() };
        if failed > 0 {
            totals.failed.insert("HTTP 503".into(), ClassCount { count: failed, samples: vec![] });
        }
        Report::new(RunFacts { started, cancelled, ..RunFacts::default() }, &totals)
    }

    #[test]
    fn the_accounting_check_fails_when_an_outcome_is_missing_or_extra() {
        assert_eq!(report(10, 6, 3, 1).check_accounting(), Ok(()));
        let missing = report(10, 6, 3, 0).check_accounting().unwrap_err();
        assert!(missing.contains("10 requests started but 9 outcomes recorded"), "{missing}");
        assert!(report(10, 6, 3, 2).check_accounting().is_err());
        let mut classes = report(10, 6, 3, 1);
        classes.failed_total = 4;
        assert!(classes.check_accounting().unwrap_err().contains("error classes sum to 3"));
    }

    #[test]
    fn merge_refuses_a_report_that_does_not_add_up() {
        let good = report(10, 6, 3, 1);
        let merged = merge(&[good.clone(), good.clone()], 5).unwrap();
        assert_eq!((merged.total, merged.ok, merged.failed_total, merged.cancelled), (20, 12, 6, 2));
        let error = merge(&[good, report(10, 6, 3, 0)], 5).unwrap_err();
        assert!(error.starts_with("report 2: accounting mismatch"), "{error}");
    }

    fn shard_report(index: u32, count: u32, started_unix_ms: u64, sent: &[u64]) -> Report {
        let series =
            sent.iter().enumerate().map(|(i, &n)| Second { second: i as u64 + 1, sent: n, ok: n, ..Second::default() });
        let total = sent.iter().sum();
        let facts = RunFacts {
            shard: Shard::new(index, count).unwrap(),
            started: total,
            started_unix_ms,
            duration_s: sent.len() as f64,
            sending_s: sent.len() as f64,
            series: series.collect(),
            ..RunFacts::default()
        };
        Report::new(facts, &Totals { ok: total, ..Totals::default() })
    }

    #[test]
    fn merged_series_line_up_on_absolute_time() {
        // Shard 1 started 2.2 s after shard 0: its first second is the merged run's third.
        let merged =
            merge(&[shard_report(0, 2, 10_000, &[1, 1, 1, 1]), shard_report(1, 2, 12_200, &[10, 10])], 5).unwrap();
        let sent: Vec<(u64, u64)> = merged.series.iter().map(|s| (s.second, s.sent)).collect();
        assert_eq!(sent, [(1, 1), (2, 1), (3, 11), (4, 11)]);
        assert_eq!(merged.started_unix_ms, 10_000);
        assert!((merged.duration_s - 4.2).abs() < 1e-9, "{}", merged.duration_s);
        assert!((merged.offered_rps - 24.0 / 4.2).abs() < 1e-9, "{}", merged.offered_rps);
    }

    #[test]
    fn only_every_shard_of_one_run_passes_the_shard_check() {
        let (a, b) = (shard_report(0, 2, 10_000, &[1]), shard_report(1, 2, 10_400, &[1]));
        assert_eq!(check_shards(&[a.clone(), b.clone()], 2), Ok(()));
        assert_eq!(check_shards(std::slice::from_ref(&a), 2).unwrap_err(), "missing shards: 1/2");
        assert!(check_shards(&[a.clone(), a.clone()], 2).unwrap_err().contains("appears twice"));
        assert!(check_shards(&[a.clone(), b.clone()], 3).unwrap_err().contains("not one of 3"));
        let mut forged = b.clone();
        forged.shards[0].index = 7;
        assert!(check_shards(&[a.clone(), forged], 2).unwrap_err().contains("7/2 is not one of 2"));
        let stale = shard_report(1, 2, 10_000 + 3_600_000, &[1]);
        assert!(check_shards(&[a, stale], 2).unwrap_err().contains("different runs"));
    }
}
