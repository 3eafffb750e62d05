"""plgov_emulator.dashboard: a dashboard body evaluated as the CloudWatch console would.

A small hand-written dashboard (shorthand metric rows, a hidden helper and an expression, a
SEARCH, number widgets with and without setPeriodToTimeRange, log widgets with dedup and
stats, widgets that must report errors) over data each test puts in an account of its own,
compared with values worked out by hand; then the dashboard shipped in template.yaml.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import REGION, client_for
from plgov_emulator.dashboard import DashboardError, expand_metrics, metric_queries, parse_time, evaluate

NS = "PLGov/DashTest"
# Whole hours, recent enough for PutLogEvents (it refuses events over 14 days old).
H0 = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=6)
END = H0 + dt.timedelta(hours=4)
TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


def at(hours: float) -> dt.datetime:
    return H0 + dt.timedelta(hours=hours)


def hourly(series) -> dict[float, float]:
    return {(t - H0) / dt.timedelta(hours=1): v for t, v in zip(series.timestamps, series.values)}


# ---------------------------------------------------------------------------- the array shorthand

def test_dot_and_ellipsis_repeat_the_previous_metric():
    rows = expand_metrics([
        ["AWS/Lambda", "Errors", "FunctionName", "approver", {"stat": "Sum"}],
        ["...", "reporter"],
        [{"expression": "m1 + m2", "id": "e"}],  # expressions are skipped by "." and "..."
        [".", "Throttles", ".", "."],
        ["AWS/Kafka", "CpuUser", "Cluster Name", "c", "Broker ID", "1"],
        ["...", "2"],
        [".", ".", ".", ".", ".", ".", {"id": "same"}],
        ["...", "Broker ID", "3"],
        ["...", {"label": "all of it"}],
    ])
    assert [r.elements for r in rows] == [
        ["AWS/Lambda", "Errors", "FunctionName", "approver"],
        ["AWS/Lambda", "Errors", "FunctionName", "reporter"],
        None,
        ["AWS/Lambda", "Throttles", "FunctionName", "reporter"],
        ["AWS/Kafka", "CpuUser", "Cluster Name", "c", "Broker ID", "1"],
        ["AWS/Kafka", "CpuUser", "Cluster Name", "c", "Broker ID", "2"],
        ["AWS/Kafka", "CpuUser", "Cluster Name", "c", "Broker ID", "2"],
        ["AWS/Kafka", "CpuUser", "Cluster Name", "c", "Broker ID", "3"],
        ["AWS/Kafka", "CpuUser", "Cluster Name", "c", "Broker ID", "3"],
    ]
    assert rows[0].options == {"stat": "Sum"} and rows[1].options == {}  # options are not repeated
    assert rows[2].expression == "m1 + m2"


@pytest.mark.parametrize("metrics, message", [
    ([[".", "Errors"]], "no element of a previous metric"),
    ([["...", "x"]], "no metric before it"),
    ([["NS", "M"], ["...", "a", "b", "c"]], "nothing to stand for"),
    ([["NS", "M", "Dim"]], "name/value pairs"),
    ([["NS", "M", {"expression": "m1"}]], "both a metric and an expression"),
    ([[{"label": "x"}]], "neither a metric nor an expression"),
])
def test_unreadable_rows_are_errors(metrics, message):
    with pytest.raises(DashboardError, match=message):
        expand_metrics(metrics)


def test_queries_take_widget_defaults_and_row_options():
    start, end = H0, H0 + dt.timedelta(days=7, seconds=30)
    by_region, drawn = metric_queries({"region": "us-east-1", "stat": "Sum", "metrics": [
        ["NS", "A", {"period": 60}], [".", "B", {"visible": False, "stat": "Maximum", "id": "b"}],
        [".", "C", {"region": "eu-west-1", "label": "C!"}], [{"expression": "m1 * 2"}]]}, start, end, None)
    assert drawn == ["m1", "m3", "e4"]
    assert by_region["us-east-1"] == [
        {"Id": "m1", "ReturnData": True, "MetricStat": {"Metric": {"Namespace": "NS", "MetricName": "A",
                                                                   "Dimensions": []}, "Period": 60, "Stat": "Sum"}},
        {"Id": "b", "ReturnData": False, "MetricStat": {"Metric": {"Namespace": "NS", "MetricName": "B",
                                                                   "Dimensions": []}, "Period": 300,
                                                        "Stat": "Maximum"}},
        {"Id": "e4", "ReturnData": True, "Expression": "m1 * 2", "Period": 300}]
    assert by_region["eu-west-1"][0]["Label"] == "C!"
    # The whole range as the period (rounded up to a minute), for every row.
    by_region, _ = metric_queries({"setPeriodToTimeRange": True, "period": 3600, "metrics": [
        ["NS", "A", {"period": 60}], [{"expression": "SEARCH('{NS} A', 'Sum')"}]]}, start, end, "us-east-1")
    assert [q.get("Period", q.get("MetricStat", {}).get("Period")) for q in by_region["us-east-1"]] == [
        7 * 86400 + 60, 7 * 86400 + 60]


def test_relative_and_absolute_times():
    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
    assert parse_time("-P7D", now) == now - dt.timedelta(days=7)
    assert parse_time("-PT3H", now) == now - dt.timedelta(hours=3)
    assert parse_time("-PT15M", now) == now - dt.timedelta(minutes=15)
    assert parse_time("-P2W", now) == now - dt.timedelta(weeks=2)
    assert parse_time("2026-11-01T00:00:00.000Z", now) == dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)


# ---------------------------------------------------------------------------- against the emulator

DASHBOARD = {
    "widgets": [
        {"type": "text", "properties": {"markdown": "## Costs"}},
        {"type": "metric", "properties": {
            "title": "Per endpoint", "view": "timeSeries", "region": REGION, "stat": "Sum", "period": 3600,
            "metrics": [
                [NS, "EndpointCost", "VpcEndpointId", "vpce-0a", {"id": "a"}],
                ["...", "vpce-0b", {"id": "b", "label": "B cost"}],
                [".", "NatSavings", ".", "vpce-0a", {"id": "n", "visible": False}],
                [{"expression": "a + b - n", "label": "net", "id": "net"}]]}},
        {"type": "metric", "properties": {
            "title": "Search", "region": REGION, "stat": "Sum", "period": 3600,
            "metrics": [[{"expression": f"SEARCH('{{{NS},VpcEndpointId}} MetricName=\"EndpointCost\"', 'Sum', 3600)",
                          "id": "cost"}]]}},
        {"type": "metric", "properties": {
            "title": "Range totals", "view": "singleValue", "region": REGION, "stat": "Sum", "period": 3600,
            "setPeriodToTimeRange": True,
            "metrics": [[NS, "EndpointCost", "VpcEndpointId", "vpce-0a"],
                        [".", ".", ".", "vpce-0b", {"stat": "Maximum", "label": "b max"}],
                        [{"expression": "SUM(METRICS())", "label": "all"}]]}},
        {"type": "metric", "properties": {
            "title": "Latest hour", "view": "singleValue", "region": REGION, "stat": "Sum", "period": 3600,
            "metrics": [[NS, "EndpointCost", "VpcEndpointId", "vpce-0a", {"label": "a now"}]]}},
        {"type": "log", "properties": {
            "title": "Latest cost per endpoint", "region": REGION,
            "query": "SOURCE '/plgov/dash-a' | fields endpoint, cost\n| sort @timestamp desc\n| dedup endpoint"}},
        {"type": "log", "properties": {
            "title": "Cost per endpoint", "region": REGION, "view": "bar",
            "query": "SOURCE '/plgov/dash-a' | SOURCE \"/plgov/dash-b\" | stats sum(cost) as total by endpoint\n"
                     "| sort total desc"}},
        {"type": "metric", "properties": {"title": "Broken expression", "region": REGION, "metrics": [
            [NS, "EndpointCost", {"id": "a"}], [{"expression": "NOPE(a)"}]]}},
        {"type": "metric", "properties": {"title": "Broken row", "region": REGION, "metrics": [[".", "X"]]}},
        {"type": "log", "properties": {"title": "Missing group", "region": REGION,
                                       "query": "SOURCE '/plgov/none' | stats count(*)"}},
        {"type": "alarm", "properties": {"title": "Alarms", "alarms": []}},
    ]
}


@pytest.fixture
def data(provider):
    cw = client_for("cloudwatch", provider)

    def put(metric: str, points: list[tuple[float, float]], **dims: str) -> None:
        cw.put_metric_data(Namespace=NS, MetricData=[
            {"MetricName": metric, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
             "Timestamp": at(h), "Value": value} for h, value in points])

    # Hourly sums: vpce-0a {0: 3, 1: 4, 3: 8} (15 in all, the 5th hour is outside the range),
    # vpce-0b {0: 10, 2: 20}, NatSavings of vpce-0a {1: 5}.
    put("EndpointCost", [(0, 1.0), (0.5, 2.0), (1, 4.0), (3, 8.0), (5, 1000.0)], VpcEndpointId="vpce-0a")
    put("EndpointCost", [(0, 10.0), (2, 20.0)], VpcEndpointId="vpce-0b")
    put("NatSavings", [(1, 5.0)], VpcEndpointId="vpce-0a")

    logs = client_for("logs", provider)
    for group, events in (("/plgov/dash-a", [(10, "vpce-0a", 1), (20, "vpce-0b", 2), (30, "vpce-0a", 3)]),
                          ("/plgov/dash-b", [(40, "vpce-0b", 4)])):
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
            {"timestamp": int(at(minutes / 60).timestamp() * 1000),
             "message": json.dumps({"endpoint": endpoint, "cost": cost})} for minutes, endpoint, cost in events])
    return provider


def test_hand_written_dashboard(data):
    widgets = evaluate(json.dumps(DASHBOARD), H0, END,
                       client_for=lambda service, region: client_for(service, data))
    text, lines, search, totals, latest, dedup, stats, broken, bad_row, missing, alarm = widgets

    assert (text.type, text.text, text.error) == ("text", "## Costs", None)

    assert (lines.title, lines.view, lines.error) == ("Per endpoint", "timeSeries", None)
    # Without a label, GetMetricData's own (moto: "<metric> <stat>"); the console would draw its own.
    assert [(s.id, s.label) for s in lines.series] == [("a", "EndpointCost Sum"), ("b", "B cost"), ("net", "net")]
    a, b, net = lines.series
    assert hourly(a) == {0: 3.0, 1: 4.0, 3: 8.0}
    assert hourly(b) == {0: 10.0, 2: 20.0}
    assert hourly(net) == {0: 13.0, 1: -1.0, 2: 20.0, 3: 8.0}  # a + b - n, a missing value counts 0
    queries = lines.queries[REGION]
    assert [q["Id"] for q in queries] == ["a", "b", "n", "net"]
    assert queries[1]["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "VpcEndpointId", "Value": "vpce-0b"}]
    assert queries[2]["ReturnData"] is False and queries[2]["MetricStat"]["Metric"]["MetricName"] == "NatSavings"

    assert search.error is None
    assert [(s.id, s.label, hourly(s)) for s in search.series] == [
        ("cost", "vpce-0a", {0: 3.0, 1: 4.0, 3: 8.0}), ("cost", "vpce-0b", {0: 10.0, 2: 20.0})]

    # setPeriodToTimeRange: one data point over the four hours, the statistic of the range.
    assert (totals.view, totals.error) == ("singleValue", None)
    assert totals.values() == {"EndpointCost Sum": 15.0, "b max": 20.0, "all": 35.0}
    assert [s.timestamps for s in totals.series] == [[H0], [H0], [H0]]
    # Without it, the number is the latest period's value.
    assert latest.values() == {"a now": 8.0}

    assert (dedup.view, dedup.error) == ("table", None)
    assert dedup.rows == [{"endpoint": "vpce-0a", "cost": "3"}, {"endpoint": "vpce-0b", "cost": "2"}]
    assert stats.rows == [{"endpoint": "vpce-0b", "total": "6"}, {"endpoint": "vpce-0a", "total": "4"}]

    # Errors are reported on their widget; the others were still evaluated.
    assert broken.error.startswith("ValidationError") and "NOPE" in broken.error and broken.series == []
    assert "no element of a previous metric" in bad_row.error
    assert missing.error.startswith("ResourceNotFoundException")
    assert alarm.error == "DashboardError: widgets of type 'alarm' are not evaluated"


def test_a_single_client_serves_its_region_and_reports_others(data):
    body = {"start": "-PT2H", "widgets": [
        {"type": "metric", "properties": {"region": "eu-west-1", "metrics": [[NS, "EndpointCost"]]}},
        {"type": "metric", "properties": {"metrics": [[NS, "NatSavings", "VpcEndpointId", "vpce-0a"]]}}]}
    other, same = evaluate(body, cloudwatch=client_for("cloudwatch", data))
    assert "no cloudwatch client for region eu-west-1" in other.error
    # Defaults: the body's start (two hours ago), Average, 300 s: NatSavings has no data that recent.
    assert same.error is None and same.queries[REGION][0]["MetricStat"]["Stat"] == "Average"
    assert [s.values for s in same.series] == [[]]


class _CfnLoader(yaml.SafeLoader):
    """Reads template.yaml's short-form intrinsic functions as {"Fn": value}."""


