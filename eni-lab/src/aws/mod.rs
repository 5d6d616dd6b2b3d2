//! What a real AWS account needs before the experiment runs: the agent image in ECR ([`image`]), the
//! runtimes' execution role ([`iam`]), the network ([`network`]), the cost notice ([`notice`]), and
//! the tool's own IAM policy ([`permissions`]), and what every real-account command does before
//! anything is created ([`preamble`]: the cost notice, an existing network's check, the account id).
//! Every mutating call goes through [`crate::calls::Calls`], which executes it and records what it
//! created in the run's state file, or only prints it (`--plan`).
//!
//! `eni-lab aws-setup` is deploy's first step alone: the execution role and the network, with the same
//! flags as `deploy --aws` ([`AccountArgs`]), recorded in a state file so that `destroy` removes them;
//! `eni-lab push-image` pushes an image built by `cargo xtask build --image`; `eni-lab iam-policy`
//! prints the tool's policy.

pub mod iam;
pub mod image;
pub mod notice;
pub mod permissions;

use anyhow::Context;
use aws_config::SdkConfig;

use crate::calls::{Calls, Mode};
use crate::error::{UsageError, sdk_error};
use crate::network::{self, Checked, Existing, Network};
use crate::run::{Connection, ConnectionArgs, RunId};
use crate::state::RunState;

/// The flags of every command that creates a run's resources in an account (`verify`/`deploy
/// --aws`, `aws-setup`): `--plan`, `--yes`, the role, the repository, an existing network.
#[derive(clap::Args, Debug, Clone)]
pub struct AccountArgs {
    /// With --aws: print every call that would be made (service, operation, parameters), make no
    /// mutating call and write no state file.
    #[arg(long)]
    pub plan: bool,
    /// With --aws: accept the cost and quota notice without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// With --aws: use this existing execution role instead of creating one.
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// With --aws: the ECR repository of --image-uri (the created execution role may pull from it only).
    #[arg(long, default_value = image::DEFAULT_REPOSITORY)]
    pub repository: String,
    /// With --aws: use this existing VPC instead of creating one like the report's (with --subnet-ids).
    #[arg(long, requires = "subnet_ids", value_name = "VPC_ID")]
    pub vpc_id: Option<String>,
    /// With --aws: the existing private subnets for the runtimes, comma-separated (with --vpc-id);
    /// checked (one VPC, supported zones, address headroom) and shown before anything is created.
    #[arg(long, requires = "vpc_id", value_delimiter = ',', value_name = "SUBNET_IDS")]
    pub subnet_ids: Vec<String>,
}

impl Default for AccountArgs {
    fn default() -> Self {
        Self {
            plan: false,
            yes: false,
            role_arn: None,
            repository: image::DEFAULT_REPOSITORY.into(),
            vpc_id: None,
            subnet_ids: Vec::new(),
        }
    }
}

impl AccountArgs {
    /// `--vpc-id` with `--subnet-ids`, when given.
    pub fn existing(&self) -> Option<Existing> {
        self.vpc_id.as_ref().map(|vpc_id| Existing { vpc_id: vpc_id.clone(), subnet_ids: self.subnet_ids.clone() })
    }

    /// The flags given (each by name), for "these go with --aws".
    pub fn given(&self) -> Vec<&'static str> {
        let given = [
            (self.plan, "--plan"),
            (self.yes, "--yes"),
            (self.role_arn.is_some(), "--role-arn"),
            (self.vpc_id.is_some(), "--vpc-id"),
            (!self.subnet_ids.is_empty(), "--subnet-ids"),
            (self.repository != image::DEFAULT_REPOSITORY, "--repository"),
        ];
        given.iter().filter(|(set, _)| *set).map(|(_, name)| *name).collect()
    }

    /// The execution role to use or create for `account` in `region`.
    pub fn role_request<'a>(&'a self, account: &'a str, region: &'a str) -> iam::RoleRequest<'a> {
        iam::RoleRequest { account, region, repository: &self.repository, existing: self.role_arn.as_deref() }
    }
}

