"""Security Hub findings as AWS keeps them: import in place, archive, filters, customer updates.

moto 5.2's Security Hub accepts BatchImportFindings and answers GetFindings while the hub is not
enabled, checks no required ASFF attribute and no batch size, merges a re-imported finding into
the old one whatever its UpdatedAt (an older update overwrites a newer one), ignores GetFindings'
Filters and SortCriteria, adds none of the attributes Security Hub fills in, answers
EnableSecurityHub twice without complaint, and has no BatchUpdateFindings (404). Here:

BatchImportFindings (AWS Security Hub User Guide, "BatchImportFindings for finding providers",
"Required attributes"; API reference):
- at most 100 findings a call (more: InvalidInputException); each finding needs SchemaVersion
  "2018-10-08", Id, ProductArn, GeneratorId, AwsAccountId, CreatedAt, UpdatedAt (ISO 8601), Title,
  Description, 1..32 Resources (Type and Id), Severity (Label or Normalized) and Types (or the
  same under FindingProviderFields), at most 240 KB; otherwise it is a FailedFindings entry with
  ErrorCode InvalidInput. A hub not enabled, another account's AwsAccountId or a ProductArn other
  than the account's own `arn:aws:securityhub:<region>:<account>:product/<account>/default` fail
  the finding with ErrorCode InvalidAccess.
- a finding is identified by ProductArn and Id. The same finding imported again replaces the old
  one when its UpdatedAt is later, and is ignored (still counted a success) when it is earlier.
  The guide leaves an equal UpdatedAt open ("must be more recent than all of the previous
  values"); the emulator ignores it too, so a provider that forgets to advance UpdatedAt sees its
  update dropped here first.
- on an update, Note, UserDefinedFields, VerificationState and Workflow keep their values, and
  Confidence, Criticality, RelatedFindings, Severity and Types keep the values BatchUpdateFindings
  gave them. Workflow.Status goes back from NOTIFIED or RESOLVED to NEW when RecordState changes
  from ARCHIVED to ACTIVE or Compliance.Status from PASSED to WARNING, FAILED or NOT_AVAILABLE.
  Archiving is a re-import with `RecordState: ARCHIVED`.
- filled in: RecordState ACTIVE, Workflow.Status NEW (and WorkflowState NEW), Region, ProcessedAt,
  Severity's Label from Normalized or Normalized from Label (INFORMATIONAL 0, LOW 1, MEDIUM 40,
  HIGH 70, CRITICAL 90), and FindingProviderFields.Severity/Types from the top-level values (or
  the other way round) when only one is given.

BatchUpdateFindings: up to 100 FindingIdentifiers (Id, ProductArn); Note (Text, UpdatedBy),
Severity, VerificationState, Confidence, Criticality, Types, UserDefinedFields, Workflow and
RelatedFindings; unknown or repeated identifiers are UnprocessedFindings (FindingNotFound,
DuplicatedFindingIdentifier); UpdatedAt does not change.

GetFindings: filters on the string attributes Id, ProductArn, GeneratorId, AwsAccountId, Region,
Title, Description, RecordState, WorkflowStatus, WorkflowState, SeverityLabel, Type (any of the
Types), ResourceType/ResourceId/ResourcePartition/ResourceRegion (any resource), ComplianceStatus,
VerificationState, NoteText and a few more (EQUALS, PREFIX, CONTAINS joined by OR; NOT_EQUALS,
PREFIX_NOT_EQUALS, NOT_CONTAINS joined by AND, refusing the mixes AWS refuses); dates (Start/End,
DateRange in DAYS) on CreatedAt, UpdatedAt, FirstObservedAt, LastObservedAt; numbers
(Gte/Lte/Eq/Gt/Lt) on SeverityNormalized, Confidence, Criticality; maps (ProductFields,
UserDefinedFields, ResourceTags). At most 10 attributes and 20 values each. A filter the emulator
does not model is an InvalidInputException naming it, never silently ignored. SortCriteria sorts
on the same attributes; without it findings come in the order they were created. MaxResults
1..100 (default 100) with NextToken. No filter: every finding, archived ones included.

Not enabled: DescribeHub, GetFindings and BatchUpdateFindings answer InvalidAccessException;
EnableSecurityHub on an enabled hub answers ResourceConflictException.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import threading
from typing import Any, Callable

from moto.securityhub import urls
from moto.securityhub.exceptions import SecurityHubClientError
from moto.securityhub.models import Finding, SecurityHubBackend
from moto.securityhub.responses import SecurityHubResponse

SCHEMA_VERSION = "2018-10-08"
MAX_BATCH = 100
MAX_FINDING_BYTES = 240 * 1024
REQUIRED = ("SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt", "UpdatedAt", "Title",
            "Description", "Resources")
LABELS = {"INFORMATIONAL": 0, "LOW": 1, "MEDIUM": 40, "HIGH": 70, "CRITICAL": 90}
WORKFLOW_STATUSES = ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")
VERIFICATION_STATES = ("UNKNOWN", "TRUE_POSITIVE", "FALSE_POSITIVE", "BENIGN_POSITIVE")
TYPE_NAMESPACES = ("Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors",
                   "Sensitive Data Identifications")
PROVIDER_LOCKED = ("Note", "UserDefinedFields", "VerificationState", "Workflow")
CUSTOMER_OWNED = ("Confidence", "Criticality", "RelatedFindings", "Severity", "Types")
_lock = threading.Lock()


class InvalidInput(ValueError):
    """A finding the import rejects (FailedFindings entry)."""

    def __init__(self, message: str, code: str = "InvalidInput"):
        super().__init__(message)
        self.code = code


def _error(code: str, message: str) -> SecurityHubClientError:
    return SecurityHubClientError(code, message)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(value: Any, name: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{name} '{value}' is not an ISO 8601 timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _not_enabled(backend: SecurityHubBackend) -> SecurityHubClientError:
    return _error("InvalidAccessException", f"Account {backend.account_id} is not subscribed to AWS Security Hub")


def _product_arn(backend: SecurityHubBackend) -> str:
    return f"arn:aws:securityhub:{backend.region_name}:{backend.account_id}:product/{backend.account_id}/default"


def _normalised_severity(severity: Any) -> dict[str, Any]:
    if not isinstance(severity, dict) or ("Label" not in severity and "Normalized" not in severity):
        raise InvalidInput("Severity needs Label or Normalized")
    severity = dict(severity)
    if "Label" in severity and severity["Label"] not in LABELS:
        raise InvalidInput(f"Severity.Label '{severity['Label']}' is not one of {', '.join(LABELS)}")
    if "Normalized" in severity:
        normalized = severity["Normalized"]
        if not isinstance(normalized, int) or not 0 <= normalized <= 100:
            raise InvalidInput("Severity.Normalized must be a whole number 0..100")
        severity.setdefault("Label", "INFORMATIONAL" if normalized == 0 else "LOW" if normalized < 40 else
                            "MEDIUM" if normalized < 70 else "HIGH" if normalized < 90 else "CRITICAL")
    else:
        severity["Normalized"] = LABELS[severity["Label"]]
    return severity


def _check_types(types: Any) -> list[str]:
    if not isinstance(types, list) or not types or len(types) > 50:
        raise InvalidInput("Types must list 1..50 types")
    for t in types:
        if not isinstance(t, str) or t.split("/")[0] not in TYPE_NAMESPACES:
            raise InvalidInput(f"Type '{t}' is not namespace/category/classifier with a known namespace")
    return types


def _validated(backend: SecurityHubBackend, finding: Any) -> dict[str, Any]:
    """The finding as stored on creation (defaults filled in), or InvalidInput."""
    if not isinstance(finding, dict):
        raise InvalidInput("A finding is a JSON object")
    if not backend.enabled:
        raise InvalidInput(f"Account {backend.account_id} is not subscribed to AWS Security Hub", "InvalidAccess")
    missing = [k for k in REQUIRED if finding.get(k) in (None, "", [])]
    provider = finding.get("FindingProviderFields") or {}
    if "Severity" not in finding and "Severity" not in provider:
        missing.append("Severity")
    if "Types" not in finding and "Types" not in provider:
        missing.append("Types")
    if missing:
        raise InvalidInput(f"Finding is missing required attribute(s): {', '.join(missing)}")
    if len(json.dumps(finding)) > MAX_FINDING_BYTES:
        raise InvalidInput("Finding size exceeded 240 KB")
    if finding["SchemaVersion"] != SCHEMA_VERSION:
        raise InvalidInput(f"SchemaVersion must be {SCHEMA_VERSION}")
    if finding["AwsAccountId"] != backend.account_id:
        raise InvalidInput(f"AwsAccountId {finding['AwsAccountId']} is not the calling account", "InvalidAccess")
    if finding["ProductArn"] != _product_arn(backend):
        raise InvalidInput(f"Product {finding['ProductArn']} is not enabled for this account", "InvalidAccess")
    resources = finding["Resources"]
    if not isinstance(resources, list) or not 1 <= len(resources) <= 32 or not all(
            isinstance(r, dict) and r.get("Type") and r.get("Id") for r in resources):
        raise InvalidInput("Resources must list 1..32 resources, each with Type and Id")
    for name in ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"):
        if name in finding:
            _time(finding[name], name)
    if finding.get("RecordState", "ACTIVE") not in ("ACTIVE", "ARCHIVED"):
        raise InvalidInput("RecordState must be ACTIVE or ARCHIVED")
    stored = copy.deepcopy(finding)
    provider = stored.setdefault("FindingProviderFields", {})
    for name, check in (("Severity", _normalised_severity), ("Types", _check_types)):
        value = stored.get(name, provider.get(name))
        stored[name] = check(value)
        provider.setdefault(name, copy.deepcopy(stored[name]))
    stored.setdefault("RecordState", "ACTIVE")
    stored.setdefault("Workflow", {"Status": "NEW"})
    stored.setdefault("WorkflowState", "NEW")
    stored.setdefault("Region", backend.region_name)
    stored["ProcessedAt"] = _now()
    return stored


def _workflow_reset(old: dict[str, Any], new: dict[str, Any]) -> bool:
    reactivated = old.get("RecordState") == "ARCHIVED" and new.get("RecordState") == "ACTIVE"
    failing = (old.get("Compliance") or {}).get("Status") == "PASSED" and \
        (new.get("Compliance") or {}).get("Status") in ("WARNING", "FAILED", "NOT_AVAILABLE")
    return reactivated or failing


def _index(backend: SecurityHubBackend) -> dict[tuple[str, str], Finding]:
    return {(f.data.get("ProductArn"), f.id): f for f in backend.findings}


def batch_import_findings(self: SecurityHubBackend,
                          findings: list[dict[str, Any]]) -> tuple[int, int, list[dict[str, Any]]]:
    if not isinstance(findings, list) or not 1 <= len(findings) <= MAX_BATCH:
        raise _error("InvalidInputException", f"Findings must list 1..{MAX_BATCH} findings")
    failed: list[dict[str, Any]] = []
    succeeded = 0
    with _lock:
        index = _index(self)
        for finding in findings:
            try:
                stored = _validated(self, finding)
            except InvalidInput as exc:
                failed.append({"Id": (finding.get("Id") if isinstance(finding, dict) else None) or "unknown",
                               "ErrorCode": exc.code, "ErrorMessage": str(exc)})
                continue
            succeeded += 1
            key = (stored["ProductArn"], stored["Id"])
            existing = index.get(key)
            if existing is None:
                created = Finding(stored["Id"], stored)
                created.plgov_customer_fields = set()  # type: ignore[attr-defined]
                self.findings.append(created)
                index[key] = created
                continue
            old = existing.data
            if _time(stored["UpdatedAt"], "UpdatedAt") <= _time(old["UpdatedAt"], "UpdatedAt"):
                continue  # an update not later than the finding is ignored
            customer = getattr(existing, "plgov_customer_fields", set())
            for name in PROVIDER_LOCKED + tuple(n for n in CUSTOMER_OWNED if n in customer):
                if name in old:
                    stored[name] = copy.deepcopy(old[name])
                else:
                    stored.pop(name, None)
            if _workflow_reset(old, stored) and stored.get("Workflow", {}).get("Status") in ("NOTIFIED", "RESOLVED"):
                stored["Workflow"] = {"Status": "NEW"}
            existing.data = stored
    return len(failed), succeeded, failed


def enable_security_hub(original: Callable[..., Any]) -> Callable[..., Any]:
    def enable(self: SecurityHubBackend, *args: Any, **kwargs: Any) -> Any:
        if self.enabled:
            raise _error("ResourceConflictException",
                         f"Account {self.account_id} is already subscribed to AWS Security Hub")
        return original(self, *args, **kwargs)
    return enable


# Filters: attribute -> dotted path into the finding (a list on the way means "any of them").
STRING_FILTERS = {
    "ProductArn": "ProductArn", "AwsAccountId": "AwsAccountId", "Id": "Id", "GeneratorId": "GeneratorId",
    "Region": "Region", "Title": "Title", "Description": "Description", "SourceUrl": "SourceUrl",
    "ProductName": "ProductName", "CompanyName": "CompanyName", "AwsAccountName": "AwsAccountName",
    "RecordState": "RecordState", "WorkflowState": "WorkflowState", "WorkflowStatus": "Workflow.Status",
    "VerificationState": "VerificationState", "SeverityLabel": "Severity.Label", "Type": "Types",
    "ComplianceStatus": "Compliance.Status", "ComplianceSecurityControlId": "Compliance.SecurityControlId",
    "ResourceType": "Resources.Type", "ResourceId": "Resources.Id", "ResourcePartition": "Resources.Partition",
    "ResourceRegion": "Resources.Region", "NoteText": "Note.Text", "NoteUpdatedBy": "Note.UpdatedBy",
    "RecommendationText": "Remediation.Recommendation.Text", "RelatedFindingsId": "RelatedFindings.Id",
    "RelatedFindingsProductArn": "RelatedFindings.ProductArn",
    "FindingProviderFieldsSeverityLabel": "FindingProviderFields.Severity.Label",
    "FindingProviderFieldsTypes": "FindingProviderFields.Types",
}
DATE_FILTERS = {"CreatedAt": "CreatedAt", "UpdatedAt": "UpdatedAt", "FirstObservedAt": "FirstObservedAt",
                "LastObservedAt": "LastObservedAt", "NoteUpdatedAt": "Note.UpdatedAt"}
NUMBER_FILTERS = {"SeverityNormalized": "Severity.Normalized", "SeverityProduct": "Severity.Product",
                  "Confidence": "Confidence", "Criticality": "Criticality"}
MAP_FILTERS = {"ProductFields": "ProductFields", "UserDefinedFields": "UserDefinedFields",
               "ResourceTags": "Resources.Tags"}
POSITIVE = ("EQUALS", "PREFIX", "CONTAINS")
NEGATIVE = ("NOT_EQUALS", "PREFIX_NOT_EQUALS", "NOT_CONTAINS")


def _values(data: Any, path: str) -> list[Any]:
    current = [data]
    for part in path.split("."):
        following: list[Any] = []
        for item in current:
            for element in (item if isinstance(item, list) else [item]):
                if isinstance(element, dict) and element.get(part) is not None:
                    value = element[part]
                    following.extend(value if isinstance(value, list) else [value])
        current = following
    return current


def _string_test(comparison: str, wanted: str) -> Callable[[Any], bool]:
    if comparison in ("EQUALS", "NOT_EQUALS"):
        return lambda v: str(v) == wanted
    if comparison in ("PREFIX", "PREFIX_NOT_EQUALS"):
        return lambda v: str(v).startswith(wanted)
    return lambda v: wanted in str(v)


def _check_string_filters(name: str, filters: list[dict[str, Any]]) -> None:
    comparisons = {f.get("Comparison") for f in filters}
    if None in comparisons or not comparisons <= set(POSITIVE + NEGATIVE):
        bad = sorted(str(c) for c in comparisons - set(POSITIVE + NEGATIVE))
        raise _error("InvalidInputException", f"Comparison {', '.join(bad)} is not valid for {name} in GetFindings")
    if ("CONTAINS" in comparisons and comparisons != {"CONTAINS"}) or (
            "NOT_CONTAINS" in comparisons and comparisons != {"NOT_CONTAINS"}):
        raise _error("InvalidInputException", f"{name}: CONTAINS and NOT_CONTAINS filters cannot be combined "
                                              "with other comparisons on the same field")
    if "EQUALS" in comparisons and comparisons & {"NOT_EQUALS", "PREFIX_NOT_EQUALS"}:
        raise _error("InvalidInputException", f"{name}: EQUALS cannot be combined with NOT_EQUALS or "
                                              "PREFIX_NOT_EQUALS on the same field")


def _string_matches(values: list[Any], filters: list[dict[str, Any]]) -> bool:
    positives = [f for f in filters if f["Comparison"] in POSITIVE]
    negatives = [f for f in filters if f["Comparison"] in NEGATIVE]
    if positives and not any(_string_test(f["Comparison"], f.get("Value", ""))(v) for f in positives for v in values):
        return False
    return not any(_string_test(f["Comparison"], f.get("Value", ""))(v) for f in negatives for v in values)


def _date_matches(values: list[Any], filters: list[dict[str, Any]], now: dt.datetime) -> bool:
    for f in filters:
        if f.get("DateRange"):
            if f["DateRange"].get("Unit") != "DAYS":
                raise _error("InvalidInputException", "DateRange.Unit must be DAYS")
            start, end = now - dt.timedelta(days=int(f["DateRange"]["Value"])), now
        else:
            start = _filter_time(f.get("Start")) or dt.datetime.min.replace(tzinfo=dt.timezone.utc)
            end = _filter_time(f.get("End")) or dt.datetime.max.replace(tzinfo=dt.timezone.utc)
        if not any(start <= _time(v, "date") <= end for v in values):
            return False
    return True


def _filter_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return _time(value, "filter date")
    except InvalidInput as exc:
        raise _error("InvalidInputException", str(exc)) from None


def _number_matches(values: list[Any], filters: list[dict[str, Any]]) -> bool:
    tests = {"Gte": lambda v, x: v >= x, "Lte": lambda v, x: v <= x, "Eq": lambda v, x: v == x,
             "Gt": lambda v, x: v > x, "Lt": lambda v, x: v < x}
    for f in filters:
        if not any(all(tests[k](float(v), float(x)) for k, x in f.items() if k in tests) for v in values):
            return False
    return True


def _map_matches(maps: list[Any], filters: list[dict[str, Any]]) -> bool:
    positives = [f for f in filters if f.get("Comparison") in ("EQUALS", "CONTAINS")]
    negatives = [f for f in filters if f.get("Comparison") in ("NOT_EQUALS", "NOT_CONTAINS")]
    if len(positives) + len(negatives) != len(filters):
        raise _error("InvalidInputException",
                     "A map filter's Comparison is EQUALS, NOT_EQUALS, CONTAINS or NOT_CONTAINS")

    def hit(f: dict[str, Any], m: Any) -> bool:
        value = m.get(f.get("Key")) if isinstance(m, dict) else None
        if value is None:
            return False
        return str(value) == f.get("Value") if "EQUALS" in f["Comparison"] else str(f.get("Value")) in str(value)

    if positives and not any(hit(f, m) for f in positives for m in maps):
        return False
    return not any(hit(f, m) for f in negatives for m in maps)


def _matcher(filters: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    filters = {k: v for k, v in (filters or {}).items() if v}
    if len(filters) > 10:
        raise _error("InvalidInputException", "GetFindings accepts filters on at most 10 attributes")
    now = dt.datetime.now(dt.timezone.utc)
    tests: list[Callable[[dict[str, Any]], bool]] = []
    for name, conditions in filters.items():
        if len(conditions) > 20:
            raise _error("InvalidInputException", f"{name}: at most 20 filter values")
        if name in STRING_FILTERS:
            _check_string_filters(name, conditions)
            tests.append(lambda d, p=STRING_FILTERS[name], c=conditions: _string_matches(_values(d, p), c))
        elif name in DATE_FILTERS:
            tests.append(lambda d, p=DATE_FILTERS[name], c=conditions: _date_matches(_values(d, p), c, now))
        elif name in NUMBER_FILTERS:
            tests.append(lambda d, p=NUMBER_FILTERS[name], c=conditions: _number_matches(_values(d, p), c))
        elif name in MAP_FILTERS:
            tests.append(lambda d, p=MAP_FILTERS[name], c=conditions: _map_matches(_values(d, p), c))
        else:
            raise _error("InvalidInputException", f"The filter {name} is not modelled by the local emulator")
    return lambda data: all(test(data) for test in tests)


def _sort(findings: list[dict[str, Any]], criteria: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    for criterion in reversed(criteria or []):
        field = criterion.get("Field", "")
        path = {**STRING_FILTERS, **DATE_FILTERS, **NUMBER_FILTERS}.get(field, field)
        present = [f for f in findings if _values(f, path)]
        absent = [f for f in findings if not _values(f, path)]
        is_date = field in DATE_FILTERS
        present.sort(key=lambda f: (_time(_values(f, path)[0], field) if is_date else _values(f, path)[0]),
                     reverse=str(criterion.get("SortOrder", "asc")).lower() == "desc")
        findings = present + absent
    return findings


def get_findings(self: SecurityHubBackend, filters: dict[str, Any] | None = None,
                 sort_criteria: list[dict[str, Any]] | None = None, max_results: Any = None,
                 next_token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    if not self.enabled:
        raise _not_enabled(self)
    limit = 100 if max_results in (None, "") else int(max_results)
    if not 1 <= limit <= 100:
        raise _error("InvalidInputException", "MaxResults must be a number between 1 and 100")
    try:
        start = int(base64.urlsafe_b64decode(next_token.encode()).decode()) if next_token else 0
    except ValueError:
        raise _error("InvalidInputException", f"NextToken '{next_token}' is invalid") from None
    matches = _matcher(filters or {})
    with _lock:
        selected = [copy.deepcopy(f.data) for f in self.findings if matches(f.data)]
    selected = _sort(selected, sort_criteria)
    page = selected[start:start + limit]
    token = base64.urlsafe_b64encode(str(start + limit).encode()).decode() if start + limit < len(selected) else None
    return page, token


def get_findings_response(self: SecurityHubResponse) -> str:
    findings, token = self.securityhub_backend.get_findings(
        filters=self._get_param("Filters"), sort_criteria=self._get_param("SortCriteria"),
        max_results=self._get_param("MaxResults"), next_token=self._get_param("NextToken"))
    out: dict[str, Any] = {"Findings": findings}
    if token:
        out["NextToken"] = token
    return json.dumps(out)


def _customer_update(params: dict[str, Any]) -> dict[str, Any]:
    """The fields of a BatchUpdateFindings request, validated."""
    update: dict[str, Any] = {}
    if "Note" in params:
        note = params["Note"] or {}
        if not note.get("Text") or not note.get("UpdatedBy"):
            raise _error("InvalidInputException", "Note needs Text and UpdatedBy")
        update["Note"] = {"Text": note["Text"], "UpdatedBy": note["UpdatedBy"], "UpdatedAt": _now()}
    if "Workflow" in params:
        status = (params["Workflow"] or {}).get("Status")
        if status not in WORKFLOW_STATUSES:
            raise _error("InvalidInputException", f"Workflow.Status must be one of {', '.join(WORKFLOW_STATUSES)}")
        update["Workflow"] = {"Status": status}
    if "VerificationState" in params:
        if params["VerificationState"] not in VERIFICATION_STATES:
            raise _error("InvalidInputException", f"VerificationState must be one of {', '.join(VERIFICATION_STATES)}")
        update["VerificationState"] = params["VerificationState"]
    for name in ("Confidence", "Criticality"):
        if name in params:
            if not isinstance(params[name], int) or not 0 <= params[name] <= 100:
                raise _error("InvalidInputException", f"{name} must be a whole number 0..100")
            update[name] = params[name]
    for name in ("Severity", "Types", "UserDefinedFields", "RelatedFindings"):
        if name in params:
            update[name] = copy.deepcopy(params[name])
    return update


def _updated_severity(current: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    severity = dict(current)
    if "Label" in change and "Normalized" not in change:
        severity.pop("Normalized", None)  # recomputed from the new label
    if "Normalized" in change and "Label" not in change:
        severity.pop("Label", None)
    severity.update(change)
    try:
        return _normalised_severity(severity)
    except InvalidInput as exc:
        raise _error("InvalidInputException", str(exc)) from None


def batch_update_findings(self: SecurityHubBackend, params: dict[str, Any]) -> dict[str, Any]:
    if not self.enabled:
        raise _not_enabled(self)
    identifiers = params.get("FindingIdentifiers") or []
    if not 1 <= len(identifiers) <= MAX_BATCH:
        raise _error("InvalidInputException", f"FindingIdentifiers must list 1..{MAX_BATCH} findings")
    update = _customer_update(params)
    if "Severity" in update and set(update["Severity"]) & {"Label", "Normalized"}:
        _updated_severity({}, update["Severity"])  # refuses a bad value before any finding changes
    if "Types" in update:
        try:
            _check_types(update["Types"])
        except InvalidInput as exc:
            raise _error("InvalidInputException", str(exc)) from None
    processed: list[dict[str, str]] = []
    unprocessed: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    with _lock:
        index = _index(self)
        for identifier in identifiers:
            key = (identifier.get("ProductArn"), identifier.get("Id"))
            if key in seen:
                unprocessed.append({"FindingIdentifier": identifier, "ErrorCode": "DuplicatedFindingIdentifier",
                                    "ErrorMessage": "Finding Identifier is duplicated"})
                continue
            seen.add(key)
            finding = index.get(key)
            if finding is None:
                unprocessed.append({"FindingIdentifier": identifier, "ErrorCode": "FindingNotFound",
                                    "ErrorMessage": "Finding Not Found"})
                continue
            data = finding.data
            for name, value in update.items():
                if name == "Severity":
                    data["Severity"] = _updated_severity(data.get("Severity", {}), value)
                else:
                    data[name] = copy.deepcopy(value)
            customer = getattr(finding, "plgov_customer_fields", set())
            customer.update(n for n in update if n in CUSTOMER_OWNED)
            finding.plgov_customer_fields = customer  # type: ignore[attr-defined]
            processed.append({"Id": key[1], "ProductArn": key[0]})
    return {"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}


def batch_update_findings_response(self: SecurityHubResponse) -> str:
    params = json.loads(self.body) if self.body else {}
    return json.dumps(self.securityhub_backend.batch_update_findings(params))


def install() -> None:
    SecurityHubBackend.batch_import_findings = batch_import_findings
    SecurityHubBackend.get_findings = get_findings
    SecurityHubBackend.batch_update_findings = batch_update_findings
    SecurityHubBackend.enable_security_hub = enable_security_hub(SecurityHubBackend.enable_security_hub)
    SecurityHubResponse.get_findings = get_findings_response
    SecurityHubResponse.batch_update_findings = batch_update_findings_response
    urls.url_paths.setdefault("{0}/findings/batchupdate$", SecurityHubResponse.dispatch)
