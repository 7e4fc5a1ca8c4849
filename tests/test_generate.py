"""Greedy decoding: cached mlx-lm generation equals a naive full recompute; stop ids, budget, repetition loops."""

import json

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from helpers import asset
from mlx_lm.models.cache import KVCache

import mlx_asr
from mlx_asr.generate import MIN_SPAN, RepetitionGuard, greedy_generate
from mlx_asr.mel import log_mel_spectrogram
from mlx_asr.pipeline import prompt_builder, token_budget


class CycleModel(nn.Module):
    """mlx-lm protocol stub whose greedy continuation at absolute position p is `cycle[p % len(cycle)]`."""

    def __init__(self, cycle, vocab=64):
        super().__init__()
        self.cycle, self.vocab = list(cycle), vocab

    @property
    def layers(self):
        return [None]

    def make_cache(self):
        return [KVCache()]

    def __call__(self, inputs, cache=None, input_embeddings=None):
        length = input_embeddings.shape[1] if input_embeddings is not None else inputs.shape[1]
        cache[0].update_and_fetch(mx.zeros((1, 1, length, 4)), mx.zeros((1, 1, length, 4)))
        token = self.cycle[cache[0].offset % len(self.cycle)]
        return mx.broadcast_to(mx.arange(self.vocab) == token, (1, length, self.vocab)).astype(mx.float32)


def test_guard_ignores_ordinary_repetition():
    guard = RepetitionGuard()
    speech = [5, 6, 7, 8] * 6 + [9] * 20 + list(range(100, 160)) + [1, 2] * 20
    assert all(guard.push(t) is None for t in speech)


@pytest.mark.parametrize("period", [1, 2, 3, 7, 20])
def test_guard_detects_cycles_and_trims_to_one_copy(period):
    guard = RepetitionGuard()
    prefix = list(range(100, 110))
    cycle = list(range(200, 200 + period))
    stream = prefix + cycle * 100
    for i, token in enumerate(stream):
        redundant = guard.push(token)
        if redundant:
            break
    assert redundant is not None and i + 1 <= len(prefix) + max(MIN_SPAN, 8 * period)
    kept = stream[:i + 1 - redundant]
    assert kept[:len(prefix)] == prefix and kept[len(prefix):] == cycle


def test_loop_stops_early_and_budget_is_respected():
    ids, embeddings = [1, 2, 3], mx.zeros((3, 4))
    looped = greedy_generate(CycleModel([10, 11, 12]), ids, embeddings, stop_ids=[0], max_new_tokens=4096)
    assert looped.finish_reason == "repetition" and len(looped.tokens) == 3
    unguarded = greedy_generate(CycleModel([10, 11, 12]), ids, embeddings, [0], 200, detect_loops=False)
    assert unguarded.finish_reason == "length" and len(unguarded.tokens) == 200
    stopped = greedy_generate(CycleModel([10, 11, 0]), ids, embeddings, [0], 200)
    assert stopped.finish_reason == "stop" and stopped.tokens[-1] == 0


@pytest.fixture(scope="module")
def espeak():
    folder = asset("qwen3-asr-tiny-espeak")
    return mlx_asr.load(folder, dtype="float32"), prompt_builder(str(folder)), folder


def _prompt(espeak, clip="en_000.wav"):
    model, builder, folder = espeak
    audio = model.encode(log_mel_spectrogram(mlx_asr.load_audio(str(folder / "testset" / clip))))
    ids = builder.build(audio.shape[0])
    return ids, model.embed(mx.array(ids)[None], audio)[0]


def test_cached_generation_equals_naive_recompute(espeak):
    model, builder, _ = espeak
    ids, embeddings = _prompt(espeak)
    fast = greedy_generate(model, ids, embeddings, stop_ids=(), max_new_tokens=12, detect_loops=False)
    assert fast.finish_reason == "length" and len(fast.tokens) == 12
    naive, h = [], embeddings
    for _ in range(12):
        logits = model(mx.array(ids + naive)[None], input_embeddings=h[None])[0, -1]
        naive.append(int(mx.argmax(logits)))
        h = mx.concatenate([h, model.model.embed_tokens(mx.array(naive[-1:]))], axis=0)
    assert fast.tokens == naive
    stopped = greedy_generate(model, ids, embeddings, builder.special.stop_ids, 200)
    assert stopped.finish_reason == "stop" and stopped.tokens[-1] in builder.special.stop_ids
    assert stopped.tokens[:12] == naive[:len(stopped.tokens)]


def test_small_budget_reports_length(espeak):
    model, _, folder = espeak
    result = model.transcribe(folder / "testset" / "en_000.wav", max_new_tokens=4)
    assert json.loads(json.dumps(result.to_dict()))["source"] == str(folder / "testset" / "en_000.wav")
    assert result.finish_reason == "length" and result.segments[0].finish_reason == "length"
    assert len(result.segments[0].tokens) == 4
    full = model.transcribe(str(folder / "testset" / "en_000.wav"))
    assert full.finish_reason == "stop" and full.segments[0].tokens[:4] == result.segments[0].tokens


def test_token_budget_scales_with_duration():
    assert token_budget(1.0) < token_budget(60.0) < token_budget(1200.0)
    assert token_budget(60.0) >= 8 * 60


def test_rejects_bad_arguments(espeak):
    model, _, _ = espeak
    with pytest.raises(ValueError, match="unsupported language"):
        model.transcribe(np.zeros(16000, dtype=np.float32), language="xx")
    with pytest.raises(ValueError, match="max_new_tokens"):
        model.transcribe(np.zeros(16000, dtype=np.float32), max_new_tokens=0)


def test_logits_processors_reach_generate_step(espeak):
    model, builder, _ = espeak
    ids, embeddings = _prompt(espeak)
    stops = mx.array(list(builder.special.stop_ids))
    ban_stops = [lambda tokens, logits: logits.at[..., stops].add(-mx.inf)]
    free = greedy_generate(model, ids, embeddings, (), 30, detect_loops=False).tokens
    banned = greedy_generate(model, ids, embeddings, (), 30, detect_loops=False, logits_processors=ban_stops).tokens
    first_stop = next(i for i, t in enumerate(free) if t in builder.special.stop_ids)
    assert banned[:first_stop] == free[:first_stop]
    assert not set(banned) & set(builder.special.stop_ids)
