"""Model configuration, read from the released ``config.json`` or the flattened HF-native one."""

import inspect
from dataclasses import dataclass, fields
from typing import List, Optional

from mlx_lm.models import qwen3


def _required(params: dict, names, where: str) -> None:
    absent = [name for name in names if name not in params]
    if absent:
        raise ValueError(f"config.json: {where} lacks required key(s) {', '.join(absent)}")


@dataclass
class AudioEncoderConfig:
    """The AuT encoder's hyper-parameters (``audio_config``)."""

    num_mel_bins: int
    d_model: int
    encoder_layers: int
    encoder_attention_heads: int
    encoder_ffn_dim: int
    output_dim: int
    downsample_hidden_size: int
    n_window: int
    n_window_infer: int
    conv_chunksize: int = 500  # memory only; the HF-native config does not store it
    activation_function: str = "gelu"

    @classmethod
    def from_dict(cls, params: dict) -> "AudioEncoderConfig":
        _required(params, [f.name for f in fields(cls) if f.name not in ("conv_chunksize", "activation_function")],
                  "audio_config")
        config = cls(**{f.name: params[f.name] for f in fields(cls) if f.name in params})
        if config.activation_function != "gelu":
            raise ValueError(f"audio_config.activation_function {config.activation_function!r} is not supported")
        if config.n_window_infer % (2 * config.n_window):
            raise ValueError("audio_config.n_window_infer must be a multiple of 2 * n_window")
        return config

    @property
    def chunk_frames(self) -> int:
        """Mel frames per conv chunk (1 s)."""
        return 2 * self.n_window

    @property
    def chunks_per_window(self) -> int:
        """Chunks per attention window (8 s)."""
        return self.n_window_infer // self.chunk_frames


_TEXT_REQUIRED = [
    name
    for name, p in inspect.signature(qwen3.ModelArgs).parameters.items()
    if p.default is inspect.Parameter.empty and name != "tie_word_embeddings"
]


def _text_args(text: dict, outer: dict) -> qwen3.ModelArgs:
    _required(text, _TEXT_REQUIRED, "text_config")
    text = dict(text)
    if "tie_word_embeddings" not in text:
        _required(outer, ["tie_word_embeddings"], "the config (tie_word_embeddings)")
        text["tie_word_embeddings"] = outer["tie_word_embeddings"]
    if text["model_type"] != "qwen3":
        raise ValueError(f"text_config.model_type {text['model_type']!r} is not supported (expected 'qwen3')")
    return qwen3.ModelArgs.from_dict(text)


@dataclass
class ModelConfig:
    """Whole-model configuration: audio encoder, Qwen3 text decoder and the audio token ids."""

    audio: AudioEncoderConfig
    text: qwen3.ModelArgs
    audio_token_id: int
    audio_start_token_id: Optional[int]
    audio_end_token_id: Optional[int]
    model_type: str
    support_languages: Optional[List[str]] = None
    classify_num: Optional[int] = None  # forced aligner: the output head classifies time slots
    timestamp_token_id: Optional[int] = None
    timestamp_segment_time: Optional[float] = None  # milliseconds per class

    @property
    def is_forced_aligner(self) -> bool:
        """Qwen3-ForcedAligner: same network, a ``classify_num``-way head read at ``<timestamp>`` positions."""
        return self.classify_num is not None

    @property
    def head_size(self) -> int:
        """Width of the output head: the vocabulary, or the aligner's number of time classes."""
        return self.classify_num if self.is_forced_aligner else self.text.vocab_size

    @classmethod
    def from_dict(cls, config: dict) -> "ModelConfig":
        """Build from a ``config.json`` dict: released (``thinker_config``) or HF-native (flattened) layout."""
        inner = config["thinker_config"] if "thinker_config" in config else config
        _required(inner, ["audio_config", "text_config", "audio_token_id"],
                  "thinker_config" if inner is not config else "the config")
        model_type = inner.get("model_type", config.get("model_type"))
        if model_type is None:
            raise ValueError("config.json: no model_type")
        outer = {**config, **inner}
        aligner = {}
        if "forced_aligner" in model_type:
            _required(outer, ["classify_num", "timestamp_token_id", "timestamp_segment_time"],
                      "the forced aligner's config")
            aligner = {name: outer[name] for name in ("classify_num", "timestamp_token_id", "timestamp_segment_time")}
        return cls(
            audio=AudioEncoderConfig.from_dict(inner["audio_config"]),
            text=_text_args(inner["text_config"], outer),
            audio_token_id=inner["audio_token_id"],
            audio_start_token_id=inner.get("audio_start_token_id"),
            audio_end_token_id=inner.get("audio_end_token_id"),
            model_type=model_type,
            support_languages=config.get("support_languages"),
            **aligner,
        )

