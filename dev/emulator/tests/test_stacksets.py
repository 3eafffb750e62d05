"""SERVICE_MANAGED StackSets over the local organization (stacksets.py): nested OUs, no management
account, AutoDeployment. Each test builds an organization of its own."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from conftest import URL, client_for
from plgov_emulator.organization import Organization, build_organization

REGIONS = ["us-east-1", "eu-west-1"]
TEMPLATE = json.dumps({"Resources": {"Member": {"Type": "AWS::DynamoDB::Table", "Properties": {
    "TableName": "plgov-member-state", "BillingMode": "PAY_PER_REQUEST",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}}}})


def tables(account: str, region: str) -> list[str]:
    sts = boto3.client("sts", endpoint_url=URL, region_name=region, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/plgov-test",
                            RoleSessionName="plgov-test")["Credentials"]
    ddb = boto3.client("dynamodb", endpoint_url=URL, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    return list(ddb.list_tables()["TableNames"])


def instances(cfn: Any, name: str) -> set[tuple[str, str]]:
    return {(s["Account"], s["Region"]) for s in cfn.list_stack_instances(StackSetName=name)["Summaries"]}


@pytest.fixture
def org(emulator_url: str) -> Organization:
    return build_organization(lambda service, account: client_for(service, account))


def test_an_ou_target_reaches_every_account_below_it_but_not_the_management_account(org: Organization) -> None:
    orgs = client_for("organizations", org.management)
    deep = orgs.create_organizational_unit(ParentId=org.ous["Workloads/Sandbox"],
                                           Name="Deep")["OrganizationalUnit"]["Id"]
    orgs.move_account(AccountId=org.members[2], SourceParentId=org.ous["Workloads/Sandbox"], DestinationParentId=deep)
    cfn = client_for("cloudformation", org.management)
    cfn.create_stack_set(StackSetName="plgov-member", TemplateBody=TEMPLATE, PermissionModel="SERVICE_MANAGED",
                         AutoDeployment={"Enabled": False, "RetainStacksOnAccountRemoval": False})
    cfn.create_stack_instances(StackSetName="plgov-member", Regions=REGIONS,
                               DeploymentTargets={"OrganizationalUnitIds": [org.ous["Workloads"],
                                                                            org.ous["Workloads/Sandbox"]]})
    assert instances(cfn, "plgov-member") == {(m, r) for m in org.members for r in REGIONS}
    assert tables(org.members[2], "eu-west-1") == ["plgov-member-state"]  # three levels down
    assert tables(org.hub, "us-east-1") == []

    cfn.create_stack_set(StackSetName="plgov-everyone", TemplateBody=TEMPLATE, PermissionModel="SERVICE_MANAGED")
    cfn.create_stack_instances(StackSetName="plgov-everyone", Regions=["us-west-2"],
                               DeploymentTargets={"OrganizationalUnitIds": [org.root_id]})
    assert instances(cfn, "plgov-everyone") == {(a, "us-west-2") for a in [org.hub, *org.members]}
    assert tables(org.management, "us-west-2") == []


def test_auto_deployment_follows_accounts_into_and_out_of_the_target(org: Organization) -> None:
    cfn = client_for("cloudformation", org.management)
    cfn.create_stack_set(StackSetName="plgov-member", TemplateBody=TEMPLATE, PermissionModel="SERVICE_MANAGED",
                         AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
    assert cfn.describe_stack_set(StackSetName="plgov-member")["StackSet"]["AutoDeployment"] == {
        "Enabled": True, "RetainStacksOnAccountRemoval": False}
    cfn.create_stack_instances(StackSetName="plgov-member", Regions=REGIONS,
                               DeploymentTargets={"OrganizationalUnitIds": [org.ous["Workloads"]]})
    orgs = client_for("organizations", org.management)
    new = orgs.create_account(AccountName="member4", Email="m4@example.com")["CreateAccountStatus"]["AccountId"]
    assert tables(new, "us-east-1") == []  # created in the root: not a target
    orgs.move_account(AccountId=new, SourceParentId=org.root_id, DestinationParentId=org.ous["Workloads/Sandbox"])
    assert {(new, r) for r in REGIONS} <= instances(cfn, "plgov-member")
    assert tables(new, "eu-west-1") == ["plgov-member-state"]
    orgs.move_account(AccountId=org.members[0], SourceParentId=org.ous["Workloads"],
                      DestinationParentId=org.ous["Governance"])
    assert not {(org.members[0], r) for r in REGIONS} & instances(cfn, "plgov-member")
    assert tables(org.members[0], "us-east-1") == []


def test_without_auto_deployment_a_moved_account_gets_nothing(org: Organization) -> None:
    cfn = client_for("cloudformation", org.management)
    cfn.create_stack_set(StackSetName="plgov-member", TemplateBody=TEMPLATE, PermissionModel="SERVICE_MANAGED")
    cfn.create_stack_instances(StackSetName="plgov-member", Regions=["us-east-1"],
                               DeploymentTargets={"OrganizationalUnitIds": [org.ous["Governance"]]})
    client_for("organizations", org.management).move_account(
        AccountId=org.members[0], SourceParentId=org.ous["Workloads"], DestinationParentId=org.ous["Governance"])
    assert instances(cfn, "plgov-member") == {(org.hub, "us-east-1")}
