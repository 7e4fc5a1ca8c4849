"""Load a Qwen3-ASR checkpoint (local folder or Hugging Face repo id) into MLX.

Nothing heavy is imported at module level: ``mlx_asr/__init__.py`` binds ``load`` eagerly (importing the submodule
``mlx_asr.load`` later would otherwise shadow a lazily bound function of the same name), and mlx-lm takes seconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

if TYPE_CHECKING:
    import mlx.core as mx

    from .model import Qwen3ASR

_DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.jinja", "*.model", "*.md"]
_DTYPE_NAMES = ("float32", "float16", "bfloat16")


def default_dtype() -> mx.Dtype:
    """float32 on CPU, bfloat16 on a GPU (Metal)."""
    import mlx.core as mx

    return mx.float32 if mx.default_device() == mx.cpu else mx.bfloat16


def resolve(path_or_repo: Union[str, Path]) -> Path:
    """Local folder as is; otherwise a hub repo id, downloaded with huggingface_hub."""
    path = Path(path_or_repo).expanduser()
    if path.is_dir():
        return path
    text = str(path_or_repo)
    if path.exists() or text.startswith((".", "/", "~")) or text.count("/") != 1:
        raise FileNotFoundError(f"{text} is not a model folder (and does not look like a hub repo id 'owner/name')")
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(text, allow_patterns=_DOWNLOAD_PATTERNS))


def _dtype(dtype) -> mx.Dtype:
    import mlx.core as mx

    if dtype is None:
        return default_dtype()
    if isinstance(dtype, mx.Dtype):
        return dtype
    if dtype not in _DTYPE_NAMES:
        raise ValueError(f"dtype {dtype!r} is not one of {', '.join(_DTYPE_NAMES)}")
    return getattr(mx, dtype)


def load(path_or_repo: Union[str, Path], dtype: Optional[Union[str, mx.Dtype]] = None, lazy: bool = False) -> Qwen3ASR:
    """Load a Qwen3-ASR model.

    Args:
        path_or_repo: a local folder holding ``config.json`` and ``*.safetensors`` (released or HF-native
            layout), or a Hugging Face repo id such as ``"Qwen/Qwen3-ASR-0.6B"``.
        dtype: ``"float32"``, ``"float16"``, ``"bfloat16"`` or an ``mx.Dtype``; default float32 on CPU and
            bfloat16 on Metal.
        lazy: leave the weights unevaluated (they load on first use).

    Returns:
        The ``Qwen3ASR`` model, with ``model.path`` set to the local folder.

    Raises:
        FileNotFoundError: no such folder, or no ``config.json``/``*.safetensors`` in it.
        ValueError: the config or the weights do not describe a supported Qwen3-ASR model (the message names
            missing, unexpected or mis-shaped weights).
    """
    import mlx.core as mx
    import mlx.nn as nn

    from .config import ModelConfig
    from .model import Qwen3ASR
    from .quantize import quantize_for_load
    from .weights import check_keys

    path = resolve(path_or_repo)
    config_file = path / "config.json"
    if not config_file.exists():
        raise FileNotFoundError(f"No config.json in {path}")
    raw_config = json.loads(config_file.read_text())
    model = Qwen3ASR(ModelConfig.from_dict(raw_config))
    model.path = path

    files = sorted(path.glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"No safetensors found in {path}")
    weights = {}
    for file in files:
        weights.update(mx.load(str(file)))
    weights = model.sanitize(weights)

    quantization = raw_config.get("quantization")
    if quantization:
        quantize_for_load(model, quantization, weights)
    check_keys(model, weights)
    target = _dtype(dtype)
    # Quantization scales/biases follow dtype too: a quantized embedding outputs their dtype, which would otherwise
    # silently switch the decoder to the checkpoint's float16.
    weights = {k: v.astype(target) if mx.issubdtype(v.dtype, mx.floating) else v for k, v in weights.items()}
    model.load_weights(list(weights.items()), strict=True)
    if not lazy:
        mx.eval(model.parameters())
    model.eval()
    return model
