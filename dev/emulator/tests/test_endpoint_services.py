"""Endpoint service permissions (PrincipalType, order, filters, pages) and endpoint policies."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

from conftest import client_for, create_endpoint, create_service, new_account


def principals(ec2, service: str, **extra) -> list[tuple[str, str | None]]:
    rows = ec2.describe_vpc_endpoint_service_permissions(ServiceId=service, **extra)["AllowedPrincipals"]
    return [(r["Principal"], r.get("PrincipalType")) for r in rows]


def test_permissions_have_types_ids_and_keep_their_order(provider):
    ec2 = client_for("ec2", provider)
    service = create_service(provider)
    consumer = new_account()
    added = ec2.modify_vpc_endpoint_service_permissions(ServiceId=service, AddAllowedPrincipals=[
        f"arn:aws:iam::{consumer}:root", f"arn:aws:iam::{consumer}:role/app", f"arn:aws:iam::{consumer}:user/ops",
        "*"])["AddedPrincipals"]
    assert [(a["Principal"], a["PrincipalType"]) for a in added] == [
        (f"arn:aws:iam::{consumer}:root", "Account"), (f"arn:aws:iam::{consumer}:role/app", "Role"),
        (f"arn:aws:iam::{consumer}:user/ops", "User"), ("*", "All")]
    assert all(a["ServicePermissionId"].startswith("vpce-spn-") and a["ServiceId"] == service for a in added)
    rows = ec2.describe_vpc_endpoint_service_permissions(ServiceId=service)["AllowedPrincipals"]
    assert [(r["Principal"], r["PrincipalType"]) for r in rows] == [(a["Principal"], a["PrincipalType"]) for a in added]
    # The same permission keeps its id; removing one leaves the others in place.
    assert [r["ServicePermissionId"] for r in rows] == [a["ServicePermissionId"] for a in added]
    ec2.modify_vpc_endpoint_service_permissions(ServiceId=service, RemoveAllowedPrincipals=["*"],
                                                AddAllowedPrincipals=[f"arn:aws:iam::{consumer}:root"])
    assert principals(ec2, service) == [(a["Principal"], a["PrincipalType"]) for a in added[:3]]


def test_permissions_filter_and_page(provider):
    ec2 = client_for("ec2", provider)
    service = create_service(provider)
    accounts = [f"arn:aws:iam::{new_account()}:root" for _ in range(7)]
    ec2.modify_vpc_endpoint_service_permissions(ServiceId=service, AddAllowedPrincipals=[*accounts, "*"])
    assert principals(ec2, service, Filters=[{"Name": "principal-type", "Values": ["All"]}]) == [("*", "All")]
    assert principals(ec2, service, Filters=[{"Name": "principal", "Values": [accounts[2]]}]) == [
        (accounts[2], "Account")]
    seen, token = [], None
    while True:
        page = ec2.describe_vpc_endpoint_service_permissions(
            ServiceId=service, MaxResults=5, **({"NextToken": token} if token else {}))
        assert len(page["AllowedPrincipals"]) <= 5
        seen += [r["Principal"] for r in page["AllowedPrincipals"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == [*accounts, "*"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        ec2.describe_vpc_endpoint_service_permissions(ServiceId=service, MaxResults=4)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_acceptance_required_can_be_changed_and_is_described(provider):
    ec2 = client_for("ec2", provider)
    service = create_service(provider, acceptance_required=True)
    describe = lambda: ec2.describe_vpc_endpoint_service_configurations(  # noqa: E731
        ServiceIds=[service])["ServiceConfigurations"][0]["AcceptanceRequired"]
    assert describe() is True
    ec2.modify_vpc_endpoint_service_configuration(ServiceId=service, AcceptanceRequired=False)
    assert describe() is False
    endpoint = create_endpoint(new_account(), service)
    [conn] = ec2.describe_vpc_endpoint_connections()["VpcEndpointConnections"]
    assert (conn["VpcEndpointId"], conn["VpcEndpointState"]) == (endpoint, "available")


def test_endpoint_policies_default_modify_and_reset(provider):
    ec2 = client_for("ec2", provider)
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.3.1.0/24")["Subnet"]["SubnetId"]
    interface = ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Interface", SubnetIds=[subnet],
                                        ServiceName="com.amazonaws.us-east-1.sqs")["VpcEndpoint"]
    gateway = ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Gateway",
                                      ServiceName="com.amazonaws.us-east-1.s3")["VpcEndpoint"]
    full_access = [{"Action": "*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]
    for endpoint in (interface, gateway):
        assert json.loads(endpoint["PolicyDocument"])["Statement"] == full_access
    assert "Version" not in json.loads(interface["PolicyDocument"])  # as AWS shows interface endpoints
    assert json.loads(gateway["PolicyDocument"])["Version"] == "2008-10-17"
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "sqs:DeleteQueue", "Resource": "*"}]})
    ec2.modify_vpc_endpoint(VpcEndpointId=interface["VpcEndpointId"], PolicyDocument=deny)
    policy = lambda e: ec2.describe_vpc_endpoints(VpcEndpointIds=[e["VpcEndpointId"]])[  # noqa: E731
        "VpcEndpoints"][0]["PolicyDocument"]
    assert json.loads(policy(interface)) == json.loads(deny)
    ec2.modify_vpc_endpoint(VpcEndpointId=interface["VpcEndpointId"], ResetPolicy=True)
    assert json.loads(policy(interface))["Statement"] == full_access
    custom = ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Interface", SubnetIds=[subnet],
                                     ServiceName="com.amazonaws.us-east-1.sns", PolicyDocument=deny)["VpcEndpoint"]
    assert json.loads(custom["PolicyDocument"]) == json.loads(deny)
