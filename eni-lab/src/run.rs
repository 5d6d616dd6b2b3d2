//! What `verify`, `deploy` and `destroy` share: the run id and the tags that mark everything a run
//! creates, where a run's files go (`target/verify/<run-id>/`), and the connection options (the
//! embedded emulator, an endpoint URL, or a real account with `--aws`).
//!
//! Architecture Invariant: every AWS call goes through the official `aws-sdk-*` clients built from the
//! [`aws_config::SdkConfig`] that [`Connection::sdk_config`] returns; the endpoint is configuration.

use std::fmt;
use std::path::PathBuf;

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The workspace root (the parent of `eni-lab/`).
pub fn project_root() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("eni-lab lives one level below the workspace root")
        .to_path_buf()
}

/// Tag key carried by every resource a run creates (value: the run id). `destroy` deletes only what
/// carries it.
pub const RUN_TAG: &str = "agentcore-eni-lab:run-id";
/// Second tag, naming the tool (value: [`TOOL_TAG_VALUE`]).
pub const TOOL_TAG: &str = "agentcore-eni-lab:created-by";
pub const TOOL_TAG_VALUE: &str = "cargo-xtask";

/// A run's id: `YYYYMMDD-HHMMSS-xxxx` (UTC time of the start, 4 random hex digits). Read from a file
/// (a state file) it goes through the same format check as on the command line ([`RunId::parse`]):
/// it names a directory under `target/verify/` and a tag value that decides what may be deleted.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct RunId(String);

/// A run id that does not have the format `YYYYMMDD-HHMMSS-xxxx`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("run id must look like 20261128-170512-3fa9, got {0:?}")]
pub struct InvalidRunId(pub String);

impl<'de> serde::Deserialize<'de> for RunId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RunId::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl RunId {
    /// A fresh id for a run starting now.
    pub fn new() -> Self {
        let now = time::OffsetDateTime::now_utc();
        let format = time::macros::format_description!("[year][month][day]-[hour][minute][second]");
        let stamp = now.format(&format).expect("UTC timestamps always format");
        Self(format!("{stamp}-{:04x}", fastrand::u16(..)))
    }

