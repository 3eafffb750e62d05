"""Cost counters at /_plgov/usage: GetMetricData metrics, custom metric hours, log bytes and
DynamoDB request units, compared with values worked out by hand from the AWS billing rules.

Each test works in an account of its own and reads that account's counters only.
"""

from __future__ import annotations

import datetime as dt
import time

import boto3
import botocore.exceptions
import cbor2
import pytest
import requests

from conftest import REGION, URL, client_for

NS = "PLGov/UsageTest"
H0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.timezone.utc)


def usage(account: str) -> dict:
    response = requests.get(f"{URL}/_plgov/usage", params={"account": account}, timeout=10)
    response.raise_for_status()
    return response.json()


def at(hours: float) -> dt.datetime:
    return H0 + dt.timedelta(hours=hours)


def stat(query_id: str, metric: str, statistic: str = "Sum", **dims: str) -> dict:
    return {"Id": query_id, "MetricStat": {"Metric": {
        "Namespace": NS, "MetricName": metric, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
        "Period": 3600, "Stat": statistic}}


def cbor_get_metric_data(account: str, payload: dict) -> int:
    sts = boto3.client("sts", endpoint_url=URL, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    key = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/plgov-test",
                          RoleSessionName="plgov-test")["Credentials"]["AccessKeyId"]
    response = requests.post(
        f"{URL}/service/GraniteServiceVersion20100801/operation/GetMetricData",
        data=cbor2.dumps(payload, datetime_as_timestamp=True, timezone=dt.timezone.utc),
        headers={"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor",
                 "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20261127/{REGION}/monitoring/aws4_request, "
                                  "SignedHeaders=host, Signature=0"}, timeout=10)
    return response.status_code


def test_get_metric_data_counts_metrics_requested(provider):
    cw = client_for("cloudwatch", provider)
    for endpoint in ("vpce-0a", "vpce-0b", "vpce-0c"):
        cw.put_metric_data(Namespace=NS, MetricData=[
            {"MetricName": "EndpointCost", "Dimensions": [{"Name": "VpcEndpointId", "Value": endpoint}],
             "Timestamp": at(0), "Value": 1.0}])
    cw.put_metric_data(Namespace=NS, MetricData=[{"MetricName": "Total", "Timestamp": at(0), "Value": 3.0}])
    search = "SEARCH('{%s,VpcEndpointId} MetricName=\"EndpointCost\"', 'Sum', 3600)" % NS

    # Total twice (Sum, Average: one metric, two statistics), one endpoint series, a SEARCH
    # finding three series (one of them the endpoint series again), and metric math.
    cw.get_metric_data(StartTime=at(0), EndTime=at(1), MetricDataQueries=[
        stat("t1", "Total"), stat("t2", "Total", "Average"), {**stat("a", "EndpointCost", VpcEndpointId="vpce-0a"),
                                                               "ReturnData": False},
        {"Id": "s", "Expression": search}, {"Id": "e", "Expression": "t1 * 2 + a"}])
    gmd = usage(provider)["cloudwatch"]["GetMetricData"]
    # requested: 3 MetricStat + 3 found by SEARCH; billed: Total 1, vpce-0a 1 (two statistics),
    # vpce-0b 1, vpce-0c 1.
    assert gmd == {"requests": 1, "metricsRequested": 6, "metricsBilled": 4}

    # Six statistics of one metric in one call are two billed metrics.
    cw.get_metric_data(StartTime=at(0), EndTime=at(1), MetricDataQueries=[
        stat(f"q{i}", "Total", s) for i, s in enumerate(["Sum", "Average", "Minimum", "Maximum", "SampleCount",
                                                          "Sum"])])
    # The Rust SDK's CBOR counts the same; a call that fails counts nothing.
    assert cbor_get_metric_data(provider, {"StartTime": at(0), "EndTime": at(1), "MetricDataQueries": [
        {"Id": "s", "Expression": search}]}) == 200
    with pytest.raises(botocore.exceptions.ClientError):
        cw.get_metric_data(StartTime=at(0), EndTime=at(1), MetricDataQueries=[{"Id": "x", "Expression": "NOPE(1)"}])
    gmd = usage(provider)["cloudwatch"]["GetMetricData"]
    assert gmd == {"requests": 3, "metricsRequested": 6 + 6 + 3, "metricsBilled": 4 + 2 + 3}


def test_custom_metrics_and_their_hours(provider):
    cw = client_for("cloudwatch", provider)
    dims = [{"Name": "VpcEndpointId", "Value": "vpce-0a"}, {"Name": "Region", "Value": "us-east-1"}]
    cw.put_metric_data(Namespace=NS, MetricData=[
        {"MetricName": "EndpointCost", "Dimensions": dims, "Timestamp": at(h), "Value": 1.0}
        for h in (0, 0.5, 0.99, 1, 3)])
    # The same metric, dimensions in another order: still one metric; and an AWS/ namespace,
    # which is not a custom metric, though the request counts.
    cw.put_metric_data(Namespace=NS, MetricData=[
        {"MetricName": "EndpointCost", "Dimensions": dims[::-1], "Timestamp": at(5), "Value": 1.0},
        {"MetricName": "NatSavings", "Timestamp": at(0), "Value": 1.0}])
    cw.put_metric_data(Namespace="AWS/PrivateLinkEndpoints", MetricData=[
        {"MetricName": "BytesProcessed", "Dimensions": dims[:1], "Timestamp": at(0), "Value": 1.0}])
    cloudwatch = usage(provider)["cloudwatch"]
    assert cloudwatch["PutMetricData"] == {"requests": 3}
    custom = cloudwatch["customMetrics"]
    assert custom["count"] == 2
    assert custom["metricHours"] == 4 + 1  # EndpointCost: hours 0, 1, 3, 5; NatSavings: hour 0
    assert custom["metricHoursSent"] == 2  # both put within this hour (this test takes seconds)
    cost = next(m for m in custom["metrics"] if m["metricName"] == "EndpointCost")
    assert cost == {"region": REGION, "namespace": NS, "metricName": "EndpointCost", "dimensions": dims,
                    "hours": 4, "hoursSent": 1}


def test_log_bytes_ingested(provider):
    logs = client_for("logs", provider)
    logs.create_log_group(logGroupName="/plgov/usage")
    logs.create_log_stream(logGroupName="/plgov/usage", logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="/plgov/usage", logStreamName="s", logEvents=[
        {"timestamp": now - 20 * 86400 * 1000, "message": "too old, rejected, not ingested"},
        {"timestamp": now, "message": "abc"},
        {"timestamp": now, "message": "h\u00e9llo"},  # 6 bytes in UTF-8
        {"timestamp": now, "message": "x"}])
    assert usage(provider)["logs"]["PutLogEvents"] == {
        "requests": 1, "events": 3, "messageBytes": 3 + 6 + 1, "bytesIngested": 10 + 3 * 26}


def test_usage_is_per_account_and_resets(provider):
    cw = client_for("cloudwatch", provider)
    cw.put_metric_data(Namespace=NS, MetricData=[{"MetricName": "M", "Timestamp": at(0), "Value": 1.0}])
    assert usage(provider)["cloudwatch"]["PutMetricData"]["requests"] == 1
    other = usage(str(int(provider) + 1))
    assert other["cloudwatch"]["PutMetricData"]["requests"] == 0 and other["dynamodb"]["tables"] == {}
    requests.delete(f"{URL}/_plgov/usage", params={"account": provider}, timeout=10).raise_for_status()
    assert usage(provider)["cloudwatch"]["customMetrics"]["count"] == 0
    assert requests.get(f"{URL}/_plgov/usage", timeout=10).status_code == 400  # which account?


def _table(ddb, name: str, range_key: bool = False) -> None:
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": "S"})
    ddb.create_table(TableName=name, KeySchema=schema, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST")


def s(text: str) -> dict:
    return {"S": text}


def test_dynamodb_write_units(provider):
    ddb = client_for("dynamodb", provider)
    _table(ddb, "usage-w")
    T = "usage-w"

    def writes() -> float:
        return usage(provider)["dynamodb"]["tables"][T]["writeRequestUnits"]

    # Sizes: "pk"+"a" = 3 bytes; "data" + 2000 = 2004; "n" + 12345 (5 digits: 3 + 1) = 5.
    ddb.put_item(TableName=T, Item={"pk": s("a"), "data": s("x" * 2000)})  # 2007 B: 2
    assert writes() == 2
    ddb.put_item(TableName=T, Item={"pk": s("a"), "n": {"N": "12345"}})  # replaces 2007 B: 2
    assert writes() == 4
    ddb.update_item(TableName=T, Key={"pk": s("a")}, UpdateExpression="SET big = :b",
                    ExpressionAttributeValues={":b": s("y" * 3000)})  # after: 3 + 5 + 3003 = 3011 B: 3
    assert writes() == 7
    with pytest.raises(botocore.exceptions.ClientError):  # a failed condition still writes: 3011 B: 3
        ddb.put_item(TableName=T, Item={"pk": s("a")}, ConditionExpression="attribute_not_exists(pk)")
    assert writes() == 10
    ddb.delete_item(TableName=T, Key={"pk": s("a")})  # 3011 B: 3
    ddb.delete_item(TableName=T, Key={"pk": s("missing")})  # nothing: 1
    assert writes() == 14
    # BatchWriteItem sizes each item: 500 B and 3.5 KB are 1 + 4, not ceil(4 KB) = 4.
    ddb.batch_write_item(RequestItems={T: [
        {"PutRequest": {"Item": {"pk": s("b"), "d": s("z" * 496)}}},  # 3 + 1 + 496 = 500
        {"PutRequest": {"Item": {"pk": s("c"), "d": s("z" * 3580)}}}]})  # 3584 = 3.5 KB
    assert writes() == 19
    # Transactions: 2 per KB of each item, a ConditionCheck included.
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": T, "Item": {"pk": s("d"), "d": s("q" * 96)}}},  # 100 B: 2
        {"ConditionCheck": {"TableName": T, "Key": {"pk": s("c")},
                            "ConditionExpression": "attribute_exists(pk)"}}])  # 3584 B: 8
    assert writes() == 29
    with pytest.raises(botocore.exceptions.ClientError):  # cancelled: still 2
        ddb.transact_write_items(TransactItems=[{"Put": {
            "TableName": T, "Item": {"pk": s("e")}, "ConditionExpression": "attribute_exists(pk)"}}])
    assert writes() == 31
    assert usage(provider)["dynamodb"]["tables"][T]["readRequestUnits"] == 0


