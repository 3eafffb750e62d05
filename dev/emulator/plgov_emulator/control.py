"""Fault injection and call counting, switched over HTTP under /_plgov/.

POST   /_plgov/faults  {"operation": "AcceptVpcEndpointConnections", "error": "RequestLimitExceeded",
                        "count": 3, "service": "ec2", "account": "123456789012", "status": 503,
                        "body_contains": "vpce-svc-0abc"}
                       fails the next `count` matching calls (count -1: until cleared).
                       `operation` is required; `service`, `account` and `body_contains` (a string the
                       request body must contain) narrow it; `error` and `status` shape the failure
                       (no `error` means an internal error, status 500).
GET    /_plgov/faults  the faults still armed.
DELETE /_plgov/faults[?account=ID]  disarms the faults armed for that account (tests running in
                       parallel disarm only their own), or without `account` every fault.
GET    /_plgov/calls[?account=ID]  calls received per "service:Operation" (all accounts, or one).
DELETE /_plgov/calls   resets the counts.
POST   /_plgov/endpoint-times  {"account": "123456789012", "region": "us-east-1",
                       "endpoints": ["vpce-0abc"], "createdAt": 1795766400} backdates endpoints'
                       creation time (tests choose the hour they price, whatever the clock says).
GET    /_plgov/usage?account=ID  what AWS would bill the account for (usage.py): GetMetricData
                       requests, metricsRequested (1 per MetricStat query and per metric a SEARCH
                       found) and metricsBilled (up to 5 statistics of one metric in a call count
                       once); PutMetricData requests; custom metrics (non-AWS/ namespaces) with the
                       distinct UTC hours of their data points (`hours`, by timestamp) and of their
                       puts (`hoursSent`); PutLogEvents events, messageBytes and bytesIngested
                       (+26 bytes per event); DynamoDB read/write request units per table.
DELETE /_plgov/usage[?account=ID]  resets that account's counters (or every account's).
POST   /_plgov/metric-ingestion  {"account": "123456789012", "region": "us-east-1",
                       "ingestedAt": 1795766400, "namespace": "optional"} records that the account's
                       metric data (of that namespace) was put at that time, for ListMetrics'
                       RecentlyActive (list_metrics.py): tests cannot wait three hours.
POST|GET|DELETE /_plgov/pricelist  Price List records of a test's own, seen only by the account
                       named (pricing.py's docstring has the contract).
GET    /_plgov/health  answers once the emulator is up.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from . import cloudwatch_cbor

DEFAULT_ACCOUNT = "123456789012"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request")
_TARGET_SERVICES = {"DynamoDB": "dynamodb", "GraniteServiceVersion": "cloudwatch", "AWSEvents": "events",
                    "AWSPriceListService": "pricing"}
# Codes AWS sends with 503 rather than 400.
_UNAVAILABLE_CODES = {"RequestLimitExceeded", "ServiceUnavailable", "Unavailable"}
_INTERNAL_CODES = {"ec2": "InternalError", "dynamodb": "InternalServerError", "pricing": "InternalErrorException"}


@dataclass
class Call:
    service: str
    operation: str
    account: str
    protocol: str  # "cbor", "json" or "query"
    body: bytes = b""


@dataclass
class Fault:
    operation: str
    service: str | None
    account: str | None
    error: str | None
    status: int
    remaining: int  # -1: until cleared
    body_contains: str | None = None

    def matches(self, call: Call) -> bool:
        return (
            self.remaining != 0
            and self.operation == call.operation
            and (self.service is None or self.service == call.service)
            and (self.account is None or self.account == call.account)
            and (self.body_contains is None or self.body_contains.encode() in call.body)
        )

    def as_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "service": self.service, "account": self.account,
                "error": self.error, "status": self.status, "count": self.remaining,
                "body_contains": self.body_contains}


def parse_fault(spec: Any) -> Fault:
    if not isinstance(spec, dict):
        raise ValueError("a fault is a JSON object")
    operation = spec.get("operation")
    if not isinstance(operation, str) or not operation:
        raise ValueError("'operation' (e.g. AcceptVpcEndpointConnections) is required")
    error = spec.get("error")
    if error is not None and not isinstance(error, str):
        raise ValueError("'error' must be an error code string")
    count = spec.get("count", 1)
    if not isinstance(count, int) or count == 0 or count < -1:
        raise ValueError("'count' must be a positive whole number, or -1 for until cleared")
    default_status = 500 if error is None else 503 if error in _UNAVAILABLE_CODES else 400
    status = spec.get("status", default_status)
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise ValueError("'status' must be an HTTP error status (400..599)")
    for key in ("service", "account", "body_contains"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise ValueError(f"'{key}' must be a string")
    return Fault(operation, spec.get("service"), spec.get("account"), error, status, count,
                 spec.get("body_contains"))


class Control:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._calls: dict[str, Counter[str]] = defaultdict(Counter)

    def record(self, call: Call) -> Fault | None:
        """Counts the call and returns the armed fault it must fail with, if any."""
        with self._lock:
            self._calls[call.account][f"{call.service}:{call.operation}"] += 1
            for fault in self._faults:
                if fault.matches(call):
                    if fault.remaining > 0:
                        fault.remaining -= 1
                    return fault
        return None

    def handle(self, environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if path == "/_plgov/health":
            return 200, {"ok": True}
        if path == "/_plgov/faults":
            if method == "GET":
                with self._lock:
                    return 200, {"faults": [f.as_json() for f in self._faults if f.remaining != 0]}
            if method == "DELETE":
                account = parse_qs(environ.get("QUERY_STRING", "")).get("account", [None])[0]
                with self._lock:
                    if account is None:
                        self._faults.clear()
                    else:
                        self._faults = [f for f in self._faults if f.account != account]
                    return 200, {"faults": [f.as_json() for f in self._faults if f.remaining != 0]}
            if method == "POST":
                try:
                    spec = json.loads(body or b"null")
                    faults = [parse_fault(s) for s in (spec if isinstance(spec, list) else [spec])]
                except ValueError as exc:
                    return 400, {"error": f"invalid fault: {exc}"}
                with self._lock:
                    self._faults.extend(faults)
                return 200, {"armed": [f.as_json() for f in faults]}
        if path == "/_plgov/calls":
            if method == "GET":
                account = parse_qs(environ.get("QUERY_STRING", "")).get("account", [None])[0]
                with self._lock:
                    if account is not None:
                        return 200, {"calls": dict(self._calls.get(account, {}))}
                    total: Counter[str] = Counter()
                    for counts in self._calls.values():
                        total.update(counts)
                    return 200, {"calls": dict(total)}
            if method == "DELETE":
                with self._lock:
                    self._calls.clear()
                return 200, {"calls": {}}
        if path == "/_plgov/endpoint-times" and method == "POST":
            from .connections import set_creation_time  # imported late: moto loads slowly

            try:
                spec = json.loads(body or b"null")
                for endpoint in spec["endpoints"]:
                    set_creation_time(spec["account"], spec["region"], endpoint, float(spec["createdAt"]))
            except (ValueError, KeyError, TypeError) as exc:
                return 400, {"error": f"invalid endpoint time: {exc}"}
            return 200, {"endpoints": spec["endpoints"], "createdAt": spec["createdAt"]}
        if path == "/_plgov/usage":
            from . import usage  # imported late: moto loads slowly

            return usage.handle(method, environ)
        if path == "/_plgov/metric-ingestion" and method == "POST":
            from .list_metrics import set_ingestion_time  # imported late: moto loads slowly

            try:
                spec = json.loads(body or b"null")
                changed = set_ingestion_time(spec["account"], spec["region"], float(spec["ingestedAt"]),
                                             spec.get("namespace"))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                return 400, {"error": f"invalid metric ingestion time: {exc}"}
            return 200, {"dataPoints": changed, "ingestedAt": spec["ingestedAt"]}
        if path == "/_plgov/pricelist":
            from . import pricing  # imported late: pricing imports this module

            return pricing.control(method, environ, body)
        return 404, {"error": f"no control endpoint {method} {path}"}


def identify(environ: dict[str, Any], body: bytes) -> Call | None:
    """The AWS operation a request asks for, or None for anything else."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = _CREDENTIAL.search(auth)
    access_key, scope_service = (match.group(1), match.group(3)) if match else ("", "")
    if cloudwatch_cbor.is_cbor_request(environ):
        service, operation, protocol = "cloudwatch", cloudwatch_cbor.operation_of(environ), "cbor"
    elif environ.get("HTTP_X_AMZ_TARGET"):
        prefix, _, operation = environ["HTTP_X_AMZ_TARGET"].partition(".")
        service = next((v for k, v in _TARGET_SERVICES.items() if prefix.startswith(k)), scope_service)
        protocol = "json"
    else:
        params = parse_qs(environ.get("QUERY_STRING", ""))
        if "form-urlencoded" in environ.get("CONTENT_TYPE", ""):
            params.update(parse_qs(body.decode(errors="replace")))
        if "Action" not in params:
            return None
        service, operation, protocol = scope_service or "unknown", params["Action"][0], "query"
    if scope_service == "monitoring":
        service = "cloudwatch"
    return Call(service, operation, account_of(access_key), protocol, body)


