//! The load's quota study: the report's table beside this run's and the model's (`--preset
//! report`), and which of eni-model's quota models ([`QuotaModel`]) this run's per-second profile
//! fits.
//!
//! Every variant is fitted ([`eni_model::fit`]) to a target's totals over a [`ClosedLoad`]:
//! - with `--preset report`, to the report's totals over the report's load ([`REPORT`]), so the
//!   fitted parameters are the ones the report implies, and the emulator runs one of them
//!   (`--quota-model`);
//! - otherwise (and with `--aws`, where this is the measurement that decides), to this run's own
//!   totals, over a load built from this run: its workers, its duration and runtimes, and the mean
//!   time its successes and its refusals took.
//!
//! Each fitted variant predicts a per-second profile (successes and refusals by the second a call
//! was sent); its distance from this run's profile ([`eni_model::profile_distance`]: the share of
//! calls that would have to move) ranks the variants. Under `--preset report` the emulator ran a
//! known variant, so the ranking is checked end to end; on a real account, it is the answer.

use std::time::{Duration, Instant};

use eni_model::{ClosedLoad, QuotaModel, REPORT, Second, SessionPolicy};
use serde::Serialize;

use super::load::{CallRecord, Outcome, QUOTA};
#[cfg(test)]
use super::quota_choice::QuotaChoice;
use super::quota_choice::VARIANTS;
use super::report::Check;

/// Calls, successes, refusals and duration (service seconds) of a load.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub calls: u64,
    pub ok: u64,
    pub refused: u64,
    pub duration_s: f64,
}

/// One variant fitted, and how far its profile is from this run's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantFit {
    /// The variant with its fitted parameter (`lagged:15s`).
    pub model: String,
    pub predicted: Totals,
    /// Calls the fit gets wrong against its target's totals.
    pub distance: u64,
    /// Share of this run's and the prediction's calls that would have to move (0 = same profile).
    pub profile_distance: f64,
    /// The most sessions the prediction has live at once.
    pub peak_live: u32,
    /// The predicted profile.
    pub seconds: Vec<Second>,
}

/// CloudWatch's `ActiveSessionCount` (Maximum per period) over the load: the account's own count of
/// live sessions, read through `aws-sdk-cloudwatch` (from the emulator's session table offline).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveSessions {
    pub period_s: u64,
    /// `(seconds since the load's start, Maximum)`, service time, oldest first.
    pub points: Vec<(f64, f64)>,
    /// The highest Maximum of the window (0 without datapoints).
    pub peak: f64,
}

impl ActiveSessions {
    /// The series from CloudWatch's datapoints, timed from `start`.
    pub fn new(period: Duration, start: std::time::SystemTime, points: &[(std::time::SystemTime, f64)]) -> Self {
        let since = |at: std::time::SystemTime| match at.duration_since(start) {
            Ok(after) => after.as_secs_f64(),
            Err(before) => -before.duration().as_secs_f64(),
        };
        Self {
            period_s: period.as_secs(),
            points: points.iter().map(|&(at, value)| (since(at), value)).collect(),
            peak: points.iter().map(|p| p.1).fold(0.0, f64::max),
        }
    }
}

/// The study of one load.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaStudy {
    /// What the variants were fitted to: `report` or `this run`.
    pub fitted_to: &'static str,
    /// The quota model the run's admission was judged with (and the embedded emulator ran).
    pub judged_with: String,
    pub run: Totals,
    /// Mean service time of this run's successes and of its refusals, in seconds.
    pub mean_ok_s: f64,
    pub mean_refused_s: f64,
    /// This run's profile.
    pub seconds: Vec<Second>,
    pub variants: Vec<VariantFit>,
    /// The variant whose profile is closest to this run's.
    pub closest: String,
    /// CloudWatch's count of live sessions over the load, when it was read.
    pub active_sessions: Option<ActiveSessions>,
}

