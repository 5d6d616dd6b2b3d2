//! The open model's schedule: rates and stages from the command line, and the intended send time of
//! every request.
//!
//! A schedule is a list of [`Stage`]s (a plateau `200/s:2m`, a ramp `10->200/s:1m`). It is cut into
//! [`Step`]s of constant rate: a plateau is one step, a ramp is a staircase of [`RAMP_STEP`]-long steps
//! at the ramp's mean rate over each step, so the request count matches the ramp's integral. Request
//! `m` (0-based, counted over the whole schedule) is due when the cumulative count reaches `m`; its
//! intended send time is therefore known in advance, whatever the target does.

use std::fmt;
use std::time::Duration;

/// Ramps are approximated by steps this long.
pub const RAMP_STEP: Duration = Duration::from_millis(100);

/// A stage of the open model: `from` requests/s rising (or falling) linearly to `to` over `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// Requests per second at the start of the stage.
    pub from: f64,
    /// Requests per second at its end (equal to `from` for a plateau).
    pub to: f64,
    /// How long the stage lasts.
    pub duration: Duration,
}

impl Stage {
    /// A constant `rate` requests/s for `duration`.
    pub fn plateau(rate: f64, duration: Duration) -> Self {
        Self { from: rate, to: rate, duration }
    }

    /// Requests this stage sends (its rate's integral).
    pub fn requests(&self) -> f64 {
        (self.from + self.to) / 2.0 * self.duration.as_secs_f64()
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}/s:{}", self.from, format_duration(self.duration))
        } else {
            write!(f, "{}->{}/s:{}", self.from, self.to, format_duration(self.duration))
        }
    }
}

