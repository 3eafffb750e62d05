"""EC2 XML responses of our own handlers, rendered without moto's generic serializer.

moto renders every response by walking the botocore output shape: for each member of each
object it tries up to a dozen candidate attribute names (alias providers, snake_case forms), then
builds nested dicts that xmltodict turns into XML. That costs ~0.4 ms per endpoint connection: a
DescribeVpcEndpointConnections page of 1,000 took ~400 ms to render, most of an approver sweep's
time budget across its 10 pages.

`FastResult` is an ActionResult for results that our handlers build as plain dicts keyed by the
shape's member names (connections.py). For the EC2 protocol it renders the same XML moto's
EC2Serializer renders, byte for byte: the same member order (the shape's), the same element names
(each member's locationName, list items as <item>), None left out, an empty list as an empty
element, an item that renders to nothing dropped from its list, booleans as true/false,
timestamps in EC2's `...T..:..:...000Z` form, text escaped as xmltodict escapes it, and moto's
response transformers (EC2Response.RESPONSE_KEY_PATH_TO_TRANSFORMER) applied at the same key
paths. A member value is read from a dict by its member name only; an object that is not a dict,
a shape this module does not render (maps, blobs, floats, XML attributes or namespaces), another
protocol (query-JSON) or pretty printing falls back to moto's serializer for the whole response.
tests/test_scale.py checks the output against moto's for the connection pages.
"""

from __future__ import annotations

from typing import Any, Callable
from xml.sax.saxutils import escape, quoteattr

from moto import settings
from moto.core import serialize as moto_serialize
from moto.core.responses import ActionContext, ActionResult

_TIMESTAMPS = moto_serialize.TimestampSerializer(moto_serialize.EC2Serializer.DEFAULT_TIMESTAMP_FORMAT)
_RENDERED = ("structure", "list", "string", "timestamp", "boolean", "integer", "long")


class _Unsupported(Exception):
    """A value or shape this renderer leaves to moto."""


class _Renderer:
    """Renders one result. Paths are moto's key paths (for its response transformers): the
    operation name, then the output shape's name, then each member name or list item shape name."""

    def __init__(self, transformers: dict[str, Callable[[Any], Any]]):
        self.transformers = transformers
        self.plans: dict[tuple[int, str], list[tuple[Any, ...]]] = {}

    def _transform(self, key_path: str) -> Callable[[Any], Any] | None:
        return next((t for p, t in self.transformers.items() if key_path.endswith(p)), None)

    def _plan(self, shape: Any, path: str) -> list[tuple[Any, ...]]:
        """Per member of a structure at `path`: key, element name, type, shape, transformer,
        path of its value."""
        plan = self.plans.get((id(shape), path))
        if plan is None:
            plan = []
            for key, member in shape.members.items():
                kind = member.type_name
                if kind not in _RENDERED or member.serialization.get("xmlNamespace") \
                        or member.serialization.get("xmlAttribute"):
                    raise _Unsupported(kind)
                plan.append((key, member.serialization.get("name", key), kind, member,
                             self._transform(f"{path}.{key}"), f"{path}.{key}"))
            self.plans[(id(shape), path)] = plan
        return plan

    def structure(self, obj: Any, shape: Any, path: str) -> list[str]:
        if not isinstance(obj, dict):
            raise _Unsupported(type(obj).__name__)
        out = []
        for key, name, kind, member, transform, member_path in self._plan(shape, path):
            value = obj.get(key)
            if transform is not None:
                value = transform(value)
            if value is None:
                continue
            if kind == "string":
                text = escape(str(value))
                out.append(f"<{name}>{text}</{name}>" if text else f"<{name}/>")
            else:
                out.append(_element(name, self.value(value, member, member_path)))
        return out

    def value(self, value: Any, shape: Any, path: str) -> str | list[str]:
        """The XML content of `value` (without its own element): a string, or the child
        elements of a structure (possibly none)."""
        kind = shape.type_name
        if kind == "structure":
            return self.structure(value, shape, path)
        if kind == "list":
            return self.list_items(value, shape, path)
        if kind == "string":
            return escape(str(value))
        if kind == "timestamp":
            fmt = shape.serialization.get("timestampFormat", _TIMESTAMPS.default_format)
            return escape(_TIMESTAMPS._convert_timestamp_to_str(value, fmt))
        if kind == "boolean":
            return "true" if value is True or str(value).lower() == "true" else "false"
        if kind in ("integer", "long"):
            return str(int(value))
        raise _Unsupported(kind)

    def list_items(self, value: Any, shape: Any, path: str) -> str | list[str]:
        if shape.serialization.get("flattened"):
            raise _Unsupported("flattened list")
        member = shape.member
        if member.type_name not in _RENDERED or member.serialization.get("xmlNamespace") \
                or member.serialization.get("xmlAttribute"):
            raise _Unsupported(member.type_name)
        item_name = member.serialization.get("name", "member")
        item_path = f"{path}.{member.name}"
        is_structure = member.type_name == "structure"
        items = []
        for item in value:
            if is_structure:
                if item is None:
                    continue  # moto serializes nothing for it, and drops it
                children = self.structure(item, member, item_path)
                if children:  # moto drops an item that serialized to {}
                    items.append(f"<{item_name}>{''.join(children)}</{item_name}>")
            else:
                items.append(_element(item_name, self.value(item, member, item_path)))
        return items if items else ""


def _element(name: str, content: str | list[str] | None) -> str:
    if isinstance(content, list):
        return f"<{name}>{''.join(content)}</{name}>" if content else f"<{name}/>"
    return f"<{name}>{content}</{name}>" if content else f"<{name}/>"


def render(operation_model: Any, result: Any, transformers: dict[str, Callable[[Any], Any]]) -> str | None:
    """The EC2 XML body moto would render for `result`, or None to let moto render it."""
    shape = operation_model.output_shape
    namespace = operation_model.metadata.get("xmlNamespace")
    if shape is None or not isinstance(namespace, str):
        return None
    try:
        members = _Renderer(transformers).structure(result, shape, f"{operation_model.name}.{shape.name}")
    except _Unsupported:
        return None
    root = f"{operation_model.name}Response"
    body = "".join(members) + "<requestId>request-id</requestId>"
    return f'<?xml version="1.0" encoding="utf-8"?>\n<{root} xmlns={quoteattr(namespace)}>{body}</{root}>'


class FastResult(ActionResult):
    """An ActionResult that renders its dict result without moto's generic serializer."""

    def execute_result(self, context: ActionContext) -> Any:
        serializer = context.serializer_class
        if serializer is moto_serialize.EC2Serializer and not settings.PRETTIFY_RESPONSES:
            transformers = getattr(context.response, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None) or {}
            body = render(context.operation_model, self.result, dict(transformers))
            if body is not None:
                status = context.operation_model.http.get("responseCode", serializer.DEFAULT_RESPONSE_CODE)
                return status, {"Content-Type": serializer.CONTENT_TYPE}, body
        return super().execute_result(context)
