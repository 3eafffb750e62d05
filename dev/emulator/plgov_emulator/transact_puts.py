"""TransactWriteItems made only of plain puts, checked in one pass and stored together.

The approver's sweep writes its audit records in transactions of 100 puts, each with the condition
`attribute_not_exists(pk)`; a sweep of 1,000 services sends 200 of them. moto runs each action of
a transaction through its general path: the item's key is turned into DynamoTypes and looked up
three times (for the rollback copy, for the condition, again inside `Table.put_item`), the
condition is evaluated twice, the key is compared as the text of a sorted dict: ~13 ms of a
100-put transaction of audit records, ~5 ms here (in one process, with moto_speed.py's items).

Here a transaction whose every action is a Put, with no condition or `attribute_not_exists` of one
of its table's key attributes (named as itself, not a reserved word, without
ExpressionAttributeNames or ExpressionAttributeValues), into tables that exist and have no
stream, is checked first, every put, with moto's own checks (`Table.put_item` makes the same ones:
key present and of the table's type, attribute types, key sizes, item size), and its key looked
up once. If every put passes, every item is stored, as `Table.put_item` stores it, each
condition checked again right before its item is stored (as moto checks each put: another
request may have stored that key in between; then what was stored is taken back and moto's path
answers). Anything else goes through moto's path untouched, which then answers with its own
errors: another kind of action, a condition that fails (whatever
`ReturnValuesOnConditionCheckFailure` asks), a key named twice, an item a check refuses. Nothing
is stored before every put has passed, so the transaction is still all or nothing (against
requests that do not overlap it; moto takes no lock either).
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

_PUT_MEMBERS = frozenset({"TableName", "Item", "ConditionExpression", "ReturnValuesOnConditionCheckFailure"})
_NOT_EXISTS = re.compile(r" *attribute_not_exists *\( *([A-Za-z_][A-Za-z0-9_]*) *\) *")


def _condition_holds_when_absent(condition: str | None, table: Any) -> bool:
    """Whether `condition` is none, or asks only that the stored item with this key not exist:
    `attribute_not_exists` of a key attribute, which every stored item has."""
    if condition is None:
        return True
    match = _NOT_EXISTS.fullmatch(condition)
    if match is None:
        return False
    name = match.group(1)
    return name in (table.hash_key_attr, table.range_key_attr) and name.upper() not in _reserved()


@functools.cache
def _reserved() -> frozenset[str]:
    return frozenset(word.upper() for word in ReservedKeywords.get_reserved_keywords())


def _checked_put(backend: DynamoDBBackend, entry: Any) -> tuple[Any, Any, Any, Item, bool] | None:
    """(table, hash key, range key, item, whether it has a condition) of a plain put that
    `Table.put_item` would store without error, or None when moto's path must answer."""
    if not isinstance(entry, dict) or len(entry) != 1 or not isinstance(entry.get("Put"), dict):
        return None
    op = entry["Put"]
    attrs = op.get("Item")
    if not op.keys() <= _PUT_MEMBERS or not isinstance(attrs, dict):
        return None
    try:
        table = backend.get_table(op.get("TableName"))  # by name or ARN
    except Exception:  # no such table: moto's path answers
        return None
    if table.stream_shard is not None:
        return None
    if not _condition_holds_when_absent(op.get("ConditionExpression"), table):
        return None
    try:
        hash_key = DynamoType(attrs[table.hash_key_attr])
        range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr is not None else None
        if hash_key.type != table.hash_key_type or (range_key is not None and range_key.type != table.range_key_type):
            return None
        table._validate_item_types(attrs)
        table._validate_key_sizes(attrs)
        if table.get_item(hash_key, range_key) is not None and op.get("ConditionExpression") is not None:
            return None  # the condition fails: moto cancels the transaction with its reasons
        item = Item(hash_key, range_key, attrs)  # refuses an item over the size limit
    except Exception:  # any refusal: moto's path raises it in its own words
        return None
    return table, hash_key, range_key, item, op.get("ConditionExpression") is not None


def plain_puts(backend: DynamoDBBackend, transact_items: Any) -> list[tuple[Any, Any, Any, Item, bool]] | None:
    """Every put of the transaction, checked, or None when moto's path must answer."""
    if not isinstance(transact_items, list) or not 0 < len(transact_items) <= 100:
        return None
    puts, keys = [], set()
    for entry in transact_items:
        put = _checked_put(backend, entry)
        if put is None:
            return None
        table, hash_key, range_key, _, _ = put
        # Equal as DynamoDB compares keys (a number by its value): moto refuses two actions on
        # one item, or lets the second's condition fail; either way its path answers.
        key = (id(table), hash_key.type, hash_key.cast_value,
               range_key.type if range_key else None, range_key.cast_value if range_key else None)
        if key in keys:
            return None
        keys.add(key)
        puts.append(put)
    return puts


def _store(table: Any, hash_key: Any, range_key: Any, item: Item) -> None:
    if range_key:  # as Table.put_item stores an item
        table.items[hash_key][range_key] = item
    else:
        table.items[hash_key] = item


def write(backend: DynamoDBBackend, transact_items: Any, moto_path: Callable[[DynamoDBBackend, Any], None]) -> None:
    """The transaction, in one pass when it is made of plain puts, else through `moto_path`."""
    puts = plain_puts(backend, transact_items)
    if puts is None:
        return moto_path(backend, transact_items)
    stored: list[tuple[Any, Any, Any, Item | None]] = []  # table, key, what was there before
    for table, hash_key, range_key, item, conditional in puts:
        # Checked again right before it is stored, as moto checks each put: a request of another
        # thread may have stored the key since. Then what this one stored is taken back, and moto's
        # path answers (it cancels the transaction).
        before = table.get_item(hash_key, range_key)
        if conditional and before is not None:
            for undo_table, undo_hash, undo_range, previous in reversed(stored):
                if previous is None:
                    undo_table.delete_item(undo_hash, undo_range)
                else:
                    _store(undo_table, undo_hash, undo_range, previous)
            return moto_path(backend, transact_items)
        _store(table, hash_key, range_key, item)
        stored.append((table, hash_key, range_key, before))
    return None


def install() -> None:
    """Patch moto in this process; after every other wrapper of the backend's
    transact_write_items (cross_account.py, moto_fixes.py): a transaction of plain puts never
    needs them, any other goes through them."""
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        return write(self, transact_items, original)

    DynamoDBBackend.transact_write_items = transact_write_items
