"""Fixes to moto behaviour the project relies on.

moto 5.2's GetMetricData drops the namespace filter as soon as a query names
dimensions, so equal metric names and dimensions in two namespaces (our
`BytesProcessed` beside `AWS/PrivateLinkEndpoints`') would be summed together; and a
query without dimensions sums every series of that name, where CloudWatch answers only
the series without dimensions (our region totals beside the per-endpoint series).
Each MetricStat query is answered here over the data of its own namespace only, and a
query without dimensions over the data points without dimensions only.

moto's CloudFormation also ignores a table's `TimeToLiveSpecification`; it is applied here.

moto keeps a None in a stack's resources for a resource whose Condition is false:
DescribeStackResource then fails with an internal error and DescribeStackResources and
ListStackResources list an empty entry. A stack's resources here are the ones that exist.

moto drops a Lambda function's LoggingConfig; it is kept and returned here.

moto resolves `AWS::NoValue` to None and keeps it in a list, where CloudFormation removes the
element: `Statement: [.., !If [Cond, {..}, !Ref AWS::NoValue]]` left a null statement in the
deployed role's policy. An element of a list that resolves to nothing (a `Ref` or `Fn::If` that
gave `AWS::NoValue`) is removed here.

moto's TransactWriteItems, to be able to roll back, deep-copies the whole table once per action
of the transaction: 100 conditional puts into an audit table of a few thousand records copy
hundreds of thousands of items per call, and a sweep of 2,500 connections ran the emulator out
of memory. Here the transaction saves only the items it touches, and puts them back if it is
cancelled, which is what rolling back means.
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.cloudwatch.models import CloudWatchBackend
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

_lock = threading.Lock()


def _series_key(namespace: Any, name: Any, dimensions: list[tuple[Any, Any]]) -> tuple[Any, ...]:
    return (namespace, name, tuple(sorted(dimensions, key=str)))


def _touched_keys(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(table name, key) of every item the transaction writes or checks, that exist as tables."""
    touched = []
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto refuses it with the right error
        op_type, op = next(iter(entry.items()))
        name = op.get("TableName")
        if name not in backend.tables:
            continue
        table = backend.tables[name]
        if op_type == "Put":
            attrs = op.get("Item", {})
            key = {k: attrs[k] for k in (table.hash_key_attr, table.range_key_attr) if k and k in attrs}
        else:
            key = op.get("Key", {})
        touched.append((name, key))
    return touched


def _install_item_level_rollback() -> None:
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for name, key in _touched_keys(self, transact_items):
            try:
                item = self.get_item(name, key)
            except Exception:  # a malformed key: moto reports it
                continue
            saved.append((name, key, copy.deepcopy(item.to_json()["Attributes"]) if item else None))
        try:
            return original(self, transact_items)
        except Exception:
            for name, key, attributes in reversed(saved):
                if attributes is None:
                    self.delete_item(name, key)
                else:
                    self.put_item(name, attributes)
            raise

    # moto's table-wide backup (its only deep copy of a Table) becomes the table itself: the
    # items saved above are what is put back.
    real_copy = dynamodb_models.copy
    dynamodb_models.copy = SimpleNamespace(
        deepcopy=lambda value, memo=None: value if isinstance(value, Table) else real_copy.deepcopy(value, memo))
    DynamoDBBackend.transact_write_items = transact_write_items


def _install_stack_resources_fix() -> None:
    from moto.cloudformation.models import Stack

    resources = Stack.stack_resources
    Stack.stack_resources = property(lambda stack: [r for r in resources.fget(stack) if r is not None])


def _install_no_value_in_lists() -> None:
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if isinstance(resource_json, list):
            cleaned = [clean_json(v, resources_map) for v in resource_json]
            return [c for c, v in zip(cleaned, resource_json)
                    if not (c is None and isinstance(v, dict) and ("Ref" in v or "Fn::If" in v))]
        return original(resource_json, resources_map)

    # moto's clean_json calls itself by its module name, so its own recursion comes here too.
    parsing.clean_json = clean_json


def install() -> None:
    _install_no_value_in_lists()
    _install_lambda_logging_config()
    _install_item_level_rollback()
    _install_stack_resources_fix()
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


def _install_lambda_logging_config() -> None:
    """moto drops a function's `LoggingConfig` (SAM's `LogFormat: JSON`): it is kept and returned by
    GetFunctionConfiguration, so dev/invoke runs the function with the log format AWS would give it."""
    from moto.awslambda.models import LambdaFunction

    original_init = LambdaFunction.__init__
    original_configuration = LambdaFunction.get_configuration

    def init(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        self.plgov_logging_config = spec.get("LoggingConfig")

    def get_configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_configuration(self, *args, **kwargs)
        logging_config = getattr(self, "plgov_logging_config", None)
        if logging_config:
            config["LoggingConfig"] = dict(logging_config)
        return config

    original_cfn = LambdaFunction.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> Any:
        fn = original_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        fn.plgov_logging_config = cloudformation_json["Properties"].get("LoggingConfig")
        return fn

    LambdaFunction.__init__ = init
    LambdaFunction.get_configuration = get_configuration
    LambdaFunction.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
