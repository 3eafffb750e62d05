"""Runs a function of the locally deployed stack once, as Lambda would, and prints its result.

    dev/invoke <function> <event.json | -> [--stack plgov] [--code-dir DIR] [-v]

<function> is the crate name (connection-approver or cost-reporter). The binary runs with exactly
the environment variables the stack gave the function (read from the emulator's Lambda
configuration), plus the Lambda runtime variables, the AWS endpoint, region and credentials of
this environment. It is built with cargo first, or taken prebuilt from --code-dir DIR (or
$PLGOV_PREBUILT), as dev/local_deploy.py does. The event goes to the binary through the Lambda
Runtime API, served here for this one invocation (the paths and headers of the Runtime API
reference: /2018-06-01/runtime/invocation/next, .../response, .../error, /runtime/init/error).

The function's JSON result goes to stdout, its logs to stderr and, as Lambda does, to the
function's log group in the emulator's CloudWatch Logs (where the dashboard's Logs Insights
widget reads them). Against the emulator (AWS_ENDPOINT_URL set) it also puts the invocation metrics
Lambda publishes for every invocation, AWS/Lambda by FunctionName: Invocations 1, Errors 1 or 0 (an
error result, a crash or a timeout) and Duration in milliseconds, timestamped when the function was
invoked (where the dashboard's Lambda Errors lines read them; best effort: a failed put is only
told with -v). An error result exits 1 with the function's own errorMessage and errorType
on stderr; a mistake in the arguments or the event file exits 2 (dev/errors.py: -v, PLGOV_DEBUG=1
or RUST_LOG=debug add the detail).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import botocore.config

sys.path.insert(0, str(Path(__file__).resolve().parent))

import errors  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROG = "dev/invoke"
OUTPUT_FOR = {"connection-approver": "ConnectionApproverFunctionName", "cost-reporter": "CostReporterFunctionName"}
RUNTIME_PREFIX = "/2018-06-01/runtime"


# ---------------------------------------------------------------------------- the Lambda Runtime API

class RuntimeApi:
    """The Lambda Runtime API for one invocation of `event`, on 127.0.0.1: the first
    `invocation/next` gets the event, later ones wait (the process is stopped after its answer).
    `outcome` becomes ("response" | "error" | "init-error", body) when the function answers."""

    def __init__(self, event: bytes, function_arn: str, timeout_s: float):
        self.event = event
        self.function_arn = function_arn
        self.timeout_s = timeout_s
        self.request_id = str(uuid.uuid4())
        self.outcome: tuple[str, bytes] | None = None
        self.answered = threading.Event()
        self._handed_out = False
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # the function's logs are the output
                pass

            def do_GET(self) -> None:
                if self.path != f"{RUNTIME_PREFIX}/invocation/next":
                    return self._send(404, b'{"errorMessage": "unknown path"}')
                with api._lock:
                    first, api._handed_out = not api._handed_out, True
                if not first:  # one invocation only: hold the poll until the process is stopped
                    api._stopping.wait()
                    return self._send(410, b'{"errorMessage": "no more invocations"}')
                deadline = int((time.time() + api.timeout_s) * 1000)
                self._send(200, api.event, {
                    "Lambda-Runtime-Aws-Request-Id": api.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline),
                    "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                    "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"})

            def do_POST(self) -> None:
                body = self._body()
                kinds = {f"{RUNTIME_PREFIX}/invocation/{api.request_id}/response": "response",
                         f"{RUNTIME_PREFIX}/invocation/{api.request_id}/error": "error",
                         f"{RUNTIME_PREFIX}/init/error": "init-error"}
                kind = kinds.get(self.path)
                if kind is None:
                    return self._send(404, b'{"errorMessage": "unknown path or request id"}')
                if api.outcome is None:  # kept before the function hears back: it may exit at once
                    api.outcome = (kind, body)
                try:
                    self._send(202, b'{"status": "OK"}')
                finally:
                    api.answered.set()  # only now: the function is stopped once answered

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                if errors.verbose():  # a function stopped mid-request is no news otherwise
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def handed_out(self) -> bool:
        return self._handed_out

    @property
    def address(self) -> str:
        """host:port, as Lambda gives it in AWS_LAMBDA_RUNTIME_API."""
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> "RuntimeApi":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------- the function

def forward_logs(stream, sink: list[tuple[int, str]]) -> threading.Thread:
    """Echoes the function's log lines to stderr and keeps them with their time."""
    def pump() -> None:
        for line in iter(stream.readline, ""):
            sys.stderr.write(line)
            sink.append((int(time.time() * 1000), line.rstrip("\n")))
    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def ship_logs(session, group: str, stream: str, lines: list[tuple[int, str]]) -> None:
    """Puts the lines into the function's log group, one stream per run, as Lambda does."""
    if not lines:
        return
    logs = session.client("logs")
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    for start in range(0, len(lines), 1000):
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": t, "message": m} for t, m in lines[start:start + 1000]])


