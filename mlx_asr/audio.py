"""Audio input: decode, mix to mono, resample to 16 kHz and range-normalise, as the official loader does.

The official `qwen_asr` loader (`normalize_audio_input`, `QWEN3_ASR_SPEC.md` §1.1) reads files with `librosa.load`
(libsndfile, or ffmpeg 16-bit output through audioread for other codecs), averages channels, resamples with
`librosa.resample` (soxr "HQ", length fixed to `ceil(n * ratio)`), divides by the peak only when it exceeds 1, and
clips to [-1, 1]. Here the same steps run block by block, so a long file is never held at more than its decoded
float32 size plus one block.
"""

import io
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mlx.core as mx
import numpy as np
import soundfile as sf
import soxr

SAMPLE_RATE = 16000  # Hz, the rate the model's front end expects

BLOCK_FRAMES = 1 << 18  # input frames decoded per block (16 s at 16 kHz)
RESAMPLE_QUALITY = "HQ"  # soxr quality, librosa's default res_type "soxr_hq"
FFMPEG_PCM_SCALE = 1.0 / 32768.0  # ffmpeg decodes to 16-bit PCM, as audioread does for librosa

_MAGIC = {b"RIFF": "WAV", b"RF64": "WAV", b"fLaC": "FLAC", b"OggS": "OGG", b"ID3": "MP3", b"FORM": "AIFF"}


class AudioError(ValueError):
    """Audio that cannot be loaded; the message names the source and the problem in one line."""


