"""template.yaml in its three deployment modes: a hub and its members rolled out by a SERVICE_MANAGED
stack set (dev/local_deploy_org.py), what the hub's resource policies let each account do, the
template's Rules, and a standalone stack that is exactly today's.

The organization is one of this module's own (generated account ids), deployed once for the module
with the functions' binaries as cargo built them (the emulator stores the code, never runs it).
They are looked up where a build leaves them, $CARGO_TARGET_DIR/debug or target/debug: in a full
run the earlier stack tests (test_cost_dashboard.py, test_fail_closed.py) have built them through
dev/local_deploy.py; without them this module is skipped.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from conftest import URL, new_account

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "dev"))

import local_deploy  # noqa: E402
import local_deploy_org  # noqa: E402
from plgov_emulator.organization import Organization  # noqa: E402

REGIONS = list(local_deploy_org.REGIONS)
HUB_REGION = REGIONS[0]
# Every resource a standalone stack had before the deployment modes (its transformed template, with
# ConsumerOrganizationId empty), the findings schedule since written out as a rule of its own (its
# target passes the time the schedule fired): a standalone deploy must still create exactly these.
STANDALONE = {
    "AllowlistTable", "AuditTable", "ConnectionApproverFunction", "ConnectionApproverFunctionConnectionNotification",
    "ConnectionApproverFunctionConnectionNotificationPermission", "ConnectionApproverFunctionConnectionRequestEvent",
    "ConnectionApproverFunctionConnectionRequestEventPermission", "ConnectionApproverFunctionCreateVpcEndpointCall",
    "ConnectionApproverFunctionCreateVpcEndpointCallPermission", "ConnectionApproverFunctionEventInvokeConfig",
    "ConnectionApproverFunctionRole", "ConnectionApproverFunctionSweep", "ConnectionApproverFunctionSweepPermission",
    "ConnectionApproverLogGroup", "ConnectionNotificationTopic", "ConnectionNotificationTopicPolicy",
    "ConnectionsHeldAlarm", "CostReporterFunction", "CostReporterFunctionHourly",
    "CostReporterFunctionHourlyPermission", "CostReporterFunctionRole", "CostReporterLogGroup", "CostTable",
    "Dashboard", "DeadLetterQueue", "DeadLetterQueueAlarm", "DecisionErrorsAlarm", "FindingsSchedule", "FindingsSchedulePermission",
    "InvalidAllowlistItemsAlarm"}


def binaries() -> dict[str, Path]:
    target = Path(os.environ.get("CARGO_TARGET_DIR") or "target")
    debug = (target if target.is_absolute() else ROOT / target) / "debug"
    found = {name: debug / name for name in local_deploy.FUNCTIONS}
    missing = [str(p) for p in found.values() if not p.is_file()]
    if missing:
        pytest.skip(f"no prebuilt function binaries ({', '.join(missing)}): build them with "
                    "`cargo build -p connection-approver -p cost-reporter` (the stack tests do)")
    return found


@pytest.fixture(scope="module")
def deployed(emulator_url: str) -> dict[str, Any]:
    code_dir = binaries()
    client_for = local_deploy_org.clients(URL, HUB_REGION)
    started = time.time()
    summary = local_deploy_org.deploy_org(client_for, code_dir, management=new_account(), hub=None, members=(),
                                          regions=REGIONS)
    summary["seconds"] = time.time() - started
    summary["client_for"] = client_for
    summary["org"] = Organization(**summary["organization"])
    return summary


def refused(call: Any, code: str = "AccessDeniedException") -> str:
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        call()
    assert exc.value.response["Error"]["Code"] == code, exc.value.response["Error"]
    return str(exc.value.response["Error"]["Message"])


def policy_document(value: Any) -> dict[str, Any]:
    """A policy as boto3 gives it: a dict, JSON text, or (moto, for policies its CloudFormation
    created) the text of a Python dict."""
    if isinstance(value, dict):
        return value
    try:
        return dict(json.loads(value))
    except ValueError:
        return dict(ast.literal_eval(value))


def role_statements(client_for: Any, account: str, region: str, function_name: str) -> list[dict[str, Any]]:
    role = client_for("lambda", account, region).get_function_configuration(FunctionName=function_name)["Role"]
    iam = client_for("iam", account, region)
    name = role.rsplit("/", 1)[1]
    out = []
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        out += policy_document(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])["Statement"]
    return out


def actions(statement: dict[str, Any]) -> set[str]:
    return {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])


def functions(client_for: Any, account: str, region: str) -> dict[str, dict[str, Any]]:
    """The account's functions in `region` by kind (approver, reporter)."""
    listed = client_for("lambda", account, region).list_functions()["Functions"]
    return {("approver" if "ConnectionApprover" in f["FunctionName"] else "reporter"): f for f in listed}


