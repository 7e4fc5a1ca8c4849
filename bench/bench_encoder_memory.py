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

    x = np.array([r["minutes"] for r in rows])
    y = np.array([r["peak_bytes"] for r in rows], dtype=np.float64)
    slope, intercept = np.polyfit(x, y, 1)
    worst = float(np.max(np.abs(y - (slope * x + intercept)) / y))
    # A quadratic term would show as a superlinear ratio: compare the last point with linear extrapolation.
    summary = dict(mib_per_minute=slope / 2**20, intercept_mib=intercept / 2**20, worst_relative_deviation=worst,
                   ratio_last_to_first=float(y[-1] / y[0]), minutes_ratio=float(x[-1] / x[0]))
    print(f"linear fit: {summary['mib_per_minute']:.1f} MiB/min + {summary['intercept_mib']:.1f} MiB, "
          f"worst deviation {worst:.1%}; peak ratio {summary['ratio_last_to_first']:.1f}x for "
          f"{summary['minutes_ratio']:.0f}x audio")
    result = dict(device=str(mx.default_device()), audio_config=dataclasses.asdict(config), rows=rows,
                  summary=summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
