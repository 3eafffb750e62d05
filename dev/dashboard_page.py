"""The stack's CloudWatch dashboard as one local HTML page, drawn from the emulator's data.

    python dev/dashboard_page.py --stack plgov [--account ID] [--start ISO --end ISO]
                                 [--out dev/.run/dashboard.html] [--png PATH]
    make dashboard [STACK_NAME=plgov] [ACCOUNT=ID]   (the page and a PNG, under dev/.run/)

Reads the deployed dashboard (the stack's DashboardName output) from the emulator at
AWS_ENDPOINT_URL, evaluates every widget over the range (default: the last three hours) with
the emulator's dashboard evaluator (dev/emulator/plgov_emulator/dashboard.py: the same
GetMetricData and Logs Insights calls the console makes), writes one self-contained page and
prints its path. The credentials of the environment choose the account; --account assumes a
role into another one (as dev/demo.py does, which deploys into an account of its own).
--png also takes a screenshot of the page with headless Chromium (dev/screenshot.py).

The page keeps the dashboard's layout: each widget at its x, y, width and height on
CloudWatch's 24-column grid (a widget without x/y goes to the next free place, 6 x 6 by
default, as the Dashboard Body Structure documents). Metric widgets are drawn with plotly
(plotly.js is embedded, so the page works offline): time series as lines (stacked areas for
`stacked: true`), `singleValue` as numbers (the latest value, which with
setPeriodToTimeRange is the statistic over the range), `bar`, `pie` and `gauge` from the
latest values. Log widgets are tables of the query's rows, text widgets their markdown. A
widget the evaluator could not evaluate shows its error.

For tests, each widget element carries data-has-data="true"|"false" (a metric widget with at
least one data point, a log widget with at least one row, a text widget with text; never one
with an error) and data-error; each chart element data-plotted="true" and data-traces (the
traces plotly drew) once plotly has drawn it, and the body data-rendered="<number of charts>"
once all of them are drawn (data-render-error if plotly failed).

A mistake (no stack, no credentials, the emulator down, a bad --start) is told in a sentence or
two (dev/errors.py); -v adds the traceback and AWS's answer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "dev" / "emulator"))
sys.path.insert(0, str(ROOT / "dev"))

import plotly.graph_objects as go  # noqa: E402
import plotly.io as pio  # noqa: E402
import plotly.offline  # noqa: E402

import errors  # noqa: E402
from plgov_emulator.dashboard import WidgetResult, evaluate, parse_time  # noqa: E402

DEFAULT_OUT = ROOT / "dev" / ".run" / "dashboard.html"
DEFAULT_HOURS = 3
COLUMNS = 24
PAGE_WIDTH = 1440  # pixels the screenshot is taken at
ROW_HEIGHT = 44  # pixels per grid unit of height
GAP = 8
HEADER_HEIGHT = 78
DEFAULT_SIZE = 6  # a widget's default width and height (Dashboard Body Structure)


# ---------------------------------------------------------------------------- layout

def layout(widgets: list[dict[str, Any]]) -> list[tuple[int, int, int, int]]:
    """(x, y, width, height) of every widget. Given positions are kept (x clamped so the widget
    fits the 24 columns); a widget without x and y goes to the next free place, scanning rows
    top to bottom and columns left to right, after the widgets placed before it."""
    taken: set[tuple[int, int]] = set()
    placed: list[tuple[int, int, int, int]] = []
    pending: list[int] = []
    for index, widget in enumerate(widgets):
        w = max(1, min(COLUMNS, int(widget.get("width") or DEFAULT_SIZE)))
        h = max(1, int(widget.get("height") or DEFAULT_SIZE))
        if widget.get("x") is not None and widget.get("y") is not None:
            x = max(0, min(COLUMNS - w, int(widget["x"])))
            y = max(0, int(widget["y"]))
            taken.update((x + i, y + j) for i in range(w) for j in range(h))
            placed.append((x, y, w, h))
        else:
            placed.append((-1, -1, w, h))
            pending.append(index)
    for index in pending:
        _, _, w, h = placed[index]
        y = 0
        while True:
            spot = next((x for x in range(COLUMNS - w + 1)
                         if not any((x + i, y + j) in taken for i in range(w) for j in range(h))), None)
            if spot is not None:
                break
            y += 1
        taken.update((spot + i, y + j) for i in range(w) for j in range(h))
        placed[index] = (spot, y, w, h)
    return placed


def page_size(body: str | dict[str, Any]) -> tuple[int, int]:
    """The window size (width, height) in pixels that shows the whole page."""
    widgets = _body(body)["widgets"]
    rows = max((y + h for _, y, _, h in layout(widgets)), default=1)
    return PAGE_WIDTH, HEADER_HEIGHT + rows * ROW_HEIGHT + 2 * GAP


# ---------------------------------------------------------------------------- widgets

def _body(body: str | dict[str, Any]) -> dict[str, Any]:
    return json.loads(body) if isinstance(body, str) else body


def _naive_utc(t: dt.datetime) -> str:
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return t.isoformat(timespec="seconds")


def number(value: float | None) -> str:
    """A number as a number widget shows it: thousands separated, at most 4 significant
    digits after the point for small values, "--" for none."""
    if value is None:
        return "--"
    if float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.2f}"
    text = f"{value:.4g}"
    return text if "e" not in text else f"{value:.2e}"


def has_data(result: WidgetResult) -> bool:
    if result.error:
        return False
    if result.type == "metric":
        return any(s.values for s in result.series)
    if result.type == "log":
        return bool(result.rows)
    if result.type == "text":
        return bool((result.text or "").strip())
    return False


def _axis(properties: dict[str, Any], side: str = "left") -> dict[str, Any]:
    axis = ((properties.get("yAxis") or {}).get(side) or {})
    out: dict[str, Any] = {"rangemode": "tozero"}
    if axis.get("label"):
        out["title"] = {"text": str(axis["label"])}
    if axis.get("min") is not None or axis.get("max") is not None:
        out["range"] = [axis.get("min"), axis.get("max")]
        out.pop("rangemode")
    return out


def _figure_layout(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    position = ((properties.get("legend") or {}).get("position") or "bottom")
    legend: dict[str, Any] = {"orientation": "h", "x": 0, "y": -0.18, "yanchor": "top", "font": {"size": 11}}
    if position == "right":
        legend = {"orientation": "v", "x": 1.02, "y": 1, "font": {"size": 11}}
    return {"template": "plotly_white", "autosize": True, "margin": {"l": 48, "r": 12, "t": 6, "b": 6},
            "showlegend": position != "hidden", "legend": legend, "font": {"size": 11},
            "hovermode": "x unified", **extra}


def metric_figure(result: WidgetResult, properties: dict[str, Any], start: dt.datetime | None,
                  end: dt.datetime | None) -> go.Figure | None:
    """The plotly figure of a metric widget, or None for a number widget (drawn in HTML)."""
    view = result.view or "timeSeries"
    if view == "singleValue":
        return None
    if view in ("bar", "pie", "gauge"):
        labels = _labels(result)
        values = [s.value for s in result.series]
        if view == "bar":
            figure = go.Figure(go.Bar(x=labels, y=values, marker={"color": _palette(len(labels))}),
                               layout=_figure_layout(properties, showlegend=False, hovermode="closest",
                                                     yaxis=_axis(properties)))
        elif view == "pie":
            figure = go.Figure(go.Pie(labels=labels, values=values, sort=False, hole=0.0),
                               layout=_figure_layout(properties, hovermode="closest"))
        else:
            axis = ((properties.get("yAxis") or {}).get("left") or {})
            figure = go.Figure(layout=_figure_layout(properties, hovermode="closest"))
            count = max(1, len(result.series))
            for i, s in enumerate(result.series):
                figure.add_trace(go.Indicator(
                    mode="gauge+number", value=s.value, title={"text": labels[i], "font": {"size": 12}},
                    gauge={"axis": {"range": [axis.get("min", 0), axis.get("max", 100)]}},
                    domain={"x": [i / count, (i + 1) / count - 0.02], "y": [0, 1]}))
        return figure
    stacked = bool(properties.get("stacked"))
    # Times of day on the axis, dates once the ticks are a day or more apart (UTC).
    xaxis: dict[str, Any] = {"type": "date", "title": {"text": ""}, "tickformatstops": [
        {"dtickrange": [None, 86400000], "value": "%H:%M"}, {"dtickrange": [86400000, None], "value": "%b %d"}]}
    if start is not None and end is not None:
        xaxis["range"] = [_naive_utc(start), _naive_utc(end)]
    figure = go.Figure(layout=_figure_layout(properties, xaxis=xaxis, yaxis=_axis(properties)))
    for s, label in zip(result.series, _labels(result)):
        trace: dict[str, Any] = {"x": [_naive_utc(t) for t in s.timestamps], "y": s.values, "name": label,
                                 "mode": "lines+markers" if len(s.values) < 30 else "lines",
                                 "marker": {"size": 5}, "line": {"width": 2}, "showlegend": True}
        if stacked:
            trace["stackgroup"] = "stack"
        figure.add_trace(go.Scatter(**trace))
    for line in ((properties.get("annotations") or {}).get("horizontal") or []):
        if isinstance(line, dict) and line.get("value") is not None:
            figure.add_hline(y=float(line["value"]), line={"dash": "dash", "color": line.get("color") or "#d62728"},
                             annotation_text=str(line.get("label") or ""), annotation_position="top left")
    return figure


def _labels(result: WidgetResult) -> list[str]:
    """The series' labels; a label that two series share (two metrics of one name, no label
    given) gets the metric's dimension values after it, so the legend tells them apart."""
    queries = {q["Id"]: q for qs in result.queries.values() for q in qs}
    labels = [s.label for s in result.series]
    out = []
    for s in result.series:
        metric = queries.get(s.id, {}).get("MetricStat", {}).get("Metric", {})
        dims = [d["Value"] for d in metric.get("Dimensions", [])]
        out.append(f"{s.label} ({', '.join(dims)})" if labels.count(s.label) > 1 and dims else s.label)
    return out


