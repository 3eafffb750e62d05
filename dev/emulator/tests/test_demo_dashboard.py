"""Every widget of the deployed dashboard proven with the demo's own data.

The demo's scenario (dev/demo.py's run_scenario: deploy, consumers, rules, the approver for a
notification, sweeps, a second service with a policy, a refused accept and an unreadable event,
an hour of traffic, a Resource endpoint the cost reporter has no price for, the cost reporter, the
day's first findings run) runs once against the emulator, in an account of its own. Then the
dashboard the stack deployed is read back with GetDashboard and every widget is evaluated over the scenario's time range as the console would (its metrics, SEARCH and metric
math expressions and Logs Insights queries): every metric a widget draws must have data, every
log table rows. Nothing here puts data for what the widgets query, so a metric renamed in
template.yaml (or a metric the functions stop publishing) leaves a widget empty and fails here,
in the evaluation and in the page Chromium draws.

The clock is the scenario's: it works in the current hour and the hour before, and the tests take
its start and end; nothing depends on the calendar date.

The functions and `plgov` are built by the scripts the demo runs (dev/local_deploy.py,
dev/invoke, cargo), or taken prebuilt from PLGOV_PREBUILT=DIR. Chromium as in
test_dashboard_page.py: the screenshot test fails, never skips, without it.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path
from typing import Iterator

import pytest

from conftest import URL
from plgov_emulator.dashboard import WidgetResult, evaluate
from test_dashboard_page import chromium, parse, png_size  # noqa: F401 - chromium is a fixture

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # dev/
import dashboard_page  # noqa: E402
import demo  # noqa: E402
import screenshot  # noqa: E402


@pytest.fixture(scope="module")
def scenario(emulator_url) -> Iterator[demo.Scenario]:
    """The demo's scenario, run once for the module against the emulator under test."""
    with pytest.MonkeyPatch.context() as patch:  # the demo's clients, and the scenario's, go there
        patch.setattr(demo, "URL", URL)
        yield demo.run_scenario(stack="plgov")


def deployed_body(scenario: demo.Scenario) -> str:
    return scenario.client("cloudwatch").get_dashboard(DashboardName=scenario.dashboard)["DashboardBody"]


def described(result: WidgetResult, series_id: str) -> str:
    """A series as the failure message names it: the metric and its dimensions, or the expression."""
    query = {q["Id"]: q for qs in result.queries.values() for q in qs}.get(series_id, {})
    if "MetricStat" in query:
        metric = query["MetricStat"]["Metric"]
        dims = ", ".join(f"{d['Name']}={d['Value']}" for d in metric.get("Dimensions", []))
        return f"{metric['Namespace']} {metric['MetricName']}" + (f" ({dims})" if dims else "")
    return query.get("Expression", series_id)


def empty(results: list[WidgetResult]) -> list[str]:
    """Each widget, or metric of a widget, that shows no data."""
    out = []
    for r in results:
        if r.type == "metric":
            if not r.series:
                out.append(f"{r.title!r}: no series at all")
            out += [f"{r.title!r}: {described(r, s.id)}" for s in r.series if not s.values]
        elif r.type == "log" and not r.rows:
            out.append(f"{r.title!r}: no rows")
    return out


def test_every_widget_of_the_deployed_dashboard_shows_the_scenarios_data(scenario):
    body = deployed_body(scenario)
    results = evaluate(body, scenario.start, scenario.end, client_for=scenario.client)
    assert [(r.title, r.error) for r in results if r.error] == []
    # The widget kinds this proves: metrics, metric math, SEARCH and Logs Insights queries.
    queried = [q for r in results for qs in r.queries.values() for q in qs]
    assert any("MetricStat" in q for q in queried)
    assert any("SEARCH(" in q.get("Expression", "") for q in queried)
    assert any("Expression" in q and "SEARCH(" not in q["Expression"] for q in queried)
    assert any(r.type == "log" for r in results)
    shown = empty(results)
    assert shown == [], "widgets without data in the demo's scenario:\n  " + "\n  ".join(shown)


def test_the_deployed_dashboard_drawn_from_the_scenario_shows_every_widget_in_chromium(scenario, chromium,
                                                                                      tmp_path):
    body = deployed_body(scenario)
    page, results = dashboard_page.write_page(body, scenario.start, scenario.end, scenario.client,
                                              title=f"{scenario.dashboard} (demo scenario)",
                                              out=tmp_path / "dashboard.html")
    width, height = dashboard_page.page_size(body)
    dom_text = screenshot.dump_dom(page, width, height)
    dom = parse(dom_text)
    assert dom.body.get("data-render-error") is None, dom.body["data-render-error"]
    charts = [r for r in results if r.type == "metric" and r.view != "singleValue"]
    assert dom.body.get("data-rendered") == str(len(charts)), "not every plotly chart was drawn"
    assert len(dom.widgets) == len(results)
    # Every widget drew data (a chart at least one point, a number, a table a row).
    missing = [f"{w['data-title']!r}: drawn without data {w['data-error']}".rstrip() for w in dom.widgets
               if w["data-has-data"] != "true"]
    # A time series draws one trace per series with data (plotly draws none for an empty one).
    for chart, result in zip(dom.charts, charts):
        assert chart.get("data-plotted") == "true", result.title
        if result.view in ("bar", "pie", "gauge"):  # one trace of all the series' latest values
            missing += [f"{result.title!r}: {described(result, s.id)}" for s in result.series if s.value is None]
            continue
        drawn = int(chart.get("data-traces", 0))
        if drawn < len(result.series):
            missing.append(f"{result.title!r}: {drawn} of {len(result.series)} series drawn "
                           f"(empty: {[described(result, s.id) for s in result.series if not s.values]})")
    # A number widget shows a number for every label ("--" for none).
    for section in re.findall(r'<section [^>]*data-view="singleValue"[^>]*>.*?</section>', dom_text, re.S):
        title = html.unescape(re.search(r'data-title="([^"]*)"', section).group(1))
        missing += [f"{title!r}: {html.unescape(label)} shows --" for label, value in
                    re.findall(r'<div class="number" data-label="([^"]*)">.*?<div class="value">([^<]*)</div>',
                               section, re.S) if value == "--"]
    assert missing == [], "widgets or series drawn without data:\n  " + "\n  ".join(missing)

    png = screenshot.screenshot(page, tmp_path / "dashboard.png", width, height)
    assert png_size(png) == (width, height)
    assert png.stat().st_size > 40_000, "a blank page is a few kilobytes"
