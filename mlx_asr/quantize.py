"""Which layers a conversion quantizes, how that is recorded in ``config.json``, and how loading rebuilds them.

Rules: only ``nn.Linear`` and ``nn.Embedding`` layers whose input width is a multiple of the group size; convolutions,
norms and the sinusoid position table never (they are not such layers). The text decoder is quantized with the
default bits; the audio tower (encoder + projector) only when ``encoder_bits`` is given, recorded as per-module
overrides. The tied embedding, which is also the output head, stays in float unless asked: see ``HEAD_DECISION``.
"""

from typing import Callable, Dict, Optional, Union

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_unflatten

BITS = (4, 8)
GROUP_SIZES = (32, 64, 128)
MODE = "affine"
ENCODER_PREFIX = "audio_tower."
HEAD_PATHS = ("model.embed_tokens", "lm_head")

# The tied embedding is also the output head: quantizing it perturbs every logit. Measured on the trained tiny model
# (shared assets, 148 test clips; transcripts identical to the official float32 ones): float32 148, 8-bit 147,
# 8-bit with the embedding quantized 129, 4-bit 75, 4-bit with the embedding quantized 34 (bench/bench_quantized.py
# --tiny). Keeping it float costs 0.22 GB on the 0.6B (0.31 GB float16 vs ~0.09 GB 4-bit; 4-bit folder 0.93 GB
# instead of ~0.71 GB). Decision: float by default; --q-embedding opts in.
HEAD_DECISION = "the tied embedding / output head stays float unless quantize_embedding (--q-embedding) is set"

Predicate = Callable[[str, nn.Module], Union[bool, dict]]


def check_recipe(bits: int, group_size: int, encoder_bits: Optional[int]) -> None:
    """Raise a ValueError for unsupported bits or group sizes."""
    if bits not in BITS:
        raise ValueError(f"q_bits must be one of {BITS}, not {bits}")
    if group_size not in GROUP_SIZES:
        raise ValueError(f"q_group_size must be one of {GROUP_SIZES}, not {group_size}")
    if encoder_bits is not None and encoder_bits not in BITS:
        raise ValueError(f"encoder_bits must be one of {BITS}, not {encoder_bits}")


def quantizable(module: nn.Module, group_size: int) -> bool:
    """A Linear or Embedding whose input width is a multiple of ``group_size``."""
    return isinstance(module, (nn.Linear, nn.Embedding)) and module.weight.shape[-1] % group_size == 0


def convert_predicate(bits: int, group_size: int, encoder_bits: Optional[int] = None,
                      quantize_embedding: bool = False) -> Predicate:
    """``nn.quantize`` predicate for conversion: True (decoder defaults), an override dict, or False."""
    check_recipe(bits, group_size, encoder_bits)

    def predicate(path: str, module: nn.Module) -> Union[bool, dict]:
        if not quantizable(module, group_size):
            return False
        if path.startswith(ENCODER_PREFIX):
            return {"bits": encoder_bits, "group_size": group_size, "mode": MODE} if encoder_bits else False
        if path in HEAD_PATHS:
            return quantize_embedding
        return True

    return predicate


def quantization_config(model: nn.Module, bits: int, group_size: int) -> Dict[str, object]:
    """The ``config["quantization"]`` record of a quantized model: defaults plus one entry per differing module."""
    record: Dict[str, object] = {"bits": bits, "group_size": group_size, "mode": MODE}
    for path, module in model.named_modules():
        if isinstance(module, (nn.QuantizedLinear, nn.QuantizedEmbedding)):
            if (module.bits, module.group_size) != (bits, group_size):
                record[path] = {"bits": module.bits, "group_size": module.group_size, "mode": module.mode}
    return record


def load_predicate(quantization: Dict[str, object], weights) -> Predicate:
    """``nn.quantize`` predicate for loading: a layer is quantized iff its ``.scales`` exist; overrides by path."""

    def predicate(path: str, module: nn.Module) -> Union[bool, dict]:
        if f"{path}.scales" not in weights:
            return False
        if not hasattr(module, "to_quantized"):
            raise ValueError(f"checkpoint has {path}.scales but {path} ({type(module).__name__}) cannot be quantized")
        override = quantization.get(path)
        return dict(override) if isinstance(override, dict) else True

    return predicate


def quantize_for_load(model: nn.Module, quantization: Dict[str, object], weights) -> None:
    """Rebuild the quantized layers of a converted checkpoint before its weights are loaded."""
    missing = [k for k in ("bits", "group_size") if k not in quantization]
    if missing:
        raise ValueError(f"config.json: quantization lacks {', '.join(missing)}")
    nn.quantize(model, group_size=quantization["group_size"], bits=quantization["bits"],
                mode=quantization.get("mode", MODE), class_predicate=load_predicate(quantization, weights))


def dequantize(model: nn.Module) -> nn.Module:
    """Replace every quantized layer, in place, by a float layer holding its dequantized weights.

    The result computes exactly what the quantized weights represent with float kernels (MLX's CPU quantized
    matmul is slow; this is for measuring quantization error, or for re-converting a quantized folder).
    """
    swaps = []
    for path, module in model.named_modules():
        if isinstance(module, (nn.QuantizedLinear, nn.QuantizedEmbedding)):
            weight = mx.dequantize(module.weight, module.scales, module.get("biases"), module.group_size,
                                   module.bits, mode=module.mode)
            if isinstance(module, nn.QuantizedLinear):
                layer = nn.Linear(weight.shape[1], weight.shape[0], bias="bias" in module)
                layer.update({"weight": weight, **({"bias": module.bias} if "bias" in module else {})})
            else:
                layer = nn.Embedding(weight.shape[0], weight.shape[1])
                layer.update({"weight": weight})
            swaps.append((path, layer))
    model.update_modules(tree_unflatten(swaps))
    return model
