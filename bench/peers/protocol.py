"""What every runner measures, and how: imported by the runners in every virtualenv (stdlib + numpy only).

A runner is one implementation (ours or a peer) on one clip, in its own process so that peak memory is its own:

    python bench/peers/<runner>.py --model DIR --clip CLIP.npy --tokens 50 --dtype float32 --repeats 2 --out R.json

It defines an ``Implementation`` with ``load(model_dir, dtype)`` and ``run_once(audio, n_tokens) -> Stages``; each
stage is evaluated (``mx.eval`` / torch is eager) before its clock stops. Protocol: load (timed), one cold full
pipeline, then ``repeats`` warm pipelines (one when they would take over LONG_RUN_SECONDS); each warm stage is
the minimum over the warm runs (with ``--repeats 0``, the stages of the cold run).
"""

import argparse
import json
import platform
import resource
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
# Spec section 5.2, "token form when there is no context": system turn (empty), user turn with the audio.
PROMPT_HEAD = [151644, 8948, 198, 151645, 198, 151644, 872, 198, 151669]
PROMPT_TAIL = [151670, 151645, 198, 151644, 77091, 198]
AUDIO_PAD = 151676
LONG_RUN_SECONDS = 240  # when the cold run times the repeats exceeds this, a single warm run is taken


def prompt_ids(n_audio_tokens: int) -> list[int]:
    return PROMPT_HEAD + [AUDIO_PAD] * n_audio_tokens + PROMPT_TAIL


def num_audio_tokens(frames: int) -> int:
    """Spec section 1.3: 13 tokens per 100 frames, ceil(rest / 8) for the tail."""
    return 13 * (frames // 100) + -(-(frames % 100) // 8)


@dataclass
class Stages:
    """Seconds per stage of one pipeline run; ``prefill`` ends with the first token, ``decode`` makes the rest."""

    mel: float
    encoder: float
    prefill: float
    decode: float
    tokens: list = field(default_factory=list)
    prompt_tokens: int = 0

    @property
    def total(self) -> float:
        return self.mel + self.encoder + self.prefill + self.decode


class Clock:
    """``with clock("mel"): ...`` adds the block's wall time to ``clock.seconds["mel"]``."""

    def __init__(self):
        self.seconds = {}
        self._name = None

    def __call__(self, name: str):
        self._name = name
        return self

    def __enter__(self):
        self._start = time.perf_counter()

    def __exit__(self, *exc):
        self.seconds[self._name] = self.seconds.get(self._name, 0.0) + time.perf_counter() - self._start


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kilobytes


def rss_now_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--clip", type=Path, required=True, help=".npy float32 mono 16 kHz")
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args()


def main(implementation_class) -> None:
    """Run the protocol for one implementation and write its JSON; failures are written, not hidden."""
    args = parse_args()
    result = {"clip": str(args.clip), "dtype": args.dtype, "tokens_requested": args.tokens,
              "python": platform.python_version()}
    try:
        audio = np.load(args.clip).astype(np.float32)
        result["audio_seconds"] = len(audio) / SAMPLE_RATE
        impl = implementation_class()
        result["versions"] = impl.versions()
        start = time.perf_counter()
        impl.load(str(args.model), args.dtype)
        result["load_s"] = time.perf_counter() - start
        result["rss_after_load_mb"] = rss_now_mb()
        start = time.perf_counter()
        cold = impl.run_once(audio, args.tokens)
        result["cold_s"] = time.perf_counter() - start
        repeats = args.repeats if result["cold_s"] * args.repeats <= LONG_RUN_SECONDS else min(args.repeats, 1)
        result["warm_runs"] = repeats
        warm = [impl.run_once(audio, args.tokens) for _ in range(repeats)] or [cold]  # 0: the cold run's stages
        best = {name: min(getattr(w, name) for w in warm) for name in ("mel", "encoder", "prefill", "decode")}
        result["stages_s"] = best
        result["runs_s"] = [asdict(w) | {"tokens": None} for w in [cold] + warm]
        result["total_s"] = min(w.total for w in warm)
        result["tokens"] = [int(t) for t in warm[-1].tokens]
        result["prompt_tokens"] = warm[-1].prompt_tokens
        result["same_tokens_every_run"] = all(list(map(int, w.tokens)) == result["tokens"] for w in [cold] + warm)
        result["memory_mb"] = {"rss_peak": rss_peak_mb(), **impl.memory_mb()}
        result["ok"] = True
    except Exception as error:  # reported in the table as a failure, with its message
        result["ok"] = False
        result["error"] = f"{type(error).__name__}: {error}"
        result["traceback"] = traceback.format_exc()[-4000:]
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps({k: result.get(k) for k in ("ok", "error", "load_s", "cold_s", "stages_s")}), file=sys.stderr)
