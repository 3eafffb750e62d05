"""Resource and ServiceNetwork VPC endpoints: created without a ServiceName, described with their
VPC Lattice ARN, filtered and deleted, and left alone by the connection lifecycle and its
notifications (plgov_emulator/resource_endpoints.py)."""

from __future__ import annotations

import botocore.exceptions
import pytest

from conftest import REGION, client_for, create_endpoint, create_service, new_account
from test_notifications import notify, received, topic_with_queue

RCFG = "arn:aws:vpc-lattice:us-east-1:111122223333:resourceconfiguration/rcfg-0123456789abcdef0"
SN = "arn:aws:vpc-lattice:us-east-1:111122223333:servicenetwork/sn-0123456789abcdef0"


def vpc_with_subnets(ec2, azs: int = 1) -> tuple[str, list[str]]:
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.2.{i}.0/24",
                                 AvailabilityZone=f"{REGION}{'abc'[i]}")["Subnet"]["SubnetId"] for i in range(azs)]
    return vpc, subnets


def resource_endpoint(account: str, azs: int = 1, **extra) -> dict:
    ec2 = client_for("ec2", account)
    vpc, subnets = vpc_with_subnets(ec2, azs)
    return ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Resource", SubnetIds=subnets,
                                   ResourceConfigurationArn=RCFG, **extra)["VpcEndpoint"]


def error_code(call) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    return info.value.response["Error"]["Code"]


def test_a_resource_endpoint_is_created_pending_and_described_available_without_a_service_name(provider):
    ec2 = client_for("ec2", provider)
    vpc, subnets = vpc_with_subnets(ec2, 2)
    created = ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Resource", SubnetIds=subnets,
                                      ResourceConfigurationArn=RCFG,
                                      TagSpecifications=[{"ResourceType": "vpc-endpoint",
                                                          "Tags": [{"Key": "team", "Value": "data"}]}])["VpcEndpoint"]
    assert (created["VpcEndpointType"], created["State"]) == ("Resource", "Pending")
    assert created["ResourceConfigurationArn"] == RCFG
    for absent in ("ServiceName", "ServiceNetworkArn", "PolicyDocument"):
        assert absent not in created, absent
    [described] = ec2.describe_vpc_endpoints(VpcEndpointIds=[created["VpcEndpointId"]])["VpcEndpoints"]
    assert (described["VpcEndpointType"], described["State"]) == ("Resource", "Available")
    assert described["ResourceConfigurationArn"] == RCFG
    for absent in ("ServiceName", "ServiceNetworkArn", "PolicyDocument"):
        assert absent not in described, absent
    assert (described["VpcId"], sorted(described["SubnetIds"])) == (vpc, sorted(subnets))
    assert (described["IpAddressType"], described["PrivateDnsEnabled"]) == ("IPV4", False)
    assert described["OwnerId"] == provider
    assert described["Tags"] == [{"Key": "team", "Value": "data"}]
    # The VPC's default security group, and one network interface in each subnet.
    default = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                    {"Name": "group-name", "Values": ["default"]}])
    assert [g["GroupId"] for g in described["Groups"]] == [default["SecurityGroups"][0]["GroupId"]]
    enis = ec2.describe_network_interfaces(NetworkInterfaceIds=described["NetworkInterfaceIds"])["NetworkInterfaces"]
    assert sorted(e["SubnetId"] for e in enis) == sorted(subnets)


def test_a_service_network_endpoint_has_its_arn_and_the_security_groups_given(provider):
    ec2 = client_for("ec2", provider)
    vpc, subnets = vpc_with_subnets(ec2)
    group = ec2.create_security_group(GroupName="lattice", Description="lattice", VpcId=vpc)["GroupId"]
    created = ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="ServiceNetwork", SubnetIds=subnets,
                                      ServiceNetworkArn=SN, SecurityGroupIds=[group],
                                      PrivateDnsEnabled=True)["VpcEndpoint"]
    [described] = ec2.describe_vpc_endpoints(VpcEndpointIds=[created["VpcEndpointId"]])["VpcEndpoints"]
    assert (described["VpcEndpointType"], described["ServiceNetworkArn"], described["State"]) == (
        "ServiceNetwork", SN, "Available")
    assert "ServiceName" not in described and "ResourceConfigurationArn" not in described
    assert [g["GroupId"] for g in described["Groups"]] == [group]
    assert described["PrivateDnsEnabled"] is True


