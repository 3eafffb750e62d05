"""HTTP serving (plgov_emulator/serving.py): keep-alive connections that never desync.

The emulator keeps a client's connection open across requests, as the AWS SDKs expect. Each test
sends requests over ONE connection (http.client, or a raw socket where the bytes matter) and
checks that the server neither closed it nor left bytes of one answer in front of the next:
after chunked bodies, error answers, HEAD, `Expect: 100-continue`, and with many connections at
once. AWS calls work in accounts of the test's own. The last tests run serving.py's handler on a
server of their own, in this process, with WSGI apps that misbehave as moto's could (leave the
body unread, raise).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION, URL, client_for, new_account

_HOST = urllib.parse.urlsplit(URL).hostname
_PORT = urllib.parse.urlsplit(URL).port or 80


def credentials(account: str) -> Credentials:
    sts = boto3.client("sts", endpoint_url=URL, region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/plgov-test",
                        RoleSessionName="plgov-test")["Credentials"]
    return Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def ddb_headers(creds: Credentials, target: str, body: bytes) -> dict[str, str]:
    request = AWSRequest(method="POST", url=URL + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{target}"})
    SigV4Auth(creds, "dynamodb", REGION).add_auth(request)
    return dict(request.headers.items())


def call(conn: http.client.HTTPConnection, method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None, chunked: bool = False) -> tuple[http.client.HTTPResponse, bytes]:
    conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
    response = conn.getresponse()
    return response, response.read()


def assert_kept(conn: http.client.HTTPConnection, response: http.client.HTTPResponse, sock: socket.socket) -> None:
    assert response.version == 11
    assert not response.will_close, response.getheader("Connection")
    assert conn.sock is sock, "the client had to open a new connection"


@pytest.fixture
def conn(emulator_url):
    c = http.client.HTTPConnection(_HOST, _PORT, timeout=20)
    c.connect()
    yield c
    c.close()


@pytest.fixture
def table(emulator_url):
    """A table in an account of the test's own, and that account's credentials."""
    account = new_account()
    client_for("dynamodb", account).create_table(
        TableName="serving", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    return account, credentials(account)


def test_two_requests_share_one_connection(conn):
    sock = conn.sock
    first, body = call(conn, "GET", "/_plgov/health")
    assert first.status == 200 and json.loads(body) == {"ok": True}
    assert_kept(conn, first, sock)
    second, body = call(conn, "GET", "/_plgov/health")
    assert second.status == 200 and json.loads(body) == {"ok": True}
    assert_kept(conn, second, sock)


def test_answer_headers_unchanged(conn):
    """The answer's own headers are moto's, plus Server and Date as werkzeug sent them."""
    response, body = call(conn, "GET", "/_plgov/health")
    assert response.getheader("Content-Length") == str(len(body))
    assert response.getheader("Content-Type") == "application/json"
    assert response.getheader("Server", "").startswith("Werkzeug/")
    assert response.getheader("Date")
    assert response.getheader("Transfer-Encoding") is None


def test_chunked_request_body_then_next_request(conn, table):
    account, creds = table
    sock = conn.sock
    item = {"pk": {"S": "chunked"}, "v": {"S": "x" * 5000}}
    body = json.dumps({"TableName": "serving", "Item": item}).encode()
    headers = ddb_headers(creds, "PutItem", body)
    headers.pop("Content-Length", None)

    def pieces():  # three chunks, as an SDK streaming a body it does not measure first
        for i in range(0, len(body), 2000):
            yield body[i:i + 2000]

    response, answer = call(conn, "POST", "/", pieces(), headers, chunked=True)
    assert response.status == 200, answer
    assert_kept(conn, response, sock)
    get = json.dumps({"TableName": "serving", "Key": {"pk": {"S": "chunked"}}}).encode()
    response, answer = call(conn, "POST", "/", get, ddb_headers(creds, "GetItem", get))
    assert response.status == 200, answer
    assert json.loads(answer)["Item"] == item
    assert_kept(conn, response, sock)


def test_request_after_error_answer_on_same_connection(conn, table):
    account, creds = table
    sock = conn.sock
    missing = json.dumps({"TableName": "no-such-table", "Key": {"pk": {"S": "k"}}}).encode()
    response, answer = call(conn, "POST", "/", missing, ddb_headers(creds, "GetItem", missing))
    assert response.status == 400
    assert "ResourceNotFoundException" in json.loads(answer)["__type"]
    assert_kept(conn, response, sock)
    response, answer = call(conn, "GET", "/_plgov/no-such-control")  # the control endpoint's 404
    assert response.status == 404
    assert_kept(conn, response, sock)
    listing = json.dumps({}).encode()
    response, answer = call(conn, "POST", "/", listing, ddb_headers(creds, "ListTables", listing))
    assert response.status == 200 and json.loads(answer)["TableNames"] == ["serving"]
    assert_kept(conn, response, sock)


def read_response(sock: socket.socket, buffered: bytearray) -> tuple[bytes, dict[str, str], bytes]:
    """One response off a raw socket by its Content-Length; bytes past it stay in `buffered`."""
    while b"\r\n\r\n" not in buffered:
        data = sock.recv(65536)
        assert data, f"the server closed the connection; had {bytes(buffered)!r}"
        buffered += data
    head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    del buffered[:len(head) + 4]
    length = 0 if status.split()[1].startswith("1") else int(headers.get("content-length", 0))
    return status.encode(), headers, bytes(buffered[:length]) if len(buffered) >= length else b""


def test_head_answer_has_no_body_and_next_request_parses(emulator_url):
    """A HEAD answer carries Content-Length but no body: a body there would start the next answer."""
    with socket.create_connection((_HOST, _PORT), timeout=20) as sock:
        sock.sendall(f"HEAD /_plgov/health HTTP/1.1\r\nHost: {_HOST}\r\n\r\n".encode())
        buffered = bytearray()
        status, headers, _ = read_response(sock, buffered)
        assert status.startswith(b"HTTP/1.1 200"), status
        assert "close" not in headers.get("connection", "")
        sock.settimeout(0.3)
        try:
            extra = sock.recv(100)
        except TimeoutError:
            extra = b""
        sock.settimeout(20)
        assert bytes(buffered) + extra == b"", "the HEAD answer had a body"
        sock.sendall(f"GET /_plgov/health HTTP/1.1\r\nHost: {_HOST}\r\n\r\n".encode())
        status, headers, _ = read_response(sock, buffered)
        assert status.startswith(b"HTTP/1.1 200"), status
        while len(buffered) < int(headers["content-length"]):
            buffered += sock.recv(100)
        assert json.loads(bytes(buffered)) == {"ok": True}


def test_expect_100_continue_once_then_next_request(emulator_url):
    body = json.dumps({"account": new_account()}).encode()  # the control endpoint ignores it
    with socket.create_connection((_HOST, _PORT), timeout=20) as sock:
        sock.sendall(f"POST /_plgov/health HTTP/1.1\r\nHost: {_HOST}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode())
        buffered = bytearray()
        status, _, _ = read_response(sock, buffered)
        assert status.startswith(b"HTTP/1.1 100"), status
        sock.sendall(body)
        status, headers, _ = read_response(sock, buffered)
        assert status.startswith(b"HTTP/1.1 200"), status  # not a second 100 Continue
        while len(buffered) < int(headers["content-length"]):
            buffered += sock.recv(100)
        del buffered[:int(headers["content-length"])]
        sock.sendall(f"GET /_plgov/health HTTP/1.1\r\nHost: {_HOST}\r\n\r\n".encode())
        status, _, _ = read_response(sock, buffered)
        assert status.startswith(b"HTTP/1.1 200"), status


def test_concurrent_connections_each_kept(emulator_url):
    """8 connections open at once, each with a request in flight, each serving 5 requests."""
    conns = [http.client.HTTPConnection(_HOST, _PORT, timeout=30) for _ in range(8)]
    for c in conns:
        c.connect()
    socks = [c.sock for c in conns]
    errors: list[str] = []

    def work(c: http.client.HTTPConnection, sock: socket.socket) -> None:
        try:
            for _ in range(5):
                response, body = call(c, "GET", "/_plgov/health")
                if response.status != 200 or json.loads(body) != {"ok": True} or response.will_close \
                        or c.sock is not sock:
                    errors.append(f"{response.status} {body!r} {response.getheader('Connection')}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    try:
        for c in conns:  # all 8 requests sent before any answer is read
            c.putrequest("GET", "/_plgov/health")
            c.endheaders()
        for c in conns:
            response = c.getresponse()
            assert response.status == 200 and json.loads(response.read()) == {"ok": True}
        threads = [threading.Thread(target=work, args=(c, s)) for c, s in zip(conns, socks)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
    finally:
        for c in conns:
            c.close()


# serving.py's handler on a server of the test's own, with apps that misbehave


@pytest.fixture
def local_server():
    from werkzeug.serving import make_server

    from plgov_emulator.serving import KeepAliveRequestHandler

    apps: dict[str, Any] = {}

    def app(environ, start_response):
        return apps[environ["PATH_INFO"]](environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=KeepAliveRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.port, apps
    server.shutdown()
    server.server_close()


def test_unread_body_is_drained_before_next_request(local_server):
    port, apps = local_server
    apps["/ignore"] = lambda environ, start: (start("200 OK", [("Content-Type", "text/plain")]), [b"ignored"])[1]
    apps["/echo"] = lambda environ, start: (start("200 OK", []), [environ["wsgi.input"].read()])[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.connect()
        sock = conn.sock
        response, body = call(conn, "POST", "/ignore", b"GET /echo HTTP/1.1\r\n\r\n" * 100)
        assert (response.status, body) == (200, b"ignored")
        assert response.getheader("Content-Length") == "7"  # added: the app sent none
        assert_kept(conn, response, sock)
        response, body = call(conn, "POST", "/ignore", iter([b"a" * 3000, b"b" * 3000]), chunked=True)
        assert (response.status, body) == (200, b"ignored")
        assert_kept(conn, response, sock)
        response, body = call(conn, "POST", "/echo", b"payload")
        assert (response.status, body) == (200, b"payload")
        assert_kept(conn, response, sock)
        response, body = call(conn, "GET", "/echo")  # no body: an empty stream, never the socket
        assert (response.status, body) == (200, b"")
        assert_kept(conn, response, sock)
    finally:
        conn.close()


def test_app_exception_answers_500_and_closes(local_server):
    port, apps = local_server

    def broken(environ, start):
        raise RuntimeError("boom")

    apps["/broken"] = broken
    apps["/ok"] = lambda environ, start: (start("200 OK", [("Content-Length", "2")]), [b"ok"])[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        response, body = call(conn, "GET", "/broken")
        assert response.status == 500 and b"Internal Server Error" in body
        assert response.will_close
        response, body = call(conn, "GET", "/ok")  # http.client reconnects
        assert (response.status, body) == (200, b"ok")
    finally:
        conn.close()