/// What is known before anything is created in an account.
#[derive(Debug, Clone)]
pub struct Preamble {
    pub account: String,
    /// `--vpc-id`/`--subnet-ids`, already checked.
    pub checked: Option<Checked>,
}

/// Before anything is created: the cost notice and its prompt (a real account, not with `--plan`;
/// a refusal leaves the account untouched), the check of an existing network (printed), the
/// account id. `runtimes` sizes the address check, and the notice when the command `deploys_runtimes`.
pub async fn preamble(
    sdk: &SdkConfig,
    region: &str,
    real_account: bool,
    args: &AccountArgs,
    runtimes: u32,
    deploys_runtimes: bool,
) -> anyhow::Result<Preamble> {
    let existing = args.existing();
    if real_account && !args.plan {
        let creates_network = existing.is_none() as u32;
        let notice = notice::Notice {
            region: Some(region.to_owned()),
            nat_gateways: creates_network,
            elastic_ips: creates_network,
            runtimes: if deploys_runtimes { runtimes } else { 0 },
        };
        notice::confirm(&notice, args.yes).map_err(|e| UsageError(e.to_string()))?;
    }
    let checked = match &existing {
        Some(existing) => {
            let ec2 = aws_sdk_ec2::Client::new(sdk);
            let checked = network::check_existing(&ec2, region, existing, runtimes.max(1) as usize)
                .await
                .map_err(|e| UsageError(e.to_string()))?;
            eprint!("{}", network::describe_checked(&checked));
            Some(checked)
        }
        None => None,
    };
    let account = account_id(sdk).await.context("finding the account id (STS GetCallerIdentity)")?;
    Ok(Preamble { account, checked })
}

/// The execution role (created, or `request.existing` checked) and the network (`checked`, or a new
/// one like the report's), through `calls`: what `aws-setup`, `deploy --aws` and its `--plan` share.
pub async fn role_and_network(
    sdk: &SdkConfig,
    calls: &mut Calls<'_>,
    run: &RunId,
    request: iam::RoleRequest<'_>,
    checked: Option<&Checked>,
) -> anyhow::Result<(iam::ExecutionRole, Network)> {
    let region = request.region.to_owned();
    let role = iam::ensure_execution_role(&aws_sdk_iam::Client::new(sdk), calls, run, request).await?;
    let network = match checked {
        Some(checked) => checked.network.clone(),
        None => network::create_report_network(&aws_sdk_ec2::Client::new(sdk), &region, run, calls).await?,
    };
    Ok((role, network))
}

/// The account id of the credentials in `sdk` (STS GetCallerIdentity, which needs no permission).
pub async fn account_id(sdk: &SdkConfig) -> anyhow::Result<String> {
    let out = aws_sdk_sts::Client::new(sdk).get_caller_identity().send().await.map_err(sdk_error)?;
    out.account().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("STS answered without the account id"))
}

/// The region `sdk` talks to, or an error saying how to give one.
pub fn region(sdk: &SdkConfig) -> anyhow::Result<String> {
    sdk.region()
        .map(|r| r.as_ref().to_owned())
        .ok_or_else(|| anyhow::anyhow!("no AWS region: pass --region, or set AWS_REGION or a region in your profile"))
}

/// The connection for a command that needs an account (`--aws`) or an endpoint (`--endpoint-url`).
fn account_connection(args: &ConnectionArgs, command: &str) -> anyhow::Result<Connection> {
    args.connection()?.ok_or_else(|| {
        anyhow::anyhow!(
            "{command} works on an AWS account: pass --aws (or --endpoint-url for an emulator such as moto)"
        )
    })
}

/// `eni-lab aws-setup`: deploy's first step alone (`deploy --aws` without runtimes).
#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub account: AccountArgs,
    /// Runtimes the experiment deploys (sizes the address check of an existing network).
    #[arg(long, default_value_t = 10)]
    pub runtimes: u32,
}

