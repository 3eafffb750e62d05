"""moto's own hot spots at benchmark scale: per-request overhead, DynamoDB expressions and order.

A benchmark sweep sends thousands of calls; at 10,000 endpoints each call must cost a few
milliseconds. Profiling the emulator (cProfile per request thread) found that moto's server,
before any handler runs, spends most of a request on bookkeeping whose answer never changes
while the process runs:

- Routing (`DomainDispatcherApplication.get_backend_for_host`, under the dispatcher's one global
  lock, so concurrent requests queue behind it): `host in backends.list_of_moto_modules()` lists
  moto's package directory and stats each of its ~200 entries on every request, then matches the
  host against every service's URL regexes. The module list is fixed once moto is installed and a
  host always routes to the same backend: the list is read once, and each host's backend is
  remembered once found (a host that finds none is not remembered, so moto's warning still shows).
- Dispatch (`BaseResponse.call_action`): `method_names_from_class` runs `inspect.getmembers` over
  the response class (EC2Response has ~340 attributes) to ask whether the action is one of its
  functions. The same question is answered here by looking the one name up:
  `name in method_names_from_class(cls)` holds exactly when `getattr(cls, name)` is a plain
  function, as before, and is evaluated per request, so a handler installed later is still found.
- Backends (`BackendDict.__getitem__`, several per request): each lookup copies the account ids
  into a list and compares the BackendDict with every other in use (a Python `__eq__` each) to
  register it for reset. An account already present needs neither: it was registered when it
  was added (BackendDict.reset empties both together), so that lookup returns at once.
- Accounts (`moto.iam.models.get_account_id_from`, per request by moto and by control.py): it
  searches every account's IAM backend, in every partition, for the access key. The account that
  was found for a key is remembered and answered again while that account still holds the key;
  otherwise (a deleted key, a moto reset, a key not found) the full search runs, as before.
- Request ids (`BaseResponse._enrich_response`, per response): a regex with a `.*` is run over the
  whole body to put the request id between `<RequestId>` tags; over a 600 KB page that finds
  nothing (EC2 writes `<requestId>`) it costs milliseconds. It runs only when the body holds
  `<RequestId>`, which any match needs.

DynamoDB condition expressions: moto parses a TransactWriteItems item's ConditionExpression three
times (to validate the request, to check the condition, again in Table.put_item), ~0.3 ms each,
most of a transaction of ten conditional puts. A parse depends only on the expression, its
ExpressionAttributeNames and ExpressionAttributeValues, and the parsed tree is only read when
evaluated: `ConditionExpressionParser.parse` keeps the last 4,096 distinct parses (by those three,
compared as JSON) and answers a repeat with the same tree and the same names and values found
(what moto reads next to validate the request). Each tree is parsed from a private copy of the
names and values, so nothing a request does to its own dicts afterwards reaches it; an
expression that fails to parse is parsed, and fails, every time.

DynamoDB table order (`Table.all_items`, every Scan, and Query without an index): moto sorts all
items by key with `DynamoType.__lt__`, which recomputes each side's `cast_value` (a Decimal for a
number) on each of the n log n comparisons; a Scan of 20,000 items spent ~0.4 s there. A
table's key attributes all have the table's one type (moto refuses a put of another type), and
for two values of one type DynamoType's `==` and `<` are those of their cast values, so sorting by
the cast values, computed once per item, gives the same order; if the types are mixed after all,
moto's own sort runs.

DynamoDB item size (`Item.__init__`, every put and every item of a transaction): moto checks the
400 KB limit in `LimitedSizeDict.__setitem__` by summing the sizes of every attribute already in
the item, once per attribute it adds, so building an item of n attributes sizes n²/2 of them; a
TransactWriteItems of 100 audit records of 13 attributes spent half its ~145 ms there. Here an
item's attributes are converted and sized once each and the total checked once: the prefix sums
the original checks only grow, so the total exceeds the limit exactly when one of them does, and
the same ItemSizeTooLarge is raised. Later changes of an item (UpdateItem) still go through
moto's own check. A string, number or boolean attribute (most of an audit record) is made and
sized directly: a DynamoType of such a value is only its type and value (moto's constructor
converts only lists and maps), and its size is what `DynamoType.size` counts (the UTF-8 length
of a string, the length of a number's text, 1 for a boolean); any other attribute goes through
DynamoType itself.

DynamoDB key values (`DynamoType.cast_value`, every hash and comparison of a key: each lookup of
an item): moto asks in turn whether the value is a number, a set, a list, a map or null, five
calls before a string answers its own value; a transaction of 100 puts made ~1,800 such calls.
A string, binary or boolean value answers its value at once; any other type goes to moto's
property.

DynamoDB request parameters (`BaseResponse.parse_parameters`, every DynamoDB call): moto walks the
JSON body against the service model, member by member, ~0.15 ms an item of a TransactWriteItems
(15 ms of a transaction of 100 audit records). For the item operations the walk changes nothing
but binary values (base64 text to bytes, `B` and `BS`) and members sent as `null` (dropped), and
the body's JSON names are the members' names: a body without either is taken as JSON decoded;
any other body, or another operation, goes through moto's parser.
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
from typing import Any, Iterator

_lock = threading.Lock()


class _MethodNames:
    """`method_names_from_class(cls)` as a container: membership is one attribute lookup."""

    __slots__ = ("cls",)

    def __init__(self, cls: Any):
        self.cls = cls

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self.cls, name, None))

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, _ in inspect.getmembers(self.cls, predicate=inspect.isfunction)])


def method_names_from_class(cls: Any) -> _MethodNames:
    return _MethodNames(cls)


def _install_routing() -> None:
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]

    original = DomainDispatcherApplication.get_backend_for_host

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host is None:
            return None
        known = self.__dict__.setdefault("plgov_backend_for_host", {})
        backend = known.get(host)
        if backend is None:
            backend = original(self, host)
            if backend:
                known[host] = backend
        return backend

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]


def _install_dispatch() -> None:
    from moto.core import responses

    responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]


def _install_backend_lookup() -> None:
    from moto.core.base_backend import BackendDict

    original = BackendDict._create_account_specific_backend

    def create_account_specific_backend(self: Any, account_id: str) -> None:
        if dict.__contains__(self, account_id):
            return
        original(self, account_id)

    BackendDict._create_account_specific_backend = create_account_specific_backend  # type: ignore[method-assign]


def _holds_key(account_id: str, access_key: str) -> bool:
    """Whether the account's IAM backends (those that exist: none is created) hold the key."""
    from moto.iam.models import iam_backends

    per_account = dict.get(iam_backends, account_id)
    if per_account is None:
        return False
    for backend in list(dict.values(per_account)):
        if access_key in backend.access_keys:
            return True
    return False


