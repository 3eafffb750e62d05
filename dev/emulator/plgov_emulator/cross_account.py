"""Cross-account DynamoDB by table ARN, authorized by the table's resource-based policy.

PrivateLink Governor's member stacks read and write the hub's tables (another account) by table
ARN. moto 5.2 looks every table name, ARN or not, up in the caller's own account, so such a call
answers ResourceNotFoundException; it stores PutResourcePolicy documents but never evaluates them;
it ignores CreateTable's `ResourcePolicy` and the `ResourcePolicy` property of a CloudFormation
`AWS::DynamoDB::Table`; and a TransactWriteItems naming its table by ARN is not rolled back when
it is cancelled (moto snapshots `self.tables[TableName]`, which misses an ARN), nor does it catch
one item named once by name and once by ARN.

Here, for GetItem, PutItem, UpdateItem, DeleteItem, Query, Scan, BatchGetItem, BatchWriteItem,
TransactGetItems, TransactWriteItems and DescribeTable:

- A `TableName` (or a batch's RequestItems key) of the form `arn:aws:dynamodb:REGION:ACCOUNT:
  table/NAME` names NAME in ACCOUNT. Its REGION must be the region the request was sent to
  (a regional endpoint serves its own region's tables; the emulator answers ValidationException).
  An ARN of anything else (`.../table/T/index/I`, `.../stream/...`) is a ValidationException.
  A plain name is the caller's own table, as before.
- The request is served from the owner's table. When the owner is another account, every access
  must be allowed by the table's resource policy (DynamoDB developer guide, "Cross-account access
  with resource-based policies": cross-account access needs an Allow in both the caller's identity
  policy and the resource policy; the emulator models no identity policies, so the caller's side
  always allows). No policy, no applicable Allow, or an applicable Deny: AccessDeniedException,
  worded as AWS words it (IAM User Guide, "Troubleshooting access denied error messages"):
  `User: <caller ARN> is not authorized to perform: dynamodb:PutItem on resource: <table ARN>
  because no resource-based policy allows the dynamodb:PutItem action`, or `... with an explicit
  deny in a resource-based policy`. A cross-account request to a table that does not exist is
  denied the same way (it has no policy to allow it).
- Same account (by name or by ARN): AWS allows when the identity policy OR the resource policy
  allows; the emulator, without identity policies, allows, except that an explicit Deny of the
  table's policy that applies to the caller still denies (an explicit deny always wins).
- What is authorized (DynamoDB developer guide, "Using IAM with DynamoDB transactions",
  "Using IAM policy conditions for fine-grained access control"): GetItem, PutItem, UpdateItem,
  DeleteItem, Query, Scan, DescribeTable as the action of their name; BatchGetItem and
  BatchWriteItem as dynamodb:BatchGetItem / dynamodb:BatchWriteItem on each table they name;
  each item of TransactWriteItems as its own action (Put -> dynamodb:PutItem, Update ->
  dynamodb:UpdateItem, Delete -> dynamodb:DeleteItem, ConditionCheck -> dynamodb:ConditionCheckItem)
  and each Get of TransactGetItems as dynamodb:GetItem, with `dynamodb:EnclosingOperation` set;
  one denied item fails the whole call with AccessDeniedException and nothing is written.
  A Query or Scan of an index is authorized on the index ARN (`table/T/index/I`).
- The request context: aws:PrincipalAccount, aws:PrincipalArn (a role session's role ARN),
  aws:PrincipalType, aws:PrincipalOrgID and aws:PrincipalOrgPaths (from moto's Organizations:
  the organization the caller's account is the management account or a member of; absent
  otherwise), aws:ResourceAccount, aws:RequestedRegion, aws:SecureTransport (true),
  aws:PrincipalIsAWSService (false), dynamodb:LeadingKeys (the partition key values the request
  touches: Put's item, GetItem/UpdateItem/DeleteItem's key, the Query key condition's partition
  value (of the index when querying an index), every key of a batch for that table, the item of a
  transaction part; Scan and DescribeTable touch none, so the key is absent and, as in AWS,
  `ForAllValues:` conditions on it hold: the developer guide leaves Scan out of its LeadingKeys
  examples "because Scan returns all items regardless of the leading keys"),
  dynamodb:EnclosingOperation, dynamodb:Select, dynamodb:ReturnValues,
  dynamodb:ReturnConsumedCapacity. Policy evaluation itself is iam_policy.py.

The caller is the principal of the request's access key: an assumed-role session
(`arn:aws:sts::A:assumed-role/R/S`, aws:PrincipalArn `arn:aws:iam::A:role/R`), an IAM user, or
otherwise the account root (`arn:aws:iam::A:root`, e.g. moto's default `testing` keys).

Not modelled: identity policies, SCPs/RCPs, permissions boundaries, session policies, VPC
endpoint policies; dynamodb:Attributes; PartiQL (AWS has no cross-account PartiQL either) and the
other control-plane operations by foreign ARN (UpdateTable, DeleteTable, tags: moto still answers
ResourceNotFoundException); a BatchGetItem/BatchWriteItem naming tables of two accounts (refused
with ValidationException, an emulator limitation); policy validation at PutResourcePolicy.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from moto.core.utils import camelcase_to_underscores
from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException, MockValidationException
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.key_condition_expression import parse_expression
from moto.dynamodb.responses import DynamoHandler

from . import iam_policy
from .iam_policy import ALLOW, DENY, Caller, Request

_TABLE_ARN = re.compile(r"^arn:(aws[a-zA-Z-]*):dynamodb:([a-z0-9-]+):(\d{12}):table/([a-zA-Z0-9_.-]+)$")

OPERATIONS = ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
              "BatchWriteItem", "TransactGetItems", "TransactWriteItems", "DescribeTable")
_TRANSACT_WRITE_ACTIONS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem",
                           "Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem"}


class AccessDeniedException(DynamodbException):
    def __init__(self, message: str):
        super().__init__(ERROR_TYPE_PREFIX + "AccessDeniedException", message=message)


@dataclass(frozen=True)
class TableRef:
    given: str  # as the request named it
    account: str
    region: str
    name: str


@dataclass
class Access:
    action: str
    ref: TableRef
    index: str | None = None
    item_keys: list[dict[str, Any]] | None = None  # items/keys whose partition keys are touched
    query: dict[str, Any] | None = None  # a Query's body, for its key condition
    context: dict[str, Any] = field(default_factory=dict)


def _existing(backends: Any, account: str, region: str) -> Any | None:
    """The service backend of (account, region) if it exists; never creates one."""
    per_account = dict.get(backends, account)
    return dict.get(per_account, region) if per_account is not None else None


def table_ref(given: str, caller_account: str, region: str) -> TableRef:
    if not given.startswith("arn:"):
        return TableRef(given, caller_account, region, given)
    m = _TABLE_ARN.match(given)
    if m is None:
        raise MockValidationException(
            f"Invalid TableName: {given} is neither a table name nor a table ARN "
            "(arn:aws:dynamodb:REGION:ACCOUNT:table/NAME)")
    _, arn_region, account, name = m.groups()
    if arn_region != region:
        raise MockValidationException(
            f"The table ARN {given} is in region {arn_region}, but the request was sent to region "
            f"{region}: send it to the table's own region")
    return TableRef(given, account, region, name)


def _table_names(operation: str, body: dict[str, Any]) -> list[str]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return list((body.get("RequestItems") or {}).keys())
    if operation in ("TransactGetItems", "TransactWriteItems"):
        names = []
        for item in body.get("TransactItems") or []:
            for part in item.values():
                if isinstance(part, dict) and part.get("TableName"):
                    names.append(part["TableName"])
        return names
    return [body["TableName"]] if body.get("TableName") else []


def _accesses(operation: str, body: dict[str, Any], ref_of: Callable[[str], TableRef]) -> list[Access]:
    request_keys = {k: body[k] for k in ("Select", "ReturnValues", "ReturnConsumedCapacity") if body.get(k)}
    action = f"dynamodb:{operation}"
    if operation == "PutItem":
        return [Access(action, ref_of(body["TableName"]), item_keys=[body.get("Item") or {}], context=request_keys)]
    if operation in ("GetItem", "UpdateItem", "DeleteItem"):
        return [Access(action, ref_of(body["TableName"]), item_keys=[body.get("Key") or {}], context=request_keys)]
    if operation == "Query":
        return [Access(action, ref_of(body["TableName"]), index=body.get("IndexName"), query=body,
                       context=request_keys)]
    if operation == "Scan":
        return [Access(action, ref_of(body["TableName"]), index=body.get("IndexName"), context=request_keys)]
    if operation == "DescribeTable":
        return [Access(action, ref_of(body["TableName"]))]
    if operation == "BatchGetItem":
        return [Access(action, ref_of(name), item_keys=list(request.get("Keys") or []), context=request_keys)
                for name, request in (body.get("RequestItems") or {}).items()]
    if operation == "BatchWriteItem":
        out = []
        for name, requests in (body.get("RequestItems") or {}).items():
            keys = [r["PutRequest"].get("Item") or {} if "PutRequest" in r else
                    (r.get("DeleteRequest") or {}).get("Key") or {} for r in requests or []]
            out.append(Access(action, ref_of(name), item_keys=keys, context=request_keys))
        return out
    if operation in ("TransactGetItems", "TransactWriteItems"):
        out = []
        for item in body.get("TransactItems") or []:
            for kind, part in item.items():
                if not isinstance(part, dict) or not part.get("TableName"):
                    continue
                part_action = "dynamodb:GetItem" if kind == "Get" else _TRANSACT_WRITE_ACTIONS.get(kind)
                if part_action is None:
                    continue
                keys = part.get("Item") if kind == "Put" else part.get("Key")
                context = {"dynamodb:EnclosingOperation": operation, **request_keys}
                if part.get("ReturnValuesOnConditionCheckFailure"):
                    context["dynamodb:ReturnValues"] = part["ReturnValuesOnConditionCheckFailure"]
                out.append(Access(part_action, ref_of(part["TableName"]), item_keys=[keys or {}], context=context))
        return out
    return []


def _attribute_text(value: Any) -> str | None:
    """A key attribute value as IAM sees it: the string of an S, N or B value."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    kind, raw = next(iter(value.items()))
    if kind == "B":
        return base64.b64encode(raw).decode() if isinstance(raw, (bytes, bytearray)) else str(raw)
    return str(raw) if kind in ("S", "N") else None


