//! The phases before teardown. Each one talks to the endpoint only through the AWS SDK and returns a
//! [`PhaseReport`] of its checks; what later phases need is returned too ([`deploy`]'s
//! [`Deployment`], [`load()`]'s [`LoadRun`]) or changed in place ([`sg_split`]).

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_bedrockagentcorecontrol::types::{
    AgentRuntimeArtifact, AgentRuntimeStatus, ContainerConfiguration, NetworkConfiguration, NetworkMode, VpcConfig,
};
use aws_sdk_ec2::types::Filter;
use eni_model::{Expected, LifecycleEvent, ObservedEni, SessionPolicy, Verdict, compare};
use eni_watch::{Eni, Scope};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use tokio::sync::watch;

use super::args::{DeployArgs, Phase};
use super::aws::{self, Artifacts, AwsRun};
use super::lab::{Deployment, Lab, Runtime};
use super::load::{self, LoadRun, Recorded};
use super::quota_study;
use super::report::{Check, PhaseReport};
use super::settings::trim;
use super::target::Target;
use crate::call;
use crate::calls::{Calls, Created, Mode};
use crate::error::{ApiError, sdk_error};
use crate::network::{self, Network};
use crate::run::{RUN_TAG, RunId, run_tags};
use crate::state::{Kind, RunState};

/// A progress bar on stderr, drawn only when stderr is a terminal.
fn progress(lab: &Lab, len: u64, message: &str) -> ProgressBar {
    let target = if lab.progress { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(Some(len), target).with_message(message.to_owned());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The network step of deploy, through `calls`: offline the emulator's network (the runtimes get
/// the offline artifacts: the emulator runs `--agent-cmd` whatever the image); with `--aws` the
/// execution role and the report's network (or the checked one), which give the artifacts. Then the
/// first security group.
async fn create_network(
    sdk: &SdkConfig,
    calls: &mut Calls<'_>,
    region: &str,
    aws: Option<&AwsRun>,
    subnets: u32,
) -> anyhow::Result<(Network, Artifacts)> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let (mut network, artifacts) = match aws {
        Some(aws) => aws::create_network(sdk, calls, region, aws).await?,
        None => {
            let network = network::create_offline(&ec2, calls, region, subnets as usize).await?;
            (network, Artifacts::offline(region))
        }
    };
    network::create_security_group(&ec2, calls, &mut network).await?;
    Ok((network, artifacts))
}

fn sdk_network(network: &Network, group: usize) -> anyhow::Result<NetworkConfiguration> {
    let vpc = VpcConfig::builder()
        .set_subnets(Some(network.private_subnet_ids.clone()))
        .security_groups(network.security_group_ids[group].clone())
        .build()?;
    Ok(NetworkConfiguration::builder().network_mode(NetworkMode::Vpc).network_mode_config(vpc).build()?)
}

fn artifact(artifacts: &Artifacts) -> anyhow::Result<AgentRuntimeArtifact> {
    Ok(AgentRuntimeArtifact::ContainerConfiguration(
        ContainerConfiguration::builder().container_uri(&artifacts.container_uri).build()?,
    ))
}

/// Runtime `index` of `run` in security group `group` of `network`.
pub struct RuntimeRequest<'a> {
    pub run: &'a RunId,
    pub artifacts: &'a Artifacts,
    pub network: &'a Network,
    pub index: usize,
    pub group: usize,
}

