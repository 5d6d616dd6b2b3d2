//! The container image's Dockerfile, read without Docker: what AgentCore needs of the image, and an
//! image build that compiles only dummy-agent's own (pure Rust) dependencies.

use std::collections::BTreeSet;
use std::path::Path;

use test_support::toolchain::{cargo, host_triple};

/// The Dockerfile read without Docker (hadolint is not in Debian's packages): what it must state
/// for AgentCore — an arm64 build, a non-root user, port 8080, an exec-form entrypoint.
#[test]
fn dockerfile_builds_an_arm64_non_root_agent_on_port_8080() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let text = std::fs::read_to_string(root.join("dummy-agent/Dockerfile")).unwrap();
    // Instructions, with continuation lines joined and comments dropped.
    let mut instructions: Vec<(String, String)> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(body) = line.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        if !current.trim().is_empty() {
            let (keyword, rest) = current.trim().split_once(char::is_whitespace).unwrap_or((current.trim(), ""));
            instructions.push((keyword.to_ascii_uppercase(), rest.trim().to_owned()));
        }
        current.clear();
    }
    const KNOWN: &[&str] = &[
        "FROM",
        "ARG",
        "RUN",
        "ENV",
        "WORKDIR",
        "COPY",
        "ADD",
        "USER",
        "EXPOSE",
        "STOPSIGNAL",
        "ENTRYPOINT",
        "CMD",
        "LABEL",
        "HEALTHCHECK",
        "SHELL",
        "VOLUME",
        "ONBUILD",
    ];
    for (keyword, rest) in &instructions {
        assert!(KNOWN.contains(&keyword.as_str()), "unknown instruction {keyword} {rest}");
    }
    let stages: Vec<&str> = instructions.iter().filter(|(k, _)| k == "FROM").map(|(_, rest)| rest.as_str()).collect();
    assert!(stages.len() >= 2, "a build stage and a runtime stage: {stages:?}");
    assert!(stages[0].starts_with("--platform=$BUILDPLATFORM"), "the builder runs natively: {}", stages[0]);
    assert!(text.contains("aarch64-unknown-linux-musl"), "cross-compiles for arm64");
    assert!(text.contains("arm64)"), "maps TARGETARCH arm64");
    let last_stage = instructions.iter().rposition(|(k, _)| k == "FROM").unwrap();
    let runtime: Vec<&(String, String)> = instructions[last_stage..].iter().collect();
    let user = runtime.iter().rev().find(|(k, _)| k == "USER").map(|(_, u)| u.as_str()).expect("the image sets USER");
    let uid = user.split(':').next().unwrap();
    assert!(uid != "0" && uid != "root", "the agent must not run as root: USER {user}");
    assert!(
        runtime.iter().any(|(k, v)| k == "EXPOSE" && v.split_whitespace().any(|p| p == "8080" || p == "8080/tcp")),
        "EXPOSE 8080"
    );
    let entrypoint = runtime.iter().find(|(k, _)| k == "ENTRYPOINT").map(|(_, v)| v.as_str()).expect("ENTRYPOINT");
    assert!(serde_json::from_str::<Vec<String>>(entrypoint).is_ok(), "exec form ENTRYPOINT: {entrypoint}");
    for (k, v) in &instructions {
        assert!(!(k == "FROM" && v.contains(":latest")), "pinned base images: {v}");
    }

    // The README says how to build it for arm64, with and without xtask.
    let readme = std::fs::read_to_string(root.join("dummy-agent/README.md")).unwrap();
    assert!(readme.contains("--platform linux/arm64"), "the README shows the arm64 build");
    assert!(readme.contains("cargo xtask build --image"), "the README shows `cargo xtask build --image`");
}

/// The image build empties the workspace-hack (as `cargo hakari disable` does), so that dummy-agent's
/// image compiles only dummy-agent's own dependencies: pure Rust, no C toolchain for the arm64 target.
/// Without that step the hack would bring the AWS SDK's C crypto (aws-lc-sys) into the image build.
#[test]
fn the_image_build_leaves_out_the_workspace_hack_and_its_c_crates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dockerfile = std::fs::read_to_string(root.join("dummy-agent/Dockerfile")).unwrap();
    let disable = "sed -i '/^### BEGIN HAKARI SECTION/,/^### END HAKARI SECTION/{//!d}' workspace-hack/Cargo.toml";
    let build = dockerfile.find("cargo build --release -p dummy-agent").expect("the image builds dummy-agent");
    assert!(dockerfile.find(disable).is_some_and(|at| at < build), "the hack is emptied before the build");
    let hack = std::fs::read_to_string(root.join("workspace-hack/Cargo.toml")).unwrap();
    assert!(hack.contains("\n### BEGIN HAKARI SECTION\n") && hack.contains("\n### END HAKARI SECTION\n"), "{hack}");

    let packages = |prune: bool| -> BTreeSet<String> {
        let mut command = cargo();
        command.current_dir(root).args(["tree", "--offline", "-p", "dummy-agent", "-e", "normal,build"]);
        command.args(["--target", &host_triple(), "--prefix", "none", "--format", "{p}"]);
        if prune {
            command.args(["--prune", "workspace-hack"]);
        }
        let output = command.output().expect("run cargo tree");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout).unwrap();
        text.lines().filter_map(|line| line.split_whitespace().next()).map(str::to_owned).collect()
    };
    let with_hack = packages(false);
    assert!(with_hack.contains("aws-lc-sys"), "the hack brings the SDK's C crypto: {with_hack:?}");
    let own = packages(true);
    assert!(own.contains("tokio") && own.contains("axum"), "{own:?}");
    for c_crate in ["aws-lc-sys", "ring", "cc", "cmake", "openssl-sys"] {
        assert!(!own.contains(c_crate), "dummy-agent's own dependencies need {c_crate}: {own:?}");
    }
}
