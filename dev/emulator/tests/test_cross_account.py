"""Cross-account DynamoDB by table ARN under the hub table's resource policy (cross_account.py),
the policy evaluator (iam_policy.py) and the local organization (organization.py).

Each test builds an organization of its own (fresh random accounts), so tests run in parallel.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import REGION, URL, client_for, new_account
from plgov_emulator import iam_policy
from plgov_emulator.iam_policy import ALLOW, DENY, IMPLICIT_DENY, Caller, Request
from plgov_emulator.organization import Organization, build_organization


def ddb(account: str) -> Any:
    return client_for("dynamodb", account, retries=False)


def client_as(service: str, account: str, role: str, region: str = REGION) -> Any:
    """A client whose credentials are a session of `role` in `account`."""
    sts = boto3.client("sts", endpoint_url=URL, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName=role)["Credentials"]
    return boto3.client(service, endpoint_url=URL, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def create_table(client: Any, name: str, range_key: bool = False, **extra: Any) -> str:
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": "S"})
    return client.create_table(TableName=name, KeySchema=schema, AttributeDefinitions=attrs,
                               BillingMode="PAY_PER_REQUEST", **extra)["TableDescription"]["TableArn"]


def allowlist_policy(org: Organization, arn: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "OrganizationReadsTheAllowlist", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": ["dynamodb:Query", "dynamodb:Scan", "dynamodb:GetItem"],
        "Resource": [arn, f"{arn}/index/*"],
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": org.id}}}]}


def audit_policy(org: Organization, arn: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "MembersAppendTheirOwnAudit", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": "dynamodb:PutItem", "Resource": arn,
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": org.id},
                      "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["${aws:PrincipalAccount}#*"]}}}]}


@pytest.fixture
def org(emulator_url: str) -> Organization:
    return build_organization(lambda service, account: client_for(service, account))


@pytest.fixture
def hub(org: Organization) -> dict[str, str]:
    """The hub's allowlist and audit tables, with their policies; returns their ARNs."""
    client = ddb(org.hub)
    allowlist = create_table(client, "plgov-allowlist")
    audit = create_table(client, "plgov-audit", range_key=True)
    client.put_resource_policy(ResourceArn=allowlist, Policy=json.dumps(allowlist_policy(org, allowlist)))
    client.put_resource_policy(ResourceArn=audit, Policy=json.dumps(audit_policy(org, audit)))
    for service in ("com.amazonaws.vpce.us-east-1.vpce-svc-1", "com.amazonaws.vpce.us-east-1.vpce-svc-2"):
        client.put_item(TableName="plgov-allowlist", Item={"pk": {"S": service}, "allowed": {"BOOL": True}})
    return {"allowlist": allowlist, "audit": audit}


def denied(exc: pytest.ExceptionInfo[ClientError], account: str, action: str, resource: str,
           explicit: bool = False) -> None:
    error = exc.value.response["Error"]
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "AccessDeniedException"
    reason = ("with an explicit deny in a resource-based policy" if explicit
              else f"because no resource-based policy allows the {action} action")
    assert error["Message"] == (f"User: arn:aws:sts::{account}:assumed-role/plgov-test/plgov-test is not authorized "
                                f"to perform: {action} on resource: {resource} {reason}")


def audit_keys(org: Organization) -> set[str]:
    items = ddb(org.hub).scan(TableName="plgov-audit")["Items"]
    return {i["pk"]["S"] for i in items}


# --- reads by ARN -------------------------------------------------------------------------------

