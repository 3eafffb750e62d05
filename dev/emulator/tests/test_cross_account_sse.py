"""Cross-account access refused for a table encrypted with the AWS managed key (cross_account_sse.py):
a hub's shared tables must use DynamoDB's AWS owned key (SSE off) or a customer managed key."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

from conftest import client_for
from plgov_emulator.organization import Organization, build_organization


@pytest.fixture
def org(emulator_url: str) -> Organization:
    return build_organization(lambda service, account: client_for(service, account))


def shared_table(org: Organization, name: str, **sse) -> str:
    ddb = client_for("dynamodb", org.hub)
    arn = ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                           BillingMode="PAY_PER_REQUEST", **sse)["TableDescription"]["TableArn"]
    ddb.put_resource_policy(ResourceArn=arn, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["dynamodb:GetItem", "dynamodb:DescribeTable"],
        "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": org.id}}}]}))
    ddb.put_item(TableName=name, Item={"pk": {"S": "k"}})
    return arn


def test_only_the_aws_managed_key_shuts_other_accounts_out(org: Organization) -> None:
    cmk = client_for("kms", org.hub).create_key(Description="shared")["KeyMetadata"]["Arn"]
    owned = shared_table(org, "owned")  # SSE off: the AWS owned key
    off = shared_table(org, "off", SSESpecification={"Enabled": False})
    managed = shared_table(org, "managed", SSESpecification={"Enabled": True})
    customer = shared_table(org, "customer", SSESpecification={"Enabled": True, "SSEType": "KMS",
                                                              "KMSMasterKeyId": cmk})
    member = client_for("dynamodb", org.members[0])
    for arn in (owned, off, customer):
        assert member.get_item(TableName=arn, Key={"pk": {"S": "k"}})["Item"], arn
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        member.get_item(TableName=managed, Key={"pk": {"S": "k"}})
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    assert exc.value.response["Error"]["Message"].startswith("KMS key access denied error")
    assert member.describe_table(TableName=managed)["Table"]["TableArn"] == managed  # reads no item
    # The owner itself, by name or ARN, is not concerned.
    hub = client_for("dynamodb", org.hub)
    assert hub.get_item(TableName=managed, Key={"pk": {"S": "k"}})["Item"]
    assert hub.get_item(TableName="managed", Key={"pk": {"S": "k"}})["Item"]


def test_a_cloudformation_table_with_sse_enabled_is_refused_to_other_accounts(org: Organization) -> None:
    policy = {"PolicyDocument": {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "dynamodb:Scan", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": org.id}}}]}}

    def table(sse: bool) -> dict:
        return {"Type": "AWS::DynamoDB::Table", "Properties": {
            "BillingMode": "PAY_PER_REQUEST", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "SSESpecification": {"SSEEnabled": sse}, "ResourcePolicy": policy}}

    cfn = client_for("cloudformation", org.hub)
    cfn.create_stack(StackName="hub", TemplateBody=json.dumps({
        "Resources": {"Managed": table(True), "Owned": table(False)},
        "Outputs": {"Managed": {"Value": {"Fn::GetAtt": ["Managed", "Arn"]}},
                    "Owned": {"Value": {"Fn::GetAtt": ["Owned", "Arn"]}}}}))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="hub")["Stacks"][0]["Outputs"]}
    member = client_for("dynamodb", org.members[2])
    assert member.scan(TableName=outputs["Owned"])["Count"] == 0
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        member.scan(TableName=outputs["Managed"])
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
