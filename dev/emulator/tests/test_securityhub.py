"""Security Hub findings: not-enabled hub, validation, import in place, archive, filters,
BatchUpdateFindings."""

from __future__ import annotations

import boto3
import botocore.config
import botocore.exceptions
import pytest

from conftest import client_for, new_account

TYPE = "Software and Configuration Checks/AWS Security Best Practices/Network Reachability"


def product(account: str) -> str:
    return f"arn:aws:securityhub:us-east-1:{account}:product/{account}/default"


def finding(account: str, finding_id: str, updated: str = "2026-01-01T00:00:00.000Z", **fields) -> dict:
    return {"SchemaVersion": "2018-10-08", "Id": finding_id, "ProductArn": product(account),
            "GeneratorId": "plgov/service-open-to-all", "AwsAccountId": account,
            "CreatedAt": "2026-01-01T00:00:00.000Z", "UpdatedAt": updated, "Title": "Endpoint service open to all",
            "Description": "Any account can connect.", "Types": [TYPE], "Severity": {"Label": "HIGH"},
            "Resources": [{"Type": "Other", "Id": "vpce-svc-0123456789abcdef0"}], **fields}


def unvalidated(client):
    """The same client without botocore's own check of required parameters."""
    creds = client._request_signer._credentials
    return boto3.client("securityhub", endpoint_url=client.meta.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                        aws_session_token=creds.token,
                        config=botocore.config.Config(parameter_validation=False))


@pytest.fixture
def hub(emulator_url):
    account = new_account()
    client = client_for("securityhub", account)
    client.enable_security_hub(EnableDefaultStandards=False)
    return account, client


def by_id(client, **filters) -> dict[str, dict]:
    return {f["Id"]: f for f in client.get_findings(Filters=filters)["Findings"]}


def eq(value: str, comparison: str = "EQUALS") -> list[dict]:
    return [{"Value": value, "Comparison": comparison}]


