//! How the `maxVms` quota is enforced (`--quota-model`): AWS's documented rule, or one of the
//! hypotheses for the report's 768 successes under a quota of 500 (eni-model's `QuotaModel`
//! describes the same mechanisms; this is the emulator's own implementation of them, so that
//! comparing the two is a test of both).
//!
//! - `exact` (default): a new session is refused while the region's live sessions equal the quota.
//! - `lagged:L`: the check reads the live count as it was `L` ago (service time): sessions started
//!   within the last `L` are not counted yet, ones ended within it still are.
//! - `reclaimed:A`: a session is reclaimed once idle for `A` when that is sooner than its runtime's
//!   `idleRuntimeSessionTimeout` (the idle check's `/ping` still applies).
//! - `per-cell:N`: sessions are placed in `N` cells by FNV-1a (64-bit) of `runtimeId/sessionId`,
//!   and each cell enforces the quota on its own sessions.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

/// `--quota-model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuotaModel {
    #[default]
    Exact,
    Lagged(Duration),
    Reclaimed(Duration),
    PerCell(u32),
}

impl fmt::Display for QuotaModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |d: &Duration| {
            let text = format!("{:.3}", d.as_secs_f64());
            format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
        };
        match self {
            QuotaModel::Exact => f.write_str("exact"),
            QuotaModel::Lagged(lag) => write!(f, "lagged:{}", secs(lag)),
            QuotaModel::Reclaimed(after) => write!(f, "reclaimed:{}", secs(after)),
            QuotaModel::PerCell(cells) => write!(f, "per-cell:{cells}"),
        }
    }
}

impl FromStr for QuotaModel {
    type Err = String;

    /// `exact`, `lagged:15s`, `reclaimed:102s`, `per-cell:2` (durations as `--cold-start` takes them).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = "expected exact, lagged:DURATION, reclaimed:DURATION or per-cell:N (e.g. lagged:15s)";
        let duration = |p: &str| {
            duration_flag::parse(p)
                .ok()
                .filter(|d| *d <= Duration::from_secs(86_400))
                .ok_or_else(|| format!("{p:?} is not a duration of at most a day; {usage}"))
        };
        match text.split_once(':') {
            None if text == "exact" => Ok(QuotaModel::Exact),
            Some(("lagged", p)) => Ok(QuotaModel::Lagged(duration(p)?)),
            Some(("reclaimed", p)) => match duration(p)? {
                after if after.is_zero() => Err(format!("reclaimed needs a duration above 0; {usage}")),
                after => Ok(QuotaModel::Reclaimed(after)),
            },
            Some(("per-cell", p)) => match p.parse::<u32>() {
                Ok(cells @ 1..=1024) => Ok(QuotaModel::PerCell(cells)),
                _ => Err(format!("per-cell needs 1..=1024 cells; {usage}")),
            },
            _ => Err(format!("unknown quota model {:?}; {usage}", text.chars().take(64).collect::<String>())),
        }
    }
}

/// FNV-1a (64-bit) of `runtime_id/session_id`, modulo `cells`.
pub fn cell(runtime_id: &str, session_id: &str, cells: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in runtime_id.bytes().chain([b'/']).chain(session_id.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x100_0000_01b3);
    }
    (hash % u64::from(cells.max(1))) as u32
}

/// The live sessions per region, and what the quota model counts of them.
#[derive(Debug, Default)]
pub struct Ledger {
    model: QuotaModel,
    live: HashMap<String, u32>,
    /// `per-cell`: live sessions per (region, cell).
    in_cell: HashMap<(String, u32), u32>,
    /// `lagged`: the region's live count from each time on, oldest first; points older than the
    /// lag are dropped except the last of them (the count the check reads).
    history: HashMap<String, VecDeque<(SystemTime, u32)>>,
}

impl Ledger {
    pub fn new(model: QuotaModel) -> Self {
        Self { model, ..Self::default() }
    }

    /// Live sessions in `region` now.
    pub fn live(&self, region: &str) -> u32 {
        self.live.get(region).copied().unwrap_or(0)
    }

    /// The idle timeout a new session gets: its runtime's, or `reclaimed`'s when shorter.
    pub fn idle_timeout(&self, runtime: Duration) -> Duration {
        match self.model {
            QuotaModel::Reclaimed(after) => runtime.min(after),
            _ => runtime,
        }
    }

