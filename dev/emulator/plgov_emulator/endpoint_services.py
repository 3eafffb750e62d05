"""Endpoint service permissions and endpoint policies as AWS answers them.

moto 5.2's DescribeVpcEndpointServicePermissions answers only `Principal` for each allowed
principal, in no stable order (it keeps them in a set), and ignores Filters, MaxResults and
NextToken; ModifyVpcEndpointServicePermissions answers no `AddedPrincipals`. A finding such as
"this service is open to everyone" needs `PrincipalType` (`All` for `*`). Here each principal
keeps the order it was added in, a `ServicePermissionId` (vpce-spn-…) and its `PrincipalType`
(All for `*`; Account, Role or User for an IAM ARN of that kind; OrganizationUnit for an
Organizations OU ARN; Service for a service principal); Describe filters by principal,
principal-type and permission-type and pages (MaxResults 5..1000, more is read as 1000);
Modify answers AddedPrincipals for the principals it was asked to add.

ModifyVpcEndpoint ignores `ResetPolicy`; here it restores the endpoint's default policy.
moto gives every endpoint the gateway endpoints' default policy text; an interface endpoint
created without a policy gets the text AWS shows for interface endpoints (the same full access,
pretty-printed without `Version`), so code that compares policy text rather than parsing it shows
up here as it would against AWS.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.models.vpc_service_configuration import VPCServiceConfigurationBackend
from moto.ec2.models.vpcs import VPCBackend, VPCEndPoint
from moto.ec2.responses import EC2Response
from moto.moto_api._internal import mock_random

from . import connections
from .connections import Ec2Error

MIN_RESULTS, MAX_RESULTS = 5, 1000
GATEWAY_DEFAULT_POLICY = json.dumps(VPCEndPoint.DEFAULT_POLICY)
# As DescribeVpcEndpoints shows it for an interface endpoint (AWS CLI reference example).
INTERFACE_DEFAULT_POLICY = json.dumps(
    {"Statement": [{"Action": "*", "Effect": "Allow", "Principal": "*", "Resource": "*"}]},
    indent=2, separators=(", ", ": "))

_IAM = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(root|role/.+|user/.+)$")
_OU = re.compile(r"^arn:aws[a-z-]*:organizations::\d{12}:ou/o-[a-z0-9]+/ou-[a-z0-9-]+$")


def principal_type(principal: str) -> str | None:
    if principal == "*":
        return "All"
    match = _IAM.match(principal)
    if match:
        kind = match.group(1)
        return "Account" if kind == "root" else "Role" if kind.startswith("role/") else "User"
    if _OU.match(principal):
        return "OrganizationUnit"
    if principal.endswith(".amazonaws.com"):
        return "Service"
    return None


def _permission_ids(config: Any) -> dict[str, str]:
    ids = getattr(config, "plgov_permission_ids", None)
    if ids is None:
        ids = config.plgov_permission_ids = {}
    for principal in config.principals:
        ids.setdefault(principal, f"vpce-spn-{mock_random.get_random_hex(17)}")
    return ids


def _allowed(config: Any, principal: str) -> dict[str, Any]:
    row = {"Principal": principal, "ServicePermissionId": _permission_ids(config)[principal],
           "ServiceId": config.id, "PermissionType": "vpc-endpoint", "Tags": []}
    kind = principal_type(principal)
    if kind:
        row["PrincipalType"] = kind
    return row


def modify_vpc_endpoint_service_permissions(self: VPCServiceConfigurationBackend, service_id: str,
                                            add_principals: list[str], remove_principals: list[str]) -> None:
    config = self.describe_vpc_endpoint_service_configurations([service_id])[0]
    kept = [p for p in config.principals if p not in remove_principals]
    kept += [p for p in dict.fromkeys(add_principals) if p not in kept and p not in remove_principals]
    config.principals = kept
    ids = _permission_ids(config)
    for principal in list(ids):
        if principal not in kept:
            del ids[principal]


def modify_vpc_endpoint_service_permissions_response(self: EC2Response) -> ActionResult:
    service_id = self._get_param("ServiceId")
    added = self._get_param("AddAllowedPrincipals", [])
    self.ec2_backend.modify_vpc_endpoint_service_permissions(
        service_id, added, self._get_param("RemoveAllowedPrincipals", []))
    config = self.ec2_backend.describe_vpc_endpoint_service_configurations([service_id])[0]
    rows = [_allowed(config, p) for p in dict.fromkeys(added) if p in config.principals]
    return ActionResult({"ReturnValue": True, "AddedPrincipals": [
        {k: v for k, v in r.items() if k not in ("Tags",)} for r in rows]})


FILTERS = {"principal": "Principal", "principal-type": "PrincipalType", "permission-type": "PermissionType"}


def describe_vpc_endpoint_service_permissions(self: EC2Response) -> ActionResult:
    filters = self._get_param("Filters", []) or []
    connections._check_filters(filters, FILTERS)
    max_results = self._get_int_param("MaxResults")
    if max_results is not None and max_results < MIN_RESULTS:
        raise Ec2Error("InvalidParameterValue",
                       f"Value ( {max_results} ) for parameter maxResults is invalid. "
                       f"Expecting a value greater than {MIN_RESULTS - 1}.")
    limit = min(max_results or MAX_RESULTS, MAX_RESULTS)
    token = self._get_param("NextToken")
    try:
        start = int(connections._decode_token(token)) if token else 0
    except ValueError:
        raise Ec2Error("InvalidNextToken", f"The token '{token}' is invalid.") from None
    config = self.ec2_backend.describe_vpc_endpoint_service_configurations([self._get_param("ServiceId")])[0]
    rows = [_allowed(config, p) for p in config.principals]
    for f in filters:
        rows = [r for r in rows if r.get(FILTERS[f["Name"]]) in (f.get("Values") or [])]
    page = rows[start:start + limit]
    result: dict[str, Any] = {"AllowedPrincipals": page}
    if start + limit < len(rows):
        result["NextToken"] = connections._encode_token(str(start + limit))
    return ActionResult(result)


def _default_policy(endpoint: Any) -> str:
    return INTERFACE_DEFAULT_POLICY if (endpoint.vpc_endpoint_type or "").lower() == "interface" \
        else GATEWAY_DEFAULT_POLICY


def install() -> None:
    VPCServiceConfigurationBackend.modify_vpc_endpoint_service_permissions = modify_vpc_endpoint_service_permissions
    EC2Response.modify_vpc_endpoint_service_permissions = modify_vpc_endpoint_service_permissions_response
    EC2Response.describe_vpc_endpoint_service_permissions = describe_vpc_endpoint_service_permissions

    create = VPCBackend.create_vpc_endpoint

    def create_vpc_endpoint(self: Any, *args: Any, **kwargs: Any) -> Any:
        supplied = kwargs.get("policy_document", args[3] if len(args) > 3 else None)
        endpoint = create(self, *args, **kwargs)
        if not supplied:
            endpoint.policy_document = _default_policy(endpoint)
        return endpoint

    VPCBackend.create_vpc_endpoint = create_vpc_endpoint

    modify = EC2Response.modify_vpc_endpoint

    def modify_vpc_endpoint(self: EC2Response) -> Any:
        result = modify(self)
        if self._get_bool_param("ResetPolicy", False):
            endpoint = self.ec2_backend.describe_vpc_endpoints(vpc_end_point_ids=[self._get_param("VpcEndpointId")])[0]
            endpoint.policy_document = _default_policy(endpoint)
        return result

    EC2Response.modify_vpc_endpoint = modify_vpc_endpoint
