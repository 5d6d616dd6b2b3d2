//! What a run works with ([`Lab`]: clients, settings, the state file, the ENI watch, notes) and the
//! facts the phases hand on ([`Deployment`]: the network and runtimes deploy made, what happened to
//! them for the model).

use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use aws_config::SdkConfig;
use aws_sdk_bedrockagentcorecontrol as control;
use aws_sdk_ec2 as ec2;
use eni_model::{Lifecycle, LifecycleEvent};
use eni_watch::{Eni, Item, JsonLines, Tee, WatchTask};
use serde::Serialize;

use super::args::DeployArgs;
use super::aws::{self, Artifacts};
use super::settings::Settings;
use super::target::Target;
use crate::network::Network;
use crate::run::{Connection, RunId};
use crate::state::RunState;

/// One deployed runtime.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Runtime {
    pub name: String,
    pub id: String,
    pub arn: String,
    /// Index into `network.security_group_ids` of its group.
    pub security_group: usize,
}

/// What the deploy phase made, handed to the phases after it: sg-split adds a group and moves a
/// runtime, teardown records the deletions.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub network: Network,
    /// What the runtimes run, and with which role.
    pub artifacts: Artifacts,
    pub runtimes: Vec<Runtime>,
    /// What happened to the runtimes, for the model: `(service time since the run's start, event)`.
    pub events: Vec<(Duration, LifecycleEvent)>,
}

impl Deployment {
    /// The model of the runtimes so far, over the network as it is now (sg-split adds a group).
    pub fn lifecycle(&self, eni_linger: Duration) -> anyhow::Result<Lifecycle> {
        let mut lifecycle = Lifecycle::new(self.network.inventory()?, eni_linger)?;
        for (at, event) in &self.events {
            lifecycle.apply(*at, event)?;
        }
        Ok(lifecycle)
    }
}

/// The ENI watch running through the whole run.
pub struct Timeline {
    task: WatchTask,
    /// Every item, as written to `timeline.jsonl`.
    pub items: Arc<Mutex<Vec<Item>>>,
    /// Run seconds at the watch's `t = 0`.
    pub offset_s: f64,
}

/// What every phase works with. Phases hand their results on as values ([`Deployment`], the load's
/// report), not through here.
pub struct Lab {
    pub run: RunId,
    pub sdk: SdkConfig,
    pub ec2: ec2::Client,
    /// For DescribeNetworkInterfaces: SDK retries off, so throttling shows (as eni-watch does).
    pub ec2_polling: ec2::Client,
    pub control: control::Client,
    pub region: String,
    pub settings: Settings,
    pub deploy_args: DeployArgs,
    /// Load workers.
    pub concurrency: u32,
    pub state: RunState,
    /// The start of the run: `t = 0` of the report and the chart.
    pub origin: Instant,
    pub timeline: Option<Timeline>,
    /// Whether the progress bars draw (stderr is a terminal).
    pub progress: bool,
    /// Notes for the report.
    pub notes: Vec<String>,
    /// A real account (`--aws`): what the deploy phase creates there besides the emulator's network.
    pub aws: Option<aws::AwsRun>,
    /// The embedded emulator's clock: its service time is what its CloudWatch timestamps are in
    /// (`None` with `--aws`, whose clock is the real one, and with `--endpoint-url`, whose is unknown).
    pub emulator_clock: Option<agentcore_local::Clock>,
}

impl Lab {
    pub fn new(
        run: RunId,
        target: &Target,
        deploy_args: DeployArgs,
        concurrency: u32,
        aws: Option<aws::AwsRun>,
    ) -> anyhow::Result<Self> {
        let state = RunState::new(run.clone(), target.connection.clone());
        state.save()?;
        Ok(Self {
            run,
            ec2: ec2::Client::new(&target.sdk),
            ec2_polling: eni_watch::polling_client(&target.sdk),
            control: control::Client::new(&target.sdk),
            sdk: target.sdk.clone(),
            region: target.region.clone(),
            settings: target.settings.clone(),
            deploy_args,
            concurrency,
            state,
            origin: Instant::now(),
            timeline: None,
            progress: std::io::stderr().is_terminal(),
            notes: Vec::new(),
            aws,
            emulator_clock: target.emulator.as_ref().map(|emulator| emulator.clock().clone()),
        })
    }

    /// Wall seconds since the start of the run.
    pub fn now_s(&self) -> f64 {
        self.origin.elapsed().as_secs_f64()
    }