def test_dynamodb_read_units(provider):
    ddb = client_for("dynamodb", provider)
    _table(ddb, "usage-r")
    _table(ddb, "usage-q", range_key=True)
    R, Q = "usage-r", "usage-q"
    ddb.put_item(TableName=R, Item={"pk": s("c"), "d": s("z" * 3580)})  # 3584 B
    ddb.put_item(TableName=R, Item={"pk": s("f"), "d": s("w" * 6652)})  # 6656 B = 6.5 KB
    ddb.put_item(TableName=R, Item={"pk": s("b"), "d": s("z" * 1532)})  # 1536 B = 1.5 KB

    def reads(table: str) -> float:
        return usage(provider)["dynamodb"]["tables"][table]["readRequestUnits"]

    ddb.get_item(TableName=R, Key={"pk": s("c")})  # eventually consistent: 0.5
    ddb.get_item(TableName=R, Key={"pk": s("c")}, ConsistentRead=True, ProjectionExpression="pk")  # 1
    ddb.get_item(TableName=R, Key={"pk": s("f")}, ConsistentRead=True)  # 8 KB: 2
    ddb.get_item(TableName=R, Key={"pk": s("missing")}, ConsistentRead=True)  # 1
    assert reads(R) == 4.5
    # The guide's example: 1.5 KB and 6.5 KB read in one batch are 4 KB + 8 KB.
    ddb.batch_get_item(RequestItems={R: {"Keys": [{"pk": s("b")}, {"pk": s("f")}], "ConsistentRead": True}})
    assert reads(R) == 7.5
    ddb.transact_get_items(TransactItems=[{"Get": {"TableName": R, "Key": {"pk": s("b")}}},
                                          {"Get": {"TableName": R, "Key": {"pk": s("f")}}}])  # 2 + 4
    assert reads(R) == 13.5

    # Ten items of "pk"+"p" (3) + "sk"+"0n" (4) + "d"+1000 (1001) = 1008 bytes: 10,080 in all.
    ddb.batch_write_item(RequestItems={Q: [{"PutRequest": {"Item": {
        "pk": s("p"), "sk": s(f"{i:02d}"), "d": s("v" * 1000)}}} for i in range(10)]})
    filtered = ddb.query(TableName=Q, KeyConditionExpression="pk = :p", FilterExpression="d = :none",
                         ExpressionAttributeValues={":p": s("p"), ":none": s("nothing")})
    assert (filtered["Count"], filtered["ScannedCount"]) == (0, 10)
    assert reads(Q) == 1.5  # 10,080 bytes evaluated: 3 units, halved
    pages, start = [], None
    while True:  # pages of 4 items (4,032 bytes: 1 unit each), strongly consistent, projected
        kwargs = {"ExclusiveStartKey": start} if start else {}
        page = ddb.query(TableName=Q, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": s("p")},
                         Limit=4, ConsistentRead=True, ProjectionExpression="sk", **kwargs)
        pages.append(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert [len(p) for p in pages] == [4, 4, 2] and pages[0][0] == {"sk": s("00")}
    assert reads(Q) == 1.5 + 3
    scanned = ddb.scan(TableName=Q, FilterExpression="sk = :s", ExpressionAttributeValues={":s": s("03")})
    assert scanned["Items"] == [{"pk": s("p"), "sk": s("03"), "d": s("v" * 1000)}]
    assert reads(Q) == 1.5 + 3 + 1.5
    assert usage(provider)["dynamodb"]["tables"][Q]["writeRequestUnits"] == 10
    totals = usage(provider)["dynamodb"]
    assert totals["readRequestUnits"] == 13.5 + 6 and totals["writeRequestUnits"] == 4 + 7 + 2 + 10
