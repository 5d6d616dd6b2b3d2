//! `eni-lab destroy` (`cargo xtask destroy`): finishes what runs left, by state file and by tag.
//!
//! Targets: `--run-id ID`, or every unfinished run under `target/verify/` (state files), plus with
//! `--all-tagged` every run id found on resources tagged [`RUN_TAG`](crate::run::RUN_TAG) (runs
//! without a state file here: another machine's, a deleted `target/`). Each run is torn down with
//! [`crate::teardown::teardown`], which also finds what carries the run's tag but is missing from
//! the state file.
//!
//! Waiting is bounded by `--wait` (lingering `agentic_ai` ENIs can take up to 8 hours on AWS): when
//! it passes, what is left stays in the state file, is printed with the reason, and destroy exits
//! with [`EXIT_LEFT`] advising `cargo xtask destroy --resume`. Running destroy again is always safe:
//! a run with nothing left is marked finished and a second destroy finds nothing (exit 0).
//!
//! A run made with the embedded emulator (`Connection::Embedded`) had its resources inside the
//! verify process: once that process is gone nothing is left, so it is marked finished with a note.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context;

use crate::run::{Connection, ConnectionArgs, RunId, runs_dir};
use crate::state::{Resource, RunState};
use crate::teardown::{self, Options};

/// Exit status when resources are left (waiting bounded by `--wait`): finish with `--resume`.
pub const EXIT_LEFT: i32 = 3;

/// Default `--wait` against an endpoint (emulators run lingering on a fast clock).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10 * 60);
/// Default `--wait` with `--aws`: ENIs linger up to 8 h there; destroy reports them and
/// `--resume` finishes later.
pub const DEFAULT_WAIT_AWS: Duration = Duration::from_secs(20 * 60);

