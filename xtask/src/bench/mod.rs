//! `cargo xtask bench [TARGET…]`: side-by-side comparisons that run real processes on loopback, and the
//! criterion benches of `benches/`, ending with one summary table of ratios against the peers and the
//! issues' targets (also written to `target/bench/summary.json` and `summary.md`).
//!
//! Each comparison module prints its own detailed table and returns its rows for the summary. A
//! comparison whose peer is missing (no wrk, no Python venv, a failed build) becomes a "skipped" row; the
//! other comparisons still run.

mod agent;
mod criterion;
mod emulator;
mod loadgen;
mod process;
mod results;
mod settings;
mod summary;

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use std::{fs, thread};

use settings::Settings;
use summary::Row;

use crate::util::project_root;

#[derive(clap::Args)]
pub struct Args {
    /// What to run; none (or `all`) runs every comparison and the criterion benches.
    #[arg(value_enum)]
    pub targets: Vec<Target>,
    /// Smoke run: 2 s per load case, 2 start-ups, 50 live microVMs, short criterion timings. The figures
    /// are not for the record.
    #[arg(long)]
    pub quick: bool,
    /// Load per case (`10s`, `1m`, or bare seconds; the load tools take whole seconds, so it is
    /// rounded up) [default: 10s, 2s with --quick].
    #[arg(long, value_parser = duration_flag::parse_positive, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// Concurrent connections of the load tool.
    #[arg(long, default_value_t = 50)]
    pub connections: u32,
    /// Threads of the load tool (it shares the machine's cores with the servers under test).
    #[arg(long, default_value_t = 1)]
    pub threads: u32,
    /// Start-ups timed per server (the median is reported) [default: 5, 2 with --quick].
    #[arg(long)]
    pub startups: Option<u32>,
    /// `bench agent`: target triple of the dummy-agent build to measure, e.g. `x86_64-unknown-linux-musl`
    /// for the static build the container ships (default: the host build agentcore-local runs).
    #[arg(long)]
    pub agent_target: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// agent, emulator, loadgen and criterion.
    All,
    /// dummy-agent against the seed experiment's FastAPI agent (uvicorn plain and `uvicorn[standard]`).
    Agent,
    /// agentcore-local's data plane: warm invocations/s, new-session latency, RSS of 500 microVMs.
    Emulator,
    /// loadgen's http target vs wrk (and oha if installed), open-model accuracy at 2,000/s, and the
    /// agentcore target vs a 50-thread boto3 pool against agentcore-local.
    Loadgen,
    /// `cargo bench -p benches` (model plan and admission, watch diff + verdict, loadgen noop), read
    /// from `target/criterion/*/new/estimates.json`.
    Criterion,
}

impl Target {
    const EVERY: [Target; 4] = [Target::Agent, Target::Emulator, Target::Loadgen, Target::Criterion];

    fn name(self) -> &'static str {
        match self {
            Target::All => "all",
            Target::Agent => "agent",
            Target::Emulator => "emulator",
            Target::Loadgen => "loadgen",
            Target::Criterion => "criterion",
        }
    }
}

impl Settings {
    /// The settings `args` ask for, `--quick` applied.
    fn new(args: &Args) -> Settings {
        let quick = args.quick;
        Settings {
            quick,
            duration: args
                .duration
                .map_or(if quick { 2 } else { 10 }, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0)),
            connections: args.connections,
            threads: args.threads,
            startups: args.startups.unwrap_or(if quick { 2 } else { 5 }),
            agent_target: args.agent_target.clone(),
        }
    }
}

/// The targets to run, in order, without repeats; none or `all` means every one.
fn selected(targets: &[Target]) -> Vec<Target> {
    if targets.is_empty() || targets.contains(&Target::All) {
        return Target::EVERY.to_vec();
    }
    Target::EVERY.into_iter().filter(|t| targets.contains(t)).collect()
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let settings = Settings::new(args);
    let out_dir = project_root().join("target").join("bench");
    let mut info = summary::RunInfo {
        quick: settings.quick,
        cores: thread::available_parallelism().map_or(0, |n| n.get()),
        load_average: fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next().map(str::to_owned))
            .unwrap_or_else(|| "?".to_owned()),
        finished_at: 0,
    };
    let mut rows: Vec<Row> = Vec::new();
    for target in selected(&args.targets) {
        eprintln!("\n===== cargo xtask bench {}{}", target.name(), if settings.quick { " (--quick)" } else { "" });
        let result = match target {
            Target::Agent => agent::run(&settings),
            Target::Emulator => emulator::run(&settings),
            Target::Loadgen => loadgen::run(&settings),
            Target::Criterion => criterion::run(&settings),
            Target::All => unreachable!("`selected` expands `all`"),
        };
        match result {
            Ok(measured) => rows.extend(measured),
            Err(error) => {
                eprintln!("bench {} skipped: {error:#}", target.name());
                rows.push(Row::skipped(target.name(), "every comparison of this bench", one_line(&error)));
            }
        }
        info.finished_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        summary::write(&out_dir, &info, &rows)?;
    }
    print!("{}", summary::render_terminal(&info, &rows));
    eprintln!("(also written to {} and summary.md)", out_dir.join("summary.json").display());
    Ok(())
}

/// The error chain on one line, without the long outputs some errors carry.
fn one_line(error: &anyhow::Error) -> String {
    let text = format!("{error:#}").replace('\n', " ");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 160 { format!("{}…", text.chars().take(160).collect::<String>()) } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_target_or_all_runs_every_bench_once_in_order() {
        assert_eq!(selected(&[]), Target::EVERY);
        assert_eq!(selected(&[Target::Loadgen, Target::All]), Target::EVERY);
        assert_eq!(selected(&[Target::Criterion, Target::Agent, Target::Agent]), [Target::Agent, Target::Criterion]);
    }

    #[test]
    fn quick_shortens_only_what_was_not_given() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let settings = |argv: &[&str]| Settings::new(&Cli::parse_from(argv).args);
        let full = settings(&["bench", "agent"]);
        assert_eq!((full.quick, full.duration, full.startups), (false, 10, 5));
        let quick = settings(&["bench", "--quick"]);
        assert_eq!((quick.quick, quick.duration, quick.startups), (true, 2, 2));
        let quick = settings(&["bench", "--quick", "--duration", "5"]);
        assert_eq!(quick.duration, 5);
        assert_eq!(settings(&["bench", "--duration", "1m"]).duration, 60);
        assert_eq!(settings(&["bench", "--duration", "1h30m"]).duration, 5400);
        assert_eq!(settings(&["bench", "--duration", "1d"]).duration, 86_400);
        assert_eq!(settings(&["bench", "--duration", "1.5"]).duration, 2, "rounded up to whole seconds");
        assert_eq!(settings(&["bench", "--duration", "500ms"]).duration, 1);
        assert!(Cli::try_parse_from(["bench", "--duration", "0s"]).is_err());
    }

    #[test]
    fn a_failed_bench_reads_as_one_skipped_line() {
        let error = anyhow::anyhow!("`wrk` is not on PATH").context("the bench drives load with wrk");
        assert_eq!(one_line(&error), "the bench drives load with wrk: `wrk` is not on PATH");
        let long = anyhow::anyhow!("{}", "x ".repeat(200));
        assert!(one_line(&long).ends_with('…'));
    }
}
