"""Work per call at the scale of an approver sweep (1,000 services x 10 connections): the
connection calls must not grow with the number of endpoints (endpoint_index.py, connections.py),
responses must render as moto renders them, only faster (ec2_xml.py, dynamodb_json.py), and
moto's per-request shortcuts (moto_speed.py) must answer as moto does.

Two kinds of test:
- In this process, against moto's own backends (no emulator): every read of an endpoint or an
  endpoint service object is counted while a handler runs, so "touches only what it answers" is
  checked exactly, at 100 endpoints and again after 1,900 more.
- Through the emulator: the same calls timed at 100 and at 2,000 endpoints; the larger fleet may
  cost at most 3 times as much (the fastest of 7 calls each, so a busy machine does not fail it).
  Before endpoint_index.py, a listing cost (services x endpoints) and the ratio was above 10.
"""

from __future__ import annotations

import copy
import datetime as dt
import inspect
import pickle
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import boto3
import botocore.exceptions
import pytest

from conftest import REGION, URL, client_for, new_account

# ---------------------------------------------------------------------------- in this process


@pytest.fixture(scope="module")
def patched_moto() -> Any:
    """moto's EC2 in this process, with the endpoint index and the connection handlers."""
    from plgov_emulator import connections, endpoint_index

    if not getattr(endpoint_index, "installed_by_tests", False):
        endpoint_index.install()
        connections.install()
        endpoint_index.installed_by_tests = True
    return connections


class Request:
    """What connections.py's handlers read of moto's EC2Response."""

    def __init__(self, backend: Any, **params: Any):
        self.ec2_backend, self.region, self.params = backend, REGION, params

    def _get_param(self, name: str, if_none: Any = None) -> Any:
        return self.params.get(name, if_none)

    def _get_int_param(self, name: str, if_none: Any = None) -> Any:
        value = self.params.get(name)
        return if_none if value is None else int(value)


def backend_of(account: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][REGION]


def network(backend: Any) -> tuple[str, str]:
    vpc = backend.create_vpc("10.1.0.0/16")
    subnet = backend.create_subnet(vpc.id, "10.1.1.0/24", availability_zone="us-east-1a")
    return vpc.id, subnet.id


def endpoint_to(backend: Any, where: tuple[str, str], service: Any) -> Any:
    return backend.create_vpc_endpoint(where[0], service.service_name, "Interface", None, [], subnet_ids=[where[1]])


