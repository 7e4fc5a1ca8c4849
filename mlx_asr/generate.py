"""Greedy decoding through mlx-lm's `generate_step`, with the audio embeddings injected and a repetition-loop stop."""

import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import mlx.core as mx
from mlx_lm.generate import generate_step

# A loop is a token cycle of period 1..MAX_PERIOD repeated back to back at least MIN_REPEATS times and over at
# least MIN_SPAN tokens (e.g. one token 48 times, "I think." x16, a 10-token phrase 8 times). Real speech repeats
# far less; the official post-hoc clean-up (20 repeats of a pattern) then sees at most one copy.
MAX_PERIOD = 32
MIN_REPEATS = 8
MIN_SPAN = 48


class RepetitionGuard:
    """Incremental detector of a repeating n-gram cycle at the end of a token stream (O(MAX_PERIOD) per token)."""

    def __init__(self, max_period: int = MAX_PERIOD, min_repeats: int = MIN_REPEATS, min_span: int = MIN_SPAN):
        self.max_period = max_period
        self.spans = [max(min_span, p * min_repeats) for p in range(max_period + 1)]
        self.tokens: List[int] = []
        self.matches = [0] * (max_period + 1)  # matches[p]: trailing tokens equal to the token p steps earlier

    def push(self, token: int) -> Optional[int]:
        """Add a token; returns how many trailing tokens are redundant copies when a loop is detected, else None."""
        self.tokens.append(token)
        n = len(self.tokens)
        for p in range(1, min(self.max_period, n - 1) + 1):
            self.matches[p] = self.matches[p] + 1 if self.tokens[n - 1 - p] == token else 0
            if self.matches[p] + p >= self.spans[p]:
                return self.matches[p]
        return None


@dataclass
class Generation:
    """Generated ids (the stop token included when reached) and timings in seconds."""

    tokens: List[int] = field(default_factory=list)
    finish_reason: str = "length"
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0


def greedy_generate(model, input_ids: Sequence[int], input_embeddings: mx.array, stop_ids: Sequence[int],
                    max_new_tokens: int, detect_loops: bool = True,
                    on_token: Optional[Callable[[int], None]] = None,
                    logits_processors: Optional[List[Callable]] = None) -> Generation:
    """Greedy continuation of a prompt whose embeddings are given (audio already merged).

    Args:
        model: mlx-lm protocol model (`model(tokens, cache=, input_embeddings=)`, `make_cache()`).
        input_ids: prompt ids, length L.
        input_embeddings: `(L, hidden)` prompt embeddings.
        stop_ids: ids that end the turn; pass `()` to force exactly `max_new_tokens` tokens.
        max_new_tokens: token budget.
        detect_loops: stop a repeating cycle early, trimming its redundant copies (finish_reason "repetition").
        on_token: called with each new id (progress).
        logits_processors: mlx-lm logits processors `(tokens, logits) -> logits`, passed to `generate_step`.

    Returns:
        `Generation` with finish_reason "stop", "length" or "repetition".
    """
    out = Generation()
    if max_new_tokens <= 0:
        return out
    stops = set(int(i) for i in stop_ids)
    guard = RepetitionGuard() if detect_loops else None
    cache = model.make_cache() if hasattr(model, "make_cache") else None
    prompt = mx.array(list(input_ids), dtype=mx.int32)
    start = time.perf_counter()
    steps = generate_step(prompt, model, max_tokens=max_new_tokens, prompt_cache=cache,
                          input_embeddings=input_embeddings, logits_processors=logits_processors)
    first_at = None
    for token, _ in steps:
        if first_at is None:
            first_at = time.perf_counter()
        token = int(token)
        out.tokens.append(token)
        if on_token is not None:
            on_token(token)
        if token in stops:
            out.finish_reason = "stop"
            break
        redundant = guard.push(token) if guard is not None else None
        if redundant:
            del out.tokens[len(out.tokens) - redundant:]
            out.finish_reason = "repetition"
            break
    steps.close()
    end = time.perf_counter()
    out.prefill_seconds = (first_at or end) - start
    out.decode_seconds = end - (first_at or end)
    return out
