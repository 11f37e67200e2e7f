"""The event source mappings ``template.yaml`` declares, read from SAM's ``Events`` of ``Type: SQS`` and
``Type: DynamoDB`` on each ``AWS::Serverless::Function``, and checked as Lambda checks them when the
mapping is created (a value Lambda would refuse stops the local stack with a sentence naming it).

Parameters and their limits:
- SQS: "Lambda parameters for Amazon SQS event source mappings"
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html
  (BatchSize default 10, at most 10,000 on a standard queue and 10 on a FIFO queue; no batching
  window on FIFO queues; ScalingConfig.MaximumConcurrency 2-1000, "Configuring scaling behavior for SQS
  event source mappings" https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html).
  A BatchSize over 10 needs MaximumBatchingWindowInSeconds of at least 1, and the function's timeout
  may not exceed the queue's visibility timeout: "Creating and configuring an Amazon SQS event source
  mapping" https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
- DynamoDB: "Lambda parameters for Amazon DynamoDB event source mappings"
  https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html
  (BatchSize default 100, at most 10,000; window 0-300 s; MaximumRetryAttempts -1 (until the record
  expires) to 10,000; MaximumRecordAgeInSeconds -1 or 60-604,800; ParallelizationFactor 1-10;
  StartingPosition TRIM_HORIZON or LATEST; the on-failure destination a *standard* SQS queue).
"""

from dataclasses import dataclass
from typing import Any

from session_relay_tools.local.limits import resolve

MAX_WINDOW_S = 300


@dataclass(frozen=True)
class SqsMapping:
    """One ``Type: SQS`` event: ``queue`` is the queue's logical id."""

    function: str
    name: str
    queue: str
    batch_size: int = 10
    window_s: float = 0
    max_concurrency: int | None = None
    report_item_failures: bool = False


@dataclass(frozen=True)
class StreamMapping:
    """One ``Type: DynamoDB`` event: ``table`` is the table's logical id, ``on_failure`` a queue's."""

    function: str
    name: str
    table: str
    starting_position: str
    batch_size: int = 100
    window_s: float = 0
    bisect: bool = False
    max_retries: int = -1
    max_record_age_s: int = -1
    parallelization: int = 1
    on_failure: str | None = None
    report_item_failures: bool = False


def attribute_target(value: Any, attribute: str) -> str:
    """The logical id behind ``!GetAtt X.<attribute>`` (or ``!Ref X``), the template's own resource."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target, got = value["Fn::GetAtt"]
        if got == attribute:
            return target
    if isinstance(value, dict) and "Ref" in value and attribute == "Arn":
        return value["Ref"]
    raise SystemExit(f"{value!r}: the local stack follows only !GetAtt <resource>.{attribute} here")


def declared_mappings(template: dict[str, Any]) -> tuple[list[SqsMapping], list[StreamMapping]]:
    """Every enabled SQS and DynamoDB event of the template's functions (SAM ``Events``, or an
    ``AWS::Lambda::EventSourceMapping`` of its own), checked."""
    sqs, streams = [], []
    resources = template["Resources"]
    for function, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for name, event in (resource.get("Properties", {}).get("Events") or {}).items():
            props = resolved(event.get("Properties") or {}, template)
            if props.get("Enabled") is False or event.get("Type") not in ("SQS", "DynamoDB"):
                continue
            where = f"{function} event {name}"
            if event["Type"] == "SQS":
                sqs.append(_sqs_mapping(function, name, props, template, where))
            else:
                streams.append(_stream_mapping(function, name, props, resources, where))
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            _add_resource_mapping(
                name, resolved(resource.get("Properties") or {}, template), template, sqs, streams
            )
    return sqs, streams


def _add_resource_mapping(name: str, props: dict[str, Any], template: dict, sqs: list, streams: list) -> None:
    """An ``AWS::Lambda::EventSourceMapping`` (``FunctionName: !Ref F``, ``EventSourceArn: !GetAtt Q.Arn``
    or ``!GetAtt T.StreamArn``): the same properties as SAM's events, under the source's own name."""
    if props.get("Enabled") is False:
        return
    function = attribute_target(props["FunctionName"], "Arn")
    source = props["EventSourceArn"]
    if isinstance(source, dict) and source.get("Fn::GetAtt", [None, None])[1] == "StreamArn":
        streams.append(
            _stream_mapping(function, name, {**props, "Stream": source}, template["Resources"], name)
        )
    else:
        sqs.append(_sqs_mapping(function, name, {**props, "Queue": source}, template, name))


def resolved(value: Any, template: dict[str, Any]) -> Any:
    """``value`` with every ``!Ref`` to a parameter (its default) and ``!If`` resolved, at any depth;
    references to resources are left as they are."""
    if isinstance(value, dict) and ("Fn::If" in value or value.get("Ref") in template.get("Parameters", {})):
        return resolved(resolve(value, template), template)
    if isinstance(value, dict) and "Fn::GetAtt" not in value and "Ref" not in value:
        return {key: resolved(item, template) for key, item in value.items()}
    if isinstance(value, list):
        return [resolved(item, template) for item in value]
    return value


def function_timeout_s(template: dict[str, Any], function: str) -> float:
    """The function's ``Timeout`` (its own, the Globals', or Lambda's default of 3 s)."""
    props = template["Resources"][function].get("Properties", {})
    default = template.get("Globals", {}).get("Function", {}).get("Timeout", 3)
    return float(resolved(props.get("Timeout", default), template))