class Touches:
    """Counts the endpoint and endpoint service objects whose attributes are read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        from moto.ec2.models.vpc_service_configuration import VPCServiceConfiguration
        from moto.ec2.models.vpcs import VPCEndPoint

        self.endpoints: set[int] = set()
        self.services: set[int] = set()
        self.on = False
        for cls, seen in ((VPCEndPoint, self.endpoints), (VPCServiceConfiguration, self.services)):
            monkeypatch.setattr(cls, "__getattribute__", self._spy(seen))

    def _spy(self, seen: set[int]) -> Callable[[Any, str], Any]:
        def getattribute(obj: Any, name: str) -> Any:
            if self.on:
                seen.add(id(obj))
            return object.__getattribute__(obj, name)

        return getattribute

    def during(self, call: Callable[[], Any]) -> tuple[Any, set[int], set[int]]:
        self.endpoints.clear()
        self.services.clear()
        self.on = True
        try:
            result = call()
        finally:
            self.on = False
        return result, set(self.endpoints), set(self.services)


def test_connection_handlers_touch_only_what_they_answer(patched_moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    connections = patched_moto
    provider, other_provider = backend_of(new_account()), backend_of(new_account())
    services = [provider.create_vpc_endpoint_service_configuration([], True, None, [], []) for _ in range(20)]
    elsewhere = other_provider.create_vpc_endpoint_service_configuration([], True, None, [], [])
    consumer = backend_of(new_account())
    consumer_net = network(consumer)
    mine = {s.id: [endpoint_to(consumer, consumer_net, s) for _ in range(5)] for s in services}
    crowd: list[Any] = []
    touches = Touches(monkeypatch)

    def sweep(round_: int) -> None:
        own = {id(e) for group in mine.values() for e in group}
        crowd_ids = {id(e) for e in crowd}
        service_ids = {id(s) for s in services}

        result, endpoints, touched_services = touches.during(
            lambda: connections.describe_vpc_endpoint_connections(Request(provider, MaxResults=1000)).result)
        assert {c["VpcEndpointId"] for c in result["VpcEndpointConnections"]} == \
            {e.id for group in mine.values() for e in group}
        assert endpoints <= own and touched_services <= service_ids

        result, endpoints, touched_services = touches.during(
            lambda: connections.describe_vpc_endpoint_connections(Request(provider, Filters=[
                {"Name": "vpc-endpoint-state", "Values": ["failed"]}])).result)
        assert result["VpcEndpointConnections"] == []
        assert endpoints <= own and not endpoints & crowd_ids and touched_services <= service_ids

        service = services[round_]
        named = mine[service.id][:2]
        result, endpoints, touched_services = touches.during(lambda: connections.accept_vpc_endpoint_connections(
            Request(provider, ServiceId=service.id, VpcEndpointIds=[e.id for e in named])).result)
        assert result == {"Unsuccessful": []} and [e.state for e in named] == ["available"] * 2
        assert endpoints == {id(e) for e in named} and touched_services == {id(service)}

        rejected = mine[service.id][2:4]
        result, endpoints, touched_services = touches.during(lambda: connections.reject_vpc_endpoint_connections(
            Request(provider, ServiceId=service.id, VpcEndpointIds=[e.id for e in rejected] + ["vpce-0nothere"])).result)
        assert [u["ResourceId"] for u in result["Unsuccessful"]] == ["vpce-0nothere"]
        assert endpoints == {id(e) for e in rejected} and touched_services == {id(service)}

        created, endpoints, touched_services = touches.during(lambda: endpoint_to(consumer, consumer_net, service))
        assert created.state == "pendingAcceptance"
        assert endpoints == {id(created)} and touched_services == {id(service)}
        mine[service.id].append(created)

    sweep(0)
    crowd_backend = backend_of(new_account())
    crowd_net = network(crowd_backend)
    crowd.extend(endpoint_to(crowd_backend, crowd_net, elsewhere) for _ in range(1900))
    sweep(1)


class Endpoint:
    def __init__(self, service_name: str):
        self.service_name = service_name


def test_the_endpoint_table_keeps_its_groups_in_step(patched_moto: Any) -> None:
    from plgov_emulator.endpoint_index import EndpointTable

    a1, a2, b1 = Endpoint("a"), Endpoint("a"), Endpoint("b")
    table = EndpointTable({"a1": a1})
    table["a2"] = a2
    table.update({"b1": b1})
    assert {k: set(v) for k, v in table.by_service.items()} == {"a": {"a1", "a2"}, "b": {"b1"}}
    table["a2"] = Endpoint("b")
    assert set(table.by_service["a"]) == {"a1"} and set(table.by_service["b"]) == {"a2", "b1"}
    assert table.pop("a1") is a1 and "a" not in table.by_service
    del table["b1"]
    assert table.setdefault("c1", Endpoint("c")) is table["c1"]
    for clone in (copy.copy(table), copy.deepcopy(table), pickle.loads(pickle.dumps(table))):
        assert type(clone) is EndpointTable
        assert {k: set(v) for k, v in clone.by_service.items()} == {"b": {"a2"}, "c": {"c1"}}
    table.clear()
    assert table.by_service == {} and table == {}


# ---------------------------------------------------------------------------- renderers

def connection_row(i: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ServiceId": "vpce-svc-0123456789abcdef0", "VpcEndpointId": f"vpce-{i:017x}",
        "VpcEndpointOwner": "123456789012", "VpcEndpointState": "pendingAcceptance",
        "VpcEndpointConnectionId": f"vpce-con-{i:017x}", "VpcEndpointRegion": REGION,
        "CreationTimestamp": dt.datetime(2026, 1, 2, 3, 4, 5, 678901 if i % 2 else 0),
        "DnsEntries": [{"DnsName": f"vpce-{i}.a&b<c>\"'", "HostedZoneId": "Z1"}, {"DnsName": None}, {}] if i % 3 else [],
        "IpAddressType": "ipv4", "Tags": [{"Key": "k", "Value": ""}] if i % 5 == 0 else [],
        "NetworkLoadBalancerArns": ["arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/n/1", ""],
    }
    if i % 7 == 0:
        row["GatewayLoadBalancerArns"] = []
    return row


def test_ec2_xml_renders_what_moto_renders() -> None:
    from moto.core.responses import ActionContext, ActionResult
    from moto.core.serialize import EC2Serializer
    from moto.core.utils import get_service_model
    from moto.ec2.responses import EC2Response

    from plgov_emulator.ec2_xml import FastResult

    class Transforming(EC2Response):
        RESPONSE_KEY_PATH_TO_TRANSFORMER = {"VpcEndpointConnection.VpcEndpointRegion": lambda _: None,
                                            "VpcEndpointConnection.IpAddressType": lambda _: "dualstack"}

    model = get_service_model("ec2")
    results = {
        "DescribeVpcEndpointConnections": [
            {"VpcEndpointConnections": [connection_row(i) for i in range(60)], "NextToken": "dnBjZS0w"},
            {"VpcEndpointConnections": []}, {}],
        "AcceptVpcEndpointConnections": [
            {"Unsuccessful": [{"ResourceId": "vpce-1", "Error": {"Code": "InvalidState", "Message": "a <b> & c"}}]},
            {"Unsuccessful": []}],
    }
    for operation, cases in results.items():
        for response in (EC2Response(), Transforming()):
            context = ActionContext(model, model.operation_model(operation), EC2Serializer, response)
            for result in cases:
                expected = ActionResult(copy.deepcopy(result)).execute_result(context)
                assert FastResult(copy.deepcopy(result)).execute_result(context) == expected


def attribute_values(i: int) -> dict[str, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    return {"pk": DynamoType({"S": f"vpce-svc-{i}#vpce-{i}"}), "n": DynamoType({"N": "12.50"}),
            "b": DynamoType({"B": "aGVsbG8="}), "ss": DynamoType({"SS": ["a", "b\u00e9"]}),
            "ns": DynamoType({"NS": ["1", "2"]}), "bs": DynamoType({"BS": ["aGk="]}),
            "m": DynamoType({"M": {"x": {"S": "y"}, "l": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}]}}}),
            "null": DynamoType({"NULL": True}), "bool": DynamoType({"BOOL": True}), "empty": DynamoType({"S": ""}),
            "quoted": DynamoType({"S": 'a "q" \\ \n <&> \u2603'})}


def test_dynamodb_scan_and_query_render_what_moto_renders() -> None:
    from moto.core.responses import ActionContext
    from moto.core.serialize import JSONSerializer
    from moto.core.utils import get_service_model
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    from plgov_emulator import dynamodb_json

    assert DynamoResult.execute_result.__module__.startswith("moto."), "compare with moto's own renderer"
    model = get_service_model("dynamodb")
    items = [attribute_values(i) for i in range(40)]
    results = {
        "Scan": [{"Count": 40, "ScannedCount": 40, "Items": items, "LastEvaluatedKey": {"pk": {"S": "x"}},
                  "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}},
                 {"Count": 0, "ScannedCount": 7}, {"Count": 0, "ScannedCount": 0, "Items": []}],
        "Query": [{"Count": 2, "ScannedCount": 2, "Items": items[:2]}],
    }
    for operation, cases in results.items():
        context = ActionContext(model, model.operation_model(operation), JSONSerializer, DynamoHandler())
        for result in cases:
            expected = DynamoResult(copy.deepcopy(result)).execute_result(context)
            assert dynamodb_json.execute_fast(DynamoResult(copy.deepcopy(result)), context) == expected
    other = ActionContext(model, model.operation_model("GetItem"), JSONSerializer, DynamoHandler())
    assert dynamodb_json.execute_fast(DynamoResult({"Item": items[0]}), other) is None


# ---------------------------------------------------------------------------- moto_speed.py

def test_dynamodb_item_requests_decode_as_motos_parser_decodes_them() -> None:
    import json

    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.utils import get_service_model

    from plgov_emulator.moto_speed import item_operation_params

    def by_moto(action: str, body: bytes) -> Any:
        operation = get_service_model("dynamodb").operation_model(action)
        return PROTOCOL_PARSERS["json"](operation, map_type=dict).parse(
            {"method": "POST", "values": {}, "headers": {}, "body": body, "url_path": "/", "url_params": {}})

    item = {"pk": {"S": "123456789012#vpce-svc-0a"}, "n": {"N": "1.50"}, "ok": {"BOOL": True},
            "none": {"NULL": True}, "tags": {"SS": ["a", "b"]}, "counts": {"NS": ["1", "2"]},
            "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "2"}, {"M": {}}]}}}}
    same = [
        ("TransactWriteItems", {"TransactItems": [
            {"Put": {"TableName": "t", "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Update": {"TableName": "t", "Key": {"pk": {"S": "b"}}, "UpdateExpression": "SET #a = :v",
                        "ExpressionAttributeNames": {"#a": "a"}, "ExpressionAttributeValues": {":v": {"N": "3"}}}}],
            "ReturnConsumedCapacity": "NONE"}),
        ("Query", {"TableName": "t", "IndexName": "by-pool", "KeyConditionExpression": "pk = :p", "Limit": 25,
                   "ConsistentRead": False, "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"S": "b"}},
                   "ExpressionAttributeValues": {":p": {"S": "a"}}}),
        ("Scan", {"TableName": "t", "ConsistentRead": True}),
        ("PutItem", {"TableName": "t", "Item": item, "ReturnValues": "NONE"}),
        ("BatchWriteItem", {"RequestItems": {"t": [{"PutRequest": {"Item": item}},
                                                   {"DeleteRequest": {"Key": {"pk": {"S": "a"}}}}]}}),
    ]
    for action, params in same:
        body = json.dumps(params).encode()
        assert item_operation_params(action, body) == by_moto(action, body), action
    # What only moto's parser can tell: binary values, null members, other operations.
    for action, params in [("PutItem", {"TableName": "t", "Item": {"pk": {"S": "a"}, "b": {"B": "AAEC"}}}),
                           ("PutItem", {"TableName": "t", "Item": {"pk": {"S": "a"}}, "ReturnValues": None}),
                           ("CreateTable", {"TableName": "t"})]:
        assert item_operation_params(action, json.dumps(params).encode()) is None, params


def test_method_lookup_answers_as_inspect_getmembers() -> None:
    from moto.dynamodb.responses import DynamoHandler
    from moto.ec2.responses import EC2Response

    from plgov_emulator.moto_speed import method_names_from_class

    for cls in (EC2Response, DynamoHandler):
        slow = [name for name, _ in inspect.getmembers(cls, predicate=inspect.isfunction)]
        fast = method_names_from_class(cls)
        for name in dir(cls) + ["describe_vpc_endpoint_connections_x", "", "Describe_Vpcs", "__class__"]:
            assert (name in fast) == (name in slow), name
        assert sorted(fast) == sorted(slow)


def test_a_deleted_access_key_no_longer_names_its_account(provider: str) -> None:
    iam = client_for("iam", provider)
    iam.create_user(UserName="scale-test")
    key = iam.create_access_key(UserName="scale-test")["AccessKey"]
    sts = boto3.client("sts", endpoint_url=URL, region_name=REGION, aws_access_key_id=key["AccessKeyId"],
                       aws_secret_access_key=key["SecretAccessKey"])
    assert sts.get_caller_identity()["Account"] == provider
    assert sts.get_caller_identity()["Account"] == provider  # answered again, from what was found
    iam.delete_access_key(UserName="scale-test", AccessKeyId=key["AccessKeyId"])
    assert sts.get_caller_identity()["Account"] == "123456789012"  # moto's account for unknown keys


def test_query_protocol_request_ids_are_still_filled_in(provider: str) -> None:
    response = client_for("sts").get_caller_identity()
    metadata = response["ResponseMetadata"]
    assert metadata["RequestId"] == metadata["HTTPHeaders"]["x-amzn-requestid"] != "request-id"


def test_a_repeated_condition_is_evaluated_with_its_own_values(provider: str) -> None:
    ddb = client_for("dynamodb", provider, retries=False)
    ddb.create_table(TableName="decisions", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    ddb.put_item(TableName="decisions", Item={"pk": {"S": "a"}, "v": {"S": "one"}})

    def update_if(expected: str) -> dict[str, Any]:
        return {"Put": {"TableName": "decisions", "Item": {"pk": {"S": "a"}, "v": {"S": f"after-{expected}"}},
                        "ConditionExpression": "#v = :want", "ExpressionAttributeNames": {"#v": "v"},
                        "ExpressionAttributeValues": {":want": {"S": expected}}}}

    with pytest.raises(botocore.exceptions.ClientError) as err:
        ddb.transact_write_items(TransactItems=[update_if("two")])
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    ddb.transact_write_items(TransactItems=[update_if("one")])
    with pytest.raises(botocore.exceptions.ClientError):
        ddb.transact_write_items(TransactItems=[update_if("one")])  # same text and values: now false
    assert ddb.get_item(TableName="decisions", Key={"pk": {"S": "a"}})["Item"]["v"] == {"S": "after-one"}
    for _ in range(2):  # an expression that does not parse fails every time
        with pytest.raises(botocore.exceptions.ClientError) as err:
            ddb.transact_write_items(TransactItems=[{"Put": {
                "TableName": "decisions", "Item": {"pk": {"S": "b"}},
                "ConditionExpression": "attribute_not_exists(status)"}}])
        assert err.value.response["Error"]["Code"] == "ValidationException"
        assert "reserved keyword: status" in err.value.response["Error"]["Message"]


# ---------------------------------------------------------------------------- through the emulator

SAMPLES = 7
RATIO = 3.0


def relative_cost(call: Callable[[int], Any], reference: Callable[[], Any]) -> float:
    """The fastest of SAMPLES calls over the fastest of SAMPLES reference calls made between
    them: a machine busy for a while slows both, and the HTTP and client costs cancel out."""
    times, references = [], []
    for i in range(SAMPLES):
        start = time.perf_counter()
        reference()
        references.append(time.perf_counter() - start)
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return min(times) / min(references)


def services_of(account: str, count: int) -> list[str]:
    """`count` endpoint services (acceptance required), each behind an NLB of its own."""
    ec2, elb = client_for("ec2", account), client_for("elbv2", account)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")
    services = []
    for i in range(count):
        nlb = elb.create_load_balancer(Name=f"scale-{i}", Type="network", Subnets=[subnet["Subnet"]["SubnetId"]])
        services.append(ec2.create_vpc_endpoint_service_configuration(
            NetworkLoadBalancerArns=[nlb["LoadBalancers"][0]["LoadBalancerArn"]],
            AcceptanceRequired=True)["ServiceConfiguration"]["ServiceId"])
    return services


def endpoints_in(client: Any, service_ids: list[str]) -> list[str]:
    """An endpoint to each service in `service_ids`, from one new VPC of the client's account."""
    vpc = client.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = client.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24", AvailabilityZone="us-east-1a")
    return [client.create_vpc_endpoint(
        VpcId=vpc, VpcEndpointType="Interface", SubnetIds=[subnet["Subnet"]["SubnetId"]],
        ServiceName=f"com.amazonaws.vpce.{REGION}.{s}")["VpcEndpoint"]["VpcEndpointId"] for s in service_ids]


