"""The bench's functions behind its event source mappings: they only count what they receive."""

from bench import mapping_counts


def sqs(event, context):
    mapping_counts.count("sqs", event)


def stream(event, context):
    mapping_counts.count("stream", event)


def rest(event, context):
    return {"statusCode": 200, "body": "ok"}
