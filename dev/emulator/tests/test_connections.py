"""The PrivateLink connection lifecycle, driven through boto3."""

from __future__ import annotations

import botocore.exceptions
import pytest
import requests

from conftest import URL, client_for, create_endpoint, create_service, new_account


def states(ec2, service_id: str, **extra) -> dict[str, str]:
    conns = ec2.describe_vpc_endpoint_connections(
        Filters=[{"Name": "service-id", "Values": [service_id]}], **extra)["VpcEndpointConnections"]
    return {c["VpcEndpointId"]: c["VpcEndpointState"] for c in conns}


def test_cross_account_request_waits_for_acceptance(provider):
    service = create_service(provider)
    consumer = new_account()
    endpoint = create_endpoint(consumer, service, azs=2)
    ec2 = client_for("ec2", provider)
    [conn] = ec2.describe_vpc_endpoint_connections()["VpcEndpointConnections"]
    assert conn["ServiceId"] == service
    assert conn["VpcEndpointId"] == endpoint
    assert conn["VpcEndpointOwner"] == consumer
    assert conn["VpcEndpointState"] == "pendingAcceptance"
    assert conn["VpcEndpointConnectionId"].startswith("vpce-con-")
    assert conn["VpcEndpointRegion"] == "us-east-1"
    assert conn["NetworkLoadBalancerArns"]
    assert "CreationTimestamp" in conn
    consumer_view = client_for("ec2", consumer).describe_vpc_endpoints(VpcEndpointIds=[endpoint])
    assert consumer_view["VpcEndpoints"][0]["State"] == "pendingAcceptance"


def test_service_without_acceptance_connects_at_once(provider):
    service = create_service(provider, acceptance_required=False)
    endpoint = create_endpoint(new_account(), service)
    assert states(client_for("ec2", provider), service) == {endpoint: "available"}


def test_accept_and_reject_change_both_views(provider):
    service = create_service(provider)
    consumer = new_account()
    first, second, third = (create_endpoint(consumer, service) for _ in range(3))
    ec2 = client_for("ec2", provider)
    assert ec2.accept_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=[first])["Unsuccessful"] == []
    assert ec2.reject_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=[second])["Unsuccessful"] == []
    assert states(ec2, service) == {first: "available", second: "rejected", third: "pendingAcceptance"}
    consumer_states = {e["VpcEndpointId"]: e["State"]
                       for e in client_for("ec2", consumer).describe_vpc_endpoints()["VpcEndpoints"]}
    assert consumer_states == {first: "available", second: "rejected", third: "pendingAcceptance"}
    # An established connection can be revoked.
    assert ec2.reject_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=[first])["Unsuccessful"] == []
    assert states(ec2, service)[first] == "rejected"


def test_unsuccessful_items_name_the_problem(provider):
    service = create_service(provider)
    other_service = create_service(provider)
    pending = create_endpoint(new_account(), service)
    elsewhere = create_endpoint(new_account(), other_service)
    ec2 = client_for("ec2", provider)
    ec2.reject_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=[pending])
    result = ec2.accept_vpc_endpoint_connections(
        ServiceId=service, VpcEndpointIds=[pending, elsewhere, "vpce-0123456789abcdef0"])
    codes = {u["ResourceId"]: u["Error"]["Code"] for u in result["Unsuccessful"]}
    assert codes == {pending: "InvalidState", elsewhere: "InvalidVpcEndpointId.NotFound",
                     "vpce-0123456789abcdef0": "InvalidVpcEndpointId.NotFound"}
    assert states(ec2, other_service) == {elsewhere: "pendingAcceptance"}


def test_only_own_services_are_visible_and_changeable(provider):
    service = create_service(provider)
    create_endpoint(new_account(), service)
    stranger = client_for("ec2", new_account())
    assert stranger.describe_vpc_endpoint_connections()["VpcEndpointConnections"] == []
    with pytest.raises(botocore.exceptions.ClientError) as err:
        stranger.accept_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=["vpce-0abc"])
    assert err.value.response["Error"]["Code"] == "InvalidVpcEndpointServiceId.NotFound"


