//! `cargo xtask build`: the release `dummy-agent` binary, its path and (stripped) size.
//!
//! The release profile strips symbols (`[profile.release] strip = "symbols"`), so the size printed is
//! the stripped size. `--target aarch64-unknown-linux-musl` cross-builds the static arm64 binary the
//! container ships (linked with the toolchain's `rust-lld`, no C cross toolchain needed).
//!
//! `--image` builds the container instead (`dummy-agent/Dockerfile`, linux/arm64, what AgentCore
//! runs) with the first container tool that is installed and answers: `docker buildx`, `finch`,
//! `podman`. `--push` then runs `eni-lab push-image` (xtask stays free of the AWS SDK), which creates
//! the ECR repository if missing, logs the tool in with an ECR token (password on stdin) and pushes.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::util::{self, cargo, project_root};

#[derive(clap::Args)]
pub struct Args {
    /// Target triple to build for, e.g. `aarch64-unknown-linux-musl` (the container's static arm64
    /// binary; `rustup target add` it first). Default: the host.
    #[arg(long, conflicts_with = "image")]
    pub target: Option<String>,
    /// Build the dummy-agent container image for linux/arm64 (docker buildx, finch or podman).
    #[arg(long)]
    pub image: bool,
    /// The image's local tag.
    #[arg(long, default_value = "dummy-agent:latest", requires = "image")]
    pub tag: String,
    /// Push the image to ECR with `eni-lab push-image` (creates the repository if missing).
    #[arg(long, requires = "image")]
    pub push: bool,
    /// ECR repository to push to (default: agentcore-eni-lab/dummy-agent).
    #[arg(long, requires = "push")]
    pub repository: Option<String>,
    /// AWS region of the repository (default: the standard chain's).
    #[arg(long, requires = "push")]
    pub region: Option<String>,
    /// Named AWS profile.
    #[arg(long, requires = "push")]
    pub profile: Option<String>,
    /// Push through this endpoint instead of AWS (an emulator).
    #[arg(long, requires = "push", value_name = "URL")]
    pub endpoint_url: Option<String>,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    if args.image {
        return image(args);
    }
    let binary = release_dummy_agent(args.target.as_deref())?;
    let size = std::fs::metadata(&binary).with_context(|| format!("{}", binary.display()))?.len();
    println!("{}", binary.display());
    println!("size: {size} bytes ({:.2} MiB, stripped)", size as f64 / (1024.0 * 1024.0));
    Ok(())
}

/// Builds `dummy-agent` in release mode (for `target`, or the host) and returns the binary's path.
pub fn release_dummy_agent(target: Option<&str>) -> anyhow::Result<PathBuf> {
    let mut build = cargo();
    build.args(["build", "--release", "--locked", "-p", "dummy-agent", "--bin", "dummy-agent"]);
    if let Some(target) = target {
        build.args(["--target", target]);
        // Pure-Rust dependencies and musl's self-contained CRT: the bundled lld links it for any arch.
        let linker_var = format!("CARGO_TARGET_{}_LINKER", target.to_uppercase().replace(['-', '.'], "_"));
        if target.ends_with("-linux-musl") && std::env::var_os(&linker_var).is_none() {
            build.env(linker_var, "rust-lld");
        }
    }
    util::run(&mut build)?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| project_root().join("target"), PathBuf::from);
    let profile_dir = match target {
        Some(target) => target_dir.join(target).join("release"),
        None => target_dir.join("release"),
    };
    Ok(profile_dir.join("dummy-agent"))
}

/// The platform AgentCore Runtime runs.
pub const PLATFORM: &str = "linux/arm64";

/// A container tool that can build the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    DockerBuildx,
    Finch,
    Podman,
}

impl Tool {
    /// In the order they are tried.
    pub const ALL: [Tool; 3] = [Tool::DockerBuildx, Tool::Finch, Tool::Podman];

    pub fn program(self) -> &'static str {
        match self {
            Tool::DockerBuildx => "docker",
            Tool::Finch => "finch",
            Tool::Podman => "podman",
        }
    }

    /// The commands that show the tool is usable: the client (and plugin) first, then the engine.
    fn probes(self) -> &'static [(&'static [&'static str], &'static str)] {
        match self {
            Tool::DockerBuildx => &[
                (
                    &["buildx", "version"],
                    "the buildx plugin is missing: install docker-buildx-plugin (or Docker Desktop)",
                ),
                (
                    &["info"],
                    "the Docker engine does not answer: start Docker (or your user lacks access to its socket)",
                ),
            ],
            Tool::Finch => &[(&["info"], "the Finch VM does not answer: run `finch vm start`")],
            Tool::Podman => {
                &[(&["info"], "podman does not answer: check `podman info` (on macOS: `podman machine start`)")]
            }
        }
    }

    /// The build command's arguments (after the program), run from the workspace root.
    pub fn build_args(self, tag: &str) -> Vec<String> {
        let mut args: Vec<String> = match self {
            Tool::DockerBuildx => vec!["buildx".into(), "build".into(), "--load".into()],
            Tool::Finch | Tool::Podman => vec!["build".into()],
        };
        args.extend(["--platform", PLATFORM, "-f", "dummy-agent/Dockerfile", "-t", tag, "."].map(String::from));
        args
    }
}

/// What running a probe command gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeResult {
    /// The program is not installed (not on PATH).
    NotFound,
    /// It ran and failed; the first line of what it said.
    Failed(String),
    Ok,
}

