//! `eni-lab iam-policy` against the code: every SDK operation that eni-lab, eni-watch and loadgen
//! call is allowed, and every allowed action is a real operation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use test_support::toolchain::{cargo, host_triple};

use crate::support::{eni_lab, scratch, stderr};

/// IAM service prefix of each AWS SDK crate the workspace uses.
const SDK_SERVICES: &[(&str, &str)] = &[
    ("aws-sdk-ec2", "ec2"),
    ("aws-sdk-iam", "iam"),
    ("aws-sdk-ecr", "ecr"),
    ("aws-sdk-sts", "sts"),
    ("aws-sdk-bedrockagentcorecontrol", "bedrock-agentcore"),
    ("aws-sdk-bedrockagentcore", "bedrock-agentcore"),
    ("aws-sdk-cloudwatch", "cloudwatch"),
];

/// For each SDK crate: its client methods (`create_vpc`) and operation names (`CreateVpc`), read from
/// the crate sources cargo resolved (`src/operation/<method>.rs` holds `Layer::new("<Operation>")`).
///
/// `cargo metadata` runs offline and filtered to the host platform: the build downloaded exactly the
/// packages of this platform, so a fresh `CARGO_HOME` has those and nothing else (a Windows-only crate
/// such as `anstyle-wincon` would otherwise have to be downloaded).
fn sdk_operations() -> BTreeMap<&'static str, BTreeMap<String, String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = cargo()
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform", &host_triple()])
        .current_dir(root)
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut operations: BTreeMap<&'static str, BTreeMap<String, String>> = BTreeMap::new();
    for package in metadata["packages"].as_array().unwrap() {
        let Some((crate_name, _)) = SDK_SERVICES.iter().find(|(name, _)| package["name"] == *name) else { continue };
        let dir = Path::new(package["manifest_path"].as_str().unwrap()).parent().unwrap().join("src/operation");
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let Some(start) = text.find("config_bag::Layer::new(\"") else { continue };
            let rest = &text[start + "config_bag::Layer::new(\"".len()..];
            let name = &rest[..rest.find('"').unwrap()];
            let method = path.file_stem().unwrap().to_string_lossy().into_owned();
            operations.entry(crate_name).or_default().insert(method, name.to_owned());
        }
    }
    for (crate_name, _) in SDK_SERVICES {
        assert!(operations.get(crate_name).is_some_and(|ops| ops.len() > 5), "no operations found for {crate_name}");
    }
    operations
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `.method(` in `text`.
fn method_calls(text: &str) -> BTreeSet<&str> {
    let mut calls = BTreeSet::new();
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('.') {
        let start = i + 1;
        let end = start + bytes[start..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
        if end > start && bytes.get(end) == Some(&b'(') {
            calls.insert(&text[start..end]);
        }
    }
    calls
}

#[test]
fn iam_policy_allows_every_sdk_operation_the_code_calls() {
    let operations = sdk_operations();
    let output = eni_lab(&scratch("iam-policy")).arg("iam-policy").output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let printed: Value = serde_json::from_slice(&output.stdout).expect("iam-policy prints JSON");
    assert_eq!(printed, eni_lab::aws::permissions::tool_policy());
    let output = eni_lab(&scratch("iam-policy"))
        .args(["iam-policy", "--execution-role", "--account", "111122223333", "--region", "eu-west-1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let role: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(role["trustPolicy"]["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"], "111122223333");
    assert!(role["permissionsPolicy"].to_string().contains("arn:aws:ecr:eu-west-1:111122223333:repository/"));
    let allowed: BTreeSet<String> = eni_lab::aws::permissions::allowed_actions().into_iter().collect();
    let free: BTreeSet<&str> = eni_lab::aws::permissions::NO_PERMISSION_NEEDED.iter().copied().collect();

    // Every policy action of a service with an SDK crate names a real operation (catches typos),
    // except those the container tool and AgentCore call on the tool's behalf.
    let on_behalf = [
        "iam:PassRole",
        "iam:CreateServiceLinkedRole",
        "ec2:CreateTags",
        "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ];
    let real: BTreeSet<String> = SDK_SERVICES
        .iter()
        .flat_map(|(krate, service)| operations[krate].values().map(move |op| format!("{service}:{op}")))
        .collect();
    for action in &allowed {
        assert!(
            real.contains(action) || on_behalf.contains(&action.as_str()),
            "{action} is not an operation of the SDK"
        );
    }

    // Every SDK operation called in eni-lab, eni-watch and loadgen sources is allowed.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for dir in ["eni-lab/src", "eni-watch/src", "loadgen/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut missing = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // The SDKs a file names; a file naming none may use any.
        let named: Vec<&(&str, &str)> =
            SDK_SERVICES.iter().filter(|(krate, _)| text.contains(&krate.replace('-', "_"))).collect();
        let candidates: Vec<&(&str, &str)> = if named.is_empty() { SDK_SERVICES.iter().collect() } else { named };
        for method in method_calls(&text) {
            let actions: Vec<String> = candidates
                .iter()
                .filter_map(|(krate, service)| operations[krate].get(method).map(|op| format!("{service}:{op}")))
                .collect();
            if actions.is_empty() {
                continue;
            }
            seen.extend(actions.iter().cloned());
            if !actions.iter().any(|a| allowed.contains(a) || free.contains(a.as_str())) {
                missing.insert(format!(
                    "{} (.{method}() in {})",
                    actions.join(" or "),
                    file.strip_prefix(root).unwrap().display()
                ));
            }
        }
    }
    assert!(missing.is_empty(), "add to eni-lab/src/aws/permissions.rs: {missing:#?}");
    // The scan finds calls of every layer: network, role, image, and the clients the runs drive.
    for expected in [
        "ec2:CreateNatGateway",
        "iam:PutRolePolicy",
        "ecr:GetAuthorizationToken",
        "sts:GetCallerIdentity",
        "bedrock-agentcore:InvokeAgentRuntime",
        "ec2:DescribeNetworkInterfaces",
    ] {
        assert!(seen.contains(expected), "{expected} not found by the scan: {seen:?}");
    }
}
