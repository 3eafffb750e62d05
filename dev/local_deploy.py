"""Deploys template.yaml into the local AWS emulator as a CloudFormation stack.

    python dev/local_deploy.py [--stack plgov] [--param Key=Value ...] [--json] [--code-dir DIR]

Builds both functions (host architecture: the emulator stores the code but never runs it), or
with --code-dir (or $PLGOV_PREBUILT) takes them prebuilt from DIR (DIR/connection-approver, ...),
zips each binary as `bootstrap` into an S3 bucket of the emulator, points the functions'
CodeUri there, turns the SAM template into plain CloudFormation with aws-sam-translator
(the emulator's CloudFormation does not apply transforms), creates or updates the stack and
prints its outputs. AWS_ENDPOINT_URL and the credentials in the environment choose where.
A mistake is told in a sentence or two (dev/errors.py); -v adds the traceback and AWS's answer.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

sys.path.insert(0, str(Path(__file__).resolve().parent))

import errors  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ("connection-approver", "cost-reporter")
NO_ENDPOINT = ("AWS_ENDPOINT_URL is not set: this deploys into the local emulator only. "
               "Export AWS_ENDPOINT_URL=http://127.0.0.1:4566, or run `make local-deploy`, which does.")


def log(message: str) -> None:
    print(f"[local-deploy] {message}", file=sys.stderr, flush=True)


class NoManagedPolicies:
    """The template uses inline policies only; the translator still asks for this map."""

    def load(self) -> dict[str, str]:
        return {"AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}


def target_dir() -> Path:
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                          check=True, capture_output=True, text=True)
    return Path(json.loads(meta.stdout)["target_directory"])


def build() -> dict[str, Path]:
    log("building the functions (the first build compiles the AWS SDK and takes several minutes)")
    args = ["cargo", "build", "--bins"]
    for name in FUNCTIONS:
        args += ["-p", name]
    subprocess.run(args, cwd=ROOT, check=True)
    out = target_dir() / "debug"
    return {name: out / name for name in FUNCTIONS}


def prebuilt(code_dir: str | Path) -> dict[str, Path]:
    """The functions' binaries already built in `code_dir` (e.g. a cargo target's debug/)."""
    binaries = {name: Path(code_dir) / name for name in FUNCTIONS}
    missing = [str(path) for path in binaries.values() if not path.is_file()]
    if missing:
        raise errors.usage(f"No prebuilt function binary at {', '.join(missing)}. Build them "
                           f"(`cargo build -p {' -p '.join(FUNCTIONS)}`), or leave out --code-dir and "
                           "PLGOV_PREBUILT to build them now.")
    return binaries


def zipped(binary: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        # writestr() takes the compression of the ZipInfo, not the archive's. Level 1: a debug
        # binary of 800 MB zips to a fifth in seconds, and the emulator keeps each function's zip.
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, binary.read_bytes(), compresslevel=1)
    return buffer.getvalue()


def upload(s3: Any, account: str, binaries: dict[str, Path]) -> dict[str, dict[str, str]]:
    bucket = f"plgov-artifacts-{account}"
    try:
        # Outside us-east-1, S3 wants the bucket's region said (as AWS does).
        region = s3.meta.region_name
        s3.create_bucket(Bucket=bucket, **({} if region == "us-east-1" else
                                           {"CreateBucketConfiguration": {"LocationConstraint": region}}))
    except botocore.exceptions.ClientError as err:
        if err.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    code = {}
    for name, binary in binaries.items():
        body = zipped(binary)
        key = f"{name}/{hashlib.sha256(body).hexdigest()[:16]}.zip"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        code[name] = {"Bucket": bucket, "Key": key}
    return code


def cloudformation_template(code: dict[str, dict[str, str]], parameters: dict[str, str]) -> dict[str, Any]:
    sam = yaml_parse((ROOT / "template.yaml").read_text())
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            crate = Path(resource["Properties"]["CodeUri"]).name
            resource["Properties"]["CodeUri"] = code[crate]
    return transform(sam, parameters, NoManagedPolicies())


def deploy(cfn: Any, stack: str, template: dict[str, Any], parameters: dict[str, str]) -> dict[str, str]:
    args = {
        "StackName": stack,
        "TemplateBody": json.dumps(template),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    }
    try:
        cfn.describe_stacks(StackName=stack)
        exists = True
    except botocore.exceptions.ClientError as err:
        if not errors.stack_missing(err):  # denied, throttled...: not a reason to create it
            raise
        exists = False
    if exists:
        log(f"updating stack {stack}")
        try:
            cfn.update_stack(**args)
        except botocore.exceptions.ClientError as err:
            if "No updates" not in str(err):
                raise
    else:
        log(f"creating stack {stack}")
        cfn.create_stack(**args)
    for _ in range(300):
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        status = described["StackStatus"]
        if status.endswith("_COMPLETE") and "ROLLBACK" not in status and "DELETE" not in status:
            return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        if status.endswith("FAILED") or "ROLLBACK" in status:
            reason = described.get("StackStatusReason") or "no reason given"
            raise errors.Problem(f"Stack {stack} ended in {status}: {reason}. "
                                 f"`aws cloudformation describe-stack-events --stack-name {stack}` shows each resource.")
        time.sleep(0.2)
    raise errors.Problem(f"Stack {stack} did not finish within a minute (still {status}).")


@errors.main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default=os.environ.get("STACK_NAME", "plgov"))
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="a template parameter (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the outputs as one JSON object")
    parser.add_argument("--code-dir", default=os.environ.get("PLGOV_PREBUILT") or None, metavar="DIR",
                        help="take the functions' binaries from DIR instead of building them ($PLGOV_PREBUILT)")
    errors.add_verbose_flag(parser)
    args = parser.parse_args()
    parameters = {}
    for pair in args.param:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise errors.usage(f"--param {pair!r} is not KEY=VALUE (for example --param DryRun=true).")
        parameters[key] = value
    if not os.environ.get("AWS_ENDPOINT_URL"):
        raise errors.Problem(NO_ENDPOINT)

    # The Rust SDK reads AWS_REGION; boto3 only AWS_DEFAULT_REGION: honour both, as the README exports one.
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    account = session.client("sts").get_caller_identity()["Account"]
    code = upload(session.client("s3"), account, prebuilt(args.code_dir) if args.code_dir else build())
    template = cloudformation_template(code, parameters)
    # Kept for inspection and for the tests that check every resource was created.
    run_dir = ROOT / "dev" / ".run"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / f"{args.stack}-{account}.template.json").write_text(json.dumps(template, indent=2))
    outputs = deploy(session.client("cloudformation"), args.stack, template, parameters)
    if args.json:
        print(json.dumps(outputs, indent=2, sort_keys=True))
    else:
        log(f"stack {args.stack} deployed in account {account}; outputs:")
        for key, value in sorted(outputs.items()):
            print(f"{key} = {value}")


if __name__ == "__main__":
    main()
