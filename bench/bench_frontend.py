"""Front-end benchmark: load + log-mel of a 10-minute file, ours against the official processor; loader memory.

    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0 .venv/bin/python bench/bench_frontend.py

The official side (`qwen_asr` `normalize_audio_input` + `Qwen3ASRProcessor`) runs in `.venv-ref` through a
subprocess. Peak RSS of loading a generated 2-hour WAV is measured in fresh subprocesses for both loaders (skip with
`--no-memory`). Prints a table and writes `bench/results/frontend.json`.
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "assets"
REF_PYTHON = ROOT / ".venv-ref" / "bin" / "python"
SOURCES = ["speech/long/longform_en.wav", "speech/long/longform_de_fleurs.wav"]
PROMPT = "<|audio_start|><|audio_pad|><|audio_end|>"

OFFICIAL_TIMER = """
import json, sys, time
from qwen_asr.core.transformers_backend.processing_qwen3_asr import Qwen3ASRProcessor
from qwen_asr.inference.utils import normalize_audio_input
processor = Qwen3ASRProcessor.from_pretrained(sys.argv[1])
times = []
for _ in range(int(sys.argv[3]) + 1):
    start = time.perf_counter()
    wav = normalize_audio_input(sys.argv[2])
    feats = processor(text=[%r], audio=[wav], return_tensors="np", padding=True)["input_features"]
    times.append(time.perf_counter() - start)
print(json.dumps({"seconds": times[1:], "frames": int(feats.shape[-1])}))
""" % PROMPT

RSS_PROBE = """
import sys
def status_mb(key):  # VmRSS: resident now; VmHWM: peak since the last reset
    line = next(l for l in open("/proc/self/status") if l.startswith(key + ":"))
    return int(line.split()[1]) / 1024
if sys.argv[1] == "ours":
    from mlx_asr import load_audio
else:
    from qwen_asr.inference.utils import normalize_audio_input as load_audio
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak to the current RSS: imports do not count
base = status_mb("VmRSS")
audio = load_audio(sys.argv[2])
print(base, status_mb("VmHWM"), audio.nbytes / 2**20)
"""


def make_file(path: Path, seconds: float, rate: int, channels: int) -> Path:
    """`seconds` of real speech (the long-form clips, repeated), written as 16-bit PCM WAV."""
    speech = np.concatenate([sf.read(SHARED / source, dtype="float32")[0] for source in SOURCES])
    if rate != 16000:
        import librosa

        speech = librosa.resample(speech, orig_sr=16000, target_sr=rate)
    total = int(seconds * rate)
    with sf.SoundFile(path, "w", rate, channels, "PCM_16") as out:
        written = 0
        while written < total:
            block = speech[: total - written]
            out.write(np.stack([block] * channels, axis=1) if channels > 1 else block)
            written += len(block)
    return path


def time_ours(path: Path, runs: int) -> dict:
    import mlx.core as mx

    from mlx_asr import load_audio, log_mel_spectrogram

    times = []
    for _ in range(runs + 1):  # first run warms up
        start = time.perf_counter()
        feats = log_mel_spectrogram(load_audio(path))
        mx.eval(feats)
        times.append(time.perf_counter() - start)
    return {"seconds": times[1:], "frames": int(feats.shape[1])}


def time_official(path: Path, runs: int) -> dict:
    out = subprocess.run([str(REF_PYTHON), "-c", OFFICIAL_TIMER, str(SHARED / "qwen3-asr-0.6b"), str(path), str(runs)],
                         capture_output=True, text=True, check=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_rss(python: Path, which: str, path: Path) -> dict:
    out = subprocess.run([str(python), "-c", RSS_PROBE, which, str(path)], capture_output=True, text=True, check=True)
    base, peak, audio = (float(v) for v in out.stdout.split())
    return {"baseline_mb": round(base, 1), "peak_mb": round(peak, 1), "added_mb": round(peak - base, 1),
            "output_mb": round(audio, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true", help="skip the 2-hour loader memory measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "frontend.json")
    args = parser.parse_args()

    results = {"machine": platform.platform(), "python": sys.version.split()[0], "minutes": args.minutes,
               "runs": args.runs, "timing": {}, "memory_2h": {}}
    with tempfile.TemporaryDirectory() as folder:
        for label, rate, channels in [("wav_16k_mono", 16000, 1), ("wav_44k1_stereo", 44100, 2)]:
            path = make_file(Path(folder) / f"{label}.wav", args.minutes * 60, rate, channels)
            ours, official = time_ours(path, args.runs), time_official(path, args.runs)
            assert ours["frames"] == official["frames"]
            row = {"ours_s": statistics.median(ours["seconds"]), "official_s": statistics.median(official["seconds"]),
                   "frames": ours["frames"]}
            row["speedup"] = row["official_s"] / row["ours_s"]
            results["timing"][label] = row
            print(f"{label:16s} {args.minutes:g} min: ours {row['ours_s']:.3f} s, official {row['official_s']:.3f} s "
                  f"({row['speedup']:.1f}x)", flush=True)
            path.unlink()
        if not args.no_memory:
            path = make_file(Path(folder) / "two_hours.wav", 2 * 3600, 16000, 1)
            pcm_mb = path.stat().st_size / 2**20
            results["memory_2h"] = {"pcm_mb": round(pcm_mb, 1),
                                    "ours": peak_rss(Path(sys.executable), "ours", path),
                                    "official": peak_rss(REF_PYTHON, "official", path)}
            for who in ("ours", "official"):
                m = results["memory_2h"][who]
                print(f"2-hour WAV ({pcm_mb:.0f} MB PCM16) {who:8s}: peak RSS {m['peak_mb']:.0f} MB, "
                      f"+{m['added_mb']:.0f} MB over baseline ({m['added_mb'] / pcm_mb:.2f}x PCM)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