def load_audio(source, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Load audio as mono float32 at `sr`, exactly as the official Qwen3-ASR loader prepares it.

    Args:
        source: a path (WAV, FLAC, OGG, MP3, and M4A/AAC or anything else ffmpeg decodes when it is installed),
            `"-"` to read the file's bytes from stdin, a numpy or MLX array of samples at 16 kHz (`(samples,)`, or
            `(samples, channels)` / `(channels, samples)` with at most 8 channels), or an `(array, sample_rate)` pair.
            Integer arrays are PCM and are scaled to [-1, 1] by their type's full scale (the official loader
            would divide them by their peak instead).
        sr: output sample rate in Hz.

    Returns:
        1-D float32 array at `sr`: channels averaged, resampled with soxr (librosa's default), divided by its peak
        only when the peak exceeds 1, and clipped to [-1, 1].

    Raises:
        AudioError: the source is missing, a directory, empty, has no samples, is not audio, has a truncated header,
            holds NaN or infinite samples, or needs ffmpeg which is not installed.
    """
    if isinstance(source, tuple):
        if len(source) != 2:
            raise AudioError(f"audio tuple must be (array, sample_rate), got {len(source)} items")
        samples, rate = source
        return _from_array(samples, int(rate), sr, "audio array")
    if isinstance(source, (np.ndarray, mx.array)):
        return _from_array(source, SAMPLE_RATE, sr, "audio array")
    if isinstance(source, (str, os.PathLike)):
        if str(source) == "-":
            return _from_bytes(sys.stdin.buffer.read(), "<stdin>", sr)
        return _from_file(Path(source), sr)
    raise AudioError(f"unsupported audio source of type {type(source).__name__}: expected a path, '-', or an array")


def _from_array(samples, rate: int, sr: int, name: str) -> np.ndarray:
    if isinstance(samples, mx.array):
        samples = samples.astype(mx.float32) if samples.dtype == mx.bfloat16 else samples  # numpy has no bfloat16
    array = np.asarray(samples)
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        offset = (int(info.max) + 1) // 2 if info.min == 0 else 0  # unsigned PCM is centred on half scale
        array = ((array.astype(np.float64) - offset) / (int(info.max) + 1 - offset)).astype(np.float32)
    elif not np.issubdtype(array.dtype, np.floating):
        raise AudioError(f"{name}: samples must be numbers, got dtype {array.dtype}")
    if array.ndim == 2:
        if array.shape[0] <= 8 and array.shape[1] > array.shape[0]:  # (channels, samples), as the official to_mono
            array = array.T
        array = np.mean(array, axis=-1)
    elif array.ndim != 1:
        raise AudioError(f"{name}: expected 1-D or 2-D samples, got shape {array.shape}")
    array = np.array(array, dtype=np.float32, copy=True)  # never modify the caller's array
    sink = _Sink(name, rate, sr, len(array))
    sink.write(array)
    return sink.finish()


def _from_file(path: Path, sr: int) -> np.ndarray:
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")
    try:
        sound = sf.SoundFile(path)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        with open(path, "rb") as f:
            head = f.read(16)
        return _with_ffmpeg(path, str(path), sr, head, error)
    with sound:
        return _read_soundfile(sound, str(path), sr)


def _from_bytes(data: bytes, name: str, sr: int) -> np.ndarray:
    if not data:
        raise AudioError(f"{name}: empty input (0 bytes)")
    try:
        sound = sf.SoundFile(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "input"
            path.write_bytes(data)
            return _with_ffmpeg(path, name, sr, data[:16], error)
    with sound:
        return _read_soundfile(sound, name, sr)


def _read_soundfile(sound: sf.SoundFile, name: str, sr: int) -> np.ndarray:
    expected = sound.frames if 0 < sound.frames < 1 << 36 else 0  # some formats only estimate it
    sink = _Sink(name, sound.samplerate, sr, expected)
    try:
        while True:
            block = sound.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
            if not len(block):
                break
            sink.write(_mono(block))
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(f"{name}: cannot decode audio data ({_one_line(error)})") from None
    return sink.finish()


def _with_ffmpeg(path: Path, name: str, sr: int, head: bytes, error: Exception) -> np.ndarray:
    container = next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)
    reason = _one_line(error)
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        if container:
            raise AudioError(f"{name}: truncated or corrupt {container} file ({reason})") from None
        raise AudioError(
            f"{name}: unsupported format or codec without ffmpeg ({reason}); install ffmpeg to read M4A/AAC and "
            "other compressed audio"
        ) from None
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=sample_rate,channels",
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True,
    )
    fields = probe.stdout.strip().split("\n")[0].split(",") if probe.returncode == 0 else []
    if len(fields) != 2 or not all(field.strip().isdigit() for field in fields):
        if container:
            raise AudioError(f"{name}: truncated or corrupt {container} file ({reason})") from None
        raise AudioError(f"{name}: not an audio file (neither libsndfile nor ffmpeg can decode it)") from None
    rate, channels = (int(field) for field in fields)
    command = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "s16le", "-"]
    sink = _Sink(name, rate, sr, 0)
    errors = tempfile.TemporaryFile()  # not a pipe: a chatty ffmpeg cannot block on a full stderr pipe
    with errors, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors) as process:
        leftover = b""
        while chunk := process.stdout.read(BLOCK_FRAMES * channels * 2):
            chunk = leftover + chunk
            usable = len(chunk) - len(chunk) % (channels * 2)
            leftover = chunk[usable:]
            pcm = np.frombuffer(chunk[:usable], dtype="<i2").reshape(-1, channels)
            sink.write(_mono(pcm.astype(np.float32) * np.float32(FFMPEG_PCM_SCALE)))
        process.wait()
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    if process.returncode != 0:
        raise AudioError(f"{name}: ffmpeg cannot decode it ({_one_line(stderr) or 'unknown error'})")
    return sink.finish()


def _mono(block: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,) float32 channel mean (as the official `to_mono`)."""
    return block[:, 0] if block.shape[1] == 1 else np.mean(block, axis=-1).astype(np.float32)


def _one_line(message) -> str:
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return lines[-1] if lines else ""


class _Sink:
    """Receives mono float32 blocks at `rate`; resamples to `sr` and stores them in one growing buffer."""

    def __init__(self, name: str, rate: int, sr: int, expected_frames: int):
        if rate <= 0:
            raise AudioError(f"{name}: invalid sample rate {rate}")
        self.name, self.rate, self.sr = name, rate, sr
        self.frames_in = 0
        self.stream = soxr.ResampleStream(rate, sr, 1, dtype="float32", quality=RESAMPLE_QUALITY) if rate != sr else None
        self.buffer = np.empty(self._out_len(expected_frames) + 16, dtype=np.float32)
        self.used = 0

    def _out_len(self, frames: int) -> int:
        return frames if self.stream is None else math.ceil(frames * self.sr / self.rate)

    def write(self, block: np.ndarray, last: bool = False) -> None:
        if not np.isfinite(block).all():
            at = (self.frames_in + int(np.argmin(np.isfinite(block)))) / self.rate
            raise AudioError(f"{self.name}: contains NaN or infinite samples (first at {at:.3f} s)")
        self.frames_in += len(block)
        self._append(block if self.stream is None else self.stream.resample_chunk(block, last=last))

    def _append(self, block: np.ndarray) -> None:
        if self.used + len(block) > len(self.buffer):
            self.buffer = np.resize(self.buffer, max(self.used + len(block), len(self.buffer) * 3 // 2))
        self.buffer[self.used : self.used + len(block)] = block
        self.used += len(block)

    def finish(self) -> np.ndarray:
        if self.frames_in == 0:
            raise AudioError(f"{self.name}: contains no audio samples")
        if self.stream is not None:
            self.write(np.zeros(0, dtype=np.float32), last=True)
        size = self._out_len(self.frames_in)  # librosa.resample(fix=True): zero-pad or trim to ceil(n * ratio)
        if size > self.used:
            self._append(np.zeros(size - self.used, dtype=np.float32))
        spare = len(self.buffer) - size  # a view keeps the whole buffer alive: copy only when that wastes much
        audio = self.buffer[:size] if spare <= max(self.sr, size // 100) else self.buffer[:size].copy()
        self.buffer = None
        peak = max(float(audio.max()), -float(audio.min()))
        if peak > 1.0:
            np.divide(audio, np.float32(peak), out=audio)
        return np.clip(audio, -1.0, 1.0, out=audio)
