"""`load_audio` against the official loader (`qwen_asr` `normalize_audio_input`), and its error messages."""

import io
import json
import os
import subprocess
import sys
import tracemalloc
from functools import lru_cache

import mlx.core as mx
import numpy as np
import pytest
import soundfile as sf
from helpers import ROOT, asset, reference

import mlx_asr.audio
from mlx_asr import SAMPLE_RATE, load_audio, log_mel_spectrogram
from mlx_asr.audio import AudioError

CLIP = ("speech", "en_misc", "jfk.wav")


@lru_cache(maxsize=None)
def goldens(name: str) -> dict:
    with np.load(reference("features", name)) as data:
        return {key: data[key] for key in data.files}


def assert_same_as_official(ours: np.ndarray, official: np.ndarray, label: str) -> None:
    assert ours.dtype == np.float32 and ours.ndim == 1, label
    assert ours.shape == official.shape, f"{label}: {ours.shape} samples vs official {official.shape}"
    assert np.abs(ours - official).max() <= 1e-6, label


@pytest.mark.parametrize("name", ["rate44100.wav", "rate8000.wav"])
def test_resampled_files_match_official_loader(name):
    data = goldens("files.npz")
    audio = load_audio(reference("features", "files", name))
    assert_same_as_official(audio, data[f"{name}.wav"], name)
    ours, official = np.array(log_mel_spectrogram(audio)), data[f"{name}.features"]
    assert ours.shape == official.shape
    diff = ours - official
    assert np.abs(diff).max() <= 1e-4 and np.mean(diff**2) <= 1e-10


def test_every_format_matches_official_loader():
    data = goldens("files.npz")
    names = json.loads(reference("features", "manifest.json").read_text())["files"]
    assert {"stereo44100.wav", "loud_float.wav", "clip.flac", "clip.ogg", "clip.mp3", "clip.m4a"} <= set(names)
    for name in names:
        assert_same_as_official(load_audio(reference("features", "files", name)), data[f"{name}.wav"], name)


def test_array_and_rate_pairs_match_official_loader():
    data = goldens("arrays.npz")
    names = {key.rsplit(".", 1)[0] for key in data}
    assert len(names) == 3
    for name in names:
        pair = (data[f"{name}.input"], int(data[f"{name}.rate"]))
        assert_same_as_official(load_audio(pair), data[f"{name}.wav"], name)


def test_arrays_of_every_kind():
    rng = np.random.default_rng(0)
    mono = (0.5 * rng.standard_normal(8000)).clip(-1, 1).astype(np.float32)
    np.testing.assert_array_equal(load_audio(mono), mono)
    np.testing.assert_array_equal(load_audio(mx.array(mono)), mono)
    np.testing.assert_array_equal(load_audio(mono.astype(np.float64)), mono)
    np.testing.assert_allclose(load_audio(mx.array(mono).astype(mx.bfloat16)), mono, atol=1e-2)
    stereo = np.stack([mono, -mono])  # (channels, samples) and (samples, channels) mix to the same silence
    np.testing.assert_array_equal(load_audio(stereo), np.zeros_like(mono))
    np.testing.assert_array_equal(load_audio(stereo.T), np.zeros_like(mono))
    pcm = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    np.testing.assert_allclose(load_audio(pcm), [0.0, 0.5, -1.0, 32767 / 32768])
    np.testing.assert_allclose(load_audio(np.array([128, 255, 0], np.uint8)), [0.0, 127 / 128, -1.0])
    loud = 2.0 * mono
    np.testing.assert_allclose(load_audio(loud), loud / np.abs(loud).max(), rtol=1e-6)
    np.testing.assert_array_equal(loud, 2.0 * mono)  # the caller's array is left alone
    assert len(load_audio((mono, 8000))) == 16000 and len(load_audio(mono, sr=8000)) == 4000


def test_stdin(monkeypatch):
    clip = asset(*CLIP)
    expected = load_audio(clip)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(clip.read_bytes())))
    np.testing.assert_array_equal(load_audio("-"), expected)
    m4a = reference("features", "files", "clip.m4a")  # not libsndfile's: goes through ffmpeg from bytes
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(m4a.read_bytes())))
    np.testing.assert_array_equal(load_audio("-"), load_audio(m4a))


