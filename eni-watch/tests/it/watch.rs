//! The library against agentcore-local: events in order, verdicts from the model, gaps under
//! injected faults, pagination, JSON Lines round trip.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eni_model::{Expected, Lifecycle, LifecycleEvent, Runtime, RuntimeNetwork, plan};
use eni_watch::{
    Backoff, Change, Expectation, Item, JsonLines, RunOptions, Scope, Sink, StopReason, read_jsonl, spawn,
};
use tokio::sync::mpsc;

use crate::support::{FaultProxy, Faults, LINGER, Lab, STATUS_DELAY, inventory, watcher_on};

fn vpc_scope(vpc: &str) -> Scope {
    Scope { vpc: Some(vpc.parse().unwrap()), ..Scope::default() }
}

/// `(change kind, subnet index, security-group set)` with ids replaced by names.
fn event_names(items: &[Item], subnets: &[String], groups: &[(&str, &str)]) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Event(e) => Some(&e.change),
            _ => None,
        })
        .map(|change| match change {
            Change::Added { eni } | Change::Removed { eni } => {
                let subnet = subnets.iter().position(|s| s == eni.subnet.as_str()).expect("known subnet");
                let mut set = eni.security_group_set();
                for (id, name) in groups {
                    set = set.replace(id, name);
                }
                format!("{} subnet{subnet} [{set}]", change.kind())
            }
            other => format!("{} {}", other.kind(), other.id()),
        })
        .collect()
}

#[tokio::test]
async fn a_watch_records_create_steady_split_delete_linger_vanish_in_order() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let sg1 = net.security_groups[0].clone();
    let sg2 = lab.security_group(&net.vpc, "agents-2").await;
    // The model follows the same events; every sample is checked against its range at that moment.
    let mut model = Lifecycle::new(inventory(&net, &[&sg2]), LINGER).unwrap();
    let expected = Arc::new(Mutex::new(Expected::default()));
    let shared = expected.clone();
    let mut watcher = watcher_on(&lab.endpoint(), vpc_scope(&net.vpc))
        .await
        .expect(Expectation::Dynamic(Arc::new(move |_| shared.lock().unwrap().clone())));
    let mut items = vec![watcher.start_item()];
    let mut now = Duration::ZERO;
    let network = |groups: &[String]| RuntimeNetwork::vpc(&net.subnets, groups).unwrap();

    macro_rules! sample {
        ($count:expr) => {{
            *expected.lock().unwrap() = model.range_at(now).unwrap().expected();
            let polled = watcher.poll().await;
            assert_eq!(polled.result, Ok($count), "{:?}", polled.items);
            items.extend(polled.items);
        }};
    }

    sample!(0);
    let mut runtimes = Vec::new();
    for i in 0..10 {
        let name = format!("agent_{i}");
        runtimes.push(lab.runtime(&name, &net.subnets, std::slice::from_ref(&sg1)).await);
        model
            .apply(now, &LifecycleEvent::Create { runtime: name, network: network(std::slice::from_ref(&sg1)) })
            .unwrap();
    }
    sample!(2);
    lab.advance(STATUS_DELAY);
    now += STATUS_DELAY;
    sample!(2);
    sample!(2);
    // SG split: runtime 0 moves to a second group.
    lab.renetwork(&runtimes[0], &net.subnets, std::slice::from_ref(&sg2)).await;
    model
        .apply(
            now,
            &LifecycleEvent::UpdateNetwork { runtime: "agent_0".into(), network: network(std::slice::from_ref(&sg2)) },
        )
        .unwrap();
    sample!(4);
    lab.advance(STATUS_DELAY);
    now += STATUS_DELAY;
    lab.delete(&runtimes[0]).await;
    model.apply(now, &LifecycleEvent::Delete { runtime: "agent_0".into() }).unwrap();
    lab.advance(STATUS_DELAY);
    now += STATUS_DELAY;
    sample!(4); // the second group's ENIs linger
    lab.advance(LINGER);
    now += LINGER;
    sample!(2); // and vanish
    for (i, id) in runtimes.iter().enumerate().skip(1) {
        lab.delete(id).await;
        model.apply(now, &LifecycleEvent::Delete { runtime: format!("agent_{i}") }).unwrap();
    }
    lab.advance(STATUS_DELAY);
    now += STATUS_DELAY;
    sample!(2);
    lab.advance(LINGER);
    now += LINGER;
    sample!(0);

    let groups = [(sg1.as_str(), "sg1"), (sg2.as_str(), "sg2")];
    assert_eq!(
        event_names(&items, &net.subnets, &groups),
        [
            "added subnet0 [sg1]",
            "added subnet1 [sg1]",
            "added subnet0 [sg2]",
            "added subnet1 [sg2]",
            "removed subnet0 [sg2]",
            "removed subnet1 [sg2]",
            "removed subnet0 [sg1]",
            "removed subnet1 [sg1]",
        ]
    );
    // Events come right after the sample that revealed them.
    let seqs: Vec<u64> = items
        .iter()
        .filter_map(|i| match i {
            Item::Event(e) => Some(e.seq),
            _ => None,
        })
        .collect();
    assert_eq!(seqs, [2, 2, 5, 5, 7, 7, 9, 9]);

    let summary = watcher.summary(StopReason::Interrupted);
    assert_eq!((summary.samples, summary.events, summary.gaps), (9, 8, 0));
    assert_eq!((summary.min_count, summary.max_count, summary.last_count), (Some(0), Some(4), Some(0)));
    assert_eq!(summary.distinct_enis, 4);
    let per_set = &summary.per_security_group_set;
    assert_eq!((per_set[&sg1].max, per_set[&sg2].max, per_set[&sg2].last), (2, 2, 0));
    assert_eq!(summary.per_subnet[&net.subnets[0]].max, 2);
    let checks = summary.expectation.as_ref().expect("checked");
    assert!(checks.all_matched, "{:#?}", checks.first_mismatch);
    assert_eq!(checks.checked, 9);

    // The timeline survives a JSON Lines round trip.
    let mut sink = JsonLines::new(Vec::new());
    for item in &items {
        sink.write(item).unwrap();
    }
    let bytes = sink.into_inner();
    assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), items.len());
    assert_eq!(read_jsonl(&bytes[..]).unwrap().items, items);
    // A line cut short by a kill is dropped and reported, not an error.
    let cut = &bytes[..bytes.len() - 20];
    let recording = read_jsonl(cut).unwrap();
    assert!(recording.truncated_last_line);
    assert_eq!(recording.items, items[..items.len() - 1]);
}

