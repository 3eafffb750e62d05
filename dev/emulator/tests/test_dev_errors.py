"""The dev/ scripts answer a person's mistakes in a sentence or two (dev/errors.py), not a traceback.

Each case runs a script as a person would: a subprocess with a fresh environment (PATH, HOME and
only the variables the case needs), and checks the exit code (2 for a mistake in what was given,
1 for AWS or the environment), that stderr is one message of one or two sentences naming the
thing at fault (no traceback, no cargo-lambda banner), and, for some, that -v, PLGOV_DEBUG=1 or
RUST_LOG=debug add the traceback and AWS's raw answer. AWS's error codes come from the emulator's
fault injection, armed for the test's own account only; "the emulator is down" is a closed port.

No case needs cargo. dev/invoke's errors before the function runs need no binary; the event the
function refuses needs the connection approver built, which `cargo test --workspace` does not do
(the function crates have no integration tests, and cargo builds a package's binaries for its
tests only then); in a full run the stack tests before this file built it through
dev/local_deploy.py. Without it that case is skipped.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import boto3
import botocore.exceptions
import pytest
import requests

from conftest import REGION, URL, client_for, new_account

ROOT = Path(__file__).resolve().parents[3]
PYTHON = sys.executable
sys.path.insert(0, str(ROOT / "dev"))

import errors  # noqa: E402

SCHEDULE = ROOT / "functions/connection-approver/fixtures/schedule.json"
SNAKE_CASE = ROOT / "functions/connection-approver/fixtures/malformed/direct-reconcile-snake-case.json"
BANNER = "Was this behavior unexpected"
SCRIPTS = {  # what a person types, with arguments that get as far as AWS
    "invoke": ["dev/invoke", "connection-approver", str(SCHEDULE)],
    "local_deploy": [PYTHON, "dev/local_deploy.py"],
    "local_deploy_org": [PYTHON, "dev/local_deploy_org.py"],
    "dashboard_page": [PYTHON, "dev/dashboard_page.py"],
    "demo": [PYTHON, "dev/demo.py"],
}
PROG = {"invoke": "dev/invoke", "local_deploy": "dev/local_deploy.py", "local_deploy_org": "dev/local_deploy_org.py",
        "dashboard_page": "dev/dashboard_page.py", "demo": "dev/demo.py"}


# ---------------------------------------------------------------------------- helpers

@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty HOME (no ~/.aws) and a code dir of stand-in binaries, so nothing runs cargo."""
    (tmp_path / "home").mkdir()
    code = tmp_path / "code"
    code.mkdir()
    for name in ("connection-approver", "cost-reporter"):
        (code / name).write_bytes(b"not a binary")
    return tmp_path


def person(home: Path, **variables: str) -> dict[str, str]:
    """A fresh environment: PATH, HOME, the given variables, and a code dir that keeps cargo out."""
    return {"PATH": os.environ["PATH"], "HOME": str(home / "home"), "PLGOV_PREBUILT": str(home / "code"),
            **variables}


def aws(account: str | None = None, endpoint: str = URL) -> dict[str, str]:
    """The variables of a person set up for the emulator, in `account` when given."""
    variables = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                 "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    if account is not None:
        creds = boto3.client("sts", endpoint_url=URL, region_name=REGION, aws_access_key_id="testing",
                             aws_secret_access_key="testing").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/plgov-person", RoleSessionName="person")["Credentials"]
        variables.update(AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                         AWS_SESSION_TOKEN=creds["SessionToken"])
    return variables


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120)


