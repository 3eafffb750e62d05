"""A local AWS Organization for PrivateLink Governor: a management account, a hub (governance)
account and member accounts in organizational units, built in the emulator's Organizations.

    from plgov_emulator.organization import build_organization
    org = build_organization(client_for)            # client_for(service, account) -> boto3 client
    org.hub, org.members, org.id, org.ous["Workloads"]

or from a shell, against a running emulator (prints the organization as JSON):

    python -m plgov_emulator.organization --url http://127.0.0.1:4566 [--management 111111111111]
        [--hub-id 222222222222 --member-ids 333333333333,444444444444,555555555555]

The layout: Root > Governance (the hub account), Root > Workloads (members 1 and 2),
Root > Workloads > Sandbox (member 3), so organization paths (aws:PrincipalOrgPaths) of more than
one level are exercised. The management account stays in the root.

Account ids: Organizations' CreateAccount has no parameter for the new account's id and moto
draws it at random (moto.organizations.utils.make_random_account_id). By default the generated
ids are used and returned (tests running in parallel need fresh ones). To get specific ids
(a fixed local setup), tag the CreateAccount call with `plgov-emulator:account-id` = the 12-digit
id: install() below makes the emulator create the account under that id (and drops the tag).
An id already in an organization is refused with ConstraintViolationException.

The accounts are usable at once: moto's STS lets any credentials assume
`arn:aws:iam::<account>:role/<any name>`, so a client "in" a member account is a client with
credentials assumed into it (as conftest.client_for does); moto also creates the account's
OrganizationAccountAccessRole.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

ACCOUNT_ID_TAG = "plgov-emulator:account-id"

ClientFor = Callable[[str, str], Any]  # (service, account) -> boto3 client


@dataclass
class Organization:
    id: str
    arn: str
    root_id: str
    management: str
    hub: str
    members: list[str]
    ous: dict[str, str] = field(default_factory=dict)  # "Governance", "Workloads", "Workloads/Sandbox"
    parents: dict[str, str] = field(default_factory=dict)  # account -> its parent (OU or root) id

    def path_of(self, account: str) -> str:
        """The account's aws:PrincipalOrgPaths value: o-id/r-id/ou-.../ (its parent OUs)."""
        by_id = {v: k for k, v in self.ous.items()}
        parent = self.parents.get(account, self.root_id)
        names = by_id.get(parent, "").split("/") if parent in by_id else []
        ids = [self.ous["/".join(names[: i + 1])] for i in range(len(names))]
        return "/".join([self.id, self.root_id, *ids]) + "/"


def _create_account(org: Any, name: str, account_id: str | None) -> str:
    kwargs: dict[str, Any] = {"AccountName": name, "Email": f"{name}@example.com"}
    if account_id:
        kwargs["Tags"] = [{"Key": ACCOUNT_ID_TAG, "Value": account_id}]
    status = org.create_account(**kwargs)["CreateAccountStatus"]
    if status.get("State") != "SUCCEEDED":  # moto completes at once; AWS needs polling
        raise RuntimeError(f"CreateAccount {name}: {status}")
    return str(status["AccountId"])


def build_organization(client_for: ClientFor, management: str | None = None, members: int = 3,
                       hub_id: str | None = None, member_ids: Sequence[str] = ()) -> Organization:
    """Creates the organization in `management` (a fresh random account by default)."""
    if management is None:
        import random

        management = str(random.randint(200000000000, 999999999999))
    org = client_for("organizations", management)
    described = org.create_organization(FeatureSet="ALL")["Organization"]
    root_id = org.list_roots()["Roots"][0]["Id"]
    ous: dict[str, str] = {}

    def ou(path: str, parent: str) -> str:
        ous[path] = org.create_organizational_unit(ParentId=parent, Name=path.split("/")[-1])[
            "OrganizationalUnit"]["Id"]
        return ous[path]

    governance = ou("Governance", root_id)
    workloads = ou("Workloads", root_id)
    sandbox = ou("Workloads/Sandbox", workloads)

    parents: dict[str, str] = {management: root_id}

    def place(account: str, parent: str) -> None:
        org.move_account(AccountId=account, SourceParentId=root_id, DestinationParentId=parent)
        parents[account] = parent

    hub = _create_account(org, "governance", hub_id)
    place(hub, governance)
    member_accounts = []
    for i in range(members):
        account = _create_account(org, f"member{i + 1}", member_ids[i] if i < len(member_ids) else None)
        place(account, sandbox if i >= 2 else workloads)
        member_accounts.append(account)
    return Organization(described["Id"], described["Arn"], root_id, management, hub, member_accounts, ous,
                        parents)


def install() -> None:
    """Patch moto in this process: CreateAccount honours the `plgov-emulator:account-id` tag."""
    from moto.organizations import utils as org_utils
    from moto.organizations.exceptions import ConstraintViolationException, InvalidInputException
    from moto.organizations.models import OrganizationsBackend, organizations_backends

    original = OrganizationsBackend.create_account
    lock = threading.Lock()

    def in_an_organization(account: str) -> bool:
        if account in organizations_backends.master_accounts:
            return True
        per_account = dict.get(organizations_backends, account)
        return per_account is not None and any(b.org is not None for b in list(dict.values(per_account)))

    def create_account(self: OrganizationsBackend, **kwargs: Any) -> dict[str, Any]:
        tags = kwargs.get("Tags") or []
        wanted = next((t.get("Value") for t in tags if t.get("Key") == ACCOUNT_ID_TAG), None)
        with lock:  # the id generator is swapped for the call: no other CreateAccount meanwhile
            if wanted is None:
                return original(self, **kwargs)
            if not re.fullmatch(r"\d{12}", str(wanted)):
                raise InvalidInputException(f"{ACCOUNT_ID_TAG} must be a 12-digit account id")
            if in_an_organization(wanted):
                raise ConstraintViolationException(f"account {wanted} is already in an organization")
            kwargs = {**kwargs, "Tags": [t for t in tags if t.get("Key") != ACCOUNT_ID_TAG]}
            generator = org_utils.make_random_account_id
            org_utils.make_random_account_id = lambda: str(wanted)
            try:
                return original(self, **kwargs)
            finally:
                org_utils.make_random_account_id = generator

    OrganizationsBackend.create_account = create_account


def _client_factory(url: str, region: str) -> ClientFor:
    import boto3

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=region)

    def client_for(service: str, account: str) -> Any:
        creds = session.client("sts", endpoint_url=url).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/plgov-local", RoleSessionName="plgov-local")["Credentials"]
        return boto3.client(service, endpoint_url=url, region_name=region,
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"])

    return client_for


def main() -> None:
    parser = argparse.ArgumentParser(description="Build a local AWS Organization in the emulator.")
    parser.add_argument("--url", default="http://127.0.0.1:4566")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--management", help="management account id (default: a random one)")
    parser.add_argument("--hub-id", help="the hub account's id (default: generated)")
    parser.add_argument("--member-ids", default="", help="comma-separated member account ids")
    parser.add_argument("--members", type=int, default=3)
    args = parser.parse_args()
    member_ids = [m for m in args.member_ids.split(",") if m]
    org = build_organization(_client_factory(args.url, args.region), args.management,
                             max(args.members, len(member_ids)), args.hub_id, member_ids)
    print(json.dumps(asdict(org), indent=2))


if __name__ == "__main__":
    main()
