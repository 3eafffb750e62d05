"""The AWS Price List Query API (`pricing`), answered from fixture files.

moto has no `pricing` backend, so a `GetProducts` call (JSON 1.1, `X-Amz-Target:
AWSPriceListService.GetProducts`, signing name `pricing`) would get moto's 404. The
product's cost reporter reads interface endpoint, Gateway Load Balancer endpoint and NAT
Gateway prices through that call, so the emulator answers it here from Price List records
kept under `fixtures/pricelist/` (or the directory named by `$PLGOV_PRICELIST_DIR`): each
`*.json` file is a list of records, each exactly what one element of `PriceList` decodes to.
Which figures are real and where they come from is in `fixtures/pricelist/SOURCES.md`.

Behaviour follows the service model in botocore (pricing 2017-10-15) and AWS's documentation:

- `GetProducts`: `ServiceCode` is required; `Filters` (at most 50) narrow by `Field`/`Value`
  with `Type` `TERM_MATCH` or `EQUALS` (exact), `CONTAINS` (substring), `ANY_OF`/`NONE_OF`
  (comma-separated values). `Field` is `ServiceCode`, `productFamily`, `sku`, `termType`
  (a term kind the record carries, e.g. `OnDemand`) or any name in `product.attributes`; a
  record without the field matches no filter. `MaxResults` is 1..100 (default 100);
  `NextToken` is opaque and bound to the query it came from. `PriceList` is a list of JSON
  *strings*; `FormatVersion` is `aws_v1`.
- `DescribeServices` (service codes and their attribute names) and `GetAttributeValues`
  (the distinct values of one attribute) over the same records.
- Errors as JSON 1.1 `__type`: `InvalidParameterException` for a missing or malformed
  parameter (messages as the real service words them where known),
  `InvalidNextTokenException`, and `NotFoundException` for a service code without fixtures.
  What the real API does for a well-formed but unknown service code is not confirmed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable

TARGET_PREFIX = "AWSPriceListService"
FORMAT_VERSION = "aws_v1"
FIXTURE_DIR = Path(__file__).parent / "fixtures" / "pricelist"
FILTER_TYPES = {"TERM_MATCH", "EQUALS", "CONTAINS", "ANY_OF", "NONE_OF"}
MAX_FILTERS = 50
MAX_FIELD_LENGTH = 1024
MAX_RESULTS = {"GetProducts": 100, "DescribeServices": 100, "GetAttributeValues": 10000}
_SERVICE_CODE = re.compile(r"^[A-Za-z0-9]+$")

_catalog_lock = threading.Lock()
_catalog: dict[str, list[dict[str, Any]]] | None = None


class PricingError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def is_pricing_request(environ: dict[str, Any]) -> bool:
    return environ.get("HTTP_X_AMZ_TARGET", "").startswith(TARGET_PREFIX + ".")


def fixture_dir() -> Path:
    return Path(os.environ.get("PLGOV_PRICELIST_DIR") or FIXTURE_DIR)


def load_catalog(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Every record of every `*.json` list in `directory`, by service code, in file order."""
    catalog: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(directory.glob("*.json")):
        records = json.loads(path.read_text())
        if not isinstance(records, list):
            raise ValueError(f"{path.name}: a Price List fixture is a JSON list of records")
        for record in records:
            product = record.get("product") if isinstance(record, dict) else None
            service = record.get("serviceCode") if isinstance(record, dict) else None
            if (not isinstance(service, str) or not isinstance(product, dict)
                    or not isinstance(product.get("sku"), str) or not isinstance(product.get("attributes"), dict)
                    or not isinstance(record.get("terms"), dict)):
                raise ValueError(f"{path.name}: each record needs serviceCode, product.sku, "
                                 "product.attributes and terms")
            catalog.setdefault(service, []).append(record)
    return catalog


def catalog() -> dict[str, list[dict[str, Any]]]:
    global _catalog
    with _catalog_lock:
        if _catalog is None:
            _catalog = load_catalog(fixture_dir())
        return _catalog


