"""dev/dashboard_page.py: the dashboard of template.yaml drawn as a local page, and seen in Chromium.

The shipped dashboard body (its !Sub variables replaced with this test's values) is evaluated
over three whole hours of data put into an account of the test's own: a data point series for
every metric any of its widgets queries (found from the widgets' own queries, so a metric added
to the template gets data too) and the cost reporter's "endpoint priced" log lines for its Logs
Insights table. Every widget must then be drawn with data; headless Chromium must run the
page's plotly charts to the end (the DOM after its scripts) and take a screenshot. Data put for
whatever the widgets query cannot tell a metric renamed in the template: test_demo_dashboard.py
draws the deployed dashboard from the demo scenario's own data, and fails on it.

No Rust build is needed. Chromium is Debian's `chromium` (`make chromium` installs it); the
tests fail, never skip, without it. With PLGOV_DASHBOARD_PNG=path the screenshot is also
copied there (how docs/dashboard.png is made).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import struct
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REGION, client_for, new_account
from plgov_emulator.dashboard import _log_query, evaluate, metric_queries
from test_dashboard_eval import shipped_dashboard

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # dev/
import dashboard_page  # noqa: E402
import screenshot  # noqa: E402

NAMESPACE = "PrivateLinkGovernor"
END = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
START = END - dt.timedelta(hours=3)
ENDPOINTS = {"vpce-0a1b2c3d4e5f60718": (2, 310.0), "vpce-0b2c3d4e5f6071829": (3, 42.5),
             "vpce-0c3d4e5f607182930": (1, 0.0)}


# ---------------------------------------------------------------------------- data

def value_of(metric: str, stat: str, at: dt.datetime, rng: random.Random) -> float | None:
    """A realistic data point of `metric` at `at` (None: no point then)."""
    hour = (at - START) / dt.timedelta(hours=1)
    if metric in ("EndpointCost", "NatEquivalentCost"):
        if at.minute or at.second:
            return None  # the cost reporter publishes one point per hour
        gb = sum(g for _, g in ENDPOINTS.values()) * (0.7 + 0.2 * hour)
        azs = sum(a for a, _ in ENDPOINTS.values())
        return round(azs * 0.01 + gb * 0.01, 4) if metric == "EndpointCost" else round(gb * 0.045, 4)
    if metric.startswith("Connections"):
        weight = {"ConnectionsAccepted": 3, "ConnectionsRejected": 2, "ConnectionsLeftPending": 1,
                  "ConnectionsRevoked": 1, "ConnectionsHeld": 1}.get(metric, 1)
        return float(rng.randint(0, weight)) if at.minute % 15 == 0 else None
    if metric == "InvalidAllowlistItems":
        return 1.0 if hour >= 1 else 0.0
    if metric == "Findings":
        return 2.0 if at.minute == 0 else None  # once a day in AWS; hourly here, a short range
    if metric == "UnpricedEndpoints":
        return 0.0 if at.minute == 0 else None
    if metric == "ApproximateNumberOfMessagesVisible":
        return float(max(0, int(hour * 2) - 1))
    # Errors of any kind: now and then.
    return 1.0 if rng.random() < 0.12 else 0.0


def put_metrics(account: str, body: str) -> set[tuple[str, str, tuple]]:
    """A data point series for every metric the dashboard's widgets query, every five minutes."""
    cw = client_for("cloudwatch", account)
    metrics: dict[tuple[str, str, tuple], str] = {}
    for widget in json.loads(body)["widgets"]:
        if widget["type"] != "metric":
            continue
        by_region, _ = metric_queries(widget["properties"], START, END, REGION)
        for query in by_region.get(REGION, []):
            if "MetricStat" in query:
                m = query["MetricStat"]["Metric"]
                key = (m["Namespace"], m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"]))
                metrics.setdefault(key, query["MetricStat"]["Stat"])
    # A SEARCH finds metrics by name: the daily Findings count, per type.
    for widget in json.loads(body)["widgets"]:
        for row in widget["properties"].get("metrics", []) if widget["type"] == "metric" else []:
            found = re.search(r"SEARCH\('\{([^,}]+),(\w+)\} MetricName=\"(\w+)\"", str(row[0].get("expression", ""))
                              if row and isinstance(row[0], dict) else "")
            if found:
                namespace, dimension, name = found.groups()
                for value in ("IdleEndpoint", "SingleAzEndpoint"):
                    metrics.setdefault((namespace, name, ((dimension, value),)), "Maximum")
    rng = random.Random(15)
    for (namespace, name, dims), stat in metrics.items():
        data = []
        at = START
        while at < END:
            value = value_of(name, stat, at, rng)
            if value is not None:
                data.append({"MetricName": name, "Timestamp": at + dt.timedelta(seconds=60), "Value": value,
                             "Dimensions": [{"Name": k, "Value": v} for k, v in dims]})
            at += dt.timedelta(minutes=5)
        for i in range(0, len(data), 20):
            cw.put_metric_data(Namespace=namespace, MetricData=data[i:i + 20])
    return set(metrics)


def put_reporter_lines(account: str, body: str) -> None:
    """The cost reporter's log lines (tracing's JSON, as Lambda's JSON log format keeps them) in
    every log group a log widget reads: one per endpoint and priced hour."""
    groups = {g for w in json.loads(body)["widgets"] if w["type"] == "log"
              for g in _log_query(w["properties"]["query"])[0]}
    logs = client_for("logs", account)
    for group in groups:
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="2026/11/28/[$LATEST]0")
        events = []
        for h in range(3):
            hour = START + dt.timedelta(hours=h)
            logged = hour + dt.timedelta(minutes=65)
            for endpoint, (azs, gb_per_hour) in ENDPOINTS.items():
                gb = round(gb_per_hour * (0.8 + 0.1 * h), 3)
                cost = round(azs * 0.01 + gb * 0.01, 4)
                nat = round(gb * 0.045, 4)
                fields = {"message": "endpoint priced", "region": REGION, "hour": f"{hour:%Y-%m-%dT%H:00:00Z}",
                          "endpoint": endpoint, "endpoint_type": "Interface", "azs": azs, "gb": gb,
                          "hourly_cost": azs * 0.01, "data_cost": round(gb * 0.01, 4), "cost": cost,
                          "nat_equivalent_cost": nat, "nat_savings": round(nat - cost, 4)}
                events.append({"timestamp": int(min(logged, END - dt.timedelta(minutes=1)).timestamp() * 1000),
                               "message": json.dumps({"timestamp": f"{logged:%Y-%m-%dT%H:%M:%S.000000Z}",
                                                      "level": "INFO", "fields": fields,
                                                      "target": "shared::usecases::cost"})})
        # Findings, as both functions log them.
        for endpoint, (azs, _) in ENDPOINTS.items():
            fields = {"message": "finding", "finding_type": "SingleAzEndpoint" if azs == 1 else "NegativeSavings",
                      "resource": endpoint, "severity": "MEDIUM", "monthly_waste_usd": None if azs == 1 else 3.5,
                      "title": f"{endpoint} finding"}
            logged = START + dt.timedelta(minutes=70)
            events.append({"timestamp": int(logged.timestamp() * 1000),
                           "message": json.dumps({"timestamp": f"{logged:%Y-%m-%dT%H:%M:%S.000000Z}",
                                                  "level": "WARN", "fields": fields,
                                                  "target": "shared::usecases::findings"})})
        events.sort(key=lambda e: e["timestamp"])
        logs.put_log_events(logGroupName=group, logStreamName="2026/11/28/[$LATEST]0", logEvents=events)