def _install_account_lookup() -> None:
    from moto.iam import models as iam_models

    original = iam_models.get_account_id_from
    found: dict[str, str] = {}

    def get_account_id_from(access_key: str) -> str:
        account_id = found.get(access_key)
        if account_id is not None and _holds_key(account_id, access_key):
            return account_id
        account_id = original(access_key)
        if _holds_key(account_id, access_key):
            with _lock:
                found[access_key] = account_id
        return account_id

    iam_models.get_account_id_from = get_account_id_from  # type: ignore[assignment]


def _install_request_ids() -> None:
    from moto.core.responses import BaseResponse

    original = BaseResponse._enrich_response

    def enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        if isinstance(body, str) and "<RequestId>" not in body:
            # moto's regex can match nothing: the rest of moto's method, without the regex.
            if "status" in headers:
                headers["status"] = str(headers["status"])
            from moto.utilities.aws_headers import gen_amzn_requestid_long

            gen_amzn_requestid_long(headers)
            return headers, body
        return original(headers, body)

    BaseResponse._enrich_response = staticmethod(enrich_response)  # type: ignore[method-assign]


PARSED_EXPRESSIONS = 4096


def _as_key(value: Any) -> str:
    """`value` as JSON, sorted; most conditions (the audit's attribute_not_exists(pk)) come
    without names or values, whose text is known without encoding them."""
    if value is None:
        return "null"
    if isinstance(value, dict) and not value:
        return "{}"
    return json.dumps(value, sort_keys=True)


def _install_condition_parses() -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser.parse

    @functools.lru_cache(maxsize=PARSED_EXPRESSIONS)
    def parsed(expression: str | None, names: str, values: str) -> tuple[Any, tuple[str, ...], tuple[str, ...]]:
        parser = ConditionExpressionParser(expression, json.loads(names), json.loads(values))
        tree = original(parser)
        return tree, tuple(parser.expr_attr_names_found), tuple(parser.expr_attr_values_found)

    def parse(self: Any) -> Any:
        try:
            key = (self.condition_expression, _as_key(self.expression_attribute_names),
                   _as_key(self.expression_attribute_values))
        except (TypeError, ValueError):  # not JSON (not from a request): parse as moto does
            return original(self)
        tree, names_found, values_found = parsed(*key)
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return tree

    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]