def field_value(record: dict[str, Any], field: str) -> str | list[str] | None:
    """The value a filter on `field` compares with (a list for `termType`), None if absent."""
    product = record["product"]
    if field.lower() == "servicecode":
        return record["serviceCode"]
    if field == "productFamily":
        return product.get("productFamily")
    if field == "sku":
        return product.get("sku")
    if field == "termType":
        return [kind for kind, terms in record.get("terms", {}).items() if terms]
    value = product.get("attributes", {}).get(field)
    return value if isinstance(value, str) else None


def matches(record: dict[str, Any], flt: dict[str, str]) -> bool:
    value = field_value(record, flt["Field"])
    if value is None:
        return False
    candidates = value if isinstance(value, list) else [value]
    kind, wanted = flt["Type"], flt["Value"]
    if kind in ("TERM_MATCH", "EQUALS"):
        return wanted in candidates
    if kind == "CONTAINS":
        return any(wanted in c for c in candidates)
    options = {v.strip() for v in wanted.split(",")}
    if kind == "ANY_OF":
        return any(c in options for c in candidates)
    return not any(c in options for c in candidates)  # NONE_OF


def _invalid(message: str) -> PricingError:
    return PricingError("InvalidParameterException", message)


def _service_code(request: dict[str, Any], required: bool) -> str | None:
    code = request.get("ServiceCode")
    if code is None or code == "":
        if required:
            raise _invalid("Input Parameters are invalid. serviceCode cannot be null or empty")
        return None
    if not isinstance(code, str) or not _SERVICE_CODE.match(code):
        raise _invalid("ServiceCode can only contain a-z, A-Z, 0-9")
    if code not in catalog():
        raise PricingError("NotFoundException", f"Service code {code} was not found")
    return code


def _format_version(request: dict[str, Any]) -> None:
    version = request.get("FormatVersion")
    if version is not None and version != FORMAT_VERSION:
        raise _invalid(f"Input Parameters are invalid. FormatVersion must be {FORMAT_VERSION}")


def _max_results(request: dict[str, Any], operation: str) -> int:
    limit = MAX_RESULTS[operation]
    value = request.get("MaxResults", limit)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise _invalid(f"Input Parameters are invalid. MaxResults must be between 1 and {limit}")
    return value


def _filters(request: dict[str, Any]) -> list[dict[str, str]]:
    filters = request.get("Filters") or []
    if not isinstance(filters, list):
        raise _invalid("Input Parameters are invalid. Filters must be a list")
    if len(filters) > MAX_FILTERS:
        raise _invalid(f"Input Parameters are invalid. At most {MAX_FILTERS} filters are allowed")
    checked = []
    for flt in filters:
        if not isinstance(flt, dict):
            raise _invalid("Input Parameters are invalid. A filter is an object with Type, Field and Value")
        kind, field, value = flt.get("Type"), flt.get("Field"), flt.get("Value")
        if kind not in FILTER_TYPES:
            raise _invalid(f"Input Parameters are invalid. Filter Type must be one of {', '.join(sorted(FILTER_TYPES))}")
        for name, text in (("Field", field), ("Value", value)):
            if not isinstance(text, str) or not 1 <= len(text) <= MAX_FIELD_LENGTH:
                raise _invalid(f"Input Parameters are invalid. Filter {name} must be 1 to {MAX_FIELD_LENGTH} characters")
        checked.append({"Type": kind, "Field": field, "Value": value})
    return checked


