"""`make demo`: PrivateLink Governor end to end against the local AWS emulator.

Deploys the stack, publishes an endpoint service, lets three consumer accounts ask to connect,
writes allowlist rules, runs the connection approver (an SNS connection notification, then a
sweep; a second service whose policy leaves what no rule matches pending and revokes, with one
accept refused by EC2; an event it cannot read, which goes to the dead-letter queue) and the cost
reporter for an hour of traffic (and a Resource endpoint it has no price for), and prints what
happened and why; then draws the stack's dashboard from that data as a local page. Each run works
in a fresh provider account, so runs never see each other's resources. PLGOV_PREBUILT=DIR takes
the functions and `plgov` prebuilt from DIR instead of building them with cargo.

`run_scenario()` is the whole scenario but the page: tests run it and check that every widget of
the deployed dashboard shows its data (dev/emulator/tests/test_demo_dashboard.py).
A failure is told in a sentence or two (dev/errors.py); -v (or PLGOV_DEBUG=1) adds the detail,
in the demo and in every step it runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3

import errors
from dashboard_page import DEFAULT_OUT, write_page

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
REGION = os.environ.get("AWS_REGION", "us-east-1")
STACK = os.environ.get("STACK_NAME", "plgov")
GIB = 1024 ** 3
CONSUMERS = {"111122223333": "allowed", "444455556666": "denied", "777788889999": "unmatched",
             "121212121212": "held"}


def say(text: str = "") -> None:
    print(text, flush=True)


def step(text: str) -> None:
    say(f"\n==> {text}")


def credentials(account: str) -> dict[str, str]:
    creds = boto3.client("sts", endpoint_url=URL, region_name=REGION, aws_access_key_id="testing",
                         aws_secret_access_key="testing").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/plgov-demo", RoleSessionName="demo")["Credentials"]
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"]}


def client(service: str, account: str):
    c = credentials(account)
    return boto3.client(service, endpoint_url=URL, region_name=REGION, aws_access_key_id=c["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=c["AWS_SECRET_ACCESS_KEY"], aws_session_token=c["AWS_SESSION_TOKEN"])


def run(args: list[str], env: dict[str, str], stdin: str | None = None, expect_failure: bool = False) -> str:
    """A step's standard output; with `expect_failure`, the step must fail and its stderr is returned."""
    result = subprocess.run(args, cwd=ROOT, env=env, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    if expect_failure:
        if result.returncode == 0:
            shown = " ".join(str(a).replace(f"{ROOT}/", "") for a in args)
            raise errors.Problem(f"The demo step `{shown}` was to fail, and succeeded: {result.stdout[-500:]}")
        return result.stderr
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-6000:])
        shown = " ".join(str(a).replace(f"{ROOT}/", "") for a in args)
        raise errors.Problem(f"The demo step `{shown}` failed (exit code {result.returncode}); "
                             "its message is just above.")
    return result.stdout


def plgov(env: dict[str, str], stack: str, *args: str) -> str:
    """The operator command line, as a user runs it, against the demo's stack."""
    return run([str(plgov_binary()), "--stack", stack, *args], env)


def plgov_binary() -> Path:
    """The `plgov` binary: prebuilt in $PLGOV_PREBUILT (as dev/local_deploy.py and dev/invoke take the
    functions' binaries from there), or built now with cargo."""
    if os.environ.get("PLGOV_PREBUILT"):
        binary = Path(os.environ["PLGOV_PREBUILT"]) / "plgov"
        if not binary.is_file():
            raise errors.usage(f"No prebuilt plgov binary at {binary}. Build it (`cargo build -p plgov`), "
                               "or leave out PLGOV_PREBUILT to build it now.")
        return binary
    subprocess.run(["cargo", "build", "--quiet", "-p", "plgov"], cwd=ROOT, check=True)
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return Path(json.loads(meta.stdout)["target_directory"]) / "debug" / "plgov"


def create_vpc_with_subnets(ec2, azs: int) -> tuple[str, list[str]]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{'abc'[i]}")
               ["Subnet"]["SubnetId"] for i in range(azs)]
    return vpc, subnets


