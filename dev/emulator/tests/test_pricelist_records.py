"""Price List records a test adds for its own account (POST/GET/DELETE /_plgov/pricelist, pricing.py).

The fixture has no interface endpoint price for sa-east-1 (not confirmed, fixtures/pricelist/SOURCES.md);
these tests add made-up ones. The prices below are test inputs, not AWS's.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
import requests

from conftest import URL, client_for, new_account

SAE1 = "sa-east-1"
HOURS_SKU, BYTES_SKU = "TESTSAE1VPCEHRS1", "TESTSAE1VPCEBYT1"  # 16 characters, like real SKUs
TIERS = [("0", "1048576", "0.0300000000"), ("1048576", "5242880", "0.0250000000"), ("5242880", "Inf", "0.0125000000")]


def record(sku: str, usagetype: str, unit: str, dimensions: list[tuple[str, str, str]], group_description: str):
    offer = f"{sku}.JRTCKXETXF"
    return {
        "product": {
            "productFamily": "VpcEndpoint",
            "attributes": {
                "regionCode": SAE1, "servicecode": "AmazonVPC", "usagetype": usagetype,
                "locationType": "AWS Region", "location": "South America (Sao Paulo)",
                "servicename": "Amazon Virtual Private Cloud", "operation": "VpcEndpoint",
                "group": "VPCE:VpcEndpoint", "groupDescription": group_description, "endpointType": "PrivateLink"},
            "sku": sku},
        "serviceCode": "AmazonVPC",
        "terms": {"OnDemand": {offer: {
            "priceDimensions": {f"{offer}.TEST{i}TIER00": {
                "unit": unit, "beginRange": begin, "endRange": end, "appliesTo": [],
                "description": f"TEST ONLY ${price} per {unit}", "rateCode": f"{offer}.TEST{i}TIER00",
                "pricePerUnit": {"USD": price}} for i, (begin, end, price) in enumerate(dimensions)},
            "sku": sku, "effectiveDate": "2026-09-01T00:00:00Z", "offerTermCode": "JRTCKXETXF",
            "termAttributes": {}}}},
        "version": "20260917190528",
        "publicationDate": "2026-09-17T19:05:28Z",
    }


HOURS = record(HOURS_SKU, "SAE1-VpcEndpoint-Hours", "Hrs", [("0", "Inf", "0.0200000000")],
               "Hourly charge for VPC Endpoints")
BYTES = record(BYTES_SKU, "SAE1-VpcEndpoint-Bytes", "GB", TIERS, "Data processed by VPC Endpoints")


def term(field, value, kind="TERM_MATCH"):
    return {"Type": kind, "Field": field, "Value": value}


def sae1_endpoint_prices(client):
    response = client.get_products(ServiceCode="AmazonVPC", FormatVersion="aws_v1",
                                   Filters=[term("regionCode", SAE1), term("productFamily", "VpcEndpoint")])
    assert "NextToken" not in response
    return [json.loads(item) for item in response["PriceList"]]


def every_record(client, service="AmazonVPC", page_size=100, *filters):
    pages = client.get_paginator("get_products").paginate(
        ServiceCode=service, FormatVersion="aws_v1", Filters=list(filters), PaginationConfig={"PageSize": page_size})
    seen = []
    for page in pages:
        assert len(page["PriceList"]) <= page_size
        seen.extend(json.loads(item) for item in page["PriceList"])
    return seen


def add(account, records, service="AmazonVPC"):
    return requests.post(f"{URL}/_plgov/pricelist", timeout=5,
                         json={"account": account, "serviceCode": service, "records": records})


def added(account):
    response = requests.get(f"{URL}/_plgov/pricelist", params={"account": account}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["accounts"].get(account, {})


def forget(account):
    response = requests.delete(f"{URL}/_plgov/pricelist", params={"account": account}, timeout=5)
    assert response.status_code == 200, response.text
    assert account not in response.json()["accounts"]


@pytest.fixture
def account(emulator_url):
    account = new_account()
    yield account
    forget(account)


def test_added_records_reach_their_account_only_until_forgotten(account):
    client, other = client_for("pricing", account), client_for("pricing", new_account())
    assert sae1_endpoint_prices(client) == []  # the fixture has none
    response = add(account, [HOURS, BYTES])
    assert response.status_code == 200, response.text
    assert response.json() == {"account": account, "serviceCode": "AmazonVPC", "added": 2, "records": 2}
    assert added(account) == {"AmazonVPC": 2}

    records = sae1_endpoint_prices(client)
    assert records == [HOURS, BYTES]  # every field as posted, in the order posted
    by_type = {r["product"]["attributes"]["usagetype"]: r for r in records}
    (hours,) = by_type["SAE1-VpcEndpoint-Hours"]["terms"]["OnDemand"].values()
    assert [(d["unit"], Decimal(d["pricePerUnit"]["USD"])) for d in hours["priceDimensions"].values()] == [
        ("Hrs", Decimal("0.02"))]
    (data,) = by_type["SAE1-VpcEndpoint-Bytes"]["terms"]["OnDemand"].values()
    assert sorted((float(d["beginRange"]), d["endRange"], Decimal(d["pricePerUnit"]["USD"]))
                  for d in data["priceDimensions"].values()) == [
        (0.0, "1048576", Decimal("0.03")), (1048576.0, "5242880", Decimal("0.025")),
        (5242880.0, "Inf", Decimal("0.0125"))]
    # A narrower filter still applies to added records.
    (only,) = [json.loads(r) for r in client.get_products(ServiceCode="AmazonVPC", Filters=[
        term("regionCode", SAE1), term("usagetype", "SAE1-VpcEndpoint-Bytes")])["PriceList"]]
    assert only["product"]["sku"] == BYTES_SKU

    assert sae1_endpoint_prices(other) == []  # another account sees the fixture alone
    assert sae1_endpoint_prices(client_for("pricing")) == []  # so does the default account

    forget(account)
    assert added(account) == {}
    assert sae1_endpoint_prices(client) == []


def test_pagination_runs_across_fixture_and_added_records(account):
    client, other = client_for("pricing", account), client_for("pricing", new_account())
    fixture = every_record(other)
    assert add(account, [HOURS, BYTES]).status_code == 200
    for size in (1, 3, 5, 100):
        seen = every_record(client, "AmazonVPC", size)
        assert [r["product"]["sku"] for r in seen] == [r["product"]["sku"] for r in fixture] + [HOURS_SKU, BYTES_SKU]
    # One record a page, the page boundary falling between the fixture's us-east-2 records and the added ones.
    both = every_record(client, "AmazonVPC", 1, term("regionCode", f"us-east-2,{SAE1}", "ANY_OF"),
                        term("productFamily", "VpcEndpoint"))
    assert [r["product"]["attributes"]["usagetype"] for r in both] == [
        "USE2-VpcEndpoint-Hours", "USE2-VpcEndpoint-Bytes", "SAE1-VpcEndpoint-Hours", "SAE1-VpcEndpoint-Bytes"]
    assert len(every_record(other)) == len(fixture)


def test_repeated_posts_add_and_forgetting_one_account_keeps_another(account):
    second = new_account()
    try:
        assert add(account, [HOURS]).json()["records"] == 1
        assert add(account, [BYTES]).json() == {"account": account, "serviceCode": "AmazonVPC",
                                                "added": 1, "records": 2}
        assert add(second, [HOURS]).status_code == 200  # the same SKU in another account is its own
        listing = requests.get(f"{URL}/_plgov/pricelist", timeout=5).json()["accounts"]
        assert listing[account] == {"AmazonVPC": 2} and listing[second] == {"AmazonVPC": 1}
        forget(account)
        assert added(second) == {"AmazonVPC": 1}
        assert [r["product"]["sku"] for r in sae1_endpoint_prices(client_for("pricing", second))] == [HOURS_SKU]
        assert sae1_endpoint_prices(client_for("pricing", account)) == []
    finally:
        forget(second)


def test_attribute_values_and_services_follow_the_added_records(account):
    client, other = client_for("pricing", account), client_for("pricing", new_account())

    def regions(c):
        pages = c.get_paginator("get_attribute_values").paginate(ServiceCode="AmazonVPC", AttributeName="regionCode")
        return [v["Value"] for page in pages for v in page["AttributeValues"]]

    assert SAE1 not in regions(client)
    custom = copy.deepcopy(HOURS)
    custom["serviceCode"] = custom["product"]["attributes"]["servicecode"] = "TestOnlyService"
    custom["product"]["attributes"]["testOnlyAttribute"] = "x"
    assert add(account, [HOURS]).status_code == 200
    assert add(account, [custom], service="TestOnlyService").status_code == 200
    assert SAE1 in regions(client) and SAE1 not in regions(other)
    assert [s["ServiceCode"] for s in client.describe_services()["Services"]] == ["AmazonEC2", "AmazonVPC",
                                                                                 "TestOnlyService"]
    (service,) = client.describe_services(ServiceCode="TestOnlyService")["Services"]
    assert "testOnlyAttribute" in service["AttributeNames"]
    assert [s["ServiceCode"] for s in other.describe_services()["Services"]] == ["AmazonEC2", "AmazonVPC"]
    with pytest.raises(other.exceptions.NotFoundException):
        other.get_products(ServiceCode="TestOnlyService")
    assert added(account) == {"AmazonVPC": 1, "TestOnlyService": 1}


def _without(path: str):
    broken = copy.deepcopy(HOURS)
    *parents, leaf = path.split(".")
    target = broken
    for name in parents:
        target = target[name]
    del target[leaf]
    return broken


@pytest.mark.parametrize("body, problem", [
    (b"{not json", "not JSON"),
    ([HOURS], "JSON object"),
    ({"serviceCode": "AmazonVPC", "records": [HOURS]}, "'account' must be an account id of 12 digits"),
    ({"account": "12345", "serviceCode": "AmazonVPC", "records": [HOURS]}, "'account' must be an account id of 12"),
    ({"account": 123456789012, "serviceCode": "AmazonVPC", "records": [HOURS]}, "'account'"),
    ({"account": "ACCOUNT", "records": [HOURS]}, "'serviceCode' is required"),
    ({"account": "ACCOUNT", "serviceCode": "Amazon VPC", "records": [HOURS]}, "can only contain a-z, A-Z, 0-9"),
    ({"account": "ACCOUNT", "serviceCode": "AmazonVPC", "records": []}, "'records' must be a non-empty list"),
    ({"account": "ACCOUNT", "serviceCode": "AmazonVPC"}, "'records' must be a non-empty list"),
    ({"account": "ACCOUNT", "serviceCode": "AmazonVPC", "records": HOURS}, "'records' must be a non-empty list"),
    ({"account": "ACCOUNT", "serviceCode": "AmazonVPC", "records": ["x"]}, "records[0]: a record is a JSON object"),
    ({"account": "ACCOUNT", "serviceCode": "AmazonVPC", "records": [HOURS, _without("product.attributes")]},
     "records[1]: product.attributes must be an object"),
    ({"account": "ACCOUNT", "serviceCode": "AmazonVPC", "records": [_without("terms")]}, "records[0]: terms"),
    ({"account": "ACCOUNT", "serviceCode": "AmazonVPC", "records": [_without("product.sku")]},
     "records[0]: product.sku"),
    ({"account": "ACCOUNT", "serviceCode": "AmazonEC2", "records": [HOURS]},
     "records[0]: serviceCode is 'AmazonVPC', not the body's 'AmazonEC2'"),
    ({"account": "ACCOUNT", "serviceCode": "AmazonVPC", "records": [HOURS, HOURS]}, f"records[1]: sku '{HOURS_SKU}'"),
])
def test_bad_bodies_are_refused_and_add_nothing(account, body, problem):
    if isinstance(body, dict) and body.get("account") == "ACCOUNT":
        body = {**body, "account": account}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = requests.post(f"{URL}/_plgov/pricelist", data=data, timeout=5,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("invalid price list records: ")
    assert problem in response.json()["error"]
    assert added(account) == {}
    assert sae1_endpoint_prices(client_for("pricing", account)) == []


def test_a_fixture_sku_cannot_be_added_again(account):
    client = client_for("pricing", account)
    (fixture_hour,) = [json.loads(r) for r in client.get_products(
        ServiceCode="AmazonVPC", Filters=[term("usagetype", "USE1-VpcEndpoint-Hours")])["PriceList"]]
    response = add(account, [HOURS, fixture_hour])
    assert response.status_code == 400
    assert f"records[1]: sku '{fixture_hour['product']['sku']}' is already in" in response.json()["error"]
    assert add(account, [HOURS]).status_code == 200
    again = add(account, [BYTES, HOURS])  # already added by this account
    assert again.status_code == 400 and f"records[1]: sku '{HOURS_SKU}'" in again.json()["error"]
    assert added(account) == {"AmazonVPC": 1}


def test_unknown_method_is_a_404(emulator_url):
    assert requests.put(f"{URL}/_plgov/pricelist", json={}, timeout=5).status_code == 404
