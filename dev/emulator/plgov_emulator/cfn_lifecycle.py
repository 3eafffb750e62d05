"""CloudFormation stack lifecycle as AWS has it: table deletion protection, the Retain policies,
and stacks whose resources fail.

moto 5.2 keeps `DeletionPolicy`/`UpdateReplacePolicy` in `get-template` and skips a Retain
resource when the stack is deleted, but gets the rest wrong:

- `DeletionProtectionEnabled` from a template parameter (`!Ref Protect`, a string) is stored as the
  string "true", which `describe-table` then answers; CloudFormation passes a boolean.
- A stack update that modifies a table (moto has no update for tables) leaves the stack without
  the table: its Ref and outputs become empty and the change (e.g. turning deletion protection on)
  is never applied. Here a table is updated in place (DeletionProtectionEnabled, BillingMode and
  ProvisionedThroughput, TimeToLiveSpecification: "No interruption" in the template reference), and
  replaced when TableName or KeySchema changes, keeping the old table when
  `UpdateReplacePolicy: Retain` (or when it cannot be deleted).
- A stack update that removes a resource with `DeletionPolicy: Retain` deletes it (moto applies
  the policy only when the whole stack is deleted); CloudFormation leaves it in place.
- Deleting a stack whose resource cannot be deleted (a protected table without Retain) answers
  DeleteStack with the table's JSON error, unreadable to a query-protocol client, and the stack
  vanishes. CloudFormation accepts the call and ends in DELETE_FAILED, the stack and the resources
  it could not delete left in place; DeleteStack again retries, and in DELETE_FAILED
  `RetainResources` names logical ids to leave behind.
- A resource that fails to create (e.g. a rejected property) makes CreateStack answer with that
  service's JSON error (unreadable to the client) and leaves the stack CREATE_IN_PROGRESS forever.
  CloudFormation accepts the call, the stack fails and rolls back: the resources already created
  are deleted and the stack ends in ROLLBACK_COMPLETE, with the reason in StackStatusReason and the
  stack's events. (A failed update still answers with the error: its rollback is not modelled.)
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack
from moto.cloudformation.parsing import ResourceMap
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import EmptyResult
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

RETAIN = "Retain"


def _bool(value: Any) -> bool:
    return value.strip().lower() == "true" if isinstance(value, str) else bool(value)


def _normalise_protection(cloudformation_json: Any) -> None:
    properties = cloudformation_json.get("Properties") or {}
    if "DeletionProtectionEnabled" in properties:
        properties["DeletionProtectionEnabled"] = _bool(properties["DeletionProtectionEnabled"])


def _key_schema(schema: list[dict[str, Any]] | None) -> list[tuple[Any, Any]]:
    return sorted((k.get("AttributeName"), k.get("KeyType")) for k in schema or [])


def update_table(cls: Any, original_resource: Table, new_resource_name: str, cloudformation_json: Any,
                 account_id: str, region_name: str) -> Table:
    _normalise_protection(cloudformation_json)
    p = cloudformation_json["Properties"]
    backend = dynamodb_backends[account_id][region_name]
    renamed = "TableName" in p and p["TableName"] != original_resource.name
    if renamed or _key_schema(p.get("KeySchema")) != _key_schema(original_resource.schema):
        name = p.get("TableName", new_resource_name)
        replacement = cls.create_from_cloudformation_json(name, cloudformation_json, account_id, region_name)
        if cloudformation_json.get("UpdateReplacePolicy") != RETAIN:
            try:
                backend.delete_table(original_resource.name)
            except Exception:  # CloudFormation's cleanup failure leaves the old table; the update stands
                pass
        return replacement
    table = original_resource
    if "DeletionProtectionEnabled" in p:
        table.deletion_protection_enabled = p["DeletionProtectionEnabled"]
    billing_mode = "PAY_PER_REQUEST" if p.get("BillingMode") == "PAY_PER_REQUEST" else "PROVISIONED"
    table.billing_mode = billing_mode
    if billing_mode == "PROVISIONED" and p.get("ProvisionedThroughput"):
        table.throughput = {k: int(v) for k, v in p["ProvisionedThroughput"].items()}
    ttl = p.get("TimeToLiveSpecification")
    if ttl:
        backend.update_time_to_live(table.name, {"AttributeName": ttl["AttributeName"],
                                                 "Enabled": _bool(ttl.get("Enabled", False))})
    return table


def install() -> None:
    original_create = Table.create_from_cloudformation_json.__func__

    def create_table(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                     **kwargs: Any) -> Any:
        _normalise_protection(cloudformation_json)
        return original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    Table.create_from_cloudformation_json = classmethod(create_table)
    Table.update_from_cloudformation_json = classmethod(update_table)

    original_delete_resource = ResourceMap._delete_resource

    def _delete_resource(self: ResourceMap, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        if resource_json.get("DeletionPolicy") == RETAIN:
            return  # removed from the template by an update: CloudFormation leaves it
        original_delete_resource(self, parsed_resource, resource_json)

    ResourceMap._delete_resource = _delete_resource

    original_delete_stack = CloudFormationBackend.delete_stack

    def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None)
        try:
            original_delete_stack(self, name_or_stack_id)
        except Exception as exc:
            if stack is None:
                raise
            # moto took the stack out of the list before deleting its resources: put it back.
            reason = f"The following resource(s) failed to delete: {exc}"
            stack.status = "DELETE_FAILED"
            stack.stack_status_reason = reason
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason)
            self.stacks[stack.stack_id] = stack
            self.deleted_stacks.pop(stack.stack_id, None)

    CloudFormationBackend.delete_stack = delete_stack

    def delete_stack_response(self: CloudFormationResponse) -> EmptyResult:
        name_or_stack_id = self._get_param("StackName")
        retain = self._get_param("RetainResources", [])
        if retain:
            backend = self.cloudformation_backend
            stack = backend.stacks.get(name_or_stack_id) or next(
                (s for s in backend.stacks.values() if s.name == name_or_stack_id), None)
            if stack is None or stack.status != "DELETE_FAILED":
                raise ValidationError(
                    name_or_stack_id,
                    message="Invalid operation on stack: RetainResources can be specified only for "
                            "stacks in the DELETE_FAILED state")
            for logical_id in retain:
                resource_json = stack.resource_map._resource_json_map.get(logical_id)
                if resource_json is not None:
                    resource_json["DeletionPolicy"] = RETAIN
        self.cloudformation_backend.delete_stack(name_or_stack_id)
        return EmptyResult()

    CloudFormationResponse.delete_stack = delete_stack_response

    original_create_resources = Stack.create_resources

    def create_resources(self: Stack) -> None:
        try:
            original_create_resources(self)
        except Exception as exc:
            reason = f"The following resource(s) failed to create: {exc}"
            self.status = "CREATE_FAILED"
            self.stack_status_reason = reason
            self._add_stack_event("CREATE_FAILED", resource_status_reason=reason)
            self._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
            try:
                self.resource_map.delete()
            except Exception:  # what cannot be deleted stays, as after a failed rollback cleanup
                pass
            self.status = "ROLLBACK_COMPLETE"
            self._add_stack_event("ROLLBACK_COMPLETE")

    Stack.create_resources = create_resources