#[derive(clap::Args, Clone, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Only this run: its state file under target/verify/ (if any) and whatever carries its tag.
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Finish what an earlier destroy or verify left (the unfinished runs under target/verify/, or
    /// `--run-id`). Destroy is idempotent, so this is a plain destroy, spelled out.
    #[arg(long)]
    pub resume: bool,
    /// Also sweep runs with no state file here: every run id found on resources tagged
    /// `agentcore-eni-lab:run-id` (needs --endpoint-url or --aws).
    #[arg(long)]
    pub all_tagged: bool,
    /// Stop waiting (for runtimes, lingering agentic_ai ENIs, NAT gateways) after this long, record
    /// what is left and exit 3 [default: 10m, 20m with --aws].
    #[arg(long, value_parser = duration_flag::parse, value_name = "DURATION")]
    pub wait: Option<Duration>,
    /// Interval between status polls.
    #[arg(long, value_parser = duration_flag::parse, default_value = "2s", value_name = "DURATION")]
    pub poll: Duration,
    /// List what would be deleted and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `destroy`; the process exit status: 0 nothing left, [`EXIT_LEFT`] something left,
/// 1 a run could not be torn down (errors are printed).
pub async fn destroy(args: &DestroyArgs) -> anyhow::Result<i32> {
    let explicit = args.connection.connection()?;
    let mut notes = Vec::new();
    let mut targets = targets(args, explicit.as_ref(), &mut notes).await?;
    for note in &notes {
        println!("{note}");
    }
    if targets.is_empty() {
        let mut message = format!("nothing to destroy: no unfinished run under {}", runs_dir().display());
        if !args.all_tagged {
            message.push_str(" (--all-tagged with --endpoint-url or --aws also sweeps runs found by tag)");
        }
        println!("{message}");
        return Ok(0);
    }
    let aws = targets.iter().any(|s| matches!(s.connection, Connection::Aws { .. }));
    let wait = args.wait.unwrap_or(if aws { DEFAULT_WAIT_AWS } else { DEFAULT_WAIT });
    let options = Options { wait, poll: args.poll };
    let mut left: Vec<(RunId, Resource, String)> = Vec::new();
    let mut failed = 0;
    for state in &mut targets {
        match destroy_run(state, explicit.as_ref(), &options, args.dry_run).await {
            Ok(run_left) => left.extend(run_left.into_iter().map(|(r, why)| (state.run_id.clone(), r, why))),
            Err(error) => {
                failed += 1;
                eprintln!("run {}: {error:#}", state.run_id);
            }
        }
    }
    if args.dry_run {
        return Ok(0);
    }
    if !left.is_empty() {
        println!("\n{}", left_table(&left));
        let mut resume = "cargo xtask destroy --resume".to_string();
        if let Some(run) = &args.run_id {
            let _ = write!(resume, " --run-id {run}");
        }
        if aws {
            resume.push_str(" --aws");
        }
        println!(
            "{} resource(s) left after waiting up to {} s; they are recorded in the state file(s). Finish later with:\n  {resume}",
            left.len(),
            wait.as_secs()
        );
    }
    Ok(if failed > 0 {
        1
    } else if left.is_empty() {
        0
    } else {
        EXIT_LEFT
    })
}

/// The runs to tear down (see the module docs).
async fn targets(
    args: &DestroyArgs,
    explicit: Option<&Connection>,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<RunState>> {
    let need_connection = |what: &str| {
        anyhow::anyhow!("{what}: give --endpoint-url URL (an emulator) or --aws (a real account) to find it by tag")
    };
    let mut targets = Vec::new();
    if let Some(id) = &args.run_id {
        let run = RunId::parse(id)?;
        let path = RunState::path(&run);
        let state = if path.is_file() {
            RunState::load(&path)?
        } else {
            let connection = explicit
                .cloned()
                .ok_or_else(|| need_connection(&format!("run {run} has no state file ({})", path.display())))?;
            RunState::new(run, connection)
        };
        targets.push(state);
    } else {
        targets = RunState::unfinished()?;
    }
    if args.all_tagged {
        let connection = explicit.cloned().ok_or_else(|| need_connection("--all-tagged"))?;
        let sdk = connection.sdk_config().await;
        for (run, resources) in teardown::discover_all(&sdk).await? {
            if args.run_id.as_ref().is_some_and(|id| id != run.as_str()) {
                continue;
            }
            notes.push(format!("found by tag: run {run} ({} resource(s))", resources.len()));
            if targets.iter().any(|s| s.run_id == run) {
                continue;
            }
            let path = RunState::path(&run);
            let state = if path.is_file() { RunState::load(&path)? } else { RunState::new(run, connection.clone()) };
            targets.push(state);
        }
    }
    // An explicit connection picks the runs of its kind (and replaces their recorded endpoint or
    // region); a run made elsewhere is left for another invocation.
    if let Some(explicit) = explicit {
        targets.retain(|state| {
            let same = matches!(
                (&state.connection, explicit),
                (Connection::Embedded, _)
                    | (Connection::Endpoint { .. }, Connection::Endpoint { .. })
                    | (Connection::Aws { .. }, Connection::Aws { .. })
            );
            if !same {
                notes.push(format!(
                    "run {}: made with {}, skipped (run destroy with {} for it)",
                    state.run_id,
                    describe(&state.connection),
                    if matches!(state.connection, Connection::Aws { .. }) { "--aws" } else { "its --endpoint-url" }
                ));
            }
            same
        });
    }
    Ok(targets)
}

fn describe(connection: &Connection) -> String {
    match connection {
        Connection::Embedded => "the embedded emulator".into(),
        Connection::Endpoint { url, .. } => format!("endpoint {url}"),
        Connection::Aws { region, profile } => format!(
            "AWS (region {}, profile {})",
            region.as_deref().unwrap_or("from the environment"),
            profile.as_deref().unwrap_or("default")
        ),
    }
}

/// Tears one run down; returns what is left.
async fn destroy_run(
    state: &mut RunState,
    explicit: Option<&Connection>,
    options: &Options,
    dry_run: bool,
) -> anyhow::Result<Vec<(Resource, String)>> {
    let run = state.run_id.clone();
    let connection = match (&state.connection, explicit) {
        (Connection::Embedded, _) => {
            if dry_run {
                println!("run {run}: embedded emulator, nothing left to delete");
            } else {
                state.phase = "destroy".into();
                state.finished = true;
                state.save()?;
                println!(
                    "run {run}: its resources lived in an embedded emulator, gone with the process that ran it; marked finished"
                );
            }
            return Ok(Vec::new());
        }
        (_, Some(explicit)) => explicit.clone(),
        (recorded, None) => recorded.clone(),
    };
    let sdk = connection.sdk_config().await;
    if dry_run {
        let mut would: Vec<Resource> = state.live().cloned().collect();
        for found in
            teardown::discover(&sdk, &run).await.with_context(|| format!("looking for run {run}'s resources"))?
        {
            if !would.iter().any(|r| r.kind == found.kind && r.id == found.id) {
                would.push(found);
            }
        }
        would.sort_by_key(|r| std::cmp::Reverse(r.kind));
        println!("run {run} ({}): {} resource(s) would be deleted, in this order", describe(&connection), would.len());
        for resource in &would {
            println!("  {:<16} {}", kind_name(resource), resource.id);
        }
        return Ok(Vec::new());
    }
    println!("run {run} ({}): destroying", describe(&connection));
    state.set_phase("destroy")?;
    let report = teardown::teardown(&sdk, state, options).await.with_context(|| format!("tearing run {run} down"))?;
    for refusal in &report.refusals {
        println!(
            "  {} {} refused after {:.1} s: {}: {}",
            kind_name_of(refusal.kind),
            refusal.id,
            refusal.after.as_secs_f64(),
            refusal.code,
            refusal.message
        );
    }
    if let Some(after) = report.enis_gone_after {
        let since = if report.runtimes_deleted_at.is_some() { "the runtimes were deleted" } else { "destroy started" };
        println!("  agentic_ai ENIs gone {:.1} s after {since}", after.as_secs_f64());
    }
    println!(
        "  {} deleted, {} left ({:.1} s){}",
        report.deleted.len(),
        report.left.len(),
        report.waited.as_secs_f64(),
        if state.finished { "; run finished" } else { "" }
    );
    Ok(report.left)
}

fn kind_name(resource: &Resource) -> String {
    kind_name_of(resource.kind)
}

fn kind_name_of(kind: crate::state::Kind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{kind:?}"))
}

fn left_table(left: &[(RunId, Resource, String)]) -> String {
    let mut out = format!("{:<20}  {:<16}  {:<28}  why\n", "run", "kind", "id");
    for (run, resource, why) in left {
        let _ = writeln!(out, "{:<20}  {:<16}  {:<28}  {why}", run.as_str(), kind_name(resource), resource.id);
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: DestroyArgs,
    }

    #[test]
    fn waits_take_the_workspace_duration_grammar() {
        let args = |argv: &[&str]| Cli::try_parse_from([&["destroy"], argv].concat()).map(|cli| cli.args);
        let parsed = args(&["--wait", "1d", "--poll", "1.5"]).unwrap();
        assert_eq!((parsed.wait, parsed.poll), (Some(Duration::from_secs(86_400)), Duration::from_millis(1500)));
        assert_eq!(args(&["--wait", "1h30m"]).unwrap().wait, Some(Duration::from_secs(5400)));
        assert_eq!(args(&[]).unwrap().poll, Duration::from_secs(2));
        let error = args(&["--wait", "soon"]).err().unwrap().to_string();
        assert!(error.contains(duration_flag::GRAMMAR), "{error}");
    }
}
