"""Shared by the parity tests: discover golden model references, load one model at a time, compare tensors."""

import gc
import json

import mlx.core as mx
import numpy as np
import pytest

import mlx_asr
from helpers import REFERENCES, reference

RELATIVE = 1e-4  # max abs difference allowed, relative to the reference tensor's max abs value


def variant_cases(variants, kind: str = "cases"):
    """pytest params (variant, case) for every case listed in each variant's manifest.

    A variant whose manifest is absent yields one (variant, None) param, which skips (fails under CI) when run.
    """
    params = []
    for variant in variants:
        manifest = REFERENCES / "models" / variant / "manifest.json"
        if not manifest.exists():
            params.append(pytest.param(variant, None, id=f"{variant}-missing"))
            continue
        for case in json.loads(manifest.read_text())["cases"]:
            if (REFERENCES / "models" / variant / kind / f"{case}.npz").exists() or kind == "cases":
                params.append(pytest.param(variant, case, id=f"{variant}-{case}"))
    return params


def golden(variant: str, case, kind: str = "cases") -> dict:
    if case is None:
        reference("models", variant, "manifest.json")  # skips or fails with the build hint
    with np.load(reference("models", variant, kind, f"{case}.npz")) as data:
        return dict(data)


def manifest(variant: str) -> dict:
    return json.loads(reference("models", variant, "manifest.json").read_text())


class OneModel:
    """Keeps at most one loaded model (the 0.6B is ~3.8 GB in float32)."""

    def __init__(self):
        self.key, self.model, self.encoded = None, None, {}

    def get(self, variant: str, dtype: str = "float32"):
        if self.key != (variant, dtype):
            self.clear()
            self.model = mlx_asr.load(reference("models", variant, "model"), dtype=dtype)
            self.key = (variant, dtype)
        return self.model

    def audio(self, case: str, features: np.ndarray) -> mx.array:
        """Our audio embeddings for ``case`` of the current model, computed once."""
        if case not in self.encoded:
            self.encoded[case] = self.model.encode(mx.array(features))
            mx.eval(self.encoded[case])
        return self.encoded[case]

    def clear(self):
        self.key, self.model, self.encoded = None, None, {}
        gc.collect()
        mx.clear_cache()


def relative_error(ours, ref) -> float:
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, f"shape {ours.shape} != reference {ref.shape}"
    return float(np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-30))


def assert_close(ours, ref, name: str, relative: float = RELATIVE) -> float:
    error = relative_error(ours, ref)
    assert error <= relative, f"{name}: max abs diff is {error:.3g} of the reference's max abs (limit {relative})"
    return error


def to_numpy(x: mx.array) -> np.ndarray:
    return np.array(x.astype(mx.float32))


def encoder_intermediates(model, features: np.ndarray) -> dict:
    """Our encoder's per-stage tensors, keyed and laid out like the golden references (convs back to NCHW)."""
    found = {}
    found["audio.proj2"] = model.audio_tower(mx.array(features), found)
    mx.eval(found)
    out = {k: to_numpy(v) for k, v in found.items()}
    for key in ("audio.conv2d1", "audio.conv2d2", "audio.conv2d3"):
        out[key] = out[key].transpose(0, 3, 1, 2)
    return out


def decoder_hidden_states(model, input_embeddings: mx.array) -> list:
    """Hidden states like HF's ``output_hidden_states``: input, after each layer, the last after the final norm."""
    from mlx_lm.models.base import create_attention_mask

    h = input_embeddings
    mask = create_attention_mask(h, None)
    states = [h]
    for layer in model.layers:
        h = layer(h, mask, None)
        states.append(h)
    states[-1] = model.model.norm(h)
    mx.eval(states)
    return [to_numpy(s) for s in states]


def cached_teacher_logits(model, input_ids: np.ndarray, audio: mx.array, tokens) -> np.ndarray:
    """Prefill the prompt into a KV cache, then feed ``tokens`` one at a time; logits predicting each token."""
    cache = model.make_cache()
    ids = mx.array(input_ids)
    logits = model(ids, cache=cache, input_embeddings=model.embed(ids, audio))[:, -1]
    rows = [logits]
    for token in list(tokens)[:-1]:
        logits = model(mx.array([[int(token)]]), cache=cache)[:, -1]
        mx.eval(logits)
        rows.append(logits)
    return to_numpy(mx.stack(rows, axis=1))


def suppressed_tokens(variant: str) -> list:
    """EOS ids of the variant's generation_config: the goldens force 32 new tokens, so these were never picked."""
    config = json.loads(reference("models", variant, "model", "generation_config.json").read_text())
    eos = config["eos_token_id"]
    return eos if isinstance(eos, list) else [eos]


def without(logits: np.ndarray, tokens: list) -> np.ndarray:
    out = np.array(logits, copy=True)
    out[..., tokens] = -np.inf
    return out


def top2_margins(logits: np.ndarray) -> np.ndarray:
    top2 = np.sort(logits, axis=-1)[..., -2:]
    return top2[..., 1] - top2[..., 0]


def greedy(model, input_ids: np.ndarray, audio: mx.array, steps: int, suppress: list) -> list:
    """Free-running greedy decoding with the KV cache, never picking ``suppress`` (as min_new_tokens does)."""
    penalty = mx.zeros((model.config.text.vocab_size,))
    penalty[mx.array(suppress)] = -mx.inf
    cache = model.make_cache()
    ids = mx.array(input_ids)
    logits = model(ids, cache=cache, input_embeddings=model.embed(ids, audio))[:, -1]
    tokens = []
    for _ in range(steps):
        token = mx.argmax(logits + penalty, axis=-1)
        tokens.append(token.item())
        logits = model(token[:, None], cache=cache)[:, -1]
    return tokens


def clear_margin(logits: np.ndarray, relative: float = RELATIVE) -> float:
    """A top-2 margin above this cannot flip when both logit sets agree within ``relative`` of their max abs."""
    return 2 * relative * float(np.abs(logits).max())


def first_unclear(margins: np.ndarray, clear: float) -> int:
    unclear = np.nonzero(margins <= clear)[0]
    return int(unclear[0]) if len(unclear) else len(margins)

