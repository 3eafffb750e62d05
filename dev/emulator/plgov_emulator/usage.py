"""Cost counters for the bench: what AWS would bill each account for, as the emulator saw it.

moto counts nothing that AWS bills by: GetMetricData metrics, custom metric hours, log bytes
ingested, DynamoDB request units (its ConsumedCapacity is a constant). control.py's
/_plgov/calls counts requests only. This module counts, per account, from hooks on moto's
backends and DynamoDB handler (one dictionary update under a lock per request; DynamoDB
items are sized once), and control.py serves the counters at GET /_plgov/usage?account=ID
(reset with DELETE). Counts are kept whatever the protocol (boto3 JSON/query, the Rust
SDK's CBOR), since every path ends in the same moto backends.

CloudWatch (pricing page, "API requests": "GetMetricData, GetInsightRuleReport: $0.01 per
1,000 metrics requested"; "You can request up to five statistics for the same metric in a
single GetMetricData API request. Additional statistics are billed as an additional metric";
custom metrics "are prorated by the hour and metered only when you send metrics to CloudWatch"):

- GetMetricData: `requests` (successful calls); `metricsRequested`: 1 per MetricStat query
  (hidden ones included) and 1 per metric a SEARCH expression matched, 0 per metric math
  expression; `metricsBilled`: the same metrics grouped per call by metric (namespace, name,
  dimension set), ceil(statistics / 5) per metric, as the pricing page words it.
- PutMetricData: `requests` (successful calls).
- Custom metrics: every metric (region, namespace, name, dimension set) that received data
  outside the `AWS/` namespaces, with `hours`, the distinct UTC hours its data points fall in
  (by each point's Timestamp, so a bench that backdates data is billed for the hours it
  simulates), and `hoursSent`, the distinct UTC hours in which data was put for it (how the
  pricing page meters it in real time).

CloudWatch Logs: events accepted by PutLogEvents (or put by moto itself, e.g. a Lambda's
logs; events rejected as too old or too new are not ingested): `requests`, `events`,
`messageBytes` (UTF-8 bytes of the messages) and `bytesIngested` = messageBytes + 26 per
event. The 26 bytes are the per-event overhead PutLogEvents counts against its 1 MiB batch
limit (API reference, PutLogEvents); that CloudWatch bills ingestion on the same measure is an
assumption: the pricing page says only "per GB ingested", and AWS/Logs IncomingBytes is
documented as "the volume of log events in uncompressed bytes".

DynamoDB read and write request units per table, to the table's owner (a cross-account
request is billed to the table's account), as the developer guide's "DynamoDB read and write
operations" and "DynamoDB item sizes and formats" compute them:

- Item size: attribute names (UTF-8 bytes) plus values: strings in UTF-8 bytes, numbers
  1 byte per two significant digits plus 1, binary in raw bytes, null and booleans 1 byte,
  lists and maps 3 bytes plus 1 byte per element, sets the sum of their members.
- Writes, ceil(size / 1 KB) units, at least 1: PutItem the larger of the old and new item,
  UpdateItem the larger of before and after, DeleteItem the deleted item; a write whose
  condition fails still consumes (the existing item's size, or the new item's for PutItem).
  BatchWriteItem: each item on its own. TransactWriteItems: 2x per item (Put, Update,
  Delete, ConditionCheck), also when the transaction is cancelled (the emulator's choice: the
  guide says transactional writes cost 2 units per KB and does not exempt cancelled ones).
- Reads, ceil(size / 4 KB) units, at least 1 (a missing item still costs a read), halved when
  eventually consistent (the default): GetItem the whole stored item (a projection does not
  reduce it); BatchGetItem each item on its own; TransactGetItems 2x per item; Query and
  Scan per call (page), the total size of the items evaluated (before the filter expression;
  an index's projected items when reading an index), rounded up once.

Not counted: PartiQL (ExecuteStatement), Lambda, Logs Insights scans, storage. ReturnConsumed
Capacity still answers moto's constants. Regions are not told apart for DynamoDB tables.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import inspect
import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Callable
from urllib.parse import parse_qs

from moto.cloudwatch.models import CloudWatchBackend
from moto.dynamodb.exceptions import ConditionalCheckFailed, TransactionCanceledException
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.logs.models import LogGroup

from . import metric_math

LOG_EVENT_OVERHEAD = 26
WRITE_UNIT = 1024
READ_UNIT = 4096
STATISTICS_PER_BILLED_METRIC = 5

_lock = threading.Lock()
_local = threading.local()


@dataclass
class _CustomMetric:
    region: str
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    hours: set[int] = field(default_factory=set)  # epoch hour numbers, by datum timestamp
    hours_sent: set[int] = field(default_factory=set)  # by when it was put


@dataclass
class _Account:
    gmd_requests: int = 0
    gmd_metrics_requested: int = 0
    gmd_metrics_billed: int = 0
    pmd_requests: int = 0
    custom: dict[tuple[Any, ...], _CustomMetric] = field(default_factory=dict)
    log_requests: int = 0
    log_events: int = 0
    log_message_bytes: int = 0
    reads: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    writes: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def as_json(self) -> dict[str, Any]:
        metrics = [{"region": m.region, "namespace": m.namespace, "metricName": m.name,
                    "dimensions": [{"Name": n, "Value": v} for n, v in m.dimensions],
                    "hours": len(m.hours), "hoursSent": len(m.hours_sent)} for m in self.custom.values()]
        tables = sorted(set(self.reads) | set(self.writes))
        return {
            "cloudwatch": {
                "GetMetricData": {"requests": self.gmd_requests, "metricsRequested": self.gmd_metrics_requested,
                                  "metricsBilled": self.gmd_metrics_billed},
                "PutMetricData": {"requests": self.pmd_requests},
                "customMetrics": {"count": len(metrics), "metricHours": sum(m["hours"] for m in metrics),
                                  "metricHoursSent": sum(m["hoursSent"] for m in metrics), "metrics": metrics},
            },
            "logs": {"PutLogEvents": {"requests": self.log_requests, "events": self.log_events,
                                      "messageBytes": self.log_message_bytes,
                                      "bytesIngested": self.log_message_bytes + LOG_EVENT_OVERHEAD * self.log_events}},
            "dynamodb": {
                "readRequestUnits": sum(self.reads.values()),
                "writeRequestUnits": sum(self.writes.values()),
                "tables": {t: {"readRequestUnits": self.reads.get(t, 0.0), "writeRequestUnits": self.writes.get(t, 0.0)}
                           for t in tables},
            },
        }


_accounts: dict[str, _Account] = defaultdict(_Account)


def _count(account_id: str, **added: int) -> None:
    """Adds to counters of an account (fields of _Account), under the lock."""
    with _lock:
        account = _accounts[account_id]
        for counter, n in added.items():
            setattr(account, counter, getattr(account, counter) + n)


def usage(account: str) -> dict[str, Any]:
    with _lock:
        return {"account": account, **(_accounts[account] if account in _accounts else _Account()).as_json()}


def reset(account: str | None = None) -> None:
    with _lock:
        if account is None:
            _accounts.clear()
        else:
            _accounts.pop(account, None)


def handle(method: str, environ: dict[str, Any]) -> tuple[int, Any]:
    """GET|DELETE /_plgov/usage[?account=ID], for control.py."""
    account = parse_qs(environ.get("QUERY_STRING", "")).get("account", [None])[0]
    if method == "GET":
        if account is None:
            return 400, {"error": "GET /_plgov/usage needs ?account=ID"}
        return 200, usage(account)
    if method == "DELETE":
        reset(account)
        return 200, {"reset": account or "all"}
    return 404, {"error": f"no control endpoint {method} /_plgov/usage"}


# ---------------------------------------------------------------------------- CloudWatch

def _metric_key(namespace: Any, name: Any, dimensions: Any) -> tuple[Any, ...]:
    return (namespace, name, tuple(sorted((d["Name"], d["Value"]) for d in dimensions or [])))


def _hour_of(value: Any, default: float) -> int:
    if isinstance(value, dt.datetime):
        stamp = (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).timestamp()
    elif isinstance(value, (int, float)):
        stamp = float(value)
    elif isinstance(value, str) and value:
        try:
            stamp = float(value)
        except ValueError:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            stamp = (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)).timestamp()
    else:
        stamp = default
    return int(stamp // 3600)


def _install_cloudwatch() -> None:
    original_load = metric_math.Request.load

    def load(self: Any) -> None:
        original_load(self)
        found = getattr(_local, "search_metrics", None)
        if found is not None:
            for series_list in self.searches.values():
                for series in series_list:
                    meta = series.meta
                    found.append((meta["namespace"], meta["name"], tuple(sorted(meta["dims"].items()))))

    metric_math.Request.load = load

    original_get = CloudWatchBackend.get_metric_data

    def get_metric_data(self: Any, queries: list[dict[str, Any]], start_time: Any, end_time: Any,
                        scan_by: str = "TimestampAscending") -> Any:
        outer = getattr(_local, "search_metrics", None) is None
        if outer:
            _local.search_metrics = []
        try:
            result = original_get(self, queries, start_time, end_time, scan_by)
            if outer:
                metrics = [_metric_key(q["MetricStat"]["Metric"].get("Namespace"),
                                       q["MetricStat"]["Metric"].get("MetricName"),
                                       q["MetricStat"]["Metric"].get("Dimensions"))
                           for q in queries if "MetricStat" in q]
                metrics.extend(_local.search_metrics)
                per_metric: dict[tuple[Any, ...], int] = defaultdict(int)
                for key in metrics:
                    per_metric[key] += 1
                billed = sum(math.ceil(n / STATISTICS_PER_BILLED_METRIC) for n in per_metric.values())
                _count(self.account_id, gmd_requests=1, gmd_metrics_requested=len(metrics), gmd_metrics_billed=billed)
            return result
        finally:
            if outer:
                _local.search_metrics = None

    CloudWatchBackend.get_metric_data = get_metric_data

    original_put = CloudWatchBackend.put_metric_data

    def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        original_put(self, namespace, metric_data)
        now = time.time()
        sent = int(now // 3600)
        with _lock:
            account = _accounts[self.account_id]
            account.pmd_requests += 1
            if namespace.startswith("AWS/"):
                return
            for datum in metric_data:
                dims = tuple((d["Name"], d["Value"]) for d in datum.get("Dimensions") or [])
                key = (self.region_name, namespace, datum["MetricName"], tuple(sorted(dims)))
                metric = account.custom.get(key)
                if metric is None:
                    metric = account.custom[key] = _CustomMetric(self.region_name, namespace, datum["MetricName"], dims)
                metric.hours.add(_hour_of(datum.get("Timestamp"), now))
                metric.hours_sent.add(sent)

    CloudWatchBackend.put_metric_data = put_metric_data


# ---------------------------------------------------------------------------- Logs

def _install_logs() -> None:
    original = LogGroup.put_log_events

    def put_log_events(self: Any, log_stream_name: str, log_events: list[dict[str, Any]]) -> Any:
        token = original(self, log_stream_name, log_events)
        size = sum(len(str(e.get("message", "")).encode()) for e in log_events)
        _count(self.account_id, log_requests=1, log_events=len(log_events), log_message_bytes=size)
        return token

    LogGroup.put_log_events = put_log_events


# ---------------------------------------------------------------------------- DynamoDB item sizes

def _number_size(text: Any) -> int:
    try:
        digits = Decimal(str(text)).normalize().as_tuple().digits
    except InvalidOperation:
        digits = tuple(c for c in str(text) if c.isdigit())
    return math.ceil(max(len(digits), 1) / 2) + 1


def _binary_size(value: Any) -> int:
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, TypeError):
        return len(str(value).encode())


def _size(value: Any) -> int:
    """The size of one attribute value, a DynamoType or its JSON form {"S": "..."}."""
    if isinstance(value, DynamoType):
        kind, inner = value.type, value.value
    else:
        (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return _binary_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "BS":
        return sum(_binary_size(b) for b in inner)
    if kind == "L":
        return 3 + sum(1 + _size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _size(v) for k, v in inner.items())
    return len(str(inner).encode())


def item_size(item: Any) -> int:
    """An item's size as DynamoDB counts it: an Item, or attributes in JSON form."""
    if item is None:
        return 0
    attrs = item.attrs if isinstance(item, Item) else item
    return sum(len(name.encode()) + _size(value) for name, value in attrs.items())


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


