"""Fixes to moto behaviour the project relies on.

moto 5.2's GetMetricData drops the namespace filter as soon as a query names
dimensions, so equal metric names and dimensions in two namespaces (our
`BytesProcessed` beside `AWS/PrivateLinkEndpoints`') would be summed together; and a
query without dimensions sums every series of that name, where CloudWatch answers only
the series without dimensions (our region totals beside the per-endpoint series).
Each MetricStat query is answered here over the data of its own namespace only, and a
query without dimensions over the data points without dimensions only.

moto's CloudFormation also ignores a table's `TimeToLiveSpecification`; it is applied here.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

_lock = threading.Lock()


def _series_key(namespace: Any, name: Any, dimensions: list[tuple[Any, Any]]) -> tuple[Any, ...]:
    return (namespace, name, tuple(sorted(dimensions, key=str)))


def install() -> None:
    original = CloudWatchBackend.get_metric_data

    def get_metric_data(self: Any, queries: list[dict[str, Any]], start_time: Any, end_time: Any,
                        scan_by: str = "TimestampAscending") -> list[dict[str, Any]]:
        if any("MetricStat" not in q for q in queries):  # expressions may refer to each other
            return original(self, queries, start_time, end_time, scan_by)
        results: list[dict[str, Any]] = []
        with _lock:
            # One pass indexes the data by series (namespace, name, exact dimension set), so each
            # query sees its own series only, and a call with thousands of queries stays fast.
            series: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
            for md in self.get_all_metrics():
                series[_series_key(md.namespace, md.name, [(d.name, d.value) for d in md.dimensions])].append(md)
            try:
                for query in queries:
                    metric = query["MetricStat"]["Metric"]
                    key = _series_key(metric.get("Namespace"), metric.get("MetricName"),
                                      [(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])])
                    self.get_all_metrics = lambda k=key: series.get(k, [])
                    results.extend(original(self, [query], start_time, end_time, scan_by))
            finally:
                del self.get_all_metrics
        return results

    CloudWatchBackend.get_metric_data = get_metric_data

    original_create = Table.create_from_cloudformation_json.__func__

    def create_table(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                     **kwargs: Any) -> Any:
        table = original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        ttl = cloudformation_json["Properties"].get("TimeToLiveSpecification")
        if ttl:
            dynamodb_backends[account_id][region_name].update_time_to_live(table.name, ttl)
        return table

    Table.create_from_cloudformation_json = classmethod(create_table)
