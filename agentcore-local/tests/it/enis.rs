//! The AgentCore ENI mechanism as seen through the SDKs: sharing, updates, lingering, the
//! DependencyViolations a lingering ENI causes, and the per-runtime negative-control policy.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use agentcore_local::{Clock, Config, EniPolicy};
use aws_sdk_bedrockagentcorecontrol::types::{NetworkConfiguration, NetworkMode};

use crate::support::{LINGER, Lab, MANAGED_TAG, STATUS_DELAY, code, filter, manual_config, vpc_network};

fn ids(enis: &[aws_sdk_ec2::types::NetworkInterface]) -> BTreeSet<String> {
    enis.iter().map(|n| n.network_interface_id().unwrap().to_string()).collect()
}

#[tokio::test]
async fn ten_runtimes_two_subnets_one_group_share_two_enis_then_four_after_a_group_change() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let mut runtimes = Vec::new();
    for i in 0..10 {
        runtimes.push(lab.runtime(&format!("agent_{i}"), &net.subnets, &net.security_groups).await);
    }
    let enis = lab.managed_enis(&net.vpc).await;
    assert_eq!(enis.len(), 2, "one shared ENI per (subnet, SG set)");
    let mut subnets_seen = BTreeSet::new();
    for eni in &enis {
        assert_eq!(eni.interface_type().unwrap().as_str(), "agentic_ai");
        assert_eq!(eni.requester_managed(), Some(true));
        assert_eq!(eni.status().unwrap().as_str(), "in-use");
        assert_eq!(eni.description(), Some(""));
        let attachment = eni.attachment().unwrap();
        assert!(attachment.attachment_id().unwrap().starts_with("ela-attach-"));
        assert_eq!(attachment.device_index(), Some(1));
        assert_eq!(attachment.instance_owner_id(), Some("amazon-aws"));
        assert_eq!(attachment.status().unwrap().as_str(), "attached");
        assert_eq!(attachment.delete_on_termination(), Some(false));
        assert_eq!(eni.tag_set()[0].key(), Some(MANAGED_TAG));
        assert_eq!(eni.tag_set()[0].value(), Some("true"));
        let groups: Vec<&str> = eni.groups().iter().filter_map(|g| g.group_id()).collect();
        assert_eq!(groups, [net.security_groups[0].as_str()]);
        let subnet = eni.subnet_id().unwrap();
        subnets_seen.insert(subnet.to_string());
        let expected_ip = if subnet == net.subnets[0] { "10.0.1.4" } else { "10.0.2.4" };
        assert_eq!(eni.private_ip_address(), Some(expected_ip));
    }
    assert_eq!(subnets_seen, net.subnets.iter().cloned().collect());
    let counts = lab.ec2.describe_subnets().subnet_ids(&net.subnets[0]).send().await.unwrap();
    assert_eq!(counts.subnets()[0].available_ip_address_count(), Some(256 - 5 - 1));

    // The server-side interface-type filter finds them too.
    let typed = lab
        .ec2
        .describe_network_interfaces()
        .filters(filter("interface-type", ["agentic_ai"]))
        .filters(filter("requester-managed", ["true"]))
        .filters(filter("group-id", [&net.security_groups[0]]))
        .send()
        .await
        .unwrap();
    assert_eq!(typed.network_interfaces().len(), 2);
    let attached = lab
        .ec2
        .describe_network_interfaces()
        .filters(filter("attachment.instance-owner-id", ["amazon-aws"]))
        .filters(filter("status", ["in-use"]))
        .filters(filter("subnet-id", [&net.subnets[1]]))
        .send()
        .await
        .unwrap();
    assert_eq!(attached.network_interfaces().len(), 1);

    // Runtime 0 moves to a second security group: two more ENIs, the first two stay.
    lab.advance(STATUS_DELAY);
    let second_group = lab.security_group(&net.vpc, "agents-2").await;
    lab.update_runtime(&runtimes[0])
        .network_configuration(vpc_network(&net.subnets, std::slice::from_ref(&second_group)))
        .send()
        .await
        .unwrap();
    let after = lab.managed_enis(&net.vpc).await;
    assert_eq!(after.len(), 4);
    assert!(ids(&enis).is_subset(&ids(&after)));
    let on_second: Vec<_> =
        after.iter().filter(|n| n.groups().iter().any(|g| g.group_id() == Some(second_group.as_str()))).collect();
    assert_eq!(on_second.len(), 2);

    // Moving runtime 0 back leaves the second group's ENIs unused: they linger, then go.
    lab.advance(STATUS_DELAY);
    lab.update_runtime(&runtimes[0])
        .network_configuration(vpc_network(&net.subnets, &net.security_groups))
        .send()
        .await
        .unwrap();
    assert_eq!(lab.managed_enis(&net.vpc).await.len(), 4);
    lab.advance(LINGER);
    assert_eq!(ids(&lab.managed_enis(&net.vpc).await), ids(&enis));
}