/// Why a rate, duration or stage list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// A rate that is not a non-negative number with an optional `/s`, `/m` or `/h`.
    #[error("invalid rate {0:?}: expected a number of requests per second such as `200`, `200/s` or `600/m`")]
    Rate(String),
    /// A duration outside the workspace's grammar ([`duration_flag`]).
    #[error(transparent)]
    Duration(#[from] duration_flag::DurationError),
    /// One stage of a `--stages` list is invalid.
    #[error("stage {index} ({text:?}): {reason}")]
    Stage {
        /// Its position in the list, from 1.
        index: usize,
        /// The stage as written.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An empty stage list.
    #[error("no stages given: expected a comma-separated list such as `10/s:30s,10->200/s:1m,200/s:2m`")]
    Empty,
}

/// Parses a rate: `200`, `200/s`, `12000/m`, `0.5/s`, `7200/h`.
pub fn parse_rate(text: &str) -> Result<f64, ScheduleError> {
    let bad = || ScheduleError::Rate(text.to_string());
    let trimmed = text.trim();
    let (number, per) = match trimmed.split_once('/') {
        Some((number, unit)) => {
            let per = match unit.trim() {
                "s" | "sec" | "second" => 1.0,
                "m" | "min" | "minute" => 60.0,
                "h" | "hour" => 3600.0,
                _ => return Err(bad()),
            };
            (number.trim(), per)
        }
        None => (trimmed, 1.0),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    if !value.is_finite() || value < 0.0 {
        return Err(bad());
    }
    Ok(value / per)
}

/// Parses a duration in the workspace's one grammar ([`duration_flag::parse`]): `500ms`, `30s`,
/// `2m`, `1m30s`, `1h30m`, `1d`, `0.5s`; a bare number is seconds. Zero is accepted here; the
/// flags that need more say so.
pub fn parse_duration(text: &str) -> Result<Duration, ScheduleError> {
    Ok(duration_flag::parse(text)?)
}

/// Parses `--stages`: comma-separated `RATE:DURATION` plateaus and `FROM->TO:DURATION` ramps, e.g.
/// `10/s:30s,10->200/s:1m,200/s:2m`. A ramp's unit goes after `TO` and applies to both ends.
pub fn parse_stages(text: &str) -> Result<Vec<Stage>, ScheduleError> {
    let mut stages = Vec::new();
    for (index, part) in text.split(',').map(str::trim).enumerate() {
        let index = index + 1;
        let fail = |reason: String| ScheduleError::Stage { index, text: part.to_string(), reason };
        if part.is_empty() {
            return Err(fail("empty stage (two commas in a row, or a trailing comma?)".into()));
        }
        let (rates, duration) = part
            .rsplit_once(':')
            .ok_or_else(|| fail("expected RATE:DURATION, e.g. `200/s:2m` or `10->200/s:1m`".into()))?;
        let duration = parse_duration(duration).map_err(|e| fail(e.to_string()))?;
        if duration.is_zero() {
            return Err(fail("the duration must be more than zero".into()));
        }
        let stage = match rates.split_once("->") {
            Some((from, to)) => {
                // `10->200/s`: the unit written after `to` applies to `from` too.
                let unit = to.find('/').map_or("", |slash| &to[slash..]);
                let from = if from.contains('/') { from.to_string() } else { format!("{}{unit}", from.trim()) };
                let from = parse_rate(&from).map_err(|e| fail(e.to_string()))?;
                let to = parse_rate(to).map_err(|e| fail(e.to_string()))?;
                Stage { from, to, duration }
            }
            None => Stage::plateau(parse_rate(rates).map_err(|e| fail(e.to_string()))?, duration),
        };
        stages.push(stage);
    }
    if stages.is_empty() {
        return Err(ScheduleError::Empty);
    }
    Ok(stages)
}

/// A stretch of constant rate: requests `first..first + count` (schedule-wide indices), the first
/// one due at `offset + lead`, the others every `1 / rate` after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Start of the step, from the start of the run.
    pub offset: Duration,
    /// How long the step lasts.
    pub duration: Duration,
    /// Requests per second during the step.
    pub rate: f64,
    /// Index of the step's first request in the whole schedule.
    pub first: u64,
    /// Requests the step sends.
    pub count: u64,
    /// Delay from the step's start to its first request.
    pub lead: Duration,
}

impl Step {
    /// Intended send time of the step's `i`-th request, from the start of the run.
    pub fn due(&self, i: u64) -> Duration {
        self.offset + self.lead + Duration::from_secs_f64(i as f64 / self.rate)
    }

    /// The spacing of the step's requests.
    pub fn period(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.rate).max(Duration::from_nanos(1))
    }
}

/// The steps of `stages`, in order (lazily: a long ramp is many steps).
pub fn steps(stages: &[Stage]) -> impl Iterator<Item = Step> + '_ {
    let mut offset = Duration::ZERO;
    let mut cumulative = 0.0_f64;
    stages.iter().flat_map(move |stage| {
        let pieces: Vec<(Duration, f64)> = if stage.from == stage.to {
            vec![(stage.duration, stage.from)]
        } else {
            let n = (stage.duration.as_secs_f64() / RAMP_STEP.as_secs_f64()).ceil().max(1.0) as u64;
            (0..n)
                .map(|k| {
                    let start = RAMP_STEP * k as u32;
                    let length = (stage.duration - start).min(RAMP_STEP);
                    let middle = (start.as_secs_f64() + length.as_secs_f64() / 2.0) / stage.duration.as_secs_f64();
                    (length, stage.from + (stage.to - stage.from) * middle)
                })
                .collect()
        };
        pieces
            .into_iter()
            .map(|(duration, rate)| {
                let start_count = cumulative;
                let end_count = start_count + rate * duration.as_secs_f64();
                cumulative = end_count;
                // Requests m with start_count <= m < end_count (small epsilon against float noise).
                let first = (start_count - 1e-9).ceil().max(0.0) as u64;
                let end = (end_count - 1e-9).ceil().max(0.0) as u64;
                let count = end.saturating_sub(first);
                let lead = if rate > 0.0 {
                    Duration::from_secs_f64(((first as f64 - start_count) / rate).max(0.0))
                } else {
                    Duration::ZERO
                };
                let step = Step { offset, duration, rate, first, count, lead };
                offset += duration;
                step
            })
            .collect::<Vec<_>>()
    })
}

