"""Evaluates a CloudWatch dashboard body against the emulator, as the CloudWatch console would.

A library for tests and dev scripts (it runs in the caller's process, with boto3 clients; it
patches nothing): `evaluate(body, start, end, client_for=...)` returns, per widget, what the
console would draw, so a test can check the dashboard shipped in template.yaml against data it
put. Sources: CloudWatch API Reference, "Dashboard Body Structure and Syntax" and
"GetMetricWidgetImage: Metric Widget Structure and Syntax"; the CDK's SingleValueWidget
("displays the most recent value for every metric"; setPeriodToTimeRange: "show the value
from the entire time range").

Metric widgets. Each entry of `metrics` is one row:

- `[Namespace, MetricName, DimName, DimValue, ..., {options}]`, a metric. `"."` in a
  position takes the element at that position of the previous metric row; `"..."` stands for
  the previous metric row's elements from its position up to as many as the elements after it
  leave (so `["AWS/Lambda", "Errors", "FunctionName", "a"], ["...", "b"]` is the second
  function's Errors). Both look at the previous metric row, expressions skipped (expanded,
  without its options). Options: `id`, `label`, `stat`, `period`, `visible`, `yAxis`,
  `region`, `color` (the last two for drawing only, `region` below).
- `[{"expression": "...", "id": ..., "label": ..., "visible": ...}]`, metric math or SEARCH.

Each row becomes one GetMetricData query: Id (the row's `id`, else `m<N>` for a metric and
`e<N>` for an expression, N its 1-based position in the array: the emulator's naming, unique
in the widget), Label (the row's `label`, if any; otherwise GetMetricData's own label is
shown), Stat (row, else widget `stat`, else Average), Period (row, else widget `period`, else
300; an expression gets the widget's, which a SEARCH without its own period uses), and
ReturnData false for `visible: false` rows (computed for the expressions that use them, not
drawn). `setPeriodToTimeRange: true` makes the period the whole time range (rounded up to a
minute), for every row. Rows whose `region` differs from the widget's (`region`, else the
client's) are fetched from that region in a call of their own. The queries run in one
GetMetricData call per region from `start` to `end` (NextToken pages followed).

The result per widget: its title, view (`timeSeries` when absent) and series in the order of
the array (a SEARCH gives one series per metric found, by label), each with label, id,
timestamps and values (ascending), and `value`: the most recent data point's value, which is
the number a `singleValue` widget shows (and a `bar`/`pie`/`gauge` widget's bar or slice);
with `setPeriodToTimeRange` that is the single data point covering the whole range, i.e. the
statistic over the range. Hidden rows are not in `series`.

Log widgets: `query` is `SOURCE 'group' | SOURCE 'other' | <Logs Insights query>`; the
groups are given to StartQuery (logGroupNames) with the rest of the query, over `start` to
`end` in whole seconds, and GetQueryResults is polled until the query ends. `rows` are the
result rows as {field: value} (without @ptr). Text widgets return their markdown.

Errors: a widget whose metrics array cannot be expanded, whose call fails (the ClientError's
code and message), whose query does not complete, or whose type the evaluator does not know
(alarm, explorer, ...) gets `error` set and no data; the other widgets are still evaluated.
Not modelled: dashboard variables, `periodOverride: auto` (periods are always the widget's),
the console's rounding of the time range, `accountId` (cross-account: an error), alarm
annotations, labels the console would make unique, and Metrics Insights (SELECT) queries
(the emulator refuses them).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

DEFAULT_STAT = "Average"
DEFAULT_PERIOD = 300
DEFAULT_RANGE = "-PT3H"  # the console's default time range
_RELATIVE = re.compile(r"^-P(?:(\d+)W)?(?:(\d+)D)?(?:(\d+)M)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_SOURCE = re.compile(r"\s*SOURCE\s+(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")\s*\|")


class DashboardError(ValueError):
    """A dashboard body, widget or metrics array the evaluator cannot read."""


@dataclass
class Series:
    id: str
    label: str
    timestamps: list[dt.datetime]
    values: list[float]

    @property
    def value(self) -> float | None:
        """The most recent data point's value: what a number widget shows."""
        return self.values[-1] if self.values else None


