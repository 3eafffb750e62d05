"""The PrivateLink endpoint connection lifecycle that moto lacks.

moto keeps endpoint services (per provider account) and endpoints (per consumer
account) but never links them: its endpoints are always `available` and it has no
DescribeVpcEndpointConnections, AcceptVpcEndpointConnections or
RejectVpcEndpointConnections. Here a connection is derived, not stored: it is the
pair (endpoint service of the caller, any account's endpoint whose ServiceName is
that service's name). The connection state is the endpoint's own `state`, so the
consumer's DescribeVpcEndpoints and the provider's view can never disagree.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from typing import Any, Callable, Iterator

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ec2.models.vpcs import VPCBackend
from moto.ec2.responses import EC2Response

PENDING_ACCEPTANCE = "pendingAcceptance"
AVAILABLE = "available"
REJECTED = "rejected"

MIN_RESULTS, MAX_RESULTS = 5, 1000

# Called as listener(region, service, endpoint) after the provider accepts or rejects an endpoint
# (endpoint.state is the new state); notifications.py publishes connection notifications from here.
STATE_LISTENERS: list[Callable[[str, Any, Any], None]] = []


class Ec2Error(ServiceException):
    """A client error (status 400), answered in EC2's XML error format by moto."""

    def __init__(self, code: str, message: str):
        super().__init__(code, message)


def _backends_in_region(region: str) -> Iterator[tuple[str, Any]]:
    """Every account's EC2 backend that already exists in `region`.

    Only backends that exist are visited: touching a missing one would create it.
    """
    for account_id, regions in list(ec2_backends.items()):
        if region in regions.keys():
            yield account_id, regions[region]


def _service_for_name(region: str, service_name: str) -> Any | None:
    for _, backend in _backends_in_region(region):
        for config in list(backend.configurations.values()):
            if config.service_name == service_name:
                return config
    return None


def _endpoints_of_service(region: str, service_name: str) -> Iterator[tuple[str, Any]]:
    for account_id, backend in _backends_in_region(region):
        for endpoint in list(backend.vpc_end_points.values()):
            if endpoint.service_name == service_name and endpoint.state != "deleted":
                yield account_id, endpoint


def _connection(region: str, service: Any, owner: str, endpoint: Any) -> dict[str, Any]:
    digest = hashlib.sha256(f"{service.id}/{endpoint.id}".encode()).hexdigest()[:17]
    connection = {
        "ServiceId": service.id,
        "VpcEndpointId": endpoint.id,
        "VpcEndpointOwner": owner,
        "VpcEndpointState": endpoint.state,
        "VpcEndpointConnectionId": f"vpce-con-{digest}",
        "VpcEndpointRegion": region,
        "CreationTimestamp": endpoint.creation_timestamp,
        "DnsEntries": [
            {"DnsName": e.get("dns_name"), "HostedZoneId": e.get("hosted_zone_id")}
            for e in (endpoint.dns_entries or [])
            if isinstance(e, dict)
        ],
        "IpAddressType": "ipv4",
        "Tags": [],
    }
    if service.network_load_balancer_arns:
        connection["NetworkLoadBalancerArns"] = list(service.network_load_balancer_arns)
    if service.gateway_load_balancer_arns:
        connection["GatewayLoadBalancerArns"] = list(service.gateway_load_balancer_arns)
    return connection


def _encode_token(last_endpoint_id: str) -> str:
    return base64.urlsafe_b64encode(last_endpoint_id.encode()).decode()


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except Exception as exc:  # any garbage token is the caller's error
        raise Ec2Error("InvalidNextToken", f"The token '{token}' is invalid.") from exc


def _filter_values(filters: list[dict[str, Any]], name: str) -> list[str] | None:
    values: list[str] | None = None
    for f in filters or []:
        if f.get("Name") == name:
            values = (values or []) + list(f.get("Values") or [])
    return values


FILTER_FIELDS = {
    "service-id": "ServiceId",
    "vpc-endpoint-state": "VpcEndpointState",
    "vpc-endpoint-owner": "VpcEndpointOwner",
    "vpc-endpoint-id": "VpcEndpointId",
    "vpc-endpoint-region": "VpcEndpointRegion",
}


def _check_filters(filters: list[dict[str, Any]], known: dict[str, str] = FILTER_FIELDS) -> None:
    """Rejects a filter whose name is not among `known` (those of DescribeVpcEndpointConnections)."""
    for f in filters or []:
        if f.get("Name") not in known:
            raise Ec2Error("InvalidParameterValue", f"The filter '{f.get('Name')}' is invalid")


