"""Torch-side helpers shared by the model reference builders: random init, hooks, per-case golden tensors.

Imported only by builders under tests/reference/official/ and tests/reference/hf_native/ (never by tests or the
package). Works for both the official (qwen_asr) and the transformers-native model through a small adapter.
"""

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

NEW_TOKENS = 32
PROMPT_TAIL = 8
EOS_IDS = (151643, 151645)  # suppressed by min_new_tokens during the forced-length greedy run


def suppress_eos(logits: np.ndarray) -> np.ndarray:
    """Logits as the forced-length greedy search sees them (EOS ids at -inf)."""
    out = logits.copy()
    out[..., list(EOS_IDS)] = -np.inf
    return out


def randomize_(model: torch.nn.Module, seed: int, embed_std: float = 0.02, gain: float = 1.0,
               scale: dict | None = None) -> None:
    """Non-degenerate random weights: matrices N(0, (k/sqrt(fan_in))^2), norms 1 + 0.1 N, biases and embeddings 0.02 N.

    The default HF init (std 0.02 everywhere) makes greedy decoding repeat one token; this spreads the logits.
    Tied tensors are shared parameters, so they are drawn once.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name.endswith("embed_tokens.weight"):
                value = embed_std * noise
            elif p.ndim == 1 and ("norm" in name or "ln_post" in name):
                value = (1 + 0.1 * noise) if name.endswith("weight") else 0.02 * noise
            elif p.ndim == 1:
                value = 0.02 * noise
            else:
                fan_in = math.prod(p.shape[1:])
                value = gain * noise / math.sqrt(fan_in)
            for suffix, factor in (scale or {}).items():
                if name.endswith(suffix):
                    value = value * factor
            p.copy_(value.to(p.dtype))


@dataclass
class ModelRunner:
    """How to drive one model: forward with hidden states, greedy generation, and which modules to hook."""

    forward: Callable  # (ids, feats, fmask) -> (logits (1, L, V), hidden_states tuple)
    generate: Callable  # (ids, feats, fmask, n) -> new tokens (n,) int64
    hooks: dict  # golden key -> module


def capture(hooks: dict) -> tuple[dict, list]:
    """Register forward hooks storing each module's output (first element of a tuple) as float32 numpy."""
    caps, handles = {}, []
    for key, module in hooks.items():
        def hook(_module, _inputs, output, key=key):
            out = output[0] if isinstance(output, tuple) else getattr(output, "last_hidden_state", output)
            caps[key] = out.detach().float().numpy().copy()
        handles.append(module.register_forward_hook(hook))
    return caps, handles


def golden_case(runner: ModelRunner, ids: torch.Tensor, feats: torch.Tensor, fmask: torch.Tensor) -> dict:
    """Per-stage tensors for one utterance (keys as in tests/reference/README.md, minus wav/features/ids)."""
    prompt_len = ids.shape[1]
    with torch.no_grad():
        generated = runner.generate(ids, feats, fmask, NEW_TOKENS)
        full = torch.cat([ids, generated[None]], dim=1)
        caps, handles = capture(runner.hooks)
        try:
            logits, hidden = runner.forward(full, feats, fmask)
        finally:
            for h in handles:
                h.remove()
    logits = logits.float().numpy()
    teacher = logits[:, prompt_len - 1:prompt_len - 1 + NEW_TOKENS]
    top2 = np.sort(suppress_eos(teacher[0]), axis=-1)[:, -2:]
    out = dict(caps)
    out.update({f"text.h{i}": h[:, :prompt_len].float().numpy() for i, h in enumerate(hidden)})
    out["logits_prompt_tail"] = logits[:, prompt_len - PROMPT_TAIL:prompt_len]
    out["generated"] = generated.numpy().astype(np.int64)
    out["logits_teacher"] = teacher
    out["top2_margin"] = (top2[:, 1] - top2[:, 0]).astype(np.float32)
    check_greedy_consistent(out)
    return out


def check_greedy_consistent(case: dict, clear: float = 1e-3) -> None:
    """The cached greedy tokens must be the (EOS-suppressed) argmax of the full-forward logits where the margin is clear."""
    argmax = suppress_eos(case["logits_teacher"][0]).argmax(-1)
    clear_rows = case["top2_margin"] > clear
    bad = np.nonzero((argmax != case["generated"]) & clear_rows)[0]
    if len(bad):
        raise AssertionError(f"greedy tokens disagree with teacher-forced argmax at steps {bad.tolist()}")


def check_tokens_vary(case: dict, name: str, minimum: int = 8) -> int:
    distinct = len(set(case["generated"].tolist()))
    if distinct < minimum:
        raise AssertionError(f"{name}: only {distinct} distinct greedy tokens in {NEW_TOKENS} (need >= {minimum}); "
                             "the random init is degenerate")
    return distinct


def save_npz(path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