/// Tolerances of the report's table, as shares of the report's figures: calls, successes and
/// refusals 3 %; duration 10 % (the report's calls end with a tail of up to 10.8 s that one mean
/// latency cannot reproduce: a run with the mean ends about 123 s in, against the report's 130.8 s).
pub const COUNT_TOLERANCE: f64 = 0.03;
pub const DURATION_TOLERANCE: f64 = 0.10;

/// The per-second profile and totals of `records` (service time from `origin`, `time_scale`).
pub fn profile(records: &[CallRecord], origin: Instant, time_scale: f64) -> (Totals, Vec<Second>) {
    let service = |at: Instant| at.saturating_duration_since(origin).as_secs_f64() * time_scale;
    let mut seconds: Vec<Second> = Vec::new();
    let mut totals = Totals { calls: records.len() as u64, ok: 0, refused: 0, duration_s: 0.0 };
    for record in records {
        let Some((done, outcome)) = &record.done else { continue };
        totals.duration_s = totals.duration_s.max(service(*done));
        let second = service(record.sent) as usize;
        if seconds.len() <= second {
            seconds.resize(second + 1, Second::default());
        }
        match outcome {
            Outcome::Ok => {
                totals.ok += 1;
                seconds[second].ok += 1;
            }
            Outcome::Failed(class) if class == QUOTA => {
                totals.refused += 1;
                seconds[second].refused += 1;
            }
            Outcome::Failed(_) => {}
        }
    }
    (totals, seconds)
}

/// A closed load shaped like this run: its workers, duration and runtimes, and the mean service
/// time of its successes and of its refusals (the report's mean for a kind it has none of).
pub fn load_of(records: &[CallRecord], time_scale: f64, workers: u32, duration: Duration, runtimes: u32) -> ClosedLoad {
    let mean = |wanted: &dyn Fn(&Outcome) -> bool| {
        let took: Vec<f64> = records
            .iter()
            .filter_map(|r| r.done.as_ref().filter(|(_, o)| wanted(o)).map(|(done, _)| (*done - r.sent).as_secs_f64()))
            .collect();
        if took.is_empty() {
            REPORT.call_latency()
        } else {
            Duration::from_secs_f64(took.iter().sum::<f64>() / took.len() as f64 * time_scale)
        }
    };
    ClosedLoad {
        workers,
        duration: duration.mul_f64(time_scale),
        runtimes,
        new_session_latency: mean(&|o| *o == Outcome::Ok),
        refusal_latency: mean(&|o| matches!(o, Outcome::Failed(c) if c == QUOTA)),
    }
}

/// Fits every variant to `target` (`(ok, refused)`) over `load` under `policy`, and ranks them by
/// how far their profile is from `seconds`.
#[allow(clippy::too_many_arguments)]
pub fn study(
    fitted_to: &'static str,
    judged_with: QuotaModel,
    run: Totals,
    means: (Duration, Duration),
    seconds: Vec<Second>,
    policy: &SessionPolicy,
    load: &ClosedLoad,
    target: (u64, u64),
) -> QuotaStudy {
    let variants: Vec<VariantFit> = VARIANTS
        .iter()
        .map(|&variant| {
            let fit = eni_model::fit(variant, policy, load, target.0, target.1);
            let simulated = &fit.simulated;
            VariantFit {
                model: fit.model.to_string(),
                predicted: Totals {
                    calls: simulated.calls,
                    ok: simulated.ok,
                    refused: simulated.refused,
                    duration_s: simulated.ended_at.as_secs_f64(),
                },
                distance: fit.distance,
                profile_distance: eni_model::profile_distance(&seconds, &simulated.seconds),
                peak_live: simulated.peak_live,
                seconds: fit.simulated.seconds,
            }
        })
        .collect();
    let closest = variants
        .iter()
        .min_by(|a, b| a.profile_distance.total_cmp(&b.profile_distance))
        .map(|v| v.model.clone())
        .unwrap_or_default();
    QuotaStudy {
        fitted_to,
        judged_with: judged_with.to_string(),
        run,
        mean_ok_s: means.0.as_secs_f64(),
        mean_refused_s: means.1.as_secs_f64(),
        seconds,
        variants,
        closest,
        active_sessions: None,
    }
}

