"""Fail closed, through the deployed stack: template.yaml deployed into the emulator with
dev/local_deploy.py, items written by hand the way a new user writes them, the approver run
through dev/invoke and `plgov` run as a user runs it. Every reported case ends with its
connection still pending (held; rejected only where a well-formed live deny matches), and a
plainly allowed connection on the same sweep is accepted. The deployed template is read back:
retain policies, deletion protection, narrowed IAM, no audit delete, the alarms, the bus policy.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import client_for, create_endpoint, create_service, new_account
from test_stack import ROOT, account_env, run

PYTHON = sys.executable


def states(provider: str, service: str) -> dict[str, str]:
    conns = client_for("ec2", provider).describe_vpc_endpoint_connections(
        Filters=[{"Name": "service-id", "Values": [service]}])["VpcEndpointConnections"]
    return {c["VpcEndpointId"]: c["VpcEndpointState"] for c in conns}


def invoke(env: dict[str, str], stack: str, event: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["dev/invoke", "connection-approver", "-", "--stack", stack], cwd=ROOT, env=env,
                          input=json.dumps(event), capture_output=True, text=True, timeout=900)


def plgov(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    target = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, check=True,
                            capture_output=True, text=True)
    # The binary `cargo test --workspace` builds (make test-rust ran it): the same features, so no
    # second build of the SDK; a no-op when it is there.
    subprocess.run(["cargo", "test", "--workspace", "--no-run", "--quiet"], cwd=ROOT, check=True,
                   capture_output=True)
    binary = Path(json.loads(target.stdout)["target_directory"]) / "debug" / "plgov"
    return subprocess.run([str(binary), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def role_policies(provider: str, stack: str, logical_role: str) -> list[dict]:
    cfn = client_for("cloudformation", provider)
    role = cfn.describe_stack_resource(StackName=stack, LogicalResourceId=logical_role)["StackResourceDetail"]
    iam = client_for("iam", provider)
    name = role["PhysicalResourceId"]
    documents = [iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                 for p in iam.list_role_policies(RoleName=name)["PolicyNames"]]
    return [s for d in documents for s in document(d)["Statement"]]


def document(value) -> dict:
    """A policy document as boto3 gives it: a dict, JSON text, or (moto, for policies its
    CloudFormation created) the text of a Python dict."""
    if isinstance(value, dict):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return ast.literal_eval(value)


def actions(statement: dict) -> list[str]:
    a = statement["Action"]
    return [a] if isinstance(a, str) else a


@pytest.fixture(scope="module")
def deployed(emulator_url):
    provider = new_account()
    env = account_env(provider)
    stack = "plgov-closed"
    organization = "o-abcdef1234"
    outputs = json.loads(run([PYTHON, "dev/local_deploy.py", "--stack", stack, "--json",
                              "--param", f"ConsumerOrganizationId={organization}"], env))
    return provider, env, stack, outputs, organization


def test_every_reported_case_is_held_and_a_plain_allow_is_still_accepted(deployed):
    provider, env, stack, outputs, _ = deployed
    ddb = client_for("dynamodb", provider)
    table = outputs["AllowlistTableName"]
    consumer, other = new_account(), new_account()
    services = {case: create_service(provider) for case in
                ("capitalised", "string_expiry", "dry_run_string", "milliseconds", "plain")}

    def put(service: str, sk: str, **attributes):
        item = {"pk": {"S": service}, "sk": {"S": sk}, **attributes}
        ddb.put_item(TableName=table, Item=item)

    # Written by hand with `Effect` (capital E) and no `effect`, beside an allow for everyone else.
    put(services["capitalised"], consumer, Effect={"S": "deny"})
    put(services["capitalised"], "*", effect={"S": "allow"})
    # A `*` allow, and a deny for the consumer whose `expires_at` is a string.
    put(services["string_expiry"], "*", effect={"S": "allow"})
    put(services["string_expiry"], consumer, effect={"S": "deny"}, expires_at={"S": "1900000000"})
    # A policy asking for a dry run with the string "true"; an allow, and a deny for `other`.
    put(services["dry_run_string"], "#policy", dry_run={"S": "true"})
    put(services["dry_run_string"], "*", effect={"S": "allow"})
    put(services["dry_run_string"], other, effect={"S": "deny"})
    # An allow that expired long ago, written in epoch milliseconds.
    put(services["milliseconds"], consumer, effect={"S": "allow"}, expires_at={"N": "1700000000000"})
    # A plain allow, and on the first service a well-formed deny for `other`.
    put(services["plain"], consumer, effect={"S": "allow"})
    put(services["capitalised"], other, effect={"S": "deny"})

    held = {case: create_endpoint(consumer, service) for case, service in services.items() if case != "plain"}
    held["dry_run_denied"] = create_endpoint(other, services["dry_run_string"])
    denied = create_endpoint(other, services["capitalised"])
    allowed = create_endpoint(consumer, services["plain"])

    # Case 5: a direct invoke with `dry_run` in snake case is refused: nothing runs, live or not.
    snake = invoke(env, stack, {"action": "reconcile", "serviceIds": list(services.values()), "dry_run": True})
    assert snake.returncode != 0
    assert "unknown field `dry_run`" in snake.stdout + snake.stderr
    assert all(states(provider, s)[e] == "pendingAcceptance" for s, e in
               [(services["plain"], allowed), (services["capitalised"], denied)])

    # Case 6: `plgov reconcile` without --stack (and without every setting) is refused.
    bare = plgov(env, "--allowlist-table", table, "--audit-table", outputs["AuditTableName"], "reconcile")
    assert bare.returncode == 2, bare.stderr
    assert "--stack" in bare.stderr
    assert states(provider, services["plain"])[allowed] == "pendingAcceptance"

    schedule = (ROOT / "functions/connection-approver/fixtures/schedule.json").read_text()
    swept = invoke(env, stack, json.loads(schedule))
    assert swept.returncode == 0, swept.stderr[-3000:]
    result = json.loads(swept.stdout)
    for case, endpoint in held.items():
        service = services["dry_run_string" if case == "dry_run_denied" else case]
        assert states(provider, service)[endpoint] == "pendingAcceptance", case
        assert any(h["endpointId"] == endpoint for h in result["held"]), (case, result["held"])
    assert states(provider, services["capitalised"])[denied] == "rejected"
    assert states(provider, services["plain"])[allowed] == "available"
    assert result["accepted"] == [allowed]
    assert result["rejected"] == [denied]
    assert result["invalidAllowlistItems"] == 4
    by_endpoint = {h["endpointId"]: h for h in result["held"]}
    assert by_endpoint[held["capitalised"]]["heldBy"] == {"pk": services["capitalised"], "sk": consumer}
    assert "unknown attribute `Effect`" in by_endpoint[held["capitalised"]]["problem"]
    assert by_endpoint[held["dry_run_string"]]["heldBy"]["sk"] == "#policy"


def test_the_deployed_template_retains_narrows_and_never_deletes_audit_records(deployed):
    provider, env, stack, outputs, organization = deployed
    cfn = client_for("cloudformation", provider)
    template = cfn.get_template(StackName=stack)["TemplateBody"]
    template = json.loads(template) if isinstance(template, str) else template
    for logical in ("AllowlistTable", "AuditTable"):
        resource = template["Resources"][logical]
        assert resource["DeletionPolicy"] == "Retain" and resource["UpdateReplacePolicy"] == "Retain", logical
    ddb = client_for("dynamodb", provider)
    for table in (outputs["AllowlistTableName"], outputs["AuditTableName"]):
        assert ddb.describe_table(TableName=table)["Table"]["DeletionProtectionEnabled"] is True

    statements = role_policies(provider, stack, "ConnectionApproverFunctionRole")
    audit_arn = ddb.describe_table(TableName=outputs["AuditTableName"])["Table"]["TableArn"]
    on_audit = [a for s in statements if s["Resource"] == audit_arn for a in actions(s)]
    assert on_audit == ["dynamodb:PutItem"], on_audit
    everything = [a for s in statements for a in actions(s)]
    for forbidden in ("dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:*"):
        assert forbidden not in everything, forbidden
    decide = next(s for s in statements if "ec2:AcceptVpcEndpointConnections" in actions(s))
    assert decide["Resource"].endswith(":vpc-endpoint-service/*"), decide  # GovernedServices=all

    lam = client_for("lambda", provider)
    config = lam.get_function_event_invoke_config(FunctionName=outputs["ConnectionApproverFunctionName"])
    assert config["MaximumRetryAttempts"] == 0

    alarms = {a["MetricName"]: a for a in client_for("cloudwatch", provider).describe_alarms()["MetricAlarms"]}
    assert {"InvalidAllowlistItems", "ConnectionsHeld", "DecisionErrors"} <= set(alarms)
    assert alarms["InvalidAllowlistItems"]["Threshold"] == 1

    bus = client_for("events", provider).describe_event_bus(Name="default")
    [statement] = json.loads(bus["Policy"])["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": organization}}

    rules = client_for("events", provider).list_rules()["Rules"]
    cloudtrail = next(json.loads(r["EventPattern"]) for r in rules
                      if "AWS API Call via CloudTrail" in (r.get("EventPattern") or ""))
    assert cloudtrail["detail"]["requestParameters"] == {
        "CreateVpcEndpointRequest": {"ServiceName": [{"prefix": "com.amazonaws.vpce."}]}}


def test_a_list_of_governed_services_narrows_accept_and_reject_to_their_arns(emulator_url):
    provider = new_account()
    env = account_env(provider)
    stack = "plgov-narrow"
    listed = "vpce-svc-0a1b2c3d,vpce-svc-0e0f"
    run([PYTHON, "dev/local_deploy.py", "--stack", stack, "--json", "--param", f"GovernedServices={listed}"], env)
    statements = role_policies(provider, stack, "ConnectionApproverFunctionRole")
    decide = next(s for s in statements if "ec2:AcceptVpcEndpointConnections" in actions(s))
    assert sorted(decide["Resource"]) == [
        "arn:*:ec2:*:*:vpc-endpoint-service/vpce-svc-0a1b2c3d", "arn:*:ec2:*:*:vpc-endpoint-service/vpce-svc-0e0f"]
    assert decide["Condition"] == {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    bus = client_for("events", provider).describe_event_bus(Name="default")
    assert "Policy" not in bus, "no bus policy without an organization"