for _tag in ("Ref", "Sub", "GetAtt", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split",
             "FindInMap", "ImportValue", "Condition", "GetAZs", "Base64", "Cidr"):
    _CfnLoader.add_multi_constructor(f"!{_tag}", lambda loader, suffix, node, tag=_tag: {
        tag: (loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode)
              else loader.construct_sequence(node, deep=True) if isinstance(node, yaml.SequenceNode)
              else loader.construct_mapping(node, deep=True))})


def shipped_dashboard(namespace: str, variables: dict[str, str]) -> str:
    """template.yaml's dashboard body, its !Sub variables replaced: the namespace, REGION, and
    `variables` (the test's value for each other variable, which it records there)."""
    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    body, names = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Sub"]
    for name in names:
        variables.setdefault(name, f"plgov-{name.lower()}")
    variables.update({"AWS::Region": REGION, "Namespace": namespace})
    return re.sub(r"\$\{([^}]+)\}", lambda m: variables[m.group(1)], body)


def test_the_shipped_dashboard_evaluates(provider):
    """Whatever its widgets, the dashboard of template.yaml evaluates without an error, and a
    number widget of the range's EndpointCost shows the sum of the hours put."""
    cw = client_for("cloudwatch", provider)
    namespace = "PrivateLinkGovernor"
    for hour, value in enumerate([1.75, 2.75]):
        cw.put_metric_data(Namespace=namespace, MetricData=[
            {"MetricName": metric, "Timestamp": at(hour), "Value": value * factor}
            for metric, factor in (("EndpointCost", 1), ("NatEquivalentCost", 2))])
    variables: dict[str, str] = {}
    body = shipped_dashboard(namespace, variables)
    logs = client_for("logs", provider)
    for name, value in variables.items():
        if name.endswith("LogGroup"):
            logs.create_log_group(logGroupName=value)
    widgets = evaluate(body, H0, END, cloudwatch=client_for("cloudwatch", provider), logs=logs)
    assert [(w.title, w.error) for w in widgets if w.error] == []
    totals = [s.value for w in widgets if w.view == "singleValue"
              for q in w.queries.get(REGION, [])
              if q.get("MetricStat", {}).get("Metric") == {"Namespace": namespace, "MetricName": "EndpointCost",
                                                          "Dimensions": []}
              for s in w.series if s.id == q["Id"]]
    assert totals and set(totals) == {4.5}
