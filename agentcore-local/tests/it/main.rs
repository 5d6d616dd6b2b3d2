//! Integration tests: the unmodified AWS SDK for Rust (through `aws-config` and an endpoint URL)
//! against an in-process emulator, plus the binary itself.

mod agent_card;
mod agent_lifetime;
mod auth;
mod binary;
mod cloudwatch;
mod commands;
mod control;
mod data;
mod ec2;
mod ec2_fuzz;
mod ec2_network;
mod ec2_network_2;
mod endpoints;
mod enis;
mod front_door;
mod fuzz_front;
mod model;
mod netns;
mod orphans;
mod python_peers;
mod router;
mod session_model;
mod support;
mod tags;
mod validation;
mod vpc_endpoints;