    /// The count the quota is checked against for a new session `runtime_id/session_id` at `now`.
    pub fn counted(&mut self, region: &str, runtime_id: &str, session_id: &str, now: SystemTime) -> u32 {
        match self.model {
            QuotaModel::Exact | QuotaModel::Reclaimed(_) => self.live(region),
            QuotaModel::PerCell(cells) => {
                let key = (region.to_string(), cell(runtime_id, session_id, cells));
                self.in_cell.get(&key).copied().unwrap_or(0)
            }
            QuotaModel::Lagged(lag) => {
                let Some(seen) = now.checked_sub(lag) else { return 0 };
                let Some(points) = self.history.get_mut(region) else { return 0 };
                // Keep the last point at or before `seen` and everything after it.
                while points.len() >= 2 && points[1].0 <= seen {
                    points.pop_front();
                }
                match points.front() {
                    Some(&(at, live)) if at <= seen => live,
                    _ => 0,
                }
            }
        }
    }

    /// A session of `runtime_id/session_id` started in `region` at `now`.
    pub fn started(&mut self, region: &str, runtime_id: &str, session_id: &str, now: SystemTime) {
        self.change(region, runtime_id, session_id, now, true);
    }

    /// A session ended.
    pub fn ended(&mut self, region: &str, runtime_id: &str, session_id: &str, now: SystemTime) {
        self.change(region, runtime_id, session_id, now, false);
    }

    fn change(&mut self, region: &str, runtime_id: &str, session_id: &str, now: SystemTime, up: bool) {
        let step = |n: &mut u32| *n = if up { *n + 1 } else { n.saturating_sub(1) };
        let live = self.live.entry(region.to_string()).or_default();
        step(live);
        let live = *live;
        match self.model {
            QuotaModel::PerCell(cells) => {
                step(self.in_cell.entry((region.to_string(), cell(runtime_id, session_id, cells))).or_default())
            }
            QuotaModel::Lagged(_) => {
                let points = self.history.entry(region.to_string()).or_default();
                match points.back_mut() {
                    Some(last) if last.0 >= now => last.1 = live,
                    _ => points.push_back((now, live)),
                }
            }
            QuotaModel::Exact | QuotaModel::Reclaimed(_) => {}
        }
    }

    /// Forgets everything (`/_local/reset`).
    pub fn clear(&mut self) {
        *self = Self::new(self.model);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_parse_and_print_alike() {
        for text in ["exact", "lagged:15s", "reclaimed:102.5s", "per-cell:2"] {
            assert_eq!(text.parse::<QuotaModel>().unwrap().to_string(), text);
        }
        for bad in ["", "lagged", "lagged:x", "reclaimed:0s", "per-cell:0", "per-cell:2000", "lagged:2days", "other:1"]
        {
            assert!(bad.parse::<QuotaModel>().unwrap_err().contains("expected exact"), "{bad}");
        }
        // FNV-1a 64 of "a/b" = 0xe620c3190468cf61.
        assert_eq!(cell("a", "b", 1000), (0xe620_c319_0468_cf61_u64 % 1000) as u32);
    }

    #[test]
    fn a_lagged_ledger_counts_what_was_live_a_lag_ago() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut ledger = Ledger::new(QuotaModel::Lagged(Duration::from_secs(10)));
        ledger.started("r", "a", "1", at(0));
        ledger.started("r", "a", "2", at(5));
        assert_eq!(ledger.counted("r", "a", "3", at(9)), 0);
        assert_eq!(ledger.counted("r", "a", "3", at(10)), 1);
        ledger.ended("r", "a", "1", at(12));
        assert_eq!(ledger.counted("r", "a", "3", at(15)), 2);
        assert_eq!(ledger.counted("r", "a", "3", at(22)), 1);
        assert_eq!(ledger.live("r"), 1);
        assert!(ledger.history["r"].len() <= 2, "old points dropped: {:?}", ledger.history["r"]);
    }

    #[test]
    fn cells_count_apart() {
        let mut ledger = Ledger::new(QuotaModel::PerCell(2));
        let now = SystemTime::UNIX_EPOCH;
        let (a, b) = ((0..).map(|i| i.to_string()).find(|s| cell("rt", s, 2) == 0).unwrap(), {
            (0..).map(|i| i.to_string()).find(|s| cell("rt", s, 2) == 1).unwrap()
        });
        ledger.started("r", "rt", &a, now);
        assert_eq!(ledger.counted("r", "rt", &a, now), 1);
        assert_eq!(ledger.counted("r", "rt", &b, now), 0);
        ledger.ended("r", "rt", &a, now);
        assert_eq!(ledger.counted("r", "rt", &a, now), 0);
    }
}
