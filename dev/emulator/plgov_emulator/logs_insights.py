"""CloudWatch Logs Insights queries (StartQuery / GetQueryResults) over moto's log events.

moto 5.2's StartQuery parses only `fields`, `sort` and `limit`: a `filter` or `stats`
query silently returns every event, and `logGroupIdentifiers` is ignored. Here
StartQuery parses the query with insights_query (which documents the supported
language) and runs it at once over the events of the named log groups put with
PutLogEvents; a malformed query, or one using what the emulator does not support, is a
MalformedQueryException (with `queryCompileError`, as CloudWatch reports it) at
StartQuery, never a wrong answer. GetQueryResults returns the rows as the API does
(lists of {field, value} strings), status Complete and the statistics recordsMatched,
recordsScanned, bytesScanned and logGroupsScanned.

StartQuery takes exactly one of logGroupName, logGroupNames or logGroupIdentifiers
(names or ARNs of the caller's account and region); a missing log group is
ResourceNotFoundException. startTime and endTime are epoch seconds and both inclusive:
events from startTime*1000 through the last millisecond of endTime. `limit` caps the
rows returned (default 10,000, the most one GetQueryResults page holds). Queries in
other query languages (queryLanguage SQL or PPL) are InvalidParameterException.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from moto.core.utils import utcnow
from moto.logs.exceptions import InvalidParameterException, LogsClientError, ResourceNotFoundException
from moto.logs.responses import LogsResponse

from .insights_query import Event, QueryError, Result, execute, parse_query

DEFAULT_LIMIT = 10_000


class MalformedQueryException(LogsClientError):
    """StartQuery's error for a query it cannot compile, with the offending location."""

    def __init__(self, error: QueryError):
        super().__init__("MalformedQueryException", str(error))
        self.description = json.dumps({
            "__type": "MalformedQueryException",
            "message": str(error),
            "queryCompileError": {"location": {"startCharOffset": error.start, "endCharOffset": error.end},
                                  "message": str(error)},
        })


class InsightsQuery:
    """A finished query, shaped like moto's LogQuery so DescribeQueries lists it too."""

    def __init__(self, query_id: str, query: str, log_group_names: list[str], result: Result):
        self.query_id = query_id
        self.query = query
        self.log_group_names = log_group_names
        self.result = result
        self.status = "Complete"
        self.create_time = utcnow()

    def to_json(self, log_group_name: str) -> dict[str, Any]:
        return {"queryId": self.query_id, "queryString": self.query, "status": self.status,
                "createTime": int(self.create_time.timestamp() * 1000), "logGroupName": log_group_name}

    def to_result_json(self) -> dict[str, Any]:
        result = self.result
        return {
            "queryLanguage": "CWLI",
            "results": result.rows,
            "statistics": {"recordsMatched": float(result.records_matched),
                           "recordsScanned": float(result.records_scanned),
                           "bytesScanned": float(result.bytes_scanned),
                           "logGroupsScanned": float(len(self.log_group_names))},
            "status": self.status,
        }


def _group_names(response: Any) -> list[str]:
    given = {key: response._get_param(key) for key in ("logGroupName", "logGroupNames", "logGroupIdentifiers")}
    present = [key for key, value in given.items() if value]
    if len(present) != 1:
        raise InvalidParameterException("A StartQuery operation must include exactly one of logGroupName, "
                                        "logGroupNames or logGroupIdentifiers.")
    key = present[0]
    if key == "logGroupName":
        return [given[key]]
    if key == "logGroupNames":
        return list(given[key])
    names = []
    for identifier in given[key]:
        if not identifier.startswith("arn:"):
            names.append(identifier)
            continue
        parts = identifier.split(":", 6)
        if len(parts) != 7 or parts[2] != "logs" or parts[5] != "log-group":
            raise InvalidParameterException(f"{identifier} is not a log group ARN.")
        if parts[3] != response.region or parts[4] != response.current_account:
            raise ResourceNotFoundException(f"The log group {identifier} is not in this account and region "
                                            "(cross-account queries are not supported by the emulator).")
        name = parts[6]
        names.append(name[:-2] if name.endswith(":*") else name)
    return names


def _events(backend: Any, names: list[str], start_ms: int, end_ms: int, account: str) -> list[Event]:
    events = []
    for name in names:
        group = backend.groups.get(name)
        if group is None:
            raise ResourceNotFoundException(f"Log group '{name}' does not exist for account ID '{account}'.")
        for stream in list(group.streams.values()):
            for event in list(stream.events):
                if start_ms <= event.timestamp <= end_ms:
                    events.append(Event(event.timestamp, event.ingestion_time, event.message,
                                        stream.log_stream_name, name, account, f"{name}/{event.event_id}"))
    return events


def start_query(self: Any) -> str:
    language = self._get_param("queryLanguage")
    if language not in (None, "CWLI"):
        raise InvalidParameterException(f"queryLanguage {language} is not supported by the emulator (only CWLI).")
    names = _group_names(self)
    start, end = self._get_int_param("startTime"), self._get_int_param("endTime")
    if start is None or end is None:
        raise InvalidParameterException("startTime and endTime are required.")
    if end < start:
        raise InvalidParameterException("endTime must be greater than or equal to startTime.")
    limit = self._get_int_param("limit") or DEFAULT_LIMIT
    text = self._get_param("queryString") or ""
    try:
        query = parse_query(text)
        events = _events(self.logs_backend, names, start * 1000, end * 1000 + 999, self.current_account)
        result = execute(query, events, limit)
    except QueryError as exc:
        raise MalformedQueryException(exc) from None
    query_id = str(uuid.uuid4())
    self.logs_backend.queries[query_id] = InsightsQuery(query_id, text, names, result)
    return json.dumps({"queryId": query_id})


def get_query_results(self: Any) -> str:
    query_id = self._get_param("queryId")
    query = self.logs_backend.queries.get(query_id)
    if query is None:
        raise ResourceNotFoundException(f"The query {query_id} does not exist.")
    return json.dumps(query.to_result_json())


def install() -> None:
    LogsResponse.start_query = start_query
    LogsResponse.get_query_results = get_query_results
