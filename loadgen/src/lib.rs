//! `loadgen`: rate-governed invocation load for Amazon Bedrock AgentCore Runtime and for any agent on
//! its HTTP contract, with honest latency and every request accounted.
//!
//! - [`target`]: the [`Target`] trait and the `noop` target; [`http`]: the `http` target (its own
//!   lean HTTP/1.1 keep-alive connections, rustls for https); [`agentcore`]: the
//!   `InvokeAgentRuntime` target (AWS SDK, errors classified by AWS error code).
//! - [`schedule`]: rates, durations and `--stages` (plateaus and ramps) and the intended send time of
//!   every request of the open model.
//! - [`run`](mod@run): the closed model (`concurrency` workers) and the open model (a dispatcher
//!   thread on the OS timer, one task per request so a slow target never slows the schedule,
//!   `max_in_flight` cap with drops counted), the per-second series and the drain on [`Stop`] (SIGINT or SIGTERM in the binary).
//! - [`record`]: counts per class, error samples, HDR histograms (corrected from the intended send time,
//!   uncorrected from the actual send, time to first byte, schedule lag).
//! - [`report`]: the results document, the summary table and the exact merge of shards.
//! - [`sessions`]: session ids (`unique`, `pool:K`, `per-worker`) and shards (`I/N`).
//! - [`threshold`]: `--fail-if` conditions (`error_rate>0.01`, `p99>250ms`), as k6's thresholds.
//! - [`hdr`]: the percentile spectrum (`.hgrm`) and the HdrHistogram interval log (`.hlog`).
//!
//! Every started request ends in exactly one recorded outcome (ok, failed, cancelled), each counted
//! where it happens; `total == ok + failed + cancelled` is checked at the end of a run
//! ([`Report::check_accounting`], [`RunError::Unaccounted`]), never derived.

#![warn(missing_docs)]

#[cfg(feature = "agentcore")]
pub mod agentcore;
pub mod hdr;
pub mod http;
pub mod record;
pub mod report;
pub mod run;
pub mod schedule;
pub mod sessions;
pub mod target;
pub mod threshold;

pub use http::Http;
pub use report::Report;
pub use run::{Model, Plan, RunError, Stop, run};
pub use sessions::{Sessions, Shard};
pub use target::{Answer, Call, Failure, Noop, Target};