def told(result: subprocess.CompletedProcess, prog: str, code: int, *names: str) -> str:
    """The message, checked: the exit code, one line of one or two sentences after the script's
    name, naming each of `names`, and nothing of a traceback or of cargo-lambda."""
    stderr = result.stderr.strip()
    assert result.returncode == code, f"exit {result.returncode}, not {code}:\n{result.stderr}"
    assert "Traceback" not in stderr and BANNER not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, f"more than the message:\n{stderr}"
    message = lines[0]
    assert message.startswith(f"{prog}: "), message
    sentences = re.findall(r"[.?!](?=\s|$)", message)
    assert 1 <= len(sentences) <= 2, f"{len(sentences)} sentences: {message}"
    for name in names:
        assert name in message, f"{name!r} not in: {message}"
    return message


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def fault(account: str, operation: str, error: str, status: int | None = None) -> Iterator[None]:
    spec = {"operation": operation, "error": error, "account": account, "count": -1}
    if status is not None:
        spec["status"] = status
    armed = requests.post(f"{URL}/_plgov/faults", json=spec, timeout=5)
    assert armed.status_code == 200, armed.text
    try:
        yield
    finally:
        requests.delete(f"{URL}/_plgov/faults", params={"account": account}, timeout=5)


def stack_with_outputs(account: str, name: str, outputs: dict[str, str]) -> None:
    template = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                "Outputs": {k: {"Value": v} for k, v in outputs.items()}}
    client_for("cloudformation", account).create_stack(StackName=name, TemplateBody=json.dumps(template))


# ---------------------------------------------------------------------------- no credentials

