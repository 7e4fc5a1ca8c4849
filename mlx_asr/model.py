"""Qwen3-ASR: AuT audio encoder + mlx-lm's Qwen3 decoder, with the mlx-lm model protocol."""

from pathlib import Path
from typing import Dict, Optional

import mlx.core as mx
import mlx.nn as nn
from mlx_lm.models import qwen3
from mlx_lm.models.cache import KVCache

from . import weights as _weights
from .config import ModelConfig
from .encoder import AudioEncoder


class Qwen3ASR(nn.Module):
    """The Qwen3-ASR network: ``audio_tower`` (encoder + projector), ``model`` (Qwen3 decoder), output head.

    Args:
        config: the parsed ``config.json``.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.model_type = config.model_type
        self.path: Optional[Path] = None
        self.audio_tower = AudioEncoder(config.audio)
        self.model = qwen3.Qwen3Model(config.text)
        if not config.text.tie_word_embeddings:
            self.lm_head = nn.Linear(config.text.hidden_size, config.head_size, bias=False)

    @property
    def layers(self):
        """Decoder layers (mlx-lm model protocol)."""
        return self.model.layers

    def make_cache(self):
        """One mlx-lm ``KVCache`` per decoder layer."""
        return [KVCache() for _ in self.layers]

    def encode(self, features: mx.array) -> mx.array:
        """Audio embeddings of one utterance.

        Args:
            features: ``(128, frames)`` log-mel.

        Returns:
            ``(num_audio_tokens(frames), text_hidden)`` projector output (lazy).
        """
        return self.audio_tower(features)

    def embed(self, input_ids: mx.array, audio_embeddings: Optional[mx.array] = None) -> mx.array:
        """Token embeddings with the ``<|audio_pad|>`` rows replaced, in order, by ``audio_embeddings``.

        Args:
            input_ids: ``(B, L)`` token ids.
            audio_embeddings: ``(N, hidden)``; N must equal the number of ``<|audio_pad|>`` tokens in
                ``input_ids`` (row-major order, as the official ``masked_scatter``).

        Returns:
            ``(B, L, hidden)`` embeddings; no scaling, audio start/end tokens keep their text embeddings.
        """
        h = self.model.embed_tokens(input_ids)
        if audio_embeddings is None:
            return h
        is_audio = input_ids == self.config.audio_token_id
        order = mx.cumsum(is_audio.reshape(-1).astype(mx.int32)) - 1
        order = mx.clip(order, 0, audio_embeddings.shape[0] - 1)
        scattered = audio_embeddings.astype(h.dtype)[order].reshape(h.shape)
        return mx.where(is_audio[..., None], scattered, h)

    def logits(self, hidden: mx.array) -> mx.array:
        """Output head over final-norm hidden states (the forced aligner's: time classes)."""
        if self.config.text.tie_word_embeddings:
            return self.model.embed_tokens.as_linear(hidden)
        return self.lm_head(hidden)

    def __call__(
        self,
        input_ids: mx.array,
        audio_embeddings: Optional[mx.array] = None,
        cache=None,
        input_embeddings: Optional[mx.array] = None,
    ) -> mx.array:
        """Logits ``(B, L, vocab)`` (aligner: ``(B, L, classify_num)``); also accepts mlx-lm's ``model(tokens, cache=c, input_embeddings=e)``."""
        if input_embeddings is None and audio_embeddings is not None:
            input_embeddings = self.embed(input_ids, audio_embeddings)
        return self.logits(self.model(input_ids, cache=cache, input_embeddings=input_embeddings))

    def sanitize(self, weights: Dict[str, mx.array]) -> Dict[str, mx.array]:
        """Map released (``thinker.*``) or HF-native (``model.audio_tower.*`` ...) weights to this model; idempotent."""
        return _weights.sanitize(self, weights)

    def transcribe(self, audio, **kwargs):
        """Transcribe ``audio`` with this model; see ``mlx_asr.pipeline.transcribe``."""
        from .pipeline import transcribe

        return transcribe(audio, model=self, **kwargs)