def test_a_member_reads_the_allowlist_by_arn(org: Organization, hub: dict[str, str]) -> None:
    member = ddb(org.members[0])
    key = {"pk": {"S": "com.amazonaws.vpce.us-east-1.vpce-svc-1"}}
    assert member.get_item(TableName=hub["allowlist"], Key=key)["Item"]["allowed"] == {"BOOL": True}
    queried = member.query(TableName=hub["allowlist"], KeyConditionExpression="pk = :p",
                           ExpressionAttributeValues={":p": key["pk"]})
    assert queried["Count"] == 1
    assert len(member.scan(TableName=hub["allowlist"])["Items"]) == 2
    got = member.transact_get_items(TransactItems=[{"Get": {"TableName": hub["allowlist"], "Key": key}}])
    assert got["Responses"][0]["Item"]["pk"] == key["pk"]  # each Get is authorized as GetItem
    # the member in the nested OU too, and the member's own table of the same name is not read
    create_table(ddb(org.members[2]), "plgov-allowlist")
    assert len(ddb(org.members[2]).scan(TableName=hub["allowlist"])["Items"]) == 2
    assert ddb(org.members[2]).scan(TableName="plgov-allowlist")["Items"] == []


def test_reads_the_policy_does_not_list_are_refused(org: Organization, hub: dict[str, str]) -> None:
    member = ddb(org.members[0])
    key = {"pk": {"S": "com.amazonaws.vpce.us-east-1.vpce-svc-1"}}
    with pytest.raises(ClientError) as exc:  # BatchGetItem is its own action, not GetItem
        member.batch_get_item(RequestItems={hub["allowlist"]: {"Keys": [key]}})
    denied(exc, org.members[0], "dynamodb:BatchGetItem", hub["allowlist"])
    with pytest.raises(ClientError) as exc:
        member.describe_table(TableName=hub["allowlist"])
    denied(exc, org.members[0], "dynamodb:DescribeTable", hub["allowlist"])
    with pytest.raises(ClientError) as exc:
        member.put_item(TableName=hub["allowlist"], Item={"pk": {"S": "com.amazonaws.vpce.us-east-1.vpce-svc-9"}})
    denied(exc, org.members[0], "dynamodb:PutItem", hub["allowlist"])
    assert len(ddb(org.hub).scan(TableName="plgov-allowlist")["Items"]) == 2


def test_an_account_outside_the_organization_is_refused(org: Organization, hub: dict[str, str]) -> None:
    outsider = new_account()
    with pytest.raises(ClientError) as exc:
        ddb(outsider).get_item(TableName=hub["allowlist"], Key={"pk": {"S": "com.amazonaws.vpce.us-east-1.vpce-svc-1"}})
    denied(exc, outsider, "dynamodb:GetItem", hub["allowlist"])
    with pytest.raises(ClientError) as exc:
        ddb(outsider).put_item(TableName=hub["audit"], Item={"pk": {"S": f"{outsider}#e1"}, "sk": {"S": "1"}})
    denied(exc, outsider, "dynamodb:PutItem", hub["audit"])
    assert audit_keys(org) == set()


def test_a_table_without_a_policy_is_refused_to_other_accounts(org: Organization) -> None:
    hub_client = ddb(org.hub)
    arn = create_table(hub_client, "plgov-cost-pool")
    hub_client.put_item(TableName=arn, Item={"pk": {"S": "pool"}})  # the owner, by ARN
    with pytest.raises(ClientError) as exc:
        ddb(org.members[0]).get_item(TableName=arn, Key={"pk": {"S": "pool"}})
    denied(exc, org.members[0], "dynamodb:GetItem", arn)
    missing = arn.replace("plgov-cost-pool", "plgov-no-such-table")
    with pytest.raises(ClientError) as exc:  # no table: no policy allows it either
        ddb(org.members[0]).get_item(TableName=missing, Key={"pk": {"S": "pool"}})
    denied(exc, org.members[0], "dynamodb:GetItem", missing)
    assert hub_client.get_item(TableName="plgov-cost-pool", Key={"pk": {"S": "pool"}})["Item"]


# --- writes under LeadingKeys -------------------------------------------------------------------

def test_a_member_writes_the_audit_under_its_own_key(org: Organization, hub: dict[str, str]) -> None:
    member = org.members[1]
    ddb(member).put_item(TableName=hub["audit"], Item={"pk": {"S": f"{member}#decision"}, "sk": {"S": "0001"}})
    assert audit_keys(org) == {f"{member}#decision"}


