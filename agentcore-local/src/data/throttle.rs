//! `--invoke-tps N`: the data plane's call rate, as governor's GCRA.
//!
//! A burst of up to N calls, refilled evenly at N per second (one every 1/N s): any span of T
//! seconds admits at most N + ⌊N·T⌋ calls, and never 2N at once, as a fixed one-second window
//! does at its boundary. The rate is per wall-clock second: `--time-scale` does not change it (a
//! client's pace is wall time whatever the service clock says).

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

/// Admits data-plane calls at `--invoke-tps`.
#[derive(Debug)]
pub struct InvokeRate<C: Clock = DefaultClock> {
    /// `None` when N is 0: every call is refused.
    limiter: Option<RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<C::Instant>>>,
}

impl InvokeRate {
    /// N calls per wall-clock second.
    pub fn per_second(tps: u32) -> Self {
        Self::with_clock(tps, DefaultClock::default())
    }
}

impl<C: Clock> InvokeRate<C> {
    /// N calls per second of `clock` (tests pass a fake one).
    pub fn with_clock(tps: u32, clock: C) -> Self {
        let limiter = NonZeroU32::new(tps).map(|n| RateLimiter::direct_with_clock(Quota::per_second(n), clock));
        Self { limiter }
    }

    /// Counts one call: `true` if it is admitted.
    pub fn admit(&self) -> bool {
        self.limiter.as_ref().is_some_and(|limiter| limiter.check().is_ok())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use governor::clock::FakeRelativeClock;

    use super::*;

    const TPS: u32 = 10;

    /// The calls at `times` (in order, from 0) that `--invoke-tps tps` admits.
    fn admitted(tps: u32, times: impl IntoIterator<Item = Duration>) -> Vec<Duration> {
        let clock = FakeRelativeClock::default();
        let rate = InvokeRate::with_clock(tps, clock.clone());
        let mut now = Duration::ZERO;
        let mut admitted = Vec::new();
        for at in times {
            clock.advance(at - now);
            now = at;
            if rate.admit() {
                admitted.push(at);
            }
        }
        admitted
    }

    /// The most admitted calls within any `window` (sliding).
    fn most_within(admitted: &[Duration], window: Duration) -> usize {
        (0..admitted.len())
            .map(|i| admitted[i..].iter().take_while(|t| **t < admitted[i] + window).count())
            .max()
            .unwrap_or(0)
    }

    /// What a fixed one-second window (reset at the first call a second after it opened) admits:
    /// the planted bug the checks below must catch.
    fn fixed_window(tps: u32, times: impl IntoIterator<Item = Duration>) -> Vec<Duration> {
        let (mut opened, mut count) = (Duration::ZERO, 0);
        let mut admitted = Vec::new();
        for at in times {
            if at - opened >= Duration::from_secs(1) {
                (opened, count) = (at, 0);
            }
            if count < tps {
                count += 1;
                admitted.push(at);
            }
        }
        admitted
    }

    /// N calls just before a second boundary and N just after it.
    fn straddling() -> Vec<Duration> {
        let n = TPS as usize;
        [vec![Duration::from_millis(990); n], vec![Duration::from_millis(1010); n]].concat()
    }

    #[test]
    fn a_burst_straddling_a_second_boundary_gets_no_second_allowance() {
        let window = Duration::from_millis(100);
        // GCRA: the burst, then one call per 1/N s; a fixed window: a second burst at the boundary.
        assert_eq!(most_within(&admitted(TPS, straddling()), window), TPS as usize);
        assert_eq!(most_within(&fixed_window(TPS, straddling()), window), 2 * TPS as usize);
    }

    #[test]
    fn any_window_admits_at_most_the_burst_plus_the_rate() {
        // A call every millisecond for 5 s, then a burst on top.
        let times: Vec<Duration> = (0..5000).map(Duration::from_millis).chain([Duration::from_secs(7); 30]).collect();
        let admitted = admitted(TPS, times);
        for window in [10, 100, 500, 1000, 2000].map(Duration::from_millis) {
            let bound = TPS as usize + (window.as_secs_f64() * f64::from(TPS)).floor() as usize;
            let most = most_within(&admitted, window);
            assert!(most <= bound, "{most} calls within {window:?} (at most {bound})");
        }
        // Long run: the burst, then N per second, no fewer when calls keep coming.
        let first_five_seconds = admitted.iter().filter(|t| **t < Duration::from_secs(5)).count();
        assert_eq!(first_five_seconds, TPS as usize + 5 * TPS as usize - 1);
        // Two idle seconds refill the whole burst, and no more.
        assert_eq!(admitted.iter().filter(|t| **t == Duration::from_secs(7)).count(), TPS as usize);
    }

    #[test]
    fn zero_refuses_every_call() {
        assert!(admitted(0, (0..100).map(|i| Duration::from_millis(i * 20))).is_empty());
    }
}
