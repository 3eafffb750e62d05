"""TransactWriteItems as the audit table uses it: conditional puts, cancelled as a whole."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from conftest import REGION, client_for, new_account


def table(ddb, name: str) -> str:
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}])
    return name


def put(name: str, sk: str, value: str) -> dict:
    return {"Put": {"TableName": name, "Item": {"pk": {"S": "p"}, "sk": {"S": sk}, "v": {"S": value}},
                    "ConditionExpression": "attribute_not_exists(pk)"}}


def test_a_cancelled_transaction_writes_nothing_and_keeps_what_was_there(provider):
    ddb = client_for("dynamodb", provider)
    name = table(ddb, "audit")
    ddb.transact_write_items(TransactItems=[put(name, "a", "first")])
    with pytest.raises(botocore.exceptions.ClientError) as err:
        ddb.transact_write_items(TransactItems=[put(name, "b", "new"), put(name, "a", "second")])
    reasons = [r["Code"] for r in err.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    items = {i["sk"]["S"]: i["v"]["S"] for i in ddb.scan(TableName=name)["Items"]}
    assert items == {"a": "first"}, "b rolled back, a kept as first written"


def test_many_transactions_into_a_growing_table_all_land(provider):
    ddb = client_for("dynamodb", provider)
    name = table(ddb, "big")
    for batch in range(30):
        ddb.transact_write_items(TransactItems=[put(name, f"{batch:03}-{i:03}", "x") for i in range(100)])
    assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 3000


# ---------------------------------------------------------------- transact_puts.py: plain puts in one pass

EVERY_TYPE = {"pk": {"S": "p"}, "sk": {"S": "every-type"}, "s": {"S": "t\u00e9xt"}, "n": {"N": "-12.50"},
              "yes": {"BOOL": True}, "no": {"BOOL": False}, "nothing": {"NULL": True},
              "list": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"k": {"S": "v"}}}]},
              "map": {"M": {"inner": {"L": [{"BOOL": False}]}, "n": {"N": "3"}}},
              "strings": {"SS": ["a", "b"]}, "numbers": {"NS": ["1", "2.5"]}, "bytes": {"B": b"\x00\x01"}}


def test_a_transaction_of_plain_puts_stores_what_put_item_stores(provider):
    ddb = client_for("dynamodb", provider)
    by_put, by_transaction = table(ddb, "by-put"), table(ddb, "by-transaction")
    ddb.put_item(TableName=by_put, Item=EVERY_TYPE)
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": by_transaction, "Item": EVERY_TYPE, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": {"TableName": by_transaction, "Item": {**EVERY_TYPE, "sk": {"S": "no-condition"}}}}])
    key = {"pk": {"S": "p"}, "sk": {"S": "every-type"}}
    stored = ddb.get_item(TableName=by_transaction, Key=key)["Item"]
    assert stored == ddb.get_item(TableName=by_put, Key=key)["Item"]
    assert ddb.scan(TableName=by_transaction, Select="COUNT")["Count"] == 2
    # Without a condition a put replaces the stored item, as PutItem does.
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": by_transaction, "Item": {"pk": {"S": "p"}, "sk": {"S": "every-type"}}}}])
    assert ddb.get_item(TableName=by_transaction, Key=key)["Item"] == key


def _refused(ddb, name: str, items: list[dict]) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        ddb.transact_write_items(TransactItems=items)
    assert ddb.scan(TableName=name, Select="COUNT")["Count"] == 0, "a refused transaction stores nothing"
    return err.value.response["Error"]["Code"]


def test_transactions_moto_must_answer_are_refused_as_a_whole(provider):
    ddb = client_for("dynamodb", provider)
    name = table(ddb, "refused")
    fine = put(name, "fine", "x")
    assert _refused(ddb, name, [fine, put(name, "fine", "again")]) == "ValidationException"  # one item twice
    assert _refused(ddb, name, [fine, {"Put": {"TableName": name, "Item": {"pk": {"N": "1"}, "sk": {"S": "x"}}}}]) \
        == "ValidationException"  # a key of the wrong type
    assert _refused(ddb, name, [fine, put(name, "big", "x" * 410_000)]) == "ValidationException"  # over 400 KB
    numbers = "numbers"
    ddb.create_table(TableName=numbers, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "N"}])
    one, one_again = ({"Put": {"TableName": numbers, "Item": {"pk": {"N": n}}, "ConditionExpression": "attribute_not_exists(pk)"}}
                      for n in ("1", "1.0"))
    _refused(ddb, numbers, [one, one_again])  # one number written two ways is one item


def test_only_plain_puts_take_the_one_pass() -> None:
    from moto.dynamodb.models import dynamodb_backends

    from plgov_emulator import transact_puts

    backend = dynamodb_backends[new_account()][REGION]
    backend.create_table("t", schema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                         throughput=None, attr=[{"AttributeName": "pk", "AttributeType": "S"},
                                                {"AttributeName": "sk", "AttributeType": "S"}],
                         global_indexes=None, indexes=None, streams=None, billing_mode="PAY_PER_REQUEST",
                         sse_specification=None, tags=[], deletion_protection_enabled=None, warm_throughput=None)
    arn = backend.get_table("t").table_arn
    backend.put_item("t", {"pk": {"S": "p"}, "sk": {"S": "stored"}})

    def plain(**change) -> dict:
        op = {"TableName": "t", "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}}, "ConditionExpression": "attribute_not_exists(pk)"}
        return {"Put": {k: v for k, v in {**op, **change}.items() if v is not None}}

    for taken in ([plain()], [plain(ConditionExpression=None)], [plain(ConditionExpression=" attribute_not_exists( sk ) ")],
                  [plain(TableName=arn)], [plain(ReturnValuesOnConditionCheckFailure="ALL_OLD")],
                  [plain(Item={"pk": {"S": "p"}, "sk": {"S": "stored"}}, ConditionExpression=None)]):
        assert transact_puts.plain_puts(backend, taken) is not None, taken
    for left in ([],
                 [plain(), plain()],
                 [plain(Item={"pk": {"S": "p"}, "sk": {"S": "stored"}})],  # its condition fails
                 [plain(ConditionExpression="attribute_not_exists(other)")],
                 [plain(ConditionExpression="attribute_exists(pk)")],
                 [plain(ConditionExpression="attribute_not_exists(#k)", ExpressionAttributeNames={"#k": "pk"})],
                 [plain(TableName="missing")],
                 [plain(Item={"pk": {"S": "p"}})],
                 [plain(Item={"pk": {"N": "1"}, "sk": {"S": "x"}})],
                 [plain(Item={"pk": {"S": "p"}, "sk": {"S": "x"}, "big": {"S": "x" * 410_000}})],
                 [{"Update": {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "x"}}, "UpdateExpression": "SET a = :a",
                              "ExpressionAttributeValues": {":a": {"S": "v"}}}}],
                 [plain()] * 101):
        assert transact_puts.plain_puts(backend, left) is None, left


def _backend_with_tables() -> Any:
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[new_account()][REGION]
    for name, keys in (("ranged", (("pk", "HASH", "S"), ("sk", "RANGE", "S"))), ("numbered", (("pk", "HASH", "N"),))):
        backend.create_table(name, schema=[{"AttributeName": n, "KeyType": k} for n, k, _ in keys], throughput=None,
                             attr=[{"AttributeName": n, "AttributeType": t} for n, _, t in keys], global_indexes=None,
                             indexes=None, streams=None, billing_mode="PAY_PER_REQUEST", sse_specification=None,
                             tags=[], deletion_protection_enabled=None, warm_throughput=None)
    return backend


def _state(backend: Any) -> dict:
    return {name: sorted(str(item.to_json()) for item in table.all_items()) for name, table in backend.tables.items()}


def _outcome(call) -> str:
    try:
        call()
    except Exception as error:  # moto's error, compared by kind and words
        return f"{type(error).__name__}: {error}"
    return "stored"


def test_the_one_pass_ends_as_motos_path_ends() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    from plgov_emulator import transact_puts

    one_pass, moto = _backend_with_tables(), _backend_with_tables()
    arn = "ARN"  # each backend's own, below

    def ranged(sk: str, condition: str | None = "attribute_not_exists(pk)", table: str = "ranged", **extra) -> dict:
        op = {"TableName": table, "Item": {"pk": {"S": "p"}, "sk": {"S": sk}, "n": {"N": "1"}, **extra}}
        return {"Put": {**op, "ConditionExpression": condition} if condition else op}

    def numbered(n: str) -> dict:
        return {"Put": {"TableName": "numbered", "Item": {"pk": {"N": n}}, "ConditionExpression": "attribute_not_exists(pk)"}}

    transactions = [
        [ranged("a"), ranged("b", condition=None), ranged("c", condition="attribute_not_exists(sk)"), numbered("1")],
        [ranged("d"), ranged("a")],  # a is there: cancelled, d not kept
        [ranged("a", condition=None, extra={"S": "replaced"})],
        [ranged("e"), ranged("e", condition=None)],  # one item twice
        [numbered("2"), numbered("2.0")],  # one number two ways
        [numbered("1.00")],  # the number stored as 1
        [ranged("f"), {"Put": {"TableName": "ranged", "Item": {"pk": {"N": "1"}, "sk": {"S": "g"}}}}],
        [ranged("h"), ranged("i", big={"S": "x" * 410_000})],
        [ranged("j", table=arn), ranged("k")],
        [ranged("l"), {"Update": {"TableName": "ranged", "Key": {"pk": {"S": "p"}, "sk": {"S": "a"}},
                                  "UpdateExpression": "SET u = :u", "ExpressionAttributeValues": {":u": {"S": "v"}}}}],
        [ranged("m", table="missing")],
        [ranged("n", bad={"N": "not a number"})],
    ]
    def of(backend: Any, items: list[dict]) -> list[dict]:
        own = backend.get_table("ranged").table_arn
        return [{"Put": {**i["Put"], "TableName": own}} if i.get("Put", {}).get("TableName") == arn else i for i in items]

    taken = 0
    for items in transactions:
        taken += transact_puts.plain_puts(one_pass, of(one_pass, items)) is not None
        ours = _outcome(lambda: transact_puts.write(one_pass, of(one_pass, items), DynamoDBBackend.transact_write_items))
        theirs = _outcome(lambda: DynamoDBBackend.transact_write_items(moto, of(moto, items)))
        assert ours == theirs.replace(moto.account_id, one_pass.account_id), items
        assert _state(one_pass) == _state(moto), items
    assert taken == 3, "the one pass answers the first, the third and the ARN transaction"


def test_a_key_stored_by_another_request_meanwhile_cancels_the_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    from plgov_emulator import transact_puts

    backend = _backend_with_tables()
    checked = transact_puts.plain_puts

    def checked_then_raced(b: Any, items: Any) -> Any:
        puts = checked(b, items)
        b.put_item("ranged", {"pk": {"S": "p"}, "sk": {"S": "second"}, "by": {"S": "other request"}})
        return puts

    monkeypatch.setattr(transact_puts, "plain_puts", checked_then_raced)
    items = [{"Put": {"TableName": "ranged", "Item": {"pk": {"S": "p"}, "sk": {"S": sk}},
                      "ConditionExpression": "attribute_not_exists(pk)"}} for sk in ("first", "second")]
    outcome = _outcome(lambda: transact_puts.write(backend, items, DynamoDBBackend.transact_write_items))
    assert outcome.startswith("TransactionCanceledException"), outcome
    assert _state(backend)["ranged"] == [str({"Attributes": {"pk": {"S": "p"}, "sk": {"S": "second"}, "by": {"S": "other request"}}})]
