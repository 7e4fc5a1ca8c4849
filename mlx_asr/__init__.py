"""mlx-asr: Qwen3-ASR speech recognition on Apple Silicon with MLX.

The public names are imported on first use (PEP 562), so ``import mlx_asr`` and ``mlx-asr --help`` stay fast:
the decoder comes from mlx-lm, whose import pulls in transformers and takes seconds.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "SAMPLE_RATE": "audio",
    "load_audio": "audio",
    "log_mel_spectrogram": "mel",
    "transcribe": "pipeline",
    "Result": "result",
    "ForcedAligner": "aligner",
    "load_aligner": "aligner",
}

# Bound eagerly (load.py imports nothing heavy): importing the submodule `mlx_asr.load` would otherwise shadow a
# lazily bound function of the same name.
from .load import load  # noqa: E402

__all__ = ["__version__", "load", *_EXPORTS]


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mlx_asr' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
