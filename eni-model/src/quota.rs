//! How the service enforces the active-session quota: AWS's documented rule, and the hypotheses for
//! the report's 768 successes under a quota of 500.
//!
//! AWS documents one rule ([`QuotaModel::Exact`]): a call that needs a new session is refused with
//! `ServiceQuotaExceededException` while the account's live sessions equal the quota, and a session
//! lives until it is stopped, idle for the idle timeout, or at its max lifetime. Under that rule the
//! report's load (50 workers, a new session id per call, 120 s) admits exactly 500. The report saw
//! 768. Each other variant is a mechanism that lets more through, with one parameter to fit:
//!
//! - [`QuotaModel::Lagged`]: the counter the check reads is the live count `lag` ago, as a counter
//!   kept eventually consistent across the service's hosts would be. Everything is admitted until
//!   the count seen reaches the quota, then nothing: the successes come in one block at the start.
//! - [`QuotaModel::Reclaimed`]: sessions are reclaimed `after` they fall idle, sooner than the idle
//!   timeout. The report's agent answered `/ping` with `{"status": "ok"}`, which is neither
//!   `Healthy` nor `HealthyBusy`: a service that treats that as unhealthy, or reclaims idle microVMs
//!   under capacity pressure, frees slots early. The successes come in two blocks: the first
//!   `max_vms`, then again once the first sessions are reclaimed.
//! - [`QuotaModel::PerCell`]: the quota is enforced per placement cell (a shard of the service),
//!   each counting only its own sessions; a session's cell is a hash of its runtime and id
//!   ([`cell_of`]). It admits up to `cells × max_vms`, so it can only reach 768 if the load ends
//!   before the cells fill.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the active-session quota is enforced (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case")]
pub enum QuotaModel {
    /// AWS's documented rule: the live count, now.
    #[default]
    Exact,
    /// The check reads the live count as it was `lag` earlier.
    Lagged {
        /// How stale the count is.
        #[serde(with = "crate::secs")]
        lag: Duration,
    },
    /// Sessions end `after` they fall idle when that is sooner than the idle timeout.
    Reclaimed {
        /// Idle time after which a session is reclaimed.
        #[serde(with = "crate::secs")]
        after: Duration,
    },
    /// Each of `cells` placement cells enforces the quota on its own sessions.
    PerCell {
        /// Number of cells (at least 1).
        cells: u32,
    },
}

impl QuotaModel {
    /// The variant's name, as `--quota-model` takes it: `exact`, `lagged`, `reclaimed`, `per-cell`.
    pub fn name(&self) -> &'static str {
        match self {
            QuotaModel::Exact => "exact",
            QuotaModel::Lagged { .. } => "lagged",
            QuotaModel::Reclaimed { .. } => "reclaimed",
            QuotaModel::PerCell { .. } => "per-cell",
        }
    }
}

/// `exact`, `lagged:16.5s`, `reclaimed:100s`, `per-cell:2`.
impl fmt::Display for QuotaModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuotaModel::Exact => f.write_str("exact"),
            QuotaModel::Lagged { lag } => write!(f, "lagged:{}", seconds(*lag)),
            QuotaModel::Reclaimed { after } => write!(f, "reclaimed:{}", seconds(*after)),
            QuotaModel::PerCell { cells } => write!(f, "per-cell:{cells}"),
        }
    }
}

/// `12s`, `2.5s`, `0.125s`: up to 3 decimals, no trailing zeros.
fn seconds(d: Duration) -> String {
    let text = format!("{:.3}", d.as_secs_f64());
    format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
}

/// A `--quota-model` that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "quota model {given:?}: {why} (expected exact, lagged:DURATION, reclaimed:DURATION or per-cell:N, e.g. lagged:16s)"
)]
pub struct QuotaModelError {
    given: String,
    why: &'static str,
}

impl FromStr for QuotaModel {
    type Err = QuotaModelError;

