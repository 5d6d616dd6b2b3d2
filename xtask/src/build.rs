//! `cargo xtask build`: the release `dummy-agent` binary, its path and (stripped) size.
//!
//! The release profile strips symbols (`[profile.release] strip = "symbols"`), so the size printed is
//! the stripped size. `--target aarch64-unknown-linux-musl` cross-builds the static arm64 binary the
//! container ships (linked with the toolchain's `rust-lld`, no C cross toolchain needed).
//!
//! `--image [NAME]` builds a container image instead, with the first container tool that is installed
//! and answers: `docker buildx`, `finch`, `podman`. `--image` alone (or `--image dummy-agent`) builds
//! `dummy-agent/Dockerfile` for linux/arm64, what AgentCore runs (tag `dummy-agent:latest`). `--image
//! loadgen` builds `loadgen/Dockerfile` (tag `loadgen:latest`) for linux/amd64 and linux/arm64 with
//! docker buildx (loading both into the local image store needs Docker's containerd image store), and
//! for the host's arch only with finch or podman; `--platform` overrides either. `--push` (dummy-agent
//! only) then runs `eni-lab push-image` (xtask stays free of the AWS SDK), which creates the ECR
//! repository if missing, logs the tool in with an ECR token (password on stdin) and pushes; a
//! multi-arch loadgen image is pushed by buildx itself (`--push` to the repository), not by a local tag,
//! so `--image loadgen --push` is refused with the command to use.

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
    /// Build a container image instead (docker buildx, finch or podman): `dummy-agent` (the default
    /// when no name is given; linux/arm64) or `loadgen` (linux/amd64 and linux/arm64 with docker
    /// buildx, the host's arch with finch or podman).
    #[arg(long, value_enum, value_name = "NAME", num_args = 0..=1, default_missing_value = "dummy-agent")]
    pub image: Option<Image>,
    /// The image's local tag. Default: `dummy-agent:latest` or `loadgen:latest`.
    #[arg(long, requires = "image")]
    pub tag: Option<String>,
    /// The platforms to build, comma-separated (e.g. `linux/amd64`). Default: the image's.
    #[arg(long, requires = "image", value_name = "OS/ARCH[,…]")]
    pub platform: Option<String>,
    /// Push the image to ECR with `eni-lab push-image` (creates the repository if missing;
    /// dummy-agent only).
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
    if let Some(name) = args.image {
        return image(name, args);
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

/// The platforms the loadgen image is built for (Kubernetes nodes and AWS Batch hosts of either arch).
pub const LOADGEN_PLATFORMS: &str = "linux/amd64,linux/arm64";

/// The container images `--image` builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Image {
    /// `dummy-agent/Dockerfile`: the agent AgentCore runs.
    DummyAgent,
    /// `loadgen/Dockerfile`: load shards for Kubernetes and AWS Batch (deploy/).
    Loadgen,
}

impl Image {
    /// The Dockerfile, relative to the workspace root (the build context).
    pub fn dockerfile(self) -> &'static str {
        match self {
            Image::DummyAgent => "dummy-agent/Dockerfile",
            Image::Loadgen => "loadgen/Dockerfile",
        }
    }

    pub fn default_tag(self) -> &'static str {
        match self {
            Image::DummyAgent => "dummy-agent:latest",
            Image::Loadgen => "loadgen:latest",
        }
    }

    /// The platforms built when `--platform` is not given: dummy-agent is linux/arm64 with every tool;
    /// loadgen is both arches with docker buildx, and the host's arch with finch and podman (their
    /// local image store holds one arch per tag). `host` is [`host_platform`]'s answer.
    pub fn default_platforms(self, tool: Tool, host: Option<&'static str>) -> anyhow::Result<&'static str> {
        match (self, tool) {
            (Image::DummyAgent, _) => Ok(PLATFORM),
            (Image::Loadgen, Tool::DockerBuildx) => Ok(LOADGEN_PLATFORMS),
            (Image::Loadgen, Tool::Finch | Tool::Podman) => host.ok_or_else(|| {
                anyhow::anyhow!(
                    "the loadgen image is built for linux/amd64 or linux/arm64, not for this machine's \
                     arch ({}): pass --platform",
                    std::env::consts::ARCH
                )
            }),
        }
    }
}