def _leading_keys(backend: DynamoDBBackend, table: Table, access: Access) -> list[str] | None:
    """The partition key values the access touches; None when it touches none (Scan, Describe)."""
    if access.item_keys is not None:
        values = [_attribute_text(item.get(table.hash_key_attr)) for item in access.item_keys]
        return [v for v in values if v is not None]
    if access.query is None:
        return None
    body = access.query
    schema = backend.get_schema(table.name, access.index)
    hash_attr = next((k["AttributeName"] for k in schema if k["KeyType"] == "HASH"), None)
    if body.get("KeyConditionExpression"):
        conditions, _, _ = parse_expression(
            key_condition_expression=body["KeyConditionExpression"],
            expression_attribute_values=body.get("ExpressionAttributeValues") or {},
            expression_attribute_names=body.get("ExpressionAttributeNames") or {},
            schema=schema)
        values = [v for attr, v in conditions if attr == hash_attr]
    else:
        condition = (body.get("KeyConditions") or {}).get(hash_attr) or {}
        values = condition.get("AttributeValueList") or [] if condition.get("ComparisonOperator") == "EQ" else []
    texts = [_attribute_text(v) for v in values]
    return [t for t in texts if t is not None]


def _organization(account: str) -> tuple[str, list[str]] | None:
    """(organization id, [org path]) of the organization `account` belongs to in moto, if any."""
    from moto.organizations.models import organizations_backends

    member_of = organizations_backends.master_accounts.get(account)
    management = member_of[0] if member_of else account
    backend = _existing(organizations_backends, management, member_of[1] if member_of else "aws")
    if backend is None or backend.org is None:
        return None
    org = backend.org
    ous = {ou.id: ou for ou in backend.ou}
    fake = next((a for a in backend.accounts if a.id == account), None)
    chain: list[str] = []
    parent = fake.parent_id if fake is not None else org.root_id
    while parent and parent not in chain:
        chain.append(parent)
        ou = ous.get(parent)
        parent = getattr(ou, "parent_id", None) if ou is not None and parent != org.root_id else None
    path = "/".join([org.id, *reversed(chain)]) + "/"
    return org.id, [path]


