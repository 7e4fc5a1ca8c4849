import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from mlx_lm.generate import generate_step

import tiny_model
from mlx_asr.config import ModelConfig
from mlx_asr.encoder import num_audio_tokens
from mlx_asr.model import Qwen3ASR

FRAMES = 230  # 2.3 s -> 30 audio tokens


@pytest.fixture(scope="module")
def model():
    return tiny_model.build()


def audio_for(model, frames=FRAMES, seed=0):
    mx.random.seed(seed)
    return model.encode(mx.random.normal((128, frames)))


def test_shapes(model):
    audio = audio_for(model)
    assert audio.shape == (num_audio_tokens(FRAMES), 48)
    ids = tiny_model.prompt(audio.shape[0])
    assert model.embed(ids, audio).shape == (1, ids.shape[1], 48)
    assert model(ids, audio).shape == (1, ids.shape[1], 1000)
    assert model(ids).shape == (1, ids.shape[1], 1000)


def test_audio_rows_replace_pad_rows_in_order(model):
    audio = audio_for(model)
    ids = tiny_model.prompt(audio.shape[0], batch=2)
    merged, text = np.array(model.embed(ids, mx.concatenate([audio, audio + 1.0]))), np.array(model.embed(ids))
    is_audio = np.array(ids) == tiny_model.AUDIO_TOKEN
    np.testing.assert_array_equal(merged[0][is_audio[0]], np.array(audio))  # replaced, not added or scaled
    np.testing.assert_array_equal(merged[1][is_audio[1]], np.array(audio + 1.0))  # row-major order across the batch
    np.testing.assert_array_equal(merged[~is_audio], text[~is_audio])  # start/end and text keep their embeddings


def test_tied_head_is_the_embedding(model):
    assert "lm_head" not in model
    ids = tiny_model.prompt(3)
    hidden = model.model(ids)
    expected = np.array(hidden) @ np.array(model.model.embed_tokens.weight).T
    np.testing.assert_allclose(np.array(model(ids)), expected, rtol=1e-4, atol=1e-4)


def test_untied_model_has_its_own_head():
    untied = tiny_model.build(tie_word_embeddings=False)
    assert untied.lm_head.weight.shape == (1000, 48)
    ids = tiny_model.prompt(3)
    expected = np.array(untied.model(ids)) @ np.array(untied.lm_head.weight).T
    np.testing.assert_allclose(np.array(untied(ids)), expected, rtol=1e-4, atol=1e-4)


def test_cached_one_token_at_a_time_equals_full_pass(model):
    audio = audio_for(model)
    ids = mx.concatenate([tiny_model.prompt(audio.shape[0]), mx.array([[7, 8, 9, 10, 11]])], axis=1)
    full = np.array(model(ids, audio))
    split = ids.shape[1] - 5
    cache = model.make_cache()
    steps = [model(ids[:, :split], audio, cache=cache)[:, -1]]
    for i in range(split, ids.shape[1]):
        steps.append(model(ids[:, i : i + 1], cache=cache)[:, -1])
    np.testing.assert_allclose(np.array(mx.stack(steps, axis=1)), full[:, split - 1 :], rtol=1e-4, atol=1e-4)


def test_batched_single_token_decoding_matches_per_row(model):
    """B > 1 with L == 1 steps (the mx.fast.rope case mlx-audio worked around) equals each row alone."""
    rows = [mx.array([[1, 2, 3, 4, 5, 6]]), mx.array([[9, 8, 7, 6, 5, 4]])]
    batch = mx.concatenate(rows, axis=0)
    cache = model.make_cache()
    model(batch, cache=cache)
    batched = model(mx.array([[11], [12]]), cache=cache)[:, -1]
    for i, (row, token) in enumerate(zip(rows, (11, 12))):
        single_cache = model.make_cache()
        model(row, cache=single_cache)
        single = model(mx.array([[token]]), cache=single_cache)[:, -1]
        np.testing.assert_allclose(np.array(batched[i]), np.array(single[0]), rtol=1e-4, atol=1e-4)


def test_mlx_lm_generate_step_convention(model):
    """generate_step calls model(tokens, cache=..., input_embeddings=...) and gets our greedy tokens."""
    audio = audio_for(model)
    ids = tiny_model.prompt(audio.shape[0])
    embeddings = model.embed(ids, audio)[0]
    tokens = [int(t) for t, _ in zip((t for t, _ in generate_step(ids[0], model, input_embeddings=embeddings)),
                                     range(8))]
    cache, expected = model.make_cache(), []
    logits = model(ids, audio, cache=cache)
    for _ in range(8):
        expected.append(int(mx.argmax(logits[0, -1])))
        logits = model(mx.array([[expected[-1]]]), cache=cache)
    assert tokens == expected
    assert len(set(expected)) > 1


@pytest.mark.parametrize("dtype", [mx.float32, mx.float16, mx.bfloat16])
def test_dtypes(dtype):
    model = tiny_model.build()
    model.set_dtype(dtype)
    audio = audio_for(model)
    logits = model(tiny_model.prompt(audio.shape[0]), audio)
    mx.eval(logits)
    assert audio.dtype == dtype and logits.dtype == dtype
    assert np.isfinite(np.array(logits.astype(mx.float32))).all()


def test_interleaved_mrope_with_identical_rows_is_plain_rope():
    """Re-derive the official apply_interleaved_mrope + rotate_half in numpy and compare with the decoder's RoPE."""
    config = ModelConfig.from_dict(tiny_model.config_dict(head_dim=128, num_hidden_layers=1, rope_scaling={
        "interleaved": True, "mrope_interleaved": True, "mrope_section": [24, 20, 20], "rope_type": "default",
        "type": "default"}))
    rope = Qwen3ASR(config).layers[0].self_attn.rope
    assert isinstance(rope, nn.RoPE)
    offset, length = 1000, 64
    x = np.random.default_rng(0).standard_normal((1, 2, length, 128)).astype(np.float32)
    ours = np.array(rope(mx.array(x), offset=offset))

    def official(position_rows):
        inv_freq = 1.0 / (1000000 ** (np.arange(0, 128, 2, dtype=np.float32) / 128))
        freqs = position_rows[:, :, None].astype(np.float32) * inv_freq[None, None, :]  # (3, L, 64)
        freqs_t = freqs[0].copy()
        for dim, start in ((1, 1), (2, 2)):
            freqs_t[:, start : [24, 20, 20][dim] * 3 : 3] = freqs[dim][:, start : [24, 20, 20][dim] * 3 : 3]
        emb = np.concatenate([freqs_t, freqs_t], axis=-1)
        rotated = np.concatenate([-x[..., 64:], x[..., :64]], axis=-1)
        return x * np.cos(emb) + rotated * np.sin(emb)

    positions = np.arange(offset, offset + length)
    np.testing.assert_allclose(ours, official(np.stack([positions] * 3)), atol=2e-4)
    # The check can fail: distinct rows (a real multi-axis M-RoPE) are not plain RoPE.
    distinct = np.stack([positions, positions + 7, positions + 13])
    assert np.abs(ours - official(distinct)).max() > 1e-2


def test_transcribe_delegates_to_pipeline(model, monkeypatch):
    import mlx_asr.pipeline as pipeline

    calls = []
    monkeypatch.setattr(pipeline, "transcribe", lambda audio, **kw: calls.append((audio, kw)) or "result")
    assert model.transcribe("clip.wav", language="English") == "result"
    assert calls == [("clip.wav", {"model": model, "language": "English"})]
