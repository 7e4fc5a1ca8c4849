"""AuT audio encoder and projector: (128, T) log-mel -> (N, text hidden) audio embeddings.

Module names equal the checkpoint's (``audio_tower.*``), so loading needs no renaming.
"""

import math
from typing import Optional

import mlx.core as mx
import mlx.nn as nn

from .config import AudioEncoderConfig

CONV_LAYERS = 3  # each 3x3, stride 2, padding 1
FLOAT16_CLAMP = 65504.0 - 1000  # torch.finfo(float16).max - 1000
CONV_GROUP_CHUNKS = 16  # 1 s chunks convolved (and evaluated) together on long audio; memory only


def conv_output_length(frames: int) -> int:
    """Length of one axis after the three stride-2 convolutions."""
    for _ in range(CONV_LAYERS):
        frames = (frames - 1) // 2 + 1
    return frames


def num_audio_tokens(frames: int, chunk_frames: int = 100) -> int:
    """Number of audio embeddings (``<|audio_pad|>`` tokens) for ``frames`` mel frames.

    Args:
        frames: mel frames of one utterance (``samples // 160``).
        chunk_frames: frames per conv chunk (``2 * n_window``; 100 in the released models).

    Returns:
        ``13 * floor(T / 100) + ceil((T % 100) / 8)`` for the released models.
    """
    full, tail = divmod(int(frames), chunk_frames)
    return full * conv_output_length(chunk_frames) + (conv_output_length(tail) if tail else 0)