def caller_of(access_key: str, account: str) -> Caller:
    """The principal behind an access key, as moto's STS and IAM know it."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for per_account in list(dict.values(sts_backends)):
        for backend in list(dict.values(per_account)):
            role = backend.get_assumed_role_from_access_key(access_key)
            if role is not None:
                return Caller(role.account_id, role.arn, role.role_arn, "AssumedRole")
    iam = _existing(iam_backends, account, "aws")
    if iam is not None:
        user = iam.get_user_from_access_key_id(access_key)
        if user is not None:
            return Caller(account, user.arn, user.arn, "User")
    root = f"arn:aws:iam::{account}:root"
    return Caller(account, root, root, "Account")


def _context(caller: Caller, owner: str, region: str) -> dict[str, Any]:
    context: dict[str, Any] = {
        "aws:PrincipalAccount": caller.account,
        "aws:PrincipalArn": caller.principal_arn,
        "aws:PrincipalType": caller.principal_type,
        "aws:ResourceAccount": owner,
        "aws:RequestedRegion": region,
        "aws:SecureTransport": "true",
        "aws:PrincipalIsAWSService": "false",
    }
    organization = _organization(caller.account)
    if organization is not None:
        context["aws:PrincipalOrgID"], context["aws:PrincipalOrgPaths"] = organization
    return context


def _policy(backend: DynamoDBBackend, table: Table) -> dict[str, Any] | None:
    stored = backend.resource_policies.get(table.table_arn)
    if stored is None:
        return None
    try:
        return iam_policy.parse(stored.policy_doc)
    except ValueError:  # AWS refuses an invalid document at PutResourcePolicy; moto stores it
        return None


def _denied(caller: Caller, action: str, resource: str, explicit: bool) -> AccessDeniedException:
    reason = ("with an explicit deny in a resource-based policy" if explicit
              else f"because no resource-based policy allows the {action} action")
    return AccessDeniedException(
        f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource} {reason}")


def authorize(handler: DynamoHandler, operation: str) -> None:
    """Checks the request against the owner's table policies and points the handler at the
    owner's backend. Raises the error the request must fail with."""
    body = handler.body
    caller_account, region = handler.current_account, handler.region
    refs: dict[str, TableRef] = {}
    for given in _table_names(operation, body):
        if isinstance(given, str):
            refs[given] = table_ref(given, caller_account, region)
    owners = {ref.account for ref in refs.values()}
    if len(owners) > 1:
        if operation.startswith("Transact"):
            raise MockValidationException(
                f"{operation} actions can target items in different tables, but not in different "
                "AWS accounts or Regions")
        raise MockValidationException(
            f"{operation} naming tables of more than one account is not supported by the emulator")
    if not owners:
        return
    owner = owners.pop()
    cross = owner != caller_account
    backend = _existing(dynamodb_backends, owner, region)
    accesses = _accesses(operation, body, lambda given: refs[given])
    caller: Caller | None = None
    for access in accesses:
        table = None
        if backend is not None:
            try:
                table = backend.get_table(access.ref.name)
            except Exception:  # moto's ResourceNotFoundException
                table = None
        policy = _policy(backend, table) if table is not None else None
        if table is None:
            if not cross:
                continue  # moto answers ResourceNotFoundException as before
            resource = f"arn:aws:dynamodb:{region}:{owner}:table/{access.ref.name}"
        else:
            resource = table.table_arn + (f"/index/{access.index}" if access.index else "")
        if policy is None and not cross:
            continue
        if caller is None:
            caller = caller_of(handler.access_key, caller_account)
        if policy is None:
            raise _denied(caller, access.action, resource, explicit=False)
        context = {**_context(caller, owner, region), **access.context}
        leading = _leading_keys(backend, table, access)
        if leading is not None:
            context["dynamodb:LeadingKeys"] = leading
        decision = iam_policy.evaluate(policy, Request(caller, access.action, resource, context))
        if decision.effect == DENY:
            raise _denied(caller, access.action, resource, explicit=True)
        if cross and decision.effect != ALLOW:
            raise _denied(caller, access.action, resource, explicit=False)
    if cross:
        handler.current_account = owner  # the `dynamodb_backend` property now answers the owner's


