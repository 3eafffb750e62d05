"""GetMetricData with SEARCH and metric math, over JSON 1.0 (boto3) and RPC v2 CBOR.

Every test puts its data in an account of its own, then compares the emulator's answer
with values worked out by hand from the data put.
"""

from __future__ import annotations

import datetime as dt

import botocore.exceptions
import cbor2
import pytest
import requests

from conftest import REGION, URL, client_for

H0 = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)
NS = "PLGov/MathTest"


def at(hours: float) -> dt.datetime:
    return H0 + dt.timedelta(hours=hours)


def dim(**dims: str) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in dims.items()]


def put(cw, metric: str, points: list[tuple[float, float]], namespace: str = NS, **dims: str) -> None:
    cw.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": metric, "Dimensions": dim(**dims), "Timestamp": at(h), "Value": v} for h, v in points])


def stat(query_id: str, metric: str, label: str | None = None, namespace: str = NS, stat_name: str = "Sum",
         return_data: bool = True, **dims: str) -> dict:
    query = {"Id": query_id, "ReturnData": return_data, "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dim(**dims)},
        "Period": 3600, "Stat": stat_name}}
    if label:
        query["Label"] = label
    return query


def expr(query_id: str, expression: str, label: str | None = None, **extra) -> dict:
    query = {"Id": query_id, "Expression": expression, **extra}
    if label is not None:
        query["Label"] = label
    return query


def results(cw, queries: list[dict], start: float = 0, end: float = 3, scan_by: str = "TimestampAscending"):
    out = cw.get_metric_data(StartTime=at(start), EndTime=at(end), ScanBy=scan_by, MetricDataQueries=queries)
    return [(r["Id"], r["Label"], dict(zip([(t - H0) / HOUR for t in r["Timestamps"]], r["Values"])),
             r["StatusCode"]) for r in out["MetricDataResults"]]


def by_id(rows) -> dict:
    return {(row[0], row[1]): row[2] for row in rows}


@pytest.fixture
def cw(provider):
    client = client_for("cloudwatch", provider)
    # The dashboard's per-endpoint series, and series a schema search must not find.
    put(client, "EndpointCost", [(0, 1.0), (0.5, 2.0), (1, 4.0)], VpcEndpointId="vpce-0a")
    put(client, "EndpointCost", [(0, 10.0), (2, 20.0)], VpcEndpointId="vpce-0b")
    put(client, "EndpointCost", [(0, 100.0)])  # region total: no dimensions
    put(client, "EndpointCost", [(0, 1000.0)], VpcEndpointId="vpce-0a", AvailabilityZone="use1-az1")
    put(client, "EndpointCost", [(0, 5000.0)], namespace=NS + "/Other", VpcEndpointId="vpce-0a")
    put(client, "NatSavings", [(0, 7.0)], VpcEndpointId="vpce-0a")
    # Two plain series with gaps for metric math: a = {0: 3, 2: 4}, b = {0: 5, 1: 6, 2: 0}.
    put(client, "A", [(0, 1.0), (0.25, 2.0), (2, 4.0)])
    put(client, "B", [(0, 5.0), (1, 6.0), (2, 0.0)])
    return client


def search(metric: str, schema: str = f"{{{NS},VpcEndpointId}}", stat_name: str = "Sum", period: str = ", 3600"):
    return f"SEARCH('{schema} MetricName=\"{metric}\"', '{stat_name}'{period})"


def test_schema_search_finds_exactly_the_series_with_those_dimension_names(cw):
    rows = results(cw, [expr("cost", search("EndpointCost"))])
    assert rows == [("cost", "vpce-0a", {0.0: 3.0, 1.0: 4.0}, "Complete"),
                    ("cost", "vpce-0b", {0.0: 10.0, 2.0: 20.0}, "Complete")]


def test_schema_without_dimensions_finds_only_the_series_without_dimensions(cw):
    rows = results(cw, [expr("total", search("EndpointCost", schema=f"{{{NS}}}"))])
    assert rows == [("total", "EndpointCost", {0.0: 100.0}, "Complete")]


def test_unscoped_search_matches_namespace_metric_name_and_dimension_value(cw):
    rows = results(cw, [expr("s", f"SEARCH('\"{NS}\" MetricName=\"EndpointCost\" VpcEndpointId=\"vpce-0a\"', "
                                  "'Sum', 3600)")])
    # Any dimension set: the per-endpoint series and the one with an extra dimension.
    assert by_id(rows) == {("s", "vpce-0a"): {0.0: 3.0, 1.0: 4.0}, ("s", "vpce-0a use1-az1"): {0.0: 1000.0}}


