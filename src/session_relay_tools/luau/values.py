"""Values between Python and the Luau VM, and ``HttpService`` JSON as Roblox documents it.

``HttpService:JSONEncode/JSONDecode`` follow Roblox's rules, faults included: an empty table encodes
as ``[]``; a table with number keys is an array that takes priority (string keys are silently
dropped) and, like Roblox, stops at the first hole; NaN and infinities come out as ``nan``/``inf``
(invalid JSON); cyclic tables, functions, userdata, threads, buffers, vectors and keys of other types
raise. JSONDecode rejects invalid JSON, gives 1-based arrays, and ``null`` is nil.
"""

import json
import math
from typing import Any

import pluau


class LuauError(Exception):
    """An error raised by a Python function called from Luau, surfaced there as an error value."""


class LuauValues:
    """Converts between Python data and one VM's values; encodes and decodes JSON like Roblox."""

    def __init__(self, lua: pluau.Lua) -> None:
        self.lua = lua

    def to_lua(self, value: Any) -> Any:
        if isinstance(value, dict):
            table = self.lua.create_table()
            for key, item in value.items():
                table.raw_set(self.to_lua(key), self.to_lua(item))
            return table
        if isinstance(value, list | tuple):
            table = self.lua.create_table()
            for index, item in enumerate(value, start=1):
                if item is not None:
                    table.raw_set(index, self.to_lua(item))
            return table
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            return float(value)
        return value

    def to_python(self, value: Any) -> Any:
        if isinstance(value, pluau.String):
            return value.as_bytes().decode("utf-8", errors="surrogateescape")
        if isinstance(value, pluau.Table):
            pairs = [(self.to_python(k), self.to_python(v)) for k, v in value]
            keys = [k for k, _ in pairs]
            if (
                keys
                and all(isinstance(k, int) for k in keys)
                and sorted(keys) == list(range(1, len(keys) + 1))
            ):
                return [v for _, v in sorted(pairs)]
            return dict(pairs)
        return value

    def text(self, value: Any) -> str:
        if isinstance(value, pluau.String):
            try:
                return value.as_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise LuauError("text is not valid UTF-8") from exc
        if isinstance(value, str):
            return value
        raise LuauError(f"expected a string, got {type(value).__name__}")

    # ------------------------------------------------------------ HttpService JSON (Roblox's rules)

    def json_encode(self, value: Any) -> str:
        return self._encode(value, set())

    def _encode(self, value: Any, stack: set[int]) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if math.isnan(value):
                return "nan"  # Roblox emits these as they are: not JSON
            if math.isinf(value):
                return "inf" if value > 0 else "-inf"
            if value.is_integer() and abs(value) < 1e16:
                return str(int(value))
            return repr(value)
        if isinstance(value, pluau.String | str):
            try:
                text = self.text(value)
            except LuauError as exc:
                raise LuauError("Can't convert to JSON: " + str(exc)) from exc
            return json.dumps(text, ensure_ascii=False)
        if isinstance(value, pluau.Table):
            if value.pointer in stack:
                raise LuauError("Can't convert to JSON: tables cannot be cyclic")
            stack.add(value.pointer)
            try:
                return self._encode_table(value, stack)
            finally:
                stack.discard(value.pointer)
        raise LuauError(f"Can't convert to JSON: {type(value).__name__} values are not supported")

    def _encode_table(self, table: pluau.Table, stack: set[int]) -> str:
        pairs = list(table)
        if not pairs:
            return "[]"
        keys = [key for key, _ in pairs]
        if any(not isinstance(key, int | float | pluau.String) or isinstance(key, bool) for key in keys):
            raise LuauError("Can't convert to JSON: keys must be strings or numbers")
        if any(isinstance(key, int | float) for key in keys):
            # Documented: an array takes priority and string keys are ignored. Like Roblox, the
            # array ends at the first nil.
            items = []
            index = 1
            while (item := table.raw_get(index)) is not None:
                items.append(self._encode(item, stack))
                index += 1
            return "[" + ",".join(items) + "]"
        members = [f"{self._encode(key, stack)}:{self._encode(item, stack)}" for key, item in pairs]
        return "{" + ",".join(members) + "}"

    def json_decode(self, text: Any) -> Any:
        def reject(name: str) -> Any:
            raise LuauError(f"Can't parse JSON: {name}")

        try:
            document = json.loads(self.text(text), parse_constant=reject)
        except ValueError as exc:
            raise LuauError("Can't parse JSON") from exc
        return self.to_lua(document)