def test_a_member_writing_under_another_accounts_key_is_refused(org: Organization, hub: dict[str, str]) -> None:
    member, other = org.members[0], org.members[1]
    for pk in (f"{other}#decision", member, f"x{member}#decision"):
        with pytest.raises(ClientError) as exc:
            ddb(member).put_item(TableName=hub["audit"], Item={"pk": {"S": pk}, "sk": {"S": "0001"}})
        denied(exc, member, "dynamodb:PutItem", hub["audit"])
    assert audit_keys(org) == set()


def test_delete_update_and_scan_of_the_audit_are_refused(org: Organization, hub: dict[str, str]) -> None:
    member = org.members[0]
    key = {"pk": {"S": f"{member}#decision"}, "sk": {"S": "0001"}}
    ddb(member).put_item(TableName=hub["audit"], Item=key)
    with pytest.raises(ClientError) as exc:
        ddb(member).delete_item(TableName=hub["audit"], Key=key)
    denied(exc, member, "dynamodb:DeleteItem", hub["audit"])
    with pytest.raises(ClientError) as exc:
        ddb(member).update_item(TableName=hub["audit"], Key=key, UpdateExpression="SET x = :x",
                                ExpressionAttributeValues={":x": {"S": "y"}})
    denied(exc, member, "dynamodb:UpdateItem", hub["audit"])
    with pytest.raises(ClientError) as exc:
        ddb(member).scan(TableName=hub["audit"])
    denied(exc, member, "dynamodb:Scan", hub["audit"])
    assert audit_keys(org) == {f"{member}#decision"}


def test_a_transaction_with_one_bad_item_is_refused_as_a_whole(org: Organization, hub: dict[str, str]) -> None:
    member, other = org.members[0], org.members[1]

    def put(pk: str) -> dict[str, Any]:
        return {"Put": {"TableName": hub["audit"], "Item": {"pk": {"S": pk}, "sk": {"S": "0001"}}}}

    with pytest.raises(ClientError) as exc:
        ddb(member).transact_write_items(TransactItems=[put(f"{member}#a"), put(f"{other}#b")])
    denied(exc, member, "dynamodb:PutItem", hub["audit"])
    assert audit_keys(org) == set()
    with pytest.raises(ClientError) as exc:  # each part is its own action: a Delete is DeleteItem
        ddb(member).transact_write_items(TransactItems=[
            put(f"{member}#a"),
            {"Delete": {"TableName": hub["audit"], "Key": {"pk": {"S": f"{member}#z"}, "sk": {"S": "1"}}}}])
    denied(exc, member, "dynamodb:DeleteItem", hub["audit"])
    assert audit_keys(org) == set()
    ddb(member).transact_write_items(TransactItems=[put(f"{member}#a"), put(f"{member}#b")])
    assert audit_keys(org) == {f"{member}#a", f"{member}#b"}


def test_a_batch_write_is_authorized_on_every_key_it_writes(org: Organization, hub: dict[str, str]) -> None:
    hub_client, member = ddb(org.hub), org.members[0]
    policy = audit_policy(org, hub["audit"])
    policy["Statement"][0]["Action"] = ["dynamodb:PutItem", "dynamodb:BatchWriteItem"]
    hub_client.put_resource_policy(ResourceArn=hub["audit"], Policy=json.dumps(policy))

    def put(pk: str) -> dict[str, Any]:
        return {"PutRequest": {"Item": {"pk": {"S": pk}, "sk": {"S": "1"}}}}

    with pytest.raises(ClientError) as exc:
        ddb(member).batch_write_item(RequestItems={hub["audit"]: [put(f"{member}#a"), put(f"{org.hub}#b")]})
    denied(exc, member, "dynamodb:BatchWriteItem", hub["audit"])
    assert audit_keys(org) == set()
    ddb(member).batch_write_item(RequestItems={hub["audit"]: [put(f"{member}#a"), put(f"{member}#b")]})
    assert audit_keys(org) == {f"{member}#a", f"{member}#b"}