    /// Service time since the start of the run (the model's clock).
    pub fn service_now(&self) -> Duration {
        self.settings.service(self.origin.elapsed())
    }

    /// Records `event` (now) for the model.
    pub fn record(&self, deployment: &mut Deployment, event: LifecycleEvent) {
        deployment.events.push((self.service_now(), event));
    }

    /// The model of `deployment`'s runtimes so far.
    pub fn lifecycle(&self, deployment: &Deployment) -> anyhow::Result<Lifecycle> {
        deployment.lifecycle(self.settings.eni_linger)
    }

    /// Starts the ENI watch over `vpc`, writing `timeline.jsonl` as it goes.
    pub fn start_watch(&mut self, vpc: &str) -> anyhow::Result<()> {
        let scope = eni_watch::Scope { vpc: Some(vpc.parse()?), ..eni_watch::Scope::default() };
        let path = self.run.dir().join("timeline.jsonl");
        let file = JsonLines::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let items: Arc<Mutex<Vec<Item>>> = Arc::default();
        let kept = Arc::clone(&items);
        let keep = eni_watch::FnSink(move |item: &Item| {
            kept.lock().expect("timeline lock").push(item.clone());
            Ok(())
        });
        let offset_s = self.now_s();
        let watcher = eni_watch::Watcher::new(self.ec2_polling.clone(), scope);
        let options = eni_watch::RunOptions { interval: self.settings.watch_interval, ..Default::default() };
        let task = eni_watch::spawn(watcher, options, Box::new(Tee(vec![Box::new(file), Box::new(keep)])));
        self.timeline = Some(Timeline { task, items, offset_s });
        Ok(())
    }

    /// `(run seconds, ENIs)` of every good sample the watch took between `from_s` and `to_s`.
    pub fn samples_between(&self, from_s: f64, to_s: f64) -> Vec<(f64, Vec<Eni>)> {
        let Some(timeline) = &self.timeline else { return Vec::new() };
        let items = timeline.items.lock().expect("timeline lock");
        items
            .iter()
            .filter_map(|item| match item {
                Item::Sample(s) => Some((s.t + timeline.offset_s, s.enis.clone())),
                _ => None,
            })
            .filter(|(t, _)| (from_s..=to_s).contains(t))
            .collect()
    }

    /// The failed polls (gaps) of the watch between `from_s` and `to_s` (run seconds).
    pub fn gaps_between(&self, from_s: f64, to_s: f64) -> usize {
        let Some(timeline) = &self.timeline else { return 0 };
        let items = timeline.items.lock().expect("timeline lock");
        items
            .iter()
            .filter(|item| match item {
                Item::Gap(g) => (from_s..=to_s).contains(&(g.t + timeline.offset_s)),
                _ => false,
            })
            .count()
    }

    /// Waits (at most two watch intervals and a second) for the watch to take a sample that starts
    /// after now, so that the timeline ends with what the run left (the chart shows the ENIs gone).
    pub async fn await_next_sample(&self) {
        let Some(timeline) = &self.timeline else { return };
        let after = self.now_s() - timeline.offset_s;
        let deadline = Instant::now() + self.settings.watch_interval * 2 + Duration::from_secs(1);
        while Instant::now() < deadline {
            let seen = timeline.items.lock().expect("timeline lock").iter().rev().any(|item| match item {
                Item::Sample(s) => s.t > after,
                _ => false,
            });
            if seen {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the watch (its summary closes `timeline.jsonl`); returns every item.
    pub async fn stop_watch(&mut self) -> (Vec<Item>, f64) {
        let Some(timeline) = self.timeline.take() else { return (Vec::new(), 0.0) };
        if let Err(error) = timeline.task.stop().await {
            tracing::warn!(%error, "the ENI watch failed");
            self.notes.push(format!("the ENI watch stopped with an error: {error}"));
        }
        let items = std::mem::take(&mut *timeline.items.lock().expect("timeline lock"));
        (items, timeline.offset_s)
    }
}

impl Drop for Lab {
    /// An embedded emulator goes with this process, and everything the run created with it: the
    /// state file says so (also when the run is interrupted).
    fn drop(&mut self) {
        if self.state.connection == Connection::Embedded && !self.state.finished {
            self.state.finished = true;
            let _ = self.state.set_phase("emulator-stopped");
        }
    }
}
