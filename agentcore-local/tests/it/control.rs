//! The control plane through `aws-sdk-bedrockagentcorecontrol`.

use aws_sdk_bedrockagentcorecontrol::operation::create_agent_runtime::CreateAgentRuntimeError;
use aws_sdk_bedrockagentcorecontrol::types::{
    AgentRuntimeStatus, LifecycleConfiguration, NetworkConfiguration, NetworkMode, ProtocolConfiguration,
    ServerProtocol, ValidationExceptionReason,
};

use crate::support::{IMAGE, Lab, ROLE_ARN, STATUS_DELAY, code, container, http_status, token, vpc_network};

#[tokio::test]
async fn create_get_update_delete_with_status_transitions() {
    let lab = Lab::manual().await;
    let net = lab.network().await;
    let created = lab
        .create_runtime("my_agent")
        .network_configuration(vpc_network(&net.subnets, &net.security_groups))
        .protocol_configuration(ProtocolConfiguration::builder().server_protocol(ServerProtocol::Http).build().unwrap())
        .description("the first agent")
        .environment_variables("MODE", "test")
        .send()
        .await
        .unwrap();
    let id = created.agent_runtime_id().to_string();
    let (name, suffix) = id.split_once('-').unwrap();
    assert_eq!(name, "my_agent");
    assert_eq!(suffix.len(), 10);
    assert!(suffix.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(created.agent_runtime_arn(), format!("arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/{id}"));
    assert_eq!(created.agent_runtime_version(), "1");
    assert_eq!(created.status(), &AgentRuntimeStatus::Creating);
    assert!(created.workload_identity_details().is_some());

    let got = lab.control.get_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    assert_eq!(got.status(), &AgentRuntimeStatus::Creating);
    assert_eq!(got.agent_runtime_name(), "my_agent");
    assert_eq!(got.role_arn(), ROLE_ARN);
    assert_eq!(got.description(), Some("the first agent"));
    assert_eq!(got.environment_variables().unwrap()["MODE"], "test");
    let lifecycle = got.lifecycle_configuration().unwrap();
    assert_eq!(lifecycle.idle_runtime_session_timeout(), Some(900));
    assert_eq!(lifecycle.max_lifetime(), Some(28_800));
    let network = got.network_configuration().unwrap();
    assert_eq!(network.network_mode(), &NetworkMode::Vpc);
    assert_eq!(network.network_mode_config().unwrap().subnets(), net.subnets.as_slice());
    match got.agent_runtime_artifact().unwrap() {
        aws_sdk_bedrockagentcorecontrol::types::AgentRuntimeArtifact::ContainerConfiguration(c) => {
            assert_eq!(c.container_uri(), IMAGE)
        }
        other => panic!("unexpected artifact {other:?}"),
    }

    // Updating while CREATING conflicts; after the status delay it is READY.
    let err = lab
        .update_runtime(&id)
        .network_configuration(vpc_network(&net.subnets, &net.security_groups))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "ConflictException");
    assert_eq!(http_status(&err), 409);
    lab.advance(STATUS_DELAY / 2);
    assert_eq!(lab.status(&id).await, "CREATING");
    lab.advance(STATUS_DELAY / 2);
    assert_eq!(lab.status(&id).await, "READY");

    let updated = lab
        .update_runtime(&id)
        .network_configuration(vpc_network(&net.subnets[..1], &net.security_groups))
        .lifecycle_configuration(LifecycleConfiguration::builder().max_lifetime(600).build())
        .send()
        .await
        .unwrap();
    assert_eq!(updated.agent_runtime_version(), "2");
    assert_eq!(updated.status(), &AgentRuntimeStatus::Updating);
    lab.advance(STATUS_DELAY);
    let got = lab.control.get_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    assert_eq!(got.status(), &AgentRuntimeStatus::Ready);
    assert_eq!(got.agent_runtime_version(), "2");
    assert_eq!(got.description(), None, "an update replaces the whole specification");
    let lifecycle = got.lifecycle_configuration().unwrap();
    assert_eq!(lifecycle.idle_runtime_session_timeout(), Some(600));
    assert_eq!(lifecycle.max_lifetime(), Some(600));
    let v1 = lab.control.get_agent_runtime().agent_runtime_id(&id).agent_runtime_version("1").send().await.unwrap();
    assert_eq!(v1.agent_runtime_version(), "1");
    assert_eq!(v1.description(), Some("the first agent"));
    let err =
        lab.control.get_agent_runtime().agent_runtime_id(&id).agent_runtime_version("7").send().await.unwrap_err();
    assert_eq!(code(&err).0, "ResourceNotFoundException");

    let versions = lab.control.list_agent_runtime_versions().agent_runtime_id(&id).send().await.unwrap();
    let listed: Vec<&str> = versions.agent_runtimes().iter().map(|v| v.agent_runtime_version()).collect();
    assert_eq!(listed, ["2", "1"]);

    let deleted = lab.control.delete_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    assert_eq!(deleted.status(), &AgentRuntimeStatus::Deleting);
    assert_eq!(deleted.agent_runtime_id(), Some(id.as_str()));
    assert_eq!(lab.status(&id).await, "DELETING");
    let again = lab.control.delete_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    assert_eq!(again.status(), &AgentRuntimeStatus::Deleting);
    lab.advance(STATUS_DELAY);
    let err = lab.control.get_agent_runtime().agent_runtime_id(&id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "ResourceNotFoundException");
    assert_eq!(http_status(&err), 404);
    let err = lab.control.delete_agent_runtime().agent_runtime_id(&id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "ResourceNotFoundException");
    let err = lab.control.list_agent_runtime_versions().agent_runtime_id(&id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "ResourceNotFoundException");
}

