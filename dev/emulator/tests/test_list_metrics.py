"""ListMetrics as CloudWatch answers it, over JSON 1.0 (boto3), query and RPC v2 CBOR.

Each test works in an account of its own. RecentlyActive is about when data was put, which a
test cannot wait three hours for: it moves the recorded ingestion times back with
POST /_plgov/metric-ingestion.
"""

from __future__ import annotations

import datetime as dt
import time
import xml.etree.ElementTree as ET

import boto3
import botocore.exceptions
import cbor2
import pytest
import requests

from conftest import REGION, URL, client_for

NS = "PLGov/ListTest"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def dims(**values: str) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in values.items()]


def put(cw, metric: str, namespace: str = NS, at: dt.datetime = NOW, times: int = 1, **dimensions: str) -> None:
    cw.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": metric, "Dimensions": dims(**dimensions), "Timestamp": at - dt.timedelta(minutes=i),
         "Value": 1.0} for i in range(times)])


def listed(cw, **kwargs) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """Every metric over every page, as (namespace, name, dimensions in order)."""
    out = []
    for page in cw.get_paginator("list_metrics").paginate(**kwargs):
        out.extend((m["Namespace"], m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"]))
                   for m in page["Metrics"])
    return out


def age(account: str, seconds: float, namespace: str | None = None) -> None:
    spec = {"account": account, "region": REGION, "ingestedAt": time.time() - seconds}
    if namespace:
        spec["namespace"] = namespace
    requests.post(f"{URL}/_plgov/metric-ingestion", json=spec, timeout=10).raise_for_status()


def access_key(account: str) -> str:
    sts = boto3.client("sts", endpoint_url=URL, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    return sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/plgov-test",
                           RoleSessionName="plgov-test")["Credentials"]["AccessKeyId"]


def auth(key: str) -> str:
    return (f"AWS4-HMAC-SHA256 Credential={key}/20261127/{REGION}/monitoring/aws4_request, "
            "SignedHeaders=host, Signature=0")


def cbor_call(key: str, operation: str, payload: dict) -> tuple[int, dict]:
    response = requests.post(
        f"{URL}/service/GraniteServiceVersion20100801/operation/{operation}",
        data=cbor2.dumps(payload, datetime_as_timestamp=True, timezone=dt.timezone.utc),
        headers={"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor",
                 "Accept": "application/cbor", "Authorization": auth(key)}, timeout=10)
    return response.status_code, (cbor2.loads(response.content) if response.content else {})


def query_call(key: str, params: dict[str, str]) -> ET.Element:
    response = requests.post(URL, data={"Action": "ListMetrics", "Version": "2010-08-01", **params},
                             headers={"Authorization": auth(key)}, timeout=10)
    response.raise_for_status()
    return ET.fromstring(response.content)


@pytest.fixture
def cw(provider):
    return client_for("cloudwatch", provider)


def test_one_entry_per_metric_not_per_data_point(cw):
    put(cw, "NoDim", times=5)
    put(cw, "OneDim", times=5, VpcEndpointId="vpce-0a")
    put(cw, "TwoDims", times=5, VpcEndpointId="vpce-0a", Region="us-east-1")
    put(cw, "TwoDims", times=2, VpcEndpointId="vpce-0b", Region="us-east-1")
    # The same name with the dimensions in the other order is the same metric.
    cw.put_metric_data(Namespace=NS, MetricData=[{"MetricName": "TwoDims", "Value": 1.0, "Timestamp": NOW,
                                                  "Dimensions": dims(Region="us-east-1", VpcEndpointId="vpce-0a")}])
    assert sorted(listed(cw, Namespace=NS)) == [
        (NS, "NoDim", ()),
        (NS, "OneDim", (("VpcEndpointId", "vpce-0a"),)),
        (NS, "TwoDims", (("VpcEndpointId", "vpce-0a"), ("Region", "us-east-1"))),
        (NS, "TwoDims", (("VpcEndpointId", "vpce-0b"), ("Region", "us-east-1"))),
    ]


def test_namespace_name_and_dimension_filters(cw):
    put(cw, "BytesProcessed", VpcEndpointId="vpce-0a")
    put(cw, "BytesProcessed", VpcEndpointId="vpce-0b", AvailabilityZone="use1-az1")
    put(cw, "BytesProcessed")
    put(cw, "EndpointCost", VpcEndpointId="vpce-0a")
    put(cw, "BytesProcessed", namespace=NS + "/Other", VpcEndpointId="vpce-0a")

    assert {m[0] for m in listed(cw)} == {NS, NS + "/Other"}
    assert [m[0] for m in listed(cw, Namespace=NS + "/Other")] == [NS + "/Other"]
    assert listed(cw, Namespace="PLGov") == []  # exact, not a prefix
    assert len(listed(cw, Namespace=NS, MetricName="BytesProcessed")) == 3
    # Name only: any value, and metrics with more dimensions too.
    assert sorted(m[2] for m in listed(cw, Namespace=NS, Dimensions=[{"Name": "VpcEndpointId"}])) == [
        (("VpcEndpointId", "vpce-0a"),), (("VpcEndpointId", "vpce-0a"),),
        (("VpcEndpointId", "vpce-0b"), ("AvailabilityZone", "use1-az1"))]
    assert listed(cw, Namespace=NS, MetricName="BytesProcessed",
                  Dimensions=[{"Name": "VpcEndpointId", "Value": "vpce-0a"}]) == [
        (NS, "BytesProcessed", (("VpcEndpointId", "vpce-0a"),))]
    # Several filters: all must hold.
    assert listed(cw, Dimensions=[{"Name": "VpcEndpointId", "Value": "vpce-0b"}, {"Name": "AvailabilityZone"}]) == [
        (NS, "BytesProcessed", (("VpcEndpointId", "vpce-0b"), ("AvailabilityZone", "use1-az1")))]
    assert listed(cw, Dimensions=[{"Name": "VpcEndpointId", "Value": "vpce-0a"}, {"Name": "AvailabilityZone"}]) == []


def test_recently_active_is_by_when_data_was_put_not_its_timestamp(cw, provider):
    put(cw, "PutLongAgo", at=NOW)  # a fresh timestamp...
    put(cw, "Refreshed", at=NOW)
    age(provider, 4 * 3600)  # ...put four hours ago
    put(cw, "Refreshed", at=NOW - dt.timedelta(days=10))  # put now, with an old timestamp
    put(cw, "PutNow", at=NOW - dt.timedelta(days=3))

    assert sorted(m[1] for m in listed(cw, Namespace=NS)) == ["PutLongAgo", "PutNow", "Refreshed"]
    assert sorted(m[1] for m in listed(cw, Namespace=NS, RecentlyActive="PT3H")) == ["PutNow", "Refreshed"]
    # Just inside the three hours is still recently active.
    age(provider, 3 * 3600 - 120)
    assert len(listed(cw, Namespace=NS, RecentlyActive="PT3H")) == 3


def test_metrics_without_data_put_for_two_weeks_are_not_listed(cw, provider):
    put(cw, "Old")
    put(cw, "Fresh", namespace=NS + "/Fresh")
    age(provider, 15 * 86400, namespace=NS)
    assert [m[1] for m in listed(cw)] == ["Fresh"]
    put(cw, "Old", at=NOW - dt.timedelta(days=20))  # new data, whatever its timestamp, lists it again
    assert sorted(m[1] for m in listed(cw)) == ["Fresh", "Old"]


def test_pages_of_500_with_next_token(cw):
    for batch in range(3):  # 1,203 metrics, 401 per call (a call takes up to 1,000 metrics)
        cw.put_metric_data(Namespace=NS, MetricData=[
            {"MetricName": "EndpointCost", "Dimensions": dims(VpcEndpointId=f"vpce-{batch * 401 + i:05d}"),
             "Timestamp": NOW, "Value": 1.0} for i in range(401)])
    first = cw.list_metrics(Namespace=NS)
    assert len(first["Metrics"]) == 500 and first["NextToken"]
    second = cw.list_metrics(Namespace=NS, NextToken=first["NextToken"])
    assert len(second["Metrics"]) == 500 and second["NextToken"]
    third = cw.list_metrics(Namespace=NS, NextToken=second["NextToken"])
    assert len(third["Metrics"]) == 203 and "NextToken" not in third
    names = [m["Dimensions"][0]["Value"] for page in (first, second, third) for m in page["Metrics"]]
    assert sorted(names) == [f"vpce-{i:05d}" for i in range(1203)]
    # A token can be used again, and a filtered listing pages over the matches only.
    assert cw.list_metrics(Namespace=NS, NextToken=first["NextToken"])["Metrics"] == second["Metrics"]
    assert len(cw.list_metrics(Namespace=NS, Dimensions=[{"Name": "VpcEndpointId", "Value": "vpce-01202"}])
               ["Metrics"]) == 1
    with pytest.raises(botocore.exceptions.ClientError) as error:
        cw.list_metrics(Namespace=NS, NextToken="not-a-token")
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(botocore.exceptions.ClientError) as error:  # a token of another listing
        cw.list_metrics(Namespace=NS, MetricName="EndpointCost", NextToken=first["NextToken"])
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_recently_active_accepts_only_pt3h(cw):
    with pytest.raises(botocore.exceptions.ClientError) as error:
        cw.list_metrics(RecentlyActive="PT1H")
    assert error.value.response["Error"]["Code"] == "ValidationError"


def test_cbor_and_query_protocols_answer_the_same(cw, provider):
    put(cw, "BytesProcessed", times=3, VpcEndpointId="vpce-0a")
    put(cw, "BytesProcessed", times=3, VpcEndpointId="vpce-0b")
    put(cw, "Stale", VpcEndpointId="vpce-0a", namespace=NS + "/Stale")
    age(provider, 5 * 3600, namespace=NS + "/Stale")
    key = access_key(provider)

    status, out = cbor_call(key, "ListMetrics", {"RecentlyActive": "PT3H",
                                                  "Dimensions": [{"Name": "VpcEndpointId"}]})
    assert status == 200
    assert sorted((m["Namespace"], m["MetricName"], m["Dimensions"][0]["Value"]) for m in out["Metrics"]) == [
        (NS, "BytesProcessed", "vpce-0a"), (NS, "BytesProcessed", "vpce-0b")]
    assert "NextToken" not in out
    status, out = cbor_call(key, "ListMetrics", {"RecentlyActive": "P1D"})
    assert status == 400

    root = query_call(key, {"RecentlyActive": "PT3H", "Dimensions.member.1.Name": "VpcEndpointId",
                            "Dimensions.member.1.Value": "vpce-0b"})
    members = [e for e in root.iter() if e.tag.endswith("MetricName")]
    values = [e.text for e in root.iter() if e.tag.endswith("Value")]
    assert [e.text for e in members] == ["BytesProcessed"] and values == ["vpce-0b"]
