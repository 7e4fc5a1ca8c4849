"""Timestamp repair against the official `fix_timestamp` (goldens from build_aligner_text.py) and word spans."""

import json
import time

import numpy as np
import pytest
from helpers import reference

from mlx_asr.timestamps import normal_mask, repair_monotonic, word_spans


def quadratic_normal_mask(values):
    """Plain restatement of the official O(n^2) search, as an oracle for the fast one."""
    n = len(values)
    length, parent = [1] * n, [-1] * n
    for i in range(n):
        for j in range(i):
            if values[j] <= values[i] and length[j] + 1 > length[i]:
                length[i], parent[i] = length[j] + 1, j
    mask = [False] * n
    i = length.index(max(length)) if n else -1
    while i != -1:
        mask[i] = True
        i = parent[i]
    return mask


def test_repair_equals_official():
    cases = json.loads(reference("aligner_text", "golden.json").read_text())["repair"]
    assert len(cases) >= 300
    changed = 0
    for case in cases:
        if "error" in case:  # the official raises on an empty sequence; ours returns []
            assert case["values"] == [] and repair_monotonic(case["values"]) == []
            continue
        values = np.asarray(case["values"], dtype=np.float32)
        assert repair_monotonic(values) == case["fixed"], case["shape"]
        assert repair_monotonic(case["values"]) == case["fixed"]
        changed += case["values"] != case["fixed"]
    assert changed >= 100  # the goldens do exercise the repair


def test_fast_search_keeps_official_tie_breaking():
    rng = np.random.default_rng(7)
    for trial in range(400):
        n = int(rng.integers(1, 80))
        distinct = int(rng.integers(1, 8)) if trial % 2 else 1000
        values = rng.integers(0, distinct, n).astype(float).tolist()
        assert normal_mask(values) == quadratic_normal_mask(values), values


def test_fast_search_on_floats_and_negatives():
    rng = np.random.default_rng(11)
    for _ in range(100):
        values = np.round(rng.normal(0, 50, int(rng.integers(1, 60))), 1).tolist()
        assert normal_mask(values) == quadratic_normal_mask(values)


def test_monotonic_input_is_unchanged():
    values = [0, 0, 80, 160, 160, 400, 1200, 1200]
    assert repair_monotonic(values) == values
    assert repair_monotonic(np.asarray(values, dtype=np.float32)) == values
    assert repair_monotonic([]) == []
    assert repair_monotonic([240.0]) == [240]


def test_short_runs_copy_the_nearer_neighbour():
    assert repair_monotonic([0, 80, 9000, 240, 320]) == [0, 80, 80, 240, 320]  # 1 anomaly: tie -> left
    assert repair_monotonic([0, 90, 80, 70, 100]) == [0, 90, 90, 100, 100]  # 2 anomalies: left, then right
    assert repair_monotonic([5000, 0, 80, 160]) == [0, 0, 80, 160]  # no left neighbour
    assert repair_monotonic([0, 80, 160, 7, 3]) == [0, 80, 160, 160, 160]  # no right neighbour


def test_long_runs_are_interpolated_and_truncated():
    assert repair_monotonic([0, 900, 800, 700, 100, 200]) == [0, 25, 50, 75, 100, 200]
    assert repair_monotonic([0, 900, 800, 700, 10, 20]) == [0, 2, 5, 7, 10, 20]  # 2.5, 5.0, 7.5 truncated
    assert repair_monotonic([90, 80, 70, 60, 50, 100, 200]) == [90, 92, 94, 96, 98, 100, 200]
    assert repair_monotonic([0, 9, 9, 9, 100]) == [0, 9, 9, 9, 100]  # equal values are non-decreasing


def test_ties_in_length_keep_the_subsequence_that_ends_first():
    # Official behaviour, kept on purpose: among longest subsequences the one ending at the first index wins, so an
    # early spike can be "normal" and the later, plausible values get replaced by it.
    assert repair_monotonic([0, 900, 800, 700, 100]) == [0, 900, 900, 900, 900]
    assert repair_monotonic([0, 80, 9000, 9000, 10, 400, 480]) == [0, 80, 9000, 9000, 9000, 9000, 9000]
    assert repair_monotonic([0, 80, 9000, 9000, 160, 400, 480, 560]) == [0, 80, 80, 160, 160, 400, 480, 560]


def test_non_finite_values_are_rejected():
    with pytest.raises(ValueError, match="finite"):
        repair_monotonic([0.0, float("nan"), 80.0])
    with pytest.raises(ValueError, match="finite"):
        repair_monotonic([0.0, float("inf")])


def test_repair_of_3000_values_is_fast():
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.integers(0, 4, 3000)) * 80.0
    values[rng.choice(3000, 300, replace=False)] = rng.integers(0, 5000, 300) * 80.0
    start = time.perf_counter()
    fixed = repair_monotonic(values)
    seconds = time.perf_counter() - start
    print(f"repair_monotonic: 3000 values in {seconds * 1000:.1f} ms")
    assert seconds < 2.0
    assert len(fixed) == 3000


def test_word_spans_pair_and_round():
    spans = word_spans(["hello", "world"], np.asarray([80, 400, 400, 1040], dtype=np.float32))
    assert spans == [("hello", 0.08, 0.4), ("world", 0.4, 1.04)]
    assert word_spans(["a", "b"], [0, 9999, 160, 240]) == [("a", 0.0, 0.0), ("b", 0.16, 0.24)]
    assert word_spans(["x"], [1234.9, 5678.0]) == [("x", 1.234, 5.678)]  # int() truncation before rounding
    assert word_spans([], []) == []


def test_word_spans_length_mismatch():
    with pytest.raises(ValueError, match="2 words need 4 timestamps, got 3"):
        word_spans(["a", "b"], [0, 80, 160])
    with pytest.raises(ValueError):
        word_spans(["a"], [])
