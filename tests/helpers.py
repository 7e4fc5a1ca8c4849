"""Where the tests find their inputs, and what they do when an input is missing.

Assets come from ``../shared/assets`` (beside the project root), golden references from ``.cache/references``
(built by ``scripts/test.sh``). A missing input skips the test with a message saying how to get it, except under CI
(``CI=true``), where it fails: a parity test that silently skips proves nothing.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MLX_ASR_SHARED", ROOT.parent / "shared"))
ASSETS = SHARED / "assets"
REFERENCES = Path(os.environ.get("MLX_ASR_REFERENCES", ROOT / ".cache" / "references"))
IN_CI = os.environ.get("CI", "").lower() == "true"

BUILD_HINT = "run `bash scripts/test.sh` once to build the references"


def missing(message: str):
    """Skip (fail under CI) with ``message``."""
    if IN_CI:
        pytest.fail(f"{message} (CI=true: missing inputs are failures)")
    pytest.skip(message)


def asset(*parts: str) -> Path:
    """Path of a file under ../shared/assets, or skip/fail when it is absent."""
    path = ASSETS.joinpath(*parts)
    if not path.exists():
        missing(f"shared asset {path} is absent (the shared/ folder belongs beside the project root)")
    return path


def reference(*parts: str) -> Path:
    """Path of a golden reference under .cache/references, or skip/fail when it has not been built."""
    path = REFERENCES.joinpath(*parts)
    if not path.exists():
        missing(f"reference {path} has not been built: {BUILD_HINT}")
    return path
