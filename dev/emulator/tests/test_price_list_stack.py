"""The deployed cost reporter in a region the built-in price table does not have (eu-west-2):
it prices the hour from the AWS Price List (the emulator's GetProducts and its fixture), and
with GetProducts failing and nothing kept it refuses with an error that says what was tried.
The stack is deployed with dev/local_deploy.py and the function run through dev/invoke, as in
test_stack."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import boto3
import pytest

from conftest import URL, new_account
from test_stack import ROOT, account_env, run

PYTHON = sys.executable
REGION = "eu-west-2"
GIB = 1024 ** 3


def client(service: str, env: dict[str, str]):
    return boto3.client(service, endpoint_url=URL, region_name=REGION, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], aws_session_token=env["AWS_SESSION_TOKEN"])


def fault(body: dict | None, account: str) -> None:
    """Arms a fault in the emulator (`body`), or disarms the account's (None)."""
    if body is None:
        request = urllib.request.Request(f"{URL}/_plgov/faults?account={account}", method="DELETE")
    else:
        request = urllib.request.Request(f"{URL}/_plgov/faults", data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200


@pytest.fixture(scope="module")
def deployed(emulator_url):
    provider = new_account()
    env = {**account_env(provider), "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
    stack = "plgov-prices"
    outputs = json.loads(run([PYTHON, "dev/local_deploy.py", "--stack", stack, "--json"], env))
    return provider, env, stack, outputs


def own_endpoint(env: dict[str, str], azs: int) -> str:
    ec2 = client("ec2", env)
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.2.{i}.0/24", AvailabilityZone=f"{REGION}{'abc'[i]}")
               ["Subnet"]["SubnetId"] for i in range(azs)]
    return ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Interface", SubnetIds=subnets,
                                   ServiceName=f"com.amazonaws.{REGION}.sqs")["VpcEndpoint"]["VpcEndpointId"]


def schedule_after(hour: int) -> str:
    return json.dumps({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {},
                       "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(hour + 3600 + 30))})


def test_a_region_missing_from_the_builtin_table_is_priced_from_the_price_list(deployed):
    provider, env, stack, _ = deployed
    endpoint = own_endpoint(env, azs=2)
    described = client("ec2", env).describe_vpc_endpoints(VpcEndpointIds=[endpoint])["VpcEndpoints"][0]
    hour = int(time.time() // 3600 * 3600)
    client("cloudwatch", env).put_metric_data(Namespace="AWS/PrivateLinkEndpoints", MetricData=[{
        "MetricName": "BytesProcessed", "Timestamp": hour + 60, "Value": 10.0 * GIB, "Dimensions": [
            {"Name": "Endpoint Type", "Value": "Interface"}, {"Name": "Service Name", "Value": described["ServiceName"]},
            {"Name": "VPC Endpoint Id", "Value": endpoint}, {"Name": "VPC Id", "Value": described["VpcId"]}]}])
    event = schedule_after(hour)

    # The Price List refuses and nothing was kept: no guess, an error naming what was tried.
    fault({"operation": "GetProducts", "account": provider, "error": "AccessDeniedException", "count": -1}, provider)
    try:
        refused = subprocess.run(["dev/invoke", "cost-reporter", "-", "--stack", stack], cwd=ROOT, env=env,
                                 input=event, capture_output=True, text=True, timeout=1800)
    finally:
        fault(None, provider)
    assert refused.returncode == 1, refused.stdout
    assert ("no prices for region eu-west-2: the Price List could not be used (GetProducts failed: "
            "access denied: the identity in use may not call GetProducts (AccessDeniedException") in refused.stderr, \
        refused.stderr[-3000:]
    assert "the built-in table does not have it" in refused.stderr

    # The Price List answers: the hour is priced from its records, and the result says so.
    result = json.loads(run(["dev/invoke", "cost-reporter", "-", "--stack", stack], env, stdin=event))
    assert result["rates"]["source"] == "priceList", result["rates"]
    [row] = [r for r in result["endpoints"] if r["id"] == endpoint]
    # eu-west-2: 2 AZ x $0.011 + 10 GB x $0.01 = $0.122; NAT 10 GB x $0.05 = $0.50; saves $0.378
    assert abs(row["cost"] - 0.122) < 1e-9, row
    assert abs(row["natSavings"] - 0.378) < 1e-9, row
