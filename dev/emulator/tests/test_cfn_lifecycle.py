"""Deletion protection, DeletionPolicy/UpdateReplacePolicy Retain and failing stacks in the
emulator's CloudFormation."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest
import yaml

from conftest import client_for, new_account

KEY = {"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
       "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}


def table(protect=None, retain: bool = False, **properties) -> dict:
    resource: dict = {"Type": "AWS::DynamoDB::Table",
                      "Properties": {"BillingMode": "PAY_PER_REQUEST", **KEY, **properties}}
    if protect is not None:
        resource["Properties"]["DeletionProtectionEnabled"] = protect
    if retain:
        resource["DeletionPolicy"] = resource["UpdateReplacePolicy"] = "Retain"
    return resource


def template(resources: dict, **extra) -> dict:
    return {"Resources": resources, "Outputs": {k: {"Value": {"Ref": k}} for k in resources}, **extra}


def new_stack(resources: dict):
    """Stack "s" of these resources in an account of its own: the account and its CloudFormation client."""
    account = new_account()
    cfn = client_for("cloudformation", account)
    cfn.create_stack(StackName="s", TemplateBody=json.dumps(template(resources)))
    return account, cfn


def stack_outputs(cfn, stack: str = "s") -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def status(cfn, stack: str = "s") -> str:
    return cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]


def tables(account: str) -> set[str]:
    return set(client_for("dynamodb", account).list_tables()["TableNames"])


def protection(account: str, name: str):
    return client_for("dynamodb", account).describe_table(TableName=name)["Table"]["DeletionProtectionEnabled"]


@pytest.mark.parametrize("body_format", ["json", "yaml"])
def test_policies_and_protection_survive_in_the_template_and_the_table(emulator_url, body_format):
    account = new_account()
    cfn = client_for("cloudformation", account)
    body = template({"Kept": table(protect=True, retain=True),
                     "ByParameter": table(protect={"Ref": "Protect"}),
                     "Plain": table()},
                    Parameters={"Protect": {"Type": "String", "Default": "true"}})
    text = json.dumps(body) if body_format == "json" else yaml.safe_dump(body)
    cfn.create_stack(StackName="s", TemplateBody=text)
    returned = cfn.get_template(StackName="s")["TemplateBody"]
    returned = returned if isinstance(returned, dict) else yaml.safe_load(returned)
    kept = returned["Resources"]["Kept"]
    assert (kept["DeletionPolicy"], kept["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert kept["Properties"]["DeletionProtectionEnabled"] is True
    names = stack_outputs(cfn)
    # A template parameter arrives as the string "true": the table still gets a boolean.
    assert protection(account, names["Kept"]) is True
    assert protection(account, names["ByParameter"]) is True
    assert protection(account, names["Plain"]) is False


def test_deleting_the_stack_leaves_a_retained_table(emulator_url):
    account, cfn = new_stack({"Kept": table(protect=True, retain=True), "Plain": table()})
    names = stack_outputs(cfn)
    cfn.delete_stack(StackName="s")
    assert tables(account) == {names["Kept"]}
    assert protection(account, names["Kept"]) is True
    assert cfn.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"][0]["StackName"] == "s"


def test_a_protected_table_without_retain_fails_the_deletion(emulator_url):
    account, cfn = new_stack({"Guarded": table(protect=True), "Plain": table()})
    names = stack_outputs(cfn)
    cfn.delete_stack(StackName="s")  # accepted, as by CloudFormation
    stack = cfn.describe_stacks(StackName="s")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert "DeletionProtectionEnabled" in stack["StackStatusReason"]
    assert tables(account) == {names["Guarded"]}
    # Once protection is off, deleting again finishes the job.
    client_for("dynamodb", account).update_table(TableName=names["Guarded"], DeletionProtectionEnabled=False)
    cfn.delete_stack(StackName="s")
    assert tables(account) == set()
    with pytest.raises(botocore.exceptions.ClientError):
        cfn.describe_stacks(StackName="s")


def test_retain_resources_leaves_what_failed_to_delete(emulator_url):
    account, cfn = new_stack({"Guarded": table(protect=True)})
    name = stack_outputs(cfn)["Guarded"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cfn.delete_stack(StackName="s", RetainResources=["Guarded"])  # only for DELETE_FAILED stacks
    assert err.value.response["Error"]["Code"] == "ValidationError"
    cfn.delete_stack(StackName="s")
    assert status(cfn) == "DELETE_FAILED"
    cfn.delete_stack(StackName="s", RetainResources=["Guarded"])
    assert tables(account) == {name}
    assert not cfn.list_stacks(StackStatusFilter=["DELETE_FAILED"])["StackSummaries"]


def test_updates_change_a_table_in_place_and_retain_what_leaves_the_template(emulator_url):
    account, cfn = new_stack({"Kept": table(protect=False, retain=True), "Plain": table()})
    before = stack_outputs(cfn)
    cfn.update_stack(StackName="s", TemplateBody=json.dumps(template(
        {"Kept": table(protect=True, retain=True), "Plain": table()})))
    assert status(cfn) == "UPDATE_COMPLETE"
    assert stack_outputs(cfn) == before  # the same tables, still the stack's
    assert protection(account, before["Kept"]) is True
    cfn.update_stack(StackName="s", TemplateBody=json.dumps(template({"Plain": table()})))
    assert tables(account) == {before["Kept"], before["Plain"]}


@pytest.mark.parametrize("retain", [True, False])
def test_a_key_change_replaces_the_table_and_update_replace_policy_decides_the_old_one(emulator_url, retain):
    account, cfn = new_stack({"T": table(retain=retain)})
    old = stack_outputs(cfn)["T"]
    replaced = table(retain=retain)
    replaced["Properties"].update({"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                                   "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]})
    cfn.update_stack(StackName="s", TemplateBody=json.dumps(template({"T": replaced})))
    new = stack_outputs(cfn)["T"]
    assert new != old
    assert tables(account) == ({old, new} if retain else {new})


def test_a_failing_resource_rolls_the_creation_back(emulator_url):
    account = new_account()
    cfn = client_for("cloudformation", account)
    cfn.create_stack(StackName="s", TemplateBody=json.dumps({"Resources": {
        "Q": {"Type": "AWS::SQS::Queue"},
        "Bad": {"Type": "AWS::Events::EventBusPolicy", "Properties": {
            "StatementId": {"Fn::GetAtt": ["Q", "QueueName"]}, "Action": "events:PutRule",
            "Principal": "123456789012"}}}}))
    stack = cfn.describe_stacks(StackName="s")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "not supported" in stack["StackStatusReason"]
    assert client_for("sqs", account).list_queues().get("QueueUrls", []) == []
    events = [e["ResourceStatus"] for e in cfn.describe_stack_events(StackName="s")["StackEvents"]]
    assert {"CREATE_FAILED", "ROLLBACK_COMPLETE"} <= set(events)
