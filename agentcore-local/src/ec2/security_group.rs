//! Security groups: CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup; their
//! rules are in [`super::security_group_rule`].

use super::context::{GROUP, Op, VPC, check_ids, sorted_by_seq, wanted_ids};
use super::query::{filters, matches, paginate, tag_specifications};
use super::security_group_rule::group_by_name_in_default_vpc;
use super::xml;
use crate::error::AwsError;
use crate::ids;
use crate::state::{SecurityGroup, SecurityGroupRule};

/// CreateSecurityGroup: in `VpcId`, or in the default VPC when there is one; the group starts
/// with EC2's default egress rule (all traffic to 0.0.0.0/0).
pub(super) fn create_security_group(op: &mut Op<'_>) -> Result<String, AwsError> {
    let name = op.params.required("GroupName")?.to_string();
    let description = op.params.required("GroupDescription")?.to_string();
    let default_vpc = op.region.vpcs.values().find(|v| v.is_default).map(|v| v.id.clone());
    let vpc_id = op
        .params
        .get("VpcId")
        .map(str::to_string)
        .or(default_vpc)
        .ok_or_else(|| AwsError::ec2("VPCIdNotSpecified", "No default VPC for this user"))?;
    VPC.check(&vpc_id)?;
    if !op.region.vpcs.contains_key(&vpc_id) {
        return Err(VPC.not_found(&vpc_id));
    }
    if name.eq_ignore_ascii_case("default") {
        return Err(AwsError::ec2("InvalidParameterValue", "Cannot use reserved security group name: default"));
    }
    if name.starts_with("sg-") {
        return Err(AwsError::ec2("InvalidParameterValue", "Group names may not be in the format sg-*"));
    }
    if name.chars().count() > 255 || description.chars().count() > 255 {
        return Err(AwsError::ec2(
            "InvalidParameterValue",
            "Security group name and description must be at most 255 characters",
        ));
    }
    if op.region.security_groups.values().any(|g| g.vpc_id == vpc_id && g.name == name) {
        return Err(AwsError::ec2(
            "InvalidGroup.Duplicate",
            format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
        ));
    }
    let tags = tag_specifications(op.params, "security-group")?;
    let group = SecurityGroup {
        id: ids::ec2_id("sg"),
        vpc_id,
        name,
        description,
        rules: vec![SecurityGroupRule::default_egress()],
        tags,
        seq: op.region.next_seq(),
    };
    let arn = format!("arn:aws:ec2:{}:{}:security-group/{}", op.region.name, op.account(), group.id);
    let out = xml::response("CreateSecurityGroup", op.request_id, |x| {
        x.leaf("return", true);
        x.leaf("groupId", &group.id);
        x.leaf("securityGroupArn", &arn);
        if !group.tags.is_empty() {
            xml::tag_set(x, &group.tags);
        }
    });
    op.region.security_groups.insert(group.id.clone(), group);
    Ok(out)
}

/// DescribeSecurityGroups.
pub(super) fn describe_security_groups(op: &Op<'_>) -> Result<String, AwsError> {
    let (wanted, mut wanted_set) = wanted_ids(op.params, "GroupId")?;
    let names = op.params.list("GroupName")?;
    check_ids(&GROUP, &wanted, &op.region.security_groups)?;
    // Group names address the default VPC's groups.
    for name in &names {
        wanted_set.insert(group_by_name_in_default_vpc(op.region, name)?);
    }
    if !wanted.is_empty() && op.params.get("MaxResults").is_some() {
        return Err(AwsError::ec2(
            "InvalidParameterCombination",
            "The parameter groupIds cannot be used with the parameter maxResults",
        ));
    }
    let filters = filters(op.params, &["group-id", "group-name", "vpc-id", "description", "owner-id"])?;
    let account = op.account();
    let region = &*op.region;
    let items: Vec<&SecurityGroup> = sorted_by_seq(region.security_groups.values(), |g| g.seq)
        .into_iter()
        .filter(|g| wanted_set.is_empty() || wanted_set.contains(&g.id))
        .filter(|g| {
            matches(&filters, &g.tags, |name| match name {
                "group-id" => vec![g.id.clone()],
                "group-name" => vec![g.name.clone()],
                "vpc-id" => vec![g.vpc_id.clone()],
                "description" => vec![g.description.clone()],
                "owner-id" => vec![account.to_string()],
                _ => vec![],
            })
        })
        .collect();
    let (page, next) = paginate(items, op.params)?;
    Ok(xml::response("DescribeSecurityGroups", op.request_id, |x| {
        x.set("securityGroupInfo", page, |x, g| xml::security_group(x, g, region, account));
        if let Some(token) = &next {
            x.leaf("nextToken", token);
        }
    }))
}

/// DeleteSecurityGroup: refused for `default` and while an ENI, a runtime or another group's rule
/// uses the group; its own rules go with it.
pub(super) fn delete_security_group(op: &mut Op<'_>) -> Result<String, AwsError> {
    let id = match (op.params.get("GroupId"), op.params.get("GroupName")) {
        (Some(id), _) => id.to_string(),
        (None, Some(name)) => group_by_name_in_default_vpc(op.region, name)?,
        (None, None) => {
            return Err(AwsError::ec2(
                "MissingParameter",
                "The request must contain the parameter groupName or groupId",
            ));
        }
    };
    GROUP.check(&id)?;
    let group = op.region.security_groups.get(&id).ok_or_else(|| GROUP.not_found(&id))?;
    if group.is_default() {
        return Err(AwsError::ec2(
            "CannotDelete",
            format!("the specified group: \"{id}\" name: \"default\" cannot be deleted by a user"),
        ));
    }
    let used_by_eni = op.region.network_interfaces.values().any(|n| n.groups.contains(&id));
    let used_by_runtime =
        op.region.runtimes.values().any(|r| r.effective_vpc.as_ref().is_some_and(|v| v.security_groups.contains(&id)));
    let referenced = op.region.security_groups.values().any(|g| g.id != id && g.references(&id));
    if used_by_eni || used_by_runtime || referenced {
        return Err(AwsError::ec2("DependencyViolation", format!("resource {id} has a dependent object")));
    }
    op.region.security_groups.remove(&id);
    Ok(xml::response("DeleteSecurityGroup", op.request_id, |x| {
        x.leaf("return", true);
        x.leaf("groupId", &id);
    }))
}
