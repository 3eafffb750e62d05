"""template.yaml deployed into the emulator with dev/local_deploy.py, and both functions run
through dev/invoke with the environment the stack gave them: a wrong table name, a missing
variable or a missing resource in the template fails here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import requests

from conftest import REGION, URL, client_for, create_endpoint, create_service, new_account

ROOT = Path(__file__).resolve().parents[3]
PYTHON = sys.executable
GIB = 1024 ** 3


def account_env(account: str) -> dict[str, str]:
    creds = boto3.client("sts", endpoint_url=URL, region_name=REGION, aws_access_key_id="testing",
                         aws_secret_access_key="testing").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/plgov-test", RoleSessionName="stack-test")["Credentials"]
    return {**os.environ, "AWS_ENDPOINT_URL": URL, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"]}


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(args, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr[-4000:]}"
    return result.stdout


def metric_sum(cw, namespace: str, name: str, dims: list[dict], start: float) -> float | None:
    out = cw.get_metric_data(StartTime=start - 3600, EndTime=start + 7200, MetricDataQueries=[{
        "Id": "m", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims},
                                  "Period": 3600, "Stat": "Sum"}}])
    values = [v for r in out["MetricDataResults"] for v in r["Values"]]
    return sum(values) if values else None


def test_stack_deploys_every_resource_and_wires_both_functions(emulator_url):
    provider = new_account()
    env = account_env(provider)
    stack = "plgov-it"
    outputs = json.loads(run([PYTHON, "dev/local_deploy.py", "--stack", stack, "--json"], env))
    for key in ("AllowlistTableName", "AuditTableName", "CostTableName", "ConnectionApproverFunctionName",
                "CostReporterFunctionName", "ConnectionNotificationTopicArn", "DashboardName", "MetricsNamespace"):
        assert outputs.get(key), f"output {key} missing"

    # Every resource of the transformed template exists, and really: not only in the stack's list.
    template = json.loads((ROOT / "dev" / ".run" / f"{stack}-{provider}.template.json").read_text())
    cfn = client_for("cloudformation", provider)
    resources = {r["LogicalResourceId"]: r for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]}
    # ForwardedEventsBusPolicy exists only with a ConsumerOrganizationId (none here).
    # CostPoolTable and OrganizationReaderRole exist only in a hub.
    assert set(resources) == set(template["Resources"]) - {"ForwardedEventsBusPolicy", "CostPoolTable",
                                                            "OrganizationReaderRole"}
    assert all(r["ResourceStatus"] == "CREATE_COMPLETE" for r in resources.values())
    ddb = client_for("dynamodb", provider)
    for table in ("AllowlistTableName", "AuditTableName", "CostTableName"):
        assert ddb.describe_table(TableName=outputs[table])["Table"]["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ddb.describe_time_to_live(TableName=outputs["AuditTableName"])["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    lam = client_for("lambda", provider)
    approver = lam.get_function_configuration(FunctionName=outputs["ConnectionApproverFunctionName"])
    assert approver["LoggingConfig"]["LogFormat"] == "JSON", "structured logs, as the dashboard reads them"
    reporter = lam.get_function_configuration(FunctionName=outputs["CostReporterFunctionName"])
    assert set(reporter["Environment"]["Variables"]) == {
        "COST_TABLE", "METRICS_NAMESPACE", "PER_ENDPOINT_METRICS", "TRAFFIC_QUERY_BUDGET", "PRICING_OVERRIDES",
        "ACCOUNT_ID", "FINDINGS_TO_SECURITY_HUB", "COST_POOL_TABLE"}
    assert set(approver["Environment"]["Variables"]) == {
        "ALLOWLIST_TABLE", "AUDIT_TABLE", "METRICS_NAMESPACE", "GOVERNED_SERVICES", "DRY_RUN", "UNMATCHED_ACTION",
        "AUDIT_RETENTION_DAYS", "ACCOUNT_ID", "CONNECTION_TOPIC_ARN", "FINDINGS_TO_SECURITY_HUB",
        "SYNC_ALLOWED_PRINCIPALS", "ORGANIZATIONS_ROLE_ARN"}
    assert lam.get_function_concurrency(FunctionName=outputs["ConnectionApproverFunctionName"]).get(
        "ReservedConcurrentExecutions") == 1
    sns = client_for("sns", provider)
    policy = json.loads(sns.get_topic_attributes(TopicArn=outputs["ConnectionNotificationTopicArn"])["Attributes"]["Policy"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "vpce.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == provider
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=outputs["ConnectionNotificationTopicArn"])["Subscriptions"]
    assert [s["Protocol"] for s in subscriptions] == ["lambda"]
    assert subscriptions[0]["Endpoint"].endswith(outputs["ConnectionApproverFunctionName"])
    cw = client_for("cloudwatch", provider)
    assert len(cw.describe_alarms()["MetricAlarms"]) == 4
    dashboard = json.loads(cw.get_dashboard(DashboardName=outputs["DashboardName"])["DashboardBody"])
    titles = [w["properties"].get("title", "") for w in dashboard["widgets"]]
    assert any(t.startswith("Per endpoint") for t in titles) and any("decisions" in t.lower() for t in titles)
    events = client_for("events", provider)
    rules = events.list_rules()["Rules"]
    assert len(rules) == 5, [r["Name"] for r in rules]
    assert all(events.list_targets_by_rule(Rule=r["Name"])["Targets"] for r in rules)
    # The hourly findings run: its own rule, whose target passes the time the schedule fired.
    [findings] = [r for r in rules if "Findings" in r["Name"]]
    [target] = events.list_targets_by_rule(Rule=findings["Name"])["Targets"]
    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == {"time": "$.time"}
    assert findings["ScheduleExpression"] == "rate(1 hour)"

    # Governance, through the stack's own tables: allow one account, deny one, leave one unmatched.
    service = create_service(provider)
    allowed, denied, unmatched = new_account(), new_account(), new_account()
    endpoints = {who: create_endpoint(who, service) for who in (allowed, denied, unmatched)}
    ddb.put_item(TableName=outputs["AllowlistTableName"],
                 Item={"pk": {"S": service}, "sk": {"S": allowed}, "effect": {"S": "allow"}})
    ddb.put_item(TableName=outputs["AllowlistTableName"], Item={"pk": {"S": "*"}, "sk": {"S": denied}, "effect": {"S": "deny"}})
    schedule = (ROOT / "functions/connection-approver/fixtures/schedule.json").read_text()
    result = json.loads(run(["dev/invoke", "connection-approver", "-", "--stack", stack], env, stdin=schedule))
    assert result["accepted"] == [endpoints[allowed]]
    assert sorted(result["rejected"]) == sorted([endpoints[denied], endpoints[unmatched]])
    assert result["errors"] == []
    states = {c["VpcEndpointId"]: c["VpcEndpointState"]
              for c in client_for("ec2", provider).describe_vpc_endpoint_connections()["VpcEndpointConnections"]}
    assert states == {endpoints[allowed]: "available", endpoints[denied]: "rejected", endpoints[unmatched]: "rejected"}
    audit = [i for i in ddb.scan(TableName=outputs["AuditTableName"])["Items"] if i["kind"]["S"] == "decision"]
    assert sorted((i["endpoint_id"]["S"], i["decision"]["S"]) for i in audit) == sorted(
        [(endpoints[allowed], "accept"), (endpoints[denied], "reject"), (endpoints[unmatched], "reject")])
    now = time.time()
    namespace = outputs["MetricsNamespace"]
    assert metric_sum(cw, namespace, "ConnectionsAccepted", [{"Name": "ServiceId", "Value": service}], now) == 1.0
    assert metric_sum(cw, namespace, "ConnectionsRejected", [], now) == 2.0

    # The findings rule's event as EventBridge fills it in for the day's first run (delivered
    # late): that run publishes the daily count per type; the service has no notification.
    fired = time.strftime("%Y-%m-%dT00:00:04Z", time.gmtime(now))
    found = json.loads(run(["dev/invoke", "connection-approver", "-", "--stack", stack], env,
                           stdin=transformer["InputTemplate"].replace("<time>", fired)))
    assert "NoConnectionNotification" in [f["type"] for f in found["findings"]], found
    assert metric_sum(cw, namespace, "Findings", [{"Name": "Type", "Value": "NoConnectionNotification"}], now) == 1.0

    # Cost, through the stack's cost table: the provider's own 2-AZ endpoint moved 10 GiB this hour.
    own_service = create_service(provider, acceptance_required=False)
    own = create_endpoint(provider, own_service, azs=2)
    described = client_for("ec2", provider).describe_vpc_endpoints(VpcEndpointIds=[own])["VpcEndpoints"][0]
    hour = int(now // 3600 * 3600)
    cw.put_metric_data(Namespace="AWS/PrivateLinkEndpoints", MetricData=[{
        "MetricName": "BytesProcessed", "Timestamp": hour + 60, "Value": 10.0 * GIB, "Dimensions": [
            {"Name": "Endpoint Type", "Value": "Interface"}, {"Name": "Service Name", "Value": described["ServiceName"]},
            {"Name": "VPC Endpoint Id", "Value": own}, {"Name": "VPC Id", "Value": described["VpcId"]}]}])
    event = json.dumps({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {},
                        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(hour + 3600 + 30))})
    result = json.loads(run(["dev/invoke", "cost-reporter", "-", "--stack", stack], env, stdin=event))
    assert result["hour"] == time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(hour))
    [row] = [r for r in result["endpoints"] if r["id"] == own]
    # 2 AZ x $0.01 + 10 GB x $0.01 = $0.12; NAT 10 x $0.045 = $0.45; saves $0.33
    assert abs(row["cost"] - 0.12) < 1e-9 and abs(row["natSavings"] - 0.33) < 1e-9
    assert abs(metric_sum(cw, namespace, "EndpointCost", [], hour) - 0.12) < 1e-9
    assert metric_sum(cw, namespace, "EndpointCost", [{"Name": "VpcEndpointId", "Value": own}], hour) is None
    hours = [i for i in ddb.scan(TableName=outputs["CostTableName"])["Items"] if i["sk"]["S"].startswith("hour#")]
    priced = {i["sk"]["S"]: float(i["interface_gb"]["N"]) for i in hours}
    assert priced[time.strftime("hour#%Y-%m-%dT%H:00:00Z", time.gmtime(hour))] == 10.0


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/_plgov/health", timeout=2).ok
    except requests.RequestException:
        return False


def test_the_readme_dev_invoke_example_works_as_written_in_a_fresh_shell(emulator_url):
    """The README's commands, run literally in a shell that has nothing exported but PATH and HOME."""
    readme = (ROOT / "README.md").read_text()
    blocks = readme.split("```sh\n")[1:]
    [block] = [c for c in (b.split("```")[0] for b in blocks) if "dev/invoke connection-approver" in c]
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    if "CARGO_TARGET_DIR" in os.environ:  # where this machine keeps its build, not a setting of the example
        env["CARGO_TARGET_DIR"] = os.environ["CARGO_TARGET_DIR"]
    started = time.time()
    # The block's `make local-aws` starts an emulator on the default port unless one answers there;
    # one it started is this test's to stop (a user's own is left running).
    default_was_up = _answers("http://127.0.0.1:4566")
    try:
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=1800)
    finally:
        if not default_was_up:
            subprocess.run(["dev/local-aws", "stop"], cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert result.returncode == 0, f"{block}\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    decoder, documents, text = json.JSONDecoder(), [], result.stdout
    for start in [i for i, c in enumerate(text) if c == "{" and (i == 0 or text[i - 1] == "\n")]:
        try:
            documents.append(decoder.raw_decode(text, start)[0])
        except ValueError:
            continue
    sweep, priced = documents[-2:]
    assert "servicesReconciled" in sweep and sweep["errors"] == []
    last_full = lambda at: time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(at // 3600 * 3600 - 3600))  # noqa: E731
    assert priced["hour"] in {last_full(started), last_full(time.time())}
