"""Entry point for `python -m mlx_asr.transcribe` (same as the `mlx-asr` command). Not imported as a module:
`mlx_asr.transcribe` is the function from `mlx_asr.pipeline`."""

from mlx_asr.cli import main

if __name__ == "__main__":
    main(prog_name="python -m mlx_asr.transcribe")