def test_items_are_sized_once_and_the_400_kb_limit_still_holds(provider: str) -> None:
    ddb = client_for("dynamodb", provider, retries=False)
    ddb.create_table(TableName="sized", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    # 40 attributes of 10,000 bytes: 400,000 and the names, under the limit moto draws (405,000).
    under = {"pk": {"S": "under"}, **{f"a{i:02d}": {"S": "x" * 10_000} for i in range(40)}}
    ddb.put_item(TableName="sized", Item=under)
    assert ddb.get_item(TableName="sized", Key={"pk": {"S": "under"}})["Item"] == under
    # One more such attribute: over it, whether put alone or in a transaction.
    over = {**under, "pk": {"S": "over"}, "a40": {"S": "x" * 10_000}}
    with pytest.raises(botocore.exceptions.ClientError) as err:
        ddb.put_item(TableName="sized", Item=over)
    assert "Item size has exceeded the maximum allowed size" in err.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "sized", "Item": over}}])
    assert "Item" not in ddb.get_item(TableName="sized", Key={"pk": {"S": "over"}})


def test_item_values_are_motos_dynamo_types_and_sizes() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    from plgov_emulator.moto_speed import item_values

    attrs = {"s": {"S": "t\u00e9xt \U0001F600"}, "empty": {"S": ""}, "n": {"N": "-12.50"}, "e": {"N": "1E+3"},
             "yes": {"BOOL": True}, "no": {"BOOL": False}, "nothing": {"NULL": True},
             "list": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"k": {"S": "v"}}}]}, "map": {"M": {"n": {"N": "3"}}},
             "strings": {"SS": ["a", "bb"]}, "numbers": {"NS": ["1", "2.5"]}, "bytes": {"B": b"\x00\x01"},
             "\u00fcber": {"S": "x"}, "two": {"S": "a", "N": "1"}}
    values, size = item_values(attrs)
    for name, value in attrs.items():
        expected = DynamoType(value)
        assert type(values[name]) is DynamoType, name
        assert vars(values[name]) == vars(expected), name  # every attribute moto's constructor sets
        assert values[name].to_json() == expected.to_json(), name
    assert size == sum(bytesize(name) + DynamoType(value).size() for name, value in attrs.items())


