"""CloudFormation StackSets with the SERVICE_MANAGED permission model, closer to AWS.

What moto 5.2 does (checked against the emulator): CreateStackSet with `PermissionModel:
SERVICE_MANAGED`, then CreateStackInstances with `DeploymentTargets.OrganizationalUnitIds` and
`Regions`, really creates the template's resources in each target account and region (a table
appears in the member account's DynamoDB), and the operation is SUCCEEDED at once. But:

1. Only accounts directly in a target OU or in its direct child OUs are targets: an account two
   levels below (Workloads > Prod > Team) gets nothing. CloudFormation deploys to every account
   in the OU's whole subtree ("the OU and all of its child OUs"), but never to the organization's
   management account (CloudFormation User Guide, StackSets concepts: "StackSets doesn't deploy
   stack instances to the organization's management account, even if the management account is
   in your organization or in an OU in your organization"); moto would deploy to it when the
   root is targeted.
2. `AutoDeployment` is dropped (DescribeStackSet shows none) and ignored: an account created in
   or moved into a target OU later gets no stack instance, and one moved out keeps its instance.

Fixed here: targets are every account below a target OU at any depth, the management account
excluded, each (account, region) once; `AutoDeployment` is kept (DescribeStackSet answers it) and,
when Enabled, CreateAccount/MoveAccount deploy the stack set's instances to an account that
lands below a targeted OU (in the regions it was deployed to) and remove them from an account
that leaves (unless RetainStacksOnAccountRemoval).

Still as moto has it: the member account's stack is hidden (the resources exist, but the member's
DescribeStacks/ListStacks show no stack and the StackId of ListStackInstances names nothing);
operations complete synchronously; UpdateStackSet does not change AutoDeployment; AccountFilterType,
OperationPreferences, CallAs and delegated administrators are not modelled.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.models import StackInstance, StackInstances, StackSet, cloudformation_backends
from moto.cloudformation.responses import CloudFormationResponse
from moto.organizations.models import OrganizationsBackend


def _truthy(value: Any) -> bool:
    return value.strip().lower() == "true" if isinstance(value, str) else bool(value)


def _below(org_backend: OrganizationsBackend, account: str, ou_ids: set[str]) -> bool:
    """Whether `account` is in one of `ou_ids` or below one, at any depth."""
    ous = {ou.id: ou for ou in org_backend.ou}
    fake = next((a for a in org_backend.accounts if a.id == account), None)
    parent = fake.parent_id if fake is not None else None
    seen: set[str] = set()
    while parent and parent not in seen:
        if parent in ou_ids:
            return True
        seen.add(parent)
        ou = ous.get(parent)
        parent = ou.parent_id if ou is not None else None
    return False


def _accounts_below(org_backend: OrganizationsBackend, ou_ids: set[str]) -> list[str]:
    management = org_backend.org.master_account_id if org_backend.org else None
    return [a.id for a in org_backend.accounts
            if a.id != management and a.status == "ACTIVE" and _below(org_backend, a.id, ou_ids)]


def create_instances(self: StackInstances, accounts: list[str], regions: list[str],
                     parameters: list[dict[str, Any]] | dict[str, str], deployment_targets: dict[str, Any],
                     permission_model: str) -> list[dict[str, Any]]:
    requested = set(deployment_targets.get("OrganizationalUnitIds") or [])
    below = _accounts_below(self.org_backend, requested) if requested else []
    targets: list[tuple[str, str]] = []
    for region in regions:
        for account in [*accounts, *below]:
            if (region, account) not in targets:
                targets.append((region, account))
    new_instances = []
    for region, account in targets:
        if self.get_instance(account, region) is not None:  # CreateStackInstances is idempotent
            continue
        new_instances.append(StackInstance(
            account_id=account, region_name=region, stackset_id=self.stackset_id, stack_name=self.stack_name,
            name=self.stackset_name, template=self.template, parameters=parameters,
            permission_model=permission_model))
    self.stack_instances += new_instances
    return [i.to_dict() for i in new_instances]


def auto_deploy(org_backend: OrganizationsBackend, account: str) -> None:
    """Brings `account`'s instances of the management account's auto-deploying stack sets in line
    with where the account now is."""
    if org_backend.org is None or account == org_backend.org.master_account_id:
        return
    per_account = dict.get(cloudformation_backends, org_backend.account_id)
    if per_account is None:
        return
    for backend in list(dict.values(per_account)):
        for stackset in list(backend.stacksets.values()):
            auto = getattr(stackset, "auto_deployment", None) or {}
            if (stackset.status == "DELETED" or stackset.permission_model != "SERVICE_MANAGED"
                    or not auto.get("Enabled")):
                continue
            targets: dict[str, set[str]] = getattr(stackset, "plgov_ou_targets", {})
            wanted = {r for ou, regions in targets.items() if _below(org_backend, account, {ou}) for r in regions}
            existing = {i.region_name for i in stackset.instances.stack_instances if i.account_id == account}
            if wanted - existing:
                stackset.instances.create_instances([account], sorted(wanted - existing), stackset.parameters or {},
                                                    {}, permission_model="SERVICE_MANAGED")
            if existing - wanted and not auto.get("RetainStacksOnAccountRemoval"):
                stackset.instances.delete([account], sorted(existing - wanted))


def install() -> None:
    StackInstances.create_instances = create_instances

    original_create_stack_set = CloudFormationResponse.create_stack_set

    def create_stack_set(self: CloudFormationResponse) -> Any:
        result = original_create_stack_set(self)
        auto = self._get_param("AutoDeployment")
        if isinstance(auto, dict):
            stackset = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
            retain = _truthy(auto.get("RetainStacksOnAccountRemoval"))
            stackset.auto_deployment = {"Enabled": _truthy(auto.get("Enabled")), "RetainStacksOnAccountRemoval": retain}
        return result

    CloudFormationResponse.create_stack_set = create_stack_set

    original_create_stack_instances = StackSet.create_stack_instances

    def create_stack_instances(self: StackSet, accounts: list[str], regions: list[str],
                               deployment_targets: dict[str, Any] | None, parameters: list[dict[str, Any]]) -> str:
        operation_id = original_create_stack_instances(self, accounts, regions, deployment_targets, parameters)
        if self.permission_model == "SERVICE_MANAGED":
            targets: dict[str, set[str]] = getattr(self, "plgov_ou_targets", {})
            for ou in (deployment_targets or {}).get("OrganizationalUnitIds") or []:
                targets.setdefault(ou, set()).update(regions)
            self.plgov_ou_targets = targets
        return operation_id

    StackSet.create_stack_instances = create_stack_instances

    original_move = OrganizationsBackend.move_account
    original_create_account = OrganizationsBackend.create_account

    def move_account(self: OrganizationsBackend, **kwargs: Any) -> None:
        original_move(self, **kwargs)
        auto_deploy(self, kwargs["AccountId"])

    def create_account(self: OrganizationsBackend, **kwargs: Any) -> dict[str, Any]:
        status = original_create_account(self, **kwargs)
        auto_deploy(self, status["CreateAccountStatus"]["AccountId"])
        return status

    OrganizationsBackend.move_account = move_account
    OrganizationsBackend.create_account = create_account
