//! A pure model of Amazon Bedrock AgentCore Runtime ENIs in VPC mode.
//!
//! AgentCore places elastic network interfaces (interface type `agentic_ai`) in the subnets of a runtime
//! in VPC mode. They are shared: one ENI per subnet for every distinct *set* of security groups, whatever
//! the number of runtimes or the load. An ENI whose last runtime is gone may linger for up to 8 hours.
//! Each session id is a microVM, and the account's active-session quota refuses new ones when full.
//!
//! This crate predicts all of that without I/O:
//! - [`plan`]: the ENIs a set of runtimes needs, with subnet IP headroom and warnings;
//! - [`Lifecycle`]: runtimes created, re-networked and deleted over time, and the ENI count as a
//!   `[min, max]` [`EniRange`] at any moment;
//! - [`admit`]: which invocations of a [`Schedule`] the session quota admits;
//! - [`compare`]: observed ENIs against a plan or a range, as a [`Verdict`] that prints like a diff.
//!
//! ```
//! use eni_model::*;
//! let inventory = Inventory::new("us-east-1")
//!     .with_subnet(Subnet {
//!         id: "subnet-0aaaaaaaaaaaaaaaa".parse()?,
//!         vpc: "vpc-0123456789abcdef0".parse()?,
//!         az_id: "use1-az1".parse()?,
//!         cidr: "10.0.1.0/24".parse()?,
//!     })
//!     .with_security_group(SecurityGroup { id: "sg-0123456789abcdef0".parse()?, vpc: "vpc-0123456789abcdef0".parse()? });
//! let runtimes: Vec<Runtime> = (0..10)
//!     .map(|i| Runtime::new(format!("eni_test_runtime_{i}"),
//!         RuntimeNetwork::vpc(["subnet-0aaaaaaaaaaaaaaaa"], ["sg-0123456789abcdef0"]).unwrap()))
//!     .collect();
//! let plan = plan(&inventory, &runtimes)?;
//! assert_eq!(plan.total_enis, 1);
//! assert_eq!(plan.subnets[0].headroom, 256 - 5 - 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod admission;
mod compare;
mod ids;
mod lifecycle;
mod network;
mod plan;
mod regions;
mod secs;

pub use admission::{
    Admission, Call, CallKind, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_LIFETIME, DEFAULT_MAX_VMS, Decision, LivePoint,
    Schedule, SessionPolicy, admit,
};
pub use compare::{AGENTIC_AI, Expected, MatchedKey, ObservedEni, Unexpected, Verdict, compare};
pub use ids::{AzId, IdError, SecurityGroupId, SubnetId, VpcId};
pub use lifecycle::{DEFAULT_LINGER, EniRange, Lifecycle, LifecycleError, LifecycleEvent, LingeringEni};
pub use network::{
    EniKey, Inventory, MAX_SECURITY_GROUPS, MAX_SUBNETS, NetworkError, Placement, RuntimeNetwork, SecurityGroup,
    Subnet, validate,
};
pub use plan::{
    DEFAULT_ENI_QUOTA, EniPlan, PlanError, PlanOptions, PlannedEni, RESERVED_IPS_PER_SUBNET, Runtime, SubnetUsage,
    VpcUsage, Warning, plan, plan_with, usable_ips,
};
pub use regions::{supported_az_ids, supported_regions};
