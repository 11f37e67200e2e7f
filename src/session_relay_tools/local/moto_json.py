"""moto's DynamoDB and DynamoDB Streams answers serialized in a fraction of the time, byte for byte as
moto would.

moto 5 turns every answer into its JSON body by walking the operation's output shape and, for each
member, trying a chain of name aliases on the result (``XFormedAttributePicker``): a third of the local
stack's time in a wave of sessions went there, most of it for answers that are already plain
dictionaries in the wire's shape (items, stream records). ``install()`` serializes such answers by
the same walk, compiled once per shape, with plain dictionary lookups: the same members in the same
order, the same conversions (timestamps, blobs, numbers, strings), the same ``json.dumps``.

It takes only what it can prove is the same: a result whose dictionaries hold none of the other keys
moto's picker would try for a member (then the member's own key is what it finds, and a key that is
no member is left out, as moto leaves it), of an operation without an event stream, with no response
transformer registered and pretty printing off. Anything else (a model object, an alias key, another
protocol or service) goes to moto's own serializer, unchanged. tests/local/test_moto_json.py compares
the two on every operation the stack uses.
"""

import base64
import json
import threading
from collections.abc import Callable
from enum import Enum
from typing import Any

SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
_SKIP = object()  # "set nothing": moto's serializer skipped the member
_installing = threading.Lock()
_originals: dict[str, Any] = {}
_compiled: dict[tuple[str, str], Callable[[Any], Any]] = {}


class _NotPlain(Exception):
    """The result holds something only moto's own serializer can take."""


def install() -> None:
    """Patch moto's ``ActionResult`` (once per process; later calls do nothing)."""
    from moto.core.responses import ActionResult

    with _installing:
        if _originals:
            return
        _originals["execute_result"] = ActionResult.execute_result

        def execute_result(self: Any, context: Any) -> Any:
            try:
                return answer(self.result, context)
            except _NotPlain:
                return _originals["execute_result"](self, context)

        ActionResult.execute_result = execute_result


def uninstall() -> None:
    """moto's own serializer again (for tests comparing the two)."""
    from moto.core.responses import ActionResult

    with _installing:
        if _originals:
            ActionResult.execute_result = _originals.pop("execute_result")


def answer(result: Any, context: Any) -> tuple[int, dict[str, str], str]:
    """``(status, headers, body)`` as moto's ``JSONSerializer`` makes them; ``_NotPlain`` otherwise."""
    from moto import settings
    from moto.core.serialize import JSONSerializer

    operation = context.operation_model
    service = context.service_model
    if (
        service.service_name not in SERVICES
        or context.serializer_class is not JSONSerializer
        or settings.PRETTIFY_RESPONSES
        or getattr(context.response, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None)
        or isinstance(result, Exception)
        or operation.has_event_stream_output
    ):
        raise _NotPlain
    shape = operation.output_shape
    body: Any = {}
    if shape is not None and result is not None:
        body = _serializer(service.service_name, shape)(result)
    content_type = f"application/x-amz-json-{service.metadata.get('jsonVersion', '1.0')}"
    return operation.http.get("responseCode", 200), {"Content-Type": content_type}, json.dumps(body)


def _serializer(service: str, shape: Any) -> Callable[[Any], Any]:
    key = (service, shape.name)
    found = _compiled.get(key)
    if found is None:
        _compiled[key] = lambda value: _compiled[key](value)  # a recursive shape's later reference
        found = _compiled[key] = _compile(service, shape)
    return found


def _compile(service: str, shape: Any) -> Callable[[Any], Any]:
    kind = shape.type_name
    if kind == "structure":
        return _document if shape.is_document_type else _structure(service, shape)
    if kind == "list":
        return _list(_serializer(service, shape.member))
    if kind == "map":
        if "name" in shape.value.serialization:
            return _refuse
        return _map(_serializer(service, shape.value))
    if kind == "timestamp":
        return _timestamp(shape)
    return _SCALARS.get(kind, _document)


def _structure(service: str, shape: Any) -> Callable[[Any], Any]:
    members = list(shape.members.items())
    order = [
        (name, member.serialization.get("name", name), _serializer(service, member))
        for name, member in members
    ]
    # Keys under which moto's picker might find a member before (or instead of) the member's own name.
    aliases = frozenset().union(*(_aliases(shape, name, member) for name, member in members))

    def structure(value: Any) -> Any:
        if value is None:
            return _SKIP
        if type(value) is not dict or not value.keys().isdisjoint(aliases):
            raise _NotPlain
        out = {}
        for name, written_as, serialize in order:
            member = value.get(name)
            if member is not None and (serialized := serialize(member)) is not _SKIP:
                out[written_as] = serialized
        return out

    return structure


def _aliases(parent: Any, name: str, member: Any) -> set[str]:
    """The keys other than ``name`` under which moto's picker (``XFormedAttributePicker`` with its
    default alias providers) may look member ``name`` up in a dictionary."""
    from botocore import xform_name

    aliases = {xform_name(name)}
    if member.serialization.get("name", name) != name:
        aliases.add(member.serialization["name"])  # ``ModelAlias``
    named = member.type_name in ("list", "structure") and member.name != name
    if named and member.name not in parent.members:
        aliases.add(member.name)  # ``ShapeNameAlias``
    prefixed = name[len(parent.name) :]
    if name.lower().startswith(parent.name.lower()) and prefixed not in parent.members:
        aliases.add(prefixed)  # ``ShapePrefixAlias``
    if name.lower().startswith("dict"):
        aliases.add(name[len("dict") :])  # ``ClassPrefixAlias``: the result is a ``dict``
    return (aliases | {xform_name(alias) for alias in aliases if alias}) - {name}


def _list(serialize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def serialize_list(value: Any) -> Any:
        if type(value) is not list:
            raise _NotPlain
        return [item if (serialized := serialize(item)) is _SKIP else serialized for item in value]

    return serialize_list


def _map(serialize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def serialize_map(value: Any) -> Any:
        if type(value) is not dict:
            raise _NotPlain
        out = {}
        for key, item in value.items():
            if (serialized := serialize(item)) is not _SKIP:
                out[key] = serialized
        return out

    return serialize_map


def _timestamp(shape: Any) -> Callable[[Any], Any]:
    from moto.core.serialize import TimestampSerializer

    converter = TimestampSerializer("unixtimestamp")

    def timestamp(value: Any) -> Any:
        out: dict[str, Any] = {}
        converter.serialize(out, value, shape, "value")
        return out["value"]

    return timestamp


def _document(value: Any) -> Any:
    return value


def _refuse(value: Any) -> Any:
    raise _NotPlain


def _string(value: Any) -> Any:
    if type(value) is str:
        return value
    if isinstance(value, Enum):
        value = value.value
    return str(value) if value not in [None, {}, []] else value


def _blob(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).strip().decode("utf-8")


_SCALARS: dict[str, Callable[[Any], Any]] = {
    "string": _string,
    "blob": _blob,
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
}
