//! `cargo xtask bench criterion`: runs `cargo bench -p benches --bench '*'` (model, watch, loadgen)
//! and reads the figures the issues set targets for from `target/criterion/<bench>/new/estimates.json` and
//! `benchmark.json` (criterion's typical time: the slope estimate, or the mean when there is none).
//! With `--quick`, criterion runs 10 samples with 1 s of warm-up and 1 s of measurement each.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;

use super::results::{number_at, read_json};
use super::settings::Settings;
use super::summary::{Better, Reference, Row};
use crate::util::{self, cargo, project_root};

const BENCH: &str = "criterion";

/// What the issues ask of the criterion benches.
struct Goal {
    comparison: &'static str,
    /// The bench's directory under `target/criterion/` (its id with `/` and `:` replaced by `_`).
    directory: &'static str,
    measure: Measure,
    better: Better,
    target: f64,
}

#[derive(Clone, Copy)]
enum Measure {
    /// Milliseconds per iteration.
    Milliseconds,
    /// Elements per second (the bench declares `Throughput::Elements`).
    ElementsPerSecond,
}

const GOALS: [Goal; 4] = [
    Goal {
        comparison: "eni-model plan: 100k runtimes, 1k subnets, 200 SG sets",
        directory: "plan_100k runtimes, 1k subnets, 200 SG sets",
        measure: Measure::Milliseconds,
        better: Better::Lower,
        target: 20.0,
    },
    Goal {
        comparison: "eni-model admission: 1M invocations",
        directory: "admit_1M invocations",
        measure: Measure::Milliseconds,
        better: Better::Lower,
        target: 50.0,
    },
    Goal {
        comparison: "eni-watch diff + verdict, 10k ENIs",
        directory: "watch_diff + verdict 10k ENIs",
        measure: Measure::Milliseconds,
        better: Better::Lower,
        target: 5.0,
    },
    Goal {
        comparison: "loadgen noop generator, closed c=2 (CLI default)",
        directory: "loadgen noop/closed c=2, per-request timeout (CLI default)",
        measure: Measure::ElementsPerSecond,
        better: Better::Higher,
        target: 1_000_000.0,
    },
];

pub fn run(args: &Settings) -> anyhow::Result<Vec<Row>> {
    let started = SystemTime::now();
    let mut bench = cargo();
    // Only the `[[bench]]` targets: the library's test harness would refuse criterion's options.
    bench.args(["bench", "--locked", "-p", "benches", "--bench", "*"]);
    if args.quick {
        bench.args(["--", "--warm-up-time", "1", "--measurement-time", "1", "--sample-size", "10"]);
    }
    util::run(&mut bench)?;
    let criterion = project_root().join("target").join("criterion");
    Ok(GOALS.iter().map(|goal| row(goal, &criterion, started)).collect())
}

fn row(goal: &Goal, criterion: &Path, not_before: SystemTime) -> Row {
    let (unit, better) = match goal.measure {
        Measure::Milliseconds => ("ms", goal.better),
        Measure::ElementsPerSecond => ("req/s", goal.better),
    };
    match figure(goal, &criterion.join(goal.directory).join("new"), not_before) {
        Ok(ours) => Row::measured(BENCH, goal.comparison, unit, better, ours, Reference::target(goal.target)),
        Err(error) => Row::skipped(BENCH, goal.comparison, format!("{error:#}")),
    }
}

/// The goal's figure from one bench's `new/` directory, refusing estimates older than this run.
fn figure(goal: &Goal, new: &Path, not_before: SystemTime) -> anyhow::Result<f64> {
    let estimates_path = new.join("estimates.json");
    let modified = fs::metadata(&estimates_path)
        .and_then(|m| m.modified())
        .with_context(|| format!("no estimates at {}", estimates_path.display()))?;
    anyhow::ensure!(modified >= not_before, "{} is from an earlier run", estimates_path.display());
    let estimates = fs::read_to_string(&estimates_path)?;
    let nanoseconds = typical_nanoseconds(&estimates)
        .with_context(|| format!("no slope or mean point estimate in {}", estimates_path.display()))?;
    Ok(match goal.measure {
        Measure::Milliseconds => nanoseconds / 1e6,
        Measure::ElementsPerSecond => {
            let benchmark = read_json(&new.join("benchmark.json"))?;
            let elements =
                number_at(&benchmark, "/throughput/Elements").context("the bench declares no Throughput::Elements")?;
            elements / (nanoseconds / 1e9)
        }
    })
}