def _palette(n: int) -> list[str]:
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    return [colors[i % len(colors)] for i in range(n)]


def _numbers(result: WidgetResult) -> str:
    cells = []
    for s, label in zip(result.series, _labels(result)):
        cells.append(f'<div class="number" data-label="{html.escape(label)}">'
                     f'<div class="label">{html.escape(label)}</div>'
                     f'<div class="value">{html.escape(number(s.value))}</div></div>')
    if not cells:
        return '<div class="empty">No data available.</div>'
    return f'<div class="numbers">{"".join(cells)}</div>'


def _table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return '<div class="empty">No data found.</div>'
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    numeric = {c for c in columns if all(_is_number(r.get(c)) for r in rows if r.get(c) not in (None, ""))}
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{html.escape(c)}</th>' for c in columns)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"num" if c in numeric else ""}">{html.escape(str(r.get(c, "")))}</td>'
                         for c in columns) + "</tr>" for r in rows)
    return f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


# ---------------------------------------------------------------------------- markdown (text widgets)

_INLINE = [
    (re.compile(r"`([^`]+)`"), lambda m: f"<code>{m.group(1)}</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), lambda m: f"<strong>{m.group(1)}</strong>"),
    (re.compile(r"(?<![*\w])\*([^*]+)\*(?![*\w])"), lambda m: f"<em>{m.group(1)}</em>"),
    (re.compile(r"\[([^\]]+)\]\(((?:https?://|#)[^)\s]+)\)"),
     lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>'),
]


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    for pattern, replace in _INLINE:
        out = pattern.sub(replace, out)
    return out


def markdown(text: str) -> str:
    """The markdown a text widget uses, as HTML: headings, paragraphs, bullet and numbered lists,
    **bold**, *emphasis*, `code` and [links](https://...); everything else as escaped text."""
    blocks: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    ordered = False

    def flush() -> None:
        nonlocal items
        if paragraph:
            blocks.append("<p>" + "<br>".join(_inline(line) for line in paragraph) + "</p>")
            paragraph.clear()
        if items:
            tag = "ol" if ordered else "ul"
            blocks.append(f"<{tag}>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + f"</{tag}>")
            items = []

    for line in text.splitlines():
        stripped = line.strip()
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        bullet = re.match(r"^[-*+]\s+(.*)$", stripped)
        numbered = re.match(r"^\d+[.)]\s+(.*)$", stripped)
        if not stripped:
            flush()
        elif heading:
            flush()
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif bullet or numbered:
            if paragraph or (items and ordered != bool(numbered)):
                flush()
            ordered = bool(numbered)
            items.append((bullet or numbered).group(1))
        else:
            if items:
                flush()
            paragraph.append(stripped)
    flush()
    return "".join(blocks)


# ---------------------------------------------------------------------------- the page

_STYLE = f"""
* {{ box-sizing: border-box; }}
body {{ margin: 0; padding: {GAP}px; font-family: "Amazon Ember", "Helvetica Neue", Roboto, Arial, sans-serif;
  font-size: 13px; color: #16191f; background: #f2f3f3; }}
header {{ height: {HEADER_HEIGHT - GAP}px; padding: 6px 8px; }}
header h1 {{ margin: 0 0 4px; font-size: 20px; font-weight: 600; }}
header .range {{ color: #545b64; }}
.grid {{ display: grid; grid-template-columns: repeat({COLUMNS}, minmax(0, 1fr));
  grid-auto-rows: {ROW_HEIGHT - GAP}px; gap: {GAP}px; }}
.widget {{ background: #fff; border: 1px solid #d5dbdb; border-radius: 2px; display: flex;
  flex-direction: column; min-width: 0; min-height: 0; overflow: hidden; }}
.widget.text.transparent {{ background: transparent; border: none; }}
.widget h2 {{ margin: 0; padding: 8px 10px 4px; font-size: 14px; font-weight: 600; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; flex: none; }}
.widget .content {{ flex: 1; min-height: 0; position: relative; padding: 0 8px 6px; }}
.chart {{ position: absolute; inset: 0 8px 6px 8px; }}
.widget .modebar-container {{ opacity: 0; transition: opacity .2s; }}
.widget:hover .modebar-container {{ opacity: 1; }}
.numbers {{ display: flex; flex-wrap: wrap; gap: 8px 28px; padding: 10px 6px; }}
.number .label {{ color: #545b64; font-size: 13px; }}
.number .value {{ font-size: 32px; font-weight: 300; line-height: 1.25; }}
.table {{ overflow: auto; height: 100%; }}
table {{ border-collapse: collapse; width: 100%; font-size: 12px; }}
th, td {{ text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeded; white-space: nowrap; }}
th {{ position: sticky; top: 0; background: #fafafa; font-weight: 600; }}
td.num, th.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.markdown {{ padding: 0 10px; overflow: auto; height: 100%; }}
.markdown h1, .markdown h2, .markdown h3 {{ margin: 6px 0; font-size: 18px; padding: 0; white-space: normal; }}
.markdown p {{ margin: 4px 0; }}
.empty {{ color: #687078; padding: 20px 6px; text-align: center; }}
.error {{ color: #d13212; padding: 10px 6px; white-space: pre-wrap; }}
"""

_SCRIPT = """
(function () {
  var charts = Array.prototype.slice.call(document.querySelectorAll('[data-figure]'));
  Promise.all(charts.map(function (el) {
    var figure = JSON.parse(document.getElementById(el.dataset.figure).textContent);
    var config = {displaylogo: false, responsive: true, displayModeBar: 'hover'};
    return Plotly.newPlot(el, figure.data, figure.layout, config)
      .then(function (gd) {
        el.dataset.traces = String(gd.querySelectorAll('.trace').length);
        el.dataset.plotted = 'true';
      });
  })).then(function () {
    document.body.dataset.rendered = String(charts.length);
  }, function (error) {
    document.body.dataset.renderError = String(error);
  });
})();
"""


def _script_json(value: str) -> str:
    """JSON to put inside a <script> element: no "</" can close it."""
    return value.replace("</", "<\\/").replace("<!--", "<\\!--")


def render(body: str | dict[str, Any], results: Iterable[WidgetResult], title: str, *,
           start: dt.datetime | None = None, end: dt.datetime | None = None) -> str:
    """One self-contained HTML page: the dashboard `body`'s widgets in its layout, each drawn
    from its result of plgov_emulator.dashboard.evaluate (matched by widget index). `start`
    and `end` (the range evaluated) are shown in the header and bound the time axes."""
    widgets = _body(body)["widgets"]
    by_index = {r.index: r for r in results}
    places = layout(widgets)
    sections: list[str] = []
    figures: list[str] = []
    for index, widget in enumerate(widgets):
        properties = (widget.get("properties") or {}) if isinstance(widget, dict) else {}
        kind = str(widget.get("type")) if isinstance(widget, dict) else "unknown"
        result = by_index.get(index) or WidgetResult(index, kind, title=properties.get("title"),
                                                     error="not evaluated")
        x, y, w, h = places[index]
        classes = ["widget", kind]
        if kind == "text" and properties.get("background") == "transparent":
            classes.append("transparent")
        title_text = result.title or properties.get("title")
        if not title_text and kind == "metric" and result.series:
            title_text = result.series[0].label
        heading = f'<h2 title="{html.escape(title_text)}">{html.escape(title_text)}</h2>' if title_text else ""
        if result.error:
            content = f'<div class="error">{html.escape(result.error)}</div>'
        elif kind == "text":
            content = f'<div class="markdown">{markdown(result.text or "")}</div>'
        elif kind == "log":
            content = _table(result.rows)
        elif kind == "metric":
            figure = metric_figure(result, properties, start, end)
            if figure is None:
                content = _numbers(result)
            else:
                figure_id = f"figure-{index}"
                figures.append(f'<script type="application/json" id="{figure_id}">'
                               f'{_script_json(pio.to_json(figure, validate=True))}</script>')
                content = f'<div class="chart" id="chart-{index}" data-figure="{figure_id}"></div>'
        else:
            content = f'<div class="error">widgets of type {html.escape(kind)} are not drawn</div>'
        attributes = {
            "class": " ".join(classes), "data-index": str(index), "data-type": kind,
            "data-view": result.view or "", "data-has-data": "true" if has_data(result) else "false",
            "data-error": result.error or "", "data-title": title_text or "",
            "style": f"grid-column: {x + 1} / span {w}; grid-row: {y + 1} / span {h};"}
        attrs = " ".join(f'{k}="{html.escape(v)}"' for k, v in attributes.items())
        sections.append(f'<section {attrs}>{heading}<div class="content">{content}</div></section>')
    if start is not None and end is not None:
        utc = dt.timezone.utc
        span = f"{start.astimezone(utc):%Y-%m-%d %H:%M} to {end.astimezone(utc):%Y-%m-%d %H:%M} UTC"
    else:
        span = "the dashboard's own range"
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>"
        f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script></head>\n'
        f'<body data-charts="{len(figures)}"><header><h1>{html.escape(title)}</h1>'
        f'<div class="range">{html.escape(span)} &middot; drawn from the local emulator\'s data '
        f"&middot; generated {generated}</div></header>\n"
        f'<main class="grid">{"".join(sections)}</main>\n{"".join(figures)}\n'
        f"<script>{_SCRIPT}</script></body></html>\n")


def write_page(body: str | dict[str, Any], start: dt.datetime, end: dt.datetime,
               client_for: Callable[[str, str | None], Any], title: str,
               out: Path = DEFAULT_OUT) -> tuple[Path, list[WidgetResult]]:
    """Evaluates the dashboard over [start, end] with `client_for(service, region)`, writes the
    page to `out` and returns its path and the results."""
    results = evaluate(body, start, end, client_for=client_for)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(body, results, title, start=start, end=end), encoding="utf-8")
    return out.resolve(), results


# ---------------------------------------------------------------------------- command line

def _session(account: str | None):
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(region_name=region)
    if account:
        creds = session.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/plgov-dashboard",
                                                  RoleSessionName="dashboard")["Credentials"]
        session = boto3.session.Session(region_name=region, aws_access_key_id=creds["AccessKeyId"],
                                        aws_secret_access_key=creds["SecretAccessKey"],
                                        aws_session_token=creds["SessionToken"])
    return session


