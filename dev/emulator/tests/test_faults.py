"""Fault injection and call counting over /_plgov/.

Every test arms faults for an account of its own and disarms only that account's faults
(`DELETE /_plgov/faults?account=ID`), so tests running in parallel never clear each other's."""

from __future__ import annotations

import boto3
import botocore.exceptions
import pytest
import requests

from conftest import REGION, URL, client_for, create_service, new_account


def arm(**fault):
    response = requests.post(f"{URL}/_plgov/faults", json=fault, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def armed(account: str) -> list[dict]:
    faults = requests.get(f"{URL}/_plgov/faults", timeout=5).json()["faults"]
    return [f for f in faults if f["account"] == account]


def disarm(account: str) -> list[dict]:
    """Disarms this account's faults; returns the faults still armed (any account's)."""
    response = requests.delete(f"{URL}/_plgov/faults", params={"account": account}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["faults"]


@pytest.fixture
def provider(emulator_url):
    """An account of the test's own, whose faults are disarmed when the test ends."""
    account = new_account()
    yield account
    disarm(account)


def test_injected_throttling_reaches_the_client_then_clears(provider):
    service = create_service(provider)
    arm(operation="AcceptVpcEndpointConnections", error="RequestLimitExceeded", count=2, account=provider)
    ec2 = client_for("ec2", provider, retries=False)
    for _ in range(2):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            ec2.accept_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=["vpce-0abc"])
        assert err.value.response["Error"]["Code"] == "RequestLimitExceeded"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    result = ec2.accept_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=["vpce-0abc"])
    assert result["Unsuccessful"][0]["ResourceId"] == "vpce-0abc"


def test_fault_is_scoped_to_its_account(provider):
    arm(operation="DescribeVpcEndpointConnections", error="RequestLimitExceeded", count=-1, account=provider)
    assert client_for("ec2", new_account()).describe_vpc_endpoint_connections()["VpcEndpointConnections"] == []
    assert armed(provider)


def test_disarming_one_account_leaves_the_others_armed(provider):
    other = new_account()
    try:
        for account in (provider, other):
            arm(operation="DescribeVpcEndpointConnections", error="RequestLimitExceeded", count=-1, account=account)
        remaining = disarm(provider)
        assert not [f for f in remaining if f["account"] == provider]
        assert [f["account"] for f in remaining if f["account"] == other] == [other]
        assert client_for("ec2", provider).describe_vpc_endpoint_connections()["VpcEndpointConnections"] == []
        with pytest.raises(botocore.exceptions.ClientError) as err:
            client_for("ec2", other, retries=False).describe_vpc_endpoint_connections()
        assert err.value.response["Error"]["Code"] == "RequestLimitExceeded"
    finally:
        disarm(other)
    assert not armed(other)


def test_dynamodb_internal_error_and_counts(provider):
    ddb = client_for("dynamodb", provider, retries=False)
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    arm(operation="Query", service="dynamodb", account=provider, status=500)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        ddb.query(TableName="t", KeyConditionExpression="pk = :p",
                  ExpressionAttributeValues={":p": {"S": "x"}})
    assert err.value.response["Error"]["Code"] == "InternalServerError"
    ddb.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "x"}})
    calls = requests.get(f"{URL}/_plgov/calls", params={"account": provider}, timeout=5).json()["calls"]
    assert calls["dynamodb:Query"] == 2
    assert calls["dynamodb:CreateTable"] == 1


def test_fault_narrowed_by_body(provider):
    ddb = client_for("dynamodb", provider, retries=False)
    ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    arm(operation="Query", account=provider, body_contains="broken", count=-1)
    query = lambda pk: ddb.query(TableName="t", KeyConditionExpression="pk = :p",  # noqa: E731
                                 ExpressionAttributeValues={":p": {"S": pk}})
    assert query("fine")["Items"] == []
    with pytest.raises(botocore.exceptions.ClientError):
        query("broken")
    assert disarm(provider) is not None and not armed(provider)
    assert query("broken")["Items"] == []


def test_cloudwatch_fault_in_cbor(provider):
    from test_cloudwatch_cbor import call
    key = boto3.client("sts", endpoint_url=URL, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing").assume_role(
        RoleArn=f"arn:aws:iam::{provider}:role/plgov-test", RoleSessionName="cbor")["Credentials"]["AccessKeyId"]
    arm(operation="PutMetricData", service="cloudwatch", error="Throttling", count=1, account=provider)
    metric = {"Namespace": "Test/Faults", "MetricData": [{"MetricName": "M", "Value": 1.0}]}
    assert call("PutMetricData", metric)[0] == 200  # another account's call is not failed
    status, out = call("PutMetricData", metric, account_key=key)
    assert status == 400 and out["__type"] == "Throttling"
    status, _ = call("PutMetricData", metric, account_key=key)
    assert status == 200


@pytest.mark.parametrize("spec", [{}, {"operation": ""}, {"operation": "X", "count": 0},
                                  {"operation": "X", "status": 200}, {"operation": "X", "error": 5}])
def test_invalid_fault_is_refused(emulator_url, spec):
    response = requests.post(f"{URL}/_plgov/faults", json=spec, timeout=5)
    assert response.status_code == 400
    assert "invalid fault" in response.json()["error"]