/// Total run time of `stages`.
pub fn total_duration(stages: &[Stage]) -> Duration {
    stages.iter().map(|s| s.duration).sum()
}

/// `90s` → `1m30s`; `0.5s` → `500ms`.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates_and_durations() {
        assert_eq!(parse_rate("200").unwrap(), 200.0);
        assert_eq!(parse_rate("200/s").unwrap(), 200.0);
        assert_eq!(parse_rate("600/m").unwrap(), 10.0);
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("-1/s").is_err());
        assert!(parse_rate("5/d").is_err());
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_duration("2m 30s").unwrap(), Duration::from_secs(150));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn parses_the_issue_example() {
        let stages = parse_stages("10/s:30s,10->200/s:1m,200/s:2m").unwrap();
        assert_eq!(
            stages,
            vec![
                Stage::plateau(10.0, Duration::from_secs(30)),
                Stage { from: 10.0, to: 200.0, duration: Duration::from_secs(60) },
                Stage::plateau(200.0, Duration::from_secs(120)),
            ]
        );
        assert_eq!(total_duration(&stages), Duration::from_secs(210));
        assert_eq!(stages[1].to_string(), "10->200/s:1m");
    }

    #[test]
    fn stage_errors_say_which_stage_and_why() {
        let error = parse_stages("10/s:30s,10->200/s").unwrap_err().to_string();
        assert!(error.starts_with("stage 2 (\"10->200/s\")"), "{error}");
        assert!(error.contains("RATE:DURATION"), "{error}");
        let error = parse_stages("10/s:30s,fast:1m").unwrap_err().to_string();
        assert!(error.contains("stage 2") && error.contains("invalid rate \"fast\""), "{error}");
        let error = parse_stages("10/s:30q").unwrap_err().to_string();
        assert!(error.contains("invalid duration \"30q\""), "{error}");
        assert!(error.contains("1h30m, 1d, or bare seconds"), "{error}");
        assert_eq!(parse_stages("10->200/s:1d").unwrap()[0].duration, Duration::from_secs(86_400));
        assert!(parse_stages("10/s:30s,").unwrap_err().to_string().contains("empty stage"));
        assert!(parse_stages("10/s:0s").unwrap_err().to_string().contains("more than zero"));
    }

    #[test]
    fn steps_send_the_integral_of_the_rate() {
        let stages = parse_stages("10/s:30s,10->200/s:1m,200/s:2m").unwrap();
        let all: Vec<Step> = steps(&stages).collect();
        let total: u64 = all.iter().map(|s| s.count).sum();
        // 300 + (10 + 200) / 2 * 60 + 24000
        assert_eq!(total, 300 + 6300 + 24000);
        // Indices are contiguous and intended times never go backwards.
        let mut next = 0;
        let mut last_due = Duration::ZERO;
        for step in &all {
            assert_eq!(step.first, next);
            next += step.count;
            for i in 0..step.count {
                let due = step.due(i);
                assert!(due >= last_due);
                assert!(due < step.offset + step.duration + Duration::from_micros(1));
                last_due = due;
            }
        }
        // The ramp climbs.
        let ramp: Vec<&Step> = all.iter().filter(|s| s.offset >= Duration::from_secs(30)).collect();
        assert!(ramp.first().unwrap().rate < 12.0 && ramp[ramp.len() - 2].rate > 195.0);
    }

    #[test]
    fn a_slow_rate_spaces_requests_across_steps() {
        let stages = vec![Stage::plateau(0.5, Duration::from_secs(4)), Stage::plateau(2.0, Duration::from_secs(1))];
        let dues: Vec<Duration> = steps(&stages).flat_map(|s| (0..s.count).map(move |i| s.due(i))).collect();
        let ms: Vec<u128> = dues.iter().map(|d| d.as_millis()).collect();
        assert_eq!(ms, vec![0, 2000, 4000, 4500]);
    }
}
