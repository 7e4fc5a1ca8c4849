"""Create the peers' virtualenvs under .cache/bench-venvs/ (pinned; each one its own), and report failures."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENVS = ROOT / ".cache" / "bench-venvs"
TORCH_SPEC = "torch==2.13.0"  # a local CPU wheel; any other spec pulls gigabytes of CUDA wheels
MLX_SPEC = "mlx[cpu]==0.32.4"  # the CPU backend on Linux; mlx-audio 0.6.2 pins mlx==0.32.4

# name -> groups of pip arguments, installed in order (torch first, so the official package cannot pull another)
PEER_ENVS = {
    "official": [[TORCH_SPEC], ["qwen-asr==0.0.6"]],
    "mlx-audio": [[MLX_SPEC, "mlx-audio==0.6.2"]],
    "mlx-qwen3-asr": [[MLX_SPEC, "mlx-qwen3-asr==0.4.4"]],
}


def python_of(name: str) -> Path:
    return VENVS / name / "bin" / "python"


def ensure(name: str, log) -> str | None:
    """Create venv ``name`` if its stamp is not current. Returns None on success, else the error text."""
    folder = VENVS / name
    stamp = repr(PEER_ENVS[name])
    stamp_file = folder / ".stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return None
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    steps = [[sys.executable, "-m", "venv", str(folder)]]
    steps += [[str(folder / "bin" / "pip"), "install", "-q", *group] for group in PEER_ENVS[name]]
    for step in steps:
        print(f"[bench] {name}: {' '.join(step[-3:])}", file=log, flush=True)
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if "WARNING: Location" not in line]
            return f"install failed ({' '.join(step[3:])}): " + " | ".join(errors[-5:])
    stamp_file.write_text(stamp)
    return None


if __name__ == "__main__":
    for peer in sys.argv[1:] or PEER_ENVS:
        print(peer, ensure(peer, sys.stderr) or "ok")
