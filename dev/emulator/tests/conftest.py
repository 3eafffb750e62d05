"""Fixtures: the emulator under test and boto3 clients for provider and consumer accounts.

The tests use the emulator at $PLGOV_EMULATOR_URL (default http://127.0.0.1:4566, started by
`make local-aws`). Each test works in a provider account of its own, so tests never see each
other's services, endpoints or faults.
"""

from __future__ import annotations

import os
import random
from typing import Any, Callable

import boto3
import botocore.config
import pytest
import requests

URL = os.environ.get("PLGOV_EMULATOR_URL", "http://127.0.0.1:4566")
REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


@pytest.fixture(scope="session")
def emulator_url() -> str:
    try:
        requests.get(f"{URL}/_plgov/health", timeout=2).raise_for_status()
    except requests.RequestException as exc:  # the make targets start it
        pytest.fail(f"no emulator at {URL} ({exc}); start it with `make local-aws`")
    return URL


def client_for(service: str, account: str | None = None, retries: bool = True) -> Any:
    """A boto3 client; with `account`, credentials assumed into that account."""
    config = None if retries else botocore.config.Config(retries={"total_max_attempts": 1})
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=REGION)
    if account is None:
        return session.client(service, endpoint_url=URL, config=config)
    creds = session.client("sts", endpoint_url=URL).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/plgov-test", RoleSessionName="plgov-test")["Credentials"]
    return boto3.client(service, endpoint_url=URL, region_name=REGION,
                        aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"], config=config)


def new_account() -> str:
    return str(random.randint(200000000000, 999999999999))


@pytest.fixture
def provider(emulator_url: str) -> str:
    return new_account()


@pytest.fixture
def clients() -> Callable[[str, str], Any]:
    return client_for


def create_service(account: str, acceptance_required: bool = True) -> str:
    ec2 = client_for("ec2", account)
    elb = client_for("elbv2", account)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")
    nlb = elb.create_load_balancer(Name=f"nlb-{random.randint(0, 10**9)}", Type="network",
                                   Subnets=[subnet["Subnet"]["SubnetId"]])
    config = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[nlb["LoadBalancers"][0]["LoadBalancerArn"]],
        AcceptanceRequired=acceptance_required)
    return config["ServiceConfiguration"]["ServiceId"]


def create_endpoint(account: str, service_id: str, azs: int = 1) -> str:
    ec2 = client_for("ec2", account)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{'abc'[i]}")["Subnet"]["SubnetId"]
               for i in range(azs)]
    endpoint = ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Interface", SubnetIds=subnets,
                                       ServiceName=f"com.amazonaws.vpce.{REGION}.{service_id}")
    return endpoint["VpcEndpoint"]["VpcEndpointId"]
