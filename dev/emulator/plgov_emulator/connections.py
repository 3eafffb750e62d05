"""The PrivateLink endpoint connection lifecycle that moto lacks.

moto keeps endpoint services (per provider account) and endpoints (per consumer
account) but never links them: its endpoints are always `available` and it has no
DescribeVpcEndpointConnections, AcceptVpcEndpointConnections or
RejectVpcEndpointConnections. Here a connection is derived, not stored: it is the
pair (endpoint service of the caller, any account's endpoint whose ServiceName is
that service's name). The connection state is the endpoint's own `state`, so the
consumer's DescribeVpcEndpoints and the provider's view can never disagree.

Lookups go through endpoint_index.py (endpoints grouped by service name in each account, services
found by id): a call's work grows with the accounts and with what it answers, not with the size
of every account's fleet. DescribeVpcEndpointConnections reads the caller's connections only
(per account, from the fewer of the caller's services and the services that account connects
to), builds connection records only for the page it returns, and ec2_xml.py renders them.
"""

from __future__ import annotations

import base64
import bisect
import datetime
import hashlib
from typing import Any, Callable, Iterator

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.ec2.models.vpcs import VPCBackend
from moto.ec2.responses import EC2Response

from . import endpoint_index
from .ec2_xml import FastResult

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
    return endpoint_index.backends_in_region(region)


def _service_for_name(region: str, service_name: str) -> Any | None:
    for _, backend in _backends_in_region(region):
        config = endpoint_index.service_named(backend, service_name)
        if config is not None:
            return config
    return None


def _endpoint_in_region(region: str, endpoint_id: str) -> Any | None:
    found = None
    for _, backend in _backends_in_region(region):
        endpoint = endpoint_index.endpoint(backend, endpoint_id)
        if endpoint is not None:
            found = endpoint
    return found


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


def _matching_connections(region: str, services: list[Any],
                          filters: list[dict[str, Any]]) -> list[tuple[str, Any, str, Any]]:
    """(endpoint id, service, owner, endpoint) of the connections of `services` that `filters`
    keep (each filter: the connection's field is among its values), read from the service and
    the endpoint without building the connection."""
    wanted = {name: _filter_values(filters, name) for name in FILTER_FIELDS}
    service_ids, states, owners, endpoint_ids, regions = (
        wanted["service-id"], wanted["vpc-endpoint-state"], wanted["vpc-endpoint-owner"],
        wanted["vpc-endpoint-id"], wanted["vpc-endpoint-region"])
    if regions is not None and region not in regions:
        return []
    by_name = {s.service_name: s for s in services if service_ids is None or s.id in service_ids}
    found = []
    for owner, backend in _backends_in_region(region):
        if owners is not None and owner not in owners:
            continue
        groups = endpoint_index.groups(backend)
        # The services this account has endpoints to, met from whichever side is smaller.
        names = [n for n in list(groups) if n in by_name] if len(groups) < len(by_name) \
            else [n for n in by_name if n in groups]
        for name in names:
            service = by_name[name]
            for endpoint in endpoint_index.endpoints_of_service(backend, name):
                if endpoint.state != "deleted" and (states is None or endpoint.state in states) \
                        and (endpoint_ids is None or endpoint.id in endpoint_ids):
                    found.append((endpoint.id, service, owner, endpoint))
    return found


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
    found = _matching_connections(region, list(self.ec2_backend.configurations.values()), filters)
    # Ordered by endpoint id and resumed after the last id returned, so that a
    # connection changing state between two pages is neither skipped nor repeated.
    found.sort(key=lambda c: c[0])
    start = bisect.bisect_right([c[0] for c in found], after) if after else 0
    limit = max_results or MAX_RESULTS
    page = found[start:start + limit]
    result: dict[str, Any] = {"VpcEndpointConnections": [
        _connection(region, service, owner, endpoint) for _, service, owner, endpoint in page]}
    if len(found) - start > limit:
        result["NextToken"] = _encode_token(page[-1][0])
    return FastResult(result)  # a page of 1,000 connections: ec2_xml.py renders it ~10x faster


def _own_service(backend: Any, service_id: Any) -> Any:
    service = backend.configurations.get(service_id)
    if service is None:
        raise Ec2Error(
            "InvalidVpcEndpointServiceId.NotFound",
            f"The Vpc Endpoint Service Id '{service_id}' does not exist",
        )
    return service


def _unsuccessful(endpoint_id: str, code: str, message: str) -> dict[str, Any]:
    return {"ResourceId": endpoint_id, "Error": {"Code": code, "Message": message}}


# The state an accepted or rejected connection may be in before, and the state it is put in.
STATE_CHANGES = {
    "AcceptVpcEndpointConnections": ((PENDING_ACCEPTANCE,), AVAILABLE),
    "RejectVpcEndpointConnections": ((PENDING_ACCEPTANCE, AVAILABLE), REJECTED),
}


def change_states(action: str, backend: Any, region: str, service_id: Any, ids: list[str]) -> dict[str, Any]:
    """AcceptVpcEndpointConnections or RejectVpcEndpointConnections (`action`) by the owner of
    `backend`: the result's members, or an Ec2Error for the whole request. Also answered by
    ec2_front.py without moto's dispatch."""
    allowed_from, to = STATE_CHANGES[action]
    service = _own_service(backend, service_id)
    if not ids:
        raise Ec2Error("MissingParameter", "The request must contain the parameter VpcEndpointIds")
    unsuccessful = []
    for endpoint_id in ids:
        endpoint = _endpoint_in_region(region, endpoint_id)
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
    return {"Unsuccessful": unsuccessful}


def _change_states(self: EC2Response, action: str) -> ActionResult:
    return ActionResult(change_states(action, self.ec2_backend, self.region, self._get_param("ServiceId"),
                                    self._get_param("VpcEndpointIds", [])))


def accept_vpc_endpoint_connections(self: EC2Response) -> ActionResult:
    return _change_states(self, "AcceptVpcEndpointConnections")


def reject_vpc_endpoint_connections(self: EC2Response) -> ActionResult:
    return _change_states(self, "RejectVpcEndpointConnections")


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
