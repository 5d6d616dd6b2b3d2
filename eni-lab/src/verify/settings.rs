//! The timings and limits a run uses, in one place: an offline preset (the embedded emulator on a
//! fast clock, or an agentcore-local endpoint) and a real-account preset (`--aws`, issue 9).
//!
//! Two time bases appear: *service time* (the endpoint's clock: the emulator's runs `time_scale`
//! times faster than the wall clock; AWS's is the wall clock) and *wall time* (what the run waits).
//! The model ([`eni_model`]) reasons in service time; waits and the load duration are wall time.

use std::time::Duration;

use eni_model::QuotaModel;
use serde::Serialize;

/// The report's load: 120 s of 50 workers.
pub const REPORT_LOAD: Duration = Duration::from_secs(120);
/// The report's watcher listed ENIs every 5 s.
pub const REPORT_WATCH_INTERVAL: Duration = Duration::from_secs(5);
/// The offline time scale: the emulator's clock runs this many times faster than the wall clock,
/// so the report's 120 s load takes 12 s and a whole default run well under a minute.
pub const OFFLINE_TIME_SCALE: f64 = 10.0;
/// `--preset report`'s time scale: its load takes 60 s. Each success starts an agent process and
/// every call passes through this machine's SDK and emulator, whose own time per call (tens of
/// milliseconds on a 2-core runner) is multiplied by the scale in service time; at 2 a call takes
/// 1-3 % longer than the report's 2.79 s, within the preset's tolerance (measured: successes
/// 2.88-2.91 s, refusals 2.80-2.81 s; at 4, 2.95 s and 2.82 s; at 10, well outside).
pub const REPORT_TIME_SCALE: f64 = 2.0;
/// The offline session quota (`maxVms`). Every live session is an agent process on this machine, so
/// the default stays modest enough for a 2-core CI runner (the report's account had 500).
pub const OFFLINE_MAX_VMS: u32 = 100;
/// Offline CREATING/UPDATING → READY and DELETING → gone (service time: 3 s of wall time at 10×).
pub const OFFLINE_STATUS_DELAY: Duration = Duration::from_secs(30);
/// Offline ENI linger (service time). AWS says "up to 8 hours"; a minute (6 s of wall time at 10×)
/// is enough to see the security group refused while the ENIs linger, and to watch them go.
pub const OFFLINE_ENI_LINGER: Duration = Duration::from_secs(60);

/// Every timing and limit of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// `offline` or `aws`.
    pub preset: &'static str,
    /// Service seconds per wall second (1 for a real account).
    pub time_scale: f64,
    /// Emulator only: CREATING/UPDATING → READY and DELETING → gone (service time).
    #[serde(with = "secs")]
    pub status_delay: Duration,
    /// How long an unused ENI may linger (service time): the emulator's setting, AWS's "up to 8 h".
    #[serde(with = "secs")]
    pub eni_linger: Duration,
    /// The runtimes' idle session timeout (service time; AgentCore's default, the runtimes set none).
    #[serde(with = "secs")]
    pub idle_timeout: Duration,
    /// The active-session quota the admission model uses (and the embedded emulator enforces).
    pub max_vms: u32,
    /// How the quota is enforced (the model's and the embedded emulator's `--quota-model`).
    #[serde(serialize_with = "display")]
    pub quota_model: QuotaModel,
    /// Emulator only: how long a call that starts a session waits for the microVM (`--cold-start`),
    /// and how long a refused call takes (`--quota-refusal-delay`) (service time).
    #[serde(with = "secs")]
    pub new_session_delay: Duration,
    /// How long to wait for runtimes to be READY (wall time).
    #[serde(with = "secs")]
    pub ready_timeout: Duration,
    /// Interval of status polls (READY, teardown) (wall time).
    #[serde(with = "secs")]
    pub poll: Duration,
    /// How long the idle and sg-split phases give ENIs to appear before judging (wall time; AWS
    /// creates them some 30 s after the runtime; the emulator binary after `--eni-create-delay`,
    /// 27 s of service time by default, the embedded one at once).
    #[serde(with = "secs")]
    pub eni_settle: Duration,
    /// Interval of the ENI watch that runs through the whole verify (wall time).
    #[serde(with = "secs")]
    pub watch_interval: Duration,
    /// Load duration (wall time).
    #[serde(with = "secs")]
    pub load_duration: Duration,
    /// Per-invocation timeout of the load (wall time).
    #[serde(with = "secs")]
    pub invoke_timeout: Duration,
    /// How long teardown waits for lingering ENIs before it gives up (wall time; with `--aws` a
    /// short look, then "pending destroy").
    #[serde(with = "secs")]
    pub teardown_wait: Duration,
}

impl Settings {
    /// The emulator (embedded or at `--endpoint-url`) on a clock `time_scale` times faster than the
    /// wall clock: the report's 120 s load and 5 s watch interval shrink by the same factor. `max_vms`
    /// and `eni_linger` are the emulator's (`--emulator-max-vms`, `--emulator-eni-linger`); teardown
    /// waits twice the linger window and half a minute more.
    pub fn offline(time_scale: f64, max_vms: u32, eni_linger: Duration) -> Self {
        Self::scaled("offline", time_scale, max_vms, eni_linger)
    }

    /// `--preset report`: [`Self::offline`] with the report's quota model and call timing: every
    /// call that starts a session, and every refusal, takes the report's mean call time
    /// ([`eni_model::ReportLoad::call_latency`]), so that 50 workers make the report's 2,148 calls.
    pub fn report(time_scale: f64, max_vms: u32, eni_linger: Duration) -> Self {
        Self {
            new_session_delay: eni_model::REPORT.call_latency(),
            ..Self::scaled("report", time_scale, max_vms, eni_linger)
        }
    }

