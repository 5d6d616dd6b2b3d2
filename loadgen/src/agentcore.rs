//! The `agentcore` target: `InvokeAgentRuntime` through `aws-sdk-bedrockagentcore`, round-robin over
//! runtime ARNs, reading the whole response stream; errors classified by their AWS error code.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use aws_config::SdkConfig;
use aws_sdk_bedrockagentcore as data;
use aws_sdk_bedrockagentcore::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_bedrockagentcore::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockagentcorecontrol as control;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_types::retry::RetryConfig;

use crate::target::{Answer, CONNECT, Call, Failure, OTHER, TIMEOUT, Target, error_chain};

/// Invokes runtimes round-robin by request number.
#[derive(Debug, Clone)]
pub struct AgentCore {
    client: data::Client,
    runtimes: Arc<[String]>,
    qualifier: Option<String>,
    attempts: Arc<AtomicU64>,
    calls: Arc<AtomicU64>,
}

impl AgentCore {
    /// A client from `sdk` with SDK retries off (`retries == 0`, the default) or up to `retries` retries.
    pub fn new(sdk: &SdkConfig, runtimes: Vec<String>, qualifier: Option<String>, retries: u32) -> Self {
        let attempts = Arc::new(AtomicU64::new(0));
        let retry = if retries == 0 {
            RetryConfig::disabled()
        } else {
            RetryConfig::standard().with_max_attempts(retries.saturating_add(1))
        };
        let config = data::config::Builder::from(sdk)
            .retry_config(retry)
            .interceptor(CountAttempts(Arc::clone(&attempts)))
            .build();
        Self {
            client: data::Client::from_conf(config),
            runtimes: runtimes.into(),
            qualifier,
            attempts,
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    fn runtime(&self, seq: u64) -> &str {
        &self.runtimes[(seq % self.runtimes.len() as u64) as usize]
    }
}

impl Target for AgentCore {
    async fn invoke(&self, call: &Call) -> Result<Answer, Failure> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let output = self
            .client
            .invoke_agent_runtime()
            .agent_runtime_arn(self.runtime(call.seq))
            .set_qualifier(self.qualifier.clone())
            .set_runtime_session_id(call.session_id.clone())
            .content_type("application/json")
            .accept("application/json, text/event-stream")
            .payload(aws_smithy_types::Blob::new(call.payload.to_vec()))
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let head = Instant::now();
        let mut stream = output.response;
        let mut first_byte = None;
        let mut bytes = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Failure::new(OTHER, format!("response stream: {}", error_chain(&e))))?;
            first_byte.get_or_insert_with(Instant::now);
            bytes += chunk.len() as u64;
        }
        Ok(Answer { first_byte: first_byte.unwrap_or(head), bytes, sent: None })
    }

    async fn stop_session(&self, call: &Call) -> Result<(), Failure> {
        let Some(session) = &call.session_id else { return Ok(()) };
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.client
            .stop_runtime_session()
            .agent_runtime_arn(self.runtime(call.seq))
            .set_qualifier(self.qualifier.clone())
            .runtime_session_id(session)
            .send()
            .await
            .map(drop)
            .map_err(|e| classify(&e))
    }

    fn retries(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed).saturating_sub(self.calls.load(Ordering::Relaxed))
    }
}

/// Counts every attempt the SDK makes (first tries and retries).
#[derive(Debug)]
struct CountAttempts(Arc<AtomicU64>);

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "loadgen::CountAttempts"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The error class of an SDK error: the AWS error code for service errors (`ServiceQuotaExceededException`,
/// `ThrottlingException`, …), else [`TIMEOUT`], [`CONNECT`] or [`OTHER`].
pub fn classify<E, R>(error: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let class = err.code().unwrap_or(OTHER).to_string();
            let message = err.message().map_or_else(|| error_chain(err), str::to_string);
            Failure::new(class, message)
        }
        SdkError::TimeoutError(_) => Failure::new(TIMEOUT, error_chain(error)),
        SdkError::DispatchFailure(dispatch) if dispatch.is_timeout() => Failure::new(TIMEOUT, error_chain(error)),
        SdkError::DispatchFailure(dispatch) if dispatch.is_io() => Failure::new(CONNECT, error_chain(error)),
        _ => Failure::new(OTHER, error_chain(error)),
    }
}

/// Every runtime whose name starts with `prefix`, as ARNs sorted by name (ListAgentRuntimes, all pages).
pub async fn runtimes_with_prefix(sdk: &SdkConfig, prefix: &str) -> Result<Vec<String>, String> {
    let client = control::Client::new(sdk);
    let mut pages = client.list_agent_runtimes().into_paginator().send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            let failure = classify(&e);
            format!("ListAgentRuntimes failed: {}: {}", failure.class, failure.message)
        })?;
        for runtime in page.agent_runtimes() {
            if runtime.agent_runtime_name().starts_with(prefix) {
                found.push((runtime.agent_runtime_name().to_string(), runtime.agent_runtime_arn().to_string()));
            }
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, arn)| arn).collect())
}