def test_cast_values_are_motos(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    from plgov_emulator import moto_speed

    motos = DynamoType.cast_value.fget
    monkeypatch.setattr(DynamoType, "cast_value", DynamoType.cast_value)  # put back after the test
    moto_speed._install_cast_value()
    assert DynamoType.cast_value.fget is not motos
    for value in ({"S": "text"}, {"S": ""}, {"S": "1"}, {"N": "1.50"}, {"N": "-0"}, {"B": b"\x00"}, {"B": "AA=="},
                  {"BOOL": True}, {"BOOL": False}, {"NULL": True}, {"SS": ["a", "b"]}, {"NS": ["1", "2"]},
                  {"BS": [b"a"]}, {"L": [{"S": "a"}, {"N": "2"}]}, {"M": {"k": {"N": "3"}}}):
        made = DynamoType(value)
        assert made.cast_value == motos(made), value  # and so the same hash and order


def test_connection_calls_cost_the_same_at_100_and_2000_endpoints(provider: str) -> None:
    ec2 = client_for("ec2", provider)
    services = services_of(provider, 100)
    consumer_ec2 = client_for("ec2", new_account())
    endpoint_of = dict(zip(services, endpoints_in(consumer_ec2, services)))  # 100 connections, one a service
    vpc = consumer_ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnet = consumer_ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.1.0/24",
                                        AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]

    def reference() -> None:  # the same HTTP, client and EC2 handler costs, none of the fleet
        ec2.describe_vpc_endpoint_service_configurations(ServiceIds=services[:1])

    def costs(first: int) -> dict[str, float]:
        no_match = [{"Name": "vpc-endpoint-state", "Values": ["failed"]}]
        waiting = [{"Name": "vpc-endpoint-state", "Values": ["pendingAcceptance"]}]
        accepted, rejected = services[first:first + SAMPLES], services[first + SAMPLES:first + 2 * SAMPLES]
        return {
            "DescribeVpcEndpointConnections (no match)": relative_cost(
                lambda i: ec2.describe_vpc_endpoint_connections(Filters=no_match), reference),
            "DescribeVpcEndpointConnections (page of 50)": relative_cost(
                lambda i: ec2.describe_vpc_endpoint_connections(Filters=waiting, MaxResults=50), reference),
            "AcceptVpcEndpointConnections": relative_cost(lambda i: ec2.accept_vpc_endpoint_connections(
                ServiceId=accepted[i], VpcEndpointIds=[endpoint_of[accepted[i]]]), reference),
            "RejectVpcEndpointConnections": relative_cost(lambda i: ec2.reject_vpc_endpoint_connections(
                ServiceId=rejected[i], VpcEndpointIds=[endpoint_of[rejected[i]]]), reference),
            "CreateVpcEndpoint": relative_cost(lambda i: consumer_ec2.create_vpc_endpoint(
                VpcId=vpc, VpcEndpointType="Interface", SubnetIds=[subnet],
                ServiceName=f"com.amazonaws.vpce.{REGION}.{accepted[i]}"), reference),
        }

    small = costs(0)
    crowd = [new_account() for _ in range(4)]  # 1,900 more connections to the same services, 4 accounts at once
    with ThreadPoolExecutor(len(crowd)) as pool:
        ids = pool.map(lambda account: endpoints_in(client_for("ec2", account), (services * 5)[:475]), crowd)
        assert sum(len(i) for i in ids) == 1900
    large = costs(2 * SAMPLES)
    slower = {call: round(large[call] / small[call], 2) for call in small if large[call] > RATIO * small[call]}
    assert not slower, f"calls slower at 2,000 endpoints than at 100 (ratio): {slower}; small={small} large={large}"