def put_invocation_metrics(session, name: str, invoked_at: float, failed: bool) -> None:
    """Lambda's invocation metrics for this one invocation (binary indicators: Errors is 0 or 1 for
    every invocation, so a dashboard's Errors line has data, zero, when nothing failed). Only against
    the emulator: AWS publishes these itself. One attempt, never failing the invocation."""
    if not os.environ.get("AWS_ENDPOINT_URL"):
        return
    dimensions = [{"Name": "FunctionName", "Value": name}]
    at = dt.datetime.fromtimestamp(invoked_at, dt.timezone.utc)
    duration_ms = round((time.time() - invoked_at) * 1000, 2)
    data = [{"MetricName": metric, "Dimensions": dimensions, "Timestamp": at, "Value": value, "Unit": unit}
            for metric, value, unit in (("Invocations", 1.0, "Count"), ("Errors", float(failed), "Count"),
                                      ("Duration", duration_ms, "Milliseconds"))]
    try:
        cloudwatch = session.client("cloudwatch", config=botocore.config.Config(retries={"total_max_attempts": 1}))
        cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=data)
    except Exception as exc:  # noqa: BLE001 - the function's result is what to report
        if errors.verbose():
            sys.stderr.write(f"{PROG}: the AWS/Lambda invocation metrics were not put: {exc}\n")


def session_for(region: str | None = None):
    # The Rust SDK reads AWS_REGION; boto3 only AWS_DEFAULT_REGION: honour both, as the README exports one.
    return boto3.session.Session(region_name=region or os.environ.get("AWS_REGION")
                                 or os.environ.get("AWS_DEFAULT_REGION"))


def function_environment(crate: str, stack: str) -> tuple[str, dict[str, str], dict]:
    session = session_for()
    cfn = session.client("cloudformation")
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]  # a missing stack: dev/errors.py says so
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    key = OUTPUT_FOR[crate]
    if key not in outputs:
        raise errors.Problem(f"Stack {stack} has no output {key}, so it has no {crate} to run: is it a "
                             "PrivateLink Governor stack? `make local-deploy` deploys one (give its name with --stack).",
                             detail=f"outputs of {stack}: {json.dumps(outputs, indent=2)}")
    name = outputs[key]
    lam = session.client("lambda")
    try:
        config = lam.get_function_configuration(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException as exc:
        raise errors.Problem(f"Stack {stack} names the function {name}, but Lambda in {session.region_name} has no "
                             "function of that name. Deploy the stack again with `make local-deploy`.") from exc
    variables = {k: str(v) for k, v in (config.get("Environment") or {}).get("Variables", {}).items()}
    return name, variables, config


def binary_of(crate: str, code_dir: str | None) -> Path:
    """The function's binary: prebuilt in `code_dir`, or built now with cargo."""
    if code_dir:
        binary = Path(code_dir) / crate
        if not binary.is_file():
            raise errors.usage(f"No prebuilt {crate} binary at {binary}. Build it (`cargo build -p {crate}`), "
                               "or leave out --code-dir and PLGOV_PREBUILT to build it now.")
        return binary
    subprocess.run(["cargo", "build", "--quiet", "-p", crate, "--bin", crate], cwd=ROOT, check=True)
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                          check=True, capture_output=True, text=True)
    return Path(json.loads(meta.stdout)["target_directory"]) / "debug" / crate


def read_event(path: str) -> str:
    """The event's text, refused with a message naming the file (and where in it) when it is not JSON."""
    shown = "standard input" if path == "-" else path
    if path == "-":
        text = sys.stdin.read()
    else:
        file = Path(path)
        if not file.exists():
            raise errors.usage(f"No event file {path} (looked in {Path.cwd()}). Give the path of a JSON file, "
                               "or - to read the event from standard input.")
        if file.is_dir():
            raise errors.usage(f"{path} is a directory, not an event file. Give the path of a JSON file, "
                               "or - to read the event from standard input.")
        try:
            text = file.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise errors.usage(f"Cannot read the event file {path}: {exc}.") from exc
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.usage(f"The event in {shown} is not JSON: {exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno}.") from exc
    return text


