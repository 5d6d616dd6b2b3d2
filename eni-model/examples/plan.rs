use eni_model::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let inventory = Inventory::new("ap-northeast-1")
        .with_subnet(Subnet {
            id: "subnet-0aaaaaaaaaaaaaaa1".parse()?,
            vpc: "vpc-0123456789abcdef0".parse()?,
            az_id: "apne1-az4".parse()?,
            cidr: "10.0.2.0/24".parse()?,
        })
        .with_subnet(Subnet {
            id: "subnet-0ccccccccccccccc1".parse()?,
            vpc: "vpc-0123456789abcdef0".parse()?,
            az_id: "apne1-az1".parse()?,
            cidr: "10.0.3.0/24".parse()?,
        })
        .with_security_group(SecurityGroup {
            id: "sg-01111111111111111".parse()?,
            vpc: "vpc-0123456789abcdef0".parse()?,
        });
    let runtimes: Vec<Runtime> = (0..10)
        .map(|i| {
            Runtime::new(
                format!("eni_test_runtime_{i}"),
                RuntimeNetwork::vpc(["subnet-0aaaaaaaaaaaaaaa1", "subnet-0ccccccccccccccc1"], ["sg-01111111111111111"])
                    .unwrap(),
            )
        })
        .collect();
    let plan = plan(&inventory, &runtimes)?;
    assert_eq!(plan.total_enis, 2); // one per subnet, shared by all ten runtimes
    println!("{}", serde_json::to_string_pretty(&plan)?);
    Ok(())
}
