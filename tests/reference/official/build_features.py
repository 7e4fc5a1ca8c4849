"""Goldens for the audio front end, from the official qwen-asr 0.0.6 package (run in .venv-ref).

Features come from the official ``Qwen3ASRProcessor`` (its ``WhisperFeatureExtractor``, forced to ``padding=True,
truncation=False``) called as ``Qwen3ASRModel`` calls it; audio files go through ``normalize_audio_input`` first.
Writes ``<out>/features/``:

- ``mel_filters.npy``: the processor's (201, 128) float64 filterbank;
- ``synthetic.npz``: ``<case>.wav`` (float32, 16 kHz) and ``<case>.features`` (128, T) per synthetic signal;
- ``speech.npz``: ``<file>.features`` for every clip of ``speech/manifest.tsv`` (``<file>`` as listed there);
- ``files/*``: a real clip re-encoded (44.1 kHz, 8 kHz, stereo, FLAC, OGG, MP3, M4A) and ``files.npz`` with the
  official loader's ``<name>.wav`` and the features of it, ``<name>.features``;
- ``arrays.npz``: ``(array, sample_rate)`` inputs (``<case>.input``, ``<case>.rate``) and the loader's output;
- ``manifest.json``: what every case is.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import ASSETS, fingerprint, is_current, mark_current, parse_out_dir  # noqa: E402

SR = 16000
PROMPT = "<|audio_start|><|audio_pad|><|audio_end|>"
SOURCE_CLIP = "librispeech/2412-153948-0000.wav"  # 11.7 s of read English speech


def synthetic_cases() -> dict:
    """name -> (float32 16 kHz samples, description)."""
    rng = np.random.default_rng(1234)
    cases = {}

    def t(seconds):
        return np.arange(int(round(seconds * SR))) / SR

    t32 = (np.arange(SR) / SR).astype(np.float32)  # the golden reference-tensors sine: phase in float32
    cases["sine440_golden"] = (0.1 * np.sin(2 * np.pi * 440 * t32), "0.1*sin(2*pi*440*t), t float32, 1 s")
    cases["sine440_float64"] = (0.1 * np.sin(2 * np.pi * 440 * t(1.0)), "same sine with a float64 phase, 1 s")
    cases["sines_mix"] = (
        sum(a * np.sin(2 * np.pi * f * t(2.0)) for a, f in [(0.3, 100), (0.2, 1000), (0.05, 6000), (0.01, 7990)]),
        "sines 100 Hz, 1 kHz, 6 kHz, 7.99 kHz, 2 s",
    )
    cases["white_noise"] = (0.1 * rng.standard_normal(SR), "white noise sigma 0.1, 1 s")
    chirp_t = t(3.0)
    cases["chirp"] = (0.5 * np.sin(2 * np.pi * (50 * chirp_t + (7950 - 50) / 6.0 * chirp_t**2)), "linear chirp 50 Hz-7.95 kHz, 3 s")
    cases["silence"] = (np.zeros(SR), "digital silence, 1 s")
    cases["full_scale_clipped"] = (np.clip(3.0 * np.sin(2 * np.pi * 220 * t(2.0)), -1.0, 1.0), "3x overdriven 220 Hz clipped at +-1, 2 s")
    cases["dc_offset_tiny"] = (1e-6 + 1e-7 * rng.standard_normal(SR // 2), "near-silence: 1e-6 DC + 1e-7 noise, 0.5 s")
    for seconds in (0.05, 1.0, 8.0, 35.0):
        x = t(seconds)
        wav = 0.2 * np.sin(2 * np.pi * (150 + 40 * np.sin(2 * np.pi * 0.5 * x)) * x) + 0.03 * rng.standard_normal(len(x))
        cases[f"mix_{seconds:g}s"] = (wav, f"vibrato tone + noise, {seconds:g} s")
    cases["odd_length"] = (0.1 * rng.standard_normal(16123), "noise, 16123 samples (not a multiple of the hop)")
    return {name: (np.asarray(wav, dtype=np.float32), about) for name, (wav, about) in cases.items()}


def file_cases(folder: Path, librosa, sf) -> dict:
    """Write re-encoded versions of a real clip; name -> (file, description)."""
    clip, rate = sf.read(ASSETS / "speech" / SOURCE_CLIP, dtype="float32")
    assert rate == SR
    clip = clip[: 6 * SR]
    up = librosa.resample(clip, orig_sr=SR, target_sr=44100, res_type="soxr_vhq")
    down = librosa.resample(clip, orig_sr=SR, target_sr=8000, res_type="soxr_vhq")
    delayed = np.concatenate([np.zeros(441, np.float32), up[:-441]])
    cases = {}

    def write(name, data, rate, subtype, about, **kw):
        sf.write(folder / name, data, rate, subtype=subtype, **kw)
        cases[name] = about

    write("rate44100.wav", up, 44100, "PCM_16", "44.1 kHz 16-bit WAV")
    write("rate8000.wav", down, 8000, "PCM_16", "8 kHz 16-bit WAV")
    write("stereo44100.wav", np.stack([up, 0.5 * delayed], axis=1), 44100, "PCM_24", "44.1 kHz stereo 24-bit WAV")
    write("loud_float.wav", 3.0 * clip, SR, "FLOAT", "32-bit float WAV peaking at ~3 (peak-normalised)")
    write("clip.flac", clip, SR, "PCM_16", "16 kHz FLAC")
    write("clip.ogg", up, 44100, "VORBIS", "44.1 kHz Ogg Vorbis")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("build_features: ffmpeg is required to write the MP3 and M4A cases")
    for name, codec in [("clip.mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]), ("clip.m4a", ["-c:a", "aac", "-b:a", "64k"])]:
        subprocess.run([ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(folder / "rate44100.wav"), *codec,
                        "-bitexact", str(folder / name)], check=True)
        cases[name] = f"44.1 kHz {name.rsplit('.', 1)[1].upper()} (ffmpeg {codec[1]})"
    return cases


def main() -> None:
    out = parse_out_dir(__doc__.splitlines()[0]) / "features"
    import librosa
    import qwen_asr
    import soundfile as sf
    import transformers
    from qwen_asr.core.transformers_backend.processing_qwen3_asr import Qwen3ASRProcessor
    from qwen_asr.inference.utils import normalize_audio_input

    manifest_tsv = ASSETS / "speech" / "manifest.tsv"
    stamp = fingerprint(Path(__file__), manifest_tsv, transformers.__version__, librosa.__version__,
                        getattr(qwen_asr, "__version__", "0.0.6"), shutil.which("ffmpeg") or "")
    if is_current(out, stamp):
        print(f"features: up to date ({out})")
        return
    (out / "files").mkdir(parents=True, exist_ok=True)
    processor = Qwen3ASRProcessor.from_pretrained(str(ASSETS / "qwen3-asr-0.6b"))

    def features(wav: np.ndarray) -> np.ndarray:
        inputs = processor(text=[PROMPT], audio=[wav], return_tensors="np", padding=True)
        feats = np.asarray(inputs["input_features"][0], dtype=np.float32)
        assert int(inputs["feature_attention_mask"][0].sum()) == feats.shape[1] == len(wav) // 160
        return feats

    np.save(out / "mel_filters.npy", processor.feature_extractor.mel_filters)
    manifest = {"synthetic": {}, "speech": [], "files": {}, "arrays": {}}

    synthetic = {}
    for name, (wav, about) in synthetic_cases().items():
        synthetic[f"{name}.wav"], synthetic[f"{name}.features"] = wav, features(wav)
        manifest["synthetic"][name] = about
    np.savez(out / "synthetic.npz", **synthetic)

    speech = {}
    lines = manifest_tsv.read_text().splitlines()[1:]
    for line in lines:
        name = line.split("\t")[0]
        speech[f"{name}.features"] = features(normalize_audio_input(str(ASSETS / "speech" / name)))
        manifest["speech"].append(name)
        print(f"features: speech {len(speech)}/{len(lines)} {name}", flush=True)
    np.savez(out / "speech.npz", **speech)

    files = {}
    for name, about in file_cases(out / "files", librosa, sf).items():
        wav = normalize_audio_input(str(out / "files" / name))
        files[f"{name}.wav"], files[f"{name}.features"] = wav, features(wav)
        manifest["files"][name] = about
    np.savez(out / "files.npz", **files)

    rng = np.random.default_rng(7)
    clip, _ = sf.read(ASSETS / "speech" / SOURCE_CLIP, dtype="float32")
    arrays_in = {
        "float64_44100": (librosa.resample(clip[: 3 * SR].astype(np.float64), orig_sr=SR, target_sr=44100), 44100),
        "float32_stereo_ct_22050": (np.stack([clip[:SR], 0.3 * rng.standard_normal(SR)]).astype(np.float32), 22050),
        "float32_loud_16000": ((2.5 * clip[:SR]).astype(np.float32), SR),
    }
    arrays = {}
    for name, (samples, rate) in arrays_in.items():
        arrays[f"{name}.input"], arrays[f"{name}.rate"] = samples, np.int64(rate)
        arrays[f"{name}.wav"] = normalize_audio_input((samples, rate))
        manifest["arrays"][name] = f"{samples.dtype} {samples.shape} at {rate} Hz"
    np.savez(out / "arrays.npz", **arrays)

    manifest["versions"] = {"transformers": transformers.__version__, "librosa": librosa.__version__}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    mark_current(out, stamp)
    print(f"features: wrote {out}")


if __name__ == "__main__":
    main()
