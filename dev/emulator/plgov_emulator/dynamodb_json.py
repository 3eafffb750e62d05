"""DynamoDB Scan and Query responses rendered without moto's generic serializer.

moto renders a Scan or Query result by walking the botocore output shape; each attribute value of
each item is an `AttributeValue` structure of ten members (S, N, B, SS, NS, BS, M, L, NULL, BOOL)
of which one is set, and for each of the nine missing ones moto's attribute picker tries every
alias it knows before giving up. A Scan of a 20,000-item audit table (the approver's second sweep)
spent ~8 of its ~10 s there.

Here `DynamoResult.execute_result` (moto's result class for Scan and Query) renders Scan and
Query results for the JSON protocol itself, to the same JSON text moto renders, byte for byte:
the shape's member order, None members left out, lists and maps as moto builds them (a list item
or map value moto cannot render kept or dropped as moto keeps or drops it), strings through
`str`, blobs in base64, timestamps as epoch seconds, integers through `int` and doubles through
`float`, booleans as given, moto's response transformers applied at the same key paths, then
`json.dumps` with its defaults. A structure value is read from a dict by member name only; a
value that is not a dict where a structure is expected, a shape type not listed here, pretty
printing or any other operation goes through moto's serializer as before.
tests/test_scale.py checks the output against moto's.
"""

from __future__ import annotations

import base64
import json
from enum import Enum
from typing import Any, Callable

from moto import settings
from moto.core import serialize as moto_serialize
from moto.core.responses import ActionContext
from moto.dynamodb.responses import DynamoResult

OPERATIONS = ("Scan", "Query")
_TIMESTAMPS = moto_serialize.TimestampSerializer(moto_serialize.JSONSerializer.DEFAULT_TIMESTAMP_FORMAT)
_ABSENT = object()


class _Unsupported(Exception):
    """A value or shape this renderer leaves to moto."""


class _Renderer:
    """Renders one result into plain JSON values. Paths are moto's key paths (for its response
    transformers): the operation name, the output shape's name, then member names, list item
    shape names and map keys."""

    def __init__(self, transformers: dict[str, Callable[[Any], Any]]):
        self.transformers = transformers
        self.plans: dict[tuple[int, str], tuple[list[tuple[Any, ...]], dict[str, tuple[Any, ...]] | None]] = {}

    def _plan(self, shape: Any, path: str) -> tuple[list[tuple[Any, ...]], dict[str, tuple[Any, ...]] | None]:
        """Per member, in the shape's order: position, key, serialized name, shape, transformer,
        key path; and the same by key when no member has a transformer (then only the keys a
        value has need looking at, e.g. the one member set of an AttributeValue)."""
        plan = self.plans.get((id(shape), path))
        if plan is None:
            members = []
            for position, (key, member) in enumerate(shape.members.items()):
                key_path = f"{path}.{key}"
                transform = next((t for p, t in self.transformers.items() if key_path.endswith(p)), None)
                members.append((position, key, member.serialization.get("name", key), member, transform, key_path))
            by_key = None if any(m[4] is not None for m in members) else {m[1]: m for m in members}
            plan = self.plans[(id(shape), path)] = (members, by_key)
        return plan

    def structure(self, value: Any, shape: Any, path: str) -> Any:
        """A structure's JSON object, or _ABSENT when moto sets nothing for it (a None value)."""
        if shape.is_document_type:
            return value
        if value is None:
            return _ABSENT
        if not isinstance(value, dict):
            raise _Unsupported(type(value).__name__)
        members, by_key = self._plan(shape, path)
        if by_key is not None and len(value) < len(members):
            if len(value) == 1:
                member_entry = by_key.get(next(iter(value)))
                members = [member_entry] if member_entry is not None else []
            else:
                members = sorted((by_key[k] for k in value if k in by_key), key=lambda m: m[0])
        out = {}
        for _, key, name, member, transform, member_path in members:
            member_value = value.get(key)
            if transform is not None:
                member_value = transform(member_value)
            if member_value is None:
                continue
            rendered = self.value(member_value, member, member_path)
            if rendered is not _ABSENT:
                out[name] = rendered
        return out

    def value(self, value: Any, shape: Any, path: str) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(value, shape, path)
        if kind == "string":
            if isinstance(value, Enum):
                value = value.value
            return str(value) if value not in [None, {}, []] else value
        if kind == "list":
            member = shape.member
            if member.serialization.get("name", member.name) != member.name:
                raise _Unsupported("renamed list member")  # moto keeps such items raw
            item_path = f"{path}.{member.name}"
            items = []
            for item in value:
                rendered = self.value(item, member, item_path)
                items.append(item if rendered is _ABSENT else rendered)
            return items
        if kind == "map":
            entries = {}
            value_shape = shape.value
            if "name" in value_shape.serialization:
                raise _Unsupported("renamed map value")  # moto names every entry alike
            for key, item in value.items():
                rendered = self.value(item, value_shape, f"{path}.{key or value_shape.name}")
                if rendered is not _ABSENT:
                    entries[key] = rendered
            return entries
        if kind == "blob":
            raw = value.encode("utf-8") if isinstance(value, str) else value
            return base64.b64encode(raw).strip().decode("utf-8")
        if kind in ("integer", "long"):
            return int(value)
        if kind in ("float", "double"):
            return float(value)
        if kind == "boolean":
            return value
        if kind == "timestamp":
            fmt = shape.serialization.get("timestampFormat", _TIMESTAMPS.default_format)
            return _TIMESTAMPS._convert_timestamp_to_str(value, fmt)
        raise _Unsupported(kind)


def render(operation_model: Any, result: Any, transformers: dict[str, Callable[[Any], Any]]) -> str | None:
    """The JSON body moto would render for `result`, or None to let moto render it."""
    shape = operation_model.output_shape
    if shape is None:
        return None
    try:
        body = _Renderer(transformers).structure(result, shape, f"{operation_model.name}.{shape.name}")
    except _Unsupported:
        return None
    return json.dumps({} if body is _ABSENT else body)


def execute_fast(result: Any, context: ActionContext) -> tuple[int, dict[str, str], str] | None:
    """(status, headers, body) of a Scan or Query result as moto renders it, or None to leave it
    to moto."""
    serializer = context.serializer_class
    operation = context.operation_model
    if serializer is not moto_serialize.JSONSerializer or operation.name not in OPERATIONS \
            or settings.PRETTIFY_RESPONSES or operation.has_event_stream_output:
        return None
    transformers = getattr(context.response, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None) or {}
    body = render(operation, result.result, dict(transformers))
    if body is None:
        return None
    version = operation.service_model.metadata.get("jsonVersion", "1.0")
    status = operation.http.get("responseCode", serializer.DEFAULT_RESPONSE_CODE)
    return status, {"Content-Type": f"application/x-amz-json-{version}"}, body


def install() -> None:
    original = DynamoResult.execute_result

    def execute_result(self: Any, context: ActionContext) -> Any:
        return execute_fast(self, context) or original(self, context)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]