def test_partial_terms_boolean_operators_and_the_query_period(cw):
    # `cost` is a token of EndpointCost; NOT drops vpce-0b; the period comes from the query.
    rows = results(cw, [expr("s", f"SEARCH('{{{NS},VpcEndpointId}} cost NOT vpce-0b', 'Maximum')", Period=7200)])
    assert rows == [("s", "vpce-0a", {0.0: 4.0}, "Complete")]
    rows = results(cw, [expr("s", f"SEARCH('{{{NS},VpcEndpointId}} MetricName=(\"NatSavings\" OR \"Nope\")', "
                                  "'Sum', 3600)")])
    assert rows == [("s", "vpce-0a", {0.0: 7.0}, "Complete")]
    rows = results(cw, [expr("s", f"SEARCH('{{{NS},VpcEndpointId}} EndpointCOST', 'Sum', 3600)")])
    assert rows == []  # a composite term is case-sensitive: COST is not a token of EndpointCost


def test_search_labels_ids_and_dynamic_labels(cw):
    rows = results(cw, [expr("c", search("EndpointCost"), label="Cost"),
                        expr("d", search("EndpointCost"), label="${PROP('Dim.VpcEndpointId')} per hour"),
                        expr("n", f"SEARCH('{{{NS},VpcEndpointId}} vpce-0a', 'Sum', 3600)")])
    assert [(r[0], r[1]) for r in rows] == [
        ("c", "Cost vpce-0a"), ("c", "Cost vpce-0b"), ("d", "vpce-0a per hour"), ("d", "vpce-0b per hour"),
        # several metric names match: each label names its metric
        ("n", "vpce-0a EndpointCost"), ("n", "vpce-0a NatSavings")]


def test_arithmetic_aligns_series_and_counts_missing_values_as_zero(cw):
    queries = [stat("a", "A", label="a"), stat("b", "B", label="b"),
               expr("plus", "a + b"), expr("div", "a / b"), expr("neg", "-a"),
               expr("paren", "(a + 1) * 2"), expr("pow", "a ^ 2"), expr("dev", "a - AVG(a)"),
               expr("cmp", "a > b", label="cmp")]
    rows = by_id(results(cw, queries))
    assert rows[("a", "a")] == {0.0: 3.0, 2.0: 4.0}
    assert rows[("b", "b")] == {0.0: 5.0, 1.0: 6.0, 2.0: 0.0}
    assert rows[("plus", "plus")] == {0.0: 8.0, 1.0: 6.0, 2.0: 4.0}
    assert rows[("div", "div")] == {0.0: 0.6, 1.0: 0.0}  # 4 / 0 is dropped
    assert rows[("neg", "neg")] == {0.0: -3.0, 2.0: -4.0}
    assert rows[("paren", "paren")] == {0.0: 8.0, 2.0: 10.0}
    assert rows[("pow", "pow")] == {0.0: 9.0, 2.0: 16.0}
    assert rows[("dev", "dev")] == {0.0: -0.5, 2.0: 0.5}
    assert rows[("cmp", "cmp")] == {0.0: 0.0, 1.0: 0.0, 2.0: 1.0}


def test_functions_over_arrays_fill_and_metrics(cw):
    queries = [stat("ma", "A", label="a"), stat("mb", "B", label="b"),
               expr("sum", "SUM([ma, mb])"), expr("avg", "AVG(METRICS())"), expr("max", "MAX(METRICS())"),
               expr("min", "MIN(METRICS(\"m\"))"), expr("zero", "FILL(ma, 0)"), expr("rep", "FILL(ma, REPEAT)"),
               expr("lin", "FILL(ma, LINEAR)"), expr("abs", "ABS(-ma)"), expr("tens", "METRICS(\"b\") * 10"),
               expr("cnt", "DATAPOINT_COUNT(METRICS())"), expr("run", "RUNNING_SUM(mb)"), expr("dif", "DIFF(mb)")]
    rows = by_id(results(cw, queries))
    assert rows[("sum", "sum")] == {0.0: 8.0, 1.0: 6.0, 2.0: 4.0}
    assert rows[("avg", "avg")] == {0.0: 4.0, 1.0: 3.0, 2.0: 2.0}  # missing a at hour 1 counts as 0
    assert rows[("max", "max")] == {0.0: 5.0, 1.0: 6.0, 2.0: 4.0}
    assert rows[("min", "min")] == {0.0: 3.0, 1.0: 6.0, 2.0: 0.0}
    assert rows[("zero", "zero")] == {0.0: 3.0, 1.0: 0.0, 2.0: 4.0}
    assert rows[("rep", "rep")] == {0.0: 3.0, 1.0: 3.0, 2.0: 4.0}
    assert rows[("lin", "lin")] == {0.0: 3.0, 1.0: 3.5, 2.0: 4.0}
    assert rows[("abs", "abs")] == {0.0: 3.0, 2.0: 4.0}
    assert rows[("tens", "b")] == {0.0: 50.0, 1.0: 60.0, 2.0: 0.0}  # a TS[] keeps its members' labels
    assert rows[("cnt", "cnt")] == {0.0: 2.0, 1.0: 1.0, 2.0: 2.0}
    assert rows[("run", "run")] == {0.0: 5.0, 1.0: 11.0, 2.0: 11.0}
    assert rows[("dif", "dif")] == {1.0: 1.0, 2.0: -6.0}