def function_error(crate: str, kind: str, body: bytes) -> errors.Problem:
    """The function's error result (errorType, errorMessage) as the message, its raw body as detail."""
    raw = body.decode(errors="replace")
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    message = " ".join(str(payload.get("errorMessage") or raw or "no message").split())
    error_type = payload.get("errorType") or "unknown error type"
    if kind == "init-error":
        return errors.Problem(f"{crate} failed to start: {message} ({error_type}).", detail=f"error result: {raw}")
    return errors.Problem(f"{crate} returned an error for this event: {message} ({error_type}).",
                          detail=f"error result: {raw}")


def run_function(crate: str, binary: Path, event: str, name: str, variables: dict[str, str], config: dict,
                 log_group: str, log_stream: str, logged: list[tuple[int, str]]) -> bytes:
    """Runs the binary for the one event; its result, or a Problem saying why there is none."""
    timeout = float(config.get("Timeout", 300)) + 30  # a debug build is slower than Lambda's
    arn = config.get("FunctionArn") or f"arn:aws:lambda:::function:{name}"
    with RuntimeApi(event.encode(), arn, float(config.get("Timeout", 300))) as api:
        runtime_env = {
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.get("MemorySize", 128)),
            "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        }
        log_format = (config.get("LoggingConfig") or {}).get("LogFormat")
        if log_format:
            runtime_env["AWS_LAMBDA_LOG_FORMAT"] = log_format
        env = {**os.environ, **runtime_env, **variables}
        try:
            function = subprocess.Popen([str(binary)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        except PermissionError as exc:
            raise errors.Problem(f"{binary} is not executable. Build it again with `cargo build -p {crate}`.") from exc
        pump = forward_logs(function.stdout, logged)
        deadline = time.monotonic() + timeout
        timed_out = False
        try:
            while not api.answered.wait(0.05) and function.poll() is None:
                if time.monotonic() > deadline:
                    timed_out = True
                    break
        finally:
            if function.poll() is None:
                function.terminate()
                try:
                    function.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    function.kill()
                    function.wait()
            pump.join(timeout=5)
    if api.outcome is None:
        if timed_out:
            raise errors.Problem(f"{crate} did not answer within {timeout:.0f} s (its Timeout is "
                                 f"{config.get('Timeout', 300)} s, plus 30 for a debug build).")
        said = next((m.strip() for _, m in reversed(logged) if m.strip()), "")
        because = f": {said}" if said else ""
        when = "while it handled the event" if api.handed_out else "before it took the event"
        raise errors.Problem(f"{crate} exited with code {function.returncode} {when}{because}. "
                             "Its log above says more.")
    kind, body = api.outcome
    if kind != "response":
        raise function_error(crate, kind, body)
    return body


@errors.main(prog=PROG)
def main() -> None:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help=" or ".join(sorted(OUTPUT_FOR)))
    parser.add_argument("event", help="a JSON file, or - for standard input")
    parser.add_argument("--stack", default=os.environ.get("STACK_NAME", "plgov"))
    parser.add_argument("--code-dir", default=os.environ.get("PLGOV_PREBUILT") or None, metavar="DIR",
                        help="take the function's binary from DIR instead of building it ($PLGOV_PREBUILT)")
    errors.add_verbose_flag(parser)
    args = parser.parse_args()
    if args.function not in OUTPUT_FOR:
        raise errors.usage(f"Unknown function {args.function!r}: dev/invoke runs "
                           f"{' or '.join(sorted(OUTPUT_FOR))}.{errors.suggest(args.function, sorted(OUTPUT_FOR))}")
    event = read_event(args.event)

    name, variables, config = function_environment(args.function, args.stack)
    binary = binary_of(args.function, args.code_dir)
    group = (config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}"
    stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
    logged: list[tuple[int, str]] = []
    invoked_at = time.time()
    try:
        result = run_function(args.function, binary, event, name, variables, config, group, stream, logged)
    except BaseException as exc:
        try:
            ship_logs(session_for(), group, stream, logged)
        except Exception:  # noqa: BLE001 - the function's failure is what to report
            pass
        if isinstance(exc, errors.Problem):  # the function failed (not Ctrl-C): an error, as Lambda counts it
            put_invocation_metrics(session_for(), name, invoked_at, failed=True)
        raise
    ship_logs(session_for(), group, stream, logged)
    put_invocation_metrics(session_for(), name, invoked_at, failed=False)
    text = result.decode(errors="replace")
    try:  # pretty, as `cargo lambda invoke --output-format json` printed it
        text = json.dumps(json.loads(text), indent=2)
    except json.JSONDecodeError:
        pass
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


if __name__ == "__main__":
    main()
