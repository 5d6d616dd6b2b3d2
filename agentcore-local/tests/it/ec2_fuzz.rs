//! `fuzz_ec2_query_parser`: hostile EC2 query bodies through the whole router (`app()` with
//! `oneshot`, auth disabled). Every answer is 200 with an EC2 response document or a 4xx EC2
//! `<Response><Errors>` document, never a 500 or a panic.

use std::sync::{Arc, OnceLock};

use agentcore_local::{AppState, Auth, Config, app};
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use proptest::prelude::*;
use tower::ServiceExt;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap())
}

/// One emulator for every case, with a tagged VPC, a subnet and a group to filter.
fn state() -> &'static Arc<AppState> {
    static STATE: OnceLock<Arc<AppState>> = OnceLock::new();
    STATE.get_or_init(|| {
        let state = Arc::new(AppState::new(Config { auth: Auth::Disabled, ..crate::support::manual_config() }));
        runtime().block_on(async {
            let (status, body) = call(&state, "POST", b"Action=CreateVpc&CidrBlock=10.0.0.0/16&TagSpecification.1.ResourceType=vpc&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec()).await;
            assert_eq!(status, 200, "{body}");
            let vpc = body.split("<vpcId>").nth(1).and_then(|r| r.split('<').next()).unwrap().to_string();
            let (status, body) = call(&state, "POST", format!("Action=CreateSubnet&VpcId={vpc}&CidrBlock=10.0.1.0/24&AvailabilityZoneId=use1-az1").into_bytes()).await;
            assert_eq!(status, 200, "{body}");
            let (status, body) = call(&state, "POST", format!("Action=CreateSecurityGroup&VpcId={vpc}&GroupName=g&GroupDescription=d").into_bytes()).await;
            assert_eq!(status, 200, "{body}");
        });
        state
    })
}

/// The status and body of one call; `None` when the request cannot even be built (a query
/// string the URI grammar refuses never reaches the emulator).
async fn try_call(state: &Arc<AppState>, method: &str, body: Vec<u8>) -> Option<(u16, String)> {
    let request = if method == "GET" {
        let query = String::from_utf8_lossy(&body).replace(['#', ' '], "");
        Request::builder().method("GET").uri(format!("/?{query}")).body(Body::empty())
    } else {
        Request::builder()
            .method("POST")
            .uri("/")
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(Body::from(body))
    };
    let response = app(state.clone()).oneshot(request.ok()?).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Some((status, String::from_utf8_lossy(&bytes).into_owned()))
}

async fn call(state: &Arc<AppState>, method: &str, body: Vec<u8>) -> (u16, String) {
    try_call(state, method, body).await.expect("a valid request")
}

fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => prop::sample::select(agentcore_local::ec2::ACTIONS).prop_map(str::to_string),
        1 => "[A-Za-z]{0,20}",
        1 => Just(String::new()),
        1 => "\\PC{0,10}",
    ]
}

