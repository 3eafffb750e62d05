"""TransactWriteItems as the audit table uses it: conditional puts, cancelled as a whole."""

from __future__ import annotations

import botocore.exceptions
import pytest

from conftest import client_for


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