impl QuotaStudy {
    /// The variant the run was judged with, as fitted here.
    fn judged_variant(&self) -> Option<&VariantFit> {
        let name = self.judged_with.split(':').next().unwrap_or_default();
        self.variants.iter().find(|v| v.model.split(':').next() == Some(name))
    }

    /// `--preset report`: the report's table against this run's, each row a verdict within its
    /// tolerance, with the model's prediction (the variant run, over the report's load) beside it.
    pub fn report_checks(&self) -> Vec<Check> {
        let model = self.judged_variant().map(|v| v.predicted);
        let row = |what: &str, report: f64, run: f64, model: Option<f64>, tolerance: f64, unit: &str| {
            let model = model.map_or(String::new(), |m| format!("; model {m:.0}{unit}"));
            Check::new(
                &format!("report's table: {what}"),
                format!("{report:.0}{unit} ± {:.0} % (the report){model}", tolerance * 100.0),
                format!("{run:.0}{unit}"),
                (run - report).abs() <= report * tolerance,
            )
        };
        vec![
            row(
                "calls",
                REPORT.calls as f64,
                self.run.calls as f64,
                model.map(|m| m.calls as f64),
                COUNT_TOLERANCE,
                "",
            ),
            row("successes", REPORT.ok as f64, self.run.ok as f64, model.map(|m| m.ok as f64), COUNT_TOLERANCE, ""),
            row(
                "ServiceQuotaExceededException",
                REPORT.refused as f64,
                self.run.refused as f64,
                model.map(|m| m.refused as f64),
                COUNT_TOLERANCE,
                "",
            ),
            row(
                "duration",
                REPORT.measured.as_secs_f64(),
                self.run.duration_s,
                model.map(|m| m.duration_s),
                DURATION_TOLERANCE,
                " s",
            ),
        ]
    }

    /// Which variant's profile this run's is closest to: under `--preset report` a verdict (the
    /// emulator ran the variant judged with, so it must come out closest), elsewhere information.
    pub fn closest_check(&self, judged: bool) -> Check {
        let ranking: Vec<String> =
            self.variants.iter().map(|v| format!("{} {:.2}", v.model, v.profile_distance)).collect();
        let observed = format!("{} (profile distances: {})", self.closest, ranking.join(", "));
        let name = |model: &str| model.split(':').next().unwrap_or_default().to_string();
        if judged {
            Check::new(
                "quota model closest to this run's per-second profile",
                name(&self.judged_with),
                observed,
                name(&self.closest) == name(&self.judged_with),
            )
        } else {
            Check::info("quota model closest to this run's per-second profile", "(measured)", observed)
        }
    }

