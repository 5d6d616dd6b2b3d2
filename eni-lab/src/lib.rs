//! `eni-lab`: the report's experiment end to end. `cargo xtask verify|deploy|destroy` run its binary
//! (so that `xtask` itself stays free of the AWS SDK).
//!
//! - [`cli`]: the command line, and the help `cargo xtask` shows without building this crate.
//! - [`aws`]: what a real account needs first: ECR image, execution role, network, cost notice, `iam-policy`.
//! - [`calls`]: the one path of every mutating call (run and record, or print under `--plan`);
//!   [`network`]: the networks a run creates or checks; [`error`]: the errors every command shares.
//! - [`run`]: run ids, the tags on everything a run creates, `target/verify/<run-id>/`, connections.
//! - [`state`]: the state file that lets `destroy` finish what a run (even a killed one) left.
//! - [`teardown`]: deletes a run's resources (verify's teardown phase and `destroy`); [`destroy`]: `destroy`.
//! - [`verify`]: `verify`, the experiment phase by phase against the model; [`deploy`]: its deploy phase alone.
//! - [`sessions`]: `sessions`, live runtime sessions over a window from CloudWatch's `ActiveSessionCount`.

pub mod aws;
pub mod calls;
pub mod cli;
pub mod deploy;
pub mod destroy;
pub mod error;
pub mod network;
pub mod run;
pub mod sessions;
pub mod state;
pub mod teardown;
pub mod verify;
