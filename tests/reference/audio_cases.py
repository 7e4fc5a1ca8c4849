"""Audio cases of the golden references: real clips cropped/concatenated to exact sample counts, and synthetic signals.

numpy + stdlib only (imported by builders in both virtualenvs). Every case is deterministic; its ``source`` string
says where the samples came from, so a failing comparison can be reproduced by hand.
"""

import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000

# Edge lengths in samples. 7.99/8.00/8.01 s straddle the 104-token (8 s) encoder window; 0.5 s is a lone partial
# chunk; 11.37 s and 35.05 s have a partial tail chunk (T % 100 != 0) and 2 / 5 windows.
LENGTHS = {
    "0.50s": 8000,
    "1.00s": 16000,
    "7.99s": 127840,
    "8.00s": 128000,
    "8.01s": 128160,
    "11.37s": 181927,
    "35.05s": 560853,
}

# Real clips (paths relative to assets/speech): a LibriSpeech utterance for lengths up to ~11 s, a long-form
# recording for 35 s. Each is read from `offset` samples on, and concatenated with the next clip if too short.
REAL_SOURCES = {
    "short": ["librispeech/2412-153948-0000.wav", "en_misc/jfk.wav"],
    "long": ["long/longform_en.wav"],
}
REAL_OFFSET = 4000  # skip the leading silence of the first clip


def read_wav(path: Path) -> np.ndarray:
    """16-bit PCM mono 16 kHz WAV as float32 in [-1, 1)."""
    with wave.open(str(path), "rb") as f:
        if f.getsampwidth() != 2 or f.getnchannels() != 1 or f.getframerate() != SAMPLE_RATE:
            raise ValueError(f"{path}: expected 16-bit mono {SAMPLE_RATE} Hz PCM")
        data = f.readframes(f.getnframes())
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def real_audio(samples: int, speech_dir: Path) -> tuple[np.ndarray, str]:
    """``samples`` samples of real speech and a description of their origin."""
    names = REAL_SOURCES["long" if samples > 20 * SAMPLE_RATE else "short"]
    pieces, parts, needed, offset = [], [], samples, REAL_OFFSET
    for name in names:
        clip = read_wav(speech_dir / name)[offset:offset + needed]
        pieces.append(clip)
        parts.append(f"speech/{name}[{offset}:{offset + len(clip)}]")
        needed -= len(clip)
        offset = 0
        if needed == 0:
            break
    if needed:
        raise ValueError(f"real sources too short for {samples} samples")
    return np.concatenate(pieces), " + ".join(parts)


def synthetic_audio(samples: int, seed: int = 0) -> tuple[np.ndarray, str]:
    """A 100 Hz -> 4 kHz log chirp with amplitude modulation plus white noise (deterministic)."""
    t = np.arange(samples, dtype=np.float64) / SAMPLE_RATE
    duration = max(samples / SAMPLE_RATE, 1e-3)
    f0, f1 = 100.0, 4000.0
    phase = 2 * np.pi * f0 * duration / np.log(f1 / f0) * (np.exp(t / duration * np.log(f1 / f0)) - 1)
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t)
    noise = np.random.default_rng(seed).standard_normal(samples)
    wav = 0.3 * envelope * np.sin(phase) + 0.02 * noise
    return wav.astype(np.float32), f"synthetic: 0.3*am(3 Hz)*logchirp(100->4000 Hz) + 0.02*N(0,1) seed {seed}"


def case_audio(case: str, speech_dir: Path) -> tuple[np.ndarray, str]:
    """Audio of a case named ``real-<length>`` or ``synth-<length>`` (lengths: keys of LENGTHS)."""
    kind, length = case.split("-", 1)
    samples = LENGTHS[length]
    if kind == "real":
        wav, source = real_audio(samples, speech_dir)
    elif kind == "synth":
        wav, source = synthetic_audio(samples)
    else:
        raise ValueError(f"unknown case kind {kind!r} in {case!r}")
    assert wav.shape == (samples,) and wav.dtype == np.float32
    return wav, source


def source_files(cases, speech_dir: Path) -> list[Path]:
    """The real clips the given cases read (inputs of the build fingerprint)."""
    groups = {"long" if LENGTHS[c.split("-", 1)[1]] > 20 * SAMPLE_RATE else "short" for c in cases if c.startswith("real-")}
    return [speech_dir / name for group in sorted(groups) for name in REAL_SOURCES[group]]


def audio_tokens(frames: int) -> int:
    """Number of audio embeddings for ``frames`` mel frames: 13 per full second plus ceil(rest / 8)."""
    return 13 * (frames // 100) + -(-(frames % 100) // 8)


def windows_of(tokens: int, window: int = 104) -> int:
    """Number of 104-token encoder attention windows for an audio of ``tokens`` embeddings (frames >= 100)."""
    return -(-tokens // window)
