"""Resource and service network VPC endpoints (no ServiceName), which moto cannot create.

EC2's CreateVpcEndpoint takes `VpcEndpointType=Resource` with a `ResourceConfigurationArn` (a VPC
Lattice resource configuration shared with the account) and `VpcEndpointType=ServiceNetwork` with
a `ServiceNetworkArn`, and no `ServiceName`. moto 5.2 reads neither ARN, treats any type but
Interface as a gateway endpoint (no network interfaces) and keeps a ServiceName of None, which the
connection lifecycle here looked up by name: the call failed with an internal error (HTTP 500), so
nothing could show how the product inventories endpoints it has no price for.

Here such an endpoint is created as the AWS CLI reference shows it (`aws ec2 create-vpc-endpoint`,
examples "To create a resource endpoint" and "To create a service network endpoint"):
  - no ServiceName, no PolicyDocument (the policy is for interface and gateway endpoints only), no
    DnsEntries; its ARN as `ResourceConfigurationArn` or `ServiceNetworkArn`; `IpAddressType`
    `IPV4` (upper case, as EC2 answers it for these types); `PrivateDnsEnabled` false unless asked;
    the VPC's default security group when none is given;
  - one network interface in each subnet of `SubnetIds` (the API reference: "the subnets in which
    to create endpoint network interfaces" for Resource and ServiceNetwork endpoints), removed on
    DeleteVpcEndpoints;
  - CreateVpcEndpoint answers `State: Pending` (capitalised: these types answer the State enum's
    own values, unlike an interface endpoint's `available`); it needs no acceptance (access is
    granted by sharing the resource configuration or service network), and from then on the
    endpoint is `Available`, at once rather than after a few seconds.
DescribeVpcEndpoints returns them with these fields, and moto's `vpc-endpoint-type` filter finds
them. moto reads a filter it does not know from the attribute of that name and fails with an
internal error when the endpoint has none: `service-name` failed so for every DescribeVpcEndpoints
of an account with such an endpoint (and `vpc-endpoint-id` for any account); here `service-name`
matches the endpoint's ServiceName (never one of these endpoints) and `vpc-endpoint-id` its id, as
the API reference lists them.

They are connected to no endpoint service: DescribeVpcEndpointConnections never lists them,
Accept/Reject answer them as not connected, no connection notification is published for them and
none can be created for them (connections.py, notifications.py: an endpoint without a ServiceName
has no service; endpoint_index.py does not group it under one).

Checks (emulator choices, EC2's exact codes for them unverified): the ARN the type needs is
required (MissingParameter), must look like a VPC Lattice resource configuration or service network
ARN (InvalidParameterValue), and a ServiceName or the other type's ARN with it is
InvalidParameterCombination; subnets and security groups must exist (InvalidSubnetID.NotFound,
InvalidGroup.NotFound). The resource configuration or service network itself is not looked up
(moto has no VPC Lattice resource configurations). An Interface, Gateway or GatewayLoadBalancer
endpoint without a ServiceName is MissingParameter, where moto failed with an internal error.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.models.vpcs import VPCBackend, VPCEndPoint
from moto.ec2.responses import EC2Response
from moto.ec2.utils import add_tag_specification, random_private_ip

from .connections import Ec2Error

RESOURCE, SERVICE_NETWORK = "Resource", "ServiceNetwork"
# The type, the parameter that names what it connects to, and the VPC Lattice ARN that is.
ARN_PARAMETER = {RESOURCE: "ResourceConfigurationArn", SERVICE_NETWORK: "ServiceNetworkArn"}
ARN_PATTERN = {
    RESOURCE: re.compile(r"^arn:aws[a-z-]*:vpc-lattice:[a-z0-9-]+:\d{12}:resourceconfiguration/rcfg-[0-9a-z]{17}$"),
    SERVICE_NETWORK: re.compile(r"^arn:aws[a-z-]*:vpc-lattice:[a-z0-9-]+:\d{12}:servicenetwork/sn-[0-9a-z]{17}$"),
}
SERVICE_TYPES = ("interface", "gateway", "gatewayloadbalancer")
PENDING, AVAILABLE = "Pending", "Available"


def canonical_type(endpoint_type: str | None) -> str | None:
    """RESOURCE or SERVICE_NETWORK for those types (in any case), else None."""
    lowered = (endpoint_type or "").lower()
    return next((t for t in ARN_PARAMETER if t.lower() == lowered), None)


def is_serviceless(endpoint: Any) -> bool:
    return canonical_type(getattr(endpoint, "vpc_endpoint_type", None)) is not None


def _check(kind: str, service_name: str | None, arns: dict[str, str | None]) -> str:
    parameter = ARN_PARAMETER[kind]
    arn = arns[parameter]
    if not arn:
        raise Ec2Error("MissingParameter", f"The request must contain the parameter {parameter}")
    others = [p for p, v in arns.items() if v and p != parameter] + (["ServiceName"] if service_name else [])
    if others:
        raise Ec2Error("InvalidParameterCombination",
                       f"{' and '.join(others)} cannot be specified for a VPC endpoint of type {kind}.")
    if not ARN_PATTERN[kind].match(arn):
        raise Ec2Error("InvalidParameterValue", f"Value ({arn}) for parameter {parameter} is invalid.")
    return arn


def create(backend: Any, vpc_id: str, kind: str, arn: str, subnet_ids: list[str],
           security_group_ids: list[str], tags: dict[str, str] | None = None, client_token: str | None = None,
           private_dns_enabled: bool = False) -> Any:
    """A Resource or ServiceNetwork endpoint in `backend`, created as EC2 does (its state Available)."""
    vpc = backend.get_vpc(vpc_id)  # InvalidVpcID.NotFound
    subnets = [backend.get_subnet(s) for s in subnet_ids]  # InvalidSubnetID.NotFound
    for subnet in subnets:
        if subnet.vpc_id != vpc.id:
            raise Ec2Error("InvalidParameter", f"The subnet '{subnet.id}' does not belong to VPC '{vpc.id}'.")
    for group_id in security_group_ids:
        if backend.get_security_group_from_id(group_id) is None:
            raise Ec2Error("InvalidGroup.NotFound", f"The security group '{group_id}' does not exist")
    if not security_group_ids:
        default = backend.get_default_security_group(vpc.id)
        security_group_ids = [default.id] if default is not None else []
    endpoint = backend.create_vpc_endpoint(
        vpc_id=vpc.id, service_name=None, endpoint_type=kind, policy_document=None, route_table_ids=[],
        subnet_ids=list(subnet_ids), client_token=client_token, security_group_ids=list(security_group_ids),
        tags=tags, private_dns_enabled=private_dns_enabled)
    endpoint.vpc_endpoint_type = kind
    endpoint.policy_document = None  # set by moto and by endpoint_services.py for every endpoint
    endpoint.dns_entries = []
    endpoint.ip_address_type = "IPV4"
    endpoint.resource_configuration_arn = arn if kind == RESOURCE else None
    endpoint.service_network_arn = arn if kind == SERVICE_NETWORK else None
    endpoint.network_interface_ids = [
        backend.create_network_interface(subnet, random_private_ip(subnet.cidr_block),
                                         group_ids=list(security_group_ids),
                                         description=f"VPC Endpoint Interface {endpoint.id}").id
        for subnet in subnets]
    endpoint.state = AVAILABLE
    return endpoint


def create_vpc_endpoint(original: Any) -> Any:
    def handler(self: EC2Response) -> Any:
        endpoint_type = self._get_param("VpcEndpointType")
        service_name = self._get_param("ServiceName")
        kind = canonical_type(endpoint_type)
        if kind is None:
            if not service_name and (endpoint_type or "Gateway").lower() in SERVICE_TYPES:
                raise Ec2Error("MissingParameter", "The request must contain the parameter ServiceName")
            return original(self)
        arn = _check(kind, service_name, {p: self._get_param(p) for p in ARN_PARAMETER.values()})
        private_dns = self._get_param("PrivateDnsEnabled")
        endpoint = create(
            self.ec2_backend, self._get_param("VpcId"), kind, arn,
            subnet_ids=self._get_param("SubnetIds", []),
            security_group_ids=self._get_param("SecurityGroupIds", []),
            tags=add_tag_specification(self._get_param("TagSpecifications", [])),
            client_token=self._get_param("ClientToken"),
            private_dns_enabled=self._get_bool_param("PrivateDnsEnabled") if private_dns is not None else False)
        answered = copy.copy(endpoint)  # what CreateVpcEndpoint answers: the endpoint still pending
        answered.state = PENDING
        return ActionResult({"VpcEndpoint": answered})

    return handler


def install() -> None:
    """Must run after connections, notifications and endpoint_services: it creates through them."""
    EC2Response.create_vpc_endpoint = create_vpc_endpoint(EC2Response.create_vpc_endpoint)

    delete = VPCBackend.delete_vpc_endpoints

    def delete_vpc_endpoints(self: Any, vpce_ids: list[str] | None = None) -> None:
        # moto removes the network interfaces of interface endpoints only.
        found = (self.vpc_end_points.get(i) for i in vpce_ids or [])
        serviceless = [e for e in found if e is not None and e.state != "deleted" and is_serviceless(e)]
        delete(self, vpce_ids)
        for endpoint in serviceless:
            for eni_id in endpoint.network_interface_ids:
                self.enis.pop(eni_id, None)

    VPCBackend.delete_vpc_endpoints = delete_vpc_endpoints

    get_filter_value = VPCEndPoint.get_filter_value

    def filter_value(self: Any, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name == "service-name":
            return self.service_name  # None for these endpoints: a service-name filter never matches them
        if filter_name == "vpc-endpoint-id":
            return self.id
        return get_filter_value(self, filter_name, method_name)

    VPCEndPoint.get_filter_value = filter_value
