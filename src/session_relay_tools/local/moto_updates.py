"""moto's ``UpdateItem`` without parsing the same expressions again at every request.

moto parses a request's ``UpdateExpression`` twice (once to check the names and values it uses, once
to apply it) and deep-copies the parsed tree before validating it against the item: on the handlers'
few expressions, a third of a reply-shaped ``UpdateItem``'s time. ``install()`` keeps each expression's
parsed tree (moto's own parser, run once per distinct expression; an expression it rejects is not kept,
so it is rejected again with the same error), and copies the tree for the validator by pickling rather
than ``copy.deepcopy`` (the same objects, a fraction of the time; whatever pickle cannot copy goes to
``deepcopy``). Neither reader of the kept tree changes it: the name and value check only reads it, and
the validator works on its copy.

Two more repeats go the same way. The validator runs ten processors over the tree, and each asked
its processor for its map of node types at every node it visited (a new dictionary and tuple each
time): each processor now builds its map once. A condition expression (``ConditionExpression``, read
twice per conditional write) was cut into tokens by a dozen regular expressions at each reading: the
tokens of each distinct expression are kept (moto's own lexer, run once; an expression it rejects is
not kept), and each reading gets fresh copies to build its tree from.
tests/local/test_moto_updates.py compares items, answers and errors with moto's own path.
"""

import copy
import functools
import pickle
import threading
from collections import deque
from typing import Any

PARSED_EXPRESSIONS_KEPT = 1024
_installing = threading.Lock()
_originals: dict[str, Any] = {}


def _copy(value: Any) -> Any:
    try:
        return pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301 (our own bytes)
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(value)


def _processing(traverser: Any) -> tuple[tuple[tuple[type, Any], ...], tuple[type, ...]]:
    """A processor's map of node types to its functions, as ``_processing_map`` gives it, and the
    types alone: built once per processor."""
    kept = traverser.__dict__.get("_kept_processing")
    if kept is None:
        pairs = tuple(traverser._processing_map().items())
        kept = traverser.__dict__["_kept_processing"] = (pairs, tuple(node_type for node_type, _ in pairs))
    return kept


def _nodes_to_be_processed(traverser: Any) -> tuple[type, ...]:
    return _processing(traverser)[1]


def _process(traverser: Any, node: Any) -> Any:
    for node_type, processor in _processing(traverser)[0]:
        if isinstance(node, node_type):
            return processor(node)
    return None


def _condition_tokens(lex: Any) -> Any:
    """moto's lexer of condition expressions, keeping the tokens of each expression it accepts."""
    tokens_of = functools.lru_cache(PARSED_EXPRESSIONS_KEPT)(
        lambda parser_type, text: tuple(lex(parser_type(text, {}, {})))
    )

    def lexed(parser: Any) -> Any:
        tokens = tokens_of(type(parser), parser.condition_expression)
        return deque(token._replace(children=list(token.children)) for token in tokens)

    return lexed


def install() -> None:
    """Patch moto's expression parsers and validator (once per process)."""
    from moto.dynamodb import comparisons
    from moto.dynamodb.parsing import ast_nodes, expressions, validators

    with _installing:
        if _originals:
            return
        parser = expressions.UpdateExpressionParser
        traverser = ast_nodes.DepthFirstTraverser
        conditions = comparisons.ConditionExpressionParser
        _originals.update(
            make=parser.__dict__["make"],
            deepcopy=validators.deepcopy,
            nodes_to_be_processed=traverser.nodes_to_be_processed,
            process=traverser.process,
            lex=conditions._lex_condition_expression,
        )
        parser.make = staticmethod(functools.lru_cache(PARSED_EXPRESSIONS_KEPT)(parser.make))
        validators.deepcopy = _copy
        traverser.nodes_to_be_processed = _nodes_to_be_processed
        traverser.process = _process
        conditions._lex_condition_expression = _condition_tokens(_originals["lex"])


def uninstall() -> None:
    """moto's own parsing, copying and lexing again (for tests comparing the two)."""
    from moto.dynamodb import comparisons
    from moto.dynamodb.parsing import ast_nodes, expressions, validators

    with _installing:
        if _originals:
            expressions.UpdateExpressionParser.make = _originals.pop("make")
            validators.deepcopy = _originals.pop("deepcopy")
            ast_nodes.DepthFirstTraverser.nodes_to_be_processed = _originals.pop("nodes_to_be_processed")
            ast_nodes.DepthFirstTraverser.process = _originals.pop("process")
            comparisons.ConditionExpressionParser._lex_condition_expression = _originals.pop("lex")
