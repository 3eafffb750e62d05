"""GetMetricData expressions (metric math and SEARCH), which moto answers with nothing.

moto 5.2's GetMetricData treats an Expression as the Id of another query: `SEARCH(...)`,
`a*2` or `SUM(METRICS())` come back with no values and StatusCode Complete, silently,
so a dashboard widget built on them looks like "no data". Here every Expression query
of a request is parsed and evaluated as the CloudWatch User Guide describes it ("Use
metric math", "Use search expressions in graphs"); an expression the emulator cannot
evaluate is a ValidationError (HTTP 400), never silent empty data. The MetricStat
queries of such a request, and the metrics a SEARCH finds, are read through the
GetMetricData that was installed before this module (moto plus moto_fixes' namespace
and dimension matching), so both paths read data the same way. A request made only of
MetricStat queries goes there unchanged. The CBOR path forwards to moto's JSON handler,
which calls the backend patched here, so it gets the same answers.

Expression grammar (precedence from low to high):

    expr    := or
    or      := and (("OR" | "||") and)*
    and     := cmp (("AND" | "&&") cmp)*
    cmp     := add [("==" | "!=" | "<" | "<=" | ">" | ">=") add]
    add     := mul (("+" | "-") mul)*
    mul     := unary (("*" | "/") unary)*
    unary   := "-" unary | power
    power   := primary ["^" unary]
    primary := number | 'string' | "string" | FUNCTION "(" [expr ("," expr)*] ")"
             | query-id | "(" expr ")" | "[" expr ("," expr)* "]"

Values are scalars (S), time series (TS) and arrays of time series (TS[]); an
expression query must produce a TS or TS[]. Functions (upper case, as in CloudWatch):

    SEARCH('search', 'Stat'[, Period])  TS[]: one series per matching metric (see
                                        metric_search); Period defaults to the query's
    METRICS(["substring"])              TS[]: the MetricStat queries of the request
                                        (whose Id contains the substring), in order
    SUM AVG MIN MAX (TS -> S, TS[] -> TS)
    ABS CEIL FLOOR LOG LOG10 (elementwise on S, TS, TS[])
    FILL(TS|TS[], S|TS|REPEAT|LINEAR)   fills the periods from StartTime to EndTime
    DATAPOINT_COUNT (TS -> S, TS[] -> TS)   METRIC_COUNT (TS[] -> S)   PERIOD(metric id)
    REMOVE_EMPTY FIRST LAST (TS[])      RUNNING_SUM DIFF RATE (TS, TS[])

Semantics (from "Use metric math"): series are aligned by timestamp; in arithmetic and
comparisons between two series a value missing on one side counts as 0; a data point
whose value would be a division by zero (or not a finite number) is dropped; AVG of an
array treats missing values as 0 (so it divides by the number of series), while SUM,
MIN and MAX of an array use the values present at each timestamp. AVG, MIN and MAX of an
empty series are undefined, so points computed from them are dropped. FILL(x, REPEAT)
fills each gap with the value before it, FILL(x, LINEAR) interpolates between the
values around a gap; gaps before the first value (REPEAT, LINEAR) or after the last
(LINEAR) stay empty (the guide does not say; this is the emulator's choice). Queries with ReturnData false are computed, not returned;
expressions may refer to each other in any order (cycles are errors). Every series of
a TS[] result is returned under the query's Id (as CloudWatch does), labelled by its
own label (SEARCH: the dimension values; METRICS(): the metric query's label), prefixed
by the query's Label if it has one; a Label with dynamic values supports ${LABEL} and
${PROP('Dim.<name>'|'MetricName'|'Namespace'|'Period'|'Stat')}. A TS result is labelled
with the query's Label, or its Id. Results come in request order (the series of a
SEARCH sorted by label), timestamps sorted by ScanBy. MaxDatapoints and LabelOptions
are ignored; labels CloudWatch would make unique (two searches finding the same
dimension values) may repeat here.

Not supported (a ValidationError naming the query): IF, SORT, SLICE, STDDEV, TIME_SERIES,
ANOMALY_DETECTION_BAND, INSIGHT_RULE_METRIC, SERVICE_QUOTA, the date functions, Metrics
Insights (SELECT) queries, statistics other than Sum, Average, Minimum, Maximum and
SampleCount, and other dynamic label values.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator, Sequence, Union

from moto.cloudwatch.exceptions import ValidationError
from moto.cloudwatch.models import CloudWatchBackend

from .metric_search import MetricKey, SearchError, default_labels, parse_search
from .tokenizer import Token, TokenCursor, tokenize

SUPPORTED_STATS = ("Sum", "Average", "Minimum", "Maximum", "SampleCount")
_ID = re.compile(r"[a-z][A-Za-z0-9_]*")
# CloudWatch functions this emulator knows but does not evaluate: an error, not a guess.
_UNSUPPORTED_FUNCTIONS = {
    "IF", "SORT", "SLICE", "STDDEV", "TIME_SERIES", "ANOMALY_DETECTION_BAND", "INSIGHT_RULE_METRIC",
    "SERVICE_QUOTA", "MINUTE", "HOUR", "DAY", "DATE", "MONTH", "YEAR", "EPOCH", "DIFF_TIME",
}


class ExpressionError(ValueError):
    """An expression that is malformed or that the emulator cannot evaluate."""


# ---------------------------------------------------------------------------- values

@dataclass
class Series:
    """One time series: values by timestamp, a label, and what it was read from."""

    points: dict[datetime, float]
    label: str
    period: int | None
    meta: dict[str, Any] = field(default_factory=dict)  # namespace, name, dims, stat, period

    def derive(self, points: dict[datetime, float]) -> "Series":
        return Series(points, self.label, self.period, self.meta)

    def sorted_points(self) -> list[tuple[datetime, float]]:
        return sorted(self.points.items())


Value = Union[float, Series, list]  # list: an array of Series


def _kind(value: Value) -> str:
    if isinstance(value, Series):
        return "a time series"
    if isinstance(value, list):
        return "an array of time series"
    return "a scalar"


def _finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))


# ---------------------------------------------------------------------------- lexer

_TOKEN = re.compile(r"""
    (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\u201c[^\u201d]*\u201d)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/^()\[\],<>])
