//! Where a run's calls go: the embedded agentcore-local (started here), an endpoint
//! (`--endpoint-url`) or a real account (`--aws`), with the [`Settings`] that fit it.

use std::time::Duration;

use agentcore_local::EniPolicy;
use aws_config::SdkConfig;

use super::args::{DeployArgs, Preset};
use super::emulator;
use super::settings::{self, Settings};
use crate::error::UsageError;
use crate::network;
use crate::run::{Connection, ConnectionArgs, EMULATOR_REGION, RunId};

/// Where the run's calls go and what was started for it.
pub struct Target {
    pub connection: Connection,
    pub sdk: SdkConfig,
    pub region: String,
    pub endpoint: String,
    pub settings: Settings,
    /// The embedded emulator, when there is one.
    pub emulator: Option<agentcore_local::Handle>,
}

/// Checks the flags and starts what the run needs: the embedded emulator, or the endpoint's SDK
/// config. `load_duration` is `--duration` (default: the preset's).
pub async fn connect(
    connection: &ConnectionArgs,
    args: &DeployArgs,
    load_duration: Option<Duration>,
) -> anyhow::Result<Target> {
    let chosen = connection.connection().map_err(|e| UsageError(e.to_string()))?;
    args.aws.check(matches!(chosen, Some(Connection::Aws { .. })))?;
    let quota_model = args.quota_choice().resolve();
    let offline = || {
        match args.preset {
            Preset::Offline => Settings::offline(
                args.time_scale.unwrap_or(settings::OFFLINE_TIME_SCALE),
                args.emulator_max_vms.unwrap_or(settings::OFFLINE_MAX_VMS),
                args.emulator_eni_linger,
            ),
            Preset::Report => Settings::report(
                args.time_scale.unwrap_or(settings::REPORT_TIME_SCALE),
                args.emulator_max_vms.unwrap_or(eni_model::REPORT.max_vms),
                args.emulator_eni_linger,
            ),
        }
        .with_quota_model(quota_model)
        .with_load_duration(load_duration)
    };
    match chosen {
        None => {
            let settings = offline();
            let options = emulator::EmulatorOptions {
                eni_policy: args.emulator_eni_policy,
                agent_command: args.agent_cmd.clone(),
            };
            let handle = emulator::start(&settings, &options).await?;
            let endpoint = handle.endpoint_url();
            let region = connection.region.clone().unwrap_or_else(|| EMULATOR_REGION.to_owned());
            let sdk = Connection::Endpoint { url: endpoint.clone(), region: region.clone() }.sdk_config().await;
            preflight(&sdk, &region, args).await?;
            Ok(Target { connection: Connection::Embedded, sdk, region, endpoint, settings, emulator: Some(handle) })
        }
        Some(Connection::Endpoint { url, region }) => {
            if args.emulator_eni_policy != EniPolicy::Shared || args.agent_cmd.is_some() {
                return Err(UsageError(
                    "--emulator-eni-policy and --agent-cmd configure the embedded emulator; with --endpoint-url, \
                     start agentcore-local with --eni-policy / --agent-cmd instead"
                        .into(),
                )
                .into());
            }
            let connection = Connection::Endpoint { url: url.clone(), region: region.clone() };
            let sdk = connection.sdk_config().await;
            preflight(&sdk, &region, args).await?;
            let settings = offline();
            eprintln!(
                "note: --endpoint-url: judging as if the endpoint ran `agentcore-local --time-scale {} --max-vms {} \
                 --quota-model {} --cold-start {}s --quota-refusal-delay {}s`",
                settings.time_scale,
                settings.max_vms,
                settings.quota_model,
                settings.new_session_delay.as_secs_f64(),
                settings.new_session_delay.as_secs_f64(),
            );
            Ok(Target { connection, sdk, region, endpoint: url, settings, emulator: None })
        }
        Some(connection @ Connection::Aws { .. }) => {
            // No call yet: the credentials are resolved lazily, on the first call (after the notice).
            let sdk = connection.sdk_config().await;
            let region = crate::aws::region(&sdk).map_err(|e| UsageError(e.to_string()))?;
            if args.preset == Preset::Report || args.emulator_max_vms.is_some() {
                return Err(UsageError(
                    "--preset and --emulator-max-vms set the emulator's timings and quota; with --aws the account's \
                     own apply (verify --aws runs the report's load as it is)"
                        .into(),
                )
                .into());
            }
            let settings = Settings::real_account().with_quota_model(quota_model).with_load_duration(load_duration);
            Ok(Target { connection, sdk, region, endpoint: "AWS".into(), settings, emulator: None })
        }
        Some(Connection::Embedded) => unreachable!("ConnectionArgs never names the embedded emulator"),
    }
}

/// What can be checked before anything is created: the region has `--subnets` supported zones.
async fn preflight(sdk: &SdkConfig, region: &str, args: &DeployArgs) -> anyhow::Result<()> {
    let count = args.subnets as usize;
    match network::choose_zones(&aws_sdk_ec2::Client::new(sdk), region, count).await {
        Ok(_) => Ok(()),
        Err(error @ network::NetworkError::TooFewZones { .. }) => {
            Err(UsageError(format!("--subnets {count}: {error}")).into())
        }
        Err(error) => Err(error.into()),
    }
}

/// Prints the settings block.
pub fn print_settings(run: &RunId, target: &Target) {
    eprintln!("run {run}: {}", run.dir().display());
    let what = match &target.connection {
        Connection::Embedded => format!("embedded agentcore-local at {}", target.endpoint),
        Connection::Endpoint { url, .. } => format!("endpoint {url}"),
        Connection::Aws { .. } => "AWS account".into(),
    };
    eprintln!("target: {what} ({})", target.region);
    let lines = target.settings.lines();
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (name, value) in lines {
        eprintln!("  {name:width$}  {value}");
    }
}