@dataclass
class WidgetResult:
    index: int
    type: str
    title: str | None = None
    view: str | None = None
    series: list[Series] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    text: str | None = None
    error: str | None = None
    queries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # region -> queries sent

    def values(self) -> dict[str, float | None]:
        """Label -> the number the console shows for it (the latest value)."""
        return {s.label: s.value for s in self.series}


@dataclass
class Row:
    """One entry of a metrics array, shorthand expanded."""

    position: int  # 1-based
    options: dict[str, Any]
    elements: list[str] | None = None  # namespace, name, dim name, dim value, ...
    expression: str | None = None


# ---------------------------------------------------------------------------- time range

def parse_time(value: str, now: dt.datetime) -> dt.datetime:
    """An absolute ISO 8601 time, or a relative one (-PT3H, -P7D, -P2W, -P1M = 30 days)."""
    match = _RELATIVE.match(value.strip())
    if match and any(match.groups()):
        weeks, days, months, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return now - dt.timedelta(weeks=weeks, days=days + 30 * months, hours=hours, minutes=minutes,
                                  seconds=seconds)
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DashboardError(f"cannot read the time {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def time_range(body: dict[str, Any], start: dt.datetime | None, end: dt.datetime | None,
               now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    now = now or dt.datetime.now(dt.timezone.utc)
    if end is None:
        end = parse_time(body["end"], now) if body.get("end") else now
    if start is None:
        start = parse_time(body.get("start") or DEFAULT_RANGE, end if body.get("end") else now)
    return start, end


# ---------------------------------------------------------------------------- metrics arrays

def expand_metrics(metrics: Any) -> list[Row]:
    """The rows of a widget's metrics array, with "." and "..." replaced."""
    if not isinstance(metrics, list):
        raise DashboardError("`metrics` must be an array of arrays")
    if metrics and not isinstance(metrics[0], list):
        metrics = [metrics]  # a single metric given flat, as in some of AWS's examples
    rows: list[Row] = []
    previous: list[str] | None = None
    for position, entry in enumerate(metrics, start=1):
        if not isinstance(entry, list) or not entry:
            raise DashboardError(f"metrics row {position} must be a non-empty array")
        options: dict[str, Any] = {}
        items = list(entry)
        if isinstance(items[-1], dict):
            options = dict(items.pop())
        if any(not isinstance(item, str) for item in items):
            raise DashboardError(f"metrics row {position}: only its last element may be an options object")
        if not items:
            if "expression" not in options:
                raise DashboardError(f"metrics row {position} has neither a metric nor an expression")
            rows.append(Row(position, options, expression=str(options["expression"])))
            continue
        if "expression" in options:
            raise DashboardError(f"metrics row {position} has both a metric and an expression")
        elements = _expand(items, previous, position)
        if len(elements) < 2 or len(elements) % 2:
            raise DashboardError(f"metrics row {position} must be namespace, metric name and dimension "
                                 f"name/value pairs, not {elements}")
        rows.append(Row(position, options, elements=elements))
        previous = elements
    return rows


def _expand(items: list[str], previous: list[str] | None, position: int) -> list[str]:
    if "..." in items:
        if items.count("...") > 1:
            raise DashboardError(f"metrics row {position} has more than one \"...\"")
        if previous is None:
            raise DashboardError(f"metrics row {position} uses \"...\" with no metric before it")
        at = items.index("...")
        after = len(items) - at - 1
        taken = previous[at:len(previous) - after]
        if len(previous) - after < at:
            raise DashboardError(f"metrics row {position}: \"...\" has nothing to stand for "
                                 f"(the previous metric has {len(previous)} elements)")
        items = items[:at] + taken + items[at + 1:]
    out = []
    for i, item in enumerate(items):
        if item == ".":
            if previous is None or i >= len(previous):
                raise DashboardError(f"metrics row {position}: \".\" at position {i + 1} has no element of a "
                                     "previous metric to repeat")
            item = previous[i]
        out.append(item)
    return out


def _period_of_range(start: dt.datetime, end: dt.datetime) -> int:
    seconds = (end - start).total_seconds()
    return max(60, int(math.ceil(seconds / 60)) * 60)


def metric_queries(properties: dict[str, Any], start: dt.datetime, end: dt.datetime,
                   default_region: str | None) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """GetMetricData queries per region for a metric widget, and the ids drawn, in order."""
    if properties.get("accountId"):
        raise DashboardError("cross-account widgets (accountId) are not supported by the evaluator")
    rows = expand_metrics(properties.get("metrics") or [])
    widget_region = properties.get("region") or default_region
    whole_range = bool(properties.get("setPeriodToTimeRange"))
    range_period = _period_of_range(start, end)
    widget_period = int(properties.get("period") or DEFAULT_PERIOD)
    widget_stat = properties.get("stat") or DEFAULT_STAT
    used = {str(r.options["id"]) for r in rows if r.options.get("id")}
    by_region: dict[str, list[dict[str, Any]]] = {}
    drawn: list[str] = []
    for row in rows:
        options = row.options
        if options.get("accountId"):
            raise DashboardError(f"metrics row {row.position}: accountId (cross-account) is not supported")
        query_id = str(options["id"]) if options.get("id") else None
        if query_id is None:
            query_id = f"{'e' if row.expression is not None else 'm'}{row.position}"
            while query_id in used:
                query_id += "_"
            used.add(query_id)
        query: dict[str, Any] = {"Id": query_id, "ReturnData": options.get("visible", True) is not False}
        if options.get("label") is not None:
            query["Label"] = str(options["label"])
        if row.expression is not None:
            query["Expression"] = row.expression
            query["Period"] = range_period if whole_range else widget_period
            region = widget_region
        else:
            assert row.elements is not None
            namespace, name, rest = row.elements[0], row.elements[1], row.elements[2:]
            dimensions = [{"Name": rest[i], "Value": rest[i + 1]} for i in range(0, len(rest), 2)]
            period = range_period if whole_range else int(options.get("period") or widget_period)
            query["MetricStat"] = {"Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions},
                                   "Period": period, "Stat": options.get("stat") or widget_stat}
            region = options.get("region") or widget_region
        by_region.setdefault(region, []).append(query)
        if query["ReturnData"]:
            drawn.append(query_id)
    return by_region, drawn


# ---------------------------------------------------------------------------- evaluation

ClientFor = Callable[[str, str | None], Any]


def _clients(cloudwatch: Any, logs: Any, client_for: ClientFor | None) -> ClientFor:
    def get(service: str, region: str | None) -> Any:
        given = cloudwatch if service == "cloudwatch" else logs
        if given is not None and (region is None or given.meta.region_name == region):
            return given
        if client_for is not None:
            return client_for(service, region)
        raise DashboardError(f"no {service} client for region {region} (give evaluate() a client_for)")

    return get


def _error_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code')}: {error.get('Message')}"
    return f"{type(exc).__name__}: {exc}"


def _metric_widget(result: WidgetResult, properties: dict[str, Any], start: dt.datetime, end: dt.datetime,
                   clients: ClientFor, default_region: str | None) -> None:
    by_region, drawn = metric_queries(properties, start, end, default_region)
    result.queries = by_region
    found: dict[str, list[Series]] = {}
    for region, queries in by_region.items():
        cloudwatch = clients("cloudwatch", region)
        token = None
        while True:
            kwargs: dict[str, Any] = {"NextToken": token} if token else {}
            out = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end,
                                             ScanBy="TimestampAscending", **kwargs)
            for item in out["MetricDataResults"]:
                if item.get("StatusCode") not in (None, "Complete", "PartialData"):
                    raise DashboardError(f"query {item['Id']} ended {item['StatusCode']}: "
                                         f"{item.get('Messages') or ''}")
                series = found.setdefault(item["Id"], [])
                points = sorted(zip(item["Timestamps"], item["Values"]))
                label = item.get("Label") or item["Id"]
                existing = next((s for s in series if s.label == label), None) if token else None
                if existing is None:
                    series.append(Series(item["Id"], label, [t for t, _ in points], [float(v) for _, v in points]))
                else:  # a later page of the same series
                    merged = sorted(list(zip(existing.timestamps, existing.values)) + points)
                    existing.timestamps = [t for t, _ in merged]
                    existing.values = [float(v) for _, v in merged]
            token = out.get("NextToken")
            if not token:
                break
    result.series = [s for query_id in drawn for s in found.get(query_id, [])]


