"""AWS::Lambda::EventInvokeConfig and AWS::Events::EventBusPolicy through the emulator's CloudFormation."""

from __future__ import annotations

import io
import json
import zipfile

import botocore.exceptions
import pytest

from conftest import client_for, new_account


def code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n")
    return buffer.getvalue()


def deploy(account: str, resources: dict, stack: str = "s", update: bool = False, **extra) -> dict:
    cfn = client_for("cloudformation", account)
    outputs = {k: {"Value": {"Ref": k}} for k in resources}
    body = json.dumps({"Resources": resources, "Outputs": outputs, **extra})
    if update:
        cfn.update_stack(StackName=stack, TemplateBody=body)
    else:
        cfn.create_stack(StackName=stack, TemplateBody=body)
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), described
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def function_resources(account: str, invoke_config: dict) -> dict:
    s3 = client_for("s3", account)
    bucket = f"code-{account}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="fn.zip", Body=code_zip())
    return {
        "FnRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]}}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "provided.al2023", "Handler": "bootstrap", "Role": {"Fn::GetAtt": ["FnRole", "Arn"]},
            "Code": {"S3Bucket": bucket, "S3Key": "fn.zip"}}},
        # What SAM generates from a function's `EventInvokeConfig`.
        "FnEventInvokeConfig": {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": {
            "FunctionName": {"Ref": "Fn"}, "Qualifier": "$LATEST", **invoke_config}},
    }


def test_event_invoke_config_is_stored_on_the_function(emulator_url):
    account = new_account()
    queue = client_for("sqs", account).create_queue(QueueName="dlq")["QueueUrl"].rsplit("/", 1)[1]
    dlq = f"arn:aws:sqs:us-east-1:{account}:{queue}"
    outputs = deploy(account, function_resources(account, {
        "MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 3600,
        "DestinationConfig": {"OnFailure": {"Destination": dlq}}}))
    lam = client_for("lambda", account)
    config = lam.get_function_event_invoke_config(FunctionName=outputs["Fn"])
    assert config["MaximumRetryAttempts"] == 0
    assert config["MaximumEventAgeInSeconds"] == 3600
    assert config["DestinationConfig"] == {"OnFailure": {"Destination": dlq}}
    assert config["FunctionArn"].endswith(f":function:{outputs['Fn']}:$LATEST")
    assert outputs["FnEventInvokeConfig"] == f"{outputs['Fn']}:$LATEST"
    listed = lam.list_function_event_invoke_configs(FunctionName=outputs["Fn"])["FunctionEventInvokeConfigs"]
    assert [c["MaximumRetryAttempts"] for c in listed] == [0]


def test_event_invoke_config_follows_stack_updates_and_deletion(emulator_url):
    account = new_account()
    resources = function_resources(account, {"MaximumRetryAttempts": 0})
    outputs = deploy(account, resources)
    lam = client_for("lambda", account)
    resources["FnEventInvokeConfig"]["Properties"]["MaximumRetryAttempts"] = 1
    deploy(account, resources, update=True)
    assert lam.get_function_event_invoke_config(FunctionName=outputs["Fn"])["MaximumRetryAttempts"] == 1
    del resources["FnEventInvokeConfig"]
    deploy(account, resources, update=True)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        lam.get_function_event_invoke_config(FunctionName=outputs["Fn"])
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_put_overwrites_and_update_merges_the_event_invoke_config(emulator_url):
    account = new_account()
    outputs = deploy(account, {k: v for k, v in function_resources(account, {}).items() if k != "FnEventInvokeConfig"})
    lam = client_for("lambda", account)
    lam.put_function_event_invoke_config(FunctionName=outputs["Fn"], MaximumRetryAttempts=2,
                                         MaximumEventAgeInSeconds=600)
    lam.put_function_event_invoke_config(FunctionName=outputs["Fn"], MaximumRetryAttempts=0)
    config = lam.get_function_event_invoke_config(FunctionName=outputs["Fn"])
    assert config["MaximumRetryAttempts"] == 0 and "MaximumEventAgeInSeconds" not in config
    lam.update_function_event_invoke_config(FunctionName=outputs["Fn"], MaximumEventAgeInSeconds=60)
    config = lam.get_function_event_invoke_config(FunctionName=outputs["Fn"])
    assert (config["MaximumRetryAttempts"], config["MaximumEventAgeInSeconds"]) == (0, 60)


def bus_policy(account: str, bus: str = "default") -> dict:
    return json.loads(client_for("events", account).describe_event_bus(Name=bus)["Policy"])


def test_event_bus_policy_statement_form(emulator_url):
    account, sender = new_account(), new_account()
    client_for("events", account).create_event_bus(Name="requests")
    statement = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{sender}:root"},
                 "Action": "events:PutEvents",
                 "Resource": f"arn:aws:events:us-east-1:{account}:event-bus/requests",
                 "Condition": {"StringEquals": {"events:detail-type": "Endpoint Connection Request"}}}
    outputs = deploy(account, {
        "FromSender": {"Type": "AWS::Events::EventBusPolicy", "Properties": {
            "EventBusName": "requests", "StatementId": "FromSender", "Statement": statement}}})
    assert outputs["FromSender"] == "FromSender"
    assert bus_policy(account, "requests")["Statement"] == [{**statement, "Sid": "FromSender"}]
    with pytest.raises(KeyError):  # the default bus was not touched
        bus_policy(account)


def test_event_bus_policy_legacy_form_and_deletion(emulator_url):
    account, sender = new_account(), new_account()
    resources = {
        "OneAccount": {"Type": "AWS::Events::EventBusPolicy", "Properties": {
            "StatementId": "OneAccount", "Action": "events:PutEvents", "Principal": sender}},
        "Organization": {"Type": "AWS::Events::EventBusPolicy", "Properties": {
            "StatementId": "Organization", "Action": "events:PutEvents", "Principal": "*",
            "Condition": {"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-abc123"}}},
    }
    deploy(account, resources)
    statements = {s["Sid"]: s for s in bus_policy(account)["Statement"]}
    assert statements["OneAccount"]["Principal"] == {"AWS": f"arn:aws:iam::{sender}:root"}
    assert statements["OneAccount"]["Action"] == "events:PutEvents"
    assert statements["OneAccount"]["Resource"].endswith(f":{account}:event-bus/default")
    assert statements["Organization"]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}
    client_for("cloudformation", account).delete_stack(StackName="s")
    assert "Policy" not in client_for("events", account).describe_event_bus(Name="default")


def test_event_bus_policy_legacy_form_is_validated(emulator_url):
    account = new_account()
    cfn = client_for("cloudformation", account)
    cfn.create_stack(StackName="bad", TemplateBody=json.dumps({"Resources": {"P": {
        "Type": "AWS::Events::EventBusPolicy", "Properties": {
            "StatementId": "P", "Action": "events:PutRule", "Principal": "123456789012"}}}}))
    stack = cfn.describe_stacks(StackName="bad")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "not supported" in stack["StackStatusReason"]
    assert "Policy" not in client_for("events", account).describe_event_bus(Name="default")
