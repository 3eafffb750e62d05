"""A template's `Rules` section, checked before a stack is created or updated, as CloudFormation does.

moto 5.2 ignores `Rules`: a template whose assertions refuse the given parameters (template.yaml's
"DeploymentMode member needs HubAllowlistTableArn") is deployed anyway, so a local deploy cannot
show that a wrong combination of parameters is refused. CloudFormation template reference, "Rules
syntax": the section "contains rule functions that validate parameter values before CloudFormation
creates or updates any resources"; "Rule functions": "If a parameter value isn't valid,
CloudFormation doesn't create or update the stack. If the condition evaluates to false,
CloudFormation doesn't check the parameter value and proceeds with the stack operation."

Here CreateStack, UpdateStack (including UsePreviousTemplate and UsePreviousValue) and
CreateChangeSet evaluate every rule with the request's parameter values (a parameter not given
takes its Default; List and CommaDelimitedList parameters are lists). A rule whose `RuleCondition`
is false is skipped; the first false `Assert` refuses the call with a ValidationError whose message
is the assertion's `AssertDescription`, and no stack (nor change set) is created or changed.

Rule functions: Ref (parameters and the pseudo parameters AWS::AccountId, AWS::Region,
AWS::Partition, AWS::StackName, AWS::URLSuffix), Fn::Equals, Fn::Not, Fn::And, Fn::Or,
Fn::Contains, Fn::EachMemberEquals, Fn::EachMemberIn.

Not modelled: Fn::RefAll, Fn::ValueOf and Fn::ValueOfAll (they look up AWS-specific parameter
types such as AWS::EC2::VPC::Id in the account): a rule using them is not checked. ValidateTemplate
does not check the section's shape. A stack set's instances are not checked (CloudFormation would
fail the instance, not the CreateStackInstances call). The exact wording AWS gives a failed
assertion without an AssertDescription is not known; the emulator names the rule.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack

_PSEUDO = ("AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::StackName", "AWS::URLSuffix")


class _NotModelled(Exception):
    """A rule uses a function the emulator does not evaluate: the rule is not checked."""


def _parameter_values(template: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in (template.get("Parameters") or {}).items():
        spec = spec or {}
        value = given.get(name, spec.get("Default"))
        if value is None:
            continue
        kind = str(spec.get("Type", "String"))
        if isinstance(value, str) and (kind == "CommaDelimitedList" or kind.startswith("List<")):
            value = [v.strip() for v in value.split(",")] if value else []
        values[name] = value
    return values


def _evaluate(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_evaluate(n, values) for n in node]
    if not isinstance(node, dict):
        return node
    if len(node) != 1:
        return {k: _evaluate(v, values) for k, v in node.items()}
    (function, argument), = node.items()
    if function == "Ref":
        return values.get(argument, "")
    if function in ("Fn::RefAll", "Fn::ValueOf", "Fn::ValueOfAll"):
        raise _NotModelled(function)
    if not function.startswith("Fn::"):
        return {function: _evaluate(argument, values)}
    args = _evaluate(argument, values)
    if function == "Fn::Not":
        return not _truth(args[0])
    if function == "Fn::And":
        return all(_truth(a) for a in args)
    if function == "Fn::Or":
        return any(_truth(a) for a in args)
    if function == "Fn::Equals":
        return _text(args[0]) == _text(args[1])
    if function == "Fn::Contains":
        return _text(args[1]) in [_text(v) for v in args[0]]
    if function == "Fn::EachMemberEquals":
        return all(_text(v) == _text(args[1]) for v in args[0])
    if function == "Fn::EachMemberIn":
        allowed = [_text(v) for v in args[1]]
        return all(_text(v) in allowed for v in args[0])
    raise _NotModelled(function)


def _truth(value: Any) -> bool:
    return value.strip().lower() == "true" if isinstance(value, str) else bool(value)


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else value


def check(template_body: Any, given: dict[str, Any], backend: CloudFormationBackend, stack_name: str) -> None:
    """Raises the ValidationError CloudFormation answers when an assertion of the template's Rules
    refuses the parameters."""
    if not template_body:
        return
    template = template_body if isinstance(template_body, dict) else Stack.parse_template(template_body)
    rules = (template or {}).get("Rules") if isinstance(template, dict) else None
    if not rules:
        return
    values = _parameter_values(template, given)
    pseudo = dict(zip(_PSEUDO, (backend.account_id, backend.region_name, "aws", stack_name, "amazonaws.com")))
    values = {**pseudo, **values}
    for name, rule in rules.items():
        rule = rule or {}
        try:
            if "RuleCondition" in rule and not _truth(_evaluate(rule["RuleCondition"], values)):
                continue
            for assertion in rule.get("Assertions") or []:
                if not _truth(_evaluate(assertion.get("Assert"), values)):
                    raise ValidationError(message=assertion.get("AssertDescription")
                                          or f"Template error: an assertion of rule {name} failed")
        except _NotModelled:
            continue


def install() -> None:
    original_create_stack = CloudFormationBackend.create_stack
    original_update_stack = CloudFormationBackend.update_stack
    original_create_change_set = CloudFormationBackend.create_change_set

    def create_stack(self: CloudFormationBackend, name: str, template: str, parameters: dict[str, Any],
                     *args: Any, **kwargs: Any) -> Stack:
        check(template, parameters or {}, self, name)
        return original_create_stack(self, name, template, parameters, *args, **kwargs)

    def update_stack(self: CloudFormationBackend, name: str, template: str, role_arn: str | None,
                     parameters: list[dict[str, Any]], tags: dict[str, str] | None) -> Stack:
        stack = self.get_stack(name)
        resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters or [])
        check(template or stack.template, resolved, self, stack.name)
        return original_update_stack(self, name, template, role_arn, parameters, tags)

    def create_change_set(self: CloudFormationBackend, stack_name: str, change_set_name: str, template: str,
                          parameters: dict[str, str], *args: Any, **kwargs: Any) -> tuple[str, str]:
        check(template, parameters or {}, self, stack_name)
        return original_create_change_set(self, stack_name, change_set_name, template, parameters, *args, **kwargs)

    CloudFormationBackend.create_stack = create_stack
    CloudFormationBackend.update_stack = update_stack
    CloudFormationBackend.create_change_set = create_change_set