/// The Linux platform of this machine's arch, if an image is built for it.
pub fn host_platform() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Some("linux/amd64"),
        "aarch64" => Some("linux/arm64"),
        _ => None,
    }
}

/// Refuses what `--image NAME` cannot do before anything is built.
pub fn check_image_args(name: Image, args: &Args) -> anyhow::Result<()> {
    if name == Image::Loadgen && args.push {
        let tag = args.tag.as_deref().unwrap_or(name.default_tag());
        anyhow::bail!(
            "--push pushes the dummy-agent image only: a multi-arch loadgen image is pushed by buildx itself, \
             not from a local tag. Log docker in to ECR (`aws ecr get-login-password | docker login --username \
             AWS --password-stdin ACCOUNT.dkr.ecr.REGION.amazonaws.com`), then run from the workspace root: \
             `docker buildx build --platform {LOADGEN_PLATFORMS} -f loadgen/Dockerfile \
             -t ACCOUNT.dkr.ecr.REGION.amazonaws.com/loadgen:latest --push .` (`cargo xtask build --image \
             loadgen` builds {tag} locally)"
        )
    }
    Ok(())
}

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
    pub fn build_args(self, image: Image, platforms: &str, tag: &str) -> Vec<String> {
        let mut args: Vec<String> = match self {
            Tool::DockerBuildx => vec!["buildx".into(), "build".into(), "--load".into()],
            Tool::Finch | Tool::Podman => vec!["build".into()],
        };
        args.extend(["--platform", platforms, "-f", image.dockerfile(), "-t", tag, "."].map(String::from));
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
            "no container tool found to build the image: install Docker with the buildx plugin \
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

/// `--image [NAME] [--push]`.
fn image(name: Image, args: &Args) -> anyhow::Result<()> {
    check_image_args(name, args)?;
    let tool = detect(&mut probe_command)?;
    let tag = args.tag.as_deref().unwrap_or(name.default_tag());
    let platforms = match &args.platform {
        Some(platforms) => platforms.as_str(),
        None => name.default_platforms(tool, host_platform())?,
    };
    if name == Image::Loadgen && args.platform.is_none() && tool != Tool::DockerBuildx {
        eprintln!(
            "{} builds one arch per local tag: building loadgen for {platforms} only \
             (docker buildx builds {LOADGEN_PLATFORMS})",
            tool.program()
        );
    }
    let mut build = Command::new(tool.program());
    build.args(tool.build_args(name, platforms, tag)).current_dir(project_root());
    let built = util::run(&mut build);
    if built.is_err() && tool == Tool::DockerBuildx && platforms.contains(',') {
        eprintln!(
            "note: loading a multi-platform image into Docker needs its containerd image store \
             (https://docs.docker.com/engine/storage/containerd/); `--platform {}` builds this machine's arch only",
            host_platform().unwrap_or("linux/amd64")
        );
    }
    built?;
    println!("{tag} ({platforms}, built with {})", tool.program());
    if args.push {
        let mut push = vec!["--image".to_owned(), tag.to_owned(), "--container-tool".into(), tool.program().into()];
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
        let args = Tool::DockerBuildx.build_args(Image::DummyAgent, PLATFORM, "dummy-agent:v1");
        assert_eq!(args[..3], ["buildx", "build", "--load"]);
        let joined = args.join(" ");
        assert!(joined.ends_with("--platform linux/arm64 -f dummy-agent/Dockerfile -t dummy-agent:v1 ."), "{joined}");
        assert_eq!(Tool::Podman.build_args(Image::DummyAgent, PLATFORM, "x")[0], "build");
        assert!(project_root().join("dummy-agent/Dockerfile").is_file());
    }

    /// `cargo xtask build ARGS` as the CLI parses them.
    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        <Cli as clap::Parser>::try_parse_from(std::iter::once("build").chain(args.iter().copied())).map(|cli| cli.args)
    }

    #[test]
    fn image_alone_or_named_dummy_agent_is_todays_arm64_agent_image() {
        for flags in [&["--image"][..], &["--image", "dummy-agent"], &["--image=dummy-agent"]] {
            let args = parse(flags).unwrap();
            assert_eq!(args.image, Some(Image::DummyAgent), "{flags:?}");
            assert_eq!((args.tag, args.platform, args.push), (None, None, false), "{flags:?}");
            for tool in Tool::ALL {
                assert_eq!(Image::DummyAgent.default_platforms(tool, None).unwrap(), "linux/arm64");
            }
        }
        assert_eq!(Image::DummyAgent.default_tag(), "dummy-agent:latest");
        // A flag right after a bare --image is a flag, not the image's name.
        let args = parse(&["--image", "--push", "--region", "eu-west-1"]).unwrap();
        assert_eq!((args.image, args.push), (Some(Image::DummyAgent), true));
        assert!(check_image_args(Image::DummyAgent, &args).is_ok());
        assert_eq!(parse(&[]).unwrap().image, None);
    }

    #[test]
    fn image_loadgen_builds_both_arches_with_buildx_and_the_hosts_elsewhere() {
        let args = parse(&["--image", "loadgen"]).unwrap();
        assert_eq!(args.image, Some(Image::Loadgen));
        assert_eq!(Image::Loadgen.default_tag(), "loadgen:latest");
        assert_eq!(Image::Loadgen.default_platforms(Tool::DockerBuildx, None).unwrap(), "linux/amd64,linux/arm64");
        for tool in [Tool::Finch, Tool::Podman] {
            assert_eq!(Image::Loadgen.default_platforms(tool, Some("linux/amd64")).unwrap(), "linux/amd64");
            let error = Image::Loadgen.default_platforms(tool, None).unwrap_err().to_string();
            assert!(error.contains("--platform"), "{error}");
        }
        let joined = Tool::DockerBuildx.build_args(Image::Loadgen, LOADGEN_PLATFORMS, "loadgen:latest").join(" ");
        assert_eq!(
            joined,
            "buildx build --load --platform linux/amd64,linux/arm64 -f loadgen/Dockerfile -t loadgen:latest ."
        );
        assert!(project_root().join(Image::Loadgen.dockerfile()).is_file());
        let args = parse(&["--image", "loadgen", "--tag", "lg:1", "--platform", "linux/arm64"]).unwrap();
        assert_eq!((args.tag.as_deref(), args.platform.as_deref()), (Some("lg:1"), Some("linux/arm64")));
    }

    #[test]
    fn pushing_loadgen_is_refused_with_the_command_to_use() {
        let args = parse(&["--image", "loadgen", "--push"]).unwrap();
        let error = check_image_args(Image::Loadgen, &args).unwrap_err().to_string();
        assert!(
            error.contains("dummy-agent image only") && error.contains("docker buildx build --platform"),
            "{error}"
        );
        assert!(error.contains("-f loadgen/Dockerfile") && error.contains("--push ."), "{error}");
        assert!(check_image_args(Image::Loadgen, &parse(&["--image", "loadgen"]).unwrap()).is_ok());
    }

    #[test]
    fn image_flags_are_checked_by_the_parser() {
        let error = parse(&["--image", "nginx"]).err().expect("an unknown image").to_string();
        assert!(error.contains("dummy-agent") && error.contains("loadgen"), "{error}");
        for flags in [&["--tag", "x:1"][..], &["--platform", "linux/amd64"], &["--push"]] {
            assert!(parse(flags).is_err(), "{flags:?} without --image");
        }
        assert!(parse(&["--image", "loadgen", "--target", "x86_64-unknown-linux-musl"]).is_err());
    }
}
