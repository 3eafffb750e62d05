"""VPC endpoints and endpoint services found by key, not by scanning every account's fleet.

moto keeps an account's endpoints in a plain dict by endpoint id (`EC2Backend.vpc_end_points`)
and its endpoint services by service id (`configurations`). The connection lifecycle
(connections.py, notifications.py) asks across accounts "which endpoints are connected to this
service" and "which service has this name"; answered by scanning, a provider with 1,000 services
and 10,000 endpoints took ~16 s for one DescribeVpcEndpointConnections (every service times every
endpoint) and each CreateVpcEndpoint, Accept or Reject scanned the whole fleet.

Here each EC2 backend's `vpc_end_points` is an `EndpointTable`: still the dict moto reads and
writes by endpoint id, that also keeps its endpoints grouped by `service_name`. moto only adds
endpoints (DeleteVpcEndpoints marks them `deleted` and keeps them) and never changes an
endpoint's service name; every mutating dict method keeps the groups in step all the same. An
endpoint without a service name (VpcEndpointType Resource or ServiceNetwork, resource_endpoints.py)
is in no group, and no service is found for it. A
backend gets its table when it is created (VPCBackend.__init__), or, for one created before
install(), the first time it is looked at.

A service is found from its name in O(accounts): moto names every endpoint service
`com.amazonaws.vpce.<region>.<service id>` (VPCServiceConfiguration.__init__) and keeps it under
that id, so the id is read from the name and the name is checked against the one found.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable, Iterator

from moto.ec2.models import ec2_backends
from moto.ec2.models.vpcs import VPCBackend

_lock = threading.Lock()


class EndpointTable(dict):  # type: ignore[type-arg]
    """A backend's endpoints by id, also grouped by service name (`by_service`)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.by_service: dict[str, dict[str, Any]] = {}
        for key, endpoint in dict.items(self):
            self._group(key, endpoint)

    def _group(self, key: str, endpoint: Any) -> None:
        name = getattr(endpoint, "service_name", None)
        if name:  # a Resource or ServiceNetwork endpoint has no service (resource_endpoints.py)
            self.by_service.setdefault(name, {})[key] = endpoint

    def _ungroup(self, key: str, endpoint: Any) -> None:
        name = getattr(endpoint, "service_name", None)
        group = self.by_service.get(name)
        if group is not None:
            group.pop(key, None)
            if not group:
                del self.by_service[name]

    def __setitem__(self, key: str, endpoint: Any) -> None:
        old = dict.get(self, key)
        if old is not None:
            self._ungroup(key, old)
        super().__setitem__(key, endpoint)
        self._group(key, endpoint)

    def __delitem__(self, key: str) -> None:
        endpoint = dict.__getitem__(self, key)
        super().__delitem__(key)
        self._ungroup(key, endpoint)

    _MISSING = object()

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if key in self:
            endpoint = super().pop(key)
            self._ungroup(key, endpoint)
            return endpoint
        if default is EndpointTable._MISSING:
            raise KeyError(key)
        return default

    def popitem(self) -> tuple[str, Any]:
        key, endpoint = super().popitem()
        self._ungroup(key, endpoint)
        return key, endpoint

    def clear(self) -> None:
        super().clear()
        self.by_service.clear()

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, endpoint in dict(*args, **kwargs).items():
            self[key] = endpoint

    def __ior__(self, other: Any) -> "EndpointTable":
        self.update(other)
        return self

    def __reduce__(self) -> Any:  # copies and pickles rebuild the groups from the items
        return (EndpointTable, (dict(self),))


def table(backend: Any) -> EndpointTable:
    """The backend's endpoints as an EndpointTable (converted once, if created before install)."""
    endpoints = backend.vpc_end_points
    if type(endpoints) is not EndpointTable:
        with _lock:
            endpoints = backend.vpc_end_points
            if type(endpoints) is not EndpointTable:
                endpoints = backend.vpc_end_points = EndpointTable(endpoints)
    return endpoints


def backends_in_region(region: str) -> Iterator[tuple[str, Any]]:
    """Every account's EC2 backend that already exists in `region` (none is created)."""
    for account_id, regions in list(ec2_backends.items()):
        backend = dict.get(regions, region)
        if backend is not None:
            yield account_id, backend


def groups(backend: Any) -> dict[str, dict[str, Any]]:
    """The backend's endpoints by service name (read-only; copy before iterating it)."""
    return table(backend).by_service


def endpoints_of_service(backend: Any, service_name: str) -> Iterable[Any]:
    """The backend's endpoints (any state) whose ServiceName is `service_name`."""
    return list(table(backend).by_service.get(service_name, {}).values())


def endpoint(backend: Any, endpoint_id: str) -> Any | None:
    return dict.get(table(backend), endpoint_id)


def service_id_of(service_name: str) -> str:
    """`vpce-svc-…` from moto's `com.amazonaws.vpce.<region>.vpce-svc-…`."""
    return service_name.rpartition(".")[2]


def service_named(backend: Any, service_name: str | None) -> Any | None:
    if not service_name:  # an endpoint without a ServiceName (Resource, ServiceNetwork) has no service
        return None
    config = backend.configurations.get(service_id_of(service_name))
    return config if config is not None and config.service_name == service_name else None


def install() -> None:
    """Every EC2 backend created from now on keeps its endpoints in an EndpointTable."""
    original_init = VPCBackend.__init__

    def init(self: Any) -> None:
        original_init(self)
        self.vpc_end_points = EndpointTable(self.vpc_end_points)

    VPCBackend.__init__ = init  # type: ignore[method-assign]
