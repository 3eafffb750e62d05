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
  `InvalidNextTokenException`, and `NotFoundException` for a service code without records
  (the fixture's, or ones added for the caller below).
  What the real API does for a well-formed but unknown service code is not confirmed.

Records of a test's own (control endpoint, routed by control.py): the fixture holds only confirmed
prices, so a test that must price a region it lacks (e.g. sa-east-1's interface endpoint) adds
records for its own account; other accounts keep seeing the fixture alone.

POST   /_plgov/pricelist  {"account": "123456789012", "serviceCode": "AmazonVPC",
                       "records": [<record>, ...]} adds records, each exactly one `PriceList`
                       element decoded (`serviceCode` equal to the body's, `product.sku`,
                       `product.attributes`, `terms`; SKUs unique within what the account sees).
                       From then on GetProducts, GetAttributeValues and DescribeServices signed by
                       that account (the SigV4 access key's account, control.identify) see them
                       after the fixture's records of that service code (a service code the
                       fixture lacks becomes known to that account). Repeated POSTs add more.
                       400 {"error": "invalid price list records: ..."} names what is wrong.
GET    /_plgov/pricelist[?account=ID]  {"accounts": {ID: {serviceCode: count}}}: what is added.
DELETE /_plgov/pricelist[?account=ID]  forgets that account's records (tests running in parallel
                       forget only their own), or without `account` every account's.
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
from urllib.parse import parse_qs

from .control import DEFAULT_ACCOUNT

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
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_added_lock = threading.RLock()  # RLock: a POST checks SKUs through view() while holding it
_added: dict[str, dict[str, list[dict[str, Any]]]] = {}  # account -> service code -> records, POST order


class PricingError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def is_pricing_request(environ: dict[str, Any]) -> bool:
    return environ.get("HTTP_X_AMZ_TARGET", "").startswith(TARGET_PREFIX + ".")


def fixture_dir() -> Path:
    return Path(os.environ.get("PLGOV_PRICELIST_DIR") or FIXTURE_DIR)


def record_problem(record: Any) -> str | None:
    """What keeps `record` from being one decoded `PriceList` element the operations can serve."""
    if not isinstance(record, dict):
        return "a record is a JSON object"
    product = record.get("product")
    if not isinstance(record.get("serviceCode"), str):
        return "serviceCode must be a string"
    if not isinstance(product, dict):
        return "product must be an object"
    if not isinstance(product.get("sku"), str) or not product["sku"]:
        return "product.sku must be a non-empty string"
    if not isinstance(product.get("attributes"), dict):
        return "product.attributes must be an object"
    if not isinstance(record.get("terms"), dict):
        return "terms must be an object"
    return None


def load_catalog(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Every record of every `*.json` list in `directory`, by service code, in file order."""
    catalog: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(directory.glob("*.json")):
        records = json.loads(path.read_text())
        if not isinstance(records, list):
            raise ValueError(f"{path.name}: a Price List fixture is a JSON list of records")
        for record in records:
            if record_problem(record) is not None:
                raise ValueError(f"{path.name}: each record needs serviceCode, product.sku, "
                                 "product.attributes and terms")
            catalog.setdefault(record["serviceCode"], []).append(record)
    return catalog


def catalog() -> dict[str, list[dict[str, Any]]]:
    global _catalog
    with _catalog_lock:
        if _catalog is None:
            _catalog = load_catalog(fixture_dir())
        return _catalog


def view(account: str) -> dict[str, list[dict[str, Any]]]:
    """The records `account` sees: the fixture's, then the ones added for it, by service code."""
    with _added_lock:
        added = {code: list(records) for code, records in _added.get(account, {}).items()}
    merged = dict(catalog())
    for code, records in added.items():
        merged[code] = merged.get(code, []) + records
    return merged


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


def _service_code(request: dict[str, Any], required: bool, records: dict[str, list[dict[str, Any]]]) -> str | None:
    code = request.get("ServiceCode")
    if code is None or code == "":
        if required:
            raise _invalid("Input Parameters are invalid. serviceCode cannot be null or empty")
        return None
    if not isinstance(code, str) or not _SERVICE_CODE.match(code):
        raise _invalid("ServiceCode can only contain a-z, A-Z, 0-9")
    if code not in records:
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


def get_products(request: dict[str, Any], known: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    service = _service_code(request, True, known)
    assert service is not None
    _format_version(request)
    filters = _filters(request)
    records = [r for r in known[service] if all(matches(r, f) for f in filters)]
    page, token = _page(records, request, "GetProducts", [service, filters, request.get("FormatVersion")])
    out: dict[str, Any] = {"FormatVersion": FORMAT_VERSION,
                           "PriceList": [json.dumps(r, separators=(",", ":")) for r in page]}
    if token:
        out["NextToken"] = token
    return out


def describe_services(request: dict[str, Any], known: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    service = _service_code(request, False, known)
    _format_version(request)
    codes = [service] if service else sorted(known)
    services = [{"ServiceCode": code,
                 "AttributeNames": sorted({name for r in known[code] for name in r["product"]["attributes"]})}
                for code in codes]
    page, token = _page(services, request, "DescribeServices", [service, request.get("FormatVersion")])
    out: dict[str, Any] = {"Services": page, "FormatVersion": FORMAT_VERSION}
    if token:
        out["NextToken"] = token
    return out


def get_attribute_values(request: dict[str, Any], known: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    service = _service_code(request, True, known)
    assert service is not None
    name = request.get("AttributeName")
    if not isinstance(name, str) or not name:
        raise _invalid("Input Parameters are invalid. attributeName cannot be null or empty")
    values = sorted({v for r in known[service] if isinstance(v := r["product"]["attributes"].get(name), str)})
    page, token = _page([{"Value": v} for v in values], request, "GetAttributeValues", [service, name])
    out: dict[str, Any] = {"AttributeValues": page}
    if token:
        out["NextToken"] = token
    return out


OPERATIONS: dict[str, Callable[[dict[str, Any], dict[str, list[dict[str, Any]]]], dict[str, Any]]] = {
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


def handle(environ: dict[str, Any], start_response: Callable[..., Any], body: bytes,
           account: str | None = None) -> Iterable[bytes]:
    """Answers one Price List call for `account` (the caller's, from control.identify)."""
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
        return _respond(start_response, 200, handler(request, view(account or DEFAULT_ACCOUNT)))
    except PricingError as err:
        return _respond(start_response, err.status, {"__type": err.code, "Message": err.message},
                        (("x-amzn-ErrorType", err.code),))


# ---------------------------------------------------------------------------- /_plgov/pricelist

def _added_records(spec: Any) -> tuple[str, str, list[dict[str, Any]]]:
    """The account, service code and records of a POST body; ValueError naming what is wrong."""
    if not isinstance(spec, dict):
        raise ValueError('the body is a JSON object {"account", "serviceCode", "records"}')
    account, service, records = spec.get("account"), spec.get("serviceCode"), spec.get("records")
    if not isinstance(account, str) or not _ACCOUNT.match(account):
        raise ValueError("'account' must be an account id of 12 digits (e.g. \"123456789012\")")
    if not isinstance(service, str) or not _SERVICE_CODE.match(service):
        raise ValueError("'serviceCode' is required and can only contain a-z, A-Z, 0-9 (e.g. \"AmazonVPC\")")
    if not isinstance(records, list) or not records:
        raise ValueError("'records' must be a non-empty list of Price List records")
    seen = {r["product"]["sku"] for r in view(account).get(service, [])}
    for index, record in enumerate(records):
        problem = record_problem(record)
        if problem is None and record["serviceCode"] != service:
            problem = f"serviceCode is {record['serviceCode']!r}, not the body's {service!r}"
        if problem is None and record["product"]["sku"] in seen:
            problem = f"sku {record['product']['sku']!r} is already in what account {account} sees of {service}"
        if problem is not None:
            raise ValueError(f"records[{index}]: {problem}")
        seen.add(record["product"]["sku"])
    return account, service, records


def _counts(account: str | None) -> dict[str, Any]:
    with _added_lock:
        return {"accounts": {a: {code: len(rs) for code, rs in by_code.items()}
                             for a, by_code in sorted(_added.items()) if account is None or a == account}}


def control(method: str, environ: dict[str, Any], body: bytes) -> tuple[int, Any]:
    """POST|GET|DELETE /_plgov/pricelist, for control.py."""
    account = parse_qs(environ.get("QUERY_STRING", "")).get("account", [None])[0]
    if method == "POST":
        try:
            spec = json.loads(body or b"null")
        except ValueError as exc:
            return 400, {"error": f"invalid price list records: the body is not JSON ({exc})"}
        with _added_lock:  # checked and added at once: two POSTs cannot both add one SKU
            try:
                account, service, records = _added_records(spec)
            except ValueError as exc:
                return 400, {"error": f"invalid price list records: {exc}"}
            kept = _added.setdefault(account, {}).setdefault(service, [])
            kept.extend(records)  # parsed from this request's body: no one else holds them
        return 200, {"account": account, "serviceCode": service, "added": len(records), "records": len(kept)}
    if method == "GET":
        return 200, _counts(account)
    if method == "DELETE":
        with _added_lock:
            if account is None:
                _added.clear()
            else:
                _added.pop(account, None)
        return 200, _counts(None)
    return 404, {"error": f"no control endpoint {method} /_plgov/pricelist"}
