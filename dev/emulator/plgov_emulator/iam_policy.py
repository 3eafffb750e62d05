"""IAM policy evaluation for resource-based policies (pure: no moto, no I/O).

Used by cross_account.py to decide DynamoDB requests against a table's resource policy. What it
evaluates, following the IAM User Guide ("Policy evaluation logic", "IAM JSON policy elements",
"Condition operators", "Single-valued vs. multivalued context keys", "Policy variables"):

- Statements: `Effect` Allow/Deny; `Principal`/`NotPrincipal` ("*", {"AWS": "*"}, an account id or
  `arn:aws:iam::ACCOUNT:root` (any principal of that account), a role ARN (the sessions of that
  role), an assumed-role session ARN, a user ARN; `Service`/`Federated`/`CanonicalUser` never match
  an IAM caller); `Action`/`NotAction` (case-insensitive, `*` and `?` wildcards); `Resource`/
  `NotResource` (case-sensitive, wildcards, policy variables; a statement with neither matches
  every resource); `Condition`.
- Decision: an applicable Deny wins (explicit deny); else an applicable Allow allows; else the
  request is implicitly denied.
- Condition operators: StringEquals, StringNotEquals, StringEqualsIgnoreCase,
  StringNotEqualsIgnoreCase, StringLike, StringNotLike, ArnEquals, ArnLike, ArnNotEquals, ArnNotLike
  (ARNs compared as strings with wildcards), Bool, Null, NumericEquals/NotEquals/LessThan/
  LessThanEquals/GreaterThan/GreaterThanEquals; the `...IfExists` suffix; the `ForAllValues:` and
  `ForAnyValue:` qualifiers. Operators of a block are ANDed, keys of an operator are ANDed, the
  values of one key are ORed. An operator the evaluator does not know makes the condition false
  (AWS would have refused the policy when it was put).
- Missing keys: a positive operator is false, a negated one (`...Not...`) true, `...IfExists`
  true. `ForAllValues:` over a missing or empty key is true, `ForAnyValue:` false (IAM User Guide:
  "If the key values in the request resolve to an empty data set ... ForAllValues returns true,
  and ... ForAnyValue returns false"). A multivalued key under a plain operator is treated like
  `ForAnyValue:` (AWS says to always qualify multivalued keys).
- Condition key names are case-insensitive (IAM User Guide: "Key names are case-insensitive").
- Policy variables (only with `"Version": "2012-10-17"`, as in AWS): `${key}` for any single-valued
  key of the request context (e.g. `${aws:PrincipalAccount}`, `${aws:PrincipalOrgID}`,
  `${aws:PrincipalArn}`), `${key, 'default'}`, and `${*}`, `${?}`, `${$}` for the literal
  characters. A variable's value is literal text even under StringLike (its `*` is no wildcard).
  A variable whose key is absent (and has no default) matches nothing, so the statement does not
  apply (IAM User Guide: "not present ... any attempt to match it fails").
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

ALLOW, DENY, IMPLICIT_DENY = "Allow", "Deny", "ImplicitDeny"

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


class _Unresolved(Exception):
    """A policy variable whose key is not in the request context."""


@dataclass
class Caller:
    """Who makes the request, as IAM sees it."""

    account: str
    arn: str  # the ARN in error messages: an assumed-role session ARN, a user ARN or the root
    principal_arn: str  # aws:PrincipalArn: for a role session, the role's ARN
    principal_type: str = "Account"  # aws:PrincipalType: Account, User or AssumedRole


@dataclass
class Request:
    caller: Caller
    action: str  # e.g. dynamodb:PutItem
    resource: str  # e.g. arn:aws:dynamodb:us-east-1:111122223333:table/audit
    context: dict[str, Any] = field(default_factory=dict)  # condition keys: str or list of str

    def value(self, key: str) -> Any:
        lowered = key.lower()
        for k, v in self.context.items():
            if k.lower() == lowered:
                return v
        return None


@dataclass
class Decision:
    effect: str  # ALLOW, DENY (explicit) or IMPLICIT_DENY
    statement: str | None = None  # Sid (or index) of the deciding statement


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _substitute(text: str, request: Request, variables: bool) -> list[tuple[bool, str]]:
    """Splits a policy string into (literal, piece): literal pieces come from variables and must
    be matched as they are; the others may carry wildcards."""
    if not variables:
        return [(False, text)]
    pieces: list[tuple[bool, str]] = []
    last = 0
    for m in _VARIABLE.finditer(text):
        pieces.append((False, text[last:m.start()]))
        inner = m.group(1)
        if inner in ("*", "?", "$"):
            pieces.append((True, inner))
        else:
            default = _DEFAULT.match(inner)
            key = default.group(1) if default else inner.strip()
            value = request.value(key)
            if isinstance(value, list):
                value = None  # multivalued keys cannot be policy variables
            if value is None:
                if default is None:
                    raise _Unresolved(key)
                value = default.group(2)
            pieces.append((True, _text(value)))
        last = m.end()
    pieces.append((False, text[last:]))
    return pieces


def _pattern(pieces: list[tuple[bool, str]], wildcards: bool, ignore_case: bool = False) -> re.Pattern[str]:
    out = []
    for literal, piece in pieces:
        if literal or not wildcards:
            out.append(re.escape(piece))
        else:
            out.append("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in piece))
    return re.compile("^" + "".join(out) + "$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _matches(policy_value: Any, actual: str, request: Request, variables: bool, wildcards: bool,
             ignore_case: bool = False) -> bool:
    try:
        pieces = _substitute(_text(policy_value), request, variables)
    except _Unresolved:
        return False
    return bool(_pattern(pieces, wildcards, ignore_case).match(actual))


def _action_matches(patterns: Any, action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in _as_list(patterns))


def _resource_matches(patterns: Any, resource: str, request: Request, variables: bool) -> bool:
    return any(_matches(p, resource, request, variables, wildcards=True) for p in _as_list(patterns))


def _principal_entry_matches(entry: str, caller: Caller) -> bool:
    if entry == "*":
        return True
    if _ACCOUNT_ID.match(entry):
        return entry == caller.account
    if re.match(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:root$", entry):
        return entry.split(":")[4] == caller.account
    return entry in (caller.arn, caller.principal_arn)


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return any(_principal_entry_matches(str(e), caller) for e in _as_list(principal.get("AWS")))


def _numeric(a: str, b: str) -> tuple[float, float] | None:
    try:
        return float(a), float(b)
    except ValueError:
        return None


_NUMERIC = {
    "NumericEquals": lambda a, b: a == b,
    "NumericLessThan": lambda a, b: a < b,
    "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b,
    "NumericGreaterThanEquals": lambda a, b: a >= b,
}


def _one_value_matches(base: str, policy_value: Any, actual: str, request: Request, variables: bool) -> bool:
    """Whether one request value matches one policy value under a positive operator."""
    if base == "StringEquals":
        return _matches(policy_value, actual, request, variables, wildcards=False)
    if base == "StringEqualsIgnoreCase":
        return _matches(policy_value, actual, request, variables, wildcards=False, ignore_case=True)
    if base in ("StringLike", "ArnLike", "ArnEquals"):
        return _matches(policy_value, actual, request, variables, wildcards=True)
    if base == "Bool":
        return _text(policy_value).lower() == actual.lower()
    if base in _NUMERIC:
        pair = _numeric(actual, _text(policy_value))
        return pair is not None and _NUMERIC[base](*pair)
    raise KeyError(base)


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}
_POSITIVE = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool", *_NUMERIC}


def _operator_holds(operator: str, key: str, policy_values: Any, request: Request, variables: bool) -> bool:
    qualifier, _, op = operator.rpartition(":")
    if_exists = op.endswith("IfExists") and op != "IfExists"
    if if_exists:
        op = op[: -len("IfExists")]
    values = _as_list(policy_values)
    actual = request.value(key)

    if op == "Null":
        missing = actual is None or actual == [] or actual == ""
        return any(_text(v).lower() == ("true" if missing else "false") for v in values)

    negated = op in _NEGATED
    base = _NEGATED.get(op, op)
    if base not in _POSITIVE:
        return False  # an operator AWS would have refused when the policy was put
    if qualifier and qualifier not in ("ForAllValues", "ForAnyValue"):
        return False

    def value_ok(v: str) -> bool:
        hit = any(_one_value_matches(base, pv, v, request, variables) for pv in values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(value_ok(_text(v)) for v in _as_list(actual))  # empty or missing: true
    if qualifier == "ForAnyValue":
        return any(value_ok(_text(v)) for v in _as_list(actual))  # empty or missing: false
    if actual is None:
        return if_exists or negated
    if isinstance(actual, list):  # a multivalued key without a qualifier: any value
        return any(value_ok(_text(v)) for v in actual)
    return value_ok(_text(actual))


def _conditions_hold(condition: Any, request: Request, variables: bool) -> bool:
    if not condition:
        return True
    if not isinstance(condition, dict):
        return False
    for operator, block in condition.items():
        if not isinstance(block, dict):
            return False
        for key, policy_values in block.items():
            if not _operator_holds(str(operator), str(key), policy_values, request, variables):
                return False
    return True


def _statement_applies(statement: dict[str, Any], request: Request, variables: bool) -> bool:
    caller = request.caller
    if "Principal" in statement:
        if not _principal_matches(statement["Principal"], caller):
            return False
    elif "NotPrincipal" in statement:
        if _principal_matches(statement["NotPrincipal"], caller):
            return False
    else:
        return False  # a resource policy statement names its principals
    if "Action" in statement:
        if not _action_matches(statement["Action"], request.action):
            return False
    elif "NotAction" in statement:
        if _action_matches(statement["NotAction"], request.action):
            return False
    else:
        return False
    if "Resource" in statement:
        if not _resource_matches(statement["Resource"], request.resource, request, variables):
            return False
    elif "NotResource" in statement:
        if _resource_matches(statement["NotResource"], request.resource, request, variables):
            return False
    return _conditions_hold(statement.get("Condition"), request, variables)


def parse(document: str | dict[str, Any]) -> dict[str, Any]:
    policy = json.loads(document) if isinstance(document, str) else document
    if not isinstance(policy, dict):
        raise ValueError("a policy is a JSON object")
    return policy


def statements(policy: Mapping[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    for i, statement in enumerate(_as_list(policy.get("Statement"))):
        if isinstance(statement, dict):
            yield str(statement.get("Sid", i)), statement


def evaluate(policy: Mapping[str, Any], request: Request) -> Decision:
    """The resource policy's decision for one request: ALLOW, DENY or IMPLICIT_DENY."""
    variables = policy.get("Version") == "2012-10-17"
    allow: str | None = None
    for sid, statement in statements(policy):
        if not _statement_applies(statement, request, variables):
            continue
        effect = statement.get("Effect")
        if effect == DENY:
            return Decision(DENY, sid)
        if effect == ALLOW and allow is None:
            allow = sid
    return Decision(ALLOW, allow) if allow is not None else Decision(IMPLICIT_DENY)
