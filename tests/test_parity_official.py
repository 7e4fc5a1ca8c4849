"""Parity with the official qwen-asr 0.0.6 model (float32 goldens from tests/reference/official/).

Every encoder stage, the merged embeddings, every decoder layer, the prompt logits, KV-cached decoding and greedy
tokens, for each variant (tiny, 0.6b full depth, 1.7b reduced depth) and each audio case in its manifest.
"""

import mlx.core as mx
import numpy as np
import pytest

import parity
from parity import assert_close, golden

VARIANTS = ["tiny", "0.6b", "1.7b"]
CASES = parity.variant_cases(VARIANTS)
WINDOW_TOKENS = 104

pytestmark = pytest.mark.parity


def _setup(models, variant, case):
    data = golden(variant, case)
    return models.get(variant), data


@pytest.mark.parametrize("variant,case", CASES, scope="module")
def test_encoder_stages_match(models, variant, case):
    model, data = _setup(models, variant, case)
    ours = parity.encoder_intermediates(model, data["input_features"])
    keys = [k for k in data if k.startswith("audio.")]
    layers = [k for k in keys if k.startswith("audio.layers.")]
    assert "audio.proj2" in keys and len(layers) == model.config.audio.encoder_layers
    errors = {key: assert_close(ours[key], data[key], f"{variant}/{case} {key}") for key in keys}
    print(f"{variant}/{case} encoder worst relative error: {max(errors.values()):.2e}")


@pytest.mark.parametrize("variant,case", CASES, scope="module")
def test_merged_embeddings_exact(models, variant, case):
    model, data = _setup(models, variant, case)
    ids = data["input_ids"]
    audio = mx.array(data["audio.proj2"])
    assert int((ids == model.config.audio_token_id).sum()) == audio.shape[0]
    merged = parity.to_numpy(model.embed(mx.array(ids), audio))
    np.testing.assert_array_equal(merged, data["text.h0"])


@pytest.mark.parametrize("variant,case", CASES, scope="module")
def test_decoder_layers_and_logits_match(models, variant, case):
    model, data = _setup(models, variant, case)
    states = parity.decoder_hidden_states(model, mx.array(data["text.h0"]))
    assert len(states) == model.config.text.num_hidden_layers + 1
    for i, state in enumerate(states[1:], start=1):
        assert_close(state, data[f"text.h{i}"], f"{variant}/{case} decoder layer {i}")
    # End to end from the log-mel: our encoder, merge, decoder and head.
    ids = mx.array(data["input_ids"])
    logits = model(ids, models.audio(case, data["input_features"]))[:, -data["logits_prompt_tail"].shape[1]:]
    error = assert_close(parity.to_numpy(logits), data["logits_prompt_tail"], f"{variant}/{case} prompt logits")
    print(f"{variant}/{case} prompt logits relative error: {error:.2e}")


@pytest.mark.parametrize("variant,case", CASES, scope="module")
def test_cached_decoding_matches_teacher_forcing(models, variant, case):
    model, data = _setup(models, variant, case)
    generated = data["generated"]
    assert len(generated) >= 32
    audio = models.audio(case, data["input_features"])
    logits = parity.cached_teacher_logits(model, data["input_ids"], audio, generated)
    assert_close(logits, data["logits_teacher"], f"{variant}/{case} cached decoding logits")
    # Greedy picks at every step where the reference's top-2 margin (EOS excluded, as it was forced) is clear.
    eos = parity.suppressed_tokens(variant)
    reference = parity.without(data["logits_teacher"][0], eos)
    clear = parity.top2_margins(reference) > parity.clear_margin(data["logits_teacher"])
    np.testing.assert_array_equal(reference.argmax(-1)[clear], generated[clear])  # how the goldens were made
    assert clear.sum() >= len(generated) // 2, "too few steps with a clear top-2 margin to compare tokens"
    np.testing.assert_array_equal(parity.without(logits[0], eos).argmax(-1)[clear], generated[clear])


@pytest.mark.parametrize("variant,case", CASES, scope="module")
def test_greedy_decoding_picks_same_tokens(models, variant, case):
    model, data = _setup(models, variant, case)
    generated = data["generated"]
    eos = parity.suppressed_tokens(variant)
    audio = models.audio(case, data["input_features"])
    tokens = np.array(parity.greedy(model, data["input_ids"], audio, len(generated), eos))
    # Free-running tokens are comparable up to the first step whose reference margin is not clear.
    margins = parity.top2_margins(parity.without(data["logits_teacher"][0], eos))
    upto = parity.first_unclear(margins, parity.clear_margin(data["logits_teacher"]))
    assert upto >= 1, "the reference's first greedy step is already a near tie"
    np.testing.assert_array_equal(tokens[:upto], generated[:upto])
    print(f"{variant}/{case}: free-running greedy equal over {upto} of {len(generated)} steps")


@pytest.mark.parametrize("variant,case", parity.variant_cases(VARIANTS, kind="global"), scope="module")
def test_long_audio_is_windowed_not_global(models, variant, case):
    windowed, stock = golden(variant, case, "cases"), golden(variant, case, "global")
    assert windowed["audio.proj2"].shape[0] > WINDOW_TOKENS, "global references exist only for audio over 8 s"
    model = models.get(variant)
    ours = parity.encoder_intermediates(model, windowed["input_features"])["audio.proj2"]
    assert_close(ours, windowed["audio.proj2"], f"{variant}/{case} windowed encoder")
    # The unwindowed (stock HF) encoder is far outside the tolerance: the windows matter and we implement them.
    gap = parity.relative_error(ours, stock["audio.proj2"])
    assert gap > 10 * parity.RELATIVE, f"{variant}/{case}: windowed and global encoders differ by only {gap:.2e}"
    print(f"{variant}/{case}: ours vs global reference relative difference {gap:.3f}")


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_reduced_precision_runs(models, variant, dtype):
    """bf16/fp16 run end to end; their deviation from the float32 golden is printed (no tolerance yet)."""
    cases = sorted(parity.manifest(variant)["cases"])
    data = golden(variant, cases[0])
    model = models.get(variant, dtype)
    audio = model.encode(mx.array(data["input_features"]))
    logits = model(mx.array(data["input_ids"]), audio)[:, -data["logits_prompt_tail"].shape[1]:]
    mx.eval(audio, logits)
    assert audio.dtype == logits.dtype == getattr(mx, dtype)
    audio_error = parity.relative_error(parity.to_numpy(audio), data["audio.proj2"])
    logit_error = parity.relative_error(parity.to_numpy(logits), data["logits_prompt_tail"])
    assert np.isfinite([audio_error, logit_error]).all()
    print(f"{variant}/{cases[0]} {dtype}: audio embeddings rel. error {audio_error:.2e}, "
          f"prompt logits rel. error {logit_error:.2e}")
