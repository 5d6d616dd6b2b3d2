//! SigV4: what unsigned, badly signed and foreign-key requests get from each protocol.

use agentcore_local::{Auth, Config};
use aws_sdk_bedrockagentcorecontrol as control;
use aws_sdk_ec2 as ec2;

use crate::support::{Lab, REGION, code, http_status, manual_config, sdk_config_as};

async fn clients(lab: &Lab, key: &str, secret: &str) -> (ec2::Client, control::Client) {
    let sdk = sdk_config_as(&lab.handle.endpoint_url(), key, secret, REGION).await;
    (ec2::Client::new(&sdk), control::Client::new(&sdk))
}

#[tokio::test]
async fn wrong_secret_is_refused_by_both_protocols() {
    let lab = Lab::manual().await;
    let (ec2, control) = clients(&lab, "test", "not-the-secret").await;
    let err = ec2.describe_vpcs().send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("AuthFailure".into(), "AWS was not able to validate the provided access credentials".into())
    );
    assert_eq!(http_status(&err), 401);
    let err = control.list_agent_runtimes().send().await.unwrap_err();
    assert_eq!(code(&err).0, "InvalidSignatureException");
    assert!(code(&err).1.starts_with("The request signature we calculated does not match"));
    assert_eq!(http_status(&err), 403);
}

#[tokio::test]
async fn unknown_access_key_is_refused() {
    let lab = Lab::manual().await;
    let (ec2, control) = clients(&lab, "AKIDEXAMPLE", "test").await;
    let err = control.list_agent_runtimes().send().await.unwrap_err();
    assert_eq!(
        code(&err),
        ("UnrecognizedClientException".into(), "The security token included in the request is invalid.".into())
    );
    assert_eq!(http_status(&err), 403);
    assert_eq!(code(&ec2.describe_vpcs().send().await.unwrap_err()).0, "AuthFailure");
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    let lab = Lab::manual().await;
    let http = reqwest::Client::new();
    let url = lab.handle.endpoint_url();
    let ec2 = http
        .post(format!("{url}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Action=DescribeVpcs&Version=2016-11-15")
        .send()
        .await
        .unwrap();
    assert_eq!(ec2.status().as_u16(), 401);
    let body = ec2.text().await.unwrap();
    assert!(body.contains("<Response><Errors><Error><Code>MissingAuthenticationToken</Code>"), "{body}");
    let control = http.post(format!("{url}/runtimes")).send().await.unwrap();
    assert_eq!(control.status().as_u16(), 403);
    assert_eq!(control.headers()["x-amzn-errortype"], "MissingAuthenticationTokenException");
    assert!(control.headers().contains_key("x-amzn-requestid"));
    let json: serde_json::Value = control.json().await.unwrap();
    assert_eq!(json["message"], "Missing Authentication Token");
    // A signature that does not match the body.
    let forged = http
        .post(format!("{url}/runtimes"))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/bedrock-agentcore/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=00",
        )
        .header("x-amz-date", "20260101T000000Z")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert_eq!(forged.headers()["x-amzn-errortype"], "InvalidSignatureException");
}

#[tokio::test]
async fn configured_credentials_and_disabled_auth() {
    let lab = Lab::start(Config {
        auth: Auth::SigV4 { access_key_id: "AKIALOCAL".into(), secret_access_key: "s3cret".into() },
        ..manual_config()
    })
    .await;
    let (ec2, _) = clients(&lab, "AKIALOCAL", "s3cret").await;
    ec2.describe_vpcs().send().await.unwrap();
    assert_eq!(code(&lab.ec2.describe_vpcs().send().await.unwrap_err()).0, "AuthFailure");

    let open = Lab::start(Config { auth: Auth::Disabled, ..manual_config() }).await;
    let (ec2, _) = clients(&open, "anything", "goes").await;
    ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap();
    let unsigned = reqwest::Client::new()
        .post(format!("{}/", open.handle.endpoint_url()))
        .body("Action=DescribeVpcs")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 200);
    let body = unsigned.text().await.unwrap();
    assert!(body.contains("<cidrBlock>10.0.0.0/16</cidrBlock>"), "default region us-east-1: {body}");
}

/// Regions the catalogue does not know are refused in each protocol's shape, with auth on and
/// off, and leave no trace in the state.
#[tokio::test]
async fn signatures_scoped_to_unknown_regions_are_refused_and_create_nothing() {
    for auth in [Auth::default(), Auth::Disabled] {
        let lab = Lab::start(Config { auth: auth.clone(), ..manual_config() }).await;
        for region in ["zz-fake-9", "us-east-1x", "US-EAST-1"] {
            let sdk = sdk_config_as(&lab.handle.endpoint_url(), "test", "test", region).await;
            let err = ec2::Client::new(&sdk).describe_vpcs().send().await.unwrap_err();
            let expected = format!("Credential should be scoped to a valid region, not '{region}'. ");
            assert_eq!(code(&err), ("AuthFailure".into(), expected.clone()), "{auth:?} {region}");
            assert_eq!(http_status(&err), 401);
            let err = control::Client::new(&sdk).list_agent_runtimes().send().await.unwrap_err();
            assert_eq!(code(&err), ("InvalidSignatureException".into(), expected), "{auth:?} {region}");
            assert_eq!(http_status(&err), 403);
        }
        let regions = lab.handle.snapshot()["regions"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert!(regions.iter().all(|r| agentcore_local::catalog::region(r).is_some()), "{auth:?}: {regions:?}");
        // A known region still works.
        lab.ec2.describe_vpcs().send().await.unwrap();
    }
}
