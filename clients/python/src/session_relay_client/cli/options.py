"""Options more than one command takes, each declared once, and the way a command takes them.

A command lists its own parameters and ends with ``**options``; ``with_options(...)`` adds the
shared ones to the signature Typer reads, so they are typed after the subcommand as before
(``session-relay admin keys list --stack NAME --json``) and arrive in ``options``.
"""

import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

JsonFlag = Annotated[
    bool,
    typer.Option("--json", help="Print exactly one JSON document on stdout (same as the global --json)."),
]

# ---------------------------------------------------------------- session filters

ScriptFilter = Annotated[
    str | None, typer.Option("--script-id", metavar="ID", help="Only sessions of this script.")
]
UserKeyFilter = Annotated[
    str | None, typer.Option("--user-key", metavar="KEY", help="Only sessions with this user key.")
]
RobloxFilter = Annotated[
    int | None, typer.Option("--roblox-id", metavar="N", help="Only sessions of this Roblox user id.")
]
PlaceFilter = Annotated[
    int | None, typer.Option("--place-id", metavar="N", help="Only sessions in this place.")
]
JobFilter = Annotated[
    str | None, typer.Option("--job-id", metavar="ID", help="Only sessions in this server (job id).")
]
FunctionFilter = Annotated[
    str | None,
    typer.Option("--function", metavar="NAME", help="Only sessions that declared a function of this name."),
]

# ---------------------------------------------------------------- where admin commands write

StackOption = Annotated[
    str | None,
    typer.Option(
        "--stack", metavar="NAME", help="A deployed stack: table names come from its CloudFormation outputs."
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option("--region", metavar="REGION", help="AWS region (default: your AWS configuration)."),
]
TableOption = Annotated[
    str | None, typer.Option("--table", metavar="NAME", help="The auth table's name, given directly.")
]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--dynamodb-endpoint",
        metavar="URL",
        help="A DynamoDB endpoint, e.g. the local stack's http://127.0.0.1:8000 "
        "(its tables then have the local names).",
    ),
]


def _option(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    # Typer passes every parameter by keyword; the kind only has to fit anywhere in the signature.
    return inspect.Parameter(
        name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=annotation
    )


JSON = (_option("json_flag", JsonFlag, False),)
FILTERS = (
    _option("script_id", ScriptFilter),
    _option("user_key", UserKeyFilter),
    _option("roblox_id", RobloxFilter),
    _option("place_id", PlaceFilter),
    _option("job_id", JobFilter),
    _option("function", FunctionFilter),
)
TARGET = (
    _option("stack", StackOption),
    _option("table", TableOption),
    _option("dynamodb_endpoint", EndpointOption),
    _option("region", RegionOption),
)


F = TypeVar("F", bound=Callable[..., Any])


def with_options(*shared: inspect.Parameter, before: str | None = None) -> Callable[[F], F]:
    """Give a command ending in ``**options`` these shared options, after its own or (for the order
    ``--help`` lists them in) ``before`` the own parameter of that name."""

    def add(command: F) -> F:
        signature = inspect.signature(command)
        own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        at = [p.name for p in own].index(before) if before else len(own)
        parameters = [*own[:at], *shared, *own[at:]]
        command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return command

    return add


def filters(options: dict[str, Any]) -> dict[str, Any]:
    """The session filters given, by name."""
    return {p.name: options[p.name] for p in FILTERS if options.get(p.name) is not None}
