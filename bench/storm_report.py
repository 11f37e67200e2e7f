"""The storm section of docs/benchmarks.md, from ``bench.storm``'s results (kept between markers, so
``make bench``'s report and ``python -m bench.storm`` each put it in place)."""

from pathlib import Path
from typing import Any

FIXED_AGE_COMMIT = "c4392fd"  # the client before rotation windows (bench.storm measures it)
SECTION_START, SECTION_END = "<!-- storm -->", "<!-- /storm -->"


def section(results: dict[str, Any]) -> str:
    """The storm section of docs/benchmarks.md, between its markers."""
    window, fixed, drop = results["rotation_window"], results["rotation_fixed_age"], results["drop"]
    return "\n".join(
        [
            SECTION_START,
            "## Reconnect storms (`python -m bench.storm`)",
            "",
            f"Rotations before the 2-hour cap: {window['clients']:,} Luau clients that connected in the same",
            "second, in virtual time through the rotation window (no server: a transport in Luau answers).",
            "",
            "| client | rotations between | seconds with rotations | most rotations in one second |",
            "|---|---|---|---|",
            f"| fixed age (6,900 s, the client of {FIXED_AGE_COMMIT}) | {fixed['first_s']:,} s and "
            f"{fixed['last_s']:,} s | {fixed['seconds_with_rotations']} | {fixed['peak_per_second']:,} |",
            f"| window (100 to 115 minutes) | {window['first_s']:,} s and {window['last_s']:,} s | "
            f"{window['seconds_with_rotations']} | {window['peak_per_second']:,} |",
            "",
            f"A drop: {drop['clients']:,} Luau clients (real sockets) that joined the local stack at a rate",
            f"of {drop['rate_per_s']} new connections a second (`SESSION_RELAY_CONNECT_RATE`; joining took "
            f"{drop['first_connect_s']} s), then every",
            "connection closed at once; each client reconnects with full-jitter backoff, refused `429`",
            "beyond the rate.",
            "",
            "| all back after | the rate's floor (clients / rate) | handshakes refused (429, 5xx, none) "
            "| gave up | connections open | sessions listed | of them stale | `$disconnect`s lost |",
            "|---|---|---|---|---|---|---|---|",
            f"| {drop['reconnect_s']} s | {drop['floor_s']} s | {drop['refused_429']:,} | {drop['gave_up']} "
            f"| {drop['connections_open']:,} | {drop['sessions_listed']:,} "
            f"| {drop['stale_sessions_listed']:,} | {drop['disconnects_lost']:,} |",
            "",
            "No client holds two connections (connections open = clients). A stale session is the record of",
            "a closed connection whose `$disconnect` was refused by Lambda (throttled: the drop's",
            "`$disconnect`s and the first retries arrive together): API Gateway does not retry it, so the",
            "session stays listed until the connection's 2-hour cap (or until a message to it meets the",
            "gone connection). The time above the floor is the stack digesting the drop's `$disconnect`s",
            "and the first retries, which full jitter spreads over the backoff window, not over the rate.",
            SECTION_END,
        ]
    )


def write_section(results: dict[str, Any], path: Path) -> None:
    """Put the storm section into ``path`` (replacing the one there, else at the end)."""
    text = path.read_text() if path.exists() else ""
    if SECTION_START in text and SECTION_END in text:
        head, rest = text.split(SECTION_START, 1)
        text = head + section(results) + rest.split(SECTION_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section(results) + "\n"
    path.write_text(text)
