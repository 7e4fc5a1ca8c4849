"""Log-mel front end in MLX, exact to the official Qwen3-ASR processor (`QWEN3_ASR_SPEC.md` §1.2).

WhisperFeatureExtractor's torch path with `padding=True, truncation=False`: periodic Hann window, centred STFT with
reflect padding, power spectrum, last STFT frame dropped, 128 Slaney mel bins, `log10(max(mel, 1e-10))`, clamp at
the utterance maximum minus 8, `(x + 4) / 4`. No padding to 30 s and no truncation.
"""

from functools import lru_cache
from pathlib import Path

import mlx.core as mx
import numpy as np

from .audio import SAMPLE_RATE

N_FFT = 400  # samples per STFT window (25 ms)
HOP_LENGTH = 160  # samples between frames (10 ms)
N_MELS = 128  # mel bins
FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH  # 100 mel frames per second
N_FREQS = N_FFT // 2 + 1  # 201 rFFT bins, 0 .. 8 kHz
LOG_FLOOR = 1e-10  # mel power floor before log10
DYNAMIC_RANGE = 8.0  # log10 units kept below the utterance maximum (80 dB)
MIN_SAMPLES = N_FFT // 2 + 1  # reflect padding by N_FFT // 2 needs more samples than that

CHUNK_FRAMES = 8192  # frames per STFT block (82 s): bounds the (frames, 400) and (frames, 201) intermediates

MEL_FILTERS_PATH = Path(__file__).parent / "assets" / "mel_filters.npz"


@lru_cache(maxsize=None)
def mel_filters() -> mx.array:
    """(201, 128) float32 Slaney filterbank (see `assets/README.md`)."""
    with np.load(MEL_FILTERS_PATH) as data:
        filters = data[f"mel_{N_MELS}"]
    return mx.array(filters)


@lru_cache(maxsize=None)
def hann_window() -> mx.array:
    """(400,) periodic Hann window, as `torch.hann_window(400)`."""
    n = np.arange(N_FFT, dtype=np.float64)
    return mx.array((0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)).astype(np.float32))


def _reflect_pad(x: mx.array, pad: int) -> mx.array:
    """`torch.nn.functional.pad(x, (pad, pad), mode="reflect")` for 1-D x (edge samples not repeated)."""
    return mx.concatenate([x[1 : pad + 1][::-1], x, x[-pad - 1 : -1][::-1]])


def _log_mel_frames(padded: mx.array, first: int, count: int) -> mx.array:
    """log10 mel power of frames [first, first + count) of the padded signal: (count, 128)."""
    frames = mx.as_strided(padded, shape=(count, N_FFT), strides=(HOP_LENGTH, 1), offset=first * HOP_LENGTH)
    spectrum = mx.fft.rfft(frames * hann_window(), n=N_FFT, axis=-1)
    power = mx.square(mx.abs(spectrum))
    return mx.log10(mx.maximum(power @ mel_filters(), LOG_FLOOR))


def log_mel_spectrogram(audio, chunk_frames: int = CHUNK_FRAMES) -> mx.array:
    """Log-mel features of one utterance, exactly as the official Qwen3-ASR processor computes them.

    Args:
        audio: 1-D float waveform at 16 kHz (`numpy.ndarray` or `mx.array`), e.g. from `load_audio`.
        chunk_frames: frames per STFT block. Long audio is transformed block by block so that memory stays linear in
            its length and small per block; the result does not depend on it.

    Returns:
        `mx.array` of shape `(128, len(audio) // 160)`, float32.

    Raises:
        ValueError: if `audio` is not 1-D or has fewer than 201 samples (reflect padding needs them; the official
            processor fails on such input too).
    """
    x = audio if isinstance(audio, mx.array) else mx.array(np.asarray(audio, dtype=np.float32))
    if x.ndim != 1:
        raise ValueError(f"log_mel_spectrogram expects 1-D audio, got shape {tuple(x.shape)}")
    if x.shape[0] < MIN_SAMPLES:
        raise ValueError(
            f"audio too short for the log-mel front end: {x.shape[0]} samples, need at least {MIN_SAMPLES} "
            f"({MIN_SAMPLES / SAMPLE_RATE * 1000:.1f} ms at {SAMPLE_RATE} Hz)"
        )
    n_frames = x.shape[0] // HOP_LENGTH  # the STFT's last frame (1 + n // hop) is dropped
    padded = _reflect_pad(x.astype(mx.float32), N_FFT // 2)
    if n_frames <= chunk_frames:
        log_spec = _log_mel_frames(padded, 0, n_frames)
    else:
        mx.eval(padded)
        blocks = []
        for first in range(0, n_frames, chunk_frames):
            block = _log_mel_frames(padded, first, min(chunk_frames, n_frames - first))
            mx.eval(block)  # stage boundary per block: frees the block's frames and spectrum
            blocks.append(block)
        log_spec = mx.concatenate(blocks)
    log_spec = mx.maximum(log_spec, log_spec.max() - DYNAMIC_RANGE)
    return ((log_spec + 4.0) / 4.0).T