def test_table_order_is_moto_order() -> None:
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.table import Table

    from plgov_emulator.moto_speed import table_order

    assert Table.all_items.__module__.startswith("moto."), "compare with moto's own order"
    backend = dynamodb_backends[new_account()][REGION]
    for key_type, values in (("N", ["10", "9", "1", "-2.5", "1E+1", "0.10", "3"]),
                             ("S", ["b", "a", "B", "", "\u00e9", "a#1", "a#10", "a#9"]),
                             ("B", ["YQ==", "Yg==", "QQ==", "YWE="])):
        for with_range in (False, True):
            name = f"order-{key_type}-{with_range}"
            schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
            attributes = [{"AttributeName": "pk", "AttributeType": key_type}]
            if with_range:
                schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
                attributes.append({"AttributeName": "sk", "AttributeType": key_type})
            backend.create_table(name, schema=schema, throughput=None, attr=attributes, global_indexes=None,
                                 indexes=None, streams=None, billing_mode="PAY_PER_REQUEST", sse_specification=None,
                                 tags=[], deletion_protection_enabled=None, warm_throughput=None)
            for pk in values:
                for sk in (values[::2] if with_range else [None]):
                    item = {"pk": {key_type: pk}}
                    if sk is not None:
                        item["sk"] = {key_type: sk}
                    backend.put_item(name, item)
            table = backend.get_table(name)
            assert table_order(table) == Table.all_items(table)
