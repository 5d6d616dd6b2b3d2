//! What the workspace's integration tests share. A dev-dependency only; never published.
//!
//! - [`scratch`]: fresh folders under a test target's temporary directory.
//! - [`process`]: whether a process has exited, bounded waits for that, child processes killed on drop,
//!   and commands cut off from the host's AWS set-up.
//! - [`python`]: the test venv (`AGENTCORE_LAB_VENV`), moto's server on a free loopback port, and the
//!   venv's Python running a script against a server.
//! - [`toolchain`]: the `cargo` running the tests and the host's target triple.
//! - `emulator` (feature `emulator`): an in-process agentcore-local with AWS SDK clients, and the
//!   fixtures (VPCs, subnets, security groups, runtimes) the emulator's and the watcher's tests build.
//!
//! `CARGO_TARGET_TMPDIR` is set only when cargo compiles an integration test, not this library: the
//! helpers that write files take their base folder as an argument, which the tests pass as
//! `env!("CARGO_TARGET_TMPDIR")`.

#[cfg(feature = "emulator")]
pub mod emulator;
pub mod process;
pub mod python;
pub mod scratch;
pub mod toolchain;
