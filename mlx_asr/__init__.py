"""mlx-asr: Qwen3-ASR speech recognition on Apple Silicon with MLX."""

__version__ = "0.1.0"

from .load import load  # noqa: E402

__all__ = ["__version__", "load"]
