"""Cross-account DynamoDB access is refused for a table encrypted with the AWS managed key.

DynamoDB developer guide, "Resource-based policy considerations", cross-account considerations:
"Cross-account access using resource-based policies doesn't support encrypted tables with AWS
managed keys because you can't grant cross-account access to the AWS managed KMS policy." A table
created with `SSESpecification: {SSEEnabled: true}` and no KMSMasterKeyId is encrypted with the
AWS managed key `alias/aws/dynamodb`; with SSE off (the default) DynamoDB uses its AWS owned key,
and a customer managed key can grant other accounts in its own key policy.

cross_account.py lets another account in whenever the table's resource policy allows it, so a hub
template that keeps `SSEEnabled: true` on its shared tables passes locally and fails in AWS. Here,
after cross_account.authorize() has allowed a cross-account request, every item operation
(everything it authorizes but DescribeTable, which reads no item) on a table whose encryption is
the AWS managed key fails with AccessDeniedException. The message is the one DynamoDB gives when
it cannot use a table's KMS key ("KMS key access denied error: ... you are not allowed to access",
as quoted in aws/aws-cdk issues 10010 and 18616); that AWS words this particular case the same
way is not verified.

moto's bookkeeping: a table's `sse_specification` keeps `Enabled` (API) or `SSEEnabled`
(CloudFormation) and moto fills `KMSMasterKeyId` with the ARN of the account's
`alias/aws/dynamodb` key when none was given, even with SSE off; so "AWS managed" here is SSE on
and a KMSMasterKeyId that is that key (by ARN, id or alias) or absent.

Not modelled: customer managed keys' key policies (always allowed), KMS grants.
"""

from __future__ import annotations

from typing import Any

from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.responses import DynamoHandler

from . import cross_account

AWS_MANAGED_ALIAS = "alias/aws/dynamodb"
_MESSAGE = ("KMS key access denied error: com.amazonaws.services.kms.model.AWSKMSException: The ciphertext "
            "refers to a customer master key that does not exist, does not exist in this region, or you are "
            "not allowed to access. (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException)")


class KmsAccessDenied(DynamodbException):
    def __init__(self) -> None:
        super().__init__(ERROR_TYPE_PREFIX + "AccessDeniedException", message=_MESSAGE)


def _enabled(value: Any) -> bool:
    return value.strip().lower() == "true" if isinstance(value, str) else bool(value)


def uses_aws_managed_key(table: Any, account: str, region: str) -> bool:
    spec = getattr(table, "sse_specification", None) or {}
    if not _enabled(spec.get("Enabled", spec.get("SSEEnabled"))):
        return False
    key = spec.get("KMSMasterKeyId")
    if not key or str(key).endswith(AWS_MANAGED_ALIAS):
        return True
    from moto.kms import kms_backends

    kms = cross_account._existing(kms_backends, account, region)
    if kms is None or not kms.alias_exists(AWS_MANAGED_ALIAS):
        return False
    managed = kms.describe_key(AWS_MANAGED_ALIAS)
    return str(key) in (managed.arn, managed.id)


def install() -> None:
    """Patch cross_account.authorize (after cross_account.install(), whose handler calls it)."""
    original_authorize = cross_account.authorize

    def authorize(handler: DynamoHandler, operation: str) -> None:
        caller_account = handler.current_account
        original_authorize(handler, operation)
        owner, region = handler.current_account, handler.region
        if owner == caller_account or operation == "DescribeTable":
            return
        backend = cross_account._existing(cross_account.dynamodb_backends, owner, region)
        if backend is None:
            return
        for given in cross_account._table_names(operation, handler.body):
            name = cross_account.table_ref(given, caller_account, region).name
            try:
                table = backend.get_table(name)
            except Exception:  # moto answers ResourceNotFoundException as before
                continue
            if uses_aws_managed_key(table, owner, region):
                raise KmsAccessDenied()

    cross_account.authorize = authorize
