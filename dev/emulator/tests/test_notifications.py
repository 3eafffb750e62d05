"""VPC endpoint connection notifications: the four API operations and the SNS messages the
connection lifecycle publishes."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

from conftest import client_for, create_endpoint, create_service, new_account


def topic_with_queue(account: str, name: str = "connections") -> tuple[str, str]:
    """An SNS topic and the SQS queue subscribed to it, to read what is published."""
    sns, sqs = client_for("sns", account), client_for("sqs", account)
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return topic, queue


def received(account: str, queue: str) -> list[dict]:
    sqs = client_for("sqs", account)
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return messages
        for m in batch:
            messages.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


def notify(ec2, events: list[str], topic: str, **target) -> dict:
    return ec2.create_vpc_endpoint_connection_notification(
        ConnectionNotificationArn=topic, ConnectionEvents=events, **target)["ConnectionNotification"]


def test_create_describe_modify_delete(provider):
    ec2 = client_for("ec2", provider)
    service = create_service(provider)
    topic, _ = topic_with_queue(provider)
    other_topic, _ = topic_with_queue(provider, "other")
    created = notify(ec2, ["Connect", "Accept"], topic, ServiceId=service)
    assert created["ConnectionNotificationId"].startswith("vpce-nfn-")
    assert created["ServiceId"] == service and "VpcEndpointId" not in created
    assert (created["ConnectionNotificationType"], created["ConnectionNotificationState"]) == ("Topic", "Enabled")
    assert created["ConnectionNotificationArn"] == topic
    assert sorted(created["ConnectionEvents"]) == ["Accept", "Connect"]
    [described] = ec2.describe_vpc_endpoint_connection_notifications(
        ConnectionNotificationId=created["ConnectionNotificationId"])["ConnectionNotificationSet"]
    assert described == created
    assert ec2.modify_vpc_endpoint_connection_notification(
        ConnectionNotificationId=created["ConnectionNotificationId"], ConnectionNotificationArn=other_topic,
        ConnectionEvents=["Reject"])["ReturnValue"] is True
    [modified] = ec2.describe_vpc_endpoint_connection_notifications()["ConnectionNotificationSet"]
    assert (modified["ConnectionNotificationArn"], modified["ConnectionEvents"]) == (other_topic, ["Reject"])
    missing = "vpce-nfn-0123456789abcdef0"
    result = ec2.delete_vpc_endpoint_connection_notifications(
        ConnectionNotificationIds=[created["ConnectionNotificationId"], missing])
    assert [(u["ResourceId"], u["Error"]["Code"]) for u in result["Unsuccessful"]] == [
        (missing, "InvalidConnectionNotification")]
    assert ec2.describe_vpc_endpoint_connection_notifications()["ConnectionNotificationSet"] == []


def test_filters_pages_and_accounts(provider):
    ec2 = client_for("ec2", provider)
    first, second = create_service(provider), create_service(provider)
    topic, _ = topic_with_queue(provider)
    ids = {notify(ec2, ["Connect"], topic, ServiceId=s)["ConnectionNotificationId"]: s
           for s in (first, first, second)}
    by_service = ec2.describe_vpc_endpoint_connection_notifications(
        Filters=[{"Name": "service-id", "Values": [second]}])["ConnectionNotificationSet"]
    assert [n["ServiceId"] for n in by_service] == [second]
    assert len(ec2.describe_vpc_endpoint_connection_notifications(Filters=[
        {"Name": "connection-notification-arn", "Values": [topic]},
        {"Name": "connection-notification-state", "Values": ["Enabled"]}])["ConnectionNotificationSet"]) == 3
    seen, token = [], None
    while True:
        page = ec2.describe_vpc_endpoint_connection_notifications(
            MaxResults=2, **({"NextToken": token} if token else {}))
        assert len(page["ConnectionNotificationSet"]) <= 2
        seen += [n["ConnectionNotificationId"] for n in page["ConnectionNotificationSet"]]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    assert client_for("ec2", new_account()).describe_vpc_endpoint_connection_notifications()[
        "ConnectionNotificationSet"] == []
    with pytest.raises(botocore.exceptions.ClientError) as err:
        ec2.describe_vpc_endpoint_connection_notifications(Filters=[{"Name": "color", "Values": ["x"]}])
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"


@pytest.mark.parametrize("target, events, code", [
    ({"ServiceId": "vpce-svc-0123456789abcdef0"}, ["Connect"], "InvalidVpcEndpointServiceId.NotFound"),
    ({"VpcEndpointId": "vpce-0123456789abcdef0"}, ["Accept"], "InvalidVpcEndpointId.NotFound"),
    ({"ServiceId": "OWN"}, ["Connected"], "InvalidParameterValue"),
    ({}, ["Connect"], "InvalidParameterCombination"),
])
def test_invalid_requests_are_refused(provider, target, events, code):
    ec2 = client_for("ec2", provider)
    topic, _ = topic_with_queue(provider)
    if target.get("ServiceId") == "OWN":
        target = {"ServiceId": create_service(provider)}
    with pytest.raises(botocore.exceptions.ClientError) as err:
        notify(ec2, events, topic, **target)
    assert err.value.response["Error"]["Code"] == code


def test_the_topic_must_exist(provider):
    ec2 = client_for("ec2", provider)
    service = create_service(provider)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        notify(ec2, ["Connect"], f"arn:aws:sns:us-east-1:{provider}:nowhere", ServiceId=service)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        ec2.describe_vpc_endpoint_connection_notifications(ConnectionNotificationId="vpce-nfn-0123456789abcdef0")
    assert err.value.response["Error"]["Code"] == "InvalidConnectionNotification"


def test_the_lifecycle_publishes_to_the_service_topic(provider):
    ec2 = client_for("ec2", provider)
    service = create_service(provider)
    topic, queue = topic_with_queue(provider)
    every = notify(ec2, ["Connect", "Accept", "Reject", "Delete"], topic, ServiceId=service)
    consumer = new_account()
    accepted, rejected = create_endpoint(consumer, service), create_endpoint(consumer, service)
    connects = received(provider, queue)
    assert sorted((m["eventType"], m["endpointId"], m["endpointState"]) for m in connects) == sorted(
        [("Connect", accepted, "pendingAcceptance"), ("Connect", rejected, "pendingAcceptance")])
    assert {(m["serviceId"], m["endpointOwner"], m["connectionNotificationId"]) for m in connects} == {
        (service, consumer, every["ConnectionNotificationId"])}
    ec2.accept_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=[accepted])
    ec2.reject_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=[rejected])
    assert [(m["eventType"], m["endpointId"], m["endpointState"]) for m in received(provider, queue)] == [
        ("Accept", accepted, "available"), ("Reject", rejected, "rejected")]
    client_for("ec2", consumer).delete_vpc_endpoints(VpcEndpointIds=[accepted])
    assert [(m["eventType"], m["endpointId"]) for m in received(provider, queue)] == [("Delete", accepted)]
    # A refused call changes nothing and publishes nothing.
    ec2.accept_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=[rejected])
    assert received(provider, queue) == []


def test_only_the_chosen_events_and_the_right_service_are_published(provider):
    ec2 = client_for("ec2", provider)
    service, other_service = create_service(provider), create_service(provider, acceptance_required=False)
    topic, queue = topic_with_queue(provider)
    notify(ec2, ["Connect"], topic, ServiceId=service)
    endpoint = create_endpoint(new_account(), service)
    create_endpoint(new_account(), other_service)  # no notification for this service
    ec2.accept_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=[endpoint])  # Accept not chosen
    assert [(m["eventType"], m["endpointId"]) for m in received(provider, queue)] == [("Connect", endpoint)]


def test_an_automatically_accepted_endpoint_connects_available(provider):
    ec2 = client_for("ec2", provider)
    service = create_service(provider, acceptance_required=False)
    topic, queue = topic_with_queue(provider)
    notify(ec2, ["Connect", "Accept"], topic, ServiceId=service)
    endpoint = create_endpoint(new_account(), service)
    assert [(m["eventType"], m["endpointId"], m["endpointState"]) for m in received(provider, queue)] == [
        ("Connect", endpoint, "available")]


def test_an_endpoint_notification_tells_the_consumer(provider):
    service = create_service(provider)
    consumer = new_account()
    endpoint = create_endpoint(consumer, service)
    topic, queue = topic_with_queue(consumer)
    consumer_ec2 = client_for("ec2", consumer)
    created = notify(consumer_ec2, ["Accept", "Delete"], topic, VpcEndpointId=endpoint)
    assert created["VpcEndpointId"] == endpoint and "ServiceId" not in created
    client_for("ec2", provider).accept_vpc_endpoint_connections(ServiceId=service, VpcEndpointIds=[endpoint])
    consumer_ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint])
    assert [(m["eventType"], m["serviceId"], m["endpointId"]) for m in received(consumer, queue)] == [
        ("Accept", service, endpoint), ("Delete", service, endpoint)]
    # The provider cannot subscribe to another account's endpoint.
    with pytest.raises(botocore.exceptions.ClientError) as err:
        notify(client_for("ec2", provider), ["Accept"], topic, VpcEndpointId=endpoint)
    assert err.value.response["Error"]["Code"] == "InvalidVpcEndpointId.NotFound"
