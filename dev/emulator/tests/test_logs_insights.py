"""CloudWatch Logs Insights (StartQuery / GetQueryResults) over events put with PutLogEvents.

Each test writes the JSON log lines our Rust functions write (tracing's JSON format,
fields nested under "fields") into log groups of an account of its own, runs queries
and compares the rows with what the data gives by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import botocore.exceptions
import pytest

from conftest import REGION, client_for

NOW = dt.datetime.now(dt.timezone.utc)
# Two whole hours that moto accepts (events must be less than 14 days old).
H0 = NOW.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=5)


def ms(hours: float) -> int:
    return int((H0 + dt.timedelta(hours=hours)).timestamp() * 1000)


def stamp(hours: float) -> str:
    moment = H0 + dt.timedelta(hours=hours)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def line(endpoint: str | None, cost: float | None, level: str = "INFO", message: str = "endpoint cost") -> str:
    fields: dict = {"message": message}
    if endpoint is not None:
        fields["endpoint"] = endpoint
    if cost is not None:
        fields["cost"] = cost
    return json.dumps({"level": level, "target": "cost_reporter", "fields": fields})


# (hours after H0, stream, message)
EVENTS = [
    (0.10, "a", line("vpce-0a", 1.25)),
    (0.20, "a", "START RequestId: 1f2e Version: $LATEST"),
    (0.50, "b", line("vpce-0b", 4.0)),
    (1.10, "a", line("vpce-0a", 2.75)),
    (1.20, "b", line("vpce-0c", 0.5, level="WARN", message="price missing")),
    (1.30, "b", line(None, None, level="ERROR", message="DescribeVpcEndpoints failed: throttled")),
    (1.40, "a", line("vpce-0b", 6.0)),
    (3.00, "a", line("vpce-0a", 100.0)),  # after the queried range
]
START, END = ms(0), ms(2)


@pytest.fixture
def logs(provider):
    client = client_for("logs", provider)
    client.account = provider
    client.group = f"/aws/lambda/plgov-cost-reporter-{random.randint(0, 10**9)}"
    client.create_log_group(logGroupName=client.group)
    for stream in ("a", "b"):
        client.create_log_stream(logGroupName=client.group, logStreamName=stream)
        client.put_log_events(logGroupName=client.group, logStreamName=stream, logEvents=[
            {"timestamp": ms(h), "message": m} for h, s, m in EVENTS if s == stream])
    return client


def run(logs, query: str, start: int = START // 1000, end: int = END // 1000, **where) -> dict:
    where = where or {"logGroupName": logs.group}
    query_id = logs.start_query(startTime=start, endTime=end, queryString=query, **where)["queryId"]
    out = logs.get_query_results(queryId=query_id)
    assert out["status"] == "Complete"
    return out


def rows(out: dict, keep_ptr: bool = False) -> list[dict]:
    return [{c["field"]: c["value"] for c in row if keep_ptr or c["field"] != "@ptr"} for row in out["results"]]


def test_fields_filter_sort_limit_on_discovered_json_fields(logs):
    out = run(logs, "fields @timestamp, fields.endpoint, fields.cost, fields.cost * 100 as cents "
                    "| filter fields.cost >= 1 and level = \"INFO\" | sort fields.cost desc | limit 2")
    assert rows(out) == [
        {"@timestamp": stamp(1.40), "fields.endpoint": "vpce-0b", "fields.cost": "6", "cents": "600"},
        {"@timestamp": stamp(0.50), "fields.endpoint": "vpce-0b", "fields.cost": "4", "cents": "400"}]
    assert all(row[-1]["field"] == "@ptr" for row in out["results"])
    assert out["statistics"]["recordsMatched"] == 4.0  # before the limit
    assert out["statistics"]["recordsScanned"] == 7.0  # the events in the time range


def test_stats_aggregations_by_field(logs):
    out = run(logs, "filter ispresent(fields.endpoint) | stats sum(fields.cost) as total, avg(fields.cost), "
                    "count(*) as n, count_distinct(level), min(fields.cost), max(fields.cost) by fields.endpoint "
                    "| sort fields.endpoint asc")
    assert rows(out) == [
        {"fields.endpoint": "vpce-0a", "total": "4", "avg(fields.cost)": "2", "n": "2", "count_distinct(level)": "1",
         "min(fields.cost)": "1.25", "max(fields.cost)": "2.75"},
        {"fields.endpoint": "vpce-0b", "total": "10", "avg(fields.cost)": "5", "n": "2", "count_distinct(level)": "1",
         "min(fields.cost)": "4", "max(fields.cost)": "6"},
        {"fields.endpoint": "vpce-0c", "total": "0.5", "avg(fields.cost)": "0.5", "n": "1",
         "count_distinct(level)": "1", "min(fields.cost)": "0.5", "max(fields.cost)": "0.5"}]
    assert "@ptr" not in {c["field"] for row in out["results"] for c in row}
    assert out["statistics"]["recordsMatched"] == 5.0


def test_stats_by_bin_and_latest_earliest(logs):
    out = run(logs, "stats count(*) as events, sum(fields.cost) as cost by bin(1h) | sort cost asc")
    assert rows(out) == [{"bin(1h)": stamp(0), "events": "3", "cost": "5.25"},
                         {"bin(1h)": stamp(1), "events": "4", "cost": "9.25"}]
    # After stats, `bin(1h)` and `count(*)` name its columns; a second stats aggregates the first.
    out = run(logs, "stats count(*), sum(fields.cost) by bin(1h) | sort bin(1h) desc")
    assert [row["bin(1h)"] for row in rows(out)] == [stamp(1), stamp(0)]
    out = run(logs, "stats count(*) by bin(1h) | stats max(count(*)) as busiest, count(*) as hours")
    assert rows(out) == [{"busiest": "4", "hours": "2"}]
    out = run(logs, "stats latest(fields.endpoint) as last, earliest(fields.endpoint) as first, "
                    "latest(fields.message) as message")
    assert rows(out) == [{"last": "vpce-0b", "first": "vpce-0a", "message": "endpoint cost"}]


def test_dedup_keeps_the_first_row_per_key_in_the_current_order(logs):
    out = run(logs, "fields fields.endpoint, fields.cost | sort @timestamp desc | dedup fields.endpoint")
    # The latest row of each endpoint; rows without the field are all kept.
    assert rows(out) == [{"fields.endpoint": "vpce-0b", "fields.cost": "6"}, {},
                         {"fields.endpoint": "vpce-0c", "fields.cost": "0.5"},
                         {"fields.endpoint": "vpce-0a", "fields.cost": "2.75"}, {}]
    out = run(logs, "fields fields.endpoint, fields.cost | sort fields.cost asc | dedup fields.endpoint | limit 2")
    assert rows(out) == [{"fields.endpoint": "vpce-0c", "fields.cost": "0.5"},
                         {"fields.endpoint": "vpce-0a", "fields.cost": "1.25"}]


@pytest.mark.parametrize("condition, costs", [
    ("fields.endpoint in [\"vpce-0a\", \"vpce-0c\"]", ["0.5", "2.75", "1.25"]),
    ("fields.endpoint not in [\"vpce-0a\", \"vpce-0c\"]", ["6", "4"]),
    ("fields.endpoint like /0[ab]$/ and fields.cost < 3", ["2.75", "1.25"]),
    ("fields.endpoint =~ /c$/ or fields.cost = 4", ["0.5", "4"]),
    ("fields.endpoint != \"vpce-0a\"", ["6", "0.5", "4"]),
    ("not ispresent(fields.endpoint)", []),
    ("@message like \"throttled\"", []),
    ("fields.cost * 2 > 5 and fields.cost < 6", ["2.75", "4"]),
    ("@logStream = \"b\" and fields.cost > 0", ["0.5", "4"]),
])
def test_filter_operators(logs, condition, costs):
    out = run(logs, f"filter {condition} | fields fields.cost")
    assert [row.get("fields.cost") for row in rows(out) if row] == costs
    assert len(out["results"]) == {"not ispresent(fields.endpoint)": 2, "@message like \"throttled\"": 1}.get(
        condition, len(costs))


def test_display_parse_and_system_fields(logs):
    out = run(logs, "filter level = \"ERROR\" | parse fields.message \"* failed: *\" as call, reason "
                    "| display call, reason, @log, @logStream")
    assert rows(out) == [{"call": "DescribeVpcEndpoints", "reason": "throttled",
                          "@log": f"{logs.account}:{logs.group}", "@logStream": "b"}]
    out = run(logs, "filter @message like /^START/ | fields @message")
    assert rows(out) == [{"@message": "START RequestId: 1f2e Version: $LATEST"}]
    out = run(logs, "filter @message like /^START/")  # no fields: @timestamp and @message
    assert rows(out) == [{"@timestamp": stamp(0.20), "@message": "START RequestId: 1f2e Version: $LATEST"}]


def test_time_range_and_log_group_identifiers(logs):
    other = logs.group + "-other"
    logs.create_log_group(logGroupName=other)
    logs.create_log_stream(logGroupName=other, logStreamName="x")
    logs.put_log_events(logGroupName=other, logStreamName="x",
                        logEvents=[{"timestamp": ms(0.3), "message": line("vpce-0z", 9.0)}])
    arn = f"arn:aws:logs:{REGION}:{logs.account}:log-group:{other}"
    out = run(logs, "stats sum(fields.cost) as total", logGroupIdentifiers=[logs.group, arn])
    assert rows(out) == [{"total": "23.5"}]  # 14.5 in the range, 9 in the other group; not the 100 at hour 3
    assert out["statistics"]["logGroupsScanned"] == 2.0
    out = run(logs, "stats sum(fields.cost) as total", logGroupNames=[other])
    assert rows(out) == [{"total": "9"}]
    # Both ends are inclusive: the event at 1.10 h is the last one in [0.5 h, 1.1 h].
    out = run(logs, "fields fields.cost", start=ms(0.5) // 1000, end=ms(1.1) // 1000)
    assert [r.get("fields.cost") for r in rows(out)] == ["2.75", "4"]


@pytest.mark.parametrize("query, message", [
    ("fields @message | pattern @message", "'pattern' is not a query command"),
    ("filter fields.cost >", "unexpected"),
    ("sort fields.cost", "sort needs asc or desc"),
    ("stats pct(fields.cost, 90)", "pct() is not supported"),
    ("stats count(*) by bin(1mo)", "not supported by the emulator"),
    ("dedup fields.endpoint | sort @timestamp desc", "only limit can follow dedup"),
    ("stats fields.cost", "must be an aggregation"),
    ("fields sortsFirst(fields.cost)", "not supported by the emulator"),
])
def test_an_unsupported_or_malformed_query_is_rejected(logs, query, message):
    with pytest.raises(botocore.exceptions.ClientError) as err:
        logs.start_query(logGroupName=logs.group, startTime=START // 1000, endTime=END // 1000, queryString=query)
    response = err.value.response
    assert response["Error"]["Code"] == "MalformedQueryException"
    assert message in response["Error"]["Message"]
    location = response["queryCompileError"]["location"]
    assert 0 <= location["startCharOffset"] <= location["endCharOffset"] <= len(query)


def test_log_group_errors(logs):
    with pytest.raises(botocore.exceptions.ClientError) as err:
        run(logs, "fields @message", logGroupName=logs.group + "-missing")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        run(logs, "fields @message", logGroupName=logs.group, logGroupNames=[logs.group])
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        logs.get_query_results(queryId="no-such-query")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
