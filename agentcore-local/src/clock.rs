//! The service clock: every status delay and linger deadline is measured on it.
//!
//! Two kinds: a *scaled* clock that runs `K` times faster than the wall clock (`--time-scale K`),
//! and a *manual* clock that only moves when told to ([`Clock::advance`]), for deterministic tests.
//! Both start at the wall-clock time of their creation, so timestamps look like real ones.
//!
//! A scale must lie in [`MIN_TIME_SCALE`, `MAX_TIME_SCALE`]; the arithmetic saturates (a service
//! time past what `SystemTime` can hold stays at the last representable instant instead of
//! panicking).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// A cheaply clonable handle on one service clock; clones share the same time.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Kind>);

#[derive(Debug)]
enum Kind {
    Scaled { origin_wall: SystemTime, origin: Instant, scale: f64 },
    Manual { now: Mutex<SystemTime> },
}

/// The slowest accepted clock: one service second per 1,000 wall seconds.
pub const MIN_TIME_SCALE: f64 = 1e-3;
/// The fastest accepted clock: a billion service seconds (31.7 years) per wall second, so even
/// decades of wall time stay far inside what `SystemTime` and `Duration` can represent.
pub const MAX_TIME_SCALE: f64 = 1e9;

/// Returned by [`Clock::scaled`] for a scale that is not a finite number in
/// [`MIN_TIME_SCALE`, `MAX_TIME_SCALE`].
#[derive(Debug, thiserror::Error)]
#[error("time scale must be a finite number between {MIN_TIME_SCALE} and {MAX_TIME_SCALE}, got {0}")]
pub struct InvalidTimeScale(pub f64);

/// Parses a `--time-scale` value (a clap `value_parser`): a number in
/// [`MIN_TIME_SCALE`, `MAX_TIME_SCALE`].
pub fn parse_time_scale(text: &str) -> Result<f64, String> {
    let scale: f64 = text.trim().parse().map_err(|_| format!("time scale must be a number, got {text:?}"))?;
    check_scale(scale).map_err(|e| e.to_string())
}

fn check_scale(scale: f64) -> Result<f64, InvalidTimeScale> {
    if (MIN_TIME_SCALE..=MAX_TIME_SCALE).contains(&scale) { Ok(scale) } else { Err(InvalidTimeScale(scale)) }
}

/// `secs` seconds, saturating at `Duration::MAX` (callers pass a product or quotient of a duration
/// and a checked scale, so never NaN or negative).
fn saturating_secs(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

/// Returned by [`Clock::advance`] on a clock that is not manual.
#[derive(Debug, thiserror::Error)]
#[error("only a manual clock can be advanced (this one is scaled)")]
pub struct NotManual;

impl Clock {
    /// The wall clock (scale 1).
    pub fn real() -> Self {
        Self::scaled(1.0).expect("1 is a valid scale")
    }

    /// A clock running `scale` times faster than the wall clock.
    pub fn scaled(scale: f64) -> Result<Self, InvalidTimeScale> {
        let scale = check_scale(scale)?;
        Ok(Self(Arc::new(Kind::Scaled { origin_wall: SystemTime::now(), origin: Instant::now(), scale })))
    }

    /// A clock that stands still until [`Clock::advance`] moves it.
    pub fn manual() -> Self {
        Self(Arc::new(Kind::Manual { now: Mutex::new(SystemTime::now()) }))
    }

    /// The current service time.
    pub fn now(&self) -> SystemTime {
        match &*self.0 {
            Kind::Scaled { origin_wall, origin, scale } => {
                let service = saturating_secs(origin.elapsed().as_secs_f64() * *scale);
                origin_wall.checked_add(service).unwrap_or_else(|| latest_after(*origin_wall))
            }
            Kind::Manual { now } => *now.lock().expect("clock lock"),
        }
    }

    /// Moves a manual clock forward by `by` of service time.
    pub fn advance(&self, by: Duration) -> Result<(), NotManual> {
        match &*self.0 {
            Kind::Manual { now } => {
                let mut now = now.lock().expect("clock lock");
                *now = now.checked_add(by).unwrap_or_else(|| latest_after(*now));
                Ok(())
            }
            Kind::Scaled { .. } => Err(NotManual),
        }
    }

    /// `Some(K)` for a scaled clock, `None` for a manual one.
    pub fn scale(&self) -> Option<f64> {
        match &*self.0 {
            Kind::Scaled { scale, .. } => Some(*scale),
            Kind::Manual { .. } => None,
        }
    }

    /// How much wall-clock time `service` takes on this clock (`None` on a manual clock, where
    /// service time never passes by itself).
    pub fn to_wall(&self, service: Duration) -> Option<Duration> {
        self.scale().map(|k| saturating_secs(service.as_secs_f64() / k))
    }
}

/// The latest `SystemTime` after `t` this platform can hold (found by halving steps: at most two
/// additions per halving, under 200 in all).
fn latest_after(t: SystemTime) -> SystemTime {
    let mut latest = t;
    let mut step = Duration::MAX;
    while step > Duration::ZERO {
        match latest.checked_add(step) {
            Some(later) => latest = later,
            None => step /= 2,
        }
    }
    latest
}

impl Default for Clock {
    fn default() -> Self {
        Self::real()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual();
        let t0 = clock.now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_secs(3600)).unwrap();
        assert_eq!(clock.now(), t0 + Duration::from_secs(3600));
        assert_eq!(clock.clone().now(), clock.now(), "clones share the time");
    }

    #[test]
    fn scaled_clock_runs_faster_than_the_wall() {
        let clock = Clock::scaled(1000.0).unwrap();
        let t0 = clock.now();
        let wall = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let service = clock.now().duration_since(t0).unwrap();
        assert!(service >= Duration::from_secs(20), "{service:?}");
        assert!(service <= wall.elapsed().mul_f64(1000.0) + Duration::from_secs(1));
        assert!(clock.advance(Duration::from_secs(1)).is_err());
        assert_eq!(clock.to_wall(Duration::from_secs(8)), Some(Duration::from_millis(8)));
    }

    #[test]
    fn rejects_bad_scales() {
        for bad in [0.0, -0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, 1e-300, 5e-324, 1e10] {
            assert!(Clock::scaled(bad).is_err(), "{bad}");
        }
        for good in [MIN_TIME_SCALE, 1.0, 3600.0, MAX_TIME_SCALE] {
            assert_eq!(Clock::scaled(good).unwrap().scale(), Some(good));
        }
    }

    #[test]
    fn parses_time_scale_flags() {
        assert_eq!(parse_time_scale("3600"), Ok(3600.0));
        assert_eq!(parse_time_scale(" 1e9 "), Ok(1e9));
        for bad in ["inf", "NaN", "0", "-1", "1e300", "4.9e-324", "", "fast"] {
            let error = parse_time_scale(bad).unwrap_err();
            assert!(error.starts_with("time scale must be"), "{bad}: {error}");
        }
    }

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let fastest = Clock::scaled(MAX_TIME_SCALE).unwrap();
        assert_eq!(fastest.to_wall(Duration::MAX), Some(Duration::from_secs_f64(u64::MAX as f64 / MAX_TIME_SCALE)));
        let slowest = Clock::scaled(MIN_TIME_SCALE).unwrap();
        assert_eq!(slowest.to_wall(Duration::MAX), Some(Duration::MAX));
        let manual = Clock::manual();
        manual.advance(Duration::MAX).unwrap();
        manual.advance(Duration::MAX).unwrap();
        let end = manual.now();
        assert!(end.checked_add(Duration::from_secs(1)).is_none(), "saturated at the last instant");
    }
}