#[tokio::test]
async fn a_plan_expectation_reports_the_first_mismatch_as_a_diff() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let sg2 = lab.security_group(&net.vpc, "agents-2").await;
    let runtimes: Vec<Runtime> = (0..3)
        .map(|i| Runtime::new(format!("agent_{i}"), RuntimeNetwork::vpc(&net.subnets, &net.security_groups).unwrap()))
        .collect();
    let plan = plan(&inventory(&net, &[]), &runtimes).unwrap();
    let mut ids = Vec::new();
    for r in &runtimes {
        ids.push(lab.runtime(&r.name, &net.subnets, &net.security_groups).await);
    }
    let mut watcher = watcher_on(&lab.endpoint(), vpc_scope(&net.vpc)).await.expect((&plan).into());
    let first = watcher.poll().await;
    let Item::Sample(sample) = &first.items[0] else { panic!("{first:?}") };
    assert!(sample.check.as_ref().unwrap().ok, "{sample:?}");

    lab.advance(STATUS_DELAY);
    lab.renetwork(&ids[0], &net.subnets[..1], std::slice::from_ref(&sg2)).await;
    let second = watcher.poll().await;
    let Item::Sample(sample) = &second.items[0] else { panic!("{second:?}") };
    let check = sample.check.as_ref().unwrap();
    assert!(!check.ok);
    assert_eq!((check.expected_min, check.expected_max, check.observed), (2, 2, 3));
    let diff = check.diff.as_deref().unwrap();
    assert!(diff.starts_with("ENIs: expected 2, observed 3: MISMATCH\n"), "{diff}");
    assert!(diff.contains(&format!("+ {} [{sg2}]", net.subnets[0])), "{diff}");
    assert!(diff.contains("no runtime uses this subnet and security-group set"), "{diff}");

    let summary = watcher.summary(StopReason::Interrupted);
    let e = summary.expectation.unwrap();
    assert_eq!((e.checked, e.mismatched, e.all_matched), (2, 1, false));
    assert_eq!(e.first_mismatch.unwrap().seq, 2);
}

