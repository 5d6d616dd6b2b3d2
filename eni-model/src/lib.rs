#![doc = include_str!("../README.md")]
//!
//! ## The API
//!
//! - [`plan`] (or [`plan_with`] and [`PlanOptions`]) turns an [`Inventory`] and [`Runtime`]s into an
//!   [`EniPlan`]: [`PlannedEni`]s, [`SubnetUsage`], [`VpcUsage`] and [`Warning`]s; [`validate`] checks one
//!   [`RuntimeNetwork`] alone;
//! - [`Lifecycle`] applies [`LifecycleEvent`]s in time order and gives the [`EniRange`] at any moment;
//! - [`admit`] runs a [`Schedule`] of calls under a [`SessionPolicy`] into an [`Admission`], the quota
//!   enforced as AWS documents it or as one of the [`QuotaModel`] hypotheses for the report's 768;
//! - [`simulate`] plays a [`ClosedLoad`] (such as the report's, [`REPORT`]) through admission, and
//!   [`fit`] fits a [`QuotaModel`]'s parameter to observed totals; [`profile_distance`] says how far an
//!   observed per-second profile is from a prediction;
//! - [`compare`] holds [`ObservedEni`]s against [`Expected`] keys (from [`EniPlan::expected`] or
//!   [`EniRange::expected`]) into a [`Verdict`]; [`judge`] gives the same verdict borrowing the ENIs, of
//!   any type that is an [`EniView`];
//! - ids ([`SubnetId`], [`SecurityGroupId`], [`VpcId`], [`AzId`]) refuse bad input when parsed.
//!
//! A /24 subnet keeps 256 addresses less the 5 AWS reserves and one per ENI:
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

#![warn(missing_docs)]

mod admission;
mod compare;
mod ids;
mod lifecycle;
mod load;
mod network;
mod plan;
mod quota;
mod regions;
mod secs;

pub use admission::{
    Admission, Call, CallKind, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_LIFETIME, DEFAULT_MAX_VMS, Decision, LivePoint,
    Schedule, SessionPolicy, admit,
};
pub use compare::{
    AGENTIC_AI, EniView, Expected, MatchedKey, MatchedRef, ObservedEni, Unexpected, UnexpectedRef, Verdict, VerdictRef,
    compare, judge,
};
pub use ids::{AzId, IdError, SecurityGroupId, SubnetId, VpcId};
pub use lifecycle::{DEFAULT_LINGER, EniRange, Lifecycle, LifecycleError, LifecycleEvent, LingeringEni};
pub use load::{ClosedLoad, Fit, REPORT, ReportLoad, Second, Simulated, fit, profile_distance, simulate};
pub use network::{
    EniKey, Inventory, MAX_SECURITY_GROUPS, MAX_SUBNETS, NetworkError, Placement, RuntimeNetwork, SecurityGroup,
    Subnet, validate,
};
pub use plan::{
    DEFAULT_ENI_QUOTA, EniPlan, PlanError, PlanOptions, PlannedEni, RESERVED_IPS_PER_SUBNET, Runtime, RuntimeNames,
    RuntimeNamesIter, SubnetUsage, VpcUsage, Warning, plan, plan_with, usable_ips,
};
pub use quota::{QuotaModel, QuotaModelError, cell_of};
pub use regions::{supported_az_ids, supported_regions};