# ---------------------------------------------------------------------------- reading the page

class Widgets(HTMLParser):
    """The widget sections of a page (their attributes) and its chart elements."""

    def __init__(self) -> None:
        super().__init__()
        self.widgets: list[dict[str, str]] = []
        self.charts: list[dict[str, str]] = []
        self.body: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if tag == "section" and "widget" in attributes.get("class", "").split():
            self.widgets.append(attributes)
        if "data-figure" in attributes:
            self.charts.append(attributes)
        if tag == "body":
            self.body = attributes


def parse(page: str) -> Widgets:
    parser = Widgets()
    parser.feed(page)
    return parser


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return screenshot.find_chromium()
    except screenshot.ChromiumMissing as exc:
        pytest.fail(str(exc))  # says: apt-get install chromium


# ---------------------------------------------------------------------------- tests

def test_the_shipped_dashboard_is_drawn_with_data_and_rendered_by_chromium(emulator_url, chromium, tmp_path):
    account = new_account()
    body = shipped_dashboard(NAMESPACE, {"Approver": "plgov-ConnectionApprover-1A2B3C",
                                         "Reporter": "plgov-CostReporter-4D5E6F",
                                         "ReporterLogGroup": "/aws/lambda/plgov-CostReporter-4D5E6F",
                                         "ApproverLogGroup": "/aws/lambda/plgov-ConnectionApprover-1A2B3C",
                                         "Queue": "plgov-DeadLetterQueue-7G8H9I"})
    widgets = json.loads(body)["widgets"]
    metrics = put_metrics(account, body)
    put_reporter_lines(account, body)
    # The widget kinds the template uses are all there (else this test would prove less).
    assert {(w["type"], w["properties"].get("view", "")) for w in widgets} >= {
        ("text", ""), ("metric", "singleValue"), ("metric", "timeSeries"), ("log", "table")}
    assert any("expression" in str(w["properties"].get("metrics")) for w in widgets)
    assert len(metrics) >= 10

    results = evaluate(body, START, END, client_for=lambda service, region=None: client_for(service, account))
    assert [(r.title, r.error) for r in results if r.error] == []
    for r in results:  # every metric the dashboard draws has data, not just some of each widget
        assert all(s.values for s in r.series), f"{r.title}: {[s.label for s in r.series if not s.values]}"
    [table] = [r for r in results if r.type == "log" and r.title.startswith("Per endpoint")]
    assert {row["fields.endpoint"] for row in table.rows} == set(ENDPOINTS)

    page = dashboard_page.render(body, results, "plgov-privatelink (local emulator)", start=START, end=END)
    drawn = parse(page)
    assert len(drawn.widgets) == len(widgets)
    assert [(w["data-title"], w["data-has-data"]) for w in drawn.widgets if w["data-has-data"] != "true"] == []
    # Same layout as the body: x, y, width, height on the 24-column grid.
    for widget, section in zip(widgets, drawn.widgets):
        assert section["style"] == (f"grid-column: {widget['x'] + 1} / span {widget['width']}; "
                                    f"grid-row: {widget['y'] + 1} / span {widget['height']};")
        assert section["data-type"] == widget["type"]
        assert section["data-title"] == widget["properties"].get("title", "")
    # Number widgets show numbers (the range's sums), not charts; time series are charts.
    numbers = [r for r in results if r.view == "singleValue"]
    assert numbers and all(dashboard_page.number(s.value) in page for r in numbers for s in r.series)
    charts = [r for r in results if r.type == "metric" and r.view != "singleValue"]
    assert len(drawn.charts) == len(charts) >= 3
    assert "<th" in page and "vpce-0a1b2c3d4e5f60718" in page  # the log widget's table
    # Offline: plotly.js is inline; nothing is loaded from elsewhere.
    assert re.search(r"<script[^>]+src=", page) is None and "plotly.js" in page.lower()

    path = tmp_path / "dashboard.html"
    path.write_text(page, encoding="utf-8")
    width, height = dashboard_page.page_size(body)
    dom = parse(screenshot.dump_dom(path, width, height))
    assert dom.body.get("data-render-error") is None, dom.body["data-render-error"]
    assert dom.body.get("data-rendered") == str(len(charts)), "not every plotly chart was drawn"
    for chart, result in zip(dom.charts, charts):
        assert chart.get("data-plotted") == "true", result.title
        # A bar, pie or gauge view draws one trace of all its series' values, a time series one each.
        traces = 1 if result.view in ("bar", "pie", "gauge") else len(result.series)
        assert int(chart.get("data-traces", 0)) >= traces, result.title
        assert "js-plotly-plot" in chart.get("class", ""), result.title

    png = screenshot.screenshot(path, tmp_path / "dashboard.png", width, height)
    assert png_size(png) == (width, height)
    assert png.stat().st_size > 40_000, "a blank page is a few kilobytes"
    if os.environ.get("PLGOV_DASHBOARD_PNG"):
        shutil.copyfile(png, os.environ["PLGOV_DASHBOARD_PNG"])