def _normalised_transact_items(backend: DynamoDBBackend, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        copied = dict(item)
        for kind, part in item.items():
            name = part.get("TableName") if isinstance(part, dict) else None
            if isinstance(name, str) and name.startswith("arn:"):
                try:
                    copied[kind] = {**part, "TableName": backend.get_table(name).name}
                except Exception:
                    pass  # moto answers for a table it cannot find
        out.append(copied)
    return out


def _apply_policy(table: Table, document: Any, account_id: str, region_name: str) -> None:
    backend = dynamodb_backends[account_id][region_name]
    if document is None:
        backend.resource_policies.pop(table.table_arn, None)
        return
    text = document if isinstance(document, str) else json.dumps(document)
    backend.put_resource_policy(table.table_arn, text, None)


def _cfn_policy(cloudformation_json: Any) -> Any:
    policy = ((cloudformation_json or {}).get("Properties") or {}).get("ResourcePolicy")
    return policy.get("PolicyDocument") if isinstance(policy, dict) else None


def install() -> None:
    """Patch moto in this process (after cfn_lifecycle.install(), whose table update it wraps)."""
    original_call_action = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> Any:
        operation = self._get_action()
        if operation in OPERATIONS:
            method = getattr(self, camelcase_to_underscores(operation))

            def guarded() -> Any:
                authorize(self, operation)
                return method()

            setattr(self, camelcase_to_underscores(operation), guarded)
        return original_call_action(self)

    DynamoHandler.call_action = call_action

    original_transact = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        return original_transact(self, _normalised_transact_items(self, transact_items))

    DynamoDBBackend.transact_write_items = transact_write_items

    original_delete = DynamoDBBackend.delete_table

    def delete_table(self: DynamoDBBackend, name: str) -> Table:
        table = original_delete(self, name)
        self.resource_policies.pop(table.table_arn, None)  # a new table of that name starts without
        return table

    DynamoDBBackend.delete_table = delete_table

    original_create = DynamoHandler.create_table

    def create_table(self: DynamoHandler) -> Any:
        result = original_create(self)
        if self.body.get("ResourcePolicy"):
            table = self.dynamodb_backend.get_table(self.body["TableName"])
            self.dynamodb_backend.put_resource_policy(table.table_arn, self.body["ResourcePolicy"], None)
        return result

    DynamoHandler.create_table = create_table

    original_cfn_create = Table.create_from_cloudformation_json.__func__
    original_cfn_update = Table.update_from_cloudformation_json.__func__

    def cfn_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                   **kwargs: Any) -> Any:
        table = original_cfn_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        document = _cfn_policy(cloudformation_json)
        if document is not None:
            _apply_policy(table, document, account_id, region_name)
        return table

    def cfn_update(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                   account_id: str, region_name: str) -> Any:
        table = original_cfn_update(cls, original_resource, new_resource_name, cloudformation_json,
                                    account_id, region_name)
        _apply_policy(table, _cfn_policy(cloudformation_json), account_id, region_name)
        return table

    Table.create_from_cloudformation_json = classmethod(cfn_create)
    Table.update_from_cloudformation_json = classmethod(cfn_update)