def _read_units(size: int, consistent: bool) -> float:
    units = float(_units(size, READ_UNIT))
    return units if consistent else units / 2


def _record(account_id: str, table: str, reads: float = 0.0, writes: float = 0.0) -> None:
    with _lock:
        account = _accounts[account_id]
        if reads:
            account.reads[table] += reads
        if writes:
            account.writes[table] += writes


def _table(backend: Any, name: Any) -> Table | None:
    try:
        return backend.get_table(name)
    except Exception:  # moto answers for a table it cannot find
        return None


def _key_of(table: Table, item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in (table.hash_key_attr, table.range_key_attr) if k and k in item}


def _stored_size(backend: Any, table: Table | None, key: dict[str, Any]) -> int:
    if table is None:
        return 0
    try:
        return item_size(backend.get_item(table.name, key))
    except Exception:  # a malformed key: moto reports it
        return 0


# ---------------------------------------------------------------------------- DynamoDB hooks

def _wrap(name: str, around: Callable[[Any, Callable[[], Any]], Any]) -> None:
    original = getattr(DynamoHandler, name)

    def handler(self: Any) -> Any:
        return around(self, lambda: original(self))

    handler.__name__ = name
    setattr(DynamoHandler, name, handler)


def _planned_write(backend: Any, table: Table, kind: str, op: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The key a Put, Update, Delete or ConditionCheck of `op` writes to, and its size before
    the write: the stored item's, for a Put the larger of that and the new item's."""
    key = _key_of(table, op.get("Item") or {}) if kind == "Put" else (op.get("Key") or {})
    size = _stored_size(backend, table, key)
    if kind == "Put":
        size = max(size, item_size(op.get("Item") or {}))
    return key, size


def _write_item(kind: str) -> Callable[[Any, Callable[[], Any]], Any]:
    """PutItem, UpdateItem or DeleteItem (`kind` Put, Update or Delete): the size planned
    before the call, for UpdateItem the larger of that and the item after it; a write whose
    condition fails is billed the size planned."""

    def write(self: Any, call: Callable[[], Any]) -> Any:
        backend, body = self.dynamodb_backend, self.body
        table = _table(backend, body.get("TableName"))
        if table is None:
            return call()
        key, size = _planned_write(backend, table, kind, body)
        try:
            result = call()
        except ConditionalCheckFailed:
            _record(table.account_id, table.name, writes=_units(size, WRITE_UNIT))
            raise
        if kind == "Update":
            size = max(size, _stored_size(backend, table, key))
        _record(table.account_id, table.name, writes=_units(size, WRITE_UNIT))
        return result

    return write


def _batch_write_item(self: Any, call: Callable[[], Any]) -> Any:
    backend = self.dynamodb_backend
    planned: list[tuple[Table, int]] = []
    for name, requests in (self.body.get("RequestItems") or {}).items():
        table = _table(backend, name)
        if table is None:
            continue
        for request in requests:
            if "PutRequest" in request:
                _, size = _planned_write(backend, table, "Put", request["PutRequest"])
            else:
                _, size = _planned_write(backend, table, "Delete", request.get("DeleteRequest", {}))
            planned.append((table, size))
    result = call()
    for table, size in planned:
        _record(table.account_id, table.name, writes=_units(size, WRITE_UNIT))
    return result


def _transact_write_items(self: Any, call: Callable[[], Any]) -> Any:
    backend = self.dynamodb_backend
    planned: list[tuple[Table, dict[str, Any], int, bool]] = []  # table, key, size, is update
    for part in self.body.get("TransactItems") or []:
        for kind, op in part.items():
            table = _table(backend, op.get("TableName"))
            if table is None:
                continue
            planned.append((table, *_planned_write(backend, table, kind, op), kind == "Update"))

    def record(applied: bool) -> None:
        for table, key, size, is_update in planned:
            if is_update and applied:
                size = max(size, _stored_size(backend, table, key))
            _record(table.account_id, table.name, writes=2 * _units(size, WRITE_UNIT))

    try:
        result = call()
    except TransactionCanceledException:
        record(False)
        raise
    record(True)
    return result


def _get_item(self: Any, call: Callable[[], Any]) -> Any:
    result = call()
    backend, body = self.dynamodb_backend, self.body
    table = _table(backend, body.get("TableName"))
    if table is not None:
        size = _stored_size(backend, table, body.get("Key") or {})
        _record(table.account_id, table.name, reads=_read_units(size, bool(body.get("ConsistentRead"))))
    return result


def _batch_get_item(self: Any, call: Callable[[], Any]) -> Any:
    result = call()
    backend = self.dynamodb_backend
    for name, request in (self.body.get("RequestItems") or {}).items():
        table = _table(backend, name)
        if table is None:
            continue
        consistent = bool(request.get("ConsistentRead"))
        units = sum(_read_units(_stored_size(backend, table, key), consistent) for key in request.get("Keys") or [])
        _record(table.account_id, table.name, reads=units)
    return result


def _transact_get_items(self: Any, call: Callable[[], Any]) -> Any:
    result = call()
    backend = self.dynamodb_backend
    for part in self.body.get("TransactItems") or []:
        op = part.get("Get") or {}
        table = _table(backend, op.get("TableName"))
        if table is not None:
            size = _stored_size(backend, table, op.get("Key") or {})
            _record(table.account_id, table.name, reads=2 * _units(size, READ_UNIT))
    return result


def _install_table_reads() -> None:
    """Query and Scan: moto applies the filter and the projection at the end of Table.query /
    Table.scan; here they run without them, the evaluated items are sized, then the filter
    and the projection are applied the same way."""
    for method_name, projection_param in (("query", "projection_expressions"), ("scan", "projection_expression")):
        original = getattr(Table, method_name)
        signature = inspect.signature(original)

        def read(self: Table, *args: Any, _original: Any = original, _signature: Any = signature,
                 _projection: str = projection_param, **kwargs: Any) -> Any:
            bound = _signature.bind(self, *args, **kwargs)
            arguments = bound.arguments
            filter_expression = arguments.get("filter_expression")
            projection = arguments.get(_projection)
            arguments["filter_expression"] = None
            arguments[_projection] = None
            results, scanned_count, last_key = _original(*bound.args, **bound.kwargs)
            size = sum(item_size(item) for item in results)
            _record(self.account_id, self.name, reads=_read_units(size, bool(arguments.get("consistent_read"))))
            if filter_expression is not None:
                results = [item for item in results if filter_expression.expr(item)]
            if projection:
                results = [item.project(projection) for item in results]
            return results, scanned_count, last_key

        setattr(Table, method_name, read)


def install() -> None:
    """Patch moto in this process (after metric_math.install(): it wraps the GetMetricData
    that answers expressions, and reads the metrics SEARCH found)."""
    _install_cloudwatch()
    _install_logs()
    _wrap("put_item", _write_item("Put"))
    _wrap("update_item", _write_item("Update"))
    _wrap("delete_item", _write_item("Delete"))
    _wrap("batch_write_item", _batch_write_item)
    _wrap("transact_write_items", _transact_write_items)
    _wrap("get_item", _get_item)
    _wrap("batch_get_item", _batch_get_item)
    _wrap("transact_get_items", _transact_get_items)
    _install_table_reads()