@errors.main
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default=os.environ.get("STACK_NAME", "plgov"))
    parser.add_argument("--account", help="the account the stack is in (a role is assumed into it); "
                                          "default: the environment's credentials")
    parser.add_argument("--start", help="ISO 8601 time, or relative to --end (--start=-PT6H); "
                                        "default: --end minus 3 hours")
    parser.add_argument("--end", help="ISO 8601 time, or relative to now (--end=-PT1H); default: now")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the page to write (%(default)s)")
    parser.add_argument("--png", type=Path, help="also take a screenshot of the page (headless Chromium)")
    errors.add_verbose_flag(parser)
    args = parser.parse_args(argv)
    if not os.environ.get("AWS_ENDPOINT_URL"):
        raise errors.Problem("AWS_ENDPOINT_URL is not set: this draws the dashboard from the local emulator only. "
                             "Export AWS_ENDPOINT_URL=http://127.0.0.1:4566, or run `make dashboard`, which does.")

    now = dt.datetime.now(dt.timezone.utc)
    try:
        end = parse_time(args.end, now) if args.end else now
    except ValueError as exc:
        raise errors.usage(f"--end {args.end!r} is not a time: give ISO 8601 (2026-01-31T10:00:00Z) "
                           "or a duration back from now (--end=-PT1H).") from exc
    try:
        start = parse_time(args.start, end) if args.start else end - dt.timedelta(hours=DEFAULT_HOURS)
    except ValueError as exc:
        raise errors.usage(f"--start {args.start!r} is not a time: give ISO 8601 (2026-01-31T07:00:00Z) "
                           "or a duration back from --end (--start=-PT6H).") from exc
    if start >= end:
        raise errors.usage(f"--start ({start:%Y-%m-%dT%H:%M:%SZ}) must be before --end ({end:%Y-%m-%dT%H:%M:%SZ}).")

    session = _session(args.account)
    cfn = session.client("cloudformation")
    try:
        stack = cfn.describe_stacks(StackName=args.stack)["Stacks"][0]
    except cfn.exceptions.ClientError as exc:
        if not errors.stack_missing(exc):
            raise
        account = args.account or session.client("sts").get_caller_identity()["Account"]
        raise errors.Problem(f"No stack named {args.stack} in account {account} ({errors.where(exc)}): deploy it "
                             "with `make local-deploy`, or give --stack NAME and --account ID of the one to draw.") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if "DashboardName" not in outputs:
        raise errors.Problem(f"Stack {args.stack} has no DashboardName output: is it a PrivateLink Governor stack? "
                             "`make local-deploy` deploys one.")
    name = outputs["DashboardName"]
    body = session.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"]

    def client_for(service: str, region: str | None = None) -> Any:
        return session.client(service, region_name=region or session.region_name)

    page, results = write_page(body, start, end, client_for, title=f"{name} (local emulator)", out=args.out)
    for result in results:
        if result.error:
            sys.stderr.write(f"widget {result.index} ({result.title or result.type}): {result.error}\n")
    print(page)
    if args.png:
        from screenshot import screenshot

        width, height = page_size(body)
        print(screenshot(page, args.png, width=width, height=height))


if __name__ == "__main__":
    main()
