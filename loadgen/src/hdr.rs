//! Latency in HdrHistogram's own formats, for the tools built around it: the percentile spectrum
//! (`--latency`, the `.hgrm` text wrk2 and HdrHistogram's `outputPercentileDistribution` print, which
//! HdrHistogram's plotter reads) and the interval log (`--hlog`, one compressed histogram per second,
//! the `.hlog` of `HistogramLogWriter`, which `HistogramLogProcessor` and the other implementations'
//! readers read). Histograms are recorded in microseconds; both outputs are in milliseconds.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer as _, V2DeflateSerializer};

use crate::record::SIGFIGS;

/// Recorded values (µs) per output unit (ms).
const MICROS_PER_MS: f64 = 1000.0;
/// Percentile steps per halving of the distance to 100 % (HdrHistogram's and wrk2's default).
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// The percentile spectrum of `histogram` (µs) in milliseconds, in the `.hgrm` form.
pub fn spectrum(histogram: &Histogram<u64>) -> String {
    let p = usize::from(SIGFIGS);
    let mut out = String::new();
    let _ = writeln!(out, "{:>12} {:>14} {:>10} {:>14}\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
    let mut total = 0u64;
    for step in histogram.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
        total += step.count_since_last_iteration();
        let value = histogram.highest_equivalent(step.value_iterated_to()) as f64 / MICROS_PER_MS;
        let quantile = step.quantile_iterated_to();
        if quantile < 1.0 {
            let _ = writeln!(out, "{value:>12.p$} {quantile:>2.12} {total:>10} {:>14.2}", 1.0 / (1.0 - quantile));
        } else {
            let _ = writeln!(out, "{value:>12.p$} {quantile:>2.12} {total:>10}");
        }
    }
    let (mean, deviation, max) =
        (histogram.mean() / MICROS_PER_MS, histogram.stdev() / MICROS_PER_MS, histogram.max() as f64 / MICROS_PER_MS);
    let _ = writeln!(out, "#[Mean    = {mean:>12.p$}, StdDeviation   = {deviation:>12.p$}]");
    let _ = writeln!(out, "#[Max     = {max:>12.p$}, Total count    = {:>12}]", histogram.len());
    let _ = writeln!(out, "#[Buckets = {:>12}, SubBuckets     = {:>12}]", histogram.buckets(), sub_buckets());
    out
}

/// HdrHistogram's sub-bucket count for [`SIGFIGS`] significant figures (2048 for 3).
fn sub_buckets() -> u64 {
    let largest_single_unit = 2 * 10u64.pow(u32::from(SIGFIGS));
    largest_single_unit.next_power_of_two()
}

/// An interval log being written, one histogram line per interval, flushed as each is written.
pub struct IntervalLog {
    file: BufWriter<File>,
    serializer: V2DeflateSerializer,
    encoded: Vec<u8>,
}

impl IntervalLog {
    /// Creates `path` and writes the log's header: format version, start time (`started`) and the
    /// column legend; interval timestamps are then seconds since `started` (its `BaseTime`).
    pub fn create(path: &Path, started: SystemTime) -> std::io::Result<Self> {
        let mut file = BufWriter::new(File::create(path)?);
        let epoch = started.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        writeln!(file, "#[Logged with loadgen {}]", env!("CARGO_PKG_VERSION"))?;
        writeln!(file, "#[Histogram log format version 1.3]")?;
        writeln!(file, "#[StartTime: {epoch:.3} (seconds since epoch)]")?;
        writeln!(file, "#[BaseTime: {epoch:.3} (seconds since epoch)]")?;
        writeln!(file, "#[Values are microseconds; Interval_Max is in milliseconds]")?;
        writeln!(file, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"")?;
        file.flush()?;
        Ok(Self { file, serializer: V2DeflateSerializer::new(), encoded: Vec::new() })
    }

    /// Appends the interval that began `start` after the log's start and lasted `length`.
    pub fn append(&mut self, start: Duration, length: Duration, histogram: &Histogram<u64>) -> std::io::Result<()> {
        self.encoded.clear();
        self.serializer
            .serialize(histogram, &mut self.encoded)
            .map_err(|e| std::io::Error::other(format!("compressing a histogram: {e:?}")))?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&self.encoded);
        let max = histogram.max() as f64 / MICROS_PER_MS;
        writeln!(self.file, "{:.3},{:.3},{max:.3},{encoded}", start.as_secs_f64(), length.as_secs_f64())?;
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    use super::*;
    use crate::record::histogram;

    #[test]
    fn the_spectrum_has_wrk2s_columns_and_footer() {
        let mut h = histogram();
        for us in 1..=10_000u64 {
            h.record(us).unwrap();
        }
        let text = spectrum(&h);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].trim_start().starts_with("Value") && lines[0].ends_with("1/(1-Percentile)"), "{}", lines[0]);
        // The first value line: 1 µs = 0.001 ms at the 0th percentile, one value counted.
        let first: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(first[..3], ["0.001", "0.000000000000", "1"]);
        // The 100th percentile line has three columns and counts everything.
        let last = lines.iter().rev().find(|l| !l.starts_with('#')).unwrap();
        let last: Vec<&str> = last.split_whitespace().collect();
        assert_eq!((last.len(), last[1], last[2]), (3, "1.000000000000", "10000"));
        assert!(text.contains("#[Max     =       10.007, Total count    =        10000]"), "{text}");
        assert!(text.contains("SubBuckets     =         2048]"), "{text}");
    }

    #[test]
    fn the_interval_log_reads_back_with_hdrhistograms_reader() {
        let dir = std::env::temp_dir().join(format!("loadgen-hlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.hlog");
        let started = UNIX_EPOCH + Duration::from_secs(1_764_694_800);
        let mut log = IntervalLog::create(&path, started).unwrap();
        for second in 0..3u64 {
            let mut h = histogram();
            h.record_n(1000 * (second + 1), 10).unwrap();
            log.append(Duration::from_secs(second), Duration::from_secs(1), &h).unwrap();
        }
        drop(log);
        let text = std::fs::read(&path).unwrap();
        let mut intervals = Vec::new();
        let mut base = None;
        for entry in IntervalLogIterator::new(&text) {
            match entry.unwrap() {
                LogEntry::BaseTime(t) => base = Some(t),
                LogEntry::Interval(i) => {
                    let bytes = base64::engine::general_purpose::STANDARD.decode(i.encoded_histogram()).unwrap();
                    let h: Histogram<u64> = Deserializer::new().deserialize(&mut bytes.as_slice()).unwrap();
                    intervals.push((i.start_timestamp().as_secs(), i.max(), h.len(), h.max()));
                }
                LogEntry::StartTime(_) => {}
            }
        }
        assert_eq!(base, Some(Duration::from_secs(1_764_694_800)));
        // 3000 µs reads back as the top of its bucket (3 significant figures): 3001.
        assert_eq!(intervals, [(0, 1.0, 10, 1000), (1, 2.0, 10, 2000), (2, 3.001, 10, 3001)]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