def test_filters_and_pagination(provider):
    service = create_service(provider)
    other = create_service(provider)
    consumers = [new_account(), new_account()]
    endpoints = [create_endpoint(consumers[i % 2], service) for i in range(7)]
    create_endpoint(consumers[0], other)
    ec2 = client_for("ec2", provider)
    ec2.accept_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=[endpoints[0]])
    filters = [{"Name": "service-id", "Values": [service]},
               {"Name": "vpc-endpoint-state", "Values": ["pendingAcceptance"]}]
    pages = list(ec2.get_paginator("describe_vpc_endpoint_connections").paginate(
        Filters=filters, PaginationConfig={"PageSize": 5}))
    assert [len(p["VpcEndpointConnections"]) for p in pages] == [5, 1]
    seen = [c["VpcEndpointId"] for p in pages for c in p["VpcEndpointConnections"]]
    assert sorted(seen) == sorted(endpoints[1:])
    by_owner = ec2.describe_vpc_endpoint_connections(
        Filters=[{"Name": "vpc-endpoint-owner", "Values": [consumers[1]]}])["VpcEndpointConnections"]
    assert sorted(c["VpcEndpointId"] for c in by_owner) == sorted(endpoints[1::2])


def test_state_change_between_pages_skips_nothing(provider):
    service = create_service(provider)
    consumer = new_account()
    endpoints = sorted(create_endpoint(consumer, service) for _ in range(7))
    ec2 = client_for("ec2", provider)
    filters = [{"Name": "vpc-endpoint-state", "Values": ["pendingAcceptance"]}]
    first = ec2.describe_vpc_endpoint_connections(Filters=filters, MaxResults=5)
    ids = [c["VpcEndpointId"] for c in first["VpcEndpointConnections"]]
    ec2.accept_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=ids)
    second = ec2.describe_vpc_endpoint_connections(Filters=filters, MaxResults=5, NextToken=first["NextToken"])
    assert ids + [c["VpcEndpointId"] for c in second["VpcEndpointConnections"]] == endpoints
    assert "NextToken" not in second


@pytest.mark.parametrize("max_results", [4, 1001])
def test_max_results_out_of_range_is_refused(provider, max_results):
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client_for("ec2", provider).describe_vpc_endpoint_connections(MaxResults=max_results)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_unknown_filter_is_refused(provider):
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client_for("ec2", provider).describe_vpc_endpoint_connections(
            Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert "no-such-filter" in err.value.response["Error"]["Message"]


def test_describe_vpc_endpoints_paginates_like_aws(provider):
    service = create_service(provider, acceptance_required=False)
    created = sorted(create_endpoint(provider, service) for _ in range(7))
    ec2 = client_for("ec2", provider)
    pages = list(ec2.get_paginator("describe_vpc_endpoints").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["VpcEndpoints"]) for p in pages] == [5, 2]
    assert sorted(e["VpcEndpointId"] for p in pages for e in p["VpcEndpoints"]) == created


def test_an_endpoint_can_be_backdated_for_tests_that_choose_their_hour(provider):
    service = create_service(provider, acceptance_required=False)
    endpoint = create_endpoint(provider, service)
    hour = 1_795_766_400  # 2026-11-27T08:00:00Z
    response = requests.post(f"{URL}/_plgov/endpoint-times", timeout=5, json={
        "account": provider, "region": "us-east-1", "endpoints": [endpoint], "createdAt": hour + 60})
    assert response.status_code == 200, response.text
    described = client_for("ec2", provider).describe_vpc_endpoints(VpcEndpointIds=[endpoint])["VpcEndpoints"][0]
    assert described["CreationTimestamp"].timestamp() == hour + 60
    missing = requests.post(f"{URL}/_plgov/endpoint-times", timeout=5, json={
        "account": provider, "region": "us-east-1", "endpoints": ["vpce-0nothere"], "createdAt": hour})
    assert missing.status_code == 400 and "vpce-0nothere" in missing.json()["error"]