#[tokio::test]
async fn public_mode_is_the_default_and_needs_no_network() {
    let lab = Lab::manual().await;
    let id = lab.create_runtime("public_agent").send().await.unwrap().agent_runtime_id().to_string();
    let got = lab.control.get_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    assert_eq!(got.network_configuration().unwrap().network_mode(), &NetworkMode::Public);
}

#[tokio::test]
async fn validation_errors_have_aws_shape() {
    let lab = Lab::manual().await;
    let net = lab.network().await;

    let err = lab.create_runtime("bad-name").send().await.unwrap_err();
    assert_eq!(http_status(&err), 400);
    let service = err.into_service_error();
    let CreateAgentRuntimeError::ValidationException(v) = &service else {
        panic!("expected ValidationException, got {service:?}");
    };
    assert_eq!(v.reason(), &ValidationExceptionReason::FieldValidationFailed);
    assert_eq!(v.field_list()[0].name(), "agentRuntimeName");
    assert_eq!(
        v.message(),
        "1 validation error detected: Value 'bad-name' at 'agentRuntimeName' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9_]{0,47}"
    );

    // Missing required members are all reported at once.
    let err = lab.control.create_agent_runtime().send().await.unwrap_err();
    let (c, message) = code(&err);
    assert_eq!(c, "ValidationException");
    assert!(message.starts_with("3 validation errors detected"), "{message}");

    let cases: Vec<(&str, NetworkConfiguration, &str)> = vec![
        (
            "vpc_without_config",
            NetworkConfiguration::builder().network_mode(NetworkMode::Vpc).build().unwrap(),
            "NetworkModeConfig is required for VPC mode",
        ),
        (
            "unknown_subnet",
            vpc_network(&["subnet-0123456789abcdef0".into()], &net.security_groups),
            "The subnet ID 'subnet-0123456789abcdef0' does not exist",
        ),
        (
            "unknown_group",
            vpc_network(&net.subnets, &["sg-0123456789abcdef0".into()]),
            "The security group 'sg-0123456789abcdef0' does not exist",
        ),
        (
            "bad_subnet_id",
            vpc_network(&["subnet-1".into()], &net.security_groups),
            "Member must satisfy regular expression pattern: subnet-[0-9a-zA-Z]{8,17}",
        ),
        (
            "too_many_groups",
            vpc_network(&net.subnets, &vec![net.security_groups[0].clone(); 17]),
            "Member must have length less than or equal to 16",
        ),
        (
            "no_subnets",
            vpc_network(&[], &net.security_groups),
            "Member must have length less than or equal to 16 and greater than or equal to 1",
        ),
    ];
    for (name, network, expected) in cases {
        let err = lab.create_runtime(name).network_configuration(network).send().await.unwrap_err();
        let (c, message) = code(&err);
        assert_eq!(c, "ValidationException", "{name}");
        assert!(message.contains(expected), "{name}: {message}");
    }

    // Subnets in another VPC, and in an AZ AgentCore does not support.
    let other_vpc = lab.vpc("10.5.0.0/16").await;
    let other_subnet = lab.subnet(&other_vpc, "10.5.1.0/24", "use1-az1").await;
    let err = lab
        .create_runtime("two_vpcs")
        .network_configuration(vpc_network(&[other_subnet], &net.security_groups))
        .send()
        .await
        .unwrap_err();
    assert!(code(&err).1.contains("same VPC"), "{:?}", code(&err));
    let unsupported = lab.subnet(&net.vpc, "10.0.3.0/24", "use1-az3").await;
    let err = lab
        .create_runtime("bad_zone")
        .network_configuration(vpc_network(std::slice::from_ref(&unsupported), &net.security_groups))
        .send()
        .await
        .unwrap_err();
    let (c, message) = code(&err);
    assert_eq!(c, "ValidationException");
    assert!(message.contains("use1-az3"), "{message}");
    assert!(message.contains("use1-az1, use1-az2, use1-az4"), "{message}");

    // Lifecycle: idle timeout above max lifetime, and out of range.
    let err = lab
        .create_runtime("idle_too_long")
        .lifecycle_configuration(
            LifecycleConfiguration::builder().idle_runtime_session_timeout(3600).max_lifetime(1800).build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(code(&err).1.contains("less than or equal to maxLifetime"), "{:?}", code(&err));
    let err = lab
        .create_runtime("lifetime_too_long")
        .lifecycle_configuration(LifecycleConfiguration::builder().max_lifetime(28_801).build())
        .send()
        .await
        .unwrap_err();
    assert!(code(&err).1.contains("between 60 and 28800"), "{:?}", code(&err));

    let err = lab
        .control
        .create_agent_runtime()
        .agent_runtime_name("bad_role")
        .agent_runtime_artifact(container())
        .role_arn("arn:aws:iam::123:user/x")
        .send()
        .await
        .unwrap_err();
    assert!(code(&err).1.contains("'roleArn'"), "{:?}", code(&err));

    let err = lab.create_runtime("short_token").client_token("abc").send().await.unwrap_err();
    assert!(code(&err).1.contains("between 33 and 256"), "{:?}", code(&err));

    // Nothing was created by any of these.
    let listed = lab.control.list_agent_runtimes().send().await.unwrap();
    assert!(listed.agent_runtimes().is_empty());
}

#[tokio::test]
async fn duplicate_names_conflict_until_deletion_completes() {
    let lab = Lab::manual().await;
    let id = lab.create_runtime("twin").send().await.unwrap().agent_runtime_id().to_string();
    let err = lab.create_runtime("twin").send().await.unwrap_err();
    assert_eq!(code(&err).0, "ConflictException");
    assert_eq!(http_status(&err), 409);
    lab.control.delete_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    let err = lab.create_runtime("twin").send().await.unwrap_err();
    assert_eq!(code(&err).0, "ConflictException", "still DELETING");
    lab.advance(STATUS_DELAY);
    lab.create_runtime("twin").send().await.unwrap();
}

#[tokio::test]
async fn client_token_idempotency() {
    let lab = Lab::manual().await;
    let first = lab.create_runtime("idem").client_token(token(1)).send().await.unwrap();
    let again = lab.create_runtime("idem").client_token(token(1)).send().await.unwrap();
    assert_eq!(first.agent_runtime_id(), again.agent_runtime_id());
    assert_eq!(first.created_at(), again.created_at());
    let listed = lab.control.list_agent_runtimes().send().await.unwrap();
    assert_eq!(listed.agent_runtimes().len(), 1);

    let err = lab.create_runtime("idem").client_token(token(1)).description("different body").send().await.unwrap_err();
    let service = err.into_service_error();
    let CreateAgentRuntimeError::ValidationException(v) = &service else {
        panic!("expected ValidationException, got {service:?}");
    };
    assert_eq!(v.reason(), &ValidationExceptionReason::IdempotentParameterMismatchException);

    // Updates: the same token and body makes one version, not two.
    let id = first.agent_runtime_id().to_string();
    lab.advance(STATUS_DELAY);
    for _ in 0..2 {
        let out = lab
            .update_runtime(&id)
            .network_configuration(NetworkConfiguration::builder().network_mode(NetworkMode::Public).build().unwrap())
            .client_token(token(2))
            .send()
            .await
            .unwrap();
        assert_eq!(out.agent_runtime_version(), "2");
    }
}

#[tokio::test]
async fn list_agent_runtimes_paginates() {
    let lab = Lab::manual().await;
    for i in 0..7 {
        lab.create_runtime(&format!("agent_{i}")).send().await.unwrap();
    }
    let first = lab.control.list_agent_runtimes().max_results(3).send().await.unwrap();
    assert_eq!(first.agent_runtimes().len(), 3);
    assert_eq!(first.agent_runtimes()[0].agent_runtime_name(), "agent_0");
    assert!(first.next_token().is_some());
    let names: Vec<String> = lab
        .control
        .list_agent_runtimes()
        .max_results(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.agent_runtime_name().to_string())
        .collect();
    assert_eq!(names, (0..7).map(|i| format!("agent_{i}")).collect::<Vec<_>>());
    let err = lab.control.list_agent_runtimes().max_results(0).send().await.unwrap_err();
    assert_eq!(code(&err).0, "ValidationException");
    let err = lab.control.list_agent_runtimes().max_results(101).send().await.unwrap_err();
    assert_eq!(code(&err).0, "ValidationException");
    let err = lab.control.list_agent_runtimes().next_token("bogus").send().await.unwrap_err();
    assert_eq!(code(&err).0, "ValidationException");
}

#[tokio::test]
async fn default_endpoint_follows_the_runtime() {
    let lab = Lab::manual().await;
    let id = lab.create_runtime("endpointed").send().await.unwrap().agent_runtime_id().to_string();
    let endpoints = lab.control.list_agent_runtime_endpoints().agent_runtime_id(&id).send().await.unwrap();
    let endpoint = &endpoints.runtime_endpoints()[0];
    assert_eq!(endpoint.name(), "DEFAULT");
    assert_eq!(endpoint.status().as_str(), "CREATING");
    assert_eq!(endpoint.target_version(), Some("1"));
    assert!(endpoint.agent_runtime_endpoint_arn().ends_with(&format!("runtime/{id}/runtime-endpoint/DEFAULT")));
    lab.advance(STATUS_DELAY);
    let endpoints = lab.control.list_agent_runtime_endpoints().agent_runtime_id(&id).send().await.unwrap();
    let endpoint = &endpoints.runtime_endpoints()[0];
    assert_eq!(endpoint.status().as_str(), "READY");
    assert_eq!(endpoint.live_version(), Some("1"));
    assert_eq!(endpoint.target_version(), None);

    let unknown =
        lab.control.list_agent_runtime_endpoints().agent_runtime_id("nobody-AbCdEf1234").send().await.unwrap();
    assert!(unknown.runtime_endpoints().is_empty());
}

#[tokio::test]
async fn update_and_get_of_unknown_runtimes() {
    let lab = Lab::manual().await;
    let err = lab
        .update_runtime("ghost-AbCdEf1234")
        .network_configuration(NetworkConfiguration::builder().network_mode(NetworkMode::Public).build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "ResourceNotFoundException");
    let id = lab.create_runtime("partial").send().await.unwrap().agent_runtime_id().to_string();
    lab.advance(STATUS_DELAY);
    // networkConfiguration is optional in the model: without it the runtime keeps its network.
    let updated = lab.update_runtime(&id).send().await.unwrap();
    assert_eq!(updated.agent_runtime_version(), "2");
    let got = lab.control.get_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    assert_eq!(got.network_configuration().unwrap().network_mode(), &NetworkMode::Public);
}

/// `--fault control:DeleteAgentRuntime:DELETE_FAILED:1`: the deletion is accepted, then ends
/// DELETE_FAILED with a reason; the runtime, its ENIs and its network stay, it serves nothing and
/// cannot be updated, and a later DeleteAgentRuntime starts the deletion again.
#[tokio::test]
async fn an_outcome_fault_ends_a_deletion_delete_failed_and_the_runtime_keeps_its_enis() {
    let faults = vec!["control:DeleteAgentRuntime:DELETE_FAILED:1".parse().unwrap()];
    let lab = Lab::start(agentcore_local::Config { faults, ..crate::support::manual_config() }).await;
    let net = lab.network().await;
    let id = lab.runtime("fails_to_go", &net.subnets, &net.security_groups).await;
    lab.advance(STATUS_DELAY);
    lab.delete(&id).await;
    assert_eq!(lab.status(&id).await, "DELETING");
    lab.advance(STATUS_DELAY);
    let got = lab.control.get_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    assert_eq!(got.status(), &AgentRuntimeStatus::DeleteFailed);
    assert!(got.failure_reason().is_some_and(|r| r.contains("could not be deleted")), "{got:?}");
    assert_eq!(lab.managed_enis(&net.vpc).await.len(), 2, "the ENIs stay with the runtime");
    let listed = lab.control.list_agent_runtimes().send().await.unwrap();
    assert_eq!(listed.agent_runtimes()[0].status(), &AgentRuntimeStatus::DeleteFailed);
    let default =
        lab.control.get_agent_runtime_endpoint().agent_runtime_id(&id).endpoint_name("DEFAULT").send().await.unwrap();
    assert_eq!(default.status(), &aws_sdk_bedrockagentcorecontrol::types::AgentRuntimeEndpointStatus::DeleteFailed);
    let err = lab.update_runtime(&id).send().await.unwrap_err();
    assert_eq!(code(&err).0, "ConflictException");
    let err = lab.ec2.delete_security_group().group_id(&net.security_groups[0]).send().await.unwrap_err();
    assert_eq!(code(&err).0, "DependencyViolation", "the group is still the runtime's");
    let err = lab.control.create_agent_runtime_endpoint().agent_runtime_id(&id).name("later").send().await.unwrap_err();
    assert_eq!(code(&err).0, "ConflictException", "no new endpoint on a DELETE_FAILED runtime");
    // Deleting again starts over (and, the fault being certain, fails again).
    lab.delete(&id).await;
    let again = lab.control.get_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    assert_eq!((again.status(), again.failure_reason()), (&AgentRuntimeStatus::Deleting, None));
    lab.advance(STATUS_DELAY);
    assert_eq!(lab.status(&id).await, "DELETE_FAILED");
}

/// Outcome faults for creation and update end them CREATE_FAILED (no network held) and
/// UPDATE_FAILED, with a reason.
#[tokio::test]
async fn outcome_faults_end_creation_and_update_failed() {
    let faults = vec![
        "control:CreateAgentRuntime:CREATE_FAILED:1".parse().unwrap(),
        "control:UpdateAgentRuntime:UPDATE_FAILED:1".parse().unwrap(),
    ];
    let lab = Lab::start(agentcore_local::Config { faults, ..crate::support::manual_config() }).await;
    let net = lab.network().await;
    let id = lab.runtime("fails_to_be", &net.subnets, &net.security_groups).await;
    assert_eq!(lab.status(&id).await, "CREATING");
    lab.advance(STATUS_DELAY);
    let got = lab.control.get_agent_runtime().agent_runtime_id(&id).send().await.unwrap();
    assert_eq!(got.status(), &AgentRuntimeStatus::CreateFailed);
    assert!(got.failure_reason().is_some_and(|r| r.contains("could not be created")), "{got:?}");
    let public = lab.create_runtime("public_one").send().await.unwrap().agent_runtime_id().to_string();
    lab.advance(STATUS_DELAY);
    lab.update_runtime(&public).send().await.unwrap();
    lab.advance(STATUS_DELAY);
    assert_eq!(lab.status(&public).await, "UPDATE_FAILED");
}

/// ListAgentRuntimeVersionsByCapacityProvider lists the versions whose capacityProviderConfiguration
/// names the provider, newest first; an id nothing names lists nothing; a malformed id is refused.
#[tokio::test]
async fn versions_are_listed_by_the_capacity_provider_they_name() {
    use aws_sdk_bedrockagentcorecontrol::types::CapacityProviderConfiguration;
    let lab = Lab::manual().await;
    let provider = |id: &str| {
        CapacityProviderConfiguration::builder()
            .capacity_provider_arn(format!("arn:aws:bedrock-agentcore:us-east-1:123456789012:capacity-provider/{id}"))
            .build()
    };
    let on_a = lab
        .create_runtime("on_a")
        .capacity_provider_configuration(provider("fleet_a-0123456789"))
        .send()
        .await
        .unwrap()
        .agent_runtime_id()
        .to_string();
    lab.create_runtime("on_b").capacity_provider_configuration(provider("fleet_b-0123456789")).send().await.unwrap();
    lab.create_runtime("on_none").send().await.unwrap();
    lab.advance(STATUS_DELAY);
    lab.update_runtime(&on_a).capacity_provider_configuration(provider("fleet_a-0123456789")).send().await.unwrap();
    let listed = lab
        .control
        .list_agent_runtime_versions_by_capacity_provider()
        .capacity_provider_id("fleet_a-0123456789")
        .send()
        .await
        .unwrap();
    let versions: Vec<(&str, &str, &str)> = listed
        .agent_runtimes()
        .iter()
        .map(|v| (v.agent_runtime_arn(), v.agent_runtime_version(), v.status().as_str()))
        .collect();
    let arn = format!("arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/{on_a}");
    assert_eq!(versions, [(arn.as_str(), "2", "UPDATING"), (arn.as_str(), "1", "READY")]);
    let none = lab
        .control
        .list_agent_runtime_versions_by_capacity_provider()
        .capacity_provider_id("fleet_c-0123456789")
        .send()
        .await
        .unwrap();
    assert!(none.agent_runtimes().is_empty());
    let err = lab
        .control
        .list_agent_runtime_versions_by_capacity_provider()
        .capacity_provider_id("not a provider")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err).0, "ValidationException");
}
