"""Can any 4-bit weight quantizer reach a logit cosine of 0.98 on random full-size 0.6B weights? Measure it.

A full-size Qwen3-ASR-0.6B is built in memory with random weights (``--recipe``: the official classes' own
initialisation, or the conversion tests' well-conditioned one; see tests/random_weights.py) and teacher-forced on
one real clip over ``--tokens`` tokens of real text (the transcripts of the first English clips, so that the
forced tokens vary; random weights' own greedy output repeats a few tokens). Its decoder matrices (the layers convert.py quantizes by
default) are then perturbed in two ways, and the logits compared with float32 (mean row cosine, top-1 agreement):

- round-to-nearest affine quantization as convert.py stores it (``mx.quantize``: 8-bit and 4-bit, groups of 64 and 32);
- the rate-distortion bound: each matrix plus Gaussian noise of variance ``var(W) * 2**(-2R)``, the least mean squared
  error any quantizer spending R bits per weight can reach on Gaussian weights (Shannon). 4-bit with a float16 scale
  and bias per group of 64 spends R = 4.5 bits per weight, so the R = 4.5 row is an upper bound on what any 4-bit
  weight format of that size could score on these weights.

    LD_PRELOAD=.../libopenblas.so.0 .venv/bin/python bench/bench_quantization_bound.py [--recipe official]
"""

import argparse
import csv
import json
import platform
import sys
import time
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np

import mlx_asr
from mlx_asr.config import ModelConfig
from mlx_asr.model import Qwen3ASR
from mlx_asr.pipeline import prompt_builder
from mlx_asr.quantize import convert_predicate, dequantize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from random_weights import RECIPES, random_weights  # noqa: E402

from bench_quantized import agreement  # noqa: E402  (bench/ is on sys.path when run as a script)

ASSETS = ROOT.parent / "shared" / "assets"
MODEL_FILES = ASSETS / "qwen3-asr-0.6b"
CLIP = ASSETS / "speech" / "fleurs" / "fleurs-en-000.wav"
ROUNDING = [(8, 64), (4, 64), (4, 32)]
RATES = [4.0, 4.5, 5.0]


class TeacherForcing:
    """The prompt of one clip and a fixed token continuation; logits of any weights of the same model."""

    def __init__(self, model: Qwen3ASR, seconds: float, tokens: int):
        audio = mlx_asr.load_audio(str(CLIP))[: int(seconds * mlx_asr.SAMPLE_RATE)]
        self.features = mlx_asr.log_mel_spectrogram(audio)
        self.ids = prompt_builder(str(MODEL_FILES)).build(model.encode(self.features).shape[0])
        rows = csv.DictReader(open(ASSETS / "speech" / "manifest.tsv"), delimiter="\t")
        text = " ".join(row["reference"] for row in rows if row["language"] == "en")
        self.tokens = prompt_builder(str(MODEL_FILES)).tokenizer.encode(text)[:tokens]

    def logits(self, model: Qwen3ASR) -> np.ndarray:
        sequence = mx.array(self.ids + list(self.tokens[:-1]), dtype=mx.int32)[None]
        logits = model(sequence, model.encode(self.features))[0, len(self.ids) - 1:]
        return np.array(logits, dtype=np.float64)


def decoder_matrices(model: Qwen3ASR) -> set:
    """Paths of the layers a default 4-bit conversion quantizes (decoder linears; not the embedding/head)."""
    predicate = convert_predicate(4, 64)
    return {path for path, module in model.named_modules() if predicate(path, module) is True}


def rounded(model: Qwen3ASR, params: list, bits: int, group_size: int) -> Qwen3ASR:
    model.load_weights(params)
    nn.quantize(model, group_size=group_size, bits=bits, class_predicate=convert_predicate(bits, group_size))
    return dequantize(model)


def at_rate_distortion_bound(model: Qwen3ASR, params: list, targets: set, rate: float, seed: int) -> Qwen3ASR:
    rng = np.random.default_rng(seed)
    noisy = []
    for key, value in params:
        if key.endswith(".weight") and key[: -len(".weight")] in targets:
            weight = np.array(value)
            sigma = np.sqrt(weight.var() * 2.0 ** (-2 * rate))
            value = mx.array(weight + sigma * rng.standard_normal(weight.shape, dtype=np.float32))
        noisy.append((key, value))
    model.load_weights(noisy)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", choices=RECIPES, default="synthetic")
    parser.add_argument("--seconds", type=float, default=3.0, help="audio taken from the clip")
    parser.add_argument("--tokens", type=int, default=64, help="teacher-forced steps")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/quantization-bound-<recipe>.json)")
    args = parser.parse_args()
    config = ModelConfig.from_dict(json.loads((MODEL_FILES / "config.json").read_text()))
    model = Qwen3ASR(config)
    params = random_weights(model, args.recipe)
    mx.eval(model.parameters())
    forcing = TeacherForcing(model, args.seconds, args.tokens)
    reference = forcing.logits(model)
    targets = decoder_matrices(model)
    report = {"machine": {"platform": platform.platform(), "mlx": mx.__version__}, "recipe": args.recipe,
              "clip": str(CLIP.relative_to(ASSETS)), "seconds": args.seconds, "tokens": args.tokens,
              "distinct_float32_top1": len(set(reference.argmax(-1).tolist())), "quantized_layers": len(targets),
              "rows": []}
    print(f"{args.recipe} weights: {len(targets)} decoder matrices perturbed; {args.tokens} teacher-forced steps, "
          f"{report['distinct_float32_top1']} distinct float32 top-1 tokens", flush=True)
    runs = [(f"round-to-nearest {bits}-bit, groups of {group}", dict(kind="rounding", bits=bits, group_size=group),
             lambda bits=bits, group=group: rounded(model, params, bits, group)) for bits, group in ROUNDING]
    runs += [(f"rate-distortion bound at {rate} bits/weight", dict(kind="bound", bits_per_weight=rate),
              lambda rate=rate: at_rate_distortion_bound(model, params, targets, rate, seed=1)) for rate in RATES]
    for label, spec, perturb in runs:
        start = time.perf_counter()
        row = {**spec, **agreement(forcing.logits(perturb()), reference)}
        model = Qwen3ASR(config)  # quantize/dequantize replaced layers: start each run from a float model
        report["rows"].append(row)
        print(f"{label:45s} logit cosine {row['logit_cosine_mean']:.5f} (min {row['logit_cosine_min']:.5f}), "
              f"top-1 agreement {row['top1_agreement']:.3f}  [{time.perf_counter() - start:.1f} s]", flush=True)
    out = args.out or ROOT / "bench" / "results" / f"quantization-bound-{args.recipe}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
