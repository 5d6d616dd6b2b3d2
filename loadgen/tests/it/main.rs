//! loadgen against real servers on loopback: an in-process dummy-agent (http target), the loadgen
//! binary (Ctrl-C, shards and merge, errors) and agentcore-local (agentcore target).

mod accounting;
mod agentcore;
mod binary;
mod deploy;
mod http;
mod support;
