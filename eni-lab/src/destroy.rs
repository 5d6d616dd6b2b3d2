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
//!
//! Fails closed: every delete is preceded by a fresh read of that resource's run tag
//! ([`crate::teardown`]); a state file that cannot be used (unreadable, not JSON, a run id that
//! fails the command line's check, in another run's directory) is reported and skipped while the
//! other runs are destroyed, and the exit status is then [`EXIT_SKIPPED`]. `--all-tagged` lists
//! every run it found by tag, with its resources, and deletes only once confirmed: on a terminal it
//! asks, `--yes` confirms, and without either it refuses ([`EXIT_NOT_CONFIRMED`]).

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context;

use crate::run::{Connection, ConnectionArgs, RunId, runs_dir};
use crate::state::{Resource, RunState, StateFileError};
use crate::teardown::{self, Options};

/// Exit status when resources are left (waiting bounded by `--wait`): finish with `--resume`.
pub const EXIT_LEFT: i32 = 3;
/// Exit status when `--all-tagged` was not confirmed (no terminal to ask on and no `--yes`, or the
/// answer was not yes): nothing was deleted.
pub const EXIT_NOT_CONFIRMED: i32 = 2;
/// Exit status when a state file could not be used and was skipped (the other runs were destroyed).
pub const EXIT_SKIPPED: i32 = 4;

/// Default `--wait` against an endpoint (emulators run lingering on a fast clock).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10 * 60);
/// Default `--wait` with `--aws`: ENIs linger up to 8 h there; destroy reports them and
/// `--resume` finishes later.
pub const DEFAULT_WAIT_AWS: Duration = Duration::from_secs(20 * 60);

#[derive(clap::Args, Clone, Debug)]
#[command(after_help = "Exit status: 0 nothing left, 1 a run could not be torn down, 2 --all-tagged not confirmed \
(nothing deleted), 3 something left (finish with --resume), 4 a state file could not be used and was skipped \
(the other runs were destroyed).\n\
Safety: a resource is deleted only if a fresh read of its agentcore-eni-lab:run-id tag, just before the delete, \
names the run; a missing or different tag, or an error reading it, keeps it (reported).")]
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
    /// `agentcore-eni-lab:run-id` (needs --endpoint-url or --aws). Lists what it found and asks
    /// before deleting (--yes answers; without a terminal and without --yes it refuses, exit 2).
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
    /// Confirm `--all-tagged` without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
}

