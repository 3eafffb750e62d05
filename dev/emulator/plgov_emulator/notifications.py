"""VPC endpoint connection notifications, which moto lacks.

moto 5.2 has no Create/Describe/Modify/DeleteVpcEndpointConnectionNotification(s) (it answers
HTTP 500), so the README's `aws ec2 create-vpc-endpoint-connection-notification` and the stack's
SNS path to the approver cannot be exercised. Here a notification is kept in its account's EC2
backend, for an endpoint service of the caller (`ServiceId`) or an interface endpoint of the caller
(`VpcEndpointId`), with an SNS topic (`ConnectionNotificationArn`, a topic that exists) and events
among Accept, Connect, Delete and Reject. Describe filters by connection-notification-arn, -id,
-state, -type, service-id and vpc-endpoint-id and pages by MaxResults/NextToken; an unknown
ConnectionNotificationId is the error InvalidConnectionNotification; Delete reports unknown ids
as Unsuccessful items with that code.

The connection lifecycle (connections.py) publishes through moto's SNS backend, to the topic of
every matching notification whose events include the event:
  Connect  an endpoint is created for the service (the endpoint's state: pendingAcceptance, or
           available when the service accepts automatically), to the service's notifications;
  Accept / Reject  the provider accepts or rejects it, to the service's and the endpoint's;
  Delete   the consumer deletes it, to the service's and the endpoint's.
AWS does not document the message body. The emulator's own body is one JSON object:
  {"eventType": "Connect", "serviceId": "vpce-svc-…", "endpointId": "vpce-…",
   "endpointOwner": "<account>", "endpointState": "pendingAcceptance",
   "connectionNotificationId": "vpce-nfn-…", "source": "plgov-emulator"}
Delivery never fails the EC2 call that caused it (a topic deleted since is skipped).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator

from moto.core.responses import ActionResult
from moto.ec2.models.vpcs import VPCBackend
from moto.ec2.responses import EC2Response
from moto.moto_api._internal import mock_random
from moto.sns.models import sns_backends

from . import connections
from .connections import Ec2Error

log = logging.getLogger(__name__)

EVENTS = ("Accept", "Connect", "Delete", "Reject")
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([\w-]{1,256})$")
_lock = threading.Lock()


@dataclass
class Notification:
    id: str
    arn: str
    events: list[str]
    region: str
    service_id: str | None = None
    endpoint_id: str | None = None
    client_token: str | None = None
    state: str = "Enabled"
    request: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ConnectionNotificationId": self.id,
            "ConnectionNotificationType": "Topic",
            "ConnectionNotificationArn": self.arn,
            "ConnectionEvents": list(self.events),
            "ConnectionNotificationState": self.state,
            "ServiceRegion": self.region,
        }
        if self.service_id:
            out["ServiceId"] = self.service_id
        if self.endpoint_id:
            out["VpcEndpointId"] = self.endpoint_id
        return out


def _store(backend: Any) -> dict[str, Notification]:
    store = getattr(backend, "plgov_connection_notifications", None)
    if store is None:
        store = backend.plgov_connection_notifications = {}
    return store


def _check_topic(arn: Any) -> None:
    match = _TOPIC_ARN.match(arn or "")
    if match is None:
        raise Ec2Error("InvalidParameterValue", f"Value ({arn}) for parameter ConnectionNotificationArn is invalid. "
                                                "Expecting the ARN of an SNS topic.")
    region, account, _ = match.groups()
    if sns_backends[account][region].topics.get(arn) is None:
        raise Ec2Error("InvalidParameterValue", f"The SNS topic {arn} does not exist.")


def _check_events(events: Any) -> list[str]:
    if not events:
        raise Ec2Error("MissingParameter", "The request must contain the parameter ConnectionEvents")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise Ec2Error("InvalidParameterValue", f"Invalid connection event(s) {unknown}: valid values are "
                                                "Accept, Connect, Delete and Reject.")
    return list(dict.fromkeys(events))


def create_vpc_endpoint_connection_notification(self: EC2Response) -> ActionResult:
    service_id, endpoint_id = self._get_param("ServiceId"), self._get_param("VpcEndpointId")
    arn, token = self._get_param("ConnectionNotificationArn"), self._get_param("ClientToken")
    if not arn:
        raise Ec2Error("MissingParameter", "The request must contain the parameter ConnectionNotificationArn")
    events = _check_events(self._get_param("ConnectionEvents", []))
    if bool(service_id) == bool(endpoint_id):
        raise Ec2Error("InvalidParameterCombination", "Specify either ServiceId or VpcEndpointId, not both.")
    request = {"ServiceId": service_id, "VpcEndpointId": endpoint_id, "Arn": arn, "Events": sorted(events)}
    store = _store(self.ec2_backend)
    with _lock:
        if token:
            earlier = next((n for n in store.values() if n.client_token == token), None)
            if earlier is not None:
                if earlier.request != request:
                    raise Ec2Error("IdempotentParameterMismatch",
                                   "The client token was already used with different parameters.")
                return ActionResult({"ConnectionNotification": earlier.as_dict(), "ClientToken": token})
        if service_id and self.ec2_backend.configurations.get(service_id) is None:
            raise Ec2Error("InvalidVpcEndpointServiceId.NotFound",
                           f"The Vpc Endpoint Service Id '{service_id}' does not exist")
        if endpoint_id:
            endpoint = self.ec2_backend.vpc_end_points.get(endpoint_id)
            if endpoint is None or endpoint.state == "deleted":
                raise Ec2Error("InvalidVpcEndpointId.NotFound", f"The Vpc Endpoint Id '{endpoint_id}' does not exist")
            if (endpoint.vpc_endpoint_type or "").lower() != "interface":
                raise Ec2Error("InvalidParameterValue",
                               "Connection notifications can be created for interface endpoints only.")
        _check_topic(arn)
        notification = Notification(id=f"vpce-nfn-{mock_random.get_random_hex(17)}", arn=arn, events=events,
                                    region=self.region, service_id=service_id, endpoint_id=endpoint_id,
                                    client_token=token, request=request)
        store[notification.id] = notification
    result: dict[str, Any] = {"ConnectionNotification": notification.as_dict()}
    if token:
        result["ClientToken"] = token
    return ActionResult(result)


FILTERS = {
    "connection-notification-arn": "ConnectionNotificationArn",
    "connection-notification-id": "ConnectionNotificationId",
    "connection-notification-state": "ConnectionNotificationState",
    "connection-notification-type": "ConnectionNotificationType",
    "service-id": "ServiceId",
    "vpc-endpoint-id": "VpcEndpointId",
}


def describe_vpc_endpoint_connection_notifications(self: EC2Response) -> ActionResult:
    filters = self._get_param("Filters", []) or []
    connections._check_filters(filters, FILTERS)
    max_results = self._get_int_param("MaxResults")
    if max_results is not None and not 1 <= max_results <= connections.MAX_RESULTS:
        raise Ec2Error("InvalidParameterValue", f"Value ( {max_results} ) for parameter maxResults is invalid.")
    token = self._get_param("NextToken")
    after = connections._decode_token(token) if token else ""
    wanted_id = self._get_param("ConnectionNotificationId")
    store = _store(self.ec2_backend)
    if wanted_id and wanted_id not in store:
        raise Ec2Error("InvalidConnectionNotification",
                       f"The connection notification '{wanted_id}' does not exist")
    rows = [n.as_dict() for n in sorted(store.values(), key=lambda n: n.id)
            if (not wanted_id or n.id == wanted_id) and n.id > after]
    for f in filters:
        rows = [r for r in rows if r.get(FILTERS[f["Name"]]) in (f.get("Values") or [])]
    limit = max_results or connections.MAX_RESULTS
    result: dict[str, Any] = {"ConnectionNotificationSet": rows[:limit]}
    if len(rows) > limit:
        result["NextToken"] = connections._encode_token(rows[limit - 1]["ConnectionNotificationId"])
    return ActionResult(result)


def modify_vpc_endpoint_connection_notification(self: EC2Response) -> ActionResult:
    notification_id = self._get_param("ConnectionNotificationId")
    notification = _store(self.ec2_backend).get(notification_id)
    if notification is None:
        raise Ec2Error("InvalidConnectionNotification",
                       f"The connection notification '{notification_id}' does not exist")
    arn, events = self._get_param("ConnectionNotificationArn"), self._get_param("ConnectionEvents", [])
    if arn:
        _check_topic(arn)
    if events:
        events = _check_events(events)
    with _lock:
        if arn:
            notification.arn = arn
        if events:
            notification.events = events
    return ActionResult({"ReturnValue": True})


def delete_vpc_endpoint_connection_notifications(self: EC2Response) -> ActionResult:
    ids = self._get_param("ConnectionNotificationIds", [])
    if not ids:
        raise Ec2Error("MissingParameter", "The request must contain the parameter ConnectionNotificationIds")
    store = _store(self.ec2_backend)
    unsuccessful = []
    with _lock:
        for notification_id in ids:
            if store.pop(notification_id, None) is None:
                unsuccessful.append({"ResourceId": notification_id, "Error": {
                    "Code": "InvalidConnectionNotification",
                    "Message": f"The connection notification '{notification_id}' does not exist"}})
    return ActionResult({"Unsuccessful": unsuccessful})


def _matching(region: str, service: Any, endpoint: Any) -> Iterator[Notification]:
    for _, backend in connections._backends_in_region(region):
        for notification in list(_store(backend).values()):
            if (service is not None and notification.service_id == service.id) or \
                    notification.endpoint_id == endpoint.id:
                yield notification


def publish(event: str, region: str, service: Any, endpoint: Any) -> None:
    """Publishes `event` of `endpoint` (connected to `service`, or None) to every matching topic."""
    for notification in _matching(region, service, endpoint):
        if event not in notification.events or notification.state != "Enabled":
            continue
        message = {
            "eventType": event,
            "serviceId": service.id if service is not None else notification.service_id,
            "endpointId": endpoint.id,
            "endpointOwner": endpoint.ec2_backend.account_id,
            "endpointState": endpoint.state,
            "connectionNotificationId": notification.id,
            "source": "plgov-emulator",
        }
        topic_region, account, _ = _TOPIC_ARN.match(notification.arn).groups()  # type: ignore[union-attr]
        try:
            sns_backends[account][topic_region].publish(json.dumps(message), arn=notification.arn)
        except Exception:  # delivery is asynchronous in AWS: it never fails the EC2 call
            log.exception("connection notification %s to %s not delivered", notification.id, notification.arn)


def _on_state_change(region: str, service: Any, endpoint: Any) -> None:
    event = {connections.AVAILABLE: "Accept", connections.REJECTED: "Reject"}.get(endpoint.state)
    if event:
        publish(event, region, service, endpoint)


def install() -> None:
    """Must run after connections.install(): it wraps the endpoint creation that one installs."""
    create = VPCBackend.create_vpc_endpoint

    def create_vpc_endpoint(self: Any, *args: Any, **kwargs: Any) -> Any:
        endpoint = create(self, *args, **kwargs)
        service = connections._service_for_name(self.region_name, endpoint.service_name)
        if service is not None:
            publish("Connect", self.region_name, service, endpoint)
        return endpoint

    delete = VPCBackend.delete_vpc_endpoints

    def delete_vpc_endpoints(self: Any, vpce_ids: list[str] | None = None) -> None:
        found = (self.vpc_end_points.get(i) for i in vpce_ids or [])
        live = [e for e in found if e is not None and e.state != "deleted"]
        delete(self, vpce_ids)
        for endpoint in live:
            if endpoint.state == "deleted":
                publish("Delete", self.region_name,
                        connections._service_for_name(self.region_name, endpoint.service_name), endpoint)

    VPCBackend.create_vpc_endpoint = create_vpc_endpoint
    VPCBackend.delete_vpc_endpoints = delete_vpc_endpoints
    connections.STATE_LISTENERS.append(_on_state_change)
    EC2Response.create_vpc_endpoint_connection_notification = create_vpc_endpoint_connection_notification
    EC2Response.describe_vpc_endpoint_connection_notifications = describe_vpc_endpoint_connection_notifications
    EC2Response.modify_vpc_endpoint_connection_notification = modify_vpc_endpoint_connection_notification
    EC2Response.delete_vpc_endpoint_connection_notifications = delete_vpc_endpoint_connection_notifications
