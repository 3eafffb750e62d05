"""Runs a function of the locally deployed stack once, under cargo-lambda's Lambda runtime emulator.

    dev/invoke <function> <event.json | -> [--stack plgov]

<function> is the crate name (connection-approver or cost-reporter). The binary runs with exactly
the environment variables the stack gave the function (read from the emulator's Lambda
configuration), plus the Lambda runtime variables, the AWS endpoint, region and credentials of
this environment. The function's JSON result goes to stdout, its logs to stderr and, as Lambda
does, to the function's log group in the emulator's CloudWatch Logs (where the dashboard's Logs
Insights widget reads them); an error result exits 1 with the error on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_FOR = {"connection-approver": "ConnectionApproverFunctionName", "cost-reporter": "CostReporterFunctionName"}
CARGO_LAMBDA = Path(sys.executable).parent / "cargo-lambda"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"{what} exited before it listened on port {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{what} did not listen on port {port}")


def forward_logs(stream, sink: list[tuple[int, str]]) -> threading.Thread:
    """Echoes the function's log lines to stderr and keeps them with their time."""
    def pump() -> None:
        for line in iter(stream.readline, ""):
            sys.stderr.write(line)
            sink.append((int(time.time() * 1000), line.rstrip("\n")))
    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def ship_logs(session, group: str, lines: list[tuple[int, str]]) -> None:
    """Puts the lines into the function's log group, one stream per run, as Lambda does."""
    if not lines:
        return
    logs = session.client("logs")
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    for start in range(0, len(lines), 1000):
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": t, "message": m} for t, m in lines[start:start + 1000]])


def function_environment(crate: str, stack: str) -> tuple[str, dict[str, str], dict]:
    # The Rust SDK reads AWS_REGION; boto3 only AWS_DEFAULT_REGION: honour both, as the README exports one.
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])}
    name = outputs[OUTPUT_FOR[crate]]
    config = session.client("lambda").get_function_configuration(FunctionName=name)
    variables = {k: str(v) for k, v in (config.get("Environment") or {}).get("Variables", {}).items()}
    return name, variables, config


def session_for_logs():
    return boto3.session.Session(region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", choices=sorted(OUTPUT_FOR))
    parser.add_argument("event", help="a JSON file, or - for standard input")
    parser.add_argument("--stack", default=os.environ.get("STACK_NAME", "plgov"))
    args = parser.parse_args()
    event = sys.stdin.read() if args.event == "-" else Path(args.event).read_text()
    json.loads(event)  # refuse a broken file here, with the parser's message

    name, variables, config = function_environment(args.function, args.stack)
    subprocess.run(["cargo", "build", "--quiet", "-p", args.function, "--bin", args.function], cwd=ROOT, check=True)
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                          check=True, capture_output=True, text=True)
    binary = Path(json.loads(meta.stdout)["target_directory"]) / "debug" / args.function

    port = free_port()
    emulator = subprocess.Popen([str(CARGO_LAMBDA), "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1",
                                 "-P", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    function = None
    try:
        wait_for_port(port, emulator, "cargo lambda watch")
        runtime_env = {
            "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}/.rt",
            "AWS_LAMBDA_FUNCTION_NAME": "_",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.get("MemorySize", 128)),
        }
        log_format = (config.get("LoggingConfig") or {}).get("LogFormat")
        if log_format:
            runtime_env["AWS_LAMBDA_LOG_FORMAT"] = log_format
        env = {**os.environ, **runtime_env, **variables}
        function = subprocess.Popen([str(binary)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
        logged: list[tuple[int, str]] = []
        pump = forward_logs(function.stdout, logged)
        with tempfile.NamedTemporaryFile("w", suffix=".json") as payload:
            payload.write(event)
            payload.flush()
            result = subprocess.run([str(CARGO_LAMBDA), "lambda", "invoke", "_", "--data-file", payload.name,
                                     "-A", "127.0.0.1", "-P", str(port), "--output-format", "json"],
                                    capture_output=True, text=True, timeout=float(config.get("Timeout", 300)) + 30)
        function.terminate()
        pump.join(timeout=5)
        group = (config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}"
        ship_logs(session_for_logs(), group, logged)
        if result.returncode != 0:
            sys.stderr.write(f"{name} returned an error:\n{result.stdout}{result.stderr}")
            raise SystemExit(1)
        sys.stdout.write(result.stdout if result.stdout.endswith("\n") else result.stdout + "\n")
    finally:
        for process in (function, emulator):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()


if __name__ == "__main__":
    main()