/// The first tool that is installed and answers, or an error that says what to install or start.
pub fn detect(probe: &mut dyn FnMut(&str, &[&str]) -> ProbeResult) -> anyhow::Result<Tool> {
    let mut problems = Vec::new();
    'tools: for tool in Tool::ALL {
        for (args, advice) in tool.probes() {
            match probe(tool.program(), args) {
                ProbeResult::NotFound => continue 'tools,
                ProbeResult::Failed(said) => {
                    problems.push(format!(
                        "{} is installed but {advice} (`{} {}`: {said})",
                        tool.program(),
                        tool.program(),
                        args.join(" ")
                    ));
                    continue 'tools;
                }
                ProbeResult::Ok => {}
            }
        }
        return Ok(tool);
    }
    if problems.is_empty() {
        anyhow::bail!(
            "no container tool found to build the linux/arm64 image: install Docker with the buildx plugin \
             (https://docs.docker.com/engine/install/), Finch (https://github.com/runfinch/finch) or Podman \
             (https://podman.io/docs/installation); `cargo xtask build --target aarch64-unknown-linux-musl` \
             builds the binary without one"
        )
    }
    anyhow::bail!("no usable container tool:\n  {}", problems.join("\n  "))
}

/// Runs `program args` quietly, with a time limit (an engine that hangs counts as not answering).
pub fn probe_command(program: &str, args: &[&str]) -> ProbeResult {
    const LIMIT: Duration = Duration::from_secs(20);
    let child =
        Command::new(program).args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ProbeResult::NotFound,
        Err(e) => return ProbeResult::Failed(e.to_string()),
    };
    let deadline = Instant::now() + LIMIT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                if status.success() {
                    return ProbeResult::Ok;
                }
                let mut said = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    use std::io::Read;
                    let _ = stderr.read_to_string(&mut said);
                }
                let first = said.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no output").to_owned();
                return ProbeResult::Failed(format!("{status}: {first}"));
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return ProbeResult::Failed(format!("no answer within {LIMIT:?}"));
            }
            Err(e) => return ProbeResult::Failed(e.to_string()),
        }
    }
}

/// `--image [--push]`.
fn image(args: &Args) -> anyhow::Result<()> {
    let tool = detect(&mut probe_command)?;
    let mut build = Command::new(tool.program());
    build.args(tool.build_args(&args.tag)).current_dir(project_root());
    util::run(&mut build)?;
    println!("{} ({PLATFORM}, built with {})", args.tag, tool.program());
    if args.push {
        let mut push = vec!["--image".to_owned(), args.tag.clone(), "--container-tool".into(), tool.program().into()];
        match &args.endpoint_url {
            Some(url) => push.extend(["--endpoint-url".into(), url.clone()]),
            None => push.push("--aws".into()),
        }
        for (flag, value) in
            [("--repository", &args.repository), ("--region", &args.region), ("--profile", &args.profile)]
        {
            if let Some(value) = value {
                push.extend([flag.to_owned(), value.clone()]);
            }
        }
        crate::lab::run("push-image", &crate::lab::Args { args: push })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake machine: which programs exist and which probe commands fail.
    fn machine(installed: &[&str], failing: &[&str]) -> impl FnMut(&str, &[&str]) -> ProbeResult {
        let installed: Vec<String> = installed.iter().map(|s| s.to_string()).collect();
        let failing: Vec<String> = failing.iter().map(|s| s.to_string()).collect();
        move |program, args| {
            let line = format!("{program} {}", args.join(" "));
            if !installed.iter().any(|p| p == program) {
                ProbeResult::NotFound
            } else if failing.contains(&line) {
                ProbeResult::Failed("exit status: 1: Cannot connect".into())
            } else {
                ProbeResult::Ok
            }
        }
    }

    #[test]
    fn docker_buildx_first_then_finch_then_podman() {
        assert_eq!(detect(&mut machine(&["docker", "finch", "podman"], &[])).unwrap(), Tool::DockerBuildx);
        assert_eq!(detect(&mut machine(&["finch", "podman"], &[])).unwrap(), Tool::Finch);
        assert_eq!(detect(&mut machine(&["podman"], &[])).unwrap(), Tool::Podman);
    }

    #[test]
    fn a_tool_whose_engine_does_not_answer_is_skipped_and_explained() {
        assert_eq!(detect(&mut machine(&["docker", "podman"], &["docker info"])).unwrap(), Tool::Podman);
        let error = detect(&mut machine(&["docker"], &["docker info"])).unwrap_err().to_string();
        assert!(error.contains("engine does not answer") && error.contains("start Docker"), "{error}");
        let error = detect(&mut machine(&["docker"], &["docker buildx version"])).unwrap_err().to_string();
        assert!(error.contains("buildx plugin is missing"), "{error}");
    }

    #[test]
    fn without_any_tool_the_error_names_what_to_install() {
        let error = detect(&mut machine(&[], &[])).unwrap_err().to_string();
        for name in ["Docker", "buildx", "Finch", "Podman"] {
            assert!(error.contains(name), "{error}");
        }
    }

    #[test]
    fn the_probe_of_a_missing_program_is_not_found() {
        assert_eq!(probe_command("agentcore-eni-lab-no-such-tool", &["info"]), ProbeResult::NotFound);
        assert!(matches!(probe_command("false", &[]), ProbeResult::Failed(_)));
        assert_eq!(probe_command("true", &[]), ProbeResult::Ok);
    }

    #[test]
    fn builds_for_arm64_from_the_workspace_root_with_the_agents_dockerfile() {
        let args = Tool::DockerBuildx.build_args("dummy-agent:v1");
        assert_eq!(args[..3], ["buildx", "build", "--load"]);
        let joined = args.join(" ");
        assert!(joined.ends_with("--platform linux/arm64 -f dummy-agent/Dockerfile -t dummy-agent:v1 ."), "{joined}");
        assert_eq!(Tool::Podman.build_args("x")[0], "build");
        assert!(project_root().join("dummy-agent/Dockerfile").is_file());
    }
}