@pytest.mark.parametrize("script", ["invoke", "local_deploy", "local_deploy_org", "dashboard_page"])
def test_no_credentials_says_which_variables_to_set(emulator_url, home, script):
    env = person(home, AWS_ENDPOINT_URL=URL, AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION)
    told(run(SCRIPTS[script], env), PROG[script], 1, "No AWS credentials were found",
         "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "`testing`/`testing`", "AWS_PROFILE")


def test_half_the_credentials_names_the_missing_one(emulator_url, home):
    env = person(home, AWS_ENDPOINT_URL=URL, AWS_REGION=REGION, AWS_ACCESS_KEY_ID="testing")
    told(run(SCRIPTS["invoke"], env), "dev/invoke", 1, "AWS_SECRET_ACCESS_KEY is missing")


def test_no_region_says_to_export_one(emulator_url, home):
    env = person(home, AWS_ENDPOINT_URL=URL, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    told(run(SCRIPTS["invoke"], env), "dev/invoke", 1, "No AWS region", "AWS_REGION")


# ---------------------------------------------------------------------------- AWS's error codes

def test_expired_credentials_say_so_and_how_to_renew(emulator_url, home):
    account = new_account()
    env = person(home, **aws(account))
    with fault(account, "DescribeStacks", "ExpiredToken"):
        plain = run(SCRIPTS["invoke"], env)
        detailed = run([*SCRIPTS["invoke"], "-v"], env)
    told(plain, "dev/invoke", 1, "expired", "ExpiredToken", "cloudformation:DescribeStacks", "aws sso login")
    # -v: the traceback and AWS's raw answer before the same message.
    assert detailed.returncode == 1
    assert "Traceback" in detailed.stderr and "botocore.exceptions.ClientError" in detailed.stderr
    assert "AWS answered:" in detailed.stderr and '"Code": "ExpiredToken"' in detailed.stderr
    assert detailed.stderr.strip().splitlines()[-1] == plain.stderr.strip()


def test_access_denied_names_the_action(emulator_url, home):
    account = new_account()
    with fault(account, "GetCallerIdentity", "AccessDenied", status=403):
        result = run([*SCRIPTS["local_deploy"], "--code-dir", str(home / "code")], person(home, **aws(account)))
    told(result, "dev/local_deploy.py", 1, "AWS denied sts:GetCallerIdentity", "(AccessDenied)")


def test_throttling_says_a_retry_later_works(emulator_url, home):
    account = new_account()
    with fault(account, "DescribeStacks", "Throttling"):
        result = run([*SCRIPTS["dashboard_page"], "--stack", "plgov"], person(home, **aws(account)))
    told(result, "dev/dashboard_page.py", 1, "AWS throttled cloudformation:DescribeStacks", "(Throttling)",
         "run it again")


# ---------------------------------------------------------------------------- the emulator down

@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_emulator_down_names_the_url_and_how_to_start_it(emulator_url, home, script):
    port = closed_port()
    env = person(home, **aws(endpoint=f"http://127.0.0.1:{port}"))
    told(run(SCRIPTS[script], env), PROG[script], 1, f"Nothing answers at http://127.0.0.1:{port}",
         f"make local-aws EMULATOR_PORT={port}", f"PLGOV_EMULATOR_PORT={port} dev/local-aws start")


# ---------------------------------------------------------------------------- not found

def test_missing_stack_names_it_the_region_and_the_endpoint(emulator_url, home):
    account = new_account()
    env = person(home, **aws(account))
    result = run([*SCRIPTS["invoke"], "--stack", "plgov-nowhere"], env)
    told(result, "dev/invoke", 1, "No stack named plgov-nowhere", f"{REGION} at {URL}", "make local-deploy",
         "--stack NAME")
    told(run([*SCRIPTS["dashboard_page"], "--stack", "plgov-nowhere"], env), "dev/dashboard_page.py", 1,
         "No stack named plgov-nowhere", f"account {account}", "make local-deploy")


def test_function_not_in_the_stack(emulator_url, home):
    account = new_account()
    stack_with_outputs(account, "not-plgov", {"Something": "else"})
    stack_with_outputs(account, "plgov-gone", {"ConnectionApproverFunctionName": "plgov-gone-approver"})
    env = person(home, **aws(account))
    told(run([*SCRIPTS["invoke"], "--stack", "not-plgov"], env), "dev/invoke", 1,
         "Stack not-plgov has no output ConnectionApproverFunctionName", "connection-approver")
    told(run([*SCRIPTS["invoke"], "--stack", "plgov-gone"], env), "dev/invoke", 1,
         "names the function plgov-gone-approver", "Lambda in us-east-1 has no function", "make local-deploy")


def test_missing_table_names_the_table_and_the_call(emulator_url):
    """A script's own call to a table that is not there (DynamoDB's ResourceNotFoundException)."""
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client_for("dynamodb", new_account()).describe_table(TableName="plgov-no-such-table")
    message, code = errors.describe(raised.value)
    assert code == 1
    assert "plgov-no-such-table" in message and "dynamodb:DescribeTable" in message, message
    assert "ResourceNotFoundException" in message


# ---------------------------------------------------------------------------- dev/invoke's input

def test_unknown_function_lists_the_two(home):
    result = run(["dev/invoke", "connection-aprover", str(SCHEDULE)], person(home))
    told(result, "dev/invoke", 2, "'connection-aprover'", "connection-approver or cost-reporter",
         "Did you mean connection-approver?")


def test_missing_event_file_names_it(home):
    result = run(["dev/invoke", "connection-approver", "events/schedul.json"], person(home))
    told(result, "dev/invoke", 2, "No event file events/schedul.json", str(ROOT), "- to read the event")
    detailed = run(["dev/invoke", "connection-approver", "events/schedul.json"], person(home, PLGOV_DEBUG="1"))
    assert detailed.returncode == 2 and "Traceback" in detailed.stderr


def test_event_that_is_not_json_names_the_line_and_column(home):
    event = home / "event.json"
    event.write_text('{\n  "action": "reconcile",\n  "serviceIds": ["vpce-svc-0123456789abcdef0"\n}\n')
    result = run(["dev/invoke", "connection-approver", str(event)], person(home))
    told(result, "dev/invoke", 2, f"The event in {event} is not JSON", "line 4, column 1")
    piped = run(["dev/invoke", "connection-approver", "-"], person(home), stdin="{'single': 'quotes'}")
    told(piped, "dev/invoke", 2, "The event in standard input is not JSON", "line 1, column 2")


def binary(name: str) -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR") or "target")
    found = (target if target.is_absolute() else ROOT / target) / "debug" / name
    if not found.is_file():
        pytest.skip(f"no prebuilt {found}: `cargo test --workspace` does not build the functions' binaries "
                    "(their crates have no integration tests); the stack tests build them through "
                    f"dev/local_deploy.py, or `cargo build -p {name}`")
    return found


def approver_function(account: str, stack: str) -> None:
    """A function as the stack makes it (the approver's variables, JSON logs), named by a stack's output."""
    role = client_for("iam", account).create_role(
        RoleName="approver", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("bootstrap", "")  # the emulator stores code, never runs it
    variables = {"ALLOWLIST_TABLE": "allowlist", "AUDIT_TABLE": "audit", "METRICS_NAMESPACE": "PrivateLinkGovernor",
                 "GOVERNED_SERVICES": "all", "DRY_RUN": "false", "UNMATCHED_ACTION": "reject",
                 "AUDIT_RETENTION_DAYS": "400", "ACCOUNT_ID": account,
                 "CONNECTION_TOPIC_ARN": f"arn:aws:sns:{REGION}:{account}:connections",
                 "FINDINGS_TO_SECURITY_HUB": "off", "SYNC_ALLOWED_PRINCIPALS": "false", "ORGANIZATIONS_ROLE_ARN": ""}
    client_for("lambda", account).create_function(
        FunctionName=f"{stack}-approver", Runtime="provided.al2023", Role=role["Role"]["Arn"], Handler="bootstrap",
        Code={"ZipFile": code.getvalue()}, Timeout=30, Environment={"Variables": variables},
        LoggingConfig={"LogFormat": "JSON"})
    stack_with_outputs(account, stack, {"ConnectionApproverFunctionName": f"{stack}-approver"})


def test_event_the_function_refuses_prints_its_own_error(emulator_url, home):
    built = binary("connection-approver")
    account = new_account()
    approver_function(account, "plgov-refuses")
    env = person(home, **aws(account), PLGOV_PREBUILT=str(built.parent))
    args = ["dev/invoke", "connection-approver", str(SNAKE_CASE), "--stack", "plgov-refuses"]
    result = run(args, env)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and BANNER not in result.stderr
    *logs, message = result.stderr.strip().splitlines()
    assert all(json.loads(line) for line in logs), "only the function's own (JSON) log lines come before"
    assert message.startswith("dev/invoke: connection-approver returned an error for this event: ")
    assert "unknown field `dry_run`" in message and "(InvalidEvent)" in message, message
    assert len(re.findall(r"[.?!](?=\s|$)", message)) <= 2, message
    # RUST_LOG=debug (as -v): the function's raw error result too.
    detailed = run(args, {**env, "RUST_LOG": "debug"})
    assert detailed.returncode == 1
    assert 'error result: {"errorType":"InvalidEvent"' in detailed.stderr
    assert BANNER not in detailed.stderr
    # Its logs went to its log group, as Lambda's would.
    streams = client_for("logs", account).describe_log_streams(logGroupName="/aws/lambda/plgov-refuses-approver")
    assert len(streams["logStreams"]) == 2


# ---------------------------------------------------------------------------- the classifier itself

def test_access_denied_names_the_resource_aws_names():
    # The shape of AWS's own AccessDenied message (IAM: "Troubleshoot access denied error messages").
    err = botocore.exceptions.ClientError({"Error": {
        "Code": "AccessDenied", "Message": "User: arn:aws:sts::111122223333:assumed-role/dev/me is not authorized "
        "to perform: cloudformation:DescribeStacks on resource: arn:aws:cloudformation:us-east-1:111122223333:"
        "stack/plgov/* because no identity-based policy allows the cloudformation:DescribeStacks action"}},
        "DescribeStacks")
    message, code = errors.describe(err)
    assert code == 1
    assert "DescribeStacks on arn:aws:cloudformation:us-east-1:111122223333:stack/plgov/*" in message, message


def test_the_verbose_switches(monkeypatch):
    for name in ("PLGOV_DEBUG", "RUST_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(errors, "_verbose_flag", False)
    assert not errors.verbose()
    monkeypatch.setenv("RUST_LOG", "info")
    assert not errors.verbose()
    monkeypatch.setenv("RUST_LOG", "info,connection_approver=debug")
    assert errors.verbose()
    monkeypatch.setenv("RUST_LOG", "")
    monkeypatch.setenv("PLGOV_DEBUG", "1")
    assert errors.verbose()