#[tokio::test]
async fn an_unused_eni_lingers_blocks_deletions_then_vanishes() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let id = lab.runtime("short_lived", &net.subnets[..1], &net.security_groups).await;
    let eni = lab.managed_enis(&net.vpc).await;
    assert_eq!(eni.len(), 1);
    let eni_id = eni[0].network_interface_id().unwrap().to_string();
    lab.advance(STATUS_DELAY);
    lab.control.delete_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    lab.advance(STATUS_DELAY);
    let err = lab.control.get_agent_runtime().agent_runtime_id(&id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "ResourceNotFoundException", "the runtime is gone");
    assert_eq!(lab.managed_enis(&net.vpc).await.len(), 1, "its ENI lingers");

    let sg = &net.security_groups[0];
    let err = lab.ec2.delete_security_group().group_id(sg).send().await.unwrap_err();
    assert_eq!(code(&err), ("DependencyViolation".into(), format!("resource {sg} has a dependent object")));
    let subnet = &net.subnets[0];
    let err = lab.ec2.delete_subnet().subnet_id(subnet).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("DependencyViolation".into(), format!("The subnet '{subnet}' has dependencies and cannot be deleted."))
    );
    lab.ec2.delete_subnet().subnet_id(&net.subnets[1]).send().await.unwrap();
    let err = lab.ec2.delete_vpc().vpc_id(&net.vpc).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation");
    // Users cannot delete AgentCore's ENIs themselves.
    let err = lab.ec2.delete_network_interface().network_interface_id(&eni_id).send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("InvalidNetworkInterface.InUse".into(), format!("Network interface '{eni_id}' is currently in use."))
    );

    lab.advance(LINGER - Duration::from_secs(1));
    assert_eq!(lab.managed_enis(&net.vpc).await.len(), 1, "one second before the deadline");
    lab.advance(Duration::from_secs(1));
    assert!(lab.managed_enis(&net.vpc).await.is_empty(), "deleted at the deadline");
    let counts = lab.ec2.describe_subnets().subnet_ids(subnet).send().await.unwrap();
    assert_eq!(counts.subnets()[0].available_ip_address_count(), Some(256 - 5), "IP freed");
    lab.ec2.delete_security_group().group_id(sg).send().await.unwrap();
    lab.ec2.delete_subnet().subnet_id(subnet).send().await.unwrap();
    lab.ec2.delete_vpc().vpc_id(&net.vpc).send().await.unwrap();
}

#[tokio::test]
async fn a_runtime_in_use_blocks_its_security_group() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    lab.runtime("holder", &net.subnets, &net.security_groups).await;
    let err = lab.ec2.delete_security_group().group_id(&net.security_groups[0]).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation");
}