def endpoint_service(provider: str, acceptance: bool) -> str:
    ec2, elb = client("ec2", provider), client("elbv2", provider)
    _, subnets = create_vpc_with_subnets(ec2, 1)
    nlb = elb.create_load_balancer(Name=f"api-{random.randint(0, 10**6)}", Type="network", Subnets=subnets)
    config = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[nlb["LoadBalancers"][0]["LoadBalancerArn"]], AcceptanceRequired=acceptance)
    return config["ServiceConfiguration"]["ServiceId"]


def interface_endpoint(account: str, service_name: str, azs: int, kind: str = "Interface") -> str:
    ec2 = client("ec2", account)
    vpc, subnets = create_vpc_with_subnets(ec2, azs)
    return ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType=kind, SubnetIds=subnets,
                                   ServiceName=service_name)["VpcEndpoint"]["VpcEndpointId"]


def resource_endpoint(account: str, azs: int) -> str:
    """A resource endpoint (VpcEndpointType Resource): it reaches a VPC Lattice resource configuration,
    has no ServiceName, and no rate the cost reporter knows."""
    ec2 = client("ec2", account)
    vpc, subnets = create_vpc_with_subnets(ec2, azs)
    config = f"arn:aws:vpc-lattice:{REGION}:{account}:resourceconfiguration/rcfg-{random.getrandbits(68):017x}"
    return ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Resource", SubnetIds=subnets,
                                   ResourceConfigurationArn=config)["VpcEndpoint"]["VpcEndpointId"]


def requests_post(url: str, body: dict) -> None:
    import urllib.request
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def control(method: str, path: str) -> None:
    """A call to the emulator's control endpoints (/_plgov/...), e.g. DELETE faults?account=ID."""
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(f"{URL}/_plgov/{path}", method=method), timeout=10).read()


def logs_insights(account: str, query: str, start: int, end: int) -> list[str]:
    """Runs a dashboard log widget's query (`SOURCE 'group' | ...`) as CloudWatch would."""
    source, _, body = query.partition("|")
    group = source.strip().removeprefix("SOURCE").strip().strip("'")
    logs = client("logs", account)
    query_id = logs.start_query(logGroupName=group, startTime=start, endTime=end, queryString=body.strip())["queryId"]
    for _ in range(50):
        result = logs.get_query_results(queryId=query_id)
        if result["status"] == "Complete":
            break
        time.sleep(0.2)
    rows = [{f["field"]: f["value"] for f in row if not f["field"].startswith("@")} for row in result["results"]]
    if not rows:
        return ["(no rows)"]
    columns = list(rows[0])
    widths = [max(len(c), *(len(r.get(c, "")) for r in rows)) for c in columns]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(r.get(c, "").ljust(w) for c, w in zip(columns, widths)) for r in rows]
    return lines


