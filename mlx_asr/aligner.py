"""Word timestamps with Qwen3-ForcedAligner-0.6B (spec §6.4): one forward pass, no decoding.

The aligner is the Qwen3-ASR network with a ``classify_num``-way head. Its input is the audio followed by the
transcript's words, each word followed by two ``<timestamp>`` tokens (start, end); the head's argmax *at* each
``<timestamp>`` position is a time slot of ``timestamp_segment_time`` ms. Non-monotonic predictions are repaired
as the official package does, then paired into word spans.
"""

from pathlib import Path
from typing import List, Optional, Sequence, Union

import mlx.core as mx
import numpy as np

from .prompt import LANGUAGE_CODES, PromptBuilder
from .result import Word
from .timestamps import word_spans
from .words import aligner_text, split_words

DEFAULT_ALIGNER = "Qwen/Qwen3-ForcedAligner-0.6B"
MAX_ALIGN_SECONDS = 180.0  # the official package's limit per aligned chunk (MAX_FORCE_ALIGN_INPUT_SECONDS)
TIMESTAMP_TOKEN = "<timestamp>"


def language_name(language: Optional[str]) -> str:
    """The official language name for an ISO code ("ja" -> "Japanese"); names and "" pass through."""
    if not language:
        return ""
    return LANGUAGE_CODES.get(language.strip().lower(), language.strip())


class ForcedAligner:
    """Times the words of a known transcript in its audio.

    Args:
        model: a loaded Qwen3-ForcedAligner (``mlx_asr.load`` of its folder or hub id).
    """

    def __init__(self, model):
        if not model.config.is_forced_aligner:
            raise ValueError(f"{model.path}: not a forced aligner (config.json has no classify_num); "
                             f"use {DEFAULT_ALIGNER} or a conversion of it")
        self.model = model
        self.prompt = PromptBuilder(model.path)
        self.timestamp_id = self.prompt.token_id(TIMESTAMP_TOKEN)
        if self.timestamp_id != model.config.timestamp_token_id:
            raise ValueError(f"{model.path}: config.json timestamp_token_id={model.config.timestamp_token_id} but the "
                             f"tokenizer maps {TIMESTAMP_TOKEN!r} to {self.timestamp_id}")
        self.slot_ms = float(model.config.timestamp_segment_time)

    def input_ids(self, num_audio_tokens: int, words: Sequence[str]) -> List[int]:
        """The official aligner input: audio markers around ``num_audio_tokens`` pads, then the timed words."""
        s = self.prompt.special
        return ([s.audio_start] + [s.audio_pad] * num_audio_tokens + [s.audio_end]
                + self.prompt.encode(aligner_text(list(words))))

    def slots(self, audio_embeddings: mx.array, input_ids: Sequence[int]) -> np.ndarray:
        """Predicted time slot (class index) at every ``<timestamp>`` position of ``input_ids``."""
        ids = mx.array(input_ids, dtype=mx.int32)
        positions = mx.array(np.flatnonzero(np.asarray(input_ids) == self.timestamp_id).astype(np.int32))
        hidden = self.model.model(ids[None], input_embeddings=self.model.embed(ids[None], audio_embeddings))[0]
        return np.array(mx.argmax(self.model.logits(hidden[positions]), axis=-1))

    def align(self, audio, text: str, language: Optional[str] = None, offset: float = 0.0) -> List[Word]:
        """Word spans of ``text`` in ``audio``.

        Args:
            audio: anything ``mlx_asr.load_audio`` accepts (path, array, ``(array, rate)``), at most 180 s.
            text: the transcript (punctuation is ignored; CJK ideographs are timed one by one).
            language: language name or ISO code; decides the word splitting (Japanese needs ``nagisa``).
            offset: seconds added to every time (the chunk's start in a longer file).

        Returns:
            One ``Word`` per unit of ``split_words(text, language)``, times in seconds (ms precision).

        Raises:
            ValueError: audio longer than 180 s, or a model that is not an aligner.
        """
        from .audio import load_audio
        from .mel import log_mel_spectrogram

        wav = load_audio(audio)
        if len(wav) > MAX_ALIGN_SECONDS * 16000:
            raise ValueError(f"forced alignment takes at most {MAX_ALIGN_SECONDS:.0f} s of audio per call, got "
                             f"{len(wav) / 16000:.1f} s; split it (transcribe(..., timestamps=True) does)")
        words = split_words(text, language_name(language))
        if not words or len(wav) == 0:
            return []
        audio_embeddings = self.model.encode(log_mel_spectrogram(wav))
        slots = self.slots(audio_embeddings, self.input_ids(audio_embeddings.shape[0], words))
        spans = word_spans(words, (slots * self.slot_ms).tolist())
        return [Word(word, round(start + offset, 3), round(end + offset, 3)) for word, start, end in spans]


def load_aligner(aligner: Union[str, Path, "ForcedAligner", None] = None, dtype: Optional[str] = None) -> ForcedAligner:
    """A ``ForcedAligner`` from an instance, a loaded model, a folder or a hub id (default the released one)."""
    if isinstance(aligner, ForcedAligner):
        return aligner
    if aligner is None or isinstance(aligner, (str, Path)):
        from .load import load

        return ForcedAligner(load(aligner or DEFAULT_ALIGNER, dtype=dtype))
    return ForcedAligner(aligner)