def queue_properties(template: dict[str, Any], queue: str) -> dict[str, Any]:
    resource = template["Resources"].get(queue)
    if resource is None or resource["Type"] != "AWS::SQS::Queue":
        raise SystemExit(f"{queue} is not an AWS::SQS::Queue of the template")
    return resolved(resource.get("Properties") or {}, template)


def _sqs_mapping(function: str, name: str, props: dict[str, Any], template: dict, where: str) -> SqsMapping:
    _refuse_unemulated(props, where)
    queue = attribute_target(props["Queue"], "Arn")
    queue_props = queue_properties(template, queue)
    fifo = bool(queue_props.get("FifoQueue"))
    # "Your function's timeout must be less than or equal to the queue's visibility timeout."
    visibility_s = float(queue_props.get("VisibilityTimeout", 30))
    if function_timeout_s(template, function) > visibility_s:
        raise SystemExit(
            f"{where}: the function's Timeout exceeds {queue}'s VisibilityTimeout ({visibility_s:g} s)"
        )
    batch_size = int(props.get("BatchSize", 10))
    window_s = float(props.get("MaximumBatchingWindowInSeconds", 0))
    _within(where, "BatchSize", batch_size, 1, 10 if fifo else 10_000)
    _within(where, "MaximumBatchingWindowInSeconds", window_s, 0, MAX_WINDOW_S)
    if fifo and window_s:
        raise SystemExit(f"{where}: a FIFO queue takes no MaximumBatchingWindowInSeconds")
    if batch_size > 10 and window_s < 1:
        raise SystemExit(f"{where}: a BatchSize over 10 needs MaximumBatchingWindowInSeconds of at least 1")
    concurrency = (props.get("ScalingConfig") or {}).get("MaximumConcurrency")
    if concurrency is not None:
        _within(where, "ScalingConfig.MaximumConcurrency", int(concurrency), 2, 1000)
    return SqsMapping(
        function=function,
        name=name,
        queue=queue,
        batch_size=batch_size,
        window_s=window_s,
        max_concurrency=None if concurrency is None else int(concurrency),
        report_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
    )


def _stream_mapping(
    function: str, name: str, props: dict[str, Any], resources: dict, where: str
) -> StreamMapping:
    _refuse_unemulated(props, where)
    table = attribute_target(props["Stream"], "StreamArn")
    if "StreamSpecification" not in resources[table].get("Properties", {}):
        raise SystemExit(f"{where}: table {table} has no StreamSpecification")
    position = props.get("StartingPosition")
    if position not in ("TRIM_HORIZON", "LATEST"):
        raise SystemExit(f"{where}: StartingPosition must be TRIM_HORIZON or LATEST, not {position!r}")
    mapping = StreamMapping(
        function=function,
        name=name,
        table=table,
        starting_position=position,
        batch_size=int(props.get("BatchSize", 100)),
        window_s=float(props.get("MaximumBatchingWindowInSeconds", 0)),
        bisect=bool(props.get("BisectBatchOnFunctionError", False)),
        max_retries=int(props.get("MaximumRetryAttempts", -1)),
        max_record_age_s=int(props.get("MaximumRecordAgeInSeconds", -1)),
        parallelization=int(props.get("ParallelizationFactor", 1)),
        on_failure=_on_failure(props, resources, where),
        report_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
    )
    _within(where, "BatchSize", mapping.batch_size, 1, 10_000)
    _within(where, "MaximumBatchingWindowInSeconds", mapping.window_s, 0, MAX_WINDOW_S)
    _within(where, "MaximumRetryAttempts", mapping.max_retries, -1, 10_000)
    _within(where, "ParallelizationFactor", mapping.parallelization, 1, 10)
    if mapping.max_record_age_s != -1:
        _within(where, "MaximumRecordAgeInSeconds", mapping.max_record_age_s, 60, 604_800)
    return mapping


def _on_failure(props: dict[str, Any], resources: dict, where: str) -> str | None:
    destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    if destination is None:
        return None
    queue = attribute_target(destination, "Arn")
    if resources.get(queue, {}).get("Type") != "AWS::SQS::Queue" or resources[queue].get(
        "Properties", {}
    ).get("FifoQueue"):
        raise SystemExit(f"{where}: the on-failure destination must be a standard SQS queue")
    return queue


def _refuse_unemulated(props: dict[str, Any], where: str) -> None:
    """Settings that change what the function receives and the local stack does not apply: refused
    rather than run differently from AWS."""
    for name in ("FilterCriteria", "TumblingWindowInSeconds"):
        if props.get(name):
            raise SystemExit(f"{where}: {name} is not emulated by the local stack")


def _within(where: str, name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise SystemExit(f"{where}: {name} must be from {low} to {high}, not {value}")
