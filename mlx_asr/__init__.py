"""mlx-asr: Qwen3-ASR speech recognition on Apple Silicon with MLX."""

__version__ = "0.1.0"

__all__ = ["__version__"]
