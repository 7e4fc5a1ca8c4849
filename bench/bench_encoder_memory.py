"""Peak memory of the audio encoder versus audio length: it must grow linearly (windowed attention, chunked convs).

Random weights at the real widths (default: the released 0.6B audio_config); depth can be reduced since layers run
one after another and peak memory does not depend on their number. Prints a table and writes JSON.

    LD_PRELOAD=.../libopenblas.so.0 .venv/bin/python bench/bench_encoder_memory.py --minutes 1 2 5 10 20
"""

import argparse
import dataclasses
import json
import time
from pathlib import Path

import mlx.core as mx
import numpy as np

from mlx_asr.config import AudioEncoderConfig
from mlx_asr.encoder import AudioEncoder, num_audio_tokens

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT.parent / "shared" / "assets" / "qwen3-asr-0.6b" / "config.json"
FRAMES_PER_MINUTE = 6000  # 100 mel frames per second


def measure(encoder: AudioEncoder, frames: int) -> dict:
    features = mx.random.normal((128, frames))
    mx.eval(features)
    mx.clear_cache()
    baseline = mx.get_active_memory()
    mx.reset_peak_memory()
    start = time.perf_counter()
    out = encoder(features)
    mx.eval(out)
    seconds = time.perf_counter() - start
    peak = mx.get_peak_memory() - baseline
    del out
    return dict(frames=frames, audio_tokens=num_audio_tokens(frames), peak_bytes=peak, seconds=round(seconds, 2))


def summarize(rows: list, heads: int) -> dict:
    """Marginal cost per extra minute between measured lengths, and what dense attention scores would cost.

    Peak = max(conv group, transformer layer): flat while the fixed-size conv group dominates, then linear in the
    number of tokens. A dense S x S attention would make the marginal cost grow with length instead.
    """
    x = np.array([r["minutes"] for r in rows], dtype=np.float64)
    y = np.array([r["peak_bytes"] for r in rows], dtype=np.float64) / 2**20
    marginal = [round(float(v), 1) for v in np.diff(y) / np.diff(x)]
    tokens = rows[-1]["audio_tokens"]
    return dict(peak_mib=[round(float(v), 1) for v in y], marginal_mib_per_minute=marginal,
                dense_scores_mib_at_longest=round(tokens * tokens * heads * 4 / 2**20, 1),
                peak_ratio_longest_to_shortest=float(y[-1] / y[0]), length_ratio=float(x[-1] / x[0]))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="a released config.json")
    parser.add_argument("--layers", type=int, default=2, help="encoder depth to run (peak does not depend on it)")
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 2, 5, 10, 20])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "encoder_memory.json")
    args = parser.parse_args()

    audio = json.loads(args.config.read_text())["thinker_config"]["audio_config"]
    config = dataclasses.replace(AudioEncoderConfig.from_dict(audio), encoder_layers=args.layers)
    encoder = AudioEncoder(config)
    mx.eval(encoder.parameters())

    rows = []
    for minutes in args.minutes:
        row = dict(minutes=minutes, **measure(encoder, int(minutes * FRAMES_PER_MINUTE)))
        rows.append(row)
        print(f"{minutes:6.1f} min  {row['audio_tokens']:6d} tokens  peak {row['peak_bytes'] / 2**20:9.1f} MiB  "
              f"{row['peak_bytes'] / 2**20 / minutes:7.1f} MiB/min  {row['seconds']:7.1f} s", flush=True)

    summary = summarize(rows, config.encoder_attention_heads)
    print(f"marginal MiB per extra minute: {summary['marginal_mib_per_minute']}; one layer's dense float32 S x S "
          f"scores alone would take {summary['dense_scores_mib_at_longest']:.0f} MiB at {rows[-1]['minutes']:g} min")
    result = dict(device=str(mx.default_device()), audio_config=dataclasses.asdict(config), rows=rows,
                  summary=summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
