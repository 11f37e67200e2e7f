"""docs/benchmarks.md's sections on what a function costs to start and to hold: cold start and
package size (section 5), the REST function's memory size (section 7)."""

from typing import Any

from bench.coldstart import TARGETS as IMPORT_TARGETS
from bench.report_targets import TARGETS, mark


def cold_start_section(results: dict[str, Any]) -> list[str]:
    imports = results["imports"]
    best, medians, ratios = imports["best_ms"], imports["median_ms"], imports["ratio_to_boto3"]
    lines = [
        "## 5. Cold start and package size",
        "",
        "Each function's entry module imported in a fresh interpreter, against `import boto3` (the floor",
        f"every function pays in Lambda), interleaved, {imports['repeats']} runs each. The ratio is of the",
        "fastest runs (on a shared machine noise only adds time); medians for reference. session_relay",
        "has bytecode, as the layer ships it:",
        "",
        "| import | fastest | median | fastest / `import boto3` | target |",
        "|---|---|---|---|---|",
        f"| `import boto3` | {best['boto3']} ms | {medians['boto3']} ms | 1.0 | |",
    ]
    for name, ratio in ratios.items():
        target = IMPORT_TARGETS[name]
        verdict = f"≤ {target}: {mark(ratio <= target)}"
        lines.append(f"| {name} | {best[name]} ms | {medians[name]} ms | {ratio} | {verdict} |")
    lines += [
        "",
        "`import boto3` then `from pydantic import BaseModel`, timed the same way: "
        f"{best['boto3+pydantic']} ms,",
        f"{imports['pydantic_ratio_to_boto3']} x `import boto3`, before any model is built. The REST",
        "function pays it (FastAPI validates with pydantic). The WebSocket functions check their",
        "settings, the handshake's identity and reply frames without it (`session_relay.contract`).",
        "",
        f"rest_api as the layer ships it (without pydantic.v1, which FastAPI then does not import): "
        f"{best['rest_api as layered']} ms,",
        f"{imports['rest_api_as_layered_ratio_to_boto3']} x `import boto3` "
        f"(target ≤ {IMPORT_TARGETS['rest_api']}: "
        f"{mark(imports['rest_api_as_layered_ratio_to_boto3'] <= IMPORT_TARGETS['rest_api'])}).",
        "",
        "The fixed stack alone, as layered (`import boto3`, FastAPI with one route, Mangum, Powertools'",
        f"Logger and Metrics): {best['stack floor']} ms, {imports['stack_floor_ratio_to_boto3']} x "
        "`import boto3`. The rest of",
        "rest_api's import is Session Relay's own: its routes, models, services and store. What only the",
        "OpenAPI document reads (answer models, body schemas) is built when the document is first asked",
        "for (`session_relay.api.documented`), not at import.",
        "",
        "What each import still costs, by top-level package (own time from `python -X importtime`, one",
        "run; tracing off, so neither Powertools' Tracer nor the X-Ray SDK is imported):",
        "",
        "| function | largest costs |",
        "|---|---|",
    ]
    for name, costs in results["import_breakdown_ms"].items():
        lines.append(f"| {name} | " + ", ".join(f"{package} {ms} ms" for package, ms in costs) + " |")
    lines.append("")
    return lines


def package_sizes_section(results: dict[str, Any]) -> list[str]:
    """The end of section 5: what `sam build` built, or why it built nothing."""
    sizes = results["package_mb"]
    if "error" in sizes:
        return [f"`sam build` failed, so no sizes: {sizes['error'][:300]}", ""]
    layer = sizes["CommonLayer"]
    return [
        "| built by `sam build` (unzipped) | size |",
        "|---|---|",
        *[f"| {name} | {mb} MB |" for name, mb in sizes.items()],
        "",
        f"CommonLayer target ≤ {TARGETS['layer_mb']} MB with no boto3 or botocore of its own: "
        f"{mark(layer <= TARGETS['layer_mb'])} (layers/common/Makefile fails the build if either is "
        "there).",
        "",
    ]


def memory_section(results: dict[str, Any]) -> list[str]:
    cpu, memory = results["rest_cpu"], results["rest_memory"]
    lines = [
        "## 7. The REST function's memory size",
        "",
        "The local stack's processes (gateways and every handler; the embedded database's child) spent",
        f"{cpu['cpu_ms']} ms of CPU per answered message over {cpu['messages']} messages of",
        f"{cpu['wall_ms']} ms each: an upper",
        "bound on the REST function's CPU. A fresh interpreter with the REST entry module and its clients",
        f"loaded peaks at {memory['footprint_mb']} MB. Lambda's CPU share grows with memory (one vCPU at",
        "1,769 MB), and a wait is billed memory x duration:",
        "",
        "| MemorySize | vCPU | one message's CPU takes | footprint / memory | GB-s of a 60 s wait |",
        "|---|---|---|---|---|",
    ]
    for row in memory["sizes"]:
        lines.append(
            f"| {row['memory_mb']} MB | {row['vcpu']} | {row['cpu_time_ms']} ms | {row['footprint_share']} | "
            f"{row['gb_s_per_full_wait']} |"
        )
    lines.append("")
    return lines