def table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    say("  " + line(header))
    say("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        say("  " + line(r))


@dataclass
class Scenario:
    """What the demo's scenario left behind, for the dashboard step and for tests: the account and
    stack it deployed, the stack's outputs and the time range its data falls in."""

    provider: str
    stack: str
    outputs: dict[str, str]
    start: dt.datetime
    end: dt.datetime

    @property
    def dashboard(self) -> str:
        return self.outputs["DashboardName"]

    def client(self, service: str, region: str | None = None):
        return client(service, self.provider)


def sweep(env: dict[str, str], stack: str) -> dict:
    """The approver's scheduled sweep, run once; its summary, as a line of what it did."""
    schedule = (ROOT / "functions/connection-approver/fixtures/schedule.json").read_text()
    result = json.loads(run(["dev/invoke", "connection-approver", "-", "--stack", stack], env, stdin=schedule))
    say(f"    sweep: accepted {len(result['accepted'])}, rejected {len(result['rejected'])}, left pending "
        f"{len(result['leftPending'])}, revoked {len(result['revoked'])}, held {len(result['held'])}, "
        f"errors {len(result['errors'])}")
    for e in result["errors"]:
        say(f"      error: {e.get('endpointId') or e.get('serviceId') or ''} "
            f"{e['message'].split(': service error')[0][:150]}")
    return result


def run_scenario(stack: str = STACK) -> Scenario:
    """The whole job in a fresh provider account, told as it goes; everything but the dashboard page."""
    provider = str(random.randint(200000000000, 999999999999))
    env = {**os.environ, "AWS_ENDPOINT_URL": URL, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
           **credentials(provider), **({"PLGOV_DEBUG": "1"} if errors.verbose() else {})}

    step(f"Deploying template.yaml as stack '{stack}' into the local emulator (provider account {provider})")
    if os.environ.get("PLGOV_PREBUILT"):
        say(f"    both functions and plgov prebuilt, from PLGOV_PREBUILT={os.environ['PLGOV_PREBUILT']}")
    else:
        say("    building both functions first: the first build compiles the AWS SDK and takes several minutes")
    outputs = json.loads(run([sys.executable, "dev/local_deploy.py", "--stack", stack, "--json"], env))
    for key in ("AllowlistTableName", "AuditTableName", "CostTableName", "ConnectionNotificationTopicArn"):
        say(f"    {key:32} {outputs[key]}")

    step("Publishing an endpoint service that requires acceptance, and three consumers asking to connect")
    service = endpoint_service(provider, acceptance=True)
    service_name = f"com.amazonaws.vpce.{REGION}.{service}"
    say(f"    endpoint service {service}")
    endpoints = {}
    for account, role in CONSUMERS.items():
        endpoints[account] = interface_endpoint(account, service_name, 1)
        say(f"    account {account} ({role:9}) created {endpoints[account]}: pendingAcceptance")

    step("Writing the allowlist with `plgov` (allow one account, deny one), and one item by hand with a typo")
    allowed, denied, unmatched, held = CONSUMERS
    for args in (["allow", "add", "--service", service, "--account", allowed, "--note", "partner team"],
                 ["deny", "add", "--service", "*", "--account", denied, "--note", "offboarded vendor"]):
        say("    plgov " + " ".join(args))
        plgov(env, stack, *args)
    ddb = client("dynamodb", provider)
    ddb.put_item(TableName=outputs["AllowlistTableName"],
                 Item={"pk": {"S": service}, "sk": {"S": held}, "Effect": {"S": "allow"}})
    say(f"    (by hand, with `Effect` for `effect`: {{pk: {service}, sk: {held}, Effect: allow}})")
    say(f"    (no rule for {unmatched}: the default policy rejects what no rule matches)")
    say("    plgov rules list:")
    for line in plgov(env, stack, "rules", "list").splitlines():
        say("      " + line[:150])

    step("An SNS connection notification arrives: the approver reconciles the service it names")
    notification = (ROOT / "functions/connection-approver/fixtures/sns-connection-notification.json").read_text()
    notification = notification.replace("vpce-svc-0123456789abcdef0", service)
    result = json.loads(run(["dev/invoke", "connection-approver", "-", "--stack", stack], env, stdin=notification))
    owner_role = {endpoints[a]: f"{a} ({r})" for a, r in CONSUMERS.items()}
    for d in result["decisions"]:
        if d["decision"] != "hold":
            say(f"    {d['endpointId']}  from {owner_role[d['endpointId']]:26} -> {d['decision'].upper():6}  because: {d['reason']}")
    for h in result["held"]:
        say(f"    {h['endpointId']}  from {owner_role[h['endpointId']]:26} -> HELD    by item {h['heldBy']}: {h['problem']}")
    if result["errors"]:
        say(f"    errors: {result['errors']}")

    step("The scheduled sweep runs: every governed service; the held request stays pending until the item is fixed")
    schedule = (ROOT / "functions/connection-approver/fixtures/schedule.json").read_text()
    swept = json.loads(run(["dev/invoke", "connection-approver", "-", "--stack", stack], env, stdin=schedule))
    say(f"    services reconciled: {swept['servicesReconciled']}, accepted {len(swept['accepted'])}, "
        f"rejected {len(swept['rejected'])}, held {len(swept['held'])}, errors {len(swept['errors'])}")

    step("A second service with a policy of its own: what no rule matches is left pending, and a "
         "connection whose allow rule goes is revoked")
    second = endpoint_service(provider, acceptance=True)
    second_name = f"com.amazonaws.vpce.{REGION}.{second}"
    for account in (allowed, unmatched):
        say(f"    account {account} ({CONSUMERS[account]:9}) created "
            f"{interface_endpoint(account, second_name, 1)} for {second}: pendingAcceptance")
    for args in (["allow", "add", "--service", second, "--account", allowed, "--note", "partner team"],
                 ["policy", "set", "--service", second, "--unmatched", "leave", "--revoke", "on"]):
        say("    plgov " + " ".join(args))
        plgov(env, stack, *args)
    requests_post(f"{URL}/_plgov/faults", {"operation": "AcceptVpcEndpointConnections", "service": "ec2",
                                           "account": provider, "error": "UnauthorizedOperation", "status": 403,
                                           "count": 1})
    say("    (EC2 is made to refuse the approver's next accept, once: UnauthorizedOperation, as while a "
        "permission is rolled out)")
    sweep(env, stack)
    control("DELETE", f"faults?account={provider}")  # whatever is left of it
    say("    the next sweep carries the accept out; what AWS refused is in the audit trail and on the dashboard:")
    sweep(env, stack)
    say(f"    plgov rules remove --service {second} --account {allowed}")
    plgov(env, stack, "rules", "remove", "--service", second, "--account", allowed)
    sweep(env, stack)

    step("Connection states as the provider sees them now")
    for c in client("ec2", provider).describe_vpc_endpoint_connections()["VpcEndpointConnections"]:
        say(f"    {c['VpcEndpointId']}  owner {c['VpcEndpointOwner']}  {c['VpcEndpointState']}")

    step("The audit trail (`plgov audit`): one record per decision, and what AWS answered")
    for line in plgov(env, stack, "audit").splitlines():
        say("    " + line[:170])

    step("An event the approver cannot read (an EventBridge rule that matches too much): it fails, and goes "
         "to the dead-letter queue")
    unknown = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "EC2 Instance State-change Notification",
               "source": "aws.ec2", "account": provider, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "region": REGION, "resources": [f"arn:aws:ec2:{REGION}:{provider}:instance/i-0123456789abcdef0"],
               "detail": {"instance-id": "i-0123456789abcdef0", "state": "running"}}
    failure = run(["dev/invoke", "connection-approver", "-", "--stack", stack], env, stdin=json.dumps(unknown),
                  expect_failure=True)
    said = failure.strip().splitlines()[-1] if failure.strip() else ""
    say(f"    {said.removeprefix('dev/invoke: ')[:200]}")
    lam = client("lambda", provider)
    retries = lam.get_function_event_invoke_config(
        FunctionName=outputs["ConnectionApproverFunctionName"]).get("MaximumRetryAttempts", 2)
    # EventBridge invokes the approver asynchronously: Lambda retries a failed event MaximumRetryAttempts times,
    # then sends it to the function's dead-letter queue as it came, the reason in message attributes
    # (RequestID, ErrorMessage). The emulator runs no functions, so that part is done here.
    queue = client("cloudformation", provider).describe_stack_resource(
        StackName=stack, LogicalResourceId="DeadLetterQueue")["StackResourceDetail"]["PhysicalResourceId"]
    sqs = client("sqs", provider)
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(unknown), MessageAttributes={
        "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
        "ErrorMessage": {"DataType": "String", "StringValue": said.removeprefix("dev/invoke: ")[:1024] or "error"}})
    depth = int(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
                ["Attributes"]["ApproximateNumberOfMessages"])
    # SQS reports each queue's depth to CloudWatch every minute; the emulator does not, so the
    # demo puts what SQS would from the queue's own count (as it puts BytesProcessed below).
    client("cloudwatch", provider).put_metric_data(Namespace="AWS/SQS", MetricData=[{
        "MetricName": "ApproximateNumberOfMessagesVisible", "Value": float(depth), "Unit": "Count",
        "Dimensions": [{"Name": "QueueName", "Value": queue.rstrip("/").rsplit("/", 1)[-1]}]}])
    say(f"    EventBridge invokes the approver asynchronously; its EventInvokeConfig allows {retries} retries, then "
        f"Lambda moves the event to the dead-letter queue: {depth} message(s) there now, which the "
        "DeadLetterQueue alarm and the dashboard watch")

    step("An hour of traffic on the provider's own VPC endpoints (as AWS/PrivateLinkEndpoints reports it)")
    own_service = endpoint_service(provider, acceptance=False)
    own_name = f"com.amazonaws.vpce.{REGION}.{own_service}"
    fleet = [("partner API, 2 AZs", interface_endpoint(provider, own_name, 2), 800.0),
             ("metrics sink, 3 AZs", interface_endpoint(provider, own_name, 3), 5.0),
             ("idle endpoint, 1 AZ", interface_endpoint(provider, own_name, 1), 0.0),
             ("S3 gateway endpoint", interface_endpoint(provider, f"com.amazonaws.{REGION}.s3", 0, "Gateway"), 0.0),
             ("database via Lattice", resource_endpoint(provider, 1), 0.0)]
    # The last full hour: the endpoints are made to exist since before it (the emulator can backdate).
    hour = int(time.time() // 3600 * 3600) - 3600
    requests_post(f"{URL}/_plgov/endpoint-times", {"account": provider, "region": REGION,
                                                    "endpoints": [e for _, e, _ in fleet], "createdAt": hour - 3600})
    ec2, cw = client("ec2", provider), client("cloudwatch", provider)
    for label, endpoint, gb in fleet:
        e = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint])["VpcEndpoints"][0]
        if gb and e["VpcEndpointType"] == "Interface":
            cw.put_metric_data(Namespace="AWS/PrivateLinkEndpoints", MetricData=[{
                "MetricName": "BytesProcessed", "Timestamp": hour + 120, "Value": gb * GIB, "Dimensions": [
                    {"Name": "Endpoint Type", "Value": "Interface"}, {"Name": "Service Name", "Value": e["ServiceName"]},
                    {"Name": "VPC Endpoint Id", "Value": endpoint}, {"Name": "VPC Id", "Value": e["VpcId"]}]}])
        say(f"    {endpoint}  {label:22} {gb:8.1f} GB")

    client("securityhub", provider).enable_security_hub()
    say("    (Security Hub enabled in the provider account: the findings below are imported there too)")

    hour_text = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(hour))
    step(f"The cost reporter's schedule fires: it prices the last full hour, {hour_text} (us-east-1 rates, NAT at $0.045/GB)")
    schedule = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {},
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(hour + 3600 + 600))}
    costs = json.loads(run(["dev/invoke", "cost-reporter", "-", "--stack", stack], env, stdin=json.dumps(schedule)))
    say(f"    traffic queried for {costs['traffic']['queried']} endpoint(s) with recent data, every "
        f"{costs['traffic']['intervalHours']} hour(s); {len(costs['hours'])} hour(s) priced (late data counted up to 3 hours)")
    labels = {endpoint: label for label, endpoint, _ in fleet}
    usd = lambda v: f"{'-' if v < 0 else ''}${abs(v):.4f}"  # noqa: E731
    rows = [[r["id"], labels.get(r["id"], r["type"]), r["type"], r["azs"], f"{r['gb']:.1f}", usd(r["hourlyCost"]),
             usd(r["dataCost"]), usd(r["cost"]), usd(r["natEquivalentCost"]), usd(r["natSavings"])]
            for r in costs["endpoints"]]
    t = costs["total"]
    rows.append(["region total", "", "", "", f"{t['gb']:.1f}", usd(t["hourlyCost"]), usd(t["dataCost"]),
                 usd(t["cost"]), usd(t["natEquivalentCost"]), usd(t["natSavings"])])
    table(rows, ["endpoint", "what", "type", "AZs", "GB", "hourly", "data", "cost", "via NAT", "NAT savings"])
    say("    (a negative saving is an endpoint that costs more than the NAT traffic it replaces)")
    for u in costs["unpriced"]:
        say(f"    {u['id']}  {labels.get(u['id'], '')}: {u['reason']} (counted as UnpricedEndpoints)")
    again = json.loads(run(["dev/invoke", "cost-reporter", "-", "--stack", stack], env, stdin=json.dumps(schedule)))
    say(f"    the same schedule again (a retry): {again['metricsPublished']} data point(s) published, "
        "so the dashboard still shows the hour once")

    rates = costs["rates"]
    say(f"    rates from {rates['source']}" + (f" (read {rates['fetchedAt']})" if rates.get("fetchedAt") else ""))

    step("Findings: what the governor cannot govern, what is open too wide, what wastes money")
    # The event the findings rule sends, for the day's first run (it fired at midnight UTC): that
    # run also publishes the daily count per type, which the dashboard's findings widget shows.
    fired = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT00:00:02Z")
    found = json.loads(run(["dev/invoke", "connection-approver", "-", "--stack", stack], env,
                           stdin=json.dumps({"action": "findings", "time": fired})))
    say(f"    the day's first findings run (the schedule fired at {fired}) also counts them per type")
    for f in found["findings"] + costs["findings"]["findings"]:
        waste = f" (${f['monthlyWasteUsd']:.2f} a month)" if f.get("monthlyWasteUsd") else ""
        say(f"    {f['severity']:6} {f['type']:28} {f['title']}{waste}")
    say(f"    Security Hub: approver {found['securityHub']}, cost reporter {costs['findings']['securityHub']}; "
        "`plgov findings` reads them back:")
    for line in plgov(env, stack, "findings").splitlines():
        say("      " + line[:170])

    step("The dashboard's per-endpoint table: its own Logs Insights query, run on the emulator")
    cw_dash = client("cloudwatch", provider).get_dashboard(DashboardName=outputs["DashboardName"])
    [log_widget] = [w for w in json.loads(cw_dash["DashboardBody"])["widgets"]
                    if w["type"] == "log" and w["properties"]["title"].startswith("Per endpoint")]
    say(f"    {log_widget['properties']['title']}")
    for line in logs_insights(provider, log_widget["properties"]["query"], hour - 3600, hour + 3 * 3600):
        say("    " + line)

    # From the hour before the one priced (the approver's data falls after it) to now.
    start, end = (dt.datetime.fromtimestamp(t, dt.timezone.utc) for t in (hour - 3600, time.time() + 60))
    return Scenario(provider, stack, outputs, start, end)