def test_a_transaction_across_accounts_is_refused(org: Organization, hub: dict[str, str]) -> None:
    member = org.members[0]
    create_table(ddb(member), "local-state")
    with pytest.raises(ClientError) as exc:
        ddb(member).transact_write_items(TransactItems=[
            {"Put": {"TableName": hub["audit"], "Item": {"pk": {"S": f"{member}#a"}, "sk": {"S": "1"}}}},
            {"Put": {"TableName": "local-state", "Item": {"pk": {"S": "a"}}}}])
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert audit_keys(org) == set()


# --- policy elements ----------------------------------------------------------------------------

def test_an_explicit_deny_wins_even_in_the_same_account(org: Organization) -> None:
    hub_client = ddb(org.hub)
    arn = create_table(hub_client, "plgov-denied")
    hub_client.put_item(TableName=arn, Item={"pk": {"S": "k"}})
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "dynamodb:*", "Resource": "*"},
        {"Sid": "NoMember2", "Effect": "Deny", "Principal": {"AWS": org.members[1]}, "Action": "dynamodb:Get*",
         "Resource": arn},
        {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "dynamodb:DeleteItem", "Resource": arn}]}
    hub_client.put_resource_policy(ResourceArn=arn, Policy=json.dumps(policy))
    assert ddb(org.members[0]).get_item(TableName=arn, Key={"pk": {"S": "k"}})["Item"]
    with pytest.raises(ClientError) as exc:
        ddb(org.members[1]).get_item(TableName=arn, Key={"pk": {"S": "k"}})
    denied(exc, org.members[1], "dynamodb:GetItem", arn, explicit=True)
    with pytest.raises(ClientError) as exc:  # the owner too, by plain name
        hub_client.delete_item(TableName="plgov-denied", Key={"pk": {"S": "k"}})
    denied(exc, org.hub, "dynamodb:DeleteItem", arn, explicit=True)
    assert hub_client.get_item(TableName="plgov-denied", Key={"pk": {"S": "k"}})["Item"]


def test_a_role_principal_allows_that_roles_sessions_only(org: Organization) -> None:
    hub_client = ddb(org.hub)
    arn = create_table(hub_client, "plgov-role")
    member = org.members[0]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{member}:role/plgov-member-fn"},
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": arn,
        "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{member}:role/plgov-*"}}}]}
    hub_client.put_resource_policy(ResourceArn=arn, Policy=json.dumps(policy))
    client_as("dynamodb", member, "plgov-member-fn").put_item(TableName=arn, Item={"pk": {"S": "k"}})
    with pytest.raises(ClientError) as exc:
        client_as("dynamodb", member, "other-fn").get_item(TableName=arn, Key={"pk": {"S": "k"}})
    assert exc.value.response["Error"]["Message"].startswith(
        f"User: arn:aws:sts::{member}:assumed-role/other-fn/other-fn is not authorized to perform: dynamodb:GetItem")


def test_org_paths_and_index_resources(org: Organization) -> None:
    hub_client = ddb(org.hub)
    arn = hub_client.create_table(
        TableName="plgov-indexed", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "owner", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-owner", "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])["TableDescription"]["TableArn"]
    hub_client.put_item(TableName=arn, Item={"pk": {"S": "a"}, "owner": {"S": org.members[2]}})
    sandbox = f"{org.id}/{org.root_id}/{org.ous['Workloads']}/{org.ous['Workloads/Sandbox']}/"
    assert org.path_of(org.members[2]) == sandbox
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "dynamodb:Query", "Resource": f"{arn}/index/by-owner",
        "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{org.id}/*/{org.ous['Workloads']}/*"},
                      "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": "${aws:PrincipalAccount}"}}}]}
    hub_client.put_resource_policy(ResourceArn=arn, Policy=json.dumps(policy))

    def query(account: str, owner: str, index: str | None = "by-owner") -> Any:
        kwargs = {"IndexName": index} if index else {}
        attr = "owner" if index else "pk"
        return ddb(account).query(TableName=arn, KeyConditionExpression="#k = :v",
                                  ExpressionAttributeNames={"#k": attr},
                                  ExpressionAttributeValues={":v": {"S": owner}}, **kwargs)

    assert query(org.members[2], org.members[2])["Count"] == 1  # nested OU under Workloads: allowed
    with pytest.raises(ClientError) as exc:  # another owner's partition of the index
        query(org.members[2], org.members[0])
    denied(exc, org.members[2], "dynamodb:Query", f"{arn}/index/by-owner")
    with pytest.raises(ClientError) as exc:  # the management account is in the root, not under Workloads
        query(org.management, org.management)
    denied(exc, org.management, "dynamodb:Query", f"{arn}/index/by-owner")
    with pytest.raises(ClientError) as exc:  # the table itself is not granted, only the index
        query(org.members[2], "a", index=None)
    denied(exc, org.members[2], "dynamodb:Query", arn)