/// What `aws-setup` set up, printed as JSON on stdout (what deploy needs).
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Setup {
    pub run_id: RunId,
    pub plan: bool,
    pub role: iam::ExecutionRole,
    pub network: Network,
    pub state_file: Option<std::path::PathBuf>,
}

/// Creates (or with `--plan` only prints) the execution role and the network of a new run.
pub async fn setup(args: &SetupArgs) -> anyhow::Result<Setup> {
    let connection = account_connection(&args.connection, "aws-setup")?;
    let real_account = matches!(connection, Connection::Aws { .. });
    let sdk = connection.sdk_config().await;
    let region = region(&sdk)?;
    let Preamble { account, checked } =
        preamble(&sdk, &region, real_account, &args.account, args.runtimes, false).await?;

    let run = RunId::new();
    let plan = args.account.plan;
    let mut state = RunState::new(run.clone(), connection);
    state.phase = "aws-setup".into();
    let mut calls = Calls::new(if plan { Mode::Plan } else { Mode::Execute }, &mut state);
    if plan {
        println!("plan for run {run} in {region} (account {account}): no mutating call is made");
    } else {
        eprintln!("run {run}: state file {}", RunState::path(&run).display());
    }
    let request = args.account.role_request(&account, &region);
    let (role, network) = role_and_network(&sdk, &mut calls, &run, request, checked.as_ref()).await?;
    let made = calls.calls().len();
    if plan {
        println!("{made} mutating call(s) planned, none made");
    } else {
        state.set_phase("aws-setup")?;
        eprintln!("{made} mutating call(s) made; remove everything with `cargo xtask destroy --run-id {run}`");
    }
    let state_file = (!plan).then(|| RunState::path(&run));
    Ok(Setup { run_id: run, plan, role, network, state_file })
}

/// `eni-lab push-image`.
#[derive(clap::Args, Debug)]
pub struct PushArgs {
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// The local image to push (as built by `cargo xtask build --image`).
    #[arg(long, value_name = "TAG")]
    pub image: String,
    /// The ECR repository, created if missing (tagged, recorded in a run's state file).
    #[arg(long, default_value = image::DEFAULT_REPOSITORY)]
    pub repository: String,
    /// The container tool to log in and push with.
    #[arg(long, default_value = "docker", value_parser = clap::builder::PossibleValuesParser::new(image::CONTAINER_TOOLS))]
    pub container_tool: String,
    /// Record a created repository in this run's state file (default: a new run).
    #[arg(long, value_name = "RUN_ID")]
    pub run_id: Option<String>,
    /// Only create the repository and check the registry login; push nothing.
    #[arg(long)]
    pub repository_only: bool,
}

/// Ensures the repository, logs the container tool in and pushes; returns the image URI (or the
/// repository URI with `--repository-only`).
pub async fn push_image(args: &PushArgs) -> anyhow::Result<String> {
    let connection = account_connection(&args.connection, "push-image")?;
    let sdk = connection.sdk_config().await;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let run = match &args.run_id {
        Some(id) => RunId::parse(id)?,
        None => RunId::new(),
    };
    let path = RunState::path(&run);
    let mut state = if path.is_file() { RunState::load(&path)? } else { RunState::new(run.clone(), connection) };
    let mut calls = Calls::new(Mode::Execute, &mut state);
    let repository = image::ensure_repository(&ecr, &mut calls, &run, &args.repository).await?;
    if repository.created {
        state.set_phase("push-image")?;
        eprintln!(
            "created ECR repository {} (run {run}; `cargo xtask destroy --run-id {run}` deletes it)",
            repository.name
        );
    }
    let login = image::registry_login(&ecr).await?;
    if args.repository_only {
        eprintln!("registry {} accepts user {} (token decoded; nothing pushed)", login.registry, login.username);
        return Ok(repository.uri);
    }
    image::push(&args.container_tool, &args.image, &repository.uri, &login)
}
