"""The provider's Accept and Reject of endpoint connections, answered at the emulator's front.

AcceptVpcEndpointConnections and RejectVpcEndpointConnections are ours (connections.py), not
moto's, and a sweep of 1,000 services sends one of each per service. Through moto's server each
spent ~2 ms around a handler of ~0.3 ms: Flask's request context, werkzeug's form parsing, moto's
per-request response object and its generic serializer.

Here such a request is parsed once and handed to the same code (`connections.change_states`),
and answered as moto answers it: the body ec2_xml.py renders (the bytes moto's serializer
renders), moto's `server` header, `Content-Type: text/xml`, an `x-amzn-requestid`, CORS's
`Access-Control-Allow-Origin`; an Ec2Error as moto renders EC2's errors, with status 400. The
caller's access key, its account and the region are found as moto finds them (the region from the
host, else a `region/` in the User-Agent, else the credential scope), and the key is marked used
for ec2 in that region, as moto marks it.

Only a request moto would read the same way is answered here: a form body (POST to `/`, no query
string) of Action, Version, ServiceId and VpcEndpointId.1 to .n, each once, signed with an access
key, without MOTO_ACCOUNT_ID or an x-moto-account-id header (moto would take the account from
them), with moto's IAM checks off (its default) and connections.py's handlers still the ones moto
runs. Any other, and any other action, goes to moto as before.
tests/test_ec2_front.py sends the same requests both ways and compares the answers.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from moto import settings
from moto.core.responses import BaseResponse
from moto.core.utils import get_service_model
from moto.ec2.models import ec2_backends
from moto.ec2.responses import EC2Response
from moto.iam.models import get_account_id_from, mark_account_as_visited
from moto.utilities.aws_headers import gen_amzn_requestid_long

from . import connections, ec2_xml

_ENDPOINT_ID = re.compile(r"VpcEndpointId\.([1-9][0-9]*)")
_FIXED = frozenset({"Action", "Version", "ServiceId"})


@functools.cache
def _operation_model(action: str) -> Any:
    return get_service_model("ec2").operation_model(action)


def _region(environ: dict[str, Any]) -> str | None:
    """The region moto's BaseResponse.get_region_from_url finds, or None when it would find it
    in the URL (a host of AWS's own: moto's path answers)."""
    url = f"{environ.get('HTTP_HOST', '')}{environ.get('PATH_INFO', '')}"
    if BaseResponse.region_regex.search(url):
        return None
    by_agent = BaseResponse.region_from_useragent_regex.search(environ.get("HTTP_USER_AGENT", ""))
    if by_agent:
        return by_agent.group(1)
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "AWS4" in auth:
        parts = auth.split(",")[0].split("/")
        return parts[2] if len(parts) > 2 else None
    return BaseResponse.default_region


def _parameters(environ: dict[str, Any], body: bytes) -> tuple[str, list[str]] | None:
    """ServiceId and the endpoint ids in order, or None when the request is not plainly that."""
    if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != "/" \
            or environ.get("QUERY_STRING") \
            or not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        return None
    params = dict(pairs)
    numbered: dict[int, str] = {}
    for name, value in params.items():
        match = _ENDPOINT_ID.fullmatch(name)
        if match:
            numbered[int(match.group(1))] = value
        elif name not in _FIXED:
            return None
    if "ServiceId" not in params or sorted(numbered) != list(range(1, len(numbered) + 1)):
        return None
    return params["ServiceId"], [numbered[n] for n in sorted(numbered)]


def _respond(start_response: Callable[..., Any], status: str, body: str,
             extra: list[tuple[str, str]]) -> Iterable[bytes]:
    data = body.encode()
    headers = {"server": "amazon.com", "Content-Type": "text/xml"}
    gen_amzn_requestid_long(headers)
    start_response(status, [*headers.items(), *extra, ("Content-Length", str(len(data))),
                            ("Access-Control-Allow-Origin", "*")])
    return [data]


def _caller(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(access key, account) as moto's BaseResponse finds them, or None when moto would look
    elsewhere first (MOTO_ACCOUNT_ID, an x-moto-account-id header) or find no key."""
    if "MOTO_ACCOUNT_ID" in os.environ or "HTTP_X_MOTO_ACCOUNT_ID" in environ:
        return None
    match = BaseResponse.access_key_regex.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        return None
    access_key = match.group(1)
    return access_key, get_account_id_from(access_key)


def _handlers_are_ours() -> bool:
    """Whether moto would run connections.py's handlers: a later patch of either is not skipped."""
    return EC2Response.accept_vpc_endpoint_connections is connections.accept_vpc_endpoint_connections \
        and EC2Response.reject_vpc_endpoint_connections is connections.reject_vpc_endpoint_connections


def answer(environ: dict[str, Any], body: bytes, action: str,
           start_response: Callable[..., Any]) -> Iterable[bytes] | None:
    """The response to an Accept or Reject request, or None to let moto answer."""
    if action not in connections.STATE_CHANGES or settings.INITIAL_NO_AUTH_ACTION_COUNT != float("inf") \
            or not _handlers_are_ours():
        return None
    region, parsed, caller = _region(environ), _parameters(environ, body), _caller(environ)
    if region is None or parsed is None or caller is None:
        return None
    access_key, account = caller
    mark_account_as_visited(account_id=account, access_key=access_key, service="ec2", region=region)  # as moto does
    operation = _operation_model(action)
    service_id, endpoint_ids = parsed
    backend = ec2_backends[account][region]
    try:
        result = connections.change_states(action, backend, region, service_id, endpoint_ids)
    except connections.Ec2Error as error:
        namespace = operation.metadata["xmlNamespace"]
        xml = (f'<?xml version="1.0" encoding="utf-8"?>\n<Response xmlns="{namespace}"><Errors><Error>'
               f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error></Errors>"
               "<RequestID>request-id</RequestID></Response>")
        return _respond(start_response, "400 BAD REQUEST", xml, [("status", "400")])
    transformers = dict(getattr(EC2Response, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None) or {})
    xml = ec2_xml.render(operation, result, transformers)
    if xml is None:  # ec2_xml.py renders every member of these results: never expected
        raise RuntimeError(f"ec2_xml.py cannot render {action}")
    return _respond(start_response, "200 OK", xml, [])
