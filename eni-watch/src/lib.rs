//! `eni-watch`: watches AgentCore Runtime ENIs (`agentic_ai`) through `DescribeNetworkInterfaces`
//! and records a timeline that can be kept, replayed and held against the `eni-model` prediction.
//!
//! - [`describe`]: one snapshot: filters (security groups, VPC, subnets; the interface type checked
//!   client-side, optionally also as a server-side filter), every page followed.
//! - [`Watcher`]: polls, diffs each good sample against the last good one into [`Change`]s,
//!   records failed polls as [`Gap`]s and backs off, checks samples against an [`Expectation`].
//! - [`run`] / [`spawn`]: the polling loop, writing every [`Item`] to a [`Sink`] as it happens
//!   (a [`JsonLines`] file flushes each line, so an interrupted watch keeps everything), ending
//!   with a [`Summary`].
//! - [`table`]: the AWS CLI `--output table` listing; [`chart`]: the SVG chart of a recording.
//!
//! Clients come from `aws-config`, so the endpoint is configuration (`--endpoint-url`,
//! `AWS_ENDPOINT_URL`); [`polling_client`] turns SDK retries off so that throttling shows as gaps.
//!
//! Feature `client` (default) brings the watcher and the CLI (AWS SDK, tokio); without it the
//! crate is the pure part: timeline types, [`diff`], verdicts, [`table`], [`chart`], [`read_jsonl`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use eni_watch::*;
//! let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let scope = Scope { security_groups: vec!["sg-0123456789abcdef0".parse()?], ..Scope::default() };
//! let watcher = Watcher::new(polling_client(&sdk), scope).expect(Expectation::Count { min: 2, max: 2 });
//! let task = spawn(watcher, RunOptions::default(), Box::new(JsonLines::create("enis.jsonl".as_ref())?));
//! // … run the load …
//! let summary = task.stop().await?;
//! assert!(summary.all_matched());
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod chart;
#[cfg(feature = "client")]
mod describe;
mod diff;
mod eni;
mod expect;
pub mod render;
mod sink;
pub mod table;
mod timeline;
#[cfg(feature = "client")]
mod watch;

#[cfg(feature = "client")]
pub use describe::{FailureKind, HttpStatus, PollError, Scope, Snapshot, classify, describe, polling_client};
pub use diff::diff;
#[cfg(feature = "client")]
pub use eni::from_sdk;
pub use eni::{Eni, sg_set_label};
pub use expect::{Expectation, ExpectationFileError};
pub use sink::{FnSink, JsonLines, ReadError, Recording, Sink, Tee, read_jsonl};
pub use timeline::{
    Change, Check, Counts, Event, ExpectationSummary, Gap, Item, Mismatch, Sample, Start, StopReason, Summary, Tally,
};
#[cfg(feature = "client")]
pub use watch::{Backoff, Polled, RunOptions, WatchError, WatchTask, Watcher, now_rfc3339, run, spawn};
