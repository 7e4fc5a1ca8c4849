"""`mlx-asr` / `python -m mlx_asr.transcribe`: transcribe audio files with Qwen3-ASR."""

import os
import sys
import traceback
from pathlib import Path
from typing import List, Optional

import click

from .chunking import DEFAULT_MAX_CHUNK_SECONDS, OFFICIAL_MAX_CHUNK_SECONDS
from .aligner import DEFAULT_ALIGNER
from .pipeline import DEFAULT_MODEL
from .prompt import LANGUAGE_CODES, SUPPORTED_LANGUAGES, resolve_language
from .writers import FORMATS, expand_formats, write_result


class UserError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""


def _fail(message: str, code: int = 2):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _list_languages(ctx, _param, value):
    if value and not ctx.resilient_parsing:
        codes = {v: k for k, v in reversed(list(LANGUAGE_CODES.items()))}
        for name in SUPPORTED_LANGUAGES:
            click.echo(f"{codes.get(name, '-')}\t{name}")
        ctx.exit(0)


def _output_names(inputs: List[str], output_name: Optional[str]) -> List[str]:
    names, seen = [], set()
    for path in inputs:
        stem = output_name if output_name and len(inputs) == 1 else ("stdin" if path == "-" else Path(path).stem)
        name, i = stem, 1
        while name in seen:
            i += 1
            name = f"{stem}-{i}"
        seen.add(name)
        names.append(name)
    return names


def _check_output_dir(output_dir: Path) -> None:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create output directory {output_dir}: {e.strerror or e}") from None
    if not output_dir.is_dir() or not os.access(output_dir, os.W_OK | os.X_OK):
        raise UserError(f"output directory {output_dir} is not writable")


def _load_model(model: str, dtype: Optional[str]):
    from .load import load

    try:
        return load(model, dtype=dtype)
    except (OSError, ValueError, KeyError) as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"cannot load model {model!r}: {message}") from None


def _load_aligner(aligner: str, dtype: Optional[str]):
    from .aligner import ForcedAligner

    model = _load_model(aligner, dtype)
    try:
        return ForcedAligner(model)
    except ValueError as e:
        raise UserError(f"--aligner {aligner!r}: {e}") from None


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.argument("audio", nargs=-1, required=True)
@click.option("--model", "-m", default=DEFAULT_MODEL, envvar="MLX_ASR_MODEL",
              help="Model folder or Hugging Face repo id (env MLX_ASR_MODEL).")
@click.option("--language", "-l", default=None, help="Force the language, by name or ISO code (default: detect).")
@click.option("--context", "--prompt", "context", default="", help="Background text or hotwords for the model.")
@click.option("--output-format", "-f", "output_format", multiple=True, default=["txt"],
              type=click.Choice([*FORMATS, "all"]), help="Output format(s); repeat or use 'all'.")
@click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              help="Folder for the transcripts.")
@click.option("--output-name", default=None, help="File name stem for the outputs (single input only).")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=None,
              help="Token budget per chunk (default: scales with the chunk's duration).")
@click.option("--max-chunk-seconds", type=click.FloatRange(min=1.0), default=DEFAULT_MAX_CHUNK_SECONDS,
              help=f"Split longer audio at pauses into chunks of about this length "
                   f"({OFFICIAL_MAX_CHUNK_SECONDS:.0f} = official behaviour).")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16"]), default=None,
              help="Weights dtype (default: float32 on CPU, bfloat16 on Apple GPU).")
@click.option("--verbose/--quiet", "-v/-q", default=None,
              help="Verbose: per-chunk details and timings. Quiet: errors only.")
@click.option("--no-loop-detection", is_flag=True,
              help="Decode repetition loops until the token budget, as the official package does.")
@click.option("--word-timestamps", "--timestamps", "-t", "word_timestamps", is_flag=True,
              help="Time every word with the forced aligner: word-level SRT/VTT/TSV cues, words in JSON.")
@click.option("--aligner", default=DEFAULT_ALIGNER, envvar="MLX_ASR_ALIGNER",
              help="Forced-aligner folder or repo id for --word-timestamps (env MLX_ASR_ALIGNER).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.option("--list-languages", is_flag=True, expose_value=False, is_eager=True, callback=_list_languages,
              help="List the supported languages and exit.")
def main(audio, model, language, context, output_format, output_dir, output_name, max_new_tokens,
         max_chunk_seconds, dtype, verbose, no_loop_detection, word_timestamps, aligner, no_progress):
    """Transcribe AUDIO files (several paths, or - for stdin) with Qwen3-ASR on MLX."""
    try:
        formats = expand_formats(output_format)
        resolve_language(language)
        if output_name and len(audio) > 1:
            raise UserError("--output-name needs a single input")
        if audio.count("-") > 1:
            raise UserError("stdin (-) can be given only once")
        _check_output_dir(output_dir)
        loaded = _load_model(model, dtype)
        aligner = _load_aligner(aligner, dtype) if word_timestamps else None
    except (UserError, ValueError) as e:
        _fail(str(e))
    failed = 0
    for index, (path, name) in enumerate(zip(audio, _output_names(list(audio), output_name))):
        progress = None if no_progress or verbose is False else f"[{index + 1}/{len(audio)}]"
        failed += not _transcribe_one(loaded, path, name, formats, output_dir, verbose, progress,
                                      language=language, context=context, max_new_tokens=max_new_tokens,
                                      max_chunk_seconds=max_chunk_seconds, detect_loops=not no_loop_detection,
                                      timestamps=word_timestamps, aligner=aligner)
    if failed:
        click.echo(f"error: {failed} of {len(audio)} file(s) failed", err=True)
        sys.exit(1)


def _transcribe_one(model, path, name, formats, output_dir, verbose, progress, **options) -> bool:
    from .audio import AudioError
    from .pipeline import transcribe

    label = "stdin" if path == "-" else path
    bar = None

    def on_chunk(done, total):  # a bar per file over its chunks, labelled with the file's rank in the batch
        nonlocal bar
        if progress is None or (total < 2 and progress == "[1/1]"):
            return
        if bar is None:
            bar = click.progressbar(length=total, label=f"{progress} {label}", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        result = transcribe(path, model=model, on_chunk=on_chunk, **options)
        result.source = label
        written = write_result(result, output_dir, name, formats)
    except (AudioError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError) as e:
        message = str(e) if str(e).startswith(str(label)) else f"{label}: {e}"
        click.echo(f"error: {message}", err=True)
        return False
    except Exception as e:  # unexpected: keep going with the other files, traceback only when verbose
        click.echo(f"error: {label}: {type(e).__name__}: {e}", err=True)
        if verbose:
            traceback.print_exc()
        return False
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if verbose:
        for s in result.segments:
            click.echo(f"[{s.start:8.2f} -> {s.end:8.2f}] {s.language or '-'} ({s.finish_reason}) {s.text}", err=True)
        st = result.stats
        click.echo(f"{label}: {result.duration:.1f} s audio, encode {st.encode:.2f} s, prefill {st.prefill:.2f} s, "
                   f"decode {st.decode:.2f} s ({st.tokens_per_second:.1f} tok/s), "
                   + (f"align {st.align:.2f} s ({len(result.words)} words), " if options.get("timestamps") else "")
                   + f"RTF {st.rtf:.3f}, "
                   f"wrote {', '.join(str(p) for p in written)}", err=True)
    if verbose is not False:
        click.echo(result.text)
    return True
