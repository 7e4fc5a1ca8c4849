"""Subtitle cues from word timestamps (mlx_asr/subtitles.py) and the writers that use them."""

from mlx_asr.result import Result, Segment, Word
from mlx_asr.subtitles import cues
from mlx_asr.writers import render_srt
from test_writers import parse_srt


def timed(text: str, language: str, times, start: float = 0.0, end: float = 30.0) -> Result:
    from mlx_asr.words import split_words

    units = split_words(text, language)
    assert len(units) == len(times)
    words = [Word(u, a, b) for u, (a, b) in zip(units, times)]
    return Result(text=text, language=language, duration=end,
                  segments=[Segment(start, end, text, language, words=words)])


def steady(count: int, step: float = 0.4, start: float = 0.0):
    return [(start + i * step, start + i * step + step * 0.8) for i in range(count)]


def test_punctuation_comes_back_and_sentences_end_cues():
    result = timed("Hello, world. It's me: Anna!", "English", steady(5))
    assert [c.text for c in cues(result)] == ["Hello, world.", "It's me: Anna!"]
    first, second = cues(result)
    assert (first.start, first.end) == (0.0, result.words[1].end)
    assert (second.start, second.end) == (result.words[2].start, result.words[4].end)


def test_long_lines_are_split_within_the_character_limit():
    text = " ".join(["word"] * 30)
    out = cues(timed(text, "English", steady(30, step=0.2)), max_chars=20)
    assert all(len(c.text) <= 20 for c in out) and " ".join(c.text for c in out) == text
    assert all(a.end <= b.start for a, b in zip(out, out[1:]))


def test_pauses_and_durations_break_cues():
    times = steady(3) + steady(3, start=10.0)
    assert [c.text for c in cues(timed("one two three four five six", "English", times))] == [
        "one two three", "four five six"]
    out = cues(timed(" ".join(["go"] * 20), "English", steady(20, step=0.5)), max_seconds=3.0, max_chars=200)
    assert all(c.end - c.start <= 3.0 for c in out) and len(out) > 1


def test_chinese_units_keep_their_punctuation_without_spaces():
    text = "甚至出现交易，几乎停滞。"
    out = cues(timed(text, "Chinese", steady(10)))
    assert "".join(c.text for c in out) == text


def test_words_that_do_not_line_up_fall_back_to_the_aligned_units():
    result = timed("alpha beta", "English", steady(2))
    result.segments[0].text = "alpha beta gamma"  # the words no longer cover the text
    assert [c.text for c in cues(result)] == ["alpha beta"]


def test_segments_without_words_are_one_cue_each():
    result = Result(text="a b", language="English", duration=4.0,
                    segments=[Segment(0.0, 2.0, "a"), Segment(2.0, 4.0, " "), Segment(2.5, 4.0, "b")])
    assert [(c.start, c.end, c.text) for c in cues(result)] == [(0.0, 2.0, "a"), (2.5, 4.0, "b")]


def test_srt_uses_word_cues():
    result = timed("Hello, world. It's me: Anna!", "English", steady(5))
    parsed = parse_srt(render_srt(result))
    assert [text for _, _, text in parsed] == ["Hello, world.", "It's me: Anna!"]