def sinusoids(length: int, channels: int, max_timescale: float = 10000.0) -> mx.array:
    """Whisper-style table, float32: first half sin, second half cos, increment log(max)/(C/2 - 1)."""
    increment = math.log(max_timescale) / (channels // 2 - 1)
    inv_timescales = mx.exp(-increment * mx.arange(channels // 2, dtype=mx.float32))
    scaled_time = mx.arange(length, dtype=mx.float32)[:, None] * inv_timescales[None, :]
    return mx.concatenate([mx.sin(scaled_time), mx.cos(scaled_time)], axis=1)


class AudioAttention(nn.Module):
    """Bidirectional attention within consecutive windows of ``window`` tokens (windows on the batch axis)."""

    def __init__(self, dims: int, heads: int):
        super().__init__()
        self.heads = heads
        self.scale = (dims // heads) ** -0.5
        self.q_proj = nn.Linear(dims, dims, bias=True)
        self.k_proj = nn.Linear(dims, dims, bias=True)
        self.v_proj = nn.Linear(dims, dims, bias=True)
        self.out_proj = nn.Linear(dims, dims, bias=True)

    def _attend(self, q, k, v, windows: int, length: int) -> mx.array:
        split = lambda x: x.reshape(windows, length, self.heads, -1).transpose(0, 2, 1, 3)
        out = mx.fast.scaled_dot_product_attention(split(q), split(k), split(v), scale=self.scale)
        return out.transpose(0, 2, 1, 3).reshape(windows * length, -1)

    def __call__(self, x: mx.array, window: int) -> mx.array:
        """x: (S, d) flat sequence; windows of ``window`` tokens, the last one possibly shorter."""
        length = x.shape[0]
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        full = (length // window) * window
        parts = []
        if full:
            parts.append(self._attend(q[:full], k[:full], v[:full], full // window, window))
        if length > full:
            parts.append(self._attend(q[full:], k[full:], v[full:], 1, length - full))
        out = parts[0] if len(parts) == 1 else mx.concatenate(parts, axis=0)
        return self.out_proj(out)


class AudioEncoderLayer(nn.Module):
    def __init__(self, config: AudioEncoderConfig):
        super().__init__()
        d = config.d_model
        self.self_attn = AudioAttention(d, config.encoder_attention_heads)
        self.self_attn_layer_norm = nn.LayerNorm(d, eps=1e-5)
        self.fc1 = nn.Linear(d, config.encoder_ffn_dim)
        self.fc2 = nn.Linear(config.encoder_ffn_dim, d)
        self.final_layer_norm = nn.LayerNorm(d, eps=1e-5)

    def __call__(self, x: mx.array, window: int) -> mx.array:
        x = x + self.self_attn(self.self_attn_layer_norm(x), window)
        x = x + self.fc2(nn.gelu(self.fc1(self.final_layer_norm(x))))
        if x.dtype == mx.float16:  # as the official layer does
            x = mx.clip(x, -FLOAT16_CLAMP, FLOAT16_CLAMP)
        return x


class AudioEncoder(nn.Module):
    """Conv front end over 1 s chunks, windowed transformer, and the projector (``proj1``/``proj2``)."""

    def __init__(self, config: AudioEncoderConfig):
        super().__init__()
        self.config = config
        c, d = config.downsample_hidden_size, config.d_model
        self.conv2d1 = nn.Conv2d(1, c, 3, stride=2, padding=1)
        self.conv2d2 = nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.conv2d3 = nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.conv_out = nn.Linear(c * conv_output_length(config.num_mel_bins), d, bias=False)
        self.layers = [AudioEncoderLayer(config) for _ in range(config.encoder_layers)]
        self.ln_post = nn.LayerNorm(d, eps=1e-5)
        self.proj1 = nn.Linear(d, d)
        self.proj2 = nn.Linear(d, config.output_dim)
        # Positions restart in every chunk, so only the first conv_output_length(chunk) rows are ever used.
        self._positions = sinusoids(conv_output_length(config.chunk_frames), d)

    def conv_stack(self, chunks: mx.array, intermediates: Optional[dict] = None) -> mx.array:
        """chunks: (n, mel, frames, 1) NHWC -> (n, t, d) before positions.

        Long audio is convolved in groups of ``CONV_GROUP_CHUNKS`` chunks, each evaluated before the next: the conv
        activations (~30 MB per second of audio at 0.6B widths) would otherwise all be live at once.
        """
        group = min(self.config.conv_chunksize, CONV_GROUP_CHUNKS)
        outputs = []
        for start in range(0, chunks.shape[0], group):
            h = chunks[start : start + group]
            for name in ("conv2d1", "conv2d2", "conv2d3"):
                h = getattr(self, name)(h)
                if intermediates is not None:
                    intermediates.setdefault(f"audio.{name}", []).append(h)
                h = nn.gelu(h)
            n, freq, t, channels = h.shape
            # Official flatten order is channel * freq_bins + freq.
            outputs.append(self.conv_out(h.transpose(0, 2, 3, 1).reshape(n, t, channels * freq)))
            if chunks.shape[0] > group:
                mx.eval(outputs[-1])
        if intermediates is not None:
            for name in ("conv2d1", "conv2d2", "conv2d3"):
                intermediates[f"audio.{name}"] = mx.concatenate(intermediates[f"audio.{name}"], axis=0)
        return outputs[0] if len(outputs) == 1 else mx.concatenate(outputs, axis=0)

    def __call__(self, features: mx.array, intermediates: Optional[dict] = None) -> mx.array:
        """features: (mel, T) log-mel of one utterance -> (N, output_dim) audio embeddings.

        ``intermediates``, when given, receives the lazy per-stage tensors (keys as in the golden references).
        """
        if features.ndim != 2 or features.shape[0] != self.config.num_mel_bins or features.shape[1] == 0:
            raise ValueError(f"expected a ({self.config.num_mel_bins}, frames) log-mel of one utterance, "
                             f"got shape {tuple(features.shape)}")
        mel, frames = features.shape
        chunk = self.config.chunk_frames
        chunk_count = -(-frames // chunk)
        padded = chunk if frames >= chunk else frames  # the tail chunk is zero-padded to the longest chunk
        tokens = num_audio_tokens(frames, chunk)
        window = conv_output_length(padded) * self.config.chunks_per_window

        x = features.astype(self.conv2d1.weight.dtype)
        if chunk_count * padded > frames:
            x = mx.pad(x, [(0, 0), (0, chunk_count * padded - frames)])
        x = x.reshape(mel, chunk_count, padded).transpose(1, 0, 2)[..., None]

        h = self.conv_stack(x, intermediates)
        if intermediates is not None:
            intermediates["audio.conv_out"] = h
        h = h + self._positions[: h.shape[1]].astype(h.dtype)
        h = h.reshape(-1, h.shape[-1])[:tokens]  # only the tail chunk has padded positions

        for i, layer in enumerate(self.layers):
            h = layer(h, window)
            if intermediates is not None:
                intermediates[f"audio.layers.{i}"] = h
        h = self.ln_post(h)
        if intermediates is not None:
            intermediates["audio.ln_post"] = h
        h = self.proj1(h)
        if intermediates is not None:
            intermediates["audio.proj1"] = h
        return self.proj2(nn.gelu(h))
