"""The local platform's moto makes the EKS cluster security group that moto 5.2.5 omits
(tests/local_platform/moto_tls_server.py: add_eks_cluster_security_group). Managed node groups
without a launch template put this group on their nodes, so the network role must find it by its
``aws:eks:cluster-name`` tag and the data services must admit it."""

from __future__ import annotations

# The patched server and its client factory, shared with the EFS tests.
from test_moto_efs import client  # noqa: F401  # pylint: disable=unused-import


def _network(client, cidr: str):  # noqa: F811
    ec2 = client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr.replace("/16", "/24"))["Subnet"]["SubnetId"]
    return ec2, vpc_id, subnet_id


def _create(client, name: str, subnet_id: str):  # noqa: F811
    eks = client("eks")
    eks.create_cluster(name=name, roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": [subnet_id]})
    return eks


def test_cluster_gets_its_own_group_in_the_subnets_vpc(client):  # noqa: F811
    ec2, vpc_id, subnet_id = _network(client, "10.41.0.0/16")
    eks = _create(client, "sg-made", subnet_id)
    config = eks.describe_cluster(name="sg-made")["cluster"]["resourcesVpcConfig"]
    group_id = config["clusterSecurityGroupId"]
    assert config["vpcId"] == vpc_id

    found = ec2.describe_security_groups(Filters=[{"Name": "tag:aws:eks:cluster-name", "Values": ["sg-made"]},
                                                  {"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    assert [group["GroupId"] for group in found] == [group_id]
    group = found[0]
    assert group["GroupName"].startswith("eks-cluster-sg-sg-made-")
    assert {"Key": "kubernetes.io/cluster/sg-made", "Value": "owned"} in group["Tags"]
    # All traffic from itself, all traffic out: what EKS makes.
    assert [(rule["IpProtocol"], [pair["GroupId"] for pair in rule["UserIdGroupPairs"]])
            for rule in group["IpPermissions"]] == [("-1", [group_id])]
    assert group["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]

    # An update of the endpoint settings keeps the group, as on AWS.
    eks.update_cluster_config(name="sg-made", resourcesVpcConfig={"endpointPublicAccess": True})
    assert eks.describe_cluster(name="sg-made")["cluster"]["resourcesVpcConfig"]["clusterSecurityGroupId"] == group_id

    eks.delete_cluster(name="sg-made")
    assert ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": [group_id]}])["SecurityGroups"] == []


def test_a_referenced_group_outlives_the_cluster(client):  # noqa: F811
    ec2, vpc_id, subnet_id = _network(client, "10.42.0.0/16")
    eks = _create(client, "sg-kept", subnet_id)
    group_id = eks.describe_cluster(name="sg-kept")["cluster"]["resourcesVpcConfig"]["clusterSecurityGroupId"]
    postgres = ec2.create_security_group(GroupName="pg", Description="pg", VpcId=vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=postgres, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": group_id}]}])

    eks.delete_cluster(name="sg-kept")
    assert [group["GroupId"] for group in ec2.describe_security_groups(
        Filters=[{"Name": "group-id", "Values": [group_id]}])["SecurityGroups"]] == [group_id]


def test_cluster_on_unknown_subnets_gets_no_group(client):  # noqa: F811
    eks = _create(client, "sg-none", "subnet-unknown")
    assert "clusterSecurityGroupId" not in eks.describe_cluster(name="sg-none")["cluster"]["resourcesVpcConfig"]