def table_order(table: Any) -> list[Any] | None:
    """The items of a DynamoDB table in moto's `Table.all_items` order, or None when its key
    values are not all of one type (then moto's own sort must run)."""
    items: list[Any] = []
    for hash_set in table.items.values():
        if table.range_key_attr:
            items.extend(hash_set.values())
        else:
            items.append(hash_set)
    if len({item.hash_key.type for item in items}) > 1 or \
            len({item.range_key.type for item in items if item.range_key}) > 1:
        return None
    return sorted(items, key=lambda x: (x.hash_key.cast_value, x.range_key.cast_value) if x.range_key
                  else x.hash_key.cast_value)


def _install_table_order() -> None:
    from moto.dynamodb.models.table import Table

    original = Table.all_items

    def all_items(self: Any) -> list[Any]:
        items = table_order(self)
        return original(self) if items is None else items

    Table.all_items = all_items  # type: ignore[method-assign]


def item_values(attrs: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """An item's attributes as moto's DynamoTypes, and its size as moto's limit check counts it."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    def scalar(kind: str, value: Any) -> Any:
        made = object.__new__(DynamoType)
        made.type, made.value = kind, value
        return made

    values, size = {}, 0
    for key, value in attrs.items():
        kind = next(iter(value)) if type(value) is dict and len(value) == 1 else None
        if kind == "S" and type(value["S"]) is str:
            values[key] = scalar("S", value["S"])
            size += len(key.encode()) + len(value["S"].encode())
        elif kind == "N" and type(value["N"]) is str:
            values[key] = scalar("N", value["N"])
            size += len(key.encode()) + len(value["N"])
        elif kind == "BOOL" and type(value["BOOL"]) is bool:
            values[key] = scalar("BOOL", value["BOOL"])
            size += len(key.encode()) + 1
        else:
            values[key] = DynamoType(value)
            size += bytesize(key) + values[key].size()
    return values, size


def _install_item_size() -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type

    def item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        values, size = item_values(attrs)
        if size > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        self.attrs = dynamo_type.LimitedSizeDict()
        dict.update(self.attrs, values)  # the check is done: dict's own update skips the per-key one

    dynamo_type.Item.__init__ = item_init  # type: ignore[method-assign]


def _install_cast_value() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    moto_cast_value = DynamoType.cast_value.fget

    def cast_value(self: Any) -> Any:
        if self.type in _CAST_AS_ITSELF:
            return self.value
        return moto_cast_value(self)

    DynamoType.cast_value = property(cast_value)  # type: ignore[method-assign,assignment]


# The types whose cast value is the value itself: moto's cast_value asks number, set, list, map
# and null first, and answers none of them for these.
_CAST_AS_ITSELF = frozenset({"S", "B", "BOOL"})


# The DynamoDB operations whose parameters need nothing from moto's parser but binary values.
ITEM_OPERATIONS = frozenset({"PutItem", "GetItem", "DeleteItem", "UpdateItem", "Query", "Scan",
                             "TransactWriteItems", "TransactGetItems", "BatchWriteItem", "BatchGetItem"})


def item_operation_params(action: str, body: bytes) -> dict[str, Any] | None:
    """The parameters of a DynamoDB request as moto's parser would give them, or None when only the
    parser can tell (another operation, a binary value, a `null` member, not a JSON object)."""
    if action not in ITEM_OPERATIONS or b'"B"' in body or b'"BS"' in body or b"null" in body:
        return None
    try:
        params = json.loads(body)
    except ValueError:
        return None
    return params if isinstance(params, dict) else None


def _install_dynamodb_params() -> None:
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.parse_parameters

    def parse_parameters(self: Any, request: Any) -> None:
        params = item_operation_params(self._get_action(), request.data)
        if params is None:
            original(self, request)
        else:
            self.params = params

    DynamoHandler.parse_parameters = parse_parameters  # type: ignore[method-assign]


# moto's limit (dynamo_type.LimitedSizeDict): between the measured 409 and 410 KB.
ITEM_SIZE_LIMIT = 405_000


def install() -> None:
    """Patch moto's server in this process (any time before it serves)."""
    _install_routing()
    _install_dispatch()
    _install_backend_lookup()
    _install_account_lookup()
    _install_request_ids()
    _install_condition_parses()
    _install_table_order()
    _install_item_size()
    _install_cast_value()
    _install_dynamodb_params()
