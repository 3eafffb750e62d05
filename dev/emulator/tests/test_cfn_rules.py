"""A template's Rules section checked on CreateStack, UpdateStack and CreateChangeSet (cfn_rules.py)."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

from conftest import client_for, new_account

TEMPLATE = {
    "Parameters": {
        "Mode": {"Type": "String", "Default": "standalone", "AllowedValues": ["standalone", "hub", "member"]},
        "OrganizationId": {"Type": "String", "Default": ""},
        "Regions": {"Type": "CommaDelimitedList", "Default": "us-east-1"},
    },
    "Rules": {
        "HubNeedsItsOrganization": {
            "RuleCondition": {"Fn::Equals": [{"Ref": "Mode"}, "hub"]},
            "Assertions": [{"Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]},
                            "AssertDescription": "Mode hub needs OrganizationId."}]},
        "KnownRegionsOnly": {
            "Assertions": [
                {"Assert": {"Fn::EachMemberIn": [{"Ref": "Regions"}, ["us-east-1", "us-west-2"]]},
                 "AssertDescription": "Regions: us-east-1 and us-west-2 only."},
                {"Assert": {"Fn::Contains": [{"Ref": "Regions"}, {"Ref": "AWS::Region"}]},
                 "AssertDescription": "Regions must hold the stack's own region."}]},
        # Looks a parameter up in the account: not modelled, so never refuses.
        "NotChecked": {"Assertions": [{"Assert": {"Fn::Equals": [
            {"Fn::ValueOf": ["OrganizationId", "Tags"]}, "x"]}, "AssertDescription": "never"}]},
    },
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
}
BODY = json.dumps(TEMPLATE)


def params(**values: str) -> list[dict[str, str]]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def refused(call, message: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        call()
    assert exc.value.response["Error"]["Code"] == "ValidationError"
    assert exc.value.response["Error"]["Message"] == message


def test_a_failed_assertion_refuses_create_stack_and_creates_nothing(emulator_url):
    cfn = client_for("cloudformation", new_account())
    refused(lambda: cfn.create_stack(StackName="s", TemplateBody=BODY, Parameters=params(Mode="hub")),
            "Mode hub needs OrganizationId.")
    refused(lambda: cfn.create_stack(StackName="s", TemplateBody=BODY,
                                     Parameters=params(Regions="us-east-1,eu-west-1")),
            "Regions: us-east-1 and us-west-2 only.")
    refused(lambda: cfn.create_stack(StackName="s", TemplateBody=BODY, Parameters=params(Regions="us-west-2")),
            "Regions must hold the stack's own region.")
    assert [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "s"] == []


def test_a_rule_whose_condition_is_false_is_not_checked(emulator_url):
    account = new_account()
    cfn = client_for("cloudformation", account)
    cfn.create_stack(StackName="s", TemplateBody=BODY, Parameters=params(Mode="member"))
    assert cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    cfn.create_stack(StackName="t", TemplateBody=BODY, Parameters=params(Mode="hub", OrganizationId="o-abcdefghij"))
    assert cfn.describe_stacks(StackName="t")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_update_stack_and_change_sets_are_checked_with_previous_values(emulator_url):
    cfn = client_for("cloudformation", new_account())
    cfn.create_stack(StackName="s", TemplateBody=BODY, Parameters=params(Mode="hub", OrganizationId="o-abcdefghij"))
    # The previous organization id is kept: fine.
    cfn.update_stack(StackName="s", UsePreviousTemplate=True, Parameters=[
        {"ParameterKey": "Mode", "UsePreviousValue": True},
        {"ParameterKey": "OrganizationId", "UsePreviousValue": True},
        {"ParameterKey": "Regions", "ParameterValue": "us-east-1,us-west-2"}])
    # Dropping it is refused, and the stack keeps its parameters.
    refused(lambda: cfn.update_stack(StackName="s", UsePreviousTemplate=True, Parameters=params(Mode="hub")),
            "Mode hub needs OrganizationId.")
    described = cfn.describe_stacks(StackName="s")["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}["OrganizationId"] == "o-abcdefghij"
    refused(lambda: cfn.create_change_set(StackName="s", ChangeSetName="c", TemplateBody=BODY,
                                          Parameters=params(Mode="hub"), ChangeSetType="UPDATE"),
            "Mode hub needs OrganizationId.")
    refused(lambda: cfn.create_change_set(StackName="new", ChangeSetName="c", TemplateBody=BODY,
                                          Parameters=params(Mode="hub"), ChangeSetType="CREATE"),
            "Mode hub needs OrganizationId.")
    assert "new" not in [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]]