def _query_key(operation: str, parts: Any) -> str:
    canonical = json.dumps([operation, parts], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def _page(items: list[Any], request: dict[str, Any], operation: str, key_parts: Any) -> tuple[list[Any], str | None]:
    """One page of `items` and the token of the next, as the real API's opaque NextToken."""
    limit = _max_results(request, operation)
    key = _query_key(operation, key_parts)
    start = 0
    token = request.get("NextToken")
    if token:
        try:
            head, _, body = str(token).partition(":")
            state = json.loads(base64.b64decode(body, validate=True))
            valid = (base64.b64decode(head, validate=True).decode() == key
                     and isinstance(state.get("offset"), int) and 0 <= state["offset"] <= len(items))
        except (ValueError, TypeError, AttributeError):
            valid = False
        if not valid:
            raise PricingError("InvalidNextTokenException", "The pagination token is invalid. Try again without a pagination token.")
        start = state["offset"]
    end = start + limit
    if end >= len(items):
        return items[start:], None
    state_b64 = base64.b64encode(json.dumps({"offset": end}).encode()).decode()
    return items[start:end], f"{base64.b64encode(key.encode()).decode()}:{state_b64}"


def get_products(request: dict[str, Any]) -> dict[str, Any]:
    service = _service_code(request, required=True)
    assert service is not None
    _format_version(request)
    filters = _filters(request)
    records = [r for r in catalog()[service] if all(matches(r, f) for f in filters)]
    page, token = _page(records, request, "GetProducts", [service, filters, request.get("FormatVersion")])
    out: dict[str, Any] = {"FormatVersion": FORMAT_VERSION,
                           "PriceList": [json.dumps(r, separators=(",", ":")) for r in page]}
    if token:
        out["NextToken"] = token
    return out


def describe_services(request: dict[str, Any]) -> dict[str, Any]:
    service = _service_code(request, required=False)
    _format_version(request)
    codes = [service] if service else sorted(catalog())
    services = [{"ServiceCode": code,
                 "AttributeNames": sorted({name for r in catalog()[code] for name in r["product"]["attributes"]})}
                for code in codes]
    page, token = _page(services, request, "DescribeServices", [service, request.get("FormatVersion")])
    out: dict[str, Any] = {"Services": page, "FormatVersion": FORMAT_VERSION}
    if token:
        out["NextToken"] = token
    return out


def get_attribute_values(request: dict[str, Any]) -> dict[str, Any]:
    service = _service_code(request, required=True)
    assert service is not None
    name = request.get("AttributeName")
    if not isinstance(name, str) or not name:
        raise _invalid("Input Parameters are invalid. attributeName cannot be null or empty")
    values = sorted({v for r in catalog()[service] if isinstance(v := r["product"]["attributes"].get(name), str)})
    page, token = _page([{"Value": v} for v in values], request, "GetAttributeValues", [service, name])
    out: dict[str, Any] = {"AttributeValues": page}
    if token:
        out["NextToken"] = token
    return out


OPERATIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "GetProducts": get_products,
    "DescribeServices": describe_services,
    "GetAttributeValues": get_attribute_values,
}


def _respond(start_response: Callable[..., Any], status: int, payload: dict[str, Any],
             extra: tuple[tuple[str, str], ...] = ()) -> list[bytes]:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 500: "Internal Server Error"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", "application/x-amz-json-1.1"),
                                          ("x-amzn-RequestId", str(uuid.uuid4())),
                                          ("Content-Length", str(len(body))), *extra])
    return [body]


def handle(environ: dict[str, Any], start_response: Callable[..., Any], body: bytes) -> Iterable[bytes]:
    operation = environ["HTTP_X_AMZ_TARGET"][len(TARGET_PREFIX) + 1:]
    try:
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise PricingError("UnknownOperationException", f"the emulator does not implement pricing:{operation}")
        try:
            request = json.loads(body or b"{}")
        except ValueError as exc:
            raise PricingError("SerializationException", f"malformed JSON body: {exc}") from exc
        if not isinstance(request, dict):
            raise PricingError("SerializationException", "the request body must be a JSON object")
        return _respond(start_response, 200, handler(request))
    except PricingError as err:
        return _respond(start_response, err.status, {"__type": err.code, "Message": err.message},
                        (("x-amzn-ErrorType", err.code),))
