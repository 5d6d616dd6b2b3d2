//! The one place every mutating AWS call goes through, offline and in a real account: [`Calls`] either
//! executes it (and records what it created in the run's state file right away) or, with `--plan`,
//! prints it and makes no call at all.
//!
//! Each call is described once, with [`call!`](crate::call): the SDK request and the line `--plan`
//! prints (`ec2:CreateSubnet VpcId=… CidrBlock=…`) come from the same builder methods and values.
//!
//! Read-only calls (`Describe*`, `List*`, `Get*`) are made directly in both modes: a plan needs to know
//! what exists (zones, subnets, an existing role) to say what it would create.

use std::fmt;
use std::future::Future;

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};

use crate::error::sdk_error;
use crate::run::{RunId, run_tags};
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
    pub operation: String,
    pub params: Vec<(String, String)>,
}

impl Call {
    pub fn new(service: &'static str, operation: impl Into<String>) -> Self {
        Self { service, operation: operation.into(), params: Vec::new() }
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

/// A create call's answer reduced to the id `id` picks from it, for [`Calls::create`]; `what` names
/// the id in the error when the answer lacks it.
pub async fn created<T, E>(
    sent: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    id: impl FnOnce(&T) -> Option<&str>,
    what: &str,
) -> anyhow::Result<Created>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let out = sent.await.map_err(sdk_error)?;
    id(&out).map(Created::id).ok_or_else(|| anyhow::anyhow!("the answer has no {what}"))
}

/// `snake_case` → `PascalCase`: an SDK builder method's name as the API names the operation or
/// parameter (`create_subnet` → `CreateSubnet`, `availability_zone_id` → `AvailabilityZoneId`).
pub fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// One mutating call, described once: `call!("ec2", ec2.create_subnet().vpc_id(&vpc).cidr_block(&cidr))`
/// is `(Call, request)`, the [`Call`] that `--plan` prints (`ec2:CreateSubnet VpcId=… CidrBlock=…`,
/// names from the builder methods) and the SDK request with the same values (each shown value is
/// evaluated twice: keep them cheap and free of side effects). After the shown methods,
/// `; unshown .method(value)…` sets what is not worth printing (descriptions, tag sets) and
/// `; tags(resource, run, name)` adds the run's tags and `Name` to both (EC2's `TagSpecifications`,
/// shown as `Tags=…`).
#[macro_export]
macro_rules! call {
    ($service:literal, $client:ident . $operation:ident () $(. $method:ident ($value:expr))*
        $(; unshown $(. $hidden:ident ($hidden_value:expr))+)?
        $(; tags($resource:expr, $run:expr, $name:expr))?) => {{
        let call = $crate::calls::Call::new($service, $crate::calls::pascal(stringify!($operation)))
            $(.param(&$crate::calls::pascal(stringify!($method)), &$value))*
            $(.tags(&$crate::calls::shown_tags($run, &$name)))?;
        let request = $client.$operation()$(.$method($value))*
            $($(.$hidden($hidden_value))+)?
            $(.tag_specifications($crate::calls::tag_spec($run, $resource, &$name)))?;
        (call, request)
    }};
}

/// The run's tags plus `Name` = `<resource prefix>-<name>`, for `TagSpecifications`.
pub fn tag_spec(run: &RunId, resource: ResourceType, name: &str) -> TagSpecification {
    let mut spec = TagSpecification::builder().resource_type(resource);
    for (key, value) in shown_tags(run, name) {
        spec = spec.tags(Tag::builder().key(key).value(value).build());
    }
    spec.build()
}

/// The tags [`tag_spec`] attaches, as `--plan` shows them.
pub fn shown_tags(run: &RunId, name: &str) -> Vec<(String, String)> {
    let mut tags = vec![("Name".to_owned(), format!("{}-{name}", run.resource_prefix()))];
    tags.extend(run_tags(run).into_iter().map(|(k, v)| (k.to_owned(), v)));
    tags
}