""", re.VERBOSE)


def _scan(source: str, pos: int, toks: list[Token]) -> int:
    """One token: num, name, str (without its quotes) or op."""
    m = _TOKEN.match(source, pos)
    if not m:
        raise ExpressionError(f"unexpected character {source[pos]!r} at position {pos}")
    kind = m.lastgroup or ""
    text = m.group()[1:-1] if kind == "str" else m.group()  # escapes stay for SEARCH's own lexer
    toks.append(Token(kind, text, pos, m.end()))
    return m.end()


# ---------------------------------------------------------------------------- syntax tree

@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple["Node", ...]
    pos: int


@dataclass(frozen=True)
class Arr:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Neg:
    operand: "Node"


@dataclass(frozen=True)
class Bin:
    op: str
    left: "Node"
    right: "Node"


Node = Union[Num, Str, Ref, Call, Arr, Neg, Bin]


class _Parser(TokenCursor):
    error = ExpressionError

    def __init__(self, source: str):
        super().__init__(tokenize(source, _scan))

    def accept(self, *texts: str) -> str | None:
        tok = self.peek()
        if tok.kind in ("op", "name") and tok.text in texts:
            self.i += 1
            return tok.text
        return None

    def parse(self) -> Node:
        node = self.or_()
        tok = self.peek()
        if tok.kind != "end":
            raise ExpressionError(f"unexpected {tok.text!r} at position {tok.start}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("OR", "||") is not None:
            node = Bin("OR", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.cmp()
        while self.accept("AND", "&&") is not None:
            node = Bin("AND", node, self.cmp())
        return node

    def cmp(self) -> Node:
        node = self.add()
        if (op := self.accept("==", "!=", "<", "<=", ">", ">=")) is not None:
            node = Bin(op, node, self.add())
        return node

    def add(self) -> Node:
        node = self.mul()
        while (op := self.accept("+", "-")) is not None:
            node = Bin(op, node, self.mul())
        return node

    def mul(self) -> Node:
        node = self.unary()
        while (op := self.accept("*", "/")) is not None:
            node = Bin(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("-") is not None:
            return Neg(self.unary())
        return self.power()

    def power(self) -> Node:
        node = self.primary()
        if self.accept("^") is not None:
            node = Bin("^", node, self.unary())
        return node

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            return Num(float(tok.text))
        if tok.kind == "str":
            return Str(tok.text)
        if tok.kind == "name":
            if tok.text in ("AND", "OR"):
                raise ExpressionError(f"{tok.text} at position {tok.start} has no left operand")
            if self.accept("(") is None:
                return Ref(tok.text)
            args: list[Node] = []
            if self.accept(")") is None:
                args.append(self.or_())
                while self.accept(",") is not None:
                    args.append(self.or_())
                self.expect_op(")")
            return Call(tok.text, tuple(args), tok.start)
        if tok.kind == "op" and tok.text == "(":
            node = self.or_()
            self.expect_op(")")
            return node
        if tok.kind == "op" and tok.text == "[":
            items = [self.or_()]
            while self.accept(",") is not None:
                items.append(self.or_())
            self.expect_op("]")
            return Arr(tuple(items))
        raise ExpressionError(f"unexpected {tok.text or 'end of expression'!r} at position {tok.start}")


def parse_expression(source: str) -> Node:
    return _Parser(source).parse()


def _walk(node: Node) -> Iterator[Node]:
    yield node
    children: Sequence[Node] = ()
    if isinstance(node, Call):
        children = node.args
    elif isinstance(node, Arr):
        children = node.items
    elif isinstance(node, Neg):
        children = (node.operand,)
    elif isinstance(node, Bin):
        children = (node.left, node.right)
    for child in children:
        yield from _walk(child)


# ---------------------------------------------------------------------------- arithmetic

def _apply(op: str, a: float, b: float) -> float:
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b if b != 0 else math.nan
        if op == "^":
            result = a ** b
            return result if isinstance(result, (int, float)) else math.nan  # not a complex root
    except (OverflowError, ZeroDivisionError, ValueError):
        return math.nan
    if op == "==":
        return float(a == b)
    if op == "!=":
        return float(a != b)
    if op == "<":
        return float(a < b)
    if op == "<=":
        return float(a <= b)
    if op == ">":
        return float(a > b)
    if op == ">=":
        return float(a >= b)
    if op == "AND":
        return float(a != 0 and b != 0)
    if op == "OR":
        return float(a != 0 or b != 0)
    raise ExpressionError(f"unknown operator {op}")


def _points(pairs: Iterator[tuple[datetime, float]]) -> dict[datetime, float]:
    return {t: v for t, v in pairs if _finite(v)}


def _binary(op: str, a: Value, b: Value) -> Value:
    if isinstance(a, list) and isinstance(b, list):
        raise ExpressionError(f"operator {op} cannot combine two arrays of time series")
    if isinstance(a, list):
        return [_binary(op, s, b) for s in a]
    if isinstance(b, list):
        return [_binary(op, a, s) for s in b]
    if isinstance(a, Series) and isinstance(b, Series):
        stamps = sorted(set(a.points) | set(b.points))
        return a.derive(_points((t, _apply(op, a.points.get(t, 0.0), b.points.get(t, 0.0))) for t in stamps))
    if isinstance(a, Series):
        return a.derive(_points((t, _apply(op, v, float(b))) for t, v in a.points.items()))
    if isinstance(b, Series):
        return b.derive(_points((t, _apply(op, float(a), v)) for t, v in b.points.items()))
    return _apply(op, float(a), float(b))


def _elementwise(value: Value, fn: Callable[[float], float]) -> Value:
    def safe(v: float) -> float:
        try:
            return float(fn(v))
        except (ValueError, OverflowError):
            return math.nan

    if isinstance(value, list):
        return [_elementwise(s, fn) for s in value]
    if isinstance(value, Series):
        return value.derive(_points((t, safe(v)) for t, v in value.points.items()))
    return safe(value)


# ---------------------------------------------------------------------------- evaluation

@dataclass
class _Query:
    index: int  # 1-based, as in MetricDataQueries.member.N
    raw: dict[str, Any]
    tree: Node | None = None  # parsed Expression

    @property
    def id(self) -> str:
        return self.raw["Id"]

    def error(self, detail: str) -> ValidationError:
        field_name = "Expression" if "Expression" in self.raw else "MetricStat"
        return ValidationError(f"Error in MetricDataQueries.member.{self.index}.{field_name} "
                               f"(Id {self.id}): {detail}")


def _label_for(template: str, series: Series) -> str:
    def substitute(match: re.Match[str]) -> str:
        key = match.group(1).strip()
        if key == "LABEL":
            return series.label
        prop = re.fullmatch(r"PROP\('([^']*)'\)", key)
        if prop:
            name = prop.group(1)
            meta = series.meta
            if name.startswith("Dim.") and name[4:] in meta.get("dims", {}):
                return str(meta["dims"][name[4:]])
            values = {"MetricName": meta.get("name"), "Namespace": meta.get("namespace"),
                      "Period": meta.get("period"), "Stat": meta.get("stat")}
            if values.get(name) is not None:
                return str(values[name])
            return ""
        raise ExpressionError(f"the dynamic label value ${{{key}}} is not supported by the emulator")

    return re.sub(r"\$\{([^}]*)\}", substitute, template)


class Request:
    """One GetMetricData request with at least one Expression query."""

    def __init__(self, backend: Any, read: Callable[..., list[dict[str, Any]]], queries: list[dict[str, Any]],
                 start_time: datetime, end_time: datetime, scan_by: str):
        self.backend = backend
        self.read = read  # the GetMetricData installed before this module, for MetricStat queries
        self.queries = [_Query(i + 1, q) for i, q in enumerate(queries)]
        self.start = start_time.replace(microsecond=0)
        self.end = end_time.replace(microsecond=0)
        self.scan_by = scan_by
        self.by_id: dict[str, _Query] = {}
        self.metrics: dict[str, Series] = {}  # MetricStat query id -> its series
        self.searches: dict[tuple[str, Call], list[Series]] = {}  # (query id, SEARCH call) -> series
        self.values: dict[str, Value] = {}
        self.evaluating: list[str] = []

    # -- setup

    def validate(self) -> None:
        if self.start > self.end:
            raise ValidationError("The parameter EndTime must be greater than StartTime.")
        if self.start == self.end:
            raise ValidationError("The parameter StartTime must not equal parameter EndTime.")
        for q in self.queries:
            if not _ID.fullmatch(q.id or ""):
                raise q.error(f"the Id {q.id!r} must start with a lowercase letter and contain only letters, "
                              "digits and underscores")
            if q.id in self.by_id:
                raise q.error(f"the Id {q.id} is used by more than one query")
            self.by_id[q.id] = q
            if "MetricStat" in q.raw:
                stat = q.raw["MetricStat"].get("Stat")
                if stat not in SUPPORTED_STATS:
                    raise q.error(f"the statistic {stat!r} is not supported by the emulator "
                                  f"(supported: {', '.join(SUPPORTED_STATS)})")
                continue
            expression = q.raw["Expression"]
            if expression.lstrip().upper().startswith("SELECT"):
                raise q.error("Metrics Insights (SELECT) queries are not supported by the emulator")
            try:
                q.tree = parse_expression(expression)
            except ExpressionError as exc:
                raise q.error(str(exc)) from None

    def load(self) -> None:
        """Reads every MetricStat query and every metric a SEARCH finds, in one pass."""
        reads: list[dict[str, Any]] = []
        wanted: list[tuple[str, Any]] = []  # ("metric", query id) or ("search", (call, label, meta))
        for q in self.queries:
            if "MetricStat" in q.raw:
                reads.append({**q.raw, "ReturnData": True})
                wanted.append(("metric", q.id))
        all_metrics = self._all_metrics()
        for q in self.queries:
            if q.tree is None:
                continue
            for node in _walk(q.tree):
                if isinstance(node, Call) and node.name == "SEARCH" and (q.id, node) not in self.searches:
                    search, stat, period = self._search_args(q, node)
                    try:
                        matched = [m for m in all_metrics if search.matches(m)]
                    except SearchError as exc:
                        raise q.error(f"in SEARCH: {exc}") from None
                    labels = default_labels(search, matched)
                    matched_sorted = sorted(zip(labels, matched), key=lambda lm: lm[0])
                    self.searches[(q.id, node)] = []
                    for label, (namespace, name, dims) in matched_sorted:
                        reads.append({"Id": f"plgov_search_{len(reads)}", "MetricStat": {
                            "Metric": {"Namespace": namespace, "MetricName": name,
                                       "Dimensions": [{"Name": d, "Value": v} for d, v in dims]},
                            "Period": period, "Stat": stat}})
                        meta = {"namespace": namespace, "name": name, "dims": dict(dims), "stat": stat,
                                "period": period}
                        wanted.append(("search", ((q.id, node), label, meta)))
        results = self.read(self.backend, reads, self.start, self.end, "TimestampAscending") if reads else []
        if len(results) != len(reads):
            raise ValidationError("the emulator could not read the metrics of this request")
        for (what, key), result in zip(wanted, results):
            points = {t: float(v) for t, v in zip(result["timestamps"], result["values"]) if v is not None}
            if what == "metric":
                stat = self.by_id[key].raw["MetricStat"]
                metric = stat["Metric"]
                meta = {"namespace": metric.get("Namespace"), "name": metric.get("MetricName"),
                        "dims": {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])},
                        "stat": stat.get("Stat"), "period": int(stat["Period"])}
                self.metrics[key] = Series(points, result["label"], int(stat["Period"]), meta)
            else:
                node, label, meta = key
                self.searches[node].append(Series(points, label, meta["period"], meta))

    def _all_metrics(self) -> list[MetricKey]:
        """Every distinct metric of the account and region, dimensions in the order put."""
        seen: dict[tuple[Any, ...], MetricKey] = {}
        # The class method, not the instance attribute: moto_fixes swaps the latter while it reads.
        for datum in CloudWatchBackend.get_all_metrics(self.backend):
            dims = tuple((d.name, d.value) for d in datum.dimensions)
            key = (datum.namespace, datum.name, tuple(sorted(dims)))
            seen.setdefault(key, (datum.namespace, datum.name, dims))
        return list(seen.values())

    def _search_args(self, q: _Query, node: Call) -> tuple[Any, str, int]:
        args = node.args
        if not 2 <= len(args) <= 3 or not isinstance(args[0], Str) or not isinstance(args[1], Str):
            raise q.error("SEARCH takes a search string, a statistic and optionally a period: "
                          "SEARCH('{Namespace,DimensionName} MetricName=\"Name\"', 'Sum', 300)")
        try:
            search = parse_search(args[0].value)
        except SearchError as exc:
            raise q.error(f"in SEARCH: {exc}") from None
        stat = args[1].value
        if stat not in SUPPORTED_STATS:
            raise q.error(f"the statistic {stat!r} of SEARCH is not supported by the emulator "
                          f"(supported: {', '.join(SUPPORTED_STATS)})")
        if len(args) == 3:
            if not isinstance(args[2], Num) or args[2].value <= 0 or args[2].value != int(args[2].value):
                raise q.error("the period of SEARCH must be a positive whole number of seconds")
            period = int(args[2].value)
        elif q.raw.get("Period"):
            period = int(q.raw["Period"])
        else:
            raise q.error("SEARCH needs a period: give it as its third argument or as the query's Period")
        return search, stat, period

    # -- evaluation

    def value_of(self, query_id: str, asking: _Query) -> Value:
        if query_id in self.metrics:
            return self.metrics[query_id]
        if query_id in self.values:
            return self.values[query_id]
        target = self.by_id.get(query_id)
        if target is None or target.tree is None:
            raise ExpressionError(f"{query_id} is not the Id of a query in this request")
        if query_id in self.evaluating:
            raise ExpressionError(f"the expressions {' -> '.join(self.evaluating + [query_id])} refer to each other")
        self.evaluating.append(query_id)
        try:
            self.values[query_id] = _Evaluator(self, target).eval(target.tree)
        except ExpressionError as exc:
            if target is asking:
                raise
            raise ExpressionError(f"{query_id}: {exc}") from None
        finally:
            self.evaluating.pop()
        return self.values[query_id]

    def grid(self, period: int | None) -> list[datetime]:
        if not period:
            raise ExpressionError("FILL needs a series with a period")
        step = timedelta(seconds=period)
        stamps, t = [], self.start
        while t < self.end:
            stamps.append(t)
            t += step
        return stamps

    # -- results

    def run(self) -> list[dict[str, Any]]:
        self.validate()
        self.load()
        out: list[dict[str, Any]] = []
        for q in self.queries:
            try:
                value = self.metrics[q.id] if q.tree is None else self.value_of(q.id, q)
                if q.raw.get("ReturnData", True):
                    out.extend(self._results(q, value))
            except ExpressionError as exc:
                raise q.error(str(exc)) from None
        return out

    def _results(self, q: _Query, value: Value) -> list[dict[str, Any]]:
        label = q.raw.get("Label")
        if isinstance(value, Series):
            if q.tree is None:
                return [self._result(q.id, value.label, value)]
            return [self._result(q.id, _label_for(label, value) if label else q.id, value)]
        if isinstance(value, list):
            results = []
            for series in value:
                if label and "${" in label:
                    text = _label_for(label, series)
                elif label:
                    text = f"{label} {series.label}"
                else:
                    text = series.label
                results.append(self._result(q.id, text, series))
            return results
        raise ExpressionError("the result of an expression must be a time series or an array of time series, "
                              f"not {_kind(value)}")

    def _result(self, query_id: str, label: str, series: Series) -> dict[str, Any]:
        pairs = series.sorted_points()
        if self.scan_by == "TimestampDescending":
            pairs.reverse()
        return {"id": query_id, "label": label, "values": [v for _, v in pairs],
                "timestamps": [t for t, _ in pairs], "status_code": "Complete"}


class _Evaluator:
    """Evaluates the tree of one expression query."""

    def __init__(self, request: Request, query: _Query):
        self.request = request
        self.query = query

    def eval(self, node: Node) -> Value:
        if isinstance(node, Num):
            return node.value
        if isinstance(node, Str):
            raise ExpressionError(f"the string {node.value!r} is only valid as a function argument")
        if isinstance(node, Ref):
            if node.name in ("REPEAT", "LINEAR"):
                raise ExpressionError(f"{node.name} is only valid as the second argument of FILL")
            return self.request.value_of(node.name, self.query)
        if isinstance(node, Neg):
            return _binary("*", -1.0, self.eval(node.operand))
        if isinstance(node, Bin):
            return _binary(node.op, self.eval(node.left), self.eval(node.right))
        if isinstance(node, Arr):
            return self.array(node.items)
        return self.call(node)

    def array(self, items: Sequence[Node]) -> list[Series]:
        out: list[Series] = []
        for item in items:
            value = self.eval(item)
            if isinstance(value, Series):
                out.append(value)
            elif isinstance(value, list):
                out.extend(value)
            else:
                raise ExpressionError("an array [...] can hold only time series")
        return out

    def call(self, node: Call) -> Value:
        if node.name in _UNSUPPORTED_FUNCTIONS:
            raise ExpressionError(f"{node.name} is a CloudWatch function the emulator does not support")
        handler = _FUNCTIONS.get(node.name)
        if handler is None:
            hint = " (functions are upper case)" if node.name.upper() in _FUNCTIONS else ""
            raise ExpressionError(f"unknown function {node.name} at position {node.pos}{hint}")
        return handler(self, node)

    def series_or_array(self, node: Call, arg: Node) -> Value:
        value = self.eval(arg)
        if not isinstance(value, (Series, list)):
            raise ExpressionError(f"{node.name} takes a time series or an array of time series, not {_kind(value)}")
        return value

    def one_arg(self, node: Call) -> Node:
        if len(node.args) != 1:
            raise ExpressionError(f"{node.name} takes one argument")
        return node.args[0]


# ---------------------------------------------------------------------------- functions

def _aggregate(kind: str) -> Callable[[_Evaluator, Call], Value]:
    def over(values: list[float], count: int) -> float:
        if kind == "SUM":
            return float(sum(values))
        if not values:
            return math.nan
        if kind == "AVG":
            return sum(values) / count
        return min(values) if kind == "MIN" else max(values)

    def handler(ev: _Evaluator, node: Call) -> Value:
        value = ev.series_or_array(node, ev.one_arg(node))
        if isinstance(value, Series):
            return over(list(value.points.values()), len(value.points))
        stamps = sorted({t for s in value for t in s.points})
        points = _points((t, over([s.points[t] for s in value if t in s.points], len(value))) for t in stamps)
        first = value[0] if value else None
        return Series(points, "", first.period if first else None, first.meta if first else {})

    return handler


def _math(fn: Callable[[float], float]) -> Callable[[_Evaluator, Call], Value]:
    def handler(ev: _Evaluator, node: Call) -> Value:
        return _elementwise(ev.eval(ev.one_arg(node)), fn)

    return handler


def _per_series(fn: Callable[[list[tuple[datetime, float]]], list[tuple[datetime, float]]]
                ) -> Callable[[_Evaluator, Call], Value]:
    def handler(ev: _Evaluator, node: Call) -> Value:
        value = ev.series_or_array(node, ev.one_arg(node))
        series = value if isinstance(value, list) else [value]
        out = [s.derive(_points(iter(fn(s.sorted_points())))) for s in series]
        return out if isinstance(value, list) else out[0]

    return handler


def _running_sum(pairs: list[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    total, out = 0.0, []
    for t, v in pairs:
        total += v
        out.append((t, total))
    return out


def _diff(pairs: list[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    return [(t, v - pv) for (_, pv), (t, v) in zip(pairs, pairs[1:])]


def _rate(pairs: list[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    return [(t, (v - pv) / (t - pt).total_seconds()) for (pt, pv), (t, v) in zip(pairs, pairs[1:])]


def _search(ev: _Evaluator, node: Call) -> Value:
    return list(ev.request.searches[(ev.query.id, node)])


def _metrics(ev: _Evaluator, node: Call) -> Value:
    if len(node.args) > 1 or (node.args and not isinstance(node.args[0], Str)):
        raise ExpressionError('METRICS takes no argument or one string: METRICS() or METRICS("errors")')
    part = node.args[0].value if node.args else ""
    return [series for query_id, series in ev.request.metrics.items() if part in query_id]


def _fill(ev: _Evaluator, node: Call) -> Value:
    if len(node.args) != 2:
        raise ExpressionError("FILL takes two arguments: FILL(m1, 0)")
    target = ev.series_or_array(node, node.args[0])
    how = node.args[1]
    mode = how.name if isinstance(how, Ref) and how.name in ("REPEAT", "LINEAR") else None
    filler = None if mode else ev.eval(how)
    if isinstance(filler, list):
        raise ExpressionError("FILL cannot fill with an array of time series")

    def fill(series: Series) -> Series:
        points = dict(series.points)
        known = series.sorted_points()
        for t in ev.request.grid(series.period):
            if t in points:
                continue
            if mode is None:
                value = filler.points.get(t, math.nan) if isinstance(filler, Series) else float(filler)
            else:
                before = [(pt, pv) for pt, pv in known if pt < t]
                after = [(pt, pv) for pt, pv in known if pt > t]
                if not before or (mode == "LINEAR" and not after):
                    continue
                (t0, v0) = before[-1]
                if mode == "REPEAT":
                    value = v0
                else:
                    (t1, v1) = after[0]
                    value = v0 + (v1 - v0) * (t - t0).total_seconds() / (t1 - t0).total_seconds()
            if _finite(value):
                points[t] = value
        return series.derive(points)

    return [fill(s) for s in target] if isinstance(target, list) else fill(target)


def _datapoint_count(ev: _Evaluator, node: Call) -> Value:
    value = ev.series_or_array(node, ev.one_arg(node))
    if isinstance(value, Series):
        return float(len(value.points))
    stamps = sorted({t for s in value for t in s.points})
    first = value[0] if value else None
    return Series({t: float(sum(t in s.points for s in value)) for t in stamps}, "",
                  first.period if first else None, first.meta if first else {})


def _array_arg(ev: _Evaluator, node: Call) -> list[Series]:
    value = ev.eval(ev.one_arg(node))
    if not isinstance(value, list):
        raise ExpressionError(f"{node.name} takes an array of time series, not {_kind(value)}")
    return value


def _metric_count(ev: _Evaluator, node: Call) -> Value:
    return float(len(_array_arg(ev, node)))


def _remove_empty(ev: _Evaluator, node: Call) -> Value:
    return [s for s in _array_arg(ev, node) if s.points]


def _first_or_last(index: int) -> Callable[[_Evaluator, Call], Value]:
    def handler(ev: _Evaluator, node: Call) -> Value:
        array = _array_arg(ev, node)
        if not array:
            return Series({}, "", None)
        return array[index]

    return handler


def _period(ev: _Evaluator, node: Call) -> Value:
    arg = ev.one_arg(node)
    if not isinstance(arg, Ref) or arg.name not in ev.request.metrics:
        raise ExpressionError("PERIOD takes the Id of a metric (a MetricStat query)")
    return float(ev.request.metrics[arg.name].period or 0)


_FUNCTIONS: dict[str, Callable[[_Evaluator, Call], Value]] = {
    "SEARCH": _search,
    "METRICS": _metrics,
    "SUM": _aggregate("SUM"),
    "AVG": _aggregate("AVG"),
    "MIN": _aggregate("MIN"),
    "MAX": _aggregate("MAX"),
    "ABS": _math(abs),
    "CEIL": _math(math.ceil),
    "FLOOR": _math(math.floor),
    "LOG": _math(math.log),
    "LOG10": _math(math.log10),
    "FILL": _fill,
    "DATAPOINT_COUNT": _datapoint_count,
    "METRIC_COUNT": _metric_count,
    "PERIOD": _period,
    "REMOVE_EMPTY": _remove_empty,
    "FIRST": _first_or_last(0),
    "LAST": _first_or_last(-1),
    "RUNNING_SUM": _per_series(_running_sum),
    "DIFF": _per_series(_diff),
    "RATE": _per_series(_rate),
}


# ---------------------------------------------------------------------------- install

def install() -> None:
    previous = CloudWatchBackend.get_metric_data

    def get_metric_data(self: Any, queries: list[dict[str, Any]], start_time: datetime, end_time: datetime,
                        scan_by: str = "TimestampAscending") -> list[dict[str, Any]]:
        if all("MetricStat" in q for q in queries):
            return previous(self, queries, start_time, end_time, scan_by)
        return Request(self, previous, queries, start_time, end_time, scan_by).run()

    CloudWatchBackend.get_metric_data = get_metric_data
