"""TransactWriteItems as the audit table uses it: conditional puts, cancelled as a whole."""

from __future__ import annotations

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