    fn from_str(given: &str) -> Result<Self, Self::Err> {
        let error = |why| QuotaModelError { given: given.chars().take(64).collect(), why };
        let (name, parameter) = match given.split_once(':') {
            Some((name, parameter)) => (name, Some(parameter)),
            None => (given, None),
        };
        match (name, parameter) {
            ("exact", None) => Ok(QuotaModel::Exact),
            ("exact", Some(_)) => Err(error("exact takes no parameter")),
            ("lagged", Some(p)) => Ok(QuotaModel::Lagged { lag: duration(p).ok_or_else(|| error("bad duration"))? }),
            ("reclaimed", Some(p)) => match duration(p) {
                Some(after) if !after.is_zero() => Ok(QuotaModel::Reclaimed { after }),
                Some(_) => Err(error("a session must live a while: the duration must be above 0")),
                None => Err(error("bad duration")),
            },
            ("per-cell", Some(p)) => match p.parse::<u32>() {
                Ok(cells @ 1..=1024) => Ok(QuotaModel::PerCell { cells }),
                _ => Err(error("the number of cells must be 1..=1024")),
            },
            ("lagged" | "reclaimed" | "per-cell", None) => Err(error("missing its parameter after ':'")),
            _ => Err(error("unknown model")),
        }
    }
}

/// `16s`, `1.5s`, `250ms`, `2m`, `1h`; at most a day.
fn duration(text: &str) -> Option<Duration> {
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => text.split_at(i),
        None => return None,
    };
    let value: f64 = number.parse().ok()?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    let secs = value * scale;
    (secs.is_finite() && (0.0..=86_400.0).contains(&secs)).then(|| Duration::from_secs_f64(secs))
}

/// The placement cell of a session under [`QuotaModel::PerCell`]: FNV-1a (64-bit) of
/// `runtime`, `/`, `session`, modulo `cells`. This is part of the variant's definition, so that
/// any implementation of it (the emulator's `--quota-model per-cell:N`) places sessions alike.
pub fn cell_of(runtime: &str, session: &str, cells: u32) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in runtime.bytes().chain(std::iter::once(b'/')).chain(session.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % u64::from(cells.max(1))) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_read_and_print_alike() {
        for text in ["exact", "lagged:16.5s", "reclaimed:100s", "per-cell:2", "lagged:0s"] {
            let model: QuotaModel = text.parse().unwrap();
            assert_eq!(model.to_string(), text);
        }
        assert_eq!("lagged:250ms".parse(), Ok(QuotaModel::Lagged { lag: Duration::from_millis(250) }));
        assert_eq!("reclaimed:2m".parse(), Ok(QuotaModel::Reclaimed { after: Duration::from_secs(120) }));
        for bad in [
            "",
            "lagged",
            "lagged:",
            "lagged:5",
            "lagged:-1s",
            "lagged:2d",
            "reclaimed:0s",
            "per-cell:0",
            "exact:1",
            "lagged:NaNs",
            "per-cell:x",
            "fast",
        ] {
            let err = bad.parse::<QuotaModel>().unwrap_err().to_string();
            assert!(err.contains("expected exact, lagged:DURATION"), "{bad}: {err}");
        }
    }

    #[test]
    fn cells_follow_fnv1a() {
        // FNV-1a 64 of "a/b" is 0xe620c3190468cf61 (Python: h ^= b; h *= 0x100000001b3 mod 2^64).
        assert_eq!(cell_of("a", "b", u32::MAX), (0xe620_c319_0468_cf61_u64 % u64::from(u32::MAX)) as u32);
        assert_eq!(cell_of("a", "b", 1), 0);
        let spread: Vec<u32> = (0..1000).map(|i| cell_of("runtime", &format!("session-{i}"), 2)).collect();
        let ones = spread.iter().filter(|&&c| c == 1).count();
        assert!((400..600).contains(&ones), "{ones} of 1000 in cell 1");
    }
}
