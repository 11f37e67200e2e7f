"""moto's ``UpdateItem`` without parsing the same update expression again at every request.

moto parses a request's ``UpdateExpression`` twice (once to check the names and values it uses, once
to apply it) and deep-copies the parsed tree before validating it against the item: on the handlers'
few expressions, a third of a reply-shaped ``UpdateItem``'s time. ``install()`` keeps each expression's
parsed tree (moto's own parser, run once per distinct expression; an expression it rejects is not kept,
so it is rejected again with the same error), and copies the tree for the validator by pickling rather
than ``copy.deepcopy`` (the same objects, a fraction of the time; whatever pickle cannot copy goes to
``deepcopy``). Neither reader of the kept tree changes it: the name and value check only reads it, and
the validator works on its copy. tests/local/test_moto_updates.py compares items and errors with moto's
own path.
"""

import copy
import functools
import pickle
import threading
from typing import Any

PARSED_EXPRESSIONS_KEPT = 1024
_installing = threading.Lock()
_originals: dict[str, Any] = {}


def _copy(value: Any) -> Any:
    try:
        return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301 (our own bytes)
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(value)


def install() -> None:
    """Patch moto's update expression parser and validator (once per process)."""
    from moto.dynamodb.parsing import expressions, validators

    with _installing:
        if _originals:
            return
        parser = expressions.UpdateExpressionParser
        _originals.update(make=parser.__dict__["make"], deepcopy=validators.deepcopy)
        parser.make = staticmethod(functools.lru_cache(PARSED_EXPRESSIONS_KEPT)(parser.make))
        validators.deepcopy = _copy


def uninstall() -> None:
    """moto's own parsing and copying again (for tests comparing the two)."""
    from moto.dynamodb.parsing import expressions, validators

    with _installing:
        if _originals:
            expressions.UpdateExpressionParser.make = _originals.pop("make")
            validators.deepcopy = _originals.pop("deepcopy")
