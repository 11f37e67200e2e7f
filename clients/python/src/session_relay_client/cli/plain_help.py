"""Help screens in plain words for every ``session-relay`` command (and the simulator's own program).

Typer shows Python type names as placeholders: ``--json <bool>``, ``ID <list[str]>``, ``{ID}`` for a
required argument, ranges as ``[x>=1]``. Here a flag shows no placeholder, an argument shows its
metavar (``ID``, ``ID...`` for several, ``[ID...]`` when optional), an option without a metavar its
name in capitals, and no range (each option's help says it in words).
Every ``typer.Typer(...)`` of the CLI takes ``cls=PlainHelpGroup`` and every command
``cls=PlainHelpCommand``.
"""

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


def _plain(param: Any) -> None:
    if getattr(param, "_plain_help", False):
        return
    param._plain_help = True  # type: ignore[attr-defined]
    # Ranges read as "x>=1" there: each option's help says its range in words instead.
    param._get_number_range_help_str = lambda: None  # type: ignore[attr-defined]
    if isinstance(param, TyperOption):
        placeholder = None if param.is_flag else param.metavar or param.name.upper()
        param.display_type_rich = lambda ctx=None: placeholder  # type: ignore[method-assign]
    elif isinstance(param, TyperArgument):
        shown = (param.metavar or param.name.upper()) + ("..." if param.nargs != 1 else "")
        param.metavar = shown
        param._rich_display_name = lambda: shown  # type: ignore[method-assign]
        param._usage_display_name = lambda: shown if param.required else f"[{shown}]"  # type: ignore[method-assign]
        param.display_type_rich = lambda ctx=None: None  # type: ignore[method-assign]


class _PlainParams:
    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            _plain(param)
        return params


class PlainHelpCommand(_PlainParams, TyperCommand):
    """A command whose help and usage lines use plain placeholders."""


class PlainHelpGroup(_PlainParams, TyperGroup):
    """A group whose own help uses plain placeholders (its commands take ``PlainHelpCommand``)."""