def _connection_matches(conn: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    for name, field in FILTER_FIELDS.items():
        actual = conn[field]
        wanted = _filter_values(filters, name)
        if wanted is not None and actual not in wanted:
            return False
    return True


def describe_vpc_endpoint_connections(self: EC2Response) -> ActionResult:
    filters = self._get_param("Filters", [])
    _check_filters(filters)
    max_results = self._get_int_param("MaxResults")
    if max_results is not None and not MIN_RESULTS <= max_results <= MAX_RESULTS:
        raise Ec2Error(
            "InvalidParameterValue",
            f"Value ( {max_results} ) for parameter maxResults is invalid. "
            f"Expecting a value between {MIN_RESULTS} and {MAX_RESULTS}.",
        )
    after = _decode_token(self._get_param("NextToken")) if self._get_param("NextToken") else ""
    region = self.region
    connections = []
    for service in list(self.ec2_backend.configurations.values()):
        for owner, endpoint in _endpoints_of_service(region, service.service_name):
            conn = _connection(region, service, owner, endpoint)
            if _connection_matches(conn, filters):
                connections.append(conn)
    # Ordered by endpoint id and resumed after the last id returned, so that a
    # connection changing state between two pages is neither skipped nor repeated.
    connections.sort(key=lambda c: c["VpcEndpointId"])
    page = [c for c in connections if c["VpcEndpointId"] > after]
    limit = max_results or MAX_RESULTS
    result: dict[str, Any] = {"VpcEndpointConnections": page[:limit]}
    if len(page) > limit:
        result["NextToken"] = _encode_token(page[limit - 1]["VpcEndpointId"])
    return ActionResult(result)


def _own_service(self: EC2Response) -> Any:
    service_id = self._get_param("ServiceId")
    service = self.ec2_backend.configurations.get(service_id)
    if service is None:
        raise Ec2Error(
            "InvalidVpcEndpointServiceId.NotFound",
            f"The Vpc Endpoint Service Id '{service_id}' does not exist",
        )
    return service


def _unsuccessful(endpoint_id: str, code: str, message: str) -> dict[str, Any]:
    return {"ResourceId": endpoint_id, "Error": {"Code": code, "Message": message}}


def _change_states(self: EC2Response, allowed_from: tuple[str, ...], to: str) -> ActionResult:
    service = _own_service(self)
    ids = self._get_param("VpcEndpointIds", [])
    if not ids:
        raise Ec2Error("MissingParameter", "The request must contain the parameter VpcEndpointIds")
    region = self.region
    by_id = {e.id: e for _, backend in _backends_in_region(region) for e in list(backend.vpc_end_points.values())}
    unsuccessful = []
    for endpoint_id in ids:
        endpoint = by_id.get(endpoint_id)
        if endpoint is None or endpoint.state == "deleted":
            unsuccessful.append(_unsuccessful(
                endpoint_id, "InvalidVpcEndpointId.NotFound",
                f"The Vpc Endpoint Id '{endpoint_id}' does not exist"))
        elif endpoint.service_name != service.service_name:
            unsuccessful.append(_unsuccessful(
                endpoint_id, "InvalidVpcEndpointId.NotFound",
                f"The Vpc Endpoint Id '{endpoint_id}' is not connected to service '{service.id}'"))
        elif endpoint.state not in allowed_from:
            unsuccessful.append(_unsuccessful(
                endpoint_id, "InvalidState",
                f"The Vpc Endpoint '{endpoint_id}' is in state '{endpoint.state}'"))
        else:
            endpoint.state = to
            for listener in STATE_LISTENERS:
                listener(region, service, endpoint)
    return ActionResult({"Unsuccessful": unsuccessful})


def accept_vpc_endpoint_connections(self: EC2Response) -> ActionResult:
    return _change_states(self, (PENDING_ACCEPTANCE,), AVAILABLE)


def reject_vpc_endpoint_connections(self: EC2Response) -> ActionResult:
    return _change_states(self, (PENDING_ACCEPTANCE, AVAILABLE), REJECTED)


def describe_vpc_endpoints(self: EC2Response) -> ActionResult:
    """moto's DescribeVpcEndpoints with AWS's pagination (MaxResults up to 1000, NextToken),
    which moto ignores: a large fleet comes back in pages, as from AWS."""
    max_results = self._get_int_param("MaxResults") or MAX_RESULTS
    if not MIN_RESULTS <= max_results <= MAX_RESULTS:
        raise Ec2Error("InvalidParameterValue", f"Value ( {max_results} ) for parameter maxResults is invalid.")
    after = _decode_token(self._get_param("NextToken")) if self._get_param("NextToken") else ""
    endpoints = self.ec2_backend.describe_vpc_endpoints(
        vpc_end_point_ids=self._get_param("VpcEndpointIds", []), filters=self._filters_from_querystring())
    page = sorted((e for e in endpoints if e.id > after), key=lambda e: e.id)
    result: dict[str, Any] = {"VpcEndpoints": page[:max_results]}
    if len(page) > max_results:
        result["NextToken"] = _encode_token(page[max_results - 1].id)
    return ActionResult(result)


def set_creation_time(account: str, region: str, endpoint_id: str, epoch: float) -> None:
    """Backdates an endpoint's CreationTimestamp (the `/_plgov/endpoint-times` control endpoint).

    Tests take the clock as an input: an endpoint created now can stand for one created during a
    chosen past hour, so an hour is priced the same whatever the day or hour the test runs.
    """
    backend = ec2_backends[account][region]
    endpoint = backend.vpc_end_points.get(endpoint_id)
    if endpoint is None:
        raise KeyError(f"no endpoint {endpoint_id} in account {account} region {region}")
    endpoint.creation_timestamp = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc).replace(tzinfo=None)


def install() -> None:
    """Patch moto in this process: endpoints wait for acceptance, and the three
    connection operations exist."""
    original_create = VPCBackend.create_vpc_endpoint

    def create_vpc_endpoint(self: Any, *args: Any, **kwargs: Any) -> Any:
        endpoint = original_create(self, *args, **kwargs)
        if (endpoint.vpc_endpoint_type or "").lower() in ("interface", "gatewayloadbalancer"):
            service = _service_for_name(self.region_name, endpoint.service_name)
            if service is not None and service.acceptance_required:
                endpoint.state = PENDING_ACCEPTANCE
        return endpoint

    VPCBackend.create_vpc_endpoint = create_vpc_endpoint
    EC2Response.describe_vpc_endpoints = describe_vpc_endpoints
    EC2Response.describe_vpc_endpoint_connections = describe_vpc_endpoint_connections
    EC2Response.accept_vpc_endpoint_connections = accept_vpc_endpoint_connections
    EC2Response.reject_vpc_endpoint_connections = reject_vpc_endpoint_connections