fn index() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (1u32..4).prop_map(|i| i.to_string()),
        1 => Just("99999999999".to_string()),
        1 => Just("4294967295".to_string()),
        1 => Just("0".to_string()),
        1 => Just("-1".to_string()),
        1 => Just("01".to_string()),
        1 => "[a-z]{0,3}",
        1 => Just(String::new()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => index().prop_map(|n| format!("Filter.{n}.Name")),
        4 => (index(), index()).prop_map(|(n, m)| format!("Filter.{n}.Value.{m}")),
        1 => index().prop_map(|n| format!("Filter.{n}")),
        1 => index().prop_map(|n| format!("VpcId.{n}")),
        1 => index().prop_map(|n| format!("SubnetId.{n}")),
        1 => index().prop_map(|n| format!("GroupId.{n}")),
        1 => index().prop_map(|n| format!("NetworkInterfaceId.{n}")),
        1 => index().prop_map(|n| format!("ResourceId.{n}")),
        1 => (index(), prop::sample::select(vec!["Key", "Value"])).prop_map(|(n, k)| format!("Tag.{n}.{k}")),
        1 => (index(), prop::sample::select(vec!["ResourceType", "Tag.1.Key", "Tag.1.Value"]))
            .prop_map(|(n, k)| format!("TagSpecification.{n}.{k}")),
        2 => prop::sample::select(vec![
            "MaxResults", "NextToken", "DryRun", "CidrBlock", "VpcId", "SubnetId", "GroupId", "GroupName",
            "GroupDescription", "AvailabilityZone", "AvailabilityZoneId", "ZoneName.1", "ZoneId.1",
            "PrivateIpAddress", "InterfaceType", "Description", "ClientToken", "SecurityGroupId.1", "Version",
        ])
        .prop_map(str::to_string),
        1 => "[A-Za-z.0-9]{0,12}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "vpc-id", "tag:Name", "tag-key", "tag-value", "state", "cidr", "group-name", "subnet-id",
            "interface-type", "availability-zone", "resource-type", "key", "value", "description",
        ])
        .prop_map(str::to_string),
        3 => "[a*?\\\\]{0,40}b?",
        1 => "[*?]{100,600}",
        1 => Just("a".repeat(600)),
        1 => prop::sample::select(vec![
            "vpc-12345678", "vpc-", "sg-zzzzzzzz", "subnet-0123456789abcdef0", "10.0.0.0/16", "10.0.2.0/24",
            "300.1.1.1/8", "true", "false", "TRUE", "5", "1000", "4", "-1", "99999999999999999999",
            "eyJhY2wiffffffffffffffff", "eyJhY2wi0000000000000001", "use1-az1", "agentic_ai", "vpc",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,20}",
        1 => Just(String::new()),
    ]
}

/// Percent-encodes most of the time; sometimes leaves the text raw, or damages the encoding.
fn encode(text: &str, how: u8) -> String {
    match how % 16 {
        0 => text.to_string(),
        1 => format!("{}%", form(text)),
        2 => format!("%zz{}", form(text)),
        3 => format!("{}%ff%fe", form(text)),
        _ => form(text),
    }
}

fn form(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).unwrap().trim_start_matches('=').to_string()
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let pair = (key(), value(), any::<u8>(), any::<u8>());
    (action(), any::<u8>(), prop::collection::vec(pair, 0..12), any::<bool>(), prop::collection::vec(any::<u8>(), 0..8))
        .prop_map(|(action, how, pairs, duplicate, garbage)| {
            let mut text = format!("Action={}&Version=2016-11-15", encode(&action, how));
            for (k, v, hk, hv) in &pairs {
                text.push_str(&format!("&{}={}", encode(k, *hk), encode(v, *hv)));
                if duplicate {
                    text.push_str(&format!("&{}={}", encode(k, *hk), encode(v, hv.wrapping_add(1))));
                }
            }
            let mut bytes = text.into_bytes();
            if garbage.first().is_some_and(|b| b % 4 == 0) {
                bytes.extend_from_slice(&garbage);
            }
            bytes
        })
}

/// A body of many filters at once: beyond EC2's limits or just under them.
fn many_filters() -> impl Strategy<Value = Vec<u8>> {
    (1usize..260, 1usize..4, "[a*?]{0,30}b?").prop_map(|(filters, values, pattern)| {
        let mut text = String::from("Action=DescribeVpcs");
        for i in 1..=filters {
            text.push_str(&format!("&Filter.{i}.Name=tag:Name"));
            for j in 1..=values {
                text.push_str(&format!("&Filter.{i}.Value.{j}={}", form(&pattern)));
            }
        }
        text.into_bytes()
    })
}

fn assert_ec2_shape(status: u16, body: &str) -> Result<(), TestCaseError> {
    prop_assert_ne!(status, 500, "{}", body);
    if status == 200 {
        prop_assert!(body.starts_with("<?xml") && body.contains("<requestId>"), "{}", body);
    } else {
        prop_assert!((400..500).contains(&status), "status {}: {}", status, body);
        prop_assert!(body.contains("<Response><Errors><Error><Code>"), "{}", body);
        prop_assert!(body.contains("</Code><Message>") && body.contains("<RequestID>"), "{}", body);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_ec2_query_parser(body in prop_oneof![6 => body(), 1 => many_filters()], get in any::<bool>()) {
        let state = state();
        let method = if get { "GET" } else { "POST" };
        if let Some((status, text)) = runtime().block_on(try_call(state, method, body)) {
            assert_ec2_shape(status, &text)?;
        }
    }
}
