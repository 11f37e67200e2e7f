"""Each execution environment's own copy of a function's code and layer, in one process.

An environment's Init imports the function's entry module with every module under the function's
``CodeUri`` and its layers' ``ContentUri`` (the ``session_relay`` package) taken out of ``sys.modules``
for the time of the import: the environment gets fresh copies of them (module-level caches,
``lru_cache``s, the frame limiter, the Authenticator), keeps them to itself afterwards, and
``sys.modules`` gets back the modules it had. Modules elsewhere (the standard library, boto3,
Powertools, FastAPI, pydantic) stay shared: the process has one copy of them. The layer imports nothing
at call time, so its modules never look for each other in ``sys.modules`` once imported.
"""

import dataclasses
import importlib.abc
import importlib.machinery
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

# Imports change sys.modules for the whole process: one environment's Init at a time.
_IMPORT_LOCK = threading.Lock()
_ABSOLUTE: dict[str, str] = {}  # module file name -> its absolute form
_CODE: dict[str, tuple[int, CodeType]] = {}  # source file -> (its mtime in ns, its compiled code)


def _within(module: ModuleType, roots: tuple[str, ...]) -> bool:
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return False
    if file not in _ABSOLUTE:
        _ABSOLUTE[file] = os.path.abspath(file)
    return _ABSOLUTE[file].startswith(roots)


class _CompiledOnce(importlib.machinery.SourceFileLoader):
    """A source loader that compiles each file once for every environment (a code object can run in
    any number of module namespaces); without bytecode files (``PYTHONDONTWRITEBYTECODE``) each
    environment's Init would otherwise compile the whole layer again."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        mtime = os.stat(path).st_mtime_ns
        cached = _CODE.get(path)
        if cached is None or cached[0] != mtime:
            cached = _CODE[path] = (mtime, super().get_code(fullname))
        return cached[1]


class _IsolatedFinder(importlib.abc.MetaPathFinder):
    """Finds the modules under ``roots`` as the path finder does, loading them with ``_CompiledOnce``."""

    def __init__(self, roots: tuple[str, ...]) -> None:
        self.roots = roots

    def find_spec(self, name: str, path: Sequence[str] | None, target: Any = None) -> Any:
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        loader = getattr(spec, "loader", None)
        if not isinstance(loader, importlib.machinery.SourceFileLoader):
            return None
        if not os.path.abspath(loader.path).startswith(self.roots):
            return None
        spec.loader = _CompiledOnce(loader.name, loader.path)
        return spec


_GENERATED: dict[str, CodeType] = {}  # source of a method dataclasses generates -> its code


def _exec_compiled_once(source: str, globals: dict[str, Any] | None = None, locals: Any = None) -> None:
    """``exec`` for the ``dataclasses`` module: the methods it writes for a class are the same text in
    every environment, so each text is compiled once (compiling them was half of an Init)."""
    if source not in _GENERATED:
        _GENERATED[source] = compile(source, "<string>", "exec")
    exec(_GENERATED[source], globals, locals)  # noqa: S102 - dataclasses' own generated methods


def compile_dataclass_methods_once() -> None:
    """Route ``dataclasses``' ``exec`` through ``_exec_compiled_once`` (its module global shadows the
    builtin; the methods and their behaviour are those ``exec`` makes of the same text)."""
    dataclasses.exec = _exec_compiled_once  # type: ignore[attr-defined]


def import_isolated(
    entry: Path, module_name: str, roots: tuple[str, ...], load: Callable[[Path, str], ModuleType]
) -> tuple[ModuleType, dict[str, ModuleType], float]:
    """``load(entry, module_name)`` with fresh copies of every module whose file is under ``roots``
    (folders, each ending with a separator): the entry module, those copies by name (none of them
    left in ``sys.modules``, which keeps the modules it had) and the seconds the import took (once
    its turn came)."""
    with _IMPORT_LOCK:
        started = time.monotonic()
        compile_dataclass_methods_once()
        hidden = {name: module for name, module in list(sys.modules.items()) if _within(module, roots)}
        for name in hidden:
            del sys.modules[name]
        finder = _IsolatedFinder(roots)
        sys.meta_path.insert(0, finder)
        try:
            module = load(entry, module_name)
        finally:
            sys.meta_path.remove(finder)
            own = {
                name: module
                for name, module in list(sys.modules.items())
                if name == module_name or _within(module, roots)
            }
            for name in own:
                del sys.modules[name]
            sys.modules.update(hidden)
        return module, own, time.monotonic() - started


def share_clients(modules: dict[str, ModuleType]) -> None:
    """The environment's ``session_relay.aws`` makes no clients of its own: it uses the host's (through
    the product's seam), so the local stack's DynamoDB client and its call counting cover every one."""
    own, host = modules.get("session_relay.aws"), sys.modules.get("session_relay.aws")
    if own is None or host is None:
        return
    own.use_dynamodb_client(host.dynamodb_client)
    own.use_management_client(host.management_client)