/// Runs `destroy`; the process exit status: 0 nothing left, 1 a run could not be torn down (errors
/// are printed), [`EXIT_NOT_CONFIRMED`] `--all-tagged` not confirmed, [`EXIT_LEFT`] something left,
/// [`EXIT_SKIPPED`] a state file skipped (and nothing failed).
pub async fn destroy(args: &DestroyArgs) -> anyhow::Result<i32> {
    let explicit = args.connection.connection()?;
    let mut found = targets(args, explicit.as_ref()).await?;
    for note in &found.notes {
        println!("{note}");
    }
    for skipped in &found.skipped {
        eprintln!("skipped {skipped}");
    }
    if !found.by_tag.is_empty() && !args.dry_run {
        println!("{}", sweep_listing(&found.by_tag));
        if let Err(declined) = confirm_sweep(args.yes) {
            eprintln!("error: {declined}");
            return Ok(EXIT_NOT_CONFIRMED);
        }
    }
    let skipped = found.skipped.len();
    let targets = &mut found.states;
    if targets.is_empty() {
        let mut message = format!("nothing to destroy: no unfinished run under {}", runs_dir().display());
        if !args.all_tagged {
            message.push_str(" (--all-tagged with --endpoint-url or --aws also sweeps runs found by tag)");
        }
        println!("{message}");
        return Ok(if skipped > 0 { EXIT_SKIPPED } else { 0 });
    }
    let aws = targets.iter().any(|s| matches!(s.connection, Connection::Aws { .. }));
    let wait = args.wait.unwrap_or(if aws { DEFAULT_WAIT_AWS } else { DEFAULT_WAIT });
    let options = Options { wait, poll: args.poll };
    let mut left: Vec<(RunId, String, String, String)> = Vec::new();
    let mut failed = 0;
    for state in targets.iter_mut() {
        match destroy_run(state, explicit.as_ref(), &options, args.dry_run).await {
            Ok(run_left) => {
                left.extend(run_left.into_iter().map(|(kind, id, why)| (state.run_id.clone(), kind, id, why)))
            }
            Err(error) => {
                failed += 1;
                eprintln!("run {}: {error:#}", state.run_id);
            }
        }
    }
    if args.dry_run {
        return Ok(if skipped > 0 { EXIT_SKIPPED } else { 0 });
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
    if skipped > 0 {
        eprintln!("{skipped} state file(s) skipped (see above): fix or remove them, then run destroy again");
    }
    Ok(if failed > 0 {
        1
    } else if skipped > 0 {
        EXIT_SKIPPED
    } else if left.is_empty() {
        0
    } else {
        EXIT_LEFT
    })
}

/// What destroy works on.
#[derive(Default)]
struct Targets {
    states: Vec<RunState>,
    /// State files that could not be used.
    skipped: Vec<StateFileError>,
    /// `--all-tagged`: every run found by tag, with what it has.
    by_tag: Vec<(RunId, Vec<Resource>)>,
    notes: Vec<String>,
}

impl Targets {
    /// The run's state file if there is one (a file that cannot be used is skipped: `None`), else a
    /// fresh state for `connection`.
    fn state_of(&mut self, run: RunId, connection: Option<&Connection>) -> anyhow::Result<Option<RunState>> {
        let path = RunState::path(&run);
        if path.is_file() {
            return Ok(match RunState::load(&path) {
                Ok(state) => Some(state),
                Err(error) => {
                    self.skipped.push(error);
                    None
                }
            });
        }
        let connection = connection
            .cloned()
            .ok_or_else(|| need_connection(&format!("run {run} has no state file ({})", path.display())))?;
        Ok(Some(RunState::new(run, connection)))
    }
}

fn need_connection(what: &str) -> anyhow::Error {
    anyhow::anyhow!("{what}: give --endpoint-url URL (an emulator) or --aws (a real account) to find it by tag")
}

/// The runs to tear down (see the module docs).
async fn targets(args: &DestroyArgs, explicit: Option<&Connection>) -> anyhow::Result<Targets> {
    let mut found = Targets::default();
    if let Some(id) = &args.run_id {
        let run = RunId::parse(id)?;
        if let Some(state) = found.state_of(run, explicit)? {
            found.states.push(state);
        }
    } else {
        let unfinished = RunState::unfinished()?;
        found.states = unfinished.states;
        found.skipped = unfinished.skipped;
    }
    if args.all_tagged {
        let connection = explicit.cloned().ok_or_else(|| need_connection("--all-tagged"))?;
        let sdk = connection.sdk_config().await;
        for (run, resources) in teardown::discover_all(&sdk).await? {
            if args.run_id.as_ref().is_some_and(|id| id != run.as_str()) {
                continue;
            }
            found.notes.push(format!("found by tag: run {run} ({} resource(s))", resources.len()));
            found.by_tag.push((run.clone(), resources));
            if found.states.iter().any(|s| s.run_id == run) {
                continue;
            }
            if let Some(state) = found.state_of(run, Some(&connection))? {
                found.states.push(state);
            }
        }
    }
    // An explicit connection picks the runs of its kind (and replaces their recorded endpoint or
    // region); a run made elsewhere is left for another invocation.
    if let Some(explicit) = explicit {
        let notes = &mut found.notes;
        found.states.retain(|state| {
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
    Ok(found)
}

/// What `--all-tagged` found, run by run, for the confirmation.
fn sweep_listing(by_tag: &[(RunId, Vec<Resource>)]) -> String {
    let total: usize = by_tag.iter().map(|(_, resources)| resources.len()).sum();
    let mut out = format!(
        "--all-tagged: {} run(s) found by tag, {total} resource(s) to delete (each checked again just before):",
        by_tag.len()
    );
    for (run, resources) in by_tag {
        let _ = write!(out, "\n  run {run}");
        for resource in resources {
            let _ = write!(out, "\n    {:<16} {}", kind_name(resource), resource.id);
        }
    }
    out
}

/// Why `--all-tagged` deletes nothing.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SweepDeclined {
    #[error(
        "--all-tagged deletes every run listed above (found by tag: maybe another machine's or another person's); \
         stdin is not a terminal to confirm on: pass --yes to confirm, or --dry-run to only list"
    )]
    NotInteractive,
    #[error("--all-tagged not confirmed: nothing was deleted")]
    Refused,
}

/// Asks y/N on stdin for `--all-tagged`, unless `yes`.
fn confirm_sweep(yes: bool) -> Result<(), SweepDeclined> {
    if yes {
        println!("(--yes: going ahead)");
        return Ok(());
    }
    match crate::aws::notice::ask_yes_no("Delete them? [y/N] ") {
        None => Err(SweepDeclined::NotInteractive),
        Some(false) => Err(SweepDeclined::Refused),
        Some(true) => Ok(()),
    }
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

/// Tears one run down; returns what is left as (kind, id, why): resources, and listings by tag
/// that failed (kind `search`).
async fn destroy_run(
    state: &mut RunState,
    explicit: Option<&Connection>,
    options: &Options,
    dry_run: bool,
) -> anyhow::Result<Vec<(String, String, String)>> {
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
    for gap in &report.unsearched {
        println!("  not searched: {gap}");
    }
    println!(
        "  {} deleted, {} left ({:.1} s){}",
        report.deleted.len(),
        report.left.len(),
        report.waited.as_secs_f64(),
        if state.finished { "; run finished" } else { "" }
    );
    let mut left: Vec<(String, String, String)> =
        report.left.into_iter().map(|(r, why)| (kind_name(&r), r.id, why)).collect();
    left.extend(report.unsearched.into_iter().map(|gap| ("search".to_owned(), "-".to_owned(), gap)));
    Ok(left)
}

fn kind_name(resource: &Resource) -> String {
    kind_name_of(resource.kind)
}

fn kind_name_of(kind: crate::state::Kind) -> String {
    teardown::kind_label(kind)
}

fn left_table(left: &[(RunId, String, String, String)]) -> String {
    let mut out = format!("{:<20}  {:<16}  {:<28}  why\n", "run", "kind", "id");
    for (run, kind, id, why) in left {
        let _ = writeln!(out, "{:<20}  {kind:<16}  {id:<28}  {why}", run.as_str());
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