#[tokio::test]
async fn a_new_runtime_reuses_a_lingering_eni() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let first = lab.runtime("first", &net.subnets[..1], &net.security_groups).await;
    let original = ids(&lab.managed_enis(&net.vpc).await);
    lab.control.delete_agent_runtime().agent_runtime_id(&first).send().await.unwrap();
    lab.advance(STATUS_DELAY + LINGER / 2);
    lab.runtime("second", &net.subnets[..1], &net.security_groups).await;
    assert_eq!(ids(&lab.managed_enis(&net.vpc).await), original);
    lab.advance(LINGER);
    assert_eq!(ids(&lab.managed_enis(&net.vpc).await), original, "in use again: no expiry");
    let snapshot = lab.handle.snapshot();
    let enis = &snapshot["regions"]["us-east-1"]["networkInterfaces"];
    assert_eq!(enis[0]["lingerUntil"], serde_json::Value::Null);
    assert_eq!(enis[0]["usedBy"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn switching_to_public_mode_releases_the_enis() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let id = lab.runtime("goes_public", &net.subnets, &net.security_groups).await;
    lab.advance(STATUS_DELAY);
    lab.update_runtime(&id)
        .network_configuration(NetworkConfiguration::builder().network_mode(NetworkMode::Public).build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(lab.managed_enis(&net.vpc).await.len(), 2);
    lab.advance(LINGER);
    assert!(lab.managed_enis(&net.vpc).await.is_empty());
    // PUBLIC runtimes never get ENIs.
    lab.create_runtime("always_public").send().await.unwrap();
    assert!(lab.managed_enis(&net.vpc).await.is_empty());
}

#[tokio::test]
async fn per_runtime_policy_gives_every_runtime_its_own_enis() {
    let lab = Lab::start(Config { eni_policy: EniPolicy::PerRuntime, ..manual_config() }).await;
    let net = lab.network().await;
    for i in 0..10 {
        lab.runtime(&format!("agent_{i}"), &net.subnets, &net.security_groups).await;
    }
    assert_eq!(lab.managed_enis(&net.vpc).await.len(), 20);
}

#[tokio::test]
async fn a_full_subnet_fails_the_runtime() {
    let lab = Lab::manual().await;
    let vpc = lab.vpc("10.0.0.0/16").await;
    let subnet = lab.subnet(&vpc, "10.0.0.0/28", "use1-az1").await;
    let sg = lab.security_group(&vpc, "agents").await;
    for _ in 0..(16 - 5) {
        lab.ec2.create_network_interface().subnet_id(&subnet).send().await.unwrap();
    }
    let id = lab.runtime("no_room", std::slice::from_ref(&subnet), &[sg]).await;
    let got = lab.control.get_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    assert_eq!(got.status().as_str(), "CREATE_FAILED");
    assert!(got.failure_reason().unwrap().contains(&subnet));
    assert!(lab.managed_enis(&vpc).await.is_empty());
    let err = lab.ec2.create_network_interface().subnet_id(&subnet).send().await.unwrap_err();
    assert_eq!(code(&err).0, "InsufficientFreeAddressesInSubnet");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linger_runs_on_the_scaled_clock() {
    // 8 h of linger at 7200× is 4 s of wall time; the status delay (30 s) is ~4 ms.
    let lab = Lab::start(Config {
        clock: Clock::scaled(7200.0).unwrap(),
        status_delay: STATUS_DELAY,
        eni_linger: LINGER,
        ..Config::default()
    })
    .await;
    let net = lab.network().await;
    let id = lab.runtime("scaled", &net.subnets[..1], &net.security_groups).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while lab.status(&id).await != "READY" {
        assert!(Instant::now() < deadline, "never became READY");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    lab.control.delete_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    let started = Instant::now();
    let err = lab.ec2.delete_security_group().group_id(&net.security_groups[0]).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation", "blocked while the ENI lingers");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !lab.managed_enis(&net.vpc).await.is_empty() {
        assert!(Instant::now() < deadline, "the ENI never went away");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(3), "vanished too early: {waited:?}");
    lab.ec2.delete_security_group().group_id(&net.security_groups[0]).send().await.unwrap();
}

/// `eni_create_delay`: a runtime's new ENIs appear that long after it asked for them (on the service
/// clock), while a runtime whose subnets and groups already have ENIs shares them at once; a pending
/// ENI no runtime needs any more is never created.
#[tokio::test]
async fn new_enis_appear_after_their_creation_delay_and_shared_ones_serve_at_once() {
    // Longer than the status delay (30 s), so a runtime can be READY and deleted before its ENIs come.
    let delay = Duration::from_secs(100);
    let lab = Lab::start(Config { eni_create_delay: delay, ..manual_config() }).await;
    let net = lab.network().await;
    let first = lab.runtime("first", &net.subnets, &net.security_groups).await;
    assert!(lab.managed_enis(&net.vpc).await.is_empty(), "no ENI at once");
    lab.advance(delay - Duration::from_secs(1));
    assert!(lab.managed_enis(&net.vpc).await.is_empty(), "none a second early");
    assert_eq!(lab.status(&first).await, "READY", "READY before its ENIs");
    lab.advance(Duration::from_secs(1));
    let enis = lab.managed_enis(&net.vpc).await;
    assert_eq!(enis.len(), 2, "one per subnet, on time");
    // A second runtime on the same subnets and group shares them at once.
    lab.runtime("second", &net.subnets, &net.security_groups).await;
    assert_eq!(ids(&lab.managed_enis(&net.vpc).await), ids(&enis));
    // A runtime on a new group waits again; deleted before its ENIs came, it never gets them.
    let other = lab.security_group(&net.vpc, "other").await;
    let third = lab.runtime("third", &net.subnets, std::slice::from_ref(&other)).await;
    lab.advance(STATUS_DELAY);
    assert_eq!(ids(&lab.managed_enis(&net.vpc).await), ids(&enis));
    lab.delete(&third).await;
    lab.advance(delay);
    assert_eq!(ids(&lab.managed_enis(&net.vpc).await), ids(&enis), "the deleted runtime's ENIs never came");
}
