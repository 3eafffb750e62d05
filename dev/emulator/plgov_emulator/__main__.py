"""Runs the emulator: `python -m plgov_emulator [--host H] [--port P]`."""

from __future__ import annotations

import argparse
import gc
import io
import json
from typing import Any, Callable, Iterable

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from . import cfn_models, cloudwatch_cbor, connections, moto_fixes, pricing
from . import cfn_lifecycle, cfn_resources, endpoint_services, notifications, securityhub
from . import cross_account, cross_account_sse, logs_insights, metric_math, organization, stacksets
from . import cfn_rules, lambda_code, list_metrics, usage
from . import dynamodb_json, ec2_front, endpoint_index, moto_speed, serving
from . import resource_endpoints, transact_puts
from .control import Control, fail, identify


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):  # chunked upload: werkzeug ends the stream
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


class Emulator:
    """WSGI front of moto: control endpoints, counting and faults, CBOR translation."""

    def __init__(self, moto_app: Callable[..., Iterable[bytes]]):
        self.moto_app = moto_app
        self.control = Control()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = _read_body(environ)
        if environ.get("PATH_INFO", "").startswith("/_plgov/"):
            status, payload = self.control.handle(environ, body)
            out = json.dumps(payload).encode()
            start_response(f"{status} {'OK' if status == 200 else 'Error'}",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
            return [out]
        call = identify(environ, body)
        if call is not None:
            fault = self.control.record(call)
            if fault is not None:
                return fail(call, fault, start_response)
        if call is not None and call.service == "ec2":  # our connection actions, without moto's dispatch
            answered = ec2_front.answer(environ, body, call.operation, start_response)
            if answered is not None:
                return answered
        if pricing.is_pricing_request(environ):  # moto has no Price List API
            return pricing.handle(environ, start_response, body, call.account if call else None)
        if cloudwatch_cbor.is_cbor_request(environ):
            return cloudwatch_cbor.handle(self.moto_app, environ, start_response, body)
        return self.moto_app(environ, start_response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args()
    # The emulator keeps hundreds of thousands of long-lived objects (moto's models, DynamoDB
    # items) and makes thousands of short-lived ones per request. With Python's default
    # thresholds a sweep of 1,000 services triggered ~1,000 young, ~90 middle and 2 full
    # collections, 1.5 s in all (a full one ~0.6 s); with these, ~15 young ones, 0.3 s.
    gc.set_threshold(50_000, 20, 100)
    moto_speed.install()  # moto hot spots: per-request overhead, DynamoDB condition parses and order
    endpoint_index.install()  # before any EC2 backend exists: each keeps its endpoints indexed
    dynamodb_json.install()  # Scan and Query results rendered without moto's generic serializer
    connections.install()
    moto_fixes.install()
    metric_math.install()  # after moto_fixes.install(): it reads MetricStat queries through it
    usage.install()  # after metric_math.install(): it counts the metrics SEARCH finds
    list_metrics.install()
    logs_insights.install()
    cfn_models.install()
    cfn_resources.install()
    cfn_lifecycle.install()
    notifications.install()  # after connections.install(): it wraps the endpoint lifecycle
    endpoint_services.install()
    resource_endpoints.install()  # after connections, notifications, endpoint_services: creates through them
    securityhub.install()
    cross_account.install()  # after cfn_lifecycle.install(): it wraps the table update
    cross_account_sse.install()  # after cross_account.install(): it wraps its authorize()
    transact_puts.install()  # after cross_account and moto_fixes: it calls their transaction path
    organization.install()
    stacksets.install()  # after organization.install(): it wraps CreateAccount too
    cfn_rules.install()
    lambda_code.install()
    moto_app = DomainDispatcherApplication(create_backend_app)
    serving.serve(args.host, args.port, Emulator(moto_app))  # keep-alive connections, no access log


if __name__ == "__main__":
    main()