def test_scan_is_not_confined_by_leading_keys(org: Organization) -> None:
    """AWS: a ForAllValues condition on dynamodb:LeadingKeys holds for a Scan (it has no leading
    keys), which is why the developer guide leaves Scan out of such policies."""
    hub_client = ddb(org.hub)
    arn = create_table(hub_client, "plgov-scan")
    for pk in (f"{org.members[0]}#1", f"{org.members[1]}#1"):
        hub_client.put_item(TableName=arn, Item={"pk": {"S": pk}})
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": org.members[0]}, "Action": ["dynamodb:GetItem", "dynamodb:Scan"],
        "Resource": arn,
        "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": "${aws:PrincipalAccount}#*"}}}]}
    hub_client.put_resource_policy(ResourceArn=arn, Policy=json.dumps(policy))
    member = ddb(org.members[0])
    assert len(member.scan(TableName=arn)["Items"]) == 2
    with pytest.raises(ClientError):
        member.get_item(TableName=arn, Key={"pk": {"S": f"{org.members[1]}#1"}})


# --- table names --------------------------------------------------------------------------------

def test_the_owner_by_arn_gets_its_own_table_and_a_cancelled_transaction_writes_nothing(org: Organization) -> None:
    client = ddb(org.hub)
    arn = create_table(client, "plgov-own")
    client.put_item(TableName=arn, Item={"pk": {"S": "taken"}})
    with pytest.raises(ClientError) as exc:
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": arn, "Item": {"pk": {"S": "new"}}}},
            {"Put": {"TableName": arn, "Item": {"pk": {"S": "taken"}},
                     "ConditionExpression": "attribute_not_exists(pk)"}}])
    assert exc.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert "Item" not in client.get_item(TableName="plgov-own", Key={"pk": {"S": "new"}})
    with pytest.raises(ClientError) as exc:  # one item named by name and by ARN is one item
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": arn, "Item": {"pk": {"S": "twice"}}}},
            {"Put": {"TableName": "plgov-own", "Item": {"pk": {"S": "twice"}}}}])
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert client.describe_table(TableName=arn)["Table"]["TableName"] == "plgov-own"


def test_an_arn_of_another_region_or_of_an_index_is_a_validation_error(org: Organization, hub: dict[str, str]) -> None:
    member = ddb(org.members[0])
    for name in (hub["allowlist"].replace(REGION, "eu-west-1"), f"{hub['allowlist']}/index/x"):
        with pytest.raises(ClientError) as exc:
            member.get_item(TableName=name, Key={"pk": {"S": "k"}})
        assert exc.value.response["Error"]["Code"] == "ValidationException"
    eu = client_as("dynamodb", org.members[0], "plgov-test", region="eu-west-1")
    with pytest.raises(ClientError) as exc:  # a member stack in eu-west-1 must call the hub's region
        eu.get_item(TableName=hub["allowlist"], Key={"pk": {"S": "k"}})
    assert exc.value.response["Error"]["Code"] == "ValidationException"


