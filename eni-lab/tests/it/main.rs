//! `eni-lab` (what `cargo xtask verify|deploy|destroy` run) end to end: the binary as a subprocess
//! against agentcore-local (in this test process) and moto's server, checked through the AWS SDK.

mod aws_runs;
mod aws_setup;
mod destroy;
mod help;
mod image;
mod permissions;
mod sessions;
mod support;
mod verify;
mod verify_snapshot;