def test_stdin_from_a_real_pipe():
    clip = asset(*CLIP)
    code = "import sys, mlx_asr; a = mlx_asr.load_audio('-'); print(a.dtype, len(a), float(a.sum()))"
    with open(clip, "rb") as stdin:
        result = subprocess.run([sys.executable, "-c", code], stdin=stdin, capture_output=True, text=True, cwd=ROOT)
    expected = load_audio(clip)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["float32", str(len(expected))]


def write_wav(path, samples, subtype="PCM_16", rate=SAMPLE_RATE):
    sf.write(path, samples, rate, subtype=subtype)
    return path


def bad_sources(tmp_path):
    """name -> (source, words the message must contain)."""
    speech = 0.1 * np.sin(np.arange(16000) / 5.0)
    wav = write_wav(tmp_path / "good.wav", speech)
    nan = speech.copy()
    nan[8000] = np.nan
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_bytes(b"this is plain text, certainly not audio\n" * 50)
    (tmp_path / "truncated.wav").write_bytes(wav.read_bytes()[:30])
    (tmp_path / "folder.wav").mkdir()
    inf = speech.copy()
    inf[-1] = np.inf
    return {
        "missing": (tmp_path / "missing.wav", ["missing.wav", "no such file"]),
        "directory": (tmp_path / "folder.wav", ["folder.wav", "directory"]),
        "empty file": (tmp_path / "empty.wav", ["empty.wav", "empty file"]),
        "zero samples": (write_wav(tmp_path / "zero.wav", np.zeros(0)), ["zero.wav", "no audio samples"]),
        "non-audio bytes": (tmp_path / "text.wav", ["text.wav", "not an audio file"]),
        "truncated header": (tmp_path / "truncated.wav", ["truncated.wav", "truncated or corrupt WAV"]),
        "nan in file": (write_wav(tmp_path / "nan.wav", nan, "FLOAT"), ["nan.wav", "NaN or infinite", "0.500 s"]),
        "inf in array": (inf, ["audio array", "NaN or infinite", "1.000 s"]),
        "empty array": (np.zeros(0, np.float32), ["audio array", "no audio samples"]),
        "strings": (np.array(["a", "b"]), ["audio array", "numbers"]),
        "3-D array": (np.zeros((2, 2, 2), np.float32), ["audio array", "shape"]),
        "not a source": (12345, ["int"]),
    }


def test_bad_input_gets_a_clear_one_line_error(tmp_path):
    for label, (source, words) in bad_sources(tmp_path).items():
        with pytest.raises(AudioError) as caught:
            load_audio(source)
        message = str(caught.value)
        assert isinstance(caught.value, ValueError) and "\n" not in message, label
        assert all(word in message for word in words), f"{label}: {message!r}"
        assert caught.value.__cause__ is None, f"{label}: chained library traceback"


def test_empty_stdin(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with pytest.raises(AudioError, match="<stdin>: empty input"):
        load_audio("-")


def test_compressed_codec_without_ffmpeg_says_so(monkeypatch):
    m4a = reference("features", "files", "clip.m4a")
    monkeypatch.setattr(mlx_asr.audio.shutil, "which", lambda name: None)
    with pytest.raises(AudioError, match=r"clip\.m4a: unsupported format or codec without ffmpeg.*install ffmpeg"):
        load_audio(m4a)
    assert len(load_audio(reference("features", "files", "clip.flac"))) > 0  # libsndfile formats still load


def test_long_file_is_decoded_in_blocks(tmp_path):
    """Peak numpy allocation while loading stays near the output size (tracemalloc sees numpy buffers)."""
    seconds, rate = 120, 44100
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", rate, 2, "PCM_16") as out:
        rng = np.random.default_rng(3)
        for _ in range(seconds // 10):
            out.write((0.1 * rng.standard_normal((10 * rate, 2))).astype(np.float32))
    tracemalloc.start()
    try:
        audio = load_audio(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    pcm_bytes, out_bytes = os.path.getsize(path), audio.nbytes
    assert len(audio) == seconds * SAMPLE_RATE
    assert peak < out_bytes + 24e6, f"peak {peak / 1e6:.1f} MB for a {pcm_bytes / 1e6:.0f} MB file"
