"""Quantized conversions side by side: size, load peak, decode ms/token and agreement with float32.

For each mode (float32, 8-bit, 4-bit, 8/4-bit with a quantized embedding/head, 4-bit with an 8-bit encoder) the source
checkpoint is converted once (cached under --work), loaded, and measured on one real clip: decode ms/token over
--tokens forced greedy steps (mlx-lm's generate_step with a KV cache, after a warm-up), and, teacher-forced on the
float32 model's greedy tokens, the mean logit cosine similarity and the top-1 agreement with float32 (computed
with the dequantized weights: identical numbers, float kernels). With --tiny,
the trained tiny model (shared assets) transcribes its test set in each mode; exact-transcript agreement with the
official outputs shows what quantizing the tied embedding / output head does to a trained model.

    LD_PRELOAD=.../libopenblas.so.0 .venv/bin/python bench/bench_quantized.py \
        --hf-path .cache/references/models/0.6b/model [--tiny] [--out bench/results/quantized.json]
"""

import argparse
import csv
import gc
import json
import platform
import time
from pathlib import Path

import mlx.core as mx
import numpy as np

import mlx_asr
from mlx_asr.convert import convert
from mlx_asr.load import load
from mlx_asr.generate import greedy_generate
from mlx_asr.pipeline import prompt_builder, transcribe
from mlx_asr.quantize import dequantize

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT.parent / "shared" / "assets"
TINY = ASSETS / "qwen3-asr-tiny-espeak"
CLIP = ASSETS / "speech" / "fleurs" / "fleurs-en-000.wav"
MODES = {
    "float32": dict(dtype="float32"),
    "8bit": dict(quantize=True, q_bits=8),
    "4bit": dict(quantize=True, q_bits=4),
    "8bit-embedding8": dict(quantize=True, q_bits=8, quantize_embedding=True),
    "4bit-embedding4": dict(quantize=True, q_bits=4, quantize_embedding=True),
    "4bit-encoder8": dict(quantize=True, q_bits=4, encoder_bits=8),
}


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*.safetensors"))


def converted(source: Path, work: Path, mode: str, dtype: str) -> Path:
    options = {"dtype": dtype, **MODES[mode]}
    return convert(source, work / f"{source.parent.name}-{mode}-{options['dtype']}", **options)


def agreement(logits: np.ndarray, reference: np.ndarray) -> dict:
    """Mean row cosine similarity and top-1 agreement of (T, vocab) logits against a reference."""
    cosine = (logits * reference).sum(-1) / (np.linalg.norm(logits, axis=-1) * np.linalg.norm(reference, axis=-1))
    return {"logit_cosine_mean": float(cosine.mean()), "logit_cosine_min": float(cosine.min()),
            "top1_agreement": float((logits.argmax(-1) == reference.argmax(-1)).mean())}


def measure(model, features: mx.array, tokens: int, forced=None) -> dict:
    """Decode timing over `tokens` forced steps, and teacher-forced logits over `forced` (or the greedy tokens)."""
    builder = prompt_builder(str(model.path))
    audio = model.encode(features)
    mx.eval(audio)
    ids = builder.build(audio.shape[0])
    embeddings = model.embed(mx.array(ids, dtype=mx.int32)[None], audio)[0]
    greedy_generate(model, ids, embeddings, (), 4, detect_loops=False)  # warm-up
    run = greedy_generate(model, ids, embeddings, (), tokens, detect_loops=False)
    forced = run.tokens if forced is None else forced
    dequantize(model)  # same weights, float kernels: MLX's CPU quantized matmul is slow for long sequences
    sequence = mx.array(ids + list(forced[:-1]), dtype=mx.int32)[None]
    logits = model(sequence, audio)[0, len(ids) - 1:]
    return {"decode_ms_per_token": 1000 * run.decode_seconds / (len(run.tokens) - 1),
            "prefill_seconds": run.prefill_seconds, "prompt_tokens": len(ids), "greedy": run.tokens,
            "logits": np.array(logits.astype(mx.float32))}


def load_peak(folder: Path) -> tuple:
    gc.collect()
    mx.clear_cache()
    mx.reset_peak_memory()
    start = time.perf_counter()
    model = load(folder, dtype="float32")
    return model, time.perf_counter() - start, mx.get_peak_memory()


def bench_full(source: Path, work: Path, dtype: str, tokens: int, modes) -> dict:
    features = mlx_asr.log_mel_spectrogram(mlx_asr.load_audio(str(CLIP)))
    results, reference = {}, None
    for mode in modes:
        folder = converted(source, work, mode, "float32" if mode == "float32" else dtype)
        model, seconds, peak = load_peak(folder)
        run = measure(model, features, tokens, None if reference is None else reference["greedy"])
        if reference is None:
            reference = run
        row = {"folder_bytes": folder_bytes(folder), "load_seconds": seconds, "load_peak_bytes": peak,
               "decode_ms_per_token": run["decode_ms_per_token"], "prompt_tokens": run["prompt_tokens"],
               "tokens": tokens, **agreement(run["logits"], reference["logits"])}
        results[mode] = row
        print(mode, json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
        del model
    return results


def bench_tiny(work: Path, dtype: str, modes) -> dict:
    rows = list(csv.DictReader(open(TINY / "testset" / "reference_outputs.tsv"), delimiter="\t"))
    results = {}
    for mode in modes:
        if mode == "4bit-encoder8" or (mode != "float32" and 192 % 64):
            continue
        folder = converted(TINY, work, mode, "float32" if mode == "float32" else dtype)
        model = load(folder, dtype="float32")
        texts = [transcribe(str(TINY / "testset" / row["file"]), model=model).text for row in rows]
        same = sum(text == row["text"] for text, row in zip(texts, rows))
        results[mode] = {"files": len(rows), "transcripts_equal_to_official": same,
                         "agreement": same / len(rows), "texts": texts}
        print(f"tiny {mode}: {same}/{len(rows)} transcripts identical to the official float32 outputs", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hf-path", type=Path, help="source checkpoint (e.g. the 0.6B random-weight reference)")
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "bench-quantized")
    parser.add_argument("--dtype", default="float16", help="dtype of the quantized folders' scales and float weights")
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--tiny", action="store_true", help="also transcribe the trained tiny model's test set")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "quantized.json")
    args = parser.parse_args()
    modes = args.modes.split(",")
    report = {"machine": {"platform": platform.platform(), "device": str(mx.default_device()),
                          "mlx": mx.__version__}, "dtype": args.dtype, "clip": str(CLIP.relative_to(ASSETS))}
    if args.hf_path:
        report["source"] = str(args.hf_path)
        report["full"] = bench_full(args.hf_path, args.work, args.dtype, args.tokens, modes)
    if args.tiny:
        report["tiny"] = bench_tiny(args.work, args.dtype, modes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