def test_a_hub_not_enabled_refuses(emulator_url):
    account = new_account()
    client = client_for("securityhub", account)
    for call in (client.describe_hub, client.get_findings):
        with pytest.raises(botocore.exceptions.ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "InvalidAccessException"
    result = client.batch_import_findings(Findings=[finding(account, "f1")])
    assert (result["SuccessCount"], result["FailedCount"]) == (0, 1)
    assert result["FailedFindings"][0]["ErrorCode"] == "InvalidAccess"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client.batch_update_findings(FindingIdentifiers=[{"Id": "f1", "ProductArn": product(account)}],
                                     Workflow={"Status": "RESOLVED"})
    assert err.value.response["Error"]["Code"] == "InvalidAccessException"
    client.enable_security_hub()
    assert client.describe_hub()["HubArn"] == f"arn:aws:securityhub:us-east-1:{account}:hub/default"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client.enable_security_hub()
    assert err.value.response["Error"]["Code"] == "ResourceConflictException"
    assert client.get_findings()["Findings"] == []  # the refused import left nothing


def test_invalid_findings_fail_one_by_one(hub):
    account, client = hub
    # botocore would refuse the finding without a Title before sending it; other SDKs send it.
    client = unvalidated(client)
    other = new_account()
    no_title = finding(account, "no-title")
    del no_title["Title"]
    result = client.batch_import_findings(Findings=[
        finding(account, "good"), no_title, finding(account, "no-resources", Resources=[]),
        finding(account, "bad-severity", Severity={"Original": "8"}),
        finding(account, "bad-type", Types=["Made Up/Category"]),
        finding(account, "bad-date", UpdatedAt="yesterday"),
        finding(account, "other-account", AwsAccountId=other),
        finding(account, "other-product", ProductArn=product(other)),
    ])
    assert result["SuccessCount"] == 1 and result["FailedCount"] == 7
    codes = {f["Id"]: f["ErrorCode"] for f in result["FailedFindings"]}
    assert codes == {"no-title": "InvalidInput", "no-resources": "InvalidInput", "bad-severity": "InvalidInput",
                     "bad-type": "InvalidInput", "bad-date": "InvalidInput", "other-account": "InvalidAccess",
                     "other-product": "InvalidAccess"}
    assert list(by_id(client)) == ["good"]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client.batch_import_findings(Findings=[finding(account, f"f{i}") for i in range(101)])
    assert err.value.response["Error"]["Code"] == "InvalidInputException"


def test_security_hub_fills_in_its_attributes(hub):
    account, client = hub
    client.batch_import_findings(Findings=[finding(account, "f1"),
                                           finding(account, "f2", Severity={"Normalized": 45})])
    found = by_id(client)
    f1 = found["f1"]
    assert (f1["RecordState"], f1["Workflow"], f1["WorkflowState"], f1["Region"]) == (
        "ACTIVE", {"Status": "NEW"}, "NEW", "us-east-1")
    assert f1["Severity"] == {"Label": "HIGH", "Normalized": 70}
    assert f1["FindingProviderFields"]["Severity"]["Label"] == "HIGH"
    assert f1["FindingProviderFields"]["Types"] == [TYPE]
    assert "ProcessedAt" in f1
    assert found["f2"]["Severity"] == {"Label": "MEDIUM", "Normalized": 45}


def test_a_later_import_updates_in_place_and_an_earlier_one_is_ignored(hub):
    account, client = hub
    client.batch_import_findings(Findings=[finding(account, "f1", updated="2026-01-02T00:00:00Z")])
    result = client.batch_import_findings(Findings=[
        finding(account, "f1", updated="2026-01-01T00:00:00Z", Title="stale")])
    assert result["SuccessCount"] == 1  # accepted, and ignored
    assert by_id(client)["f1"]["Title"] == "Endpoint service open to all"
    client.batch_import_findings(Findings=[finding(account, "f1", updated="2026-01-02T00:00:00Z", Title="same time")])
    assert by_id(client)["f1"]["Title"] == "Endpoint service open to all"
    later = finding(account, "f1", updated="2026-01-03T00:00:00Z", Title="newer",
                    Description="Still open.", ProductFields={"plgov/rule": "open"})
    client.batch_import_findings(Findings=[later])
    [only] = client.get_findings()["Findings"]  # replaced, not added
    assert (only["Title"], only["Description"], only["UpdatedAt"]) == ("newer", "Still open.", "2026-01-03T00:00:00Z")
    client.batch_import_findings(Findings=[finding(account, "f1", updated="2026-01-04T00:00:00Z")])
    assert "ProductFields" not in by_id(client)["f1"]  # the new version replaces the old one whole


def test_archive_and_reactivation(hub):
    account, client = hub
    client.batch_import_findings(Findings=[finding(account, "open"), finding(account, "fixed")])
    ident = {"Id": "fixed", "ProductArn": product(account)}
    client.batch_update_findings(FindingIdentifiers=[ident], Workflow={"Status": "RESOLVED"})
    client.batch_import_findings(Findings=[finding(account, "fixed", updated="2026-01-02T00:00:00Z",
                                                   RecordState="ARCHIVED")])
    assert list(by_id(client, RecordState=eq("ACTIVE"))) == ["open"]
    archived = by_id(client, RecordState=eq("ARCHIVED"))["fixed"]
    assert archived["Workflow"] == {"Status": "RESOLVED"}
    assert len(client.get_findings()["Findings"]) == 2  # no filter: archived ones too
    # The issue comes back: ACTIVE again, and the workflow starts over.
    client.batch_import_findings(Findings=[finding(account, "fixed", updated="2026-01-03T00:00:00Z",
                                                   RecordState="ACTIVE")])
    back = by_id(client)["fixed"]
    assert (back["RecordState"], back["Workflow"]) == ("ACTIVE", {"Status": "NEW"})


def test_batch_update_findings_and_what_the_provider_cannot_overwrite(hub):
    account, client = hub
    client.batch_import_findings(Findings=[finding(account, "f1")])
    ident = {"Id": "f1", "ProductArn": product(account)}
    missing = {"Id": "nope", "ProductArn": product(account)}
    result = client.batch_update_findings(
        FindingIdentifiers=[ident, missing, ident], Workflow={"Status": "NOTIFIED"},
        Note={"Text": "owner asked", "UpdatedBy": "secops"}, Severity={"Label": "LOW"},
        UserDefinedFields={"ticket": "SEC-1"})
    assert result["ProcessedFindings"] == [ident]
    assert sorted(u["ErrorCode"] for u in result["UnprocessedFindings"]) == [
        "DuplicatedFindingIdentifier", "FindingNotFound"]
    updated = by_id(client)["f1"]
    assert updated["Workflow"] == {"Status": "NOTIFIED"}
    assert updated["Note"]["Text"] == "owner asked" and updated["Note"]["UpdatedBy"] == "secops"
    assert updated["Severity"] == {"Label": "LOW", "Normalized": 1}
    assert updated["UpdatedAt"] == "2026-01-01T00:00:00.000Z"  # BatchUpdateFindings leaves UpdatedAt alone
    # The provider's next import keeps the customer's workflow, note, fields and severity.
    client.batch_import_findings(Findings=[finding(account, "f1", updated="2026-01-02T00:00:00Z",
                                                   Workflow={"Status": "NEW"}, Severity={"Label": "CRITICAL"},
                                                   Note={"Text": "provider", "UpdatedBy": "x",
                                                         "UpdatedAt": "2026-01-02T00:00:00Z"},
                                                   Title="renamed")])
    after = by_id(client)["f1"]
    assert (after["Title"], after["Workflow"]["Status"], after["Note"]["Text"], after["Severity"]["Label"],
            after["UserDefinedFields"]) == ("renamed", "NOTIFIED", "owner asked", "LOW", {"ticket": "SEC-1"})
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client.batch_update_findings(FindingIdentifiers=[ident], Workflow={"Status": "DONE"})
    assert err.value.response["Error"]["Code"] == "InvalidInputException"


def test_get_findings_filters(hub):
    account, client = hub
    client.batch_import_findings(Findings=[
        finding(account, "svc/a", GeneratorId="plgov/open"),
        finding(account, "svc/b", GeneratorId="plgov/unused", Types=["Effects/Data Exposure"],
                Severity={"Label": "LOW"}),
        finding(account, "endpoint/c", GeneratorId="plgov/open", RecordState="ARCHIVED",
                Resources=[{"Type": "AwsEc2VpcEndpointService", "Id": "vpce-svc-1", "Tags": {"team": "net"}}]),
    ])
    assert set(by_id(client, Id=eq("svc/a"))) == {"svc/a"}
    assert set(by_id(client, ProductArn=eq(product(account)))) == {"svc/a", "svc/b", "endpoint/c"}
    assert set(by_id(client, GeneratorId=eq("plgov/open"))) == {"svc/a", "endpoint/c"}
    assert set(by_id(client, Type=eq("Software and Configuration Checks/", "PREFIX"))) == {"svc/a", "endpoint/c"}
    assert set(by_id(client, Id=eq("svc/", "PREFIX"), RecordState=eq("ACTIVE"))) == {"svc/a", "svc/b"}
    assert set(by_id(client, Id=eq("svc/a") + eq("svc/b"))) == {"svc/a", "svc/b"}  # OR on one field
    assert set(by_id(client, GeneratorId=eq("plgov/open", "NOT_EQUALS"))) == {"svc/b"}
    assert set(by_id(client, SeverityLabel=eq("LOW"))) == {"svc/b"}
    assert set(by_id(client, SeverityNormalized=[{"Gte": 50}])) == {"svc/a", "endpoint/c"}
    assert set(by_id(client, ResourceType=eq("AwsEc2VpcEndpointService"))) == {"endpoint/c"}
    assert set(by_id(client, ResourceTags=[{"Key": "team", "Value": "net", "Comparison": "EQUALS"}])) == {"endpoint/c"}
    assert set(by_id(client, WorkflowStatus=eq("NEW"))) == {"svc/a", "svc/b", "endpoint/c"}
    assert set(by_id(client, UpdatedAt=[{"Start": "2025-12-31T00:00:00Z", "End": "2026-01-02T00:00:00Z"}])) == {
        "svc/a", "svc/b", "endpoint/c"}
    assert by_id(client, UpdatedAt=[{"Start": "2026-02-01T00:00:00Z"}]) == {}
    for bad in ({"Id": eq("svc/a") + eq("svc/b", "NOT_EQUALS")},  # EQUALS with NOT_EQUALS
                {"Title": eq("x", "CONTAINS") + eq("y", "PREFIX")},  # CONTAINS only with CONTAINS
                {"MalwareName": eq("x")}):  # not modelled: refused, never ignored
        with pytest.raises(botocore.exceptions.ClientError) as err:
            client.get_findings(Filters=bad)
        assert err.value.response["Error"]["Code"] == "InvalidInputException"


def test_get_findings_sorts_and_pages(hub):
    account, client = hub
    client.batch_import_findings(Findings=[finding(account, f"f{i}", Severity={"Normalized": n})
                                           for i, n in enumerate((10, 90, 50, 70, 30))])
    ordered = client.get_findings(SortCriteria=[{"Field": "SeverityNormalized", "SortOrder": "desc"}])["Findings"]
    assert [f["Id"] for f in ordered] == ["f1", "f3", "f2", "f4", "f0"]
    seen, token = [], None
    while True:
        page = client.get_findings(MaxResults=2, **({"NextToken": token} if token else {}))
        assert len(page["Findings"]) <= 2
        seen += [f["Id"] for f in page["Findings"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == ["f0", "f1", "f2", "f3", "f4"]