/// Criterion's typical time per iteration in nanoseconds: the slope (linear sampling), else the mean
/// (`"slope": null` when criterion used flat sampling).
fn typical_nanoseconds(estimates: &str) -> Option<f64> {
    let estimates: serde_json::Value = serde_json::from_str(estimates).ok()?;
    ["/slope/point_estimate", "/mean/point_estimate"]
        .into_iter()
        .find_map(|pointer| estimates.pointer(pointer)?.as_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::summary::{Outcome, Verdict};

    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":18969230.4,"upper_bound":20142862.5},"point_estimate":19544471.85,"standard_error":299453.8},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":19435927.87,"standard_error":1.0},"slope":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":20362928.46,"standard_error":1.0}}"#;

    #[test]
    fn typical_time_is_the_slope_else_the_mean() {
        assert_eq!(typical_nanoseconds(ESTIMATES), Some(20362928.46));
        let flat = ESTIMATES.replace(r#""slope":{"#, r#""slope":null,"unused":{"#);
        assert_eq!(typical_nanoseconds(&flat), Some(19544471.85));
        assert_eq!(typical_nanoseconds("{}"), None);
        // A slope without a point estimate: the mean's, not the next object's that has one.
        let odd = r#"{"slope":{"standard_error":1.0},"median":{"point_estimate":7.0},"mean":{"point_estimate":5.0}}"#;
        assert_eq!(typical_nanoseconds(odd), Some(5.0));
    }

    fn bench_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-criterion-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_milliseconds_and_throughput_against_their_targets() {
        let before = SystemTime::now() - std::time::Duration::from_secs(5);
        let criterion = bench_dir("read");
        for goal in &GOALS {
            let new = criterion.join(goal.directory).join("new");
            fs::create_dir_all(&new).unwrap();
            fs::write(new.join("estimates.json"), ESTIMATES).unwrap();
            // The title names "Elements" too: only the throughput's counts.
            let benchmark = r#"{"group_id":"g","title":"Elements","throughput":{"Elements":200000}}"#;
            fs::write(new.join("benchmark.json"), benchmark).unwrap();
        }
        let rows: Vec<Row> = GOALS.iter().map(|goal| row(goal, &criterion, before)).collect();
        let ours: Vec<f64> = rows
            .iter()
            .map(|r| match r.outcome {
                Outcome::Measured { ours, .. } => ours,
                _ => panic!("{r:?}"),
            })
            .collect();
        // 20.36 ms per iteration: over plan's 20 ms and watch's 5 ms, under admission's 50 ms; 200,000
        // requests in 20.36 ms is 9.8 M/s, over the generator's 1 M/s.
        assert!((ours[0] - 20.363).abs() < 0.001, "{ours:?}");
        assert!((ours[3] - 9_821_771.0).abs() < 10.0, "{ours:?}");
        assert_eq!(
            rows.iter().map(Row::verdict).collect::<Vec<_>>(),
            [Verdict::Missed, Verdict::Met, Verdict::Missed, Verdict::Met]
        );
        assert_eq!((rows[0].unit, rows[3].unit), ("ms", "req/s"));
        fs::remove_dir_all(&criterion).unwrap();
    }

    #[test]
    fn missing_or_stale_estimates_are_skipped_rows() {
        let dir = bench_dir("stale");
        let missing = row(&GOALS[0], &dir, SystemTime::now());
        assert_eq!(missing.verdict(), Verdict::Skipped);
        assert!(matches!(&missing.outcome, Outcome::Skipped(why) if why.starts_with("no estimates at")));

        fs::create_dir_all(dir.join(GOALS[1].directory).join("new")).unwrap();
        fs::write(dir.join(GOALS[1].directory).join("new").join("estimates.json"), ESTIMATES).unwrap();
        let stale = row(&GOALS[1], &dir, SystemTime::now() + std::time::Duration::from_secs(60));
        assert!(matches!(&stale.outcome, Outcome::Skipped(why) if why.ends_with("is from an earlier run")));
        fs::remove_dir_all(&dir).unwrap();
    }
}