/// CreateAgentRuntime through `calls`, tagged and recorded. A role this run just created may take
/// seconds to be usable (IAM is eventually consistent): AgentCore then refuses with a
/// ValidationException naming the role, retried for up to `role_wait`.
pub async fn create_runtime(
    control: &aws_sdk_bedrockagentcorecontrol::Client,
    calls: &mut Calls<'_>,
    request: RuntimeRequest<'_>,
    role_wait: Duration,
) -> anyhow::Result<Runtime> {
    let RuntimeRequest { run, artifacts, network, index, group } = request;
    let name = run.runtime_name(index);
    let tags: HashMap<String, String> = run_tags(run).into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let (call, create) = call!("bedrock-agentcore", control.create_agent_runtime().agent_runtime_name(&name)
        .role_arn(&artifacts.role_arn);
        unshown .agent_runtime_artifact(artifact(artifacts)?).network_configuration(sdk_network(network, group)?)
            .description(format!("agentcore-eni-lab run {run}")).set_tags(Some(tags)));
    let call = call
        .param("ContainerUri", &artifacts.container_uri)
        .param("Subnets", network.private_subnet_ids.join(","))
        .param("SecurityGroups", &network.security_group_ids[group])
        .tags(&run_tags(run));
    let started = Instant::now();
    let sent = async {
        loop {
            match create.clone().send().await {
                Ok(created) => {
                    let created = Created {
                        id: created.agent_runtime_id().to_owned(),
                        arn: Some(created.agent_runtime_arn().to_owned()),
                    };
                    break Ok::<_, anyhow::Error>(created);
                }
                Err(e) => {
                    let error = ApiError::from_sdk(e);
                    if started.elapsed() < role_wait && aws::role_not_ready(Some(&error.code), Some(&error.message)) {
                        tracing::info!(runtime = %name, "the execution role is not usable yet; retrying CreateAgentRuntime");
                        tokio::time::sleep(ROLE_RETRY_INTERVAL).await;
                        continue;
                    }
                    break Err(error.into());
                }
            }
        }
    };
    let created = calls.create(call, Kind::AgentRuntime, sent).await?;
    let arn = created.arn.unwrap_or_default();
    Ok(Runtime { name, id: created.id, arn, security_group: group })
}

/// `--plan`: every mutating call deploy would make, through the same functions as the deploy phase,
/// printed; none is made, no state file written.
pub async fn plan_deploy(target: &Target, deploy: &DeployArgs, run: &RunId, aws: &AwsRun) -> anyhow::Result<()> {
    println!("plan for run {run} in {} (account {}): no mutating call is made", target.region, aws.account);
    let mut state = RunState::new(run.clone(), target.connection.clone());
    let mut calls = Calls::new(Mode::Plan, &mut state);
    let control = aws_sdk_bedrockagentcorecontrol::Client::new(&target.sdk);
    let (network, artifacts) =
        create_network(&target.sdk, &mut calls, &target.region, Some(aws), deploy.subnets).await?;
    for index in 0..deploy.runtimes as usize {
        let runtime = RuntimeRequest { run, artifacts: &artifacts, network: &network, index, group: 0 };
        create_runtime(&control, &mut calls, runtime, Duration::ZERO).await?;
    }
    println!("{} mutating call(s) planned, none made (no state file written)", calls.calls().len());
    Ok(())
}

/// How long CreateAgentRuntime is retried while a freshly created execution role is not usable yet.
pub const ROLE_READY_WAIT: Duration = Duration::from_secs(120);
const ROLE_RETRY_INTERVAL: Duration = Duration::from_secs(5);

