"""Package sizes: what ``sam build`` makes (the cold start is measured by ``bench.coldstart``)."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _size_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1_000_000, 3)


def package_sizes() -> dict[str, Any]:
    """Sizes of what ``sam build`` produces: the layer and each function package (MB, unzipped)."""
    sam = ROOT / ".venv-tools" / "bin" / "sam"
    if not sam.exists():
        return {"error": "AWS SAM CLI not installed (make install)"}
    python312 = Path(sys.executable).resolve().parent
    with tempfile.TemporaryDirectory() as build_dir:
        completed = subprocess.run(
            [str(sam), "build", "--build-dir", build_dir, "--template-file", str(ROOT / "template.yaml")],
            cwd=ROOT,
            env={**os.environ, "PATH": f"{python312}:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"},
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            return {"error": completed.stdout[-2000:] + completed.stderr[-2000:]}
        built = Path(build_dir)
        sizes = {"CommonLayer": _size_mb(built / "CommonLayer")}
        for folder in sorted(built.iterdir()):
            if folder.is_dir() and folder.name.endswith("Function"):
                sizes[folder.name] = _size_mb(folder)
        return sizes