def account_of(access_key: str) -> str:
    if not access_key:
        return DEFAULT_ACCOUNT
    from moto.iam.models import get_account_id_from  # imported late: moto loads slowly

    return get_account_id_from(access_key)


def fail(call: Call, fault: Fault, start_response: Callable[..., Any]) -> Iterable[bytes]:
    code = fault.error or _INTERNAL_CODES.get(call.service, "InternalFailure")
    message = f"injected fault: {code} on {call.operation}"
    request_id = str(uuid.uuid4())
    status = f"{fault.status} Injected"
    if call.protocol == "cbor":
        return cloudwatch_cbor.respond(
            start_response, fault.status, {"__type": code, "message": message},
            {"x-amzn-RequestId": request_id, "x-amzn-query-error": f"{code};Sender"})
    if call.protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        start_response(status, [("Content-Type", "application/x-amz-json-1.0"),
                                ("x-amzn-ErrorType", code), ("x-amzn-RequestId", request_id),
                                ("Content-Length", str(len(body)))])
        return [body]
    if call.service == "ec2":
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
               f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
    else:
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><ErrorResponse><Error><Type>Sender</Type>'
               f"<Code>{code}</Code><Message>{message}</Message></Error>"
               f"<RequestId>{request_id}</RequestId></ErrorResponse>")
    body = xml.encode()
    start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]