# --- hub and members ----------------------------------------------------------------------------

def test_the_stack_set_puts_a_member_stack_in_every_workloads_account_and_region(deployed: dict[str, Any]) -> None:
    org, client_for, hub = deployed["org"], deployed["client_for"], deployed["hub"]["outputs"]
    assert set(hub) >= {"AllowlistTableArn", "AuditTableArn", "CostPoolTableArn", "OrganizationsRoleArn"}
    assert all(hub[k].split(":")[4] == org.hub for k in ("AllowlistTableArn", "AuditTableArn", "CostPoolTableArn"))
    cfn = client_for("cloudformation", org.management)
    stack_set = cfn.describe_stack_set(StackSetName=local_deploy_org.STACK_SET)["StackSet"]
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert "Transform" not in json.loads(stack_set["TemplateBody"])  # service-managed stack sets take none
    instances = {(i["Account"], i["Region"]): i["Status"]
                 for i in cfn.list_stack_instances(StackSetName=local_deploy_org.STACK_SET)["Summaries"]}
    assert len(org.members) == 3 and org.hub not in org.members
    assert instances == {(m, r): "CURRENT" for m in org.members for r in REGIONS}

    code = deployed["code"]
    for member in org.members:
        for region in REGIONS:
            found = functions(client_for, member, region)
            assert set(found) == {"approver", "reporter"}, (member, region)
            approver = found["approver"]["Environment"]["Variables"]
            reporter = found["reporter"]["Environment"]["Variables"]
            assert approver["ALLOWLIST_TABLE"] == hub["AllowlistTableArn"]
            assert approver["AUDIT_TABLE"] == hub["AuditTableArn"]
            assert reporter["COST_POOL_TABLE"] == hub["CostPoolTableArn"]
            assert approver["ORGANIZATIONS_ROLE_ARN"] == hub["OrganizationsRoleArn"]
            # The cost table stays the member's own; the allowlist and the audit are the hub's only.
            tables = client_for("dynamodb", member, region).list_tables()["TableNames"]
            assert tables == [reporter["COST_TABLE"]], (member, region, tables)
            # The code of the region's own bucket (Lambda takes none from another region).
            s3 = client_for("s3", org.hub, region)
            obj = s3.head_object(Bucket=f"plgov-artifacts-{org.hub}-{region}",
                                 Key=code["connection-approver"]["Key"])
            assert found["approver"]["CodeSize"] == obj["ContentLength"]

    # The member's roles name the hub's tables and role, and nothing of their own allowlist or audit.
    member = org.members[2]
    names = functions(client_for, member, REGIONS[1])
    approver = role_statements(client_for, member, REGIONS[1], names["approver"]["FunctionName"])
    by_sid = {s.get("Sid"): s for s in approver}
    assert by_sid["ReadTheAllowlistOnly"]["Resource"] == hub["AllowlistTableArn"]
    assert by_sid["AppendAuditRecords"]["Resource"] == hub["AuditTableArn"]
    assert actions(by_sid["AppendAuditRecords"]) == {"dynamodb:PutItem"}
    assert by_sid["ReadTheOrganizationThroughItsRole"] == {
        "Sid": "ReadTheOrganizationThroughItsRole", "Effect": "Allow", "Action": "sts:AssumeRole",
        "Resource": hub["OrganizationsRoleArn"]}
    reporter = {s.get("Sid"): s for s in role_statements(client_for, member, REGIONS[1],
                                                           names["reporter"]["FunctionName"])}
    assert actions(reporter["AddToTheOrganizationsCostPool"]) == {"dynamodb:PutItem", "dynamodb:Query"}
    assert reporter["AddToTheOrganizationsCostPool"]["Resource"] == [
        hub["CostPoolTableArn"], f"{hub['CostPoolTableArn']}/index/by-pool"]