def test_widgets_without_data_or_with_errors_say_so():
    """data-has-data is false for an empty metric widget, an empty table and an error; the
    layout places widgets without x/y in the next free place (6 x 6 by default)."""
    account = new_account()
    logs = client_for("logs", account)
    logs.create_log_group(logGroupName="/plgov/page-empty")
    body = {"widgets": [
        {"type": "text", "x": 0, "y": 0, "width": 24, "height": 1, "properties": {"markdown": "# **Hi** <b>"}},
        {"type": "metric", "x": 0, "y": 1, "width": 12, "height": 6, "properties": {
            "title": "Nothing", "region": REGION, "metrics": [["PLGov/PageTest", "None"]]}},
        {"type": "metric", "properties": {"title": "No numbers", "view": "singleValue", "region": REGION,
                                          "metrics": [["PLGov/PageTest", "None"]]}},
        {"type": "log", "properties": {"title": "Empty", "region": REGION,
                                       "query": "SOURCE '/plgov/page-empty' | stats count(*) as n by x"}},
        {"type": "log", "properties": {"title": "Missing", "region": REGION,
                                       "query": "SOURCE '/plgov/page-none' | fields @message"}},
    ]}
    results = evaluate(body, START, END, client_for=lambda service, region=None: client_for(service, account))
    drawn = parse(dashboard_page.render(body, results, "empty"))
    assert [(w["data-title"], w["data-has-data"]) for w in drawn.widgets] == [
        ("", "true"), ("Nothing", "false"), ("No numbers", "false"), ("Empty", "false"), ("Missing", "false")]
    assert drawn.widgets[4]["data-error"].startswith("ResourceNotFoundException")
    assert [w["style"] for w in drawn.widgets[2:]] == [
        "grid-column: 13 / span 6; grid-row: 2 / span 6;", "grid-column: 19 / span 6; grid-row: 2 / span 6;",
        "grid-column: 1 / span 6; grid-row: 8 / span 6;"]
    page = dashboard_page.render(body, results, "empty")
    assert "<h1><strong>Hi</strong> &lt;b&gt;</h1>" in page  # markdown drawn, HTML in it escaped
    assert dashboard_page.page_size(body) == (dashboard_page.PAGE_WIDTH,
                                              dashboard_page.HEADER_HEIGHT + 13 * dashboard_page.ROW_HEIGHT
                                              + 2 * dashboard_page.GAP)
