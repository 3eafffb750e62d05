"""Fault injection and call counting over /_plgov/."""

from __future__ import annotations

import botocore.exceptions
import pytest
import requests

from conftest import URL, client_for, create_service, new_account

def arm(**fault):
    response = requests.post(f"{URL}/_plgov/faults", json=fault, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


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
    try:
        assert client_for("ec2", new_account()).describe_vpc_endpoint_connections()["VpcEndpointConnections"] == []
        faults = requests.get(f"{URL}/_plgov/faults", timeout=5).json()["faults"]
        assert any(f["account"] == provider for f in faults)
    finally:
        requests.delete(f"{URL}/_plgov/faults", timeout=5)


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


def test_cloudwatch_fault_in_cbor(emulator_url):
    from test_cloudwatch_cbor import call
    arm(operation="PutMetricData", service="cloudwatch", error="Throttling", count=1)
    status, out = call("PutMetricData", {"Namespace": "Test/Faults", "MetricData": [{"MetricName": "M", "Value": 1.0}]})
    assert status == 400 and out["__type"] == "Throttling"
    status, _ = call("PutMetricData", {"Namespace": "Test/Faults", "MetricData": [{"MetricName": "M", "Value": 1.0}]})
    assert status == 200


@pytest.mark.parametrize("spec", [{}, {"operation": ""}, {"operation": "X", "count": 0},
                                  {"operation": "X", "status": 200}, {"operation": "X", "error": 5}])
def test_invalid_fault_is_refused(emulator_url, spec):
    response = requests.post(f"{URL}/_plgov/faults", json=spec, timeout=5)
    assert response.status_code == 400
    assert "invalid fault" in response.json()["error"]
