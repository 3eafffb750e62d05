"""ec2_front.py answers Accept and Reject as moto's dispatch answers them.

Each request is sent twice: as the SDKs send it (a form body: ec2_front.py answers) and with the
same parameters in the query string (ec2_front.py leaves that to moto's dispatch and the same
handler code behind it). Status, body and headers must be the same, but for the request id and
the date.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import boto3
import requests

from conftest import REGION, URL, client_for, create_endpoint, create_service, new_account

_VARYING = {"date", "x-amzn-requestid", "content-length", "connection", "keep-alive"}


def _access_key(account: str) -> str:
    sts = boto3.client("sts", endpoint_url=URL, region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    return sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/plgov-test",
                           RoleSessionName="plgov-test")["Credentials"]["AccessKeyId"]


def _send(key: str, params: list[tuple[str, str]], in_body: bool, **extra: str) -> requests.Response:
    form = urlencode(params)
    headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20261128/{REGION}/ec2/aws4_request, "
                                "SignedHeaders=host, Signature=0",
               "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **extra}
    if in_body:
        return requests.post(f"{URL}/", data=form, headers=headers, timeout=10)
    return requests.post(f"{URL}/?{form}", data=b"", headers=headers, timeout=10)


def _answer(response: requests.Response) -> tuple[Any, ...]:
    headers = {k.lower(): v for k, v in response.headers.items() if k.lower() not in _VARYING}
    return response.status_code, response.text, headers, bool(response.headers.get("x-amzn-requestid"))


def _both(key: str, action: str, service: str, ids: list[str]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    def params(endpoint_ids: list[str]) -> list[tuple[str, str]]:
        return [("Action", action), ("Version", "2016-11-15"), ("ServiceId", service),
                *((f"VpcEndpointId.{n}", e) for n, e in enumerate(endpoint_ids, 1))]

    return _answer(_send(key, params(ids), True)), _answer(_send(key, params(ids), False))


def _state(consumer: str, endpoint: str) -> str:
    ec2 = client_for("ec2", consumer)
    return ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint])["VpcEndpoints"][0]["State"]


def test_accept_and_reject_answer_as_moto_answers(provider: str) -> None:
    service, other_service = create_service(provider), create_service(provider)
    consumer = new_account()
    pending = [create_endpoint(consumer, service) for _ in range(4)]
    elsewhere = create_endpoint(consumer, other_service)
    key = _access_key(provider)

    # Each way accepts its own pending connection: the same empty list of failures.
    front = _answer(_send(key, [("Action", "AcceptVpcEndpointConnections"), ("Version", "2016-11-15"),
                                ("ServiceId", service), ("VpcEndpointId.1", pending[0])], True))
    moto = _answer(_send(key, [("Action", "AcceptVpcEndpointConnections"), ("Version", "2016-11-15"),
                               ("ServiceId", service), ("VpcEndpointId.1", pending[1])], False))
    assert front == moto
    assert front[0] == 200 and "<unsuccessful/>" in front[1] and front[3]
    assert [_state(consumer, e) for e in pending[:2]] == ["available", "available"]

    # Failures of every kind, none of which changes a state: accepted already, not this
    # service's, unknown.
    front, moto = _both(key, "AcceptVpcEndpointConnections", service,
                        [pending[0], elsewhere, "vpce-0123456789abcdef0"])
    assert front == moto
    assert front[1].count("<item>") == 3 and "InvalidState" in front[1]

    # Whole-request errors.
    for action, service_id, ids in (("RejectVpcEndpointConnections", "vpce-svc-0000000000000000", pending[2:]),
                                     ("AcceptVpcEndpointConnections", service, [])):
        front, moto = _both(key, action, service_id, ids)
        assert front == moto
        assert front[0] == 400 and "<Errors><Error><Code>" in front[1]

    # A reject carried out: the first way rejects; the second finds it rejected already.
    front, moto = _both(key, "RejectVpcEndpointConnections", service, [pending[2]])
    assert front[0] == moto[0] == 200 and "<unsuccessful/>" in front[1] and "InvalidState" in moto[1]
    assert _state(consumer, pending[2]) == "rejected"
    assert _state(consumer, pending[3]) == "pendingAcceptance"

    # moto takes the account from an x-moto-account-id header before the key: left to moto, both
    # ways answer for the provider although the key is nobody's.
    params = [("Action", "RejectVpcEndpointConnections"), ("Version", "2016-11-15"), ("ServiceId", service),
              ("VpcEndpointId.1", "vpce-0123456789abcdef0")]
    by_header = [_answer(_send("AKIAIOSFODNN7EXAMPLE", params, in_body, **{"x-moto-account-id": provider}))
                 for in_body in (True, False)]
    assert by_header[0] == by_header[1] and by_header[0][0] == 200


def test_requests_read_another_way_are_left_to_moto(provider: str) -> None:
    from plgov_emulator import ec2_front

    form = {"CONTENT_TYPE": "application/x-www-form-urlencoded", "REQUEST_METHOD": "POST", "PATH_INFO": "/"}
    plain = b"Action=AcceptVpcEndpointConnections&Version=2016-11-15&ServiceId=s&VpcEndpointId.1=e"
    assert ec2_front._parameters(form, plain) == ("s", ["e"])
    for environ, body in (
            ({**form, "QUERY_STRING": "DryRun=true"}, plain),
            (form, plain + b"&DryRun=true"),
            (form, plain + b"&VpcEndpointId.3=f"),  # a gap in the numbering
            (form, plain + b"&ServiceId=t"),  # a parameter twice
            (form, b"Action=AcceptVpcEndpointConnections&VpcEndpointId.1=e"),  # no ServiceId
            ({**form, "CONTENT_TYPE": "application/json"}, plain)):
        assert ec2_front._parameters(environ, body) is None, (environ, body)
    signed = {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/d/us-east-1/ec2/aws4_request"}
    assert ec2_front._caller(signed)[0] == "AKIAIOSFODNN7EXAMPLE"
    assert ec2_front._caller({**signed, "HTTP_X_MOTO_ACCOUNT_ID": "111122223333"}) is None
    assert ec2_front._caller({}) is None
    assert ec2_front._region({"HTTP_HOST": "ec2.eu-west-1.amazonaws.com", "PATH_INFO": "/"}) is None
    assert ec2_front._region({"HTTP_USER_AGENT": "x region/eu-west-2 y"}) == "eu-west-2"
    assert ec2_front._region({"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=k/d/ap-south-1/ec2/aws4_request"}) \
        == "ap-south-1"