    /// CloudWatch's peak of live sessions against the model's on the schedule this run sent
    /// (`predicted_peak`, within `tolerance`): the server's own count, not this code's arithmetic.
    /// A verdict where `judged` (the emulator, which ran the quota model judged with), information
    /// on a real account; and which fitted variants predict the peak CloudWatch saw, within
    /// [`COUNT_TOLERANCE`] (information: the peak tells `lagged` and `per-cell`, which let more than the quota live, from `exact` and
    /// `reclaimed`, which do not).
    pub fn active_session_checks(&self, predicted_peak: u32, tolerance: u64, judged: bool) -> Vec<Check> {
        let what = "live sessions at once (CloudWatch ActiveSessionCount, peak)";
        let Some(active) = &self.active_sessions else {
            return vec![Check::info(what, format!("{predicted_peak} ± {tolerance}"), "(not read)")];
        };
        let expected = format!("{predicted_peak} ± {tolerance} (the model, on the calls sent)");
        let observed = format!("{:.0} ({} datapoints of {} s)", active.peak, active.points.len(), active.period_s);
        let near = |peak: f64| (peak - f64::from(predicted_peak)).abs() <= tolerance as f64;
        let peak_check = if judged {
            Check::new(what, expected, observed, near(active.peak))
        } else {
            Check::info(what, expected, observed)
        };
        // Each variant's peak is a prediction over its fitted load, not the calls sent: the
        // report's count tolerance, or the admission one where larger.
        let within = |v: &&VariantFit| {
            let peak = f64::from(v.peak_live);
            (peak - active.peak).abs() <= (tolerance as f64).max(peak * COUNT_TOLERANCE)
        };
        let fitting: Vec<&str> = self.variants.iter().filter(within).map(|v| v.model.as_str()).collect();
        let peaks: Vec<String> = self.variants.iter().map(|v| format!("{} {}", v.model, v.peak_live)).collect();
        let fitting = if fitting.is_empty() { "none".to_string() } else { fitting.join(", ") };
        let variants = Check::info(
            "quota models whose peak of live sessions is CloudWatch's",
            format!("(predicted peaks: {})", peaks.join(", ")),
            fitting,
        );
        vec![peak_check, variants]
    }

    /// `report.md`'s section.
    pub fn markdown(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Each of eni-model's quota models fitted to {}'s totals; the profile distance is the share of this \
             run's and the prediction's calls that would have to change second or outcome (0 = the same \
             profile). Judged with `{}`; closest: `{}`. This run's successes took {:.2} s and its refusals {:.2} s \
             on average (service time).\n",
            self.fitted_to, self.judged_with, self.closest, self.mean_ok_s, self.mean_refused_s
        );
        let _ = writeln!(out, "![successes and refusals per second](quota-models.svg)\n");
        let _ = writeln!(
            out,
            "| model | calls | successes | refusals | duration | peak live sessions | distance to the totals (calls) | \
             profile distance |\n|---|---|---|---|---|---|---|---|"
        );
        let line = |out: &mut String, name: &str, t: &Totals, peak: String, distance: String, profile: String| {
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {:.1} s | {peak} | {distance} | {profile} |",
                t.calls, t.ok, t.refused, t.duration_s
            );
        };
        if self.fitted_to == "the report" {
            let report = Totals {
                calls: REPORT.calls,
                ok: REPORT.ok,
                refused: REPORT.refused,
                duration_s: REPORT.measured.as_secs_f64(),
            };
            line(&mut out, "**the report**", &report, "(not recorded)".into(), "—".into(), "—".into());
        }
        let peak = self.active_sessions.as_ref().map_or("(not read)".into(), |a| format!("{:.0} (CloudWatch)", a.peak));
        line(&mut out, "**this run**", &self.run, peak, "—".into(), "0".into());
        for v in &self.variants {
            line(
                &mut out,
                &format!("`{}`", v.model),
                &v.predicted,
                v.peak_live.to_string(),
                v.distance.to_string(),
                format!("{:.3}", v.profile_distance),
            );
        }
        out
    }
}