    /// Parses an id given on the command line (`destroy --run-id`) or read from a file (a state
    /// file, a tag value): the one format check for both.
    pub fn parse(text: &str) -> Result<Self, InvalidRunId> {
        let ok = text.len() == 20
            && text.bytes().enumerate().all(|(i, b)| match i {
                8 | 15 => b == b'-',
                16..=19 => b.is_ascii_hexdigit(),
                _ => b.is_ascii_digit(),
            });
        if !ok {
            // At most 40 characters of what was given: an error message, not a copy of a hostile file.
            let shown: String = text.chars().take(40).collect();
            return Err(InvalidRunId(shown));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id with `_` for `-`, for names that allow only `[a-zA-Z0-9_]` (agent runtime names).
    pub fn compact(&self) -> String {
        self.0.replace('-', "_")
    }

    /// The name of runtime `index` of this run: `eni_test_runtime_<index>_<compact id>` (the report's
    /// names, made unique per run; at most 48 characters as AgentCore requires).
    pub fn runtime_name(&self, index: usize) -> String {
        format!("eni_test_runtime_{index}_{}", self.compact())
    }

    /// Name prefix shared by this run's EC2 resources (`Name` tag, security group names).
    pub fn resource_prefix(&self) -> String {
        format!("eni-lab-{}", self.0)
    }

    /// `target/verify/<run-id>/`: the state file, reports, timeline and load results of this run.
    pub fn dir(&self) -> PathBuf {
        runs_dir().join(&self.0)
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Overrides [`runs_dir`] (the tests point it at a scratch directory).
pub const RUNS_DIR_ENV: &str = "AGENTCORE_LAB_RUNS_DIR";

/// `target/verify/` (honours `CARGO_TARGET_DIR`, and [`RUNS_DIR_ENV`] above all).
pub fn runs_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(RUNS_DIR_ENV) {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| project_root().join("target"), PathBuf::from);
    target.join("verify")
}

/// The tags every resource of `run` carries, as (key, value) pairs.
pub fn run_tags(run: &RunId) -> [(&'static str, String); 2] {
    [(RUN_TAG, run.as_str().to_owned()), (TOOL_TAG, TOOL_TAG_VALUE.to_owned())]
}

/// Where the AWS APIs are: shared by `verify`, `deploy` and `destroy`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ConnectionArgs {
    /// Use a real AWS account (credentials and region from the standard chain, `--profile`, `--region`).
    #[arg(long)]
    pub aws: bool,
    /// Send every call to this endpoint instead (an `agentcore-local` started separately, say).
    /// Without it and without `--aws`, verify starts an embedded agentcore-local.
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS region (default: the standard chain's, or us-east-1 for the emulator).
    #[arg(long)]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config (only with `--aws`).
    #[arg(long)]
    pub profile: Option<String>,
}

/// Where a run's calls went, as recorded in its state file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Connection {
    /// An agentcore-local inside the xtask process: gone with it.
    Embedded,
    /// An endpoint URL (agentcore-local, or any AWS-compatible endpoint), with emulator credentials.
    #[serde(rename_all = "camelCase")]
    Endpoint { url: String, region: String },
    /// A real account through the standard credential chain.
    #[serde(rename_all = "camelCase")]
    Aws { region: Option<String>, profile: Option<String> },
}

/// What answers a run's calls, recorded in its state file when the run starts ([`Connection::kind`]).
/// Destroy takes it from there, never from whether an endpoint URL happens to be configured: only
/// against an emulator may an "operation not supported" answer stand in for a tag check (see
/// [`crate::teardown`]). A state file without it is treated as a real account, the safe side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionKind {
    /// agentcore-local (embedded or at an endpoint URL), or another emulator such as moto: the
    /// `test`/`test` credentials, which no real account accepts.
    Emulator,
    /// A real AWS account (`--aws`), whatever endpoints the SDK configuration names.
    #[default]
    Aws,
}

/// Region used with emulators when none is given.
pub const EMULATOR_REGION: &str = "us-east-1";

impl ConnectionArgs {
    /// The connection these options name; `None` means "start the embedded emulator".
    pub fn connection(&self) -> anyhow::Result<Option<Connection>> {
        match (self.aws, &self.endpoint_url) {
            (true, Some(_)) if std::env::var_os("AWS_ENDPOINT_URL").is_none() => {
                anyhow::bail!("--aws and --endpoint-url exclude each other")
            }
            (true, _) => Ok(Some(Connection::Aws { region: self.region.clone(), profile: self.profile.clone() })),
            (false, Some(url)) => {
                anyhow::ensure!(self.profile.is_none(), "--profile goes with --aws");
                let region = self.region.clone().unwrap_or_else(|| EMULATOR_REGION.to_owned());
                Ok(Some(Connection::Endpoint { url: url.clone(), region }))
            }
            (false, None) => {
                anyhow::ensure!(self.profile.is_none(), "--profile goes with --aws");
                Ok(None)
            }
        }
    }
}

impl Connection {
    /// What kind of backend this connection reaches: the embedded emulator and an endpoint URL (with
    /// the emulator credentials) are emulators, `--aws` is a real account.
    pub fn kind(&self) -> ConnectionKind {
        match self {
            Connection::Embedded | Connection::Endpoint { .. } => ConnectionKind::Emulator,
            Connection::Aws { .. } => ConnectionKind::Aws,
        }
    }

    /// The SDK configuration for this connection. Emulator connections use the `test`/`test`
    /// credentials agentcore-local and moto accept; `--aws` uses the standard chain (never logged).
    pub async fn sdk_config(&self) -> SdkConfig {
        match self {
            Connection::Embedded => {
                unreachable!("the embedded emulator is reached through Connection::Endpoint with its URL")
            }
            Connection::Endpoint { url, region } => {
                aws_config::defaults(BehaviorVersion::latest())
                    .region(Region::new(region.clone()))
                    .credentials_provider(aws_credential_types::Credentials::new(
                        "test", "test", None, None, "emulator",
                    ))
                    .endpoint_url(url)
                    .load()
                    .await
            }
            Connection::Aws { region, profile } => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(region) = region {
                    loader = loader.region(Region::new(region.clone()));
                }
                if let Some(profile) = profile {
                    loader = loader.profile_name(profile);
                }
                loader.load().await
            }
        }
    }
}
