//! Integration tests: the watcher and the `eni-watch` binary against agentcore-local in-process
//! (loopback only), with a fault-injecting proxy for gaps.

mod cli;
mod support;
mod watch;