def _log_query(text: str) -> tuple[list[str], str]:
    groups, rest = [], text
    while True:
        match = _SOURCE.match(rest)
        if not match:
            break
        name = match.group(1) if match.group(1) is not None else match.group(2)
        groups.append(re.sub(r"\\(.)", r"\1", name))
        rest = rest[match.end():]
    if not groups:
        raise DashboardError("a log widget's query must start with SOURCE 'log-group' |")
    return groups, rest.strip()


def _log_widget(result: WidgetResult, properties: dict[str, Any], start: dt.datetime, end: dt.datetime,
                clients: ClientFor, default_region: str | None, timeout: float) -> None:
    if properties.get("accountId"):
        raise DashboardError("cross-account log widgets (accountId) are not supported by the evaluator")
    groups, query = _log_query(str(properties.get("query") or ""))
    logs = clients("logs", properties.get("region") or default_region)
    query_id = logs.start_query(logGroupNames=groups, startTime=int(start.timestamp()),
                                endTime=int(end.timestamp()), queryString=query)["queryId"]
    deadline = time.monotonic() + timeout
    while True:
        out = logs.get_query_results(queryId=query_id)
        if out["status"] not in ("Scheduled", "Running"):
            break
        if time.monotonic() > deadline:
            raise DashboardError(f"the query did not finish in {timeout} s (status {out['status']})")
        time.sleep(0.2)
    if out["status"] != "Complete":
        raise DashboardError(f"the query ended {out['status']}")
    result.rows = [{f["field"]: f["value"] for f in row if f["field"] != "@ptr"} for row in out["results"]]


