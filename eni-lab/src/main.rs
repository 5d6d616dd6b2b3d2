//! `eni-lab`: deploy, verify and destroy the report's experiment. Usually run as `cargo xtask verify`.
//!
//! The async runtime, the stop signals and the exit codes live here: 0 success (every phase matched),
//! 1 a mismatch or an error, 2 bad input, 130 / 143 stopped by Ctrl-C / SIGTERM (verify and deploy:
//! the finished phases' results stay written); `destroy` has its own (see its `--help`).

use std::future::Future;

use clap::Parser;
use eni_lab::cli::{Cli, Task};
use eni_lab::error::UsageError;
use eni_lab::verify::Report;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Logs for the commands that create; destroy and iam-policy speak through their own output.
    if !matches!(cli.task, Task::Destroy(_) | Task::IamPolicy(_) | Task::Sessions(_)) {
        init_tracing();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.task {
        Task::Destroy(args) => {
            let code = runtime.block_on(eni_lab::destroy::destroy(&args))?;
            std::process::exit(code)
        }
        Task::AwsSetup(args) => {
            let setup = runtime.block_on(eni_lab::aws::setup(&args))?;
            println!("{}", serde_json::to_string_pretty(&setup)?);
            Ok(())
        }
        Task::PushImage(args) => {
            println!("{}", runtime.block_on(eni_lab::aws::push_image(&args))?);
            Ok(())
        }
        Task::IamPolicy(args) => {
            println!("{}", eni_lab::aws::permissions::print(&args));
            Ok(())
        }
        Task::Sessions(args) => match runtime.block_on(eni_lab::sessions::run(&args)) {
            Ok(()) => Ok(()),
            Err(error) => std::process::exit(exit_code(&error)),
        },
        Task::Verify(args) => std::process::exit(run_phases(&runtime, "verify", eni_lab::verify::verify(args))),
        Task::Deploy(args) => std::process::exit(run_phases(&runtime, "deploy", eni_lab::deploy::deploy(args))),
    }
}

/// Runs `verify` or `deploy` until it ends or a stop signal comes; returns the exit code.
fn run_phases(
    runtime: &tokio::runtime::Runtime,
    command: &str,
    run: impl Future<Output = anyhow::Result<Report>>,
) -> i32 {
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = run => Ok(outcome),
            signal = stop_signal() => Err(signal),
        }
    });
    match outcome {
        Ok(Ok(report)) if report.matched => 0,
        Ok(Ok(_)) => 1,
        Ok(Err(error)) => exit_code(&error),
        Err(signal) => {
            // The run's future is dropped: an embedded emulator stops and its microVMs are killed;
            // report.json/.md were written after every finished phase and stay.
            eprintln!(
                "{command} interrupted ({}): its state file and results are under {}; what it created at an \
                 --endpoint-url or in an account is removed by `cargo xtask destroy` (add --aws for an account; it \
                 finds unfinished runs)",
                signal.name(),
                eni_lab::run::runs_dir().display()
            );
            signal.exit_code()
        }
    }
}

/// The signal that stops a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopSignal {
    /// Ctrl-C.
    Interrupt,
    /// `kill`, a CI job's cancellation, `docker stop`.
    Terminate,
}

impl StopSignal {
    fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
        }
    }

    /// 128 + the signal number, as a shell reports a process the signal ended.
    fn exit_code(self) -> i32 {
        match self {
            StopSignal::Interrupt => 130,
            StopSignal::Terminate => 143,
        }
    }
}

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM: both stop a run the same way.
async fn stop_signal() -> StopSignal {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the run cleanly");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => StopSignal::Interrupt,
        () = terminate => StopSignal::Terminate,
    }
}

/// Prints `error` and picks the exit code (2 for bad input).
fn exit_code(error: &anyhow::Error) -> i32 {
    if error.downcast_ref::<UsageError>().is_some() {
        eprintln!("error: {error}");
        2
    } else {
        eprintln!("error: {error:#}");
        1
    }
}

/// Logs to stderr (`RUST_LOG`, default warnings only).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
