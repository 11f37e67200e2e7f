"""The owner events' engines as deployed (PROTOCOL.md section 5), checked on what AWS's SAM translator makes
of template.yaml: the sessions stream, the events function's stream mapping, the FIFO queue and its
FIFO dead-letter queue, the webhooks function's queue mapping, their alarms and least-privilege IAM.
Each test names the AWS documentation its rule comes from."""

from session_relay.service.webhooks_sender import backoff_s

from tests.template.conftest import of_type

DDB_PARAMS = "https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html"
SQS_PARAMS = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html"
SQS_CONFIGURE = "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html"
DLQ = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html"
CREATE_QUEUE = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"
RETENTION_MAX_S = 1_209_600  # CREATE_QUEUE: MessageRetentionPeriod 60..1,209,600 s
HOUR_S = 3600  # PROTOCOL.md section 5: retried for at least one hour


def _resource(translated, name):
    return translated["Resources"][name]["Properties"]


def _mapping(translated, function):
    (mapping,) = [
        m["Properties"]
        for m in of_type(translated, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    ]
    return mapping


def _statements(translated, function):
    role = _resource(translated, function)["Role"]["Fn::GetAtt"][0]
    return [
        s
        for policy in _resource(translated, role).get("Policies", [])
        for s in policy["PolicyDocument"]["Statement"]
    ]


def test_the_sessions_table_streams_new_and_old_images(translated):
    assert _resource(translated, "SessionsTable")["StreamSpecification"] == {
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    }


def test_the_events_mapping_batches_bisects_retries_and_keeps_what_it_gives_up(translated):
    mapping = _mapping(translated, "EventsFunction")
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["SessionsTable", "StreamArn"]}
    # DDB_PARAMS: BatchSize max 10,000; MaximumRetryAttempts 0..10,000; on failure a standard queue.
    assert mapping["BatchSize"] == 100
    assert mapping["MaximumBatchingWindowInSeconds"] == 1
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 <= mapping["MaximumRetryAttempts"] <= 10_000
    destination = mapping["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": ["EventsFailuresQueue", "Arn"]}
    assert "FifoQueue" not in _resource(translated, "EventsFailuresQueue")


def test_the_webhooks_mapping_takes_what_a_fifo_queue_allows_and_reports_item_failures(translated):
    mapping = _mapping(translated, "WebhooksFunction")
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}
    # SQS_PARAMS: for FIFO queues BatchSize is at most 10 and there is no batching window.
    assert mapping["BatchSize"] <= 10
    assert "MaximumBatchingWindowInSeconds" not in mapping
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_a_failed_delivery_is_retried_for_over_an_hour_before_the_fifo_dead_letter_queue(translated):
    queue = _resource(translated, "WebhookQueue")
    dead = _resource(translated, "WebhookFailuresQueue")
    # DLQ: a FIFO queue's dead-letter queue is FIFO; maxReceiveCount 1..1000.
    assert queue["FifoQueue"] is True
    assert dead["FifoQueue"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["WebhookFailuresQueue", "Arn"]}
    receives = queue["RedrivePolicy"]["maxReceiveCount"]
    assert 1 <= receives <= 1000
    # SQS_CONFIGURE: the visibility timeout is at least six times the function's timeout.
    assert queue["VisibilityTimeout"] >= 6 * _resource(translated, "WebhooksFunction")["Timeout"]
    # An hour of retries with the function's backoff, and even with only the queue's own timeout.
    assert sum(backoff_s(n) for n in range(1, receives + 1)) >= HOUR_S
    assert queue["VisibilityTimeout"] * receives >= HOUR_S
    # CREATE_QUEUE: 14 days is the longest retention (a failure is kept that long).
    assert queue["MessageRetentionPeriod"] == dead["MessageRetentionPeriod"] == RETENTION_MAX_S


def test_alarms_watch_the_failures_the_discarded_records_and_the_streams_age(translated):
    alarms = of_type(translated, "AWS::CloudWatch::Alarm")
    watched = {
        (a["Properties"]["MetricName"], str(a["Properties"]["Dimensions"][0]["Value"]))
        for a in alarms.values()
        if "MetricName" in a["Properties"]
    }
    assert (
        "ApproximateNumberOfMessagesVisible",
        str({"Fn::GetAtt": ["WebhookFailuresQueue", "QueueName"]}),
    ) in watched
    assert (
        "ApproximateNumberOfMessagesVisible",
        str({"Fn::GetAtt": ["EventsFailuresQueue", "QueueName"]}),
    ) in watched
    assert ("IteratorAge", str({"Ref": "EventsFunction"})) in watched


def test_webhook_functions_touch_only_webhook_items_of_the_auth_table(translated):
    for function in ("EventsFunction", "WebhooksFunction", "RestApiFunction"):
        for statement in _statements(translated, function):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            writes = {
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
            }
            if statement.get("Resource") == {"Fn::GetAtt": ["AuthTable", "Arn"]} and writes & set(actions):
                keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                # The REST API also writes bans (tests/template/test_bans_and_functions_template.py).
                assert all(key.startswith(("webhook", "ban")) for key in keys), (function, keys)
            assert not any(action.endswith(":*") for action in actions), (function, actions)
    sends = [s for s in _statements(translated, "EventsFunction") if "sqs:SendMessage" in s["Action"]]
    # Its own queue, and (SAM's policy for the mapping's destination) where discarded records go.
    assert sorted(str(s["Resource"]) for s in sends) == sorted(
        str({"Fn::GetAtt": [queue, "Arn"]}) for queue in ("WebhookQueue", "EventsFailuresQueue")
    )