def test_filters_find_them_by_type_and_never_by_service_name(provider):
    ec2 = client_for("ec2", provider)
    service = create_service(new_account(), acceptance_required=False)
    interface = create_endpoint(provider, service)
    resource = resource_endpoint(provider)["VpcEndpointId"]

    def ids(*filters) -> list[str]:
        return sorted(e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(
            Filters=[{"Name": n, "Values": v} for n, v in filters])["VpcEndpoints"])

    assert ids(("vpc-endpoint-type", ["Resource"])) == [resource]
    assert ids(("vpc-endpoint-type", ["Interface"])) == [interface]
    assert ids(("vpc-endpoint-type", ["Interface", "Resource"])) == sorted([interface, resource])
    # moto failed every service-name filter with an internal error once an endpoint had no ServiceName.
    assert ids(("service-name", [f"com.amazonaws.vpce.{REGION}.{service}"])) == [interface]
    assert ids(("vpc-endpoint-id", [resource])) == [resource]
    assert ids(("vpc-endpoint-type", ["ServiceNetwork"])) == []


def test_delete_marks_it_deleted_and_removes_its_network_interfaces(provider):
    ec2 = client_for("ec2", provider)
    endpoint = resource_endpoint(provider, azs=2)
    enis = endpoint["NetworkInterfaceIds"]
    assert len(enis) == 2
    assert ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint["VpcEndpointId"]])["Unsuccessful"] == []
    [described] = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint["VpcEndpointId"]])["VpcEndpoints"]
    assert described["State"] == "deleted"
    assert error_code(lambda: ec2.describe_network_interfaces(NetworkInterfaceIds=enis[:1])) == \
        "InvalidNetworkInterfaceID.NotFound"


def test_what_ec2_refuses(provider):
    ec2 = client_for("ec2", provider)
    vpc, subnets = vpc_with_subnets(ec2)

    def create(**params):
        return lambda: ec2.create_vpc_endpoint(VpcId=vpc, SubnetIds=subnets, **params)

    assert error_code(create(VpcEndpointType="Resource")) == "MissingParameter"
    assert error_code(create(VpcEndpointType="ServiceNetwork", ResourceConfigurationArn=RCFG)) == "MissingParameter"
    assert error_code(create(VpcEndpointType="Resource", ResourceConfigurationArn=RCFG,
                             ServiceName="com.amazonaws.us-east-1.s3")) == "InvalidParameterCombination"
    assert error_code(create(VpcEndpointType="Resource", ResourceConfigurationArn=RCFG,
                             ServiceNetworkArn=SN)) == "InvalidParameterCombination"
    assert error_code(create(VpcEndpointType="Resource", ResourceConfigurationArn=SN)) == "InvalidParameterValue"
    assert error_code(lambda: ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Resource",
                                                      ResourceConfigurationArn=RCFG,
                                                      SubnetIds=["subnet-0123456789abcdef0"])) == \
        "InvalidSubnetID.NotFound"
    assert error_code(create(VpcEndpointType="Resource", ResourceConfigurationArn=RCFG,
                             SecurityGroupIds=["sg-0123456789abcdef0"])) == "InvalidGroup.NotFound"
    # An interface endpoint needs a ServiceName: a client error, where moto failed with an internal one.
    assert error_code(create(VpcEndpointType="Interface")) == "MissingParameter"
    assert ec2.describe_vpc_endpoints()["VpcEndpoints"] == []


def test_the_connection_lifecycle_and_its_notifications_leave_them_alone(provider):
    consumer = new_account()
    ec2, consumer_ec2 = client_for("ec2", provider), client_for("ec2", consumer)
    service = create_service(provider)
    topic, queue = topic_with_queue(provider)
    notify(ec2, ["Connect", "Accept", "Reject", "Delete"], topic, ServiceId=service)
    interface = create_endpoint(consumer, service)
    resource = resource_endpoint(consumer)["VpcEndpointId"]
    # The provider's connections are its service's endpoints only.
    connections = ec2.describe_vpc_endpoint_connections()["VpcEndpointConnections"]
    assert [c["VpcEndpointId"] for c in connections] == [interface]
    # Accepting or rejecting the resource endpoint: not connected to the service.
    for call in (ec2.accept_vpc_endpoint_connections, ec2.reject_vpc_endpoint_connections):
        result = call(ServiceId=service, VpcEndpointIds=[resource])
        assert [(u["ResourceId"], u["Error"]["Code"]) for u in result["Unsuccessful"]] == [
            (resource, "InvalidVpcEndpointId.NotFound")]
    # No notification can watch it, and deleting it publishes nothing.
    consumer_topic, consumer_queue = topic_with_queue(consumer)
    assert error_code(lambda: notify(consumer_ec2, ["Delete"], consumer_topic, VpcEndpointId=resource)) == \
        "InvalidParameterValue"
    assert consumer_ec2.delete_vpc_endpoints(VpcEndpointIds=[resource])["Unsuccessful"] == []
    assert consumer_ec2.delete_vpc_endpoints(VpcEndpointIds=[interface])["Unsuccessful"] == []
    events = [(m["eventType"], m["endpointId"]) for m in received(provider, queue)]
    assert events == [("Connect", interface), ("Delete", interface)]
    assert received(consumer, consumer_queue) == []
