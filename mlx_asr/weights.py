"""Checkpoint key mapping (released and HF-native layouts) and strict weight checks."""

import warnings
from typing import Dict, Iterable

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten

# Longest prefix first: "model.audio_tower." must win over a plain "model." (our text model's own prefix).
_PREFIXES = (
    ("thinker.audio_tower.", "audio_tower."),  # released layout
    ("thinker.model.", "model."),
    ("thinker.lm_head.", "lm_head."),
    ("model.audio_tower.", "audio_tower."),  # HF-native layout (transformers >= 5)
    ("model.multi_modal_projector.linear_1.", "audio_tower.proj1."),
    ("model.multi_modal_projector.linear_2.", "audio_tower.proj2."),
    ("model.language_model.", "model."),
)
CONVS = ("audio_tower.conv2d1.weight", "audio_tower.conv2d2.weight", "audio_tower.conv2d3.weight")


def rename(key: str) -> str:
    """Checkpoint key -> this package's parameter name (identity for names already in our layout)."""
    for old, new in _PREFIXES:
        if key.startswith(old):
            return new + key[len(old):]
    return key


def to_mlx_conv(weight: mx.array, expected_shape) -> mx.array:
    """PyTorch (O, I, kh, kw) -> MLX (O, kh, kw, I); weights already in MLX order pass through."""
    if tuple(weight.shape) == tuple(expected_shape):
        return weight
    transposed = weight.transpose(0, 2, 3, 1)
    if tuple(transposed.shape) != tuple(expected_shape):
        raise ValueError(f"conv weight of shape {tuple(weight.shape)} fits neither {tuple(expected_shape)} "
                         "nor its PyTorch layout")
    return transposed


def sanitize(model: nn.Module, weights: Dict[str, mx.array]) -> Dict[str, mx.array]:
    """Map either checkpoint layout to ``model``'s parameter names and layouts; idempotent."""
    weights = {rename(k): v for k, v in weights.items()}
    params = dict(tree_flatten(model.parameters()))
    for key in CONVS:
        if key in weights and key in params:
            weights[key] = to_mlx_conv(weights[key], params[key].shape)
    # The HF-native conversion drops the audio k_proj bias: it adds q.b to every score of a query row, which
    # softmax cancels, so a zero bias is exact.
    for key, value in params.items():
        if key.startswith("audio_tower.layers.") and key.endswith("self_attn.k_proj.bias") and key not in weights:
            if key.replace(".bias", ".weight") in weights:
                weights[key] = mx.zeros(value.shape, dtype=weights[key.replace(".bias", ".weight")].dtype)
    if model.config.text.tie_word_embeddings and "lm_head.weight" in weights:
        head = weights.pop("lm_head.weight")
        embedding = weights.get("model.embed_tokens.weight")
        if embedding is not None and not (head.shape == embedding.shape and mx.array_equal(head, embedding).item()):
            warnings.warn("tie_word_embeddings is set but the stored lm_head differs from embed_tokens; "
                          "using embed_tokens as the official model does", stacklevel=2)
    return weights


def check_keys(model: nn.Module, weights: Dict[str, mx.array]) -> None:
    """Raise a ValueError naming every missing, unexpected or mis-shaped weight."""
    params = dict(tree_flatten(model.parameters()))
    missing = sorted(set(params) - set(weights))
    unexpected = sorted(set(weights) - set(params))
    shapes = sorted(f"{k}: checkpoint {tuple(weights[k].shape)} vs model {tuple(params[k].shape)}"
                    for k in set(params) & set(weights) if tuple(weights[k].shape) != tuple(params[k].shape)
                    and not k.endswith((".scales", ".biases")))
    problems = [f"{label} ({len(keys)}): {_short(keys)}"
                for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes))
                if keys]
    if problems:
        raise ValueError("checkpoint does not match the model config: " + "; ".join(problems))


def _short(keys: Iterable[str], limit: int = 12) -> str:
    keys = list(keys)
    more = f", ... and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more
