"""The template's ``AWS::SQS::Queue`` resources, made on the local SQS with their own attributes.

A queue is named ``{prefix}{LogicalId}`` (``.fifo`` added to a FIFO queue's name, which SQS requires).
``RedrivePolicy`` (a JSON object in the template) names its dead-letter queue by ``!GetAtt Q.Arn``,
resolved to the local queue's ARN; SQS then moves a message whose receive count exceeds
``maxReceiveCount`` to it ("Using dead-letter queues in Amazon SQS",
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
"""

import json
from dataclasses import dataclass
from typing import Any

from session_relay_tools.local.mappings.declared import attribute_target, queue_properties

# CloudFormation properties that are SQS queue attributes of the same name.
_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
)


@dataclass(frozen=True)
class Queue:
    logical_id: str
    url: str
    arn: str
    fifo: bool
    visibility_timeout_s: float


def _attribute_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def create_queues(client: Any, template: dict[str, Any], prefix: str) -> dict[str, Queue]:
    """Every queue of the template, created (or found, with its attributes set again), by logical id.

    Dead-letter queues are made first, so a redrive policy names a queue that exists.
    """
    ids = [key for key, resource in template["Resources"].items() if resource["Type"] == "AWS::SQS::Queue"]
    ids.sort(key=lambda key: "RedrivePolicy" in (template["Resources"][key].get("Properties") or {}))
    queues: dict[str, Queue] = {}
    for logical_id in ids:
        props = queue_properties(template, logical_id)
        fifo = bool(props.get("FifoQueue"))
        attributes = {name: _attribute_text(props[name]) for name in _ATTRIBUTES if name in props}
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(_redrive(props["RedrivePolicy"], queues, logical_id))
        name = f"{prefix}{logical_id}" + (".fifo" if fifo else "")
        url = client.create_queue(QueueName=name, Attributes={"FifoQueue": "true"} if fifo else {})[
            "QueueUrl"
        ]
        client.set_queue_attributes(
            QueueUrl=url, Attributes={k: v for k, v in attributes.items() if k != "FifoQueue"}
        )
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        visibility_s = float(props.get("VisibilityTimeout", 30))
        queues[logical_id] = Queue(logical_id, url, arn, fifo, visibility_s)
    return queues


def _redrive(policy: Any, queues: dict[str, Queue], logical_id: str) -> dict[str, Any]:
    if isinstance(policy, str):
        policy = json.loads(policy)
    target = policy["deadLetterTargetArn"]
    if isinstance(target, dict):
        dead_letter = attribute_target(target, "Arn")
        if dead_letter not in queues:
            raise SystemExit(
                f"{logical_id}: its dead-letter queue {dead_letter} has a redrive policy of its own"
            )
        target = queues[dead_letter].arn
    return {"deadLetterTargetArn": target, "maxReceiveCount": int(policy["maxReceiveCount"])}


def queue_environment(template: dict[str, Any], queues: dict[str, Queue]) -> dict[str, str]:
    """The functions' environment variables that name a queue (``!Ref Q`` is its URL, ``!GetAtt Q.Arn``
    its ARN, ``!GetAtt Q.QueueName`` its name), with the local queues' values.

    Every function runs in the local stack's one process, so the variables are process-wide.
    """
    environment = {}
    blocks = [template.get("Globals", {}).get("Function", {})]
    blocks += [
        r.get("Properties", {})
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    ]
    for block in blocks:
        for variable, value in ((block.get("Environment") or {}).get("Variables") or {}).items():
            found = _queue_value(value, queues)
            if found is not None:
                environment[variable] = found
    return environment


def _queue_value(value: Any, queues: dict[str, Queue]) -> str | None:
    if isinstance(value, dict) and value.get("Ref") in queues:
        return queues[value["Ref"]].url
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target, attribute = value["Fn::GetAtt"]
        if target in queues and attribute == "Arn":
            return queues[target].arn
        if target in queues and attribute == "QueueName":
            return queues[target].arn.rsplit(":", 1)[1]
    return None
