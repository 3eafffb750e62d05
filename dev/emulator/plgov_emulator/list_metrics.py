"""ListMetrics as CloudWatch answers it: one entry per metric, RecentlyActive by ingestion time.

moto 5.2.5's ListMetrics walks every data point and drops a repeat only when it has
dimensions and `are_dimensions_same` says so; that check compares each dimension of one
point with every dimension of the other, so it only ever holds for one dimension. A metric
without dimensions, or with two or more, is listed once per data point put (24 hourly
points, 24 entries), and the walk is quadratic. It ignores `RecentlyActive` (every metric
comes back), and it keeps no record of when data was put, so it could not honour it.

CloudWatch (API reference, ListMetrics and DimensionFilter; User Guide, "View available
metrics"): a metric is a namespace, a name and an exact set of dimensions, and ListMetrics
lists each metric once; `RecentlyActive=PT3H` (its only valid value) keeps "metrics that
have had data points published in the past three hours", and metrics that "have not had any
new data points in the past two weeks" are not listed at all. Both are about when data was
published (PutMetricData), not about the data points' own timestamps: a point put now with a
timestamp of last week makes its metric recently active. So the emulator records, per data
point, when it was put (`plgov_ingested`, epoch seconds), and per metric the last time.

Here, per account and region:

- One entry per metric (namespace, name, dimension set; dimensions in the order first put),
  in the order metrics were first put. Metrics moto computes on the fly (S3's storage
  metrics) are listed too, as published at their own timestamp.
- `Namespace` and `MetricName` match exactly. Each `Dimensions` filter (at most 10) needs a
  dimension of that name, and of that value when `Value` is given ("Specifying a Name without
  specifying a Value returns all values associated with that Name"); the metric may have
  other dimensions too.
- `RecentlyActive=PT3H`: last data put within the past 3 hours (CloudWatch says its answer
  is approximate, by up to 50 minutes; the emulator's is exact). Any other value is a
  ValidationError. Metrics whose last data was put more than 14 days ago are never listed.
- Pages of 500 with NextToken. The token is stateless (a position in the account's list of
  metrics, which only grows), so it can be reused and survives metrics ageing out between
  pages; a token that is not one of ours is InvalidParameterValue.
- `IncludeLinkedAccounts` and `OwningAccount` are ignored (no cross-account observability);
  `OwningAccounts` is never returned.

The patch is on moto's backend and JSON/query response handler, so boto3 (query or JSON 1.0)
and the Rust SDK (CBOR, which cloudwatch_cbor forwards to the JSON handler) get the same
answer. Tests age data with POST /_plgov/metric-ingestion (see control.py), which moves
recorded ingestion times back, since a test cannot wait three hours.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from moto.cloudwatch.exceptions import InvalidParameterValue, ValidationError
from moto.cloudwatch.models import CloudWatchBackend, cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult

PAGE_SIZE = 500
RECENTLY_ACTIVE_SECONDS = 3 * 3600
RETENTION_SECONDS = 14 * 24 * 3600
MAX_DIMENSION_FILTERS = 10

_lock = threading.RLock()


@dataclass
class _Metric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]  # in the order first put
    last_ingested: float

    def as_json(self) -> dict[str, Any]:
        return {"Namespace": self.namespace, "MetricName": self.name,
                "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions]}


class _Index:
    """The metrics of one backend, keyed by (namespace, name, sorted dimensions)."""

    def __init__(self) -> None:
        self.metrics: dict[tuple[Any, ...], _Metric] = {}
        self.order: list[tuple[Any, ...]] = []
        self.seen = 0  # how many of backend.metric_data are indexed

    def add(self, datum: Any, ingested: float) -> None:
        dims = tuple((d.name, d.value) for d in datum.dimensions)
        key = (datum.namespace, datum.name, tuple(sorted(dims)))
        metric = self.metrics.get(key)
        if metric is None:
            self.metrics[key] = _Metric(datum.namespace, datum.name, dims, ingested)
            self.order.append(key)
        elif ingested > metric.last_ingested:
            metric.last_ingested = ingested


def _timestamp_of(datum: Any) -> float:
    stamp = getattr(datum, "timestamp", None)
    return stamp.timestamp() if hasattr(stamp, "timestamp") else time.time()


def _index_of(backend: CloudWatchBackend) -> _Index:
    """The backend's index, brought up to date with data put by any other path."""
    index = backend.__dict__.get("_plgov_metric_index")
    data = backend.metric_data
    if index is None or index.seen > len(data):  # first use, or the data was reset
        index = _Index()
        backend.__dict__["_plgov_metric_index"] = index
    for datum in data[index.seen:]:
        index.add(datum, getattr(datum, "plgov_ingested", None) or _timestamp_of(datum))
    index.seen = len(data)
    return index


def set_ingestion_time(account: str, region: str, ingested_at: float, namespace: str | None = None) -> int:
    """Records that the account's data (of `namespace`, or all of it) was put at `ingested_at`.

    Returns the number of data points changed. For tests: CloudWatch's RecentlyActive and
    two-week windows are about when data was put, which a test cannot wait for."""
    backend = cloudwatch_backends[account][region]
    changed = 0
    with _lock:
        for datum in backend.metric_data:
            if namespace is None or datum.namespace == namespace:
                datum.plgov_ingested = ingested_at
                changed += 1
        backend.__dict__.pop("_plgov_metric_index", None)  # rebuilt from the new times
    return changed


