"""CloudWatch over Smithy RPC v2 CBOR, translated to moto's JSON 1.0 CloudWatch.

The Rust aws-sdk-cloudwatch speaks only RPC v2 CBOR
(`POST /service/GraniteServiceVersion20100801/operation/<Op>`), which moto answers
with 404. This module decodes the CBOR request, hands moto the same operation as a
JSON 1.0 request (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`), and encodes
moto's answer back to CBOR. botocore's CloudWatch model tells which output members
are timestamps (CBOR tag 1), blobs and floating point numbers.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import io
import json
from typing import Any, Callable, Iterable

import botocore.session
import cbor2
from dateutil import parser as date_parser

TARGET_PREFIX = "GraniteServiceVersion20100801"
PATH_PREFIX = f"/service/{TARGET_PREFIX}/operation/"
CBOR_CONTENT_TYPE = "application/cbor"

_service_model = botocore.session.get_session().get_service_model("cloudwatch")


def is_cbor_request(environ: dict[str, Any]) -> bool:
    return environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "").startswith(PATH_PREFIX)


def operation_of(environ: dict[str, Any]) -> str:
    return environ["PATH_INFO"][len(PATH_PREFIX):]


def _to_json_value(value: Any) -> Any:
    """CBOR input to JSON 1.0 input: timestamps become epoch seconds, blobs base64."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: _to_json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json_value(v) for v in value]
    return value


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    parsed = date_parser.isoparse(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _to_cbor_value(value: Any, shape: Any) -> Any:
    """JSON 1.0 output to CBOR output, driven by the output shape of the model."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        return {k: _to_cbor_value(v, members.get(k)) for k, v in value.items() if k in members}
    if kind == "list":
        return [_to_cbor_value(v, shape.member) for v in value]
    if kind == "map":
        return {k: _to_cbor_value(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        return _to_datetime(value)
    if kind == "blob":
        return base64.b64decode(value) if isinstance(value, str) else value
    if kind in ("double", "float"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    return value


def _error_body(status: int, body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        parsed = {}
    error_type = parsed.get("__type") or ("InternalFailure" if status >= 500 else "ValidationError")
    message = parsed.get("message") or parsed.get("Message") or body.decode(errors="replace")
    return {"__type": error_type, "message": message}


def _read_body(environ: dict[str, Any], body: bytes) -> bytes:
    if environ.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
        return gzip.decompress(body)
    return body


def handle(
    app: Callable[..., Iterable[bytes]],
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    body: bytes,
) -> Iterable[bytes]:
    operation = operation_of(environ)
    try:
        operation_model = _service_model.operation_model(operation)
    except Exception:
        return respond(start_response, 404, {"__type": "UnknownOperationException",
                                              "message": f"unknown operation {operation}"}, {})
    try:
        raw = _read_body(environ, body)
        request = cbor2.loads(raw) if raw else {}
    except Exception as exc:
        return respond(start_response, 400, {"__type": "SerializationException",
                                              "message": f"malformed CBOR body: {exc}"}, {})

    json_body = json.dumps(_to_json_value(request or {})).encode()
    inner = dict(environ)
    for key in ("HTTP_CONTENT_ENCODING", "HTTP_SMITHY_PROTOCOL", "HTTP_ACCEPT"):
        inner.pop(key, None)
    inner.update({
        "PATH_INFO": "/",
        "RAW_URI": "/",
        "REQUEST_URI": "/",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-amz-json-1.0",
        "CONTENT_LENGTH": str(len(json_body)),
        "HTTP_X_AMZ_TARGET": f"{TARGET_PREFIX}.{operation}",
        "wsgi.input": io.BytesIO(json_body),
    })

    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = headers
        return lambda _chunk: None

    chunks = app(inner, capture)
    try:
        out = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
    status = captured["status"]
    extra = {k: v for k, v in captured["headers"] if k.lower() in ("x-amzn-requestid", "x-amzn-query-error")}
    if status >= 300:
        return respond(start_response, status, _error_body(status, out), extra)
    if operation_model.output_shape is None:
        return respond(start_response, status, None, extra)
    parsed = json.loads(out) if out.strip() else {}
    return respond(start_response, status, _to_cbor_value(parsed, operation_model.output_shape), extra)


def respond(start_response: Callable[..., Any], status: int, payload: Any, extra: dict[str, str]) -> list[bytes]:
    body = b"" if payload is None else cbor2.dumps(payload, datetime_as_timestamp=True, timezone=dt.timezone.utc)
    headers = [("smithy-protocol", "rpc-v2-cbor"), ("Content-Length", str(len(body)))]
    if payload is not None:
        headers.append(("Content-Type", CBOR_CONTENT_TYPE))
    headers.extend(extra.items())
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}.get(status, "Status")
    start_response(f"{status} {reason}", headers)
    return [body]
