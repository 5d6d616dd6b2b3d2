//! Inventories and runtimes shaped like the report's account.

use eni_model::*;

pub const VPC: &str = "vpc-0123456789abcdef0";
pub const PRIVATE_A: &str = "subnet-0aaaaaaaaaaaaaaa1";
pub const PRIVATE_C: &str = "subnet-0ccccccccccccccc1";
pub const SG_1: &str = "sg-01111111111111111";
pub const SG_2: &str = "sg-02222222222222222";

pub fn subnet(id: &str, vpc: &str, az_id: &str, cidr: &str) -> Subnet {
    Subnet {
        id: id.parse().unwrap(),
        vpc: vpc.parse().unwrap(),
        az_id: az_id.parse().unwrap(),
        cidr: cidr.parse().unwrap(),
    }
}

pub fn sg(id: &str, vpc: &str) -> SecurityGroup {
    SecurityGroup { id: id.parse().unwrap(), vpc: vpc.parse().unwrap() }
}

/// The report's network: ap-northeast-1, two private /24 subnets in two supported zones, two SGs.
pub fn report_inventory() -> Inventory {
    Inventory::new("ap-northeast-1")
        .with_subnet(subnet(PRIVATE_A, VPC, "apne1-az4", "10.0.2.0/24"))
        .with_subnet(subnet(PRIVATE_C, VPC, "apne1-az1", "10.0.3.0/24"))
        .with_security_group(sg(SG_1, VPC))
        .with_security_group(sg(SG_2, VPC))
}

pub fn vpc(subnets: &[&str], groups: &[&str]) -> RuntimeNetwork {
    RuntimeNetwork::vpc(subnets, groups).unwrap()
}

/// `eni_test_runtime_0` … `_{n-1}`, each on both private subnets with the shared SG.
pub fn report_runtimes(n: usize) -> Vec<Runtime> {
    (0..n).map(|i| Runtime::new(format!("eni_test_runtime_{i}"), vpc(&[PRIVATE_A, PRIVATE_C], &[SG_1]))).collect()
}

/// An inventory of `subnets` subnets and `groups` SGs in one VPC of us-east-1, spread over its
/// supported zones; ids are `subnet-{i:08}` and `sg-{i:08}`.
pub fn grid_inventory(subnets: usize, groups: usize) -> Inventory {
    let zones = supported_az_ids("us-east-1").unwrap();
    let mut inventory = Inventory::new("us-east-1");
    for i in 0..subnets {
        let cidr = format!("10.{}.{}.0/24", i / 256, i % 256);
        inventory = inventory.with_subnet(subnet(&subnet_id(i), VPC, zones[i % zones.len()], &cidr));
    }
    for i in 0..groups {
        inventory = inventory.with_security_group(sg(&sg_id(i), VPC));
    }
    inventory
}

pub fn subnet_id(i: usize) -> String {
    format!("subnet-{i:08}")
}

pub fn sg_id(i: usize) -> String {
    format!("sg-{i:08}")
}