def evaluate(body: str | dict[str, Any], start: dt.datetime | None = None, end: dt.datetime | None = None, *,
             cloudwatch: Any = None, logs: Any = None, client_for: ClientFor | None = None,
             region: str | None = None, query_timeout: float = 30.0) -> list[WidgetResult]:
    """Every widget of the dashboard, evaluated over [start, end] (by default the body's own
    `start`/`end`, else the last three hours). Clients: `cloudwatch` and `logs` for their own
    region, and/or `client_for(service, region)` for any region. `region` is the default for
    widgets without one (else the given client's)."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise DashboardError(f"the dashboard body is not JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("widgets"), list):
        raise DashboardError("a dashboard body is an object with a `widgets` array")
    start, end = time_range(body, start, end)
    clients = _clients(cloudwatch, logs, client_for)
    default_region = region or (cloudwatch.meta.region_name if cloudwatch is not None else None) or \
        (logs.meta.region_name if logs is not None else None)
    results = []
    for index, widget in enumerate(body["widgets"]):
        kind = widget.get("type") if isinstance(widget, dict) else None
        properties = (widget.get("properties") or {}) if isinstance(widget, dict) else {}
        result = WidgetResult(index, str(kind), title=properties.get("title"))
        try:
            widget_start = parse_time(properties["start"], end) if properties.get("start") else start
            widget_end = parse_time(properties["end"], end) if properties.get("end") else end
            if kind == "metric":
                result.view = properties.get("view") or "timeSeries"
                _metric_widget(result, properties, widget_start, widget_end, clients, default_region)
            elif kind == "log":
                result.view = properties.get("view") or "table"
                _log_widget(result, properties, widget_start, widget_end, clients, default_region, query_timeout)
            elif kind == "text":
                result.text = properties.get("markdown")
            else:
                raise DashboardError(f"widgets of type {kind!r} are not evaluated")
        except Exception as exc:  # noqa: BLE001 - reported on the widget, never silenced
            result.error = _error_text(exc)
        results.append(result)
    return results