/// Receives items until a sample satisfies `done`, or fails after 20 s.
async fn until_sample(rx: &mut mpsc::UnboundedReceiver<Item>, items: &mut Vec<Item>, done: impl Fn(&Item) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let item = tokio::time::timeout(left, rx.recv()).await.expect("the awaited sample came").expect("watch runs");
        let stop = matches!(item, Item::Sample(_)) && done(&item);
        items.push(item);
        if stop {
            return;
        }
    }
}

fn count_is(n: usize) -> impl Fn(&Item) -> bool {
    move |item| matches!(item, Item::Sample(s) if s.count == n)
}

fn gap_codes(items: &[Item]) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Gap(g) => Some(g.code.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_become_gaps_and_no_event_is_lost() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let sg1 = net.security_groups[0].clone();
    let sg2 = lab.security_group(&net.vpc, "agents-2").await;
    let faults = Faults { throttle: 0.2, internal_error: 0.05, bare_500: 0.05, seed: 7 };
    let proxy = FaultProxy::start(&lab.endpoint(), faults).await;
    let watcher = watcher_on(&proxy.endpoint(), vpc_scope(&net.vpc))
        .await
        .backoff(Backoff { initial: Duration::from_millis(2), max: Duration::from_millis(20) });
    let (tx, mut rx) = mpsc::unbounded_channel();
    let options = RunOptions { interval: Duration::from_millis(5), ..RunOptions::default() };
    let task = spawn(watcher, options, Box::new(tx));
    let mut items = Vec::new();

    until_sample(&mut rx, &mut items, count_is(0)).await;
    let a = lab.runtime("agent_a", &net.subnets, std::slice::from_ref(&sg1)).await;
    lab.runtime("agent_b", &net.subnets, std::slice::from_ref(&sg1)).await;
    until_sample(&mut rx, &mut items, count_is(2)).await;
    // A steady stretch: many polls, no change.
    for _ in 0..15 {
        until_sample(&mut rx, &mut items, |_| true).await;
    }
    lab.advance(STATUS_DELAY);
    lab.renetwork(&a, &net.subnets, std::slice::from_ref(&sg2)).await;
    until_sample(&mut rx, &mut items, count_is(4)).await;
    lab.advance(STATUS_DELAY);
    lab.delete(&a).await;
    lab.advance(STATUS_DELAY + LINGER);
    until_sample(&mut rx, &mut items, count_is(2)).await;
    // Keep watching until each kind of fault has shown up at least once.
    let wanted: BTreeSet<String> = ["RequestLimitExceeded", "InternalError", "HTTP 500"].map(String::from).into();
    while !wanted.is_subset(&gap_codes(&items)) {
        until_sample(&mut rx, &mut items, |_| true).await;
    }
    let summary = task.stop().await.unwrap();
    while let Ok(item) = rx.try_recv() {
        items.push(item);
    }

    let groups = [(sg1.as_str(), "sg1"), (sg2.as_str(), "sg2")];
    assert_eq!(
        event_names(&items, &net.subnets, &groups),
        [
            "added subnet0 [sg1]",
            "added subnet1 [sg1]",
            "added subnet0 [sg2]",
            "added subnet1 [sg2]",
            "removed subnet0 [sg2]",
            "removed subnet1 [sg2]",
        ],
        "every change shows once, whatever the gaps"
    );
    let gaps: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Item::Gap(g) => Some(g),
            _ => None,
        })
        .collect();
    // SDK retries are off in the polling client: every injected fault is a gap, none is hidden.
    assert_eq!(gaps.len() as u64, proxy.counters.faults.load(Ordering::SeqCst));
    assert_eq!(summary.gaps, gaps.len() as u64);
    assert!(gaps.iter().any(|g| g.code == "RequestLimitExceeded" && g.message == "Request limit exceeded."));
    assert!(gaps.iter().all(|g| g.retry_in_s > 0.0 && g.consecutive >= 1));
    assert_eq!(summary.gap_codes.values().sum::<u64>(), summary.gaps);
    // Polling went on after gaps: some sample follows a gap.
    let after_gap = items.windows(2).any(|w| matches!((&w[0], &w[1]), (Item::Gap(_), Item::Sample(_))));
    assert!(after_gap);
    assert_eq!(summary.stop, StopReason::Interrupted);
    assert!(matches!(items.last(), Some(Item::Summary(s)) if s == &summary));
    let samples = items.iter().filter(|i| matches!(i, Item::Sample(_))).count() as u64;
    assert_eq!(summary.samples, samples);
    assert_eq!(proxy.counters.describe_calls.load(Ordering::SeqCst), samples + summary.gaps);
}

