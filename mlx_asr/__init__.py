"""mlx-asr: Qwen3-ASR speech recognition on Apple Silicon with MLX."""

__version__ = "0.1.0"

from .audio import SAMPLE_RATE, load_audio  # noqa: E402
from .load import load  # noqa: E402
from .mel import log_mel_spectrogram  # noqa: E402
from .pipeline import transcribe  # noqa: E402
from .result import Result  # noqa: E402

__all__ = ["__version__", "SAMPLE_RATE", "load_audio", "log_mel_spectrogram", "load", "transcribe", "Result"]
