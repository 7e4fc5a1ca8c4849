import dataclasses
import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

import tiny_model
from mlx_asr.config import AudioEncoderConfig
from mlx_asr.encoder import AudioAttention, AudioEncoder, num_audio_tokens, sinusoids


def official_output_lengths(frames: int) -> int:
    """``_get_feat_extract_output_lengths`` of the official processor, verbatim arithmetic."""
    leave = frames % 100
    feat = (leave - 1) // 2 + 1
    return ((feat - 1) // 2 + 1 - 1) // 2 + 1 + (frames // 100) * 13


def numpy_sinusoids(length, channels, max_timescale=10000):  # spec §2.8
    inc = np.log(max_timescale) / (channels // 2 - 1)
    inv = np.exp(-inc * np.arange(channels // 2, dtype=np.float32))
    t = np.arange(length)[:, None] * inv[None, :]
    return np.concatenate([np.sin(t), np.cos(t)], axis=1)


def encoder(**overrides) -> AudioEncoder:
    mx.random.seed(1)
    model = AudioEncoder(dataclasses.replace(AudioEncoderConfig.from_dict(tiny_model.AUDIO), **overrides))
    mx.eval(model.parameters())
    return model


@pytest.mark.parametrize("frames,tokens", [(50, 7), (99, 13), (100, 13), (101, 14), (800, 104), (1000, 130),
                                           (3000, 390), (120000, 15600)])
def test_num_audio_tokens_table(frames, tokens):  # spec §1.3
    assert num_audio_tokens(frames) == tokens


def test_num_audio_tokens_equals_official_formula_and_closed_form():
    for frames in range(1, 5000):
        expected = official_output_lengths(frames)
        assert num_audio_tokens(frames) == expected == 13 * (frames // 100) + math.ceil((frames % 100) / 8)
    assert isinstance(num_audio_tokens(np.int64(250)), int)


def test_sinusoid_table_matches_spec():
    np.testing.assert_allclose(np.array(sinusoids(13, 896)), numpy_sinusoids(13, 896), atol=1e-6)


def dense_windowed_attention(attn: AudioAttention, x: np.ndarray, window: int) -> np.ndarray:
    """Reference: one dense softmax with a block-diagonal mask built from cu_seqlens (the patched official path)."""
    w = {k: np.array(v) for k, v in [("q", attn.q_proj.weight), ("k", attn.k_proj.weight), ("v", attn.v_proj.weight),
                                     ("o", attn.out_proj.weight)]}
    b = {k: np.array(v) for k, v in [("q", attn.q_proj.bias), ("k", attn.k_proj.bias), ("v", attn.v_proj.bias),
                                     ("o", attn.out_proj.bias)]}
    size, dims = x.shape
    heads = attn.heads
    split = lambda y: y.reshape(size, heads, -1).transpose(1, 0, 2)
    q, k, v = (split(x @ w[n].T + b[n]) for n in "qkv")
    bounds = list(range(0, size, window)) + [size]
    mask = np.full((size, size), -np.inf)
    for start, end in zip(bounds[:-1], bounds[1:]):
        mask[start:end, start:end] = 0
    scores = q @ k.transpose(0, 2, 1) * (dims // heads) ** -0.5 + mask
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    out = (probs @ v).transpose(1, 0, 2).reshape(size, dims)
    return out @ w["o"].T + b["o"]


@pytest.mark.parametrize("size", [50, 104, 250, 312])
def test_windows_on_batch_axis_equal_block_diagonal_mask(size):
    mx.random.seed(2)
    attn = AudioAttention(32, 4)
    x = mx.random.normal((size, 32))
    ours = np.array(attn(x, 104))
    np.testing.assert_allclose(ours, dense_windowed_attention(attn, np.array(x), 104), atol=2e-5)
    if size > 104:  # the windows matter: global attention is different
        assert not np.allclose(ours, dense_windowed_attention(attn, np.array(x), size), atol=1e-3)


def test_windowed_attention_never_builds_a_dense_score_matrix():
    mx.random.seed(3)
    attn = AudioAttention(32, 4)
    size = 104 * 64
    x = mx.random.normal((size, 32))
    mx.eval(attn.parameters(), x)
    mx.reset_peak_memory()
    before = mx.get_active_memory()
    mx.eval(attn(x, 104))
    dense_scores = size * size * 4  # one head's float32 S x S matrix alone
    assert mx.get_peak_memory() - before < dense_scores / 4


def test_chunks_are_convolved_independently_with_zero_padded_tail():
    model = encoder()
    mx.random.seed(4)
    feats = mx.random.normal((128, 300))
    longer, shorter, tail = {}, {}, {}
    model(feats, longer)
    model(feats[:, :250], shorter)  # 2 full chunks + a 50-frame tail padded to 100
    model(mx.pad(feats[:, 200:250], [(0, 0), (0, 50)]), tail)
    mx.eval(longer, shorter, tail)
    conv = lambda d: np.array(d["audio.conv_out"])
    np.testing.assert_array_equal(conv(shorter)[:2], conv(longer)[:2])
    np.testing.assert_allclose(conv(shorter)[2], conv(tail)[0], atol=1e-6)
    assert conv(shorter).shape[:2] == (3, 13)


def test_sub_second_audio_is_not_padded():
    model = encoder()
    feats = mx.random.normal((128, 50))
    found = {}
    out = model(feats, found)
    assert found["audio.conv_out"].shape[:2] == (1, 7) and out.shape == (7, 48)
    padded = {}
    model(mx.pad(feats, [(0, 0), (0, 50)]), padded)
    mx.eval(found, padded)
    # Padding would change the boundary outputs (spec §9.3), so the unpadded path is observable.
    assert not np.allclose(np.array(found["audio.conv_out"]), np.array(padded["audio.conv_out"])[:, :7], atol=1e-4)


def test_flatten_order_is_channel_major_and_positions_restart_per_chunk():
    model = encoder(encoder_layers=0)
    model.layers = []
    mx.random.seed(5)
    feats = mx.random.normal((128, 230))
    found = {}
    model(feats, found)
    mx.eval(found)
    # Official: NCHW conv output (n, C, F, t) -> permute(0, 3, 1, 2) -> view(n, t, C * F).
    nchw = np.array(nn.gelu(found["audio.conv2d3"])).transpose(0, 3, 1, 2)
    n, channels, freq, t = nchw.shape
    flat = nchw.transpose(0, 3, 1, 2).reshape(n, t, channels * freq)
    conv_out = flat @ np.array(model.conv_out.weight).T
    np.testing.assert_allclose(np.array(found["audio.conv_out"]), conv_out, rtol=1e-4, atol=1e-4)
    # With no layers, ln_post sees conv_out + positions 0..12 in every chunk, cut to the valid tokens.
    h = (conv_out + numpy_sinusoids(13, 32)[None]).reshape(-1, 32)[: num_audio_tokens(230)]
    mean, var = h.mean(-1, keepdims=True), h.var(-1, keepdims=True)
    expected = (h - mean) / np.sqrt(var + 1e-5) * np.array(model.ln_post.weight) + np.array(model.ln_post.bias)
    np.testing.assert_allclose(np.array(found["audio.ln_post"]), expected, atol=1e-4)


@pytest.mark.parametrize("frames", [1, 7, 99, 100, 101, 799, 800, 801, 2345])
def test_output_shape_follows_token_count(frames):
    out = encoder()(mx.random.normal((128, frames)))
    assert out.shape == (num_audio_tokens(frames), 48)


def test_grouped_convolution_of_long_audio_equals_one_group(monkeypatch):
    import mlx_asr.encoder as encoder_module

    model = encoder()
    feats = mx.random.normal((128, 4050))  # 41 chunks: several groups and a short tail
    grouped = np.array(model(feats))
    monkeypatch.setattr(encoder_module, "CONV_GROUP_CHUNKS", 1000)
    np.testing.assert_allclose(np.array(model(feats)), grouped, atol=1e-5)


def test_float16_layer_output_is_clamped_like_the_official_layer():
    from mlx_asr.encoder import FLOAT16_CLAMP, AudioEncoderLayer

    layer = AudioEncoderLayer(AudioEncoderConfig.from_dict(tiny_model.AUDIO))
    layer.fc2.bias = mx.full((32,), 70000.0)
    layer.set_dtype(mx.float16)
    out = layer(mx.random.normal((20, 32)).astype(mx.float16), 104)
    assert np.array(out.astype(mx.float32)).max() == pytest.approx(FLOAT16_CLAMP, rel=1e-3)


@pytest.mark.parametrize("shape", [(80, 300), (300, 128), (1, 128, 300), (128, 0)])
def test_wrong_feature_shape_is_a_clear_error(shape):
    with pytest.raises(ValueError, match=r"\(128, frames\) log-mel"):
        encoder()(mx.zeros(shape))
