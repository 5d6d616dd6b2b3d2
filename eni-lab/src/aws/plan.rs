//! The one place every mutating AWS call goes through: [`Calls`] either executes it (and records what it
//! created in the run's state file right away) or, with `--plan`, prints it and makes no call at all.
//!
//! Read-only calls (`Describe*`, `List*`, `Get*`) are made directly in both modes: a plan needs to know
//! what exists (zones, subnets, an existing role) to say what it would create.

use std::fmt;
use std::future::Future;

use crate::state::{Kind, RunState};

/// Execute the calls, or only print them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Execute,
    Plan,
}

/// A mutating call: service, operation and the parameters worth showing (never a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The IAM service prefix (`ec2`, `iam`, `ecr`, `bedrock-agentcore`).
    pub service: &'static str,
    /// The API operation name as in the IAM action (`CreateVpc`).
    pub operation: &'static str,
    pub params: Vec<(String, String)>,
}

impl Call {
    pub fn new(service: &'static str, operation: &'static str) -> Self {
        Self { service, operation, params: Vec::new() }
    }

    /// Adds a parameter to show.
    pub fn param(mut self, key: &str, value: impl fmt::Display) -> Self {
        self.params.push((key.to_owned(), value.to_string()));
        self
    }

    /// Shows the tags a create call attaches (`Tags=k=v,k=v`).
    pub fn tags<'a>(self, tags: impl IntoIterator<Item = &'a (impl AsRef<str> + 'a, impl AsRef<str> + 'a)>) -> Self {
        let text =
            tags.into_iter().map(|(k, v)| format!("{}={}", k.as_ref(), v.as_ref())).collect::<Vec<_>>().join(",");
        self.param("Tags", text)
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.service, self.operation)?;
        for (key, value) in &self.params {
            write!(f, " {key}={value}")?;
        }
        Ok(())
    }
}

/// What a create call returns: the id (and ARN) recorded in the state file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    pub id: String,
    pub arn: Option<String>,
}

impl Created {
    pub fn id(id: impl Into<String>) -> Self {
        Self { id: id.into(), arn: None }
    }
}

/// Executes or plans mutating calls, and records created resources in the run's state file.
pub struct Calls<'s> {
    mode: Mode,
    state: &'s mut RunState,
    /// Every mutating call made (or planned), in order.
    done: Vec<Call>,
}

impl<'s> Calls<'s> {
    pub fn new(mode: Mode, state: &'s mut RunState) -> Self {
        Self { mode, state, done: Vec::new() }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn is_plan(&self) -> bool {
        self.mode == Mode::Plan
    }

    /// The calls made (or planned) so far.
    pub fn calls(&self) -> &[Call] {
        &self.done
    }

    pub fn state(&self) -> &RunState {
        self.state
    }

    /// A create call: executed and its result recorded in the state file as `kind` before anything
    /// else happens; with `--plan`, printed, and a placeholder id (`<new vpc 1>`) is returned.
    /// `request` is a future that has not been polled: with `--plan` it is dropped unsent.
    pub async fn create<E>(
        &mut self,
        call: Call,
        kind: Kind,
        request: impl Future<Output = Result<Created, E>>,
    ) -> anyhow::Result<Created>
    where
        E: Into<anyhow::Error>,
    {
        let created = match self.mode {
            Mode::Plan => {
                let n = self.done.iter().filter(|c| c.operation == call.operation).count() + 1;
                self.announce(&call);
                Created::id(format!("<new {} {n}>", kind_label(kind)))
            }
            Mode::Execute => {
                let created = self.execute(&call, request).await?;
                self.state.created(kind, &created.id, created.arn.clone())?;
                tracing::info!(kind = kind_label(kind), id = %created.id, "created");
                created
            }
        };
        self.done.push(call);
        Ok(created)
    }

    /// Any other mutating call (attach, associate, route, put policy): executed, or printed with
    /// `--plan`, in which case `planned` is returned instead of the response.
    pub async fn mutate<T, E>(
        &mut self,
        call: Call,
        planned: T,
        request: impl Future<Output = Result<T, E>>,
    ) -> anyhow::Result<T>
    where
        E: Into<anyhow::Error>,
    {
        let out = match self.mode {
            Mode::Plan => {
                self.announce(&call);
                planned
            }
            Mode::Execute => self.execute(&call, request).await?,
        };
        self.done.push(call);
        Ok(out)
    }

    fn announce(&self, call: &Call) {
        println!("would call {call}");
    }

    async fn execute<T, E>(&self, call: &Call, request: impl Future<Output = Result<T, E>>) -> anyhow::Result<T>
    where
        E: Into<anyhow::Error>,
    {
        tracing::debug!(%call, "calling");
        request.await.map_err(|e| e.into().context(format!("{}:{} failed", call.service, call.operation)))
    }
}

/// A short lower-case label for a kind (`vpc`, `nat-gateway`), as in the state file.
pub fn kind_label(kind: Kind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{kind:?}"))
}

/// An SDK error as `Code: message` (`InvalidVpcID.NotFound: The vpc ID … does not exist`) instead of
/// the SDK's generic "service error"; transport errors keep their whole chain.
pub fn sdk_error<E, R>(error: aws_sdk_ec2::error::SdkError<E, R>) -> anyhow::Error
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_ec2::error::ProvideErrorMetadata;
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => anyhow::anyhow!("{code}: {message}"),
        (Some(code), None) => anyhow::anyhow!("{code}"),
        _ => anyhow::anyhow!("{}", aws_sdk_ec2::error::DisplayErrorContext(&error)),
    }
}

/// The error code of an SDK error (`RepositoryNotFoundException`), if the service sent one.
pub fn error_code<E: aws_sdk_ec2::error::ProvideErrorMetadata, R>(
    error: &aws_sdk_ec2::error::SdkError<E, R>,
) -> Option<&str> {
    use aws_sdk_ec2::error::ProvideErrorMetadata;
    error.code()
}