    fn scaled(preset: &'static str, time_scale: f64, max_vms: u32, eni_linger: Duration) -> Self {
        let wall = |service: Duration| service.div_f64(time_scale);
        let linger_window = wall(OFFLINE_STATUS_DELAY + eni_linger);
        Self {
            preset,
            time_scale,
            status_delay: OFFLINE_STATUS_DELAY,
            eni_linger,
            idle_timeout: eni_model::DEFAULT_IDLE_TIMEOUT,
            max_vms,
            quota_model: QuotaModel::Exact,
            new_session_delay: Duration::ZERO,
            ready_timeout: Duration::from_secs(60) + wall(OFFLINE_STATUS_DELAY) * 4,
            poll: Duration::from_millis(100),
            // Time for an agentcore-local binary at --endpoint-url to create its ENIs (twice its default
            // delay, on its clock), and 2 s more; judging stops waiting as soon as they match.
            eni_settle: Duration::from_secs(2) + wall(agentcore_local::config::DEFAULT_ENI_CREATE_DELAY * 2),
            watch_interval: wall(REPORT_WATCH_INTERVAL).max(Duration::from_millis(50)),
            load_duration: wall(REPORT_LOAD),
            invoke_timeout: Duration::from_secs(30),
            teardown_wait: linger_window * 2 + Duration::from_secs(30),
        }
    }

    /// A real account (`--aws`): the report's timings, AWS's 8 h linger, the report's quota.
    pub fn real_account() -> Self {
        Self {
            preset: "aws",
            time_scale: 1.0,
            status_delay: Duration::ZERO,
            eni_linger: eni_model::DEFAULT_LINGER,
            idle_timeout: eni_model::DEFAULT_IDLE_TIMEOUT,
            max_vms: eni_model::DEFAULT_MAX_VMS,
            quota_model: QuotaModel::Exact,
            new_session_delay: Duration::ZERO,
            ready_timeout: Duration::from_secs(20 * 60),
            poll: Duration::from_secs(5),
            eni_settle: Duration::from_secs(3 * 60),
            watch_interval: REPORT_WATCH_INTERVAL,
            load_duration: REPORT_LOAD,
            invoke_timeout: Duration::from_secs(60),
            // AWS keeps unused ENIs up to 8 h: teardown takes a short look after the runtimes are
            // gone and leaves the rest to `cargo xtask destroy --aws --resume` ("pending destroy").
            teardown_wait: Duration::from_secs(10),
        }
    }

    /// The quota model the run is judged with (and the embedded emulator runs).
    pub fn with_quota_model(self, quota_model: QuotaModel) -> Self {
        Self { quota_model, ..self }
    }

    /// `--duration`, when given, instead of the preset's load duration.
    pub fn with_load_duration(self, load_duration: Option<Duration>) -> Self {
        Self { load_duration: load_duration.unwrap_or(self.load_duration), ..self }
    }

    /// Wall time → service time.
    pub fn service(&self, wall: Duration) -> Duration {
        wall.mul_f64(self.time_scale)
    }

    /// Service time → wall time.
    pub fn wall(&self, service: Duration) -> Duration {
        service.div_f64(self.time_scale)
    }

    /// The latest a lingering ENI may still be there after its last runtime's DeleteAgentRuntime
    /// call (wall time): the deletion itself (status delay) plus the linger.
    pub fn linger_window(&self) -> Duration {
        self.wall(self.status_delay + self.eni_linger)
    }

    /// `name = value` lines, for the terminal and the report.
    pub fn lines(&self) -> Vec<(String, String)> {
        let s = |d: Duration| format!("{} s", trim(d.as_secs_f64()));
        let both = |d: Duration| format!("{} service = {} wall", s(d), s(self.wall(d)));
        vec![
            ("preset".into(), self.preset.into()),
            ("time scale".into(), format!("{}×", trim(self.time_scale))),
            ("status delay".into(), both(self.status_delay)),
            ("ENI linger".into(), both(self.eni_linger)),
            ("idle session timeout".into(), both(self.idle_timeout)),
            ("session quota (maxVms)".into(), self.max_vms.to_string()),
            ("quota model".into(), self.quota_model.to_string()),
            ("new session / refusal delay".into(), both(self.new_session_delay)),
            ("load duration (wall)".into(), s(self.load_duration)),
            ("watch interval (wall)".into(), s(self.watch_interval)),
            ("READY timeout (wall)".into(), s(self.ready_timeout)),
            ("ENI settle (wall)".into(), s(self.eni_settle)),
            ("teardown wait (wall)".into(), s(self.teardown_wait)),
        ]
    }
}

/// `12`, `0.5`, `2.25`: up to 3 decimals, no trailing zeros.
pub fn trim(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn display<S: serde::Serializer>(value: &impl std::fmt::Display, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Durations as (fractional) seconds in JSON.
pub mod secs {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offline_preset_scales_the_reports_timings() {
        let settings = Settings::offline(10.0, OFFLINE_MAX_VMS, OFFLINE_ENI_LINGER);
        assert_eq!(settings.load_duration, Duration::from_secs(12));
        assert_eq!(settings.watch_interval, Duration::from_millis(500));
        assert_eq!(settings.linger_window(), Duration::from_secs(9));
        assert_eq!(settings.service(Duration::from_secs(3)), Duration::from_secs(30));
        assert_eq!(Settings::real_account().linger_window(), Duration::from_secs(8 * 3600));
        assert_eq!(trim(2.5), "2.5");
        assert_eq!(trim(10.0), "10");
    }
}