/// Polls GetAgentRuntime until every runtime in `ids` is READY; a failed state or the timeout is an error.
async fn wait_ready(lab: &Lab, ids: &[String], message: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let bar = progress(lab, ids.len() as u64, message);
    let mut pending: BTreeSet<&String> = ids.iter().collect();
    loop {
        let mut ready = Vec::new();
        for &id in &pending {
            let got = lab
                .control
                .get_agent_runtime()
                .agent_runtime_id(id)
                .send()
                .await
                .map_err(sdk_error)
                .context("GetAgentRuntime")?;
            match got.status() {
                AgentRuntimeStatus::Ready => ready.push(id),
                AgentRuntimeStatus::CreateFailed | AgentRuntimeStatus::UpdateFailed => anyhow::bail!(
                    "runtime {id} is {}: {}",
                    got.status().as_str(),
                    got.failure_reason().unwrap_or("no failure reason given")
                ),
                _ => {}
            }
        }
        for id in ready {
            pending.remove(id);
            bar.inc(1);
        }
        if pending.is_empty() {
            bar.finish_and_clear();
            return Ok(started.elapsed());
        }
        if started.elapsed() > lab.settings.ready_timeout {
            bar.abandon();
            anyhow::bail!(
                "{} runtime(s) not READY after {:.0} s: {}",
                pending.len(),
                lab.settings.ready_timeout.as_secs_f64(),
                pending.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
        tokio::time::sleep(lab.settings.poll).await;
    }
}

/// How many of `kind` carry the run's tag (EC2 describe calls with a `tag:` filter).
async fn tagged_ec2(lab: &Lab) -> anyhow::Result<(usize, usize, usize)> {
    let filter = Filter::builder().name(format!("tag:{RUN_TAG}")).values(lab.run.as_str()).build();
    let vpcs =
        lab.ec2.describe_vpcs().filters(filter.clone()).send().await.map_err(sdk_error).context("DescribeVpcs")?;
    let subnets = lab
        .ec2
        .describe_subnets()
        .filters(filter.clone())
        .send()
        .await
        .map_err(sdk_error)
        .context("DescribeSubnets")?;
    let groups = lab
        .ec2
        .describe_security_groups()
        .filters(filter)
        .send()
        .await
        .map_err(sdk_error)
        .context("DescribeSecurityGroups")?;
    Ok((vpcs.vpcs().len(), subnets.subnets().len(), groups.security_groups().len()))
}

/// Runtimes whose ListTagsForResource shows the run's tag.
async fn tagged_runtimes(lab: &Lab, runtimes: &[Runtime]) -> anyhow::Result<usize> {
    let mut tagged = 0;
    for runtime in runtimes {
        let tags = lab
            .control
            .list_tags_for_resource()
            .resource_arn(&runtime.arn)
            .send()
            .await
            .map_err(sdk_error)
            .context("ListTagsForResource")?;
        if tags.tags().and_then(|t| t.get(RUN_TAG)).is_some_and(|v| v == lab.run.as_str()) {
            tagged += 1;
        }
    }
    Ok(tagged)
}

/// Phase 1: the network, the runtimes, READY. Returns what it made for the phases after it.
pub async fn deploy(lab: &mut Lab) -> anyhow::Result<(PhaseReport, Deployment)> {
    let started = lab.now_s();
    let mut calls = Calls::new(Mode::Execute, &mut lab.state);
    let subnets = lab.deploy_args.subnets;
    let (network, artifacts) = create_network(&lab.sdk, &mut calls, &lab.region, lab.aws.as_ref(), subnets).await?;
    lab.start_watch(&network.vpc_id)?;
    let mut deployment = Deployment { network, artifacts, runtimes: Vec::new(), events: Vec::new() };

    let count = lab.deploy_args.runtimes as usize;
    // A role this run just created may not be usable at once (see `create_runtime`).
    let role_wait = if lab.aws.as_ref().is_some_and(|aws| aws.creates_role) { ROLE_READY_WAIT } else { Duration::ZERO };
    let bar = progress(lab, count as u64, "creating runtimes");
    for index in 0..count {
        let request = RuntimeRequest {
            run: &lab.run,
            artifacts: &deployment.artifacts,
            network: &deployment.network,
            index,
            group: 0,
        };
        let mut calls = Calls::new(Mode::Execute, &mut lab.state);
        let runtime = create_runtime(&lab.control, &mut calls, request, role_wait).await?;
        let event =
            LifecycleEvent::Create { runtime: runtime.name.clone(), network: deployment.network.runtime_network(0)? };
        lab.record(&mut deployment, event);
        deployment.runtimes.push(runtime);
        bar.inc(1);
    }
    bar.finish_and_clear();
    lab.lifecycle(&deployment)?;
    let ids: Vec<String> = deployment.runtimes.iter().map(|r| r.id.clone()).collect();
    let ready_after = wait_ready(lab, &ids, "waiting for READY").await?;

    let network = &deployment.network;
    let zones: Vec<String> = network.az_ids.clone();
    let supported = eni_model::supported_az_ids(&lab.region).unwrap_or_default();
    let distinct: BTreeSet<&String> = zones.iter().collect();
    let zones_ok = distinct.len() == zones.len() && zones.iter().all(|z| supported.contains(&z.as_str()));
    let (vpcs, subnets, groups) = tagged_ec2(lab).await?;
    let tagged = tagged_runtimes(lab, &deployment.runtimes).await?;
    // What this run created (an existing --vpc-id network is not the run's, so not tagged by it).
    let made = |kind: Kind| lab.state.resources.iter().filter(|r| r.kind == kind && !r.deleted).count();
    let expected_tags =
        format!("{} VPC, {} subnets, 1 security group, {count} runtimes", made(Kind::Vpc), made(Kind::Subnet));
    let observed_tags = format!("{vpcs} VPC, {subnets} subnets, {groups} security group, {tagged} runtimes");
    let checks = vec![
        // Information: wait_ready fails the phase with an error unless every runtime is READY.
        Check::info(
            "VPC-mode runtimes",
            format!("{count} READY"),
            format!("{count} READY after {:.1} s", ready_after.as_secs_f64()),
        ),
        Check::new(
            "private subnets in distinct supported zones",
            format!("{} of {}", zones.len(), supported.join(", ")),
            zones.join(", "),
            zones_ok,
        ),
        Check::new(
            &format!("tagged {RUN_TAG}={}", lab.run),
            expected_tags.clone(),
            observed_tags.clone(),
            expected_tags == observed_tags,
        ),
    ];
    let facts = json!({
        "network": network,
        "runtimes": deployment.runtimes,
        "readyAfterS": ready_after.as_secs_f64(),
    });
    Ok((PhaseReport::judged(Phase::Deploy, checks, None, (started, lab.now_s()), facts), deployment))
}

/// One DescribeNetworkInterfaces (every page) of `scope`.
async fn describe(lab: &Lab, scope: &Scope) -> anyhow::Result<Vec<Eni>> {
    let snapshot = eni_watch::describe(&lab.ec2_polling, scope)
        .await
        .map_err(|e| anyhow::anyhow!("DescribeNetworkInterfaces failed: {}: {}", e.code, e.message))?;
    Ok(snapshot.enis)
}

/// Describes `scope` until the ENIs match `expected` or the settle time passes; the last verdict.
async fn observe(lab: &Lab, scope: &Scope, expected: &Expected) -> anyhow::Result<(Verdict, Vec<Eni>)> {
    let deadline = Instant::now() + lab.settings.eni_settle;
    loop {
        let enis = describe(lab, scope).await?;
        let observed: Vec<ObservedEni> = enis.iter().map(Eni::observed).collect();
        let verdict = compare(expected, &observed);
        if verdict.is_match() || Instant::now() >= deadline {
            return Ok((verdict, enis));
        }
        tokio::time::sleep(lab.settings.poll).await;
    }
}

/// `2: one per subnet` / `4: 2 per security group, one per subnet`.
fn expected_text(expected: &Expected, groups: usize) -> String {
    let (min, max) = (expected.min(), expected.max());
    let count = if min == max { min.to_string() } else { format!("{min}..={max} (lingering ENIs may remain)") };
    if groups <= 1 {
        format!("{count}: one per subnet")
    } else {
        format!("{count}: one per subnet and security-group set")
    }
}

fn observed_text(enis: &[Eni]) -> String {
    let mut by_set: std::collections::BTreeMap<String, usize> = Default::default();
    for eni in enis {
        *by_set.entry(eni.security_group_set()).or_default() += 1;
    }
    let parts: Vec<String> = by_set.iter().map(|(set, n)| format!("{n} in [{set}]")).collect();
    if parts.is_empty() { "0".into() } else { format!("{}: {}", enis.len(), parts.join(", ")) }
}

fn status_check(enis: &[Eni]) -> Check {
    let odd: Vec<String> = enis
        .iter()
        .filter(|e| e.interface_type != eni_model::AGENTIC_AI || e.status != "in-use")
        .map(|e| format!("{} {} {}", e.id, e.interface_type, e.status))
        .collect();
    let observed = if odd.is_empty() { format!("all {}", enis.len()) } else { odd.join(", ") };
    Check::new("interface type and status", "agentic_ai, in-use", observed, odd.is_empty())
}

/// Phase 2: the ENIs of the idle runtimes against the model's plan (the report: 2).
pub async fn idle(lab: &Lab, deployment: &Deployment) -> anyhow::Result<PhaseReport> {
    let started = lab.now_s();
    let network = &deployment.network;
    let runtimes: Vec<eni_model::Runtime> = deployment
        .runtimes
        .iter()
        .map(|r| Ok(eni_model::Runtime::new(r.name.clone(), network.runtime_network(r.security_group)?)))
        .collect::<anyhow::Result<_>>()?;
    let plan = eni_model::plan(&network.inventory()?, &runtimes)?;
    let expected = plan.expected();
    // The report listed ENIs by group id.
    let shared_group = &network.security_group_ids[0];
    let scope = Scope { security_groups: vec![shared_group.parse()?], ..Scope::default() };
    let (verdict, enis) = observe(lab, &scope, &expected).await?;
    let checks = vec![
        Check::new(
            &format!("ENIs (group-id {shared_group})"),
            expected_text(&expected, 1),
            observed_text(&enis),
            verdict.is_match(),
        ),
        status_check(&enis),
    ];
    let diff = (!verdict.is_match()).then(|| verdict.to_string());
    let facts = json!({
        "plan": plan,
        "verdict": verdict,
        "enis": enis,
        "table": eni_watch::table::eni_table(&enis),
    });
    Ok(PhaseReport::judged(Phase::Idle, checks, diff, (started, lab.now_s()), facts))
}

/// Phase 3: the report's load, with the ENI watch running.
pub async fn load(lab: &mut Lab, deployment: &Deployment) -> anyhow::Result<(PhaseReport, LoadRun)> {
    let started = lab.now_s();
    let vpc_scope = Scope { vpc: Some(deployment.network.vpc_id.parse()?), ..Scope::default() };
    let expected_count = lab.lifecycle(deployment)?.range_at(lab.service_now())?.min;
    let arns: Vec<String> = deployment.runtimes.iter().map(|r| r.arn.clone()).collect();

    let before = (lab.now_s(), describe(lab, &vpc_scope).await?);
    let target = Recorded::new(loadgen::agentcore::AgentCore::new(&lab.sdk, arns.clone(), None, 0));
    let records = target.records();
    let mut plan = loadgen::Plan::new(
        loadgen::Model::Closed { concurrency: lab.concurrency, duration: Some(lab.settings.load_duration) },
        &format!("agentcore ({} runtimes)", arns.len()),
    );
    plan.sessions = Some(loadgen::Sessions::Unique);
    plan.timeout = Some(lab.settings.invoke_timeout);
    plan.progress = lab.progress;
    let (_stop_tx, stop_rx) = watch::channel(loadgen::Stop::Run);
    let load_origin = Instant::now();
    let load_started = lab.now_s();
    let service_started = service_clock(lab);
    eprintln!(
        "load: {} workers, a new session per call, round-robin over {} runtimes, {} s",
        lab.concurrency,
        arns.len(),
        trim(lab.settings.load_duration.as_secs_f64())
    );
    let report = loadgen::run(target, plan, stop_rx).await?;
    let load_ended = lab.now_s();
    let service_ended = service_clock(lab);
    let after = (lab.now_s(), describe(lab, &vpc_scope).await?);
    super::report::write_atomic(&lab.run.dir().join("load.json"), &serde_json::to_string_pretty(&report)?)?;

    let during = lab.samples_between(load_started, load_ended);
    let gaps = lab.gaps_between(load_started, load_ended);
    let mut checks = vec![load::sample_check(during.len(), gaps)];
    let mut samples = vec![before];
    samples.extend(during);
    samples.push(after);
    let (eni_checks, eni_diff) = load::eni_checks(&samples, expected_count);
    checks.extend(eni_checks);

    let policy = SessionPolicy {
        max_vms: lab.settings.max_vms,
        idle_timeout: lab.settings.idle_timeout,
        max_lifetime: eni_model::DEFAULT_MAX_LIFETIME,
        quota: lab.settings.quota_model,
    };
    let records = records.lock().expect("records lock").clone();
    let admission = load::check_admission(&records, load_origin, &arns, &policy, lab.settings.time_scale);
    let quota = load::quota_checks(&admission, lab.aws.is_some());
    checks.extend(quota.checks);
    lab.notes.extend(quota.warnings);
    lab.notes.push(format!(
        "load: quota counts may differ from the admission model by max(2, 2 % of the quota) = {} (sessions that end \
         on the service side free slots the client cannot see; see eni-lab/src/verify/load.rs); live sessions before \
         the load are assumed to be 0",
        admission.tolerance
    ));
    let mut study = quota_study_of(lab, &records, load_origin, arns.len() as u32, &policy);
    if let (Some(start), Some(end)) = (service_started, service_ended) {
        match active_sessions(lab, start, end).await {
            Ok((active, complete)) => {
                if !complete && lab.aws.is_some() {
                    lab.notes.push(format!(
                        "load: CloudWatch had no ActiveSessionCount for the load's last minute after {} s; \
                         `eni-lab sessions --aws --since 1h` shows it later",
                        CLOUDWATCH_WAIT.as_secs()
                    ));
                }
                study.active_sessions = Some(active);
            }
            Err(error) => lab.notes.push(format!("load: CloudWatch ActiveSessionCount not read: {error:#}")),
        }
    } else {
        lab.notes.push(
            "load: CloudWatch ActiveSessionCount not read: an --endpoint-url's clock is its own (read it with \
             `eni-lab sessions --endpoint-url … --end TIME`)"
                .into(),
        );
    }
    checks.extend(study.active_session_checks(admission.peak_live_predicted, admission.tolerance, lab.aws.is_none()));
    if study.fitted_to == "the report" {
        checks.extend(study.report_checks());
        checks.push(study.closest_check(true));
        lab.notes.push(format!(
            "load (--preset report): the report's table is matched within {:.0} % for counts and {:.0} % for the \
             duration (see eni-lab/src/verify/quota_study.rs)",
            quota_study::COUNT_TOLERANCE * 100.0,
            quota_study::DURATION_TOLERANCE * 100.0
        ));
    } else {
        checks.push(study.closest_check(false));
    }
    match quota_study::svg(&study) {
        Ok(svg) => super::report::write_atomic(&lab.run.dir().join("quota-models.svg"), &svg)?,
        Err(error) => lab.notes.push(format!("no quota-models.svg: {error}")),
    }
    if admission.predicted_refused == 0 {
        lab.notes.push(format!(
            "load: {} calls never reached the quota of {}: refusals were not exercised",
            admission.sent, admission.max_vms
        ));
    }
    let facts = json!({
        "total": report.total,
        "ok": report.ok,
        "failed": report.failed,
        "durationS": report.duration_s,
        "achievedRps": report.achieved_rps,
        "admission": admission,
        "quotaModels": study.markdown(),
        "quotaStudy": study,
        "samples": samples.len(),
        "loadStartedS": load_started,
        "loadEndedS": load_ended,
    });
    let phase = PhaseReport::judged(Phase::Load, checks, eni_diff, (started, lab.now_s()), facts);
    Ok((phase, LoadRun { report, started_s: load_started }))
}

/// The clock CloudWatch's timestamps are in: the embedded emulator's service time, the real time
/// with `--aws`; `None` for an `--endpoint-url`, whose clock is its own.
fn service_clock(lab: &Lab) -> Option<SystemTime> {
    match (&lab.emulator_clock, &lab.aws) {
        (Some(clock), _) => Some(clock.now()),
        (None, Some(_)) => Some(SystemTime::now()),
        (None, None) => None,
    }
}

/// CloudWatch's `ActiveSessionCount` over `[start, end]` (the load, on [`service_clock`]), through
/// `aws-sdk-cloudwatch`: the account's own count of live sessions, the Maximum of each minute (the
/// emulator computes it from its session table). AWS publishes it a few minutes late: with `--aws` this
/// waits (up to [`CLOUDWATCH_WAIT`]) for the minute the load ended in; `false` when it never came.
async fn active_sessions(
    lab: &Lab,
    start: SystemTime,
    end: SystemTime,
) -> anyhow::Result<(quota_study::ActiveSessions, bool)> {
    let client = aws_sdk_cloudwatch::Client::new(&lab.sdk);
    // A 1-minute metric (the emulator answers it as CloudWatch does: minute aggregates).
    let period = Duration::from_secs(60);
    let whole = |at: SystemTime, up: bool| {
        let secs = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
        let period = period.as_secs();
        SystemTime::UNIX_EPOCH + Duration::from_secs((secs / period + u64::from(up)) * period)
    };
    let (from, to) = (whole(start, false), whole(end, true));
    let last_bucket = to - period;
    let waited = Instant::now();
    loop {
        let points = crate::sessions::active_session_count(&client, from, to, period).await?;
        let complete = points.last().is_some_and(|(at, _)| *at >= last_bucket);
        if complete || lab.aws.is_none() || waited.elapsed() >= CLOUDWATCH_WAIT {
            return Ok((quota_study::ActiveSessions::new(period, start, &points), complete));
        }
        if waited.elapsed() < Duration::from_secs(1) {
            eprintln!(
                "load: waiting up to {} min for CloudWatch to publish ActiveSessionCount for the load's last minute",
                CLOUDWATCH_WAIT.as_secs() / 60
            );
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
}

/// How long `verify --aws` waits for CloudWatch to publish the load's last minute of
/// `ActiveSessionCount` (AWS's metrics arrive within a few minutes).
const CLOUDWATCH_WAIT: Duration = Duration::from_secs(6 * 60);

/// The quota study of the load ([`quota_study`]): fitted to the report under `--preset report`,
/// to this run otherwise.
fn quota_study_of(
    lab: &Lab,
    records: &[load::CallRecord],
    origin: Instant,
    runtimes: u32,
    policy: &SessionPolicy,
) -> quota_study::QuotaStudy {
    let settings = &lab.settings;
    let (totals, seconds) = quota_study::profile(records, origin, settings.time_scale);
    let load = quota_study::load_of(records, settings.time_scale, lab.concurrency, settings.load_duration, runtimes);
    let means = (load.new_session_latency, load.refusal_latency);
    let model = settings.quota_model;
    if settings.preset == "report" {
        let report = eni_model::REPORT;
        let policy = SessionPolicy { max_vms: report.max_vms, ..*policy };
        let target = (report.ok, report.refused);
        quota_study::study("the report", model, totals, means, seconds, &policy, &report.closed_load(), target)
    } else {
        let target = (totals.ok, totals.refused);
        quota_study::study("this run", model, totals, means, seconds, policy, &load, target)
    }
}

/// Phase 4: runtime 0 moves to a second security group (the report: 4 ENIs).
pub async fn sg_split(lab: &mut Lab, deployment: &mut Deployment) -> anyhow::Result<PhaseReport> {
    let started = lab.now_s();
    let mut calls = Calls::new(Mode::Execute, &mut lab.state);
    let group = network::create_security_group(&lab.ec2, &mut calls, &mut deployment.network).await?;
    let network = &deployment.network;
    let runtime = deployment.runtimes.first().context("no runtime deployed")?.clone();
    let control = &lab.control;
    let (call, update) = call!("bedrock-agentcore", control.update_agent_runtime().agent_runtime_id(&runtime.id)
        .role_arn(&deployment.artifacts.role_arn);
        unshown .agent_runtime_artifact(artifact(&deployment.artifacts)?).network_configuration(sdk_network(network, group)?)
            .description(format!("agentcore-eni-lab run {}", lab.run)));
    let call = call.param("SecurityGroups", &network.security_group_ids[group]);
    calls.mutate(call, (), async { update.send().await.map(drop).map_err(sdk_error) }).await?;
    let event =
        LifecycleEvent::UpdateNetwork { runtime: runtime.name.clone(), network: network.runtime_network(group)? };
    lab.record(deployment, event);
    deployment.runtimes[0].security_group = group;
    let ready_after = wait_ready(lab, std::slice::from_ref(&runtime.id), "waiting for READY after the update").await?;

    let network = &deployment.network;
    let range = lab.lifecycle(deployment)?.range_at(lab.service_now())?;
    let expected = range.expected();
    let groups: Vec<eni_model::SecurityGroupId> =
        network.security_group_ids.iter().map(|g| g.parse()).collect::<Result<_, _>>()?;
    let scope = Scope { security_groups: groups.clone(), ..Scope::default() };
    let (verdict, enis) = observe(lab, &scope, &expected).await?;
    let group_list = groups.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", ");
    let checks = vec![
        Check::new(
            &format!("ENIs (group-id {group_list})"),
            expected_text(&expected, groups.len()),
            observed_text(&enis),
            verdict.is_match(),
        ),
        status_check(&enis),
        // Information: wait_ready fails the phase with an error unless the runtime is READY again.
        Check::info(
            "runtime 0 READY in the second group",
            network.security_group_ids[group].clone(),
            format!("{} (after {:.1} s)", network.security_group_ids[group], ready_after.as_secs_f64()),
        ),
    ];
    let diff = (!verdict.is_match()).then(|| verdict.to_string());
    let facts =
        json!({ "range": range, "verdict": verdict, "enis": enis, "table": eni_watch::table::eni_table(&enis) });
    Ok(PhaseReport::judged(Phase::SgSplit, checks, diff, (started, lab.now_s()), facts))
}
