"""One command for the whole benchmark: ours and the peers, same checkpoint, same audio, same forced token count.

    python bench/run.py                      # all clips (10 s, 30 s, 160 s), all implementations, 50 tokens
    python bench/run.py --clips 30s --only ours,mlx-audio --tokens 20 --repeats 1

Creates the peers' virtualenvs (.cache/bench-venvs/), the random-weight 0.6B checkpoint if needed, measures the
machine's floors (before and after the runs, best kept), runs each implementation on each clip in its own process,
prints Markdown tables and writes bench/results/<UTC time>.json. Failures are reported in the tables, not hidden.
"""

import argparse
import datetime
import json
import os
import platform
import struct
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import clips as clip_set  # noqa: E402
import peer_envs  # noqa: E402
import report  # noqa: E402

ROOT = HERE.parent
ASSETS = ROOT.parent / "shared" / "assets" / "qwen3-asr-0.6b"
REFERENCE_MODEL = ROOT / ".cache" / "references" / "models" / "0.6b" / "model"
BENCH_MODEL = ROOT / ".cache" / "bench-model" / "0.6b"
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"
MAIN_PYTHON = ROOT / ".venv" / "bin" / "python"

# name -> (virtualenv python, runner script, dtype, MLX?)
IMPLEMENTATIONS = {
    "ours": (MAIN_PYTHON, "ours_runner.py", "float32", True),
    "mlx-audio": (peer_envs.python_of("mlx-audio"), "mlx_audio_runner.py", "float32", True),
    "mlx-qwen3-asr": (peer_envs.python_of("mlx-qwen3-asr"), "mlx_qwen3_asr_runner.py", "float32", True),
    "official-fp32": (peer_envs.python_of("official"), "official_runner.py", "float32", False),
    "official-bf16": (peer_envs.python_of("official"), "official_runner.py", "bfloat16", False),
}
VENV_OF = {"mlx-audio": "mlx-audio", "mlx-qwen3-asr": "mlx-qwen3-asr", "official-fp32": "official",
           "official-bf16": "official"}


def environment(mlx: bool) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.pop("LD_PRELOAD", None)
    if mlx and Path(OPENBLAS).exists():
        env["LD_PRELOAD"] = OPENBLAS  # 30x faster float32 matmul for MLX on Linux CPU
    return env


def safetensors_dtypes(folder: Path) -> set:
    dtypes = set()
    for file in folder.glob("*.safetensors"):
        with open(file, "rb") as f:
            header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
        dtypes |= {v["dtype"] for k, v in header.items() if k != "__metadata__"}
    return dtypes


def checkpoint(log) -> Path:
    """The reference builders' 0.6B checkpoint if it is float32, else the bench's own (same recipe)."""
    if (REFERENCE_MODEL / "config.json").exists() and safetensors_dtypes(REFERENCE_MODEL) == {"F32"}:
        return REFERENCE_MODEL
    if not (BENCH_MODEL / "model.safetensors").exists():
        print(f"[bench] building the random-weight 0.6B checkpoint in {BENCH_MODEL}", file=log, flush=True)
        subprocess.run([str(peer_envs.python_of("official")), str(HERE / "make_checkpoint.py"),
                        "--assets", str(ASSETS), "--out", str(BENCH_MODEL)], check=True, env=environment(False))
    return BENCH_MODEL


def measure_floors() -> dict:
    done = subprocess.run([str(MAIN_PYTHON), str(HERE / "floors.py")], capture_output=True, text=True,
                          env=environment(True), check=True)
    return json.loads(done.stdout)


def run_one(name: str, model: Path, clip: dict, args, out: Path, log) -> dict:
    python, script, dtype, mlx = IMPLEMENTATIONS[name]
    command = [str(python), str(HERE / "peers" / script), "--model", str(model), "--clip", clip["path"],
               "--tokens", str(args.tokens), "--dtype", dtype, "--repeats", str(args.repeats), "--out", str(out)]
    print(f"[bench] {name} on {Path(clip['path']).stem}", file=log, flush=True)
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=environment(mlx), timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {args.timeout} s"}
    if not out.exists():
        return {"ok": False, "error": f"runner exited {done.returncode}: {done.stderr.strip()[-300:]}"}
    result = json.loads(out.read_text())
    if result.get("ok") and len(result["tokens"]) != args.tokens:
        result.update(ok=False, error=f"made {len(result['tokens'])} tokens, not {args.tokens}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", nargs="+", type=Path, metavar="RESULT_JSON",
                        help="only print the merged tables of earlier runs (later wins per clip and implementation)")
    parser.add_argument("--clips", default=",".join(clip_set.CLIPS))
    parser.add_argument("--only", default=",".join(IMPLEMENTATIONS), help="implementations to run")
    parser.add_argument("--tokens", type=int, default=50, help="forced decoded token count")
    parser.add_argument("--repeats", type=int, default=2,
                        help="warm runs after the cold one (minimum kept; 0: use the cold run)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per implementation and clip")
    args = parser.parse_args()
    if args.report:
        print(report.render(report.merge([json.loads(path.read_text()) for path in args.report])))
        return
    log = sys.stderr
    names = args.only.split(",")
    unknown = set(names) - set(IMPLEMENTATIONS)
    if unknown:
        parser.error(f"unknown implementations {sorted(unknown)}; choose from {list(IMPLEMENTATIONS)}")

    install_errors = {}
    for venv in sorted({VENV_OF[n] for n in names if n in VENV_OF} | {"official"}):
        error = peer_envs.ensure(venv, log)
        if error:
            install_errors[venv] = error
    model = checkpoint(log)
    clips = clip_set.prepare(ROOT / ".cache" / "bench-audio", args.clips.split(","))
    machine = measure_floors()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    scratch = ROOT / ".cache" / "bench-runs" / stamp
    scratch.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()

    results = {}
    for clip_name, clip in clips.items():
        results[clip_name] = {}
        for name in names:
            if name in VENV_OF and VENV_OF[name] in install_errors:
                results[clip_name][name] = {"ok": False, "error": install_errors[VENV_OF[name]]}
                continue
            results[clip_name][name] = run_one(name, model, clip, args, scratch / f"{name}-{clip_name}.json", log)

    machine = report.best_of(machine, measure_floors())
    config = json.loads((model / "config.json").read_text())
    floors = {c: report.floor_rows(c, r["ours"], config, machine)
              for c, r in results.items() if r.get("ours", {}).get("ok")}

    record = {"stamps": [stamp], "args": vars(args), "checkpoint": str(model.relative_to(ROOT)), "clips": clips,
              "machine": machine, "platform": f"{platform.machine()} Linux, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}", "load_average": [[load_before[0], os.getloadavg()[0]]],
              "install_errors": install_errors, "results": results, "floors": floors}
    text = report.render(record)
    print(text)

    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    record["report"] = text
    for per_impl in results.values():
        for r in per_impl.values():
            r.pop("traceback", None) if r.get("ok") else None
    (out_dir / f"{stamp}.json").write_text(json.dumps(record, indent=1))
    print(f"\n[bench] wrote bench/results/{stamp}.json", file=log)


if __name__ == "__main__":
    main()
