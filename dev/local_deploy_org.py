"""Deploys template.yaml into a local AWS Organization in the emulator: one hub, members by StackSet.

    python dev/local_deploy_org.py [--code-dir DIR] [--regions us-east-1,us-west-2]
        [--management 111111111111 --hub 222222222222 --members 333333333333,444444444444,555555555555]

1. The organization (dev/emulator/plgov_emulator/organization.py): the management account, the hub
   in OU Governance, members 1 and 2 in Workloads and member 3 in Workloads/Sandbox, with the fixed
   ids above. When the management account already has an organization holding those accounts, it
   is reused, so the script can run again.
2. The functions' code, zipped once, in one bucket per member region of the hub account
   (plgov-artifacts-HUB-REGION, readable by the organization): Lambda takes code only from a
   bucket in the function's own region, so the member template names
   `plgov-artifacts-HUB-${AWS::Region}`.
3. The hub stack (`plgov-hub`, in the hub account, first region) with DeploymentMode=hub and the
   organization's id.
4. The member stack set (`plgov-member`, in the management account): SERVICE_MANAGED, automatic
   deployment on, its instances in every account below the Workloads OU in every region, with
   DeploymentMode=member and the hub stack's outputs as parameters. Service-managed stack sets
   take no transforms (CreateStackSet, Capabilities: "StackSets with service-managed permissions
   don't currently support the use of macros in templates", AWS::Serverless included): the stack
   set gets the template aws-sam-translator produced, as AWS would get the hub's processed template.
   The emulator's UpdateStackSet does not redeploy instances, so a changed template or hub output
   recreates the stack set and its instances.

Prints a JSON summary: the organization, the hub's outputs, the stack instances. The functions are
built with cargo as dev/local_deploy.py does, or taken from --code-dir (or $PLGOV_PREBUILT).
AWS_ENDPOINT_URL must point at the emulator. A mistake is told in a sentence or two (dev/errors.py);
-v adds the traceback and AWS's answer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Sequence

import boto3
import botocore.exceptions

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "emulator"))

import errors  # noqa: E402
import local_deploy  # noqa: E402
from local_deploy import ROOT, log  # noqa: E402
from plgov_emulator.organization import Organization, build_organization  # noqa: E402

MANAGEMENT, HUB, MEMBERS = "111111111111", "222222222222", ("333333333333", "444444444444", "555555555555")
REGIONS = ("us-east-1", "us-west-2")
HUB_STACK, STACK_SET = "plgov-hub", "plgov-member"
TARGET_OU = "Workloads"
# The hub stack's outputs and the member parameters they become.
HUB_OUTPUTS = {"AllowlistTableArn": "HubAllowlistTableArn", "AuditTableArn": "HubAuditTableArn",
               "CostPoolTableArn": "HubCostPoolTableArn", "OrganizationsRoleArn": "OrganizationsRoleArn"}
CAPABILITIES = ["CAPABILITY_IAM"]

ClientFor = Callable[..., Any]  # (service, account, region=None) -> boto3 client


def clients(endpoint: str | None = None, default_region: str = REGIONS[0]) -> ClientFor:
    """A client factory: a client of `service` in `account` (credentials assumed into it)."""
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise errors.Problem(local_deploy.NO_ENDPOINT.replace("make local-deploy", "make local-deploy-org"))
    base = boto3.session.Session(region_name=default_region)
    credentials: dict[str, dict[str, str]] = {}

    def client_for(service: str, account: str, region: str | None = None) -> Any:
        if account not in credentials:
            credentials[account] = base.client("sts", endpoint_url=endpoint).assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/plgov-local-deploy",
                RoleSessionName="plgov-local-deploy")["Credentials"]
        creds = credentials[account]
        return boto3.client(service, endpoint_url=endpoint, region_name=region or default_region,
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"])

    return client_for


def existing_organization(client_for: ClientFor, management: str) -> Organization | None:
    """The organization `management` already manages, read back from Organizations; None if none."""
    orgs = client_for("organizations", management)
    try:
        described = orgs.describe_organization()["Organization"]
    except botocore.exceptions.ClientError as err:
        if err.response["Error"]["Code"] == "AWSOrganizationsNotInUseException":
            return None
        raise
    if described["MasterAccountId"] != management:
        raise errors.usage(f"Account {management} is a member of organization {described['Id']}, not its "
                           "management account. Give --management the account that manages it, or a new one.")
    root = orgs.list_roots()["Roots"][0]["Id"]
    ous: dict[str, str] = {}

    def walk(parent: str, prefix: str) -> None:
        for ou in orgs.list_organizational_units_for_parent(ParentId=parent)["OrganizationalUnits"]:
            path = f"{prefix}{ou['Name']}"
            ous[path] = ou["Id"]
            walk(ou["Id"], f"{path}/")

    walk(root, "")
    accounts = [a["Id"] for a in orgs.list_accounts()["Accounts"] if a["Id"] != management]
    parents = {management: root, **{a: orgs.list_parents(ChildId=a)["Parents"][0]["Id"] for a in accounts}}
    governance = ous.get("Governance")
    hubs = [a for a in accounts if parents[a] == governance]
    members = [a for a in accounts if parents[a] != governance and parents[a] != root]
    if not hubs:
        raise errors.Problem(f"Organization {described['Id']} has no account in OU Governance to be the hub. "
                             "Give --management an account without an organization, and one is built.")
    return Organization(described["Id"], described["Arn"], root, management, hubs[0], sorted(members), ous, parents)


def organization(client_for: ClientFor, management: str | None = None, hub: str | None = None,
                 members: Sequence[str] = ()) -> Organization:
    """The organization of `management` if it has one holding `hub` and `members`, else a new one
    (random account ids where none are given)."""
    if management is not None:
        found = existing_organization(client_for, management)
        if found is not None:
            wanted = {a for a in (hub, *members) if a}
            missing = wanted - {found.hub, *found.members}
            if missing:
                raise errors.usage(f"Organization {found.id} of {management} exists without the account(s) "
                                   f"{', '.join(sorted(missing))}. Give --hub and --members from it, or another "
                                   "--management account.")
            log(f"reusing organization {found.id}")
            return found
    org = build_organization(lambda service, account: client_for(service, account), management,
                             max(3, len(members)), hub, list(members))
    log(f"created organization {org.id}: hub {org.hub}, members {', '.join(org.members)}")
    return org


def upload_code(client_for: ClientFor, org: Organization, regions: Sequence[str],
                binaries: dict[str, Path]) -> dict[str, dict[str, str]]:
    """Puts the zipped functions into plgov-artifacts-HUB-REGION of the hub account for each region,
    readable by the organization's accounts; returns each function's key (the same in every bucket)."""
    first = client_for("s3", org.hub, regions[0])
    code = local_deploy.upload(first, f"{org.hub}-{regions[0]}", binaries)  # zipped once
    for region in regions:
        s3 = client_for("s3", org.hub, region)
        bucket = f"plgov-artifacts-{org.hub}-{region}"
        if region != regions[0]:
            try:
                s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
            except botocore.exceptions.ClientError as err:
                if err.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
            for name, location in code.items():
                s3.copy_object(Bucket=bucket, Key=location["Key"], CopySource=location)
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "TheOrganizationReadsTheCode", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": org.id}}}]}))
    return code


def regional_code(template: dict[str, Any], hub: str) -> dict[str, Any]:
    """The template with each function's code taken from the bucket of the stack's own region."""
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            resource["Properties"]["Code"]["S3Bucket"] = {"Fn::Sub": f"plgov-artifacts-{hub}-${{AWS::Region}}"}
    return template


def deploy_hub(client_for: ClientFor, org: Organization, code: dict[str, dict[str, str]], region: str,
               stack: str = HUB_STACK) -> dict[str, str]:
    parameters = {"DeploymentMode": "hub", "OrganizationId": org.id}
    template = local_deploy.cloudformation_template(code, parameters)
    return local_deploy.deploy(client_for("cloudformation", org.hub, region), stack, template, parameters)


def member_parameters(hub_outputs: dict[str, str]) -> dict[str, str]:
    return {"DeploymentMode": "member", **{param: hub_outputs[out] for out, param in HUB_OUTPUTS.items()}}


def roll_out_members(client_for: ClientFor, org: Organization, code: dict[str, dict[str, str]],
                     hub_outputs: dict[str, str], regions: Sequence[str], target_ou: str = TARGET_OU,
                     stack_set: str = STACK_SET) -> list[dict[str, str]]:
    """The member stack set, SERVICE_MANAGED with automatic deployment, deployed to every account
    below `target_ou` in `regions`; returns its stack instances."""
    parameters = member_parameters(hub_outputs)
    template = regional_code(local_deploy.cloudformation_template(code, parameters), org.hub)
    body = json.dumps(template)
    listed = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
    cfn = client_for("cloudformation", org.management, regions[0])
    try:
        current = cfn.describe_stack_set(StackSetName=stack_set)["StackSet"]
    except botocore.exceptions.ClientError as err:
        if err.response["Error"]["Code"] not in ("StackSetNotFoundException", "StackSetNotFound"):
            raise
        current = None
    if current is not None and current.get("Status") != "DELETED":
        same = (json.loads(current.get("TemplateBody") or "{}") == template and
                {p["ParameterKey"]: p["ParameterValue"] for p in current.get("Parameters", [])} == parameters)
        if not same:  # the emulator's UpdateStackSet leaves the instances as they were
            log(f"stack set {stack_set} changed: recreating it and its instances")
            instances = cfn.list_stack_instances(StackSetName=stack_set)["Summaries"]
            accounts = sorted({i["Account"] for i in instances})
            if accounts:
                cfn.delete_stack_instances(StackSetName=stack_set, Accounts=accounts,
                                           Regions=sorted({i["Region"] for i in instances}), RetainStacks=False)
            cfn.delete_stack_set(StackSetName=stack_set)
            current = None
    if current is None or current.get("Status") == "DELETED":
        log(f"creating stack set {stack_set} in the management account {org.management}")
        cfn.create_stack_set(StackSetName=stack_set, TemplateBody=body, Parameters=listed, Capabilities=CAPABILITIES,
                             PermissionModel="SERVICE_MANAGED",
                             AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
    log(f"deploying {stack_set} to OU {target_ou} in {', '.join(regions)}")
    cfn.create_stack_instances(StackSetName=stack_set, Regions=list(regions),
                               DeploymentTargets={"OrganizationalUnitIds": [org.ous[target_ou]]})
    return [{"account": i["Account"], "region": i["Region"], "status": i["Status"]}
            for i in cfn.list_stack_instances(StackSetName=stack_set)["Summaries"]]


def deploy_org(client_for: ClientFor, binaries: dict[str, Path], management: str | None = MANAGEMENT,
               hub: str | None = HUB, members: Sequence[str] = MEMBERS, regions: Sequence[str] = REGIONS,
               code: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """The whole local organization deployment; returns the summary main() prints. `code` reuses
    code already uploaded by upload_code() for the same hub."""
    org = organization(client_for, management, hub, members)
    code = code or upload_code(client_for, org, regions, binaries)
    log(f"deploying the hub stack {HUB_STACK} in account {org.hub} ({regions[0]})")
    outputs = deploy_hub(client_for, org, code, regions[0])
    instances = roll_out_members(client_for, org, code, outputs, regions)
    return {"organization": asdict(org), "hub": {"account": org.hub, "region": regions[0], "stack": HUB_STACK,
                                                 "outputs": outputs},
            "stackSet": {"name": STACK_SET, "account": org.management, "targets": [TARGET_OU],
                         "regions": list(regions), "instances": instances},
            "code": code}


@errors.main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code-dir", default=os.environ.get("PLGOV_PREBUILT") or None, metavar="DIR",
                        help="take the functions' binaries from DIR instead of building them ($PLGOV_PREBUILT)")
    parser.add_argument("--regions", default=",".join(REGIONS), help="member regions; the hub is in the first")
    parser.add_argument("--management", default=MANAGEMENT)
    parser.add_argument("--hub", default=HUB)
    parser.add_argument("--members", default=",".join(MEMBERS))
    errors.add_verbose_flag(parser)
    args = parser.parse_args()
    regions = [r for r in args.regions.split(",") if r]
    if not regions:
        raise errors.usage("--regions names no region (for example --regions us-east-1,us-west-2).")
    for account in (args.management, args.hub, *[m for m in args.members.split(",") if m]):
        if not (account.isdigit() and len(account) == 12):
            raise errors.usage(f"{account!r} is not an AWS account id (12 digits).")
    client_for = clients(default_region=regions[0])
    binaries = local_deploy.prebuilt(args.code_dir) if args.code_dir else local_deploy.build()
    summary = deploy_org(client_for, binaries, args.management, args.hub,
                         [m for m in args.members.split(",") if m], regions)
    run_dir = ROOT / "dev" / ".run"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "org.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    print(json.dumps(summary, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
