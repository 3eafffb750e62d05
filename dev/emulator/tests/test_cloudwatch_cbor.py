"""CloudWatch over Smithy RPC v2 CBOR, as the Rust SDK speaks it, answered by moto."""

from __future__ import annotations

import datetime as dt
import gzip

import cbor2
import requests

from conftest import URL, new_account

HEADERS = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor",
           "Accept": "application/cbor"}


def call(operation: str, payload: dict, account_key: str = "testing", gzip_body: bool = False):
    body = cbor2.dumps(payload, datetime_as_timestamp=True, timezone=dt.timezone.utc)
    headers = dict(HEADERS)
    if gzip_body:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={account_key}/20261127/us-east-1/"
                                "monitoring/aws4_request, SignedHeaders=host, Signature=0")
    response = requests.post(f"{URL}/service/GraniteServiceVersion20100801/operation/{operation}",
                             data=body, headers=headers, timeout=10)
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"
    return response.status_code, (cbor2.loads(response.content) if response.content else None)


def test_put_and_get_metric_data_round_trip(emulator_url):
    namespace = f"Test/{new_account()}"
    hour = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.timezone.utc)
    dims = [{"Name": "VPC Endpoint Id", "Value": "vpce-0abc"}, {"Name": "Endpoint Type", "Value": "Interface"}]
    status, _ = call("PutMetricData", {"Namespace": namespace, "MetricData": [
        {"MetricName": "BytesProcessed", "Dimensions": dims, "Timestamp": hour + dt.timedelta(minutes=m),
         "Value": v, "Unit": "Bytes"} for m, v in ((1, 1024.0), (2, 2048.5))]}, gzip_body=True)
    assert status == 200
    # The same name and dimensions in another namespace must not be counted.
    call("PutMetricData", {"Namespace": namespace + "/other", "MetricData": [
        {"MetricName": "BytesProcessed", "Dimensions": dims, "Timestamp": hour, "Value": 7.0}]})
    status, out = call("GetMetricData", {
        "StartTime": hour, "EndTime": hour + dt.timedelta(hours=1),
        "MetricDataQueries": [{"Id": "q0", "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": "BytesProcessed", "Dimensions": dims},
            "Period": 3600, "Stat": "Sum"}}]})
    assert status == 200
    [result] = out["MetricDataResults"]
    assert result["Id"] == "q0"
    assert result["Values"] == [3072.5]
    assert isinstance(result["Values"][0], float)
    assert result["Timestamps"] == [hour]  # decoded from CBOR tag 1


def test_a_query_without_dimensions_reads_only_the_series_without_dimensions(emulator_url):
    namespace = f"Test/{new_account()}"
    hour = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.timezone.utc)
    call("PutMetricData", {"Namespace": namespace, "MetricData": [
        {"MetricName": "EndpointCost", "Timestamp": hour, "Value": 5.0},
        {"MetricName": "EndpointCost", "Timestamp": hour, "Value": 3.0,
         "Dimensions": [{"Name": "VpcEndpointId", "Value": "vpce-0a"}]}]})
    status, out = call("GetMetricData", {"StartTime": hour, "EndTime": hour + dt.timedelta(hours=1),
                                         "MetricDataQueries": [{"Id": "total", "MetricStat": {
                                             "Metric": {"Namespace": namespace, "MetricName": "EndpointCost"},
                                             "Period": 3600, "Stat": "Sum"}}]})
    assert status == 200 and out["MetricDataResults"][0]["Values"] == [5.0]


def test_list_metrics_and_dashboards(emulator_url):
    namespace = f"Test/{new_account()}"
    call("PutMetricData", {"Namespace": namespace, "MetricData": [{"MetricName": "M", "Value": 1.0}]})
    status, out = call("ListMetrics", {"Namespace": namespace})
    assert status == 200 and [m["MetricName"] for m in out["Metrics"]] == ["M"]
    status, _ = call("PutDashboard", {"DashboardName": "plgov-test", "DashboardBody": '{"widgets": []}'})
    assert status == 200
    status, out = call("GetDashboard", {"DashboardName": "plgov-test"})
    assert status == 200 and out["DashboardBody"] == '{"widgets": []}'
    status, out = call("DescribeAlarms", {})
    assert status == 200 and "MetricAlarms" in out


def test_errors_come_back_as_cbor(emulator_url):
    status, out = call("GetDashboard", {"DashboardName": "no-such-dashboard"})
    assert status == 404 or 400 <= status < 500
    assert "ResourceNotFound" in out["__type"]
    status, out = call("NoSuchOperation", {})
    assert status == 404 and out["__type"] == "UnknownOperationException"
