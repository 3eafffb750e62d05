"""The Price List Query API (pricing:GetProducts and friends) answered from the Price List fixtures."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
import requests

from conftest import URL, client_for, new_account

USE1, EU = "us-east-1", "eu-west-1"


@pytest.fixture
def pricing(emulator_url):
    # Like the real endpoints (us-east-1, eu-central-1, ap-south-1), whatever region is priced.
    return boto3.client("pricing", region_name=USE1, endpoint_url=URL, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def term(field, value, kind="TERM_MATCH"):
    return {"Type": kind, "Field": field, "Value": value}


def products(client, service, *filters, **kwargs):
    response = client.get_products(ServiceCode=service, Filters=list(filters), FormatVersion="aws_v1", **kwargs)
    assert response["FormatVersion"] == "aws_v1"
    assert all(isinstance(item, str) for item in response["PriceList"])  # JSON strings, not objects
    return [json.loads(item) for item in response["PriceList"]], response.get("NextToken")


def every_record(client, service):
    pages = client.get_paginator("get_products").paginate(ServiceCode=service, FormatVersion="aws_v1")
    return [json.loads(item) for page in pages for item in page["PriceList"]]


def only_dimension(record):
    (offer,) = record["terms"]["OnDemand"].values()
    (dimension,) = offer["priceDimensions"].values()
    return dimension


def usage_types(records):
    return sorted(r["product"]["attributes"]["usagetype"] for r in records)


def test_filters_narrow_to_the_one_interface_endpoint_hour(pricing):
    records, token = products(pricing, "AmazonVPC", term("regionCode", EU), term("productFamily", "VpcEndpoint"),
                              term("usagetype", "EU-VpcEndpoint-Hours"))
    assert token is None
    (record,) = records
    assert record["product"]["sku"] == "H37WJ97MHYGDXG2A"
    dimension = only_dimension(record)
    assert (dimension["unit"], Decimal(dimension["pricePerUnit"]["USD"])) == ("Hrs", Decimal("0.011"))
    # One filter less and the region's bytes record comes back too.
    records, _ = products(pricing, "AmazonVPC", term("regionCode", EU), term("productFamily", "VpcEndpoint"))
    assert usage_types(records) == ["EU-VpcEndpoint-Bytes", "EU-VpcEndpoint-Hours"]


@pytest.mark.parametrize("service", ["AmazonVPC", "AmazonEC2"])
def test_every_record_has_the_documented_shape(pricing, service):
    records = every_record(pricing, service)
    assert records
    for record in records:
        product = record["product"]
        attributes = product["attributes"]
        assert record["serviceCode"] == attributes["servicecode"] == service
        for name in ("regionCode", "location", "usagetype", "operation", "group"):
            assert isinstance(attributes[name], str) and attributes[name], (name, product["sku"])
        assert len(product["sku"]) == 16 and product["sku"].isalnum()
        assert record["version"] == record["publicationDate"].translate(str.maketrans("", "", "-:TZ"))
        offers = record["terms"]["OnDemand"]
        assert list(offers) == [f"{product['sku']}.JRTCKXETXF"]
        offer = offers[f"{product['sku']}.JRTCKXETXF"]
        assert (offer["sku"], offer["offerTermCode"]) == (product["sku"], "JRTCKXETXF")
        for rate_code, dimension in offer["priceDimensions"].items():
            assert dimension["rateCode"] == rate_code and rate_code.startswith(f"{product['sku']}.JRTCKXETXF.")
            assert dimension["unit"] in ("Hrs", "GB")
            assert Decimal(dimension["pricePerUnit"]["USD"]) > 0
            assert dimension["beginRange"] and dimension["endRange"] and dimension["description"]


def test_usage_type_prefixes(pricing):
    vpc = every_record(pricing, "AmazonVPC")
    nat = every_record(pricing, "AmazonEC2")
    # AmazonVPC prefixes every region, us-east-1 included; AmazonEC2 leaves us-east-1 bare.
    assert all(r["product"]["attributes"]["usagetype"].split("-")[0] in
               {"USE1", "USE2", "USW2", "EU", "EUW2", "EUC1", "APS1", "APN1", "APS3", "APN2", "APS7"} for r in vpc)
    use1 = [r for r in nat if r["product"]["attributes"]["regionCode"] == USE1]
    assert usage_types(use1) == ["NatGateway-Bytes", "NatGateway-Hours", "RegionalNatGateway-Hours"]
    sae1 = [r for r in nat if r["product"]["attributes"]["regionCode"] == "sa-east-1"]
    assert usage_types(sae1) == ["SAE1-NatGateway-Bytes", "SAE1-NatGateway-Hours"]


def test_interface_endpoint_bytes_are_tiered_in_gb(pricing):
    (record,), _ = products(pricing, "AmazonVPC", term("usagetype", "USE1-VpcEndpoint-Bytes"))
    (offer,) = record["terms"]["OnDemand"].values()
    tiers = sorted(((float(d["beginRange"]), d["endRange"], Decimal(d["pricePerUnit"]["USD"]))
                    for d in offer["priceDimensions"].values()))
    assert tiers == [(0.0, "1048576", Decimal("0.01")), (1048576.0, "5242880", Decimal("0.006")),
                     (5242880.0, "Inf", Decimal("0.004"))]


# Regions whose whole price set is in the fixture (fixtures/pricelist/SOURCES.md, "Complete price sets"):
# region -> (usage type prefix, interface endpoint $/h, NAT $/h, NAT $/GB).
COMPLETE = {
    "us-east-1": ("USE1", "0.01", "0.045", "0.045"),
    "us-east-2": ("USE2", "0.01", "0.045", "0.045"),
    "us-west-2": ("USW2", "0.01", "0.045", "0.045"),
    "eu-west-1": ("EU", "0.011", "0.048", "0.048"),
    "eu-west-2": ("EUW2", "0.011", "0.05", "0.05"),
    "eu-central-1": ("EUC1", "0.012", "0.052", "0.052"),
    "ap-southeast-1": ("APS1", "0.013", "0.059", "0.059"),
    "ap-northeast-1": ("APN1", "0.014", "0.062", "0.062"),
    "ap-northeast-2": ("APN2", "0.013", "0.059", "0.059"),
    "ap-southeast-5": ("APS7", "0.0117", "0.05015", "0.05015"),
}


def price_of(client, service, region, usagetype):
    (record,), _ = products(client, service, term("regionCode", region), term("usagetype", usagetype))
    (offer,) = record["terms"]["OnDemand"].values()
    return sorted((float(d["beginRange"]), d["endRange"], d["unit"], Decimal(d["pricePerUnit"]["USD"]))
                  for d in offer["priceDimensions"].values())


@pytest.mark.parametrize("region", sorted(COMPLETE))
def test_complete_price_sets(pricing, region):
    prefix, hour, nat_hour, nat_gb = COMPLETE[region]
    nat_prefix = "" if region == USE1 else prefix + "-"
    assert price_of(pricing, "AmazonVPC", region, f"{prefix}-VpcEndpoint-Hours") == [(0.0, "Inf", "Hrs", Decimal(hour))]
    assert price_of(pricing, "AmazonVPC", region, f"{prefix}-VpcEndpoint-Bytes") == [
        (0.0, "1048576", "GB", Decimal("0.01")), (1048576.0, "5242880", "GB", Decimal("0.006")),
        (5242880.0, "Inf", "GB", Decimal("0.004"))]
    assert price_of(pricing, "AmazonEC2", region, f"{nat_prefix}NatGateway-Hours") == [
        (0.0, "Inf", "Hrs", Decimal(nat_hour))]
    assert price_of(pricing, "AmazonEC2", region, f"{nat_prefix}NatGateway-Bytes") == [
        (0.0, "Inf", "GB", Decimal(nat_gb))]


@pytest.mark.parametrize("region, prefix, hour", [("us-east-2", "USE2", "0.01")])
def test_a_region_query_returns_the_hour_and_the_three_byte_tiers(pricing, region, prefix, hour):
    # What a cost reporter asks: every interface endpoint price of one region, nothing from another.
    records, token = products(pricing, "AmazonVPC", term("regionCode", region), term("productFamily", "VpcEndpoint"),
                              term("endpointType", "PrivateLink"))
    assert token is None
    assert usage_types(records) == [f"{prefix}-VpcEndpoint-Bytes", f"{prefix}-VpcEndpoint-Hours"]
    assert {r["product"]["attributes"]["regionCode"] for r in records} == {region}
    by_type = {r["product"]["attributes"]["usagetype"]: r for r in records}
    (hours,) = by_type[f"{prefix}-VpcEndpoint-Hours"]["terms"]["OnDemand"].values()
    assert [(d["unit"], d["beginRange"], d["endRange"], Decimal(d["pricePerUnit"]["USD"]))
            for d in hours["priceDimensions"].values()] == [("Hrs", "0", "Inf", Decimal(hour))]
    (data,) = by_type[f"{prefix}-VpcEndpoint-Bytes"]["terms"]["OnDemand"].values()
    assert sorted((float(d["beginRange"]), d["endRange"], d["unit"], Decimal(d["pricePerUnit"]["USD"]))
                  for d in data["priceDimensions"].values()) == [
        (0.0, "1048576", "GB", Decimal("0.01")), (1048576.0, "5242880", "GB", Decimal("0.006")),
        (5242880.0, "Inf", "GB", Decimal("0.004"))]


def test_skus_and_rate_codes_are_unique(pricing):
    records = every_record(pricing, "AmazonVPC") + every_record(pricing, "AmazonEC2")
    skus = [r["product"]["sku"] for r in records]
    rate_codes = [code for r in records for offer in r["terms"]["OnDemand"].values() for code in offer["priceDimensions"]]
    assert len(set(skus)) == len(skus)
    assert len(set(rate_codes)) == len(rate_codes)


def test_regions_without_a_confirmed_price_have_no_record(pricing):
    # Hours known, bytes not: a consumer has to meet the "no price" case for one rate only.
    (hours,), _ = products(pricing, "AmazonVPC", term("regionCode", "ap-south-1"), term("productFamily", "VpcEndpoint"))
    assert hours["product"]["attributes"]["usagetype"] == "APS3-VpcEndpoint-Hours"
    for region in ("sa-east-1", "ca-central-1", "eu-north-1", "ap-southeast-2"):
        assert products(pricing, "AmazonVPC", term("regionCode", region))[0] == []
    nat = every_record(pricing, "AmazonEC2")
    no_bytes = {r["product"]["attributes"]["regionCode"] for r in nat} - {
        r["product"]["attributes"]["regionCode"] for r in nat if r["product"]["attributes"]["usagetype"].endswith("-Bytes")}
    assert no_bytes == {"eu-north-1", "ap-southeast-2", "ca-central-1"}
    # Outside us-east-1 the GWLB endpoint is priced in ap-southeast-5 (hours and bytes) and ap-southeast-1 (hours).
    gwlbe, _ = products(pricing, "AmazonVPC", term("usagetype", "VpcEndpoint-GWLBE", "CONTAINS"))
    assert usage_types(gwlbe) == ["APS1-VpcEndpoint-GWLBE-Hours", "APS7-VpcEndpoint-GWLBE-Bytes",
                                  "APS7-VpcEndpoint-GWLBE-Hours", "USE1-VpcEndpoint-GWLBE-Bytes",
                                  "USE1-VpcEndpoint-GWLBE-Hours"]


def test_loose_matching_meets_the_decoys(pricing):
    # A substring match on NatGateway-Hours also finds the Regional NAT Gateway; an exact one does not.
    loose, _ = products(pricing, "AmazonEC2", term("regionCode", USE1), term("usagetype", "NatGateway-Hours", "CONTAINS"))
    exact, _ = products(pricing, "AmazonEC2", term("regionCode", USE1), term("usagetype", "NatGateway-Hours"))
    assert usage_types(loose) == ["NatGateway-Hours", "RegionalNatGateway-Hours"]
    assert usage_types(exact) == ["NatGateway-Hours"]
    # productFamily, group and operation alone do not single out the interface endpoint hour.
    hours, _ = products(pricing, "AmazonVPC", term("regionCode", USE1), term("productFamily", "VpcEndpoint"),
                        term("group", "VPCE:VpcEndpoint"), term("operation", "VpcEndpoint"))
    assert usage_types(hours) == ["USE1-VpcEndpoint-Bytes", "USE1-VpcEndpoint-GWLBE-Bytes",
                                  "USE1-VpcEndpoint-GWLBE-Hours", "USE1-VpcEndpoint-Hours",
                                  "USE1-VpcEndpoint-Service-Hours"]


def test_any_of_none_of_and_term_type(pricing):
    either, _ = products(pricing, "AmazonEC2", term("regionCode", "us-east-2,eu-west-2", "ANY_OF"),
                         term("usagetype", "Hours", "CONTAINS"))
    assert usage_types(either) == ["EUW2-NatGateway-Hours", "EUW2-RegionalNatGateway-Hours", "USE2-NatGateway-Hours"]
    rest, _ = products(pricing, "AmazonEC2", term("regionCode", "us-east-2,eu-west-2", "ANY_OF"),
                       term("usagetype", "EUW2-RegionalNatGateway-Hours,USE2-NatGateway-Bytes", "NONE_OF"))
    assert usage_types(rest) == ["EUW2-NatGateway-Bytes", "EUW2-NatGateway-Hours", "USE2-NatGateway-Hours"]
    on_demand, _ = products(pricing, "AmazonVPC", term("termType", "OnDemand"), term("regionCode", "ap-south-1"))
    reserved, _ = products(pricing, "AmazonVPC", term("termType", "Reserved"))
    assert usage_types(on_demand) == ["APS3-VpcEndpoint-Hours"] and reserved == []
    unknown_field, _ = products(pricing, "AmazonVPC", term("noSuchAttribute", "x"))
    assert unknown_field == []


def test_pagination_pages_through_everything_once(pricing):
    whole, token = products(pricing, "AmazonEC2")
    assert token is None and len(whole) > 10
    seen, token, pages = [], None, 0
    while True:
        page, token = products(pricing, "AmazonEC2", MaxResults=3, **({"NextToken": token} if token else {}))
        assert len(page) <= 3
        seen.extend(page)
        pages += 1
        if token is None:
            break
    assert pages == -(-len(whole) // 3)
    assert [r["product"]["sku"] for r in seen] == [r["product"]["sku"] for r in whole]
    assert len(every_record(pricing, "AmazonEC2")) == len(whole)


def test_next_token_is_bound_to_its_query(pricing):
    _, token = products(pricing, "AmazonEC2", MaxResults=2)
    assert token
    for bad in (token.replace(":", ":x"), "not-a-token"):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            products(pricing, "AmazonEC2", MaxResults=2, NextToken=bad)
        assert err.value.response["Error"]["Code"] == "InvalidNextTokenException"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        products(pricing, "AmazonEC2", term("regionCode", USE1), MaxResults=2, NextToken=token)
    assert err.value.response["Error"]["Code"] == "InvalidNextTokenException"


@pytest.mark.parametrize("kwargs, code, message", [
    ({"ServiceCode": "AmazonVPC", "MaxResults": 101}, "InvalidParameterException", "MaxResults"),
    ({"ServiceCode": "AmazonVPC", "Filters": [term("regionCode", USE1, "FUZZY")]}, "InvalidParameterException", "Type"),
    ({"ServiceCode": "AmazonVPC", "Filters": [term("regionCode", USE1)] * 51}, "InvalidParameterException", "50"),
    ({"ServiceCode": "AmazonVPC", "FormatVersion": "aws_v2"}, "InvalidParameterException", "FormatVersion"),
    ({"ServiceCode": "Amazon VPC"}, "InvalidParameterException", "ServiceCode can only contain a-z, A-Z, 0-9"),
    ({"ServiceCode": ""}, "InvalidParameterException", "serviceCode cannot be null or empty"),
    ({"ServiceCode": "AmazonNoSuchService"}, "NotFoundException", "AmazonNoSuchService"),
])
def test_bad_requests_fail_like_the_service(pricing, kwargs, code, message):
    with pytest.raises(botocore.exceptions.ClientError) as err:
        pricing.get_products(**kwargs)
    assert err.value.response["Error"]["Code"] == code
    assert message in err.value.response["Error"]["Message"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_missing_service_code_on_the_wire(emulator_url):
    response = requests.post(URL, data=b'{"Filters": []}', timeout=5, headers={
        "X-Amz-Target": "AWSPriceListService.GetProducts", "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261127/us-east-1/pricing/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    assert response.status_code == 400
    assert response.json()["__type"] == "InvalidParameterException"


def test_describe_services_and_attribute_values(pricing):
    services = pricing.describe_services(FormatVersion="aws_v1")["Services"]
    assert [s["ServiceCode"] for s in services] == ["AmazonEC2", "AmazonVPC"]
    (vpc,) = pricing.describe_services(ServiceCode="AmazonVPC")["Services"]
    assert {"usagetype", "regionCode", "endpointType"} <= set(vpc["AttributeNames"])
    values = pricing.get_paginator("get_attribute_values").paginate(
        ServiceCode="AmazonEC2", AttributeName="regionCode", PaginationConfig={"PageSize": 4})
    regions = [v["Value"] for page in values for v in page["AttributeValues"]]
    assert regions == sorted(set(regions)) and "sa-east-1" in regions and len(regions) == 15


def test_fault_for_get_products_reaches_the_client(emulator_url):
    account = new_account()
    armed = requests.post(f"{URL}/_plgov/faults", timeout=5, json={
        "operation": "GetProducts", "service": "pricing", "account": account,
        "error": "ThrottlingException", "count": 1})
    assert armed.status_code == 200, armed.text
    try:
        client = client_for("pricing", account, retries=False)
        other = client_for("pricing", new_account(), retries=False)
        assert other.get_products(ServiceCode="AmazonVPC", MaxResults=1)["PriceList"]  # not its account
        with pytest.raises(botocore.exceptions.ClientError) as err:
            client.get_products(ServiceCode="AmazonVPC", MaxResults=1)
        assert err.value.response["Error"]["Code"] == "ThrottlingException"
        assert client.get_products(ServiceCode="AmazonVPC", MaxResults=1)["PriceList"]  # count 1: spent
        calls = requests.get(f"{URL}/_plgov/calls", params={"account": account}, timeout=5).json()["calls"]
        assert calls["pricing:GetProducts"] == 2
    finally:
        requests.delete(f"{URL}/_plgov/faults", params={"account": account}, timeout=5)


def test_fault_without_error_code_fails_one_region_for_one_account(emulator_url):
    # No `error`: the service's internal error (InternalErrorException, HTTP 500); `body_contains` narrows the
    # fault to the queries naming one region, so a test can take away exactly one region's prices.
    account = new_account()
    armed = requests.post(f"{URL}/_plgov/faults", timeout=5, json={
        "operation": "GetProducts", "service": "pricing", "account": account, "count": -1,
        "body_contains": "us-east-2"})
    assert armed.status_code == 200, armed.text
    try:
        client = client_for("pricing", account, retries=False)
        for _ in range(2):  # count -1: until cleared
            with pytest.raises(botocore.exceptions.ClientError) as err:
                client.get_products(ServiceCode="AmazonVPC", Filters=[term("regionCode", "us-east-2")])
            assert err.value.response["Error"]["Code"] == "InternalErrorException"
            assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert client.get_products(ServiceCode="AmazonVPC", Filters=[term("regionCode", USE1)])["PriceList"]
        assert client.describe_services(ServiceCode="AmazonVPC")["Services"]  # another operation
        other = client_for("pricing", new_account(), retries=False)
        assert other.get_products(ServiceCode="AmazonVPC", Filters=[term("regionCode", "us-east-2")])["PriceList"]
    finally:
        requests.delete(f"{URL}/_plgov/faults", params={"account": account}, timeout=5)
    assert client.get_products(ServiceCode="AmazonVPC", Filters=[term("regionCode", "us-east-2")])["PriceList"]


def test_fixture_loader_refuses_a_malformed_record(tmp_path: Path):
    from plgov_emulator.pricing import load_catalog

    good = json.loads((Path(__file__).parents[1] / "plgov_emulator/fixtures/pricelist/AmazonVPC.json").read_text())
    (tmp_path / "ok.json").write_text(json.dumps(good[:2]))
    assert [r["product"]["sku"] for r in load_catalog(tmp_path)["AmazonVPC"]] == [
        good[0]["product"]["sku"], good[1]["product"]["sku"]]
    (tmp_path / "bad.json").write_text(json.dumps([{"product": {"sku": "X"}, "serviceCode": "AmazonVPC"}]))
    with pytest.raises(ValueError, match="bad.json"):
        load_catalog(tmp_path)