# --- policies from CreateTable and CloudFormation ------------------------------------------------

def test_create_table_and_cloudformation_resource_policies_apply(org: Organization) -> None:
    hub_client = ddb(org.hub)
    arn = f"arn:aws:dynamodb:{REGION}:{org.hub}:table/plgov-created"
    create_table(hub_client, "plgov-created", ResourcePolicy=json.dumps(allowlist_policy(org, arn)))
    assert ddb(org.members[0]).scan(TableName=arn)["Items"] == []
    template = {"Resources": {"Pool": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "TableName": "plgov-cost-pool", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "ResourcePolicy": {"PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "dynamodb:GetItem",
            "Resource": {"Fn::Sub": "arn:aws:dynamodb:${AWS::Region}:${AWS::AccountId}:table/plgov-cost-pool"},
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": org.id}}}]}}}}}}
    cfn = client_for("cloudformation", org.hub)
    cfn.create_stack(StackName="plgov-hub", TemplateBody=json.dumps(template))
    pool = f"arn:aws:dynamodb:{REGION}:{org.hub}:table/plgov-cost-pool"
    hub_client.put_item(TableName="plgov-cost-pool", Item={"pk": {"S": "pool"}})
    assert ddb(org.members[0]).get_item(TableName=pool, Key={"pk": {"S": "pool"}})["Item"]
    assert json.loads(hub_client.get_resource_policy(ResourceArn=pool)["Policy"])["Statement"][0]["Resource"] == pool
    with pytest.raises(ClientError):
        ddb(new_account()).get_item(TableName=pool, Key={"pk": {"S": "pool"}})


# --- the organization ---------------------------------------------------------------------------

def test_the_organization_has_the_hub_and_members_in_their_units(org: Organization) -> None:
    assert len({org.management, org.hub, *org.members}) == 5
    orgs = client_for("organizations", org.management)
    assert orgs.list_parents(ChildId=org.hub)["Parents"][0]["Id"] == org.ous["Governance"]
    assert orgs.list_parents(ChildId=org.members[2])["Parents"][0]["Id"] == org.ous["Workloads/Sandbox"]
    listed = {a["Id"] for a in orgs.list_accounts_for_parent(ParentId=org.ous["Workloads"])["Accounts"]}
    assert listed == set(org.members[:2])
    assert client_for("organizations", org.members[0]).describe_organization()["Organization"]["Id"] == org.id


def test_accounts_can_be_created_with_chosen_ids(emulator_url: str) -> None:
    hub_id, member_id = new_account(), new_account()
    org = build_organization(lambda s, a: client_for(s, a), members=1, hub_id=hub_id, member_ids=[member_id])
    assert (org.hub, org.members) == (hub_id, [member_id])
    orgs = client_for("organizations", org.management)
    assert orgs.describe_account(AccountId=hub_id)["Account"]["Name"] == "governance"
    assert orgs.list_tags_for_resource(ResourceId=hub_id)["Tags"] == []
    with pytest.raises(ClientError) as exc:  # already in an organization
        orgs.create_account(AccountName="again", Email="again@example.com",
                            Tags=[{"Key": "plgov-emulator:account-id", "Value": hub_id}])
    assert exc.value.response["Error"]["Code"] == "ConstraintViolationException"


# --- the evaluator alone ------------------------------------------------------------------------

CALLER = Caller("111122223333", "arn:aws:sts::111122223333:assumed-role/fn/s", "arn:aws:iam::111122223333:role/fn",
                "AssumedRole")
TABLE = "arn:aws:dynamodb:us-east-1:444455556666:table/audit"


def decide(statement: dict[str, Any], context: dict[str, Any] | None = None, action: str = "dynamodb:PutItem",
           version: str = "2012-10-17") -> str:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "dynamodb:*", "Resource": TABLE, **statement}
    ctx = {"aws:PrincipalAccount": CALLER.account, "aws:PrincipalArn": CALLER.principal_arn, **(context or {})}
    return iam_policy.evaluate({"Version": version, "Statement": [statement]},
                               Request(CALLER, action, TABLE, ctx)).effect


@pytest.mark.parametrize("principal,effect", [
    ("*", ALLOW), ({"AWS": "*"}, ALLOW), ({"AWS": "111122223333"}, ALLOW),
    ({"AWS": "arn:aws:iam::111122223333:root"}, ALLOW), ({"AWS": ["arn:aws:iam::111122223333:role/fn"]}, ALLOW),
    ({"AWS": "arn:aws:sts::111122223333:assumed-role/fn/s"}, ALLOW), ({"AWS": "arn:aws:iam::111122223333:role/other"},
                                                                      IMPLICIT_DENY),
    ({"AWS": "999999999999"}, IMPLICIT_DENY), ({"Service": "lambda.amazonaws.com"}, IMPLICIT_DENY),
])
def test_principals(principal: Any, effect: str) -> None:
    assert decide({"Principal": principal}) == effect


@pytest.mark.parametrize("actions,effect", [
    ("dynamodb:*", ALLOW), ("dynamodb:Put*", ALLOW), ("DynamoDB:putitem", ALLOW), ("dynamodb:Get*", IMPLICIT_DENY),
    (["dynamodb:GetItem", "dynamodb:PutIte?"], ALLOW), ("*", ALLOW),
])
def test_actions(actions: Any, effect: str) -> None:
    assert decide({"Action": actions}) == effect


def test_not_action_not_resource_and_deny() -> None:
    statement: dict[str, Any] = {"NotAction": "dynamodb:Delete*"}
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Principal": "*", "Resource": TABLE, **statement}]}
    assert iam_policy.evaluate(policy, Request(CALLER, "dynamodb:PutItem", TABLE)).effect == ALLOW
    assert iam_policy.evaluate(policy, Request(CALLER, "dynamodb:DeleteItem", TABLE)).effect == IMPLICIT_DENY
    policy["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "dynamodb:PutItem",
                                "NotResource": f"{TABLE}/index/*"})
    assert iam_policy.evaluate(policy, Request(CALLER, "dynamodb:PutItem", TABLE)).effect == DENY


@pytest.mark.parametrize("condition,context,effect", [
    ({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": "${aws:PrincipalAccount}#*"}},
     {"dynamodb:LeadingKeys": ["111122223333#a", "111122223333#b"]}, ALLOW),
    ({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": "${aws:PrincipalAccount}#*"}},
     {"dynamodb:LeadingKeys": ["111122223333#a", "444455556666#b"]}, IMPLICIT_DENY),
    ({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": "${aws:PrincipalAccount}#*"}}, {}, ALLOW),  # no keys
    ({"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": "${aws:PrincipalAccount}#*"}}, {}, IMPLICIT_DENY),
    ({"ForAnyValue:StringEquals": {"dynamodb:LeadingKeys": ["x", "y"]}}, {"dynamodb:LeadingKeys": ["z", "y"]}, ALLOW),
    ({"ForAllValues:StringNotEquals": {"dynamodb:LeadingKeys": ["x"]}}, {"dynamodb:LeadingKeys": ["z", "y"]}, ALLOW),
    ({"ForAllValues:StringNotEquals": {"dynamodb:LeadingKeys": ["x"]}}, {"dynamodb:LeadingKeys": ["z", "x"]},
     IMPLICIT_DENY),
    ({"StringEquals": {"aws:PrincipalOrgID": "o-1"}}, {"aws:PrincipalOrgID": "o-1"}, ALLOW),
    ({"StringEquals": {"aws:PrincipalOrgID": "o-1"}}, {}, IMPLICIT_DENY),
    ({"StringNotEquals": {"aws:PrincipalOrgID": "o-1"}}, {}, ALLOW),  # negated: a missing key holds
    ({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-1"}}, {}, ALLOW),
    ({"StringEquals": {"AWS:principalorgid": "o-1"}}, {"aws:PrincipalOrgID": "o-1"}, ALLOW),  # keys: any case
    ({"StringEquals": {"aws:PrincipalOrgID": ["o-2", "o-1"]}}, {"aws:PrincipalOrgID": "o-1"}, ALLOW),  # values: OR
    ({"StringEqualsIgnoreCase": {"aws:PrincipalType": "assumedrole"}}, {"aws:PrincipalType": "AssumedRole"}, ALLOW),
    ({"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/f?"}}, {}, ALLOW),
    ({"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/f?"}}, {}, IMPLICIT_DENY),
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/*"}}, {}, ALLOW),
    ({"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/fn"}}, {}, IMPLICIT_DENY),
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "true"}, ALLOW),
    ({"Bool": {"aws:SecureTransport": False}}, {"aws:SecureTransport": "true"}, IMPLICIT_DENY),
    ({"Null": {"aws:PrincipalOrgID": "true"}}, {}, ALLOW),
    ({"Null": {"aws:PrincipalOrgID": "false"}}, {}, IMPLICIT_DENY),
    ({"NumericLessThan": {"dynamodb:Limit": "10"}}, {"dynamodb:Limit": "5"}, ALLOW),
    ({"StringEquals": {"aws:PrincipalAccount": "111122223333"}, "Bool": {"aws:SecureTransport": "false"}},
     {"aws:SecureTransport": "true"}, IMPLICIT_DENY),  # operators: AND
    ({"StringEquals": {"dynamodb:LeadingKeys": "${aws:PrincipalOrgID}"}}, {"dynamodb:LeadingKeys": ["o-1"]},
     IMPLICIT_DENY),  # a variable of a missing key matches nothing
    ({"StringEquals": {"dynamodb:LeadingKeys": "${aws:PrincipalOrgID, 'none'}"}}, {"dynamodb:LeadingKeys": ["none"]},
     ALLOW),
    ({"StringLike": {"dynamodb:LeadingKeys": "a${*}"}}, {"dynamodb:LeadingKeys": ["ab"]}, IMPLICIT_DENY),  # literal *
    ({"StringLike": {"dynamodb:LeadingKeys": "a${*}"}}, {"dynamodb:LeadingKeys": ["a*"]}, ALLOW),
    ({"StringFancy": {"aws:PrincipalAccount": "111122223333"}}, {}, IMPLICIT_DENY),  # unknown operator
])
def test_conditions(condition: dict[str, Any], context: dict[str, Any], effect: str) -> None:
    assert decide({"Condition": condition}, context) == effect


def test_variables_need_the_2012_version_and_stay_literal_under_string_like() -> None:
    statement = {"Condition": {"StringEquals": {"dynamodb:LeadingKeys": "${aws:PrincipalAccount}"}}}
    assert decide(statement, {"dynamodb:LeadingKeys": ["111122223333"]}) == ALLOW
    assert decide(statement, {"dynamodb:LeadingKeys": ["111122223333"]}, version="2008-10-17") == IMPLICIT_DENY
    assert decide(statement, {"dynamodb:LeadingKeys": ["${aws:PrincipalAccount}"]}, version="2008-10-17") == ALLOW
    like = {"Condition": {"StringLike": {"dynamodb:LeadingKeys": "${aws:PrincipalArn}"}}}
    assert decide(like, {"dynamodb:LeadingKeys": ["arn:aws:iam::111122223333:role/fn"]}) == ALLOW
    arn_with_star = Caller("1", "a", "role/*", "AssumedRole")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*",
                                                      "Condition": {"StringLike": {"k": "${aws:PrincipalArn}"}}}]}
    request = Request(arn_with_star, "dynamodb:GetItem", TABLE, {"aws:PrincipalArn": "role/*", "k": "role/x"})
    assert iam_policy.evaluate(policy, request).effect == IMPLICIT_DENY
    assert decide({"Resource": "arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/*"}) == IMPLICIT_DENY
    assert decide({"Resource": "arn:aws:dynamodb:*:444455556666:table/*"}) == ALLOW
