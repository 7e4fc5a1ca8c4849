"""Shared by the reference builders (run by scripts/test.sh, each in its own virtualenv).

Keep this file free of torch/transformers/mlx imports: both virtualenvs import it.
"""

import argparse
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("MLX_ASR_SHARED", ROOT.parent / "shared"))
ASSETS = SHARED / "assets"


def parse_out_dir(description: str) -> Path:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, required=True, help="references root (e.g. .cache/references)")
    parser.add_argument("--force", action="store_true", help="rebuild even when the stamp is current")
    parser.add_argument("--only", default="", help="comma-separated variants to build (default: all)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.force:
        os.environ["MLX_ASR_FORCE_REBUILD"] = "1"
    if args.only:
        os.environ["MLX_ASR_ONLY"] = args.only
    return args.out


def selected(variants: list) -> list:
    """The variants to build: all, or those named by ``--only`` (unknown names are an error)."""
    only = [v for v in os.environ.get("MLX_ASR_ONLY", "").split(",") if v]
    unknown = sorted(set(only) - set(variants))
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}; known: {variants}")
    return [v for v in variants if not only or v in only]


def fingerprint(*inputs) -> str:
    """Hash of files (Path) and values (anything JSON-serialisable) that determine a build's output."""
    h = hashlib.sha256()
    for item in inputs:
        if isinstance(item, Path):
            h.update(item.read_bytes())
        else:
            h.update(json.dumps(item, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def is_current(folder: Path, stamp: str) -> bool:
    """True when ``folder`` holds a finished build with this stamp (and no rebuild was forced)."""
    if os.environ.get("MLX_ASR_FORCE_REBUILD"):
        return False
    stamp_file = folder / "STAMP"
    return stamp_file.exists() and stamp_file.read_text().strip() == stamp


def mark_current(folder: Path, stamp: str) -> None:
    (folder / "STAMP").write_text(stamp + "\n")


def begin_build(out: Path, variant: str, stamp: str) -> Optional[Path]:
    """An empty temporary folder to build ``variant`` into, or None (said) when its finished build is current."""
    final = out / "models" / variant
    if is_current(final, stamp):
        print(f"[{variant}] up to date ({final})")
        return None
    tmp = out / "models" / f".{variant}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    return tmp


def publish_build(tmp: Path, stamp: str) -> Path:
    """Stamp a finished ``begin_build`` folder and move it over its final place; returns that place."""
    final = tmp.parent / tmp.name[1:-len(".tmp")]
    mark_current(tmp, stamp)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final
