"""Forced-aligner timestamps: repair of non-monotonic predictions, then pairing into word spans.

`repair_monotonic` gives the same output as the official `Qwen3ForceAlignProcessor.fix_timestamp` for every finite
input, in O(n log n) instead of its O(n^2) dynamic programme:

1. The values on a longest non-decreasing subsequence are "normal"; the subsequence is the official one, not just any
   longest one: it ends at the first index of maximal length, and each element's predecessor is the first earlier
   index that is one shorter and not greater.
2. Each maximal run of other ("anomalous") values is replaced: a run of 1 or 2 takes the value of its nearer normal
   neighbour (at equal distance the left one), a longer run is linearly interpolated between its two neighbours, or
   copies the only neighbour it has.
3. Every value is truncated to an int, as Python's `int()` does.

Why the fast search keeps the official tie-breaking: let `length[i]` be the length of the longest non-decreasing
subsequence ending at i. If j1 < j2 have the same length then `x[j2] < x[j1]` (otherwise j2 would extend j1's
subsequence). So the indices of one length, in index order, have strictly decreasing values, and the first of them
that is <= x[i] is found by bisection; all of them precede i because they were recorded before i was reached.
"""

import math
from bisect import bisect_left, bisect_right
from typing import List, Sequence, Tuple

import numpy as np

SHORT_RUN = 2  # runs of at most this many anomalies copy a neighbour; longer runs are interpolated


def normal_mask(values: Sequence[float]) -> List[bool]:
    """True at the indices of the official longest non-decreasing subsequence of `values`."""
    n = len(values)
    tails: List[float] = []  # tails[L-1]: smallest value ending a non-decreasing subsequence of length L
    by_length: List[Tuple[List[float], List[int]]] = []  # per length: (negated values, indices), in index order
    parent = [-1] * n
    best_end = -1
    for i, x in enumerate(values):
        length = bisect_right(tails, x) + 1
        if length > 1:
            negated, indices = by_length[length - 2]
            parent[i] = indices[bisect_left(negated, -x)]  # first index one shorter whose value is <= x
        if length > len(tails):
            tails.append(x)
            by_length.append(([], []))
            best_end = i  # the first index reaching a new maximal length
        else:
            tails[length - 1] = x
        negated, indices = by_length[length - 1]
        negated.append(-x)
        indices.append(i)
    mask = [False] * n
    i = best_end
    while i != -1:
        mask[i] = True
        i = parent[i]
    return mask


def fill_run(result: List[float], start: int, stop: int, left: object, right: object) -> None:
    """Replace `result[start:stop]`, a maximal run of anomalies, from its normal neighbours (None when absent)."""
    count = stop - start
    for k in range(start, stop):
        if left is None:
            result[k] = right
        elif right is None:
            result[k] = left
        elif count <= SHORT_RUN:
            result[k] = left if k - (start - 1) <= stop - k else right
        else:
            result[k] = left + (right - left) / (count + 1) * (k - start + 1)


def repair_monotonic(values: Sequence[float]) -> List[int]:
    """Timestamps (ms) made non-decreasing exactly as the official `fix_timestamp` does (module docstring).

    `values` may be a list or a numpy array (float32 values are taken exactly). Empty input gives [] (the official
    function raises on it).

    Raises:
        ValueError: a value is NaN or infinite (the official function fails or misorders on those too).
    """
    data = np.asarray(values, dtype=np.float64).reshape(-1).tolist()
    if not all(math.isfinite(x) for x in data):
        raise ValueError("timestamps must be finite numbers")
    mask = normal_mask(data)
    result: List[float] = list(data)
    n = len(data)
    i = 0
    while i < n:
        if mask[i]:
            i += 1
            continue
        stop = i
        while stop < n and not mask[stop]:
            stop += 1
        left = data[i - 1] if i > 0 else None
        right = data[stop] if stop < n else None
        fill_run(result, i, stop, left, right)
        i = stop
    return [int(x) for x in result]


def word_spans(words: List[str], timestamps_ms: Sequence[float]) -> List[Tuple[str, float, float]]:
    """`(word, start_s, end_s)` per word from the aligner's 2 slots per word, repaired, in seconds rounded to 1 ms.

    Raises:
        ValueError: `timestamps_ms` does not hold exactly two values per word, or holds a non-finite value.
    """
    if len(timestamps_ms) != 2 * len(words):
        raise ValueError(f"{len(words)} words need {2 * len(words)} timestamps, got {len(timestamps_ms)}")
    fixed = repair_monotonic(timestamps_ms)
    return [(word, round(fixed[2 * i] / 1000.0, 3), round(fixed[2 * i + 1] / 1000.0, 3))
            for i, word in enumerate(words)]
