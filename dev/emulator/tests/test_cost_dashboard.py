"""The dashboard shows each priced hour once, through the deployed stack: the cost reporter run by
dev/invoke three times for one hour (once with PutMetricData failing after the cost table write),
then the deployed dashboard's own queries (its metrics, expressions and Logs Insights query)
evaluated for that hour. Late data priced again by the schedule replaces the figure, never adds."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import pytest
import requests

from conftest import URL, client_for, create_endpoint, create_service, new_account
from plgov_emulator.dashboard import evaluate
from test_stack import GIB, ROOT, account_env, run

PYTHON = sys.executable


def invoke(env: dict[str, str], stack: str, event: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["dev/invoke", "cost-reporter", "-", "--stack", stack], cwd=ROOT, env=env,
                          input=json.dumps(event), capture_output=True, text=True, timeout=900)


def put_bytes(provider: str, endpoint: str, gib: float, at: int) -> None:
    described = client_for("ec2", provider).describe_vpc_endpoints(VpcEndpointIds=[endpoint])["VpcEndpoints"][0]
    client_for("cloudwatch", provider).put_metric_data(Namespace="AWS/PrivateLinkEndpoints", MetricData=[{
        "MetricName": "BytesProcessed", "Timestamp": at, "Value": gib * GIB, "Dimensions": [
            {"Name": "Endpoint Type", "Value": "Interface"}, {"Name": "Service Name", "Value": described["ServiceName"]},
            {"Name": "VPC Endpoint Id", "Value": endpoint}, {"Name": "VPC Id", "Value": described["VpcId"]}]}])


def widgets(provider: str, dashboard: str, start: float, end: float) -> dict[str, object]:
    """Every widget of the deployed dashboard over [start, end), as the console would show it."""
    body = client_for("cloudwatch", provider).get_dashboard(DashboardName=dashboard)["DashboardBody"]
    start = dt.datetime.fromtimestamp(start, tz=dt.timezone.utc)
    end = dt.datetime.fromtimestamp(end, tz=dt.timezone.utc)
    results = evaluate(body, start, end,
                       client_for=lambda service, region=None: client_for(service, provider))
    for result in results:
        assert result.error is None, f"widget {result.title!r}: {result.error}"
    return {r.title: r for r in results if r.title}


@pytest.fixture(scope="module")
def stack(emulator_url):
    provider = new_account()
    env = account_env(provider)
    outputs = json.loads(run([PYTHON, "dev/local_deploy.py", "--stack", "plgov-cost", "--json"], env))
    return provider, env, outputs


def scheduled(at: float) -> dict:
    """The schedule's event, fired at `at`: the run acts as of then (the tests' clock)."""
    return {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {},
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))}


def test_an_hour_priced_three_times_with_a_failed_publish_shows_once_on_the_dashboard(stack):
    provider, env, outputs = stack
    hour = int(time.time() // 3600 * 3600) - 3600  # the last full hour
    endpoint = create_endpoint(provider, create_service(provider, acceptance_required=False), azs=2)
    requests.post(f"{URL}/_plgov/endpoint-times", timeout=5, json={
        "account": provider, "region": "us-east-1", "endpoints": [endpoint], "createdAt": hour - 3600})
    put_bytes(provider, endpoint, 10.0, hour + 60)
    event = {"hour": time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(hour))}

    first = invoke(env, "plgov-cost", event)
    assert first.returncode == 0, first.stderr[-3000:]
    # 2 AZ x $0.01 + 10 GB x $0.01 = $0.12
    assert abs(json.loads(first.stdout)["total"]["cost"] - 0.12) < 1e-9
    # More data for the hour; priced again, the cost table is written, then the publish fails.
    put_bytes(provider, endpoint, 5.0, hour + 120)
    fault = requests.post(f"{URL}/_plgov/faults", timeout=5, json={
        "operation": "PutMetricData", "service": "cloudwatch", "account": provider, "count": 3})
    assert fault.status_code == 200
    try:
        failed = invoke(env, "plgov-cost", event)
        assert failed.returncode != 0
        assert "PutMetricData" in failed.stdout + failed.stderr
    finally:
        requests.delete(f"{URL}/_plgov/faults", params={"account": provider}, timeout=5)
    # The schedule fires twenty minutes later: the unconfirmed publish is settled from what
    # CloudWatch holds, and the latest pricing is published once.
    third = invoke(env, "plgov-cost", scheduled(time.time() + 20 * 60))
    assert third.returncode == 0, third.stderr[-3000:]
    priced = json.loads(third.stdout)["hours"]
    assert any(h["hour"] == event["hour"] for h in priced)

    # 2 x 0.01 + 15 x 0.01 = 0.17; NAT 15 x 0.045 = 0.675: one pricing, the latest.
    shown = widgets(provider, outputs["DashboardName"], hour, hour + 3600)
    expected = {"Endpoint cost": 0.17, "NAT-equivalent cost": 0.675, "NAT savings": 0.505}
    selected = shown["Selected range: endpoint cost, NAT-equivalent cost, NAT savings (USD)"].values()
    assert selected == pytest.approx(expected)
    per_hour = [w for t, w in shown.items() if t.startswith("Region total per hour")][0].values()
    assert per_hour == pytest.approx(expected)
    # The table sums the latest pricing of every hour priced in its range (the runs' log lines,
    # logged now): the hour above once, and the AZ-hours of the other hours the schedule priced.
    logged = widgets(provider, outputs["DashboardName"], hour, time.time() + 60)
    [table] = [w for t, w in logged.items() if t.startswith("Per endpoint")]
    [row] = [r for r in table.rows if r.get("fields.endpoint") == endpoint]
    assert float(row["endpoint_cost"]) == pytest.approx(sum(h["total"]["cost"] for h in priced))
    assert float(row["gb_processed"]) == pytest.approx(15.0)


def test_late_data_priced_again_by_the_schedule_replaces_the_hour_on_the_dashboard(stack):
    provider, env, outputs = stack
    hour = int(time.time() // 3600 * 3600) - 3600
    endpoint = create_endpoint(provider, create_service(provider, acceptance_required=False), azs=1)
    requests.post(f"{URL}/_plgov/endpoint-times", timeout=5, json={
        "account": provider, "region": "us-east-1", "endpoints": [endpoint], "createdAt": hour - 3600})
    schedule = scheduled(time.time())
    put_bytes(provider, endpoint, 20.0, hour + 60)
    first = invoke(env, "plgov-cost", schedule)
    assert first.returncode == 0, first.stderr[-3000:]
    before = widgets(provider, outputs["DashboardName"], hour, hour + 3600)
    # A data point arrives late; the next scheduled run prices the hour again.
    put_bytes(provider, endpoint, 30.0, hour + 1800)
    again = invoke(env, "plgov-cost", schedule)
    assert again.returncode == 0, again.stderr[-3000:]
    after = widgets(provider, outputs["DashboardName"], hour, hour + 3600)
    key = "Selected range: endpoint cost, NAT-equivalent cost, NAT savings (USD)"
    grown = after[key].values()["Endpoint cost"] - before[key].values()["Endpoint cost"]
    assert grown == pytest.approx(0.30), "30 GB more at $0.01, counted once"
    logged = widgets(provider, outputs["DashboardName"], hour, time.time() + 60)
    [table] = [w for t, w in logged.items() if t.startswith("Per endpoint")]
    [row] = [r for r in table.rows if r.get("fields.endpoint") == endpoint]
    assert float(row["gb_processed"]) == pytest.approx(50.0), "the hour's latest pricing, once"