#[tokio::test]
async fn pagination_follows_next_token_with_max_results_5_over_23_enis() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let subnet = &net.subnets[..1];
    for i in 0..23 {
        let sg = lab.security_group(&net.vpc, &format!("group-{i}")).await;
        lab.runtime(&format!("agent_{i}"), subnet, &[sg]).await;
    }
    let proxy = FaultProxy::start(&lab.endpoint(), Faults::default()).await;
    let paged = Scope { page_size: Some(5), ..vpc_scope(&net.vpc) };
    let mut watcher = watcher_on(&proxy.endpoint(), paged).await;
    let polled = watcher.poll().await;
    assert_eq!(polled.result, Ok(23));
    let Item::Sample(sample) = &polled.items[0] else { panic!("{polled:?}") };
    assert_eq!(sample.pages, 5);
    assert_eq!(proxy.counters.describe_calls.load(Ordering::SeqCst), 5);
    let ids: BTreeSet<_> = sample.enis.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 23, "no ENI twice");

    let mut unpaged = watcher_on(&proxy.endpoint(), vpc_scope(&net.vpc)).await;
    let polled = unpaged.poll().await;
    let Item::Sample(whole) = &polled.items[0] else { panic!("{polled:?}") };
    assert_eq!(whole.pages, 1);
    assert_eq!(whole.enis, sample.enis);
}

#[tokio::test]
async fn the_interface_type_is_checked_client_side() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    lab.runtime("agent", &net.subnets[..1], &net.security_groups).await;
    // A plain ENI (interface type `interface`) with the same group.
    lab.ec2.create_network_interface().subnet_id(&net.subnets[1]).groups(&net.security_groups[0]).send().await.unwrap();
    let by_group = Scope { security_groups: vec![net.security_groups[0].parse().unwrap()], ..Scope::default() };
    let mut agentic = watcher_on(&lab.endpoint(), by_group.clone()).await;
    assert_eq!(agentic.poll().await.result, Ok(1));
    let mut any = watcher_on(&lab.endpoint(), Scope { interface_type: None, ..by_group.clone() }).await;
    assert_eq!(any.poll().await.result, Ok(2));
    let mut server_side = watcher_on(&lab.endpoint(), Scope { server_side_type_filter: true, ..by_group }).await;
    assert_eq!(server_side.poll().await.result, Ok(1));
}

#[tokio::test]
async fn an_account_that_hides_managed_resources_does_not_hide_agentcore_enis_from_the_watch() {
    // Should AWS count AgentCore's ENIs as managed resources, an account with managed resource
    // visibility `hidden` would hide them from a plain DescribeNetworkInterfaces: the watch asks
    // with IncludeManagedResources.
    let config = agentcore_local::Config {
        agentcore_eni_operator: Some("bedrock-agentcore.amazonaws.com".into()),
        ..test_support::emulator::manual_config()
    };
    let lab = Lab::start(config).await;
    let net = lab.network().await;
    lab.runtime("hidden", &net.subnets, &net.security_groups).await;
    let hidden = aws_sdk_ec2::types::ManagedResourceDefaultVisibility::Hidden;
    lab.ec2.modify_managed_resource_visibility().default_visibility(hidden).send().await.unwrap();
    assert!(lab.managed_enis(&net.vpc).await.is_empty(), "a plain Describe call no longer sees them");
    let mut watcher = watcher_on(&lab.endpoint(), vpc_scope(&net.vpc)).await;
    let first = watcher.poll().await;
    let Item::Sample(sample) = &first.items[0] else { panic!("{first:?}") };
    assert_eq!(sample.enis.len(), 2, "{sample:?}");
}