def test_sum_of_a_search_return_data_references_and_scan_by(cw):
    queries = [expr("total", "SUM(cost) + region", label="All endpoints"),  # refers to queries further down
               expr("cost", search("EndpointCost"), ReturnData=False),
               stat("region", "EndpointCost", return_data=False)]
    rows = results(cw, queries, scan_by="TimestampDescending")
    assert rows == [("total", "All endpoints", {0.0: 113.0, 1.0: 4.0, 2.0: 20.0}, "Complete")]
    out = cw.get_metric_data(StartTime=at(0), EndTime=at(3), MetricDataQueries=queries)  # default: descending
    assert [(t - H0) / HOUR for t in out["MetricDataResults"][0]["Timestamps"]] == [2.0, 1.0, 0.0]
    assert out["MetricDataResults"][0]["Values"] == [20.0, 4.0, 113.0]


def test_start_and_end_time_bound_every_series(cw):
    rows = by_id(results(cw, [stat("a", "A", label="a"), stat("b", "B", label="b"), expr("s", "a + b"),
                              expr("f", "FILL(a, 0)"), expr("e", search("EndpointCost"))], start=1, end=2))
    assert rows == {("a", "a"): {}, ("b", "b"): {1.0: 6.0}, ("s", "s"): {1.0: 6.0}, ("f", "f"): {1.0: 0.0},
                    ("e", "vpce-0a"): {1.0: 4.0}, ("e", "vpce-0b"): {}}


@pytest.mark.parametrize("expression, message", [
    ("a +", "unexpected"),
    ("nosuch * 2", "nosuch is not the Id of a query"),
    ("FOO(a)", "unknown function FOO"),
    ("sum(a)", "functions are upper case"),
    ("IF(a > 1, a)", "IF is a CloudWatch function the emulator does not support"),
    ("SUM(a)", "must be a time series or an array of time series, not a scalar"),
    ("METRICS() + METRICS()", "cannot combine two arrays"),
    ("loop", "refer to each other"),
    ("SEARCH('{PLGov/MathTest', 'Sum', 3600)", "in SEARCH: expected '}'"),
    ("SEARCH('{PLGov/MathTest} A', 'Sum')", "SEARCH needs a period"),
    ("SEARCH('{PLGov/MathTest} A', 'p99', 60)", "statistic 'p99' of SEARCH is not supported"),
    ("SEARCH('{PLGov/MathTest} A OR', 'Sum', 60)", "in SEARCH"),
    ("SELECT SUM(A) FROM \"PLGov/MathTest\"", "Metrics Insights (SELECT) queries are not supported"),
])
def test_an_expression_the_emulator_cannot_evaluate_is_a_validation_error(cw, expression, message):
    queries = [stat("a", "A"), expr("bad", expression), expr("loop", "bad + 1")]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        cw.get_metric_data(StartTime=at(0), EndTime=at(3), MetricDataQueries=queries)
    error = err.value.response["Error"]
    assert error["Code"] == "ValidationError"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert message in error["Message"]
    assert "MetricDataQueries.member.2.Expression (Id bad)" in error["Message"]


def test_cbor_clients_get_the_same_answers_and_errors(cw, provider):
    creds = client_for("sts").assume_role(RoleArn=f"arn:aws:iam::{provider}:role/plgov-test",
                                          RoleSessionName="plgov-test")["Credentials"]
    headers = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", "Accept": "application/cbor",
               "X-Amz-Security-Token": creds["SessionToken"],
               "Authorization": f"AWS4-HMAC-SHA256 Credential={creds['AccessKeyId']}/20261127/{REGION}/"
                                "monitoring/aws4_request, SignedHeaders=host, Signature=0"}

    def call(queries):
        body = cbor2.dumps({"StartTime": at(0), "EndTime": at(3), "ScanBy": "TimestampAscending",
                            "MetricDataQueries": queries}, datetime_as_timestamp=True, timezone=dt.timezone.utc)
        response = requests.post(f"{URL}/service/GraniteServiceVersion20100801/operation/GetMetricData",
                                 data=body, headers=headers, timeout=10)
        return response.status_code, cbor2.loads(response.content), response.headers

    status, out, _ = call([expr("cost", search("EndpointCost")), expr("total", "SUM(cost)")])
    assert status == 200
    assert [(r["Id"], r["Label"], r["Values"]) for r in out["MetricDataResults"]] == [
        ("cost", "vpce-0a", [3.0, 4.0]), ("cost", "vpce-0b", [10.0, 20.0]), ("total", "total", [13.0, 4.0, 20.0])]
    assert out["MetricDataResults"][2]["Timestamps"] == [at(0), at(1), at(2)]
    status, out, headers = call([expr("bad", "SUM(cost")])
    # The awsQueryCompatible error code travels in x-amzn-query-error, as CloudWatch sends it.
    assert status == 400 and headers["x-amzn-query-error"].startswith("ValidationError;")
    assert out["__type"].endswith("ValidationException") and "expected ')'" in out["message"]