def show_dashboard(scenario: Scenario, out: Path = DEFAULT_OUT) -> Path:
    """The deployed dashboard, told and drawn from the scenario's data as a local page (its path)."""
    step("The dashboard")
    dashboard = scenario.dashboard
    body = json.loads(scenario.client("cloudwatch").get_dashboard(DashboardName=dashboard)["DashboardBody"])
    say(f"    '{dashboard}' with {len(body['widgets'])} widgets: cost and NAT savings per endpoint and in total,")
    say("    decisions by kind, errors. Locally, with the AWS CLI:")
    say(f"      aws --endpoint-url {URL} cloudwatch get-dashboard --dashboard-name {dashboard}")
    say(f"    Deployed to AWS, open: {scenario.outputs.get('DashboardUrl', '')}")
    start, end = scenario.start, scenario.end
    page, results = write_page(body, start, end, scenario.client,
                               title=f"{dashboard} (local emulator, account {scenario.provider})", out=out)
    say(f"    Drawn from the emulator's data, {start:%H:%M} to {end:%H:%M} UTC: open this page: {page}")
    for r in (r for r in results if r.error):
        say(f"    (widget '{r.title or r.type}' could not be drawn: {r.error})")
    return page


@errors.main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    errors.add_verbose_flag(parser)
    parser.parse_args()
    show_dashboard(run_scenario())
    say("\nDemo complete.")


if __name__ == "__main__":
    main()