def test_the_hub_keeps_its_own_functions_and_shares_its_tables_and_role(deployed: dict[str, Any]) -> None:
    org, client_for, hub = deployed["org"], deployed["client_for"], deployed["hub"]["outputs"]
    found = functions(client_for, org.hub, HUB_REGION)
    approver = found["approver"]["Environment"]["Variables"]
    assert approver["ALLOWLIST_TABLE"] == hub["AllowlistTableName"] == hub["AllowlistTableArn"].rsplit("/", 1)[1]
    assert approver["AUDIT_TABLE"] == hub["AuditTableName"]
    reporter = found["reporter"]["Environment"]["Variables"]
    assert reporter["COST_POOL_TABLE"] == hub["CostPoolTableArn"].rsplit("/", 1)[1]
    assert approver["ORGANIZATIONS_ROLE_ARN"] == hub["OrganizationsRoleArn"]
    hub_ddb = client_for("dynamodb", org.hub)
    pool = hub_ddb.describe_table(TableName=hub["CostPoolTableArn"])["Table"]
    assert pool["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert sorted((k["AttributeName"], k["KeyType"]) for k in pool["KeySchema"]) == [("pk", "HASH"), ("sk", "RANGE")]
    assert [(i["IndexName"], [k["AttributeName"] for k in i["KeySchema"]]) for i in pool["GlobalSecondaryIndexes"]] == [
        ("by-pool", ["pool", "sk"])]
    assert hub_ddb.describe_time_to_live(TableName=pool["TableName"])["TimeToLiveDescription"][
        "AttributeName"] == "expires_at"
    for arn in (hub["AllowlistTableArn"], hub["AuditTableArn"], hub["CostPoolTableArn"]):
        statements = json.loads(hub_ddb.get_resource_policy(ResourceArn=arn)["Policy"])["Statement"]
        assert statements and all(
            s["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": org.id} for s in statements)

    iam = client_for("iam", org.hub)
    role = iam.get_role(RoleName=hub["OrganizationsRoleArn"].rsplit("/", 1)[1])["Role"]
    [statement] = policy_document(role["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Principal"] == {"AWS": "*"} and statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": org.id}}
    [name] = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
    document = policy_document(iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"])
    assert [actions(s) for s in document["Statement"]] == [
        {"organizations:ListParents", "organizations:DescribeAccount"}]


def test_an_account_that_joins_workloads_gets_member_stacks_and_loses_them_when_it_leaves(
        deployed: dict[str, Any]) -> None:
    org, client_for, hub = deployed["org"], deployed["client_for"], deployed["hub"]["outputs"]
    orgs = client_for("organizations", org.management)
    status = orgs.create_account(AccountName="member4", Email="member4@example.com")["CreateAccountStatus"]
    account = status["AccountId"]
    assert all(functions(client_for, account, r) == {} for r in REGIONS)  # in the root: not a target
    orgs.move_account(AccountId=account, SourceParentId=org.root_id, DestinationParentId=org.ous["Workloads"])
    for region in REGIONS:
        found = functions(client_for, account, region)
        assert found["approver"]["Environment"]["Variables"]["ALLOWLIST_TABLE"] == hub["AllowlistTableArn"]
    # RetainStacksOnAccountRemoval=false: leaving the OU removes them (and the stack set is as it was).
    orgs.move_account(AccountId=account, SourceParentId=org.ous["Workloads"], DestinationParentId=org.root_id)
    assert all(functions(client_for, account, r) == {} for r in REGIONS)


# --- what each account may do with the hub's tables ---------------------------------------------

def test_a_member_reads_the_allowlist_and_appends_only_its_own_audit_records(deployed: dict[str, Any]) -> None:
    org, client_for, hub = deployed["org"], deployed["client_for"], deployed["hub"]["outputs"]
    member, other = org.members[0], org.members[2]  # member 3 is in the nested OU Workloads/Sandbox
    service = "vpce-svc-0123456789abcdef0"
    client_for("dynamodb", org.hub).put_item(TableName=hub["AllowlistTableName"], Item={
        "pk": {"S": service}, "sk": {"S": member}, "effect": {"S": "allow"}})

    for account in (member, other):
        reader = client_for("dynamodb", account)
        allowlist = hub["AllowlistTableArn"]
        assert reader.get_item(TableName=allowlist, Key={"pk": {"S": service}, "sk": {"S": member}})["Item"]
        assert reader.query(TableName=allowlist, KeyConditionExpression="pk = :p",
                            ExpressionAttributeValues={":p": {"S": service}})["Count"] == 1
        assert reader.scan(TableName=allowlist)["Count"] >= 1
        assert reader.describe_table(TableName=allowlist)["Table"]["TableArn"] == allowlist
        refused(lambda: reader.put_item(TableName=allowlist, Item={"pk": {"S": service}, "sk": {"S": "*"}}))
        refused(lambda: reader.delete_item(TableName=allowlist, Key={"pk": {"S": service}, "sk": {"S": member}}))

    writer = client_for("dynamodb", member)
    audit = hub["AuditTableArn"]
    own = {"pk": {"S": f"{member}#{service}"}, "sk": {"S": "2026-11-28T10:00:00Z#vpce-0a"}}
    writer.put_item(TableName=audit, Item={**own, "decision": {"S": "accept"}},
                    ConditionExpression="attribute_not_exists(pk)")
    # The approver's own way: conditional puts in TransactWriteItems, each authorized as PutItem.
    second = {"pk": {"S": f"{member}#{service}"}, "sk": {"S": "2026-11-28T10:00:01Z#vpce-0b"}}
    writer.transact_write_items(TransactItems=[{"Put": {"TableName": audit, "Item": second,
                                                        "ConditionExpression": "attribute_not_exists(pk)"}}])
    assert writer.get_item(TableName=audit, Key=own)["Item"]["decision"] == {"S": "accept"}
    assert writer.query(TableName=audit, KeyConditionExpression="pk = :p",
                        ExpressionAttributeValues={":p": own["pk"]})["Count"] == 2

    forged = {"pk": {"S": f"{other}#{service}"}, "sk": {"S": "2026-11-28T10:00:02Z#vpce-0c"}}
    message = refused(lambda: writer.put_item(TableName=audit, Item=forged))
    assert "dynamodb:PutItem" in message and audit in message
    refused(lambda: writer.transact_write_items(TransactItems=[
        {"Put": {"TableName": audit, "Item": {**second, "sk": {"S": "x"}}}},
        {"Put": {"TableName": audit, "Item": forged}}]))
    refused(lambda: writer.query(TableName=audit, KeyConditionExpression="pk = :p",
                                 ExpressionAttributeValues={":p": forged["pk"]}))
    refused(lambda: writer.delete_item(TableName=audit, Key=own))
    refused(lambda: writer.update_item(TableName=audit, Key=own, UpdateExpression="SET decision = :d",
                                       ExpressionAttributeValues={":d": {"S": "reject"}}))
    refused(lambda: writer.scan(TableName=audit))
    records = client_for("dynamodb", org.hub).scan(TableName=hub["AuditTableName"])["Items"]
    assert sorted((r["pk"]["S"], r["sk"]["S"]) for r in records) == sorted(
        [(own["pk"]["S"], own["sk"]["S"]), (second["pk"]["S"], second["sk"]["S"])])
    assert all(r.get("decision", {"S": "accept"}) == {"S": "accept"} for r in records)


def test_a_member_puts_its_own_hours_into_the_cost_pool_and_does_nothing_else_with_it(
        deployed: dict[str, Any]) -> None:
    org, client_for, hub = deployed["org"], deployed["client_for"], deployed["hub"]["outputs"]
    pool = hub["CostPoolTableArn"]
    month = f"{HUB_REGION}#2026-11"

    def hour(account: str, at: str, gb: str) -> dict[str, Any]:
        return {"pk": {"S": f"{account}#{month}"}, "sk": {"S": at}, "pool": {"S": month},
                "account": {"S": account}, "gb": {"N": gb}}

    for member, at, gb in ((org.members[0], "2026-11-28T10:00:00Z", "1.25"),
                           (org.members[1], "2026-11-28T10:00:00Z", "2.5"),
                           (org.members[0], "2026-11-28T10:00:00Z", "0.75")):  # the hour again: replaced
        client_for("dynamodb", member).put_item(TableName=pool, Item=hour(member, at, gb))
    reader = client_for("dynamodb", org.members[2])
    items = reader.query(TableName=pool, IndexName="by-pool", KeyConditionExpression="#p = :p",
                         ExpressionAttributeNames={"#p": "pool"},
                         ExpressionAttributeValues={":p": {"S": month}})["Items"]
    assert {i["account"]["S"]: float(i["gb"]["N"]) for i in items} == {
        org.members[0]: 0.75, org.members[1]: 2.5}
    # Under another account's key, or anything but a put and a query: refused.
    refused(lambda: reader.put_item(TableName=pool, Item=hour(org.members[0], "2026-11-28T11:00:00Z", "9")))
    key = {"pk": {"S": f"{org.members[2]}#{month}"}, "sk": {"S": "2026-11-28T10:00:00Z"}}
    refused(lambda: reader.update_item(TableName=pool, Key=key, UpdateExpression="SET gb = :g",
                                       ExpressionAttributeValues={":g": {"N": "1"}}))
    refused(lambda: reader.get_item(TableName=pool, Key=key))
    refused(lambda: reader.delete_item(TableName=pool, Key={"pk": {"S": f"{org.members[0]}#{month}"},
                                                            "sk": {"S": "2026-11-28T10:00:00Z"}}))
    refused(lambda: reader.scan(TableName=pool))


def test_a_member_in_another_region_must_send_to_the_hubs_region(deployed: dict[str, Any]) -> None:
    """A DynamoDB endpoint serves its own region's tables: a member function in us-west-2 reads the
    hub's us-east-1 tables through a us-east-1 client (the region of the table ARN)."""
    org, client_for, hub = deployed["org"], deployed["client_for"], deployed["hub"]["outputs"]
    west = client_for("dynamodb", org.members[1], REGIONS[1])
    refused(lambda: west.scan(TableName=hub["AllowlistTableArn"]), "ValidationException")
    assert client_for("dynamodb", org.members[1], hub["AllowlistTableArn"].split(":")[3]).scan(
        TableName=hub["AllowlistTableArn"])["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_an_account_outside_the_organization_is_refused_everything(deployed: dict[str, Any]) -> None:
    org, client_for, hub = deployed["org"], deployed["client_for"], deployed["hub"]["outputs"]
    account = new_account()
    outsider = client_for("dynamodb", account)
    service = "vpce-svc-0fedcba9876543210"
    allowlist, audit, pool = hub["AllowlistTableArn"], hub["AuditTableArn"], hub["CostPoolTableArn"]
    own_audit = {"pk": {"S": f"{account}#{service}"}, "sk": {"S": "1"}}
    for call in (
        lambda: outsider.get_item(TableName=allowlist, Key={"pk": {"S": service}, "sk": {"S": "*"}}),
        lambda: outsider.query(TableName=allowlist, KeyConditionExpression="pk = :p",
                               ExpressionAttributeValues={":p": {"S": service}}),
        lambda: outsider.scan(TableName=allowlist),
        lambda: outsider.describe_table(TableName=allowlist),
        lambda: outsider.put_item(TableName=audit, Item=own_audit),
        lambda: outsider.query(TableName=audit, KeyConditionExpression="pk = :p",
                               ExpressionAttributeValues={":p": own_audit["pk"]}),
        lambda: outsider.put_item(TableName=pool, Item={"pk": {"S": f"{account}#us-east-1#2026-11"},
                                                        "sk": {"S": "2026-11-28T10:00:00Z"},
                                                        "pool": {"S": "us-east-1#2026-11"}}),
        lambda: outsider.query(TableName=pool, IndexName="by-pool", KeyConditionExpression="#p = :p",
                               ExpressionAttributeNames={"#p": "pool"},
                               ExpressionAttributeValues={":p": {"S": "us-east-1#2026-11"}}),
    ):
        refused(call)
    records = client_for("dynamodb", org.hub).scan(TableName=hub["AuditTableName"])["Items"]
    assert not [r for r in records if r["pk"]["S"].startswith(account)]


# --- Rules, and the standalone stack ------------------------------------------------------------

def test_a_hub_without_its_organization_or_a_member_without_the_hub_is_refused(deployed: dict[str, Any]) -> None:
    client_for, hub = deployed["client_for"], deployed["hub"]["outputs"]
    account = new_account()
    cfn = client_for("cloudformation", account)
    member = local_deploy_org.member_parameters(hub)
    cases = [
        ({"DeploymentMode": "hub"}, "DeploymentMode hub needs OrganizationId"),
        ({**member, "HubAuditTableArn": ""}, "DeploymentMode member needs HubAuditTableArn"),
        ({**member, "OrganizationsRoleArn": ""}, "DeploymentMode member needs OrganizationsRoleArn"),
    ]
    for parameters, expected in cases:
        template = local_deploy.cloudformation_template(deployed["code"], parameters)
        message = refused(lambda: cfn.create_stack(
            StackName="plgov-refused", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]), "ValidationError")
        assert message.startswith(expected), message
    refused(lambda: cfn.describe_stacks(StackName="plgov-refused"), "ValidationError")  # nothing was created
    assert client_for("dynamodb", account).list_tables()["TableNames"] == []


def test_a_standalone_stack_is_exactly_todays(deployed: dict[str, Any]) -> None:
    client_for = deployed["client_for"]
    account = new_account()
    template = local_deploy.cloudformation_template(deployed["code"], {})
    outputs = local_deploy.deploy(client_for("cloudformation", account), "plgov-standalone", template, {})
    cfn = client_for("cloudformation", account)
    resources = {r["LogicalResourceId"] for r in cfn.describe_stack_resources(StackName="plgov-standalone")[
        "StackResources"]}
    assert resources == STANDALONE
    assert set(outputs) == {"AllowlistTableName", "AuditTableName", "CostTableName", "ConnectionApproverFunctionName",
                            "CostReporterFunctionName", "ConnectionNotificationTopicArn", "DashboardName",
                            "DashboardUrl", "MetricsNamespace"}
    ddb = client_for("dynamodb", account)
    for table in ("AllowlistTableName", "AuditTableName"):
        arn = ddb.describe_table(TableName=outputs[table])["Table"]["TableArn"]
        refused(lambda: ddb.get_resource_policy(ResourceArn=arn), "PolicyNotFoundException")
    found = functions(client_for, account, HUB_REGION)
    approver = found["approver"]["Environment"]["Variables"]
    assert approver["ALLOWLIST_TABLE"] == outputs["AllowlistTableName"]
    assert approver["AUDIT_TABLE"] == outputs["AuditTableName"]
    assert found["reporter"]["Environment"]["Variables"]["COST_POOL_TABLE"] == ""
    assert approver["ORGANIZATIONS_ROLE_ARN"] == ""
    statements = role_statements(client_for, account, HUB_REGION, found["approver"]["FunctionName"])
    assert not [s for s in statements if "sts:AssumeRole" in actions(s)]
    statements = role_statements(client_for, account, HUB_REGION, found["reporter"]["FunctionName"])
    assert not [s for s in statements if s.get("Sid") == "AddToTheOrganizationsCostPool"]
    # With an OrganizationsRoleArn, a standalone approver may assume that role (and only that one).
    # (A stack of its own: moto's stack update leaves a role's inline policies as they were.)
    account = new_account()
    role = f"arn:aws:iam::{new_account()}:role/plgov-organization-reader"
    template = local_deploy.cloudformation_template(deployed["code"], {"OrganizationsRoleArn": role})
    local_deploy.deploy(client_for("cloudformation", account), "plgov-standalone", template,
                        {"OrganizationsRoleArn": role})
    found = functions(client_for, account, HUB_REGION)
    statements = role_statements(client_for, account, HUB_REGION, found["approver"]["FunctionName"])
    assert [s["Resource"] for s in statements if "sts:AssumeRole" in actions(s)] == [role]
    assert found["approver"]["Environment"]["Variables"]["ORGANIZATIONS_ROLE_ARN"] == role
    assert found["reporter"]["Environment"]["Variables"]["COST_POOL_TABLE"] == ""


def test_cfn_lint_passes_the_template() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    if not cfn_lint.exists():
        pytest.skip(f"no cfn-lint beside {sys.executable} (make venv installs it)")
    result = subprocess.run([str(cfn_lint), "template.yaml"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_is_zipped_once_and_deflated(deployed: dict[str, Any]) -> None:
    """One zip per function for the hub and every member region; deflated (a debug binary is ~800 MB)."""
    org, client_for, code = deployed["org"], deployed["client_for"], deployed["code"]
    for name, location in code.items():
        size = binaries()[name].stat().st_size
        for region in REGIONS:
            obj = client_for("s3", org.hub, region).get_object(Bucket=f"plgov-artifacts-{org.hub}-{region}",
                                                                Key=location["Key"])
            body = obj["Body"].read()
            assert len(body) < size / 2, (name, region, len(body), size)
            assert hashlib.sha256(body).hexdigest()[:16] in location["Key"]