def _encode_token(position: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"p": position, "f": fingerprint}).encode()).decode()


def _decode_token(token: str, fingerprint: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        position = data["p"]
        if data["f"] != fingerprint or not isinstance(position, int) or position < 0:
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidParameterValue("Request parameter NextToken is invalid") from None
    return position


def _matches(metric: _Metric, namespace: str | None, name: str | None,
             filters: list[tuple[str, str | None]]) -> bool:
    if namespace and metric.namespace != namespace:
        return False
    if name and metric.name != name:
        return False
    for fname, fvalue in filters:
        if not any(n == fname and (fvalue is None or v == fvalue) for n, v in metric.dimensions):
            return False
    return True


def list_metrics(backend: CloudWatchBackend, namespace: str | None, metric_name: str | None,
                 dimensions: list[dict[str, Any]] | None, next_token: str | None = None,
                 recently_active: str | None = None) -> tuple[str | None, list[dict[str, Any]]]:
    if recently_active is not None and recently_active != "PT3H":
        raise ValidationError(f"1 validation error detected: Value '{recently_active}' at 'recentlyActive' "
                              "failed to satisfy constraint: Member must satisfy enum value set: [PT3H]")
    dimensions = dimensions or []
    if len(dimensions) > MAX_DIMENSION_FILTERS:
        raise ValidationError(f"1 validation error detected: Value at 'dimensions' failed to satisfy constraint: "
                              f"Member must have length less than or equal to {MAX_DIMENSION_FILTERS}")
    filters: list[tuple[str, str | None]] = []
    for d in dimensions:
        if not d.get("Name"):
            raise ValidationError("1 validation error detected: Value null at 'dimensions.member.name' failed to "
                                  "satisfy constraint: Member must not be null")
        filters.append((d["Name"], d.get("Value")))
    fingerprint = hashlib.sha256(json.dumps([namespace, metric_name, filters, recently_active]).encode()).hexdigest()[:16]
    start = _decode_token(next_token, fingerprint) if next_token else 0

    now = time.time()
    oldest = now - (RECENTLY_ACTIVE_SECONDS if recently_active else RETENTION_SECONDS)
    with _lock:
        index = _index_of(backend)
        candidates = [index.metrics[key] for key in index.order]
    # Metrics moto computes when asked (S3's daily storage metrics), after the stored ones.
    computed: dict[tuple[Any, ...], _Metric] = {}
    for datum in backend.aws_metric_data:
        dims = tuple((d.name, d.value) for d in datum.dimensions)
        key = (datum.namespace, datum.name, tuple(sorted(dims)))
        stamp = _timestamp_of(datum)
        if key not in computed or stamp > computed[key].last_ingested:
            computed[key] = _Metric(datum.namespace, datum.name, dims, stamp)
    candidates.extend(computed.values())

    page: list[dict[str, Any]] = []
    position = start
    while position < len(candidates) and len(page) < PAGE_SIZE:
        metric = candidates[position]
        position += 1
        if metric.last_ingested >= oldest and _matches(metric, namespace, metric_name, filters):
            page.append(metric.as_json())
    more = any(m.last_ingested >= oldest and _matches(m, namespace, metric_name, filters)
               for m in candidates[position:])
    return (_encode_token(position, fingerprint) if more else None), page


def install() -> None:
    """Patch moto: record when each data point is put, and answer ListMetrics from that record."""
    original_put = CloudWatchBackend.put_metric_data

    def put_metric_data(self: CloudWatchBackend, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        with _lock:
            before = len(self.metric_data)
            original_put(self, namespace, metric_data)
            now = time.time()
            for datum in self.metric_data[before:]:
                datum.plgov_ingested = now
            if "_plgov_metric_index" in self.__dict__:  # built by the first ListMetrics, then kept up
                _index_of(self)

    CloudWatchBackend.put_metric_data = put_metric_data

    def backend_list_metrics(self: CloudWatchBackend, next_token: str | None, namespace: str, metric_name: str,
                             dimensions: list[dict[str, str]], recently_active: str | None = None
                             ) -> tuple[str | None, list[dict[str, Any]]]:
        return list_metrics(self, namespace, metric_name, dimensions, next_token, recently_active)

    CloudWatchBackend.list_metrics = backend_list_metrics

    def response_list_metrics(self: CloudWatchResponse) -> ActionResult:
        token, metrics = self.cloudwatch_backend.list_metrics(
            self._get_param("NextToken"), self._get_param("Namespace"), self._get_param("MetricName"),
            self._get_params().get("Dimensions", []), recently_active=self._get_param("RecentlyActive"))
        result: dict[str, Any] = {"Metrics": metrics}
        if token:
            result["NextToken"] = token
        return ActionResult(result)

    CloudWatchResponse.list_metrics = response_list_metrics
