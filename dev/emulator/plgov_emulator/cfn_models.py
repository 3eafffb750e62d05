"""CloudFormation resource types moto's CloudFormation skips, that the project's template uses.

moto 5.2 ignores `AWS::CloudWatch::Alarm`, `AWS::SNS::Subscription` and `AWS::SNS::TopicPolicy`
(with a warning), so a stack would report them created while nothing exists. These models create
them in moto's own backends, so tests can check that every resource of the stack is really there.
"""

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation import parsing
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.sns.models import sns_backends


class TypedModel:
    """What every model here tells moto's CloudFormation about itself: its resource type
    (CFN_TYPE) and the property that names a resource of that type (NAME_PROPERTY; none by
    default). A mixin listed before CloudFormationModel in a model's bases: moto finds the
    models among CloudFormationModel's direct subclasses only (parsing.get_model_list), so a
    base class between the two would hide them."""

    CFN_TYPE = ""
    NAME_PROPERTY = ""

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.CFN_TYPE


class CfnAlarm(TypedModel, CloudFormationModel):
    CFN_TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"

    def __init__(self, name: str):
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> "CfnAlarm":
        p = cloudformation_json["Properties"]
        name = p.get("AlarmName") or resource_name
        cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name, namespace=p.get("Namespace"), metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"], evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p.get("Period", 60)), threshold=float(p["Threshold"]), statistic=p.get("Statistic"),
            description=p.get("AlarmDescription", ""), dimensions=[
                {"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])],
            alarm_actions=p.get("AlarmActions", []), treat_missing_data=p.get("TreatMissingData"))
        return cls(name)


class CfnSubscription(TypedModel, CloudFormationModel):
    CFN_TYPE = "AWS::SNS::Subscription"

    def __init__(self, arn: str):
        self.arn = arn

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> "CfnSubscription":
        p = cloudformation_json["Properties"]
        subscription = sns_backends[account_id][region_name].subscribe(p["TopicArn"], p["Endpoint"], p["Protocol"])
        return cls(subscription.arn)


class CfnTopicPolicy(TypedModel, CloudFormationModel):
    CFN_TYPE = "AWS::SNS::TopicPolicy"

    def __init__(self, topics: list[str]):
        self.topics = topics

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.topics)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                        region_name: str, **kwargs: Any) -> "CfnTopicPolicy":
        p = cloudformation_json["Properties"]
        policy = p["PolicyDocument"]
        for topic in p["Topics"]:
            sns_backends[account_id][region_name].set_topic_attribute(
                topic, "policy", policy if isinstance(policy, str) else json.dumps(policy))
        return cls(list(p["Topics"]))


def install() -> None:
    # The model map is cached at first use: make sure it sees the classes above.
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
