"""More CloudFormation resource types moto's CloudFormation skips: the function's asynchronous
invocation settings and the event bus policy.

`AWS::Lambda::EventInvokeConfig`: SAM turns a function's `EventInvokeConfig` (e.g.
`MaximumRetryAttempts: 0`) into this resource; moto 5.2 ignores it with a warning, so the stack
reports it created while `lambda get-function-event-invoke-config` answers "doesn't have an
EventInvokeConfig". Here it is stored in moto's Lambda backend (on the function: moto keeps one
configuration per function, whatever the qualifier) with the qualified FunctionArn AWS answers
(`...:function:NAME:$LATEST`). Ref gives `NAME:QUALIFIER`.

moto's PutFunctionEventInvokeConfig appends a second configuration and keeps answering the first;
AWS's Put overwrites the configuration (settings left out are removed) and Update changes only the
settings given. Both are fixed here, so a stack update and the API agree.

`AWS::Events::EventBusPolicy`: moto 5.2 ignores it too. Both of its forms are stored as a
statement of the bus's policy (`events describe-event-bus` answers it in `Policy`):
`Statement` (any policy statement; its `Sid` becomes `StatementId`) and the older
`Action`/`Principal`/`Condition` form (moto's PutPermission, with its validation: a 12-digit
account or `*`, `events:PutEvents`, `Condition` only with `Principal: "*"`). `EventBusName`
(name or ARN) defaults to `default`. Ref gives the StatementId. Deleting the resource removes only
its own statement.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.awslambda.models import EventInvokeConfig, LambdaBackend, lambda_backends
from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.events.models import EventBusPolicyStatement, events_backends

from .cfn_models import TypedModel

_INVOKE_SETTINGS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")


def _invoke_config(properties: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        if properties.get(key) is not None:
            config[key] = int(properties[key])  # a template parameter arrives as a string
    destinations = properties.get("DestinationConfig") or {}
    kept = {k: {"Destination": v["Destination"]} for k, v in destinations.items()
            if k in ("OnSuccess", "OnFailure") and isinstance(v, dict) and v.get("Destination")}
    if kept:
        config["DestinationConfig"] = kept
    return config


def _store_invoke_config(account_id: str, region_name: str, function_name: str, qualifier: str,
                         config: dict[str, Any]) -> None:
    fn = lambda_backends[account_id][region_name].get_function(function_name)
    stored = EventInvokeConfig(f"{fn.function_arn}:{qualifier}", fn.last_modified, config)
    fn.event_invoke_config = [stored]


class CfnEventInvokeConfig(TypedModel, CloudFormationModel):
    CFN_TYPE = "AWS::Lambda::EventInvokeConfig"

    def __init__(self, function_name: str, qualifier: str):
        self.function_name = function_name
        self.qualifier = qualifier

    @property
    def physical_resource_id(self) -> str:
        return f"{self.function_name}:{self.qualifier}"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> "CfnEventInvokeConfig":
        p = cloudformation_json["Properties"]
        function_name, qualifier = p["FunctionName"], p.get("Qualifier", "$LATEST")
        _store_invoke_config(account_id, region_name, function_name, qualifier, _invoke_config(p))
        return cls(function_name, qualifier)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str,
                                        region_name: str) -> "CfnEventInvokeConfig":
        p = cloudformation_json["Properties"]
        if (p["FunctionName"], p.get("Qualifier", "$LATEST")) != (
                original_resource.function_name, original_resource.qualifier):
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id,
                                                   region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            fn = lambda_backends[account_id][region_name].get_function(self.function_name)
        except Exception:  # the function went first: its configuration went with it
            return
        fn.event_invoke_config = []


def _bus_name(properties: dict[str, Any]) -> str:
    name = properties.get("EventBusName") or "default"
    return name.split("event-bus/", 1)[1] if "event-bus/" in name else name


class _PolicyStatement(EventBusPolicyStatement):
    """A statement kept as written (moto's own class drops keys such as NotPrincipal)."""

    def __init__(self, statement: dict[str, Any]):
        super().__init__(sid=statement["Sid"], principal=statement.get("Principal"),  # type: ignore[arg-type]
                         action=statement.get("Action"), resource=statement.get("Resource"),  # type: ignore[arg-type]
                         effect=statement.get("Effect", "Allow"), condition=statement.get("Condition"))
        self.statement = statement

    def describe(self) -> dict[str, Any]:
        return copy.deepcopy(self.statement)


class CfnEventBusPolicy(TypedModel, CloudFormationModel):
    CFN_TYPE = "AWS::Events::EventBusPolicy"

    def __init__(self, bus_name: str, statement_id: str):
        self.bus_name = bus_name
        self.statement_id = statement_id

    @property
    def physical_resource_id(self) -> str:
        return self.statement_id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> "CfnEventBusPolicy":
        p = cloudformation_json["Properties"]
        backend = events_backends[account_id][region_name]
        bus_name, statement_id = _bus_name(p), p["StatementId"]
        if p.get("Statement"):
            statement = dict(p["Statement"])
            statement["Sid"] = statement_id
            backend.describe_event_bus(bus_name)._statements[statement_id] = _PolicyStatement(statement)
        else:
            backend.put_permission(bus_name, p.get("Action"), p.get("Principal"), statement_id,
                                   p.get("Condition"), None)
        return cls(bus_name, statement_id)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str,
                                        region_name: str) -> "CfnEventBusPolicy":
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id,
                                                   region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        bus = events_backends[account_id][region_name].event_buses.get(self.bus_name)
        if bus is not None:
            bus.remove_statement(self.statement_id)


def install() -> None:
    def put_function_event_invoke_config(self: LambdaBackend, function_name: str,
                                         config: dict[str, Any]) -> dict[str, Any]:
        fn = self.get_function(function_name)
        fn.event_invoke_config = [EventInvokeConfig(fn.function_arn, fn.last_modified, config)]
        return fn.event_invoke_config[0].response()

    def update_function_event_invoke_config(self: LambdaBackend, function_name: str,
                                            config: dict[str, Any]) -> dict[str, Any]:
        fn = self.get_function(function_name)
        current = fn.event_invoke_config[0] if fn.event_invoke_config else None
        merged = {k: v for k, v in (current.config if current else {}).items() if k in _INVOKE_SETTINGS}
        merged.update({k: v for k, v in config.items() if k in _INVOKE_SETTINGS})
        arn = current.arn if current else fn.function_arn
        fn.event_invoke_config = [EventInvokeConfig(arn, fn.last_modified, merged)]
        return fn.event_invoke_config[0].response()

    LambdaBackend.put_function_event_invoke_config = put_function_event_invoke_config
    LambdaBackend.update_function_event_invoke_config = update_function_event_invoke_config
    # The model lists are cached at first use: make sure they see the classes above.
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
