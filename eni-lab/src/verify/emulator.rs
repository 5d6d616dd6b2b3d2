//! The embedded agentcore-local: started in this process on a free loopback port, with the
//! workspace's dummy-agent as the microVM program (built on demand), on a fast clock.

use std::time::Duration;

use agentcore_local::{AgentCommand, Clock, Config, EniPolicy, Handle};
use anyhow::Context;

use super::settings::Settings;

/// What the embedded emulator is started with (beyond [`Settings`]).
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    pub eni_policy: EniPolicy,
    /// `--agent-cmd`; `None`: dummy-agent.
    pub agent_command: Option<String>,
}

/// The microVM program: `--agent-cmd`, else dummy-agent (next to this binary or on PATH), built with
/// `cargo build -p dummy-agent --bin dummy-agent` when it is not found.
pub fn agent_command(given: Option<&str>) -> anyhow::Result<AgentCommand> {
    if let Some(line) = given {
        return AgentCommand::parse(line).map_err(|why| anyhow::anyhow!("--agent-cmd: {why}"));
    }
    match AgentCommand::resolve_default() {
        Ok(command) => Ok(command),
        Err(why) => {
            eprintln!("{why}");
            eprintln!("building it: cargo build -p dummy-agent --bin dummy-agent");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args(["build", "-p", "dummy-agent", "--bin", "dummy-agent"])
                .current_dir(crate::run::project_root())
                .status()
                .context("could not run cargo to build dummy-agent")?;
            anyhow::ensure!(status.success(), "cargo build -p dummy-agent failed ({status})");
            AgentCommand::resolve_default().map_err(|why| anyhow::anyhow!("dummy-agent still not found: {why}"))
        }
    }
}

/// The emulator configuration for `settings`.
pub fn config(settings: &Settings, options: &EmulatorOptions, agent: AgentCommand) -> anyhow::Result<Config> {
    Ok(Config {
        clock: Clock::scaled(settings.time_scale)?,
        status_delay: settings.status_delay,
        eni_linger: settings.eni_linger,
        eni_policy: options.eni_policy,
        max_vms: settings.max_vms,
        // The same syntax on both sides (tested); the emulator implements the models on its own.
        quota_model: settings
            .quota_model
            .to_string()
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--quota-model: {e}"))?,
        cold_start: settings.new_session_delay,
        quota_refusal_delay: settings.new_session_delay,
        agent_command: Some(agent),
        agent_stop_grace: Duration::from_millis(500),
        ..Config::default()
    })
}

/// Starts the embedded emulator on `127.0.0.1:0`.
pub async fn start(settings: &Settings, options: &EmulatorOptions) -> anyhow::Result<Handle> {
    let agent = agent_command(options.agent_command.as_deref())?;
    let config = config(settings, options, agent)?;
    agentcore_local::start(config).await.context("could not start the embedded agentcore-local")
}
