//! The service clock: every status delay and linger deadline is measured on it.
//!
//! Two kinds: a *scaled* clock that runs `K` times faster than the wall clock (`--time-scale K`),
//! and a *manual* clock that only moves when told to ([`Clock::advance`]), for deterministic tests.
//! Both start at the wall-clock time of their creation, so timestamps look like real ones.

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

/// Returned by [`Clock::scaled`] for a scale that is not a finite number above zero.
#[derive(Debug, thiserror::Error)]
#[error("time scale must be a finite number greater than 0, got {0}")]
pub struct InvalidTimeScale(pub f64);

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
        if !(scale.is_finite() && scale > 0.0) {
            return Err(InvalidTimeScale(scale));
        }
        Ok(Self(Arc::new(Kind::Scaled { origin_wall: SystemTime::now(), origin: Instant::now(), scale })))
    }

    /// A clock that stands still until [`Clock::advance`] moves it.
    pub fn manual() -> Self {
        Self(Arc::new(Kind::Manual { now: Mutex::new(SystemTime::now()) }))
    }

    /// The current service time.
    pub fn now(&self) -> SystemTime {
        match &*self.0 {
            Kind::Scaled { origin_wall, origin, scale } => *origin_wall + origin.elapsed().mul_f64(*scale),
            Kind::Manual { now } => *now.lock().expect("clock lock"),
        }
    }

    /// Moves a manual clock forward by `by` of service time.
    pub fn advance(&self, by: Duration) -> Result<(), NotManual> {
        match &*self.0 {
            Kind::Manual { now } => {
                *now.lock().expect("clock lock") += by;
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
        self.scale().map(|k| service.div_f64(k))
    }
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
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Clock::scaled(bad).is_err());
        }
    }
}
