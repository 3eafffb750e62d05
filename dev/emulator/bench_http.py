"""Per-request cost of a running emulator, as a keep-alive SDK client sees it.

    python bench_http.py [--url http://127.0.0.1:4566] [--calls 400] [--threads 8]

Starts nothing: it talks to the emulator at --url (default $PLGOV_EMULATOR_URL, else
http://127.0.0.1:4566). For each operation it sends --calls identical, SigV4-signed requests
(signed once by botocore; the emulator does not check signatures) with http.client, as the AWS
SDKs do: HTTP/1.1, each client on one connection that it reuses while the server keeps it open.

- health: GET /_plgov/health, answered by the emulator's control endpoint without moto: what is
  left of its time is the HTTP layer (accept, parse, respond, log, close).
- ddb-get: DynamoDB GetItem of one item of a small table (created once in --account).
- ec2-conns: EC2 DescribeVpcEndpointConnections in --account (an empty answer).

Each is run by one client, then by --threads clients at once (each with its own connection,
like a pool of hyper connections with up to 8 requests in flight). Per operation it prints the
per-call median and p90 in ms, the calls per second, and `conns`: how many TCP connections the
clients had to open (1 per client when the server keeps connections alive; one per call when it
answers `Connection: close`), the warm-up call included.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import threading
import time
import urllib.parse
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"
TABLE = "plgov-bench-http"


class Request:
    """One signed request, sent as-is any number of times."""

    def __init__(self, method: str, path: str, body: bytes, headers: dict[str, str]):
        self.method, self.path, self.body, self.headers = method, path, body, headers


def signed(url: str, creds: Credentials, service: str, headers: dict[str, str], body: bytes) -> Request:
    aws = AWSRequest(method="POST", url=url + "/", data=body, headers=headers)
    SigV4Auth(creds, service, REGION).add_auth(aws)
    return Request("POST", "/", body, {k: v for k, v in aws.headers.items()})


def account_credentials(url: str, account: str) -> Credentials:
    sts = boto3.client("sts", endpoint_url=url, region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/plgov-bench",
                        RoleSessionName="plgov-bench")["Credentials"]
    return Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def prepare(url: str, account: str) -> dict[str, Request]:
    creds = account_credentials(url, account)
    ddb = boto3.client("dynamodb", endpoint_url=url, region_name=REGION, aws_access_key_id=creds.access_key,
                       aws_secret_access_key=creds.secret_key, aws_session_token=creds.token)
    if TABLE not in ddb.list_tables()["TableNames"]:
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "k"}, "v": {"S": "x" * 200}})
    get = json.dumps({"TableName": TABLE, "Key": {"pk": {"S": "k"}}}).encode()
    conns = urllib.parse.urlencode({"Action": "DescribeVpcEndpointConnections", "Version": "2016-11-15"}).encode()
    return {
        "health": Request("GET", "/_plgov/health", b"", {}),
        "ddb-get": signed(url, creds, "dynamodb", {"Content-Type": "application/x-amz-json-1.0",
                                                   "X-Amz-Target": "DynamoDB_20120810.GetItem"}, get),
        "ec2-conns": signed(url, creds, "ec2", {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
                            conns),
    }


class Client:
    """One HTTP/1.1 connection, reopened only when the server closed it."""

    def __init__(self, host: str, port: int):
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.opened = 0

    def call(self, req: Request) -> float:
        start = time.perf_counter()
        if self.conn.sock is None:
            self.conn.connect()
            self.opened += 1
        self.conn.request(req.method, req.path, body=req.body or None, headers=req.headers)
        resp = self.conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{req.method} {req.path}: HTTP {resp.status}")
        if resp.will_close:  # `Connection: close`: the next call needs a new TCP connection
            self.conn.close()
        return time.perf_counter() - start


def run(host: str, port: int, req: Request, calls: int, threads: int) -> dict[str, Any]:
    per_thread = max(1, calls // threads)
    times: list[float] = []
    opened = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work() -> None:
        client = Client(host, port)
        client.call(req)  # warm-up: not counted
        mine = []
        barrier.wait()
        for _ in range(per_thread):
            mine.append(client.call(req))
        with lock:
            times.extend(mine)
            opened[0] += client.opened
        client.conn.close()

    start = time.perf_counter()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - start
    times.sort()
    return {"calls": len(times), "median_ms": statistics.median(times) * 1000,
            "p90_ms": times[int(len(times) * 0.9)] * 1000, "per_s": len(times) / wall, "conns": opened[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("PLGOV_EMULATOR_URL", "http://127.0.0.1:4566"))
    parser.add_argument("--calls", type=int, default=400, help="calls per operation and client count")
    parser.add_argument("--threads", type=int, default=8, help="concurrent clients in the second run")
    parser.add_argument("--account", default="999000000042", help="account the requests work in")
    parser.add_argument("--ops", default="health,ddb-get,ec2-conns")
    args = parser.parse_args()
    parsed = urllib.parse.urlsplit(args.url)
    requests = prepare(args.url, args.account)
    probe = http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=10)
    probe.request("GET", "/_plgov/health")
    resp = probe.getresponse()
    resp.read()
    print(f"{args.url}: HTTP/{resp.version / 10:.1f}, Connection: {resp.getheader('Connection', '(none)')}, "
          f"server {resp.getheader('Server', '?')}")
    probe.close()
    print(f"{'operation':<10} {'clients':>7} {'calls':>6} {'median ms':>10} {'p90 ms':>8} {'calls/s':>8} {'conns':>6}")
    for op in args.ops.split(","):
        for threads in (1, args.threads):
            r = run(parsed.hostname, parsed.port or 80, requests[op], args.calls, threads)
            print(f"{op:<10} {threads:>7} {r['calls']:>6} {r['median_ms']:>10.2f} {r['p90_ms']:>8.2f} "
                  f"{r['per_s']:>8.0f} {r['conns']:>6}")


if __name__ == "__main__":
    main()