/// `quota-models.svg`: successes per second of this run (thick) and of each variant's prediction,
/// refusals dashed.
pub fn svg(study: &QuotaStudy) -> Result<String, String> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let seconds = study.variants.iter().map(|v| v.seconds.len()).chain([study.seconds.len()]).max().unwrap_or(1);
    let y_max = study
        .variants
        .iter()
        .flat_map(|v| &v.seconds)
        .chain(&study.seconds)
        .map(|s| s.ok.max(s.refused))
        .max()
        .unwrap_or(1) as f64
        * 1.15;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1100, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Calls per second by outcome: this run vs each quota model fitted to {}", study.fitted_to),
                ("sans-serif", 20),
            )
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..seconds as f64, 0f64..y_max.max(1.0))
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("second of the load (service time), by when the call was sent")
            .y_desc("calls per second")
            .draw()
            .map_err(|e| err(&e))?;
        let points = |s: &[Second], ok: bool| -> Vec<(f64, f64)> {
            s.iter().enumerate().map(|(i, s)| (i as f64 + 0.5, f64::from(if ok { s.ok } else { s.refused }))).collect()
        };
        let colours = [RGBColor(120, 120, 120), RGBColor(0, 90, 200), RGBColor(230, 120, 0), RGBColor(150, 0, 150)];
        for (v, colour) in study.variants.iter().zip(colours) {
            chart
                .draw_series(LineSeries::new(points(&v.seconds, true), colour.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(format!("{} (successes; refusals dotted)", v.model))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
            chart
                .draw_series(points(&v.seconds, false).into_iter().map(|p| Circle::new(p, 2, colour.filled())))
                .map_err(|e| err(&e))?;
        }
        let green = RGBColor(0, 150, 60);
        chart
            .draw_series(LineSeries::new(points(&study.seconds, true), green.stroke_width(4)))
            .map_err(|e| err(&e))?
            .label("this run: successes")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], green.stroke_width(4)));
        chart
            .draw_series(LineSeries::new(points(&study.seconds, false), RED.stroke_width(3)))
            .map_err(|e| err(&e))?
            .label("this run: refusals")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(3)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records of a closed load as `simulate` predicts it: one call per worker slot, each
    /// `latency` of service time at `time_scale`.
    fn records_of(simulated: &eni_model::Simulated, origin: Instant, time_scale: f64) -> Vec<CallRecord> {
        let latency = REPORT.call_latency().as_secs_f64();
        let mut out = Vec::new();
        for (second, s) in simulated.seconds.iter().enumerate() {
            for (i, outcome) in
                (0..s.ok).map(|_| Outcome::Ok).chain((0..s.refused).map(|_| Outcome::Failed(QUOTA.into()))).enumerate()
            {
                let sent = second as f64 + i as f64 / f64::from(s.ok + s.refused);
                let wall = |service: f64| origin + Duration::from_secs_f64(service / time_scale);
                out.push(CallRecord {
                    seq: out.len() as u64,
                    session: None,
                    sent: wall(sent),
                    done: Some((wall(sent + latency), outcome)),
                });
            }
        }
        out
    }

    #[test]
    fn a_run_like_the_report_matches_its_table_and_one_like_awss_rule_does_not() {
        let origin = Instant::now();
        let policy = SessionPolicy { max_vms: REPORT.max_vms, ..SessionPolicy::default() };
        let lagged = QuotaChoice::FittedToReport(QuotaModel::Lagged { lag: Duration::ZERO }).resolve();
        for (model, matches) in [(lagged, true), (QuotaModel::Exact, false)] {
            let simulated = eni_model::simulate(&SessionPolicy { quota: model, ..policy }, &REPORT.closed_load());
            let records = records_of(&simulated, origin, 10.0);
            let (totals, seconds) = profile(&records, origin, 10.0);
            assert_eq!((totals.calls, totals.ok, totals.refused), (simulated.calls, simulated.ok, simulated.refused));
            let means = (REPORT.call_latency(), REPORT.call_latency());
            let study = study(
                "the report",
                model,
                totals,
                means,
                seconds,
                &policy,
                &REPORT.closed_load(),
                (REPORT.ok, REPORT.refused),
            );
            let checks = study.report_checks();
            let matched: Vec<bool> = checks.iter().map(|c| c.matched == Some(true)).collect();
            if matches {
                assert_eq!(matched, [true; 4], "{checks:?}");
            } else {
                // AWS's rule admits 500: successes and refusals are off, calls and duration are not.
                assert_eq!(matched, [true, false, false, true], "{checks:?}");
            }
            let closest = study.closest_check(true);
            assert_eq!(closest.matched, Some(true), "{model}: {closest:?}");
            assert!(
                study.markdown().contains("| **the report** | 2148 | 768 | 1380 | 130.8 s |"),
                "{}",
                study.markdown()
            );
            assert!(svg(&study).unwrap().starts_with("<svg"));
        }
    }

    #[test]
    fn the_variant_a_run_follows_comes_out_closest() {
        let origin = Instant::now();
        let policy = SessionPolicy { max_vms: REPORT.max_vms, ..SessionPolicy::default() };
        let reclaimed = QuotaModel::Reclaimed { after: Duration::from_secs(100) };
        let simulated = eni_model::simulate(&SessionPolicy { quota: reclaimed, ..policy }, &REPORT.closed_load());
        let records = records_of(&simulated, origin, 1.0);
        let (totals, seconds) = profile(&records, origin, 1.0);
        // Fitted to the run itself (as with --aws), over a load built from its records.
        let load = load_of(&records, 1.0, REPORT.workers, REPORT.duration, REPORT.runtimes);
        assert!(
            (load.new_session_latency.as_secs_f64() - REPORT.call_latency().as_secs_f64()).abs() < 0.01,
            "{load:?}"
        );
        let means = (load.new_session_latency, load.refusal_latency);
        let study =
            study("this run", QuotaModel::Exact, totals, means, seconds, &policy, &load, (totals.ok, totals.refused));
        assert!(study.closest.starts_with("reclaimed:"), "{:?}", study.closest);
        assert_eq!(study.closest_check(false).matched, None, "information without a known variant");
    }

    #[test]
    fn cloudwatchs_peak_is_judged_against_the_models_and_names_the_variants_it_fits() {
        let policy = SessionPolicy { max_vms: REPORT.max_vms, ..SessionPolicy::default() };
        let run = Totals { calls: REPORT.calls, ok: REPORT.ok, refused: REPORT.refused, duration_s: 130.8 };
        let means = (REPORT.call_latency(), REPORT.call_latency());
        let load = REPORT.closed_load();
        let mut study =
            study("the report", QuotaModel::Exact, run, means, Vec::new(), &policy, &load, (REPORT.ok, REPORT.refused));
        let unread = study.active_session_checks(768, 3, true);
        assert_eq!((unread.len(), unread[0].matched), (1, None), "nothing read, nothing judged");
        let start = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let at = |s: u64| start + Duration::from_secs(s);
        study.active_sessions = Some(ActiveSessions::new(
            Duration::from_secs(60),
            start,
            &[(at(0), 400.0), (at(60), 766.0), (at(120), 766.0)],
        ));
        let [peak, variants] = study.active_session_checks(768, 3, true).try_into().unwrap();
        assert_eq!(peak.matched, Some(true), "{peak:?}");
        assert!(variants.observed.starts_with("lagged:") && !variants.observed.contains("exact"), "{variants:?}");
        assert_eq!(study.active_session_checks(500, 3, true)[0].matched, Some(false), "766 is not 500 ± 3");
        assert_eq!(study.active_session_checks(500, 3, false)[0].matched, None, "information on a real account");
        assert!(study.markdown().contains("| **this run** | 2148 | 768 | 1380 | 130.8 s | 766 (CloudWatch) |"));
    }

    #[test]
    fn a_quota_model_is_given_or_fitted_to_the_report() {
        assert_eq!("exact".parse(), Ok(QuotaChoice::Given(QuotaModel::Exact)));
        assert_eq!("per-cell:3".parse(), Ok(QuotaChoice::Given(QuotaModel::PerCell { cells: 3 })));
        let fitted: QuotaChoice = "reclaimed".parse().unwrap();
        let QuotaModel::Reclaimed { after } = fitted.resolve() else { panic!("{fitted:?}") };
        assert!((95.0..110.0).contains(&after.as_secs_f64()), "{after:?}");
        assert!("sometimes".parse::<QuotaChoice>().unwrap_err().contains("expected exact"));
    }
}
