//! The agent image in ECR: the repository (created if missing, tagged with the run's tags and recorded
//! in its state file), the registry login from an ECR authorization token, and the push with the
//! container tool `cargo xtask build --image` found. `cargo xtask build --image --push` runs
//! `eni-lab push-image`, so that xtask stays free of the AWS SDK.
//!
//! The registry password goes to the container tool on its stdin (`login --password-stdin`), never
//! on a command line, in a log or in a file of ours.

use std::fmt;
use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::Context;
use base64::Engine;

use crate::call;
use crate::calls::{Calls, Created};
use crate::error::{error_code, sdk_error};
use crate::run::{RunId, run_tags};
use crate::state::Kind;

/// The repository the dummy agent is pushed to unless `--repository` names another.
pub const DEFAULT_REPOSITORY: &str = "agentcore-eni-lab/dummy-agent";
/// The container tools `push-image` knows how to log in and push with.
pub const CONTAINER_TOOLS: &[&str] = &["docker", "finch", "podman"];

/// An ECR repository the image goes to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    pub name: String,
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`.
    pub uri: String,
    pub arn: String,
    /// True when this run created it (it is then deleted with the run).
    pub created: bool,
}

/// The repository `name`, created (with `run`'s tags, recorded in the state file) if missing.
pub async fn ensure_repository(
    ecr: &aws_sdk_ecr::Client,
    calls: &mut Calls<'_>,
    run: &RunId,
    name: &str,
) -> anyhow::Result<Repository> {
    match ecr.describe_repositories().repository_names(name).send().await {
        Ok(out) => {
            if let Some(repo) = out.repositories().first() {
                return Ok(Repository {
                    name: name.to_owned(),
                    uri: repo.repository_uri().unwrap_or_default().to_owned(),
                    arn: repo.repository_arn().unwrap_or_default().to_owned(),
                    created: false,
                });
            }
        }
        Err(e) if error_code(&e) == Some("RepositoryNotFoundException") => {}
        Err(e) => return Err(sdk_error(e).context(format!("looking up ECR repository {name}"))),
    }
    let mut tags = Vec::new();
    for (key, value) in run_tags(run) {
        tags.push(aws_sdk_ecr::types::Tag::builder().key(key).value(value).build()?);
    }
    let mut uri = format!("<uri of {name}>");
    let scanning = aws_sdk_ecr::types::ImageScanningConfiguration::builder().scan_on_push(true).build();
    let (call, request) = call!("ecr", ecr.create_repository().repository_name(name);
        unshown .set_tags(Some(tags)).image_scanning_configuration(scanning));
    let created = calls
        .create(call.tags(&run_tags(run)), Kind::EcrRepository, async {
            let out = request.send().await.map_err(sdk_error)?;
            let repo = out.repository().ok_or_else(|| anyhow::anyhow!("ECR answered without the repository"))?;
            uri = repo.repository_uri().unwrap_or_default().to_owned();
            Ok::<_, anyhow::Error>(Created { id: name.to_owned(), arn: repo.repository_arn().map(str::to_owned) })
        })
        .await?;
    Ok(Repository { name: name.to_owned(), uri, arn: created.arn.unwrap_or_default(), created: true })
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that hands it over (a child's stdin).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What `docker login` needs, from an ECR authorization token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryLogin {
    pub username: String,
    pub password: Secret,
    /// The registry host (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`), without the scheme.
    pub registry: String,
}

/// Decodes an ECR authorization token (base64 of `user:password`) and its proxy endpoint.
pub fn decode_authorization(token: &str, proxy_endpoint: &str) -> anyhow::Result<RegistryLogin> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|e| anyhow::anyhow!("the ECR authorization token is not base64 ({e})"))?;
    let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("the ECR authorization token is not UTF-8"))?;
    let (username, password) = text
        .split_once(':')
        .filter(|(user, password)| !user.is_empty() && !password.is_empty())
        .ok_or_else(|| anyhow::anyhow!("the ECR authorization token is not `user:password`"))?;
    let registry = proxy_endpoint.trim_start_matches("https://").trim_start_matches("http://").trim_end_matches('/');
    anyhow::ensure!(!registry.is_empty(), "ECR gave no registry endpoint with the token");
    Ok(RegistryLogin {
        username: username.to_owned(),
        password: Secret(password.to_owned()),
        registry: registry.to_owned(),
    })
}

/// The registry login of the account and region (GetAuthorizationToken).
pub async fn registry_login(ecr: &aws_sdk_ecr::Client) -> anyhow::Result<RegistryLogin> {
    let out = ecr.get_authorization_token().send().await.map_err(sdk_error).context("ecr:GetAuthorizationToken")?;
    let data =
        out.authorization_data().first().ok_or_else(|| anyhow::anyhow!("ECR answered with no authorization data"))?;
    decode_authorization(data.authorization_token().unwrap_or_default(), data.proxy_endpoint().unwrap_or_default())
}

/// The tag part of an image reference (`dummy-agent:v1` → `v1`; `latest` when there is none).
pub fn image_tag(reference: &str) -> &str {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    match last.split_once(':') {
        Some((_, tag)) if !tag.is_empty() => tag,
        _ => "latest",
    }
}

/// Logs `tool` in to the registry (password on stdin), tags `local` as `<repository>:<tag>` and
/// pushes it. Returns the pushed image URI.
pub fn push(tool: &str, local: &str, repository_uri: &str, login: &RegistryLogin) -> anyhow::Result<String> {
    anyhow::ensure!(
        CONTAINER_TOOLS.contains(&tool),
        "--container-tool {tool:?}: use one of {}",
        CONTAINER_TOOLS.join(", ")
    );
    let remote = format!("{repository_uri}:{}", image_tag(local));
    let mut child = Command::new(tool)
        .args(["login", "--username", &login.username, "--password-stdin", &login.registry])
        .stdin(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{tool}`: install it, or pass --container-tool"))?;
    {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin.write_all(login.password.expose().as_bytes()).context("handing the password to the login")?;
    }
    let status = child.wait()?;
    anyhow::ensure!(
        status.success(),
        "`{tool} login --username {} --password-stdin {}` failed ({status})",
        login.username,
        login.registry
    );
    run(Command::new(tool).args(["tag", local, &remote]))?;
    run(Command::new(tool).args(["push", &remote]))?;
    Ok(remote)
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("$ {shown}");
    let status = command.status().with_context(|| format!("could not start `{shown}`"))?;
    anyhow::ensure!(status.success(), "`{shown}` failed ({status})");
    Ok(())
}
