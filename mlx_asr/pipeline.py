"""`transcribe`: audio -> chunks -> log-mel -> encoder -> prompt -> greedy decoding -> parsed `Result`."""

import math
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Union

import mlx.core as mx
import numpy as np

from .chunking import DEFAULT_MAX_CHUNK_SECONDS, Chunk, split_audio
from .prompt import PromptBuilder, merge_languages, parse_asr_output, resolve_language
from .result import Result, Segment, Stats

DEFAULT_MODEL = "Qwen/Qwen3-ASR-0.6B"
# Token budget per chunk when max_new_tokens is not given: fast speech is ~4 tokens/s in English and up to ~8 in
# Chinese, so 10 tokens per second of audio plus room for the "language X<asr_text>" prefix never truncates real
# speech, while a runaway loop is bounded (and normally cut much earlier by the repetition guard).
TOKENS_PER_SECOND_BUDGET = 10
TOKEN_BUDGET_BASE = 32


def token_budget(seconds: float) -> int:
    """Default `max_new_tokens` for a chunk of `seconds` audio."""
    return TOKEN_BUDGET_BASE + math.ceil(TOKENS_PER_SECOND_BUDGET * seconds)


@lru_cache(maxsize=8)
def prompt_builder(folder: str) -> PromptBuilder:
    """The (cached) tokenizer and prompt builder of a model folder."""
    return PromptBuilder(folder)


def _resolve_model(model, dtype):
    from .load import load

    if model is None:
        model = DEFAULT_MODEL
    if isinstance(model, (str, Path)):
        return load(model, dtype=dtype)
    if getattr(model, "path", None) is None:
        raise ValueError("the model has no `path` (folder with its tokenizer); load it with mlx_asr.load(...)")
    return model


def transcribe(
    audio,
    model=None,
    language: Optional[str] = None,
    context: str = "",
    max_new_tokens: Optional[int] = None,
    max_chunk_seconds: Optional[float] = DEFAULT_MAX_CHUNK_SECONDS,
    dtype: Optional[str] = None,
    detect_loops: bool = True,
    on_chunk: Optional[Callable[[int, int], None]] = None,
    timestamps: bool = False,
    aligner=None,
) -> Union[Result, List[Result]]:
    """Transcribe speech with Qwen3-ASR (greedy decoding, as the official `Qwen3ASRModel.transcribe`).

    Args:
        audio: a path, `"-"` (stdin), a 16 kHz waveform array, an `(array, sample_rate)` pair, or a list of these
            (then a list of results is returned, all using one loaded model).
        model: a model from `mlx_asr.load`, or a folder / Hugging Face repo id to load (default
            `"Qwen/Qwen3-ASR-0.6B"`).
        language: force the language, by name ("English") or ISO code ("en"); None detects it.
        context: background text or hotwords placed in the system prompt.
        max_new_tokens: token budget per chunk; default scales with the chunk's duration (`token_budget`).
        max_chunk_seconds: split longer audio at low-energy points into chunks of about this length (default 60;
            1200 reproduces the official behaviour; None never splits). Nothing is ever truncated.
        dtype: weights dtype when `model` is loaded here ("float32", "float16", "bfloat16").
        detect_loops: stop a repeating token cycle early (finish_reason "repetition") instead of burning the budget.
        on_chunk: progress callback `(chunks_done, chunks_total)`.
        timestamps: also time every word with the forced aligner (`Segment.words`); chunks are then at most 180 s.
        aligner: the aligner for `timestamps`: a `ForcedAligner`, a loaded aligner model, a folder or a hub id
            (default `"Qwen/Qwen3-ForcedAligner-0.6B"`), loaded once with `dtype`.

    Returns:
        A `Result` (text, language, segments with times, duration, finish_reason, stats).

    Raises:
        ValueError: unsupported language, bad `max_chunk_seconds`, or audio that cannot be loaded (`AudioError`).
    """
    model = _resolve_model(model, dtype)
    if timestamps:
        from .aligner import MAX_ALIGN_SECONDS, load_aligner

        aligner = load_aligner(aligner, dtype)
        max_chunk_seconds = min(max_chunk_seconds or MAX_ALIGN_SECONDS, MAX_ALIGN_SECONDS)
    if isinstance(audio, (list, tuple)) and not _is_array_pair(audio):
        return [transcribe(a, model, language, context, max_new_tokens, max_chunk_seconds, dtype, detect_loops,
                           on_chunk, timestamps, aligner) for a in audio]
    builder = prompt_builder(str(model.path))
    forced = resolve_language(language, builder.languages)
    if max_new_tokens is not None and max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")

    from .audio import load_audio

    stats = Stats()
    mx.reset_peak_memory()
    start = time.perf_counter()
    wav = load_audio(audio)
    stats.load_audio = time.perf_counter() - start
    stats.duration = len(wav) / 16000
    chunks = split_audio(wav, max_chunk_seconds)
    segments = []
    if on_chunk is not None:
        on_chunk(0, len(chunks))
    for index, chunk in enumerate(chunks):
        segment = _transcribe_chunk(model, builder, chunk, forced, context, max_new_tokens, detect_loops, stats)
        if timestamps:
            started = time.perf_counter()
            segment.words = aligner.align(chunk.audio, segment.text, segment.language, offset=chunk.offset)
            stats.align += time.perf_counter() - started
        segments.append(segment)
        if on_chunk is not None:
            on_chunk(index + 1, len(chunks))
    stats.total = time.perf_counter() - start
    stats.peak_memory_gb = mx.get_peak_memory() / 1e9
    abnormal = [s.finish_reason for s in segments if s.finish_reason != "stop"]
    return Result(
        text="".join(s.text for s in segments),
        language=merge_languages([s.language for s in segments]),
        segments=segments,
        duration=stats.duration,
        finish_reason=abnormal[0] if abnormal else "stop",
        stats=stats,
        source=str(audio) if isinstance(audio, (str, Path)) else None,
    )


def _is_array_pair(audio: Sequence) -> bool:
    return isinstance(audio, tuple) and len(audio) == 2 and isinstance(audio[0], (np.ndarray, mx.array))


def _transcribe_chunk(model, builder: PromptBuilder, chunk: Chunk, language: Optional[str], context: str,
                      max_new_tokens: Optional[int], detect_loops: bool, stats: Stats) -> Segment:
    from .generate import greedy_generate  # mlx-lm (and transformers) load here, keeping `mlx-asr --help` fast
    from .mel import log_mel_spectrogram

    start = time.perf_counter()
    audio_embeddings = model.encode(log_mel_spectrogram(chunk.audio))
    mx.eval(audio_embeddings)
    stats.encode += time.perf_counter() - start

    ids = builder.build(audio_embeddings.shape[0], context=context, language=language)
    embeddings = model.embed(mx.array(ids, dtype=mx.int32)[None], audio_embeddings)[0]
    budget = max_new_tokens or token_budget(len(chunk.audio) / chunk.sample_rate)
    generation = greedy_generate(model, ids, embeddings, builder.special.stop_ids, budget, detect_loops=detect_loops)
    mx.clear_cache()
    stats.prefill += generation.prefill_seconds
    stats.decode += generation.decode_seconds
    stats.prompt_tokens += len(ids)
    stats.generated_tokens += len(generation.tokens)

    raw = builder.decode(generation.tokens)
    detected, text = parse_asr_output(raw, language)
    return Segment(start=chunk.offset, end=chunk.end, text=text, language=detected,
                   finish_reason=generation.finish_reason, tokens=generation.tokens, raw=raw)
