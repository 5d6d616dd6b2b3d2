//! Control-plane tags through `aws-sdk-bedrockagentcorecontrol`: CreateAgentRuntime `tags`,
//! TagResource, UntagResource, ListTagsForResource, and AWS's errors for bad or unknown ARNs.

use std::collections::HashMap;
use std::time::Duration;

use crate::support::{Lab, STATUS_DELAY, code, http_status};

async fn tags(lab: &Lab, arn: &str) -> HashMap<String, String> {
    lab.control.list_tags_for_resource().resource_arn(arn).send().await.unwrap().tags().cloned().unwrap_or_default()
}

#[tokio::test]
async fn tags_given_at_creation_are_listed_changed_and_removed_and_go_with_the_runtime() {
    let lab = Lab::manual().await;
    let created = lab
        .create_runtime("tagged_agent")
        .tags("agentcore-eni-lab:run-id", "20261128-170512-3fa9")
        .tags("team", "platform")
        .send()
        .await
        .unwrap();
    let arn = created.agent_runtime_arn().to_string();
    let expected: HashMap<String, String> =
        [("agentcore-eni-lab:run-id", "20261128-170512-3fa9"), ("team", "platform")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
    assert_eq!(tags(&lab, &arn).await, expected);

    // An untagged runtime lists an empty map.
    let plain = lab.create_runtime("plain_agent").send().await.unwrap();
    assert_eq!(tags(&lab, plain.agent_runtime_arn()).await, HashMap::new());

    // TagResource adds and overwrites, leaving the others alone.
    lab.control.tag_resource().resource_arn(&arn).tags("team", "sre").tags("cost", "lab").send().await.unwrap();
    let now = tags(&lab, &arn).await;
    assert_eq!(now["team"], "sre");
    assert_eq!(now["cost"], "lab");
    assert_eq!(now["agentcore-eni-lab:run-id"], "20261128-170512-3fa9");

    // UntagResource removes the keys named; unknown keys are ignored.
    lab.control.untag_resource().resource_arn(&arn).tag_keys("team").tag_keys("absent").send().await.unwrap();
    let now = tags(&lab, &arn).await;
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(!now.contains_key("team"));

    // Deleted: while DELETING the tags are still there, once gone the ARN is unknown.
    let id = created.agent_runtime_id();
    lab.control.delete_agent_runtime().agent_runtime_id(id).send().await.unwrap();
    assert_eq!(tags(&lab, &arn).await.len(), 2);
    lab.advance(STATUS_DELAY + Duration::from_secs(1));
    let err = lab.control.list_tags_for_resource().resource_arn(&arn).send().await.unwrap_err();
    assert_eq!(code(&err).0, "ResourceNotFoundException");
    assert_eq!(http_status(&err), 404);
}

#[tokio::test]
async fn unknown_and_malformed_arns_and_bad_tags_get_aws_errors() {
    let lab = Lab::manual().await;
    let unknown = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/nothing_here-abcdefghij";
    let err = lab.control.list_tags_for_resource().resource_arn(unknown).send().await.unwrap_err();
    assert_eq!(code(&err).0, "ResourceNotFoundException");
    assert!(err.as_service_error().unwrap().is_resource_not_found_exception());
    let err = lab.control.tag_resource().resource_arn(unknown).tags("a", "b").send().await.unwrap_err();
    assert!(err.as_service_error().unwrap().is_resource_not_found_exception(), "{err:?}");
    let err = lab.control.untag_resource().resource_arn(unknown).tag_keys("a").send().await.unwrap_err();
    assert!(err.as_service_error().unwrap().is_resource_not_found_exception(), "{err:?}");

    for bad in [
        "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-12345678",
        "not-an-arn-at-all-but-long",
        "arn:aws:bedrock-agentcore:us-east-1:12345:runtime/x",
    ] {
        let err = lab.control.list_tags_for_resource().resource_arn(bad).send().await.unwrap_err();
        let service = err.as_service_error().unwrap();
        assert!(service.is_validation_exception(), "{bad}: {err:?}");
        assert_eq!(http_status(&err), 400);
        assert!(code(&err).1.contains("resourceArn"), "{:?}", code(&err));
    }

    let arn = lab.create_runtime("agent").send().await.unwrap().agent_runtime_arn().to_string();
    let err = lab.control.tag_resource().resource_arn(&arn).tags("bad key!", "v").send().await.unwrap_err();
    assert!(err.as_service_error().unwrap().is_validation_exception(), "{err:?}");
    assert!(code(&err).1.contains("bad key!"), "{:?}", code(&err));
    let err = lab.control.tag_resource().resource_arn(&arn).tags("k", "x".repeat(257)).send().await.unwrap_err();
    assert!(err.as_service_error().unwrap().is_validation_exception(), "{err:?}");
    let err = lab.control.untag_resource().resource_arn(&arn).tag_keys("").send().await.unwrap_err();
    assert!(err.as_service_error().unwrap().is_validation_exception(), "{err:?}");

    // More than 50 tags in all: the quota error; the tags stay as they were.
    let mut request = lab.control.tag_resource().resource_arn(&arn);
    for i in 0..40 {
        request = request.tags(format!("k{i}"), "v");
    }
    request.send().await.unwrap();
    let mut request = lab.control.tag_resource().resource_arn(&arn);
    for i in 40..60 {
        request = request.tags(format!("k{i}"), "v");
    }
    let err = request.send().await.unwrap_err();
    assert!(err.as_service_error().unwrap().is_service_quota_exceeded_exception(), "{err:?}");
    assert_eq!(tags(&lab, &arn).await.len(), 40);

    // Bad tags at creation are refused like any other field.
    let err = lab.create_runtime("agent_two").tags("k", "no#hash").send().await.unwrap_err();
    assert_eq!(code(&err).0, "ValidationException");
    assert!(code(&err).1.contains("tags.k"), "{:?}", code(&err));
}
